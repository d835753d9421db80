/*
 * The sleep operation and the timer thread: deadline order on every way of
 * driving a future, cancel, waker swaps, a thousand pending sleeps, the
 * budget, and the fork hooks.
 *
 * Timing: a test never asserts that something happened *before* a time
 * closer than seconds.  The order of firing is observed through the wakers
 * the timer thread calls (it calls them one after the other), so thread
 * scheduling cannot reorder it.  A test that needs its polls to run before
 * a deadline runs as an attempt with a margin (with_margin): on a machine
 * too loaded to poll in time the attempt cleans up, reports that it was
 * late, and runs again with twice the margin.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <awaitkit/fork.h>
#include <awaitkit/pool.h>
#include <awaitkit/timer.h>

#include "testkit.h"

Suite *timer_suite(void);

#define MS 1000000LL
#define SEC 1000000000LL
/* The first margin an attempt gets to make its polls before a deadline. */
#define PENDING_FOR (50 * MS)
#define PENDING_MAX (16 * PENDING_FOR)

/* Polls until fn(arg) is true or `limit` ns pass; returns the last value. */
static int wait_for(int (*fn)(void *), void *arg, int64_t limit)
{
	int64_t end = ak_now() + limit;

	while (!fn(arg) && ak_now() < end)
		tk_sleep_ns(200 * 1000);
	return fn(arg);
}

static int cw_was_woken(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->wakes) + atomic_load(&cw->wakes_by_ref) > 0;
}

/*
 * A waker the timer thread consumes is dropped by that thread after it
 * scheduled the task (unparked the thread): the blocked thread may return
 * and the test end before that last drop frees a parker or a task record.
 * Tests whose last wake comes from the timer wait for it here.
 */
static int quiet_since(void *arg)
{
	const struct ak_debug_counts *before = arg;
	struct ak_debug_counts now = tk_counters();

	return now.live_objects <= before->live_objects &&
	       now.waker_clones <= before->waker_clones;
}

static void wait_quiet(const struct ak_debug_counts *before)
{
	ck_assert(wait_for(quiet_since, (void *)before, 5 * SEC));
}

/* Runs attempt(margin) until it was in time (returned 1). */
static void with_margin(int (*attempt)(int64_t margin))
{
	for (int64_t m = PENDING_FOR; m <= PENDING_MAX; m *= 2)
		if (attempt(m))
			return;
	ck_abort_msg("no attempt in time (polls before the deadline, cancels "
	             "before the timer fired) with margins up to %lld ms",
	             (long long)(PENDING_MAX / MS));
}

static int cw_balanced(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->live) == 0;
}

/* After a late attempt: every clone of cw dropped or consumed. */
static void wait_balanced(struct tk_counting_waker *cw)
{
	ck_assert(wait_for(cw_balanced, cw, 5 * SEC));
}

/* The task's woken flag, left set (tk_task_take_woken clears it). */
static int woken_flag(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->woken) != 0;
}

/* ---- logging the timer's wake order through counting wakers ------------ */

/*
 * Written only by the timer thread (the only caller of these wakers), one
 * entry after the other; read once `n` says the entries are there.
 */
struct order_log {
	int ids[TK_LOG_MAX];
	atomic_int n;
};

struct wake_tag {
	struct order_log *log;
	int id;
};

static void log_wake_hook(struct tk_counting_waker *cw)
{
	struct wake_tag *tag = cw->hook_arg;
	int i = atomic_load_explicit(&tag->log->n, memory_order_relaxed);

	if (i < TK_LOG_MAX)
		tag->log->ids[i] = tag->id;
	/* release: pairs with the acquire load in log_reached(). */
	atomic_store_explicit(&tag->log->n, i + 1, memory_order_release);
}

struct log_goal {
	struct order_log *log;
	int n;
};

static int log_reached(void *arg)
{
	struct log_goal *g = arg;

	/* acquire: pairs with the release store in log_wake_hook(). */
	return atomic_load_explicit(&g->log->n, memory_order_acquire) >= g->n;
}

/* ---- basics ------------------------------------------------------------ */

START_TEST(sleep_until_of_null_returns_einval)
{
	ck_assert_int_eq(ak_sleep_until(NULL, ak_now()), AK_EINVAL);
}
END_TEST

START_TEST(op_size_reports_the_sleep_op)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_SLEEP), sizeof(struct ak_sleep_op));
}
END_TEST

START_TEST(past_deadline_completes_at_first_poll_without_clone)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_sleep_until(&op, ak_now() - 1), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(tk_counters().allocations, before.allocations);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
}
END_TEST

static int registers_one_clone_and_fires(int64_t margin)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;
	int64_t deadline = ak_deadline_in(margin);

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, deadline);
	if (tk_poll(t, &op.future) == 0)
		return 0;
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(tk_counters().parked_ops, 1);
	ck_assert(wait_for(cw_was_woken, t->cw, 5 * SEC));
	ck_assert_int_ge(ak_now(), deadline);
	ck_assert_int_eq(atomic_load(&t->cw->wakes), 1);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(tk_counters().parked_ops, 0);
	/* The timer thread drops the clone it consumed after counting the
	 * wake: wait for that before the teardown counts (TSan saw it late). */
	wait_balanced(t->cw);
	return 1;
}

START_TEST(future_deadline_registers_one_clone_and_fires)
{
	with_margin(registers_one_clone_and_fires);
}
END_TEST

START_TEST(repoll_with_the_same_waker_does_not_clone_again)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_deadline_in(10 * SEC));
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&t->cw->drops), 1);
}
END_TEST

static int swaps_the_clone(int64_t margin)
{
	struct tk_task *a = tk_task_new();
	struct tk_task *b = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_deadline_in(margin));
	if (tk_poll(a, &op.future) == 0)
		return 0;
	if (tk_poll(b, &op.future) == 0) {
		wait_balanced(a->cw);
		return 0;
	}
	/* a's clone was dropped at the swap; b holds the only one. */
	ck_assert_int_eq(atomic_load(&a->cw->clones), 1);
	ck_assert_int_eq(atomic_load(&a->cw->drops), 1);
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);
	ck_assert_int_eq(atomic_load(&b->cw->live), 1);
	ck_assert(wait_for(cw_was_woken, b->cw, 5 * SEC));
	ck_assert_int_eq(atomic_load(&b->cw->wakes), 1);
	ck_assert_int_eq(atomic_load(&a->cw->wakes), 0);
	ck_assert_int_eq(tk_poll(b, &op.future), 0);
	wait_balanced(b->cw);           /* the timer's last drop, as above */
	return 1;
}

START_TEST(repoll_with_another_waker_swaps_the_clone)
{
	with_margin(swaps_the_clone);
}
END_TEST

static int never_wakes_once_cancelled(int64_t margin)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;
	int64_t deadline = ak_deadline_in(margin);

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, deadline);
	if (tk_poll(t, &op.future) == 0)
		return 0;
	ak_future_cancel(&op.future);
	if (atomic_load(&t->cw->drops) == 0) {
		/* The timer took the clone before the cancel: late. */
		wait_balanced(t->cw);
		return 0;
	}
	ck_assert_int_eq(atomic_load(&t->cw->drops), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	ck_assert_int_eq(tk_counters().parked_ops, 0);
	/* Well past the deadline, with the timer thread running. */
	tk_sleep_ns(margin + 20 * MS);
	ck_assert_int_ge(ak_now(), deadline);
	ck_assert_int_eq(atomic_load(&t->cw->wakes), 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 0);
	ck_assert(!tk_task_take_woken(t));
	/* Cancel again is a no-op. */
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&t->cw->drops), 1);
	return 1;
}

START_TEST(cancelled_sleep_never_wakes)
{
	with_margin(never_wakes_once_cancelled);
}
END_TEST

START_TEST(cancel_of_an_unpolled_sleep_is_a_noop)
{
	struct ak_sleep_op op;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	ak_future_cancel(&op.future);           /* zeroed */
	ak_sleep_until(&op, ak_deadline_in(1 * SEC));
	ak_future_cancel(&op.future);           /* never polled */
	ck_assert_int_eq(tk_counters().waker_clones, before.waker_clones);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(sleep_until_of_a_pending_op_returns_ebusy)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_deadline_in(10 * SEC));
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_sleep_until(&op, ak_now()), AK_EBUSY);
	/* Still registered with its first deadline. */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
}
END_TEST

START_TEST(a_completed_sleep_can_be_bound_again)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	int pending = 0;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ak_sleep_until(&op, ak_deadline_in(1 * MS)), 0);
		while (tk_poll(t, &op.future) == AK_PENDING) {
			pending++;
			ck_assert(wait_for(woken_flag, t->cw, 5 * SEC) &&
			          tk_task_take_woken(t));
		}
	}
	/* One wake per time it had to wait (none if this machine was slow
	 * enough to find each deadline past at the first poll). */
	ck_assert_int_eq(atomic_load(&t->cw->wakes), pending);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
	wait_balanced(t->cw);           /* the timer's last drop */
}
END_TEST

START_TEST(never_deadline_stays_pending_without_a_clone_until_cancelled)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, AK_DEADLINE_NEVER);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert_int_eq(tk_counters().waker_clones, before.waker_clones);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
	/* And under block_on it simply times out. */
	ak_sleep_until(&op, AK_DEADLINE_NEVER);
	ck_assert_int_eq(ak_block_on(&op.future, ak_deadline_in(5 * MS)),
	                 AK_ETIMEDOUT);
}
END_TEST

/* ---- ak_sleep_for ------------------------------------------------------------ */

START_TEST(sleep_for_of_null_returns_einval)
{
	ck_assert_int_eq(ak_sleep_for(NULL, 1 * MS), AK_EINVAL);
}
END_TEST

START_TEST(sleep_for_computes_its_deadline_at_binding)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_sleep_for(&op, 5 * MS), 0);
	int64_t bound = ak_now();       /* no earlier than its clock read */
	while (ak_now() <= bound + 5 * MS)
		tk_sleep_ns(1 * MS);
	/* Not duration_ns from the first poll: it is already over. */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
}
END_TEST

START_TEST(sleep_for_of_zero_or_less_completes_at_first_poll)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_sleep_for(&op, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_sleep_for(&op, -5 * SEC), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
}
END_TEST

START_TEST(sleep_for_a_huge_duration_never_ends)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_sleep_for(&op, INT64_MAX), 0);
	/* Saturated at AK_DEADLINE_NEVER: pending, nothing registered. */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ak_future_cancel(&op.future);
}
END_TEST

/* ---- the budget ----------------------------------------------------------- */

START_TEST(spent_budget_wakes_the_task_and_stays_pending)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_now() - 1);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
}
END_TEST

START_TEST(completion_spends_one_unit_of_budget)
{
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op op;
	struct ak_context cx;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_now() - 1);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.budget = 5;
	ck_assert_int_eq(ak_future_poll(&op.future, &cx), 0);
	ck_assert_int_eq(cx.budget, 4);
	ak_context_done(&cx, 0);
}
END_TEST

/* ---- order ----------------------------------------------------------------- */

enum { EQUAL_N = 6 };
static struct order_log equal_log;
static struct wake_tag equal_tags[EQUAL_N];

static int equal_deadlines_in_order(int64_t margin)
{
	struct tk_task *t[EQUAL_N];
	struct ak_sleep_op op[EQUAL_N];
	struct log_goal goal = { &equal_log, EQUAL_N };
	int64_t deadline = ak_deadline_in(margin);
	int late = 0;

	memset(&equal_log, 0, sizeof equal_log);
	memset(op, 0, sizeof op);
	for (int i = 0; i < EQUAL_N; i++) {
		t[i] = tk_task_new();
		equal_tags[i].log = &equal_log;
		equal_tags[i].id = i;
		t[i]->cw->hook = log_wake_hook;
		t[i]->cw->hook_arg = &equal_tags[i];
		ak_sleep_until(&op[i], deadline);
		if (tk_poll(t[i], &op[i].future) == 0)
			late = 1;
	}
	if (late) {
		for (int i = 0; i < EQUAL_N; i++) {
			ak_future_cancel(&op[i].future);
			wait_balanced(t[i]->cw);
		}
		return 0;
	}
	ck_assert(wait_for(log_reached, &goal, 5 * SEC));
	for (int i = 0; i < EQUAL_N; i++) {
		ck_assert_int_eq(equal_log.ids[i], i);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	return 1;
}

START_TEST(equal_deadlines_fire_in_registration_order)
{
	with_margin(equal_deadlines_in_order);
}
END_TEST

START_TEST(an_earlier_deadline_registered_later_fires_first)
{
	struct ak_debug_counts quiet = tk_counters();
	struct tk_task *late = tk_task_new();
	struct ak_sleep_op far, near;

	memset(&far, 0, sizeof far);
	memset(&near, 0, sizeof near);
	/* The timer thread runs and has gone back to sleep ... */
	ak_sleep_until(&near, ak_deadline_in(1 * MS));
	ck_assert_int_eq(ak_block_on(&near.future, AK_DEADLINE_NEVER), 0);
	tk_sleep_ns(10 * MS);
	/* ... until the far deadline ... */
	ak_sleep_until(&far, ak_deadline_in(30 * SEC));
	ck_assert_int_eq(tk_poll(late, &far.future), AK_PENDING);
	tk_sleep_ns(10 * MS);
	/* ... and must be kicked for the near one. */
	ak_sleep_until(&near, ak_deadline_in(3 * MS));
	ck_assert_int_eq(ak_block_on(&near.future, ak_deadline_in(3 * SEC)), 0);
	ck_assert(!tk_task_take_woken(late));
	ak_future_cancel(&far.future);
	wait_quiet(&quiet);
}
END_TEST

/*
 * A task that awaits one sleep and logs its id when it completes; `late`
 * says its first poll already found the deadline past.
 */
struct sleeper {
	struct ak_future future;
	struct ak_sleep_op sleep;
	struct tk_log *log;
	int id;
	int polls;
	int late;
};

static int sleeper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;
	int rc = ak_future_poll(&s->sleep.future, cx);

	if (rc == 0 && s->polls == 0)
		s->late = 1;
	s->polls++;
	if (rc == 0)
		tk_log_add(s->log, s->id);
	return rc;
}

static void sleeper_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct sleeper *)f)->sleep.future);
}

static const struct ak_future_vtable sleeper_vtable = { sleeper_poll, sleeper_cancel };

static void sleeper_init(struct sleeper *s, struct tk_log *log, int id, int64_t deadline)
{
	memset(s, 0, sizeof *s);
	s->log = log;
	s->id = id;
	ck_assert_int_eq(ak_future_init(&s->future, &sleeper_vtable), 0);
	ck_assert_int_eq(ak_sleep_until(&s->sleep, deadline), 0);
}

static int executor_order(int64_t margin)
{
	/* Spawned out of order; task k sleeps until base + k * 2 ms. */
	enum { N = 8 };
	static const int spawn_order[N - 1] = { 4, 1, 6, 0, 3, 5, 2 };
	struct sleeper s[N];
	struct tk_log log;
	struct ak_executor *ex;
	int64_t base = ak_deadline_in(margin);
	int late = 0;

	memset(&log, 0, sizeof log);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	for (int i = 0; i < N - 1; i++) {
		int k = spawn_order[i];
		sleeper_init(&s[k], &log, k, base + k * 2 * MS);
		ck_assert_int_eq(ak_executor_spawn(ex, &s[k].future, NULL), 0);
	}
	/* The last deadline is the future run_until waits for. */
	sleeper_init(&s[N - 1], &log, N - 1, base + (N - 1) * 2 * MS);
	ck_assert_int_eq(ak_executor_run_until(ex, &s[N - 1].future,
	                                       ak_deadline_in(5 * SEC)), 0);
	for (int i = 0; i < N; i++)
		late |= s[i].late;
	if (!late) {
		ck_assert_int_ge(ak_now(), base + (N - 1) * 2 * MS);
		ck_assert_int_eq(tk_log_len(&log), N);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(log.ids[i], i);
		ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	}
	ck_assert_int_eq(ak_executor_free(ex), 0);
	return !late;
}

START_TEST(sleeps_fire_in_deadline_order_on_the_executor)
{
	struct ak_debug_counts quiet = tk_counters();

	with_margin(executor_order);
	wait_quiet(&quiet);
}
END_TEST

/*
 * On the pool, tasks complete on whichever worker polls them, so the order
 * of completion says little; the order of the timer's wakes is what is
 * checked.  A relay task polls its sleep with a context whose waker is the
 * relay itself: the relay logs the wake, then wakes the pool's task.
 */
enum { RELAYS = 6 };

struct relay {
	struct ak_future future;
	struct ak_sleep_op sleep;
	pthread_mutex_t lock;
	struct ak_waker task;       /* lock: a clone of the pool's waker */
	struct order_log *log;
	int id;
	int polls;                  /* only its own (serial) polls touch it */
	int late;                   /* its first poll found the deadline past */
	int early;                  /* it completed before its deadline */
	int64_t deadline;
};

static struct relay relays[RELAYS];
static struct order_log relay_log;
static atomic_int relay_wakes_done;

static struct ak_waker relay_clone(const void *data);
static void relay_wake_by_ref(const void *data)
{
	struct relay *r = (struct relay *)(uintptr_t)data;
	struct order_log *log = r->log;
	int i = atomic_load_explicit(&log->n, memory_order_relaxed);

	/* Only the timer thread wakes relays: one writer. */
	if (i < TK_LOG_MAX)
		log->ids[i] = r->id;
	/* release: pairs with the acquire load in log_reached(). */
	atomic_store_explicit(&log->n, i + 1, memory_order_release);
	pthread_mutex_lock(&r->lock);
	ak_waker_wake_by_ref(&r->task);
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&relay_wakes_done, 1);
}

static int relay_wakes_reached(void *arg)
{
	return atomic_load(&relay_wakes_done) >= *(int *)arg;
}

static void relay_drop(const void *data)
{
	(void)data;     /* the relay outlives every clone: not counted */
}

static const struct ak_waker_vtable relay_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	relay_clone, relay_wake_by_ref, relay_wake_by_ref, relay_drop,
};

static struct ak_waker relay_clone(const void *data)
{
	struct ak_waker w = { data, &relay_vtable };

	return w;
}

static void relay_forget_task(struct relay *r)
{
	struct ak_waker old;

	pthread_mutex_lock(&r->lock);
	old = r->task;
	r->task.data = NULL;
	r->task.vtable = NULL;
	pthread_mutex_unlock(&r->lock);
	ak_waker_drop(&old);
}

static int relay_poll(struct ak_future *f, struct ak_context *cx)
{
	struct relay *r = (struct relay *)f;
	struct ak_waker fresh = { NULL, NULL };
	struct ak_waker old = { NULL, NULL };

	pthread_mutex_lock(&r->lock);
	if (!ak_waker_will_wake(&r->task, &cx->waker)) {
		if (ak_waker_clone(&cx->waker, &fresh) != 0) {
			pthread_mutex_unlock(&r->lock);
			return AK_ENOMEM;
		}
		old = r->task;
		r->task = fresh;
	}
	pthread_mutex_unlock(&r->lock);
	ak_waker_drop(&old);

	struct ak_context inner = *cx;
	inner.waker = relay_clone(r);
	int rc = ak_future_poll(&r->sleep.future, &inner);
	cx->budget = inner.budget;
	if (rc == 0) {
		r->late = r->polls == 0;
		r->early = ak_now() < r->deadline;
		relay_forget_task(r);
	}
	r->polls++;
	return rc;
}

static void relay_cancel(struct ak_future *f)
{
	struct relay *r = (struct relay *)f;

	ak_future_cancel(&r->sleep.future);
	relay_forget_task(r);
}

static const struct ak_future_vtable relay_future_vtable = { relay_poll, relay_cancel };

static int pool_order(int64_t margin)
{
	static const int spawn_order[RELAYS] = { 3, 0, 5, 1, 4, 2 };
	struct log_goal goal = { &relay_log, RELAYS };
	struct ak_pool *pool;
	int64_t base = ak_deadline_in(margin);
	int late = 0, woken = 0;

	memset(&relay_log, 0, sizeof relay_log);
	atomic_store(&relay_wakes_done, 0);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	for (int i = 0; i < RELAYS; i++) {
		int k = spawn_order[i];
		struct relay *r = &relays[k];

		memset(r, 0, sizeof *r);
		pthread_mutex_init(&r->lock, NULL);
		r->log = &relay_log;
		r->id = k;
		r->deadline = base + k * 2 * MS;
		ck_assert_int_eq(ak_future_init(&r->future, &relay_future_vtable), 0);
		ck_assert_int_eq(ak_sleep_until(&r->sleep, r->deadline), 0);
		ck_assert_int_eq(ak_pool_spawn(pool, &r->future, NULL), 0);
	}
	ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(5 * SEC)), 0);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	for (int k = 0; k < RELAYS; k++) {
		late |= relays[k].late;
		woken += !relays[k].late;
		ck_assert(!relays[k].early);
	}
	/* Each relay that waited got one wake; let the timer thread finish
	 * them before the relays are reused. */
	ck_assert(wait_for(relay_wakes_reached, &woken, 5 * SEC));
	if (late)
		return 0;
	ck_assert(log_reached(&goal));
	for (int k = 0; k < RELAYS; k++)
		ck_assert_int_eq(relay_log.ids[k], k);
	return 1;
}

START_TEST(sleeps_fire_in_deadline_order_on_the_pool)
{
	struct ak_debug_counts quiet = tk_counters();

	with_margin(pool_order);
	wait_quiet(&quiet);
}
END_TEST

START_TEST(executor_free_cancels_pending_sleeps)
{
	struct sleeper s;
	struct tk_log log;
	struct ak_executor *ex;

	memset(&log, 0, sizeof log);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	sleeper_init(&s, &log, 1, ak_deadline_in(30 * SEC));
	ck_assert_int_eq(ak_executor_spawn(ex, &s.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(tk_counters().parked_ops, 1);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(tk_counters().parked_ops, 0);
	ck_assert_int_eq(tk_log_len(&log), 0);
}
END_TEST

START_TEST(block_on_a_sleep_returns_after_its_deadline)
{
	struct ak_debug_counts quiet = tk_counters();
	struct ak_sleep_op op;
	int64_t deadline = ak_deadline_in(5 * MS);

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, deadline);
	ck_assert_int_eq(ak_block_on(&op.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_ge(ak_now(), deadline);
	wait_quiet(&quiet);
}
END_TEST

static int order_around_block_on(int64_t margin)
{
	/* early fires before the blocked thread's sleep; late (far away) not. */
	struct tk_task *early = tk_task_new();
	struct tk_task *late = tk_task_new();
	struct ak_sleep_op e, mid, l;
	int64_t d_early = ak_deadline_in(margin);
	int64_t d_mid = d_early + 10 * MS;

	memset(&e, 0, sizeof e);
	memset(&mid, 0, sizeof mid);
	memset(&l, 0, sizeof l);
	ak_sleep_until(&l, ak_deadline_in(30 * SEC));
	ck_assert_int_eq(tk_poll(late, &l.future), AK_PENDING);
	ak_sleep_until(&e, d_early);
	if (tk_poll(early, &e.future) == 0) {
		ak_future_cancel(&l.future);
		return 0;
	}
	ak_sleep_until(&mid, d_mid);
	ck_assert_int_eq(ak_block_on(&mid.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_ge(ak_now(), d_mid);
	ck_assert(tk_task_take_woken(early));
	ck_assert(!tk_task_take_woken(late));
	ck_assert_int_eq(tk_poll(early, &e.future), 0);
	ak_future_cancel(&l.future);
	return 1;
}

START_TEST(sleeps_fire_in_deadline_order_around_block_on)
{
	struct ak_debug_counts quiet = tk_counters();

	with_margin(order_around_block_on);
	wait_quiet(&quiet);
}
END_TEST

START_TEST(block_on_deadline_before_the_sleep_cancels_it)
{
	struct ak_sleep_op op;

	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_deadline_in(30 * SEC));
	ck_assert_int_eq(ak_block_on(&op.future, ak_deadline_in(3 * MS)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_DONE);
	ck_assert_int_eq(tk_counters().parked_ops, 0);
}
END_TEST

/* ---- many sleeps --------------------------------------------------------- */

/*
 * A waker for a thousand sleeps: data points at a record that knows its
 * index; wake logs the index.  The timer thread is the only waker.
 */
enum { MANY = 1000 };

struct many_rec {
	int idx;
	int64_t deadline;
};

static struct many_rec many_recs[MANY];
static int many_log[MANY];
static atomic_int many_n;
static atomic_int many_live;
static atomic_int many_bad;

static struct ak_waker many_clone(const void *data);
static void many_wake(const void *data)
{
	const struct many_rec *r = data;
	int i = atomic_load_explicit(&many_n, memory_order_relaxed);

	if (i < MANY)
		many_log[i] = r->idx;
	else
		atomic_fetch_add(&many_bad, 1);
	/* release: pairs with the acquire load in many_all_fired(). */
	atomic_store_explicit(&many_n, i + 1, memory_order_release);
	atomic_fetch_sub(&many_live, 1);
}

static void many_wake_by_ref(const void *data)
{
	(void)data;
	atomic_fetch_add(&many_bad, 1);
}

static void many_drop(const void *data)
{
	(void)data;
	atomic_fetch_sub(&many_live, 1);
}

static const struct ak_waker_vtable many_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	many_clone, many_wake, many_wake_by_ref, many_drop,
};

static struct ak_waker many_clone(const void *data)
{
	struct ak_waker w = { data, &many_vtable };

	atomic_fetch_add(&many_live, 1);
	return w;
}

static int many_balanced(void *arg)
{
	(void)arg;
	return atomic_load(&many_live) == 0;
}

static int many_all_fired(void *arg)
{
	(void)arg;
	/* acquire: pairs with the release store in many_wake(). */
	return atomic_load_explicit(&many_n, memory_order_acquire) >= MANY;
}

static int many_in_order(int64_t margin)
{
	static struct ak_sleep_op ops[MANY];
	int64_t base = ak_deadline_in(margin);
	unsigned seed = 12345;
	int late = 0;

	memset(ops, 0, sizeof ops);
	atomic_store(&many_n, 0);
	for (int i = 0; i < MANY; i++) {
		struct ak_context cx;
		struct ak_waker w = { &many_recs[i], &many_vtable };

		many_recs[i].idx = i;
		/* 0..19.9 ms after base in 0.1 ms steps: ties happen. */
		many_recs[i].deadline = base + (int64_t)(rand_r(&seed) % 200) * (MS / 10);
		ak_sleep_until(&ops[i], many_recs[i].deadline);
		ck_assert_int_eq(ak_context_init(&cx, w, NULL), 0);
		if (ak_context_done(&cx, ak_future_poll(&ops[i].future, &cx)) == 0)
			late = 1;
	}
	if (late) {
		for (int i = 0; i < MANY; i++)
			ak_future_cancel(&ops[i].future);
		ck_assert(wait_for(many_balanced, NULL, 5 * SEC));
		return 0;
	}
	ck_assert_int_eq(tk_counters().parked_ops, MANY);
	ck_assert(wait_for(many_all_fired, NULL, 5 * SEC));
	ck_assert_int_eq(atomic_load(&many_bad), 0);
	ck_assert_int_eq(atomic_load(&many_live), 0);
	for (int k = 1; k < MANY; k++) {
		const struct many_rec *a = &many_recs[many_log[k - 1]];
		const struct many_rec *b = &many_recs[many_log[k]];

		/* By deadline, ties in registration order. */
		ck_assert(a->deadline < b->deadline ||
		          (a->deadline == b->deadline && a->idx < b->idx));
	}
	for (int i = 0; i < MANY; i++) {
		struct ak_context cx;
		struct ak_waker w = { &many_recs[i], &many_vtable };

		ak_context_init(&cx, w, NULL);
		ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&ops[i].future, &cx)), 0);
	}
	/* The grown heap went back to its static slots (the fixture checks
	 * live allocations too). */
	ck_assert_int_eq(tk_counters().parked_ops, 0);
	return 1;
}

START_TEST(a_thousand_pending_sleeps_fire_in_deadline_order)
{
	with_margin(many_in_order);
}
END_TEST

enum { HALF_N = 200 };

static int half_fired(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->wakes) >= HALF_N / 2;
}

static int cancel_half(int64_t margin)
{
	enum { N = HALF_N };
	static struct ak_sleep_op ops[N];
	struct tk_task *odd = tk_task_new();
	struct tk_task *even = tk_task_new();
	int late = 0;

	memset(ops, 0, sizeof ops);
	for (int i = 0; i < N; i++) {
		ak_sleep_until(&ops[i], ak_deadline_in(margin + (i % 7) * MS));
		if (tk_poll(i % 2 ? odd : even, &ops[i].future) == 0)
			late = 1;
	}
	for (int i = 1; i < N; i += 2)
		ak_future_cancel(&ops[i].future);
	/* Each cancel that found its sleep still queued dropped its clone. */
	if (late || atomic_load(&odd->cw->drops) != N / 2) {
		for (int i = 0; i < N; i += 2)
			ak_future_cancel(&ops[i].future);
		wait_balanced(odd->cw);
		wait_balanced(even->cw);
		return 0;
	}
	ck_assert(wait_for(half_fired, even->cw, 5 * SEC));
	tk_sleep_ns(10 * MS);
	ck_assert_int_eq(atomic_load(&odd->cw->wakes), 0);
	ck_assert_int_eq(atomic_load(&even->cw->wakes), N / 2);
	for (int i = 0; i < N; i += 2)
		ck_assert_int_eq(tk_poll(even, &ops[i].future), 0);
	return 1;
}

START_TEST(cancelling_half_of_many_sleeps_fires_only_the_rest)
{
	with_margin(cancel_half);
}
END_TEST

/* ---- threads --------------------------------------------------------------- */

enum { SLEEP_THREADS = 4, SLEEPS_PER_THREAD = 40 };

struct sleep_thread {
	pthread_t thread;
	int seed;
	int early;      /* block_on returned before its deadline */
	int errors;     /* block_on returned something else than 0 */
};

static void *sleep_thread_main(void *arg)
{
	struct sleep_thread *st = arg;
	unsigned seed = (unsigned)st->seed;

	for (int i = 0; i < SLEEPS_PER_THREAD; i++) {
		struct ak_sleep_op op;
		int64_t deadline = ak_deadline_in((int64_t)(rand_r(&seed) % 300) * 1000);

		memset(&op, 0, sizeof op);
		ak_sleep_until(&op, deadline);
		if (ak_block_on(&op.future, AK_DEADLINE_NEVER) != 0)
			st->errors++;
		if (ak_now() < deadline)
			st->early++;
	}
	return NULL;
}

START_TEST(threads_blocking_on_sleeps_all_return_after_their_deadlines)
{
	struct ak_debug_counts quiet = tk_counters();
	struct sleep_thread th[SLEEP_THREADS];

	memset(th, 0, sizeof th);
	for (int i = 0; i < SLEEP_THREADS; i++) {
		th[i].seed = i + 1;
		ck_assert_int_eq(pthread_create(&th[i].thread, NULL, sleep_thread_main, &th[i]), 0);
	}
	for (int i = 0; i < SLEEP_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i].thread, NULL), 0);
	for (int i = 0; i < SLEEP_THREADS; i++) {
		ck_assert_int_eq(th[i].errors, 0);
		ck_assert_int_eq(th[i].early, 0);
	}
	wait_quiet(&quiet);
}
END_TEST

START_TEST(cancel_racing_with_the_timer_leaves_no_clone)
{
	struct ak_debug_counts quiet = tk_counters();
	struct tk_task *t = tk_task_new();
	unsigned seed = 7;

	for (int i = 0; i < 300; i++) {
		struct ak_sleep_op op;

		memset(&op, 0, sizeof op);
		ak_sleep_until(&op, ak_deadline_in((int64_t)(rand_r(&seed) % 100) * 1000));
		if (tk_poll(t, &op.future) == AK_PENDING) {
			int64_t spin = ak_deadline_in((int64_t)(rand_r(&seed) % 100) * 1000);
			while (ak_now() < spin)
				;
			ak_future_cancel(&op.future);
		}
	}
	/* A wake taken by the timer just before a cancel may still be on its
	 * way; give it time, then the fixture checks the balance. */
	tk_sleep_ns(20 * MS);
	ck_assert_int_eq(tk_counters().parked_ops, 0);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	wait_quiet(&quiet);
}
END_TEST

/* ---- fork ------------------------------------------------------------------ */

/* Waits for the child; its exit status says what failed (0: nothing). */
static int child_status(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

START_TEST(child_forked_with_the_hooks_can_sleep)
{
	struct ak_debug_counts quiet = tk_counters();
	struct tk_task *t = tk_task_new();
	struct ak_sleep_op warm, inherited;
	int64_t d_inherited;
	int pending;

	ck_assert_int_eq(pthread_atfork(ak_atfork_prepare, ak_atfork_parent,
	                                ak_atfork_child), 0);
	memset(&warm, 0, sizeof warm);
	memset(&inherited, 0, sizeof inherited);
	/* The timer thread runs ... */
	ak_sleep_until(&warm, ak_deadline_in(1 * MS));
	ck_assert_int_eq(ak_block_on(&warm.future, AK_DEADLINE_NEVER), 0);
	/* ... and one sleep is pending at the fork (unless this machine is
	 * too slow to poll it in time: then the rest still runs). */
	d_inherited = ak_deadline_in(4 * PENDING_FOR);
	ak_sleep_until(&inherited, d_inherited);
	pending = tk_poll(t, &inherited.future) == AK_PENDING;

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* No Check assertion here: exit codes only. */
		struct ak_sleep_op op;
		int64_t d;

		/* The inherited sleep is woken in the child by the child's new
		 * timer thread (no new sleep has started one yet); polled
		 * again it registers anew and completes at its deadline. */
		while (pending) {
			struct ak_context cx;
			int rc;

			if (!wait_for(woken_flag, t->cw, 5 * SEC))
				_exit(1);
			atomic_store(&t->cw->woken, 0);
			ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot);
			rc = ak_context_done(&cx, ak_future_poll(&inherited.future, &cx));
			if (rc == 0)
				break;
			if (rc != AK_PENDING)
				_exit(2);
		}
		if (pending && ak_now() < d_inherited)
			_exit(3);
		/* A new sleep in the child. */
		d = ak_deadline_in(2 * MS);
		memset(&op, 0, sizeof op);
		ak_sleep_until(&op, d);
		if (ak_block_on(&op.future, ak_deadline_in(5 * SEC)) != 0)
			_exit(4);
		if (ak_now() < d)
			_exit(5);
		_exit(0);
	}
	ck_assert_int_eq(child_status(pid), 0);
	/* The parent's timer still works, and its copy of the sleep fires. */
	if (pending) {
		ck_assert(wait_for(cw_was_woken, t->cw, 5 * SEC));
		ck_assert_int_eq(tk_poll(t, &inherited.future), 0);
	}
	ak_sleep_until(&warm, ak_deadline_in(1 * MS));
	ck_assert_int_eq(ak_block_on(&warm.future, ak_deadline_in(5 * SEC)), 0);
	wait_quiet(&quiet);
}
END_TEST

/* Threads that keep the timer busy while the main thread forks. */
struct busy_sleeper {
	pthread_t thread;
	atomic_int stop;
	int errors;
	atomic_int sleeps;
};

static void *busy_sleeper_main(void *arg)
{
	struct busy_sleeper *b = arg;
	unsigned seed = 99;

	while (!atomic_load(&b->stop)) {
		struct ak_sleep_op op;

		memset(&op, 0, sizeof op);
		ak_sleep_until(&op, ak_deadline_in((int64_t)(rand_r(&seed) % 200) * 1000));
		if (ak_block_on(&op.future, ak_deadline_in(5 * SEC)) != 0)
			b->errors++;
		atomic_fetch_add(&b->sleeps, 1);
	}
	return NULL;
}

START_TEST(fork_while_the_timer_fires_leaves_both_sides_working)
{
	enum { BUSY = 2, FORKS = 5 };
	struct ak_debug_counts quiet = tk_counters();
	struct busy_sleeper b[BUSY];

	ck_assert_int_eq(pthread_atfork(ak_atfork_prepare, ak_atfork_parent,
	                                ak_atfork_child), 0);
	memset(b, 0, sizeof b);
	for (int i = 0; i < BUSY; i++)
		ck_assert_int_eq(pthread_create(&b[i].thread, NULL, busy_sleeper_main, &b[i]), 0);
	/* The forks are meant to land among sleeps, not in these threads'
	 * own start: a thread being born may hold an allocator lock
	 * (AddressSanitizer's thread start allocates, and its allocator
	 * takes no locks around fork), which the child would inherit with
	 * no thread to release it.  That hazard is the program's, with its
	 * own threads; the library guards its timer thread's start
	 * (ak__timer_before_fork). */
	for (int i = 0; i < BUSY; i++)
		TK_WAIT_UNTIL(atomic_load(&b[i].sleeps) > 0);
	for (int i = 0; i < FORKS; i++) {
		tk_sleep_ns(2 * MS);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			/* The busy threads are gone; their pending sleeps fire
			 * here too, waking parkers nobody waits on. */
			struct ak_sleep_op op;

			memset(&op, 0, sizeof op);
			ak_sleep_until(&op, ak_deadline_in(1 * MS));
			_exit(ak_block_on(&op.future, ak_deadline_in(5 * SEC)) == 0 ? 0 : 1);
		}
		ck_assert_int_eq(child_status(pid), 0);
	}
	for (int i = 0; i < BUSY; i++)
		atomic_store(&b[i].stop, 1);
	for (int i = 0; i < BUSY; i++)
		ck_assert_int_eq(pthread_join(b[i].thread, NULL), 0);
	for (int i = 0; i < BUSY; i++) {
		ck_assert_int_eq(b[i].errors, 0);
		ck_assert_int_gt(atomic_load(&b[i].sleeps), 0);
	}
	wait_quiet(&quiet);
}
END_TEST

/*
 * One generation of a fork chain: registers a sleep (the first generation
 * starts its timer thread with it; in a child the fork hook has just
 * started one) and forks at once, so that every fork but the first lands
 * while a timer thread is being born.  Then its own 1 ms sleep must
 * complete.  Returns 0 if it did here and in every descendant.
 */
static int timer_fork_chain(struct tk_task *t, int gens)
{
	struct ak_sleep_op held, op;
	int rc = 0;

	if (gens > 0) {
		struct ak_context cx;

		memset(&held, 0, sizeof held);
		ak_sleep_until(&held, ak_deadline_in(1 * SEC));
		ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot);
		if (ak_context_done(&cx, ak_future_poll(&held.future, &cx)) != AK_PENDING)
			return 90;
		pid_t pid = fork();
		if (pid < 0)
			return 91;
		if (pid == 0)
			_exit(timer_fork_chain(t, gens - 1));
		rc = child_status(pid);
		ak_future_cancel(&held.future);
	}
	memset(&op, 0, sizeof op);
	ak_sleep_until(&op, ak_deadline_in(1 * MS));
	if (rc == 0 && ak_block_on(&op.future, ak_deadline_in(5 * SEC)) != 0)
		rc = 1;
	return rc;
}

START_TEST(fork_while_the_timer_thread_starts_leaves_the_child_a_working_timer)
{
	struct ak_debug_counts quiet = tk_counters();
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(pthread_atfork(ak_atfork_prepare, ak_atfork_parent,
	                                ak_atfork_child), 0);
	ck_assert_int_eq(timer_fork_chain(t, 12), 0);
	wait_quiet(&quiet);
}
END_TEST

Suite *timer_suite(void)
{
	Suite *s = suite_create("timer");
	TCase *tc = tk_tcase("timer");

	tcase_add_test(tc, sleep_until_of_null_returns_einval);
	tcase_add_test(tc, op_size_reports_the_sleep_op);
	tcase_add_test(tc, past_deadline_completes_at_first_poll_without_clone);
	tcase_add_test(tc, future_deadline_registers_one_clone_and_fires);
	tcase_add_test(tc, repoll_with_the_same_waker_does_not_clone_again);
	tcase_add_test(tc, repoll_with_another_waker_swaps_the_clone);
	tcase_add_test(tc, cancelled_sleep_never_wakes);
	tcase_add_test(tc, cancel_of_an_unpolled_sleep_is_a_noop);
	tcase_add_test(tc, sleep_until_of_a_pending_op_returns_ebusy);
	tcase_add_test(tc, a_completed_sleep_can_be_bound_again);
	tcase_add_test(tc, never_deadline_stays_pending_without_a_clone_until_cancelled);
	tcase_add_test(tc, sleep_for_of_null_returns_einval);
	tcase_add_test(tc, sleep_for_computes_its_deadline_at_binding);
	tcase_add_test(tc, sleep_for_of_zero_or_less_completes_at_first_poll);
	tcase_add_test(tc, sleep_for_a_huge_duration_never_ends);
	tcase_add_test(tc, spent_budget_wakes_the_task_and_stays_pending);
	tcase_add_test(tc, completion_spends_one_unit_of_budget);
	tcase_add_test(tc, equal_deadlines_fire_in_registration_order);
	tcase_add_test(tc, an_earlier_deadline_registered_later_fires_first);
	tcase_add_test(tc, sleeps_fire_in_deadline_order_on_the_executor);
	tcase_add_test(tc, sleeps_fire_in_deadline_order_on_the_pool);
	tcase_add_test(tc, executor_free_cancels_pending_sleeps);
	tcase_add_test(tc, block_on_a_sleep_returns_after_its_deadline);
	tcase_add_test(tc, sleeps_fire_in_deadline_order_around_block_on);
	tcase_add_test(tc, block_on_deadline_before_the_sleep_cancels_it);
	tcase_add_test(tc, a_thousand_pending_sleeps_fire_in_deadline_order);
	tcase_add_test(tc, cancelling_half_of_many_sleeps_fires_only_the_rest);
	tcase_add_test(tc, threads_blocking_on_sleeps_all_return_after_their_deadlines);
	tcase_add_test(tc, cancel_racing_with_the_timer_leaves_no_clone);
	tcase_add_test(tc, child_forked_with_the_hooks_can_sleep);
	tcase_add_test(tc, fork_while_the_timer_fires_leaves_both_sides_working);
	tcase_add_test(tc, fork_while_the_timer_thread_starts_leaves_the_child_a_working_timer);
	suite_add_tcase(s, tc);
	return s;
}
