/*
 * awaitkit: the async counting semaphore.  See ak_semaphore(3).
 *
 * A fair (FIFO) semaphore: an acquire of n permits waits behind every
 * acquire queued before it, even when fewer permits would serve a later,
 * smaller one (head-of-line, as tokio's acquire_many).  The completed
 * acquire operation holds the permits and gives them back through
 * ak_semaphore_release(op).
 *
 *   call                                   thread
 *   ak_semaphore_new, _free                any (free: nobody waits)
 *   ak_semaphore_acquire_init              the op's owner, op not pending
 *   poll, cancel of the acquire            the op's owner, one at a time
 *   ak_semaphore_try_acquire               any (op: its owner)
 *   ak_semaphore_acquire_blocking          a thread outside any poll
 *   ak_semaphore_release, _permits,        the op's owner (both ops')
 *     _split, _merge, _forget_op
 *   add_permits, forget, close, queries    any
 */
#ifndef AK_SEMAPHORE_H
#define AK_SEMAPHORE_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most permits a semaphore holds; more is AK_EOVERFLOW, never wrapped. */
#define AK_SEMAPHORE_MAX_PERMITS (UINT64_MAX >> 3)

/* Operation kinds (ak_op_size). */
#define AK_OP_SEMAPHORE_ACQUIRE 60

struct ak_semaphore;

/* An acquire of n permits; once completed (0), it holds them. */
struct ak_semaphore_acquire_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_semaphore_new(struct ak_semaphore **out, uint64_t permits);
int ak_semaphore_new_class_at(struct ak_semaphore **out, uint64_t permits, const char *name,
                              const char *file, int line);
int ak_semaphore_free(struct ak_semaphore *sem);

int ak_semaphore_acquire_init(struct ak_semaphore_acquire_op *op,
                              struct ak_semaphore *sem, uint64_t n);
int ak_semaphore_try_acquire(struct ak_semaphore_acquire_op *op,
                             struct ak_semaphore *sem, uint64_t n);
int ak_semaphore_acquire_blocking(struct ak_semaphore_acquire_op *op,
                                  struct ak_semaphore *sem, uint64_t n,
                                  int64_t deadline);
int ak_semaphore_acquire_init_at(struct ak_semaphore_acquire_op *op,
                                 struct ak_semaphore *sem, uint64_t n,
                                 const char *file, int line);
int ak_semaphore_acquire_blocking_at(struct ak_semaphore_acquire_op *op,
                                     struct ak_semaphore *sem, uint64_t n,
                                     int64_t deadline, const char *file, int line);
int ak_semaphore_release(struct ak_semaphore_acquire_op *op);
uint64_t ak_semaphore_permits(const struct ak_semaphore_acquire_op *op);
int ak_semaphore_split(struct ak_semaphore_acquire_op *op, uint64_t n,
                       struct ak_semaphore_acquire_op *other);
int ak_semaphore_merge(struct ak_semaphore_acquire_op *op,
                       struct ak_semaphore_acquire_op *other);
int ak_semaphore_forget_op(struct ak_semaphore_acquire_op *op);

int ak_semaphore_add_permits(struct ak_semaphore *sem, uint64_t n);
int ak_semaphore_forget(struct ak_semaphore *sem, uint64_t n, uint64_t *forgotten);
int ak_semaphore_close(struct ak_semaphore *sem);
int ak_semaphore_is_closed(const struct ak_semaphore *sem);
uint64_t ak_semaphore_available_permits(const struct ak_semaphore *sem);

/* A semaphore used as a lock: its completed acquires are held locks of a
 * class for ak_lockdep(3), the name given, or (NULL) the creation site.
 * ak_semaphore_new gives none. */
#define ak_semaphore_new_class(out, permits, name) \
	ak_semaphore_new_class_at((out), (permits), (name), __FILE__, __LINE__)
/* The acquisition site is recorded through these (for lockdep's reports). */
#define ak_semaphore_acquire_init(op, sem, n) \
	ak_semaphore_acquire_init_at((op), (sem), (n), __FILE__, __LINE__)
#define ak_semaphore_acquire_blocking(op, sem, n, deadline) \
	ak_semaphore_acquire_blocking_at((op), (sem), (n), (deadline), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
