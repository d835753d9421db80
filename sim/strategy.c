/*
 * sim/strategy.c: who runs next, and the choice string.
 *
 *   random   at every point, any runnable thread, uniformly; the store
 *            buffers drain at random (1 point in 8 drains one entry: the
 *            litmus self-test reaches store buffering's weak outcome in 6%
 *            of its schedules, a relaxed message pass's in 1%)
 *   pct      Probabilistic Concurrency Testing (Burckhardt et al., 2010):
 *            every thread gets a random priority, the highest runnable one
 *            runs; at d-1 random steps (of the k an execution is expected
 *            to have) the running thread drops below all others.  A step
 *            is a point not deep in a spin (fewer than PCT_QUIET quiet
 *            points in a row).  A bug of
 *            depth d is found with probability at least 1/(n k^(d-1)).
 *   dfs      every schedule with at most AK_SIM_BOUND (2) preemptions,
 *            depth first (CHESS's iterative context bounding): a switch
 *            away from a thread that could go on is a preemption; one from
 *            a thread that blocked, exited or spun is free.  Re-executes
 *            the program for each schedule, forcing the choices of the
 *            prefix it backtracks to.  Sequentially consistent.
 *   replay   AK_SIM_TRACE: the choices of a choice string, exactly.
 *
 * A thread that ran AK_SIM_FAIR (4096) points in a row while another
 * could run, or called ak__yield, is switched away from by every
 * strategy, and PCT drops its priority below all others: a spin loop (one
 * that writes too, such as a poll that wakes itself) always lets the
 * thread it waits for run.  ak__cpu_relax is a plain point: a bounded spin
 * may also run to its end first.
 *
 * The choice string records every decision: a lowercase letter per point
 * (the thread that ran: a is thread 0), run-length encoded ("a12b3");
 * 'A'+t then a digit: entry N of thread t's store buffer drained; '!'+
 * letter: a spurious futex wake of that thread; '@'+letter: its timed
 * wait expired early (virtual time jumped to its deadline).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* splitmix64: every seed gives a good stream. */
uint64_t sim_rand(void)
{
	uint64_t z = (S.rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int popcount(uint32_t m)
{
	return __builtin_popcount(m);
}

/* The n-th (from 0) set bit of m. */
static int nth_bit(uint32_t m, int n)
{
	for (int i = 0; i < 32; i++)
		if ((m >> i) & 1u && n-- == 0)
			return i;
	return -1;
}

/* ---- the choice string ----------------------------------------------------------- */

static void trace_putc(char c)
{
	if (S.trace_len + 2 > S.trace_cap) {
		S.trace_cap = S.trace_cap ? S.trace_cap * 2 : 4096;
		S.trace = realloc(S.trace, S.trace_cap);
		if (!S.trace) {
			fputs("sim: out of memory for the choice string\n", stderr);
			abort();
		}
	}
	S.trace[S.trace_len++] = c;
	S.trace[S.trace_len] = '\0';
}

static void run_flush(void)
{
	if (!S.run_count)
		return;
	trace_putc((char)('a' + S.run_letter));
	if (S.run_count > 1) {
		char num[24];
		snprintf(num, sizeof(num), "%d", S.run_count);
		for (char *c = num; *c; c++)
			trace_putc(*c);
	}
	S.run_count = 0;
}

/* token: 'a'+t (ran), 'A'+t (drained entry `count` of t), '!' (woke t). */
void trace_put(int token, int count)
{
	if (token >= 'a' && token <= 'z') {
		if (S.run_count && S.run_letter == token - 'a') {
			S.run_count++;
			return;
		}
		run_flush();
		S.run_letter = token - 'a';
		S.run_count = 1;
		return;
	}
	run_flush();
	trace_putc((char)token);
	trace_putc(token == '!' || token == '@' ? (char)('a' + count) : (char)('0' + count));
}

void trace_finish(void)
{
	run_flush();
}

void trace_reset(void)
{
	S.trace_len = 0;
	S.run_count = 0;
	if (S.trace)
		S.trace[0] = '\0';
	S.replay_pos = 0;
	S.replay_count = 0;
}

/* Replay: the next token's kind ('a' run, 'A' drain, '!' wake, 0 end). */
static int replay_peek(void)
{
	if (S.replay_count > 0)
		return 'a';
	char c = S.replay[S.replay_pos];
	if (c >= 'a' && c <= 'z')
		return 'a';
	if (c >= 'A' && c <= 'Z')
		return 'A';
	return c == '!' || c == '@' ? c : 0;
}

static int replay_run(void)
{
	if (S.replay_count == 0) {
		char c = S.replay[S.replay_pos];
		if (c < 'a' || c > 'z')
			sim_fail("the choice string ended or does not fit here (at %zu)", S.replay_pos);
		S.replay_letter = c - 'a';
		S.replay_pos++;
		char *end;
		long n = strtol(S.replay + S.replay_pos, &end, 10);
		S.replay_count = end == S.replay + S.replay_pos ? 1 : (int)n;
		S.replay_pos = (size_t)(end - S.replay);
	}
	S.replay_count--;
	return S.replay_letter;
}

/* ---- per execution, per thread --------------------------------------------------- */

void strategy_exec_begin(void)
{
	S.rng = S.seed;
	S.spurious_left = S.spurious ? 3 : 0;
	S.timeouts_left = S.spurious ? 3 : 0;
	S.pct_low = 0;
	S.pct_steps_used = S.pct_steps;
	if (S.strategy == S_PCT) {
		for (int i = 0; i < S.pct_depth - 1 && i < 8; i++)
			S.pct_change[i] = 1 + sim_rand() % (S.pct_steps ? S.pct_steps : 1);
	}
	if (S.strategy == S_DFS)
		S.dfs_len = 0;
}

void strategy_thread_new(struct sim_thread *t)
{
	/* Above every change point's priority (1..d-1). */
	t->prio = (int64_t)S.pct_depth + 1 + (int64_t)(sim_rand() >> 16);
}

void strategy_spun(struct sim_thread *t)
{
	/* Below everything: the last to spin waits longest. */
	t->prio = --S.pct_low;
}

/* ---- the picks --------------------------------------------------------------------- */

static int pick_pct(uint32_t mask, int cur)
{
	for (int i = 0; i < S.pct_depth - 1 && i < 8; i++) {
		if (S.pct_change[i] == S.pct_step && (mask >> cur) & 1u) {
			/* Priorities 1..d-1 are below every thread's first one;
			 * later change points rank lower (the paper's d-i). */
			S.t[cur].prio = (int64_t)(S.pct_depth - 1 - i);
			S.pct_change[i] = 0;
		}
	}
	int best = -1;
	for (int i = 0; i < S.nthreads; i++)
		if ((mask >> i) & 1u && (best < 0 || S.t[i].prio > S.t[best].prio))
			best = i;
	return best;
}

/* The thread after cur, round robin, in mask. */
static int next_after(uint32_t mask, int cur)
{
	for (int k = 1; k <= SIM_MAX_THREADS; k++) {
		int i = (cur + k) % SIM_MAX_THREADS;
		if ((mask >> i) & 1u)
			return i;
	}
	return -1;
}

static int pick_dfs(uint32_t mask, int cur, int free_switch)
{
	if (S.dfs_len == S.dfs_cap) {
		S.dfs_cap = S.dfs_cap ? S.dfs_cap * 2 : 1024;
		S.dfs = realloc(S.dfs, S.dfs_cap * sizeof(*S.dfs));
		if (!S.dfs) {
			fputs("sim: out of memory for the search\n", stderr);
			abort();
		}
	}
	size_t i = S.dfs_len++;
	struct dfs_step *st = &S.dfs[i];
	if (i < S.dfs_prefix) {
		if (!((mask >> st->chosen) & 1u))
			sim_fail("the program did not repeat itself: thread %d cannot run at "
			         "decision %zu (its behaviour depends on more than the schedule)",
			         st->chosen, i);
		return st->chosen;
	}
	int next = !free_switch && (mask >> cur) & 1u ? cur : next_after(mask, cur);
	st->runnable = mask;
	st->tried = 1u << next;
	st->chosen = (uint8_t)next;
	st->prev = (uint8_t)cur;
	st->prev_free = (uint8_t)(free_switch || !((mask >> cur) & 1u));
	if (i == 0) {
		st->preempts = 0;
	} else {
		const struct dfs_step *pr = &S.dfs[i - 1];
		st->preempts = (uint8_t)(pr->preempts + (!pr->prev_free && pr->chosen != pr->prev));
	}
	return next;
}

int strategy_pick(uint32_t mask, int cur, int free_switch)
{
	int next;
	if (S.replay) {
		next = replay_run();
		if (next >= S.nthreads || !((mask >> next) & 1u))
			sim_fail("the choice string does not fit: thread %d cannot run here", next);
	} else if (S.strategy == S_PCT) {
		next = pick_pct(mask, cur);
	} else if (S.strategy == S_DFS) {
		next = pick_dfs(mask, cur, free_switch);
	} else {
		next = nth_bit(mask, (int)(sim_rand() % (uint64_t)popcount(mask)));
	}
	trace_put('a' + next, 0);
	return next;
}

int strategy_drain(int *thread, int *entry)
{
	if (!S.weak)
		return 0;
	if (S.replay) {
		if (replay_peek() != 'A')
			return 0;
		*thread = S.replay[S.replay_pos] - 'A';
		*entry = S.replay[S.replay_pos + 1] - '0';
		S.replay_pos += 2;
		if (*thread >= S.nthreads || *entry < 0 || *entry >= S.t[*thread].nsb)
			sim_fail("the choice string does not fit: no store %d of thread %d to drain",
			         *entry, *thread);
		trace_put('A' + *thread, *entry);
		return 1;
	}
	int n = 0;
	for (int i = 0; i < S.nthreads; i++)
		for (int j = 0; j < S.t[i].nsb; j++)
			n += sb_eligible(&S.t[i], j);
	if (n == 0 || sim_rand() % 8 != 0)
		return 0;
	int k = (int)(sim_rand() % (uint64_t)n);
	for (int i = 0; i < S.nthreads; i++) {
		for (int j = 0; j < S.t[i].nsb; j++) {
			if (sb_eligible(&S.t[i], j) && k-- == 0) {
				*thread = i;
				*entry = j;
				trace_put('A' + i, j);
				return 1;
			}
		}
	}
	return 0;
}

/* A thread of waiters woken (token '!') or timed out early ('@'), at
 * most *left times an execution, one point in `one_in`. */
static int pick_waiter(uint32_t waiters, int *thread, int token, int *left, unsigned one_in)
{
	if (S.replay) {
		if (replay_peek() != token)
			return 0;
		*thread = S.replay[S.replay_pos + 1] - 'a';
		S.replay_pos += 2;
		if (!((waiters >> *thread) & 1u))
			sim_fail("the choice string does not fit: thread %d is not in a futex wait",
			         *thread);
		trace_put(token, *thread);
		return 1;
	}
	if (!waiters || *left == 0 || sim_rand() % one_in != 0)
		return 0;
	(*left)--;
	*thread = nth_bit(waiters, (int)(sim_rand() % (uint64_t)popcount(waiters)));
	trace_put(token, *thread);
	return 1;
}

int strategy_spurious(uint32_t waiters, int *thread)
{
	return pick_waiter(waiters, thread, '!', &S.spurious_left, 64);
}

/* A timed wait expires while other threads could still run (the thread
 * it waits for is slow): virtual time jumps to its deadline. */
int strategy_timeout(uint32_t timed, int *thread)
{
	return pick_waiter(timed, thread, '@', &S.timeouts_left, 32);
}

/* The DFS's next schedule: the deepest decision with an alternative left
 * within the preemption bound. */
static int dfs_next(void)
{
	for (size_t i = S.dfs_len; i-- > 0;) {
		struct dfs_step *st = &S.dfs[i];
		uint32_t left = st->runnable & ~st->tried;
		for (int t = 0; left; t++, left >>= 1) {
			if (!(left & 1u))
				continue;
			int cost = !st->prev_free && t != st->prev;
			if (st->preempts + cost <= S.dfs_bound) {
				st->tried |= 1u << t;
				st->chosen = (uint8_t)t;
				S.dfs_prefix = i + 1;
				return 1;
			}
		}
	}
	S.dfs_exhausted = 1;
	return 0;
}

int strategy_exec_end(void)
{
	if (S.pct_step > S.pct_steps)
		S.pct_steps = S.pct_step;
	if (S.strategy == S_DFS && !S.replay)
		return dfs_next();
	return 1;
}
