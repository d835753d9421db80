/*
 * tests/matrix/matrix.h: the executor matrix.  Each scenario is written
 * once against the executor driver of the conformance kit (struct
 * ak_conform_executor, ak_conform(3): new, spawn, run until idle, free)
 * and runs unchanged on every executor of conform/drivers.c: the
 * single-thread executor, the pool, block_on threads, libuv, libevent and
 * epoll (tests/matrix/main.c makes one Check suite per executor).
 */
#ifndef TESTS_MATRIX_H
#define TESTS_MATRIX_H

#include <check.h>
#include <awaitkit.h>
#include <awaitkit/conform.h>

/* The executor the running suite is for (set before the suite runs). */
extern const struct ak_conform_executor *mx_exec;

struct mx {
	const struct ak_conform_executor *x;
	void *ex;
};

void mx_open(struct mx *m);
void mx_spawn(struct mx *m, struct ak_future *task);
/* Until every spawned task finished (fails the test at 8 s). */
void mx_run(struct mx *m);
void mx_close(struct mx *m);

/* Adds every scenario to tc. */
void mx_add_scenarios(TCase *tc);

/* The cancel of a task written with the await macros, whose struct starts
 * with its future and then its struct ak_await. */
void mx_await_cancel(struct ak_future *f);

#endif
