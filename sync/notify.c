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

/*
 * The free refuses (AK_EBUSY) while an operation that parked has not
 * finished: the core's queue no longer holds one that notify_one granted
 * and its owner has not yet polled, yet its cancel would pass the grant on
 * through the notify.  The core counts the parks under its lock
 * (ak__notify_parks()); finished counts those that completed or were
 * cancelled since, touched only when a parked operation finishes, never on
 * the fast path (a stored permit or a moved generation).  The difference
 * is what still waits.
 */
struct ak_notify {
	struct ak__notify core;
	ak__atomic(uint64_t) finished;  /* parked operations since finished */
};

/* The operation's private storage. */
struct notified_priv {
	struct ak__notified o;
	uintptr_t parked;             /* owner only: counted in the core's parks */
};
_Static_assert(sizeof(struct notified_priv) <= sizeof(((struct ak_notified_op *)0)->private_),
               "notified op storage too small");

static struct notified_priv *priv_of(struct ak_future *f)
{
	return (struct notified_priv *)(void *)&((struct ak_notified_op *)(void *)f)->private_;
}

static struct ak_notify *notify_of(struct notified_priv *p)
{
	return (struct ak_notify *)(void *)p->o.notify;
}

/* The operation finished or was cancelled: no longer waiting. */
static void unpark(struct notified_priv *p)
{
	if (p->parked) {
		p->parked = 0;
		ak__alone_fetch_add(&notify_of(p)->finished, 1, AK__RELAXED);
	}
}

AK_EXPORT int ak_notify_new(struct ak_notify **out)
{
	if (!out)
		return AK_EINVAL;
	struct ak_notify *n = ak__alloc(sizeof(*n));
	if (!n)
		return AK_ENOMEM;
	ak__notify_init(&n->core);
	ak__init(&n->finished, 0);
	*out = n;
	return 0;
}

AK_EXPORT int ak_notify_free(struct ak_notify *notify)
{
	if (!notify)
		return AK_EINVAL;
	/* Relaxed: the page allows nothing on the notify concurrently. */
	if (ak__notify_parks(&notify->core) != ak__load(&notify->finished, AK__RELAXED))
		return AK_EBUSY;        /* an operation parked and not finished */
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
	struct notified_priv *p = priv_of(f);
	/* Not budgeted, as tokio's Notified. */
	int rc = ak__notified_poll(&p->o, cx);
	if (rc == AK_PENDING) {
		p->parked = 1;          /* the core counted its park */
		return rc;
	}
	unpark(p);
	return rc;
}

static void notified_cancel(struct ak_future *f)
{
	struct notified_priv *p = priv_of(f);
	/* A notify_one received and not consumed is passed on. */
	ak__notified_cancel(&p->o);
	unpark(p);
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
	struct notified_priv *p = priv_of(&op->future);
	ak__notified_init(&p->o, &notify->core);
	p->parked = 0;
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
	/* Queued, or holding a permit that its cancel would pass on: like a
	 * parked op, it must not move and the notify must outlive it. */
	uint32_t st = ak__load(&p->o.w.state, AK__RELAXED);
	if (st != AK__W_IDLE) {
		p->parked = 1;          /* the core counted it */
		ak__future_set_phase(&op->future, AK_FUTURE_PENDING);
	}
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
