/* core/waitq.c: the intrusive FIFO waiter queue.  See waitq.h. */
#include "waitq.h"

void ak__waitq_init(struct ak__waitq *q)
{
	q->head = q->tail = NULL;
	q->len = 0;
	AK__WAITQ_NOTE(q);
}

int ak__waiter_prepare(const struct ak__waiter *w, const struct ak_context *cx,
                       struct ak_waker *clone)
{
	return ak__waiter_prepare_inline(w, cx, clone);
}

void ak__waitq_park(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone)
{
	ak__waitq_park_inline(q, w, clone, 0);
}

void ak__waitq_park_first(struct ak__waitq *q, struct ak__waiter *w, struct ak_waker *clone)
{
	ak__waitq_park_inline(q, w, clone, 1);
}

int ak__waitq_grant(struct ak__waitq *q, struct ak__waiter *w, uintptr_t amount,
                    struct ak__wakelist *wl)
{
	w->granted += amount;
	if (w->granted < w->want)
		return 0;
	wl->w[wl->n++] = ak__waitq_complete(q, w);
	return 1;
}

int ak__waitq_wait(struct ak__waitq *q, struct ak__lock *lock, struct ak__waiter *w,
                   const struct ak_context *cx, ak__wait_recheck_fn recheck, void *arg)
{
	return ak__waitq_wait_inline(q, lock, w, cx, recheck, arg, 0);
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
		ak__waitq_unlink(q, w);
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
	ak__waitq_link(q, w, 1);
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
	AK__WAITQ_NOTE(q);
}

void ak__wakelist_wake_some(struct ak__wakelist *wl)
{
	for (unsigned i = 0; i < wl->n; i++)
		ak__waker_wake_kept(&wl->w[i]);
	wl->n = 0;
}
