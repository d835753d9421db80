/*
 * awaitkit: Notify, a wake-up signal between tasks.  See ak_notify(3).
 *
 * notify_one wakes the oldest waiting notified() operation, or stores one
 * permit when nobody waits (several calls still store one); notify_last
 * the newest instead; notify_waiters
 * wakes every operation waiting now, including those initialised before
 * the call but not yet polled, and stores nothing.
 *
 *   call                         thread
 *   ak_notify_new, _free         any (free: nobody waits)
 *   ak_notify_one, _last, _waiters   any
 *   ak_notified_init             the op's owner, op not pending
 *   ak_notified_enable           the op's owner
 *   poll, cancel of notified     the op's owner, one at a time
 *   ak_notified_blocking         a thread outside any poll
 */
#ifndef AK_NOTIFY_H
#define AK_NOTIFY_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_NOTIFIED 90

struct ak_notify;

/* A wait for a notification. */
struct ak_notified_op {
	struct ak_future future;
	AK_OP_PRIVATE(14) private_;
};

int ak_notify_new(struct ak_notify **out);
int ak_notify_free(struct ak_notify *notify);

int ak_notify_one(struct ak_notify *notify);
int ak_notify_last(struct ak_notify *notify);
int ak_notify_waiters(struct ak_notify *notify);

int ak_notified_init(struct ak_notified_op *op, struct ak_notify *notify);
int ak_notified_enable(struct ak_notified_op *op);
int ak_notified_blocking(struct ak_notified_op *op, struct ak_notify *notify,
                         int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
