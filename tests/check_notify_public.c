/*
 * The public Notify (<awaitkit/notify.h>): the stored permit, the oldest
 * waiter first, notify_waiters reaching initialised-but-unpolled
 * operations and storing nothing, a cancelled notified() passing its
 * notification on, the blocking form, bad inputs.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "testkit.h"

Suite *notify_public_suite(void);

static struct ak_notify *new_notify(void)
{
	struct ak_notify *n = NULL;
	ck_assert_int_eq(ak_notify_new(&n), 0);
	return n;
}

static void init_op(struct ak_notified_op *op, struct ak_notify *n)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_notified_init(op, n), 0);
}

/* Binds op to n and polls it once in task t. */
static int poll_new_op(struct ak_notified_op *op, struct ak_notify *n, struct tk_task *t)
{
	init_op(op, n);
	return tk_poll(t, &op->future);
}

START_TEST(notify_one_without_waiters_stores_a_single_permit)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(poll_new_op(&a, n, t), 0);
	ck_assert_int_eq(poll_new_op(&b, n, t), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

static void *notify_from_thread(void *n)
{
	return (void *)(intptr_t)ak_notify_one(n);
}

/* While the process has one thread the notify's word is written with
 * plain stores instead of RMWs (core/shim.h, ak__alone()): an operation
 * that parked then is woken by a notify_one on a thread started
 * afterwards, and the notify frees once it finished. */
START_TEST(notified_parked_while_alone_is_woken_by_a_thread_started_after)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ck_assert_int_eq(ak_notify_free(n), AK_EBUSY);
	ck_assert_int_eq(tk_thread_run(notify_from_thread, n), 0);
	ck_assert_int_eq(tk_poll_woken(t, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(notify_one_wakes_the_oldest_waiter_only)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_op(&a, n);
	init_op(&b, n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert(tk_task_take_woken(ta));
	ck_assert(!tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(ta, &a.future), 0);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(notify_waiters_stores_no_permit)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_notify_waiters(n), 0);
	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(notify_waiters_reaches_waiting_and_initialised_but_unpolled_ops)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b, c, d;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new(), *tc = tk_task_new();

	init_op(&a, n);
	init_op(&b, n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	init_op(&c, n);                        /* initialised, never polled */
	ck_assert_int_eq(ak_notify_waiters(n), 0);
	init_op(&d, n);                        /* initialised after: not reached */
	ck_assert(tk_task_take_woken(ta));
	ck_assert(tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(ta, &a.future), 0);
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ck_assert_int_eq(tk_poll(tc, &c.future), 0);
	ck_assert_int_eq(tk_poll(tc, &d.future), AK_PENDING);
	ak_future_cancel(&d.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(a_cancelled_notified_passes_a_received_notify_one_on)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_op(&a, n);
	init_op(&b, n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert(tk_task_take_woken(ta));
	ak_future_cancel(&a.future);           /* received, never observed */
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(a_cancelled_notified_with_nobody_behind_stores_its_notification)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_new_op(&b, n, t), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(free_with_waiters_is_ebusy)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ck_assert_int_eq(ak_notify_free(n), AK_EBUSY);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(free_while_a_notified_is_granted_but_not_yet_polled_is_ebusy)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	/* notify_one takes a out of the queue; its cancel would then pass the
	 * notification on through n, so n must outlive it. */
	ck_assert_int_eq(poll_new_op(&a, n, ta), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(ak_notify_free(n), AK_EBUSY);
	ak_future_cancel(&a.future);
	/* The notification went back to n, stored: a later op takes it. */
	ck_assert_int_eq(poll_new_op(&b, n, tb), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(free_after_a_granted_notified_was_polled_succeeds)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(blocking_wait_times_out_then_takes_a_stored_permit)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(ak_notified_blocking(&a, n, ak_deadline_in(10000000)), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(ak_notified_blocking(&a, n, ak_deadline_in(10000000)), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

#define HOPS 2000

struct pong {
	pthread_t th;
	struct ak_notify *in, *out;
	int *shared;
	int failures;
};

static void *pong_main(void *arg)
{
	struct pong *p = arg;
	struct ak_notified_op op;

	memset(&op, 0, sizeof(op));
	for (int i = 0; i < HOPS; i++) {
		if (ak_notified_blocking(&op, p->in, AK_DEADLINE_NEVER) != 0)
			p->failures++;
		(*p->shared)++;                 /* ordered by the notifications */
		ak_notify_one(p->out);
	}
	return NULL;
}

START_TEST(two_threads_ping_pong_without_losing_a_wake_up)
{
	struct ak_notify *a = new_notify(), *b = new_notify();
	struct pong p = { .in = a, .out = b };
	struct ak_notified_op op;
	int shared = 0, failures = 0;

	p.shared = &shared;
	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(pthread_create(&p.th, NULL, pong_main, &p), 0);
	for (int i = 0; i < HOPS; i++) {
		shared++;
		ak_notify_one(a);
		if (ak_notified_blocking(&op, b, AK_DEADLINE_NEVER) != 0)
			failures++;
	}
	pthread_join(p.th, NULL);
	ck_assert_int_eq(failures + p.failures, 0);
	ck_assert_int_eq(shared, 2 * HOPS);
	ck_assert_int_eq(ak_notify_free(a), 0);
	ck_assert_int_eq(ak_notify_free(b), 0);
}
END_TEST

/*
 * ak_notify_waiters is atomic with respect to a later ak_notify_one (issue
 * 11): with 33 waiters the wakes go out in two batches, the wakers are slow
 * (100 us), and the first wake calls ak_notify_one between the batches.
 * It must be stored, not spent on a waiter notify_waiters completes anyway.
 */
static struct ak_notify *hook_notify;
static atomic_int hook_wakes;

static void notify_one_at_first_wake(struct tk_counting_waker *cw)
{
	(void)cw;
	if (atomic_fetch_add(&hook_wakes, 1) == 0)
		ak_notify_one(hook_notify);
	tk_sleep_ns(100000);
}

START_TEST(a_notify_one_between_the_wake_batches_of_notify_waiters_is_stored)
{
	enum { N = 33 };
	static struct ak_notified_op op[N];
	struct ak_notified_op later;
	struct tk_task *t = tk_task_new(), *tl = tk_task_new();

	hook_notify = new_notify();
	atomic_store(&hook_wakes, 0);
	for (int i = 0; i < N; i++) {
		init_op(&op[i], hook_notify);
		ck_assert_int_eq(tk_poll(t, &op[i].future), AK_PENDING);
	}
	t->cw->hook = notify_one_at_first_wake;
	ck_assert_int_eq(ak_notify_waiters(hook_notify), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(tk_poll(t, &op[i].future), 0);
	init_op(&later, hook_notify);
	ck_assert_msg(tk_poll(tl, &later.future) == 0,
	              "the notify_one made between the batches was lost");
	ck_assert_int_eq(ak_notify_free(hook_notify), 0);
}
END_TEST

/* ak_notify(3), ERRORS: ak_notified_init on a pending operation is
 * AK_EBUSY and changes nothing; the operation still waits its turn. */
START_TEST(rebinding_a_pending_operation_is_ebusy_and_changes_nothing)
{
	struct ak_notify *n = new_notify(), *other = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, t), AK_PENDING);
	ck_assert_int_eq(ak_notified_init(&a, other), AK_EBUSY);
	ck_assert_int_eq(ak_notify_one(other), 0);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(tk_poll_woken(t, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
	ck_assert_int_eq(ak_notify_free(other), 0);
}
END_TEST

/* A completed operation polls AK_EINVAL; cancelling it, even twice, gives
 * back nothing it did not hold: a later permit stays stored. */
START_TEST(a_completed_operation_polls_einval_and_cancels_as_a_noop)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(poll_new_op(&a, n, t), 0);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_EINVAL);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ak_future_cancel(&a.future);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_new_op(&b, n, t), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(bad_inputs_are_einval)
{
	struct ak_notified_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_notify_new(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notify_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notify_one(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notify_waiters(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notified_init(NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notified_init(&op, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notified_blocking(&op, NULL, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_uint_eq(ak_op_size(AK_OP_NOTIFIED), sizeof(struct ak_notified_op));
}
END_TEST

START_TEST(notify_last_wakes_the_newest_waiter_only)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, ta), AK_PENDING);
	ck_assert_int_eq(poll_new_op(&b, n, tb), AK_PENDING);
	ck_assert_int_eq(ak_notify_last(n), 0);
	ck_assert(!tk_task_take_woken(ta));
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(ak_notify_last(n), 0);
	ck_assert_int_eq(tk_poll_woken(ta, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

/* As tokio's Notified::drop, which passes a Notification::One(strategy)
 * on with its own strategy (found by the fuzzer, fuzz/corpus/regress-*). */
START_TEST(notify_last_passed_on_by_cancel_goes_to_the_newest_waiter)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b, c;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new(), *tc = tk_task_new();

	ck_assert_int_eq(poll_new_op(&a, n, ta), AK_PENDING);
	ck_assert_int_eq(poll_new_op(&b, n, tb), AK_PENDING);
	ck_assert_int_eq(poll_new_op(&c, n, tc), AK_PENDING);
	ck_assert_int_eq(ak_notify_last(n), 0);
	ck_assert(tk_task_take_woken(tc));
	ak_future_cancel(&c.future);
	ck_assert(!tk_task_take_woken(ta));
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(notify_last_without_waiters_stores_the_permit)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_notify_last(n), 0);
	ck_assert_int_eq(poll_new_op(&a, n, t), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(enable_consumes_a_stored_permit_and_the_next_poll_completes)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_notify_one(n), 0);
	init_op(&a, n);
	ck_assert_int_eq(ak_notified_enable(&a), 1);
	ck_assert_int_eq(poll_new_op(&b, n, t), AK_PENDING);   /* the permit is a's */
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(enable_registers_so_a_notify_one_reaches_the_op_in_its_place)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	init_op(&a, n);
	ck_assert_int_eq(ak_notified_enable(&a), 0);
	ck_assert_int_eq(ak_notified_enable(&a), 0);            /* still queued */
	ck_assert_int_eq(poll_new_op(&b, n, tb), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);                  /* a is older */
	ck_assert(!tk_task_take_woken(tb));
	ck_assert_int_eq(ak_notified_enable(&a), 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), 0);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(an_enabled_op_polled_later_parks_with_its_waker_and_is_woken)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	init_op(&a, n);
	ck_assert_int_eq(ak_notified_enable(&a), 0);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_PENDING);
	ck_assert_int_eq(ak_notify_one(n), 0);
	ck_assert_int_eq(tk_poll_woken(t, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(enable_after_notify_waiters_since_the_bind_returns_1)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a;
	struct tk_task *t = tk_task_new();

	init_op(&a, n);
	ck_assert_int_eq(ak_notify_waiters(n), 0);
	ck_assert_int_eq(ak_notified_enable(&a), 1);
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(a_cancelled_enabled_op_passes_its_permit_on_and_free_waits_for_it)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_notify_one(n), 0);
	init_op(&a, n);
	ck_assert_int_eq(ak_notified_enable(&a), 1);
	ck_assert_int_eq(ak_notify_free(n), AK_EBUSY);
	ck_assert_int_eq(ak_notified_init(&a, n), AK_EBUSY);   /* must not move */
	ak_future_cancel(&a.future);
	ck_assert_int_eq(poll_new_op(&b, n, t), 0);              /* stored again */
	ck_assert_int_eq(ak_notified_enable(&b), AK_EINVAL);     /* finished */
	ck_assert_int_eq(ak_notified_enable(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notify_last(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

/*
 * A notification made while a poll clones its waker (after the poll's
 * lockless look at the notify, before it takes the lock) is seen by its
 * look under the lock: the poll completes instead of parking.  The
 * waker's first clone makes the call, so the window is hit every time.
 */
struct notifying_waker {
	struct ak_notify *n;
	int (*call)(struct ak_notify *);
	int calls;
	long live;              /* clones not yet dropped or woken */
	int fail;               /* the clone fails after its call */
};

static const struct ak_waker_vtable notifying_vtable;

static struct notifying_waker *nw_of(const void *data)
{
	return (struct notifying_waker *)(uintptr_t)data;
}

static struct ak_waker nw_clone(const void *data)
{
	struct notifying_waker *nw = nw_of(data);
	if (nw->calls++ == 0)
		ck_assert_int_eq(nw->call(nw->n), 0);
	if (nw->fail)
		return (struct ak_waker){ NULL, NULL };
	nw->live++;
	return (struct ak_waker){ data, &notifying_vtable };
}

static void nw_release(const void *data)
{
	nw_of(data)->live--;
}

static void nw_wake_by_ref(const void *data)
{
	(void)data;
}

static const struct ak_waker_vtable notifying_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	nw_clone, nw_release, nw_wake_by_ref, nw_release,
};

/* Polls a fresh op on n once with a waker whose first clone calls call;
 * *live: the clones the library kept. */
static int poll_while_cloning(struct ak_notified_op *op, struct ak_notify *n,
                              int (*call)(struct ak_notify *), long *live)
{
	struct notifying_waker nw = { n, call, 0, 0, 0 };
	struct ak_context cx;

	init_op(op, n);
	ck_assert_int_eq(ak_context_init(&cx, (struct ak_waker){ &nw, &notifying_vtable }, NULL), 0);
	int rc = ak_context_done(&cx, ak_future_poll(&op->future, &cx));
	ck_assert_int_eq(nw.calls, 1);
	*live = nw.live;
	return rc;
}

START_TEST(a_permit_stored_while_a_poll_clones_its_waker_completes_that_poll)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();
	long live;

	ck_assert_int_eq(poll_while_cloning(&a, n, ak_notify_one, &live), 0);
	ck_assert_int_eq(live, 0);      /* nothing parked */
	/* It consumed the permit: the next op waits. */
	ck_assert_int_eq(poll_new_op(&b, n, t), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

START_TEST(a_notify_waiters_while_a_poll_clones_its_waker_completes_that_poll)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();
	long live;

	ck_assert_int_eq(poll_while_cloning(&a, n, ak_notify_waiters, &live), 0);
	ck_assert_int_eq(live, 0);      /* nothing parked */
	/* notify_waiters stored nothing: the next op waits. */
	ck_assert_int_eq(poll_new_op(&b, n, t), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

/* The same, the clone failing after its call: the poll fails with
 * AK_ENOMEM and its wait is cancelled, so the notify_one it received
 * meanwhile is passed on (stored: nobody else waits). */
START_TEST(a_notify_one_received_while_a_failing_clone_runs_is_passed_on)
{
	struct ak_notify *n = new_notify();
	struct ak_notified_op a, b;
	struct tk_task *t = tk_task_new();
	struct notifying_waker nw = { n, ak_notify_one, 0, 0, 1 };
	struct ak_context cx;

	init_op(&a, n);
	ck_assert_int_eq(ak_context_init(&cx, (struct ak_waker){ &nw, &notifying_vtable }, NULL), 0);
	ck_assert_int_eq(ak_context_done(&cx, ak_future_poll(&a.future, &cx)), AK_ENOMEM);
	ck_assert_int_eq(nw.calls, 1);
	ck_assert_int_eq(nw.live, 0);
	ck_assert_int_eq(poll_new_op(&b, n, t), 0);
	ck_assert_int_eq(ak_notify_free(n), 0);
}
END_TEST

Suite *notify_public_suite(void)
{
	Suite *s = suite_create("notify_public");
	TCase *tc = tk_tcase("notify_public");

	tcase_add_test(tc, notify_one_without_waiters_stores_a_single_permit);
	tcase_add_test(tc, notify_one_wakes_the_oldest_waiter_only);
	tcase_add_test(tc, notified_parked_while_alone_is_woken_by_a_thread_started_after);
	tcase_add_test(tc, notify_last_wakes_the_newest_waiter_only);
	tcase_add_test(tc, notify_last_without_waiters_stores_the_permit);
	tcase_add_test(tc, notify_last_passed_on_by_cancel_goes_to_the_newest_waiter);
	tcase_add_test(tc, enable_consumes_a_stored_permit_and_the_next_poll_completes);
	tcase_add_test(tc, enable_registers_so_a_notify_one_reaches_the_op_in_its_place);
	tcase_add_test(tc, an_enabled_op_polled_later_parks_with_its_waker_and_is_woken);
	tcase_add_test(tc, enable_after_notify_waiters_since_the_bind_returns_1);
	tcase_add_test(tc, a_cancelled_enabled_op_passes_its_permit_on_and_free_waits_for_it);
	tcase_add_test(tc, notify_waiters_stores_no_permit);
	tcase_add_test(tc, notify_waiters_reaches_waiting_and_initialised_but_unpolled_ops);
	tcase_add_test(tc, a_cancelled_notified_passes_a_received_notify_one_on);
	tcase_add_test(tc, a_cancelled_notified_with_nobody_behind_stores_its_notification);
	tcase_add_test(tc, free_with_waiters_is_ebusy);
	tcase_add_test(tc, free_while_a_notified_is_granted_but_not_yet_polled_is_ebusy);
	tcase_add_test(tc, free_after_a_granted_notified_was_polled_succeeds);
	tcase_add_test(tc, blocking_wait_times_out_then_takes_a_stored_permit);
	tcase_add_test(tc, two_threads_ping_pong_without_losing_a_wake_up);
	tcase_add_test(tc, bad_inputs_are_einval);
	tcase_add_test(tc, a_notify_one_between_the_wake_batches_of_notify_waiters_is_stored);
	tcase_add_test(tc, rebinding_a_pending_operation_is_ebusy_and_changes_nothing);
	tcase_add_test(tc, a_completed_operation_polls_einval_and_cancels_as_a_noop);
	tcase_add_test(tc, a_permit_stored_while_a_poll_clones_its_waker_completes_that_poll);
	tcase_add_test(tc, a_notify_waiters_while_a_poll_clones_its_waker_completes_that_poll);
	tcase_add_test(tc, a_notify_one_received_while_a_failing_clone_runs_is_passed_on);
	suite_add_tcase(s, tc);
	return s;
}
