/*
 * chan/mpsc.c: the mpsc channel, bounded and unbounded.  See ak_mpsc(3).
 *
 * Bounded: the capacity is a batch semaphore (core/sem.h: a CAS while
 * nobody waits, FIFO hand-over when someone does).  A sender holding a
 * permit claims the next ring index with one fetch_add on tail and writes
 * the slot; each slot carries a sequence number (index when free, index+1
 * when written, index+ring once read), so the single receiver needs no
 * lock: it reads the head slot when its sequence says written, frees it
 * and returns the permit.  The ring is the capacity rounded up to a power
 * of two: permits bound the slots in use, so the slot a sender claims was
 * always read already (one look at its sequence confirms it).
 *
 * Unbounded: an atomic word counts unreceived values (count << 1 | CLOSED)
 * and replaces the semaphore; values live in linked blocks of 32 slots.  A
 * sender claims a slot with fetch_add on the tail block's claim counter;
 * the one that overflows a block links the next one (a recycled spare or a
 * new allocation) and every sender helps move tail_blk along.  Blocks the
 * receiver has finished are retired; they are recycled (one spare) or freed
 * once no sender is inside the block list (the `active` count: a sender
 * that enters after the receiver saw it at zero loads a tail_blk already
 * past every retired block).  So memory reached in a burst is returned.
 *
 * The receiver's waker: one slot and the word rx_state, in the manner of
 * tokio's AtomicWaker (see rx_notify()).  The receiver stores its clone,
 * raises RX_PARKED (seq_cst) and looks at the queue again (seq_cst loads);
 * a sender publishes (seq_cst) and then looks at rx_state (seq_cst): of
 * the two, one sees the other.  A sender that finds RX_PARKED takes the
 * clone with one CAS and wakes it; a receiver that parks again with a
 * waker that will_wake the one still stored keeps it (no clone, no RMW),
 * and a completed receive whose clone a sender took makes no RMW either.
 *
 * Slots back on a closed channel: recv reports AK_EPIPE only once every
 * slot is back, so each path that returns one (a permit dropped, a grant
 * given back by a cancel or a failed poll) calls slots_back() after it,
 * which wakes a parked receiver.  A grant first seen by a poll after the
 * close is provisional and goes back too: the poll fails with AK_EPIPE.
 *
 * References: refs counts the sender group (while senders > 0), the
 * receiver, each weak handle and each parked send, reserve or closed
 * operation.  The receiver's reference also covers its pending receives
 * (a plain count on the receiver's side, rx_holds).  A permit holds a
 * sender count.  The last reference frees the channel, dropping what is
 * still queued with the drop hook.
 */
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/mpsc.h>

#include "../core/core.h"
#include "../core/notify.h"
#include "../core/sem.h"

/* The handles are markers inside the channel; a handle pointer is the
 * channel plus the marker's offset. */
struct ak_mpsc_tx {
	char unused_;
};
struct ak_mpsc_rx {
	char unused_;
};
struct ak_mpsc_weak {
	char unused_;
};

#define CLOSED_TX 1u   /* every sender gone */
#define CLOSED_RX 2u   /* the receiver closed or went */

#define BLK_SLOTS 32u
#define U_CLOSED ((uint64_t)1)
#define U_ONE ((uint64_t)2)

#define SPIN_LIMIT 128
/* Blocking forms try this many times (with a pause between) before they
 * park the thread: a futex wake across CPUs costs about 10 us here. */
#define BLOCK_SPINS 256

struct blk {
	ak__atomic(uint64_t) ready;        /* bit i: slot i written */
	ak__atomic(uint32_t) claim;        /* slots claimed; may pass BLK_SLOTS */
	ak__atomic(struct blk *) next;
	struct blk *retired_next;          /* receiver only */
	uint64_t pad_;
	/* BLK_SLOTS * stride bytes of values follow */
};

struct chan {
	/* read-mostly */
	size_t cap;                        /* 0: unbounded */
	size_t ring;                       /* bounded: a power of two >= cap */
	size_t elem_size;
	size_t stride;                     /* bytes per slot */
	struct ak_mpsc_hooks hooks;
	unsigned char *slots;              /* bounded ring */
	ak__atomic(uint32_t) state;        /* CLOSED_TX | CLOSED_RX */
	ak__atomic(uint64_t) refs;
	ak__atomic(uint64_t) senders;
	struct ak__sem sem;                /* bounded capacity */
	struct ak__notify closed;          /* senders' closed() */
	struct ak_waker rx_waker;          /* see rx_state */
	ak__atomic(uint32_t) rx_state;     /* 0, RX_PARKED, RX_WAKING */
	ak__atomic(uint32_t) closed_used;  /* a closed() op was ever bound */
	struct ak_mpsc_tx tx_h;
	struct ak_mpsc_rx rx_h;
	struct ak_mpsc_weak weak_h;
	char pad0_[64];
	/* senders' line */
	ak__atomic(uint64_t) tail;         /* bounded: next index to claim */
	ak__atomic(struct blk *) tail_blk; /* unbounded */
	ak__atomic(uint64_t) ucount;       /* unbounded: unreceived << 1 | CLOSED */
	ak__atomic(uint64_t) active;       /* unbounded: senders in the block list */
	ak__atomic(struct blk *) spare;    /* unbounded: one recycled block */
	char pad1_[64];
	/* receiver's line */
	ak__atomic(uint64_t) head;         /* bounded: next index to read */
	struct blk *head_blk;              /* unbounded, receiver only */
	uint32_t head_i;
	struct blk *retired;
	uint64_t rx_holds;                 /* pending receive ops (recv_pending) */
	uint32_t rx_gone;                  /* ak_mpsc_rx_drop ran */
	char pad2_[64];
};

#define CHAN_OF(h, field) ((struct chan *)(void *)((char *)(h) - offsetof(struct chan, field)))

static struct chan *tx_chan(const struct ak_mpsc_tx *tx)
{
	return CHAN_OF(tx, tx_h);
}
static struct chan *rx_chan(const struct ak_mpsc_rx *rx)
{
	return CHAN_OF(rx, rx_h);
}
static struct chan *weak_chan(const struct ak_mpsc_weak *w)
{
	return CHAN_OF(w, weak_h);
}

static int bounded(const struct chan *c)
{
	return c->cap != 0;
}

/* ---- slots ------------------------------------------------------------------ */

static ak__atomic(uint64_t) *slot_seq(struct chan *c, uint64_t i)
{
	return (ak__atomic(uint64_t) *)(void *)(c->slots + (i & (c->ring - 1)) * c->stride);
}

static unsigned char *slot_data(struct chan *c, uint64_t i)
{
	return c->slots + (i & (c->ring - 1)) * c->stride + sizeof(uint64_t);
}

static unsigned char *blk_data(struct chan *c, struct blk *b, uint32_t i)
{
	return (unsigned char *)(b + 1) + (size_t)i * c->stride;
}

static void copy_in(struct chan *c, void *dst, const void *src)
{
	ak__copy_value(dst, src, c->elem_size);
}

/* Where pop() puts a value it discards (with the drop hook), and where it
 * puts a value of size 0. */
static unsigned char drop_mark, void_mark;
#define DROP ((void *)&drop_mark)

/* Hands a value to the receiver (out) or discards it (DROP: drop hook). */
static void copy_out(struct chan *c, void *out, void *src)
{
	if (out == DROP) {
		if (c->hooks.drop)
			c->hooks.drop(src, c->hooks.arg);
	} else {
		ak__copy_value(out, src, c->elem_size);
	}
}

/* ---- the receiver's waker ----------------------------------------------------- */

/* rx_state: 0, RX_PARKED (rx_waker holds the receiver's clone) or
 * RX_WAKING (a waker won it and is copying it out).  Only the receiver
 * writes rx_waker, and only while rx_state is 0 (seen with acquire) or
 * after its own CAS took RX_PARKED back; a waker reads it only between its
 * CAS from RX_PARKED to RX_WAKING and its release store of 0.  Whoever
 * moves RX_PARKED away owns the clone: a waker wakes it, the receiver
 * drops it.  Once a waker took it, rx_waker holds stale bits that nothing
 * drops (chan_free() looks at rx_state). */
#define RX_PARKED 1u
#define RX_WAKING 2u

static void rx_notify(struct chan *c)
{
	/* seq_cst: comes after the caller's seq_cst RMW (a bounded claim on
	 * tail, an unbounded ready bit, a close, slots back); pairs with the
	 * seq_cst store of RX_PARKED in rx_register(), after which the
	 * receiver looks at the queue again (tail, ready bits, state): of the
	 * two looks, one sees the other's write. */
	uint32_t s = ak__load(&c->rx_state, AK__SEQ_CST);
	if (s != RX_PARKED)
		return;
	/* acquire: pairs with the (seq_cst, so release) store of RX_PARKED:
	 * the waker the receiver stored before it is visible.  One CAS wins. */
	if (!ak__cas(&c->rx_state, &s, RX_WAKING, AK__ACQUIRE, AK__RELAXED))
		return;
	struct ak_waker w = c->rx_waker;
	/* release: our read of rx_waker comes before the receiver's next
	 * write of it (its acquire loads of rx_state in rx_register()). */
	ak__store(&c->rx_state, 0, AK__RELEASE);
	ak__waker_wake_kept(&w);
}

/* Leaves a clone of cx's waker stored with RX_PARKED up: 0 or AK_ENOMEM. */
static int rx_register(struct chan *c, struct ak_context *cx)
{
	/* acquire: pairs with the release store of 0 in rx_notify(): a waker
	 * that took our last clone is done reading rx_waker. */
	uint32_t s = ak__load(&c->rx_state, AK__ACQUIRE);
	if (s == RX_PARKED) {
		/* Our registration still stands, and rx_waker is ours: a waker
		 * may be copying it now, never writing it.  One that will_wake
		 * the same task is kept: no clone, no RMW (ak_waker(3)).  If a
		 * waker takes it meanwhile, it wakes us: the caller looks at the
		 * queue again after this either way. */
		if (ak_waker_will_wake(&c->rx_waker, &cx->waker))
			return 0;
		/* acquire for a failure: a waker took the clone; if it is done
		 * (0), this pairs with its release store of 0, as the load
		 * above (success needs no order: rx_waker is our write). */
		if (ak__cas(&c->rx_state, &s, 0, AK__ACQUIRE, AK__ACQUIRE)) {
			ak__waker_drop_kept(&c->rx_waker);
			s = 0;
		}
	}
	if (s == RX_WAKING) {
		/* A waker is taking our previous clone and will wake that one;
		 * rx_waker is not ours to write until it is done (a few
		 * instructions).  Have this task polled again instead. */
		ak_waker_wake_by_ref(&cx->waker);
		return 0;
	}
	struct ak_waker clone;
	int rc = ak__waker_keep(&cx->waker, &clone);
	if (rc)
		return rc;
	c->rx_waker = clone;         /* what was there was stale or dropped */
	/* seq_cst: pairs with the seq_cst load in rx_notify() (see there);
	 * release for the waker written above. */
	ak__store(&c->rx_state, RX_PARKED, AK__SEQ_CST);
	return 0;
}

/* Takes back the stored clone (the operation completed or was cancelled),
 * unless a waker took it: it wakes it then (a spurious wake at worst). */
static void rx_unregister(struct chan *c)
{
	/* relaxed: only the receiver raises RX_PARKED; anything else means a
	 * waker took the clone. */
	uint32_t s = ak__load(&c->rx_state, AK__RELAXED);
	if (s != RX_PARKED)
		return;
	/* relaxed: rx_waker is our own write. */
	if (ak__cas(&c->rx_state, &s, 0, AK__RELAXED, AK__RELAXED))
		ak__waker_drop_kept(&c->rx_waker);
}

/* The channel is being freed: drop the clone if one is still stored. */
static void rx_waker_free(struct chan *c)
{
	if (ak__load(&c->rx_state, AK__RELAXED) == RX_PARKED)
		ak__waker_drop_kept(&c->rx_waker);
}

/* ---- unbounded blocks --------------------------------------------------------- */

/* The sizes their blocks were allocated with (ak__free_sized). */
static size_t blk_bytes(const struct chan *c)
{
	return sizeof(struct blk) + BLK_SLOTS * c->stride;
}

static size_t chan_bytes(const struct chan *c)
{
	return sizeof(struct chan) + c->ring * c->stride;   /* ring: 0 unbounded */
}

static struct blk *blk_new(struct chan *c)
{
	/* acquire: pairs with the release store in reclaim(). */
	struct blk *b = ak__xchg(&c->spare, NULL, AK__ACQUIRE);
	if (!b) {
		b = ak__alloc(blk_bytes(c));
		if (!b)
			return NULL;
	}
	ak__init(&b->ready, 0);
	ak__init(&b->claim, 0);
	ak__init(&b->next, NULL);
	b->retired_next = NULL;
	return b;
}

/* The receiver: recycle or free the retired blocks once no sender can
 * still reach them. */
static void reclaim(struct chan *c)
{
	if (!c->retired)
		return;
	/* seq_cst: pairs with the seq_cst increment in push_unbounded(); our
	 * seq_cst CAS on tail_blk came before (see the top of the file). */
	if (ak__load(&c->active, AK__SEQ_CST) != 0)
		return;
	while (c->retired) {
		struct blk *b = c->retired;
		c->retired = b->retired_next;
		if (ak__load(&c->spare, AK__RELAXED) == NULL) {
			/* release: pairs with the acquire exchange in blk_new(). */
			ak__store(&c->spare, b, AK__RELEASE);
		} else {
			ak__free_sized(b, blk_bytes(c));
		}
	}
}

/* ---- publishing a value (the sender holds a permit or a count) ----------------- */

static void push_bounded(struct chan *c, const void *value)
{
	/* seq_cst: the handshake with a parking receiver is on tail, not on
	 * the slot: the receiver raises RX_PARKED and then looks at tail
	 * (seq_cst, in_flight() in recv_poll()); either it sees this claim, or
	 * rx_notify's seq_cst look at rx_state, after this RMW, sees
	 * RX_PARKED.  So the publication below needs no StoreLoad order. */
	uint64_t t = ak__fetch_add(&c->tail, 1, AK__SEQ_CST);
	ak__atomic(uint64_t) *seq = slot_seq(c, t);
	/* acquire: pairs with the receiver's release store of t (slot read);
	 * the permit we hold means it was read, so this does not loop. */
	while (ak__load(seq, AK__ACQUIRE) != t)
		ak__cpu_relax();
	copy_in(c, slot_data(c, t), value);
	/* release: publishes the value to the acquire load in pop_bounded(). */
	ak__store(seq, t + 1, AK__RELEASE);
	rx_notify(c);
}

/* The count is already taken; 0, or AK_ENOMEM with the count given back. */
static int push_unbounded(struct chan *c, const void *value)
{
	int rc = 0;
	/* seq_cst: pairs with the seq_cst load in reclaim(). */
	ak__fetch_add(&c->active, 1, AK__SEQ_CST);
	for (;;) {
		/* seq_cst: after the increment of active (see reclaim()). */
		struct blk *b = ak__load(&c->tail_blk, AK__SEQ_CST);
		uint32_t i = ak__fetch_add(&b->claim, 1, AK__RELAXED);
		if (i < BLK_SLOTS) {
			copy_in(c, blk_data(c, b, i), value);
			/* seq_cst: publishes the value to pop_unbounded()'s
			 * seq_cst load, before rx_notify's look at rx_state. */
			ak__fetch_or(&b->ready, (uint64_t)1 << i, AK__SEQ_CST);
			break;
		}
		/* acquire: pairs with the release CAS that linked it. */
		struct blk *nx = ak__load(&b->next, AK__ACQUIRE);
		if (!nx) {
			struct blk *n = blk_new(c);
			if (!n) {
				rc = AK_ENOMEM;
				break;
			}
			struct blk *expect = NULL;
			/* release: the new block's init is visible to whoever
			 * loads next (acquire above and in pop_unbounded()). */
			if (ak__cas(&b->next, &expect, n, AK__ACQ_REL, AK__ACQUIRE)) {
				nx = n;
			} else {
				ak__free_sized(n, blk_bytes(c));   /* never published */
				nx = expect;
			}
		}
		struct blk *cur = b;
		/* seq_cst: tail_blk only moves forward; pairs with the seq_cst
		 * loads of tail_blk (senders) and reclaim()'s argument. */
		ak__cas(&c->tail_blk, &cur, nx, AK__SEQ_CST, AK__SEQ_CST);
	}
	/* release: our accesses to blocks come before the receiver's seq_cst
	 * load that sees the count back at zero. */
	ak__fetch_sub(&c->active, 1, AK__RELEASE);
	if (rc) {
		/* release: pairs with the receiver's acquire load of ucount. */
		ak__fetch_sub(&c->ucount, U_ONE, AK__RELEASE);
	}
	rx_notify(c);
	return rc;
}

/* Unbounded "permit": one more unreceived value unless closed. */
static int ucount_take(struct chan *c)
{
	uint64_t w = ak__load(&c->ucount, AK__RELAXED);
	for (;;) {
		if (w & U_CLOSED)
			return AK_EPIPE;
		if (ak__cas_weak(&c->ucount, &w, w + U_ONE, AK__RELAXED, AK__RELAXED))
			return 0;
	}
}

/* ---- taking values (the receiver) ------------------------------------------------ */

/* Takes the head value h, which is ready. */
static void take_bounded(struct chan *c, void *out, uint64_t h, ak__atomic(uint64_t) *seq)
{
	copy_out(c, out, slot_data(c, h));
	/* release: pairs with the acquire spin in push_bounded(). */
	ak__store(seq, h + c->ring, AK__RELEASE);
	ak__store(&c->head, h + 1, AK__RELAXED);
	ak__sem_release(&c->sem, 1);
}

/* 0 with the head value taken (out DROP: dropped), AK_EAGAIN if none
 * ready.  The look alone stays small enough to inline: a receive looks
 * at an empty channel twice before it parks. */
static inline int pop_bounded(struct chan *c, void *out)
{
	uint64_t h = ak__load(&c->head, AK__RELAXED);
	ak__atomic(uint64_t) *seq = slot_seq(c, h);
	/* acquire: pairs with the release store in push_bounded(). */
	if (ak__load(seq, AK__ACQUIRE) != h + 1)
		return AK_EAGAIN;
	take_bounded(c, out, h, seq);
	return 0;
}

static int pop_unbounded(struct chan *c, void *out)
{
	struct blk *b = c->head_blk;
	if (c->head_i == BLK_SLOTS) {
		/* seq_cst: pairs with the release CAS that linked it. */
		struct blk *nx = ak__load(&b->next, AK__SEQ_CST);
		if (!nx) {
			reclaim(c);
			return AK_EAGAIN;
		}
		/* No sender may keep finding the finished block: tail_blk is
		 * moved past it before it is retired (see reclaim()). */
		struct blk *cur = b;
		/* seq_cst: before reclaim()'s seq_cst load of active. */
		ak__cas(&c->tail_blk, &cur, nx, AK__SEQ_CST, AK__SEQ_CST);
		b->retired_next = c->retired;
		c->retired = b;
		c->head_blk = b = nx;
		c->head_i = 0;
		reclaim(c);
	}
	/* seq_cst: pairs with the seq_cst fetch_or in push_unbounded(). */
	uint64_t ready = ak__load(&b->ready, AK__SEQ_CST);
	if (!(ready & ((uint64_t)1 << c->head_i))) {
		reclaim(c);    /* blocks retired while a sender was inside */
		return AK_EAGAIN;
	}
	copy_out(c, out, blk_data(c, b, c->head_i));
	c->head_i++;
	/* release: the slot is read before the count says so. */
	ak__fetch_sub(&c->ucount, U_ONE, AK__RELEASE);
	return 0;
}

static int pop(struct chan *c, void *out)
{
	return bounded(c) ? pop_bounded(c, out) : pop_unbounded(c, out);
}

/* A value is claimed (counted) but not yet readable at the head. */
static int in_flight(struct chan *c)
{
	/* seq_cst: pairs with the seq_cst claim in push_bounded() (the
	 * receiver's half of the handshake there). */
	if (bounded(c))
		return ak__load(&c->tail, AK__SEQ_CST) != ak__load(&c->head, AK__RELAXED);
	/* acquire: pairs with the release decrements of ucount. */
	return (ak__load(&c->ucount, AK__ACQUIRE) >> 1) != 0;
}

/* Closed, drained and no permit outstanding: recv reports AK_EPIPE. */
static int finished(struct chan *c)
{
	if (bounded(c)) {
		/* acquire: pairs with the release fetch_or in close_side(), made
		 * after the semaphore was closed: the word read below is at
		 * least the closed one, and from then on only permits coming
		 * back raise it.  seq_cst: against rx_notify() after the close
		 * and the RMW in slots_back() (the receiver raised RX_PARKED
		 * before this look). */
		if (!(ak__load(&c->state, AK__SEQ_CST) & (CLOSED_TX | CLOSED_RX)))
			return 0;
		return ak__sem_available(&c->sem) == c->cap;
	}
	/* seq_cst: pairs with the seq_cst fetch_or in close_side() and the
	 * release decrements of ucount. */
	uint64_t w = ak__load(&c->ucount, AK__SEQ_CST);
	return (w & U_CLOSED) && (w >> 1) == 0;
}

/* Slots went back to the semaphore (the caller returned them just before):
 * on a closed channel the receiver may be parked waiting for exactly that. */
static void slots_back(struct chan *c)
{
	/* seq_cst RMW after the semaphore's release of the slots; pairs with
	 * the seq_cst load of state in finished(), which the receiver makes
	 * after raising RX_PARKED: if that load reads this RMW (or later) it
	 * sees the slots back; if it came first, rx_notify's seq_cst look
	 * sees RX_PARKED raised. */
	if (ak__fetch_or(&c->state, 0, AK__SEQ_CST))
		rx_notify(c);
}

/* ---- lifetime ---------------------------------------------------------------------- */

static void chan_free(struct chan *c)
{
	while (pop(c, DROP) == 0)
		;
	rx_waker_free(c);
	if (bounded(c))
		ak__sem_destroy(&c->sem);
	ak__notify_destroy(&c->closed);
	if (!bounded(c)) {
		struct blk *b = c->head_blk, *n;
		for (; b; b = n) {
			n = ak__load(&b->next, AK__RELAXED);
			ak__free_sized(b, blk_bytes(c));
		}
		for (b = c->retired; b; b = n) {
			n = b->retired_next;
			ak__free_sized(b, blk_bytes(c));
		}
		ak__free_sized(ak__load(&c->spare, AK__RELAXED), blk_bytes(c));
	}
	ak__free_sized(c, chan_bytes(c));
}

static void chan_get(struct chan *c)
{
	ak__fetch_add(&c->refs, 1, AK__RELAXED);
}

static void chan_put(struct chan *c)
{
	/* acquire: pairs with the release of every other put (their
	 * fetch_subs, a release sequence): at 1 the reference is the last one
	 * and nothing can take another (each comes from a live one), so it
	 * frees with no RMW. */
	if (ak__load(&c->refs, AK__ACQUIRE) == 1) {
		chan_free(c);
		return;
	}
	/* acq_rel: the last put sees every write made before the others. */
	if (ak__fetch_sub(&c->refs, 1, AK__ACQ_REL) == 1)
		chan_free(c);
}

/* A pending receive keeps the receiver's reference on the channel alive,
 * so that dropping the last handle under it is safe.  Receiver calls run
 * one at a time (ak_mpsc(3)), so a plain count does it, with no RMW per
 * park: the reference goes once the receiver is gone and no receive is
 * pending (rx_put). */
static void rx_put(struct chan *c)
{
	if (c->rx_gone && c->rx_holds == 0)
		chan_put(c);
}

static void close_side(struct chan *c, uint32_t bit)
{
	/* acquire: pairs with the fetch_or below; a state already closed
	 * means the semaphore (or ucount) was closed before it. */
	if (ak__load(&c->state, AK__ACQUIRE) == 0) {
		if (bounded(c))
			ak__sem_close(&c->sem);
		else      /* seq_cst: pairs with the seq_cst load in finished() */
			ak__fetch_or(&c->ucount, U_CLOSED, AK__SEQ_CST);
	}
	/* seq_cst: pairs with the loads in finished() and the queries (and
	 * comes before rx_notify's look at rx_state and the look at
	 * closed_used below). */
	uint32_t old = ak__fetch_or(&c->state, bit, AK__SEQ_CST);
	/* seq_cst: pairs with the store in ak_mpsc_closed_init(): an
	 * operation bound after this load sees the state at its poll. */
	if ((bit & CLOSED_RX) && !(old & CLOSED_RX) && ak__load(&c->closed_used, AK__SEQ_CST))
		ak__notify_waiters(&c->closed);
	rx_notify(c);
}

static void sender_put(struct chan *c)
{
	/* acq_rel: the last sender's close comes after every send. */
	if (ak__fetch_sub(&c->senders, 1, AK__ACQ_REL) == 1) {
		close_side(c, CLOSED_TX);
		chan_put(c);
	}
}

/* A new sender count from a live one; 0 or AK_EPIPE when none is left. */
static int sender_get_if_live(struct chan *c)
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

static int chan_new(size_t cap, size_t elem_size, const struct ak_mpsc_hooks *hooks,
                    struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	if (!tx || !rx || elem_size > ((size_t)1 << 40))
		return AK_EINVAL;
	size_t ring = 0, stride, bytes = sizeof(struct chan);
	if (cap) {
		if (cap > AK_MPSC_MAX_CAPACITY)
			return AK_EINVAL;
		ring = 1;
		while (ring < cap)
			ring <<= 1;
		stride = sizeof(uint64_t) + round8(elem_size);
		size_t ringbytes;
		if (__builtin_mul_overflow(ring, stride, &ringbytes) ||
		    __builtin_add_overflow(bytes, ringbytes, &bytes))
			return AK_EINVAL;
	} else {
		stride = round8(elem_size);
	}
	struct chan *c = ak__alloc(bytes);
	if (!c)
		return AK_ENOMEM;
	c->cap = cap;
	c->ring = ring;
	c->elem_size = elem_size;
	c->stride = stride;
	if (hooks)
		c->hooks = *hooks;
	ak__init(&c->state, 0);
	ak__init(&c->refs, 2);           /* the sender group and the receiver */
	ak__init(&c->senders, 1);
	ak__notify_init(&c->closed);
	ak__init(&c->rx_state, 0);
	ak__init(&c->closed_used, 0);
	ak__init(&c->tail, 0);
	ak__init(&c->head, 0);
	ak__init(&c->ucount, 0);
	ak__init(&c->active, 0);
	ak__init(&c->spare, NULL);
	if (cap) {
		c->slots = (unsigned char *)(c + 1);
		for (size_t i = 0; i < ring; i++)
			ak__init(slot_seq(c, i), (uint64_t)i);
		ak__sem_init(&c->sem, cap);
	} else {
		struct blk *b = blk_new(c);
		if (!b) {
			ak__notify_destroy(&c->closed);
			ak__free_sized(c, bytes);
			return AK_ENOMEM;
		}
		ak__init(&c->tail_blk, b);
		c->head_blk = b;
		c->head_i = 0;
	}
	*tx = &c->tx_h;
	*rx = &c->rx_h;
	return 0;
}

AK_EXPORT int ak_mpsc_new(size_t capacity, size_t elem_size, const struct ak_mpsc_hooks *hooks,
                          struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	if (capacity == 0)
		return AK_EINVAL;
	return chan_new(capacity, elem_size, hooks, tx, rx);
}

AK_EXPORT int ak_mpsc_unbounded_new(size_t elem_size, const struct ak_mpsc_hooks *hooks,
                                    struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	return chan_new(0, elem_size, hooks, tx, rx);
}

/* ---- handles ------------------------------------------------------------------------ */

AK_EXPORT int ak_mpsc_tx_clone(struct ak_mpsc_tx *tx, struct ak_mpsc_tx **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	ak__fetch_add(&tx_chan(tx)->senders, 1, AK__RELAXED);
	*out = tx;
	return 0;
}

AK_EXPORT void ak_mpsc_tx_drop(struct ak_mpsc_tx *tx)
{
	if (tx)
		sender_put(tx_chan(tx));
}

AK_EXPORT int ak_mpsc_tx_downgrade(struct ak_mpsc_tx *tx, struct ak_mpsc_weak **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct chan *c = tx_chan(tx);
	chan_get(c);
	*out = &c->weak_h;
	return 0;
}

AK_EXPORT int ak_mpsc_weak_upgrade(struct ak_mpsc_weak *weak, struct ak_mpsc_tx **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	struct chan *c = weak_chan(weak);
	int rc = sender_get_if_live(c);
	if (rc == 0)
		*out = &c->tx_h;
	return rc;
}

AK_EXPORT int ak_mpsc_weak_clone(struct ak_mpsc_weak *weak, struct ak_mpsc_weak **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	chan_get(weak_chan(weak));
	*out = weak;
	return 0;
}

AK_EXPORT void ak_mpsc_weak_drop(struct ak_mpsc_weak *weak)
{
	if (weak)
		chan_put(weak_chan(weak));
}

AK_EXPORT int ak_mpsc_rx_close(struct ak_mpsc_rx *rx)
{
	if (!rx)
		return AK_EINVAL;
	close_side(rx_chan(rx), CLOSED_RX);
	return 0;
}

AK_EXPORT void ak_mpsc_rx_drop(struct ak_mpsc_rx *rx)
{
	if (!rx)
		return;
	struct chan *c = rx_chan(rx);
	close_side(c, CLOSED_RX);
	while (pop(c, DROP) == 0)
		;
	rx_unregister(c);
	c->rx_gone = 1;
	rx_put(c);
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
	return (ak__load(&tx_chan(tx)->state, AK__ACQUIRE) & CLOSED_RX) != 0;
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
	struct chan *c = rx_chan(rx);
	if (!bounded(c))
		return (size_t)(ak__load(&c->ucount, AK__RELAXED) >> 1);
	uint64_t h = ak__load(&c->head, AK__RELAXED);
	uint64_t t = ak__load(&c->tail, AK__RELAXED);
	return t > h ? (size_t)(t - h) : 0;
}

AK_EXPORT size_t ak_mpsc_capacity(const struct ak_mpsc_tx *tx)
{
	if (!tx)
		return 0;
	struct chan *c = tx_chan(tx);
	return bounded(c) ? (size_t)ak__sem_available(&c->sem) : SIZE_MAX;
}

AK_EXPORT size_t ak_mpsc_max_capacity(const struct ak_mpsc_tx *tx)
{
	if (!tx)
		return 0;
	struct chan *c = tx_chan(tx);
	return bounded(c) ? c->cap : SIZE_MAX;
}

/* ---- send ------------------------------------------------------------------------------- */

#define F_REF 1u        /* holds a channel reference (parked) */
#define F_PERMIT 2u     /* reserve: completed, holds a sender count */

struct send_priv {
	struct chan *c;
	const void *value;
	uintptr_t flags;
	uintptr_t remaining;               /* reserve: permits held */
	struct ak__sem_acquire acq;
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
		chan_get(p->c);
		p->flags |= F_REF;
	}
}

static void release_ref(struct send_priv *p)
{
	if (p->flags & F_REF) {
		p->flags &= ~(uintptr_t)F_REF;
		chan_put(p->c);
	}
}

/* The semaphore poll of a send or reserve finished with rc.  A grant made
 * while it waited (F_REF: it parked) is provisional, so one first seen
 * after close() goes back and the poll fails like a waiting sender's.
 * Whatever went back may be what a parked receiver waits for. */
static int acquire_settle(struct send_priv *p, int rc)
{
	struct chan *c = p->c;
	if (rc == 0 && (p->flags & F_REF) && ak__sem_is_closed(&c->sem)) {
		ak__sem_release(&c->sem, p->acq.n);
		rc = AK_EPIPE;
	}
	if (rc != 0)
		slots_back(c);
	return rc;
}

static int send_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = send_priv(f);
	struct chan *c = p->c;
	int rc;

	if (!bounded(c)) {
		/* Never waits, but spends budget as every send does: a task
		 * looping on it still gives its executor back. */
		if (ak__coop_check(cx) == AK_PENDING)
			return AK_PENDING;
		rc = ucount_take(c);
		if (rc == 0)
			rc = push_unbounded(c, p->value);
		if (rc == 0)
			ak__coop_spend(cx);
		return rc;
	}
	rc = ak__sem_acquire_poll(&p->acq, cx);
	if (rc == AK_PENDING) {
		hold_ref(p);
		return AK_PENDING;
	}
	rc = acquire_settle(p, rc);
	if (rc == 0)
		push_bounded(c, p->value);
	release_ref(p);
	return rc;
}

static void send_cancel(struct ak_future *f)
{
	struct send_priv *p = send_priv(f);
	if (!p->c)
		return;
	if (bounded(p->c) && (p->flags & F_REF)) {
		ak__sem_acquire_cancel(&p->acq);
		slots_back(p->c);
	}
	release_ref(p);
}

static const struct ak_future_vtable send_vtable = { send_poll, send_cancel };

AK_EXPORT int ak_mpsc_send_init(struct ak_mpsc_send_op *op, struct ak_mpsc_tx *tx, const void *value)
{
	if (!op || !tx)
		return AK_EINVAL;
	struct chan *c = tx_chan(tx);
	if (!value && c->elem_size)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &send_vtable);
	if (rc)
		return rc;
	struct send_priv *p = send_priv(&op->future);
	p->c = c;
	p->value = value;
	p->flags = 0;
	p->remaining = 0;
	if (bounded(c))
		ak__sem_acquire_init(&p->acq, &c->sem, 1);
	return 0;
}

AK_EXPORT int ak_mpsc_try_send(struct ak_mpsc_tx *tx, const void *value)
{
	if (!tx)
		return AK_EINVAL;
	struct chan *c = tx_chan(tx);
	if (!value && c->elem_size)
		return AK_EINVAL;
	int rc;
	if (bounded(c)) {
		rc = ak__sem_try_acquire(&c->sem, 1);
		if (rc == 0)
			push_bounded(c, value);
		return rc;
	}
	rc = ucount_take(c);
	if (rc == 0)
		rc = push_unbounded(c, value);
	return rc;
}

AK_EXPORT int ak_mpsc_send_blocking(struct ak_mpsc_tx *tx, const void *value, int64_t deadline)
{
	if (!tx)
		return AK_EINVAL;
	if (!ak__may_block())
		return AK_EDEADLK;
	/* The lockless path first, a short spin, and only then a parked
	 * thread (ak_block_on allocates its parker). */
	for (int i = 0; i < BLOCK_SPINS; i++) {
		int rc = ak_mpsc_try_send(tx, value);
		if (rc != AK_EAGAIN)
			return rc;
		if (!bounded(tx_chan(tx)) || ak__sem_is_closed(&tx_chan(tx)->sem))
			break;
		ak__cpu_relax();
	}
	struct ak_mpsc_send_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_mpsc_send_init(&op, tx, value);
	if (rc)
		return rc;
	return ak_block_on(&op.future, deadline);
}

/* ---- reserve and permits ------------------------------------------------------------------- */

/* The acquire of p->acq.n permits completed: become a permit. */
static int reserve_done(struct send_priv *p)
{
	uint64_t n = p->acq.n;
	if (sender_get_if_live(p->c) != 0) {
		ak__sem_release(&p->c->sem, n);
		slots_back(p->c);
		return AK_EPIPE;
	}
	p->remaining = n;
	p->flags |= F_PERMIT;
	return 0;
}

static int reserve_poll(struct ak_future *f, struct ak_context *cx)
{
	struct send_priv *p = reserve_priv(f);
	if (p->acq.n == 0)     /* nothing to wait for: done unless closed */
		return ak__sem_is_closed(&p->c->sem) ? AK_EPIPE : 0;
	int rc = ak__sem_acquire_poll(&p->acq, cx);
	if (rc == AK_PENDING) {
		hold_ref(p);
		return AK_PENDING;
	}
	rc = acquire_settle(p, rc);
	if (rc == 0)
		rc = reserve_done(p);
	release_ref(p);
	return rc;
}

static void reserve_cancel(struct ak_future *f)
{
	struct send_priv *p = reserve_priv(f);
	if (!p->c || !(p->flags & F_REF))
		return;
	ak__sem_acquire_cancel(&p->acq);
	slots_back(p->c);
	release_ref(p);
}

static const struct ak_future_vtable reserve_vtable = { reserve_poll, reserve_cancel };

/* Binds op; a live permit in op refuses (AK_EBUSY). */
static int reserve_bind(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n)
{
	if (!op || !tx)
		return AK_EINVAL;
	struct chan *c = tx_chan(tx);
	if (!bounded(c) || n > c->cap)
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
	ak__sem_acquire_init(&p->acq, &c->sem, n);
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
	if (n == 0) {
		rc = ak__sem_is_closed(&p->c->sem) ? AK_EPIPE : 0;
	} else {
		rc = ak__sem_try_acquire(&p->c->sem, n);
		if (rc == 0)
			rc = reserve_done(p);
	}
	/* The op is finished either way: a permit, or nothing. */
	op->future.state = AK_FUTURE_DONE;
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
	sender_put(p->c);
}

AK_EXPORT int ak_mpsc_permit_send(struct ak_mpsc_reserve_op *permit, const void *value)
{
	struct send_priv *p = live_permit(permit);
	if (!p || p->remaining == 0 || (!value && p->c->elem_size))
		return AK_EINVAL;
	push_bounded(p->c, value);
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
	ak__sem_release(&p->c->sem, p->remaining);
	p->remaining = 0;
	slots_back(p->c);
	permit_finish(p);
	return 0;
}

/* ---- closed() ---------------------------------------------------------------------------------- */

struct closed_priv {
	struct chan *c;
	uintptr_t flags;
	struct ak__notified n;
};
_Static_assert(sizeof(struct closed_priv) <= sizeof(((struct ak_mpsc_closed_op *)0)->private_),
               "closed op storage too small");

static struct closed_priv *closed_priv(struct ak_future *f)
{
	return (struct closed_priv *)(void *)&((struct ak_mpsc_closed_op *)(void *)f)->private_;
}

static int closed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct closed_priv *p = closed_priv(f);
	struct chan *c = p->c;
	for (;;) {
		/* acquire: pairs with the release in close_side(). */
		if (ak__load(&c->state, AK__ACQUIRE) & CLOSED_RX)
			break;
		int rc = ak__notified_poll(&p->n, cx);
		if (rc == AK_PENDING) {
			if (!(p->flags & F_REF)) {
				chan_get(c);
				p->flags |= F_REF;
			}
			return AK_PENDING;
		}
		if (rc < 0) {
			if (p->flags & F_REF) {
				p->flags = 0;
				chan_put(c);
			}
			return rc;
		}
		/* Notified: the flag is set now; look again from a fresh wait. */
		ak__notified_init(&p->n, &c->closed);
	}
	if (p->flags & F_REF) {
		p->flags = 0;
		chan_put(c);
	}
	return 0;
}

static void closed_cancel(struct ak_future *f)
{
	struct closed_priv *p = closed_priv(f);
	if (!p->c)
		return;
	ak__notified_cancel(&p->n);
	if (p->flags & F_REF) {
		p->flags = 0;
		chan_put(p->c);
	}
}

static const struct ak_future_vtable closed_vtable = { closed_poll, closed_cancel };

AK_EXPORT int ak_mpsc_closed_init(struct ak_mpsc_closed_op *op, struct ak_mpsc_tx *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &closed_vtable);
	if (rc)
		return rc;
	struct closed_priv *p = closed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->c = tx_chan(tx);
	/* seq_cst: pairs with the load in close_side(). */
	ak__store(&p->c->closed_used, 1, AK__SEQ_CST);
	ak__notified_init(&p->n, &p->c->closed);
	return 0;
}

/* ---- recv and recv_many ------------------------------------------------------------------------ */

#define F_REG 4u        /* stored a waker in the channel */

struct recv_priv {
	struct chan *c;
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

/* Bounded: whether the head value is ready, the look pop_bounded() makes,
 * inline (a receive looks at an empty channel twice before it parks). */
static inline int head_ready(struct chan *c)
{
	uint64_t h = ak__load(&c->head, AK__RELAXED);
	/* acquire: pairs with the release store in push_bounded(). */
	return ak__load(slot_seq(c, h), AK__ACQUIRE) == h + 1;
}

static size_t pop_many(struct chan *c, void *buf, size_t limit)
{
	size_t n = 0;
	if (bounded(c) && !head_ready(c))
		return 0;
	for (; n < limit; n++) {
		void *dst = c->elem_size ? (unsigned char *)buf + n * c->elem_size : (void *)&void_mark;
		if (pop(c, dst) != 0)
			break;
	}
	return n;
}

static int recv_finish(struct recv_priv *p, int rc)
{
	struct chan *c = p->c;
	if (p->flags & F_REG)
		rx_unregister(c);
	uintptr_t held = p->flags & F_REF;
	p->flags = 0;
	if (held) {
		c->rx_holds--;
		rx_put(c);
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

static int recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *p = recv_priv(f);
	struct chan *c = p->c;

	if (p->limit == 0) {
		if (p->count)
			*p->count = 0;
		return recv_finish(p, 0);
	}
	if (ak__coop_check(cx) == AK_PENDING)
		return recv_pending(p);
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pop_many(c, p->buf, p->limit);
		if (n > 0) {
			if (p->count)
				*p->count = n;
			ak__coop_spend(cx);
			return recv_finish(p, 0);
		}
		if (finished(c)) {
			if (p->count)
				*p->count = 0;
			return recv_finish(p, AK_EPIPE);
		}
		if (pass == 1)
			break;
		int rc = rx_register(c, cx);
		if (rc)
			return recv_finish(p, rc);
		p->flags |= F_REG;
	}
	/* Bounded: a value claimed but not yet published.  Its sender may
	 * have looked at rx_state before RX_PARKED went up (see
	 * push_bounded()), so nobody may wake us for it: be polled again. */
	if (bounded(c) && in_flight(c))
		ak_waker_wake_by_ref(&cx->waker);
	return recv_pending(p);
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *p = recv_priv(f);
	if (p->c)
		recv_finish(p, 0);
}

static const struct ak_future_vtable recv_vtable = { recv_poll, recv_cancel };

static int recv_bind(struct ak_future *f, struct ak_mpsc_rx *rx, void *buf, size_t limit,
                     size_t *count)
{
	if (!f || !rx)
		return AK_EINVAL;
	struct chan *c = rx_chan(rx);
	if (!buf && c->elem_size && limit)
		return AK_EINVAL;
	int rc = ak_future_init(f, &recv_vtable);
	if (rc)
		return rc;
	struct recv_priv *p = recv_priv(f);
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->buf = buf;
	p->limit = limit;
	p->count = count;
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
	struct chan *c = rx_chan(rx);
	if (!out && c->elem_size)
		return AK_EINVAL;
	if (!c->elem_size)
		out = &void_mark;
	for (int spins = 0;; spins++) {
		if (pop(c, out) == 0)
			return 0;
		/* A value counted but not yet written at the head: its writer
		 * is between two instructions; wait for it (spin, then yield)
		 * rather than report a spurious AK_EAGAIN. */
		if (!in_flight(c))
			break;
		if (spins < SPIN_LIMIT)
			ak__cpu_relax();
		else
			ak__yield();
	}
	return finished(c) ? AK_EPIPE : AK_EAGAIN;
}

AK_EXPORT int ak_mpsc_recv_blocking(struct ak_mpsc_rx *rx, void *out, int64_t deadline)
{
	if (!rx)
		return AK_EINVAL;
	if (!ak__may_block())
		return AK_EDEADLK;
	for (int i = 0; i < BLOCK_SPINS; i++) {
		int rc = ak_mpsc_try_recv(rx, out);
		if (rc != AK_EAGAIN)
			return rc;
		ak__cpu_relax();
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
