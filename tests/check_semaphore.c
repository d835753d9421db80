/*
 * The public Semaphore (<awaitkit/semaphore.h>): FIFO grants, head-of-line
 * waits, the maximum, close, cancel passing grants on, the operation that
 * holds its permits, cleanup of a dropped task, mutual exclusion on the
 * pool and on blocked threads, bad inputs.
 */
#include <check.h>
#include <string.h>

#include "testkit.h"

Suite *semaphore_suite(void);

static struct ak_semaphore *new_sem(uint64_t permits)
{
	struct ak_semaphore *s = NULL;
	ck_assert_int_eq(ak_semaphore_new(&s, permits), 0);
	return s;
}

static void init_acq(struct ak_semaphore_acquire_op *op, struct ak_semaphore *s, uint64_t n)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_semaphore_acquire_init(op, s, n), 0);
}

/* Binds an acquire of n and polls it once in task t. */
static int poll_new_acq(struct ak_semaphore_acquire_op *op, struct ak_semaphore *s, uint64_t n,
                        struct tk_task *t)
{
	init_acq(op, s, n);
	return tk_poll(t, &op->future);
}

START_TEST(waiters_are_granted_in_fifo_order)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op op[3];
	struct tk_task *t[3];

	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		init_acq(&op[i], s, 1);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ak_semaphore_add_permits(s, 1), 0);
		for (int j = 0; j < 3; j++)
			ck_assert_int_eq(tk_task_take_woken(t[j]), j == i);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_semaphore_release(&op[i]), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 3);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(acquire_larger_than_available_waits_and_blocks_smaller_later_ones)
{
	struct ak_semaphore *s = new_sem(2);
	struct ak_semaphore_acquire_op big, small, t1;
	struct tk_task *tb = tk_task_new(), *ts = tk_task_new();

	memset(&t1, 0, sizeof(t1));
	ck_assert_int_eq(poll_new_acq(&big, s, 3, tb), AK_PENDING);
	/* The head holds the 2 permits: nothing is available to later ones. */
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);
	ck_assert_int_eq(ak_semaphore_try_acquire(&t1, s, 1), AK_EAGAIN);
	ck_assert_int_eq(poll_new_acq(&small, s, 1, ts), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 1), 0);
	ck_assert(tk_task_take_woken(tb));
	ck_assert(!tk_task_take_woken(ts));
	ck_assert_int_eq(tk_poll(tb, &big.future), 0);
	ck_assert_int_eq(ak_semaphore_release(&big), 0);
	ck_assert_int_eq(tk_poll_woken(ts, &small.future), 0);
	ck_assert_int_eq(ak_semaphore_release(&small), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 3);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(acquire_larger_than_the_maximum_fails_at_once)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_acquire_init(&op, s, AK_SEMAPHORE_MAX_PERMITS + 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_try_acquire(&op, s, AK_SEMAPHORE_MAX_PERMITS + 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_acquire_blocking(&op, s, UINT64_MAX, AK_DEADLINE_NEVER),
	                 AK_EINVAL);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(add_permits_past_the_maximum_fails_with_eoverflow_and_changes_nothing)
{
	struct ak_semaphore *s = NULL;

	ck_assert_int_eq(ak_semaphore_new(&s, AK_SEMAPHORE_MAX_PERMITS + 1), AK_EOVERFLOW);
	ck_assert_ptr_null(s);
	s = new_sem(AK_SEMAPHORE_MAX_PERMITS - 1);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 2), AK_EOVERFLOW);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), AK_SEMAPHORE_MAX_PERMITS - 1);
	ck_assert_int_eq(ak_semaphore_add_permits(s, UINT64_MAX), AK_EOVERFLOW);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), AK_SEMAPHORE_MAX_PERMITS - 1);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 1), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), AK_SEMAPHORE_MAX_PERMITS);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(add_permits_counts_the_permits_held_and_a_release_never_overflows)
{
	struct ak_semaphore *s = new_sem(AK_SEMAPHORE_MAX_PERMITS - 1);
	struct ak_semaphore_acquire_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_try_acquire(&op, s, 2), 0);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 2), AK_EOVERFLOW);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), AK_SEMAPHORE_MAX_PERMITS - 3);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 1), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), AK_SEMAPHORE_MAX_PERMITS);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(close_wakes_every_waiter_with_epipe_and_later_acquires_fail)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op held, op[3], late;
	struct tk_task *t[3];

	memset(&held, 0, sizeof(held));
	memset(&late, 0, sizeof(late));
	ck_assert_int_eq(ak_semaphore_try_acquire(&held, s, 1), 0);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		init_acq(&op[i], s, 1);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ck_assert_int_eq(ak_semaphore_close(s), 0);
	ck_assert_int_eq(ak_semaphore_is_closed(s), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_EPIPE);
		ck_assert_int_eq(ak_semaphore_release(&op[i]), AK_EINVAL);
	}
	ck_assert_int_eq(ak_semaphore_try_acquire(&late, s, 1), AK_EPIPE);
	ck_assert_int_eq(poll_new_acq(&late, s, 1, t[0]), AK_EPIPE);
	/* Permits held before the close still go back. */
	ck_assert_int_eq(ak_semaphore_release(&held), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(a_granted_but_unobserved_acquire_cancelled_passes_its_permits_on)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_acq(&a, s, 2);
	init_acq(&b, s, 2);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 2), 0);
	ck_assert(tk_task_take_woken(ta));
	ak_future_cancel(&a.future);          /* granted, never observed */
	ck_assert_int_eq(ak_semaphore_release(&a), AK_EINVAL);
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);
	ck_assert_int_eq(ak_semaphore_release(&b), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 2);
	ck_assert_int_eq(ak_semaphore_free(s), 0);   /* nobody stays parked */
}
END_TEST

START_TEST(a_queued_acquire_cancelled_loses_only_its_place)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_acq(&a, s, 3);
	init_acq(&b, s, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 2), 0);   /* partial grant to a */
	ak_future_cancel(&a.future);
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_release(&b), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(try_acquire_never_jumps_the_queue)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op a, t;
	struct tk_task *ta = tk_task_new();

	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(poll_new_acq(&a, s, 2, ta), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 1), 0);
	ck_assert_int_eq(ak_semaphore_try_acquire(&t, s, 1), AK_EAGAIN);
	ck_assert_int_eq(ak_semaphore_release(&t), AK_EINVAL);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak_semaphore_try_acquire(&t, s, 1), 0);
	ck_assert_int_eq(ak_semaphore_release(&t), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(the_completed_operation_holds_its_permits_until_released_once)
{
	struct ak_semaphore *s = new_sem(3);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_acq(&op, s, 2, t), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ak_future_cancel(&op.future);          /* completed: a no-op */
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_acquire_init(&op, s, 1), AK_EBUSY);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), AK_EINVAL);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 3);
	ck_assert_int_eq(ak_semaphore_acquire_init(&op, s, 1), 0);   /* re-initialised */
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(forget_removes_only_available_permits)
{
	struct ak_semaphore *s = new_sem(5);
	struct ak_semaphore_acquire_op op;
	uint64_t k = 99;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_try_acquire(&op, s, 2), 0);
	ck_assert_int_eq(ak_semaphore_forget(s, 2, &k), 0);
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(ak_semaphore_forget(s, 10, &k), 0);
	ck_assert_uint_eq(k, 1);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 2);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(acquire_of_zero_completes_at_once_while_open)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_acq(&op, s, 0, t), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ak_semaphore_close(s);
	ck_assert_int_eq(poll_new_acq(&op, s, 0, t), AK_EPIPE);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(free_with_waiters_is_ebusy)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_acq(&op, s, 1, t), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

/* ---- lifetimes and misuse (awaitkit(7), DESIGN.md sections 2 and 10) ---- */

START_TEST(free_while_permits_are_held_is_ebusy)
{
	struct ak_semaphore *s = new_sem(3);
	struct ak_semaphore_acquire_op op;
	uint64_t k;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_try_acquire(&op, s, 2), 0);
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 4), 0);   /* 5 free, 2 held */
	ck_assert_int_eq(ak_semaphore_forget(s, 1, &k), 0);    /* 4 free, 2 held */
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ak_semaphore_close(s);                                  /* held stay held */
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 6);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(free_while_an_acquire_is_granted_but_not_yet_polled_is_ebusy)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_acq(&op, s, 2, t), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_add_permits(s, 2), 0);   /* granted, out of the queue */
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ak_future_cancel(&op.future);                          /* reaches the semaphore */
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 2);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(free_while_a_closed_acquire_is_not_yet_polled_is_ebusy)
{
	struct ak_semaphore *s = new_sem(0);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_acq(&op, s, 1, t), AK_PENDING);
	ak_semaphore_close(s);                 /* woken with nothing granted */
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);
	ak_future_cancel(&op.future);          /* reaches the semaphore */
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(release_of_an_operation_holding_nothing_is_einval_and_changes_nothing)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op held, waiting, zero, failed;
	struct tk_task *t = tk_task_new();

	memset(&held, 0, sizeof(held));
	memset(&zero, 0, sizeof(zero));
	memset(&failed, 0, sizeof(failed));
	ck_assert_int_eq(ak_semaphore_release(&zero), AK_EINVAL);      /* never bound */
	ck_assert_int_eq(ak_semaphore_try_acquire(&held, s, 1), 0);
	init_acq(&waiting, s, 1);
	ck_assert_int_eq(ak_semaphore_release(&waiting), AK_EINVAL);   /* never polled */
	ck_assert_int_eq(tk_poll(t, &waiting.future), AK_PENDING);
	ck_assert_int_eq(ak_semaphore_release(&waiting), AK_EINVAL);   /* parked */
	ck_assert_int_eq(ak_semaphore_try_acquire(&failed, s, 1), AK_EAGAIN);
	ck_assert_int_eq(ak_semaphore_release(&failed), AK_EINVAL);    /* failed */
	/* Nothing moved: the waiter is still queued, no permit appeared. */
	ck_assert(!tk_task_take_woken(t));
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);
	ck_assert_int_eq(ak_semaphore_release(&held), 0);
	ck_assert_int_eq(ak_semaphore_release(&held), AK_EINVAL);      /* twice */
	ck_assert_int_eq(tk_poll_woken(t, &waiting.future), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);      /* one permit, once */
	ck_assert_int_eq(ak_semaphore_release(&waiting), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(blocking_acquire_times_out_holding_nothing)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_acquire_blocking(&op, s, 2, ak_deadline_in(20000000)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(ak_semaphore_release(&op), AK_EINVAL);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_acquire_blocking(&op, s, 1, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(an_acquire_with_its_budget_spent_yields_without_taking_permits)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op op;
	struct tk_task *t = tk_task_new();

	init_acq(&op, s, 1);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(t));
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_semaphore_release(&op), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(bad_inputs_are_einval_and_change_nothing)
{
	struct ak_semaphore *s = new_sem(1);
	struct ak_semaphore_acquire_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_semaphore_new(NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_acquire_init(NULL, s, 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_acquire_init(&op, NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_try_acquire(&op, NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_release(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_release(&op), AK_EINVAL);   /* zeroed */
	ck_assert_int_eq(ak_semaphore_add_permits(NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_forget(NULL, 1, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_close(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_is_closed(NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_semaphore_available_permits(NULL), 0);
	ck_assert_int_eq(ak_future_poll(&op.future, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_op_size(AK_OP_SEMAPHORE_ACQUIRE), sizeof(struct ak_semaphore_acquire_op));
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_is_closed(s), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

/* ---- tasks: the await macros, the pool ------------------------------------ */

/* Acquires `per` times, bumps a plain int while holding (with a yield in
 * between), releases; its cleanup releases what it holds. */
struct worker {
	struct ak_future future;
	struct ak_await aw;
	struct ak_semaphore *sem;
	struct ak_semaphore_acquire_op acq;
	int holding;
	int per, i, rc, v;
	int *counter;
	struct ak_future *park;       /* awaited while holding, if set */
	int cleanups;
};

static int worker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct worker *w = (struct worker *)f;

	AK_BEGIN(&w->aw, cx);
	for (w->i = 0; w->i < w->per; w->i++) {
		if ((w->rc = ak_semaphore_acquire_init(&w->acq, w->sem, 1)) != 0)
			AK_RETURN(&w->aw, w->rc);
		AK_AWAIT(&w->aw, &w->acq.future, w->rc);
		if (w->rc != 0)
			AK_RETURN(&w->aw, w->rc);
		w->holding = 1;
		if (w->park)
			AK_AWAIT(&w->aw, w->park, w->rc);
		w->v = *w->counter;
		if ((w->i & 7) == 0)
			AK_YIELD(&w->aw);
		*w->counter = w->v + 1;
		w->holding = 0;
		if ((w->rc = ak_semaphore_release(&w->acq)) != 0)
			AK_RETURN(&w->aw, w->rc);
	}
	AK_CLEANUP(&w->aw);
	w->cleanups++;
	if (w->holding && ak_semaphore_release(&w->acq) == 0)
		w->holding = 0;
	AK_END(&w->aw);
}

static void worker_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct worker *)f)->aw, f);
}

static const struct ak_future_vtable worker_vtable = { worker_poll, worker_cancel };

static void worker_init(struct worker *w, struct ak_semaphore *s, int per, int *counter)
{
	memset(w, 0, sizeof(*w));
	w->sem = s;
	w->per = per;
	w->counter = counter;
	ck_assert_int_eq(ak_future_init(&w->future, &worker_vtable), 0);
}

START_TEST(a_task_dropped_while_holding_returns_its_permits_through_cleanup)
{
	struct ak_executor *ex = NULL;
	struct ak_semaphore *s = new_sem(1);
	struct worker w;
	struct ak_semaphore_acquire_op other;
	struct ak_task *h = NULL;
	struct tk_task *t = tk_task_new();
	int counter = 0;

	struct tk_flag_future never;

	tk_flag_init(&never, 0);
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	worker_init(&w, s, 1, &counter);
	w.park = &never.future;
	ck_assert_int_eq(ak_executor_spawn(ex, &w.future, &h), 0);
	ak_executor_run(ex);      /* it takes the permit and parks holding it */
	ck_assert_int_eq(w.holding, 1);
	ck_assert_int_eq(poll_new_acq(&other, s, 1, t), AK_PENDING);
	ck_assert_int_eq(ak_task_cancel(h), 0);
	ck_assert_int_eq(w.cleanups, 1);
	ck_assert_int_eq(w.holding, 0);
	ck_assert_int_eq(tk_poll_woken(t, &other.future), 0);
	ck_assert_int_eq(ak_semaphore_release(&other), 0);
	ak_task_release(h);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
	ck_assert_int_eq(atomic_load(&never.cancels), 1);
}
END_TEST

#define PAR 4
#define PER 2000

START_TEST(one_permit_excludes_four_tasks)
{
	struct ak_semaphore *s = new_sem(1);
	struct worker w[PAR];
	struct tk_exec *x = tk_exec_new("pool", PAR);
	int counter = 0;

	for (int i = 0; i < PAR; i++) {
		worker_init(&w[i], s, PER, &counter);
		tk_exec_spawn(x, &w[i].future);
	}
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(20LL * 1000 * 1000 * 1000)), 0);
	for (int i = 0; i < PAR; i++)
		ck_assert_int_eq(tk_exec_result(x, i), 0);
	tk_exec_free(x);
	ck_assert_int_eq(counter, PAR * PER);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(one_permit_excludes_four_blocked_threads)
{
	struct ak_semaphore *s = new_sem(1);
	struct tk_lock l = tk_lock_semaphore(s);

	ck_assert_int_eq(tk_exclusion_on_threads(&l, PAR, PER), PAR * PER);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(split_moves_permits_to_another_op_and_each_releases_its_own)
{
	struct ak_semaphore *s = new_sem(5);
	struct ak_semaphore_acquire_op a, b;

	memset(&b, 0, sizeof(b));
	init_acq(&a, s, 5);
	ck_assert_int_eq(ak_semaphore_try_acquire(&a, s, 5), 0);
	ck_assert_uint_eq(ak_semaphore_permits(&a), 5);
	ck_assert_int_eq(ak_semaphore_split(&a, 2, &b), 0);
	ck_assert_uint_eq(ak_semaphore_permits(&a), 3);
	ck_assert_uint_eq(ak_semaphore_permits(&b), 2);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 0);
	ck_assert_int_eq(ak_semaphore_release(&b), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 2);
	ck_assert_uint_eq(ak_semaphore_permits(&b), 0);
	ck_assert_int_eq(ak_semaphore_free(s), AK_EBUSY);       /* a holds 3 */
	ck_assert_int_eq(ak_semaphore_release(&a), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(split_of_more_than_held_or_into_a_holding_op_is_refused)
{
	struct ak_semaphore *s = new_sem(4);
	struct ak_semaphore_acquire_op a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(ak_semaphore_split(&a, 0, &b), AK_EINVAL);   /* holds none */
	ck_assert_int_eq(ak_semaphore_try_acquire(&a, s, 2), 0);
	ck_assert_int_eq(ak_semaphore_split(&a, 3, &b), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_try_acquire(&b, s, 1), 0);
	ck_assert_int_eq(ak_semaphore_split(&a, 1, &b), AK_EBUSY);
	ck_assert_uint_eq(ak_semaphore_permits(&a), 2);
	ck_assert_uint_eq(ak_semaphore_permits(&b), 1);
	ck_assert_int_eq(ak_semaphore_release(&a), 0);
	ck_assert_int_eq(ak_semaphore_release(&b), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
}
END_TEST

START_TEST(merge_gathers_permits_and_refuses_another_semaphore)
{
	struct ak_semaphore *s = new_sem(4), *t = new_sem(1);
	struct ak_semaphore_acquire_op a, b, c;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ak_semaphore_try_acquire(&a, s, 1), 0);
	ck_assert_int_eq(ak_semaphore_try_acquire(&b, s, 3), 0);
	ck_assert_int_eq(ak_semaphore_try_acquire(&c, t, 1), 0);
	ck_assert_int_eq(ak_semaphore_merge(&a, &c), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_merge(&a, &a), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_merge(&a, &b), 0);
	ck_assert_uint_eq(ak_semaphore_permits(&a), 4);
	ck_assert_uint_eq(ak_semaphore_permits(&b), 0);
	ck_assert_int_eq(ak_semaphore_release(&b), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_release(&a), 0);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 4);
	ck_assert_int_eq(ak_semaphore_release(&c), 0);
	ck_assert_int_eq(ak_semaphore_free(s), 0);
	ck_assert_int_eq(ak_semaphore_free(t), 0);
}
END_TEST

START_TEST(forget_op_drops_the_permits_for_good)
{
	struct ak_semaphore *s = new_sem(3);
	struct ak_semaphore_acquire_op a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(ak_semaphore_try_acquire(&a, s, 2), 0);
	ck_assert_int_eq(ak_semaphore_forget_op(&a), 0);
	ck_assert_uint_eq(ak_semaphore_permits(&a), 0);
	ck_assert_int_eq(ak_semaphore_release(&a), AK_EINVAL);
	ck_assert_int_eq(ak_semaphore_forget_op(&a), AK_EINVAL);
	ck_assert_uint_eq(ak_semaphore_available_permits(s), 1);
	ck_assert_int_eq(ak_semaphore_free(s), 0);                /* nothing held */
}
END_TEST

Suite *semaphore_suite(void)
{
	Suite *s = suite_create("semaphore");
	TCase *tc = tk_tcase("semaphore");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, waiters_are_granted_in_fifo_order);
	tcase_add_test(tc, split_moves_permits_to_another_op_and_each_releases_its_own);
	tcase_add_test(tc, split_of_more_than_held_or_into_a_holding_op_is_refused);
	tcase_add_test(tc, merge_gathers_permits_and_refuses_another_semaphore);
	tcase_add_test(tc, forget_op_drops_the_permits_for_good);
	tcase_add_test(tc, acquire_larger_than_available_waits_and_blocks_smaller_later_ones);
	tcase_add_test(tc, acquire_larger_than_the_maximum_fails_at_once);
	tcase_add_test(tc, add_permits_past_the_maximum_fails_with_eoverflow_and_changes_nothing);
	tcase_add_test(tc, add_permits_counts_the_permits_held_and_a_release_never_overflows);
	tcase_add_test(tc, close_wakes_every_waiter_with_epipe_and_later_acquires_fail);
	tcase_add_test(tc, a_granted_but_unobserved_acquire_cancelled_passes_its_permits_on);
	tcase_add_test(tc, a_queued_acquire_cancelled_loses_only_its_place);
	tcase_add_test(tc, try_acquire_never_jumps_the_queue);
	tcase_add_test(tc, the_completed_operation_holds_its_permits_until_released_once);
	tcase_add_test(tc, forget_removes_only_available_permits);
	tcase_add_test(tc, acquire_of_zero_completes_at_once_while_open);
	tcase_add_test(tc, free_with_waiters_is_ebusy);
	tcase_add_test(tc, free_while_permits_are_held_is_ebusy);
	tcase_add_test(tc, free_while_an_acquire_is_granted_but_not_yet_polled_is_ebusy);
	tcase_add_test(tc, free_while_a_closed_acquire_is_not_yet_polled_is_ebusy);
	tcase_add_test(tc, release_of_an_operation_holding_nothing_is_einval_and_changes_nothing);
	tcase_add_test(tc, blocking_acquire_times_out_holding_nothing);
	tcase_add_test(tc, an_acquire_with_its_budget_spent_yields_without_taking_permits);
	tcase_add_test(tc, bad_inputs_are_einval_and_change_nothing);
	tcase_add_test(tc, a_task_dropped_while_holding_returns_its_permits_through_cleanup);
	tcase_add_test(tt, one_permit_excludes_four_tasks);
	tcase_add_test(tc, one_permit_excludes_four_blocked_threads);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
