/*
 * adapters/epoll/loop.c: the epoll executor's tasks and loop, over the
 * public task API (ak_task_new_with_drop, ak_task_schedule, ak_task_run,
 * ak_task_cancel; ak_task(3)).  The structures and their contract are in
 * epoll_int.h.
 *
 * Wakes made on the loop thread go to the local FIFO without a lock;
 * others go to the remote FIFO under sh->lock and make the eventfd
 * readable once per drain, so any number of wakes from any number of
 * threads cost the loop one wake-up.  A task's finish (its body completed,
 * or was cancelled) leaves one note for the loop, which then forgets the
 * task.  Tasks are bound to the owner's thread (ak_task_bind): a cancel
 * made on another thread queues the task like a wake, and the run of that
 * entry performs it there, where the timer heap and the fd table live.
 *
 * Closing: ak_epoll_free() cancels every unfinished task on the owner's
 * thread, then closes the gate (sh->closed, under the lock, with the
 * eventfd closed in the same critical section).  A wake that claimed a
 * task before its cancel may still call schedule afterwards (ak_task(3));
 * it finds the gate closed and consumes the stale entry itself with
 * ak_task_run(), which cannot poll a finished task.  sh lives until the
 * last task record is freed.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <awaitkit/block_on.h>

#include "../../runtime/task.h"
#include "epoll_int.h"

/* Polls per loop turn before the loop looks at its descriptors again, so
 * a task that keeps waking itself cannot starve io and timers. */
#define EP_BATCH 128
#define EP_EVENTS 64

static _Thread_local struct ak_epoll *tls_current;

struct ak_epoll *ak__epoll_current(void)
{
	return tls_current;
}

static void shared_put(struct ep_shared *sh)
{
	if (ak__ref_put(&sh->refs)) {
		ak__lock_destroy(&sh->lock);
		ak__free_sized(sh, sizeof(*sh));
	}
}

static void close_keep_errno(int fd)
{
	if (fd < 0)
		return;
	int saved = errno;
	close(fd);
	errno = saved;
}

/* Under sh->lock.  One write per drain: the counter never saturates, and
 * the flag and the counter agree (see runtime/executor.c's fd_arm_locked). */
static void signal_locked(struct ep_shared *sh)
{
	if (sh->signaled || sh->efd < 0)
		return;
	sh->signaled = 1;
	uint64_t one = 1;
	int saved = errno;
	ssize_t n = write(sh->efd, &one, sizeof one);
	(void)n;
	errno = saved;
}

static void queue_push(struct ak_epoll *ep, struct ep_task *w)
{
	w->next = NULL;
	if (ep->tail)
		ep->tail->next = w;
	else
		ep->head = w;
	ep->tail = w;
}

/* The schedule function of every task: only pushes. */
static void ep_schedule(struct ak_task *task, void *arg)
{
	struct ep_task *w = arg;
	struct ep_shared *sh = w->sh;

	if (tls_current && tls_current->sh == sh) {
		queue_push(tls_current, w);
		return;
	}
	ak__lock(&sh->lock);
	int closed = sh->closed;
	if (!closed) {
		w->next = NULL;
		if (sh->remote_tail)
			sh->remote_tail->next = w;
		else
			sh->remote_head = w;
		sh->remote_tail = w;
		signal_locked(sh);
	}
	ak__unlock(&sh->lock);
	/* Closed: the task was cancelled before the gate closed, so this
	 * entry is stale, and running it only gives its reference back. */
	if (closed)
		ak_task_run(task);
}

/* The record is freed: nothing can reach w any more. */
static void ep_drop(void *arg)
{
	struct ep_task *w = arg;
	struct ep_shared *sh = w->sh;

	ak__free_sized(w, sizeof(*w));
	shared_put(sh);
}

/* The body finished: leave the loop a note (one per task). */
static void note_finished(struct ep_task *w)
{
	struct ak_epoll *ep = tls_current;

	if (ep && ep->sh == w->sh) {
		w->dnext = ep->done;
		ep->done = w;
		return;
	}
	struct ep_shared *sh = w->sh;
	ak__lock(&sh->lock);
	if (!sh->closed) {
		w->dnext = sh->done_head;
		sh->done_head = w;
		signal_locked(sh);
	}
	ak__unlock(&sh->lock);
}

static struct ep_task *task_of(struct ak_future *f)
{
	return (struct ep_task *)(void *)f;
}

static int body_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ep_task *w = task_of(f);
	int rc = ak__future_poll_owned(w->user, cx);
	if (rc != AK_PENDING)
		note_finished(w);
	return rc;
}

/* Runs on the owner's thread, in or out of a run (the task is bound). */
static void body_cancel(struct ak_future *f)
{
	struct ep_task *w = task_of(f);
	ak__future_cancel_owned(w->user);
	note_finished(w);
}

static const struct ak_future_vtable body_vtable = { body_poll, body_cancel };

/* ---- the owner's side ------------------------------------------------------- */

static void live_remove(struct ak_epoll *ep, struct ep_task *w)
{
	if (w->live_prev)
		w->live_prev->live_next = w->live_next;
	else
		ep->live_head = w->live_next;
	if (w->live_next)
		w->live_next->live_prev = w->live_prev;
	ep->live--;
}

/* Forgets the finished tasks the notes name; each note is the last use of
 * w by the loop, and our handle goes with it. */
static void retire_notes(struct ak_epoll *ep, struct ep_task *w)
{
	while (w) {
		struct ep_task *next = w->dnext;
		live_remove(ep, w);
		ak_task_release(w->task);
		w = next;
	}
}

/* Drains the eventfd and takes what other threads queued, in one critical
 * section: a push after it writes the eventfd again. */
static void take_remote(struct ak_epoll *ep)
{
	struct ep_shared *sh = ep->sh;
	ak__lock(&sh->lock);
	if (sh->signaled) {
		uint64_t n;
		int saved = errno;
		ssize_t got = read(sh->efd, &n, sizeof n);
		(void)got;
		errno = saved;
		sh->signaled = 0;
	}
	struct ep_task *head = sh->remote_head, *tail = sh->remote_tail;
	struct ep_task *done = sh->done_head;
	sh->remote_head = sh->remote_tail = NULL;
	sh->done_head = NULL;
	ak__unlock(&sh->lock);
	if (head) {
		if (ep->tail)
			ep->tail->next = head;
		else
			ep->head = head;
		ep->tail = tail;
	}
	retire_notes(ep, done);
}

static struct ep_task *dequeue(struct ak_epoll *ep)
{
	struct ep_task *w = ep->head;
	if (w) {
		ep->head = w->next;
		if (!ep->head)
			ep->tail = NULL;
	}
	return w;
}

/* Runs what is queued, at most EP_BATCH polls. */
static void run_ready(struct ak_epoll *ep)
{
	struct ep_task *w;
	for (int n = 0; n < EP_BATCH && (w = dequeue(ep)) != NULL; n++)
		ak_task_run(w->task);
	struct ep_task *done = ep->done;
	ep->done = NULL;
	retire_notes(ep, done);
}

static int timeout_ms(int64_t deadline)
{
	if (deadline == AK_DEADLINE_NEVER)
		return -1;
	int64_t left = deadline - ak_now();
	if (left <= 0)
		return 0;
	int64_t ms = (left + 999999) / 1000000;   /* never wake early */
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* One epoll_wait and its events. */
static void wait_events(struct ak_epoll *ep, int timeout)
{
	struct epoll_event evs[EP_EVENTS];
	int saved = errno;
	int n = epoll_wait(ep->epfd, evs, EP_EVENTS, timeout);
	errno = saved;
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		if (fd == ep->sh->efd)
			take_remote(ep);
		else if (fd == ep->tfd)
			ak__epoll_timers_fire(ep);
		else
			ak__epoll_io_ready(ep, fd, evs[i].events);
	}
}

/* ---- the public calls ------------------------------------------------------- */

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int saved = errno;
	int rc = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	errno = saved;
	return rc;
}

AK_EXPORT int ak_epoll_new(struct ak_epoll **out)
{
	if (!out)
		return AK_EINVAL;
	struct ak_epoll *ep = ak__alloc(sizeof(*ep));
	struct ep_shared *sh = ak__alloc(sizeof(*sh));
	int saved = errno, err = 0;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		err = -errno;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0 && !err)
		err = -errno;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0 && !err)
		err = -errno;
	errno = saved;
	if (!err && (!ep || !sh))
		err = AK_ENOMEM;
	if (!err && (add_fd(epfd, efd) != 0 || add_fd(epfd, tfd) != 0))
		err = AK_ENOMEM;
	if (err) {
		close_keep_errno(epfd);
		close_keep_errno(efd);
		close_keep_errno(tfd);
		ak__free(ep);
		ak__free(sh);
		return err;
	}
	ak__init(&sh->refs, 1u);
	ak__lock_init(&sh->lock);
	sh->efd = efd;
	ep->sh = sh;
	ep->epfd = epfd;
	ep->tfd = tfd;
	ep->armed = AK_DEADLINE_NEVER;
	*out = ep;
	return 0;
}

AK_EXPORT int ak_epoll_spawn(struct ak_epoll *ep, struct ak_future *body,
                             struct ak_task **handle)
{
	if (!ep || ep->closing || ak__future_claim(body) != 0)
		return AK_EINVAL;
	struct ep_task *w = ak__alloc(sizeof(*w));
	if (!w) {
		body->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	ak_future_init(&w->body, &body_vtable);
	w->user = body;
	w->sh = ep->sh;
	w->ep = ep;
	int rc = ak_task_new_with_drop(&w->body, ep_schedule, ep_drop, w, &w->task);
	if (rc != 0) {
		body->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		ak__free_sized(w, sizeof(*w));
		return rc;
	}
	ak_task_bind(w->task);          /* cancelled on this thread only */
	/* From here w is freed by the record's drop, which puts this. */
	ak__ref_get(&ep->sh->refs);
	w->live_next = ep->live_head;
	if (ep->live_head)
		ep->live_head->live_prev = w;
	ep->live_head = w;
	ep->live++;
	if (handle) {
		ak__ref_get(&w->task->refs);    /* the caller's handle */
		*handle = w->task;
	}
	/* Outside a run this goes through the remote queue and the eventfd,
	 * so that an outer loop watching ak_epoll_fd() comes to run it. */
	ak_task_schedule(w->task);
	return 0;
}

AK_EXPORT int ak_epoll_run(struct ak_epoll *ep, int64_t deadline)
{
	if (!ep || ep->closing)
		return AK_EINVAL;
	if (ak__in_poll())
		return AK_EDEADLK;
	if (ep->running)
		return AK_EBUSY;
	ep->running = 1;
	struct ak_epoll *outer = tls_current;
	tls_current = ep;
	ak_loop_enter();
	int rc;
	int timeout = 0;
	for (;;) {
		wait_events(ep, timeout);
		run_ready(ep);
		if (ep->live == 0) {
			rc = 0;
			break;
		}
		if (deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) {
			rc = AK_ETIMEDOUT;
			break;
		}
		timeout = ep->head ? 0 : timeout_ms(deadline);
	}
	if (ep->head) {
		/* Tasks left ready: a loop nesting this one comes back. */
		ak__lock(&ep->sh->lock);
		signal_locked(ep->sh);
		ak__unlock(&ep->sh->lock);
	}
	ak_loop_leave();
	tls_current = outer;
	ep->running = 0;
	return rc;
}

AK_EXPORT int ak_epoll_fd(const struct ak_epoll *ep)
{
	return ep ? ep->epfd : AK_EINVAL;
}

AK_EXPORT size_t ak_epoll_task_count(const struct ak_epoll *ep)
{
	return ep ? ep->live : 0;
}

AK_EXPORT int ak_epoll_free(struct ak_epoll *ep)
{
	if (!ep)
		return AK_EINVAL;
	if (ep->running || ep->closing || ak__in_poll())
		return AK_EBUSY;
	ep->closing = 1;
	struct ak_epoll *outer = tls_current;
	tls_current = ep;
	/* A blocking call from a cancel hook fails instead of hanging the
	 * thread that closes. */
	ak_loop_enter();
	/* Every cancel leaves a note.  A cancel another thread requested
	 * and this thread has not carried out yet is done here. */
	for (struct ep_task *w = ep->live_head; w; w = w->live_next)
		ak_task_cancel(w->task);
	struct ep_shared *sh = ep->sh;
	ak__lock(&sh->lock);
	sh->closed = 1;
	int efd = sh->efd;
	sh->efd = -1;
	struct ep_task *remote = sh->remote_head;
	sh->remote_head = sh->remote_tail = NULL;
	sh->done_head = NULL;           /* the walk below forgets them all */
	close_keep_errno(efd);
	ak__unlock(&sh->lock);
	/* What is queued is stale: each run gives its reference back. */
	struct ep_task *w;
	while ((w = dequeue(ep)) != NULL)
		ak_task_run(w->task);
	while (remote) {
		struct ep_task *next = remote->next;
		ak_task_run(remote->task);
		remote = next;
	}
	ep->done = NULL;
	while (ep->live_head) {
		w = ep->live_head;
		live_remove(ep, w);
		ak_task_release(w->task);
	}
	ak__epoll_timers_orphan(ep);
	ak__epoll_io_orphan(ep);
	ak_loop_leave();
	tls_current = outer;
	close_keep_errno(ep->tfd);
	close_keep_errno(ep->epfd);
	ak__free_sized(ep, sizeof(*ep));
	shared_put(sh);
	return 0;
}
