/*
 * adapters/epoll/sleep.c: sleeps on the executor's timerfd.
 *
 * Parked sleeps live in a binary min-heap ordered by (deadline, sequence),
 * so sleeps with one deadline complete in the order they parked.  The
 * timerfd is armed (absolute, CLOCK_MONOTONIC, the clock of ak_now) at the
 * heap's minimum whenever that moves earlier; a sleep cancelled at the top
 * leaves it armed, and its fire finds nothing due and re-arms.  Because the
 * timerfd sits in the epoll set, ak_epoll_fd() becomes readable at the
 * deadline even when an outer loop drives this one.
 *
 * Everything here runs on the loop thread (epoll_int.h): no lock.  A wake
 * is made after the sleep left the heap, with the heap consistent.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/timerfd.h>

#include <awaitkit/block_on.h>

#include "epoll_int.h"

enum { S_IDLE, S_QUEUED, S_FIRED, S_ORPHAN };

struct ep_sleep {
	struct ak_epoll *ep;
	int64_t deadline;
	uint64_t seq;
	struct ak_waker waker;         /* kept while S_QUEUED */
	size_t index;                  /* in the heap while S_QUEUED */
	uintptr_t state;
};
_Static_assert(sizeof(struct ep_sleep) <=
               sizeof(((struct ak_epoll_sleep_op *)0)->private_),
               "epoll sleep op storage too small");

static struct ep_sleep *priv_of(struct ak_future *f)
{
	return (struct ep_sleep *)(void *)&((struct ak_epoll_sleep_op *)(void *)f)->private_;
}

/* ---- the heap ----------------------------------------------------------------- */

static int before(const struct ep_sleep *a, const struct ep_sleep *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(struct ep_heap *h, size_t i, struct ep_sleep *s)
{
	h->items[i] = s;
	s->index = i;
}

static void sift_up(struct ep_heap *h, size_t i)
{
	struct ep_sleep *s = h->items[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(s, h->items[parent]))
			break;
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, s);
}

static void sift_down(struct ep_heap *h, size_t i)
{
	struct ep_sleep *s = h->items[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->len)
			break;
		if (c + 1 < h->len && before(h->items[c + 1], h->items[c]))
			c++;
		if (!before(h->items[c], s))
			break;
		place(h, i, h->items[c]);
		i = c;
	}
	place(h, i, s);
}

static int heap_insert(struct ep_heap *h, struct ep_sleep *s)
{
	if (h->len == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct ep_sleep **items = ak__alloc(cap * sizeof(*items));
		if (!items)
			return AK_ENOMEM;
		if (h->len)
			memcpy(items, h->items, h->len * sizeof(*items));
		ak__free(h->items);
		h->items = items;
		h->cap = cap;
	}
	place(h, h->len++, s);
	sift_up(h, h->len - 1);
	return 0;
}

static void heap_remove(struct ep_heap *h, struct ep_sleep *s)
{
	size_t i = s->index;
	struct ep_sleep *last = h->items[--h->len];
	if (i == h->len)
		return;
	place(h, i, last);
	if (i > 0 && before(last, h->items[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

/* ---- the timerfd ---------------------------------------------------------------- */

static void arm(struct ak_epoll *ep, int64_t deadline)
{
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (deadline != AK_DEADLINE_NEVER) {
		its.it_value.tv_sec = deadline / 1000000000;
		its.it_value.tv_nsec = deadline % 1000000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;       /* zero would disarm */
	}
	int saved = errno;
	timerfd_settime(ep->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	errno = saved;
	ep->armed = deadline;
}

int ak__epoll_timers_fire(struct ak_epoll *ep)
{
	uint64_t expirations;
	int saved = errno;
	ssize_t n = read(ep->tfd, &expirations, sizeof expirations);
	(void)n;
	errno = saved;
	int fired = 0;
	struct ep_heap *h = &ep->heap;
	int64_t now = ak_now();
	while (h->len > 0 && h->items[0]->deadline <= now) {
		struct ep_sleep *s = h->items[0];
		heap_remove(h, s);
		s->state = S_FIRED;
		ak__waker_wake_kept(&s->waker);
		fired++;
	}
	arm(ep, h->len ? h->items[0]->deadline : AK_DEADLINE_NEVER);
	return fired;
}

void ak__epoll_timers_orphan(struct ak_epoll *ep)
{
	struct ep_heap *h = &ep->heap;
	for (size_t i = 0; i < h->len; i++) {
		struct ep_sleep *s = h->items[i];
		s->state = S_ORPHAN;
		s->ep = NULL;
		ak__waker_drop_kept(&s->waker);
	}
	ak__free(h->items);
	h->items = NULL;
	h->len = h->cap = 0;
}

/* ---- the operation ---------------------------------------------------------------- */

static void unqueue(struct ep_sleep *s)
{
	heap_remove(&s->ep->heap, s);
	ak__waker_drop_kept(&s->waker);
	s->state = S_IDLE;
}

static int complete(struct ep_sleep *s, struct ak_context *cx)
{
	if (s->state == S_QUEUED)
		unqueue(s);
	s->state = S_IDLE;
	ak__coop_spend(cx);
	return 0;
}

static int sleep_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ep_sleep *s = priv_of(f);

	if (s->state == S_ORPHAN)
		return AK_ECANCELED;
	if (ak__epoll_current() != s->ep)
		return AK_EINVAL;
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	if (s->state == S_FIRED || ak_now() >= s->deadline)
		return complete(s, cx);
	if (s->state == S_QUEUED) {
		int rc = ak__waker_rekeep(&s->waker, &cx->waker);
		return rc ? rc : AK_PENDING;
	}
	if (ak__waker_keep(&cx->waker, &s->waker) != 0)
		return AK_ENOMEM;
	struct ak_epoll *ep = s->ep;
	s->seq = ep->sleep_seq++;
	if (heap_insert(&ep->heap, s) != 0) {
		ak__waker_drop_kept(&s->waker);
		return AK_ENOMEM;
	}
	s->state = S_QUEUED;
	if (s->deadline < ep->armed)
		arm(ep, s->deadline);
	return AK_PENDING;
}

static void sleep_cancel(struct ak_future *f)
{
	struct ep_sleep *s = priv_of(f);

	if (s->state == S_QUEUED)
		unqueue(s);
	else if (s->state == S_FIRED)
		s->state = S_IDLE;
}

static const struct ak_future_vtable sleep_vtable = { sleep_poll, sleep_cancel };

AK_EXPORT int ak_epoll_sleep_init(struct ak_epoll_sleep_op *op, struct ak_epoll *ep,
                                  int64_t deadline)
{
	if (!op || !ep)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &sleep_vtable);
	if (rc != 0)
		return rc;
	struct ep_sleep *s = priv_of(&op->future);
	memset(s, 0, sizeof(*s));
	s->ep = ep;
	s->deadline = deadline;
	s->state = S_IDLE;
	return 0;
}
