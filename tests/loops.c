/*
 * tests/loops.c: what every host-loop adapter must do, on a real loop
 * (tests/loops.h).  Each test checks at its end that the adapter freed its
 * records and the loop held no handle of it; the testkit fixture checks
 * the library's side (waker clones, allocations).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "loops.h"
#include "testkit.h"

static void lp_open(struct lp *l, const struct lp_ops *ops)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	ops->open(l);
}

static void lp_end(struct lp *l)
{
	ck_assert_int_eq(l->ops->close(l), 0);
	l->ops->finish(l);
	ck_assert_int_eq(ak__lq_allocated(), 0);
}

/* ---- spawn, join ------------------------------------------------------ */

void lp_spawn_and_join(const struct lp_ops *ops)
{
	struct lp l;
	struct tk_count_future f;
	struct ak_task *h;

	lp_open(&l, ops);
	tk_count_init(&f, 0, 0, 7);
	ck_assert_int_eq(ops->spawn(&l, &f.future, &h), 0);
	ck_assert_uint_eq(ops->count(&l), 1);
	ops->run(&l);           /* returns: the finished task keeps nothing */
	ck_assert_int_eq(ak_task_result(h), 7);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_uint_eq(ops->count(&l), 0);
	ak_task_release(h);
	lp_end(&l);
}

void lp_spawn_refused(const struct lp_ops *ops)
{
	struct lp l;
	struct tk_count_future f;
	struct ak_future zeroed;

	lp_open(&l, ops);
	memset(&zeroed, 0, sizeof(zeroed));
	ck_assert_int_eq(ops->spawn(&l, &zeroed, NULL), AK_EINVAL);
	ck_assert_int_eq(ops->spawn(&l, NULL, NULL), AK_EINVAL);
	tk_count_init(&f, 0, 0, 0);
	ck_assert_int_eq(ops->spawn(&l, &f.future, NULL), 0);
	ck_assert_int_eq(ops->spawn(&l, &f.future, NULL), AK_EBUSY);
	ops->run(&l);
	lp_end(&l);
}

/* ---- wakes from other threads ---------------------------------------- */

#define PRODUCERS 8
#define PER_PRODUCER 2000

struct summer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_rx *rx;
	long value, sum, count;
	int rc;
};

static int summer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct summer *s = (struct summer *)(void *)f;

	AK_BEGIN(&s->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&s->recv, s->rx, &s->value);
		AK_AWAIT(&s->aw, &s->recv.future, s->rc);
		if (s->rc == AK_EPIPE)
			AK_RETURN(&s->aw, 0);
		if (s->rc != 0)
			AK_RETURN(&s->aw, s->rc);
		s->sum += s->value;
		s->count++;
	}
	AK_CLEANUP(&s->aw);
	AK_END(&s->aw);
}

static void summer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct summer *)(void *)f)->aw, f);
}

static const struct ak_future_vtable summer_vtable = { summer_poll, summer_cancel };

static void *producer(void *arg)
{
	struct ak_mpsc_tx *tx = arg;
	for (long i = 1; i <= PER_PRODUCER; i++)
		if (ak_mpsc_send_blocking(tx, &i, AK_DEADLINE_NEVER) != 0)
			break;
	ak_mpsc_tx_drop(tx);
	return NULL;
}

void lp_wake_from_many_threads(const struct lp_ops *ops)
{
	struct lp l;
	struct summer s;
	struct ak_mpsc_tx *tx;
	struct ak_task *h;
	pthread_t th[PRODUCERS];

	lp_open(&l, ops);
	memset(&s, 0, sizeof(s));
	/* A small bound: the consumer parks and is woken again and again. */
	ck_assert_int_eq(ak_mpsc_new(4, sizeof(long), NULL, &tx, &s.rx), 0);
	ak_future_init(&s.future, &summer_vtable);
	ck_assert_int_eq(ops->spawn(&l, &s.future, &h), 0);
	for (int i = 0; i < PRODUCERS; i++) {
		struct ak_mpsc_tx *c;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &c), 0);
		ck_assert_int_eq(pthread_create(&th[i], NULL, producer, c), 0);
	}
	ak_mpsc_tx_drop(tx);
	ops->run(&l);           /* until the last sender is gone */
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(ak_task_result(h), 0);
	ck_assert_int_eq(s.count, (long)PRODUCERS * PER_PRODUCER);
	ck_assert_int_eq(s.sum, (long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
	ak_task_release(h);
	ak_mpsc_rx_drop(s.rx);
	lp_end(&l);
}

/* A task that wakes itself inside its poll is polled again. */
void lp_wake_during_poll(const struct lp_ops *ops)
{
	struct lp l;
	struct tk_count_future f;
	struct ak_task *h;

	lp_open(&l, ops);
	tk_after_init(&f, 5);
	ck_assert_int_eq(ops->spawn(&l, &f.future, &h), 0);
	ops->run(&l);
	ck_assert_int_eq(ak_task_result(h), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 6);
	ak_task_release(h);
	lp_end(&l);
}

/* ---- the loop's own waits --------------------------------------------- */

struct sleeper {
	struct ak_future future;
	struct lp *l;
	int64_t deadline, woke_at;
	int started;
	union { max_align_t a; unsigned char b[128]; } op;
};

static int sleeper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleeper *s = (struct sleeper *)(void *)f;
	if (!s->started) {
		ck_assert_uint_le(s->l->ops->sleep_size, sizeof(s->op));
		int rc = s->l->ops->sleep_init(&s->op, s->l, s->deadline);
		if (rc)
			return rc;
		s->started = 1;
	}
	int rc = ak_future_poll((struct ak_future *)(void *)&s->op, cx);
	if (rc == 0)
		s->woke_at = ak_now();
	return rc;
}

static void sleeper_cancel(struct ak_future *f)
{
	struct sleeper *s = (struct sleeper *)(void *)f;
	if (s->started)
		ak_future_cancel((struct ak_future *)(void *)&s->op);
}

static const struct ak_future_vtable sleeper_vtable = { sleeper_poll, sleeper_cancel };

void lp_sleep(const struct lp_ops *ops)
{
	struct lp l;
	struct sleeper s;
	struct ak_task *h;

	lp_open(&l, ops);
	memset(&s, 0, sizeof(s));
	s.l = &l;
	s.deadline = ak_deadline_in(3 * 1000 * 1000);
	ak_future_init(&s.future, &sleeper_vtable);
	ck_assert_int_eq(ops->spawn(&l, &s.future, &h), 0);
	ops->run(&l);           /* the timer keeps it running until then */
	ck_assert_int_eq(ak_task_result(h), 0);
	ck_assert_int_ge(s.woke_at, s.deadline);       /* never early */
	ak_task_release(h);
	lp_end(&l);
}

struct reader {
	struct ak_future future;
	struct lp *l;
	int fd, revents, started;
	char got;
	union { max_align_t a; unsigned char b[128]; } op;
};

static int reader_poll(struct ak_future *f, struct ak_context *cx)
{
	struct reader *r = (struct reader *)(void *)f;
	if (!r->started) {
		int rc = r->l->ops->poll_readable_init(&r->op, r->l, r->fd, &r->revents);
		if (rc)
			return rc;
		r->started = 1;
	}
	int rc = ak_future_poll((struct ak_future *)(void *)&r->op, cx);
	if (rc != 0)
		return rc;
	return read(r->fd, &r->got, 1) == 1 ? 0 : AK_EINVAL;
}

static void reader_cancel(struct ak_future *f)
{
	struct reader *r = (struct reader *)(void *)f;
	if (r->started)
		ak_future_cancel((struct ak_future *)(void *)&r->op);
}

static const struct ak_future_vtable reader_vtable = { reader_poll, reader_cancel };

static void *write_later(void *arg)
{
	int *fd = arg;
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	ck_assert_int_eq(write(*fd, "x", 1), 1);
	return NULL;
}

void lp_fd_readiness(const struct lp_ops *ops)
{
	struct lp l;
	struct reader r;
	struct ak_task *h;
	int p[2];
	pthread_t th;

	ck_assert_int_eq(pipe(p), 0);
	lp_open(&l, ops);
	memset(&r, 0, sizeof(r));
	r.l = &l;
	r.fd = p[0];
	ak_future_init(&r.future, &reader_vtable);
	ck_assert_int_eq(ops->spawn(&l, &r.future, &h), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, write_later, &p[1]), 0);
	ops->run(&l);
	pthread_join(th, NULL);
	ck_assert_int_eq(ak_task_result(h), 0);
	ck_assert_int_eq(r.got, 'x');
	ck_assert(r.revents & ops->readable);
	ak_task_release(h);
	lp_end(&l);
	close(p[0]);
	close(p[1]);
}

/* ---- closing ----------------------------------------------------------- */

/* Parks forever, handing a clone of its waker to another thread. */
struct keeper {
	struct ak_future future;
	struct ak_waker w;
	atomic_int have;
	atomic_int stop;
	atomic_long wakes;
};

static int keeper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct keeper *k = (struct keeper *)(void *)f;
	if (!atomic_load(&k->have)) {
		if (ak_waker_clone(&cx->waker, &k->w) != 0)
			return AK_ENOMEM;
		atomic_store(&k->have, 1);      /* seq_cst: publishes w */
	}
	return AK_PENDING;
}

static void keeper_cancel(struct ak_future *f)
{
	(void)f;                /* the clone is the waking thread's */
}

static const struct ak_future_vtable keeper_vtable = { keeper_poll, keeper_cancel };

static void *keep_waking(void *arg)
{
	struct keeper *k = arg;
	while (!atomic_load(&k->have))
		sched_yield();
	while (!atomic_load(&k->stop)) {
		ak_waker_wake_by_ref(&k->w);
		atomic_fetch_add(&k->wakes, 1);
		sched_yield();
	}
	/* And some after the close, which must find the gate shut. */
	for (int i = 0; i < 100; i++)
		ak_waker_wake_by_ref(&k->w);
	ak_waker_drop(&k->w);
	return NULL;
}

#define CLOSE_ROUNDS 30

void lp_close_while_waking(const struct lp_ops *ops)
{
	for (int round = 0; round < CLOSE_ROUNDS; round++) {
		struct lp l;
		struct keeper k[2];
		struct ak_task *h[2];
		pthread_t th[2];

		lp_open(&l, ops);
		for (int i = 0; i < 2; i++) {
			memset(&k[i], 0, sizeof(k[i]));
			ak_future_init(&k[i].future, &keeper_vtable);
			ck_assert_int_eq(ops->spawn(&l, &k[i].future, &h[i]), 0);
			ck_assert_int_eq(pthread_create(&th[i], NULL, keep_waking, &k[i]), 0);
		}
		/* A few rounds of the loop while the wakes come, then the
		 * close in the middle of them. */
		for (int i = 0; i < 1 + round % 4; i++)
			ops->run_once(&l);
		ck_assert_int_eq(ops->close(&l), 0);
		ops->finish(&l);
		for (int i = 0; i < 2; i++) {
			ck_assert_int_eq(ak_task_result(h[i]), AK_ECANCELED);
			atomic_store(&k[i].stop, 1);
			pthread_join(th[i], NULL);
			ak_task_release(h[i]);
		}
		/* The last records go with the last late wakes. */
		ck_assert_int_eq(ak__lq_allocated(), 0);
	}
}

void lp_close_cancels(const struct lp_ops *ops)
{
	struct lp l;
	struct tk_flag_future never;
	struct tk_count_future queued;
	struct ak_task *h, *hq;

	lp_open(&l, ops);
	tk_flag_init(&never, 0);
	ck_assert_int_eq(ops->spawn(&l, &never.future, &h), 0);
	ops->run_once(&l);      /* polled once: parked */
	ck_assert_int_eq(atomic_load(&never.polls), 1);
	tk_count_init(&queued, 0, 0, 0);        /* never polled */
	ck_assert_int_eq(ops->spawn(&l, &queued.future, &hq), 0);
	ck_assert_uint_eq(ops->count(&l), 2);
	ck_assert_int_eq(ops->close(&l), 0);
	ck_assert_int_eq(ak_task_result(h), AK_ECANCELED);
	ck_assert_int_eq(ak_task_result(hq), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&never.cancels), 1);
	ck_assert_int_eq(atomic_load(&queued.polls), 0);
	ck_assert(!tk_flag_holds_waker(&never));
	ops->finish(&l);
	ak_task_release(h);
	ak_task_release(hq);
	ck_assert_int_eq(ak__lq_allocated(), 0);
}

/* ---- a blocking call on the loop thread --------------------------------- */

struct blocker {
	struct ak_mpsc_rx *rx;
	int rc;
	int called;
};

static void block_in_callback(void *arg)
{
	struct blocker *b = arg;
	long v;
	b->rc = ak_mpsc_recv_blocking(b->rx, &v, AK_DEADLINE_NEVER);
	b->called = 1;
}

void lp_blocking_in_callback(const struct lp_ops *ops)
{
	struct lp l;
	struct blocker b = { 0 };
	struct ak_mpsc_tx *tx;

	ck_assert_int_eq(ak_mpsc_new(1, sizeof(long), NULL, &tx, &b.rx), 0);
	lp_open(&l, ops);
	ops->call_later(&l, 1, block_in_callback, &b);
	ops->run(&l);
	ck_assert_int_eq(b.called, 1);
	ck_assert_int_eq(b.rc, AK_EDEADLK);      /* instead of freezing */
	lp_end(&l);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(b.rx);
}
