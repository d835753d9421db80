/*
 * core/shim.h: the one door through which the library touches atomics,
 * futexes, its internal locks and the allocator.  Nothing else in the tree
 * uses <stdatomic.h>, syscall(SYS_futex) or malloc directly; the
 * deterministic-scheduler build (make sim, -DAK_SIM) turns each of these
 * into a scheduling point (core/shim_sim.h).
 *
 * Also home of the build-wide helpers every file needs: symbol export, the
 * ThreadSanitizer annotations, and the debug counters.
 */
#ifndef AK_CORE_SHIM_H
#define AK_CORE_SHIM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Public entry points: everything else is hidden (-fvisibility=hidden). */
#define AK_EXPORT __attribute__((visibility("default")))

/* ---- atomics ------------------------------------------------------------
 * Thin names over C11 atomics; the ordering is written at every call site,
 * and every acquire names, in a comment, the release it pairs with.
 */
#define ak__atomic(T) _Atomic(T)
#define AK__RELAXED memory_order_relaxed
#define AK__ACQUIRE memory_order_acquire
#define AK__RELEASE memory_order_release
#define AK__ACQ_REL memory_order_acq_rel
#define AK__SEQ_CST memory_order_seq_cst

/* The simulation build (make sim) turns every operation below into a
 * scheduling point: core/shim_sim.h.  sim/, core/shim.c and
 * core/shim_futex.c define AK__SIM_RAW to keep the plain operations. */
#if defined(AK_SIM) && !defined(AK__SIM_RAW)
#define AK__SIM_POINTS 1
#endif
#ifdef AK_SIM
#include "shim_sim.h"
#endif

#ifndef AK__SIM_POINTS
#define ak__init(p, v) atomic_init((p), (v))
#define ak__load(p, mo) atomic_load_explicit((p), (mo))
#define ak__store(p, v, mo) atomic_store_explicit((p), (v), (mo))
#define ak__xchg(p, v, mo) atomic_exchange_explicit((p), (v), (mo))
#define ak__fetch_add(p, v, mo) atomic_fetch_add_explicit((p), (v), (mo))
#define ak__fetch_sub(p, v, mo) atomic_fetch_sub_explicit((p), (v), (mo))
#define ak__fetch_or(p, v, mo) atomic_fetch_or_explicit((p), (v), (mo))
#define ak__fetch_and(p, v, mo) atomic_fetch_and_explicit((p), (v), (mo))
#define ak__cas(p, expected, desired, mo_ok, mo_fail) \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), (mo_ok), (mo_fail))
#define ak__cas_weak(p, expected, desired, mo_ok, mo_fail) \
	atomic_compare_exchange_weak_explicit((p), (expected), (desired), (mo_ok), (mo_fail))
#endif

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "awaitkit needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "awaitkit needs lock-free pointer atomics");

#ifndef AK__SIM_POINTS
/* A pause inside a bounded spin. */
static inline void ak__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif

/* Gives the CPU to another thread: where a bounded spin has run out and
 * another thread must make progress first (a liburcu enqueue half done). */
void ak__yield(void);

/* ---- an asymmetric fence pair -------------------------------------------------
 * A Dekker handshake (each side stores, then loads what the other stores:
 * at least one of them sees the other's store) where one side runs often
 * and the other rarely (before it sleeps).  The frequent side calls
 * ak__fence_light() between its store and its load: a compiler barrier.
 * The rare side calls ak__fence_heavy(): membarrier(2)'s
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED, a full barrier on every CPU that runs
 * a thread of the process, so that when it returns the frequent side's
 * store is visible, or the frequent side's load comes after the rare
 * side's store.  The light fence may stand for a full one only once
 * ak__fence_heavy_ready() said 1 (it registers the process, once; 0 where
 * the kernel lacks the command: then use seq_cst on both sides). */
#ifndef AK__SIM_POINTS
int ak__fence_heavy_ready(void);
void ak__fence_heavy(void);
static inline void ak__fence_light(void)
{
	atomic_signal_fence(memory_order_seq_cst);
}
#endif

#ifndef AK__SIM_POINTS
/* Reference counts: increments need no order; the last decrement must see
 * every write made before the other decrements (acq_rel). */
static inline void ak__ref_get(ak__atomic(uint32_t) *refs)
{
	ak__fetch_add(refs, 1, AK__RELAXED);
}

/* True when this was the last reference. */
static inline int ak__ref_put(ak__atomic(uint32_t) *refs)
{
	return ak__fetch_sub(refs, 1, AK__ACQ_REL) == 1;
}
#endif

/* ---- futex -------------------------------------------------------------- */

/* Sleeps while *addr == expected, until woken or the absolute
 * CLOCK_MONOTONIC deadline (ns; INT64_MAX for none).  0 when woken or the
 * value differed, AK_ETIMEDOUT at the deadline.  Spurious returns happen:
 * callers re-check their condition with an acquire load. */
int ak__futex_wait(ak__atomic(uint32_t) *addr, uint32_t expected, int64_t deadline);
void ak__futex_wake(ak__atomic(uint32_t) *addr, int nwake);

/* ---- internal locks -----------------------------------------------------
 * A 4-byte futex word (Drepper's "Futexes are tricky", mutex 2): 0 free,
 * 1 held, 2 held with possible sleepers.  Uncontended, a lock is one CAS
 * and an unlock one decrement, inline; the slow paths spin a little, then
 * sleep on the futex.  Not recursive, no owner check: the library's own
 * critical sections are short and never nest the same lock.
 */
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define AK__HAVE_SINGLE_THREADED 1
#endif
#endif

struct ak__lock {
	ak__atomic(uint32_t) word;
};

/* For a lock with static storage that must work before any init call (the
 * timer's, which the fork hooks take even if no sleep ever ran). */
#define AK__LOCK_INITIALIZER { 0 }

void ak__lock_slow(struct ak__lock *l);
void ak__unlock_slow(struct ak__lock *l);

static inline void ak__lock_init(struct ak__lock *l)
{
	ak__init(&l->word, 0u);
}

static inline void ak__lock_destroy(struct ak__lock *l)
{
	(void)l;
}

/*
 * While the process has one thread (glibc's __libc_single_threaded, which
 * goes false for good at the first pthread_create), nobody can race for a
 * lock: take and give it with plain loads and stores of the same values,
 * as glibc's own mutexes do.  The word means the same either way, so a
 * lock taken before the first thread starts is released correctly after.
 */
static inline int ak__one_thread(void)
{
#ifdef AK__HAVE_SINGLE_THREADED
	return __libc_single_threaded != 0;
#else
	return 0;
#endif
}

#ifndef AK__SIM_POINTS
static inline void ak__lock(struct ak__lock *l)
{
	if (ak__one_thread() && ak__load(&l->word, AK__RELAXED) == 0) {
		ak__store(&l->word, 1u, AK__RELAXED);
		return;
	}
	uint32_t free_ = 0;
	/* acquire: the critical section sees what the last holder wrote
	 * before its release in ak__unlock(). */
	if (!ak__cas(&l->word, &free_, 1u, AK__ACQUIRE, AK__RELAXED))
		ak__lock_slow(l);
}

static inline void ak__unlock(struct ak__lock *l)
{
	if (ak__one_thread() && ak__load(&l->word, AK__RELAXED) == 1u) {
		ak__store(&l->word, 0u, AK__RELAXED);
		return;
	}
	/* release: pairs with the acquire of the next ak__lock(). */
	if (ak__fetch_sub(&l->word, 1u, AK__RELEASE) != 1u)
		ak__unlock_slow(l);
}
#endif

/*
 * Read-modify-writes on a primitive's word, the lock's way (above): while
 * the process has one thread nobody can race for the word, so a load and a
 * store of the same values do what the RMW does, orders included (there
 * is no other thread to order against, and one started later is ordered
 * after them by its creation).  A waker that starts a thread does so
 * between two of them, never inside one.  The simulation's threads share
 * one process thread: it keeps the RMWs.  64-bit words only.
 */
static inline int ak__alone(void)
{
#ifdef AK__SIM_POINTS
	return 0;
#else
	return ak__one_thread();
#endif
}

static inline uint64_t ak__alone_fetch_add(ak__atomic(uint64_t) *p, uint64_t v, memory_order mo)
{
	if (ak__alone()) {
		uint64_t old = ak__load(p, AK__RELAXED);
		ak__store(p, old + v, AK__RELAXED);
		return old;
	}
	return ak__fetch_add(p, v, mo);
}

/* A weak CAS: 1 done, 0 with *expected the word now. */
static inline int ak__alone_cas(ak__atomic(uint64_t) *p, uint64_t *expected, uint64_t desired,
                                memory_order mo_ok, memory_order mo_fail)
{
	if (ak__alone()) {
		uint64_t cur = ak__load(p, AK__RELAXED);
		if (cur != *expected) {
			*expected = cur;
			return 0;
		}
		ak__store(p, desired, AK__RELAXED);
		return 1;
	}
	return ak__cas_weak(p, expected, desired, mo_ok, mo_fail);
}

/* ak__alone_cas() from the caller's own look at the word (*expected, an
 * acquire load or an RMW's result), with nothing written to the word by
 * this thread since: alone, nobody else can have written it either (the
 * process had one thread at the look too: it never goes back to one), so
 * the CAS is the store, with no second look. */
static inline int ak__alone_cas_looked(ak__atomic(uint64_t) *p, uint64_t *expected,
                                       uint64_t desired, memory_order mo_ok,
                                       memory_order mo_fail)
{
	if (ak__alone()) {
		ak__store(p, desired, AK__RELAXED);
		return 1;
	}
	return ak__cas_weak(p, expected, desired, mo_ok, mo_fail);
}

/* ---- allocation --------------------------------------------------------- */

/* Zeroed memory, or NULL.  Counted in ak_debug_counters().  A block of up
 * to 1024 bytes may come from the calling thread's cache (core/shim.c). */
void *ak__alloc(size_t size);

/* ak__alloc() but the block's bytes are left as they are (a kept block's
 * or malloc's): for a caller that writes every field it reads, where the
 * memset would cost more than the block's own set-up. */
void *ak__alloc_raw(size_t size);

/* ak__alloc_raw()'s hit alone: a block of the calling thread's cache, or
 * NULL where ak__alloc_raw() would go further (a miss, a user's allocator,
 * a failure armed, a large block, the simulation), which the caller then
 * calls from a function of its own: the hit's caller stays a leaf. */
void *ak__alloc_cached(size_t size);

/* Any block of ak__alloc's; never cached. */
void ak__free(void *p);

/* A block of ak__alloc(size), size exactly as passed there: kept in the
 * calling thread's cache for the next ak__alloc of its size class, within
 * the cache's bounds.  The fast path: use it where the size is known. */
void ak__free_sized(void *p, size_t size);

/* ak__free_sized()'s keep alone: 1 when p went to the calling thread's
 * cache, else 0 with nothing done, where ak__free_sized() would go
 * further, which the caller then calls from a function of its own (as
 * ak__alloc_cached()'s).  p is not NULL. */
int ak__free_cached(void *p, size_t size);

/* The cache's bounds: the largest request it serves, the bytes it keeps
 * per thread.  Under AddressSanitizer it keeps nothing (core/shim.c). */
#define AK__CACHE_MAX 1024              /* a bounded mpsc of 16 is 832 */
#define AK__CACHE_BYTES (64 * 1024)

/* Test hooks: on = 0 keeps no block from now on (and empties the calling
 * thread's cache), so every ak__alloc reaches malloc (tests/alloc); the
 * bytes the calling thread's cache holds; those of every thread's, plus any
 * an exited thread left behind (a leak; a fork child loses the others'). */
void ak__alloc_cache_keep(int on);
size_t ak__cache_bytes(void);
size_t ak__cache_bytes_all(void);

/* Test hook: the n-th allocation from now fails (0 disarms). */
void ak__alloc_fail_after(long n);

/* ---- coroutine stacks ----------------------------------------------------
 * Stacks for coroutines (runtime/co.c): an anonymous mapping of size
 * usable bytes (rounded up to whole pages) above one PROT_NONE guard page,
 * so an overflow faults on the guard instead of writing over a neighbour.
 * Counted like ak__alloc's blocks (live while handed out) and failed by
 * ak__alloc_fail_after.  A stack given back is kept in the calling
 * thread's cache (AK__STACK_CACHE_MAX of them, any size, reused for the
 * same rounded size) unless keeping is off (ak__alloc_cache_keep(0));
 * the cache is emptied at the thread's exit.  The memory of a kept stack
 * is not cleared: a coroutine starts on it with a fresh frame.
 */
#define AK__STACK_CACHE_MAX 16

/* The lowest usable byte, or NULL; *bytes: the usable size mapped. */
void *ak__stack_get(size_t size, size_t *bytes);
void ak__stack_put(void *stack, size_t bytes);
/* Test hook: stacks the calling thread's cache holds. */
size_t ak__stack_cache_count(void);

/* ---- counters for ak_debug_counters() ----------------------------------- */

/* The counters' lock around a fork (taken last in ak_atfork_prepare). */
void ak__counts_before_fork(void);
void ak__counts_after_fork_parent(void);
void ak__counts_after_fork_child(void);
void ak__count_clones(int delta);
void ak__count_parked(int delta);
/* ak__count_clones(1) for a clone kept by a waker's keep, which links the
 * calling thread (as its first allocation would): its later counts are
 * plain adds, not the orphans' atomic ones. */
void ak__count_kept(void);
/* Test hook: 1 when the calling thread's counts are linked. */
int ak__counts_linked(void);

/* ---- sanitizers: which one; ThreadSanitizer's annotations ------------------ */

#if defined(__SANITIZE_THREAD__)
#define AK__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AK__TSAN 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define AK__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AK__ASAN 1
#endif
#endif

#ifdef AK__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define AK__HB_RELEASE(p) __tsan_release((void *)(p))
#define AK__HB_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define AK__HB_RELEASE(p) ((void)(p))
#define AK__HB_ACQUIRE(p) ((void)(p))
#endif

/* ---- fibers: telling the sanitizers about a stack switch ---------------------
 * Around every switch between a thread's stack and a coroutine's:
 * ThreadSanitizer keeps one fiber per coroutine (a switch synchronizes the
 * two fibers, as the handover it is does), AddressSanitizer is told the
 * stack it is about to run on (start) and learns the one it came from
 * (finish).  Without either sanitizer, nothing.
 */
#ifdef AK__TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
static inline void *ak__fiber_current(void) { return __tsan_get_current_fiber(); }
static inline void *ak__fiber_create(void) { return __tsan_create_fiber(0); }
static inline void ak__fiber_destroy(void *f) { __tsan_destroy_fiber(f); }
/* Always inlined: a function of its own would be entered on one fiber
 * and left on the other, and TSan's shadow call stacks (one per fiber)
 * would drift by a frame whenever the two ends of a switch were not
 * inlined alike. */
static inline __attribute__((always_inline)) void ak__fiber_switch(void *f)
{
	__tsan_switch_to_fiber(f, 0);
}
#else
static inline void *ak__fiber_current(void) { return NULL; }
static inline void *ak__fiber_create(void) { return (void *)1; }
static inline void ak__fiber_destroy(void *f) { (void)f; }
static inline void ak__fiber_switch(void *f) { (void)f; }
#endif

#ifdef AK__ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
/* Inlined, as ak__fiber_switch() is: each call belongs to the frame that
 * switches. */
static inline __attribute__((always_inline)) void
ak__stack_switch_start(void **fake, const void *bottom, size_t size)
{
	__sanitizer_start_switch_fiber(fake, bottom, size);
}
static inline __attribute__((always_inline)) void
ak__stack_switch_finish(void *fake, const void **bottom, size_t *size)
{
	__sanitizer_finish_switch_fiber(fake, bottom, size);
}
#else
static inline void ak__stack_switch_start(void **fake, const void *bottom, size_t size)
{
	(void)fake, (void)bottom, (void)size;
}
static inline void ak__stack_switch_finish(void *fake, const void **bottom, size_t *size)
{
	(void)fake, (void)bottom, (void)size;
}
#endif

#ifdef AK__SIM_POINTS
/* The named operations as points of the simulation (core/shim_sim.h); the
 * real ak__alloc/ak__free run after theirs (a macro does not expand
 * itself again). */
#define ak__yield() ak__sim_point(AK__SIM_YIELD, NULL, AK__SIM_SITE)
#define ak__futex_wait(addr, expected, deadline) \
	ak__sim_futex_wait((addr), (expected), (deadline), AK__SIM_SITE)
#define ak__futex_wake(addr, nwake) ak__sim_futex_wake((addr), (nwake), AK__SIM_SITE)
#define ak__lock(l) ak__sim_lock((l), AK__SIM_SITE)
#define ak__unlock(l) ak__sim_unlock((l), AK__SIM_SITE)
#define ak__alloc(size) (ak__sim_point(AK__SIM_ALLOC, NULL, AK__SIM_SITE), ak__alloc(size))
#define ak__alloc_raw(size) \
	(ak__sim_point(AK__SIM_ALLOC, NULL, AK__SIM_SITE), ak__alloc_raw(size))
#define ak__alloc_cached(size) ((void)(size), (void *)0)
#define ak__free_cached(p, size) ((void)(p), (void)(size), 0)
#define ak__free(p) (ak__sim_point(AK__SIM_FREE, NULL, AK__SIM_SITE), ak__free(p))
#define ak__free_sized(p, size) \
	(ak__sim_point(AK__SIM_FREE, NULL, AK__SIM_SITE), ak__free_sized((p), (size)))
#define pthread_create(t, attr, fn, arg) \
	ak__sim_pthread_create((t), (attr), (fn), (arg), AK__SIM_SITE)
#define pthread_join(t, ret) ak__sim_pthread_join((t), (ret), AK__SIM_SITE)
#define pthread_detach(t) ak__sim_pthread_detach(t)
#endif

#endif
