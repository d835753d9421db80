/* core/waker_slot.c: one waiter's waker, lock-free.  See waker_slot.h. */
#include "waker_slot.h"

int ak__waker_cell_wake(struct ak__waker_cell *c, ak__atomic(uint64_t) *word, uint64_t bit,
                        uint64_t s)
{
	struct ak_waker w;
	while (s & bit) {
		/* One CAS wins among the notifiers; the others find the bit
		 * clear. */
		if (ak__waker_cell_take(c, word, bit, &s, s, &w)) {
			ak__waker_wake_kept(&w);
			return 0;
		}
	}
	return 0;
}

void ak__waker_slot_init(struct ak__waker_slot *s)
{
	ak__init(&s->state, 0);
	s->retired = (struct ak_waker){ NULL, NULL };
}

void ak__waker_slot_free(struct ak__waker_slot *s)
{
	ak__waker_cell_free(&s->cell, ak__load(&s->state, AK__RELAXED), AK__WAKER_SLOT_KEPT);
	ak__waker_drop_kept(&s->retired);
}

void ak__waker_slot_let_go(struct ak__waker_slot *s)
{
	/* acquire: as in ak__waker_cell_register_at(): a notifier's take
	 * (with threads) that came first cleared KEPT; one that comes after
	 * fails its CAS. */
	uint64_t st = ak__fetch_and(&s->state,
	                            ~(AK__WAKER_SLOT_BIT | AK__WAKER_SLOT_KEPT | AK__WAKER_SLOT_BYREF),
	                            AK__ACQUIRE);
	if (!(st & AK__WAKER_SLOT_KEPT))
		return;
	struct ak_waker old = ak__waker_cell_peek(&s->cell);
	if ((st & AK__WAKER_SLOT_BYREF) && !ak__alone()) {
		/* once at most (see the header): the wake by reference that
		 * left it may still run in the thread it started */
		s->retired = old;
		return;
	}
	ak__waker_drop_kept(&old);
}

void ak__waker_slot_unregister(struct ak__waker_slot *s)
{
	/* relaxed: only this side sets KEPT. */
	if (ak__load(&s->state, AK__RELAXED) & AK__WAKER_SLOT_KEPT)
		ak__waker_slot_let_go(s);
}

int ak__waker_slot_wake(struct ak__waker_slot *s, uint64_t st)
{
	struct ak_waker w = ak__waker_cell_peek(&s->cell);
	if (ak__alone()) {
		/* Nobody can let the clone go before the wake returns: it
		 * stays kept, woken by reference. */
		ak__store(&s->state, (st & ~AK__WAKER_SLOT_BIT) | AK__WAKER_SLOT_BYREF, AK__RELAXED);
		w.vtable->wake_by_ref(w.data);
		return 0;
	}
	while (st & AK__WAKER_SLOT_BIT) {
		/* BIT implies KEPT; one CAS wins among the notifiers, as in
		 * ak__waker_cell_wake().  acq_rel, acquire: as in
		 * ak__waker_cell_take(). */
		if (ak__cas_weak(&s->state, &st, st & ~(AK__WAKER_SLOT_BIT | AK__WAKER_SLOT_KEPT),
		                 AK__ACQ_REL, AK__ACQUIRE)) {
			ak__waker_wake_kept(&w);
			return 0;
		}
		w = ak__waker_cell_peek(&s->cell);
	}
	return 0;
}
