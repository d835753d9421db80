/*
 * select/select.c: select over any futures.
 *
 * The first branch to finish wins; every other enabled branch still
 * pending is cancelled in the same poll, which by the commit rule loses
 * nothing (a cancelled receive took no value, a cancelled lock or reserve
 * hands a provisional grant on).  Fair by default: each poll starts at a
 * random branch and wraps around, as tokio's select! does, drawn from the
 * thread's xorshift generator (tokio's thread-local FastRand), or from the
 * operation's own when seeded; AK_SELECT_BIASED polls in array order.
 * AK_SELECT_KEEP cancels no loser: the select holds each, pending and
 * registered, as select! over `&mut` futures leaves them, and
 * ak_select_rearm() starts the next round claiming only the winner's
 * branch again: a loop of selects over the same channels re-makes one
 * receive per message and touches no other branch.
 */
#include <awaitkit/block_on.h>
#include <awaitkit/select.h>

#include "branch.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_SELECT, struct ak_select_op);

struct select_priv {
	struct ak_branch *b;
	size_t n;
	size_t enabled;
	unsigned flags;
	int winner;          /* the index that won, or -1 */
	uint64_t rng;        /* AK_SELECT_SEEDED: the operation's generator */
	uint64_t own;        /* AK_SELECT_KEEP: the branches claimed and not let go */
};
_Static_assert(sizeof(struct select_priv) <= sizeof(((struct ak_select_op *)0)->private_),
               "select op storage too small");

static struct select_priv *priv(struct ak_future *f)
{
	return (struct select_priv *)(void *)&((struct ak_select_op *)(void *)f)->private_;
}

/* The generator's state for a caller's seed: the same seed, the same
 * starts (tokio's seeded runtime); mixed (splitmix64's finaliser) so
 * that nearby seeds differ at once, and never 0, which xorshift keeps. */
static uint64_t seeded(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	z ^= z >> 31;
	return z ? z : 1;
}

/* The generator of the unseeded selects polled on this thread: seeded on
 * its first draw, then one xorshift step a poll.  A select re-made for
 * every message (as select! is) so pays no seeding per operation. */
static _Thread_local uint64_t thread_rng;

/* The first draw on a thread: out of line, so that the poll's frame is
 * sized for its own path alone. */
static __attribute__((noinline, cold)) uint64_t *thread_seed(uint64_t *g)
{
	*g = ak__branch_seed(g);
	return g;
}

static uint64_t *thread_gen(void)
{
	uint64_t *g = &thread_rng;
	if (*g == 0)
		return thread_seed(g);
	return g;
}

/* rng: a seeded select's own generator, or NULL for the thread's. */
static size_t start_of(unsigned flags, uint64_t *rng, size_t n)
{
	if (flags & AK_SELECT_BIASED)
		return 0;
	if (!rng)
		rng = thread_gen();
	/* The high 32 bits scaled to [0, n) by a multiply, not a division
	 * (n <= AK__BRANCH_MAX): a 64-bit divide costs 30-40 cycles here,
	 * paid on every poll of a select re-made for every message. */
	return (size_t)(((ak__xorshift(rng) >> 32) * (uint64_t)n) >> 32);
}

/*
 * A select's enabled branches are all pending until one finishes, and
 * that one wins at once: so the loops below tell the branches apart by
 * their flags alone (the caller's, read only) and never load a status.
 * They must not: claim and the winner's poll have just stored statuses,
 * and a load spanning a status and its flags (what the compiler makes of
 * ak__branch_live()) cannot be forwarded from those two stores and waits
 * for them to retire; select_2chan spent a fifth of select_poll there.
 */
static int enabled(const struct ak_branch *b)
{
	return !(b->flags & AK_BRANCH_DISABLED);
}

/* k branches of a round, the first at i (n: wraps to 0): the index of
 * the first enabled one that finished, or -1.  Each branch's index is
 * pushed on the path for its own poll (ak__branch_poll()). */
static int round_robin(struct ak_branch *b, size_t n, size_t i, size_t k,
                       struct ak_context *cx)
{
	for (; k > 0; k--, i++) {
		if (i == n)
			i = 0;          /* wraps around without a division */
		if (enabled(&b[i]) && ak__branch_poll(b, i, cx) != AK_PENDING)
			return (int)i;
	}
	return -1;
}

/* Cancels every enabled branch but the winner: those owned and idle or
 * pending (claimed, so their cancel is the inline one).  The winner is
 * done and no longer owned, which tells it apart without its index. */
static inline __attribute__((always_inline)) void cancel_losers(struct ak_branch *b, size_t n)
{
	for (struct ak_branch *end = b + n; b != end; b++) {
		if (!enabled(b) ||
		    b->future->state - (AK_FUTURE_OWNED | AK_FUTURE_IDLE) > 1)
			continue;
		b->status = AK_ECANCELED;
		ak__future_cancel_claimed(b->future);
	}
}

/*
 * AK_SELECT_KEEP (at most 64 branches): own has a bit per branch the
 * select claimed and has not let go.  A win takes the winner's bit off
 * and leaves the losers' on: they stay owned, pending, registered, held
 * for the next round, which ak_select_rearm() starts without looking at
 * them (only the winner's branch is claimed again); ak_select_release()
 * or a new ak_select_init() lets them go (owned bit off, still pending),
 * the select's cancel cancels them.
 */
static uint64_t bit(size_t i)
{
	return (uint64_t)1 << i;
}

/* The held futures the caller has not cancelled meanwhile (owned, idle or
 * pending) lose their owned bit; nothing else is touched. */
static void let_go(struct select_priv *s)
{
	for (uint64_t m = s->own; m; m &= m - 1) {
		struct ak_future *f = s->b[__builtin_ctzll(m)].future;
		if (f->state - (AK_FUTURE_OWNED | AK_FUTURE_IDLE) <= 1)
			f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	}
	s->own = 0;
}

/* The select's cancel with AK_SELECT_KEEP: every branch it owns, by its
 * bit (not its flags, which the caller may have changed since it was
 * claimed). */
static void cancel_own(struct select_priv *s)
{
	for (uint64_t m = s->own; m; m &= m - 1) {
		struct ak_branch *b = &s->b[__builtin_ctzll(m)];
		if (b->future->state - (AK_FUTURE_OWNED | AK_FUTURE_IDLE) > 1)
			continue;
		b->status = AK_ECANCELED;
		ak__future_cancel_claimed(b->future);
	}
	s->own = 0;
}

/* Branch w won with rc: its status, the losers cancelled or kept, and the
 * select done.  Inline in both loops below (the fast one keeps nothing
 * live for it but s). */
static inline __attribute__((always_inline)) int select_won(struct select_priv *s, size_t w,
                                                            int rc)
{
	s->b[w].status = rc;
	s->winner = (int)w;
	if (s->flags & AK_SELECT_KEEP)
		s->own &= ~bit(w);      /* the losers held */
	else
		cancel_losers(s->b, s->n);
	return 0;
}

/* The rest of a round after the first branch, polled at i - 1: k
 * branches from i; or a whole round from i (k = n) when the first was
 * disabled or not pollable, or the path is AK_PATH_MAX deep. */
static __attribute__((noinline)) int select_round(struct select_priv *s, size_t i, size_t k,
                                                  struct ak_context *cx)
{
	int w = round_robin(s->b, s->n, i, k, cx);
	if (w < 0)
		return AK_PENDING;
	return select_won(s, (size_t)w, s->b[w].status);
}

/*
 * The first branch a poll starts at (a random one, or 0 when biased) most
 * often wins at once: a select made for a message that is there already.
 * That branch is polled here with nothing kept across its poll but s, cx
 * and the branch's future (its index waits in s->winner, which must read
 * -1 again if nobody wins), and its index pushed on the path in place;
 * the other branches, if it is pending, in select_round().
 */
static int select_poll(struct ak_future *f, struct ak_context *cx)
{
	struct select_priv *s = priv(f);

	if (s->enabled == 0)
		return AK_ENOENT;
	/* Before any branch: a branch that ignores the budget cannot keep
	 * winning (tokio #7164). */
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	uint64_t *rng = s->flags & AK_SELECT_SEEDED ? &s->rng : NULL;
	size_t i = start_of(s->flags, rng, s->n);
	struct ak_branch *b = &s->b[i];
	struct ak_branch_path *p = &cx->path;
	if (!enabled(b) || p->len >= AK_PATH_MAX)
		return select_round(s, i, s->n, cx);
	/* Claimed, so its vtable is set; owned and idle or pending unless
	 * someone cancelled it meanwhile (the round then refuses it). */
	struct ak_future *bf = b->future;
	if (bf->state - (AK_FUTURE_OWNED | AK_FUTURE_IDLE) > 1)
		return select_round(s, i, s->n, cx);
	p->index[p->len++] = (uint16_t)i;
	s->winner = (int)i;
	int rc = bf->vtable->poll(bf, cx);
	cx->path.len--;
	i = (size_t)s->winner;
	if (rc == AK_PENDING) {
		bf->state = AK_FUTURE_OWNED | AK_FUTURE_PENDING;
		s->winner = -1;
		return select_round(s, i + 1, s->n - 1, cx);
	}
	bf->state = AK_FUTURE_DONE;
	return select_won(s, i, rc);
}

static void select_cancel(struct ak_future *f)
{
	struct select_priv *s = priv(f);

	if (s->flags & AK_SELECT_KEEP)
		cancel_own(s);
	else
		ak__branches_cancel(s->b, s->n);
}

static const struct ak_future_vtable select_vtable = { select_poll, select_cancel };

/* A select op's private part when it holds the losers of a win under
 * AK_SELECT_KEEP, else NULL. */
static struct select_priv *holding(struct ak_select_op *op)
{
	/* own first: 0 in every select made without the flag, and in zeroed
	 * storage (one test where a select is made anew for every message). */
	struct select_priv *s = priv(&op->future);
	if (!s->own || op->future.vtable != &select_vtable ||
	    ak__future_phase(&op->future) != AK_FUTURE_DONE || !(s->flags & AK_SELECT_KEEP))
		return NULL;
	return s;
}

AK_EXPORT int ak_select_init(struct ak_select_op *op, struct ak_branch *branches,
                             size_t n, unsigned flags)
{
	size_t enabled;

	if (!op || (flags & ~(AK_SELECT_BIASED | AK_SELECT_SEEDED | AK_SELECT_KEEP)))
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	if ((flags & AK_SELECT_KEEP) && n > 64)
		return AK_EINVAL;
	/* The losers a kept win left held go back to the caller first (the
	 * same futures may be claimed again just below). */
	struct select_priv *held = holding(op);
	if (held)
		let_go(held);
	int rc = ak__branches_claim(branches, n, &enabled);
	if (rc != 0)
		return rc;
	/* ak_future_init() without its checks again (the vtable is ours, the
	 * phase was looked at above). */
	op->future.vtable = &select_vtable;
	op->future.state = AK_FUTURE_IDLE;
	struct select_priv *s = priv(&op->future);
	s->b = branches;
	s->n = n;
	s->enabled = enabled;
	s->flags = flags;
	s->winner = -1;
	s->rng = flags & AK_SELECT_SEEDED ? seeded(0) : 0;
	s->own = 0;
	if (flags & AK_SELECT_KEEP)
		for (size_t i = 0; i < n; i++)
			if (!(branches[i].flags & AK_BRANCH_DISABLED))
				s->own |= bit(i);
	return 0;
}

AK_EXPORT int ak_select_rearm(struct ak_select_op *op)
{
	if (!op || op->future.vtable != &select_vtable ||
	    ak__future_phase(&op->future) != AK_FUTURE_DONE)
		return AK_EINVAL;
	struct select_priv *s = priv(&op->future);
	if (!(s->flags & AK_SELECT_KEEP) || s->winner < 0)
		return AK_EINVAL;
	/* The winner's branch alone, as the caller left it: its operation
	 * made again, or disabled; the held losers are the new round's as
	 * they are. */
	size_t w = (size_t)s->winner;
	struct ak_branch *b = &s->b[w];
	if (b->flags & AK_BRANCH_DISABLED)
		s->enabled--;
	else if (!b->future || ak__future_claim(b->future) != 0)
		return AK_EINVAL;
	else
		s->own |= bit(w);
	b->status = AK_PENDING;
	s->winner = -1;
	op->future.state = AK_FUTURE_IDLE;
	return 0;
}

AK_EXPORT int ak_select_release(struct ak_select_op *op)
{
	if (!op || op->future.vtable != &select_vtable)
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	struct select_priv *s = holding(op);
	if (s)
		let_go(s);
	return 0;
}

AK_EXPORT int ak_select_seed(struct ak_select_op *op, uint64_t seed)
{
	if (!op || op->future.vtable != &select_vtable ||
	    ak__future_phase(&op->future) != AK_FUTURE_IDLE)
		return AK_EINVAL;       /* not bound, or already polled */
	struct select_priv *s = priv(&op->future);
	if (!(s->flags & AK_SELECT_SEEDED))
		return AK_EINVAL;
	s->rng = seeded(seed);
	return 0;
}

AK_EXPORT int ak_select_index(const struct ak_select_op *op)
{
	if (!op || op->future.vtable != &select_vtable)
		return AK_EINVAL;
	int w = priv((struct ak_future *)(uintptr_t)&op->future)->winner;
	return w < 0 ? AK_ENOENT : w;
}

AK_EXPORT int ak_select_try(struct ak_branch *branches, size_t n, unsigned flags,
                            struct ak_context *cx, size_t *index)
{
	size_t enabled;

	if (!index || (flags & ~AK_SELECT_BIASED) || (cx && !ak__cx_valid(cx)))
		return AK_EINVAL;
	int rc = ak__branches_claim(branches, n, &enabled);
	if (rc != 0)
		return rc;
	if (enabled == 0)
		return AK_ENOENT;

	/* A context of our own: a noop waker (whatever a branch registers is
	 * unregistered by the cancel below), no budget, but the caller's task
	 * slot and branch path so that lock records and diagnostics see the
	 * caller's identity. */
	struct ak_context tcx;
	ak__context_enter(&tcx, ak_waker_noop(), cx ? cx->slot : NULL);
	if (cx)
		tcx.path = cx->path;
	tcx.budget = AK_BUDGET_UNCONSTRAINED;
	int w = round_robin(branches, n, start_of(flags, NULL, n), n, &tcx);
	/* Every other branch, polled or not, is cancelled: nothing stays
	 * registered, nothing granted stays with a loser. */
	if (w < 0)
		ak__branches_cancel(branches, n);
	else
		cancel_losers(branches, n);
	ak__context_leave(&tcx, w < 0 ? AK_PENDING : 0);
	if (w < 0)
		return AK_EAGAIN;
	*index = (size_t)w;
	return 0;
}

AK_EXPORT int ak_select_blocking(struct ak_select_op *op, struct ak_branch *branches,
                                 size_t n, unsigned flags, int64_t deadline)
{
	int rc = ak_select_init(op, branches, n, flags);
	if (rc != 0)
		return rc;
	rc = ak_block_on(&op->future, deadline);
	/* On a refusal (inside a poll, out of memory) block_on has not
	 * cancelled: release the branches here.  A no-op once done. */
	ak_future_cancel(&op->future);
	return rc;
}
