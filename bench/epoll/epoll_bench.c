/*
 * bench/epoll/epoll_bench.c: the epoll executor against the single-thread
 * executor, in one run, for issue 15's figures (make bench-epoll; never
 * part of make check).
 *
 *   pingpong   two tasks on one executor pass a token back and forth over
 *              two bounded mpsc channels (capacity 1): ns per round trip
 *   remote     a plain thread sends to a task, which answers; the thread
 *              waits with ak_mpsc_recv_blocking: ns per round trip, two
 *              cross-thread wakes each (the executor's is the one measured)
 *
 * Each workload alternates the two executors RUNS times; the medians (and
 * minima) are printed with the ratio epoll / executor.
 * Usage: epoll_bench [ROUNDS [RUNS]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>
#include <awaitkit/epoll.h>

static long rounds = 200000;

/* ---- a task that receives from one channel and sends on another ------------ */

struct relay {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_rx *in;
	struct ak_mpsc_tx *out;
	long value;
	long n;                         /* round trips to make */
	int starts;                     /* sends first */
	int rc;
};

static int relay_poll(struct ak_future *f, struct ak_context *cx)
{
	struct relay *r = (struct relay *)f;

	AK_BEGIN(&r->aw, cx);
	if (r->starts) {
		ak_mpsc_send_init(&r->send, r->out, &r->value);
		AK_AWAIT(&r->aw, &r->send.future, r->rc);
	}
	while (r->n-- > 0) {
		ak_mpsc_recv_init(&r->recv, r->in, &r->value);
		AK_AWAIT(&r->aw, &r->recv.future, r->rc);
		if (r->rc != 0)
			break;
		r->value++;
		if (r->starts && r->n == 0)
			break;
		ak_mpsc_send_init(&r->send, r->out, &r->value);
		AK_AWAIT(&r->aw, &r->send.future, r->rc);
		if (r->rc != 0)
			break;
	}
	AK_END(&r->aw);
}

static void relay_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct relay *)f)->aw, f);
}

static const struct ak_future_vtable relay_vtable = { relay_poll, relay_cancel };

static void relay_init(struct relay *r, struct ak_mpsc_rx *in, struct ak_mpsc_tx *out,
                       long n, int starts)
{
	memset(r, 0, sizeof *r);
	ak_future_init(&r->future, &relay_vtable);
	r->in = in;
	r->out = out;
	r->n = n;
	r->starts = starts;
}

/* An executor under test: spawn, run until every task finished, free. */
struct exec_ops {
	const char *name;
	void *(*make)(void);
	void (*spawn)(void *ex, struct ak_future *f);
	void (*run)(void *ex);
	void (*destroy)(void *ex);
};

static void *ex_make(void)
{
	struct ak_executor *ex;
	return ak_executor_new(&ex) == 0 ? ex : NULL;
}
static void ex_spawn(void *ex, struct ak_future *f) { ak_executor_spawn(ex, f, NULL); }
static void ex_run(void *ex) { ak_executor_run_all(ex, AK_DEADLINE_NEVER); }
static void ex_destroy(void *ex) { ak_executor_free(ex); }

static void *ep_make(void)
{
	struct ak_epoll *ep;
	return ak_epoll_new(&ep) == 0 ? ep : NULL;
}
static void ep_spawn(void *ep, struct ak_future *f) { ak_epoll_spawn(ep, f, NULL); }
static void ep_run(void *ep) { ak_epoll_run(ep, AK_DEADLINE_NEVER); }
static void ep_destroy(void *ep) { ak_epoll_free(ep); }

static const struct exec_ops executor_ops = { "executor", ex_make, ex_spawn, ex_run, ex_destroy };
static const struct exec_ops epoll_ops = { "epoll", ep_make, ep_spawn, ep_run, ep_destroy };

/* ns per round trip */
static double pingpong(const struct exec_ops *ops)
{
	struct ak_mpsc_tx *ta, *tb;
	struct ak_mpsc_rx *ra, *rb;
	struct relay a, b;
	void *ex = ops->make();

	ak_mpsc_new(1, sizeof(long), NULL, &ta, &ra);
	ak_mpsc_new(1, sizeof(long), NULL, &tb, &rb);
	relay_init(&a, rb, ta, rounds, 1);
	relay_init(&b, ra, tb, rounds, 0);
	ops->spawn(ex, &a.future);
	ops->spawn(ex, &b.future);
	int64_t t0 = ak_now();
	ops->run(ex);
	int64_t t1 = ak_now();
	if (a.value < rounds)
		fprintf(stderr, "pingpong on %s: %ld of %ld\n", ops->name, a.value, rounds);
	ops->destroy(ex);
	ak_mpsc_tx_drop(ta);
	ak_mpsc_tx_drop(tb);
	ak_mpsc_rx_drop(ra);
	ak_mpsc_rx_drop(rb);
	return (double)(t1 - t0) / (double)rounds;
}

struct remote_peer {
	struct ak_mpsc_tx *to_task;
	struct ak_mpsc_rx *from_task;
	long n;
};

static void *remote_thread(void *arg)
{
	struct remote_peer *p = arg;
	long v = 0;
	for (long i = 0; i < p->n; i++) {
		ak_mpsc_send_blocking(p->to_task, &v, AK_DEADLINE_NEVER);
		ak_mpsc_recv_blocking(p->from_task, &v, AK_DEADLINE_NEVER);
	}
	return NULL;
}

static double remote(const struct exec_ops *ops)
{
	struct ak_mpsc_tx *ta, *tb;
	struct ak_mpsc_rx *ra, *rb;
	struct relay r;
	struct remote_peer p;
	pthread_t th;
	long n = rounds / 10;
	void *ex = ops->make();

	ak_mpsc_new(1, sizeof(long), NULL, &ta, &ra);
	ak_mpsc_new(1, sizeof(long), NULL, &tb, &rb);
	relay_init(&r, ra, tb, n, 0);
	ops->spawn(ex, &r.future);
	p.to_task = ta;
	p.from_task = rb;
	p.n = n;
	int64_t t0 = ak_now();
	pthread_create(&th, NULL, remote_thread, &p);
	ops->run(ex);
	pthread_join(th, NULL);
	int64_t t1 = ak_now();
	ops->destroy(ex);
	ak_mpsc_tx_drop(ta);
	ak_mpsc_tx_drop(tb);
	ak_mpsc_rx_drop(ra);
	ak_mpsc_rx_drop(rb);
	return (double)(t1 - t0) / (double)n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void workload(const char *name, double (*fn)(const struct exec_ops *), int runs)
{
	double ex[64], ep[64];
	fn(&executor_ops);              /* warm-up, both */
	fn(&epoll_ops);
	for (int i = 0; i < runs; i++) {
		ex[i] = fn(&executor_ops);
		ep[i] = fn(&epoll_ops);
	}
	qsort(ex, (size_t)runs, sizeof ex[0], cmp);
	qsort(ep, (size_t)runs, sizeof ep[0], cmp);
	double mex = ex[runs / 2], mep = ep[runs / 2];
	printf("%-9s executor %8.1f ns (min %8.1f)  epoll %8.1f ns (min %8.1f)  ratio %.2f\n",
	       name, mex, ex[0], mep, ep[0], mep / mex);
}

int main(int argc, char **argv)
{
	int runs = 7;
	if (argc > 1)
		rounds = atol(argv[1]);
	if (argc > 2)
		runs = atoi(argv[2]);
	if (runs < 1 || runs > 64 || rounds < 10)
		return 2;
	printf("epoll_bench: %ld rounds, %d runs each, medians (epoll / executor)\n",
	       rounds, runs);
	workload("pingpong", pingpong, runs);
	workload("remote", remote, runs);
	return 0;
}
