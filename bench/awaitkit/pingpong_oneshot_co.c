/*
 * pingpong_oneshot_co: pingpong_oneshot (pingpong_oneshot.c) written as
 * two coroutine tasks (ak_co(3)) instead of two state machines: the same
 * executor, the same fresh oneshot per hop, the same hop count.  What it
 * adds is the coroutines' cost: a stack switch in and out per poll, and
 * the record and stack of each (mapped once, reused from the cache).
 * Issue 19's goal: within 20% of pingpong_oneshot.
 *
 * co_switch: the cost of the switch itself.  One coroutine awaits a
 * future that is pending every other poll, driven by plain polls with a
 * noop waker and no executor: ops = polls, each one switch in and one out.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static void drop_hop(void *elem, void *arg)
{
	struct ak_oneshot_tx *tx;
	(void)arg;
	memcpy(&tx, elem, sizeof(tx));
	ak_oneshot_tx_drop(tx);
}

static const struct ak_oneshot_hooks hop_hooks = { drop_hop, NULL };

struct pingpong {
	struct ak_oneshot_tx *to_b;
	struct ak_oneshot_rx *from_a;
	uint64_t rounds, a_hops, b_hops;
};

/* A: sends a fresh sender to B, waits for B's reply on its receiver. */
static int side_a(struct ak_co *co, void *arg)
{
	struct pingpong *p = arg;
	struct ak_oneshot_tx *to_b = p->to_b;

	for (uint64_t i = 0; i < p->rounds; i++) {
		struct ak_oneshot_tx *tx;
		struct ak_oneshot_rx *rx;
		if (ak_oneshot_new(sizeof(tx), &hop_hooks, &tx, &rx) != 0)
			return AK_ENOMEM;
		if (ak_oneshot_send(to_b, &tx) != 0) {
			ak_oneshot_tx_drop(tx);
			ak_oneshot_rx_drop(rx);
			return AK_EPIPE;
		}
		p->a_hops++;
		int rc = ak_co_oneshot_recv(co, rx, &to_b);
		ak_oneshot_rx_drop(rx);
		if (rc != 0)
			return rc;
	}
	ak_oneshot_tx_drop(to_b);       /* B's wait fails and B ends */
	return 0;
}

/* B: receives a sender from A and replies on it with a fresh sender. */
static int side_b(struct ak_co *co, void *arg)
{
	struct pingpong *p = arg;
	struct ak_oneshot_rx *from_a = p->from_a;

	for (;;) {
		struct ak_oneshot_tx *reply, *tx;
		int rc = ak_co_oneshot_recv(co, from_a, &reply);
		ak_oneshot_rx_drop(from_a);
		if (rc == AK_EPIPE)
			return 0;
		if (rc != 0)
			return rc;
		if (ak_oneshot_new(sizeof(tx), &hop_hooks, &tx, &from_a) != 0)
			return AK_ENOMEM;
		if (ak_oneshot_send(reply, &tx) != 0) {
			ak_oneshot_tx_drop(tx);
			ak_oneshot_rx_drop(from_a);
			return AK_EPIPE;
		}
		p->b_hops++;
	}
}

int bk_pingpong_oneshot_co(uint64_t size, struct bk_result *r)
{
	struct pingpong p;
	struct ak_executor *ex = NULL;
	struct ak_task *ha = NULL, *hb = NULL;

	memset(&p, 0, sizeof p);
	p.rounds = size / 2 ? size / 2 : 1;
	r->ops = 2 * p.rounds;
	if (ak_executor_new(&ex) != 0 ||
	    ak_oneshot_new(sizeof(struct ak_oneshot_tx *), &hop_hooks, &p.to_b,
	                   &p.from_a) != 0) {
		fprintf(stderr, "pingpong_oneshot_co: set-up failed\n");
		return -1;
	}
	bk_start(r);
	ak_co_spawn(ex, side_b, &p, &hb);
	ak_co_spawn(ex, side_a, &p, &ha);
	ak_executor_run(ex);
	bk_stop(r);
	int ok = ak_task_result(ha) == 0 && ak_task_result(hb) == 0 &&
	         p.a_hops == p.rounds && p.b_hops == p.rounds;
	ak_task_release(ha);
	ak_task_release(hb);
	ak_executor_free(ex);
	if (!ok) {
		fprintf(stderr, "pingpong_oneshot_co: %llu/%llu hops of %llu\n",
		        (unsigned long long)p.a_hops, (unsigned long long)p.b_hops,
		        (unsigned long long)p.rounds);
		return -1;
	}
	return 0;
}

/* Pending at every odd poll, without waking anyone: the driver polls. */
struct blink {
	struct ak_future future;
	int pending;
};

static int blink_poll(struct ak_future *f, struct ak_context *cx)
{
	struct blink *b = (struct blink *)f;
	(void)cx;
	b->pending = !b->pending;
	return b->pending ? AK_PENDING : 0;
}

static void blink_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable blink_vtable = { blink_poll, blink_cancel };

static int blinker(struct ak_co *co, void *arg)
{
	uint64_t n = *(uint64_t *)arg;
	for (uint64_t i = 0; i < n; i++) {
		struct blink b = { { NULL, 0 }, 0 };
		ak_future_init(&b.future, &blink_vtable);
		if (ak_co_await(co, &b.future) != 0)
			return AK_EINVAL;
	}
	return 0;
}

int bk_co_switch(uint64_t size, struct bk_result *r)
{
	struct ak_co *co;
	struct ak_context cx;
	int rc;

	r->ops = size;
	if (ak_co_new(blinker, &size, 0, &co) != 0)
		return -1;
	bk_start(r);
	do {
		ak_context_init(&cx, ak_waker_noop(), NULL);
		cx.budget = AK_BUDGET_UNCONSTRAINED;
		rc = ak_context_done(&cx, ak_future_poll(ak_co_future(co), &cx));
	} while (rc == AK_PENDING);
	bk_stop(r);
	ak_co_free(co);
	if (rc != 0) {
		fprintf(stderr, "co_switch: %d\n", rc);
		return -1;
	}
	return 0;
}
