/*
 * sync/notify.c: the public Notify, a thin layer over the notify core
 * (core/notify.h), which holds the permit, the FIFO of waiters, the
 * notify_waiters generation and the pass-on of a cancelled notification.
 * This file adds the handle, the operation and the blocking form.
 */
#include <awaitkit/block_on.h>
#include <awaitkit/error.h>
#include <awaitkit/notify.h>

#include "../core/core.h"
#include "../core/notify.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_NOTIFIED, struct ak_notified_op);

/* The free refuses (AK_EBUSY) while an operation still needs the notify:
 * the core keeps the count (ak__notify_destroy()). */
struct ak_notify {
	struct ak__notify core;
};

/* The operation's private storage. */
struct notified_priv {
	struct ak__notified o;
};
_Static_assert(sizeof(struct notified_priv) <= sizeof(((struct ak_notified_op *)0)->private_),
               "notified op storage too small");

static struct notified_priv *priv_of(struct ak_future *f)
{
	return (struct notified_priv *)(void *)&((struct ak_notified_op *)(void *)f)->private_;
}

AK_EXPORT int ak_notify_new(struct ak_notify **out)
{
	if (!out)
		return AK_EINVAL;
	struct ak_notify *n = ak__alloc(sizeof(*n));
	if (!n)
		return AK_ENOMEM;
	ak__notify_init(&n->core);
	*out = n;
	return 0;
}

AK_EXPORT int ak_notify_free(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	int rc = ak__notify_destroy(&notify->core);
	if (rc)
		return rc;
	ak__free_sized(notify, sizeof(*notify));
	return 0;
}

AK_EXPORT int ak_notify_one(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	ak__notify_one(&notify->core);
	return 0;
}

AK_EXPORT int ak_notify_last(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	ak__notify_last(&notify->core);
	return 0;
}

AK_EXPORT int ak_notify_waiters(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	ak__notify_waiters(&notify->core);
	return 0;
}

static int notified_poll(struct ak_future *f, struct ak_context *cx)
{
	/* Not budgeted, as tokio's Notified. */
	return ak__notified_poll(&priv_of(f)->o, cx);
}

static void notified_cancel(struct ak_future *f)
{
	/* A notify_one received and not consumed is passed on. */
	ak__notified_cancel(&priv_of(f)->o);
}

static const struct ak_future_vtable notified_vtable = { notified_poll, notified_cancel };

AK_EXPORT int ak_notified_init(struct ak_notified_op *op, struct ak_notify *notify)
{
	if (!op || !notify)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &notified_vtable);
	if (rc)
		return rc;
	/* Captures the notify_waiters generation: a later notify_waiters
	 * completes this op even before its first poll. */
	ak__notified_init(&priv_of(&op->future)->o, &notify->core);
	return 0;
}

AK_EXPORT int ak_notified_enable(struct ak_notified_op *op)
{
	if (!op || op->future.vtable != &notified_vtable)
		return AK_EINVAL;
	int phase = ak__future_phase(&op->future);
	if (phase != AK_FUTURE_IDLE && phase != AK_FUTURE_PENDING)
		return AK_EINVAL;       /* never bound, or finished */
	struct notified_priv *p = priv_of(&op->future);
	int notified = ak__notified_enable(&p->o);
	/* Queued, in the slot, or holding a permit that its cancel would
	 * pass on: like a parked op, it must not move and the notify must
	 * outlive it. */
	if (ak__load(&p->o.w.state, AK__RELAXED) != AK__W_IDLE || p->o.slot)
		ak__future_set_phase(&op->future, AK_FUTURE_PENDING);
	return notified;
}

AK_EXPORT int ak_notified_blocking(struct ak_notified_op *op, struct ak_notify *notify,
                                   int64_t deadline)
{
	int rc = ak_notified_init(op, notify);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}
