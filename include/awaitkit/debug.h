/* awaitkit: counters for finding leaks.  See ak_debug_counters(3). */
#ifndef AK_DEBUG_H
#define AK_DEBUG_H

#include <sched.h>
#include <stdint.h>
#include <awaitkit/block_on.h>
#include <awaitkit/error.h>

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

/*
 * 0 once the counters of what is live (waker clones, parked operations,
 * live objects) read zero, AK_EBUSY if they do not within timeout_ns; *out
 * (if not NULL) gets the last reading.  Waiting is needed: a thread the
 * caller cannot join (the timer thread, a worker that just woke a task)
 * drops its reference just after its wake.  Yields between readings.
 */
static inline int ak_debug_wait_zero(int64_t timeout_ns, struct ak_debug_counts *out)
{
	struct ak_debug_counts c;
	int64_t deadline = ak_deadline_in(timeout_ns);

	for (;;) {
		int rc = ak_debug_counters(&c);
		if (rc == 0 && (c.waker_clones || c.parked_ops || c.live_objects))
			rc = ak_now() < deadline ? AK_PENDING : AK_EBUSY;
		if (rc != AK_PENDING) {
			if (out)
				*out = c;
			return rc;
		}
		sched_yield();
	}
}

#ifdef __cplusplus
}
#endif
#endif
