/*
 * awaitkit-event: awaitkit's tasks on a libevent event_base.  See
 * ak_event(3).  A library of its own (libawaitkit-event, pkg-config
 * awaitkit-event), over the public task API (ak_task(3)): libawaitkit
 * itself does not depend on libevent.  The program calls
 * evthread_use_pthreads() before it makes the base, so that wakes from
 * other threads may activate the adapter's event.
 *
 *   call                           thread
 *   ak_event_new                   the loop thread: the one that runs
 *                                  event_base_dispatch / _loop
 *   ak_event_spawn, ak_event_close the loop thread; ak_event_close not
 *   ak_event_task_count            from inside a poll of one of its tasks
 *   ak_task_cancel on its tasks    the loop thread
 *   the sleep and poll ops         polled by tasks of the same adapter only
 *   task wakers                    any thread, any time, also after close
 */
#ifndef AK_EVENT_H
#define AK_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <awaitkit/future.h>
#include <awaitkit/task.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_event;

int ak_event_new(struct event_base *base, struct ak_event **out);
int ak_event_spawn(struct ak_event *ev, struct ak_future *body,
                   struct ak_task **handle);
size_t ak_event_task_count(const struct ak_event *ev);
int ak_event_close(struct ak_event *ev);

/* Completes at deadline (ak_now(3)) on a libevent timer of the base. */
struct ak_event_sleep_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

int ak_event_sleep_init(struct ak_event_sleep_op *op, struct ak_event *ev,
                        int64_t deadline);

/* Completes when fd is ready for one of events (EV_READ, EV_WRITE,
 * EV_CLOSED), which go to *revents. */
struct ak_event_poll_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

int ak_event_poll_init(struct ak_event_poll_op *op, struct ak_event *ev,
                       int fd, int events, int *revents);

#ifdef __cplusplus
}
#endif
#endif
