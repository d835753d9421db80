/*
 * bench/awaitkit/bench.h: what every awaitkit workload of the benchmark
 * shares (issue 4).  Bench code, not library code: plain libc is fine here.
 *
 * A workload is a function
 *
 *	int bk_<workload>(uint64_t size, struct bk_result *r);
 *
 * that runs ONE timed run of `size` operations (it may round size to a
 * multiple it needs and must then set r->ops to what it ran), brackets its
 * timed section with bk_start() and bk_stop(), appends any extra keys the
 * protocol asks for with bk_extra(), and returns 0, or -1 after printing
 * to stderr why the run failed (lost messages, a library error).
 * main.c calls it twice in one process: first untimed with a twentieth of
 * the size (the warm-up every implementation runs, bench/README.md), then
 * for the timed run; so it resets any static state it keeps.
 */
#ifndef BENCH_AWAITKIT_BENCH_H
#define BENCH_AWAITKIT_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <awaitkit.h>

struct bk_result {
	uint64_t ops;        /* operations in the timed section */
	int64_t t0, elapsed; /* ns, CLOCK_MONOTONIC */
	int64_t allocs0;     /* ak_debug_counters().allocations at start */
	int64_t allocs;      /* allocations made in the timed section */
	char extra[256];     /* " key=value" pairs, printed after the rest */
};

/*
 * bk_start and bk_stop bracket the timed section: wall time from ak_now()
 * (CLOCK_MONOTONIC) and allocations from ak_debug_counters().
 */
void bk_start(struct bk_result *r);
void bk_stop(struct bk_result *r);
/* Appends " key=value" (printf-style value) to r->extra. */
void bk_extra(struct bk_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The resident set size from /proc/self/statm, in bytes; -1 on error. */
int64_t bk_rss_bytes(void);

/*
 * The memory figures of spsc_unbounded (issue 14: peak memory against peak
 * queued messages x element size), the same in every implementation:
 * bk_mem_mark() hands memory freed so far back to the kernel
 * (malloc_trim), resets the kernel's peak-RSS mark (writes 5 to
 * /proc/self/clear_refs) and returns the RSS now; bk_mem_peak() returns the
 * peak RSS since the mark (VmHWM of /proc/self/status).  Bytes; -1 on error.
 */
int64_t bk_mem_mark(void);
int64_t bk_mem_peak(void);

/*
 * Peak queued messages of a producer and a consumer: each publishes its
 * count every BK_PROBE_EVERY messages (a relaxed store on a line of its
 * own) and then reads the other's, keeping the largest difference it saw.
 * The producer's view overstates the true peak by less than BK_PROBE_EVERY
 * messages, the consumer's understates it by as much; peak() is the
 * larger.  One store and one load per 1024 messages a side.
 */
#define BK_PROBE_EVERY 1024u
struct bk_queue_probe {
	_Alignas(128) _Atomic uint64_t sent;
	uint64_t peak_sender;
	_Alignas(128) _Atomic uint64_t received;
	uint64_t peak_receiver;
};

static inline void bk_probe_sent(struct bk_queue_probe *q, uint64_t sent)
{
	if (sent % BK_PROBE_EVERY)
		return;
	atomic_store_explicit(&q->sent, sent, memory_order_relaxed);
	uint64_t r = atomic_load_explicit(&q->received, memory_order_relaxed);
	if (sent > r && sent - r > q->peak_sender)
		q->peak_sender = sent - r;
}

static inline void bk_probe_received(struct bk_queue_probe *q, uint64_t received)
{
	if (received % BK_PROBE_EVERY)
		return;
	atomic_store_explicit(&q->received, received, memory_order_relaxed);
	uint64_t s = atomic_load_explicit(&q->sent, memory_order_relaxed);
	if (s > received && s - received > q->peak_receiver)
		q->peak_receiver = s - received;
}

static inline uint64_t bk_probe_peak(const struct bk_queue_probe *q)
{
	return q->peak_sender > q->peak_receiver ? q->peak_sender : q->peak_receiver;
}

/* Worker threads of the pool workloads (--workers N, default 2). */
extern int bk_workers;

#endif
