/*
 * stress/harness.h: what every ak-stress(1) scenario shares.
 *
 *  - options (stress_parse, for ak-stress's main): -t/-p threads or
 *    producers, -c consumers, -k capacity, -x cancel rate, -e executor,
 *    -d seconds or -n count (iterations per thread or task), -s seed,
 *    -o counts-file, -w watchdog seconds, -q; the environment gives
 *    defaults (STRESS_SECS, STRESS_SEED, STRESS_COUNTS, STRESS_WATCHDOG);
 *    the seed is printed at start: given again, it repeats every random
 *    choice of the run (the interleaving of real threads is the machine's;
 *    the sim build replays those too);
 *  - worker threads, each with its own seeded RNG (seed, thread index) and
 *    a progress counter;
 *  - kinds of operation (stress_kind: send, recv, acquire, ...), each with
 *    counts of operations begun, completed and cancelled;
 *  - a watchdog thread: when a running worker's progress has not moved for
 *    the watchdog period (10 s), or a kind has operations in flight and
 *    none completed for that long (a lost wakeup in one kind shows while
 *    the others still move), or nothing at all has moved for that long
 *    (set-up or teardown stuck), it prints every thread's counters, every
 *    kind's, ak_debug_counters() and the scenario's own dump (its queues
 *    and tasks), writes the counts file with the failure, and aborts;
 *    unless -q, it also prints each second the progress of every kind (or
 *    of the threads) and the rate;
 *  - checks: stress_check() for the named checks of the run, stress_fail()
 *    for an invariant broken on the hot path (from any thread: it stops
 *    the run; stress_finish() turns the violations into one failed check);
 *  - checksum helpers: a 64-bit mixer and an order-independent
 *    (count, sum, xor) accumulator, to compare what went in with what came
 *    out;
 *  - stress_finish() prints the closing line, exactly "N passed, N failed"
 *    (N = checks), and writes the two numbers to the counts file.
 *
 * Workers never exit the process; they record, and the main thread checks
 * after joining them.
 */
#ifndef STRESS_HARNESS_H
#define STRESS_HARNESS_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>

struct stress_opts {
	int threads;            /* -t or -p; the scenario says what a thread is;
	                           0 until stress_start: its default */
	int consumers;          /* -c; 0: the scenario's default */
	long capacity;          /* -k; -1: the scenario's default */
	int cancel_pct;         /* -x; -1: the scenario's default */
	const char *executor;   /* -e; NULL: the scenario's default */
	double secs;            /* -d, STRESS_SECS; used when count is 0 */
	uint64_t count;         /* -n: iterations per thread; 0 = by time */
	uint64_t seed;          /* -s, STRESS_SEED */
	int have_seed;
	int watchdog_secs;      /* -w, STRESS_WATCHDOG; 10 */
	const char *counts;     /* -o, STRESS_COUNTS: "passed failed" file */
	int verbose;            /* print passing checks too (unless -q) */
	int quiet;              /* -q: failures and the closing line only */
	int list;               /* -l */
};

/* ---- random numbers: xoshiro256**, one stream per thread ---------------- */

struct stress_rng {
	uint64_t s[4];
};

void stress_rng_seed(struct stress_rng *r, uint64_t seed, uint64_t stream);
uint64_t stress_rand(struct stress_rng *r);
/* The main thread's stream, seeded with (seed, UINT64_MAX): the run's
 * random set-up.  Only the main thread uses it. */
struct stress_rng *stress_main_rng(void);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t stress_below(struct stress_rng *r, uint64_t n);
/* True with the given chance in percent. */
int stress_chance(struct stress_rng *r, unsigned percent);

/* ---- checksums ------------------------------------------------------------ */

/* A bijective 64-bit mixer (splitmix64's finaliser). */
uint64_t stress_mix64(uint64_t x);

/* Order-independent: equal multisets of values give equal sums. */
struct stress_sum {
	uint64_t count, sum, xor_;
};

void stress_sum_add(struct stress_sum *s, uint64_t value);
void stress_sum_merge(struct stress_sum *into, const struct stress_sum *from);
int stress_sum_equal(const struct stress_sum *a, const struct stress_sum *b);

/* ---- the run ---------------------------------------------------------------- */

struct stress_thread {
	char name[16];
	int index;
	struct stress_rng rng;          /* owned by the thread */
	uint64_t iterations;            /* owned by the thread */
	atomic_uint_least64_t progress; /* read by the watchdog */
	atomic_int running;
	void (*fn)(struct stress_thread *t);
	void *arg;
	pthread_t th;
	struct stress_thread *next;
};

/* Parses the options; returns the index of the first operand.  Exits with
 * status 2 on a bad option, calling usage first. */
int stress_parse(int argc, char **argv, void (*usage)(void));
/* The run of the scenario name begins: -t's default, the seed (drawn if
 * not given), the seed line, the library's counters taken as the
 * baseline (ak_debug_counters: call it before making anything), the
 * watchdog. */
void stress_start(const char *name, int default_threads);
const struct stress_opts *stress_opts(void);
/* The scenario's name, for messages. */
const char *stress_name(void);

/* ---- kinds of operation ---------------------------------------------------- */

#define STRESS_MAX_KINDS 16
/* Registers a kind (before the workers start); returns its index. */
int stress_kind(const char *name);
void stress_op_begin(int kind);
void stress_op_done(int kind);
void stress_op_cancelled(int kind);
/* Completed operations of a kind so far. */
uint64_t stress_kind_done(int kind);

/* The program's state for the watchdog's dump (and for a failed run).
 * Called on the watchdog thread while workers may be stuck: read shared
 * state with atomic loads only, take no lock. */
void stress_on_dump(void (*fn)(FILE *out, void *arg), void *arg);

/* Starts a worker; its RNG is seeded with (seed, index in start order). */
struct stress_thread *stress_spawn(const char *name, void (*fn)(struct stress_thread *t),
                                   void *arg);
/* Joins every worker; then stress_run_over. */
void stress_join(void);
/* The run proper is over (the checks follow): no more progress lines. */
void stress_run_over(void);

/* 1 while the worker should go on (time left, or iterations left, and no
 * failure); counts the iteration and the progress. */
int stress_continue(struct stress_thread *t);
/* Progress inside a long iteration. */
void stress_progress(struct stress_thread *t);
/* 1 once the run has been stopped (time up or a failure). */
int stress_stopped(void);

/* A named check of the run. */
void stress_check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An invariant broken on the hot path, from any thread: printed (the first
 * few), counted, and the run stops. */
void stress_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stops the watchdog, checks that the library's waker clones, parked
 * operations and live objects are back to what they were at
 * stress_start() (the program has freed what it made), turns the hot-path
 * failures into one check, prints the dump if anything failed, prints
 * "N passed, N failed" and writes the counts file.  Returns the exit
 * status for main. */
int stress_finish(void);
/* The counts are also written to fd (ak-stress's child runs). */
void stress_counts_fd(int fd);
/* The options, to change before stress_start (ak-stress's runs). */
struct stress_opts *stress_opts_mut(void);

#endif
