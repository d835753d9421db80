/*
 * examples/cross_runtime.c: one channel and one lock across three
 * runtimes.  Producer tasks on a libuv loop (its own thread) and worker
 * tasks on the awaitkit pool send numbered values into one bounded mpsc,
 * each holding one Mutex across its awaited send while it counts what it
 * sent; a plain thread receives them all with a blocking receive.  The
 * program checks the count, the sum and each sender's order, and that
 * the tally kept under the Mutex agrees.  make check-matrix runs it.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>
#include <awaitkit/uv.h>

#define UV_SENDERS 2
#define POOL_SENDERS 2
#define SENDERS (UV_SENDERS + POOL_SENDERS)
#define PER_SENDER 1000

static struct ak_mutex *mutex;
static long sent[SENDERS];              /* under mutex */

struct sender {
	struct ak_future future;        /* first: the task is an ak_future */
	struct ak_await aw;
	struct ak_mpsc_tx *tx;
	struct ak_mutex_lock_op lock;
	struct ak_mpsc_send_op send;
	long value;
	int id, i, held, rc;
};

static int sender_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sender *s = (struct sender *)f;

	AK_BEGIN(&s->aw, cx);
	for (s->i = 1; s->i <= PER_SENDER; s->i++) {
		ak_mutex_lock_init(&s->lock, mutex);
		AK_AWAIT(&s->aw, &s->lock.future, s->rc);
		if (s->rc != 0)
			break;
		s->held = 1;
		s->value = ((long)s->id << 20) | s->i;
		ak_mpsc_send_init(&s->send, s->tx, &s->value);
		AK_AWAIT(&s->aw, &s->send.future, s->rc);   /* guard held */
		if (s->rc == 0)
			sent[s->id]++;
		ak_mutex_unlock(&s->lock);
		s->held = 0;
		if (s->rc != 0)
			break;
	}
	ak_mpsc_tx_drop(s->tx);             /* the last drop closes it */
	s->tx = NULL;
	AK_RETURN(&s->aw, s->rc);
	AK_CLEANUP(&s->aw);                 /* on cancel only */
	if (s->held)
		ak_mutex_unlock(&s->lock);
	if (s->tx)
		ak_mpsc_tx_drop(s->tx);
	AK_END(&s->aw);
}

static void sender_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct sender *)f)->aw, f);
}

static const struct ak_future_vtable sender_vtable = { sender_poll, sender_cancel };

static struct sender senders[SENDERS];

/* The libuv loop: spawn its senders, run until they finished, close. */
static void *uv_main(void *arg)
{
	uv_loop_t loop;
	struct ak_uv *uv;
	int *rc = arg;

	uv_loop_init(&loop);
	*rc = ak_uv_new(&loop, &uv);
	for (int i = 0; i < UV_SENDERS && *rc == 0; i++)
		*rc = ak_uv_spawn(uv, &senders[i].future, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ak_uv_close(uv);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return NULL;
}

int main(void)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_pool *pool;
	pthread_t uv_thread;
	int uv_rc = 0;

	if (ak_mutex_new(&mutex, 0) != 0 ||
	    ak_mpsc_new(8, sizeof(long), NULL, &tx, &rx) != 0 ||
	    ak_pool_new(&pool, 2) != 0)
		return 1;
	for (int i = 0; i < SENDERS; i++) {
		senders[i].id = i;
		if (ak_mpsc_tx_clone(tx, &senders[i].tx) != 0)
			return 1;
		ak_future_init(&senders[i].future, &sender_vtable);
	}
	ak_mpsc_tx_drop(tx);
	pthread_create(&uv_thread, NULL, uv_main, &uv_rc);
	for (int i = UV_SENDERS; i < SENDERS; i++)
		if (ak_pool_spawn(pool, &senders[i].future, NULL) != 0)
			return 1;

	/* The consumer: this plain thread. */
	long value, count = 0, sum = 0;
	int last[SENDERS] = { 0 }, out_of_order = 0, rc;
	while ((rc = ak_mpsc_recv_blocking(rx, &value, AK_DEADLINE_NEVER)) == 0) {
		int id = (int)(value >> 20), seq = (int)(value & 0xfffff);
		out_of_order += seq != last[id] + 1;
		last[id] = seq;
		count++;
		sum += seq;
	}
	pthread_join(uv_thread, NULL);
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	ak_pool_free(pool);
	ak_mpsc_rx_drop(rx);

	struct ak_mutex_lock_op guard;
	long tally = 0;
	ak_mutex_lock_blocking(&guard, mutex, AK_DEADLINE_NEVER);
	for (int i = 0; i < SENDERS; i++)
		tally += sent[i];
	ak_mutex_unlock(&guard);
	ak_mutex_free(mutex);

	long want = (long)SENDERS * PER_SENDER;
	long want_sum = (long)SENDERS * PER_SENDER * (PER_SENDER + 1) / 2;
	printf("cross_runtime: %ld values from %d libuv and %d pool senders, "
	       "sum %ld, %d out of order, tally under the Mutex %ld\n",
	       count, UV_SENDERS, POOL_SENDERS, sum, out_of_order, tally);
	return rc == AK_EPIPE && uv_rc == 0 && count == want && sum == want_sum &&
	       out_of_order == 0 && tally == want ? 0 : 1;
}
