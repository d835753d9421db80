/*
 * core/until.h: an operation that waits until a condition holds, woken
 * through a notify core.  Internal; the senders' closed() of mpsc, watch
 * and broadcast is this, written once: a whole future (ak__until_op_init)
 * for which a primitive supplies only its condition and its references
 * (struct ak__until_ops).
 *
 * A poll arms (captures the notify's generation) before it looks at the
 * condition, so a change that comes after the look notifies after it and
 * completes the wait; a notified wait looks again from a fresh arm (the
 * condition may have been undone since: a broadcast subscribe re-arms
 * closed()).  While parked, the operation holds a reference on the object
 * (ops->get), so dropping every handle under it is safe; it spends budget
 * as every operation does.
 *
 *   call                                 thread
 *   ak__until_poll, _cancel, _op_init    the operation's owner
 */
#ifndef AK_CORE_UNTIL_H
#define AK_CORE_UNTIL_H

#include "notify.h"

struct ak__until {
	struct ak__notified n;
	uint32_t armed;
	uint32_t holds_ref;
};

struct ak__until_ops {
	int (*holds)(void *obj);        /* the condition, looked at after arming */
	void (*get)(void *obj);         /* a reference while parked */
	void (*put)(void *obj);
};

/* 0 once the condition holds, AK_PENDING, or an error of the notify core. */
int ak__until_poll(struct ak__until *u, struct ak__notify *n, const struct ak__until_ops *ops,
                   void *obj, struct ak_context *cx);
void ak__until_cancel(struct ak__until *u, const struct ak__until_ops *ops, void *obj);

/*
 * The whole operation: binds the future f (the header of an operation
 * struct whose private storage holds a struct ak__until_op) to wait on n
 * until ops->holds(obj).  Its poll and cancel are ak__until_poll and
 * ak__until_cancel; a cancel of storage never bound does nothing.
 */
struct ak__until_op {
	struct ak__until u;
	const struct ak__until_ops *ops;
	void *obj;
	struct ak__notify *n;
};

int ak__until_op_init(struct ak_future *f, const struct ak__until_ops *ops, void *obj,
                      struct ak__notify *n);

#endif
