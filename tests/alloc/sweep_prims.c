/*
 * tests/alloc/sweep_prims.c: the other primitives under the
 * allocation-failure sweep: mpsc, oneshot, broadcast, mutex, semaphore,
 * notify, the executor, the pool, the timer and ak_block_on.
 */
#include <stdint.h>
#include <string.h>

#include "sweep.h"

#define SOON() ak_deadline_in(1000000)         /* 1 ms */

static void mpsc_bounded(void)
{
	struct ak_mpsc_tx *tx = NULL, *tx2 = NULL, *up = NULL;
	struct ak_mpsc_rx *rx = NULL;
	struct ak_mpsc_weak *weak = NULL, *weak2 = NULL;
	struct ak_mpsc_reserve_op permit = { 0 };
	int holds_permit = 0;
	uint64_t v = 1, out = 0, buf[4];
	size_t n = 0;

	if (ak_mpsc_new(2, sizeof v, NULL, &tx, &rx) != 0)
		return;
	SW_TRY(ak_mpsc_tx_clone(tx, &tx2));
	SW_TRY(ak_mpsc_try_send(tx, &v));
	SW_TRY(ak_mpsc_send_blocking(tx2, &v, INT64_MAX));
	SW_EXPECT(AK_EAGAIN, ak_mpsc_try_send(tx, &v));
	SW_TRY(ak_mpsc_try_recv(rx, &out));
	SW_TRY(ak_mpsc_try_reserve(&permit, tx));
	holds_permit = 1;
	SW_TRY(ak_mpsc_permit_send(&permit, &v));
	holds_permit = 0;
	SW_TRY(ak_mpsc_recv_many_blocking(rx, buf, 4, &n, INT64_MAX));
	SW_TRY(ak_mpsc_reserve_blocking(&permit, tx, 2, INT64_MAX));
	holds_permit = 1;
	SW_TRY(ak_mpsc_permit_send(&permit, &v));
	ak_mpsc_permit_drop(&permit);
	holds_permit = 0;
	SW_TRY(ak_mpsc_recv_blocking(rx, &out, INT64_MAX));
	SW_TRY(ak_mpsc_tx_downgrade(tx, &weak));
	SW_TRY(ak_mpsc_weak_clone(weak, &weak2));
	SW_TRY(ak_mpsc_weak_upgrade(weak2, &up));
	SW_TRY(ak_mpsc_rx_close(rx));
	SW_EXPECT(AK_EPIPE, ak_mpsc_try_send(up, &v));
out:
	if (holds_permit)
		ak_mpsc_permit_drop(&permit);
	if (up)
		ak_mpsc_tx_drop(up);
	if (weak2)
		ak_mpsc_weak_drop(weak2);
	if (weak)
		ak_mpsc_weak_drop(weak);
	if (tx2)
		ak_mpsc_tx_drop(tx2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}

static void mpsc_unbounded(void)
{
	struct ak_mpsc_tx *tx = NULL;
	struct ak_mpsc_rx *rx = NULL;
	uint64_t v, out;

	if (ak_mpsc_unbounded_new(sizeof v, NULL, &tx, &rx) != 0)
		return;
	for (v = 0; v < 100; v++)
		SW_TRY(ak_mpsc_try_send(tx, &v));
	for (v = 0; v < 60; v++)
		SW_TRY(ak_mpsc_try_recv(rx, &out));
out:
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}

static void oneshot_round(void)
{
	struct ak_oneshot_tx *tx = NULL, *tx2 = NULL;
	struct ak_oneshot_rx *rx = NULL, *rx2 = NULL;
	uint64_t v = 5, out = 0;

	if (ak_oneshot_new(sizeof v, NULL, &tx, &rx) != 0)
		return;
	SW_TRY(ak_oneshot_send(tx, &v));
	tx = NULL;              /* a send consumes the sender */
	SW_TRY(ak_oneshot_recv_blocking(rx, &out, INT64_MAX));
	SW_TRY(ak_oneshot_new(sizeof v, NULL, &tx2, &rx2));
	ak_oneshot_tx_drop(tx2);
	tx2 = NULL;
	SW_EXPECT(AK_EPIPE, ak_oneshot_recv_blocking(rx2, &out, INT64_MAX));
out:
	if (tx)
		ak_oneshot_tx_drop(tx);
	if (tx2)
		ak_oneshot_tx_drop(tx2);
	if (rx2)
		ak_oneshot_rx_drop(rx2);
	ak_oneshot_rx_drop(rx);
}

static void broadcast_round(void)
{
	struct ak_broadcast_tx *tx = NULL, *tx2 = NULL;
	struct ak_broadcast_rx *rx = NULL, *rx2 = NULL, *rx3 = NULL;
	uint64_t v, out = 0, missed = 0;
	size_t receivers = 0;

	if (ak_broadcast_new(&tx, &rx, 4, sizeof v, NULL) != 0)
		return;
	SW_TRY(ak_broadcast_tx_clone(tx, &tx2));
	SW_TRY(ak_broadcast_subscribe(tx, &rx2));
	for (v = 0; v < 6; v++)
		SW_TRY(ak_broadcast_send(tx2, &v, &receivers));
	SW_EXPECT(AK_EOVERFLOW, ak_broadcast_try_recv(rx, &out, &missed));
	SW_TRY(ak_broadcast_try_recv(rx, &out, &missed));
	SW_EXPECT(AK_EOVERFLOW, ak_broadcast_recv_blocking(rx2, &out, &missed, INT64_MAX));
	SW_TRY(ak_broadcast_resubscribe(rx2, &rx3));
out:
	if (rx3)
		ak_broadcast_rx_drop(rx3);
	if (rx2)
		ak_broadcast_rx_drop(rx2);
	if (tx2)
		ak_broadcast_tx_drop(tx2);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}

static void mutex_round(void)
{
	struct ak_mutex *m = NULL;
	struct ak_mutex_lock_op a = { 0 }, b = { 0 };
	int held = 0;

	if (ak_mutex_new(&m, 0) != 0)
		return;
	SW_TRY(ak_mutex_lock_blocking(&a, m, INT64_MAX));
	held = 1;
	SW_EXPECT(AK_ETIMEDOUT, ak_mutex_lock_blocking(&b, m, SOON()));
	SW_TRY(ak_mutex_unlock(&a));
	held = 0;
out:
	if (held)
		ak_mutex_unlock(&a);
	ak_mutex_free(m);
}

static void semaphore_round(void)
{
	struct ak_semaphore *sem = NULL;
	struct ak_semaphore_acquire_op a = { 0 }, b = { 0 };
	int held = 0;
	uint64_t forgotten = 0;

	if (ak_semaphore_new(&sem, 2) != 0)
		return;
	SW_TRY(ak_semaphore_acquire_blocking(&a, sem, 2, INT64_MAX));
	held = 1;
	SW_EXPECT(AK_EAGAIN, ak_semaphore_try_acquire(&b, sem, 1));
	SW_EXPECT(AK_ETIMEDOUT, ak_semaphore_acquire_blocking(&b, sem, 1, SOON()));
	SW_TRY(ak_semaphore_release(&a));
	held = 0;
	SW_TRY(ak_semaphore_add_permits(sem, 3));
	SW_TRY(ak_semaphore_forget(sem, 1, &forgotten));
	SW_TRY(ak_semaphore_close(sem));
out:
	if (held)
		ak_semaphore_release(&a);
	ak_semaphore_free(sem);
}

static void notify_round(void)
{
	struct ak_notify *nt = NULL;
	struct ak_notified_op op = { 0 };

	if (ak_notify_new(&nt) != 0)
		return;
	SW_TRY(ak_notify_one(nt));
	SW_TRY(ak_notified_blocking(&op, nt, INT64_MAX));
	SW_TRY(ak_notify_waiters(nt));
	SW_EXPECT(AK_ETIMEDOUT, ak_notified_blocking(&op, nt, SOON()));
out:
	ak_notify_free(nt);
}

/* A task that sends on a oneshot, a task that receives it. */
struct send_task {
	struct ak_future future;
	struct ak_oneshot_tx *tx;
};

static int send_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_task *t = (struct send_task *)f;
	uint64_t v = 9;
	(void)cx;
	if (ak_oneshot_send(t->tx, &v) != 0)
		ak_oneshot_tx_drop(t->tx);      /* refused: still ours */
	t->tx = NULL;
	return 0;
}

static void send_cancel(struct ak_future *f)
{
	struct send_task *t = (struct send_task *)f;
	if (t->tx)
		ak_oneshot_tx_drop(t->tx);
	t->tx = NULL;
}

static const struct ak_future_vtable send_vtable = { send_poll, send_cancel };

static void executor_round(void)
{
	struct ak_executor *ex = NULL;
	struct ak_oneshot_rx *rx = NULL;
	struct ak_oneshot_recv_op recv = { 0 };
	struct send_task st = { 0 };
	struct ak_yield_op y = { 0 };
	struct ak_task *h = NULL;
	uint64_t out = 0;

	if (ak_executor_new(&ex) != 0)
		return;
	SW_TRY(ak_oneshot_new(sizeof out, NULL, &st.tx, &rx));
	SW_TRY(ak_oneshot_recv_init(&recv, rx, &out));
	SW_TRY(ak_future_init(&st.future, &send_vtable));
	SW_TRY(ak_executor_spawn(ex, &recv.future, &h));
	if (ak_executor_spawn(ex, &st.future, NULL) != 0) {
		ak_oneshot_tx_drop(st.tx);      /* closes: recv completes */
		st.tx = NULL;
	}
	SW_TRY(ak_yield_init(&y));
	int rc = ak_executor_run_until(ex, &y.future, INT64_MAX);
	if (rc)
		SW_TRY(rc);
	while (ak_task_result(h) == AK_PENDING) {
		int polls = ak_executor_run(ex);
		if (polls < 0)
			SW_TRY(polls);
		if (polls == 0)
			break;
	}
	rc = ak_task_result(h);
	if (rc != 0 && rc != AK_EPIPE)
		SW_TRY(rc);
out:
	if (h)
		ak_task_release(h);
	ak_executor_free(ex);
	if (st.tx)
		ak_oneshot_tx_drop(st.tx);
	if (rx)
		ak_oneshot_rx_drop(rx);
}

static void pool_round(void)
{
	struct ak_pool *p = NULL;
	struct ak_yield_op y[3];
	struct ak_task *h = NULL;

	if (ak_pool_new(&p, 2) != 0)
		return;
	for (int i = 0; i < 3; i++) {
		memset(&y[i], 0, sizeof y[i]);
		SW_TRY(ak_yield_init(&y[i]));
		SW_TRY(ak_pool_spawn(p, &y[i].future, i == 0 ? &h : NULL));
	}
	SW_TRY(ak_pool_wait_idle(p, INT64_MAX));
	SW_TRY(ak_task_result(h));
out:
	ak_pool_wait_idle(p, INT64_MAX);
	if (h)
		ak_task_release(h);
	ak_pool_free(p);
}

static void timer_round(void)
{
	struct ak_sleep_op a = { 0 }, b = { 0 };

	SW_TRY(ak_sleep_until(&a, ak_deadline_in(200000)));
	SW_TRY(ak_block_on(&a.future, INT64_MAX));
	SW_TRY(ak_sleep_until(&b, ak_deadline_in(10000000000)));
	SW_EXPECT(AK_ETIMEDOUT, ak_block_on(&b.future, ak_deadline_in(200000)));
out:;
}

static void block_on_round(void)
{
	struct ak_yield_op y = { 0 };
	struct ak_notify *nt = NULL;
	struct ak_notified_op op = { 0 };

	SW_TRY(ak_yield_init(&y));
	SW_TRY(ak_block_on(&y.future, INT64_MAX));
	SW_TRY(ak_notify_new(&nt));
	SW_TRY(ak_notified_init(&op, nt));
	SW_EXPECT(AK_ETIMEDOUT, ak_block_on(&op.future, SOON()));
out:
	if (nt)
		ak_notify_free(nt);
}

const struct sw_scenario sw_prim_scenarios[] = {
	{ "mpsc_bounded", mpsc_bounded },
	{ "mpsc_unbounded", mpsc_unbounded },
	{ "oneshot", oneshot_round },
	{ "broadcast", broadcast_round },
	{ "mutex", mutex_round },
	{ "semaphore", semaphore_round },
	{ "notify", notify_round },
	{ "executor", executor_round },
	{ "pool", pool_round },
	{ "timer", timer_round },
	{ "block_on", block_on_round },
	{ NULL, NULL },
};
