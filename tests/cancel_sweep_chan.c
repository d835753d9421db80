/*
 * The cancellation sweep's channel rows (tests/cancel_sweep.h): mpsc
 * bounded and unbounded (send, reserve, reserve_many, recv, recv_many,
 * closed), oneshot (recv, closed), watch (changed, wait_for, closed),
 * broadcast (recv, closed).  Values carry their producer: the traffic
 * thread's are checked in order, the sweep's by count and sum; at
 * quiescence every value sent was received exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "cancel_sweep.h"

#define TAG_T (1L << 32)        /* sent by the traffic thread, seq below */
#define TAG_S (2L << 32)        /* sent by the sweep */
#define SEQ(v) ((v) & 0xffffffffL)
#define TRAFFIC_MAX 256         /* traffic values per round */

/* What a receiver got: the traffic's in order, the sweep's counted. */
struct tally {
	long t_next;            /* the next traffic seq expected */
	long s_got, s_sum;
};

static void tally_got(struct tally *t, long v)
{
	if ((v & ~0xffffffffL) == TAG_T) {
		CS_ASSERT(SEQ(v) == t->t_next, "traffic value %ld received, %ld expected",
		          SEQ(v), t->t_next);
		t->t_next++;
	} else {
		CS_ASSERT((v & ~0xffffffffL) == TAG_S, "a value never sent: %#lx", v);
		t->s_got++;
		t->s_sum += SEQ(v);
	}
}

/* ---- mpsc ------------------------------------------------------------------ */

struct mpsc_st {
	struct ak_mpsc_tx *tx, *tx_t, *tx_w;  /* sweep's, traffic's, witness's */
	struct ak_mpsc_rx *rx;
	long val[2], out[2], many_buf[2][4];
	size_t count[2];
	long s_next, s_sent, s_sum;           /* the sweep's values */
	long t_sent;                          /* the traffic thread's */
	int closed;
	int many;                             /* recv_many, reserve_many */
	struct tally got;
};

#define MPSC(e) ((struct mpsc_st *)(e)->st)

static int mpsc_send_now(struct mpsc_st *s)
{
	long v = TAG_S | s->s_next;
	int rc = ak_mpsc_try_send(s->tx, &v);
	if (rc == 0) {
		s->s_sent++;
		s->s_sum += s->s_next++;
	}
	return rc;
}

static void mpsc_setup(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	long cap = e->c->arg;

	if (cap)
		ck_assert_int_eq(ak_mpsc_new((size_t)cap, sizeof(long), NULL, &s->tx, &s->rx), 0);
	else
		ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(long), NULL, &s->tx, &s->rx), 0);
	ck_assert_int_eq(ak_mpsc_tx_clone(s->tx, &s->tx_t), 0);
	ck_assert_int_eq(ak_mpsc_tx_clone(s->tx, &s->tx_w), 0);
}

/* Full, for the senders' rows. */
static void mpsc_setup_full(struct cs_env *e)
{
	mpsc_setup(e);
	for (long i = 0; i < e->c->arg; i++)
		CS_RC(0, mpsc_send_now(MPSC(e)));
}

static void mpsc_recv_one(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	long v;
	if (ak_mpsc_try_recv(s->rx, &v) == 0)
		tally_got(&s->got, v);
}

static void mpsc_recv_all(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	long v;
	while (ak_mpsc_try_recv(s->rx, &v) == 0)
		tally_got(&s->got, v);
}

static void mpsc_send_init(struct cs_env *e, union cs_op *op, int who)
{
	struct mpsc_st *s = MPSC(e);
	s->val[who] = TAG_S | s->s_next++;
	CS_RC(0, ak_mpsc_send_init(&op->send, s->tx, &s->val[who]));
}

static void mpsc_send_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct mpsc_st *s = MPSC(e);
	(void)op;
	CS_ASSERT(rc == 0, "send returned %d", rc);
	s->s_sent++;
	s->s_sum += SEQ(s->val[who]);
}

static void mpsc_reserve_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_mpsc_reserve_init(&op->reserve, MPSC(e)->tx));
}

/* Two slots: the grant (one received) is a part. */
static void mpsc_reserve_many_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_mpsc_reserve_many_init(&op->reserve, MPSC(e)->tx, 2));
}

/* A permit: the victim's sends one value, the witness's gives its slots back. */
static void mpsc_reserve_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct mpsc_st *s = MPSC(e);
	CS_ASSERT(rc == 0, "reserve returned %d", rc);
	if (who == 0) {
		long v = TAG_S | s->s_next;
		CS_RC(0, ak_mpsc_permit_send(&op->reserve, &v));
		s->s_sent++;
		s->s_sum += s->s_next++;
	}
	if (ak_mpsc_permit_count(&op->reserve))
		CS_RC(0, ak_mpsc_permit_drop(&op->reserve));
}

static void mpsc_recv_init(struct cs_env *e, union cs_op *op, int who)
{
	struct mpsc_st *s = MPSC(e);
	CS_RC(0, ak_mpsc_recv_init(&op->recv, s->rx, &s->out[who]));
}

static void mpsc_recv_many_init(struct cs_env *e, union cs_op *op, int who)
{
	struct mpsc_st *s = MPSC(e);
	s->many = 1;
	CS_RC(0, ak_mpsc_recv_many_init(&op->recv_many, s->rx, s->many_buf[who], 4,
	                                &s->count[who]));
}

static void mpsc_recv_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct mpsc_st *s = MPSC(e);
	(void)op;
	CS_ASSERT(rc == 0, "recv returned %d", rc);
	if (s->many) {
		CS_ASSERT(s->count[who] >= 1 && s->count[who] <= 4, "recv_many got %zu",
		          s->count[who]);
		for (size_t i = 0; i < s->count[who]; i++)
			tally_got(&s->got, s->many_buf[who][i]);
	} else {
		tally_got(&s->got, s->out[who]);
	}
}

static void mpsc_grant_send(struct cs_env *e)
{
	int rc = mpsc_send_now(MPSC(e));
	/* The traffic may have filled a bounded channel. */
	CS_ASSERT(rc == 0 || (e->traffic && rc == AK_EAGAIN), "try_send returned %d", rc);
}

static void mpsc_closed_init(struct cs_env *e, union cs_op *op, int who)
{
	CS_RC(0, ak_mpsc_closed_init(&op->mpsc_closed, who ? MPSC(e)->tx_w : MPSC(e)->tx));
}

static void mpsc_close(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	if (!s->closed)
		CS_RC(0, ak_mpsc_rx_close(s->rx));
	s->closed = 1;
}

static void mpsc_closed_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0 && MPSC(e)->closed, "closed returned %d", rc);
}

/* A second producer; it may also meet a closed channel. */
static void mpsc_traffic(struct cs_env *e, unsigned *rng)
{
	struct mpsc_st *s = MPSC(e);
	long v = TAG_T | s->t_sent;
	if (s->t_sent >= TRAFFIC_MAX)
		return;
	int rc = e->c->arg ? ak_mpsc_send_blocking(s->tx_t, &v, cs_soon(rng))
	                   : ak_mpsc_try_send(s->tx_t, &v);
	if (rc == 0)
		s->t_sent++;
	else if (rc != AK_ETIMEDOUT && rc != AK_EPIPE)
		cs_traffic_bad(e, "mpsc send", rc);
	/* Paced, so that a receiver often finds the channel empty. */
	if (cs_rand(rng) % 2)
		tk_sleep_ns((int64_t)(cs_rand(rng) % 20000));
}

static void mpsc_check(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	long v;
	int rc;

	while ((rc = ak_mpsc_try_recv(s->rx, &v)) == 0)
		tally_got(&s->got, v);
	CS_ASSERT(rc == (s->closed ? AK_EPIPE : AK_EAGAIN), "the drained channel: %d", rc);
	CS_ASSERT(s->got.t_next == s->t_sent, "traffic sent %ld, %ld received", s->t_sent,
	          s->got.t_next);
	CS_ASSERT(s->got.s_got == s->s_sent && s->got.s_sum == s->s_sum,
	          "sweep sent %ld (sum %ld), %ld received (sum %ld)", s->s_sent, s->s_sum,
	          s->got.s_got, s->got.s_sum);
	CS_ASSERT(ak_mpsc_len(s->rx) == 0, "len %zu", ak_mpsc_len(s->rx));
	if (e->c->arg && !s->closed)
		CS_ASSERT(ak_mpsc_capacity(s->tx) == (size_t)e->c->arg,
		          "capacity %zu of %ld: a slot was lost", ak_mpsc_capacity(s->tx),
		          e->c->arg);
	CS_ASSERT(ak_mpsc_tx_is_closed(s->tx) == s->closed, "tx_is_closed");
	CS_ASSERT(ak_mpsc_sender_strong_count(s->rx) == 3, "senders %zu",
	          ak_mpsc_sender_strong_count(s->rx));
}

static void mpsc_teardown(struct cs_env *e)
{
	struct mpsc_st *s = MPSC(e);
	ak_mpsc_tx_drop(s->tx);
	ak_mpsc_tx_drop(s->tx_t);
	ak_mpsc_tx_drop(s->tx_w);
	ak_mpsc_rx_drop(s->rx);
}

#define MPSC_ROW(nm, fl, pts, cap, setup_, init_, grant_, unblock_, settle_) \
	{ .name = nm, .flags = fl, .points = pts, .arg = cap, \
	  .size = sizeof(struct mpsc_st), .setup = setup_, .init = init_, \
	  .grant = grant_, .unblock = unblock_, .settle = settle_, \
	  .traffic = mpsc_traffic, .check = mpsc_check, .teardown = mpsc_teardown }

/* A receiver's row: it starts each round from an empty channel. */
#define MPSC_RECV_ROW(nm, cap, init_) \
	{ .name = nm, .flags = CS_NO_WITNESS, .points = RECV_POINTS, .arg = cap, \
	  .size = sizeof(struct mpsc_st), .setup = mpsc_setup, .prepare = mpsc_recv_all, \
	  .init = init_, .grant = mpsc_grant_send, .unblock = cs_nothing, \
	  .settle = mpsc_recv_settle, .traffic = mpsc_traffic, .check = mpsc_check, \
	  .teardown = mpsc_teardown }

#define RECV_POINTS (CS_POINT(CS_FIRST_POLL) | CS_POINT(CS_GRANTED) | CS_POINT(CS_REPOLLED))

/* ---- oneshot --------------------------------------------------------------- */

struct oneshot_st {
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	atomic_int claimed;     /* the one send (or close) was made */
	long out;
	int got;
};

#define ONESHOT(e) ((struct oneshot_st *)(e)->st)

static void oneshot_setup(struct cs_env *e)
{
	ck_assert_int_eq(ak_oneshot_new(sizeof(long), NULL, &ONESHOT(e)->tx, &ONESHOT(e)->rx), 0);
}

/* The one send, or (the closed row) the one close, by whoever comes first. */
static int oneshot_act(struct cs_env *e)
{
	struct oneshot_st *s = ONESHOT(e);
	long v = 42;
	if (atomic_exchange(&s->claimed, 1))
		return 0;
	return e->c->arg ? ak_oneshot_rx_close(s->rx) : ak_oneshot_send(s->tx, &v);
}

static void oneshot_grant(struct cs_env *e)
{
	CS_RC(0, oneshot_act(e));
}

static void oneshot_traffic(struct cs_env *e, unsigned *rng)
{
	if (cs_rand(rng) % 8 == 0) {
		int rc = oneshot_act(e);
		if (rc)
			cs_traffic_bad(e, "oneshot send/close", rc);
	}
	sched_yield();
}

static void oneshot_init(struct cs_env *e, union cs_op *op, int who)
{
	struct oneshot_st *s = ONESHOT(e);
	(void)who;
	if (e->c->arg)
		CS_RC(0, ak_oneshot_closed_init(&op->oneshot_closed, s->tx));
	else
		CS_RC(0, ak_oneshot_recv_init(&op->oneshot_recv, s->rx, &s->out));
}

static void oneshot_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct oneshot_st *s = ONESHOT(e);
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0 && atomic_load(&s->claimed), "oneshot op returned %d", rc);
	if (!e->c->arg) {
		CS_ASSERT(s->out == 42, "received %ld", s->out);
		s->got = 1;
	}
}

static void oneshot_check(struct cs_env *e)
{
	struct oneshot_st *s = ONESHOT(e);
	int sent = atomic_load(&s->claimed);

	if (e->c->arg) {
		CS_ASSERT(ak_oneshot_tx_is_closed(s->tx) == sent, "tx_is_closed");
		return;
	}
	if (!s->got) {
		/* A cancelled recv left the value in the channel. */
		s->out = 0;
		CS_RC(sent ? 0 : AK_EAGAIN, ak_oneshot_try_recv(s->rx, &s->out));
		CS_ASSERT(!sent || s->out == 42, "try_recv got %ld", s->out);
	}
}

static void oneshot_teardown(struct cs_env *e)
{
	struct oneshot_st *s = ONESHOT(e);
	if (!atomic_load(&s->claimed) || e->c->arg)
		ak_oneshot_tx_drop(s->tx);
	ak_oneshot_rx_drop(s->rx);
}

#define ONESHOT_ROW(nm, closed) \
	{ .name = nm, .flags = CS_NO_WITNESS, .points = RECV_POINTS, .arg = closed, \
	  .size = sizeof(struct oneshot_st), .setup = oneshot_setup, .init = oneshot_init, \
	  .grant = oneshot_grant, .unblock = cs_nothing, .settle = oneshot_settle, \
	  .traffic = oneshot_traffic, .check = oneshot_check, .teardown = oneshot_teardown }

/* ---- watch ----------------------------------------------------------------- */

struct watch_st {
	struct ak_watch_sender *tx, *tx_t, *tx_w;
	struct ak_watch_receiver *rx, *rx_w;
	struct ak_watch_ref ref[2];
	atomic_long last;       /* the last value sent, by anyone */
	long floor[2];          /* wait_for waits for a value above it */
	uint64_t seen;          /* the victim's receiver had seen this version */
	int victim_done;        /* the victim completed: it saw a version */
	int dropped;            /* the closed row's grant dropped the receivers */
};

#define WATCH(e) ((struct watch_st *)(e)->st)

static void watch_setup(struct cs_env *e)
{
	struct watch_st *s = WATCH(e);
	long zero = 0;
	ck_assert_int_eq(ak_watch_new(sizeof(long), &zero, NULL, &s->tx, &s->rx), 0);
	ck_assert_int_eq(ak_watch_sender_clone(s->tx, &s->tx_t), 0);
	ck_assert_int_eq(ak_watch_sender_clone(s->tx, &s->tx_w), 0);
	ck_assert_int_eq(ak_watch_receiver_clone(s->rx, &s->rx_w), 0);
}

/* Both receivers mark the current version seen: changed() waits. */
static void watch_prepare(struct cs_env *e)
{
	struct watch_st *s = WATCH(e);
	struct ak_watch_ref ref;
	if (e->c->arg == 2)
		return;
	CS_RC(0, ak_watch_borrow_and_update(s->rx_w, &ref));
	CS_RC(0, ak_watch_ref_release(&ref));
	CS_RC(0, ak_watch_borrow_and_update(s->rx, &ref));
	s->seen = ref.version;
	CS_RC(0, ak_watch_ref_release(&ref));
}

/* wait_for's predicate: a value newer than the one seen at prepare. */
static int newer(const void *value, void *arg)
{
	return *(const long *)value > *(const long *)arg;
}

static void watch_init(struct cs_env *e, union cs_op *op, int who)
{
	struct watch_st *s = WATCH(e);
	struct ak_watch_receiver *rx = who ? s->rx_w : s->rx;
	switch (e->c->arg) {
	case 0:
		CS_RC(0, ak_watch_changed_init(&op->changed, rx));
		break;
	case 1:
		s->floor[who] = atomic_load(&s->last);
		CS_RC(0, ak_watch_wait_for_init(&op->wait_for, rx, newer, &s->floor[who],
		                                &s->ref[who]));
		break;
	default:
		CS_RC(0, ak_watch_closed_init(&op->watch_closed, who ? s->tx_w : s->tx));
		break;
	}
}

static void watch_grant(struct cs_env *e)
{
	struct watch_st *s = WATCH(e);
	if (e->c->arg == 2) {
		if (!s->dropped) {
			CS_RC(0, ak_watch_receiver_drop(s->rx));
			CS_RC(0, ak_watch_receiver_drop(s->rx_w));
		}
		s->dropped = 1;
		return;
	}
	long v = atomic_fetch_add(&s->last, 1) + 1;
	CS_RC(0, ak_watch_send(s->tx, &v));
}

static void watch_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct watch_st *s = WATCH(e);
	(void)op;
	CS_ASSERT(rc == 0, "watch op returned %d", rc);
	if (e->c->arg == 1)
		CS_RC(0, ak_watch_ref_release(&s->ref[who]));
	if (who == 0)
		s->victim_done = 1;
}

static void watch_traffic(struct cs_env *e, unsigned *rng)
{
	struct watch_st *s = WATCH(e);
	long v = atomic_fetch_add(&s->last, 1) + 1;
	int rc = ak_watch_send(s->tx_t, &v);
	if (rc != 0 && rc != AK_EPIPE)
		cs_traffic_bad(e, "watch send", rc);
	if (cs_rand(rng) % 2)
		tk_sleep_ns((int64_t)(cs_rand(rng) % 20000));
}

static void watch_check(struct cs_env *e)
{
	struct watch_st *s = WATCH(e);
	struct ak_watch_ref ref;

	if (e->c->arg == 2) {
		CS_ASSERT(ak_watch_sender_is_closed(s->tx) == s->dropped, "sender_is_closed");
		CS_ASSERT(ak_watch_receiver_count(s->tx) == (s->dropped ? 0u : 2u), "receivers");
		return;
	}
	if (s->victim_done)
		return;
	/* A cancel marks nothing seen: whatever was published is unseen. */
	CS_RC(0, ak_watch_borrow(s->rx, &ref));
	uint64_t version = ref.version;
	CS_RC(0, ak_watch_ref_release(&ref));
	CS_ASSERT(ak_watch_has_changed(s->rx) == (version != s->seen),
	          "version %llu, seen %llu, has_changed %d", (unsigned long long)version,
	          (unsigned long long)s->seen, ak_watch_has_changed(s->rx));
}

static void watch_teardown(struct cs_env *e)
{
	struct watch_st *s = WATCH(e);
	if (!s->dropped) {
		CS_RC(0, ak_watch_receiver_drop(s->rx));
		CS_RC(0, ak_watch_receiver_drop(s->rx_w));
	}
	CS_RC(0, ak_watch_sender_drop(s->tx));
	CS_RC(0, ak_watch_sender_drop(s->tx_t));
	CS_RC(0, ak_watch_sender_drop(s->tx_w));
}

#define WATCH_ROW(nm, kind) \
	{ .name = nm, .points = CS_ALL_POINTS, .arg = kind, .size = sizeof(struct watch_st), \
	  .setup = watch_setup, .prepare = watch_prepare, .init = watch_init, \
	  .grant = watch_grant, \
	  .unblock = watch_grant, .settle = watch_settle, .traffic = watch_traffic, \
	  .check = watch_check, .teardown = watch_teardown }

/* ---- broadcast ------------------------------------------------------------- */

#define BC_CAP 64               /* > every value a round sends: no lag */

struct bc_st {
	struct ak_broadcast_tx *tx, *tx_t, *tx_w;
	struct ak_broadcast_rx *rx[2];
	long out[2];
	uint64_t missed[2];
	long s_next, s_sent, s_sum, t_sent;
	int unblocks, dropped;
	struct tally got[2];
};

#define BC(e) ((struct bc_st *)(e)->st)

static void bc_setup(struct cs_env *e)
{
	struct bc_st *s = BC(e);
	ck_assert_int_eq(ak_broadcast_new(&s->tx, &s->rx[0], BC_CAP, sizeof(long), NULL), 0);
	ck_assert_int_eq(ak_broadcast_subscribe(s->tx, &s->rx[1]), 0);
	ck_assert_int_eq(ak_broadcast_tx_clone(s->tx, &s->tx_t), 0);
	ck_assert_int_eq(ak_broadcast_tx_clone(s->tx, &s->tx_w), 0);
}

static void bc_drain(struct cs_env *e)
{
	struct bc_st *s = BC(e);
	uint64_t missed = 0;
	long v;
	if (e->c->arg)
		return;
	for (int i = 0; i < 2; i++)
		while (ak_broadcast_try_recv(s->rx[i], &v, &missed) == 0)
			tally_got(&s->got[i], v);
	CS_ASSERT(missed == 0, "a receiver lagged");
}

static void bc_init(struct cs_env *e, union cs_op *op, int who)
{
	struct bc_st *s = BC(e);
	if (e->c->arg)
		CS_RC(0, ak_broadcast_closed_init(&op->bc_closed, who ? s->tx_w : s->tx));
	else
		CS_RC(0, ak_broadcast_recv_init(&op->bc_recv, s->rx[who], &s->out[who],
		                                &s->missed[who]));
}

static void bc_grant(struct cs_env *e)
{
	struct bc_st *s = BC(e);
	long v = TAG_S | s->s_next;
	if (e->c->arg) {
		if (!s->dropped) {
			CS_RC(0, ak_broadcast_rx_drop(s->rx[0]));
			CS_RC(0, ak_broadcast_rx_drop(s->rx[1]));
		}
		s->dropped = 1;
		return;
	}
	if (s->unblocks++ >= 8)
		return;
	CS_RC(0, ak_broadcast_send(s->tx, &v, NULL));
	s->s_sent++;
	s->s_sum += s->s_next++;
}

static void bc_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct bc_st *s = BC(e);
	(void)op;
	CS_ASSERT(rc == 0, "broadcast op returned %d", rc);
	if (!e->c->arg)
		tally_got(&s->got[who], s->out[who]);
}

static void bc_traffic(struct cs_env *e, unsigned *rng)
{
	struct bc_st *s = BC(e);
	long v = TAG_T | s->t_sent;
	if (s->t_sent < 24) {
		int rc = ak_broadcast_send(s->tx_t, &v, NULL);
		if (rc == 0)
			s->t_sent++;
		else if (rc != AK_EPIPE)
			cs_traffic_bad(e, "broadcast send", rc);
	}
	if (cs_rand(rng) % 2)
		tk_sleep_ns((int64_t)(cs_rand(rng) % 20000));
}

static void bc_check(struct cs_env *e)
{
	struct bc_st *s = BC(e);
	long v;
	uint64_t missed = 0;
	int rc;

	if (e->c->arg) {
		CS_ASSERT(ak_broadcast_receiver_count(s->tx) == (s->dropped ? 0u : 2u), "receivers");
		return;
	}
	for (int i = 0; i < 2; i++) {
		CS_ASSERT(s->missed[i] == 0, "receiver %d lagged", i);
		while ((rc = ak_broadcast_try_recv(s->rx[i], &v, &missed)) == 0)
			tally_got(&s->got[i], v);
		CS_ASSERT(rc == AK_EAGAIN, "try_recv returned %d", rc);
		CS_ASSERT(s->got[i].t_next == s->t_sent, "receiver %d: traffic sent %ld, got %ld", i,
		          s->t_sent, s->got[i].t_next);
		CS_ASSERT(s->got[i].s_got == s->s_sent && s->got[i].s_sum == s->s_sum,
		          "receiver %d: sweep sent %ld, got %ld", i, s->s_sent, s->got[i].s_got);
		CS_ASSERT(ak_broadcast_rx_len(s->rx[i]) == 0, "rx_len");
	}
}

static void bc_teardown(struct cs_env *e)
{
	struct bc_st *s = BC(e);
	if (!s->dropped) {
		CS_RC(0, ak_broadcast_rx_drop(s->rx[0]));
		CS_RC(0, ak_broadcast_rx_drop(s->rx[1]));
	}
	CS_RC(0, ak_broadcast_tx_drop(s->tx));
	CS_RC(0, ak_broadcast_tx_drop(s->tx_t));
	CS_RC(0, ak_broadcast_tx_drop(s->tx_w));
}

#define BC_ROW(nm, closed) \
	{ .name = nm, .points = CS_ALL_POINTS, .arg = closed, .size = sizeof(struct bc_st), \
	  .setup = bc_setup, .prepare = bc_drain, .init = bc_init, .grant = bc_grant, \
	  .unblock = bc_grant, \
	  .settle = bc_settle, .traffic = bc_traffic, .check = bc_check, \
	  .teardown = bc_teardown }

/* ---- the table ------------------------------------------------------------- */

const struct cs_case cs_chan_cases[] = {
	MPSC_ROW("mpsc_bounded_send", CS_PASSES_ON, CS_ALL_POINTS, 2, mpsc_setup_full,
	         mpsc_send_init, mpsc_recv_one, mpsc_recv_all, mpsc_send_settle),
	MPSC_ROW("mpsc_bounded_reserve", CS_PASSES_ON, CS_ALL_POINTS, 2, mpsc_setup_full,
	         mpsc_reserve_init, mpsc_recv_one, mpsc_recv_all, mpsc_reserve_settle),
	MPSC_ROW("mpsc_bounded_reserve_many", CS_PASSES_ON | CS_GRANT_PARTIAL, CS_ALL_POINTS, 2,
	         mpsc_setup_full, mpsc_reserve_many_init, mpsc_recv_one, mpsc_recv_all,
	         mpsc_reserve_settle),
	MPSC_RECV_ROW("mpsc_bounded_recv", 2, mpsc_recv_init),
	MPSC_RECV_ROW("mpsc_bounded_recv_many", 2, mpsc_recv_many_init),
	MPSC_ROW("mpsc_bounded_closed", 0, CS_ALL_POINTS, 2, mpsc_setup, mpsc_closed_init,
	         mpsc_close, mpsc_close, mpsc_closed_settle),
	MPSC_ROW("mpsc_unbounded_send", CS_NEVER_PARKS, CS_POINT(CS_FIRST_POLL), 0, mpsc_setup,
	         mpsc_send_init, cs_nothing, cs_nothing, mpsc_send_settle),
	MPSC_RECV_ROW("mpsc_unbounded_recv", 0, mpsc_recv_init),
	MPSC_RECV_ROW("mpsc_unbounded_recv_many", 0, mpsc_recv_many_init),
	MPSC_ROW("mpsc_unbounded_closed", 0, CS_ALL_POINTS, 0, mpsc_setup, mpsc_closed_init,
	         mpsc_close, mpsc_close, mpsc_closed_settle),
	ONESHOT_ROW("oneshot_recv", 0),
	ONESHOT_ROW("oneshot_closed", 1),
	WATCH_ROW("watch_changed", 0),
	WATCH_ROW("watch_wait_for", 1),
	WATCH_ROW("watch_closed", 2),
	BC_ROW("broadcast_recv", 0),
	BC_ROW("broadcast_closed", 1),
};

const size_t cs_chan_count = sizeof cs_chan_cases / sizeof cs_chan_cases[0];
