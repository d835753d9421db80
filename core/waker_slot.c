/* core/waker_slot.c: one waiter's waker, lock-free.  See waker_slot.h. */
#include "waker_slot.h"

#define PARKED 1u
#define WAKING 2u

void ak__waker_slot_init(struct ak__waker_slot *s)
{
	ak__init(&s->state, 0);
}

void ak__waker_slot_free(struct ak__waker_slot *s)
{
	if (ak__load(&s->state, AK__RELAXED) == PARKED)
		ak__waker_drop_kept(&s->waker);
}

void ak__waker_slot_notify(struct ak__waker_slot *s)
{
	/* seq_cst: comes after the caller's seq_cst RMW; pairs with the
	 * seq_cst store of PARKED in ak__waker_slot_register(), after which
	 * the registering side looks at its condition again: of the two
	 * looks, one sees the other's write. */
	uint32_t st = ak__load(&s->state, AK__SEQ_CST);
	if (st != PARKED)
		return;
	/* acquire: pairs with the (seq_cst, so release) store of PARKED: the
	 * waker stored before it is visible.  One CAS wins. */
	if (!ak__cas(&s->state, &st, WAKING, AK__ACQUIRE, AK__RELAXED))
		return;
	struct ak_waker w = s->waker;
	/* release: our read of the waker comes before the next write of it
	 * (the acquire loads of the state in ak__waker_slot_register()). */
	ak__store(&s->state, 0, AK__RELEASE);
	ak__waker_wake_kept(&w);
}

int ak__waker_slot_register(struct ak__waker_slot *s, struct ak_context *cx)
{
	/* acquire: pairs with the release store of 0 in
	 * ak__waker_slot_notify(): a waker that took our last clone is done
	 * reading it. */
	uint32_t st = ak__load(&s->state, AK__ACQUIRE);
	if (st == PARKED) {
		/* Our registration still stands, and the waker is ours: a waker
		 * may be copying it now, never writing it.  One that will_wake
		 * the same task is kept: no clone, no RMW (ak_waker(3)).  If a
		 * waker takes it meanwhile, it wakes us: the caller looks at its
		 * condition again after this either way. */
		if (ak_waker_will_wake(&s->waker, &cx->waker))
			return 0;
		/* acquire for a failure: a waker took the clone; if it is done
		 * (0), this pairs with its release store of 0, as the load
		 * above (success needs no order: the waker is our write). */
		if (ak__cas(&s->state, &st, 0, AK__ACQUIRE, AK__ACQUIRE)) {
			ak__waker_drop_kept(&s->waker);
			st = 0;
		}
	}
	if (st == WAKING) {
		/* A waker is taking our previous clone and will wake that one;
		 * the slot is not ours to write until it is done (a few
		 * instructions).  Have this task polled again instead. */
		ak_waker_wake_by_ref(&cx->waker);
		return 0;
	}
	struct ak_waker clone;
	int rc = ak__waker_keep(&cx->waker, &clone);
	if (rc)
		return rc;
	s->waker = clone;            /* what was there was stale or dropped */
	/* seq_cst: pairs with the seq_cst load in ak__waker_slot_notify();
	 * release for the waker written above. */
	ak__store(&s->state, PARKED, AK__SEQ_CST);
	return 0;
}

void ak__waker_slot_unregister(struct ak__waker_slot *s)
{
	/* relaxed: only the registering side raises PARKED; anything else
	 * means a waker took the clone. */
	uint32_t st = ak__load(&s->state, AK__RELAXED);
	if (st != PARKED)
		return;
	/* relaxed: the waker is our own write. */
	if (ak__cas(&s->state, &st, 0, AK__RELAXED, AK__RELAXED))
		ak__waker_drop_kept(&s->waker);
}
