/*
 * core/waker_slot.h: one waiter's waker, registered and taken without a
 * lock, in the manner of tokio's AtomicWaker.  Internal; the mpsc
 * receiver uses it.
 *
 * A slot holds at most one kept clone (ak__waker_keep) and a state word:
 * 0, PARKED (the clone is stored) or WAKING (a waker won it and is copying
 * it out).  Only the registering side writes the clone, and only while the
 * state is 0 (seen with acquire) or after its own CAS took PARKED back; a
 * waker reads it only between its CAS from PARKED to WAKING and its release
 * store of 0.  Whoever moves PARKED away owns the clone: a waker wakes it,
 * the registering side drops it.  A clone a waker took leaves stale bits
 * that nothing drops (ak__waker_slot_free looks at the state).
 *
 * The handshake that makes it lossless is the caller's: the registering
 * side registers (a seq_cst store of PARKED) and then looks at its
 * condition again with seq_cst loads; a notifier makes its condition true
 * with a seq_cst RMW and then notifies (a seq_cst load of the state): of
 * the two looks, one sees the other's write.
 *
 *   call                          thread
 *   ak__waker_slot_init, _free    one, nothing else running
 *   ak__waker_slot_register,      the registering side (one at a time)
 *   _unregister
 *   ak__waker_slot_notify         any
 */
#ifndef AK_CORE_WAKER_SLOT_H
#define AK_CORE_WAKER_SLOT_H

#include "core.h"

struct ak__waker_slot {
	struct ak_waker waker;
	ak__atomic(uint32_t) state;
};

void ak__waker_slot_init(struct ak__waker_slot *s);
/* Drops the clone if one is still stored. */
void ak__waker_slot_free(struct ak__waker_slot *s);
/* Leaves a clone of cx's waker stored (or one that will_wake the same
 * task, kept with no clone and no RMW); 0 or AK_ENOMEM.  While a waker is
 * taking the previous clone, asks to be polled again instead. */
int ak__waker_slot_register(struct ak__waker_slot *s, struct ak_context *cx);
/* Takes back the stored clone, unless a waker took it (it wakes it then:
 * a spurious wake at worst). */
void ak__waker_slot_unregister(struct ak__waker_slot *s);
/* Wakes the stored clone, if any; comes after the caller's seq_cst RMW. */
void ak__waker_slot_notify(struct ak__waker_slot *s);

#endif
