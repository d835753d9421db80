/*
 * The task API (<awaitkit/task.h>): every executor obligation of
 * ak_waker(3) checked against ak_task_new/schedule/run directly, with a
 * test executor that is a locked array queue; claiming; join handles.
 */
#include <sched.h>
#include <string.h>

#include "testkit.h"

/* ---- a test executor: a locked ring of task pointers ------------------------ */

#define TQ_MAX 16

struct tq {
	pthread_mutex_t lock;
	struct ak_task *items[TQ_MAX];
	size_t head, tail;
	atomic_int schedules;
};

static void tq_init(struct tq *q)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
}

static void tq_schedule(struct ak_task *task, void *arg)
{
	struct tq *q = arg;

	pthread_mutex_lock(&q->lock);
	q->items[q->tail++ % TQ_MAX] = task;
	pthread_mutex_unlock(&q->lock);
	atomic_fetch_add(&q->schedules, 1);
}

static struct ak_task *tq_pop(struct tq *q)
{
	struct ak_task *t = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->head != q->tail)
		t = q->items[q->head++ % TQ_MAX];
	pthread_mutex_unlock(&q->lock);
	return t;
}

static size_t tq_len(struct tq *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->tail - q->head;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* Runs entries until the queue is empty; returns how many completed. */
static int tq_drain(struct tq *q)
{
	struct ak_task *t;
	int done = 0;

	while ((t = tq_pop(q)) != NULL) {
		int rc = ak_task_run(t);
		ck_assert_int_ge(rc, 0);
		done += rc;
	}
	return done;
}

static struct ak_task *new_task(struct tq *q, struct ak_future *body)
{
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_task_new(body, tq_schedule, q, &t), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- a body that hands its waker to another thread mid-poll ----------------
 * Its first poll clones the waker, lets the partner thread act (wake it,
 * cancel the task) while the poll is still running, waits until the
 * partner has acted, and returns first_result.  Later polls return 0.
 */
enum { ACT_WAKE, ACT_CANCEL };

struct mid_poll {
	struct ak_future future;
	struct ak_task *task;
	struct ak_waker clone;
	int action;
	int first_result;
	int rc_cancel;
	atomic_int phase;       /* 0, 1 clone handed over, 2 partner acted */
	atomic_int polls;
	atomic_int cancels;
	pthread_t thread;
};

static int mid_poll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mid_poll *m = (struct mid_poll *)f;

	if (atomic_fetch_add(&m->polls, 1) > 0)
		return 0;
	if (ak_waker_clone(&cx->waker, &m->clone) != 0)
		return AK_ENOMEM;
	atomic_store(&m->phase, 1);
	TK_WAIT_UNTIL(atomic_load(&m->phase) == 2);
	return m->first_result;
}

static void mid_poll_cancel(struct ak_future *f)
{
	atomic_fetch_add(&((struct mid_poll *)f)->cancels, 1);
}

static const struct ak_future_vtable mid_poll_vtable = { mid_poll_poll,
	                                                 mid_poll_cancel };

static void *mid_poll_partner(void *arg)
{
	struct mid_poll *m = arg;

	TK_WAIT_UNTIL(atomic_load(&m->phase) == 1);
	if (m->action == ACT_WAKE) {
		ak_waker_wake(&m->clone);
	} else {
		m->rc_cancel = ak_task_cancel(m->task);
		ak_waker_drop(&m->clone);
	}
	atomic_store(&m->phase, 2);
	return NULL;
}

static void mid_poll_start(struct mid_poll *m, int action, int first_result)
{
	memset(m, 0, sizeof *m);
	m->action = action;
	m->first_result = first_result;
	ck_assert_int_eq(ak_future_init(&m->future, &mid_poll_vtable), 0);
	ck_assert_int_eq(pthread_create(&m->thread, NULL, mid_poll_partner, m), 0);
}

/* ---- a body that parks forever, keeping nothing ----------------------------- */

struct forever {
	struct ak_future future;
	struct ak_waker clone;      /* its first poll's waker, for the test */
	atomic_int polls;
	atomic_int cancels;
};

static int forever_poll(struct ak_future *f, struct ak_context *cx)
{
	struct forever *p = (struct forever *)f;

	if (atomic_fetch_add(&p->polls, 1) == 0 &&
	    ak_waker_clone(&cx->waker, &p->clone) != 0)
		return AK_ENOMEM;
	return AK_PENDING;
}

static void forever_cancel(struct ak_future *f)
{
	atomic_fetch_add(&((struct forever *)f)->cancels, 1);
}

static const struct ak_future_vtable forever_vtable = { forever_poll,
	                                                forever_cancel };

static void forever_init(struct forever *p)
{
	memset(p, 0, sizeof *p);
	ck_assert_int_eq(ak_future_init(&p->future, &forever_vtable), 0);
}

/* ---- creating, scheduling, running ------------------------------------------ */

START_TEST(new_task_is_idle_until_scheduled)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(atomic_load(&q.schedules), 0);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(ak_task_schedule(t), 0);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_ptr_eq(tq_pop(&q), t);
	ck_assert_int_eq(ak_task_run(t), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(run_of_unscheduled_task_returns_einval_and_changes_nothing)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_count_init(&f, 1, 0, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(ak_task_run(t), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 0);
	/* Idle again: no entry. */
	ck_assert_int_eq(ak_task_run(t), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	/* Finished: no entry either. */
	ck_assert_int_eq(ak_task_run(t), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	ck_assert_int_eq(ak_task_run(NULL), AK_EINVAL);
	ak_task_release(t);
}
END_TEST

START_TEST(run_returns_one_when_the_body_fails_and_keeps_its_error)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_ready_init(&f, AK_EPIPE);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ak_task_release(t);
}
END_TEST

START_TEST(schedule_twice_queues_the_task_once)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ak_task_schedule(t);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ak_task_release(t);
}
END_TEST

START_TEST(wake_during_poll_schedules_the_task_after_the_poll)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_after_init(&f, 1);           /* wakes itself, returns AK_PENDING */
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);     /* not polled inline */
	ck_assert_int_eq(atomic_load(&q.schedules), 2);
	ck_assert_uint_eq(tq_len(&q), 1);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	ak_task_release(t);
}
END_TEST

START_TEST(yielding_task_goes_behind_the_other_ready_tasks)
{
	struct tq q;
	struct tk_count_future a, b;
	struct tk_log log;

	memset(&log, 0, sizeof log);
	tq_init(&q);
	tk_after_init(&a, 1);
	tk_ready_init(&b, 0);
	a.id = 1;
	a.log = &log;
	b.id = 2;
	b.log = &log;
	struct ak_task *ta = new_task(&q, &a.future);
	struct ak_task *tb = new_task(&q, &b.future);
	ak_task_schedule(ta);
	ak_task_schedule(tb);
	ck_assert_int_eq(tq_drain(&q), 2);
	ck_assert_int_eq(tk_log_len(&log), 3);
	ck_assert_int_eq(log.ids[0], 1);
	ck_assert_int_eq(log.ids[1], 2);
	ck_assert_int_eq(log.ids[2], 1);
	ak_task_release(ta);
	ak_task_release(tb);
}
END_TEST

START_TEST(each_poll_gets_a_fresh_context_with_budget_and_the_tasks_slot)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_after_init(&f, 2);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(f.budgets[i], AK_BUDGET_DEFAULT);
	ck_assert_ptr_nonnull(f.slot);
	ck_assert_uint_eq(ak_task_slot_pending_polls(f.slot), 2);
	ak_task_release(t);
}
END_TEST

START_TEST(blocking_calls_inside_the_poll_return_edeadlk)
{
	struct tq q;
	struct tk_blocker_future b;
	struct tk_count_future inner;

	tq_init(&q);
	tk_ready_init(&inner, 0);
	tk_blocker_init(&b, &inner.future, NULL, NULL);
	struct ak_task *t = new_task(&q, &b.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(b.rc_block_on, AK_EDEADLK);
	/* The depth was restored: this thread may block again. */
	tk_ready_init(&inner, 0);
	ck_assert_int_eq(ak_block_on(&inner.future, AK_DEADLINE_NEVER), 0);
	ak_task_release(t);
}
END_TEST

/* ---- the waker obligations, across threads ----------------------------------- */

START_TEST(wake_from_another_thread_during_the_poll_requeues_after_it)
{
	struct tq q;
	struct mid_poll m;

	tq_init(&q);
	mid_poll_start(&m, ACT_WAKE, AK_PENDING);
	struct ak_task *t = new_task(&q, &m.future);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 0);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(atomic_load(&m.polls), 1);
	ck_assert_int_eq(atomic_load(&q.schedules), 2);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(atomic_load(&m.polls), 2);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(wake_during_a_poll_that_completes_schedules_nothing)
{
	struct tq q;
	struct mid_poll m;

	tq_init(&q);
	mid_poll_start(&m, ACT_WAKE, 0);
	struct ak_task *t = new_task(&q, &m.future);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_uint_eq(tq_len(&q), 0);
	ak_task_release(t);
}
END_TEST

struct waker_box {
	struct ak_waker w;
	int by_ref;
	struct tk_baton *go;
};

static void *wake_box(void *arg)
{
	struct waker_box *b = arg;

	if (b->go)
		tk_baton_wait(b->go, 1);
	if (b->by_ref) {
		ak_waker_wake_by_ref(&b->w);
		ak_waker_drop(&b->w);
	} else {
		ak_waker_wake(&b->w);
	}
	return NULL;
}

START_TEST(wake_after_completion_from_another_thread_is_ignored)
{
	struct tq q;
	struct tk_keeper_future k;
	struct waker_box box = { .by_ref = 0 };
	pthread_t th;

	tq_init(&q);
	tk_keeper_init(&k, 0);
	struct ak_task *t = new_task(&q, &k.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	box.w = k.kept;
	k.kept.vtable = NULL;
	ak_task_release(t);     /* the waker is all that keeps the record */
	pthread_create(&th, NULL, wake_box, &box);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_uint_eq(tq_len(&q), 0);
}
END_TEST

START_TEST(two_threads_waking_an_idle_task_queue_it_once)
{
	enum { ROUNDS = 50 };
	struct tq q;
	struct forever p;

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	for (int i = 0; i < ROUNDS; i++) {
		struct tk_baton go = { 0 };
		struct waker_box a = { .by_ref = 1, .go = &go };
		struct waker_box b = { .by_ref = 0, .go = &go };
		pthread_t ta, tb;
		int before = atomic_load(&q.schedules);

		ck_assert_int_eq(ak_waker_clone(&p.clone, &a.w), 0);
		ck_assert_int_eq(ak_waker_clone(&p.clone, &b.w), 0);
		pthread_create(&ta, NULL, wake_box, &a);
		pthread_create(&tb, NULL, wake_box, &b);
		tk_baton_pass(&go, 1);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		ck_assert_int_eq(atomic_load(&q.schedules), before + 1);
		ck_assert_uint_eq(tq_len(&q), 1);
		ck_assert_int_eq(tq_drain(&q), 0);
	}
	ak_waker_drop(&p.clone);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ak_task_release(t);
}
END_TEST

struct hammer {
	struct ak_waker w;
	atomic_int stop;
	int wakes;
};

static void *hammer_wakes(void *arg)
{
	struct hammer *h = arg;

	while (!atomic_load(&h->stop) || h->wakes < 100) {
		ak_waker_wake_by_ref(&h->w);
		if (++h->wakes % 16 == 0)
			sched_yield();
	}
	ak_waker_drop(&h->w);
	return NULL;
}

START_TEST(wakes_concurrent_with_runs_cancel_and_release_are_safe)
{
	struct tq q;
	struct forever p;
	struct hammer h = { .wakes = 0 };
	pthread_t th;

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	h.w = p.clone;
	p.clone.vtable = NULL;
	pthread_create(&th, NULL, hammer_wakes, &h);
	for (int i = 0; i < 200; i++) {
		struct ak_task *e = tq_pop(&q);
		if (e)
			ck_assert_int_eq(ak_task_run(e), 0);
		else
			sched_yield();
	}
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ak_task_release(t);
	atomic_store(&h.stop, 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(tq_drain(&q), 0);      /* a stale entry at most */
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
}
END_TEST

/* ---- cancelling -------------------------------------------------------------- */

START_TEST(cancel_of_an_idle_task_cancels_the_body_now)
{
	struct tq q;
	struct forever p;

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_waker_wake(&p.clone);        /* a wake of a cancelled task */
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ak_task_release(t);
}
END_TEST

START_TEST(cancel_of_a_queued_task_leaves_an_entry_that_run_consumes)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);     /* the entry keeps the record */
	struct ak_task *e = tq_pop(&q);
	ck_assert_ptr_eq(e, t);
	ck_assert_int_eq(ak_task_run(e), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
}
END_TEST

START_TEST(cancel_from_another_thread_during_the_poll_runs_when_it_ends)
{
	struct tq q;
	struct mid_poll m;

	tq_init(&q);
	mid_poll_start(&m, ACT_CANCEL, AK_PENDING);
	struct ak_task *t = new_task(&q, &m.future);
	m.task = t;
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(m.rc_cancel, 0);
	ck_assert_int_eq(atomic_load(&m.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
}
END_TEST

START_TEST(cancel_during_a_poll_that_completes_keeps_the_result)
{
	struct tq q;
	struct mid_poll m;

	tq_init(&q);
	mid_poll_start(&m, ACT_CANCEL, AK_EPIPE);
	struct ak_task *t = new_task(&q, &m.future);
	m.task = t;
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(atomic_load(&m.cancels), 0);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ak_task_release(t);
}
END_TEST

/* ---- bound tasks (ak_task_bind): cancelled on their own thread only ----------- */

struct remote_cancel {
	pthread_t th;
	struct ak_task *task;
	int times;
	int rc;
};

static void *remote_cancel_main(void *arg)
{
	struct remote_cancel *c = arg;
	for (int i = 0; i < c->times; i++)
		c->rc |= ak_task_cancel(c->task);
	return NULL;
}

/* ak_task_cancel(t), times times, from a thread of its own. */
static int cancel_elsewhere(struct ak_task *t, int times)
{
	struct remote_cancel c = { .task = t, .times = times };
	ck_assert_int_eq(pthread_create(&c.th, NULL, remote_cancel_main, &c), 0);
	pthread_join(c.th, NULL);
	return c.rc;
}

START_TEST(bound_task_cancelled_elsewhere_is_cancelled_by_the_run_of_one_entry)
{
	struct tq q;
	struct forever p;

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ck_assert_int_eq(ak_task_bind(t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);      /* parked */
	ck_assert_int_eq(cancel_elsewhere(t, 2), 0);
	/* Recorded, not performed: one entry for both calls. */
	ck_assert_int_eq(atomic_load(&p.cancels), 0);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(atomic_load(&q.schedules), 2);
	ck_assert_uint_eq(tq_len(&q), 1);
	ak_waker_wake_by_ref(&p.clone);         /* queued already: nothing */
	ck_assert_int_eq(atomic_load(&q.schedules), 2);
	/* The run of that entry, on this thread, cancels instead of polling. */
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(atomic_load(&p.polls), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_waker_wake(&p.clone);                /* finished: nothing */
	ck_assert_int_eq(atomic_load(&q.schedules), 2);
	ak_task_release(t);
}
END_TEST

START_TEST(bound_task_queued_when_cancelled_elsewhere_keeps_its_one_entry)
{
	struct tq q;
	struct tk_count_future f;

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(ak_task_bind(t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(cancel_elsewhere(t, 1), 0);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 0);     /* never polled */
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
}
END_TEST

START_TEST(bound_task_cancelled_on_its_thread_is_cancelled_at_once)
{
	struct tq q;
	struct forever p;

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ck_assert_int_eq(ak_task_bind(t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&q.schedules), 1);
	ak_waker_drop(&p.clone);
	ak_task_release(t);
}
END_TEST

START_TEST(bound_task_cancelled_elsewhere_during_its_poll_is_cancelled_as_it_ends)
{
	struct tq q;
	struct mid_poll m;

	tq_init(&q);
	mid_poll_start(&m, ACT_CANCEL, AK_PENDING);
	struct ak_task *t = new_task(&q, &m.future);
	m.task = t;
	ck_assert_int_eq(ak_task_bind(t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_run(tq_pop(&q)), 1);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(m.rc_cancel, 0);
	ck_assert_int_eq(atomic_load(&m.cancels), 1);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_uint_eq(tq_len(&q), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(bind_refuses_a_scheduled_or_bound_task_and_an_executors_task)
{
	struct tq q;
	struct tk_count_future f, g;
	struct ak_executor *ex;
	struct ak_task *e = NULL;

	tq_init(&q);
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_task_bind(NULL), AK_EINVAL);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(ak_task_bind(t), 0);
	ck_assert_int_eq(ak_task_bind(t), AK_EBUSY);
	ck_assert_int_eq(ak_task_cancel(t), 0);        /* never scheduled */
	ak_task_release(t);
	tk_ready_init(&f, 0);
	t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_bind(t), AK_EBUSY);
	ck_assert_int_eq(tq_drain(&q), 1);
	ak_task_release(t);
	tk_ready_init(&g, 0);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &g.future, &e), 0);
	ck_assert_int_eq(ak_task_bind(e), AK_EINVAL);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ak_task_release(e);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(task_cancelling_itself_returns_ebusy)
{
	struct tq q;
	struct tk_blocker_future b;

	tq_init(&q);
	tk_blocker_init(&b, NULL, NULL, NULL);
	struct ak_task *t = new_task(&q, &b.future);
	b.self = t;
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(b.rc_cancel_self, AK_EBUSY);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(released_unfinished_task_lives_until_it_finishes)
{
	struct tq q;
	struct tk_flag_future f;

	tq_init(&q);
	tk_flag_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ak_task_release(t);     /* detached */
	ck_assert_int_eq(tq_drain(&q), 0);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	/* tk_teardown: the record was freed. */
}
END_TEST

/* ---- claiming ------------------------------------------------------------------ */

/* ---- drop: the executor's arg outlives every schedule() call -------------- */

struct drop_probe {
	struct tq q;
	atomic_int drops;
	atomic_int schedules_after_drop;
};

static void probe_schedule(struct ak_task *task, void *arg)
{
	struct drop_probe *p = arg;

	if (atomic_load(&p->drops) != 0)
		atomic_fetch_add(&p->schedules_after_drop, 1);
	tq_schedule(task, &p->q);
}

static void probe_drop(void *arg)
{
	atomic_fetch_add(&((struct drop_probe *)arg)->drops, 1);
}

/* A task with a drop probe, polled once: parked, its waker cloned into
 * f->clone. */
static struct ak_task *probe_parked(struct drop_probe *p, struct forever *f)
{
	struct ak_task *t = NULL;

	memset(p, 0, sizeof *p);
	tq_init(&p->q);
	forever_init(f);
	ck_assert_int_eq(ak_task_new_with_drop(&f->future, probe_schedule, probe_drop,
	                                       p, &t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&p->q), 0);   /* parked, holding a clone */
	return t;
}

START_TEST(drop_runs_once_when_the_last_reference_goes)
{
	struct drop_probe p;
	struct forever f;
	struct ak_task *t = probe_parked(&p, &f);

	ck_assert_int_eq(ak_task_cancel(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(atomic_load(&p.drops), 0);     /* the clone keeps it */
	ak_waker_wake(&f.clone);                        /* the last reference */
	ck_assert_int_eq(atomic_load(&p.drops), 1);
	ck_assert_int_eq(atomic_load(&p.schedules_after_drop), 0);
}
END_TEST

/* A wake by value of an idle task: the waker's reference becomes the
 * entry's, so the task lives until that entry ran, and goes then. */
START_TEST(wake_by_value_of_an_idle_task_hands_its_reference_to_the_entry)
{
	struct drop_probe p;
	struct forever f;
	struct ak_task *t = probe_parked(&p, &f);

	ak_waker_wake(&f.clone);                /* queues it: one entry */
	ck_assert_int_eq(atomic_load(&p.q.schedules), 2);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ak_task_release(t);
	ck_assert_int_eq(atomic_load(&p.drops), 0);     /* the entry keeps it */
	ck_assert_int_eq(tq_drain(&p.q), 0);            /* a stale entry */
	ck_assert_int_eq(atomic_load(&p.drops), 1);
}
END_TEST

/* A wake by value of a task already queued: no second entry, and the
 * waker's reference is dropped. */
START_TEST(wake_by_value_of_a_queued_task_drops_its_reference)
{
	struct drop_probe p;
	struct forever f;
	struct ak_task *t = probe_parked(&p, &f);

	ak_task_schedule(t);
	ak_waker_wake(&f.clone);                /* queued already */
	ck_assert_int_eq(atomic_load(&p.q.schedules), 2);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(atomic_load(&p.drops), 0);     /* the entry keeps it */
	ck_assert_int_eq(tq_drain(&p.q), 0);            /* a stale entry */
	ck_assert_int_eq(atomic_load(&p.drops), 1);
	ck_assert_int_eq(atomic_load(&p.schedules_after_drop), 0);
}
END_TEST

static void *wake_and_drop(void *arg)
{
	ak_waker_wake((struct ak_waker *)arg);
	return NULL;
}

/* A wake from another thread racing with the cancel: its schedule() may
 * come after the task finished, never after drop. */
START_TEST(drop_comes_after_every_schedule_of_a_wake_racing_the_cancel)
{
	for (int i = 0; i < 200; i++) {
		struct drop_probe p;
		struct forever f;
		struct ak_task *t = NULL;
		pthread_t th;

		memset(&p, 0, sizeof p);
		tq_init(&p.q);
		forever_init(&f);
		ck_assert_int_eq(ak_task_new_with_drop(&f.future, probe_schedule,
		                                       probe_drop, &p, &t), 0);
		ak_task_schedule(t);
		ck_assert_int_eq(tq_drain(&p.q), 0);
		ck_assert_int_eq(pthread_create(&th, NULL, wake_and_drop, &f.clone), 0);
		ck_assert_int_eq(ak_task_cancel(t), 0);
		ak_task_release(t);
		pthread_join(th, NULL);
		tq_drain(&p.q);                 /* a stale entry, if the wake won */
		ck_assert_int_eq(atomic_load(&p.drops), 1);
		ck_assert_int_eq(atomic_load(&p.schedules_after_drop), 0);
	}
}
END_TEST

/* A body whose only poll clones its waker twice and completes with rc. */
struct two_clones {
	struct ak_future future;
	struct ak_waker clone[2];
	int rc;
};

static int two_clones_poll(struct ak_future *f, struct ak_context *cx)
{
	struct two_clones *b = (struct two_clones *)f;

	for (int i = 0; i < 2; i++) {
		if (ak_waker_clone(&cx->waker, &b->clone[i]) != 0)
			return AK_ENOMEM;
	}
	return b->rc;
}

static void two_clones_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable two_clones_vtable = { two_clones_poll, two_clones_cancel };

/* Clones made by a task's own poll (the first one takes the reference of
 * the entry being run, task.c) each keep the record alive: it goes with
 * the last of them, after the task finished and its handle was released. */
START_TEST(clones_made_by_the_poll_that_completes_keep_the_task_until_dropped)
{
	struct drop_probe p;
	struct two_clones b = { .rc = 0 };
	struct ak_task *t = NULL;

	memset(&p, 0, sizeof p);
	tq_init(&p.q);
	ck_assert_int_eq(ak_future_init(&b.future, &two_clones_vtable), 0);
	ck_assert_int_eq(ak_task_new_with_drop(&b.future, probe_schedule, probe_drop, &p, &t), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&p.q), 1);
	ak_task_release(t);
	ck_assert_int_eq(atomic_load(&p.drops), 0);
	ak_waker_drop(&b.clone[0]);
	ck_assert_int_eq(atomic_load(&p.drops), 0);     /* the other keeps it */
	ak_waker_wake(&b.clone[1]);                     /* done: no entry */
	ck_assert_int_eq(atomic_load(&p.drops), 1);
	ck_assert_int_eq(atomic_load(&p.q.schedules), 1);
}
END_TEST

START_TEST(new_claims_the_body_against_every_other_poller)
{
	struct tq q;
	struct tk_count_future f;
	struct ak_executor *ex;
	struct ak_task *t2 = NULL;

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(ak_task_new(&f.future, tq_schedule, &q, &t2), AK_EBUSY);
	ck_assert_ptr_null(t2);
	ck_assert_int_ne(ak_future_state(&f.future) & AK_FUTURE_OWNED, 0);
	struct tk_task *other = tk_task_new();
	ck_assert_int_eq(tk_poll(other, &f.future), AK_EINVAL);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	/* Finished: the body is the caller's again. */
	ck_assert_int_eq(ak_future_state(&f.future) & AK_FUTURE_OWNED, 0);
	ak_task_release(t);
}
END_TEST

START_TEST(new_of_spawned_future_returns_ebusy)
{
	struct tq q;
	struct tk_flag_future f;
	struct ak_executor *ex;
	struct ak_task *t = NULL;

	tq_init(&q);
	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, NULL), 0);
	ck_assert_int_eq(ak_task_new(&f.future, tq_schedule, &q, &t), AK_EBUSY);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(new_of_invalid_arguments_returns_einval)
{
	struct tq q;
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tq_init(&q);
	memset(&f, 0, sizeof f);
	f.future.vtable = &tk_count_vtable;     /* zeroed state */
	ck_assert_int_eq(ak_task_new(&f.future, tq_schedule, &q, &t), AK_EINVAL);
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_task_new(NULL, tq_schedule, &q, &t), AK_EINVAL);
	ck_assert_int_eq(ak_task_new(&f.future, NULL, &q, &t), AK_EINVAL);
	ck_assert_int_eq(ak_task_new(&f.future, tq_schedule, &q, NULL), AK_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(ak_future_state(&f.future) & AK_FUTURE_OWNED, 0);
	ck_assert_int_eq(ak_task_schedule(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_task_cancel(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_task_result(NULL), AK_EINVAL);
	ak_task_release(NULL);
}
END_TEST

START_TEST(run_of_an_executors_task_returns_einval)
{
	struct ak_executor *ex;
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_int_eq(ak_executor_spawn(ex, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_run(t), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_executor_run(ex), 1);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- joining ------------------------------------------------------------------- */

START_TEST(join_completes_with_the_tasks_result_when_it_finishes)
{
	struct tq q;
	struct tk_count_future f;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	tk_ready_init(&f, AK_EPIPE);
	struct ak_task *t = new_task(&q, &f.future);
	ck_assert_int_eq(ak_task_join_init(&join, t), 0);
	ck_assert_int_eq(tk_poll(joiner, &join.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(joiner, &join.future), AK_PENDING);
	ck_assert_int_eq(tk_task_take_woken(joiner), 0);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &join.future), AK_EPIPE);
	ak_task_release(t);
}
END_TEST

START_TEST(join_of_a_finished_task_completes_at_once)
{
	struct tq q;
	struct tk_count_future f;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	tk_ready_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(ak_task_join_init(&join, t), 0);
	ck_assert_int_eq(tk_poll(joiner, &join.future), 0);
	/* Any number of joins after it finished. */
	ck_assert_int_eq(ak_task_join_init(&join, t), 0);
	ck_assert_int_eq(tk_poll(joiner, &join.future), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(second_join_while_the_first_waits_returns_ebusy)
{
	struct tq q;
	struct forever p;
	struct ak_task_join_op j1, j2;
	memset(&j1, 0, sizeof j1);
	memset(&j2, 0, sizeof j2);
	struct tk_task *a = tk_task_new(), *b = tk_task_new();

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ak_task_join_init(&j1, t);
	ak_task_join_init(&j2, t);
	ck_assert_int_eq(tk_poll(a, &j1.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(b, &j2.future), AK_EBUSY);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(1000)), AK_EBUSY);
	/* Cancelling the first frees the slot. */
	ak_future_cancel(&j1.future);
	ak_task_join_init(&j2, t);
	ck_assert_int_eq(tk_poll(b, &j2.future), AK_PENDING);
	ak_future_cancel(&j2.future);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(cancelling_the_join_does_not_cancel_the_task)
{
	struct tq q;
	struct tk_flag_future f;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	tk_flag_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	ak_task_join_init(&join, t);
	ck_assert_int_eq(tk_poll(joiner, &join.future), AK_PENDING);
	ak_future_cancel(&join.future);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(tk_task_take_woken(joiner), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(cancel_through_the_handle_completes_the_join_with_ecanceled)
{
	struct tq q;
	struct forever p;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	forever_init(&p);
	struct ak_task *t = new_task(&q, &p.future);
	ak_task_join_init(&join, t);
	ck_assert_int_eq(tk_poll(joiner, &join.future), AK_PENDING);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(tk_poll_woken(joiner, &join.future), AK_ECANCELED);
	ak_task_release(t);
}
END_TEST

START_TEST(join_polled_by_another_task_moves_its_waker)
{
	struct tq q;
	struct tk_flag_future f;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct tk_task *a = tk_task_new(), *b = tk_task_new();

	tq_init(&q);
	tk_flag_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ak_task_join_init(&join, t);
	ck_assert_int_eq(tk_poll(a, &join.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(b, &join.future), AK_PENDING);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(tk_task_take_woken(a), 0);
	ck_assert_int_eq(tk_poll_woken(b, &join.future), 0);
	ak_task_release(t);
}
END_TEST

START_TEST(join_in_select_wins_when_the_task_finishes)
{
	struct tq q;
	struct tk_flag_future f, never;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct ak_select_op sel;
	memset(&sel, 0, sizeof sel);
	struct ak_branch br[2];
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	tk_flag_init(&f, 0);
	tk_flag_init(&never, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ak_task_join_init(&join, t);
	br[0].future = &join.future;
	br[0].flags = 0;
	br[1].future = &never.future;
	br[1].flags = 0;
	ck_assert_int_eq(ak_select_init(&sel, br, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(joiner, &sel.future), AK_PENDING);
	ck_assert_int_eq(tq_drain(&q), 0);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &sel.future), 0);
	ck_assert_int_eq(ak_select_index(&sel), 0);
	ck_assert_int_eq(br[0].status, 0);
	ak_task_release(t);
}
END_TEST

START_TEST(join_losing_a_select_leaves_the_task_running)
{
	struct tq q;
	struct tk_flag_future f;
	struct tk_count_future ready;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct ak_select_op sel;
	memset(&sel, 0, sizeof sel);
	struct ak_branch br[2];
	struct tk_task *joiner = tk_task_new();

	tq_init(&q);
	tk_flag_init(&f, 0);
	tk_count_init(&ready, 1, 0, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_join_init(&join, t);
	br[0].future = &join.future;
	br[0].flags = 0;
	br[1].future = &ready.future;
	br[1].flags = 0;
	ck_assert_int_eq(ak_select_init(&sel, br, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(joiner, &sel.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(joiner, &sel.future), 0);
	ck_assert_int_eq(ak_select_index(&sel), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	/* The slot was given back: a new join may wait. */
	ak_task_join_init(&join, t);
	ck_assert_int_eq(tk_poll(joiner, &join.future), AK_PENDING);
	ak_task_schedule(t);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &join.future), 0);
	ak_task_release(t);
}
END_TEST

/* Two scheduled tasks on q, over f1 (completes with 0) and f2 (AK_EPIPE),
 * each joined by a join op, the joins as the two branches of br. */
struct two_joins {
	struct tq q;
	struct tk_flag_future f1, f2;
	struct ak_task *t1, *t2;
	struct ak_task_join_op j1, j2;
	struct ak_branch br[2];
};

static void two_joins_init(struct two_joins *tj)
{
	memset(tj, 0, sizeof(*tj));
	tq_init(&tj->q);
	tk_flag_init(&tj->f1, 0);
	tk_flag_init(&tj->f2, AK_EPIPE);
	tj->t1 = new_task(&tj->q, &tj->f1.future);
	tj->t2 = new_task(&tj->q, &tj->f2.future);
	ak_task_schedule(tj->t1);
	ak_task_schedule(tj->t2);
	ak_task_join_init(&tj->j1, tj->t1);
	ak_task_join_init(&tj->j2, tj->t2);
	tj->br[0].future = &tj->j1.future;
	tj->br[1].future = &tj->j2.future;
}

START_TEST(joins_of_two_tasks_in_join_wait_for_both)
{
	struct two_joins tj;
	struct ak_join_op all;
	memset(&all, 0, sizeof all);
	struct tk_task *joiner = tk_task_new();

	two_joins_init(&tj);
	ck_assert_int_eq(ak_join_init(&all, tj.br, 2, AK_JOIN_BIASED), 0);
	ck_assert_int_eq(tk_poll(joiner, &all.future), AK_PENDING);
	ck_assert_int_eq(tq_drain(&tj.q), 0);
	tk_flag_set(&tj.f2);
	ck_assert_int_eq(tq_drain(&tj.q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &all.future), AK_PENDING);
	tk_flag_set(&tj.f1);
	ck_assert_int_eq(tq_drain(&tj.q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &all.future), 0);
	ck_assert_int_eq(tj.br[0].status, 0);
	ck_assert_int_eq(tj.br[1].status, AK_EPIPE);
	ak_task_release(tj.t1);
	ak_task_release(tj.t2);
}
END_TEST

START_TEST(try_join_of_task_joins_fails_with_the_first_failed_task)
{
	struct two_joins tj;
	struct ak_try_join_op all;
	memset(&all, 0, sizeof all);
	struct tk_task *joiner = tk_task_new();

	two_joins_init(&tj);
	ck_assert_int_eq(ak_try_join_init(&all, tj.br, 2, AK_JOIN_BIASED), 0);
	ck_assert_int_eq(tk_poll(joiner, &all.future), AK_PENDING);
	tk_flag_set(&tj.f2);
	ck_assert_int_eq(tq_drain(&tj.q), 1);
	ck_assert_int_eq(tk_poll_woken(joiner, &all.future), AK_EPIPE);
	ck_assert_int_eq(ak_try_join_index(&all), 1);
	/* The other join was cancelled; its task goes on. */
	ck_assert_int_eq(ak_task_result(tj.t1), AK_PENDING);
	tk_flag_set(&tj.f1);
	ck_assert_int_eq(tq_drain(&tj.q), 1);
	ck_assert_int_eq(ak_task_result(tj.t1), 0);
	ak_task_release(tj.t1);
	ak_task_release(tj.t2);
}
END_TEST

/* A thread that runs a tq until told to stop, parking briefly when empty. */
struct runner {
	struct tq *q;
	atomic_int stop;
	pthread_t thread;
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct tk_backoff b = TK_BACKOFF_INIT;

	while (!atomic_load(&r->stop)) {
		struct ak_task *t = tq_pop(r->q);
		if (t) {
			ak_task_run(t);
			b.steps = 0;
		} else {
			tk_backoff(&b);
		}
	}
	return NULL;
}

struct writer {
	struct ak_future future;
	int *out;               /* written plainly: the join must publish it */
};

static int writer_poll(struct ak_future *f, struct ak_context *cx)
{
	(void)cx;
	*((struct writer *)f)->out = 42;
	return 0;
}

static void writer_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable writer_vtable = { writer_poll,
	                                               writer_cancel };

START_TEST(join_blocking_sees_what_a_task_on_another_thread_wrote)
{
	struct tq q;
	struct writer w;
	struct runner r = { .q = &q };
	int value = 0;

	tq_init(&q);
	w.out = &value;
	ak_future_init(&w.future, &writer_vtable);
	struct ak_task *t = new_task(&q, &w.future);
	pthread_create(&r.thread, NULL, runner_main, &r);
	ak_task_schedule(t);
	ck_assert_int_eq(ak_task_join_blocking(t, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(value, 42);
	atomic_store(&r.stop, 1);
	pthread_join(r.thread, NULL);
	ak_task_release(t);
}
END_TEST

START_TEST(join_blocking_times_out_and_leaves_the_task)
{
	struct tq q;
	struct tk_flag_future f;

	tq_init(&q);
	tk_flag_init(&f, 0);
	struct ak_task *t = new_task(&q, &f.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(1000000)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	tk_flag_set(&f);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(ak_task_join_blocking(t, AK_DEADLINE_NEVER), 0);
	ak_task_release(t);
}
END_TEST

struct join_blocker {
	struct ak_future future;
	struct ak_task *target;
	int rc;
};

static int join_blocker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct join_blocker *j = (struct join_blocker *)f;

	(void)cx;
	j->rc = ak_task_join_blocking(j->target, AK_DEADLINE_NEVER);
	return 0;
}

static const struct ak_future_vtable join_blocker_vtable = { join_blocker_poll,
	                                                     writer_cancel };

START_TEST(join_blocking_inside_a_poll_returns_edeadlk)
{
	struct tq q;
	struct forever p;
	struct join_blocker jb = { .rc = 0 };

	tq_init(&q);
	forever_init(&p);
	struct ak_task *target = new_task(&q, &p.future);
	jb.target = target;
	ak_future_init(&jb.future, &join_blocker_vtable);
	struct ak_task *t = new_task(&q, &jb.future);
	ak_task_schedule(t);
	ck_assert_int_eq(tq_drain(&q), 1);
	ck_assert_int_eq(jb.rc, AK_EDEADLK);
	ak_task_cancel(target);
	ak_task_release(target);
	ak_task_release(t);
	ck_assert_int_eq(ak_task_join_init(NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_task_join_blocking(NULL, 0), AK_EINVAL);
}
END_TEST

START_TEST(join_of_a_pool_task_from_a_plain_thread)
{
	struct ak_pool *pool;
	struct tk_flag_future f;
	struct tk_setter s;
	struct ak_task *t = NULL;

	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	ck_assert_int_eq(ak_pool_spawn(pool, &f.future, &t), 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_task_join_blocking(t, AK_DEADLINE_NEVER), AK_EPIPE);
	tk_setter_join(&s);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
}
END_TEST

START_TEST(executor_awaits_the_join_of_a_pool_task)
{
	struct ak_pool *pool;
	struct ak_executor *ex;
	struct tk_flag_future f;
	struct tk_setter s;
	struct ak_task_join_op join;
	memset(&join, 0, sizeof join);
	struct ak_task *t = NULL;

	tk_flag_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_pool_new(&pool, 1), 0);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	ck_assert_int_eq(ak_pool_spawn(pool, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_join_init(&join, t), 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_executor_run_until(ex, &join.future, AK_DEADLINE_NEVER),
	                 AK_EPIPE);
	tk_setter_join(&s);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak_pool_free(pool), 0);
}
END_TEST

Suite *task_suite(void)
{
	Suite *s = suite_create("task");
	TCase *tc;

	tc = tk_tcase("run");
	tcase_add_test(tc, new_task_is_idle_until_scheduled);
	tcase_add_test(tc, run_of_unscheduled_task_returns_einval_and_changes_nothing);
	tcase_add_test(tc, run_returns_one_when_the_body_fails_and_keeps_its_error);
	tcase_add_test(tc, schedule_twice_queues_the_task_once);
	tcase_add_test(tc, wake_during_poll_schedules_the_task_after_the_poll);
	tcase_add_test(tc, yielding_task_goes_behind_the_other_ready_tasks);
	tcase_add_test(tc, each_poll_gets_a_fresh_context_with_budget_and_the_tasks_slot);
	tcase_add_test(tc, blocking_calls_inside_the_poll_return_edeadlk);
	suite_add_tcase(s, tc);

	tc = tk_tcase("waker");
	tcase_add_test(tc, wake_from_another_thread_during_the_poll_requeues_after_it);
	tcase_add_test(tc, wake_during_a_poll_that_completes_schedules_nothing);
	tcase_add_test(tc, wake_after_completion_from_another_thread_is_ignored);
	tcase_add_test(tc, two_threads_waking_an_idle_task_queue_it_once);
	tcase_add_test(tc, wakes_concurrent_with_runs_cancel_and_release_are_safe);
	suite_add_tcase(s, tc);

	tc = tk_tcase("cancel");
	tcase_add_test(tc, cancel_of_an_idle_task_cancels_the_body_now);
	tcase_add_test(tc, cancel_of_a_queued_task_leaves_an_entry_that_run_consumes);
	tcase_add_test(tc, cancel_from_another_thread_during_the_poll_runs_when_it_ends);
	tcase_add_test(tc, cancel_during_a_poll_that_completes_keeps_the_result);
	tcase_add_test(tc, bound_task_cancelled_elsewhere_is_cancelled_by_the_run_of_one_entry);
	tcase_add_test(tc, bound_task_queued_when_cancelled_elsewhere_keeps_its_one_entry);
	tcase_add_test(tc, bound_task_cancelled_on_its_thread_is_cancelled_at_once);
	tcase_add_test(tc, bound_task_cancelled_elsewhere_during_its_poll_is_cancelled_as_it_ends);
	tcase_add_test(tc, bind_refuses_a_scheduled_or_bound_task_and_an_executors_task);
	tcase_add_test(tc, task_cancelling_itself_returns_ebusy);
	tcase_add_test(tc, released_unfinished_task_lives_until_it_finishes);
	tcase_add_test(tc, drop_runs_once_when_the_last_reference_goes);
	tcase_add_test(tc, wake_by_value_of_an_idle_task_hands_its_reference_to_the_entry);
	tcase_add_test(tc, wake_by_value_of_a_queued_task_drops_its_reference);
	tcase_add_test(tc, drop_comes_after_every_schedule_of_a_wake_racing_the_cancel);
	tcase_add_test(tc, clones_made_by_the_poll_that_completes_keep_the_task_until_dropped);
	suite_add_tcase(s, tc);

	tc = tk_tcase("claim");
	tcase_add_test(tc, new_claims_the_body_against_every_other_poller);
	tcase_add_test(tc, new_of_spawned_future_returns_ebusy);
	tcase_add_test(tc, new_of_invalid_arguments_returns_einval);
	tcase_add_test(tc, run_of_an_executors_task_returns_einval);
	suite_add_tcase(s, tc);

	tc = tk_tcase("join");
	tcase_add_test(tc, join_completes_with_the_tasks_result_when_it_finishes);
	tcase_add_test(tc, join_of_a_finished_task_completes_at_once);
	tcase_add_test(tc, second_join_while_the_first_waits_returns_ebusy);
	tcase_add_test(tc, cancelling_the_join_does_not_cancel_the_task);
	tcase_add_test(tc, cancel_through_the_handle_completes_the_join_with_ecanceled);
	tcase_add_test(tc, join_polled_by_another_task_moves_its_waker);
	tcase_add_test(tc, join_in_select_wins_when_the_task_finishes);
	tcase_add_test(tc, join_losing_a_select_leaves_the_task_running);
	tcase_add_test(tc, joins_of_two_tasks_in_join_wait_for_both);
	tcase_add_test(tc, try_join_of_task_joins_fails_with_the_first_failed_task);
	tcase_add_test(tc, join_blocking_sees_what_a_task_on_another_thread_wrote);
	tcase_add_test(tc, join_blocking_times_out_and_leaves_the_task);
	tcase_add_test(tc, join_blocking_inside_a_poll_returns_edeadlk);
	tcase_add_test(tc, join_of_a_pool_task_from_a_plain_thread);
	tcase_add_test(tc, executor_awaits_the_join_of_a_pool_task);
	suite_add_tcase(s, tc);
	return s;
}
