/*
 * runtime/pool_spin.c: the pool's idle policy: how a worker with nothing
 * of its own spins, watches and parks (see pool_worker.h).
 */
#include <awaitkit/block_on.h>

#include "pool_worker.h"

/* The other worker a spin step of w looks at: a different one each step,
 * so that a step reads two lines (the injection queue's and that worker's)
 * whatever the worker count; NULL on a pool of one. */
static struct worker *spin_victim(struct worker *w, int step)
{
	struct ak_pool *p = w->pool;
	int n = p->nworkers;
	if (n < 2)
		return NULL;
	return &p->workers[(w->index + 1 + step % (n - 1)) % n];
}

/* A worker whose LIFO slot is taken and that has not begun a poll since
 * *ticks was read; NULL if none. */
static struct worker *lifo_holder(struct worker *w, uint32_t *ticks)
{
	struct ak_pool *p = w->pool;
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *v = &p->workers[i];
		/* Relaxed: peeks; ak__pool_take_lifo() decides. */
		if (v != w && ak__load(&v->lifo, AK__RELAXED)) {
			*ticks = ak__load(&v->ticks, AK__RELAXED);
			return v;
		}
	}
	return NULL;
}

/* See pool_worker.h.  A lone queued task is left to its worker (see
 * AK__POOL_STEAL_AT_ONCE); a LIFO slot whose worker began no poll during
 * the whole spin is held hostage by a long poll. */
int ak__pool_spin(struct worker *w, struct ak_task **t)
{
	struct ak_pool *p = w->pool;
	uint32_t ticks = 0;
	struct worker *holder = lifo_holder(w, &ticks);

	for (int i = 0; i < p->idle_spins; i++) {
		struct worker *v = spin_victim(w, i);
		if (!ak__injq_empty(&p->inject) ||
		    (v && ak__runq_len(&v->runq) >= AK__POOL_STEAL_AT_ONCE) ||
		    ak__pinq_len(&w->pinq) > 0 ||
		    ak__load(&p->stopping, AK__RELAXED))
			return 1;
		/* A slot taken during the spin gets a whole spin too.
		 * Relaxed: a peek, as in lifo_holder(). */
		if (!holder && v && ak__load(&v->lifo, AK__RELAXED)) {
			holder = v;
			ticks = ak__load(&v->ticks, AK__RELAXED);
			i = 0;
		}
		ak__cpu_relax();
	}
	/* The spin ends.  A task still queued on another worker is left to
	 * it: w rests, as the watcher if none is.  Where no watcher can be
	 * (no heavy fence), the task is taken rather than parked past (here:
	 * search() leaves a lone one). */
	if (!ak__fence_heavy_ready())
		for (int k = 0; k < p->nworkers; k++)
			if (&p->workers[k] != w &&
			    (*t = ak__runq_steal(&p->workers[k].runq, &w->runq)) != NULL)
				return 1;
	/* Relaxed: the ticks are a clock, ordered with nothing. */
	if (holder && ak__load(&holder->ticks, AK__RELAXED) == ticks &&
	    (*t = ak__pool_take_lifo(holder)) != NULL)
		return 1;
	return 0;
}

/* ---- the watcher ---------------------------------------------------------------- */

/* A task pushed out onto a queue of AK__POOL_STEAL_AT_ONCE wakes a parked
 * worker unless a watcher will see it (pool_worker.h); a lone one is left
 * to w, as a searcher or spinner leaves it: it runs in a moment on the
 * core where its data is (bench/README: select_2chan). */
int ak__pool_pushed_out_notifies(struct worker *w)
{
	if (ak__runq_len(&w->runq) < AK__POOL_STEAL_AT_ONCE)
		return 0;
	/* The pusher's half of the Dekker pair of pool_worker.h: the push
	 * (its release store of the tail) before the load of the flag; the
	 * watcher's heavy fence stands for the full fence here. */
	ak__fence_light();
	return !ak__load(&w->pool->watching, AK__RELAXED);
}

/* Whether another worker has a task queued or in its LIFO slot. */
static int queued_elsewhere(struct worker *w)
{
	struct ak_pool *p = w->pool;
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *v = &p->workers[i];
		/* Relaxed: peeks, as in lifo_holder(). */
		if (v != w && (ak__runq_len(&v->runq) > 0 ||
		               ak__load(&v->lifo, AK__RELAXED)))
			return 1;
	}
	return 0;
}

/* Looks at every other worker: the first whose work waited since the last
 * look (a queue entry older than the mark; a LIFO slot while its worker
 * began no poll), or NULL after moving every mark on.  *busy: one of them
 * holds work. */
static struct worker *look(struct worker *w, int *busy)
{
	struct ak_pool *p = w->pool;
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *v = &p->workers[i];
		if (v == w)
			continue;
		/* Relaxed: a clock and peeks; the steal decides. */
		uint32_t ticks = ak__load(&v->ticks, AK__RELAXED);
		int queued = ak__runq_len(&v->runq) > 0;
		int held = ak__load(&v->lifo, AK__RELAXED) != NULL;
		if ((queued && ak__runq_holds_before(&v->runq, v->watch_mark)) ||
		    (held && ticks == v->watch_ticks))
			return v;
		*busy |= queued || held;
		v->watch_mark = ak__runq_tail(&v->runq);
		v->watch_ticks = ticks;
	}
	return NULL;
}

/* w becomes the watcher when another worker is awake or holds work and
 * no worker watches: 1 if it did. */
static int start_watch(struct worker *w)
{
	struct ak_pool *p = w->pool;
	uint32_t none = 0;

	if (p->nworkers < 2 || !ak__fence_heavy_ready() ||
	    (ak__idle_count(&p->idle) >= p->nworkers - 1 && !queued_elsewhere(w)))
		return 0;
	/* acq_rel: the marks of the last watcher before ours. */
	if (!ak__cas(&p->watching, &none, 1u, AK__ACQ_REL, AK__RELAXED))
		return 0;
	for (int i = 0; i < p->nworkers; i++) {
		struct worker *v = &p->workers[i];
		v->watch_mark = ak__runq_tail(&v->runq);
		/* Relaxed: a clock. */
		v->watch_ticks = ak__load(&v->ticks, AK__RELAXED);
	}
	return 1;
}

/* The watcher saw every worker idle and nothing queued: it stops, unless
 * work was queued meanwhile.  1 if it still watches. */
static int still_watching(struct worker *w)
{
	struct ak_pool *p = w->pool;

	/* seq_cst, then the heavy fence: the watcher's half of the Dekker
	 * pair of pool_worker.h, before the look at the queues. */
	ak__store(&p->watching, 0u, AK__SEQ_CST);
	ak__fence_heavy();
	return queued_elsewhere(w) && start_watch(w);
}

/* The watcher stops to run work: tasks queued while it watched woke
 * nobody, so it passes them on. */
static void stop_watch(struct worker *w)
{
	struct ak_pool *p = w->pool;

	/* release: pairs with the acquire of the next watcher's CAS. */
	ak__store(&p->watching, 0u, AK__RELEASE);
	if (queued_elsewhere(w))
		ak__idle_notify_local(&p->idle);
}

/* The watcher takes v's work that waited (it is registered idle still). */
static struct ak_task *take_waited(struct worker *w, struct worker *v)
{
	struct ak_pool *p = w->pool;

	if (!ak__idle_leave(&p->idle, &w->parker)) {
		/* Claimed meanwhile: the unpark is on its way. */
		ak__park(&w->parker, AK_DEADLINE_NEVER);
		w->searching = 1;
	}
	struct ak_task *t = ak__runq_steal(&v->runq, &w->runq);
	return t ? t : ak__pool_take_lifo(v);
}

struct ak_task *ak__pool_rest(struct worker *w)
{
	struct ak_pool *p = w->pool;
	int watching = start_watch(w);
	struct ak_task *t = NULL;

	/* 0: a token or a kick; w searches again. */
	if (ak__idle_go(&p->idle, &w->parker, &w->searching)) {
		for (;;) {
			int64_t deadline = watching ? ak_deadline_in(AK__POOL_WATCH_NS)
			                            : AK_DEADLINE_NEVER;
			if (ak__park(&w->parker, deadline) == 0) {
				w->searching = 1;       /* a claim woke it */
				break;
			}
			int busy = 0;
			struct worker *v = look(w, &busy);
			if (v) {
				t = take_waited(w, v);
				break;
			}
			/* Registered idle itself: the count includes w. */
			if (!busy && ak__idle_count(&p->idle) >= p->nworkers)
				watching = still_watching(w);
		}
	}
	if (watching)
		stop_watch(w);
	return t;
}
