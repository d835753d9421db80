/*
 * awaitkit: the future header every operation starts with, the operation
 * lifecycle, and the cooperative budget.  See ak_future(3).
 */
#ifndef AK_FUTURE_H
#define AK_FUTURE_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_future;

struct ak_future_vtable {
	/* 0 done, AK_PENDING parked with cx's waker registered, < 0 error. */
	int (*poll)(struct ak_future *f, struct ak_context *cx);
	/* Rust's drop: give back anything granted, unregister the waker. */
	void (*cancel)(struct ak_future *f);
};

/* Phases of the state word; zeroed storage reads AK_FUTURE_ZEROED. */
#define AK_FUTURE_ZEROED 0
#define AK_FUTURE_IDLE 1       /* initialised, not yet parked */
#define AK_FUTURE_PENDING 2    /* parked: must not move */
#define AK_FUTURE_DONE 3       /* completed, failed or cancelled */
#define AK_FUTURE_PHASE_MASK 0x3u
#define AK_FUTURE_OWNED 0x4u   /* bit: owned by a combinator */

struct ak_future {
	const struct ak_future_vtable *vtable;
	uintptr_t state;
};

int ak_future_init(struct ak_future *f, const struct ak_future_vtable *vtable);
int ak_future_poll(struct ak_future *f, struct ak_context *cx);
void ak_future_cancel(struct ak_future *f);
int ak_future_state(const struct ak_future *f);
int ak_coop_poll(struct ak_context *cx);

/*
 * ak_future_poll() inline, as ak_co_await() is: every task polls its
 * operations through it, and a call costs as much as its checks.  The
 * same checks in the same order (a future that is not idle or pending,
 * or has no vtable, and a context that ak_context_init() did not make
 * valid, are refused with AK_EINVAL, the future untouched); the function
 * stays exported, for its address and for other languages (ak_future(3)).
 */
#if defined(__GNUC__) && !defined(AK_FUTURE_NO_INLINE_POLL)
static inline __attribute__((always_inline)) int
ak__future_poll_inline(struct ak_future *f, struct ak_context *cx)
{
	if (!f || f->state - AK_FUTURE_IDLE > 1 || f->vtable == NULL ||
	    !cx || !(cx->flags & AK_CONTEXT_VALID))
		return AK_EINVAL;
	int rc = f->vtable->poll(f, cx);
	f->state = rc == AK_PENDING ? AK_FUTURE_PENDING : AK_FUTURE_DONE;
	return rc;
}
#define ak_future_poll(f, cx) ak__future_poll_inline((f), (cx))
#endif

/*
 * Operation storage.  Each operation struct is the future header followed
 * by private storage of a documented number of machine words, declared
 * through a union with max_align_t (no _Alignas or _Atomic here: these
 * headers compile as C++ too).  The sizes are part of the operation-storage
 * ABI, versioned apart from the library and the waker ABI.
 */
#define AK_OP_STORAGE_VERSION 1
#define AK_OP_PRIVATE(words) \
	union { max_align_t align_; void *word_[(words)]; }

/* Operation kinds, for ak_op_size(). */
#define AK_OP_YIELD 1
#define AK_OP_SLEEP 2      /* struct ak_sleep_op, <awaitkit/timer.h> */
/*
 * Ranges reserved for each primitive's kinds (a kind is never reused):
 * mpsc 10-29, oneshot 30-39, broadcast 40-49, watch 50-59, semaphore 60-69,
 * mutex 70-79, rwlock 80-89, notify 90-94, barrier 95-99, select/join
 * 100-119, task join 120, timeout 125, once cell 140-144, set-once
 * 145-149.
 */

size_t ak_op_size(int kind);

/*
 * The yield operation: its first poll wakes its own task and returns
 * AK_PENDING, its second returns 0.  A task gives the executor a turn.
 */
struct ak_yield_op {
	struct ak_future future;
	AK_OP_PRIVATE(2) private_;
};

int ak_yield_init(struct ak_yield_op *op);

#ifdef __cplusplus
}
#endif
#endif
