/*
 * sim/report.c: what a failure prints, and how to replay it.
 *
 * Every failure (a deadlock, an assertion, a crash, a leak, a livelock)
 * prints the scenario, the execution, every thread's position (the point
 * it is at: operation, address, file:line and function), the library's
 * wait queues that hold waiters, the store buffers, then the two ways to
 * replay it exactly: the execution's seed with its strategy's settings,
 * and its choice string.  Then the process exits with status 1: the other
 * threads are parked on the baton and never resume.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/waitq.h"
#include "internal.h"

/* ---- the wait queues that hold waiters (core/waitq.c tells us) ---------------- */

#define MAX_QUEUES 256
static const void *queues[MAX_QUEUES];
static int nqueues;

void ak__sim_waitq_note(const void *q, int nonempty)
{
	for (int i = 0; i < nqueues; i++) {
		if (queues[i] == q) {
			if (!nonempty)
				queues[i] = queues[--nqueues];
			return;
		}
	}
	if (nonempty && nqueues < MAX_QUEUES)
		queues[nqueues++] = q;
}

void sim_queues_reset(void)
{
	nqueues = 0;
}

static const char *waiter_state(uint32_t st)
{
	static const char *const names[] = { "idle", "queued", "granted", "detached" };
	return st < 4 ? names[st] : "?";
}

static void print_queues(FILE *f)
{
	if (nqueues == 0) {
		fprintf(f, "  wait queues: none holds a waiter\n");
		return;
	}
	for (int i = 0; i < nqueues; i++) {
		const struct ak__waitq *q = queues[i];
		fprintf(f, "  wait queue %p (%zu waiting):", (const void *)q, q->len);
		int n = 0;
		for (const struct ak__waiter *w = q->head; w && n < 16; w = w->next, n++) {
			uint32_t st;
			sb_copy(&st, &w->state, sizeof(st));
			fprintf(f, " [%p %s want %lu granted %lu]", (const void *)w, waiter_state(st),
			        (unsigned long)w->want, (unsigned long)w->granted);
		}
		fprintf(f, "%s\n", n == 16 ? " ..." : "");
	}
}

/* ---- positions ---------------------------------------------------------------------- */

/* In a crash's handler: no addr2line (popen allocates, which a signal
 * handler must not, and ThreadSanitizer hangs on). */
static volatile sig_atomic_t in_signal;

/*
 * Where a blocked thread's call came from: its stack at the block, past
 * the scheduler's own two frames, each frame of the program as file:line
 * (addr2line, from binutils, reads the program's debug information; the
 * raw addresses when it cannot be run).  Frames in shared libraries stop
 * it: what is left is libc's thread start.
 */
static void print_stack(FILE *f, const struct sim_thread *t)
{
	char cmd[1024], offs[512] = "";
	int len = 0;
	for (int i = 2; i < t->nbt && len < (int)sizeof(offs) - 24; i++) {
		Dl_info info;
		if (!dladdr(t->bt[i], &info) || !info.dli_fname || strstr(info.dli_fname, ".so"))
			break;
		/* a return address: the call is just before it */
		uintptr_t off = (uintptr_t)t->bt[i] - (uintptr_t)info.dli_fbase - 1;
		len += snprintf(offs + len, sizeof(offs) - (size_t)len, " %#lx", (unsigned long)off);
	}
	if (len == 0)
		return;
	snprintf(cmd, sizeof(cmd), "addr2line -f -i -p -s -e /proc/%d/exe%s 2>/dev/null",
	         (int)getpid(), offs);
	fflush(f);
	FILE *p = popen(cmd, "r");
	char line[512];
	int got = 0;
	while (p && fgets(line, sizeof(line), p)) {
		fprintf(f, "        %s", line);
		got = 1;
	}
	if (p)
		pclose(p);
	if (!got)
		fprintf(f, "        stack (addr2line -f -i -e PROGRAM):%s\n", offs);
}

static void print_thread(FILE *f, const struct sim_thread *t)
{
	fprintf(f, "  thread %d%s: %s", t->id, t->id == S.cur ? " (running)" : "",
	        sim_state_name(t));
	if (t->state == T_BLOCKED && t->why == B_JOIN)
		fprintf(f, " (thread %d)", ((const struct sim_thread *)t->on)->id);
	else if (t->state == T_BLOCKED && t->on)
		fprintf(f, " (%p)", (const void *)t->on);
	if (t->state == T_BLOCKED && t->why == B_FUTEX && t->deadline != INT64_MAX)
		fprintf(f, " until %lld ns", (long long)t->deadline);
	fputc('\n', f);
	if (t->state == T_EXITED)
		return;
	fprintf(f, "      at %s", sim_op_name(t->op));
	if (t->addr)
		fprintf(f, " %p", (const void *)t->addr);
	fprintf(f, ", %s:%d %s()\n", t->site.file ? t->site.file : "?", t->site.line,
	        t->site.func ? t->site.func : "?");
	if (t->state == T_BLOCKED && !in_signal)
		print_stack(f, t);
	for (int i = 0; i < t->nsb; i++)
		fprintf(f, "      store buffer %d: %p (others still see %#llx)%s\n", i,
		        (const void *)t->sb[i].addr, (unsigned long long)t->sb[i].old,
		        t->sb[i].release ? " release" : "");
}

static const char *strategy_name(void)
{
	static const char *const names[] = { "random", "pct", "dfs", "replay" };
	return S.warm ? "warm-up, the schedule without preemptions" : names[S.strategy];
}

/* The replay lines, for the execution under way. */
static void print_replay(FILE *f)
{
	const char *prog = S.prog ? S.prog : "PROGRAM";
	const char *name = S.sc ? S.sc->name : "SCENARIO";
	trace_finish();
	if (S.strategy == S_PCT)
		fprintf(f, "  seed:   AK_SIM_SCHED=pct AK_SIM_PCT_DEPTH=%d AK_SIM_PCT_STEPS=%llu "
		        "AK_SIM_WEAK=%d AK_SIM_SEED=%#llx %s %s\n", S.pct_depth,
		        (unsigned long long)S.pct_steps_used, S.weak, (unsigned long long)S.seed,
		        prog, name);
	else if (S.strategy == S_RANDOM)
		fprintf(f, "  seed:   AK_SIM_SCHED=random AK_SIM_WEAK=%d AK_SIM_SEED=%#llx %s %s\n",
		        S.weak, (unsigned long long)S.seed, prog, name);
	fprintf(f, "  choices (%llu points): AK_SIM_WEAK=%d AK_SIM_TRACE=%s %s %s\n",
	        (unsigned long long)S.step, S.weak, S.trace ? S.trace : "", prog, name);
}

static void print_failure(FILE *f, const char *what)
{
	fprintf(f, "sim: FAIL %s (%s, schedule %llu, point %llu): %s\n",
	        S.sc ? S.sc->name : "?", strategy_name(), (unsigned long long)S.exec + 1,
	        (unsigned long long)S.step, what);
	for (int i = 0; i < S.nthreads; i++)
		print_thread(f, &S.t[i]);
	print_queues(f);
	print_replay(f);
	fflush(f);
}

void sim_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_failure(stdout, msg);
	fflush(stderr);
	_exit(1);
}

void sim_report_deadlock(void)
{
	int exited = 0;
	for (int i = 0; i < S.nthreads; i++)
		exited += S.t[i].state == T_EXITED;
	sim_fail(exited ? "deadlock: every thread left is blocked (%d exited)"
	                : "deadlock: every thread is blocked", exited);
}

/* ---- the user's checks ------------------------------------------------------------------- */

void ak_sim_fail_at(const char *file, int line, const char *fmt, ...)
{
	char msg[400], all[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(all, sizeof(all), "%s:%d: %s", file, line, msg);
	sim_fail("%s", all);
}

/* ---- crashes: an abort (assert) or a fault prints the replay too -------------------------- */

static void on_signal(int sig)
{
	char what[64];
	in_signal = 1;
	snprintf(what, sizeof(what), "signal %d (%s)", sig, strsignal(sig));
	print_failure(stdout, what);
	signal(sig, SIG_DFL);
	raise(sig);
}

void sim_signals_install(void)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
}
