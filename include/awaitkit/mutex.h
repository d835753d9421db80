/*
 * awaitkit: the async Mutex, fair (FIFO) and aware of being held across
 * awaits.  See ak_mutex(3).
 *
 * The completed lock operation is the guard: it is released with
 * ak_mutex_unlock(op), and must not move or be reused while it holds.
 *
 *   call                          thread
 *   ak_mutex_new, ak_mutex_free   any (free: nobody holds or waits)
 *   ak_mutex_lock_init + poll     the operation's owner
 *   ak_mutex_try_lock             any
 *   ak_mutex_lock_blocking        a thread outside any poll
 *   ak_mutex_unlock               the guard's owner (any thread)
 *   ak_mutex_holder, is_locked    any
 */
#ifndef AK_MUTEX_H
#define AK_MUTEX_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/lock_info.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_MUTEX_LOCK 70

/* Flag of ak_mutex_new only (those it shares with ak_rwlock_new are in
 * <awaitkit/lock_info.h>). */
#define AK_MUTEX_BARGING 0x4u /* a newcomer may take a free lock before the
                                 waiters; a waiter starved 1 ms is handed it */

struct ak_mutex;

/* A lock operation; once it returns 0, the guard.  32 words. */
struct ak_mutex_lock_op {
	struct ak_future future;
	AK_OP_PRIVATE(32) private_;
};

int ak_mutex_new(struct ak_mutex **out, unsigned flags);
int ak_mutex_new_class_at(struct ak_mutex **out, unsigned flags, const char *name,
                          const char *file, int line);
int ak_mutex_free(struct ak_mutex *m);

int ak_mutex_lock_init_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                          const char *file, int line);
int ak_mutex_try_lock_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                         struct ak_context *cx, const char *file, int line);
int ak_mutex_lock_blocking_at(struct ak_mutex_lock_op *op, struct ak_mutex *m,
                              int64_t deadline, const char *file, int line);
int ak_mutex_unlock(struct ak_mutex_lock_op *op);
int ak_mutex_is_locked(struct ak_mutex *m);
int ak_mutex_holder(struct ak_mutex *m, struct ak_task_slot *slot,
                    struct ak_lock_info *info);

/* The creation site (or the name) is the lock's class for ak_lockdep(3):
 * the function ak_mutex_new, called without the macro, gives none. */
#define ak_mutex_new(out, flags) ak_mutex_new_class_at((out), (flags), NULL, __FILE__, __LINE__)
#define ak_mutex_new_class(out, flags, name) \
	ak_mutex_new_class_at((out), (flags), (name), __FILE__, __LINE__)

/* The acquisition site is recorded through these. */
#define ak_mutex_lock_init(op, m) ak_mutex_lock_init_at((op), (m), __FILE__, __LINE__)
#define ak_mutex_try_lock(op, m, cx) ak_mutex_try_lock_at((op), (m), (cx), __FILE__, __LINE__)
#define ak_mutex_lock_blocking(op, m, deadline) \
	ak_mutex_lock_blocking_at((op), (m), (deadline), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
