/*
 * stress/stress_oneshot.c: the oneshot channel across threads and the pool,
 * with random drops, closes and cancellations.
 *
 * -t driver threads (default 2) share one pool of two workers.  Each driver
 * runs rounds of 1..64 fresh channels of one of two kinds:
 *
 *   - receivers on the pool, the driver sends: each channel's receiver is
 *     a pool task that, at random, receives with a recv operation to the
 *     end; cancels its pending recv after the first AK_PENDING and receives
 *     with a fresh one (cancel safety: nothing may be lost); polls
 *     try_recv, yielding between polls; closes first and then receives
 *     (gets the value only if it was sent before the close); drops the
 *     receiver at once; or drops the receiver under its parked recv and
 *     then cancels or polls that operation.  The driver, in random order,
 *     sends, drops the sender, waits for closed() under a short deadline
 *     first, or checks is_closed first;
 *   - senders on the pool, the driver receives: each sender task yields
 *     0..3 times and then sends, drops its sender, or polls closed() a few
 *     times (cancelling it) before sending.  The driver receives with
 *     ak_oneshot_recv_blocking (some with a deadline of a few
 *     microseconds, retried when it passes: block_on cancels, nothing is
 *     lost), with try_recv, after a close, or drops the receiver at once.
 *
 * Besides, a pair of plain threads runs channels at full speed: one makes
 * them and hands each receiver over a ring to the other, sending (or
 * dropping the sender, 15%) before or after the hand-over; the other drops
 * the receiver, closes and receives, receives blocking (with a deadline of
 * one microsecond, retried), polls a recv by hand with a waker whose
 * clones never will_wake (each poll swaps the registered waker while the
 * sender may be taking it), or spins on try_recv.
 *
 * A channel carries the value mix(driver, counter); every value whose send
 * returned 0 must come out exactly once: received, or dropped by the drop
 * hook when the channel went with it inside (conservation by count and
 * sum).  A send that failed must leave the caller's buffer as it was.  At
 * the end: every task finished, ak_debug_counters() back to its baseline
 * (no waker clone, parked operation or channel left).
 *
 * ak-stress(1) runs it as its scenario oneshot-churn (-t and -p are one option).
 */
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"
#include "shim.h"

#define POOL_WORKERS 2
#define ROUND_MAX 64

static struct ak_pool *pool;

/* Conservation, across every thread. */
static atomic_uint_least64_t sent_n, sent_sum, recv_n, recv_sum, hook_n, hook_sum;
static atomic_uint_least64_t refused_n, epipe_n, cancels_n, timeouts_n, rounds_n;

static void drop_hook(void *elem, void *arg)
{
	uint64_t v;
	(void)arg;
	memcpy(&v, elem, sizeof(v));
	atomic_fetch_add_explicit(&hook_n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hook_sum, v, memory_order_relaxed);
}

static const struct ak_oneshot_hooks hooks = { drop_hook, NULL };

static void record_sent(int rc, uint64_t v, uint64_t buf)
{
	if (rc == 0) {
		atomic_fetch_add_explicit(&sent_n, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&sent_sum, v, memory_order_relaxed);
	} else if (rc == AK_EPIPE) {
		atomic_fetch_add_explicit(&refused_n, 1, memory_order_relaxed);
		if (buf != v)
			stress_fail("a refused send changed the caller's value");
	} else {
		stress_fail("send returned %s", ak_err_name(rc));
	}
}

static void record_recv(int rc, uint64_t v)
{
	if (rc == 0) {
		atomic_fetch_add_explicit(&recv_n, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&recv_sum, v, memory_order_relaxed);
	} else if (rc == AK_EPIPE) {
		atomic_fetch_add_explicit(&epipe_n, 1, memory_order_relaxed);
	} else {
		stress_fail("receive returned %s", ak_err_name(rc));
	}
}

/* ---- kind A: receiver tasks on the pool ------------------------------------------ */

enum { R_RECV, R_CANCEL_ONCE, R_TRY, R_CLOSE, R_DROP, R_DROP_PARKED, R_MODES };

struct rtask {
	struct ak_future future;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op;
	int mode, stage;
	int alt;                    /* R_DROP_PARKED: cancel rather than poll */
	uint64_t out;
};

static void rtask_drop_rx(struct rtask *r)
{
	if (r->rx) {
		ak_oneshot_rx_drop(r->rx);
		r->rx = NULL;
	}
}

static int rtask_poll(struct ak_future *f, struct ak_context *cx)
{
	struct rtask *r = (struct rtask *)f;
	int rc;

	switch (r->mode) {
	case R_DROP:
		rtask_drop_rx(r);
		return 0;
	case R_TRY:
		rc = ak_oneshot_try_recv(r->rx, &r->out);
		if (rc == AK_EAGAIN) {
			ak_waker_wake_by_ref(&cx->waker);
			return AK_PENDING;
		}
		record_recv(rc, r->out);
		rtask_drop_rx(r);
		return 0;
	case R_CLOSE:
		if (r->stage == 0) {
			ak_oneshot_rx_close(r->rx);
			r->stage = 1;
		}
		break;
	case R_CANCEL_ONCE:
		if (r->stage == 0) {
			rc = ak_future_poll(&r->op.future, cx);
			if (rc != AK_PENDING) {
				record_recv(rc, r->out);
				rtask_drop_rx(r);
				return 0;
			}
			ak_future_cancel(&r->op.future);
			atomic_fetch_add_explicit(&cancels_n, 1, memory_order_relaxed);
			if (r->out != 0)
				stress_fail("a cancelled recv wrote its out value");
			memset(&r->op, 0, sizeof(r->op));
			ak_oneshot_recv_init(&r->op, r->rx, &r->out);
			r->stage = 1;
			ak_waker_wake_by_ref(&cx->waker);
			return AK_PENDING;
		}
		break;
	case R_DROP_PARKED:
		if (r->stage == 0) {
			rc = ak_future_poll(&r->op.future, cx);
			if (rc != AK_PENDING) {
				record_recv(rc, r->out);
				rtask_drop_rx(r);
				return 0;
			}
			rtask_drop_rx(r);
			r->stage = 1;
			if (r->alt) {
				ak_future_cancel(&r->op.future);
				return 0;
			}
			rc = ak_future_poll(&r->op.future, cx);
			if (rc != AK_EPIPE)
				stress_fail("recv after its receiver went returned %s", ak_err_name(rc));
			return 0;
		}
		break;
	default:
		break;
	}
	rc = ak_future_poll(&r->op.future, cx);
	if (rc == AK_PENDING)
		return AK_PENDING;
	record_recv(rc, r->out);
	rtask_drop_rx(r);
	return 0;
}

static void rtask_cancel(struct ak_future *f)
{
	struct rtask *r = (struct rtask *)f;
	ak_future_cancel(&r->op.future);
	rtask_drop_rx(r);
}

static const struct ak_future_vtable rtask_vtable = { rtask_poll, rtask_cancel };

/* ---- kind B: sender tasks on the pool -------------------------------------------- */

enum { S_SEND, S_DROP, S_CLOSED_THEN_SEND, S_MODES };

struct stask {
	struct ak_future future;
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_closed_op closed;
	int mode, yields;
	uint64_t value;
};

static int stask_poll(struct ak_future *f, struct ak_context *cx)
{
	struct stask *s = (struct stask *)f;

	if (s->mode == S_CLOSED_THEN_SEND && s->yields > 0) {
		int rc = ak_future_poll(&s->closed.future, cx);
		if (rc == AK_PENDING) {
			s->yields--;
			ak_waker_wake_by_ref(&cx->waker);
			return AK_PENDING;
		}
		if (rc != 0)
			stress_fail("closed returned %s", ak_err_name(rc));
		s->yields = 0;
	} else if (s->yields > 0) {
		s->yields--;
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	if (s->mode == S_CLOSED_THEN_SEND)
		ak_future_cancel(&s->closed.future);   /* no-op once it completed */
	if (s->mode == S_DROP) {
		ak_oneshot_tx_drop(s->tx);
	} else {
		uint64_t buf = s->value;
		record_sent(ak_oneshot_send(s->tx, &buf), s->value, buf);
	}
	s->tx = NULL;
	return 0;
}

static void stask_cancel(struct ak_future *f)
{
	struct stask *s = (struct stask *)f;
	ak_future_cancel(&s->closed.future);
	if (s->tx)
		ak_oneshot_tx_drop(s->tx);
	s->tx = NULL;
}

static const struct ak_future_vtable stask_vtable = { stask_poll, stask_cancel };

/* ---- kind C: a pair of plain threads, channels handed over a ring ------------------ */

#define RING 1024

struct ring_slot {
	struct ak_oneshot_rx *rx;   /* NULL: the end */
	uint64_t value;
};

static struct ring_slot ring[RING];
static atomic_uint_least64_t ring_head, ring_tail;   /* pushed, popped */

static void ring_push(struct stress_thread *t, struct ak_oneshot_rx *rx, uint64_t value)
{
	uint64_t h = atomic_load_explicit(&ring_head, memory_order_relaxed);
	/* acquire: pairs with the release store of ring_tail in ring_pop() */
	while (h - atomic_load_explicit(&ring_tail, memory_order_acquire) >= RING) {
		sched_yield();
		stress_progress(t);
	}
	ring[h % RING].rx = rx;
	ring[h % RING].value = value;
	atomic_store_explicit(&ring_head, h + 1, memory_order_release);
}

static struct ring_slot ring_pop(struct stress_thread *t)
{
	uint64_t tl = atomic_load_explicit(&ring_tail, memory_order_relaxed);
	int spins = 0;
	/* acquire: pairs with the release store of ring_head in ring_push() */
	while (atomic_load_explicit(&ring_head, memory_order_acquire) == tl) {
		if (++spins > 64)
			sched_yield();
		stress_progress(t);
	}
	struct ring_slot sl = ring[tl % RING];
	atomic_store_explicit(&ring_tail, tl + 1, memory_order_release);
	return sl;
}

/* Creates channels, hands each receiver over, and sends or drops before
 * or after the hand-over (racing the receiver's side). */
static void pair_tx_main(struct stress_thread *t)
{
	uint64_t counter = 0;
	while (stress_continue(t)) {
		struct ak_oneshot_tx *tx;
		struct ak_oneshot_rx *rx;
		uint64_t v = stress_mix64(((uint64_t)0xfeed << 48) ^ ++counter) | 1;
		if (ak_oneshot_new(sizeof(uint64_t), &hooks, &tx, &rx) != 0) {
			stress_fail("ak_oneshot_new failed");
			break;
		}
		int before = stress_chance(&t->rng, 30);
		int drop = stress_chance(&t->rng, 15);
		if (!before)
			ring_push(t, rx, v);
		if (drop) {
			ak_oneshot_tx_drop(tx);
		} else {
			uint64_t buf = v;
			record_sent(ak_oneshot_send(tx, &buf), v, buf);
		}
		if (before)
			ring_push(t, rx, v);
	}
	ring_push(t, NULL, 0);
}

/* A waker whose every clone is a heap box, freed by its wake or drop: a
 * clone used after its drop (a waker taken from a slot the receiver had
 * meanwhile rewritten) is a use after free that TSan and glibc see. */
static const struct ak_waker_vtable boxed_vtable;

static struct ak_waker boxed_clone(const void *data)
{
	unsigned char *box = malloc(1);
	struct ak_waker w = { box, box ? &boxed_vtable : NULL };
	if (box)
		*box = data ? *(const unsigned char *)data : 0;
	return w;
}

static void boxed_wake_by_ref(const void *data)
{
	volatile unsigned char seen = *(const unsigned char *)data;
	(void)seen;
}

static void boxed_drop(const void *data)
{
	free((void *)(uintptr_t)data);
}

static void boxed_wake(const void *data)
{
	boxed_wake_by_ref(data);
	boxed_drop(data);
}

static const struct ak_waker_vtable boxed_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = boxed_clone,
	.wake = boxed_wake,
	.wake_by_ref = boxed_wake_by_ref,
	.drop = boxed_drop,
};

/* Polls a recv by hand; the context's waker never will_wake the clone
 * registered before, so each poll replaces the registered waker while the
 * sender may be taking it to wake. */
static int recv_swapping_wakers(struct ak_oneshot_rx *rx, uint64_t *out)
{
	static const unsigned char tag = 1;
	struct ak_oneshot_recv_op op = { 0 };
	int rc;

	if (ak_oneshot_recv_init(&op, rx, out) != 0)
		return AK_EINVAL;
	for (unsigned i = 0;; i++) {
		struct ak_context cx;
		struct ak_waker w = { &tag, &boxed_vtable };
		ak_context_init(&cx, w, NULL);
		rc = ak_context_done(&cx, ak_future_poll(&op.future, &cx));
		if (rc != AK_PENDING)
			return rc;
		if (i % 64 == 63)
			sched_yield();  /* the sender may need our core */
	}
}

static void pair_rx_main(struct stress_thread *t)
{
	for (;;) {
		struct ring_slot sl = ring_pop(t);
		if (!sl.rx)
			break;
		uint64_t out = 0;
		int rc;
		switch (stress_below(&t->rng, 7)) {
		case 0:
			ak_oneshot_rx_drop(sl.rx);
			continue;
		case 1:
			ak_oneshot_rx_close(sl.rx);
			rc = ak_oneshot_recv_blocking(sl.rx, &out, AK_DEADLINE_NEVER);
			break;
		case 2:
			rc = ak_oneshot_recv_blocking(sl.rx, &out, AK_DEADLINE_NEVER);
			break;
		case 3:
			while ((rc = ak_oneshot_recv_blocking(sl.rx, &out, ak_deadline_in(1000))) ==
			       AK_ETIMEDOUT)
				atomic_fetch_add_explicit(&timeouts_n, 1, memory_order_relaxed);
			break;
		case 4:
			rc = recv_swapping_wakers(sl.rx, &out);
			break;
		default:
			for (int spins = 0; (rc = ak_oneshot_try_recv(sl.rx, &out)) == AK_EAGAIN;) {
				if (++spins > 64)
					sched_yield();  /* the sender may need our core */
				else
					ak__cpu_relax();
			}
			break;
		}
		record_recv(rc, out);
		if (rc == 0 && out != sl.value)
			stress_fail("pair channel got %" PRIx64 ", sent %" PRIx64, out, sl.value);
		ak_oneshot_rx_drop(sl.rx);
		stress_progress(t);
	}
}

/* ---- the drivers ------------------------------------------------------------------ */

struct driver {
	struct rtask r[ROUND_MAX];
	struct stask s[ROUND_MAX];
	struct ak_task *h[ROUND_MAX];
	struct ak_oneshot_tx *tx[ROUND_MAX];
	struct ak_oneshot_rx *rx[ROUND_MAX];
	uint64_t value[ROUND_MAX];
	int order[ROUND_MAX];
	uint64_t counter;
};

static void shuffle(struct stress_rng *rng, int *a, int n)
{
	for (int i = 0; i < n; i++)
		a[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)stress_below(rng, (uint64_t)i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

static void wait_tasks(struct stress_thread *t, struct driver *d, int n)
{
	for (int i = 0; i < n; i++) {
		if (!d->h[i])
			continue;
		int spins = 0;
		while (ak_task_result(d->h[i]) == AK_PENDING) {
			if (++spins > 64)
				sched_yield();
			stress_progress(t);
		}
		if (ak_task_result(d->h[i]) != 0)
			stress_fail("a task ended with %s", ak_err_name(ak_task_result(d->h[i])));
		ak_task_release(d->h[i]);
		d->h[i] = NULL;
	}
}

static void round_receivers_on_pool(struct stress_thread *t, struct driver *d, int n)
{
	for (int i = 0; i < n; i++) {
		d->value[i] = stress_mix64(((uint64_t)t->index << 48) ^ ++d->counter) | 1;
		if (ak_oneshot_new(sizeof(uint64_t), &hooks, &d->tx[i], &d->rx[i]) != 0) {
			stress_fail("ak_oneshot_new failed");
			return;
		}
		struct rtask *r = &d->r[i];
		memset(r, 0, sizeof(*r));
		ak_future_init(&r->future, &rtask_vtable);
		r->rx = d->rx[i];
		r->mode = (int)stress_below(&t->rng, R_MODES);
		r->alt = stress_chance(&t->rng, 50);
		ak_oneshot_recv_init(&r->op, r->rx, &r->out);
		d->h[i] = NULL;
		if (ak_pool_spawn(pool, &r->future, &d->h[i]) != 0) {
			stress_fail("ak_pool_spawn failed");
			return;
		}
	}
	shuffle(&t->rng, d->order, n);
	for (int k = 0; k < n; k++) {
		int i = d->order[k];
		uint64_t buf = d->value[i];
		switch (stress_below(&t->rng, 5)) {
		case 0:
			ak_oneshot_tx_drop(d->tx[i]);
			break;
		case 1: {
			struct ak_oneshot_closed_op c;
			memset(&c, 0, sizeof(c));
			ak_oneshot_closed_init(&c, d->tx[i]);
			int rc = ak_block_on(&c.future, ak_deadline_in(20 * 1000));
			if (rc != 0 && rc != AK_ETIMEDOUT)
				stress_fail("closed under block_on returned %s", ak_err_name(rc));
			if (rc == 0 && ak_oneshot_tx_is_closed(d->tx[i]) != 1)
				stress_fail("closed completed but is_closed says open");
			record_sent(ak_oneshot_send(d->tx[i], &buf), d->value[i], buf);
			break;
		}
		case 2:
			if (ak_oneshot_tx_is_closed(d->tx[i]) == 1) {
				ak_oneshot_tx_drop(d->tx[i]);
				break;
			}
			/* fall through */
		default:
			record_sent(ak_oneshot_send(d->tx[i], &buf), d->value[i], buf);
			break;
		}
		stress_progress(t);
	}
	wait_tasks(t, d, n);
}

static void round_senders_on_pool(struct stress_thread *t, struct driver *d, int n)
{
	for (int i = 0; i < n; i++) {
		d->value[i] = stress_mix64(((uint64_t)t->index << 48) ^ ++d->counter) | 1;
		if (ak_oneshot_new(sizeof(uint64_t), &hooks, &d->tx[i], &d->rx[i]) != 0) {
			stress_fail("ak_oneshot_new failed");
			return;
		}
		struct stask *s = &d->s[i];
		memset(s, 0, sizeof(*s));
		ak_future_init(&s->future, &stask_vtable);
		s->tx = d->tx[i];
		s->mode = (int)stress_below(&t->rng, S_MODES);
		s->yields = (int)stress_below(&t->rng, 4);
		s->value = d->value[i];
		ak_oneshot_closed_init(&s->closed, s->tx);
		d->h[i] = NULL;
		if (ak_pool_spawn(pool, &s->future, &d->h[i]) != 0) {
			stress_fail("ak_pool_spawn failed");
			return;
		}
	}
	shuffle(&t->rng, d->order, n);
	for (int k = 0; k < n; k++) {
		int i = d->order[k];
		uint64_t out = 0;
		int rc;
		switch (stress_below(&t->rng, 7)) {
		case 0:
			ak_oneshot_rx_drop(d->rx[i]);
			continue;
		case 1:
			for (int spins = 0; (rc = ak_oneshot_try_recv(d->rx[i], &out)) == AK_EAGAIN;) {
				stress_progress(t);
				if (++spins > 64)
					sched_yield();  /* the sender may need our core */
			}
			break;
		case 2:
			ak_oneshot_rx_close(d->rx[i]);
			rc = ak_oneshot_recv_blocking(d->rx[i], &out, AK_DEADLINE_NEVER);
			break;
		case 3:
			while ((rc = ak_oneshot_recv_blocking(d->rx[i], &out,
			                                      ak_deadline_in(2 * 1000))) == AK_ETIMEDOUT) {
				atomic_fetch_add_explicit(&timeouts_n, 1, memory_order_relaxed);
				if (out != 0)
					stress_fail("a timed-out recv wrote its out value");
				stress_progress(t);
			}
			break;
		default:
			rc = ak_oneshot_recv_blocking(d->rx[i], &out, AK_DEADLINE_NEVER);
			break;
		}
		record_recv(rc, out);
		if (rc == 0 && out != d->value[i])
			stress_fail("channel got %" PRIx64 ", sent %" PRIx64, out, d->value[i]);
		ak_oneshot_rx_drop(d->rx[i]);
		stress_progress(t);
	}
	wait_tasks(t, d, n);
}

static void driver_main(struct stress_thread *t)
{
	struct driver *d = calloc(1, sizeof(*d));
	if (!d) {
		stress_fail("out of memory");
		return;
	}
	while (stress_continue(t)) {
		int n = 1 + (int)stress_below(&t->rng, ROUND_MAX);
		if (stress_chance(&t->rng, 50))
			round_receivers_on_pool(t, d, n);
		else
			round_senders_on_pool(t, d, n);
		atomic_fetch_add_explicit(&rounds_n, 1, memory_order_relaxed);
	}
	free(d);
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "oneshot-churn: sent %llu refused %llu received %llu epipe %llu hooked %llu "
	        "cancels %llu timeouts %llu rounds %llu\n",
	        (unsigned long long)atomic_load(&sent_n), (unsigned long long)atomic_load(&refused_n),
	        (unsigned long long)atomic_load(&recv_n), (unsigned long long)atomic_load(&epipe_n),
	        (unsigned long long)atomic_load(&hook_n), (unsigned long long)atomic_load(&cancels_n),
	        (unsigned long long)atomic_load(&timeouts_n), (unsigned long long)atomic_load(&rounds_n));
}

int sc_oneshot_churn(void)
{
	stress_start("oneshot-churn", 2);
	const struct stress_opts *o = stress_opts();
	printf("oneshot-churn: %d drivers, a pool of %d workers, a thread pair\n", o->threads,
	       POOL_WORKERS);
	fflush(stdout);

	stress_check(ak_pool_new(&pool, POOL_WORKERS) == 0, "pool of %d workers", POOL_WORKERS);
	stress_on_dump(dump, NULL);
	for (int i = 0; i < o->threads; i++) {
		char name[24];
		snprintf(name, sizeof(name), "driver-%d", i);
		stress_spawn(name, driver_main, NULL);
	}
	stress_spawn("pair-tx", pair_tx_main, NULL);
	stress_spawn("pair-rx", pair_rx_main, NULL);
	stress_join();
	stress_check(ak_pool_wait_idle(pool, AK_DEADLINE_NEVER) == 0, "pool idle at the end");
	stress_check(ak_pool_free(pool) == 0, "pool freed");

	dump(stdout, NULL);
	uint64_t sn = atomic_load(&sent_n), rn = atomic_load(&recv_n), hn = atomic_load(&hook_n);
	uint64_t ss = atomic_load(&sent_sum), rs = atomic_load(&recv_sum), hs = atomic_load(&hook_sum);
	stress_check(sn == rn + hn, "every sent value out once by count (%" PRIu64 " = %" PRIu64
	             " received + %" PRIu64 " dropped)", sn, rn, hn);
	stress_check(ss == rs + hs, "every sent value out once by sum");
	stress_check(rn > 0, "values received (%" PRIu64 ")", rn);
	return stress_finish();
}
