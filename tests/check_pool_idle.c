/*
 * The pool's idle and searching workers (runtime/pool_idle.h), driven the
 * way runtime/pool.c drives them: one int per worker for its searching
 * flag, a real parker per worker.  Internal API.
 */
#include <check.h>
#include "testkit.h"
#include "../runtime/pool_idle.h"

enum { WORKERS = 8 };

struct fleet {
	struct ak__idle idle;
	struct ak__parker parker[WORKERS];
	int searching[WORKERS];
};

static void fleet_init(struct fleet *f, int n)
{
	ck_assert_int_eq(ak__idle_init(&f->idle, n), 0);
	for (int i = 0; i < n; i++) {
		ak__parker_init(&f->parker[i]);
		f->searching[i] = 0;
	}
}

static int start(struct fleet *f, int i)
{
	return ak__idle_start_search(&f->idle, &f->searching[i]);
}

START_TEST(at_most_half_of_the_awake_workers_search)
{
	struct fleet f;
	fleet_init(&f, WORKERS);
	/* 8 awake: the 5th would make 5 of 8. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(start(&f, i), 1);
	ck_assert_int_eq(start(&f, 4), 0);
	ck_assert_int_eq(f.searching[4], 0);
	/* A searcher already counted is not refused. */
	ck_assert_int_eq(start(&f, 0), 1);
	ak__idle_destroy(&f.idle);
}
END_TEST

START_TEST(parked_workers_do_not_count_as_awake_for_the_cap)
{
	struct fleet f;
	fleet_init(&f, WORKERS);
	/* 6 go idle: 2 awake, so one may search and the second may not. */
	for (int i = 2; i < WORKERS; i++)
		ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[i], &f.searching[i]), 1);
	ck_assert_int_eq(start(&f, 0), 1);
	ck_assert_int_eq(start(&f, 1), 0);
	ak__idle_destroy(&f.idle);
}
END_TEST

START_TEST(a_single_worker_may_always_search)
{
	struct fleet f;
	fleet_init(&f, 1);
	ck_assert_int_eq(start(&f, 0), 1);
	ak__idle_destroy(&f.idle);
}
END_TEST

START_TEST(a_searcher_ending_its_search_lets_a_capped_worker_search)
{
	struct fleet f;
	fleet_init(&f, 2);
	ck_assert_int_eq(start(&f, 0), 1);
	ck_assert_int_eq(start(&f, 1), 0);
	ak__idle_end_search(&f.idle, &f.searching[0], 0);
	ck_assert_int_eq(f.searching[0], 0);
	ck_assert_int_eq(start(&f, 1), 1);
	ak__idle_destroy(&f.idle);
}
END_TEST

/*
 * Work notified while the cap sends a worker idle is not lost: with a
 * searcher awake the notify leaves the token, and the capped worker going
 * idle consumes it and searches (it does not park).
 */
START_TEST(a_capped_worker_going_idle_takes_the_token_left_for_the_searchers)
{
	struct fleet f;
	fleet_init(&f, 2);
	ck_assert_int_eq(start(&f, 0), 1);
	ck_assert_int_eq(start(&f, 1), 0);
	ak__idle_notify(&f.idle);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[1], &f.searching[1]), 0);
	ck_assert_int_eq(f.searching[1], 1);
	ak__idle_destroy(&f.idle);
}
END_TEST

/* With every other worker parked, a notify wakes one as a searcher. */
START_TEST(a_notify_with_nobody_searching_wakes_an_idle_worker)
{
	struct fleet f;
	fleet_init(&f, 2);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[1], &f.searching[1]), 1);
	ak__idle_notify(&f.idle);
	/* The claim unparked it: its park returns at once. */
	ck_assert_int_eq(ak__park(&f.parker[1], AK_DEADLINE_NEVER), 0);
	/* Counted as searching from the claim: worker 0 is now capped. */
	ck_assert_int_eq(start(&f, 0), 0);
	ak__idle_destroy(&f.idle);
}
END_TEST

/* A kick wakes the kicked worker if it is parked, as a searcher. */
START_TEST(a_kick_wakes_that_idle_worker_as_a_searcher)
{
	struct fleet f;
	fleet_init(&f, 3);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[1], &f.searching[1]), 1);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[2], &f.searching[2]), 1);
	/* Worker 1 is not the top of the idle stack: the kick finds it. */
	ak__idle_kick(&f.idle, &f.parker[1]);
	ck_assert_int_eq(ak__park(&f.parker[1], AK_DEADLINE_NEVER), 0);
	/* Counted as searching from the kick: worker 0 is now capped (2
	 * awake, 1 searching). */
	ck_assert_int_eq(start(&f, 0), 0);
	/* A notify now finds a searcher and wakes nobody; worker 2 stays
	 * registered. */
	ak__idle_notify(&f.idle);
	ck_assert_int_eq(ak__park(&f.parker[2], ak_deadline_in(0)), AK_ETIMEDOUT);
	ak__idle_destroy(&f.idle);
}
END_TEST

/* A kick of a worker that is not registered idle keeps it from parking
 * at its next try, once. */
START_TEST(a_kick_before_a_worker_goes_idle_keeps_it_awake_once)
{
	struct fleet f;
	fleet_init(&f, 2);
	ak__idle_kick(&f.idle, &f.parker[1]);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[1], &f.searching[1]), 0);
	ck_assert_int_eq(f.searching[1], 1);
	ak__idle_end_search(&f.idle, &f.searching[1], 0);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[1], &f.searching[1]), 1);
	/* The kick was for worker 1: worker 0 parks. */
	ak__idle_kick(&f.idle, &f.parker[1]);
	ck_assert_int_eq(ak__idle_go(&f.idle, &f.parker[0], &f.searching[0]), 1);
	ak__idle_destroy(&f.idle);
}
END_TEST

Suite *pool_idle_suite(void)
{
	Suite *s = suite_create("pool_idle");
	TCase *tc = tk_tcase("cap");

	tcase_add_test(tc, at_most_half_of_the_awake_workers_search);
	tcase_add_test(tc, parked_workers_do_not_count_as_awake_for_the_cap);
	tcase_add_test(tc, a_single_worker_may_always_search);
	tcase_add_test(tc, a_searcher_ending_its_search_lets_a_capped_worker_search);
	tcase_add_test(tc, a_capped_worker_going_idle_takes_the_token_left_for_the_searchers);
	tcase_add_test(tc, a_notify_with_nobody_searching_wakes_an_idle_worker);
	tcase_add_test(tc, a_kick_wakes_that_idle_worker_as_a_searcher);
	tcase_add_test(tc, a_kick_before_a_worker_goes_idle_keeps_it_awake_once);
	suite_add_tcase(s, tc);
	return s;
}
