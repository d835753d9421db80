/*
 * awaitkit-epoll: an executor for programs without a loop library, over
 * one epoll set: an eventfd for wakes from other threads (they coalesce
 * into one write per loop turn), a timerfd for its sleeps, fd readiness as
 * an operation, and the epoll descriptor itself, so that the executor
 * nests in another loop.  A separate library (libawaitkit-epoll,
 * pkg-config awaitkit-epoll) built on the task API of <awaitkit/task.h>.
 * See ak_epoll(3).
 *
 * Synchronization contract:
 *
 *   call                         thread
 *   ak_epoll_new                 any; that thread owns the executor
 *   ak_epoll_spawn, _run, _fd,   the owner, one at a time (spawn also from
 *   _task_count, _free           a task of the executor, during a run)
 *   ak_epoll_sleep_init/poll,    a task of the executor (the thread inside
 *   ak_io_wait_init/poll/cancel, ak_epoll_run); init anywhere
 *   ak_io_wait_revents
 *   task wakers                  any thread, any time, also after free
 *   ak_task_* on its handles     as ak_task(3) says (any thread)
 *
 * Ordering: what a thread wrote before waking a task happens-before the
 * poll that wake causes (ak_task(3)).
 */
#ifndef AK_EPOLL_H
#define AK_EPOLL_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>
#include <awaitkit/task.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_epoll;

int ak_epoll_new(struct ak_epoll **out);
int ak_epoll_free(struct ak_epoll *ep);
int ak_epoll_spawn(struct ak_epoll *ep, struct ak_future *body,
                   struct ak_task **handle);
int ak_epoll_run(struct ak_epoll *ep, int64_t deadline);
int ak_epoll_fd(const struct ak_epoll *ep);
size_t ak_epoll_task_count(const struct ak_epoll *ep);

/* A sleep on the executor's timerfd (absolute CLOCK_MONOTONIC deadline). */
struct ak_epoll_sleep_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

int ak_epoll_sleep_init(struct ak_epoll_sleep_op *op, struct ak_epoll *ep,
                        int64_t deadline);

/* Readiness of fd: events are EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP. */
struct ak_io_wait_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

int ak_io_wait_init(struct ak_io_wait_op *op, struct ak_epoll *ep, int fd,
                    uint32_t events);
uint32_t ak_io_wait_revents(const struct ak_io_wait_op *op);

#ifdef __cplusplus
}
#endif
#endif
