/*
 * The single-thread executor's tasks seen from other threads: its tasks are
 * owned (runtime/task.h), so the thread running the executor polls, wakes,
 * clones and drops with plain operations, and every other thread goes
 * through the task's remote word and the executor's remote queue.  These
 * tests mix the two sides: remote wakes racing the owner's polls, waker
 * references taken on one side and dropped on the other (also after the
 * task finished and the executor is gone), and cancels from another
 * thread, which the executor's thread performs.
 */
#include <sched.h>
#include <string.h>

#include "testkit.h"

/* ---- a future that records which thread cancelled it ------------------------ */

struct probe_future {
	struct ak_future future;
	pthread_mutex_t lock;
	struct ak_waker stored;     /* under lock */
	atomic_int polls;
	atomic_int cancels;
	pthread_t cancelled_on;
	/* when set: the first poll lets `cancel_now` go and waits until the
	 * cancelling thread returned, then completes with 0 */
	atomic_int *cancel_now, *cancel_returned;
	/* when set: the cancel calls ak_block_on() on a ready future and
	 * keeps what it returned in block_on_rc */
	int block_in_cancel;
	int block_on_rc;
};

static void probe_keep(struct probe_future *p, struct ak_context *cx)
{
	pthread_mutex_lock(&p->lock);
	if (p->stored.vtable)
		ak_waker_drop(&p->stored);
	ak_waker_clone(&cx->waker, &p->stored);
	pthread_mutex_unlock(&p->lock);
}

/* Wakes the kept clone by reference, if there is one (any thread). */
static void probe_wake(struct probe_future *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->stored.vtable)
		ak_waker_wake_by_ref(&p->stored);
	pthread_mutex_unlock(&p->lock);
}

static int probe_poll(struct ak_future *f, struct ak_context *cx)
{
	struct probe_future *p = (struct probe_future *)f;

	atomic_fetch_add(&p->polls, 1);
	if (p->cancel_now) {
		atomic_store(p->cancel_now, 1);
		TK_WAIT_UNTIL(atomic_load(p->cancel_returned));
		return 0;
	}
	probe_keep(p, cx);
	return AK_PENDING;
}

static void probe_cancel(struct ak_future *f)
{
	struct probe_future *p = (struct probe_future *)f;

	atomic_fetch_add(&p->cancels, 1);
	p->cancelled_on = pthread_self();
	if (p->block_in_cancel) {
		struct tk_count_future ready;
		tk_ready_init(&ready, 7);
		p->block_on_rc = ak_block_on(&ready.future, AK_DEADLINE_NEVER);
	}
	pthread_mutex_lock(&p->lock);
	if (p->stored.vtable)
		ak_waker_drop(&p->stored);
	pthread_mutex_unlock(&p->lock);
}

static const struct ak_future_vtable probe_vtable = { probe_poll, probe_cancel };

static void probe_init(struct probe_future *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	ak_future_init(&p->future, &probe_vtable);
}

static void probe_destroy(struct probe_future *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->stored.vtable)
		ak_waker_drop(&p->stored);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
}

/* Runs ex until its tasks finished while fn runs on another thread. */
static void run_all_beside(struct ak_executor *ex, void *(*fn)(void *), void *arg)
{
	pthread_t th;

	pthread_create(&th, NULL, fn, arg);
	/* Parks between wakes; returns once every task finished. */
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), 0);
	pthread_join(th, NULL);
}

/* Releases the handle, frees the executor and the probe. */
static void finish_probe(struct ak_executor *ex, struct ak_task *t,
                         struct probe_future *p)
{
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	probe_destroy(p);
}

struct canceller {
	struct ak_task *task;
	atomic_int *go;             /* NULL: at once */
	atomic_int *returned;
	int rc;
};

static void *cancel_thread(void *arg)
{
	struct canceller *c = arg;

	if (c->go)
		TK_WAIT_UNTIL(atomic_load(c->go));
	c->rc = ak_task_cancel(c->task);
	if (c->returned)
		atomic_store(c->returned, 1);
	return NULL;
}

/* A new executor whose one task, p, ran once and parked keeping its waker. */
static struct ak_executor *spawn_parked_probe(struct probe_future *p, struct ak_task **t)
{
	struct ak_executor *ex;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	probe_init(p);
	ck_assert_int_eq(ak_executor_spawn(ex, &p->future, t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	return ex;
}

/* ak_task_cancel(t) called on a thread of its own: what it returned. */
static int cancel_on_a_thread(struct ak_task *t)
{
	struct canceller c = { .task = t };
	pthread_t th;

	pthread_create(&th, NULL, cancel_thread, &c);
	pthread_join(th, NULL);
	return c.rc;
}

START_TEST(cancel_from_another_thread_runs_on_the_executor_thread_at_its_next_run)
{
	struct probe_future p;
	struct ak_task *t = NULL;
	struct ak_executor *ex = spawn_parked_probe(&p, &t);

	ck_assert_int_eq(cancel_on_a_thread(t), 0);
	/* Recorded, not performed: the body is untouched until the run. */
	ck_assert_int_eq(atomic_load(&p.cancels), 0);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_uint_eq(ak_executor_task_count(ex), 1);
	ak_executor_run(ex);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert(pthread_equal(p.cancelled_on, pthread_self()));
	ck_assert_int_eq(atomic_load(&p.polls), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	finish_probe(ex, t, &p);
}
END_TEST

/* The run loop stays at its polls' depth across them, and goes back to its
 * own around what is no poll: a cancel it performs runs outside any poll,
 * as one made on the executor's thread between runs does. */
START_TEST(cancel_from_another_thread_runs_outside_any_poll)
{
	struct probe_future p;
	struct ak_task *t = NULL;
	struct ak_executor *ex = spawn_parked_probe(&p, &t);

	p.block_in_cancel = 1;
	ck_assert_int_eq(cancel_on_a_thread(t), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(p.block_on_rc, 7);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	finish_probe(ex, t, &p);
}
END_TEST

START_TEST(a_poll_that_completes_wins_over_a_cancel_from_another_thread_during_it)
{
	struct ak_executor *ex;
	struct probe_future p;
	struct ak_task *t = NULL;
	atomic_int go = 0, returned = 0;
	struct canceller c = { .go = &go, .returned = &returned };
	pthread_t th;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	probe_init(&p);
	p.cancel_now = &go;
	p.cancel_returned = &returned;
	ck_assert_int_eq(ak_executor_spawn(ex, &p.future, &t), 0);
	c.task = t;
	pthread_create(&th, NULL, cancel_thread, &c);
	ak_executor_run(ex);
	pthread_join(th, NULL);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 0);
	/* The cancel's entry, if it still comes, finds the task finished. */
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 0);
	finish_probe(ex, t, &p);
}
END_TEST

START_TEST(cancel_from_another_thread_after_executor_free_is_a_noop)
{
	struct probe_future p;
	struct ak_task *t = NULL;
	struct ak_executor *ex = spawn_parked_probe(&p, &t);

	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(cancel_on_a_thread(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
	probe_destroy(&p);
}
END_TEST

/* ---- references across the two sides ------------------------------------------ */

struct dropper {
	struct ak_waker w;
};

static void *drop_thread(void *arg)
{
	struct dropper *d = arg;

	ak_waker_drop(&d->w);
	return NULL;
}

START_TEST(a_clone_taken_on_the_executor_and_dropped_elsewhere_last_frees_the_task)
{
	struct ak_executor *ex;
	struct tk_keeper_future k;
	struct dropper d;
	pthread_t th;

	struct ak_debug_counts before = tk_counters();
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	tk_keeper_init(&k, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &k.future, NULL), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	/* The task record lives on while the clone does... */
	struct ak_debug_counts mid = tk_counters();
	ck_assert_int_gt(mid.live_objects, before.live_objects);
	d.w = k.kept;
	k.kept.vtable = NULL;
	pthread_create(&th, NULL, drop_thread, &d);
	pthread_join(th, NULL);
	/* ...and the drop on another thread was the last reference. */
	struct ak_debug_counts after = tk_counters();
	ck_assert_int_eq(after.live_objects, before.live_objects);
}
END_TEST

/*
 * Parks keeping a clone; another thread clones that clone, wakes through
 * its own clone and drops it, over and over, while the executor's thread
 * polls, re-clones and drops on its side.  Done when the thread says so.
 */
struct mixer {
	struct probe_future p;
	atomic_int stop;
	atomic_int done_polling;
	long rounds;
};

static int mixer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mixer *m = (struct mixer *)f;

	atomic_fetch_add(&m->p.polls, 1);
	if (atomic_load(&m->stop))
		return 0;
	probe_keep(&m->p, cx);
	if (atomic_load(&m->stop))
		return 0;       /* the stop's wake may have hit the old clone */
	return AK_PENDING;
}

static void mixer_cancel(struct ak_future *f)
{
	probe_cancel(f);
}

static const struct ak_future_vtable mixer_vtable = { mixer_poll, mixer_cancel };

static int probe_stored(struct probe_future *p)
{
	pthread_mutex_lock(&p->lock);
	int stored = p->stored.vtable != NULL;
	pthread_mutex_unlock(&p->lock);
	return stored;
}

static void *mixer_thread(void *arg)
{
	struct mixer *m = arg;

	/* The first poll's clone first: a thread that ran every round before
	 * it (a loaded machine) would stop a task polled once. */
	TK_WAIT_UNTIL(probe_stored(&m->p));
	for (long i = 0; i < m->rounds; i++) {
		struct ak_waker mine = { NULL, NULL };
		pthread_mutex_lock(&m->p.lock);
		if (m->p.stored.vtable)
			ak_waker_clone(&m->p.stored, &mine);
		pthread_mutex_unlock(&m->p.lock);
		if (mine.vtable) {
			if (i % 2)
				ak_waker_wake(&mine);
			else {
				ak_waker_wake_by_ref(&mine);
				ak_waker_drop(&mine);
			}
		}
		if (i % 16 == 0)
			sched_yield();
	}
	atomic_store(&m->stop, 1);
	probe_wake(&m->p);
	return NULL;
}

START_TEST(remote_wakes_clones_and_drops_racing_the_owner_lose_nothing)
{
	struct ak_executor *ex;
	struct mixer m;
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	probe_init(&m.p);
	atomic_init(&m.stop, 0);
	m.rounds = 20000;
	ak_future_init(&m.p.future, &mixer_vtable);
	ck_assert_int_eq(ak_executor_spawn(ex, &m.p.future, &t), 0);
	run_all_beside(ex, mixer_thread, &m);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_ge(atomic_load(&m.p.polls), 2);
	finish_probe(ex, t, &m.p);
}
END_TEST

/*
 * A sequence of remote wakes, each waiting until the task saw it: a wake
 * lost between the owner's poll and its park would hang here.
 */
struct seq {
	struct probe_future p;
	atomic_int posted, seen;
	int n;
};

static int seq_poll(struct ak_future *f, struct ak_context *cx)
{
	struct seq *s = (struct seq *)f;

	probe_keep(&s->p, cx);
	int v = atomic_load(&s->posted);
	atomic_store(&s->seen, v);
	return v == s->n ? 0 : AK_PENDING;
}

static const struct ak_future_vtable seq_vtable = { seq_poll, probe_cancel };

static void *seq_thread(void *arg)
{
	struct seq *s = arg;

	for (int i = 1; i <= s->n; i++) {
		atomic_store(&s->posted, i);
		probe_wake(&s->p);
		TK_WAIT_UNTIL(atomic_load(&s->seen) >= i);
	}
	return NULL;
}

START_TEST(every_wake_from_another_thread_reaches_a_parked_executor)
{
	struct ak_executor *ex;
	struct seq s;
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	probe_init(&s.p);
	atomic_init(&s.posted, 0);
	atomic_init(&s.seen, 0);
	s.n = 3000;
	ak_future_init(&s.p.future, &seq_vtable);
	ck_assert_int_eq(ak_executor_spawn(ex, &s.p.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);      /* stores the waker */
	run_all_beside(ex, seq_thread, &s);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(atomic_load(&s.seen), s.n);
	finish_probe(ex, t, &s.p);
}
END_TEST

START_TEST(handle_released_on_another_thread_while_the_task_runs_frees_it_once)
{
	struct ak_executor *ex;
	struct tk_flag_future f;
	struct ak_task *t = NULL;
	struct tk_setter s;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ak_task_release(t);     /* the handle's reference, dropped off-run */
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_executor_run_all(ex, AK_DEADLINE_NEVER), 0);
	tk_setter_join(&s);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(atomic_load(&f.clones), atomic_load(&f.released));
}
END_TEST

/*
 * A task with an entry in the local queue gets a second one in the remote
 * queue when another thread wakes it: the two queues must not share a
 * link (they once did, and the remote push cut the local queue behind it:
 * a task queued after it was never polled, and the stale remote entry
 * later freed a record still in use; stress_sem found it).
 */
struct gate {
	struct probe_future p;
	atomic_int open;
};

static int gate_poll(struct ak_future *f, struct ak_context *cx)
{
	struct gate *g = (struct gate *)f;

	atomic_fetch_add(&g->p.polls, 1);
	if (atomic_load(&g->open))
		return 0;
	probe_keep(&g->p, cx);
	return AK_PENDING;
}

static const struct ak_future_vtable gate_vtable = { gate_poll, probe_cancel };

static void gate_init(struct gate *g)
{
	probe_init(&g->p);
	atomic_init(&g->open, 0);
	ak_future_init(&g->p.future, &gate_vtable);
}

static void gate_wake(struct gate *g)
{
	probe_wake(&g->p);
}

static void *gate_wake_thread(void *arg)
{
	gate_wake(arg);
	return NULL;
}

/* Opens both gates, wakes a and c here, and a once more from a thread. */
struct opener {
	struct ak_future future;
	struct gate *a, *c;
};

static int opener_poll(struct ak_future *f, struct ak_context *cx)
{
	struct opener *o = (struct opener *)f;
	pthread_t th;

	(void)cx;
	atomic_store(&o->a->open, 1);
	atomic_store(&o->c->open, 1);
	gate_wake(o->a);
	gate_wake(o->c);
	pthread_create(&th, NULL, gate_wake_thread, o->a);
	pthread_join(th, NULL);
	return 0;
}

static void opener_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable opener_vtable = { opener_poll, opener_cancel };

START_TEST(a_task_queued_here_and_woken_from_another_thread_keeps_both_queues_intact)
{
	struct ak_executor *ex;
	struct gate a, c;
	struct opener o = { .a = &a, .c = &c };
	struct ak_task *ta = NULL, *tc = NULL;

	ck_assert_int_eq(ak_executor_new(&ex), 0);
	gate_init(&a);
	gate_init(&c);
	ak_future_init(&o.future, &opener_vtable);
	ck_assert_int_eq(ak_executor_spawn(ex, &a.p.future, &ta), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &c.p.future, &tc), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &o.future, NULL), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(ak_task_result(ta), 0);
	ck_assert_int_eq(ak_task_result(tc), 0);
	ck_assert_int_eq(atomic_load(&a.p.polls), 2);
	ck_assert_int_eq(atomic_load(&c.p.polls), 2);
	ck_assert_uint_eq(ak_executor_task_count(ex), 0);
	ak_task_release(ta);
	ak_task_release(tc);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	probe_destroy(&a.p);
	probe_destroy(&c.p);
}
END_TEST

Suite *executor_threads_suite(void)
{
	Suite *s = suite_create("executor_threads");
	TCase *tc = tk_tcase("executor_threads");

	tcase_add_test(tc, cancel_from_another_thread_runs_on_the_executor_thread_at_its_next_run);
	tcase_add_test(tc, cancel_from_another_thread_runs_outside_any_poll);
	tcase_add_test(tc, a_poll_that_completes_wins_over_a_cancel_from_another_thread_during_it);
	tcase_add_test(tc, cancel_from_another_thread_after_executor_free_is_a_noop);
	tcase_add_test(tc, a_clone_taken_on_the_executor_and_dropped_elsewhere_last_frees_the_task);
	tcase_add_test(tc, remote_wakes_clones_and_drops_racing_the_owner_lose_nothing);
	tcase_add_test(tc, every_wake_from_another_thread_reaches_a_parked_executor);
	tcase_add_test(tc, handle_released_on_another_thread_while_the_task_runs_frees_it_once);
	tcase_add_test(tc, a_task_queued_here_and_woken_from_another_thread_keeps_both_queues_intact);
	suite_add_tcase(s, tc);
	return s;
}
