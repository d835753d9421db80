/*
 * awaitkit: OnceCell, a value initialised once by whichever task gets
 * there first.  See ak_once_cell(3).
 *
 * get_or_init binds the caller's initializer future: the first operation
 * to take the cell's initialisation permit runs its own initializer while
 * the others wait; when it completes the value is published and every
 * waiter completes with it; when it fails or is cancelled, the next waiter
 * runs its own.  set stores a value at once unless a task is initialising
 * (AK_EBUSY) or a value is there (AK_EEXIST).  The value never changes
 * once set; the drop hook releases it when the cell is freed.
 *
 *   call                                  thread
 *   ak_once_cell_new, _free               any (free: nobody waits or initialises)
 *   ak_once_cell_get_or_init_init         the op's owner, op not pending
 *   poll, cancel of get_or_init           the op's owner, one at a time
 *   ak_once_cell_get_or_init_blocking     a thread outside any poll
 *   ak_once_cell_set, _get, _initialized  any
 */
#ifndef AK_ONCE_CELL_H
#define AK_ONCE_CELL_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_ONCE_CELL_GET_OR_INIT 140

struct ak_once_cell;

/* Releases what a value owns; called once, when the cell is freed. */
typedef void (*ak_once_drop_fn)(void *value, void *arg);

/* A get_or_init: waits for the value, or runs its initializer. */
struct ak_once_cell_op {
	struct ak_future future;
	AK_OP_PRIVATE(20) private_;
};

int ak_once_cell_new(struct ak_once_cell **out, size_t elem_size,
                     ak_once_drop_fn drop, void *drop_arg);
int ak_once_cell_free(struct ak_once_cell *cell);

int ak_once_cell_get(const struct ak_once_cell *cell, const void **value);
int ak_once_cell_initialized(const struct ak_once_cell *cell);
int ak_once_cell_set(struct ak_once_cell *cell, const void *value);

int ak_once_cell_get_or_init_init(struct ak_once_cell_op *op, struct ak_once_cell *cell,
                                  struct ak_future *init, const void *init_value,
                                  const void **value);
int ak_once_cell_get_or_init_blocking(struct ak_once_cell_op *op, struct ak_once_cell *cell,
                                      struct ak_future *init, const void *init_value,
                                      const void **value, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
