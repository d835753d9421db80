/*
 * pingpong_oneshot: two tasks on the single-thread executor, a fresh
 * oneshot per hop.  Each hop carries the sender of the channel the reply
 * must come back on (the tokio peer: oneshot::channel::<Hop>() on a
 * current_thread runtime, Hop(Sender<Hop>)).  ops = hops, two per round
 * trip; one channel created, sent on, received from and dropped per hop.
 * Each side awaits its receiver as tokio's rx.await does, the receive
 * taking the receiver over (ak_oneshot_recv_consume_init).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* A hop never received (none in a clean run) still gives its sender back. */
static void drop_hop(void *elem, void *arg)
{
	struct ak_oneshot_tx *tx;
	(void)arg;
	memcpy(&tx, elem, sizeof(tx));
	ak_oneshot_tx_drop(tx);
}

static const struct ak_oneshot_hooks hop_hooks = { drop_hop, NULL };

/* A: sends a fresh sender to B, waits for B's reply on its receiver. */
struct side_a {
	struct ak_future future;
	struct ak_oneshot_recv_op op;
	struct ak_oneshot_tx *to_b;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_tx *next;
	uint64_t left, hops;
	int waiting;
};

static int a_poll(struct ak_future *f, struct ak_context *cx)
{
	struct side_a *a = (struct side_a *)f;

	while (a->left > 0) {
		if (!a->waiting) {
			struct ak_oneshot_tx *tx;
			if (ak_oneshot_new(sizeof(tx), &hop_hooks, &tx, &a->rx) != 0)
				return AK_ENOMEM;
			if (ak_oneshot_send(a->to_b, &tx) != 0) {
				ak_oneshot_tx_drop(tx);
				ak_oneshot_rx_drop(a->rx);
				a->to_b = NULL;
				return AK_EPIPE;
			}
			a->hops++;
			ak_oneshot_recv_consume_init(&a->op, a->rx, &a->next);
			a->waiting = 1;
		}
		int rc = ak_future_poll(&a->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		a->waiting = 0;         /* and a->rx gone with the receive */
		if (rc != 0)
			return rc;
		a->to_b = a->next;
		a->left--;
	}
	ak_oneshot_tx_drop(a->to_b);    /* B's wait fails and B ends */
	return 0;
}

static void a_cancel(struct ak_future *f)
{
	struct side_a *a = (struct side_a *)f;
	if (a->waiting) {
		ak_future_cancel(&a->op.future);    /* drops a->rx */
	} else if (a->to_b) {
		ak_oneshot_tx_drop(a->to_b);
	}
}

/* B: receives a sender from A and replies on it with a fresh sender. */
struct side_b {
	struct ak_future future;
	struct ak_oneshot_recv_op op;
	struct ak_oneshot_rx *from_a;
	struct ak_oneshot_tx *reply;
	uint64_t hops;
	int waiting;
};

static int b_poll(struct ak_future *f, struct ak_context *cx)
{
	struct side_b *b = (struct side_b *)f;

	for (;;) {
		if (!b->waiting) {
			ak_oneshot_recv_consume_init(&b->op, b->from_a, &b->reply);
			b->waiting = 1;
		}
		int rc = ak_future_poll(&b->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		b->waiting = 0;
		b->from_a = NULL;       /* gone with the receive */
		if (rc == AK_EPIPE)
			return 0;
		if (rc != 0)
			return rc;
		struct ak_oneshot_tx *tx;
		if (ak_oneshot_new(sizeof(tx), &hop_hooks, &tx, &b->from_a) != 0)
			return AK_ENOMEM;
		if (ak_oneshot_send(b->reply, &tx) != 0) {
			ak_oneshot_tx_drop(tx);
			return AK_EPIPE;
		}
		b->hops++;
	}
}

static void b_cancel(struct ak_future *f)
{
	struct side_b *b = (struct side_b *)f;
	if (b->waiting)
		ak_future_cancel(&b->op.future);    /* drops b->from_a */
	else if (b->from_a)
		ak_oneshot_rx_drop(b->from_a);
}

static const struct ak_future_vtable a_vtable = { a_poll, a_cancel };
static const struct ak_future_vtable b_vtable = { b_poll, b_cancel };

static int run(uint64_t rounds, struct bk_result *r)
{
	static struct side_a a;
	static struct side_b b;
	struct ak_executor *ex = NULL;
	struct ak_task *ha = NULL, *hb = NULL;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (ak_executor_new(&ex) != 0 ||
	    ak_oneshot_new(sizeof(struct ak_oneshot_tx *), &hop_hooks, &a.to_b, &b.from_a) != 0) {
		fprintf(stderr, "pingpong_oneshot: set-up failed\n");
		return -1;
	}
	a.left = rounds;
	ak_future_init(&a.future, &a_vtable);
	ak_future_init(&b.future, &b_vtable);
	if (r)
		bk_start(r);
	ak_executor_spawn(ex, &b.future, &hb);
	ak_executor_spawn(ex, &a.future, &ha);
	ak_executor_run(ex);
	if (r)
		bk_stop(r);
	int ok = ak_task_result(ha) == 0 && ak_task_result(hb) == 0 &&
	         a.hops == rounds && b.hops == rounds;
	ak_task_release(ha);
	ak_task_release(hb);
	ak_executor_free(ex);
	if (!ok) {
		fprintf(stderr, "pingpong_oneshot: %llu/%llu hops of %llu\n",
		        (unsigned long long)a.hops, (unsigned long long)b.hops,
		        (unsigned long long)rounds);
		return -1;
	}
	return 0;
}

int bk_pingpong_oneshot(uint64_t size, struct bk_result *r)
{
	uint64_t rounds = size / 2 ? size / 2 : 1;

	r->ops = 2 * rounds;
	/* main.c runs the warm-up, as for every workload */
	return run(rounds, r);
}
