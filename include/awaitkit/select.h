/*
 * awaitkit: select, join and try_join over any futures.  See ak_select(3),
 * ak_join(3), ak_try_join(3).
 *
 * The caller owns an array of branches {future, status, flags}; each
 * branch's result stays in its own operation (its out-pointers were set at
 * its init) and `status` records the branch's own poll result.  A
 * combinator is itself an ak_future: it nests, it is driven by any
 * executor or by ak_block_on, and it allocates nothing.
 */
#ifndef AK_SELECT_H
#define AK_SELECT_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AK_OP_SELECT 100
#define AK_OP_JOIN 101
#define AK_OP_TRY_JOIN 102

/* Flags of struct ak_branch. */
#define AK_BRANCH_DISABLED 0x1u  /* precondition false: never polled */

/* Flags of ak_select_init and the other select forms. */
#define AK_SELECT_BIASED 0x1u    /* poll in array order, not from a random start */
#define AK_SELECT_SEEDED 0x2u    /* random starts from ak_select_seed's seed (0 by default) */
#define AK_SELECT_KEEP 0x4u      /* a win holds the losers pending, not cancelled */

/* Flags of ak_join_init / ak_try_join_init. */
#define AK_JOIN_BIASED 0x1u      /* poll in array order, not rotating the first */

/*
 * One branch.  status: AK_PENDING until the branch finishes, then its own
 * poll result (0 or a negative error); AK_ECANCELED when the combinator
 * cancelled it.  The combinator sets status at init; the caller sets
 * future and flags.
 */
struct ak_branch {
	struct ak_future *future;
	int status;
	unsigned flags;
};

struct ak_select_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

struct ak_join_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

struct ak_try_join_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

int ak_select_init(struct ak_select_op *op, struct ak_branch *branches,
                   size_t n, unsigned flags);
int ak_select_index(const struct ak_select_op *op);
int ak_select_seed(struct ak_select_op *op, uint64_t seed);
int ak_select_rearm(struct ak_select_op *op);
int ak_select_release(struct ak_select_op *op);
int ak_select_try(struct ak_branch *branches, size_t n, unsigned flags,
                  struct ak_context *cx, size_t *index);
int ak_select_blocking(struct ak_select_op *op, struct ak_branch *branches,
                       size_t n, unsigned flags, int64_t deadline);

int ak_join_init(struct ak_join_op *op, struct ak_branch *branches,
                 size_t n, unsigned flags);
int ak_join_blocking(struct ak_join_op *op, struct ak_branch *branches,
                     size_t n, unsigned flags, int64_t deadline);

int ak_try_join_init(struct ak_try_join_op *op, struct ak_branch *branches,
                     size_t n, unsigned flags);
int ak_try_join_index(const struct ak_try_join_op *op);
int ak_try_join_blocking(struct ak_try_join_op *op, struct ak_branch *branches,
                         size_t n, unsigned flags, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
