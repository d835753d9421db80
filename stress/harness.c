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
/* The library's counters when the run began (stress_start), which every
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
/* The watchdog's tick: a timed wait that stress_finish cuts short. */
static pthread_mutex_t tick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cond;
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

static void replay_line(void)
{
	printf("%s: replay with ak-stress -s 0x%016" PRIx64 " %s (and the same options)\n",
	       prog, opts.seed, prog);
}

/* ---- kinds of operation --------------------------------------------------------- */

struct kind {
	const char *name;
	atomic_uint_least64_t begun, done, cancelled;
};

static struct kind kinds[STRESS_MAX_KINDS];
static atomic_int nkinds_;      /* the watchdog runs already: release, acquire */

/* Kinds registered so far; the watchdog reads only these. */
static int nkinds(void)
{
	/* Pairs with the release store in stress_kind. */
	return atomic_load_explicit(&nkinds_, memory_order_acquire);
}

int stress_kind(const char *name)
{
	int n = atomic_load_explicit(&nkinds_, memory_order_relaxed);
	if (n == STRESS_MAX_KINDS) {
		fprintf(stderr, "%s: too many kinds of operation\n", prog);
		exit(2);
	}
	kinds[n].name = name;
	atomic_store_explicit(&nkinds_, n + 1, memory_order_release);
	return n;
}

void stress_op_begin(int k)
{
	atomic_fetch_add_explicit(&kinds[k].begun, 1, memory_order_relaxed);
}

void stress_op_done(int k)
{
	atomic_fetch_add_explicit(&kinds[k].done, 1, memory_order_relaxed);
}

void stress_op_cancelled(int k)
{
	atomic_fetch_add_explicit(&kinds[k].cancelled, 1, memory_order_relaxed);
}

uint64_t stress_kind_done(int k)
{
	return atomic_load_explicit(&kinds[k].done, memory_order_relaxed);
}

/* Begun, and neither completed nor cancelled yet. */
static uint64_t kind_in_flight(struct kind *k)
{
	uint64_t done = atomic_load(&k->done) + atomic_load(&k->cancelled);
	uint64_t begun = atomic_load(&k->begun);
	return begun > done ? begun - done : 0;
}

/* ---- options ---------------------------------------------------------------- */

static void (*usage_fn)(void);

static void bad_option(void)
{
	if (usage_fn)
		usage_fn();
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

int stress_parse(int argc, char **argv, void (*usage)(void))
{
	const char *env;

	usage_fn = usage;
	if (argc > 0 && argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = slash ? slash + 1 : argv[0];
	}
	opts.secs = 10;
	opts.watchdog_secs = 10;
	opts.capacity = -1;
	opts.cancel_pct = -1;
	opts.verbose = 1;
	if ((env = getenv("STRESS_SECS")) && *env)
		opts.secs = parse_secs(env);
	if ((env = getenv("STRESS_SEED")) && *env) {
		opts.seed = parse_u64(env, "seed");
		opts.have_seed = 1;
	}
	if ((env = getenv("STRESS_COUNTS")) && *env)
		opts.counts = env;
	if ((env = getenv("STRESS_WATCHDOG")) && *env)
		opts.watchdog_secs = (int)parse_u64(env, "watchdog period");

	int c;
	while ((c = getopt(argc, argv, "t:p:c:k:x:e:d:n:s:o:w:qvlh")) != -1) {
		switch (c) {
		case 't':
		case 'p': opts.threads = (int)parse_u64(optarg, "thread count"); break;
		case 'c': opts.consumers = (int)parse_u64(optarg, "consumer count"); break;
		case 'k': opts.capacity = (long)parse_u64(optarg, "capacity"); break;
		case 'x': opts.cancel_pct = (int)parse_u64(optarg, "cancel rate"); break;
		case 'e': opts.executor = optarg; break;
		case 'd': opts.secs = parse_secs(optarg); opts.count = 0; break;
		case 'n': opts.count = parse_u64(optarg, "iteration count"); break;
		case 's': opts.seed = parse_u64(optarg, "seed"); opts.have_seed = 1; break;
		case 'o': opts.counts = optarg; break;
		case 'w': opts.watchdog_secs = (int)parse_u64(optarg, "watchdog period"); break;
		case 'q': opts.quiet = 1; opts.verbose = 0; break;
		case 'v': opts.quiet = 0; opts.verbose = 1; break;
		case 'l': opts.list = 1; break;
		default: bad_option();
		}
	}
	if (opts.threads < 0 || opts.threads > 1024 || opts.consumers > 1024 ||
	    opts.watchdog_secs < 1 || opts.cancel_pct > 100 ||
	    (opts.capacity > (1L << 30)))
		bad_option();
	return optind;
}

void stress_start(const char *name, int default_threads)
{
	prog = name;
	if (opts.threads == 0)
		opts.threads = default_threads;
	if (!opts.have_seed)
		opts.seed = stress_mix64((uint64_t)now_ns() ^ ((uint64_t)getpid() << 32));

	/* Quiet, only a failure prints the seed (with the dump). */
	if (!opts.quiet) {
		if (opts.count)
			printf("%s: seed 0x%016" PRIx64 ", -p %d, %" PRIu64 " iterations each\n",
			       prog, opts.seed, opts.threads, opts.count);
		else
			printf("%s: seed 0x%016" PRIx64 ", -p %d, %.1f s\n", prog, opts.seed,
			       opts.threads, opts.secs);
		replay_line();
	}
	fflush(stdout);

	stress_rng_seed(&main_rng, opts.seed, UINT64_MAX);
	ak_debug_counters(&baseline);
	start_ns = now_ns();
	end_ns = start_ns + (int64_t)(opts.secs * 1e9);
	atomic_store(&last_event_ns, start_ns);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tick_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&watchdog, NULL, watchdog_main, NULL) != 0) {
		fprintf(stderr, "%s: cannot start the watchdog\n", prog);
		exit(2);
	}
}

struct stress_opts *stress_opts_mut(void)
{
	return &opts;
}

const char *stress_name(void)
{
	return prog;
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

static atomic_int run_over;     /* the workers are done: no progress lines */

void stress_run_over(void)
{
	atomic_store(&run_over, 1);
}

void stress_join(void)
{
	for (struct stress_thread *t = threads; t; t = t->next)
		pthread_join(t->th, NULL);
	stress_run_over();
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
	for (int i = 0; i < nkinds(); i++)
		fprintf(out, "kind %-12s begun %" PRIuLEAST64 ", completed %" PRIuLEAST64
		        ", cancelled %" PRIuLEAST64 ", in flight %" PRIu64 "\n", kinds[i].name,
		        atomic_load(&kinds[i].begun), atomic_load(&kinds[i].done),
		        atomic_load(&kinds[i].cancelled), kind_in_flight(&kinds[i]));
	if (ak_debug_counters(&c) == 0)
		fprintf(out, "ak_debug_counters: waker_clones %" PRId64 ", parked_ops %" PRId64
		        ", live_objects %" PRId64 ", allocations %" PRId64 "\n",
		        c.waker_clones, c.parked_ops, c.live_objects, c.allocations);
	if (dump_fn)
		dump_fn(out, dump_arg);
	fprintf(out, "---- end of state ----\n");
	fflush(out);
}

static int counts_fd = -1;

void stress_counts_fd(int fd)
{
	counts_fd = fd;
}

static void write_counts(long passed, long failed)
{
	if (counts_fd >= 0)
		dprintf(counts_fd, "%ld %ld\n", passed, failed);
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

	pthread_mutex_lock(&tick_lock);
	atomic_store(&watchdog_stop, 1);
	pthread_cond_signal(&tick_cond);
	pthread_mutex_unlock(&tick_lock);
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
		replay_line();
	}
	if (!opts.quiet || counts_fd < 0)
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
	replay_line();
	/* The checks made so far, plus the watchdog's own failed one. */
	printf("%ld passed, %ld failed\n", checks_passed, checks_failed + 1);
	fflush(stdout);
	write_counts(checks_passed, checks_failed + 1);
	abort();
}

/* Each second: every kind's completions and rate, or the threads' progress. */
static void progress_line(int64_t now, uint64_t *last, uint_least64_t threads_progress)
{
	char line[512];
	int len = snprintf(line, sizeof line, "%s: %.0f s:", prog, (double)(now - start_ns) / 1e9);
	if (nkinds() == 0) {
		len += snprintf(line + len, sizeof line - (size_t)len, " progress %" PRIuLEAST64
		                " (%" PRIu64 "/s)", threads_progress, threads_progress - last[0]);
		last[0] = threads_progress;
	}
	for (int i = 0; i < nkinds() && len < (int)sizeof line; i++) {
		uint64_t d = atomic_load(&kinds[i].done);
		len += snprintf(line + len, sizeof line - (size_t)len, "%s %s %" PRIu64 " (%" PRIu64
		                "/s, %" PRIuLEAST64 " cancelled)", i ? "," : "", kinds[i].name, d,
		                d - last[i], atomic_load(&kinds[i].cancelled));
		last[i] = d;
	}
	pthread_mutex_lock(&out_lock);
	printf("%s\n", line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void *watchdog_main(void *arg)
{
	struct seen seen[1024];
	struct seen kseen[STRESS_MAX_KINDS];
	uint64_t last[STRESS_MAX_KINDS] = { 0 };
	int nseen = 0, ticks = 0;
	const int64_t period = (int64_t)opts.watchdog_secs * 1000000000;
	char why[160];

	(void)arg;
	for (int i = 0; i < STRESS_MAX_KINDS; i++)
		kseen[i] = (struct seen){ NULL, 0, atomic_load(&last_event_ns) };
	while (!atomic_load(&watchdog_stop)) {
		struct timespec tick;
		clock_gettime(CLOCK_MONOTONIC, &tick);
		tick.tv_nsec += 100 * 1000 * 1000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_sec++;
			tick.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&tick_lock);
		while (!atomic_load(&watchdog_stop) &&
		       pthread_cond_timedwait(&tick_cond, &tick_lock, &tick) == 0)
			;
		pthread_mutex_unlock(&tick_lock);
		if (atomic_load(&watchdog_stop))
			break;
		int64_t now = now_ns();
		int any_running = 0;
		uint_least64_t all_progress = 0;

		/* A kind that has operations in flight and completed none for
		 * the period: one kind stuck while the others may still move. */
		for (int i = 0; i < nkinds(); i++) {
			uint_least64_t d = atomic_load(&kinds[i].done) + atomic_load(&kinds[i].cancelled);
			if (d != kseen[i].progress) {
				kseen[i].progress = d;
				kseen[i].since = now;
				atomic_store(&last_event_ns, now);
			} else if (kind_in_flight(&kinds[i]) && now - kseen[i].since >= period) {
				snprintf(why, sizeof(why), "no %s operation completed for %d s, %" PRIu64
				         " in flight", kinds[i].name, opts.watchdog_secs,
				         kind_in_flight(&kinds[i]));
				fire(why);
			}
		}
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
			all_progress += p;
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
		if (++ticks % 10 == 0 && !opts.quiet && !atomic_load(&run_over))
			progress_line(now, last, all_progress);
	}
	return NULL;
}
