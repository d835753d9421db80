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

#include <awaitkit/block_on.h>
#include <awaitkit/rwlock.h>

#include "../core/sem.h"
#include "lockdep.h"
#include "lockdiag.h"

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
	struct ak__sem_acquire acq;
	struct ak__holder rec;
	struct ak_rwlock *rw;
	const char *file;
	int line;
	int mode;                    /* AK_LOCK_READ / AK_LOCK_WRITE */
	int held;                    /* the guard's owner: 1 while it holds */
	int parked;                  /* the owner: its acquire is queued */
	int counted;                 /* a write counted in writers_waiting */
	struct ak__ld_op ld;         /* lockdep's part (sync/lockdep.h) */
};
_Static_assert(sizeof(struct rw_priv) <= sizeof(((struct ak_rwlock_op *)0)->private_),
               "rwlock op storage too small");
_Static_assert(alignof(struct rw_priv) <= alignof(max_align_t), "rwlock op alignment");

static struct rw_priv *priv(struct ak_rwlock_op *op)
{
	return (struct rw_priv *)(void *)&op->private_;
}

static int diag(const struct ak_rwlock *rw)
{
	return !(rw->flags & AK_LOCK_NODIAG);
}

static uint64_t permits_of(const struct rw_priv *p)
{
	return p->mode == AK_LOCK_WRITE ? p->rw->max : 1;
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

static void took(struct rw_priv *p, struct ak_context *cx, int64_t since)
{
	p->held = 1;
	p->parked = 0;
	if (diag(p->rw)) {
		ak__holder_record(&p->rec, cx, p->file, p->line, p->mode, since);
		ak__holders_add(&p->rw->holders, &p->rec);
	}
}

static void uncount(struct rw_priv *p)
{
	if (p->counted) {
		p->counted = 0;
		ak__fetch_sub(&p->rw->writers_waiting, 1, AK__RELAXED);
	}
}

/* 1 when waiting would mean waiting for a guard of our own. */
static int waits_for_itself(struct rw_priv *p, struct ak_context *cx)
{
	struct ak_rwlock *rw = p->rw;
	uint64_t id = ak__requester_id(cx);
	if (!diag(rw) || id == 0)
		return 0;
	if (p->mode == AK_LOCK_WRITE)
		return ak__holders_find_self(&rw->holders, id, &cx->path,
		                             (1u << AK_LOCK_READ) | (1u << AK_LOCK_WRITE));
	if (ak__holders_find_self(&rw->holders, id, &cx->path, 1u << AK_LOCK_WRITE))
		return 1;
	/* Relaxed: a name of a fact our own thread established or not; a
	 * writer that is about to count itself cannot get past our read. */
	return ak__load(&rw->writers_waiting, AK__RELAXED) != 0 &&
	       ak__holders_find_self(&rw->holders, id, &cx->path, 1u << AK_LOCK_READ);
}

/* Always inlined: the fast path stays one function, a call would cost
 * more than lockdep's branch. */
static inline __attribute__((always_inline)) int
rw_poll_plain(struct rw_priv *p, struct ak_context *cx)
{
	struct ak_rwlock *rw = p->rw;

	if (!p->parked && ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	int64_t since = diag(rw) ? ak__lock_clock() : 0;
	if (!p->parked) {
		int rc = ak__sem_try_acquire(&rw->sem, permits_of(p));
		if (rc == 0) {
			ak__coop_spend(cx);
			took(p, cx, since);
			return 0;
		}
		if (rc != AK_EAGAIN)
			return rc;
		if (waits_for_itself(p, cx))
			return AK_EDEADLK;
		if (p->mode == AK_LOCK_WRITE && !p->counted) {
			p->counted = 1;
			ak__fetch_add(&rw->writers_waiting, 1, AK__RELAXED);
		}
	}
	int rc = ak__sem_acquire_poll(&p->acq, cx);
	if (rc == AK_PENDING) {
		p->parked = 1;
		return AK_PENDING;
	}
	p->parked = 0;
	uncount(p);
	if (rc == 0)
		took(p, cx, since);
	return rc;
}

static struct ak__ld_acq ld_acq(struct rw_priv *p)
{
	return (struct ak__ld_acq){ &p->rw->ld, p->rw, p->file, p->line, p->mode };
}

/* Lockdep on (or its switch not yet read): as the Mutex's. */
static __attribute__((noinline)) int rw_poll_lockdep(struct rw_priv *p, struct ak_context *cx)
{
	if (!ak__lockdep_on())
		return rw_poll_plain(p, cx);
	struct ak__ld_acq a = ld_acq(p);
	if (!p->parked && !p->ld.checked)
		ak__lockdep_check(&p->ld, &a, cx);
	int rc = rw_poll_plain(p, cx);
	if (rc == 0)
		ak__lockdep_took(&p->ld, &a, cx);
	return rc;
}

static int rw_poll(struct ak_future *f, struct ak_context *cx)
{
	struct rw_priv *p = priv((struct ak_rwlock_op *)(void *)f);
	/* Off, lockdep costs this one predictable branch. */
	if (ak__lockdep_wanted())
		return rw_poll_lockdep(p, cx);
	return rw_poll_plain(p, cx);
}

static void rw_cancel(struct ak_future *f)
{
	struct rw_priv *p = priv((struct ak_rwlock_op *)(void *)f);
	/* A writer's partial grant goes back: the readers behind it wake. */
	ak__sem_acquire_cancel(&p->acq);
	p->parked = 0;
	uncount(p);
}

static const struct ak_future_vtable rw_vtable = { rw_poll, rw_cancel };

static int bind(struct ak_rwlock_op *op, struct ak_rwlock *rw, int mode,
                const char *file, int line)
{
	if (!op || !rw)
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_DONE && priv(op)->held)
		return AK_EBUSY;                /* a guard: unlock it first */
	int rc = ak_future_init(&op->future, &rw_vtable);
	if (rc)
		return rc;
	/* Field by field: the record is written when the lock is taken. */
	struct rw_priv *p = priv(op);
	p->held = 0;
	p->parked = 0;
	p->counted = 0;
	p->ld = (struct ak__ld_op){ 0 };
	p->rec.prev = p->rec.next = NULL;
	p->rw = rw;
	p->mode = mode;
	p->file = file;
	p->line = line;
	ak__sem_acquire_init(&p->acq, &rw->sem, permits_of(p));
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
	int64_t since = diag(rw) ? ak__lock_clock() : 0;
	rc = ak__sem_try_acquire(&rw->sem, permits_of(priv(op)));
	if (rc == 0) {
		took(priv(op), cx, since);
		if (ak__lockdep_wanted() && ak__lockdep_on()) {
			/* A try never waits: recorded as held, no order checked. */
			struct ak__ld_acq a = ld_acq(priv(op));
			ak__lockdep_took(&priv(op)->ld, &a, cx);
		}
	}
	ak__future_finish(&op->future);   /* a guard is not pollable */
	return rc;
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
	/* Storage never bound as a lock (zeroed, or another operation's) is
	 * no guard; a bound one is a guard while held is set. */
	if (!op || op->future.vtable != &rw_vtable)
		return AK_EINVAL;
	struct rw_priv *p = priv(op);
	if (!p->held || !p->rw)
		return AK_EINVAL;
	p->held = 0;
	if (__builtin_expect(p->ld.entry != 0, 0))
		ak__lockdep_release(&p->ld);
	if (diag(p->rw))
		ak__holders_remove(&p->rw->holders, &p->rec);
	return ak__sem_release(&p->rw->sem, permits_of(p));
}

AK_EXPORT int ak_rwlock_downgrade(struct ak_rwlock_op *op)
{
	/* Storage never bound as a lock (zeroed, or another operation's) is
	 * no guard; a bound one is a guard while held is set. */
	if (!op || op->future.vtable != &rw_vtable)
		return AK_EINVAL;
	struct rw_priv *p = priv(op);
	if (!p->held || !p->rw || p->mode != AK_LOCK_WRITE)
		return AK_EINVAL;
	/* Keep one permit: no writer can get in between. */
	uint64_t give = p->rw->max - 1;
	p->mode = AK_LOCK_READ;
	if (p->ld.entry)
		ak__lockdep_set_mode(&p->ld, AK_LOCK_READ);
	if (diag(p->rw))
		ak__holders_set_mode(&p->rw->holders, &p->rec, AK_LOCK_READ);
	return ak__sem_release(&p->rw->sem, give);
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
	struct rw_priv *p = priv((struct ak_rwlock_op *)(void *)f);
	return p->held || p->parked || p->ld.checked ? NULL : &p->ld;
}
