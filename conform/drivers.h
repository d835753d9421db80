/*
 * conform/drivers.h: the shipped executors described for the conformance
 * kit and the executor matrix (struct ak_conform_executor, ak_conform(3)):
 * the single-thread executor, the pool, block_on threads, libuv, libevent
 * and epoll.  Used by ak-conform and the tests (tests/tk_exec.c, the
 * executor matrix); not installed.  The pool has two workers, or as many
 * as *(int *)arg says when its arg is set.
 */
#ifndef CONFORM_DRIVERS_H
#define CONFORM_DRIVERS_H

#include <awaitkit/conform.h>

extern const struct ak_conform_executor conform_executor;
extern const struct ak_conform_executor conform_pool;
extern const struct ak_conform_executor conform_block_on;
extern const struct ak_conform_executor conform_uv;
extern const struct ak_conform_executor conform_event;
extern const struct ak_conform_executor conform_epoll;

/* Every one of them, in that order, NULL-terminated; one by name. */
extern const struct ak_conform_executor *const conform_drivers[];
const struct ak_conform_executor *conform_driver(const char *name);

#endif
