/*
 * fuzz_rdv.c: the rendezvous, an mpsc channel of capacity 0, against its
 * model.  It is a mode of the "mpsc bounded" primitive (fuzz_mpsc.c): a
 * setup byte of FZ_RDV_SETUP or more makes the channel of capacity 0, with
 * the same operation codes and operand fields.
 *
 * Model (ak_mpsc(3), "Capacity 0: the rendezvous"): no queue of values,
 * one cell for the value handed over and not yet taken; a FIFO of parked
 * sends and reserves; `wants` (a receive waits), `asked` (the parked one a
 * receive asked to hand over), `permit` (the task whose permit holds the
 * hand-off).  A send or reserve hands over at its first poll only if a
 * receive waits and nobody holds the hand-off; otherwise it parks.  A
 * receive (or try_recv) takes the cell, or asks the head of the FIFO (its
 * task must be woken); the asked one hands over at its next poll (a send
 * fills the cell and wakes the receive; a reserve becomes the permit).  A
 * cancelled asked op passes the ask to the new head while a receive waits;
 * a cancelled receive takes the ask back (the op goes back to the head).
 * Close fails the parked ops (woken) and the asked one at its poll; a
 * permit still sends; the receiver finishes once the cell is empty and no
 * permit is out.
 */
#include <string.h>
#include "fuzz.h"

#define NTX 3

enum { S_NONE, S_PENDING, S_HELD };
enum { R_QUEUED, R_ASKED, R_FAILED };

/* An op's id: task t's send is t, its reserve NTASK + t. */
struct rop {
	int st;            /* S_* */
	int r;             /* R_*, while pending */
	struct fwait w;
};

static struct {
	struct ak_mpsc_tx *tx[NTX];
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send[NTASK];
	unsigned send_val[NTASK];
	struct ak_mpsc_reserve_op res[NTASK];
	struct ak_mpsc_recv_op recv;
	unsigned recv_out;
	/* the model */
	struct rop ops[2 * NTASK];
	int q[2 * NTASK], qn;
	int asked, permit;     /* an op id, a task; -1: none */
	int wants, cell, closed, rx_closed, ntx;
	unsigned cell_val;
	int recv_st;
	struct fwait recv_w;
} rd;

static void q_remove(int id)
{
	for (int k = 0; k < rd.qn; k++)
		if (rd.q[k] == id) {
			memmove(rd.q + k, rd.q + k + 1, (size_t)(rd.qn - k - 1) * sizeof(rd.q[0]));
			rd.qn--;
			return;
		}
	fz_fail("rendezvous model: op %d not queued", id);
}

static void ask_head(void)
{
	if (rd.qn == 0 || rd.asked >= 0 || rd.permit >= 0 || rd.closed)
		return;
	int id = rd.q[0];
	q_remove(id);
	rd.ops[id].r = R_ASKED;
	rd.asked = id;
	fz_expect_woken(&rd.ops[id].w, "rendezvous: the sender a receive asks is woken");
}

static int receive_waits(void)
{
	return rd.wants && rd.asked < 0 && rd.permit < 0 && !rd.closed;
}

static void hand_over(unsigned v)
{
	if (rd.cell)
		fz_fail("rendezvous model: a second value in the cell");
	rd.cell = 1;
	rd.cell_val = v;
	rd.asked = rd.permit = -1;
	rd.wants = 0;
	if (rd.recv_st == S_PENDING)
		fz_expect_woken(&rd.recv_w, "rendezvous: a hand-over wakes the waiting receive");
}

static int finished(void)
{
	return rd.closed && !rd.cell && rd.permit < 0;
}

static void update(int wake_required)
{
	if (!rd.closed && (rd.rx_closed || rd.ntx + (rd.permit >= 0) == 0)) {
		rd.closed = 1;
		rd.asked = -1;          /* fails at its next poll */
		for (int k = 0; k < rd.qn; k++) {
			rd.ops[rd.q[k]].r = R_FAILED;
			fz_expect_woken(&rd.ops[rd.q[k]].w, "rendezvous: close wakes the parked senders");
		}
		rd.qn = 0;
	}
	if (rd.recv_st == S_PENDING && wake_required && finished())
		fz_expect_woken(&rd.recv_w, "rendezvous: the end wakes the waiting receive");
}

void fz_rdv_setup(unsigned arg)
{
	(void)arg;
	memset(&rd, 0, sizeof(rd));
	rd.asked = rd.permit = -1;
	rd.ntx = 1;
	if (ak_mpsc_new(0, sizeof(unsigned), NULL, &rd.tx[0], &rd.rx) != 0)
		fz_fail("rendezvous: creation failed");
}

/* A send's or reserve's first poll: 0 handed over (or the permit), else
 * parked. */
static int model_offer(int id, int t)
{
	if (rd.closed)
		return AK_EPIPE;
	if (receive_waits())
		return 0;
	rd.ops[id].st = S_PENDING;
	rd.ops[id].r = R_QUEUED;
	rd.q[rd.qn++] = id;
	fz_parked(&rd.ops[id].w, t);
	return AK_PENDING;
}

/* A pending send's or reserve's later poll. */
static int model_repoll(int id, int t)
{
	switch (rd.ops[id].r) {
	case R_QUEUED:
		fz_parked(&rd.ops[id].w, t);
		return AK_PENDING;
	case R_ASKED:
		rd.ops[id].st = S_NONE;
		return rd.closed ? AK_EPIPE : 0;
	default:
		rd.ops[id].st = S_NONE;
		return AK_EPIPE;
	}
}

static void model_cancel(int id)
{
	if (rd.ops[id].r == R_QUEUED) {
		q_remove(id);
	} else if (rd.ops[id].r == R_ASKED && rd.asked == id) {
		rd.asked = -1;
		if (rd.wants)
			ask_head();
	}
	rd.ops[id].st = S_NONE;
}

static int model_recv(unsigned *v, int wait)
{
	if (rd.cell) {
		*v = rd.cell_val;
		rd.cell = 0;
		return 0;
	}
	if (finished()) {
		rd.wants = 0;
		return AK_EPIPE;
	}
	ask_head();
	if (wait)
		rd.wants = 1;
	return wait ? AK_PENDING : AK_EAGAIN;
}

static void check_recv(int rc, unsigned got, int wait, const char *what)
{
	unsigned v = 0;
	FZ_EQ(what, rc, model_recv(&v, wait));
	if (rc == 0)
		FZ_EQ("rendezvous: the value received", got, v);
}

void fz_rdv_apply(unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), i = (int)((arg / NTASK) % NTX), rc;
	struct ak_mpsc_tx *tx = rd.tx[i];
	switch (op % 16) {
	case 0: /* send: init and first poll */
		fz_opname = "rendezvous send (init, first poll)";
		if (!tx || rd.ops[t].st != S_NONE)
			return;
		rd.send_val[t] = fz_value++;
		FZ_EQ("ak_mpsc_send_init", ak_mpsc_send_init(&rd.send[t], tx, &rd.send_val[t]), 0);
		rc = fz_poll(t, &rd.send[t].future);
		FZ_EQ("rendezvous send first poll", rc, model_offer(t, t));
		if (rc == 0)
			hand_over(rd.send_val[t]);
		break;
	case 1:
		fz_opname = "rendezvous send poll";
		if (rd.ops[t].st != S_PENDING)
			return;
		rc = fz_poll(t, &rd.send[t].future);
		FZ_EQ("rendezvous send poll", rc, model_repoll(t, t));
		if (rc == 0)
			hand_over(rd.send_val[t]);
		break;
	case 2:
		fz_opname = "rendezvous send cancel";
		if (rd.ops[t].st != S_PENDING)
			return;
		ak_future_cancel(&rd.send[t].future);
		model_cancel(t);
		break;
	case 3: {
		fz_opname = "rendezvous try_send";
		if (!tx)
			return;
		unsigned v = fz_value++;
		rc = ak_mpsc_try_send(tx, &v);
		FZ_EQ("ak_mpsc_try_send", rc, rd.closed ? AK_EPIPE : receive_waits() ? 0 : AK_EAGAIN);
		if (rc == 0)
			hand_over(v);
		break;
	}
	case 4: { /* reserve of 1 or 2: init and first poll */
		fz_opname = "rendezvous reserve (init, first poll)";
		uint64_t n = 1 + (arg / (NTASK * NTX)) % 2;
		int id = NTASK + t;
		if (!tx || rd.ops[id].st != S_NONE)
			return;
		if (n > 1) {
			FZ_EQ("ak_mpsc_reserve_many_init of 2 on a rendezvous",
			      ak_mpsc_reserve_many_init(&rd.res[t], tx, n), AK_EINVAL);
			return;
		}
		FZ_EQ("ak_mpsc_reserve_many_init", ak_mpsc_reserve_many_init(&rd.res[t], tx, 1), 0);
		rc = fz_poll(t, &rd.res[t].future);
		FZ_EQ("rendezvous reserve first poll", rc, model_offer(id, t));
		if (rc == 0) {
			rd.ops[id].st = S_HELD;
			rd.permit = t;
		}
		break;
	}
	case 5: {
		fz_opname = "rendezvous reserve poll";
		int id = NTASK + t;
		if (rd.ops[id].st != S_PENDING)
			return;
		rc = fz_poll(t, &rd.res[t].future);
		FZ_EQ("rendezvous reserve poll", rc, model_repoll(id, t));
		if (rc == 0) {
			rd.ops[id].st = S_HELD;
			rd.asked = -1;
			rd.permit = t;
		}
		break;
	}
	case 6:
		fz_opname = "rendezvous reserve cancel";
		if (rd.ops[NTASK + t].st != S_PENDING)
			return;
		ak_future_cancel(&rd.res[t].future);
		model_cancel(NTASK + t);
		break;
	case 7:
		fz_opname = "rendezvous try_reserve";
		if (!tx || rd.ops[NTASK + t].st != S_NONE)
			return;
		rc = ak_mpsc_try_reserve(&rd.res[t], tx);
		FZ_EQ("ak_mpsc_try_reserve", rc,
		      rd.closed ? AK_EPIPE : receive_waits() ? 0 : AK_EAGAIN);
		if (rc == 0) {
			rd.ops[NTASK + t].st = S_HELD;
			rd.permit = t;
		}
		break;
	case 8: {
		fz_opname = "rendezvous permit_send";
		int live = rd.ops[NTASK + t].st == S_HELD;
		unsigned v = fz_value++;
		FZ_EQ("ak_mpsc_permit_send", ak_mpsc_permit_send(&rd.res[t], &v), live ? 0 : AK_EINVAL);
		if (!live)
			return;
		rd.ops[NTASK + t].st = S_NONE;
		hand_over(v);
		break;
	}
	case 9: {
		fz_opname = "rendezvous permit_drop";
		int live = rd.ops[NTASK + t].st == S_HELD;
		FZ_EQ("ak_mpsc_permit_count", ak_mpsc_permit_count(&rd.res[t]), live);
		FZ_EQ("ak_mpsc_permit_drop", ak_mpsc_permit_drop(&rd.res[t]), live ? 0 : AK_EINVAL);
		if (!live)
			return;
		rd.ops[NTASK + t].st = S_NONE;
		rd.permit = -1;
		if (rd.wants)
			ask_head();
		break;
	}
	case 10: /* receive: init and first poll, by task t */
		fz_opname = "rendezvous recv (init, first poll)";
		if (rd.recv_st != S_NONE)
			return;
		rd.recv_out = 0;
		FZ_EQ("ak_mpsc_recv_init", ak_mpsc_recv_init(&rd.recv, rd.rx, &rd.recv_out), 0);
		/* fall through */
	case 11: /* a later poll, from any task: the stored waker is replaced */
		if (op % 16 == 11) {
			fz_opname = "rendezvous recv poll";
			if (rd.recv_st != S_PENDING)
				return;
		}
		rc = fz_poll(t, &rd.recv.future);
		rd.recv_st = S_NONE;
		check_recv(rc, rd.recv_out, 1, "rendezvous recv poll");
		if (rc == AK_PENDING) {
			rd.recv_st = S_PENDING;
			fz_parked(&rd.recv_w, t);
		}
		break;
	case 12:
		fz_opname = "rendezvous recv cancel";
		if (rd.recv_st != S_PENDING)
			return;
		ak_future_cancel(&rd.recv.future);
		rd.recv_st = S_NONE;
		rd.wants = 0;
		if (rd.asked >= 0) {    /* the ask is taken back: the head again */
			memmove(rd.q + 1, rd.q, (size_t)rd.qn * sizeof(rd.q[0]));
			rd.q[0] = rd.asked;
			rd.qn++;
			rd.ops[rd.asked].r = R_QUEUED;
			rd.asked = -1;
		}
		break;
	case 13: {
		fz_opname = "rendezvous try_recv";
		unsigned v = 0;
		check_recv(ak_mpsc_try_recv(rd.rx, &v), v, 0, "ak_mpsc_try_recv");
		break;
	}
	case 14:
		fz_opname = "rendezvous tx_clone / tx_drop";
		if (!tx)
			return;
		if (arg & 0x80) {
			ak_mpsc_tx_drop(tx);
			rd.tx[i] = NULL;
			rd.ntx--;
		} else {
			for (int j = 0; j < NTX; j++)
				if (!rd.tx[j]) {
					FZ_EQ("ak_mpsc_tx_clone", ak_mpsc_tx_clone(tx, &rd.tx[j]), 0);
					rd.ntx++;
					break;
				}
		}
		break;
	default:
		fz_opname = "rendezvous rx_close";
		FZ_EQ("ak_mpsc_rx_close", ak_mpsc_rx_close(rd.rx), 0);
		rd.rx_closed = 1;
		update(0);
		return;
	}
	update(1);
}

void fz_rdv_check(void)
{
	FZ_EQ("rendezvous ak_mpsc_len", ak_mpsc_len(rd.rx), rd.cell);
	FZ_EQ("rendezvous ak_mpsc_rx_is_empty", ak_mpsc_rx_is_empty(rd.rx), !rd.cell);
	FZ_EQ("rendezvous ak_mpsc_rx_is_closed", ak_mpsc_rx_is_closed(rd.rx), rd.closed);
	for (int i = 0; i < NTX; i++) {
		if (!rd.tx[i])
			continue;
		FZ_EQ("rendezvous ak_mpsc_tx_is_closed", ak_mpsc_tx_is_closed(rd.tx[i]), rd.rx_closed);
		FZ_EQ("rendezvous ak_mpsc_capacity", ak_mpsc_capacity(rd.tx[i]), 0);
		FZ_EQ("rendezvous ak_mpsc_max_capacity", ak_mpsc_max_capacity(rd.tx[i]), 0);
		break;
	}
}

void fz_rdv_teardown(void)
{
	for (int t = 0; t < NTASK; t++) {
		if (rd.ops[t].st == S_PENDING)
			ak_future_cancel(&rd.send[t].future);
		if (rd.ops[NTASK + t].st == S_PENDING)
			ak_future_cancel(&rd.res[t].future);
		if (rd.ops[NTASK + t].st == S_HELD)
			FZ_EQ("rendezvous ak_mpsc_permit_drop (teardown)", ak_mpsc_permit_drop(&rd.res[t]), 0);
		rd.ops[t].st = rd.ops[NTASK + t].st = S_NONE;
	}
	if (rd.recv_st == S_PENDING)
		ak_future_cancel(&rd.recv.future);
	rd.recv_st = S_NONE;
	for (int i = 0; i < NTX; i++) {
		ak_mpsc_tx_drop(rd.tx[i]);
		rd.tx[i] = NULL;
	}
	ak_mpsc_rx_drop(rd.rx);
	rd.rx = NULL;
}
