/*
 * runtime/executor.c: the single-thread executor, an executor over the
 * task API of <awaitkit/task.h> (runtime/task.h) like any a user writes:
 * its schedule function pushes, its loops pop and run.
 *
 * Synchronization contract:
 *
 *   call                         thread
 *   spawn, run, run_until,       the executor's owner, one at a time
 *   run_all, run_budget, fd,
 *   task_count, free
 *   waker clone/wake/drop        any thread, any time, also after free
 *   ak_task_* on its handles     as ak_task(3) says (any thread)
 *
 * A task record is reference counted: the task holds its life reference
 * while unfinished, each run-queue entry one, each waker clone one, a
 * handle one.  Records hold a reference on the shared part of the executor
 * (its remote queue, parker and eventfd), so a late wake from another
 * thread finds it closed instead of freed, and the eventfd stays open until
 * no waker can write to it.
 *
 * Wakes made on the thread that is running the executor go to a local FIFO
 * without a lock; others go to the remote FIFO under the shared lock,
 * unpark the owner and, once ak_executor_fd() made one, make the eventfd
 * readable (one write per drain, under the lock: fd_signaled says the
 * counter is non-zero).
 */
#include <limits.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <awaitkit/block_on.h>
#include <awaitkit/executor.h>

#include "task.h"

struct exec_shared {
	struct ak__task_owner own;     /* its tasks' owner: who runs it now */
	ak__atomic(uint32_t) refs;
	ak__atomic(uintptr_t) owner_mark;  /* the thread that last used it */
	struct ak__lock lock;          /* guards remote_*, closed, fd_signaled */
	struct exec_task *remote_head;
	struct exec_task *remote_tail;
	int closed;
	int fd;                        /* the eventfd, or -1; set under lock */
	int fd_signaled;               /* fd is readable (a write not drained) */
	struct ak__parker parker;      /* the owner sleeps here */
};

struct exec_task {
	struct ak_task base;           /* base.lnext: the local queue's link */
	struct exec_task *rnext;       /* remote queue link: under sh->lock */
	struct exec_shared *sh;
	struct ak_executor *ex;        /* only used while not done */
};

struct ak_executor {
	struct exec_shared *sh;
	struct ak__task_queue local;   /* the owner's FIFO (runtime/task.h) */
	struct ak__task_list unfinished;  /* owner only */
	size_t live;
	int running;
	uintptr_t prev_owner;          /* what leave restores in sh->own */
	int fd;                        /* the owner's copy of sh->fd */
};

/* A thread's identity for owner_mark: the address of this. */
static _Thread_local char tls_mark;

static uintptr_t my_mark(void)
{
	return (uintptr_t)(void *)&tls_mark;
}

/* Every owner call marks its thread: a task cancel made later on this
 * thread, between runs, acts as the owner's (exec_owner_here). */
static void mark_owner(struct ak_executor *ex)
{
	/* Relaxed: compared only with the reader's own mark. */
	ak__store(&ex->sh->owner_mark, my_mark(), AK__RELAXED);
}

static struct exec_task *exec_task_of(struct ak_task *t)
{
	return (struct exec_task *)(void *)t;
}

static void shared_put(struct exec_shared *sh)
{
	if (ak__ref_put(&sh->refs)) {
		if (sh->fd >= 0) {
			int saved = errno;
			close(sh->fd);
			errno = saved;
		}
		ak__lock_destroy(&sh->lock);
		ak__free(sh);
	}
}

/* The remote queue has its own link: a task may have an entry there and
 * one in the local queue at once (ak__task_adopt() drops one of them). */
static void remote_push(struct exec_shared *sh, struct exec_task *t)
{
	t->rnext = NULL;
	if (sh->remote_tail)
		sh->remote_tail->rnext = t;
	else
		sh->remote_head = t;
	sh->remote_tail = t;
}

static void fd_write(int fd)
{
	uint64_t one = 1;
	int saved = errno;
	/* Cannot fail short of a counter at its maximum, which one write
	 * per drain never reaches. */
	ssize_t n = write(fd, &one, sizeof one);
	(void)n;
	errno = saved;
}

/* Makes the eventfd readable unless it is already; under sh->lock.  The
 * write is made under the lock too, so that fd_signaled and the counter
 * always agree: a write made after the lock was dropped could land after
 * fd_drain() cleared the flag, and leave the fd readable with nothing to
 * drain it (a level-triggered loop would then spin). */
static void fd_arm_locked(struct exec_shared *sh)
{
	if (sh->fd < 0 || sh->fd_signaled)
		return;
	sh->fd_signaled = 1;
	fd_write(sh->fd);
}

static void fd_arm(struct ak_executor *ex)
{
	if (ex->fd < 0)
		return;
	ak__lock(&ex->sh->lock);
	fd_arm_locked(ex->sh);
	ak__unlock(&ex->sh->lock);
}

/* The executor's schedule function: queues t; the caller has given the
 * queue a reference. */
static void exec_schedule(struct ak_task *base, void *arg)
{
	struct exec_task *t = exec_task_of(base);
	struct exec_shared *sh = arg;

	/* On the owner: the local FIFO, no lock.  The task layer decides
	 * with the same word (its owned wakes are plain only there). */
	if (ak__task_owner_is_here(&sh->own)) {
		ak__task_queue_push(&t->ex->local, base);
		return;
	}
	ak__lock(&sh->lock);
	int closed = sh->closed;
	if (!closed) {
		remote_push(sh, t);
		fd_arm_locked(sh);
	}
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

	ak__task_list_remove(&t->ex->unfinished, base);
	t->ex->live--;
}

static void exec_destroy(struct ak_task *base)
{
	struct exec_task *t = exec_task_of(base);

	shared_put(t->sh);
	ak__free_sized(t, sizeof(*t));
}

/* A cancel between runs, on the thread that last used the executor. */
static int exec_owner_here(struct ak_task *base)
{
	struct exec_task *t = exec_task_of(base);
	/* Relaxed: equal only to the mark this thread stored itself. */
	return ak__load(&t->sh->owner_mark, AK__RELAXED) == my_mark();
}

static const struct ak__task_hooks exec_hooks = {
	.retire = exec_retire,
	.destroy = exec_destroy,
	.owner_here = exec_owner_here,
};

/* run_until's own future: not a spawned task, not counted. */
static const struct ak__task_hooks main_hooks = {
	.retire = NULL,
	.destroy = exec_destroy,
	.owner_here = exec_owner_here,
};

/* Moves the remote queue's entries to the local one, adopting each. */
static void take_remote(struct ak_executor *ex)
{
	ak__lock(&ex->sh->lock);
	struct exec_task *t = ex->sh->remote_head;
	ex->sh->remote_head = ex->sh->remote_tail = NULL;
	ak__unlock(&ex->sh->lock);
	while (t) {
		/* Read before adopting: once adopted, t may be pushed again. */
		struct exec_task *next = t->rnext;
		if (ak__task_adopt(&t->base))
			ak__task_queue_push(&ex->local, &t->base);
		t = next;
	}
}

static struct exec_task *dequeue(struct ak_executor *ex)
{
	if (!ex->local.head)
		take_remote(ex);
	return exec_task_of(ak__task_queue_pop(&ex->local));
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
	ak__init(&sh->own.thread, (uintptr_t)0);
	ak__init(&sh->owner_mark, my_mark());
	ak__lock_init(&sh->lock);
	ak__parker_init(&sh->parker);
	sh->fd = -1;
	ex->sh = sh;
	ex->fd = -1;
	*out = ex;
	return 0;
}

/* refs: the life reference, the run queue's, and the caller's. */
static struct exec_task *task_new(struct ak_executor *ex, struct ak_future *f,
                                  const struct ak__task_hooks *hooks,
                                  uint32_t refs)
{
	struct exec_task *t = ak__alloc(sizeof(*t));
	if (!t)
		return NULL;
	ak__task_init(&t->base, f, exec_schedule, ex->sh, hooks, refs, 1,
	              &ex->sh->own, &ex->local);
	t->sh = ex->sh;
	t->ex = ex;
	ak__ref_get(&ex->sh->refs);
	return t;
}

int ak__executor_spawn(struct ak_executor *ex, struct ak_future *task,
                       struct ak_task **handle,
                       void (*body_free)(struct ak_future *body))
{
	if (!ex || ak__future_claim(task) != 0)
		return AK_EINVAL;
	mark_owner(ex);
	struct exec_task *t = task_new(ex, task, &exec_hooks, handle ? 3 : 2);
	if (!t) {
		task->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	t->base.body_free = body_free;
	ak__task_list_append(&ex->unfinished, &t->base);
	ex->live++;
	ak__task_queue_push(&ex->local, &t->base);
	if (!ex->running)
		fd_arm(ex);
	if (handle)
		*handle = &t->base;
	return 0;
}

AK_EXPORT int ak_executor_spawn(struct ak_executor *ex, struct ak_future *task,
                                struct ak_task **handle)
{
	return ak__executor_spawn(ex, task, handle, NULL);
}

/* Calls that park the thread also refuse inside a host loop. */
static int enter(struct ak_executor *ex, int parks)
{
	if (!ex)
		return AK_EINVAL;
	if (ak__in_poll() || (parks && !ak__may_block()))
		return AK_EDEADLK;
	if (ex->running)
		return AK_EBUSY;
	ex->running = 1;
	mark_owner(ex);
	ex->prev_owner = ak__task_owner_enter(&ex->sh->own);
	return 0;
}

static void leave(struct ak_executor *ex)
{
	ex->running = 0;
	ak__task_owner_leave(&ex->sh->own, ex->prev_owner);
}

static int is_done(struct ak_task *t)
{
	/* Relaxed: the owner wrote DONE itself, on this thread, or a
	 * canceller on another thread did, and the result is read through
	 * ak_task_result()'s acquire. */
	return (ak__load(&t->state, AK__RELAXED) & AK__T_DONE) != 0;
}

/* Runs queued tasks until none is ready, target (unless NULL) is done, or
 * max entries were polled; returns how many were (stale ones not
 * counted).  The one loop of every run call: the task's run is inline. */
static int run_ready(struct ak_executor *ex, struct ak_task *target, int max)
{
	struct ak__task_runner r;
	ak__task_runner_init_owned(&r);
	ak__task_runner_enter(&r);
	/* Counted down: the decrement's flags are the loop's test. */
	int left = max;
	struct exec_task *t;
	while (left > 0 && !(target && is_done(target)) && (t = dequeue(ex)) != NULL)
		if (ak__task_run_owned(&t->base, &r) != AK__RUN_STALE)
			left--;
	ak__task_runner_leave(&r);
	return max > 0 ? max - left : 0;
}

AK_EXPORT int ak_executor_run(struct ak_executor *ex)
{
	int rc = enter(ex, 0);
	if (rc)
		return rc;
	int polls = run_ready(ex, NULL, INT_MAX);
	/* Past INT_MAX polls the count stays there. */
	if (polls == INT_MAX)
		while (run_ready(ex, NULL, INT_MAX) == INT_MAX)
			;
	leave(ex);
	return polls;
}

/* The unfinished spawned task whose body is f, or NULL. */
static struct ak_task *find_task(struct ak_executor *ex, struct ak_future *f)
{
	for (struct ak_task *t = ex->unfinished.head; t; t = t->next)
		if (t->fut == f)
			return t;
	return NULL;
}

/* Runs until target is done, or cancels it at the deadline. */
static int drive(struct ak_executor *ex, struct ak_task *target,
                 int64_t deadline)
{
	for (;;) {
		while (run_ready(ex, target, INT_MAX) == INT_MAX)
			;
		if (is_done(target))
			return ak_task_result(target);
		/* Checked after draining the queues, so whatever was ready at
		 * the deadline ran first. */
		if (deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) {
			ak__task_abort(target, AK_ETIMEDOUT);
			return AK_ETIMEDOUT;
		}
		ak__park(&ex->sh->parker, deadline);
	}
}

AK_EXPORT int ak_executor_run_until(struct ak_executor *ex, struct ak_future *f,
                                    int64_t deadline)
{
	if (!ex || !f)
		return AK_EINVAL;
	if (f->state & AK_FUTURE_OWNED) {
		/* One of our own tasks: drive it, so that a caller who spawned
		 * it and then waits on it gets what it asked for.  Owned by
		 * anyone else: refused, visibly. */
		struct ak_task *t = find_task(ex, f);
		if (!t)
			return AK_EBUSY;
		int rc = enter(ex, 1);
		if (rc)
			return rc;
		ak__ref_get(&t->refs);
		rc = drive(ex, t, deadline);
		ak__task_put(t);
		leave(ex);
		return rc;
	}
	if (ak__future_claim(f) != 0)
		return AK_EINVAL;
	int rc = enter(ex, 1);
	if (rc) {
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return rc;
	}
	/* Ours, the run queue's and the life reference. */
	struct exec_task *main = task_new(ex, f, &main_hooks, 3);
	if (!main) {
		leave(ex);
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	ak__task_queue_push(&ex->local, &main->base);
	rc = drive(ex, &main->base, deadline);
	leave(ex);
	ak__task_put(&main->base);
	return rc;
}

AK_EXPORT int ak_executor_run_all(struct ak_executor *ex, int64_t deadline)
{
	int rc = enter(ex, 1);
	if (rc)
		return rc;
	for (;;) {
		while (run_ready(ex, NULL, INT_MAX) == INT_MAX)
			;
		if (ex->live == 0)
			break;
		if (deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) {
			rc = AK_ETIMEDOUT;
			break;
		}
		/* Every unfinished task waits on another thread or a timer,
		 * whose wake goes through the remote queue and unparks us. */
		ak__park(&ex->sh->parker, deadline);
	}
	leave(ex);
	return rc;
}

AK_EXPORT int ak_executor_fd(struct ak_executor *ex)
{
	if (!ex)
		return AK_EINVAL;
	if (ex->fd >= 0)
		return ex->fd;
	int saved = errno;
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	errno = saved;
	if (fd < 0)
		return AK_ENOMEM;
	ak__lock(&ex->sh->lock);
	ex->sh->fd = fd;
	if (ex->sh->remote_head != NULL || ex->local.head != NULL)
		fd_arm_locked(ex->sh);
	ak__unlock(&ex->sh->lock);
	ex->fd = fd;
	return fd;
}

/* Empties the eventfd; under sh->lock, where every write is made. */
static void fd_drain(struct ak_executor *ex)
{
	if (ex->fd < 0)
		return;
	ak__lock(&ex->sh->lock);
	if (ex->sh->fd_signaled) {
		uint64_t n;
		int saved = errno;
		ssize_t got = read(ex->fd, &n, sizeof n);
		(void)got;
		errno = saved;
		ex->sh->fd_signaled = 0;
	}
	ak__unlock(&ex->sh->lock);
}

static int any_ready(struct ak_executor *ex)
{
	if (ex->local.head)
		return 1;
	ak__lock(&ex->sh->lock);
	int ready = ex->sh->remote_head != NULL;
	ak__unlock(&ex->sh->lock);
	return ready;
}

AK_EXPORT int ak_executor_run_budget(struct ak_executor *ex, int max_polls)
{
	if (ex && max_polls <= 0)
		return AK_EINVAL;
	int rc = enter(ex, 0);
	if (rc)
		return rc;
	fd_drain(ex);
	run_ready(ex, NULL, max_polls);
	int more = any_ready(ex);
	leave(ex);
	if (more)
		fd_arm(ex);     /* a level-triggered loop comes back */
	return more;
}

AK_EXPORT size_t ak_executor_task_count(const struct ak_executor *ex)
{
	return ex ? ex->live : 0;
}

AK_EXPORT int ak_executor_free(struct ak_executor *ex)
{
	if (!ex)
		return AK_EINVAL;
	if (ex->running)
		return AK_EBUSY;
	uintptr_t prev = ak__task_owner_enter(&ex->sh->own);
	while (ex->unfinished.head)
		ak__task_abort_owned(ex->unfinished.head, AK_ECANCELED);
	struct exec_shared *sh = ex->sh;
	ak__lock(&sh->lock);
	sh->closed = 1;
	ak__unlock(&sh->lock);
	/* Every task finished: what is queued is stale, and dequeue() or
	 * ak__task_run() drops each entry's reference. */
	struct exec_task *t;
	while ((t = dequeue(ex)) != NULL)
		ak__task_run(&t->base);
	ak__task_owner_leave(&sh->own, prev);
	ak__free(ex);
	shared_put(sh);
	return 0;
}
