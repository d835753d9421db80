/* sim/scenarios/bw.c: broadcast and watch under every schedule. */
#include "scen.h"

/* ---- broadcast -------------------------------------------------------------------- */

static struct ak_broadcast_tx *btx;
static struct ak_broadcast_rx *brx;

static void *broadcast_send_two(void *arg)
{
	(void)arg;
	for (int v = 1; v <= 2; v++)
		CHECK(ak_broadcast_send(btx, &v, NULL) == 0);
	return NULL;
}

/* Takes what rx holds until it has accounted for `upto` values or finds
 * it empty: the values come in order, each missed one counted. */
static int drain(struct ak_broadcast_rx *rx, int last, int upto, int block)
{
	while (last < upto) {
		int v = 0, rc;
		uint64_t missed = 0;
		if (block)
			rc = ak_broadcast_recv_blocking(rx, &v, &missed, AK_DEADLINE_NEVER);
		else
			rc = ak_broadcast_try_recv(rx, &v, &missed);
		if (rc == AK_EAGAIN)
			break;
		if (rc == AK_EOVERFLOW) {
			CHECK(missed >= 1 && last + (int)missed < upto);
			last += (int)missed;
			continue;
		}
		CHECK(rc == 0 && v == last + 1);
		last = v;
	}
	return last;
}

static void *subscribe_late(void *arg)
{
	(void)arg;
	struct ak_broadcast_rx *late;
	CHECK(ak_broadcast_subscribe(btx, &late) == 0);
	/* It sees only what was sent after it subscribed, in order. */
	int v = 0, rc;
	uint64_t missed = 0;
	rc = ak_broadcast_try_recv(late, &v, &missed);
	CHECK(rc == 0 || rc == AK_EAGAIN || rc == AK_EOVERFLOW);
	if (rc == 0)
		drain(late, v, 2, 0);
	CHECK(ak_broadcast_rx_drop(late) == 0);
	return NULL;
}

/* A capacity of one: the first receiver lags or not; a second subscribes
 * while the values go out.  Every value is received or counted missed. */
static void broadcast_lag_vs_subscribe(void)
{
	CHECK(ak_broadcast_new(&btx, &brx, 1, sizeof(int), NULL) == 0);
	pthread_t a = spawn(broadcast_send_two, NULL);
	pthread_t b = spawn(subscribe_late, NULL);
	CHECK(drain(brx, 0, 2, 1) == 2);
	join(a);
	join(b);
	CHECK(ak_broadcast_tx_drop(btx) == 0);
	CHECK(ak_broadcast_rx_drop(brx) == 0);
}

static void *broadcast_send_drop(void *arg)
{
	(void)arg;
	int v = 1;
	CHECK(ak_broadcast_send(btx, &v, NULL) == 0);
	CHECK(ak_broadcast_tx_drop(btx) == 0);
	return NULL;
}

/* The last sender's drop races with a parked receive: the value, then
 * AK_EPIPE. */
static void broadcast_send_vs_close(void)
{
	CHECK(ak_broadcast_new(&btx, &brx, 2, sizeof(int), NULL) == 0);
	pthread_t a = spawn(broadcast_send_drop, NULL);
	int v = 0;
	uint64_t missed;
	CHECK(ak_broadcast_recv_blocking(brx, &v, &missed, AK_DEADLINE_NEVER) == 0 && v == 1);
	CHECK(ak_broadcast_recv_blocking(brx, &v, &missed, AK_DEADLINE_NEVER) == AK_EPIPE);
	join(a);
	CHECK(ak_broadcast_rx_drop(brx) == 0);
}

static void *broadcast_send_one(void *arg)
{
	(void)arg;
	int v = 1;
	CHECK(ak_broadcast_send(btx, &v, NULL) == 0);
	return NULL;
}

/* A receive cancelled as the send lands loses nothing: the value is
 * received exactly once, by it or by the try after it. */
static void broadcast_cancel_vs_send(void)
{
	struct ak_broadcast_recv_op op = { 0 };
	int v = 0, got = 0;
	uint64_t missed = 0;
	CHECK(ak_broadcast_new(&btx, &brx, 2, sizeof(int), NULL) == 0);
	pthread_t a = spawn(broadcast_send_one, NULL);
	CHECK(ak_broadcast_recv_init(&op, brx, &v, &missed) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0 && v == 1 && ++got);
	join(a);
	v = 0;
	rc = ak_broadcast_try_recv(brx, &v, &missed);
	if (rc == 0)
		CHECK(v == 1 && ++got);
	CHECK(got == 1);
	CHECK(ak_broadcast_tx_drop(btx) == 0);
	CHECK(ak_broadcast_rx_drop(brx) == 0);
}

/* ---- watch --------------------------------------------------------------------------- */

static struct ak_watch_sender *wtx;
static struct ak_watch_receiver *wrx;

static void *watch_send_two_drop(void *arg)
{
	(void)arg;
	for (int v = 1; v <= 2; v++)
		CHECK(ak_watch_send(wtx, &v) == 0);
	CHECK(ak_watch_sender_drop(wtx) == 0);
	return NULL;
}

/* Updates race with borrows: each borrow sees a whole value that matches
 * its version, versions never go back, and the receiver ends on the last
 * value once the sender is gone. */
static void watch_update_vs_borrow(void)
{
	int zero = 0;
	CHECK(ak_watch_new(sizeof(int), &zero, NULL, &wtx, &wrx) == 0);
	pthread_t a = spawn(watch_send_two_drop, NULL);
	uint64_t seen = 0;
	for (;;) {
		struct ak_watch_ref ref;
		CHECK(ak_watch_borrow_and_update(wrx, &ref) == 0);
		int v = *(const int *)ref.value;
		CHECK((uint64_t)v == ref.version && ref.version >= seen);
		seen = ref.version;
		CHECK(ak_watch_ref_release(&ref) == 0);
		int rc = ak_watch_changed_blocking(wrx, AK_DEADLINE_NEVER);
		if (rc == AK_EPIPE)
			break;
		CHECK(rc == 0);
	}
	join(a);
	struct ak_watch_ref ref;
	CHECK(ak_watch_borrow(wrx, &ref) == 0);
	CHECK(*(const int *)ref.value == 2);
	CHECK(ak_watch_ref_release(&ref) == 0);
	CHECK(ak_watch_receiver_drop(wrx) == 0);
}

static void *watch_send_one(void *arg)
{
	(void)arg;
	int v = 1;
	CHECK(ak_watch_send(wtx, &v) == 0);
	return NULL;
}

/* changed() cancelled as the send lands: the change is not consumed by
 * the cancelled wait; the next changed() completes at once. */
static void watch_changed_cancel_vs_send(void)
{
	struct ak_watch_changed_op op = { 0 };
	int zero = 0;
	CHECK(ak_watch_new(sizeof(int), &zero, NULL, &wtx, &wrx) == 0);
	pthread_t a = spawn(watch_send_one, NULL);
	CHECK(ak_watch_changed_init(&op, wrx) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0);
	join(a);
	if (rc != 0)
		CHECK(ak_watch_changed_blocking(wrx, AK_DEADLINE_NEVER) == 0);
	struct ak_watch_ref ref;
	CHECK(ak_watch_borrow_and_update(wrx, &ref) == 0);
	CHECK(*(const int *)ref.value == 1 && ref.version == 1);
	CHECK(ak_watch_ref_release(&ref) == 0);
	CHECK(ak_watch_sender_drop(wtx) == 0);
	CHECK(ak_watch_receiver_drop(wrx) == 0);
}

const struct ak_sim_scenario sim_bw_scenarios[] = {
	{ "broadcast_lag_vs_subscribe", broadcast_lag_vs_subscribe,
	  "capacity 1: two sends, a lagging receiver, a late subscriber" },
	{ "broadcast_send_vs_close", broadcast_send_vs_close,
	  "a send and the last sender's drop; a parked receive" },
	{ "broadcast_cancel_vs_send", broadcast_cancel_vs_send,
	  "a receive cancelled as the send lands" },
	{ "watch_update_vs_borrow", watch_update_vs_borrow,
	  "two sends and the drop; borrows and changed() (RCU)" },
	{ "watch_changed_cancel_vs_send", watch_changed_cancel_vs_send,
	  "changed() cancelled as the send lands" },
	{ NULL, NULL, NULL },
};
