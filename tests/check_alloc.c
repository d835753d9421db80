/*
 * The block cache in front of ak__alloc (core/shim.c): every block it
 * hands out or takes back is counted, failure injection reaches it, its
 * blocks come back zeroed (ak__alloc_raw's as they were), its bounds hold, a block goes to the freeing
 * thread's cache, and a thread's cache goes with the thread.  Under
 * AddressSanitizer the cache keeps nothing (KEEPS is 0): the same tests
 * then check that no block is kept.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "shim.h"
#include "testkit.h"

Suite *alloc_suite(void);

#ifdef AK__ASAN
#define KEEPS 0
#else
#define KEEPS 1
#endif

/* A kept block of a request of `size` bytes counts its class's bytes. */
#define KEPT(size) (KEEPS ? (size_t)(size) : 0)

START_TEST(a_freed_block_is_kept_and_handed_out_again)
{
	size_t base = ak__cache_bytes();
	void *p = ak__alloc(96);
	ck_assert_ptr_nonnull(p);
	ak__free_sized(p, 96);
	ck_assert_uint_eq(ak__cache_bytes(), base + KEPT(96));
	void *q = ak__alloc(96);
	ck_assert_ptr_nonnull(q);
	if (KEEPS)
		ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(ak__cache_bytes(), base);
	ak__free_sized(q, 96);
}
END_TEST

START_TEST(the_counters_count_every_block_hit_or_miss_and_every_free)
{
	struct ak_debug_counts before = tk_counters(), now;
	void *p = ak__alloc(88);
	ak__free_sized(p, 88);
	void *q = ak__alloc(88);                /* a hit, natively */
	now = tk_counters();
	ck_assert_int_eq(now.allocations, before.allocations + 2);
	ck_assert_int_eq(now.live_objects, before.live_objects + 1);
	ak__free_sized(q, 88);                  /* kept, natively */
	now = tk_counters();
	ck_assert_int_eq(now.live_objects, before.live_objects);
}
END_TEST

START_TEST(a_block_from_the_cache_is_zeroed_for_any_request_of_its_class)
{
	unsigned char *p = ak__alloc(200);
	ck_assert_ptr_nonnull(p);
	memset(p, 0xa5, 200);
	ak__free_sized(p, 200);
	unsigned char *q = ak__alloc(193);      /* 193..208: the same class */
	ck_assert_ptr_nonnull(q);
	if (KEEPS)
		ck_assert_ptr_eq(q, p);
	for (size_t i = 0; i < 193; i++)
		ck_assert_uint_eq(q[i], 0);
	ak__free_sized(q, 193);
}
END_TEST

START_TEST(a_raw_allocation_takes_a_kept_block_and_is_counted)
{
	void *p = ak__alloc(88);
	ck_assert_ptr_nonnull(p);
	ak__free_sized(p, 88);
	size_t kept = ak__cache_bytes();
	struct ak_debug_counts before = tk_counters(), now;
	void *q = ak__alloc_raw(88);
	ck_assert_ptr_nonnull(q);
	if (KEEPS)
		ck_assert_ptr_eq(q, p);
	ck_assert_uint_eq(ak__cache_bytes(), kept - KEPT(96));
	now = tk_counters();
	ck_assert_int_eq(now.allocations, before.allocations + 1);
	ck_assert_int_eq(now.live_objects, before.live_objects + 1);
	ak__free_sized(q, 88);
	ck_assert_uint_eq(ak__cache_bytes(), kept);
}
END_TEST

START_TEST(failure_injection_fails_a_raw_allocation_even_with_a_kept_block)
{
	ak__free_sized(ak__alloc(64), 64);
	ck_assert_uint_eq(ak__cache_bytes(), KEPT(64));
	struct ak_debug_counts before = tk_counters(), now;

	ak__alloc_fail_after(1);
	ck_assert_ptr_null(ak__alloc_raw(64));
	ak__alloc_fail_after(0);
	now = tk_counters();
	ck_assert_int_eq(now.allocations, before.allocations);
	ck_assert_uint_eq(ak__cache_bytes(), KEPT(64));
}
END_TEST

START_TEST(failure_injection_fails_the_nth_allocation_even_with_a_kept_block)
{
	void *p = ak__alloc(64);
	ak__free_sized(p, 64);
	size_t kept = ak__cache_bytes();
	ck_assert_uint_eq(kept, KEPT(64));
	struct ak_debug_counts before = tk_counters(), now;

	ak__alloc_fail_after(2);
	void *a = ak__alloc(64);                /* the first: served */
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(ak__alloc(64));      /* the second fails */
	ak__alloc_fail_after(0);
	now = tk_counters();
	ck_assert_int_eq(now.allocations, before.allocations + 1);
	ak__free_sized(a, 64);
	ck_assert_uint_eq(ak__cache_bytes(), kept);
}
END_TEST

START_TEST(a_threads_cache_keeps_at_most_its_byte_bound)
{
	enum { N = 2000 };
	static void *blocks[N];
	for (size_t i = 0; i < N; i++) {
		blocks[i] = ak__alloc(1 + i % AK__CACHE_MAX);
		ck_assert_ptr_nonnull(blocks[i]);
	}
	for (size_t i = 0; i < N; i++)
		ak__free_sized(blocks[i], 1 + i % AK__CACHE_MAX);
	ck_assert_uint_le(ak__cache_bytes(), AK__CACHE_BYTES);
	if (KEEPS)
		ck_assert_uint_gt(ak__cache_bytes(), AK__CACHE_BYTES / 2);
	else
		ck_assert_uint_eq(ak__cache_bytes(), 0);
}
END_TEST

START_TEST(an_unsized_free_and_a_block_past_the_largest_class_are_never_kept)
{
	size_t base = ak__cache_bytes();
	ak__free(ak__alloc(64));
	ck_assert_uint_eq(ak__cache_bytes(), base);
	void *big = ak__alloc(AK__CACHE_MAX + 1);
	ck_assert_ptr_nonnull(big);
	ak__free_sized(big, AK__CACHE_MAX + 1);
	ck_assert_uint_eq(ak__cache_bytes(), base);
}
END_TEST

START_TEST(keeping_turned_off_empties_the_cache_and_keeps_nothing_more)
{
	ak__free_sized(ak__alloc(64), 64);
	ck_assert_uint_eq(ak__cache_bytes(), KEPT(64));
	ak__alloc_cache_keep(0);
	ck_assert_uint_eq(ak__cache_bytes(), 0);
	ak__free_sized(ak__alloc(64), 64);
	ck_assert_uint_eq(ak__cache_bytes(), 0);
	ak__alloc_cache_keep(1);
	ak__free_sized(ak__alloc(64), 64);
	ck_assert_uint_eq(ak__cache_bytes(), KEPT(64));
}
END_TEST

/* ---- across threads -------------------------------------------------------- */

enum { XN = 100, XSIZE = 64 };

struct freer {
	void *blocks[XN];
	size_t kept;            /* the thread's cache after its frees */
	atomic_int stage;       /* 1: frees done; 2: the test has looked */
};

static void *free_them(void *arg)
{
	struct freer *f = arg;
	for (int i = 0; i < XN; i++)
		ak__free_sized(f->blocks[i], XSIZE);
	f->kept = ak__cache_bytes();
	atomic_store(&f->stage, 1);
	TK_WAIT_UNTIL(atomic_load(&f->stage) == 2);
	return NULL;
}

/* Blocks made on this thread, freed on another that waits at stage 1. */
static pthread_t start_freer(struct freer *f)
{
	pthread_t th;
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < XN; i++) {
		f->blocks[i] = ak__alloc(XSIZE);
		ck_assert_ptr_nonnull(f->blocks[i]);
	}
	ck_assert_int_eq(pthread_create(&th, NULL, free_them, f), 0);
	TK_WAIT_UNTIL(atomic_load(&f->stage) == 1);
	return th;
}

START_TEST(blocks_freed_on_another_thread_go_to_that_threads_bounded_cache)
{
	struct freer f;
	size_t mine = ak__cache_bytes();
	pthread_t th = start_freer(&f);
	/* At most one class's worth: a producer/consumer pair cannot grow it. */
	ck_assert_uint_lt(f.kept, (size_t)XN * XSIZE);
	if (KEEPS)
		ck_assert_uint_gt(f.kept, 0);
	else
		ck_assert_uint_eq(f.kept, 0);
	ck_assert_uint_eq(ak__cache_bytes(), mine);
	atomic_store(&f.stage, 2);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
}
END_TEST

START_TEST(a_threads_cache_is_released_at_its_exit)
{
	struct freer f;
	struct ak_debug_counts before = tk_counters();
	size_t all = ak__cache_bytes_all();
	pthread_t th = start_freer(&f);
	ck_assert_uint_eq(ak__cache_bytes_all(), all + f.kept);
	if (KEEPS)
		ck_assert_uint_gt(f.kept, 0);
	atomic_store(&f.stage, 2);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_uint_eq(ak__cache_bytes_all(), all);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

/* Counts made on a thread that never allocated (it is not linked: its
 * counts go to the orphans' sums) and a block it frees with ak__free()
 * are in the sums at once, and stay there after its exit. */
static void *free_and_count(void *arg)
{
	ak__free(arg);                          /* never kept: no link */
	ak__count_clones(-1);
	ak__count_parked(1);
	return NULL;
}

START_TEST(counts_of_a_thread_that_never_allocated_are_in_the_sums)
{
	struct ak_debug_counts before = tk_counters(), now;
	void *p = ak__alloc(40);
	ck_assert_ptr_nonnull(p);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, free_and_count, p), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	now = tk_counters();
	ck_assert_int_eq(now.live_objects, before.live_objects);
	ck_assert_int_eq(now.waker_clones, before.waker_clones - 1);
	ck_assert_int_eq(now.parked_ops, before.parked_ops + 1);
	ak__count_clones(1);
	ak__count_parked(-1);
	now = tk_counters();
	ck_assert_int_eq(now.waker_clones, before.waker_clones);
	ck_assert_int_eq(now.parked_ops, before.parked_ops);
}
END_TEST

/* A thread that never allocated and parks on a lock (a pool's worker in
 * a convoy: the tasks and the lock made elsewhere) links its counts at
 * the park's keep of the waker: its later counts are plain adds, not the
 * orphans' atomic ones (four locked instructions per hand-off). */
struct park_here {
	struct ak_mutex *m;
	struct tk_counting_waker *cw;
	int linked_before, linked_after, rc;
};

static void *park_on_the_lock(void *arg)
{
	struct park_here *h = arg;
	struct ak_mutex_lock_op op;
	struct ak_context cx;
	h->linked_before = ak__counts_linked();
	ak_context_init(&cx, tk_counting_waker(h->cw), NULL);
	ak_mutex_lock_init(&op, h->m);
	h->rc = ak_future_poll(&op.future, &cx);
	h->linked_after = ak__counts_linked();
	ak_future_cancel(&op.future);
	return NULL;
}

START_TEST(a_thread_that_never_allocated_links_its_counts_at_its_first_park)
{
	struct ak_debug_counts before = tk_counters();
	struct park_here h = { .cw = tk_cw_new() };
	struct ak_mutex_lock_op hold;
	ck_assert_int_eq(ak_mutex_new(&h.m, 0), 0);
	ck_assert_int_eq(ak_mutex_try_lock(&hold, h.m, NULL), 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, park_on_the_lock, &h), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(h.rc, AK_PENDING);
	ck_assert_int_eq(h.linked_before, 0);
	ck_assert_int_eq(h.linked_after, 1);
	ck_assert_int_eq(ak_mutex_unlock(&hold), 0);
	ck_assert_int_eq(ak_mutex_free(h.m), 0);
	struct ak_debug_counts now = tk_counters();
	ck_assert_int_eq(now.waker_clones, before.waker_clones);
	ck_assert_int_eq(now.parked_ops, before.parked_ops);
	tk_assert_balanced(h.cw);
}
END_TEST

Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tk_tcase("alloc");

	tcase_add_test(tc, a_freed_block_is_kept_and_handed_out_again);
	tcase_add_test(tc, the_counters_count_every_block_hit_or_miss_and_every_free);
	tcase_add_test(tc, a_block_from_the_cache_is_zeroed_for_any_request_of_its_class);
	tcase_add_test(tc, failure_injection_fails_the_nth_allocation_even_with_a_kept_block);
	tcase_add_test(tc, a_raw_allocation_takes_a_kept_block_and_is_counted);
	tcase_add_test(tc, failure_injection_fails_a_raw_allocation_even_with_a_kept_block);
	tcase_add_test(tc, a_threads_cache_keeps_at_most_its_byte_bound);
	tcase_add_test(tc, an_unsized_free_and_a_block_past_the_largest_class_are_never_kept);
	tcase_add_test(tc, keeping_turned_off_empties_the_cache_and_keeps_nothing_more);
	tcase_add_test(tc, blocks_freed_on_another_thread_go_to_that_threads_bounded_cache);
	tcase_add_test(tc, a_threads_cache_is_released_at_its_exit);
	tcase_add_test(tc, counts_of_a_thread_that_never_allocated_are_in_the_sums);
	tcase_add_test(tc, a_thread_that_never_allocated_links_its_counts_at_its_first_park);
	suite_add_tcase(s, tc);
	return s;
}
