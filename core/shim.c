/* core/shim.c: the debug counters, the block cache, the allocator and the
 * coroutine stacks.  core/shim_futex.c holds the futex, the yield, the
 * heavy fence and the internal lock's slow halves. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <awaitkit/alloc.h>
#include <awaitkit/debug.h>
#include <awaitkit/error.h>

/* In the simulation build this file is the shim's own half: its counters
 * and caches are per thread and are not scheduling points; the points of
 * ak__alloc and the futex are at their callers (core/shim_sim.h). */
#define AK__SIM_RAW 1
#include "shim.h"

/*
 * The debug counters, kept per thread and summed when read: no shared
 * atomic read-modify-write per clone, park or allocation (DESIGN.md
 * section 8).  Each thread's block is its own thread-local storage, linked
 * into a list on the thread's first allocation past the block cache (its
 * first of all, or a stack); only its owner writes it (a relaxed load and
 * store, no lock prefix), readers load it relaxed.  A count made while the
 * thread is not linked (a thread that wakes or drops wakers but never
 * allocated, or a destructor after its exit) is an atomic add to the
 * orphans' sums, so that no count calls anything.  At
 * thread exit (a key destructor) its counts move into `retired` and it
 * leaves the list, so the sums stay exact for the tests' leak checks after
 * their threads are joined.  The fork hooks keep the list valid in a child
 * (ak__counts_*_fork): the other threads' blocks may be reused there.
 */
/* C_FREES counts the blocks given back: live_objects is C_ALLOCS less
 * C_FREES, summed when read, so that an allocation makes one add, not two. */
enum { C_CLONES, C_PARKED, C_ALLOCS, C_FREES, C_N };

/* A thread's block cache (see "The block cache" below), kept with its
 * counts: one thread-local block, and ak__cache_bytes_all() sums it too. */
#define CACHE_STEP 16
#define CACHE_CLASSES (AK__CACHE_MAX / CACHE_STEP)
#define CACHE_CLASS_MAX 32

struct cache {
	void *head[CACHE_CLASSES];      /* next pointer in a block's first word */
	uint16_t n[CACHE_CLASSES];
	ak__atomic(size_t) bytes;       /* owner writes; summed under counts_lock */
	unsigned char closed;           /* exiting thread, or no key: keep nothing */
	/* The classes the fast paths serve: fast_classes while linked and
	 * not closed, else 0 (one look for the switch, the link and the
	 * close).  The owner reads it; fast_update() writes every linked
	 * thread's, under counts_lock. */
	ak__atomic(size_t) classes;
	void *stacks;                   /* kept coroutine stacks (struct kept_stack) */
	unsigned nstacks;
};

struct counts {
	ak__atomic(int64_t) v[C_N];
	struct counts *prev, *next;   /* counts_lock */
	unsigned char linked;         /* owner; under counts_lock to change */
	struct cache cache;           /* owner only, but bytes */
};

static _Thread_local struct counts my_counts;
/* &my_counts while the calling thread's block is linked, NULL before and
 * after: the hot paths' one look.  One word in the initial-exec model (an
 * offset from the thread pointer, a plain load), where the block itself
 * (hundreds of bytes, more than a dlopen of the library may find in the
 * static TLS surplus) stays in the dynamic model: in a position-independent
 * build each of its looks is a __tls_get_addr call to the compiler (even
 * where the linker relaxes it to an offset), so every function that counted
 * saved registers and built a frame around it. */
static _Thread_local struct counts *my_live __attribute__((tls_model("initial-exec")));
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counts *counts_head;          /* counts_lock */
static int64_t counts_retired[C_N];         /* counts_lock */
/* What threads counted while not linked (before the first allocation that
 * links them, after their exit): summed with the rest.  An atomic add, so
 * that a count needs no call (see count()). */
static ak__atomic(int64_t) counts_orphan[C_N];
static size_t cache_retired;                /* counts_lock: kept bytes lost */
static pthread_key_t counts_key;
static pthread_once_t counts_once = PTHREAD_ONCE_INIT;
static int counts_key_ok;

static void cache_drain(int close);     /* the block cache, below */
static ak__atomic(size_t) fast_classes; /* the switches, below */

static void counts_unlink(struct counts *c)
{
	for (int i = 0; i < C_N; i++)
		counts_retired[i] += ak__load(&c->v[i], AK__RELAXED);
	/* 0 after a thread's exit (drained); a fork child loses the others'. */
	cache_retired += ak__load(&c->cache.bytes, AK__RELAXED);
	if (c->prev)
		c->prev->next = c->next;
	else
		counts_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	for (int i = 0; i < C_N; i++)
		ak__store(&c->v[i], 0, AK__RELAXED);
	c->linked = 0;
	ak__store(&c->cache.classes, 0, AK__RELAXED);
	if (c == &my_counts)
		my_live = NULL;
}

/* The thread exits: its counts go to the retired totals. */
static void counts_exit(void *arg)
{
	struct counts *c = arg;
	/* Closed under the lock: fast_update() reads closed there, and must
	 * not open the cache again. */
	pthread_mutex_lock(&counts_lock);
	cache_drain(1);
	if (c->linked)
		counts_unlink(c);
	pthread_mutex_unlock(&counts_lock);
}

static void counts_key_init(void)
{
	counts_key_ok = pthread_key_create(&counts_key, counts_exit) == 0;
}

static void counts_link(struct counts *c)
{
	int saved = errno;
	pthread_once(&counts_once, counts_key_init);
	pthread_mutex_lock(&counts_lock);
	c->prev = NULL;
	c->next = counts_head;
	if (counts_head)
		counts_head->prev = c;
	counts_head = c;
	c->linked = 1;
	if (!counts_key_ok)
		c->cache.closed = 1;    /* see below; under the lock, as at exit */
	ak__store(&c->cache.classes,
	          c->cache.closed ? 0 : ak__load(&fast_classes, AK__RELAXED), AK__RELAXED);
	my_live = c;
	pthread_mutex_unlock(&counts_lock);
	/* The first key of the process: no allocation.  Without a key the
	 * counts stay linked after the thread's exit (still summed, never
	 * lost; only its memory could be reused, which a key prevents). */
	if (counts_key_ok)
		pthread_setspecific(counts_key, c);
	else
		cache_drain(1);         /* nothing would empty it at exit */
	errno = saved;
}

static inline struct counts *my_linked_counts(void)
{
	struct counts *c = &my_counts;
	if (__builtin_expect(!c->linked, 0))
		counts_link(c);
	return c;
}

/* Only this thread writes c->v: a plain add, relaxed for readers.  On
 * x86-64 one add to memory without a lock prefix (what the relaxed load
 * and store pair compiles to, in one instruction instead of three): its
 * store is single-copy atomic, so a reader sees the old or the new count,
 * and no other thread writes the word.  Every count on a hot path (a
 * clone kept, a wake, a park, an allocation) pays it.  ThreadSanitizer
 * and the sim build keep the atomic pair they can see. */
static inline void add(struct counts *c, int i, int64_t delta)
{
#if defined(__x86_64__) && !defined(AK__TSAN) && !defined(AK_SIM)
	__asm__("addq %1, %0" : "+m"(c->v[i]) : "er"(delta));
#else
	ak__store(&c->v[i], ak__load(&c->v[i], AK__RELAXED) + delta, AK__RELAXED);
#endif
}

/* add() for the bytes a cache keeps, which only its owner writes. */
static inline void add_bytes(ak__atomic(size_t) *bytes, size_t delta)
{
#if defined(__x86_64__) && !defined(AK__TSAN) && !defined(AK_SIM)
	__asm__("addq %1, %0" : "+m"(*bytes) : "er"(delta));
#else
	ak__store(bytes, ak__load(bytes, AK__RELAXED) + delta, AK__RELAXED);
#endif
}

/* The linked test and the add through one thread-local word.  A thread
 * not linked adds to the orphans' count instead of linking: no call on a
 * count's path, so a function that counts (a wake, a park, a free) may
 * stay a leaf with no frame.  Threads link at their first allocation past
 * the cache (every thread that makes anything), so the atomic add is the
 * rare case. */
static inline void count(int i, int64_t delta)
{
	struct counts *c = my_live;
	if (__builtin_expect(!c, 0))
		ak__fetch_add(&counts_orphan[i], delta, AK__RELAXED);
	else
		add(c, i, delta);
}

void ak__counts_before_fork(void)
{
	pthread_mutex_lock(&counts_lock);
}

void ak__counts_after_fork_parent(void)
{
	pthread_mutex_unlock(&counts_lock);
}

/* Only this thread exists in the child: the others' blocks lie in memory
 * the child may reuse for new threads, so their counts move to retired. */
void ak__counts_after_fork_child(void)
{
	struct counts *c = counts_head, *next;
	for (; c; c = next) {
		next = c->next;
		if (c != &my_counts)
			counts_unlink(c);
	}
	pthread_mutex_unlock(&counts_lock);
}

static ak__atomic(long) fail_countdown;
static void fast_update(void);

void ak__alloc_fail_after(long n)
{
	ak__store(&fail_countdown, n, AK__RELAXED);
	fast_update();
}

static int should_fail(void)
{
	long n = ak__load(&fail_countdown, AK__RELAXED);

	while (n > 0) {
		if (ak__cas_weak(&fail_countdown, &n, n - 1, AK__RELAXED, AK__RELAXED))
			return n == 1;
	}
	return 0;
}

/*
 * The block cache (issue 13): small per-thread free lists in front of
 * malloc for the blocks the library makes and drops per operation (a
 * oneshot per hop, a channel per create_drop).  glibc's calloc takes no
 * tcache fast path; a hit here is a pop and the counts (and the memset
 * of ak__alloc, which ak__alloc_raw leaves to its caller).
 *
 *   classes   a request of 1..AK__CACHE_MAX bytes is rounded up to the next
 *             multiple of CACHE_STEP; each class has its own list, so a
 *             block serves any request of its class.  Larger requests go
 *             to calloc and are never kept.
 *   freeing   only ak__free_sized(p, size), size as passed to ak__alloc,
 *             keeps a block: in the freeing thread's cache (as glibc's
 *             tcache does), so blocks sent to another thread come back to
 *             its cache, not to their maker's.  ak__free(p) is a plain
 *             free(), valid for every block (each is a malloc'd one).
 *   bounds    CACHE_CLASS_MAX blocks per class and AK__CACHE_BYTES per thread;
 *             beyond that free().  A producer/consumer pair cannot grow it.
 *   counts    C_ALLOCS counts every block handed out, hit or miss,
 *             and C_FREES every block given back, kept or not: the
 *             tests' leak checks stay exact.  should_fail() runs before the
 *             cache, so ak__alloc_fail_after hits every allocation.
 *   the sweep tests/alloc fails the n-th malloc of the process; a hit
 *             calls none, so the sweep turns keeping off first
 *             (ak__alloc_cache_keep(0)): every ak__alloc then reaches
 *             malloc (a miss: malloc of the class size) or calloc.
 *   lifetime  the counts' key destructor empties the thread's cache at its
 *             exit and closes it (later frees there go to free()); so does
 *             a process destructor for the thread that calls exit(), so
 *             Valgrind sees no cached block at exit.  In a fork child the
 *             forking thread's cache is its own TLS and stays valid; the
 *             other threads' caches are lost with them (at most AK__CACHE_BYTES
 *             each, never counted: C_FREES counted them).
 *   ASan      the cache is bypassed: every block is calloc'd at its exact
 *             size and freed at once, so ASan's quarantine still catches a
 *             use after free long after it (poisoning a cached block would
 *             miss one after reuse), LeakSanitizer sees every block, and
 *             ak__free_sized checks its size against ASan's record.
 */
#ifdef AK__ASAN
#include <assert.h>
/* <sanitizer/allocator_interface.h>, which GCC does not ship. */
size_t __sanitizer_get_allocated_size(const volatile void *p);
#endif

static ak__atomic(int) cache_keep = 1;

static inline size_t class_of(size_t size)
{
	return size ? (size - 1) / CACHE_STEP : 0;
}

static inline size_t class_bytes(size_t c)
{
	return (c + 1) * CACHE_STEP;
}

/* Frees every kept block of the calling thread's; closed: keep no more. */
static void stacks_drain(struct cache *k);

static void cache_drain(int close)
{
	struct cache *k = &my_counts.cache;
	stacks_drain(k);
	for (size_t c = 0; c < CACHE_CLASSES; c++) {
		void *p = k->head[c], *next;
		for (; p; p = next) {
			next = *(void **)p;
			free(p);
		}
		k->head[c] = NULL;
		k->n[c] = 0;
	}
	ak__store(&k->bytes, 0, AK__RELAXED);
	if (close) {
		k->closed = 1;
		ak__store(&k->classes, 0, AK__RELAXED);
	}
}

static void *block_get(size_t size)
{
#ifdef AK__ASAN
	return calloc(1, size ? size : 1);
#else
	size_t c = class_of(size);
	struct cache *k = &my_counts.cache;
	void *p = k->head[c];
	if (p) {
		k->head[c] = *(void **)p;
		k->n[c]--;
		ak__store(&k->bytes, ak__load(&k->bytes, AK__RELAXED) - class_bytes(c),
		          AK__RELAXED);
	} else {
		p = malloc(class_bytes(c));
	}
	return p;
#endif
}

/* 1 when p was kept. */
static int block_keep(void *p, size_t size)
{
#ifdef AK__ASAN
	assert(__sanitizer_get_allocated_size(p) == (size ? size : 1));
	(void)p;
	return 0;
#else
	size_t c = class_of(size), b = class_bytes(c);
	struct cache *k = &my_counts.cache;
	size_t bytes = ak__load(&k->bytes, AK__RELAXED);
	if (k->closed || k->n[c] == CACHE_CLASS_MAX || bytes + b > AK__CACHE_BYTES ||
	    !ak__load(&cache_keep, AK__RELAXED))
		return 0;
	*(void **)p = k->head[c];
	k->head[c] = p;
	k->n[c]++;
	ak__store(&k->bytes, bytes + b, AK__RELAXED);
	return 1;
#endif
}

/* exit(): the calling thread's blocks go back to malloc before the leak
 * checkers look (the others' went at their exit). */
__attribute__((destructor)) static void cache_at_exit(void)
{
	cache_drain(1);
}

void ak__alloc_cache_keep(int on)
{
	ak__store(&cache_keep, on, AK__RELAXED);
	fast_update();
	if (!on)
		cache_drain(0);
}

size_t ak__cache_bytes(void)
{
	return ak__load(&my_counts.cache.bytes, AK__RELAXED);
}

size_t ak__cache_bytes_all(void)
{
	pthread_mutex_lock(&counts_lock);
	size_t sum = cache_retired;
	for (struct counts *c = counts_head; c; c = c->next)
		sum += ak__load(&c->cache.bytes, AK__RELAXED);
	pthread_mutex_unlock(&counts_lock);
	return sum;
}

/*
 * The user's allocator (ak_set_allocator(3)): while one is set, every block
 * comes from it and goes back to it, past the cache (which keeps only
 * malloc'd blocks).  It is switched only while no block is live, so a block
 * always goes back where it came from.  The flag is read relaxed on every
 * allocation: the copy it guards was written before the release store that
 * set it, by a call the page requires to run while no other thread uses
 * the library (a thread started later is ordered after it).
 */
static struct ak_allocator user;
static ak__atomic(int) user_on;

/* ak__alloc_raw's and ak__free_sized's fast paths, one look: the classes
 * they serve, CACHE_CLASSES, or 0 (off) while a user's allocator is set,
 * a failure is armed or keeping is off; the class's bound and the switch
 * in one compare.  Each of the three is set by a call made while no other
 * thread allocates (a test hook, ak_set_allocator(3)); relaxed. */
static ak__atomic(size_t) fast_classes = CACHE_CLASSES;

static void fast_update(void)
{
	int off = ak__load(&user_on, AK__RELAXED) || ak__load(&fail_countdown, AK__RELAXED) > 0 ||
	          !ak__load(&cache_keep, AK__RELAXED);
	size_t classes = off ? 0 : (size_t)CACHE_CLASSES;
	pthread_mutex_lock(&counts_lock);
	ak__store(&fast_classes, classes, AK__RELAXED);
	for (struct counts *c = counts_head; c; c = c->next)
		ak__store(&c->cache.classes, c->cache.closed ? 0 : classes, AK__RELAXED);
	pthread_mutex_unlock(&counts_lock);
}

static int64_t live_blocks(void)
{
	pthread_mutex_lock(&counts_lock);
	int64_t sum = 0;
	/* C_FREES first, as in ak_debug_counters(). */
	for (int i = C_FREES; i >= C_ALLOCS; i--) {
		int64_t n = counts_retired[i] + ak__load(&counts_orphan[i], AK__RELAXED);
		for (struct counts *c = counts_head; c; c = c->next)
			n += ak__load(&c->v[i], AK__RELAXED);
		sum += i == C_ALLOCS ? n : -n;
		atomic_thread_fence(memory_order_acquire);
	}
	pthread_mutex_unlock(&counts_lock);
	return sum;
}

AK_EXPORT int ak_set_allocator(const struct ak_allocator *a)
{
	if (a && (!a->alloc || !a->free))
		return AK_EINVAL;
	if (live_blocks() != 0)
		return AK_EBUSY;
	ak__store(&user_on, 0, AK__RELAXED);
	if (a) {
		user = *a;
		/* release: the copy above before the flag (see above). */
		ak__store(&user_on, 1, AK__RELEASE);
	}
	fast_update();
	return 0;
}

/* The two fast paths below are external definitions that gcc -flto
 * inlines into every caller (the bench, the shared library): a hit and a
 * keep are then a few instructions with the size often a constant.  clang
 * (-Wpedantic) refuses an inline function with external linkage that uses
 * this file's statics, and links without LTO here anyway: a plain call. */
#if defined(__GNUC__) && !defined(__clang__)
#define AK__CACHE_INLINE __attribute__((always_inline)) inline
#else
#define AK__CACHE_INLINE
#endif

/* Everything but a hit of the calling thread's cache: the first block of
 * a thread, a user's allocator, a failure armed, a miss, a large block.
 * zero: ak__alloc's, memset the block. */
static __attribute__((noinline)) void *alloc_slow(size_t size, int zero)
{
	if (should_fail())
		return NULL;
	void *p;
	/* acquire: pairs with the release store in ak_set_allocator(). */
	if (ak__load(&user_on, AK__ACQUIRE)) {
		p = user.alloc(size ? size : 1, user.arg);
		if (p && zero)
			memset(p, 0, size);
	} else if (size > AK__CACHE_MAX) {
		p = calloc(1, size);
	} else {
		p = block_get(size);
		if (p && zero)
			memset(p, 0, size);
	}
	if (p) {
		struct counts *c = my_linked_counts();
		add(c, C_ALLOCS, 1);
	}
	return p;
}

/* The fast path, a hit: no failure armed, no user's allocator; the pop and
 * the counts through one thread-local address.  A thread with a kept block
 * is linked: every keep comes after a count of the free (which links) and
 * the unlink of an exiting thread after its cache was emptied. */
AK__CACHE_INLINE void *ak__alloc_cached(size_t size)
{
#ifndef AK__ASAN
	struct counts *c = my_live;
	size_t k = (size - 1) / CACHE_STEP;         /* class_of(), size 0 wraps */
	void *p = c && k < ak__load(&c->cache.classes, AK__RELAXED) ? c->cache.head[k] : NULL;
	if (__builtin_expect(p != NULL, 1)) {
		c->cache.head[k] = *(void **)p;
		c->cache.n[k]--;
		add_bytes(&c->cache.bytes, -class_bytes(k));
		add(c, C_ALLOCS, 1);
		return p;
	}
#else
	(void)size;
#endif
	return NULL;
}

AK__CACHE_INLINE void *ak__alloc_raw(size_t size)
{
	void *p = ak__alloc_cached(size);
	return __builtin_expect(p != NULL, 1) ? p : alloc_slow(size, 0);
}

void *ak__alloc(size_t size)
{
	if (size > AK__CACHE_MAX)
		return alloc_slow(size, 1);     /* calloc's, zeroed once */
	void *p = ak__alloc_raw(size);
	/* memset's result, p: a tail call. */
	return p ? memset(p, 0, size) : NULL;
}

void ak__free(void *p)
{
	if (!p)
		return;
	count(C_FREES, 1);
	if (ak__load(&user_on, AK__RELAXED))
		user.free(p, user.arg);
	else
		free(p);
}

/* Links the thread: a block kept here must be in a cache that the sums
 * and the thread's exit see. */
static __attribute__((noinline)) void free_slow(void *p, size_t size)
{
	add(my_linked_counts(), C_FREES, 1);
	if (ak__load(&user_on, AK__RELAXED))
		user.free(p, user.arg);
	else if (size > AK__CACHE_MAX || !block_keep(p, size))
		free(p);
}

/* The fast path, a keep: a linked thread's open cache with room, no user's
 * allocator, keeping on (block_keep's tests, in one go).  1 kept, else 0
 * with nothing done. */
AK__CACHE_INLINE int ak__free_cached(void *p, size_t size)
{
#ifndef AK__ASAN
	struct counts *c = my_live;
	size_t k = (size - 1) / CACHE_STEP;         /* size 0 wraps */
	/* The byte bound against a constant: room for the largest class
	 * (block_keep() fills the last AK__CACHE_MAX bytes exactly). */
	if (__builtin_expect(c && k < ak__load(&c->cache.classes, AK__RELAXED) &&
	                     c->cache.n[k] < CACHE_CLASS_MAX &&
	                     ak__load(&c->cache.bytes, AK__RELAXED) <=
	                             AK__CACHE_BYTES - AK__CACHE_MAX,
	                     1)) {
		add(c, C_FREES, 1);
		*(void **)p = c->cache.head[k];
		c->cache.head[k] = p;
		c->cache.n[k]++;
		add_bytes(&c->cache.bytes, class_bytes(k));
		return 1;
	}
#else
	(void)p, (void)size;
#endif
	return 0;
}

AK__CACHE_INLINE void ak__free_sized(void *p, size_t size)
{
	if (p && !ak__free_cached(p, size))
		free_slow(p, size);
}

/*
 * Coroutine stacks (see shim.h).  A kept stack carries its list link and
 * its size in its lowest bytes, which the next coroutine's frames (at the
 * top) reach only after the cache has let go of it.  Under ASan a stack is
 * unpoisoned as it is kept and as it is handed out: the frames of the
 * coroutine that used it last leave redzones behind.
 */
#ifdef AK__ASAN
void __asan_unpoison_memory_region(const volatile void *addr, size_t size);
#define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct kept_stack {
	struct kept_stack *next;
	size_t bytes;
};

static size_t page_size(void)
{
	static ak__atomic(size_t) cached;
	/* Relaxed: every thread computes the same value. */
	size_t ps = ak__load(&cached, AK__RELAXED);
	if (ps == 0) {
		int saved = errno;
		long v = sysconf(_SC_PAGESIZE);
		errno = saved;
		ps = v > 0 ? (size_t)v : 4096;
		ak__store(&cached, ps, AK__RELAXED);
	}
	return ps;
}

static void stack_unmap(void *stack, size_t bytes)
{
	int saved = errno;
	munmap((char *)stack - page_size(), bytes + page_size());
	errno = saved;
}

static void *stack_map(size_t bytes)
{
	size_t ps = page_size();
	int saved = errno;
	char *p = mmap(NULL, bytes + ps, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	if (mprotect(p, ps, PROT_NONE) != 0) {
		munmap(p, bytes + ps);
		errno = saved;
		return NULL;
	}
	errno = saved;
	return p + ps;
}

static void stacks_drain(struct cache *k)
{
	struct kept_stack *s = k->stacks, *next;
	for (; s; s = next) {
		next = s->next;
		stack_unmap(s, s->bytes);
	}
	k->stacks = NULL;
	k->nstacks = 0;
}

void *ak__stack_get(size_t size, size_t *bytes)
{
	size_t ps = page_size();
	if (size == 0 || size > SIZE_MAX / 2)
		return NULL;
	size_t want = (size + ps - 1) / ps * ps;
	if (should_fail())
		return NULL;
	struct counts *c = my_linked_counts();
	void *stack = NULL;
	for (struct kept_stack **pp = (struct kept_stack **)&c->cache.stacks; *pp;
	     pp = &(*pp)->next) {
		if ((*pp)->bytes == want) {
			stack = *pp;
			*pp = (*pp)->next;
			c->cache.nstacks--;
			break;
		}
	}
	if (!stack && !(stack = stack_map(want)))
		return NULL;
	UNPOISON(stack, want);
	add(c, C_ALLOCS, 1);
	*bytes = want;
	return stack;
}

void ak__stack_put(void *stack, size_t bytes)
{
	if (!stack)
		return;
	struct counts *c = my_linked_counts();
	add(c, C_FREES, 1);
	struct cache *k = &c->cache;
	if (k->closed || k->nstacks >= AK__STACK_CACHE_MAX ||
	    !ak__load(&cache_keep, AK__RELAXED)) {
		stack_unmap(stack, bytes);
		return;
	}
	UNPOISON(stack, bytes);
	struct kept_stack *s = stack;
	s->bytes = bytes;
	s->next = k->stacks;
	k->stacks = s;
	k->nstacks++;
}

size_t ak__stack_cache_count(void)
{
	return my_counts.cache.nstacks;
}

void ak__count_clones(int delta)
{
	count(C_CLONES, delta);
}

/* A keep's count links the thread (its slow half out of line).  A pool's
 * worker may never allocate: then every count of its parks and wakes was
 * an orphan's atomic add, four locked instructions per hand-off of a lock
 * in a convoy.  A keep follows a call to the waker's clone, so its caller
 * has a frame already: the link's call costs it nothing more. */
static __attribute__((noinline, cold)) void count_kept_linking(void)
{
	add(my_linked_counts(), C_CLONES, 1);
}

void ak__count_kept(void)
{
	struct counts *c = my_live;
	if (__builtin_expect(!c, 0))
		count_kept_linking();
	else
		add(c, C_CLONES, 1);
}

int ak__counts_linked(void)
{
	return my_live != NULL;
}

void ak__count_parked(int delta)
{
	count(C_PARKED, delta);
}

AK_EXPORT int ak_debug_counters(struct ak_debug_counts *out)
{
	if (!out)
		return AK_EINVAL;
	int64_t sum[C_N];
	/* C_FREES before C_ALLOCS: a block is freed after it was allocated, so
	 * every free summed has its allocation summed too, and live_objects
	 * is never below its value between the two passes (no false zero for
	 * ak_debug_wait_zero while other threads allocate and free). */
	static const int order[C_N] = { C_FREES, C_ALLOCS, C_CLONES, C_PARKED };
	pthread_mutex_lock(&counts_lock);
	for (int j = 0; j < C_N; j++) {
		int i = order[j];
		if (j == 1)
			atomic_thread_fence(memory_order_acquire);
		sum[i] = counts_retired[i] + ak__load(&counts_orphan[i], AK__RELAXED);
		for (struct counts *c = counts_head; c; c = c->next)
			sum[i] += ak__load(&c->v[i], AK__RELAXED);
	}
	pthread_mutex_unlock(&counts_lock);
	out->waker_clones = sum[C_CLONES];
	out->parked_ops = sum[C_PARKED];
	out->live_objects = sum[C_ALLOCS] - sum[C_FREES];
	out->allocations = sum[C_ALLOCS];
	return 0;
}
