/*
 * select/join.c: join and try_join over any futures.
 *
 * join completes when every enabled branch has; each poll polls only the
 * branches not yet done, starting one further each time (tokio #4624: a
 * budget-hungry branch cannot starve the others); AK_JOIN_BIASED starts
 * at 0.  try_join completes at the first negative status, cancelling the
 * branches still pending; branches already completed are never cancelled
 * (a lock or permit they hold stays with the caller).
 */
#include <awaitkit/block_on.h>
#include <awaitkit/select.h>

#include "branch.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_JOIN, struct ak_join_op);
AK__OP_KIND(AK_OP_TRY_JOIN, struct ak_try_join_op);

struct join_priv {
	struct ak_branch *b;
	size_t n;
	size_t remaining;    /* enabled branches not yet finished */
	size_t start;        /* the next poll's first branch */
	unsigned flags;
	int try_;            /* try_join: stop at the first error */
	int failed;          /* try_join: the failing index, or -1 */
};
_Static_assert(sizeof(struct join_priv) <= sizeof(((struct ak_join_op *)0)->private_),
               "join op storage too small");
_Static_assert(sizeof(struct ak_join_op) == sizeof(struct ak_try_join_op),
               "join and try_join share a layout");

static struct join_priv *priv(struct ak_future *f)
{
	return (struct join_priv *)(void *)&((struct ak_join_op *)(void *)f)->private_;
}

static int join_poll(struct ak_future *f, struct ak_context *cx)
{
	struct join_priv *j = priv(f);

	if (j->remaining == 0)
		return 0;
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	size_t start = 0;
	if (!(j->flags & AK_JOIN_BIASED))
		start = j->start++ % j->n;
	for (size_t k = 0; k < j->n; k++) {
		size_t i = (start + k) % j->n;
		if (!ak__branch_live(&j->b[i]))
			continue;
		int rc = ak__branch_poll(j->b, i, cx);
		if (rc == AK_PENDING)
			continue;
		j->remaining--;
		if (j->try_ && rc < 0) {
			j->failed = (int)i;
			ak__branches_cancel(j->b, j->n);
			j->remaining = 0;
			return rc;
		}
	}
	return j->remaining ? AK_PENDING : 0;
}

static void join_cancel(struct ak_future *f)
{
	struct join_priv *j = priv(f);

	ak__branches_cancel(j->b, j->n);
	j->remaining = 0;
}

static const struct ak_future_vtable join_vtable = { join_poll, join_cancel };
static const struct ak_future_vtable try_join_vtable = { join_poll, join_cancel };

static int init(struct ak_future *f, const struct ak_future_vtable *vt,
                struct ak_branch *branches, size_t n, unsigned flags)
{
	size_t enabled;

	if (!f || (flags & ~AK_JOIN_BIASED))
		return AK_EINVAL;
	if (ak__future_phase(f) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	int rc = ak__branches_claim(branches, n, &enabled);
	if (rc != 0)
		return rc;
	ak_future_init(f, vt);
	struct join_priv *j = priv(f);
	j->b = branches;
	j->n = n;
	j->remaining = enabled;
	j->start = 0;
	j->flags = flags;
	j->try_ = vt == &try_join_vtable;
	j->failed = -1;
	return 0;
}

AK_EXPORT int ak_join_init(struct ak_join_op *op, struct ak_branch *branches,
                           size_t n, unsigned flags)
{
	return init(op ? &op->future : NULL, &join_vtable, branches, n, flags);
}

AK_EXPORT int ak_try_join_init(struct ak_try_join_op *op, struct ak_branch *branches,
                               size_t n, unsigned flags)
{
	return init(op ? &op->future : NULL, &try_join_vtable, branches, n, flags);
}

AK_EXPORT int ak_try_join_index(const struct ak_try_join_op *op)
{
	if (!op || op->future.vtable != &try_join_vtable)
		return AK_EINVAL;
	int i = priv((struct ak_future *)(uintptr_t)&op->future)->failed;
	return i < 0 ? AK_ENOENT : i;
}

static int blocking(struct ak_future *f, int64_t deadline)
{
	int rc = ak_block_on(f, deadline);
	/* Releases the branches when block_on refused without cancelling. */
	ak_future_cancel(f);
	return rc;
}

AK_EXPORT int ak_join_blocking(struct ak_join_op *op, struct ak_branch *branches,
                               size_t n, unsigned flags, int64_t deadline)
{
	int rc = ak_join_init(op, branches, n, flags);
	return rc != 0 ? rc : blocking(&op->future, deadline);
}

AK_EXPORT int ak_try_join_blocking(struct ak_try_join_op *op, struct ak_branch *branches,
                                   size_t n, unsigned flags, int64_t deadline)
{
	int rc = ak_try_join_init(op, branches, n, flags);
	return rc != 0 ? rc : blocking(&op->future, deadline);
}
