/*
 * The async Mutex (include/awaitkit/mutex.h): FIFO grants, try_lock never
 * jumping the queue, cancel passing a grant on, the guard held across
 * awaits and freed by a task's cleanup block, AK_EBUSY on destroy, the
 * self-deadlock report (and its absence for siblings and slotless
 * executors), the holder query, and mutual exclusion under threads.
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <check.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *mutex_suite(void);

#define MS 1000000LL

static struct ak_mutex *new_mutex(unsigned flags)
{
	struct ak_mutex *m = NULL;
	ck_assert_int_eq(ak_mutex_new(&m, flags), 0);
	return m;
}

START_TEST(lock_is_granted_in_fifo_order)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, w[3];
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	struct tk_task *holder = tk_task_new(), *t[3];

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(holder, &g.future), 0);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		ak_mutex_lock_init(&w[i], m);
	}
	/* First polled first served, whatever the init order. */
	ck_assert_int_eq(tk_poll(t[2], &w[2].future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t[0], &w[0].future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t[1], &w[1].future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	int order[3] = { 2, 0, 1 };
	for (int k = 0; k < 3; k++) {
		int i = order[k];
		ck_assert(tk_task_take_woken(t[i]));
		for (int j = 0; j < 3; j++)
			ck_assert(j == i || !tk_task_take_woken(t[j]));
		ck_assert_int_eq(tk_poll(t[i], &w[i].future), 0);
		ck_assert_int_eq(ak_mutex_unlock(&w[i]), 0);
	}
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(lock_with_its_budget_spent_yields_without_taking_the_mutex)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op op;
	memset(&op, 0, sizeof op);
	struct tk_task *t = tk_task_new();

	ak_mutex_lock_init(&op, m);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), 1);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert_int_eq(ak_mutex_unlock(&op), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* A lock whose first try fails parks in that same poll, keeping one clone
 * of its waker, which the unlock's hand-off consumes: nothing is taken
 * twice and nothing is left to drop. */
START_TEST(lock_that_finds_the_mutex_held_parks_with_one_waker_clone)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, w;
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	struct tk_task *holder = tk_task_new(), *t = tk_task_new();

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(holder, &g.future), 0);
	ak_mutex_lock_init(&w, m);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 1);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);    /* same waker: kept */
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(atomic_load(&t->cw->wakes), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);             /* reserved for w */
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(try_lock_fails_while_waiters_queue)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, w, t;
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	memset(&t, 0, sizeof t);
	struct tk_task *a = tk_task_new(), *b = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_try_lock(&t, m, NULL), AK_EAGAIN);
	ak_mutex_lock_init(&w, m);
	ck_assert_int_eq(tk_poll(b, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	/* Released, but handed to the waiter: nothing for a try. */
	ck_assert_int_eq(ak_mutex_try_lock(&t, m, NULL), AK_EAGAIN);
	ck_assert_int_eq(tk_poll(b, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_try_lock(&t, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_unlock(&t), 0);
	(void)a;
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(cancelled_granted_lock_passes_it_on)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, b, c;
	memset(&g, 0, sizeof g);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	struct tk_task *tb = tk_task_new(), *tc = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ak_mutex_lock_init(&b, m);
	ak_mutex_lock_init(&c, m);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tc, &c.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(tb));
	/* b was granted the lock but never saw it: its cancel passes it on. */
	ak_future_cancel(&b.future);
	ck_assert(tk_task_take_woken(tc));
	ck_assert_int_eq(tk_poll(tc, &c.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&b), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_unlock(&c), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(cancelled_queued_lock_loses_only_its_place)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, b, c;
	memset(&g, 0, sizeof g);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	struct tk_task *tb = tk_task_new(), *tc = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ak_mutex_lock_init(&b, m);
	ak_mutex_lock_init(&c, m);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tc, &c.future), AK_PENDING);
	ak_future_cancel(&b.future);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(!tk_task_take_woken(tb));
	ck_assert(tk_task_take_woken(tc));
	ck_assert_int_eq(tk_poll(tc, &c.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&c), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(lock_awaited_by_its_holder_is_edeadlk)
{
	struct ak_mutex *m = new_mutex(0);
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

/* The unlock clears the holder's record, its task word included: a task
 * that held the mutex before and now waits behind another holder is a
 * plain waiter, and the query names the new holder. */
START_TEST(former_holder_waiting_behind_a_new_holder_is_not_reported)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op a1, b, a2;
	memset(&a1, 0, sizeof a1);
	memset(&b, 0, sizeof b);
	memset(&a2, 0, sizeof a2);
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();
	struct ak_lock_info info;

	ak_mutex_lock_init(&a1, m);
	ck_assert_int_eq(tk_poll(ta, &a1.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&a1), 0);
	ck_assert_int_eq(ak_mutex_holder(m, NULL, &info), AK_ENOENT);
	ak_mutex_lock_init(&b, m);
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ak_mutex_lock_init(&a2, m);
	ck_assert_int_eq(tk_poll(ta, &a2.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_holder(m, NULL, &info), 0);
	ck_assert_uint_eq(info.task, ak_task_slot_id(&tb->slot));
	ck_assert_int_eq(ak_mutex_unlock(&b), 0);
	ck_assert(tk_task_take_woken(ta));
	ck_assert_int_eq(tk_poll(ta, &a2.future), 0);
	ck_assert_int_eq(ak_mutex_holder(m, NULL, &info), 0);
	ck_assert_uint_eq(info.task, ak_task_slot_id(&ta->slot));
	ck_assert_int_eq(ak_mutex_unlock(&a2), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* A task handed the lock at an unlock is its holder at once: awaiting the
 * mutex again is AK_EDEADLK, not a park behind itself.  Its slot is named
 * by an earlier lock, so the hand-off completes on the poll's leaf path and
 * the second await takes the busy path (sync/lockop.h). */
START_TEST(task_handed_the_lock_that_awaits_it_again_is_edeadlk)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op first, g, w, again;
	memset(&first, 0, sizeof first);
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	memset(&again, 0, sizeof again);
	struct tk_task *holder = tk_task_new(), *t = tk_task_new();

	ak_mutex_lock_init(&first, m);
	ck_assert_int_eq(tk_poll(t, &first.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&first), 0);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(holder, &g.future), 0);
	ak_mutex_lock_init(&w, m);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	ak_mutex_lock_init(&again, m);
	ck_assert_int_eq(tk_poll(t, &again.future), AK_EDEADLK);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(lock_awaited_by_a_branch_under_the_holder_is_edeadlk)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, again;
	memset(&g, 0, sizeof g);
	memset(&again, 0, sizeof again);
	struct tk_task *t = tk_task_new();
	const uint16_t holder[] = { 1 }, child[] = { 1, 0, 2 };

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll_path(t, &g.future, 1, holder), 0);
	ak_mutex_lock_init(&again, m);
	ck_assert_int_eq(tk_poll_path(t, &again.future, 3, child), AK_EDEADLK);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(sibling_branches_contending_are_not_reported)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, sib;
	memset(&g, 0, sizeof g);
	memset(&sib, 0, sizeof sib);
	struct tk_task *t = tk_task_new();
	const uint16_t left[] = { 0 }, right[] = { 1 };

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll_path(t, &g.future, 1, left), 0);
	ak_mutex_lock_init(&sib, m);
	ck_assert_int_eq(tk_poll_path(t, &sib.future, 1, right), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(tk_poll_path(t, &sib.future, 1, right), 0);
	ck_assert_int_eq(ak_mutex_unlock(&sib), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(executor_without_task_slot_gets_no_detection)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, again;
	memset(&g, 0, sizeof g);
	memset(&again, 0, sizeof again);
	struct tk_task *t = tk_task_new();

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll_noslot(t, &g.future), 0);
	ak_mutex_lock_init(&again, m);
	/* tokio's behaviour: it waits (for ever, were it not cancelled). */
	ck_assert_int_eq(tk_poll_noslot(t, &again.future), AK_PENDING);
	ak_future_cancel(&again.future);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(mutex_without_diagnostics_reports_nothing)
{
	struct ak_mutex *m = new_mutex(AK_LOCK_NODIAG);
	struct ak_mutex_lock_op g, again;
	memset(&g, 0, sizeof g);
	memset(&again, 0, sizeof again);
	struct ak_lock_info info;
	struct tk_task *t = tk_task_new();

	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(t, &g.future), 0);
	ak_mutex_lock_init(&again, m);
	ck_assert_int_eq(tk_poll(t, &again.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), AK_EINVAL);
	ak_future_cancel(&again.future);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(holder_query_reports_site_time_and_pending_polls)
{
	struct ak_mutex *m = new_mutex(AK_LOCK_STATS);
	struct ak_mutex_lock_op g;
	memset(&g, 0, sizeof g);
	struct ak_lock_info info;
	struct tk_count_future work;
	struct tk_task *t = tk_task_new(), *other = tk_task_new();

	ck_assert_int_eq(ak_mutex_holder(m, NULL, &info), AK_ENOENT);
	int line = __LINE__ + 1;
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(t, &g.future), 0);
	/* The holder goes on to await three times: three AK_PENDING polls,
	 * counted by ak_context_done in its slot. */
	tk_count_init(&work, 3, 0, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(tk_poll(t, &work.future), AK_PENDING);
	tk_sleep_ns(20 * MS);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), 0);
	ck_assert_uint_eq(info.task, ak_task_slot_id(&t->slot));
	ck_assert_str_eq(info.file, __FILE__);
	ck_assert_int_eq(info.line, line);
	ck_assert_int_eq(info.mode, AK_LOCK_WRITE);
	ck_assert_int_ge(info.held_ns, 10 * MS);   /* a coarse clock: a tick is 1-4 ms */
	ck_assert_uint_eq(info.pending_polls, 3);
	ck_assert_int_eq(tk_poll(t, &work.future), 0);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), 0);
	ck_assert_uint_eq(info.pending_polls, 3);
	/* Another task's slot says nothing about the holder's polls. */
	ck_assert_int_eq(ak_mutex_holder(m, &other->slot, &info), 0);
	ck_assert_uint_eq(info.pending_polls, AK_LOCK_POLLS_UNKNOWN);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), AK_ENOENT);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(holder_query_without_statistics_reports_who_and_where_only)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g;
	memset(&g, 0, sizeof g);
	struct ak_lock_info info;
	struct tk_task *t = tk_task_new();

	int line = __LINE__ + 1;
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(tk_poll(t, &g.future), 0);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), 0);
	ck_assert_uint_eq(info.task, ak_task_slot_id(&t->slot));
	ck_assert_str_eq(info.file, __FILE__);
	ck_assert_int_eq(info.line, line);
	ck_assert_int_eq(info.held_ns, AK_LOCK_HELD_UNKNOWN);
	ck_assert_uint_eq(info.pending_polls, AK_LOCK_POLLS_UNKNOWN);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_holder(m, &t->slot, &info), AK_ENOENT);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- a task written with the await macros that holds the mutex ------- */

struct holder_task {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *m;
	struct ak_mutex_lock_op op;
	struct tk_flag_future *flag;
	int rc;
	int cleanups;
};

static int holder_poll(struct ak_future *f, struct ak_context *cx)
{
	struct holder_task *h = (struct holder_task *)f;

	AK_BEGIN(&h->aw, cx);
	ak_mutex_lock_init(&h->op, h->m);
	AK_AWAIT(&h->aw, &h->op.future, h->rc);
	if (h->rc != 0)
		AK_RETURN(&h->aw, h->rc);
	AK_AWAIT(&h->aw, &h->flag->future, h->rc);
	ak_mutex_unlock(&h->op);
	AK_CLEANUP(&h->aw);
	h->cleanups++;
	ak_mutex_unlock(&h->op);   /* AK_EINVAL if it did not hold it yet */
	AK_END(&h->aw);
}

static void holder_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct holder_task *)f)->aw, f);
}

static const struct ak_future_vtable holder_vtable = { holder_poll, holder_cancel };

START_TEST(task_dropped_while_holding_frees_the_mutex_in_its_cleanup)
{
	struct ak_mutex *m = new_mutex(0);
	struct tk_flag_future flag;
	struct holder_task h;
	struct ak_mutex_lock_op next;
	memset(&next, 0, sizeof next);
	struct tk_task *t = tk_task_new(), *tn = tk_task_new();

	memset(&h, 0, sizeof h);
	h.m = m;
	h.flag = &flag;
	tk_flag_init(&flag, 0);
	ck_assert_int_eq(ak_future_init(&h.future, &holder_vtable), 0);
	ck_assert_int_eq(tk_poll(t, &h.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ak_mutex_lock_init(&next, m);
	ck_assert_int_eq(tk_poll(tn, &next.future), AK_PENDING);
	ak_future_cancel(&h.future);      /* the task is dropped */
	ck_assert_int_eq(h.cleanups, 1);
	ck_assert(tk_task_take_woken(tn));
	ck_assert_int_eq(tk_poll(tn, &next.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&next), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(destroying_a_held_or_awaited_mutex_is_ebusy)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, w;
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_free(m), AK_EBUSY);
	ak_mutex_lock_init(&w, m);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	/* Granted to the waiter, not yet taken: still busy. */
	ck_assert_int_eq(ak_mutex_free(m), AK_EBUSY);
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	ck_assert_int_eq(ak_mutex_free(m), AK_EBUSY);
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(unlocking_what_is_not_held_is_einval)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, zero;
	memset(&g, 0, sizeof g);
	memset(&zero, 0, sizeof zero);

	memset(&zero, 0, sizeof zero);
	ck_assert_int_eq(ak_mutex_unlock(&zero), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_unlock(NULL), AK_EINVAL);
	ak_mutex_lock_init(&g, m);
	ck_assert_int_eq(ak_mutex_unlock(&g), AK_EINVAL);   /* never polled */
	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	/* A guard cannot be re-initialised: that would leak the lock. */
	ck_assert_int_eq(ak_mutex_lock_init(&g, m), AK_EBUSY);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g), AK_EINVAL);   /* twice */
	ck_assert_int_eq(ak_mutex_is_locked(m), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(unlocking_a_parked_or_failed_lock_is_einval_and_changes_nothing)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, w, f;
	memset(&g, 0, sizeof g);
	memset(&w, 0, sizeof w);
	memset(&f, 0, sizeof f);
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ak_mutex_lock_init(&w, m);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_mutex_unlock(&w), AK_EINVAL);     /* parked: not a guard */
	ck_assert_int_eq(ak_mutex_try_lock(&f, m, NULL), AK_EAGAIN);
	ck_assert_int_eq(ak_mutex_unlock(&f), AK_EINVAL);     /* failed */
	/* Nothing moved: still held by g, w still queued and not woken. */
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	ck_assert_int_eq(ak_mutex_unlock(&g), AK_EINVAL);     /* g already unlocked */
	ck_assert_int_eq(ak_mutex_is_locked(m), 1);           /* w's guard stands */
	ck_assert_int_eq(ak_mutex_unlock(&w), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(bad_inputs_are_einval)
{
	struct ak_mutex *m = NULL;
	struct ak_mutex_lock_op op;
	memset(&op, 0, sizeof op);
	struct ak_lock_info info;

	ck_assert_int_eq(ak_mutex_new(NULL, 0), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_new(&m, 0x100), AK_EINVAL);
	ck_assert_ptr_null(m);
	m = new_mutex(0);
	ck_assert_int_eq(ak_mutex_lock_init(NULL, m), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_lock_init(&op, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_try_lock(&op, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_holder(NULL, NULL, &info), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_holder(m, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_is_locked(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_mutex_free(NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_op_size(AK_OP_MUTEX_LOCK), sizeof(struct ak_mutex_lock_op));
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(blocking_lock_times_out_at_its_deadline)
{
	struct ak_mutex *m = new_mutex(0);
	struct ak_mutex_lock_op g, b;
	memset(&g, 0, sizeof g);
	memset(&b, 0, sizeof b);

	ck_assert_int_eq(ak_mutex_try_lock(&g, m, NULL), 0);
	ck_assert_int_eq(ak_mutex_lock_blocking(&b, m, ak_deadline_in(10 * MS)), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_mutex_unlock(&g), 0);
	ck_assert_int_eq(ak_mutex_lock_blocking(&b, m, ak_deadline_in(1000 * MS)), 0);
	ck_assert_int_eq(ak_mutex_unlock(&b), 0);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

/* ---- mutual exclusion under threads ---------------------------------- */

#define POOL_TASKS 8
#define POOL_ITERS 1500
#define THREADS 4
#define THREAD_ITERS 2500

START_TEST(mutual_exclusion_of_tasks)
{
	struct ak_mutex *m = new_mutex(0);
	struct tk_lock l = tk_lock_mutex(m);

	ck_assert_int_eq(tk_exclusion_on_pool(&l, POOL_TASKS, POOL_ITERS), POOL_TASKS * POOL_ITERS);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

START_TEST(mutual_exclusion_on_blocked_threads)
{
	struct ak_mutex *m = new_mutex(0);
	struct tk_lock l = tk_lock_mutex(m);

	ck_assert_int_eq(tk_exclusion_on_threads(&l, THREADS, THREAD_ITERS), THREADS * THREAD_ITERS);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

Suite *mutex_suite(void)
{
	Suite *s = suite_create("mutex");
	TCase *tc = tk_tcase("mutex");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, lock_is_granted_in_fifo_order);
	tcase_add_test(tc, lock_with_its_budget_spent_yields_without_taking_the_mutex);
	tcase_add_test(tc, lock_that_finds_the_mutex_held_parks_with_one_waker_clone);
	tcase_add_test(tc, try_lock_fails_while_waiters_queue);
	tcase_add_test(tc, cancelled_granted_lock_passes_it_on);
	tcase_add_test(tc, cancelled_queued_lock_loses_only_its_place);
	tcase_add_test(tc, lock_awaited_by_its_holder_is_edeadlk);
	tcase_add_test(tc, former_holder_waiting_behind_a_new_holder_is_not_reported);
	tcase_add_test(tc, task_handed_the_lock_that_awaits_it_again_is_edeadlk);
	tcase_add_test(tc, lock_awaited_by_a_branch_under_the_holder_is_edeadlk);
	tcase_add_test(tc, sibling_branches_contending_are_not_reported);
	tcase_add_test(tc, executor_without_task_slot_gets_no_detection);
	tcase_add_test(tc, mutex_without_diagnostics_reports_nothing);
	tcase_add_test(tc, holder_query_reports_site_time_and_pending_polls);
	tcase_add_test(tc, holder_query_without_statistics_reports_who_and_where_only);
	tcase_add_test(tc, task_dropped_while_holding_frees_the_mutex_in_its_cleanup);
	tcase_add_test(tc, destroying_a_held_or_awaited_mutex_is_ebusy);
	tcase_add_test(tc, unlocking_what_is_not_held_is_einval);
	tcase_add_test(tc, unlocking_a_parked_or_failed_lock_is_einval_and_changes_nothing);
	tcase_add_test(tc, bad_inputs_are_einval);
	tcase_add_test(tc, blocking_lock_times_out_at_its_deadline);
	tcase_add_test(tt, mutual_exclusion_of_tasks);
	tcase_add_test(tc, mutual_exclusion_on_blocked_threads);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
