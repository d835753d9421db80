/* core/gate.c: the waiting side of a lockless source of units.  See gate.h. */
#include "gate.h"

void ak__gate_init(struct ak__gate *g)
{
	ak__lock_init(&g->lock);
	ak__init(&g->waiting, 0u);
	ak__waitq_init(&g->q);
}

int ak__gate_destroy(struct ak__gate *g)
{
	ak__lock(&g->lock);
	int busy = !ak__waitq_empty(&g->q);
	ak__unlock(&g->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&g->lock);
	return 0;
}

void ak__gate_wait_init(struct ak__gate_wait *a, uint64_t n)
{
	a->w.prev = a->w.next = NULL;
	a->w.waker.data = a->w.seen.data = NULL;
	a->w.waker.vtable = a->w.seen.vtable = NULL;
	a->w.want = a->w.granted = 0;
	ak__init(&a->w.state, AK__W_IDLE);
	a->n = n;
}

/* The queue is empty: the fast paths may serve everyone again.  A freeing
 * side that still reads `waiting` set takes the lock for nothing. */
static void set_idle(struct ak__gate *g, const struct ak__gate_source *s, void *src)
{
	ak__store(&g->waiting, 0u, AK__RELAXED);
	s->idle(src);
}

static void flush(struct ak__gate *g, struct ak__wakelist *wl)
{
	if (ak__wakelist_full(wl)) {
		ak__unlock(&g->lock);
		ak__wakelist_wake(wl);
		ak__lock(&g->lock);
	}
}

/* Hands what the source has free to the waiters in order (the head
 * accumulates partial grants); clears WAITERS once nobody is left.  Called
 * and returns with the lock held; drops it to wake a full wake list. */
static void grant_locked(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                         struct ak__wakelist *wl)
{
	struct ak__waiter *w;
	while ((w = ak__waitq_head(&g->q)) != NULL) {
		uint64_t got = s->take(src, w->want - w->granted);
		if (got == 0)
			return;
		ak__waitq_grant(&g->q, w, got, wl);
		flush(g, wl);
	}
	set_idle(g, s, src);
}

int ak__gate_park(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                  struct ak__gate_wait *a, struct ak_context *cx, uint32_t st)
{
	struct ak_waker clone;
	int rc = ak__waiter_prepare(&a->w, cx, &clone);
	if (rc) {
		ak__gate_cancel(g, s, src, a);
		return rc;
	}
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	if (st == AK__W_IDLE) {
		if (s->mark(src)) {
			if (ak__waitq_empty(&g->q))
				set_idle(g, s, src);
			ak__unlock(&g->lock);
			ak__waker_drop_kept(&clone);
			return AK_EPIPE;
		}
		/* seq_cst: the waiter's half of the handshake in gate.h; take()
		 * below loads the freeing side's publication after it. */
		ak__store(&g->waiting, 1u, AK__SEQ_CST);
		a->w.want = a->n;
		ak__waitq_park(&g->q, &a->w, &clone);
		/* What is free now serves the queue in order, us last. */
		grant_locked(g, s, src, &wl);
	} else {
		ak__waitq_park(&g->q, &a->w, &clone);   /* a new waker, or granted */
	}
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&clone);
	return ak__waiter_granted(&a->w) ? 0 : AK_PENDING;
}

void ak__gate_cancel(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                     struct ak__gate_wait *a)
{
	if (ak__load(&a->w.state, AK__RELAXED) == AK__W_IDLE)
		return;
	struct ak__wakelist wl;
	struct ak_waker drop;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	uint64_t given = ak__waitq_cancel(&g->q, &a->w, &drop);
	if (given)
		s->give(src, given);
	grant_locked(g, s, src, &wl);
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&drop);
}

void ak__gate_grant(struct ak__gate *g, const struct ak__gate_source *s, void *src)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	grant_locked(g, s, src, &wl);
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
}

void ak__gate_close(struct ak__gate *g, const struct ak__gate_source *s, void *src)
{
	struct ak__wakelist wl;
	struct ak__waiter *w;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	while ((w = ak__waitq_head(&g->q)) != NULL) {
		/* Granted short of what it asked: its poll gives back what it
		 * holds and reports AK_EPIPE. */
		w->want = w->granted;
		ak__waitq_grant(&g->q, w, 0, &wl);
		flush(g, &wl);
	}
	set_idle(g, s, src);
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
}
