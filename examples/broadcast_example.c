/*
 * examples/broadcast_example.c: the broadcast channel of ak_broadcast(3):
 * a receiving task that counts what it missed, and a plain thread.
 *
 * ak_broadcast(3) quotes it verbatim in its EXAMPLES;
 * scripts/man-examples.sh (make check-examples) checks that it still does,
 * then builds and runs it.  Exit status 0 when the listener saw the values
 * it kept up with and counted the ones it missed.
 */
#include <stdint.h>
#include <string.h>
#include <awaitkit.h>

struct event {
	int seq;
};

static int handled, last_seq;

static void handle(const struct event *ev)
{
	handled++;
	last_seq = ev->seq;
}

struct listener {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_recv_op op;
	struct event ev;
	uint64_t missed, lost;
	int rc;
};

static int listener_poll(struct ak_future *f, struct ak_context *cx)
{
	struct listener *l = (struct listener *)f;

	AK_BEGIN(&l->aw, cx);
	for (;;) {
		ak_broadcast_recv_init(&l->op, l->rx, &l->ev, &l->missed);
		AK_AWAIT(&l->aw, &l->op.future, l->rc);
		if (l->rc == AK_EOVERFLOW)
			l->lost += l->missed;     /* then go on */
		else if (l->rc != 0)
			AK_RETURN(&l->aw, 0);     /* AK_EPIPE: closed */
		else
			handle(&l->ev);
	}
	AK_END(&l->aw);
}

static void listener_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct listener *)f)->aw, f);
}

static const struct ak_future_vtable listener_vtable = {
	listener_poll, listener_cancel
};

/* Ten events into a ring of four: the listener misses six. */
static int lagging_listener(void)
{
	struct ak_broadcast_tx *tx;
	struct listener l;
	struct event ev;
	int rc;

	memset(&l, 0, sizeof l);
	if (ak_broadcast_new(&tx, &l.rx, 4, sizeof(struct event), NULL) != 0)
		return 1;
	for (ev.seq = 1; ev.seq <= 10; ev.seq++)
		ak_broadcast_send(tx, &ev, NULL);
	ak_broadcast_tx_drop(tx);
	ak_future_init(&l.future, &listener_vtable);
	rc = ak_block_on(&l.future, ak_deadline_in(1000000000));
	ak_broadcast_rx_drop(l.rx);
	return rc == 0 && l.lost == 6 && handled == 4 && last_seq == 10 ? 0 : 1;
}

static int plain_thread(void)
{
	struct ak_broadcast_tx *tx;
	struct ak_broadcast_rx *rx;
	struct event ev = { 0 }, got;

	ak_broadcast_new(&tx, &rx, 64, sizeof(struct event), NULL);
	ak_broadcast_send(tx, &ev, NULL);
	ak_broadcast_recv_blocking(rx, &got, NULL, AK_DEADLINE_NEVER);
	ak_broadcast_tx_drop(tx);
	ak_broadcast_rx_drop(rx);
	return got.seq == 0 ? 0 : 1;
}

int
main(void)
{
	return lagging_listener() != 0 || plain_thread() != 0;
}
