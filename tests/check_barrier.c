/*
 * The Barrier (<awaitkit/barrier.h>): one leader per generation, reuse,
 * cancel un-arriving before the release and counting after it, the
 * blocking form across threads, bad inputs.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "testkit.h"

Suite *barrier_suite(void);

static struct ak_barrier *new_barrier(size_t n)
{
	struct ak_barrier *b = NULL;
	ck_assert_int_eq(ak_barrier_new(&b, n), 0);
	return b;
}

static void init_wait(struct ak_barrier_wait_op *op, struct ak_barrier *b, int *leader)
{
	memset(op, 0, sizeof(*op));
	*leader = -1;
	ck_assert_int_eq(ak_barrier_wait_init(op, b, leader), 0);
}

START_TEST(one_leader_per_generation_across_three_generations)
{
	struct ak_barrier *b = new_barrier(3);
	struct ak_barrier_wait_op op[3];
	struct tk_task *t[3];
	int leader[3];

	for (int i = 0; i < 3; i++)
		t[i] = tk_task_new();
	for (int gen = 0; gen < 3; gen++) {
		int last = (gen + 1) % 3;   /* a different task arrives last each time */
		for (int i = 0; i < 3; i++)
			init_wait(&op[i], b, &leader[i]);
		for (int i = 0; i < 3; i++) {
			if (i == last)
				continue;
			ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
			ck_assert_int_eq(leader[i], -1);   /* written only on completion */
		}
		ck_assert_int_eq(tk_poll(t[last], &op[last].future), 0);
		ck_assert_int_eq(leader[last], 1);
		for (int i = 0; i < 3; i++) {
			if (i == last)
				continue;
			ck_assert(tk_task_take_woken(t[i]));
			ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
			ck_assert_int_eq(leader[i], 0);
		}
	}
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(a_wait_cancelled_before_the_release_un_arrives)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op x, y, z;
	struct tk_task *tx = tk_task_new(), *ty = tk_task_new(), *tz = tk_task_new();
	int lx, ly, lz;

	init_wait(&x, b, &lx);
	ck_assert_int_eq(tk_poll(tx, &x.future), AK_PENDING);
	ak_future_cancel(&x.future);
	init_wait(&y, b, &ly);
	ck_assert_int_eq(tk_poll(ty, &y.future), AK_PENDING);   /* not released */
	init_wait(&z, b, &lz);
	ck_assert_int_eq(tk_poll(tz, &z.future), 0);
	ck_assert_int_eq(lz, 1);
	ck_assert(tk_task_take_woken(ty));
	ck_assert_int_eq(tk_poll(ty, &y.future), 0);
	ck_assert_int_eq(ly, 0);
	ck_assert_int_eq(lx, -1);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(a_wait_cancelled_after_the_release_still_counts_as_arrived)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op x, y, z, w;
	struct tk_task *tx = tk_task_new(), *ty = tk_task_new();
	int lx, ly, lz, lw;

	init_wait(&x, b, &lx);
	ck_assert_int_eq(tk_poll(tx, &x.future), AK_PENDING);
	init_wait(&y, b, &ly);
	ck_assert_int_eq(tk_poll(ty, &y.future), 0);
	ck_assert_int_eq(ly, 1);
	ck_assert(tk_task_take_woken(tx));
	ak_future_cancel(&x.future);            /* released, never observed */
	ck_assert_int_eq(lx, -1);
	/* The next generation starts from zero arrivals. */
	init_wait(&z, b, &lz);
	ck_assert_int_eq(tk_poll(tx, &z.future), AK_PENDING);
	init_wait(&w, b, &lw);
	ck_assert_int_eq(tk_poll(ty, &w.future), 0);
	ck_assert_int_eq(lw, 1);
	ck_assert_int_eq(tk_poll(tx, &z.future), 0);
	ck_assert_int_eq(lz, 0);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(a_barrier_of_one_makes_every_wait_a_leader)
{
	struct ak_barrier *b = new_barrier(1);
	struct ak_barrier_wait_op op;
	struct tk_task *t = tk_task_new();
	int l;

	for (int i = 0; i < 3; i++) {
		init_wait(&op, b, &l);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		ck_assert_int_eq(l, 1);
	}
	ck_assert_uint_eq(ak_barrier_parties(b), 1);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(free_with_waiters_is_ebusy)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op op;
	struct tk_task *t = tk_task_new();
	int l;

	init_wait(&op, b, &l);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_barrier_free(b), AK_EBUSY);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(a_released_wait_no_longer_needs_the_barrier)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op w, lead;
	struct tk_task *t = tk_task_new(), *t2 = tk_task_new();
	int l = -1, l2 = -1;

	init_wait(&w, b, &l);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);
	init_wait(&lead, b, &l2);
	ck_assert_int_eq(tk_poll(t2, &lead.future), 0);       /* releases w */
	ck_assert_int_eq(l2, 1);
	ck_assert(tk_task_take_woken(t));
	/* Released and not yet polled: out of the queue, the free succeeds. */
	ck_assert_int_eq(ak_barrier_free(b), 0);
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	ck_assert_int_eq(l, 0);
	ak_future_cancel(&w.future);                          /* done: a no-op */
}
END_TEST

START_TEST(a_blocking_wait_that_times_out_un_arrives)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op op, x;
	struct tk_task *t = tk_task_new();
	int l = -1, lx;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_barrier_wait_blocking(&op, b, &l, ak_deadline_in(10000000)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(l, -1);
	init_wait(&x, b, &lx);
	ck_assert_int_eq(tk_poll(t, &x.future), AK_PENDING);
	ck_assert_int_eq(ak_barrier_wait_blocking(&op, b, &l, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(l, 1);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &x.future), 0);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

/* More waits than a wake list holds: the leader drops the lock to wake. */
#define MANY 70

START_TEST(a_leader_releases_more_waits_than_one_wake_list_holds)
{
	static struct ak_barrier_wait_op op[MANY];
	static int leader[MANY];
	struct tk_task *t[MANY];
	struct ak_barrier *b = new_barrier(MANY);

	for (int i = 0; i < MANY; i++) {
		t[i] = tk_task_new();
		init_wait(&op[i], b, &leader[i]);
	}
	for (int i = 0; i < MANY - 1; i++)
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t[MANY - 1], &op[MANY - 1].future), 0);
	ck_assert_int_eq(leader[MANY - 1], 1);
	for (int i = 0; i < MANY - 1; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
		ck_assert_int_eq(leader[i], 0);
	}
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(a_wait_with_its_budget_spent_does_not_arrive)
{
	struct ak_barrier *b = new_barrier(2);
	struct ak_barrier_wait_op x, y;
	struct tk_task *tx = tk_task_new(), *ty = tk_task_new();
	int lx, ly;

	init_wait(&x, b, &lx);
	ck_assert_int_eq(tk_poll_budget(tx, &x.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(tx));      /* it yields, not arrived */
	init_wait(&y, b, &ly);
	ck_assert_int_eq(tk_poll(ty, &y.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tx, &x.future), 0);
	ck_assert_int_eq(lx, 1);
	ck_assert(tk_task_take_woken(ty));
	ck_assert_int_eq(tk_poll(ty, &y.future), 0);
	ck_assert_int_eq(ly, 0);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

#define THREADS 4
#define GENERATIONS 500

struct party {
	pthread_t th;
	struct ak_barrier *b;
	int *phase;              /* written by the leader between generations */
	int leaders;
	int failures;
};

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct ak_barrier_wait_op op;
	int leader;

	memset(&op, 0, sizeof(op));
	for (int g = 0; g < GENERATIONS; g++) {
		if (*p->phase != g)
			p->failures++;
		if (ak_barrier_wait_blocking(&op, p->b, &leader, AK_DEADLINE_NEVER) != 0) {
			p->failures++;
			continue;
		}
		if (leader) {
			p->leaders++;
			(*p->phase)++;      /* alone: the others wait for the next release */
		}
		if (ak_barrier_wait_blocking(&op, p->b, &leader, AK_DEADLINE_NEVER) != 0)
			p->failures++;
	}
	return NULL;
}

START_TEST(threads_meet_generation_after_generation_with_one_leader_each)
{
	struct ak_barrier *b = new_barrier(THREADS);
	struct party p[THREADS];
	int phase = 0, leaders = 0, failures = 0;

	for (int i = 0; i < THREADS; i++) {
		p[i] = (struct party){ .b = b, .phase = &phase };
		ck_assert_int_eq(pthread_create(&p[i].th, NULL, party_main, &p[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(p[i].th, NULL);
		leaders += p[i].leaders;
		failures += p[i].failures;
	}
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq(leaders, GENERATIONS);
	ck_assert_int_eq(phase, GENERATIONS);
	ck_assert_int_eq(ak_barrier_free(b), 0);
}
END_TEST

START_TEST(bad_inputs_are_einval)
{
	struct ak_barrier *b = NULL;
	struct ak_barrier_wait_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_barrier_new(&b, 0), AK_EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(ak_barrier_new(NULL, 2), AK_EINVAL);
	ck_assert_int_eq(ak_barrier_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_barrier_wait_init(NULL, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_barrier_wait_init(&op, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_barrier_wait_blocking(&op, NULL, NULL, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_uint_eq(ak_barrier_parties(NULL), 0);
	ck_assert_uint_eq(ak_op_size(AK_OP_BARRIER_WAIT), sizeof(struct ak_barrier_wait_op));
}
END_TEST

Suite *barrier_suite(void)
{
	Suite *s = suite_create("barrier");
	TCase *tc = tk_tcase("barrier");

	tcase_add_test(tc, one_leader_per_generation_across_three_generations);
	tcase_add_test(tc, a_wait_cancelled_before_the_release_un_arrives);
	tcase_add_test(tc, a_wait_cancelled_after_the_release_still_counts_as_arrived);
	tcase_add_test(tc, a_barrier_of_one_makes_every_wait_a_leader);
	tcase_add_test(tc, free_with_waiters_is_ebusy);
	tcase_add_test(tc, a_released_wait_no_longer_needs_the_barrier);
	tcase_add_test(tc, a_blocking_wait_that_times_out_un_arrives);
	tcase_add_test(tc, a_leader_releases_more_waits_than_one_wake_list_holds);
	tcase_add_test(tc, a_wait_with_its_budget_spent_does_not_arrive);
	tcase_add_test(tc, threads_meet_generation_after_generation_with_one_leader_each);
	tcase_add_test(tc, bad_inputs_are_einval);
	suite_add_tcase(s, tc);
	return s;
}
