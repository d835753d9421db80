/*
 * chan/mpsc_ring.c: the bounded mpsc's ring.  See chan/mpsc.c for the
 * channel and chan/mpsc_chan.h for the interface.
 *
 * A stamped ring in the manner of crossbeam's array channel, with the
 * capacity in the senders' word, so that a send is one CAS and a receive
 * no read-modify-write at all.
 *
 *   tail  (senders)  index << ishift | reserved << 2 | WAITERS | CLOSED
 *   head  (receiver) the next index to read; only the receiver writes it
 *   slot  a stamp and the value; the stamp of the slot of index i is i
 *         (free for i), i + 1 (written), i + ring (read: free for the
 *         next lap)
 *
 * Units of capacity: cap = in use (index - head) + reserved + free.
 * Reserved units are held by permits and by grants not yet polled.  The
 * ring has ring >= cap slots (a power of two, at least 2); the capacity,
 * not the ring, bounds the slots in use.  Indices are taken mod imask + 1
 * (the bits above ishift wrap by themselves), at least 4 * ring.
 *
 * A send without a permit loads tail and, if neither flag is set, looks
 * whether the slot of index + reserved - cap was read (its stamp has moved
 * past written): reads go in order, so that slot read means a free unit.
 * With cap == ring and nothing reserved it is the slot the send is about to
 * write, as in crossbeam.  Then one CAS takes index + 1, the slot is
 * written and its stamp stored (release).  A reserve of n looks n - 1
 * slots further and CASes reserved + n; a permit's send CASes index + 1,
 * reserved - 1 whatever the flags say.  A look that races with the
 * receiver may see no room where there is some: it takes the slow path,
 * which finds the room under the lock.
 *
 * The receiver reads a slot whose stamp is head + 1, stores the stamp
 * head + ring (release: the slot's next writer copies in after our copy
 * out) and then publishes head (ak__gate_publish: seq_cst, or release
 * while senders seldom wait), and only then loads the gate's `waiting`
 * flag (a line the fast paths do not write): nobody waits, nothing more.
 * recv_many stores head and looks at the flag once per batch.
 *
 * Waiting (core/gate.h): a sender that finds no room queues under the gate
 * lock after setting WAITERS in tail (so that later fast paths queue
 * behind it: FIFO, no barging) and `waiting` (seq_cst, and membarrier(2)
 * in the gate's light mode); then take() loads head (seq_cst) and turns
 * what is free into reserved units granted to the head of the queue.
 * That pairs with the receiver's publication of head and its `waiting`
 * load: either the waiter sees the room or the receiver grants.  A woken send completes as a permit's send.  Units given back
 * (a permit dropped, a grant cancelled or refused after close) go through
 * one fetch_sub on tail, whose result says whether anyone waits.
 *
 * Close sets CLOSED (sends and reserves without units fail) and fails the
 * waiters; permits still send.  The channel is finished once nothing is
 * in use or reserved.
 *
 * The ring's block (struct ak__ring: tail, head, the gate, the slots) is
 * allocated by the first send or reserve, so that an idle channel is its
 * record alone.  The first user CASes it into c->rb (release; a loser
 * frees its own); a close before it CASes AK__RING_NONE there instead, so
 * that a send racing with that close either installed the ring (and the
 * close sets CLOSED in it) or fails with AK_EPIPE (AK__RING_NONE reads as
 * a closed, empty ring: the fast paths test rb for NULL only).  The
 * receiver finds nothing while rb is NULL; its look after registering its waker
 * (ak__ring_in_flight()) loads rb seq_cst, against the installer's seq_cst
 * CAS: if it saw no ring, the sender's later notify sees the waker.
 */
#include "mpsc_chan.h"

#define CLOSED ((uint64_t)1)
#define WAITERS ((uint64_t)2)
#define RSHIFT 2

static uint64_t idx_of(const struct ak__chan *c, uint64_t t)
{
	return t >> c->ishift;
}

static uint64_t resv_of(const struct ak__chan *c, uint64_t t)
{
	return (t >> RSHIFT) & c->rmax;
}

/* The value of the slot whose stamp is seq. */
static unsigned char *slot_data(ak__atomic(uint64_t) *seq)
{
	return (unsigned char *)(void *)seq + sizeof(uint64_t);
}

struct ak__ring_closed ak__ring_none = { .ring = { .tail = CLOSED } };

static unsigned bits_of(uint64_t v)
{
	return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

void ak__ring_init(struct ak__chan *c)
{
	unsigned lr = (unsigned)__builtin_ctzll(c->ring);
	/* The reserved count holds cap; past 2^29 slots it is cut so that
	 * the index keeps 2 + log2(ring) bits (ak__ring_max_reserve()). */
	unsigned rb = bits_of(c->cap);
	if (rb > 60 - lr)
		rb = 60 - lr;
	c->rmax = ((uint64_t)1 << rb) - 1;
	c->ishift = rb + RSHIFT;
	c->imask = UINT64_MAX >> c->ishift;
}

size_t ak__ring_bytes(const struct ak__chan *c)
{
	return sizeof(struct ak__ring) + c->ring * c->stride;
}

/* The first send or reserve makes the ring: 0 (made, here or by another
 * sender), AK_EPIPE (closed before any use), AK_ENOMEM. */
static int ring_make(struct ak__chan *c)
{
	struct ak__ring *r = ak__alloc(ak__ring_bytes(c));
	if (!r)
		return AK_ENOMEM;
	/* The first index is ring: every slot reads as read for the lap
	 * before, which is what the room look wants. */
	for (size_t i = 0; i < c->ring; i++)
		ak__init(ak__ring_seq(c, r, i), (uint64_t)(c->ring + i));
	ak__init(&r->head, (uint64_t)c->ring);
	ak__init(&r->tail, (uint64_t)c->ring << c->ishift);
	ak__gate_init(&r->gate);
	struct ak__ring *cur = NULL;
	/* seq_cst: the receiver's handshake (see the top); release: the
	 * ring's init is visible to the acquire loads of rb. */
	if (ak__cas(&c->rb, &cur, r, AK__SEQ_CST, AK__ACQUIRE))
		return 0;
	ak__gate_destroy(&r->gate);
	ak__free_sized(r, ak__ring_bytes(c));
	return 0;     /* another's ring, or AK__RING_NONE: its tail says closed */
}

/* A send or reserve found no ring: 0 once there is one.  Out of line, so
 * that the fast paths keep their short frames. */
__attribute__((noinline, cold)) static int ring_first(struct ak__chan *c)
{
	return ak__ring_get(c) ? 0 : ring_make(c);
}

void ak__ring_destroy(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r || r == AK__RING_NONE)
		return;
	ak__gate_destroy(&r->gate);
	ak__free_sized(r, ak__ring_bytes(c));
}

uint64_t ak__ring_max_reserve(struct ak__chan *c)
{
	return c->rmax < c->cap ? c->rmax : c->cap;
}

/* Whether n more units fit beside tail word t: the slot n - 1 places past
 * the end of the capacity was read. */
static inline __attribute__((always_inline)) int has_room(struct ak__chan *c, struct ak__ring *r,
                                                         uint64_t t, uint64_t n)
{
	uint64_t u = resv_of(c, t);
	if (u + n > c->cap)
		return 0;
	uint64_t j = (idx_of(c, t) + u + n - 1 - c->cap) & c->imask;
	/* acquire: pairs with the receiver's release store of j's stamp in
	 * ak__ring_pop_many(): the room we claim comes after its copy out.  The tail
	 * load before (acquire) saw the claim of j, which came after the
	 * claimer's look at the lap before: the stamp read here is at least
	 * j (free for j), so 0 and 1 mean "not read", anything else "read". */
	uint64_t d = (ak__load(ak__ring_seq(c, r, j), AK__ACQUIRE) - j) & c->imask;
	return d >= 2;
}

/* publish() past the copy: the slot's stamp, and the receiver told. */
static inline __attribute__((always_inline)) int publish_end(struct ak__chan *c,
                                                             ak__atomic(uint64_t) *seq, uint64_t i)
{
	/* release: publishes the value to the acquire load in
	 * ak__ring_pop_many(). */
	ak__store(seq, (i + 1) & c->imask, AK__RELEASE);
	/* After the claim's seq_cst RMW: a receiver that registered before
	 * its look at tail (ak__ring_in_flight()) is seen here. */
	return ak__waker_slot_notify(&c->rx_waker);
}

/* publish() of a value of another size than the common ones (memcpy);
 * ak__ring_put()'s too. */
__attribute__((noinline)) int ak__ring_publish_big(struct ak__chan *c, ak__atomic(uint64_t) *seq,
                                                   uint64_t i, const void *value)
{
	ak__copy_value(slot_data(seq), value, c->elem_size);
	return publish_end(c, seq, i);
}

/* Writes the value of index i, claimed, and tells the receiver.  Inline:
 * a send is one claim and this.  0, always: the notify is its last call
 * (publish_big's, for the sizes that take memcpy), in tail position for a
 * send that returns 0 after it: no frame. */
static inline __attribute__((always_inline)) int publish(struct ak__chan *c, struct ak__ring *r, uint64_t i, const void *value)
{
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, r, i);
	/* acquire: pairs with the receiver's release store of i (the lap
	 * before read); the capacity we hold means it was read, so this does
	 * not loop. */
	while (ak__load(seq, AK__ACQUIRE) != i)
		ak__cpu_relax();
	if (!ak__copy_small(slot_data(seq), value, c->elem_size))
		return ak__ring_publish_big(c, seq, i, value);
	return publish_end(c, seq, i);
}

/*
 * publish() for a send that claimed room it looked at (claim()): no wait
 * for the slot.  has_room() saw the slot of index j = i + reserved - cap
 * read (acquire), and reads go in order: the lap before's read of our
 * slot, index i - ring <= j, came before it, and its copy out before our
 * copy in.
 */
static inline __attribute__((always_inline)) int publish_room(struct ak__chan *c,
                                                              struct ak__ring *r, uint64_t i,
                                                              const void *value)
{
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, r, i);
	if (!ak__copy_small(slot_data(seq), value, c->elem_size))
		return ak__ring_publish_big(c, seq, i, value);
	return publish_end(c, seq, i);
}

/* A send without a permit claims one unit: 0 with *ip its index,
 * AK_EAGAIN (no room, or senders wait), AK_EPIPE (closed). */
static inline __attribute__((always_inline)) int claim(struct ak__chan *c, struct ak__ring *r,
                                                       uint64_t *ip)
{
	/* acquire: pairs with the CASes on tail (a release sequence): see
	 * has_room(). */
	uint64_t t = ak__load(&r->tail, AK__ACQUIRE);
	uint64_t i = idx_of(c, t);
	if ((i << c->ishift) == t) {
		/* The first try: no flag and nothing reserved (no bit below
		 * the index), and has_room()'s slot, a capacity back, read:
		 * its stamp the index of its next lap (has_room()'s d is then
		 * ring, 2 or more; same acquire).  One compare for the flags
		 * and the units, none for the capacity.  Anything else (no
		 * room, a stale t, a lost CAS) goes on to the loop, which
		 * looks again. */
		uint64_t j = (i - c->cap) & c->imask;
		if (ak__load(ak__ring_seq(c, r, j), AK__ACQUIRE) == ((j + c->ring) & c->imask) &&
		    ak__alone_cas(&r->tail, &t, t + ((uint64_t)1 << c->ishift), AK__SEQ_CST,
		                  AK__ACQUIRE)) {
			*ip = i;
			return 0;
		}
	}
	do {
		if (t & (CLOSED | WAITERS))
			return (t & CLOSED) ? AK_EPIPE : AK_EAGAIN;
		if (!has_room(c, r, t, 1))
			return AK_EAGAIN;
		/* seq_cst: the receiver's handshake is on tail (see publish()). */
	} while (!ak__alone_cas(&r->tail, &t, t + ((uint64_t)1 << c->ishift), AK__SEQ_CST,
	                        AK__ACQUIRE));
	*ip = idx_of(c, t);
	return 0;
}

/* ak__ring_try_send() of a channel's first value: the ring first. */
static __attribute__((noinline, cold)) int try_send_first(struct ak__chan *c, const void *value)
{
	int rc = ring_first(c);
	return rc ? rc : ak__ring_try_send(c, value);
}

int ak__ring_try_send(struct ak__chan *c, const void *value)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return try_send_first(c, value);
	uint64_t i;
	int rc = claim(c, r, &i);
	return rc ? rc : publish_room(c, r, i, value);
}

/* ak__ring_send() of a channel's first value: the ring first. */
static __attribute__((noinline, cold)) int send_first(struct ak__chan *c, const void *value,
                                                      struct ak_context *cx, void *op)
{
	int rc = ring_first(c);
	return rc ? rc : ak__ring_send(c, cx, op, value);
}

int ak__ring_send(struct ak__chan *c, struct ak_context *cx, void *op, const void *value)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return send_first(c, value, cx, op);
	uint64_t i;
	int rc = claim(c, r, &i);
	if (rc)
		return rc == AK_EAGAIN ? ak__mpsc_send_full(op, cx) : rc;
	ak__coop_spend(cx);
	return publish_room(c, r, i, value);
}

int ak__ring_try_reserve(struct ak__chan *c, uint64_t n)
{
	if (n > ak__ring_max_reserve(c))
		return AK_EAGAIN;
	struct ak__ring *r = ak__ring_get(c);
	if (!r) {
		int rc = ring_first(c);
		return rc ? rc : ak__ring_try_reserve(c, n);
	}
	/* acquire: as in ak__ring_try_send(). */
	uint64_t t = ak__load(&r->tail, AK__ACQUIRE);
	do {
		if (t & CLOSED)
			return AK_EPIPE;
		if ((t & WAITERS) || resv_of(c, t) + n > c->rmax || !has_room(c, r, t, n))
			return AK_EAGAIN;
	} while (!ak__cas_weak(&r->tail, &t, t + (n << RSHIFT), AK__SEQ_CST, AK__ACQUIRE));
	return 0;
}

void ak__ring_permit_send(struct ak__chan *c, const void *value)
{
	struct ak__ring *r = ak__ring_get(c);
	uint64_t t = ak__load(&r->tail, AK__RELAXED);
	/* seq_cst: as in ak__ring_try_send().  The unit we hold needs no
	 * look: publish() waits for the slot with acquire. */
	while (!ak__alone_cas(&r->tail, &t, t + ((uint64_t)1 << c->ishift) - ((uint64_t)1 << RSHIFT),
	                      AK__SEQ_CST, AK__RELAXED))
		;
	(void)publish(c, r, idx_of(c, t), value);
}

/* ---- waiting: the gate's source (core/gate.h) ---------------------------------- */

static int src_mark(void *src)
{
	struct ak__chan *c = src;
	/* seq_cst: ordered with every claim, reservation and give-back on
	 * tail; a give-back after it sees WAITERS and grants. */
	return (ak__fetch_or(&ak__ring_get(c)->tail, WAITERS, AK__SEQ_CST) & CLOSED) != 0;
}

static uint64_t src_take(void *src, uint64_t n)
{
	struct ak__chan *c = src;
	struct ak__ring *r = ak__ring_get(c);
	/* seq_cst: the waiter's half of the handshake (gate.h), after the
	 * store of `waiting`; pairs with the publication in store_head()
	 * (acquire: what the receiver copied out comes first).  Loaded
	 * before tail, so that the index read below is not older than it. */
	uint64_t h = ak__load(&r->head, AK__SEQ_CST);
	uint64_t t = ak__load(&r->tail, AK__SEQ_CST);
	for (;;) {
		uint64_t u = resv_of(c, t);
		uint64_t used = ((idx_of(c, t) - h) & c->imask) + u;
		if (used >= c->cap || u >= c->rmax)
			return 0;
		uint64_t g = c->cap - used;
		if (g > n)
			g = n;
		if (g > c->rmax - u)
			g = c->rmax - u;
		if (ak__cas_weak(&r->tail, &t, t + (g << RSHIFT), AK__SEQ_CST, AK__SEQ_CST))
			return g;
	}
}

static void src_give(void *src, uint64_t n)
{
	struct ak__chan *c = src;
	ak__fetch_sub(&ak__ring_get(c)->tail, n << RSHIFT, AK__SEQ_CST);
}

static void src_idle(void *src)
{
	struct ak__chan *c = src;
	/* release: what the last grant did comes before the fast paths'
	 * acquire loads of tail that see WAITERS clear. */
	ak__fetch_and(&ak__ring_get(c)->tail, ~WAITERS, AK__RELEASE);
}

static const struct ak__gate_source ring_source = { src_mark, src_take, src_give, src_idle };

int ak__ring_park(struct ak__chan *c, struct ak__gate_wait *a, struct ak_context *cx, uint32_t st)
{
	return ak__gate_park(&ak__ring_get(c)->gate, &ring_source, c, a, cx, st);
}

void ak__ring_cancel(struct ak__chan *c, struct ak__gate_wait *a)
{
	ak__gate_cancel(&ak__ring_get(c)->gate, &ring_source, c, a);
}

void ak__ring_give_back(struct ak__chan *c, uint64_t n)
{
	if (n == 0)
		return;
	struct ak__ring *r = ak__ring_get(c);
	/* seq_cst: ordered with src_mark() on tail: a waiter that marked
	 * before us is seen here; one after sees the units in take(). */
	if (ak__fetch_sub(&r->tail, n << RSHIFT, AK__SEQ_CST) & WAITERS)
		ak__gate_grant(&r->gate, &ring_source, c);
}

int ak__ring_is_closed(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return 0;
	/* acquire: pairs with the seq_cst fetch_or in ak__ring_close(). */
	return (ak__load(&r->tail, AK__ACQUIRE) & CLOSED) != 0;
}

void ak__ring_close(struct ak__chan *c, int senders_gone)
{
	struct ak__ring *r = NULL;
	if (senders_gone) {
		/* No sender is left to make the ring (the last one's fetch_sub
		 * read every install): none now is none for good, and the
		 * receiver reads a missing ring as closed and empty. */
		r = ak__ring_get(c);
		if (!r || r == AK__RING_NONE)
			return;
	} else if (ak__cas(&c->rb, &r, AK__RING_NONE, AK__SEQ_CST, AK__ACQUIRE) ||
	           r == AK__RING_NONE) {
		/* seq_cst: against ring_make()'s CAS: one of the two comes first. */
		return;
	}
	ak__fetch_or(&r->tail, CLOSED, AK__SEQ_CST);
	ak__gate_close(&r->gate, &ring_source, c);
}

/* ---- the receiver ------------------------------------------------------------------ */

/* The receiver's half of the handshake in core/gate.h: head is published
 * (for the seq_cst load in src_take()) before the look at `waiting`; a
 * waiter gets the units freed. */
static inline __attribute__((always_inline)) void store_head(struct ak__chan *c,
                                                             struct ak__ring *r, uint64_t h)
{
	if (ak__gate_publish(&r->gate, &r->head, h))
		ak__gate_grant_freed(&r->gate, &ring_source, c, h);
}

void ak__ring_served(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	/* relaxed: only the receiver writes head; what ak__ring_take() stored. */
	uint64_t h = ak__load(&r->head, AK__RELAXED);
	if (ak__gate_published(&r->gate, h))
		ak__gate_grant_freed(&r->gate, &ring_source, c, h);
}

/* Takes the value of index h into out if it is there: 1, else 0 (head
 * not yet stored).  may_drop: out may be AK__MPSC_DROP (a receive's never
 * is: its copy calls nothing). */
static inline __attribute__((always_inline)) int take_value(struct ak__chan *c, struct ak__ring *r,
                                                            uint64_t h, void *out, int may_drop)
{
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, r, h);
	/* acquire: pairs with the release store in publish(). */
	if (ak__load(seq, AK__ACQUIRE) != ((h + 1) & c->imask))
		return 0;
	if (may_drop)
		ak__chan_copy_out(c, out, slot_data(seq));
	else
		ak__copy_value(out, slot_data(seq), c->elem_size);
	/* release: pairs with the acquire loads in has_room() and publish():
	 * the slot's next writer copies in after this. */
	ak__store(seq, (h + c->ring) & c->imask, AK__RELEASE);
	return 1;
}

static inline int take_slot(struct ak__chan *c, struct ak__ring *r, uint64_t h, void *out)
{
	return take_value(c, r, h, out, 1);
}

size_t ak__ring_pop_many(struct ak__chan *c, struct ak__ring *r, unsigned char *buf, size_t limit,
                         size_t step)
{
	uint64_t h = ak__load(&r->head, AK__RELAXED);
	size_t n = 0;
	for (; n < limit && take_slot(c, r, h, buf + n * step); n++)
		h = (h + 1) & c->imask;
	if (n > 0)
		store_head(c, r, h);
	return n;
}

int ak__ring_pop(struct ak__chan *c, void *out)
{
	/* One value: no loop, one look at the head slot (try_recv spins on
	 * an empty look). */
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return AK_EAGAIN;
	uint64_t h = ak__load(&r->head, AK__RELAXED);
	if (!take_slot(c, r, h, out))
		return AK_EAGAIN;
	store_head(c, r, (h + 1) & c->imask);
	return 0;
}

/* ak__ring_finished() with its first look inline: the state is 0 until a
 * close.  seq_cst: the look after registering (see ak__ring_finished()). */
static inline int finished_now(struct ak__chan *c)
{
	return ak__load(&c->state, AK__SEQ_CST) != 0 && ak__ring_finished(c);
}

/*
 * A receive of one value found none at the head (h, if r): the waker, and
 * one look again.  That look is the receiver's half of the handshake in
 * publish(): a seq_cst load of tail after the seq_cst registration.  No
 * claim past head means empty (finished() then tells a close); a claim
 * means the value is there, or its sender is between its claim and its
 * store and may have looked at the waker slot before we registered: be
 * polled again.
 */
static __attribute__((noinline)) int recv_wait(struct ak__chan *c, struct ak__ring *r, uint64_t h,
                                               void *out, struct ak_context *cx)
{
	/* A finished channel registers nothing. */
	if (finished_now(c))
		return AK_EPIPE;
	int rc = ak__waker_slot_register_inline(&c->rx_waker, cx);
	if (rc)
		return rc;
	if (!r) {
		/* seq_cst: against ring_make()'s CAS (see the top); a ring
		 * once seen stays. */
		r = ak__load(&c->rb, AK__SEQ_CST);
		if (!r)
			return finished_now(c) ? AK_EPIPE : AK_PENDING;
		h = ak__load(&r->head, AK__RELAXED);
	}
	/* seq_cst: pairs with the seq_cst claim on tail. */
	if (idx_of(c, ak__load(&r->tail, AK__SEQ_CST)) == h)
		return finished_now(c) ? AK_EPIPE : AK_PENDING;
	if (!take_value(c, r, h, out, 0)) {
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	store_head(c, r, (h + 1) & c->imask);
	return 0;
}

int ak__ring_recv(struct ak__chan *c, void *out, struct ak_context *cx)
{
	struct ak__ring *r = ak__ring_get(c);
	uint64_t h = 0;
	if (r) {
		h = ak__load(&r->head, AK__RELAXED);
		if (take_value(c, r, h, out, 0)) {
			store_head(c, r, (h + 1) & c->imask);
			return 0;
		}
	}
	return recv_wait(c, r, h, out, cx);
}

int ak__ring_recv_empty(struct ak__chan *c, void *out, struct ak_context *cx)
{
	struct ak__ring *r = ak__ring_get(c);
	return recv_wait(c, r, r ? ak__load(&r->head, AK__RELAXED) : 0, out, cx);
}

/* A value is claimed but not yet readable at the head. */
int ak__ring_in_flight(struct ak__chan *c)
{
	/* seq_cst: the receiver's look after registering (see the top). */
	struct ak__ring *r = ak__load(&c->rb, AK__SEQ_CST);
	if (!r)
		return 0;
	/* seq_cst: pairs with the seq_cst claim (the receiver's half of the
	 * handshake in publish()). */
	return idx_of(c, ak__load(&r->tail, AK__SEQ_CST)) != ak__load(&r->head, AK__RELAXED);
}

/* Closed, drained and no unit reserved: recv reports AK_EPIPE. */
int ak__ring_finished(struct ak__chan *c)
{
	/* seq_cst: against the notify after the close and the RMW in
	 * ak__chan_slots_back(), which comes after the give-back on tail
	 * (the receiver registered before this look).  Once closed, reserved
	 * only falls and the index only moves for a permit's send. */
	if (!(ak__load(&c->state, AK__SEQ_CST) & (AK__MPSC_CLOSED_TX | AK__MPSC_CLOSED_RX)))
		return 0;
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return 1;
	uint64_t t = ak__load(&r->tail, AK__SEQ_CST);
	return resv_of(c, t) == 0 && idx_of(c, t) == ak__load(&r->head, AK__RELAXED);
}

/* The queries read head first, so that the index read after is not older
 * (a snapshot, no order needed beyond that of the two loads). */
size_t ak__ring_len(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return 0;
	uint64_t h = ak__load(&r->head, AK__SEQ_CST);
	uint64_t t = ak__load(&r->tail, AK__SEQ_CST);
	return (size_t)((idx_of(c, t) - h) & c->imask);
}

size_t ak__ring_capacity(struct ak__chan *c)
{
	struct ak__ring *r = ak__ring_get(c);
	if (!r)
		return c->cap;
	uint64_t h = ak__load(&r->head, AK__SEQ_CST);
	uint64_t t = ak__load(&r->tail, AK__SEQ_CST);
	uint64_t used = ((idx_of(c, t) - h) & c->imask) + resv_of(c, t);
	return used >= c->cap ? 0 : (size_t)(c->cap - used);
}
