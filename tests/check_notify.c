/*
 * The notify core (core/notify.h): one stored permit, FIFO notify_one,
 * notify_waiters reaching operations initialised but not yet polled and
 * storing nothing, cancel passing a received notify_one on.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testkit_core.h"

Suite *notify_suite(void);

/* What an operation registered now gets at its first poll: 0 where a
 * notification is stored for it, else AK_PENDING (it is cancelled again). */
static int poll_a_later_op(struct ak__notify *n)
{
	struct tk_notified_op later;
	struct tk_task *t = tk_task_new();

	tk_notified_op_init(&later, n);
	int rc = tk_poll(t, &later.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&later.future);
	return rc;
}

/* Inits n and parks a, its only waiter, in task t. */
static void init_with_one_parked(struct ak__notify *n, struct tk_notified_op *a, struct tk_task *t)
{
	ak__notify_init(n);
	tk_notified_op_init(a, n);
	ck_assert_int_eq(tk_poll(t, &a->future), AK_PENDING);
}

START_TEST(notify_one_without_waiters_stores_exactly_one_permit)
{
	struct ak__notify n;
	struct tk_notified_op a, b;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	ak__notify_one(&n);
	ak__notify_one(&n);
	tk_notified_op_init(&a, &n);
	tk_notified_op_init(&b, &n);
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ck_assert_int_eq(tk_poll(t, &b.future), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_one_wakes_the_oldest_waiter)
{
	struct ak__notify n;
	struct tk_notified_op op[3];
	struct tk_task *t[3];

	ak__notify_init(&n);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		tk_notified_op_init(&op[i], &n);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	for (int i = 0; i < 3; i++) {
		ak__notify_one(&n);
		for (int j = 0; j < 3; j++)
			ck_assert_int_eq(tk_task_take_woken(t[j]), i == j);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_waiters_wakes_every_waiter_and_stores_no_permit)
{
	struct ak__notify n;
	struct tk_notified_op op[3];
	struct tk_task *t[3];

	ak__notify_init(&n);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		tk_notified_op_init(&op[i], &n);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ak__notify_waiters(&n);
	for (int i = 0; i < 3; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	ck_assert_int_eq(poll_a_later_op(&n), AK_PENDING);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_waiters_reaches_an_initialised_but_unpolled_operation)
{
	struct ak__notify n;
	struct tk_notified_op before, after;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	tk_notified_op_init(&before, &n);
	ak__notify_waiters(&n);
	tk_notified_op_init(&after, &n);
	ck_assert_int_eq(tk_poll(t, &before.future), 0);
	ck_assert_int_eq(tk_poll(t, &after.future), AK_PENDING);
	ak_future_cancel(&after.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_passes_a_received_notify_one_on)
{
	struct ak__notify n;
	struct tk_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	ak__notify_init(&n);
	tk_notified_op_init(&a, &n);
	tk_notified_op_init(&b, &n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak__notify_one(&n);
	ck_assert(tk_task_take_woken(ta));
	ak_future_cancel(&a.future);             /* received, never consumed */
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_with_no_one_left_stores_the_received_notify_one)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *ta = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	ak__notify_one(&n);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_after_notify_waiters_passes_nothing_on)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *ta = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	ak__notify_waiters(&n);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_a_later_op(&n), AK_PENDING);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_of_a_waiting_operation_stores_nothing)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *ta = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	ak_future_cancel(&a.future);
	ak__notify_one(&n);                      /* stored: nobody waits */
	ck_assert(!tk_task_take_woken(ta));
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* The first waiter waits in the slot, without a queue: only the second,
 * queued behind it, counts as a parked operation (ak_debug_counters(3)). */
START_TEST(only_a_queued_waiter_counts_as_a_parked_operation)
{
	struct ak__notify n;
	struct tk_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();
	int64_t parked = tk_counters().parked_ops;

	init_with_one_parked(&n, &a, ta);
	ck_assert_int_eq(tk_counters().parked_ops, parked);
	tk_notified_op_init(&b, &n);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(tk_counters().parked_ops, parked + 1);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(tk_counters().parked_ops, parked);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio: a notify_one received before a notify_waiters stays a notify_one
 * (the waiter had left the list): a cancel passes it on.  The lone waiter
 * (the slot's), then one queued behind it. */
START_TEST(a_notify_one_received_before_notify_waiters_is_passed_on_by_cancel)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *ta = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	ak__notify_one(&n);
	ak__notify_waiters(&n);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(a_queued_waiter_passes_on_a_notify_one_received_before_notify_waiters)
{
	struct ak__notify n;
	struct tk_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	tk_notified_op_init(&b, &n);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak__notify_one(&n);                      /* a */
	ak__notify_one(&n);                      /* b */
	ak__notify_waiters(&n);
	ak_future_cancel(&b.future);             /* passed on: nobody waits, stored */
	ck_assert_int_eq(tk_poll_woken(ta, &a.future), 0);
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(repoll_with_the_same_waker_does_not_clone)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	tk_notified_op_init(&a, &n);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(tk_poll(t, &a.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ak__notify_one(&n);
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(clone_failure_returns_enomem_and_registers_nothing)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	tk_notified_op_init(&a, &n);
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_ENOMEM);
	ak__notify_one(&n);                      /* nobody waits: stored */
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_waiters_wakes_more_waiters_than_one_wake_list)
{
	enum { N = AK__WAKELIST_CAP + 20 };
	static struct tk_notified_op op[N];
	static struct tk_task *t[N];
	struct ak__notify n;

	ak__notify_init(&n);
	for (int i = 0; i < N; i++) {
		t[i] = tk_task_new();
		tk_notified_op_init(&op[i], &n);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ak__notify_waiters(&n);
	for (int i = 0; i < N; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(destroy_with_waiters_is_ebusy)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *t = tk_task_new();

	init_with_one_parked(&n, &a, t);
	ck_assert_int_eq(ak__notify_destroy(&n), AK_EBUSY);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* Two threads take turns through two notifies; the plain counter they
 * hand over is checked by ThreadSanitizer: a notify happens-before the
 * notified completion. */
enum { ROUNDS = 3000 };
static struct ak__notify ping, pong;
static long baton;
static atomic_int pp_errors;

static int wait_on(struct ak__notify *n)
{
	struct tk_notified_op op;
	tk_notified_op_init(&op, n);
	return ak_block_on(&op.future, AK_DEADLINE_NEVER);
}

static void *pong_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		if (wait_on(&ping) != 0)
			atomic_fetch_add(&pp_errors, 1);
		baton++;
		ak__notify_one(&pong);
	}
	return NULL;
}

START_TEST(notify_orders_the_notifier_before_the_notified)
{
	pthread_t th;

	ak__notify_init(&ping);
	ak__notify_init(&pong);
	pthread_create(&th, NULL, pong_main, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		baton++;
		ak__notify_one(&ping);
		if (wait_on(&pong) != 0)
			atomic_fetch_add(&pp_errors, 1);
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&pp_errors), 0);
	ck_assert_int_eq(baton, 2 * ROUNDS);
	ck_assert_int_eq(ak__notify_destroy(&ping), 0);
	ck_assert_int_eq(ak__notify_destroy(&pong), 0);
}
END_TEST

/*
 * notify_waiters is atomic with respect to later calls (tokio's rule): once
 * it has returned, or once an operation it completed has returned 0, every
 * operation registered before it is complete, so a later notify_one is
 * stored or goes to an operation registered later.  With more waiters than
 * one wake list holds, the wakes go out in batches with the lock dropped in
 * between; the wakers below are slow (100 us per wake, which the waker
 * contract allows), and the first wake acts in the middle of the batches.
 * All waiters share one counting waker (one clone each).
 */
enum { SLOW_WAKE_NS = 100000, MANY = 1000 };
static struct tk_notified_op mid_ops[MANY];

struct midway {
	struct ak__notify *n;
	struct tk_notified_op *ops;
	int nops;
	struct tk_task *other;                  /* polls made from the hook */
	void (*act)(struct midway *m);          /* run at the first wake */
	atomic_int wakes;
	int rc_first, rc_last, rc_fresh, rc_fresh_after, rc_destroy;
	struct tk_notified_op fresh;
	pthread_t thread;
	atomic_int go, sent;
};

static void slow_wake_hook(struct tk_counting_waker *cw)
{
	struct midway *m = cw->hook_arg;
	if (atomic_fetch_add(&m->wakes, 1) == 0 && m->act)
		m->act(m);
	tk_sleep_ns(SLOW_WAKE_NS);
}

/* nops waiters parked on n through t, whose wakes run m's hook. */
static void midway_setup(struct midway *m, struct ak__notify *n, int nops,
                         void (*act)(struct midway *m), struct tk_task *t)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->ops = mid_ops;
	m->nops = nops;
	m->act = act;
	m->other = tk_task_new();
	m->rc_first = m->rc_last = m->rc_fresh = m->rc_fresh_after = m->rc_destroy = TK_NOT_CALLED;
	ak__notify_init(n);
	for (int i = 0; i < nops; i++) {
		tk_notified_op_init(&m->ops[i], n);
		ck_assert_int_eq(tk_poll(t, &m->ops[i].future), AK_PENDING);
	}
	t->cw->hook = slow_wake_hook;
	t->cw->hook_arg = m;
}

/* Every waiter of m completes, one by one. */
static void midway_all_complete(struct midway *m, struct tk_task *t)
{
	ck_assert_int_eq(atomic_load(&m->wakes) >= m->nops - 1, 1);
	for (int i = 0; i < m->nops; i++)
		if (ak_future_state(&m->ops[i].future) != AK_FUTURE_DONE)
			ck_assert_int_eq(tk_poll(t, &m->ops[i].future), 0);
}

static void act_notify_one(struct midway *m)
{
	ak__notify_one(m->n);
}

static void check_a_notify_one_inside_notify_waiters_is_kept(int nops)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, nops, act_notify_one, t);
	ak__notify_waiters(&n);
	midway_all_complete(&m, t);
	tk_notified_op_init(&m.fresh, &n);
	ck_assert_msg(tk_poll(m.other, &m.fresh.future) == 0,
	              "the notify_one made during notify_waiters was lost");
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}

START_TEST(a_notify_one_during_notify_waiters_of_33_is_stored)
{
	check_a_notify_one_inside_notify_waiters_is_kept(AK__WAKELIST_CAP + 1);
}
END_TEST

START_TEST(a_notify_one_during_notify_waiters_of_1000_is_stored)
{
	check_a_notify_one_inside_notify_waiters_is_kept(MANY);
}
END_TEST

/* The same notify_one from another thread: the hook lets it go and waits
 * (sleeping) until it returned, so it lands between the batches. */
static void *notify_one_main(void *arg)
{
	struct midway *m = arg;
	while (!atomic_load(&m->go))
		tk_sleep_ns(10000);
	ak__notify_one(m->n);
	atomic_store(&m->sent, 1);
	return NULL;
}

static void act_let_the_thread_notify(struct midway *m)
{
	atomic_store(&m->go, 1);
	for (int i = 0; i < 100000 && !atomic_load(&m->sent); i++)
		tk_sleep_ns(10000);
}

START_TEST(a_notify_one_from_another_thread_during_notify_waiters_is_not_lost)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, MANY, act_let_the_thread_notify, t);
	pthread_create(&m.thread, NULL, notify_one_main, &m);
	ak__notify_waiters(&n);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(atomic_load(&m.sent), 1);
	midway_all_complete(&m, t);
	tk_notified_op_init(&m.fresh, &n);
	ck_assert_msg(tk_poll(m.other, &m.fresh.future) == 0,
	              "the notify_one made during notify_waiters was lost");
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's loom notify_waiters_is_atomic: the first waiter completes, then a
 * waiter registered afterwards takes the next notify_one. */
static void act_complete_first_then_notify_a_newcomer(struct midway *m)
{
	m->rc_first = tk_poll(m->other, &m->ops[0].future);
	tk_notified_op_init(&m->fresh, m->n);
	m->rc_fresh = tk_poll(m->other, &m->fresh.future);
	ak__notify_one(m->n);
	m->rc_fresh_after = tk_poll(m->other, &m->fresh.future);
}

START_TEST(after_one_waiter_completes_a_notify_one_goes_to_a_later_waiter)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, AK__WAKELIST_CAP + 1, act_complete_first_then_notify_a_newcomer, t);
	ak__notify_waiters(&n);
	ck_assert_int_eq(m.rc_first, 0);
	ck_assert_int_eq(m.rc_fresh, AK_PENDING);
	ck_assert_int_eq(m.rc_fresh_after, 0);
	midway_all_complete(&m, t);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's loom notify_waiters_poll_consistency_many: if one waiter was
 * completed by notify_waiters, one of a later batch is complete too. */
static void act_poll_first_and_last(struct midway *m)
{
	m->rc_first = tk_poll(m->other, &m->ops[0].future);
	m->rc_last = tk_poll(m->other, &m->ops[m->nops - 1].future);
}

START_TEST(a_waiter_of_a_later_batch_is_complete_once_an_earlier_one_is)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, AK__WAKELIST_CAP + 1, act_poll_first_and_last, t);
	ak__notify_waiters(&n);
	ck_assert_int_eq(m.rc_first, 0);
	ck_assert_int_eq(m.rc_last, 0);
	midway_all_complete(&m, t);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's loom notify_waiters_sequential_notified_await: an operation
 * registered while notify_waiters runs is not completed by it. */
static void act_register_a_newcomer(struct midway *m)
{
	m->rc_first = tk_poll(m->other, &m->ops[0].future);
	tk_notified_op_init(&m->fresh, m->n);
	m->rc_fresh = tk_poll(m->other, &m->fresh.future);
}

START_TEST(an_operation_registered_during_notify_waiters_keeps_waiting)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, AK__WAKELIST_CAP + 1, act_register_a_newcomer, t);
	ak__notify_waiters(&n);
	ck_assert_int_eq(m.rc_first, 0);
	ck_assert_int_eq(m.rc_fresh, AK_PENDING);
	midway_all_complete(&m, t);
	ck_assert(!tk_task_take_woken(m.other));
	ck_assert_int_eq(tk_poll(m.other, &m.fresh.future), AK_PENDING);
	ak_future_cancel(&m.fresh.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* Cancelling a waiter that notify_waiters took but has not woken yet: its
 * storage is released at once (poisoned here; AddressSanitizer sees a
 * heap block freed), nothing is passed on, and the rest still complete. */
static struct tk_notified_op *cancelled;

static void act_cancel_and_free_the_last(struct midway *m)
{
	ak_future_cancel(&cancelled->future);
	memset(cancelled, 0xa5, sizeof(*cancelled));
	free(cancelled);
	m->rc_destroy = ak__notify_destroy(m->n);
}

START_TEST(cancelling_a_waiter_notify_waiters_has_not_woken_yet_is_safe)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new(), *tc = tk_task_new();

	midway_setup(&m, &n, AK__WAKELIST_CAP, act_cancel_and_free_the_last, t);
	cancelled = malloc(sizeof(*cancelled));
	ck_assert_ptr_nonnull(cancelled);
	tk_notified_op_init(cancelled, &n);
	ck_assert_int_eq(tk_poll(tc, &cancelled->future), AK_PENDING);
	ak__notify_waiters(&n);
	ck_assert_int_eq(m.rc_destroy, AK_EBUSY);
	ck_assert(!tk_task_take_woken(tc));
	midway_all_complete(&m, t);
	tk_notified_op_init(&m.fresh, &n);
	ck_assert_int_eq(tk_poll(m.other, &m.fresh.future), AK_PENDING);
	ak_future_cancel(&m.fresh.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's notify_in_drop_after_wake: a waker may call notify_waiters
 * again from its wake; nothing deadlocks, and everyone completes. */
static void act_notify_waiters_again(struct midway *m)
{
	tk_notified_op_init(&m->fresh, m->n);
	m->rc_fresh = tk_poll(m->other, &m->fresh.future);
	ak__notify_waiters(m->n);
	m->rc_fresh_after = tk_poll(m->other, &m->fresh.future);
}

START_TEST(notify_waiters_called_from_a_wake_does_not_deadlock)
{
	struct ak__notify n;
	struct midway m;
	struct tk_task *t = tk_task_new();

	midway_setup(&m, &n, AK__WAKELIST_CAP + 1, act_notify_waiters_again, t);
	ak__notify_waiters(&n);
	ck_assert_int_eq(m.rc_fresh, AK_PENDING);
	ck_assert_int_eq(m.rc_fresh_after, 0);
	midway_all_complete(&m, t);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's notify_one_after_dropped_all. */
START_TEST(cancelling_a_waiter_completed_by_notify_waiters_keeps_a_later_permit)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *ta = tk_task_new();

	init_with_one_parked(&n, &a, ta);
	ak__notify_waiters(&n);
	ak__notify_one(&n);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_a_later_op(&n), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/* tokio's test_waker_update. */
START_TEST(a_repoll_with_another_waker_is_woken_through_the_new_one)
{
	struct ak__notify n;
	struct tk_notified_op a;
	struct tk_task *t = tk_task_new();
	struct ak_context cx;

	ak__notify_init(&n);
	tk_notified_op_init(&a, &n);
	ak_context_init(&cx, ak_waker_noop(), NULL);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&a.future, &cx)), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_PENDING);
	ak__notify_one(&n);
	ck_assert_int_eq(tk_poll_woken(t, &a.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

/*
 * Regression (the twin of the semaphore core's): a queued notified() read
 * its state twice at the top of a poll; a notify_one landing between the
 * reads made it take the fast path and consume a stored permit as well,
 * orphaning the notification it had been granted.  Here a thread re-polls a
 * queued op while another calls notify_one twice: one notification for the
 * op, one stored, which a fresh op must still find.  The re-poll loop is
 * the race (tk_race_repolls); it gives up after 256 polls (the notifier is not
 * running) and waits for the round to be served instead.
 */
#ifdef AK__TSAN
/* Under TSan the rounds check the library's synchronization (the race
 * itself is caught natively, where both threads run at full speed): fewer
 * keep the test well under its limit beside busy loops. */
enum { RACE_ROUNDS = 10000 };
#else
enum { RACE_ROUNDS = 300000 };
#endif

static struct ak__notify race_n;
static struct ak__notified race_o;

static int poll_noop(struct ak__notified *o)
{
	struct ak_context cx;
	ak_context_init(&cx, ak_waker_noop(), NULL);
	return ak_context_done(&cx, ak__notified_poll(o, &cx));
}

static void race_arm(void *arg)
{
	(void)arg;
	ak__notified_init(&race_o, &race_n);
}

static int race_poll(void *arg)
{
	(void)arg;
	return poll_noop(&race_o);
}

static void race_notify_twice(void *arg)
{
	(void)arg;
	ak__notify_one(&race_n);
	ak__notify_one(&race_n);
}

/* The second notification is stored: a fresh operation finds it. */
static int race_one_stored(void *arg)
{
	struct ak__notified fresh;
	(void)arg;
	ak__notified_init(&fresh, &race_n);
	if (poll_noop(&fresh) == 0)
		return 1;
	ak__notified_cancel(&fresh);
	return 0;
}

START_TEST(a_notify_during_a_repoll_never_also_takes_the_stored_permit)
{
	const struct tk_race r = { NULL, race_arm, race_poll, race_notify_twice, race_one_stored };
	int errors;

	ak__notify_init(&race_n);
	int lost = tk_race_repolls(&r, RACE_ROUNDS, &errors);
	ck_assert_int_eq(errors, 0);
	ck_assert_msg(lost == 0, "a notification was lost: the fast path took the stored permit too");
	ck_assert_int_eq(ak__notify_destroy(&race_n), 0);
}
END_TEST

/*
 * The same race, each re-poll with the other of two wakers: the slot's
 * operation takes its waker back from the cell and registers the new one
 * while notify_one takes the waker and fills the slot.  Neither
 * notification is lost or taken twice, and every clone is woken or
 * dropped once (the teardown's counters; the counting waker's underflows).
 */
static struct tk_task *race_t;
static int race_turn;

static int race_poll_switching(void *arg)
{
	struct ak_context cx;
	(void)arg;
	race_turn ^= 1;
	ak_context_init(&cx, race_turn ? ak_waker_noop() : tk_counting_waker(race_t->cw), NULL);
	return ak_context_done(&cx, ak__notified_poll(&race_o, &cx));
}

START_TEST(a_notify_during_a_repoll_with_another_waker_is_neither_lost_nor_doubled)
{
	const struct tk_race r = { NULL, race_arm, race_poll_switching, race_notify_twice,
	                           race_one_stored };
	int errors;

	race_t = tk_task_new();
	ak__notify_init(&race_n);
	int lost = tk_race_repolls(&r, RACE_ROUNDS, &errors);
	ck_assert_int_eq(errors, 0);
	ck_assert_msg(lost == 0, "a notification was lost or taken twice");
	ck_assert_int_eq(atomic_load(&race_t->cw->underflows), 0);
	ck_assert_int_eq(atomic_load(&race_t->cw->live), 0);
	ck_assert_int_eq(ak__notify_destroy(&race_n), 0);
}
END_TEST

Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tk_tcase("notify");

	tcase_add_test(tc, notify_one_without_waiters_stores_exactly_one_permit);
	tcase_add_test(tc, notify_one_wakes_the_oldest_waiter);
	tcase_add_test(tc, notify_waiters_wakes_every_waiter_and_stores_no_permit);
	tcase_add_test(tc, notify_waiters_reaches_an_initialised_but_unpolled_operation);
	tcase_add_test(tc, cancel_passes_a_received_notify_one_on);
	tcase_add_test(tc, cancel_with_no_one_left_stores_the_received_notify_one);
	tcase_add_test(tc, cancel_after_notify_waiters_passes_nothing_on);
	tcase_add_test(tc, cancel_of_a_waiting_operation_stores_nothing);
	tcase_add_test(tc, only_a_queued_waiter_counts_as_a_parked_operation);
	tcase_add_test(tc, a_notify_one_received_before_notify_waiters_is_passed_on_by_cancel);
	tcase_add_test(tc, a_queued_waiter_passes_on_a_notify_one_received_before_notify_waiters);
	tcase_add_test(tc, repoll_with_the_same_waker_does_not_clone);
	tcase_add_test(tc, clone_failure_returns_enomem_and_registers_nothing);
	tcase_add_test(tc, notify_waiters_wakes_more_waiters_than_one_wake_list);
	tcase_add_test(tc, destroy_with_waiters_is_ebusy);
	tcase_add_test(tc, notify_orders_the_notifier_before_the_notified);
	tcase_add_test(tc, a_notify_during_a_repoll_never_also_takes_the_stored_permit);
	tcase_add_test(tc, a_notify_during_a_repoll_with_another_waker_is_neither_lost_nor_doubled);
	tcase_add_test(tc, a_notify_one_during_notify_waiters_of_33_is_stored);
	tcase_add_test(tc, a_notify_one_during_notify_waiters_of_1000_is_stored);
	tcase_add_test(tc, a_notify_one_from_another_thread_during_notify_waiters_is_not_lost);
	tcase_add_test(tc, after_one_waiter_completes_a_notify_one_goes_to_a_later_waiter);
	tcase_add_test(tc, a_waiter_of_a_later_batch_is_complete_once_an_earlier_one_is);
	tcase_add_test(tc, an_operation_registered_during_notify_waiters_keeps_waiting);
	tcase_add_test(tc, cancelling_a_waiter_notify_waiters_has_not_woken_yet_is_safe);
	tcase_add_test(tc, notify_waiters_called_from_a_wake_does_not_deadlock);
	tcase_add_test(tc, cancelling_a_waiter_completed_by_notify_waiters_keeps_a_later_permit);
	tcase_add_test(tc, a_repoll_with_another_waker_is_woken_through_the_new_one);
	suite_add_tcase(s, tc);
	return s;
}
