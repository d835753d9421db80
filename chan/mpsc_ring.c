/*
 * chan/mpsc_ring.c: the bounded mpsc's ring.  See chan/mpsc.c for the
 * design and chan/mpsc_chan.h for the interface.
 *
 * The capacity is a batch semaphore (core/sem.h).  A sender holding a
 * permit claims the next index with one fetch_add on tail and writes the
 * slot; each slot carries a sequence number (index when free, index+1 when
 * written, index+ring once read), so the single receiver needs no lock.
 * The ring is the capacity rounded up to a power of two: permits bound the
 * slots in use, so the slot a sender claims was always read already (one
 * look at its sequence confirms it).
 */
#include "mpsc_chan.h"

static unsigned char *slot_data(struct ak__chan *c, uint64_t i)
{
	return c->slots + (i & (c->ring - 1)) * c->stride + sizeof(uint64_t);
}

void ak__ring_init(struct ak__chan *c)
{
	c->slots = (unsigned char *)(c + 1);
	for (size_t i = 0; i < c->ring; i++)
		ak__init(ak__ring_seq(c, i), (uint64_t)i);
	ak__sem_init(&c->sem, c->cap);
}

void ak__ring_destroy(struct ak__chan *c)
{
	ak__sem_destroy(&c->sem);
}

void ak__ring_push(struct ak__chan *c, const void *value)
{
	/* seq_cst: the handshake with a parking receiver is on tail, not on
	 * the slot: the receiver registers and then looks at tail (seq_cst,
	 * ak__ring_in_flight() in recv_poll()); either it sees this claim, or
	 * the notify's seq_cst look at the waker slot, after this RMW, sees
	 * it registered.  So the publication below needs no StoreLoad order. */
	uint64_t t = ak__fetch_add(&c->tail, 1, AK__SEQ_CST);
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, t);
	/* acquire: pairs with the receiver's release store of t (slot read);
	 * the permit we hold means it was read, so this does not loop. */
	while (ak__load(seq, AK__ACQUIRE) != t)
		ak__cpu_relax();
	ak__copy_value(slot_data(c, t), value, c->elem_size);
	/* release: publishes the value to the acquire load in ak__ring_pop(). */
	ak__store(seq, t + 1, AK__RELEASE);
	ak__waker_slot_notify(&c->rx_waker);
}

int ak__ring_pop(struct ak__chan *c, void *out)
{
	uint64_t h = ak__load(&c->head, AK__RELAXED);
	ak__atomic(uint64_t) *seq = ak__ring_seq(c, h);
	/* acquire: pairs with the release store in ak__ring_push(). */
	if (ak__load(seq, AK__ACQUIRE) != h + 1)
		return AK_EAGAIN;
	ak__chan_copy_out(c, out, slot_data(c, h));
	/* release: pairs with the acquire spin in ak__ring_push(). */
	ak__store(seq, h + c->ring, AK__RELEASE);
	ak__store(&c->head, h + 1, AK__RELAXED);
	ak__sem_release(&c->sem, 1);
	return 0;
}

/* A value is claimed but not yet readable at the head. */
int ak__ring_in_flight(struct ak__chan *c)
{
	/* seq_cst: pairs with the seq_cst claim in ak__ring_push() (the
	 * receiver's half of the handshake there). */
	return ak__load(&c->tail, AK__SEQ_CST) != ak__load(&c->head, AK__RELAXED);
}

/* Closed, drained and no permit outstanding: recv reports AK_EPIPE. */
int ak__ring_finished(struct ak__chan *c)
{
	/* acquire: pairs with the release fetch_or in close_side(), made
	 * after the semaphore was closed: the word read below is at least
	 * the closed one, and from then on only permits coming back raise it.
	 * seq_cst: against the notify after the close and the RMW in
	 * ak__chan_slots_back() (the receiver registered before this look). */
	if (!(ak__load(&c->state, AK__SEQ_CST) & (AK__MPSC_CLOSED_TX | AK__MPSC_CLOSED_RX)))
		return 0;
	return ak__sem_available(&c->sem) == c->cap;
}

size_t ak__ring_len(struct ak__chan *c)
{
	uint64_t h = ak__load(&c->head, AK__RELAXED);
	uint64_t t = ak__load(&c->tail, AK__RELAXED);
	return t > h ? (size_t)(t - h) : 0;
}
