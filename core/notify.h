/*
 * core/notify.h: the notify core.  Internal; the channels' closed()
 * futures use it and the public Notify wraps it.
 *
 * One atomic word: the low two bits say EMPTY, WAITING (the queue is not
 * empty) or NOTIFIED (one stored permit); the rest counts notify_waiters
 * calls (the generation).  notify_one without waiters is a CAS on the word
 * and takes no lock.
 *
 * - notify_one hands one notification to the oldest waiter, or stores a
 *   single permit when nobody waits (several calls still store one).
 * - notify_waiters wakes every operation waiting now, and also completes the
 *   operations initialised before it but not yet polled (they captured the
 *   generation at init); it stores no permit.  It is atomic with respect to
 *   later calls, as tokio's: under the lock it bumps the generation and
 *   detaches every waiter onto a guard list on its stack (waitq.h), then
 *   wakes them in batches.  A notify_one made meanwhile finds them gone, so
 *   it goes to a later waiter or is stored; an operation of the guard that
 *   is polled before its batch completes at once.
 * - A cancelled operation that had received a notify_one, and not consumed
 *   it, passes it on as a new notify_one.
 *
 *   call                       lock taken                  thread
 *   notify_one, notify_last    only while WAITING          any
 *   notify_waiters             always                      any
 *   notified_init              never                       any
 *   notified_poll / _cancel    on the slow path            the op's owner
 *   notified_enable            on the slow path            the op's owner
 */
#ifndef AK_CORE_NOTIFY_H
#define AK_CORE_NOTIFY_H

#include <stdint.h>

#include "waitq.h"

struct ak__notify {
	ak__atomic(uint64_t) word;     /* generation << 2 | EMPTY/WAITING/NOTIFIED */
	struct ak__lock lock;          /* guards waiters */
	struct ak__waitq waiters;
	unsigned guards;               /* lock: notify_waiters calls still granting */
	uint64_t parks;                /* lock: operations queued or given a permit
	                                * by enable, ever: ak__notify_parks() */
};

/* A wait for a notification; lives inside an operation.  w comes first:
 * notify_waiters reads gen through the queue's node. */
struct ak__notified {
	struct ak__waiter w;
	struct ak__notify *notify;
	uint64_t gen;                  /* generation when initialised */
};

void ak__notify_init(struct ak__notify *n);
/* AK_EBUSY while operations wait on it (or a notify_waiters still wakes). */
int ak__notify_destroy(struct ak__notify *n);

/* How many times an operation left IDLE to wait, or to hold a permit
 * that its cancel would pass on (ak__notified_enable()): each is then
 * queued, granted, or holding the permit until its poll completes or it
 * is cancelled.  A wrapper that counts those completions and cancels of
 * its own operations knows, by the difference, how many still need the
 * notify alive (sync/notify.c's free).  Counted under the lock, where the
 * operation is queued: no read-modify-write of its own. */
uint64_t ak__notify_parks(struct ak__notify *n);

void ak__notify_one(struct ak__notify *n);
/* notify_one to the newest waiter instead of the oldest (tokio's
 * notify_last); stores the permit the same way. */
void ak__notify_last(struct ak__notify *n);
void ak__notify_waiters(struct ak__notify *n);

void ak__notified_init(struct ak__notified *o, struct ak__notify *n);

/* The word's low bits. */
enum { AK__NOTIFY_EMPTY = 0, AK__NOTIFY_WAITING = 1, AK__NOTIFY_NOTIFIED = 2, AK__NOTIFY_LOW = 3 };

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

/* The poll past its lockless looks; st: the state the poll saw. */
int ak__notified_poll_slow(struct ak__notified *o, struct ak_context *cx, uint32_t st);

/* 0 when notified, AK_PENDING, AK_ENOMEM.  Inline: the completions (a
 * grant, a moved generation, a stored permit) take no call. */
static inline int ak__notified_poll(struct ak__notified *o, struct ak_context *cx)
{
	uint32_t st = ak__waiter_state(&o->w);
	if (st == AK__W_GRANTED) {
		ak__waiter_take(&o->w);
		return 0;
	}
	if (st == AK__W_IDLE) {
		/* acquire: pairs with the release in ak__notify_waiters(). */
		uint64_t w = ak__load(&o->notify->word, AK__ACQUIRE);
		if ((w & ~(uint64_t)AK__NOTIFY_LOW) != o->gen)
			return 0;
		if ((w & AK__NOTIFY_LOW) == AK__NOTIFY_NOTIFIED && ak__notify_take_permit(o->notify))
			return 0;
	}
	return ak__notified_poll_slow(o, cx, st);
}

void ak__notified_cancel(struct ak__notified *o);
/* Registers o without a waker, as tokio's Notified::enable: 1 when it is
 * notified already (a moved generation, a grant, or a stored permit it
 * now holds as a notify_one's grant: its next poll returns 0 and its
 * cancel passes the permit on), 0 when queued (a notify_one may pick it;
 * its next poll supplies the waker).  Lock only on the slow path. */
int ak__notified_enable(struct ak__notified *o);

#endif
