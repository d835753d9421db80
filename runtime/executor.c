/*
 * runtime/executor.c: the single-thread executor.
 *
 * Synchronization contract:
 *
 *   call                         thread
 *   spawn, run, run_until,       the executor's owner, one at a time
 *   free, task_cancel
 *   waker clone/wake/drop        any thread, any time, also after free
 *   task_result, task_release    the owner (release: any thread)
 *
 * A task record (runtime/task.h) is reference counted: the executor holds one
 * reference while the task is unfinished, each run-queue entry one, each
 * waker clone one, a handle one.  Records hold a reference on the shared
 * part of the executor (its remote queue and parker), so a late wake from
 * another thread finds it closed instead of freed.
 *
 * Wakes made on the thread that is running the executor go to a local FIFO
 * without a lock; others go to the remote FIFO under the shared lock and
 * unpark the owner.  The task's state word decides who enqueues (task.h).
 */
#include <limits.h>

#include <awaitkit/block_on.h>
#include <awaitkit/executor.h>

#include "task.h"

struct exec_shared {
	ak__atomic(uint32_t) refs;
	struct ak__lock lock;          /* guards remote_* and closed */
	struct exec_task *remote_head;
	struct exec_task *remote_tail;
	int closed;
	struct ak__parker parker;      /* the owner sleeps here in run_until */
};

struct exec_task {
	struct ak_task base;
	struct exec_task *qnext;       /* run-queue link: owned by the queue */
	struct exec_shared *sh;
	struct ak_executor *ex;        /* only used while not done */
	int is_main;                   /* run_until's future, not a spawned task */
};

struct ak_executor {
	struct exec_shared *sh;
	struct exec_task *local_head, *local_tail;
	struct ak__task_list unfinished;  /* owner only */
	size_t live;
	int running;
};

/* The executor this thread is running now, for the lock-free local path. */
static _Thread_local struct ak_executor *tls_running;

static struct exec_task *exec_task_of(struct ak_task *t)
{
	return (struct exec_task *)(void *)t;
}

static void shared_put(struct exec_shared *sh)
{
	if (ak__ref_put(&sh->refs)) {
		ak__lock_destroy(&sh->lock);
		ak__free(sh);
	}
}

static void queue_push(struct exec_task **head, struct exec_task **tail,
                       struct exec_task *t)
{
	t->qnext = NULL;
	if (*tail)
		(*tail)->qnext = t;
	else
		*head = t;
	*tail = t;
}

/* Puts t on a run queue; the caller has given the queue a reference. */
static void exec_enqueue(struct ak_task *base)
{
	struct exec_task *t = exec_task_of(base);
	struct ak_executor *ex = tls_running;
	struct exec_shared *sh = t->sh;

	if (ex && ex->sh == sh) {
		queue_push(&ex->local_head, &ex->local_tail, t);
		return;
	}
	ak__lock(&sh->lock);
	int closed = sh->closed;
	if (!closed)
		queue_push(&sh->remote_head, &sh->remote_tail, t);
	ak__unlock(&sh->lock);
	if (closed) {
		ak__task_put(base);
		return;
	}
	/* sh stays alive here: the caller's waker reference keeps t alive,
	 * and t holds a reference on sh. */
	ak__unpark(&sh->parker);
}

static void exec_retire(struct ak_task *base)
{
	struct exec_task *t = exec_task_of(base);

	if (!t->is_main) {
		ak__task_list_remove(&t->ex->unfinished, base);
		t->ex->live--;
	}
}

static void exec_destroy(struct ak_task *base)
{
	struct exec_task *t = exec_task_of(base);

	shared_put(t->sh);
	ak__free(t);
}

static const struct ak__task_ops exec_task_ops = {
	.enqueue = exec_enqueue,
	.retire = exec_retire,
	.destroy = exec_destroy,
};

static struct exec_task *dequeue(struct ak_executor *ex)
{
	if (!ex->local_head) {
		ak__lock(&ex->sh->lock);
		ex->local_head = ex->sh->remote_head;
		ex->local_tail = ex->sh->remote_tail;
		ex->sh->remote_head = ex->sh->remote_tail = NULL;
		ak__unlock(&ex->sh->lock);
		if (!ex->local_head)
			return NULL;
	}
	struct exec_task *t = ex->local_head;
	ex->local_head = t->qnext;
	if (!ex->local_head)
		ex->local_tail = NULL;
	return t;
}

AK_EXPORT int ak_executor_new(struct ak_executor **out)
{
	if (!out)
		return AK_EINVAL;
	struct ak_executor *ex = ak__alloc(sizeof(*ex));
	struct exec_shared *sh = ak__alloc(sizeof(*sh));
	if (!ex || !sh) {
		ak__free(ex);
		ak__free(sh);
		return AK_ENOMEM;
	}
	ak__init(&sh->refs, 1);
	ak__lock_init(&sh->lock);
	ak__parker_init(&sh->parker);
	ex->sh = sh;
	*out = ex;
	return 0;
}

/* refs: the executor's reference, the run queue's, and the caller's. */
static struct exec_task *task_new(struct ak_executor *ex, struct ak_future *f,
                                  uint32_t refs)
{
	struct exec_task *t = ak__alloc(sizeof(*t));
	if (!t)
		return NULL;
	ak__task_init(&t->base, &exec_task_ops, f, refs);
	t->sh = ex->sh;
	t->ex = ex;
	ak__ref_get(&ex->sh->refs);
	return t;
}

AK_EXPORT int ak_executor_spawn(struct ak_executor *ex, struct ak_future *task,
                                struct ak_task **handle)
{
	if (!ex || ak__future_claim(task) != 0)
		return AK_EINVAL;
	struct exec_task *t = task_new(ex, task, handle ? 3 : 2);
	if (!t) {
		task->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	ak__task_list_append(&ex->unfinished, &t->base);
	ex->live++;
	queue_push(&ex->local_head, &ex->local_tail, t);
	if (handle)
		*handle = &t->base;
	return 0;
}

static int enter(struct ak_executor *ex)
{
	if (!ex)
		return AK_EINVAL;
	if (ak__in_poll())
		return AK_EDEADLK;
	if (ex->running)
		return AK_EBUSY;
	ex->running = 1;
	tls_running = ex;
	return 0;
}

static void leave(struct ak_executor *ex)
{
	ex->running = 0;
	tls_running = NULL;
}

AK_EXPORT int ak_executor_run(struct ak_executor *ex)
{
	int rc = enter(ex);
	if (rc)
		return rc;
	int polls = 0;
	struct exec_task *t;
	while ((t = dequeue(ex)) != NULL)
		if (ak__task_run(&t->base) && polls < INT_MAX)
			polls++;
	leave(ex);
	return polls;
}

static int is_done(struct exec_task *t)
{
	/* Relaxed: the owner wrote DONE itself, on this thread. */
	return (ak__load(&t->base.state, AK__RELAXED) & AK__T_DONE) != 0;
}

AK_EXPORT int ak_executor_run_until(struct ak_executor *ex, struct ak_future *f,
                                    int64_t deadline)
{
	if (!f || ak__future_claim(f) != 0)
		return AK_EINVAL;
	int rc = enter(ex);
	if (rc) {
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return rc;
	}
	/* Ours, the run queue's and the executor's (dropped when it ends). */
	struct exec_task *main = task_new(ex, f, 3);
	if (!main) {
		leave(ex);
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	main->is_main = 1;
	queue_push(&ex->local_head, &ex->local_tail, main);

	for (;;) {
		struct exec_task *t;
		while (!is_done(main) && (t = dequeue(ex)) != NULL)
			ak__task_run(&t->base);
		if (is_done(main))
			break;
		/* Checked after draining the queues, so whatever was ready at
		 * the deadline ran first. */
		if (deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) {
			ak__task_abort(&main->base, AK_ETIMEDOUT);
			break;
		}
		ak__park(&ex->sh->parker, deadline);
	}
	rc = main->base.result;
	leave(ex);
	ak__task_put(&main->base);
	return rc;
}

AK_EXPORT size_t ak_executor_task_count(const struct ak_executor *ex)
{
	return ex ? ex->live : 0;
}

static void drop_entries(struct exec_task *t)
{
	while (t) {
		struct exec_task *next = t->qnext;
		ak__task_put(&t->base);
		t = next;
	}
}

AK_EXPORT int ak_executor_free(struct ak_executor *ex)
{
	if (!ex)
		return AK_EINVAL;
	if (ex->running)
		return AK_EBUSY;
	while (ex->unfinished.head)
		ak__task_abort(ex->unfinished.head, AK_ECANCELED);
	struct exec_shared *sh = ex->sh;
	ak__lock(&sh->lock);
	sh->closed = 1;
	struct exec_task *remote = sh->remote_head;
	sh->remote_head = sh->remote_tail = NULL;
	ak__unlock(&sh->lock);
	drop_entries(remote);
	drop_entries(ex->local_head);
	ak__free(ex);
	shared_put(sh);
	return 0;
}
