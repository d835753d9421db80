/*
 * runtime/timer.c: the sleep operation and the timer thread that wakes it.
 *
 * Pending sleeps live in one binary min-heap per process, ordered by
 * (deadline, registration order), so equal deadlines fire in the order they
 * were registered.  A heap slot holds everything the timer needs — the
 * deadline, the order, the waker clone and a pointer to the operation —
 * and the operation stores its slot's index, so registering, firing and
 * cancelling a sleep are each O(log n).  The slot array is static for the
 * first HEAP_STATIC sleeps and grows by doubling through ak__alloc beyond
 * that; it goes back to the static slots when no sleep is pending, so a
 * quiet process holds no allocation (ak_debug_counters() returns to its
 * baseline).  A sleep itself never allocates.
 *
 * One timer thread per process, started under the timer lock by the first
 * sleep that has to wait.  It sleeps on the futex word `kick` until the
 * earliest deadline; a registration that becomes the new earliest bumps
 * `kick` and wakes it.  It takes the due slots out under the lock and
 * wakes their wakers after unlocking (never a waker call under a library
 * lock).
 *
 * Fork (ak__timer_*_fork, called by the hooks in runtime/fork.c): only the
 * forking thread survives in the child, and glibc recycles the stacks of
 * the others for the child's new threads, so the child must never touch an
 * operation it inherited: it may live on such a stack.  The slots carry
 * the wakers for that reason.  The child turns every inherited slot into an
 * orphan (no operation, due at once) and bumps `gen`; the operations keep
 * their stale generation, which makes them unregistered in the child's
 * eyes.  The child's timer thread wakes the orphans, and a task of the
 * forking thread that polls its sleep again registers it afresh.
 *
 *   field                        guarded by
 *   heap, n, cap, next_seq,      the timer lock
 *   running, forking, waiting,
 *   wait_until
 *   gen                          written only in the child hook, when the
 *                                child has one thread; read by owners
 *   kick                         changed under the lock; the thread's
 *                                futex word
 *   starting                     set under the lock by start_thread,
 *                                cleared by the new thread (release)
 *   firing                       set by the timer thread under the lock,
 *                                cleared outside it
 *   sleep_priv.index             the timer lock while the op is QUEUED
 *   sleep_priv.gen               written by the owner under the lock
 *   sleep_priv.deadline, .seen   the owner
 *   sleep_priv.state             the owner, or the timer under the lock
 *                                (QUEUED -> FIRED, release)
 */
#include <errno.h>
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/timer.h>

#include "../core/core.h"
#include "thread.h"
#include "timer.h"
#include "../core/waitq.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_SLEEP, struct ak_sleep_op);

enum {
	S_IDLE = 0,     /* not registered: the owner's alone */
	S_QUEUED = 1,   /* in the heap (if its gen is current) */
	S_FIRED = 2,    /* the timer took it out and woke (or is waking) it */
	S_NEVER = 3     /* AK_DEADLINE_NEVER: pending, registered nowhere */
};

#define NO_INDEX SIZE_MAX

struct sleep_priv {
	int64_t deadline;
	size_t index;
	uint64_t gen;               /* the timer generation it registered in */
	struct ak_waker seen;       /* owner only: identity of the kept clone */
	ak__atomic(uint32_t) state; /* S_* */
};
_Static_assert(sizeof(struct sleep_priv) <= sizeof(((struct ak_sleep_op *)0)->private_),
               "sleep op storage too small");

struct slot {
	int64_t deadline;
	uint64_t seq;
	struct sleep_priv *op;      /* NULL for an orphan inherited by a fork */
	struct ak_waker waker;      /* a clone the library keeps */
};

/* Sleeps that fit before the heap allocates. */
#define HEAP_STATIC 64

static struct timer {
	struct ak__lock lock;
	struct slot *heap;          /* static_slots, or an ak__alloc'd array */
	size_t n, cap;
	uint64_t next_seq;
	uint64_t gen;
	int running;                /* a timer thread exists in this process */
	int forking;                /* between the prepare and parent hooks */
	int waiting;                /* the thread sleeps on kick ... */
	int64_t wait_until;         /* ... until this deadline */
	ak__atomic(uint32_t) kick;
	ak__atomic(uint32_t) firing; /* 1 while it wakes a batch unlocked */
	ak__atomic(uint32_t) starting; /* 1 until a new thread runs timer_main */
	struct slot static_slots[HEAP_STATIC];
} T = {
	.lock = AK__LOCK_INITIALIZER,
	.heap = T.static_slots,
	.cap = HEAP_STATIC,
};

static struct sleep_priv *priv_of(struct ak_future *f)
{
	return (struct sleep_priv *)(void *)&((struct ak_sleep_op *)(void *)f)->private_;
}

static void waker_clear(struct ak_waker *w)
{
	w->data = NULL;
	w->vtable = NULL;
}

/* ---- the heap (timer lock held) -------------------------------------------- */

static int before(const struct slot *a, const struct slot *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(size_t i, const struct slot *sl)
{
	T.heap[i] = *sl;
	if (sl->op)
		sl->op->index = i;
}

static void sift_up(size_t i)
{
	struct slot sl = T.heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(&sl, &T.heap[parent]))
			break;
		heap_set(i, &T.heap[parent]);
		i = parent;
	}
	heap_set(i, &sl);
}

static void sift_down(size_t i)
{
	struct slot sl = T.heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= T.n)
			break;
		if (c + 1 < T.n && before(&T.heap[c + 1], &T.heap[c]))
			c++;
		if (!before(&T.heap[c], &sl))
			break;
		heap_set(i, &T.heap[c]);
		i = c;
	}
	heap_set(i, &sl);
}

static int heap_grow(void)
{
	if (T.cap > SIZE_MAX / 2 / sizeof(*T.heap))
		return AK_ENOMEM;
	size_t cap = T.cap * 2;
	struct slot *slots = ak__alloc(cap * sizeof(*slots));
	if (!slots)
		return AK_ENOMEM;
	memcpy(slots, T.heap, T.n * sizeof(*slots));
	if (T.heap != T.static_slots)
		ak__free(T.heap);
	T.heap = slots;
	T.cap = cap;
	return 0;
}

/* Registers op with its waker clone: 0, or AK_ENOMEM with nothing kept. */
static int heap_insert(struct sleep_priv *op, const struct ak_waker *waker)
{
	if (T.n == T.cap && heap_grow() != 0)
		return AK_ENOMEM;
	struct slot sl = { op->deadline, T.next_seq++, op, *waker };
	size_t i = T.n++;
	heap_set(i, &sl);
	sift_up(i);
	ak__count_parked(1);
	return 0;
}

/* Takes slot i out of the heap; returns its waker clone. */
static struct ak_waker heap_remove(size_t i)
{
	struct slot gone = T.heap[i];

	if (gone.op)
		gone.op->index = NO_INDEX;
	if (i != --T.n) {
		heap_set(i, &T.heap[T.n]);
		if (i > 0 && before(&T.heap[i], &T.heap[(i - 1) / 2]))
			sift_up(i);
		else
			sift_down(i);
	}
	ak__count_parked(-1);
	if (T.n == 0 && T.heap != T.static_slots) {
		ak__free(T.heap);
		T.heap = T.static_slots;
		T.cap = HEAP_STATIC;
	}
	return gone.waker;
}

/* ---- the timer thread -------------------------------------------------------- */

/* Takes the due slots out of the heap and their wakers into wl. */
static void collect_due(struct ak__wakelist *wl, int64_t now)
{
	while (T.n > 0 && T.heap[0].deadline <= now && !ak__wakelist_full(wl)) {
		struct sleep_priv *op = T.heap[0].op;
		wl->w[wl->n++] = heap_remove(0);
		/* release: pairs with the acquire loads of state in sleep_poll()
		 * and settle(); after this store the op is its owner's again and
		 * the timer never touches it. */
		if (op)
			ak__store(&op->state, S_FIRED, AK__RELEASE);
	}
}

static void *timer_main(void *arg)
{
	struct ak__wakelist wl;

	(void)arg;
	/* release: pairs with the acquire in ak__timer_before_fork(): the
	 * thread library and a sanitizer runtime are done starting us. */
	ak__store(&T.starting, 0, AK__RELEASE);
	ak__futex_wake(&T.starting, INT32_MAX);
	ak__lock(&T.lock);
	for (;;) {
		ak__wakelist_init(&wl);
		/* While a fork is being prepared, no new batch: the prepare
		 * hook waits for the current one and must not wait forever. */
		if (!T.forking)
			collect_due(&wl, ak_now());
		if (wl.n > 0) {
			/* Set under the lock: a fork that holds the lock and reads
			 * 0 knows no wake is in flight. */
			ak__store(&T.firing, 1, AK__RELAXED);
			ak__unlock(&T.lock);
			ak__wakelist_wake(&wl);
			/* release: pairs with the acquire in ak__timer_before_fork(),
			 * which waits for the batch before letting a fork go on. */
			ak__store(&T.firing, 0, AK__RELEASE);
			ak__futex_wake(&T.firing, 1);
			ak__lock(&T.lock);
			continue;
		}
		int64_t next = AK_DEADLINE_NEVER;
		if (T.n > 0 && !T.forking)
			next = T.heap[0].deadline;
		/* kick only changes under the lock: a registration after we
		 * unlock makes the futex wait return at once. */
		uint32_t seen = ak__load(&T.kick, AK__RELAXED);
		T.waiting = 1;
		T.wait_until = next;
		ak__unlock(&T.lock);
		ak__futex_wait(&T.kick, seen, next);
		ak__lock(&T.lock);
		T.waiting = 0;
	}
	return NULL;
}

/* A thread is being born: the fork hook waits for it (see the fork hook). */
static void mark_starting(void)
{
	ak__store(&T.starting, 1, AK__RELAXED);
}

static void unmark_starting(void)
{
	ak__store(&T.starting, 0, AK__RELAXED);
}

/* Starts the timer thread (timer lock held): 0 or AK_ENOMEM. */
static int start_thread(void)
{
	int rc = ak__thread_start(timer_main, "ak-timer", mark_starting, unmark_starting);
	if (rc == 0)
		T.running = 1;
	return rc;
}

/* Wakes the thread if it sleeps past `deadline` (lock held); 1 if the
 * caller must futex-wake it after unlocking. */
static int kick_for(int64_t deadline)
{
	if (!T.waiting || deadline >= T.wait_until)
		return 0;
	T.waiting = 0;
	ak__fetch_add(&T.kick, 1, AK__RELAXED);
	return 1;
}

/* ---- the sleep operation ------------------------------------------------------ */

/* In the heap of this process (lock held, or the owner's fast path: gen
 * only changes while the child has a single thread). */
static int registered(const struct sleep_priv *s, uint32_t st)
{
	return st == S_QUEUED && s->gen == T.gen;
}

/* Unregisters s (dropping its clone after unlocking) and makes it idle. */
static void settle(struct sleep_priv *s)
{
	struct ak_waker drop = { NULL, NULL };
	/* acquire: pairs with the release store of S_FIRED in collect_due(). */
	uint32_t st = ak__load(&s->state, AK__ACQUIRE);

	if (st == S_QUEUED) {
		ak__lock(&T.lock);
		if (registered(s, ak__load(&s->state, AK__RELAXED)))
			drop = heap_remove(s->index);
		ak__unlock(&T.lock);
	}
	waker_clear(&s->seen);
	ak__store(&s->state, S_IDLE, AK__RELAXED);
	ak__waker_drop_kept(&drop);
}

/* 0 if the timer fired meanwhile, AK_PENDING registered, or an error with
 * nothing left registered. */
static int park(struct sleep_priv *s, struct ak_context *cx)
{
	struct ak_waker clone = { NULL, NULL };
	uint32_t st = ak__load(&s->state, AK__RELAXED);
	int kick = 0;

	if (s->deadline == AK_DEADLINE_NEVER) {
		/* Nothing can ever wake it: no clone, no registration. */
		ak__store(&s->state, S_NEVER, AK__RELAXED);
		return AK_PENDING;
	}
	if (registered(s, st) && ak__waker_same(&s->seen, &cx->waker))
		return AK_PENDING;
	/* Cloned before taking the lock (DESIGN.md section 1). */
	int rc = ak__waker_keep(&cx->waker, &clone);
	if (rc != 0) {
		settle(s);
		return rc;
	}
	ak__lock(&T.lock);
	st = ak__load(&s->state, AK__RELAXED);
	if (st == S_FIRED) {
		rc = 0;
	} else if (registered(s, st)) {
		/* Another task polls it now: keep the new waker, drop the old. */
		struct ak_waker old = T.heap[s->index].waker;
		T.heap[s->index].waker = clone;
		s->seen = clone;
		clone = old;
		rc = AK_PENDING;
	} else {
		/* Idle, or registered before a fork in the parent's heap. */
		rc = T.running ? 0 : start_thread();
		if (rc == 0)
			rc = heap_insert(s, &clone);
		if (rc == 0) {
			s->gen = T.gen;
			s->seen = clone;
			waker_clear(&clone);
			ak__store(&s->state, S_QUEUED, AK__RELAXED);
			kick = kick_for(s->deadline);
			rc = AK_PENDING;
		} else {
			ak__store(&s->state, S_IDLE, AK__RELAXED);
		}
	}
	ak__unlock(&T.lock);
	if (kick)
		ak__futex_wake(&T.kick, 1);
	ak__waker_drop_kept(&clone);
	return rc;
}

static int sleep_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleep_priv *s = priv_of(f);

	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	/* acquire: pairs with the release store of S_FIRED in collect_due(). */
	uint32_t st = ak__load(&s->state, AK__ACQUIRE);
	int rc = 0;
	if (st != S_FIRED && ak_now() < s->deadline)
		rc = park(s, cx);
	if (rc == 0) {
		settle(s);
		ak__coop_spend(cx);
	}
	return rc;
}

static void sleep_cancel(struct ak_future *f)
{
	settle(priv_of(f));
}

static const struct ak_future_vtable sleep_vtable = { sleep_poll, sleep_cancel };

AK_EXPORT int ak_sleep_until(struct ak_sleep_op *op, int64_t deadline)
{
	if (!op)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &sleep_vtable);
	if (rc != 0)
		return rc;
	struct sleep_priv *s = priv_of(&op->future);
	s->deadline = deadline;
	s->index = NO_INDEX;
	s->gen = 0;
	waker_clear(&s->seen);
	ak__init(&s->state, S_IDLE);
	return 0;
}

AK_EXPORT int ak_sleep_for(struct ak_sleep_op *op, int64_t duration_ns)
{
	/* The clock is read here, at binding, as tokio::time::sleep reads it
	 * at creation: a sleep bound now and first polled later still ends
	 * duration_ns after now. */
	return ak_sleep_until(op, ak_deadline_in(duration_ns));
}

/* ---- fork ------------------------------------------------------------------ */

void ak__timer_before_fork(void)
{
	ak__lock(&T.lock);
	T.forking = 1;
	/* acquire: pairs with the release store in timer_main() that ends a
	 * batch of wakes.  The child must not inherit sleeps that were taken
	 * out of the heap but whose wake had not been made yet. */
	while (ak__load(&T.firing, AK__ACQUIRE) != 0) {
		ak__unlock(&T.lock);
		ak__futex_wait(&T.firing, 1, AK_DEADLINE_NEVER);
		ak__lock(&T.lock);
	}
	/*
	 * Nor a timer thread that is still being started.  acquire: pairs
	 * with the release store at the top of timer_main().
	 *
	 * Between pthread_create and timer_main the new thread runs the
	 * thread library's and a sanitizer's start code, which may hold an
	 * allocator lock: AddressSanitizer's thread start (GCC 12) calls
	 * calloc and free through pthread_getattr_np, and its allocator,
	 * unlike glibc's malloc, takes no locks around fork.  A fork at that
	 * moment hands the child a size-class lock held by a thread that
	 * does not exist there; the child's own new timer thread then blocks
	 * on it in its own start, before it fires anything, and every sleep
	 * in the child times out.  This is what failed
	 * fork_while_the_timer_fires_leaves_both_sides_working in about 1
	 * run in 5 under ASan (a fork soon after the first sleep started the
	 * thread), never natively.  Starting takes microseconds and needs no
	 * lock of ours.
	 */
	while (ak__load(&T.starting, AK__ACQUIRE) != 0) {
		ak__unlock(&T.lock);
		ak__futex_wait(&T.starting, 1, AK_DEADLINE_NEVER);
		ak__lock(&T.lock);
	}
}

void ak__timer_after_fork_parent(void)
{
	/* The thread may have gone to sleep without a deadline while the fork
	 * was prepared: wake it to look at the heap again. */
	T.forking = 0;
	int kick = kick_for(INT64_MIN);
	ak__unlock(&T.lock);
	if (kick)
		ak__futex_wake(&T.kick, 1);
}

void ak__timer_after_fork_child(void)
{
	/*
	 * The parent's timer thread does not exist here, and the operations
	 * the slots point to may sit on the stacks of threads that did not
	 * survive (glibc recycles those stacks): orphan every slot without
	 * touching its operation.  Ordered by index, the slots form a valid
	 * heap, all due at once.  A new generation makes every inherited
	 * operation unregistered; the new thread wakes the orphans, and a
	 * task that polls its sleep again registers it anew.
	 */
	for (size_t i = 0; i < T.n; i++) {
		T.heap[i].deadline = INT64_MIN;
		T.heap[i].seq = i;
		T.heap[i].op = NULL;
	}
	T.next_seq = T.n;
	T.gen++;
	T.running = 0;
	T.forking = 0;
	T.waiting = 0;
	ak__store(&T.firing, 0, AK__RELAXED);
	ak__store(&T.starting, 0, AK__RELAXED);
	/* If it cannot start now, the next sleep that has to wait tries again
	 * and the orphans are woken then. */
	if (T.n > 0)
		(void)start_thread();
	ak__unlock(&T.lock);
}
