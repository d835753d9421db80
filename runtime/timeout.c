/*
 * runtime/timeout.c: a deadline on any future (tokio::time::timeout).
 *
 * The operation claims the inner future (AK_FUTURE_OWNED, as select and
 * join claim their branches) and embeds a sleep for its deadline, so it
 * needs nothing from the executor and allocates nothing.  A poll polls the
 * inner future first and looks at the deadline only when that is pending:
 * a result the inner future reached in this poll (a send it committed, a
 * value it took) is never thrown away for AK_ETIMEDOUT.  When the deadline
 * has passed, the inner future is cancelled, which by the commit rule loses
 * nothing its cancel-safety class does not say.
 *
 * The inner future is polled on the caller's context as it is, with no
 * branch index pushed: a timeout is transparent to lock diagnostics, so a
 * lock awaited under a timeout is the same task's lock as without one.
 *
 *   field                 who
 *   everything            the op's owner: bind, poll and cancel never
 *                         overlap (the sleep's own timer side is in
 *                         runtime/timer.c)
 */
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/timeout.h>
#include <awaitkit/timer.h>

#include "../core/core.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_TIMEOUT, struct ak_timeout_op);

struct timeout_priv {
	struct ak_sleep_op sleep;   /* the deadline; never polled for NEVER */
	struct ak_future *inner;    /* claimed while the op is bound */
	int64_t deadline;
	int elapsed;                /* completed with AK_ETIMEDOUT by the deadline */
};
_Static_assert(sizeof(struct timeout_priv) <= sizeof(((struct ak_timeout_op *)0)->private_),
               "timeout op storage too small");

static struct timeout_priv *priv(struct ak_future *f)
{
	return (struct timeout_priv *)(void *)&((struct ak_timeout_op *)(void *)f)->private_;
}

/* Polls the sleep: 0 once the deadline has passed, AK_PENDING registered,
 * or an error. */
static int deadline_poll(struct timeout_priv *t, struct ak_context *cx)
{
	int32_t budget = cx->budget;

	/*
	 * An inner future that spent the budget must not keep the deadline
	 * from being seen (tokio polls its delay unconstrained then too):
	 * the sleep checks the budget before the clock, so it gets none to
	 * check.  It spends nothing that way; the inner future already woke
	 * the task.
	 */
	if (budget == 0)
		cx->budget = AK_BUDGET_UNCONSTRAINED;
	int rc = ak_future_poll(&t->sleep.future, cx);
	if (budget == 0)
		cx->budget = budget;
	return rc;
}

static int timeout_poll(struct ak_future *f, struct ak_context *cx)
{
	struct timeout_priv *t = priv(f);

	/* The inner future first: its result wins over the deadline. */
	int rc = ak__future_poll_owned(t->inner, cx);
	if (rc != AK_PENDING) {
		/* Unregisters the sleep and drops its clone, if it has one. */
		ak_future_cancel(&t->sleep.future);
		return rc;
	}
	if (t->deadline == AK_DEADLINE_NEVER)
		return AK_PENDING;
	rc = deadline_poll(t, cx);
	if (rc == AK_PENDING)
		return AK_PENDING;
	/* The deadline passed (or the sleep could not be registered: then no
	 * deadline can be kept, and the error says so). */
	ak__future_cancel_owned(t->inner);
	if (rc == 0) {
		t->elapsed = 1;
		rc = AK_ETIMEDOUT;
	}
	return rc;
}

static void timeout_cancel(struct ak_future *f)
{
	struct timeout_priv *t = priv(f);

	ak_future_cancel(&t->sleep.future);
	ak__future_cancel_owned(t->inner);
}

static const struct ak_future_vtable timeout_vtable = { timeout_poll, timeout_cancel };

AK_EXPORT int ak_timeout_init(struct ak_timeout_op *op, struct ak_future *inner,
                              int64_t deadline)
{
	if (!op || !inner || inner == &op->future)
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	/*
	 * Bound before but never polled: give that inner future back as it
	 * was, claimed by nobody (it may be the one being bound again).  A
	 * done op released its inner future when it completed or was
	 * cancelled.
	 */
	struct ak_future *old = NULL;
	if (op->future.vtable == &timeout_vtable &&
	    ak__future_phase(&op->future) == AK_FUTURE_IDLE) {
		old = priv(&op->future)->inner;
		old->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	}
	if (ak__future_claim(inner) != 0) {
		if (old)
			old->state |= AK_FUTURE_OWNED;
		return AK_EINVAL;
	}
	ak_future_init(&op->future, &timeout_vtable);
	struct timeout_priv *t = priv(&op->future);
	/* The op is not pending, so neither is its sleep: it holds nothing. */
	memset(&t->sleep, 0, sizeof(t->sleep));
	ak_sleep_until(&t->sleep, deadline);
	t->inner = inner;
	t->deadline = deadline;
	t->elapsed = 0;
	return 0;
}

AK_EXPORT int ak_timeout_elapsed(const struct ak_timeout_op *op)
{
	if (!op || op->future.vtable != &timeout_vtable)
		return AK_EINVAL;
	return priv((struct ak_future *)(uintptr_t)&op->future)->elapsed;
}
