/*
 * sync/rwlock.c: the async RwLock, tokio's design on the batch semaphore
 * (core/sem.h): max_readers permits, a read takes one, a write takes them
 * all.  The FIFO queue and the head waiter's partial grants make it fair
 * and write-preferring: a waiting writer absorbs the permits readers give
 * back, so no later reader passes it.  Downgrade keeps one permit and
 * releases the rest, which the queued readers get at once.
 *
 * Every guard (read or write) is linked into the lock's holder list
 * (lockdiag.h), so a requester that would wait finds any guard its own
 * task holds on its path:
 *   - a write, while it holds a read or the write:       AK_EDEADLK;
 *   - a read, while it holds the write:                  AK_EDEADLK;
 *   - a read, while it holds a read and a writer waits:  AK_EDEADLK (the
 *     writer waits for our read, our new read waits behind the writer).
 * The count of waiting writers is kept by the writers themselves: raised
 * before a write op can park, lowered when it completes, fails or is
 * cancelled; a reader-holder that sees it raised would queue behind it.
 */
#include <stdalign.h>
#include <stddef.h>

#include <awaitkit/block_on.h>
#include <awaitkit/rwlock.h>

#include "../core/sem.h"
#include "lockdiag.h"
#include "lockop.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_RWLOCK, struct ak_rwlock_op);

struct ak_rwlock {
	struct ak__sem sem;          /* max permits */
	struct ak__holders holders;  /* every read guard, or the write guard */
	ak__atomic(uint32_t) writers_waiting;
	uint32_t max;
	unsigned flags;              /* AK_LOCK_*; it always keeps the statistics */
	struct ak__ld_class ld;      /* lockdep's class (sync/lockdep.h) */
};

struct rw_priv {
	struct ak__lockop l;         /* the skeleton's part (sync/lockop.h) */
	struct ak__sem_acquire acq;
	struct ak__holder rec;
	int counted;                 /* a write counted in writers_waiting */
};
_Static_assert(sizeof(struct rw_priv) <= sizeof(((struct ak_rwlock_op *)0)->private_),
               "rwlock op storage too small");
_Static_assert(alignof(struct rw_priv) <= alignof(max_align_t), "rwlock op alignment");
_Static_assert(offsetof(struct rw_priv, l) == 0, "the skeleton's part comes first");

static struct rw_priv *priv(struct ak_future *f)
{
	return (struct rw_priv *)ak__op_private(f);
}

static struct rw_priv *of_l(struct ak__lockop *l)
{
	return (struct rw_priv *)(void *)l;
}

static struct ak_rwlock *rw_of(struct ak__lockop *l)
{
	return (struct ak_rwlock *)l->lock;
}

static int diag(const struct ak_rwlock *rw)
{
	return !(rw->flags & AK_LOCK_NODIAG);
}

static uint64_t permits_of(struct ak__lockop *l)
{
	return l->mode == AK_LOCK_WRITE ? rw_of(l)->max : 1;
}

AK_EXPORT int ak_rwlock_new_class_at(struct ak_rwlock **out, uint32_t max_readers,
                                     unsigned flags, const char *name, const char *file,
                                     int line)
{
	if (!out || max_readers == 0 || max_readers > AK_RWLOCK_MAX_READERS ||
	    (flags & ~(AK_LOCK_NODIAG | AK_LOCK_STATS)))
		return AK_EINVAL;
	struct ak_rwlock *rw = (struct ak_rwlock *)ak__alloc(sizeof(*rw));
	if (!rw)
		return AK_ENOMEM;
	ak__sem_init(&rw->sem, max_readers);
	ak__holders_init(&rw->holders);
	ak__init(&rw->writers_waiting, 0);
	rw->max = max_readers;
	rw->flags = flags;
	ak__ld_class_init(&rw->ld, name, file, line);
	*out = rw;
	return 0;
}

/* The function behind the macro, for callers without it: no class. */
AK_EXPORT int (ak_rwlock_new)(struct ak_rwlock **out, uint32_t max_readers, unsigned flags)
{
	return ak_rwlock_new_class_at(out, max_readers, flags, NULL, NULL, 0);
}

AK_EXPORT int ak_rwlock_free(struct ak_rwlock *rw)
{
	if (!rw)
		return AK_EINVAL;
	if (ak__sem_available(&rw->sem) != rw->max)
		return AK_EBUSY;
	if (ak__sem_destroy(&rw->sem) != 0)
		return AK_EBUSY;
	ak__holders_destroy(&rw->holders);
	ak__free_sized(rw, sizeof(*rw));
	return 0;
}

/* ---- the kernel: the batch semaphore ---------------------------------------- */

static inline __attribute__((always_inline)) int l_try(struct ak__lockop *l)
{
	return ak__sem_try_acquire(&rw_of(l)->sem, permits_of(l));
}

static int l_wait(struct ak__lockop *l, struct ak_context *cx)
{
	return ak__sem_acquire_poll(&of_l(l)->acq, cx);
}

/* A writer's partial grant goes back: the readers behind it wake. */
static void l_cancel(struct ak__lockop *l)
{
	ak__sem_acquire_cancel(&of_l(l)->acq);
}

static inline __attribute__((always_inline)) int l_release(struct ak__lockop *l)
{
	return ak__sem_release(&rw_of(l)->sem, permits_of(l));
}

/* The count of waiting writers, kept by the writers themselves. */
static void l_will_wait(struct ak__lockop *l)
{
	struct rw_priv *p = of_l(l);
	if (l->mode == AK_LOCK_WRITE && !p->counted) {
		p->counted = 1;
		ak__fetch_add(&rw_of(l)->writers_waiting, 1, AK__RELAXED);
	}
}

static void l_waited(struct ak__lockop *l)
{
	struct rw_priv *p = of_l(l);
	if (p->counted) {
		p->counted = 0;
		ak__fetch_sub(&rw_of(l)->writers_waiting, 1, AK__RELAXED);
	}
}

/* ---- the diagnostics: every guard in the holder list ------------------------ */

static inline __attribute__((always_inline)) int64_t l_clock(struct ak__lockop *l)
{
	return diag(rw_of(l)) ? ak__lock_clock() : 0;
}

static void l_record(struct ak__lockop *l, struct ak_context *cx, int64_t since)
{
	struct rw_priv *p = of_l(l);
	if (diag(rw_of(l))) {
		ak__holder_record(&p->rec, cx, l->file, l->line, l->mode, since);
		ak__holders_add(&rw_of(l)->holders, &p->rec);
	}
}

static inline __attribute__((always_inline)) void l_forget(struct ak__lockop *l)
{
	if (diag(rw_of(l)))
		ak__holders_remove(&rw_of(l)->holders, &of_l(l)->rec);
}

/* 1 when waiting would mean waiting for a guard of our own. */
static int l_waits_for_itself(struct ak__lockop *l, struct ak_context *cx)
{
	struct ak_rwlock *rw = rw_of(l);
	uint64_t id = ak__requester_id(cx);
	if (!diag(rw) || id == 0)
		return 0;
	if (l->mode == AK_LOCK_WRITE)
		return ak__holders_find_self(&rw->holders, id, &cx->path,
		                             (1u << AK_LOCK_READ) | (1u << AK_LOCK_WRITE));
	if (ak__holders_find_self(&rw->holders, id, &cx->path, 1u << AK_LOCK_WRITE))
		return 1;
	/* Relaxed: a name of a fact our own thread established or not; a
	 * writer that is about to count itself cannot get past our read. */
	return ak__load(&rw->writers_waiting, AK__RELAXED) != 0 &&
	       ak__holders_find_self(&rw->holders, id, &cx->path, 1u << AK_LOCK_READ);
}

static struct ak__ld_class *l_ld_class(struct ak__lockop *l)
{
	return &rw_of(l)->ld;
}

AK__LOCKOP_DEFINE(rw_ops, rw_vtable, l_will_wait, l_waited, NULL, NULL);

/* ---- the operation ------------------------------------------------------------ */

static int bind(struct ak_rwlock_op *op, struct ak_rwlock *rw, int mode,
                const char *file, int line)
{
	if (!op || !rw)
		return AK_EINVAL;
	struct rw_priv *p = priv(&op->future);
	int rc = ak__lockop_bind(&op->future, &p->l, &rw_vtable, rw, mode, file, line);
	if (rc)
		return rc;
	p->counted = 0;
	p->rec.prev = p->rec.next = NULL;
	ak__sem_acquire_init(&p->acq, &rw->sem, permits_of(&p->l));
	return 0;
}

static int try_lock(struct ak_rwlock_op *op, struct ak_rwlock *rw, int mode,
                    struct ak_context *cx, const char *file, int line)
{
	if (cx && !ak__cx_valid(cx))
		return AK_EINVAL;
	int rc = bind(op, rw, mode, file, line);
	if (rc)
		return rc;
	return ak__lockop_try(&op->future, &priv(&op->future)->l, cx, &rw_ops);
}

AK_EXPORT int ak_rwlock_read_init_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                     const char *file, int line)
{
	return bind(op, rw, AK_LOCK_READ, file, line);
}

AK_EXPORT int ak_rwlock_write_init_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                      const char *file, int line)
{
	return bind(op, rw, AK_LOCK_WRITE, file, line);
}

AK_EXPORT int ak_rwlock_try_read_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                    struct ak_context *cx, const char *file, int line)
{
	return try_lock(op, rw, AK_LOCK_READ, cx, file, line);
}

AK_EXPORT int ak_rwlock_try_write_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                     struct ak_context *cx, const char *file, int line)
{
	return try_lock(op, rw, AK_LOCK_WRITE, cx, file, line);
}

AK_EXPORT int ak_rwlock_read_blocking_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                         int64_t deadline, const char *file, int line)
{
	int rc = bind(op, rw, AK_LOCK_READ, file, line);
	return rc ? rc : ak_block_on(&op->future, deadline);
}

AK_EXPORT int ak_rwlock_write_blocking_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                          int64_t deadline, const char *file, int line)
{
	int rc = bind(op, rw, AK_LOCK_WRITE, file, line);
	return rc ? rc : ak_block_on(&op->future, deadline);
}

AK_EXPORT int ak_rwlock_unlock(struct ak_rwlock_op *op)
{
	if (!op)
		return AK_EINVAL;
	return ak__lockop_unlock(&op->future, &priv(&op->future)->l, &rw_vtable, &rw_ops);
}

AK_EXPORT int ak_rwlock_downgrade(struct ak_rwlock_op *op)
{
	/* Storage never bound as a lock (zeroed, or another operation's) is
	 * no guard; a bound one is a guard while held is set. */
	if (!op || op->future.vtable != &rw_vtable)
		return AK_EINVAL;
	struct rw_priv *p = priv(&op->future);
	struct ak_rwlock *rw = rw_of(&p->l);
	if (!p->l.held || !rw || p->l.mode != AK_LOCK_WRITE)
		return AK_EINVAL;
	/* Keep one permit: no writer can get in between. */
	uint64_t give = rw->max - 1;
	p->l.mode = AK_LOCK_READ;
	if (p->l.ld.entry)
		ak__lockdep_set_mode(&p->l.ld, AK_LOCK_READ);
	if (diag(rw))
		ak__holders_set_mode(&rw->holders, &p->rec, AK_LOCK_READ);
	return ak__sem_release(&rw->sem, give);
}

AK_EXPORT int ak_rwlock_holders(struct ak_rwlock *rw, struct ak_task_slot *slot,
                                struct ak_lock_info *out, size_t cap)
{
	if (!rw || !diag(rw) || (cap && !out))
		return AK_EINVAL;
	return (int)ak__holders_info(&rw->holders, slot, out, cap);
}

struct ak__ld_op *ak__rwlock_ld_op(struct ak_future *f)
{
	if (f->vtable != &rw_vtable)
		return NULL;
	return ak__lockop_ld_op(&priv(f)->l);
}
