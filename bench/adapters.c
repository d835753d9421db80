/*
 * bench/adapters.c: the host-loop adapters against the single-thread
 * executor, in one run (make bench-adapters; never part of make check).
 *
 *   pingpong  two tasks on the same loop pass a value back and forth over
 *             two bounded(1) mpsc channels: ns per round trip
 *   xwake     a task receives from a bounded(1) mpsc fed by another
 *             thread: ns per value, about one cross-thread wake each
 *
 * Each figure is the median of RUNS runs; the ratio is to the executor's.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <uv.h>
#include <awaitkit.h>
#include <awaitkit/event.h>
#include <awaitkit/uv.h>

#define ROUNDS 100000
#define VALUES 20000
#define RUNS 5

struct player {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_tx *tx;
	long ball, limit;
	int rc;
};

static int player_poll(struct ak_future *f, struct ak_context *cx)
{
	struct player *p = (struct player *)f;

	AK_BEGIN(&p->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&p->recv, p->rx, &p->ball);
		AK_AWAIT(&p->aw, &p->recv.future, p->rc);
		if (p->rc != 0) {
			if (p->tx)
				ak_mpsc_tx_drop(p->tx);
			p->tx = NULL;
			AK_RETURN(&p->aw, 0);
		}
		if (!p->tx)
			continue;       /* a sink: receives until the sender goes */
		p->ball++;
		if (p->ball >= p->limit) {
			/* The other player's receive ends with AK_EPIPE. */
			ak_mpsc_tx_drop(p->tx);
			p->tx = NULL;
			AK_RETURN(&p->aw, 0);
		}
		ak_mpsc_send_init(&p->send, p->tx, &p->ball);
		AK_AWAIT(&p->aw, &p->send.future, p->rc);
		if (p->rc != 0)
			AK_RETURN(&p->aw, 0);
	}
	AK_CLEANUP(&p->aw);
	AK_END(&p->aw);
}

static void player_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct player *)f)->aw, f);
}

static const struct ak_future_vtable player_vtable = { player_poll, player_cancel };

enum { EXEC, UV, EVENT };
static const char *names[] = { "executor", "libuv", "libevent" };

/* Spawns bodies on kind's loop and runs it until they are done. */
static void run_on(int kind, struct ak_future **bodies, int n)
{
	if (kind == EXEC) {
		struct ak_executor *ex;
		ak_executor_new(&ex);
		for (int i = 0; i < n; i++)
			ak_executor_spawn(ex, bodies[i], NULL);
		ak_executor_run_all(ex, AK_DEADLINE_NEVER);
		ak_executor_free(ex);
	} else if (kind == UV) {
		uv_loop_t loop;
		struct ak_uv *uv;
		uv_loop_init(&loop);
		ak_uv_new(&loop, &uv);
		for (int i = 0; i < n; i++)
			ak_uv_spawn(uv, bodies[i], NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		ak_uv_close(uv);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	} else {
		struct event_base *base = event_base_new();
		struct ak_event *ev;
		ak_event_new(base, &ev);
		for (int i = 0; i < n; i++)
			ak_event_spawn(ev, bodies[i], NULL);
		event_base_dispatch(base);
		ak_event_close(ev);
		event_base_free(base);
	}
}

static double pingpong(int kind)
{
	struct ak_mpsc_tx *ta, *tb;
	struct ak_mpsc_rx *ra, *rb;
	struct player a, b;
	long serve = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ak_mpsc_new(1, sizeof(long), NULL, &ta, &ra);
	ak_mpsc_new(1, sizeof(long), NULL, &tb, &rb);
	a.rx = ra; a.tx = tb; b.rx = rb; b.tx = ta;
	a.limit = b.limit = 2L * ROUNDS;
	ak_future_init(&a.future, &player_vtable);
	ak_future_init(&b.future, &player_vtable);
	ak_mpsc_try_send(ta, &serve);
	struct ak_future *bodies[] = { &a.future, &b.future };
	int64_t t0 = ak_now();
	run_on(kind, bodies, 2);
	int64_t t1 = ak_now();
	ak_mpsc_rx_drop(ra); ak_mpsc_rx_drop(rb);  /* the players dropped ta, tb */
	return (double)(t1 - t0) / ROUNDS;
}

static void *feeder(void *arg)
{
	struct ak_mpsc_tx *tx = arg;
	for (long i = 0; i < VALUES; i++)
		ak_mpsc_send_blocking(tx, &i, AK_DEADLINE_NEVER);
	ak_mpsc_tx_drop(tx);
	return NULL;
}

static double xwake(int kind)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct player p;
	pthread_t th;

	memset(&p, 0, sizeof(p));
	ak_mpsc_new(1, sizeof(long), NULL, &tx, &rx);
	p.rx = rx;              /* no tx: a sink */
	ak_future_init(&p.future, &player_vtable);
	struct ak_future *bodies[] = { &p.future };
	int64_t t0 = ak_now();
	pthread_create(&th, NULL, feeder, tx);
	run_on(kind, bodies, 1);
	int64_t t1 = ak_now();
	pthread_join(th, NULL);
	ak_mpsc_rx_drop(rx);
	return (double)(t1 - t0) / VALUES;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	double med[2][3], mins[2][3];

	evthread_use_pthreads();
	for (int w = 0; w < 2; w++) {
		double r[3][RUNS];
		for (int i = 0; i < RUNS; i++)          /* alternating */
			for (int k = 0; k < 3; k++)
				r[k][i] = w == 0 ? pingpong(k) : xwake(k);
		for (int k = 0; k < 3; k++) {
			qsort(r[k], RUNS, sizeof(double), cmp);
			med[w][k] = r[k][RUNS / 2];
			mins[w][k] = r[k][0];
		}
	}
	printf("%-10s %-9s %12s %12s %8s\n", "workload", "loop", "median ns", "min ns", "ratio");
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < 3; k++)
			printf("%-10s %-9s %12.1f %12.1f %8.2f\n",
			       w == 0 ? "pingpong" : "xwake", names[k], med[w][k],
			       mins[w][k], med[w][k] / med[w][0]);
	return 0;
}
