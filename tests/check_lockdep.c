/*
 * Lock-order inversion detection (include/awaitkit/lockdep.h): an AB/BA
 * pair between two Mutex classes on two executors reported once, with
 * both sites and tasks; RwLock and Mutex; a Semaphore with a class used
 * as a lock; two locks of one class nested, without and with the nesting
 * annotation; orders through branch paths (a sibling's lock is no
 * order); no report over many acquisitions in one consistent order on a
 * pool; the switch from the environment.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

Suite *lockdep_suite(void);

#define MS 1000000LL

/* ---- the handler: keeps the first report ---------------------------------- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ak_lockdep_report seen;
static int seen_n;

static void keep_first(const struct ak_lockdep_report *r, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&seen_lock);
	if (seen_n++ == 0)
		seen = *r;
	pthread_mutex_unlock(&seen_lock);
}

static void lockdep_on(void)
{
	seen_n = 0;
	ck_assert_int_eq(ak_lockdep_enable(1), 0);
	ak_lockdep_set_handler(keep_first, NULL);
}

/* Everything released: the arena goes, the teardown counts no block. */
static void lockdep_off(void)
{
	ak_lockdep_set_handler(NULL, NULL);
	ck_assert_int_eq(ak_lockdep_reset(), 0);
	ak_lockdep_enable(0);
}

/* ---- AB / BA on two executors ------------------------------------------------ */

struct pair {
	struct ak_mutex *first, *second;
	int rounds;
	int failures;
};

/* Takes first, yields while holding it, takes second, releases both. */
static int ordered_body(struct ak_co *co, void *arg)
{
	struct pair *p = arg;
	struct ak_mutex_lock_op a, b;
	for (int i = 0; i < p->rounds; i++) {
		if (ak_co_lock(co, &a, p->first) != 0) {
			p->failures++;
			continue;
		}
		ak_co_yield(co);        /* held across an await */
		if (ak_co_lock(co, &b, p->second) != 0)
			p->failures++;
		else
			ak_mutex_unlock(&b);
		ak_mutex_unlock(&a);
	}
	return 0;
}

/* Runs body as a coroutine task on a fresh executor of the run's kind. */
static void run_on_own_executor(ak_co_fn body, void *arg)
{
	struct ak_co *co = NULL;
	struct tk_exec *x = tk_exec_new("executor", 0);
	ck_assert_int_eq(ak_co_new(body, arg, 0, &co), 0);
	tk_exec_spawn(x, ak_co_future(co));
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(20000 * MS)), 0);
	ck_assert_int_eq(tk_exec_result(x, 0), 0);
	tk_exec_free(x);
	ck_assert_int_eq(ak_co_free(co), 0);
}

START_TEST(ab_then_ba_on_two_executors_is_reported_once)
{
	struct ak_mutex *a = NULL, *b = NULL;
	ck_assert_int_eq(ak_mutex_new(&a, 0), 0);
	ck_assert_int_eq(ak_mutex_new(&b, 0), 0);
	lockdep_on();

	struct pair ab = { a, b, 3, 0 }, ba = { b, a, 3, 0 };
	run_on_own_executor(ordered_body, &ab);
	ck_assert_uint_eq(ak_lockdep_count(), 0);
	run_on_own_executor(ordered_body, &ba);
	ck_assert_int_eq(ab.failures + ba.failures, 0);

	ck_assert_uint_eq(ak_lockdep_count(), 1);
	ck_assert_int_eq(seen_n, 1);
	ck_assert_int_eq(seen.kind, AK_LOCKDEP_INVERSION);
	ck_assert_uint_eq(seen.chain, 1);
	/* Now: a held, b taken; before: b held, a taken, by another task. */
	ck_assert_str_eq(seen.held.class_name, __FILE__);
	ck_assert_int_eq(seen.held.class_line, seen.prior_taken.class_line);
	ck_assert_int_eq(seen.taken.class_line, seen.prior_held.class_line);
	ck_assert_int_ne(seen.held.class_line, seen.taken.class_line);
	ck_assert_str_eq(seen.taken.file, __FILE__);
	ck_assert_int_gt(seen.taken.line, 0);
	ck_assert_int_gt(seen.prior_taken.line, 0);
	ck_assert_uint_ne(seen.taken.task, 0);
	ck_assert_uint_ne(seen.prior_taken.task, 0);
	ck_assert_uint_ne(seen.taken.task, seen.prior_taken.task);
	char line[512];
	ck_assert_int_gt(ak_lockdep_format(&seen, line, sizeof line), 0);
	ck_assert_ptr_nonnull(strstr(line, "lock order inversion"));

	lockdep_off();
	ck_assert_int_eq(ak_mutex_free(a), 0);
	ck_assert_int_eq(ak_mutex_free(b), 0);
}
END_TEST

/* ---- RwLock and Mutex ----------------------------------------------------- */

START_TEST(rwlock_read_then_mutex_against_mutex_then_write_is_reported)
{
	struct ak_rwlock *x = NULL;
	struct ak_mutex *y = NULL;
	ck_assert_int_eq(ak_rwlock_new_class(&x, 8, 0, "x"), 0);
	ck_assert_int_eq(ak_mutex_new_class(&y, 0, "y"), 0);
	lockdep_on();
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();
	struct ak_rwlock_op r, w;
	struct ak_mutex_lock_op g1, g2;
	memset(&r, 0, sizeof r);
	memset(&w, 0, sizeof w);
	memset(&g1, 0, sizeof g1);
	memset(&g2, 0, sizeof g2);

	ak_rwlock_read_init(&r, x);
	ck_assert_int_eq(tk_poll(t1, &r.future), 0);
	ak_mutex_lock_init(&g1, y);
	ck_assert_int_eq(tk_poll(t1, &g1.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g1), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 0);

	ak_mutex_lock_init(&g2, y);
	ck_assert_int_eq(tk_poll(t2, &g2.future), 0);
	ak_rwlock_write_init(&w, x);
	ck_assert_int_eq(tk_poll(t2, &w.future), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 1);
	ck_assert_int_eq(seen.kind, AK_LOCKDEP_INVERSION);
	ck_assert_str_eq(seen.held.class_name, "y");
	ck_assert_int_eq(seen.held.class_line, 0);
	ck_assert_str_eq(seen.taken.class_name, "x");
	ck_assert_int_eq(seen.taken.mode, AK_LOCK_WRITE);
	ck_assert_int_eq(seen.prior_held.mode, AK_LOCK_READ);
	ck_assert_str_eq(seen.prior_held.class_name, "x");
	ck_assert_str_eq(seen.prior_taken.class_name, "y");
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g2), 0);

	lockdep_off();
	ck_assert_int_eq(ak_rwlock_free(x), 0);
	ck_assert_int_eq(ak_mutex_free(y), 0);
}
END_TEST

/* ---- a Semaphore used as a lock -------------------------------------------- */

START_TEST(semaphore_with_a_class_inverted_with_a_mutex_is_reported)
{
	struct ak_semaphore *s = NULL, *plain = NULL;
	struct ak_mutex *m = NULL;
	ck_assert_int_eq(ak_semaphore_new_class(&s, 1, "conn"), 0);
	ck_assert_int_eq(ak_semaphore_new(&plain, 1), 0);
	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	lockdep_on();
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();
	struct ak_semaphore_acquire_op p1, p2, q1, q2;
	struct ak_mutex_lock_op g1, g2;
	memset(&p1, 0, sizeof p1);
	memset(&p2, 0, sizeof p2);
	memset(&q1, 0, sizeof q1);
	memset(&q2, 0, sizeof q2);
	memset(&g1, 0, sizeof g1);
	memset(&g2, 0, sizeof g2);

	/* A semaphore without a class is no lock: no order through it. */
	ak_semaphore_acquire_init(&q1, plain, 1);
	ck_assert_int_eq(tk_poll(t1, &q1.future), 0);
	ak_semaphore_acquire_init(&p1, s, 1);
	ck_assert_int_eq(tk_poll(t1, &p1.future), 0);
	ak_mutex_lock_init(&g1, m);
	ck_assert_int_eq(tk_poll(t1, &g1.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g1), 0);
	ck_assert_int_eq(ak_semaphore_release(&p1), 0);
	ck_assert_int_eq(ak_semaphore_release(&q1), 0);

	ak_mutex_lock_init(&g2, m);
	ck_assert_int_eq(tk_poll(t2, &g2.future), 0);
	ak_semaphore_acquire_init(&q2, plain, 1);
	ck_assert_int_eq(tk_poll(t2, &q2.future), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 0);
	ak_semaphore_acquire_init(&p2, s, 1);
	ck_assert_int_eq(tk_poll(t2, &p2.future), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 1);
	ck_assert_int_eq(seen.kind, AK_LOCKDEP_INVERSION);
	ck_assert_str_eq(seen.taken.class_name, "conn");
	ck_assert_str_eq(seen.taken.file, __FILE__);
	ck_assert_str_eq(seen.prior_held.class_name, "conn");
	ck_assert_int_eq(ak_semaphore_release(&p2), 0);
	ck_assert_int_eq(ak_semaphore_release(&q2), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g2), 0);

	lockdep_off();
	ck_assert_int_eq(ak_semaphore_free(s), 0);
	ck_assert_int_eq(ak_semaphore_free(plain), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- two locks of one class -------------------------------------------------- */

/* Locks created in a loop share the site: one class. */
static void new_pair(struct ak_mutex *m[2])
{
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ak_mutex_new(&m[i], 0), 0);
}

static void nest_two(struct ak_mutex *m[2], unsigned subclass)
{
	struct tk_task *t = tk_task_new();
	struct ak_mutex_lock_op outer, inner;
	memset(&outer, 0, sizeof outer);
	memset(&inner, 0, sizeof inner);
	ak_mutex_lock_init(&outer, m[0]);
	ck_assert_int_eq(tk_poll(t, &outer.future), 0);
	ak_mutex_lock_init(&inner, m[1]);
	if (subclass)
		ck_assert_int_eq(ak_lockdep_nest(&inner.future, subclass), 0);
	ck_assert_int_eq(tk_poll(t, &inner.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&inner), 0);
	ck_assert_int_eq(ak_mutex_unlock(&outer), 0);
}

START_TEST(two_locks_of_one_class_nested_are_reported)
{
	struct ak_mutex *m[2];
	new_pair(m);
	lockdep_on();
	nest_two(m, 0);
	nest_two(m, 0);
	ck_assert_uint_eq(ak_lockdep_count(), 1);
	ck_assert_int_eq(seen.kind, AK_LOCKDEP_SAME_CLASS);
	ck_assert_int_eq(seen.held.class_line, seen.taken.class_line);
	lockdep_off();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ak_mutex_free(m[i]), 0);
}
END_TEST

START_TEST(two_locks_of_one_class_nested_with_the_annotation_are_not_reported)
{
	struct ak_mutex *m[2];
	new_pair(m);
	lockdep_on();
	nest_two(m, 1);
	ck_assert_uint_eq(ak_lockdep_count(), 0);
	lockdep_off();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ak_mutex_free(m[i]), 0);
}
END_TEST

START_TEST(nesting_annotation_refuses_what_is_no_idle_lock_op)
{
	struct ak_mutex *m = NULL;
	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	struct ak_mutex_lock_op g;
	struct ak_yield_op y;
	memset(&g, 0, sizeof g);
	memset(&y, 0, sizeof y);
	ak_yield_init(&y);
	ck_assert_int_eq(ak_lockdep_nest(&y.future, 1), AK_EINVAL);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(ak_lockdep_nest(&g.future, AK_LOCKDEP_SUBCLASSES), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ck_assert_int_eq(ak_lockdep_nest(&g.future, 1), AK_EINVAL);   /* a guard */
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- branch paths ------------------------------------------------------------ */

START_TEST(a_lock_held_by_a_sibling_branch_makes_no_order)
{
	struct ak_mutex *a = NULL, *b = NULL;
	ck_assert_int_eq(ak_mutex_new_class(&a, 0, "a"), 0);
	ck_assert_int_eq(ak_mutex_new_class(&b, 0, "b"), 0);
	lockdep_on();
	struct tk_task *t = tk_task_new(), *u = tk_task_new();
	struct ak_mutex_lock_op ga, gb, ha, hb;
	memset(&ga, 0, sizeof ga);
	memset(&gb, 0, sizeof gb);
	memset(&ha, 0, sizeof ha);
	memset(&hb, 0, sizeof hb);
	const uint16_t left[] = { 0 }, right[] = { 1 };

	/* join!(branch 0: holds a, branch 1: takes b): no a-then-b. */
	ak_mutex_lock_init(&ga, a);
	ck_assert_int_eq(tk_poll_path(t, &ga.future, 1, left), 0);
	ak_mutex_lock_init(&gb, b);
	ck_assert_int_eq(tk_poll_path(t, &gb.future, 1, right), 0);
	ck_assert_int_eq(ak_mutex_unlock(&gb), 0);
	ck_assert_int_eq(ak_mutex_unlock(&ga), 0);

	/* b then a elsewhere: nothing to invert. */
	ak_mutex_lock_init(&hb, b);
	ck_assert_int_eq(tk_poll(u, &hb.future), 0);
	ak_mutex_lock_init(&ha, a);
	ck_assert_int_eq(tk_poll(u, &ha.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&ha), 0);
	ck_assert_int_eq(ak_mutex_unlock(&hb), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 0);

	lockdep_off();
	ck_assert_int_eq(ak_mutex_free(a), 0);
	ck_assert_int_eq(ak_mutex_free(b), 0);
}
END_TEST

START_TEST(a_lock_held_above_a_branch_orders_the_branch_locks)
{
	struct ak_mutex *a = NULL, *b = NULL;
	ck_assert_int_eq(ak_mutex_new_class(&a, 0, "a"), 0);
	ck_assert_int_eq(ak_mutex_new_class(&b, 0, "b"), 0);
	lockdep_on();
	struct tk_task *t = tk_task_new(), *u = tk_task_new();
	struct ak_mutex_lock_op ga, gb, ha, hb;
	memset(&ga, 0, sizeof ga);
	memset(&gb, 0, sizeof gb);
	memset(&ha, 0, sizeof ha);
	memset(&hb, 0, sizeof hb);
	const uint16_t root[] = { 0 }, under[] = { 0, 1, 2 };

	ak_mutex_lock_init(&ga, a);
	ck_assert_int_eq(tk_poll_path(t, &ga.future, 1, root), 0);
	ak_mutex_lock_init(&gb, b);
	ck_assert_int_eq(tk_poll_path(t, &gb.future, 3, under), 0);
	ck_assert_int_eq(ak_mutex_unlock(&gb), 0);
	ck_assert_int_eq(ak_mutex_unlock(&ga), 0);

	ak_mutex_lock_init(&hb, b);
	ck_assert_int_eq(tk_poll(u, &hb.future), 0);
	ak_mutex_lock_init(&ha, a);
	ck_assert_int_eq(tk_poll(u, &ha.future), 0);
	ck_assert_uint_eq(ak_lockdep_count(), 1);
	ck_assert_int_eq(seen.prior_taken.path.len, 3);
	ck_assert_int_eq(seen.prior_held.path.len, 1);
	ck_assert_int_eq(ak_mutex_unlock(&ha), 0);
	ck_assert_int_eq(ak_mutex_unlock(&hb), 0);

	lockdep_off();
	ck_assert_int_eq(ak_mutex_free(a), 0);
	ck_assert_int_eq(ak_mutex_free(b), 0);
}
END_TEST

/* ---- a consistent order, many times, on a pool ------------------------------- */

#define NLOCKS 6
#define WORKERS 4
#define ACQUISITIONS 10000

static const char *const names[NLOCKS] = { "l0", "l1", "l2", "l3", "l4", "l5" };

struct random_walker {
	struct ak_mutex **m;
	unsigned seed;
	int taken;
	int failures;
};

/* Random subsets of the locks, each taken in index order, held across
 * yields, released in a random order. */
static int walker_body(struct ak_co *co, void *arg)
{
	struct random_walker *w = arg;
	struct ak_mutex_lock_op g[NLOCKS];
	int held[NLOCKS];
	while (w->taken < ACQUISITIONS / WORKERS) {
		int n = 0;
		for (int i = 0; i < NLOCKS; i++) {
			if (rand_r(&w->seed) % 2)
				continue;
			if (ak_co_lock(co, &g[i], w->m[i]) != 0) {
				w->failures++;
				continue;
			}
			held[n++] = i;
			w->taken++;
			if (rand_r(&w->seed) % 4 == 0)
				ak_co_yield(co);
		}
		while (n > 0) {
			int k = (int)(rand_r(&w->seed) % (unsigned)n);
			if (ak_mutex_unlock(&g[held[k]]) != 0)
				w->failures++;
			held[k] = held[--n];
		}
	}
	return 0;
}

START_TEST(many_acquisitions_in_one_order_report_nothing)
{
	struct ak_mutex *m[NLOCKS];
	for (int i = 0; i < NLOCKS; i++)
		ck_assert_int_eq(ak_mutex_new_class(&m[i], 0, names[i]), 0);
	lockdep_on();
	struct tk_exec *x = tk_exec_new("pool", 2);
	struct random_walker w[WORKERS];
	struct ak_co *co[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct random_walker){ m, 12345u + (unsigned)i, 0, 0 };
		ck_assert_int_eq(ak_co_new(walker_body, &w[i], 0, &co[i]), 0);
		tk_exec_spawn(x, ak_co_future(co[i]));
	}
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(60000 * MS)), 0);
	int taken = 0;
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_eq(tk_exec_result(x, i), 0);
		ck_assert_int_eq(w[i].failures, 0);
		taken += w[i].taken;
	}
	tk_exec_free(x);
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(ak_co_free(co[i]), 0);
	ck_assert_int_ge(taken, ACQUISITIONS);
	ck_assert_uint_eq(ak_lockdep_count(), 0);
	lockdep_off();
	for (int i = 0; i < NLOCKS; i++)
		ck_assert_int_eq(ak_mutex_free(m[i]), 0);
}
END_TEST

/* ---- the switch ---------------------------------------------------------------- */

START_TEST(environment_turns_it_on_and_the_function_wins)
{
	/* Each test runs in a fresh process: the switch is still unread. */
	setenv("AK_LOCKDEP", "1", 1);
	ck_assert_int_eq(ak_lockdep_enabled(), 1);
	ck_assert_int_eq(ak_lockdep_enable(0), 0);
	ck_assert_int_eq(ak_lockdep_enabled(), 0);
	unsetenv("AK_LOCKDEP");
}
END_TEST

START_TEST(off_it_records_nothing)
{
	struct ak_mutex *a = NULL, *b = NULL;
	ck_assert_int_eq(ak_mutex_new(&a, 0), 0);
	ck_assert_int_eq(ak_mutex_new(&b, 0), 0);
	ak_lockdep_enable(0);
	struct pair ab = { a, b, 1, 0 }, ba = { b, a, 1, 0 };
	run_on_own_executor(ordered_body, &ab);
	run_on_own_executor(ordered_body, &ba);
	ck_assert_uint_eq(ak_lockdep_count(), 0);
	ck_assert_int_eq(ak_mutex_free(a), 0);
	ck_assert_int_eq(ak_mutex_free(b), 0);
}
END_TEST

START_TEST(reset_is_ebusy_while_a_recorded_lock_is_held)
{
	struct ak_mutex *m = NULL;
	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	lockdep_on();
	struct tk_task *t = tk_task_new();
	struct ak_mutex_lock_op g;
	memset(&g, 0, sizeof g);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(t, &g.future), 0);
	ck_assert_int_eq(ak_lockdep_reset(), AK_EBUSY);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	lockdep_off();
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

Suite *lockdep_suite(void)
{
	Suite *s = suite_create("lockdep");
	TCase *tc = tk_tcase("lockdep");
	TCase *tt = tk_tasks_tcase();
	tcase_add_test(tt, ab_then_ba_on_two_executors_is_reported_once);
	tcase_add_test(tc, rwlock_read_then_mutex_against_mutex_then_write_is_reported);
	tcase_add_test(tc, semaphore_with_a_class_inverted_with_a_mutex_is_reported);
	tcase_add_test(tc, two_locks_of_one_class_nested_are_reported);
	tcase_add_test(tc, two_locks_of_one_class_nested_with_the_annotation_are_not_reported);
	tcase_add_test(tc, nesting_annotation_refuses_what_is_no_idle_lock_op);
	tcase_add_test(tc, a_lock_held_by_a_sibling_branch_makes_no_order);
	tcase_add_test(tc, a_lock_held_above_a_branch_orders_the_branch_locks);
	tcase_add_test(tt, many_acquisitions_in_one_order_report_nothing);
	tcase_add_test(tc, environment_turns_it_on_and_the_function_wins);
	tcase_add_test(tt, off_it_records_nothing);
	tcase_add_test(tc, reset_is_ebusy_while_a_recorded_lock_is_held);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
