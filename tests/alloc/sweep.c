/*
 * tests/alloc/sweep.c: the allocation-failure sweep (issue 11 item 6).
 *
 * For every scenario (sweep_watch.c, sweep_prims.c) and every n = 1, 2, ...
 * a forked child runs the scenario with the n-th allocation of the process
 * failing: the library's, liburcu's and glibc's alike (failmalloc.h), on
 * every thread.  A run is clean when the child exits normally, every call
 * returned its usual result or AK_ENOMEM, and afterwards the library holds
 * no allocation, waker clone or parked operation and every value a hook
 * made was dropped.  An abort (liburcu's urcu_die, say), a crash, a hang
 * (SWEEP_TIMEOUT seconds), a wrong result or a leak is unclean.  The sweep
 * of a scenario ends at the first n that the run never reaches.  The
 * library's block cache (core/shim.c) is off in the children, so each of
 * its allocations calls malloc.
 *
 * The parent never calls the library (but ak_err_name, to print a result)
 * and starts no thread, so each child
 * begins as a fresh process would: liburcu's lazily made state included.
 * Before issue 11's fix, 8 of 238 runs here aborted, every one in liburcu's
 * call_rcu_data_init (its malloc, or the pthread_create of its worker,
 * failing: urcu_die), reached when watch retired a block.
 *
 *   sweep [-v] [-s name]   -v: the children's stderr and every unclean n;
 *                          -s: only the scenarios whose name contains it.
 * Exit status 1 when any run was unclean.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include "failmalloc.h"
#include "sweep.h"

#define SWEEP_TIMEOUT 20        /* seconds: a hang, not a slow run */
#define MAX_N 100000

void ak__watch_quiesce(void);
void ak__alloc_cache_keep(int on);

/* Under ASan: LeakSanitizer's own check (absent natively). */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

long sw_live_values;

struct result {
	long counted;           /* allocations the run made */
	long failed;            /* 1 when the n-th was reached and failed */
	int wrong_line;         /* a wrong result: where */
	int wrong_rc;
	char wrong[160];
	struct ak_debug_counts left;
	long live_values;
	int lsan;               /* LeakSanitizer found a leak */
};

static struct result res;

int sw_wrong(int line, const char *what, int rc)
{
	if (!res.wrong_line) {
		res.wrong_line = line;
		res.wrong_rc = rc;
		snprintf(res.wrong, sizeof res.wrong, "%s", what);
	}
	return 1;
}

static int verbose;

static void child(const struct sw_scenario *sc, long n, int fd)
{
	if (!verbose) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
	}
	alarm(SWEEP_TIMEOUT);
	/* The library's block cache keeps nothing: a cache hit calls no
	 * malloc, so every ak__alloc must reach one to be swept. */
	ak__alloc_cache_keep(0);
	fm_arm(n);
	sc->run();
	res.counted = fm_disarm();
	res.failed = fm_failed();
	/* Blocks still on their way to being freed (watch), then the count. */
	ak__watch_quiesce();
	ak_debug_counters(&res.left);
	res.live_values = sw_live_values;
	if (__lsan_do_recoverable_leak_check)
		res.lsan = __lsan_do_recoverable_leak_check() != 0;
	if (write(fd, &res, sizeof res) != (ssize_t)sizeof res)
		_exit(3);
	_exit(0);
}

/* Runs one child; 0 when clean.  *done: the run never reached n. */
static int run_one(const struct sw_scenario *sc, long n, int *done, char *why, size_t whylen)
{
	int fds[2];
	struct result r;

	memset(&r, 0, sizeof r);
	*done = 0;
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		child(sc, n, fds[1]);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], &r, sizeof r);
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		snprintf(why, whylen, "killed by signal %d (%s)%s", sig, strsignal(sig),
		         sig == SIGALRM ? ": hung" : "");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof r) {
		snprintf(why, whylen, "exit status %d, no result", WEXITSTATUS(status));
		return 1;
	}
	*done = r.failed == 0;
	if (r.wrong_line) {
		snprintf(why, whylen, "line %d: %s returned %d (%s)", r.wrong_line, r.wrong,
		         r.wrong_rc, ak_err_name(r.wrong_rc));
		return 1;
	}
	if (r.left.live_objects || r.left.waker_clones || r.left.parked_ops || r.live_values ||
	    r.lsan) {
		snprintf(why, whylen, "leak: %lld objects, %lld waker clones, %lld parked, "
		         "%ld values%s", (long long)r.left.live_objects,
		         (long long)r.left.waker_clones, (long long)r.left.parked_ops,
		         r.live_values, r.lsan ? ", LeakSanitizer report" : "");
		return 1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sweep(const struct sw_scenario *sc, long *points, long *unclean)
{
	long bad = 0, n, streak = 0;
	int done = 0;
	char why[256];

	for (n = 1; n < MAX_N && !done; n++) {
		if (run_one(sc, n, &done, why, sizeof why)) {
			bad++;
			if (verbose || bad <= 3)
				printf("  %s: allocation %ld fails: %s\n", sc->name, n, why);
			/* A run that dies says nothing of how far it got: give
			 * up after a long streak (every later n dies too). */
			if (++streak == 50) {
				printf("  %s: 50 runs in a row died: giving up\n", sc->name);
				n += 2;
				break;
			}
		} else {
			streak = 0;
		}
	}
	long pts = n - 2;       /* the last run reached no failure */
	printf("alloc-sweep: %-32s %4ld allocation points, %ld unclean\n", sc->name, pts, bad);
	*points += pts;
	*unclean += bad;
	return bad != 0;
}

int main(int argc, char **argv)
{
	const char *only = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "vs:")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 's')
			only = optarg;
		else {
			fprintf(stderr, "usage: %s [-v] [-s name]\n", argv[0]);
			return 2;
		}
	}
	const struct sw_scenario *lists[] = { sw_watch_scenarios, sw_prim_scenarios };
	long points = 0, unclean = 0;
	double t0 = now_s();
	int rc = 0;

	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (const struct sw_scenario *sc = lists[l]; sc->name; sc++)
			if (!only || strstr(sc->name, only))
				rc |= sweep(sc, &points, &unclean);
	printf("alloc-sweep: %ld injected failures, %ld clean, %ld unclean (%.1f s)\n",
	       points, points - unclean, unclean, now_s() - t0);
	return rc;
}
