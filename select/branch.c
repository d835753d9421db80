/* select/branch.c: the branch array shared by select, join and try_join. */
#include "branch.h"

static void unclaim(struct ak_future *f)
{
	f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
}

int ak__branches_claim(struct ak_branch *b, size_t n, size_t *enabled)
{
	size_t count = 0;

	if (!b || n - 1 >= AK__BRANCH_MAX)     /* n == 0 wraps */
		return AK_EINVAL;
	/* One pass: a select re-made for every message claims on each. */
	struct ak_branch *p = b, *end = b + n;
	for (; p != end; p++) {
		p->status = AK_PENDING;
		if (p->flags & AK_BRANCH_DISABLED)
			continue;
		/* A future listed twice fails here: the first claim owns it. */
		if (!p->future || ak__future_claim(p->future) != 0)
			break;
		count++;
	}
	if (p != end) {
		while (p-- != b)
			if (!(p->flags & AK_BRANCH_DISABLED))
				unclaim(p->future);
		return AK_EINVAL;
	}
	*enabled = count;
	return 0;
}

void ak__branches_cancel(struct ak_branch *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!ak__branch_live(&b[i]))
			continue;
		b[i].status = AK_ECANCELED;
		/* Live: claimed, and still pending. */
		ak__future_cancel_claimed(b[i].future);
	}
}

uint64_t ak__branch_seed(const void *salt)
{
	/* Per thread: no shared state, no atomics; the salt (an address)
	 * separates operations, the counter separates successive ones. */
	static _Thread_local uint64_t counter;
	uint64_t z = (uint64_t)(uintptr_t)salt ^ (++counter * 0x9e3779b97f4a7c15u);

	/* splitmix64's finaliser */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	return z ? z : 0x9e3779b97f4a7c15u;
}
