/*
 * core/waker_slot.h: one waiter's waker, registered and taken without a
 * lock, in the manner of tokio's AtomicWaker.  Internal; the mpsc
 * receiver and both sides of oneshot (the receiver, the sender's closed())
 * use it.
 *
 * A waker cell holds at most one kept clone (ak__waker_keep); it is
 * published through a bit of an atomic word that the caller owns (its
 * flags in bits 0-7, the bits from AK__WAKER_GEN up counting
 * registrations), so that a channel whose condition lives in the same word
 * registers and looks at its condition in one RMW, and a notifier makes
 * its condition true and takes the waker in one CAS (oneshot).  A waker
 * slot is a cell with a word of its own, for a condition that lives
 * elsewhere (mpsc).
 *
 *   bit set    the cell holds the registering side's clone, and it is
 *              that side's.  Only the registering side sets the bit, with
 *              an RMW that also counts a registration; it writes the cell
 *              only while the bit is clear.
 *   taking     a notifier reads the cell after an acquire look at the word
 *              with the bit set, then clears the bit in a CAS from that
 *              very word: the CAS succeeds only if nothing was registered
 *              since (the count would have moved), so its copy is the
 *              registered clone, now the notifier's to wake, even after
 *              the word's owner is gone.  A torn copy (the registering
 *              side rewriting the cell meanwhile) fails the CAS and is
 *              never used; the cell's words are atomics for that reason.
 *   bit clear  whoever's RMW cleared it owns what the cell held: the
 *              registering side drops it (unregister, or a new
 *              registration), a notifier wakes it.  What stays in the cell
 *              then is stale: nothing drops it (ak__waker_cell_free looks
 *              at the bit).
 *
 * The handshake that makes it lossless: the registering side's RMW that
 * sets the bit is seq_cst, and it looks at its condition again after it
 * (in that RMW's result when the condition lives in the word); a notifier
 * makes its condition true first (a seq_cst RMW, or the CAS that takes)
 * and then looks at the bit (a seq_cst load): of the two looks, one sees
 * the other's write.  2^56 registrations inside one notifier's window
 * between its look and its CAS would be needed to fool the count.
 *
 *   call                                 thread
 *   ak__waker_slot_init, _free           one, nothing else running
 *   ak__waker_cell_free
 *   ak__waker_cell_register, _unregister the registering side (one at a
 *   ak__waker_slot_register, _unregister time)
 *   ak__waker_cell_take, _notify         any
 *   ak__waker_slot_notify
 */
#ifndef AK_CORE_WAKER_SLOT_H
#define AK_CORE_WAKER_SLOT_H

#include "core.h"

/* One registration; the caller's flags live below it. */
#define AK__WAKER_GEN ((uint64_t)1 << 8)

struct ak__waker_cell {
	ak__atomic(const void *) data;
	ak__atomic(const struct ak_waker_vtable *) vtable;
};

/* The cell's words are ordered by the word's RMWs alone: relaxed here,
 * each caller says which acquire made them readable. */
static inline struct ak_waker ak__waker_cell_peek(struct ak__waker_cell *c)
{
	struct ak_waker w = {
		ak__load(&c->data, AK__RELAXED),
		ak__load(&c->vtable, AK__RELAXED),
	};
	return w;
}

/*
 * ak__waker_cell_register_at() with the bit known clear (nothing
 * registered: a first poll, or a caller that looked): the clone, the cell
 * written, the RMW.  Same results.
 */
static inline __attribute__((always_inline)) int
ak__waker_cell_register_clear(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                              uint64_t bit, uint64_t reg, uint64_t *sp, struct ak_context *cx)
{
	struct ak_waker w;
	int rc = ak__waker_keep_uncounted(&cx->waker, &w);
	if (rc)
		return rc;
	ak__store(&c->data, w.data, AK__RELAXED);
	ak__store(&c->vtable, w.vtable, AK__RELAXED);
	ak__count_kept();
	/* The bit is clear (only this side sets it): the add sets it and
	 * counts the registration.  seq_cst: the handshake (see the top);
	 * release: publishes the cell to a notifier's acquire look at the
	 * word; acquire: pairs with a notifier's CAS that came first. */
	*sp = ak__alone_fetch_add(word, bit + reg, AK__SEQ_CST);
	return 0;
}

/*
 * Leaves a clone of cx's waker registered under bit, or keeps the one
 * registered when it will_wake the same task (no clone, no RMW).  *sp is
 * the caller's latest acquire look at the word; on return, the word as the
 * registering RMW found it (bit clear), or unchanged when it kept the
 * registration: the caller looks at its condition there, or after.  0, or
 * AK_ENOMEM with nothing registered.  reg: one registration in the word's
 * count (AK__WAKER_GEN in ak__waker_cell_register(); the notify core keeps
 * another count below its own).
 */
static inline __attribute__((always_inline)) int
ak__waker_cell_register_at(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                           uint64_t bit, uint64_t reg, uint64_t *sp, struct ak_context *cx)
{
	uint64_t s = *sp;
	if (s & bit) {
		struct ak_waker old = ak__waker_cell_peek(c);
		if (ak__waker_same(&old, &cx->waker))
			return 0;
		/* acquire: pairs with a notifier's release CAS: if it came
		 * first, it took the clone (the bit is clear) and its condition
		 * is visible; if this comes first, its CAS fails and it never
		 * uses what it may read of the cell rewritten below. */
		s = ak__fetch_and(word, ~bit, AK__ACQUIRE);
		if (s & bit)
			ak__waker_drop_kept(&old);
	}
	return ak__waker_cell_register_clear(c, word, bit, reg, sp, cx);
}

static inline __attribute__((always_inline)) int
ak__waker_cell_register(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                        uint64_t bit, uint64_t *sp, struct ak_context *cx)
{
	return ak__waker_cell_register_at(c, word, bit, AK__WAKER_GEN, sp, cx);
}

/* Takes back the registered clone, unless a notifier took it (it wakes it
 * then: a spurious wake at worst). */
static inline void ak__waker_cell_unregister(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                                             uint64_t bit)
{
	/* relaxed: only this side sets the bit. */
	if (!(ak__load(word, AK__RELAXED) & bit))
		return;
	/* acquire: as in ak__waker_cell_register(). */
	if (ak__fetch_and(word, ~bit, AK__ACQUIRE) & bit) {
		struct ak_waker old = ak__waker_cell_peek(c);
		ak__waker_drop_kept(&old);
	}
}

/*
 * One try of a notifier's CAS from *sp (an acquire look at the word) to
 * want, taking the waker registered under bit if *sp has it (want's bit is
 * cleared).  1: done, and *w is the registered clone, now the caller's to
 * wake (or empty); 0: *sp is the word as it is now (acquire), to compute
 * want again.  acq_rel: the release publishes the caller's condition to
 * the registering side's acquire RMWs.  ak__waker_cell_take_want() is its
 * first half: the clone to take and the word to write, given the look s.
 */
static inline uint64_t ak__waker_cell_take_want(struct ak__waker_cell *c, uint64_t bit,
                                                uint64_t s, uint64_t want,
                                                struct ak_waker *w)
{
	*w = (struct ak_waker){ NULL, NULL };
	if (s & bit) {
		*w = ak__waker_cell_peek(c);
		want &= ~bit;
	}
	return want;
}

static inline int ak__waker_cell_take(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                                      uint64_t bit, uint64_t *sp, uint64_t want,
                                      struct ak_waker *w)
{
	want = ak__waker_cell_take_want(c, bit, *sp, want, w);
	return ak__alone_cas(word, sp, want, AK__ACQ_REL, AK__ACQUIRE);
}

/* ak__waker_cell_take() where *sp is the caller's own look, with nothing
 * written to the word since (ak__alone_cas_looked()). */
static inline int ak__waker_cell_take_looked(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                                             uint64_t bit, uint64_t *sp, uint64_t want,
                                             struct ak_waker *w)
{
	want = ak__waker_cell_take_want(c, bit, *sp, want, w);
	return ak__alone_cas_looked(word, sp, want, AK__ACQ_REL, AK__ACQUIRE);
}

/* ak__waker_cell_notify() found the bit set in s: takes the clone and
 * wakes it, unless another notifier or the registering side took it.
 * Returns 0, always: a notifier that returns 0 after it (a send) calls it
 * in tail position, with no frame of its own. */
int ak__waker_cell_wake(struct ak__waker_cell *c, ak__atomic(uint64_t) *word, uint64_t bit,
                        uint64_t s);

/* Wakes the clone registered under bit, if any: after the caller's seq_cst
 * RMW that made its condition true.  The look inline: a notifier that
 * finds nobody registered makes no call.  0, always (as
 * ak__waker_cell_wake()). */
static inline int ak__waker_cell_notify(struct ak__waker_cell *c, ak__atomic(uint64_t) *word,
                                        uint64_t bit)
{
	/* seq_cst: comes after the caller's seq_cst RMW; pairs with the
	 * seq_cst RMW that sets the bit in ak__waker_cell_register(), after
	 * which the registering side looks at its condition again: of the two
	 * looks, one sees the other's write.  Acquire for the cell. */
	uint64_t s = ak__load(word, AK__SEQ_CST);
	if (s & bit)
		return ak__waker_cell_wake(c, word, bit, s);
	return 0;
}

/* Drops the clone if s, the word at the end, has the bit. */
static inline void ak__waker_cell_free(struct ak__waker_cell *c, uint64_t s, uint64_t bit)
{
	if (s & bit) {
		struct ak_waker old = ak__waker_cell_peek(c);
		ak__waker_drop_kept(&old);
	}
}

/* ---- a cell with a word of its own ----------------------------------------- */

/*
 * A waker slot keeps its clone across a wake while the process has one
 * thread (ak__alone(): nobody can drop the clone while a notifier wakes
 * it): the notifier wakes it by reference and leaves it in the cell, and
 * the next registration of the same waker re-arms the slot with no clone.
 * With threads, a notifier takes the clone as a cell's does (above).
 *
 *   BIT     registered: a notifier wakes the cell's clone (the cell's bit)
 *   KEPT    the cell holds the registering side's clone: set with BIT by
 *           a registration; cleared by whoever takes the clone (a
 *           notifier with threads, the registering side letting it go)
 *   BYREF   a notifier alone woke the clone by reference and left it;
 *           cleared by the re-arm alone.  A thread started inside that
 *           wake_by_ref may still be in it when the registering side,
 *           now with threads, lets the clone go: it puts it aside
 *           (retired, dropped by ak__waker_slot_free()) instead of
 *           dropping it.  The process has one thread only before its
 *           first thread starts, so that happens once at most.
 */
#define AK__WAKER_SLOT_BIT ((uint64_t)1)
#define AK__WAKER_SLOT_KEPT ((uint64_t)2)
#define AK__WAKER_SLOT_BYREF ((uint64_t)4)

struct ak__waker_slot {
	struct ak__waker_cell cell;
	ak__atomic(uint64_t) state;
	struct ak_waker retired;   /* see BYREF; the registering side's */
};

void ak__waker_slot_init(struct ak__waker_slot *s);
/* Drops the clone if one is still kept, and the one put aside. */
void ak__waker_slot_free(struct ak__waker_slot *s);
/* The registering side takes back the kept clone, unless a notifier took
 * it, and drops it (or puts it aside: BYREF).  Nothing kept after. */
void ak__waker_slot_let_go(struct ak__waker_slot *s);

/* Leaves a clone of cx's waker registered (or keeps the one kept when it
 * will_wake the same task: re-armed alone with no clone); the caller then
 * looks at its condition again.  0 or AK_ENOMEM.  _inline: always inline,
 * for a caller whose frame the clone's call needs anyway (one frame
 * instead of two); elsewhere the compiler decides. */
static inline __attribute__((always_inline)) int
ak__waker_slot_register_inline(struct ak__waker_slot *s, struct ak_context *cx)
{
	/* acquire: pairs with a notifier's release CAS: the clone it took is
	 * no longer read from the cell. */
	uint64_t st = ak__load(&s->state, AK__ACQUIRE);
	if (st & AK__WAKER_SLOT_KEPT) {
		struct ak_waker old = ak__waker_cell_peek(&s->cell);
		if (ak__waker_same(&old, &cx->waker)) {
			if (st & AK__WAKER_SLOT_BIT)
				return 0;
			if (ak__alone()) {
				/* Alone: no notifier between this look and the
				 * store (ak__alone_fetch_add()'s reasoning); the
				 * wake by reference that left the clone has
				 * returned. */
				ak__store(&s->state,
				          (st & ~AK__WAKER_SLOT_BYREF) + AK__WAKER_SLOT_BIT + AK__WAKER_GEN,
				          AK__RELAXED);
				return 0;
			}
		}
		ak__waker_slot_let_go(s);
	}
	/* Nothing kept (only this side sets BIT and KEPT): the add sets both
	 * (see ak__waker_cell_register_clear()). */
	return ak__waker_cell_register_clear(&s->cell, &s->state,
	                                     AK__WAKER_SLOT_BIT | AK__WAKER_SLOT_KEPT, AK__WAKER_GEN,
	                                     &st, cx);
}

static inline int ak__waker_slot_register(struct ak__waker_slot *s, struct ak_context *cx)
{
	return ak__waker_slot_register_inline(s, cx);
}
/* Takes back the kept clone, unless a waker took it (it wakes it then: a
 * spurious wake at worst). */
void ak__waker_slot_unregister(struct ak__waker_slot *s);
/* ak__waker_slot_notify() found BIT in st: wakes the clone (by reference
 * alone, else taken and by value), unless another notifier or the
 * registering side took it.  0, always. */
int ak__waker_slot_wake(struct ak__waker_slot *s, uint64_t st);
/* Wakes the registered clone, if any; comes after the caller's seq_cst
 * RMW.  0, always. */
static inline int ak__waker_slot_notify(struct ak__waker_slot *s)
{
	/* seq_cst: as in ak__waker_cell_notify(). */
	uint64_t st = ak__load(&s->state, AK__SEQ_CST);
	if (st & AK__WAKER_SLOT_BIT)
		return ak__waker_slot_wake(s, st);
	return 0;
}

#endif
