/*
 * runtime/blocking.c: spawn_blocking, on a pool of threads the library owns
 * (see ak_blocking(3)).  Built only on the public task API (ak_task(3)).
 *
 * A job is a task whose body is the job record below, and the pool is that
 * task's executor: its schedule function appends the task to one FIFO and
 * hands it to an idle thread, or starts a thread while fewer than the
 * maximum exist; otherwise the job waits its turn.  A pool thread pops the
 * FIFO's head and calls ak_task_run().
 *
 * The function runs inside the body's first poll, so that a cancel that
 * comes while it runs is deferred by the task to the end of that poll:
 * the task finishes (AK_ECANCELED) only after the function returned, and
 * the caller's arg stays in use exactly until a join completes.  But the
 * function must be able to block, and the library's blocking forms refuse
 * to run inside a poll (AK_EDEADLK): so the poll closes its context with
 * ak__context_leave() around the call (the thread's poll depth goes back to
 * what it was outside the poll) and opens it again after.  The first poll
 * then stores the result, wakes its own task and returns AK_PENDING; a
 * cancel that came meanwhile finishes the task there, discarding the
 * result, and otherwise the second poll returns it.  The wake's schedule
 * call happens on the thread that runs the job (schedule() sees tls_job),
 * which polls again at once instead of queueing it behind other jobs.
 *
 * A job record is freed when two references are gone: the body's (the task
 * no longer needs it: dropped by the cancel callback, or by the pool thread
 * after the run whose poll finished the task) and the queue entry's (a
 * pool thread has consumed the entry with ak_task_run(), so none of our
 * threads touches the record again).
 *
 * Threads are detached, run with every signal blocked, and wait idle on a
 * futex word of their own (on their stack, linked into `idle`) with a
 * deadline; the one that reaches it unlinks itself and exits.  Threads
 * allocate nothing through the library, so an idle thread holds no
 * allocation; jobs queued at exit stay reachable from the pool.
 *
 *   field                          guarded by
 *   P.head/tail, job.next,         the pool lock
 *   job.queued, job.task
 *   P.idle, idler.next, nthreads,  the pool lock
 *   nidle, max_threads, idle_ns,
 *   queued
 *   idler.word                     written under the pool lock; the
 *                                  idler's futex word
 *   P.starting                     raised under the lock before a thread
 *                                  starts, lowered by the new thread
 *   job.state, result              the task's polls and its cancel, which
 *                                  the task orders one after another
 *   job.rerun, job.finished        the thread that runs the job
 *   job.refs                       atomic
 */
#include <errno.h>
#include <stdint.h>

#include <awaitkit/block_on.h>
#include <awaitkit/blocking.h>

#include "../core/core.h"
#include "thread.h"
#include "blocking.h"

enum {
	J_WAITING = 0,  /* not started: cancelling it means it never runs */
	J_RETURNED,     /* the function returned; result holds its value */
	J_DONE,         /* the second poll returned the result */
	J_CANCELLED,    /* cancelled: never runs, or its result is dropped */
	J_STRANDED      /* no thread could run it: its poll fails at once */
};

struct job {
	struct ak_future future;    /* first: the task's body */
	ak_blocking_fn fn;
	void *arg;
	struct ak_task *task;
	struct job *next;
	int queued;
	int state;
	int result;
	int rerun;
	int finished;
	ak__atomic(uint32_t) refs;
};

/* An idle thread's futex word. */
enum {
	W_IDLE = 0,
	W_NOTIFIED,     /* a job was queued for it: unlinked from the idle list */
	W_RECHECK       /* the idle time changed: compute the deadline again */
};

struct idler {
	struct idler *next;
	ak__atomic(uint32_t) word;  /* W_*, written under the pool lock */
};

static struct bpool {
	struct ak__lock lock;
	struct job *head, *tail;
	struct idler *idle;         /* the most recently idle first */
	unsigned nthreads;          /* started and not exited */
	unsigned nidle;
	unsigned max_threads;
	int64_t idle_ns;
	ak__atomic(uint32_t) starting;
} P = {
	.lock = AK__LOCK_INITIALIZER,
	.max_threads = AK_BLOCKING_MAX_THREADS,
	.idle_ns = AK_BLOCKING_IDLE_NS,
};

/* The job this thread is running, for schedule(). */
static _Thread_local struct job *tls_job;
/* Set on pool threads: a job's function may fork. */
static _Thread_local int tls_worker;

static struct job *job_of(struct ak_future *f)
{
	return (struct job *)(void *)f;
}

static void job_put(struct job *j)
{
	if (ak__ref_put(&j->refs))
		ak__free(j);
}

/* ---- the body ----------------------------------------------------------- */

static int job_poll(struct ak_future *f, struct ak_context *cx)
{
	struct job *j = job_of(f);

	if (j->state == J_STRANDED) {
		j->finished = 1;
		return AK_ENOMEM;
	}
	if (j->state == J_RETURNED) {
		j->state = J_DONE;
		j->finished = 1;
		return j->result;
	}
	/*
	 * Leave the poll for the call (see the top of the file), then enter
	 * it again: ak__context_enter() puts the thread's poll depth back where
	 * the task's own ak_context_init() left it (the waker is the one that
	 * context was built with, so it needs no second check), and the copy
	 * gives back the context exactly as the task built it.
	 */
	struct ak_context saved = *cx;
	(void)ak__context_leave(cx, 0);
	int rc = j->fn(j->arg);
	ak__context_enter(cx, saved.waker, saved.slot);
	*cx = saved;
	j->result = rc > 0 ? AK_EINVAL : rc;
	j->state = J_RETURNED;
	ak_waker_wake_by_ref(&cx->waker);
	return AK_PENDING;
}

static void job_cancel(struct ak_future *f)
{
	struct job *j = job_of(f);

	j->state = J_CANCELLED;
	job_put(j);     /* the body's reference */
}

static const struct ak_future_vtable job_vtable = { job_poll, job_cancel };

/* ---- threads (pool lock held) ------------------------------------------- */

static void *worker_main(void *arg);

static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* A thread is being born: the fork hook waits for it (see the fork hook). */
static void mark_starting(void)
{
	ak__fetch_add(&P.starting, 1, AK__RELAXED);
}

static void unmark_starting(void)
{
	ak__fetch_sub(&P.starting, 1, AK__RELAXED);
}

/* Starts one thread: 0, or AK_ENOMEM when none could be started. */
static int start_thread(void)
{
	int rc = ak__thread_start(worker_main, "ak-blocking", mark_starting, unmark_starting);
	if (rc == 0)
		P.nthreads++;
	return rc;
}

/*
 * Hands the newest idle thread its wake-up.  The futex wake is made under
 * the lock on purpose: the idler's word lives on its stack, and it cannot
 * leave its wait loop, let alone exit, before it has the lock again.
 */
static void notify_idler(void)
{
	struct idler *w = P.idle;

	P.idle = w->next;
	P.nidle--;
	ak__store(&w->word, W_NOTIFIED, AK__RELAXED);
	ak__futex_wake(&w->word, 1);
}

/* A job was queued: wake a thread for it, or start one below the maximum. */
static void dispatch(void)
{
	if (P.nidle > 0)
		notify_idler();
	else if (P.nthreads < P.max_threads)
		(void)start_thread();
}

/*
 * Waits for work as an idle thread: 1 when woken for a job, 0 when the
 * idle time passed and the thread must exit (unlinked, uncounted).
 */
static int idle_wait(struct idler *me)
{
	int64_t since = ak_now();

	ak__store(&me->word, W_IDLE, AK__RELAXED);
	me->next = P.idle;
	P.idle = me;
	P.nidle++;
	for (;;) {
		/* Read again each turn: ak_blocking_config may change it. */
		int64_t until = add_sat(since, P.idle_ns);
		if (ak_now() >= until)
			break;
		ak__unlock(&P.lock);
		ak__futex_wait(&me->word, W_IDLE, until);
		ak__lock(&P.lock);
		/* Written under the lock we hold: relaxed is enough. */
		uint32_t w = ak__load(&me->word, AK__RELAXED);
		if (w == W_NOTIFIED)
			return 1;
		if (w == W_RECHECK)
			ak__store(&me->word, W_IDLE, AK__RELAXED);
	}
	struct idler **pp = &P.idle;
	while (*pp != me)
		pp = &(*pp)->next;
	*pp = me->next;
	P.nidle--;
	return 0;
}

/* ---- running a job ------------------------------------------------------ */

/* Consumes the queue entry of j's task; the caller holds the entry's
 * reference on j, which this drops. */
static void run_entry(struct job *j, struct ak_task *t)
{
	struct job *outer = tls_job;

	tls_job = j;
	j->finished = 0;
	do {
		j->rerun = 0;
		(void)ak_task_run(t);
	} while (j->rerun);
	tls_job = outer;
	/* The poll that finished the task ran inside the ak_task_run that
	 * returned: the task no longer needs its body. */
	if (j->finished)
		job_put(j);
	job_put(j);
}

static void *worker_main(void *arg)
{
	struct idler me;

	(void)arg;
	tls_worker = 1;
	/* release: pairs with the acquire in ak__blocking_before_fork(): the
	 * thread library and a sanitizer runtime are done starting us. */
	ak__fetch_sub(&P.starting, 1, AK__RELEASE);
	ak__futex_wake(&P.starting, INT32_MAX);
	ak__lock(&P.lock);
	for (;;) {
		/* Over a lowered maximum: leave rather than take a job. */
		if (P.nthreads > P.max_threads)
			break;
		struct job *j = P.head;
		if (j) {
			P.head = j->next;
			if (!P.head)
				P.tail = NULL;
			j->next = NULL;
			j->queued = 0;
			struct ak_task *t = j->task;
			ak__unlock(&P.lock);
			run_entry(j, t);
			ak__lock(&P.lock);
			continue;
		}
		if (!idle_wait(&me))
			break;
	}
	P.nthreads--;
	ak__unlock(&P.lock);
	return NULL;
}

/* ---- the executor's schedule function ------------------------------------ */

static void job_schedule(struct ak_task *task, void *arg)
{
	struct job *j = arg;

	if (tls_job == j) {
		/* The job's own wake at the end of its first poll, on the
		 * thread that runs it: that thread polls it again at once. */
		j->rerun = 1;
		return;
	}
	ak__ref_get(&j->refs);          /* the entry's */
	ak__lock(&P.lock);
	j->task = task;
	j->next = NULL;
	j->queued = 1;
	if (P.tail)
		P.tail->next = j;
	else
		P.head = j;
	P.tail = j;
	dispatch();
	ak__unlock(&P.lock);
}

/* ---- public --------------------------------------------------------------- */

AK_EXPORT int ak_blocking_spawn(ak_blocking_fn fn, void *arg, struct ak_task **task)
{
	struct ak_task *t;

	if (!fn)
		return AK_EINVAL;
	struct job *j = ak__alloc(sizeof(*j));
	if (!j)
		return AK_ENOMEM;
	j->fn = fn;
	j->arg = arg;
	ak__init(&j->refs, 1);          /* the body's */
	(void)ak_future_init(&j->future, &job_vtable);
	int rc = ak_task_new(&j->future, job_schedule, j, &t);
	if (rc != 0) {
		ak__free(j);
		return rc;
	}
	/* Our own reference on j until we know it has a thread. */
	ak__ref_get(&j->refs);
	rc = ak_task_schedule(t);
	/*
	 * Stranded: no thread exists and none could be started.  Take the
	 * entry back and finish the task through its own poll (AK_ENOMEM,
	 * the function never runs), so that the entry is consumed as any
	 * other.
	 */
	int stranded = 0;
	ak__lock(&P.lock);
	if (rc == 0 && j->queued && P.nthreads == 0) {
		struct job **pp = &P.head, *prev = NULL;
		while (*pp != j) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = j->next;
		if (P.tail == j)
			P.tail = prev;
		j->next = NULL;
		j->queued = 0;
		j->state = J_STRANDED;
		stranded = 1;
	}
	ak__unlock(&P.lock);
	if (stranded)
		run_entry(j, t);
	job_put(j);
	if (rc == 0 && stranded)
		rc = AK_ENOMEM;
	if (rc != 0 || !task)
		ak_task_release(t);
	else
		*task = t;
	return rc;
}

AK_EXPORT int ak_blocking_config(unsigned max_threads, int64_t idle_ns)
{
	if (max_threads > AK_BLOCKING_THREADS_LIMIT || idle_ns < 0)
		return AK_EINVAL;
	ak__lock(&P.lock);
	if (max_threads != 0)
		P.max_threads = max_threads;
	if (idle_ns != 0)
		P.idle_ns = idle_ns;
	/* Idle threads look at their deadline again (it may have come; the
	 * word, not only the wake, so that one about to sleep sees it), and
	 * queued jobs get the threads a raised maximum allows.  Woken under
	 * the lock, as in notify_idler(). */
	for (struct idler *w = P.idle; w; w = w->next) {
		ak__store(&w->word, W_RECHECK, AK__RELAXED);
		ak__futex_wake(&w->word, 1);
	}
	for (struct job *j = P.head; j && P.nidle == 0 && P.nthreads < P.max_threads;
	     j = j->next)
		if (start_thread() != 0)
			break;
	ak__unlock(&P.lock);
	return 0;
}

AK_EXPORT unsigned ak_blocking_thread_count(void)
{
	ak__lock(&P.lock);
	unsigned n = P.nthreads;
	ak__unlock(&P.lock);
	return n;
}

/* ---- fork ----------------------------------------------------------------- */

void ak__blocking_before_fork(void)
{
	ak__lock(&P.lock);
	/*
	 * No thread may be half started at the fork: its start code may hold
	 * an allocator lock a sanitizer's allocator does not quiesce (see
	 * ak__timer_before_fork).  acquire: pairs with the release at the
	 * top of worker_main().
	 */
	uint32_t s;
	while ((s = ak__load(&P.starting, AK__ACQUIRE)) != 0) {
		ak__unlock(&P.lock);
		ak__futex_wait(&P.starting, s, AK_DEADLINE_NEVER);
		ak__lock(&P.lock);
	}
}

void ak__blocking_after_fork_parent(void)
{
	ak__unlock(&P.lock);
}

void ak__blocking_after_fork_child(void)
{
	/*
	 * None of the parent's threads exists here, and the idlers lived on
	 * their stacks: forget them without touching them.  Jobs that were
	 * running stay unfinished; queued jobs run here too, on threads
	 * started now (or by the next spawn, if none can be).  If a job's
	 * function forked, its thread is the one that survived, and goes
	 * back to the pool when the function returns.
	 */
	P.idle = NULL;
	P.nidle = 0;
	P.nthreads = tls_worker ? 1 : 0;
	ak__store(&P.starting, 0, AK__RELAXED);
	for (struct job *j = P.head; j && P.nthreads < P.max_threads; j = j->next)
		if (start_thread() != 0)
			break;
	ak__unlock(&P.lock);
}
