/*
 * broadcast_fanout: 1 sender task and 8 receiver tasks on a pool of 2
 * workers share an ak_broadcast channel of capacity 1024 (the tokio peer:
 * tokio::sync::broadcast on a multi_thread runtime of 2 workers).  size
 * counts deliveries: size / 8 messages, each received by all 8.  Every 64
 * messages the sender yields while it is more than capacity - 128 ahead of
 * the slowest receiver, as every peer does, so nobody lags: lagged must be
 * 0.  ns per delivery.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define RECEIVERS 8
#define CAPACITY 1024

struct padded {
	atomic_uint_fast64_t n;
	char pad[64 - sizeof(atomic_uint_fast64_t)];
};

static struct padded got[RECEIVERS];
static atomic_int failed;

struct rx_task {
	struct ak_future future;
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_recv_op op;
	int receiving;
	int idx;
	uint64_t v, missed, k, lagged, sum;
};

static int rx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct rx_task *t = (struct rx_task *)f;

	for (;;) {
		if (!t->receiving) {
			ak_broadcast_recv_init(&t->op, t->rx, &t->v, &t->missed);
			t->receiving = 1;
		}
		int rc = ak_future_poll(&t->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		t->receiving = 0;
		if (rc == 0) {
			t->sum += t->v;
			t->k++;
			/* release: pairs with the sender's acquire in slowest(). */
			atomic_store_explicit(&got[t->idx].n, t->k, memory_order_release);
		} else if (rc == AK_EOVERFLOW) {
			t->lagged += t->missed;
		} else if (rc == AK_EPIPE) {
			return 0;
		} else {
			atomic_store(&failed, rc);
			return rc;
		}
	}
}

static void rx_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct rx_task *)f)->op.future);
}

static const struct ak_future_vtable rx_vtable = { rx_poll, rx_cancel };

struct tx_task {
	struct ak_future future;
	struct ak_broadcast_tx *tx;
	uint64_t i, n;
};

static uint64_t slowest(void)
{
	uint64_t m = UINT64_MAX;
	for (int r = 0; r < RECEIVERS; r++) {
		uint64_t v = atomic_load_explicit(&got[r].n, memory_order_acquire);
		if (v < m)
			m = v;
	}
	return m;
}

static int tx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct tx_task *t = (struct tx_task *)f;

	for (; t->i < t->n; t->i++) {
		if (t->i % 64 == 0 && t->i - slowest() > CAPACITY - 128) {
			ak_waker_wake_by_ref(&cx->waker);     /* yield */
			return AK_PENDING;
		}
		int rc = ak_broadcast_send(t->tx, &t->i, NULL);
		if (rc != 0) {
			atomic_store(&failed, rc);
			return rc;
		}
	}
	ak_broadcast_tx_drop(t->tx);      /* the receivers see AK_EPIPE after the last */
	t->tx = NULL;
	return 0;
}

static void tx_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable tx_vtable = { tx_poll, tx_cancel };

int bk_broadcast_fanout(uint64_t size, struct bk_result *r)
{
	static struct rx_task rxs[RECEIVERS];
	static struct tx_task tx;
	struct ak_pool *pool = NULL;
	struct ak_broadcast_tx *ch = NULL;
	uint64_t n = size / RECEIVERS;

	if (n == 0)
		n = 1;
	r->ops = n * RECEIVERS;
	memset(rxs, 0, sizeof rxs);
	memset(&tx, 0, sizeof tx);
	memset(got, 0, sizeof got);
	if (ak_pool_new(&pool, bk_workers) != 0 ||
	    ak_broadcast_new(&ch, NULL, CAPACITY, sizeof(uint64_t), NULL) != 0) {
		fprintf(stderr, "broadcast_fanout: set-up failed\n");
		return -1;
	}
	for (int i = 0; i < RECEIVERS; i++) {
		if (ak_broadcast_subscribe(ch, &rxs[i].rx) != 0) {
			fprintf(stderr, "broadcast_fanout: subscribe failed\n");
			return -1;
		}
		rxs[i].idx = i;
		ak_future_init(&rxs[i].future, &rx_vtable);
	}
	tx.tx = ch;
	tx.n = n;
	ak_future_init(&tx.future, &tx_vtable);

	bk_start(r);
	for (int i = 0; i < RECEIVERS; i++)
		ak_pool_spawn(pool, &rxs[i].future, NULL);
	ak_pool_spawn(pool, &tx.future, NULL);
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	bk_stop(r);

	uint64_t total = 0, lagged = 0, sum = 0;
	for (int i = 0; i < RECEIVERS; i++) {
		total += rxs[i].k;
		lagged += rxs[i].lagged;
		sum += rxs[i].sum;
		ak_broadcast_rx_drop(rxs[i].rx);
	}
	ak_pool_free(pool);
	bk_extra(r, "lagged=%llu", (unsigned long long)lagged);
	uint64_t want_sum = RECEIVERS * (n * (n - 1) / 2);
	if (atomic_load(&failed) != 0 || total + lagged != r->ops ||
	    (lagged == 0 && sum != want_sum)) {
		fprintf(stderr, "broadcast_fanout: %llu delivered + %llu lagged, want %llu (error %d)\n",
		        (unsigned long long)total, (unsigned long long)lagged,
		        (unsigned long long)r->ops, atomic_load(&failed));
		return -1;
	}
	return 0;
}
