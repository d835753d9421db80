/*
 * awaitkit: lock-order inversion detection (lockdep) for Mutex, RwLock and
 * the Semaphores created with a class.  See ak_lockdep(3).
 *
 * Off by default; AK_LOCKDEP=1 in the environment, or ak_lockdep_enable(1),
 * turns it on.  While on, every acquisition of a lock that has a class
 * (its creation site, or a name given at creation) is checked against the
 * orders seen so far, per task and branch path, and a new order that
 * closes a cycle is reported once, before any deadlock: to the handler
 * set by ak_lockdep_set_handler(), by default one line on stderr.
 *
 *   call                               thread
 *   ak_lockdep_enable, _enabled        any
 *   ak_lockdep_set_handler             any (the handler runs on the thread
 *                                      that saw the order, under no lock)
 *   ak_lockdep_count, _format          any
 *   ak_lockdep_reset                   any (AK_EBUSY while a lock it
 *                                      recorded is held)
 *   ak_lockdep_nest                    the operation's owner, before its
 *                                      first poll
 */
#ifndef AK_LOCKDEP_H
#define AK_LOCKDEP_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of report. */
#define AK_LOCKDEP_INVERSION 1   /* A then B here, B then A (or a chain) before */
#define AK_LOCKDEP_SAME_CLASS 2  /* a second lock of a held class, not nested */

/* Subclasses a nesting annotation may name: 0 (the default) to 7. */
#define AK_LOCKDEP_SUBCLASSES 8

/* One acquisition as lockdep saw it. */
struct ak_lockdep_lock {
	const char *class_name;      /* the class's name, or its creation file */
	int class_line;              /* its creation line; 0 for a named class */
	unsigned subclass;           /* from ak_lockdep_nest(); 0 otherwise */
	const char *file;            /* where it was taken */
	int line;
	int mode;                    /* AK_LOCK_READ or AK_LOCK_WRITE */
	uint64_t task;               /* the task's id (ak_task_slot_id) */
	struct ak_branch_path path;  /* its branch path then */
};

/*
 * taken was being acquired while held was held, in one task.  For an
 * inversion, the order seen before goes the other way: prior_taken (of
 * held's class, or for a longer chain the first step of it) was acquired
 * while prior_held (of taken's class) was held; chain counts the steps of
 * that earlier order (1: a direct B-then-A).
 */
struct ak_lockdep_report {
	int kind;                    /* AK_LOCKDEP_* */
	unsigned chain;
	struct ak_lockdep_lock held, taken;
	struct ak_lockdep_lock prior_held, prior_taken;
};

typedef void (*ak_lockdep_handler)(const struct ak_lockdep_report *r, void *arg);

int ak_lockdep_enable(int on);
int ak_lockdep_enabled(void);
void ak_lockdep_set_handler(ak_lockdep_handler fn, void *arg);
uint64_t ak_lockdep_count(void);
int ak_lockdep_format(const struct ak_lockdep_report *r, char *buf, size_t len);
int ak_lockdep_reset(void);
int ak_lockdep_nest(struct ak_future *op, unsigned subclass);

#ifdef __cplusplus
}
#endif
#endif
