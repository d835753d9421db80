/*
 * bench/awaitkit/mpsc_tasks.h: the producer and consumer tasks the mpsc
 * workloads share (spsc_bounded, mpsc_bounded_4p, spsc_unbounded): each is
 * an ak_future that awaits one send or recv operation per value, as a
 * tokio task awaits send()/recv().  Public API only.
 */
#ifndef BENCH_AWAITKIT_MPSC_TASKS_H
#define BENCH_AWAITKIT_MPSC_TASKS_H

#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Each task a 128-byte-aligned cell of its own, as tokio's task cells are
 * (semaphore_contended.c says why). */
struct bk_producer {
	_Alignas(128) struct ak_future future;
	struct ak_mpsc_tx *tx;
	uint64_t next, end;
	int64_t value;
	int active;
	int rc;
	struct bk_queue_probe *probe;  /* spsc_unbounded only */
	struct ak_mpsc_send_op op;
};

/*
 * probed: a constant, so that the bounded runs' loops (no probe, as
 * tokio's) test nothing for it (bk_producer_vtable, bk_consumer_vtable);
 * spsc_unbounded's tasks get the probed vtables.  The loop keeps its
 * counters and handle in locals, stored when the task parks, and marks the
 * operation live (active) only then: the Rust peer's async block keeps i
 * in a register between its awaits and writes its state at a suspension
 * alone.  A poll that finds active resumes the parked operation.
 */
static inline __attribute__((always_inline)) int bk_producer_run(struct ak_future *f,
                                                                 struct ak_context *cx, int probed)
{
	struct bk_producer *p = (struct bk_producer *)f;
	struct ak_mpsc_tx *tx = p->tx;
	uint64_t next = p->next, end = p->end;
	int rc;
	if (p->active)
		goto resume;
	for (; next < end; next++) {
		p->value = (int64_t)next;
		ak_mpsc_send_init(&p->op, tx, &p->value);
resume:
		rc = ak_future_poll(&p->op.future, cx);
		if (rc == AK_PENDING) {
			p->next = next;
			p->active = 1;
			return AK_PENDING;
		}
		if (rc != 0) {
			p->rc = rc;
			break;
		}
		if (probed)
			bk_probe_sent(p->probe, next + 1);
	}
	p->next = next;
	p->active = 0;
	ak_mpsc_tx_drop(tx);
	p->tx = NULL;
	return 0;
}

static int bk_producer_poll(struct ak_future *f, struct ak_context *cx)
{
	return bk_producer_run(f, cx, 0);
}

static int bk_producer_probed_poll(struct ak_future *f, struct ak_context *cx)
{
	return bk_producer_run(f, cx, 1);
}

static void bk_producer_cancel(struct ak_future *f)
{
	struct bk_producer *p = (struct bk_producer *)f;
	ak_future_cancel(&p->op.future);
	ak_mpsc_tx_drop(p->tx);
}

static const struct ak_future_vtable bk_producer_vtable = { bk_producer_poll, bk_producer_cancel };
static const struct ak_future_vtable bk_producer_probed_vtable = { bk_producer_probed_poll,
                                                                   bk_producer_cancel };

static void bk_producer_init(struct bk_producer *p, struct ak_mpsc_tx *tx, uint64_t begin,
                             uint64_t end)
{
	memset(p, 0, sizeof(*p));
	ak_future_init(&p->future, &bk_producer_vtable);
	p->tx = tx;
	p->next = begin;
	p->end = end;
}

/* Receives until the channel is finished, summing. */
struct bk_consumer {
	_Alignas(128) struct ak_future future;
	struct ak_mpsc_rx *rx;
	int64_t value;
	int64_t sum;
	uint64_t count;
	int active;
	struct bk_queue_probe *probe;  /* spsc_unbounded only */
	struct ak_mpsc_recv_op op;
};

static inline __attribute__((always_inline)) int bk_consumer_run(struct ak_future *f,
                                                                 struct ak_context *cx, int probed)
{
	struct bk_consumer *c = (struct bk_consumer *)f;
	struct ak_mpsc_rx *rx = c->rx;
	int64_t sum = c->sum;
	uint64_t count = c->count;
	int rc;
	if (c->active)
		goto resume;
	for (;;) {
		ak_mpsc_recv_init(&c->op, rx, &c->value);
resume:
		rc = ak_future_poll(&c->op.future, cx);
		if (rc != 0)
			break;
		sum += c->value;
		count++;
		if (probed)
			bk_probe_received(c->probe, count);
	}
	c->sum = sum;
	c->count = count;
	c->active = rc == AK_PENDING;
	if (rc == AK_PENDING)
		return AK_PENDING;
	return rc == AK_EPIPE ? 0 : rc;
}

static int bk_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	return bk_consumer_run(f, cx, 0);
}

static int bk_consumer_probed_poll(struct ak_future *f, struct ak_context *cx)
{
	return bk_consumer_run(f, cx, 1);
}

static void bk_consumer_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct bk_consumer *)f)->op.future);
}

static const struct ak_future_vtable bk_consumer_vtable = { bk_consumer_poll, bk_consumer_cancel };
static const struct ak_future_vtable bk_consumer_probed_vtable = { bk_consumer_probed_poll,
                                                                   bk_consumer_cancel };

static void bk_consumer_init(struct bk_consumer *c, struct ak_mpsc_rx *rx)
{
	memset(c, 0, sizeof(*c));
	ak_future_init(&c->future, &bk_consumer_vtable);
	c->rx = rx;
}

/*
 * One run: nprod producers (n / nprod values each) and one consumer as
 * tasks on a pool of two workers, over a channel of cap (0: unbounded).
 * The unbounded run with one producer also reports its memory (bench.h):
 * peak_queued (messages), peak_mem_kib (peak RSS over the RSS at the start
 * of the run, freed memory handed back first) and mem_per_queued, the
 * peak memory over peak_queued x the element's 8 bytes.
 */
static int bk_mpsc_run(const char *name, size_t cap, int nprod, uint64_t n, struct bk_result *r)
{
	struct ak_pool *pool;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct bk_producer prod[8];
	struct bk_consumer cons;
	static struct bk_queue_probe probe;
	int64_t mem0 = -1;
	int rc;

	n -= n % (uint64_t)nprod;
	r->ops = n;
	rc = cap ? ak_mpsc_new(cap, sizeof(int64_t), NULL, &tx, &rx)
	         : ak_mpsc_unbounded_new(sizeof(int64_t), NULL, &tx, &rx);
	if (rc || ak_pool_new(&pool, bk_workers) != 0) {
		fprintf(stderr, "%s: set-up failed (%d)\n", name, rc);
		return -1;
	}
	bk_consumer_init(&cons, rx);
	for (int i = 0; i < nprod; i++) {
		struct ak_mpsc_tx *t;
		if (ak_mpsc_tx_clone(tx, &t) != 0) {
			fprintf(stderr, "%s: set-up failed (clone)\n", name);
			return -1;
		}
		uint64_t per = n / (uint64_t)nprod;
		bk_producer_init(&prod[i], t, per * (uint64_t)i, per * (uint64_t)(i + 1));
	}
	ak_mpsc_tx_drop(tx);
	if (cap == 0 && nprod == 1) {
		memset(&probe, 0, sizeof probe);
		prod[0].probe = cons.probe = &probe;
		ak_future_init(&prod[0].future, &bk_producer_probed_vtable);
		ak_future_init(&cons.future, &bk_consumer_probed_vtable);
		mem0 = bk_mem_mark();
	}
	bk_start(r);
	ak_pool_spawn(pool, &cons.future, NULL);
	for (int i = 0; i < nprod; i++)
		ak_pool_spawn(pool, &prod[i].future, NULL);
	rc = ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	bk_stop(r);
	if (mem0 >= 0) {
		int64_t grew = bk_mem_peak() - mem0;
		uint64_t q = bk_probe_peak(&probe);
		bk_extra(r, "peak_queued=%llu", (unsigned long long)q);
		bk_extra(r, "peak_mem_kib=%lld", (long long)(grew / 1024));
		bk_extra(r, "mem_per_queued=%.2f", q ? (double)grew / (double)(q * sizeof(int64_t)) : 0.0);
	}
	ak_pool_free(pool);
	ak_mpsc_rx_drop(rx);
	int64_t want = (int64_t)(n * (n - 1) / 2);
	if (rc != 0 || cons.count != n || cons.sum != want) {
		fprintf(stderr, "%s: received %llu (sum %lld), want %llu (sum %lld); rc %d\n", name,
		        (unsigned long long)cons.count, (long long)cons.sum, (unsigned long long)n,
		        (long long)want, rc);
		return -1;
	}
	for (int i = 0; i < nprod; i++)
		if (prod[i].rc) {
			fprintf(stderr, "%s: producer %d: %d\n", name, i, prod[i].rc);
			return -1;
		}
	return 0;
}

#endif
