/*
 * tests/alloc/failmalloc.h: a test-only malloc interposer.
 *
 * failmalloc.c defines malloc, calloc, realloc, posix_memalign,
 * aligned_alloc and free in the sweep's executable.  By ELF symbol
 * interposition (the executable comes first in every lookup, as an
 * LD_PRELOAD object would), every call in the process goes through them:
 * the library's own ak__alloc (core/shim.c), liburcu's direct mallocs
 * (none since watch stopped using liburcu-bp in issue 17), glibc's
 * (pthread_create's thread descriptors) and, under AddressSanitizer, they forward to ASan's
 * allocator, so ASan still sees every block.  While armed, the n-th counted
 * allocation fails with ENOMEM; everything else is forwarded unchanged.
 */
#ifndef AK_TESTS_FAILMALLOC_H
#define AK_TESTS_FAILMALLOC_H

/* Counts allocations from now on; the n-th fails (n = 0: count only). */
void fm_arm(long n);

/* Stops counting and failing; returns how many allocations were counted
 * since fm_arm (the failed one included). */
long fm_disarm(void);

/* Allocations that failed because of fm_arm since then (0 or 1). */
long fm_failed(void);

#endif
