/*
 * chan/oneshot.c: the oneshot channel.  See ak_oneshot(3).
 *
 * One allocation per channel (ak__alloc_raw: not zeroed) holds one atomic
 * state word, two waker cells, the value and a few fields that only one
 * side touches.  No lock, as in tokio's oneshot: each waker cell is published
 * through a bit of the state word (core/waker_slot.h), so that a side
 * registers and looks at the other's progress in one RMW, and the other
 * side takes the waker in the very CAS that makes its progress.
 *
 *   RX_TASK_SET  rx_task holds the receiver's waker.  The completing
 *                sender takes it in the CAS that sets COMPLETE (and gives
 *                up the sender's side): its copy is then its own to wake,
 *                after the channel may be gone.
 *   TX_TASK_SET  tx_task holds the sender's closed() waker.  The receiver
 *                takes it in the CAS that sets CLOSED (and gives up the
 *                receiver's side when it drops).
 *   COMPLETE     the sender is done: it sent (HAS_VALUE too) or was
 *                dropped.  Never set once CLOSED is.
 *   HAS_VALUE    value holds a sent value (set with COMPLETE).
 *   CLOSED       the receiver closed or was dropped: sends fail.
 *   RX_GONE      the receiver side is finished (handle dropped, no parked
 *   TX_GONE      operation); the side whose RMW sets the second of the two
 *                frees the channel, and a side that finishes after an
 *                acquire look saw the other's GONE bit frees it with no RMW
 *                (nobody else can touch the channel any more).
 *   GEN          the bits from AK__WAKER_GEN up: registrations of
 *                either waker, counted so that a waker replaced between a
 *                taker's look and its CAS fails the CAS.
 *
 * So a channel whose receiver parks costs two RMWs in all (the
 * registration, the send that also gives up the sender side); one whose
 * value was sent first costs one (the send).
 *
 * Each side counts, in a plain field only its owner touches, its handle
 * and its parked operation (rx_count, tx_count); when that reaches zero the
 * side sets its GONE bit.  So dropping either handle under a parked
 * operation is safe: the operation keeps its side alive.  The receiver's
 * other plain facts are the bits of one byte, rx_end: RX_DROPPED (the
 * handle went), RX_DONE (a terminal result was returned), RX_TAKEN (the
 * value was received); a receive looks at all three in one test.  A
 * consuming recv (tokio's rx.await) holds the handle's count itself and
 * drops the handle when it ends.  A parked operation (either side's) is a
 * lone waiter: ak_debug_counters(3) counts its waker clone, not its park.
 *
 * Every waker is woken from the copy its taker's CAS made its own, after
 * the channel may be gone.  A value sent and never received is dropped
 * (hook) when the channel is freed, with any waker still registered.
 *
 *   field                          written by
 *   state                          both sides (atomic)
 *   rx_count, rx_end,              the receiver's owner
 *   rx_task (bit clear)
 *   tx_count, tx_task (bit clear), the sender's owner
 *   value
 *   elem_size, drop, drop_arg      ak_oneshot_new, read-only after
 */
#include <stdint.h>
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/oneshot.h>

#include "../core/core.h"
#include "../core/waker_slot.h"

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
_Static_assert(TX_GONE < AK__WAKER_GEN, "the flags live below the registration count");

/* rx_end's bits. */
enum {
	RX_DROPPED = 1u << 0,
	RX_DONE = 1u << 1,
	RX_TAKEN = 1u << 2,
};

struct oneshot {
	ak__atomic(uint64_t) state;
	/* the receiver's side */
	uint32_t rx_count;          /* the handle while alive + a parked recv */
	uint8_t rx_end;             /* RX_DROPPED, RX_DONE, RX_TAKEN */
	/* the sender's side */
	uint32_t tx_count;          /* the handle while alive + a parked closed */
	struct ak__waker_cell rx_task;
	struct ak__waker_cell tx_task;
	size_t elem_size;
	void (*drop)(void *elem, void *arg);
	void *drop_arg;
	max_align_t value[];
};

struct recv_priv {
	struct oneshot *b;
	void *out;
	uintptr_t parked;           /* holds one rx_count */
	uintptr_t owns;             /* the handle's: dropped when done */
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

/* ---- lifetime ---------------------------------------------------------------- */

/* chan_free() of a channel with a waker registered or a value left to
 * drop. */
static __attribute__((noinline)) void chan_free_rest(struct oneshot *b, uint64_t s)
{
	ak__waker_cell_free(&b->rx_task, s, RX_TASK_SET);
	ak__waker_cell_free(&b->tx_task, s, TX_TASK_SET);
	if ((s & HAS_VALUE) && !(b->rx_end & RX_TAKEN) && b->drop)
		b->drop((void *)b->value, b->drop_arg);
	ak__free_sized(b, sizeof(*b) + b->elem_size);
}

/* Called by the side that finishes second: its RMW set the second GONE bit
 * (acq_rel, reading the other side's acq_rel GONE RMW), or its acquire load
 * saw the other GONE bit.  Every write of both sides (slots, value,
 * rx_end) is visible here and nobody else touches the channel; s is the
 * state word, final.  Inline, with no call but the tail ones: a received
 * channel is a look and a free. */
static inline void chan_free(struct oneshot *b, uint64_t s)
{
	if ((s & (RX_TASK_SET | TX_TASK_SET)) ||
	    ((s & HAS_VALUE) && !(b->rx_end & RX_TAKEN) && b->drop)) {
		chan_free_rest(b, s);
		return;
	}
	ak__free_sized(b, sizeof(*b) + b->elem_size);
}

static void side_release(struct oneshot *b, uint64_t gone, uint64_t other)
{
	/* acq_rel: the release publishes this side's writes to whichever side
	 * frees; the acquire pairs with the other side's release of its own
	 * GONE bit (here or in tx_finish / ak_oneshot_rx_drop). */
	uint64_t prev = ak__fetch_or(&b->state, gone, AK__ACQ_REL);
	if (prev & other)
		chan_free(b, prev | gone);
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

/* Not zeroed: every field is written here but the waker cells, read only
 * while their bit is set, and value, read only with HAS_VALUE. */
static inline int chan_init(struct oneshot *b, size_t elem_size,
                            const struct ak_oneshot_hooks *hooks, struct ak_oneshot_tx **tx,
                            struct ak_oneshot_rx **rx)
{
	ak__init(&b->state, 0);
	b->rx_count = 1;
	b->rx_end = 0;
	b->tx_count = 1;
	b->elem_size = elem_size;
	b->drop = hooks ? hooks->drop : NULL;
	b->drop_arg = hooks ? hooks->arg : NULL;
	*tx = (struct ak_oneshot_tx *)(void *)b;
	*rx = (struct ak_oneshot_rx *)(void *)b;
	return 0;
}

/* ak_oneshot_new() past the block cache's hit. */
static __attribute__((noinline)) int new_slow(size_t elem_size,
                                              const struct ak_oneshot_hooks *hooks,
                                              struct ak_oneshot_tx **tx,
                                              struct ak_oneshot_rx **rx)
{
	struct oneshot *b = ak__alloc_raw(sizeof(*b) + elem_size);
	if (!b)
		return AK_ENOMEM;
	return chan_init(b, elem_size, hooks, tx, rx);
}

AK_EXPORT int ak_oneshot_new(size_t elem_size, const struct ak_oneshot_hooks *hooks,
                             struct ak_oneshot_tx **tx, struct ak_oneshot_rx **rx)
{
	if (!tx || !rx || elem_size > (SIZE_MAX >> 1) - sizeof(struct oneshot))
		return AK_EINVAL;
	/* A kept block's hit with no call: no frame (anything else from
	 * new_slow, a tail call). */
	struct oneshot *b = ak__alloc_cached(sizeof(*b) + elem_size);
	if (__builtin_expect(!b, 0))
		return new_slow(elem_size, hooks, tx, rx);
	return chan_init(b, elem_size, hooks, tx, rx);
}

/* ---- the sender ---------------------------------------------------------------- */

/* Wakes w, the sender's own clone (the channel may be gone already), and
 * returns 0: the send's last call, in tail position (the send needs no
 * frame of its own).  w is never empty (the caller looked): no second
 * look. */
static __attribute__((noinline)) int tx_wake(struct ak_waker w)
{
	if (!w.vtable)
		__builtin_unreachable();
	ak__waker_wake_kept(&w);
	return 0;
}

/* tx_finish() past its first try: the receiver closed, or the word
 * changed under the look.  gone: the sender's side ends here. */
static __attribute__((noinline)) int tx_finish_slow(struct oneshot *b, uint64_t s, uint64_t sent,
                                                    uint64_t gone)
{
	struct ak_waker w = { NULL, NULL };
	uint64_t want;

	for (;;) {
		if (s & CLOSED) {
			if (gone && (s & RX_GONE)) {
				/* The receiver side is gone and so is ours:
				 * nobody to tell (see chan_free). */
				chan_free(b, s);
				return AK_EPIPE;
			}
			want = s | gone;
			if (want == s)
				break;
		} else {
			want = s | COMPLETE | sent | gone;
		}
		/* Takes the receiver's waker unless it closed (it wakes nobody
		 * then).  acq_rel: the release publishes the value to the
		 * receiver's acquire that sees COMPLETE (recv_poll, try_recv,
		 * rx_drop) and to chan_free; the acquire (also on failure,
		 * which retries with the new word) pairs with the receiver's
		 * registering RMW and its GONE bit. */
		if (ak__waker_cell_take(&b->rx_task, &b->state, (s & CLOSED) ? 0 : RX_TASK_SET, &s,
		                        want, &w))
			break;
	}
	if (s & CLOSED) {
		if ((want & TX_GONE) && (s & RX_GONE))
			chan_free(b, want);
		return AK_EPIPE;
	}
	/* The channel may be gone already: w is the sender's own clone. */
	ak__waker_wake_kept(&w);
	return 0;
}

/* Sets COMPLETE (with HAS_VALUE when sending) unless the receiver closed,
 * wakes a registered receiver, and gives up the sender's handle.  s is an
 * acquire look at the state.  0, or AK_EPIPE when the receiver had
 * closed.  The first try inline: an open channel whose word did not change
 * under the look is one CAS and the wake, with no call but tail calls.
 * The receiver's side is never gone without CLOSED (rx_drop closes), so
 * an open channel is never the sender's to free. */
static inline __attribute__((always_inline)) int tx_finish(struct oneshot *b, uint64_t s,
                                                        uint64_t sent)
{
	uint64_t gone = --b->tx_count == 0 ? TX_GONE : 0u;
	if (__builtin_expect(!(s & CLOSED), 1)) {
		struct ak_waker w;
		/* acq_rel: as in tx_finish_slow(); s is the caller's look, no write since. */
		if (ak__waker_cell_take_looked(&b->rx_task, &b->state, RX_TASK_SET, &s,
		                               s | COMPLETE | sent | gone, &w)) {
			if (w.vtable)
				return tx_wake(w);
			return 0;
		}
	}
	return tx_finish_slow(b, s, sent, gone);
}

/* ak_oneshot_send() of a value of another size than the common ones. */
static __attribute__((noinline)) int send_big(struct oneshot *b, const void *value, uint64_t s)
{
	ak__copy_value((void *)b->value, value, b->elem_size);
	return tx_finish(b, s, HAS_VALUE);
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
	if (!(s & CLOSED) && !ak__copy_small((void *)b->value, value, b->elem_size))
		return send_big(b, value, s);
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
	/* acquire: pairs with the receiver's release CAS that set CLOSED. */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	/* Registers, and looks at CLOSED in the registering RMW: a receiver
	 * that closes after it takes the waker and wakes it. */
	if (!(s & CLOSED) && ak__waker_cell_register(&b->tx_task, &b->state, TX_TASK_SET, &s, cx))
		return closed_end(p, AK_ENOMEM, NULL);
	if (s & CLOSED)
		return closed_end(p, 0, cx);
	if (!p->parked) {
		p->parked = 1;
		b->tx_count++;
	}
	return AK_PENDING;
}

static void closed_cancel(struct ak_future *f)
{
	struct closed_priv *p = closed_priv_of(f);

	if (!p->parked)
		return;
	/* A waker the receiver took is its to wake: a spurious wake. */
	ak__waker_cell_unregister(&p->b->tx_task, &p->b->state, TX_TASK_SET);
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
	if (!(s & HAS_VALUE)) {
		b->rx_end |= RX_DONE;
		return AK_EPIPE;
	}
	ak__copy_value(out, (const void *)b->value, b->elem_size);
	b->rx_end |= RX_DONE | RX_TAKEN;
	return 0;
}

AK_EXPORT int ak_oneshot_try_recv(struct ak_oneshot_rx *rx, void *out)
{
	struct oneshot *b = of_rx(rx);

	if (!b || (!out && b->elem_size > 0))
		return AK_EINVAL;
	if (b->rx_end & RX_DONE)
		return AK_EPIPE;
	/* acquire: pairs with the sender's release CAS in tx_finish(). */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (s & COMPLETE)
		return rx_take(b, s, out);
	if (s & CLOSED) {
		b->rx_end |= RX_DONE;
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
	return (b->rx_end & RX_DONE) != 0;
}

/* tokio's Receiver::is_empty: no value waits to be received (none sent
 * yet, the sender gone without one, or the value already taken). */
AK_EXPORT int ak_oneshot_rx_is_empty(const struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);
	if (!b)
		return AK_EINVAL;
	if (b->rx_end & RX_DONE)
		return 1;
	/* acquire: pairs with the sender's release CAS in tx_finish(). */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	return (s & (COMPLETE | HAS_VALUE)) != (COMPLETE | HAS_VALUE);
}

/* Sets CLOSED, and RX_GONE with it when gone: in one CAS that takes the
 * sender's closed() waker, which it then wakes (a waker registered after
 * an earlier close is left for chan_free).  s is an acquire look at the
 * state; returns the state the CAS replaced. */
static uint64_t rx_set_closed(struct oneshot *b, uint64_t s, uint64_t gone)
{
	struct ak_waker w = { NULL, NULL };

	for (;;) {
		uint64_t want = s | CLOSED | gone;
		if (want == s)
			break;
		/* acq_rel: the release pairs with the sender's acquire loads of
		 * CLOSED (ak_oneshot_tx_is_closed, closed_poll, tx_finish) and
		 * publishes this side's writes to whichever side frees; the
		 * acquire pairs with the closed operation's registering RMW and
		 * the sender's GONE bit (side_release). */
		if (ak__waker_cell_take(&b->tx_task, &b->state, (s & CLOSED) ? 0 : TX_TASK_SET, &s,
		                        want, &w))
			break;
	}
	ak__waker_wake_kept(&w);
	return s;
}

AK_EXPORT int ak_oneshot_rx_close(struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);

	if (!b)
		return AK_EINVAL;
	/* acquire: as rx_set_closed's CAS. */
	(void)rx_set_closed(b, ak__load(&b->state, AK__ACQUIRE), 0);
	return 0;
}

/* ak_oneshot_rx_drop() but for the last of the receiver's side, with the
 * sender's gone and nothing but the block to free.  s is its acquire
 * look. */
static __attribute__((noinline)) int rx_drop_rest(struct oneshot *b, uint64_t s)
{
	b->rx_end |= RX_DROPPED;
	int last = --b->rx_count == 0;
	if (last && (s & TX_GONE)) {
		chan_free(b, s);
		return 0;
	}
	/* The last gives the side up in the same CAS. */
	s = rx_set_closed(b, s, last ? RX_GONE : 0u);
	if (last && (s & TX_GONE) && !(s & RX_GONE))
		chan_free(b, ak__load(&b->state, AK__RELAXED));
	return 0;
}

/*
 * The common drop first, a leaf: the handle is the last of the receiver's
 * side (no recv parked), the sender's side is gone (TX_GONE: every write
 * of it visible, s final), no waker is registered and no value is left to
 * drop (the value was taken, or none was sent): the channel goes to the
 * block cache, with no write to it.  The rest in rx_drop_rest.
 */
AK_EXPORT void ak_oneshot_rx_drop(struct ak_oneshot_rx *rx)
{
	struct oneshot *b = of_rx(rx);

	if (!b)
		return;
	/* acquire: pairs with the sender's release RMW that set TX_GONE (in
	 * tx_finish or side_release): its side is finished and every write
	 * of it visible, so the last of the receiver's side frees alone, and
	 * s is final. */
	uint64_t s = ak__load(&b->state, AK__ACQUIRE);
	if (__builtin_expect(b->rx_count == 1 &&
	                     (s & (TX_GONE | RX_TASK_SET | TX_TASK_SET)) == TX_GONE &&
	                     ((b->rx_end & RX_TAKEN) || !(s & HAS_VALUE)),
	                     1)) {
		ak__free_sized(b, sizeof(*b) + b->elem_size);
		return;
	}
	rx_drop_rest(b, s);
}

/* ---- the recv operation ---------------------------------------------------------- */

static struct recv_priv *recv_priv_of(struct ak_future *f)
{
	return (struct recv_priv *)(void *)&((struct ak_oneshot_recv_op *)(void *)f)->private_;
}

static inline __attribute__((always_inline)) int recv_end(struct recv_priv *p, int rc,
                                                          struct ak_context *cx)
{
	if (rc != AK_ENOMEM && cx)
		ak__coop_spend(cx);
	if (p->parked) {
		p->parked = 0;
		rx_put(p->b);      /* may free the channel: last */
	}
	if (p->owns)
		ak_oneshot_rx_drop((struct ak_oneshot_rx *)(void *)p->b);
	return rc;
}

/* recv_poll() with the budget spent, or the receiver dropped or done. */
static __attribute__((noinline)) int recv_rare(struct recv_priv *p, struct ak_context *cx)
{
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	return recv_end(p, AK_EPIPE, cx);
}

/* recv_poll() with no value to take in s (its acquire look), past
 * recv_wait's case: a waker kept already (a poll again), the sender done
 * or the receiver closed, a value of another size than the common ones;
 * or recv_wait's registration, in how: RACED (s is the registering RMW's
 * look, with COMPLETE) or NOMEM (nothing registered).  Registers and
 * parks, or ends. */
enum { LOOK, RACED, NOMEM };

static __attribute__((noinline)) int recv_wait_rest(struct recv_priv *p, struct ak_context *cx,
                                                    uint64_t s, int how)
{
	struct oneshot *b = p->b;

	if (how == NOMEM)
		return recv_end(p, AK_ENOMEM, cx);
	if (how == LOOK && !(s & (COMPLETE | CLOSED))) {
		/* Registers, and looks at COMPLETE in the registering RMW: a
		 * send that comes after it takes the waker and wakes it. */
		if (ak__waker_cell_register(&b->rx_task, &b->state, RX_TASK_SET, &s, cx))
			return recv_end(p, AK_ENOMEM, cx);
		if (!(s & (COMPLETE | CLOSED))) {
			if (!p->parked) {
				p->parked = 1;
				b->rx_count++;
			}
			return AK_PENDING;
		}
	}
	if (s & COMPLETE)
		return recv_end(p, rx_take(b, s, p->out), cx);
	b->rx_end |= RX_DONE;    /* closed by this side */
	return recv_end(p, AK_EPIPE, cx);
}

/* recv_poll() with neither a value, COMPLETE, CLOSED nor a kept waker in
 * its acquire look s (a first poll): parks and registers.  Parked first,
 * so that the clone's call is the last thing before the registering RMW
 * and only p, cx and the channel live across it (three saved registers,
 * no stack); recv_end lets go of the park if the registration fails or
 * races the send (recv_wait_rest, a tail call).  Only this side sets RX_TASK_SET: clear in the look, it is
 * clear still.  An operation parked already goes the general way. */
static __attribute__((noinline)) int recv_wait(struct recv_priv *p, struct ak_context *cx,
                                               uint64_t s)
{
	if (__builtin_expect(p->parked, 0))
		return recv_wait_rest(p, cx, s, LOOK);
	struct oneshot *b = p->b;
	p->parked = 1;
	b->rx_count++;
	/* Looks at COMPLETE in the registering RMW: a send that comes after
	 * it takes the waker and wakes it. */
	if (__builtin_expect(ak__waker_cell_register_clear(&b->rx_task, &b->state, RX_TASK_SET,
	                                                   AK__WAKER_GEN, &s, cx),
	                     0))
		return recv_wait_rest(p, cx, 0, NOMEM);
	if (__builtin_expect(s & (COMPLETE | CLOSED), 0))
		return recv_wait_rest(p, cx, s, RACED);
	return AK_PENDING;
}

/* The first look of both polls below: 1 with the value copied to p->out
 * (*s the state it was taken in), else 0 with *rc the tail call's. */
static inline __attribute__((always_inline)) int recv_look(struct recv_priv *p, struct ak_context *cx,
                                                           int32_t budget, uint64_t *s, int *rc)
{
	struct oneshot *b = p->b;
	if (__builtin_expect(budget == 0 || b->rx_end != 0, 0)) {
		*rc = recv_rare(p, cx);
		return 0;
	}
	/* acquire: pairs with the sender's release CAS in tx_finish(), and
	 * with its GONE bit's (tx_finish, side_release): *s is final then. */
	*s = ak__load(&b->state, AK__ACQUIRE);
	if (!(*s & HAS_VALUE)) {
		if (__builtin_expect(*s & (COMPLETE | CLOSED | RX_TASK_SET), 0))
			*rc = recv_wait_rest(p, cx, *s, LOOK);
		else
			*rc = recv_wait(p, cx, *s);
		return 0;
	}
	if (!ak__copy_small(p->out, (const void *)b->value, b->elem_size)) {
		*rc = recv_wait_rest(p, cx, *s, LOOK);
		return 0;
	}
	return 1;
}

/*
 * The value sent (HAS_VALUE, which comes with COMPLETE) is taken here, in a
 * leaf: rx_end clear means the handle is alive, so a parked recv's count is
 * never the last of the receiver's side (the handle holds one) and goes
 * with a plain decrement.  Anything else goes on in recv_look's tail call
 * (recv_rare, recv_wait or recv_wait_rest).  A waker still registered (a
 * registration that raced the send) stays for chan_free, as in recv_wait_rest.
 */
static int recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;
	int32_t budget = cx->budget;
	uint64_t s;
	int rc;

	if (!recv_look(p, cx, budget, &s, &rc))
		return rc;
	b->rx_end = RX_DONE | RX_TAKEN;
	/* ak__coop_spend(), from the look above (the copy's store may alias
	 * anything: no second load). */
	if (budget > 0)
		cx->budget = budget - 1;
	if (p->parked) {
		p->parked = 0;
		b->rx_count--;
	}
	return 0;
}

/* ak__free_sized() of a channel past the block cache's keep; 0, for a
 * tail call. */
static __attribute__((noinline)) int block_free(struct oneshot *b, size_t size)
{
	ak__free_sized(b, size);
	return 0;
}

/*
 * recv_poll() of a recv that owns the receiver, and so knows the side's
 * count (the handle, and its own park) and that no other receive ran: a
 * value taken from a sender whose side is gone, no waker left registered,
 * frees the channel in the same pass with no write to it.  rx_end as in
 * recv_poll() (a receive made before the handle was given over may have
 * ended it); anything else ends in recv_end(), which drops the receiver.
 */
static int recv_consume_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;
	int32_t budget = cx->budget;
	uint64_t s;
	int rc;

	if (!recv_look(p, cx, budget, &s, &rc))
		return rc;
	if (budget > 0)
		cx->budget = budget - 1;
	if (__builtin_expect((s & (TX_GONE | RX_TASK_SET | TX_TASK_SET)) == TX_GONE, 1)) {
		size_t size = sizeof(*b) + b->elem_size;
		if (__builtin_expect(ak__free_cached(b, size), 1))
			return 0;
		return block_free(b, size);
	}
	b->rx_end = RX_DONE | RX_TAKEN;
	b->rx_count -= (uint32_t)p->parked;
	p->parked = 0;
	return rx_drop_rest(b, s);
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *p = recv_priv_of(f);
	struct oneshot *b = p->b;

	if (!p->parked)
		goto out;
	/* A waker the sender took is its to wake: a spurious wake.  Nothing
	 * is consumed: the value stays for a later recv, or goes with the
	 * receiver a consuming recv owns (dropped below, as tokio's). */
	ak__waker_cell_unregister(&b->rx_task, &b->state, RX_TASK_SET);
	p->parked = 0;
	rx_put(b);
out:
	if (p->owns)
		ak_oneshot_rx_drop((struct ak_oneshot_rx *)(void *)b);
}

static const struct ak_future_vtable recv_vtable = { recv_poll, recv_cancel };
static const struct ak_future_vtable recv_consume_vtable = { recv_consume_poll, recv_cancel };

static int recv_bind(struct ak_oneshot_recv_op *op, struct ak_oneshot_rx *rx, void *out,
                     const struct ak_future_vtable *vtable)
{
	if (!op || !rx || (!out && of_rx(rx)->elem_size > 0))
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, vtable);
	if (rc != 0)
		return rc;
	struct recv_priv *p = recv_priv_of(&op->future);
	p->b = of_rx(rx);
	p->out = out;
	p->parked = 0;
	p->owns = vtable == &recv_consume_vtable;
	return 0;
}

AK_EXPORT int ak_oneshot_recv_init(struct ak_oneshot_recv_op *op, struct ak_oneshot_rx *rx,
                                   void *out)
{
	return recv_bind(op, rx, out, &recv_vtable);
}

AK_EXPORT int ak_oneshot_recv_consume_init(struct ak_oneshot_recv_op *op,
                                           struct ak_oneshot_rx *rx, void *out)
{
	return recv_bind(op, rx, out, &recv_consume_vtable);
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
