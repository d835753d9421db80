/* core/until.c: waiting until a condition holds.  See until.h. */
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
