/*
 * fuzz_bw.c: the broadcast and watch channels against their models.
 *
 * broadcast model (ak_broadcast(3), tokio::sync::broadcast): a sequence of
 * sent values of which the ring holds the last `capacity` (rounded up to a
 * power of two); every receiver has a cursor; one that fell behind gets
 * AK_EOVERFLOW with the count it missed and goes on from the oldest value
 * held; a send with no receiver fails and keeps nothing; once every sender
 * is gone receivers drain, then get AK_EPIPE.
 *
 * watch model (ak_watch(3), tokio::sync::watch): one value and its version;
 * each receiver the version it last saw and a mark_changed flag; changed()
 * completes (marking seen) when they differ, fails when every sender is
 * gone and nothing is unseen; has_changed() fails once the senders are
 * gone; send() fails with no receiver, send_replace() never does.
 */
#include <string.h>
#include "fuzz.h"

enum { O_NONE, O_PENDING };

/* ---- broadcast ----------------------------------------------------------- */

#define BC_TX 2
#define BC_RX 3
#define BC_HIST 256

static struct ak_broadcast_tx *bc_tx[BC_TX];
static struct ak_broadcast_rx *bc_rx[BC_RX];
static struct ak_broadcast_recv_op bc_op[BC_RX];
static unsigned bc_out[BC_RX];
static uint64_t bc_missed[BC_RX];
static struct {
	uint64_t cap, tail;
	unsigned vals[BC_HIST];
	int ntx;
	uint64_t pos[BC_RX];
	int op_st[BC_RX];
	struct fwait w[BC_RX];
} bc;

static void bc_setup(unsigned arg)
{
	static const uint64_t caps[4] = { 1, 2, 4, 4 };
	memset(&bc, 0, sizeof(bc));
	memset(bc_tx, 0, sizeof(bc_tx));
	memset(bc_rx, 0, sizeof(bc_rx));
	memset(bc_op, 0, sizeof(bc_op));
	bc.cap = caps[arg % 4];
	bc.ntx = 1;
	if (ak_broadcast_new(&bc_tx[0], &bc_rx[0], 1 + arg % 4, sizeof(unsigned), NULL) != 0)
		fz_fail("ak_broadcast_new failed");
}

static int bc_nrx(void)
{
	int n = 0;
	for (int r = 0; r < BC_RX; r++)
		n += bc_rx[r] != NULL;
	return n;
}

/* A receive on r in the model: 0 with *v, AK_EOVERFLOW with *missed,
 * AK_EPIPE, or AK_EAGAIN. */
static int bc_model_recv(int r, unsigned *v, uint64_t *missed)
{
	if (!bc_rx[r])
		return AK_EPIPE;   /* dropped under its parked receive */
	if (bc.tail > bc.cap && bc.pos[r] < bc.tail - bc.cap) {
		*missed = bc.tail - bc.cap - bc.pos[r];
		bc.pos[r] = bc.tail - bc.cap;
		return AK_EOVERFLOW;
	}
	if (bc.pos[r] < bc.tail) {
		*v = bc.vals[bc.pos[r]++ % BC_HIST];
		return 0;
	}
	return bc.ntx == 0 ? AK_EPIPE : AK_EAGAIN;
}

static void bc_check_recv(int r, int rc, unsigned got, uint64_t missed, const char *what)
{
	unsigned v = 0;
	uint64_t mm = 0;
	int want = bc_model_recv(r, &v, &mm);
	if (want == AK_EAGAIN && rc == AK_PENDING)
		return;
	FZ_EQ(what, rc, want);
	if (rc == 0)
		FZ_EQ("broadcast: the value received (order)", got, v);
	if (rc == AK_EOVERFLOW)
		FZ_EQ("broadcast: the count of values missed", missed, mm);
}

static int bc_free_slot(void)
{
	for (int r = 0; r < BC_RX; r++)
		if (!bc_rx[r] && bc.op_st[r] == O_NONE)
			return r;
	return -1;
}

static void bc_wake_all(const char *what)
{
	for (int r = 0; r < BC_RX; r++)
		if (bc_rx[r] && bc.op_st[r] == O_PENDING)
			fz_expect_woken(&bc.w[r], what);
}

static void bc_apply(unsigned op, unsigned arg)
{
	int r = (int)(arg % BC_RX), t = (int)((arg / BC_RX) % NTASK);
	int i = (int)((arg / (BC_RX * NTASK)) % BC_TX), rc, s;
	switch (op % 9) {
	case 0: {
		fz_opname = "broadcast send";
		if (!bc_tx[i])
			return;
		unsigned v = fz_value++;
		size_t nr = 99;
		rc = ak_broadcast_send(bc_tx[i], &v, &nr);
		FZ_EQ("ak_broadcast_send", rc, bc_nrx() ? 0 : AK_EPIPE);
		if (rc != 0)
			return;
		FZ_EQ("ak_broadcast_send: receivers", nr, bc_nrx());
		bc.vals[bc.tail++ % BC_HIST] = v;
		bc_wake_all("broadcast: a send wakes every waiting receive");
		return;
	}
	case 1:
		fz_opname = "broadcast tx_clone / tx_drop";
		if (!bc_tx[i])
			return;
		if (arg & 0x80) {
			FZ_EQ("ak_broadcast_tx_drop", ak_broadcast_tx_drop(bc_tx[i]), 0);
			bc_tx[i] = NULL;
			if (--bc.ntx == 0)
				bc_wake_all("broadcast: the last sender's drop wakes the receives");
		} else if (!bc_tx[1 - i]) {
			FZ_EQ("ak_broadcast_tx_clone", ak_broadcast_tx_clone(bc_tx[i], &bc_tx[1 - i]), 0);
			bc.ntx++;
		}
		return;
	case 2:
		fz_opname = "broadcast subscribe";
		if (!bc_tx[i] || (s = bc_free_slot()) < 0)
			return;
		FZ_EQ("ak_broadcast_subscribe", ak_broadcast_subscribe(bc_tx[i], &bc_rx[s]), 0);
		bc.pos[s] = bc.tail;
		return;
	case 3:
		fz_opname = "broadcast resubscribe";
		if (!bc_rx[r] || (s = bc_free_slot()) < 0)
			return;
		FZ_EQ("ak_broadcast_resubscribe", ak_broadcast_resubscribe(bc_rx[r], &bc_rx[s]), 0);
		bc.pos[s] = bc.tail;
		return;
	case 4:
		fz_opname = "broadcast rx_drop";
		if (!bc_rx[r])
			return;
		FZ_EQ("ak_broadcast_rx_drop", ak_broadcast_rx_drop(bc_rx[r]), 0);
		bc_rx[r] = NULL;
		return;
	case 5: {
		fz_opname = "broadcast try_recv";
		if (!bc_rx[r])
			return;
		unsigned v = 0;
		uint64_t missed = 0;
		rc = ak_broadcast_try_recv(bc_rx[r], &v, &missed);
		bc_check_recv(r, rc, v, missed, "ak_broadcast_try_recv");
		return;
	}
	case 6:
		fz_opname = "broadcast recv (init, first poll)";
		if (!bc_rx[r] || bc.op_st[r] != O_NONE)
			return;
		FZ_EQ("ak_broadcast_recv_init",
		      ak_broadcast_recv_init(&bc_op[r], bc_rx[r], &bc_out[r], &bc_missed[r]), 0);
		/* fall through */
	case 7:
		if (op % 9 == 7) {
			fz_opname = "broadcast recv poll";
			if (bc.op_st[r] != O_PENDING)
				return;
		}
		rc = fz_poll(t, &bc_op[r].future);
		bc_check_recv(r, rc, bc_out[r], bc_missed[r], "broadcast recv poll");
		bc.op_st[r] = rc == AK_PENDING ? O_PENDING : O_NONE;
		if (rc == AK_PENDING)
			fz_parked(&bc.w[r], t);
		return;
	default:
		fz_opname = "broadcast recv cancel";
		if (bc.op_st[r] != O_PENDING)
			return;
		ak_future_cancel(&bc_op[r].future);
		bc.op_st[r] = O_NONE;
		return;
	}
}

static void bc_check(void)
{
	uint64_t lo = bc.tail > bc.cap ? bc.tail - bc.cap : 0, minpos = UINT64_MAX;
	for (int r = 0; r < BC_RX; r++) {
		if (!bc_rx[r])
			continue;
		if (bc.pos[r] < minpos)
			minpos = bc.pos[r];
		FZ_EQ("ak_broadcast_rx_len", ak_broadcast_rx_len(bc_rx[r]), bc.tail - bc.pos[r]);
		FZ_EQ("ak_broadcast_rx_is_closed", ak_broadcast_rx_is_closed(bc_rx[r]), bc.ntx == 0);
	}
	uint64_t len = minpos == UINT64_MAX ? 0 : bc.tail - (minpos > lo ? minpos : lo);
	for (int i = 0; i < BC_TX; i++) {
		if (!bc_tx[i])
			continue;
		FZ_EQ("ak_broadcast_receiver_count", ak_broadcast_receiver_count(bc_tx[i]), bc_nrx());
		FZ_EQ("ak_broadcast_capacity", ak_broadcast_capacity(bc_tx[i]), bc.cap);
		FZ_EQ("ak_broadcast_len", ak_broadcast_len(bc_tx[i]), len);
		FZ_EQ("ak_broadcast_is_empty", ak_broadcast_is_empty(bc_tx[i]), len == 0);
		break;
	}
}

static void bc_teardown(void)
{
	for (int r = 0; r < BC_RX; r++) {
		if (bc.op_st[r] == O_PENDING)
			ak_future_cancel(&bc_op[r].future);
		bc.op_st[r] = O_NONE;
		if (bc_rx[r])
			FZ_EQ("ak_broadcast_rx_drop (teardown)", ak_broadcast_rx_drop(bc_rx[r]), 0);
		bc_rx[r] = NULL;
	}
	for (int i = 0; i < BC_TX; i++) {
		if (bc_tx[i])
			FZ_EQ("ak_broadcast_tx_drop (teardown)", ak_broadcast_tx_drop(bc_tx[i]), 0);
		bc_tx[i] = NULL;
	}
}

const struct fprim fz_broadcast = {
	"broadcast", bc_setup, bc_apply, bc_check, bc_teardown
};

/* ---- watch --------------------------------------------------------------- */

#define W_TX 2
#define W_RX 3

static struct ak_watch_sender *w_tx[W_TX];
static struct ak_watch_receiver *w_rx[W_RX];
static struct ak_watch_changed_op w_op[W_RX];
static struct {
	uint64_t version;
	unsigned value;
	int ntx;
	uint64_t seen[W_RX];
	int marked[W_RX];
	int op_st[W_RX];
	struct fwait w[W_RX];
} wm;

static void watch_setup(unsigned arg)
{
	memset(&wm, 0, sizeof(wm));
	memset(w_tx, 0, sizeof(w_tx));
	memset(w_rx, 0, sizeof(w_rx));
	memset(w_op, 0, sizeof(w_op));
	wm.value = arg;
	wm.ntx = 1;
	if (ak_watch_new(sizeof(unsigned), &wm.value, NULL, &w_tx[0], &w_rx[0]) != 0)
		fz_fail("ak_watch_new failed");
}

static int w_nrx(void)
{
	int n = 0;
	for (int r = 0; r < W_RX; r++)
		n += w_rx[r] != NULL;
	return n;
}

static int w_free_slot(void)
{
	for (int r = 0; r < W_RX; r++)
		if (!w_rx[r] && wm.op_st[r] == O_NONE)
			return r;
	return -1;
}

static void w_wake_all(const char *what)
{
	for (int r = 0; r < W_RX; r++)
		if (w_rx[r] && wm.op_st[r] == O_PENDING)
			fz_expect_woken(&wm.w[r], what);
}

static int w_unseen(int r)
{
	return wm.marked[r] || wm.seen[r] != wm.version;
}

static void w_publish(unsigned v)
{
	wm.value = v;
	wm.version++;
	w_wake_all("watch: a publish wakes every waiting changed()");
}

static void watch_apply(unsigned op, unsigned arg)
{
	int r = (int)(arg % W_RX), t = (int)((arg / W_RX) % NTASK);
	int i = (int)((arg / (W_RX * NTASK)) % W_TX), rc, s;
	switch (op % 10) {
	case 0: {
		fz_opname = "watch send";
		if (!w_tx[i])
			return;
		unsigned v = fz_value++;
		rc = ak_watch_send(w_tx[i], &v);
		FZ_EQ("ak_watch_send", rc, w_nrx() ? 0 : AK_EPIPE);
		if (rc == 0)
			w_publish(v);
		return;
	}
	case 1: {
		fz_opname = "watch send_replace";
		if (!w_tx[i])
			return;
		unsigned v = fz_value++, old = 0;
		FZ_EQ("ak_watch_send_replace", ak_watch_send_replace(w_tx[i], &v, &old), 0);
		FZ_EQ("ak_watch_send_replace: the old value", old, wm.value);
		w_publish(v);
		return;
	}
	case 2:
		fz_opname = "watch sender clone / drop";
		if (!w_tx[i])
			return;
		if (arg & 0x80) {
			FZ_EQ("ak_watch_sender_drop", ak_watch_sender_drop(w_tx[i]), 0);
			w_tx[i] = NULL;
			if (--wm.ntx == 0)
				w_wake_all("watch: the last sender's drop wakes changed()");
		} else if (!w_tx[1 - i]) {
			FZ_EQ("ak_watch_sender_clone", ak_watch_sender_clone(w_tx[i], &w_tx[1 - i]), 0);
			wm.ntx++;
		}
		return;
	case 3:
		fz_opname = "watch subscribe / receiver_clone";
		if ((s = w_free_slot()) < 0)
			return;
		if (arg & 0x80) {
			if (!w_rx[r])
				return;
			FZ_EQ("ak_watch_receiver_clone", ak_watch_receiver_clone(w_rx[r], &w_rx[s]), 0);
			wm.seen[s] = wm.seen[r];
			wm.marked[s] = wm.marked[r];
		} else {
			if (!w_tx[i])
				return;
			FZ_EQ("ak_watch_subscribe", ak_watch_subscribe(w_tx[i], &w_rx[s]), 0);
			wm.seen[s] = wm.version;
			wm.marked[s] = 0;
		}
		return;
	case 4:
		fz_opname = "watch receiver_drop";
		if (!w_rx[r])
			return;
		FZ_EQ("ak_watch_receiver_drop", ak_watch_receiver_drop(w_rx[r]), 0);
		w_rx[r] = NULL;
		return;
	case 5: {
		fz_opname = "watch borrow / borrow_and_update";
		if (!w_rx[r])
			return;
		struct ak_watch_ref ref;
		memset(&ref, 0, sizeof(ref));
		rc = (arg & 0x80) ? ak_watch_borrow_and_update(w_rx[r], &ref)
		                  : ak_watch_borrow(w_rx[r], &ref);
		FZ_EQ("ak_watch_borrow", rc, 0);
		FZ_EQ("watch borrow: value", *(const unsigned *)ref.value, wm.value);
		FZ_EQ("watch borrow: version", ref.version, wm.version);
		FZ_EQ("watch borrow: has_changed", ref.has_changed, w_unseen(r));
		FZ_EQ("ak_watch_ref_release", ak_watch_ref_release(&ref), 0);
		if (arg & 0x80) {
			wm.seen[r] = wm.version;
			wm.marked[r] = 0;
		}
		return;
	}
	case 6:
		fz_opname = "watch has_changed";
		if (!w_rx[r])
			return;
		FZ_EQ("ak_watch_has_changed", ak_watch_has_changed(w_rx[r]),
		      wm.ntx == 0 ? AK_EPIPE : w_unseen(r));
		return;
	case 7:
		fz_opname = "watch mark_changed / mark_unchanged";
		if (!w_rx[r])
			return;
		if (arg & 0x80) {
			FZ_EQ("ak_watch_mark_unchanged", ak_watch_mark_unchanged(w_rx[r]), 0);
			wm.seen[r] = wm.version;
			wm.marked[r] = 0;
		} else {
			FZ_EQ("ak_watch_mark_changed", ak_watch_mark_changed(w_rx[r]), 0);
			wm.marked[r] = 1;
		}
		return;
	case 8:
		if (wm.op_st[r] == O_NONE) {
			fz_opname = "watch changed (init, first poll)";
			if (!w_rx[r])
				return;
			FZ_EQ("ak_watch_changed_init", ak_watch_changed_init(&w_op[r], w_rx[r]), 0);
		} else {
			fz_opname = "watch changed poll";
		}
		rc = fz_poll(t, &w_op[r].future);
		{
			int want;
			if (!w_rx[r]) {
				want = AK_EPIPE;
			} else if (w_unseen(r)) {
				want = 0;
				wm.seen[r] = wm.version;
				wm.marked[r] = 0;
			} else {
				want = wm.ntx == 0 ? AK_EPIPE : AK_PENDING;
			}
			FZ_EQ("watch changed poll", rc, want);
		}
		wm.op_st[r] = rc == AK_PENDING ? O_PENDING : O_NONE;
		if (rc == AK_PENDING)
			fz_parked(&wm.w[r], t);
		return;
	default:
		fz_opname = "watch changed cancel";
		if (wm.op_st[r] != O_PENDING)
			return;
		ak_future_cancel(&w_op[r].future);
		wm.op_st[r] = O_NONE;
		return;
	}
}

static void watch_check(void)
{
	for (int i = 0; i < W_TX; i++) {
		if (!w_tx[i])
			continue;
		FZ_EQ("ak_watch_receiver_count", ak_watch_receiver_count(w_tx[i]), w_nrx());
		FZ_EQ("ak_watch_sender_count", ak_watch_sender_count(w_tx[i]), wm.ntx);
		FZ_EQ("ak_watch_sender_is_closed", ak_watch_sender_is_closed(w_tx[i]), w_nrx() == 0);
	}
}

static void watch_teardown(void)
{
	for (int r = 0; r < W_RX; r++) {
		if (wm.op_st[r] == O_PENDING)
			ak_future_cancel(&w_op[r].future);
		wm.op_st[r] = O_NONE;
		if (w_rx[r])
			FZ_EQ("ak_watch_receiver_drop (teardown)", ak_watch_receiver_drop(w_rx[r]), 0);
		w_rx[r] = NULL;
	}
	for (int i = 0; i < W_TX; i++) {
		if (w_tx[i])
			FZ_EQ("ak_watch_sender_drop (teardown)", ak_watch_sender_drop(w_tx[i]), 0);
		w_tx[i] = NULL;
	}
}

const struct fprim fz_watch = {
	"watch", watch_setup, watch_apply, watch_check, watch_teardown
};
