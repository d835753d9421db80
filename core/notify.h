/*
 * core/notify.h: the notify core.  Internal; the channels' closed()
 * futures use it and the public Notify wraps it.
 *
 * One atomic word (tokio's Notify state, plus a slot):
 *
 *   bits 0-1   EMPTY, WAITING (the queue is not empty) or NOTIFIED (one
 *              stored permit)
 *   bits 2-4   the slot: FREE, WAIT (an operation waits there), or ONE,
 *              LAST, ALL (it was notified by notify_one, notify_last or
 *              notify_waiters and has not yet taken it)
 *   bit 5      the slot's waker is registered in the cell (waker_slot.h)
 *   bits 8-39  notify_waiters calls (the generation; an operation bound
 *              across 2^32 of them would miss them, as tokio's across 2^30
 *              on a 32-bit target)
 *   bits 40-63 the cell's registrations (waker_slot.h's count)
 *
 * The slot is a single waiter without the lock: an operation that finds
 * no waiter (EMPTY, slot FREE) claims it with a CAS and registers its
 * waker in the cell; notify_one hands it the notification and takes the
 * waker in one CAS; the operation's next poll frees the slot with another.
 * While the slot is taken, other operations queue under the lock, behind
 * it, and go on queueing until the queue is empty (an operation takes the
 * slot only then, so the slot's is always the oldest waiter).  notify_one
 * without waiters is a CAS that stores the permit, and takes no lock
 * either.
 *
 * - notify_one hands one notification to the oldest waiter, or stores a
 *   single permit when nobody waits (several calls still store one).
 * - notify_waiters wakes every operation waiting now, and also completes the
 *   operations initialised before it but not yet polled (they captured the
 *   generation at init); it stores no permit.  It is atomic with respect to
 *   later calls, as tokio's: under the lock, in one CAS, it bumps the
 *   generation and marks the slot's waiter ALL, then detaches every queued
 *   waiter onto a guard list on its stack (waitq.h), and wakes them in
 *   batches.  A notify_one made meanwhile finds them gone, so it goes to a
 *   later waiter or is stored; an operation of the guard that is polled
 *   before its batch completes at once.
 * - A cancelled operation that had received a notify_one, and not consumed
 *   it, passes it on as a new notify_one.
 *
 *   call                       lock taken                  thread
 *   notify_one, notify_last    only while the queue holds  any
 *   notify_waiters             always                      any
 *   notified_init              never                       any
 *   notified_poll / _cancel    to queue, or once queued    the op's owner
 *   notified_enable            to queue                    the op's owner
 */
#ifndef AK_CORE_NOTIFY_H
#define AK_CORE_NOTIFY_H

#include <stdint.h>

#include "waitq.h"
#include "waker_slot.h"

struct ak__notify {
	ak__atomic(uint64_t) word;     /* see the top */
	struct ak__lock lock;          /* guards waiters */
	unsigned guards;               /* lock: notify_waiters calls still granting */
	struct ak__waitq waiters;
	uint64_t parks;                /* lock: operations counted, ever (below) */
	ak__atomic(uint64_t) finished; /* counted operations since finished */
	struct ak__waker_cell cell;    /* the slot's waker */
};

/* A wait for a notification; lives inside an operation. */
struct ak__notified {
	struct ak__waiter w;
	struct ak__notify *notify;
	uint32_t gen;                  /* generation when initialised */
	uint32_t slot;                 /* owner only: holds the slot */
};

void ak__notify_init(struct ak__notify *n);
/*
 * AK_EBUSY while an operation still needs the notify: it waits (queued, or
 * in the slot), or it was notified and has not yet been polled or
 * cancelled (its cancel would pass a notify_one on, or take the lock), or
 * a notify_waiters still wakes.  The queue no longer holds a notified
 * operation: the core counts, under the lock, each operation that leaves
 * IDLE to queue or to hold a permit from enable (parks, no RMW of its
 * own), and, when a counted one completes or is cancelled, finished (an
 * RMW, off the fast paths: the slot's operation, a stored permit, a moved
 * generation count nothing; the word holds the slot's).  The difference
 * is what still waits.  Nothing may run on the notify concurrently.
 */
int ak__notify_destroy(struct ak__notify *n);

void ak__notify_one(struct ak__notify *n);
/* notify_one to the newest waiter instead of the oldest (tokio's
 * notify_last); stores the permit the same way. */
void ak__notify_last(struct ak__notify *n);
void ak__notify_waiters(struct ak__notify *n);

void ak__notified_init(struct ak__notified *o, struct ak__notify *n);

/* The word. */
enum {
	AK__NOTIFY_EMPTY = 0, AK__NOTIFY_WAITING = 1, AK__NOTIFY_NOTIFIED = 2, AK__NOTIFY_LOW = 3,
	AK__NOTIFY_SLOT_WAIT = 1 << 2, AK__NOTIFY_SLOT_ONE = 2 << 2, AK__NOTIFY_SLOT_LAST = 3 << 2,
	AK__NOTIFY_SLOT_ALL = 4 << 2, AK__NOTIFY_SLOT = 7 << 2,
	AK__NOTIFY_SLOT_WAKER = 1 << 5,
};
#define AK__NOTIFY_GEN_SHIFT 8
#define AK__NOTIFY_REG ((uint64_t)1 << 40)

static inline uint32_t ak__notify_gen(uint64_t w)
{
	return (uint32_t)(w >> AK__NOTIFY_GEN_SHIFT);
}

/* Consumes a stored permit: 1 if there was one. */
static inline __attribute__((always_inline)) int ak__notify_take_permit(struct ak__notify *n)
{
	uint64_t w = ak__load(&n->word, AK__RELAXED);
	while ((w & AK__NOTIFY_LOW) == AK__NOTIFY_NOTIFIED) {
		/* acquire: pairs with the release that stored the permit. */
		if (ak__alone_cas(&n->word, &w, w & ~(uint64_t)AK__NOTIFY_LOW, AK__ACQUIRE,
		                  AK__RELAXED))
			return 1;
	}
	return 0;
}

/* A counted operation (w.want set: see ak__notify_destroy()) is done. */
static inline void ak__notified_finish(struct ak__notified *o)
{
	if (o->w.want) {
		o->w.want = 0;
		ak__alone_fetch_add(&o->notify->finished, 1, AK__RELAXED);
	}
}

/* The slot's operation leaves it; w: a look at the word.  Returns what
 * the slot said (AK__NOTIFY_SLOT_*): what it was given, or WAIT. */
static inline __attribute__((always_inline)) uint64_t ak__notified_leave_slot(struct ak__notified *o,
                                                                            uint64_t w)
{
	struct ak__notify *n = o->notify;
	/* Its own clone, read before the slot is freed: the next operation
	 * to claim it rewrites the cell (only the slot's operation writes
	 * it).  Valid if the word still says so at the CAS. */
	struct ak_waker mine = ak__waker_cell_peek(&n->cell);
	/* Only the slot's operation frees it: the CAS fails only on a
	 * notifier's or another operation's change elsewhere in the word.
	 * release: the look at the cell above comes before the slot is
	 * free (the next claim acquires it, then rewrites the cell);
	 * acquire: what a notifier wrote before it said ONE, LAST or ALL. */
	while (!ak__alone_cas(&n->word, &w, w & ~(uint64_t)(AK__NOTIFY_SLOT | AK__NOTIFY_SLOT_WAKER),
	                      AK__ACQ_REL, AK__ACQUIRE))
		;
	o->slot = 0;
	if (w & AK__NOTIFY_SLOT_WAKER)
		ak__waker_drop_kept(&mine);
	return w & AK__NOTIFY_SLOT;
}

/* The poll past its lockless looks; st: the state the poll saw. */
int ak__notified_poll_slow(struct ak__notified *o, struct ak_context *cx, uint32_t st);
/* The poll of an idle operation that saw nobody waiting and no permit in
 * w: claims the slot.  The poll of the slot's operation that must
 * register its waker. */
int ak__notified_claim(struct ak__notified *o, struct ak_context *cx, uint64_t w);
int ak__notified_slot_poll(struct ak__notified *o, struct ak_context *cx, uint64_t w);

/* 0 when notified, AK_PENDING, AK_ENOMEM.  Inline: the completions (a
 * grant, a moved generation, a stored permit, the slot's notification)
 * take no call, nor does a re-poll of the slot with the same waker. */
static inline int ak__notified_poll(struct ak__notified *o, struct ak_context *cx)
{
	uint32_t st = ak__waiter_state(&o->w);
	if (st == AK__W_GRANTED) {
		ak__waiter_take(&o->w);
		ak__notified_finish(o);
		return 0;
	}
	if (st == AK__W_IDLE) {
		/* acquire: pairs with the release in ak__notify_waiters() and
		 * with a notifier's CAS that filled the slot. */
		uint64_t w = ak__load(&o->notify->word, AK__ACQUIRE);
		if (o->slot) {
			if ((w & AK__NOTIFY_SLOT) != AK__NOTIFY_SLOT_WAIT) {
				ak__notified_leave_slot(o, w);
				return 0;
			}
			if (w & AK__NOTIFY_SLOT_WAKER) {
				struct ak_waker k = ak__waker_cell_peek(&o->notify->cell);
				if (ak__waker_same(&k, &cx->waker))
					return AK_PENDING;
			}
			return ak__notified_slot_poll(o, cx, w);
		}
		if (ak__notify_gen(w) != o->gen)
			return 0;
		if ((w & (AK__NOTIFY_LOW | AK__NOTIFY_SLOT)) == 0)
			return ak__notified_claim(o, cx, w);
		if ((w & AK__NOTIFY_LOW) == AK__NOTIFY_NOTIFIED && ak__notify_take_permit(o->notify))
			return 0;
	}
	return ak__notified_poll_slow(o, cx, st);
}

void ak__notified_cancel(struct ak__notified *o);
/* Registers o without a waker, as tokio's Notified::enable: 1 when it is
 * notified already (a moved generation, a grant, or a stored permit it
 * now holds as a notify_one's grant: its next poll returns 0 and its
 * cancel passes the permit on), 0 when registered (a notify_one may pick
 * it; its next poll supplies the waker).  Lock only to queue. */
int ak__notified_enable(struct ak__notified *o);

#endif
