/* The pool executor: workers, wakes from any thread, cancel, shutdown. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"
#include "shim.h"

#define MS 1000000LL

static struct ak_pool *new_pool(int nworkers)
{
	struct ak_pool *p = NULL;

	ck_assert_int_eq(ak_pool_new(&p, nworkers), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void wait_idle(struct ak_pool *p)
{
	ck_assert_int_eq(ak_pool_wait_idle(p, ak_deadline_in(5000 * MS)), 0);
}

/* Waits (up to 5 s) until *v >= n; 1 if it got there. */
static int await_count(atomic_int *v, int n)
{
	int64_t end = ak_deadline_in(5000 * MS);

	while (atomic_load(v) < n) {
		if (ak_now() > end)
			return 0;
		tk_sleep_ns(50000);
	}
	return 1;
}

static int await_parked(struct tk_flag_future *f)
{
	int64_t end = ak_deadline_in(5000 * MS);

	while (!tk_flag_holds_waker(f)) {
		if (ak_now() > end)
			return 0;
		tk_sleep_ns(50000);
	}
	return 1;
}

/*
 * On a pool of one worker: returns once every poll that worker began
 * before has ended (a marker task queued behind them has run).
 */
static void settle(struct ak_pool *p)
{
	struct tk_count_future marker;
	struct ak_task *t = NULL;
	int64_t end = ak_deadline_in(5000 * MS);

	size_t before = ak_pool_task_count(p);
	tk_ready_init(&marker, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &marker.future, &t), 0);
	while (ak_task_result(t) == AK_PENDING && ak_now() < end)
		tk_sleep_ns(50000);
	ck_assert_int_eq(ak_task_result(t), 0);
	/* The result is published before the worker retires the marker:
	 * wait for the count too, or the caller's next count sees it. */
	while (ak_pool_task_count(p) != before && ak_now() < end)
		tk_sleep_ns(50000);
	ck_assert_uint_eq(ak_pool_task_count(p), before);
	ak_task_release(t);
}

/*
 * A task that must never be polled by two threads at once.  Each poll
 * marks itself in_poll (an overlap is counted), wakes its own task, lingers
 * a little so that another worker would have time to poll it too, and
 * completes at its `target`-th poll.  At its first poll it publishes a
 * clone of its waker in `kept` for foreign threads.
 */
struct solo {
	struct ak_future future;
	atomic_int in_poll;
	atomic_int overlaps;
	atomic_int polls;
	atomic_int have_waker;
	atomic_int done;
	int target;
	struct ak_waker kept;
};

static int solo_poll(struct ak_future *base, struct ak_context *cx)
{
	struct solo *f = (struct solo *)base;
	int n;

	if (atomic_exchange(&f->in_poll, 1))
		atomic_fetch_add(&f->overlaps, 1);
	if (!atomic_load_explicit(&f->have_waker, memory_order_relaxed)) {
		ck_assert_int_eq(ak_waker_clone(&cx->waker, &f->kept), 0);
		atomic_store_explicit(&f->have_waker, 1, memory_order_release);
	}
	ak_waker_wake_by_ref(&cx->waker);
	for (volatile int i = 0; i < 200; i++)
		;
	n = atomic_fetch_add(&f->polls, 1) + 1;
	atomic_store(&f->in_poll, 0);
	if (n < f->target)
		return AK_PENDING;
	atomic_store(&f->done, 1);
	return 0;
}

static void solo_cancel(struct ak_future *base)
{
	(void)base;
}

static const struct ak_future_vtable solo_vtable = { solo_poll, solo_cancel };

static void solo_init(struct solo *f, int target)
{
	memset(f, 0, sizeof *f);
	f->target = target;
	ck_assert_int_eq(ak_future_init(&f->future, &solo_vtable), 0);
}

/* A foreign thread that wakes a solo task by reference until it is done. */
struct waker_thread {
	pthread_t thread;
	struct solo *f;
	long wakes;
};

static void *waker_main(void *arg)
{
	struct waker_thread *w = arg;

	/* Pairs with the release store in solo_poll(). */
	while (!atomic_load_explicit(&w->f->have_waker, memory_order_acquire))
		tk_sleep_ns(10000);
	while (!atomic_load(&w->f->done)) {
		ak_waker_wake_by_ref(&w->f->kept);
		/* Hammers, but lets the pool's workers have a core now and
		 * then: on a loaded machine they may have none to spare. */
		if ((++w->wakes & 15) == 0)
			sched_yield();
	}
	return NULL;
}

static void no_cancel(struct ak_future *base)
{
	(void)base;
}

/* Spawns its children (one to three) on `pool` from a single poll, so all
 * are queued before any of them runs on a one-worker pool. */
struct spawner {
	struct ak_future future;
	struct ak_pool *pool;
	struct ak_future *child[3];
	int rc[3];
};

static int spawner_poll(struct ak_future *base, struct ak_context *cx)
{
	struct spawner *f = (struct spawner *)base;

	(void)cx;
	for (int i = 0; i < 3 && f->child[i]; i++)
		f->rc[i] = ak_pool_spawn(f->pool, f->child[i], NULL);
	return 0;
}

static const struct ak_future_vtable spawner_vtable = { spawner_poll,
	                                                no_cancel };

static void spawner_init(struct spawner *f, struct ak_pool *pool,
                         struct ak_future *a, struct ak_future *b)
{
	memset(f, 0, sizeof *f);
	f->pool = pool;
	f->child[0] = a;
	f->child[1] = b;
	f->rc[0] = f->rc[1] = f->rc[2] = TK_NOT_CALLED;
	ck_assert_int_eq(ak_future_init(&f->future, &spawner_vtable), 0);
}

/*
 * Occupies its worker: spawns probes (ready futures) until a spawn fails
 * with AK_EPIPE, which means ak_pool_free has begun and its worker polls
 * nothing after this poll.  The probes it got in stay queued.
 */
#define HOG_PROBES 64
struct hog {
	struct ak_future future;
	struct ak_pool *pool;
	struct tk_flag_future *wake_first;      /* optional */
	atomic_int running;
	int accepted;
	int last_rc;
	struct tk_count_future probes[HOG_PROBES];
};

static int hog_poll(struct ak_future *base, struct ak_context *cx)
{
	struct hog *f = (struct hog *)base;
	int64_t end = ak_deadline_in(5000 * MS);

	(void)cx;
	if (f->wake_first)
		tk_flag_set(f->wake_first);
	while (f->accepted < HOG_PROBES && ak_now() < end) {
		f->last_rc = ak_pool_spawn(f->pool,
		                           &f->probes[f->accepted].future, NULL);
		if (f->last_rc != 0)
			break;
		f->accepted++;
		atomic_store(&f->running, 1);
		tk_sleep_ns(1 * MS);
	}
	return 0;
}

static const struct ak_future_vtable hog_vtable = { hog_poll, no_cancel };

/*
 * Records what blocking calls and a self-cancel return inside a pool task's
 * poll; waits for `go` first, so the test can hand it its own handle.
 */
struct blocker {
	struct ak_future future;
	struct ak_pool *pool;
	struct ak_task *self;
	atomic_int go;
	int rc_wait_idle;
	int rc_free;
	int rc_cancel_self;
};

static int blocker_poll(struct ak_future *base, struct ak_context *cx)
{
	struct blocker *f = (struct blocker *)base;
	int64_t end = ak_deadline_in(5000 * MS);

	(void)cx;
	/* Pairs with the release store in the test: self is set. */
	while (!atomic_load_explicit(&f->go, memory_order_acquire) &&
	       ak_now() < end)
		tk_sleep_ns(100000);
	f->rc_wait_idle = ak_pool_wait_idle(f->pool, AK_DEADLINE_NEVER);
	f->rc_free = ak_pool_free(f->pool);
	f->rc_cancel_self = ak_task_cancel(f->self);
	return 0;
}

static const struct ak_future_vtable blocker_vtable = { blocker_poll,
	                                                no_cancel };

/*
 * Parks keeping a clone of its waker, after lingering in its first poll
 * until `go` is set: a window in which another thread sees it running.
 */
struct lingerer {
	struct ak_future future;
	atomic_int in_poll;
	atomic_int go;
	atomic_int polls;
	atomic_int cancels;
	struct ak_waker kept;
};

static int lingerer_poll(struct ak_future *base, struct ak_context *cx)
{
	struct lingerer *f = (struct lingerer *)base;
	int64_t end = ak_deadline_in(5000 * MS);

	atomic_fetch_add(&f->polls, 1);
	if (!f->kept.vtable)
		ck_assert_int_eq(ak_waker_clone(&cx->waker, &f->kept), 0);
	atomic_store(&f->in_poll, 1);
	while (!atomic_load(&f->go) && ak_now() < end)
		tk_sleep_ns(100000);
	return AK_PENDING;
}

static void lingerer_cancel(struct ak_future *base)
{
	struct lingerer *f = (struct lingerer *)base;

	atomic_fetch_add(&f->cancels, 1);
	ak_waker_drop(&f->kept);
}

static const struct ak_future_vtable lingerer_vtable = { lingerer_poll,
	                                                 lingerer_cancel };

static void lingerer_init(struct lingerer *f, int go)
{
	memset(f, 0, sizeof *f);
	atomic_store(&f->go, go);
	ck_assert_int_eq(ak_future_init(&f->future, &lingerer_vtable), 0);
}

/* ---- spawn and run --------------------------------------------------------- */

START_TEST(spawned_task_runs_and_reports_its_result)
{
	struct ak_pool *p = new_pool(2);
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	ck_assert_ptr_nonnull(t);
	wait_idle(p);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_uint_eq(ak_pool_task_count(p), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(pool_of_zero_workers_runs_tasks)
{
	struct ak_pool *p = new_pool(0);
	struct tk_count_future f[4];
	int i;

	for (i = 0; i < 4; i++) {
		tk_after_init(&f[i], 2);
		ck_assert_int_eq(ak_pool_spawn(p, &f[i].future, NULL), 0);
	}
	wait_idle(p);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(atomic_load(&f[i].polls), 3);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(ten_thousand_tasks_across_workers_complete_exactly_once)
{
	enum { N = 10000 };
	struct ak_pool *p = new_pool(4);
	struct tk_count_future *f = calloc(N, sizeof *f);
	int i, wrong = 0;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < N; i++) {
		tk_after_init(&f[i], 1);
		ck_assert_int_eq(ak_pool_spawn(p, &f[i].future, NULL), 0);
	}
	wait_idle(p);
	ck_assert_uint_eq(ak_pool_task_count(p), 0);
	for (i = 0; i < N; i++)
		if (atomic_load(&f[i].polls) != 2 ||
		    atomic_load(&f[i].cancels) != 0 ||
		    ak_future_state(&f[i].future) != AK_FUTURE_DONE)
			wrong++;
	ck_assert_int_eq(wrong, 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
	free(f);
}
END_TEST

START_TEST(task_spawned_from_inside_a_task_is_run)
{
	struct ak_pool *p = new_pool(2);
	struct spawner parent;
	struct tk_count_future child;

	tk_ready_init(&child, 0);
	spawner_init(&parent, p, &child.future, NULL);
	ck_assert_int_eq(ak_pool_spawn(p, &parent.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(parent.rc[0], 0);
	ck_assert_int_eq(atomic_load(&child.polls), 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(each_poll_gets_a_fresh_context_and_the_tasks_slot)
{
	struct ak_pool *p = new_pool(2);
	struct tk_count_future f;
	struct ak_task *t = NULL;
	int i;

	tk_after_init(&f, 3);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&f.polls), 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(f.budgets[i], AK_BUDGET_DEFAULT);
	ck_assert_ptr_nonnull(f.slot);
	ck_assert_uint_eq(ak_task_slot_pending_polls(f.slot), 3);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Spends its whole budget and scribbles on its context's path in its
 * first poll, wakes itself and parks; records the budget and path each
 * poll finds on entry. */
struct spender {
	struct ak_future future;
	int polls;
	int32_t budgets[2];
	struct ak_branch_path paths[2];
};

static int spender_poll(struct ak_future *f, struct ak_context *cx)
{
	struct spender *s = (struct spender *)f;
	s->budgets[s->polls] = cx->budget;
	s->paths[s->polls] = cx->path;
	if (s->polls++ > 0)
		return 0;
	cx->budget = 0;
	memset(&cx->path, 0xa5, sizeof(cx->path));
	ak_waker_wake_by_ref(&cx->waker);
	return AK_PENDING;
}

static void spender_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable spender_vtable = { spender_poll, spender_cancel };

/* A worker polls every task with one context it keeps across its polls:
 * what a poll spends or writes in it is not carried into the next. */
START_TEST(a_poll_after_one_that_spent_the_budget_gets_a_full_one)
{
	struct ak_pool *p = new_pool(1);
	struct spender s = { 0 };
	struct ak_branch_path zero;

	memset(&zero, 0, sizeof(zero));
	ak_future_init(&s.future, &spender_vtable);
	ck_assert_int_eq(ak_pool_spawn(p, &s.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(s.polls, 2);
	ck_assert_int_eq(s.budgets[0], AK_BUDGET_DEFAULT);
	ck_assert_int_eq(s.budgets[1], AK_BUDGET_DEFAULT);
	ck_assert_int_eq(memcmp(&s.paths[1], &zero, sizeof(zero)), 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Parks once with a clone of its waker in `waker`; records the thread of
 * each poll. */
struct sleeper {
	struct ak_future future;
	struct ak_waker waker;
	atomic_int parked;
	int polls;
	pthread_t threads[2];
};

static int sleeper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;
	s->threads[s->polls] = pthread_self();
	if (s->polls++ > 0)
		return 0;
	ck_assert_int_eq(ak_waker_clone(&cx->waker, &s->waker), 0);
	atomic_store(&s->parked, 1);
	return AK_PENDING;
}

/* Wakes the sleeper's waker (by value) from its poll, once. */
struct rouser {
	struct ak_future future;
	struct sleeper *sleeper;
};

static int rouser_poll(struct ak_future *f, struct ak_context *cx)
{
	(void)cx;
	ak_waker_wake(&((struct rouser *)f)->sleeper->waker);
	return 0;
}

static const struct ak_future_vtable sleeper_vtable = { sleeper_poll, spender_cancel };
static const struct ak_future_vtable rouser_vtable = { rouser_poll, spender_cancel };

/* A wake made by a worker's task, of a task of another pool, is that
 * pool's: the woken task runs on its own pool's worker, not in the waking
 * worker's LIFO slot. */
START_TEST(a_task_woken_from_another_pools_task_runs_on_its_own_pool)
{
	struct ak_pool *a = new_pool(1), *b = new_pool(1);
	struct sleeper s = { 0 };
	struct rouser r = { .sleeper = &s };

	ak_future_init(&s.future, &sleeper_vtable);
	ak_future_init(&r.future, &rouser_vtable);
	ck_assert_int_eq(ak_pool_spawn(b, &s.future, NULL), 0);
	ck_assert(await_count(&s.parked, 1));
	ck_assert_int_eq(ak_pool_spawn(a, &r.future, NULL), 0);
	wait_idle(a);
	wait_idle(b);
	ck_assert_int_eq(s.polls, 2);
	ck_assert(pthread_equal(s.threads[0], s.threads[1]));
	ck_assert_int_eq(ak_pool_free(a), 0);
	ck_assert_int_eq(ak_pool_free(b), 0);
}
END_TEST

/* Holds its worker in its poll until *release is set (5 s at most). */
struct holder {
	struct ak_future future;
	atomic_int started, release;
};

static int holder_poll(struct ak_future *f, struct ak_context *cx)
{
	struct holder *h = (struct holder *)f;
	int64_t end = ak_deadline_in(5000 * MS);
	(void)cx;
	atomic_store(&h->started, 1);
	while (!atomic_load(&h->release) && ak_now() < end)
		sched_yield();
	return 0;
}

static const struct ak_future_vtable holder_vtable = { holder_poll, spender_cancel };

/* A task cancelled while its entry waits in a queue is never polled: the
 * worker that takes the entry drops it. */
START_TEST(a_task_cancelled_while_queued_is_never_polled)
{
	struct ak_pool *p = new_pool(1);
	struct holder h = { 0 };
	struct tk_count_future f;
	struct ak_task *t = NULL;

	ak_future_init(&h.future, &holder_vtable);
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &h.future, NULL), 0);
	ck_assert(await_count(&h.started, 1));
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	atomic_store(&h.release, 1);
	wait_idle(p);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* ---- wakes ---------------------------------------------------------------- */

START_TEST(wakes_from_foreign_threads_make_parked_tasks_ready)
{
	enum { N = 4 };
	struct ak_pool *p = new_pool(2);
	struct tk_flag_future f[N];
	struct tk_setter s[N];
	struct ak_task *t[N];
	int i;

	for (i = 0; i < N; i++) {
		tk_flag_init(&f[i], -i);
		ck_assert_int_eq(ak_pool_spawn(p, &f[i].future, &t[i]), 0);
	}
	for (i = 0; i < N; i++)
		ck_assert(await_parked(&f[i]));
	for (i = 0; i < N; i++)
		ck_assert_int_eq(ak_task_result(t[i]), AK_PENDING);
	for (i = 0; i < N; i++)
		tk_setter_start(&s[i], &f[i], i * MS);
	for (i = 0; i < N; i++)
		tk_setter_join(&s[i]);
	wait_idle(p);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(ak_task_result(t[i]), -i);
		ck_assert_int_eq(atomic_load(&f[i].clones),
		                 atomic_load(&f[i].released));
		ak_task_release(t[i]);
	}
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(wake_during_poll_requeues_and_never_polls_the_task_concurrently)
{
	struct ak_pool *p = new_pool(2);
	struct solo f;
	struct waker_thread w[2];
	int i;

	solo_init(&f, 2000);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), 0);
	for (i = 0; i < 2; i++) {
		w[i].f = &f;
		w[i].wakes = 0;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL, waker_main,
		                                &w[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(w[i].thread, NULL);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&f.overlaps), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 2000);
	ak_waker_drop(&f.kept);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(wake_during_poll_puts_the_task_at_the_tail)
{
	struct ak_pool *p = new_pool(1);
	struct tk_count_future a, b;
	struct spawner parent;
	struct tk_log log;

	memset(&log, 0, sizeof log);
	tk_after_init(&a, 1);
	a.id = 'A';
	a.log = &log;
	tk_ready_init(&b, 0);
	b.id = 'B';
	b.log = &log;
	spawner_init(&parent, p, &a.future, &b.future);
	ck_assert_int_eq(ak_pool_spawn(p, &parent.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(parent.rc[0], 0);
	ck_assert_int_eq(parent.rc[1], 0);
	ck_assert_int_eq(tk_log_len(&log), 3);
	ck_assert_int_eq(log.ids[0], 'A');
	ck_assert_int_eq(log.ids[1], 'B');
	ck_assert_int_eq(log.ids[2], 'A');
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(wake_after_completion_is_ignored)
{
	struct ak_pool *p = new_pool(2);
	struct tk_keeper_future f;
	struct ak_task *t = NULL;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	wait_idle(p);
	ck_assert_ptr_nonnull(f.kept.vtable);
	ak_waker_wake_by_ref(&f.kept);
	ak_waker_wake(&f.kept);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(late_wake_after_free_is_harmless)
{
	struct ak_pool *p = new_pool(2);
	struct tk_keeper_future done;
	struct lingerer parked;
	struct ak_waker second = { NULL, NULL };
	struct ak_task *td = NULL, *tp = NULL;

	tk_keeper_init(&done, 0);
	lingerer_init(&parked, 1);
	ck_assert_int_eq(ak_pool_spawn(p, &done.future, &td), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &parked.future, &tp), 0);
	ck_assert(await_count(&parked.in_poll, 1));
	while (ak_task_result(td) == AK_PENDING)
		tk_sleep_ns(50000);
	ck_assert_int_eq(ak_waker_clone(&parked.kept, &second), 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
	ck_assert_int_eq(atomic_load(&parked.cancels), 1);
	ck_assert_int_eq(ak_task_result(tp), AK_ECANCELED);
	/* The cancel dropped its clone; ours and the keeper's outlive the
	 * pool, and the handles too. */
	ak_waker_wake_by_ref(&second);
	ak_waker_wake(&second);
	ak_waker_wake_by_ref(&done.kept);
	ak_waker_drop(&done.kept);
	ck_assert_int_eq(ak_task_cancel(tp), 0);
	ck_assert_int_eq(ak_task_cancel(td), 0);
	ck_assert_int_eq(atomic_load(&parked.polls), 1);
	ck_assert_int_eq(atomic_load(&done.polls), 1);
	ck_assert_int_eq(ak_task_result(td), 0);
	ak_task_release(tp);
	ak_task_release(td);
}
END_TEST

/* ---- cancel and shutdown ---------------------------------------------------- */

START_TEST(task_cancel_from_another_thread_cancels_a_parked_task)
{
	struct ak_pool *p = new_pool(1);
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	ck_assert(await_parked(&f));
	settle(p);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert(!tk_flag_holds_waker(&f));
	ck_assert_uint_eq(ak_pool_task_count(p), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	tk_flag_set(&f);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(task_cancel_during_a_poll_takes_effect_when_the_poll_ends)
{
	struct ak_pool *p = new_pool(2);
	struct lingerer f;
	struct ak_task *t = NULL;

	lingerer_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	ck_assert(await_count(&f.in_poll, 1));
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	atomic_store(&f.go, 1);
	wait_idle(p);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_ptr_null(f.kept.vtable);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(pool_free_cancels_parked_and_queued_tasks_and_drops_their_wakers)
{
	struct ak_debug_counts before = tk_counters(), after;
	struct ak_pool *p = new_pool(1);
	struct tk_flag_future parked;
	struct hog *hog = calloc(1, sizeof *hog);
	struct ak_task *tp = NULL;
	int i;

	ck_assert_ptr_nonnull(hog);
	tk_flag_init(&parked, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &parked.future, &tp), 0);
	ck_assert(await_parked(&parked));
	hog->pool = p;
	for (i = 0; i < HOG_PROBES; i++)
		tk_ready_init(&hog->probes[i], 0);
	ck_assert_int_eq(ak_future_init(&hog->future, &hog_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &hog->future, NULL), 0);
	ck_assert(await_count(&hog->running, 1));
	ck_assert_int_eq(ak_pool_free(p), 0);

	ck_assert_int_eq(hog->last_rc, AK_EPIPE);
	ck_assert_int_ge(hog->accepted, 1);
	for (i = 0; i < hog->accepted; i++) {
		ck_assert_int_eq(atomic_load(&hog->probes[i].polls), 0);
		ck_assert_int_eq(atomic_load(&hog->probes[i].cancels), 1);
	}
	ck_assert_int_eq(atomic_load(&parked.cancels), 1);
	ck_assert(!tk_flag_holds_waker(&parked));
	ck_assert_int_eq(atomic_load(&parked.clones),
	                 atomic_load(&parked.released));
	ck_assert_int_eq(ak_task_result(tp), AK_ECANCELED);
	ak_task_release(tp);
	after = tk_counters();
	ck_assert_int_eq(after.waker_clones, before.waker_clones);
	ck_assert_int_eq(after.parked_ops, before.parked_ops);
	ck_assert_int_eq(after.live_objects, before.live_objects);
	free(hog);
}
END_TEST

START_TEST(wait_idle_times_out_while_a_task_is_parked)
{
	struct ak_pool *p = new_pool(1);
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), 0);
	ck_assert(await_parked(&f));
	ck_assert_uint_eq(ak_pool_task_count(p), 1);
	ck_assert_int_eq(ak_pool_wait_idle(p, ak_deadline_in(2 * MS)),
	                 AK_ETIMEDOUT);
	tk_flag_set(&f);
	wait_idle(p);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(blocking_calls_and_self_cancel_inside_a_pool_task_are_refused)
{
	struct ak_pool *p = new_pool(1);
	struct blocker f;
	struct ak_task *t = NULL;

	memset(&f, 0, sizeof f);
	f.pool = p;
	ck_assert_int_eq(ak_future_init(&f.future, &blocker_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	f.self = t;
	atomic_store_explicit(&f.go, 1, memory_order_release);
	wait_idle(p);
	ck_assert_int_eq(f.rc_wait_idle, AK_EDEADLK);
	ck_assert_int_eq(f.rc_free, AK_EBUSY);
	ck_assert_int_eq(f.rc_cancel_self, AK_EBUSY);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* ---- misuse ------------------------------------------------------------------ */

START_TEST(bad_inputs_return_einval_and_change_nothing)
{
	struct ak_pool *q = (struct ak_pool *)0x1;

	ck_assert_int_eq(ak_pool_new(NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_pool_new(&q, -1), AK_EINVAL);
	ck_assert_int_eq(ak_pool_new(&q, AK_POOL_MAX_WORKERS + 1), AK_EINVAL);
	ck_assert_ptr_eq(q, (struct ak_pool *)0x1);
	ck_assert_int_eq(ak_pool_spawn(NULL, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_pool_wait_idle(NULL, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_pool_free(NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_pool_task_count(NULL), 0);
}
END_TEST

START_TEST(spawn_of_a_bad_or_already_spawned_future_returns_einval)
{
	struct ak_pool *p = new_pool(1);
	struct lingerer busy;
	struct tk_count_future f, zeroed;

	/* The only worker lingers in busy's poll, so f stays queued and its
	 * header is this thread's to read. */
	lingerer_init(&busy, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &busy.future, NULL), 0);
	ck_assert(await_count(&busy.in_poll, 1));
	tk_ready_init(&f, 0);
	memset(&zeroed, 0, sizeof zeroed);
	zeroed.future.vtable = &tk_count_vtable;
	ck_assert_int_eq(ak_pool_spawn(NULL, &f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_pool_spawn(p, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_pool_spawn(p, &zeroed.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_pool_task_count(p), 2);
	atomic_store(&busy.go, 1);
	ck_assert(await_count(&f.polls, 1));
	ck_assert_int_eq(atomic_load(&zeroed.polls), 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
	ck_assert_int_eq(atomic_load(&busy.cancels), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(spawn_without_memory_returns_enomem_and_leaves_the_future)
{
	struct ak_pool *p = new_pool(1);
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ak__alloc_fail_after(1);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), AK_ENOMEM);
	ak__alloc_fail_after(0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_uint_eq(ak_pool_task_count(p), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(pool_task_joining_another_pool_task_gets_its_result)
{
	struct ak_pool *p = new_pool(2);
	struct tk_flag_future f;
	struct ak_task_join_op join;
	struct tk_setter s;
	struct ak_task *inner = NULL, *outer = NULL;

	memset(&join, 0, sizeof join);
	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &inner), 0);
	ck_assert_int_eq(ak_task_join_init(&join, inner), 0);
	/* The join operation is a future: a task of its own. */
	ck_assert_int_eq(ak_pool_spawn(p, &join.future, &outer), 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_task_join_blocking(outer, AK_DEADLINE_NEVER), AK_EPIPE);
	tk_setter_join(&s);
	ck_assert_int_eq(ak_task_result(inner), AK_EPIPE);
	ak_task_release(outer);
	ak_task_release(inner);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(cancelling_a_pool_task_completes_its_join_with_ecanceled)
{
	struct ak_pool *p = new_pool(1);
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, AK_DEADLINE_NEVER), AK_ECANCELED);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

START_TEST(pool_free_cancels_a_task_waiting_in_a_lifo_slot)
{
	struct ak_debug_counts before = tk_counters(), after;
	struct ak_pool *p = new_pool(1);
	struct tk_flag_future woken;
	struct hog *hog = calloc(1, sizeof *hog);
	struct ak_task *tw = NULL;

	ck_assert_ptr_nonnull(hog);
	tk_flag_init(&woken, 0);
	ck_assert_int_eq(ak_pool_spawn(p, &woken.future, &tw), 0);
	ck_assert(await_parked(&woken));
	/* The hog wakes it from its poll (the LIFO slot of the only worker)
	 * and keeps the worker until the free begins. */
	hog->pool = p;
	hog->wake_first = &woken;
	for (int i = 0; i < HOG_PROBES; i++)
		tk_ready_init(&hog->probes[i], 0);
	ck_assert_int_eq(ak_future_init(&hog->future, &hog_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &hog->future, NULL), 0);
	ck_assert(await_count(&hog->running, 1));
	ck_assert_int_eq(ak_pool_free(p), 0);

	ck_assert_int_eq(atomic_load(&woken.polls), 1);
	ck_assert_int_eq(atomic_load(&woken.cancels), 1);
	ck_assert_int_eq(ak_task_result(tw), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&woken.clones), atomic_load(&woken.released));
	ak_task_release(tw);
	after = tk_counters();
	ck_assert_int_eq(after.waker_clones, before.waker_clones);
	ck_assert_int_eq(after.live_objects, before.live_objects);
	free(hog);
}
END_TEST

/* ---- fairness ------------------------------------------------------------ */

#define GIVE_UP 1000000

/* Wakes itself and returns AK_PENDING until *stop, or GIVE_UP polls. */
struct yielder {
	struct ak_future future;
	atomic_int *stop;
	int polls;
};

static int yielder_poll(struct ak_future *base, struct ak_context *cx)
{
	struct yielder *f = (struct yielder *)base;

	if (atomic_load(f->stop) || ++f->polls >= GIVE_UP)
		return 0;
	ak_waker_wake_by_ref(&cx->waker);
	return AK_PENDING;
}

static const struct ak_future_vtable yielder_vtable = { yielder_poll, no_cancel };

/* Sets *flag at its first poll. */
struct flagger {
	struct ak_future future;
	atomic_int *flag;
};

static int flagger_poll(struct ak_future *base, struct ak_context *cx)
{
	(void)cx;
	atomic_store(((struct flagger *)base)->flag, 1);
	return 0;
}

static const struct ak_future_vtable flagger_vtable = { flagger_poll, no_cancel };

START_TEST(a_task_that_yields_forever_cannot_starve_a_task_queued_from_outside)
{
	struct ak_pool *p = new_pool(1);
	atomic_int stop = 0;
	struct yielder y = { .stop = &stop };
	struct flagger z = { .flag = &stop };
	struct ak_task *ty = NULL;

	ck_assert_int_eq(ak_future_init(&y.future, &yielder_vtable), 0);
	ck_assert_int_eq(ak_future_init(&z.future, &flagger_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &y.future, &ty), 0);
	/* z goes to the injection queue while y keeps the worker's local
	 * queue busy: the worker looks at the injection queue anyway. */
	ck_assert_int_eq(ak_pool_spawn(p, &z.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(atomic_load(&stop), 1);
	ck_assert_int_lt(y.polls, GIVE_UP);
	ak_task_release(ty);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Spawns a flagger and does not return from that poll until the flagger
 * ran (or 5 s passed): the flagger sits in the local queue of a worker
 * that stays in one poll. */
struct sitter {
	struct ak_future future;
	struct ak_pool *pool;
	struct flagger child;
	atomic_int flag;
	int saw_it;
};

static int sitter_poll(struct ak_future *base, struct ak_context *cx)
{
	struct sitter *f = (struct sitter *)base;

	(void)cx;
	ck_assert_int_eq(ak_pool_spawn(f->pool, &f->child.future, NULL), 0);
	f->saw_it = await_count(&f->flag, 1);
	return 0;
}

static const struct ak_future_vtable sitter_vtable = { sitter_poll, no_cancel };

/* Runs f (a sitter of either kind) on p, then frees p: *saw_it must be set. */
static void sit(struct ak_pool *p, struct ak_future *f, const struct ak_future_vtable *vtable,
                const int *saw_it)
{
	ck_assert_int_eq(ak_future_init(f, vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, f, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(*saw_it, 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}

/* A worker idle or spinning takes a task from a worker held by one poll:
 * at once from a queue of several tasks, a single one as the watcher,
 * once it waited a whole period, or before it would park where no watcher
 * can be (ak_pool(3), SCHEDULING). */
START_TEST(a_task_queued_behind_a_poll_that_does_not_return_runs_on_the_other_worker)
{
	struct ak_pool *p = new_pool(2);
	struct sitter s;

	memset(&s, 0, sizeof s);
	s.pool = p;
	s.child.flag = &s.flag;
	ck_assert_int_eq(ak_future_init(&s.child.future, &flagger_vtable), 0);
	sit(p, &s.future, &sitter_vtable, &s.saw_it);
}
END_TEST

/* The shape of bench/awaitkit's spsc_unbounded: a consumer parks; a
 * producer wakes it (into its worker's LIFO slot) and yields, alone in
 * that worker's local queue while the consumer's poll works.  Meanwhile
 * the test thread wakes a parked task, x, from outside: the other worker
 * wakes for it, runs it and searches, with the producer queued. */
struct lone_pair {
	struct ak_future cons_f, prod_f, x_f;
	struct ak_waker cons_waker, x_waker;
	atomic_int cons_parked, x_parked, prod_yielded, x_ran;
	pthread_t before, after;
	int64_t yielded_at, resumed_at;     /* ak_now() at the yield, the next poll */
	volatile uint64_t work;
};

/* Waits for *v to be set, yielding the CPU (at most 5 s): 1 if it was. */
static int yield_until(atomic_int *v)
{
	int64_t end = ak_deadline_in(5000 * MS);

	while (!atomic_load(v))
		if (ak_now() > end || sched_yield() != 0)
			return 0;
	return 1;
}

#define LONE_OF(base, field) \
	((struct lone_pair *)(void *)((char *)(base) - offsetof(struct lone_pair, field)))

static int lone_cons_poll(struct ak_future *base, struct ak_context *cx)
{
	struct lone_pair *l = LONE_OF(base, cons_f);
	if (!atomic_load(&l->cons_parked)) {
		ck_assert_int_eq(ak_waker_clone(&cx->waker, &l->cons_waker), 0);
		atomic_store(&l->cons_parked, 1);
		return AK_PENDING;
	}
	/* Until x ran on the other worker, then some microseconds of work
	 * (the other worker searches meanwhile): far less than the watcher's
	 * period. */
	ck_assert(yield_until(&l->x_ran));
	uint64_t x = 1;
	for (int i = 0; i < 10000; i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	l->work = x;
	return 0;
}

static int lone_prod_poll(struct ak_future *base, struct ak_context *cx)
{
	struct lone_pair *l = LONE_OF(base, prod_f);
	if (atomic_load(&l->prod_yielded)) {
		l->resumed_at = ak_now();
		l->after = pthread_self();
		return 0;
	}
	if (atomic_load(&l->cons_parked)) {
		l->before = pthread_self();
		l->yielded_at = ak_now();
		ak_waker_wake(&l->cons_waker);
		atomic_store(&l->prod_yielded, 1);
	}
	ak_waker_wake_by_ref(&cx->waker);        /* a yield */
	return AK_PENDING;
}

static int lone_x_poll(struct ak_future *base, struct ak_context *cx)
{
	struct lone_pair *l = LONE_OF(base, x_f);
	if (!atomic_load(&l->x_parked)) {
		ck_assert_int_eq(ak_waker_clone(&cx->waker, &l->x_waker), 0);
		atomic_store(&l->x_parked, 1);
		return AK_PENDING;
	}
	atomic_store(&l->x_ran, 1);
	return 0;
}

static const struct ak_future_vtable lone_cons_vtable = { lone_cons_poll, no_cancel };
static const struct ak_future_vtable lone_prod_vtable = { lone_prod_poll, no_cancel };
static const struct ak_future_vtable lone_x_vtable = { lone_x_poll, no_cancel };

/* A task that yields while its worker polls the task it woke is left to
 * that worker by the other one, searching or spinning (ak_pool(3),
 * SCHEDULING): its worker runs it in a moment, on the core where its data
 * is.  (Taken at once, the producer of spsc_unbounded ran apart from its
 * consumer, on the other core, for the rest of the run: bench/README.md.)
 * The watcher takes a task only after it waited a whole period
 * (WATCH_PERIOD, runtime/pool_worker.h's AK__POOL_WATCH_NS): a round whose
 * producer waited that long (its worker preempted: a loaded machine) may
 * move it, and is not counted.  Rounds go on until COUNTED are counted (or
 * 10 s), and at least MIN_COUNTED must be: without the rule, search() took
 * the producer in every round. */
#define WATCH_PERIOD (100 * 1000)
START_TEST(a_lone_task_that_yields_while_its_worker_polls_stays_on_that_worker)
{
	enum { COUNTED = 40, MIN_COUNTED = 8 };
	struct ak_pool *p = new_pool(2);
	int moved = 0, counted = 0;
	int64_t end = ak_deadline_in(10000 * MS);

	while (counted < COUNTED && ak_now() < end) {
		struct lone_pair l;

		memset(&l, 0, sizeof l);
		ck_assert_int_eq(ak_future_init(&l.x_f, &lone_x_vtable), 0);
		ck_assert_int_eq(ak_future_init(&l.cons_f, &lone_cons_vtable), 0);
		ck_assert_int_eq(ak_future_init(&l.prod_f, &lone_prod_vtable), 0);
		ck_assert_int_eq(ak_pool_spawn(p, &l.x_f, NULL), 0);
		ck_assert(await_count(&l.x_parked, 1));
		ck_assert_int_eq(ak_pool_spawn(p, &l.cons_f, NULL), 0);
		ck_assert(await_count(&l.cons_parked, 1));
		ck_assert_int_eq(ak_pool_spawn(p, &l.prod_f, NULL), 0);
		ck_assert(yield_until(&l.prod_yielded));
		ak_waker_wake(&l.x_waker);
		wait_idle(p);
		if (l.resumed_at - l.yielded_at >= WATCH_PERIOD)
			continue;
		counted++;
		moved += !pthread_equal(l.before, l.after);
	}
	ck_assert_int_eq(ak_pool_free(p), 0);
	ck_assert_int_ge(counted, MIN_COUNTED);
	ck_assert_int_le(moved, counted / 4);
}
END_TEST

/* Wakes three parked tasks from its poll (the first two are pushed out of
 * the LIFO slot by the next, onto the local queue) and does not return
 * until both pushed out ran (or 5 s passed). */
struct waking_sitter {
	struct ak_future future;
	struct tk_flag_future woken[3];
	int saw_it;
};

static int waking_sitter_poll(struct ak_future *base, struct ak_context *cx)
{
	struct waking_sitter *f = (struct waking_sitter *)base;

	(void)cx;
	for (int i = 0; i < 3; i++)
		tk_flag_set(&f->woken[i]);
	f->saw_it = await_count(&f->woken[0].polls, 2) && await_count(&f->woken[1].polls, 2);
	return 0;
}

static const struct ak_future_vtable waking_sitter_vtable = { waking_sitter_poll, no_cancel };

/* The second task pushed out of the LIFO slot makes a local queue of two,
 * which wakes the parked worker, or which the watcher takes after a period
 * (ak_pool(3), SCHEDULING): tasks woken from a poll that does not return
 * are not all held behind it. */
START_TEST(tasks_pushed_out_of_the_lifo_slot_behind_a_poll_that_does_not_return_run_on_the_other_worker)
{
	struct ak_pool *p = new_pool(2);
	struct waking_sitter s;

	memset(&s, 0, sizeof s);
	for (int i = 0; i < 3; i++) {
		tk_flag_init(&s.woken[i], 0);
		ck_assert_int_eq(ak_pool_spawn(p, &s.woken[i].future, NULL), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert(await_parked(&s.woken[i]));
	sit(p, &s.future, &waking_sitter_vtable, &s.saw_it);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(atomic_load(&s.woken[i].clones), atomic_load(&s.woken[i].released));
}
END_TEST

/* A worker thread as /proc shows it: its state letter ('S': asleep) and
 * its voluntary context switches (each wake from a park is one). */
static char thread_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end = strrchr(buf, ')');
	ck_assert_ptr_nonnull(end);
	return end[2];
}

static long thread_switches(int tid)
{
	char path[64], line[128];
	long n = -1;
	snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* Records the thread that polls it. */
struct tid_flagger {
	struct ak_future future;
	atomic_int tid;
};

static int tid_flagger_poll(struct ak_future *base, struct ak_context *cx)
{
	(void)cx;
	atomic_store(&((struct tid_flagger *)base)->tid, (int)gettid());
	return 0;
}

static const struct ak_future_vtable tid_flagger_vtable = { tid_flagger_poll, no_cancel };

/* Its poll has a child run on the other worker, which then rests as the
 * pool's watcher (this worker is awake); waits until that worker sleeps;
 * wakes two parked tasks: the first, pushed out of the LIFO slot onto an
 * empty local queue, wakes nobody, the second stays in the slot; and does
 * not return until both ran (or 5 s passed). */
struct watched_sitter {
	struct ak_future future;
	struct ak_pool *pool;
	struct tid_flagger child;
	struct tk_flag_future woken[2];
	int tid[2];                     /* this worker, the watcher */
	int saw_it;
};

static int watched_sitter_poll(struct ak_future *base, struct ak_context *cx)
{
	struct watched_sitter *f = (struct watched_sitter *)base;
	int64_t end = ak_deadline_in(5000 * MS);

	(void)cx;
	f->tid[0] = (int)gettid();
	ck_assert_int_eq(ak_pool_spawn(f->pool, &f->child.future, NULL), 0);
	ck_assert(await_count(&f->child.tid, 1));
	f->tid[1] = atomic_load(&f->child.tid);
	while (thread_state(f->tid[1]) != 'S' && ak_now() < end)
		tk_sleep_ns(50000);
	for (int i = 0; i < 2; i++)
		tk_flag_set(&f->woken[i]);
	f->saw_it = await_count(&f->woken[0].polls, 2) && await_count(&f->woken[1].polls, 2);
	return 0;
}

static const struct ak_future_vtable watched_sitter_vtable = { watched_sitter_poll, no_cancel };

/* Runs a watched_sitter s on a new pool of two workers, until idle. */
static struct ak_pool *run_watched_sitter(struct watched_sitter *s)
{
	struct ak_pool *p = new_pool(2);

	memset(s, 0, sizeof *s);
	s->pool = p;
	ck_assert_int_eq(ak_future_init(&s->child.future, &tid_flagger_vtable), 0);
	for (int i = 0; i < 2; i++) {
		tk_flag_init(&s->woken[i], 0);
		ck_assert_int_eq(ak_pool_spawn(p, &s->woken[i].future, NULL), 0);
		ck_assert(await_parked(&s->woken[i]));
	}
	ck_assert_int_eq(ak_future_init(&s->future, &watched_sitter_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &s->future, NULL), 0);
	wait_idle(p);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(atomic_load(&s->woken[i].clones), atomic_load(&s->woken[i].released));
	return p;
}

/* A lone task pushed out of the LIFO slot and the task in the slot, behind
 * a poll that never returns, wake no worker; the watcher takes both after
 * at most about two of its periods (ak_pool(3), SCHEDULING). */
START_TEST(tasks_behind_a_poll_that_does_not_return_are_taken_by_the_watcher_without_a_wake)
{
	struct watched_sitter s;
	struct ak_pool *p = run_watched_sitter(&s);

	ck_assert_int_eq(s.saw_it, 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Once every worker is idle and nothing is queued the watcher parks for
 * good: the workers' context switches stop (a watcher that kept its
 * timeout would wake about 200 times in the 20 ms between two readings). */
START_TEST(the_watcher_stops_waking_once_the_pool_is_idle)
{
	struct watched_sitter s;
	struct ak_pool *p = run_watched_sitter(&s);
	int64_t end = ak_deadline_in(5000 * MS);
	int quiet = 0;

	ck_assert_int_eq(s.saw_it, 1);
	while (!quiet && ak_now() < end) {
		long before = thread_switches(s.tid[0]) + thread_switches(s.tid[1]);
		tk_sleep_ns(20 * MS);
		quiet = thread_switches(s.tid[0]) + thread_switches(s.tid[1]) == before;
	}
	ck_assert_int_eq(quiet, 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Two tasks that wake each other and return AK_PENDING, until *stop. */
struct pinger {
	struct ak_future future;
	struct pinger *other;
	atomic_int *stop;
	struct ak_waker self;
	int polls;
};

static int pinger_poll(struct ak_future *base, struct ak_context *cx)
{
	struct pinger *f = (struct pinger *)base;

	if (!f->self.vtable)
		ck_assert_int_eq(ak_waker_clone(&cx->waker, &f->self), 0);
	int done = atomic_load(f->stop) || ++f->polls >= GIVE_UP;
	/* The pair runs on the one worker: the other's clone is stable. */
	if (f->other->self.vtable)
		ak_waker_wake_by_ref(&f->other->self);
	if (!done)
		return AK_PENDING;
	ak_waker_drop(&f->self);
	return 0;
}

static const struct ak_future_vtable pinger_vtable = { pinger_poll, no_cancel };

START_TEST(two_tasks_waking_each_other_let_a_third_run)
{
	struct ak_pool *p = new_pool(1);
	atomic_int stop = 0;
	struct pinger a, b;
	struct flagger c = { .flag = &stop };
	struct spawner parent;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.other = &b;
	b.other = &a;
	a.stop = b.stop = &stop;
	ck_assert_int_eq(ak_future_init(&a.future, &pinger_vtable), 0);
	ck_assert_int_eq(ak_future_init(&b.future, &pinger_vtable), 0);
	ck_assert_int_eq(ak_future_init(&c.future, &flagger_vtable), 0);
	/* a, b, c queued in that order on the worker, from its own poll. */
	spawner_init(&parent, p, &a.future, &b.future);
	parent.child[2] = &c.future;
	ck_assert_int_eq(ak_pool_spawn(p, &parent.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(parent.rc[2], 0);
	ck_assert_int_eq(atomic_load(&stop), 1);
	/* The pair met c after a few rounds, not at GIVE_UP. */
	ck_assert_int_lt(a.polls + b.polls, 100);
	ck_assert_ptr_null(a.self.vtable);
	ck_assert_ptr_null(b.self.vtable);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Stays in its first poll until its partner is in one too (or 2 s). */
struct meeter {
	struct ak_future future;
	atomic_int here;
	struct meeter *partner;
	int met;
};

static int meeter_poll(struct ak_future *base, struct ak_context *cx)
{
	struct meeter *f = (struct meeter *)base;
	int64_t end = ak_deadline_in(2000 * MS);

	(void)cx;
	atomic_store(&f->here, 1);
	while (!atomic_load(&f->partner->here) && ak_now() < end)
		tk_sleep_ns(100000);
	f->met = atomic_load(&f->partner->here);
	return 0;
}

static const struct ak_future_vtable meeter_vtable = { meeter_poll, no_cancel };

/* Two tasks queued from outside onto a pool whose workers are parked: the
 * first push wakes one worker, which takes the first task and wakes the
 * other for the second (the burst fans out), so both run at once. */
START_TEST(a_burst_queued_from_outside_onto_parked_workers_wakes_a_second_one)
{
	struct ak_pool *p = new_pool(2);
	struct meeter a, b;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.partner = &b;
	b.partner = &a;
	ck_assert_int_eq(ak_future_init(&a.future, &meeter_vtable), 0);
	ck_assert_int_eq(ak_future_init(&b.future, &meeter_vtable), 0);
	tk_sleep_ns(20 * MS);           /* both workers park */
	ck_assert_int_eq(ak_pool_spawn(p, &a.future, NULL), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &b.future, NULL), 0);
	wait_idle(p);
	ck_assert_int_eq(a.met, 1);
	ck_assert_int_eq(b.met, 1);
	ck_assert_int_eq(ak_pool_free(p), 0);
}
END_TEST

/* Sends n values through the unbounded channel's send operation, one after
 * the other: it yields only when its cooperative budget is spent. */
struct flood {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	int64_t next, n, value;
	int active;
	struct ak_mpsc_send_op op;
	const atomic_llong *received;   /* the consumer's count */
	long long received_when_done;
};

static int flood_poll(struct ak_future *base, struct ak_context *cx)
{
	struct flood *f = (struct flood *)base;

	while (f->next < f->n) {
		if (!f->active) {
			f->value = f->next;
			ck_assert_int_eq(ak_mpsc_send_init(&f->op, f->tx, &f->value), 0);
			f->active = 1;
		}
		int rc = ak_future_poll(&f->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		ck_assert_int_eq(rc, 0);
		f->active = 0;
		f->next++;
	}
	f->received_when_done = atomic_load(f->received);
	ak_mpsc_tx_drop(f->tx);
	f->tx = NULL;
	return 0;
}

static const struct ak_future_vtable flood_vtable = { flood_poll, no_cancel };

/* Receives until the channel ends, noting the longest queue it saw. */
struct drain {
	struct ak_future future;
	struct ak_mpsc_rx *rx;
	int64_t value;
	atomic_llong count;
	size_t peak;
	int active;
	struct ak_mpsc_recv_op op;
};

static int drain_poll(struct ak_future *base, struct ak_context *cx)
{
	struct drain *f = (struct drain *)base;

	for (;;) {
		if (!f->active) {
			ck_assert_int_eq(ak_mpsc_recv_init(&f->op, f->rx, &f->value), 0);
			f->active = 1;
		}
		size_t len = ak_mpsc_len(f->rx);
		if (len > f->peak)
			f->peak = len;
		int rc = ak_future_poll(&f->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		f->active = 0;
		if (rc == AK_EPIPE)
			return 0;
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(f->value, atomic_load(&f->count));
		atomic_fetch_add(&f->count, 1);
	}
}

static const struct ak_future_vtable drain_vtable = { drain_poll, no_cancel };

/* Floods a consumer with N values on a pool of nworkers; its peak queue
 * length goes to *peak, what it had received when the producer finished to
 * *received. */
static void flood(int nworkers, size_t *peak, long long *received)
{
	enum { N = 50000 };
	struct ak_debug_counts before = tk_counters(), after;
	struct ak_pool *p = new_pool(nworkers);
	struct flood *prod = calloc(1, sizeof *prod);
	struct drain *cons = calloc(1, sizeof *cons);
	struct ak_mpsc_tx *tx;

	ck_assert_ptr_nonnull(prod);
	ck_assert_ptr_nonnull(cons);
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int64_t), NULL, &tx, &cons->rx), 0);
	prod->tx = tx;
	prod->n = N;
	prod->received = &cons->count;
	ck_assert_int_eq(ak_future_init(&prod->future, &flood_vtable), 0);
	ck_assert_int_eq(ak_future_init(&cons->future, &drain_vtable), 0);
	/* The consumer first: it waits when the producer starts. */
	ck_assert_int_eq(ak_pool_spawn(p, &cons->future, NULL), 0);
	ck_assert_int_eq(ak_pool_spawn(p, &prod->future, NULL), 0);
	/* Longer than wait_idle(): 50000 messages under TSan on a loaded
	 * machine take seconds. */
	ck_assert_int_eq(ak_pool_wait_idle(p, ak_deadline_in(60000 * MS)), 0);
	ck_assert_int_eq(atomic_load(&cons->count), N);
	*peak = cons->peak;
	*received = prod->received_when_done;
	ak_mpsc_rx_drop(cons->rx);
	ck_assert_int_eq(ak_pool_free(p), 0);
	after = tk_counters();
	ck_assert_int_eq(after.live_objects, before.live_objects);
	free(prod);
	free(cons);
}

/*
 * On one worker the promise is exact: the producer's send spends budget,
 * so every 128 sends it yields to the back of the queue and the consumer
 * (in the LIFO slot, woken by it) drains.  Before the unbounded send spent
 * budget the queue peaked at all 50000 values.  On two workers the pair
 * may end up running in parallel on two cores, and then an unbounded
 * channel has no bound: the faster producer outruns the consumer (tokio's
 * would too); the queue's peak is not a promise there.
 */
START_TEST(a_producer_that_never_waits_cannot_starve_its_consumer_on_one_worker)
{
	size_t peak;
	long long received;

	flood(1, &peak, &received);
	/* Each yield of the producer (its budget spent) lets the consumer
	 * drain: the queue stays near a budget's worth, never near N. */
	ck_assert_uint_lt(peak, 8 * AK_BUDGET_DEFAULT);
	ck_assert_int_gt(received, 0);
}
END_TEST

/* On two workers the consumer runs while the producer floods (it is not
 * left waiting in a LIFO slot until the producer ends); the queue's peak
 * is no promise there (see above). */
START_TEST(a_producer_that_never_waits_cannot_starve_its_consumer_on_two_workers)
{
	size_t peak;
	long long received;

	flood(2, &peak, &received);
	ck_assert_int_gt(received, 0);
}
END_TEST


Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *run = tk_tcase("run");
	TCase *wakes = tk_tcase("wakes");
	TCase *cancel = tk_tcase("cancel");
	TCase *misuse = tk_tcase("misuse");
	TCase *fair = tk_tcase("fairness");

	tcase_add_test(run, spawned_task_runs_and_reports_its_result);
	tcase_add_test(run, pool_of_zero_workers_runs_tasks);
	tcase_add_test(run, ten_thousand_tasks_across_workers_complete_exactly_once);
	tcase_add_test(run, task_spawned_from_inside_a_task_is_run);
	tcase_add_test(run, each_poll_gets_a_fresh_context_and_the_tasks_slot);
	tcase_add_test(run, a_poll_after_one_that_spent_the_budget_gets_a_full_one);
	tcase_add_test(run, pool_task_joining_another_pool_task_gets_its_result);
	tcase_add_test(cancel, cancelling_a_pool_task_completes_its_join_with_ecanceled);
	tcase_add_test(wakes, a_burst_queued_from_outside_onto_parked_workers_wakes_a_second_one);
	tcase_add_test(wakes, wakes_from_foreign_threads_make_parked_tasks_ready);
	tcase_add_test(wakes, a_task_woken_from_another_pools_task_runs_on_its_own_pool);
	tcase_add_test(wakes, wake_during_poll_requeues_and_never_polls_the_task_concurrently);
	tcase_add_test(wakes, wake_during_poll_puts_the_task_at_the_tail);
	tcase_add_test(wakes, wake_after_completion_is_ignored);
	tcase_add_test(wakes, late_wake_after_free_is_harmless);
	tcase_add_test(cancel, task_cancel_from_another_thread_cancels_a_parked_task);
	tcase_add_test(cancel, task_cancel_during_a_poll_takes_effect_when_the_poll_ends);
	tcase_add_test(cancel, a_task_cancelled_while_queued_is_never_polled);
	tcase_add_test(cancel, pool_free_cancels_parked_and_queued_tasks_and_drops_their_wakers);
	tcase_add_test(cancel, wait_idle_times_out_while_a_task_is_parked);
	tcase_add_test(cancel, blocking_calls_and_self_cancel_inside_a_pool_task_are_refused);
	tcase_add_test(cancel, pool_free_cancels_a_task_waiting_in_a_lifo_slot);
	tcase_add_test(fair, a_task_that_yields_forever_cannot_starve_a_task_queued_from_outside);
	tcase_add_test(fair, two_tasks_waking_each_other_let_a_third_run);
	tcase_add_test(fair, a_task_queued_behind_a_poll_that_does_not_return_runs_on_the_other_worker);
	tcase_add_test(fair, tasks_pushed_out_of_the_lifo_slot_behind_a_poll_that_does_not_return_run_on_the_other_worker);
	tcase_add_test(fair, a_lone_task_that_yields_while_its_worker_polls_stays_on_that_worker);
	/* The watcher needs membarrier(2) (ak_pool(3)); without it the pool
	 * keeps the older promise, which the tests above check. */
	if (ak__fence_heavy_ready()) {
		tcase_add_test(fair, tasks_behind_a_poll_that_does_not_return_are_taken_by_the_watcher_without_a_wake);
		tcase_add_test(fair, the_watcher_stops_waking_once_the_pool_is_idle);
	}
	tcase_add_test(misuse, bad_inputs_return_einval_and_change_nothing);
	tcase_add_test(misuse, spawn_of_a_bad_or_already_spawned_future_returns_einval);
	tcase_add_test(misuse, spawn_without_memory_returns_enomem_and_leaves_the_future);
	suite_add_tcase(s, run);
	suite_add_tcase(s, wakes);
	suite_add_tcase(s, cancel);
	tcase_add_test(fair, a_producer_that_never_waits_cannot_starve_its_consumer_on_one_worker);
	tcase_add_test(fair, a_producer_that_never_waits_cannot_starve_its_consumer_on_two_workers);
	suite_add_tcase(s, fair);
	suite_add_tcase(s, misuse);
	return s;
}
