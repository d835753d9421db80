/*
 * examples/scene_broadcast.c: the broadcast scene.  A sender task and a
 * listener task on the single-thread executor share a channel of capacity
 * 4: the listener, polled between sends, gets all six values in order; a
 * receiver nobody reads until the end is told it missed two (AK_EOVERFLOW)
 * and goes on from the oldest value still held; once the sender is gone,
 * both end with AK_EPIPE.
 */
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

#define VALUES 6

struct sender {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_tx *tx;
	int i;
};

static int sender_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sender *s = (struct sender *)f;

	AK_BEGIN(&s->aw, cx);
	for (s->i = 0; s->i < VALUES; s->i++) {
		ak_broadcast_send(s->tx, &s->i, NULL);
		printf("    sender: sent %d\n", s->i);
		AK_YIELD(&s->aw);
	}
	ak_broadcast_tx_drop(s->tx);       /* closes the channel */
	printf("    sender: dropped its handle\n");
	AK_END(&s->aw);
}

static void sender_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct sender *)f)->aw, f);
}

static const struct ak_future_vtable sender_vtable = { sender_poll, sender_cancel };

struct listener {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_recv_op op;
	int v, rc, got, in_order, end_rc;
};

static int listener_poll(struct ak_future *f, struct ak_context *cx)
{
	struct listener *l = (struct listener *)f;

	AK_BEGIN(&l->aw, cx);
	for (;;) {
		ak_broadcast_recv_init(&l->op, l->rx, &l->v, NULL);
		AK_AWAIT(&l->aw, &l->op.future, l->rc);
		if (l->rc != 0)
			break;
		printf("    listener: got %d\n", l->v);
		if (l->v != l->got)
			l->in_order = 0;
		l->got++;
	}
	l->end_rc = l->rc;
	printf("    listener: %s\n", ak_err_name(l->rc));
	AK_END(&l->aw);
}

static void listener_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct listener *)f)->aw, f);
}

static const struct ak_future_vtable listener_vtable = { listener_poll, listener_cancel };

void scene_broadcast_lag_and_close(void)
{
	struct ak_executor *ex = NULL;
	struct ak_broadcast_tx *tx = NULL;
	struct ak_broadcast_rx *slow = NULL;
	struct sender s;
	struct listener l;

	printf("\n[broadcast] a listener keeps up, a slow receiver lags (capacity 4)\n");
	ak_executor_new(&ex);
	memset(&s, 0, sizeof s);
	memset(&l, 0, sizeof l);
	CHECK(ak_broadcast_new(&tx, &l.rx, 4, sizeof(int), NULL) == 0 &&
	      ak_broadcast_subscribe(tx, &slow) == 0, "a channel with two receivers");
	s.tx = tx;
	l.in_order = 1;
	ak_future_init(&s.future, &sender_vtable);
	ak_future_init(&l.future, &listener_vtable);
	ak_executor_spawn(ex, &l.future, NULL);
	ak_executor_spawn(ex, &s.future, NULL);
	int rc = ak_executor_run(ex);
	CHECK(rc >= 0 && l.got == VALUES && l.in_order && l.end_rc == AK_EPIPE,
	      "the listener got all %d values in order, then AK_EPIPE", VALUES);

	int v = -1;
	uint64_t missed = 0;
	rc = ak_broadcast_try_recv(slow, &v, &missed);
	printf("    slow receiver: %s, missed %llu\n", ak_err_name(rc), (unsigned long long)missed);
	CHECK(rc == AK_EOVERFLOW && missed == 2, "the slow receiver is told it missed 2 values");
	int first = -1, n = 0;
	while ((rc = ak_broadcast_try_recv(slow, &v, NULL)) == 0) {
		if (n++ == 0)
			first = v;
		printf("    slow receiver: got %d\n", v);
	}
	CHECK(first == 2 && n == 4 && rc == AK_EPIPE,
	      "it goes on from the oldest value held (2), drains 4, then AK_EPIPE");
	ak_broadcast_rx_drop(slow);
	ak_broadcast_rx_drop(l.rx);
	ak_executor_free(ex);
}
