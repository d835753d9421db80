/*
 * sync/lockdep.h: the hooks Mutex, RwLock and Semaphore call into the
 * lock-order checker (sync/lockdep.c, ak_lockdep(3)).  Internal.
 *
 * Off, a lock pays one load and one predictable branch per acquisition
 * (ak__lockdep_wanted) and one branch on its own operation's storage per
 * release (ld.entry).  On, everything runs under lockdep's one lock.
 *
 * A lock's class is the site (file, line) or name it was created with,
 * resolved to an index of lockdep's arena at first use and cached in the
 * lock.  The held-lock set of a task is a record of the arena anchored in
 * a word of the task's slot (the thread's own word for ak_block_on, whose
 * slot lives one call): it follows the task from worker to worker, and a
 * guard names its entry in that record, so a release never touches a
 * slot, and works from any thread after the task is gone.
 *
 *   call                       lock taken        thread
 *   ak__lockdep_check          lockdep's         the op's owner, in its poll
 *   ak__lockdep_took           lockdep's         the op's owner, in its poll
 *   ak__lockdep_release        lockdep's         the guard's owner
 *   ak__lockdep_set_mode       lockdep's         the guard's owner
 */
#ifndef AK_SYNC_LOCKDEP_H
#define AK_SYNC_LOCKDEP_H

#include <stdint.h>

#include <awaitkit/lockdep.h>

#include "../core/core.h"

/* The switch: 0 off, 1 on, 2 not yet read from the environment. */
extern ak__atomic(int) ak__lockdep_state;

static inline int ak__lockdep_wanted(void)
{
	/* Relaxed: a switch, it publishes nothing. */
	return __builtin_expect(ak__load(&ak__lockdep_state, AK__RELAXED) != 0, 0);
}

/* Reads the environment the first time; 1 when on. */
int ak__lockdep_on(void);

/* A lock's class; name NULL: none.  The cache is lockdep's (its lock). */
struct ak__ld_class {
	const char *name;            /* creation file, or a given name */
	int32_t line;                /* 0 for a given name */
	uint32_t gen;                /* arena generation of idx */
	uint32_t idx;                /* class index + 1 */
};

static inline void ak__ld_class_init(struct ak__ld_class *c, const char *name,
                                     const char *file, int line)
{
	c->name = name ? name : file;
	c->line = name ? 0 : line;
	c->gen = 0;
	c->idx = 0;
}

/* Lockdep's part of a lock operation: zero when idle. */
struct ak__ld_op {
	uint32_t entry;              /* held entry + 1 while recorded */
	uint16_t subclass;           /* ak_lockdep_nest() */
	uint16_t checked;            /* the order was checked at the first poll */
};

/* One acquisition being checked or recorded. */
struct ak__ld_acq {
	struct ak__ld_class *cls;
	const void *lock;
	const char *file;
	int line;
	int mode;
};

/* The order checks of an acquisition about to be tried (no-op without a
 * class or a task): reports what it closes.  Sets op->checked. */
void ak__lockdep_check(struct ak__ld_op *op, const struct ak__ld_acq *a,
                       struct ak_context *cx);
/* The lock is taken: records it in the task's held set. */
void ak__lockdep_took(struct ak__ld_op *op, const struct ak__ld_acq *a,
                      struct ak_context *cx);
/* The guard releases: out of the held set (op->entry != 0). */
void ak__lockdep_release(struct ak__ld_op *op);
/* A held entry changes mode (RwLock downgrade). */
void ak__lockdep_set_mode(struct ak__ld_op *op, int mode);

/* Each lock file's: its op's lockdep part, or NULL when f is not one of
 * its operations or no longer idle (ak_lockdep_nest). */
struct ak__ld_op *ak__mutex_ld_op(struct ak_future *f);
struct ak__ld_op *ak__rwlock_ld_op(struct ak_future *f);
struct ak__ld_op *ak__semaphore_ld_op(struct ak_future *f);

#endif
