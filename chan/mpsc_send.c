/*
 * chan/mpsc_send.c: the mpsc channel's sending side: send, reserve and
 * permits, and the senders' closed().  See chan/mpsc.c for the design.
 */
#include <string.h>

#include <awaitkit/block_on.h>

#include "mpsc_chan.h"
#include "../core/until.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_MPSC_SEND, struct ak_mpsc_send_op);
AK__OP_KIND(AK_OP_MPSC_RESERVE, struct ak_mpsc_reserve_op);
AK__OP_KIND(AK_OP_MPSC_CLOSED, struct ak_mpsc_closed_op);

/* ---- send ------------------------------------------------------------------------------- */

#define F_REF 1u        /* holds a channel reference (parked) */
#define F_PERMIT 2u     /* reserve: completed, holds a sender count */

struct send_priv {
	struct ak__chan *c;
	const void *value;
	uintptr_t flags;
	uintptr_t remaining;               /* reserve: permits held */
	struct ak__gate_wait wait;         /* bounded: units waited for; rendezvous: its node */
};
_Static_assert(sizeof(struct send_priv) <= sizeof(((struct ak_mpsc_send_op *)0)->private_),
               "send op storage too small");
_Static_assert(sizeof(struct send_priv) <= sizeof(((struct ak_mpsc_reserve_op *)0)->private_),
               "reserve op storage too small");

static struct send_priv *send_priv(struct ak_future *f)
{
	return (struct send_priv *)(void *)&((struct ak_mpsc_send_op *)(void *)f)->private_;
}

static struct send_priv *reserve_priv(struct ak_future *f)
{
	return (struct send_priv *)(void *)&((struct ak_mpsc_reserve_op *)(void *)f)->private_;
}

static void hold_ref(struct send_priv *p)
{
	if (!(p->flags & F_REF)) {
		ak__chan_get(p->c);
		p->flags |= F_REF;
	}
}

static void release_ref(struct send_priv *p)
{
	if (p->flags & F_REF) {
		p->flags &= ~(uintptr_t)F_REF;
		ak__chan_put(p->c);
	}
}

/* Units given back may be what a parked receiver waits for.  A
 * rendezvous permit holds the hand-off, its one unit. */
static void give_back(struct ak__chan *c, uint64_t n)
{
	if (!ak__chan_rdv(c))
		ak__ring_give_back(c, n);
	else if (n)
		ak__rdv_permit_drop(c);
	ak__chan_slots_back(c);
}

/* The owner takes the units granted while it waited: 0 with all of them
 * held, or AK_EPIPE with them given back.  A grant is provisional, so one
 * first seen after close() (F_REF: it parked) goes back and the poll fails
 * like a waiting sender's; a close also grants short. */
static int take_grant(struct send_priv *p)
{
	uint64_t got = ak__waiter_take(&p->wait.w);
	if (got < p->wait.n || ((p->flags & F_REF) && ak__ring_is_closed(p->c))) {
		give_back(p->c, got);
		return AK_EPIPE;
	}
	return 0;
}

/*
 * The waiting part of a bounded send or reserve: fast (the operation's
 * lockless try: 0 done, AK_EAGAIN no room, AK_EPIPE) first, unless the
 * caller tried it (tried: it said AK_EAGAIN), then the queue.
 * 0: done by the fast path; HELD: the units were granted and are held;
 * AK_PENDING; or an error, with nothing held.
 */
#define HELD (AK_PENDING + 1)

static inline __attribute__((always_inline)) int wait_units(struct send_priv *p,
                                                            struct ak_context *cx,
                                                            int (*fast)(struct send_priv *),
                                                            int tried)
{
	struct ak__chan *c = p->c;
	/* The one look at the node (see ak__waiter_state()). */
	uint32_t st = ak__waiter_state(&p->wait.w);
	int rc;
	if (st == AK__W_GRANTED) {
		rc = take_grant(p);
	} else {
		if (st == AK__W_IDLE && !tried) {
			if (ak__coop_check(cx) == AK_PENDING)
				return AK_PENDING;
			rc = fast(p);
			if (rc != AK_EAGAIN) {
				if (rc == 0)
					ak__coop_spend(cx);
				return rc;
			}
		}
		if (st == AK__W_IDLE)   /* a send's node is made at its first wait */
			ak__gate_wait_init(&p->wait, p->wait.n);
		rc = ak__ring_park(c, &p->wait, cx, st);
		if (rc == AK_PENDING) {
			hold_ref(p);
			return AK_PENDING;
		}
		if (rc == 0)
			rc = take_grant(p);
		else
			ak__chan_slots_back(c);   /* a failed park gave back a grant */
	}
	if (rc == 0) {
		ak__coop_spend(cx);
		return HELD;
	}
	return rc;
}

static int fast_send(struct send_priv *p)
{
	return ak__ring_try_send(p->c, p->value);
}

/* A rendezvous send or reserve (value NULL): offers itself until a
 * receive takes it (chan/mpsc_rdv.c); 0, AK_PENDING or an error. */
static int rdv_offer(struct send_priv *p, struct ak_context *cx, const void *value)
{
	if (ak__waiter_state(&p->wait.w) == AK__W_IDLE && ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	int rc = ak__rdv_offer(p->c, &p->wait.w, value, cx);
	if (rc == AK_PENDING) {
		hold_ref(p);
		return AK_PENDING;
	}
	if (rc == 0)
		ak__coop_spend(cx);
	return rc;
}

/* A rendezvous send (send_init's binding there). */
static int rdv_send_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = send_priv(f);
	int rc = rdv_offer(p, cx, p->value);
	if (rc != AK_PENDING)
		release_ref(p);
	return rc;
}

/* An unbounded send (send_init's binding there): never waits, but spends
 * budget as every send does: a task looping on it still gives its
 * executor back. */
static int list_send_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = send_priv(f);
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	return ak__list_send_spend(p->c, p->value, cx);
}

/* A bounded send past its first try (tried: that try found no room). */
static __attribute__((noinline)) int ring_send_wait(struct send_priv *p, struct ak_context *cx,
                                                    int tried)
{
	int rc = wait_units(p, cx, fast_send, tried);
	if (rc == AK_PENDING)
		return AK_PENDING;
	if (rc == HELD) {          /* a granted unit: a permit's send */
		ak__ring_permit_send(p->c, p->value);
		rc = 0;
	}
	release_ref(p);
	return rc;
}

int ak__mpsc_send_full(void *op, struct ak_context *cx)
{
	return ring_send_wait(op, cx, 1);
}

/* A bounded channel's send (send_init's binding there): the first poll
 * that finds room is one try inline, out of the waiting path's frame
 * (ak__ring_put(): it spends the budget, and else goes on to
 * ak__ring_send(), a tail call, which waits when it finds no room).  A
 * send whose node is idle never parked, so it holds no reference (F_REF
 * comes with a park, and leaves with the poll that completes it): nothing
 * to release here. */
static int ring_send_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = send_priv(f);
	if (ak__waiter_state(&p->wait.w) != AK__W_IDLE || cx->budget == 0)
		return ring_send_wait(p, cx, 0);
	return ak__ring_put(p->c, cx, p, p->value);
}

static void send_cancel(struct ak_future *f)
{
	struct send_priv *p = send_priv(f);
	if (!p->c)
		return;
	if (ak__chan_rdv(p->c) && (p->flags & F_REF)) {
		ak__rdv_withdraw(p->c, &p->wait.w);
	} else if (ak__chan_bounded(p->c) && (p->flags & F_REF)) {
		ak__ring_cancel(p->c, &p->wait);
		ak__chan_slots_back(p->c);
	}
	release_ref(p);
}

static const struct ak_future_vtable rdv_send_vtable = { rdv_send_poll, send_cancel };
static const struct ak_future_vtable list_send_vtable = { list_send_poll, send_cancel };
static const struct ak_future_vtable ring_send_vtable = { ring_send_poll, send_cancel };

AK_EXPORT int ak_mpsc_send_init(struct ak_mpsc_send_op *op, struct ak_mpsc_tx *tx, const void *value)
{
	if (!op || !tx)
		return AK_EINVAL;
	struct ak__chan *c = ak__tx_chan(tx);
	if (!value && c->elem_size)
		return AK_EINVAL;
	/* The kind read once, before the stores to op (which the compiler
	 * must assume may alias the channel). */
	int bounded = ak__chan_bounded(c), rdv = !bounded && ak__chan_rdv(c);
	int rc = ak_future_init(&op->future, bounded ? &ring_send_vtable
	                                             : rdv ? &rdv_send_vtable : &list_send_vtable);
	if (rc)
		return rc;
	struct send_priv *p = send_priv(&op->future);
	p->c = c;
	p->value = value;
	p->flags = 0;
	p->remaining = 0;
	if (bounded) {
		/* The node is made at the first wait (wait_units()): a send
		 * that finds room reads only its state. */
		ak__init(&p->wait.w.state, AK__W_IDLE);
		p->wait.n = 1;
	} else if (rdv) {
		ak__gate_wait_init(&p->wait, 1);
	}
	return 0;
}

AK_EXPORT int ak_mpsc_try_send(struct ak_mpsc_tx *tx, const void *value)
{
	if (!tx)
		return AK_EINVAL;
	struct ak__chan *c = ak__tx_chan(tx);
	if (!value && c->elem_size)
		return AK_EINVAL;
	if (ak__chan_bounded(c))
		return ak__ring_try_send(c, value);
	if (ak__chan_rdv(c))
		return ak__rdv_try_send(c, value);
	return ak__list_send(c, value);
}

AK_EXPORT int ak_mpsc_send_blocking(struct ak_mpsc_tx *tx, const void *value, int64_t deadline)
{
	if (!tx)
		return AK_EINVAL;
	if (!ak__may_block())
		return AK_EDEADLK;
	/* The lockless path first, a bounded wait (core/core.h's backoff:
	 * spins, then yields), and only then a parked thread (ak_block_on
	 * allocates its parker). */
	struct ak__backoff b = AK__BACKOFF_INIT;
	do {
		int rc = ak_mpsc_try_send(tx, value);
		if (rc != AK_EAGAIN)
			return rc;
		/* A rendezvous waits for a receive to come and wait. */
		struct ak__chan *c = ak__tx_chan(tx);
		if (!ak__chan_rdv(c) && (!ak__chan_bounded(c) || ak__ring_is_closed(c)))
			break;
	} while (ak__backoff_wait(&b));
	struct ak_mpsc_send_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_mpsc_send_init(&op, tx, value);
	if (rc)
		return rc;
	return ak_block_on(&op.future, deadline);
}

/* ---- reserve and permits ------------------------------------------------------------------- */

/* p->wait.n units are held: become a permit. */
static int reserve_done(struct send_priv *p)
{
	uint64_t n = p->wait.n;
	if (ak__chan_sender_get_if_live(p->c) != 0) {
		give_back(p->c, n);
		return AK_EPIPE;
	}
	p->remaining = n;
	p->flags |= F_PERMIT;
	return 0;
}

static int fast_reserve(struct send_priv *p)
{
	int rc = ak__chan_rdv(p->c) ? ak__rdv_try_reserve(p->c) : ak__ring_try_reserve(p->c, p->wait.n);
	return rc == 0 ? reserve_done(p) : rc;
}

static int is_closed(struct ak__chan *c)
{
	return ak__chan_rdv(c) ? ak__rdv_is_closed(c) : ak__ring_is_closed(c);
}

static int reserve_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = reserve_priv(f);
	if (p->wait.n == 0)    /* nothing to wait for: done unless closed */
		return is_closed(p->c) ? AK_EPIPE : 0;
	if (ak__chan_rdv(p->c)) {
		int rc = rdv_offer(p, cx, NULL);
		if (rc == AK_PENDING)
			return AK_PENDING;
		if (rc == 0)
			rc = reserve_done(p);
		release_ref(p);
		return rc;
	}
	int rc = wait_units(p, cx, fast_reserve, 0);
	if (rc == AK_PENDING)
		return AK_PENDING;
	if (rc == HELD)
		rc = reserve_done(p);
	release_ref(p);
	return rc;
}

static void reserve_cancel(struct ak_future *f)
{
	struct send_priv *p = reserve_priv(f);
	if (!p->c || !(p->flags & F_REF))
		return;
	if (ak__chan_rdv(p->c)) {
		ak__rdv_withdraw(p->c, &p->wait.w);
	} else {
		ak__ring_cancel(p->c, &p->wait);
		ak__chan_slots_back(p->c);
	}
	release_ref(p);
}

static const struct ak_future_vtable reserve_vtable = { reserve_poll, reserve_cancel };

/* Binds op; a live permit in op refuses (AK_EBUSY). */
static int reserve_bind(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n)
{
	if (!op || !tx)
		return AK_EINVAL;
	struct ak__chan *c = ak__tx_chan(tx);
	/* A rendezvous hands one value over at a time: a permit of 1. */
	if (ak__chan_rdv(c) ? n > 1 : !ak__chan_bounded(c) || n > ak__ring_max_reserve(c))
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_DONE && op->future.vtable == &reserve_vtable &&
	    (reserve_priv(&op->future)->flags & F_PERMIT))
		return AK_EBUSY;
	int rc = ak_future_init(&op->future, &reserve_vtable);
	if (rc)
		return rc;
	struct send_priv *p = reserve_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->c = c;
	ak__gate_wait_init(&p->wait, n);
	return 0;
}

AK_EXPORT int ak_mpsc_reserve_many_init(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n)
{
	return reserve_bind(op, tx, n);
}

AK_EXPORT int ak_mpsc_reserve_init(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx)
{
	return reserve_bind(op, tx, 1);
}

AK_EXPORT int ak_mpsc_try_reserve_many(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n)
{
	int rc = reserve_bind(op, tx, n);
	if (rc)
		return rc;
	struct send_priv *p = reserve_priv(&op->future);
	if (n == 0)
		rc = is_closed(p->c) ? AK_EPIPE : 0;
	else
		rc = fast_reserve(p);
	/* The op is finished either way: a permit, or nothing. */
	ak__future_finish(&op->future);
	return rc;
}

AK_EXPORT int ak_mpsc_try_reserve(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx)
{
	return ak_mpsc_try_reserve_many(op, tx, 1);
}

AK_EXPORT int ak_mpsc_reserve_blocking(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n,
                                       int64_t deadline)
{
	int rc = reserve_bind(op, tx, n);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}

static struct send_priv *live_permit(const struct ak_mpsc_reserve_op *op)
{
	if (!op || op->future.vtable != &reserve_vtable ||
	    ak__future_phase(&op->future) != AK_FUTURE_DONE)
		return NULL;
	struct send_priv *p = reserve_priv((struct ak_future *)(uintptr_t)&op->future);
	return (p->flags & F_PERMIT) ? p : NULL;
}

static void permit_finish(struct send_priv *p)
{
	p->flags &= ~(uintptr_t)F_PERMIT;
	ak__chan_sender_put(p->c);
}

AK_EXPORT int ak_mpsc_permit_send(struct ak_mpsc_reserve_op *permit, const void *value)
{
	struct send_priv *p = live_permit(permit);
	if (!p || p->remaining == 0 || (!value && p->c->elem_size))
		return AK_EINVAL;
	if (ak__chan_rdv(p->c))
		ak__rdv_permit_send(p->c, value);
	else
		ak__ring_permit_send(p->c, value);
	if (--p->remaining == 0)
		permit_finish(p);
	return 0;
}

AK_EXPORT size_t ak_mpsc_permit_count(const struct ak_mpsc_reserve_op *permit)
{
	struct send_priv *p = live_permit(permit);
	return p ? (size_t)p->remaining : 0;
}

AK_EXPORT int ak_mpsc_permit_drop(struct ak_mpsc_reserve_op *permit)
{
	struct send_priv *p = live_permit(permit);
	if (!p)
		return AK_EINVAL;   /* dropped, used up, or never a permit */
	give_back(p->c, p->remaining);
	p->remaining = 0;
	permit_finish(p);
	return 0;
}

/* ---- closed() ---------------------------------------------------------------------------------- */

_Static_assert(sizeof(struct ak__until_op) <= sizeof(((struct ak_mpsc_closed_op *)0)->private_),
               "closed op storage too small");

static int rx_closed(void *obj)
{
	/* acquire: pairs with the release in close_side(). */
	return (ak__load(&((struct ak__chan *)obj)->state, AK__ACQUIRE) & AK__MPSC_CLOSED_RX) != 0;
}

static void c_get(void *obj)
{
	ak__chan_get(obj);
}

static void c_put(void *obj)
{
	ak__chan_put(obj);
}

static const struct ak__until_ops closed_ops = { rx_closed, c_get, c_put };

AK_EXPORT int ak_mpsc_closed_init(struct ak_mpsc_closed_op *op, struct ak_mpsc_tx *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	struct ak__chan *c = ak__tx_chan(tx);
	/* acquire: pairs with the CAS below (another binder's). */
	struct ak__notify *n = ak__load(&c->closed, AK__ACQUIRE);
	if (!n) {
		/* The first closed() makes the notification (an idle channel
		 * keeps none). */
		n = ak__alloc(sizeof(*n));
		if (!n)
			return AK_ENOMEM;
		ak__notify_init(n);
		struct ak__notify *cur = NULL;
		/* seq_cst: pairs with the load in close_side(): an operation
		 * bound after its load sees the state at its poll (which arms,
		 * then looks); release: n's init. */
		if (!ak__cas(&c->closed, &cur, n, AK__SEQ_CST, AK__ACQUIRE)) {
			ak__notify_destroy(n);
			ak__free_sized(n, sizeof(*n));
			n = cur;
		}
	}
	return ak__until_op_init(&op->future, &closed_ops, c, n);
}
