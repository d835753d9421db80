/*
 * awaitkit: spawn_blocking, plain blocking functions run on a pool of
 * threads the library owns.  See ak_blocking(3).
 *
 * A job is a task of <awaitkit/task.h>: join it with ak_task_join_init()
 * or ak_task_join_blocking(), cancel it with ak_task_cancel(), give the
 * handle back with ak_task_release().  The function runs on a pool thread
 * outside any poll, so it may block, and may call every blocking form of
 * the library.  A job that has started cannot be interrupted.
 *
 * Synchronization contract:
 *
 *   call                      thread            concurrently with
 *   ak_blocking_spawn         any, pool threads anything
 *                             and polls included
 *   ak_blocking_config        any               anything; threads already
 *                                               running adopt it as they
 *                                               finish a job or wake idle
 *   ak_blocking_thread_count  any               anything (a snapshot)
 *
 * Ordering: ak_blocking_spawn happens-before the function starts; the
 * function's return happens-before a join that sees the task finished.
 */
#ifndef AK_BLOCKING_H
#define AK_BLOCKING_H

#include <stdint.h>
#include <awaitkit/task.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default and the largest maximum number of pool threads. */
#define AK_BLOCKING_MAX_THREADS 512
#define AK_BLOCKING_THREADS_LIMIT 4096
/* How long a pool thread waits for a job before it exits: 10 s. */
#define AK_BLOCKING_IDLE_NS 10000000000LL

/* Returns 0 or a negative error code, which becomes the task's result; a
 * positive value is reported as AK_EINVAL. */
typedef int (*ak_blocking_fn)(void *arg);

int ak_blocking_spawn(ak_blocking_fn fn, void *arg, struct ak_task **task);
int ak_blocking_config(unsigned max_threads, int64_t idle_ns);
unsigned ak_blocking_thread_count(void);

#ifdef __cplusplus
}
#endif
#endif
