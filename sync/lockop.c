/* sync/lockop.c: the lock operation's lockdep path.  See lockop.h. */
#include "lockop.h"

/* Out of line, with the lock's table called through: lockdep is a
 * debugging mode, and the fast path stays free of it. */
__attribute__((noinline)) int ak__lockop_poll_lockdep(struct ak__lockop *l, struct ak_context *cx,
                                                      const struct ak__lockop_ops *ops)
{
	if (!ak__lockdep_on())
		return ak__lockop_poll_plain(l, cx, ops);
	struct ak__ld_acq a = ak__lockop_ld_acq(l, ops);
	if (!l->parked && !l->ld.checked)
		ak__lockdep_check(&l->ld, &a, cx);
	int rc = ak__lockop_poll_plain(l, cx, ops);
	if (rc == 0)
		ak__lockdep_took(&l->ld, &a, cx);
	return rc;
}

__attribute__((noinline)) int ak__lockop_unlock_lockdep(struct ak__lockop *l,
                                                        const struct ak__lockop_ops *ops)
{
	ak__lockdep_release(&l->ld);
	ops->forget(l);
	return ops->release(l);
}
