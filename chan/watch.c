/*
 * chan/watch.c: the watch channel's handles and publishing forms.  See
 * ak_watch(3); chan/watch_slot.c has the design (slots, pins, scans) and
 * chan/watch_wait.c the waits.
 *
 *   call                              lock                 thread
 *   send, send_replace, send_modify   senders' (the latch) any sender
 *   sender_borrow                     senders'             any sender
 *   subscribe, receiver_clone, _drop  senders', briefly    any
 *   borrow*, has_changed, mark_*      none                 the receiver's
 *   changed / wait_for poll           notify core's        the receiver's
 *   ak_watch_ref_release              none                 any
 */
#include <string.h>

#include <awaitkit/block_on.h>

#include "watch_chan.h"

/* The largest element: a slot must stay far from overflowing size_t. */
#define MAX_ELEM (SIZE_MAX / 2)

static int clone_value(const struct watch *w, void *dst, const void *src)
{
	if (w->hooks.clone)
		return w->hooks.clone(dst, src, w->hooks.arg);
	if (w->elem_size)
		memcpy(dst, src, w->elem_size);
	return 0;
}

/* ---- the channel ----------------------------------------------------------- */

void ak__watch_put(struct watch *w)
{
	if (ak__ref_put(&w->refs))
		ak__watch_destroy(w);
}

int ak__watch_senders_gone(struct watch *w)
{
	/* acquire: pairs with the release in ak_watch_sender_drop(); every
	 * publish of every sender is visible after it. */
	return ak__load(&w->closed, AK__ACQUIRE) != 0;
}

AK_EXPORT int ak_watch_new(size_t elem_size, const void *init, const struct ak_watch_hooks *hooks,
                           struct ak_watch_sender **tx, struct ak_watch_receiver **rx)
{
	if (!tx || elem_size > MAX_ELEM || (elem_size && !init) ||
	    (hooks && hooks->drop && !hooks->clone))
		return AK_EINVAL;
	ak__watch_zombies_sweep();
	struct ak_watch_sender *s = ak__alloc(sizeof(*s));
	struct watch *w = s ? ak__watch_alloc() : NULL;
	if (!w || ak__watch_init(w, elem_size, init, hooks) != 0) {
		if (w)
			ak__watch_abandon(w);
		ak__free_sized(s, sizeof(*s));
		return AK_ENOMEM;
	}
	/* No receiver asked for: tokio's Sender::new, closed until a
	 * subscribe. */
	uint64_t zero = 0;
	struct ak_watch_receiver *r = rx ? ak__watch_receiver_new(w, &zero) : NULL;
	if (rx && !r) {
		ak__watch_abandon(w);
		ak__free_sized(s, sizeof(*s));
		return AK_ENOMEM;
	}
	ak__init(&w->refs, rx ? 2u : 1u);
	ak__init(&w->senders, 1u);
	ak__init(&w->receivers, rx ? 1u : 0u);
	s->w = w;
	*tx = s;
	if (rx)
		*rx = r;
	return 0;
}

/* ---- sender ------------------------------------------------------------------ */

AK_EXPORT int ak_watch_sender_clone(struct ak_watch_sender *tx, struct ak_watch_sender **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct ak_watch_sender *s = ak__alloc(sizeof(*s));
	if (!s)
		return AK_ENOMEM;
	s->w = tx->w;
	ak__ref_get(&tx->w->refs);
	ak__fetch_add(&tx->w->senders, 1, AK__RELAXED);
	*out = s;
	return 0;
}

AK_EXPORT int ak_watch_sender_drop(struct ak_watch_sender *tx)
{
	if (!tx)
		return AK_EINVAL;
	struct watch *w = tx->w;
	ak__free_sized(tx, sizeof(*tx));
	/* acq_rel: the last sender sees every other sender's publishes. */
	if (ak__fetch_sub(&w->senders, 1, AK__ACQ_REL) == 1) {
		/* release: pairs with the acquire in ak__watch_senders_gone(). */
		ak__store(&w->closed, 1, AK__RELEASE);
		ak__notify_waiters(&w->changed);
	}
	ak__watch_put(w);
	return 0;
}

/* send_lock, slot mode: publishes a copy of value's bytes into a slot,
 * first cloning the current value into old (if not NULL). */
static int publish_slot(struct watch *w, const void *value, void *old, struct slot **idle)
{
	struct slot *s = ak__watch_slot_get(w);
	if (!s)
		return AK_ENOMEM;
	if (old) {
		/* Cloned before anything changes, so a failure changes nothing.
		 * Only publishers change current, under this lock. */
		int rc = clone_value(w, old, ak__load(&w->current, AK__RELAXED)->value);
		if (rc) {
			ak__watch_slot_unget(w, s);
			return rc;
		}
	}
	if (w->elem_size)
		memcpy(s->value, value, w->elem_size);
	*idle = ak__watch_publish(w, s);
	return 0;
}

/* Publishes a copy of value's bytes (the value moves into the channel). */
static int publish_bytes(struct watch *w, const void *value, void *old)
{
	struct slot *idle = NULL;
	int rc = 0;

	if (w->copy_mode) {
		ak__watch_latch_acquire(w);
		if (old)                        /* no hooks: a byte copy */
			ak__watch_latch_current(w, old);
		ak__watch_latch_release(w, value, 1);
	} else {
		ak__lock(&w->send_lock);
		rc = publish_slot(w, value, old, &idle);
		ak__unlock(&w->send_lock);
	}
	if (rc == 0)
		ak__watch_published(w, idle);
	return rc;
}

AK_EXPORT int ak_watch_send(struct ak_watch_sender *tx, const void *value)
{
	if (!tx || (!value && tx->w->elem_size))
		return AK_EINVAL;
	if (ak__load(&tx->w->receivers, AK__RELAXED) == 0)
		return AK_EPIPE;
	return publish_bytes(tx->w, value, NULL);
}

AK_EXPORT int ak_watch_send_replace(struct ak_watch_sender *tx, const void *value, void *old)
{
	if (!tx || (!value && tx->w->elem_size))
		return AK_EINVAL;
	return publish_bytes(tx->w, value, old);
}

/* Clone the current value, let the caller change the clone, publish it
 * (or drop it when nothing was modified). */
static int modify_and_publish(struct watch *w, void (*modify)(void *, void *),
                              int (*modify_if)(void *, void *), void *arg, int *modified)
{
	max_align_t scratch[(COPY_BYTES + sizeof(max_align_t) - 1) / sizeof(max_align_t)];
	struct slot *s = NULL, *idle = NULL;
	void *value = scratch;

	if (w->copy_mode) {
		ak__watch_latch_acquire(w);
		ak__watch_latch_current(w, scratch);
	} else {
		ak__lock(&w->send_lock);
		s = ak__watch_slot_get(w);
		if (!s) {
			ak__unlock(&w->send_lock);
			return AK_ENOMEM;
		}
		/* Only publishers change current, under this lock. */
		int rc = clone_value(w, s->value, ak__load(&w->current, AK__RELAXED)->value);
		if (rc) {
			ak__watch_slot_unget(w, s);
			ak__unlock(&w->send_lock);
			return rc;
		}
		value = s->value;
	}
	int changed = 1;
	if (modify)
		modify(value, arg);
	else
		changed = modify_if(value, arg) != 0;
	if (w->copy_mode) {
		ak__watch_latch_release(w, scratch, changed);
	} else {
		if (changed)
			idle = ak__watch_publish(w, s);
		ak__unlock(&w->send_lock);
	}
	if (modified)
		*modified = changed;
	if (changed)
		ak__watch_published(w, idle);
	else if (s)
		ak__watch_slot_discard(s);      /* never published */
	return 0;
}

AK_EXPORT int ak_watch_send_modify(struct ak_watch_sender *tx,
                                   void (*modify)(void *value, void *arg), void *arg)
{
	if (!tx || !modify)
		return AK_EINVAL;
	return modify_and_publish(tx->w, modify, NULL, arg, NULL);
}

AK_EXPORT int ak_watch_send_if_modified(struct ak_watch_sender *tx,
                                        int (*modify)(void *value, void *arg), void *arg,
                                        int *modified)
{
	if (!tx || !modify)
		return AK_EINVAL;
	return modify_and_publish(tx->w, NULL, modify, arg, modified);
}

AK_EXPORT int ak_watch_sender_borrow(struct ak_watch_sender *tx, struct ak_watch_ref *ref)
{
	if (!tx || !ref)
		return AK_EINVAL;
	struct borrowed b;
	int rc = ak__watch_sender_borrow(tx->w, &b);
	if (rc == 0)
		ak__watch_fill_ref(ref, &b, 0);
	return rc;
}

/* A receiver counted on w, having seen *seen (NULL: the current value). */
static struct ak_watch_receiver *receiver_new(struct watch *w, const uint64_t *seen)
{
	struct ak_watch_receiver *r = ak__watch_receiver_new(w, seen);
	if (!r)
		return NULL;
	ak__ref_get(&w->refs);
	ak__fetch_add(&w->receivers, 1, AK__RELAXED);
	return r;
}

AK_EXPORT int ak_watch_subscribe(struct ak_watch_sender *tx, struct ak_watch_receiver **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct ak_watch_receiver *r = receiver_new(tx->w, NULL);
	if (!r)
		return AK_ENOMEM;
	*out = r;
	return 0;
}

AK_EXPORT size_t ak_watch_receiver_count(const struct ak_watch_sender *tx)
{
	if (!tx)
		return 0;
	return ak__load(&tx->w->receivers, AK__RELAXED);
}

AK_EXPORT size_t ak_watch_sender_count(const struct ak_watch_sender *tx)
{
	if (!tx)
		return 0;
	return ak__load(&tx->w->senders, AK__RELAXED);
}

/* tokio's Sender::is_closed: no receiver is left (a subscribe reopens). */
AK_EXPORT int ak_watch_sender_is_closed(const struct ak_watch_sender *tx)
{
	if (!tx)
		return AK_EINVAL;
	/* acquire: pairs with the release decrement in ak_watch_receiver_drop(),
	 * as closed_poll's look does. */
	return ak__load(&tx->w->receivers, AK__ACQUIRE) == 0;
}

AK_EXPORT int ak_watch_same_channel(const struct ak_watch_receiver *a,
                                    const struct ak_watch_receiver *b)
{
	if (!a || !b)
		return AK_EINVAL;
	return a->w == b->w;
}

/* ---- receiver ---------------------------------------------------------------- */

AK_EXPORT int ak_watch_receiver_clone(struct ak_watch_receiver *rx, struct ak_watch_receiver **out)
{
	if (!rx || !out)
		return AK_EINVAL;
	struct ak_watch_receiver *r = receiver_new(rx->w, &rx->seen);
	if (!r)
		return AK_ENOMEM;
	*out = r;
	return 0;
}

/* The last reference on a receiver takes it out of the channel and drops
 * its channel reference (its memory may stay with its borrows). */
void ak__watch_receiver_put(struct ak_watch_receiver *rx)
{
	if (--rx->refs != 0)
		return;
	struct watch *w = rx->w;
	ak__watch_receiver_leave(rx);
	ak__watch_put(w);
}

AK_EXPORT int ak_watch_receiver_drop(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	struct watch *w = rx->w;
	/* A parked changed() or wait_for() keeps the receiver; it fails
	 * with AK_EPIPE at its next poll. */
	rx->dropped = 1;
	/* release: pairs with the acquire in closed_poll(). */
	if (ak__fetch_sub(&w->receivers, 1, AK__ACQ_REL) == 1)
		ak__notify_waiters(&w->rx_gone);
	ak__watch_receiver_put(rx);
	return 0;
}

static int borrow(struct ak_watch_receiver *rx, struct ak_watch_ref *ref, int update)
{
	if (!rx || !ref)
		return AK_EINVAL;
	struct borrowed b;
	int rc = ak__watch_borrow(rx, &b);
	if (rc)
		return rc;
	ak__watch_fill_ref(ref, &b, b.version != rx->seen);
	if (update)
		rx->seen = b.version;
	return 0;
}

AK_EXPORT int ak_watch_borrow(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	return borrow(rx, ref, 0);
}

AK_EXPORT int ak_watch_borrow_and_update(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	return borrow(rx, ref, 1);
}

AK_EXPORT int ak_watch_ref_release(struct ak_watch_ref *ref)
{
	if (!ref || !ref->block_)
		return AK_EINVAL;
	uintptr_t token = (uintptr_t)ref->block_;
	ref->block_ = NULL;
	ref->value = NULL;
	ak__watch_release(token);
	return 0;
}

AK_EXPORT int ak_watch_has_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	if (ak__watch_senders_gone(rx->w))
		return AK_EPIPE;
	return ak__watch_peek_version(rx) != rx->seen;
}

AK_EXPORT int ak_watch_mark_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	/* Any other number: the next changed() resolves at once. */
	rx->seen = ak__watch_peek_version(rx) - 1;
	return 0;
}

AK_EXPORT int ak_watch_mark_unchanged(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	rx->seen = ak__watch_peek_version(rx);
	return 0;
}

/* ---- for tests and stress programs ------------------------------------------- */

void ak__watch_quiesce(void);

/* Frees the receivers of the copy mode that left with borrows held, now
 * released (slots are reused or freed synchronously).  For the tests and
 * stress programs, which call it before they read the allocation
 * counters. */
void ak__watch_quiesce(void)
{
	ak__watch_zombies_sweep();
}
