/*
 * chan/broadcast_senders.c: the broadcast channel's weak senders, its
 * handle counts and the senders' closed().  See chan/broadcast.c for the
 * design (Handles) and ak_broadcast(3).
 */
#include <string.h>

#include "broadcast_chan.h"

/* A weak handle is the channel's address under another type. */
#define WEAK_CHAN(w) ((struct ak_broadcast_tx *)(void *)(w))

static int weak_new(struct ak_broadcast_tx *ch, struct ak_broadcast_weak **out)
{
	if (ak__load(&ch->refs, AK__RELAXED) >= UINT32_MAX / 2)
		return AK_EOVERFLOW;
	ak__ref_get(&ch->refs);
	ak__fetch_add(&ch->weaks, 1, AK__RELAXED);
	*out = (struct ak_broadcast_weak *)(void *)ch;
	return 0;
}

AK_EXPORT int ak_broadcast_tx_downgrade(struct ak_broadcast_tx *ch, struct ak_broadcast_weak **out)
{
	if (!ch || !out)
		return AK_EINVAL;
	return weak_new(ch, out);
}

AK_EXPORT int ak_broadcast_weak_clone(struct ak_broadcast_weak *weak, struct ak_broadcast_weak **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	return weak_new(WEAK_CHAN(weak), out);
}

AK_EXPORT int ak_broadcast_weak_upgrade(struct ak_broadcast_weak *weak, struct ak_broadcast_tx **out)
{
	if (!weak || !out)
		return AK_EINVAL;
	struct ak_broadcast_tx *ch = WEAK_CHAN(weak);
	if (ak__load(&ch->refs, AK__RELAXED) >= UINT32_MAX / 2)
		return AK_EOVERFLOW;
	/* A count that reached 0 stays there: the last sender closed the
	 * channel.  acquire on success: pairs with the acq_rel fetch_sub of
	 * the drops before, as a clone from a live sender would. */
	uint32_t n = ak__load(&ch->senders, AK__RELAXED);
	do {
		if (n == 0)
			return AK_EPIPE;
	} while (!ak__cas_weak(&ch->senders, &n, n + 1, AK__ACQUIRE, AK__RELAXED));
	ak__ref_get(&ch->refs);
	*out = ch;
	return 0;
}

AK_EXPORT int ak_broadcast_weak_drop(struct ak_broadcast_weak *weak)
{
	if (!weak)
		return AK_EINVAL;
	struct ak_broadcast_tx *ch = WEAK_CHAN(weak);
	ak__fetch_sub(&ch->weaks, 1, AK__RELAXED);
	ak__broadcast_put(ch);
	return 0;
}

AK_EXPORT size_t ak_broadcast_sender_strong_count(const struct ak_broadcast_rx *rx)
{
	return rx ? ak__load(&rx->ch->senders, AK__RELAXED) : 0;
}

AK_EXPORT size_t ak_broadcast_sender_weak_count(const struct ak_broadcast_rx *rx)
{
	return rx ? ak__load(&rx->ch->weaks, AK__RELAXED) : 0;
}

/* ---- the senders' closed() ----------------------------------------------------- */

struct closed_priv {
	struct ak__notified n;
	struct ak_broadcast_tx *ch;
	uint32_t armed;
	uint32_t holds_ref;             /* parked: a reference on the channel */
};
_Static_assert(sizeof(struct closed_priv) <= sizeof(((struct ak_broadcast_closed_op *)0)->private_),
               "broadcast closed op storage too small");

static struct closed_priv *closed_priv(struct ak_future *f)
{
	return (struct closed_priv *)(void *)&((struct ak_broadcast_closed_op *)(void *)f)->private_;
}

static void closed_finish(struct closed_priv *p)
{
	if (p->armed) {
		ak__notified_cancel(&p->n);
		p->armed = 0;
	}
	if (p->holds_ref) {
		p->holds_ref = 0;
		ak__broadcast_put(p->ch);
	}
}

static int closed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct closed_priv *p = closed_priv(f);
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		/* Capture the generation first, then look at the count: a drop
		 * to 0 after the look notifies after it, and moves the
		 * generation this operation holds. */
		if (!p->armed) {
			ak__notified_init(&p->n, &p->ch->rx_gone);
			p->armed = 1;
		}
		ak__lock(&p->ch->lock);
		uint64_t n = ak__load(&p->ch->rx_cnt, AK__RELAXED);
		ak__unlock(&p->ch->lock);
		if (n == 0) {
			closed_finish(p);
			ak__coop_spend(cx);
			return 0;
		}
		rc = ak__notified_poll(&p->n, cx);
		if (rc == AK_PENDING) {
			if (!p->holds_ref) {
				ak__ref_get(&p->ch->refs);
				p->holds_ref = 1;
			}
			return rc;
		}
		p->armed = 0;
		if (rc) {
			closed_finish(p);
			return rc;
		}
		/* notified: look again (a subscribe since then re-arms) */
	}
}

static void closed_cancel(struct ak_future *f)
{
	closed_finish(closed_priv(f));
}

static const struct ak_future_vtable closed_vtable = { closed_poll, closed_cancel };

AK_EXPORT int ak_broadcast_closed_init(struct ak_broadcast_closed_op *op, struct ak_broadcast_tx *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &closed_vtable);
	if (rc)
		return rc;
	struct closed_priv *p = closed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->ch = tx;
	return 0;
}
