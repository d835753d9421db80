/* awaitkit: counters for finding leaks.  See ak_debug_counters(3). */
#ifndef AK_DEBUG_H
#define AK_DEBUG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Not named after the function: in C++ a function hides a struct of the same
 * name, and users would have to write "struct" before every use.
 */
struct ak_debug_counts {
	int64_t waker_clones;   /* waker clones the library holds now */
	int64_t parked_ops;     /* operations parked in a waiter queue now */
	int64_t live_objects;   /* library allocations not yet freed */
	int64_t allocations;    /* allocations made since the process started */
};

int ak_debug_counters(struct ak_debug_counts *out);

#ifdef __cplusplus
}
#endif
#endif
