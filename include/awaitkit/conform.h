/*
 * awaitkit-conform: the executor conformance kit.  See ak_conform(3) and
 * ak-conform(1).  A small library of its own (libawaitkit-conform.a) that
 * qualifies an executor against the waker ABI contract (ak_waker(3),
 * ak_task(3)): the executor's author describes it with four functions and
 * ak_conform_run() spawns probe tasks on it, runs it, and reports every
 * breach of the contract it saw, by name.
 *
 *   call                     thread
 *   ak_conform_run           any thread outside a poll; the executor's
 *                            functions are called on it, one at a time
 *   ak_conform_check_count,  any
 *   ak_conform_check_name
 */
#ifndef AK_CONFORM_H
#define AK_CONFORM_H

#include <stdint.h>
#include <stdio.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An executor as the kit (and the executor matrix of the tests) drives it.
 * Every function is called on the thread that called ak_conform_run().
 *
 *   new_executor    makes an executor; arg is the structure's arg.
 *   spawn           makes body (a future of the kit's, initialised, never
 *                   polled) a task of ex; the kit keeps no handle, so the
 *                   executor releases its own.  Only before run_until_idle.
 *   run_until_idle  runs, or waits for, ex until every task spawned on it
 *                   has finished: 0; AK_ETIMEDOUT at deadline (absolute
 *                   CLOCK_MONOTONIC nanoseconds, ak_now(3)).
 *   free_executor   frees ex, whose tasks have all finished.
 */
struct ak_conform_executor {
	const char *name;
	int (*new_executor)(void *arg, void **ex);
	int (*spawn)(void *ex, struct ak_future *body);
	int (*run_until_idle)(void *ex, int64_t deadline);
	void (*free_executor)(void *ex);
	void *arg;
};

/*
 * Runs every check (or the one named only) on the executor, one line per
 * check to out (NULL: nothing printed).  Returns the number of checks that
 * failed, 0 when the executor conforms, or AK_EINVAL (a function missing,
 * no check named only).
 */
int ak_conform_run(const struct ak_conform_executor *ex, const char *only,
                   FILE *out);
int ak_conform_check_count(void);
const char *ak_conform_check_name(int i);

#ifdef __cplusplus
}
#endif
#endif
