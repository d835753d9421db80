/*
 * adapters/uv/loopq.c: the run queue, gate and task records shared by the
 * host-loop adapters (see loopq.h).
 *
 * Each spawned body is wrapped in a record whose own future is the task's
 * body: its poll polls the user's future, and its cancel tells the loop
 * that the task finished, whoever cancelled it.  The record is the
 * schedule argument and the run-queue node.  It holds a reference to the
 * task (a clone of the task's waker, taken at the first poll; before that
 * the queued first entry keeps the task alive), so the loop may look at a
 * finished task until it knows no push of it can come any more; then it
 * retires the record (drops the clone, frees the record).
 *
 * A finished task can be pushed once more only if a wake set its entry
 * before the cancel and had not pushed yet.  The loop settles that by
 * taking the entry itself (ak_task_run on a finished task consumes a stale
 * entry without polling, or says there is none):
 *   - AK_EINVAL: no entry exists, none can appear: retire now;
 *   - 0: the entry was taken, its push is still to come ("stolen"): the
 *     pop retires the record, or after the close the pusher does.
 * That probe runs under the queue lock, so that a pusher of the same task
 * after the close sees either "not yet probed" (it consumes its own entry)
 * or "orphan" (it retires the record).  A run of a finished task polls
 * nothing and calls no waker, so holding the lock around it cannot stall a
 * schedule() for longer than a reference drop.
 *
 * The adapters' own records (this one, a uv timer's) come from
 * ak__lq_alloc: malloc with a counter the tests read.  An adapter is a
 * library of its own, linked against libawaitkit.so's exported symbols:
 * the shim's allocator and locks are hidden there (scripts/lint-shim.sh).
 */
#include <errno.h>
#include <stdlib.h>

#include "loopq.h"

struct ak__lq_task {
	struct ak_future wrap;         /* the task's body: first */
	struct ak_future *body;        /* the user's */
	struct ak_task *task;
	struct ak__lq *q;
	struct ak__lq_task *qnext;     /* run queue: under q->lock */
	struct ak__lq_task *prev, *next;   /* live or zombie list: loop */
	struct ak_waker self;          /* our reference, from the first poll */
	/* Separate bytes, not bit-fields: the first three are written under
	 * q->lock by any thread, the last two by the loop without it. */
	unsigned char queued;          /* under q->lock */
	unsigned char late;            /* under q->lock: pushed after close */
	unsigned char orphan;          /* under q->lock: the pusher retires */
	unsigned char finished;        /* loop */
	unsigned char stolen;          /* loop: a push is still to come */
};

static ak__atomic(long) allocated;

void *ak__lq_alloc(size_t size)
{
	void *p = calloc(1, size);
	if (p)
		ak__fetch_add(&allocated, 1, AK__RELAXED);
	return p;
}

void ak__lq_free(void *p)
{
	if (!p)
		return;
	ak__fetch_sub(&allocated, 1, AK__RELAXED);
	free(p);
}

long ak__lq_allocated(void)
{
	return ak__load(&allocated, AK__RELAXED);
}

static _Thread_local struct ak__lq *tls_current;

struct ak__lq *ak__lq_current(void)
{
	return tls_current;
}

int ak__lq_on_loop(const struct ak__lq *q)
{
	return pthread_equal(q->thread, pthread_self());
}

int ak__lq_rekeep(struct ak_waker *kept, const struct ak_waker *now)
{
	if (ak_waker_will_wake(kept, now))
		return 0;
	struct ak_waker nw;
	if (ak_waker_clone(now, &nw) != 0)
		return AK_ENOMEM;
	ak_waker_drop(kept);
	*kept = nw;
	return 0;
}

int ak__lq_init(struct ak__lq *q, const struct ak__lq_ops *ops)
{
	int rc = pthread_mutex_init(&q->lock, NULL);
	if (rc)
		return -rc;
	q->ops = ops;
	q->thread = pthread_self();
	ak__init(&q->refs, 1u);
	return 0;
}

void ak__lq_fini(struct ak__lq *q)
{
	pthread_mutex_destroy(&q->lock);
}

void ak__lq_put(struct ak__lq *q)
{
	if (ak__ref_put(&q->refs)) {
		ak__lq_fini(q);
		q->ops->release(q);
	}
}

/* ---- the loop's lists -------------------------------------------------- */

static void list_add(struct ak__lq_task **head, struct ak__lq_task *t)
{
	t->prev = NULL;
	t->next = *head;
	if (*head)
		(*head)->prev = t;
	*head = t;
}

static void list_del(struct ak__lq_task **head, struct ak__lq_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		*head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

static void retire(struct ak__lq_task *t)
{
	if (t->self.vtable)
		ak_waker_drop(&t->self);
	ak__lq_free(t);
}

/* t finished on the loop thread: no longer live. */
static void finished(struct ak__lq_task *t)
{
	struct ak__lq *q = t->q;
	list_del(&q->live, t);
	t->finished = 1;
	if (--q->nlive == 0)
		q->ops->keep(q, 0);
}

/* ---- the wrapper future ---------------------------------------------- */

static int wrap_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ak__lq_task *t = (struct ak__lq_task *)(void *)f;
	if (!t->self.vtable && ak_waker_clone(&cx->waker, &t->self) != 0)
		return AK_ENOMEM;
	/* The body stays claimed (AK_FUTURE_OWNED) for the task's life, as
	 * ak_executor_spawn claims it, except inside the wrapper's own poll:
	 * ak_future_poll refuses a claimed future. */
	t->body->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	int rc = ak_future_poll(t->body, cx);
	t->body->state |= AK_FUTURE_OWNED;
	return rc;
}

/* Runs inside the task layer's cancel, on the loop thread: the task is
 * bound there (ak_task_bind), so a cancel made on another thread is
 * carried out by the run of the entry it queues (run_entry). */
static void wrap_cancel(struct ak_future *f)
{
	struct ak__lq_task *t = (struct ak__lq_task *)(void *)f;
	ak_future_cancel(t->body);
	finished(t);
	list_add(&t->q->zombies, t);
}

static const struct ak_future_vtable wrap_vtable = { wrap_poll, wrap_cancel };

/* ---- schedule: any thread ---------------------------------------------- */

static void lq_schedule(struct ak_task *task, void *arg)
{
	struct ak__lq_task *t = arg;
	struct ak__lq *q = t->q;

	pthread_mutex_lock(&q->lock);
	if (!q->closed) {
		t->qnext = NULL;
		t->queued = 1;
		if (q->tail) {
			q->tail->qnext = t;
		} else {
			q->head = t;
			/* The first entry signals; the drain empties the queue
			 * under this lock, so a later push into a non-empty
			 * queue is covered by that signal. */
			if (tls_current != q)
				q->ops->signal(q);
		}
		q->tail = t;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	/* Closed: every task was cancelled before the gate shut, so this is
	 * the stale entry of a finished task. */
	int orphan = t->orphan;
	if (!orphan) {
		t->late = 1;
		ak_task_run(task);      /* consumes the entry; polls nothing */
	}
	pthread_mutex_unlock(&q->lock);
	if (orphan) {
		retire(t);              /* the close left it to this push */
		ak__lq_put(q);
	}
}

/* ---- the loop thread -------------------------------------------------- */

int ak__lq_spawn(struct ak__lq *q, struct ak_future *body,
                 struct ak_task **handle)
{
	if (!q || !body || !ak__lq_on_loop(q))
		return AK_EINVAL;
	if (body->state & AK_FUTURE_OWNED)
		return AK_EBUSY;        /* another task or combinator has it */
	if ((body->state & AK_FUTURE_PHASE_MASK) != AK_FUTURE_IDLE)
		return AK_EINVAL;
	struct ak__lq_task *t = ak__lq_alloc(sizeof(*t));
	if (!t)
		return AK_ENOMEM;
	t->body = body;
	t->q = q;
	ak_future_init(&t->wrap, &wrap_vtable);
	int rc = ak_task_new(&t->wrap, lq_schedule, t, &t->task);
	if (rc) {
		ak__lq_free(t);
		return rc;
	}
	ak_task_bind(t->task);          /* cancelled on this thread only */
	body->state |= AK_FUTURE_OWNED;
	list_add(&q->live, t);
	if (q->nlive++ == 0)
		q->ops->keep(q, 1);
	ak_task_schedule(t->task);
	if (handle)
		*handle = t->task;
	else
		ak_task_release(t->task);
	return 0;
}

/* A zombie with no entry known to be queued: takes the entry, if any.
 * 1: retire t now; 0: keep it until its push comes (after the close, the
 * pusher retires it: an orphan). */
static int probe(struct ak__lq *q, struct ak__lq_task *t, int closing)
{
	pthread_mutex_lock(&q->lock);
	if (t->queued) {                /* the pop settles it */
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	int rc = AK_EINVAL;
	if (t->stolen) {
		rc = t->late ? AK_EINVAL : 0;
	} else if (!t->late && t->self.vtable) {
		rc = ak_task_run(t->task);
		if (rc == 0)
			t->stolen = 1;
	}
	if (rc == 0 && closing) {
		t->orphan = 1;
		ak__ref_get(&q->refs);
	}
	pthread_mutex_unlock(&q->lock);
	return rc != 0;
}

static void probe_zombies(struct ak__lq *q, int closing)
{
	struct ak__lq_task *t = q->zombies, *next;
	if (closing)
		q->zombies = NULL;      /* orphans are their pushers' now */
	for (; t; t = next) {
		/* Read first: an orphan may be freed by its pusher as soon
		 * as the probe unlocks, so no list link is touched after. */
		next = t->next;
		if (closing) {
			if (probe(q, t, 1))
				retire(t);
		} else if (!t->stolen && probe(q, t, 0)) {
			list_del(&q->zombies, t);
			retire(t);
		}
	}
}

static struct ak__lq_task *take_queue(struct ak__lq *q)
{
	pthread_mutex_lock(&q->lock);
	struct ak__lq_task *list = q->head;
	q->head = q->tail = NULL;
	for (struct ak__lq_task *t = list; t; t = t->qnext)
		t->queued = 0;
	pthread_mutex_unlock(&q->lock);
	return list;
}

/* Runs one popped entry of t. */
static void run_entry(struct ak__lq *q, struct ak__lq_task *t)
{
	if (t->stolen) {                /* the entry was taken by a probe */
		list_del(&q->zombies, t);
		retire(t);
		return;
	}
	int rc = ak_task_run(t->task);
	if (t->finished) {
		/* Cancelled, during this poll, while queued, or by this run
		 * (a cancel requested from another thread): the entry was
		 * the last one a finished task can have. */
		list_del(&q->zombies, t);
		retire(t);
	} else if (rc == 1) {
		finished(t);            /* completed by this poll */
		retire(t);
	}
}

void ak__lq_drain(struct ak__lq *q, int budget)
{
	struct ak__lq *outer = tls_current;
	tls_current = q;
	q->draining = 1;
	if (q->zombies)
		probe_zombies(q, 0);
	int n = 0;
	struct ak__lq_task *list;
	while (n < budget && (list = take_queue(q)) != NULL) {
		while (list) {
			struct ak__lq_task *t = list;
			list = t->qnext;        /* before the run re-pushes t */
			run_entry(q, t);
			n++;
		}
	}
	q->draining = 0;
	tls_current = outer;
	/* Entries pushed by these polls did not signal: come back for them
	 * after the loop's other callbacks had their turn. */
	pthread_mutex_lock(&q->lock);
	if (q->head && !q->closed)
		q->ops->signal(q);
	pthread_mutex_unlock(&q->lock);
}

int ak__lq_close(struct ak__lq *q)
{
	if (!q || !ak__lq_on_loop(q))
		return AK_EINVAL;
	if (q->draining)
		return AK_EBUSY;
	struct ak__lq_task *t;
	while ((t = q->live) != NULL) {
		ak_task_cancel(t->task);        /* wrap_cancel makes it a zombie */
		if (q->live == t) {             /* not ours to cancel: cannot be */
			finished(t);
			list_add(&q->zombies, t);
		}
	}
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_mutex_unlock(&q->lock);
	struct ak__lq_task *list = take_queue(q);
	while (list) {
		struct ak__lq_task *t = list;
		list = t->qnext;
		run_entry(q, t);
	}
	probe_zombies(q, 1);
	return 0;
}
