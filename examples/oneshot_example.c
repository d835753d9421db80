/*
 * examples/oneshot_example.c: the oneshot channel of ak_oneshot(3): a
 * worker thread answers a request, a task awaits a value, and a value
 * that owns memory is freed by the drop hook when nobody received it.
 *
 * ak_oneshot(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when every value arrived and the unreceived one was freed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <awaitkit.h>

static pthread_t worker;

static void *answer(void *arg)
{
	struct ak_oneshot_tx *tx = arg;
	int v = 42;

	ak_oneshot_send(tx, &v);        /* consumes tx */
	return NULL;
}

static void start_worker(struct ak_oneshot_tx *tx)
{
	if (pthread_create(&worker, NULL, answer, tx) != 0)
		abort();
}

static int request(void)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	int answer, rc;

	ak_oneshot_new(sizeof(int), NULL, &tx, &rx);
	start_worker(tx);      /* the worker calls ak_oneshot_send(tx, &v) */
	rc = ak_oneshot_recv_blocking(rx, &answer, ak_deadline_in(1000000000));
	/* 0, AK_EPIPE (worker gave up) or AK_ETIMEDOUT */
	ak_oneshot_rx_drop(rx);
	pthread_join(worker, NULL);
	return rc == 0 && answer == 42 ? 0 : 1;
}

/* A task that awaits one value. */
struct waiter {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op;
	int value, rc;
};

static int waiter_poll(struct ak_future *f, struct ak_context *cx)
{
	struct waiter *t = (struct waiter *)f;

	AK_BEGIN(&t->aw, cx);
	ak_oneshot_recv_init(&t->op, t->rx, &t->value);
	AK_AWAIT(&t->aw, &t->op.future, t->rc);
	AK_RETURN(&t->aw, t->rc);
	AK_END(&t->aw);
}

static void waiter_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct waiter *)f)->aw, f);
}

static const struct ak_future_vtable waiter_vtable = {
	waiter_poll, waiter_cancel
};

static int await_one(void)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct waiter t;
	int rc;

	if (ak_oneshot_new(sizeof(int), NULL, &tx, &rx) != 0)
		return 1;
	memset(&t, 0, sizeof t);
	t.rx = rx;
	ak_future_init(&t.future, &waiter_vtable);
	start_worker(tx);
	rc = ak_block_on(&t.future, ak_deadline_in(1000000000));
	pthread_join(worker, NULL);
	ak_oneshot_rx_drop(rx);
	return rc == 0 && t.value == 42 ? 0 : 1;
}

static int freed;   /* values the hook freed */

static void free_buf(void *elem, void *arg)
{
	char *p;

	memcpy(&p, elem, sizeof(p));
	free(p);
	(*(int *)arg)++;
}
static const struct ak_oneshot_hooks hooks = { free_buf, &freed };

static int unreceived_is_freed(void)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;

	char *buf = malloc(64);

	ak_oneshot_new(sizeof(char *), &hooks, &tx, &rx);
	ak_oneshot_send(tx, &buf);     /* the channel owns buf now */
	ak_oneshot_rx_drop(rx);        /* never received: free_buf frees it */
	return freed == 1 ? 0 : 1;
}

int
main(void)
{
	return request() != 0 || await_one() != 0 || unreceived_is_freed() != 0;
}
