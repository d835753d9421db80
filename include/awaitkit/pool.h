/*
 * awaitkit: the multi-thread pool executor shipped with the library.
 * See ak_pool(3).  Its tasks are struct ak_task handles, given back and
 * queried with the ak_task_* functions of <awaitkit/task.h>.
 */
#ifndef AK_POOL_H
#define AK_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/executor.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_pool;

/* The most workers a pool may have; 0 asks for one per online CPU. */
#define AK_POOL_MAX_WORKERS 1024

/* A pool's tuning; ak_pool_options_init() fills in the defaults. */
struct ak_pool_options {
	int nworkers;       /* 0: one per online CPU */
	int idle_spins;     /* checks of the queues before a worker parks
	                       (128); 0: parks at once */
	int lifo_max;       /* polls in a row from the LIFO slot (3); 0: no
	                       LIFO slot, a woken task goes to the queue */
	int reserved_[5];   /* zero */
};

/* Limits of ak_pool_options (more is AK_EINVAL). */
#define AK_POOL_MAX_IDLE_SPINS (1 << 20)
#define AK_POOL_MAX_LIFO 64

void ak_pool_options_init(struct ak_pool_options *options);
int ak_pool_new(struct ak_pool **out, int nworkers);
int ak_pool_new_with(struct ak_pool **out, const struct ak_pool_options *options);
int ak_pool_free(struct ak_pool *pool);
int ak_pool_spawn(struct ak_pool *pool, struct ak_future *task,
                  struct ak_task **handle);
int ak_pool_wait_idle(struct ak_pool *pool, int64_t deadline);
size_t ak_pool_task_count(const struct ak_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
