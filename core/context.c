/* core/context.c: contexts, the thread's poll depth, the task slot. */
#include <string.h>

#include <awaitkit/waker.h>

#include "core.h"

extern const struct ak_waker_vtable ak__noop_vtable;

/*
 * The poll depth (how many polls the calling thread is inside of: blocking
 * calls refuse to run when it is non-zero, they would stall an executor
 * thread) and the vtable cache of ak_context_init(), in one thread-local
 * block so that a shared library computes one TLS address for both.
 *
 * The cache: ak_waker_check() looks at the vtable only, and a vtable is
 * constant and outlives every waker naming it (ak_waker(3)), so a pointer
 * that passed on this thread passes again; the next ak_context_init() with
 * it is one compare.  Another pointer is checked in full, so an invalid
 * vtable is refused however often a valid one came before.  The one thing
 * the cache cannot see is a vtable that passed, was unmapped or freed
 * (dlclose of the executor's module) and whose address now holds a vtable
 * that would fail.  We accept that: wakers naming the old vtable had to be
 * gone first, and the full check never caught a dangling vtable either (a
 * stale vtable whose memory still reads as valid passes it); the check
 * guards against ABI majors mixed up and vtables left unfilled, which the
 * cache keeps catching.
 */
_Thread_local struct ak__poll_tls ak__poll_tls = { 0, &ak__noop_vtable, NULL };

static ak__atomic(uint64_t) next_task_id = 1;

int ak__in_poll(void)
{
	return ak__poll_tls.depth > 0;
}

AK_EXPORT int ak_context_init(struct ak_context *cx, struct ak_waker waker,
                              struct ak_task_slot *slot)
{
	if (!cx)
		return AK_EINVAL;
	struct ak__poll_tls *tls = &ak__poll_tls;
	if (waker.vtable != tls->checked) {
		if (ak_waker_check(&waker) != 0) {
			memset(cx, 0, sizeof(*cx));
			cx->size = (uint32_t)sizeof(*cx);
			return AK_EINVAL;   /* flags stay 0: every poll refuses */
		}
		tls->checked = waker.vtable;
	}
	ak__context_fill(cx, waker, slot, tls);
	return 0;
}

AK_EXPORT int ak_context_done(struct ak_context *cx, int poll_result)
{
	if (!ak__cx_valid(cx))
		return poll_result;
	return ak__context_leave(cx, poll_result);
}

AK_EXPORT uint64_t ak_task_slot_id(struct ak_task_slot *slot)
{
	if (!slot)
		return 0;
	struct ak__slot_view *v = (struct ak__slot_view *)(void *)slot;
	/* Relaxed: the id is a name, it publishes nothing. */
	uint64_t id = ak__load(&v->id, AK__RELAXED);
	if (id == 0) {
		uint64_t fresh = ak__fetch_add(&next_task_id, 1, AK__RELAXED);
		if (ak__cas(&v->id, &id, fresh, AK__RELAXED, AK__RELAXED))
			id = fresh;
	}
	return id;
}

AK_EXPORT uint64_t ak_task_slot_pending_polls(const struct ak_task_slot *slot)
{
	if (!slot)
		return 0;
	return ((const struct ak__slot_view *)(const void *)slot)->pending_polls;
}
