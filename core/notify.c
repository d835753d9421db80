/* core/notify.c: the notify core.  See notify.h. */

#include "notify.h"

enum {
	EMPTY = AK__NOTIFY_EMPTY,
	WAITING = AK__NOTIFY_WAITING,
	NOTIFIED = AK__NOTIFY_NOTIFIED,
	LOW = AK__NOTIFY_LOW,
	SLOT = AK__NOTIFY_SLOT,
	SLOT_WAIT = AK__NOTIFY_SLOT_WAIT,
	SLOT_ONE = AK__NOTIFY_SLOT_ONE,
	SLOT_LAST = AK__NOTIFY_SLOT_LAST,
	SLOT_ALL = AK__NOTIFY_SLOT_ALL,
	SLOT_WAKER = AK__NOTIFY_SLOT_WAKER,
};
#define GEN_ONE ((uint64_t)1 << AK__NOTIFY_GEN_SHIFT)

/* What a queued waiter is granted: by notify_one or notify_last (to pass
 * on if cancelled, the same way: as tokio's Notification::One(strategy))
 * or by notify_waiters. */
enum { BY_ONE = 1, BY_ALL = 2, BY_LAST = 3 };

/* What an operation's look at the word decided (enqueue_locked(),
 * try_slot()): besides AK_PENDING (registered). */
enum { NOTIFIED_BY_GEN = 0, NOTIFIED_BY_PERMIT = 2, TO_QUEUE = 3 };

void ak__notify_init(struct ak__notify *n)
{
	ak__init(&n->word, EMPTY);
	ak__lock_init(&n->lock);
	ak__waitq_init(&n->waiters);
	n->guards = 0;
	n->parks = 0;
	ak__init(&n->finished, 0);
	ak__init(&n->cell.data, NULL);
	ak__init(&n->cell.vtable, NULL);
}

int ak__notify_destroy(struct ak__notify *n)
{
	ak__lock(&n->lock);
	/* Relaxed: nothing runs on the notify concurrently. */
	int busy = !ak__waitq_empty(&n->waiters) || n->guards > 0 ||
	           (ak__load(&n->word, AK__RELAXED) & SLOT) != 0 ||
	           n->parks != ak__load(&n->finished, AK__RELAXED);
	ak__unlock(&n->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&n->lock);
	return 0;
}

/* Sets the low bits, keeping the rest, under the lock.  A CAS: the slot's
 * operation and notifiers change the slot's bits without the lock, and
 * notify_one's lock-free EMPTY -> NOTIFIED may race with EMPTY -> WAITING. */
static void set_low(struct ak__notify *n, uint64_t low)
{
	uint64_t w = ak__load(&n->word, AK__RELAXED);
	/* release: pairs with the acquire CAS that consumes a permit. */
	while (!ak__alone_cas(&n->word, &w, (w & ~(uint64_t)LOW) | low, AK__RELEASE, AK__RELAXED))
		;
}

/*
 * The queue's notify_one or notify_last, under the lock: 1 done (a waker
 * to wake in *k, maybe empty), 0 when the queue is not the place: it
 * emptied since the caller's look, or the slot's waiter is older (it was
 * claimed after the queue emptied, and another queued behind it).  While
 * the queue holds waiters the low bits say WAITING, and no operation
 * claims the slot, so under the lock the answer stands.
 */
static int notify_queue(struct ak__notify *n, int last, struct ak_waker *k)
{
	struct ak__waiter *w = last ? n->waiters.tail : ak__waitq_head(&n->waiters);
	if (!w)
		return 0;
	if (!last && (ak__load(&n->word, AK__RELAXED) & SLOT) == SLOT_WAIT)
		return 0;
	w->granted = last ? BY_LAST : BY_ONE;   /* wants 1: complete */
	*k = ak__waitq_complete(&n->waiters, w);
	if (ak__waitq_empty(&n->waiters))
		set_low(n, EMPTY);
	return 1;
}

static __attribute__((noinline)) int notify_slow(struct ak__notify *n, int last)
{
	struct ak_waker k = { NULL, NULL };
	ak__lock(&n->lock);
	int done = notify_queue(n, last, &k);
	ak__unlock(&n->lock);
	ak__waker_wake_kept(&k);
	return done;
}

/*
 * The oldest waiter (the newest with last set) gets the notification: the
 * slot's, with one CAS that also takes its waker; else the queue's, under
 * the lock; else the permit is stored, with one CAS.
 */
static inline __attribute__((always_inline)) void notify(struct ak__notify *n, int last)
{
	/* acquire: pairs with the release of the slot's registration
	 * (waker_slot.h): the cell is read below. */
	uint64_t w = ak__load(&n->word, AK__ACQUIRE);
	for (;;) {
		if ((w & LOW) == WAITING && (last || (w & SLOT) != SLOT_WAIT)) {
			if (notify_slow(n, last))
				return;
			w = ak__load(&n->word, AK__ACQUIRE);
			continue;
		}
		if ((w & SLOT) == SLOT_WAIT) {
			struct ak_waker k;
			/* release (acq_rel): what the notifier wrote is visible to
			 * the slot's operation that sees ONE or LAST. */
			if (ak__waker_cell_take(&n->cell, &n->word, SLOT_WAKER, &w,
			                        (w & ~(uint64_t)SLOT) | (last ? SLOT_LAST : SLOT_ONE), &k)) {
				ak__waker_wake_kept(&k);
				return;
			}
			continue;
		}
		/* release: what the notifier wrote is visible to the operation
		 * that consumes the permit (acquire in ak__notify_take_permit()). */
		if (ak__alone_cas(&n->word, &w, (w & ~(uint64_t)LOW) | NOTIFIED, AK__RELEASE, AK__ACQUIRE))
			return;
	}
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
	struct ak_waker k = { NULL, NULL };

	ak__lock(&n->lock);
	/* One CAS: the generation moves, the slot's waiter is marked ALL
	 * (its waker taken), and the queue, detached below under this lock,
	 * is marked empty.  release: an operation that sees the new
	 * generation or ALL (acquire loads in ak__notified_poll()) sees what
	 * the notifier wrote before; acquire: for the cell. */
	uint64_t s = ak__load(&n->word, AK__ACQUIRE);
	for (;;) {
		uint64_t want = s + GEN_ONE;
		if ((s & LOW) == WAITING)
			want &= ~(uint64_t)LOW;
		if ((s & SLOT) == SLOT_WAIT) {
			want = (want & ~(uint64_t)SLOT) | SLOT_ALL;
			if (ak__waker_cell_take(&n->cell, &n->word, SLOT_WAKER, &s, want, &k))
				break;
			k.vtable = NULL;        /* a failed take's copy is not ours */
		} else if (ak__alone_cas(&n->word, &s, want, AK__ACQ_REL, AK__ACQUIRE)) {
			break;
		}
	}
	/* Every queued waiter parked under this lock with the old generation:
	 * all of them are this call's.  Taken out of the queue now, they are
	 * out of reach of any notify_one made while the batches below are
	 * woken with the lock dropped, which therefore goes to a waiter that
	 * registers later, or is stored. */
	ak__waitq_detach(&n->waiters, &guard);
	n->guards++;
	for (;;) {
		ak__wakelist_init(&wl);
		if (k.vtable) {
			wl.w[wl.n++] = k;       /* the slot's, in the first batch */
			k.vtable = NULL;
		}
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
	o->slot = 0;
	/* acquire: pairs with the release in ak__notify_waiters(). */
	o->gen = ak__notify_gen(ak__load(&n->word, AK__ACQUIRE));
}

/* With the lock held, for an operation neither queued nor granted:
 * NOTIFIED_BY_GEN or NOTIFIED_BY_PERMIT when it is notified at once, else
 * AK_PENDING with the node queued holding *clone (which may be empty). */
static int enqueue_locked(struct ak__notify *n, struct ak__notified *o, struct ak_waker *clone)
{
	/* acquire: pairs with the release in ak__notify_waiters(); the
	 * generation moves only under the lock, so one look decides it. */
	uint64_t w = ak__load(&n->word, AK__ACQUIRE);
	if (ak__notify_gen(w) != o->gen)
		return NOTIFIED_BY_GEN;
	/* EMPTY to WAITING; a permit stored meanwhile (notify_one's lock-free
	 * CAS) makes the CAS fail and is consumed instead.  Already WAITING:
	 * nothing to change.  A free slot stays free: the queue, once it
	 * holds a waiter, is where the next ones go, in order. */
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
	o->w.want = 1;          /* wants 1; counted (ak__notify_destroy()) */
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
		ak__notified_finish(o);
		return 0;
	}
	if (st == AK__W_DETACHED) {
		/* A notify_waiters under way owes it a grant: complete now, as
		 * the operations of its earlier batches did (tokio's rule).  The
		 * generation moved, so nothing is left to pass on. */
		ak__waitq_cancel(&n->waiters, w, drop);
		ak__notified_finish(o);
		return 0;
	}
	if (st == AK__W_QUEUED)
		return AK__WAIT_PARK;   /* a new waker to keep */
	return enqueue_locked(n, o, clone) == AK_PENDING ? AK_PENDING : 0;
}

/*
 * The slot, for an idle operation: consumes a stored permit, or claims the
 * slot with a CAS when nobody waits (low bits EMPTY, slot FREE): AK_PENDING
 * with *wp the word after the claim; TO_QUEUE when somebody waits.  The
 * claim comes first, the cell is written after (slot_register()): two
 * operations racing for the slot never both write the cell.  A notifier
 * that finds the slot claimed but its waker not yet registered fills it
 * without a wake; the registration's RMW sees that.
 */
static int try_slot(struct ak__notified *o, uint64_t *wp)
{
	struct ak__notify *n = o->notify;
	/* acquire: pairs with the release in ak__notify_waiters(). */
	uint64_t w = ak__load(&n->word, AK__ACQUIRE);
	for (;;) {
		if (ak__notify_gen(w) != o->gen)
			return NOTIFIED_BY_GEN;
		if ((w & LOW) == NOTIFIED) {
			/* acquire: pairs with the release that stored the permit. */
			if (ak__alone_cas(&n->word, &w, w & ~(uint64_t)LOW, AK__ACQUIRE, AK__ACQUIRE))
				return NOTIFIED_BY_PERMIT;
			continue;
		}
		if ((w & (LOW | SLOT)) != 0)
			return TO_QUEUE;
		/* acquire: pairs with the release of the slot's last owner
		 * (ak__notified_leave_slot()), whose look at the cell comes
		 * before this claim's rewrite; on failure, as the load above. */
		if (ak__alone_cas(&n->word, &w, w | SLOT_WAIT, AK__ACQUIRE, AK__ACQUIRE))
			break;
	}
	o->slot = 1;
	*wp = w | SLOT_WAIT;
	return AK_PENDING;
}

/* The slot's operation leaves a clone of cx's waker in the cell (or keeps
 * the one there); w: its latest look at the word. */
static inline __attribute__((always_inline)) int
slot_register(struct ak__notified *o, struct ak_context *cx, uint64_t w)
{
	struct ak__notify *n = o->notify;
	int rc = ak__waker_cell_register_at(&n->cell, &n->word, SLOT_WAKER, AK__NOTIFY_REG, &w, cx);
	if (__builtin_expect(rc != 0, 0)) {
		/* Nothing registered: leave, passing on what came meanwhile. */
		ak__notified_cancel(o);
		return rc;
	}
	if (__builtin_expect((w & SLOT) != SLOT_WAIT, 0)) {
		/* Notified before the registration: no wake will come. */
		ak__notified_leave_slot(o, ak__load(&n->word, AK__RELAXED));
		return 0;
	}
	return AK_PENDING;
}

/* Out of line, as ak__notified_slot_poll(): the inline poll that calls
 * them then saves no registers for its completions (callgrind: 13 fewer
 * instructions a notify_pingpong hop than inline). */
__attribute__((noinline)) int ak__notified_claim(struct ak__notified *o, struct ak_context *cx,
                                                 uint64_t w)
{
	struct ak__notify *n = o->notify;
	/* The poll saw w: the generation its own, nobody waiting, no permit.
	 * A failed CAS (the word moved) decides again on the slow path. */
	/* acquire: as try_slot()'s claim. */
	if (!ak__alone_cas(&n->word, &w, w | SLOT_WAIT, AK__ACQUIRE, AK__RELAXED))
		return ak__notified_poll_slow(o, cx, AK__W_IDLE);
	o->slot = 1;
	/* A free slot has no waker registered: said, so that the
	 * registration's take-back of an old one is left out here. */
	return slot_register(o, cx, (w | SLOT_WAIT) & ~(uint64_t)SLOT_WAKER);
}

__attribute__((noinline)) int ak__notified_slot_poll(struct ak__notified *o, struct ak_context *cx,
                                                     uint64_t w)
{
	return slot_register(o, cx, w);
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

	if (st == AK__W_IDLE) {   /* the slot's operation never comes here */
		uint64_t w;
		rc = try_slot(o, &w);
		if (rc == AK_PENDING)
			return slot_register(o, cx, w & ~(uint64_t)SLOT_WAKER);
		if (rc != TO_QUEUE)
			return 0;
		rc = ak__waitq_wait(&n->waiters, &n->lock, &o->w, cx, idle_recheck, o);
	} else {
		rc = ak__waitq_wait(&n->waiters, &n->lock, &o->w, cx, poll_recheck, o);
	}
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
	if (o->slot)    /* acquire: as in ak__notified_poll(). */
		return (ak__load(&n->word, AK__ACQUIRE) & SLOT) != SLOT_WAIT;
	uint64_t w;
	int rc = try_slot(o, &w);
	if (rc == NOTIFIED_BY_GEN)
		return 1;
	if (rc == AK_PENDING)
		return 0;
	struct ak_waker none = { NULL, NULL };
	ak__lock(&n->lock);
	if (rc == TO_QUEUE)
		rc = enqueue_locked(n, o, &none);
	if (rc == NOTIFIED_BY_PERMIT)
		n->parks++;     /* holds a permit it may pass on: counted */
	ak__unlock(&n->lock);
	if (rc == NOTIFIED_BY_PERMIT) {
		/* Consumed but not yet observed: held as a notify_one's grant,
		 * so the next poll completes and a cancel passes it on. */
		o->w.want = 1;
		o->w.granted = BY_ONE;
		ak__store(&o->w.state, AK__W_GRANTED, AK__RELAXED);
	}
	return rc == AK_PENDING ? 0 : 1;
}

void ak__notified_cancel(struct ak__notified *o)
{
	struct ak__notify *n = o->notify;
	if (!n)
		return;
	if (o->slot) {
		uint64_t got = ak__notified_leave_slot(o, ak__load(&n->word, AK__RELAXED));
		if (got == SLOT_ONE || got == SLOT_LAST)
			notify(n, got == SLOT_LAST);    /* pass it on, as it came */
		return;
	}
	if (ak__load(&o->w.state, AK__RELAXED) == AK__W_IDLE)
		return;
	struct ak_waker drop;
	ak__lock(&n->lock);
	uintptr_t given = ak__waitq_cancel(&n->waiters, &o->w, &drop);
	if (ak__waitq_empty(&n->waiters) && (ak__load(&n->word, AK__RELAXED) & LOW) == WAITING)
		set_low(n, EMPTY);
	ak__unlock(&n->lock);
	ak__waker_drop_kept(&drop);
	if (given == BY_ONE || given == BY_LAST)
		notify(n, given == BY_LAST);    /* pass it on, as it came */
	ak__notified_finish(o);                 /* last: n may go after it */
}
