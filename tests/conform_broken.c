/*
 * tests/conform_broken.c: three executors each with one deliberate breach
 * of the waker ABI contract, and a correct one, for tests/check_conform.c.
 *
 * The inline-wake executor stands on the task API (ak_task(3)): its
 * schedule function calls ak_task_run() on the spot, so a wake polls the
 * task on the waking thread.  The task API makes the other two bugs
 * impossible (it builds and closes a context per poll and never polls a
 * finished task), so they are executors of their own records over the
 * waker ABI (ak_waker(3), ak_context_init(3)), as the ABI allows any
 * executor to be: one that keeps a context per task and refreshes only its
 * waker, one that polls a finished task when a late wake queues it.  With
 * no bug, the same records keep the contract.  Each is memory-safe in
 * every check: records are reference counted, the executor lives as long
 * as the last record.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <awaitkit.h>

#include "conform_broken.h"

static void deadline_ts(int64_t deadline, struct timespec *ts)
{
	/* CLOCK_MONOTONIC deadlines: the condition variables use it too. */
	if (deadline == AK_DEADLINE_NEVER)
		deadline = ak_now() + 3600LL * 1000000000LL;
	ts->tv_sec = (time_t)(deadline / 1000000000);
	ts->tv_nsec = (long)(deadline % 1000000000);
}

static void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

/* ---- inline wake, on the task API --------------------------------------- */

struct inl {
	pthread_mutex_t m;
	pthread_cond_t c;
	int live;
	struct ak_task **handles;
	int n, cap;
};

static void inl_schedule(struct ak_task *task, void *arg)
{
	struct inl *x = arg;
	/* The bug: wake only schedules; this polls, on the waker's thread. */
	if (ak_task_run(task) == 1) {
		pthread_mutex_lock(&x->m);
		x->live--;
		pthread_cond_broadcast(&x->c);
		pthread_mutex_unlock(&x->m);
	}
}

static int inl_new(void *arg, void **out)
{
	(void)arg;
	struct inl *x = calloc(1, sizeof(*x));
	if (!x)
		return AK_ENOMEM;
	pthread_mutex_init(&x->m, NULL);
	cond_init_mono(&x->c);
	*out = x;
	return 0;
}

static int inl_spawn(void *ex, struct ak_future *body)
{
	struct inl *x = ex;
	struct ak_task *t;
	if (x->n == x->cap) {
		int cap = x->cap ? 2 * x->cap : 16;
		void *p = realloc(x->handles, (size_t)cap * sizeof(*x->handles));
		if (!p)
			return AK_ENOMEM;
		x->handles = p;
		x->cap = cap;
	}
	int rc = ak_task_new(body, inl_schedule, x, &t);
	if (rc)
		return rc;
	x->handles[x->n++] = t;
	pthread_mutex_lock(&x->m);
	x->live++;
	pthread_mutex_unlock(&x->m);
	return ak_task_schedule(t);
}

static int inl_run(void *ex, int64_t deadline)
{
	struct inl *x = ex;
	struct timespec ts;
	int rc = 0;
	deadline_ts(deadline, &ts);
	pthread_mutex_lock(&x->m);
	while (x->live > 0 && rc == 0)
		if (pthread_cond_timedwait(&x->c, &x->m, &ts) != 0)
			rc = x->live > 0 ? AK_ETIMEDOUT : 0;
	pthread_mutex_unlock(&x->m);
	return rc;
}

static void inl_free(void *ex)
{
	struct inl *x = ex;
	for (int i = 0; i < x->n; i++) {
		ak_task_cancel(x->handles[i]);
		ak_task_release(x->handles[i]);
	}
	free(x->handles);
	pthread_mutex_destroy(&x->m);
	pthread_cond_destroy(&x->c);
	free(x);
}

const struct ak_conform_executor broken_inline_wake = {
	"inline-wake", inl_new, inl_spawn, inl_run, inl_free, NULL
};

/* ---- own records over the waker ABI -------------------------------------- */

enum { BUG_NONE, BUG_REUSE_CONTEXT, BUG_POLL_AFTER_COMPLETION };

struct own_task;

struct own {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct own_task *head, *tail;   /* run queue */
	int live;                       /* unfinished tasks */
	int refs;                       /* 1 + records; under m */
	int closed;
	int bug;
};

struct own_task {
	struct own *x;
	struct ak_future *body;
	atomic_int refs;
	int queued;                     /* under x->m */
	int done;                       /* under x->m */
	struct own_task *next;
	struct ak_task_slot slot;
	struct ak_context kept;         /* BUG_REUSE_CONTEXT's */
	int kept_made;
};

static void own_put(struct own *x)
{
	pthread_mutex_lock(&x->m);
	int last = --x->refs == 0;
	pthread_mutex_unlock(&x->m);
	if (last) {
		pthread_mutex_destroy(&x->m);
		pthread_cond_destroy(&x->c);
		free(x);
	}
}

static void task_put(struct own_task *t)
{
	if (atomic_fetch_sub(&t->refs, 1) == 1) {
		struct own *x = t->x;
		free(t);
		own_put(x);
	}
}

static void own_schedule(struct own_task *t)
{
	struct own *x = t->x;
	pthread_mutex_lock(&x->m);
	int requeue = x->bug == BUG_POLL_AFTER_COMPLETION || !t->done;
	if (!x->closed && !t->queued && requeue) {
		t->queued = 1;
		atomic_fetch_add(&t->refs, 1);  /* the queue's */
		t->next = NULL;
		if (x->tail)
			x->tail->next = t;
		else
			x->head = t;
		x->tail = t;
		pthread_cond_broadcast(&x->c);
	}
	pthread_mutex_unlock(&x->m);
}

static struct ak_waker own_clone(const void *data);
static void own_wake(const void *data);
static void own_wake_by_ref(const void *data);
static void own_drop(const void *data);

const struct ak_waker_vtable conform_own_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	own_clone, own_wake, own_wake_by_ref, own_drop
};

static struct ak_waker own_clone(const void *data)
{
	struct own_task *t = (struct own_task *)data;
	atomic_fetch_add(&t->refs, 1);
	return (struct ak_waker){ t, &conform_own_vtable };
}

static void own_wake(const void *data)
{
	own_schedule((struct own_task *)data);
	task_put((struct own_task *)data);
}

static void own_wake_by_ref(const void *data)
{
	own_schedule((struct own_task *)data);
}

static void own_drop(const void *data)
{
	task_put((struct own_task *)data);
}

static int own_new(void *arg, void **out)
{
	struct own *x = calloc(1, sizeof(*x));
	if (!x)
		return AK_ENOMEM;
	pthread_mutex_init(&x->m, NULL);
	cond_init_mono(&x->c);
	x->refs = 1;
	x->bug = (int)(intptr_t)arg;
	*out = x;
	return 0;
}

static int own_spawn(void *ex, struct ak_future *body)
{
	struct own *x = ex;
	if (!body || ak_future_state(body) != AK_FUTURE_IDLE)
		return AK_EINVAL;
	struct own_task *t = calloc(1, sizeof(*t));
	if (!t)
		return AK_ENOMEM;
	t->x = x;
	t->body = body;
	atomic_init(&t->refs, 1);       /* the executor's, until it finishes */
	pthread_mutex_lock(&x->m);
	x->refs++;
	x->live++;
	pthread_mutex_unlock(&x->m);
	own_schedule(t);
	return 0;
}

static void own_poll(struct own_task *t)
{
	struct own *x = t->x;
	struct ak_waker w = { t, &conform_own_vtable };
	struct ak_context fresh, *cx = &fresh;
	pthread_mutex_lock(&x->m);
	int done = t->done;
	pthread_mutex_unlock(&x->m);
	/* Queued by a wake during the poll that finished it. */
	if (done && x->bug != BUG_POLL_AFTER_COMPLETION)
		return;
	ak_context_init(&fresh, w, &t->slot);
	if (x->bug == BUG_REUSE_CONTEXT) {
		/* The bug: one context per task, only its waker (and the
		 * bookkeeping ak_context_done needs) refreshed; the budget
		 * and the branch path stay as the last poll left them. */
		if (!t->kept_made) {
			t->kept = fresh;
			t->kept_made = 1;
		}
		t->kept.flags = fresh.flags;
		t->kept.waker = fresh.waker;
		t->kept.depth_ = fresh.depth_;
		cx = &t->kept;
	}
	/* The bug: a finished task's poll is called (past ak_future_poll,
	 * which would refuse it). */
	int rc = done ? t->body->vtable->poll(t->body, cx)
	              : ak_future_poll(t->body, cx);
	ak_context_done(cx, rc);
	if (rc != AK_PENDING && !done) {
		pthread_mutex_lock(&x->m);
		t->done = 1;
		x->live--;
		pthread_cond_broadcast(&x->c);
		pthread_mutex_unlock(&x->m);
		task_put(t);            /* the executor's */
	}
}

static int own_run(void *ex, int64_t deadline)
{
	struct own *x = ex;
	struct timespec ts;
	deadline_ts(deadline, &ts);
	pthread_mutex_lock(&x->m);
	for (;;) {
		struct own_task *t = x->head;
		if (t) {
			x->head = t->next;
			if (!x->head)
				x->tail = NULL;
			t->queued = 0;
			pthread_mutex_unlock(&x->m);
			own_poll(t);
			task_put(t);    /* the queue's */
			pthread_mutex_lock(&x->m);
		} else if (x->live == 0) {
			break;
		} else if (pthread_cond_timedwait(&x->c, &x->m, &ts) != 0 &&
		           !x->head && x->live > 0) {
			pthread_mutex_unlock(&x->m);
			return AK_ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&x->m);
	return 0;
}

static void own_free(void *ex)
{
	struct own *x = ex;
	pthread_mutex_lock(&x->m);
	x->closed = 1;
	struct own_task *t = x->head;
	x->head = x->tail = NULL;
	pthread_mutex_unlock(&x->m);
	while (t) {
		struct own_task *next = t->next;
		pthread_mutex_lock(&x->m);
		int unfinished = !t->done;
		t->done = 1;
		pthread_mutex_unlock(&x->m);
		if (unfinished) {
			ak_future_cancel(t->body);
			task_put(t);    /* the executor's */
		}
		task_put(t);            /* the queue's */
		t = next;
	}
	/* Parked unfinished tasks: their wakers' owners drop them; the
	 * kit's probes outlive the executor. */
	own_put(x);
}

const struct ak_conform_executor broken_reused_context = {
	"reused-context", own_new, own_spawn, own_run, own_free,
	(void *)(intptr_t)BUG_REUSE_CONTEXT
};
const struct ak_conform_executor broken_poll_after_completion = {
	"poll-after-completion", own_new, own_spawn, own_run, own_free,
	(void *)(intptr_t)BUG_POLL_AFTER_COMPLETION
};
const struct ak_conform_executor own_records_correct = {
	"own-records", own_new, own_spawn, own_run, own_free,
	(void *)(intptr_t)BUG_NONE
};
