/*
 * awaitkit: what the locks (ak_mutex(3), ak_rwlock(3)) share: their
 * diagnostics flags and what a lock knows of one of its holders.
 */
#ifndef AK_LOCK_INFO_H
#define AK_LOCK_INFO_H

#include <stdint.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of ak_mutex_new and ak_rwlock_new. */
#define AK_LOCK_NODIAG 0x1u   /* no holder records, no self-deadlock detection */
#define AK_LOCK_STATS 0x2u    /* hold statistics: held_ns, pending_polls */

/* Modes in struct ak_lock_info. */
#define AK_LOCK_READ 0
#define AK_LOCK_WRITE 1

/* pending_polls when the query was not given the holder's own slot. */
#define AK_LOCK_POLLS_UNKNOWN UINT64_MAX
/* held_ns of a lock that keeps no hold statistics (no AK_LOCK_STATS). */
#define AK_LOCK_HELD_UNKNOWN (-1)

/* What a lock knows of one of its holders. */
struct ak_lock_info {
	uint64_t task;               /* the holder's task id; 0 when unknown */
	struct ak_branch_path path;  /* its branch path at acquisition */
	const char *file;            /* where it took the lock */
	int line;
	int mode;                    /* AK_LOCK_READ or AK_LOCK_WRITE */
	int64_t held_ns;             /* since acquisition */
	uint64_t pending_polls;      /* the holder's AK_PENDING polls since */
};

#ifdef __cplusplus
}
#endif

#endif
