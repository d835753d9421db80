/*
 * awaitkit: tasks, the layer between the primitives and any executor.
 * See ak_task(3).  Modelled on Rust's async-task: the library owns the task
 * record (its state machine, reference count and waker); the executor
 * supplies one function, schedule, that pushes a task on its run queue,
 * and calls ak_task_run() on what it pops.
 *
 * Synchronization contract (who may call what, from which thread, and what
 * may run at the same time):
 *
 *   call                     thread            concurrently with
 *   ak_task_new              any               anything (the body is the
 *                                              caller's until it returns)
 *   ak_task_bind             the thread that   nothing: before the task is
 *                            runs the task     first scheduled
 *   ak_task_schedule         any               anything, itself included
 *   schedule (executor's)    any; called by    anything; it only pushes:
 *                            the library       never polls, never waits on
 *                                              a lock held around a run
 *   ak_task_run              the thread that   anything but another run of
 *                            popped the entry  the same task (one entry
 *                                              exists at a time, so this
 *                                              holds by construction)
 *   ak_task_cancel           any (a bound      anything; from the task's
 *                            task, or an       own poll it is AK_EBUSY
 *                            ak_executor's:
 *                            performed on its
 *                            thread)
 *   ak_task_result           any               anything
 *   ak_task_release          any, once per     anything
 *                            handle
 *   ak_task_join_init/poll   the joiner's      anything; one join op per
 *                            task              task at a time (AK_EBUSY)
 *   ak_task_join_blocking    a thread outside  anything; one joiner per
 *                            any poll          task at a time (AK_EBUSY)
 *   waker clone/wake/drop    any, any time     anything, also after the
 *                                              task finished and after
 *                                              every handle was released
 *
 * Ordering: everything a waker's thread wrote before a wake happens-before
 * the poll that wake causes; everything the task's polls wrote
 * happens-before a join (or ak_task_result) that sees the task finished.
 */
#ifndef AK_TASK_H
#define AK_TASK_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_task;

/*
 * The executor's one function: put task on the run queue.  Called from any
 * thread, at most once per entry: the task is not scheduled again before
 * ak_task_run() has consumed the entry.  The entry holds a reference that
 * ak_task_run() consumes.
 */
typedef void (*ak_task_schedule_fn)(struct ak_task *task, void *arg);

/*
 * Called once with arg when the task record is freed (its last entry,
 * waker and handle gone), on the thread that dropped the last reference,
 * holding no library lock: after it, schedule is never called with arg
 * again, so an executor may free what arg names (Rust's async-task drops
 * its schedule closure there).
 */
typedef void (*ak_task_drop_fn)(void *arg);

/*
 * body is claimed (AK_FUTURE_OWNED; AK_EBUSY if it already is) and stays
 * the caller's storage: it must not move, and must stay valid until the
 * task has finished and the handle was released.  The task starts idle.
 */
int ak_task_new(struct ak_future *body, ak_task_schedule_fn schedule,
                void *arg, struct ak_task **out);
int ak_task_new_with_drop(struct ak_future *body, ak_task_schedule_fn schedule,
                          ak_task_drop_fn drop, void *arg,
                          struct ak_task **out);
/* The calling thread, which runs the task, becomes the one thread its body
 * is cancelled on: a cancel made elsewhere is carried out by the run of
 * the entry it queues.  Before the first ak_task_schedule(). */
int ak_task_bind(struct ak_task *task);
int ak_task_schedule(struct ak_task *task);
/* 1: this call finished the task; 0: it did not; AK_EINVAL: no entry. */
int ak_task_run(struct ak_task *task);
int ak_task_cancel(struct ak_task *task);
int ak_task_result(const struct ak_task *task);
void ak_task_release(struct ak_task *task);

/* Joining a task (tokio's JoinHandle). */
#define AK_OP_TASK_JOIN 120   /* struct ak_task_join_op; kinds 120-124 */

struct ak_task_join_op {
	struct ak_future future;
	AK_OP_PRIVATE(4) private_;
};

int ak_task_join_init(struct ak_task_join_op *op, struct ak_task *task);
int ak_task_join_blocking(struct ak_task *task, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
