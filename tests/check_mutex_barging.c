/*
 * The barging Mutex (AK_MUTEX_BARGING, ak_mutex(3)): an unlock lets a
 * newcomer take the lock before the woken waiter; a waiter that lost after
 * waiting over 1 ms is handed the lock, before any newcomer, until the
 * queue is empty; cancel passes a wake or a handed lock on; and mutual
 * exclusion holds on a pool.  Time is controlled by the waiter's own
 * clock: the holder keeps the lock over 1 ms while the waiter is parked.
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <check.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *mutex_barging_suite(void);

#define MS 1000000LL

static struct ak_mutex *new_barging(void)
{
	struct ak_mutex *m = NULL;
	ck_assert_int_eq(ak_mutex_new(&m, AK_MUTEX_BARGING), 0);
	return m;
}

/* w, polled by t, parks behind the holder. */
static void park(struct tk_task *t, struct ak_mutex_lock_op *w, struct ak_mutex *m)
{
	memset(w, 0, sizeof *w);
	ak_mutex_lock_init(w, m);
	ck_assert_int_eq(tk_poll(t, &w->future), AK_PENDING);
}

START_TEST(unlock_lets_a_newcomer_take_the_lock_before_the_woken_waiter)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w, n;
	memset(&g, 0, sizeof g);
	memset(&n, 0, sizeof n);
	struct tk_task *tw = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	park(tw, &w, m);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(tw));
	/* Free, although a waiter was woken for it: the newcomer barges. */
	ck_assert_int_eq(ak_mutex_try_lock(&n, m, NULL), 0);
	ck_assert_int_eq(tk_poll(tw, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&n), 0);
	ck_assert(tk_task_take_woken(tw));
	ck_assert_int_eq(tk_poll(tw, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(woken_waiter_that_lost_keeps_its_place_at_the_head)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w1, w2, n;
	memset(&g, 0, sizeof g);
	memset(&n, 0, sizeof n);
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	park(t1, &w1, m);
	park(t2, &w2, m);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	/* One waiter woken at a time. */
	ck_assert(tk_task_take_woken(t1));
	ck_assert(!tk_task_take_woken(t2));
	ck_assert_int_eq(ak_mutex_try_lock(&n, m, NULL), 0);
	ck_assert_int_eq(tk_poll(t1, &w1.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&n), 0);
	ck_assert(tk_task_take_woken(t1));
	ck_assert(!tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t1, &w1.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w1), 0);
	ck_assert(tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t2, &w2.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w2), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* The holder keeps the lock over 1 ms while w is parked, unlocks, and a
 * newcomer takes it before w retries: w has starved.  Returns with the
 * newcomer n holding and w parked again at the head. */
static void starve(struct tk_task *tw, struct ak_mutex_lock_op *w,
                   struct ak_mutex_lock_op *n, struct ak_mutex *m)
{
	struct ak_mutex_lock_op g;
	memset(&g, 0, sizeof g);
	memset(n, 0, sizeof *n);
	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	park(tw, w, m);
	tk_sleep_ns(2 * MS);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(tw));
	ck_assert_int_eq(ak_mutex_try_lock(n, m, NULL), 0);
	ck_assert_int_eq(tk_poll(tw, &w->future), AK_PENDING);
}

START_TEST(waiter_starved_over_1ms_is_handed_the_lock_before_a_newcomer)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op w, n, late;
	memset(&late, 0, sizeof late);
	struct tk_task *tw = tk_task_new();

	starve(tw, &w, &n, m);
	ck_assert_int_eq(ak_mutex_unlock(&n), 0);
	ck_assert(tk_task_take_woken(tw));
	/* Handed to w, not freed: a newcomer finds it held. */
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert_int_eq(ak_mutex_try_lock(&late, m, NULL), AK_EAGAIN);
	ck_assert_int_eq(tk_poll(tw, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	/* The last waiter served ended the hand-offs: barging again. */
	ck_assert_int_eq(ak_mutex_try_lock(&late, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_unlock(&late), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(in_starvation_mode_newcomers_queue_behind_the_waiters)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op w, n, late;
	struct tk_task *tw = tk_task_new(), *tl = tk_task_new();

	starve(tw, &w, &n, m);
	park(tl, &late, m);                 /* a newcomer, at the tail */
	ck_assert_int_eq(ak_mutex_unlock(&n), 0);
	ck_assert(tk_task_take_woken(tw));
	ck_assert(!tk_task_take_woken(tl));
	ck_assert_int_eq(tk_poll(tw, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	/* Handed on in queue order. */
	ck_assert(tk_task_take_woken(tl));
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert_int_eq(tk_poll(tl, &late.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&late), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* A lock's init writes only what an idle acquire needs: storage never
 * cleared, or an operation cancelled while queued and bound again, parks
 * and is woken like a fresh one, at the tail. */
START_TEST(lock_op_on_uncleared_or_reused_storage_queues_at_the_tail)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w1, w2;
	memset(&g, 0, sizeof g);
	memset(&w1, 0xa5, sizeof w1);
	memset(&w2, 0, sizeof w2);
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ak_mutex_lock_init(&w1, m);
	ck_assert_int_eq(tk_poll(t1, &w1.future), AK_PENDING);
	ak_mutex_lock_init(&w2, m);
	ck_assert_int_eq(tk_poll(t2, &w2.future), AK_PENDING);
	ak_future_cancel(&w1.future);
	ak_mutex_lock_init(&w1, m);                     /* behind w2 now */
	ck_assert_int_eq(tk_poll(t1, &w1.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(!tk_task_take_woken(t1));
	ck_assert(tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t2, &w2.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w2), 0);
	ck_assert(tk_task_take_woken(t1));
	ck_assert_int_eq(tk_poll(t1, &w1.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w1), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(cancelled_queued_waiter_loses_only_its_place)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w1, w2;
	memset(&g, 0, sizeof g);
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	park(t1, &w1, m);
	park(t2, &w2, m);
	ak_future_cancel(&w1.future);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(!tk_task_take_woken(t1));
	ck_assert(tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t2, &w2.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w1), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_unlock(&w2), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(cancelled_woken_waiter_passes_the_wake_on)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w1, w2;
	memset(&g, 0, sizeof g);
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	park(t1, &w1, m);
	park(t2, &w2, m);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(t1));
	/* Woken, never polled: its cancel wakes the next one. */
	ak_future_cancel(&w1.future);
	ck_assert(tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t2, &w2.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w2), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(cancelled_waiter_handed_the_lock_passes_it_on)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op w, n, late;
	struct tk_task *tw = tk_task_new(), *tl = tk_task_new();

	starve(tw, &w, &n, m);
	park(tl, &late, m);
	ck_assert_int_eq(ak_mutex_unlock(&n), 0);
	ck_assert(tk_task_take_woken(tw));
	ak_future_cancel(&w.future);        /* handed the lock, never saw it */
	ck_assert(tk_task_take_woken(tl));
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert_int_eq(tk_poll(tl, &late.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_unlock(&late), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(lock_awaited_by_its_holder_is_edeadlk_in_barging_mode)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, again;
	memset(&g, 0, sizeof g);
	memset(&again, 0, sizeof again);
	struct tk_task *t = tk_task_new();

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(t, &g.future), 0);
	ak_mutex_lock_init(&again, m);
	ck_assert_int_eq(tk_poll(t, &again.future), AK_EDEADLK);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(destroying_a_mutex_with_a_woken_waiter_is_ebusy)
{
	struct ak_mutex *m = new_barging();
	struct ak_mutex_lock_op g, w;
	memset(&g, 0, sizeof g);
	struct tk_task *tw = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_free(m), AK_EBUSY);
	park(tw, &w, m);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(tw));
	/* Free, queue empty, but w owes a retry. */
	ck_assert_int_eq(ak_mutex_free(m), AK_EBUSY);
	ck_assert_int_eq(tk_poll(tw, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- mutual exclusion on a pool -------------------------------------- */

#define POOL_TASKS 8
#define POOL_ITERS 1500

START_TEST(mutual_exclusion_of_tasks_in_barging_mode)
{
	struct ak_mutex *m = new_barging();
	struct tk_lock l = tk_lock_mutex(m);

	ck_assert_int_eq(tk_exclusion_on_pool(&l, POOL_TASKS, POOL_ITERS), POOL_TASKS * POOL_ITERS);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

Suite *mutex_barging_suite(void)
{
	Suite *s = suite_create("mutex_barging");
	TCase *tc = tk_tcase("mutex_barging");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, unlock_lets_a_newcomer_take_the_lock_before_the_woken_waiter);
	tcase_add_test(tc, woken_waiter_that_lost_keeps_its_place_at_the_head);
	tcase_add_test(tc, waiter_starved_over_1ms_is_handed_the_lock_before_a_newcomer);
	tcase_add_test(tc, in_starvation_mode_newcomers_queue_behind_the_waiters);
	tcase_add_test(tc, cancelled_queued_waiter_loses_only_its_place);
	tcase_add_test(tc, lock_op_on_uncleared_or_reused_storage_queues_at_the_tail);
	tcase_add_test(tc, cancelled_woken_waiter_passes_the_wake_on);
	tcase_add_test(tc, cancelled_waiter_handed_the_lock_passes_it_on);
	tcase_add_test(tc, lock_awaited_by_its_holder_is_edeadlk_in_barging_mode);
	tcase_add_test(tc, destroying_a_mutex_with_a_woken_waiter_is_ebusy);
	tcase_add_test(tt, mutual_exclusion_of_tasks_in_barging_mode);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
