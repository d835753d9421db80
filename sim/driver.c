/*
 * sim/driver.c: ak_sim_main, the executions and the leak check.
 *
 * For each scenario: a warm-up execution (the schedule without
 * preemptions: it makes the library's lazy one-time setup happen before
 * any execution that counts, so that a seed replays the same in a fresh
 * process, and it measures the length PCT's change points are drawn in),
 * then AK_SIM_SCHEDULES executions under each strategy.  After each
 * execution the debug counters must be back where they were before it:
 * no allocation, waker clone or parked operation may outlive it.
 *
 * The program's main thread is the driver: it starts an execution's first
 * thread and waits until every simulated thread has exited.  All of them
 * run on one CPU (the driver's; AK_SIM_PIN=0 keeps the process's mask): a
 * handover then wakes a thread on the CPU it leaves.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <awaitkit/debug.h>

#include "internal.h"

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	long n = strtol(v, &end, 0);
	if (*end) {
		fprintf(stderr, "sim: %s=%s is not a number\n", name, v);
		exit(2);
	}
	return n;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *body(void *arg)
{
	((const struct ak_sim_scenario *)arg)->body();
	return NULL;
}

struct options {
	long schedules;
	int strategies;                 /* mask of 1 << S_* */
	int weak, spurious;
	const char *seed, *trace;
	uint64_t base;
};

/* One execution; 0 when the DFS has no schedule left. */
static int run_one(const struct ak_sim_scenario *sc, int strategy_id, uint64_t seed, int weak,
                   int spurious)
{
	static const char *const snames[] = { "random", "pct", "dfs", "replay" };
	const char *strategy = snames[strategy_id];
	struct ak_debug_counts before, after;
	S.sc = sc;
	S.strategy = strategy_id;
	S.seed = seed;
	S.weak = weak;
	S.spurious = spurious;
	ak_debug_counters(&before);
	sim_queues_reset();
	sim_exec_begin();
	sim_exec_start(body, (void *)sc);
	sim_exec_wait();
	ak_debug_counters(&after);
	if (after.live_objects != before.live_objects ||
	    after.waker_clones != before.waker_clones || after.parked_ops != before.parked_ops)
		sim_fail("leak: %+lld allocations, %+lld waker clones, %+lld parked operations "
		         "outlive the execution", (long long)(after.live_objects - before.live_objects),
		         (long long)(after.waker_clones - before.waker_clones),
		         (long long)(after.parked_ops - before.parked_ops));
	if (S.verbose)
		printf("sim:   %s schedule %llu: %llu points, choices %.100s%s\n",
		       S.warm ? "warm-up" : strategy, (unsigned long long)S.exec + 1,
		       (unsigned long long)S.step, S.trace ? S.trace : "",
		       S.trace && strlen(S.trace) > 100 ? "..." : "");
	int more = strategy_exec_end();
	S.exec++;
	S.points += S.step;
	return more;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The schedule without preemptions; sets PCT's length estimate. */
static void warm_up(const struct ak_sim_scenario *sc)
{
	S.dfs_prefix = 0;
	S.replay = NULL;
	S.pct_steps = 0;
	S.exec = 0;
	S.warm = 1;
	run_one(sc, S_DFS, 0, 0, 0);
	S.warm = 0;
	S.exec = 0;
}

static const char *const names[] = { "random", "pct", "dfs" };

static int run_scenario(const struct ak_sim_scenario *sc, const struct options *o,
                        uint64_t *total)
{
	double t0 = wall();
	warm_up(sc);
	if (o->trace || o->seed) {
		int st = S_RANDOM;
		for (int s = 0; s < 3; s++)
			if (o->strategies == 1 << s)
				st = s;
		if (o->trace)
			S.replay = o->trace;
		if (st == S_PCT)
			S.pct_steps = (uint64_t)env_long("AK_SIM_PCT_STEPS", (long)S.pct_steps);
		uint64_t seed = o->seed ? strtoull(o->seed, NULL, 0) : 0;
		printf("sim: %s: replaying %s\n", sc->name, o->trace ? "a choice string" : "a seed");
		run_one(sc, o->trace ? S_REPLAY : st, seed, o->weak && st != S_DFS,
		        o->spurious && st != S_DFS);
		printf("sim: %s: the replayed execution passed (%llu points)\n", sc->name,
		       (unsigned long long)S.step);
		return 0;
	}
	char line[256];
	int len = snprintf(line, sizeof(line), "sim: %-34s", sc->name);
	uint64_t points = S.points, execs = 0;
	for (int s = 0; s < 3; s++) {
		if (!(o->strategies & 1 << s))
			continue;
		long n = 0;
		S.dfs_prefix = 0;
		S.dfs_exhausted = 0;
		S.exec = 0;
		uint64_t base = mix(mix(o->base) ^ name_hash(sc->name) ^ ((uint64_t)s << 56));
		while (n < o->schedules) {
			int more = run_one(sc, s, mix(base + (uint64_t)n), o->weak && s != S_DFS,
			                   o->spurious && s != S_DFS);
			n++;
			if (!more)
				break;
		}
		*total += (uint64_t)n;
		execs += (uint64_t)n;
		len += snprintf(line + len, sizeof(line) - (size_t)len, " %s %ld%s", names[s], n,
		                s == S_DFS && S.dfs_exhausted ? " (all)" : "");
	}
	printf("%s  %.1f s, %llu points each\n", line, wall() - t0,
	       (unsigned long long)(execs ? (S.points - points) / execs : 0));
	fflush(stdout);
	return 0;
}

static int parse_strategies(const char *v)
{
	if (!v || !*v || !strcmp(v, "all"))
		return 7;
	int m = 0;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		int found = 0;
		for (int s = 0; s < 3; s++)
			if (!strcmp(tok, names[s]))
				m |= 1 << s, found = 1;
		if (!found) {
			fprintf(stderr, "sim: AK_SIM_SCHED: %s is not random, pct, dfs or all\n", tok);
			exit(2);
		}
	}
	return m;
}

static void pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int ak_sim_main(int argc, char **argv, const struct ak_sim_scenario *list, size_t n)
{
	struct options o;
	/* A buffer that is there before a crash's handler prints into it
	 * (stdio would allocate one there: not in a signal handler). */
	static char outbuf[1 << 16];
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	S.prog = argc > 0 ? argv[0] : "sim";
	o.schedules = env_long("AK_SIM_SCHEDULES", 100);
	o.strategies = parse_strategies(getenv("AK_SIM_SCHED"));
	o.weak = (int)env_long("AK_SIM_WEAK", 1);
	o.spurious = (int)env_long("AK_SIM_SPURIOUS", 1);
	o.seed = getenv("AK_SIM_SEED");
	o.trace = getenv("AK_SIM_TRACE");
	o.base = (uint64_t)env_long("AK_SIM_BASE_SEED", 1);
	S.pct_depth = (int)env_long("AK_SIM_PCT_DEPTH", 3);
	S.dfs_bound = (int)env_long("AK_SIM_BOUND", 2);
	S.fair_k = (unsigned)env_long("AK_SIM_FAIR", 4096);
	S.max_steps = (uint64_t)env_long("AK_SIM_MAX_STEPS", 200000);
	S.verbose = (int)env_long("AK_SIM_VERBOSE", 0);
	if (S.pct_depth < 1 || S.pct_depth > 9) {
		fprintf(stderr, "sim: AK_SIM_PCT_DEPTH must be 1 to 9\n");
		return 2;
	}
	if ((o.seed || o.trace) && o.strategies != 1 && o.strategies != 2 && o.strategies != 4 &&
	    !o.trace) {
		fprintf(stderr, "sim: AK_SIM_SEED needs one strategy in AK_SIM_SCHED\n");
		return 2;
	}
	const char *want[64];
	int nwant = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l")) {
			for (size_t k = 0; k < n; k++)
				printf("%-36s %s\n", list[k].name, list[k].about ? list[k].about : "");
			return 0;
		}
		if (nwant < 64)
			want[nwant++] = argv[i];
	}
	for (int i = 0; i < nwant; i++) {
		size_t k = 0;
		while (k < n && strcmp(list[k].name, want[i]))
			k++;
		if (k == n) {
			fprintf(stderr, "sim: no scenario %s (-l lists them)\n", want[i]);
			return 2;
		}
	}
	if (env_long("AK_SIM_PIN", 1))
		pin_cpu();
	sim_signals_install();
	double t0 = wall();
	uint64_t total = 0;
	size_t ran = 0;
	for (size_t k = 0; k < n; k++) {
		int selected = nwant == 0;
		for (int i = 0; i < nwant; i++)
			selected |= !strcmp(list[k].name, want[i]);
		if (!selected)
			continue;
		run_scenario(&list[k], &o, &total);
		ran++;
	}
	if (!o.seed && !o.trace) {
		double secs = wall() - t0;
		printf("sim: %zu scenarios, %llu schedules, all passed, %.1f s (%.0f schedules/s)\n",
		       ran, (unsigned long long)total, secs, secs > 0 ? (double)total / secs : 0.0);
	}
	/* make check's total: the scenarios that passed (a failure exits
	 * before, leaving no file). */
	const char *counts = getenv("AK_SIM_COUNTS");
	FILE *f = counts && *counts ? fopen(counts, "w") : NULL;
	if (f) {
		fprintf(f, "%zu 0\n", ran);
		fclose(f);
	}
	return 0;
}

int ak_sim_thread_create_at(pthread_t *thread, void *(*fn)(void *), void *arg,
                            const char *file, int line, const char *func)
{
	struct ak__sim_site site = { file, func, line };
	if (!ak__sim_me)
		return EPERM;
	return ak__sim_pthread_create(thread, NULL, fn, arg, &site);
}

int ak_sim_thread_join_at(pthread_t thread, void **ret, const char *file, int line,
                          const char *func)
{
	struct ak__sim_site site = { file, func, line };
	return ak__sim_pthread_join(thread, ret, &site);
}

void ak_sim_point_at(const char *file, int line, const char *func)
{
	struct ak__sim_site site = { file, func, line };
	ak__sim_point(AK__SIM_USER, NULL, &site);
}
