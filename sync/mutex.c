/*
 * sync/mutex.c: the async Mutex, a batch semaphore of one permit
 * (core/sem.h) plus the holder records of lockdiag.h.
 *
 * The semaphore gives FIFO fairness, try_lock that never jumps the queue
 * and cancel that passes a grant on.  Around it, a lock records who took
 * it (a copy of the task id and branch path), where, and when; a task that
 * awaits the mutex while holding it on its own path is refused with
 * AK_EDEADLK before it parks.  The check runs only when the mutex is not
 * free at once.  The record lives in the mutex (one holder at a time) and
 * is written and read without a lock (struct ak__owner in lockdiag.h), so
 * the diagnostics add to a lock one clock read and a dozen plain stores,
 * and no shared lock that contended workers would bounce between them.
 */
#include <stdalign.h>

#include <awaitkit/block_on.h>
#include <awaitkit/mutex.h>

#include "../core/sem.h"
#include "lockdiag.h"

struct ak_mutex {
	struct ak__sem sem;          /* one permit */
	/* The holder's record is rewritten at every acquisition: keep it off
	 * the cache lines of the semaphore's word, lock and queue. */
	char pad_[64];
	struct ak__owner owner;      /* the holder's record */
	unsigned flags;              /* AK_LOCK_* */
};

struct lock_priv {
	struct ak__sem_acquire acq;
	struct ak__holder rec;
	struct ak_mutex *m;
	const char *file;
	int line;
	int held;                    /* the guard's owner: 1 while it holds */
	int parked;                  /* the owner: its acquire is queued */
};
_Static_assert(sizeof(struct lock_priv) <= sizeof(((struct ak_mutex_lock_op *)0)->private_),
               "mutex lock op storage too small");
_Static_assert(alignof(struct lock_priv) <= alignof(max_align_t), "mutex op alignment");

static struct lock_priv *priv(struct ak_mutex_lock_op *op)
{
	return (struct lock_priv *)(void *)&op->private_;
}

static int diag(const struct ak_mutex *m)
{
	return !(m->flags & AK_LOCK_NODIAG);
}

AK_EXPORT int ak_mutex_new(struct ak_mutex **out, unsigned flags)
{
	if (!out || (flags & ~AK_LOCK_NODIAG))
		return AK_EINVAL;
	struct ak_mutex *m = (struct ak_mutex *)ak__alloc(sizeof(*m));
	if (!m)
		return AK_ENOMEM;
	ak__sem_init(&m->sem, 1);
	ak__owner_init(&m->owner);
	m->flags = flags;
	*out = m;
	return 0;
}

AK_EXPORT int ak_mutex_free(struct ak_mutex *m)
{
	if (!m)
		return AK_EINVAL;
	if (ak__sem_available(&m->sem) != 1)
		return AK_EBUSY;            /* held, or granted to a waiter */
	if (ak__sem_destroy(&m->sem) != 0)
		return AK_EBUSY;
	ak__free_sized(m, sizeof(*m));
	return 0;
}

/* The guard is taken: records the holder (inside its own poll). */
static void took(struct lock_priv *p, struct ak_context *cx, int64_t since)
{
	p->held = 1;
	p->parked = 0;
	if (diag(p->m)) {
		ak__holder_record(&p->rec, cx, p->file, p->line, AK_LOCK_WRITE, since);
		ak__owner_publish(&p->m->owner, &p->rec);
	}
}

static int waits_for_itself(struct ak_mutex *m, struct ak_context *cx)
{
	uint64_t id = ak__requester_id(cx);
	struct ak__holder h;
	/* Filter first on the task word alone: if this task holds the mutex,
	 * it wrote that word itself in an earlier poll (ordered before this
	 * one by the executor) and nobody has rewritten it since, so it reads
	 * its own id; any other value means another holder.  Only then take
	 * a consistent snapshot. */
	return id != 0 && ak__owner_task(&m->owner) == id &&
	       ak__owner_read(&m->owner, &h) && h.task == id &&
	       ak__path_is_prefix(&h.path, &cx->path);
}

static int lock_poll(struct ak_future *f, struct ak_context *cx)
{
	struct lock_priv *p = priv((struct ak_mutex_lock_op *)(void *)f);
	struct ak_mutex *m = p->m;

	if (!p->parked && ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	int64_t since = diag(m) ? ak__lock_clock() : 0;
	if (!p->parked) {
		int rc = ak__sem_try_acquire(&m->sem, 1);
		if (rc == 0) {
			ak__coop_spend(cx);
			took(p, cx, since);
			return 0;
		}
		if (rc != AK_EAGAIN)
			return rc;
		/* About to wait: for itself? */
		if (diag(m) && waits_for_itself(m, cx))
			return AK_EDEADLK;
	}
	int rc = ak__sem_acquire_poll(&p->acq, cx);
	if (rc == AK_PENDING) {
		p->parked = 1;
		return AK_PENDING;
	}
	p->parked = 0;
	if (rc == 0)
		took(p, cx, since);
	return rc;
}

static void lock_cancel(struct ak_future *f)
{
	struct lock_priv *p = priv((struct ak_mutex_lock_op *)(void *)f);
	/* Whatever was granted meanwhile goes to the next waiter. */
	ak__sem_acquire_cancel(&p->acq);
	p->parked = 0;
}

static const struct ak_future_vtable lock_vtable = { lock_poll, lock_cancel };

static int bind(struct ak_mutex_lock_op *op, struct ak_mutex *m, const char *file, int line)
{
	if (!op || !m)
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_DONE && priv(op)->held)
		return AK_EBUSY;                /* a guard: unlock it first */
	int rc = ak_future_init(&op->future, &lock_vtable);
	if (rc)
		return rc;
	/* Field by field: the record is written when the lock is taken. */
	struct lock_priv *p = priv(op);
	ak__sem_acquire_init(&p->acq, &m->sem, 1);
	p->m = m;
	p->file = file;
	p->line = line;
	p->held = 0;
	p->parked = 0;
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
	int64_t since = diag(m) ? ak__lock_clock() : 0;
	rc = ak__sem_try_acquire(&m->sem, 1);
	if (rc) {
		op->future.state = AK_FUTURE_DONE;
		return rc;
	}
	took(priv(op), cx, since);
	op->future.state = AK_FUTURE_DONE;  /* a guard is not pollable */
	return 0;
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
	/* Storage never bound as a lock (zeroed, or another operation's) is
	 * no guard; a bound one is a guard while held is set. */
	if (!op || op->future.vtable != &lock_vtable)
		return AK_EINVAL;
	struct lock_priv *p = priv(op);
	if (!p->held || !p->m)
		return AK_EINVAL;
	p->held = 0;
	if (diag(p->m))
		ak__owner_clear(&p->m->owner);
	/* The permit goes straight to the head waiter, if any. */
	return ak__sem_release(&p->m->sem, 1);
}

AK_EXPORT int ak_mutex_is_locked(struct ak_mutex *m)
{
	if (!m)
		return AK_EINVAL;
	return ak__sem_available(&m->sem) == 0;
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
