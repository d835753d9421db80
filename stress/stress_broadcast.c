/*
 * stress/stress_broadcast.c: the broadcast channel under threads and the
 * pool, with lag, cancellation and receiver churn.
 *
 * One channel of capacity 2..256 (from the seed) carrying the sequence
 * numbers 0, 1, 2, ... from one sender thread, which now and then yields
 * and otherwise runs flat out, so receivers lag and get AK_EOVERFLOW.
 *
 *   - -t receiver threads (default 4) on ak_broadcast_recv_blocking, a
 *     tenth of the time with a deadline of up to 200 us (so parked
 *     operations are cancelled by block_on), now and then sleeping to fall
 *     behind;
 *   - two receiver tasks on a pool of two workers, polling a recv op that
 *     they cancel after its first AK_PENDING a fifth of the time;
 *   - a churn thread holding a second sender handle: it subscribes, reads a
 *     few values, and drops the receiver, often with values unread.
 *
 * Checked: every receiver that lived from the start received, in order,
 * every value it did not miss, and received + missed equals the sender's
 * count exactly, ending with AK_EPIPE; the churn receivers saw consecutive
 * values apart from reported lags; the clone hook ran once per value
 * received; the drop hook ran once for every value sent (count and an
 * order-independent checksum), overwritten or freed with the channel; and
 * ak_debug_counters() is back to its baseline.
 *
 * -n N makes the sender send exactly N values (the other threads run until
 * it is done): -n 1000000 is a million-value run, about 7 s natively here.
 *
 * ak-stress(1) runs it as its scenario broadcast-lag (-t and -p are one option).
 */
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

#define POOL_WORKERS 2
#define POOL_RECEIVERS 2
#define MAX_THREADS 64

static struct ak_broadcast_tx *chan;
static struct ak_broadcast_tx *churn_tx;
static size_t capacity;

static atomic_ullong sent;                 /* the sender's count, final after join */
static atomic_ullong clones;
static atomic_ullong drops, drop_sum, drop_xor;
static atomic_ullong churn_received, churn_subscriptions, churn_errors;
static atomic_int sender_done;

struct rstats {
	struct ak_broadcast_rx *rx;
	uint64_t expect, received, missed, lags, order_errors, timeouts, cancels;
	int final_rc;
	atomic_ullong progress;               /* for the dump */
};

static struct rstats thread_rx[MAX_THREADS];
static int nthreads;

static int hook_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, sizeof(uint64_t));
	atomic_fetch_add_explicit(&clones, 1, memory_order_relaxed);
	return 0;
}

static void hook_drop(void *elem, void *arg)
{
	uint64_t v;
	(void)arg;
	memcpy(&v, elem, sizeof v);
	uint64_t m = stress_mix64(v);
	atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&drop_sum, m, memory_order_relaxed);
	atomic_fetch_xor_explicit(&drop_xor, m, memory_order_relaxed);
}

/* One result of a receive, checked against the sequence. */
static int account(struct rstats *s, int rc, uint64_t v, uint64_t missed)
{
	if (rc == 0) {
		if (v != s->expect)
			s->order_errors++;
		s->expect = v + 1;
		s->received++;
	} else if (rc == AK_EOVERFLOW) {
		if (missed == 0)
			s->order_errors++;
		s->missed += missed;
		s->expect += missed;
		s->lags++;
	} else if (rc == AK_ETIMEDOUT) {
		s->timeouts++;
	} else {
		s->final_rc = rc;
		return 1;
	}
	atomic_store_explicit(&s->progress, s->received + s->missed, memory_order_relaxed);
	return 0;
}

/* ---- threads ----------------------------------------------------------------- */

static void sender_worker(struct stress_thread *t)
{
	uint64_t i = 0;
	while (stress_continue(t)) {
		int rc = ak_broadcast_send(chan, &i, NULL);
		if (rc != 0) {
			stress_fail("send %" PRIu64 " returned %d", i, rc);
			break;
		}
		i++;
		if (stress_chance(&t->rng, 2))
			sched_yield();
	}
	atomic_store(&sent, i);
	ak_broadcast_tx_drop(chan);
	atomic_store(&sender_done, 1);
}

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}

static void receiver_worker(struct stress_thread *t)
{
	struct rstats *s = t->arg;
	for (;;) {
		uint64_t v = 0, missed = 0;
		int64_t deadline = stress_chance(&t->rng, 10)
		                   ? ak_deadline_in((int64_t)stress_below(&t->rng, 200000))
		                   : ak_deadline_in(20LL * 1000000000);
		int rc = ak_broadcast_recv_blocking(s->rx, &v, &missed, deadline);
		stress_progress(t);
		if (account(s, rc, v, missed))
			break;
		if (stress_chance(&t->rng, 1))
			sleep_us((long)stress_below(&t->rng, 300));
	}
}

static void churn_worker(struct stress_thread *t)
{
	while (stress_continue(t) && !atomic_load(&sender_done)) {
		struct ak_broadcast_rx *rx;
		if (ak_broadcast_subscribe(churn_tx, &rx) != 0) {
			stress_fail("churn subscribe failed");
			break;
		}
		atomic_fetch_add(&churn_subscriptions, 1);
		int want = (int)stress_below(&t->rng, 32);
		int have_prev = 0;
		uint64_t prev = 0;
		for (int k = 0; k < want; k++) {
			uint64_t v, missed = 0;
			int rc = ak_broadcast_recv_blocking(rx, &v, &missed, ak_deadline_in(2000000));
			if (rc == 0) {
				if (have_prev && v != prev + 1)
					atomic_fetch_add(&churn_errors, 1);
				prev = v;
				have_prev = 1;
				atomic_fetch_add(&churn_received, 1);
			} else if (rc == AK_EOVERFLOW) {
				prev += missed;
			} else {
				break;
			}
		}
		if (ak_broadcast_rx_drop(rx) != 0)
			stress_fail("churn rx_drop failed");
	}
	ak_broadcast_tx_drop(churn_tx);
}

/* ---- pool tasks ------------------------------------------------------------- */

struct prx {
	struct ak_future future;
	struct rstats s;
	struct ak_broadcast_recv_op op;
	int op_live, pendings;
	uint64_t v, missed;
	struct stress_rng rng;
	atomic_int finished;
};

static struct prx pool_rx[POOL_RECEIVERS];

static int prx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct prx *p = (struct prx *)f;
	for (int n = 0;; n++) {
		if (!p->op_live) {
			if (ak_broadcast_recv_init(&p->op, p->s.rx, &p->v, &p->missed) != 0) {
				stress_fail("pool recv_init failed");
				return 0;
			}
			p->op_live = 1;
			p->pendings = 0;
		}
		int rc = ak_future_poll(&p->op.future, cx);
		if (rc == AK_PENDING) {
			if (p->pendings++ == 0 && stress_chance(&p->rng, 20)) {
				ak_future_cancel(&p->op.future);
				p->op_live = 0;
				p->s.cancels++;
				ak_waker_wake_by_ref(&cx->waker);
			}
			return AK_PENDING;
		}
		p->op_live = 0;
		if (account(&p->s, rc, p->v, p->missed)) {
			atomic_store(&p->finished, 1);
			return 0;
		}
		if (n == 64) {                  /* give the other tasks a turn */
			ak_waker_wake_by_ref(&cx->waker);
			return AK_PENDING;
		}
	}
}

static void prx_cancel(struct ak_future *f)
{
	struct prx *p = (struct prx *)f;
	if (p->op_live)
		ak_future_cancel(&p->op.future);
	p->op_live = 0;
}

static const struct ak_future_vtable prx_vtable = { prx_poll, prx_cancel };

/* ---- dump and checks ------------------------------------------------------------ */

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "broadcast: capacity %zu, sender_done %d\n", capacity,
	        atomic_load(&sender_done));
	for (int i = 0; i < nthreads; i++)
		fprintf(out, "  thread rx %d: progress %llu\n", i,
		        (unsigned long long)atomic_load(&thread_rx[i].progress));
	for (int i = 0; i < POOL_RECEIVERS; i++)
		fprintf(out, "  pool rx %d: progress %llu finished %d\n", i,
		        (unsigned long long)atomic_load(&pool_rx[i].s.progress),
		        atomic_load(&pool_rx[i].finished));
}

static void check_receiver(const char *what, int i, struct rstats *s, uint64_t n)
{
	stress_check(s->final_rc == AK_EPIPE && s->order_errors == 0 && s->received + s->missed == n,
	             "%s %d: received %" PRIu64 " + missed %" PRIu64 " = %" PRIu64
	             " of %" PRIu64 " sent, in order (%" PRIu64 " errors), ended %d "
	             "(%" PRIu64 " lags, %" PRIu64 " timeouts, %" PRIu64 " cancels)",
	             what, i, s->received, s->missed, s->received + s->missed, n,
	             s->order_errors, s->final_rc, s->lags, s->timeouts, s->cancels);
}

int sc_broadcast_lag(void)
{
	struct ak_pool *pool = NULL;

	stress_start("broadcast-lag", 4);
	const struct stress_opts *o = stress_opts();
	struct stress_rng *r = stress_main_rng();
	capacity = (size_t)2 << stress_below(r, 8);
	nthreads = o->threads < MAX_THREADS ? o->threads : MAX_THREADS;
	printf("broadcast-lag: capacity %zu, %d receiver threads, %d receiver tasks on a "
	       "pool of %d workers, a churn thread\n", capacity, nthreads, POOL_RECEIVERS,
	       POOL_WORKERS);
	fflush(stdout);

	struct ak_broadcast_hooks hooks = { hook_clone, hook_drop, NULL };
	stress_check(ak_broadcast_new(&chan, NULL, capacity, sizeof(uint64_t), &hooks) == 0,
	             "channel of capacity %zu", capacity);
	stress_check(ak_broadcast_tx_clone(chan, &churn_tx) == 0, "a second sender");
	for (int i = 0; i < nthreads; i++)
		if (ak_broadcast_subscribe(chan, &thread_rx[i].rx) != 0)
			return 2;
	stress_check(ak_pool_new(&pool, POOL_WORKERS) == 0, "a pool of %d workers", POOL_WORKERS);
	for (int i = 0; i < POOL_RECEIVERS; i++) {
		if (ak_broadcast_subscribe(chan, &pool_rx[i].s.rx) != 0)
			return 2;
		stress_rng_seed(&pool_rx[i].rng, o->seed, 1000 + (uint64_t)i);
		ak_future_init(&pool_rx[i].future, &prx_vtable);
		if (ak_pool_spawn(pool, &pool_rx[i].future, NULL) != 0)
			return 2;
	}
	stress_on_dump(dump, NULL);

	for (int i = 0; i < nthreads; i++) {
		char name[16];
		snprintf(name, sizeof name, "rx-%d", i);
		stress_spawn(name, receiver_worker, &thread_rx[i]);
	}
	stress_spawn("churn", churn_worker, NULL);
	stress_spawn("sender", sender_worker, NULL);
	stress_join();
	stress_check(ak_pool_wait_idle(pool, ak_deadline_in(30LL * 1000000000)) == 0,
	             "the pool receivers finished");
	stress_check(ak_pool_free(pool) == 0, "the pool frees");

	uint64_t n = atomic_load(&sent), received = 0, missed = 0;
	for (int i = 0; i < nthreads; i++) {
		check_receiver("thread receiver", i, &thread_rx[i], n);
		received += thread_rx[i].received;
		missed += thread_rx[i].missed;
	}
	for (int i = 0; i < POOL_RECEIVERS; i++) {
		check_receiver("pool receiver", i, &pool_rx[i].s, n);
		received += pool_rx[i].s.received;
		missed += pool_rx[i].s.missed;
	}
	printf("broadcast-lag: %" PRIu64 " values sent, %" PRIu64 " delivered, %" PRIu64
	       " missed by lagging receivers; %llu churn subscriptions, %llu churn values\n",
	       n, received, missed, (unsigned long long)atomic_load(&churn_subscriptions),
	       (unsigned long long)atomic_load(&churn_received));
	stress_check(atomic_load(&churn_errors) == 0, "churn receivers saw consecutive values (%llu errors)",
	             (unsigned long long)atomic_load(&churn_errors));
	received += atomic_load(&churn_received);
	stress_check(atomic_load(&clones) == received, "one clone per value received (%llu clones, %"
	             PRIu64 " received)", (unsigned long long)atomic_load(&clones), received);

	for (int i = 0; i < nthreads; i++)
		ak_broadcast_rx_drop(thread_rx[i].rx);
	for (int i = 0; i < POOL_RECEIVERS; i++)
		ak_broadcast_rx_drop(pool_rx[i].s.rx);
	struct stress_sum want, got;
	memset(&want, 0, sizeof want);
	for (uint64_t v = 0; v < n; v++)
		stress_sum_add(&want, v);
	got.count = atomic_load(&drops);
	got.sum = atomic_load(&drop_sum);
	got.xor_ = atomic_load(&drop_xor);
	stress_check(stress_sum_equal(&want, &got),
	             "the drop hook ran once per value sent (%" PRIu64 " drops of %" PRIu64 ")",
	             got.count, n);
	return stress_finish();
}
