/*
 * core/block_on.c: drive a future from a plain thread.
 *
 * The thread parks on a heap-allocated, reference-counted parker; the waker
 * handed to the future is a reference to it, so a future (or a primitive)
 * may keep a clone after ak_block_on returns and wake it later harmlessly.
 *
 * A thread refuses to block (AK_EDEADLK) inside a poll, where it would stall
 * an executor thread, and while it runs a host loop (ak_loop_enter), where
 * it would freeze every callback of that loop.  Both marks are the calling
 * thread's own (thread-local, no atomics): no other thread reads them.
 */
#include <time.h>

#include <awaitkit/block_on.h>

#include "core.h"

/* How many ak_loop_enter() calls of this thread have not been left yet. */
static _Thread_local int32_t loop_depth;

struct thread_parker {
	ak__atomic(uint32_t) refs;
	struct ak__parker parker;
	struct ak_task_slot slot;   /* the thread's identity while it blocks */
};

static struct ak_waker tp_clone(const void *data);
static void tp_drop(const void *data)
{
	struct thread_parker *tp = (struct thread_parker *)(uintptr_t)data;
	if (ak__ref_put(&tp->refs))
		ak__free_sized(tp, sizeof(*tp));
}

static void tp_wake_by_ref(const void *data)
{
	ak__unpark(&((struct thread_parker *)(uintptr_t)data)->parker);
}

static void tp_wake(const void *data)
{
	tp_wake_by_ref(data);
	tp_drop(data);
}

const struct ak_waker_vtable ak__thread_waker_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = tp_clone,
	.wake = tp_wake,
	.wake_by_ref = tp_wake_by_ref,
	.drop = tp_drop,
};

static struct ak_waker tp_clone(const void *data)
{
	ak__ref_get(&((struct thread_parker *)(uintptr_t)data)->refs);
	struct ak_waker w = { data, &ak__thread_waker_vtable };
	return w;
}

AK_EXPORT int64_t ak_now(void)
{
#ifdef AK_SIM
	/* Virtual time: it moves only when every thread waits for a deadline. */
	return ak__sim_now();
#endif
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

AK_EXPORT int64_t ak_deadline_in(int64_t ns)
{
	int64_t now = ak_now();
	if (ns <= 0)
		return now;
	if (ns >= AK_DEADLINE_NEVER - now)
		return AK_DEADLINE_NEVER;
	return now + ns;
}

int ak__may_block(void)
{
	return loop_depth == 0 && !ak__in_poll();
}

AK_EXPORT int ak_loop_enter(void)
{
	if (loop_depth == INT32_MAX)
		return AK_EOVERFLOW;
	loop_depth++;
	return 0;
}

AK_EXPORT int ak_loop_leave(void)
{
	if (loop_depth == 0)
		return AK_EINVAL;
	loop_depth--;
	return 0;
}

AK_EXPORT int ak_block_on(struct ak_future *f, int64_t deadline)
{
	if (!f || ak__future_claim(f) != 0)
		return AK_EINVAL;
	if (!ak__may_block()) {
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_EDEADLK;
	}
	struct thread_parker *tp = ak__alloc(sizeof(*tp));
	if (!tp) {
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	ak__init(&tp->refs, 1);
	ak__parker_init(&tp->parker);
	struct ak_waker waker = { tp, &ak__thread_waker_vtable };

	int rc;
	for (;;) {
		struct ak_context cx;
		ak__context_enter(&cx, waker, &tp->slot);
		rc = ak__context_leave(&cx, ak__future_poll_owned(f, &cx));
		if (rc != AK_PENDING)
			break;
		/* A future that keeps waking itself never lets park time out. */
		if ((deadline != AK_DEADLINE_NEVER && ak_now() >= deadline) ||
		    ak__park(&tp->parker, deadline) == AK_ETIMEDOUT) {
			ak__future_cancel_owned(f);
			rc = AK_ETIMEDOUT;
			break;
		}
	}
	tp_drop(tp);
	return rc;
}
