/*
 * adapters/uv/loopq.h: what an adapter to a host event loop needs beside
 * the loop's own wake-up: a run queue of tasks with its own lock, the
 * shutdown gate, and the records that let the loop thread cancel its
 * unfinished tasks.  Built on the public task API (ak_task(3)) only, so an
 * adapter links against libawaitkit.so's exported symbols and nothing else.
 * The libuv and libevent adapters share it; the loop-specific part is the
 * three functions of struct ak__lq_ops.
 *
 * Synchronization contract:
 *
 *   call                          thread
 *   ak__lq_init, spawn, drain,    the loop thread (the one that made the
 *   close, current                adapter), one at a time
 *   schedule (the task layer's)   any thread, any time: it only pushes,
 *                                 under the queue lock, and signals the
 *                                 loop; after close it consumes the entry
 *   ops->signal                   any thread, under the queue lock
 *   ops->keep                     the loop thread
 *   ops->release                  whoever drops the last reference: the
 *                                 loop thread, or a late waker's thread
 *   ak_task_cancel on a task      any thread: the tasks are bound to the
 *                                 loop thread (ak_task_bind), so the
 *                                 cancel is carried out there, by the
 *                                 drain that runs the entry it queues
 *
 * Why a lock and not the loop's wake-up for ordering: the queue must be
 * correct whatever the wake-up promises (Debian's libuv 1.44 gives
 * uv_async_send no memory-ordering guarantee), and the gate must be atomic
 * with the close: a waker that finds the gate open signals the loop before
 * the close can free the loop's wake-up handle.
 *
 * A task finishes on the loop thread (a run that completes it, or a cancel
 * made or carried out there).  A task cancelled while a wake (or a cancel
 * request) from another thread was between setting its entry and pushing
 * it will still be pushed once: such a task waits as a "zombie" until the
 * loop has seen that push, or has taken the entry itself (see lq_probe in
 * loopq.c).
 */
#ifndef AK_ADAPTERS_LOOPQ_H
#define AK_ADAPTERS_LOOPQ_H

#include <pthread.h>
#include <stddef.h>

#include <awaitkit/future.h>
#include <awaitkit/task.h>
#include <awaitkit/waker.h>

#include "../../core/shim.h"

struct ak__lq;

struct ak__lq_ops {
	/* Make the loop call ak__lq_drain() soon; under q->lock, any thread. */
	void (*signal)(struct ak__lq *q);
	/* Keep the loop running (on) or let it end (off) when nothing else
	 * is pending: there are unfinished tasks, or there are none. */
	void (*keep)(struct ak__lq *q, int on);
	/* The last reference went: free the adapter that embeds q. */
	void (*release)(struct ak__lq *q);
};

struct ak__lq_task;

struct ak__lq {
	pthread_mutex_t lock;          /* the run queue and the gate */
	struct ak__lq_task *head, *tail;   /* under lock */
	int closed;                    /* under lock: the gate */
	ak__atomic(uint32_t) refs;     /* the adapter's, and one per orphan */
	const struct ak__lq_ops *ops;
	pthread_t thread;              /* the loop thread */
	/* The loop thread's alone: */
	struct ak__lq_task *live;      /* unfinished tasks */
	struct ak__lq_task *zombies;   /* finished; a push may still come */
	size_t nlive;
	int draining;
};

/* 0, or a negative errno from pthread_mutex_init. */
int ak__lq_init(struct ak__lq *q, const struct ak__lq_ops *ops);
/* True on the thread that made q. */
int ak__lq_on_loop(const struct ak__lq *q);
/* The queue whose tasks this thread is running now, or NULL. */
struct ak__lq *ak__lq_current(void);
int ak__lq_spawn(struct ak__lq *q, struct ak_future *body,
                 struct ak_task **handle);
/* Runs up to budget queued tasks; signals again if more are left. */
void ak__lq_drain(struct ak__lq *q, int budget);
/* Cancels every unfinished task and closes the gate.  The caller then
 * gives up the loop's wake-up handle and drops the adapter's reference
 * with ak__lq_put().  AK_EBUSY from inside one of q's polls. */
int ak__lq_close(struct ak__lq *q);
void ak__lq_put(struct ak__lq *q);
/* Undoes ak__lq_init when the adapter could not be made. */
void ak__lq_fini(struct ak__lq *q);

/* A later poll of a parked wait: keeps in *kept the waker of the task
 * that polls now (a clone, the old one dropped), unless *kept will wake
 * it already.  0, or AK_ENOMEM with *kept unchanged. */
int ak__lq_rekeep(struct ak_waker *kept, const struct ak_waker *now);

/* Adapter records the loop thread allocates: counted, for the tests. */
void *ak__lq_alloc(size_t size);
void ak__lq_free(void *p);
long ak__lq_allocated(void);

#endif
