/*
 * select/branch.h: what select, join and try_join share — claiming the
 * caller's branch array, polling one branch under its branch path, and
 * cancelling the branches still pending.  Internal.
 */
#ifndef AK_SELECT_BRANCH_H
#define AK_SELECT_BRANCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <awaitkit/select.h>

#include "../core/core.h"

/* Branch indexes are recorded in 16-bit path levels. */
#define AK__BRANCH_MAX 65536u

/*
 * Validates the array and claims every enabled branch's future as owned:
 * 0 with *enabled set and every status AK_PENDING, or AK_EINVAL with
 * nothing claimed (zero branches, too many, a NULL array or enabled entry,
 * an enabled future not pollable or owned elsewhere, the same future
 * twice; the statuses before the bad entry may read AK_PENDING).
 */
int ak__branches_claim(struct ak_branch *b, size_t n, size_t *enabled);

/* Polls branch i of b on cx, with i pushed on cx->path in place and the
 * path restored after; records a final result in b[i].status.  Inline:
 * a select polls at least one branch per message. */
static inline int ak__branch_poll(struct ak_branch *b, size_t i, struct ak_context *cx)
{
	struct ak_branch_path *p = &cx->path;
	uint32_t saved;           /* len and overflow, put back in one store */

	/* The child's path is set on the caller's context in place (never a
	 * copy: the budget the child spends must stay spent). */
	memcpy(&saved, p, sizeof saved);
	if (p->len < AK_PATH_MAX)
		p->index[p->len++] = (uint16_t)i;
	else if (p->overflow < UINT16_MAX)
		p->overflow++;
	int rc = ak__future_poll_claimed(b[i].future, cx);
	memcpy(p, &saved, sizeof saved);
	if (rc != AK_PENDING)
		b[i].status = rc;
	return rc;
}
_Static_assert(offsetof(struct ak_branch_path, overflow) == 2 &&
               offsetof(struct ak_branch_path, index) == 4,
               "len and overflow are the path's first 4 bytes");

/* Cancels every enabled branch still pending (status AK_ECANCELED). */
void ak__branches_cancel(struct ak_branch *b, size_t n);

/* A fresh, well-mixed 64-bit seed for a fair start (never 0). */
uint64_t ak__branch_seed(const void *salt);

static inline uint64_t ak__xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static inline int ak__branch_live(const struct ak_branch *b)
{
	return !(b->flags & AK_BRANCH_DISABLED) && b->status == AK_PENDING;
}

#endif
