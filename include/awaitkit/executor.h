/*
 * awaitkit: the single-thread executor shipped with the library, built on
 * the task API of <awaitkit/task.h>.  See ak_executor(3).
 */
#ifndef AK_EXECUTOR_H
#define AK_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/task.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_executor;
struct ak_task;

int ak_executor_new(struct ak_executor **out);
int ak_executor_free(struct ak_executor *ex);
int ak_executor_spawn(struct ak_executor *ex, struct ak_future *task,
                      struct ak_task **handle);
int ak_executor_run(struct ak_executor *ex);
int ak_executor_run_until(struct ak_executor *ex, struct ak_future *f,
                          int64_t deadline);
int ak_executor_run_all(struct ak_executor *ex, int64_t deadline);
size_t ak_executor_task_count(const struct ak_executor *ex);

/* Embedding in a host loop. */
int ak_executor_fd(struct ak_executor *ex);
int ak_executor_run_budget(struct ak_executor *ex, int max_polls);

#ifdef __cplusplus
}
#endif
#endif
