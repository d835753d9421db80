/*
 * stress/stress_mpsc.c: the mpsc channel (ak_mpsc(3)) under contention,
 * with cancellation injected.
 *
 * Rounds, one capacity per round in turn: 1, 2, 64, 1024, unbounded, and 0
 * (the rendezvous: every value is handed over to a waiting receive, and
 * sends asked by a receive are cancelled at every point).  In each round
 * -t producers (default 3) and the single consumer share one channel.  Each producer sends a random number of values (1..4000),
 * (producer << 32 | sequence), each by a method drawn at random:
 *
 *   - try_send, yielding on AK_EAGAIN;
 *   - send_blocking with a 1 ms deadline (a timeout cancels the send: the
 *     value stays with the producer, who sends it again);
 *   - a send operation polled once by hand with a noop waker; if pending,
 *     it is cancelled (half the time) and sent again, or driven by
 *     ak_block_on (a new waker replaces the first one) with a deadline;
 *   - on a bounded channel, a reserve of 1..3 slots (at most the
 *     capacity; 1 on the rendezvous), polled once by hand and then
 *     cancelled (half the time) or driven by ak_block_on; one value goes
 *     through the permit and the
 *     other slots are dropped (sometimes all of them, the value unsent).
 *     permit_drop must return 0 on a live permit and AK_EINVAL on one used
 *     up.
 *
 * The consumer receives by try_recv, recv_blocking with a 1 ms deadline,
 * recv_many_blocking, or a recv operation polled once by hand and then
 * cancelled (half the time) or driven by ak_block_on, until AK_EPIPE,
 * which comes once every producer dropped its sender.  In a quarter of
 * the rounds the receiver closes after a random number of values: the
 * producers' sends then fail with AK_EPIPE (the value stays theirs and is
 * not counted), and the receiver drains what was queued.  A producer that
 * saw the close keeps its sender until the round ends, so the receiver's
 * AK_EPIPE must come from the last slot going back (a permit dropped, a
 * grant cancelled or refused), not from the last sender's drop; and one
 * receive in five waits up to 5 s, so a lost wakeup fails the run instead
 * of hiding behind a short deadline.
 *
 * Checked, per round: every producer's values arrive exactly once and in
 * order (each is its predecessor + 1: a cancelled send that delivered, or a
 * cancelled recv that lost a value, breaks it at once); count and sum of
 * what was received equal what was sent.  At the end the debug counters
 * are back to their baseline (clones, parked operations, allocations).
 * The watchdog dumps the round, its capacity, len and free capacity, and
 * each thread's position if nothing moves for 10 s.
 *
 * ak-stress(1) runs it as its scenario mpsc-mixed (-t and -p are one option).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

#define MS 1000000LL
#define MAX_PROD 64

#define UNBOUNDED SIZE_MAX
static const size_t caps[] = { 1, 2, 64, 1024, UNBOUNDED, 0 };
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

static int nprod;
static pthread_barrier_t round_start, round_end;
static atomic_int stop_rounds;
static atomic_int round_no;
static struct ak_mpsc_tx *round_tx[MAX_PROD];
static struct ak_mpsc_rx *round_rx;
static _Atomic(struct ak_mpsc_tx *) dump_tx;
static atomic_uint_least64_t sent_count[MAX_PROD], sent_sum[MAX_PROD];
static atomic_uint_least64_t recv_next[MAX_PROD];
static atomic_int close_mode;      /* this round the receiver closes early */
static atomic_uint_least64_t rounds_closed;
static atomic_uint_least64_t rounds_done, cancels_send, cancels_recv, cancels_reserve, timeouts,
	permits_dropped;

static int poll_once(struct ak_future *f)
{
	struct ak_context cx;
	ak_context_init(&cx, ak_waker_noop(), NULL);
	int rc = ak_future_poll(f, &cx);
	ak_context_done(&cx, rc);
	return rc;
}

/* Sends v through a permit of 1..3 slots: 0 once sent, AK_EAGAIN to try
 * again (timed out, cancelled, or dropped unsent), AK_EPIPE if closed. */
static int reserve_and_send(struct stress_thread *t, struct ak_mpsc_tx *tx, size_t cap, uint64_t v)
{
	struct ak_mpsc_reserve_op permit;
	size_t n = cap == 0 ? 1 : 1 + stress_below(&t->rng, cap < 3 ? (uint32_t)cap : 3);
	memset(&permit, 0, sizeof(permit));
	ak_mpsc_reserve_many_init(&permit, tx, n);
	int rc = poll_once(&permit.future);
	if (rc == AK_PENDING) {
		if (stress_chance(&t->rng, 50)) {
			ak_future_cancel(&permit.future);
			atomic_fetch_add(&cancels_reserve, 1);
			return AK_EAGAIN;
		}
		rc = ak_block_on(&permit.future, ak_deadline_in(2 * MS));
	}
	if (rc == AK_ETIMEDOUT) {
		atomic_fetch_add(&timeouts, 1);
		return AK_EAGAIN;
	}
	if (rc)
		return rc;
	if (stress_chance(&t->rng, 10)) {
		if ((rc = ak_mpsc_permit_drop(&permit)) != 0)
			stress_fail("permit_drop of a live permit: %d", rc);
		atomic_fetch_add(&permits_dropped, 1);
		return AK_EAGAIN;
	}
	rc = ak_mpsc_permit_send(&permit, &v);
	if (rc)
		stress_fail("permit_send: %d", rc);
	rc = ak_mpsc_permit_drop(&permit);
	if (rc != (n > 1 ? 0 : AK_EINVAL))
		stress_fail("permit_drop after 1 of %zu sent: %d", n, rc);
	return 0;
}

/* Sends v by a random method; 0 once sent, AK_EPIPE if closed. */
static int send_one(struct stress_thread *t, struct ak_mpsc_tx *tx, size_t cap, uint64_t v)
{
	for (;;) {
		int rc;
		switch (stress_below(&t->rng, cap != UNBOUNDED ? 4 : 3)) {
		case 0:
			rc = ak_mpsc_try_send(tx, &v);
			if (rc == AK_EAGAIN) {
				sched_yield();
				continue;
			}
			return rc;
		case 1:
			rc = ak_mpsc_send_blocking(tx, &v, ak_deadline_in(1 * MS));
			if (rc == AK_ETIMEDOUT) {
				atomic_fetch_add(&timeouts, 1);
				continue;
			}
			return rc;
		case 2: {
			struct ak_mpsc_send_op op;
			memset(&op, 0, sizeof(op));
			ak_mpsc_send_init(&op, tx, &v);
			rc = poll_once(&op.future);
			if (rc != AK_PENDING)
				return rc;
			if (stress_chance(&t->rng, 50)) {
				ak_future_cancel(&op.future);
				atomic_fetch_add(&cancels_send, 1);
				continue;
			}
			rc = ak_block_on(&op.future, ak_deadline_in(2 * MS));
			if (rc == AK_ETIMEDOUT) {
				atomic_fetch_add(&timeouts, 1);
				continue;
			}
			return rc;
		}
		default:
			rc = reserve_and_send(t, tx, cap, v);
			if (rc == AK_EAGAIN)
				continue;
			return rc;
		}
	}
}

static void producer(struct stress_thread *t)
{
	int id = t->index;
	for (;;) {
		pthread_barrier_wait(&round_start);
		if (atomic_load(&stop_rounds))
			return;
		struct ak_mpsc_tx *tx = round_tx[id];
		size_t cap = caps[atomic_load(&round_no) % NCAPS];
		uint64_t n = 1 + stress_below(&t->rng, 4000);
		int saw_close = 0;
		for (uint64_t seq = 0; seq < n; seq++) {
			if (!stress_continue(t))
				break;
			uint64_t v = (uint64_t)id << 32 | seq;
			int rc = send_one(t, tx, cap, v);
			if (rc == AK_EPIPE && atomic_load(&close_mode)) {
				saw_close = 1;  /* the receiver closed: v is still ours */
				break;
			}
			if (rc) {
				stress_fail("producer %d: send of %" PRIu64 ": %d", id, seq, rc);
				break;
			}
			atomic_fetch_add(&sent_count[id], 1);
			atomic_fetch_add(&sent_sum[id], v);
		}
		/* After the close the receiver's end must not wait for this drop. */
		if (!saw_close)
			ak_mpsc_tx_drop(tx);
		pthread_barrier_wait(&round_end);
		if (saw_close)
			ak_mpsc_tx_drop(tx);
	}
}

static void take(uint64_t v, struct stress_sum *got)
{
	uint64_t id = v >> 32, seq = v & 0xffffffffu;
	if (id >= (uint64_t)nprod) {
		stress_fail("received a value of producer %" PRIu64, id);
		return;
	}
	uint64_t want = atomic_load(&recv_next[id]);
	if (seq != want)
		stress_fail("producer %" PRIu64 ": got seq %" PRIu64 ", expected %" PRIu64, id, seq, want);
	atomic_store(&recv_next[id], seq + 1);
	got->count++;
	got->sum += v;   /* plain sum, as the producers count it */
}

/* Receives by a random method until AK_EPIPE. */
static void drain(struct stress_thread *t, struct ak_mpsc_rx *rx, struct stress_sum *got,
                  uint64_t close_at)
{
	uint64_t buf[16];
	for (;;) {
		if (close_at && got->count >= close_at) {
			ak_mpsc_rx_close(rx);  /* then drain what was queued */
			close_at = 0;
		}
		int rc;
		uint64_t v;
		size_t n;
		stress_progress(t);
		switch (stress_below(&t->rng, 5)) {
		case 0:
			rc = ak_mpsc_try_recv(rx, &v);
			if (rc == 0)
				take(v, got);
			else if (rc == AK_EAGAIN)
				sched_yield();
			break;
		case 1:
			rc = ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(1 * MS));
			if (rc == 0)
				take(v, got);
			break;
		case 2:
			rc = ak_mpsc_recv_many_blocking(rx, buf, 1 + stress_below(&t->rng, 16), &n,
			                                ak_deadline_in(1 * MS));
			if (rc == 0)
				for (size_t i = 0; i < n; i++)
					take(buf[i], got);
			break;
		case 3:
			/* Senders never pause for long: a wait this long is a
			 * lost wakeup. */
			rc = ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(5000 * MS));
			if (rc == 0)
				take(v, got);
			else if (rc == AK_ETIMEDOUT)
				stress_fail("a recv waited 5 s for a wakeup that never came");
			break;
		default: {
			struct ak_mpsc_recv_op op;
			memset(&op, 0, sizeof(op));
			ak_mpsc_recv_init(&op, rx, &v);
			rc = poll_once(&op.future);
			if (rc == AK_PENDING) {
				if (stress_chance(&t->rng, 50)) {
					ak_future_cancel(&op.future);
					atomic_fetch_add(&cancels_recv, 1);
					break;
				}
				rc = ak_block_on(&op.future, ak_deadline_in(2 * MS));
			}
			if (rc == 0)
				take(v, got);
			break;
		}
		}
		if (rc == AK_EPIPE)
			return;
		if (rc == AK_ETIMEDOUT)
			atomic_fetch_add(&timeouts, 1);
		else if (rc != 0 && rc != AK_EAGAIN && rc != AK_PENDING)
			stress_fail("consumer: %d", rc);   /* keeps draining */
	}
}

static void consumer(struct stress_thread *t)
{
	for (int r = 0;; r++) {
		size_t cap = caps[r % NCAPS];
		struct ak_mpsc_tx *tx;
		int rc = cap != UNBOUNDED ? ak_mpsc_new(cap, sizeof(uint64_t), NULL, &tx, &round_rx)
		                          : ak_mpsc_unbounded_new(sizeof(uint64_t), NULL, &tx, &round_rx);
		if (rc) {
			stress_fail("channel of %zu: %d", cap, rc);
			atomic_store(&stop_rounds, 1);
			pthread_barrier_wait(&round_start);
			return;
		}
		for (int i = 0; i < nprod; i++) {
			ak_mpsc_tx_clone(tx, &round_tx[i]);
			atomic_store(&sent_count[i], 0);
			atomic_store(&sent_sum[i], 0);
			atomic_store(&recv_next[i], 0);
		}
		atomic_store(&dump_tx, tx);
		atomic_store(&round_no, r);
		uint64_t close_at = stress_chance(&t->rng, 25) ? 1 + stress_below(&t->rng, 3000) : 0;
		atomic_store(&close_mode, close_at != 0);
		if (stress_stopped())
			atomic_store(&stop_rounds, 1);
		pthread_barrier_wait(&round_start);
		if (atomic_load(&stop_rounds)) {
			atomic_store(&dump_tx, NULL);
			for (int i = 0; i < nprod; i++)
				ak_mpsc_tx_drop(round_tx[i]);
			ak_mpsc_tx_drop(tx);
			ak_mpsc_rx_drop(round_rx);
			return;
		}
		ak_mpsc_tx_drop(tx);   /* the producers hold the rest */
		struct stress_sum got = { 0, 0, 0 };
		drain(t, round_rx, &got, close_at);
		if (close_at)
			atomic_fetch_add(&rounds_closed, 1);
		pthread_barrier_wait(&round_end);
		uint64_t count = 0, sum = 0;
		for (int i = 0; i < nprod; i++) {
			count += atomic_load(&sent_count[i]);
			sum += atomic_load(&sent_sum[i]);
			if (atomic_load(&recv_next[i]) != atomic_load(&sent_count[i]))
				stress_fail("round %d (cap %zu): producer %d sent %" PRIu64
				            ", received %" PRIu64, r, cap, i,
				            (uint64_t)atomic_load(&sent_count[i]),
				            (uint64_t)atomic_load(&recv_next[i]));
		}
		if (count != got.count || sum != got.sum)
			stress_fail("round %d (cap %zu): sent %" PRIu64 " (sum %" PRIu64 "), received %"
			            PRIu64 " (sum %" PRIu64 ")", r, cap, count, sum, got.count, got.sum);
		atomic_store(&dump_tx, NULL);
		ak_mpsc_rx_drop(round_rx);
		atomic_fetch_add(&rounds_done, 1);
	}
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	int r = atomic_load(&round_no);
	fprintf(out, "mpsc: round %d, capacity %zu (%zu = unbounded, 0 = rendezvous), %" PRIu64
	        " rounds done\n", r, caps[r % NCAPS], UNBOUNDED, (uint64_t)atomic_load(&rounds_done));
	/* The channel may be dropped while we look: only the counters. */
	for (int i = 0; i < nprod; i++)
		fprintf(out, "  producer %d: sent %" PRIu64 ", consumer expects seq %" PRIu64 "\n", i,
		        (uint64_t)atomic_load(&sent_count[i]), (uint64_t)atomic_load(&recv_next[i]));
	fprintf(out, "  cancels: %" PRIu64 " sends, %" PRIu64 " reserves, %" PRIu64 " recvs; %" PRIu64
	        " timeouts\n", (uint64_t)atomic_load(&cancels_send), (uint64_t)atomic_load(&cancels_reserve),
	        (uint64_t)atomic_load(&cancels_recv), (uint64_t)atomic_load(&timeouts));
}

int sc_mpsc_mixed(void)
{
	stress_start("mpsc-mixed", 3);
	nprod = stress_opts()->threads;
	if (nprod < 1)
		nprod = 1;
	if (nprod > MAX_PROD)
		nprod = MAX_PROD;
	printf("mpsc-mixed: %d producers, 1 consumer, capacities 1, 2, 64, 1024, unbounded, "
	       "0 (rendezvous)\n", nprod);
	fflush(stdout);
	stress_on_dump(dump, NULL);
	pthread_barrier_init(&round_start, NULL, (unsigned)nprod + 1);
	pthread_barrier_init(&round_end, NULL, (unsigned)nprod + 1);
	for (int i = 0; i < nprod; i++) {
		char name[16];
		snprintf(name, sizeof(name), "producer-%d", i % MAX_PROD);
		stress_spawn(name, producer, NULL);
	}
	stress_spawn("consumer", consumer, NULL);
	stress_join();
	pthread_barrier_destroy(&round_start);
	pthread_barrier_destroy(&round_end);

	printf("mpsc-mixed: %" PRIu64 " rounds closed early by the receiver\n",
	       (uint64_t)atomic_load(&rounds_closed));
	printf("mpsc-mixed: %" PRIu64 " rounds; cancelled %" PRIu64 " sends, %" PRIu64 " reserves, %"
	       PRIu64 " recvs; %" PRIu64 " timeouts; %" PRIu64 " permits dropped\n",
	       (uint64_t)atomic_load(&rounds_done), (uint64_t)atomic_load(&cancels_send),
	       (uint64_t)atomic_load(&cancels_reserve), (uint64_t)atomic_load(&cancels_recv),
	       (uint64_t)atomic_load(&timeouts),
	       (uint64_t)atomic_load(&permits_dropped));
	stress_check(atomic_load(&rounds_done) > 0, "at least one round ran (%" PRIu64 ")",
	             (uint64_t)atomic_load(&rounds_done));
	return stress_finish();
}
