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

/* Worker threads of the pool workloads (--workers N, default 2). */
extern int bk_workers;

#endif
