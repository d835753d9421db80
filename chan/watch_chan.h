/*
 * chan/watch_chan.h: the watch channel's records, shared by chan/watch.c
 * (the handles and the publishing forms), chan/watch_slot.c (the slot
 * mode: value slots, pins, reclaiming), chan/watch_copy.c (the copy mode
 * of small values) and chan/watch_wait.c (the waits on the version and
 * the senders' closed()).  Internal; see chan/watch_slot.c and
 * chan/watch_copy.c for the design.
 */
#ifndef AK_CHAN_WATCH_CHAN_H
#define AK_CHAN_WATCH_CHAN_H

#include <stddef.h>

#include <awaitkit/watch.h>

#include "../core/core.h"
#include "../core/notify.h"

/* A cache line: what each receiver's pins, each slot and the channel's
 * hot words are aligned to, so that no two writers share one. */
#define WATCH_LINE 64

/* Borrows a receiver holds through its own pins; more at once are counted
 * on their slot.  Pin WATCH_PINS is the receiver's internal one (a look
 * at the version, a counted borrow being taken). */
#define WATCH_PINS 2

/* A pin word: 0 (free), a slot's address or PIN_COPY (copy mode: the
 * pin's buffer is borrowed), and these flags. */
#define PIN_ORPHAN ((uintptr_t)1)      /* a scan counted it in the slot's refs */
#define PIN_DETACHED ((uintptr_t)2)    /* the receiver went: counted, and holds the record */
#define PIN_FLAGS (PIN_ORPHAN | PIN_DETACHED)
#define PIN_COPY ((uintptr_t)4)

/* Copy mode: values of up to COPY_BYTES without hooks; a receiver's
 * buffers are COPY_STRIDE apart (max_align_t's alignment). */
#define COPY_WORDS 3
#define COPY_BYTES (COPY_WORDS * 8)
#define COPY_STRIDE 32

/* A borrow's token (ak_watch_ref's block_): a slot-mode pin's address, or
 * one of these tagged addresses. */
#define TOKEN_COUNTED ((uintptr_t)1)   /* a slot's: a counted reference */
#define TOKEN_SPILL ((uintptr_t)2)     /* a struct spill's (copy mode) */
#define TOKEN_COPY ((uintptr_t)3)      /* a copy-mode pin's: its buffer */
#define TOKEN_TAGS ((uintptr_t)3)

/* One value.  A slot is free (the senders' list), current, retired (the
 * senders' list, not yet scanned) or counted (retired while pinned or
 * borrowed: its last reference gives it back through `returned`). */
struct slot {
	struct slot *next;                  /* send_lock, or the returner's */
	struct watch *w;                    /* holds a mem_refs */
	ak__atomic(uint32_t) refs;          /* 1 until scanned + counted borrows */
	uint32_t orphans;                   /* send_lock: pins the scan counted */
	uint64_t version;                   /* written before publication */
	max_align_t value[];                /* elem_size bytes */
};

/* The channel.  Readers read `current` and the lines of their own
 * receivers; every other word is written by senders, waiters or handle
 * changes only. */
struct watch {
	/* What a borrow reads, written by publishes: the current slot (slot
	 * mode), or the latch (its sequence, and the copy mode's senders'
	 * lock) and its two copies (copy mode). */
	_Alignas(WATCH_LINE) ak__atomic(struct slot *) current;
	ak__atomic(uint64_t) latch;
	ak__atomic(uint64_t) copy[2][COPY_WORDS];

	_Alignas(WATCH_LINE) size_t elem_size;
	struct ak_watch_hooks hooks;
	uint32_t copy_mode;                 /* no hooks, elem_size <= COPY_BYTES */
	uint32_t eager;                     /* a drop hook: scan at every publish */

	/* The senders'. */
	_Alignas(WATCH_LINE) struct ak__lock send_lock;
	ak__atomic(uint32_t) send_wake;     /* copy mode: senders sleep here */
	uint32_t batch;                     /* retired slots per scan */
	uint64_t version;                   /* send_lock: the last published (slot mode) */
	struct slot *free;                  /* send_lock: ready for a value */
	struct slot *retired;               /* send_lock: replaced, not yet scanned */
	uint32_t free_n;                    /* send_lock */
	uint32_t retired_n;                 /* send_lock */
	struct ak_watch_receiver *rxs;      /* send_lock: whose pins a scan reads */
	/* Counted slots given back by their last reference (a stack, pushed
	 * by any thread, rarely); RETURNED_DEAD once the channel is gone. */
	ak__atomic(struct slot *) returned;

	_Alignas(WATCH_LINE) ak__atomic(uint32_t) waiting;  /* changed() and wait_for() looking */
	ak__atomic(uint32_t) refs;          /* handles and parked operations */
	ak__atomic(uint32_t) mem_refs;      /* 1 while refs > 0, + 1 per slot */
	ak__atomic(uint32_t) senders;
	ak__atomic(uint32_t) receivers;
	ak__atomic(uint32_t) closed;        /* every sender has dropped */
	struct ak__notify changed;          /* receivers wait here */
	struct ak__notify rx_gone;          /* closed() waits here */
};

struct ak_watch_sender {
	struct watch *w;
};

/* A receiver, on a line of its own: its pins are written by its owner's
 * borrows (and cleared by releases, on any thread), read by scans.  Its
 * other fields are its owner's (plain): refs counts the handle until it is
 * dropped and a parked changed() or wait_for(), so dropping the handle
 * under a parked operation is safe (DESIGN.md section 2).  When refs goes
 * the receiver leaves the channel; its memory stays while borrows made
 * through its pins are held (slot mode: held counts them; copy mode: a
 * sweep frees it once they are released, chan/watch_copy.c). */
struct ak_watch_receiver {
	ak__atomic(uintptr_t) pins[WATCH_PINS + 1];
	struct watch *w;
	uint64_t seen;                      /* the version last marked seen */
	struct ak_watch_receiver *next;     /* send_lock: the channel's list;
	                                       then the zombies' (copy mode) */
	ak__atomic(uint32_t) held;          /* 1 + pins borrowed when it left */
	uint32_t refs;                      /* the handle + a parked operation */
	uint8_t dropped;                    /* the handle is gone: ops fail */
	uint8_t lines;                      /* allocated: 2 with copy buffers */
	uint8_t copy_words;                 /* copy mode: the words a borrow copies
	                                       (1 or COPY_WORDS); 0: slot mode */
	/* Copy mode: a buffer per pin on the next line, COPY_STRIDE apart. */
};

/* A borrowed value, before it goes into a struct ak_watch_ref. */
struct borrowed {
	const void *value;
	uint64_t version;
	uintptr_t token;
};

/* watch_slot.c */
struct watch *ak__watch_alloc(void);
int ak__watch_init(struct watch *w, size_t elem_size, const void *init,
                   const struct ak_watch_hooks *hooks);
void ak__watch_abandon(struct watch *w);
void ak__watch_destroy(struct watch *w);
struct slot *ak__watch_slot_get(struct watch *w);
void ak__watch_slot_unget(struct watch *w, struct slot *s);
void ak__watch_slot_discard(struct slot *s);
void ak__watch_slot_put(struct slot *s);
struct slot *ak__watch_publish(struct watch *w, struct slot *s);
void ak__watch_published(struct watch *w, struct slot *idle);
struct slot *ak__watch_pin(struct watch *w, ak__atomic(uintptr_t) *pin);
void ak__watch_unpin(ak__atomic(uintptr_t) *pin);
int ak__watch_borrow(struct ak_watch_receiver *rx, struct borrowed *b);
int ak__watch_sender_borrow(struct watch *w, struct borrowed *b);
void ak__watch_release(uintptr_t token);
uint64_t ak__watch_peek_version(struct ak_watch_receiver *rx);
void ak__watch_fill_ref(struct ak_watch_ref *ref, const struct borrowed *b, int has_changed);
struct ak_watch_receiver *ak__watch_receiver_new(struct watch *w, const uint64_t *seen);
void ak__watch_receiver_leave(struct ak_watch_receiver *rx);
void ak__watch_receiver_free(struct ak_watch_receiver *rx);

/* watch_copy.c */
void ak__watch_latch_init(struct watch *w, const void *init);
uint64_t ak__watch_latch_version(struct watch *w);
void ak__watch_latch_acquire(struct watch *w);
void ak__watch_latch_current(struct watch *w, void *dst);
void ak__watch_latch_release(struct watch *w, const void *src, int publish);
int ak__watch_copy_borrow(struct ak_watch_receiver *rx, struct borrowed *b);
int ak__watch_copy_borrow_word(struct ak_watch_receiver *rx, struct borrowed *b);
void ak__watch_copy_release(uintptr_t token);
void ak__watch_copy_leave(struct ak_watch_receiver *rx);
void ak__watch_zombies_sweep(void);
int ak__watch_spill_borrow(struct watch *w, struct borrowed *b);
void ak__watch_spill_release(uintptr_t token);

/* watch.c */
int ak__watch_senders_gone(struct watch *w);
void ak__watch_put(struct watch *w);
void ak__watch_receiver_put(struct ak_watch_receiver *rx);

#endif
