/* testkit_core: the core's operations as futures.  See testkit_core.h. */
#include <string.h>

#include "testkit_core.h"

static int sem_op_poll(struct ak_future *f, struct ak_context *cx)
{
	return ak__sem_acquire_poll(&((struct tk_sem_op *)f)->a, cx);
}

static void sem_op_cancel(struct ak_future *f)
{
	ak__sem_acquire_cancel(&((struct tk_sem_op *)f)->a);
}

static const struct ak_future_vtable sem_op_vtable = { sem_op_poll, sem_op_cancel };

int tk_sem_op_init(struct tk_sem_op *op, struct ak__sem *s, uint64_t n)
{
	memset(op, 0, sizeof(*op));
	int rc = ak_future_init(&op->future, &sem_op_vtable);
	return rc ? rc : ak__sem_acquire_init(&op->a, s, n);
}

static int notified_op_poll(struct ak_future *f, struct ak_context *cx)
{
	return ak__notified_poll(&((struct tk_notified_op *)f)->o, cx);
}

static void notified_op_cancel(struct ak_future *f)
{
	ak__notified_cancel(&((struct tk_notified_op *)f)->o);
}

static const struct ak_future_vtable notified_op_vtable = { notified_op_poll, notified_op_cancel };

void tk_notified_op_init(struct tk_notified_op *op, struct ak__notify *n)
{
	memset(op, 0, sizeof(*op));
	ak_future_init(&op->future, &notified_op_vtable);
	ak__notified_init(&op->o, n);
}
