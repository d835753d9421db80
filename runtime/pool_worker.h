/*
 * runtime/pool_worker.h: the pool's records (runtime/pool.c) and its
 * idle policy (runtime/pool_spin.c): how a worker with nothing of its own
 * spins, watches and parks.
 *
 * Synchronization contract:
 *
 *   call                          thread
 *   ak__pool_spin, ak__pool_rest  the worker w (this thread's worker)
 *   ak__pool_pushed_out_notifies  the worker w, just after it queued a task
 *                                 a LIFO wake pushed out
 *
 * The watcher.  A task pushed out of a LIFO slot onto a local queue must
 * run even if the poll that pushed it never returns (ak_pool(3)).  Waking
 * a parked worker for every such push spreads tasks that one worker runs
 * best (bench/README.md: mpsc_bounded_4p); so instead one worker at a time
 * may park with a timeout, AK__POOL_WATCH_NS, while other workers are
 * awake: the watcher.  While there is one (the pool's `watching` flag),
 * a push-out wakes nobody.  At each timeout the watcher takes what waited
 * a whole period (a local queue whose head has not passed the tail it had
 * at the last look; a LIFO slot whose worker began no poll since), or
 * looks again; once it finds every other worker idle and nothing queued,
 * it stops watching and parks untimed, and push-outs notify again.  The flag and the queues are a Dekker pair: the pusher
 * queues, runs the light fence and loads the flag; the watcher clears the
 * flag, runs the heavy fence (core/shim.h) and looks at the queues before
 * it parks untimed: one of them sees the other.
 */
#ifndef AK_RUNTIME_POOL_WORKER_H
#define AK_RUNTIME_POOL_WORKER_H

#include <pthread.h>

#include "pool_idle.h"
#include "pool_inject.h"
#include "pool_queue.h"
#include "task.h"

#define AK__POOL_CACHELINE AK__CACHELINE

/* The watcher's period (ns): a task queued behind a poll that never
 * returns waits at most about two of them.  A futex wake costs about
 * 10 us here; a period ten times that keeps the watcher's own cost (one
 * timed wake per period while another worker is awake) to a few percent
 * of a core that has nothing else to do. */
#define AK__POOL_WATCH_NS 100000

/* A searching or spinning worker steals from a local queue of this many
 * tasks or more.  A lone task is left to its worker, which is polling and
 * runs it in a moment, on the core where its data is; a poll that holds
 * it long is the watcher's to relieve.  Taken at once, a task that yields
 * after a batch (a producer's budget spent while the consumer it woke
 * drains) ran on the other core for good, apart from its data
 * (bench/README.md: spsc_unbounded's two modes). */
#define AK__POOL_STEAL_AT_ONCE 2

struct pool_task {
	struct ak_task base;
	struct cds_wfcq_node qnode;
	struct ak__pinq_link pin;       /* in its home's pinned queue */
	struct worker *home;            /* pinned there; NULL: not pinned */
	struct ak_pool *pool;
};

struct worker {
	/* Shared with stealers. */
	struct ak__runq runq;
	struct ak__pinq pinq;           /* pinned here; any thread pushes */
	ak__atomic(struct ak_task *) lifo;
	ak__atomic(uint32_t) ticks;     /* polls begun; the owner writes */
	/* The watcher's, whichever worker holds the flag. */
	uint32_t watch_mark;            /* runq's tail at its last look */
	uint32_t watch_ticks;           /* ticks at its last look */
	char pad0_[AK__POOL_CACHELINE];
	/* The worker's own. */
	struct ak__parker parker;
	struct ak_pool *pool;
	struct ak_pool *lifo_pool;      /* pool, or NULL if lifo_max is 0 */
	struct pool_task *current;      /* the task it runs */
	uint32_t tick;
	uint32_t rng;
	int lifo_streak;
	int searching;                  /* counted in the idle word */
	pthread_t thread;
	int index;
	char pad1_[AK__POOL_CACHELINE];
};

struct ak_pool {
	struct ak__injq inject;         /* and its gate */
	ak__atomic(uint32_t) stopping;  /* workers exit */
	ak__atomic(uint32_t) watching;  /* a worker watches (see above) */
	ak__atomic(uint32_t) refs;      /* the pool's own, one per task record */
	ak__atomic(uint32_t) live;      /* unfinished tasks; wait_idle's futex */
	ak__atomic(uint32_t) live_waiters;
	struct ak__idle idle;           /* idle and searching workers */
	struct ak__lock lock;           /* guards unfinished, shutdown */
	struct ak__task_list unfinished;
	int shutdown;
	int nworkers;
	int idle_spins;                 /* ak_pool_options */
	int lifo_max;
	struct worker *workers;
};

/* Takes w's LIFO slot: the owner's way and a stealer's. */
static inline struct ak_task *ak__pool_take_lifo(struct worker *w)
{
	/* Relaxed: a peek; the exchange decides. */
	if (!ak__load(&w->lifo, AK__RELAXED))
		return NULL;
	/* acquire: pairs with the release exchange in schedule() (pool.c). */
	return ak__xchg(&w->lifo, NULL, AK__ACQUIRE);
}

/* Spins a bounded time watching the queues: 1 as soon as there is work
 * worth taking (or the pool stops), 0 after the spin; a LIFO slot held
 * hostage by a long poll, or (no watcher possible) a queued task, is taken
 * into *t. */
int ak__pool_spin(struct worker *w, struct ak_task **t);

/* w found nothing: parks, as the watcher or untimed, until woken.  A task
 * the watcher took, or NULL (w looks again; w->searching says whether it
 * was woken as a searcher). */
struct ak_task *ak__pool_rest(struct worker *w);

/* Whether the task just pushed out onto w's local queue wakes a parked
 * worker. */
int ak__pool_pushed_out_notifies(struct worker *w);

#endif
