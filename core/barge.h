/*
 * core/barge.h: a lock of one owner that lets newcomers barge, with Go's
 * eventual fairness (sync.Mutex's starvation mode).  It carries the Mutex
 * created with AK_MUTEX_BARGING; the fair FIFO lock is core/sem.h.
 * Internal.
 *
 * One atomic word holds LOCKED, WAITERS (the queue is not empty), WOKEN (a
 * waiter was woken to retry and has not yet) and HANDOFF (starvation mode).
 * Waiters park in the FIFO of core/waitq.h, under the lock's own lock.
 *
 *   - Normal mode: unlock frees the word, and wakes the head waiter unless
 *     one is awake already.  Whoever comes first takes the free word: a
 *     newcomer's CAS (the fast path, no lock taken) or the woken waiter's.
 *     A woken waiter that lost goes back to the FRONT of the queue.
 *   - Starvation: a woken waiter that lost after waiting over
 *     AK__BARGE_STARVE_NS since it first parked sets HANDOFF.  Then unlock
 *     hands the lock straight to the head waiter (the word stays LOCKED)
 *     and newcomers queue at the tail.  A waiter handed the lock after
 *     waiting less than that, or the last waiter, ends starvation mode.
 *
 * Invariant, kept under the lock: a non-empty queue with the word free has
 * WOKEN set — somebody awake will take the word or queue again — so no
 * wake is lost.  Waiters are granted (moved out of the queue, their waker
 * into a wake list) with 0 for "woken, retry" or 1 for "the lock is
 * yours"; the grant is provisional: a cancel passes it on.
 *
 *   call                        lock taken                 thread
 *   try_lock                    never                      any
 *   unlock                      only while WAITERS is set  the holder
 *   acquire_poll                only on the slow path      the op's owner
 *   acquire_cancel              if it ever parked          the op's owner
 *   is_locked                   never                      any
 */
#ifndef AK_CORE_BARGE_H
#define AK_CORE_BARGE_H

#include <stdint.h>

#include "waitq.h"

/* Go's starvationThresholdNs. */
#define AK__BARGE_STARVE_NS 1000000

struct ak__barge {
	ak__atomic(uint32_t) word;     /* LOCKED | WAITERS | WOKEN | HANDOFF */
	struct ak__lock lock;          /* guards waiters */
	struct ak__waitq waiters;
};

/* An acquire in progress; lives inside an operation. */
struct ak__barge_acquire {
	struct ak__waiter w;
	struct ak__barge *b;
	int64_t since;                 /* ak_now() at the first park; 0: never */
	int woken;                     /* owner: woken to retry, WOKEN is ours */
};

void ak__barge_init(struct ak__barge *b);
/* AK_EBUSY while operations wait on it. */
int ak__barge_destroy(struct ak__barge *b);

int ak__barge_is_locked(struct ak__barge *b);
size_t ak__barge_waiting(struct ak__barge *b);

/* 0, or AK_EAGAIN while held (or handed over in starvation mode). */
int ak__barge_try_lock(struct ak__barge *b);
/* The holder lets go. */
void ak__barge_unlock(struct ak__barge *b);

void ak__barge_acquire_init(struct ak__barge_acquire *a, struct ak__barge *b);
/* 0 with the lock held, AK_PENDING, AK_ENOMEM. */
int ak__barge_acquire_poll(struct ak__barge_acquire *a, struct ak_context *cx);
/* Gives back whatever was granted meanwhile; a no-op if never parked. */
void ak__barge_acquire_cancel(struct ak__barge_acquire *a);

#endif
