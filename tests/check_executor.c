/* The single-thread executor: spawn, run, run_until, tasks and wakes. */
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

#define MS 1000000LL

static struct ak_executor *new_executor(void)
{
	struct ak_executor *ex = NULL;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_ptr_nonnull(ex);
	return ex;
}

/* Drives the executor until a run makes no poll; returns the polls made. */
static int run_all(struct ak_executor *ex)
{
	int total = 0, n;

	while ((n = ak_executor_run(ex)) > 0)
		total += n;
	ck_assert_int_eq(n, 0);
	return total;
}

/*
 * Waits for a task to finish by polling its result, waking itself each
 * time (no parking): a main future for run_until that needs the tasks run.
 */
struct await_task {
	struct ak_future future;
	struct ak_task *task;
	int polls;
};

static int await_task_poll(struct ak_future *base, struct ak_context *cx)
{
	struct await_task *f = (struct await_task *)base;
	int rc = ak_task_result(f->task);

	f->polls++;
	if (rc == AK_PENDING)
		ak_waker_wake_by_ref(&cx->waker);
	return rc;
}

static void await_task_cancel(struct ak_future *base)
{
	(void)base;
}

static const struct ak_future_vtable await_task_vtable = {
	await_task_poll, await_task_cancel
};

static void await_task_init(struct await_task *f, struct ak_task *task)
{
	memset(f, 0, sizeof *f);
	f->task = task;
	ck_assert_int_eq(ak_future_init(&f->future, &await_task_vtable), 0);
}

/* Waits on one flag future, then sets another. */
struct relay {
	struct ak_future future;
	struct tk_flag_future *wait;
	struct tk_flag_future *then;
};

static int relay_poll(struct ak_future *base, struct ak_context *cx)
{
	struct relay *f = (struct relay *)base;
	int rc = ak_future_poll(&f->wait->future, cx);

	if (rc == AK_PENDING)
		return rc;
	tk_flag_set(f->then);
	return rc;
}

static void relay_cancel(struct ak_future *base)
{
	struct relay *f = (struct relay *)base;

	ak_future_cancel(&f->wait->future);
}

static const struct ak_future_vtable relay_vtable = { relay_poll,
	                                              relay_cancel };

/* Spawns a child task from inside its poll. */
struct spawner {
	struct ak_future future;
	struct ak_executor *ex;
	struct ak_future *child;
	int rc_spawn;
};

static int spawner_poll(struct ak_future *base, struct ak_context *cx)
{
	struct spawner *f = (struct spawner *)base;

	(void)cx;
	f->rc_spawn = ak_executor_spawn(f->ex, f->child, NULL);
	return 0;
}

static void spawner_cancel(struct ak_future *base)
{
	(void)base;
}

static const struct ak_future_vtable spawner_vtable = { spawner_poll,
	                                                spawner_cancel };

/* ---- spawn and run ----------------------------------------------------- */

START_TEST(spawned_task_is_not_polled_before_run)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(spawn_then_run_polls_task_once)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_of_empty_executor_returns_zero)
{
	struct ak_executor *ex = new_executor();

	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_polls_tasks_in_spawn_order)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f[4];
	struct tk_log log;
	int i;

	memset(&log, 0, sizeof log);
	for (i = 0; i < 4; i++) {
		tk_ready_init(&f[i], 0);
		f[i].id = i;
		f[i].log = &log;
		ck_assert_int_eq(ak_executor_spawn(ex, &f[i].future, NULL), 0);
	}
	ck_assert_int_eq(ak_executor_run(ex), 4);
	ck_assert_int_eq(tk_log_len(&log), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(log.ids[i], i);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_does_not_poll_a_parked_task)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(spawn_marks_the_future_owned)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_uint_ne(ak_future_state(&f.future) & AK_FUTURE_OWNED, 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_spawned_from_a_task_is_run)
{
	struct ak_executor *ex = new_executor();
	struct spawner parent;
	struct tk_count_future child;

	memset(&parent, 0, sizeof parent);
	ck_assert_int_eq(ak_future_init(&parent.future, &spawner_vtable), 0);
	tk_ready_init(&child, 0);
	parent.ex = ex;
	parent.child = &child.future;
	ck_assert_int_eq(ak_executor_spawn(ex, &parent.future, NULL), 0);
	ck_assert_int_eq(run_all(ex), 2);
	ck_assert_int_eq(parent.rc_spawn, 0);
	ck_assert_int_eq(atomic_load(&child.polls), 1);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_release_lets_the_task_go_on)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_after_init(&f, 1);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_run(ex), 2);
	ck_assert_int_eq(ak_future_state(&f.future) & (int)AK_FUTURE_PHASE_MASK,
	                 AK_FUTURE_DONE);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* The run of a body polled before and left pending: it stays pending
 * while it returns AK_PENDING, and is done when its poll ends it. */
START_TEST(a_body_polled_again_is_done_when_its_poll_ends)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_after_init(&f, 2);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	for (int i = 0; i < 2; i++) {
		ak_executor_run_budget(ex, 1);
		ck_assert_int_eq(ak_future_state(&f.future),
		                 (int)(AK_FUTURE_OWNED | AK_FUTURE_PENDING));
		ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	}
	ak_executor_run_budget(ex, 1);
	ck_assert_int_eq(atomic_load(&f.polls), 3);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(ten_thousand_tasks_all_complete)
{
	enum { N = 10000 };
	struct ak_executor *ex = new_executor();
	struct tk_count_future *f = calloc(N, sizeof *f);
	int i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < N; i++) {
		tk_after_init(&f[i], 1);
		ck_assert_int_eq(ak_executor_spawn(ex, &f[i].future, NULL), 0);
	}
	ck_assert_uint_eq(ak_executor_task_count(ex), N);
	ck_assert_int_eq(ak_executor_run(ex), 2 * N);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(atomic_load(&f[i].polls), 2);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	free(f);
}
END_TEST

/* ---- wakes ------------------------------------------------------------- */

START_TEST(task_woken_twice_before_run_is_polled_once)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert(tk_flag_wake_by_ref(&f));
	ck_assert(tk_flag_wake_by_ref(&f));
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	tk_flag_set(&f);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 3);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(wake_during_poll_requeues_at_the_tail)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future a, b;
	struct tk_log log;

	memset(&log, 0, sizeof log);
	tk_after_init(&a, 1);
	a.id = 'A';
	a.log = &log;
	tk_ready_init(&b, 0);
	b.id = 'B';
	b.log = &log;
	ck_assert_int_eq(ak_executor_spawn(ex, &a.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &b.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 3);
	ck_assert_int_eq(tk_log_len(&log), 3);
	ck_assert_int_eq(log.ids[0], 'A');
	ck_assert_int_eq(log.ids[1], 'B');
	ck_assert_int_eq(log.ids[2], 'A');
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(wake_after_completion_is_ignored)
{
	struct ak_executor *ex = new_executor();
	struct tk_keeper_future f;
	struct ak_task *t = NULL;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_ptr_nonnull(f.kept.vtable);
	ak_waker_wake_by_ref(&f.kept);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ak_waker_wake(&f.kept);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(waker_kept_past_executor_free_can_be_woken_and_dropped)
{
	struct ak_executor *ex = new_executor();
	struct tk_keeper_future f;
	struct tk_flag_future parked;
	struct ak_waker second = { NULL, NULL };

	tk_keeper_init(&f, 0);
	tk_flag_init(&parked, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &parked.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 2);
	ck_assert_int_eq(ak_waker_clone(&f.kept, &second), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ak_waker_wake_by_ref(&f.kept);
	ak_waker_wake(&f.kept);
	ak_waker_drop(&second);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(atomic_load(&parked.cancels), 1);
}
END_TEST

START_TEST(wake_from_another_thread_makes_the_task_ready)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct tk_setter s;
	struct ak_task *t = NULL;

	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	tk_setter_start(&s, &f, 0);
	tk_setter_join(&s);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- run_until --------------------------------------------------------- */

START_TEST(run_until_resumes_on_wake_from_another_thread)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future main_f;
	struct tk_setter s;

	tk_flag_init(&main_f, 0);
	tk_setter_start_when_parked(&s, &main_f);
	ck_assert_int_eq(ak_executor_run_until(ex, &main_f.future,
	                                       AK_DEADLINE_NEVER), 0);
	tk_setter_join(&s);
	ck_assert_int_ge(atomic_load(&main_f.polls), 2);
	ck_assert_int_eq(atomic_load(&main_f.clones),
	                 atomic_load(&main_f.released));
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_returns_the_main_futures_result)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future main_f;

	tk_count_init(&main_f, 2, 1, AK_EPIPE);
	ck_assert_int_eq(ak_executor_run_until(ex, &main_f.future,
	                                       AK_DEADLINE_NEVER), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&main_f.polls), 3);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_drives_spawned_tasks)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future task_f;
	struct await_task main_f;
	struct ak_task *t = NULL;

	tk_count_init(&task_f, 3, 1, AK_EPIPE);
	ck_assert_int_eq(ak_executor_spawn(ex, &task_f.future, &t), 0);
	await_task_init(&main_f, t);
	ck_assert_int_eq(ak_executor_run_until(ex, &main_f.future,
	                                       AK_DEADLINE_NEVER), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&task_f.polls), 4);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_parks_until_a_task_is_woken_from_another_thread)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future outside, main_f;
	struct relay task_f;
	struct tk_setter s;

	tk_flag_init(&outside, 0);
	tk_flag_init(&main_f, 0);
	memset(&task_f, 0, sizeof task_f);
	ck_assert_int_eq(ak_future_init(&task_f.future, &relay_vtable), 0);
	task_f.wait = &outside;
	task_f.then = &main_f;
	ck_assert_int_eq(ak_executor_spawn(ex, &task_f.future, NULL), 0);
	tk_setter_start(&s, &outside, 2 * MS);
	ck_assert_int_eq(ak_executor_run_until(ex, &main_f.future,
	                                       AK_DEADLINE_NEVER), 0);
	tk_setter_join(&s);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(atomic_load(&outside.clones),
	                 atomic_load(&outside.released));
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_of_expired_deadline_cancels_main_future)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future main_f;

	tk_flag_init(&main_f, 0);
	ck_assert_int_eq(ak_executor_run_until(ex, &main_f.future,
	                                       ak_deadline_in(1 * MS)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&main_f.cancels), 1);
	ck_assert_int_eq(atomic_load(&main_f.clones),
	                 atomic_load(&main_f.released));
	ck_assert_int_eq(ak_future_state(&main_f.future), AK_FUTURE_DONE);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_of_invalid_future_returns_einval)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;

	memset(&f, 0, sizeof f);
	f.future.vtable = &tk_count_vtable;
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, AK_DEADLINE_NEVER),
	                 AK_EINVAL);
	ck_assert_int_eq(ak_executor_run_until(ex, NULL, AK_DEADLINE_NEVER),
	                 AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- budget and slots -------------------------------------------------- */

START_TEST(busy_task_yields_so_another_task_is_polled_between_its_polls)
{
	struct ak_executor *ex = new_executor();
	struct tk_busy_future a;
	struct tk_count_future b;
	struct tk_log log;

	memset(&log, 0, sizeof log);
	tk_busy_init(&a, 2 * AK_BUDGET_DEFAULT + 44);
	a.id = 'A';
	a.log = &log;
	tk_ready_init(&b, 0);
	b.id = 'B';
	b.log = &log;
	ck_assert_int_eq(ak_executor_spawn(ex, &a.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &b.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 4);
	ck_assert_int_eq(tk_log_len(&log), 4);
	ck_assert_int_eq(log.ids[0], 'A');
	ck_assert_int_eq(log.ids[1], 'B');
	ck_assert_int_eq(log.ids[2], 'A');
	ck_assert_int_eq(log.ids[3], 'A');
	ck_assert_int_eq(atomic_load(&a.yields), 2);
	ck_assert_int_eq(a.done, 2 * AK_BUDGET_DEFAULT + 44);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(each_task_poll_gets_a_fresh_default_budget)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	int i;

	tk_after_init(&f, 3);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(f.budgets[i], AK_BUDGET_DEFAULT);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(context_done_counts_pending_polls_in_task_slot)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_after_init(&f, 3);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 4);
	ck_assert_ptr_nonnull(f.slot);
	ck_assert_uint_eq(ak_task_slot_pending_polls(f.slot), 3);
	ck_assert_uint_ne(ak_task_slot_id(f.slot), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(each_task_has_its_own_slot)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future a, b;
	struct ak_task *ta = NULL, *tb = NULL;

	tk_ready_init(&a, 0);
	tk_ready_init(&b, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &a.future, &ta), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &b.future, &tb), 0);
	ck_assert_int_eq(ak_executor_run(ex), 2);
	ck_assert_ptr_nonnull(a.slot);
	ck_assert_ptr_nonnull(b.slot);
	ck_assert_ptr_ne(a.slot, b.slot);
	ck_assert_uint_ne(ak_task_slot_id(a.slot), ak_task_slot_id(b.slot));
	ak_task_release(ta);
	ak_task_release(tb);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- task handles, cancel, free ---------------------------------------- */

START_TEST(task_result_is_pending_until_the_task_finishes)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	tk_flag_set(&f);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_cancel_cancels_the_future_and_sets_ecanceled)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert(tk_flag_holds_waker(&f));
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert(!tk_flag_holds_waker(&f));
	ck_assert_int_eq(atomic_load(&f.clones), atomic_load(&f.released));
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(cancelled_task_is_not_polled)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_cancel_of_finished_task_is_a_noop)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(executor_free_cancels_unfinished_tasks)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future parked;
	struct tk_count_future queued, finished;
	struct ak_task *tp = NULL, *tq = NULL;

	tk_flag_init(&parked, 0);
	tk_ready_init(&finished, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &parked.future, &tp), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &finished.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 2);
	tk_ready_init(&queued, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &queued.future, &tq), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(atomic_load(&parked.cancels), 1);
	ck_assert_int_eq(atomic_load(&queued.cancels), 1);
	ck_assert_int_eq(atomic_load(&queued.polls), 0);
	ck_assert_int_eq(atomic_load(&finished.cancels), 0);
	ck_assert(!tk_flag_holds_waker(&parked));
	ck_assert_int_eq(atomic_load(&parked.clones),
	                 atomic_load(&parked.released));
	ck_assert_int_eq(ak_task_result(tp), AK_ECANCELED);
	ck_assert_int_eq(ak_task_result(tq), AK_ECANCELED);
	ak_task_release(tp);
	ak_task_release(tq);
}
END_TEST

START_TEST(blocking_calls_inside_a_task_return_edeadlk)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future inner;
	struct tk_blocker_future task_f;
	struct ak_task *t = NULL;

	tk_ready_init(&inner, 0);
	tk_blocker_init(&task_f, &inner.future, ex, NULL);
	ck_assert_int_eq(ak_executor_spawn(ex, &task_f.future, &t), 0);
	task_f.self = t;
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(task_f.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(task_f.rc_run, AK_EDEADLK);
	ck_assert_int_eq(task_f.rc_run_until, AK_EDEADLK);
	ck_assert_int_eq(atomic_load(&inner.polls), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* The run loops keep one context and the thread's poll depth across
 * their polls: whatever the polls did (parked, woke themselves, finished),
 * the thread is out of every poll when a run returns, and a task polled
 * after them is inside one. */
START_TEST(poll_depth_is_restored_between_polls_and_after_a_run)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future again, parked, done, ready;
	struct tk_blocker_future late;
	struct ak_task *parked_t = NULL;

	tk_after_init(&again, 3);
	tk_count_init(&parked, 1, 0, 0);
	tk_ready_init(&done, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &again.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &parked.future, &parked_t), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &done.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 6);
	tk_ready_init(&ready, 7);
	ck_assert_int_eq(ak_block_on(&ready.future, AK_DEADLINE_NEVER), 7);

	tk_ready_init(&ready, 0);
	tk_blocker_init(&late, &ready.future, NULL, NULL);
	ck_assert_int_eq(ak_executor_spawn(ex, &late.future, NULL), 0);
	ck_assert_int_eq(ak_task_schedule(parked_t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 2);
	ck_assert_int_eq(late.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(ak_task_result(parked_t), 0);
	tk_ready_init(&ready, 8);
	ck_assert_int_eq(ak_block_on(&ready.future, AK_DEADLINE_NEVER), 8);
	ak_task_release(parked_t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(executor_free_from_inside_a_task_returns_ebusy)
{
	struct ak_executor *ex = new_executor();
	struct tk_blocker_future task_f;

	tk_blocker_init(&task_f, NULL, ex, NULL);
	ck_assert_int_eq(ak_executor_spawn(ex, &task_f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(task_f.rc_free, AK_EBUSY);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_cancelling_itself_returns_ebusy)
{
	struct ak_executor *ex = new_executor();
	struct tk_blocker_future task_f;
	struct ak_task *t = NULL;

	tk_blocker_init(&task_f, NULL, NULL, NULL);
	ck_assert_int_eq(ak_executor_spawn(ex, &task_f.future, &t), 0);
	task_f.self = t;
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(task_f.rc_cancel_self, AK_EBUSY);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- misuse ------------------------------------------------------------ */

START_TEST(spawn_of_the_same_future_twice_returns_einval)
{
	struct ak_executor *ex = new_executor();
	struct ak_executor *other = new_executor();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_spawn(other, &f.future, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	ck_assert_uint_eq(ak_executor_task_count(other), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_executor_free(other), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(spawn_of_zeroed_or_done_future_returns_einval)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future zeroed, done;
	struct tk_task *t = tk_task_new();
	struct ak_task *h = (struct ak_task *)0x1;

	memset(&zeroed, 0, sizeof zeroed);
	zeroed.future.vtable = &tk_count_vtable;
	tk_ready_init(&done, 0);
	ck_assert_int_eq(tk_poll(t, &done.future), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &zeroed.future, &h), AK_EINVAL);
	ck_assert_int_eq(ak_executor_spawn(ex, &done.future, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_run(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(null_inputs_return_einval)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_new(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_spawn(NULL, &f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_spawn(ex, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_run(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_run_until(NULL, &f.future,
	                                       AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_uint_eq(ak_executor_task_count(NULL), 0);
	ck_assert_int_eq(ak_task_cancel(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_task_result(NULL), AK_EINVAL);
	ak_task_release(NULL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_count_counts_unfinished_tasks)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future ready;
	struct tk_flag_future p1, p2;
	struct ak_task *t1 = NULL;

	tk_ready_init(&ready, 0);
	tk_flag_init(&p1, 0);
	tk_flag_init(&p2, 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &ready.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &p1.future, &t1), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &p2.future, NULL), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 3);
	ck_assert_int_eq(ak_executor_run(ex), 3);
	ck_assert_uint_eq(ak_executor_task_count(ex), 2);
	ck_assert_int_eq(ak_task_cancel(t1), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	tk_flag_set(&p2);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ak_task_release(t1);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- run_all, run_until on a task, errors the caller sees ---------------- */

START_TEST(run_all_parks_until_every_task_finished)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future a, b;
	struct tk_count_future c;
	struct tk_setter sa, sb;

	tk_flag_init(&a, 0);
	tk_flag_init(&b, AK_EPIPE);
	tk_count_init(&c, 3, 1, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &a.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &b.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &c.future, NULL), 0);
	tk_setter_start_when_parked(&sa, &a);
	tk_setter_start(&sb, &b, 2 * MS);
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), 0);
	tk_setter_join(&sa);
	tk_setter_join(&sb);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	/* Woken once each: it parked instead of polling them again. */
	ck_assert_int_eq(atomic_load(&a.polls), 2);
	ck_assert_int_le(atomic_load(&b.polls), 2);
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_all_at_its_deadline_returns_etimedout_and_keeps_the_tasks)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future a;
	struct ak_task *t = NULL;

	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &a.future, &t), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, ak_deadline_in(MS)), AK_ETIMEDOUT);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	tk_flag_set(&a);
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_run_all(NULL, 0), AK_EINVAL);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_of_a_spawned_future_drives_that_task)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct tk_setter s;
	struct ak_task *t = NULL;

	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, AK_DEADLINE_NEVER),
	                 AK_EPIPE);
	tk_setter_join(&s);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_of_a_spawned_future_at_its_deadline_cancels_it)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, ak_deadline_in(MS)),
	                 AK_ETIMEDOUT);
	/* The task cannot outlive the caller's frame unnoticed. */
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_ne(ak_task_result(t), AK_PENDING);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(run_until_of_a_future_another_executor_runs_returns_ebusy)
{
	struct ak_executor *ex = new_executor(), *other = new_executor();
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(other, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, AK_DEADLINE_NEVER),
	                 AK_EBUSY);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_executor_free(other), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- embedding: the eventfd and the budgeted run -------------------------- */

static int fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

START_TEST(run_budget_polls_at_most_max_polls_and_says_more_are_ready)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f[5];

	for (int i = 0; i < 5; i++) {
		tk_ready_init(&f[i], 0);
		ck_assert_int_eq(ak_executor_spawn(ex, &f[i].future, NULL), 0);
	}
	ck_assert_int_eq(ak_executor_run_budget(ex, 2), 1);
	ck_assert_uint_eq(ak_executor_task_count(ex), 3);
	ck_assert_int_eq(ak_executor_run_budget(ex, 3), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_run_budget(ex, 1), 0);
	ck_assert_int_eq(ak_executor_run_budget(ex, 0), AK_EINVAL);
	ck_assert_int_eq(ak_executor_run_budget(NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(executor_fd_is_readable_exactly_while_a_task_is_ready)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct tk_count_future r1, r2;
	struct tk_setter s;

	int fd = ak_executor_fd(ex);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ak_executor_fd(ex), fd);
	ck_assert(!fd_readable(fd, 0));
	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert(fd_readable(fd, 0));
	ck_assert_int_eq(ak_executor_run_budget(ex, 8), 0);
	ck_assert(!fd_readable(fd, 0));
	/* More ready than the budget: it stays readable. */
	tk_ready_init(&r1, 0);
	tk_ready_init(&r2, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &r1.future, NULL), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &r2.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run_budget(ex, 1), 1);
	ck_assert(fd_readable(fd, 0));
	ck_assert_int_eq(ak_executor_run_budget(ex, 1), 0);
	ck_assert(!fd_readable(fd, 0));
	/* A wake from another thread makes it readable. */
	tk_setter_start(&s, &f, 0);
	ck_assert(fd_readable(fd, 10000));
	tk_setter_join(&s);
	ck_assert_int_eq(ak_executor_run_budget(ex, 8), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert(!fd_readable(fd, 0));
	ck_assert_int_eq(ak_executor_fd(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* Between runs no thread acts as the executor's tasks' owner, not even
 * the one that ran it: a wake made there goes the way of another thread's
 * (the fd becomes readable), and the next run polls the task. */
START_TEST(wake_on_the_executors_thread_between_runs_makes_its_fd_readable)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;

	int fd = ak_executor_fd(ex);
	tk_flag_init(&f, 5);
	struct ak_task *t = NULL;
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run_budget(ex, 8), 0);
	ck_assert(!fd_readable(fd, 0));
	tk_flag_set(&f);
	ck_assert(fd_readable(fd, 0));
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_task_result(t), 5);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

struct waker_hammer {
	struct tk_flag_future *f;
	atomic_int done;
};

static void *hammer_flag(void *arg)
{
	struct waker_hammer *h = arg;

	for (int i = 0; i < 20000; i++) {
		tk_flag_wake_by_ref(h->f);
		if (i % 8 == 0)
			sched_yield();
	}
	atomic_store(&h->done, 1);
	return NULL;
}

START_TEST(executor_fd_is_not_left_readable_by_wakes_racing_the_drain)
{
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f;
	struct waker_hammer h = { .f = &f };
	pthread_t th;

	int fd = ak_executor_fd(ex);
	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run_budget(ex, 1), 0);
	pthread_create(&th, NULL, hammer_flag, &h);
	while (!atomic_load(&h.done))
		if (ak_executor_run_budget(ex, 1) == 0)
			sched_yield();
	pthread_join(th, NULL);
	while (ak_executor_run_budget(ex, 8) != 0)
		;
	/* Nothing ready: a readable fd would make a level-triggered loop
	 * spin on an executor with nothing to do. */
	ck_assert(!fd_readable(fd, 0));
	tk_flag_set(&f);
	ck_assert_int_eq(ak_executor_run_budget(ex, 8), 0);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(epoll_host_loop_runs_tasks_woken_from_other_threads)
{
	enum { N = 4 };
	struct ak_executor *ex = new_executor();
	struct tk_flag_future f[N];
	struct tk_setter s[N];
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ck_assert_int_ge(ep, 0);
	int fd = ak_executor_fd(ex);
	ck_assert_int_ge(fd, 0);
	ev.data.fd = fd;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	for (int i = 0; i < N; i++) {
		tk_flag_init(&f[i], 0);
		ck_assert_int_eq(ak_executor_spawn(ex, &f[i].future, NULL), 0);
		tk_setter_start_when_parked(&s[i], &f[i]);
	}
	ck_assert_int_eq(ak_loop_enter(), 0);
	int loops = 0;
	while (ak_executor_task_count(ex) > 0 && loops < 1000) {
		struct epoll_event got;
		int n = epoll_wait(ep, &got, 1, 10000);
		ck_assert_int_eq(n, 1);
		ck_assert_int_ge(ak_executor_run_budget(ex, 2), 0);
		loops++;
	}
	ck_assert_int_eq(ak_loop_leave(), 0);
	for (int i = 0; i < N; i++)
		tk_setter_join(&s[i]);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	close(ep);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(parking_runs_inside_a_host_loop_return_edeadlk)
{
	struct ak_executor *ex = new_executor();
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_loop_enter(), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), AK_EDEADLK);
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, AK_DEADLINE_NEVER),
	                 AK_EDEADLK);
	ck_assert_int_eq(ak_loop_leave(), 0);
	ck_assert_int_eq(ak_executor_run_until(ex, &f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

Suite *executor_suite(void)
{
	Suite *s = suite_create("executor");
	TCase *tc;

	tc = tk_tcase("run");
	tcase_add_test(tc, spawned_task_is_not_polled_before_run);
	tcase_add_test(tc, spawn_then_run_polls_task_once);
	tcase_add_test(tc, run_of_empty_executor_returns_zero);
	tcase_add_test(tc, run_polls_tasks_in_spawn_order);
	tcase_add_test(tc, run_does_not_poll_a_parked_task);
	tcase_add_test(tc, spawn_marks_the_future_owned);
	tcase_add_test(tc, task_spawned_from_a_task_is_run);
	tcase_add_test(tc, task_release_lets_the_task_go_on);
	tcase_add_test(tc, a_body_polled_again_is_done_when_its_poll_ends);
	tcase_add_test(tc, ten_thousand_tasks_all_complete);
	suite_add_tcase(s, tc);

	tc = tk_tcase("wake");
	tcase_add_test(tc, task_woken_twice_before_run_is_polled_once);
	tcase_add_test(tc, wake_during_poll_requeues_at_the_tail);
	tcase_add_test(tc, wake_after_completion_is_ignored);
	tcase_add_test(tc, waker_kept_past_executor_free_can_be_woken_and_dropped);
	tcase_add_test(tc, wake_from_another_thread_makes_the_task_ready);
	suite_add_tcase(s, tc);

	tc = tk_tcase("run_until");
	tcase_add_test(tc, run_until_resumes_on_wake_from_another_thread);
	tcase_add_test(tc, run_until_returns_the_main_futures_result);
	tcase_add_test(tc, run_until_drives_spawned_tasks);
	tcase_add_test(tc,
	               run_until_parks_until_a_task_is_woken_from_another_thread);
	tcase_add_test(tc, run_until_of_expired_deadline_cancels_main_future);
	tcase_add_test(tc, run_until_of_invalid_future_returns_einval);
	tcase_add_test(tc, run_until_of_a_spawned_future_drives_that_task);
	tcase_add_test(tc, run_until_of_a_spawned_future_at_its_deadline_cancels_it);
	tcase_add_test(tc, run_until_of_a_future_another_executor_runs_returns_ebusy);
	suite_add_tcase(s, tc);

	tc = tk_tcase("run_all");
	tcase_add_test(tc, run_all_parks_until_every_task_finished);
	tcase_add_test(tc, run_all_at_its_deadline_returns_etimedout_and_keeps_the_tasks);
	tcase_add_test(tc, parking_runs_inside_a_host_loop_return_edeadlk);
	suite_add_tcase(s, tc);

	tc = tk_tcase("embed");
	tcase_add_test(tc, run_budget_polls_at_most_max_polls_and_says_more_are_ready);
	tcase_add_test(tc, executor_fd_is_readable_exactly_while_a_task_is_ready);
	tcase_add_test(tc, wake_on_the_executors_thread_between_runs_makes_its_fd_readable);
	tcase_add_test(tc, epoll_host_loop_runs_tasks_woken_from_other_threads);
	tcase_add_test(tc, executor_fd_is_not_left_readable_by_wakes_racing_the_drain);
	suite_add_tcase(s, tc);

	tc = tk_tcase("budget");
	tcase_add_test(tc,
	        busy_task_yields_so_another_task_is_polled_between_its_polls);
	tcase_add_test(tc, each_task_poll_gets_a_fresh_default_budget);
	tcase_add_test(tc, context_done_counts_pending_polls_in_task_slot);
	tcase_add_test(tc, each_task_has_its_own_slot);
	suite_add_tcase(s, tc);

	tc = tk_tcase("tasks");
	tcase_add_test(tc, task_result_is_pending_until_the_task_finishes);
	tcase_add_test(tc, task_cancel_cancels_the_future_and_sets_ecanceled);
	tcase_add_test(tc, cancelled_task_is_not_polled);
	tcase_add_test(tc, task_cancel_of_finished_task_is_a_noop);
	tcase_add_test(tc, executor_free_cancels_unfinished_tasks);
	tcase_add_test(tc, blocking_calls_inside_a_task_return_edeadlk);
	tcase_add_test(tc, poll_depth_is_restored_between_polls_and_after_a_run);
	tcase_add_test(tc, executor_free_from_inside_a_task_returns_ebusy);
	tcase_add_test(tc, task_cancelling_itself_returns_ebusy);
	suite_add_tcase(s, tc);

	tc = tk_tcase("misuse");
	tcase_add_test(tc, spawn_of_the_same_future_twice_returns_einval);
	tcase_add_test(tc, spawn_of_zeroed_or_done_future_returns_einval);
	tcase_add_test(tc, null_inputs_return_einval);
	tcase_add_test(tc, task_count_counts_unfinished_tasks);
	suite_add_tcase(s, tc);

	return s;
}
