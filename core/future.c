/* core/future.c: the future header, the budget, the yield operation. */
#include <awaitkit/future.h>

#include "core.h"

static int pollable(const struct ak_future *f)
{
	int phase = ak__future_phase(f);
	return f->vtable != NULL && (phase == AK_FUTURE_IDLE || phase == AK_FUTURE_PENDING);
}

AK_EXPORT int ak_future_init(struct ak_future *f, const struct ak_future_vtable *vtable)
{
	if (!f || !vtable || !vtable->poll || !vtable->cancel)
		return AK_EINVAL;
	if (ak__future_phase(f) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	f->vtable = vtable;
	f->state = AK_FUTURE_IDLE;
	return 0;
}

/* A future the caller may poll has phase idle or pending and nothing else
 * in its state (not owned): one compare.  Afterwards it holds the phase
 * alone, as the poll left it. */
/* The header's inline (<awaitkit/future.h>) makes the same checks; this
 * is the exported function, its address and other compilers' call. */
AK_EXPORT int (ak_future_poll)(struct ak_future *f, struct ak_context *cx)
{
	if (!f || f->state - AK_FUTURE_IDLE > 1 || f->vtable == NULL || !ak__cx_valid(cx))
		return AK_EINVAL;
	int rc = f->vtable->poll(f, cx);
	f->state = rc == AK_PENDING ? AK_FUTURE_PENDING : AK_FUTURE_DONE;
	return rc;
}

AK_EXPORT void ak_future_cancel(struct ak_future *f)
{
	if (!f || !pollable(f))
		return;
	/* Marked done first: a cancel that re-enters (through a waker) sees a
	 * finished future and does nothing. */
	ak__future_set_phase(f, AK_FUTURE_DONE);
	f->vtable->cancel(f);
}

AK_EXPORT int ak_future_state(const struct ak_future *f)
{
	if (!f)
		return AK_EINVAL;
	return (int)f->state;
}

AK_EXPORT int ak_coop_poll(struct ak_context *cx)
{
	if (!ak__cx_valid(cx))
		return AK_EINVAL;
	if (cx->budget == AK_BUDGET_UNCONSTRAINED)
		return 0;
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	cx->budget--;
	return 0;
}

int ak__future_claim(struct ak_future *f)
{
	/* Pollable and not owned: phase idle or pending and nothing else in
	 * the state (as ak_future_poll() asks), one compare. */
	if (!f || f->state - AK_FUTURE_IDLE > 1 || f->vtable == NULL)
		return AK_EINVAL;
	f->state |= AK_FUTURE_OWNED;
	return 0;
}

int ak__future_poll_owned(struct ak_future *f, struct ak_context *cx)
{
	if (!ak__cx_valid(cx)) {
		/* As a refused poll always did: the future is let go. */
		if (pollable(f))
			f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_EINVAL;
	}
	return ak__future_poll_claimed(f, cx);
}

void ak__future_cancel_owned(struct ak_future *f)
{
	f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	ak_future_cancel(f);
}

/* ---- the yield operation ---------------------------------------------------- */

struct yield_priv {
	uintptr_t yielded;
};
_Static_assert(sizeof(struct yield_priv) <= sizeof(((struct ak_yield_op *)0)->private_),
               "yield op storage too small");

static int yield_poll(struct ak_future *f, struct ak_context *cx)
{
	struct yield_priv *y = (struct yield_priv *)(void *)&((struct ak_yield_op *)(void *)f)->private_;

	if (!y->yielded) {
		y->yielded = 1;
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	ak__coop_spend(cx);
	return 0;
}

static void yield_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable yield_vtable = { yield_poll, yield_cancel };

AK_EXPORT int ak_yield_init(struct ak_yield_op *op)
{
	if (!op)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &yield_vtable);
	if (rc == 0)
		((struct yield_priv *)(void *)&op->private_)->yielded = 0;
	return rc;
}

AK__OP_KIND(AK_OP_YIELD, struct ak_yield_op);

/* The section's bounds, from the linker (weak: an empty table reads as
 * one, though the entry above is always there). */
extern const struct ak__op_kind __start_ak_op_kinds[] __attribute__((weak, visibility("hidden")));
extern const struct ak__op_kind __stop_ak_op_kinds[] __attribute__((weak, visibility("hidden")));

AK_EXPORT size_t ak_op_size(int kind)
{
	for (const struct ak__op_kind *k = __start_ak_op_kinds; k < __stop_ak_op_kinds; k++)
		if (k->kind == kind)
			return (size_t)k->size;
	return 0;
}
