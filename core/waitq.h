/*
 * core/waitq.h: the intrusive FIFO of waiting operations, and the wake list.
 *
 * The waiter node lives inside the operation (no allocation).  The queue has
 * no lock of its own: it is guarded by the lock of the primitive that owns
 * it, which also guards what is being waited for (permits, slots, tokens).
 *
 * The protocol of a waiting operation's poll (prepare, check, park):
 *
 *   1. lockless fast path: take what is available, or a grant already made;
 *   2. ak__waiter_prepare(): clone cx's waker *before* taking the lock, and
 *      only if the node does not already hold one that will_wake the task;
 *   3. lock; re-check; ak__waitq_park() links the node (or swaps its waker);
 *      unlock;
 *   4. drop whatever clone was not kept (the unused clone, or the old waker
 *      swapped out) after unlocking.
 *
 * A grant made while the owner waits is provisional: ak__waitq_grant() moves
 * the node out of the queue with what it was given and moves its waker into
 * a wake list, which is woken after the lock is released.  A cancel before
 * the owner's poll consumed the grant gets it back from ak__waitq_cancel()
 * and must pass it on (to the next waiter, or back to the primitive).
 *
 * A wake-all that must look atomic to later grants (Notify's notify_waiters,
 * as tokio's) cannot wake everyone under the lock: a wake list holds 32
 * wakers and wakers are called unlocked.  ak__waitq_detach() moves, under
 * the lock and at once, every queued waiter onto a guard list (a sentinel
 * node on the caller's stack) and marks them DETACHED: no later grant can
 * reach them, since they are no longer in the queue.  The caller then grants
 * the guard's head in batches, dropping the lock to wake each batch.  A
 * DETACHED node is still parked: its owner's cancel (or a poll that
 * completes it at once) unlinks it from the guard under the same lock, so
 * the caller never touches a node that left the guard, and it returns only
 * once the guard is empty, so no node ever points at a dead sentinel.  Only
 * a primitive whose poll and cancel know DETACHED may detach (Notify); the
 * others wake all in plain batches, where a grant between batches is fine.
 *
 *   call                       lock        thread
 *   ak__waiter_prepare         not held    the owner
 *   ak__waitq_park(_first)     held        the owner
 *   ak__waitq_park_idle        held        the owner
 *   ak__waitq_grant            held        any
 *   ak__waitq_complete(_head)  held        any
 *   ak__waitq_cancel           held        the owner
 *   ak__waitq_ungrant          held        any
 *   ak__waitq_detach           held        any
 *   ak__waitq_guard_head       held        the guard's owner
 *   ak__waiter_granted         not needed  the owner (acquire load)
 *   ak__waiter_take            held, or after ak__waiter_granted(): the owner
 *   ak__wakelist_wake          NOT held    the thread that filled the list
 */
#ifndef AK_CORE_WAITQ_H
#define AK_CORE_WAITQ_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* DETACHED: on a guard list of ak__waitq_detach(), still parked, owed a
 * grant by the detaching call (or completed by its owner under the lock). */
enum { AK__W_IDLE = 0, AK__W_QUEUED = 1, AK__W_GRANTED = 2, AK__W_DETACHED = 3 };

struct ak__waiter {
	struct ak__waiter *prev, *next;   /* lock */
	struct ak_waker waker;            /* lock; a clone the library keeps */
	struct ak_waker seen;             /* owner only: identity of waker, no reference */
	uintptr_t want;                   /* lock: what the owner asks for */
	uintptr_t granted;                /* lock: what it was given so far */
	ak__atomic(uint32_t) state;       /* AK__W_*; written under the lock */
};

struct ak__waitq {
	struct ak__waiter *head, *tail;
	size_t len;
};

#define AK__WAKELIST_CAP 32

/* Wakers collected under a lock, woken after it is released. */
struct ak__wakelist {
	unsigned n;
	struct ak_waker w[AK__WAKELIST_CAP];
};

void ak__waitq_init(struct ak__waitq *q);

/* An idle node: unlinked, no waker, nothing wanted or granted. */
static inline void ak__waiter_init(struct ak__waiter *w)
{
	w->prev = w->next = NULL;
	w->waker.data = w->seen.data = NULL;
	w->waker.vtable = w->seen.vtable = NULL;
	w->want = w->granted = 0;
	ak__init(&w->state, AK__W_IDLE);
}

static inline int ak__waitq_empty(const struct ak__waitq *q)
{
	return q->head == NULL;
}

static inline struct ak__waiter *ak__waitq_head(const struct ak__waitq *q)
{
	return q->head;
}

/* The simulation's deadlock report prints every queue that holds waiters
 * (core/shim_sim.h): it hears when one starts or stops holding any. */
#ifdef AK_SIM
#define AK__WAITQ_NOTE(q) ak__sim_waitq_note((q), (q)->head != NULL)
#else
#define AK__WAITQ_NOTE(q) ((void)0)
#endif

/*
 * The node operations below are inline (waitq.c gives each caller outside
 * a hot path the same code out of line): a waiting operation's poll and
 * its grant are a few loads and stores each, less than the calls were.
 */

/* Step 2: 0 with *clone the waker to keep (empty when the node keeps the
 * one it has, or is granted), or AK_ENOMEM. */
static inline int ak__waiter_prepare_inline(const struct ak__waiter *w,
                                            const struct ak_context *cx, struct ak_waker *clone)
{
	clone->data = NULL;
	clone->vtable = NULL;
	/* Only the owner changes QUEUED or DETACHED to anything but DETACHED
	 * or GRANTED; a grant means no waker is needed, and the caller looks
	 * again under the lock: a relaxed look is enough here. */
	uint32_t st = ak__load(&w->state, AK__RELAXED);
	if (st == AK__W_GRANTED)
		return 0;
	if ((st == AK__W_QUEUED || st == AK__W_DETACHED) && ak__waker_same(&w->seen, &cx->waker))
		return 0;
	return ak__waker_keep(&cx->waker, clone);
}

/* Takes a queued (or DETACHED) node out of its queue (or guard). */
static inline void ak__waitq_unlink(struct ak__waitq *q, struct ak__waiter *w)
{
	if (ak__load(&w->state, AK__RELAXED) == AK__W_DETACHED) {
		/* On a guard: a ring through the sentinel, never NULL. */
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->prev = w->next = NULL;
		ak__count_parked(-1);
		return;
	}
	struct ak__waiter *prev = w->prev, *next = w->next;
	if (prev)
		prev->next = next;
	else
		q->head = next;
	if (next)
		next->prev = prev;
	else
		q->tail = prev;
	w->prev = w->next = NULL;
	q->len--;
	ak__count_parked(-1);
	AK__WAITQ_NOTE(q);
}

/* Queues w (first: at the head) with nothing granted yet: the owner's
 * parking, or a grant taken back. */
static inline void ak__waitq_link(struct ak__waitq *q, struct ak__waiter *w, int first)
{
	w->granted = 0;
	if (first) {
		w->prev = NULL;
		w->next = q->head;
		if (q->head)
			q->head->prev = w;
		else
			q->tail = w;
		q->head = w;
	} else {
		w->next = NULL;
		w->prev = q->tail;
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
	}
	q->len++;
	ak__count_parked(1);
	AK__WAITQ_NOTE(q);
	ak__store(&w->state, AK__W_QUEUED, AK__RELAXED);
}

/* Step 3's park of a node known to be idle: links it holding *clone
 * (first: at the head); *clone is left empty. */
static inline void ak__waitq_park_idle(struct ak__waitq *q, struct ak__waiter *w,
                                       struct ak_waker *clone, int first)
{
	w->waker = *clone;
	w->seen = *clone;
	clone->data = NULL;
	clone->vtable = NULL;
	ak__waitq_link(q, w, first);
}

/* Step 3's park: links an idle w holding *clone (first: at the head), or
 * swaps the waker of a queued one (the old one left in *clone to drop);
 * a granted w is left as it is. */
static inline void ak__waitq_park_inline(struct ak__waitq *q, struct ak__waiter *w,
                                         struct ak_waker *clone, int first)
{
	uint32_t st = ak__load(&w->state, AK__RELAXED);

	if (st == AK__W_GRANTED)
		return;
	if (st == AK__W_QUEUED || st == AK__W_DETACHED) {
		if (!ak__waker_empty(clone)) {
			/* A new waker: keep it, hand the old one back to drop. */
			struct ak_waker old = w->waker;
			w->waker = *clone;
			w->seen = *clone;
			*clone = old;
		}
		return;
	}
	ak__waitq_park_idle(q, w, clone, first);
}

/* The end of a completion: w, out of its queue, GRANTED, its waker
 * returned for the caller to wake once the lock is released. */
static inline struct ak_waker ak__waiter_grant_out(struct ak__waiter *w)
{
	struct ak_waker k = w->waker;
	w->waker.data = NULL;
	w->waker.vtable = NULL;
	/* release: the grant is visible to the owner's acquire in
	 * ak__waiter_state() or ak__waiter_granted(); after this store the
	 * node is the owner's. */
	ak__store(&w->state, AK__W_GRANTED, AK__RELEASE);
	return k;
}

/* Completes w, its grant already in w->granted: out of the queue (or the
 * guard), GRANTED, and its waker returned for the caller to wake once the
 * lock is released. */
static inline struct ak_waker ak__waitq_complete(struct ak__waitq *q, struct ak__waiter *w)
{
	ak__waitq_unlink(q, w);
	return ak__waiter_grant_out(w);
}

/* ak__waitq_complete() of q's head, which needs fewer checks: a node
 * reached from q is QUEUED (a DETACHED one is on a guard), and the head
 * has no prev. */
static inline struct ak_waker ak__waitq_complete_head(struct ak__waitq *q)
{
	struct ak__waiter *w = q->head, *next = w->next;
	q->head = next;
	if (next)
		next->prev = NULL;
	else
		q->tail = NULL;
	w->next = NULL;
	q->len--;
	ak__count_parked(-1);
	AK__WAITQ_NOTE(q);
	return ak__waiter_grant_out(w);
}

int ak__waiter_prepare(const struct ak__waiter *w, const struct ak_context *cx,
                       struct ak_waker *clone);
void ak__waitq_park(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone);
/* As ak__waitq_park(), but an idle node goes to the head of the queue: a
 * waiter that was woken to retry and lost keeps its place (core/barge.h). */
void ak__waitq_park_first(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone);

/* Wakes and empties a list of at least one (inline: most lists a park or
 * a release fills are empty). */
void ak__wakelist_wake_some(struct ak__wakelist *wl);
static inline void ak__wakelist_init(struct ak__wakelist *wl)
{
	wl->n = 0;
}

static inline void ak__wakelist_wake(struct ak__wakelist *wl)
{
	if (wl->n)
		ak__wakelist_wake_some(wl);
}

/*
 * The waiting kernel, written once (Linux's ___wait_event): the steps 2-4
 * of the protocol above.  Prepares a clone of cx's waker before the lock,
 * takes lock, runs recheck under it, parks w at the tail when recheck
 * returns AK__WAIT_PARK (or swaps the waker of a queued w), unlocks, wakes
 * wl, and drops what was not kept (the unused clone, a swapped-out waker,
 * whatever recheck put in *drop).  recheck(w, arg, clone, drop, wl) sees
 * the primitive's state exactly; it returns AK__WAIT_PARK, or a result of
 * its own (it may have parked w itself, with ak__waitq_park() or
 * ak__waitq_park_first() and the clone given, and granted others into wl).
 * NULL recheck: park.  Returns AK_ENOMEM (no clone: nothing changed),
 * AK_PENDING when this call parked w (granted meanwhile, maybe: the caller
 * looks), or recheck's result.  ak__waitq_wait() is the kernel out of
 * line; ak__waitq_wait_inline() the same inline, for a hot poll whose
 * recheck is a static function of its file (the call then inlines it),
 * with idle a constant: 1 for a node its owner knows idle (its first park:
 * nothing grants an idle node, only the owner changes IDLE), whose state
 * the kernel then does not read.
 */
#define AK__WAIT_PARK 2
typedef int (*ak__wait_recheck_fn)(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                                   struct ak_waker *drop, struct ak__wakelist *wl);
int ak__waitq_wait(struct ak__waitq *q, struct ak__lock *lock, struct ak__waiter *w,
                   const struct ak_context *cx, ak__wait_recheck_fn recheck, void *arg);

static inline __attribute__((always_inline)) int
ak__waitq_wait_inline(struct ak__waitq *q, struct ak__lock *lock, struct ak__waiter *w,
                      const struct ak_context *cx, ak__wait_recheck_fn recheck, void *arg,
                      int idle)
{
	struct ak_waker clone, drop = { NULL, NULL };
	struct ak__wakelist wl;

	int rc = idle ? ak__waker_keep(&cx->waker, &clone) : ak__waiter_prepare_inline(w, cx, &clone);
	if (rc)
		return rc;
	ak__wakelist_init(&wl);
	ak__lock(lock);
	rc = recheck ? recheck(w, arg, &clone, &drop, &wl) : AK__WAIT_PARK;
	if (rc == AK__WAIT_PARK) {
		if (idle)
			ak__waitq_park_idle(q, w, &clone, 0);
		else
			ak__waitq_park_inline(q, w, &clone, 0);
		rc = AK_PENDING;
	}
	ak__unlock(lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&clone);
	ak__waker_drop_kept(&drop);
	return rc;
}

/*
 * The grant loop, written once: from the head of q, while pick(w, arg,
 * &amount) returns 1, grants amount to w (ak__waitq_grant(); a partial
 * grant leaves w at the head, so pick sees it again), collecting the
 * completed waiters' wakers in wl and waking a full list with lock
 * dropped.  Called and returns with lock held; pick runs under it and
 * returns 0 to stop.  Every "grant the waiters" of a primitive is this.
 */
typedef int (*ak__grant_pick_fn)(struct ak__waiter *w, void *arg, uintptr_t *amount);
void ak__waitq_grant_each(struct ak__waitq *q, struct ak__lock *lock, ak__grant_pick_fn pick,
                          void *arg, struct ak__wakelist *wl);
/* The pick of a close: every waiter completes short of what it asked
 * (want lowered to what it was granted), and its poll fails. */
int ak__grant_pick_short(struct ak__waiter *w, void *arg, uintptr_t *amount);
int ak__waitq_grant(struct ak__waitq *q, struct ak__waiter *w, uintptr_t amount,
                    struct ak__wakelist *wl);
uintptr_t ak__waitq_cancel(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *drop);
/*
 * Takes back a grant its owner has not taken yet: the node goes back to
 * the head of q, QUEUED, with no waker (the grant moved it to a wake list)
 * and nothing granted.  Only for a primitive whose owners take their
 * grants under the lock (never ak__waiter_take() after a lockless look),
 * and whose poll, finding its node QUEUED with no waker, parks a new one
 * (the rendezvous channel, chan/mpsc_rdv.c).
 */
void ak__waitq_ungrant(struct ak__waitq *q, struct ak__waiter *w);

/* Moves every waiter of q onto the guard list headed by *guard (the
 * caller's sentinel; only its links are used) and marks them DETACHED.
 * ak__waitq_grant() and ak__waitq_cancel() take such a node off the guard
 * whatever queue they are given.  Empty the guard before *guard dies. */
void ak__waitq_detach(struct ak__waitq *q, struct ak__waiter *guard);

/* The oldest node still on the guard, or NULL once it is empty. */
static inline struct ak__waiter *ak__waitq_guard_head(const struct ak__waiter *guard)
{
	return guard->next == guard ? NULL : guard->next;
}

static inline int ak__waiter_granted(struct ak__waiter *w)
{
	/* acquire: pairs with the release store in ak__waitq_grant(). */
	return ak__load(&w->state, AK__ACQUIRE) == AK__W_GRANTED;
}

/*
 * The owner's one look at its node's state, at the start of a poll: decide
 * "granted" and "queued" from this single value.  Two separate loads are a
 * bug: a grant landing between them makes a QUEUED node read as granted =
 * no, queued = no, and the poll takes a fast path as if it had never
 * parked, orphaning the grant (a lost permit or notification).
 */
static inline uint32_t ak__waiter_state(struct ak__waiter *w)
{
	/* acquire: pairs with the release store in ak__waitq_grant(). */
	return ak__load(&w->state, AK__ACQUIRE);
}

/* Takes the grant of a granted waiter and makes the node idle again. */
static inline uintptr_t ak__waiter_take(struct ak__waiter *w)
{
	uintptr_t given = w->granted;
	w->granted = 0;
	ak__store(&w->state, AK__W_IDLE, AK__RELAXED);
	return given;
}

static inline int ak__wakelist_full(const struct ak__wakelist *wl)
{
	return wl->n == AK__WAKELIST_CAP;
}

#endif
