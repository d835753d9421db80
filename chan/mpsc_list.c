/*
 * chan/mpsc_list.c: the unbounded mpsc's block list.  See chan/mpsc.c for
 * the design and chan/mpsc_chan.h for the interface.
 *
 * Two counts replace the semaphore: `sent` (the values counted, the
 * senders inside the block list, and CLOSED: one word, see S_SHIFT), which
 * senders take with a CAS that fails once closed, and `received`,
 * which only the receiver writes, with a plain store: a receive makes no
 * read-modify-write, and no line goes back and forth with every value.
 * What is unreceived is sent - received.  Values live in linked blocks of
 * 32 slots of exactly the element's size (a type's size is a multiple of
 * its alignment, and the slots start aligned for any type), so a block
 * holds 32 values in 32 x size bytes plus a 32-byte header.  A
 * sender claims a slot with fetch_add on the tail block's claim counter;
 * the one that overflows a block links the next one (a recycled spare or a
 * new allocation) and every sender helps move tail_blk along.  Blocks the
 * receiver has finished are retired; they are recycled (one spare) or
 * freed once no sender is inside the block list (the active senders,
 * counted in `sent` by the same CAS that counts the value: a sender that
 * enters after the receiver saw them at zero loads a tail_blk already past
 * every retired block).  So memory reached in a burst is returned, and a
 * send makes four read-modify-writes: the CAS in, the slot's claim, its
 * ready bit, and the subtraction out.
 */
#include "mpsc_chan.h"

#define BLK_SLOTS 32u
/* The word `sent`: bit 0 CLOSED; bits 1-23 the senders inside push()
 * (at most one per running thread); bits 24-63 the values counted, modulo
 * 2^40, as the receiver's `received` is compared (COUNT()): what is
 * unreceived never comes near 2^40. */
#define S_CLOSED ((uint64_t)1)
#define A_ONE ((uint64_t)2)
#define A_MASK ((((uint64_t)1 << S_SHIFT) - 1) & ~S_CLOSED)
#define S_SHIFT 24
#define S_ONE ((uint64_t)1 << S_SHIFT)
#define COUNT(x) ((x) & (UINT64_MAX >> S_SHIFT))

struct ak__blk {
	ak__atomic(uint64_t) ready;        /* bit i: slot i written */
	ak__atomic(uint32_t) claim;        /* slots claimed; may pass BLK_SLOTS */
	ak__atomic(struct ak__blk *) next;
	struct ak__blk *retired_next;      /* receiver only */
	/* BLK_SLOTS * stride bytes of values follow, aligned for any type */
	_Alignas(max_align_t) unsigned char data[];
};

_Static_assert(sizeof(struct ak__blk) == 32, "the block header is the 32 bytes counted above");

/* The size blocks are allocated with (ak__free_sized). */
static size_t blk_bytes(const struct ak__chan *c)
{
	return sizeof(struct ak__blk) + BLK_SLOTS * c->stride;
}

static unsigned char *blk_data(struct ak__chan *c, struct ak__blk *b, uint32_t i)
{
	return b->data + (size_t)i * c->stride;
}

static struct ak__blk *blk_new(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* acquire: pairs with the release store in reclaim(). */
	struct ak__blk *b = ak__xchg(&l->spare, NULL, AK__ACQUIRE);
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

int ak__list_init(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	ak__init(&l->sent, 0);
	ak__init(&l->received, 0);
	ak__init(&l->spare, NULL);
	struct ak__blk *b = blk_new(c);
	if (!b)
		return AK_ENOMEM;
	ak__init(&l->tail_blk, b);
	l->head_blk = b;
	l->head_i = 0;
	return 0;
}

void ak__list_destroy(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	struct ak__blk *b = l->head_blk, *n;
	for (; b; b = n) {
		n = ak__load(&b->next, AK__RELAXED);
		ak__free_sized(b, blk_bytes(c));
	}
	for (b = l->retired; b; b = n) {
		n = b->retired_next;
		ak__free_sized(b, blk_bytes(c));
	}
	ak__free_sized(ak__load(&l->spare, AK__RELAXED), blk_bytes(c));
}

/* The receiver: recycle or free the retired blocks once no sender can
 * still reach them. */
static void reclaim(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	if (!l->retired)
		return;
	/* seq_cst: pairs with the seq_cst CAS that lets a sender in
	 * (ak__list_send()); our seq_cst CAS on tail_blk came before (see
	 * the top of the file). */
	if (ak__load(&l->sent, AK__SEQ_CST) & A_MASK)
		return;
	while (l->retired) {
		struct ak__blk *b = l->retired;
		l->retired = b->retired_next;
		if (ak__load(&l->spare, AK__RELAXED) == NULL) {
			/* release: pairs with the acquire exchange in blk_new(). */
			ak__store(&l->spare, b, AK__RELEASE);
		} else {
			ak__free_sized(b, blk_bytes(c));
		}
	}
}

/* The count is already taken and the sender counted in; 0, or AK_ENOMEM
 * with the count given back. */
static int push(struct ak__chan *c, const void *value)
{
	struct ak__list *l = ak__chan_list_of(c);
	int rc = 0;
	for (;;) {
		/* seq_cst: after the CAS that counted us in (see reclaim()). */
		struct ak__blk *b = ak__load(&l->tail_blk, AK__SEQ_CST);
		uint32_t i = ak__fetch_add(&b->claim, 1, AK__RELAXED);
		if (i < BLK_SLOTS) {
			ak__copy_value(blk_data(c, b, i), value, c->elem_size);
			/* seq_cst: publishes the value to ak__list_pop()'s
			 * seq_cst load, before the notify's look at the slot. */
			ak__fetch_or(&b->ready, (uint64_t)1 << i, AK__SEQ_CST);
			break;
		}
		/* acquire: pairs with the release CAS that linked it. */
		struct ak__blk *nx = ak__load(&b->next, AK__ACQUIRE);
		if (!nx) {
			struct ak__blk *n = blk_new(c);
			if (!n) {
				rc = AK_ENOMEM;
				break;
			}
			struct ak__blk *expect = NULL;
			/* release: the new block's init is visible to whoever
			 * loads next (acquire above and in ak__list_pop()). */
			if (ak__cas(&b->next, &expect, n, AK__ACQ_REL, AK__ACQUIRE)) {
				nx = n;
			} else {
				ak__free_sized(n, blk_bytes(c));   /* never published */
				nx = expect;
			}
		}
		struct ak__blk *cur = b;
		/* seq_cst: tail_blk only moves forward; pairs with the seq_cst
		 * loads of tail_blk (senders) and reclaim()'s argument. */
		ak__cas(&l->tail_blk, &cur, nx, AK__SEQ_CST, AK__SEQ_CST);
	}
	/* release: our accesses to blocks come before the receiver's seq_cst
	 * load that sees no sender inside; a failed push gives its count
	 * back in the same subtraction (the receiver's acquire load of
	 * sent pairs with it). */
	ak__fetch_sub(&l->sent, rc ? A_ONE + S_ONE : A_ONE, AK__RELEASE);
	ak__waker_slot_notify(&c->rx_waker);
	return rc;
}

int ak__list_send(struct ak__chan *c, const void *value)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* The "permit": one more unreceived value unless closed, and one
	 * more sender inside the block list, in one CAS.  seq_cst: pairs
	 * with the seq_cst load in reclaim(). */
	uint64_t w = ak__load(&l->sent, AK__RELAXED);
	for (;;) {
		if (w & S_CLOSED)
			return AK_EPIPE;
		if (ak__cas_weak(&l->sent, &w, w + S_ONE + A_ONE, AK__SEQ_CST, AK__RELAXED))
			break;
	}
	return push(c, value);
}

int ak__list_pop(struct ak__chan *c, void *out)
{
	struct ak__list *l = ak__chan_list_of(c);
	struct ak__blk *b = l->head_blk;
	if (l->head_i == BLK_SLOTS) {
		/* seq_cst: pairs with the release CAS that linked it. */
		struct ak__blk *nx = ak__load(&b->next, AK__SEQ_CST);
		if (!nx) {
			reclaim(c);
			return AK_EAGAIN;
		}
		/* No sender may keep finding the finished block: tail_blk is
		 * moved past it before it is retired (see reclaim()). */
		struct ak__blk *cur = b;
		/* seq_cst: before reclaim()'s seq_cst load of sent. */
		ak__cas(&l->tail_blk, &cur, nx, AK__SEQ_CST, AK__SEQ_CST);
		b->retired_next = l->retired;
		l->retired = b;
		l->head_blk = b = nx;
		l->head_i = 0;
		reclaim(c);
	}
	/* seq_cst: pairs with the seq_cst fetch_or in push(). */
	uint64_t ready = ak__load(&b->ready, AK__SEQ_CST);
	if (!(ready & ((uint64_t)1 << l->head_i))) {
		reclaim(c);    /* blocks retired while a sender was inside */
		return AK_EAGAIN;
	}
	ak__chan_copy_out(c, out, blk_data(c, b, l->head_i));
	l->head_i++;
	/* Relaxed: only the receiver writes it; len() only estimates. */
	ak__store(&l->received, ak__load(&l->received, AK__RELAXED) + 1, AK__RELAXED);
	return 0;
}

/* A value is counted but not yet readable at the head (the receiver's
 * view: received is its own). */
int ak__list_in_flight(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* acquire: pairs with the release decrement of a failed push. */
	return (ak__load(&l->sent, AK__ACQUIRE) >> S_SHIFT) !=
	       COUNT(ak__load(&l->received, AK__RELAXED));
}

int ak__list_finished(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* seq_cst: pairs with the seq_cst fetch_or in ak__list_close() and
	 * the release decrement of a failed push. */
	uint64_t w = ak__load(&l->sent, AK__SEQ_CST);
	return (w & S_CLOSED) && (w >> S_SHIFT) == COUNT(ak__load(&l->received, AK__RELAXED));
}

size_t ak__list_len(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* Relaxed, received first: sent only grows past it (a failed push
	 * takes back a value never received). */
	uint64_t r = ak__load(&l->received, AK__RELAXED);
	uint64_t s = ak__load(&l->sent, AK__RELAXED) >> S_SHIFT;
	uint64_t n = COUNT(s - r);
	/* A count not yet given back by a failed push may lag: never
	 * "negative" (a wrap past half the range). */
	return n < ((UINT64_MAX >> S_SHIFT) >> 1) ? (size_t)n : 0;
}

void ak__list_close(struct ak__chan *c)
{
	struct ak__list *l = ak__chan_list_of(c);
	/* seq_cst: pairs with the seq_cst load in ak__list_finished(). */
	ak__fetch_or(&l->sent, S_CLOSED, AK__SEQ_CST);
}
