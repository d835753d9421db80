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
 * pool_enqueue(), its workers call ak__task_run_unowned().  Reference
 * counted, with a state word that lets exactly one thread poll a task at
 * a time (a wake during a poll only marks it; the poller queues it again
 * when the poll ends).  Each record holds a reference on the pool's
 * memory, so a late wake after ak_pool_free finds the gate closed instead
 * of freed memory.
 *
 * Where a task goes (pool_enqueue):
 *   - woken by the task a worker is polling: that worker's LIFO slot; the
 *     task it displaces goes to the tail of the worker's local queue;
 *   - queued again at the end of its own poll (it was woken during the
 *     poll: a yield), or spawned by a worker: the tail of the local queue;
 *   - from any other thread: the injection queue;
 *   - a pinned task (ak_co_pin(3)), from anywhere: its worker's pinned
 *     queue, never a queue or slot other workers take from.
 * A full local queue (pool_queue.c, 256 entries) moves half of itself to
 * the injection queue.  A worker takes work in this order (next_task):
 * the LIFO slot, at most LIFO_MAX times in a row (then the slot's task goes
 * to the tail of the local queue, so two tasks waking each other cannot
 * starve the rest); the local queue, except that every INJECT_EVERY-th
 * task comes from the injection queue first and every other one from the
 * pinned queue first; the pinned queue; the injection queue; then half of
 * another worker's local queue of two tasks or more (search; a lone one is
 * left to its worker, pool_worker.h).  A spinning worker takes a task held
 * in a LIFO slot while its worker stays in one poll for a whole idle spin
 * of another worker (pool_spin.c); a
 * worker with nothing to do while others poll watches them instead of
 * stealing (the watcher, pool_worker.h).
 *
 * The injection queue and the gate that keeps late wakes out of a freed
 * pool: see pool_inject.h.
 *
 * Pinned tasks.  ak_co_pin() (through ak__pool_pin()) sets a task's home,
 * the worker polling it, from inside that poll.  From then on every entry
 * of the task goes to its home's pinned queue (pool_queue.h), which only
 * that worker pops, so every later poll runs there.  A push from anywhere
 * but the home kicks it (pool_idle.h): the home, if parked, is woken, and
 * one about to park does not.  The home is written during a poll and read
 * by whoever queues the task next: the poller itself, or a waker whose
 * wake read the end of that poll (task.c: acquire, paired with the
 * release that ends the poll).
 *
 * Idle and searching workers: see pool_idle.h.  Work that other workers
 * should see (an injection into an empty queue, a spawn, a task pushed out
 * of the LIFO slot onto a queue it makes steal-worthy while no worker
 * watches, an overflow) notifies; a LIFO wake, a lone task pushed out
 * (ak__pool_pushed_out_notifies()) and a task queued again at the end of
 * its own poll do not.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include <awaitkit/block_on.h>
#include <awaitkit/pool.h>

#include "pool_worker.h"
#include "thread.h"

/* Checks of the queues before a worker goes idle (the default of
 * ak_pool_options.idle_spins): a futex wake costs about 10 us on this
 * machine, a spin of this length a few. */
#define IDLE_SPINS 128
/* LIFO slot polls in a row (the default of ak_pool_options.lifo_max), and
 * the period of the injection queue's turn before the local queue (tokio's
 * figures). */
#define LIFO_MAX 3
#define INJECT_EVERY 61
/* The worker this thread is, if any.  One word in the initial-exec model
 * (as core/shim.c's my_live): a plain load from the thread pointer, where
 * the dynamic model of a position-independent build is a __tls_get_addr
 * call to the compiler, so pool_enqueue() saved its arguments and built a
 * frame around the look. */
static _Thread_local struct worker *tls_worker __attribute__((tls_model("initial-exec")));

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

/* ---- the queues ---------------------------------------------------------------- */

static struct pool_task *task_of_pin(struct ak__pinq_link *l)
{
	return (struct pool_task *)(void *)((char *)l - offsetof(struct pool_task, pin));
}

/* The head of the injection queue or NULL; *more: others follow it. */
static struct pool_task *pop(struct ak_pool *p, int *more)
{
	struct cds_wfcq_node *node = ak__injq_pop(&p->inject, more);
	return node ? task_of_node(node) : NULL;
}

/* Pushes t on the injection queue; the caller gave the queue a reference
 * (and passed the gate, or is a worker).  1 if the queue was empty. */
static int inject(struct ak_pool *p, struct ak_task *base)
{
	return ak__injq_push(&p->inject, &pool_task_of(base)->qnode);
}

/* The head of w's pinned queue (w is this thread's worker), or NULL. */
static struct ak_task *pop_pinned(struct worker *w)
{
	struct ak__pinq_link *l = ak__pinq_pop(&w->pinq);
	return l ? &task_of_pin(l)->base : NULL;
}

/* Queues t at the tail of w's local queue (w is this thread's worker); a
 * full queue moves half of itself to the injection queue. */
static void push_local(struct worker *w, struct ak_task *t, int notify)
{
	struct ak_pool *p = w->pool;
	struct ak_task *batch[AK__RUNQ_CAP / 2];
	int busy;

	while (!ak__runq_push(&w->runq, t)) {
		unsigned n = ak__runq_take_half(&w->runq, batch, &busy);
		if (n == 0 && !busy)
			continue;       /* a steal made room */
		for (unsigned i = 0; i < n; i++)
			inject(p, batch[i]);
		inject(p, t);
		ak__idle_notify(&p->idle);
		return;
	}
	if (notify)
		ak__idle_notify_local(&p->idle);
}

enum { FROM_WAKE, FROM_SPAWN };

/* Queues a pinned task on its home's pinned queue, and kicks the home
 * unless it is the caller (which comes back to its queues anyway). */
static void schedule_pinned(struct worker *home, struct ak_task *t,
                            struct worker *self)
{
	ak__pinq_push(&home->pinq, &pool_task_of(t)->pin);
	if (home != self)
		ak__idle_kick(&home->pool->idle, &home->parker);
}

/* Queues t, whose entry reference the caller gave; see the top of this
 * file for where it goes.  Workers of this pool skip the gate:
 * ak_pool_free joins them before it drains. */
static __attribute__((noinline)) void schedule(struct ak_task *t, struct ak_pool *p,
                                               int from)
{
	struct worker *self = tls_worker;
	struct worker *home = pool_task_of(t)->home;

	if (self && self->pool == p) {
		if (home) {
			schedule_pinned(home, t, self);
			return;
		}
		if (from == FROM_SPAWN || !self->current ||
		    &self->current->base == t || p->lifo_max == 0) {
			/* A spawn, or a task queued again at the end of its
			 * own poll (a yield): behind what is queued.  The
			 * latter needs no other worker: this one comes back to
			 * its queue next.  With no LIFO slot, a wake is queued
			 * as a spawn is. */
			push_local(self, t, from == FROM_SPAWN ||
			                    (self->current && &self->current->base != t));
			return;
		}
		/* Only this worker fills its slot, others empty it: a store
		 * fills an empty one.  release: pairs with the acquire
		 * exchanges that take it (ak__pool_take_lifo()): t's
		 * queueing happens before its poll on a stealer. */
		struct ak_task *prev;
		if (!ak__load(&self->lifo, AK__RELAXED))
			ak__store(&self->lifo, t, AK__RELEASE);
		else if ((prev = ak__xchg(&self->lifo, t, AK__RELEASE)) != NULL) {
			push_local(self, prev, 0);
			if (ak__pool_pushed_out_notifies(self))
				ak__idle_notify_local(&p->idle);
		}
		return;
	}
	if (!ak__injq_enter(&p->inject)) {
		ak__task_put(t);        /* freed pool: every task is done */
		return;
	}
	if (home)
		schedule_pinned(home, t, NULL);
	else if (inject(p, t))
		ak__idle_notify(&p->idle);
	ak__injq_leave(&p->inject);
}

/* A wake.  The common one first, with no frame: made by the task this
 * worker of the pool is polling, of another task that is not pinned, and
 * the LIFO slot is empty (schedule() decides the same, with a store; the
 * worker's lifo_pool is its pool and the pool's slot in use, in one look).
 * schedule() takes the arguments in this order: the tail call moves none. */
static void pool_enqueue(struct ak_task *base, void *arg)
{
	struct worker *self = tls_worker;
	struct ak_pool *p = arg;

	if (self && self->lifo_pool == p && self->current &&
	    &self->current->base != base && !pool_task_of(base)->home &&
	    !ak__load(&self->lifo, AK__RELAXED)) {
		/* release: as in schedule(). */
		ak__store(&self->lifo, base, AK__RELEASE);
		return;
	}
	schedule(base, p, FROM_WAKE);
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

static struct ak_task *pop_inject(struct ak_pool *p)
{
	int more;
	struct pool_task *t = pop(p, &more);
	if (!t)
		return NULL;
	/* A burst fans out: the worker woken searches and finds the rest. */
	if (more)
		ak__idle_notify_local(&p->idle);
	return &t->base;
}

/* The next task of w's own, in the order at the top of this file. */
static struct ak_task *next_task(struct worker *w)
{
	struct ak_pool *p = w->pool;
	struct ak_task *t = ak__pool_take_lifo(w), *u;

	if (t) {
		if (w->lifo_streak < p->lifo_max) {
			w->lifo_streak++;
			return t;
		}
		/* The streak's end: t goes behind what is queued.  Behind
		 * nothing (a convoy's every fourth poll) it would be the local
		 * queue's next pop: it is kept here instead (no push, no
		 * pop's CAS), after the turns that come before that pop. */
		if (!ak__runq_empty(&w->runq)) {
			push_local(w, t, 0);
			t = NULL;
		}
	}
	w->lifo_streak = 0;
	if (++w->tick % INJECT_EVERY == 0 && (u = pop_inject(p)) != NULL)
		goto turn;
	if ((w->tick & 1) && (u = pop_pinned(w)) != NULL)
		goto turn;
	if (t || (t = ak__runq_pop(&w->runq)) != NULL)
		return t;
	if ((t = pop_pinned(w)) != NULL)
		return t;
	return pop_inject(p);
turn:
	/* Another queue's turn: a kept t is queued as the push would have. */
	if (t)
		push_local(w, t, 0);
	return u;
}

static uint32_t next_rand(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 17;
	w->rng ^= w->rng << 5;
	return w->rng;
}

/* Steals half of another worker's local queue (from a random one on), or
 * takes from the injection queue.  *more: work remains behind it.
 * *capped: half of the awake workers search already; w did not. */
static struct ak_task *search(struct worker *w, int *more, int *capped)
{
	struct ak_pool *p = w->pool;
	int n = p->nworkers;
	int start = (int)(next_rand(w) % (uint32_t)n);

	*capped = !ak__idle_start_search(&p->idle, &w->searching);
	if (*capped)
		return NULL;
	for (int i = 0; i < n; i++) {
		struct worker *v = &p->workers[(start + i) % n];
		/* A lone task is left to its worker, which is polling
		 * (AK__POOL_STEAL_AT_ONCE). */
		if (v == w || ak__runq_len(&v->runq) < AK__POOL_STEAL_AT_ONCE)
			continue;
		struct ak_task *t = ak__runq_steal(&v->runq, &w->runq);
		if (t) {
			*more = ak__runq_len(&w->runq) > 0;
			return t;
		}
	}
	int m;
	struct pool_task *t = pop(p, &m);
	*more = m;
	return t ? &t->base : NULL;
}

/* A pool's tasks have no owner; r is the worker loop's runner. */
static void run(struct worker *w, struct ak_task *t, struct ak__task_runner *r)
{
	/* Relaxed: a clock for pool_spin.c, nothing published. */
	ak__store(&w->ticks, ak__load(&w->ticks, AK__RELAXED) + 1, AK__RELAXED);
	w->current = pool_task_of(t);
	ak__task_run_unowned(t, r);
	w->current = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ak_pool *p = w->pool;
	char name[16];

	snprintf(name, sizeof name, "ak-pool-%d", w->index);
	pthread_setname_np(pthread_self(), name);
	tls_worker = w;
	/* One context for every poll of this worker: it runs them all at
	 * this thread's outermost depth, with no task polled around them. */
	struct ak__task_runner r;
	ak__task_runner_init(&r);
	/* acquire: pairs with the release store in ak_pool_free(). */
	while (!ak__load(&p->stopping, AK__ACQUIRE)) {
		int more = 0, capped = 0;
		struct ak_task *t = next_task(w);
		if (!t)
			t = search(w, &more, &capped);
		/* A capped worker goes idle at once: the searchers watch. */
		if (!t && (capped || !ak__pool_spin(w, &t)))
			t = ak__pool_rest(w);
		if (!t)
			continue;
		/* A searcher that took its task from the injection queue
		 * (next_task()) passes on what remains there: its notify in
		 * pop_inject() saw a searcher, itself, and woke nobody. */
		if (w->searching)
			ak__idle_end_search(&p->idle, &w->searching,
			                    more || !ak__injq_empty(&p->inject));
		run(w, t, &r);
	}
	tls_worker = NULL;
	return NULL;
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
	/* All first: a worker looks at the others' queues as it starts. */
	for (i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		w->pool = p;
		w->lifo_pool = p->lifo_max != 0 ? p : NULL;
		w->index = i;
		w->rng = 0x9e3779b9u * (uint32_t)(i + 1);
		ak__runq_init(&w->runq);
		ak__pinq_init(&w->pinq);
		ak__init(&w->lifo, (struct ak_task *)NULL);
		ak__init(&w->ticks, 0u);
		ak__parker_init(&w->parker);
	}
	for (i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
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
	for (int i = 0; i < p->nworkers; i++)
		ak__pinq_destroy(&p->workers[i].pinq);
	ak__free(p->workers);
	p->workers = NULL;
	ak__idle_destroy(&p->idle);
	ak__injq_destroy(&p->inject);
	ak__lock_destroy(&p->lock);
}

AK_EXPORT void ak_pool_options_init(struct ak_pool_options *o)
{
	if (!o)
		return;
	*o = (struct ak_pool_options){ .idle_spins = IDLE_SPINS, .lifo_max = LIFO_MAX };
}

static int options_valid(const struct ak_pool_options *o)
{
	for (size_t i = 0; i < sizeof(o->reserved_) / sizeof(o->reserved_[0]); i++)
		if (o->reserved_[i] != 0)
			return 0;
	return o->nworkers >= 0 && o->nworkers <= AK_POOL_MAX_WORKERS &&
	       o->idle_spins >= 0 && o->idle_spins <= AK_POOL_MAX_IDLE_SPINS &&
	       o->lifo_max >= 0 && o->lifo_max <= AK_POOL_MAX_LIFO;
}

AK_EXPORT int ak_pool_new(struct ak_pool **out, int nworkers)
{
	struct ak_pool_options o;

	ak_pool_options_init(&o);
	o.nworkers = nworkers;
	return ak_pool_new_with(out, &o);
}

AK_EXPORT int ak_pool_new_with(struct ak_pool **out, const struct ak_pool_options *o)
{
	if (!out || !o || !options_valid(o))
		return AK_EINVAL;
	int n = o->nworkers ? o->nworkers : ak__online_cpus(AK_POOL_MAX_WORKERS);
	struct ak_pool *p = ak__alloc(sizeof(*p));
	struct worker *workers = ak__alloc((size_t)n * sizeof(*workers));
	if (!p || !workers || ak__idle_init(&p->idle, n) != 0) {
		ak__free(p);
		ak__free(workers);
		return AK_ENOMEM;
	}
	ak__injq_init(&p->inject);
	ak__lock_init(&p->lock);
	ak__init(&p->refs, 1);
	p->workers = workers;
	p->nworkers = n;
	p->idle_spins = o->idle_spins;
	p->lifo_max = o->lifo_max;
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
	return ak__pool_spawn(p, task, handle, NULL);
}

int ak__pool_spawn(struct ak_pool *p, struct ak_future *task,
                   struct ak_task **handle,
                   void (*body_free)(struct ak_future *body))
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
	              handle ? 3 : 2, 1, NULL, NULL);
	t->pool = p;
	t->base.body_free = body_free;
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
	schedule(&t->base, p, FROM_SPAWN);
	return 0;
}

void ak__pool_pin(struct ak_task *t)
{
	struct worker *w = tls_worker;

	if (w && w->current && &w->current->base == t)
		w->current->home = w;
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
	ak__injq_close(&p->inject);
	cancel_unfinished(p);
	/* Stale entries of cancelled tasks, in every queue and slot: running
	 * one finds it done and drops the queue's reference.  The workers
	 * are joined: their queues are this thread's now. */
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *w = &p->workers[i];
		struct ak_task *t = ak__pool_take_lifo(w);
		if (t)
			ak__task_run(t);
		while ((t = ak__runq_pop(&w->runq)) != NULL)
			ak__task_run(t);
		while ((t = pop_pinned(w)) != NULL)
			ak__task_run(t);
	}
	int more;
	struct pool_task *t;
	while ((t = pop(p, &more)) != NULL)
		ak__task_run(&t->base);
	pool_release_parts(p);
	pool_put(p);
	return 0;
}
