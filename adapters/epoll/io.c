/*
 * adapters/epoll/io.c: fd readiness as an operation (ak_io_wait_init).
 *
 * One epoll registration per descriptor, whatever the number of waits on
 * it (a reader and a writer task on one socket): the fd table, indexed by
 * descriptor, holds each descriptor's parked waits in FIFO order and the
 * events it is armed for.  Registrations are EPOLLONESHOT: an event
 * disarms the descriptor, the waits it satisfies leave the list, and the
 * descriptor is re-armed for the union of the waits that remain.  A wait
 * cancelled leaves the registration as it is; the one event that may
 * still come for it finds nobody and disarms it.  So a wait costs one
 * epoll_ctl, and nothing is left armed for a descriptor nobody waits on
 * beyond that one event.
 *
 * A registration whose descriptor was closed is gone from the set (the
 * kernel removes it with the last reference to the file); the next arm
 * finds ENOENT and adds it afresh.  A descriptor must not be closed while
 * a wait on it is parked: nothing would ever wake it (ak_epoll(3)).
 *
 * Everything here runs on the loop thread: no lock.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "epoll_int.h"

enum { IO_IDLE, IO_QUEUED, IO_READY, IO_ORPHAN };

#define IO_EVENTS (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP)
#define IO_ALWAYS (EPOLLERR | EPOLLHUP)

struct ep_io {
	struct ak_epoll *ep;
	struct ep_io *prev, *next;     /* the descriptor's waits, while QUEUED */
	struct ak_waker waker;         /* kept while QUEUED */
	int32_t fd;
	uint32_t events;
	uint32_t revents;
	uint32_t state;
};
_Static_assert(sizeof(struct ep_io) <= sizeof(((struct ak_io_wait_op *)0)->private_),
               "io wait op storage too small");

struct ep_fd {
	struct ep_io *head, *tail;
	uint32_t armed;                /* events armed; 0 once an event fired */
	uint32_t added;                /* registered in the set at some point */
};

static struct ep_io *priv_of(struct ak_future *f)
{
	return (struct ep_io *)(void *)&((struct ak_io_wait_op *)(void *)f)->private_;
}

static int table_reserve(struct ak_epoll *ep, int fd)
{
	if ((size_t)fd < ep->nfds)
		return 0;
	size_t n = ep->nfds ? ep->nfds : 64;
	while (n <= (size_t)fd)
		n *= 2;
	struct ep_fd *fds = ak__alloc(n * sizeof(*fds));
	if (!fds)
		return AK_ENOMEM;
	if (ep->nfds)
		memcpy(fds, ep->fds, ep->nfds * sizeof(*fds));
	ak__free(ep->fds);
	ep->fds = fds;
	ep->nfds = n;
	return 0;
}

static void link_tail(struct ep_fd *e, struct ep_io *io)
{
	io->next = NULL;
	io->prev = e->tail;
	if (e->tail)
		e->tail->next = io;
	else
		e->head = io;
	e->tail = io;
}

static void unlink_io(struct ep_fd *e, struct ep_io *io)
{
	if (io->prev)
		io->prev->next = io->next;
	else
		e->head = io->next;
	if (io->next)
		io->next->prev = io->prev;
	else
		e->tail = io->prev;
	io->prev = io->next = NULL;
}

/* Arms fd for what its waits want: 0 or a negative errno (EPERM for a
 * regular file, EBADF for a closed descriptor). */
static int arm(struct ak_epoll *ep, int fd, struct ep_fd *e)
{
	uint32_t want = 0;
	for (struct ep_io *io = e->head; io; io = io->next)
		want |= io->events;
	struct epoll_event ev = { .events = want | EPOLLONESHOT, .data.fd = fd };
	int saved = errno;
	int op = e->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	int rc = epoll_ctl(ep->epfd, op, fd, &ev);
	if (rc != 0 && errno == (op == EPOLL_CTL_MOD ? ENOENT : EEXIST)) {
		op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		rc = epoll_ctl(ep->epfd, op, fd, &ev);
	}
	if (rc != 0)
		rc = -errno;
	errno = saved;
	if (rc == 0) {
		e->added = 1;
		e->armed = want;
	}
	return rc;
}

void ak__epoll_io_ready(struct ak_epoll *ep, int fd, uint32_t revents)
{
	if (fd < 0 || (size_t)fd >= ep->nfds)
		return;
	struct ep_fd *e = &ep->fds[fd];
	e->armed = 0;                   /* EPOLLONESHOT disarmed it */
	struct ep_io *io = e->head;
	while (io) {
		struct ep_io *next = io->next;
		uint32_t got = revents & (io->events | IO_ALWAYS);
		if (got) {
			unlink_io(e, io);
			io->revents = got;
			io->state = IO_READY;
			ak__waker_wake_kept(&io->waker);
		}
		io = next;
	}
	if (e->head)
		arm(ep, fd, e);
}

void ak__epoll_io_orphan(struct ak_epoll *ep)
{
	for (size_t fd = 0; fd < ep->nfds; fd++) {
		struct ep_io *io = ep->fds[fd].head;
		while (io) {
			struct ep_io *next = io->next;
			io->state = IO_ORPHAN;
			io->ep = NULL;
			io->prev = io->next = NULL;
			ak__waker_drop_kept(&io->waker);
			io = next;
		}
	}
	ak__free(ep->fds);
	ep->fds = NULL;
	ep->nfds = 0;
}

static int park(struct ep_io *io, struct ak_context *cx)
{
	struct ak_epoll *ep = io->ep;
	if (table_reserve(ep, io->fd) != 0)
		return AK_ENOMEM;
	if (ak__waker_keep(&cx->waker, &io->waker) != 0)
		return AK_ENOMEM;
	struct ep_fd *e = &ep->fds[io->fd];
	link_tail(e, io);
	if (io->events & ~e->armed) {
		int rc = arm(ep, io->fd, e);
		if (rc != 0) {
			unlink_io(e, io);
			ak__waker_drop_kept(&io->waker);
			return rc;
		}
	}
	io->state = IO_QUEUED;
	return AK_PENDING;
}

static int io_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ep_io *io = priv_of(f);

	if (io->state == IO_ORPHAN)
		return AK_ECANCELED;
	if (ak__epoll_current() != io->ep)
		return AK_EINVAL;
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	if (io->state == IO_READY) {
		io->state = IO_IDLE;
		ak__coop_spend(cx);
		return 0;
	}
	if (io->state == IO_IDLE)
		return park(io, cx);
	int rc = ak__waker_rekeep(&io->waker, &cx->waker);
	return rc ? rc : AK_PENDING;
}

static void io_cancel(struct ak_future *f)
{
	struct ep_io *io = priv_of(f);

	if (io->state == IO_QUEUED) {
		unlink_io(&io->ep->fds[io->fd], io);
		ak__waker_drop_kept(&io->waker);
		io->state = IO_IDLE;
	} else if (io->state == IO_READY) {
		io->state = IO_IDLE;    /* level-triggered: a new wait sees it */
	}
}

static const struct ak_future_vtable io_vtable = { io_poll, io_cancel };

AK_EXPORT int ak_io_wait_init(struct ak_io_wait_op *op, struct ak_epoll *ep, int fd,
                              uint32_t events)
{
	if (!op || !ep || fd < 0 || events == 0 || (events & ~(uint32_t)IO_EVENTS))
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &io_vtable);
	if (rc != 0)
		return rc;
	struct ep_io *io = priv_of(&op->future);
	memset(io, 0, sizeof(*io));
	io->ep = ep;
	io->fd = fd;
	io->events = events;
	io->state = IO_IDLE;
	return 0;
}

AK_EXPORT uint32_t ak_io_wait_revents(const struct ak_io_wait_op *op)
{
	if (!op)
		return 0;
	return ((const struct ep_io *)(const void *)&op->private_)->revents;
}
