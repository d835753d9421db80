/*
 * tests/check_cross.c: primitives shared across runtimes (issue 15).
 * Producer tasks on a libuv loop and worker tasks on the pool send into
 * one mpsc under one Mutex (held across the awaited send) while a plain
 * thread receives: exact count, sum and per-sender order, and the tally
 * kept under the Mutex agrees.  And a libevent task selects over two
 * channels fed by tasks on a libuv loop in another thread.
 * (examples/cross_runtime.c is the first as a program.)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <awaitkit/event.h>
#include <awaitkit/uv.h>

#include "testkit.h"

Suite *cross_suite(void);

#define UV_SENDERS 3
#define POOL_SENDERS 3
#define SENDERS (UV_SENDERS + POOL_SENDERS)
#define PER_SENDER 500

struct tally {
	struct ak_mutex *mutex;
	long sent[SENDERS];         /* under mutex */
	long total;                 /* under mutex */
};

struct sender {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_tx *tx;
	struct tally *tally;
	struct ak_mutex_lock_op lock;
	struct ak_mpsc_send_op send;
	long v;
	int id, i, held, rc;
};

static int sender_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sender *s = (struct sender *)(void *)f;
	AK_BEGIN(&s->aw, cx);
	for (s->i = 1; s->i <= PER_SENDER; s->i++) {
		ak_mutex_lock_init(&s->lock, s->tally->mutex);
		AK_AWAIT(&s->aw, &s->lock.future, s->rc);
		if (s->rc)
			break;
		s->held = 1;
		s->v = ((long)s->id << 20) | s->i;
		ak_mpsc_send_init(&s->send, s->tx, &s->v);
		AK_AWAIT(&s->aw, &s->send.future, s->rc);   /* the guard held */
		if (s->rc == 0) {
			s->tally->sent[s->id]++;
			s->tally->total++;
		}
		ak_mutex_unlock(&s->lock);
		s->held = 0;
		if (s->rc)
			break;
	}
	ak_mpsc_tx_drop(s->tx);
	s->tx = NULL;
	AK_RETURN(&s->aw, s->rc);
	AK_CLEANUP(&s->aw);
	if (s->held)
		ak_mutex_unlock(&s->lock);
	if (s->tx)
		ak_mpsc_tx_drop(s->tx);
	AK_END(&s->aw);
}

static void sender_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct sender *)(void *)f)->aw, f);
}

static const struct ak_future_vtable sender_vtable = { sender_poll, sender_cancel };

/* The libuv side: its own thread runs the loop until its tasks finish. */
struct uv_side {
	struct ak_future **tasks;
	int ntasks;
	int rc;
};

static void *uv_thread(void *arg)
{
	struct uv_side *u = arg;
	uv_loop_t loop;
	struct ak_uv *uv;
	u->rc = uv_loop_init(&loop) == 0 ? ak_uv_new(&loop, &uv) : AK_ENOMEM;
	if (u->rc)
		return NULL;
	for (int i = 0; i < u->ntasks && u->rc == 0; i++)
		u->rc = ak_uv_spawn(uv, u->tasks[i], NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ak_uv_close(uv);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0 && u->rc == 0)
		u->rc = AK_EBUSY;
	return NULL;
}

START_TEST(cross_uv_pool_and_thread_share_one_mpsc_and_one_mutex)
{
	struct sender s[SENDERS];
	struct ak_future *uv_tasks[UV_SENDERS];
	struct tally tally;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_pool *pool;
	struct uv_side u = { uv_tasks, UV_SENDERS, 0 };
	pthread_t th;

	memset(&tally, 0, sizeof(tally));
	ck_assert_int_eq(ak_mutex_new(&tally.mutex, 0), 0);
	ck_assert_int_eq(ak_mpsc_new(8, sizeof(long), NULL, &tx, &rx), 0);
	for (int i = 0; i < SENDERS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = i;
		s[i].tally = &tally;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &s[i].tx), 0);
		ak_future_init(&s[i].future, &sender_vtable);
	}
	ak_mpsc_tx_drop(tx);
	for (int i = 0; i < UV_SENDERS; i++)
		uv_tasks[i] = &s[i].future;
	ck_assert_int_eq(pthread_create(&th, NULL, uv_thread, &u), 0);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	for (int i = UV_SENDERS; i < SENDERS; i++)
		ck_assert_int_eq(ak_pool_spawn(pool, &s[i].future, NULL), 0);

	/* The consumer: this plain thread. */
	long count = 0, sum = 0, v;
	int last[SENDERS] = { 0 }, out_of_order = 0, rc;
	while ((rc = ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(20LL * 1000000000))) == 0) {
		int id = (int)(v >> 20), seq = (int)(v & 0xfffff);
		out_of_order += seq != last[id] + 1;
		last[id] = seq;
		count++;
		sum += seq;
	}
	ck_assert_int_eq(rc, AK_EPIPE);         /* every sender finished */
	pthread_join(th, NULL);
	ck_assert_int_eq(ak_pool_wait_idle(pool, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	ck_assert_int_eq(u.rc, 0);

	ck_assert_int_eq(count, (long)SENDERS * PER_SENDER);
	ck_assert_int_eq(sum, (long)SENDERS * PER_SENDER * (PER_SENDER + 1) / 2);
	ck_assert_int_eq(out_of_order, 0);
	struct ak_mutex_lock_op guard;
	ck_assert_int_eq(ak_mutex_lock_blocking(&guard, tally.mutex, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(tally.total, count);
	for (int i = 0; i < SENDERS; i++) {
		ck_assert_int_eq(tally.sent[i], PER_SENDER);
		ck_assert_int_eq(s[i].rc, 0);
	}
	ak_mutex_unlock(&guard);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(ak_mutex_free(tally.mutex), 0);
}
END_TEST

/* ---- a select on libevent over channels fed from libuv ------------------ */

struct picker {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op recv[2];
	struct ak_branch br[2];
	struct ak_select_op sel;
	long v[2], count[2], sum[2];
	int closed[2], rc;
};

static int picker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct picker *p = (struct picker *)(void *)f;
	AK_BEGIN(&p->aw, cx);
	while (!p->closed[0] || !p->closed[1]) {
		for (int i = 0; i < 2; i++) {
			ak_mpsc_recv_init(&p->recv[i], p->rx[i], &p->v[i]);
			p->br[i] = (struct ak_branch){ &p->recv[i].future, 0,
			                               p->closed[i] ? AK_BRANCH_DISABLED : 0u };
		}
		ak_select_init(&p->sel, p->br, 2, 0);
		AK_AWAIT(&p->aw, &p->sel.future, p->rc);
		int i = ak_select_index(&p->sel);
		if (i < 0 || i > 1)
			AK_RETURN(&p->aw, p->rc ? p->rc : AK_EINVAL);
		if (p->br[i].status == AK_EPIPE) {
			p->closed[i] = 1;
		} else if (p->br[i].status == 0) {
			p->count[i]++;
			p->sum[i] += p->v[i] & 0xfffff;
		} else {
			AK_RETURN(&p->aw, p->br[i].status);
		}
	}
	AK_RETURN(&p->aw, 0);
	AK_CLEANUP(&p->aw);
	AK_END(&p->aw);
}

static void picker_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct picker *)(void *)f)->aw, f);
}

static const struct ak_future_vtable picker_vtable = { picker_poll, picker_cancel };

START_TEST(cross_select_in_a_libevent_task_over_channels_fed_from_libuv)
{
	struct sender s[2];
	struct ak_future *uv_tasks[2] = { &s[0].future, &s[1].future };
	struct uv_side u = { uv_tasks, 2, 0 };
	struct tally tally;
	struct picker p;
	struct event_base *base;
	struct ak_event *ev;
	pthread_t th;

	memset(&tally, 0, sizeof(tally));
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(ak_mutex_new(&tally.mutex, 0), 0);
	for (int i = 0; i < 2; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = i;
		s[i].tally = &tally;
		ck_assert_int_eq(ak_mpsc_new(2, sizeof(long), NULL, &s[i].tx, &p.rx[i]), 0);
		ak_future_init(&s[i].future, &sender_vtable);
	}
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ck_assert_int_eq(ak_event_new(base, &ev), 0);
	ak_future_init(&p.future, &picker_vtable);
	ck_assert_int_eq(ak_event_spawn(ev, &p.future, NULL), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, uv_thread, &u), 0);
	ck_assert_int_ge(event_base_dispatch(base), 0);  /* until the task ends */
	pthread_join(th, NULL);
	ck_assert_int_eq(u.rc, 0);
	ck_assert_int_eq(p.rc, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(s[i].rc, 0);
		ck_assert_int_eq(p.count[i], PER_SENDER);
		ck_assert_int_eq(p.sum[i], (long)PER_SENDER * (PER_SENDER + 1) / 2);
		ak_mpsc_rx_drop(p.rx[i]);
	}
	ck_assert_int_eq(ak_event_close(ev), 0);
	event_base_free(base);
	ck_assert_int_eq(ak_mutex_free(tally.mutex), 0);
}
END_TEST

Suite *cross_suite(void)
{
	Suite *s = suite_create("cross");
	TCase *tc = tk_tcase("cross");
	tcase_add_test(tc, cross_uv_pool_and_thread_share_one_mpsc_and_one_mutex);
	tcase_add_test(tc, cross_select_in_a_libevent_task_over_channels_fed_from_libuv);
	suite_add_tcase(s, tc);
	return s;
}
