/*
 * The await macros (include/awaitkit/await.h): a three-step task driven to
 * completion on the executor and under ak_block_on, yield order, errors
 * returned through AK_RETURN, and cancellation: the live operation first,
 * then the cleanup block, once — including a task that holds permits of
 * the semaphore core (core/sem.h) and gives them back from its cleanup.
 *
 * The macros must compile warning-free: this whole file is built with
 * -Werror by gcc and by clang-16, and the pragma below makes a missing
 * fallthrough annotation an error under both (clang's -Wextra leaves
 * -Wimplicit-fallthrough off).
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <check.h>
#include <string.h>

#include <awaitkit/await.h>

#include "testkit_core.h"

Suite *await_suite(void);

#define MS 1000000LL

static struct ak_executor *new_executor(void)
{
	struct ak_executor *ex = NULL;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	return ex;
}

/* ---- the three-step task ------------------------------------------------
 * Yields, awaits `first`, awaits `second`, counting the steps it finished.
 * Its cleanup block counts its runs and records how many cancels `first`
 * had seen by then, to show the live operation went first.
 */
struct three {
	struct ak_future future;
	struct ak_await aw;
	struct ak_future *first;
	struct ak_future *second;
	atomic_int *first_cancels;   /* the counter of `first`, if it has one */
	int rc;
	int steps;
	int cleanups;
	int first_cancels_at_cleanup;
};

static int three_poll(struct ak_future *f, struct ak_context *cx)
{
	struct three *t = (struct three *)f;

	AK_BEGIN(&t->aw, cx);
	AK_YIELD(&t->aw);
	t->steps++;
	AK_AWAIT(&t->aw, t->first, t->rc);
	if (t->rc != 0)
		AK_RETURN(&t->aw, t->rc);
	t->steps++;
	AK_AWAIT(&t->aw, t->second, t->rc);
	if (t->rc != 0)
		AK_RETURN(&t->aw, t->rc);
	t->steps++;
	AK_CLEANUP(&t->aw);
	t->cleanups++;
	if (t->first_cancels)
		t->first_cancels_at_cleanup = atomic_load(t->first_cancels);
	AK_END(&t->aw);
}

static void three_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct three *)f)->aw, f);
}

static const struct ak_future_vtable three_vtable = { three_poll, three_cancel };

static void three_init(struct three *t, struct ak_future *first,
                       struct ak_future *second, atomic_int *first_cancels)
{
	memset(t, 0, sizeof *t);
	t->first = first;
	t->second = second;
	t->first_cancels = first_cancels;
	t->first_cancels_at_cleanup = -1;
	ck_assert_int_eq(ak_future_init(&t->future, &three_vtable), 0);
}

START_TEST(three_step_task_completes_on_the_executor)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future flag;
	struct tk_count_future after;
	struct tk_setter setter;
	struct three t;

	tk_flag_init(&flag, 0);
	tk_after_init(&after, 2);
	three_init(&t, &flag.future, &after.future, &flag.cancels);
	tk_setter_start(&setter, &flag, 5 * MS);
	ck_assert_int_eq(ak_executor_run_until(ex, &t.future, ak_deadline_in(5000 * MS)), 0);
	tk_setter_join(&setter);
	ck_assert_int_eq(t.steps, 3);
	ck_assert_int_eq(t.cleanups, 0);
	ck_assert_int_eq(t.aw.line, AK_AWAIT_DONE);
	ck_assert_ptr_null(t.aw.live);
	ck_assert_int_eq(atomic_load(&after.polls), 3);
	ck_assert_int_eq(atomic_load(&flag.cancels), 0);
	ck_assert_int_eq(atomic_load(&flag.clones), atomic_load(&flag.released));
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(three_step_task_completes_under_block_on)
{
	struct tk_flag_future flag;
	struct tk_count_future after;
	struct tk_setter setter;
	struct three t;

	tk_flag_init(&flag, 0);
	tk_after_init(&after, 2);
	three_init(&t, &flag.future, &after.future, &flag.cancels);
	tk_setter_start(&setter, &flag, 5 * MS);
	ck_assert_int_eq(ak_block_on(&t.future, ak_deadline_in(5000 * MS)), 0);
	tk_setter_join(&setter);
	ck_assert_int_eq(t.steps, 3);
	ck_assert_int_eq(t.cleanups, 0);
	ck_assert_int_eq(atomic_load(&after.polls), 3);
	ck_assert_int_eq(atomic_load(&flag.clones), atomic_load(&flag.released));
}
END_TEST

START_TEST(await_records_the_pending_operation_as_live)
{
	struct tk_task *k = tk_task_new();
	struct tk_flag_future flag;
	struct tk_count_future after;
	struct three t;

	tk_flag_init(&flag, 0);
	tk_after_init(&after, 0);
	three_init(&t, &flag.future, &after.future, &flag.cancels);
	ck_assert_int_eq(tk_poll(k, &t.future), AK_PENDING);      /* the yield */
	ck_assert_ptr_eq(t.aw.live, &t.aw.yield.future);
	ck_assert(tk_task_take_woken(k));
	ck_assert_int_eq(tk_poll(k, &t.future), AK_PENDING);      /* the flag */
	ck_assert_ptr_eq(t.aw.live, &flag.future);
	ck_assert_int_eq(t.steps, 1);
	tk_flag_set(&flag);
	ck_assert(tk_task_take_woken(k));
	ck_assert_int_eq(tk_poll(k, &t.future), 0);
	ck_assert_ptr_null(t.aw.live);
	ck_assert_int_eq(t.steps, 3);
}
END_TEST

/* Logs id, yields, logs id + 10, yields, logs id + 20. */
struct turns {
	struct ak_future future;
	struct ak_await aw;
	struct tk_log *log;
	int id;
};

static int turns_poll(struct ak_future *f, struct ak_context *cx)
{
	struct turns *t = (struct turns *)f;

	AK_BEGIN(&t->aw, cx);
	tk_log_add(t->log, t->id);
	AK_YIELD(&t->aw);
	tk_log_add(t->log, t->id + 10);
	AK_YIELD(&t->aw);
	tk_log_add(t->log, t->id + 20);
	AK_END(&t->aw);
}

static void turns_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct turns *)f)->aw, f);
}

static const struct ak_future_vtable turns_vtable = { turns_poll, turns_cancel };

START_TEST(yield_lets_the_other_ready_tasks_run_first)
{
	static const int expect[] = { 0, 1, 10, 11, 20, 21 };
	struct ak_executor *ex = new_executor();
	struct turns t[2];
	struct tk_log log;

	memset(&log, 0, sizeof log);
	for (int i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof t[i]);
		t[i].log = &log;
		t[i].id = i;
		ck_assert_int_eq(ak_future_init(&t[i].future, &turns_vtable), 0);
		ck_assert_int_eq(ak_executor_spawn(ex, &t[i].future, NULL), 0);
	}
	ck_assert_int_eq(ak_executor_run(ex), 6);
	ck_assert_int_eq(tk_log_len(&log), 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(log.ids[i], expect[i]);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(a_task_completes_with_the_error_it_returns)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future failing, never;
	struct ak_task *h = NULL;
	struct three t;

	tk_ready_init(&failing, AK_EPIPE);
	tk_ready_init(&never, 0);
	three_init(&t, &failing.future, &never.future, &failing.cancels);
	ck_assert_int_eq(ak_executor_spawn(ex, &t.future, &h), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(h), AK_EPIPE);
	ck_assert_int_eq(t.steps, 1);
	ck_assert_int_eq(t.cleanups, 0);
	ck_assert_int_eq(t.aw.line, AK_AWAIT_DONE);
	ck_assert_int_eq(atomic_load(&never.polls), 0);
	ak_task_release(h);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(cancel_cancels_the_live_operation_then_runs_cleanup_once)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future flag;
	struct tk_count_future second;
	struct ak_task *h = NULL;
	struct three t;

	tk_flag_init(&flag, 0);
	tk_ready_init(&second, 0);
	three_init(&t, &flag.future, &second.future, &flag.cancels);
	ck_assert_int_eq(ak_executor_spawn(ex, &t.future, &h), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(h), AK_PENDING);
	ck_assert(tk_flag_holds_waker(&flag));

	ck_assert_int_eq(ak_task_cancel(h), 0);
	ck_assert_int_eq(ak_task_result(h), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&flag.cancels), 1);
	ck_assert(!tk_flag_holds_waker(&flag));
	ck_assert_int_eq(atomic_load(&flag.clones), atomic_load(&flag.released));
	ck_assert_int_eq(t.cleanups, 1);
	ck_assert_int_eq(t.first_cancels_at_cleanup, 1);
	ck_assert_ptr_null(t.aw.live);
	ck_assert_int_eq(t.aw.line, AK_AWAIT_DONE);
	ck_assert_int_eq(t.steps, 1);
	ck_assert_int_eq(atomic_load(&second.polls), 0);

	/* Again, through the executor and directly: nothing more runs. */
	ck_assert_int_eq(ak_task_cancel(h), 0);
	ak_await_cancel(&t.aw, &t.future);
	ck_assert_int_eq(t.cleanups, 1);
	ck_assert_int_eq(atomic_load(&flag.cancels), 1);
	ak_task_release(h);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(a_completed_task_is_not_cleaned_up)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future a, b;
	struct ak_task *h = NULL;
	struct three t;

	tk_ready_init(&a, 0);
	tk_ready_init(&b, 0);
	three_init(&t, &a.future, &b.future, &a.cancels);
	ck_assert_int_eq(ak_executor_spawn(ex, &t.future, &h), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(h), 0);
	ck_assert_int_eq(ak_task_cancel(h), 0);
	ak_await_cancel(&t.aw, &t.future);
	ck_assert_int_eq(t.cleanups, 0);
	ck_assert_int_eq(t.steps, 3);
	ak_task_release(h);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(a_task_dropped_before_its_first_poll_runs_cleanup_once)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future a, b;
	struct three t;

	tk_ready_init(&a, 0);
	tk_ready_init(&b, 0);
	three_init(&t, &a.future, &b.future, &a.cancels);
	ck_assert_int_eq(ak_executor_spawn(ex, &t.future, NULL), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(t.cleanups, 1);
	ck_assert_int_eq(t.steps, 0);
	ck_assert_int_eq(atomic_load(&a.polls), 0);
	ck_assert_int_eq(atomic_load(&a.cancels), 0);
}
END_TEST

START_TEST(block_on_timeout_cancels_the_live_operation_and_runs_cleanup)
{
	struct tk_flag_future flag;
	struct tk_count_future second;
	struct three t;

	tk_flag_init(&flag, 0);
	tk_ready_init(&second, 0);
	three_init(&t, &flag.future, &second.future, &flag.cancels);
	/* Long enough that the second poll (after the yield) comes before it
	 * even on a loaded machine under TSan; 20 ms once did not. */
	ck_assert_int_eq(ak_block_on(&t.future, ak_deadline_in(500 * MS)), AK_ETIMEDOUT);
	ck_assert_int_eq(t.steps, 1);
	ck_assert_int_eq(atomic_load(&flag.cancels), 1);
	ck_assert_int_eq(atomic_load(&flag.clones), atomic_load(&flag.released));
	ck_assert_int_eq(t.cleanups, 1);
	ck_assert_int_eq(t.first_cancels_at_cleanup, 1);
}
END_TEST

/* ---- a cleanup block that tries to wait --------------------------------- */

struct waits_in_cleanup {
	struct ak_future future;
	struct ak_await aw;
	struct tk_flag_future *park;
	struct tk_count_future *in_cleanup;
	int rc;
	int cleanup_rc;
	int yield_rc;
};

static int wic_poll(struct ak_future *f, struct ak_context *cx)
{
	struct waits_in_cleanup *w = (struct waits_in_cleanup *)f;

	AK_BEGIN(&w->aw, cx);
	AK_AWAIT(&w->aw, &w->park->future, w->rc);
	AK_RETURN(&w->aw, w->rc);
	AK_CLEANUP(&w->aw);
	AK_AWAIT(&w->aw, &w->in_cleanup->future, w->cleanup_rc);
	AK_YIELD(&w->aw);
	w->yield_rc = w->aw.rc;
	AK_END(&w->aw);
}

static void wic_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct waits_in_cleanup *)f)->aw, f);
}

static const struct ak_future_vtable wic_vtable = { wic_poll, wic_cancel };

START_TEST(an_await_in_the_cleanup_block_polls_nothing_and_gets_ecanceled)
{
	struct tk_task *k = tk_task_new();
	struct tk_flag_future park;
	struct tk_count_future inner;
	struct waits_in_cleanup w;

	tk_flag_init(&park, 0);
	tk_count_init(&inner, 5, 1, 0);
	memset(&w, 0, sizeof w);
	w.park = &park;
	w.in_cleanup = &inner;
	ck_assert_int_eq(ak_future_init(&w.future, &wic_vtable), 0);
	ck_assert_int_eq(tk_poll(k, &w.future), AK_PENDING);
	ak_future_cancel(&w.future);
	ck_assert_int_eq(atomic_load(&park.cancels), 1);
	ck_assert_int_eq(w.cleanup_rc, AK_ECANCELED);
	ck_assert_int_eq(w.yield_rc, AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&inner.polls), 0);
	ck_assert_ptr_null(w.aw.live);
	ck_assert_int_eq(w.aw.line, AK_AWAIT_DONE);
	ck_assert(!tk_task_take_woken(k));
}
END_TEST

/* ---- a task that holds semaphore-core permits ----------------------------
 * Takes 2 permits, then 2 more, then gives all back and finishes.  Its
 * cleanup block returns the permits it holds when it is dropped.
 */
struct holder {
	struct ak_future future;
	struct ak_await aw;
	struct ak__sem *sem;
	struct tk_sem_op first, second;
	uint64_t held;
	int rc;
	int cleanups;
};

static int holder_poll(struct ak_future *f, struct ak_context *cx)
{
	struct holder *h = (struct holder *)f;

	AK_BEGIN(&h->aw, cx);
	if ((h->rc = tk_sem_op_init(&h->first, h->sem, 2)) != 0)
		AK_RETURN(&h->aw, h->rc);
	AK_AWAIT(&h->aw, &h->first.future, h->rc);
	if (h->rc != 0)
		AK_RETURN(&h->aw, h->rc);
	h->held += 2;
	if ((h->rc = tk_sem_op_init(&h->second, h->sem, 2)) != 0)
		AK_RETURN(&h->aw, h->rc);
	AK_AWAIT(&h->aw, &h->second.future, h->rc);
	if (h->rc != 0)
		AK_RETURN(&h->aw, h->rc);
	h->held += 2;
	h->rc = ak__sem_release(h->sem, h->held);
	h->held = 0;
	AK_RETURN(&h->aw, h->rc);
	AK_CLEANUP(&h->aw);
	h->cleanups++;
	if (h->held != 0 && ak__sem_release(h->sem, h->held) == 0)
		h->held = 0;
	AK_END(&h->aw);
}

static void holder_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct holder *)f)->aw, f);
}

static const struct ak_future_vtable holder_vtable = { holder_poll, holder_cancel };

static void holder_init(struct holder *h, struct ak__sem *s)
{
	memset(h, 0, sizeof *h);
	h->sem = s;
	ck_assert_int_eq(ak_future_init(&h->future, &holder_vtable), 0);
}

/* Spawns a holder on a semaphore of 3 permits and runs it until it holds 2
 * and waits for 2 more. */
static void holder_start(struct ak_executor *ex, struct ak__sem *s,
                         struct holder *h, struct ak_task **handle)
{
	ck_assert_int_eq(ak__sem_init(s, 3), 0);
	holder_init(h, s);
	ck_assert_int_eq(ak_executor_spawn(ex, &h->future, handle), 0);
	ak_executor_run(ex);
	ck_assert_uint_eq(h->held, 2);
	ck_assert_ptr_eq(h->aw.live, &h->second.future);
	ck_assert_uint_eq(ak__sem_available(s), 0);
	ck_assert_uint_eq(ak__sem_waiting(s), 1);
}

START_TEST(task_cancel_returns_held_permits_through_cleanup)
{
	struct ak_executor *ex = new_executor();
	struct ak__sem s;
	struct holder h;
	struct ak_task *handle = NULL;

	holder_start(ex, &s, &h, &handle);
	ck_assert_int_eq(ak_task_cancel(handle), 0);
	ck_assert_int_eq(h.cleanups, 1);
	ck_assert_uint_eq(h.held, 0);
	ck_assert_uint_eq(ak__sem_waiting(&s), 0);
	ck_assert_uint_eq(ak__sem_available(&s), 3);
	ak_task_release(handle);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak__sem_destroy(&s), 0);
}
END_TEST

START_TEST(executor_free_returns_held_permits_through_cleanup)
{
	struct ak_executor *ex = new_executor();
	struct ak__sem s;
	struct holder h;

	holder_start(ex, &s, &h, NULL);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(h.cleanups, 1);
	ck_assert_uint_eq(h.held, 0);
	ck_assert_uint_eq(ak__sem_waiting(&s), 0);
	ck_assert_uint_eq(ak__sem_available(&s), 3);
	ck_assert_int_eq(ak__sem_destroy(&s), 0);
}
END_TEST

START_TEST(permits_returned_by_cleanup_reach_the_next_waiter)
{
	struct ak_executor *ex = new_executor();
	struct ak__sem s;
	struct holder h;
	struct tk_sem_op all;
	struct ak_task *handle = NULL, *waiter = NULL;

	holder_start(ex, &s, &h, &handle);
	ck_assert_int_eq(tk_sem_op_init(&all, &s, 3), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &all.future, &waiter), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(waiter), AK_PENDING);
	ck_assert_int_eq(ak_task_cancel(handle), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(waiter), 0);
	ck_assert_int_eq(h.cleanups, 1);
	ck_assert_uint_eq(ak__sem_available(&s), 0);
	ck_assert_int_eq(ak__sem_release(&s, 3), 0);
	ak_task_release(handle);
	ak_task_release(waiter);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak__sem_destroy(&s), 0);
}
END_TEST

START_TEST(a_holder_that_completes_gives_its_permits_back_itself)
{
	struct ak_executor *ex = new_executor();
	struct ak__sem s;
	struct holder h;
	struct ak_task *handle = NULL;

	ck_assert_int_eq(ak__sem_init(&s, 4), 0);
	holder_init(&h, &s);
	ck_assert_int_eq(ak_executor_spawn(ex, &h.future, &handle), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(handle), 0);
	ck_assert_int_eq(h.cleanups, 0);
	ck_assert_uint_eq(ak__sem_available(&s), 4);
	ak_task_release(handle);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak__sem_destroy(&s), 0);
}
END_TEST

Suite *await_suite(void)
{
	Suite *s = suite_create("await");
	TCase *tc = tk_tcase("await");

	tcase_add_test(tc, three_step_task_completes_on_the_executor);
	tcase_add_test(tc, three_step_task_completes_under_block_on);
	tcase_add_test(tc, await_records_the_pending_operation_as_live);
	tcase_add_test(tc, yield_lets_the_other_ready_tasks_run_first);
	tcase_add_test(tc, a_task_completes_with_the_error_it_returns);
	tcase_add_test(tc, cancel_cancels_the_live_operation_then_runs_cleanup_once);
	tcase_add_test(tc, a_completed_task_is_not_cleaned_up);
	tcase_add_test(tc, a_task_dropped_before_its_first_poll_runs_cleanup_once);
	tcase_add_test(tc, block_on_timeout_cancels_the_live_operation_and_runs_cleanup);
	tcase_add_test(tc, an_await_in_the_cleanup_block_polls_nothing_and_gets_ecanceled);
	tcase_add_test(tc, task_cancel_returns_held_permits_through_cleanup);
	tcase_add_test(tc, executor_free_returns_held_permits_through_cleanup);
	tcase_add_test(tc, permits_returned_by_cleanup_reach_the_next_waiter);
	tcase_add_test(tc, a_holder_that_completes_gives_its_permits_back_itself);
	suite_add_tcase(s, tc);
	return s;
}
