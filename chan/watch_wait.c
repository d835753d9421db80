/*
 * chan/watch_wait.c: waiting on a watch channel: changed() and wait_for()
 * (one wait) and the senders' closed().  See ak_watch(3) and
 * chan/watch_slot.c (Waiting).
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

/*
 * changed() and wait_for() are one wait: look at the current value, and
 * until there is something to see, park on the notify core `changed`.
 * The poll captures the notify generation (arms) before it looks, so a
 * publish after the look notifies after it.  Publishes notify only while
 * `waiting` is not 0 (chan/watch_slot.c): an operation counts itself in
 * before it parks and looks once more after counting, so a publish that
 * read `waiting` before the count is one that look sees.
 */
struct version_wait {
	struct ak__notified n;
	struct ak_watch_receiver *rx;
	uint8_t armed;              /* n initialised and not consumed */
	uint8_t holds_rx;           /* parked: a reference on rx */
	uint8_t counted;            /* in the channel's waiting count */
	uint8_t has_checked;        /* wait_for: `checked` is set */
};

/* What wait_for() adds: the predicate, where the borrow goes, and the
 * last version the predicate refused (not asked again). */
struct wait_for_args {
	int (*pred)(const void *value, void *arg);
	void *arg;
	struct ak_watch_ref *ref;
	uint64_t checked;
};

/* The operation is done (completed, failed or cancelled): leaves the
 * count and the notify core and gives the receiver back, maybe freeing it
 * and the channel; the last thing it does. */
static int vw_finish(struct version_wait *vw, int rc)
{
	if (vw->armed) {
		ak__notified_cancel(&vw->n);
		vw->armed = 0;
	}
	if (vw->counted) {
		vw->counted = 0;
		ak__fetch_sub(&vw->rx->w->waiting, 1u, AK__RELAXED);
	}
	if (vw->holds_rx) {
		vw->holds_rx = 0;
		ak__watch_receiver_put(vw->rx);
	}
	return rc;
}

/* changed(): a version the receiver has not seen, marked seen. */
static int look_changed(struct version_wait *vw)
{
	struct ak_watch_receiver *rx = vw->rx;
	uint64_t v = ak__watch_peek_version(rx);
	if (v == rx->seen)
		return 0;
	rx->seen = v;
	return 1;
}

/* wait_for(): a value the predicate accepts (asked once per version),
 * borrowed into *ref and marked seen: 1, 0 (not yet) or an error. */
static int look_for(struct version_wait *vw, struct wait_for_args *a)
{
	struct ak_watch_receiver *rx = vw->rx;
	struct borrowed b;
	int rc = ak__watch_borrow(rx, &b);
	if (rc)
		return rc;
	if (!vw->has_checked || b.version != a->checked) {
		vw->has_checked = 1;
		a->checked = b.version;
		if (a->pred(b.value, a->arg)) {
			ak__watch_fill_ref(a->ref, &b, b.version != rx->seen);
			rx->seen = b.version;
			return 1;
		}
	}
	ak__watch_release(b.token);
	return 0;
}

/* The poll of both: a is NULL for changed(). */
static int version_poll(struct version_wait *vw, struct wait_for_args *a, struct ak_context *cx)
{
	struct ak_watch_receiver *rx = vw->rx;
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (rx->dropped)
			return vw_finish(vw, AK_EPIPE);
		if (!vw->armed) {
			ak__notified_init(&vw->n, &rx->w->changed);
			vw->armed = 1;
		}
		/* Closed first: then the version looked at after it is the last. */
		int closed = ak__watch_senders_gone(rx->w);
		rc = a ? look_for(vw, a) : look_changed(vw);
		if (rc < 0)
			return vw_finish(vw, rc);
		if (rc) {
			ak__coop_spend(cx);
			return vw_finish(vw, 0);
		}
		if (closed)
			return vw_finish(vw, AK_EPIPE);
		if (!vw->counted) {
			/* seq_cst: pairs with the load after every publish in
			 * ak__watch_published(); look again. */
			ak__fetch_add(&rx->w->waiting, 1u, AK__SEQ_CST);
			vw->counted = 1;
			continue;
		}
		rc = ak__notified_poll(&vw->n, cx);
		if (rc == AK_PENDING) {
			if (!vw->holds_rx) {
				rx->refs++;
				vw->holds_rx = 1;
			}
			return rc;
		}
		vw->armed = 0;          /* consumed, or cancelled on error */
		if (rc)
			return vw_finish(vw, rc);
	}
}

_Static_assert(sizeof(struct version_wait) <= sizeof(((struct ak_watch_changed_op *)0)->private_),
               "watch changed op storage too small");

static struct version_wait *changed_priv(struct ak_future *f)
{
	return (struct version_wait *)(void *)&((struct ak_watch_changed_op *)(void *)f)->private_;
}

static int changed_poll(struct ak_future *f, struct ak_context *cx)
{
	return version_poll(changed_priv(f), NULL, cx);
}

static void changed_cancel(struct ak_future *f)
{
	(void)vw_finish(changed_priv(f), 0);
}

static const struct ak_future_vtable changed_vtable = { changed_poll, changed_cancel };

AK_EXPORT int ak_watch_changed_init(struct ak_watch_changed_op *op, struct ak_watch_receiver *rx)
{
	if (!op || !rx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &changed_vtable);
	if (rc)
		return rc;
	struct version_wait *vw = changed_priv(&op->future);
	memset(vw, 0, sizeof(*vw));
	vw->rx = rx;
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
	struct wait_for_args a;
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
	return version_poll(&p->vw, &p->a, cx);
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
	p->a.pred = pred;
	p->a.arg = arg;
	p->a.ref = ref;
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

/* core/until.c's operation (as mpsc's and broadcast's): this file supplies
 * only the condition and the channel's references. */
_Static_assert(sizeof(struct ak__until_op) <= sizeof(((struct ak_watch_closed_op *)0)->private_),
               "watch closed op storage too small");

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

AK_EXPORT int ak_watch_closed_init(struct ak_watch_closed_op *op, struct ak_watch_sender *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	return ak__until_op_init(&op->future, &closed_ops, tx->w, &tx->w->rx_gone);
}

AK_EXPORT int ak_watch_closed_blocking(struct ak_watch_sender *tx, int64_t deadline)
{
	struct ak_watch_closed_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_closed_init(&op, tx);
	return rc ? rc : ak_block_on(&op.future, deadline);
}
