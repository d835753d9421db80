/* core/waker_slot.c: one waiter's waker, lock-free.  See waker_slot.h. */
#include "waker_slot.h"

#define SLOT_BIT ((uint64_t)1)

void ak__waker_cell_notify(struct ak__waker_cell *c, ak__atomic(uint64_t) *word, uint64_t bit)
{
	/* seq_cst: comes after the caller's seq_cst RMW; pairs with the
	 * seq_cst RMW that sets the bit in ak__waker_cell_register(), after
	 * which the registering side looks at its condition again: of the two
	 * looks, one sees the other's write.  Acquire for the cell. */
	uint64_t s = ak__load(word, AK__SEQ_CST);
	struct ak_waker w;
	while (s & bit) {
		/* One CAS wins among the notifiers; the others find the bit
		 * clear. */
		if (ak__waker_cell_take(c, word, bit, &s, s, &w)) {
			ak__waker_wake_kept(&w);
			return;
		}
	}
}

void ak__waker_slot_init(struct ak__waker_slot *s)
{
	ak__init(&s->state, 0);
}

void ak__waker_slot_free(struct ak__waker_slot *s)
{
	ak__waker_cell_free(&s->cell, ak__load(&s->state, AK__RELAXED), SLOT_BIT);
}

int ak__waker_slot_register(struct ak__waker_slot *s, struct ak_context *cx)
{
	/* acquire: pairs with a notifier's release CAS: the clone it took is
	 * no longer read from the cell. */
	uint64_t st = ak__load(&s->state, AK__ACQUIRE);
	return ak__waker_cell_register(&s->cell, &s->state, SLOT_BIT, &st, cx);
}

void ak__waker_slot_unregister(struct ak__waker_slot *s)
{
	ak__waker_cell_unregister(&s->cell, &s->state, SLOT_BIT);
}

void ak__waker_slot_notify(struct ak__waker_slot *s)
{
	ak__waker_cell_notify(&s->cell, &s->state, SLOT_BIT);
}
