/* The waker ABI, the context and the task slot. */
#include <pthread.h>
#include <string.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

static const struct ak_waker empty_waker = { NULL, NULL };

static int waker_is_empty(const struct ak_waker *w)
{
	return w->data == NULL && w->vtable == NULL;
}

static struct ak_waker garbage_waker(void)
{
	struct ak_waker w = { (const void *)0x1, (const void *)0x2 };

	return w;
}

/* ---- noop and will_wake ------------------------------------------------ */

START_TEST(noop_waker_passes_the_check)
{
	struct ak_waker noop = ak_waker_noop();

	ck_assert_ptr_nonnull(noop.vtable);
	ck_assert_int_eq(ak_waker_check(&noop), 0);
}
END_TEST

START_TEST(noop_waker_will_wake_noop_waker)
{
	struct ak_waker a = ak_waker_noop();
	struct ak_waker b = ak_waker_noop();

	ck_assert_int_eq(ak_waker_will_wake(&a, &b), 1);
}
END_TEST

START_TEST(noop_waker_clone_is_the_same_waker)
{
	struct ak_waker noop = ak_waker_noop();
	struct ak_waker c = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&noop, &c), 0);
	ck_assert_int_eq(ak_waker_will_wake(&c, &noop), 1);
	ak_waker_drop(&c);
}
END_TEST

START_TEST(noop_waker_wake_and_drop_do_nothing_but_empty_it)
{
	struct ak_waker noop = ak_waker_noop();
	struct ak_waker a = empty_waker, b = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&noop, &a), 0);
	ck_assert_int_eq(ak_waker_clone(&noop, &b), 0);
	ak_waker_wake_by_ref(&a);
	ak_waker_wake(&a);
	ak_waker_drop(&b);
	ck_assert(waker_is_empty(&a));
	ck_assert(waker_is_empty(&b));
}
END_TEST

START_TEST(will_wake_is_true_for_same_data_and_vtable)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker a = tk_counting_waker(cw);
	struct ak_waker b = tk_counting_waker(cw);

	ck_assert_int_eq(ak_waker_will_wake(&a, &b), 1);
}
END_TEST

START_TEST(will_wake_is_false_for_other_data)
{
	struct ak_waker a = tk_counting_waker(tk_cw_new());
	struct ak_waker b = tk_counting_waker(tk_cw_new());

	ck_assert_int_eq(ak_waker_will_wake(&a, &b), 0);
}
END_TEST

START_TEST(will_wake_is_false_for_other_vtable)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker a = tk_counting_waker(cw);
	struct ak_waker b = { cw, &tk_counting_vtable_large.v1 };

	ck_assert_int_eq(ak_waker_will_wake(&a, &b), 0);
}
END_TEST

START_TEST(will_wake_is_false_for_null)
{
	struct ak_waker a = tk_counting_waker(tk_cw_new());

	ck_assert_int_eq(ak_waker_will_wake(&a, NULL), 0);
	ck_assert_int_eq(ak_waker_will_wake(NULL, &a), 0);
	ck_assert_int_eq(ak_waker_will_wake(NULL, NULL), 0);
}
END_TEST

/* ---- ABI checks -------------------------------------------------------- */

START_TEST(check_accepts_counting_waker)
{
	struct ak_waker w = tk_counting_waker(tk_cw_new());

	ck_assert_int_eq(ak_waker_check(&w), 0);
}
END_TEST

START_TEST(check_refuses_null_waker_and_null_vtable)
{
	struct ak_waker w = { tk_cw_new(), NULL };

	ck_assert_int_eq(ak_waker_check(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_waker_check(&w), AK_EINVAL);
}
END_TEST

START_TEST(check_refuses_other_major)
{
	struct ak_waker w =
		tk_counting_waker(tk_cw_new_with(&tk_counting_vtable_other_major));

	ck_assert_int_eq(ak_waker_check(&w), AK_EINVAL);
}
END_TEST

START_TEST(clone_refuses_other_major_leaving_out_untouched)
{
	struct tk_counting_waker *cw =
		tk_cw_new_with(&tk_counting_vtable_other_major);
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker out = garbage_waker();

	ck_assert_int_eq(ak_waker_clone(&w, &out), AK_EINVAL);
	ck_assert_ptr_eq(out.data, (const void *)0x1);
	ck_assert_ptr_eq(out.vtable, (const void *)0x2);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
	ck_assert_int_eq(atomic_load(&cw->clone_failures), 0);
}
END_TEST

START_TEST(context_init_refuses_other_major)
{
	struct ak_context cx;

	memset(&cx, 0xa5, sizeof cx);
	ck_assert_int_eq(ak_context_init(&cx,
	                 tk_counting_waker(tk_cw_new_with(
	                         &tk_counting_vtable_other_major)), NULL),
	                 AK_EINVAL);
	ck_assert_uint_eq(cx.flags & AK_CONTEXT_VALID, 0);
	ck_assert_int_eq(ak_context_done(&cx, 0), 0);
}
END_TEST

START_TEST(poll_with_other_major_context_returns_einval_without_polling)
{
	struct tk_counting_waker *cw =
		tk_cw_new_with(&tk_counting_vtable_other_major);
	struct tk_count_future f;
	struct ak_context cx;
	struct ak_task_slot slot;

	memset(&slot, 0, sizeof slot);
	tk_ready_init(&f, 0);
	ak_context_init(&cx, tk_counting_waker(cw), &slot);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&f.future, &cx)),
	                 AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&slot), 0);
}
END_TEST

START_TEST(check_refuses_smaller_vtable)
{
	struct ak_waker w =
		tk_counting_waker(tk_cw_new_with(&tk_counting_vtable_small));

	ck_assert_int_eq(ak_waker_check(&w), AK_EINVAL);
}
END_TEST

START_TEST(clone_and_context_init_refuse_smaller_vtable)
{
	struct tk_counting_waker *cw = tk_cw_new_with(&tk_counting_vtable_small);
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker out = garbage_waker();
	struct ak_context cx;

	ck_assert_int_eq(ak_waker_clone(&w, &out), AK_EINVAL);
	ck_assert_ptr_eq(out.vtable, (const void *)0x2);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
	ck_assert_int_eq(ak_context_init(&cx, w, NULL), AK_EINVAL);
	ck_assert_uint_eq(cx.flags & AK_CONTEXT_VALID, 0);
	ak_context_done(&cx, 0);
}
END_TEST

START_TEST(check_refuses_vtable_with_null_function)
{
	struct tk_counting_waker *cw =
		tk_cw_new_with(&tk_counting_vtable_null_slot);
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker out = garbage_waker();

	ck_assert_int_eq(ak_waker_check(&w), AK_EINVAL);
	ck_assert_int_eq(ak_waker_clone(&w, &out), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
}
END_TEST

START_TEST(larger_vtable_of_same_major_is_accepted)
{
	struct tk_counting_waker *cw =
		tk_cw_new_with(&tk_counting_vtable_large.v1);
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;
	struct ak_context cx;
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_waker_check(&w), 0);
	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	ck_assert_ptr_eq(c.vtable, &tk_counting_vtable_large.v1);
	ak_waker_drop(&c);
	ck_assert_int_eq(ak_context_init(&cx, w, NULL), 0);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&f.future, &cx)), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

/* ---- clone, wake, drop ------------------------------------------------- */

START_TEST(clone_returns_a_reference_to_the_same_task)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	ck_assert_int_eq(ak_waker_will_wake(&c, &w), 1);
	ck_assert_int_eq(atomic_load(&cw->clones), 1);
	ck_assert_int_eq(atomic_load(&cw->live), 1);
	ak_waker_drop(&c);
}
END_TEST

START_TEST(clone_returning_null_gives_enomem_and_empty_out)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker out = garbage_waker();

	atomic_store(&cw->fail_clone, 1);
	ck_assert_int_eq(ak_waker_clone(&w, &out), AK_ENOMEM);
	ck_assert(waker_is_empty(&out));
	ck_assert_int_eq(atomic_load(&cw->clone_failures), 1);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
}
END_TEST

START_TEST(clone_into_null_out_returns_einval_without_cloning)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);

	ck_assert_int_eq(ak_waker_clone(&w, NULL), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
}
END_TEST

START_TEST(clone_of_null_waker_returns_einval_leaving_out_untouched)
{
	struct ak_waker out = garbage_waker();

	ck_assert_int_eq(ak_waker_clone(NULL, &out), AK_EINVAL);
	ck_assert_ptr_eq(out.data, (const void *)0x1);
	ck_assert_ptr_eq(out.vtable, (const void *)0x2);
}
END_TEST

START_TEST(wake_consumes_the_reference_and_empties_the_waker)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	ak_waker_wake(&c);
	ck_assert(waker_is_empty(&c));
	ck_assert_int_eq(atomic_load(&cw->wakes), 1);
	ck_assert_int_eq(atomic_load(&cw->drops), 0);
	ck_assert_int_eq(atomic_load(&cw->live), 0);
}
END_TEST

START_TEST(wake_by_ref_keeps_the_reference)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	ak_waker_wake_by_ref(&c);
	ck_assert_int_eq(ak_waker_will_wake(&c, &w), 1);
	ck_assert_int_eq(atomic_load(&cw->wakes_by_ref), 1);
	ck_assert_int_eq(atomic_load(&cw->live), 1);
	ak_waker_drop(&c);
}
END_TEST

START_TEST(drop_consumes_the_reference_and_empties_the_waker)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;

	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	ak_waker_drop(&c);
	ck_assert(waker_is_empty(&c));
	ck_assert_int_eq(atomic_load(&cw->drops), 1);
	ck_assert_int_eq(atomic_load(&cw->wakes), 0);
	ck_assert_int_eq(atomic_load(&cw->wakes_by_ref), 0);
}
END_TEST

START_TEST(wake_and_drop_of_empty_or_null_waker_do_nothing)
{
	struct ak_waker e = empty_waker;

	ak_waker_wake(&e);
	ak_waker_wake_by_ref(&e);
	ak_waker_drop(&e);
	ak_waker_wake(NULL);
	ak_waker_wake_by_ref(NULL);
	ak_waker_drop(NULL);
	ck_assert(waker_is_empty(&e));
}
END_TEST

START_TEST(waker_calls_do_not_touch_library_counters)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_waker c = empty_waker;
	struct ak_debug_counts before = tk_counters(), after;

	ck_assert_int_eq(ak_waker_clone(&w, &c), 0);
	after = tk_counters();
	ck_assert_int_eq(after.waker_clones, before.waker_clones);
	ak_waker_drop(&c);
	after = tk_counters();
	ck_assert_int_eq(after.waker_clones, before.waker_clones);
}
END_TEST

/* Counters are kept per thread and summed when read (DESIGN.md section 8):
 * what threads did before they exited still counts, exactly. */
struct counter_thread {
	pthread_t th;
	struct ak_oneshot_tx *kept_tx;
	struct ak_oneshot_rx *kept_rx;
};

static void *make_channels_and_exit(void *arg)
{
	struct counter_thread *ct = arg;
	for (int i = 0; i < 100; i++) {
		struct ak_oneshot_tx *tx;
		struct ak_oneshot_rx *rx;
		ck_assert_int_eq(ak_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
		ak_oneshot_tx_drop(tx);
		ak_oneshot_rx_drop(rx);
	}
	/* One channel outlives the thread: main frees it. */
	ck_assert_int_eq(ak_oneshot_new(sizeof(int), NULL, &ct->kept_tx, &ct->kept_rx), 0);
	return NULL;
}

START_TEST(counters_of_exited_threads_stay_exact)
{
	struct counter_thread ct[4];
	struct ak_debug_counts before = tk_counters(), mid, after;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&ct[i].th, NULL, make_channels_and_exit, &ct[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(ct[i].th, NULL);
	mid = tk_counters();
	ck_assert_int_gt(mid.live_objects, before.live_objects);
	ck_assert_int_gt(mid.allocations, before.allocations + 4 * 100);
	for (int i = 0; i < 4; i++) {
		ak_oneshot_tx_drop(ct[i].kept_tx);   /* freed on this thread */
		ak_oneshot_rx_drop(ct[i].kept_rx);
	}
	after = tk_counters();
	ck_assert_int_eq(after.live_objects, before.live_objects);
	ck_assert_int_eq(after.allocations, mid.allocations);
	ck_assert_int_eq(after.waker_clones, before.waker_clones);
	ck_assert_int_eq(after.parked_ops, before.parked_ops);
}
END_TEST

/* ---- context ----------------------------------------------------------- */

START_TEST(context_init_fills_every_field)
{
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_waker w = tk_counting_waker(cw);
	struct ak_task_slot slot;
	struct ak_context cx;
	size_t i;

	memset(&slot, 0, sizeof slot);
	memset(&cx, 0xa5, sizeof cx);
	ck_assert_int_eq(ak_context_init(&cx, w, &slot), 0);
	ck_assert_uint_eq(cx.size, sizeof(struct ak_context));
	ck_assert_uint_eq(cx.flags, AK_CONTEXT_VALID);
	ck_assert_int_eq(ak_waker_will_wake(&cx.waker, &w), 1);
	ck_assert_ptr_eq(cx.slot, &slot);
	ck_assert_uint_eq(cx.path.len, 0);
	ck_assert_uint_eq(cx.path.overflow, 0);
	for (i = 0; i < AK_PATH_MAX; i++)
		ck_assert_uint_eq(cx.path.index[i], 0);
	ck_assert_int_eq(cx.budget, AK_BUDGET_DEFAULT);
	for (i = 0; i < sizeof cx.reserved / sizeof cx.reserved[0]; i++)
		ck_assert_uint_eq(cx.reserved[i], 0);
	ck_assert_int_eq(ak_context_done(&cx, 0), 0);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
}
END_TEST

/* The same vtable twice on a thread is checked once (ak_waker(3)); any
 * other vtable is still checked in full. */
START_TEST(context_init_refuses_invalid_vtables_after_a_valid_one_passed)
{
	static const struct ak_waker_vtable *const refused[] = {
		&tk_counting_vtable_other_major, &tk_counting_vtable_small,
		&tk_counting_vtable_null_slot, NULL,
	};
	struct tk_counting_waker *cw = tk_cw_new();
	struct ak_context cx;
	size_t i;

	for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		struct ak_waker bad = { cw, refused[i] };

		ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(cw), NULL), 0);
		ck_assert_int_eq(ak_context_done(&cx, 0), 0);
		ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(cw), NULL), 0);
		ck_assert_int_eq(ak_context_done(&cx, 0), 0);
		memset(&cx, 0xa5, sizeof cx);
		ck_assert_int_eq(ak_context_init(&cx, bad, NULL), AK_EINVAL);
		ck_assert_uint_eq(cx.flags, 0);
		ck_assert_int_eq(ak_context_done(&cx, 0), 0);
		/* Refused twice in a row: a failure is not remembered as a pass. */
		ck_assert_int_eq(ak_context_init(&cx, bad, NULL), AK_EINVAL);
		ck_assert_uint_eq(cx.flags, 0);
	}
	ck_assert_int_eq(ak_context_init(&cx, ak_waker_noop(), NULL), 0);
	ck_assert_int_eq(ak_context_done(&cx, 0), 0);
	ck_assert_int_eq(ak_context_init(&cx, empty_waker, NULL), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&cw->clones), 0);
}
END_TEST

static void *init_with_empty_waker(void *arg)
{
	struct ak_context cx;

	memset(&cx, 0xa5, sizeof cx);
	*(int *)arg = ak_context_init(&cx, empty_waker, NULL);
	return NULL;
}

/* A fresh thread has remembered no vtable: its first init is checked. */
START_TEST(context_init_on_a_fresh_thread_refuses_an_empty_waker)
{
	pthread_t th;
	int rc = 0;

	ck_assert_int_eq(pthread_create(&th, NULL, init_with_empty_waker, &rc), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(rc, AK_EINVAL);
}
END_TEST

/* Whether the calling thread counts as inside a poll, seen through
 * ak_block_on: AK_EDEADLK inside one, the future's result outside. */
static int block_on_ready(void)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	return ak_block_on(&f.future, AK_DEADLINE_NEVER);
}

START_TEST(nested_contexts_over_garbage_restore_the_poll_depth)
{
	struct ak_context outer, inner;
	size_t i;

	memset(&outer, 0xa5, sizeof outer);
	memset(&inner, 0x5a, sizeof inner);
	ck_assert_int_eq(block_on_ready(), 0);
	ck_assert_int_eq(ak_context_init(&outer, ak_waker_noop(), NULL), 0);
	ck_assert_int_eq(block_on_ready(), AK_EDEADLK);
	ck_assert_int_eq(ak_context_init(&inner, ak_waker_noop(), NULL), 0);
	ck_assert_uint_eq(inner.path.len, 0);
	ck_assert_uint_eq(inner.path.overflow, 0);
	for (i = 0; i < AK_PATH_MAX; i++)
		ck_assert_uint_eq(inner.path.index[i], 0);
	ck_assert_int_eq(inner.budget, AK_BUDGET_DEFAULT);
	ck_assert_int_eq(ak_context_done(&inner, AK_PENDING), AK_PENDING);
	ck_assert_int_eq(block_on_ready(), AK_EDEADLK);
	/* A refused init in between changes no depth. */
	ck_assert_int_eq(ak_context_init(&inner, empty_waker, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_context_done(&inner, 0), 0);
	ck_assert_int_eq(ak_context_done(&outer, 0), 0);
	ck_assert_int_eq(block_on_ready(), 0);
}
END_TEST

START_TEST(context_init_accepts_null_slot)
{
	struct ak_context cx;
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_context_init(&cx, ak_waker_noop(), NULL), 0);
	ck_assert_ptr_null(cx.slot);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&f.future, &cx)), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(context_init_of_null_returns_einval)
{
	ck_assert_int_eq(ak_context_init(NULL, ak_waker_noop(), NULL), AK_EINVAL);
}
END_TEST

START_TEST(context_init_with_empty_waker_returns_einval)
{
	struct ak_context cx;

	memset(&cx, 0xa5, sizeof cx);
	ck_assert_int_eq(ak_context_init(&cx, empty_waker, NULL), AK_EINVAL);
	ck_assert_uint_eq(cx.flags & AK_CONTEXT_VALID, 0);
	ak_context_done(&cx, 0);
}
END_TEST

START_TEST(context_done_returns_its_argument)
{
	static const int results[] = { 0, AK_PENDING, AK_EPIPE, AK_EINVAL,
		                       AK_ECANCELED };
	size_t i;

	for (i = 0; i < sizeof results / sizeof results[0]; i++) {
		struct ak_context cx;
		struct ak_task_slot slot;

		memset(&slot, 0, sizeof slot);
		ck_assert_int_eq(ak_context_init(&cx, ak_waker_noop(), &slot), 0);
		ck_assert_int_eq(ak_context_done(&cx, results[i]), results[i]);
		ck_assert_int_eq(ak_context_done(&cx, results[i]), results[i]);
		ck_assert_int_eq(ak_context_done(NULL, results[i]), results[i]);
	}
}
END_TEST

START_TEST(context_done_counts_pending_polls_only)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_after_init(&f, 3);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&t->slot), 0);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&t->slot), 1);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_PENDING);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&t->slot), 3);
	ck_assert_int_eq(tk_poll(t, &f.future), 0);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&t->slot), 3);
}
END_TEST

START_TEST(context_done_does_not_count_errors_as_pending)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(tk_poll(t, &f.future), AK_EPIPE);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&t->slot), 0);
}
END_TEST

START_TEST(context_done_counts_once_per_context)
{
	struct ak_task_slot slot;
	struct ak_context cx;

	memset(&slot, 0, sizeof slot);
	ck_assert_int_eq(ak_context_init(&cx, ak_waker_noop(), &slot), 0);
	ck_assert_int_eq(ak_context_done(&cx, AK_PENDING), AK_PENDING);
	ck_assert_int_eq(ak_context_done(&cx, AK_PENDING), AK_PENDING);
	ck_assert_uint_eq(ak_task_slot_pending_polls(&slot), 1);
}
END_TEST

START_TEST(context_reused_after_done_is_refused_by_poll)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;
	struct ak_context cx;

	tk_after_init(&f, 1);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&f.future, &cx)),
	                 AK_PENDING);
	ck_assert_uint_eq(cx.flags & AK_CONTEXT_VALID, 0);
	ck_assert_int_eq(ak_future_poll(&f.future, &cx), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_PENDING);
	ak_future_cancel(&f.future);
}
END_TEST

/* ---- task slot --------------------------------------------------------- */

START_TEST(task_slot_id_is_nonzero_and_stable)
{
	struct ak_task_slot slot;
	uint64_t id;

	memset(&slot, 0, sizeof slot);
	id = ak_task_slot_id(&slot);
	ck_assert_uint_ne(id, 0);
	ck_assert_uint_eq(ak_task_slot_id(&slot), id);
	ck_assert_uint_eq(ak_task_slot_id(&slot), id);
}
END_TEST

START_TEST(task_slot_ids_are_distinct)
{
	struct ak_task_slot slots[8];
	uint64_t ids[8];
	int i, j;

	memset(slots, 0, sizeof slots);
	for (i = 0; i < 8; i++)
		ids[i] = ak_task_slot_id(&slots[i]);
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			ck_assert_uint_ne(ids[i], ids[j]);
}
END_TEST

START_TEST(task_slot_of_null_has_no_id_and_no_pending_polls)
{
	ck_assert_uint_eq(ak_task_slot_id(NULL), 0);
	ck_assert_uint_eq(ak_task_slot_pending_polls(NULL), 0);
}
END_TEST

START_TEST(task_slot_id_survives_polls)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;
	uint64_t id = ak_task_slot_id(&t->slot);

	tk_after_init(&f, 2);
	while (tk_poll(t, &f.future) == AK_PENDING)
		;
	ck_assert_uint_eq(ak_task_slot_id(&t->slot), id);
}
END_TEST

Suite *waker_suite(void)
{
	Suite *s = suite_create("waker");
	TCase *tc;

	tc = tk_tcase("noop");
	tcase_add_test(tc, noop_waker_passes_the_check);
	tcase_add_test(tc, noop_waker_will_wake_noop_waker);
	tcase_add_test(tc, noop_waker_clone_is_the_same_waker);
	tcase_add_test(tc, noop_waker_wake_and_drop_do_nothing_but_empty_it);
	suite_add_tcase(s, tc);

	tc = tk_tcase("will_wake");
	tcase_add_test(tc, will_wake_is_true_for_same_data_and_vtable);
	tcase_add_test(tc, will_wake_is_false_for_other_data);
	tcase_add_test(tc, will_wake_is_false_for_other_vtable);
	tcase_add_test(tc, will_wake_is_false_for_null);
	suite_add_tcase(s, tc);

	tc = tk_tcase("abi");
	tcase_add_test(tc, check_accepts_counting_waker);
	tcase_add_test(tc, check_refuses_null_waker_and_null_vtable);
	tcase_add_test(tc, check_refuses_other_major);
	tcase_add_test(tc, clone_refuses_other_major_leaving_out_untouched);
	tcase_add_test(tc, context_init_refuses_other_major);
	tcase_add_test(tc,
	               poll_with_other_major_context_returns_einval_without_polling);
	tcase_add_test(tc, check_refuses_smaller_vtable);
	tcase_add_test(tc, clone_and_context_init_refuse_smaller_vtable);
	tcase_add_test(tc, check_refuses_vtable_with_null_function);
	tcase_add_test(tc, larger_vtable_of_same_major_is_accepted);
	suite_add_tcase(s, tc);

	tc = tk_tcase("references");
	tcase_add_test(tc, clone_returns_a_reference_to_the_same_task);
	tcase_add_test(tc, clone_returning_null_gives_enomem_and_empty_out);
	tcase_add_test(tc, clone_into_null_out_returns_einval_without_cloning);
	tcase_add_test(tc,
	               clone_of_null_waker_returns_einval_leaving_out_untouched);
	tcase_add_test(tc, wake_consumes_the_reference_and_empties_the_waker);
	tcase_add_test(tc, wake_by_ref_keeps_the_reference);
	tcase_add_test(tc, drop_consumes_the_reference_and_empties_the_waker);
	tcase_add_test(tc, wake_and_drop_of_empty_or_null_waker_do_nothing);
	tcase_add_test(tc, waker_calls_do_not_touch_library_counters);
	tcase_add_test(tc, counters_of_exited_threads_stay_exact);
	suite_add_tcase(s, tc);

	tc = tk_tcase("context");
	tcase_add_test(tc, context_init_fills_every_field);
	tcase_add_test(tc, context_init_refuses_invalid_vtables_after_a_valid_one_passed);
	tcase_add_test(tc, nested_contexts_over_garbage_restore_the_poll_depth);
	tcase_add_test(tc, context_init_on_a_fresh_thread_refuses_an_empty_waker);
	tcase_add_test(tc, context_init_accepts_null_slot);
	tcase_add_test(tc, context_init_of_null_returns_einval);
	tcase_add_test(tc, context_init_with_empty_waker_returns_einval);
	tcase_add_test(tc, context_done_returns_its_argument);
	tcase_add_test(tc, context_done_counts_pending_polls_only);
	tcase_add_test(tc, context_done_does_not_count_errors_as_pending);
	tcase_add_test(tc, context_done_counts_once_per_context);
	tcase_add_test(tc, context_reused_after_done_is_refused_by_poll);
	suite_add_tcase(s, tc);

	tc = tk_tcase("slot");
	tcase_add_test(tc, task_slot_id_is_nonzero_and_stable);
	tcase_add_test(tc, task_slot_ids_are_distinct);
	tcase_add_test(tc, task_slot_of_null_has_no_id_and_no_pending_polls);
	tcase_add_test(tc, task_slot_id_survives_polls);
	suite_add_tcase(s, tc);

	return s;
}
