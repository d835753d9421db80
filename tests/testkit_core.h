/*
 * testkit_core: what the tests of core/ share (they see its internal
 * headers through -Icore): the kernels' operations wrapped as futures, so
 * that a test polls and cancels them as a task would.
 */
#ifndef TESTKIT_CORE_H
#define TESTKIT_CORE_H

#include "notify.h"
#include "sem.h"
#include "testkit.h"

/* An acquire of the batch semaphore core (core/sem.h). */
struct tk_sem_op {
	struct ak_future future;
	struct ak__sem_acquire a;
};
/* Binds op to s for n permits: 0, or the core's error. */
int tk_sem_op_init(struct tk_sem_op *op, struct ak__sem *s, uint64_t n);

/* A wait of the notify core (core/notify.h). */
struct tk_notified_op {
	struct ak_future future;
	struct ak__notified o;
};
void tk_notified_op_init(struct tk_notified_op *op, struct ak__notify *n);

#endif
