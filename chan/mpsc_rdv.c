/*
 * chan/mpsc_rdv.c: the rendezvous, an mpsc channel of capacity 0 (Go's
 * unbuffered channel).  See chan/mpsc.c for the channel, chan/mpsc_chan.h
 * for the interface and ak_mpsc(3) for the contract.
 *
 * Go parks a sender with its value and lets a receiver copy it straight
 * out of the parked sender (the sudog hand-off), or a sender copy into a
 * parked receiver.  Here either side may be cancelled at any moment, and a
 * cancel cannot say what happened, so a hand-off commits inside the poll
 * of the operation that completes by it (DESIGN.md section 2):
 *
 *   - a send copies its value only in its own poll, into the cell (the
 *     channel's one slot), and only when a receive waits for it or asked
 *     it (below).  A cancelled send gave nothing; a send that handed over
 *     returns 0 from that very poll.
 *   - a receive takes the value out of the cell in its own poll.  One
 *     cancelled after a send handed it a value leaves the value in the
 *     cell, for the next receive: nothing is lost, nothing is doubled.
 *
 * So a receive that finds a sender parked does not take its value: it
 * asks it (a grant of core/waitq.h: the node leaves the queue, its waker
 * is woken) and waits; the asked sender's next poll hands over.  A receive
 * that finds none marks itself waiting (wants), and a sender that comes
 * then hands over in its first poll: the ping-pong case, one wake per
 * value, as in Go.
 *
 * The state, under the lock but for full:
 *   wants   a receive waits (set by its poll; cleared by a hand-over, by
 *           its completion and by its cancel)
 *   asked   the parked sender asked to hand over, or NULL
 *   PERMIT  a permit holds the hand-off: its send goes to the cell at once
 *   CLOSED  either side closed
 *   q       the parked sends and reserves, FIFO
 *   full    the cell holds a value: set (release) by a hand-over, under
 *           the lock; cleared (release) by the receiver alone, which reads
 *           the cell after an acquire load of it, without the lock
 *
 * Invariants: asked and PERMIT are never both set; a hand-over clears
 * wants, asked and PERMIT; wants with neither means q is empty (a receive
 * that waits asks the head; a sender that finds a receive waiting hands
 * over instead of parking), so try_send, which hands over only then,
 * never jumps the queue.  The cell is written only by the holder of the
 * hand-off (the asked sender, the permit, or a sender that found wants
 * alone), which a receive granted after finding the cell empty, under the
 * lock that it takes after its last read of the cell: one value at most,
 * and the write after the read.
 *
 * A receive cancelled before the sender it asked has answered takes the
 * ask back (ak__waitq_ungrant(): the sender goes back to the head of the
 * queue and parks a new waker at its next poll, which takes its grants
 * under the lock), so a select of two receives lets one sender through,
 * not two.  An asked sender that is cancelled passes the ask to the next
 * parked one while the receive still waits.  A permit cannot be taken back
 * (its send cannot fail): a receive cancelled under it leaves its value
 * for the next receive.
 *
 * Close (either side) fails the parked senders with AK_EPIPE (granted
 * short, as the ring's gate does) and an asked one at its next poll; a
 * permit may still send; the receiver takes what is in the cell, waits for
 * an outstanding permit, then gets AK_EPIPE.
 *
 * The receiver's waker is the channel's waker slot, which a receive
 * registers before it takes the lock to mark itself waiting; a hand-over
 * notifies it after unlocking, so the lock orders the registration before
 * the notify's look.  No waker is called under the lock.
 */
#include "mpsc_chan.h"

#define PERMIT 1u
#define CLOSED 2u

void ak__rdv_init(struct ak__chan *c)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	ak__lock_init(&r->lock);
	ak__init(&r->full, 0u);
	ak__waitq_init(&r->q);
	r->asked = NULL;
	ak__init(&r->wants, 0u);
	r->flags = 0;
}

void ak__rdv_destroy(struct ak__chan *c)
{
	ak__lock_destroy(&ak__chan_rdv_of(c)->lock);
}

/* Under the lock: the value goes to the cell and the hand-off is used. */
static void hand_over(struct ak__chan *c, const void *value)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	ak__copy_value(ak__chan_cell(c), value, c->elem_size);
	r->asked = NULL;
	r->flags &= ~PERMIT;
	ak__store(&r->wants, 0u, AK__RELAXED);
	/* release: publishes the value to the acquire load in ak__rdv_pop(). */
	ak__store(&r->full, 1u, AK__RELEASE);
}

/* Under the lock: nothing holds the hand-off; asks the oldest parked
 * sender for its value (its waker goes to wl). */
static void ask_head(struct ak__rdv *r, struct ak__wakelist *wl)
{
	struct ak__waiter *w = ak__waitq_head(&r->q);
	if (!w || r->asked || (r->flags & (PERMIT | CLOSED)))
		return;
	ak__waitq_grant(&r->q, w, 1, wl);
	r->asked = w;
}

/* Under the lock: the hand-off's holder went unused; the next parked
 * sender is asked if a receive still waits. */
static void pass_on(struct ak__rdv *r, struct ak__wakelist *wl)
{
	if (ak__load(&r->wants, AK__RELAXED))
		ask_head(r, wl);
}

/* A send or reserve may hand over now, without having parked. */
static int receive_waits(struct ak__rdv *r)
{
	return ak__load(&r->wants, AK__RELAXED) && !r->asked && !(r->flags & (PERMIT | CLOSED));
}

int ak__rdv_offer(struct ak__chan *c, struct ak__waiter *w, const void *value,
                  struct ak_context *cx)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	struct ak_waker clone = { NULL, NULL };
	int rc;
	/* relaxed, both: a guess.  A first poll that finds a receive waiting
	 * will hand over and needs no waker; otherwise clone it before the
	 * lock.  A wrong guess clones below, unlocked. */
	if (ak__load(&w->state, AK__RELAXED) != AK__W_IDLE || !ak__load(&r->wants, AK__RELAXED)) {
		rc = ak__waiter_prepare(w, cx, &clone);
		if (rc) {
			ak__rdv_withdraw(c, w);
			return rc;
		}
	}
	ak__lock(&r->lock);
	for (;;) {
		uint32_t st = ak__load(&w->state, AK__RELAXED);
		int give;
		if (st == AK__W_GRANTED)      /* asked (1), or failed by a close (0) */
			give = ak__waiter_take(w) != 0 && !(r->flags & CLOSED);
		else if (r->flags & CLOSED)
			give = 0;                 /* idle: a close fails every queued one */
		else if (st == AK__W_IDLE && receive_waits(r))
			give = 1;
		else
			give = -1;
		if (give == 1) {
			if (value) {
				hand_over(c, value);
			} else {                  /* a reserve: the permit holds the hand-off */
				r->asked = NULL;
				r->flags |= PERMIT;
			}
			rc = 0;
			break;
		}
		if (give == 0) {
			rc = AK_EPIPE;
			break;
		}
		if (ak__waker_empty(&clone) && (st == AK__W_IDLE || ak__waker_empty(&w->waker))) {
			/* No waker to park: the guess above was wrong, or an ask
			 * taken back (ak__waitq_ungrant) woke and left none.
			 * Clone one without the lock and look again. */
			ak__unlock(&r->lock);
			rc = ak__waker_keep(&cx->waker, &clone);
			if (rc) {
				ak__rdv_withdraw(c, w);
				return rc;
			}
			ak__lock(&r->lock);
			continue;
		}
		w->want = 1;
		ak__waitq_park(&r->q, w, &clone);
		rc = AK_PENDING;
		break;
	}
	ak__unlock(&r->lock);
	if (rc == 0 && value)
		ak__waker_slot_notify(&c->rx_waker);
	ak__waker_drop_kept(&clone);
	return rc;
}

void ak__rdv_withdraw(struct ak__chan *c, struct ak__waiter *w)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	/* relaxed: only the owner makes its node idle, or leaves idle. */
	if (ak__load(&w->state, AK__RELAXED) == AK__W_IDLE)
		return;
	struct ak__wakelist wl;
	struct ak_waker drop;
	ak__wakelist_init(&wl);
	ak__lock(&r->lock);
	if (ak__waitq_cancel(&r->q, w, &drop) != 0 && r->asked == w) {
		r->asked = NULL;
		pass_on(r, &wl);
	}
	ak__unlock(&r->lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&drop);
}

int ak__rdv_try_send(struct ak__chan *c, const void *value)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	/* relaxed: a look without the lock, which decides (the blocking
	 * send spins on this). */
	if (!ak__load(&r->wants, AK__RELAXED))
		return ak__rdv_is_closed(c) ? AK_EPIPE : AK_EAGAIN;
	int rc = AK_EAGAIN;
	ak__lock(&r->lock);
	if (r->flags & CLOSED) {
		rc = AK_EPIPE;
	} else if (receive_waits(r)) {
		hand_over(c, value);
		rc = 0;
	}
	ak__unlock(&r->lock);
	if (rc == 0)
		ak__waker_slot_notify(&c->rx_waker);
	return rc;
}

int ak__rdv_try_reserve(struct ak__chan *c)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	int rc = AK_EAGAIN;
	ak__lock(&r->lock);
	if (r->flags & CLOSED) {
		rc = AK_EPIPE;
	} else if (receive_waits(r)) {
		r->flags |= PERMIT;
		rc = 0;
	}
	ak__unlock(&r->lock);
	return rc;
}

void ak__rdv_permit_send(struct ak__chan *c, const void *value)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	ak__lock(&r->lock);
	hand_over(c, value);
	ak__unlock(&r->lock);
	ak__waker_slot_notify(&c->rx_waker);
}

void ak__rdv_permit_drop(struct ak__chan *c)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&r->lock);
	r->flags &= ~PERMIT;
	pass_on(r, &wl);
	ak__unlock(&r->lock);
	ak__wakelist_wake(&wl);
}

void ak__rdv_close(struct ak__chan *c)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&r->lock);
	r->flags |= CLOSED;
	r->asked = NULL;    /* its poll sees CLOSED and fails */
	/* Granted short of what they asked: their polls report AK_EPIPE. */
	ak__waitq_grant_each(&r->q, &r->lock, ak__grant_pick_short, NULL, &wl);
	ak__unlock(&r->lock);
	ak__wakelist_wake(&wl);
}

int ak__rdv_is_closed(struct ak__chan *c)
{
	/* acquire: pairs with the fetch_or in close_side() (chan/mpsc.c),
	 * which comes after ak__rdv_close(). */
	return ak__load(&c->state, AK__ACQUIRE) != 0;
}

int ak__rdv_pop(struct ak__chan *c, void *out)
{
	/* acquire: pairs with the release store in hand_over(). */
	if (!ak__load(&ak__chan_rdv_of(c)->full, AK__ACQUIRE))
		return AK_EAGAIN;
	ak__chan_copy_out(c, out, ak__chan_cell(c));
	/* release: the next hand-over writes the cell after this read (it
	 * is granted under the lock, which the receiver takes after). */
	ak__store(&ak__chan_rdv_of(c)->full, 0u, AK__RELEASE);
	return 0;
}

int ak__rdv_want(struct ak__chan *c, void *out, int wait)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	struct ak__wakelist wl;
	int rc;
	ak__wakelist_init(&wl);
	ak__lock(&r->lock);
	if (ak__load(&r->full, AK__RELAXED)) {
		rc = 0;                 /* handed over since our look */
	} else if ((r->flags & (CLOSED | PERMIT)) == CLOSED) {
		ak__store(&r->wants, 0u, AK__RELAXED);
		rc = AK_EPIPE;
	} else {
		ask_head(r, &wl);
		if (wait)
			ak__store(&r->wants, 1u, AK__RELAXED);
		rc = wait ? AK_PENDING : AK_EAGAIN;
	}
	ak__unlock(&r->lock);
	ak__wakelist_wake(&wl);
	return rc == 0 ? ak__rdv_pop(c, out) : rc;
}

void ak__rdv_unwant(struct ak__chan *c)
{
	struct ak__rdv *r = ak__chan_rdv_of(c);
	ak__lock(&r->lock);
	ak__store(&r->wants, 0u, AK__RELAXED);
	if (r->asked) {
		ak__waitq_ungrant(&r->q, r->asked);
		r->asked = NULL;
	}
	ak__unlock(&r->lock);
}

size_t ak__rdv_len(struct ak__chan *c)
{
	/* acquire: as in ak__rdv_pop(). */
	return ak__load(&ak__chan_rdv_of(c)->full, AK__ACQUIRE) ? 1 : 0;
}
