/* core/future.c: the future header, the budget, the yield operation. */
#include <awaitkit/future.h>
#include <awaitkit/timer.h>
#include <awaitkit/mpsc.h>
#include <awaitkit/oneshot.h>
#include <awaitkit/watch.h>
#include <awaitkit/semaphore.h>
#include <awaitkit/notify.h>
#include <awaitkit/barrier.h>
#include <awaitkit/mutex.h>
#include <awaitkit/rwlock.h>
#include <awaitkit/broadcast.h>
#include <awaitkit/select.h>
#include <awaitkit/task.h>
#include <awaitkit/timeout.h>
#include <awaitkit/once_cell.h>
#include <awaitkit/set_once.h>

#include "core.h"

static int pollable(const struct ak_future *f)
{
	int phase = ak__future_phase(f);
	return f->vtable != NULL && (phase == AK_FUTURE_IDLE || phase == AK_FUTURE_PENDING);
}

static int poll_checked(struct ak_future *f, struct ak_context *cx)
{
	if (!ak__cx_valid(cx))
		return AK_EINVAL;
	int rc = f->vtable->poll(f, cx);
	ak__future_set_phase(f, rc == AK_PENDING ? AK_FUTURE_PENDING : AK_FUTURE_DONE);
	return rc;
}

AK_EXPORT int ak_future_init(struct ak_future *f, const struct ak_future_vtable *vtable)
{
	if (!f || !vtable || !vtable->poll || !vtable->cancel)
		return AK_EINVAL;
	if (ak__future_phase(f) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	f->vtable = vtable;
	f->state = AK_FUTURE_IDLE;
	return 0;
}

AK_EXPORT int ak_future_poll(struct ak_future *f, struct ak_context *cx)
{
	if (!f || !pollable(f) || (f->state & AK_FUTURE_OWNED))
		return AK_EINVAL;
	return poll_checked(f, cx);
}

AK_EXPORT void ak_future_cancel(struct ak_future *f)
{
	if (!f || !pollable(f))
		return;
	/* Marked done first: a cancel that re-enters (through a waker) sees a
	 * finished future and does nothing. */
	ak__future_set_phase(f, AK_FUTURE_DONE);
	f->vtable->cancel(f);
}

AK_EXPORT int ak_future_state(const struct ak_future *f)
{
	if (!f)
		return AK_EINVAL;
	return (int)f->state;
}

AK_EXPORT int ak_coop_poll(struct ak_context *cx)
{
	if (!ak__cx_valid(cx))
		return AK_EINVAL;
	if (cx->budget == AK_BUDGET_UNCONSTRAINED)
		return 0;
	if (ak__coop_check(cx) == AK_PENDING)
		return AK_PENDING;
	cx->budget--;
	return 0;
}

int ak__future_claim(struct ak_future *f)
{
	if (!f || !pollable(f) || (f->state & AK_FUTURE_OWNED))
		return AK_EINVAL;
	f->state |= AK_FUTURE_OWNED;
	return 0;
}

int ak__future_poll_owned(struct ak_future *f, struct ak_context *cx)
{
	if (!pollable(f))
		return AK_EINVAL;
	int rc = poll_checked(f, cx);
	if (rc != AK_PENDING)
		f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	return rc;
}

void ak__future_cancel_owned(struct ak_future *f)
{
	f->state &= ~(uintptr_t)AK_FUTURE_OWNED;
	ak_future_cancel(f);
}

/* ---- the yield operation ---------------------------------------------------- */

struct yield_priv {
	uintptr_t yielded;
};
_Static_assert(sizeof(struct yield_priv) <= sizeof(((struct ak_yield_op *)0)->private_),
               "yield op storage too small");

static int yield_poll(struct ak_future *f, struct ak_context *cx)
{
	struct yield_priv *y = (struct yield_priv *)(void *)&((struct ak_yield_op *)(void *)f)->private_;

	if (!y->yielded) {
		y->yielded = 1;
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	ak__coop_spend(cx);
	return 0;
}

static void yield_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable yield_vtable = { yield_poll, yield_cancel };

AK_EXPORT int ak_yield_init(struct ak_yield_op *op)
{
	if (!op)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &yield_vtable);
	if (rc == 0)
		((struct yield_priv *)(void *)&op->private_)->yielded = 0;
	return rc;
}

AK_EXPORT size_t ak_op_size(int kind)
{
	switch (kind) {
	case AK_OP_YIELD:
		return sizeof(struct ak_yield_op);
	case AK_OP_SLEEP:
		return sizeof(struct ak_sleep_op);
	case AK_OP_MPSC_SEND:
		return sizeof(struct ak_mpsc_send_op);
	case AK_OP_MPSC_RESERVE:
		return sizeof(struct ak_mpsc_reserve_op);
	case AK_OP_MPSC_RECV:
		return sizeof(struct ak_mpsc_recv_op);
	case AK_OP_MPSC_RECV_MANY:
		return sizeof(struct ak_mpsc_recv_many_op);
	case AK_OP_MPSC_CLOSED:
		return sizeof(struct ak_mpsc_closed_op);
	case AK_OP_ONESHOT_RECV:
		return sizeof(struct ak_oneshot_recv_op);
	case AK_OP_ONESHOT_CLOSED:
		return sizeof(struct ak_oneshot_closed_op);
	case AK_OP_BROADCAST_RECV:
		return sizeof(struct ak_broadcast_recv_op);
	case AK_OP_BROADCAST_CLOSED:
		return sizeof(struct ak_broadcast_closed_op);
	case AK_OP_SEMAPHORE_ACQUIRE:
		return sizeof(struct ak_semaphore_acquire_op);
	case AK_OP_NOTIFIED:
		return sizeof(struct ak_notified_op);
	case AK_OP_BARRIER_WAIT:
		return sizeof(struct ak_barrier_wait_op);
	case AK_OP_MUTEX_LOCK:
		return sizeof(struct ak_mutex_lock_op);
	case AK_OP_RWLOCK:
		return sizeof(struct ak_rwlock_op);
	case AK_OP_WATCH_CHANGED:
		return sizeof(struct ak_watch_changed_op);
	case AK_OP_WATCH_WAIT_FOR:
		return sizeof(struct ak_watch_wait_for_op);
	case AK_OP_WATCH_CLOSED:
		return sizeof(struct ak_watch_closed_op);
	case AK_OP_SELECT:
		return sizeof(struct ak_select_op);
	case AK_OP_JOIN:
		return sizeof(struct ak_join_op);
	case AK_OP_TRY_JOIN:
		return sizeof(struct ak_try_join_op);
	case AK_OP_TIMEOUT:
		return sizeof(struct ak_timeout_op);
	case AK_OP_TASK_JOIN:
		return sizeof(struct ak_task_join_op);
	case AK_OP_ONCE_CELL_GET_OR_INIT:
		return sizeof(struct ak_once_cell_op);
	case AK_OP_SET_ONCE_WAIT:
		return sizeof(struct ak_set_once_wait_op);
	default:
		return 0;
	}
}
