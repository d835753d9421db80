/* Driving a future from a plain thread: ak_block_on and deadlines, and the
 * mark of a thread that runs a host loop (ak_loop_enter / ak_loop_leave). */
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

#define MS 1000000LL

/* ---- clock ------------------------------------------------------------- */

START_TEST(now_is_monotonic)
{
	int64_t a = ak_now();
	int64_t b = ak_now();

	ck_assert_int_gt(a, 0);
	ck_assert_int_ge(b, a);
}
END_TEST

START_TEST(deadline_in_adds_to_now)
{
	int64_t before = ak_now();
	int64_t d = ak_deadline_in(5 * MS);
	int64_t after = ak_now();

	ck_assert_int_ge(d, before + 5 * MS);
	ck_assert_int_le(d, after + 5 * MS);
}
END_TEST

START_TEST(deadline_in_of_nonpositive_is_now)
{
	int64_t before = ak_now();
	int64_t zero = ak_deadline_in(0);
	int64_t negative = ak_deadline_in(-5 * MS);
	int64_t after = ak_now();

	ck_assert_int_ge(zero, before);
	ck_assert_int_le(zero, after);
	ck_assert_int_ge(negative, before);
	ck_assert_int_le(negative, after);
}
END_TEST

START_TEST(deadline_in_saturates_at_never)
{
	ck_assert_int_eq(ak_deadline_in(INT64_MAX), AK_DEADLINE_NEVER);
	ck_assert_int_eq(ak_deadline_in(INT64_MAX - 1), AK_DEADLINE_NEVER);
}
END_TEST

/* ---- results ----------------------------------------------------------- */

START_TEST(block_on_of_ready_future_returns_zero_after_one_poll)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(block_on_returns_the_futures_error)
{
	struct tk_count_future f;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(block_on_polls_again_after_each_self_wake)
{
	struct tk_count_future f;

	tk_after_init(&f, 5);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 6);
}
END_TEST

START_TEST(block_on_resumes_on_wake_from_another_thread)
{
	struct tk_flag_future f;
	struct tk_setter s;

	tk_flag_init(&f, 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	tk_setter_join(&s);
	ck_assert_int_ge(atomic_load(&f.polls), 2);
	ck_assert_int_eq(atomic_load(&f.clones), atomic_load(&f.released));
	ck_assert(!tk_flag_holds_waker(&f));
}
END_TEST

START_TEST(block_on_returns_result_of_future_woken_from_another_thread)
{
	struct tk_flag_future f;
	struct tk_setter s;

	tk_flag_init(&f, AK_EPIPE);
	tk_setter_start(&s, &f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EPIPE);
	tk_setter_join(&s);
}
END_TEST

START_TEST(block_on_completes_before_a_distant_deadline)
{
	struct tk_flag_future f;
	struct tk_setter s;

	tk_flag_init(&f, 0);
	tk_setter_start(&s, &f, 1 * MS);
	ck_assert_int_eq(ak_block_on(&f.future, ak_deadline_in(5000 * MS)), 0);
	tk_setter_join(&s);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
}
END_TEST

/* ---- deadlines --------------------------------------------------------- */

START_TEST(block_on_of_expired_deadline_cancels_future)
{
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, ak_deadline_in(1 * MS)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_ge(atomic_load(&f.clones), 1);
	ck_assert_int_eq(atomic_load(&f.clones), atomic_load(&f.released));
	ck_assert(!tk_flag_holds_waker(&f));
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(block_on_of_past_deadline_still_polls_once)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, ak_now() - 1), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(atomic_load(&f.cancels), 0);
}
END_TEST

START_TEST(block_on_of_past_deadline_on_pending_future_times_out)
{
	struct tk_flag_future f;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, ak_now() - 1), AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(atomic_load(&f.clones), atomic_load(&f.released));
	ck_assert(!tk_flag_holds_waker(&f));
}
END_TEST

START_TEST(block_on_waits_until_the_deadline)
{
	struct tk_flag_future f;
	int64_t start = ak_now();

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, start + 20 * MS), AK_ETIMEDOUT);
	ck_assert_int_ge(ak_now(), start + 20 * MS);
}
END_TEST

/* ---- misuse ------------------------------------------------------------ */

START_TEST(block_on_of_null_returns_einval)
{
	ck_assert_int_eq(ak_block_on(NULL, AK_DEADLINE_NEVER), AK_EINVAL);
}
END_TEST

START_TEST(block_on_of_zeroed_future_returns_einval)
{
	struct tk_count_future f;

	memset(&f, 0, sizeof f);
	f.future.vtable = &tk_count_vtable;
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
}
END_TEST

START_TEST(block_on_of_done_future_returns_einval)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(block_on_of_owned_future_returns_einval)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	f.future.state |= AK_FUTURE_OWNED;
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
}
END_TEST

START_TEST(block_on_inside_poll_returns_edeadlk_without_polling_inner)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future inner;
	struct tk_blocker_future outer;

	tk_ready_init(&inner, 0);
	tk_blocker_init(&outer, &inner.future, NULL, NULL);
	ck_assert_int_eq(tk_poll(t, &outer.future), 0);
	ck_assert_int_eq(outer.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(atomic_load(&inner.polls), 0);
	ck_assert_int_eq(ak_future_state(&inner.future), AK_FUTURE_IDLE);
}
END_TEST

START_TEST(block_on_inside_block_on_returns_edeadlk)
{
	struct tk_count_future inner;
	struct tk_blocker_future outer;

	tk_ready_init(&inner, 0);
	tk_blocker_init(&outer, &inner.future, NULL, NULL);
	ck_assert_int_eq(ak_block_on(&outer.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(outer.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(atomic_load(&inner.polls), 0);
}
END_TEST

START_TEST(block_on_between_context_init_and_done_returns_edeadlk)
{
	struct tk_count_future f;
	struct ak_context cx;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_context_init(&cx, ak_waker_noop(), NULL), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EDEADLK);
	ak_context_done(&cx, 0);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(block_on_works_after_a_poll_that_failed_validation)
{
	struct tk_count_future f;
	struct ak_context cx;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_context_init(&cx,
	                 tk_counting_waker(tk_cw_new_with(
	                         &tk_counting_vtable_other_major)), NULL),
	                 AK_EINVAL);
	ak_context_done(&cx, AK_EINVAL);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
}
END_TEST

/* ---- the block_on waker ------------------------------------------------ */

START_TEST(block_on_waker_kept_after_return_can_be_woken_later)
{
	struct tk_keeper_future f;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_ptr_nonnull(f.kept.vtable);
	ak_waker_wake_by_ref(&f.kept);
	ak_waker_wake(&f.kept);
	ck_assert_ptr_null(f.kept.vtable);
}
END_TEST

START_TEST(block_on_waker_kept_after_return_can_be_dropped_later)
{
	struct tk_keeper_future f;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ak_waker_drop(&f.kept);
	ck_assert_ptr_null(f.kept.vtable);
}
END_TEST

static void *wake_kept(void *arg)
{
	ak_waker_wake((struct ak_waker *)arg);
	return NULL;
}

START_TEST(block_on_waker_kept_after_return_can_be_woken_from_another_thread)
{
	struct tk_keeper_future f;
	struct tk_count_future next;
	pthread_t th;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, wake_kept, &f.kept), 0);
	/* A later block_on on this thread is not disturbed by the late wake. */
	tk_after_init(&next, 2);
	ck_assert_int_eq(ak_block_on(&next.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_ptr_null(f.kept.vtable);
}
END_TEST

START_TEST(stale_wake_of_kept_waker_does_not_complete_a_later_block_on)
{
	struct tk_keeper_future f;
	struct tk_flag_future g;

	tk_keeper_init(&f, 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ak_waker_wake_by_ref(&f.kept);
	/* The stale wake must not end this wait early nor count as completion. */
	tk_flag_init(&g, 0);
	ck_assert_int_eq(ak_block_on(&g.future, ak_deadline_in(5 * MS)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&g.cancels), 1);
	ak_waker_drop(&f.kept);
}
END_TEST

START_TEST(block_on_gives_each_poll_a_fresh_context_with_a_task_slot)
{
	struct tk_count_future f;
	int i;

	tk_after_init(&f, 3);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 4);
	ck_assert_ptr_nonnull(f.slot);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(f.budgets[i], AK_BUDGET_DEFAULT);
}
END_TEST

START_TEST(block_on_busy_future_completes_through_budget_exhaustion)
{
	struct tk_busy_future f;
	int needed = 7 * AK_BUDGET_DEFAULT + 104;

	tk_busy_init(&f, needed);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(f.done, needed);
	ck_assert_int_eq(atomic_load(&f.yields), 7);
	ck_assert_int_eq(atomic_load(&f.polls), 8);
}
END_TEST

/* ---- a thread that runs a host loop ------------------------------------ */

START_TEST(loop_leave_without_enter_is_einval)
{
	ck_assert_int_eq(ak_loop_leave(), AK_EINVAL);
	ck_assert_int_eq(ak_loop_enter(), 0);
	ck_assert_int_eq(ak_loop_leave(), 0);
	ck_assert_int_eq(ak_loop_leave(), AK_EINVAL);
}
END_TEST

START_TEST(block_on_in_a_marked_thread_returns_edeadlk_without_polling)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_loop_enter(), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EDEADLK);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ck_assert_int_eq(ak_future_state(&f.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(ak_loop_leave(), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

START_TEST(loop_marks_nest_until_every_enter_is_left)
{
	struct tk_count_future f;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_loop_enter(), 0);
	ck_assert_int_eq(ak_loop_enter(), 0);      /* a nested loop */
	ck_assert_int_eq(ak_loop_leave(), 0);
	/* Still inside the outer loop. */
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), AK_EDEADLK);
	ck_assert_int_eq(ak_loop_leave(), 0);
	ck_assert_int_eq(ak_block_on(&f.future, AK_DEADLINE_NEVER), 0);
}
END_TEST

struct other_thread {
	pthread_t th;
	struct tk_count_future f;
	int rc;
};

static void *block_on_ready(void *arg)
{
	struct other_thread *o = arg;

	o->rc = ak_block_on(&o->f.future, AK_DEADLINE_NEVER);
	return NULL;
}

START_TEST(loop_mark_is_the_calling_threads_own)
{
	struct other_thread o;

	tk_ready_init(&o.f, 0);
	o.rc = TK_NOT_CALLED;
	ck_assert_int_eq(ak_loop_enter(), 0);
	ck_assert_int_eq(pthread_create(&o.th, NULL, block_on_ready, &o), 0);
	pthread_join(o.th, NULL);
	ck_assert_int_eq(ak_loop_leave(), 0);
	ck_assert_int_eq(o.rc, 0);
}
END_TEST

/*
 * A plain epoll loop over an eventfd that another thread makes readable.
 * Its callback calls blocking forms: inside the marked loop each returns
 * AK_EDEADLK at once (even one that could complete without waiting); after
 * ak_loop_leave the same calls block and complete.
 */
struct loop_calls {
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mutex *m;
	int rc_block_on, rc_send, rc_recv, rc_lock;
	int value, got;
};

static void blocking_calls(struct loop_calls *c)
{
	struct ak_sleep_op nap;
	struct ak_mutex_lock_op lock;

	memset(&nap, 0, sizeof nap);
	memset(&lock, 0, sizeof lock);
	ak_sleep_for(&nap, 1 * MS);
	c->rc_block_on = ak_block_on(&nap.future, ak_deadline_in(5000 * MS));
	ak_future_cancel(&nap.future);
	/* The channel has room: a send that would not even wait. */
	c->rc_send = ak_mpsc_send_blocking(c->tx, &c->value, ak_deadline_in(50 * MS));
	c->rc_recv = ak_mpsc_recv_blocking(c->rx, &c->got, ak_deadline_in(50 * MS));
	c->rc_lock = ak_mutex_lock_blocking(&lock, c->m, ak_deadline_in(50 * MS));
	if (c->rc_lock == 0)
		ak_mutex_unlock(&lock);
	else
		ak_future_cancel(&lock.future);     /* bound, never polled */
}

struct kicker {
	pthread_t th;
	int efd;
	ssize_t wrote;
};

static void *kick(void *arg)
{
	struct kicker *k = arg;
	uint64_t one = 1;

	tk_sleep_ns(1 * MS);
	k->wrote = write(k->efd, &one, sizeof one);
	return NULL;
}

/* Runs the loop until its callback ran once. */
static void run_epoll_loop(struct loop_calls *c)
{
	struct kicker k;
	struct epoll_event ev = { .events = EPOLLIN }, got[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ran = 0;

	k.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_ge(k.efd, 0);
	ev.data.fd = k.efd;
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, k.efd, &ev), 0);
	ck_assert_int_eq(pthread_create(&k.th, NULL, kick, &k), 0);
	ck_assert_int_eq(ak_loop_enter(), 0);
	while (!ran) {
		int n = epoll_wait(ep, got, 4, 5000);
		ck_assert_int_gt(n, 0);
		for (int i = 0; i < n; i++) {
			uint64_t count;
			ck_assert_int_eq(read(got[i].data.fd, &count, sizeof count),
			                 (ssize_t)sizeof count);
			blocking_calls(c);          /* the loop's callback */
			ran = 1;
		}
	}
	ck_assert_int_eq(ak_loop_leave(), 0);
	pthread_join(k.th, NULL);
	ck_assert_int_eq(k.wrote, (ssize_t)sizeof(uint64_t));
	close(k.efd);
	close(ep);
}

START_TEST(blocking_forms_in_an_epoll_loop_callback_return_edeadlk)
{
	struct loop_calls c;

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(ak_mpsc_new(4, sizeof(int), NULL, &c.tx, &c.rx), 0);
	ck_assert_int_eq(ak_mutex_new(&c.m, 0), 0);
	c.value = 7;
	run_epoll_loop(&c);
	ck_assert_int_eq(c.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(c.rc_send, AK_EDEADLK);
	ck_assert_int_eq(c.rc_recv, AK_EDEADLK);
	ck_assert_int_eq(c.rc_lock, AK_EDEADLK);
	ck_assert_int_eq(ak_mpsc_len(c.rx), 0);
	ck_assert_int_eq(ak_mutex_is_locked(c.m), 0);

	/* Out of the loop, the same calls block and complete. */
	blocking_calls(&c);
	ck_assert_int_eq(c.rc_block_on, 0);
	ck_assert_int_eq(c.rc_send, 0);
	ck_assert_int_eq(c.rc_recv, 0);
	ck_assert_int_eq(c.got, 7);
	ck_assert_int_eq(c.rc_lock, 0);
	ak_mpsc_tx_drop(c.tx);
	ak_mpsc_rx_drop(c.rx);
	ck_assert_int_eq(ak_mutex_free(c.m), 0);
}
END_TEST

Suite *block_on_suite(void)
{
	Suite *s = suite_create("block_on");
	TCase *tc;

	tc = tk_tcase("clock");
	tcase_add_test(tc, now_is_monotonic);
	tcase_add_test(tc, deadline_in_adds_to_now);
	tcase_add_test(tc, deadline_in_of_nonpositive_is_now);
	tcase_add_test(tc, deadline_in_saturates_at_never);
	suite_add_tcase(s, tc);

	tc = tk_tcase("results");
	tcase_add_test(tc, block_on_of_ready_future_returns_zero_after_one_poll);
	tcase_add_test(tc, block_on_returns_the_futures_error);
	tcase_add_test(tc, block_on_polls_again_after_each_self_wake);
	tcase_add_test(tc, block_on_resumes_on_wake_from_another_thread);
	tcase_add_test(tc,
	               block_on_returns_result_of_future_woken_from_another_thread);
	tcase_add_test(tc, block_on_completes_before_a_distant_deadline);
	suite_add_tcase(s, tc);

	tc = tk_tcase("deadline");
	tcase_add_test(tc, block_on_of_expired_deadline_cancels_future);
	tcase_add_test(tc, block_on_of_past_deadline_still_polls_once);
	tcase_add_test(tc, block_on_of_past_deadline_on_pending_future_times_out);
	tcase_add_test(tc, block_on_waits_until_the_deadline);
	suite_add_tcase(s, tc);

	tc = tk_tcase("misuse");
	tcase_add_test(tc, block_on_of_null_returns_einval);
	tcase_add_test(tc, block_on_of_zeroed_future_returns_einval);
	tcase_add_test(tc, block_on_of_done_future_returns_einval);
	tcase_add_test(tc, block_on_of_owned_future_returns_einval);
	tcase_add_test(tc,
	               block_on_inside_poll_returns_edeadlk_without_polling_inner);
	tcase_add_test(tc, block_on_inside_block_on_returns_edeadlk);
	tcase_add_test(tc, block_on_between_context_init_and_done_returns_edeadlk);
	tcase_add_test(tc, block_on_works_after_a_poll_that_failed_validation);
	suite_add_tcase(s, tc);

	tc = tk_tcase("waker");
	tcase_add_test(tc, block_on_waker_kept_after_return_can_be_woken_later);
	tcase_add_test(tc, block_on_waker_kept_after_return_can_be_dropped_later);
	tcase_add_test(tc,
	       block_on_waker_kept_after_return_can_be_woken_from_another_thread);
	tcase_add_test(tc, stale_wake_of_kept_waker_does_not_complete_a_later_block_on);
	tcase_add_test(tc,
	               block_on_gives_each_poll_a_fresh_context_with_a_task_slot);
	tcase_add_test(tc, block_on_busy_future_completes_through_budget_exhaustion);
	suite_add_tcase(s, tc);

	tc = tk_tcase("loop");
	tcase_add_test(tc, loop_leave_without_enter_is_einval);
	tcase_add_test(tc, block_on_in_a_marked_thread_returns_edeadlk_without_polling);
	tcase_add_test(tc, loop_marks_nest_until_every_enter_is_left);
	tcase_add_test(tc, loop_mark_is_the_calling_threads_own);
	tcase_add_test(tc, blocking_forms_in_an_epoll_loop_callback_return_edeadlk);
	suite_add_tcase(s, tc);

	return s;
}
