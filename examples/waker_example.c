/*
 * examples/waker_example.c: a minimal executor built on the waker ABI of
 * ak_waker(3): reference-counted task records, a run queue that a wake
 * from any thread pushes to, and a context built afresh for every poll.
 * Its tasks are sleeps, woken from the library's timer thread.
 *
 * ak_waker(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when every task completed with 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <awaitkit.h>

struct task {
	atomic_int refs;            /* the executor's, the queue's, each waker's */
	atomic_int queued;          /* on the run queue */
	struct task *next;          /* run queue link, under rq.lock */
	struct ak_task_slot slot;   /* zeroed at spawn, kept as long as the task */
	struct ak_sleep_op nap;     /* the task: a future */
	int done, rc;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct task *head, *tail;
} rq = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL };

static void task_unref(struct task *t)
{
	/* acq_rel: the last owner sees every other owner's writes to t. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		free(t);
}

/* Queue t unless it is queued already; the queue holds a reference. */
static void run_queue_push_if_idle(struct task *t)
{
	if (atomic_exchange_explicit(&t->queued, 1, memory_order_acq_rel))
		return;
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	pthread_mutex_lock(&rq.lock);
	t->next = NULL;
	if (rq.tail)
		rq.tail->next = t;
	else
		rq.head = t;
	rq.tail = t;
	pthread_cond_signal(&rq.ready);
	pthread_mutex_unlock(&rq.lock);
}

static struct task *run_queue_pop(void)
{
	struct task *t;

	pthread_mutex_lock(&rq.lock);
	while (rq.head == NULL)
		pthread_cond_wait(&rq.ready, &rq.lock);
	t = rq.head;
	if ((rq.head = t->next) == NULL)
		rq.tail = NULL;
	pthread_mutex_unlock(&rq.lock);
	return t;
}

extern const struct ak_waker_vtable my_task_vtable;

static struct ak_waker task_clone(const void *data)
{
	struct task *t = (struct task *)data;
	struct ak_waker w = { t, &my_task_vtable };

	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return w;
}

static void task_wake_by_ref(const void *data)
{
	run_queue_push_if_idle((struct task *)data);  /* never polls */
}

static void task_drop(const void *data)
{
	task_unref((struct task *)data);
}

static void task_wake(const void *data)
{
	task_wake_by_ref(data);
	task_drop(data);
}

const struct ak_waker_vtable my_task_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = task_clone,
	.wake = task_wake,
	.wake_by_ref = task_wake_by_ref,
	.drop = task_drop,
};

/* One poll of t, with a context made for it alone. */
static void run_one(struct task *t)
{
	struct ak_waker w = { t, &my_task_vtable };
	struct ak_context cx;
	int rc;

	/* Cleared before the poll: a wake during it queues the task again. */
	atomic_store_explicit(&t->queued, 0, memory_order_release);
	if (t->done || ak_context_init(&cx, w, &t->slot) != 0)
		return;
	rc = ak_future_poll(&t->nap.future, &cx);
	ak_context_done(&cx, rc);
	if (rc != AK_PENDING) {
		t->done = 1;
		t->rc = rc;
	}
}

#define TASKS 3

int
main(void)
{
	struct task *tasks[TASKS];
	int i, left = TASKS, fails = 0;

	for (i = 0; i < TASKS; i++) {
		struct task *t = calloc(1, sizeof(*t));

		if (t == NULL)
			return 1;
		atomic_init(&t->refs, 1);             /* the executor's */
		ak_sleep_until(&t->nap, ak_deadline_in((i + 1) * 1000000LL));
		tasks[i] = t;
		run_queue_push_if_idle(t);
	}
	while (left > 0) {
		struct task *t = run_queue_pop();
		int was_done = t->done;

		run_one(t);
		if (!was_done && t->done)
			left--;
		task_unref(t);                        /* the queue's */
	}
	for (i = 0; i < TASKS; i++) {
		fails += tasks[i]->rc != 0;
		task_unref(tasks[i]);                 /* the executor's */
	}
	return fails != 0;
}
