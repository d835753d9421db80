/* sim/scenarios/chan.c: mpsc and oneshot under every schedule. */
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

const struct ak_sim_scenario sim_chan_scenarios[] = {
	{ "mpsc_bounded_send_vs_recv", mpsc_bounded_send_vs_recv,
	  "a one-slot channel: two sends, the receiver, the sender's drop" },
	{ "oneshot_send_vs_recv", oneshot_send_vs_recv,
	  "a oneshot send while the receiver registers" },
	{ NULL, NULL, NULL },
};
