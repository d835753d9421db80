/*
 * ak_set_allocator(3), and the allocation-failure sweep through it (issue
 * 16): for every scenario and every n = 1, 2, ... the n-th allocation of a
 * user's allocator fails; each call returns its usual result or AK_ENOMEM,
 * nothing leaks (the allocator's own count of live blocks and the debug
 * counters agree at zero), and the same operations then run again cleanly
 * on the same objects.  The sweep of a scenario ends at the first n its
 * run never reaches.  (tests/alloc/ sweeps the same ground through malloc
 * itself, liburcu's and glibc's allocations included, one forked child per
 * run; this one runs in the process, as a user of the hook would.)
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

#define MS 1000000LL

/* ---- a counting allocator that fails the n-th allocation --------------- */

static atomic_long live;        /* its blocks not yet freed */
static atomic_long made;        /* allocations asked since armed */
static atomic_long fail_at;     /* 0: never */
static atomic_int failed;       /* the n-th was reached */

static void *counting_alloc(size_t size, void *arg)
{
	(void)arg;
	long n = atomic_fetch_add(&made, 1) + 1;
	if (n == atomic_load(&fail_at)) {
		atomic_store(&failed, 1);
		return NULL;
	}
	void *p = malloc(size);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

static void counting_free(void *p, void *arg)
{
	(void)arg;
	atomic_fetch_sub(&live, 1);
	free(p);
}

static const struct ak_allocator counting = { counting_alloc, counting_free, NULL };

/* Fails allocation n from now on (0: none); disarming keeps `failed`. */
static void arm(long n)
{
	atomic_store(&made, 0);
	if (n)
		atomic_store(&failed, 0);
	atomic_store(&fail_at, n);
}

/* ---- scenarios: objects made unarmed, operations armed, then again ------ */

/* An unbounded channel kept across the armed run and the clean one. */
struct chan_fixture {
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int next;                      /* the next value to send */
	int received;                  /* the next value expected */
};

static int ok_or_enomem(int rc)
{
	return rc == 0 || rc == AK_ENOMEM;
}

/* Sends 300 values (32 to a block: more blocks than the channel keeps
 * for reuse, four, so that every run allocates some), then receives what
 * was sent, in order; a value whose send failed is not sent again. */
static void chan_ops(struct chan_fixture *f)
{
	for (int i = 0; i < 300; i++) {
		int v = f->next, rc = ak_mpsc_try_send(f->tx, &v);
		ck_assert_msg(ok_or_enomem(rc), "send: %s", ak_err_name(rc));
		if (rc == 0)
			f->next++;
	}
	int v;
	while (ak_mpsc_try_recv(f->rx, &v) == 0)
		ck_assert_int_eq(v, f->received++);
	ck_assert_int_eq(f->received, f->next);
}

/* Each object made armed, used, freed; a failed creation leaves nothing. */
static void objects_ops(void)
{
	struct ak_oneshot_tx *otx;
	struct ak_oneshot_rx *orx;
	int rc = ak_oneshot_new(sizeof(int), NULL, &otx, &orx);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		int v = 7, got = 0;
		ck_assert_int_eq(ak_oneshot_send(otx, &v), 0);
		ck_assert_int_eq(ak_oneshot_try_recv(orx, &got), 0);
		ck_assert_int_eq(got, 7);
		ak_oneshot_rx_drop(orx);
	}

	struct ak_broadcast_tx *btx;
	struct ak_broadcast_rx *brx, *brx2;
	rc = ak_broadcast_new(&btx, &brx, 4, sizeof(int), NULL);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		rc = ak_broadcast_subscribe(btx, &brx2);
		ck_assert(ok_or_enomem(rc));
		int v = 3, got = 0;
		ck_assert(ok_or_enomem(ak_broadcast_send(btx, &v, NULL)));
		if (ak_broadcast_try_recv(brx, &got, NULL) == 0)
			ck_assert_int_eq(got, 3);
		if (rc == 0)
			ak_broadcast_rx_drop(brx2);
		ak_broadcast_rx_drop(brx);
		ak_broadcast_tx_drop(btx);
	}

	struct ak_watch_sender *wtx;
	struct ak_watch_receiver *wrx;
	int init = 0;
	rc = ak_watch_new(sizeof(int), &init, NULL, &wtx, &wrx);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		for (int i = 1; i <= 5; i++)
			ck_assert(ok_or_enomem(ak_watch_send(wtx, &i)));
		struct ak_watch_ref ref;
		ck_assert_int_eq(ak_watch_borrow(wrx, &ref), 0);
		ak_watch_ref_release(&ref);
		ak_watch_receiver_drop(wrx);
		ak_watch_sender_drop(wtx);
	}

	struct ak_mutex *m;
	rc = ak_mutex_new(&m, 0);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		struct ak_mutex_lock_op op;
		memset(&op, 0, sizeof op);
		ck_assert_int_eq(ak_mutex_try_lock(&op, m, NULL), 0);
		ck_assert_int_eq(ak_mutex_unlock(&op), 0);
		ck_assert_int_eq(ak_mutex_free(m), 0);
	}

	struct ak_once_cell *cell;
	rc = ak_once_cell_new(&cell, sizeof(int), NULL, NULL);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		int v = 9;
		ck_assert_int_eq(ak_once_cell_set(cell, &v), 0);
		ck_assert_int_eq(ak_once_cell_free(cell), 0);
	}
}

/* Tasks on an executor and on a pool, and a sleep under block_on. */
static void runtime_ops(void)
{
	struct ak_executor *ex;
	int rc = ak_executor_new(&ex);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		struct tk_count_future f[8];
		for (int i = 0; i < 8; i++) {
			tk_ready_init(&f[i], 1);
			ck_assert(ok_or_enomem(ak_executor_spawn(ex, &f[i].future, NULL)));
		}
		ck_assert_int_ge(ak_executor_run(ex), 0);
		ck_assert_int_eq(ak_executor_free(ex), 0);
	}

	struct ak_pool *pool;
	rc = ak_pool_new(&pool, 2);
	ck_assert(ok_or_enomem(rc));
	if (rc == 0) {
		struct tk_count_future f[8];
		for (int i = 0; i < 8; i++) {
			tk_ready_init(&f[i], 2);
			ck_assert(ok_or_enomem(ak_pool_spawn(pool, &f[i].future, NULL)));
		}
		ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(5000 * MS)), 0);
		ck_assert_int_eq(ak_pool_free(pool), 0);
	}

	struct ak_sleep_op s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(ak_sleep_for(&s, 100000), 0);
	rc = ak_block_on(&s.future, AK_DEADLINE_NEVER);
	ck_assert(ok_or_enomem(rc));
}

/* ---- the sweep ------------------------------------------------------------ */

/* The allocator's live blocks, once the library's own threads are done
 * with theirs: the timer thread gives its heap back when its last sleeper
 * is gone, a moment after the sleep completed.  Waits up to 5 s. */
static long settled_live(void)
{
	for (int i = 0; i < 5000 && atomic_load(&live) != 0; i++)
		tk_sleep_ns(1000000);
	return atomic_load(&live);
}

enum { MAX_N = 2000 };

/* Runs ops with allocation n failing, for n = 1, 2, ... until a run never
 * reaches n; ops must leave no block of its own behind.  Returns how many
 * runs failed an allocation. */
static long sweep(void (*ops)(void))
{
	long n;
	for (n = 1; n < MAX_N; n++) {
		arm(n);
		ops();
		arm(0);
		ck_assert_int_eq(settled_live(), 0);
		if (!atomic_load(&failed))
			break;
		/* Again, cleanly: nothing the failure left is in the way. */
		ops();
		ck_assert_int_eq(settled_live(), 0);
	}
	ck_assert_int_lt(n, MAX_N);
	return n - 1;
}

static void setup_allocator(void)
{
	atomic_store(&live, 0);
	arm(0);
	ck_assert_int_eq(ak_set_allocator(&counting), 0);
}

static void teardown_allocator(void)
{
	struct ak_debug_counts c;
	ck_assert_int_eq(settled_live(), 0);
	ck_assert_int_eq(ak_debug_counters(&c), 0);
	ck_assert_int_eq(c.live_objects, 0);
	ck_assert_int_eq(ak_set_allocator(NULL), 0);
}

START_TEST(every_object_made_under_each_failing_allocation_fails_cleanly)
{
	setup_allocator();
	ck_assert_int_gt(sweep(objects_ops), 5);
	teardown_allocator();
}
END_TEST

START_TEST(executors_pools_and_sleeps_under_each_failing_allocation_fail_cleanly)
{
	setup_allocator();
	ck_assert_int_gt(sweep(runtime_ops), 3);
	teardown_allocator();
}
END_TEST

START_TEST(a_channel_whose_sends_failed_sends_again_cleanly)
{
	struct chan_fixture f = { 0 };
	long n;

	setup_allocator();
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), NULL, &f.tx, &f.rx), 0);
	for (n = 1; n < MAX_N; n++) {
		arm(n);
		chan_ops(&f);
		arm(0);
		if (!atomic_load(&failed))
			break;
		chan_ops(&f);           /* the same channel, cleanly */
	}
	ck_assert_int_gt(n, 2);
	ck_assert_int_lt(n, MAX_N);
	ak_mpsc_tx_drop(f.tx);
	ak_mpsc_rx_drop(f.rx);
	teardown_allocator();
}
END_TEST

START_TEST(every_block_comes_from_the_allocator_set_and_goes_back_to_it)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	setup_allocator();
	ck_assert_int_eq(ak_mpsc_new(16, sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(atomic_load(&live), 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&live), 0);
	teardown_allocator();
}
END_TEST

START_TEST(a_oneshot_comes_from_the_allocator_set_though_a_block_of_its_size_is_kept)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;

	/* The default allocator's block goes to this thread's cache... */
	ck_assert_int_eq(ak_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
	/* ...and the next channel's comes from the allocator set, not there. */
	setup_allocator();
	ck_assert_int_eq(ak_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(atomic_load(&live), 1);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&live), 0);
	teardown_allocator();
}
END_TEST

START_TEST(setting_an_allocator_while_blocks_are_live_is_ebusy)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	ck_assert_int_eq(ak_mpsc_new(16, sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_set_allocator(&counting), AK_EBUSY);
	ck_assert_int_eq(ak_set_allocator(NULL), AK_EBUSY);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
	/* Blocks are freed by the allocator that made them: the default. */
	ck_assert_int_eq(ak_set_allocator(&counting), 0);
	ck_assert_int_eq(ak_set_allocator(NULL), 0);
}
END_TEST

START_TEST(an_allocator_without_both_functions_is_einval)
{
	struct ak_allocator a = { counting_alloc, NULL, NULL };
	ck_assert_int_eq(ak_set_allocator(&a), AK_EINVAL);
	a.alloc = NULL;
	a.free = counting_free;
	ck_assert_int_eq(ak_set_allocator(&a), AK_EINVAL);
}
END_TEST

Suite *allocator_suite(void)
{
	Suite *s = suite_create("allocator");
	TCase *tc = tk_tcase("hook");
	TCase *sw = tk_tcase("sweep");

	tcase_add_test(tc, every_block_comes_from_the_allocator_set_and_goes_back_to_it);
	tcase_add_test(tc, a_oneshot_comes_from_the_allocator_set_though_a_block_of_its_size_is_kept);
	tcase_add_test(tc, setting_an_allocator_while_blocks_are_live_is_ebusy);
	tcase_add_test(tc, an_allocator_without_both_functions_is_einval);
	tcase_add_test(sw, every_object_made_under_each_failing_allocation_fails_cleanly);
	tcase_add_test(sw, executors_pools_and_sleeps_under_each_failing_allocation_fail_cleanly);
	tcase_add_test(sw, a_channel_whose_sends_failed_sends_again_cleanly);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, sw);
	return s;
}
