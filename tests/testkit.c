/* testkit: the fixture, counting waker, manual executor and user futures. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nanosleep */
#endif
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "testkit.h"

/* ---- Fixture ----------------------------------------------------------- */

#define TK_POOL_MAX 128

static struct tk_counting_waker cw_pool[TK_POOL_MAX];
static int cw_used;
static struct tk_task task_pool[TK_POOL_MAX];
static int task_used;
static struct ak_debug_counts snapshot;

struct ak_debug_counts tk_counters(void)
{
	struct ak_debug_counts c;

	memset(&c, 0, sizeof c);
	ck_assert_int_eq(ak_debug_counters(&c), 0);
	return c;
}

void tk_setup(void)
{
	memset(cw_pool, 0, sizeof cw_pool);
	cw_used = 0;
	memset(task_pool, 0, sizeof task_pool);
	task_used = 0;
	snapshot = tk_counters();
}

/*
 * A thread that wakes a task or an ak_block_on drops its own reference just
 * after the wake, so for a moment after the woken side returns, that
 * reference (and the allocation behind it) may still be live on a thread
 * the test does not join (a pool worker, the timer thread).  Wait for the
 * counters to come back, up to 2 s, before judging them: a real leak never
 * settles.
 */
static struct ak_debug_counts settled_counters(void)
{
	struct ak_debug_counts now = tk_counters();
	for (int tries = 0; tries < 2000; tries++) {
		if (now.waker_clones == snapshot.waker_clones &&
		    now.parked_ops == snapshot.parked_ops &&
		    now.live_objects == snapshot.live_objects)
			break;
		tk_sleep_ns(1000000);
		now = tk_counters();
	}
	return now;
}

void tk_teardown(void)
{
	struct ak_debug_counts now = settled_counters();
	int i;

	for (i = 0; i < cw_used; i++)
		tk_assert_balanced(&cw_pool[i]);
	ck_assert_msg(now.waker_clones == snapshot.waker_clones,
	              "library still holds %lld waker clones (was %lld)",
	              (long long)now.waker_clones,
	              (long long)snapshot.waker_clones);
	ck_assert_msg(now.parked_ops == snapshot.parked_ops,
	              "%lld operations still parked (was %lld)",
	              (long long)now.parked_ops,
	              (long long)snapshot.parked_ops);
	ck_assert_msg(now.live_objects == snapshot.live_objects,
	              "%lld library allocations live (was %lld)",
	              (long long)now.live_objects,
	              (long long)snapshot.live_objects);
}

TCase *tk_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tk_setup, tk_teardown);
	tcase_set_timeout(tc, TK_TIMEOUT);
	return tc;
}

/* ---- Counting waker ---------------------------------------------------- */

static struct tk_counting_waker *cw_of(const void *data)
{
	return (struct tk_counting_waker *)data;
}

/* Gives back one reference; a reference never cloned is an underflow. */
static void cw_release(struct tk_counting_waker *cw)
{
	if (atomic_fetch_sub_explicit(&cw->live, 1, memory_order_acq_rel) <= 0) {
		atomic_fetch_add_explicit(&cw->live, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&cw->underflows, 1,
		                          memory_order_relaxed);
	}
}

static struct ak_waker cw_clone(const void *data)
{
	struct tk_counting_waker *cw = cw_of(data);
	struct ak_waker w = { NULL, NULL };

	if (atomic_load_explicit(&cw->fail_clone, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&cw->clone_failures, 1,
		                          memory_order_relaxed);
		return w;
	}
	atomic_fetch_add_explicit(&cw->clones, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&cw->live, 1, memory_order_relaxed);
	w.data = cw;
	w.vtable = cw->vtable;
	return w;
}

static void cw_wake(const void *data)
{
	struct tk_counting_waker *cw = cw_of(data);

	atomic_fetch_add_explicit(&cw->wakes, 1, memory_order_relaxed);
	/* Pairs with the acquire exchange in tk_task_take_woken. */
	atomic_store_explicit(&cw->woken, 1, memory_order_release);
	if (cw->hook)
		cw->hook(cw);
	cw_release(cw);
}

static void cw_wake_by_ref(const void *data)
{
	struct tk_counting_waker *cw = cw_of(data);

	atomic_fetch_add_explicit(&cw->wakes_by_ref, 1, memory_order_relaxed);
	/* Pairs with the acquire exchange in tk_task_take_woken. */
	atomic_store_explicit(&cw->woken, 1, memory_order_release);
	if (cw->hook)
		cw->hook(cw);
}

static void cw_drop(const void *data)
{
	struct tk_counting_waker *cw = cw_of(data);

	atomic_fetch_add_explicit(&cw->drops, 1, memory_order_relaxed);
	cw_release(cw);
}

static void cw_extra(const void *data)
{
	(void)data;
}

const struct ak_waker_vtable tk_counting_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	cw_clone, cw_wake, cw_wake_by_ref, cw_drop,
};

const struct ak_waker_vtable tk_counting_vtable_other_major = {
	AK_WAKER_ABI_VERSION + 1, sizeof(struct ak_waker_vtable),
	cw_clone, cw_wake, cw_wake_by_ref, cw_drop,
};

const struct ak_waker_vtable tk_counting_vtable_small = {
	AK_WAKER_ABI_VERSION, AK_WAKER_VTABLE_V1_SIZE - sizeof(void (*)(void)),
	cw_clone, cw_wake, cw_wake_by_ref, cw_drop,
};

const struct ak_waker_vtable tk_counting_vtable_null_slot = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	cw_clone, cw_wake, NULL, cw_drop,
};

const struct tk_waker_vtable_v2 tk_counting_vtable_large = {
	{ AK_WAKER_ABI_VERSION, sizeof(struct tk_waker_vtable_v2),
	  cw_clone, cw_wake, cw_wake_by_ref, cw_drop },
	cw_extra,
};

struct tk_counting_waker *tk_cw_new_with(const struct ak_waker_vtable *vt)
{
	struct tk_counting_waker *cw;

	ck_assert_int_lt(cw_used, TK_POOL_MAX);
	cw = &cw_pool[cw_used++];
	memset(cw, 0, sizeof *cw);
	cw->vtable = vt;
	return cw;
}

struct tk_counting_waker *tk_cw_new(void)
{
	return tk_cw_new_with(&tk_counting_vtable);
}

struct ak_waker tk_counting_waker(struct tk_counting_waker *cw)
{
	struct ak_waker w = { cw, cw->vtable };

	return w;
}

void tk_assert_balanced(struct tk_counting_waker *cw)
{
	long clones = atomic_load(&cw->clones);
	long drops = atomic_load(&cw->drops);
	long wakes = atomic_load(&cw->wakes);

	ck_assert_msg(clones == drops + wakes,
	              "counting waker: %ld clones, %ld drops + %ld wakes",
	              clones, drops, wakes);
	ck_assert_msg(atomic_load(&cw->underflows) == 0,
	              "counting waker: %ld drops/wakes of a reference never cloned",
	              (long)atomic_load(&cw->underflows));
	ck_assert_int_eq(atomic_load(&cw->live), 0);
}

static void reenter_hook(struct tk_counting_waker *cw)
{
	struct tk_reentry *r = cw->hook_arg;
	struct ak_debug_counts c;
	struct ak_waker noop = ak_waker_noop();
	struct ak_waker copy = { NULL, NULL };
	int bad = 0;

	atomic_fetch_add(&r->calls, 1);
	if (ak_debug_counters(&c) != 0)
		bad++;
	if (ak_waker_will_wake(&noop, &noop) != 1)
		bad++;
	if (ak_waker_clone(&noop, &copy) != 0)
		bad++;
	ak_waker_drop(&copy);
	if (copy.vtable != NULL)
		bad++;
	if (r->cancel_target)
		ak_future_cancel(r->cancel_target);
	if (bad)
		atomic_fetch_add(&r->failures, bad);
}

void tk_cw_set_reentry(struct tk_counting_waker *cw, struct tk_reentry *r)
{
	cw->hook_arg = r;
	cw->hook = reenter_hook;
}

/* ---- Manual executor --------------------------------------------------- */

struct tk_task *tk_task_new(void)
{
	struct tk_task *t;

	ck_assert_int_lt(task_used, TK_POOL_MAX);
	t = &task_pool[task_used++];
	memset(t, 0, sizeof *t);
	t->cw = tk_cw_new();
	return t;
}

int tk_poll_budget(struct tk_task *t, struct ak_future *f, int32_t budget)
{
	struct ak_context cx;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot),
	                 0);
	cx.budget = budget;
	return ak_context_done(&cx, ak_future_poll(f, &cx));
}

int tk_poll(struct tk_task *t, struct ak_future *f)
{
	return tk_poll_budget(t, f, AK_BUDGET_DEFAULT);
}

int tk_poll_path(struct tk_task *t, struct ak_future *f, int len, const uint16_t *idx)
{
	struct ak_context cx;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.path.len = (uint16_t)len;
	for (int i = 0; i < len; i++)
		cx.path.index[i] = idx[i];
	return ak_context_done(&cx, ak_future_poll(f, &cx));
}

int tk_poll_noslot(struct tk_task *t, struct ak_future *f)
{
	struct ak_context cx;

	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), NULL), 0);
	return ak_context_done(&cx, ak_future_poll(f, &cx));
}

int tk_task_take_woken(struct tk_task *t)
{
	/* Pairs with the release stores in cw_wake / cw_wake_by_ref. */
	return atomic_exchange_explicit(&t->cw->woken, 0, memory_order_acquire);
}

int tk_poll_woken(struct tk_task *t, struct ak_future *f)
{
	ck_assert_msg(tk_task_take_woken(t), "the task was not woken");
	return tk_poll(t, f);
}

/* ---- Log --------------------------------------------------------------- */

void tk_log_add(struct tk_log *log, int id)
{
	int i;

	if (!log)
		return;
	i = atomic_fetch_add_explicit(&log->n, 1, memory_order_relaxed);
	if (i < TK_LOG_MAX)
		log->ids[i] = id;
}

int tk_log_len(struct tk_log *log)
{
	int n = atomic_load(&log->n);

	return n < TK_LOG_MAX ? n : TK_LOG_MAX;
}

/* ---- Counting future --------------------------------------------------- */

static int count_poll(struct ak_future *base, struct ak_context *cx)
{
	struct tk_count_future *f = (struct tk_count_future *)base;
	int n = atomic_fetch_add(&f->polls, 1);

	if (n < TK_RECORD_MAX)
		f->budgets[n] = cx->budget;
	f->slot = cx->slot;
	tk_log_add(f->log, f->id);
	if (f->pending > 0) {
		f->pending--;
		if (f->wake_self)
			ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	return f->result;
}

static void count_cancel(struct ak_future *base)
{
	struct tk_count_future *f = (struct tk_count_future *)base;

	atomic_fetch_add(&f->cancels, 1);
}

const struct ak_future_vtable tk_count_vtable = { count_poll, count_cancel };

void tk_count_init(struct tk_count_future *f, int pending, int wake_self,
                   int result)
{
	memset(f, 0, sizeof *f);
	ck_assert_int_eq(ak_future_init(&f->future, &tk_count_vtable), 0);
	f->pending = pending;
	f->wake_self = wake_self;
	f->result = result;
}

void tk_ready_init(struct tk_count_future *f, int result)
{
	tk_count_init(f, 0, 0, result);
}

void tk_after_init(struct tk_count_future *f, int n)
{
	tk_count_init(f, n, 1, 0);
}

/* ---- Flag future ------------------------------------------------------- */

static void flag_give_back(struct tk_flag_future *f, struct ak_waker *w)
{
	if (w->vtable) {
		ak_waker_drop(w);
		atomic_fetch_add(&f->released, 1);
	}
}

static int flag_poll(struct ak_future *base, struct ak_context *cx)
{
	struct tk_flag_future *f = (struct tk_flag_future *)base;
	struct ak_waker old = { NULL, NULL };
	int rc;

	atomic_fetch_add(&f->polls, 1);
	pthread_mutex_lock(&f->lock);
	if (f->flag) {
		old = f->stored;
		f->stored.data = NULL;
		f->stored.vtable = NULL;
		pthread_mutex_unlock(&f->lock);
		flag_give_back(f, &old);
		return f->result;
	}
	if (!ak_waker_will_wake(&f->stored, &cx->waker)) {
		struct ak_waker w;

		rc = ak_waker_clone(&cx->waker, &w);
		if (rc != 0) {
			pthread_mutex_unlock(&f->lock);
			return rc;
		}
		atomic_fetch_add(&f->clones, 1);
		old = f->stored;
		f->stored = w;
	}
	pthread_mutex_unlock(&f->lock);
	flag_give_back(f, &old);
	return AK_PENDING;
}

static void flag_cancel(struct ak_future *base)
{
	struct tk_flag_future *f = (struct tk_flag_future *)base;
	struct ak_waker old;

	atomic_fetch_add(&f->cancels, 1);
	pthread_mutex_lock(&f->lock);
	old = f->stored;
	f->stored.data = NULL;
	f->stored.vtable = NULL;
	pthread_mutex_unlock(&f->lock);
	flag_give_back(f, &old);
}

const struct ak_future_vtable tk_flag_vtable = { flag_poll, flag_cancel };

void tk_flag_init(struct tk_flag_future *f, int result)
{
	pthread_mutex_t init = PTHREAD_MUTEX_INITIALIZER;

	memset(f, 0, sizeof *f);
	f->lock = init;
	f->result = result;
	ck_assert_int_eq(ak_future_init(&f->future, &tk_flag_vtable), 0);
}

void tk_flag_set(struct tk_flag_future *f)
{
	struct ak_waker w;

	pthread_mutex_lock(&f->lock);
	f->flag = 1;
	w = f->stored;
	f->stored.data = NULL;
	f->stored.vtable = NULL;
	pthread_mutex_unlock(&f->lock);
	if (w.vtable) {
		ak_waker_wake(&w);
		atomic_fetch_add(&f->released, 1);
	}
}

int tk_flag_wake_by_ref(struct tk_flag_future *f)
{
	int had;

	pthread_mutex_lock(&f->lock);
	had = f->stored.vtable != NULL;
	if (had)
		ak_waker_wake_by_ref(&f->stored);
	pthread_mutex_unlock(&f->lock);
	return had;
}

int tk_flag_holds_waker(struct tk_flag_future *f)
{
	int had;

	pthread_mutex_lock(&f->lock);
	had = f->stored.vtable != NULL;
	pthread_mutex_unlock(&f->lock);
	return had;
}

int tk_thread_run(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	void *rc;
	ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
	ck_assert_int_eq(pthread_join(th, &rc), 0);
	return (int)(intptr_t)rc;
}

void tk_sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int flag_parked(void *arg)
{
	return tk_flag_holds_waker(arg);
}

static void *setter_main(void *arg)
{
	struct tk_setter *s = arg;

	if (s->when_parked)
		(void)tk_spin_until(flag_parked, s->f, 5000000000);
	if (s->delay_ns > 0)
		tk_sleep_ns(s->delay_ns);
	tk_flag_set(s->f);
	return NULL;
}

void tk_setter_start(struct tk_setter *s, struct tk_flag_future *f,
                     int64_t delay_ns)
{
	s->f = f;
	s->delay_ns = delay_ns;
	s->when_parked = 0;
	ck_assert_int_eq(pthread_create(&s->thread, NULL, setter_main, s), 0);
}

void tk_setter_start_when_parked(struct tk_setter *s, struct tk_flag_future *f)
{
	s->f = f;
	s->delay_ns = 0;
	s->when_parked = 1;
	ck_assert_int_eq(pthread_create(&s->thread, NULL, setter_main, s), 0);
}

void tk_setter_join(struct tk_setter *s)
{
	ck_assert_int_eq(pthread_join(s->thread, NULL), 0);
}

/* ---- Sender thread ---------------------------------------------------- */

static void *sender_main(void *arg)
{
	struct tk_sender *s = arg;
	uint64_t v = 0;

	/* acquire: pairs with the release store in tk_sender_stop() */
	while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
		v++;
		/* relaxed: a count, read after the join or as a progress peek */
		if (s->send(s->ctx, v) == 0)
			atomic_fetch_add_explicit(&s->sends, 1, memory_order_relaxed);
		if ((v & 63) == 0)
			sched_yield();
	}
	return NULL;
}

void tk_sender_start(struct tk_sender *s, int (*send)(void *ctx, uint64_t v),
                     void *ctx)
{
	s->send = send;
	s->ctx = ctx;
	atomic_init(&s->stop, 0);
	atomic_init(&s->sends, 0);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, sender_main, s), 0);
}

long tk_sender_sends(struct tk_sender *s)
{
	return atomic_load_explicit(&s->sends, memory_order_relaxed);
}

int tk_sender_more(struct tk_sender *s, int i, int rounds)
{
	if (i < rounds)
		return 1;
	if (tk_sender_sends(s) > 0)
		return 0;
	sched_yield();
	return 1;
}

long tk_sender_stop(struct tk_sender *s)
{
	atomic_store_explicit(&s->stop, 1, memory_order_release);
	ck_assert_int_eq(pthread_join(s->thread, NULL), 0);
	return tk_sender_sends(s);
}

/* ---- Busy future ------------------------------------------------------- */

static int busy_poll(struct ak_future *base, struct ak_context *cx)
{
	struct tk_busy_future *f = (struct tk_busy_future *)base;

	atomic_fetch_add(&f->polls, 1);
	tk_log_add(f->log, f->id);
	while (f->done < f->needed) {
		int rc = ak_coop_poll(cx);

		if (rc == AK_PENDING) {
			atomic_fetch_add(&f->yields, 1);
			return AK_PENDING;
		}
		if (rc != 0)
			return rc;
		f->done++;
	}
	return 0;
}

static void busy_cancel(struct ak_future *base)
{
	struct tk_busy_future *f = (struct tk_busy_future *)base;

	atomic_fetch_add(&f->cancels, 1);
}

const struct ak_future_vtable tk_busy_vtable = { busy_poll, busy_cancel };

void tk_busy_init(struct tk_busy_future *f, int needed)
{
	memset(f, 0, sizeof *f);
	f->needed = needed;
	ck_assert_int_eq(ak_future_init(&f->future, &tk_busy_vtable), 0);
}

/* ---- Keeper future ----------------------------------------------------- */

static int keeper_poll(struct ak_future *base, struct ak_context *cx)
{
	struct tk_keeper_future *f = (struct tk_keeper_future *)base;
	int rc;

	atomic_fetch_add(&f->polls, 1);
	if (f->kept.vtable == NULL) {
		rc = ak_waker_clone(&cx->waker, &f->kept);
		if (rc != 0)
			return rc;
	}
	return f->result;
}

static void keeper_cancel(struct ak_future *base)
{
	(void)base;
}

const struct ak_future_vtable tk_keeper_vtable = { keeper_poll, keeper_cancel };

void tk_keeper_init(struct tk_keeper_future *f, int result)
{
	memset(f, 0, sizeof *f);
	f->result = result;
	ck_assert_int_eq(ak_future_init(&f->future, &tk_keeper_vtable), 0);
}

/* ---- Blocker future ---------------------------------------------------- */

static int blocker_poll(struct ak_future *base, struct ak_context *cx)
{
	struct tk_blocker_future *f = (struct tk_blocker_future *)base;

	(void)cx;
	atomic_fetch_add(&f->polls, 1);
	if (f->inner)
		f->rc_block_on = ak_block_on(f->inner, AK_DEADLINE_NEVER);
	if (f->ex) {
		struct tk_count_future ready;

		tk_ready_init(&ready, 0);
		f->rc_run = ak_executor_run(f->ex);
		f->rc_run_until = ak_executor_run_until(
			f->ex, f->inner ? f->inner : &ready.future,
			AK_DEADLINE_NEVER);
		f->rc_free = ak_executor_free(f->ex);
	}
	if (f->self)
		f->rc_cancel_self = ak_task_cancel(f->self);
	return 0;
}

static void blocker_cancel(struct ak_future *base)
{
	(void)base;
}

const struct ak_future_vtable tk_blocker_vtable = { blocker_poll,
	                                            blocker_cancel };

void tk_blocker_init(struct tk_blocker_future *f, struct ak_future *inner,
                     struct ak_executor *ex, struct ak_task *self)
{
	memset(f, 0, sizeof *f);
	f->inner = inner;
	f->ex = ex;
	f->self = self;
	f->rc_block_on = TK_NOT_CALLED;
	f->rc_run = TK_NOT_CALLED;
	f->rc_run_until = TK_NOT_CALLED;
	f->rc_free = TK_NOT_CALLED;
	f->rc_cancel_self = TK_NOT_CALLED;
	ck_assert_int_eq(ak_future_init(&f->future, &tk_blocker_vtable), 0);
}

/* ---- Waiting for another thread ----------------------------------------- */

/* Spins before the first yield, and yields before the first sleep. */
#define TK_SPINS 64
#define TK_YIELDS 256

void tk_backoff(struct tk_backoff *b)
{
	if (b->steps < TK_SPINS) {
		b->steps++;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#else
		atomic_signal_fence(memory_order_seq_cst);
#endif
	} else if (b->steps < TK_SPINS + TK_YIELDS) {
		b->steps++;
		sched_yield();
	} else {
		/* Parked for real: the partner gets the core even when a
		 * yield would be handed straight back to us. */
		tk_sleep_ns(20000);
	}
}

int tk_spin_until(int (*pred)(void *), void *arg, int64_t timeout_ns)
{
	struct tk_backoff b = TK_BACKOFF_INIT;
	int64_t end = ak_deadline_in(timeout_ns);

	while (!pred(arg)) {
		if (ak_now() >= end)
			return pred(arg) != 0;
		tk_backoff(&b);
	}
	return 1;
}

/* Spins before a baton waiter parks on the futex. */
#define TK_BATON_SPINS 2000

void tk_baton_pass(struct tk_baton *b, int turn)
{
	/* seq_cst store then load, against the sleeper's seq_cst increment
	 * then FUTEX_WAIT's own check of turn: one side sees the other. */
	atomic_store(&b->turn, turn);
	if (atomic_load(&b->sleepers) > 0)
		syscall(SYS_futex, &b->turn, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

int tk_baton_wait(struct tk_baton *b, int want)
{
	for (int spin = 0;; spin++) {
		int turn = atomic_load(&b->turn);
		if (turn == want || turn == TK_BATON_STOP)
			return turn;
		if (spin < TK_BATON_SPINS)
			continue;
		atomic_fetch_add(&b->sleepers, 1);
		syscall(SYS_futex, &b->turn, FUTEX_WAIT_PRIVATE, turn, NULL, NULL, 0);
		atomic_fetch_sub(&b->sleepers, 1);
	}
}

/* ---- Running one test by name ------------------------------------------- */

/* The real one, behind the macro in testkit.h. */
#undef _tcase_add_test

static int filter_matches;

const char *tk_test_filter(void)
{
	const char *f = getenv("AK_TEST");

	return f && *f ? f : NULL;
}

int tk_test_filter_matches(void)
{
	return filter_matches;
}

/* 1 if name is one of the comma-separated names in list. */
static int listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, name, n) == 0)
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

void tk_tcase_add_test(TCase *tc, const TTest *ttest, int signal,
                       int allowed_exit_value, int start, int end)
{
	const char *filter = tk_test_filter();
	const char *rep = getenv("AK_TEST_REPEAT");
	int repeat = rep ? atoi(rep) : 1;

	if (!filter) {
		_tcase_add_test(tc, ttest, signal, allowed_exit_value, start, end);
		return;
	}
	if (!listed(filter, ttest->name))
		return;
	filter_matches++;
	if (repeat < 1)
		repeat = 1;
	/* A plain test repeats as a loop test: one process per run. */
	if (start == 0 && end == 1) {
		_tcase_add_test(tc, ttest, signal, allowed_exit_value, 0, repeat);
		return;
	}
	for (int i = 0; i < repeat; i++)
		_tcase_add_test(tc, ttest, signal, allowed_exit_value, start, end);
}

/* ---- a partner's move racing re-polls ------------------------------------------ */

#define RACE_REPOLLS 256
#define RACE_SECONDS 3

struct race {
	const struct tk_race *r;
	int rounds;
	struct tk_baton baton;
};

static void *race_partner(void *arg)
{
	struct race *race = arg;

	for (int i = 1; i <= race->rounds; i++) {
		if (tk_baton_wait(&race->baton, i) == TK_BATON_STOP)
			break;
		for (volatile int spin = (i * 7) % 64; spin > 0; spin--)
			;
		race->r->act(race->r->arg);
		tk_baton_pass(&race->baton, -i);        /* this round is served */
	}
	return NULL;
}

int tk_race_repolls(const struct tk_race *r, int rounds, int *errors)
{
	struct race race = { r, rounds, { 0, 0 } };
	pthread_t th;
	int wrong = 0;

	*errors = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, race_partner, &race), 0);
	int64_t stop = ak_deadline_in((int64_t)RACE_SECONDS * 1000000000);
	for (int i = 1; i <= rounds; i++) {
		int rc, polls = 0;

		if (i % 1024 == 0 && ak_now() > stop)
			break;
		r->arm(r->arg);
		if (r->poll(r->arg) != AK_PENDING)
			(*errors)++;
		tk_baton_pass(&race.baton, i);
		while ((rc = r->poll(r->arg)) == AK_PENDING && ++polls < RACE_REPOLLS)
			;
		tk_baton_wait(&race.baton, -i);
		if (rc == AK_PENDING)
			rc = r->poll(r->arg);
		if (rc != 0)
			(*errors)++;
		if (!r->holds(r->arg)) {
			wrong = 1;
			break;
		}
	}
	tk_baton_pass(&race.baton, TK_BATON_STOP);
	pthread_join(th, NULL);
	return wrong;
}
