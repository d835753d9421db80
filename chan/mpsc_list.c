/*
 * chan/mpsc_list.c: the unbounded mpsc's block list.  See chan/mpsc.c for
 * the design and chan/mpsc_chan.h for the interface.
 *
 * A send is a claim and a ready bit.  The claim is a CAS on `sent` (the
 * values counted, and CLOSED: one word, see S_ONE), which fails once
 * closed; the count before it is the value's index, and index i lives in
 * slot i mod 32 of the block that starts at i rounded down to 32.  The
 * ready bit, set with fetch_or, publishes the value.  The receiver counts
 * what it took in `received`, which only it writes, with a plain store: a
 * receive makes no read-modify-write.  Values live in linked blocks of 32
 * slots of exactly the element's size (a type's size is a multiple of its
 * alignment, and the slots start aligned for any type), so a block holds
 * 32 values in 32 x size bytes plus a 32-byte header.
 *
 * Growth comes before the claim: an index is claimed only below
 * `linked_end`, where the blocks linked so far end, so a claimed index
 * always has its block and a send that cannot grow the list (AK_ENOMEM)
 * has claimed nothing.  The sender whose index reaches linked_end links
 * the next block under `grow` (a lock taken once per 32 values), a
 * recycled spare or a new allocation.
 *
 * Reclaim (in the manner of tokio's block list): a sender finds its block
 * from tail_blk, walking `next`; tail_blk moves past a block only once all
 * its 32 values are written (so it never passes the block of a claimed
 * value not yet written), and whoever moves it records in the block the
 * count of claims it reads after the move (`released`).  Every sender
 * that still holds the block loaded tail_blk before the move and claimed
 * before that load, so its index is below the count recorded: once the
 * receiver has taken that many values, each of those senders has set its
 * ready bit, its last touch of any block.  The receiver retires the blocks
 * it finished (they stay chained from `retired` to head_blk) and recycles
 * (up to SPARES) or frees each once it has received its recorded count.  So
 * memory reached in a burst is returned, and a send makes two
 * read-modify-writes: the claim and the ready bit.
 */
#include <string.h>

#include "mpsc_chan.h"

#define BLK_SLOTS 32u
/* Reclaimed blocks kept for reuse: what a burst of the receiver gives
 * back while the senders link as many (a task's budget is 4 blocks of
 * values), so that a steady flow allocates nothing. */
#define SPARES 4u
#define READY_ALL (((uint64_t)1 << BLK_SLOTS) - 1)
/* The word `sent`: bit 0 CLOSED; bits 1-63 the values counted. */
#define S_CLOSED ((uint64_t)1)
#define S_ONE ((uint64_t)2)
#define COUNT(w) ((w) >> 1)

struct ak__blk {
	ak__atomic(uint64_t) ready;        /* bit i: slot i written */
	ak__atomic(struct ak__blk *) next;
	uint64_t start;                    /* the index of slot 0; set before the link */
	ak__atomic(uint64_t) released;     /* claims counted once tail_blk passed it; 0: not yet */
	/* BLK_SLOTS * stride bytes of values follow, aligned for any type */
	_Alignas(max_align_t) unsigned char data[];
};

_Static_assert(sizeof(struct ak__blk) == 32, "the block header is the 32 bytes counted above");

/* The size blocks are allocated with (ak__free_sized). */
static size_t blk_bytes(const struct ak__chan *c)
{
	return sizeof(struct ak__blk) + BLK_SLOTS * c->stride;
}

static unsigned char *blk_data(struct ak__chan *c, struct ak__blk *b, uint64_t i)
{
	return b->data + (size_t)i * c->stride;
}

/* Under grow (or at init): a spare block, or a new one.  The spares are
 * a stack that the receiver pushes on (spare_push()) and only the holder
 * of grow pops from, so a block on it cannot leave it meanwhile: reading
 * its next and the CAS that pops it cannot meet an ABA. */
static struct ak__blk *blk_new(struct ak__chan *c, uint64_t start)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* acquire: pairs with the release CAS in spare_push(). */
	struct ak__blk *b = ak__load(&l->spare, AK__ACQUIRE);
	while (b && !ak__cas_weak(&l->spare, &b, ak__load(&b->next, AK__RELAXED), AK__ACQUIRE,
	                          AK__ACQUIRE))
		;
	if (b) {
		ak__store(&l->spares_out, ak__load(&l->spares_out, AK__RELAXED) + 1, AK__RELAXED);
	} else {
		b = ak__alloc(blk_bytes(c));
		if (!b)
			return NULL;
	}
	ak__init(&b->ready, 0);
	ak__init(&b->next, NULL);
	ak__init(&b->released, 0);
	b->start = start;
	return b;
}

/* The receiver: b, reclaimed, onto the spares, or freed if SPARES are
 * there already (as far as it knows: spares_out may lag). */
static void spare_push(struct ak__chan *c, struct ak__blk *b)
{
	struct ak__list *l = ak__chan_list_of(c);
	if (l->spares_in - ak__load(&l->spares_out, AK__RELAXED) >= SPARES) {
		ak__free_sized(b, blk_bytes(c));
		return;
	}
	l->spares_in++;
	struct ak__blk *top = ak__load(&l->spare, AK__RELAXED);
	do
		ak__store(&b->next, top, AK__RELAXED);
	/* release: b's next, to the acquire load and CAS in blk_new(). */
	while (!ak__cas_weak(&l->spare, &top, b, AK__RELEASE, AK__RELAXED));
}

int ak__list_init(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	ak__init(&l->sent, 0);
	ak__init(&l->received, 0);
	ak__init(&l->spare, NULL);
	ak__init(&l->spares_out, 0);
	l->spares_in = 0;
	ak__lock_init(&l->grow);
	struct ak__blk *b = blk_new(c, 0);
	if (!b)
		return AK_ENOMEM;
	ak__init(&l->tail_blk, b);
	ak__init(&l->linked_end, BLK_SLOTS);
	l->last_blk = b;
	l->head_blk = b;
	l->head_i = 0;
	l->retired = NULL;
	return 0;
}

void ak__list_destroy(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	struct ak__blk *b = l->retired ? l->retired : l->head_blk, *n;
	for (; b; b = n) {
		n = ak__load(&b->next, AK__RELAXED);
		ak__free_sized(b, blk_bytes(c));
	}
	for (b = ak__load(&l->spare, AK__RELAXED); b; b = n) {
		n = ak__load(&b->next, AK__RELAXED);
		ak__free_sized(b, blk_bytes(c));
	}
	ak__lock_destroy(&l->grow);
}

/* Links the block where index idx lives, unless another sender did: 0, or
 * AK_ENOMEM. */
static __attribute__((noinline)) int grow(struct ak__chan *c, uint64_t idx)
{
	struct ak__list *l = ak__chan_list_of(c);
	int rc = 0;
	ak__lock(&l->grow);
	uint64_t end = ak__load(&l->linked_end, AK__RELAXED);
	if (end <= idx) {
		struct ak__blk *n = blk_new(c, end);
		if (n) {
			/* release: n's init, to the walkers' acquire loads of
			 * next (find_blk(), ak__list_pop()). */
			ak__store(&l->last_blk->next, n, AK__RELEASE);
			l->last_blk = n;
			/* release: the link, to the acquire load in
			 * ak__list_send() that lets a claim below the end. */
			ak__store(&l->linked_end, end + BLK_SLOTS, AK__RELEASE);
		} else {
			rc = AK_ENOMEM;
		}
	}
	ak__unlock(&l->grow);
	return rc;
}

/* tail_blk moved past b, by this thread: records the claims made so far
 * (see the top).  seq_cst: after the seq_cst CAS on tail_blk, so that it
 * counts every claim made before a load of tail_blk that found b. */
static void release_blk(struct ak__list *l, struct ak__blk *b)
{
	uint64_t n = COUNT(ak__load(&l->sent, AK__SEQ_CST));
	/* release: pairs with the acquire load in reclaim(). */
	ak__store(&b->released, n, AK__RELEASE);
}

/* Moves tail_blk from b to nx if b is full and tail_blk is still there. */
static void pass_blk(struct ak__list *l, struct ak__blk *b, struct ak__blk *nx)
{
	/* acquire: every value of b written (pairs with their fetch_ors). */
	if (ak__load(&b->ready, AK__ACQUIRE) != READY_ALL)
		return;
	struct ak__blk *cur = b;
	/* seq_cst: against the senders' seq_cst loads of tail_blk (see
	 * release_blk()). */
	if (ak__cas(&l->tail_blk, &cur, nx, AK__SEQ_CST, AK__RELAXED))
		release_blk(l, b);
}

/* The block of index idx, claimed: it is linked (grow() came first),
 * and at or after tail_blk (tail_blk never passes an unwritten value). */
static struct ak__blk *find_far(struct ak__list *l, struct ak__blk *b, uint64_t idx)
{
	do {
		/* acquire: pairs with the release store in grow(). */
		struct ak__blk *nx = ak__load(&b->next, AK__ACQUIRE);
		pass_blk(l, b, nx);
		b = nx;
	} while (idx - b->start >= BLK_SLOTS);
	return b;
}

/* A parked receiver to wake: out of the send's frame. */
static __attribute__((noinline)) int wake_rx(struct ak__chan *c, uint64_t s)
{
	ak__waker_slot_wake(&c->rx_waker, s);
	return 0;
}

static int put_big(struct ak__chan *c, struct ak__blk *b, uint64_t idx, const void *value);

/* Index idx is claimed in b: the value (big: of any size, else one that
 * ak__copy_small() copies, or put_big()), its ready bit, the notify.  The
 * fast path calls nothing but in tail position (no register to save). */
static inline __attribute__((always_inline)) int put(struct ak__chan *c, struct ak__blk *b,
                                                     uint64_t idx, const void *value, int big)
{
	uint64_t i = idx & (BLK_SLOTS - 1);
	if (big)
		ak__copy_value(blk_data(c, b, i), value, c->elem_size);
	else if (!ak__copy_small(blk_data(c, b, i), value, c->elem_size))
		return put_big(c, b, idx, value);
	/* seq_cst: publishes the value to the receiver's seq_cst load of
	 * ready, before the notify's look at the slot. */
	ak__fetch_or(&b->ready, (uint64_t)1 << i, AK__SEQ_CST);
	/* ak__waker_slot_notify(), its look inline.  seq_cst: after the
	 * fetch_or (see core/waker_slot.h). */
	uint64_t s = ak__load(&c->rx_waker.state, AK__SEQ_CST);
	if (s & AK__WAKER_SLOT_BIT)
		return wake_rx(c, s);
	return 0;
}

static __attribute__((noinline)) int put_far(struct ak__chan *c, struct ak__blk *b, uint64_t idx,
                                             const void *value)
{
	return put(c, find_far(ak__chan_list_of(c), b, idx), idx, value, 1);
}

static __attribute__((noinline)) int put_big(struct ak__chan *c, struct ak__blk *b, uint64_t idx,
                                             const void *value)
{
	return put(c, b, idx, value, 1);
}

/* Index idx is claimed: its block from tail_blk. */
static inline __attribute__((always_inline)) int put_at(struct ak__chan *c, uint64_t idx,
                                                        const void *value)
{
	/* seq_cst: after the claim (see release_blk()). */
	struct ak__blk *b = ak__load(&ak__chan_list_of(c)->tail_blk, AK__SEQ_CST);
	if (idx - b->start >= BLK_SLOTS)
		return put_far(c, b, idx, value);
	return put(c, b, idx, value, 0);
}

/* A send that claimed spends a unit of cx's budget (cx NULL: none). */
static inline __attribute__((always_inline)) void spend(struct ak_context *cx)
{
	if (cx)
		ak__coop_spend(cx);
}

/* The claim, with its waits and failures: a close, a block to link, a
 * CAS lost. */
static __attribute__((noinline)) int send_slow(struct ak__chan *c, const void *value,
                                               struct ak_context *cx)
{
	struct ak__list *l = ak__chan_list_of(c);
	uint64_t w = ak__load(&l->sent, AK__RELAXED);
	for (;;) {
		if (w & S_CLOSED)
			return AK_EPIPE;
		/* acquire: pairs with the release store in grow(). */
		if (COUNT(w) >= ak__load(&l->linked_end, AK__ACQUIRE)) {
			int rc = grow(c, COUNT(w));
			if (rc)
				return rc;
			w = ak__load(&l->sent, AK__RELAXED);
			continue;
		}
		/* seq_cst: as in send(). */
		if (ak__cas_weak(&l->sent, &w, w + S_ONE, AK__SEQ_CST, AK__RELAXED)) {
			spend(cx);
			return put_at(c, COUNT(w), value);
		}
	}
}

static inline __attribute__((always_inline)) int send(struct ak__chan *c, const void *value,
                                                      struct ak_context *cx)
{
	struct ak__list *l = ak__chan_list_of(c);
	uint64_t w = ak__load(&l->sent, AK__RELAXED);
	/* The claim: open, below the blocks linked (acquire: pairs with the
	 * release store in grow()), and the CAS, seq_cst: before the load of
	 * tail_blk (see release_blk()).  Anything else: send_slow().  A
	 * claim is a send: nothing after it fails. */
	if ((w & S_CLOSED) || COUNT(w) >= ak__load(&l->linked_end, AK__ACQUIRE) ||
	    !ak__cas_weak(&l->sent, &w, w + S_ONE, AK__SEQ_CST, AK__RELAXED))
		return send_slow(c, value, cx);
	spend(cx);
	return put_at(c, COUNT(w), value);
}

int ak__list_send(struct ak__chan *c, const void *value)
{
	return send(c, value, NULL);
}

int ak__list_send_spend(struct ak__chan *c, const void *value, struct ak_context *cx)
{
	return send(c, value, cx);
}

/* The receiver: recycles or frees the retired blocks, oldest first, each
 * once it has received the claims counted when tail_blk passed it. */
static void reclaim(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	uint64_t got = ak__load(&l->received, AK__RELAXED);
	while (l->retired) {
		struct ak__blk *b = l->retired;
		/* acquire: pairs with the release store in release_blk(). */
		uint64_t n = ak__load(&b->released, AK__ACQUIRE);
		if (n == 0 || n > got)
			return;
		struct ak__blk *nx = ak__load(&b->next, AK__RELAXED);
		l->retired = nx == l->head_blk ? NULL : nx;
		spare_push(c, b);
	}
}

/* The head block is finished: on to the next one if it is linked (0),
 * else AK_EAGAIN. */
static __attribute__((noinline)) int next_blk(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	struct ak__blk *b = l->head_blk;
	/* acquire: pairs with the release store in grow(). */
	struct ak__blk *nx = ak__load(&b->next, AK__ACQUIRE);
	if (!nx) {
		reclaim(c);
		return AK_EAGAIN;
	}
	/* If no sender moved tail_blk past b, the receiver does (b is
	 * full), so that b can be released. */
	pass_blk(l, b, nx);
	if (!l->retired)
		l->retired = b;
	l->head_blk = nx;
	l->head_i = 0;
	reclaim(c);
	return 0;
}

/* How take_here() hands the value over. */
enum {
	TAKE_COPY,     /* into out, a receive's */
	TAKE_POP,      /* into out, or dropped (out AK__MPSC_DROP) */
	TAKE_INLINE,   /* into out if ak__copy_small() copies it: calls nothing */
};

/* The head value into out (mode: how) if it is ready in the head block:
 * 0, or 1 when it was the block's last (the caller then calls
 * ak__list_blk_done()); AK_EAGAIN, nothing taken. */
static inline __attribute__((always_inline)) int take_here(struct ak__chan *c, void *out, int mode)
{
	struct ak__list *l = ak__chan_list_of(c);
	uint32_t i = l->head_i;
	struct ak__blk *b = l->head_blk;
	/* seq_cst: pairs with the seq_cst fetch_or in put(). */
	if (i == BLK_SLOTS || !(ak__load(&b->ready, AK__SEQ_CST) & ((uint64_t)1 << i)))
		return AK_EAGAIN;
	if (mode == TAKE_POP)
		ak__chan_copy_out(c, out, blk_data(c, b, i));
	else if (mode == TAKE_COPY)
		ak__copy_value(out, blk_data(c, b, i), c->elem_size);
	else if (!ak__copy_small(out, blk_data(c, b, i), c->elem_size))
		return AK_EAGAIN;
	l->head_i = i + 1;
	/* Relaxed: only the receiver writes it; len() only estimates. */
	ak__store(&l->received, ak__load(&l->received, AK__RELAXED) + 1, AK__RELAXED);
	return i + 1 == BLK_SLOTS;
}

/* The block's last value was taken: on to the next block now, so that
 * the blocks retired before are looked at with this value counted (a
 * drained burst gives its memory back without another receive).  0. */
int ak__list_blk_done(struct ak__chan *c)
{
	next_blk(c);
	return 0;
}

/* take_here(), and if the head block is finished, the next one; blocks
 * retired while senders could reach them are looked at again when empty.
 * 0 or AK_EAGAIN. */
static int take(struct ak__chan *c, void *out, int mode)
{
	struct ak__list *l = ak__chan_list_of(c);
	if (l->head_i == BLK_SLOTS && next_blk(c) != 0)
		return AK_EAGAIN;
	int rc = take_here(c, out, mode);
	if (rc == 1)
		return ak__list_blk_done(c);
	if (rc != 0 && l->retired)
		reclaim(c);
	return rc;
}

int ak__list_pop(struct ak__chan *c, void *out)
{
	return take(c, out, TAKE_POP);
}

int ak__list_take(struct ak__chan *c, void *out)
{
	return take_here(c, out, TAKE_INLINE);
}

int ak__list_recv(struct ak__chan *c, void *out, struct ak_context *cx)
{
	if (take(c, out, TAKE_COPY) == 0)
		return 0;
	/* A finished channel registers nothing. */
	if (ak__list_finished(c))
		return AK_EPIPE;
	int rc = ak__waker_slot_register(&c->rx_waker, cx);
	if (rc)
		return rc;
	if (take(c, out, TAKE_COPY) == 0)
		return 0;
	return ak__list_finished(c) ? AK_EPIPE : AK_PENDING;
}

/* A value is claimed but not yet readable at the head (the receiver's
 * view: received is its own). */
int ak__list_in_flight(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* seq_cst: pairs with the seq_cst claim. */
	return COUNT(ak__load(&l->sent, AK__SEQ_CST)) != ak__load(&l->received, AK__RELAXED);
}

int ak__list_finished(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* seq_cst: pairs with the seq_cst fetch_or in ak__list_close(); once
	 * closed the count no longer moves. */
	uint64_t w = ak__load(&l->sent, AK__SEQ_CST);
	return (w & S_CLOSED) && COUNT(w) == ak__load(&l->received, AK__RELAXED);
}

size_t ak__list_len(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* Relaxed, received first: sent only grows past it. */
	uint64_t r = ak__load(&l->received, AK__RELAXED);
	return (size_t)(COUNT(ak__load(&l->sent, AK__RELAXED)) - r);
}

void ak__list_close(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* seq_cst: pairs with the seq_cst load in ak__list_finished(). */
	ak__fetch_or(&l->sent, S_CLOSED, AK__SEQ_CST);
}
