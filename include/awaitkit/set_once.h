/*
 * awaitkit: SetOnce, a value set once that tasks wait for (tokio 1.47's
 * SetOnce: an event that carries a payload).  See ak_set_once(3).
 *
 * set stores the value if none is there (AK_EEXIST otherwise, the value
 * staying with the caller) and completes every wait; a wait bound after
 * the value was set completes at its first poll.  The value never changes
 * once set; the drop hook releases it when the set-once is freed.
 *
 *   call                             thread
 *   ak_set_once_new, _free           any (free: nobody waits)
 *   ak_set_once_wait_init            the op's owner, op not pending
 *   poll, cancel of the wait         the op's owner, one at a time
 *   ak_set_once_wait_blocking        a thread outside any poll
 *   ak_set_once_set, _get, _initialized   any
 */
#ifndef AK_SET_ONCE_H
#define AK_SET_ONCE_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/once_cell.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_SET_ONCE_WAIT 145

struct ak_set_once;

/* A wait until the value is set. */
struct ak_set_once_wait_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_set_once_new(struct ak_set_once **out, size_t elem_size,
                    ak_once_drop_fn drop, void *drop_arg);
int ak_set_once_free(struct ak_set_once *so);

int ak_set_once_set(struct ak_set_once *so, const void *value);
int ak_set_once_get(const struct ak_set_once *so, const void **value);
int ak_set_once_initialized(const struct ak_set_once *so);

int ak_set_once_wait_init(struct ak_set_once_wait_op *op, struct ak_set_once *so,
                          const void **value);
int ak_set_once_wait_blocking(struct ak_set_once_wait_op *op, struct ak_set_once *so,
                              const void **value, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
