/*
 * runtime/pool_idle.c: the pool's idle and searching workers (see
 * pool_idle.h).
 */
#include "pool_idle.h"

#define IDLE_NOTIFIED 1u
#define SEARCH_ONE 2u
#define SEARCH_MASK (((uint64_t)1 << 21) - SEARCH_ONE)
#define IDLE_ONE ((uint64_t)1 << 21)

int ak__idle_init(struct ak__idle *p, int nworkers)
{
	p->stack = ak__alloc((size_t)nworkers * sizeof(*p->stack));
	p->kicked = ak__alloc((size_t)nworkers * sizeof(*p->kicked));
	if (!p->stack || !p->kicked) {
		ak__free(p->stack);
		ak__free(p->kicked);
		return AK_ENOMEM;
	}
	p->nkicked = 0;
	ak__init(&p->word, (uint64_t)0);
	ak__lock_init(&p->lock);
	p->nidle = 0;
	p->nworkers = nworkers;
	return 0;
}

void ak__idle_destroy(struct ak__idle *p)
{
	ak__free(p->stack);
	p->stack = NULL;
	ak__free(p->kicked);
	p->kicked = NULL;
	ak__lock_destroy(&p->lock);
}

static uint64_t nsearching(uint64_t s)
{
	return (s & SEARCH_MASK) / SEARCH_ONE;
}

/* Unparks an idle worker whose registration the caller claimed; the
 * worker pushed itself under the lock in the same critical section as its
 * CAS, so it is there. */
static void wake_claimed(struct ak__idle *p)
{
	ak__lock(&p->lock);
	struct ak__parker *parker = p->stack[--p->nidle];
	ak__unlock(&p->lock);
	ak__unpark(parker);
}

void ak__idle_notify(struct ak__idle *p)
{
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	uint64_t next;
	for (;;) {
		/* Re-setting a token already set is still a write: it makes our
		 * work visible to the worker that consumes the token. */
		if (nsearching(s) == 0 && s >= IDLE_ONE)
			next = s - IDLE_ONE + SEARCH_ONE;
		else
			next = s | IDLE_NOTIFIED;
		/* release: pairs with the acquire of ak__idle_go() and of
		 * ak__idle_end_search() that read the token, so they (and the
		 * worker they wake) see the work queued before.  acquire:
		 * pairs with their release; nothing rides on it but keeping
		 * the word's read-modify-writes symmetric. */
		if (ak__cas_weak(&p->word, &s, next, AK__ACQ_REL, AK__RELAXED))
			break;
	}
	if (next < s)
		wake_claimed(p);
}

/* A missed wake here costs parallelism, never progress. */
void ak__idle_notify_local(struct ak__idle *p)
{
	/* Relaxed: a heuristic; ak__idle_notify() decides with its CAS. */
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	if (s >= IDLE_ONE && nsearching(s) == 0)
		ak__idle_notify(p);
}

/* The index of parker in list[0..n), or -1. */
static int find(struct ak__parker **list, int n, const struct ak__parker *parker)
{
	for (int i = 0; i < n; i++)
		if (list[i] == parker)
			return i;
	return -1;
}

static void remove_at(struct ak__parker **list, int *n, int i)
{
	for (--*n; i < *n; i++)
		list[i] = list[i + 1];
}

/* Takes the registration at stack[i] out of the idle count, as a claim
 * does (add: SEARCH_ONE when it wakes searching), and off the stack: 0
 * when every registration left is claimed already, so that every entry of
 * the stack, this one included, is about to be woken.  Under the lock. */
static int unregister(struct ak__idle *p, int i, uint64_t add)
{
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	while (s >= IDLE_ONE) {
		/* acq_rel: as the claim of ak__idle_notify(). */
		if (ak__cas_weak(&p->word, &s, s - IDLE_ONE + add,
		                 AK__ACQ_REL, AK__RELAXED)) {
			remove_at(p->stack, &p->nidle, i);
			return 1;
		}
	}
	return 0;
}

void ak__idle_kick(struct ak__idle *p, struct ak__parker *parker)
{
	int wake = 0;

	ak__lock(&p->lock);
	int i = find(p->stack, p->nidle, parker);
	if (i < 0) {
		if (find(p->kicked, p->nkicked, parker) < 0)
			p->kicked[p->nkicked++] = parker;
	} else {
		/* Registered: claim it, as ak__idle_notify() claims one, but
		 * this one. */
		wake = unregister(p, i, SEARCH_ONE);
	}
	ak__unlock(&p->lock);
	if (wake)
		ak__unpark(parker);
}

int ak__idle_leave(struct ak__idle *p, struct ak__parker *parker)
{
	ak__lock(&p->lock);
	int i = find(p->stack, p->nidle, parker);
	int left = i >= 0 && unregister(p, i, 0);
	ak__unlock(&p->lock);
	return left;
}

int ak__idle_count(struct ak__idle *p)
{
	/* Relaxed: a snapshot for a heuristic. */
	return (int)(ak__load(&p->word, AK__RELAXED) / IDLE_ONE);
}

int ak__idle_start_search(struct ak__idle *p, int *searching)
{
	if (*searching)
		return 1;
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	do {
		uint64_t awake = (uint64_t)p->nworkers - s / IDLE_ONE;
		if (2 * nsearching(s) >= awake)
			return 0;
		/* Relaxed: a searcher's count only makes notifiers leave the
		 * token; the token's CASes order the work (see
		 * ak__idle_notify()). */
	} while (!ak__cas_weak(&p->word, &s, s + SEARCH_ONE, AK__RELAXED, AK__RELAXED));
	*searching = 1;
	return 1;
}

/* A searcher found work.  The last one wakes another worker to go on
 * searching when work may remain (the token, or `more`). */
void ak__idle_end_search(struct ak__idle *p, int *searching, int more)
{
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	uint64_t next;
	int claim;

	*searching = 0;
	for (;;) {
		next = s - SEARCH_ONE;
		claim = nsearching(next) == 0 && next >= IDLE_ONE &&
		        ((s & IDLE_NOTIFIED) || more);
		if (claim)
			next = (next & ~(uint64_t)IDLE_NOTIFIED) - IDLE_ONE + SEARCH_ONE;
		/* acq_rel: acquire pairs with the release in ak__idle_notify()
		 * (the token's work is visible to the worker we wake, through
		 * its unpark); release, with ak__idle_go()'s acquire. */
		if (ak__cas_weak(&p->word, &s, next, AK__ACQ_REL, AK__RELAXED))
			break;
	}
	if (claim)
		wake_claimed(p);
}

int ak__idle_go(struct ak__idle *p, struct ak__parker *parker, int *searching)
{
	int registered = 0;
	uint64_t mine = *searching ? SEARCH_ONE : 0;

	ak__lock(&p->lock);
	int kick = p->nkicked ? find(p->kicked, p->nkicked, parker) : -1;
	if (kick >= 0)
		remove_at(p->kicked, &p->nkicked, kick);
	uint64_t s = ak__load(&p->word, AK__RELAXED);
	for (;;) {
		if (kick >= 0) {
			/* A kick: search again, as with a token.  Relaxed: the
			 * lock orders us after the kick and the push before it. */
			if (ak__cas_weak(&p->word, &s, s + SEARCH_ONE - mine,
			                 AK__RELAXED, AK__RELAXED)) {
				*searching = 1;
				break;
			}
		} else if (s & IDLE_NOTIFIED) {
			uint64_t next = (s & ~(uint64_t)IDLE_NOTIFIED) + SEARCH_ONE - mine;
			/* acquire: pairs with the release in ak__idle_notify(). */
			if (ak__cas_weak(&p->word, &s, next, AK__ACQ_REL, AK__RELAXED)) {
				*searching = 1;
				break;
			}
		} else if (ak__cas_weak(&p->word, &s, s + IDLE_ONE - mine,
		                        AK__ACQ_REL, AK__RELAXED)) {
			/* What a claiming notifier needs of us (the stack entry)
			 * is ordered by the lock; what we need of it comes
			 * through the unpark. */
			p->stack[p->nidle++] = parker;
			*searching = 0;
			registered = 1;
			break;
		}
	}
	ak__unlock(&p->lock);
	return registered;
}

