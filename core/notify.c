/* core/notify.c: the notify core.  See notify.h. */

#include "notify.h"

enum {
	EMPTY = AK__NOTIFY_EMPTY,
	WAITING = AK__NOTIFY_WAITING,
	NOTIFIED = AK__NOTIFY_NOTIFIED,
	LOW = AK__NOTIFY_LOW,
};
#define GEN_ONE ((uint64_t)4)

/* What a waiter is granted: by notify_one or notify_last (to pass on if
 * cancelled, the same way: as tokio's Notification::One(strategy)) or by
 * notify_waiters. */
enum { BY_ONE = 1, BY_ALL = 2, BY_LAST = 3 };

void ak__notify_init(struct ak__notify *n)
{
	ak__init(&n->word, EMPTY);
	ak__lock_init(&n->lock);
	ak__waitq_init(&n->waiters);
	n->guards = 0;
	n->parks = 0;
}

uint64_t ak__notify_parks(struct ak__notify *n)
{
	ak__lock(&n->lock);
	uint64_t parks = n->parks;
	ak__unlock(&n->lock);
	return parks;
}

int ak__notify_destroy(struct ak__notify *n)
{
	ak__lock(&n->lock);
	int busy = !ak__waitq_empty(&n->waiters) || n->guards > 0;
	ak__unlock(&n->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&n->lock);
	return 0;
}

/* Sets the low bits, keeping the generation.  Under the lock, or racing
 * only with the lock-free EMPTY -> NOTIFIED of notify_one. */
static void set_low(struct ak__notify *n, uint64_t low)
{
	uint64_t w = ak__load(&n->word, AK__RELAXED);
	/* release: pairs with the acquire CAS that consumes a permit. */
	while (!ak__alone_cas(&n->word, &w, (w & ~(uint64_t)LOW) | low, AK__RELEASE, AK__RELAXED))
		;
}

/* Leaves WAITING, under the lock.  While the low bits say WAITING nothing
 * writes the word without the lock: notify_one's lock-free path and
 * ak__notify_take_permit() act only on EMPTY and NOTIFIED (a CAS of
 * theirs against a stale value fails), and the generation moves under the
 * lock.  So a store does what set_low()'s CAS did, without a
 * read-modify-write (and enqueue_locked() finding WAITING writes nothing).
 * release: as in set_low(). */
static void leave_waiting(struct ak__notify *n, uint64_t low)
{
	uint64_t w = ak__load(&n->word, AK__RELAXED);
	ak__store(&n->word, (w & ~(uint64_t)LOW) | low, AK__RELEASE);
}

/* With the lock held: one notification to the oldest waiter (the newest
 * with last set), whose waker it returns to wake once the lock is
 * released, or stored (an empty waker returned). */
static inline __attribute__((always_inline)) struct ak_waker
notify_locked(struct ak__notify *n, int last)
{
	struct ak__waiter *w = last ? n->waiters.tail : ak__waitq_head(&n->waiters);
	if (!w) {
		set_low(n, NOTIFIED);
		return (struct ak_waker){ NULL, NULL };
	}
	w->granted = last ? BY_LAST : BY_ONE;   /* wants 1: complete */
	struct ak_waker k = ak__waitq_complete(&n->waiters, w);
	if (ak__waitq_empty(&n->waiters))
		leave_waiting(n, EMPTY);        /* a queued waiter: WAITING */
	return k;
}

/* Somebody waits (the word said WAITING): one waker, no wake list. */
static void notify_slow(struct ak__notify *n, int last)
{
	ak__lock(&n->lock);
	struct ak_waker k = notify_locked(n, last);
	ak__unlock(&n->lock);
	ak__waker_wake_kept(&k);
}

static inline __attribute__((always_inline)) void notify(struct ak__notify *n, int last)
{
	uint64_t w = ak__load(&n->word, AK__RELAXED);
	while ((w & LOW) != WAITING) {
		/* release: what the notifier wrote is visible to the operation
		 * that consumes the permit (acquire in ak__notify_take_permit()). */
		if (ak__alone_cas(&n->word, &w, (w & ~(uint64_t)LOW) | NOTIFIED, AK__RELEASE, AK__RELAXED))
			return;
	}
	notify_slow(n, last);
}

void ak__notify_one(struct ak__notify *n)
{
	notify(n, 0);
}

void ak__notify_last(struct ak__notify *n)
{
	notify(n, 1);
}

void ak__notify_waiters(struct ak__notify *n)
{
	struct ak__wakelist wl;
	struct ak__waiter guard, *w;

	ak__lock(&n->lock);
	/* release: an operation that sees the new generation (acquire load in
	 * ak__notified_poll) sees what the notifier wrote before. */
	ak__fetch_add(&n->word, GEN_ONE, AK__RELEASE);
	/* Every queued waiter parked under this lock with the old generation:
	 * all of them are this call's.  Taken out of the queue now, they are
	 * out of reach of any notify_one made while the batches below are
	 * woken with the lock dropped, which therefore goes to a waiter that
	 * parks later, or is stored. */
	ak__waitq_detach(&n->waiters, &guard);
	if ((ak__load(&n->word, AK__RELAXED) & LOW) == WAITING)
		leave_waiting(n, EMPTY);
	n->guards++;
	for (;;) {
		ak__wakelist_init(&wl);
		while (!ak__wakelist_full(&wl) && (w = ak__waitq_guard_head(&guard)) != NULL)
			ak__waitq_grant(&n->waiters, w, BY_ALL, &wl);
		int done = ak__waitq_guard_head(&guard) == NULL;
		if (done)
			n->guards--;
		ak__unlock(&n->lock);
		ak__wakelist_wake(&wl);
		if (done)
			return;
		ak__lock(&n->lock);
	}
}

void ak__notified_init(struct ak__notified *o, struct ak__notify *n)
{
	ak__waiter_init(&o->w);
	o->notify = n;
	/* acquire: pairs with the release in ak__notify_waiters(). */
	o->gen = ak__load(&n->word, AK__ACQUIRE) & ~(uint64_t)LOW;
}

static int generation_moved(const struct ak__notified *o)
{
	/* acquire: pairs with the release in ak__notify_waiters(). */
	return (ak__load(&o->notify->word, AK__ACQUIRE) & ~(uint64_t)LOW) != o->gen;
}

/* With the lock held, for an operation neither queued nor granted:
 * NOTIFIED_BY_GEN or NOTIFIED_BY_PERMIT when it is notified at once, else
 * AK_PENDING with the node queued holding *clone (which may be empty). */
enum { NOTIFIED_BY_GEN = 0, NOTIFIED_BY_PERMIT = 2 };
static inline __attribute__((always_inline)) int
enqueue_locked(struct ak__notify *n, struct ak__notified *o, struct ak_waker *clone)
{
	/* acquire: pairs with the release in ak__notify_waiters(); the
	 * generation moves only under the lock, so one look decides it. */
	uint64_t w = ak__load(&n->word, AK__ACQUIRE);
	if ((w & ~(uint64_t)LOW) != o->gen)
		return NOTIFIED_BY_GEN;
	/* EMPTY to WAITING; a permit stored meanwhile (notify_one's lock-free
	 * CAS) makes the CAS fail and is consumed instead.  Already WAITING:
	 * nothing writes the word without the lock, so nothing to change. */
	while ((w & LOW) != WAITING) {
		if ((w & LOW) == NOTIFIED) {
			/* acquire: pairs with the release that stored the permit. */
			if (ak__alone_cas(&n->word, &w, w & ~(uint64_t)LOW, AK__ACQUIRE, AK__RELAXED))
				return NOTIFIED_BY_PERMIT;
			continue;
		}
		if (ak__alone_cas(&n->word, &w, w | WAITING, AK__RELAXED, AK__RELAXED))
			break;
	}
	o->w.want = 1;
	ak__waitq_park_idle(&n->waiters, &o->w, clone, 0);
	n->parks++;
	return AK_PENDING;
}

/* Under the lock: the state decides again, exactly (ak__notified_poll()). */
static int poll_recheck(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                        struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct ak__notified *o = arg;
	struct ak__notify *n = o->notify;

	(void)wl;
	uint32_t st = ak__waiter_state(w);
	if (st == AK__W_GRANTED) {
		ak__waiter_take(w);
		return 0;
	}
	if (st == AK__W_DETACHED) {
		/* A notify_waiters under way owes it a grant: complete now, as
		 * the operations of its earlier batches did (tokio's rule).  The
		 * generation moved, so nothing is left to pass on. */
		ak__waitq_cancel(&n->waiters, w, drop);
		return 0;
	}
	if (st == AK__W_QUEUED)
		return AK__WAIT_PARK;   /* a new waker to keep */
	return enqueue_locked(n, o, clone) == AK_PENDING ? AK_PENDING : 0;
}

/* Under the lock, for an operation that was IDLE at the poll's look: it
 * still is (only its owner queues it; grants and notify_waiters reach
 * queued nodes only), so the word alone decides. */
static int idle_recheck(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                        struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct ak__notified *o = arg;

	(void)w;
	(void)drop;
	(void)wl;
	return enqueue_locked(o->notify, o, clone) == AK_PENDING ? AK_PENDING : 0;
}

int ak__notified_poll_slow(struct ak__notified *o, struct ak_context *cx, uint32_t st)
{
	struct ak__notify *n = o->notify;
	int rc;

	if (st == AK__W_IDLE)
		rc = ak__waitq_wait_inline(&n->waiters, &n->lock, &o->w, cx, idle_recheck, o);
	else
		rc = ak__waitq_wait(&n->waiters, &n->lock, &o->w, cx, poll_recheck, o);
	if (rc == AK_ENOMEM)
		ak__notified_cancel(o);
	return rc;
}

int ak__notified_enable(struct ak__notified *o)
{
	struct ak__notify *n = o->notify;

	uint32_t st = ak__waiter_state(&o->w);
	if (st == AK__W_GRANTED || st == AK__W_DETACHED)
		return 1;       /* DETACHED: a notify_waiters under way owes it */
	if (st == AK__W_QUEUED)
		return 0;
	if (generation_moved(o))
		return 1;
	struct ak_waker none = { NULL, NULL };
	int took = ak__notify_take_permit(n);
	int rc = NOTIFIED_BY_PERMIT;
	ak__lock(&n->lock);
	if (!took)
		rc = enqueue_locked(n, o, &none);
	if (rc == NOTIFIED_BY_PERMIT)
		n->parks++;     /* holds a permit it may pass on: counted */
	ak__unlock(&n->lock);
	if (rc == NOTIFIED_BY_PERMIT) {
		/* Consumed but not yet observed: held as a notify_one's grant,
		 * so the next poll completes and a cancel passes it on. */
		o->w.granted = BY_ONE;
		ak__store(&o->w.state, AK__W_GRANTED, AK__RELAXED);
	}
	return rc == AK_PENDING ? 0 : 1;
}

void ak__notified_cancel(struct ak__notified *o)
{
	struct ak__notify *n = o->notify;
	if (!n || ak__load(&o->w.state, AK__RELAXED) == AK__W_IDLE)
		return;
	struct ak_waker drop, k = { NULL, NULL };
	ak__lock(&n->lock);
	uintptr_t given = ak__waitq_cancel(&n->waiters, &o->w, &drop);
	if (given == BY_ONE || given == BY_LAST)
		k = notify_locked(n, given == BY_LAST);   /* pass it on, as it came */
	else if (ak__waitq_empty(&n->waiters) && (ak__load(&n->word, AK__RELAXED) & LOW) == WAITING)
		leave_waiting(n, EMPTY);
	ak__unlock(&n->lock);
	ak__waker_wake_kept(&k);
	ak__waker_drop_kept(&drop);
}
