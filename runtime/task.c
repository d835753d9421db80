/*
 * runtime/task.c: the task record shared by the executors (see task.h), its
 * waker, and the task handle functions of <awaitkit/executor.h>.
 */
#include "task.h"

/* The task this thread is polling now: a task cancelling itself from its
 * own poll is refused instead of deadlocking on its own RUNNING bit. */
static _Thread_local struct ak_task *tls_polling;

void ak__task_init(struct ak_task *t, const struct ak__task_ops *ops,
                   struct ak_future *f, uint32_t refs)
{
	ak__init(&t->refs, refs);
	ak__init(&t->state, AK__T_SCHEDULED);
	t->ops = ops;
	t->fut = f;
}

void ak__task_put(struct ak_task *t)
{
	if (ak__ref_put(&t->refs))
		t->ops->destroy(t);
}

void ak__task_list_append(struct ak__task_list *l, struct ak_task *t)
{
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
}

void ak__task_list_remove(struct ak__task_list *l, struct ak_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
}

static void schedule(struct ak_task *t)
{
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	uint32_t next;
	do {
		if (s & (AK__T_SCHEDULED | AK__T_DONE))
			return;
		next = s | AK__T_SCHEDULED;
		/* release: what the waker wrote before waking is visible to
		 * the poll that consumes SCHEDULED (the acquire in begin(), or
		 * in end_pending() when the task is running).
		 * acquire: pairs with the release in end_pending(), so the
		 * run queue's last use of the task's link (the dequeue that
		 * read it, the requeue that wrote it) happens before
		 * ops->enqueue() links it again from this thread.  Found by
		 * stress/stress_sem.c under TSan: a kicker thread waking a
		 * task whose latest poll it never synchronised with except
		 * through this word. */
	} while (!ak__cas_weak(&t->state, &s, next, AK__ACQ_REL, AK__RELAXED));
	if (s & AK__T_RUNNING)
		return;         /* the poller queues it when its poll ends */
	ak__ref_get(&t->refs);
	t->ops->enqueue(t);
}

/* ---- the waker: a reference to the record ------------------------------- */

static struct ak_waker task_clone(const void *data);

static void task_wake_by_ref(const void *data)
{
	schedule((struct ak_task *)(uintptr_t)data);
}

static void task_drop(const void *data)
{
	ak__task_put((struct ak_task *)(uintptr_t)data);
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

/* ---- polling, finishing, cancelling -------------------------------------- */

/* t ended with rc; the caller holds RUNNING and a reference of its own. */
static void finish(struct ak_task *t, int rc)
{
	t->result = rc;
	t->fut = NULL;
	/* release: pairs with the acquire in ak_task_result() and in every
	 * state load that finds DONE.  Wakes racing with this store fail
	 * their CAS, reload, and find DONE. */
	ak__store(&t->state, AK__T_DONE, AK__RELEASE);
	t->ops->retire(t);
	ak__task_put(t);        /* the executor's reference */
}

/* Cancels a task whose RUNNING bit the caller holds.  Wakes made by the
 * cancel itself find RUNNING and queue nothing. */
static void cancel_claimed(struct ak_task *t, int rc)
{
	ak__future_cancel_owned(t->fut);
	finish(t, rc);
}

/* Takes a dequeued task for a poll: 0, or 1 if it is done or another
 * thread holds it (a canceller); the queue entry is then stale. */
static int begin(struct ak_task *t)
{
	/* acquire: pairs with the release in schedule() and with the
	 * release of the previous poll's end_pending(). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	for (;;) {
		if ((s & (AK__T_DONE | AK__T_RUNNING)) || !(s & AK__T_SCHEDULED))
			return 1;
		uint32_t next = (s & ~(uint32_t)AK__T_SCHEDULED) | AK__T_RUNNING;
		if (ak__cas_weak(&t->state, &s, next, AK__ACQUIRE, AK__ACQUIRE))
			return 0;
	}
}

enum { END_IDLE, END_REQUEUE, END_CANCEL };

/* After a poll returned AK_PENDING. */
static int end_pending(struct ak_task *t)
{
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	for (;;) {
		if (s & AK__T_CANCEL)
			return END_CANCEL;      /* keeps RUNNING for the cancel */
		uint32_t next = s & ~(uint32_t)AK__T_RUNNING;
		/* acq_rel: release publishes the poll's writes to the next
		 * poller's acquire in begin(); acquire pairs with the release in
		 * schedule() of a wake that came during the poll, and with the
		 * CAS in ak__task_abort() that set CANCEL. */
		if (ak__cas_weak(&t->state, &s, next, AK__ACQ_REL, AK__ACQUIRE))
			return (s & AK__T_SCHEDULED) ? END_REQUEUE : END_IDLE;
	}
}

int ak__task_run(struct ak_task *t)
{
	if (begin(t) != 0) {
		ak__task_put(t);        /* the stale entry's reference */
		return 0;
	}
	struct ak_context cx;
	struct ak_waker waker = { t, &ak__task_waker_vtable };
	struct ak_task *outer = tls_polling;
	tls_polling = t;
	ak_context_init(&cx, waker, &t->slot);
	int rc = ak_context_done(&cx, ak__future_poll_owned(t->fut, &cx));
	tls_polling = outer;
	if (rc != AK_PENDING) {
		finish(t, rc);
		ak__task_put(t);
		return 1;
	}
	switch (end_pending(t)) {
	case END_REQUEUE:
		t->ops->enqueue(t);     /* the entry's reference goes with it */
		break;
	case END_CANCEL:
		cancel_claimed(t, AK_ECANCELED);
		ak__task_put(t);
		break;
	default:
		ak__task_put(t);
		break;
	}
	return 1;
}

int ak__task_abort(struct ak_task *t, int rc)
{
	/* acquire: pairs with the release in finish() (DONE) and in
	 * end_pending() (the last poll's writes, which the cancel reads). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	for (;;) {
		if (s & AK__T_DONE)
			return 0;
		if (s & AK__T_RUNNING) {
			if (tls_polling == t)
				return AK_EBUSY;
			if (s & AK__T_CANCEL)
				return 0;
			/* release: pairs with the acquire in end_pending(). */
			if (ak__cas_weak(&t->state, &s, s | AK__T_CANCEL,
			                 AK__RELEASE, AK__ACQUIRE))
				return 0;
			continue;
		}
		if (ak__cas_weak(&t->state, &s, s | AK__T_RUNNING, AK__ACQUIRE,
		                 AK__ACQUIRE))
			break;
	}
	/* Our own reference: finish() drops the executor's, which may be
	 * the last one a detached task has. */
	ak__ref_get(&t->refs);
	cancel_claimed(t, rc);
	ak__task_put(t);
	return 0;
}

/* ---- task handles --------------------------------------------------------- */

AK_EXPORT int ak_task_cancel(struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	return ak__task_abort(task, AK_ECANCELED);
}

AK_EXPORT int ak_task_result(const struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	struct ak_task *t = (struct ak_task *)(uintptr_t)task;
	/* acquire: pairs with the release in finish(). */
	if (!(ak__load(&t->state, AK__ACQUIRE) & AK__T_DONE))
		return AK_PENDING;
	return t->result;
}

AK_EXPORT void ak_task_release(struct ak_task *task)
{
	if (task)
		ak__task_put(task);
}
