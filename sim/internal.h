/*
 * sim/internal.h: the deterministic scheduler's own records (awaitkit-sim(7)).
 *
 * The program's threads are real threads, but only one runs at a time: the
 * one holding the baton.  Every shim operation (core/shim_sim.h) is a
 * point where the running thread asks the scheduler who goes on; if it is
 * another thread, it hands the baton over (a futex word per thread) and
 * sleeps until it is handed back.  So everything here is touched by one
 * thread at a time, the baton holder, and needs no lock: the handoff's
 * futex wake and wait order it.  The driver (the program's main thread,
 * never a simulated one) only waits for an execution to end.
 *
 *   sched.c      threads, the baton, points, blocking (locks, futexes,
 *                joins, RCU grace periods), virtual time
 *   strategy.c   who runs next: uniform random, PCT, bounded-preemption
 *                depth-first search, replay of a choice string
 *   memory.c     the store buffers (weak memory)
 *   report.c     failures: positions, waiter queues, seed and choices
 *   driver.c     ak_sim_main: options, the executions, the leak check
 *   rcu.c        the RCU and wfcqueue stand-ins (sim/shadow/)
 */
#ifndef AK_SIM_INTERNAL_H
#define AK_SIM_INTERNAL_H

#define AK__SIM_RAW 1
#include <pthread.h>
#include <stdint.h>

#include "../core/shim.h"
#include "ak_sim.h"

#define SIM_MAX_THREADS 16
#define SB_CAP 8                /* store buffer entries per thread */
#define SIM_BT 12               /* frames of a blocked thread's stack */

enum { T_FREE, T_RUNNABLE, T_BLOCKED, T_EXITED };
enum { B_NONE, B_LOCK, B_FUTEX, B_JOIN, B_RCU };

struct sb_entry {
	volatile void *addr;
	size_t size;
	uint64_t old;           /* what the other threads still see */
	int release;            /* drains only after every older entry */
};

struct sim_thread {
	int id;
	int state;                      /* T_* */
	int why;                        /* B_* while T_BLOCKED */
	const volatile void *on;        /* lock, futex word, thread, NULL */
	int64_t deadline;               /* B_FUTEX: INT64_MAX for none */
	uint64_t since;                 /* B_FUTEX: order of arrival */
	int woken;                      /* B_FUTEX: 1 woken, 0 timed out */
	uint32_t turn;                  /* futex word: 1 holds the baton */
	pthread_t real;
	void *(*fn)(void *);
	void *arg, *ret;
	int detached, joined;
	/* Where it stands: the point it is at (or last passed). */
	int op;
	const volatile void *addr;
	struct ak__sim_site site;
	unsigned quiet;                 /* points in a row that wrote nothing */
	unsigned run;                   /* points in a row since it got the baton */
	int64_t prio;                   /* PCT */
	int rcu_nest;
	uint64_t rcu_gen;
	uint64_t rcu_snap[SIM_MAX_THREADS + 1];   /* B_RCU: gens to pass; 0: none */
	int nsb;
	struct sb_entry sb[SB_CAP];
	int nbt;                        /* the call stack where it blocked */
	void *bt[SIM_BT];
};

enum { S_RANDOM, S_PCT, S_DFS, S_REPLAY };

/* One decision of the DFS: what could run, what did. */
struct dfs_step {
	uint32_t runnable;              /* mask of threads */
	uint32_t tried;                 /* mask, the chosen one included */
	uint8_t chosen, prev;
	uint8_t prev_free;              /* prev could not go on, or spun: no preemption */
	uint8_t preempts;               /* preemptions before this step */
};

struct sim {
	struct sim_thread t[SIM_MAX_THREADS];
	int nthreads;                   /* slots used this execution */
	int cur;                        /* the baton holder */
	int live;                       /* threads not exited */
	uint64_t step, max_steps;
	int64_t now;                    /* virtual ns */
	uint64_t arrivals;
	/* the execution */
	const struct ak_sim_scenario *sc;
	const char *prog;               /* argv[0], for the replay lines */
	uint64_t exec;                  /* executions run so far */
	int warm;                       /* the warm-up execution runs */
	uint64_t points;                /* points of every execution so far */
	uint32_t done;                  /* futex word: the driver waits on it */
	int spurious_left;
	int timeouts_left;
	/* strategy */
	int strategy;                   /* S_* */
	uint64_t seed, rng;
	int pct_depth;
	uint64_t pct_step;              /* PCT's steps: points not deep in a spin */
	uint64_t pct_steps;             /* the estimate of an execution's length */
	uint64_t pct_steps_used;        /* ... this execution's change points used */
	uint64_t pct_change[8];
	int64_t pct_low;                /* the last priority given below every other */
	unsigned fair_k;                /* points in a row before a fair switch */
	int weak;                       /* store buffers on */
	int spurious;                   /* spurious futex wakes on */
	int verbose;
	/* choices of this execution */
	char *trace;                    /* encoded, for the report */
	size_t trace_len, trace_cap;
	int run_letter, run_count;      /* the run not yet written out */
	const char *replay;             /* AK_SIM_TRACE: forced choices */
	size_t replay_pos;
	int replay_count;
	int replay_letter;
	/* DFS */
	struct dfs_step *dfs;
	size_t dfs_len, dfs_cap, dfs_prefix;
	int dfs_bound;
	int dfs_exhausted;
};

extern struct sim S;
extern _Thread_local struct sim_thread *ak__sim_me;

/* sched.c */
void sim_exec_begin(void);
int sim_exec_start(void *(*fn)(void *), void *arg);
void sim_exec_wait(void);
const char *sim_op_name(int op);
const char *sim_state_name(const struct sim_thread *t);
int sim_runnable(const struct sim_thread *t);

/* strategy.c */
uint64_t sim_rand(void);
void strategy_exec_begin(void);
void strategy_thread_new(struct sim_thread *t);
/* The thread to run next among runnable (a mask; cur's own bit if it can
 * go on); free_switch: cur cannot go on, or spun, so no preemption. */
int strategy_pick(uint32_t runnable, int cur, int free_switch);
/* A drain to make now: 1 with *thread and *entry set. */
int strategy_drain(int *thread, int *entry);
int strategy_spurious(uint32_t futex_waiters, int *thread);
int strategy_timeout(uint32_t timed_waiters, int *thread);
void strategy_spun(struct sim_thread *t);
/* After an execution: 0 when the DFS has no schedule left. */
int strategy_exec_end(void);
void trace_put(int token, int count);
void trace_finish(void);
void trace_reset(void);

/* memory.c */
void sb_load_view(const volatile void *p, void *out, size_t size);
void sb_before_store(volatile void *p, size_t size, int mo);
void sb_before_rmw(volatile void *p);
void sb_drain_all(struct sim_thread *t);
void sb_drain_entry(struct sim_thread *t, int i);
int sb_eligible(const struct sim_thread *t, int i);
void sb_forget(volatile void *p, size_t size);
void sb_copy(void *dst, const volatile void *src, size_t size);
void sb_write(volatile void *dst, const void *src, size_t size);

/* report.c */
__attribute__((noreturn, format(printf, 1, 2))) void sim_fail(const char *fmt, ...);
void sim_report_deadlock(void);
void sim_signals_install(void);
void sim_queues_reset(void);

/* rcu.c */
int rcu_grace_done(const struct sim_thread *t);

#endif
