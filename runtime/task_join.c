/* runtime/task_join.c: the join operation of <awaitkit/task.h>. */
#include <string.h>

#include <awaitkit/block_on.h>

#include "task.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_TASK_JOIN, struct ak_task_join_op);

/* ---- joining ------------------------------------------------------------------
 * The join slot is claimed with JOIN_CLAIMED (one join at a time); its
 * owner writes join_waker only while JOIN_WAKER is clear, and publishes it
 * by setting JOIN_WAKER.  finish() takes the waker if it finds JOIN_WAKER;
 * a joiner that wants to replace or drop it clears JOIN_WAKER first, which
 * fails once DONE is set.
 */
struct join_priv {
	struct ak_task *task;
	uintptr_t registered;   /* this op holds JOIN_CLAIMED */
};
_Static_assert(sizeof(struct join_priv) <= sizeof(((struct ak_task_join_op *)0)->private_),
               "task join op storage too small");

static struct join_priv *join_of(struct ak_future *f)
{
	return (struct join_priv *)(void *)&((struct ak_task_join_op *)(void *)f)->private_;
}

/* The task is DONE and the caller saw it with acquire. */
static int join_complete(struct join_priv *j, struct ak_context *cx)
{
	j->registered = 0;
	ak__coop_spend(cx);
	return j->task->result;
}

static int join_poll(struct ak_future *f, struct ak_context *cx)
{
	struct join_priv *j = join_of(f);
	struct ak_task *t = j->task;

	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	/* acquire: pairs with the release in finish(); every failed CAS
	 * below reloads with acquire for the same reason. */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	if (s & AK__T_DONE)
		return join_complete(j, cx);
	if (!j->registered) {
		for (;;) {
			if (s & AK__T_DONE)
				return join_complete(j, cx);
			if (s & AK__T_JOIN_CLAIMED)
				return AK_EBUSY;
			if (ak__cas_weak(&t->state, &s, s | AK__T_JOIN_CLAIMED,
			                 AK__ACQUIRE, AK__ACQUIRE))
				break;
		}
		j->registered = 1;
	} else if (s & AK__T_JOIN_WAKER) {
		/* Read-only while finish() may read it too. */
		if (ak_waker_will_wake(&t->join_waker, &cx->waker))
			return AK_PENDING;
		for (;;) {
			if (s & AK__T_DONE)
				return join_complete(j, cx);
			if (ak__cas_weak(&t->state, &s, s & ~(uint32_t)AK__T_JOIN_WAKER,
			                 AK__ACQUIRE, AK__ACQUIRE))
				break;
		}
		ak__waker_drop_kept(&t->join_waker);
	}
	/* JOIN_WAKER is clear and the slot is ours. */
	if (ak__waker_keep(&cx->waker, &t->join_waker) != 0) {
		s = ak__load(&t->state, AK__RELAXED);
		while (!(s & AK__T_DONE) &&
		       !ak__cas_weak(&t->state, &s, s & ~(uint32_t)AK__T_JOIN_CLAIMED,
		                     AK__RELAXED, AK__RELAXED))
			;
		j->registered = 0;
		return AK_ENOMEM;
	}
	s = ak__load(&t->state, AK__RELAXED);
	for (;;) {
		if (s & AK__T_DONE) {
			ak__waker_drop_kept(&t->join_waker);
			/* acquire: pairs with the release in finish(). */
			(void)ak__load(&t->state, AK__ACQUIRE);
			return join_complete(j, cx);
		}
		/* release: pairs with the acquire in finish(), which then
		 * reads join_waker. */
		if (ak__cas_weak(&t->state, &s, s | AK__T_JOIN_WAKER, AK__RELEASE,
		                 AK__RELAXED))
			return AK_PENDING;
	}
}

static void join_cancel(struct ak_future *f)
{
	struct join_priv *j = join_of(f);
	struct ak_task *t = j->task;

	if (!j->registered)
		return;
	j->registered = 0;
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	for (;;) {
		if (s & AK__T_DONE)
			return;         /* finish() took the waker, if any */
		uint32_t next = s & ~(uint32_t)(AK__T_JOIN_CLAIMED | AK__T_JOIN_WAKER);
		/* acquire: the waker we take back is the one we wrote; nothing
		 * else to pair with. */
		if (ak__cas_weak(&t->state, &s, next, AK__ACQUIRE, AK__RELAXED))
			break;
	}
	if (s & AK__T_JOIN_WAKER)
		ak__waker_drop_kept(&t->join_waker);
}

static const struct ak_future_vtable join_vtable = { join_poll, join_cancel };

AK_EXPORT int ak_task_join_init(struct ak_task_join_op *op, struct ak_task *task)
{
	if (!op || !task)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &join_vtable);
	if (rc == 0) {
		struct join_priv *j = join_of(&op->future);
		j->task = task;
		j->registered = 0;
	}
	return rc;
}

AK_EXPORT int ak_task_join_blocking(struct ak_task *task, int64_t deadline)
{
	struct ak_task_join_op op;

	if (!task)
		return AK_EINVAL;
	/* Fresh storage: ak_future_init() refuses what looks parked. */
	memset(&op, 0, sizeof op);
	int rc = ak_task_join_init(&op, task);
	return rc ? rc : ak_block_on(&op.future, deadline);
}
