/*
 * tests/check_event.c: the libevent adapter (ak_event(3)) on a real
 * event_base, through the host-loop tests of tests/loops.c.
 */
#include <stdlib.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <awaitkit/event.h>

#include "loops.h"
#include "testkit.h"

Suite *event_suite(void);

static void ev_open(struct lp *l)
{
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	ck_assert_ptr_nonnull(base);
	struct ak_event *ev;
	ck_assert_int_eq(ak_event_new(base, &ev), 0);
	l->loop = base;
	l->ad = ev;
}

static int ev_spawn(struct lp *l, struct ak_future *f, struct ak_task **h)
{
	return ak_event_spawn(l->ad, f, h);
}

static size_t ev_count(struct lp *l)
{
	return ak_event_task_count(l->ad);
}

static void ev_run_all(struct lp *l)
{
	ck_assert_int_ge(event_base_dispatch(l->loop), 0);
}

static void ev_run_one(struct lp *l)
{
	event_base_loop(l->loop, EVLOOP_ONCE);
}

static int ev_close_ad(struct lp *l)
{
	return ak_event_close(l->ad);
}

/* Every event but the base's own (its thread-notify event, whose
 * argument is the base). */
static int count_event(const struct event_base *b, const struct event *e, void *arg)
{
	if (event_get_callback_arg(e) != (const void *)b)
		++*(int *)arg;
	return 0;
}

static void ev_finish(struct lp *l)
{
	int n = 0;
	event_base_foreach_event(l->loop, count_event, &n);
	ck_assert_int_eq(n, 0);                  /* nothing of ours left */
	event_base_free(l->loop);
}

struct later {
	struct event *ev;
	void (*fn)(void *);
	void *arg;
};

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct later *c = arg;
	(void)fd;
	(void)what;
	c->fn(c->arg);
	event_free(c->ev);
	free(c);
}

static void ev_call_later(struct lp *l, int ms, void (*fn)(void *), void *arg)
{
	struct later *c = malloc(sizeof(*c));
	ck_assert_ptr_nonnull(c);
	c->fn = fn;
	c->arg = arg;
	c->ev = evtimer_new(l->loop, later_cb, c);
	struct timeval tv = { 0, ms * 1000 };
	ck_assert_int_eq(evtimer_add(c->ev, &tv), 0);
}

static int ev_sleep(void *op, struct lp *l, int64_t deadline)
{
	return ak_event_sleep_init(op, l->ad, deadline);
}

static int ev_poll_readable(void *op, struct lp *l, int fd, int *revents)
{
	return ak_event_poll_init(op, l->ad, fd, EV_READ, revents);
}

static const struct lp_ops ev_ops = {
	.open = ev_open, .spawn = ev_spawn, .count = ev_count,
	.run = ev_run_all, .run_once = ev_run_one, .close = ev_close_ad,
	.finish = ev_finish, .call_later = ev_call_later,
	.sleep_size = sizeof(struct ak_event_sleep_op),
	.poll_size = sizeof(struct ak_event_poll_op),
	.sleep_init = ev_sleep, .poll_readable_init = ev_poll_readable,
	.readable = EV_READ,
};

START_TEST(event_spawned_task_runs_to_its_result) { lp_spawn_and_join(&ev_ops); }
END_TEST
START_TEST(event_spawn_refuses_a_zeroed_or_claimed_body) { lp_spawn_refused(&ev_ops); }
END_TEST
START_TEST(event_wakes_from_many_threads_deliver_every_value) { lp_wake_from_many_threads(&ev_ops); }
END_TEST
START_TEST(event_task_woken_during_its_poll_is_polled_again) { lp_wake_during_poll(&ev_ops); }
END_TEST
START_TEST(event_sleep_completes_not_before_its_deadline) { lp_sleep(&ev_ops); }
END_TEST
START_TEST(event_poll_completes_when_the_pipe_is_readable) { lp_fd_readiness(&ev_ops); }
END_TEST
START_TEST(event_close_while_other_threads_wake_is_safe) { lp_close_while_waking(&ev_ops); }
END_TEST
START_TEST(event_close_cancels_unfinished_tasks) { lp_close_cancels(&ev_ops); }
END_TEST
START_TEST(event_blocking_call_in_a_loop_callback_fails_edeadlk) { lp_blocking_in_callback(&ev_ops); }
END_TEST
START_TEST(event_cancel_from_another_thread_while_parked_is_carried_out_by_the_loop) { lp_cancel_from_another_thread_while_parked(&ev_ops); }
END_TEST
START_TEST(event_cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends) { lp_cancel_from_another_thread_during_the_poll(&ev_ops); }
END_TEST
START_TEST(event_cancel_during_a_poll_that_completes_leaves_the_result) { lp_cancel_during_a_poll_that_completes(&ev_ops); }
END_TEST
START_TEST(event_cancel_from_another_thread_after_completion_changes_nothing) { lp_cancel_from_another_thread_after_completion(&ev_ops); }
END_TEST
START_TEST(event_cancel_from_another_thread_while_the_loop_runs_its_timers) { lp_cancel_from_another_thread_while_the_loop_runs(&ev_ops); }
END_TEST
START_TEST(event_cancel_from_other_threads_racing_the_close_cancels_each_once) { lp_cancel_from_other_threads_racing_the_close(&ev_ops); }
END_TEST

Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *tc = tk_tcase("event");
	tcase_add_test(tc, event_spawned_task_runs_to_its_result);
	tcase_add_test(tc, event_spawn_refuses_a_zeroed_or_claimed_body);
	tcase_add_test(tc, event_wakes_from_many_threads_deliver_every_value);
	tcase_add_test(tc, event_task_woken_during_its_poll_is_polled_again);
	tcase_add_test(tc, event_sleep_completes_not_before_its_deadline);
	tcase_add_test(tc, event_poll_completes_when_the_pipe_is_readable);
	tcase_add_test(tc, event_close_while_other_threads_wake_is_safe);
	tcase_add_test(tc, event_close_cancels_unfinished_tasks);
	tcase_add_test(tc, event_blocking_call_in_a_loop_callback_fails_edeadlk);
	tcase_add_test(tc, event_cancel_from_another_thread_while_parked_is_carried_out_by_the_loop);
	tcase_add_test(tc, event_cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends);
	tcase_add_test(tc, event_cancel_during_a_poll_that_completes_leaves_the_result);
	tcase_add_test(tc, event_cancel_from_another_thread_after_completion_changes_nothing);
	tcase_add_test(tc, event_cancel_from_another_thread_while_the_loop_runs_its_timers);
	tcase_add_test(tc, event_cancel_from_other_threads_racing_the_close_cancels_each_once);
	suite_add_tcase(s, tc);
	return s;
}
