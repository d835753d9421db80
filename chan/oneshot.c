/*
 * chan/oneshot.c: the oneshot channel.  See ak_oneshot(3).
 *
 * One allocation per channel (through ak__alloc) holds one atomic state
 * word, two waker slots, the value and a few fields that only one side
 * touches.  No lock, as in tokio's oneshot: each waker slot is published
 * through a bit of the state word.
 *
 *   RX_TASK_SET  rx_task holds the receiver's waker.  The receiver writes
 *                the slot only while the bit is clear and sets it with a
 *                release RMW; the sender reads the slot (wake_by_ref) only
 *                when its completing RMW saw the bit.  A receiver that
 *                clears the bit and finds COMPLETE sets it again and leaves
 *                the slot alone: the sender may be reading it.
 *   TX_TASK_SET  the same for the sender's closed() waker in tx_task, with
 *                CLOSED in the place of COMPLETE.
 *   COMPLETE     the sender is done: it sent (HAS_VALUE too) or was
 *                dropped.  Never set once CLOSED is.
 *   HAS_VALUE    value holds a sent value (set with COMPLETE).
 *   CLOSED       the receiver closed or was dropped: sends fail.
 *   RX_GONE      the receiver side is finished (handle dropped, no parked
 *   TX_GONE      operation); the side whose RMW sets the second of the two
 *                frees the channel.
 *
 * Each side counts, in a plain field only its owner touches, its handle
 * and its parked operation (rx_count, tx_count); when that reaches zero the
 * side sets its GONE bit.  So dropping either handle under a parked
 * operation is safe: the operation keeps its side alive.
 *
 * Every waker call happens after the RMW that decided it and before the
 * caller's own GONE bit is set, so the channel outlives it.  A value sent
 * and never received is dropped (hook) when the channel is freed.
 *
 *   field                          written by
 *   state                          both sides (atomic)
 *   rx_count, rx_alive, rx_done,   the receiver's owner
 *   taken, rx_task (bit clear)
 *   tx_count, tx_alive,            the sender's owner
 *   tx_task (bit clear), value
 *   elem_size, drop, drop_arg      ak_oneshot_new, read-only after
 */
#include <stdint.h>
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/oneshot.h>

#include "../core/core.h"

enum {
	RX_TASK_SET = 1u << 0,
	COMPLETE = 1u << 1,
	CLOSED = 1u << 2,
	TX_TASK_SET = 1u << 3,
	HAS_VALUE = 1u << 4,
	RX_GONE = 1u << 5,
	TX_GONE = 1u << 6,
};

struct oneshot {
	ak__atomic(uint32_t) state;
	/* the receiver's side */
	uint32_t rx_count;          /* the handle while alive + a parked recv */
	uint8_t rx_alive;
	uint8_t rx_done;            /* a terminal result was returned */
	uint8_t taken;              /* the value was received */
	/* the sender's side */
	uint8_t tx_alive;
	uint32_t tx_count;          /* the handle while alive + a parked closed */
	struct ak_waker rx_task;
	struct ak_waker tx_task;
	size_t elem_size;
	void (*drop)(void *elem, void *arg);
	void *drop_arg;
	max_align_t value[];
};

struct recv_priv {
	struct oneshot *b;
	void *out;
	uintptr_t parked;           /* holds one rx_count */
};
_Static_assert(sizeof(struct recv_priv) <= sizeof(((struct ak_oneshot_recv_op *)0)->private_),
               "oneshot recv op storage too small");

struct closed_priv {
	struct oneshot *b;
	uintptr_t parked;           /* holds one tx_count */
};
_Static_assert(sizeof(struct closed_priv) <= sizeof(((struct ak_oneshot_closed_op *)0)->private_),
               "oneshot closed op storage too small");

static struct oneshot *of_tx(const struct ak_oneshot_tx *tx)
{
	return (struct oneshot *)(void *)tx;
}

static struct oneshot *of_rx(const struct ak_oneshot_rx *rx)
{
	return (struct oneshot *)(void *)rx;
}

static void waker_clear(struct ak_waker *w)
{
	w->data = NULL;
	w->vtable = NULL;
}

/* ---- lifetime ---------------------------------------------------------------- */

/* Called by the side whose RMW set the second GONE bit.  That RMW was
 * acq_rel and read the other side's GONE RMW (also acq_rel), so every write
 * of both sides (slots, value, taken) is visible here. */
static void chan_free(struct oneshot *b)
{
	uint32_t s = ak__load(&b->state, AK__RELAXED);

	if (s & RX_TASK_SET)
		ak__waker_drop_kept(&b->rx_task);
	if (s & TX_TASK_SET)
		ak__waker_drop_kept(&b->tx_task);
	if ((s & HAS_VALUE) && !b->taken && b->drop)
		b->drop((void *)b->value, b->drop_arg);
	ak__free_sized(b, sizeof(*b) + b->elem_size);
}

static void side_release(struct oneshot *b, uint32_t gone, uint32_t other)
{
	/* acq_rel: the release publishes this side's writes to whichever side
	 * frees; the acquire pairs with the other side's release of its own
	 * GONE bit (here or in tx_finish / ak_oneshot_rx_drop). */
	uint32_t prev = ak__fetch_or(&b->state, gone, AK__ACQ_REL);
	if (prev & other)
		chan_free(b);
}

static void rx_put(struct oneshot *b)
{
	if (--b->rx_count == 0)
		side_release(b, RX_GONE, TX_GONE);
}

static void tx_put(struct oneshot *b)
{
	if (--b->tx_count == 0)
		side_release(b, TX_GONE, RX_GONE);
}

AK_EXPORT int ak_oneshot_new(size_t elem_size, const struct ak_oneshot_hooks *hooks,
                             struct ak_oneshot_tx **tx, struct ak_oneshot_rx **rx)
{
	if (!tx || !rx || elem_size > (SIZE_MAX >> 1) - sizeof(struct oneshot))
		return AK_EINVAL;
	struct oneshot *b = ak__alloc(sizeof(*b) + elem_size);
	if (!b)
		return AK_ENOMEM;
	ak__init(&b->state, 0);
	b->rx_count = 1;
	b->rx_alive = 1;
	b->tx_count = 1;
	b->tx_alive = 1;
	waker_clear(&b->rx_task);
	waker_clear(&b->tx_task);
	b->elem_size = elem_size;
	b->drop = hooks ? hooks->drop : NULL;
	b->drop_arg = hooks ? hooks->arg : NULL;
	*tx = (struct ak_oneshot_tx *)(void *)b;
	*rx = (struct ak_oneshot_rx *)(void *)b;
	return 0;
}

/* ---- the sender ---------------------------------------------------------------- */

/* Sets COMPLETE (with HAS_VALUE when sending) unless the receiver closed,
 * wakes a registered receiver, and gives up the sender's handle.  0, or
 * AK_EPIPE when the receiver had closed. */
static int tx_finish(struct oneshot *b, uint32_t sent)
{
	b->tx_alive = 0;
	int last = --b->tx_count == 0;
	uint32_t s = ak__load(&b->state, AK__RELAXED);
	uint32_t want;

	for (;;) {
		if (s & CLOSED) {
			want = s | (last ? TX_GONE : 0u);
			if (want == s)
				break;
		} else {
			want = s | COMPLETE | sent;
			/* Nobody to wake: give the side up in the same RMW. */
			if (last && !(s & RX_TASK_SET))
				want |= TX_GONE;
		}
		/* acq_rel: the release publishes the value to the receiver's
		 * acquire that sees COMPLETE (recv_poll, try_recv) and to
		 * chan_free; the acquire pairs with the receiver's release RMW
		 * that set RX_TASK_SET, so rx_task is visible below. */
		if (ak__cas_weak(&b->state, &s, want, AK__ACQ_REL, AK__RELAXED))
			break;
	}
	int rc = (s & CLOSED) ? AK_EPIPE : 0;
	if (rc == 0 && (s & RX_TASK_SET))
		ak_waker_wake_by_ref(&b->rx_task);
	if (want & TX_GONE) {
		if (s & RX_GONE)
			chan_free(b);
	} else if (last) {
		side_release(b, TX_GONE, RX_GONE);
	}
	return rc;
}

AK_EXPORT int ak_oneshot_send(struct ak_oneshot_tx *tx, const void *value)
{
	struct oneshot *b = of_tx(tx);

	if (!b || (!value && b->elem_size > 0))
		return AK_EINVAL;
	/* A hint only (tx_finish's RMW decides): a closed receiver makes the
	 * copy pointless.  The receiver reads value only after seeing
	 * HAS_VALUE, which this copy happens-before. */
	if (!(ak__load(&b->state, AK__RELAXED) & CLOSED) && b->elem_size > 0)
		memcpy((void *)b->value, value, b->elem_size);
	return tx_finish(b, HAS_VALUE);
}

AK_EXPORT void ak_oneshot_tx_drop(struct ak_oneshot_tx *tx)
{
	if (tx)
		(void)tx_finish(of_tx(tx), 0);
}

AK_EXPORT int ak_oneshot_tx_is_closed(const struct ak_oneshot_tx *tx)
{
	if (!tx)
		return AK_EINVAL;
	/* acquire: pairs with the receiver's release RMW that set CLOSED. */
	return (ak__load(&of_tx(tx)->state, AK__ACQUIRE) & CLOSED) != 0;
}

/* ---- the sender's closed() operation ------------------------------------------- */

static struct closed_priv *closed_priv_of(struct ak_future *f)
{
	return (struct closed_priv *)(void *)&((struct ak_oneshot_closed_op *)(void *)f)->private_;
}

static int closed_end(struct closed_priv *p, int rc, struct ak_context *cx)
{
	if (rc == 0 && cx)
		ak__coop_spend(cx);
	if (p->parked) {
		p->parked = 0;
		ak__count_parked(-1);
		tx_put(p->b);
	}
	return rc;
}

static int closed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct closed_priv *p = closed_priv_of(f);
	struct oneshot *b = p->b;

	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	/* acquire: pairs with the receiver's release RMW that set CLOSED. */
	uint32_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & CLOSED)
		return closed_end(p, 0, cx);
	if ((s & TX_TASK_SET) && !ak_waker_will_wake(&b->tx_task, &cx->waker)) {
		/* acquire: pairs with the receiver's release RMW of CLOSED: if
		 * set, the receiver may be reading tx_task — leave it. */
		s = ak__fetch_and(&b->state, ~(uint32_t)TX_TASK_SET, AK__ACQ_REL);
		if (s & CLOSED) {
			ak__fetch_or(&b->state, TX_TASK_SET, AK__RELAXED);
			return closed_end(p, 0, cx);
		}
		ak__waker_drop_kept(&b->tx_task);
		waker_clear(&b->tx_task);
		s &= ~(uint32_t)TX_TASK_SET;
	}
	if (!(s & TX_TASK_SET)) {
		struct ak_waker w;
		if (ak__waker_keep(&cx->waker, &w) != 0)
			return closed_end(p, AK_ENOMEM, NULL);
		b->tx_task = w;
		/* release: publishes tx_task to the receiver's acquire RMW of
		 * CLOSED (ak_oneshot_rx_close / rx_drop); acquire: pairs with that
		 * RMW when it came first. */
		s = ak__fetch_or(&b->state, TX_TASK_SET, AK__ACQ_REL);
		if (s & CLOSED)
			return closed_end(p, 0, cx);
	}
	if (!p->parked) {
		p->parked = 1;
		ak__count_parked(1);
		b->tx_count++;
	}
	return AK_PENDING;
}

static void closed_cancel(struct ak_future *f)
{
	struct closed_priv *p = closed_priv_of(f);
	struct oneshot *b = p->b;

	if (!p->parked)
		return;
	/* acquire: pairs with the receiver's release RMW of CLOSED: once it
	 * is set the receiver may be waking tx_task, so it stays (chan_free
	 * drops it). */
	uint32_t s = ak__fetch_and(&b->state, ~(uint32_t)TX_TASK_SET, AK__ACQ_REL);
	if (s & TX_TASK_SET) {
		if (s & CLOSED) {
			ak__fetch_or(&b->state, TX_TASK_SET, AK__RELAXED);
		} else {
			ak__waker_drop_kept(&b->tx_task);
			waker_clear(&b->tx_task);
		}
	}
	(void)closed_end(p, AK_ECANCELED, NULL);
}

static const struct ak_future_vtable closed_vtable = { closed_poll, closed_cancel };

AK_EXPORT int ak_oneshot_closed_init(struct ak_oneshot_closed_op *op, struct ak_oneshot_tx *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &closed_vtable);
	if (rc != 0)
		return rc;
	struct closed_priv *p = closed_priv_of(&op->future);
	p->b = of_tx(tx);
	p->parked = 0;
	return 0;
}

/* ---- the receiver ---------------------------------------------------------------- */

/* s has COMPLETE: takes the value if there is one.  0 or AK_EPIPE. */
static int rx_take(struct oneshot *b, uint32_t s, void *out)
{
	b->rx_done = 1;
	if (!(s & HAS_VALUE))
		return AK_EPIPE;
	if (b->elem_size > 0)
		memcpy(out, (const void *)b->value, b->elem_size);
	b->taken = 1;
	return 0;
}

AK_EXPORT int ak_oneshot_try_recv(struct ak_oneshot_rx *rx, void *out)
{
	struct oneshot *b = of_rx(rx);

	if (!b || (!out && b->elem_size > 0))
		return AK_EINVAL;
	if (b->rx_done)
		return AK_EPIPE;
	/* acquire: pairs with the sender's release CAS in tx_finish(). */
	uint32_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & COMPLETE)
		return rx_take(b, s, out);
	if (s & CLOSED) {
		b->rx_done = 1;
		return AK_EPIPE;
	}
	return AK_EAGAIN;
}

AK_EXPORT int ak_oneshot_rx_close(struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);

	if (!b)
		return AK_EINVAL;
	/* acq_rel: the release pairs with the sender's acquire loads of
	 * CLOSED (ak_oneshot_tx_is_closed, closed_poll); the acquire pairs with
	 * the closed operation's release RMW of TX_TASK_SET. */
	uint32_t s = ak__fetch_or(&b->state, CLOSED, AK__ACQ_REL);
	if ((s & TX_TASK_SET) && !(s & CLOSED))
		ak_waker_wake_by_ref(&b->tx_task);
	return 0;
}

AK_EXPORT void ak_oneshot_rx_drop(struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);

	if (!b)
		return;
	b->rx_alive = 0;
	int last = --b->rx_count == 0;
	uint32_t s = ak__load(&b->state, AK__RELAXED);
	uint32_t want;
	int wake;

	for (;;) {
		wake = (s & TX_TASK_SET) && !(s & CLOSED);
		want = s | CLOSED;
		/* Nobody to wake: give the side up in the same RMW. */
		if (last && !wake)
			want |= RX_GONE;
		if (want == s)
			break;
		/* acq_rel: as in ak_oneshot_rx_close, and the GONE pairing of
		 * side_release(). */
		if (ak__cas_weak(&b->state, &s, want, AK__ACQ_REL, AK__RELAXED))
			break;
	}
	if (wake)
		ak_waker_wake_by_ref(&b->tx_task);
	if (want & RX_GONE) {
		if ((s & TX_GONE) && !(s & RX_GONE))
			chan_free(b);
	} else if (last) {
		side_release(b, RX_GONE, TX_GONE);
	}
}

/* ---- the recv operation ---------------------------------------------------------- */

static struct recv_priv *recv_priv_of(struct ak_future *f)
{
	return (struct recv_priv *)(void *)&((struct ak_oneshot_recv_op *)(void *)f)->private_;
}

static int recv_end(struct recv_priv *p, int rc, struct ak_context *cx)
{
	if (rc != AK_ENOMEM && cx)
		ak__coop_spend(cx);
	if (p->parked) {
		p->parked = 0;
		ak__count_parked(-1);
		rx_put(p->b);      /* may free the channel: last */
	}
	return rc;
}

static int recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;

	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	if (!b->rx_alive || b->rx_done)
		return recv_end(p, AK_EPIPE, cx);
	/* acquire: pairs with the sender's release CAS in tx_finish(). */
	uint32_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & COMPLETE)
		return recv_end(p, rx_take(b, s, p->out), cx);
	if (s & CLOSED) {
		b->rx_done = 1;
		return recv_end(p, AK_EPIPE, cx);
	}
	if ((s & RX_TASK_SET) && !ak_waker_will_wake(&b->rx_task, &cx->waker)) {
		/* acquire: pairs with the sender's release CAS: once COMPLETE is
		 * set the sender may be reading rx_task — leave it. */
		s = ak__fetch_and(&b->state, ~(uint32_t)RX_TASK_SET, AK__ACQ_REL);
		if (s & COMPLETE) {
			ak__fetch_or(&b->state, RX_TASK_SET, AK__RELAXED);
			return recv_end(p, rx_take(b, s, p->out), cx);
		}
		ak__waker_drop_kept(&b->rx_task);
		waker_clear(&b->rx_task);
		s &= ~(uint32_t)RX_TASK_SET;
	}
	if (!(s & RX_TASK_SET)) {
		struct ak_waker w;
		if (ak__waker_keep(&cx->waker, &w) != 0)
			return recv_end(p, AK_ENOMEM, cx);
		b->rx_task = w;
		/* release: publishes rx_task to the sender's acquire CAS in
		 * tx_finish(); acquire: pairs with that CAS when it came first
		 * (the value is then visible). */
		s = ak__fetch_or(&b->state, RX_TASK_SET, AK__ACQ_REL);
		if (s & COMPLETE)
			return recv_end(p, rx_take(b, s, p->out), cx);
		if (s & CLOSED) {
			/* Closed by this same owner cannot happen between; kept
			 * for completeness. */
			b->rx_done = 1;
			return recv_end(p, AK_EPIPE, cx);
		}
	}
	if (!p->parked) {
		p->parked = 1;
		ak__count_parked(1);
		b->rx_count++;
	}
	return AK_PENDING;
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;

	if (!p->parked)
		return;
	/* acquire: pairs with the sender's release CAS: once COMPLETE is set
	 * the sender may be waking rx_task, so it stays (chan_free drops it).
	 * Nothing is consumed: the value stays for a later recv. */
	uint32_t s = ak__fetch_and(&b->state, ~(uint32_t)RX_TASK_SET, AK__ACQ_REL);
	if (s & RX_TASK_SET) {
		if (s & COMPLETE) {
			ak__fetch_or(&b->state, RX_TASK_SET, AK__RELAXED);
		} else {
			ak__waker_drop_kept(&b->rx_task);
			waker_clear(&b->rx_task);
		}
	}
	p->parked = 0;
	ak__count_parked(-1);
	rx_put(b);
}

static const struct ak_future_vtable recv_vtable = { recv_poll, recv_cancel };

AK_EXPORT int ak_oneshot_recv_init(struct ak_oneshot_recv_op *op, struct ak_oneshot_rx *rx,
                                   void *out)
{
	if (!op || !rx || (!out && of_rx(rx)->elem_size > 0))
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &recv_vtable);
	if (rc != 0)
		return rc;
	struct recv_priv *p = recv_priv_of(&op->future);
	p->b = of_rx(rx);
	p->out = out;
	p->parked = 0;
	return 0;
}

AK_EXPORT int ak_oneshot_recv_blocking(struct ak_oneshot_rx *rx, void *out, int64_t deadline)
{
	struct ak_oneshot_recv_op op;

	if (!rx || (!out && of_rx(rx)->elem_size > 0))
		return AK_EINVAL;
	if (!ak__may_block())
		return AK_EDEADLK;
	int rc = ak_oneshot_try_recv(rx, out);
	if (rc != AK_EAGAIN)
		return rc;
	memset(&op, 0, sizeof(op));
	rc = ak_oneshot_recv_init(&op, rx, out);
	if (rc != 0)
		return rc;
	return ak_block_on(&op.future, deadline);
}
