/*
 * sync/barrier.c: n parties meet; the n-th to arrive leads and releases
 * the others; reusable.
 *
 * Everything lives under one lock: the count of arrivals in the current
 * generation, the generation number, and the FIFO of waits (core/waitq.h).
 * The leader bumps the generation and grants every queued wait of an
 * earlier generation; a grant is what releases a wait.  Queued waits are
 * in arrival order, so their generations never decrease along the queue:
 * the waits of released generations are always a prefix of it, even while
 * a leader has dropped the lock to wake a full wake list (a leader of the
 * next generation then grants the rest of that prefix too).
 *
 * Cancel: a wait still queued in the current generation un-arrives; one
 * whose generation was released (granted, or still queued behind a leader
 * that dropped the lock) counts as arrived — the exception to the commit
 * rule that DESIGN.md section 2 documents.
 *
 *   field                        guarded by
 *   n                            constant
 *   arrived, generation, waiters the lock
 *   wait_priv.w                  core/waitq.h's rules
 *   wait_priv.gen, .arrived,     the op's owner (gen is read by leaders
 *   .leader                      under the lock while queued: written before
 *                                the node is parked, under the lock)
 */
#include <string.h>

#include <awaitkit/barrier.h>
#include <awaitkit/block_on.h>
#include <awaitkit/error.h>

#include "../core/core.h"
#include "../core/waitq.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_BARRIER_WAIT, struct ak_barrier_wait_op);

struct ak_barrier {
	struct ak__lock lock;
	size_t n;
	size_t arrived;               /* lock: arrivals in this generation */
	uint64_t generation;          /* lock */
	struct ak__waitq waiters;     /* lock */
};

/* w first: a leader reads gen through the queue's node. */
struct wait_priv {
	struct ak__waiter w;
	struct ak_barrier *b;
	uint64_t gen;                 /* the generation it arrived in */
	int *leader;                  /* optional out-flag */
	uintptr_t arrived;            /* owner: counted at the barrier */
};
_Static_assert(sizeof(struct wait_priv) <= sizeof(((struct ak_barrier_wait_op *)0)->private_),
               "barrier wait op storage too small");

static struct wait_priv *priv_of(struct ak_future *f)
{
	return (struct wait_priv *)(void *)&((struct ak_barrier_wait_op *)(void *)f)->private_;
}

AK_EXPORT int ak_barrier_new(struct ak_barrier **out, size_t n)
{
	if (!out || n == 0)
		return AK_EINVAL;
	struct ak_barrier *b = ak__alloc(sizeof(*b));
	if (!b)
		return AK_ENOMEM;
	ak__lock_init(&b->lock);
	b->n = n;
	b->arrived = 0;
	b->generation = 0;
	ak__waitq_init(&b->waiters);
	*out = b;
	return 0;
}

AK_EXPORT int ak_barrier_free(struct ak_barrier *barrier)
{
	if (!barrier)
		return AK_EINVAL;
	ak__lock(&barrier->lock);
	int busy = !ak__waitq_empty(&barrier->waiters);
	ak__unlock(&barrier->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&barrier->lock);
	ak__free_sized(barrier, sizeof(*barrier));
	return 0;
}

AK_EXPORT size_t ak_barrier_parties(const struct ak_barrier *barrier)
{
	return barrier ? barrier->n : 0;
}

static int finish(struct wait_priv *p, int leader, struct ak_context *cx)
{
	p->arrived = 0;
	if (p->leader)
		*p->leader = leader;
	ak__coop_spend(cx);
	return 0;
}

/* Grant-loop pick: the waits of a generation released. */
static int pick_released(struct ak__waiter *w, void *arg, uintptr_t *amount)
{
	struct ak_barrier *b = arg;
	*amount = 1;
	return ((struct wait_priv *)(void *)w)->gen < b->generation;
}

/* With the lock held: grants every queued wait of a released generation. */
static void release_locked(struct ak_barrier *b, struct ak__wakelist *wl)
{
	ak__waitq_grant_each(&b->waiters, &b->lock, pick_released, b, wl);
}

/* Under the lock: the last arrival releases the generation (the leader,
 * not parked: LEADER); any other arrival parks. */
#define LEADER (AK__WAIT_PARK + 1)
static int arrive_locked(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                         struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct wait_priv *p = arg;
	struct ak_barrier *b = p->b;

	(void)clone;
	(void)drop;
	if (b->arrived + 1 == b->n) {
		b->arrived = 0;
		b->generation++;
		release_locked(b, wl);
		return LEADER;
	}
	b->arrived++;
	p->gen = b->generation;
	p->arrived = 1;
	w->want = 1;
	return AK__WAIT_PARK;
}

static int arrive(struct wait_priv *p, struct ak_context *cx)
{
	struct ak_barrier *b = p->b;

	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	int rc = ak__waitq_wait(&b->waiters, &b->lock, &p->w, cx, arrive_locked, p);
	if (rc == LEADER)
		return finish(p, 1, cx);
	return rc;      /* AK_PENDING, or AK_ENOMEM: not arrived, nothing changed */
}

static void wait_cancel(struct ak_future *f);

static int wait_poll(struct ak_future *f, struct ak_context *cx)
{
	struct wait_priv *p = priv_of(f);
	struct ak_barrier *b = p->b;

	if (!p->arrived)
		return arrive(p, cx);
	if (ak__waiter_granted(&p->w)) {
		ak__waiter_take(&p->w);
		return finish(p, 0, cx);
	}
	/* Re-park: a new waker to keep (a no-op once granted). */
	int rc = ak__waitq_wait(&b->waiters, &b->lock, &p->w, cx, NULL, NULL);
	if (rc == AK_ENOMEM) {
		wait_cancel(f);         /* the op finishes with rc: leave the queue */
		return rc;
	}
	if (ak__waiter_granted(&p->w)) {
		ak__waiter_take(&p->w);
		return finish(p, 0, cx);
	}
	return AK_PENDING;
}

static void wait_cancel(struct ak_future *f)
{
	struct wait_priv *p = priv_of(f);
	struct ak_barrier *b = p->b;
	struct ak_waker drop;

	if (!b || !p->arrived)
		return;
	p->arrived = 0;
	if (ak__waiter_granted(&p->w)) {
		/* Released: counts as arrived; the barrier is not touched. */
		ak__waiter_take(&p->w);
		return;
	}
	ak__lock(&b->lock);
	uintptr_t given = ak__waitq_cancel(&b->waiters, &p->w, &drop);
	if (given == 0 && p->gen == b->generation)
		b->arrived--;           /* not released yet: un-arrive */
	ak__unlock(&b->lock);
	ak__waker_drop_kept(&drop);
}

static const struct ak_future_vtable wait_vtable = { wait_poll, wait_cancel };

AK_EXPORT int ak_barrier_wait_init(struct ak_barrier_wait_op *op, struct ak_barrier *barrier,
                                   int *is_leader)
{
	if (!op || !barrier)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &wait_vtable);
	if (rc)
		return rc;
	struct wait_priv *p = priv_of(&op->future);
	memset(p, 0, sizeof(*p));
	ak__init(&p->w.state, AK__W_IDLE);
	p->b = barrier;
	p->leader = is_leader;
	return 0;
}

AK_EXPORT int ak_barrier_wait_blocking(struct ak_barrier_wait_op *op, struct ak_barrier *barrier,
                                       int *is_leader, int64_t deadline)
{
	int rc = ak_barrier_wait_init(op, barrier, is_leader);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}
