/*
 * stress/stress_mpsc_tasks.c: the mpsc channel (ak_mpsc(3)) driven by
 * tasks on the pool executor, the way programs use it, with the receiver
 * re-polled while it is still parked.
 *
 * Why this program exists: a lost wakeup in the receiver's waker slot
 * (its will_wake shortcut trusted rx_parked to mean "a waker is stored"
 * after a sender had taken the waker of a newer registration) hung 6 of
 * 15 runs of make bench's spsc_bounded and passed every unit test and
 * stress_mpsc, whose receivers run under ak_block_on or are polled by
 * hand: none of them re-polls a parked receiver with the same waker while
 * a sender is waking it.  Here the consumer is a pool task that, after a
 * recv returned AK_PENDING, sometimes wakes itself (a spurious re-poll
 * with the same waker while still parked, as any executor may do), and
 * the producers are pool tasks sending as fast as they can.
 *
 * Rounds, one capacity per round in turn: 1, 16, 1024, unbounded, 0 (the
 * rendezvous, where every value is a hand-off to the parked or re-polled
 * receive).  Each round: a pool of 2 workers, 1 to -t producer tasks
 * (default 1: one producer finds the lost wakeup above in most 2 s runs,
 * two rarely) sending ROUND_VALUES values in all (a tenth of that on the
 * rendezvous, a wake per value) through send operations, one consumer
 * task receiving until AK_EPIPE.  A round whose consumer receives nothing for
 * 5 s is a lost wakeup: the run fails (the pool is freed, cancelling the
 * stuck tasks).  Checked per round: count and sum of what arrived equal
 * what was sent; at the end the debug counters are back to the baseline.
 *
 * ak-stress(1) runs it as its scenario mpsc-repoll (-t and -p are one option).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

#define MAX_PROD 8
#define ROUND_VALUES 200000
#define STUCK_SECS 5

#define UNBOUNDED SIZE_MAX
static const size_t caps[] = { 1, 16, 1024, UNBOUNDED, 0 };
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

static int nprod;                  /* the most producers a round has */
static atomic_uint_least64_t rounds_done, self_wakes, received_now;
static atomic_int round_cap;       /* -1: unbounded */

struct producer {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	uint64_t next, end;
	uint64_t value;
	int active;
	int rc;
	struct ak_mpsc_send_op op;
};

static int producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct producer *p = (struct producer *)(void *)f;
	while (p->next < p->end) {
		if (!p->active) {
			p->value = p->next;
			ak_mpsc_send_init(&p->op, p->tx, &p->value);
			p->active = 1;
		}
		int rc = ak_future_poll(&p->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		p->active = 0;
		if (rc != 0) {
			p->rc = rc;
			break;
		}
		p->next++;
	}
	ak_mpsc_tx_drop(p->tx);
	p->tx = NULL;
	return 0;
}

static void producer_cancel(struct ak_future *f)
{
	struct producer *p = (struct producer *)(void *)f;
	if (p->active)
		ak_future_cancel(&p->op.future);
	if (p->tx)
		ak_mpsc_tx_drop(p->tx);
	p->tx = NULL;
}

static const struct ak_future_vtable producer_vtable = { producer_poll, producer_cancel };

struct consumer {
	struct ak_future future;
	struct ak_mpsc_rx *rx;
	struct stress_rng rng;
	uint64_t value;
	struct stress_sum got;
	int active;
	int rc;
	struct ak_mpsc_recv_op op;
};

static int consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct consumer *c = (struct consumer *)(void *)f;
	for (;;) {
		if (!c->active) {
			ak_mpsc_recv_init(&c->op, c->rx, &c->value);
			c->active = 1;
		}
		int rc = ak_future_poll(&c->op.future, cx);
		if (rc == AK_PENDING) {
			/* A spurious re-poll, with the same waker, while the
			 * recv is still parked: what the shortcut must survive. */
			if (stress_chance(&c->rng, 25)) {
				ak_waker_wake_by_ref(&cx->waker);
				atomic_fetch_add_explicit(&self_wakes, 1, memory_order_relaxed);
			}
			return AK_PENDING;
		}
		c->active = 0;
		if (rc != 0) {
			c->rc = rc == AK_EPIPE ? 0 : rc;
			return 0;
		}
		stress_sum_add(&c->got, c->value);
		atomic_fetch_add_explicit(&received_now, 1, memory_order_relaxed);
	}
}

static void consumer_cancel(struct ak_future *f)
{
	struct consumer *c = (struct consumer *)(void *)f;
	if (c->active)
		ak_future_cancel(&c->op.future);
	c->active = 0;
}

static const struct ak_future_vtable consumer_vtable = { consumer_poll, consumer_cancel };

/* One round on capacity cap (UNBOUNDED, or 0: the rendezvous) with that
 * many producers: 1 if it finished. */
static int round_run(struct stress_thread *t, size_t cap, int producers)
{
	struct ak_pool *pool;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct producer prod[MAX_PROD];
	struct consumer cons;
	struct stress_sum sent = { 0, 0, 0 };
	uint64_t per = (cap ? ROUND_VALUES : ROUND_VALUES / 10) / (uint64_t)producers;

	int rc = cap != UNBOUNDED ? ak_mpsc_new(cap, sizeof(uint64_t), NULL, &tx, &rx)
	                          : ak_mpsc_unbounded_new(sizeof(uint64_t), NULL, &tx, &rx);
	stress_check(rc == 0, "channel of capacity %zu created (%d)", cap, rc);
	if (rc)
		return 0;
	rc = ak_pool_new(&pool, 2);
	stress_check(rc == 0, "pool created (%d)", rc);
	if (rc) {
		ak_mpsc_tx_drop(tx);
		ak_mpsc_rx_drop(rx);
		return 0;
	}
	atomic_store(&round_cap, cap == UNBOUNDED ? -1 : (int)cap);
	atomic_store(&received_now, 0);
	memset(&cons, 0, sizeof(cons));
	ak_future_init(&cons.future, &consumer_vtable);
	cons.rx = rx;
	stress_rng_seed(&cons.rng, stress_rand(&t->rng), 1);
	for (int i = 0; i < producers; i++) {
		struct producer *p = &prod[i];
		memset(p, 0, sizeof(*p));
		ak_future_init(&p->future, &producer_vtable);
		ak_mpsc_tx_clone(tx, &p->tx);
		p->next = per * (uint64_t)i;
		p->end = per * (uint64_t)(i + 1);
		for (uint64_t v = p->next; v < p->end; v++)
			stress_sum_add(&sent, v);
	}
	ak_mpsc_tx_drop(tx);
	ak_pool_spawn(pool, &cons.future, NULL);
	for (int i = 0; i < producers; i++)
		ak_pool_spawn(pool, &prod[i].future, NULL);
	/* Slow is fine (TSan beside busy loops); stuck is not: a round whose
	 * consumer received nothing for STUCK_SECS seconds has lost a wake. */
	uint64_t seen = 0;
	for (int still = 0;;) {
		rc = ak_pool_wait_idle(pool, ak_deadline_in(1000000000));
		if (rc != AK_ETIMEDOUT)
			break;
		uint64_t now = atomic_load(&received_now);
		still = now == seen ? still + 1 : 0;
		seen = now;
		stress_progress(t);
		if (still == STUCK_SECS)
			break;
	}
	if (rc != 0)
		stress_fail("capacity %zu: nothing received for %d s (%s): %" PRIu64
		            " of %" PRIu64 " values received, channel len %zu: a lost wakeup",
		            cap, STUCK_SECS, ak_err_name(rc), (uint64_t)atomic_load(&received_now),
		            per * (uint64_t)producers, ak_mpsc_len(rx));
	ak_pool_free(pool);             /* cancels what is stuck */
	ak_mpsc_rx_drop(rx);
	if (rc != 0)
		return 0;
	for (int i = 0; i < producers; i++)
		if (prod[i].rc)
			stress_fail("capacity %zu: producer %d failed: %s", cap, i,
			            ak_err_name(prod[i].rc));
	if (cons.rc)
		stress_fail("capacity %zu: the consumer failed: %s", cap, ak_err_name(cons.rc));
	if (!stress_sum_equal(&cons.got, &sent))
		stress_fail("capacity %zu: received %" PRIu64 " values, sent %" PRIu64
		            " (or their sums differ)", cap, cons.got.count, sent.count);
	return 1;
}

static void driver(struct stress_thread *t)
{
	for (size_t i = 0; stress_continue(t); i++) {
		if (!round_run(t, caps[i % NCAPS], 1 + (int)(i / NCAPS) % nprod))
			break;
		atomic_fetch_add(&rounds_done, 1);
	}
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "round %" PRIu64 ", capacity %d (-1: unbounded, 0: rendezvous), %" PRIu64
	        " values received this round\n",
	        (uint64_t)atomic_load(&rounds_done), atomic_load(&round_cap),
	        (uint64_t)atomic_load(&received_now));
}

int sc_mpsc_repoll(void)
{
	stress_start("mpsc-repoll", 1);
	nprod = stress_opts()->threads;
	if (nprod < 1)
		nprod = 1;
	if (nprod > MAX_PROD)
		nprod = MAX_PROD;
	printf("mpsc-repoll: 1 to %d producer tasks, 1 consumer task on a 2-worker pool, "
	       "capacities 1, 16, 1024, unbounded, 0 (rendezvous)\n", nprod);
	fflush(stdout);
	stress_on_dump(dump, NULL);
	stress_spawn("driver", driver, NULL);
	stress_join();

	printf("mpsc-repoll: %" PRIu64 " rounds, %" PRIu64 " spurious re-polls\n",
	       (uint64_t)atomic_load(&rounds_done), (uint64_t)atomic_load(&self_wakes));
	stress_check(atomic_load(&rounds_done) > 0, "at least one round ran (%" PRIu64 ")",
	             (uint64_t)atomic_load(&rounds_done));
	return stress_finish();
}
