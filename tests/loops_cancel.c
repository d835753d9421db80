/*
 * tests/loops_cancel.c: ak_task_cancel() on a host-loop adapter's task
 * from a thread that is not the loop's (tests/loops.h): recorded, and
 * carried out by the loop thread at its next turn, as ak_task(3) says of
 * a bound task, whether the task is parked, being polled, finished, or
 * its adapter is closing.  The body's cancel, which may touch the loop's
 * own handles (an adapter sleep here), always runs on the loop thread.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "loops.h"
#include "testkit.h"

static void open_loop(struct lp *l, const struct lp_ops *ops)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	ops->open(l);
}

static void end_loop(struct lp *l)
{
	ck_assert_int_eq(l->ops->close(l), 0);
	l->ops->finish(l);
	ck_assert_int_eq(ak__lq_allocated(), 0);
}

/* ---- a task parked on the adapter's own sleep ------------------------- */

/* Awaits an adapter sleep (far off, or short when the test says) and
 * records which thread its cancel ran on. */
struct parked {
	struct ak_future future;
	struct lp *l;
	int64_t deadline;
	int started;
	atomic_int polls;
	atomic_int cancels;
	pthread_t cancelled_on;
	atomic_int *cancelled;          /* a count shared by several, or NULL */
	union { max_align_t a; unsigned char b[128]; } op;
};

static int parked_poll(struct ak_future *f, struct ak_context *cx)
{
	struct parked *p = (struct parked *)(void *)f;
	atomic_fetch_add(&p->polls, 1);
	if (!p->started) {
		ck_assert_uint_le(p->l->ops->sleep_size, sizeof(p->op));
		int rc = p->l->ops->sleep_init(&p->op, p->l, p->deadline);
		if (rc)
			return rc;
		p->started = 1;
	}
	return ak_future_poll((struct ak_future *)(void *)&p->op, cx);
}

static void parked_cancel(struct ak_future *f)
{
	struct parked *p = (struct parked *)(void *)f;
	if (p->started)
		ak_future_cancel((struct ak_future *)(void *)&p->op);
	p->cancelled_on = pthread_self();
	atomic_fetch_add(&p->cancels, 1);
	if (p->cancelled)
		atomic_fetch_add(p->cancelled, 1);
}

static const struct ak_future_vtable parked_vtable = { parked_poll, parked_cancel };

static void parked_init(struct parked *p, struct lp *l, int64_t deadline)
{
	memset(p, 0, sizeof(*p));
	p->l = l;
	p->deadline = deadline;
	ak_future_init(&p->future, &parked_vtable);
}

/* A thread that cancels tasks: after go is set, if go is given. */
struct canceller {
	pthread_t th;
	struct ak_task **tasks;
	int n;
	atomic_int *go;
	int rc[8];
};

static void *cancel_main(void *arg)
{
	struct canceller *c = arg;
	if (c->go)
		TK_WAIT_UNTIL(atomic_load(c->go));
	for (int i = 0; i < c->n; i++)
		c->rc[i] = ak_task_cancel(c->tasks[i]);
	return NULL;
}

static void cancel_from_a_thread(struct ak_task **tasks, int n, int *rc)
{
	struct canceller c = { .tasks = tasks, .n = n };
	ck_assert_int_eq(pthread_create(&c.th, NULL, cancel_main, &c), 0);
	pthread_join(c.th, NULL);
	memcpy(rc, c.rc, (size_t)n * sizeof(*rc));
}

/* Parked: the cancel returns 0 at once, the result stays AK_PENDING until
 * the loop runs, and then the body's cancel runs there. */
void lp_cancel_from_another_thread_while_parked(const struct lp_ops *ops)
{
	struct lp l;
	struct parked p;
	struct ak_task *h;
	int rc;

	open_loop(&l, ops);
	parked_init(&p, &l, ak_deadline_in(60LL * 1000 * 1000 * 1000));
	ck_assert_int_eq(ops->spawn(&l, &p.future, &h), 0);
	ops->run_once(&l);
	ck_assert_int_eq(atomic_load(&p.polls), 1);
	cancel_from_a_thread(&h, 1, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(ak_task_result(h), AK_PENDING);
	ck_assert_int_eq(atomic_load(&p.cancels), 0);
	ops->run(&l);           /* carries it out; then nothing keeps it */
	ck_assert_int_eq(ak_task_result(h), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&p.cancels), 1);
	ck_assert(pthread_equal(p.cancelled_on, pthread_self()));
	ck_assert_int_eq(atomic_load(&p.polls), 1);
	ck_assert_uint_eq(ops->count(&l), 0);
	ak_task_release(h);
	end_loop(&l);
}

/* ---- cancelled while its poll runs -------------------------------------- */

/* Its first poll waits until the other thread has cancelled the task,
 * then ends: pending, or complete with 7. */
struct midpoll {
	struct ak_future future;
	struct ak_task *task;
	int complete;
	atomic_int in_poll, cancelled, polls, cancels;
	pthread_t cancelled_on;
	pthread_t th;
	int rc;
};

static int midpoll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct midpoll *m = (struct midpoll *)(void *)f;
	(void)cx;
	atomic_fetch_add(&m->polls, 1);
	atomic_store(&m->in_poll, 1);
	TK_WAIT_UNTIL(atomic_load(&m->cancelled));
	return m->complete ? 7 : AK_PENDING;
}

static void midpoll_cancel(struct ak_future *f)
{
	struct midpoll *m = (struct midpoll *)(void *)f;
	m->cancelled_on = pthread_self();
	atomic_fetch_add(&m->cancels, 1);
}

static const struct ak_future_vtable midpoll_vtable = { midpoll_poll, midpoll_cancel };

static void *cancel_mid_poll(void *arg)
{
	struct midpoll *m = arg;
	TK_WAIT_UNTIL(atomic_load(&m->in_poll));
	m->rc = ak_task_cancel(m->task);
	atomic_store(&m->cancelled, 1);
	return NULL;
}

static void cancel_during_poll(const struct lp_ops *ops, int complete)
{
	struct lp l;
	struct midpoll m;

	open_loop(&l, ops);
	memset(&m, 0, sizeof(m));
	m.complete = complete;
	ak_future_init(&m.future, &midpoll_vtable);
	ck_assert_int_eq(ops->spawn(&l, &m.future, &m.task), 0);
	ck_assert_int_eq(pthread_create(&m.th, NULL, cancel_mid_poll, &m), 0);
	ops->run(&l);
	pthread_join(m.th, NULL);
	ck_assert_int_eq(m.rc, 0);
	ck_assert_int_eq(atomic_load(&m.polls), 1);
	if (complete) {
		/* The poll completed the task: the cancel has nothing to do. */
		ck_assert_int_eq(ak_task_result(m.task), 7);
		ck_assert_int_eq(atomic_load(&m.cancels), 0);
	} else {
		/* Carried out as the poll ended, on the loop thread. */
		ck_assert_int_eq(ak_task_result(m.task), AK_ECANCELED);
		ck_assert_int_eq(atomic_load(&m.cancels), 1);
		ck_assert(pthread_equal(m.cancelled_on, pthread_self()));
	}
	ck_assert_uint_eq(ops->count(&l), 0);
	ak_task_release(m.task);
	end_loop(&l);
}

void lp_cancel_from_another_thread_during_the_poll(const struct lp_ops *ops)
{
	cancel_during_poll(ops, 0);
}

void lp_cancel_during_a_poll_that_completes(const struct lp_ops *ops)
{
	cancel_during_poll(ops, 1);
}

/* ---- after the task finished -------------------------------------------- */

void lp_cancel_from_another_thread_after_completion(const struct lp_ops *ops)
{
	struct lp l;
	struct tk_count_future f;
	struct ak_task *h;
	int rc;

	open_loop(&l, ops);
	tk_count_init(&f, 0, 0, 5);
	ck_assert_int_eq(ops->spawn(&l, &f.future, &h), 0);
	ops->run(&l);
	ck_assert_int_eq(ak_task_result(h), 5);
	cancel_from_a_thread(&h, 1, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(ak_task_result(h), 5);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ops->run(&l);           /* nothing queued: returns at once */
	ck_assert_int_eq(ak_task_result(h), 5);
	ak_task_release(h);
	end_loop(&l);
}

/* ---- while the loop runs its timers ------------------------------------- */

#define SLEEPERS 4

/* Sleeps 1 ms again and again on the adapter, until every sleeper was
 * cancelled: the loop's timers keep changing while the cancels come. */
struct ticker {
	struct ak_future future;
	struct lp *l;
	atomic_int *cancelled;
	int armed, ticks;
	union { max_align_t a; unsigned char b[128]; } op;
};

static int ticker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ticker *t = (struct ticker *)(void *)f;
	for (;;) {
		if (!t->armed) {
			if (atomic_load(t->cancelled) == SLEEPERS)
				return 0;
			int rc = t->l->ops->sleep_init(&t->op, t->l, ak_deadline_in(1000 * 1000));
			if (rc)
				return rc;
			t->armed = 1;
		}
		int rc = ak_future_poll((struct ak_future *)(void *)&t->op, cx);
		if (rc != 0)
			return rc;
		t->armed = 0;
		t->ticks++;
	}
}

static void ticker_cancel(struct ak_future *f)
{
	struct ticker *t = (struct ticker *)(void *)f;
	if (t->armed)
		ak_future_cancel((struct ak_future *)(void *)&t->op);
}

static const struct ak_future_vtable ticker_vtable = { ticker_poll, ticker_cancel };

void lp_cancel_from_another_thread_while_the_loop_runs(const struct lp_ops *ops)
{
	struct lp l;
	struct parked p[SLEEPERS];
	struct ak_task *h[SLEEPERS];
	struct ticker t;
	struct canceller c;
	atomic_int cancelled = 0, go = 0;

	open_loop(&l, ops);
	for (int i = 0; i < SLEEPERS; i++) {
		parked_init(&p[i], &l, ak_deadline_in(60LL * 1000 * 1000 * 1000));
		p[i].cancelled = &cancelled;
		ck_assert_int_eq(ops->spawn(&l, &p[i].future, &h[i]), 0);
	}
	memset(&t, 0, sizeof(t));
	t.l = &l;
	t.cancelled = &cancelled;
	ak_future_init(&t.future, &ticker_vtable);
	ck_assert_int_eq(ops->spawn(&l, &t.future, NULL), 0);
	ops->run_once(&l);      /* every sleeper parked on its timer */
	memset(&c, 0, sizeof(c));
	c.tasks = h;
	c.n = SLEEPERS;
	c.go = &go;
	ck_assert_int_eq(pthread_create(&c.th, NULL, cancel_main, &c), 0);
	atomic_store(&go, 1);
	ops->run(&l);           /* until the ticker saw every cancel */
	pthread_join(c.th, NULL);
	for (int i = 0; i < SLEEPERS; i++) {
		ck_assert_int_eq(c.rc[i], 0);
		ck_assert_int_eq(ak_task_result(h[i]), AK_ECANCELED);
		ck_assert_int_eq(atomic_load(&p[i].cancels), 1);
		ck_assert(pthread_equal(p[i].cancelled_on, pthread_self()));
		ak_task_release(h[i]);
	}
	end_loop(&l);
}

/* ---- racing the adapter's close ----------------------------------------- */

#define RACE_ROUNDS 30

/* Two threads cancel every task while the loop thread closes the
 * adapter: each body is cancelled once, on the loop thread, whichever
 * comes first, and every record goes. */
void lp_cancel_from_other_threads_racing_the_close(const struct lp_ops *ops)
{
	for (int round = 0; round < RACE_ROUNDS; round++) {
		struct lp l;
		struct parked p[SLEEPERS];
		struct ak_task *h[SLEEPERS];
		struct canceller c[2];
		atomic_int go = 0;

		open_loop(&l, ops);
		for (int i = 0; i < SLEEPERS; i++) {
			parked_init(&p[i], &l, ak_deadline_in(60LL * 1000 * 1000 * 1000));
			ck_assert_int_eq(ops->spawn(&l, &p[i].future, &h[i]), 0);
		}
		ops->run_once(&l);
		for (int k = 0; k < 2; k++) {
			memset(&c[k], 0, sizeof(c[k]));
			c[k].tasks = h;
			c[k].n = SLEEPERS;
			c[k].go = &go;
			ck_assert_int_eq(pthread_create(&c[k].th, NULL, cancel_main, &c[k]), 0);
		}
		atomic_store(&go, 1);
		for (int i = 0; i < round % 3; i++)
			sched_yield();
		if (round % 2)
			ops->run_once(&l);      /* some cancels carried out here */
		ck_assert_int_eq(ops->close(&l), 0);
		ops->finish(&l);
		for (int k = 0; k < 2; k++)
			pthread_join(c[k].th, NULL);
		for (int i = 0; i < SLEEPERS; i++) {
			ck_assert_int_eq(c[0].rc[i], 0);
			ck_assert_int_eq(c[1].rc[i], 0);
			ck_assert_int_eq(ak_task_result(h[i]), AK_ECANCELED);
			ck_assert_int_eq(atomic_load(&p[i].cancels), 1);
			ck_assert(pthread_equal(p[i].cancelled_on, pthread_self()));
			ak_task_release(h[i]);
		}
		ck_assert_int_eq(ak__lq_allocated(), 0);
	}
}
