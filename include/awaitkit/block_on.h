/*
 * awaitkit: driving a future from a plain thread, deadlines, and marking a
 * thread that runs a host loop.  See ak_block_on(3).
 *
 *   call                   thread
 *   ak_now, ak_deadline_in any
 *   ak_block_on            any thread outside a poll and outside a marked
 *                          loop (there it returns AK_EDEADLK at once)
 *   ak_loop_enter/leave    the thread that runs the loop; they nest (a
 *                          counter): marked until every enter is left
 */
#ifndef AK_BLOCK_ON_H
#define AK_BLOCK_ON_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deadlines are absolute nanoseconds on CLOCK_MONOTONIC. */
#define AK_DEADLINE_NEVER INT64_MAX

int64_t ak_now(void);
int64_t ak_deadline_in(int64_t ns);
int ak_block_on(struct ak_future *f, int64_t deadline);

/* While marked, every blocking form called on this thread (ak_block_on and
 * everything built on it) returns AK_EDEADLK instead of blocking. */
int ak_loop_enter(void);
int ak_loop_leave(void);

#ifdef __cplusplus
}
#endif
#endif
