/*
 * select, join and try_join (include/awaitkit/select.h): the winner and the
 * cancelled losers, fairness and bias, the commit rule through losing
 * receive, lock and reserve branches, disabled branches, the budget, the
 * non-waiting and blocking forms, join's rotation, try_join's stop at the
 * first error, nesting and branch paths, awaiting them from the await
 * macros on an executor, and bad input.
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *select_suite(void);

#define MS 1000000LL

static void branches_set(struct ak_branch *b, size_t n, struct ak_future **fs)
{
	memset(b, 0, n * sizeof(*b));
	for (size_t i = 0; i < n; i++)
		b[i].future = fs[i];
}

/* Two channels of ints (capacity cap) and a receive on each, as branches
 * b[0] and b[1]; recv_pair_drop() drops both channels and checks that
 * task t holds no waker clone any more. */
static void recv_pair_new(size_t cap, struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx,
                          struct ak_mpsc_recv_op *r, int *v, struct ak_branch *b)
{
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(ak_mpsc_new(cap, sizeof(int), NULL, &tx[k], &rx[k]), 0);
		ck_assert_int_eq(ak_mpsc_recv_init(&r[k], rx[k], &v[k]), 0);
	}
	branches_set(b, 2, (struct ak_future *[]){ &r[0].future, &r[1].future });
}

static void recv_pair_drop(struct tk_task *t, struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	for (int k = 0; k < 2; k++) {
		ak_mpsc_tx_drop(tx[k]);
		ak_mpsc_rx_drop(rx[k]);
	}
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}

/* ---- a future that records the branch path it was polled on ------------ */

struct path_future {
	struct ak_future future;
	struct ak_branch_path seen;
	int result;
};

static int path_poll(struct ak_future *f, struct ak_context *cx)
{
	struct path_future *p = (struct path_future *)f;
	p->seen = cx->path;
	return p->result;
}

static void path_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable path_vtable = { path_poll, path_cancel };

static void path_init(struct path_future *p, int result)
{
	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(ak_future_init(&p->future, &path_vtable), 0);
	p->result = result;
}

/* ---- select ------------------------------------------------------------ */

START_TEST(select_picks_the_ready_branch)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a;
	struct tk_count_future r;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	tk_flag_init(&a, 0);
	tk_ready_init(&r, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &r.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	/* The loser, polled or not, was cancelled and keeps no waker. */
	ck_assert_int_le(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(ak_future_state(&a.future) & AK_FUTURE_PHASE_MASK, AK_FUTURE_DONE);
	/* Neither branch is left owned. */
	ck_assert_int_eq(ak_future_state(&a.future) & AK_FUTURE_OWNED, 0);
	ck_assert_int_eq(ak_future_state(&r.future) & AK_FUTURE_OWNED, 0);
}
END_TEST

START_TEST(select_waits_then_wins_with_the_branch_that_became_ready)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	tk_flag_init(&a, 0);
	tk_flag_init(&c, AK_EPIPE);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_select_index(&op), AK_ENOENT);
	tk_flag_set(&c);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	/* An error result still wins: it is that branch's status. */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(b[1].status, AK_EPIPE);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
}
END_TEST

START_TEST(select_is_fair_between_two_ready_branches)
{
	struct tk_task *t = tk_task_new();
	int wins[2] = { 0, 0 };

	for (int k = 0; k < 10000; k++) {
		struct tk_count_future r0, r1;
		struct ak_branch b[2];
		struct ak_select_op op;
		memset(&op, 0, sizeof op);
		tk_ready_init(&r0, 0);
		tk_ready_init(&r1, 0);
		branches_set(b, 2, (struct ak_future *[]){ &r0.future, &r1.future });
		ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		int w = ak_select_index(&op);
		ck_assert(w == 0 || w == 1);
		wins[w]++;
	}
	/* Binomial(10000, 1/2): sd 50; 4700..5300 is six sd either side. */
	ck_assert_int_ge(wins[0], 4700);
	ck_assert_int_le(wins[0], 5300);
}
END_TEST

START_TEST(biased_select_always_picks_the_first_ready)
{
	struct tk_task *t = tk_task_new();

	for (int k = 0; k < 2000; k++) {
		struct tk_count_future r0, r1, r2;
		struct ak_branch b[3];
		struct ak_select_op op;
		memset(&op, 0, sizeof op);
		tk_count_init(&r0, 1, 0, 0);     /* pending once: polled, not ready */
		tk_ready_init(&r1, 0);
		tk_ready_init(&r2, 0);
		branches_set(b, 3, (struct ak_future *[]){ &r0.future, &r1.future, &r2.future });
		ck_assert_int_eq(ak_select_init(&op, b, 3, AK_SELECT_BIASED), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		ck_assert_int_eq(ak_select_index(&op), 1);
		ck_assert_int_eq(atomic_load(&r0.polls), 1);
		ck_assert_int_eq(atomic_load(&r2.polls), 0);
	}
}
END_TEST

START_TEST(disabled_branch_is_never_polled)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future r0, r1;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	for (int k = 0; k < 200; k++) {
		tk_ready_init(&r0, 0);
		tk_ready_init(&r1, 0);
		branches_set(b, 2, (struct ak_future *[]){ &r0.future, &r1.future });
		b[0].flags = AK_BRANCH_DISABLED;
		ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		ck_assert_int_eq(ak_select_index(&op), 1);
		ck_assert_int_eq(atomic_load(&r0.polls), 0);
		ck_assert_int_eq(atomic_load(&r0.cancels), 0);
		/* Never claimed, never touched: still idle and pollable. */
		ck_assert_int_eq(ak_future_state(&r0.future), AK_FUTURE_IDLE);
	}
}
END_TEST

START_TEST(all_disabled_select_is_enoent)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future r0;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	size_t idx = 99;

	tk_ready_init(&r0, 0);
	branches_set(b, 2, (struct ak_future *[]){ &r0.future, NULL });
	b[0].flags = b[1].flags = AK_BRANCH_DISABLED;
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_ENOENT);
	ck_assert_int_eq(ak_select_index(&op), AK_ENOENT);
	ck_assert_int_eq(ak_select_try(b, 2, 0, NULL, &idx), AK_ENOENT);
	ck_assert_int_eq(idx, 99);
	ck_assert_int_eq(ak_select_blocking(&op, b, 2, 0, AK_DEADLINE_NEVER), AK_ENOENT);
	ck_assert_int_eq(atomic_load(&r0.polls), 0);
}
END_TEST

START_TEST(select_checks_the_budget_before_any_branch)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future r0;
	struct ak_branch b[1];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	tk_ready_init(&r0, 0);
	branches_set(b, 1, (struct ak_future *[]){ &r0.future });
	ck_assert_int_eq(ak_select_init(&op, b, 1, 0), 0);
	tk_task_take_woken(t);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	ck_assert_int_eq(atomic_load(&r0.polls), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);
}
END_TEST

START_TEST(cancelled_select_cancels_its_pending_branches)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 1);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(tk_flag_holds_waker(&c), 0);
	ck_assert_int_eq(ak_select_index(&op), AK_ENOENT);
	ck_assert_int_eq(ak_future_state(&a.future) & AK_FUTURE_OWNED, 0);
}
END_TEST

/* ---- the commit rule through losing branches ----------------------------- */

#define PER_PRODUCER 3000

struct producer {
	pthread_t thread;
	struct ak_mpsc_tx *tx;
	int base;
	int failures;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		int v = p->base + i;
		if (ak_mpsc_send_blocking(p->tx, &v, AK_DEADLINE_NEVER) != 0)
			p->failures++;
	}
	ak_mpsc_tx_drop(p->tx);
	return NULL;
}

START_TEST(losing_recv_branches_lose_no_message)
{
	struct ak_mpsc_rx *rx[2];
	struct producer p[2];
	static unsigned char seen[2 * PER_PRODUCER];
	int open[2] = { 1, 1 }, received = 0, dup = 0, bad = 0;

	memset(seen, 0, sizeof seen);
	for (int k = 0; k < 2; k++) {
		memset(&p[k], 0, sizeof p[k]);
		ck_assert_int_eq(ak_mpsc_new(8, sizeof(int), NULL, &p[k].tx, &rx[k]), 0);
		p[k].base = k * PER_PRODUCER;
	}
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&p[k].thread, NULL, produce, &p[k]), 0);
	for (;;) {
		struct ak_mpsc_recv_op r[2];
		int v[2] = { -1, -1 };
		struct ak_branch b[2];
		struct ak_select_op op;
		memset(&op, 0, sizeof op);
		memset(r, 0, sizeof r);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(ak_mpsc_recv_init(&r[k], rx[k], &v[k]), 0);
		branches_set(b, 2, (struct ak_future *[]){ &r[0].future, &r[1].future });
		for (int k = 0; k < 2; k++)
			if (!open[k])
				b[k].flags = AK_BRANCH_DISABLED;
		int rc = ak_select_blocking(&op, b, 2, 0, ak_deadline_in(5000 * MS));
		if (rc == AK_ENOENT)
			break;
		ck_assert_int_eq(rc, 0);
		int w = ak_select_index(&op);
		ck_assert(w == 0 || w == 1);
		if (b[w].status == AK_EPIPE) {
			open[w] = 0;
			continue;
		}
		ck_assert_int_eq(b[w].status, 0);
		/* The loser (if enabled) took nothing. */
		if (open[1 - w])
			ck_assert_int_eq(v[1 - w], -1);
		if (v[w] < 0 || v[w] >= 2 * PER_PRODUCER || v[w] / PER_PRODUCER != w)
			bad++;
		else if (seen[v[w]]++)
			dup++;
		received++;
	}
	for (int k = 0; k < 2; k++) {
		pthread_join(p[k].thread, NULL);
		ck_assert_int_eq(p[k].failures, 0);
		ak_mpsc_rx_drop(rx[k]);
	}
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(dup, 0);
	ck_assert_int_eq(received, 2 * PER_PRODUCER);
	for (int i = 0; i < 2 * PER_PRODUCER; i++)
		ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(losing_lock_branch_leaves_the_lock_free)
{
	struct tk_task *t = tk_task_new(), *holder = tk_task_new();
	struct ak_mutex *m = NULL;
	struct ak_mutex_lock_op g, l;
	struct tk_flag_future a;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);

	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	memset(&g, 0, sizeof g);
	memset(&l, 0, sizeof l);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(holder, &g.future), 0);
	tk_flag_init(&a, 0);
	ak_mutex_lock_init(&l, m);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &l.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	/* The lock is granted to the parked branch (provisionally)... */
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	/* ...but the flag branch, polled first, wins: the grant is handed back. */
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(holder, &g.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(losing_reserve_returns_its_slot)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op res;
	struct tk_flag_future a;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	int v = 1;

	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	memset(&res, 0, sizeof res);
	ck_assert_int_eq(ak_mpsc_reserve_init(&res, tx), 0);
	tk_flag_init(&a, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &res.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	/* The receiver frees the slot: the parked reserve is granted it. */
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), 0);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	tk_flag_set(&a);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	/* The slot is back: a send goes through. */
	v = 2;
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), 0);
	ck_assert_int_eq(v, 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- the non-waiting and blocking forms --------------------------------- */

START_TEST(try_select_is_eagain_and_leaves_nothing_registered)
{
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	size_t idx = 99;

	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	ck_assert_int_eq(ak_select_try(b, 2, 0, NULL, &idx), AK_EAGAIN);
	ck_assert_int_eq(idx, 99);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(tk_flag_holds_waker(&c), 0);
	ck_assert_int_eq(atomic_load(&a.cancels) + atomic_load(&c.cancels), 2);
	ck_assert_int_eq(ak_future_state(&a.future), AK_FUTURE_DONE);
}
END_TEST

START_TEST(try_select_takes_a_ready_branch_and_ignores_the_budget)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a;
	struct tk_count_future r;
	struct ak_branch b[2];
	struct ak_context cx;
	size_t idx = 99;

	tk_flag_init(&a, 0);
	tk_ready_init(&r, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &r.future });
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.budget = 0;
	ck_assert_int_eq(ak_select_try(b, 2, 0, &cx, &idx), 0);
	ck_assert_int_eq(ak_context_done(&cx, 0), 0);
	ck_assert_int_eq(idx, 1);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	/* The task was not woken for the budget, and its waker never kept. */
	ck_assert_int_eq(tk_task_take_woken(t), 0);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
}
END_TEST

START_TEST(blocking_select_with_deadline_on_a_plain_thread)
{
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	struct tk_setter s;

	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	int64_t t0 = ak_now();
	ck_assert_int_eq(ak_select_blocking(&op, b, 2, 0, ak_deadline_in(20 * MS)),
	                 AK_ETIMEDOUT);
	ck_assert_int_ge(ak_now() - t0, 20 * MS);
	ck_assert_int_eq(ak_select_index(&op), AK_ENOENT);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(tk_flag_holds_waker(&c), 0);

	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	tk_setter_start(&s, &c, 10 * MS);
	ck_assert_int_eq(ak_select_blocking(&op, b, 2, 0, ak_deadline_in(5000 * MS)), 0);
	tk_setter_join(&s);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
}
END_TEST

START_TEST(select_between_a_channel_and_a_sleep)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op r;
	struct ak_sleep_op sl;
	memset(&sl, 0, sizeof sl);
	struct ak_branch b[2];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	int v = -1;

	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), NULL, &tx, &rx), 0);
	/* Nothing sent: the sleep wins, the receive is cancelled. */
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ak_mpsc_recv_init(&r, rx, &v), 0);
	ck_assert_int_eq(ak_sleep_until(&sl, ak_deadline_in(20 * MS)), 0);
	branches_set(b, 2, (struct ak_future *[]){ &r.future, &sl.future });
	ck_assert_int_eq(ak_select_blocking(&op, b, 2, 0, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(v, -1);
	/* A value queued: the receive wins, the sleep is cancelled. */
	int sent = 42;
	ck_assert_int_eq(ak_mpsc_try_send(tx, &sent), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&r, rx, &v), 0);
	ck_assert_int_eq(ak_sleep_until(&sl, ak_deadline_in(5000 * MS)), 0);
	branches_set(b, 2, (struct ak_future *[]){ &r.future, &sl.future });
	ck_assert_int_eq(ak_select_blocking(&op, b, 2, 0, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- join and try_join ----------------------------------------------------- */

START_TEST(join_waits_for_all)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future after, ready;
	struct tk_flag_future a;
	struct ak_branch b[3];
	struct ak_join_op op;
	memset(&op, 0, sizeof op);
	int rc, polls = 0;

	tk_after_init(&after, 2);
	tk_ready_init(&ready, 0);
	tk_flag_init(&a, AK_EPIPE);
	branches_set(b, 3, (struct ak_future *[]){ &after.future, &ready.future, &a.future });
	ck_assert_int_eq(ak_join_init(&op, b, 3, 0), 0);
	while ((rc = tk_poll(t, &op.future)) == AK_PENDING && polls < 5)
		polls++;
	ck_assert_int_eq(rc, AK_PENDING);
	ck_assert_int_eq(b[0].status, 0);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(b[2].status, AK_PENDING);
	/* A finished branch is not polled again. */
	ck_assert_int_eq(atomic_load(&ready.polls), 1);
	ck_assert_int_eq(atomic_load(&after.polls), 3);
	tk_flag_set(&a);
	/* join does not stop at an error: that is try_join. */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(b[2].status, AK_EPIPE);
	ck_assert_int_eq(atomic_load(&ready.cancels), 0);
}
END_TEST

START_TEST(join_rotates_the_first_branch_polled)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f[3];
	struct tk_log log;
	struct ak_branch b[3];
	struct ak_join_op op;
	memset(&op, 0, sizeof op);

	memset(&log, 0, sizeof log);
	for (int i = 0; i < 3; i++) {
		tk_count_init(&f[i], 3, 1, 0);
		f[i].id = i;
		f[i].log = &log;
	}
	branches_set(b, 3, (struct ak_future *[]){ &f[0].future, &f[1].future, &f[2].future });
	ck_assert_int_eq(ak_join_init(&op, b, 3, 0), 0);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(tk_log_len(&log), 12);
	int want[12] = { 0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2 };
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(log.ids[i], want[i]);

	/* Biased: always in array order. */
	memset(&log, 0, sizeof log);
	for (int i = 0; i < 3; i++) {
		tk_count_init(&f[i], 1, 1, 0);
		f[i].id = i;
		f[i].log = &log;
	}
	ck_assert_int_eq(ak_join_init(&op, b, 3, AK_JOIN_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	int want_b[6] = { 0, 1, 2, 0, 1, 2 };
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(log.ids[i], want_b[i]);
}
END_TEST

START_TEST(try_join_stops_at_the_first_error_and_cancels_the_rest)
{
	struct tk_task *t = tk_task_new();
	struct ak_mutex *m = NULL;
	struct ak_mutex_lock_op l;
	struct tk_flag_future a;
	struct tk_count_future bad;
	struct ak_branch b[3];
	struct ak_try_join_op op;
	memset(&op, 0, sizeof op);

	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	memset(&l, 0, sizeof l);
	ak_mutex_lock_init(&l, m);
	tk_flag_init(&a, 0);
	tk_count_init(&bad, 1, 1, AK_EPIPE);
	branches_set(b, 3, (struct ak_future *[]){ &l.future, &a.future, &bad.future });
	ck_assert_int_eq(ak_try_join_init(&op, b, 3, AK_JOIN_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(b[0].status, 0);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 1);
	ck_assert_int_eq(ak_try_join_index(&op), AK_ENOENT);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(ak_try_join_index(&op), 2);
	ck_assert_int_eq(b[2].status, AK_EPIPE);
	/* The pending branch was cancelled: its waker dropped. */
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&a.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	/* The completed lock was not: the caller holds it and releases it. */
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert_int_eq(ak_mutex_unlock(&l), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(try_join_of_successes_completes_with_zero)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f0, f1;
	struct ak_branch b[2];
	struct ak_try_join_op op;
	memset(&op, 0, sizeof op);

	tk_after_init(&f0, 1);
	tk_ready_init(&f1, 0);
	branches_set(b, 2, (struct ak_future *[]){ &f0.future, &f1.future });
	ck_assert_int_eq(ak_try_join_blocking(&op, b, 2, 0, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_try_join_index(&op), AK_ENOENT);
	ck_assert_int_eq(b[0].status, 0);
	ck_assert_int_eq(b[1].status, 0);
	(void)t;
}
END_TEST

START_TEST(blocking_join_times_out_and_cancels)
{
	struct tk_flag_future a;
	struct tk_count_future r;
	struct ak_branch b[2];
	struct ak_join_op op;
	memset(&op, 0, sizeof op);

	tk_flag_init(&a, 0);
	tk_ready_init(&r, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &r.future });
	ck_assert_int_eq(ak_join_blocking(&op, b, 2, 0, ak_deadline_in(10 * MS)), AK_ETIMEDOUT);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
}
END_TEST

/* ---- nesting and branch paths ---------------------------------------------- */

START_TEST(nested_combinators_give_branch_paths_in_place)
{
	struct tk_task *t = tk_task_new();
	struct path_future pa, pb;
	struct tk_flag_future fl;
	struct ak_branch inner[2], outer[2];
	struct ak_select_op sel;
	memset(&sel, 0, sizeof sel);
	struct ak_join_op join;
	memset(&join, 0, sizeof join);
	struct ak_context cx;

	path_init(&pa, 0);
	path_init(&pb, 0);
	tk_flag_init(&fl, 0);
	branches_set(inner, 2, (struct ak_future *[]){ &fl.future, &pa.future });
	ck_assert_int_eq(ak_select_init(&sel, inner, 2, AK_SELECT_BIASED), 0);
	branches_set(outer, 2, (struct ak_future *[]){ &pb.future, &sel.future });
	ck_assert_int_eq(ak_join_init(&join, outer, 2, AK_JOIN_BIASED), 0);
	/* The inner select is owned by the join: nobody else may poll it. */
	ck_assert_int_eq(ak_future_poll(&sel.future, NULL), AK_EINVAL);

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.path.len = 1;
	cx.path.index[0] = 7;
	int32_t budget = cx.budget;
	ck_assert_int_eq(ak_future_poll(&join.future, &cx), 0);
	/* Restored in place, and the budget the children spent stays spent. */
	ck_assert_int_eq(cx.path.len, 1);
	ck_assert_int_eq(cx.path.index[0], 7);
	ck_assert_int_eq(cx.path.overflow, 0);
	ck_assert_int_le(cx.budget, budget);
	ak_context_done(&cx, 0);

	ck_assert_int_eq(pb.seen.len, 2);
	ck_assert_int_eq(pb.seen.index[0], 7);
	ck_assert_int_eq(pb.seen.index[1], 0);
	ck_assert_int_eq(pa.seen.len, 3);
	ck_assert_int_eq(pa.seen.index[1], 1);
	ck_assert_int_eq(pa.seen.index[2], 1);
	ck_assert_int_eq(ak_select_index(&sel), 1);
	ck_assert_int_eq(outer[1].status, 0);
	ck_assert_int_eq(inner[0].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&fl), 0);
}
END_TEST

START_TEST(paths_past_the_maximum_are_marked_overflowed)
{
	struct tk_task *t = tk_task_new();
	struct path_future p;
	struct ak_branch b[1];
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	struct ak_context cx;

	path_init(&p, 0);
	branches_set(b, 1, (struct ak_future *[]){ &p.future });
	ck_assert_int_eq(ak_select_init(&op, b, 1, 0), 0);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.path.len = AK_PATH_MAX;
	ck_assert_int_eq(ak_future_poll(&op.future, &cx), 0);
	ak_context_done(&cx, 0);
	ck_assert_int_eq(p.seen.len, AK_PATH_MAX);
	ck_assert_int_eq(p.seen.overflow, 1);
	ck_assert_int_eq(cx.path.len, AK_PATH_MAX);
	ck_assert_int_eq(cx.path.overflow, 0);
}
END_TEST

START_TEST(sibling_branches_contending_for_one_mutex_are_not_self_deadlock)
{
	struct tk_task *t = tk_task_new();
	struct ak_mutex *m = NULL;
	struct ak_mutex_lock_op l[2], root;
	struct ak_branch b[2];
	struct ak_join_op op;
	memset(&op, 0, sizeof op);

	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	memset(l, 0, sizeof l);
	ak_mutex_lock_init(&l[0], m);
	ak_mutex_lock_init(&l[1], m);
	branches_set(b, 2, (struct ak_future *[]){ &l[0].future, &l[1].future });
	ck_assert_int_eq(ak_join_init(&op, b, 2, AK_JOIN_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(b[0].status, 0);
	ck_assert_int_eq(b[1].status, AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&l[0]), 0);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(ak_mutex_unlock(&l[1]), 0);

	/* But a branch under the holder's own path is: the task holds the
	 * lock at its root and a join branch of the same task awaits it. */
	memset(&root, 0, sizeof root);
	ak_mutex_lock_init(&root, m);
	ck_assert_int_eq(tk_poll(t, &root.future), 0);
	ak_mutex_lock_init(&l[0], m);
	branches_set(b, 1, (struct ak_future *[]){ &l[0].future });
	struct ak_try_join_op tj;
	memset(&tj, 0, sizeof tj);
	ck_assert_int_eq(ak_try_join_init(&tj, b, 1, 0), 0);
	ck_assert_int_eq(tk_poll(t, &tj.future), AK_EDEADLK);
	ck_assert_int_eq(ak_try_join_index(&tj), 0);
	ck_assert_int_eq(ak_mutex_unlock(&root), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- from the await macros, on an executor -------------------------------- */

struct select_task {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx;
	int rc;
	int round;
	int value;
	int won[3];
	int got[3];
	struct ak_mpsc_recv_op recv;
	struct ak_sleep_op sleep;
	struct ak_branch b[2];
	struct ak_select_op sel;
	struct ak_sleep_op s2[2];
	struct ak_branch jb[2];
	struct ak_join_op join;
	int join_rc;
};

static int select_task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct select_task *t = (struct select_task *)f;

	AK_BEGIN(&t->aw, cx);
	for (t->round = 0; t->round < 3; t->round++) {
		t->value = -1;
		ak_mpsc_recv_init(&t->recv, t->rx, &t->value);
		ak_sleep_until(&t->sleep, ak_deadline_in(5 * MS));
		t->b[0] = (struct ak_branch){ &t->recv.future, 0, 0 };
		t->b[1] = (struct ak_branch){ &t->sleep.future, 0, 0 };
		if ((t->rc = ak_select_init(&t->sel, t->b, 2, 0)) != 0)
			AK_RETURN(&t->aw, t->rc);
		AK_AWAIT(&t->aw, &t->sel.future, t->rc);
		if (t->rc != 0)
			AK_RETURN(&t->aw, t->rc);
		t->won[t->round] = ak_select_index(&t->sel);
		t->got[t->round] = t->value;
	}
	ak_sleep_until(&t->s2[0], ak_deadline_in(2 * MS));
	ak_sleep_until(&t->s2[1], ak_deadline_in(4 * MS));
	t->jb[0] = (struct ak_branch){ &t->s2[0].future, 0, 0 };
	t->jb[1] = (struct ak_branch){ &t->s2[1].future, 0, 0 };
	if ((t->rc = ak_join_init(&t->join, t->jb, 2, 0)) != 0)
		AK_RETURN(&t->aw, t->rc);
	AK_AWAIT(&t->aw, &t->join.future, t->join_rc);
	AK_CLEANUP(&t->aw);
	AK_END(&t->aw);
}

static void select_task_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct select_task *)f)->aw, f);
}

static const struct ak_future_vtable select_task_vtable = { select_task_poll, select_task_cancel };

START_TEST(select_and_join_are_awaited_like_any_operation)
{
	static struct select_task t;
	struct tk_exec *x = tk_exec_new("executor", 0);
	struct ak_mpsc_tx *tx;
	int v;

	memset(&t, 0, sizeof t);
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), NULL, &tx, &t.rx), 0);
	v = 10;
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	v = 11;
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	ck_assert_int_eq(ak_future_init(&t.future, &select_task_vtable), 0);
	tk_exec_spawn(x, &t.future);
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(tk_exec_result(x, 0), 0);
	ck_assert_int_eq(t.won[0], 0);
	ck_assert_int_eq(t.got[0], 10);
	ck_assert_int_eq(t.won[1], 0);
	ck_assert_int_eq(t.got[1], 11);
	ck_assert_int_eq(t.won[2], 1);          /* nothing queued: the sleep */
	ck_assert_int_eq(t.got[2], -1);
	ck_assert_int_eq(t.join_rc, 0);
	ck_assert_int_eq(t.jb[0].status, 0);
	ck_assert_int_eq(t.jb[1].status, 0);
	tk_exec_free(x);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(t.rx);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

START_TEST(bad_inputs_are_einval)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future r0, r1, done;
	struct ak_branch b[2], other[1];
	struct ak_select_op op, op2;
	memset(&op, 0, sizeof op);
	memset(&op2, 0, sizeof op2);
	struct ak_join_op jop;
	memset(&jop, 0, sizeof jop);
	size_t idx;

	tk_ready_init(&r0, 0);
	tk_ready_init(&r1, 0);
	tk_ready_init(&done, 0);
	ck_assert_int_eq(tk_poll(t, &done.future), 0);

	branches_set(b, 2, (struct ak_future *[]){ &r0.future, &r1.future });
	ck_assert_int_eq(ak_select_init(NULL, b, 2, 0), AK_EINVAL);
	ck_assert_int_eq(ak_select_init(&op, NULL, 2, 0), AK_EINVAL);
	ck_assert_int_eq(ak_select_init(&op, b, 0, 0), AK_EINVAL);
	ck_assert_int_eq(ak_join_init(&jop, b, 0, 0), AK_EINVAL);
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0x80u), AK_EINVAL);
	ck_assert_int_eq(ak_select_try(b, 2, 0, NULL, NULL), AK_EINVAL);
	/* A NULL enabled entry. */
	branches_set(b, 2, (struct ak_future *[]){ &r0.future, NULL });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), AK_EINVAL);
	ck_assert_int_eq(ak_select_try(b, 2, 0, NULL, &idx), AK_EINVAL);
	/* A completed branch. */
	branches_set(b, 2, (struct ak_future *[]){ &r0.future, &done.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), AK_EINVAL);
	/* The same future twice. */
	branches_set(b, 2, (struct ak_future *[]){ &r0.future, &r0.future });
	ck_assert_int_eq(ak_join_init(&jop, b, 2, 0), AK_EINVAL);
	/* A branch owned by another combinator. */
	branches_set(other, 1, (struct ak_future *[]){ &r1.future });
	ck_assert_int_eq(ak_select_init(&op2, other, 1, 0), 0);
	branches_set(b, 2, (struct ak_future *[]){ &r0.future, &r1.future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), AK_EINVAL);
	/* Nothing was left claimed by the refusals: r0 still polls directly. */
	ck_assert_int_eq(ak_future_state(&r0.future), AK_FUTURE_IDLE);
	ck_assert_int_eq(tk_poll(t, &op2.future), 0);
	ck_assert_int_eq(tk_poll(t, &r0.future), 0);
	/* Index queries of the wrong kind. */
	ck_assert_int_eq(ak_select_index(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_select_index((struct ak_select_op *)(void *)&jop), AK_EINVAL);
	ck_assert_int_eq(ak_try_join_index(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_op_size(AK_OP_SELECT), sizeof(struct ak_select_op));
	ck_assert_int_eq(ak_op_size(AK_OP_JOIN), sizeof(struct ak_join_op));
	ck_assert_int_eq(ak_op_size(AK_OP_TRY_JOIN), sizeof(struct ak_try_join_op));
}
END_TEST

/* The winner among four always-ready branches of a select seeded with seed. */
static int seeded_winner(uint64_t seed, struct tk_task *t)
{
	struct tk_count_future f[4];
	struct ak_branch b[4];
	struct ak_select_op op;

	memset(&op, 0, sizeof(op));
	for (int i = 0; i < 4; i++) {
		tk_ready_init(&f[i], 0);
		b[i].future = &f[i].future;
		b[i].flags = 0;
	}
	ck_assert_int_eq(ak_select_init(&op, b, 4, AK_SELECT_SEEDED), 0);
	ck_assert_int_eq(ak_select_seed(&op, seed), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	return ak_select_index(&op);
}

START_TEST(a_seeded_select_starts_at_the_same_branches_for_the_same_seed)
{
	struct tk_task *t = tk_task_new();
	int first[16], seen[4] = { 0 };

	for (uint64_t seed = 0; seed < 16; seed++) {
		first[seed] = seeded_winner(seed, t);
		seen[first[seed]] = 1;
	}
	for (uint64_t seed = 0; seed < 16; seed++)
		ck_assert_int_eq(seeded_winner(seed, t), first[seed]);
	ck_assert_int_eq(seen[0] + seen[1] + seen[2] + seen[3] > 1, 1);  /* still random */
}
END_TEST

/* Unseeded selects draw their starts from the thread's generator: those
 * polled between two seeded sequences do not move a seeded one. */
START_TEST(unseeded_selects_between_do_not_change_a_seeded_sequence)
{
	struct tk_task *t = tk_task_new();
	int first[16];

	for (uint64_t seed = 0; seed < 16; seed++)
		first[seed] = seeded_winner(seed, t);
	for (uint64_t seed = 0; seed < 16; seed++) {
		struct tk_count_future r[4];
		struct ak_branch b[4];
		struct ak_select_op op;
		memset(&op, 0, sizeof op);
		for (int i = 0; i < 4; i++) {
			tk_ready_init(&r[i], 0);
			b[i].future = &r[i].future;
			b[i].flags = 0;
		}
		ck_assert_int_eq(ak_select_init(&op, b, 4, 0), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), 0);
		ck_assert_int_eq(seeded_winner(seed, t), first[seed]);
	}
}
END_TEST

/* A select waiting on two receives, polled again with nothing changed (a
 * spurious wake), keeps both registrations: no clone, no drop; a send on
 * either channel still wakes it, and that branch wins. */
START_TEST(pending_select_repolled_without_change_keeps_its_registrations_and_is_woken)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx[2];
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2] = { -1, -1 };
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	memset(r, 0, sizeof r);
	recv_pair_new(4, tx, rx, r, v, b);
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);        /* one a receiver */
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);
	ck_assert_int_eq(atomic_load(&t->cw->drops), 0);
	ck_assert_int_eq(atomic_load(&t->cw->live), 2);
	ck_assert(!tk_task_take_woken(t));
	int x = 7;
	ck_assert_int_eq(ak_mpsc_try_send(tx[1], &x), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(b[1].status, 0);
	ck_assert_int_eq(v[1], 7);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(v[0], -1);
	recv_pair_drop(t, tx, rx);
}
END_TEST

START_TEST(select_seed_needs_the_flag_and_an_unpolled_op)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f;
	struct ak_branch b[1];
	struct ak_select_op op;
	size_t index;

	memset(&op, 0, sizeof(op));
	tk_ready_init(&f, 0);
	b[0].future = &f.future;
	b[0].flags = 0;
	ck_assert_int_eq(ak_select_seed(&op, 1), AK_EINVAL);          /* not bound */
	ck_assert_int_eq(ak_select_init(&op, b, 1, 0), 0);
	ck_assert_int_eq(ak_select_seed(&op, 1), AK_EINVAL);          /* no flag */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_select_init(&op, b, 1, AK_SELECT_SEEDED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_seed(&op, 1), AK_EINVAL);          /* polled */
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_select_try(b, 1, AK_SELECT_SEEDED, NULL, &index), AK_EINVAL);
	ak_future_cancel(&f.future);
}
END_TEST

/* ---- AK_SELECT_KEEP: losers kept pending, as select! over `&mut` ------- */

/* A win leaves the other receive pending and registered, no longer owned:
 * the next select (only the winner re-initialised) takes it as it is, and
 * a send on its channel meanwhile wakes the task through the registration
 * it kept; no waker is cloned or dropped for it across the two rounds. */
START_TEST(kept_loser_stays_registered_while_another_wins)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx[2];
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2] = { -1, -1 }, x = 5, y = 6;
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	memset(r, 0, sizeof r);
	recv_pair_new(4, tx, rx, r, v, b);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);
	ck_assert_int_eq(ak_mpsc_try_send(tx[1], &x), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(v[1], 5);
	/* The loser: pending, not cancelled, still the select's (held),
	 * nothing taken. */
	ck_assert_int_eq(b[0].status, AK_PENDING);
	ck_assert_int_eq(ak_future_state(&r[0].future), AK_FUTURE_OWNED | AK_FUTURE_PENDING);
	ck_assert_int_eq(v[0], -1);
	ck_assert_int_eq(atomic_load(&t->cw->drops), 0);
	/* Its channel still wakes the task through what it registered. */
	ck_assert_int_eq(ak_mpsc_try_send(tx[0], &y), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_mpsc_recv_init(&r[1], rx[1], &v[1]), 0);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);
	ck_assert_int_eq(v[0], 6);
	/* Biased: branch 0 polled first, through the registration it kept. */
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);
	ck_assert_int_eq(atomic_load(&t->cw->drops), 0);
	ck_assert_int_eq(ak_select_release(&op), 0);
	ak_future_cancel(&r[1].future);
	recv_pair_drop(t, tx, rx);
}
END_TEST

/* A value that reaches a kept loser's channel after the loser looked (it
 * was pending) and before the next select is the next select's, through
 * that branch: nothing lost, nothing taken twice. */
START_TEST(kept_loser_takes_the_value_that_arrived_between_two_selects)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx[2];
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2] = { -1, -1 }, x = 1, y = 2, z = -1;
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	memset(r, 0, sizeof r);
	recv_pair_new(4, tx, rx, r, v, b);
	unsigned flags = AK_SELECT_KEEP | AK_SELECT_BIASED;
	ck_assert_int_eq(ak_select_init(&op, b, 2, flags), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);     /* both looked */
	ck_assert_int_eq(ak_mpsc_try_send(tx[0], &x), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx[1], &y), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 0);                /* biased */
	ck_assert_int_eq(v[0], 1);
	ck_assert_int_eq(v[1], -1);
	ck_assert_int_eq(ak_mpsc_recv_init(&r[0], rx[0], &v[0]), 0);
	ck_assert_int_eq(ak_select_init(&op, b, 2, flags), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 1);
	ck_assert_int_eq(v[1], 2);
	ck_assert_int_eq(b[0].status, AK_PENDING);
	ck_assert_int_eq(ak_select_release(&op), 0);
	ak_future_cancel(&r[0].future);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(ak_mpsc_try_recv(rx[k], &z), AK_EAGAIN);
	recv_pair_drop(t, tx, rx);
}
END_TEST

/* tokio's move_uncompleted_futures: both ready, one wins; the other, held
 * by the select (no one else may poll it) until released, is then awaited
 * on its own and gives its result. */
START_TEST(kept_loser_is_the_callers_to_poll_on_its_own)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f[2];
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	tk_ready_init(&f[0], 0);
	tk_ready_init(&f[1], 0);
	int res[2] = { AK_EPIPE, AK_ETIMEDOUT };
	f[0].result = res[0];
	f[1].result = res[1];
	branches_set(b, 2, (struct ak_future *[]){ &f[0].future, &f[1].future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	int w = ak_select_index(&op);
	ck_assert(w == 0 || w == 1);
	ck_assert_int_eq(b[w].status, res[w]);
	ck_assert_int_eq(b[1 - w].status, AK_PENDING);
	ck_assert_int_eq(atomic_load(&f[1 - w].cancels), 0);
	ck_assert_int_eq(tk_poll(t, &f[1 - w].future), AK_EINVAL);
	ck_assert_int_eq(ak_select_release(&op), 0);
	ck_assert_int_eq(ak_future_state(&f[1 - w].future), AK_FUTURE_IDLE);
	ck_assert_int_eq(tk_poll(t, &f[1 - w].future), res[1 - w]);
}
END_TEST

/* tokio's join_with_select: a loop of selects over two waits, each
 * branch disabled once it has its value; the one still waiting keeps the
 * waker it took in the first round (one clone in all). */
START_TEST(kept_select_in_a_loop_joins_two_waits)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future f[2];
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	tk_flag_init(&f[0], 0);
	tk_flag_init(&f[1], 0);
	f[0].result = 123;
	f[1].result = 456;
	branches_set(b, 2, (struct ak_future *[]){ &f[0].future, &f[1].future });
	int got[2] = { 0, 0 }, rounds = 0;
	while (!got[0] || !got[1]) {
		for (int k = 0; k < 2; k++)
			b[k].flags = got[k] ? AK_BRANCH_DISABLED : 0;
		ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
		int rc = tk_poll(t, &op.future);
		if (rc == AK_PENDING) {
			ck_assert(!tk_task_take_woken(t));
			tk_flag_set(&f[rounds == 0 ? 0 : 1]);
			rc = tk_poll_woken(t, &op.future);
		}
		ck_assert_int_eq(rc, 0);
		int w = ak_select_index(&op);
		got[w] = b[w].status;
		rounds++;
	}
	ck_assert_int_eq(got[0], 123);
	ck_assert_int_eq(got[1], 456);
	ck_assert_int_eq(rounds, 2);
	ck_assert_int_eq(atomic_load(&f[1].clones), 1);
	ck_assert_int_eq(atomic_load(&f[1].cancels), 0);
}
END_TEST

/* tokio's biased_eventually_ready: three futures kept across rounds, each
 * enabled by a precondition on a count; biased, the first ready in array
 * order wins each round, and a future pending in one round is the same
 * one (its progress kept) in the next. */
START_TEST(biased_kept_select_finishes_kept_futures_in_order)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future one, two, three;
	struct ak_branch b[3];
	struct ak_select_op op;
	int count = 0;

	memset(&op, 0, sizeof op);
	tk_after_init(&one, 0);
	tk_after_init(&two, 1);
	tk_after_init(&three, 1);
	branches_set(b, 3, (struct ak_future *[]){ &two.future, &three.future, &one.future });
	for (;;) {
		b[0].flags = count < 2 ? 0 : AK_BRANCH_DISABLED;
		b[1].flags = count < 3 ? 0 : AK_BRANCH_DISABLED;
		b[2].flags = count < 1 ? 0 : AK_BRANCH_DISABLED;
		ck_assert_int_eq(ak_select_init(&op, b, 3, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
		int rc = tk_poll(t, &op.future);
		if (rc == AK_ENOENT)
			break;
		ck_assert_int_eq(rc, 0);
		int w = ak_select_index(&op);
		count++;
		ck_assert_int_eq(count, w == 2 ? 1 : w + 2);
	}
	ck_assert_int_eq(count, 3);
	ck_assert_int_eq(atomic_load(&two.polls), 2);
	ck_assert_int_eq(atomic_load(&three.polls), 2);
	ck_assert_int_eq(atomic_load(&two.cancels) + atomic_load(&three.cancels), 0);
}
END_TEST

/* Cancelling a kept select that waits cancels its branches, as any
 * select's cancel does; ak_select_try refuses the flag (it leaves
 * nothing registered). */
START_TEST(kept_select_cancelled_while_waiting_cancels_its_branches)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a, c;
	struct ak_branch b[2];
	struct ak_select_op op;
	size_t index;

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &c.future });
	ck_assert_int_eq(ak_select_try(b, 2, AK_SELECT_KEEP, NULL, &index), AK_EINVAL);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(b[0].status, AK_ECANCELED);
	ck_assert_int_eq(b[1].status, AK_ECANCELED);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(tk_flag_holds_waker(&c), 0);
}
END_TEST

/* A kept loser released and cancelled by the caller takes nothing: a
 * value sent afterwards stays in its channel. */
START_TEST(kept_loser_cancelled_by_the_caller_loses_no_message)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx[2];
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2] = { -1, -1 }, x = 3, z = -1;
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	memset(r, 0, sizeof r);
	recv_pair_new(4, tx, rx, r, v, b);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_try_send(tx[0], &x), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_select_release(&op), 0);
	ak_future_cancel(&r[1].future);
	ck_assert_int_eq(ak_future_state(&r[1].future), AK_FUTURE_DONE);
	ck_assert_int_eq(ak_mpsc_try_send(tx[1], &x), 0);
	ck_assert_int_eq(v[1], -1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx[1], &z), 0);
	ck_assert_int_eq(z, 3);
	recv_pair_drop(t, tx, rx);
}
END_TEST

/* A loop re-armed after each win: only the winner's receive is made
 * again, the loser held as it is (registered once for all the rounds); a
 * closed channel's winner is disabled at the re-arm, and with both closed
 * the select says AK_ENOENT. */
START_TEST(rearmed_select_takes_its_held_loser_as_it_is)
{
	struct tk_task *t = tk_task_new();
	struct ak_mpsc_tx *tx[2];
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op r[2];
	int v[2] = { -1, -1 }, got[2] = { 0, 0 };
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	memset(r, 0, sizeof r);
	recv_pair_new(8, tx, rx, r, v, b);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 2);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_mpsc_try_send(tx[0], &i), 0);
	ak_mpsc_tx_drop(tx[0]);
	int x = 9;
	ck_assert_int_eq(ak_mpsc_try_send(tx[1], &x), 0);
	for (int round = 0;; round++) {
		int rc = round == 0 ? tk_poll_woken(t, &op.future) : tk_poll(t, &op.future);
		if (rc == AK_PENDING) {
			/* Channel 1 is empty, still open: only its close ends it. */
			ck_assert_int_eq(got[0], 3);
			ak_mpsc_tx_drop(tx[1]);
			rc = tk_poll_woken(t, &op.future);
		}
		if (rc == AK_ENOENT)
			break;
		ck_assert_int_eq(rc, 0);
		int w = ak_select_index(&op);
		if (b[w].status == AK_EPIPE) {
			b[w].flags = AK_BRANCH_DISABLED;
		} else {
			ck_assert_int_eq(b[w].status, 0);
			ck_assert_int_eq(v[w], w ? 9 : got[0]);
			got[w]++;
			ck_assert_int_eq(ak_mpsc_recv_init(&r[w], rx[w], &v[w]), 0);
		}
		ck_assert_int_eq(ak_select_rearm(&op), 0);
	}
	ck_assert_int_eq(got[0], 3);
	ck_assert_int_eq(got[1], 1);
	/* Branch 1 was held through channel 0's rounds: one registration. */
	ck_assert_int_le(atomic_load(&t->cw->clones), 3);
	for (int k = 0; k < 2; k++)
		ak_mpsc_rx_drop(rx[k]);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}
END_TEST

/* ak_select_rearm wants a select that won with AK_SELECT_KEEP, and a
 * winner's operation made again (or disabled); a refusal changes nothing. */
START_TEST(rearm_refuses_what_is_not_a_kept_win)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f[2];
	struct tk_flag_future a;
	struct ak_branch b[2];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_select_rearm(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_select_rearm(&op), AK_EINVAL);           /* zeroed */
	ck_assert_int_eq(ak_select_release(&op), AK_EINVAL);
	tk_ready_init(&f[0], 0);
	tk_ready_init(&f[1], 0);
	branches_set(b, 2, (struct ak_future *[]){ &f[0].future, &f[1].future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, 0), 0);
	ck_assert_int_eq(ak_select_rearm(&op), AK_EINVAL);           /* not polled */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_rearm(&op), AK_EINVAL);           /* no flag */
	tk_ready_init(&f[0], 0);
	tk_ready_init(&f[1], 0);
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	int w = ak_select_index(&op);
	/* The winner is done, not made again: refused, op still won. */
	ck_assert_int_eq(ak_select_rearm(&op), AK_EINVAL);
	ck_assert_int_eq(ak_select_index(&op), w);
	tk_ready_init(&f[w], 0);
	ck_assert_int_eq(ak_select_rearm(&op), 0);
	ck_assert_int_eq(ak_select_index(&op), AK_ENOENT);
	ck_assert_int_eq(b[w].status, AK_PENDING);
	ck_assert_int_eq(ak_select_rearm(&op), AK_EINVAL);           /* not won */
	ck_assert_int_eq(ak_select_release(&op), 0);                  /* holds nothing */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	/* A pending select is cancelled, not released. */
	tk_flag_init(&a, 0);
	tk_ready_init(&f[0], 0);
	branches_set(b, 2, (struct ak_future *[]){ &a.future, &f[0].future });
	b[1].flags = AK_BRANCH_DISABLED;
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_select_release(&op), AK_EBUSY);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ak_future_cancel(&f[0].future);
	ak_future_cancel(&f[1].future);
}
END_TEST

/* A select made again (ak_select_init) after a kept win lets its held
 * losers go first: over another array, the loser can be claimed there. */
START_TEST(select_made_again_lets_its_held_losers_go)
{
	struct tk_task *t = tk_task_new();
	struct tk_count_future f[2];
	struct ak_branch b[2], c[1];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	tk_ready_init(&f[0], 0);
	tk_ready_init(&f[1], 0);
	branches_set(b, 2, (struct ak_future *[]){ &f[0].future, &f[1].future });
	ck_assert_int_eq(ak_select_init(&op, b, 2, AK_SELECT_KEEP), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	int w = ak_select_index(&op);
	ck_assert(ak_future_state(&f[1 - w].future) & AK_FUTURE_OWNED);
	branches_set(c, 1, (struct ak_future *[]){ &f[1 - w].future });
	ck_assert_int_eq(ak_select_init(&op, c, 1, 0), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(c[0].status, 0);
	ck_assert_int_eq(ak_future_state(&f[1 - w].future), AK_FUTURE_DONE);
}
END_TEST

/* A re-armed select cancelled while it waits cancels its re-armed winner
 * and its held losers, even one whose flags the caller turned to disabled
 * meanwhile. */
START_TEST(rearmed_select_cancelled_cancels_its_held_losers)
{
	struct tk_task *t = tk_task_new();
	struct tk_flag_future a, c;
	struct tk_count_future r;
	struct ak_branch b[3];
	struct ak_select_op op;

	memset(&op, 0, sizeof op);
	tk_flag_init(&a, 0);
	tk_flag_init(&c, 0);
	tk_ready_init(&r, 0);
	branches_set(b, 3, (struct ak_future *[]){ &a.future, &c.future, &r.future });
	ck_assert_int_eq(ak_select_init(&op, b, 3, AK_SELECT_KEEP | AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_select_index(&op), 2);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 1);
	tk_count_init(&r, 100, 0, 0);
	b[1].flags = AK_BRANCH_DISABLED;      /* not the winner's: still held */
	ck_assert_int_eq(ak_select_rearm(&op), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(b[k].status, AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&r.cancels), 1);
	ck_assert_int_eq(tk_flag_holds_waker(&a), 0);
	ck_assert_int_eq(tk_flag_holds_waker(&c), 0);
	ck_assert_int_eq(ak_future_state(&c.future), AK_FUTURE_DONE);
}
END_TEST

Suite *select_suite(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tk_tcase("select");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, a_seeded_select_starts_at_the_same_branches_for_the_same_seed);
	tcase_add_test(tc, select_seed_needs_the_flag_and_an_unpolled_op);
	tcase_add_test(tc, unseeded_selects_between_do_not_change_a_seeded_sequence);
	tcase_add_test(tc, pending_select_repolled_without_change_keeps_its_registrations_and_is_woken);
	tcase_add_test(tc, select_picks_the_ready_branch);
	tcase_add_test(tc, select_waits_then_wins_with_the_branch_that_became_ready);
	tcase_add_test(tc, select_is_fair_between_two_ready_branches);
	tcase_add_test(tc, biased_select_always_picks_the_first_ready);
	tcase_add_test(tc, disabled_branch_is_never_polled);
	tcase_add_test(tc, all_disabled_select_is_enoent);
	tcase_add_test(tc, select_checks_the_budget_before_any_branch);
	tcase_add_test(tc, cancelled_select_cancels_its_pending_branches);
	tcase_add_test(tc, losing_recv_branches_lose_no_message);
	tcase_add_test(tc, losing_lock_branch_leaves_the_lock_free);
	tcase_add_test(tc, losing_reserve_returns_its_slot);
	tcase_add_test(tc, try_select_is_eagain_and_leaves_nothing_registered);
	tcase_add_test(tc, try_select_takes_a_ready_branch_and_ignores_the_budget);
	tcase_add_test(tc, blocking_select_with_deadline_on_a_plain_thread);
	tcase_add_test(tc, select_between_a_channel_and_a_sleep);
	tcase_add_test(tc, join_waits_for_all);
	tcase_add_test(tc, join_rotates_the_first_branch_polled);
	tcase_add_test(tc, try_join_stops_at_the_first_error_and_cancels_the_rest);
	tcase_add_test(tc, try_join_of_successes_completes_with_zero);
	tcase_add_test(tc, blocking_join_times_out_and_cancels);
	tcase_add_test(tc, nested_combinators_give_branch_paths_in_place);
	tcase_add_test(tc, paths_past_the_maximum_are_marked_overflowed);
	tcase_add_test(tc, sibling_branches_contending_for_one_mutex_are_not_self_deadlock);
	tcase_add_test(tt, select_and_join_are_awaited_like_any_operation);
	tcase_add_test(tc, bad_inputs_are_einval);
	tcase_add_test(tc, kept_loser_stays_registered_while_another_wins);
	tcase_add_test(tc, kept_loser_takes_the_value_that_arrived_between_two_selects);
	tcase_add_test(tc, kept_loser_is_the_callers_to_poll_on_its_own);
	tcase_add_test(tc, kept_select_in_a_loop_joins_two_waits);
	tcase_add_test(tc, biased_kept_select_finishes_kept_futures_in_order);
	tcase_add_test(tc, kept_select_cancelled_while_waiting_cancels_its_branches);
	tcase_add_test(tc, kept_loser_cancelled_by_the_caller_loses_no_message);
	tcase_add_test(tc, rearmed_select_takes_its_held_loser_as_it_is);
	tcase_add_test(tc, rearm_refuses_what_is_not_a_kept_win);
	tcase_add_test(tc, select_made_again_lets_its_held_losers_go);
	tcase_add_test(tc, rearmed_select_cancelled_cancels_its_held_losers);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
