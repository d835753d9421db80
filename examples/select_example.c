/*
 * examples/select_example.c: the combinators of ak_select(3), ak_join(3)
 * and ak_try_join(3) over mpsc channels, a sleep and mutexes.
 *
 * Those pages quote it verbatim in their EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that they still do, then builds and runs it.
 * Exit status 0 when every example got what it should.
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

static int consumed;   /* how many values consume() saw */
static int sum;        /* and their sum */

static void consume(int v)
{
	consumed++;
	sum += v;
}

static void use(int a, int b)
{
	consumed += 2;
	sum += a + b;
}

/* Two channels holding the values 1 and 2; *keep: their senders. */
static int two_channels(struct ak_mpsc_rx **rx0, struct ak_mpsc_rx **rx1,
    struct ak_mpsc_tx **keep0, struct ak_mpsc_tx **keep1)
{
	struct ak_mpsc_tx *tx0, *tx1;
	int one = 1, two = 2;

	if (ak_mpsc_new(4, sizeof(int), NULL, &tx0, rx0) != 0)
		return -1;
	if (ak_mpsc_new(4, sizeof(int), NULL, &tx1, rx1) != 0)
		return -1;
	ak_mpsc_try_send(tx0, &one);
	ak_mpsc_try_send(tx1, &two);
	if (keep0) {
		*keep0 = tx0;
		*keep1 = tx1;
	} else {
		ak_mpsc_tx_drop(tx0);
		ak_mpsc_tx_drop(tx1);
	}
	return 0;
}

/* ak_join(3): two receives awaited together on the calling thread. */
static int join_two(struct ak_mpsc_rx *rx0, struct ak_mpsc_rx *rx1)
{
	int v0 = 0, v1 = 0;

	struct ak_mpsc_recv_op r[2];
	struct ak_branch b[2] = {
		{ &r[0].future, 0, 0 },
		{ &r[1].future, 0, 0 },
	};
	struct ak_join_op join;
	memset(r, 0, sizeof r);
	memset(&join, 0, sizeof join);
	ak_mpsc_recv_init(&r[0], rx0, &v0);
	ak_mpsc_recv_init(&r[1], rx1, &v1);
	if (ak_join_blocking(&join, b, 2, 0, ak_deadline_in(1000000000LL)) == 0 &&
	    b[0].status == 0 && b[1].status == 0)
		use(v0, v1);
	return v0 == 1 && v1 == 2 ? 0 : 1;
}

/* ak_select(3): consume from two channels until both are closed. */
static void select_until_closed(struct ak_mpsc_rx *rx0, struct ak_mpsc_rx *rx1)
{
	int open[2] = { 1, 1 }, v[2];
	for (;;) {
		struct ak_mpsc_recv_op r[2];
		struct ak_branch b[2] = {
			{ &r[0].future, 0, open[0] ? 0 : AK_BRANCH_DISABLED },
			{ &r[1].future, 0, open[1] ? 0 : AK_BRANCH_DISABLED },
		};
		struct ak_select_op sel;
		memset(r, 0, sizeof r);
		memset(&sel, 0, sizeof sel);
		ak_mpsc_recv_init(&r[0], rx0, &v[0]);
		ak_mpsc_recv_init(&r[1], rx1, &v[1]);
		if (ak_select_blocking(&sel, b, 2, 0, AK_DEADLINE_NEVER) != 0)
			break;              /* AK_ENOENT: both closed */
		int w = ak_select_index(&sel);
		if (b[w].status == AK_EPIPE)
			open[w] = 0;
		else
			consume(v[w]);
	}
}

/* ak_select(3): the same loop under one deadline for all its rounds. */
static int select_until_deadline(struct ak_mpsc_rx *rx0, struct ak_mpsc_rx *rx1)
{
	int64_t end = ak_deadline_in(20 * 1000000LL);  /* once: it is absolute */
	int v[2], rc;
	for (;;) {
		struct ak_mpsc_recv_op r[2];
		struct ak_branch b[2] = {
			{ &r[0].future, 0, 0 },
			{ &r[1].future, 0, 0 },
		};
		struct ak_select_op sel;
		memset(r, 0, sizeof r);
		memset(&sel, 0, sizeof sel);
		ak_mpsc_recv_init(&r[0], rx0, &v[0]);
		ak_mpsc_recv_init(&r[1], rx1, &v[1]);
		rc = ak_select_blocking(&sel, b, 2, 0, end);
		if (rc != 0)
			break;          /* AK_ETIMEDOUT: both receives took nothing */
		int w = ak_select_index(&sel);
		if (b[w].status != 0) {
			rc = b[w].status;       /* AK_EPIPE: that channel closed */
			break;
		}
		consume(v[w]);
	}
	return rc;
}

/* ak_select(3): a task's receive with a deadline. */
struct receiver {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct ak_sleep_op sleep;
	struct ak_branch b[2];
	struct ak_select_op sel;
	int value, rc;
};

static int receiver_poll(struct ak_future *f, struct ak_context *cx)
{
	struct receiver *t = (struct receiver *)f;

	AK_BEGIN(&t->aw, cx);
	ak_mpsc_recv_init(&t->recv, t->rx, &t->value);
	ak_sleep_until(&t->sleep, ak_deadline_in(10 * 1000000LL));
	t->b[0] = (struct ak_branch){ &t->recv.future, 0, 0 };
	t->b[1] = (struct ak_branch){ &t->sleep.future, 0, 0 };
	ak_select_init(&t->sel, t->b, 2, 0);
	AK_AWAIT(&t->aw, &t->sel.future, t->rc);
	if (ak_select_index(&t->sel) == 1)      /* timed out: the receive */
		AK_RETURN(&t->aw, AK_ETIMEDOUT); /* was cancelled, took nothing */
	if (t->b[0].status != 0)
		AK_RETURN(&t->aw, t->b[0].status); /* AK_EPIPE: closed */
	consume(t->value);
	AK_RETURN(&t->aw, 0);
	AK_END(&t->aw);
}

static void receiver_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct receiver *)f)->aw, f);
}

static const struct ak_future_vtable receiver_vtable = {
	receiver_poll, receiver_cancel
};

static int receive_within(struct ak_mpsc_rx *rx)
{
	struct receiver t;

	memset(&t, 0, sizeof t);
	t.rx = rx;
	ak_future_init(&t.future, &receiver_vtable);
	return ak_block_on(&t.future, AK_DEADLINE_NEVER);
}

/* ak_try_join(3): two locks and a permit, all or nothing. */
static int take_all(struct ak_mutex *a, struct ak_mutex *b_mutex,
    struct ak_mpsc_tx *tx)
{
	struct ak_mutex_lock_op la, lb;
	struct ak_mpsc_reserve_op slot;
	struct ak_branch b[3] = {
		{ &la.future, 0, 0 },
		{ &lb.future, 0, 0 },
		{ &slot.future, 0, 0 },
	};
	struct ak_try_join_op tj;
	memset(&la, 0, sizeof la);
	memset(&lb, 0, sizeof lb);
	memset(&slot, 0, sizeof slot);
	memset(&tj, 0, sizeof tj);
	ak_mutex_lock_init(&la, a);
	ak_mutex_lock_init(&lb, b_mutex);
	ak_mpsc_reserve_init(&slot, tx);
	int rc = ak_try_join_blocking(&tj, b, 3, 0, ak_deadline_in(1000000000LL));
	if (rc != 0) {
		/* the failing branch (if any) and the cancelled ones hold nothing */
		if (b[0].status == 0)
			ak_mutex_unlock(&la);
		if (b[1].status == 0)
			ak_mutex_unlock(&lb);
		if (b[2].status == 0)
			ak_mpsc_permit_drop(&slot);
		return rc;
	}
	ak_mutex_unlock(&la);
	ak_mutex_unlock(&lb);
	ak_mpsc_permit_drop(&slot);
	return 0;
}

static int try_join_example(void)
{
	struct ak_mutex *a, *b;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int ok = 1;

	if (ak_mutex_new(&a, 0) != 0 || ak_mutex_new(&b, 0) != 0 ||
	    ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) != 0)
		return 1;
	ok &= take_all(a, b, tx) == 0;
	ak_mpsc_rx_drop(rx);                    /* the reserve now fails */
	ok &= take_all(a, b, tx) == AK_EPIPE;
	ok &= !ak_mutex_is_locked(a) && !ak_mutex_is_locked(b);
	ak_mpsc_tx_drop(tx);
	ak_mutex_free(a);
	ak_mutex_free(b);
	return ok ? 0 : 1;
}

/* ak_select(3): the first example's loop on a task, with AK_SELECT_KEEP:
 * the losing receive stays registered across rounds. */
struct kept_consumer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2];
	struct ak_branch b[2];
	struct ak_select_op sel;
	int rc;
};

static int kept_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct kept_consumer *t = (struct kept_consumer *)f;

	AK_BEGIN(&t->aw, cx);
	ak_mpsc_recv_init(&t->r[0], t->rx[0], &t->v[0]);
	ak_mpsc_recv_init(&t->r[1], t->rx[1], &t->v[1]);
	t->b[0] = (struct ak_branch){ &t->r[0].future, 0, 0 };
	t->b[1] = (struct ak_branch){ &t->r[1].future, 0, 0 };
	ak_select_init(&t->sel, t->b, 2, AK_SELECT_KEEP);
	for (;;) {
		AK_AWAIT(&t->aw, &t->sel.future, t->rc);
		if (t->rc == AK_ENOENT)
			break;                  /* both closed */
		int w = ak_select_index(&t->sel);
		if (t->b[w].status == AK_EPIPE) {
			t->b[w].flags = AK_BRANCH_DISABLED;
		} else {
			consume(t->v[w]);
			ak_mpsc_recv_init(&t->r[w], t->rx[w], &t->v[w]);
		}
		ak_select_rearm(&t->sel);
	}
	AK_RETURN(&t->aw, 0);
	AK_END(&t->aw);
}

/* A task is cancelled only while it waits, and it waits only on its
 * select, whose cancel cancels every branch it holds. */
static void kept_consumer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct kept_consumer *)f)->aw, f);
}

static const struct ak_future_vtable kept_consumer_vtable = {
	kept_consumer_poll, kept_consumer_cancel
};

/* Both channels: their value, then three more each, then closed. */
static int select_kept(void)
{
	struct kept_consumer t;
	struct ak_mpsc_tx *tx0, *tx1;

	memset(&t, 0, sizeof t);
	if (two_channels(&t.rx[0], &t.rx[1], &tx0, &tx1) != 0)
		return 1;
	for (int i = 10; i < 13; i++) {
		ak_mpsc_try_send(tx0, &i);
		ak_mpsc_try_send(tx1, &i);
	}
	ak_mpsc_tx_drop(tx0);
	ak_mpsc_tx_drop(tx1);
	ak_future_init(&t.future, &kept_consumer_vtable);
	consumed = sum = 0;
	int rc = ak_block_on(&t.future, AK_DEADLINE_NEVER);
	ak_mpsc_rx_drop(t.rx[0]);
	ak_mpsc_rx_drop(t.rx[1]);
	return rc != 0 || consumed != 8 || sum != 1 + 2 + 2 * (10 + 11 + 12);
}

int
main(void)
{
	struct ak_mpsc_rx *rx0, *rx1;
	struct ak_mpsc_tx *tx0, *tx1;
	int rc, fails = 0;

	if (two_channels(&rx0, &rx1, NULL, NULL) != 0)
		return 1;
	fails += join_two(rx0, rx1);
	ak_mpsc_rx_drop(rx0);
	ak_mpsc_rx_drop(rx1);

	consumed = sum = 0;
	if (two_channels(&rx0, &rx1, NULL, NULL) != 0)
		return 1;
	select_until_closed(rx0, rx1);
	fails += consumed != 2 || sum != 3;
	ak_mpsc_rx_drop(rx0);
	ak_mpsc_rx_drop(rx1);

	consumed = sum = 0;
	if (two_channels(&rx0, &rx1, &tx0, &tx1) != 0)
		return 1;
	rc = select_until_deadline(rx0, rx1);
	fails += rc != AK_ETIMEDOUT || consumed != 2 || sum != 3;
	fails += receive_within(rx0) != AK_ETIMEDOUT;
	ak_mpsc_try_send(tx0, &rc);
	fails += receive_within(rx0) != 0 || consumed != 3;
	ak_mpsc_tx_drop(tx0);
	ak_mpsc_tx_drop(tx1);
	ak_mpsc_rx_drop(rx0);
	ak_mpsc_rx_drop(rx1);

	fails += try_join_example();
	fails += select_kept();
	printf("select_example: %d failed\n", fails);
	return fails != 0;
}
