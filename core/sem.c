/* core/sem.c: the fair batch semaphore.  See sem.h. */
#include "sem.h"

#define CLOSED AK__SEM_CLOSED
#define WAITERS AK__SEM_WAITERS
#define SHIFT AK__SEM_SHIFT

static uint64_t permits_of(uint64_t word)
{
	return word >> SHIFT;
}

int ak__sem_init(struct ak__sem *s, uint64_t permits)
{
	if (permits > AK__SEM_MAX)
		return AK_EOVERFLOW;
	ak__init(&s->word, permits << SHIFT);
	ak__lock_init(&s->lock);
	ak__waitq_init(&s->waiters);
	return 0;
}

int ak__sem_destroy(struct ak__sem *s)
{
	ak__lock(&s->lock);
	int busy = !ak__waitq_empty(&s->waiters);
	ak__unlock(&s->lock);
	if (busy)
		return AK_EBUSY;
	ak__lock_destroy(&s->lock);
	return 0;
}

/* With WAITERS set, permits in the word are a return's on their way to the
 * queue (sem.h): none is available. */
static uint64_t free_permits(uint64_t word)
{
	return word & WAITERS ? 0 : permits_of(word);
}

uint64_t ak__sem_available(struct ak__sem *s)
{
	return free_permits(ak__load(&s->word, AK__RELAXED));
}

int ak__sem_is_closed(struct ak__sem *s)
{
	return (ak__load(&s->word, AK__ACQUIRE) & CLOSED) != 0;
}

size_t ak__sem_waiting(struct ak__sem *s)
{
	ak__lock(&s->lock);
	size_t n = s->waiters.len;
	ak__unlock(&s->lock);
	return n;
}

/* Returns n permits to the word, clearing WAITERS when nobody waits.  With
 * nothing to return and the queue still holding waiters the word stays as
 * it is: no read-modify-write (a hand-off to the head, the lock's case). */
static void put_back_locked(struct ak__sem *s, uint64_t n)
{
	int none = ak__waitq_empty(&s->waiters);
	if (n == 0 && !none)
		return;
	uint64_t w = ak__load(&s->word, AK__RELAXED);
	uint64_t next;
	do {
		next = w + (n << SHIFT);
		if (none)
			next &= ~WAITERS;
		/* release: pairs with the acquire in ak__sem_try_acquire(). */
	} while (!ak__cas_weak(&s->word, &w, next, AK__RELEASE, AK__RELAXED));
}

/* Grant-loop pick: as much of *left as the head still needs. */
static int pick_permits(struct ak__waiter *w, void *arg, uintptr_t *amount)
{
	uint64_t *left = arg;
	if (*left == 0)
		return 0;
	uint64_t need = w->want - w->granted;
	*amount = need < *left ? need : *left;
	*left -= *amount;
	return 1;
}

/* Hands n permits to the waiters in order, the rest to the word.  Called and
 * returns with the lock held; drops it to wake a full wake list. */
static void give_locked(struct ak__sem *s, uint64_t n, struct ak__wakelist *wl)
{
	ak__waitq_grant_each(&s->waiters, &s->lock, pick_permits, &n, wl);
	put_back_locked(s, n);
}


/* The release's general case, called with the lock held (the head does
 * not need exactly n): the permits go to the waiters in order, the rest to
 * the word.  Returns with the lock released. */
static __attribute__((noinline)) int release_give(struct ak__sem *s, uint64_t n)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	if (permits_of(ak__load(&s->word, AK__RELAXED)) > AK__SEM_MAX - n) {
		ak__unlock(&s->lock);
		return AK_EOVERFLOW;
	}
	give_locked(s, n, &wl);
	ak__unlock(&s->lock);
	ak__wakelist_wake(&wl);
	return 0;
}

/* The release's slow half: permits go to the waiters under the lock.  Its
 * common case, a lock's hand-off, keeps no wake list: the one waker is
 * woken after the unlock, then 0 is returned. */
int ak__sem_release_waiters(struct ak__sem *s, uint64_t n)
{
	ak__lock(&s->lock);
	struct ak__waiter *h = ak__waitq_head(&s->waiters);
	if (!h || h->want - h->granted != n)
		return release_give(s, n);
	/* The head needs exactly these (a lock's hand-off): it takes them
	 * all, and a queue left holding waiters leaves the word as it is;
	 * give_locked() would come to the same.  Nothing is added to the
	 * word, so no overflow to check. */
	h->granted = h->want;
	struct ak_waker k = ak__waitq_complete_head(&s->waiters);
	put_back_locked(s, 0);
	ak__unlock(&s->lock);
	ak__waker_wake_kept(&k);
	return 0;
}

/* A return found WAITERS set (sem.h).  Under the lock, whatever permits the
 * word holds while WAITERS is still set go to the queue: this return's,
 * unless a park or another return's sweep took them first (then the word
 * holds none, or only later returns', whose returners are on their way
 * here).  WAITERS cleared meanwhile means the queue emptied and the
 * permits are simply available. */
void ak__sem_return_waiters(struct ak__sem *s)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&s->lock);
	uint64_t w = ak__load(&s->word, AK__RELAXED);
	uint64_t have = 0;
	/* WAITERS changes only under the lock: the loop retries on adds.
	 * acquire: pairs with the returns' release add, so the permits handed
	 * on come with what their returners wrote. */
	while ((w & WAITERS) && permits_of(w) != 0) {
		if (ak__cas_weak(&s->word, &w, w & (CLOSED | WAITERS), AK__ACQUIRE, AK__RELAXED)) {
			have = permits_of(w);
			break;
		}
	}
	if (have > 0)
		give_locked(s, have, &wl);
	ak__unlock(&s->lock);
	ak__wakelist_wake(&wl);
}

uint64_t ak__sem_forget(struct ak__sem *s, uint64_t n)
{
	uint64_t w = ak__load(&s->word, AK__RELAXED);
	uint64_t take;
	do {
		take = free_permits(w) < n ? free_permits(w) : n;
	} while (!ak__cas_weak(&s->word, &w, w - (take << SHIFT), AK__RELAXED, AK__RELAXED));
	return take;
}

void ak__sem_close(struct ak__sem *s)
{
	struct ak__wakelist wl;

	ak__wakelist_init(&wl);
	ak__lock(&s->lock);
	ak__fetch_or(&s->word, CLOSED, AK__RELEASE);
	ak__waitq_grant_each(&s->waiters, &s->lock, ak__grant_pick_short, NULL, &wl);
	ak__fetch_and(&s->word, ~WAITERS, AK__RELAXED);
	ak__unlock(&s->lock);
	ak__wakelist_wake(&wl);
}

int ak__sem_acquire_init(struct ak__sem_acquire *a, struct ak__sem *s, uint64_t n)
{
	if (n > AK__SEM_MAX)
		return AK_EINVAL;
	/* An idle node's other fields are written when it parks: nothing reads
	 * them before (stores saved here are the fast path's cost). */
	ak__init(&a->w.state, AK__W_IDLE);
	a->sem = s;
	a->n = n;
	return 0;
}

/* The owner consumes its grant: all it asked for, or less when closed. */
static int take_grant(struct ak__sem_acquire *a)
{
	uint64_t got = ak__waiter_take(&a->w);
	if (got >= a->n)
		return 0;
	if (got > 0)
		ak__sem_release(a->sem, got);   /* closed: keeps the count honest */
	return AK_EPIPE;
}

void ak__sem_park_give(struct ak__sem *s, uint64_t n, struct ak__wakelist *wl)
{
	give_locked(s, n, wl);
}

int ak__sem_acquire_took_parked(struct ak__sem_acquire *a, struct ak_context *cx)
{
	int rc = take_grant(a);
	if (rc == 0)
		ak__coop_spend(cx);
	return rc;
}

int ak__sem_acquire_poll_slow(struct ak__sem_acquire *a, struct ak_context *cx, uint32_t st)
{
	struct ak__sem *s = a->sem;

	if (st == AK__W_GRANTED)
		return take_grant(a);
	/* A first park (a lock's convoy: one a lock) runs the kernel inline
	 * with its recheck; a queued acquire's waker swap is rare. */
	if (st == AK__W_IDLE)
		return ak__sem_acquire_park(a, cx);
	return ak__sem_acquire_parked(a, cx, ak__waitq_wait(&s->waiters, &s->lock, &a->w, cx, NULL, a));
}

void ak__sem_acquire_cancel(struct ak__sem_acquire *a)
{
	struct ak__sem *s = a->sem;
	if (!s || ak__load(&a->w.state, AK__RELAXED) == AK__W_IDLE)
		return;
	struct ak__wakelist wl;
	struct ak_waker drop;
	ak__wakelist_init(&wl);
	ak__lock(&s->lock);
	uint64_t given = ak__waitq_cancel(&s->waiters, &a->w, &drop);
	give_locked(s, given, &wl);
	ak__unlock(&s->lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&drop);
}
