/*
 * sync/lockop.h: the lock operation of Mutex and RwLock, written once: an
 * acquire whose completion is the guard, its release, and around them the
 * diagnostics (holder records, self-deadlock detection) and the lockdep
 * hooks.  Internal.
 *
 * A lock supplies its own parts in a constant table (struct
 * ak__lockop_ops): its kernel (try, wait, cancel, release) and its records.
 * The skeleton's functions are inlined into the lock's own with that
 * table, so that the lock's fast path stays one function with direct
 * calls; only the lockdep path (off by default) is shared code, with
 * indirect calls.
 *
 *   call                                   thread
 *   ak__lockop_bind                        the operation's owner
 *   ak__lockop_poll, _cancel, _try         the operation's owner, in its poll
 *                                          (try: anywhere)
 *   ak__lockop_unlock                      the guard's owner
 *   ak__lockop_ld_op                       the operation's owner
 */
#ifndef AK_SYNC_LOCKOP_H
#define AK_SYNC_LOCKOP_H

#include <awaitkit/lock_info.h>

#include "../core/core.h"
#include "lockdep.h"

struct ak__lockop {
	void *lock;                  /* the Mutex or the RwLock */
	const char *file;            /* the acquisition site */
	int line;
	int mode;                    /* AK_LOCK_READ or AK_LOCK_WRITE */
	int held;                    /* the guard's owner: 1 while it holds */
	int parked;                  /* the owner: its acquire is queued */
	struct ak__ld_op ld;         /* lockdep's part (sync/lockdep.h) */
};

struct ak__lockop_ops {
	/* The kernel: a try (0, AK_EAGAIN or an error), the queued acquire's
	 * poll and cancel, the release of a guard. */
	int (*try_lock)(struct ak__lockop *l);
	int (*wait)(struct ak__lockop *l, struct ak_context *cx);
	void (*cancel)(struct ak__lockop *l);
	int (*release)(struct ak__lockop *l);
	/* The diagnostics: the time an acquisition starts (read before the
	 * try, so that it does not lengthen the hold), the holder's record
	 * made and forgotten, and whether waiting would mean waiting for a
	 * guard of one's own. */
	int64_t (*clock)(struct ak__lockop *l);
	void (*record)(struct ak__lockop *l, struct ak_context *cx, int64_t since);
	void (*forget)(struct ak__lockop *l);
	int (*waits_for_itself)(struct ak__lockop *l, struct ak_context *cx);
	/* Optional: about to wait, done waiting (the RwLock's count of
	 * waiting writers). */
	void (*will_wait)(struct ak__lockop *l);
	void (*waited)(struct ak__lockop *l);
	/* The lock's lockdep class. */
	struct ak__ld_class *(*ld_class)(struct ak__lockop *l);
	/* Optional: the fast path's take, inlined into a poll that makes no
	 * call on its way (a leaf: no frame): 0 with the lock taken and the
	 * holder recorded, or AK_EAGAIN with nothing changed (the full poll
	 * then runs).  take_leaf for an acquire not queued, which may also
	 * return AK_EBUSY: its try found the lock busy and the requester
	 * waits for no guard of its own (its filter, as waits_for_itself(),
	 * said no: a maybe is AK_EAGAIN), nothing changed (the wait then
	 * follows, the filter not run again); granted_leaf for a queued one, the hand-off's
	 * completion (the holder recorded as well, only when the grant is
	 * there to take). */
	int (*take_leaf)(struct ak__lockop *l, struct ak_context *cx);
	int (*granted_leaf)(struct ak__lockop *l, struct ak_context *cx);
};

static inline struct ak__ld_acq ak__lockop_ld_acq(struct ak__lockop *l,
                                                  const struct ak__lockop_ops *ops)
{
	return (struct ak__ld_acq){ ops->ld_class(l), l->lock, l->file, l->line, l->mode };
}

/* The guard is taken: records the holder (inside its own poll). */
static inline __attribute__((always_inline)) void
ak__lockop_took(struct ak__lockop *l, struct ak_context *cx, int64_t since,
                const struct ak__lockop_ops *ops)
{
	l->held = 1;
	l->parked = 0;
	ops->record(l, cx, since);
}

/* The kernel's queued acquire polled: parked on AK_PENDING, else done. */
static inline __attribute__((always_inline)) int
ak__lockop_wait(struct ak__lockop *l, struct ak_context *cx, int64_t since,
                const struct ak__lockop_ops *ops)
{
	int rc = ops->wait(l, cx);
	if (rc == AK_PENDING) {
		l->parked = 1;
		return AK_PENDING;
	}
	l->parked = 0;
	if (ops->waited)
		ops->waited(l);
	if (rc == 0)
		ak__lockop_took(l, cx, since, ops);
	return rc;
}

/* The first try failed: about to wait, unless for itself. */
static inline __attribute__((always_inline)) int
ak__lockop_wait_first(struct ak__lockop *l, struct ak_context *cx, int64_t since,
                      const struct ak__lockop_ops *ops)
{
	if (ops->waits_for_itself(l, cx))
		return AK_EDEADLK;
	if (ops->will_wait)
		ops->will_wait(l);
	return ak__lockop_wait(l, cx, since, ops);
}

static inline __attribute__((always_inline)) int
ak__lockop_poll_plain(struct ak__lockop *l, struct ak_context *cx,
                      const struct ak__lockop_ops *ops)
{
	if (!l->parked && ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	int64_t since = ops->clock(l);
	if (l->parked)
		return ak__lockop_wait(l, cx, since, ops);
	int rc = ops->try_lock(l);
	if (rc == 0) {
		ak__coop_spend(cx);
		ak__lockop_took(l, cx, since, ops);
		return 0;
	}
	if (rc != AK_EAGAIN)
		return rc;
	return ak__lockop_wait_first(l, cx, since, ops);
}

/* Lockdep on (or its switch not yet read): the order is checked before
 * the first attempt, the lock recorded once taken. */
int ak__lockop_poll_lockdep(struct ak__lockop *l, struct ak_context *cx,
                            const struct ak__lockop_ops *ops);

/* The operation's poll. */
static inline __attribute__((always_inline)) int
ak__lockop_poll(struct ak__lockop *l, struct ak_context *cx, const struct ak__lockop_ops *ops)
{
	/* Off, lockdep costs this one predictable branch. */
	if (ak__lockdep_wanted())
		return ak__lockop_poll_lockdep(l, cx, ops);
	return ak__lockop_poll_plain(l, cx, ops);
}

/* The poll's fast path (lockdep off, not parked, budget left, the lock's
 * take_leaf taking it, or parked and granted_leaf completing it): 0; or
 * AK_EBUSY, nothing changed, when take_leaf tried and found the lock busy
 * (what is left of the poll is ak__lockop_wait_first(): the budget
 * checked, the try made); or AK_EAGAIN, nothing changed, for the full
 * poll.  The callers are out of line, so that this path stays a leaf. */
static inline __attribute__((always_inline)) int
ak__lockop_poll_leaf(struct ak__lockop *l, struct ak_context *cx, const struct ak__lockop_ops *ops)
{
	if (!ops->take_leaf || ak__lockdep_wanted())
		return AK_EAGAIN;
	if (l->parked) {
		/* The hand-off's completion: as the full poll's, no budget
		 * spent (the wait was the task's). */
		if (!ops->granted_leaf || ops->waited || ops->granted_leaf(l, cx) != 0)
			return AK_EAGAIN;
		l->held = 1;
		l->parked = 0;
		return 0;
	}
	if (cx->budget == 0)
		return AK_EAGAIN;
	int rc = ops->take_leaf(l, cx);
	if (rc != 0)
		return rc;
	ak__coop_spend(cx);
	l->held = 1;
	l->parked = 0;
	return 0;
}

/* The operation's cancel: whatever was granted meanwhile goes to the next
 * waiter. */
static inline void ak__lockop_cancel(struct ak__lockop *l, const struct ak__lockop_ops *ops)
{
	ops->cancel(l);
	l->parked = 0;
	if (ops->waited)
		ops->waited(l);
}

/*
 * Binds f (an operation whose private storage starts with l) to the lock:
 * AK_EBUSY while it is a guard still held.  The record is written when
 * the lock is taken: the lock sets up its kernel's acquire after this.
 */
static inline int ak__lockop_bind(struct ak_future *f, struct ak__lockop *l,
                                  const struct ak_future_vtable *vtable, void *lock, int mode,
                                  const char *file, int line)
{
	if (ak__future_phase(f) == AK_FUTURE_DONE && f->vtable == vtable && l->held)
		return AK_EBUSY;                /* a guard: unlock it first */
	int rc = ak_future_init(f, vtable);
	if (rc)
		return rc;
	l->lock = lock;
	l->file = file;
	l->line = line;
	l->mode = mode;
	l->held = 0;
	l->parked = 0;
	l->ld = (struct ak__ld_op){ 0 };
	return 0;
}

/* The try-form of a bound operation: it never waits, and is finished
 * either way (a guard is not pollable). */
static inline __attribute__((always_inline)) int
ak__lockop_try(struct ak_future *f, struct ak__lockop *l, struct ak_context *cx,
               const struct ak__lockop_ops *ops)
{
	int64_t since = ops->clock(l);
	int rc = ops->try_lock(l);
	if (rc == 0) {
		ak__lockop_took(l, cx, since, ops);
		if (ak__lockdep_wanted() && ak__lockdep_on()) {
			/* A try never waits: recorded as held, no order checked. */
			struct ak__ld_acq a = ak__lockop_ld_acq(l, ops);
			ak__lockdep_took(&l->ld, &a, cx);
		}
	}
	ak__future_finish(f);
	return rc;
}

/* ak__lockop_unlock() of a guard lockdep recorded, out of line: the
 * release's hot path then makes no call but its tail call (no frame). */
int ak__lockop_unlock_lockdep(struct ak__lockop *l, const struct ak__lockop_ops *ops);

/* Releases the guard l of f: AK_EINVAL for storage never bound as one of
 * the lock's operations (zeroed, or another operation's) or no guard. */
static inline __attribute__((always_inline)) int
ak__lockop_unlock(struct ak_future *f, struct ak__lockop *l,
                  const struct ak_future_vtable *vtable, const struct ak__lockop_ops *ops)
{
	if (f->vtable != vtable || !l->held || !l->lock)
		return AK_EINVAL;
	l->held = 0;
	if (__builtin_expect(l->ld.entry != 0, 0))
		return ak__lockop_unlock_lockdep(l, ops);
	ops->forget(l);
	return ops->release(l);
}

/*
 * A lock's constant table and its operation's vtable, written once for
 * Mutex and RwLock: defines `static const struct ak__lockop_ops ops` from
 * the lock's parts, which it names l_try, l_wait, l_cancel, l_release,
 * l_clock, l_record, l_forget, l_waits_for_itself and l_ld_class (and
 * will_wait, waited, take_leaf and granted_leaf, optional: NULL for none;
 * granted_leaf is used only with take_leaf and without waited), and `static const
 * struct ak_future_vtable vtable` whose poll and cancel are
 * ak__lockop_poll and ak__lockop_cancel inlined with that table.  The
 * operation's private storage starts with its struct ak__lockop.
 */
#define AK__LOCKOP_DEFINE(ops, vtable, will_wait_fn, waited_fn, take_leaf_fn, granted_leaf_fn) \
	static const struct ak__lockop_ops ops = {                                     \
		.try_lock = l_try,                                                     \
		.wait = l_wait,                                                        \
		.cancel = l_cancel,                                                    \
		.release = l_release,                                                  \
		.clock = l_clock,                                                      \
		.record = l_record,                                                    \
		.forget = l_forget,                                                    \
		.waits_for_itself = l_waits_for_itself,                                \
		.will_wait = will_wait_fn,                                             \
		.waited = waited_fn,                                                   \
		.ld_class = l_ld_class,                                                \
		.take_leaf = take_leaf_fn,                                             \
		.granted_leaf = granted_leaf_fn,                                       \
	};                                                                             \
	static __attribute__((noinline)) int ops##_poll_full(struct ak_future *f,     \
	                                                     struct ak_context *cx)    \
	{                                                                              \
		return ak__lockop_poll((struct ak__lockop *)ak__op_private(f), cx, &ops); \
	}                                                                              \
	static __attribute__((noinline)) int ops##_poll_busy(struct ak_future *f,     \
	                                                     struct ak_context *cx)    \
	{                                                                              \
		struct ak__lockop *l = (struct ak__lockop *)ak__op_private(f);         \
		/* take_leaf's filter said it waits for no guard of its own. */ \
		if (ops.will_wait)                                                     \
			ops.will_wait(l);                                              \
		return ak__lockop_wait(l, cx, ops.clock(l), &ops);                    \
	}                                                                              \
	static int ops##_poll(struct ak_future *f, struct ak_context *cx)              \
	{                                                                              \
		if (!ops.take_leaf)                                                    \
			return ak__lockop_poll((struct ak__lockop *)ak__op_private(f), cx, &ops); \
		int rc = ak__lockop_poll_leaf((struct ak__lockop *)ak__op_private(f), cx, &ops); \
		if (rc == 0)                                                           \
			return 0;                                                      \
		if (rc == AK_EBUSY)                                                    \
			return ops##_poll_busy(f, cx);                                 \
		return ops##_poll_full(f, cx);                                         \
	}                                                                              \
	static void ops##_cancel(struct ak_future *f)                                  \
	{                                                                              \
		ak__lockop_cancel((struct ak__lockop *)ak__op_private(f), &ops);      \
	}                                                                              \
	static const struct ak_future_vtable vtable = { ops##_poll, ops##_cancel }

/* lockdep's part of an idle operation (ak_lockdep_nest), else NULL. */
static inline struct ak__ld_op *ak__lockop_ld_op(struct ak__lockop *l)
{
	return l->held || l->parked || l->ld.checked ? NULL : &l->ld;
}

#endif
