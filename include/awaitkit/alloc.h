/*
 * awaitkit: the allocator the library takes its memory from.  See
 * ak_set_allocator(3).
 */
#ifndef AK_ALLOC_H
#define AK_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* alloc returns size bytes aligned for any type, or NULL; the library
 * zeroes them itself.  free takes a block alloc returned (never NULL). */
struct ak_allocator {
	void *(*alloc)(size_t size, void *arg);
	void (*free)(void *p, void *arg);
	void *arg;
};

int ak_set_allocator(const struct ak_allocator *allocator);

#ifdef __cplusplus
}
#endif
#endif
