/*
 * chan/mpsc.c: the mpsc channel, bounded, unbounded, and of capacity 0.
 * See ak_mpsc(3).
 *
 * This file is the front: creation, lifetime, handles and queries;
 * chan/mpsc_recv.c holds the receiving side, chan/mpsc_send.c the sending
 * side, and the values live in
 * one of two queues, or pass through a rendezvous (chan/mpsc_chan.h lists
 * the files):
 *
 * Bounded (chan/mpsc_ring.c): a stamped ring in the manner of
 * crossbeam's array channel, the capacity counted in the senders' word
 * beside the index (a send is one CAS, a receive no read-modify-write);
 * senders that must wait queue in FIFO order behind a gate (core/gate.h)
 * that the receiver looks at with one load.
 *
 * Unbounded (chan/mpsc_list.c): an atomic word counts the values sent
 * (the receiver counts those it took), and the count a send takes is its
 * value's index in linked blocks of 32 slots (a send is that claim and a
 * ready bit); blocks are linked ahead of the claims, and recycled or freed
 * once the receiver has received every value claimed while a sender could
 * still find them.
 *
 * Rendezvous (chan/mpsc_rdv.c), capacity 0: no queue; a send hands its
 * value over, in its own poll, only to a receive that waits for it,
 * through a one-value cell; senders that must wait queue in FIFO order.
 *
 * The receiver's waker: one waker slot (core/waker_slot.h, tokio's
 * AtomicWaker).  The receiver registers (seq_cst) and looks at the queue
 * again (seq_cst loads); a sender publishes (seq_cst) and then notifies (a
 * seq_cst look at the slot): of the two, one sees the other.  A receiver
 * that parks again with a waker that will_wake the one still stored keeps
 * it (no clone, no RMW), and a completed receive whose clone a sender took
 * makes no RMW either.
 *
 * Slots back on a closed channel: recv reports AK_EPIPE only once every
 * slot is back, so each path that returns one (a permit dropped, a grant
 * given back by a cancel or a failed poll) calls ak__chan_slots_back() after it,
 * which wakes a parked receiver.  A grant first seen by a poll after the
 * close is provisional and goes back too: the poll fails with AK_EPIPE.
 *
 * References: refs counts the sender group (while senders > 0), the
 * receiver, each weak handle and each parked send, reserve or closed
 * operation.  The receiver's reference also covers its pending receives
 * (a plain count on the receiver's side, rx_holds).  A permit holds a
 * sender count.  The last reference frees the channel, dropping what is
 * still queued with the drop hook.  A handle's drop that finds its side's
 * reference the only one left (the last sender after the receiver, the
 * receiver with no receive pending after every sender) frees it at once:
 * nobody is left to see a close, so it makes no RMW on the channel (a
 * create and drop of a bounded channel never used is 3 RMWs in all).
 */
#include "mpsc_chan.h"

static struct ak__chan *rx_chan(const struct ak_mpsc_rx *rx)
{
	return AK__CHAN_OF(rx, rx_h);
}
static struct ak__chan *weak_chan(const struct ak_mpsc_weak *w)
{
	return AK__CHAN_OF(w, weak_h);
}

/* Where a pop discards a value (see mpsc_chan.h). */
unsigned char ak__mpsc_drop_mark;

/* The record and what follows it: the list's words, or the rendezvous's
 * and its cell (the ring has a block of its own). */
static size_t chan_bytes(size_t cap, int rdv, size_t stride)
{
	if (cap)
		return sizeof(struct ak__chan);
	if (rdv)
		return sizeof(struct ak__chan) + sizeof(struct ak__rdv) + stride;
	return sizeof(struct ak__chan) + sizeof(struct ak__list);
}

/* ---- the two queues (and the rendezvous) -------------------------------------- */

void ak__chan_slots_back(struct ak__chan *c)
{
	/* seq_cst RMW after the ring's give-back of the units; pairs with
	 * the seq_cst load of state in ak__ring_finished(), which the
	 * receiver makes after registering its waker: if that load reads this
	 * RMW (or later) it sees the slots back; if it came first, the
	 * notify's seq_cst look sees the waker registered. */
	if (ak__fetch_or(&c->state, 0, AK__SEQ_CST))
		ak__waker_slot_notify(&c->rx_waker);
}

/* ---- lifetime ---------------------------------------------------------------------- */

static void chan_free(struct ak__chan *c)
{
	while (ak__chan_pop(c, AK__MPSC_DROP) == 0)
		;
	ak__waker_slot_free(&c->rx_waker);
	struct ak__notify *n = ak__load(&c->closed, AK__ACQUIRE);
	if (n) {
		ak__notify_destroy(n);
		ak__free_sized(n, sizeof(*n));
	}
	if (ak__chan_bounded(c))
		ak__ring_destroy(c);
	else if (ak__chan_rdv(c))
		ak__rdv_destroy(c);
	else
		ak__list_destroy(c);
	ak__free_sized(c, chan_bytes(c->cap, ak__chan_rdv(c), c->stride));
}

void ak__chan_get(struct ak__chan *c)
{
	ak__fetch_add(&c->refs, 1, AK__RELAXED);
}

/* The reference is the last one, and nothing can take another (each
 * comes from a live one): nobody is left to see a close, and it frees with
 * no RMW.  acquire: pairs with the release of every other put (their
 * fetch_subs, a release sequence). */
static int sole_ref(struct ak__chan *c)
{
	return ak__load(&c->refs, AK__ACQUIRE) == 1;
}

void ak__chan_put(struct ak__chan *c)
{
	if (sole_ref(c)) {
		chan_free(c);
		return;
	}
	/* acq_rel: the last put sees every write made before the others. */
	if (ak__fetch_sub(&c->refs, 1, AK__ACQ_REL) == 1)
		chan_free(c);
}

static void close_side(struct ak__chan *c, uint32_t bit)
{
	/* acquire: pairs with the fetch_or below; a state already closed
	 * means the ring (or the sent count) was closed before it. */
	if (ak__load(&c->state, AK__ACQUIRE) == 0) {
		if (ak__chan_bounded(c))
			ak__ring_close(c, bit == AK__MPSC_CLOSED_TX);
		else if (ak__chan_rdv(c))
			ak__rdv_close(c);
		else
			ak__list_close(c);
	}
	/* seq_cst: pairs with the loads in ak__chan_finished() and the queries (and
	 * comes before rx_notify's look at rx_state and the look at
	 * closed below). */
	uint32_t old = ak__fetch_or(&c->state, bit, AK__SEQ_CST);
	if ((bit & AK__MPSC_CLOSED_RX) && !(old & AK__MPSC_CLOSED_RX)) {
		/* seq_cst: pairs with the CAS in ak_mpsc_closed_init(): an
		 * operation bound after this load sees the state at its poll. */
		struct ak__notify *n = ak__load(&c->closed, AK__SEQ_CST);
		if (n)
			ak__notify_waiters(n);
	}
	ak__waker_slot_notify(&c->rx_waker);
}

void ak__chan_sender_put(struct ak__chan *c)
{
	/* acq_rel: the last sender's close comes after every send. */
	if (ak__fetch_sub(&c->senders, 1, AK__ACQ_REL) != 1)
		return;
	if (sole_ref(c)) {
		chan_free(c);       /* the receiver went before */
		return;
	}
	close_side(c, AK__MPSC_CLOSED_TX);
	ak__chan_put(c);
}

/* A new sender count from a live one; 0 or AK_EPIPE when none is left. */
int ak__chan_sender_get_if_live(struct ak__chan *c)
{
	uint64_t n = ak__load(&c->senders, AK__RELAXED);
	do {
		if (n == 0)
			return AK_EPIPE;
	} while (!ak__cas_weak(&c->senders, &n, n + 1, AK__RELAXED, AK__RELAXED));
	return 0;
}

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* cap 0: unbounded, or a rendezvous (rdv). */
static int chan_new(size_t cap, int rdv, size_t elem_size, const struct ak_mpsc_hooks *hooks,
                    struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	if (!tx || !rx || elem_size > ((size_t)1 << 40))
		return AK_EINVAL;
	size_t ring = 0, stride;
	if (cap) {
		if (cap > AK_MPSC_MAX_CAPACITY)
			return AK_EINVAL;
		ring = 2;      /* one slot could not tell written from free */
		while (ring < cap)
			ring <<= 1;
		stride = sizeof(uint64_t) + round8(elem_size);
		size_t ringbytes;   /* the ring's block: see ak__ring_bytes() */
		if (__builtin_mul_overflow(ring, stride, &ringbytes) ||
		    __builtin_add_overflow(sizeof(struct ak__ring), ringbytes, &ringbytes))
			return AK_EINVAL;
	} else if (rdv) {
		stride = round8(elem_size);
		ring = 1;
	} else {
		stride = elem_size;    /* see chan/mpsc_list.c: slots of the size */
	}
	size_t bytes = chan_bytes(cap, rdv, stride);
	struct ak__chan *c = ak__alloc(bytes);
	if (!c)
		return AK_ENOMEM;
	c->cap = cap;
	c->ring = ring;
	c->elem_size = elem_size;
	c->stride = stride;
	if (hooks) {
		c->drop = hooks->drop;
		c->drop_arg = hooks->arg;
	}
	ak__init(&c->state, 0);
	ak__init(&c->refs, 2);           /* the sender group and the receiver */
	ak__init(&c->senders, 1);
	ak__waker_slot_init(&c->rx_waker);
	ak__init(&c->closed, NULL);
	ak__init(&c->rb, NULL);
	ak__init(&c->weaks, 0);
	if (cap) {
		ak__ring_init(c);
	} else if (rdv) {
		ak__rdv_init(c);
	} else if (ak__list_init(c) != 0) {
		ak__free_sized(c, bytes);
		return AK_ENOMEM;
	}
	*tx = &c->tx_h;
	*rx = &c->rx_h;
	return 0;
}

AK_EXPORT int ak_mpsc_new(size_t capacity, size_t elem_size, const struct ak_mpsc_hooks *hooks,
                          struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	return chan_new(capacity, capacity == 0, elem_size, hooks, tx, rx);
}

AK_EXPORT int ak_mpsc_unbounded_new(size_t elem_size, const struct ak_mpsc_hooks *hooks,
                                    struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	return chan_new(0, 0, elem_size, hooks, tx, rx);
}

/* ---- handles ------------------------------------------------------------------------ */

AK_EXPORT int ak_mpsc_tx_clone(struct ak_mpsc_tx *tx, struct ak_mpsc_tx **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	ak__fetch_add(&ak__tx_chan(tx)->senders, 1, AK__RELAXED);
	*out = tx;
	return 0;
}

AK_EXPORT void ak_mpsc_tx_drop(struct ak_mpsc_tx *tx)
{
	if (tx)
		ak__chan_sender_put(ak__tx_chan(tx));
}

AK_EXPORT int ak_mpsc_tx_downgrade(struct ak_mpsc_tx *tx, struct ak_mpsc_weak **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct ak__chan *c = ak__tx_chan(tx);
	ak__chan_get(c);
	ak__fetch_add(&c->weaks, 1, AK__RELAXED);
	*out = &c->weak_h;
	return 0;
}

AK_EXPORT int ak_mpsc_weak_upgrade(struct ak_mpsc_weak *weak, struct ak_mpsc_tx **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	struct ak__chan *c = weak_chan(weak);
	int rc = ak__chan_sender_get_if_live(c);
	if (rc == 0)
		*out = &c->tx_h;
	return rc;
}

AK_EXPORT int ak_mpsc_weak_clone(struct ak_mpsc_weak *weak, struct ak_mpsc_weak **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	ak__chan_get(weak_chan(weak));
	ak__fetch_add(&weak_chan(weak)->weaks, 1, AK__RELAXED);
	*out = weak;
	return 0;
}

AK_EXPORT void ak_mpsc_weak_drop(struct ak_mpsc_weak *weak)
{
	if (!weak)
		return;
	ak__fetch_sub(&weak_chan(weak)->weaks, 1, AK__RELAXED);
	ak__chan_put(weak_chan(weak));
}

AK_EXPORT int ak_mpsc_rx_close(struct ak_mpsc_rx *rx)
{
	if (!rx)
		return AK_EINVAL;
	close_side(rx_chan(rx), AK__MPSC_CLOSED_RX);
	return 0;
}

AK_EXPORT void ak_mpsc_rx_drop(struct ak_mpsc_rx *rx)
{
	if (!rx)
		return;
	struct ak__chan *c = rx_chan(rx);
	if (c->rx_holds == 0 && sole_ref(c)) {
		chan_free(c);       /* every sender went before */
		return;
	}
	close_side(c, AK__MPSC_CLOSED_RX);
	while (ak__chan_pop(c, AK__MPSC_DROP) == 0)
		;
	ak__waker_slot_unregister(&c->rx_waker);
	c->rx_gone = 1;
	ak__chan_rx_put(c);
}

/* ---- queries ---------------------------------------------------------------------------- */

AK_EXPORT int ak_mpsc_same_channel(const struct ak_mpsc_tx *a, const struct ak_mpsc_tx *b)
{
	if (!a || !b)
		return AK_EINVAL;
	return a == b;
}

AK_EXPORT int ak_mpsc_tx_is_closed(const struct ak_mpsc_tx *tx)
{
	if (!tx)
		return AK_EINVAL;
	/* acquire: pairs with the release in close_side(). */
	return (ak__load(&ak__tx_chan(tx)->state, AK__ACQUIRE) & AK__MPSC_CLOSED_RX) != 0;
}

AK_EXPORT int ak_mpsc_rx_is_closed(const struct ak_mpsc_rx *rx)
{
	if (!rx)
		return AK_EINVAL;
	/* acquire: pairs with the release in close_side(). */
	return ak__load(&rx_chan(rx)->state, AK__ACQUIRE) != 0;
}

AK_EXPORT size_t ak_mpsc_len(const struct ak_mpsc_rx *rx)
{
	if (!rx)
		return 0;
	struct ak__chan *c = rx_chan(rx);
	if (ak__chan_rdv(c))
		return ak__rdv_len(c);
	return ak__chan_bounded(c) ? ak__ring_len(c) : ak__list_len(c);
}

AK_EXPORT int ak_mpsc_rx_is_empty(const struct ak_mpsc_rx *rx)
{
	return rx ? ak_mpsc_len(rx) == 0 : AK_EINVAL;
}

AK_EXPORT size_t ak_mpsc_sender_strong_count(const struct ak_mpsc_rx *rx)
{
	return rx ? (size_t)ak__load(&rx_chan(rx)->senders, AK__RELAXED) : 0;
}

AK_EXPORT size_t ak_mpsc_sender_weak_count(const struct ak_mpsc_rx *rx)
{
	return rx ? (size_t)ak__load(&rx_chan(rx)->weaks, AK__RELAXED) : 0;
}

AK_EXPORT size_t ak_mpsc_capacity(const struct ak_mpsc_tx *tx)
{
	if (!tx)
		return 0;
	struct ak__chan *c = ak__tx_chan(tx);
	if (ak__chan_rdv(c))
		return 0;
	return ak__chan_bounded(c) ? ak__ring_capacity(c) : SIZE_MAX;
}

AK_EXPORT size_t ak_mpsc_max_capacity(const struct ak_mpsc_tx *tx)
{
	if (!tx)
		return 0;
	struct ak__chan *c = ak__tx_chan(tx);
	return ak__chan_bounded(c) || ak__chan_rdv(c) ? c->cap : SIZE_MAX;
}
