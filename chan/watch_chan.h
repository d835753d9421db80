/*
 * chan/watch_chan.h: the watch channel's records, shared by chan/watch.c
 * (blocks, publishing, borrowing, the handles) and chan/watch_wait.c (the
 * waits on the version and the senders' closed()).  Internal; see
 * chan/watch.c for the design.
 */
#ifndef AK_CHAN_WATCH_CHAN_H
#define AK_CHAN_WATCH_CHAN_H

#include <stddef.h>

#include <awaitkit/watch.h>

#include "../core/core.h"
#include "../core/notify.h"

struct block {
	struct block *next_retired;         /* limbo, a batch, the spares */
	struct watch *w;                    /* its channel: holds a mem_refs */
	ak__atomic(uint32_t) refs;          /* the channel's + one per borrow */
	uint64_t version;                   /* written before publication */
	void (*drop)(void *value, void *arg);
	void *arg;
	max_align_t value[];                /* elem_size bytes */
};

struct watch {
	ak__atomic(struct block *) current;
	ak__atomic(uint32_t) refs;          /* handles and parked closed() ops */
	ak__atomic(uint32_t) mem_refs;      /* 1 while refs > 0, + 1 per block */
	ak__atomic(uint32_t) senders;
	ak__atomic(uint32_t) receivers;
	ak__atomic(uint32_t) closed;        /* every sender has dropped */
	struct ak__lock send_lock;          /* serializes publishes */
	uint64_t version;                   /* send_lock: the last published */
	struct block *limbo;                /* send_lock: unreferenced, before a grace period */
	size_t limbo_n;                     /* send_lock */
	size_t retire_batch;                /* a grace period per this many */
	struct block *spare;                /* send_lock: past a grace period, reusable */
	size_t spare_n;                     /* send_lock */
	size_t spare_max;
	uint32_t dead;                      /* send_lock: refs reached 0, no reader left */
	struct ak__notify changed;          /* receivers wait here */
	struct ak__notify rx_gone;          /* closed() waits here */
	size_t elem_size;
	struct ak_watch_hooks hooks;
};

struct ak_watch_sender {
	struct watch *w;
};

/* The receiver's fields are its owner's alone (plain): refs counts the
 * handle until it is dropped and a parked changed() or wait_for(), so
 * dropping the handle under a parked operation is safe (DESIGN.md section
 * 2); the last reference frees the receiver and its channel reference. */
struct ak_watch_receiver {
	struct watch *w;
	uint64_t seen;                      /* the version last marked seen */
	uint32_t refs;                      /* the handle + a parked operation */
	uint32_t dropped;                   /* the handle is gone: ops fail */
};

int ak__watch_senders_gone(struct watch *w);
void ak__watch_put(struct watch *w);
void ak__watch_receiver_put(struct ak_watch_receiver *rx);
void ak__watch_fill_ref(struct ak_watch_ref *ref, struct block *b, int has_changed);
uint64_t ak__watch_current_version(struct watch *w);
void ak__watch_block_put(struct block *b);
struct block *ak__watch_acquire_current(struct watch *w);

#endif
