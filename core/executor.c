/*
 * core/executor.c: the single-thread executor.
 *
 * Synchronization contract:
 *
 *   call                         thread
 *   spawn, run, run_until,       the executor's owner, one at a time
 *   free, task_cancel
 *   waker clone/wake/drop        any thread, any time, also after free
 *   task_result, task_release    the owner (release: any thread)
 *
 * A task record is reference counted: the executor holds one reference
 * while the task is unfinished, each run-queue entry one, each waker clone
 * one, a handle one.  Records hold a reference on the shared part of the
 * executor (its remote queue and parker), so a late wake from another thread
 * finds it closed instead of freed.
 *
 * Wakes made on the thread that is running the executor go to a local FIFO
 * without a lock; others go to the remote FIFO under the shared lock and
 * unpark the owner.  The task's state word decides who enqueues: the wake
 * that sets SCHEDULED does, once; the owner clears SCHEDULED before each
 * poll, so a wake during the poll queues the task again, at the tail.
 */
#include <limits.h>

#include <awaitkit/block_on.h>
#include <awaitkit/executor.h>

#include "core.h"

enum { T_SCHEDULED = 1, T_RUNNING = 2, T_DONE = 4 };

struct exec_shared {
	ak__atomic(uint32_t) refs;
	struct ak__lock lock;          /* guards remote_* and closed */
	struct ak_task *remote_head;
	struct ak_task *remote_tail;
	int closed;
	struct ak__parker parker;      /* the owner sleeps here in run_until */
};

struct ak_task {
	ak__atomic(uint32_t) refs;
	ak__atomic(uint32_t) state;    /* T_* */
	struct ak_task *qnext;         /* run-queue link: owned by the queue */
	struct ak_task *prev, *next;   /* the unfinished list: owner only */
	struct exec_shared *sh;
	struct ak_executor *ex;        /* only used while not done */
	struct ak_future *fut;
	int result;                    /* written before T_DONE is set */
	int is_main;                   /* run_until's future, not a spawned task */
	struct ak_task_slot slot;
};

struct ak_executor {
	struct exec_shared *sh;
	struct ak_task *local_head, *local_tail;
	struct ak_task *live_head, *live_tail;
	size_t live;
	int running;
};

/* The executor this thread is running now, for the lock-free local path. */
static _Thread_local struct ak_executor *tls_running;

static void shared_put(struct exec_shared *sh)
{
	if (ak__ref_put(&sh->refs)) {
		ak__lock_destroy(&sh->lock);
		ak__free(sh);
	}
}

static void task_put(struct ak_task *t)
{
	if (ak__ref_put(&t->refs)) {
		shared_put(t->sh);
		ak__free(t);
	}
}

static void queue_push(struct ak_task **head, struct ak_task **tail, struct ak_task *t)
{
	t->qnext = NULL;
	if (*tail)
		(*tail)->qnext = t;
	else
		*head = t;
	*tail = t;
}

/* Puts t on a run queue; the caller has taken the queue's reference. */
static void enqueue(struct ak_task *t)
{
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
		task_put(t);
		return;
	}
	/* sh stays alive here: the caller's waker reference keeps t alive,
	 * and t holds a reference on sh. */
	ak__unpark(&sh->parker);
}

static void schedule(struct ak_task *t)
{
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	do {
		if (s & (T_SCHEDULED | T_DONE))
			return;
		/* release: what the waker wrote before waking is visible to the
		 * poll that the owner starts with its acquire in poll_task(). */
	} while (!ak__cas_weak(&t->state, &s, s | T_SCHEDULED, AK__RELEASE, AK__RELAXED));
	ak__ref_get(&t->refs);
	enqueue(t);
}

static struct ak_waker task_clone(const void *data);
static void task_wake_by_ref(const void *data)
{
	schedule((struct ak_task *)(uintptr_t)data);
}

static void task_drop(const void *data)
{
	task_put((struct ak_task *)(uintptr_t)data);
}

static void task_wake(const void *data)
{
	task_wake_by_ref(data);
	task_drop(data);
}

const struct ak_waker_vtable ak__task_waker_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = task_clone,
	.wake = task_wake,
	.wake_by_ref = task_wake_by_ref,
	.drop = task_drop,
};

static struct ak_waker task_clone(const void *data)
{
	ak__ref_get(&((struct ak_task *)(uintptr_t)data)->refs);
	struct ak_waker w = { data, &ak__task_waker_vtable };
	return w;
}

static struct ak_task *dequeue(struct ak_executor *ex)
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
	struct ak_task *t = ex->local_head;
	ex->local_head = t->qnext;
	if (!ex->local_head)
		ex->local_tail = NULL;
	return t;
}

static void live_unlink(struct ak_executor *ex, struct ak_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		ex->live_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		ex->live_tail = t->prev;
	t->prev = t->next = NULL;
	ex->live--;
}

/* The task ended with rc (its result, or AK_ECANCELED). */
static void finish(struct ak_executor *ex, struct ak_task *t, int rc)
{
	t->result = rc;
	/* release: pairs with the acquire load in ak_task_result(). */
	ak__fetch_or(&t->state, T_DONE, AK__RELEASE);
	ak__fetch_and(&t->state, ~(uint32_t)T_RUNNING, AK__RELAXED);
	t->fut = NULL;
	if (!t->is_main) {
		live_unlink(ex, t);
		task_put(t);            /* the executor's reference */
	}
}

/* Polls a task taken off a run queue, then drops the queue's reference.
 * Returns 1 if it polled. */
static int poll_task(struct ak_executor *ex, struct ak_task *t)
{
	/* acquire: pairs with the release in schedule(). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	for (;;) {
		if (s & T_DONE) {
			task_put(t);
			return 0;
		}
		uint32_t next = (s & ~(uint32_t)T_SCHEDULED) | T_RUNNING;
		if (ak__cas_weak(&t->state, &s, next, AK__ACQUIRE, AK__ACQUIRE))
			break;
	}
	struct ak_context cx;
	struct ak_waker waker = { t, &ak__task_waker_vtable };
	ak_context_init(&cx, waker, &t->slot);
	int rc = ak_context_done(&cx, ak__future_poll_owned(t->fut, &cx));
	if (rc == AK_PENDING)
		ak__fetch_and(&t->state, ~(uint32_t)T_RUNNING, AK__RELEASE);
	else
		finish(ex, t, rc);
	task_put(t);
	return 1;
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

static struct ak_task *task_new(struct ak_executor *ex, struct ak_future *f, uint32_t refs)
{
	struct ak_task *t = ak__alloc(sizeof(*t));
	if (!t)
		return NULL;
	ak__init(&t->refs, refs);
	ak__init(&t->state, T_SCHEDULED);
	t->sh = ex->sh;
	t->ex = ex;
	t->fut = f;
	ak__ref_get(&ex->sh->refs);
	return t;
}

AK_EXPORT int ak_executor_spawn(struct ak_executor *ex, struct ak_future *task,
                                struct ak_task **handle)
{
	if (!ex || ak__future_claim(task) != 0)
		return AK_EINVAL;
	/* The executor's reference, the run queue's, and the handle's. */
	struct ak_task *t = task_new(ex, task, handle ? 3 : 2);
	if (!t) {
		task->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	t->prev = ex->live_tail;
	if (ex->live_tail)
		ex->live_tail->next = t;
	else
		ex->live_head = t;
	ex->live_tail = t;
	ex->live++;
	queue_push(&ex->local_head, &ex->local_tail, t);
	if (handle)
		*handle = t;
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
	struct ak_task *t;
	while ((t = dequeue(ex)) != NULL)
		if (poll_task(ex, t) && polls < INT_MAX)
			polls++;
	leave(ex);
	return polls;
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
	/* Our reference and the run queue's. */
	struct ak_task *main = task_new(ex, f, 2);
	if (!main) {
		leave(ex);
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	main->is_main = 1;
	queue_push(&ex->local_head, &ex->local_tail, main);

	for (;;) {
		struct ak_task *t;
		while (!(ak__load(&main->state, AK__RELAXED) & T_DONE) &&
		       (t = dequeue(ex)) != NULL)
			poll_task(ex, t);
		if (ak__load(&main->state, AK__RELAXED) & T_DONE)
			break;
		/* Checked after draining the queues, so whatever was ready at
		 * the deadline ran first. */
		if (deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) {
			finish(ex, main, AK_ETIMEDOUT);
			ak__future_cancel_owned(f);
			break;
		}
		ak__park(&ex->sh->parker, deadline);
	}
	rc = main->result;
	leave(ex);
	task_put(main);
	return rc;
}

AK_EXPORT size_t ak_executor_task_count(const struct ak_executor *ex)
{
	return ex ? ex->live : 0;
}

static void cancel_task(struct ak_task *t)
{
	struct ak_future *f = t->fut;
	/* Done first, so wakes made by the cancel itself are ignored. */
	finish(t->ex, t, AK_ECANCELED);
	ak__future_cancel_owned(f);
}

AK_EXPORT int ak_executor_free(struct ak_executor *ex)
{
	if (!ex)
		return AK_EINVAL;
	if (ex->running)
		return AK_EBUSY;
	while (ex->live_head) {
		struct ak_task *t = ex->live_head;
		ak__ref_get(&t->refs);      /* finish() drops the executor's */
		cancel_task(t);
		task_put(t);
	}
	struct exec_shared *sh = ex->sh;
	ak__lock(&sh->lock);
	sh->closed = 1;
	struct ak_task *t = sh->remote_head;
	sh->remote_head = sh->remote_tail = NULL;
	ak__unlock(&sh->lock);
	while (t) {
		struct ak_task *next = t->qnext;
		task_put(t);
		t = next;
	}
	for (t = ex->local_head; t;) {
		struct ak_task *next = t->qnext;
		task_put(t);
		t = next;
	}
	ak__free(ex);
	shared_put(sh);
	return 0;
}

AK_EXPORT int ak_task_cancel(struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	uint32_t s = ak__load(&task->state, AK__ACQUIRE);
	if (s & T_DONE)
		return 0;
	if (s & T_RUNNING)
		return AK_EBUSY;
	cancel_task(task);
	return 0;
}

AK_EXPORT int ak_task_result(const struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	/* acquire: pairs with the release in finish(). */
	if (!(ak__load(&((struct ak_task *)(uintptr_t)task)->state, AK__ACQUIRE) & T_DONE))
		return AK_PENDING;
	return task->result;
}

AK_EXPORT void ak_task_release(struct ak_task *task)
{
	if (task)
		task_put(task);
}
