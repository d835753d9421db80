/*
 * sync/mutex.c: the async Mutex, on one of two waiting kernels of core/:
 * the batch semaphore of one permit (core/sem.h: FIFO, the default) or the
 * barging lock (core/barge.h: AK_MUTEX_BARGING, Go's sync.Mutex).  Around
 * either, the diagnostics of lockdiag.h.
 *
 * Self-deadlock detection costs the holder plain stores and no locked
 * instruction: the record (task, path, site, and with AK_LOCK_STATS the
 * hold statistics) is written by the holder into a seqlock (struct
 * ak__owner) and cleared at the unlock.  Its task word is the requesters'
 * filter, read (relaxed) only once a try failed: a requester that finds
 * its own id there wrote it itself in an earlier poll (ordered before this
 * one by the executor) and nobody rewrote it since, so it holds the mutex
 * on some path, and only then reads the full record for the branch path.
 * The statistics add the clock read, which costs more than all the rest,
 * hence the switch.
 */
#include <stdalign.h>
#include <stddef.h>

#include <awaitkit/block_on.h>
#include <awaitkit/mutex.h>

#include "../core/barge.h"
#include "../core/sem.h"
#include "lockdiag.h"
#include "lockop.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_MUTEX_LOCK, struct ak_mutex_lock_op);

struct ak_mutex {
	union {
		struct ak__sem sem;          /* one permit (FIFO) */
		struct ak__barge barge;      /* AK_MUTEX_BARGING */
	} k;
	unsigned flags;                  /* AK_LOCK_*, AK_MUTEX_BARGING */
	struct ak__ld_class ld;          /* lockdep's class (sync/lockdep.h) */
	/* The holder's record is rewritten at every acquisition: keep it off
	 * the line of the kernel's word, lock and queue.  A FIFO hand-off
	 * never touches the kernel's word, so a store there would pull that
	 * contended line to the new holder once more per lock. */
	char pad_[64];
	struct ak__owner owner;          /* the holder's record; its task word
	                                    (0: none, or unknown) the filter */
};

struct lock_priv {
	struct ak__lockop l;         /* the skeleton's part (sync/lockop.h) */
	union {
		struct ak__sem_acquire sem;
		struct ak__barge_acquire barge;
	} acq;
};
_Static_assert(sizeof(struct lock_priv) <= sizeof(((struct ak_mutex_lock_op *)0)->private_),
               "mutex lock op storage too small");
_Static_assert(alignof(struct lock_priv) <= alignof(max_align_t), "mutex op alignment");
_Static_assert(offsetof(struct lock_priv, l) == 0, "the skeleton's part comes first");

static struct lock_priv *priv(struct ak_future *f)
{
	return (struct lock_priv *)ak__op_private(f);
}

static struct lock_priv *of_l(struct ak__lockop *l)
{
	return (struct lock_priv *)(void *)l;
}

static struct ak_mutex *mutex_of(struct ak__lockop *l)
{
	return (struct ak_mutex *)l->lock;
}

static int diag(const struct ak_mutex *m)
{
	return !(m->flags & AK_LOCK_NODIAG);
}

static int stats(const struct ak_mutex *m)
{
	return (m->flags & (AK_LOCK_NODIAG | AK_LOCK_STATS)) == AK_LOCK_STATS;
}

static int barging(const struct ak_mutex *m)
{
	return (m->flags & AK_MUTEX_BARGING) != 0;
}

/* ---- the kernel, FIFO or barging ---------------------------------------- */

static inline __attribute__((always_inline)) int k_try(struct ak_mutex *m)
{
	return barging(m) ? ak__barge_try_lock(&m->k.barge) : ak__sem_try_acquire(&m->k.sem, 1);
}

/* 0: the semaphore's release cannot overflow, it holds one permit at
 * most.  Its result is returned all the same, so that the unlock's call
 * to the hand-off (ak__sem_release_waiters()) is a tail call. */
static int k_unlock(struct ak_mutex *m)
{
	if (barging(m)) {
		ak__barge_unlock(&m->k.barge);
		return 0;
	}
	return ak__sem_release(&m->k.sem, 1);     /* straight to the head waiter */
}

static int k_locked(struct ak_mutex *m)
{
	return barging(m) ? ak__barge_is_locked(&m->k.barge) : ak__sem_available(&m->k.sem) == 0;
}

static inline __attribute__((always_inline)) int l_try(struct ak__lockop *l)
{
	return k_try(mutex_of(l));
}

/* Called once the skeleton's try failed, or with the acquire queued: the
 * semaphore's own fast path (a budget check and the same try again) would
 * only repeat the skeleton's, so its slow half is called straight away. */
static inline __attribute__((always_inline)) int l_wait(struct ak__lockop *l,
                                                      struct ak_context *cx)
{
	struct lock_priv *p = of_l(l);
	if (barging(mutex_of(l)))
		return ak__barge_acquire_poll(&p->acq.barge, cx);
	uint32_t st = ak__waiter_state(&p->acq.sem.w);
	if (st == AK__W_IDLE)
		return ak__sem_acquire_park(&p->acq.sem, cx);   /* inline: a convoy's park */
	return ak__sem_acquire_poll_slow(&p->acq.sem, cx, st);
}

static void l_cancel(struct ak__lockop *l)
{
	struct lock_priv *p = of_l(l);
	if (barging(mutex_of(l)))
		ak__barge_acquire_cancel(&p->acq.barge);
	else
		ak__sem_acquire_cancel(&p->acq.sem);
}

static int l_release(struct ak__lockop *l)
{
	return k_unlock(mutex_of(l));
}

AK_EXPORT int ak_mutex_new_class_at(struct ak_mutex **out, unsigned flags, const char *name,
                                    const char *file, int line)
{
	if (!out || (flags & ~(AK_LOCK_NODIAG | AK_LOCK_STATS | AK_MUTEX_BARGING)))
		return AK_EINVAL;
	struct ak_mutex *m = (struct ak_mutex *)ak__alloc(sizeof(*m));
	if (!m)
		return AK_ENOMEM;
	m->flags = flags;
	if (barging(m))
		ak__barge_init(&m->k.barge);
	else
		ak__sem_init(&m->k.sem, 1);
	ak__owner_init(&m->owner);
	ak__ld_class_init(&m->ld, name, file, line);
	*out = m;
	return 0;
}

/* The function behind the macro, for callers without it: no class. */
AK_EXPORT int (ak_mutex_new)(struct ak_mutex **out, unsigned flags)
{
	return ak_mutex_new_class_at(out, flags, NULL, NULL, 0);
}

AK_EXPORT int ak_mutex_free(struct ak_mutex *m)
{
	if (!m)
		return AK_EINVAL;
	if (barging(m)) {
		if (ak__barge_destroy(&m->k.barge) != 0)
			return AK_EBUSY;        /* held, or awaited */
	} else {
		if (ak__sem_available(&m->k.sem) != 1)
			return AK_EBUSY;        /* held, or granted to a waiter */
		if (ak__sem_destroy(&m->k.sem) != 0)
			return AK_EBUSY;
	}
	ak__free_sized(m, sizeof(*m));
	return 0;
}

/* ---- the diagnostics ------------------------------------------------------ */

static inline __attribute__((always_inline)) int64_t l_clock(struct ak__lockop *l)
{
	return stats(mutex_of(l)) ? ak__lock_clock() : AK__NO_SINCE;
}

/* The guard is taken: records the holder (inside its own poll). */
static inline __attribute__((always_inline)) void l_record(struct ak__lockop *l,
                                                           struct ak_context *cx, int64_t since)
{
	struct ak_mutex *m = mutex_of(l);
	if (diag(m)) {
		ak__owner_publish(&m->owner, ak__requester_id(cx), cx, l->file, l->line,
		                  AK_LOCK_WRITE, since);
	}
}

static void l_forget(struct ak__lockop *l)
{
	struct ak_mutex *m = mutex_of(l);
	if (diag(m))
		ak__owner_clear(&m->owner);
}

/* The snapshot behind the filter of l_waits_for_itself(), out of line. */
static __attribute__((noinline)) int holder_is(struct ak_mutex *m, struct ak_context *cx,
                                               uint64_t id)
{
	struct ak__holder h;
	return ak__owner_read(&m->owner, &h) && h.task == id &&
	       ak__path_is_prefix(&h.path, &cx->path);
}

/* Inline up to the filter: a park in a convoy pays two loads and a compare. */
static inline __attribute__((always_inline)) int l_waits_for_itself(struct ak__lockop *l,
                                                                    struct ak_context *cx)
{
	struct ak_mutex *m = mutex_of(l);
	if (!diag(m))
		return 0;
	uint64_t id = ak__requester_id(cx);
	/* Relaxed: only our own id matters, which only we wrote (see the
	 * top); the snapshot then confirms it with the path. */
	return id != 0 && ak__owner_task(&m->owner) == id && holder_is(m, cx, id);
}

static struct ak__ld_class *l_ld_class(struct ak__lockop *l)
{
	return &mutex_of(l)->ld;
}

/* The leaves' holder id, with no call, from the flags f read once (the
 * leaves' stores cannot make the compiler read them again): AK_EAGAIN when
 * the statistics may want the clock (AK_LOCK_STATS, NODIAG or not: the
 * full poll sorts it out), when the mode is barging and barge is 0, or
 * when the requester's slot is not yet named (ak_task_slot_id() names it);
 * *id 0 without diagnostics or slot.  One test of f for the default. */
static inline __attribute__((always_inline)) int leaf_id(unsigned f, unsigned barge,
                                                         struct ak_context *cx, uint64_t *id)
{
	*id = 0;
	if (f & (AK_LOCK_STATS | barge))
		return AK_EAGAIN;
	if (!(f & AK_LOCK_NODIAG) && cx->slot) {
		/* Relaxed: as in ak__requester_id(). */
		*id = ak__load(&((struct ak__slot_view *)(void *)cx->slot)->id, AK__RELAXED);
		if (*id == 0)
			return AK_EAGAIN;
	}
	return 0;
}

/* The poll's fast path (sync/lockop.h), with no call on its way: AK_EAGAIN,
 * nothing changed, when the statistics want the clock or the requester's
 * slot is not yet named (ak_task_slot_id() names it); AK_EBUSY, nothing
 * changed, when the try fails (held, granted or awaited: k_try() fails
 * with AK_EAGAIN alone, the mutex never closes) and the requester is not
 * the holder (else AK_EAGAIN: the full poll's look at the record). */
static inline __attribute__((always_inline)) int l_take_leaf(struct ak__lockop *l,
                                                             struct ak_context *cx)
{
	struct ak_mutex *m = mutex_of(l);
	unsigned f = m->flags;
	uint64_t id;
	if (leaf_id(f, 0, cx, &id) != 0)
		return AK_EAGAIN;
	if (k_try(m) != 0) {
		/* l_waits_for_itself()'s filter with the id at hand: a
		 * requester that may hold the mutex itself goes to the full
		 * poll, which looks at the record. */
		if (id != 0 && ak__owner_task(&m->owner) == id)
			return AK_EAGAIN;
		return AK_EBUSY;
	}
	if (!(f & AK_LOCK_NODIAG))
		ak__owner_publish(&m->owner, id, cx, l->file, l->line, AK_LOCK_WRITE, AK__NO_SINCE);
	return 0;
}

/* The hand-off's completion (sync/lockop.h), a leaf as l_take_leaf(): the
 * grant taken and the holder recorded, or AK_EAGAIN with nothing changed
 * (not granted yet, the statistics, an unnamed slot, the barging mode). */
static inline __attribute__((always_inline)) int l_granted_leaf(struct ak__lockop *l,
                                                                struct ak_context *cx)
{
	struct ak_mutex *m = mutex_of(l);
	unsigned f = m->flags;
	uint64_t id;
	if (leaf_id(f, AK_MUTEX_BARGING, cx, &id) != 0 ||
	    ak__sem_acquire_take_granted(&of_l(l)->acq.sem) != 0)
		return AK_EAGAIN;
	if (!(f & AK_LOCK_NODIAG))
		ak__owner_publish(&m->owner, id, cx, l->file, l->line, AK_LOCK_WRITE, AK__NO_SINCE);
	return 0;
}

AK__LOCKOP_DEFINE(lock_ops, lock_vtable, NULL, NULL, l_take_leaf, l_granted_leaf);

/* ---- the operation -------------------------------------------------------- */

static int bind(struct ak_mutex_lock_op *op, struct ak_mutex *m, const char *file, int line)
{
	if (!op || !m)
		return AK_EINVAL;
	struct lock_priv *p = priv(&op->future);
	int rc = ak__lockop_bind(&op->future, &p->l, &lock_vtable, m, AK_LOCK_WRITE, file, line);
	if (rc)
		return rc;
	if (barging(m))
		ak__barge_acquire_init(&p->acq.barge, &m->k.barge);
	else
		ak__sem_acquire_init(&p->acq.sem, &m->k.sem, 1);
	return 0;
}

AK_EXPORT int ak_mutex_lock_init_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                                    const char *file, int line)
{
	return bind(op, m, file, line);
}

AK_EXPORT int ak_mutex_try_lock_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                                   struct ak_context *cx, const char *file, int line)
{
	if (cx && !ak__cx_valid(cx))
		return AK_EINVAL;
	int rc = bind(op, m, file, line);
	if (rc)
		return rc;
	return ak__lockop_try(&op->future, &priv(&op->future)->l, cx, &lock_ops);
}

AK_EXPORT int ak_mutex_lock_blocking_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                                        int64_t deadline, const char *file, int line)
{
	int rc = bind(op, m, file, line);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}

AK_EXPORT int ak_mutex_unlock(struct ak_mutex_lock_op *op)
{
	if (!op)
		return AK_EINVAL;
	return ak__lockop_unlock(&op->future, &priv(&op->future)->l, &lock_vtable, &lock_ops);
}

AK_EXPORT int ak_mutex_is_locked(struct ak_mutex *m)
{
	if (!m)
		return AK_EINVAL;
	return k_locked(m);
}

AK_EXPORT int ak_mutex_holder(struct ak_mutex *m, struct ak_task_slot *slot,
                              struct ak_lock_info *info)
{
	if (!m || !info || !diag(m))
		return AK_EINVAL;
	struct ak__holder h;
	if (!ak__owner_read(&m->owner, &h))
		return AK_ENOENT;
	ak__holder_info(&h, slot, info);
	return 0;
}

struct ak__ld_op *ak__mutex_ld_op(struct ak_future *f)
{
	if (f->vtable != &lock_vtable)
		return NULL;
	return ak__lockop_ld_op(&priv(f)->l);
}
