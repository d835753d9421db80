/*
 * chan/broadcast_senders.c: the broadcast channel's weak senders, its
 * handle counts and the senders' closed().  See chan/broadcast.c for the
 * design (Handles) and ak_broadcast(3).
 */
#include <string.h>

#include "broadcast_chan.h"
#include "../core/until.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_BROADCAST_CLOSED, struct ak_broadcast_closed_op);

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

_Static_assert(sizeof(struct ak__until_op) <= sizeof(((struct ak_broadcast_closed_op *)0)->private_),
               "broadcast closed op storage too small");

/* Under the lock the receiver count is exact: a subscribe that came first
 * re-arms the wait. */
static int no_receiver(void *obj)
{
	struct ak_broadcast_tx *ch = obj;
	ak__lock(&ch->lock);
	uint64_t n = ak__load(&ch->rx_cnt, AK__RELAXED);
	ak__unlock(&ch->lock);
	return n == 0;
}

static void ch_get(void *obj)
{
	ak__ref_get(&((struct ak_broadcast_tx *)obj)->refs);
}

static void ch_put(void *obj)
{
	ak__broadcast_put(obj);
}

static const struct ak__until_ops closed_ops = { no_receiver, ch_get, ch_put };

AK_EXPORT int ak_broadcast_closed_init(struct ak_broadcast_closed_op *op, struct ak_broadcast_tx *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	return ak__until_op_init(&op->future, &closed_ops, tx, &tx->rx_gone);
}
