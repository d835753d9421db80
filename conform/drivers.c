/*
 * conform/drivers.c: the shipped executors as the kit drives them (four
 * functions each: new, spawn, run until idle, free; ak_conform(3)).  Each
 * is what a program does with that executor: nothing here reaches past
 * its public API.  The task handles are released at once: the kit and the
 * matrix watch their tasks through the futures themselves.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <awaitkit.h>
#include <awaitkit/epoll.h>
#include <awaitkit/event.h>
#include <awaitkit/uv.h>

#include "drivers.h"

/* rc from a spawn that stored its handle in *h: let go of the handle. */
static int keep_none(int rc, struct ak_task **h)
{
	if (rc == 0)
		ak_task_release(*h);
	return rc;
}

/* ---- the single-thread executor --------------------------------------- */

static int ex_new(void *arg, void **out)
{
	(void)arg;
	return ak_executor_new((struct ak_executor **)out);
}

static int ex_spawn(void *ex, struct ak_future *body)
{
	struct ak_task *h;
	int rc = ak_executor_spawn(ex, body, &h);
	return keep_none(rc, &h);
}

static int ex_run(void *ex, int64_t deadline)
{
	return ak_executor_run_all(ex, deadline);
}

static void ex_free(void *ex)
{
	ak_executor_free(ex);
}

const struct ak_conform_executor conform_executor = {
	"executor", ex_new, ex_spawn, ex_run, ex_free, NULL
};

/* ---- the pool (two workers, or as many as *(int *)arg says) ------------- */

static int pool_new(void *arg, void **out)
{
	int workers = arg ? *(const int *)arg : 2;
	return ak_pool_new((struct ak_pool **)out, workers);
}

static int pool_spawn(void *p, struct ak_future *body)
{
	struct ak_task *h;
	int rc = ak_pool_spawn(p, body, &h);
	return keep_none(rc, &h);
}

static int pool_run(void *p, int64_t deadline)
{
	return ak_pool_wait_idle(p, deadline);
}

static void pool_free(void *p)
{
	ak_pool_free(p);
}

const struct ak_conform_executor conform_pool = {
	"pool", pool_new, pool_spawn, pool_run, pool_free, NULL
};

/* ---- block_on threads: one plain thread per task ------------------------ */

struct bo {
	struct ak_future **bodies;
	int n, cap;
};

struct bo_thread {
	pthread_t th;
	struct ak_future *body;
	int64_t deadline;
	int rc;
};

static int bo_new(void *arg, void **out)
{
	(void)arg;
	struct bo *b = calloc(1, sizeof(*b));
	*out = b;
	return b ? 0 : AK_ENOMEM;
}

static int bo_spawn(void *ex, struct ak_future *body)
{
	struct bo *b = ex;
	if (!body || ak_future_state(body) != AK_FUTURE_IDLE)
		return AK_EINVAL;
	if (b->n == b->cap) {
		int cap = b->cap ? 2 * b->cap : 16;
		void *p = realloc(b->bodies, (size_t)cap * sizeof(*b->bodies));
		if (!p)
			return AK_ENOMEM;
		b->bodies = p;
		b->cap = cap;
	}
	b->bodies[b->n++] = body;
	return 0;
}

static void *bo_main(void *arg)
{
	struct bo_thread *t = arg;
	t->rc = ak_block_on(t->body, t->deadline);
	if (t->rc == AK_ETIMEDOUT)
		ak_future_cancel(t->body);      /* on the thread that polled it */
	return NULL;
}

/* The threads start here, so that every driver's tasks start in
 * run_until_idle or later (the pool's may start at spawn). */
static int bo_run(void *ex, int64_t deadline)
{
	struct bo *b = ex;
	struct bo_thread *t = calloc((size_t)b->n + 1, sizeof(*t));
	int rc = 0, started = 0;
	if (!t)
		return AK_ENOMEM;
	for (int i = 0; i < b->n; i++) {
		t[i].body = b->bodies[i];
		t[i].deadline = deadline;
		if (pthread_create(&t[i].th, NULL, bo_main, &t[i]) != 0) {
			rc = AK_ENOMEM;
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(t[i].th, NULL);
		if (t[i].rc == AK_ETIMEDOUT)
			rc = AK_ETIMEDOUT;
	}
	/* Those never started stay spawned for the next run. */
	memmove(b->bodies, b->bodies + started,
	        (size_t)(b->n - started) * sizeof(*b->bodies));
	b->n -= started;
	free(t);
	return rc;
}

static void bo_free(void *ex)
{
	struct bo *b = ex;
	for (int i = 0; i < b->n; i++)
		ak_future_cancel(b->bodies[i]);
	free(b->bodies);
	free(b);
}

const struct ak_conform_executor conform_block_on = {
	"block_on", bo_new, bo_spawn, bo_run, bo_free, NULL
};

/* ---- libuv --------------------------------------------------------------- */

struct uvd {
	uv_loop_t loop;
	uv_timer_t deadline;        /* ends a UV_RUN_ONCE turn at the deadline */
	struct ak_uv *uv;
};

static int uvd_new(void *arg, void **out)
{
	(void)arg;
	struct uvd *d = calloc(1, sizeof(*d));
	if (!d)
		return AK_ENOMEM;
	int rc = uv_loop_init(&d->loop) == 0 ? ak_uv_new(&d->loop, &d->uv) : AK_ENOMEM;
	if (rc != 0) {
		free(d);
		return rc;
	}
	uv_timer_init(&d->loop, &d->deadline);
	*out = d;
	return 0;
}

static int uvd_spawn(void *ex, struct ak_future *body)
{
	struct uvd *d = ex;
	struct ak_task *h;
	int rc = ak_uv_spawn(d->uv, body, &h);
	return keep_none(rc, &h);
}

static void uvd_deadline(uv_timer_t *t)
{
	(void)t;                /* the turn it ends is enough */
}

static int64_t ms_until(int64_t deadline)
{
	int64_t left = deadline - ak_now();
	return left <= 0 ? 0 : left / 1000000 + 1;
}

static int uvd_run(void *ex, int64_t deadline)
{
	struct uvd *d = ex;
	int rc = 0;
	uv_timer_start(&d->deadline, uvd_deadline, (uint64_t)ms_until(deadline), 0);
	while (ak_uv_task_count(d->uv) > 0) {
		if (ak_now() >= deadline) {
			rc = AK_ETIMEDOUT;
			break;
		}
		uv_run(&d->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&d->deadline);
	return rc;
}

static void uvd_free(void *ex)
{
	struct uvd *d = ex;
	ak_uv_close(d->uv);
	uv_close((uv_handle_t *)&d->deadline, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);       /* the close callbacks */
	uv_loop_close(&d->loop);
	free(d);
}

const struct ak_conform_executor conform_uv = {
	"uv", uvd_new, uvd_spawn, uvd_run, uvd_free, NULL
};

/* ---- libevent ------------------------------------------------------------ */

struct evd {
	struct event_base *base;
	struct event *deadline;
	struct ak_event *ev;
};

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;

static void evthread_init(void)
{
	evthread_use_pthreads();
}

static void evd_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int evd_new(void *arg, void **out)
{
	(void)arg;
	pthread_once(&evthread_once, evthread_init);
	struct evd *d = calloc(1, sizeof(*d));
	if (!d)
		return AK_ENOMEM;
	d->base = event_base_new();
	d->deadline = d->base ? evtimer_new(d->base, evd_deadline, NULL) : NULL;
	int rc = d->deadline ? ak_event_new(d->base, &d->ev) : AK_ENOMEM;
	if (rc != 0) {
		if (d->deadline)
			event_free(d->deadline);
		if (d->base)
			event_base_free(d->base);
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int evd_spawn(void *ex, struct ak_future *body)
{
	struct evd *d = ex;
	struct ak_task *h;
	int rc = ak_event_spawn(d->ev, body, &h);
	return keep_none(rc, &h);
}

static int evd_run(void *ex, int64_t deadline)
{
	struct evd *d = ex;
	int64_t left = deadline - ak_now();
	struct timeval tv = { 0, 0 };
	int rc = 0;
	if (left > 0) {
		tv.tv_sec = (time_t)(left / 1000000000);
		tv.tv_usec = (suseconds_t)(left % 1000000000 / 1000 + 1);
	}
	evtimer_add(d->deadline, &tv);
	while (ak_event_task_count(d->ev) > 0) {
		if (ak_now() >= deadline) {
			rc = AK_ETIMEDOUT;
			break;
		}
		event_base_loop(d->base, EVLOOP_ONCE);
	}
	evtimer_del(d->deadline);
	return rc;
}

static void evd_free(void *ex)
{
	struct evd *d = ex;
	ak_event_close(d->ev);
	event_free(d->deadline);
	event_base_free(d->base);
	free(d);
}

const struct ak_conform_executor conform_event = {
	"event", evd_new, evd_spawn, evd_run, evd_free, NULL
};

/* ---- epoll --------------------------------------------------------------- */

static int ep_new(void *arg, void **out)
{
	(void)arg;
	return ak_epoll_new((struct ak_epoll **)out);
}

static int ep_spawn(void *ex, struct ak_future *body)
{
	struct ak_task *h;
	int rc = ak_epoll_spawn(ex, body, &h);
	return keep_none(rc, &h);
}

static int ep_run(void *ex, int64_t deadline)
{
	return ak_epoll_run(ex, deadline);
}

static void ep_free(void *ex)
{
	ak_epoll_free(ex);
}

const struct ak_conform_executor conform_epoll = {
	"epoll", ep_new, ep_spawn, ep_run, ep_free, NULL
};

const struct ak_conform_executor *const conform_drivers[] = {
	&conform_executor, &conform_pool, &conform_block_on, &conform_uv,
	&conform_event, &conform_epoll, NULL
};

const struct ak_conform_executor *conform_driver(const char *name)
{
	for (int i = 0; conform_drivers[i]; i++)
		if (strcmp(conform_drivers[i]->name, name) == 0)
			return conform_drivers[i];
	return NULL;
}
