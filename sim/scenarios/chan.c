/* sim/scenarios/chan.c: mpsc and oneshot under every schedule. */
#include <string.h>

#include "scen.h"

/* ---- mpsc ---------------------------------------------------------------------- */

static struct ak_mpsc_tx *tx;
static struct ak_mpsc_rx *rx;

static void *send_two(void *arg)
{
	(void)arg;
	for (int v = 1; v <= 2; v++)
		CHECK(ak_mpsc_send_blocking(tx, &v, AK_DEADLINE_NEVER) == 0);
	ak_mpsc_tx_drop(tx);
	return NULL;
}

/* A bounded channel of one slot: the sender waits for the receiver, the
 * receiver for the sender; the values arrive in order, then AK_EPIPE once
 * the sender is gone. */
static void mpsc_bounded_send_vs_recv(void)
{
	CHECK(ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) == 0);
	pthread_t a = spawn(send_two, NULL);
	for (int want = 1; want <= 2; want++) {
		int v = 0;
		CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == 0);
		CHECK(v == want);
	}
	int v;
	CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == AK_EPIPE);
	join(a);
	ak_mpsc_rx_drop(rx);
}

static void *send_two_unbounded(void *arg)
{
	(void)arg;
	for (int v = 1; v <= 2; v++)
		CHECK(ak_mpsc_send_blocking(tx, &v, AK_DEADLINE_NEVER) == 0);
	ak_mpsc_tx_drop(tx);
	return NULL;
}

/* The unbounded channel: the receiver parks while the sender's values
 * and its drop (the close) arrive. */
static void mpsc_unbounded_send_vs_recv(void)
{
	CHECK(ak_mpsc_unbounded_new(sizeof(int), NULL, &tx, &rx) == 0);
	pthread_t a = spawn(send_two_unbounded, NULL);
	for (int want = 1; want <= 2; want++) {
		int v = 0;
		CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == 0);
		CHECK(v == want);
	}
	int v;
	CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == AK_EPIPE);
	join(a);
	ak_mpsc_rx_drop(rx);
}

static void *send_until_closed(void *arg)
{
	(void)arg;
	int v = 7, rc;
	while ((rc = ak_mpsc_send_blocking(tx, &v, AK_DEADLINE_NEVER)) == 0)
		;
	CHECK(rc == AK_EPIPE);
	return NULL;
}

/* A sender parked on a full channel when the receiver closes: woken with
 * AK_EPIPE; what was sent before stays receivable. */
static void mpsc_send_vs_close(void)
{
	CHECK(ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) == 0);
	pthread_t a = spawn(send_until_closed, NULL);
	int v = 0;
	CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == 0 && v == 7);
	CHECK(ak_mpsc_rx_close(rx) == 0);
	join(a);
	while (ak_mpsc_try_recv(rx, &v) == 0)
		CHECK(v == 7);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}

static struct ak_mpsc_reserve_op permit;

static void *drop_permit(void *arg)
{
	(void)arg;
	CHECK(ak_mpsc_permit_drop(&permit) == 0);
	return NULL;
}

static size_t reserve_n;

static void *reserve_then_cancel(void *arg)
{
	(void)arg;
	struct ak_mpsc_reserve_op op = { 0 };
	CHECK(ak_mpsc_reserve_many_init(&op, tx, reserve_n) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING) {
		ak_sim_yield();
		/* Polled again after the close (it fails, giving its slots
		 * back) or cancelled: the parked recv must be woken either
		 * way. */
		if (reserve_n > 1 && (rc = poll_once(&op.future)) == AK_PENDING)
			ak_future_cancel(&op.future);
		else if (reserve_n == 1)
			ak_future_cancel(&op.future);
	}
	if (rc == 0)
		CHECK(ak_mpsc_permit_drop(&op) == 0);
	else
		CHECK(rc == AK_PENDING || rc == AK_EPIPE);
	return NULL;
}

/* The lost wakeups of issue 11 as races: a permit is held, a reserve of
 * reserve_n slots parks, the permit is dropped (granting the reserve),
 * the receiver closes and parks in recv; the reserve is then cancelled or
 * fails.  Every slot comes back and the recv wakes with AK_EPIPE. */
static void reserve_vs_close(size_t capacity, size_t n)
{
	memset(&permit, 0, sizeof(permit));
	reserve_n = n;
	CHECK(ak_mpsc_new(capacity, sizeof(int), NULL, &tx, &rx) == 0);
	CHECK(ak_mpsc_try_reserve_many(&permit, tx, capacity) == 0);
	pthread_t a = spawn(reserve_then_cancel, NULL);
	pthread_t b = spawn(drop_permit, NULL);
	CHECK(ak_mpsc_rx_close(rx) == 0);
	int v;
	CHECK(ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == AK_EPIPE);
	join(a);
	join(b);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}

static void mpsc_reserve_cancel_vs_close(void)
{
	reserve_vs_close(1, 1);
}

static void mpsc_reserve_many_vs_close(void)
{
	reserve_vs_close(2, 2);
}

/* ---- oneshot -------------------------------------------------------------------- */

static struct ak_oneshot_tx *otx;
static struct ak_oneshot_rx *orx;

static void *oneshot_send(void *arg)
{
	(void)arg;
	int v = 42;
	CHECK(ak_oneshot_send(otx, &v) == 0);
	return NULL;
}

/* The send lands before, while or after the receiver registers. */
static void oneshot_send_vs_recv(void)
{
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx, &orx) == 0);
	pthread_t a = spawn(oneshot_send, NULL);
	int v = 0;
	CHECK(ak_oneshot_recv_blocking(orx, &v, AK_DEADLINE_NEVER) == 0);
	CHECK(v == 42);
	join(a);
	ak_oneshot_rx_drop(orx);
}

static void *send_after_yield(void *arg)
{
	(void)arg;
	int v = 42;
	ak_sim_yield();
	CHECK(ak_oneshot_send(otx, &v) == 0);
	return NULL;
}

/* A receive parked with one waker, then polled with another (block_on's):
 * the send must wake the new one. */
static void oneshot_repoll_new_waker(void)
{
	struct ak_oneshot_recv_op op = { 0 };
	int v = 0;
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx, &orx) == 0);
	CHECK(ak_oneshot_recv_init(&op, orx, &v) == 0);
	int rc = poll_once(&op.future);
	pthread_t a = spawn(send_after_yield, NULL);
	if (rc == AK_PENDING)
		rc = ak_block_on(&op.future, AK_DEADLINE_NEVER);
	CHECK(rc == 0 && v == 42);
	join(a);
	ak_oneshot_rx_drop(orx);
}

static void *oneshot_send_maybe_closed(void *arg)
{
	(void)arg;
	int v = 5;
	int rc = ak_oneshot_send(otx, &v);
	CHECK(rc == 0 || rc == AK_EPIPE);
	return NULL;
}

/* A receive cancelled, then the receiver closed, while the send lands:
 * the value is delivered or handed back, never lost or leaked. */
static void oneshot_cancel_vs_send(void)
{
	struct ak_oneshot_recv_op op = { 0 };
	int v = 0;
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx, &orx) == 0);
	pthread_t a = spawn(oneshot_send_maybe_closed, NULL);
	CHECK(ak_oneshot_recv_init(&op, orx, &v) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0 && v == 5);
	CHECK(ak_oneshot_rx_close(orx) == 0);
	join(a);
	ak_oneshot_rx_drop(orx);
}

const struct ak_sim_scenario sim_chan_scenarios[] = {
	{ "mpsc_bounded_send_vs_recv", mpsc_bounded_send_vs_recv,
	  "a one-slot channel: two sends, the receiver, the sender's drop" },
	{ "mpsc_unbounded_send_vs_recv", mpsc_unbounded_send_vs_recv,
	  "the unbounded channel: two sends and the drop, a parked receiver" },
	{ "mpsc_send_vs_close", mpsc_send_vs_close,
	  "a sender parked on a full channel; the receiver closes" },
	{ "mpsc_reserve_cancel_vs_close", mpsc_reserve_cancel_vs_close,
	  "a granted reserve cancelled after close; recv parked (issue 11)" },
	{ "mpsc_reserve_many_vs_close", mpsc_reserve_many_vs_close,
	  "reserve_many holding 1 of 2 slots fails after close (issue 11)" },
	{ "oneshot_send_vs_recv", oneshot_send_vs_recv,
	  "a oneshot send while the receiver registers" },
	{ "oneshot_repoll_new_waker", oneshot_repoll_new_waker,
	  "a receive polled again with a new waker as the send lands" },
	{ "oneshot_cancel_vs_send", oneshot_cancel_vs_send,
	  "a receive cancelled and the receiver closed as the send lands" },
	{ NULL, NULL, NULL },
};
