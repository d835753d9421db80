/*
 * awaitkit: the async RwLock, fair and write-preferring (a waiting writer
 * blocks later readers), on max_readers permits: a read takes one, a write
 * takes them all.  See ak_rwlock(3).
 *
 * The completed read or write operation is the guard: released with
 * ak_rwlock_unlock(op); a write guard can be downgraded to a read guard.
 *
 *   call                            thread
 *   ak_rwlock_new, ak_rwlock_free   any (free: nobody holds or waits)
 *   read/write init + poll          the operation's owner
 *   ak_rwlock_try_read/try_write    any
 *   *_blocking                      a thread outside any poll
 *   ak_rwlock_unlock, downgrade     the guard's owner (any thread)
 *   ak_rwlock_holders               any
 */
#ifndef AK_RWLOCK_H
#define AK_RWLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/lock_info.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kinds (ak_op_size). */
#define AK_OP_RWLOCK 80

/* The most readers a RwLock admits (tokio's u32::MAX >> 3). */
#define AK_RWLOCK_MAX_READERS (UINT32_MAX >> 3)

struct ak_rwlock;

/* A read or write operation; once it returns 0, the guard.  32 words. */
struct ak_rwlock_op {
	struct ak_future future;
	AK_OP_PRIVATE(32) private_;
};

int ak_rwlock_new(struct ak_rwlock **out, uint32_t max_readers, unsigned flags);
int ak_rwlock_new_class_at(struct ak_rwlock **out, uint32_t max_readers, unsigned flags,
                           const char *name, const char *file, int line);
int ak_rwlock_free(struct ak_rwlock *rw);

int ak_rwlock_read_init_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                           const char *file, int line);
int ak_rwlock_write_init_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                            const char *file, int line);
int ak_rwlock_try_read_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                          struct ak_context *cx, const char *file, int line);
int ak_rwlock_try_write_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                           struct ak_context *cx, const char *file, int line);
int ak_rwlock_read_blocking_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                               int64_t deadline, const char *file, int line);
int ak_rwlock_write_blocking_at(struct ak_rwlock_op *op, struct ak_rwlock *rw,
                                int64_t deadline, const char *file, int line);
int ak_rwlock_unlock(struct ak_rwlock_op *op);
int ak_rwlock_downgrade(struct ak_rwlock_op *op);
int ak_rwlock_holders(struct ak_rwlock *rw, struct ak_task_slot *slot,
                      struct ak_lock_info *out, size_t cap);

/* The creation site (or the name) is the lock's class for ak_lockdep(3):
 * the function ak_rwlock_new, called without the macro, gives none. */
#define ak_rwlock_new(out, max_readers, flags) \
	ak_rwlock_new_class_at((out), (max_readers), (flags), NULL, __FILE__, __LINE__)
#define ak_rwlock_new_class(out, max_readers, flags, name) \
	ak_rwlock_new_class_at((out), (max_readers), (flags), (name), __FILE__, __LINE__)

/* The acquisition site is recorded through these. */
#define ak_rwlock_read_init(op, rw) ak_rwlock_read_init_at((op), (rw), __FILE__, __LINE__)
#define ak_rwlock_write_init(op, rw) ak_rwlock_write_init_at((op), (rw), __FILE__, __LINE__)
#define ak_rwlock_try_read(op, rw, cx) \
	ak_rwlock_try_read_at((op), (rw), (cx), __FILE__, __LINE__)
#define ak_rwlock_try_write(op, rw, cx) \
	ak_rwlock_try_write_at((op), (rw), (cx), __FILE__, __LINE__)
#define ak_rwlock_read_blocking(op, rw, deadline) \
	ak_rwlock_read_blocking_at((op), (rw), (deadline), __FILE__, __LINE__)
#define ak_rwlock_write_blocking(op, rw, deadline) \
	ak_rwlock_write_blocking_at((op), (rw), (deadline), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
