/* core/barge.c: the barging lock with eventual fairness.  See barge.h. */
#include <awaitkit/block_on.h>

#include "barge.h"

#define LOCKED 1u
#define WAITERS 2u       /* the queue is not empty; changed under the lock */
#define WOKEN 4u         /* a woken waiter owes a retry; changed under the lock
                            or by that waiter's CAS that takes the word */
#define HANDOFF 8u       /* starvation mode; set under the lock */

void ak__barge_init(struct ak__barge *b)
{
	ak__init(&b->word, 0);
	ak__lock_init(&b->lock);
	ak__waitq_init(&b->waiters);
}

int ak__barge_destroy(struct ak__barge *b)
{
	ak__lock(&b->lock);
	/* A woken waiter is out of the queue but still parked on us. */
	int busy = !ak__waitq_empty(&b->waiters) ||
	           (ak__load(&b->word, AK__RELAXED) & (LOCKED | WOKEN));
	ak__unlock(&b->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&b->lock);
	return 0;
}

int ak__barge_is_locked(struct ak__barge *b)
{
	return (ak__load(&b->word, AK__RELAXED) & LOCKED) != 0;
}

size_t ak__barge_waiting(struct ak__barge *b)
{
	ak__lock(&b->lock);
	size_t n = b->waiters.len;
	ak__unlock(&b->lock);
	return n;
}

/* Takes a free word (not in starvation mode); a woken waiter also gives
 * back WOKEN.  0 or AK_EAGAIN. */
static int take_word(struct ak__barge *b, int woken)
{
	uint32_t clear = woken ? WOKEN : 0;
	uint32_t w = ak__load(&b->word, AK__RELAXED);
	while (!(w & (LOCKED | HANDOFF))) {
		/* acquire: pairs with the release CASes of unlock(_locked). */
		if (ak__cas_weak(&b->word, &w, (w | LOCKED) & ~clear, AK__ACQUIRE, AK__RELAXED))
			return 0;
	}
	return AK_EAGAIN;
}

int ak__barge_try_lock(struct ak__barge *b)
{
	return take_word(b, 0);
}

/* After a grant or a cancel took a node out: an empty queue ends the
 * waiters' bits. */
static void queue_left(struct ak__barge *b)
{
	if (ak__waitq_empty(&b->waiters))
		ak__fetch_and(&b->word, ~(WAITERS | HANDOFF), AK__RELAXED);
}

/* The head waiter is woken to retry (a grant of nothing); WOKEN is its. */
static void wake_head(struct ak__barge *b, struct ak__waiter *head, struct ak__wakelist *wl)
{
	head->want = 0;
	ak__waitq_grant(&b->waiters, head, 0, wl);
}

/* The holder lets go, with the lock held and waiters perhaps queued. */
static void unlock_locked(struct ak__barge *b, struct ak__wakelist *wl)
{
	struct ak__waiter *head = ak__waitq_head(&b->waiters);
	uint32_t w = ak__load(&b->word, AK__RELAXED);

	if (head && (w & HANDOFF)) {
		/* Starvation: the head gets the lock itself; the word stays
		 * LOCKED.  The grant's release store publishes our critical
		 * section to it. */
		head->want = 1;
		ak__waitq_grant(&b->waiters, head, 1, wl);
		queue_left(b);
		return;
	}
	uint32_t set = 0;
	if (head && !(w & WOKEN)) {
		wake_head(b, head, wl);
		set = WOKEN;
	}
	uint32_t clear = LOCKED | (ak__waitq_empty(&b->waiters) ? WAITERS | HANDOFF : 0);
	/* release: pairs with the acquire CAS of take_word(). */
	while (!ak__cas_weak(&b->word, &w, (w & ~clear) | set, AK__RELEASE, AK__RELAXED))
		;
}

void ak__barge_unlock(struct ak__barge *b)
{
	uint32_t w = ak__load(&b->word, AK__RELAXED);
	while (!(w & WAITERS)) {
		/* release: pairs with the acquire CAS of take_word(). */
		if (ak__cas_weak(&b->word, &w, w & ~LOCKED, AK__RELEASE, AK__RELAXED))
			return;
	}
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&b->lock);
	unlock_locked(b, &wl);
	ak__unlock(&b->lock);
	ak__wakelist_wake(&wl);
}

/* A woken waiter gives up its retry (cancelled, or out of memory): the
 * wake goes to the next head while the word is free; otherwise the
 * holder's unlock, which finds WAITERS set, wakes one. */
static void pass_wake_locked(struct ak__barge *b, struct ak__wakelist *wl)
{
	struct ak__waiter *head = ak__waitq_head(&b->waiters);
	if (head && !(ak__load(&b->word, AK__RELAXED) & LOCKED)) {
		wake_head(b, head, wl);       /* WOKEN stays: now the head's */
		queue_left(b);
	} else {
		ak__fetch_and(&b->word, ~WOKEN, AK__RELAXED);
	}
}

void ak__barge_acquire_init(struct ak__barge_acquire *a, struct ak__barge *b)
{
	/* An idle node's other fields are written when it parks: nothing reads
	 * them before (as the semaphore's; stores saved at every lock). */
	ak__init(&a->w.state, AK__W_IDLE);
	a->b = b;
	a->since = 0;
	a->woken = 0;
}

static int done(struct ak__barge_acquire *a, struct ak_context *cx)
{
	a->since = 0;
	a->woken = 0;
	ak__coop_spend(cx);
	return 0;
}

/* Handed the lock in starvation mode: a waiter that did not starve ends
 * the mode (Go's rule; the last waiter ended it in queue_left()). */
static int handed(struct ak__barge_acquire *a, struct ak_context *cx)
{
	struct ak__barge *b = a->b;
	if ((ak__load(&b->word, AK__RELAXED) & HANDOFF) &&
	    ak_now() - a->since < AK__BARGE_STARVE_NS)
		ak__fetch_and(&b->word, ~HANDOFF, AK__RELAXED);
	return done(a, cx);
}

struct park_args {
	struct ak__barge_acquire *a;
	int64_t now;
};

#define GOT (AK__WAIT_PARK + 1)

/* Under the lock, for an acquire neither queued nor granted: take the word
 * if it is free (GOT), else raise WAITERS (and HANDOFF for a woken waiter
 * that starved) and queue: at the head for a woken waiter that lost (it
 * keeps its place), at the tail otherwise.  A queued or granted one just
 * keeps its new waker (a park). */
static int park_recheck(struct ak__waiter *wt, void *arg, struct ak_waker *clone,
                        struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct park_args *pa = arg;
	struct ak__barge_acquire *a = pa->a;
	struct ak__barge *b = a->b;
	int got = 0;

	(void)drop;
	(void)wl;
	if (ak__load(&wt->state, AK__RELAXED) != AK__W_IDLE)
		return AK__WAIT_PARK;
	uint32_t clear = a->woken ? WOKEN : 0;
	uint32_t w = ak__load(&b->word, AK__RELAXED);
	for (;;) {
		if (!(w & (LOCKED | HANDOFF))) {
			/* acquire: as in take_word(). */
			if (ak__cas_weak(&b->word, &w, (w | LOCKED) & ~clear,
			                 AK__ACQUIRE, AK__RELAXED)) {
				got = 1;
				break;
			}
			continue;
		}
		/* Held: queue.  The holder's unlock then finds WAITERS and
		 * takes our lock, so it sees us queued. */
		uint32_t next = (w | WAITERS) & ~clear;
		if (a->woken && pa->now - a->since > AK__BARGE_STARVE_NS)
			next |= HANDOFF;
		if (ak__cas_weak(&b->word, &w, next, AK__RELAXED, AK__RELAXED))
			break;
	}
	if (!got) {
		wt->want = 1;
		if (a->woken)
			ak__waitq_park_first(&b->waiters, wt, clone);
		else
			ak__waitq_park(&b->waiters, wt, clone);
		if (a->since == 0)
			a->since = pa->now;
	}
	a->woken = 0;
	return got ? GOT : AK_PENDING;
}

int ak__barge_acquire_poll(struct ak__barge_acquire *a, struct ak_context *cx)
{
	struct ak__barge *b = a->b;

	for (;;) {
		uint32_t st = ak__waiter_state(&a->w);
		if (st == AK__W_GRANTED) {
			if (ak__waiter_take(&a->w))
				return handed(a, cx);
			a->woken = 1;               /* retry, WOKEN is ours */
			st = AK__W_IDLE;
		} else if (st == AK__W_IDLE && !a->woken && ak__coop_check(cx) == AK_PENDING) {
			return AK_PENDING;
		}
		if (st == AK__W_IDLE && take_word(b, a->woken) == 0)
			return done(a, cx);

		/* The clock of starvation, read before the lock: when it first
		 * parks, and at each retry it loses. */
		struct park_args pa = {
			a, st == AK__W_IDLE && (a->since == 0 || a->woken) ? ak_now() : 0
		};
		int rc = ak__waitq_wait(&b->waiters, &b->lock, &a->w, cx, park_recheck, &pa);
		if (rc == AK_ENOMEM) {
			ak__barge_acquire_cancel(a);
			return rc;
		}
		if (rc == GOT)
			return done(a, cx);
		if (!ak__waiter_granted(&a->w))
			return AK_PENDING;
		/* Granted while we parked: take it as at entry. */
	}
}

void ak__barge_acquire_cancel(struct ak__barge_acquire *a)
{
	struct ak__barge *b = a->b;
	if (!b || (ak__load(&a->w.state, AK__RELAXED) == AK__W_IDLE && !a->woken))
		return;
	struct ak__wakelist wl;
	struct ak_waker drop;
	ak__wakelist_init(&wl);
	ak__lock(&b->lock);
	uint32_t st = ak__load(&a->w.state, AK__RELAXED);
	uintptr_t given = ak__waitq_cancel(&b->waiters, &a->w, &drop);
	if (given)
		unlock_locked(b, &wl);            /* handed the lock: pass it on */
	else if (a->woken || st == AK__W_GRANTED)
		pass_wake_locked(b, &wl);         /* woken to retry: pass that on */
	else
		queue_left(b);
	ak__unlock(&b->lock);
	a->woken = 0;
	a->since = 0;
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&drop);
}
