/*
 * ak_pool_new_with(3) and struct ak_pool_options: the defaults, what each
 * knob changes that a task can observe, and the refusals.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

#define MS 1000000LL

static atomic_int order;        /* the next position a task takes */

/* Parks at its first poll, keeping its waker; notes its position when
 * polled again. */
struct sleeper {
	struct ak_future future;
	struct ak_waker waker;
	atomic_int parked;
	int position;
};

static int sleeper_poll(struct ak_future *base, struct ak_context *cx)
{
	struct sleeper *s = (struct sleeper *)base;

	if (!atomic_load(&s->parked)) {
		ak_waker_clone(&cx->waker, &s->waker);
		atomic_store(&s->parked, 1);
		return AK_PENDING;
	}
	s->position = atomic_fetch_add(&order, 1);
	return 0;
}

/* Notes its position at its first poll. */
struct marker {
	struct ak_future future;
	int position;
};

static int marker_poll(struct ak_future *base, struct ak_context *cx)
{
	(void)cx;
	((struct marker *)base)->position = atomic_fetch_add(&order, 1);
	return 0;
}

/* Spawns the marker, then wakes the sleeper: both from inside its poll. */
struct waker_task {
	struct ak_future future;
	struct ak_pool *pool;
	struct sleeper *sleeper;
	struct marker *marker;
};

static int waker_task_poll(struct ak_future *base, struct ak_context *cx)
{
	struct waker_task *w = (struct waker_task *)base;

	(void)cx;
	ck_assert_int_eq(ak_pool_spawn(w->pool, &w->marker->future, NULL), 0);
	ak_waker_wake(&w->sleeper->waker);
	return 0;
}

static void no_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable sleeper_vtable = { sleeper_poll, no_cancel };
static const struct ak_future_vtable marker_vtable = { marker_poll, no_cancel };
static const struct ak_future_vtable waker_task_vtable = { waker_task_poll, no_cancel };

/* On one worker with lifo_max as given: 1 if the woken sleeper ran before
 * the marker spawned just before the wake. */
static int woken_runs_first(int lifo_max)
{
	struct ak_pool_options o;
	struct ak_pool *p;
	struct sleeper s = { 0 };
	struct marker m = { 0 };
	struct waker_task w = { 0 };

	ak_pool_options_init(&o);
	o.nworkers = 1;
	o.lifo_max = lifo_max;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), 0);
	atomic_store(&order, 0);
	ck_assert_int_eq(ak_future_init(&s.future, &sleeper_vtable), 0);
	ck_assert_int_eq(ak_future_init(&m.future, &marker_vtable), 0);
	ck_assert_int_eq(ak_future_init(&w.future, &waker_task_vtable), 0);
	w.pool = p;
	w.sleeper = &s;
	w.marker = &m;
	ck_assert_int_eq(ak_pool_spawn(p, &s.future, NULL), 0);
	while (!atomic_load(&s.parked))
		tk_sleep_ns(50000);
	ck_assert_int_eq(ak_pool_spawn(p, &w.future, NULL), 0);
	ck_assert_int_eq(ak_pool_wait_idle(p, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
	return s.position < m.position;
}

START_TEST(options_init_gives_the_documented_defaults)
{
	struct ak_pool_options o;

	memset(&o, 0x5a, sizeof o);
	ak_pool_options_init(&o);
	ck_assert_int_eq(o.nworkers, 0);
	ck_assert_int_eq(o.idle_spins, 128);
	ck_assert_int_eq(o.lifo_max, 3);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(o.reserved_[i], 0);
}
END_TEST

START_TEST(a_task_woken_by_a_task_runs_next_from_the_lifo_slot)
{
	ck_assert_int_eq(woken_runs_first(3), 1);
}
END_TEST

START_TEST(with_lifo_max_zero_a_woken_task_queues_behind_the_others)
{
	ck_assert_int_eq(woken_runs_first(0), 0);
}
END_TEST

/* Wakes from another thread reach tasks on workers that never spin. */
START_TEST(a_pool_that_parks_at_once_runs_tasks_woken_from_outside)
{
	enum { TASKS = 64 };
	struct ak_pool_options o;
	struct ak_pool *p;
	struct sleeper *s = calloc(TASKS, sizeof *s);

	ck_assert_ptr_nonnull(s);
	ak_pool_options_init(&o);
	o.nworkers = 2;
	o.idle_spins = 0;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), 0);
	for (int i = 0; i < TASKS; i++) {
		ck_assert_int_eq(ak_future_init(&s[i].future, &sleeper_vtable), 0);
		ck_assert_int_eq(ak_pool_spawn(p, &s[i].future, NULL), 0);
	}
	for (int i = 0; i < TASKS; i++) {
		while (!atomic_load(&s[i].parked))
			tk_sleep_ns(50000);
		ak_waker_wake(&s[i].waker);
		tk_sleep_ns(i % 8 == 0 ? 200000 : 0);   /* let the workers park */
	}
	ck_assert_int_eq(ak_pool_wait_idle(p, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_pool_free(p), 0);
	free(s);
}
END_TEST

START_TEST(bad_options_return_einval_and_create_nothing)
{
	struct ak_pool_options o;
	struct ak_pool *p = NULL;

	ak_pool_options_init(&o);
	ck_assert_int_eq(ak_pool_new_with(NULL, &o), AK_EINVAL);
	ck_assert_int_eq(ak_pool_new_with(&p, NULL), AK_EINVAL);
	o.idle_spins = -1;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), AK_EINVAL);
	o.idle_spins = AK_POOL_MAX_IDLE_SPINS + 1;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), AK_EINVAL);
	ak_pool_options_init(&o);
	o.lifo_max = AK_POOL_MAX_LIFO + 1;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), AK_EINVAL);
	ak_pool_options_init(&o);
	o.nworkers = AK_POOL_MAX_WORKERS + 1;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), AK_EINVAL);
	ak_pool_options_init(&o);
	o.reserved_[4] = 1;
	ck_assert_int_eq(ak_pool_new_with(&p, &o), AK_EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

Suite *pool_options_suite(void)
{
	Suite *s = suite_create("pool_options");
	TCase *tc = tk_tcase("options");

	tcase_add_test(tc, options_init_gives_the_documented_defaults);
	tcase_add_test(tc, a_task_woken_by_a_task_runs_next_from_the_lifo_slot);
	tcase_add_test(tc, with_lifo_max_zero_a_woken_task_queues_behind_the_others);
	tcase_add_test(tc, a_pool_that_parks_at_once_runs_tasks_woken_from_outside);
	tcase_add_test(tc, bad_options_return_einval_and_create_nothing);
	suite_add_tcase(s, tc);
	return s;
}
