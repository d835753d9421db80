/* core/context.c: contexts, the thread's poll depth, the task slot. */
#include <string.h>

#include <awaitkit/waker.h>

#include "core.h"

/* How many polls the calling thread is inside of.  Blocking calls refuse to
 * run when it is non-zero: they would stall an executor thread. */
static _Thread_local int32_t poll_depth;

/* The library's view of struct ak_task_slot's opaque words. */
struct slot_view {
	ak__atomic(uint64_t) id;
	uint64_t pending_polls;
};
_Static_assert(sizeof(struct slot_view) <= sizeof(struct ak_task_slot),
               "task slot too small");

static ak__atomic(uint64_t) next_task_id = 1;

int ak__in_poll(void)
{
	return poll_depth > 0;
}

AK_EXPORT int ak_context_init(struct ak_context *cx, struct ak_waker waker,
                              struct ak_task_slot *slot)
{
	if (!cx)
		return AK_EINVAL;
	memset(cx, 0, sizeof(*cx));
	cx->size = (uint32_t)sizeof(*cx);
	if (ak_waker_check(&waker) != 0)
		return AK_EINVAL;           /* flags stay 0: every poll refuses */
	cx->flags = AK_CONTEXT_VALID;
	cx->waker = waker;
	cx->slot = slot;
	cx->budget = AK_BUDGET_DEFAULT;
	cx->depth_ = poll_depth++;
	return 0;
}

AK_EXPORT int ak_context_done(struct ak_context *cx, int poll_result)
{
	if (!ak__cx_valid(cx))
		return poll_result;
	poll_depth = cx->depth_;
	if (poll_result == AK_PENDING && cx->slot)
		((struct slot_view *)(void *)cx->slot)->pending_polls++;
	cx->flags &= ~AK_CONTEXT_VALID;
	return poll_result;
}

AK_EXPORT uint64_t ak_task_slot_id(struct ak_task_slot *slot)
{
	if (!slot)
		return 0;
	struct slot_view *v = (struct slot_view *)(void *)slot;
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
	return ((const struct slot_view *)(const void *)slot)->pending_polls;
}
