/*
 * The waiter queue (core/waitq.h): FIFO order, provisional grants passed on
 * by cancel, the clone-before-lock / drop-after-unlock discipline, and wakes
 * made only after the lock is released.
 *
 * The fixture is a token pool written the way every primitive uses the
 * queue: take(n) waits FIFO for n tokens; give(n) hands tokens to the head
 * waiters (partially, as they come) and keeps the rest.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "testkit.h"
#include "waitq.h"

Suite *waitq_suite(void);

struct pool {
	struct ak__lock lock;
	struct ak__waitq q;
	uintptr_t tokens;
};

struct take_op {
	struct ak_future future;
	struct pool *pool;
	uintptr_t want;
	struct ak__waiter w;
};

static void pool_init(struct pool *p, uintptr_t tokens)
{
	ak__lock_init(&p->lock);
	ak__waitq_init(&p->q);
	p->tokens = tokens;
}

static void pool_destroy(struct pool *p)
{
	ak__lock_destroy(&p->lock);
}

/* Hands n tokens to the waiters in order; the lock is held on entry and on
 * return, but dropped to wake a full wake list. */
static void give_locked(struct pool *p, uintptr_t n, struct ak__wakelist *wl)
{
	struct ak__waiter *w;
	while (n > 0 && (w = ak__waitq_head(&p->q)) != NULL) {
		uintptr_t need = w->want - w->granted;
		uintptr_t g = need < n ? need : n;
		n -= g;
		ak__waitq_grant(&p->q, w, g, wl);
		if (ak__wakelist_full(wl)) {
			ak__unlock(&p->lock);
			ak__wakelist_wake(wl);
			ak__lock(&p->lock);
		}
	}
	p->tokens += n;
}

static void pool_give(struct pool *p, uintptr_t n)
{
	struct ak__wakelist wl;
	ak__wakelist_init(&wl);
	ak__lock(&p->lock);
	give_locked(p, n, &wl);
	ak__unlock(&p->lock);
	ak__wakelist_wake(&wl);
}

/* Never jumps the queue: tokens promised to waiters are not available. */
static int pool_try_take(struct pool *p, uintptr_t n)
{
	int rc = AK_EAGAIN;
	ak__lock(&p->lock);
	if (ak__waitq_empty(&p->q) && p->tokens >= n) {
		p->tokens -= n;
		rc = 0;
	}
	ak__unlock(&p->lock);
	return rc;
}

static uintptr_t pool_tokens(struct pool *p)
{
	ak__lock(&p->lock);
	uintptr_t n = p->tokens;
	ak__unlock(&p->lock);
	return n;
}

static void take_cancel(struct ak_future *f)
{
	struct take_op *op = (struct take_op *)f;
	struct pool *p = op->pool;
	struct ak__wakelist wl;
	struct ak_waker drop;

	ak__wakelist_init(&wl);
	ak__lock(&p->lock);
	uintptr_t given = ak__waitq_cancel(&p->q, &op->w, &drop);
	give_locked(p, given, &wl);
	ak__unlock(&p->lock);
	ak__wakelist_wake(&wl);
	ak__waker_drop_kept(&drop);
}

static int take_poll(struct ak_future *f, struct ak_context *cx)
{
	struct take_op *op = (struct take_op *)f;
	struct pool *p = op->pool;
	struct ak_waker clone;

	if (ak__waiter_granted(&op->w)) {
		ak__waiter_take(&op->w);
		return 0;
	}
	int rc = ak__waiter_prepare(&op->w, cx, &clone);
	if (rc) {
		take_cancel(f);
		return rc;
	}
	ak__lock(&p->lock);
	if (ak__waiter_granted(&op->w)) {
		ak__waiter_take(&op->w);
		rc = 0;
	} else if (ak__load(&op->w.state, AK__RELAXED) == AK__W_IDLE &&
	           ak__waitq_empty(&p->q) && p->tokens >= op->want) {
		p->tokens -= op->want;
		rc = 0;
	} else {
		op->w.want = op->want;
		ak__waitq_park(&p->q, &op->w, &clone);
		rc = AK_PENDING;
	}
	ak__unlock(&p->lock);
	ak__waker_drop_kept(&clone);
	return rc;
}

static const struct ak_future_vtable take_vtable = { take_poll, take_cancel };

static void take_init(struct take_op *op, struct pool *p, uintptr_t n)
{
	memset(op, 0, sizeof(*op));
	ak_future_init(&op->future, &take_vtable);
	op->pool = p;
	op->want = n;
}

static int64_t parked_now(void)
{
	return tk_counters().parked_ops;
}

START_TEST(waiters_are_granted_in_fifo_order)
{
	struct pool p;
	struct take_op op[3];
	struct tk_task *t[3];

	pool_init(&p, 0);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		take_init(&op[i], &p, 1);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	for (int i = 0; i < 3; i++) {
		pool_give(&p, 1);
		for (int j = 0; j < 3; j++)
			ck_assert_int_eq(tk_task_take_woken(t[j]), j == i);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
		for (int j = i + 1; j < 3; j++)
			ck_assert_int_eq(ak_future_state(&op[j].future), AK_FUTURE_PENDING);
	}
	ck_assert_uint_eq(pool_tokens(&p), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(try_take_does_not_jump_a_provisional_grant)
{
	struct pool p;
	struct take_op op;
	struct tk_task *t = tk_task_new();

	pool_init(&p, 0);
	take_init(&op, &p, 1);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	pool_give(&p, 1);
	/* The token is the waiter's now, though it has not polled yet. */
	ck_assert_int_eq(pool_try_take(&p, 1), AK_EAGAIN);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(try_take_fails_while_waiters_queue)
{
	struct pool p;
	struct take_op op;
	struct tk_task *t = tk_task_new();

	pool_init(&p, 1);
	take_init(&op, &p, 2);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(pool_try_take(&p, 1), AK_EAGAIN);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(pool_try_take(&p, 1), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(cancel_of_granted_waiter_passes_grant_to_next)
{
	struct pool p;
	struct take_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	take_init(&b, &p, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	pool_give(&p, 1);
	ck_assert(tk_task_take_woken(ta));
	ck_assert(!tk_task_take_woken(tb));
	ak_future_cancel(&a.future);              /* granted, never consumed */
	ck_assert(tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ck_assert_uint_eq(pool_tokens(&p), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(cancel_of_granted_waiter_returns_grant_when_no_one_waits)
{
	struct pool p;
	struct take_op a;
	struct tk_task *ta = tk_task_new();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	pool_give(&p, 1);
	ak_future_cancel(&a.future);
	ck_assert_uint_eq(pool_tokens(&p), 1);
	pool_destroy(&p);
}
END_TEST

START_TEST(partial_grant_is_returned_by_cancel)
{
	struct pool p;
	struct take_op a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	pool_init(&p, 0);
	take_init(&a, &p, 3);
	take_init(&b, &p, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	pool_give(&p, 2);                         /* a holds 2 of its 3 */
	ck_assert(!tk_task_take_woken(ta));
	ck_assert(!tk_task_take_woken(tb));
	ak_future_cancel(&a.future);              /* b gets 1, the pool 1 */
	ck_assert(tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ck_assert_uint_eq(pool_tokens(&p), 1);
	pool_destroy(&p);
}
END_TEST

START_TEST(cancel_of_queued_waiter_unlinks_it_and_drops_its_waker)
{
	struct pool p;
	struct take_op a;
	struct tk_task *ta = tk_task_new();
	int64_t parked = parked_now();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(parked_now(), parked + 1);
	ck_assert_int_eq(atomic_load(&ta->cw->live), 1);
	ak_future_cancel(&a.future);
	ck_assert_int_eq(parked_now(), parked);
	ck_assert_int_eq(atomic_load(&ta->cw->live), 0);
	ak_future_cancel(&a.future);              /* idempotent */
	pool_give(&p, 1);
	ck_assert(!tk_task_take_woken(ta));
	ck_assert_uint_eq(pool_tokens(&p), 1);
	pool_destroy(&p);
}
END_TEST

START_TEST(repoll_with_the_same_waker_does_not_clone)
{
	struct pool p;
	struct take_op a;
	struct tk_task *ta = tk_task_new();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&ta->cw->clones), 1);
	ak_future_cancel(&a.future);
	pool_destroy(&p);
}
END_TEST

START_TEST(repoll_with_another_waker_swaps_and_drops_the_old)
{
	struct pool p;
	struct take_op a;
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	ck_assert_int_eq(tk_poll(t1, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t2, &a.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t1->cw->live), 0);
	ck_assert_int_eq(atomic_load(&t2->cw->live), 1);
	pool_give(&p, 1);
	ck_assert(!tk_task_take_woken(t1));
	ck_assert(tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll(t2, &a.future), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(clone_failure_returns_enomem_and_registers_nothing)
{
	struct pool p;
	struct take_op a;
	struct tk_task *ta = tk_task_new();
	int64_t parked = parked_now();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	atomic_store(&ta->cw->fail_clone, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_ENOMEM);
	ck_assert_int_eq(parked_now(), parked);
	ck_assert_int_eq(ak_future_state(&a.future), AK_FUTURE_DONE);
	pool_give(&p, 1);
	ck_assert_uint_eq(pool_tokens(&p), 1);
	pool_destroy(&p);
}
END_TEST

START_TEST(clone_failure_on_repoll_leaves_the_queue)
{
	struct pool p;
	struct take_op a;
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();
	int64_t parked = parked_now();

	pool_init(&p, 0);
	take_init(&a, &p, 1);
	ck_assert_int_eq(tk_poll(t1, &a.future), AK_PENDING);
	atomic_store(&t2->cw->fail_clone, 1);
	ck_assert_int_eq(tk_poll(t2, &a.future), AK_ENOMEM);
	ck_assert_int_eq(parked_now(), parked);
	ck_assert_int_eq(atomic_load(&t1->cw->live), 0);
	pool_give(&p, 1);
	ck_assert_uint_eq(pool_tokens(&p), 1);
	pool_destroy(&p);
}
END_TEST

/* A wake that re-enters the pool: it would deadlock (or fail the
 * non-recursive lock) if the pool woke while holding its lock. */
static struct pool *reenter_pool;
static atomic_int reenter_calls;
static void reenter_hook(struct tk_counting_waker *cw)
{
	(void)cw;
	if (pool_try_take(reenter_pool, 1) == AK_EAGAIN)
		pool_give(reenter_pool, 0);
	atomic_fetch_add(&reenter_calls, 1);
}

START_TEST(wakers_are_called_after_the_lock_is_released)
{
	struct pool p;
	struct take_op a;
	struct tk_task *ta = tk_task_new();

	pool_init(&p, 0);
	reenter_pool = &p;
	ta->cw->hook = reenter_hook;
	take_init(&a, &p, 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	pool_give(&p, 1);
	ck_assert_int_eq(atomic_load(&reenter_calls), 1);
	ck_assert_int_eq(tk_poll(ta, &a.future), 0);
	pool_destroy(&p);
}
END_TEST

START_TEST(more_waiters_than_one_wake_list_are_all_woken)
{
	enum { N = AK__WAKELIST_CAP + 20 };  /* the pool of test tasks holds 64 */
	static struct take_op op[N];
	static struct tk_task *t[N];
	struct pool p;

	pool_init(&p, 0);
	for (int i = 0; i < N; i++) {
		t[i] = tk_task_new();
		take_init(&op[i], &p, 1);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	pool_give(&p, N);
	for (int i = 0; i < N; i++) {
		ck_assert(tk_task_take_woken(t[i]));
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), 0);
	}
	pool_destroy(&p);
}
END_TEST

/* Threads under ak_block_on contend for one token; the counter they bump
 * while holding it is plain memory, so ThreadSanitizer reports a race if a
 * grant ever failed to order one holder after the previous one. */
enum { CONTEND_THREADS = 3, CONTEND_ROUNDS = 3000 };
static struct pool contend_pool;
static long contend_counter;
static atomic_int contend_errors;

static void *contend_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < CONTEND_ROUNDS; i++) {
		struct take_op op;
		take_init(&op, &contend_pool, 1);
		if (ak_block_on(&op.future, AK_DEADLINE_NEVER) != 0) {
			atomic_fetch_add(&contend_errors, 1);
			continue;
		}
		contend_counter++;
		pool_give(&contend_pool, 1);
	}
	return NULL;
}

START_TEST(grants_order_each_holder_after_the_previous)
{
	pthread_t th[CONTEND_THREADS];

	pool_init(&contend_pool, 1);
	for (int i = 0; i < CONTEND_THREADS; i++)
		pthread_create(&th[i], NULL, contend_main, NULL);
	for (int i = 0; i < CONTEND_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&contend_errors), 0);
	ck_assert_int_eq(contend_counter, (long)CONTEND_THREADS * CONTEND_ROUNDS);
	ck_assert_uint_eq(pool_tokens(&contend_pool), 1);
	pool_destroy(&contend_pool);
}
END_TEST

/*
 * ak__waitq_detach (the wake-all that is atomic for later grants): the
 * detached waiters are out of the queue at once, so a grant made while the
 * detaching call wakes them in batches is kept for later; a detached waiter
 * cancelled meanwhile leaves the guard (nothing to give back) and the
 * others are granted in their order.
 */
START_TEST(detached_waiters_are_out_of_reach_and_cancel_off_the_guard)
{
	struct pool p;
	struct take_op op[3], later;
	struct tk_task *t[3], *tl = tk_task_new();
	struct ak__waiter guard, *w;
	struct ak__wakelist wl;

	pool_init(&p, 0);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		take_init(&op[i], &p, 1);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ak__lock(&p.lock);
	ak__waitq_detach(&p.q, &guard);
	ck_assert(ak__waitq_empty(&p.q));
	ak__unlock(&p.lock);

	pool_give(&p, 1);                       /* nobody queued: kept */
	ck_assert_uint_eq(pool_tokens(&p), 1);
	ak_future_cancel(&op[1].future);        /* off the guard */
	ck_assert_uint_eq(pool_tokens(&p), 1);

	ak__wakelist_init(&wl);
	ak__lock(&p.lock);
	ck_assert_ptr_eq(ak__waitq_guard_head(&guard), &op[0].w);
	ak__waitq_grant(&p.q, &op[0].w, 1, &wl);
	ck_assert_ptr_eq(ak__waitq_guard_head(&guard), &op[2].w);
	while ((w = ak__waitq_guard_head(&guard)) != NULL)
		ak__waitq_grant(&p.q, w, 1, &wl);
	ak__unlock(&p.lock);
	ak__wakelist_wake(&wl);
	ck_assert(tk_task_take_woken(t[0]));
	ck_assert(!tk_task_take_woken(t[1]));
	ck_assert(tk_task_take_woken(t[2]));
	ck_assert_int_eq(tk_poll(t[0], &op[0].future), 0);
	ck_assert_int_eq(tk_poll(t[2], &op[2].future), 0);
	take_init(&later, &p, 1);
	ck_assert_int_eq(tk_poll(tl, &later.future), 0);
	ck_assert_uint_eq(pool_tokens(&p), 0);
	pool_destroy(&p);
}
END_TEST

Suite *waitq_suite(void)
{
	Suite *s = suite_create("waitq");
	TCase *tc = tk_tcase("waitq");

	tcase_add_test(tc, waiters_are_granted_in_fifo_order);
	tcase_add_test(tc, detached_waiters_are_out_of_reach_and_cancel_off_the_guard);
	tcase_add_test(tc, try_take_does_not_jump_a_provisional_grant);
	tcase_add_test(tc, try_take_fails_while_waiters_queue);
	tcase_add_test(tc, cancel_of_granted_waiter_passes_grant_to_next);
	tcase_add_test(tc, cancel_of_granted_waiter_returns_grant_when_no_one_waits);
	tcase_add_test(tc, partial_grant_is_returned_by_cancel);
	tcase_add_test(tc, cancel_of_queued_waiter_unlinks_it_and_drops_its_waker);
	tcase_add_test(tc, repoll_with_the_same_waker_does_not_clone);
	tcase_add_test(tc, repoll_with_another_waker_swaps_and_drops_the_old);
	tcase_add_test(tc, clone_failure_returns_enomem_and_registers_nothing);
	tcase_add_test(tc, clone_failure_on_repoll_leaves_the_queue);
	tcase_add_test(tc, wakers_are_called_after_the_lock_is_released);
	tcase_add_test(tc, more_waiters_than_one_wake_list_are_all_woken);
	tcase_add_test(tc, grants_order_each_holder_after_the_previous);
	suite_add_tcase(s, tc);
	return s;
}
