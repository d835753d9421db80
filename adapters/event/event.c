/*
 * adapters/event/event.c: awaitkit's tasks on a libevent event_base
 * (ak_event(3)).
 *
 * The run queue, gate and task records are the libuv adapter's
 * (adapters/uv/loopq.c); here are only the loop's parts.  One event with
 * no fd, never added, wakes the loop: a push into an empty run queue
 * activates it (event_active is thread-safe once evthread_use_pthreads()
 * was called before the base was made; activations made before its
 * callback runs coalesce into one), and its callback drains the queue.  A
 * second event, a persistent timer that does nothing, is added while the
 * adapter has unfinished tasks: it keeps event_base_dispatch() running,
 * which otherwise returns when no event is pending.  Sleeps and readiness
 * waits are one libevent event each, made at the first poll and freed at
 * once (libevent frees an event synchronously on its loop thread); the
 * callback's argument is the operation, which does not move while parked.
 */
#include <errno.h>

#include <awaitkit/block_on.h>
#include <awaitkit/event.h>

#include "../uv/loopq.h"

/* Polls per wake-up before the base's other events get a turn. */
#define EV_DRAIN_BUDGET 256

struct ak_event {
	struct ak__lq q;               /* first: released through it */
	struct event_base *base;
	struct event *wake;            /* activated, never added */
	struct event *keep;            /* added while tasks exist */
};

static struct ak_event *ev_of(struct ak__lq *q)
{
	return (struct ak_event *)(void *)q;
}

static void ev_signal(struct ak__lq *q)
{
	event_active(ev_of(q)->wake, EV_READ, 0);
}

static void ev_keep(struct ak__lq *q, int on)
{
	/* An hour, renewed while it lasts: only its being pending counts. */
	static const struct timeval hour = { 3600, 0 };
	if (on)
		event_add(ev_of(q)->keep, &hour);
	else
		event_del(ev_of(q)->keep);
}

static void ev_release(struct ak__lq *q)
{
	ak__lq_free(ev_of(q));
}

static const struct ak__lq_ops ev_ops = { ev_signal, ev_keep, ev_release };

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ak__lq_drain(&((struct ak_event *)arg)->q, EV_DRAIN_BUDGET);
}

static void keep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

AK_EXPORT int ak_event_new(struct event_base *base, struct ak_event **out)
{
	if (!base || !out)
		return AK_EINVAL;
	struct ak_event *ev = ak__lq_alloc(sizeof(*ev));
	if (!ev)
		return AK_ENOMEM;
	int rc = ak__lq_init(&ev->q, &ev_ops);
	if (rc != 0) {
		ak__lq_free(ev);
		return rc;
	}
	ev->base = base;
	ev->wake = event_new(base, -1, 0, wake_cb, ev);
	ev->keep = event_new(base, -1, EV_PERSIST, keep_cb, ev);
	rc = ev->wake && ev->keep ? ak_loop_enter() : AK_ENOMEM;
	if (rc != 0) {
		if (ev->wake)
			event_free(ev->wake);
		if (ev->keep)
			event_free(ev->keep);
		ak__lq_fini(&ev->q);
		ak__lq_free(ev);
		return rc;
	}
	*out = ev;
	return 0;
}

AK_EXPORT int ak_event_spawn(struct ak_event *ev, struct ak_future *body,
                             struct ak_task **handle)
{
	return ev ? ak__lq_spawn(&ev->q, body, handle) : AK_EINVAL;
}

AK_EXPORT size_t ak_event_task_count(const struct ak_event *ev)
{
	return ev ? ev->q.nlive : 0;
}

AK_EXPORT int ak_event_close(struct ak_event *ev)
{
	if (!ev)
		return AK_EINVAL;
	int rc = ak__lq_close(&ev->q);
	if (rc)
		return rc;
	/* The gate is shut: no waker activates wake any more. */
	event_free(ev->wake);
	event_free(ev->keep);
	ak_loop_leave();
	ak__lq_put(&ev->q);
	return 0;
}

/* ---- waiting on the base: one event per waiting operation ------------- */

/* The private part of both operations. */
struct ev_wait {
	struct ak_event *ev;
	struct event *e;               /* NULL until the first poll */
	struct ak_waker waker;
	int64_t deadline;              /* sleep */
	int *revents;                  /* poll */
	int fd;                        /* poll */
	short events;                  /* poll; then what fired */
	short done;
};
_Static_assert(sizeof(struct ev_wait) <= sizeof(((struct ak_event_poll_op *)0)->private_),
               "ak_event_poll_op storage");

static struct ev_wait *wait_of(struct ak_future *f)
{
	/* Both operations are { future; private_ }. */
	return (struct ev_wait *)(void *)&((struct ak_event_poll_op *)(void *)f)->private_;
}

static void wait_done(struct ev_wait *w)
{
	event_free(w->e);
	w->e = NULL;
	ak_waker_drop(&w->waker);
}

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ev_wait *w = wait_of(arg);
	(void)fd;
	if (w->deadline && ak_now() < w->deadline) {
		/* libevent's clock and ak_now() disagree by a little. */
		int64_t left = w->deadline - ak_now();
		struct timeval tv = { (time_t)(left / 1000000000),
		                      (suseconds_t)((left % 1000000000 + 999) / 1000) };
		event_add(w->e, &tv);
		return;
	}
	w->done = 1;
	w->events = what;
	ak_waker_wake_by_ref(&w->waker);
}

/* The first poll: on the loop, in one of the adapter's tasks. */
static int wait_start(struct ak_future *f, struct ak_context *cx,
                      evutil_socket_t fd, short what, const struct timeval *tv)
{
	struct ev_wait *w = wait_of(f);
	if (ak__lq_current() != &w->ev->q)
		return AK_EINVAL;
	if (ak_waker_clone(&cx->waker, &w->waker) != 0)
		return AK_ENOMEM;
	w->e = event_new(w->ev->base, fd, what, wait_cb, f);
	int rc = w->e ? 0 : AK_ENOMEM;
	if (rc == 0 && event_add(w->e, tv) != 0) {
		event_free(w->e);
		rc = AK_EINVAL;         /* the backend refused fd */
	}
	if (rc != 0) {
		w->e = NULL;
		ak_waker_drop(&w->waker);
		return rc;
	}
	return AK_PENDING;
}

static int wait_rearm(struct ev_wait *w, struct ak_context *cx)
{
	int rc = ak__lq_rekeep(&w->waker, &cx->waker);
	return rc ? rc : AK_PENDING;
}

static void wait_cancel(struct ak_future *f)
{
	struct ev_wait *w = wait_of(f);
	if (w->e)
		wait_done(w);
}

static int sleep_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ev_wait *w = wait_of(f);
	if (!w->e) {
		int64_t left = w->deadline - ak_now();
		if (left <= 0)
			return 0;
		struct timeval tv = { (time_t)(left / 1000000000),
		                      (suseconds_t)((left % 1000000000 + 999) / 1000) };
		return wait_start(f, cx, -1, 0, &tv);
	}
	if (!w->done)
		return wait_rearm(w, cx);
	wait_done(w);
	return 0;
}

static const struct ak_future_vtable sleep_vtable = { sleep_poll, wait_cancel };

AK_EXPORT int ak_event_sleep_init(struct ak_event_sleep_op *op,
                                  struct ak_event *ev, int64_t deadline)
{
	_Static_assert(sizeof(struct ev_wait) <= sizeof(op->private_),
	               "ak_event_sleep_op storage");
	if (!op || !ev)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &sleep_vtable);
	if (rc)
		return rc;
	struct ev_wait *w = wait_of(&op->future);
	*w = (struct ev_wait){ .ev = ev, .deadline = deadline > 0 ? deadline : 1 };
	return 0;
}

static int poll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ev_wait *w = wait_of(f);
	if (!w->e)
		return wait_start(f, cx, w->fd, w->events, NULL);
	if (!w->done)
		return wait_rearm(w, cx);
	if (w->revents)
		*w->revents = w->events;
	wait_done(w);
	return 0;
}

static const struct ak_future_vtable poll_vtable = { poll_poll, wait_cancel };

AK_EXPORT int ak_event_poll_init(struct ak_event_poll_op *op,
                                 struct ak_event *ev, int fd, int events,
                                 int *revents)
{
	const int all = EV_READ | EV_WRITE | EV_CLOSED;
	if (!op || !ev || fd < 0 || events == 0 || (events & ~all))
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &poll_vtable);
	if (rc)
		return rc;
	struct ev_wait *w = wait_of(&op->future);
	*w = (struct ev_wait){ .ev = ev, .fd = fd, .events = (short)events,
	                       .revents = revents };
	return 0;
}
