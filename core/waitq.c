/* core/waitq.c: the intrusive FIFO waiter queue.  See waitq.h. */
#include "waitq.h"

/* The simulation's deadlock report prints every queue that holds waiters
 * (core/shim_sim.h): it hears when one starts or stops holding any. */
#ifdef AK_SIM
#define SIM_NOTE(q) ak__sim_waitq_note((q), (q)->head != NULL)
#else
#define SIM_NOTE(q) ((void)0)
#endif

void ak__waitq_init(struct ak__waitq *q)
{
	q->head = q->tail = NULL;
	q->len = 0;
	SIM_NOTE(q);
}

int ak__waiter_prepare(const struct ak__waiter *w, const struct ak_context *cx,
                       struct ak_waker *clone)
{
	clone->data = NULL;
	clone->vtable = NULL;
	/* Only the owner changes QUEUED or DETACHED to anything but DETACHED
	 * or GRANTED; a grant means no waker is needed, and the caller looks
	 * again under the lock: a relaxed look is enough here. */
	uint32_t st = ak__load(&w->state, AK__RELAXED);
	if (st == AK__W_GRANTED)
		return 0;
	if ((st == AK__W_QUEUED || st == AK__W_DETACHED) && ak__waker_same(&w->seen, &cx->waker))
		return 0;
	return ak__waker_keep(&cx->waker, clone);
}

static void unlink_waiter(struct ak__waitq *q, struct ak__waiter *w)
{
	if (ak__load(&w->state, AK__RELAXED) == AK__W_DETACHED) {
		/* On a guard: a ring through the sentinel, never NULL. */
		w->prev->next = w->next;
		w->next->prev = w->prev;
		w->prev = w->next = NULL;
		ak__count_parked(-1);
		return;
	}
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->prev = w->next = NULL;
	q->len--;
	ak__count_parked(-1);
	SIM_NOTE(q);
}

/* Queues w (first: at the head) with nothing granted yet: the owner's
 * parking, or a grant taken back. */
static void link_waiter(struct ak__waitq *q, struct ak__waiter *w, int first)
{
	w->granted = 0;
	if (first) {
		w->prev = NULL;
		w->next = q->head;
		if (q->head)
			q->head->prev = w;
		else
			q->tail = w;
		q->head = w;
	} else {
		w->next = NULL;
		w->prev = q->tail;
		if (q->tail)
			q->tail->next = w;
		else
			q->head = w;
		q->tail = w;
	}
	q->len++;
	ak__count_parked(1);
	SIM_NOTE(q);
	ak__store(&w->state, AK__W_QUEUED, AK__RELAXED);
}

static void park(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone, int first)
{
	uint32_t st = ak__load(&w->state, AK__RELAXED);

	if (st == AK__W_GRANTED)
		return;
	if (st == AK__W_QUEUED || st == AK__W_DETACHED) {
		if (!ak__waker_empty(clone)) {
			/* A new waker: keep it, hand the old one back to drop. */
			struct ak_waker old = w->waker;
			w->waker = *clone;
			w->seen = *clone;
			*clone = old;
		}
		return;
	}
	w->waker = *clone;
	w->seen = *clone;
	clone->data = NULL;
	clone->vtable = NULL;
	link_waiter(q, w, first);
}

void ak__waitq_park(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone)
{
	park(q, w, clone, 0);
}

void ak__waitq_park_first(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone)
{
	park(q, w, clone, 1);
}

int ak__waitq_grant(struct ak__waitq *q, struct ak__waiter *w, uintptr_t amount,
                    struct ak__wakelist *wl)
{
	w->granted += amount;
	if (w->granted < w->want)
		return 0;
	unlink_waiter(q, w);
	wl->w[wl->n++] = w->waker;
	w->waker.data = NULL;
	w->waker.vtable = NULL;
	/* release: the grant is visible to the owner's acquire in
	 * ak__waiter_granted(); after this store the node is the owner's. */
	ak__store(&w->state, AK__W_GRANTED, AK__RELEASE);
	return 1;
}

int ak__waitq_wait(struct ak__waitq *q, struct ak__lock *lock, struct ak__waiter *w,
                   const struct ak_context *cx, ak__wait_recheck_fn recheck, void *arg)
{
	struct ak_waker clone, drop = { NULL, NULL };
	struct ak__wakelist wl;

	int rc = ak__waiter_prepare(w, cx, &clone);
	if (rc)
		return rc;
	ak__wakelist_init(&wl);
	ak__lock(lock);
	rc = recheck ? recheck(w, arg, &clone, &drop, &wl) : AK__WAIT_PARK;
	if (rc == AK__WAIT_PARK) {
		ak__waitq_park(q, w, &clone);
		rc = AK_PENDING;
	}
	ak__unlock(lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&clone);
	ak__waker_drop_kept(&drop);
	return rc;
}

int ak__grant_pick_short(struct ak__waiter *w, void *arg, uintptr_t *amount)
{
	(void)arg;
	w->want = w->granted;
	*amount = 0;
	return 1;
}

void ak__waitq_grant_each(struct ak__waitq *q, struct ak__lock *lock, ak__grant_pick_fn pick,
                          void *arg, struct ak__wakelist *wl)
{
	struct ak__waiter *w;
	uintptr_t amount;

	while ((w = ak__waitq_head(q)) != NULL && pick(w, arg, &amount)) {
		ak__waitq_grant(q, w, amount, wl);
		if (ak__wakelist_full(wl)) {
			/* Wakers are never called under a library lock. */
			ak__unlock(lock);
			ak__wakelist_wake(wl);
			ak__lock(lock);
		}
	}
}

uintptr_t ak__waitq_cancel(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *drop)
{
	uint32_t st = ak__load(&w->state, AK__RELAXED);
	uintptr_t given = 0;

	drop->data = NULL;
	drop->vtable = NULL;
	if (st == AK__W_QUEUED || st == AK__W_DETACHED) {
		unlink_waiter(q, w);
		*drop = w->waker;
		w->waker.data = NULL;
		w->waker.vtable = NULL;
		given = w->granted;     /* a partial grant */
	} else if (st == AK__W_GRANTED) {
		given = w->granted;
	}
	w->granted = 0;
	ak__store(&w->state, AK__W_IDLE, AK__RELAXED);
	return given;
}

void ak__waitq_ungrant(struct ak__waitq *q, struct ak__waiter *w)
{
	link_waiter(q, w, 1);
}

void ak__waitq_detach(struct ak__waitq *q, struct ak__waiter *guard)
{
	guard->next = guard->prev = guard;
	if (!q->head)
		return;
	for (struct ak__waiter *w = q->head; w; w = w->next)
		ak__store(&w->state, AK__W_DETACHED, AK__RELAXED);
	guard->next = q->head;
	guard->prev = q->tail;
	q->head->prev = guard;
	q->tail->next = guard;
	q->head = q->tail = NULL;
	q->len = 0;
	SIM_NOTE(q);
}

uintptr_t ak__waiter_take(struct ak__waiter *w)
{
	uintptr_t given = w->granted;
	w->granted = 0;
	ak__store(&w->state, AK__W_IDLE, AK__RELAXED);
	return given;
}

void ak__wakelist_wake_some(struct ak__wakelist *wl)
{
	for (unsigned i = 0; i < wl->n; i++)
		ak__waker_wake_kept(&wl->w[i]);
	wl->n = 0;
}
