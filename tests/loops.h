/*
 * tests/loops.h: the host-loop adapters' tests (tests/loops.c), written
 * once and run on each real loop: check_uv.c (libuv), check_event.c
 * (libevent) say how to make, run and close theirs; check_epoll.c runs
 * the cancel tests of tests/loops_cancel.c on the epoll executor.
 */
#ifndef TESTS_LOOPS_H
#define TESTS_LOOPS_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit.h>

struct lp;

struct lp_ops {
	/* Make the loop and the adapter on this thread. */
	void (*open)(struct lp *l);
	int (*spawn)(struct lp *l, struct ak_future *body, struct ak_task **h);
	size_t (*count)(struct lp *l);
	/* Run until nothing keeps the loop alive; one blocking iteration. */
	void (*run)(struct lp *l);
	void (*run_once)(struct lp *l);
	int (*close)(struct lp *l);
	/* Let the close finish, free the loop, check it held nothing. */
	void (*finish)(struct lp *l);
	/* A host-loop callback (not a task) ms from now. */
	void (*call_later)(struct lp *l, int ms, void (*fn)(void *), void *arg);
	size_t sleep_size, poll_size;   /* the operations' sizes */
	int (*sleep_init)(void *op, struct lp *l, int64_t deadline);
	int (*poll_readable_init)(void *op, struct lp *l, int fd, int *revents);
	int readable;                   /* the loop's "readable" bit */
};

struct lp {
	const struct lp_ops *ops;
	void *loop;
	void *ad;
	void *extra;
};

void lp_spawn_and_join(const struct lp_ops *ops);
void lp_wake_from_many_threads(const struct lp_ops *ops);
void lp_wake_during_poll(const struct lp_ops *ops);
void lp_sleep(const struct lp_ops *ops);
void lp_fd_readiness(const struct lp_ops *ops);
void lp_close_while_waking(const struct lp_ops *ops);
void lp_close_cancels(const struct lp_ops *ops);
void lp_blocking_in_callback(const struct lp_ops *ops);
void lp_spawn_refused(const struct lp_ops *ops);

/* tests/loops_cancel.c: ak_task_cancel() from a thread not the loop's.
 * These need open, spawn, count, run, run_once, close, finish and
 * sleep_init only (the epoll executor runs them too). */
void lp_cancel_from_another_thread_while_parked(const struct lp_ops *ops);
void lp_cancel_from_another_thread_during_the_poll(const struct lp_ops *ops);
void lp_cancel_during_a_poll_that_completes(const struct lp_ops *ops);
void lp_cancel_from_another_thread_after_completion(const struct lp_ops *ops);
void lp_cancel_from_another_thread_while_the_loop_runs(const struct lp_ops *ops);
void lp_cancel_from_other_threads_racing_the_close(const struct lp_ops *ops);

/* The adapters' own records outstanding (adapters/uv/loopq.c). */
long ak__lq_allocated(void);

#endif
