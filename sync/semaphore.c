/*
 * sync/semaphore.c: the public Semaphore, a thin layer over the fair batch
 * semaphore of core/sem.h, which does the queueing, the FIFO grants, the
 * partial grants of the head waiter, close and the maximum.  This file adds
 * the handle, the operation that holds its permits once completed, n == 0,
 * and the blocking form.
 */
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/error.h>
#include <awaitkit/lock_info.h>
#include <awaitkit/semaphore.h>

#include "../core/core.h"
#include "../core/sem.h"
#include "lockdep.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_SEMAPHORE_ACQUIRE, struct ak_semaphore_acquire_op);

_Static_assert(AK_SEMAPHORE_MAX_PERMITS == AK__SEM_MAX,
               "the public maximum is the core's");

/*
 * The free refuses (AK_EBUSY) while anything still reaches the semaphore:
 * an acquire that parked and has not finished (queued, or granted and not
 * yet polled: the core's queue no longer holds that one), or permits held
 * by completed acquires.  pending counts the first; the second is
 * total - available, total being every permit the semaphore was given
 * (created with, added, minus forgotten), which releases never change.
 * Both are touched off the fast path only: pending when an acquire parks,
 * total by add_permits and forget.
 *
 * add_permits counts the permits held toward the maximum (total <= MAX),
 * so a release can never pass it: it is the core's ak__sem_return(), one
 * add, which cannot fail.
 */
struct ak_semaphore {
	struct ak__sem core;
	ak__atomic(uint64_t) total;   /* permits given, held or not: <= MAX */
	ak__atomic(uint32_t) pending; /* acquires parked and not finished */
	struct ak__ld_class ld;       /* lockdep's class, if created with one */
};

/* The operation's private storage. */
struct acquire_priv {
	struct ak__sem_acquire a;     /* binds the semaphore and n */
	uintptr_t holding;            /* owner only: 1 once completed, until released */
	uintptr_t parked;             /* owner only: counted in pending */
	struct ak__ld_op ld;          /* lockdep's part (sync/lockdep.h) */
	const char *file;             /* the acquisition site, for lockdep */
	intptr_t line;
};
_Static_assert(sizeof(struct acquire_priv) <=
               sizeof(((struct ak_semaphore_acquire_op *)0)->private_),
               "semaphore acquire op storage too small");

static struct acquire_priv *priv_of(struct ak_semaphore_acquire_op *op)
{
	return (struct acquire_priv *)(void *)&op->private_;
}

static struct ak_semaphore *sem_of(struct acquire_priv *p)
{
	return (struct ak_semaphore *)(void *)p->a.sem;
}

/* The acquire finished or was cancelled: no longer pending. */
static void unpark(struct acquire_priv *p)
{
	if (p->parked) {
		p->parked = 0;
		ak__fetch_sub(&sem_of(p)->pending, 1, AK__RELAXED);
	}
}

AK_EXPORT int ak_semaphore_new_class_at(struct ak_semaphore **out, uint64_t permits,
                                        const char *name, const char *file, int line)
{
	if (!out)
		return AK_EINVAL;
	if (permits > AK__SEM_MAX)
		return AK_EOVERFLOW;
	struct ak_semaphore *s = ak__alloc(sizeof(*s));
	if (!s)
		return AK_ENOMEM;
	ak__sem_init(&s->core, permits);
	ak__init(&s->total, permits);
	ak__init(&s->pending, 0);
	ak__ld_class_init(&s->ld, name, file, line);
	*out = s;
	return 0;
}

AK_EXPORT int ak_semaphore_new(struct ak_semaphore **out, uint64_t permits)
{
	return ak_semaphore_new_class_at(out, permits, NULL, NULL, 0);
}

AK_EXPORT int ak_semaphore_free(struct ak_semaphore *sem)
{
	if (!sem)
		return AK_EINVAL;
	/* Relaxed: the page allows nothing on the semaphore concurrently. */
	if (ak__load(&sem->pending, AK__RELAXED) != 0 ||
	    ak__sem_available(&sem->core) != ak__load(&sem->total, AK__RELAXED))
		return AK_EBUSY;        /* an acquire pending, or permits held */
	int rc = ak__sem_destroy(&sem->core);
	if (rc)
		return rc;
	ak__free_sized(sem, sizeof(*sem));
	return 0;
}

/* Always inlined: the fast path stays one function, a call would cost
 * more than lockdep's branch. */
static inline __attribute__((always_inline)) int
acquire_poll_plain(struct acquire_priv *p, struct ak_context *cx)
{
	if (p->a.n == 0) {
		/* tokio's acquire_many(0): done at once while open. */
		if (ak__sem_is_closed(p->a.sem))
			return AK_EPIPE;
		p->holding = 1;
		return 0;
	}
	int rc = ak__sem_acquire_poll(&p->a, cx);
	if (rc == AK_PENDING) {
		if (!p->parked) {
			p->parked = 1;
			ak__fetch_add(&sem_of(p)->pending, 1, AK__RELAXED);
		}
		return rc;
	}
	if (rc == 0)
		p->holding = 1;
	unpark(p);
	return rc;
}

static struct ak__ld_acq ld_acq(struct acquire_priv *p)
{
	return (struct ak__ld_acq){ &sem_of(p)->ld, sem_of(p), p->file, (int)p->line, AK_LOCK_WRITE };
}

/* Lockdep on (or its switch not yet read): the acquire of a semaphore
 * created with a class is a lock, checked and recorded as a Mutex's. */
static __attribute__((noinline)) int acquire_poll_lockdep(struct acquire_priv *p,
                                                           struct ak_context *cx)
{
	if (!ak__lockdep_on() || !sem_of(p)->ld.name || p->a.n == 0)
		return acquire_poll_plain(p, cx);
	struct ak__ld_acq a = ld_acq(p);
	if (!p->parked && !p->ld.checked)
		ak__lockdep_check(&p->ld, &a, cx);
	int rc = acquire_poll_plain(p, cx);
	if (rc == 0)
		ak__lockdep_took(&p->ld, &a, cx);
	return rc;
}

static int acquire_poll(struct ak_future *f, struct ak_context *cx)
{
	struct acquire_priv *p = priv_of((struct ak_semaphore_acquire_op *)(void *)f);
	/* Off, lockdep costs this one predictable branch. */
	if (ak__lockdep_wanted())
		return acquire_poll_lockdep(p, cx);
	return acquire_poll_plain(p, cx);
}

static void acquire_cancel(struct ak_future *f)
{
	struct acquire_priv *p = priv_of((struct ak_semaphore_acquire_op *)(void *)f);
	/* Whatever was granted and not yet consumed goes to the next waiter. */
	ak__sem_acquire_cancel(&p->a);
	unpark(p);
}

static const struct ak_future_vtable acquire_vtable = { acquire_poll, acquire_cancel };

AK_EXPORT int ak_semaphore_acquire_init_at(struct ak_semaphore_acquire_op *op,
                                           struct ak_semaphore *sem, uint64_t n,
                                           const char *file, int line)
{
	if (!op || !sem || n > AK__SEM_MAX)
		return AK_EINVAL;
	if (op->future.vtable == &acquire_vtable && priv_of(op)->holding)
		return AK_EBUSY;        /* it still holds permits: release first */
	int rc = ak_future_init(&op->future, &acquire_vtable);
	if (rc)
		return rc;
	/* Field by field, not memset: gcc makes the memset a rep stos, whose
	 * start-up costs more than the whole acquire on the fast path. */
	struct acquire_priv *p = priv_of(op);
	ak__sem_acquire_init(&p->a, &sem->core, n);
	p->file = file;
	p->line = line;
	p->holding = 0;
	p->parked = 0;
	p->ld = (struct ak__ld_op){ 0, 0, 0 };
	return 0;
}

AK_EXPORT int (ak_semaphore_acquire_init)(struct ak_semaphore_acquire_op *op,
                                          struct ak_semaphore *sem, uint64_t n)
{
	return ak_semaphore_acquire_init_at(op, sem, n, NULL, 0);
}

AK_EXPORT int ak_semaphore_try_acquire(struct ak_semaphore_acquire_op *op,
                                       struct ak_semaphore *sem, uint64_t n)
{
	int rc = ak_semaphore_acquire_init_at(op, sem, n, NULL, 0);
	if (rc)
		return rc;
	struct acquire_priv *p = priv_of(op);
	if (n == 0)
		rc = ak__sem_is_closed(&sem->core) ? AK_EPIPE : 0;
	else
		rc = ak__sem_try_acquire(&sem->core, n);
	/* The op is finished either way: done holding, or failed. */
	ak__future_finish(&op->future);
	if (rc == 0)
		p->holding = 1;
	return rc;
}

AK_EXPORT int ak_semaphore_acquire_blocking_at(struct ak_semaphore_acquire_op *op,
                                               struct ak_semaphore *sem, uint64_t n,
                                               int64_t deadline, const char *file, int line)
{
	int rc = ak_semaphore_acquire_init_at(op, sem, n, file, line);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}

AK_EXPORT int (ak_semaphore_acquire_blocking)(struct ak_semaphore_acquire_op *op,
                                              struct ak_semaphore *sem, uint64_t n,
                                              int64_t deadline)
{
	return ak_semaphore_acquire_blocking_at(op, sem, n, deadline, NULL, 0);
}

AK_EXPORT int ak_semaphore_release(struct ak_semaphore_acquire_op *op)
{
	if (!op || op->future.vtable != &acquire_vtable)
		return AK_EINVAL;
	struct acquire_priv *p = priv_of(op);
	if (!p->holding)
		return AK_EINVAL;
	ak__sem_return(p->a.sem, p->a.n);
	p->holding = 0;
	if (__builtin_expect(p->ld.entry != 0, 0))
		ak__lockdep_release(&p->ld);
	return 0;
}

/* A completed acquire that holds its permits, or NULL. */
static struct acquire_priv *holder(const struct ak_semaphore_acquire_op *op)
{
	if (!op || op->future.vtable != &acquire_vtable)
		return NULL;
	struct acquire_priv *p = priv_of((struct ak_semaphore_acquire_op *)op);
	return p->holding ? p : NULL;
}

AK_EXPORT uint64_t ak_semaphore_permits(const struct ak_semaphore_acquire_op *op)
{
	struct acquire_priv *p = holder(op);
	return p ? p->a.n : 0;
}

AK_EXPORT int ak_semaphore_split(struct ak_semaphore_acquire_op *op, uint64_t n,
                                 struct ak_semaphore_acquire_op *other)
{
	struct acquire_priv *p = holder(op);
	if (!p || !other || other == op || n > p->a.n)
		return AK_EINVAL;
	if (holder(other) || ak__future_phase(&other->future) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	/* other becomes a completed acquire of n permits of the same
	 * semaphore: the permits move, the semaphore sees nothing. */
	ak_future_init(&other->future, &acquire_vtable);
	struct acquire_priv *q = priv_of(other);
	memset(q, 0, sizeof(*q));
	ak__sem_acquire_init(&q->a, p->a.sem, n);
	q->holding = 1;
	ak__future_finish(&other->future);
	p->a.n -= n;
	return 0;
}

AK_EXPORT int ak_semaphore_merge(struct ak_semaphore_acquire_op *op,
                                 struct ak_semaphore_acquire_op *other)
{
	struct acquire_priv *p = holder(op), *q = holder(other);
	if (!p || !q || op == other || p->a.sem != q->a.sem)
		return AK_EINVAL;
	p->a.n += q->a.n;       /* at most the semaphore's maximum: no overflow */
	q->a.n = 0;
	q->holding = 0;
	if (q->ld.entry)
		ak__lockdep_release(&q->ld);   /* the permits live on in op */
	return 0;
}

AK_EXPORT int ak_semaphore_forget_op(struct ak_semaphore_acquire_op *op)
{
	struct acquire_priv *p = holder(op);
	if (!p)
		return AK_EINVAL;
	/* The permits leave the semaphore for good: its total shrinks, so
	 * the free no longer waits for them. */
	ak__fetch_sub(&sem_of(p)->total, p->a.n, AK__RELAXED);
	p->holding = 0;
	if (p->ld.entry)
		ak__lockdep_release(&p->ld);
	return 0;
}

AK_EXPORT int ak_semaphore_add_permits(struct ak_semaphore *sem, uint64_t n)
{
	if (!sem)
		return AK_EINVAL;
	/* The total first: between the two, available + held <= total still. */
	uint64_t t = ak__load(&sem->total, AK__RELAXED);
	do {
		if (n > AK__SEM_MAX - t)
			return AK_EOVERFLOW;    /* held ones count: nothing changed */
	} while (!ak__cas_weak(&sem->total, &t, t + n, AK__RELAXED, AK__RELAXED));
	ak__sem_return(&sem->core, n);
	return 0;
}

AK_EXPORT int ak_semaphore_forget(struct ak_semaphore *sem, uint64_t n, uint64_t *forgotten)
{
	if (!sem)
		return AK_EINVAL;
	uint64_t k = ak__sem_forget(&sem->core, n);
	ak__fetch_sub(&sem->total, k, AK__RELAXED);
	if (forgotten)
		*forgotten = k;
	return 0;
}

AK_EXPORT int ak_semaphore_close(struct ak_semaphore *sem)
{
	if (!sem)
		return AK_EINVAL;
	ak__sem_close(&sem->core);
	return 0;
}

AK_EXPORT int ak_semaphore_is_closed(const struct ak_semaphore *sem)
{
	if (!sem)
		return AK_EINVAL;
	return ak__sem_is_closed((struct ak__sem *)&sem->core);
}

AK_EXPORT uint64_t ak_semaphore_available_permits(const struct ak_semaphore *sem)
{
	if (!sem)
		return 0;
	return ak__sem_available((struct ak__sem *)&sem->core);
}

struct ak__ld_op *ak__semaphore_ld_op(struct ak_future *f)
{
	if (f->vtable != &acquire_vtable)
		return NULL;
	struct acquire_priv *p = priv_of((struct ak_semaphore_acquire_op *)(void *)f);
	return p->holding || p->parked || p->ld.checked ? NULL : &p->ld;
}
