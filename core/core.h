/*
 * core/core.h: what the primitives share — waker handling on the library's
 * side, the poll depth, the cooperative budget, owned futures and the parker.
 * Internal: never installed, never included by a public header.
 */
#ifndef AK_CORE_CORE_H
#define AK_CORE_CORE_H

#include <string.h>

#include <awaitkit/future.h>
#include <awaitkit/waker.h>

#include "shim.h"

/* ---- wakers the library keeps ---------------------------------------------
 * Clones the library makes are counted (ak_debug_counters) so tests can see
 * that each one was consumed by a wake or dropped.  None of these may be
 * called while holding a library lock (DESIGN.md section 1).
 */
static inline int ak__waker_empty(const struct ak_waker *w)
{
	return w->vtable == NULL;
}

static inline int ak__waker_same(const struct ak_waker *a, const struct ak_waker *b)
{
	return a->data == b->data && a->vtable == b->vtable;
}

/* Clone a valid context's waker (cx->waker, already checked) for keeping:
 * 0, or AK_ENOMEM with *out empty.  w is a valid context's waker:
 * ak_context_init() checked its vtable, or it is the library's own
 * (ak__context_enter), so no second check.  Inline, as are the wake and
 * the drop below: each park and each wake of a primitive makes one, and
 * the executor's own waker answers in a few instructions.
 * ak__waker_keep_uncounted() is its clone alone, for a caller that stores
 * the clone where it stays before it counts it (ak__count_kept(), whose
 * rare half is a call: no copy of the clone lives across it). */
static inline int ak__waker_keep_uncounted(const struct ak_waker *w, struct ak_waker *out)
{
	*out = w->vtable->clone(w->data);
	if (out->vtable == NULL) {
		out->data = NULL;
		return AK_ENOMEM;
	}
	return 0;
}

static inline int ak__waker_keep(const struct ak_waker *w, struct ak_waker *out)
{
	int rc = ak__waker_keep_uncounted(w, out);
	if (rc == 0)
		ak__count_kept();
	return rc;
}

/* A later poll of a parked operation: keeps in *kept a clone of cx's
 * waker w (the old one dropped), unless *kept will wake the same task.
 * 0, or AK_ENOMEM with *kept unchanged. */
int ak__waker_rekeep(struct ak_waker *kept, const struct ak_waker *w);

/* Takes a kept clone out of *w (empty: nothing to take): the count goes
 * down, *w is left empty, and the clone is the caller's to wake or drop. */
static inline struct ak_waker ak__waker_take_kept(struct ak_waker *w)
{
	struct ak_waker k = *w;
	if (k.vtable != NULL) {
		ak__count_clones(-1);
		w->data = NULL;
		w->vtable = NULL;
	}
	return k;
}

/* Wake and consume a kept clone (no-op when empty). */
static inline void ak__waker_wake_kept(struct ak_waker *w)
{
	struct ak_waker k = ak__waker_take_kept(w);
	if (k.vtable != NULL)
		k.vtable->wake(k.data);
}

/* Drop a kept clone (no-op when empty: a waiting kernel drops an unused
 * clone slot at every park). */
static inline void ak__waker_drop_kept(struct ak_waker *w)
{
	struct ak_waker k = ak__waker_take_kept(w);
	if (k.vtable != NULL)
		k.vtable->drop(k.data);
}

/* ---- values ------------------------------------------------------------------
 * A channel's element copy: the common sizes with a constant length (a few
 * moves inline), the rest through memcpy.
 */
static inline void ak__copy_value(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 0:
		break;
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		memcpy(dst, src, n);
		break;
	}
}

/* ak__copy_value() of the common sizes alone: 1 copied, 0 for any other
 * size, copied by nothing (the caller goes on in a function of its own,
 * so that a leaf path makes no call to memcpy). */
static inline int ak__copy_small(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 0:
		return 1;
	case 4:
		memcpy(dst, src, 4);
		return 1;
	case 8:
		memcpy(dst, src, 8);
		return 1;
	case 16:
		memcpy(dst, src, 16);
		return 1;
	default:
		return 0;
	}
}

/* ---- poll depth ------------------------------------------------------------ */

/* True when the calling thread is inside a poll: blocking calls refuse. */
int ak__in_poll(void);
/* False inside a poll and on a thread marked by ak_loop_enter (its loop
 * would freeze): every blocking form refuses with AK_EDEADLK then. */
int ak__may_block(void);

/* ---- contexts -------------------------------------------------------------- */

static inline int ak__cx_valid(const struct ak_context *cx)
{
	return cx != NULL && (cx->flags & AK_CONTEXT_VALID) != 0;
}

/* The calling thread's poll state (core/context.c): how many polls it is
 * inside of, the last vtable ak_context_init() saw pass ak_waker_check()
 * on this thread (never NULL: it starts at the noop vtable), which it then
 * accepts with one compare, and a word the runtime keeps beside them (the
 * task of the library's executors this thread is polling; core only
 * stores it), so that an executor's poll reaches all three through one
 * thread-local address. */
struct ak__poll_tls {
	int32_t depth;
	const struct ak_waker_vtable *checked;
	void *polling;
};
extern _Thread_local struct ak__poll_tls ak__poll_tls;

/* &ak__poll_tls, as a value the compiler keeps (in a register or its
 * frame) across a run loop's polls instead of computing the thread-local
 * address again at each use (it counts that as free; it is two
 * instructions, and the frame a call needs). */
static inline struct ak__poll_tls *ak__poll_tls_here(void)
{
	/* Read back through a volatile: the compiler cannot remake the
	 * value, so it keeps it. */
	struct ak__poll_tls *volatile tls = &ak__poll_tls;
	return tls;
}

/* The library's view of struct ak_task_slot's opaque words. */
struct ak__slot_view {
	ak__atomic(uint64_t) id;
	uint64_t pending_polls;
};
_Static_assert(sizeof(struct ak__slot_view) <= sizeof(struct ak_task_slot),
               "task slot too small");

/*
 * ak_context_init() and ak_context_done() for the library's own executors:
 * no NULL test and no waker check.  ak__context_enter() takes a waker whose
 * vtable is the library's own (noop, thread, task) or one copied from a
 * valid context; ak__context_leave() takes a context that enter (or a
 * successful ak_context_init) made valid.  Every field is assigned: no
 * memset, and the path is zeroed whole (two stores) because lock records
 * copy all of it into ak_lock_info.
 *
 * A loop that polls many times with one vtable fills the words no poll
 * changes once (ak__context_prepare: depth_ is the depth the loop runs
 * at) and the others per poll (ak__context_refill); ak__context_fill()
 * is the two together.
 */
static inline void ak__context_prepare(struct ak_context *cx,
                                       const struct ak_waker_vtable *vtable,
                                       struct ak__poll_tls *tls)
{
	cx->size = (uint32_t)sizeof(*cx);
	cx->flags = AK_CONTEXT_VALID;
	cx->waker.vtable = vtable;
	cx->depth_ = tls->depth;
	for (int i = 0; i < 4; i++)
		cx->reserved[i] = 0;
}

static inline void ak__context_refill(struct ak_context *cx, const void *data,
                                      struct ak_task_slot *slot,
                                      struct ak__poll_tls *tls)
{
	cx->waker.data = data;
	cx->slot = slot;
	cx->path = (struct ak_branch_path){ 0 };
	cx->budget = AK_BUDGET_DEFAULT;
	tls->depth = cx->depth_ + 1;
}

static inline void ak__context_fill(struct ak_context *cx, struct ak_waker waker,
                                    struct ak_task_slot *slot,
                                    struct ak__poll_tls *tls)
{
	ak__context_prepare(cx, waker.vtable, tls);
	ak__context_refill(cx, waker.data, slot, tls);
}

static inline void ak__context_enter(struct ak_context *cx, struct ak_waker waker,
                                     struct ak_task_slot *slot)
{
	ak__context_fill(cx, waker, slot, &ak__poll_tls);
}

/* ak__context_leave() with the thread's poll state at hand (a run loop
 * keeps &ak__poll_tls in a register across its polls). */
static inline int ak__context_close(struct ak_context *cx, int poll_result,
                                    struct ak__poll_tls *tls)
{
	tls->depth = cx->depth_;
	if (poll_result == AK_PENDING && cx->slot)
		((struct ak__slot_view *)(void *)cx->slot)->pending_polls++;
	cx->flags &= ~AK_CONTEXT_VALID;
	return poll_result;
}

static inline int ak__context_leave(struct ak_context *cx, int poll_result)
{
	return ak__context_close(cx, poll_result, &ak__poll_tls);
}

/* ---- the cooperative budget -------------------------------------------------
 * A waiting operation calls ak__coop_check() on entry (AK_PENDING after
 * waking its own task when the budget is spent: the primitive is not
 * touched) and ak__coop_spend() when it completes.
 */
static inline int ak__coop_check(struct ak_context *cx)
{
	if (cx->budget == 0) {
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	return 0;
}

static inline void ak__coop_spend(struct ak_context *cx)
{
	if (cx->budget > 0)
		cx->budget--;
}

/* ---- futures owned by an executor or a combinator ------------------------- */

/* Marks f owned: 0, or AK_EINVAL if f is not pollable or already owned. */
int ak__future_claim(struct ak_future *f);
/* Polls an owned future (ak_future_poll refuses those). */
int ak__future_poll_owned(struct ak_future *f, struct ak_context *cx);

/* ak__future_poll_owned() with a context the library made itself (valid
 * by construction): an owned future is pollable when its state is owned
 * with phase idle or pending, and nothing else; the poll leaves it owned
 * and pending, or done and no longer owned. */
static inline int ak__future_poll_claimed(struct ak_future *f, struct ak_context *cx)
{
	if (f->state - (AK_FUTURE_OWNED | AK_FUTURE_IDLE) > 1 || f->vtable == NULL)
		return AK_EINVAL;
	int rc = f->vtable->poll(f, cx);
	f->state = rc == AK_PENDING ? (AK_FUTURE_OWNED | AK_FUTURE_PENDING) : AK_FUTURE_DONE;
	return rc;
}
/* Cancels f (owned or not) and clears the owned bit. */
void ak__future_cancel_owned(struct ak_future *f);
/* ak__future_cancel_owned() of a future its owner knows pollable (owned,
 * phase idle or pending: a combinator's branch still pending), inline:
 * marked done and no longer owned first (a cancel that re-enters sees a
 * finished future), then its cancel. */
static inline void ak__future_cancel_claimed(struct ak_future *f)
{
	f->state = AK_FUTURE_DONE;
	f->vtable->cancel(f);
}
static inline int ak__future_phase(const struct ak_future *f)
{
	return (int)(f->state & AK_FUTURE_PHASE_MASK);
}

/* ---- ak_op_size()'s table, assembled by the linker ---------------------------
 * Each primitive names its operation kinds beside their structures, in the
 * file that binds them (AK__OP_KIND(AK_OP_MPSC_SEND, struct
 * ak_mpsc_send_op)); the linker gathers the entries into one section that
 * ak_op_size() reads between __start_ and __stop_, as Linux gathers its
 * initcalls.  So core/ knows no primitive, and a new primitive touches only
 * its own files.  A statically linked program holds the kinds of the
 * objects it links: those of every operation it can bind.
 */
struct ak__op_kind {
	int64_t kind;
	uint64_t size;
};
#define AK__OP_KIND(k, type)                                                          \
	static const struct ak__op_kind ak__op_kind_##k                               \
		__attribute__((used, section("ak_op_kinds"), aligned(16))) = { (k), sizeof(type) }

/* The private storage of an operation struct (its header followed by
 * AK_OP_PRIVATE(n)): the same place whatever n, as the union is aligned
 * as max_align_t. */
struct ak__op {
	struct ak_future future;
	AK_OP_PRIVATE(1) private_;
};
static inline void *ak__op_private(struct ak_future *f)
{
	return &((struct ak__op *)(void *)f)->private_;
}

/* Sets the phase of f's state word, keeping the owned bit. */
static inline void ak__future_set_phase(struct ak_future *f, uintptr_t phase)
{
	f->state = (f->state & ~(uintptr_t)AK_FUTURE_PHASE_MASK) | phase;
}

/* Finishes an operation outside a poll (a try-form, a guard made by
 * hand): it reads done, so it is not pollable, and its cancel is a
 * no-op; a completed guard or permit is released by its own call. */
static inline void ak__future_finish(struct ak_future *f)
{
	ak__future_set_phase(f, AK_FUTURE_DONE);
}

/* ---- a bounded wait before a thread parks ------------------------------------
 * crossbeam's Backoff: the steps up to AK__BACKOFF_SPIN pause 1, 2, 4 ...
 * 64 times (127 pauses in all), the steps after, up to AK__BACKOFF_YIELD,
 * give the CPU away (sched_yield(2), 4 times); then ak__backoff_wait()
 * says 0 and the caller parks.  The caller looks at its condition between
 * two calls.  The growing pauses keep a waiter off the line that the
 * other side is about to write; the yields serve the case where the thread
 * that would end the wait shares this CPU (a loaded machine): a yield hands
 * it the CPU at once, where a park costs both threads a futex call and the
 * waiter a sleep and a wake-up.
 */
#define AK__BACKOFF_SPIN 6u
#define AK__BACKOFF_YIELD 10u

struct ak__backoff {
	unsigned step;
};
#define AK__BACKOFF_INIT { 0 }

/* One step of the wait: 1 after it (look again), 0 once the steps are
 * spent (park), without waiting. */
static inline int ak__backoff_wait(struct ak__backoff *b)
{
	if (b->step > AK__BACKOFF_YIELD)
		return 0;
	if (b->step <= AK__BACKOFF_SPIN) {
		for (unsigned i = 0; i < 1u << b->step; i++)
			ak__cpu_relax();
	} else {
		ak__yield();
	}
	b->step++;
	return 1;
}

/* ---- the parker ------------------------------------------------------------
 * One futex word: EMPTY, PARKED (a thread sleeps on it) or NOTIFIED (an
 * unpark happened that no park has consumed).  unpark's release exchange
 * pairs with the acquire in park that consumes NOTIFIED, so whatever the
 * waker wrote before unparking is visible to the parked thread after.
 */
struct ak__parker {
	ak__atomic(uint32_t) state;
};

void ak__parker_init(struct ak__parker *p);
/* 0 when unparked, AK_ETIMEDOUT at the deadline. */
int ak__park(struct ak__parker *p, int64_t deadline);
void ak__unpark(struct ak__parker *p);

#endif
