/*
 * stress/ak_stress.c: ak-stress(1).
 *
 *   ak-stress [-q] [-e executor[,...]|all] [-p n] [-c n] [-k n] [-x percent]
 *             [-d seconds | -n count] [-s seed] [-w seconds] [-o file]
 *             scenario... | all | workloads | programs
 *   ak-stress -l
 *
 * A scenario is a primitive workload (work.h: its tasks on the executor of
 * -e) or one of the stress programs (scenarios.h: their own threads and
 * executors).  One run goes in this process; several (names, -e a,b, all)
 * each in a child process of their own, so that a watchdog's abort or a
 * crash fails that run only, and each starts from a fresh library state.
 * The last line adds up every run's checks: "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../conform/drivers.h"
#include "harness.h"
#include "scenarios.h"
#include "work.h"

struct scenario {
	const char *name;
	const char *what;
	const struct wk_def *wk;        /* a workload on -e, or */
	int (*program)(void);           /* a program */
};

static const struct scenario scenarios[] = {
	{ "mpsc", NULL, &wk_mpsc, NULL },
	{ "oneshot", NULL, &wk_oneshot, NULL },
	{ "broadcast", NULL, &wk_broadcast, NULL },
	{ "watch", NULL, &wk_watch, NULL },
	{ "semaphore", NULL, &wk_semaphore, NULL },
	{ "mutex", NULL, &wk_mutex, NULL },
	{ "rwlock", NULL, &wk_rwlock, NULL },
	{ "notify", NULL, &wk_notify, NULL },
	{ "barrier", NULL, &wk_barrier, NULL },
	{ "mpsc-mixed", "mpsc rounds of capacities 1, 2, 64, 1024, unbounded: every send, "
	  "reserve and recv form, cancels, early closes (-t producers)", NULL, sc_mpsc_mixed },
	{ "mpsc-repoll", "mpsc between pool tasks, the receiver re-polled while parked "
	  "(-t producers)", NULL, sc_mpsc_repoll },
	{ "oneshot-churn", "oneshot channels across threads and the pool: drops, closes, "
	  "cancels (-t drivers)", NULL, sc_oneshot_churn },
	{ "broadcast-lag", "broadcast with lag, cancels and receiver churn (-t receivers)",
	  NULL, sc_broadcast_lag },
	{ "watch-borrows", "watch: one writer, readers holding and handing borrows "
	  "(-t readers)", NULL, sc_watch_borrows },
	{ "sem-core", "the semaphore core under threads, two executors and the pool, "
	  "cancels and foreign wakes (-t threads)", NULL, sc_sem_core },
	{ "semaphore-barrier", "the public Semaphore from threads and pool tasks, and a "
	  "Barrier of 3 threads (-t threads)", NULL, sc_semaphore_barrier },
	{ "locks-mixed", "two Mutexes (FIFO, barging) and a RwLock under threads and pool "
	  "tasks, deadlines, task cancels (-t threads)", NULL, sc_locks_mixed },
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

static void usage(void)
{
	fprintf(stderr,
	        "usage: ak-stress [-q] [-e executor[,...]|all] [-p producers] [-c consumers]\n"
	        "                 [-k capacity] [-x cancel-percent] [-d seconds | -n count]\n"
	        "                 [-s seed] [-w watchdog-seconds] [-o counts-file]\n"
	        "                 scenario... | all | workloads | programs\n"
	        "       ak-stress -l\n"
	        "executors:");
	for (int i = 0; conform_drivers[i]; i++)
		fprintf(stderr, " %s", conform_drivers[i]->name);
	fprintf(stderr, "\nscenarios:");
	for (size_t i = 0; i < NSCEN; i++)
		fprintf(stderr, " %s", scenarios[i].name);
	fprintf(stderr, "\n");
}

static void list(void)
{
	for (size_t i = 0; i < NSCEN; i++) {
		const struct scenario *s = &scenarios[i];
		if (s->wk)
			printf("%-18s %s (-p %d, -c %d, -k %ld, -x %d)\n", s->name, s->wk->what,
			       s->wk->producers, s->wk->consumers, s->wk->capacity,
			       s->wk->cancel_pct);
		else
			printf("%-18s %s\n", s->name, s->what);
	}
}

/* One run: a scenario, and for a workload its executor. */
struct run {
	const struct scenario *s;
	const char *executor;
};

static int run_here(const struct run *r)
{
	stress_opts_mut()->executor = r->executor;
	return r->s->wk ? wk_run(r->s->wk) : r->s->program();
}

/* Runs r in a child; adds its counts (a child that died counts one failed). */
static void run_child(const struct run *r, long *passed, long *failed)
{
	int fds[2];
	if (pipe(fds) != 0) {
		perror("ak-stress: pipe");
		exit(2);
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("ak-stress: fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		stress_counts_fd(fds[1]);
		stress_opts_mut()->counts = NULL;
		setvbuf(stdout, NULL, _IOLBF, 0);
		_exit(run_here(r));
	}
	close(fds[1]);
	char buf[64] = "";
	ssize_t got = 0, n;
	while ((n = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0 ||
	       (n < 0 && errno == EINTR))
		got += n > 0 ? n : 0;
	buf[got > 0 ? got : 0] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	long p = 0, f = 0;
	const char *name = r->s->name;
	if (sscanf(buf, "%ld %ld", &p, &f) != 2) {
		f = 1;
		printf("ak-stress: %s%s%s: died (%s %d) without its counts\n", name,
		       r->executor ? " on " : "", r->executor ? r->executor : "",
		       WIFSIGNALED(status) ? "signal" : "exit status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	if (f || !stress_opts()->quiet)
		printf("ak-stress: %s%s%s: %ld passed, %ld failed\n", name,
		       r->executor ? " on " : "", r->executor ? r->executor : "", p, f);
	fflush(stdout);
	*passed += p;
	*failed += f;
}

static const struct scenario *find(const char *name)
{
	for (size_t i = 0; i < NSCEN; i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}

int main(int argc, char **argv)
{
	int first = stress_parse(argc, argv, usage);
	const struct stress_opts *o = stress_opts();
	static struct run runs[NSCEN * 16];
	size_t nruns = 0;

	if (o->list) {
		list();
		return 0;
	}
	if (first == argc) {
		usage();
		return 2;
	}
	/* -e: one executor, several (a comma-separated list), or all. */
	const char *execs[16];
	int nexecs = 0;
	if (o->executor && strcmp(o->executor, "all") == 0) {
		for (int d = 0; conform_drivers[d] && nexecs < 16; d++)
			execs[nexecs++] = conform_drivers[d]->name;
	} else if (o->executor) {
		static char list_[256];
		snprintf(list_, sizeof list_, "%s", o->executor);
		for (char *save = NULL, *e = strtok_r(list_, ",", &save); e && nexecs < 16;
		     e = strtok_r(NULL, ",", &save)) {
			if (!conform_driver(e)) {
				fprintf(stderr, "ak-stress: no executor %s\n", e);
				usage();
				return 2;
			}
			execs[nexecs++] = e;
		}
	} else {
		execs[nexecs++] = "pool";
	}
	for (int a = first; a < argc; a++) {
		int all = strcmp(argv[a], "all") == 0;
		int wl = all || strcmp(argv[a], "workloads") == 0;
		int pg = all || strcmp(argv[a], "programs") == 0;
		const struct scenario *one = wl || pg ? NULL : find(argv[a]);
		if (!wl && !pg && !one) {
			fprintf(stderr, "ak-stress: no scenario %s\n", argv[a]);
			usage();
			return 2;
		}
		for (size_t i = 0; i < NSCEN; i++) {
			const struct scenario *s = &scenarios[i];
			if (one ? s != one : !(s->wk ? wl : pg))
				continue;
			for (int d = 0; d < (s->wk ? nexecs : 1) && nruns < NSCEN * 16; d++)
				runs[nruns++] = (struct run){ s, s->wk ? execs[d] : NULL };
		}
	}
	if (nruns == 1)
		return run_here(&runs[0]);

	long passed = 0, failed = 0;
	for (size_t i = 0; i < nruns; i++)
		run_child(&runs[i], &passed, &failed);
	printf("%ld passed, %ld failed\n", passed, failed);
	if (o->counts) {
		FILE *f = fopen(o->counts, "w");
		if (f) {
			fprintf(f, "%ld %ld\n", passed, failed);
			fclose(f);
		}
	}
	return failed == 0 && passed > 0 ? 0 : 1;
}
