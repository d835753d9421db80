/*
 * chan/mpsc_recv.c: the mpsc channel's receiving side: recv, recv_many,
 * try_recv and the blocking receives.  See chan/mpsc.c for the design.
 */
#include <string.h>

#include <awaitkit/block_on.h>

#include "mpsc_chan.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_MPSC_RECV, struct ak_mpsc_recv_op);
AK__OP_KIND(AK_OP_MPSC_RECV_MANY, struct ak_mpsc_recv_many_op);

#define SPIN_LIMIT 128

static struct ak__chan *rx_chan(const struct ak_mpsc_rx *rx)
{
	return AK__CHAN_OF(rx, rx_h);
}

/* Where a pop puts a value of size 0. */
static unsigned char void_mark;

#define F_REF 1u        /* holds the receiver's reference (pending) */
#define F_WANT 8u       /* rendezvous: marked itself waiting */

struct recv_priv {
	struct ak__chan *c;
	void *buf;
	size_t limit;
	size_t *count;
	uintptr_t flags;
};
_Static_assert(sizeof(struct recv_priv) <= sizeof(((struct ak_mpsc_recv_op *)0)->private_),
               "recv op storage too small");
_Static_assert(sizeof(struct recv_priv) <= sizeof(((struct ak_mpsc_recv_many_op *)0)->private_),
               "recv_many op storage too small");

static struct recv_priv *recv_priv(struct ak_future *f)
{
	/* Both op structs have the same layout up to their storage. */
	return (struct recv_priv *)(void *)&((struct ak_mpsc_recv_op *)(void *)f)->private_;
}

static size_t pop_many(struct ak__chan *c, void *buf, size_t limit)
{
	size_t n = 0;
	if (ak__chan_bounded(c)) {
		struct ak__ring *r = ak__ring_ready(c);
		if (!r)
			return 0;
		return ak__ring_pop_many(c, r, c->elem_size ? buf : (void *)&void_mark, limit,
		                         c->elem_size);
	}
	for (; n < limit; n++) {
		void *dst = c->elem_size ? (unsigned char *)buf + n * c->elem_size : (void *)&void_mark;
		if (ak__chan_pop(c, dst) != 0)
			break;
	}
	return n;
}

/* A waker the op registered stays in the slot when the op ends (done or
 * cancelled), as tokio's AtomicWaker keeps it: the next receive by the
 * same task finds it there (will_wake: no clone, no RMW), which is what a
 * select re-made every round costs most; a send meanwhile wakes the task
 * spuriously at worst.  ak_mpsc_rx_drop() drops it. */
static __attribute__((noinline, cold)) void recv_release(struct recv_priv *p)
{
	struct ak__chan *c = p->c;
	if (p->flags & F_WANT)
		ak__rdv_unwant(c);
	uintptr_t held = p->flags & F_REF;
	p->flags = 0;
	if (held) {
		c->rx_holds--;
		ak__chan_rx_put(c);
	}
}

/* A receive that never waited holds nothing: it ends in a test (a select
 * re-made every round ends one won and one cancelled receive per
 * message). */
static inline int recv_finish(struct recv_priv *p, int rc)
{
	if (p->flags == F_REF) {           /* a receive that waited, inline */
		p->flags = 0;
		p->c->rx_holds--;
		ak__chan_rx_put(p->c);
	} else if (p->flags) {
		recv_release(p);
	}
	return rc;
}

/* Pending, however it came to wait (parked, or out of budget). */
static int recv_pending(struct recv_priv *p)
{
	if (!(p->flags & F_REF)) {
		p->c->rx_holds++;
		p->flags |= F_REF;
	}
	return AK_PENDING;
}

/* The rendezvous: one value at most (recv_many too), taken from the cell
 * that a sender handed it over to; or the receive waits, marked so that
 * the next sender hands over (chan/mpsc_rdv.c). */
static int rdv_recv_poll(struct recv_priv *p, struct ak_context *cx)
{
	struct ak__chan *c = p->c;
	void *dst = c->elem_size ? p->buf : (void *)&void_mark;
	int rc = ak__rdv_pop(c, dst);
	if (rc != 0) {
		rc = ak__waker_slot_register(&c->rx_waker, cx);
		if (rc)
			return recv_finish(p, rc);
		rc = ak__rdv_want(c, dst, 1);
		if (rc == AK_PENDING) {
			p->flags |= F_WANT;
			return recv_pending(p);
		}
	}
	/* A hand-over or the end unmarked the receive already. */
	p->flags &= ~(uintptr_t)F_WANT;
	if (p->count)
		*p->count = rc == 0;
	if (rc == 0)
		ak__coop_spend(cx);
	return recv_finish(p, rc);
}

static int recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv(f);
	struct ak__chan *c = p->c;

	if (p->limit == 0) {
		if (p->count)
			*p->count = 0;
		return recv_finish(p, 0);
	}
	if (ak__coop_check(cx) == AK_PENDING)
		return recv_pending(p);
	if (ak__chan_rdv(c))
		return rdv_recv_poll(p, cx);
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pop_many(c, p->buf, p->limit);
		if (n > 0) {
			if (p->count)
				*p->count = n;
			ak__coop_spend(cx);
			return recv_finish(p, 0);
		}
		if (ak__chan_finished(c)) {
			if (p->count)
				*p->count = 0;
			return recv_finish(p, AK_EPIPE);
		}
		if (pass == 1)
			break;
		int rc = ak__waker_slot_register(&c->rx_waker, cx);
		if (rc)
			return recv_finish(p, rc);
	}
	/* Bounded: a value claimed but not yet published.  Its sender may
	 * have looked at the waker slot before we registered (see
	 * ak__ring_push()), so nobody may wake us for it: be polled again. */
	if (ak__chan_bounded(c) && ak__ring_in_flight(c))
		ak_waker_wake_by_ref(&cx->waker);
	return recv_pending(p);
}

/* One value (ak_mpsc_recv_init's binding on a bounded or an unbounded
 * channel) the long way: recv_poll without its branches on the kind and
 * the limit, recv the queue's receive (ak__ring_recv() or
 * ak__list_recv()). */
static inline __attribute__((always_inline)) int one_recv_wait(
	struct recv_priv *p, struct ak_context *cx,
	int (*recv)(struct ak__chan *, void *, struct ak_context *))
{
	int rc = ak__coop_check(cx);
	if (rc == 0) {
		rc = recv(p->c, p->buf, cx);
		if (rc == 0)
			ak__coop_spend(cx);
	}
	if (rc == AK_PENDING)
		return recv_pending(p);
	return recv_finish(p, rc);
}

/* ring_recv_poll() without its fast path: no budget left, or a size
 * ak__ring_take() does not copy. */
static __attribute__((noinline)) int ring_recv_wait(struct ak_future *f, struct ak_context *cx)
{
	return one_recv_wait(recv_priv(f), cx, ak__ring_recv);
}

/* ring_recv_empty() past its common case: the long way, from the start. */
static __attribute__((noinline)) int ring_recv_empty_slow(struct recv_priv *p,
                                                          struct ak_context *cx)
{
	int rc = ak__ring_recv_empty(p->c, p->buf, cx);
	if (rc == 0)
		ak__coop_spend(cx);
	if (rc == AK_PENDING)
		return recv_pending(p);
	return recv_finish(p, rc);
}

/* The fast path found no value at the head: the waker, and a look again,
 * in this one frame when the channel is open and still empty (no frame
 * between the receive and the waker's clone); the rest the long way. */
static __attribute__((noinline)) int ring_recv_empty(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv(f);
	if (ak__ring_recv_park(p->c, cx) == AK_PENDING)
		return recv_pending(p);
	return ring_recv_empty_slow(p, cx);
}

/* ring_recv_taken() with a sender to serve, or more to let go. */
static __attribute__((noinline)) int ring_recv_served(struct recv_priv *p, int served)
{
	if (served)
		ak__ring_served(p->c);
	return recv_finish(p, 0);
}

/* A value taken (budget spent), and a sender may wait for the slot it
 * freed (served), or the receive held the channel while it waited.  The
 * common end of a receive that waited (its hold alone, the receiver
 * alive, nobody to serve) is a leaf: recv_finish's put does nothing
 * while rx_gone is clear; anything else ring_recv_served(). */
static inline __attribute__((always_inline)) int ring_recv_taken(struct recv_priv *p, int served)
{
	struct ak__chan *c = p->c;
	if (!served && p->flags == F_REF && !c->rx_gone) {
		p->flags = 0;
		c->rx_holds--;
		return 0;
	}
	return ring_recv_served(p, served);
}

/* One value from a bounded channel (ak_mpsc_recv_init's binding there):
 * recv_poll without its branches on the kind and the limit.  A receive
 * that holds nothing (it never waited) and finds the head value is a leaf;
 * everything else is a tail call: the empty look goes on to the waker
 * without looking twice, a receive that waited lets go of the channel. */
static int ring_recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv(f);
	if (cx->budget == 0)
		return ring_recv_wait(f, cx);
	int rc = ak__ring_take(p->c, &p->buf);
	if (rc == AK_EAGAIN)
		return ring_recv_empty(f, cx);
	if (rc == AK__RING_SIZE)
		return ring_recv_wait(f, cx);
	ak__coop_spend(cx);
	if (rc == 0 && p->flags == 0)
		return 0;
	return ring_recv_taken(p, rc);
}

static __attribute__((noinline)) int list_recv_wait(struct recv_priv *p, struct ak_context *cx)
{
	return one_recv_wait(p, cx, ak__list_recv);
}

/* The head value ready, budget left, nothing held: one take, and nothing
 * called before it (no register saved); anything else list_recv_wait(). */
static int list_recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv(f);
	if (cx->budget == 0 || p->flags)
		return list_recv_wait(p, cx);
	int rc = ak__list_take(p->c, p->buf);
	if (rc < 0)
		return list_recv_wait(p, cx);
	ak__coop_spend(cx);
	return rc ? ak__list_blk_done(p->c) : 0;
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *p = recv_priv(f);
	if (p->c)
		recv_finish(p, 0);
}

static const struct ak_future_vtable recv_vtable = { recv_poll, recv_cancel };
static const struct ak_future_vtable ring_recv_vtable = { ring_recv_poll, recv_cancel };
static const struct ak_future_vtable list_recv_vtable = { list_recv_poll, recv_cancel };

static inline __attribute__((always_inline)) int recv_bind(struct ak_future *f, struct ak_mpsc_rx *rx, void *buf, size_t limit,
                     size_t *count)
{
	if (!f || !rx)
		return AK_EINVAL;
	struct ak__chan *c = rx_chan(rx);
	if (!buf && c->elem_size && limit)
		return AK_EINVAL;
	/* One value from a bounded or an unbounded channel: its own poll. */
	const struct ak_future_vtable *vt = &recv_vtable;
	if (limit == 1 && !count && !ak__chan_rdv(c))
		vt = ak__chan_bounded(c) ? &ring_recv_vtable : &list_recv_vtable;
	int rc = ak_future_init(f, vt);
	if (rc)
		return rc;
	struct recv_priv *p = recv_priv(f);
	p->c = c;
	p->buf = c->elem_size ? buf : (void *)&void_mark;
	p->limit = limit;
	p->count = count;
	p->flags = 0;
	return 0;
}

AK_EXPORT int ak_mpsc_recv_init(struct ak_mpsc_recv_op *op, struct ak_mpsc_rx *rx, void *out)
{
	if (!op)
		return AK_EINVAL;
	return recv_bind(&op->future, rx, out, 1, NULL);
}

AK_EXPORT int ak_mpsc_recv_many_init(struct ak_mpsc_recv_many_op *op, struct ak_mpsc_rx *rx, void *buf,
                                     size_t limit, size_t *count)
{
	if (!op || !count)
		return AK_EINVAL;
	return recv_bind(&op->future, rx, buf, limit, count);
}

AK_EXPORT int ak_mpsc_try_recv(struct ak_mpsc_rx *rx, void *out)
{
	if (!rx)
		return AK_EINVAL;
	struct ak__chan *c = rx_chan(rx);
	if (!out && c->elem_size)
		return AK_EINVAL;
	if (!c->elem_size)
		out = &void_mark;
	if (ak__chan_rdv(c)) {
		/* What was handed over; else a parked sender is asked to hand
		 * over (a later receive takes it), AK_EAGAIN now. */
		if (ak__rdv_pop(c, out) == 0)
			return 0;
		return ak__rdv_want(c, out, 0);
	}
	for (int spins = 0;; spins++) {
		if (ak__chan_pop(c, out) == 0)
			return 0;
		/* A value counted but not yet written at the head: its writer
		 * is between two instructions; wait for it (spin, then yield)
		 * rather than report a spurious AK_EAGAIN. */
		if (!ak__chan_in_flight(c))
			break;
		if (spins < SPIN_LIMIT)
			ak__cpu_relax();
		else
			ak__yield();
	}
	return ak__chan_finished(c) ? AK_EPIPE : AK_EAGAIN;
}

AK_EXPORT int ak_mpsc_recv_blocking(struct ak_mpsc_rx *rx, void *out, int64_t deadline)
{
	if (!rx)
		return AK_EINVAL;
	if (!ak__may_block())
		return AK_EDEADLK;
	/* A bounded wait (core/core.h's backoff: spins, then yields) before
	 * the thread parks.  A rendezvous has nothing to take before the
	 * receive waits: no wait (ak_block_on's parker spins once the
	 * receive is marked). */
	struct ak__chan *c = rx_chan(rx);
	struct ak__backoff b = AK__BACKOFF_INIT;
	int more = !ak__chan_rdv(c);
	while (more) {
		int rc = ak_mpsc_try_recv(rx, out);
		if (rc != AK_EAGAIN)
			return rc;
		/* Empty: between the steps the head slot alone is looked at
		 * until a value is there or the senders are gone (a try also
		 * loads the senders' word, which each send writes: the sender
		 * would find its line taken at every send).  relaxed: a hint;
		 * the try looks. */
		do
			more = ak__backoff_wait(&b);
		while (more && ak__chan_bounded(c) && !ak__ring_ready(c) &&
		       !ak__load(&c->state, AK__RELAXED));
	}
	struct ak_mpsc_recv_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_mpsc_recv_init(&op, rx, out);
	if (rc)
		return rc;
	return ak_block_on(&op.future, deadline);
}

AK_EXPORT int ak_mpsc_recv_many_blocking(struct ak_mpsc_rx *rx, void *buf, size_t limit, size_t *count,
                                         int64_t deadline)
{
	if (!ak__may_block())
		return AK_EDEADLK;
	struct ak_mpsc_recv_many_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_mpsc_recv_many_init(&op, rx, buf, limit, count);
	if (rc)
		return rc;
	return ak_block_on(&op.future, deadline);
}
