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
}

void ak__waker_slot_free(struct ak__waker_slot *s)
{
	ak__waker_cell_free(&s->cell, ak__load(&s->state, AK__RELAXED), AK__WAKER_SLOT_BIT);
}

void ak__waker_slot_unregister(struct ak__waker_slot *s)
{
	ak__waker_cell_unregister(&s->cell, &s->state, AK__WAKER_SLOT_BIT);
}
