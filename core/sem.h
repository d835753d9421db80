/*
 * core/sem.h: the fair batch semaphore that carries Mutex, RwLock,
 * Semaphore and the bounded mpsc's capacity.  Internal.
 *
 * One atomic word holds the available permits, a CLOSED bit and a WAITERS
 * bit.  While nobody waits, acquire and release are a CAS on the word and
 * take no lock.  The first waiter sets WAITERS under the lock; from then on
 * releases take the lock and hand permits to the waiters in FIFO order — the
 * head accumulates partial grants until it has all it asked for — and only
 * what is left over returns to the word.  So permits are never "available"
 * while someone waits, and try_acquire can never jump the queue.
 *
 *   call                        lock taken                 thread
 *   try_acquire                 never                      any
 *   release, return             only while WAITERS is set  any
 *   acquire_poll                only on the slow path      the op's owner
 *   acquire_cancel              if it ever parked          the op's owner
 *   close                       always                     any
 *   available, is_closed        never                      any
 *
 * Grants are provisional until the owner's poll consumes them; a cancel
 * passes them on to the next waiters (or back to the word).
 *
 * ak__sem_return() adds to the word without looking first, WAITERS or
 * not: while WAITERS is set the word may hold such permits for a moment,
 * until their returner (or anyone under the lock: a park, another return)
 * moves them to the queue.  Nothing takes them meanwhile: the fast paths
 * refuse a word with WAITERS, forget and available see none.
 */
#ifndef AK_CORE_SEM_H
#define AK_CORE_SEM_H

#include <stdint.h>

#include "waitq.h"

/* The most permits a semaphore holds; more is AK_EOVERFLOW, never wrapped. */
#define AK__SEM_MAX (UINT64_MAX >> 3)

struct ak__sem {
	ak__atomic(uint64_t) word;     /* permits << 2 | WAITERS | CLOSED */
	struct ak__lock lock;          /* guards waiters */
	struct ak__waitq waiters;
};

/* An acquire in progress; lives inside an operation. */
struct ak__sem_acquire {
	struct ak__waiter w;
	struct ak__sem *sem;
	uint64_t n;
};

int ak__sem_init(struct ak__sem *s, uint64_t permits);
/* AK_EBUSY while operations wait on it. */
int ak__sem_destroy(struct ak__sem *s);

uint64_t ak__sem_available(struct ak__sem *s);
int ak__sem_is_closed(struct ak__sem *s);
size_t ak__sem_waiting(struct ak__sem *s);

/* The word: permits << AK__SEM_SHIFT | WAITERS | CLOSED. */
#define AK__SEM_CLOSED ((uint64_t)1)
#define AK__SEM_WAITERS ((uint64_t)2)
#define AK__SEM_SHIFT 2

/* The fast paths below are inline: each is a load and a CAS, and a call
 * with its frame and return address costs as much again.  Their slow
 * halves are out of line in sem.c. */

/* 0, AK_EAGAIN (too few, or others wait), AK_EPIPE (closed), AK_EINVAL
 * (n > AK__SEM_MAX). */
static inline int ak__sem_try_acquire(struct ak__sem *s, uint64_t n)
{
	if (n > AK__SEM_MAX)
		return AK_EINVAL;
	/* acquire: pairs with the release CAS/add in ak__sem_release() and
	 * give_locked(), so whatever the releaser did is visible to us. */
	uint64_t w = ak__load(&s->word, AK__ACQUIRE);
	/* With both flags clear, w < n << SHIFT is "fewer than n permits". */
	while (!(w & (AK__SEM_CLOSED | AK__SEM_WAITERS)) && w >= n << AK__SEM_SHIFT) {
		if (ak__cas_weak(&s->word, &w, w - (n << AK__SEM_SHIFT), AK__ACQUIRE, AK__ACQUIRE))
			return 0;
	}
	return w & AK__SEM_CLOSED ? AK_EPIPE : AK_EAGAIN;
}

/* ak__sem_release() once WAITERS is seen set. */
int ak__sem_release_waiters(struct ak__sem *s, uint64_t n);

/* 0, or AK_EOVERFLOW with nothing changed. */
static inline int ak__sem_release(struct ak__sem *s, uint64_t n)
{
	if (n == 0)
		return 0;
	if (n > AK__SEM_MAX)
		return AK_EOVERFLOW;
	uint64_t w = ak__load(&s->word, AK__RELAXED);
	while (!(w & AK__SEM_WAITERS)) {
		/* Both at most AK__SEM_MAX (2^61 - 1): the sum cannot wrap, and
		 * it holds more than the maximum exactly when bit 63 is set. */
		uint64_t next = w + (n << AK__SEM_SHIFT);
		if (next >> 63)
			return AK_EOVERFLOW;
		/* release: pairs with the acquire in ak__sem_try_acquire(). */
		if (ak__cas_weak(&s->word, &w, next, AK__RELEASE, AK__RELAXED))
			return 0;
	}
	return ak__sem_release_waiters(s, n);
}

/* ak__sem_return() once WAITERS was set in the word it added to. */
void ak__sem_return_waiters(struct ak__sem *s);

/*
 * Gives back n permits the caller holds, on a semaphore whose permits, held
 * or not, never pass AK__SEM_MAX: it cannot overflow and cannot fail.  One
 * fetch_add, where ak__sem_release() loads and then CASes: when the other
 * core wrote the word last, the load fetches its line shared and the CAS
 * fetches it again to write (two transfers, and a CAS that fails when the
 * other core wrote in between); the add fetches it once, for writing, and
 * always succeeds.  For a release that expects nobody waiting; a lock's
 * hand-off, which expects waiters, loads first (ak__sem_release()).
 *
 * With WAITERS set the permits land in the word all the same, where no
 * acquire takes them (every fast path refuses a word with WAITERS), and the
 * slow half moves them to the queue under the lock.
 */
static inline void ak__sem_return(struct ak__sem *s, uint64_t n)
{
	/* release: pairs with the acquire in ak__sem_try_acquire(). */
	uint64_t old = ak__fetch_add(&s->word, n << AK__SEM_SHIFT, AK__RELEASE);
	if (__builtin_expect((old & AK__SEM_WAITERS) != 0, 0))
		ak__sem_return_waiters(s);
}

/* Removes up to n available permits; returns how many. */
uint64_t ak__sem_forget(struct ak__sem *s, uint64_t n);
/* Wakes every waiter with AK_EPIPE; later acquires fail.  Idempotent. */
void ak__sem_close(struct ak__sem *s);

/* Binds an acquire of n permits; AK_EINVAL for n > AK__SEM_MAX. */
int ak__sem_acquire_init(struct ak__sem_acquire *a, struct ak__sem *s, uint64_t n);
/* ak__sem_acquire_poll() past its fast path (state st). */
int ak__sem_acquire_poll_slow(struct ak__sem_acquire *a, struct ak_context *cx, uint32_t st);

/* 0 with the permits held, AK_PENDING, AK_EPIPE, AK_ENOMEM. */
static inline int ak__sem_acquire_poll(struct ak__sem_acquire *a, struct ak_context *cx)
{
	uint32_t st = ak__waiter_state(&a->w);
	if (st == AK__W_IDLE) {
		if (ak__coop_check(cx) == AK_PENDING)
			return AK_PENDING;
		int rc = ak__sem_try_acquire(a->sem, a->n);
		if (rc != AK_EAGAIN) {
			if (rc == 0)
				ak__coop_spend(cx);
			return rc;
		}
	}
	return ak__sem_acquire_poll_slow(a, cx, st);
}
/* A parked acquire's poll, inlined where it must stay a leaf: 0 with the
 * grant taken (all n permits: the node idle again), AK_EAGAIN with nothing
 * changed when it is not granted yet or granted short (closed: the full
 * poll, ak__sem_acquire_poll_slow(), settles that). */
static inline int ak__sem_acquire_take_granted(struct ak__sem_acquire *a)
{
	if (ak__waiter_state(&a->w) != AK__W_GRANTED || a->w.granted < a->n)
		return AK_EAGAIN;
	(void)ak__waiter_take(&a->w);
	return 0;
}
/* Gives back whatever was granted meanwhile; a no-op if never parked. */
void ak__sem_acquire_cancel(struct ak__sem_acquire *a);

/* The permits a park found in the word go to the queue, this acquire
 * last (called with the lock held). */
void ak__sem_park_give(struct ak__sem *s, uint64_t n, struct ak__wakelist *wl);
/* A park found granted at once: the grant taken, the budget spent. */
int ak__sem_acquire_took_parked(struct ak__sem_acquire *a, struct ak_context *cx);

/* Under the lock, for an idle acquire (neither queued nor granted, and
 * nothing grants an idle node): raise WAITERS
 * (from here on releases take the lock), fail on a closed semaphore, and
 * queue behind whoever waits, with the permits released before WAITERS was
 * set serving the queue in order, this acquire last.
 *
 * CLOSED is set under the lock, so the load sees it exactly.  While WAITERS
 * is set the word holds no permits (a release gives them to the queue, and
 * a release under the lock returns some only with the queue empty, clearing
 * WAITERS in the same CAS), but for a return's on their way to the queue
 * (sem.h), taken here like any: a park behind other waiters, a lock's
 * convoy, changes nothing in the word and costs no read-modify-write.
 * Otherwise one CAS raises WAITERS and takes the permits. */
static inline __attribute__((always_inline)) int
ak__sem_park_recheck(struct ak__waiter *wt, void *arg, struct ak_waker *clone,
                     struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct ak__sem_acquire *a = arg;
	struct ak__sem *s = a->sem;

	(void)drop;
	uint64_t w = ak__load(&s->word, AK__RELAXED);
	if (w & AK__SEM_CLOSED)
		return AK_EPIPE;
	uint64_t have = 0;
	if (!(w & AK__SEM_WAITERS) || (w >> AK__SEM_SHIFT) != 0) {
		/* acquire: pairs with the release in put_back_locked() and in
		 * ak__sem_release(): the permits taken come with what their
		 * releasers wrote. */
		while (!ak__cas_weak(&s->word, &w, (w & AK__SEM_CLOSED) | AK__SEM_WAITERS, AK__ACQUIRE,
		                     AK__RELAXED))
			;
		have = (w >> AK__SEM_SHIFT);
	}
	wt->want = a->n;
	ak__waitq_park_idle(&s->waiters, wt, clone, 0);
	if (have > 0)
		ak__sem_park_give(s, have, wl);
	return AK_PENDING;
}

/* An acquire's park returned rc: no memory cancels it, a grant that came
 * meanwhile is taken; anything else is rc. */
static inline __attribute__((always_inline)) int ak__sem_acquire_parked(struct ak__sem_acquire *a,
                                                                        struct ak_context *cx, int rc)
{
	if (rc == AK_ENOMEM) {
		ak__sem_acquire_cancel(a);
		return rc;
	}
	if (rc == AK_PENDING && ak__waiter_granted(&a->w))
		return ak__sem_acquire_took_parked(a, cx);
	return rc;
}

/* ak__sem_acquire_poll_slow() of an idle acquire (its try failed): the
 * first park, inline for a lock's poll, whose convoy parks once a lock
 * (one frame fewer, the node's state never read: it is the owner's). */
static inline __attribute__((always_inline)) int ak__sem_acquire_park(struct ak__sem_acquire *a,
                                                                      struct ak_context *cx)
{
	struct ak__sem *s = a->sem;
	return ak__sem_acquire_parked(a, cx,
	                              ak__waitq_wait_inline(&s->waiters, &s->lock, &a->w, cx, ak__sem_park_recheck, a, 1));
}


#endif
