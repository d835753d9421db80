/*
 * chan/broadcast.c: the broadcast channel.  See <awaitkit/broadcast.h> and
 * ak_broadcast(3).
 *
 * The ring holds cap (a power of two) slots.  Position p lives in slot
 * p & mask; each slot records the position of the value it holds (pos),
 * how many receivers counted at send time have not read it yet (rem, for
 * ak_broadcast_len only), and a pin word: the count of readers copying the
 * value out, plus a WRITING bit.
 *
 * Pinning (no value is copied while it is overwritten, and readers never
 * serialise on one lock):
 *   reader: fetch_add(pin, 1) acquire; if WRITING was set, back off
 *           (fetch_sub) and wait for it to clear; else read pos and copy
 *           the value; fetch_sub(pin, 1) release.
 *   writer: fetch_or(pin, WRITING) acquire, then wait for the reader count
 *           to reach 0 (acquire loads); write value, pos, rem, the channel's
 *           tail; fetch_and(pin, ~WRITING) release.
 * The writer's acquire pairs with each reader's releasing unpin (the copy
 * out happens before the overwrite); each reader's acquire pin pairs with
 * the writer's releasing fetch_and (the value, pos and tail are visible).
 *
 * The channel lock guards the waiter list, and serialises senders: a send
 * holds it while it writes its slot (so under the lock, tail is exact).  A
 * receiver takes it only to park, and to re-check before parking.
 *
 * Positions start at 0; slot i starts with pos = i - cap (mod 2^64), which
 * no cursor ever equals.  A slot whose pos is below the tail holds a value.
 *
 * Handles: refs counts every sender, weak sender and receiver (and each
 * parked operation); senders counts the strong senders alone, and an
 * upgrade is a CAS on it that fails once it reached 0 (the channel closed,
 * for good).  The senders' closed() waits on the notify core rx_gone,
 * which rx_drop notifies when the receiver count reaches 0; its poll looks
 * at the count under the lock, so a subscribe that came first re-arms it.
 */
#include <string.h>

#include <awaitkit/block_on.h>

#include "broadcast_chan.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_BROADCAST_RECV, struct ak_broadcast_recv_op);

#define WRITING ((uint32_t)1 << 31)
#define SPINS_BEFORE_YIELD 64

struct recv_priv {
	struct ak__waiter w;
	struct ak_broadcast_rx *rx;
	void *out;
	uint64_t *missed;
	int parked;                     /* this op set rx->parked */
	int holds_rx;                   /* parked once: a reference on rx */
};
_Static_assert(sizeof(struct recv_priv) <= sizeof(((struct ak_broadcast_recv_op *)0)->private_),
               "broadcast recv op storage too small");

static struct recv_priv *priv_of(struct ak_future *f)
{
	return (struct recv_priv *)(void *)&((struct ak_broadcast_recv_op *)(void *)f)->private_;
}

static unsigned char *value_at(struct ak_broadcast_tx *ch, uint64_t p)
{
	return ch->values + (size_t)(p & ch->mask) * ch->elem_size;
}

static void spin_wait(unsigned *spins)
{
	if (++*spins < SPINS_BEFORE_YIELD)
		ak__cpu_relax();
	else
		ak__yield();
}

/* ---- pins -------------------------------------------------------------- */

static void pin_read(struct slot *s)
{
	unsigned spins = 0;
	for (;;) {
		/* acquire: pairs with the writer's release fetch_and in
		 * unpin_write(): the value, pos and tail it wrote are visible. */
		uint32_t v = ak__fetch_add(&s->pin, 1, AK__ACQUIRE);
		if (!(v & WRITING))
			return;
		ak__fetch_sub(&s->pin, 1, AK__RELAXED);
		while (ak__load(&s->pin, AK__RELAXED) & WRITING)
			spin_wait(&spins);
	}
}

static void unpin_read(struct slot *s)
{
	/* release: pairs with the acquire in pin_write(): our copy out
	 * happens before the writer's overwrite. */
	ak__fetch_sub(&s->pin, 1, AK__RELEASE);
}

static void pin_write(struct slot *s)
{
	unsigned spins = 0;
	/* acquire: pairs with the release in unpin_read(). */
	uint32_t v = ak__fetch_or(&s->pin, WRITING, AK__ACQUIRE);
	while ((v & ~WRITING) != 0) {
		spin_wait(&spins);
		/* acquire: pairs with the release in unpin_read(). */
		v = ak__load(&s->pin, AK__ACQUIRE);
	}
}

static void unpin_write(struct slot *s)
{
	/* release: pairs with the acquire in pin_read(). */
	ak__fetch_and(&s->pin, ~WRITING, AK__RELEASE);
}

/* ---- the channel --------------------------------------------------------- */

static void channel_free(struct ak_broadcast_tx *ch)
{
	uint64_t tail = ak__load(&ch->tail, AK__RELAXED);
	if (ch->hooks.drop) {
		for (size_t i = 0; i < ch->cap; i++) {
			uint64_t pos = ak__load(&ch->slots[i].pos, AK__RELAXED);
			if (pos < tail)
				ch->hooks.drop(value_at(ch, pos), ch->hooks.arg);
		}
	}
	ak__notify_destroy(&ch->rx_gone);
	ak__lock_destroy(&ch->lock);
	/* The size ak_broadcast_new allocated: the values come last. */
	ak__free_sized(ch, (size_t)(ch->values - (unsigned char *)ch) + ch->cap * ch->elem_size);
}

void ak__broadcast_put(struct ak_broadcast_tx *ch)
{
	/* ak__ref_put's acq_rel: the last holder sees every write made before
	 * the other references were dropped. */
	if (ak__ref_put(&ch->refs))
		channel_free(ch);
}

static size_t round_up_pow2(size_t n)
{
	size_t c = 1;
	while (c < n)
		c <<= 1;
	return c;
}

/* Grant-loop pick: every waiter, a re-check each. */
static int pick_all(struct ak__waiter *w, void *arg, uintptr_t *amount)
{
	(void)w;
	(void)arg;
	*amount = 1;
	return 1;
}

/* Grants every waiter a re-check; the lock is held on entry and on return,
 * dropped only to wake a full wake list. */
static void wake_all_locked(struct ak_broadcast_tx *ch, struct ak__wakelist *wl)
{
	ak__waitq_grant_each(&ch->waiters, &ch->lock, pick_all, NULL, wl);
}

static struct ak_broadcast_rx *rx_new_locked(struct ak_broadcast_tx *ch, struct ak_broadcast_rx *rx)
{
	rx->ch = ch;
	rx->next = ak__load(&ch->tail, AK__RELAXED);
	rx->parked = 0;
	rx->refs = 1;
	rx->dropped = 0;
	ak__store(&ch->rx_cnt, ak__load(&ch->rx_cnt, AK__RELAXED) + 1, AK__RELAXED);
	ak__ref_get(&ch->refs);
	return rx;
}

AK_EXPORT int ak_broadcast_new(struct ak_broadcast_tx **tx, struct ak_broadcast_rx **rx,
                               size_t capacity, size_t elem_size,
                               const struct ak_broadcast_hooks *hooks)
{
	if (!tx || capacity == 0 || capacity > AK_BROADCAST_MAX_CAPACITY)
		return AK_EINVAL;
	if (hooks && hooks->drop && !hooks->clone)
		return AK_EINVAL;
	size_t cap = round_up_pow2(capacity);
	size_t head = (sizeof(struct ak_broadcast_tx) + 63) & ~(size_t)63;
	size_t slots = cap * sizeof(struct slot);
	if (elem_size > (SIZE_MAX - head - slots - 64) / cap)
		return AK_EINVAL;
	size_t values_off = (head + slots + 63) & ~(size_t)63;
	size_t total = values_off + cap * elem_size;

	struct ak_broadcast_rx *r = NULL;
	if (rx) {
		r = ak__alloc(sizeof *r);
		if (!r)
			return AK_ENOMEM;
	}
	unsigned char *mem = ak__alloc(total);
	if (!mem) {
		ak__free_sized(r, sizeof *r);
		return AK_ENOMEM;
	}
	struct ak_broadcast_tx *ch = (struct ak_broadcast_tx *)(void *)mem;
	ch->cap = cap;
	ch->mask = cap - 1;
	ch->elem_size = elem_size;
	if (hooks)
		ch->hooks = *hooks;
	ch->slots = (struct slot *)(void *)(mem + head);
	ch->values = mem + values_off;
	for (size_t i = 0; i < cap; i++) {
		ak__init(&ch->slots[i].pin, 0);
		ak__init(&ch->slots[i].pos, (uint64_t)i - (uint64_t)cap);
		ak__init(&ch->slots[i].rem, 0);
	}
	ak__init(&ch->refs, 1);
	ak__init(&ch->senders, 1);
	ak__init(&ch->weaks, 0);
	ak__init(&ch->tail, 0);
	ak__init(&ch->rx_cnt, 0);
	ak__init(&ch->closed, 0);
	ak__lock_init(&ch->lock);
	ak__waitq_init(&ch->waiters);
	ak__notify_init(&ch->rx_gone);
	if (r)
		*rx = rx_new_locked(ch, r);   /* not shared yet: no lock needed */
	*tx = ch;
	return 0;
}

AK_EXPORT int ak_broadcast_send(struct ak_broadcast_tx *ch, const void *value, size_t *receivers)
{
	if (!ch || (!value && ch->elem_size > 0))
		return AK_EINVAL;
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&ch->lock);
	uint64_t n = ak__load(&ch->rx_cnt, AK__RELAXED);
	if (n == 0) {
		ak__unlock(&ch->lock);
		return AK_EPIPE;
	}
	uint64_t p = ak__load(&ch->tail, AK__RELAXED);
	struct slot *s = &ch->slots[p & ch->mask];
	pin_write(s);
	unsigned char *v = value_at(ch, p);
	if (ch->hooks.drop && ak__load(&s->pos, AK__RELAXED) < p)
		ch->hooks.drop(v, ch->hooks.arg);       /* the overwritten value */
	if (ch->elem_size)
		memcpy(v, value, ch->elem_size);
	ak__store(&s->rem, n, AK__RELAXED);
	ak__store(&s->pos, p, AK__RELAXED);
	/* release: pairs with the acquire loads of tail in lag() and
	 * try_take(); the pin's release below orders it for pinned readers. */
	ak__store(&ch->tail, p + 1, AK__RELEASE);
	unpin_write(s);
	wake_all_locked(ch, &wl);
	ak__unlock(&ch->lock);
	ak__wakelist_wake(&wl);
	if (receivers)
		*receivers = (size_t)n;
	return 0;
}

AK_EXPORT int ak_broadcast_tx_clone(struct ak_broadcast_tx *ch, struct ak_broadcast_tx **out)
{
	if (!ch || !out)
		return AK_EINVAL;
	if (ak__load(&ch->refs, AK__RELAXED) >= UINT32_MAX / 2)
		return AK_EOVERFLOW;
	ak__ref_get(&ch->refs);
	ak__fetch_add(&ch->senders, 1, AK__RELAXED);
	*out = ch;
	return 0;
}

AK_EXPORT int ak_broadcast_tx_drop(struct ak_broadcast_tx *ch)
{
	if (!ch)
		return AK_EINVAL;
	/* acq_rel: the last sender sees every other sender's sends. */
	if (ak__fetch_sub(&ch->senders, 1, AK__ACQ_REL) == 1) {
		struct ak__wakelist wl;
		ak__wakelist_init(&wl);
		ak__lock(&ch->lock);
		/* release: pairs with the acquire in try_take(). */
		ak__store(&ch->closed, 1, AK__RELEASE);
		wake_all_locked(ch, &wl);
		ak__unlock(&ch->lock);
		ak__wakelist_wake(&wl);
	}
	ak__broadcast_put(ch);
	return 0;
}

AK_EXPORT int ak_broadcast_subscribe(struct ak_broadcast_tx *ch, struct ak_broadcast_rx **out)
{
	if (!ch || !out)
		return AK_EINVAL;
	struct ak_broadcast_rx *r = ak__alloc(sizeof *r);
	if (!r)
		return AK_ENOMEM;
	ak__lock(&ch->lock);
	*out = rx_new_locked(ch, r);
	ak__unlock(&ch->lock);
	return 0;
}

AK_EXPORT size_t ak_broadcast_receiver_count(const struct ak_broadcast_tx *ch)
{
	if (!ch)
		return 0;
	return (size_t)ak__load(&((struct ak_broadcast_tx *)ch)->rx_cnt, AK__RELAXED);
}

AK_EXPORT size_t ak_broadcast_capacity(const struct ak_broadcast_tx *ch)
{
	return ch ? ch->cap : 0;
}

AK_EXPORT size_t ak_broadcast_len(const struct ak_broadcast_tx *cch)
{
	if (!cch)
		return 0;
	struct ak_broadcast_tx *ch = (struct ak_broadcast_tx *)cch;
	/* acquire: pairs with the release store of tail in send. */
	uint64_t tail = ak__load(&ch->tail, AK__ACQUIRE);
	uint64_t low = tail > ch->cap ? tail - ch->cap : 0;
	size_t n = 0;
	for (uint64_t p = low; p < tail; p++) {
		struct slot *s = &ch->slots[p & ch->mask];
		if (ak__load(&s->pos, AK__RELAXED) == p && ak__load(&s->rem, AK__RELAXED) > 0)
			n++;
	}
	return n;
}

AK_EXPORT int ak_broadcast_is_empty(const struct ak_broadcast_tx *ch)
{
	if (!ch)
		return AK_EINVAL;
	return ak_broadcast_len(ch) == 0;
}

/* ---- receiving ------------------------------------------------------------ */

/*
 * One lockless attempt for rx's next position: 0 with the value copied
 * out, AK_EOVERFLOW (cursor moved to the oldest value held), AK_EAGAIN (not
 * sent yet), AK_EPIPE (closed and drained), or the clone hook's error.
 */
static int try_take(struct ak_broadcast_rx *rx, void *out, uint64_t *missed)
{
	struct ak_broadcast_tx *ch = rx->ch;
	for (;;) {
		uint64_t c = rx->next;
		struct slot *s = &ch->slots[c & ch->mask];
		pin_read(s);
		uint64_t pos = ak__load(&s->pos, AK__RELAXED);
		if (pos == c) {
			int rc = 0;
			if (ch->hooks.clone)
				rc = ch->hooks.clone(out, value_at(ch, c), ch->hooks.arg);
			else if (ch->elem_size)
				memcpy(out, value_at(ch, c), ch->elem_size);
			if (rc == 0)
				ak__fetch_sub(&s->rem, 1, AK__RELAXED);
			unpin_read(s);
			if (rc == 0)
				rx->next = c + 1;
			return rc;
		}
		unpin_read(s);
		if ((int64_t)(pos - c) > 0) {
			/* Overwritten.  The writer stored tail before unpinning, and our
			 * pin acquired that: tail > pos >= c + cap.  acquire: pairs with
			 * the release store of tail in send. */
			uint64_t oldest = ak__load(&ch->tail, AK__ACQUIRE) - ch->cap;
			if (missed)
				*missed = oldest - c;
			rx->next = oldest;
			return AK_EOVERFLOW;
		}
		/* acquire: pairs with the release store of closed in tx_drop,
		 * made after the last send: tail below is final. */
		if (!ak__load(&ch->closed, AK__ACQUIRE))
			return AK_EAGAIN;
		if (ak__load(&ch->tail, AK__ACQUIRE) == c)
			return AK_EPIPE;
		/* a send landed between our pin and the closed check: look again */
	}
}

AK_EXPORT int ak_broadcast_try_recv(struct ak_broadcast_rx *rx, void *out, uint64_t *missed)
{
	if (!rx || (!out && rx->ch->elem_size > 0))
		return AK_EINVAL;
	return try_take(rx, out, missed);
}

static void rx_put(struct ak_broadcast_rx *rx)
{
	if (--rx->refs != 0)
		return;
	struct ak_broadcast_tx *ch = rx->ch;
	ak__free_sized(rx, sizeof *rx);
	ak__broadcast_put(ch);
}

static void unqueue(struct recv_priv *r)
{
	struct ak_broadcast_tx *ch = r->rx->ch;
	struct ak_waker drop;
	ak__lock(&ch->lock);
	ak__waitq_cancel(&ch->waiters, &r->w, &drop);
	ak__unlock(&ch->lock);
	ak__waker_drop_kept(&drop);
	if (r->parked)
		r->rx->parked = 0;
	r->parked = 0;
}

/* The operation is done (completed, failed or cancelled): leaves the
 * queue and gives the receiver back, maybe freeing it and the channel; the
 * last thing it does. */
static void recv_end(struct recv_priv *r)
{
	if (ak__load(&r->w.state, AK__RELAXED) != AK__W_IDLE)
		unqueue(r);
	if (r->parked)
		r->rx->parked = 0;
	r->parked = 0;
	if (r->holds_rx) {
		r->holds_rx = 0;
		rx_put(r->rx);
	}
}

static int recv_finish(struct recv_priv *r, struct ak_context *cx, int rc)
{
	ak__coop_spend(cx);
	recv_end(r);
	return rc;
}

/* Under the lock tail is exact (senders write it holding it): park unless
 * a value, a lag or the close came meanwhile (AGAIN: look again). */
#define AGAIN (AK__WAIT_PARK + 1)
static int recv_recheck(struct ak__waiter *w, void *arg, struct ak_waker *clone,
                        struct ak_waker *drop, struct ak__wakelist *wl)
{
	struct ak_broadcast_rx *rx = arg;
	struct ak_broadcast_tx *ch = rx->ch;

	(void)clone;
	(void)drop;
	(void)wl;
	if (ak__load(&ch->tail, AK__RELAXED) != rx->next || ak__load(&ch->closed, AK__RELAXED))
		return AGAIN;
	w->want = 1;
	return AK__WAIT_PARK;
}

static int recv_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_priv *r = priv_of(f);
	struct ak_broadcast_rx *rx = r->rx;
	struct ak_broadcast_tx *ch = rx->ch;

	uint32_t st = ak__waiter_state(&r->w);
	if (st == AK__W_GRANTED)
		ak__waiter_take(&r->w);       /* a grant is only "look again" */
	int queued = st == AK__W_QUEUED;
	if (!queued && ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	for (;;) {
		if (rx->dropped)
			return recv_finish(r, cx, AK_EPIPE);
		int rc = try_take(rx, r->out, r->missed);
		if (rc != AK_EAGAIN)
			return recv_finish(r, cx, rc);

		rc = ak__waitq_wait(&ch->waiters, &ch->lock, &r->w, cx, recv_recheck, rx);
		if (rc == AK_ENOMEM) {
			recv_end(r);
			return rc;
		}
		if (rc == AGAIN)
			continue;      /* a value, a lag or the close: try_take sees it */
		rx->parked = 1;
		r->parked = 1;
		if (!r->holds_rx) {
			rx->refs++;
			r->holds_rx = 1;
		}
		return AK_PENDING;
	}
}

static void recv_cancel(struct ak_future *f)
{
	struct recv_priv *r = priv_of(f);
	/* Only an operation that parked clears the receiver's parked mark:
	 * cancelling one never polled leaves another one's alone. */
	if (r->rx)
		recv_end(r);
}

static const struct ak_future_vtable recv_vtable = { recv_poll, recv_cancel };

AK_EXPORT int ak_broadcast_recv_init(struct ak_broadcast_recv_op *op, struct ak_broadcast_rx *rx,
                                     void *out, uint64_t *missed)
{
	if (!op || !rx || (!out && rx->ch->elem_size > 0))
		return AK_EINVAL;
	if (rx->parked)
		return AK_EBUSY;
	int rc = ak_future_init(&op->future, &recv_vtable);
	if (rc)
		return rc;
	struct recv_priv *r = priv_of(&op->future);
	memset(r, 0, sizeof *r);
	ak__init(&r->w.state, AK__W_IDLE);
	r->rx = rx;
	r->out = out;
	r->missed = missed;
	return 0;
}

AK_EXPORT int ak_broadcast_recv_blocking(struct ak_broadcast_rx *rx, void *out, uint64_t *missed,
                                         int64_t deadline)
{
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_broadcast_recv_init(&op, rx, out, missed);
	if (rc)
		return rc;
	return ak_block_on(&op.future, deadline);
}

AK_EXPORT int ak_broadcast_resubscribe(struct ak_broadcast_rx *rx, struct ak_broadcast_rx **out)
{
	if (!rx || !out)
		return AK_EINVAL;
	return ak_broadcast_subscribe(rx->ch, out);
}

AK_EXPORT uint64_t ak_broadcast_rx_len(const struct ak_broadcast_rx *rx)
{
	if (!rx)
		return 0;
	/* acquire: pairs with the release store of tail in send. */
	return ak__load(&rx->ch->tail, AK__ACQUIRE) - rx->next;
}

AK_EXPORT int ak_broadcast_rx_is_closed(const struct ak_broadcast_rx *rx)
{
	if (!rx)
		return AK_EINVAL;
	/* acquire: pairs with the release store of closed in tx_drop. */
	return ak__load(&rx->ch->closed, AK__ACQUIRE) != 0;
}

AK_EXPORT int ak_broadcast_rx_drop(struct ak_broadcast_rx *rx)
{
	if (!rx)
		return AK_EINVAL;
	struct ak_broadcast_tx *ch = rx->ch;
	rx->dropped = 1;
	ak__lock(&ch->lock);
	uint64_t left = ak__load(&ch->rx_cnt, AK__RELAXED) - 1;
	ak__store(&ch->rx_cnt, left, AK__RELAXED);
	uint64_t tail = ak__load(&ch->tail, AK__RELAXED);
	ak__unlock(&ch->lock);
	/* After the unlock: a closed() poll that saw the old count under the
	 * lock captured its generation before, so this wakes it. */
	if (left == 0)
		ak__notify_waiters(&ch->rx_gone);
	/* Values we were counted for and never read: no longer waited for. */
	uint64_t from = rx->next;
	if (tail - from > ch->cap)
		from = tail - ch->cap;
	for (uint64_t p = from; p < tail; p++) {
		struct slot *s = &ch->slots[p & ch->mask];
		pin_read(s);
		if (ak__load(&s->pos, AK__RELAXED) == p)
			ak__fetch_sub(&s->rem, 1, AK__RELAXED);
		unpin_read(s);
	}
	rx_put(rx);
	return 0;
}

AK_EXPORT int ak_broadcast_rx_is_empty(const struct ak_broadcast_rx *rx)
{
	return rx ? ak_broadcast_rx_len(rx) == 0 : AK_EINVAL;
}

AK_EXPORT int ak_broadcast_same_channel(const struct ak_broadcast_rx *a, const struct ak_broadcast_rx *b)
{
	return a && b ? a->ch == b->ch : AK_EINVAL;
}
