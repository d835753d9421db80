/*
 * chan/watch_wait.c: waiting on a watch channel: changed(), wait_for()
 * and the senders' closed().  See chan/watch.c for the design (Waiting)
 * and ak_watch(3).
 */
#include <string.h>

#include <awaitkit/block_on.h>

#include "watch_chan.h"
#include "../core/until.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_WATCH_CHANGED, struct ak_watch_changed_op);
AK__OP_KIND(AK_OP_WATCH_WAIT_FOR, struct ak_watch_wait_for_op);
AK__OP_KIND(AK_OP_WATCH_CLOSED, struct ak_watch_closed_op);

/* ---- waiting on the version -------------------------------------------------- */

/* The wait part shared by changed() and wait_for(). */
struct version_wait {
	struct ak__notified n;
	struct ak_watch_receiver *rx;
	uint32_t armed;             /* n initialised and not consumed */
	uint32_t holds_rx;          /* parked: a reference on rx */
};

/* Captures the notify generation: must come before looking at the version. */
static void vw_arm(struct version_wait *vw)
{
	if (!vw->armed) {
		ak__notified_init(&vw->n, &vw->rx->w->changed);
		vw->armed = 1;
	}
}

static void vw_disarm(struct version_wait *vw)
{
	if (vw->armed) {
		ak__notified_cancel(&vw->n);
		vw->armed = 0;
	}
}

/* 0: a publish (or the close) happened since vw_arm: look again.  A wait
 * that parks holds a reference on its receiver until vw_finish(). */
static int vw_wait(struct version_wait *vw, struct ak_context *cx)
{
	int rc = ak__notified_poll(&vw->n, cx);
	if (rc != AK_PENDING)
		vw->armed = 0;       /* consumed, or cancelled on error */
	else if (!vw->holds_rx) {
		vw->rx->refs++;
		vw->holds_rx = 1;
	}
	return rc;
}

/* The operation is done (completed, failed or cancelled): leaves the
 * notify core and gives the receiver back, maybe freeing it and the
 * channel; the last thing it does. */
static int vw_finish(struct version_wait *vw, int rc)
{
	vw_disarm(vw);
	if (vw->holds_rx) {
		vw->holds_rx = 0;
		ak__watch_receiver_put(vw->rx);
	}
	return rc;
}

struct changed_priv {
	struct version_wait vw;
};
_Static_assert(sizeof(struct changed_priv) <= sizeof(((struct ak_watch_changed_op *)0)->private_),
               "watch changed op storage too small");

static struct changed_priv *changed_priv(struct ak_future *f)
{
	return (struct changed_priv *)(void *)&((struct ak_watch_changed_op *)(void *)f)->private_;
}

static int changed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct changed_priv *p = changed_priv(f);
	struct ak_watch_receiver *rx = p->vw.rx;
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (rx->dropped)
			return vw_finish(&p->vw, AK_EPIPE);
		vw_arm(&p->vw);
		/* Closed first: then the version read after it is the last. */
		int closed = ak__watch_senders_gone(rx->w);
		uint64_t v = ak__watch_current_version(rx->w);
		if (v != rx->seen) {
			rx->seen = v;
			ak__coop_spend(cx);
			return vw_finish(&p->vw, 0);
		}
		if (closed)
			return vw_finish(&p->vw, AK_EPIPE);
		rc = vw_wait(&p->vw, cx);
		if (rc == AK_PENDING)
			return rc;
		if (rc)
			return vw_finish(&p->vw, rc);
	}
}

static void changed_cancel(struct ak_future *f)
{
	(void)vw_finish(&changed_priv(f)->vw, 0);
}

static const struct ak_future_vtable changed_vtable = { changed_poll, changed_cancel };

AK_EXPORT int ak_watch_changed_init(struct ak_watch_changed_op *op, struct ak_watch_receiver *rx)
{
	if (!op || !rx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &changed_vtable);
	if (rc)
		return rc;
	struct changed_priv *p = changed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->vw.rx = rx;
	return 0;
}

AK_EXPORT int ak_watch_changed_blocking(struct ak_watch_receiver *rx, int64_t deadline)
{
	struct ak_watch_changed_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_changed_init(&op, rx);
	return rc ? rc : ak_block_on(&op.future, deadline);
}

struct wait_for_priv {
	struct version_wait vw;
	int (*pred)(const void *value, void *arg);
	void *arg;
	struct ak_watch_ref *ref;
	uint64_t checked;           /* the last version pred rejected */
	uint32_t has_checked;
};
_Static_assert(sizeof(struct wait_for_priv) <= sizeof(((struct ak_watch_wait_for_op *)0)->private_),
               "watch wait_for op storage too small");

static struct wait_for_priv *wait_for_priv(struct ak_future *f)
{
	return (struct wait_for_priv *)(void *)&((struct ak_watch_wait_for_op *)(void *)f)->private_;
}

static int wait_for_poll(struct ak_future *f, struct ak_context *cx)
{
	struct wait_for_priv *p = wait_for_priv(f);
	struct ak_watch_receiver *rx = p->vw.rx;
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (rx->dropped)
			return vw_finish(&p->vw, AK_EPIPE);
		vw_arm(&p->vw);
		int closed = ak__watch_senders_gone(rx->w);
		struct block *b = ak__watch_acquire_current(rx->w);
		if (!p->has_checked || b->version != p->checked) {
			p->has_checked = 1;
			p->checked = b->version;
			if (p->pred(b->value, p->arg)) {
				ak__watch_fill_ref(p->ref, b, b->version != rx->seen);
				rx->seen = b->version;
				ak__coop_spend(cx);
				return vw_finish(&p->vw, 0);
			}
		}
		ak__watch_block_put(b);
		if (closed)
			return vw_finish(&p->vw, AK_EPIPE);
		rc = vw_wait(&p->vw, cx);
		if (rc == AK_PENDING)
			return rc;
		if (rc)
			return vw_finish(&p->vw, rc);
	}
}

static void wait_for_cancel(struct ak_future *f)
{
	(void)vw_finish(&wait_for_priv(f)->vw, 0);
}

static const struct ak_future_vtable wait_for_vtable = { wait_for_poll, wait_for_cancel };

AK_EXPORT int ak_watch_wait_for_init(struct ak_watch_wait_for_op *op, struct ak_watch_receiver *rx,
                                     int (*pred)(const void *value, void *arg), void *arg,
                                     struct ak_watch_ref *ref)
{
	if (!op || !rx || !pred || !ref)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &wait_for_vtable);
	if (rc)
		return rc;
	struct wait_for_priv *p = wait_for_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->vw.rx = rx;
	p->pred = pred;
	p->arg = arg;
	p->ref = ref;
	return 0;
}

AK_EXPORT int ak_watch_wait_for_blocking(struct ak_watch_receiver *rx,
                                         int (*pred)(const void *value, void *arg), void *arg,
                                         struct ak_watch_ref *ref, int64_t deadline)
{
	struct ak_watch_wait_for_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_wait_for_init(&op, rx, pred, arg, ref);
	return rc ? rc : ak_block_on(&op.future, deadline);
}

/* ---- the senders' closed() ---------------------------------------------------- */
/* To become ak__until_op_init(&op->future, &closed_ops, w, &w->rx_gone), as in mpsc and broadcast. */

struct closed_priv {
	struct ak__until u;
	struct watch *w;
};
_Static_assert(sizeof(struct closed_priv) <= sizeof(((struct ak_watch_closed_op *)0)->private_),
               "watch closed op storage too small");

static struct closed_priv *closed_priv(struct ak_future *f)
{
	return (struct closed_priv *)(void *)&((struct ak_watch_closed_op *)(void *)f)->private_;
}

static int no_receiver(void *obj)
{
	/* acquire: pairs with the release decrement in
	 * ak_watch_receiver_drop(). */
	return ak__load(&((struct watch *)obj)->receivers, AK__ACQUIRE) == 0;
}

static void w_get(void *obj)
{
	ak__ref_get(&((struct watch *)obj)->refs);
}

static void w_put(void *obj)
{
	ak__watch_put(obj);
}

static const struct ak__until_ops closed_ops = { no_receiver, w_get, w_put };

static int closed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct closed_priv *p = closed_priv(f);
	return ak__until_poll(&p->u, &p->w->rx_gone, &closed_ops, p->w, cx);
}

static void closed_cancel(struct ak_future *f)
{
	struct closed_priv *p = closed_priv(f);
	ak__until_cancel(&p->u, &closed_ops, p->w);
}

static const struct ak_future_vtable closed_vtable = { closed_poll, closed_cancel };

AK_EXPORT int ak_watch_closed_init(struct ak_watch_closed_op *op, struct ak_watch_sender *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &closed_vtable);
	if (rc)
		return rc;
	struct closed_priv *p = closed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->w = tx->w;
	return 0;
}

AK_EXPORT int ak_watch_closed_blocking(struct ak_watch_sender *tx, int64_t deadline)
{
	struct ak_watch_closed_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_closed_init(&op, tx);
	return rc ? rc : ak_block_on(&op.future, deadline);
}
