/* awaitkit: counters for finding leaks.  See ak_debug_counters(3). */
#ifndef AK_DEBUG_H
#define AK_DEBUG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_debug_counters {
	int64_t waker_clones;   /* waker clones the library holds now */
	int64_t parked_ops;     /* operations parked in a waiter queue now */
	int64_t live_objects;   /* library allocations not yet freed */
	int64_t allocations;    /* allocations made since the process started */
};

int ak_debug_counters(struct ak_debug_counters *out);

#ifdef __cplusplus
}
#endif
#endif
