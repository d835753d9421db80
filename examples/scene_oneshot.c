/*
 * examples/scene_oneshot.c: the oneshot scenes.
 *
 *  - a reply from a thread: a task on the single-thread executor awaits a
 *    oneshot that a plain thread answers 20 ms later (the wake crosses
 *    threads); a second await on the same receiver reports AK_EPIPE;
 *  - the receiver gives up: a worker task waits on its sender's closed()
 *    before spending effort; the requester looks once (try_recv: AK_EAGAIN)
 *    and drops its receiver; closed() completes, and the late send returns
 *    AK_EPIPE with the value still the worker's.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <awaitkit.h>

#include "demo.h"

/* ---- a reply from a thread ------------------------------------------------------ */

struct waiter {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op;
	int value, rc, again_rc;
};

static int waiter_poll(struct ak_future *f, struct ak_context *cx)
{
	struct waiter *w = (struct waiter *)f;

	AK_BEGIN(&w->aw, cx);
	printf("    task: waiting for the reply\n");
	ak_oneshot_recv_init(&w->op, w->rx, &w->value);
	AK_AWAIT(&w->aw, &w->op.future, w->rc);
	printf("    task: got %d (%s)\n", w->value, ak_err_name(w->rc));
	ak_oneshot_recv_init(&w->op, w->rx, &w->value);
	AK_AWAIT(&w->aw, &w->op.future, w->again_rc);
	printf("    task: a second recv says %s: a oneshot carries one value\n",
	       ak_err_name(w->again_rc));
	ak_oneshot_rx_drop(w->rx);
	AK_END(&w->aw);
}

static void waiter_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct waiter *)f)->aw, f);
}

static const struct ak_future_vtable waiter_vtable = { waiter_poll, waiter_cancel };

static void *answer_main(void *arg)
{
	struct ak_oneshot_tx *tx = arg;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int answer = 42;

	nanosleep(&ts, NULL);
	printf("    thread: sending %d\n", answer);
	ak_oneshot_send(tx, &answer);      /* consumes tx */
	return NULL;
}

void scene_oneshot_reply_from_a_thread(void)
{
	struct ak_executor *ex = NULL;
	struct ak_oneshot_tx *tx = NULL;
	struct waiter w;
	pthread_t th;

	printf("\n[oneshot] a task awaits a reply that a plain thread sends\n");
	memset(&w, 0, sizeof(w));
	ak_executor_new(&ex);
	ak_oneshot_new(sizeof(int), NULL, &tx, &w.rx);
	ak_future_init(&w.future, &waiter_vtable);
	pthread_create(&th, NULL, answer_main, tx);
	/* run drives ready tasks only; run_until parks until w is done */
	int rc = ak_executor_run_until(ex, &w.future, AK_DEADLINE_NEVER);
	pthread_join(th, NULL);
	CHECK(rc == 0, "the executor parked until the thread's wake");
	CHECK(w.rc == 0 && w.value == 42, "the task received 42 from the thread");
	CHECK(w.again_rc == AK_EPIPE, "a second recv on the used receiver is AK_EPIPE");
	ak_executor_free(ex);
}

/* ---- the receiver gives up ------------------------------------------------------ */

struct worker {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_closed_op closed;
	int rc, send_rc, value;
};

static int worker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct worker *w = (struct worker *)f;

	AK_BEGIN(&w->aw, cx);
	printf("    worker: waiting for closed() before doing the work\n");
	ak_oneshot_closed_init(&w->closed, w->tx);
	AK_AWAIT(&w->aw, &w->closed.future, w->rc);
	printf("    worker: closed() completed (%s); is_closed = %d\n", ak_err_name(w->rc),
	       ak_oneshot_tx_is_closed(w->tx));
	w->value = 7;
	w->send_rc = ak_oneshot_send(w->tx, &w->value);
	printf("    worker: a send now returns %s; the value %d is still mine\n",
	       ak_err_name(w->send_rc), w->value);
	AK_END(&w->aw);
}

static void worker_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct worker *)f)->aw, f);
}

static const struct ak_future_vtable worker_vtable = { worker_poll, worker_cancel };

struct requester {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_rx *rx;
	int value, try_rc;
};

static int requester_poll(struct ak_future *f, struct ak_context *cx)
{
	struct requester *r = (struct requester *)f;

	AK_BEGIN(&r->aw, cx);
	AK_YIELD(&r->aw);                   /* let the worker park first */
	r->try_rc = ak_oneshot_try_recv(r->rx, &r->value);
	printf("    requester: try_recv says %s; giving up, dropping the receiver\n",
	       ak_err_name(r->try_rc));
	ak_oneshot_rx_drop(r->rx);
	AK_END(&r->aw);
}

static void requester_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct requester *)f)->aw, f);
}

static const struct ak_future_vtable requester_vtable = { requester_poll, requester_cancel };

void scene_oneshot_receiver_gives_up(void)
{
	struct ak_executor *ex = NULL;
	struct worker w;
	struct requester r;

	printf("\n[oneshot] the receiver gives up: the sender's closed() completes\n");
	memset(&w, 0, sizeof(w));
	memset(&r, 0, sizeof(r));
	ak_executor_new(&ex);
	ak_oneshot_new(sizeof(int), NULL, &w.tx, &r.rx);
	ak_future_init(&w.future, &worker_vtable);
	ak_future_init(&r.future, &requester_vtable);
	ak_executor_spawn(ex, &w.future, NULL);
	ak_executor_spawn(ex, &r.future, NULL);
	ak_executor_run(ex);
	CHECK(r.try_rc == AK_EAGAIN, "try_recv on an empty channel is AK_EAGAIN");
	CHECK(w.rc == 0, "closed() completed when the receiver was dropped");
	CHECK(w.send_rc == AK_EPIPE && w.value == 7,
	      "the late send failed with AK_EPIPE and left the value with the worker");
	ak_executor_free(ex);
}
