/*
 * sync/lockdiag.h: what Mutex and RwLock record about their holders, so a
 * task that awaits a lock it holds itself is told so (AK_EDEADLK) instead
 * of hanging, and a query can say who holds a lock, from where, for how
 * long and across how many of its AK_PENDING polls.  Internal.
 *
 * A holder record lives inside the completed lock operation (the guard):
 * it is linked into its lock's holder list when the guard is taken and
 * unlinked when it is released, so the list only ever points at live
 * guards.  It holds COPIES of the holder's task id and branch path: the
 * task slot is never dereferenced after the poll that took the lock (the
 * task may be gone by then).  The pending-poll count is the difference
 * between the slot's counter at acquisition and the same counter read by
 * a query that is handed the slot by its caller (who vouches for it).
 *
 *   call                    lock taken        thread
 *   ak__holder_record       none              the guard's owner, in its poll
 *   ak__holders_add/remove  holders->lock     the guard's owner
 *   ak__holders_find_self   holders->lock     a requester, in its poll
 *   ak__holders_info        holders->lock     any
 */
#ifndef AK_SYNC_LOCKDIAG_H
#define AK_SYNC_LOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <awaitkit/lock_info.h>

#include "../core/core.h"

struct ak__holder {
	struct ak__holder *prev, *next;   /* holders->lock */
	uint64_t task;                    /* copy of ak_task_slot_id; 0: unknown */
	struct ak_branch_path path;       /* copy of cx->path */
	const char *file;                 /* acquisition site */
	int32_t line;
	int32_t mode;                     /* AK_LOCK_READ or AK_LOCK_WRITE */
	int64_t since;                    /* CLOCK_MONOTONIC_COARSE at acquisition */
	uint64_t polls_at;                /* the slot's pending polls then */
};

struct ak__holders {
	struct ak__lock lock;
	struct ak__holder *head;
	size_t n;
};

void ak__holders_init(struct ak__holders *hs);
void ak__holders_destroy(struct ak__holders *hs);

/* The clock of hold times (CLOCK_MONOTONIC_COARSE, ns).  Read before the
 * acquire attempt, so that it does not lengthen the hold. */
int64_t ak__lock_clock(void);

/* Fills h from cx (NULL: an unknown holder), the site and the time. */
void ak__holder_record(struct ak__holder *h, struct ak_context *cx,
                       const char *file, int line, int mode, int64_t since);
void ak__holders_add(struct ak__holders *hs, struct ak__holder *h);
void ak__holders_remove(struct ak__holders *hs, struct ak__holder *h);
/* Changes a linked holder's mode (downgrade). */
void ak__holders_set_mode(struct ak__holders *hs, struct ak__holder *h, int mode);

/* The requester's identity: 0 when cx has no slot (no detection).  Inline:
 * every lock's record reads it; a slot not yet named gets its id from
 * ak_task_slot_id(), once. */
static inline uint64_t ak__requester_id(struct ak_context *cx)
{
	if (!cx || !cx->slot)
		return 0;
	/* Relaxed: the id is a name, it publishes nothing. */
	uint64_t id = ak__load(&((struct ak__slot_view *)(void *)cx->slot)->id, AK__RELAXED);
	return id ? id : ak_task_slot_id(cx->slot);
}

/*
 * 1 when a holder of one of the modes in mode_mask (1 << AK_LOCK_READ,
 * 1 << AK_LOCK_WRITE) is the task `task` on a path that is a prefix of
 * `path`: the requester would wait for itself.  0 for task 0.
 */
int ak__holders_find_self(struct ak__holders *hs, uint64_t task,
                          const struct ak_branch_path *path, unsigned mode_mask);

/* True when `holder` is a prefix of `req` (an overflowed holder path is
 * never a known prefix). */
int ak__path_is_prefix(const struct ak_branch_path *holder,
                       const struct ak_branch_path *req);

/*
 * The record of a lock that has at most one holder (the Mutex), kept in
 * the lock itself rather than in the guard, so that requesters and queries
 * read it with no lock taken and no pointer into a guard that may be gone.
 * Only the holder writes it (it owns the lock: writers are serialised by
 * the lock itself); readers take a consistent snapshot seqlock-style.
 * Every word is an atomic: the writer's stores are releases after marking
 * the sequence odd, the readers' loads acquires before re-reading it, so
 * a reader that saw any new word also sees the sequence moved, and
 * retries — no standalone fence needed.  On x86 each release store is a
 * plain move: publishing costs a dozen moves, no locked instruction.
 *
 * The hold statistics (since, polls_at) are written only when the lock
 * keeps them (AK_LOCK_STATS): they cost a clock read per acquisition.
 * Without them the record says so (since = AK__NO_SINCE) and a query
 * reports them unknown.
 */
#define AK__OWNER_WORDS 9
#define AK__OWNER_PRESENT ((uint64_t)1 << 40)
#define AK__OWNER_STATS ((uint64_t)1 << 41)
#define AK__NO_SINCE INT64_MIN
struct ak__owner {
	ak__atomic(uint64_t) seq;                  /* odd while being written */
	ak__atomic(uint64_t) w[AK__OWNER_WORDS];
};

void ak__owner_init(struct ak__owner *o);

/*
 * The holder publishes its record straight from its poll's context (NULL:
 * an unknown holder): task, path, site, mode, and the statistics when
 * since != AK__NO_SINCE.  Inline: the lock's fast path calls it.
 */
static inline void ak__owner_publish(struct ak__owner *o, uint64_t task,
                                     const struct ak_context *cx, const char *file,
                                     int line, int mode, int64_t since)
{
	_Static_assert(sizeof(struct ak_branch_path) == 4 * sizeof(uint64_t), "path size");
	uint64_t p0 = 0, p1, p2, p3;
	if (cx)
		memcpy(&p0, &cx->path, sizeof(p0));   /* len, overflow, index[0..1] */
	uint64_t s = ak__load(&o->seq, AK__RELAXED);
	ak__store(&o->seq, s + 1, AK__RELAXED);
	/* release: each word's store orders the odd sequence before it; pairs
	 * with the acquire loads of the words in ak__owner_read(). */
	ak__store(&o->w[0], task, AK__RELEASE);
	ak__store(&o->w[1], p0, AK__RELEASE);
	if (cx && cx->path.len > 2) {
		/* Deeper paths only: a reader ignores these words below. */
		memcpy(&p1, (const char *)&cx->path + 8, 8);
		memcpy(&p2, (const char *)&cx->path + 16, 8);
		memcpy(&p3, (const char *)&cx->path + 24, 8);
		ak__store(&o->w[2], p1, AK__RELEASE);
		ak__store(&o->w[3], p2, AK__RELEASE);
		ak__store(&o->w[4], p3, AK__RELEASE);
	}
	ak__store(&o->w[5], (uint64_t)(uintptr_t)file, AK__RELEASE);
	uint64_t w6 = (uint64_t)(uint32_t)line | ((uint64_t)(uint8_t)mode << 32) | AK__OWNER_PRESENT;
	if (since != AK__NO_SINCE) {
		w6 |= AK__OWNER_STATS;
		ak__store(&o->w[7], (uint64_t)since, AK__RELEASE);
		/* The slot is read here, inside the holder's own poll, and never again. */
		ak__store(&o->w[8], cx && cx->slot ? ak_task_slot_pending_polls(cx->slot) : 0,
		          AK__RELEASE);
	}
	ak__store(&o->w[6], w6, AK__RELEASE);
	/* release: pairs with the acquire load of seq in ak__owner_read(). */
	ak__store(&o->seq, s + 2, AK__RELEASE);
}

/* The holder's task id, the word a requester filters on before it reads
 * a snapshot (relaxed: see sync/mutex.c). */
static inline uint64_t ak__owner_task(struct ak__owner *o)
{
	return ak__load(&o->w[0], AK__RELAXED);
}

/* The holder, unlocking: no holder any more (the task word and PRESENT
 * are what readers look at; the rest stays until the next record).  No
 * sequence bump: the clear changes two words only, PRESENT first, and a
 * reader's acquire loads go w[0] before w[6], so a reader that saw the
 * task word cleared sees PRESENT cleared too (no holder), and one that saw
 * the old task word reads either the old record whole or no holder.  The
 * next holder's publish moves the sequence as before. */
static inline void ak__owner_clear(struct ak__owner *o)
{
	/* release: orders our critical section's record before the clear. */
	ak__store(&o->w[6], 0, AK__RELEASE);
	/* release: a reader that sees this 0 sees w[6]'s 0 (pairs with the
	 * acquire loads of ak__owner_read()). */
	ak__store(&o->w[0], 0, AK__RELEASE);
}
/* A consistent snapshot: 1 with *h filled while held, 0 when not held. */
int ak__owner_read(struct ak__owner *o, struct ak__holder *h);
/* Fills *info from a snapshot, with pending polls through slot. */
void ak__holder_info(const struct ak__holder *h, struct ak_task_slot *slot,
                     struct ak_lock_info *info);

/* Fills up to cap infos, most recent holder first; returns how many hold. */
size_t ak__holders_info(struct ak__holders *hs, struct ak_task_slot *slot,
                        struct ak_lock_info *out, size_t cap);

#endif
