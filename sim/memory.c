/*
 * sim/memory.c: weak memory, as store buffers (AK_SIM_WEAK=1, the default
 * of the random and PCT strategies).
 *
 * Sequential consistency is the floor: with the buffers off every access
 * acts on memory at its point.  With them on, a relaxed or release store
 * of a simulated thread goes to memory at once (so that the thread's own
 * plain code and its later loads see it), but the other threads keep
 * seeing the value it replaced until the store "drains" from the thread's
 * buffer.  What drains, and when, is the strategy's choice at each point
 * (strategy_drain), within C11's rules:
 *
 *   - stores to one location drain in their order (coherence);
 *   - a release store drains only after every older store of its thread,
 *     so a thread that reads it (acquire) sees them all; a relaxed store
 *     may drain before older ones to other locations: the reordering a
 *     release weakened to relaxed allows;
 *   - a seq_cst store, any read-modify-write, a lock or unlock, a futex
 *     wait or wake, an allocation or free, a thread's start, join and exit
 *     drain the thread's whole buffer first (x86's locked instructions,
 *     a kernel entry, or the handover they are);
 *   - a store or read-modify-write by another thread to a location first
 *     drains the stores pending there (and the older ones of their thread),
 *     so that memory's value stays the last in modification order.
 *
 * Loads never reorder with each other, and a drained store is seen by
 * every thread at once (multi-copy atomic): a subset of what C11 allows,
 * never more.  Plain (non-atomic) memory is outside the model: a plain
 * write published by a store that should be a release is ThreadSanitizer's
 * to find (awaitkit-sim(7)).
 */
#include <string.h>

#include "internal.h"

void sb_copy(void *dst, const volatile void *src, size_t size)
{
	switch (size) {
	case 1: *(uint8_t *)dst = __atomic_load_n((const volatile uint8_t *)src, __ATOMIC_SEQ_CST); break;
	case 2: *(uint16_t *)dst = __atomic_load_n((const volatile uint16_t *)src, __ATOMIC_SEQ_CST); break;
	case 4: *(uint32_t *)dst = __atomic_load_n((const volatile uint32_t *)src, __ATOMIC_SEQ_CST); break;
	case 8: *(uint64_t *)dst = __atomic_load_n((const volatile uint64_t *)src, __ATOMIC_SEQ_CST); break;
	default: memcpy(dst, (const void *)src, size); break;
	}
}

void sb_write(volatile void *dst, const void *src, size_t size)
{
	switch (size) {
	case 1: __atomic_store_n((volatile uint8_t *)dst, *(const uint8_t *)src, __ATOMIC_SEQ_CST); break;
	case 2: __atomic_store_n((volatile uint16_t *)dst, *(const uint16_t *)src, __ATOMIC_SEQ_CST); break;
	case 4: __atomic_store_n((volatile uint32_t *)dst, *(const uint32_t *)src, __ATOMIC_SEQ_CST); break;
	case 8: __atomic_store_n((volatile uint64_t *)dst, *(const uint64_t *)src, __ATOMIC_SEQ_CST); break;
	default: memcpy((void *)dst, src, size); break;
	}
}

/* Entry i of t may drain now. */
int sb_eligible(const struct sim_thread *t, int i)
{
	if (t->sb[i].release && i > 0)
		return 0;
	for (int j = 0; j < i; j++)
		if (t->sb[j].addr == t->sb[i].addr)
			return 0;
	return 1;
}

void sb_drain_entry(struct sim_thread *t, int i)
{
	memmove(&t->sb[i], &t->sb[i + 1], (size_t)(t->nsb - i - 1) * sizeof(t->sb[0]));
	t->nsb--;
}

void sb_drain_all(struct sim_thread *t)
{
	t->nsb = 0;
}

/* Drains t's entries up to its last one for p, oldest first. */
static void drain_through(struct sim_thread *t, const volatile void *p)
{
	int last = -1;
	for (int i = 0; i < t->nsb; i++)
		if (t->sb[i].addr == p)
			last = i;
	if (last < 0)
		return;
	memmove(&t->sb[0], &t->sb[last + 1], (size_t)(t->nsb - last - 1) * sizeof(t->sb[0]));
	t->nsb -= last + 1;
}

static void drain_others_at(const volatile void *p)
{
	for (int i = 0; i < S.nthreads; i++)
		if (&S.t[i] != ak__sim_me && S.t[i].nsb)
			drain_through(&S.t[i], p);
}

void sb_load_view(const volatile void *p, void *out, size_t size)
{
	sb_copy(out, p, size);
	if (!S.weak)
		return;
	/* At most one other thread has stores pending at p (a store drains
	 * the others'); its oldest one there hides them all. */
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t == ak__sim_me)
			continue;
		for (int j = 0; j < t->nsb; j++) {
			if (t->sb[j].addr == p && t->sb[j].size == size) {
				memcpy(out, &t->sb[j].old, size);
				return;
			}
		}
	}
}

void sb_before_store(volatile void *p, size_t size, int mo)
{
	struct sim_thread *me = ak__sim_me;
	if (!S.weak)
		return;
	drain_others_at(p);
	if (mo == memory_order_seq_cst || size > sizeof(uint64_t)) {
		sb_drain_all(me);
		return;
	}
	if (me->nsb == SB_CAP)
		sb_drain_entry(me, 0);
	struct sb_entry *e = &me->sb[me->nsb++];
	e->addr = p;
	e->size = size;
	e->old = 0;
	sb_copy(&e->old, p, size);
	e->release = mo == memory_order_release;
}

void sb_before_rmw(volatile void *p)
{
	if (!S.weak)
		return;
	drain_others_at(p);
	sb_drain_all(ak__sim_me);
}

/* ak__init of p: a new object there; nothing pending for the old one. */
void sb_forget(volatile void *p, size_t size)
{
	(void)size;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		for (int j = 0; j < t->nsb;) {
			if (t->sb[j].addr == p)
				sb_drain_entry(t, j);
			else
				j++;
		}
	}
}
