/*
 * tests/check_uv.c: the libuv adapter (ak_uv(3)) on a real uv loop,
 * through the host-loop tests of tests/loops.c.
 */
#include <stdlib.h>
#include <check.h>
#include <awaitkit/uv.h>

#include "loops.h"
#include "testkit.h"

Suite *uv_suite(void);

static void t_uv_open(struct lp *l)
{
	uv_loop_t *loop = malloc(sizeof(*loop));
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(uv_loop_init(loop), 0);
	struct ak_uv *uv;
	ck_assert_int_eq(ak_uv_new(loop, &uv), 0);
	l->loop = loop;
	l->ad = uv;
}

static int t_uv_spawn(struct lp *l, struct ak_future *f, struct ak_task **h)
{
	return ak_uv_spawn(l->ad, f, h);
}

static size_t t_uv_count(struct lp *l)
{
	return ak_uv_task_count(l->ad);
}

static void t_uv_run_all(struct lp *l)
{
	uv_run(l->loop, UV_RUN_DEFAULT);
}

static void t_uv_run_one(struct lp *l)
{
	uv_run(l->loop, UV_RUN_ONCE);
}

static int t_uv_close_ad(struct lp *l)
{
	return ak_uv_close(l->ad);
}

static void t_uv_finish(struct lp *l)
{
	/* The async handle's close callback, and any wait handle's. */
	uv_run(l->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(l->loop), 0);   /* nothing left */
	free(l->loop);
}

struct later {
	uv_timer_t timer;
	void (*fn)(void *);
	void *arg;
};

static void later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void later_cb(uv_timer_t *t)
{
	struct later *c = t->data;
	c->fn(c->arg);
	uv_close((uv_handle_t *)t, later_closed);
}

static void t_uv_call_later(struct lp *l, int ms, void (*fn)(void *), void *arg)
{
	struct later *c = malloc(sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->fn = fn;
	c->arg = arg;
	uv_timer_init(l->loop, &c->timer);
	c->timer.data = c;
	uv_timer_start(&c->timer, later_cb, (uint64_t)ms, 0);
}

static int t_uv_sleep(void *op, struct lp *l, int64_t deadline)
{
	return ak_uv_sleep_init(op, l->ad, deadline);
}

static int t_uv_poll_readable(void *op, struct lp *l, int fd, int *revents)
{
	return ak_uv_poll_init(op, l->ad, fd, UV_READABLE, revents);
}

static const struct lp_ops uv_ops = {
	.open = t_uv_open, .spawn = t_uv_spawn, .count = t_uv_count,
	.run = t_uv_run_all, .run_once = t_uv_run_one, .close = t_uv_close_ad,
	.finish = t_uv_finish, .call_later = t_uv_call_later,
	.sleep_size = sizeof(struct ak_uv_sleep_op),
	.poll_size = sizeof(struct ak_uv_poll_op),
	.sleep_init = t_uv_sleep, .poll_readable_init = t_uv_poll_readable,
	.readable = UV_READABLE,
};

START_TEST(uv_spawned_task_runs_to_its_result) { lp_spawn_and_join(&uv_ops); }
END_TEST
START_TEST(uv_spawn_refuses_a_zeroed_or_claimed_body) { lp_spawn_refused(&uv_ops); }
END_TEST
START_TEST(uv_wakes_from_many_threads_deliver_every_value) { lp_wake_from_many_threads(&uv_ops); }
END_TEST
START_TEST(uv_task_woken_during_its_poll_is_polled_again) { lp_wake_during_poll(&uv_ops); }
END_TEST
START_TEST(uv_sleep_completes_not_before_its_deadline) { lp_sleep(&uv_ops); }
END_TEST
START_TEST(uv_poll_completes_when_the_pipe_is_readable) { lp_fd_readiness(&uv_ops); }
END_TEST
START_TEST(uv_close_while_other_threads_wake_is_safe) { lp_close_while_waking(&uv_ops); }
END_TEST
START_TEST(uv_close_cancels_unfinished_tasks) { lp_close_cancels(&uv_ops); }
END_TEST
START_TEST(uv_blocking_call_in_a_loop_callback_fails_edeadlk) { lp_blocking_in_callback(&uv_ops); }
END_TEST
START_TEST(uv_cancel_from_another_thread_while_parked_is_carried_out_by_the_loop) { lp_cancel_from_another_thread_while_parked(&uv_ops); }
END_TEST
START_TEST(uv_cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends) { lp_cancel_from_another_thread_during_the_poll(&uv_ops); }
END_TEST
START_TEST(uv_cancel_during_a_poll_that_completes_leaves_the_result) { lp_cancel_during_a_poll_that_completes(&uv_ops); }
END_TEST
START_TEST(uv_cancel_from_another_thread_after_completion_changes_nothing) { lp_cancel_from_another_thread_after_completion(&uv_ops); }
END_TEST
START_TEST(uv_cancel_from_another_thread_while_the_loop_runs_its_timers) { lp_cancel_from_another_thread_while_the_loop_runs(&uv_ops); }
END_TEST
START_TEST(uv_cancel_from_other_threads_racing_the_close_cancels_each_once) { lp_cancel_from_other_threads_racing_the_close(&uv_ops); }
END_TEST

Suite *uv_suite(void)
{
	Suite *s = suite_create("uv");
	TCase *tc = tk_tcase("uv");
	tcase_add_test(tc, uv_spawned_task_runs_to_its_result);
	tcase_add_test(tc, uv_spawn_refuses_a_zeroed_or_claimed_body);
	tcase_add_test(tc, uv_wakes_from_many_threads_deliver_every_value);
	tcase_add_test(tc, uv_task_woken_during_its_poll_is_polled_again);
	tcase_add_test(tc, uv_sleep_completes_not_before_its_deadline);
	tcase_add_test(tc, uv_poll_completes_when_the_pipe_is_readable);
	tcase_add_test(tc, uv_close_while_other_threads_wake_is_safe);
	tcase_add_test(tc, uv_close_cancels_unfinished_tasks);
	tcase_add_test(tc, uv_blocking_call_in_a_loop_callback_fails_edeadlk);
	tcase_add_test(tc, uv_cancel_from_another_thread_while_parked_is_carried_out_by_the_loop);
	tcase_add_test(tc, uv_cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends);
	tcase_add_test(tc, uv_cancel_during_a_poll_that_completes_leaves_the_result);
	tcase_add_test(tc, uv_cancel_from_another_thread_after_completion_changes_nothing);
	tcase_add_test(tc, uv_cancel_from_another_thread_while_the_loop_runs_its_timers);
	tcase_add_test(tc, uv_cancel_from_other_threads_racing_the_close_cancels_each_once);
	suite_add_tcase(s, tc);
	return s;
}
