/*
 * awaitkit: Barrier, n parties meeting, reusable.  See ak_barrier(3).
 *
 * The n-th wait to arrive is the generation's leader and releases the n-1
 * waiting before it; the barrier is then ready for the next generation.  A
 * wait cancelled before its generation is released un-arrives; one
 * cancelled after the release still counts as arrived (the documented
 * exception to the commit rule).
 *
 *   call                         thread
 *   ak_barrier_new, _free        any (free: nobody waits)
 *   ak_barrier_wait_init         the op's owner, op not pending
 *   poll, cancel of the wait     the op's owner, one at a time
 *   ak_barrier_wait_blocking     a thread outside any poll
 *   ak_barrier_parties           any
 */
#ifndef AK_BARRIER_H
#define AK_BARRIER_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_BARRIER_WAIT 95

struct ak_barrier;

/* A wait at the barrier. */
struct ak_barrier_wait_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_barrier_new(struct ak_barrier **out, size_t n);
int ak_barrier_free(struct ak_barrier *barrier);

int ak_barrier_wait_init(struct ak_barrier_wait_op *op, struct ak_barrier *barrier,
                         int *is_leader);
int ak_barrier_wait_blocking(struct ak_barrier_wait_op *op, struct ak_barrier *barrier,
                             int *is_leader, int64_t deadline);
size_t ak_barrier_parties(const struct ak_barrier *barrier);

#ifdef __cplusplus
}
#endif
#endif
