/*
 * chan/oneshot.c: the oneshot channel.  See ak_oneshot(3).
 *
 * One allocation per channel (through ak__alloc) holds one atomic state
 * word, two waker slots, the value and a few fields that only one side
 * touches.  No lock, as in tokio's oneshot: each waker slot is published
 * through a bit of the state word.
 *
 *   RX_TASK_SET  rx_task holds the receiver's waker, and it is the
 *                receiver's.  The receiver writes the slot only while the
 *                bit is clear and sets it (with a generation bump) in a
 *                release RMW.  The completing sender takes the waker: it
 *                reads the slot after an acquire look at a state with the
 *                bit set, and its CAS clears the bit; the CAS succeeds only
 *                if the word (generation included) is unchanged, so the copy
 *                it made is the registered waker, now the sender's to wake.
 *                A receiver whose RMW clears the bit owns what the slot
 *                holds; one that finds it already clear lost it to the
 *                sender (COMPLETE is then set).
 *   TX_TASK_SET  tx_task holds the sender's closed() waker.  The sender
 *                writes it only while the bit is clear and sets it with a
 *                release RMW; the receiver reads it (wake_by_ref) only when
 *                its closing RMW saw the bit.  A sender that clears the bit
 *                and finds CLOSED sets it again and leaves the slot alone:
 *                the receiver may be reading it.
 *   COMPLETE     the sender is done: it sent (HAS_VALUE too) or was
 *                dropped.  Never set once CLOSED is.
 *   HAS_VALUE    value holds a sent value (set with COMPLETE).
 *   CLOSED       the receiver closed or was dropped: sends fail.
 *   RX_GONE      the receiver side is finished (handle dropped, no parked
 *   TX_GONE      operation); the side whose RMW sets the second of the two
 *                frees the channel, and a side that finishes after an
 *                acquire look saw the other's GONE bit frees it with no RMW
 *                (nobody else can touch the channel any more).
 *   GEN          the bits above: registrations of the receiver's waker,
 *                counted so that a waker replaced between the sender's look
 *                and its CAS fails the CAS (2^56 replacements inside that
 *                window would be needed to fool it).
 *
 * So a channel whose receiver parks costs two RMWs in all (the
 * registration, the send that also gives up the sender side); one whose
 * value was sent first costs one (the send).
 *
 * Each side counts, in a plain field only its owner touches, its handle
 * and its parked operation (rx_count, tx_count); when that reaches zero the
 * side sets its GONE bit.  So dropping either handle under a parked
 * operation is safe: the operation keeps its side alive.
 *
 * Every call of a waker in the channel happens after the RMW that decided
 * it and before the caller's own GONE bit is set, so the channel outlives
 * it; the sender's wake of the receiver uses the waker it took, after the
 * channel may be gone.  A value sent and never received is dropped (hook)
 * when the channel is freed.
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

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_ONESHOT_RECV, struct ak_oneshot_recv_op);
AK__OP_KIND(AK_OP_ONESHOT_CLOSED, struct ak_oneshot_closed_op);

enum {
	RX_TASK_SET = 1u << 0,
	COMPLETE = 1u << 1,
	CLOSED = 1u << 2,
	TX_TASK_SET = 1u << 3,
	HAS_VALUE = 1u << 4,
	RX_GONE = 1u << 5,
	TX_GONE = 1u << 6,
};
#define GEN_ONE ((uint64_t)1 << 8)

/* The receiver's waker slot: two atomic words, because the sender reads
 * them (relaxed) while the receiver may be replacing them; the sender's
 * CAS then fails and the torn copy is never used. */
struct rx_slot {
	ak__atomic(const void *) data;
	ak__atomic(const struct ak_waker_vtable *) vtable;
};

struct oneshot {
	ak__atomic(uint64_t) state;
	/* the receiver's side */
	uint32_t rx_count;          /* the handle while alive + a parked recv */
	uint8_t rx_alive;
	uint8_t rx_done;            /* a terminal result was returned */
	uint8_t taken;              /* the value was received */
	/* the sender's side */
	uint8_t tx_alive;
	uint32_t tx_count;          /* the handle while alive + a parked closed */
	struct rx_slot rx_task;
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

/* The slot's words are only ever ordered by the state word's RMWs: relaxed
 * here, each caller says which acquire made them readable. */
static struct ak_waker rx_slot_get(struct oneshot *b)
{
	struct ak_waker w = {
		ak__load(&b->rx_task.data, AK__RELAXED),
		ak__load(&b->rx_task.vtable, AK__RELAXED),
	};
	return w;
}

static void rx_slot_set(struct oneshot *b, struct ak_waker w)
{
	ak__store(&b->rx_task.data, w.data, AK__RELAXED);
	ak__store(&b->rx_task.vtable, w.vtable, AK__RELAXED);
}

/* ---- lifetime ---------------------------------------------------------------- */

/* Called by the side that finishes second: its RMW set the second GONE bit
 * (acq_rel, reading the other side's acq_rel GONE RMW), or its acquire load
 * saw the other GONE bit.  Every write of both sides (slots, value, taken)
 * is visible here and nobody else touches the channel. */
static void chan_free(struct oneshot *b)
{
	uint64_t s = ak__load(&b->state, AK__RELAXED);

	if (s & RX_TASK_SET) {
		struct ak_waker w = rx_slot_get(b);
		ak__waker_drop_kept(&w);
	}
	if (s & TX_TASK_SET)
		ak__waker_drop_kept(&b->tx_task);
	if ((s & HAS_VALUE) && !b->taken && b->drop)
		b->drop((void *)b->value, b->drop_arg);
	ak__free_sized(b, sizeof(*b) + b->elem_size);
}

static void side_release(struct oneshot *b, uint64_t gone, uint64_t other)
{
	/* acq_rel: the release publishes this side's writes to whichever side
	 * frees; the acquire pairs with the other side's release of its own
	 * GONE bit (here or in tx_finish / ak_oneshot_rx_drop). */
	uint64_t prev = ak__fetch_or(&b->state, gone, AK__ACQ_REL);
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
	/* ak__alloc zeroes: the flags, taken and both slots start empty. */
	ak__init(&b->state, 0);
	b->rx_count = 1;
	b->rx_alive = 1;
	b->tx_count = 1;
	b->tx_alive = 1;
	b->elem_size = elem_size;
	if (hooks) {
		b->drop = hooks->drop;
		b->drop_arg = hooks->arg;
	}
	*tx = (struct ak_oneshot_tx *)(void *)b;
	*rx = (struct ak_oneshot_rx *)(void *)b;
	return 0;
}

/* ---- the sender ---------------------------------------------------------------- */

/* Sets COMPLETE (with HAS_VALUE when sending) unless the receiver closed,
 * wakes a registered receiver, and gives up the sender's handle.  s is an
 * acquire look at the state.  0, or AK_EPIPE when the receiver had
 * closed. */
static int tx_finish(struct oneshot *b, uint64_t s, uint64_t sent)
{
	struct ak_waker w = { NULL, NULL };
	uint64_t want;

	b->tx_alive = 0;
	int last = --b->tx_count == 0;
	for (;;) {
		if (s & CLOSED) {
			if (last && (s & RX_GONE)) {
				/* The receiver side is gone and so is ours:
				 * nobody to tell (see chan_free). */
				chan_free(b);
				return AK_EPIPE;
			}
			want = s | (last ? TX_GONE : 0u);
			if (want == s)
				break;
		} else {
			want = s | COMPLETE | sent | (last ? TX_GONE : 0u);
			if (s & RX_TASK_SET) {
				/* Take the receiver's waker (the header): the
				 * acquire that read s made the slot readable. */
				w = rx_slot_get(b);
				want &= ~(uint64_t)RX_TASK_SET;
			}
		}
		/* acq_rel: the release publishes the value to the receiver's
		 * acquire that sees COMPLETE (recv_poll, try_recv, rx_drop) and
		 * to chan_free; the acquire (also on failure, which retries
		 * with the new word) pairs with the receiver's release RMW that
		 * set RX_TASK_SET, so the slot read above is its waker. */
		if (ak__cas_weak(&b->state, &s, want, AK__ACQ_REL, AK__ACQUIRE))
			break;
	}
	if (s & CLOSED) {
		if ((want & TX_GONE) && (s & RX_GONE))
			chan_free(b);
		return AK_EPIPE;
	}
	/* The channel may be gone already: w is the sender's own clone. */
	if (s & RX_TASK_SET)
		ak__waker_wake_kept(&w);
	return 0;
}

AK_EXPORT int ak_oneshot_send(struct ak_oneshot_tx *tx, const void *value)
{
	struct oneshot *b = of_tx(tx);

	if (!b || (!value && b->elem_size > 0))
		return AK_EINVAL;
	/* acquire: pairs with the receiver's release RMWs (RX_TASK_SET, the
	 * GONE and CLOSED bits); tx_finish's CAS decides.  A closed receiver
	 * makes the copy pointless.  The receiver reads value only after
	 * seeing HAS_VALUE, which this copy happens-before. */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (!(s & CLOSED))
		ak__copy_value((void *)b->value, value, b->elem_size);
	return tx_finish(b, s, HAS_VALUE);
}

AK_EXPORT void ak_oneshot_tx_drop(struct ak_oneshot_tx *tx)
{
	if (!tx)
		return;
	struct oneshot *b = of_tx(tx);
	/* acquire: as in ak_oneshot_send. */
	(void)tx_finish(b, ak__load(&b->state, AK__ACQUIRE), 0);
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
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & CLOSED)
		return closed_end(p, 0, cx);
	if ((s & TX_TASK_SET) && !ak_waker_will_wake(&b->tx_task, &cx->waker)) {
		/* acquire: pairs with the receiver's release RMW of CLOSED: if
		 * set, the receiver may be reading tx_task — leave it. */
		s = ak__fetch_and(&b->state, ~(uint64_t)TX_TASK_SET, AK__ACQ_REL);
		if (s & CLOSED) {
			ak__fetch_or(&b->state, TX_TASK_SET, AK__RELAXED);
			return closed_end(p, 0, cx);
		}
		ak__waker_drop_kept(&b->tx_task);
		waker_clear(&b->tx_task);
		s &= ~(uint64_t)TX_TASK_SET;
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
	uint64_t s = ak__fetch_and(&b->state, ~(uint64_t)TX_TASK_SET, AK__ACQ_REL);
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
static int rx_take(struct oneshot *b, uint64_t s, void *out)
{
	b->rx_done = 1;
	if (!(s & HAS_VALUE))
		return AK_EPIPE;
	ak__copy_value(out, (const void *)b->value, b->elem_size);
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
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & COMPLETE)
		return rx_take(b, s, out);
	if (s & CLOSED) {
		b->rx_done = 1;
		return AK_EPIPE;
	}
	return AK_EAGAIN;
}

/* tokio's Receiver::is_terminated: a receive returned the value or
 * AK_EPIPE; any further receive returns AK_EPIPE. */
AK_EXPORT int ak_oneshot_rx_is_terminated(const struct ak_oneshot_rx *rx)
{
	const struct oneshot *b = of_rx(rx);
	if (!b)
		return AK_EINVAL;
	return b->rx_done != 0;
}

/* tokio's Receiver::is_empty: no value waits to be received (none sent
 * yet, the sender gone without one, or the value already taken). */
AK_EXPORT int ak_oneshot_rx_is_empty(const struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);
	if (!b)
		return AK_EINVAL;
	if (b->rx_done)
		return 1;
	/* acquire: pairs with the sender's release CAS in tx_finish(). */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	return (s & (COMPLETE | HAS_VALUE)) != (COMPLETE | HAS_VALUE);
}

AK_EXPORT int ak_oneshot_rx_close(struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);

	if (!b)
		return AK_EINVAL;
	/* acq_rel: the release pairs with the sender's acquire loads of
	 * CLOSED (ak_oneshot_tx_is_closed, closed_poll); the acquire pairs with
	 * the closed operation's release RMW of TX_TASK_SET. */
	uint64_t s = ak__fetch_or(&b->state, CLOSED, AK__ACQ_REL);
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
	/* acquire: pairs with the sender's release RMW that set TX_GONE (in
	 * tx_finish or side_release): its side is finished and every write
	 * of it visible, so the last of the receiver's side frees alone. */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (last && (s & TX_GONE)) {
		chan_free(b);
		return;
	}
	uint64_t want;
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

/* Registers cx's waker in the receiver's slot, replacing a different one.
 * s is the receiver's latest look at the state (COMPLETE and CLOSED clear).
 * Returns AK_PENDING when registered, else the state with COMPLETE or
 * CLOSED that ended the wait in *sp, or AK_ENOMEM. */
static int rx_register(struct oneshot *b, uint64_t *sp, struct ak_context *cx)
{
	uint64_t s = *sp;

	if (s & RX_TASK_SET) {
		struct ak_waker old = rx_slot_get(b);
		if (ak__waker_same(&old, &cx->waker))
			return AK_PENDING;
		/* acquire: pairs with the sender's release CAS: if it came
		 * first it took the waker (the bit is clear) and the value is
		 * visible.  If this comes first, the sender's CAS fails and it
		 * never uses what it may read of the slot rewritten below. */
		s = ak__fetch_and(&b->state, ~(uint64_t)RX_TASK_SET, AK__ACQUIRE);
		if (!(s & RX_TASK_SET)) {
			*sp = s;
			return 0;
		}
		ak__waker_drop_kept(&old);
	}
	struct ak_waker w;
	if (ak__waker_keep(&cx->waker, &w) != 0)
		return AK_ENOMEM;
	rx_slot_set(b, w);
	/* The bit is clear (only the receiver sets it): the add sets it and
	 * bumps the generation.  release: publishes the slot to the sender's
	 * acquire look at the state; acquire: pairs with the sender's CAS
	 * when it came first (it did not see the bit: the slot stays ours,
	 * chan_free drops it; the value is visible). */
	s = ak__fetch_add(&b->state, RX_TASK_SET + GEN_ONE, AK__ACQ_REL);
	if (s & (COMPLETE | CLOSED)) {
		*sp = s;
		return 0;
	}
	return AK_PENDING;
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
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (!(s & (COMPLETE | CLOSED))) {
		int rc = rx_register(b, &s, cx);
		if (rc == AK_ENOMEM)
			return recv_end(p, AK_ENOMEM, cx);
		if (rc == AK_PENDING) {
			if (!p->parked) {
				p->parked = 1;
				ak__count_parked(1);
				b->rx_count++;
			}
			return AK_PENDING;
		}
	}
	if (s & COMPLETE)
		return recv_end(p, rx_take(b, s, p->out), cx);
	b->rx_done = 1;          /* closed by this side */
	return recv_end(p, AK_EPIPE, cx);
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;

	if (!p->parked)
		return;
	/* acquire: as in rx_register: a bit found set is the receiver's
	 * waker to drop; one found clear was taken by the sender, which
	 * wakes it.  Nothing is consumed: the value stays for a later recv. */
	uint64_t s = ak__fetch_and(&b->state, ~(uint64_t)RX_TASK_SET, AK__ACQUIRE);
	if (s & RX_TASK_SET) {
		struct ak_waker old = rx_slot_get(b);
		ak__waker_drop_kept(&old);
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
