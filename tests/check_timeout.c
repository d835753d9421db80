/*
 * The timeout operation (include/awaitkit/timeout.h): the inner future's
 * result when it comes first, AK_ETIMEDOUT with the inner future cancelled
 * when the deadline does, the inner future winning in the deadline's own
 * poll (the commit rule: a committed send never reports AK_ETIMEDOUT),
 * AK_DEADLINE_NEVER and past deadlines, the budget, cancel, nesting in
 * select, join and try_join (the fetch_all program of tokio's tutorials),
 * and bad input.
 *
 * Timing: no test asserts that something happened before a time.  A test
 * whose first poll must come before the deadline runs as an attempt with a
 * margin (with_margin): on a machine too loaded to poll in time the attempt
 * cleans up, says it was late, and runs again with twice the margin.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *timeout_suite(void);

#define MS 1000000LL
#define SEC 1000000000LL
#define MARGIN_FIRST (20 * MS)
#define MARGIN_MAX (16 * MARGIN_FIRST)

static int wait_for(int (*fn)(void *), void *arg, int64_t limit)
{
	int64_t end = ak_now() + limit;

	while (!fn(arg) && ak_now() < end)
		tk_sleep_ns(200 * 1000);
	return fn(arg);
}

/* The task's woken flag, left set (tk_task_take_woken clears it). */
static int woken_flag(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->woken) != 0;
}

static int cw_balanced(void *arg)
{
	struct tk_counting_waker *cw = arg;

	return atomic_load(&cw->live) == 0;
}

/* The timer thread drops a clone it consumed after waking it: wait for
 * that last drop before the teardown counts. */
static void wait_balanced(struct tk_counting_waker *cw)
{
	ck_assert(wait_for(cw_balanced, cw, 5 * SEC));
}

static void sleep_past(int64_t deadline)
{
	while (ak_now() <= deadline)
		tk_sleep_ns(1 * MS);
}

/* Runs attempt(margin) until it was in time (returned 1). */
static void with_margin(int (*attempt)(int64_t margin))
{
	for (int64_t m = MARGIN_FIRST; m <= MARGIN_MAX; m *= 2)
		if (attempt(m))
			return;
	ck_abort_msg("no attempt polled before its deadline with margins up to %lld ms",
	             (long long)(MARGIN_MAX / MS));
}

static int owned(const struct ak_future *f)
{
	return (ak_future_state(f) & AK_FUTURE_OWNED) != 0;
}

static int phase(const struct ak_future *f)
{
	return ak_future_state(f) & (int)AK_FUTURE_PHASE_MASK;
}

/* ---- a future whose poll runs past a deadline, then completes ---------- */

struct late_future {
	struct ak_future future;
	int64_t until;
	int pending_first;          /* return AK_PENDING at the first poll */
	int polls;
};

static int late_poll(struct ak_future *f, struct ak_context *cx)
{
	struct late_future *l = (struct late_future *)f;

	(void)cx;
	if (l->polls++ == 0 && l->pending_first)
		return AK_PENDING;
	sleep_past(l->until);
	return 0;
}

static void late_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable late_vtable = { late_poll, late_cancel };

static void late_init(struct late_future *l, int64_t until, int pending_first)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(ak_future_init(&l->future, &late_vtable), 0);
	l->until = until;
	l->pending_first = pending_first;
}

/* ---- basics ------------------------------------------------------------ */

START_TEST(op_size_reports_the_timeout_op)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_TIMEOUT), sizeof(struct ak_timeout_op));
}
END_TEST

START_TEST(bad_inputs_are_einval_and_change_nothing)
{
	struct ak_timeout_op op, other;
	struct tk_flag_future a;
	struct ak_future zeroed;
	struct ak_sleep_op sleep;

	memset(&op, 0, sizeof op);
	memset(&other, 0, sizeof other);
	memset(&zeroed, 0, sizeof zeroed);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(NULL, &a.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_timeout_init(&op, NULL, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_timeout_init(&op, &zeroed, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_timeout_init(&op, &op.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(phase(&op.future), AK_FUTURE_ZEROED);
	ck_assert(!owned(&a.future));

	/* A future another timeout owns cannot be claimed twice. */
	ck_assert_int_eq(ak_timeout_init(&other, &a.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(phase(&op.future), AK_FUTURE_ZEROED);
	/* Nor polled by anyone else meanwhile. */
	struct tk_task *t = tk_task_new();
	ck_assert_int_eq(tk_poll(t, &a.future), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&a.polls), 0);
	ak_future_cancel(&other.future);
	ck_assert(!owned(&a.future));

	/* A done future cannot be wrapped. */
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), AK_EINVAL);

	ck_assert_int_eq(ak_timeout_elapsed(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_timeout_elapsed(&op), AK_EINVAL);   /* never bound */
	memset(&sleep, 0, sizeof sleep);
	ak_sleep_until(&sleep, AK_DEADLINE_NEVER);
	ck_assert_int_eq(ak_timeout_elapsed((struct ak_timeout_op *)(void *)&sleep), AK_EINVAL);
}
END_TEST

START_TEST(init_of_a_pending_timeout_is_ebusy)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a, b;

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	tk_flag_init(&b, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_deadline_in(10 * SEC)), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_timeout_init(&op, &b.future, AK_DEADLINE_NEVER), AK_EBUSY);
	ck_assert(!owned(&b.future));
	ck_assert(owned(&a.future));
	ak_future_cancel(&op.future);
}
END_TEST

START_TEST(rebinding_an_unpolled_timeout_gives_the_old_inner_back)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;
	struct tk_count_future r;

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	tk_ready_init(&r, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_timeout_init(&op, &r.future, AK_DEADLINE_NEVER), 0);
	/* a is the caller's again, untouched. */
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(phase(&a.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(atomic_load(&a.cancels), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(atomic_load(&r.polls), 1);
	ak_future_cancel(&a.future);
	/* And rebinding to the same inner works too. */
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), 0);
	ck_assert(owned(&a.future));
	ak_future_cancel(&op.future);
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
}
END_TEST

/* ---- not firing, firing, and the deadline's own poll -------------------- */

START_TEST(inner_that_completes_first_gives_its_result)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, AK_EPIPE);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_deadline_in(10 * SEC)), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	/* The inner future's clone and the sleep's. */
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops + 1);
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
	/* The sleep was taken out of the timer and its clone dropped. */
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(atomic_load(&a.cancels), 0);
	ck_assert_int_eq(phase(&op.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(deadline_cancels_the_inner_and_drops_its_waker_clones)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_deadline_in(5 * MS)), 0);
	int rc = tk_poll(t, &op.future);
	if (rc == AK_PENDING) {
		/* The timer thread wakes the task at the deadline. */
		ck_assert(wait_for(woken_flag, t->cw, 5 * SEC));
		rc = tk_poll_woken(t, &op.future);
	}
	ck_assert_int_eq(rc, AK_ETIMEDOUT);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 1);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(atomic_load(&a.released), atomic_load(&a.clones));
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(phase(&a.future), AK_FUTURE_DONE);
	/* The inner result never came: setting the flag now changes nothing. */
	tk_flag_set(&a);
	wait_balanced(t->cw);
}
END_TEST

static int ready_after_the_deadline_wins(int64_t margin)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;
	int64_t deadline = ak_deadline_in(margin);

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, deadline), 0);
	if (tk_poll(t, &op.future) != AK_PENDING) {
		wait_balanced(t->cw);
		return 0;
	}
	/* The inner future becomes ready only after the deadline passed; the
	 * next poll sees both, and the inner future's result wins. */
	sleep_past(deadline);
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
	ck_assert_int_eq(atomic_load(&a.cancels), 0);
	wait_balanced(t->cw);
	return 1;
}

START_TEST(inner_ready_in_the_deadlines_own_poll_wins)
{
	with_margin(ready_after_the_deadline_wins);
}
END_TEST

START_TEST(inner_whose_poll_runs_past_the_deadline_wins)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct late_future l;
	int64_t deadline = ak_deadline_in(2 * MS);

	memset(&op, 0, sizeof op);
	late_init(&l, deadline, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &l.future, deadline), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_gt(ak_now(), deadline);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
}
END_TEST

/* ---- the commit rule through an mpsc send ------------------------------- */

START_TEST(timed_out_send_leaves_the_value_with_the_caller)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_timeout_op op;
	int first = 1, value = 42, got = 0;

	memset(&send, 0, sizeof send);
	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &first), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&send, tx, &value), 0);
	ck_assert_int_eq(ak_timeout_init(&op, &send.future, ak_deadline_in(5 * MS)), 0);
	ck_assert_int_eq(ak_block_on(&op.future, AK_DEADLINE_NEVER), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 1);
	/* The channel holds the first value only: 42 is still the caller's. */
	ck_assert_int_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), 0);
	ck_assert_int_eq(got, 1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EAGAIN);
	ck_assert_int_eq(value, 42);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

static int committed_send_wins(int64_t margin)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_timeout_op op;
	int first = 1, value = 42, got = 0, in_time = 0;
	int64_t deadline = ak_deadline_in(margin);

	memset(&send, 0, sizeof send);
	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &first), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&send, tx, &value), 0);
	ck_assert_int_eq(ak_timeout_init(&op, &send.future, deadline), 0);
	if (tk_poll(t, &op.future) == AK_PENDING) {
		in_time = 1;
		/* A slot frees up, and then the deadline passes: the send
		 * commits in the next poll and reports it. */
		ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), 0);
		ck_assert_int_eq(got, 1);
		sleep_past(deadline);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
		ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), 0);
		ck_assert_int_eq(got, 42);
	}
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
	wait_balanced(t->cw);
	return in_time;
}

START_TEST(send_committed_in_the_deadlines_poll_is_not_timed_out)
{
	with_margin(committed_send_wins);
}
END_TEST

/* ---- AK_DEADLINE_NEVER, a past deadline, the budget --------------------- */

START_TEST(never_deadline_registers_no_sleep)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	/* Only the inner future's clone; the timer holds nothing. */
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
}
END_TEST

START_TEST(past_deadline_still_polls_the_inner_once)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_count_future r;
	struct tk_flag_future a;

	/* A ready inner future completes. */
	memset(&op, 0, sizeof op);
	tk_ready_init(&r, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &r.future, ak_now() - 1), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);

	/* A pending one is polled once, then cancelled; no clone is left. */
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_now() - 1), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 1);
	ck_assert_int_eq(atomic_load(&a.polls), 1);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}
END_TEST

START_TEST(spent_budget_does_not_hide_a_passed_deadline)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_busy_future busy;

	/* The inner future always finds the budget spent; the deadline is
	 * still seen, so the timeout ends. */
	memset(&op, 0, sizeof op);
	tk_busy_init(&busy, 1000);
	ck_assert_int_eq(ak_timeout_init(&op, &busy.future, ak_now() - 1), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&busy.cancels), 1);
	tk_task_take_woken(t);
}
END_TEST

/* ---- cancel ------------------------------------------------------------- */

START_TEST(cancel_of_a_pending_timeout_cancels_the_inner_and_its_sleep)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op op;
	struct tk_flag_future a;
	struct ak_debug_counts before = tk_counters();

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_deadline_in(10 * SEC)), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	ck_assert_int_eq(ak_timeout_elapsed(&op), 0);
	ck_assert_int_eq(phase(&op.future), AK_FUTURE_DONE);
	/* Again: a no-op. */
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
}
END_TEST

START_TEST(cancel_of_an_unpolled_timeout_cancels_the_inner)
{
	struct ak_timeout_op op;
	struct tk_flag_future a;

	memset(&op, 0, sizeof op);
	ak_future_cancel(&op.future);           /* zeroed: a no-op */
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&op, &a.future, ak_deadline_in(10 * SEC)), 0);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert(!owned(&a.future));
	ck_assert_int_eq(phase(&a.future), AK_FUTURE_DONE);
}
END_TEST

/* ---- nested in select, join and try_join -------------------------------- */

START_TEST(timeout_branch_of_a_select_wins_with_etimedout)
{
	struct ak_timeout_op to;
	struct tk_flag_future a, other;
	struct ak_branch b[2];
	struct ak_select_op sel;

	memset(&to, 0, sizeof to);
	memset(&sel, 0, sizeof sel);
	memset(b, 0, sizeof b);
	tk_flag_init(&a, 0);
	tk_flag_init(&other, 0);
	ck_assert_int_eq(ak_timeout_init(&to, &a.future, ak_deadline_in(5 * MS)), 0);
	b[0].future = &to.future;
	b[1].future = &other.future;
	ck_assert_int_eq(ak_select_init(&sel, b, 2, 0), 0);
	ck_assert_int_eq(ak_block_on(&sel.future, ak_deadline_in(5 * SEC)), 0);
	ck_assert_int_eq(ak_select_index(&sel), 0);
	ck_assert_int_eq(b[0].status, AK_ETIMEDOUT);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(ak_timeout_elapsed(&to), 1);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&other), 0);
}
END_TEST

START_TEST(losing_timeout_branch_of_a_select_is_cancelled_with_its_inner)
{
	struct tk_task *t = tk_task_new();
	struct ak_timeout_op to;
	struct tk_flag_future a, other;
	struct ak_branch b[2];
	struct ak_select_op sel;
	struct ak_debug_counts before = tk_counters();

	memset(&to, 0, sizeof to);
	memset(&sel, 0, sizeof sel);
	memset(b, 0, sizeof b);
	tk_flag_init(&a, 0);
	tk_flag_init(&other, 0);
	ck_assert_int_eq(ak_timeout_init(&to, &a.future, ak_deadline_in(10 * SEC)), 0);
	b[0].future = &to.future;
	b[1].future = &other.future;
	ck_assert_int_eq(ak_select_init(&sel, b, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &sel.future), AK_PENDING);
	tk_flag_set(&other);
	ck_assert_int_eq(tk_poll_woken(t, &sel.future), 0);
	ck_assert_int_eq(ak_select_index(&sel), 1);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert(!owned(&a.future));
	ck_assert(!owned(&to.future));
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}
END_TEST

START_TEST(timeout_around_a_join_completes_when_all_have)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	struct ak_join_op join;
	struct ak_timeout_op to;

	memset(&to, 0, sizeof to);
	memset(&join, 0, sizeof join);
	memset(b, 0, sizeof b);
	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	b[0].future = &a.future;
	b[1].future = &c.future;
	ck_assert_int_eq(ak_join_init(&join, b, 2, 0), 0);
	ck_assert_int_eq(ak_timeout_init(&to, &join.future, ak_deadline_in(10 * SEC)), 0);
	ck_assert_int_eq(tk_poll(t, &to.future), AK_PENDING);
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll_woken(t, &to.future), AK_PENDING);
	tk_flag_set(&c);
	ck_assert_int_eq(tk_poll_woken(t, &to.future), 0);
	ck_assert_int_eq(b[0].status, 0);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(ak_timeout_elapsed(&to), 0);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}
END_TEST

START_TEST(timeouts_inside_join_branches_end_each_branch_alone)
{
	struct tk_flag_future slow, fast;
	struct ak_timeout_op to_slow, to_fast;
	struct ak_branch b[2];
	struct ak_join_op join;

	memset(&to_slow, 0, sizeof to_slow);
	memset(&to_fast, 0, sizeof to_fast);
	memset(&join, 0, sizeof join);
	memset(b, 0, sizeof b);
	tk_flag_init(&slow, 0);
	tk_flag_init(&fast, 0);
	tk_flag_set(&fast);
	ck_assert_int_eq(ak_timeout_init(&to_slow, &slow.future, ak_deadline_in(5 * MS)), 0);
	ck_assert_int_eq(ak_timeout_init(&to_fast, &fast.future, ak_deadline_in(10 * SEC)), 0);
	b[0].future = &to_slow.future;
	b[1].future = &to_fast.future;
	ck_assert_int_eq(ak_join_init(&join, b, 2, 0), 0);
	/* join waits for both: one times out, the other completes. */
	ck_assert_int_eq(ak_block_on(&join.future, ak_deadline_in(5 * SEC)), 0);
	ck_assert_int_eq(b[0].status, AK_ETIMEDOUT);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(ak_timeout_elapsed(&to_slow), 1);
	ck_assert_int_eq(ak_timeout_elapsed(&to_fast), 0);
	ck_assert_int_eq(atomic_load(&slow.cancels), 1);
}
END_TEST

START_TEST(inner_timeout_firing_is_not_the_outer_ones)
{
	struct tk_flag_future a;
	struct ak_timeout_op inner, outer;

	memset(&inner, 0, sizeof inner);
	memset(&outer, 0, sizeof outer);
	tk_flag_init(&a, 0);
	ck_assert_int_eq(ak_timeout_init(&inner, &a.future, ak_deadline_in(5 * MS)), 0);
	ck_assert_int_eq(ak_timeout_init(&outer, &inner.future, ak_deadline_in(10 * SEC)), 0);
	ck_assert_int_eq(ak_block_on(&outer.future, ak_deadline_in(5 * SEC)), AK_ETIMEDOUT);
	/* Both returned AK_ETIMEDOUT; elapsed says whose deadline it was. */
	ck_assert_int_eq(ak_timeout_elapsed(&inner), 1);
	ck_assert_int_eq(ak_timeout_elapsed(&outer), 0);
}
END_TEST

/*
 * fetch_all, the b_fetch_all.rs program of tokio's tutorials, in C: three
 * fetches under try_join inside a timeout.
 *
 *	let (a, b, c) = timeout(deadline, async {
 *	    tokio::try_join!(fetch("svc-a", 100), fetch("svc-b", 200),
 *	                     fetch("svc-c", 150))
 *	}).await??;
 *
 * Delays are tens of milliseconds here, not hundreds.
 */
struct fetch {
	struct ak_future future;
	struct ak_sleep_op sleep;
	const char *name;
	int64_t delay_ns;
	int started;
	int fail;                   /* complete with AK_EPIPE instead */
	char result[32];
};

static int fetch_poll(struct ak_future *f, struct ak_context *cx)
{
	struct fetch *x = (struct fetch *)f;

	if (!x->started) {
		ak_sleep_for(&x->sleep, x->delay_ns);
		x->started = 1;
	}
	int rc = ak_future_poll(&x->sleep.future, cx);
	if (rc != 0)
		return rc;
	if (x->fail)
		return AK_EPIPE;
	snprintf(x->result, sizeof x->result, "%s: OK", x->name);
	return 0;
}

static void fetch_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct fetch *)f)->sleep.future);
}

static const struct ak_future_vtable fetch_vtable = { fetch_poll, fetch_cancel };

static void fetch_init(struct fetch *x, const char *name, int64_t delay_ns)
{
	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(ak_future_init(&x->future, &fetch_vtable), 0);
	x->name = name;
	x->delay_ns = delay_ns;
}

struct fetch_all {
	struct fetch f[3];
	struct ak_branch b[3];
	struct ak_try_join_op join;
	struct ak_timeout_op timeout;
};

static int fetch_all(struct fetch_all *fa, int64_t timeout_ns)
{
	memset(&fa->join, 0, sizeof fa->join);
	memset(&fa->timeout, 0, sizeof fa->timeout);
	memset(fa->b, 0, sizeof fa->b);
	for (int i = 0; i < 3; i++)
		fa->b[i].future = &fa->f[i].future;
	ck_assert_int_eq(ak_try_join_init(&fa->join, fa->b, 3, 0), 0);
	ck_assert_int_eq(ak_timeout_init(&fa->timeout, &fa->join.future,
	                                 ak_deadline_in(timeout_ns)), 0);
	return ak_block_on(&fa->timeout.future, AK_DEADLINE_NEVER);
}

START_TEST(fetch_all_under_try_join_inside_a_timeout)
{
	struct fetch_all fa;

	fetch_init(&fa.f[0], "svc-a", 10 * MS);
	fetch_init(&fa.f[1], "svc-b", 20 * MS);
	fetch_init(&fa.f[2], "svc-c", 15 * MS);
	ck_assert_int_eq(fetch_all(&fa, 5 * SEC), 0);
	ck_assert_str_eq(fa.f[0].result, "svc-a: OK");
	ck_assert_str_eq(fa.f[1].result, "svc-b: OK");
	ck_assert_str_eq(fa.f[2].result, "svc-c: OK");
	ck_assert_int_eq(ak_timeout_elapsed(&fa.timeout), 0);
}
END_TEST

START_TEST(fetch_all_past_its_timeout_cancels_every_fetch)
{
	struct fetch_all fa;
	struct ak_debug_counts before = tk_counters();

	fetch_init(&fa.f[0], "svc-a", 10 * SEC);
	fetch_init(&fa.f[1], "svc-b", 20 * SEC);
	fetch_init(&fa.f[2], "svc-c", 15 * SEC);
	ck_assert_int_eq(fetch_all(&fa, 5 * MS), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_timeout_elapsed(&fa.timeout), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fa.b[i].status, AK_ECANCELED);
		ck_assert_str_eq(fa.f[i].result, "");
	}
	/* No fetch's sleep is left in the timer. */
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
}
END_TEST

START_TEST(fetch_all_passes_a_failed_fetch_through_the_timeout)
{
	struct fetch_all fa;

	fetch_init(&fa.f[0], "svc-a", 10 * MS);
	fetch_init(&fa.f[1], "svc-b", 10 * SEC);
	fetch_init(&fa.f[2], "svc-c", 1 * MS);
	fa.f[2].fail = 1;
	ck_assert_int_eq(fetch_all(&fa, 5 * SEC), AK_EPIPE);
	ck_assert_int_eq(ak_timeout_elapsed(&fa.timeout), 0);
	ck_assert_int_eq(ak_try_join_index(&fa.join), 2);
	ck_assert_int_eq(fa.b[1].status, AK_ECANCELED);
}
END_TEST

Suite *timeout_suite(void)
{
	Suite *s = suite_create("timeout");
	TCase *tc = tk_tcase("timeout");

	tcase_add_test(tc, op_size_reports_the_timeout_op);
	tcase_add_test(tc, bad_inputs_are_einval_and_change_nothing);
	tcase_add_test(tc, init_of_a_pending_timeout_is_ebusy);
	tcase_add_test(tc, rebinding_an_unpolled_timeout_gives_the_old_inner_back);
	tcase_add_test(tc, inner_that_completes_first_gives_its_result);
	tcase_add_test(tc, deadline_cancels_the_inner_and_drops_its_waker_clones);
	tcase_add_test(tc, inner_ready_in_the_deadlines_own_poll_wins);
	tcase_add_test(tc, inner_whose_poll_runs_past_the_deadline_wins);
	tcase_add_test(tc, timed_out_send_leaves_the_value_with_the_caller);
	tcase_add_test(tc, send_committed_in_the_deadlines_poll_is_not_timed_out);
	tcase_add_test(tc, never_deadline_registers_no_sleep);
	tcase_add_test(tc, past_deadline_still_polls_the_inner_once);
	tcase_add_test(tc, spent_budget_does_not_hide_a_passed_deadline);
	tcase_add_test(tc, cancel_of_a_pending_timeout_cancels_the_inner_and_its_sleep);
	tcase_add_test(tc, cancel_of_an_unpolled_timeout_cancels_the_inner);
	tcase_add_test(tc, timeout_branch_of_a_select_wins_with_etimedout);
	tcase_add_test(tc, losing_timeout_branch_of_a_select_is_cancelled_with_its_inner);
	tcase_add_test(tc, timeout_around_a_join_completes_when_all_have);
	tcase_add_test(tc, timeouts_inside_join_branches_end_each_branch_alone);
	tcase_add_test(tc, inner_timeout_firing_is_not_the_outer_ones);
	tcase_add_test(tc, fetch_all_under_try_join_inside_a_timeout);
	tcase_add_test(tc, fetch_all_past_its_timeout_cancels_every_fetch);
	tcase_add_test(tc, fetch_all_passes_a_failed_fetch_through_the_timeout);
	suite_add_tcase(s, tc);
	return s;
}
