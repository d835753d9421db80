/*
 * The notify core (core/notify.h): one stored permit, FIFO notify_one,
 * notify_waiters reaching operations initialised but not yet polled and
 * storing nothing, cancel passing a received notify_one on.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "notify.h"
#include "testkit.h"

Suite *notify_suite(void);

struct nop {
	struct ak_future future;
	struct ak__notified o;
};

static int nop_poll(struct ak_future *f, struct ak_context *cx)
{
	return ak__notified_poll(&((struct nop *)f)->o, cx);
}

static void nop_cancel(struct ak_future *f)
{
	ak__notified_cancel(&((struct nop *)f)->o);
}

static const struct ak_future_vtable nop_vtable = { nop_poll, nop_cancel };

static void nop_init(struct nop *op, struct ak__notify *n)
{
	memset(op, 0, sizeof(*op));
	ak_future_init(&op->future, &nop_vtable);
	ak__notified_init(&op->o, n);
}

START_TEST(notify_one_without_waiters_stores_exactly_one_permit)
{
	struct ak__notify n;
	struct nop a, b;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	ak__notify_one(&n);
	ak__notify_one(&n);
	nop_init(&a, &n);
	nop_init(&b, &n);
	ck_assert_int_eq(tk_poll(t, &a.future), 0);
	ck_assert_int_eq(tk_poll(t, &b.future), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_one_wakes_the_oldest_waiter)
{
	struct ak__notify n;
	struct nop op[3];
	struct tk_task *t[3];

	ak__notify_init(&n);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		nop_init(&op[i], &n);
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
	struct nop op[3], later;
	struct tk_task *t[3], *tl = tk_task_new();

	ak__notify_init(&n);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		nop_init(&op[i], &n);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ak__notify_waiters(&n);
	for (int i = 0; i < 3; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	nop_init(&later, &n);
	ck_assert_int_eq(tk_poll(tl, &later.future), AK_PENDING);
	ak_future_cancel(&later.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_waiters_reaches_an_initialised_but_unpolled_operation)
{
	struct ak__notify n;
	struct nop before, after;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	nop_init(&before, &n);
	ak__notify_waiters(&n);
	nop_init(&after, &n);
	ck_assert_int_eq(tk_poll(t, &before.future), 0);
	ck_assert_int_eq(tk_poll(t, &after.future), AK_PENDING);
	ak_future_cancel(&after.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_passes_a_received_notify_one_on)
{
	struct ak__notify n;
	struct nop a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
	nop_init(&b, &n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak__notify_one(&n);
	ck_assert(tk_task_take_woken(ta));
	ak_future_cancel(&a.future);             /* received, never consumed */
	ck_assert(tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_with_no_one_left_stores_the_received_notify_one)
{
	struct ak__notify n;
	struct nop a, later;
	struct tk_task *ta = tk_task_new(), *tl = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ak__notify_one(&n);
	ak_future_cancel(&a.future);
	nop_init(&later, &n);
	ck_assert_int_eq(tk_poll(tl, &later.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_after_notify_waiters_passes_nothing_on)
{
	struct ak__notify n;
	struct nop a, later;
	struct tk_task *ta = tk_task_new(), *tl = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ak__notify_waiters(&n);
	ak_future_cancel(&a.future);
	nop_init(&later, &n);
	ck_assert_int_eq(tk_poll(tl, &later.future), AK_PENDING);
	ak_future_cancel(&later.future);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(cancel_of_a_waiting_operation_stores_nothing)
{
	struct ak__notify n;
	struct nop a, later;
	struct tk_task *ta = tk_task_new(), *tl = tk_task_new();
	int64_t parked = tk_counters().parked_ops;

	ak__notify_init(&n);
	nop_init(&a, &n);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_counters().parked_ops, parked + 1);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(tk_counters().parked_ops, parked);
	ak__notify_one(&n);                      /* stored: nobody waits */
	ck_assert(!tk_task_take_woken(ta));
	nop_init(&later, &n);
	ck_assert_int_eq(tk_poll(tl, &later.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(repoll_with_the_same_waker_does_not_clone)
{
	struct ak__notify n;
	struct nop a;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
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
	struct nop a, later;
	struct tk_task *t = tk_task_new(), *tl = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_ENOMEM);
	ak__notify_one(&n);                      /* nobody waits: stored */
	nop_init(&later, &n);
	ck_assert_int_eq(tk_poll(tl, &later.future), 0);
	ck_assert_int_eq(ak__notify_destroy(&n), 0);
}
END_TEST

START_TEST(notify_waiters_wakes_more_waiters_than_one_wake_list)
{
	enum { N = AK__WAKELIST_CAP + 20 };
	static struct nop op[N];
	static struct tk_task *t[N];
	struct ak__notify n;

	ak__notify_init(&n);
	for (int i = 0; i < N; i++) {
		t[i] = tk_task_new();
		nop_init(&op[i], &n);
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
	struct nop a;
	struct tk_task *t = tk_task_new();

	ak__notify_init(&n);
	nop_init(&a, &n);
	ck_assert_int_eq(tk_poll(t, &a.future), AK_PENDING);
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
	struct nop op;
	nop_init(&op, n);
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
 * Regression (the twin of the semaphore core's): a queued notified() read
 * its state twice at the top of a poll; a notify_one landing between the
 * reads made it take the fast path and consume a stored permit as well,
 * orphaning the notification it had been granted.  Here a thread re-polls a
 * queued op while another calls notify_one twice: one notification for the
 * op, one stored, which a fresh op must still find.
 */
enum { RACE_ROUNDS = 50000 };
static struct ak__notify race_n;
static atomic_int race_turn;

static void *race_notifier(void *arg)
{
	(void)arg;
	for (int i = 1; i <= RACE_ROUNDS; i++) {
		int turn;
		while ((turn = atomic_load(&race_turn)) != i && turn <= RACE_ROUNDS)
			;
		if (turn > RACE_ROUNDS)
			break;
		for (volatile int spin = (i * 7) % 64; spin > 0; spin--)
			;
		ak__notify_one(&race_n);
		ak__notify_one(&race_n);
		atomic_store(&race_turn, -i);           /* this round is served */
	}
	return NULL;
}

static int poll_noop(struct ak__notified *o)
{
	struct ak_context cx;
	ak_context_init(&cx, ak_waker_noop(), NULL);
	return ak_context_done(&cx, ak__notified_poll(o, &cx));
}

START_TEST(a_notify_during_a_repoll_never_also_takes_the_stored_permit)
{
	pthread_t th;
	int lost = 0, errors = 0;

	ak__notify_init(&race_n);
	atomic_store(&race_turn, 0);
	pthread_create(&th, NULL, race_notifier, NULL);
	for (int i = 1; i <= RACE_ROUNDS; i++) {
		struct ak__notified o, fresh;
		int rc;

		ak__notified_init(&o, &race_n);
		if (poll_noop(&o) != AK_PENDING)
			errors++;
		atomic_store(&race_turn, i);
		while ((rc = poll_noop(&o)) == AK_PENDING)
			;
		if (rc != 0)
			errors++;
		while (atomic_load(&race_turn) != -i)
			;
		ak__notified_init(&fresh, &race_n);
		rc = poll_noop(&fresh);
		if (rc != 0) {
			lost++;
			ak__notified_cancel(&fresh);
			break;
		}
	}
	atomic_store(&race_turn, RACE_ROUNDS + 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(errors, 0);
	ck_assert_msg(lost == 0, "a notification was lost: the fast path took the stored permit too");
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
	tcase_add_test(tc, repoll_with_the_same_waker_does_not_clone);
	tcase_add_test(tc, clone_failure_returns_enomem_and_registers_nothing);
	tcase_add_test(tc, notify_waiters_wakes_more_waiters_than_one_wake_list);
	tcase_add_test(tc, destroy_with_waiters_is_ebusy);
	tcase_add_test(tc, notify_orders_the_notifier_before_the_notified);
	tcase_add_test(tc, a_notify_during_a_repoll_never_also_takes_the_stored_permit);
	suite_add_tcase(s, tc);
	return s;
}
