/* core/gate.c: the waiting side of a lockless source of units.  See gate.h. */
#include "gate.h"

void ak__gate_init(struct ak__gate *g)
{
	ak__lock_init(&g->lock);
	ak__init(&g->waiting, 0u);
	ak__init(&g->light, 0u);
	g->calm_from = 0;
	g->parks = g->parks_seen = 0;
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
	ak__waiter_init(&a->w);
	a->n = n;
}

/* The queue is empty: the fast paths may serve everyone again.  A freeing
 * side that still reads `waiting` set takes the lock for nothing. */
static void set_idle(struct ak__gate *g, const struct ak__gate_source *s, void *src)
{
	ak__store(&g->waiting, 0u, AK__RELAXED);
	s->idle(src);
}

struct source_ref {
	struct ak__gate *g;
	const struct ak__gate_source *s;
	void *src;
	struct ak__gate_wait *a;
	uint32_t st;
};

/* Grant-loop pick: what the source has free, up to what the head needs. */
static int pick_free(struct ak__waiter *w, void *arg, uintptr_t *amount)
{
	struct source_ref *r = arg;
	uint64_t got = r->s->take(r->src, w->want - w->granted);
	*amount = got;
	return got != 0;
}

/* Hands what the source has free to the waiters in order (the head
 * accumulates partial grants); clears WAITERS once nobody is left.  Called
 * and returns with the lock held; drops it to wake a full wake list. */
static void grant_locked(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                         struct ak__wakelist *wl)
{
	struct source_ref r = { g, s, src, NULL, 0 };
	ak__waitq_grant_each(&g->q, &g->lock, pick_free, &r, wl);
	if (ak__waitq_empty(&g->q))
		set_idle(g, s, src);
}

/* Under the lock (ak__waitq_wait): a first wait marks the source, fails
 * on a closed one, and queues behind whoever waits, with what is free now
 * serving the queue in order, this wait last.  A queued or granted one
 * keeps its new waker. */
static int park_recheck(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                        struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct source_ref *r = arg;

	(void)drop;
	if (r->st != AK__W_IDLE)
		return AK__WAIT_PARK;
	if (r->s->mark(r->src)) {
		if (ak__waitq_empty(&r->g->q))
			set_idle(r->g, r->s, r->src);
		return AK_EPIPE;
	}
	/* seq_cst: the waiter's half of the handshake in gate.h; take()
	 * below loads the freeing side's publication after it.  In the light
	 * mode the heavy fence orders the freeing side's accesses too. */
	ak__store(&r->g->waiting, 1u, AK__SEQ_CST);
	if (ak__load(&r->g->light, AK__SEQ_CST))
		ak__fence_heavy();
	r->g->parks++;
	w->want = r->a->n;
	ak__waitq_park(&r->g->q, w, clone);
	grant_locked(r->g, r->s, r->src, wl);
	return AK_PENDING;
}

int ak__gate_park(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                  struct ak__gate_wait *a, struct ak_context *cx, uint32_t st)
{
	struct source_ref r = { g, s, src, a, st };
	int rc = ak__waitq_wait(&g->q, &g->lock, &a->w, cx, park_recheck, &r);
	if (rc == AK_ENOMEM) {
		ak__gate_cancel(g, s, src, a);
		return rc;
	}
	if (rc != AK_PENDING)
		return rc;
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

int ak__gate_published(struct ak__gate *g, uint64_t v)
{
	/* seq_cst: as the look in ak__gate_publish_look(), after the store. */
	if (ak__load(&g->waiting, AK__SEQ_CST))
		return 1;
	/* relaxed: only this side writes it. */
	if (ak__load(&g->light, AK__RELAXED) || v - g->calm_from < AK__GATE_CALM)
		return 0;
	/* The calm ran long enough. */
	if (!ak__fence_heavy_ready()) {
		g->calm_from = v;     /* no membarrier(2): look again in a while */
		return 0;
	}
	/* seq_cst: the switch of gate.h, before the light publications. */
	ak__store(&g->light, 1u, AK__SEQ_CST);
	return 0;
}

void ak__gate_grant_freed(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                          uint64_t v)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	if (g->parks != g->parks_seen) {
		/* A new wait since the last look: waits come often in the light
		 * mode, each a membarrier(2), and the seq_cst store is cheaper.
		 * seq_cst: the switch of gate.h. */
		if (v - g->calm_from < AK__GATE_CALM && ak__load(&g->light, AK__RELAXED))
			ak__store(&g->light, 0u, AK__SEQ_CST);
		g->parks_seen = g->parks;
		g->calm_from = v;
	}
	grant_locked(g, s, src, &wl);
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
}

void ak__gate_close(struct ak__gate *g, const struct ak__gate_source *s, void *src)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&g->lock);
	/* Granted short of what it asked: its poll gives back what it holds
	 * and reports AK_EPIPE. */
	ak__waitq_grant_each(&g->q, &g->lock, ak__grant_pick_short, NULL, &wl);
	set_idle(g, s, src);
	ak__unlock(&g->lock);
	ak__wakelist_wake(&wl);
}
