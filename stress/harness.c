/* stress/harness.c: options, threads, RNG, checksums, checks, watchdog.
 * See harness.h. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <awaitkit.h>

#include "harness.h"

#define MAX_FAIL_MESSAGES 10

static struct stress_opts opts;
static const char *prog = "stress";
/* The library's counters when the run began (stress_init), which every
 * program's teardown must bring back (stress_finish). */
static struct ak_debug_counts baseline;
static struct stress_rng main_rng;

struct stress_rng *stress_main_rng(void)
{
	return &main_rng;
}
static int64_t start_ns, end_ns;

static struct stress_thread *threads;   /* list, newest first; main thread only */
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER; /* list vs watchdog */
static int nthreads;

static atomic_int stop;
static atomic_long violations;
static long checks_passed, checks_failed;     /* main thread only */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void (*dump_fn)(FILE *, void *);
static void *dump_arg;

static pthread_t watchdog;
static atomic_int watchdog_stop;
static atomic_int_least64_t last_event_ns;   /* a thread started or finished */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- RNG and checksums ------------------------------------------------------ */

uint64_t stress_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

void stress_rng_seed(struct stress_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ stress_mix64(stream + UINT64_C(0x9e3779b97f4a7c15));
	for (int i = 0; i < 4; i++) {
		x += UINT64_C(0x9e3779b97f4a7c15);
		r->s[i] = stress_mix64(x);
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t stress_rand(struct stress_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t stress_below(struct stress_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* Lemire's reduction is enough here: the bias is < n / 2^64. */
	__extension__ typedef unsigned __int128 u128;
	return (uint64_t)(((u128)stress_rand(r) * n) >> 64);
}

int stress_chance(struct stress_rng *r, unsigned percent)
{
	return stress_below(r, 100) < percent;
}

void stress_sum_add(struct stress_sum *s, uint64_t value)
{
	uint64_t h = stress_mix64(value);
	s->count++;
	s->sum += h;
	s->xor_ ^= h;
}

void stress_sum_merge(struct stress_sum *into, const struct stress_sum *from)
{
	into->count += from->count;
	into->sum += from->sum;
	into->xor_ ^= from->xor_;
}

int stress_sum_equal(const struct stress_sum *a, const struct stress_sum *b)
{
	return a->count == b->count && a->sum == b->sum && a->xor_ == b->xor_;
}

/* ---- options ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: %s [-t threads] [-d seconds | -n iterations] [-s seed]\n"
	        "       [-o counts-file] [-w watchdog-seconds] [-v]\n"
	        "environment: STRESS_SECS, STRESS_SEED, STRESS_COUNTS, STRESS_WATCHDOG\n",
	        prog);
	exit(2);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: bad %s '%s'\n", prog, what, s);
		exit(2);
	}
	return (uint64_t)v;
}

static double parse_secs(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "%s: bad duration '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

static void *watchdog_main(void *arg);

void stress_init(int argc, char **argv, int default_threads)
{
	const char *env;
	int have_seed = 0;

	if (argc > 0 && argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = slash ? slash + 1 : argv[0];
	}
	opts.threads = default_threads;
	opts.secs = 10;
	opts.watchdog_secs = 10;
	if ((env = getenv("STRESS_SECS")) && *env)
		opts.secs = parse_secs(env);
	if ((env = getenv("STRESS_SEED")) && *env) {
		opts.seed = parse_u64(env, "seed");
		have_seed = 1;
	}
	if ((env = getenv("STRESS_COUNTS")) && *env)
		opts.counts = env;
	if ((env = getenv("STRESS_WATCHDOG")) && *env)
		opts.watchdog_secs = (int)parse_u64(env, "watchdog period");

	int c;
	while ((c = getopt(argc, argv, "t:d:n:s:o:w:vh")) != -1) {
		switch (c) {
		case 't': opts.threads = (int)parse_u64(optarg, "thread count"); break;
		case 'd': opts.secs = parse_secs(optarg); opts.count = 0; break;
		case 'n': opts.count = parse_u64(optarg, "iteration count"); break;
		case 's': opts.seed = parse_u64(optarg, "seed"); have_seed = 1; break;
		case 'o': opts.counts = optarg; break;
		case 'w': opts.watchdog_secs = (int)parse_u64(optarg, "watchdog period"); break;
		case 'v': opts.verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || opts.threads < 1 || opts.threads > 1024 || opts.watchdog_secs < 1)
		usage();
	if (!have_seed)
		opts.seed = stress_mix64((uint64_t)now_ns() ^ ((uint64_t)getpid() << 32));

	if (opts.count)
		printf("%s: seed 0x%016" PRIx64 ", %d threads, %" PRIu64 " iterations each\n",
		       prog, opts.seed, opts.threads, opts.count);
	else
		printf("%s: seed 0x%016" PRIx64 ", %d threads, %.1f s\n",
		       prog, opts.seed, opts.threads, opts.secs);
	printf("%s: replay with STRESS_SEED=0x%016" PRIx64 " (or -s 0x%016" PRIx64 ")\n",
	       prog, opts.seed, opts.seed);
	fflush(stdout);

	stress_rng_seed(&main_rng, opts.seed, UINT64_MAX);
	ak_debug_counters(&baseline);
	start_ns = now_ns();
	end_ns = start_ns + (int64_t)(opts.secs * 1e9);
	atomic_store(&last_event_ns, start_ns);
	if (pthread_create(&watchdog, NULL, watchdog_main, NULL) != 0) {
		fprintf(stderr, "%s: cannot start the watchdog\n", prog);
		exit(2);
	}
}

const struct stress_opts *stress_opts(void)
{
	return &opts;
}

void stress_on_dump(void (*fn)(FILE *out, void *arg), void *arg)
{
	dump_fn = fn;
	dump_arg = arg;
}

/* ---- threads ------------------------------------------------------------------ */

static void *thread_main(void *arg)
{
	struct stress_thread *t = arg;
	t->fn(t);
	atomic_store(&t->running, 0);
	atomic_store(&last_event_ns, now_ns());
	return NULL;
}

struct stress_thread *stress_spawn(const char *name, void (*fn)(struct stress_thread *t),
                                   void *arg)
{
	struct stress_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fn = fn;
	t->arg = arg;
	atomic_init(&t->progress, 0);
	atomic_init(&t->running, 1);
	pthread_mutex_lock(&threads_lock);
	t->index = nthreads++;
	stress_rng_seed(&t->rng, opts.seed, (uint64_t)t->index);
	t->next = threads;
	threads = t;
	pthread_mutex_unlock(&threads_lock);
	atomic_store(&last_event_ns, now_ns());
	if (pthread_create(&t->th, NULL, thread_main, t) != 0) {
		fprintf(stderr, "%s: cannot start thread %s\n", prog, name);
		exit(2);
	}
	pthread_setname_np(t->th, t->name);
	return t;
}

void stress_join(void)
{
	for (struct stress_thread *t = threads; t; t = t->next)
		pthread_join(t->th, NULL);
}

int stress_stopped(void)
{
	if (atomic_load_explicit(&stop, memory_order_relaxed))
		return 1;
	if (!opts.count && now_ns() >= end_ns) {
		atomic_store_explicit(&stop, 1, memory_order_relaxed);
		return 1;
	}
	return 0;
}

int stress_continue(struct stress_thread *t)
{
	atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
	if (atomic_load_explicit(&stop, memory_order_relaxed))
		return 0;
	if (opts.count ? t->iterations >= opts.count : stress_stopped())
		return 0;
	t->iterations++;
	return 1;
}

void stress_progress(struct stress_thread *t)
{
	atomic_fetch_add_explicit(&t->progress, 1, memory_order_relaxed);
}

/* ---- checks --------------------------------------------------------------------- */

void stress_check(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		checks_passed++;
	else
		checks_failed++;
	if (ok && !opts.verbose)
		return;
	va_start(ap, fmt);
	printf("%s: %s: ", prog, ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

void stress_fail(const char *fmt, ...)
{
	va_list ap;

	atomic_store(&stop, 1);
	long n = atomic_fetch_add(&violations, 1);
	if (n >= MAX_FAIL_MESSAGES)
		return;
	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	printf("%s: FAIL (seed 0x%016" PRIx64 "): ", prog, opts.seed);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* ---- the dump and the closing line -------------------------------------------- */

static void dump(FILE *out)
{
	struct ak_debug_counts c;

	fprintf(out, "---- %s state (seed 0x%016" PRIx64 ", %.1f s in) ----\n",
	        prog, opts.seed, (double)(now_ns() - start_ns) / 1e9);
	pthread_mutex_lock(&threads_lock);
	for (struct stress_thread *t = threads; t; t = t->next)
		fprintf(out, "thread %-15s progress %" PRIuLEAST64 "%s\n", t->name,
		        atomic_load(&t->progress), atomic_load(&t->running) ? "" : " (finished)");
	pthread_mutex_unlock(&threads_lock);
	if (ak_debug_counters(&c) == 0)
		fprintf(out, "ak_debug_counters: waker_clones %" PRId64 ", parked_ops %" PRId64
		        ", live_objects %" PRId64 ", allocations %" PRId64 "\n",
		        c.waker_clones, c.parked_ops, c.live_objects, c.allocations);
	if (dump_fn)
		dump_fn(out, dump_arg);
	fprintf(out, "---- end of state ----\n");
	fflush(out);
}

static void write_counts(long passed, long failed)
{
	if (!opts.counts)
		return;
	FILE *f = fopen(opts.counts, "w");
	if (f) {
		fprintf(f, "%ld %ld\n", passed, failed);
		fclose(f);
	}
}

int stress_finish(void)
{
	struct ak_debug_counts end;

	atomic_store(&watchdog_stop, 1);
	pthread_join(watchdog, NULL);

	ak_debug_counters(&end);
	stress_check(end.waker_clones == baseline.waker_clones,
	             "waker clones back to baseline (%" PRId64 " -> %" PRId64 ")",
	             baseline.waker_clones, end.waker_clones);
	stress_check(end.parked_ops == baseline.parked_ops,
	             "parked ops back to baseline (%" PRId64 " -> %" PRId64 ")",
	             baseline.parked_ops, end.parked_ops);
	stress_check(end.live_objects == baseline.live_objects,
	             "live objects back to baseline (%" PRId64 " -> %" PRId64 ")",
	             baseline.live_objects, end.live_objects);

	long v = atomic_load(&violations);
	stress_check(v == 0, "no invariant broken during the run (%ld broken)", v);
	if (checks_failed) {
		pthread_mutex_lock(&out_lock);
		dump(stdout);
		pthread_mutex_unlock(&out_lock);
		printf("%s: replay with STRESS_SEED=0x%016" PRIx64 "\n", prog, opts.seed);
	}
	printf("%ld passed, %ld failed\n", checks_passed, checks_failed);
	fflush(stdout);
	write_counts(checks_passed, checks_failed);
	return checks_failed == 0 && checks_passed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- the watchdog ------------------------------------------------------------- */

struct seen {
	struct stress_thread *t;
	uint_least64_t progress;
	int64_t since;
};

static void fire(const char *why)
{
	pthread_mutex_lock(&out_lock);
	printf("%s: WATCHDOG: %s\n", prog, why);
	dump(stdout);
	printf("%s: replay with STRESS_SEED=0x%016" PRIx64 "\n", prog, opts.seed);
	/* The checks made so far, plus the watchdog's own failed one. */
	printf("%ld passed, %ld failed\n", checks_passed, checks_failed + 1);
	fflush(stdout);
	write_counts(checks_passed, checks_failed + 1);
	abort();
}

static void *watchdog_main(void *arg)
{
	struct seen seen[1024];
	int nseen = 0;
	const int64_t period = (int64_t)opts.watchdog_secs * 1000000000;
	char why[160];

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		nanosleep(&tick, NULL);
		int64_t now = now_ns();
		int any_running = 0;

		pthread_mutex_lock(&threads_lock);
		for (struct stress_thread *t = threads; t; t = t->next) {
			int i;
			for (i = 0; i < nseen && seen[i].t != t; i++)
				;
			if (i == nseen) {
				if (nseen == (int)(sizeof(seen) / sizeof(seen[0])))
					continue;
				seen[nseen++] = (struct seen){ t, atomic_load(&t->progress), now };
			}
			uint_least64_t p = atomic_load(&t->progress);
			if (p != seen[i].progress) {
				seen[i].progress = p;
				seen[i].since = now;
			}
			if (!atomic_load(&t->running))
				continue;
			any_running = 1;
			if (now - seen[i].since >= period) {
				snprintf(why, sizeof(why), "thread %s made no progress for %d s",
				         t->name, opts.watchdog_secs);
				pthread_mutex_unlock(&threads_lock);
				fire(why);
			}
		}
		pthread_mutex_unlock(&threads_lock);
		if (!any_running && now - atomic_load(&last_event_ns) >= period) {
			snprintf(why, sizeof(why), "no worker running and nothing moved for %d s "
			         "(set-up or teardown stuck)", opts.watchdog_secs);
			fire(why);
		}
	}
	return NULL;
}
