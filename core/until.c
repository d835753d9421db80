/* core/until.c: waiting until a condition holds.  See until.h. */
#include <string.h>

#include "until.h"

void ak__until_cancel(struct ak__until *u, const struct ak__until_ops *ops, void *obj)
{
	if (u->armed) {
		ak__notified_cancel(&u->n);
		u->armed = 0;
	}
	if (u->holds_ref) {
		u->holds_ref = 0;
		ops->put(obj);
	}
}

int ak__until_poll(struct ak__until *u, struct ak__notify *n, const struct ak__until_ops *ops,
                   void *obj, struct ak_context *cx)
{
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (!u->armed) {
			ak__notified_init(&u->n, n);
			u->armed = 1;
		}
		if (ops->holds(obj)) {
			ak__until_cancel(u, ops, obj);
			ak__coop_spend(cx);
			return 0;
		}
		rc = ak__notified_poll(&u->n, cx);
		if (rc == AK_PENDING) {
			if (!u->holds_ref) {
				ops->get(obj);
				u->holds_ref = 1;
			}
			return rc;
		}
		u->armed = 0;
		if (rc) {
			ak__until_cancel(u, ops, obj);
			return rc;
		}
		/* Notified: look again from a fresh arm. */
	}
}

/* ---- the whole operation ----------------------------------------------------- */

static struct ak__until_op *op_of(struct ak_future *f)
{
	return (struct ak__until_op *)ak__op_private(f);
}

static int op_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ak__until_op *p = op_of(f);
	return ak__until_poll(&p->u, p->n, p->ops, p->obj, cx);
}

static void op_cancel(struct ak_future *f)
{
	struct ak__until_op *p = op_of(f);
	if (p->ops)
		ak__until_cancel(&p->u, p->ops, p->obj);
}

static const struct ak_future_vtable op_vtable = { op_poll, op_cancel };

int ak__until_op_init(struct ak_future *f, const struct ak__until_ops *ops, void *obj,
                      struct ak__notify *n)
{
	int rc = ak_future_init(f, &op_vtable);
	if (rc)
		return rc;
	struct ak__until_op *p = op_of(f);
	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->obj = obj;
	p->n = n;
	return 0;
}
