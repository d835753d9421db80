/*
 * The watch channel (chan/watch.c): versions, changed() and its
 * cancel-safety, borrows that outlive sends and travel between threads,
 * drop hooks, closing from either side, readers racing a writer.
 *
 * Every test ends with ak__watch_quiesce() (a no-op since slots are
 * reclaimed synchronously), and the fixture counts live allocations.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "testkit.h"

Suite *watch_suite(void);
void ak__watch_quiesce(void);
void ak__alloc_fail_after(long n);

/* ---- values with hooks: a count of live values, the last dropper --------- */

struct vals {
	atomic_long live;           /* values created (sent in or cloned) minus dropped */
	atomic_long drops;
	atomic_ullong last_dropped;
	atomic_ulong drop_thread;   /* pthread_self() of the last dropper */
};

static int val_clone(void *dst, const void *src, void *arg)
{
	struct vals *v = arg;
	memcpy(dst, src, sizeof(uint64_t));
	atomic_fetch_add(&v->live, 1);
	return 0;
}

static void val_drop(void *value, void *arg)
{
	struct vals *v = arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	atomic_store(&v->drop_thread, (unsigned long)pthread_self());
	atomic_store(&v->last_dropped, n);
	atomic_fetch_add(&v->drops, 1);
	atomic_fetch_sub(&v->live, 1);
}

/* A clone hook alone: a plain copy, but the channel keeps its values in
 * slots (ak_watch(3): the slot mode). */
static int plain_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, sizeof(uint64_t));
	return 0;
}

/* A value handed to the channel: counted live until its drop. */
static uint64_t val_make(struct vals *v, uint64_t n)
{
	atomic_fetch_add(&v->live, 1);
	return n;
}

static uint64_t ref_u64(const struct ak_watch_ref *r)
{
	uint64_t n;
	memcpy(&n, r->value, sizeof n);
	return n;
}

static void end_test(void)
{
	ak__watch_quiesce();
}

static void new_u64(uint64_t init, struct ak_watch_sender **tx, struct ak_watch_receiver **rx)
{
	ck_assert_int_eq(ak_watch_new(sizeof(uint64_t), &init, NULL, tx, rx), 0);
}

/* ---- tests ------------------------------------------------------------------ */

/* Binds op to rx and polls it once in task t: how each test starts a
 * changed(). */
static int poll_new_changed(struct ak_watch_changed_op *op, struct ak_watch_receiver *rx,
                            struct tk_task *t)
{
	ck_assert_int_eq(ak_watch_changed_init(op, rx), 0);
	return tk_poll(t, &op->future);
}

START_TEST(changed_resolves_after_send_and_not_after_mark_unchanged)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);

	v = 2;
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_mark_unchanged(rx), 0);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ak_future_cancel(&op.future);

	ck_assert_int_eq(ak_watch_mark_changed(rx), 0);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(borrow_and_update_clears_has_changed)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	uint64_t v = 7;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_has_changed(rx), 1);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);          /* does not mark */
	ck_assert(r.has_changed);
	ak_watch_ref_release(&r);
	ck_assert_int_eq(ak_watch_has_changed(rx), 1);
	ck_assert_int_eq(ak_watch_borrow_and_update(rx, &r), 0);
	ck_assert(r.has_changed);
	ck_assert_uint_eq(ref_u64(&r), 7);
	ck_assert_uint_eq(r.version, 1);
	ak_watch_ref_release(&r);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

struct pred_arg {
	uint64_t min;
	atomic_int calls;
};

static int at_least(const void *value, void *arg)
{
	struct pred_arg *pa = arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	atomic_fetch_add(&pa->calls, 1);
	return n >= pa->min;
}

START_TEST(wait_for_returns_at_once_when_the_predicate_already_holds)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_wait_for_op op = { 0 };
	struct ak_watch_ref r;
	struct pred_arg pa = { 5, 0 };
	struct tk_task *t = tk_task_new();

	new_u64(9, &tx, &rx);      /* version 0, already seen */
	ck_assert_int_eq(ak_watch_wait_for_init(&op, rx, at_least, &pa, &r), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(ref_u64(&r), 9);
	ck_assert_int_eq(atomic_load(&pa.calls), 1);
	ak_watch_ref_release(&r);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(wait_for_waits_for_a_value_the_predicate_accepts)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_wait_for_op op = { 0 };
	struct ak_watch_ref r;
	struct pred_arg pa = { 3, 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_wait_for_init(&op, rx, at_least, &pa, &r), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	for (v = 1; v <= 4; v++)
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_uint_eq(ref_u64(&r), 4);
	ck_assert_int_eq(atomic_load(&pa.calls), 2);     /* 0, then 4: no version twice */
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);   /* marked seen */
	ak_watch_ref_release(&r);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(wait_for_fails_when_closed_and_the_last_value_is_refused)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_wait_for_op op = { 0 };
	struct ak_watch_ref r;
	struct pred_arg pa = { 100, 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_wait_for_init(&op, rx, at_least, &pa, &r), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&pa.calls), 2);
	ak_watch_receiver_drop(rx);
	end_test();
}
END_TEST

START_TEST(borrow_held_across_many_sends_stays_stable_and_is_dropped_after_release)
{
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 1000);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	for (uint64_t i = 1; i <= 1000; i++) {
		v = val_make(&vs, i);
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);    /* never waits */
		ck_assert_uint_eq(ref_u64(&r), 1000);
		ck_assert_uint_eq(r.version, 0);
	}
	/* Every replaced value but the borrowed one was dropped. */
	ck_assert_int_eq(atomic_load(&vs.drops), 999);
	ck_assert_int_eq(atomic_load(&vs.live), 2);
	ak_watch_ref_release(&r);
	ck_assert_int_eq(atomic_load(&vs.drops), 1000);
	ck_assert_uint_eq(atomic_load(&vs.last_dropped), 1000);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

struct releaser {
	struct ak_watch_ref *ref;
	pthread_t self;
	int rc;
};

static void *release_thread(void *arg)
{
	struct releaser *rl = arg;
	rl->self = pthread_self();
	rl->rc = ak_watch_ref_release(rl->ref);
	return NULL;
}

START_TEST(a_borrow_released_on_another_thread_runs_the_drop_there)
{
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	struct releaser rl = { &r, 0, -1 };
	pthread_t th;
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 1);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	v = val_make(&vs, 2);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(atomic_load(&vs.drops), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, release_thread, &rl), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(rl.rc, 0);
	ck_assert_int_eq(atomic_load(&vs.drops), 1);
	ck_assert_uint_eq(atomic_load(&vs.last_dropped), 1);
	ck_assert(pthread_equal((pthread_t)atomic_load(&vs.drop_thread), rl.self));
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

START_TEST(sender_drop_wakes_every_waiting_receiver_after_its_last_value)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx[4];
	struct ak_watch_changed_op op[4];
	memset(op, 0, sizeof op);
	struct tk_task *t[4];
	uint64_t v = 5;

	new_u64(0, &tx, &rx[0]);
	for (int i = 1; i < 4; i++)
		ck_assert_int_eq(ak_watch_receiver_clone(rx[0], &rx[i]), 0);
	for (int i = 0; i < 4; i++) {
		t[i] = tk_task_new();
		ck_assert_int_eq(ak_watch_changed_init(&op[i], rx[i]), 0);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ak_watch_sender_drop(tx);
	for (int i = 0; i < 4; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);   /* the last value */
		ck_assert_int_eq(ak_watch_changed_init(&op[i], rx[i]), 0);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_EPIPE);
		ck_assert_int_eq(ak_watch_has_changed(rx[i]), AK_EPIPE);
		ak_watch_receiver_drop(rx[i]);
	}
	end_test();
}
END_TEST

START_TEST(sender_drop_wakes_a_receiver_that_saw_everything_with_epipe)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ak_watch_receiver_drop(rx);
	end_test();
}
END_TEST

START_TEST(several_sends_between_polls_give_one_changed)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct ak_watch_ref r;
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	for (uint64_t v = 1; v <= 10; v++)
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 10);
	ck_assert_uint_eq(r.version, 10);
	ck_assert(!r.has_changed);
	ak_watch_ref_release(&r);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ak_future_cancel(&op.future);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(cancel_of_a_woken_changed_marks_nothing_seen)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert(tk_task_take_woken(t));
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_watch_has_changed(rx), 1);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(send_without_receivers_fails_and_leaves_the_value_with_the_caller)
{
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 1);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ak_watch_receiver_drop(rx);
	ck_assert_uint_eq(ak_watch_receiver_count(tx), 0);
	v = 2;
	ck_assert_int_eq(ak_watch_send(tx, &v), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&vs.drops), 0);
	ck_assert_int_eq(ak_watch_sender_borrow(tx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 1);
	ak_watch_ref_release(&r);
	/* send_replace stores anyway, and hands the old value back (a clone). */
	v = val_make(&vs, 3);
	uint64_t old = 0;
	ck_assert_int_eq(ak_watch_send_replace(tx, &v, &old), 0);
	ck_assert_uint_eq(old, 1);
	ck_assert_int_eq(atomic_load(&vs.drops), 1);
	atomic_fetch_sub(&vs.live, 1);              /* the caller's clone */
	ck_assert_int_eq(ak_watch_subscribe(tx, &rx), 0);
	ck_assert_uint_eq(ak_watch_receiver_count(tx), 1);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);      /* current counts as seen */
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

static void add_ten(void *value, void *arg)
{
	(void)arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	n += 10;
	memcpy(value, &n, sizeof n);
}

static int modify_if_even(void *value, void *arg)
{
	(void)arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	if (n % 2)
		return 0;
	n++;
	memcpy(value, &n, sizeof n);
	return 1;
}

START_TEST(send_modify_publishes_a_modified_clone_and_send_if_modified_may_not)
{
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref held, r;
	int modified = -1;
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 2);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &held), 0);
	ck_assert_int_eq(ak_watch_send_modify(tx, add_ten, NULL), 0);
	ck_assert_uint_eq(ref_u64(&held), 2);                /* immutable */
	ck_assert_int_eq(ak_watch_borrow_and_update(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 12);
	ck_assert_uint_eq(r.version, 1);
	ak_watch_ref_release(&r);
	ck_assert_int_eq(ak_watch_send_if_modified(tx, modify_if_even, NULL, &modified), 0);
	ck_assert_int_eq(modified, 1);
	ck_assert_int_eq(ak_watch_has_changed(rx), 1);
	ck_assert_int_eq(ak_watch_mark_unchanged(rx), 0);
	ck_assert_int_eq(ak_watch_send_if_modified(tx, modify_if_even, NULL, &modified), 0);
	ck_assert_int_eq(modified, 0);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);       /* nothing published */
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 13);
	ak_watch_ref_release(&r);
	ak_watch_ref_release(&held);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

START_TEST(closed_resolves_when_the_last_receiver_drops)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx, *rx2;
	struct ak_watch_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &rx2), 0);
	ck_assert_int_eq(ak_watch_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_watch_receiver_drop(rx);
	ck_assert(!tk_task_take_woken(t));
	ak_watch_receiver_drop(rx2);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_watch_closed_blocking(tx, AK_DEADLINE_NEVER), 0);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(a_parked_closed_op_outlives_the_sender_handle)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_watch_sender_drop(tx);
	ak_watch_receiver_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);        /* frees the channel */
	end_test();
}
END_TEST

/* ak_watch(3): "completes with 0 when no receiver is left (at once if
 * none is)"; a subscribe reopens the channel. */
START_TEST(closed_completes_at_once_without_a_receiver_and_waits_again_after_a_subscribe)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_closed_op op = { 0 }, again = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx, NULL), 0);
	ck_assert_int_eq(ak_watch_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_watch_subscribe(tx, &rx), 0);
	ck_assert_int_eq(ak_watch_closed_init(&again, tx), 0);
	ck_assert_int_eq(tk_poll(t, &again.future), AK_PENDING);
	ak_watch_receiver_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &again.future), 0);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

/* As mpsc's closed() (tests/check_mpsc.c): a poll with the budget spent
 * yields (woken at once) even though the channel is closed, and the next
 * completes. */
START_TEST(closed_with_a_spent_budget_yields_and_then_completes)
{
	struct ak_watch_sender *tx;
	struct ak_watch_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx, NULL), 0);
	ck_assert_int_eq(ak_watch_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

/* ak_watch(3): "closed is cancel-safe: it takes nothing".  A cancelled
 * parked closed() gives its channel reference back (the fixture checks
 * the channel is freed) and does not stop another from completing. */
START_TEST(a_cancelled_closed_op_takes_nothing)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_closed_op a = { 0 }, b = { 0 };
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_closed_init(&a, tx), 0);
	ck_assert_int_eq(ak_watch_closed_init(&b, tx), 0);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ak_future_cancel(&a.future);
	ak_watch_receiver_drop(rx);
	ck_assert(!tk_task_take_woken(ta));
	ck_assert_int_eq(tk_poll_woken(tb, &b.future), 0);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(blocking_changed_times_out_and_then_sees_a_send)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	uint64_t v = 3;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_changed_blocking(rx, ak_deadline_in(2000000)), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_changed_blocking(rx, ak_deadline_in(2000000)), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

static int never(const void *value, void *arg)
{
	(void)value;
	(void)arg;
	return 0;
}

static void noop_modify(void *value, void *arg)
{
	(void)value;
	(void)arg;
}

/* ---- lifetimes: a parked operation keeps its receiver (awaitkit(7)) ----------- */

START_TEST(dropping_every_handle_under_a_parked_changed_then_polling_it_is_epipe)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);    /* wakes it: closed */
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE); /* frees the channel */
	ak_future_cancel(&op.future);                        /* done: a no-op */
	end_test();
}
END_TEST

START_TEST(dropping_the_receiver_under_a_parked_changed_then_a_send_is_epipe)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx, *other;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 7;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &other), 0);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_uint_eq(ak_watch_receiver_count(tx), 1);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert(tk_task_take_woken(t));
	/* Its receiver is gone: nothing to mark seen. */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(ak_watch_has_changed(other), 1);
	ak_watch_receiver_drop(other);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(cancelling_a_changed_after_every_handle_went_frees_the_channel)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ak_future_cancel(&op.future);           /* the last reference */
	ak_future_cancel(&op.future);           /* idempotent */
	end_test();
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_wait_for_is_safe)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_wait_for_op op = { 0 }, op2 = { 0 };
	struct ak_watch_ref r;
	struct tk_task *t = tk_task_new();

	memset(&r, 0, sizeof r);
	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_wait_for_init(&op, rx, never, NULL, &r), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ck_assert_ptr_null(r.block_);                       /* no borrow made */

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(ak_watch_wait_for_init(&op2, rx, never, NULL, &r), 0);
	ck_assert_int_eq(tk_poll(t, &op2.future), AK_PENDING);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ak_future_cancel(&op2.future);                      /* frees the channel */
	end_test();
}
END_TEST

START_TEST(dropping_the_handles_after_a_changed_completed_leaves_nothing_held)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1;

	new_u64(0, &tx, &rx);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);   /* frees: the op holds nothing */
	ak_future_cancel(&op.future);                    /* done: a no-op */
	end_test();
}
END_TEST

START_TEST(releasing_a_borrow_twice_or_never_made_is_einval_and_changes_nothing)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r, zero;
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	memset(&zero, 0, sizeof zero);
	v = val_make(&vs, 1);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_ref_release(&zero), AK_EINVAL);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	v = val_make(&vs, 2);
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);      /* 1 lives on in the borrow */
	ck_assert_int_eq(atomic_load(&vs.drops), 0);
	ck_assert_int_eq(ak_watch_ref_release(&r), 0);   /* drops 1 */
	ck_assert_int_eq(atomic_load(&vs.drops), 1);
	ck_assert_int_eq(ak_watch_ref_release(&r), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&vs.drops), 1);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);    /* the current one is intact */
	ck_assert_uint_eq(ref_u64(&r), 2);
	ck_assert_int_eq(ak_watch_ref_release(&r), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

START_TEST(bad_inputs_return_einval_and_change_nothing)
{
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL;
	struct ak_watch_hooks drop_only = { NULL, val_drop, NULL };
	struct ak_watch_changed_op cop = { 0 };
	struct ak_watch_wait_for_op wop = { 0 };
	struct ak_watch_closed_op clop = { 0 };
	struct ak_watch_ref r;
	uint64_t v = 0;
	int64_t allocs = tk_counters().allocations;

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ak_watch_new(8, &v, NULL, NULL, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_watch_new(8, NULL, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_watch_new(SIZE_MAX - 8, &v, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_watch_new(8, &v, &drop_only, &tx, &rx), AK_EINVAL);
	ck_assert_ptr_null(tx);
	ck_assert_ptr_null(rx);
	ck_assert_int_eq(tk_counters().allocations, allocs);

	ck_assert_int_eq(ak_watch_send(NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_watch_send_replace(NULL, &v, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_send_modify(NULL, noop_modify, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_borrow(NULL, &r), AK_EINVAL);
	ck_assert_int_eq(ak_watch_ref_release(&r), AK_EINVAL);   /* never borrowed */
	ck_assert_int_eq(ak_watch_ref_release(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_has_changed(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_changed_init(&cop, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_closed_init(&clop, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_sender_drop(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_receiver_drop(NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_watch_receiver_count(NULL), 0);

	new_u64(4, &tx, &rx);
	ck_assert_int_eq(ak_watch_send(tx, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_send_modify(tx, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_send_if_modified(tx, NULL, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_wait_for_init(&wop, rx, NULL, NULL, &r), AK_EINVAL);
	ck_assert_int_eq(ak_watch_wait_for_init(&wop, rx, never, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_wait_for_blocking(rx, NULL, NULL, &r, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);           /* nothing published */
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 4);
	ck_assert_uint_eq(r.version, 0);
	ck_assert_int_eq(ak_watch_ref_release(&r), 0);
	ck_assert_int_eq(ak_watch_ref_release(&r), AK_EINVAL);  /* twice */
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(op_sizes_are_reported)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_WATCH_CHANGED), sizeof(struct ak_watch_changed_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_WATCH_WAIT_FOR), sizeof(struct ak_watch_wait_for_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_WATCH_CLOSED), sizeof(struct ak_watch_closed_op));
}
END_TEST

/* A clone hook puts the channel in the slot mode, whose sends allocate
 * while the channel has fewer slots than it needs. */
START_TEST(a_failed_allocation_changes_nothing)
{
	struct ak_watch_hooks h = { plain_clone, NULL, NULL };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	uint64_t v = 7;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	v = 8;
	ak__alloc_fail_after(1);
	ck_assert_int_eq(ak_watch_send(tx, &v), AK_ENOMEM);
	ak__alloc_fail_after(0);
	ck_assert_int_eq(ak_watch_has_changed(rx), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 7);
	ck_assert_uint_eq(r.version, 0);
	ak_watch_ref_release(&r);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(small_values_without_hooks_are_sent_and_borrowed_without_allocating)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r, s;
	uint64_t v = 8;

	new_u64(7, &tx, &rx);
	ak__alloc_fail_after(1);                 /* the next allocation fails */
	ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &s), 0);
	ak__alloc_fail_after(0);
	ck_assert_uint_eq(ref_u64(&r), 8);
	ck_assert_uint_eq(ref_u64(&s), 8);
	ck_assert_uint_eq(r.version, 1);
	ak_watch_ref_release(&r);
	ak_watch_ref_release(&s);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(small_values_of_every_size_are_borrowed_whole_through_buffers_and_a_spill)
{
	/* Up to 24 bytes: the copy mode, whose borrows copy one word for a
	 * value of up to 8 bytes and three above; three borrows held at
	 * once take both of the receiver's buffers and a spill. */
	for (size_t size = 1; size <= 24; size++) {
		struct ak_watch_sender *tx;
		struct ak_watch_receiver *rx;
		struct ak_watch_ref r[3];
		unsigned char init[24], v[24];

		memset(init, 0xee, sizeof init);
		for (size_t i = 0; i < size; i++)
			v[i] = (unsigned char)(size * 16 + i);
		ck_assert_int_eq(ak_watch_new(size, init, NULL, &tx, &rx), 0);
		ck_assert_int_eq(ak_watch_send(tx, v), 0);
		for (int k = 0; k < 3; k++) {
			ck_assert_int_eq(ak_watch_borrow(rx, &r[k]), 0);
			ck_assert_int_eq(memcmp(r[k].value, v, size), 0);
		}
		for (int k = 0; k < 3; k++)
			ak_watch_ref_release(&r[k]);
		ak_watch_receiver_drop(rx);
		ak_watch_sender_drop(tx);
	}
	end_test();
}
END_TEST

START_TEST(zero_sized_values_carry_only_versions)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op = { 0 };
	struct ak_watch_ref r;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_watch_new(0, NULL, NULL, &tx, &rx), 0);
	ck_assert_int_eq(poll_new_changed(&op, rx, t), AK_PENDING);
	ck_assert_int_eq(ak_watch_send(tx, NULL), 0);
	ck_assert_int_eq(ak_watch_send(tx, NULL), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(r.version, 2);
	ak_watch_ref_release(&r);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

/* ---- 4 readers borrowing while the writer sends ----------------------------- */

#define RACE_SENDS 20000
#define RACE_READERS 4

/* value = version * 3 + 1: a reader can check they belong together. */
struct race {
	struct ak_watch_receiver *rx[RACE_READERS];
	atomic_int stop;
	atomic_int started;
	long borrows[RACE_READERS];
	int bad[RACE_READERS];       /* version went back, or value mismatched */
	int idx[RACE_READERS];
};

struct race_reader {
	struct race *race;
	int i;
};

static void *race_reader(void *arg)
{
	struct race_reader *rr = arg;
	struct race *rc = rr->race;
	uint64_t last = 0;
	struct ak_watch_ref r;

	atomic_fetch_add(&rc->started, 1);
	do {
		if (ak_watch_borrow_and_update(rc->rx[rr->i], &r) != 0) {
			rc->bad[rr->i]++;
			break;
		}
		if (r.version < last || ref_u64(&r) != r.version * 3 + 1)
			rc->bad[rr->i]++;
		last = r.version;
		ak_watch_ref_release(&r);
		/* Give the writer its turn when the cores are taken. */
		if ((++rc->borrows[rr->i] & 63) == 0)
			sched_yield();
	} while (!atomic_load_explicit(&rc->stop, memory_order_acquire));
	return NULL;
}

START_TEST(four_readers_borrow_while_the_writer_sends)
{
	struct ak_watch_sender *tx;
	struct race rc;
	struct race_reader rr[RACE_READERS];
	pthread_t th[RACE_READERS];
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	uint64_t v;

	memset(&rc, 0, sizeof rc);
	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 1);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rc.rx[0]), 0);
	for (int i = 1; i < RACE_READERS; i++)
		ck_assert_int_eq(ak_watch_receiver_clone(rc.rx[0], &rc.rx[i]), 0);
	for (int i = 0; i < RACE_READERS; i++) {
		rr[i].race = &rc;
		rr[i].i = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, race_reader, &rr[i]), 0);
	}
	while (atomic_load(&rc.started) < RACE_READERS)
		sched_yield();
	int send_errors = 0;
	for (uint64_t n = 1; n <= RACE_SENDS; n++) {
		v = val_make(&vs, n * 3 + 1);
		if (ak_watch_send(tx, &v) != 0)
			send_errors++;
	}
	atomic_store_explicit(&rc.stop, 1, memory_order_release);
	for (int i = 0; i < RACE_READERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(send_errors, 0);
	for (int i = 0; i < RACE_READERS; i++) {
		ck_assert_int_eq(rc.bad[i], 0);
		ck_assert_int_gt(rc.borrows[i], 0);
		ak_watch_receiver_drop(rc.rx[i]);
	}
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	ck_assert_int_eq(atomic_load(&vs.drops), RACE_SENDS + 1);
	end_test();
}
END_TEST

/* ---- a receiver dropped under a parked changed() while another thread sends -- */

#define DROP_ROUNDS 2000

static int drop_send(void *tx, uint64_t v)
{
	return ak_watch_send(tx, &v);
}

START_TEST(receivers_dropped_under_parked_changed_while_another_thread_sends)
{
	struct tk_sender d;
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *keep, *rx;
	struct tk_task *t = tk_task_new();
	int bad = 0, parked = 0;

	new_u64(0, &tx, &keep);
	tk_sender_start(&d, drop_send, tx);
	for (int i = 0; tk_sender_more(&d, i, DROP_ROUNDS); i++) {
		struct ak_watch_changed_op op = { 0 };
		if (ak_watch_subscribe(tx, &rx) != 0 || ak_watch_changed_init(&op, rx) != 0) {
			bad++;
			break;
		}
		int rc = tk_poll(t, &op.future);
		ak_watch_receiver_drop(rx);      /* while sends wake the op */
		if (rc == AK_PENDING) {
			parked++;
			rc = tk_poll(t, &op.future); /* frees the receiver */
			if (rc != AK_EPIPE)
				bad++;
		} else if (rc != 0) {
			bad++;
		}
		(void)tk_task_take_woken(t);
	}
	ck_assert_int_gt(tk_sender_stop(&d), 0);
	ck_assert_int_eq(bad, 0);
	(void)parked;                            /* both paths are legal */
	ak_watch_receiver_drop(keep);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(new_without_a_receiver_makes_a_closed_sender_that_subscribe_reopens)
{
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL;
	struct ak_watch_ref r;
	uint64_t v = 1, w = 2, old = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx, NULL), 0);
	ck_assert_uint_eq(ak_watch_receiver_count(tx), 0);
	ck_assert_int_eq(ak_watch_sender_is_closed(tx), 1);
	ck_assert_int_eq(ak_watch_send(tx, &w), AK_EPIPE);
	ck_assert_int_eq(ak_watch_send_replace(tx, &w, &old), 0);
	ck_assert_uint_eq(old, 1);
	ck_assert_int_eq(ak_watch_subscribe(tx, &rx), 0);
	ck_assert_int_eq(ak_watch_sender_is_closed(tx), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(*(const uint64_t *)r.value, 2);
	ck_assert_int_eq(r.has_changed, 0);            /* subscribed after it */
	ck_assert_int_eq(ak_watch_ref_release(&r), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_is_closed(tx), 1);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
}
END_TEST

START_TEST(sender_count_counts_clones_and_drops)
{
	struct ak_watch_sender *tx, *tx2;
	struct ak_watch_receiver *rx;
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx, &rx), 0);
	ck_assert_uint_eq(ak_watch_sender_count(tx), 1);
	ck_assert_int_eq(ak_watch_sender_clone(tx, &tx2), 0);
	ck_assert_uint_eq(ak_watch_sender_count(tx), 2);
	ck_assert_uint_eq(ak_watch_sender_count(tx2), 2);
	ck_assert_int_eq(ak_watch_sender_drop(tx2), 0);
	ck_assert_uint_eq(ak_watch_sender_count(tx), 1);
	ck_assert_uint_eq(ak_watch_sender_count(NULL), 0);
	ck_assert_int_eq(ak_watch_sender_is_closed(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
}
END_TEST

START_TEST(same_channel_tells_receivers_of_one_channel_from_another)
{
	struct ak_watch_sender *tx, *tx2;
	struct ak_watch_receiver *rx, *clone, *sub, *other;
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, NULL, &tx2, &other), 0);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &clone), 0);
	ck_assert_int_eq(ak_watch_subscribe(tx, &sub), 0);
	ck_assert_int_eq(ak_watch_same_channel(rx, clone), 1);
	ck_assert_int_eq(ak_watch_same_channel(rx, sub), 1);
	ck_assert_int_eq(ak_watch_same_channel(rx, other), 0);
	ck_assert_int_eq(ak_watch_same_channel(rx, NULL), AK_EINVAL);
	ak_watch_receiver_drop(clone);
	ak_watch_receiver_drop(sub);
	ak_watch_receiver_drop(other);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ak_watch_sender_drop(tx2);
}
END_TEST

/* ---- borrows never hold the writer up; steady sends allocate nothing ------- */

struct holder {
	struct ak_watch_receiver *rx;
	struct tk_baton baton;
	uint64_t value;             /* what the held borrow showed at the end */
	uint64_t version;
	int rc;
};

/* Borrows, lets the main thread send (turn 1), waits until it is done
 * (turn 2), reads its borrow again and releases it. */
static void *holder_main(void *arg)
{
	struct holder *h = arg;
	struct ak_watch_ref r;

	h->rc = ak_watch_borrow(h->rx, &r);
	tk_baton_pass(&h->baton, 1);
	tk_baton_wait(&h->baton, 2);
	h->value = ref_u64(&r);
	h->version = r.version;
	if (h->rc == 0)
		h->rc = ak_watch_ref_release(&r);
	return NULL;
}

START_TEST(a_borrow_held_on_another_thread_never_holds_up_the_sender)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct holder h;
	struct ak_watch_ref r;
	pthread_t th;

	memset(&h, 0, sizeof h);
	new_u64(7, &tx, &rx);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &h.rx), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, holder_main, &h), 0);
	tk_baton_wait(&h.baton, 1);
	/* Every send returns while the other thread holds its borrow. */
	for (uint64_t v = 1; v <= 10000; v++)
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 10000);
	ck_assert_uint_eq(r.version, 10000);
	ak_watch_ref_release(&r);
	tk_baton_pass(&h.baton, 2);
	pthread_join(th, NULL);
	ck_assert_int_eq(h.rc, 0);
	ck_assert_uint_eq(h.value, 7);           /* still the value it borrowed */
	ck_assert_uint_eq(h.version, 0);
	ak_watch_receiver_drop(h.rx);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

/* n sends, each followed by a borrow through both receivers (one
 * released at once, one held across the next send). */
static void send_and_borrow(struct ak_watch_sender *tx, struct ak_watch_receiver *a,
                            struct ak_watch_receiver *b, struct ak_watch_ref *held,
                            uint64_t from, uint64_t n)
{
	struct ak_watch_ref r;

	for (uint64_t v = from; v < from + n; v++) {
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
		ck_assert_int_eq(ak_watch_borrow_and_update(a, &r), 0);
		ck_assert_uint_eq(ref_u64(&r), v);
		ak_watch_ref_release(&r);
		ak_watch_ref_release(held);
		ck_assert_int_eq(ak_watch_borrow(b, held), 0);
		ck_assert_uint_eq(ref_u64(held), v);
	}
}

START_TEST(sends_and_borrows_in_steady_state_allocate_nothing)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *a, *b;
	struct ak_watch_ref held;

	new_u64(0, &tx, &a);
	ck_assert_int_eq(ak_watch_receiver_clone(a, &b), 0);
	ck_assert_int_eq(ak_watch_borrow(b, &held), 0);
	send_and_borrow(tx, a, b, &held, 1, 1000);          /* the slots it needs */
	struct ak_debug_counts before = tk_counters();
	send_and_borrow(tx, a, b, &held, 1001, 10000);
	struct ak_debug_counts after = tk_counters();
	ck_assert_int_eq(after.allocations, before.allocations);
	ak_watch_ref_release(&held);
	ak_watch_receiver_drop(b);
	ak_watch_receiver_drop(a);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

/* The same through slots: a clone hook puts the channel in the slot mode. */
START_TEST(sends_and_borrows_of_slots_in_steady_state_allocate_nothing)
{
	struct ak_watch_hooks h = { plain_clone, NULL, NULL };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *a, *b;
	struct ak_watch_ref held;
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &a), 0);
	ck_assert_int_eq(ak_watch_receiver_clone(a, &b), 0);
	ck_assert_int_eq(ak_watch_borrow(b, &held), 0);
	send_and_borrow(tx, a, b, &held, 1, 1000);          /* the slots it needs */
	struct ak_debug_counts before = tk_counters();
	send_and_borrow(tx, a, b, &held, 1001, 10000);
	struct ak_debug_counts after = tk_counters();
	ck_assert_int_eq(after.allocations, before.allocations);
	ak_watch_ref_release(&held);
	ak_watch_receiver_drop(b);
	ak_watch_receiver_drop(a);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(a_receiver_may_hold_many_borrows_of_different_values_at_once)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r[8];
	uint64_t v;

	new_u64(0, &tx, &rx);
	for (v = 0; v < 8; v++) {
		ck_assert_int_eq(ak_watch_borrow(rx, &r[v]), 0);
		uint64_t next = v + 1;
		for (int i = 0; i < 100; i++)   /* past many reuses of free slots */
			ck_assert_int_eq(ak_watch_send(tx, &next), 0);
	}
	for (v = 0; v < 8; v++) {
		ck_assert_uint_eq(ref_u64(&r[v]), v);
		ck_assert_uint_eq(r[v].version, v * 100);
	}
	for (v = 0; v < 8; v += 2)               /* out of order */
		ck_assert_int_eq(ak_watch_ref_release(&r[v]), 0);
	for (v = 1; v < 8; v += 2)
		ck_assert_int_eq(ak_watch_ref_release(&r[v]), 0);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}
END_TEST

START_TEST(borrows_outlive_their_receiver_and_the_channel_with_their_values)
{
	struct vals vs;
	struct ak_watch_hooks h = { val_clone, val_drop, &vs };
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx, *gone;
	struct ak_watch_ref old, cur;
	uint64_t v;

	memset(&vs, 0, sizeof vs);
	v = val_make(&vs, 1);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, &h, &tx, &rx), 0);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &gone), 0);
	ck_assert_int_eq(ak_watch_borrow(gone, &old), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(gone), 0);   /* the borrow stays */
	for (uint64_t n = 2; n <= 200; n++) {
		v = val_make(&vs, n);
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	}
	ck_assert_int_eq(ak_watch_borrow(rx, &cur), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_int_eq(atomic_load(&vs.live), 2);          /* 1 and 200 */
	ck_assert_uint_eq(ref_u64(&old), 1);
	ck_assert_int_eq(ak_watch_ref_release(&old), 0);
	ck_assert_uint_eq(atomic_load(&vs.last_dropped), 1);
	ck_assert_uint_eq(ref_u64(&cur), 200);
	ck_assert_int_eq(ak_watch_ref_release(&cur), 0);
	ck_assert_int_eq(atomic_load(&vs.live), 0);
	end_test();
}
END_TEST

START_TEST(a_copied_borrow_outlives_its_receiver_and_the_channel)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx, *gone;
	struct ak_watch_ref r;
	struct releaser rl = { &r, 0, -1 };
	pthread_t th;

	new_u64(5, &tx, &rx);
	ck_assert_int_eq(ak_watch_receiver_clone(rx, &gone), 0);
	ck_assert_int_eq(ak_watch_borrow(gone, &r), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(gone), 0);   /* the borrow stays */
	for (uint64_t v = 6; v <= 100; v++)
		ck_assert_int_eq(ak_watch_send(tx, &v), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_uint_eq(ref_u64(&r), 5);
	ck_assert_uint_eq(r.version, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, release_thread, &rl), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(rl.rc, 0);
	end_test();                 /* frees the receiver: the fixture checks */
}
END_TEST

START_TEST(a_receiver_left_with_a_copied_borrow_is_freed_by_a_later_channel)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;

	int64_t live = tk_counters().live_objects;
	new_u64(5, &tx, &rx);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_int_eq(ak_watch_receiver_drop(rx), 0);
	ck_assert_int_eq(ak_watch_sender_drop(tx), 0);
	ck_assert_int_eq(ak_watch_ref_release(&r), 0);
	/* The release is a plain store: the receiver (one allocation) waits
	 * for a sweep. */
	ck_assert_int_eq(tk_counters().live_objects, live + 1);
	new_u64(0, &tx, &rx);                    /* sweeps */
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ck_assert_int_eq(tk_counters().live_objects, live);
	end_test();
}
END_TEST

/* ---- senders racing each other ---------------------------------------------- */

#define RACING_SENDERS 4
#define RACING_MODIFIES 5000

struct racing {
	struct ak_watch_sender *tx;
	int errors;
};

static void add_one_u64(void *value, void *arg)
{
	(void)arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	n++;
	memcpy(value, &n, sizeof n);
}

static void *racing_sender(void *arg)
{
	struct racing *rs = arg;
	for (int i = 0; i < RACING_MODIFIES; i++) {
		if (ak_watch_send_modify(rs->tx, add_one_u64, NULL) != 0)
			rs->errors++;
		if ((i & 63) == 0)
			sched_yield();
	}
	return NULL;
}

/* Each send_modify reads the value and publishes it plus one: none is
 * lost only if the senders exclude each other (the copy mode's latch, the
 * slot mode's lock). */
static void race_senders(const struct ak_watch_hooks *hooks)
{
	struct racing rs[RACING_SENDERS];
	pthread_t th[RACING_SENDERS];
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	uint64_t v = 0;

	ck_assert_int_eq(ak_watch_new(sizeof v, &v, hooks, &tx, &rx), 0);
	for (int i = 0; i < RACING_SENDERS; i++) {
		rs[i].errors = 0;
		ck_assert_int_eq(ak_watch_sender_clone(tx, &rs[i].tx), 0);
		ck_assert_int_eq(pthread_create(&th[i], NULL, racing_sender, &rs[i]), 0);
	}
	for (int i = 0; i < RACING_SENDERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(rs[i].errors, 0);
		ak_watch_sender_drop(rs[i].tx);
	}
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), RACING_SENDERS * RACING_MODIFIES);
	ck_assert_uint_eq(r.version, RACING_SENDERS * RACING_MODIFIES);
	ak_watch_ref_release(&r);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	end_test();
}

START_TEST(racing_senders_of_small_values_lose_no_modification)
{
	race_senders(NULL);
}
END_TEST

START_TEST(racing_senders_of_slots_lose_no_modification)
{
	struct ak_watch_hooks h = { plain_clone, NULL, NULL };
	race_senders(&h);
}
END_TEST

/* A send_modify whose callback waits (holding the senders' exclusion),
 * and a plain send that has to wait for it on another thread. */
struct held_modify {
	struct ak_watch_sender *tx;
	struct tk_baton baton;
	int rc;
};

static void wait_in_modify(void *value, void *arg)
{
	struct held_modify *hm = arg;
	add_one_u64(value, NULL);
	tk_baton_pass(&hm->baton, 1);
	tk_baton_wait(&hm->baton, 2);
}

static void *modify_main(void *arg)
{
	struct held_modify *hm = arg;
	hm->rc = ak_watch_send_modify(hm->tx, wait_in_modify, hm);
	return NULL;
}

struct late_send {
	struct ak_watch_sender *tx;
	int rc;
};

static void *late_send_main(void *arg)
{
	struct late_send *ls = arg;
	uint64_t v = 100;
	ls->rc = ak_watch_send(ls->tx, &v);
	return NULL;
}

static void send_waits_for_a_modify_in_progress(const struct ak_watch_hooks *hooks)
{
	struct held_modify hm;
	struct late_send ls = { NULL, -1 };
	struct ak_watch_receiver *rx;
	struct ak_watch_ref r;
	pthread_t a, b;
	uint64_t v = 0;

	memset(&hm, 0, sizeof hm);
	ck_assert_int_eq(ak_watch_new(sizeof v, &v, hooks, &hm.tx, &rx), 0);
	ck_assert_int_eq(ak_watch_sender_clone(hm.tx, &ls.tx), 0);
	ck_assert_int_eq(pthread_create(&a, NULL, modify_main, &hm), 0);
	tk_baton_wait(&hm.baton, 1);            /* the callback runs */
	ck_assert_int_eq(pthread_create(&b, NULL, late_send_main, &ls), 0);
	tk_sleep_ns(20 * 1000 * 1000);          /* b most likely asleep by now */
	/* Readers are not held up by a sender's callback. */
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 0);
	ak_watch_ref_release(&r);
	tk_baton_pass(&hm.baton, 2);
	pthread_join(a, NULL);
	pthread_join(b, NULL);                  /* woken by the modify's end */
	ck_assert_int_eq(hm.rc, 0);
	ck_assert_int_eq(ls.rc, 0);
	ck_assert_int_eq(ak_watch_borrow(rx, &r), 0);
	ck_assert_uint_eq(ref_u64(&r), 100);    /* after the modify's 1 */
	ck_assert_uint_eq(r.version, 2);
	ak_watch_ref_release(&r);
	ak_watch_sender_drop(ls.tx);
	ak_watch_sender_drop(hm.tx);
	ak_watch_receiver_drop(rx);
	end_test();
}

START_TEST(a_small_value_send_waits_for_a_modify_in_progress_and_readers_do_not)
{
	send_waits_for_a_modify_in_progress(NULL);
}
END_TEST

START_TEST(a_slot_send_waits_for_a_modify_in_progress_and_readers_do_not)
{
	struct ak_watch_hooks h = { plain_clone, NULL, NULL };
	send_waits_for_a_modify_in_progress(&h);
}
END_TEST

/* ---- readers of channels without hooks ------------------------------------ */

/* Values whose words must agree: version, version * 3 + 1, ~version, then
 * version ^ i.  24 bytes are copied (copy mode), 64 live in slots reused
 * in batches (slot mode). */
#define WORDS_MAX 8

struct plain_race {
	struct ak_watch_receiver *rx[RACE_READERS];
	size_t words;
	atomic_int stop;
	atomic_int started;
	long borrows[RACE_READERS];
	int bad[RACE_READERS];
};

struct plain_reader {
	struct plain_race *race;
	int i;
};

static void words_make(uint64_t *w, size_t n, uint64_t v)
{
	w[0] = v;
	w[1] = v * 3 + 1;
	w[2] = ~v;
	for (size_t i = 3; i < n; i++)
		w[i] = v ^ i;
}

static int words_ok(const struct ak_watch_ref *r, size_t n)
{
	uint64_t got[WORDS_MAX], want[WORDS_MAX];
	memcpy(got, r->value, n * sizeof(uint64_t));
	words_make(want, n, r->version);
	return memcmp(got, want, n * sizeof(uint64_t)) == 0;
}

/* Borrows in a loop, holding up to 3 at once (more than a receiver's pins)
 * across the writer's sends, each checked again at its release. */
static void *plain_reader_main(void *arg)
{
	struct plain_reader *pr = arg;
	struct plain_race *rc = pr->race;
	struct ak_watch_ref held[3];
	int nheld = 0;
	uint64_t last = 0;

	atomic_fetch_add(&rc->started, 1);
	do {
		struct ak_watch_ref r;
		long n = ++rc->borrows[pr->i];
		if (ak_watch_borrow_and_update(rc->rx[pr->i], &r) != 0) {
			rc->bad[pr->i]++;
			break;
		}
		if (r.version < last || !words_ok(&r, rc->words))
			rc->bad[pr->i]++;
		last = r.version;
		if (n % 7 == 0 && nheld < 3)
			held[nheld++] = r;
		else
			ak_watch_ref_release(&r);
		if (nheld && n % 5 == 0) {
			if (!words_ok(&held[--nheld], rc->words))
				rc->bad[pr->i]++;
			ak_watch_ref_release(&held[nheld]);
		}
		if ((n & 63) == 0)
			sched_yield();
	} while (!atomic_load_explicit(&rc->stop, memory_order_acquire));
	while (nheld) {
		if (!words_ok(&held[--nheld], rc->words))
			rc->bad[pr->i]++;
		ak_watch_ref_release(&held[nheld]);
	}
	return NULL;
}

/* RACE_READERS threads borrow values of `words` words while this one sends
 * RACE_SENDS of them. */
static void race_plain_values(size_t words)
{
	struct ak_watch_sender *tx;
	struct plain_race rc;
	struct plain_reader pr[RACE_READERS];
	pthread_t th[RACE_READERS];
	uint64_t v[WORDS_MAX];

	memset(&rc, 0, sizeof rc);
	rc.words = words;
	words_make(v, words, 0);
	ck_assert_int_eq(ak_watch_new(words * sizeof(uint64_t), v, NULL, &tx, &rc.rx[0]), 0);
	for (int i = 1; i < RACE_READERS; i++)
		ck_assert_int_eq(ak_watch_receiver_clone(rc.rx[0], &rc.rx[i]), 0);
	for (int i = 0; i < RACE_READERS; i++) {
		pr[i].race = &rc;
		pr[i].i = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, plain_reader_main, &pr[i]), 0);
	}
	while (atomic_load(&rc.started) < RACE_READERS)
		sched_yield();
	int send_errors = 0;
	for (uint64_t n = 1; n <= RACE_SENDS; n++) {
		words_make(v, words, n);
		if (ak_watch_send(tx, v) != 0)
			send_errors++;
		if ((n & 255) == 0)
			sched_yield();
	}
	atomic_store_explicit(&rc.stop, 1, memory_order_release);
	for (int i = 0; i < RACE_READERS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(send_errors, 0);
	for (int i = 0; i < RACE_READERS; i++) {
		ck_assert_int_eq(rc.bad[i], 0);
		ck_assert_int_gt(rc.borrows[i], 0);
		ak_watch_receiver_drop(rc.rx[i]);
	}
	ak_watch_sender_drop(tx);
	end_test();
}

START_TEST(readers_of_one_word_values_see_whole_values_while_the_writer_sends)
{
	race_plain_values(1);
}
END_TEST

START_TEST(readers_of_small_values_see_whole_values_while_the_writer_sends)
{
	race_plain_values(3);
}
END_TEST

START_TEST(readers_of_large_values_see_whole_values_while_the_writer_sends)
{
	race_plain_values(WORDS_MAX);
}
END_TEST

Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tk_tcase("watch");

	tcase_add_test(tc, changed_resolves_after_send_and_not_after_mark_unchanged);
	tcase_add_test(tc, new_without_a_receiver_makes_a_closed_sender_that_subscribe_reopens);
	tcase_add_test(tc, sender_count_counts_clones_and_drops);
	tcase_add_test(tc, same_channel_tells_receivers_of_one_channel_from_another);
	tcase_add_test(tc, borrow_and_update_clears_has_changed);
	tcase_add_test(tc, wait_for_returns_at_once_when_the_predicate_already_holds);
	tcase_add_test(tc, wait_for_waits_for_a_value_the_predicate_accepts);
	tcase_add_test(tc, wait_for_fails_when_closed_and_the_last_value_is_refused);
	tcase_add_test(tc, borrow_held_across_many_sends_stays_stable_and_is_dropped_after_release);
	tcase_add_test(tc, a_borrow_released_on_another_thread_runs_the_drop_there);
	tcase_add_test(tc, sender_drop_wakes_every_waiting_receiver_after_its_last_value);
	tcase_add_test(tc, sender_drop_wakes_a_receiver_that_saw_everything_with_epipe);
	tcase_add_test(tc, several_sends_between_polls_give_one_changed);
	tcase_add_test(tc, cancel_of_a_woken_changed_marks_nothing_seen);
	tcase_add_test(tc, send_without_receivers_fails_and_leaves_the_value_with_the_caller);
	tcase_add_test(tc, send_modify_publishes_a_modified_clone_and_send_if_modified_may_not);
	tcase_add_test(tc, closed_resolves_when_the_last_receiver_drops);
	tcase_add_test(tc, a_parked_closed_op_outlives_the_sender_handle);
	tcase_add_test(tc, closed_completes_at_once_without_a_receiver_and_waits_again_after_a_subscribe);
	tcase_add_test(tc, closed_with_a_spent_budget_yields_and_then_completes);
	tcase_add_test(tc, a_cancelled_closed_op_takes_nothing);
	tcase_add_test(tc, blocking_changed_times_out_and_then_sees_a_send);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_changed_then_polling_it_is_epipe);
	tcase_add_test(tc, dropping_the_receiver_under_a_parked_changed_then_a_send_is_epipe);
	tcase_add_test(tc, cancelling_a_changed_after_every_handle_went_frees_the_channel);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_wait_for_is_safe);
	tcase_add_test(tc, dropping_the_handles_after_a_changed_completed_leaves_nothing_held);
	tcase_add_test(tc, releasing_a_borrow_twice_or_never_made_is_einval_and_changes_nothing);
	tcase_add_test(tc, bad_inputs_return_einval_and_change_nothing);
	tcase_add_test(tc, op_sizes_are_reported);
	tcase_add_test(tc, a_failed_allocation_changes_nothing);
	tcase_add_test(tc, zero_sized_values_carry_only_versions);
	tcase_add_test(tc, small_values_without_hooks_are_sent_and_borrowed_without_allocating);
	tcase_add_test(tc, small_values_of_every_size_are_borrowed_whole_through_buffers_and_a_spill);
	tcase_add_test(tc, four_readers_borrow_while_the_writer_sends);
	tcase_add_test(tc, receivers_dropped_under_parked_changed_while_another_thread_sends);
	tcase_add_test(tc, a_borrow_held_on_another_thread_never_holds_up_the_sender);
	tcase_add_test(tc, sends_and_borrows_in_steady_state_allocate_nothing);
	tcase_add_test(tc, a_receiver_may_hold_many_borrows_of_different_values_at_once);
	tcase_add_test(tc, borrows_outlive_their_receiver_and_the_channel_with_their_values);
	tcase_add_test(tc, a_copied_borrow_outlives_its_receiver_and_the_channel);
	tcase_add_test(tc, a_receiver_left_with_a_copied_borrow_is_freed_by_a_later_channel);
	tcase_add_test(tc, readers_of_small_values_see_whole_values_while_the_writer_sends);
	tcase_add_test(tc, racing_senders_of_small_values_lose_no_modification);
	tcase_add_test(tc, racing_senders_of_slots_lose_no_modification);
	tcase_add_test(tc, a_small_value_send_waits_for_a_modify_in_progress_and_readers_do_not);
	tcase_add_test(tc, a_slot_send_waits_for_a_modify_in_progress_and_readers_do_not);
	tcase_add_test(tc, readers_of_large_values_see_whole_values_while_the_writer_sends);
	tcase_add_test(tc, readers_of_one_word_values_see_whole_values_while_the_writer_sends);
	tcase_add_test(tc, sends_and_borrows_of_slots_in_steady_state_allocate_nothing);
	suite_add_tcase(s, tc);
	return s;
}
