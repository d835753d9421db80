/*
 * runtime/pool_idle.h: the pool's idle and searching workers
 * (runtime/pool.c).
 *
 * One word holds the number of registered idle workers, the number of
 * searching workers (awake, with nothing of their own, looking at the other
 * queues) and a NOTIFIED token.  Work that other workers should see calls
 * ak__idle_notify(): one CAS that claims an idle worker (it wakes as a
 * searcher) when none is searching, and otherwise leaves the token.  A
 * worker going idle makes one CAS under the lock that either consumes the
 * token (and searches again) or registers it, pushing its parker on the
 * stack in the same critical section.  Both are read-modify-writes of the
 * same word, so one sees the other: no wake-up is lost (the "notify before
 * park" race).  A searcher that finds work stops searching with a CAS that,
 * when it was the last searcher and work may remain (the token, or more
 * behind what it took), claims an idle worker to go on searching: so a
 * parked worker is woken only when no worker is searching, and a burst
 * still fans out.  A claimed worker is counted as searching from the claim
 * on: the caller of ak__idle_go() sets its *searching when its park
 * returns.  At most half of the workers that are not parked search at
 * once (tokio's cap): with 16 workers awake and little work, the others
 * park instead of all reading every queue.  The cap binds only workers
 * that start a search on their own; a claimed worker, or one that consumed
 * the token, searches anyway (there is work to find).
 *
 * Work that only one worker may run (a task pinned to it) kicks that
 * worker: under the lock, if it is registered idle, the kick claims it
 * (unless every registration left is claimed already, and so will wake it)
 * and wakes it; if not, it marks it kicked, and its next ak__idle_go()
 * consumes the mark as it would a token and returns 0.  The lock orders
 * the kick with the registration, so a worker that checked its pinned
 * queue before another thread pushed on it does not park past the push.
 *
 * Synchronization contract:
 *
 *   call                          thread
 *   ak__idle_init, _destroy       one thread, no other call running
 *   ak__idle_notify, _local,      any
 *   ak__idle_kick, _count
 *   ak__idle_start_search,        the worker whose *searching it is
 *   _end_search, ak__idle_go
 *   ak__idle_leave                the worker whose parker it is
 */
#ifndef AK_RUNTIME_POOL_IDLE_H
#define AK_RUNTIME_POOL_IDLE_H

#include "../core/core.h"

struct ak__idle {
	ak__atomic(uint64_t) word;      /* idle * IDLE_ONE | searching | token */
	struct ak__lock lock;           /* guards stack, nidle */
	struct ak__parker **stack;
	int nidle;
	struct ak__parker **kicked;     /* guarded by lock: ak__idle_kick() */
	int nkicked;
	int nworkers;
};

int ak__idle_init(struct ak__idle *p, int nworkers);
void ak__idle_destroy(struct ak__idle *p);

/* New work that other workers should see: wakes an idle worker (as a
 * searcher) when none is searching, or leaves the token. */
void ak__idle_notify(struct ak__idle *p);
/* The same for work its pusher will take itself anyway: skips the CAS
 * when no idle worker would be woken. */
void ak__idle_notify_local(struct ak__idle *p);

/* Work that only the worker of `parker` may run: wakes that worker if it
 * is registered idle (it wakes as a searcher), or keeps it from parking at
 * its next ak__idle_go(). */
void ak__idle_kick(struct ak__idle *p, struct ak__parker *parker);

/* 1: the caller searches (counted); 0: half of the awake workers already
 * search, and the caller should go idle without stealing. */
int ak__idle_start_search(struct ak__idle *p, int *searching);
/* A searcher found work; more: work remains behind what it took. */
void ak__idle_end_search(struct ak__idle *p, int *searching, int more);
/* 1 when registered idle (the caller parks), 0 when a token or a kick was
 * consumed (the caller searches again, counted as searching). */
int ak__idle_go(struct ak__idle *p, struct ak__parker *parker, int *searching);

/* A worker registered idle that parked with a timeout and woke at it
 * takes itself off: 1 when it did (it is awake, not searching), 0 when it
 * was claimed meanwhile (an unpark is on its way; it wakes searching, as
 * from any claim). */
int ak__idle_leave(struct ak__idle *p, struct ak__parker *parker);

/* The registered idle workers now (a snapshot). */
int ak__idle_count(struct ak__idle *p);

#endif
