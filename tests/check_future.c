/* The future header, its lifecycle, the cooperative budget and yield. */
#include <string.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

static int phase(const struct ak_future *f)
{
	return ak_future_state(f) & (int)AK_FUTURE_PHASE_MASK;
}

/* A counting future whose header is zeroed storage that names a vtable. */
static void zeroed_with_vtable(struct tk_count_future *f)
{
	memset(f, 0, sizeof *f);
	f->future.vtable = &tk_count_vtable;
}

/* ---- poll -------------------------------------------------------------- */

START_TEST(poll_of_zeroed_future_returns_einval_without_calling_poll)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	zeroed_with_vtable(&f);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_ZEROED);
}
END_TEST

START_TEST(poll_of_header_without_vtable_returns_einval)
{
	struct tk_task *t = tk_task_new();
	struct ak_future f;

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(tk_poll(t, &f), AK_EINVAL);
	f.state = AK_FUTURE_IDLE;
	ck_assert_int_eq(tk_poll(t, &f), AK_EINVAL);
}
END_TEST

START_TEST(poll_of_completed_future_returns_einval_without_calling_poll)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(poll_of_failed_future_returns_einval_without_calling_poll)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EPIPE);
	ck_assert_int_eq(phase(&f.future), AK_FUTURE_DONE);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(poll_of_owned_future_returns_einval_without_calling_poll)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	f.future.state |= AK_FUTURE_OWNED;
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future),
	                 AK_FUTURE_IDLE | AK_FUTURE_OWNED);
}
END_TEST

START_TEST(poll_of_null_future_returns_einval)
{
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(tk_poll(t, NULL), AK_EINVAL);
}
END_TEST

START_TEST(poll_with_null_context_returns_einval_without_calling_poll)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_future_poll(&f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
}
END_TEST

START_TEST(poll_with_uninitialised_context_returns_einval)
{
	struct tk_count_future f;
	struct ak_context cx;

	memset(&cx, 0, sizeof cx);
	cx.waker = ak_waker_noop();
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_future_poll(&f.future, &cx), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
}
END_TEST

/* ak_future_poll is an inline in the header; the exported function, which
 * (ak_future_poll) names, refuses and polls as the inline does. */
START_TEST(exported_poll_function_checks_as_the_inline_does)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct tk_count_future f;
	struct ak_context cx, bad;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(cw), NULL), 0);
	zeroed_with_vtable(&f);
	ck_assert_int_eq((ak_future_poll)(&f.future, &cx), AK_EINVAL);
	tk_ready_init(&f, 0);
	f.future.state |= AK_FUTURE_OWNED;
	ck_assert_int_eq((ak_future_poll)(&f.future, &cx), AK_EINVAL);
	tk_ready_init(&f, 0);
	memset(&bad, 0, sizeof bad);
	ck_assert_int_eq((ak_future_poll)(&f.future, &bad), AK_EINVAL);
	ck_assert_int_eq((ak_future_poll)(&f.future, NULL), AK_EINVAL);
	ck_assert_int_eq((ak_future_poll)(NULL, &cx), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq((ak_future_poll)(&f.future, &cx), 0);
	ck_assert_int_eq(phase(&f.future), AK_FUTURE_DONE);
	ck_assert_int_eq((ak_future_poll)(&f.future, &cx), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ak_context_done(&cx, 0);
}
END_TEST

START_TEST(poll_returns_what_the_future_returned)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, AK_ECANCELED);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_ECANCELED);
}
END_TEST

START_TEST(state_goes_idle_then_pending_then_done)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_ZEROED);
	tk_after_init(&f, 1);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_PENDING);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(state_of_null_returns_einval)
{
	ck_assert_int_eq(ak_future_state(NULL), AK_EINVAL);
}
END_TEST

/* ---- cancel ------------------------------------------------------------ */

START_TEST(cancel_of_zeroed_future_does_not_call_cancel)
{
	struct tk_count_future f;

	zeroed_with_vtable(&f);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_ZEROED);
}
END_TEST

START_TEST(cancel_of_completed_future_does_not_call_cancel)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(cancel_of_null_does_nothing)
{
	ak_future_cancel(NULL);
}
END_TEST

START_TEST(cancel_of_idle_future_calls_cancel_and_completes_it)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(cancel_is_idempotent)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert(tk_flag_holds_waker(&f));
	ak_future_cancel(&f.future);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
	ck_assert(!tk_flag_holds_waker(&f));
}
END_TEST

START_TEST(cancelled_future_cannot_be_polled)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_after_init(&f, 5);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

/* ---- init -------------------------------------------------------------- */

START_TEST(init_of_done_future_makes_it_pollable_again)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_int_eq(ak_future_init(&f.future, &tk_count_vtable), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
}
END_TEST

START_TEST(init_of_cancelled_future_makes_it_pollable_again)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_after_init(&f, 1);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(ak_future_init(&f.future, &tk_count_vtable), 0);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
}
END_TEST

START_TEST(init_of_pending_future_returns_ebusy)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future f;
	struct tk_count_future other;

	tk_flag_init(&f, 0);
	tk_ready_init(&other, 0);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_int_eq(ak_future_init(&f.future, &tk_count_vtable), AK_EBUSY);
	ck_assert_ptr_eq(f.future.vtable, &tk_flag_vtable);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_PENDING);
	ak_future_cancel(&f.future);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
}
END_TEST

START_TEST(init_with_null_arguments_returns_einval)
{
	static const struct ak_future_vtable no_poll = { NULL, NULL };
	struct ak_future_vtable no_cancel = tk_count_vtable;
	struct ak_future f;

	no_cancel.cancel = NULL;
	memset(&f, 0, sizeof f);
	ck_assert_int_eq(ak_future_init(NULL, &tk_count_vtable), AK_EINVAL);
	ck_assert_int_eq(ak_future_init(&f, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_future_init(&f, &no_poll), AK_EINVAL);
	ck_assert_int_eq(ak_future_init(&f, &no_cancel), AK_EINVAL);
	ck_assert_ptr_null(f.vtable);
	ck_assert_int_eq(ak_future_state(&f), AK_FUTURE_ZEROED);
}
END_TEST

/* ---- cooperative budget ------------------------------------------------ */

START_TEST(coop_poll_spends_one_unit)
{
	struct tk_task *t = tk_task_new();
	struct ak_context cx;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	ck_assert_int_eq(ak_coop_poll(&cx), 0);
	ck_assert_int_eq(cx.budget, AK_BUDGET_DEFAULT - 1);
	ak_context_done(&cx, 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
}
END_TEST

START_TEST(coop_poll_at_zero_wakes_task_and_returns_pending)
{
	struct tk_task *t = tk_task_new();
	struct ak_context cx;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	cx.budget = 1;
	ck_assert_int_eq(ak_coop_poll(&cx), 0);
	ck_assert_int_eq(cx.budget, 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
	ck_assert_int_eq(ak_coop_poll(&cx), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(cx.budget, 0);
	ak_context_done(&cx, AK_PENDING);
}
END_TEST

START_TEST(default_budget_allows_exactly_its_units)
{
	struct tk_task *t = tk_task_new();
	struct ak_context cx;
	int i;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	for (i = 0; i < AK_BUDGET_DEFAULT; i++)
		ck_assert_int_eq(ak_coop_poll(&cx), 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
	ck_assert_int_eq(ak_coop_poll(&cx), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
	ak_context_done(&cx, AK_PENDING);
}
END_TEST

START_TEST(unconstrained_budget_never_yields)
{
	struct tk_task *t = tk_task_new();
	struct ak_context cx;
	int i;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	cx.budget = AK_BUDGET_UNCONSTRAINED;
	for (i = 0; i < 10 * AK_BUDGET_DEFAULT; i++)
		ck_assert_int_eq(ak_coop_poll(&cx), 0);
	ck_assert_int_eq(cx.budget, AK_BUDGET_UNCONSTRAINED);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
	ak_context_done(&cx, 0);
}
END_TEST

START_TEST(coop_poll_of_null_or_invalid_context_returns_einval)
{
	struct tk_task *t = tk_task_new();
	struct ak_context cx;

	ck_assert_int_eq(ak_coop_poll(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	ak_context_done(&cx, 0);
	cx.budget = 0;
	ck_assert_int_eq(ak_coop_poll(&cx), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
}
END_TEST

START_TEST(busy_future_yields_when_its_budget_is_spent)
{
	struct tk_task *t = tk_task_new();
	struct tk_busy_future f;

	tk_busy_init(&f, AK_BUDGET_DEFAULT + 10);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_int_eq(f.done, AK_BUDGET_DEFAULT);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_int_eq(f.done, AK_BUDGET_DEFAULT + 10);
	ck_assert_int_eq(atomic_load(&f.yields), 1);
	ck_assert(!tk_task_take_woken(t));
}
END_TEST

START_TEST(coop_poll_wake_may_reenter_the_library)
{
	struct tk_task *t = tk_task_new();
	struct tk_reentry r;
	struct tk_count_future victim;
	struct ak_context cx;

	memset(&r, 0, sizeof r);
	tk_ready_init(&victim, 0);
	r.cancel_target = &victim.future;
	tk_cw_set_reentry(t->cw, &r);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	cx.budget = 0;
	ck_assert_int_eq(ak_coop_poll(&cx), AK_PENDING);
	ak_context_done(&cx, AK_PENDING);
	ck_assert_int_eq(atomic_load(&r.calls), 1);
	ck_assert_int_eq(atomic_load(&r.failures), 0);
	ck_assert_int_eq(atomic_load(&victim.cancels), 1);
}
END_TEST

/* ---- operation sizes and yield ----------------------------------------- */

START_TEST(op_size_of_yield_is_its_struct_size)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_YIELD), sizeof(struct ak_yield_op));
}
END_TEST

/* Every kind the headers name, each with its structure's size: the table
 * is gathered from the primitives' own files (core/core.h, AK__OP_KIND). */
START_TEST(op_size_of_every_kind_is_its_struct_size)
{
	static const struct { int kind; size_t size; } kinds[] = {
		{ AK_OP_YIELD, sizeof(struct ak_yield_op) },
		{ AK_OP_SLEEP, sizeof(struct ak_sleep_op) },
		{ AK_OP_MPSC_SEND, sizeof(struct ak_mpsc_send_op) },
		{ AK_OP_MPSC_RESERVE, sizeof(struct ak_mpsc_reserve_op) },
		{ AK_OP_MPSC_RECV, sizeof(struct ak_mpsc_recv_op) },
		{ AK_OP_MPSC_RECV_MANY, sizeof(struct ak_mpsc_recv_many_op) },
		{ AK_OP_MPSC_CLOSED, sizeof(struct ak_mpsc_closed_op) },
		{ AK_OP_ONESHOT_RECV, sizeof(struct ak_oneshot_recv_op) },
		{ AK_OP_ONESHOT_CLOSED, sizeof(struct ak_oneshot_closed_op) },
		{ AK_OP_BROADCAST_RECV, sizeof(struct ak_broadcast_recv_op) },
		{ AK_OP_BROADCAST_CLOSED, sizeof(struct ak_broadcast_closed_op) },
		{ AK_OP_WATCH_CHANGED, sizeof(struct ak_watch_changed_op) },
		{ AK_OP_WATCH_WAIT_FOR, sizeof(struct ak_watch_wait_for_op) },
		{ AK_OP_WATCH_CLOSED, sizeof(struct ak_watch_closed_op) },
		{ AK_OP_SEMAPHORE_ACQUIRE, sizeof(struct ak_semaphore_acquire_op) },
		{ AK_OP_MUTEX_LOCK, sizeof(struct ak_mutex_lock_op) },
		{ AK_OP_RWLOCK, sizeof(struct ak_rwlock_op) },
		{ AK_OP_NOTIFIED, sizeof(struct ak_notified_op) },
		{ AK_OP_BARRIER_WAIT, sizeof(struct ak_barrier_wait_op) },
		{ AK_OP_SELECT, sizeof(struct ak_select_op) },
		{ AK_OP_JOIN, sizeof(struct ak_join_op) },
		{ AK_OP_TRY_JOIN, sizeof(struct ak_try_join_op) },
		{ AK_OP_TASK_JOIN, sizeof(struct ak_task_join_op) },
		{ AK_OP_TIMEOUT, sizeof(struct ak_timeout_op) },
		{ AK_OP_ONCE_CELL_GET_OR_INIT, sizeof(struct ak_once_cell_op) },
		{ AK_OP_SET_ONCE_WAIT, sizeof(struct ak_set_once_wait_op) },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_msg(ak_op_size(kinds[i].kind) == kinds[i].size, "kind %d: %zu, want %zu",
		              kinds[i].kind, ak_op_size(kinds[i].kind), kinds[i].size);
}
END_TEST

START_TEST(op_size_of_unknown_kind_is_zero)
{
	ck_assert_uint_eq(ak_op_size(0), 0);
	ck_assert_uint_eq(ak_op_size(-1), 0);
	ck_assert_uint_eq(ak_op_size(100000), 0);
}
END_TEST

START_TEST(yield_init_of_null_returns_einval)
{
	ck_assert_int_eq(ak_yield_init(NULL), AK_EINVAL);
}
END_TEST

START_TEST(yield_returns_pending_once_waking_its_task_then_done)
{
	struct tk_task *t = tk_task_new();
	struct ak_yield_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_yield_init(&op), 0);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(yield_cancel_is_a_noop_that_completes_it)
{
	struct tk_task *t = tk_task_new();
	struct ak_yield_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_yield_init(&op), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
}
END_TEST

START_TEST(yield_may_be_reinitialised_after_it_finished)
{
	struct tk_task *t = tk_task_new();
	struct ak_yield_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_yield_init(&op), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_yield_init(&op), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 2);
}
END_TEST

START_TEST(yield_wake_may_reenter_the_library)
{
	struct tk_task *t = tk_task_new();
	struct tk_reentry r;
	struct tk_count_future victim;
	struct ak_yield_op op;

	memset(&r, 0, sizeof r);
	memset(&op, 0, sizeof op);
	tk_after_init(&victim, 1);
	ck_assert_int_eq(tk_poll(t, &victim.future), AK_PENDING);
	r.cancel_target = &victim.future;
	tk_cw_set_reentry(t->cw, &r);
	ck_assert_int_eq(ak_yield_init(&op), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&r.calls), 1);
	ck_assert_int_eq(atomic_load(&r.failures), 0);
	ck_assert_int_eq(atomic_load(&victim.cancels), 1);
	ck_assert_int_eq(ak_future_state(&victim.future), AK_FUTURE_DONE);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
}
END_TEST

Suite *future_suite(void)
{
	Suite *s = suite_create("future");
	TCase *tc;

	tc = tk_tcase("poll");
	tcase_add_test(tc, poll_of_zeroed_future_returns_einval_without_calling_poll);
	tcase_add_test(tc, exported_poll_function_checks_as_the_inline_does);
	tcase_add_test(tc, poll_of_header_without_vtable_returns_einval);
	tcase_add_test(tc,
	               poll_of_completed_future_returns_einval_without_calling_poll);
	tcase_add_test(tc, poll_of_failed_future_returns_einval_without_calling_poll);
	tcase_add_test(tc, poll_of_owned_future_returns_einval_without_calling_poll);
	tcase_add_test(tc, poll_of_null_future_returns_einval);
	tcase_add_test(tc,
	               poll_with_null_context_returns_einval_without_calling_poll);
	tcase_add_test(tc, poll_with_uninitialised_context_returns_einval);
	tcase_add_test(tc, poll_returns_what_the_future_returned);
	tcase_add_test(tc, state_goes_idle_then_pending_then_done);
	tcase_add_test(tc, state_of_null_returns_einval);
	suite_add_tcase(s, tc);

	tc = tk_tcase("cancel");
	tcase_add_test(tc, cancel_of_zeroed_future_does_not_call_cancel);
	tcase_add_test(tc, cancel_of_completed_future_does_not_call_cancel);
	tcase_add_test(tc, cancel_of_null_does_nothing);
	tcase_add_test(tc, cancel_of_idle_future_calls_cancel_and_completes_it);
	tcase_add_test(tc, cancel_is_idempotent);
	tcase_add_test(tc, cancelled_future_cannot_be_polled);
	suite_add_tcase(s, tc);

	tc = tk_tcase("init");
	tcase_add_test(tc, init_of_done_future_makes_it_pollable_again);
	tcase_add_test(tc, init_of_cancelled_future_makes_it_pollable_again);
	tcase_add_test(tc, init_of_pending_future_returns_ebusy);
	tcase_add_test(tc, init_with_null_arguments_returns_einval);
	suite_add_tcase(s, tc);

	tc = tk_tcase("budget");
	tcase_add_test(tc, coop_poll_spends_one_unit);
	tcase_add_test(tc, coop_poll_at_zero_wakes_task_and_returns_pending);
	tcase_add_test(tc, default_budget_allows_exactly_its_units);
	tcase_add_test(tc, unconstrained_budget_never_yields);
	tcase_add_test(tc, coop_poll_of_null_or_invalid_context_returns_einval);
	tcase_add_test(tc, busy_future_yields_when_its_budget_is_spent);
	tcase_add_test(tc, coop_poll_wake_may_reenter_the_library);
	suite_add_tcase(s, tc);

	tc = tk_tcase("yield");
	tcase_add_test(tc, op_size_of_yield_is_its_struct_size);
	tcase_add_test(tc, op_size_of_every_kind_is_its_struct_size);
	tcase_add_test(tc, op_size_of_unknown_kind_is_zero);
	tcase_add_test(tc, yield_init_of_null_returns_einval);
	tcase_add_test(tc, yield_returns_pending_once_waking_its_task_then_done);
	tcase_add_test(tc, yield_cancel_is_a_noop_that_completes_it);
	tcase_add_test(tc, yield_may_be_reinitialised_after_it_finished);
	tcase_add_test(tc, yield_wake_may_reenter_the_library);
	suite_add_tcase(s, tc);

	return s;
}
