/*
 * examples/scene_mpsc.c: the mpsc scenes.
 *
 *  - tasks and threads feed one receiver: two producer tasks on the pool
 *    and a plain thread (blocking sends) share a channel of capacity 4;
 *    the main thread receives in batches with recv_many until every
 *    sender is gone, and checks count, sum and per-producer order;
 *  - a value is never at risk: a send that waits on a full channel is
 *    cancelled (its value is still the caller's, nothing reached the
 *    channel); a reserved permit sends later without waiting; the
 *    receiver closes and still drains what was queued, then AK_EPIPE.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

#define PER 1000

/* ---- tasks and threads feed one receiver -------------------------------------------- */

struct feeder {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_send_op op;
	int id, i, value, rc;
};

static int feeder_poll(struct ak_future *f, struct ak_context *cx)
{
	struct feeder *p = (struct feeder *)f;

	AK_BEGIN(&p->aw, cx);
	for (p->i = 0; p->i < PER; p->i++) {
		p->value = p->id * PER + p->i;
		ak_mpsc_send_init(&p->op, p->tx, &p->value);
		AK_AWAIT(&p->aw, &p->op.future, p->rc);
		if (p->rc)
			break;
	}
	ak_mpsc_tx_drop(p->tx);
	AK_END(&p->aw);
}

static void feeder_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct feeder *)f)->aw, f);
}

static const struct ak_future_vtable feeder_vtable = { feeder_poll, feeder_cancel };

static void *thread_feeder(void *arg)
{
	struct ak_mpsc_tx *tx = arg;
	for (int i = 0; i < PER; i++) {
		int v = 2 * PER + i;
		if (ak_mpsc_send_blocking(tx, &v, ak_deadline_in(5000000000LL)) != 0)
			break;
	}
	ak_mpsc_tx_drop(tx);
	return NULL;
}

void scene_mpsc_tasks_and_threads_feed_one_receiver(void)
{
	struct ak_pool *pool = NULL;
	struct ak_mpsc_tx *tx, *ttx;
	struct ak_mpsc_rx *rx;
	static struct feeder feeders[2];
	pthread_t th;
	int buf[16], next[3] = { 0, 0, 0 }, in_order = 1, batches = 0, rc;
	long count = 0, sum = 0;
	size_t n;

	printf("\n[mpsc] two pool tasks and a plain thread send into a channel of 4\n");
	ak_mpsc_new(4, sizeof(int), NULL, &tx, &rx);
	ak_pool_new(&pool, 2);
	for (int i = 0; i < 2; i++) {
		memset(&feeders[i], 0, sizeof(feeders[i]));
		ak_future_init(&feeders[i].future, &feeder_vtable);
		feeders[i].id = i;
		ak_mpsc_tx_clone(tx, &feeders[i].tx);
		ak_pool_spawn(pool, &feeders[i].future, NULL);
	}
	ak_mpsc_tx_clone(tx, &ttx);
	pthread_create(&th, NULL, thread_feeder, ttx);
	ak_mpsc_tx_drop(tx);       /* the feeders hold the only senders now */
	while ((rc = ak_mpsc_recv_many_blocking(rx, buf, 16, &n, ak_deadline_in(5000000000LL))) == 0) {
		batches++;
		for (size_t k = 0; k < n; k++) {
			int who = buf[k] / PER;
			if (buf[k] % PER != next[who]++)
				in_order = 0;
			count++;
			sum += buf[k];
		}
	}
	pthread_join(th, NULL);
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	ak_pool_free(pool);
	printf("    main: %ld values in %d batches, then %s (every sender gone)\n", count, batches,
	       ak_err_name(rc));
	CHECK(rc == AK_EPIPE, "the receiver sees AK_EPIPE once the last sender is dropped");
	CHECK(count == 3 * PER, "every value arrived once (%ld of %d)", count, 3 * PER);
	CHECK(sum == (long)3 * PER * (3 * PER - 1) / 2, "the sum matches (%ld)", sum);
	CHECK(in_order, "each producer's values arrived in the order it sent them");
	ak_mpsc_rx_drop(rx);
}

/* ---- a value is never at risk -------------------------------------------------------------- */

void scene_mpsc_values_never_at_risk(void)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send = { 0 };
	struct ak_mpsc_reserve_op permit = { 0 };
	struct ak_context cx;
	int v, got, rc;

	printf("\n[mpsc] cancel a waiting send, send through a permit, close and drain\n");
	ak_mpsc_new(2, sizeof(int), NULL, &tx, &rx);
	ak_mpsc_try_send(tx, &(int){ 1 });
	ak_mpsc_try_reserve(&permit, tx);       /* the second slot, held */
	v = 3;
	rc = ak_mpsc_try_send(tx, &v);
	printf("    try_send on a full channel: %s\n", ak_err_name(rc));
	ak_mpsc_send_init(&send, tx, &v);
	ak_context_init(&cx, ak_waker_noop(), NULL);
	rc = ak_future_poll(&send.future, &cx);
	ak_context_done(&cx, rc);
	printf("    a send op waits (%s); cancelling it\n", rc == AK_PENDING ? "AK_PENDING" : ak_err_name(rc));
	ak_future_cancel(&send.future);
	CHECK(v == 3 && ak_mpsc_len(rx) == 1, "the cancelled send left its value with the caller "
	      "and nothing in the channel");
	ak_mpsc_permit_send(&permit, &(int){ 2 });
	printf("    the permit sends 2 without waiting; the receiver closes\n");
	ak_mpsc_rx_close(rx);
	CHECK(ak_mpsc_try_send(tx, &v) == AK_EPIPE, "a send after close fails with AK_EPIPE");
	int a = -1, b = -1;
	ak_mpsc_try_recv(rx, &a);
	ak_mpsc_try_recv(rx, &b);
	rc = ak_mpsc_try_recv(rx, &got);
	printf("    drained %d and %d, then %s\n", a, b, ak_err_name(rc));
	CHECK(a == 1 && b == 2 && rc == AK_EPIPE, "close keeps what was queued, then reports AK_EPIPE");
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
