/*
 * runtime/await.c: cancelling a task written with the await macros
 * (include/awaitkit/await.h): its live operation first, then its cleanup
 * block, entered through one more call of its poll function.
 */
#include <stddef.h>

#include <awaitkit/await.h>

#include "../core/core.h"

AK_EXPORT void ak_await_cancel(struct ak_await *aw, struct ak_future *task)
{
	if (!aw || aw->line == AK_AWAIT_DONE || (aw->flags & AK_AWAIT_CANCELLED))
		return;
	/* Set first: an await in the cleanup block, or a cancel that comes
	 * back here through a waker, finds the task cancelled. */
	aw->flags |= AK_AWAIT_CANCELLED;

	/* The live operation goes before the cleanup, so what it was granted
	 * meanwhile is handed on before the cleanup releases what the task
	 * already held. */
	struct ak_future *live = aw->live;
	aw->live = NULL;
	ak_future_cancel(live);

	if (task && task->vtable && task->vtable->poll) {
		/* A context of its own, on the noop waker, with no slot: the
		 * cleanup block must not wait, and is not one of the task's
		 * polls.  The poll function is called directly: the task's
		 * future is already done. */
		struct ak_context cx;
		aw->line = AK_AWAIT_CLEANUP;
		ak__context_enter(&cx, ak_waker_noop(), NULL);
		ak__context_leave(&cx, task->vtable->poll(task, &cx));
	}
	aw->line = AK_AWAIT_DONE;
	aw->cx = NULL;
}
