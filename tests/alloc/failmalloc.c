/*
 * tests/alloc/failmalloc.c: the allocation-failure interposer (see
 * failmalloc.h).  Test code only: never linked into the library.
 *
 * The real allocator is found with dlsym(RTLD_NEXT): glibc's natively,
 * ASan's under -fsanitize=address (ASan's runtime is the first shared
 * object after the executable).  dlsym may itself allocate; those few
 * allocations come from a static bump buffer and are never freed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "failmalloc.h"

/* The library is built with -fvisibility=hidden; these must be seen by
 * every shared object of the process.  Under ASan they run before its
 * runtime has initialised (its interceptors' dlsym calls malloc), so
 * nothing here is instrumented: they only forward to ASan's allocator. */
#define NOSAN __attribute__((no_sanitize("address")))
#define PUBLIC __attribute__((visibility("default"))) NOSAN

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef int (*memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_fn)(size_t, size_t);
typedef void (*free_fn)(void *);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static memalign_fn real_posix_memalign;
static aligned_fn real_aligned_alloc;
static free_fn real_free;

/* While dlsym runs: its allocations come from here. */
static _Alignas(max_align_t) char boot[16384];
static size_t boot_used;
static int resolving;

static atomic_long armed;       /* 1 while counting */
static atomic_long fail_at;     /* the n-th counted allocation fails; 0: none */
static atomic_long counted;
static atomic_long failed;

NOSAN static void *boot_alloc(size_t size)
{
	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (boot_used + size > sizeof(boot))
		return NULL;
	void *p = boot + boot_used;
	boot_used += size;
	return p;       /* static storage: already zero */
}

NOSAN static int is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

/* Single-threaded at first use: the sweep's first allocation happens in
 * main's thread before any thread exists. */
/* dlsym's object pointer as a function pointer (ISO C has no cast). */
#define RESOLVE(var, name)                                      \
	do {                                                    \
		void *sym_ = dlsym(RTLD_NEXT, name);            \
		memcpy(&(var), &sym_, sizeof(var));             \
	} while (0)

NOSAN static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	RESOLVE(real_calloc, "calloc");
	RESOLVE(real_realloc, "realloc");
	RESOLVE(real_posix_memalign, "posix_memalign");
	RESOLVE(real_aligned_alloc, "aligned_alloc");
	RESOLVE(real_free, "free");
	RESOLVE(real_malloc, "malloc");
	resolving = 0;
}

#ifdef __SANITIZE_ADDRESS__
#include <gnu/libc-version.h>

/* Under ASan, allocations made by glibc itself are neither counted nor
 * failed: the sanitizer's runtime starts every thread with
 * pthread_getattr_np, and that allocation failing is a CHECK failure
 * inside the sanitizer, not a path of the program (and its timing makes
 * the count race).  Natively glibc's are counted like the others. */
static int from_libc(const void *caller)
{
	static const void *libc_base;
	Dl_info info;

	if (!libc_base && dladdr((const void *)(uintptr_t)gnu_get_libc_version, &info))
		libc_base = info.dli_fbase;
	return dladdr(caller, &info) && info.dli_fbase == libc_base;
}
#define CALLER __builtin_return_address(0)
#else
#define from_libc(caller) ((void)(caller), 0)
#define CALLER NULL
#endif

/* True when this allocation must fail. */
NOSAN static int inject(const void *caller)
{
	if (!atomic_load(&armed) || from_libc(caller))
		return 0;
	long n = atomic_fetch_add(&counted, 1) + 1;
	if (n != atomic_load(&fail_at))
		return 0;
	atomic_fetch_add(&failed, 1);
	errno = ENOMEM;
	return 1;
}

NOSAN void fm_arm(long n)
{
	resolve();
	atomic_store(&counted, 0);
	atomic_store(&failed, 0);
	atomic_store(&fail_at, n);
	atomic_store(&armed, 1);
}

NOSAN long fm_disarm(void)
{
	atomic_store(&armed, 0);
	atomic_store(&fail_at, 0);
	return atomic_load(&counted);
}

NOSAN long fm_failed(void)
{
	return atomic_load(&failed);
}

PUBLIC void *malloc(size_t size)
{
	resolve();
	if (!real_malloc)
		return boot_alloc(size);
	return inject(CALLER) ? NULL : real_malloc(size);
}

PUBLIC void *calloc(size_t n, size_t size)
{
	resolve();
	if (!real_calloc || !real_malloc) {
		if (size && n > SIZE_MAX / size)
			return NULL;
		return boot_alloc(n * size);
	}
	return inject(CALLER) ? NULL : real_calloc(n, size);
}

PUBLIC void *realloc(void *p, size_t size)
{
	resolve();
	if (is_boot(p)) {
		/* Never grown in practice; copy out to the real heap. */
		void *q = malloc(size);
		if (q)
			memcpy(q, p, size < sizeof(boot) - (size_t)((char *)p - boot) ?
			       size : sizeof(boot) - (size_t)((char *)p - boot));
		return q;
	}
	return inject(CALLER) ? NULL : real_realloc(p, size);
}

PUBLIC int posix_memalign(void **out, size_t align, size_t size)
{
	resolve();
	if (inject(CALLER))
		return ENOMEM;
	return real_posix_memalign(out, align, size);
}

PUBLIC void *aligned_alloc(size_t align, size_t size)
{
	resolve();
	return inject(CALLER) ? NULL : real_aligned_alloc(align, size);
}

PUBLIC void free(void *p)
{
	if (!p || is_boot(p))
		return;
	resolve();
	real_free(p);
}
