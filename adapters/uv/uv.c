/*
 * adapters/uv/uv.c: awaitkit's tasks on a libuv loop (ak_uv(3)).
 *
 * One uv_async_t wakes the loop: every push into an empty run queue sends
 * it (libuv coalesces the sends made before its callback runs into one),
 * and its callback drains the queue (loopq.c).  The async handle is
 * referenced only while the adapter has unfinished tasks, so uv_run()
 * returns once they are done and nothing else is pending.  Sleeps are uv
 * timers and readiness waits uv_poll_t handles, one per waiting operation,
 * allocated because a uv handle outlives its operation until its close
 * callback runs.
 */
#include <errno.h>

#include <awaitkit/block_on.h>
#include <awaitkit/uv.h>

#include "loopq.h"

/* Polls per async callback before the loop's other handles get a turn. */
#define UV_DRAIN_BUDGET 256

struct ak_uv {
	struct ak__lq q;               /* first: released through it */
	uv_loop_t *loop;
	uv_async_t async;
};

static struct ak_uv *uv_of(struct ak__lq *q)
{
	return (struct ak_uv *)(void *)q;
}

static void uv_signal(struct ak__lq *q)
{
	uv_async_send(&uv_of(q)->async);
}

static void uv_keep(struct ak__lq *q, int on)
{
	if (on)
		uv_ref((uv_handle_t *)&uv_of(q)->async);
	else
		uv_unref((uv_handle_t *)&uv_of(q)->async);
}

static void uv_release(struct ak__lq *q)
{
	ak__lq_free(uv_of(q));
}

static const struct ak__lq_ops uv_ops = { uv_signal, uv_keep, uv_release };

static void async_cb(uv_async_t *async)
{
	struct ak_uv *uv = async->data;
	ak__lq_drain(&uv->q, UV_DRAIN_BUDGET);
}

AK_EXPORT int ak_uv_new(uv_loop_t *loop, struct ak_uv **out)
{
	if (!loop || !out)
		return AK_EINVAL;
	struct ak_uv *uv = ak__lq_alloc(sizeof(*uv));
	if (!uv)
		return AK_ENOMEM;
	int rc = ak__lq_init(&uv->q, &uv_ops);
	if (rc != 0) {
		ak__lq_free(uv);
		return rc;
	}
	rc = ak_loop_enter();
	if (rc == 0) {
		rc = uv_async_init(loop, &uv->async, async_cb);
		if (rc != 0)
			ak_loop_leave();
	}
	if (rc != 0) {
		ak__lq_fini(&uv->q);
		ak__lq_free(uv);
		return rc;
	}
	uv->loop = loop;
	uv->async.data = uv;
	uv_unref((uv_handle_t *)&uv->async);    /* no task yet */
	*out = uv;
	return 0;
}

AK_EXPORT int ak_uv_spawn(struct ak_uv *uv, struct ak_future *body,
                          struct ak_task **handle)
{
	return uv ? ak__lq_spawn(&uv->q, body, handle) : AK_EINVAL;
}

AK_EXPORT size_t ak_uv_task_count(const struct ak_uv *uv)
{
	return uv ? uv->q.nlive : 0;
}

static void async_closed(uv_handle_t *h)
{
	ak__lq_put(&((struct ak_uv *)h->data)->q);
}

AK_EXPORT int ak_uv_close(struct ak_uv *uv)
{
	if (!uv)
		return AK_EINVAL;
	int rc = ak__lq_close(&uv->q);
	if (rc)
		return rc;
	uv_close((uv_handle_t *)&uv->async, async_closed);
	ak_loop_leave();
	return 0;
}

/* ---- waiting on the loop: a uv handle per waiting operation ----------- */

/* What a timer and a poll handle share: the handle first, the waker of
 * the task that waits. */
struct uv_wait {
	union {
		uv_handle_t handle;
		uv_timer_t timer;
		uv_poll_t poll;
	} h;
	struct ak_waker waker;
	int64_t deadline;              /* the timer's */
	int done;
	int result;                    /* the poll's: status or 0 */
	int revents;
};

static void wait_freed(uv_handle_t *h)
{
	ak__lq_free(h->data);
}

static void wait_close(struct uv_wait *w)
{
	ak_waker_drop(&w->waker);
	uv_close(&w->h.handle, wait_freed);
}

/* The first poll: on the loop, in one of uv's tasks. */
static struct uv_wait *wait_new(struct ak_uv *uv, struct ak_context *cx,
                                int *rc)
{
	if (!uv || ak__lq_current() != &uv->q) {
		*rc = AK_EINVAL;
		return NULL;
	}
	struct uv_wait *w = ak__lq_alloc(sizeof(*w));
	if (!w || ak_waker_clone(&cx->waker, &w->waker) != 0) {
		ak__lq_free(w);
		*rc = AK_ENOMEM;
		return NULL;
	}
	w->h.handle.data = w;
	return w;
}

/* A later poll: keep the waker of the task that polls now. */
static int wait_rearm(struct uv_wait *w, struct ak_context *cx)
{
	int rc = ak__lq_rekeep(&w->waker, &cx->waker);
	return rc ? rc : AK_PENDING;
}

struct sleep_priv {
	struct ak_uv *uv;
	int64_t deadline;
	struct uv_wait *w;
};
_Static_assert(sizeof(struct sleep_priv) <= sizeof(((struct ak_uv_sleep_op *)0)->private_),
               "ak_uv_sleep_op storage");

static struct sleep_priv *sleep_priv(struct ak_future *f)
{
	return (struct sleep_priv *)(void *)&((struct ak_uv_sleep_op *)(void *)f)->private_;
}

static void timer_cb(uv_timer_t *h);

static void timer_arm(struct uv_wait *w)
{
	uv_loop_t *loop = w->h.handle.loop;
	uv_update_time(loop);
	int64_t left = w->deadline - ak_now();
	uint64_t ms = left <= 0 ? 0 : (uint64_t)(left + 999999) / 1000000;
	uv_timer_start(&w->h.timer, timer_cb, ms, 0);
}

static void timer_cb(uv_timer_t *h)
{
	struct uv_wait *w = h->data;
	if (ak_now() < w->deadline) {   /* loop time runs in whole ms */
		timer_arm(w);
		return;
	}
	w->done = 1;
	ak_waker_wake_by_ref(&w->waker);
}

static int sleep_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleep_priv *p = sleep_priv(f);
	if (!p->w) {
		if (ak_now() >= p->deadline)
			return 0;
		int rc;
		struct uv_wait *w = wait_new(p->uv, cx, &rc);
		if (!w)
			return rc;
		w->deadline = p->deadline;
		uv_timer_init(p->uv->loop, &w->h.timer);
		w->h.handle.data = w;
		p->w = w;
		timer_arm(w);
		return AK_PENDING;
	}
	if (!p->w->done)
		return wait_rearm(p->w, cx);
	wait_close(p->w);
	p->w = NULL;
	return 0;
}

static void sleep_cancel(struct ak_future *f)
{
	struct sleep_priv *p = sleep_priv(f);
	if (p->w) {
		wait_close(p->w);
		p->w = NULL;
	}
}

static const struct ak_future_vtable sleep_vtable = { sleep_poll, sleep_cancel };

AK_EXPORT int ak_uv_sleep_init(struct ak_uv_sleep_op *op, struct ak_uv *uv,
                               int64_t deadline)
{
	if (!op || !uv)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &sleep_vtable);
	if (rc)
		return rc;
	struct sleep_priv *p = sleep_priv(&op->future);
	p->uv = uv;
	p->deadline = deadline;
	p->w = NULL;
	return 0;
}

struct poll_priv {
	struct ak_uv *uv;
	int *revents;
	struct uv_wait *w;
	int fd;
	int events;
};
_Static_assert(sizeof(struct poll_priv) <= sizeof(((struct ak_uv_poll_op *)0)->private_),
               "ak_uv_poll_op storage");

static struct poll_priv *poll_priv(struct ak_future *f)
{
	return (struct poll_priv *)(void *)&((struct ak_uv_poll_op *)(void *)f)->private_;
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct uv_wait *w = h->data;
	uv_poll_stop(h);
	w->done = 1;
	w->result = status < 0 ? status : 0;
	w->revents = status < 0 ? 0 : events;
	ak_waker_wake_by_ref(&w->waker);
}

static int poll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct poll_priv *p = poll_priv(f);
	if (!p->w) {
		int rc;
		struct uv_wait *w = wait_new(p->uv, cx, &rc);
		if (!w)
			return rc;
		rc = uv_poll_init(p->uv->loop, &w->h.poll, p->fd);
		if (rc != 0) {          /* no handle was made */
			ak_waker_drop(&w->waker);
			ak__lq_free(w);
			return rc;
		}
		w->h.handle.data = w;
		rc = uv_poll_start(&w->h.poll, p->events, poll_cb);
		if (rc != 0) {
			wait_close(w);
			return rc;
		}
		p->w = w;
		return AK_PENDING;
	}
	if (!p->w->done)
		return wait_rearm(p->w, cx);
	int rc = p->w->result;
	if (p->revents)
		*p->revents = p->w->revents;
	wait_close(p->w);
	p->w = NULL;
	return rc;
}

static void poll_cancel(struct ak_future *f)
{
	struct poll_priv *p = poll_priv(f);
	if (p->w) {
		wait_close(p->w);
		p->w = NULL;
	}
}

static const struct ak_future_vtable poll_vtable = { poll_poll, poll_cancel };

AK_EXPORT int ak_uv_poll_init(struct ak_uv_poll_op *op, struct ak_uv *uv,
                              int fd, int events, int *revents)
{
	const int all = UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED;
	if (!op || !uv || fd < 0 || events == 0 || (events & ~all))
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &poll_vtable);
	if (rc)
		return rc;
	struct poll_priv *p = poll_priv(&op->future);
	p->uv = uv;
	p->revents = revents;
	p->w = NULL;
	p->fd = fd;
	p->events = events;
	return 0;
}
