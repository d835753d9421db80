/*
 * awaitkit: sleeping until a deadline, on any executor.  See
 * ak_sleep_until(3).
 *
 * A sleep is an operation like any other: the caller owns the struct,
 * binds it with ak_sleep_until() or ak_sleep_for() and polls it
 * (ak_future_poll, ak_block_on, an executor).  A library timer thread,
 * started lazily on the first sleep that has to wait, wakes it; nothing
 * is needed from the executor.
 *
 *   call                 thread
 *   ak_sleep_until,      the op's owner, while the op is not pending
 *   ak_sleep_for
 *   poll, cancel         the op's owner, one at a time
 *   (the timer's wake)   the timer thread, any time while pending
 */
#ifndef AK_TIMER_H
#define AK_TIMER_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Completes with 0 once ak_now() >= its deadline. */
struct ak_sleep_op {
	struct ak_future future;
	AK_OP_PRIVATE(10) private_;
};

int ak_sleep_until(struct ak_sleep_op *op, int64_t deadline);
/* The deadline is ak_deadline_in(duration_ns), computed here, at binding
 * (tokio::time::sleep): not at the first poll. */
int ak_sleep_for(struct ak_sleep_op *op, int64_t duration_ns);

#ifdef __cplusplus
}
#endif
#endif
