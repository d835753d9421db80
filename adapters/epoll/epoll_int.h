/*
 * adapters/epoll/epoll_int.h: the parts of the epoll executor that its
 * three files share (loop.c: tasks and the loop; io.c: fd readiness;
 * sleep.c: the timerfd and its heap).
 *
 * Two halves, as in runtime/executor.c:
 *
 *   struct ep_shared   what a wake from another thread may reach: the
 *                      remote queue, the eventfd, the closed flag, all
 *                      under one lock.  Reference counted: the executor
 *                      holds one reference and every task record one,
 *                      given back by the record's drop (ak_task(3),
 *                      ak_task_new_with_drop), so a late wake finds it
 *                      closed instead of freed.
 *   struct ak_epoll    the owner's: the local run queue, the unfinished
 *                      tasks, the epoll set, the timer heap and the fd
 *                      table.  Only the loop thread touches it.
 *
 * Synchronization contract:
 *
 *   field                          who
 *   ep_shared.remote_*, .done_*,   sh->lock
 *   .closed, .efd, .signaled
 *   ep_shared.refs                 atomic
 *   ak_epoll.*                     the owner thread (ak_epoll_run, spawn,
 *                                  free, and the tasks they poll)
 *   ep_task.next                   whoever holds the task's one entry
 *                                  (ak_task(3): one entry at a time)
 *   ep_task.dnext                  whoever pushes its one finish note
 *   ep_task.live_*                 the owner thread
 *
 * The eventfd is written under sh->lock, at most once per drain
 * (signaled), and closed under it: a wake never writes to a descriptor
 * number that the close has freed for reuse.
 */
#ifndef AK_ADAPTERS_EPOLL_INT_H
#define AK_ADAPTERS_EPOLL_INT_H

#include <awaitkit/epoll.h>

#include "../../core/core.h"

struct ep_task;

struct ep_shared {
	ak__atomic(uint32_t) refs;
	struct ak__lock lock;
	struct ep_task *remote_head, *remote_tail;   /* entries from elsewhere */
	struct ep_task *done_head;                   /* finish notes from elsewhere */
	int closed;
	int efd;
	int signaled;                  /* efd written and not yet drained */
};

/*
 * A task: the library's record (task) runs body, a future of the
 * adapter's that polls the user's future and notes when it finishes.
 * Freed by the record's drop, so it lives as long as any wake can reach it.
 */
struct ep_task {
	struct ak_future body;
	struct ak_future *user;
	struct ak_task *task;          /* the adapter's handle */
	struct ep_shared *sh;
	struct ak_epoll *ep;           /* the owner's; valid while live */
	struct ep_task *next;          /* run-queue link */
	struct ep_task *dnext;         /* finish-note link */
	struct ep_task *live_prev, *live_next;
};

/* A sleep or io wait parked in the executor (see sleep.c, io.c). */
struct ep_heap {
	struct ep_sleep **items;
	size_t len, cap;
};

struct ep_fd;

struct ak_epoll {
	struct ep_shared *sh;
	int epfd;
	int tfd;                       /* the timerfd */
	int running;
	int closing;
	struct ep_task *head, *tail;   /* local run queue */
	struct ep_task *done;          /* local finish notes */
	struct ep_task *live_head;     /* unfinished tasks */
	size_t live;
	int64_t armed;                 /* the timerfd's deadline, or NEVER */
	struct ep_heap heap;
	uint64_t sleep_seq;
	struct ep_fd *fds;             /* indexed by descriptor */
	size_t nfds;
};

/* The executor the calling thread is running (or closing), or NULL. */
struct ak_epoll *ak__epoll_current(void);

/* sleep.c */
int ak__epoll_timers_fire(struct ak_epoll *ep);
void ak__epoll_timers_orphan(struct ak_epoll *ep);

/* io.c */
void ak__epoll_io_ready(struct ak_epoll *ep, int fd, uint32_t revents);
void ak__epoll_io_orphan(struct ak_epoll *ep);

#endif
