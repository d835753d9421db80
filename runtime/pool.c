/*
 * runtime/pool.c: the multi-thread pool executor.
 *
 * Synchronization contract:
 *
 *   call                         thread
 *   ak_pool_new                  any
 *   ak_pool_spawn                any, tasks of the pool included; not racing
 *                                with ak_pool_free, except from its tasks
 *   ak_pool_wait_idle,           any thread that is not inside a poll and
 *   ak_pool_task_count           not a worker
 *   ak_pool_free                 once, from a thread that is not inside a
 *                                poll and not a worker
 *   waker clone/wake/drop        any thread, any time, also after free
 *   ak_task_cancel/result/       any thread, also after free
 *   release
 *
 * Tasks are the records of the task API (runtime/task.h, ak_task(3)), the
 * pool being one more executor over it: its schedule function is
 * pool_enqueue(), its workers call ak__task_run().  Reference counted, with a
 * state word that lets exactly one thread poll a task at a time (a wake
 * during a poll only marks it; the poller queues it again at the tail when
 * the poll ends).  Each record holds a reference on the pool's memory, so a
 * late wake after ak_pool_free finds the gate closed instead of freed
 * memory.
 *
 * The injection queue is liburcu's wfcqueue.  Why it, here: its enqueue is
 * wait-free (one exchange, no lock, from any thread: wakers run on threads
 * the pool does not own, possibly inside a primitive's hot path), and it
 * reports whether the queue was empty, which is exactly when a parked
 * worker must be woken; a busy queue costs producers no wake-up traffic.
 * Dequeues are mutually excluded by the pool's own consumer lock (liburcu's
 * synchronization table requires it) and are always non-blocking: the
 * blocking dequeue may sleep 10 ms waiting for a half-done enqueue, which
 * would stall a worker, so on CDS_WFCQ_WOULDBLOCK we spin, then yield.
 * Debian's liburcu 0.13 is invisible to ThreadSanitizer (its atomics are
 * inline asm): every enqueue is annotated with AK__HB_RELEASE on the node and
 * every dequeue with AK__HB_ACQUIRE, which tells TSan that the enqueue
 * happens-before the dequeue that returns the node.  We link the shared
 * liburcu-cds and never define _LGPL_SOURCE, so its internals stay
 * uninstrumented.
 *
 * Idle workers: `idle` counts registered idle workers (in steps of
 * IDLE_ONE) and carries a NOTIFIED token.  An enqueue that found the queue
 * empty calls notify_one(): one CAS that either claims an idle worker (then
 * pops it from the idle stack and unparks it) or leaves the token.  A worker
 * that found nothing to do spins a little, then goes idle with one CAS that
 * either consumes the token (and looks again) or registers it.  Both sides
 * are read-modify-writes of the same word, so one of them sees the other:
 * no wake-up is lost.  A worker that dequeues a task and sees more behind
 * it wakes another idle worker, so a burst fans out.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <urcu/wfcqueue.h>

#include <awaitkit/block_on.h>
#include <awaitkit/pool.h>

#include "task.h"

#define CACHELINE 64

/* Checks of the queue before a worker goes idle: a futex wake costs about
 * 10 us on this machine, a spin of this length a few. */
#define IDLE_SPINS 128
/* Relaxed retries of a dequeue that would block, before yielding. */
#define DEQUEUE_SPINS 64

#define IDLE_NOTIFIED 1u
#define IDLE_ONE 2u
#define GATE_CLOSED 1u
#define GATE_ONE 2u

struct pool_task {
	struct ak_task base;
	struct cds_wfcq_node qnode;
	struct ak_pool *pool;
};

struct worker {
	struct ak__parker parker;
	struct ak_pool *pool;
	struct pool_task *current;      /* the task it runs: its own thread only */
	pthread_t thread;
	int index;
	char pad_[CACHELINE];           /* parkers on separate lines */
};

struct ak_pool {
	/* Consumers' side of the queue. */
	struct __cds_wfcq_head head;
	struct ak__lock consumer;       /* exclusion among dequeuers */
	char pad0_[CACHELINE];
	/* Producers' side. */
	struct cds_wfcq_tail tail;
	char pad1_[CACHELINE];
	ak__atomic(uint64_t) idle;      /* idle workers * IDLE_ONE | NOTIFIED */
	ak__atomic(uint32_t) gate;      /* foreign enqueues * GATE_ONE | CLOSED */
	ak__atomic(uint32_t) stopping;  /* workers exit */
	ak__atomic(uint32_t) refs;      /* the pool's own, one per task record */
	ak__atomic(uint32_t) live;      /* unfinished tasks; wait_idle's futex */
	ak__atomic(uint32_t) live_waiters;
	struct ak__lock idle_lock;      /* guards idle_stack, nidle */
	struct worker **idle_stack;
	int nidle;
	struct ak__lock lock;           /* guards unfinished, shutdown */
	struct ak__task_list unfinished;
	int shutdown;
	int nworkers;
	struct worker *workers;
};

/* The worker this thread is, if any. */
static _Thread_local struct worker *tls_worker;

static struct pool_task *pool_task_of(struct ak_task *t)
{
	return (struct pool_task *)(void *)t;
}

static struct pool_task *task_of_node(struct cds_wfcq_node *node)
{
	return (struct pool_task *)(void *)((char *)node -
	                                    offsetof(struct pool_task, qnode));
}

static void pool_put(struct ak_pool *p)
{
	if (ak__ref_put(&p->refs))
		ak__free(p);
}

/* ---- idle workers ----------------------------------------------------------- */

/* Wakes one idle worker, or leaves a token for the next one going idle. */
static void notify_one(struct ak_pool *p)
{
	uint64_t s = ak__load(&p->idle, AK__RELAXED);
	for (;;) {
		/* Re-setting a token already set is still a write: it makes our
		 * enqueue visible to the worker that consumes the token. */
		uint64_t next = s >= IDLE_ONE ? s - IDLE_ONE : (s | IDLE_NOTIFIED);
		/* release: pairs with the acquire in go_idle() that consumes
		 * the token, so that worker sees the enqueue made before. */
		if (ak__cas_weak(&p->idle, &s, next, AK__RELEASE, AK__RELAXED))
			break;
	}
	if (s < IDLE_ONE)
		return;
	/* We claimed a registration; the worker pushed itself under the
	 * lock in the same critical section as its CAS, so it is there. */
	ak__lock(&p->idle_lock);
	struct worker *w = p->idle_stack[--p->nidle];
	ak__unlock(&p->idle_lock);
	ak__unpark(&w->parker);
}

/* 1 when registered idle (the caller parks), 0 when a token was consumed
 * (the caller looks at the queue again). */
static int go_idle(struct ak_pool *p, struct worker *w)
{
	int registered = 0;

	ak__lock(&p->idle_lock);
	uint64_t s = ak__load(&p->idle, AK__RELAXED);
	for (;;) {
		if (s & IDLE_NOTIFIED) {
			/* acquire: pairs with the release in notify_one(). */
			if (ak__cas_weak(&p->idle, &s, s & ~(uint64_t)IDLE_NOTIFIED,
			                 AK__ACQUIRE, AK__RELAXED))
				break;
		} else if (ak__cas_weak(&p->idle, &s, s + IDLE_ONE, AK__RELAXED,
		                        AK__RELAXED)) {
			/* Relaxed: what a claiming notifier needs of us (the
			 * stack entry) is ordered by idle_lock; what we need of
			 * it comes through the unpark. */
			p->idle_stack[p->nidle++] = w;
			registered = 1;
			break;
		}
	}
	ak__unlock(&p->idle_lock);
	return registered;
}

/* ---- the injection queue ------------------------------------------------------ */

static int queue_empty(struct ak_pool *p)
{
	return cds_wfcq_empty(&p->head, &p->tail);
}

static void backoff(unsigned attempt)
{
	if (attempt < DEQUEUE_SPINS)
		ak__cpu_relax();
	else
		ak__yield();
}

/* The head of the queue or NULL; *more says whether others follow it. */
static struct pool_task *pop(struct ak_pool *p, int *more)
{
	struct cds_wfcq_node *node;
	int state = 0;

	*more = 0;
	if (queue_empty(p))
		return NULL;
	for (unsigned attempt = 0;; attempt++) {
		ak__lock(&p->consumer);
		node = __cds_wfcq_dequeue_with_state_nonblocking(&p->head, &p->tail,
		                                                  &state);
		ak__unlock(&p->consumer);
		if (node != CDS_WFCQ_WOULDBLOCK)
			break;
		/* An enqueue is half done: its producer finishes in a few
		 * instructions unless it was preempted. */
		backoff(attempt);
	}
	if (!node)
		return NULL;
	/* Pairs with the AK__HB_RELEASE in pool_enqueue(). */
	AK__HB_ACQUIRE(node);
	*more = !(state & CDS_WFCQ_STATE_LAST);
	return task_of_node(node);
}

/* Admits an enqueue from a thread that is not one of the pool's workers;
 * 0 when the pool has been freed (the gate is closed). */
static int gate_enter(struct ak_pool *p)
{
	/* acquire: keeps the enqueue below the check.  The release it may
	 * read from is close_gate()'s, which publishes nothing we use. */
	uint32_t g = ak__fetch_add(&p->gate, GATE_ONE, AK__ACQUIRE);
	if (g & GATE_CLOSED) {
		ak__fetch_sub(&p->gate, GATE_ONE, AK__RELAXED);
		return 0;
	}
	return 1;
}

static void gate_leave(struct ak_pool *p)
{
	/* release: pairs with the acquire load in close_gate(), so the
	 * enqueue is complete before the pool drains its queue. */
	ak__fetch_sub(&p->gate, GATE_ONE, AK__RELEASE);
}

/* Waits for the foreign enqueues in flight; later ones are refused. */
static void close_gate(struct ak_pool *p)
{
	/* acq_rel: keeps the close between what free did before it (the
	 * workers' stop) and after it (the cancels, the drain); pairs with
	 * the acquire in gate_enter() that reads it. */
	ak__fetch_or(&p->gate, GATE_CLOSED, AK__ACQ_REL);
	/* acquire: pairs with the release in gate_leave(). */
	while (ak__load(&p->gate, AK__ACQUIRE) >= GATE_ONE)
		ak__yield();
}

/*
 * Queues t at the tail; the caller gave the queue a reference.  Workers of
 * this pool skip the gate: ak_pool_free joins them before it drains.
 */
static void pool_enqueue(struct ak_task *base, void *arg)
{
	struct pool_task *t = pool_task_of(base);
	struct ak_pool *p = arg;
	struct worker *self = tls_worker;
	int own = self && self->pool == p;

	if (!own && !gate_enter(p)) {
		ak__task_put(base);     /* freed pool: every task is done */
		return;
	}
	cds_wfcq_node_init(&t->qnode);
	/* Pairs with the AK__HB_ACQUIRE in pop(). */
	AK__HB_RELEASE(&t->qnode);
	int was_empty = !cds_wfcq_enqueue(&p->head, &p->tail, &t->qnode);
	/* t may be running on another worker already: not touched again.
	 * A task queued again at the end of its own poll needs no other
	 * worker: this one comes back to the queue next. */
	if (was_empty && !(own && self->current == t))
		notify_one(p);
	if (!own)
		gate_leave(p);
}

/* ---- task records ---------------------------------------------------------------- */

static void pool_retire(struct ak_task *base)
{
	struct pool_task *t = pool_task_of(base);
	struct ak_pool *p = t->pool;

	ak__lock(&p->lock);
	ak__task_list_remove(&p->unfinished, base);
	ak__unlock(&p->lock);
	/* seq_cst, with the two in ak_pool_wait_idle(): either it sees the
	 * count at 0 or we see its waiter.  Also the release that pairs with
	 * its acquire of the count: the task's DONE is visible there. */
	if (ak__fetch_sub(&p->live, 1, AK__SEQ_CST) == 1 &&
	    ak__load(&p->live_waiters, AK__SEQ_CST) != 0)
		ak__futex_wake(&p->live, INT_MAX);
}

static void pool_destroy(struct ak_task *base)
{
	struct pool_task *t = pool_task_of(base);

	pool_put(t->pool);
	ak__free_sized(t, sizeof(*t));
}

static const struct ak__task_hooks pool_hooks = {
	.retire = pool_retire,
	.destroy = pool_destroy,
};

/* ---- workers ------------------------------------------------------------------ */

/* 1 as soon as the queue has something (or the pool stops), 0 after the
 * bounded spin. */
static int spin_for_work(struct ak_pool *p)
{
	for (int i = 0; i < IDLE_SPINS; i++) {
		if (!queue_empty(p) || ak__load(&p->stopping, AK__RELAXED))
			return 1;
		ak__cpu_relax();
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ak_pool *p = w->pool;
	char name[16];

	snprintf(name, sizeof name, "ak-pool-%d", w->index);
	pthread_setname_np(pthread_self(), name);
	tls_worker = w;
	/* acquire: pairs with the release store in ak_pool_free(). */
	while (!ak__load(&p->stopping, AK__ACQUIRE)) {
		int more;
		struct pool_task *t = pop(p, &more);
		if (t) {
			if (more && ak__load(&p->idle, AK__RELAXED) >= IDLE_ONE)
				notify_one(p);
			w->current = t;
			ak__task_run(&t->base);
			w->current = NULL;
			continue;
		}
		if (spin_for_work(p))
			continue;
		if (go_idle(p, w))
			ak__park(&w->parker, AK_DEADLINE_NEVER);
	}
	tls_worker = NULL;
	return NULL;
}

static int online_cpus(void)
{
	int saved = errno;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	errno = saved;
	if (n < 1)
		return 1;
	return n > AK_POOL_MAX_WORKERS ? AK_POOL_MAX_WORKERS : (int)n;
}

/* Stops and joins the first n workers. */
static void stop_workers(struct ak_pool *p, int n)
{
	/* release: pairs with the acquire load in worker_main(). */
	ak__store(&p->stopping, 1, AK__RELEASE);
	/* Set after stopping: a task that sees a spawn fail with AK_EPIPE
	 * knows its worker polls nothing more once its poll returns. */
	ak__lock(&p->lock);
	p->shutdown = 1;
	ak__unlock(&p->lock);
	for (int i = 0; i < n; i++)
		ak__unpark(&p->workers[i].parker);
	int saved = errno;
	for (int i = 0; i < n; i++)
		pthread_join(p->workers[i].thread, NULL);
	errno = saved;
}

/* Workers take no signals: they belong to the application's threads. */
static int start_workers(struct ak_pool *p)
{
	sigset_t all, old;
	int saved = errno, rc = 0, i;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		w->pool = p;
		w->index = i;
		ak__parker_init(&w->parker);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			rc = AK_ENOMEM;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	if (rc)
		stop_workers(p, i);
	return rc;
}

static void pool_release_parts(struct ak_pool *p)
{
	ak__free(p->workers);
	ak__free(p->idle_stack);
	p->workers = NULL;
	p->idle_stack = NULL;
	ak__lock_destroy(&p->consumer);
	ak__lock_destroy(&p->idle_lock);
	ak__lock_destroy(&p->lock);
}

AK_EXPORT int ak_pool_new(struct ak_pool **out, int nworkers)
{
	if (!out || nworkers < 0 || nworkers > AK_POOL_MAX_WORKERS)
		return AK_EINVAL;
	int n = nworkers ? nworkers : online_cpus();
	struct ak_pool *p = ak__alloc(sizeof(*p));
	struct worker *workers = ak__alloc((size_t)n * sizeof(*workers));
	struct worker **stack = ak__alloc((size_t)n * sizeof(*stack));
	if (!p || !workers || !stack) {
		ak__free(p);
		ak__free(workers);
		ak__free(stack);
		return AK_ENOMEM;
	}
	__cds_wfcq_init(&p->head, &p->tail);
	ak__lock_init(&p->consumer);
	ak__lock_init(&p->idle_lock);
	ak__lock_init(&p->lock);
	ak__init(&p->refs, 1);
	p->workers = workers;
	p->idle_stack = stack;
	p->nworkers = n;
	int rc = start_workers(p);
	if (rc) {
		pool_release_parts(p);
		pool_put(p);
		return rc;
	}
	*out = p;
	return 0;
}

AK_EXPORT int ak_pool_spawn(struct ak_pool *p, struct ak_future *task,
                            struct ak_task **handle)
{
	if (!p || ak__future_claim(task) != 0)
		return AK_EINVAL;
	struct pool_task *t = ak__alloc(sizeof(*t));
	if (!t) {
		task->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	/* The life reference, the run queue's, and the handle's. */
	ak__task_init(&t->base, task, pool_enqueue, p, &pool_hooks,
	              handle ? 3 : 2, 1, NULL);
	t->pool = p;
	ak__lock(&p->lock);
	if (p->shutdown) {
		ak__unlock(&p->lock);
		ak__free_sized(t, sizeof(*t));
		task->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_EPIPE;
	}
	ak__ref_get(&p->refs);
	ak__task_list_append(&p->unfinished, &t->base);
	/* Relaxed: a count going up publishes nothing. */
	ak__fetch_add(&p->live, 1, AK__RELAXED);
	ak__unlock(&p->lock);
	if (handle)
		*handle = &t->base;
	pool_enqueue(&t->base, p);
	return 0;
}

/* Blocking calls refuse inside a poll and on a worker (a cancel running
 * there is outside any poll, but it would stall the worker all the same). */
static int may_block(void)
{
	return ak__may_block() && tls_worker == NULL;
}

AK_EXPORT int ak_pool_wait_idle(struct ak_pool *p, int64_t deadline)
{
	if (!p)
		return AK_EINVAL;
	if (!may_block())
		return AK_EDEADLK;
	for (;;) {
		ak__fetch_add(&p->live_waiters, 1, AK__SEQ_CST);
		/* seq_cst: pairs with pool_retire() (see there). */
		uint32_t n = ak__load(&p->live, AK__SEQ_CST);
		int rc = n ? ak__futex_wait(&p->live, n, deadline) : 0;
		ak__fetch_sub(&p->live_waiters, 1, AK__RELAXED);
		if (n == 0)
			return 0;
		/* acquire: pairs with the release in pool_retire(). */
		if (rc == AK_ETIMEDOUT)
			return ak__load(&p->live, AK__ACQUIRE) == 0 ? 0 : AK_ETIMEDOUT;
	}
}

AK_EXPORT size_t ak_pool_task_count(const struct ak_pool *p)
{
	if (!p)
		return 0;
	/* Relaxed: a snapshot, ordered with nothing. */
	return ak__load(&((struct ak_pool *)(uintptr_t)p)->live, AK__RELAXED);
}

/* Cancels every unfinished task on this thread (the workers are gone). */
static void cancel_unfinished(struct ak_pool *p)
{
	for (;;) {
		ak__lock(&p->lock);
		struct ak_task *t = p->unfinished.head;
		if (t)
			ak__ref_get(&t->refs);
		ak__unlock(&p->lock);
		if (!t)
			return;
		ak__task_abort(t, AK_ECANCELED);
		/* Still listed: another thread is cancelling it through its
		 * handle and retires it in a moment. */
		ak__lock(&p->lock);
		int listed = p->unfinished.head == t;
		ak__unlock(&p->lock);
		if (listed)
			ak__yield();
		ak__task_put(t);
	}
}

AK_EXPORT int ak_pool_free(struct ak_pool *p)
{
	if (!p)
		return AK_EINVAL;
	if (tls_worker && tls_worker->pool == p)
		return AK_EBUSY;
	if (!may_block())
		return AK_EDEADLK;
	stop_workers(p, p->nworkers);
	close_gate(p);
	cancel_unfinished(p);
	/* Stale entries of cancelled tasks: running one finds it done and
	 * drops the queue's reference. */
	int more;
	struct pool_task *t;
	while ((t = pop(p, &more)) != NULL)
		ak__task_run(&t->base);
	pool_release_parts(p);
	pool_put(p);
	return 0;
}
