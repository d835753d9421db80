/*
 * fuzz_mpsc.c: the mpsc channel (bounded and unbounded; capacity 0 is
 * fuzz_rdv.c, a mode of the bounded primitive) and the oneshot channel
 * against their models.
 *
 * mpsc model (ak_mpsc(3), tokio::sync::mpsc): a FIFO queue of values; a
 * bounded channel's free slots are a fair semaphore (fuzz_main.c), so
 * waiting sends and reserves are served in the order of their first
 * polls and try_send never jumps the queue; a value enters the queue in
 * the poll that completes its send; the channel closes when the last
 * sender and the last live permit are gone or when the receiver closes;
 * waiting senders then fail with AK_EPIPE (a grant not yet observed too),
 * permits may still send, and the receiver drains the queue before its
 * AK_EPIPE.
 */
#include <string.h>
#include "fuzz.h"

#define NTX 3
#define QMAX 64

enum { S_NONE, S_PENDING, S_HELD };

struct mp {
	const char *name;
	int bounded;
	uint64_t cap;
	struct ak_mpsc_tx *tx[NTX];
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send[NTASK];
	unsigned send_val[NTASK];
	struct ak_mpsc_reserve_op res[NTASK];
	struct ak_mpsc_recv_op recv;
	unsigned recv_out;
	/* the model */
	struct msem s;
	unsigned q[QMAX];
	int qn;
	int ntx, rx_closed, closed;
	struct { int st; struct mwaiter w; } ms[NTASK];
	struct { int st; uint64_t held; struct mwaiter w; } mr[NTASK];
	int recv_st;
	struct fwait recv_w;
};

static struct mp mpb = { .name = "mpsc bounded", .bounded = 1 };
static struct mp mpu = { .name = "mpsc unbounded", .bounded = 0 };

static int permits_out(struct mp *m)
{
	int n = 0;
	for (int t = 0; t < NTASK; t++)
		n += m->mr[t].st == S_HELD && m->mr[t].held > 0;
	return n;
}

/* Slots granted to a waiting send or reserve that has not polled since,
 * or collected by one that the close failed: the receiver counts them as
 * outstanding permits and waits for them rather than report AK_EPIPE,
 * although their poll fails, as tokio's recv() returns None only once
 * every permit is back (an Acquire gives its permits back when dropped). */
static int holds_slots(const struct mwaiter *w)
{
	return w->state == MW_GRANTED || (w->state == MW_CLOSED && w->got > 0);
}

static int grants_out(struct mp *m)
{
	int n = 0;
	for (int t = 0; t < NTASK; t++)
		n += (m->ms[t].st == S_PENDING && holds_slots(&m->ms[t].w)) +
		     (m->mr[t].st == S_PENDING && holds_slots(&m->mr[t].w));
	return n;
}

static int recv_finished(struct mp *m)
{
	return m->qn == 0 && m->closed && permits_out(m) == 0 && grants_out(m) == 0;
}

/* After every change: close when the senders are gone, and check that a
 * parked receive that can now complete was woken (unless the receiver's
 * own call made it so). */
static void mp_update(struct mp *m, int wake_required)
{
	if (!m->closed && (m->rx_closed || m->ntx + permits_out(m) == 0)) {
		m->closed = 1;
		msem_close(&m->s, "mpsc: close wakes the waiting senders");
	}
	if (m->recv_st == S_PENDING && wake_required && (m->qn > 0 || recv_finished(m)))
		fz_expect_woken(&m->recv_w, "mpsc: a parked receive that can complete");
}

static void push(struct mp *m, unsigned v)
{
	if (m->qn >= QMAX)
		fz_fail("mpsc model: queue overflow");
	m->q[m->qn++] = v;
}

static void mp_setup(struct mp *m, unsigned arg)
{
	memset(m->tx, 0, sizeof(m->tx));
	memset(m->send, 0, sizeof(m->send));
	memset(m->res, 0, sizeof(m->res));
	memset(&m->recv, 0, sizeof(m->recv));
	memset(&m->s, 0, sizeof(m->s));
	memset(m->ms, 0, sizeof(m->ms));
	memset(m->mr, 0, sizeof(m->mr));
	m->qn = 0;
	m->ntx = 1;
	m->rx_closed = m->closed = 0;
	m->recv_st = S_NONE;
	int rc;
	if (m->bounded) {
		m->cap = 1 + arg % 4;
		rc = ak_mpsc_new(m->cap, sizeof(unsigned), NULL, &m->tx[0], &m->rx);
	} else {
		m->cap = (uint64_t)1 << 40;
		rc = ak_mpsc_unbounded_new(sizeof(unsigned), NULL, &m->tx[0], &m->rx);
	}
	if (rc != 0)
		fz_fail("%s: creation failed (%d)", m->name, rc);
	m->s.avail = m->cap;
}

/* A receive's outcome in the model: 0 with *v, AK_EPIPE or AK_EAGAIN. */
static int model_recv(struct mp *m, unsigned *v)
{
	if (m->qn > 0) {
		*v = m->q[0];
		memmove(m->q, m->q + 1, (size_t)(--m->qn) * sizeof(m->q[0]));
		msem_release(&m->s, 1, "mpsc: a receive frees a slot for the head sender");
		return 0;
	}
	return recv_finished(m) ? AK_EPIPE : AK_EAGAIN;
}

static void check_recv(struct mp *m, int rc, unsigned got, const char *what)
{
	unsigned v = 0;
	int want = model_recv(m, &v);
	if (want == AK_EAGAIN && rc == AK_PENDING)
		return;
	FZ_EQ(what, rc, want);
	if (rc == 0)
		FZ_EQ("mpsc: the value received (order)", got, v);
}

/* A pending send's or reserve's later poll: its model outcome. */
static int model_granted(struct mp *m, struct mwaiter *w, int t)
{
	switch (w->state) {
	case MW_QUEUED:
		fz_parked(&w->w, t);
		return AK_PENDING;
	case MW_CLOSED:
		return msem_closed_poll(&m->s, w);
	default: /* granted; a grant first observed after the close goes back */
		w->state = MW_IDLE;
		if (m->closed) {
			msem_release(&m->s, w->need, "mpsc: a revoked grant goes back");
			return AK_EPIPE;
		}
		return 0;
	}
}

static void mp_apply(struct mp *m, unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), i = (int)((arg / NTASK) % NTX), rc;
	struct ak_mpsc_tx *tx = m->tx[i];
	switch (op % 16) {
	case 0: /* send: init and first poll */
		fz_opname = "mpsc send (init, first poll)";
		if (!tx || m->ms[t].st != S_NONE || m->qn >= QMAX - 8)
			return;
		m->send_val[t] = fz_value++;
		FZ_EQ("ak_mpsc_send_init", ak_mpsc_send_init(&m->send[t], tx, &m->send_val[t]), 0);
		rc = fz_poll(t, &m->send[t].future);
		if (m->closed) {
			FZ_EQ("mpsc send on a closed channel", rc, AK_EPIPE);
			return;
		}
		FZ_EQ("mpsc send first poll", rc, msem_acquire(&m->s, &m->ms[t].w, 1, t));
		if (rc == 0)
			push(m, m->send_val[t]);
		else
			m->ms[t].st = S_PENDING;
		break;
	case 1:
		fz_opname = "mpsc send poll";
		if (m->ms[t].st != S_PENDING)
			return;
		rc = fz_poll(t, &m->send[t].future);
		FZ_EQ("mpsc send poll", rc, model_granted(m, &m->ms[t].w, t));
		if (rc == 0)
			push(m, m->send_val[t]);
		if (rc != AK_PENDING)
			m->ms[t].st = S_NONE;
		break;
	case 2:
		fz_opname = "mpsc send cancel";
		if (m->ms[t].st != S_PENDING)
			return;
		ak_future_cancel(&m->send[t].future);
		msem_cancel(&m->s, &m->ms[t].w, "mpsc: a cancelled send passes its slot on");
		m->ms[t].st = S_NONE;
		break;
	case 3:
		fz_opname = "mpsc try_send";
		if (!tx || m->qn >= QMAX - 8)
			return;
		{
			unsigned v = fz_value++;
			rc = ak_mpsc_try_send(tx, &v);
			FZ_EQ("ak_mpsc_try_send", rc, m->closed ? AK_EPIPE : msem_try(&m->s, 1));
			if (rc == 0)
				push(m, v);
		}
		break;
	case 4: { /* reserve of 1 or 2: init and first poll */
		fz_opname = "mpsc reserve (init, first poll)";
		uint64_t n = 1 + (arg / (NTASK * NTX)) % 2;
		if (!tx || m->mr[t].st != S_NONE)
			return;
		if (!m->bounded) {
			FZ_EQ("ak_mpsc_reserve_many_init on an unbounded channel",
			      ak_mpsc_reserve_many_init(&m->res[t], tx, n), AK_EINVAL);
			return;
		}
		if (n > m->cap)
			n = m->cap;
		FZ_EQ("ak_mpsc_reserve_many_init", ak_mpsc_reserve_many_init(&m->res[t], tx, n), 0);
		rc = fz_poll(t, &m->res[t].future);
		if (m->closed) {
			FZ_EQ("mpsc reserve on a closed channel", rc, AK_EPIPE);
			return;
		}
		FZ_EQ("mpsc reserve first poll", rc, msem_acquire(&m->s, &m->mr[t].w, n, t));
		m->mr[t].st = rc == 0 ? S_HELD : S_PENDING;
		m->mr[t].held = rc == 0 ? n : 0;
		break;
	}
	case 5:
		fz_opname = "mpsc reserve poll";
		if (m->mr[t].st != S_PENDING)
			return;
		rc = fz_poll(t, &m->res[t].future);
		FZ_EQ("mpsc reserve poll", rc, model_granted(m, &m->mr[t].w, t));
		if (rc == 0) {
			m->mr[t].st = S_HELD;
			m->mr[t].held = m->mr[t].w.need;
		} else if (rc != AK_PENDING) {
			m->mr[t].st = S_NONE;
		}
		break;
	case 6:
		fz_opname = "mpsc reserve cancel";
		if (m->mr[t].st != S_PENDING)
			return;
		ak_future_cancel(&m->res[t].future);
		msem_cancel(&m->s, &m->mr[t].w, "mpsc: a cancelled reserve passes its slots on");
		m->mr[t].st = S_NONE;
		break;
	case 7:
		fz_opname = "mpsc try_reserve";
		if (!tx || m->mr[t].st != S_NONE || !m->bounded)
			return;
		rc = ak_mpsc_try_reserve(&m->res[t], tx);
		FZ_EQ("ak_mpsc_try_reserve", rc, m->closed ? AK_EPIPE : msem_try(&m->s, 1));
		if (rc == 0) {
			m->mr[t].st = S_HELD;
			m->mr[t].held = 1;
		}
		break;
	case 8: {
		fz_opname = "mpsc permit_send";
		int live = m->mr[t].st == S_HELD && m->mr[t].held > 0;
		unsigned v = fz_value++;
		rc = ak_mpsc_permit_send(&m->res[t], &v);
		FZ_EQ("ak_mpsc_permit_send", rc, live ? 0 : AK_EINVAL);
		if (!live)
			return;
		push(m, v);
		if (--m->mr[t].held == 0)
			m->mr[t].st = S_NONE;
		break;
	}
	case 9: {
		fz_opname = "mpsc permit_drop";
		int live = m->mr[t].st == S_HELD && m->mr[t].held > 0;
		FZ_EQ("ak_mpsc_permit_count", ak_mpsc_permit_count(&m->res[t]),
		      live ? m->mr[t].held : 0);
		rc = ak_mpsc_permit_drop(&m->res[t]);
		FZ_EQ("ak_mpsc_permit_drop", rc, live ? 0 : AK_EINVAL);
		if (!live)
			return;
		m->mr[t].st = S_NONE;
		msem_release(&m->s, m->mr[t].held, "mpsc: a dropped permit's slots go to the head sender");
		m->mr[t].held = 0;
		break;
	}
	case 10: /* receive: init and first poll, by task t */
		fz_opname = "mpsc recv (init, first poll)";
		if (m->recv_st != S_NONE)
			return;
		m->recv_out = 0;
		FZ_EQ("ak_mpsc_recv_init", ak_mpsc_recv_init(&m->recv, m->rx, &m->recv_out), 0);
		/* fall through */
	case 11: /* a later poll, from any task: the stored waker is replaced */
		if (op % 16 == 11) {
			fz_opname = "mpsc recv poll";
			if (m->recv_st != S_PENDING)
				return;
		}
		rc = fz_poll(t, &m->recv.future);
		check_recv(m, rc, m->recv_out, "mpsc recv poll");
		m->recv_st = rc == AK_PENDING ? S_PENDING : S_NONE;
		if (rc == AK_PENDING)
			fz_parked(&m->recv_w, t);
		break;
	case 12:
		fz_opname = "mpsc recv cancel";
		if (m->recv_st != S_PENDING)
			return;
		ak_future_cancel(&m->recv.future);
		m->recv_st = S_NONE;
		break;
	case 13: {
		fz_opname = "mpsc try_recv";
		unsigned v = 0;
		rc = ak_mpsc_try_recv(m->rx, &v);
		check_recv(m, rc, v, "ak_mpsc_try_recv");
		break;
	}
	case 14:
		fz_opname = "mpsc tx_clone / tx_drop";
		if (!tx)
			return;
		if (arg & 0x80) {
			ak_mpsc_tx_drop(tx);
			m->tx[i] = NULL;
			m->ntx--;
		} else {
			for (int j = 0; j < NTX; j++)
				if (!m->tx[j]) {
					FZ_EQ("ak_mpsc_tx_clone", ak_mpsc_tx_clone(tx, &m->tx[j]), 0);
					m->ntx++;
					break;
				}
		}
		break;
	default:
		fz_opname = "mpsc rx_close";
		FZ_EQ("ak_mpsc_rx_close", ak_mpsc_rx_close(m->rx), 0);
		m->rx_closed = 1;
		mp_update(m, 0);
		return;
	}
	mp_update(m, 1);
}

static void mp_check(struct mp *m)
{
	FZ_EQ("ak_mpsc_len", ak_mpsc_len(m->rx), m->qn);
	FZ_EQ("ak_mpsc_rx_is_closed", ak_mpsc_rx_is_closed(m->rx), m->closed);
	for (int i = 0; i < NTX; i++) {
		if (!m->tx[i])
			continue;
		FZ_EQ("ak_mpsc_tx_is_closed", ak_mpsc_tx_is_closed(m->tx[i]), m->rx_closed);
		FZ_EQ("ak_mpsc_capacity", ak_mpsc_capacity(m->tx[i]),
		      m->bounded ? m->s.avail : SIZE_MAX);
		FZ_EQ("ak_mpsc_max_capacity", ak_mpsc_max_capacity(m->tx[i]),
		      m->bounded ? m->cap : SIZE_MAX);
		break;
	}
}

static void mp_teardown(struct mp *m)
{
	for (int t = 0; t < NTASK; t++) {
		if (m->ms[t].st == S_PENDING)
			ak_future_cancel(&m->send[t].future);
		if (m->mr[t].st == S_PENDING)
			ak_future_cancel(&m->res[t].future);
		if (m->mr[t].st == S_HELD)
			FZ_EQ("ak_mpsc_permit_drop (teardown)", ak_mpsc_permit_drop(&m->res[t]), 0);
		m->ms[t].st = m->mr[t].st = S_NONE;
	}
	if (m->recv_st == S_PENDING)
		ak_future_cancel(&m->recv.future);
	m->recv_st = S_NONE;
	for (int i = 0; i < NTX; i++) {
		ak_mpsc_tx_drop(m->tx[i]);
		m->tx[i] = NULL;
	}
	ak_mpsc_rx_drop(m->rx);
	m->rx = NULL;
}

/* The bounded primitive's setup byte: 1 + arg % 4 slots, or from
 * FZ_RDV_SETUP on, capacity 0 (the rendezvous, fuzz_rdv.c). */
static int mpb_rdv;
static void mpb_setup(unsigned arg)
{
	mpb_rdv = arg >= FZ_RDV_SETUP;
	if (mpb_rdv)
		fz_rdv_setup(arg);
	else
		mp_setup(&mpb, arg);
}
static void mpb_apply(unsigned op, unsigned arg)
{
	if (mpb_rdv)
		fz_rdv_apply(op, arg);
	else
		mp_apply(&mpb, op, arg);
}
static void mpb_check(void)
{
	if (mpb_rdv)
		fz_rdv_check();
	else
		mp_check(&mpb);
}
static void mpb_teardown(void)
{
	if (mpb_rdv)
		fz_rdv_teardown();
	else
		mp_teardown(&mpb);
}
static void mpu_setup(unsigned arg) { mp_setup(&mpu, arg); }
static void mpu_apply(unsigned op, unsigned arg) { mp_apply(&mpu, op, arg); }
static void mpu_check(void) { mp_check(&mpu); }
static void mpu_teardown(void) { mp_teardown(&mpu); }

const struct fprim fz_mpsc_bounded = {
	"mpsc bounded", mpb_setup, mpb_apply, mpb_check, mpb_teardown
};
const struct fprim fz_mpsc_unbounded = {
	"mpsc unbounded", mpu_setup, mpu_apply, mpu_check, mpu_teardown
};

/* ---- oneshot (ak_oneshot(3), tokio::sync::oneshot) ----------------------- */

static struct ak_oneshot_tx *os_tx;
static struct ak_oneshot_rx *os_rx;
static struct ak_oneshot_recv_op os_recv;
static unsigned os_out;
static struct {
	int has_value, tx_gone, rx_closed, terminated, recv_st;
	unsigned value;
	struct fwait w;
} os;

static void oneshot_setup(unsigned arg)
{
	(void)arg;
	memset(&os, 0, sizeof(os));
	memset(&os_recv, 0, sizeof(os_recv));
	if (ak_oneshot_new(sizeof(unsigned), NULL, &os_tx, &os_rx) != 0)
		fz_fail("ak_oneshot_new failed");
}

static int os_model_recv(unsigned *v)
{
	if (os.terminated)
		return AK_EPIPE;
	if (os.has_value) {
		*v = os.value;
		os.has_value = 0;
		os.terminated = 1;
		return 0;
	}
	if (os.tx_gone || os.rx_closed) {
		os.terminated = 1;
		return AK_EPIPE;
	}
	return AK_EAGAIN;
}

static void os_check_recv(int rc, unsigned got, const char *what)
{
	unsigned v = 0;
	int want = os_model_recv(&v);
	if (want == AK_EAGAIN && rc == AK_PENDING)
		return;
	FZ_EQ(what, rc, want);
	if (rc == 0)
		FZ_EQ("oneshot: the value received", got, v);
}

static void oneshot_apply(unsigned op, unsigned arg)
{
	int t = (int)(arg % NTASK), rc;
	switch (op % 7) {
	case 0: {
		fz_opname = "oneshot send";
		if (!os_tx)
			return;
		unsigned v = fz_value++;
		rc = ak_oneshot_send(os_tx, &v);
		os_tx = NULL;
		os.tx_gone = 1;
		FZ_EQ("ak_oneshot_send", rc, os.rx_closed ? AK_EPIPE : 0);
		if (rc == 0) {
			os.has_value = 1;
			os.value = v;
		}
		break;
	}
	case 1:
		fz_opname = "oneshot tx_drop";
		if (!os_tx)
			return;
		ak_oneshot_tx_drop(os_tx);
		os_tx = NULL;
		os.tx_gone = 1;
		break;
	case 2:
		fz_opname = "oneshot rx_close";
		FZ_EQ("ak_oneshot_rx_close", ak_oneshot_rx_close(os_rx), 0);
		os.rx_closed = 1;
		return;
	case 3: {
		fz_opname = "oneshot try_recv";
		unsigned v = 0;
		os_check_recv(ak_oneshot_try_recv(os_rx, &v), v, "ak_oneshot_try_recv");
		break;
	}
	case 4:
		fz_opname = "oneshot recv (init, first poll)";
		if (os.recv_st != S_NONE || os.terminated)
			return;
		FZ_EQ("ak_oneshot_recv_init", ak_oneshot_recv_init(&os_recv, os_rx, &os_out), 0);
		/* fall through */
	case 5:
		if (op % 7 == 5) {
			fz_opname = "oneshot recv poll";
			if (os.recv_st != S_PENDING)
				return;
		}
		rc = fz_poll(t, &os_recv.future);
		os_check_recv(rc, os_out, "oneshot recv poll");
		os.recv_st = rc == AK_PENDING ? S_PENDING : S_NONE;
		if (rc == AK_PENDING)
			fz_parked(&os.w, t);
		return;
	default:
		fz_opname = "oneshot recv cancel";
		if (os.recv_st != S_PENDING)
			return;
		ak_future_cancel(&os_recv.future);
		os.recv_st = S_NONE;
		return;
	}
	/* As tokio's Sender::drop: no wake once the receiver closed itself. */
	if (os.recv_st == S_PENDING && !os.rx_closed && (os.has_value || os.tx_gone))
		fz_expect_woken(&os.w, "oneshot: a send or sender drop wakes the receive");
}

static void oneshot_check(void)
{
	if (os_tx)
		FZ_EQ("ak_oneshot_tx_is_closed", ak_oneshot_tx_is_closed(os_tx), os.rx_closed);
	FZ_EQ("ak_oneshot_rx_is_terminated", ak_oneshot_rx_is_terminated(os_rx), os.terminated);
	FZ_EQ("ak_oneshot_rx_is_empty", ak_oneshot_rx_is_empty(os_rx), !os.has_value);
}

static void oneshot_teardown(void)
{
	if (os.recv_st == S_PENDING)
		ak_future_cancel(&os_recv.future);
	os.recv_st = S_NONE;
	ak_oneshot_tx_drop(os_tx);
	os_tx = NULL;
	ak_oneshot_rx_drop(os_rx);
	os_rx = NULL;
}

const struct fprim fz_oneshot = {
	"oneshot", oneshot_setup, oneshot_apply, oneshot_check, oneshot_teardown
};
