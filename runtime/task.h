/*
 * runtime/task.h: the task record the library's executors share (the
 * single-thread executor and the pool), and its waker.
 *
 * A task is a claimed (owned) ak_future plus a reference-counted record.
 * The record outlives every waker clone; its state word decides who polls,
 * who queues and who cancels:
 *
 *   SCHEDULED  a wake happened that no poll has consumed yet
 *   RUNNING    a thread is polling the task, or cancelling it
 *   DONE       finished; the future is never touched again
 *   CANCEL     a cancel arrived from another thread during a poll
 *
 * Run-queue entries: the wake that sets SCHEDULED on a task that is
 * neither RUNNING nor DONE takes a reference and queues it (ops->enqueue),
 * so a task is queued at most once.  A wake during a poll only sets
 * SCHEDULED; the poller, when its poll returns AK_PENDING, queues the task
 * again at the tail, passing on the entry's reference.  So a task is never
 * polled by two threads at once.
 *
 * Synchronization contract:
 *
 *   call                            thread
 *   waker clone/wake/wake_by_ref/   any, any time (after the task finished,
 *   drop                            after its executor was freed)
 *   ak__task_run                    the executor's thread that dequeued it
 *   ak__task_abort, ak_task_cancel  any (the executor says which)
 *   ak_task_result, ak_task_release any
 */
#ifndef AK_CORE_TASK_H
#define AK_CORE_TASK_H

#include <awaitkit/executor.h>

#include "../core/core.h"

enum {
	AK__T_SCHEDULED = 1,
	AK__T_RUNNING = 2,
	AK__T_DONE = 4,
	AK__T_CANCEL = 8,
};

/* What differs between executors. */
struct ak__task_ops {
	/* Queue t at the tail of its run queue; the caller gives the queue
	 * one reference.  Called from any thread. */
	void (*enqueue)(struct ak_task *t);
	/* t has just finished (DONE is set): forget it as unfinished.  The
	 * executor's reference is dropped after this returns. */
	void (*retire)(struct ak_task *t);
	/* The last reference went: free the record. */
	void (*destroy)(struct ak_task *t);
};

/* The shared part; each executor's record embeds it first. */
struct ak_task {
	ak__atomic(uint32_t) refs;
	ak__atomic(uint32_t) state;    /* AK__T_* */
	const struct ak__task_ops *ops;
	struct ak_future *fut;         /* NULL once DONE */
	int result;                    /* written before DONE is published */
	struct ak_task_slot slot;      /* zeroed at spawn */
	struct ak_task *prev, *next;   /* the executor's unfinished list */
};

/* An executor's list of unfinished tasks; the executor serializes it. */
struct ak__task_list {
	struct ak_task *head, *tail;
};

void ak__task_list_append(struct ak__task_list *l, struct ak_task *t);
void ak__task_list_remove(struct ak__task_list *l, struct ak_task *t);

/* Fills t (zeroed by the allocator) as SCHEDULED with refs references. */
void ak__task_init(struct ak_task *t, const struct ak__task_ops *ops,
                   struct ak_future *f, uint32_t refs);
void ak__task_put(struct ak_task *t);

/*
 * Runs one poll of a task taken off a run queue, and settles the queue
 * entry's reference: queued again, dropped, or dropped with the task
 * finished.  Returns 1 if it polled, 0 if the task was done or being
 * cancelled by another thread.
 */
int ak__task_run(struct ak_task *t);

/*
 * Cancels t unless it finished: its future's cancel runs on this thread
 * and rc becomes its result.  A task that another thread is polling is
 * marked, and that thread cancels it when the poll ends (unless the poll
 * finished it).  0, or AK_EBUSY when called from the task's own poll.
 */
int ak__task_abort(struct ak_task *t, int rc);

#endif
