/*
 * awaitkit-uv: awaitkit's tasks on a libuv loop.  See ak_uv(3).  A library
 * of its own (libawaitkit-uv, pkg-config awaitkit-uv), over the public task
 * API (ak_task(3)): libawaitkit itself does not depend on libuv.
 *
 *   call                        thread
 *   ak_uv_new                   the loop thread: the one that runs uv_run
 *   ak_uv_spawn, ak_uv_close,   the loop thread; ak_uv_close not from
 *   ak_uv_task_count            inside a poll of one of its tasks
 *   ak_task_cancel on its tasks the loop thread
 *   the sleep and poll ops      polled by tasks of the same adapter only
 *   task wakers                 any thread, any time, also after the close
 */
#ifndef AK_UV_H
#define AK_UV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <awaitkit/future.h>
#include <awaitkit/task.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_uv;

int ak_uv_new(uv_loop_t *loop, struct ak_uv **out);
int ak_uv_spawn(struct ak_uv *uv, struct ak_future *body,
                struct ak_task **handle);
size_t ak_uv_task_count(const struct ak_uv *uv);
int ak_uv_close(struct ak_uv *uv);

/* Completes at deadline (ak_now(3)) on a uv timer of the loop. */
struct ak_uv_sleep_op {
	struct ak_future future;
	AK_OP_PRIVATE(4) private_;
};

int ak_uv_sleep_init(struct ak_uv_sleep_op *op, struct ak_uv *uv,
                     int64_t deadline);

/* Completes when fd is ready for one of events (UV_READABLE, UV_WRITABLE,
 * UV_DISCONNECT, UV_PRIORITIZED), which go to *revents. */
struct ak_uv_poll_op {
	struct ak_future future;
	AK_OP_PRIVATE(6) private_;
};

int ak_uv_poll_init(struct ak_uv_poll_op *op, struct ak_uv *uv, int fd,
                    int events, int *revents);

#ifdef __cplusplus
}
#endif
#endif
