/*
 * chan/broadcast_chan.h: the broadcast channel's records, shared by
 * chan/broadcast.c (the ring, sending, receiving) and
 * chan/broadcast_senders.c (weak senders, the counts, the senders'
 * closed()).  Internal; see chan/broadcast.c for the design.
 */
#ifndef AK_CHAN_BROADCAST_CHAN_H
#define AK_CHAN_BROADCAST_CHAN_H

#include <awaitkit/broadcast.h>

#include "../core/core.h"
#include "../core/notify.h"
#include "../core/waitq.h"

struct slot {
	ak__atomic(uint32_t) pin;
	ak__atomic(uint64_t) pos;
	ak__atomic(uint64_t) rem;
};

struct ak_broadcast_tx {
	/* set at creation, then read only */
	size_t cap, mask, elem_size;
	struct ak_broadcast_hooks hooks;
	struct slot *slots;
	unsigned char *values;
	/* receivers read the fields above on every receive; keep the ones
	 * senders write on other cache lines */
	char pad_[64];
	/* references: one per sender handle (strong or weak), one per
	 * receiver, one per parked operation */
	ak__atomic(uint32_t) refs;
	ak__atomic(uint32_t) senders;
	ak__atomic(uint32_t) weaks;
	/* written under the lock, read without it */
	ak__atomic(uint64_t) tail;      /* the next position to send */
	ak__atomic(uint64_t) rx_cnt;
	ak__atomic(uint32_t) closed;
	struct ak__lock lock;           /* guards waiters; serialises senders */
	struct ak__waitq waiters;
	struct ak__notify rx_gone;      /* closed() waits here */
};

/* A receiver's fields are its owner's alone.  refs counts the handle until
 * it is dropped and a parked receive, so dropping the handle under a
 * parked receive is safe (DESIGN.md section 2): the receive fails with
 * AK_EPIPE at its next poll, and the last reference frees the receiver and
 * its channel reference. */
struct ak_broadcast_rx {
	struct ak_broadcast_tx *ch;
	uint64_t next;                  /* owner only: the next position to read */
	int parked;                     /* owner only: a recv op is queued on it */
	uint32_t refs;                  /* owner only: the handle + a parked recv */
	uint32_t dropped;               /* owner only: the handle is gone */
};

/* Drops a reference; the last one frees the channel. */
void ak__broadcast_put(struct ak_broadcast_tx *ch);

#endif
