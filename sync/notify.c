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

struct ak_notify {
	struct ak__notify core;
};

_Static_assert(sizeof(struct ak__notified) <= sizeof(((struct ak_notified_op *)0)->private_),
               "notified op storage too small");

static struct ak__notified *priv_of(struct ak_future *f)
{
	return (struct ak__notified *)(void *)&((struct ak_notified_op *)(void *)f)->private_;
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
	ak__free(notify);
	return 0;
}

AK_EXPORT int ak_notify_one(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	ak__notify_one(&notify->core);
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
	return ak__notified_poll(priv_of(f), cx);
}

static void notified_cancel(struct ak_future *f)
{
	/* A notify_one received and not consumed is passed on. */
	ak__notified_cancel(priv_of(f));
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
	ak__notified_init(priv_of(&op->future), &notify->core);
	return 0;
}

AK_EXPORT int ak_notified_blocking(struct ak_notified_op *op, struct ak_notify *notify,
                                   int64_t deadline)
{
	int rc = ak_notified_init(op, notify);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}
