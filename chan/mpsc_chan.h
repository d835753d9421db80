/*
 * chan/mpsc_chan.h: the mpsc channel's record, shared by its files.
 * Internal.  See chan/mpsc.c for the design.
 *
 *   chan/mpsc.c        the front: creation, lifetime, handles, queries
 *   chan/mpsc_recv.c   recv, recv_many, try_recv, the blocking receives
 *   chan/mpsc_send.c   send, reserve and permits, closed()
 *   chan/mpsc_ring.c   the bounded ring (ak__ring_*)
 *   chan/mpsc_list.c   the unbounded block list (ak__list_*)
 *   chan/mpsc_rdv.c    the rendezvous, capacity 0 (ak__rdv_*)
 */
#ifndef AK_CHAN_MPSC_CHAN_H
#define AK_CHAN_MPSC_CHAN_H

#include <awaitkit/mpsc.h>

#include "../core/core.h"
#include "../core/notify.h"
#include "../core/gate.h"
#include "../core/waker_slot.h"

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

#define AK__MPSC_CLOSED_TX 1u   /* every sender gone */
#define AK__MPSC_CLOSED_RX 2u   /* the receiver closed or went */

struct ak__blk;
struct ak__ring;

/* The rendezvous (capacity 0): see chan/mpsc_rdv.c.  It follows the
 * channel's record (ak__chan_rdv_of()), and the cell, the one value handed
 * over and not yet taken, follows it. */
struct ak__rdv {
	struct ak__lock lock;          /* guards all but full */
	ak__atomic(uint32_t) full;     /* the cell holds a value (see mpsc_rdv.c) */
	struct ak__waitq q;            /* parked sends and reserves, FIFO */
	struct ak__waiter *asked;      /* the parked one asked to hand over */
	ak__atomic(uint32_t) wants;    /* a receive waits (written under the lock) */
	uint32_t flags;                /* PERMIT, CLOSED (mpsc_rdv.c) */
};

/* The unbounded list's words: see chan/mpsc_list.c.  They follow the
 * channel's record (ak__chan_list_of()), the senders' and the receiver's
 * each 64 bytes away from what comes before them, so that neither side's
 * writes take the other's line (nor the record's, which both read). */
struct ak__list {
	char pad0_[64];
	/* senders' line */
	ak__atomic(uint64_t) sent;         /* values claimed, CLOSED */
	ak__atomic(uint64_t) linked_end;   /* indices below it have their block */
	ak__atomic(struct ak__blk *) tail_blk;
	struct ak__lock grow;              /* guards last_blk and the links */
	struct ak__blk *last_blk;          /* under grow */
	ak__atomic(struct ak__blk *) spare; /* recycled blocks, a stack */
	ak__atomic(uint64_t) spares_out;   /* popped (under grow) */
	char pad1_[64];
	/* receiver's line */
	ak__atomic(uint64_t) received;     /* only the receiver writes */
	struct ak__blk *head_blk;          /* receiver only */
	uint32_t head_i;
	struct ak__blk *retired;           /* the oldest finished block, chained to head_blk */
	uint64_t spares_in;                /* pushed on spare */
};

/*
 * The channel's record: what every kind needs, read-mostly (the fast
 * paths of both sides read it, only rare events write it).  An idle
 * bounded channel is this record alone: its ring (struct ak__ring in
 * chan/mpsc_ring.c, with the senders' and the receiver's lines) is
 * allocated by the first send or reserve; the unbounded list and the
 * rendezvous follow the record in the same allocation.  The closed()
 * notification is allocated by the first ak_mpsc_closed_init().
 */
struct ak__chan {
	/* what the senders' fast path reads first */
	ak__atomic(uint32_t) state;        /* AK__MPSC_CLOSED_* */
	struct ak_mpsc_tx tx_h;            /* the handles' markers */
	struct ak_mpsc_rx rx_h;
	struct ak_mpsc_weak weak_h;
	uint8_t ishift;                    /* bounded: where the index sits in tail */
	ak__atomic(struct ak__ring *) rb;  /* bounded: the ring, NULL before the first use */
	size_t cap;                        /* 0: unbounded, or a rendezvous */
	size_t ring;                       /* bounded: a power of two >= cap, >= 2; rendezvous: 1 */
	uint64_t imask;                    /* bounded: indices are taken mod imask + 1 */
	uint64_t rmax;                     /* bounded: most units reserved at once */
	size_t elem_size;
	size_t stride;                     /* bytes per slot */
	void (*drop)(void *elem, void *arg); /* the hooks' (clone is never called) */
	void *drop_arg;
	ak__atomic(uint64_t) refs;
	ak__atomic(uint64_t) senders;
	ak__atomic(uint64_t) weaks;        /* weak handles, for the count */
	ak__atomic(struct ak__notify *) closed; /* senders' closed(); NULL: never bound */
	/* last, what the receiver writes when it parks (a sender's notify
	 * reads the slot's word) */
	struct ak__waker_slot rx_waker;    /* the receiver's */
	uint32_t rx_holds;                 /* pending receive ops (recv_pending) */
	uint32_t rx_gone;                  /* ak_mpsc_rx_drop ran */
};

static inline struct ak__list *ak__chan_list_of(struct ak__chan *c)
{
	return (struct ak__list *)(void *)(c + 1);
}

static inline struct ak__rdv *ak__chan_rdv_of(struct ak__chan *c)
{
	return (struct ak__rdv *)(void *)(c + 1);
}

/* The rendezvous's cell, after its words. */
static inline unsigned char *ak__chan_cell(struct ak__chan *c)
{
	return (unsigned char *)(ak__chan_rdv_of(c) + 1);
}

#define AK__CHAN_OF(h, field) \
	((struct ak__chan *)(void *)((char *)(h) - offsetof(struct ak__chan, field)))

static inline struct ak__chan *ak__tx_chan(const struct ak_mpsc_tx *tx)
{
	return AK__CHAN_OF(tx, tx_h);
}

static inline int ak__chan_bounded(const struct ak__chan *c)
{
	return c->cap != 0;
}

/* Capacity 0 (cap is 0 too: not bounded, not a list either). */
static inline int ak__chan_rdv(const struct ak__chan *c)
{
	return c->cap == 0 && c->ring == 1;
}

/* Where a pop puts a value it discards (with the drop hook). */
extern unsigned char ak__mpsc_drop_mark;
#define AK__MPSC_DROP ((void *)&ak__mpsc_drop_mark)

/* Hands a value to the receiver (out) or discards it (AK__MPSC_DROP: the
 * drop hook). */
static inline void ak__chan_copy_out(struct ak__chan *c, void *out, void *src)
{
	if (out == AK__MPSC_DROP) {
		if (c->drop)
			c->drop(src, c->drop_arg);
	} else {
		ak__copy_value(out, src, c->elem_size);
	}
}

/* ---- the front's, for mpsc_send.c (chan/mpsc.c) ---- */
void ak__chan_get(struct ak__chan *c);
void ak__chan_put(struct ak__chan *c);
/* A sender count: dropped (the last one closes), or taken from a live one
 * (0, or AK_EPIPE when none is left). */
void ak__chan_sender_put(struct ak__chan *c);
int ak__chan_sender_get_if_live(struct ak__chan *c);
/* Capacity came back (a permit dropped, a grant given back): wakes a
 * receiver parked on a closed channel that waits for exactly that. */
void ak__chan_slots_back(struct ak__chan *c);
/* A pending receive keeps the receiver's reference on the channel alive,
 * so that dropping the last handle under it is safe.  Receiver calls run
 * one at a time (ak_mpsc(3)), so a plain count does it, with no RMW per
 * park: the reference goes once the receiver is gone and no receive is
 * pending. */
static inline void ak__chan_rx_put(struct ak__chan *c)
{
	if (c->rx_gone && c->rx_holds == 0)
		ak__chan_put(c);
}

/* ---- the bounded ring (chan/mpsc_ring.c) ---- */
/* The geometry; the ring itself comes with the first send or reserve. */
void ak__ring_init(struct ak__chan *c);
/* The bytes of the ring's block (see ak_mpsc(3)). */
size_t ak__ring_bytes(const struct ak__chan *c);
void ak__ring_destroy(struct ak__chan *c);
/* Without a permit: 0 (sent), AK_EAGAIN (full, or senders wait),
 * AK_EPIPE (closed), AK_ENOMEM (the first use could not make the ring). */
int ak__ring_try_send(struct ak__chan *c, const void *value);
/* A bounded send's poll (op, cx: its own, the budget checked): the same,
 * the budget spent when it sends; no room, ak__mpsc_send_full(op, cx) in
 * tail position (the send's frame is its caller's: none). */
int ak__ring_send(struct ak__chan *c, struct ak_context *cx, void *op, const void *value);
/* chan/mpsc_send.c: the send op's wait, after ak__ring_send() found no room. */
int ak__mpsc_send_full(void *op, struct ak_context *cx);
/* n units of capacity held for later ak__ring_permit_send() calls: 0,
 * AK_EAGAIN, AK_EPIPE, AK_ENOMEM (as above). */
int ak__ring_try_reserve(struct ak__chan *c, uint64_t n);
/* Sends through one unit held (reserved or granted); never waits. */
void ak__ring_permit_send(struct ak__chan *c, const void *value);
/* Gives n held units back (to the waiting senders first); the caller then
 * calls ak__chan_slots_back(). */
void ak__ring_give_back(struct ak__chan *c, uint64_t n);
/* The most units one reservation may ask for. */
uint64_t ak__ring_max_reserve(struct ak__chan *c);
int ak__ring_is_closed(struct ak__chan *c);
/* Closes the sending side: waiting senders fail with AK_EPIPE.
 * senders_gone: the last sender's close (no ring can appear any more). */
void ak__ring_close(struct ak__chan *c, int senders_gone);
/* A send or reserve that found no room (st: ak__waiter_state(&a->w)
 * taken before the fast path): see ak__gate_park(); a grant is held
 * units. */
int ak__ring_park(struct ak__chan *c, struct ak__gate_wait *a, struct ak_context *cx, uint32_t st);
void ak__ring_cancel(struct ak__chan *c, struct ak__gate_wait *a);
/* 0 with the head value taken (out AK__MPSC_DROP: dropped), AK_EAGAIN if
 * none is ready. */
int ak__ring_pop(struct ak__chan *c, void *out);
/* Takes up to limit values into buf, step bytes apart (0: every value to
 * buf); how many. */
size_t ak__ring_pop_many(struct ak__chan *c, struct ak__ring *r, unsigned char *buf, size_t limit,
                         size_t step);
/* The receive's first look, which calls nothing: 0 with the head value
 * taken into out (never AK__MPSC_DROP); 1 taken, the block's last, and
 * the caller then calls ak__list_blk_done() (0); AK_EAGAIN nothing
 * taken (ak__list_recv() then looks again, and waits). */
int ak__list_take(struct ak__chan *c, void *out);
int ak__list_blk_done(struct ak__chan *c);
/* A receive of one value into out (never AK__MPSC_DROP): 0 taken;
 * AK_PENDING with the receiver's waker registered; AK_EPIPE (finished);
 * AK_ENOMEM. */
int ak__ring_recv(struct ak__chan *c, void *out, struct ak_context *cx);
int ak__ring_in_flight(struct ak__chan *c);
int ak__ring_finished(struct ak__chan *c);
size_t ak__ring_len(struct ak__chan *c);
/* Free capacity: not in use, not reserved. */
size_t ak__ring_capacity(struct ak__chan *c);

/*
 * The ring's block, allocated by the first send or reserve (chan/mpsc_ring.c):
 * the senders' word, the receiver's 64 bytes on (the two never share a
 * line, whatever the block's alignment), then the slots.  c->rb is NULL
 * before it, or AK__RING_NONE if the channel closed before it.
 */
struct ak__ring {
	/* senders' line */
	ak__atomic(uint64_t) tail;         /* index | reserved | flags */
	char pad_[56];
	/* receiver's line */
	ak__atomic(uint64_t) head;         /* next index to read; only the receiver writes */
	struct ak__gate gate;              /* senders waiting for room */
	/* ring slots of stride bytes follow: a stamp and the value */
};

/* c->rb after a close that came before the first send or reserve: a ring
 * that reads as closed (tail) and empty (head 0, and slot 0's stamp, 0, is
 * not ready), so that only its absence needs a test on the fast paths.
 * Never written (chan/mpsc_ring.c). */
struct ak__ring_closed {
	struct ak__ring ring;
	ak__atomic(uint64_t) stamp0;
};
extern struct ak__ring_closed ak__ring_none;
#define AK__RING_NONE (&ak__ring_none.ring)

/* The ring (maybe AK__RING_NONE), or NULL before the first send or
 * reserve. */
static inline struct ak__ring *ak__ring_get(struct ak__chan *c)
{
	/* acquire: pairs with the release CAS that installed it. */
	return ak__load(&c->rb, AK__ACQUIRE);
}

static inline ak__atomic(uint64_t) *ak__ring_seq(struct ak__chan *c, struct ak__ring *r, uint64_t i)
{
	return (ak__atomic(uint64_t) *)(void *)((unsigned char *)(r + 1) +
	                                        (i & (c->ring - 1)) * c->stride);
}

/* The ring if its head value is ready, else NULL: the first look
 * ak__ring_pop_many() makes, inline (a receive looks at an empty channel
 * twice before it parks). */
static inline struct ak__ring *ak__ring_ready(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return NULL;
	uint64_t h = ak__load(&r->head, AK__RELAXED);
	/* acquire: pairs with the release store in publish(). */
	if (ak__load(ak__ring_seq(c, r, h), AK__ACQUIRE) != ((h + 1) & c->imask))
		return NULL;
	return r;
}

/*
 * A receive's one look at the head slot, inline and without a call (a
 * receive that finds a value is a leaf): 0 with the head value copied
 * into out and head published; 1 the same, and the receiver must then
 * call ak__ring_served() (a sender may wait); AK_EAGAIN, no ring or none
 * ready (ak__ring_recv_empty() goes on from there); AK__RING_SIZE, a size
 * not copied inline (ak__ring_recv()).  Nothing is done but on 0 and 1.
 * The take of ak__ring_recv(), for the common sizes.
 */
#define AK__RING_SIZE 2
static inline int ak__ring_take(struct ak__chan *c, void *const *outp)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return AK_EAGAIN;
	uint64_t h = ak__load(&r->head, AK__RELAXED);
	/* The two words stored after the copy, which the compiler must
	 * assume may write the record, computed first: nothing of the
	 * record or of h stays live across the look or the copy. */
	uint64_t next = (h + 1) & c->imask, done = (h + c->ring) & c->imask;
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, r, h);
	/* acquire: pairs with the release store in publish(). */
	if (ak__load(seq, AK__ACQUIRE) != next)
		return AK_EAGAIN;
	const unsigned char *src = (const unsigned char *)(void *)seq + sizeof(uint64_t);
	/* The destination read only now: nothing of the caller's kept
	 * across the look. */
	void *out = *outp;
	switch (c->elem_size) {
	case 0:
		break;
	case 4:
		memcpy(out, src, 4);
		break;
	case 8:
		memcpy(out, src, 8);
		break;
	case 16:
		memcpy(out, src, 16);
		break;
	default:
		return AK__RING_SIZE;
	}
	/* release: as in take_value() (chan/mpsc_ring.c): the slot's next
	 * writer copies in after our copy out. */
	ak__store(seq, done, AK__RELEASE);
	return ak__gate_publish_look(&r->gate, &r->head, next);
}

/* A send's publication of a value of a size ak__copy_small() does not
 * copy (memcpy), the stamp and the receiver told: 0. */
int ak__ring_publish_big(struct ak__chan *c, ak__atomic(uint64_t) *seq, uint64_t i,
                         const void *value);

/*
 * A bounded send's poll with budget left (chan/mpsc_send.c), inline in it
 * as ak__ring_take() is in the receive's: claim()'s first try (chan/
 * mpsc_ring.c: no flag and nothing reserved, no bit below the index; the
 * slot a capacity back read, its stamp the index of its next lap; one CAS)
 * and publish_room(): the budget spent, the value copied, its stamp stored
 * and the receiver told, with no frame between the poll and the ring.  The
 * shift is read once, before the ring's atomics (each is a compiler
 * barrier: the channel's words are read again after it), and the claimed
 * word built from the index (t is i << shift).  Anything else (no ring
 * yet, a flag, units reserved, no room, a lost CAS) is ak__ring_send()
 * from the start, in tail position.
 */
static inline __attribute__((always_inline)) int ak__ring_put(struct ak__chan *c,
                                                             struct ak_context *cx, void *op,
                                                             const void *value)
{
	unsigned sh = c->ishift;
	struct ak__ring *r = ak__ring_get(c);
	if (r) {
		/* acquire: as in claim(). */
		uint64_t t = ak__load(&r->tail, AK__ACQUIRE);
		uint64_t i = t >> sh;
		if ((i << sh) == t) {
			uint64_t j = (i - c->cap) & c->imask;
			/* acquire, seq_cst: as in claim(). */
			if (ak__load(ak__ring_seq(c, r, j), AK__ACQUIRE) == ((j + c->ring) & c->imask) &&
			    ak__alone_cas(&r->tail, &t, (i + 1) << sh, AK__SEQ_CST, AK__ACQUIRE)) {
				ak__coop_spend(cx);
				ak__atomic(uint64_t) *seq = ak__ring_seq(c, r, i);
				unsigned char *data = (unsigned char *)(void *)seq + sizeof(uint64_t);
				if (!ak__copy_small(data, value, c->elem_size))
					return ak__ring_publish_big(c, seq, i, value);
				/* release: as in publish_end(). */
				ak__store(seq, (i + 1) & c->imask, AK__RELEASE);
				return ak__waker_slot_notify(&c->rx_waker);
			}
		}
	}
	return ak__ring_send(c, cx, op, value);
}

/* After ak__ring_take() said 1: the rest of the handshake (core/gate.h),
 * a grant to the waiting senders or the switch to the light mode. */
void ak__ring_served(struct ak__chan *c);
/* After ak__ring_take() said AK_EAGAIN: ak__ring_recv() past its first
 * look (the waker, and a look again). */
int ak__ring_recv_empty(struct ak__chan *c, void *out, struct ak_context *cx);

/*
 * ak__ring_recv_empty()'s common case, inline in the receive's one frame
 * (no frame of its own, nothing passed on): the channel open, the
 * receiver's waker registered (kept if it will_wake the same task) and
 * nothing claimed past head when it looks again: AK_PENDING.  Anything
 * else, AK_EAGAIN, and ak__ring_recv_empty() starts over (it registers
 * again, which keeps the waker this left, and looks again): a close, no
 * ring yet, a claim, no memory for the clone.  The look is the one of
 * recv_wait() (chan/mpsc_ring.c): a seq_cst load of tail after the
 * seq_cst registration, against the sender's seq_cst claim and its
 * seq_cst look at the slot's word.
 */
static inline __attribute__((always_inline)) int ak__ring_recv_park(struct ak__chan *c,
                                                                   struct ak_context *cx)
{
	/* seq_cst: as finished_now() (chan/mpsc_ring.c): 0 until a close. */
	if (ak__load(&c->state, AK__SEQ_CST) != 0)
		return AK_EAGAIN;
	if (ak__waker_slot_register_inline(&c->rx_waker, cx))
		return AK_EAGAIN;
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return AK_EAGAIN;
	/* seq_cst: pairs with the seq_cst claim on tail; relaxed: only the
	 * receiver writes head. */
	if ((ak__load(&r->tail, AK__SEQ_CST) >> c->ishift) != ak__load(&r->head, AK__RELAXED))
		return AK_EAGAIN;
	/* seq_cst: a close after the registration (finished_now()). */
	if (ak__load(&c->state, AK__SEQ_CST) != 0)
		return AK_EAGAIN;
	return AK_PENDING;
}

/* ---- the unbounded list (chan/mpsc_list.c) ---- */
/* 0 or AK_ENOMEM (the first block). */
int ak__list_init(struct ak__chan *c);
void ak__list_destroy(struct ak__chan *c);
/* Counts and publishes a value: 0, AK_EPIPE (closed), AK_ENOMEM. */
int ak__list_send(struct ak__chan *c, const void *value);
/* The same, spending a unit of cx's budget when it sends (a send's poll:
 * nothing left to do after it, so it calls it last). */
int ak__list_send_spend(struct ak__chan *c, const void *value, struct ak_context *cx);
int ak__list_pop(struct ak__chan *c, void *out);
/* The receive's first look, which calls nothing: 0 with the head value
 * taken into out (never AK__MPSC_DROP); 1 taken, the block's last, and
 * the caller then calls ak__list_blk_done() (0); AK_EAGAIN nothing
 * taken (ak__list_recv() then looks again, and waits). */
int ak__list_take(struct ak__chan *c, void *out);
int ak__list_blk_done(struct ak__chan *c);
/* A receive of one value into out (never AK__MPSC_DROP): 0 taken;
 * AK_PENDING with the receiver's waker registered; AK_EPIPE (finished);
 * AK_ENOMEM. */
int ak__list_recv(struct ak__chan *c, void *out, struct ak_context *cx);
int ak__list_in_flight(struct ak__chan *c);
int ak__list_finished(struct ak__chan *c);
size_t ak__list_len(struct ak__chan *c);
void ak__list_close(struct ak__chan *c);

/* ---- the rendezvous (chan/mpsc_rdv.c) ---- */
void ak__rdv_init(struct ak__chan *c);
void ak__rdv_destroy(struct ak__chan *c);
/*
 * A send (value) or a reserve (value NULL) offers itself to the receiver,
 * w its node: 0 handed over (a send: the value is in the cell; a reserve:
 * it holds the hand-off, a permit), AK_PENDING (parked, or asked and still
 * to poll), AK_EPIPE (closed; nothing taken), AK_ENOMEM (nothing queued).
 */
int ak__rdv_offer(struct ak__chan *c, struct ak__waiter *w, const void *value,
                  struct ak_context *cx);
/* Cancel of an offer: leaves the queue, or passes the ask it had on. */
void ak__rdv_withdraw(struct ak__chan *c, struct ak__waiter *w);
/* Hands the value over if a receive waits: 0, AK_EAGAIN, AK_EPIPE. */
int ak__rdv_try_send(struct ak__chan *c, const void *value);
/* Takes the hand-off for a permit if a receive waits: 0, AK_EAGAIN, AK_EPIPE. */
int ak__rdv_try_reserve(struct ak__chan *c);
/* A permit's send: into the cell, never waits. */
void ak__rdv_permit_send(struct ak__chan *c, const void *value);
/* A permit dropped unused: the hand-off passes to the next parked sender
 * (if a receive waits); the caller then calls ak__chan_slots_back(). */
void ak__rdv_permit_drop(struct ak__chan *c);
void ak__rdv_close(struct ak__chan *c);
int ak__rdv_is_closed(struct ak__chan *c);
/* Takes the value handed over, if any (out AK__MPSC_DROP: drops it): 0 or
 * AK_EAGAIN.  Receiver only; no lock. */
int ak__rdv_pop(struct ak__chan *c, void *out);
/*
 * The receiver asks for a value (its waker registered first when wait):
 * 0 taken into out; AK_EPIPE (closed, nothing handed over, no permit out);
 * otherwise the oldest parked sender is asked to hand over, and with wait
 * the receive is marked waiting (AK_PENDING), without it AK_EAGAIN.
 */
int ak__rdv_want(struct ak__chan *c, void *out, int wait);
/* A waiting receive went (cancelled, or failed): unmarks it, and an ask
 * it made that its sender has not answered is taken back. */
void ak__rdv_unwant(struct ak__chan *c);
size_t ak__rdv_len(struct ak__chan *c);

/* ---- the queues behind one branch (the front and the receive) ---- */
static inline int ak__chan_pop(struct ak__chan *c, void *out)
{
	if (ak__chan_rdv(c))
		return ak__rdv_pop(c, out);
	return ak__chan_bounded(c) ? ak__ring_pop(c, out) : ak__list_pop(c, out);
}

/* A value is claimed (counted) but not yet readable at the head. */
static inline int ak__chan_in_flight(struct ak__chan *c)
{
	return ak__chan_bounded(c) ? ak__ring_in_flight(c) : ak__list_in_flight(c);
}

/* Closed, drained and no permit outstanding: recv reports AK_EPIPE. */
static inline int ak__chan_finished(struct ak__chan *c)
{
	return ak__chan_bounded(c) ? ak__ring_finished(c) : ak__list_finished(c);
}

#endif
