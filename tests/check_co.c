/* Coroutine tasks (ak_co(3)): bodies on their own stacks, on every
 * executor, cancelled, overflowing, and leaving nothing behind. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"
#include "shim.h"

#define MS 1000000LL

static struct ak_executor *new_executor(void)
{
	struct ak_executor *ex = NULL;
	ck_assert_int_eq(ak_executor_new(&ex), 0);
	return ex;
}

/* ---- bodies ---------------------------------------------------------------------- */

/* Sums 1..n over n yields, keeping a local array across them, and
 * returns early with AK_EPIPE when the sum passes stop. */
struct sum_args {
	int n, stop;
	long sum;
	int yields;
};

static int sum_body(struct ak_co *co, void *arg)
{
	struct sum_args *a = arg;
	int seen[64];
	long sum = 0;

	for (int i = 1; i <= a->n; i++) {
		seen[i % 64] = i;
		if (ak_co_yield(co) != 0)
			return AK_EINVAL;
		a->yields++;
		sum += seen[i % 64];
		if (a->stop && sum > a->stop) {
			a->sum = sum;
			return AK_EPIPE;
		}
	}
	a->sum = sum;
	return 0;
}

START_TEST(locals_survive_awaits_and_loops)
{
	struct ak_executor *ex = new_executor();
	struct sum_args a = { .n = 100 };
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_co_spawn(ex, sum_body, &a, &t), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(a.yields, 100);
	ck_assert_int_eq(a.sum, 5050);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

START_TEST(an_early_return_is_the_task_result)
{
	struct ak_executor *ex = new_executor();
	struct sum_args a = { .n = 100, .stop = 10 };
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_co_spawn(ex, sum_body, &a, &t), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ck_assert_int_eq(a.sum, 15);
	ck_assert_int_eq(a.yields, 5);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

static int positive_body(struct ak_co *co, void *arg)
{
	(void)co, (void)arg;
	return 7;
}

START_TEST(a_positive_return_is_reported_as_einval)
{
	ck_assert_int_eq(ak_co_block_on(positive_body, NULL, AK_DEADLINE_NEVER), AK_EINVAL);
}
END_TEST

/* Counts the polls of a future pending `pending` times, then AK_EPIPE;
 * the body records what its await returned and that it went on. */
struct patient {
	struct tk_count_future f;
	int rc, went_on;
};

static int patient_body(struct ak_co *co, void *arg)
{
	struct patient *p = arg;
	p->rc = ak_co_await(co, &p->f.future);
	p->went_on++;
	return 0;
}

START_TEST(each_poll_polls_the_awaited_future_once_and_the_body_goes_on_when_it_is_ready)
{
	struct tk_task *tt = tk_task_new();
	struct patient p;
	struct ak_co *co;

	memset(&p, 0, sizeof p);
	tk_count_init(&p.f, 5, 0, AK_EPIPE);
	ck_assert_int_eq(ak_co_new(patient_body, &p, AK_CO_STACK_MIN, &co), 0);
	/* Polls without a wake (spurious, as an executor may make). */
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(tk_poll(tt, ak_co_future(co)), AK_PENDING);
		ck_assert_int_eq(atomic_load(&p.f.polls), i);
		ck_assert_int_eq(p.went_on, 0);
	}
	ck_assert_int_eq(tk_poll(tt, ak_co_future(co)), 0);
	ck_assert_int_eq(atomic_load(&p.f.polls), 6);
	ck_assert_int_eq(p.rc, AK_EPIPE);
	ck_assert_int_eq(p.went_on, 1);
	ck_assert_int_eq(ak_co_free(co), 0);
}
END_TEST

/* The same sum as sum_body, awaiting through the function ak_co_await()
 * itself rather than co.h's inline form of it (where there is one). */
static int function_form_body(struct ak_co *co, void *arg)
{
	struct sum_args *a = arg;
	long sum = 0;

	for (int i = 1; i <= a->n; i++) {
		struct ak_yield_op op;
		memset(&op, 0, sizeof op);
		if (ak_yield_init(&op) != 0 || (ak_co_await)(co, &op.future) != 0)
			return AK_EINVAL;
		a->yields++;
		sum += i;
	}
	a->sum = sum;
	return 0;
}

START_TEST(the_function_form_of_ak_co_await_waits_as_the_inline_one)
{
	struct ak_executor *ex = new_executor();
	struct sum_args a = { .n = 100 };
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_co_spawn(ex, function_form_body, &a, &t), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(a.yields, 100);
	ck_assert_int_eq(a.sum, 5050);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

/* ---- every executor ---------------------------------------------------------------- */

/* Producer and consumer coroutines over a bounded mpsc of 2. */
struct pipe_args {
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int n;
	long sum;
	int received;
};

static int producer_body(struct ak_co *co, void *arg)
{
	struct pipe_args *a = arg;
	int rc = 0;
	for (int i = 1; i <= a->n && rc == 0; i++)
		rc = ak_co_send(co, a->tx, &i);
	ak_mpsc_tx_drop(a->tx);
	return rc;
}

static int consumer_body(struct ak_co *co, void *arg)
{
	struct pipe_args *a = arg;
	int v, rc;
	while ((rc = ak_co_recv(co, a->rx, &v)) == 0) {
		a->sum += v;
		a->received++;
	}
	ak_mpsc_rx_drop(a->rx);
	return rc == AK_EPIPE ? 0 : rc;
}

static int pipeline_main(struct ak_co *co, void *arg)
{
	struct ak_executor *ex = arg;
	struct pipe_args a = { .n = 200 };
	struct ak_task *p, *c;

	if (ak_mpsc_new(2, sizeof(int), NULL, &a.tx, &a.rx) != 0)
		return AK_ENOMEM;
	if (ak_co_spawn(ex, producer_body, &a, &p) != 0 ||
	    ak_co_spawn(ex, consumer_body, &a, &c) != 0)
		return AK_ENOMEM;
	int rp = ak_co_join(co, p);
	int rc = ak_co_join(co, c);
	if (rp != 0 || rc != 0)
		return rp ? rp : rc;
	return a.sum == 200 * 201 / 2 && a.received == 200 ? 0 : AK_EINVAL;
}

START_TEST(spawned_coroutines_pass_values_and_join_on_the_executor)
{
	struct ak_executor *ex = new_executor();
	struct ak_co *co;

	ck_assert_int_eq(ak_co_new(pipeline_main, ex, 0, &co), 0);
	ck_assert_int_eq(ak_executor_run_until(ex, ak_co_future(co), ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_co_free(co), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
}
END_TEST

static int sleeper_body(struct ak_co *co, void *arg)
{
	int64_t *woke = arg;
	int64_t t0 = ak_now();
	int rc = ak_co_sleep_for(co, 2 * MS);
	*woke = ak_now() - t0;
	return rc;
}

START_TEST(block_on_runs_a_coroutine_that_sleeps)
{
	int64_t took = 0;
	ck_assert_int_eq(ak_co_block_on(sleeper_body, &took, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_ge(took, 2 * MS);
}
END_TEST

static int pool_main(struct ak_co *co, void *arg)
{
	struct ak_pool *pool = arg;
	struct pipe_args a = { .n = 2000 };
	struct ak_task *p, *c;

	if (ak_mpsc_new(2, sizeof(int), NULL, &a.tx, &a.rx) != 0)
		return AK_ENOMEM;
	if (ak_co_spawn(pool, producer_body, &a, &p) != 0 ||
	    ak_co_spawn(pool, consumer_body, &a, &c) != 0)
		return AK_ENOMEM;
	int rp = ak_co_join(co, p);
	int rc = ak_co_join(co, c);
	if (rp != 0 || rc != 0)
		return rp ? rp : rc;
	return a.sum == 2000L * 2001 / 2 && a.received == 2000 ? 0 : AK_EINVAL;
}

START_TEST(spawned_coroutines_pass_values_and_join_on_the_pool)
{
	struct ak_pool *pool = NULL;
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	ck_assert_int_eq(ak_co_spawn(pool, pool_main, pool, &t), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(10000 * MS)), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
}
END_TEST

/*
 * Migration, made certain: the body parks on a flag on worker T1; hogs
 * then block workers until T1 is the one held (a first hog may take the
 * other worker, a second one then has only T1 left, and the first lets
 * go), so the wake can only be taken by the other worker.
 */
/*
 * The thread a body runs on, read afresh: glibc declares pthread_self()
 * const, so two calls around an await may be folded into one (the hazard
 * ak_co(3) warns of); a call through a volatile pointer cannot be.
 */
static pthread_t (*volatile thread_self)(void) = pthread_self;

struct migrate {
	struct tk_flag_future flag;
	pthread_t before, after;
	atomic_int on_t1, on_other;             /* hogs holding a worker */
	atomic_int release_t1, release_other;
};

static int migrating_body(struct ak_co *co, void *arg)
{
	struct migrate *m = arg;
	m->before = thread_self();
	int rc = ak_co_await(co, &m->flag.future);
	m->after = thread_self();
	return rc;
}

struct hog {
	struct ak_future future;
	struct migrate *m;
};

static int hog_poll(struct ak_future *f, struct ak_context *cx)
{
	struct migrate *m = ((struct hog *)f)->m;
	(void)cx;
	if (pthread_equal(pthread_self(), m->before)) {
		atomic_store(&m->on_t1, 1);
		TK_WAIT_UNTIL(atomic_load(&m->release_t1));
	} else {
		atomic_store(&m->on_other, 1);
		TK_WAIT_UNTIL(atomic_load(&m->release_other));
	}
	return 0;
}

static void hog_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable hog_vtable = { hog_poll, hog_cancel };

START_TEST(a_body_resumes_on_another_worker_of_the_pool)
{
	struct ak_pool *pool = NULL;
	struct migrate m;
	struct hog hogs[2];
	struct ak_task *t = NULL;

	memset(&m, 0, sizeof m);
	tk_flag_init(&m.flag, 0);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	ck_assert_int_eq(ak_co_spawn(pool, migrating_body, &m, &t), 0);
	TK_WAIT_UNTIL(tk_flag_holds_waker(&m.flag));
	memset(hogs, 0, sizeof hogs);   /* ak_future_init refuses a live-looking future */
	for (int i = 0; i < 2; i++) {
		hogs[i].m = &m;
		ck_assert_int_eq(ak_future_init(&hogs[i].future, &hog_vtable), 0);
	}
	ck_assert_int_eq(ak_pool_spawn(pool, &hogs[0].future, NULL), 0);
	TK_WAIT_UNTIL(atomic_load(&m.on_t1) || atomic_load(&m.on_other));
	if (!atomic_load(&m.on_t1)) {
		ck_assert_int_eq(ak_pool_spawn(pool, &hogs[1].future, NULL), 0);
		TK_WAIT_UNTIL(atomic_load(&m.on_t1));
		atomic_store(&m.release_other, 1);
	}
	tk_flag_set(&m.flag);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(5000 * MS)), 0);
	ck_assert(!pthread_equal(m.before, m.after));
	atomic_store(&m.release_t1, 1);
	atomic_store(&m.release_other, 1);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
}
END_TEST

/* ---- pinning ------------------------------------------------------------------------- */

/*
 * Pinning, made certain as migration is above: the body (pinned or not)
 * parks on a flag on worker T1; hogs hold T1 and leave the other worker
 * T2 free; this thread sets the flag, then spawns a marker task, which T2
 * runs.  Both went to the injection queue in that order, so T2 takes the
 * woken task first unless it is pinned; pinned, it waits for T1, and runs
 * there once the hog lets go.
 */
struct pin_probe {
	struct migrate m;
	int pin;                /* the body pins itself first */
	int pin_rc;
	atomic_int resumed;
	atomic_int resumed_at_marker;
	pthread_t marker_thread;
	atomic_int marker_ran;
};

static int probe_body(struct ak_co *co, void *arg)
{
	struct pin_probe *p = arg;
	if (p->pin)
		p->pin_rc = ak_co_pin(co);
	int rc = migrating_body(co, &p->m);
	atomic_store(&p->resumed, 1);
	return rc;
}

struct marker {
	struct ak_future future;
	struct pin_probe *p;
};

static int marker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct pin_probe *p = ((struct marker *)f)->p;
	(void)cx;
	p->marker_thread = pthread_self();
	atomic_store(&p->resumed_at_marker, atomic_load(&p->resumed));
	atomic_store(&p->marker_ran, 1);
	return 0;
}

static const struct ak_future_vtable marker_vtable = { marker_poll, hog_cancel };

static void run_pin_probe(struct pin_probe *p)
{
	struct ak_pool *pool = NULL;
	struct hog hogs[2];
	struct marker mk;
	struct ak_task *t = NULL;

	tk_flag_init(&p->m.flag, 0);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	ck_assert_int_eq(ak_co_spawn(pool, probe_body, p, &t), 0);
	TK_WAIT_UNTIL(tk_flag_holds_waker(&p->m.flag));
	memset(hogs, 0, sizeof hogs);
	memset(&mk, 0, sizeof mk);
	for (int i = 0; i < 2; i++) {
		hogs[i].m = &p->m;
		ck_assert_int_eq(ak_future_init(&hogs[i].future, &hog_vtable), 0);
	}
	mk.p = p;
	ck_assert_int_eq(ak_future_init(&mk.future, &marker_vtable), 0);
	ck_assert_int_eq(ak_pool_spawn(pool, &hogs[0].future, NULL), 0);
	TK_WAIT_UNTIL(atomic_load(&p->m.on_t1) || atomic_load(&p->m.on_other));
	if (!atomic_load(&p->m.on_t1)) {
		ck_assert_int_eq(ak_pool_spawn(pool, &hogs[1].future, NULL), 0);
		TK_WAIT_UNTIL(atomic_load(&p->m.on_t1));
		atomic_store(&p->m.release_other, 1);
	}
	tk_flag_set(&p->m.flag);
	ck_assert_int_eq(ak_pool_spawn(pool, &mk.future, NULL), 0);
	TK_WAIT_UNTIL(atomic_load(&p->marker_ran));
	atomic_store(&p->m.release_t1, 1);
	atomic_store(&p->m.release_other, 1);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(5000 * MS)), 0);
	ck_assert(!pthread_equal(p->marker_thread, p->m.before));
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
}

START_TEST(a_pinned_coroutine_woken_from_another_thread_waits_for_its_worker)
{
	struct pin_probe p;

	memset(&p, 0, sizeof p);
	p.pin = 1;
	run_pin_probe(&p);
	ck_assert_int_eq(p.pin_rc, 0);
	ck_assert_int_eq(atomic_load(&p.resumed_at_marker), 0);
	ck_assert(pthread_equal(p.m.after, p.m.before));
}
END_TEST

START_TEST(an_unpinned_coroutine_is_taken_by_the_free_worker)
{
	struct pin_probe p;

	memset(&p, 0, sizeof p);
	run_pin_probe(&p);
	ck_assert_int_eq(atomic_load(&p.resumed_at_marker), 1);
	ck_assert(!pthread_equal(p.m.after, p.m.before));
}
END_TEST

/*
 * Under load: a pinned body awaits, PIN_ROUNDS times, a value a plain
 * thread sends (a foreign wake), a yield (its own), and now and then the
 * join of a coroutine it spawned (a wake from either worker), while
 * CHURN coroutines yield and spawn short tasks on both workers (stealing
 * traffic).  After every await it looks at the thread it runs on.
 */
enum { PIN_ROUNDS = 600, CHURN = 4 };

struct pin_load {
	struct ak_pool *pool;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	atomic_int stop;
	int pin_rc, rounds, moved;
	long sum;
};

static int short_body(struct ak_co *co, void *arg)
{
	(void)arg;
	return ak_co_yield(co);
}

static int churn_body(struct ak_co *co, void *arg)
{
	struct pin_load *l = arg;
	while (!atomic_load(&l->stop)) {
		for (int i = 0; i < 4; i++)
			if (ak_co_spawn(l->pool, short_body, NULL, NULL) != 0)
				return AK_ENOMEM;
		if (ak_co_yield(co) != 0)
			return AK_EINVAL;
	}
	return 0;
}

static int pinned_load_body(struct ak_co *co, void *arg)
{
	struct pin_load *l = arg;
	l->pin_rc = ak_co_pin(co);
	pthread_t home = thread_self();
	int rc = 0;

	for (int i = 0; i < PIN_ROUNDS && rc == 0; i++) {
		int v;
		if ((rc = ak_co_recv(co, l->rx, &v)) != 0)
			break;
		l->sum += v;
		l->moved += !pthread_equal(thread_self(), home);
		if ((rc = ak_co_yield(co)) != 0)
			break;
		l->moved += !pthread_equal(thread_self(), home);
		if (i % 16 == 0) {
			struct ak_task *t;
			if ((rc = ak_co_spawn(l->pool, short_body, NULL, &t)) != 0 ||
			    (rc = ak_co_join(co, t)) != 0)
				break;
			l->moved += !pthread_equal(thread_self(), home);
		}
		l->rounds++;
	}
	ak_mpsc_rx_drop(l->rx);
	atomic_store(&l->stop, 1);
	return rc;
}

static void *feeder(void *arg)
{
	struct pin_load *l = arg;
	for (int i = 1; i <= PIN_ROUNDS; i++)
		if (ak_mpsc_send_blocking(l->tx, &i, ak_deadline_in(10000 * MS)) != 0)
			break;
	ak_mpsc_tx_drop(l->tx);
	return NULL;
}

/* A pinned coroutine parked on a future that keeps a clone of its waker,
 * and a hog that holds the other worker in its poll until the coroutine
 * has parked, then wakes it from there. */
struct pin_rouse {
	struct ak_future future;        /* the future the coroutine awaits */
	struct ak_waker waker;
	atomic_int parked, hogging;
	int polls, pin_rc;
	pthread_t threads[2];           /* of the future's two polls */
	pthread_t hog;
};

static int pin_rouse_poll(struct ak_future *f, struct ak_context *cx)
{
	struct pin_rouse *r = (struct pin_rouse *)f;
	r->threads[r->polls] = pthread_self();
	if (r->polls++ > 0)
		return 0;
	ck_assert_int_eq(ak_waker_clone(&cx->waker, &r->waker), 0);
	atomic_store(&r->parked, 1);
	return AK_PENDING;
}

static void pin_rouse_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable pin_rouse_vtable = { pin_rouse_poll,
	                                                  pin_rouse_cancel };

static int pin_rouse_body(struct ak_co *co, void *arg)
{
	struct pin_rouse *r = arg;
	r->pin_rc = ak_co_pin(co);
	return ak_co_await(co, &r->future);
}

struct rouser {
	struct ak_future future;
	struct pin_rouse *r;
};

static int rouser_poll(struct ak_future *f, struct ak_context *cx)
{
	struct pin_rouse *r = ((struct rouser *)f)->r;
	int64_t end = ak_deadline_in(4000 * MS);
	(void)cx;
	r->hog = pthread_self();
	atomic_store(&r->hogging, 1);
	while (!atomic_load(&r->parked) && ak_now() < end)
		sched_yield();
	/* Long enough for the coroutine's poll to end: it is idle. */
	tk_sleep_ns(20 * MS);
	if (atomic_load(&r->parked))
		ak_waker_wake(&r->waker);
	return 0;
}

static const struct ak_future_vtable rouser_vtable = { rouser_poll, pin_rouse_cancel };

/* The wake of a parked pinned coroutine made by a task on another worker
 * (into whose LIFO slot an unpinned task would go) sends it home. */
START_TEST(a_pinned_coroutine_woken_from_another_workers_task_runs_at_home)
{
	struct ak_pool *pool;
	struct pin_rouse r;
	struct rouser rs = { .r = &r };
	struct ak_task *t = NULL;

	memset(&r, 0, sizeof r);
	ak_future_init(&r.future, &pin_rouse_vtable);
	ak_future_init(&rs.future, &rouser_vtable);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	/* The hog takes one worker; the coroutine, spawned next, the other. */
	ck_assert_int_eq(ak_pool_spawn(pool, &rs.future, NULL), 0);
	int64_t end = ak_deadline_in(5000 * MS);
	while (!atomic_load(&r.hogging) && ak_now() < end)
		tk_sleep_ns(50000);
	ck_assert_int_eq(ak_co_spawn(pool, pin_rouse_body, &r, &t), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(10000 * MS)), 0);
	ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(5000 * MS)), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	ck_assert_int_eq(r.pin_rc, 0);
	ck_assert_int_eq(r.polls, 2);
	ck_assert(!pthread_equal(r.hog, r.threads[0]));
	ck_assert(pthread_equal(r.threads[0], r.threads[1]));
}
END_TEST

START_TEST(a_pinned_coroutine_stays_on_its_worker_under_stealing_and_foreign_wakes)
{
	struct pin_load l;
	struct ak_task *t = NULL, *churn[CHURN];
	pthread_t th;

	memset(&l, 0, sizeof l);
	ck_assert_int_eq(ak_pool_new(&l.pool, 2), 0);
	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), NULL, &l.tx, &l.rx), 0);
	for (int i = 0; i < CHURN; i++)
		ck_assert_int_eq(ak_co_spawn(l.pool, churn_body, &l, &churn[i]), 0);
	ck_assert_int_eq(ak_co_spawn(l.pool, pinned_load_body, &l, &t), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, feeder, &l), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(20000 * MS)), 0);
	pthread_join(th, NULL);
	for (int i = 0; i < CHURN; i++) {
		ck_assert_int_eq(ak_task_join_blocking(churn[i], ak_deadline_in(5000 * MS)), 0);
		ak_task_release(churn[i]);
	}
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(l.pool), 0);
	ck_assert_int_eq(l.pin_rc, 0);
	ck_assert_int_eq(l.rounds, PIN_ROUNDS);
	ck_assert_int_eq(l.sum, (long)PIN_ROUNDS * (PIN_ROUNDS + 1) / 2);
	ck_assert_int_eq(l.moved, 0);
}
END_TEST

static int pin_elsewhere_body(struct ak_co *co, void *arg)
{
	int *rc = arg;
	*rc = ak_co_pin(co);
	pthread_t before = thread_self();
	if (ak_co_yield(co) != 0)
		return AK_EINVAL;
	return pthread_equal(before, thread_self()) ? 0 : AK_EINVAL;
}

START_TEST(pinning_on_the_executor_or_under_block_on_changes_nothing)
{
	struct ak_executor *ex = new_executor();
	struct ak_task *t = NULL;
	int on_ex = 1, on_block = 1;

	ck_assert_int_eq(ak_co_spawn(ex, pin_elsewhere_body, &on_ex, &t), 0);
	ck_assert_int_eq(ak_executor_run_all(ex, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ck_assert_int_eq(on_ex, 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak_co_block_on(pin_elsewhere_body, &on_block,
	                                ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(on_block, 0);
}
END_TEST

/* ---- cancel -------------------------------------------------------------------------- */

struct holder {
	struct ak_mutex *m;
	struct tk_flag_future never;
	int locked;
	int await_rc;           /* what the pending await returned */
	int later_rc;           /* what an await in the cancel phase returned */
	int cancelled_seen;
	pthread_t cancel_thread;
	int returned;
};

static int holder_body(struct ak_co *co, void *arg)
{
	struct holder *h = arg;
	struct ak_mutex_lock_op guard;

	if (ak_co_lock(co, &guard, h->m) != 0)
		return AK_EINVAL;
	h->locked = 1;
	h->await_rc = ak_co_await(co, &h->never.future);
	h->cancelled_seen = ak_co_cancelled(co);
	h->cancel_thread = thread_self();
	h->later_rc = ak_co_yield(co);
	ak_mutex_unlock(&guard);
	h->returned = 1;
	return h->await_rc;
}

START_TEST(cancel_while_awaiting_lets_the_body_release_its_mutex)
{
	struct ak_executor *ex = new_executor();
	struct holder h;
	struct ak_task *t = NULL;

	memset(&h, 0, sizeof h);
	ck_assert_int_eq(ak_mutex_new(&h.m, 0), 0);
	tk_flag_init(&h.never, 0);
	ck_assert_int_eq(ak_co_spawn(ex, holder_body, &h, &t), 0);
	ak_executor_run(ex);
	ck_assert_int_eq(h.locked, 1);
	ck_assert_int_eq(ak_mutex_is_locked(h.m), 1);
	ck_assert(tk_flag_holds_waker(&h.never));

	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&h.never.cancels), 1);
	ck_assert(!tk_flag_holds_waker(&h.never));
	ck_assert_int_eq(h.await_rc, AK_ECANCELED);
	ck_assert_int_eq(h.later_rc, AK_ECANCELED);
	ck_assert_int_eq(h.cancelled_seen, 1);
	ck_assert_int_eq(h.returned, 1);
	ck_assert_int_eq(ak_mutex_is_locked(h.m), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak_mutex_free(h.m), 0);
}
END_TEST

START_TEST(cancel_of_a_pool_coroutine_runs_its_cancel_phase_on_the_cancelling_thread)
{
	struct ak_pool *pool = NULL;
	struct holder h;
	struct ak_task *t = NULL;

	memset(&h, 0, sizeof h);
	ck_assert_int_eq(ak_mutex_new(&h.m, 0), 0);
	tk_flag_init(&h.never, 0);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	ck_assert_int_eq(ak_co_spawn(pool, holder_body, &h, &t), 0);
	TK_WAIT_UNTIL(tk_flag_holds_waker(&h.never));
	ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);

	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(5000 * MS)), AK_ECANCELED);
	ck_assert(pthread_equal(h.cancel_thread, pthread_self()));
	ck_assert_int_eq(h.later_rc, AK_ECANCELED);
	ck_assert_int_eq(ak_mutex_is_locked(h.m), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	ck_assert_int_eq(ak_mutex_free(h.m), 0);
}
END_TEST

static int must_not_run(struct ak_co *co, void *arg)
{
	(void)co;
	*(int *)arg = 1;
	return 0;
}

START_TEST(a_coroutine_never_started_is_freed_without_running)
{
	struct ak_executor *ex = new_executor();
	struct ak_co *co;
	struct ak_task *t = NULL;
	int ran = 0;

	ck_assert_int_eq(ak_co_new(must_not_run, &ran, 0, &co), 0);
	ck_assert_int_eq(ak_co_free(co), 0);
	ck_assert_int_eq(ak_co_spawn(ex, must_not_run, &ran, &t), 0);
	ck_assert_int_eq(ak_co_spawn(ex, must_not_run, &ran, NULL), 0);
	ck_assert_int_eq(ak_executor_free(ex), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(freeing_a_suspended_coroutine_cancels_it)
{
	struct tk_task *tt = tk_task_new();
	struct holder h;
	struct ak_co *co;

	memset(&h, 0, sizeof h);
	ck_assert_int_eq(ak_mutex_new(&h.m, 0), 0);
	tk_flag_init(&h.never, 0);
	ck_assert_int_eq(ak_co_new(holder_body, &h, 0, &co), 0);
	ck_assert_int_eq(tk_poll(tt, ak_co_future(co)), AK_PENDING);
	ck_assert_int_eq(ak_mutex_is_locked(h.m), 1);
	ck_assert_int_eq(ak_co_free(co), 0);
	ck_assert_int_eq(h.returned, 1);
	ck_assert_int_eq(ak_mutex_is_locked(h.m), 0);
	ck_assert_int_eq(ak_mutex_free(h.m), 0);
}
END_TEST

/* ---- combinators, locks, misuse ------------------------------------------------------ */

struct race {
	struct ak_pool *pool;
	int64_t producer_delay;
	int won;
	int value;
};

static int late_sender(struct ak_co *co, void *arg)
{
	struct ak_mpsc_tx *tx = arg;
	int v = 42;
	ak_co_sleep_for(co, 50 * MS);
	ak_co_send(co, tx, &v);
	ak_mpsc_tx_drop(tx);
	return 0;
}

static int race_body(struct ak_co *co, void *arg)
{
	struct race *r = arg;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct ak_sleep_op timer;

	if (ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) != 0)
		return AK_ENOMEM;
	ak_co_spawn(r->pool, late_sender, tx, NULL);
	memset(&recv, 0, sizeof recv);
	memset(&timer, 0, sizeof timer);
	ak_mpsc_recv_init(&recv, rx, &r->value);
	ak_sleep_for(&timer, 1 * MS);
	struct ak_branch b[2] = { { &recv.future, 0, 0 }, { &timer.future, 0, 0 } };
	r->won = ak_co_select(co, b, 2, AK_SELECT_BIASED);
	ak_mpsc_rx_drop(rx);
	return 0;
}

START_TEST(select_in_a_body_returns_the_branch_that_won)
{
	struct race r = { 0 };
	ck_assert_int_eq(ak_pool_new(&r.pool, 2), 0);
	ck_assert_int_eq(ak_co_block_on(race_body, &r, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(r.won, 1);
	ck_assert_int_eq(ak_pool_wait_idle(r.pool, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_pool_free(r.pool), 0);
}
END_TEST

/* With AK_SELECT_KEEP the receive that lost to the timer comes back
 * pending, and the body then awaits it on its own (tokio's
 * move_uncompleted_futures). */
static int kept_race_body(struct ak_co *co, void *arg)
{
	struct race *r = arg;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct ak_sleep_op timer;

	if (ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) != 0)
		return AK_ENOMEM;
	ak_co_spawn(r->pool, late_sender, tx, NULL);
	memset(&recv, 0, sizeof recv);
	memset(&timer, 0, sizeof timer);
	ak_mpsc_recv_init(&recv, rx, &r->value);
	ak_sleep_for(&timer, 1 * MS);
	struct ak_branch b[2] = { { &recv.future, 0, 0 }, { &timer.future, 0, 0 } };
	r->won = ak_co_select(co, b, 2, AK_SELECT_BIASED | AK_SELECT_KEEP);
	int rc = AK_EINVAL;
	if (r->won == 1 && b[0].status == AK_PENDING)
		rc = ak_co_await(co, &recv.future);
	ak_mpsc_rx_drop(rx);
	return rc;
}

START_TEST(kept_loser_of_a_select_in_a_body_is_awaited_on_its_own)
{
	struct race r = { 0 };
	ck_assert_int_eq(ak_pool_new(&r.pool, 2), 0);
	ck_assert_int_eq(ak_co_block_on(kept_race_body, &r, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(r.won, 1);
	ck_assert_int_eq(r.value, 42);
	ck_assert_int_eq(ak_pool_wait_idle(r.pool, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_pool_free(r.pool), 0);
}
END_TEST

static int relock_body(struct ak_co *co, void *arg)
{
	struct ak_mutex *m = arg;
	struct ak_mutex_lock_op g1, g2;
	if (ak_co_lock(co, &g1, m) != 0)
		return AK_EINVAL;
	ak_co_yield(co);
	int rc = ak_co_lock(co, &g2, m);
	ak_mutex_unlock(&g1);
	return rc;
}

START_TEST(a_body_that_relocks_its_own_mutex_gets_edeadlk)
{
	struct ak_mutex *m;
	ck_assert_int_eq(ak_mutex_new(&m, 0), 0);
	ck_assert_int_eq(ak_co_block_on(relock_body, m, ak_deadline_in(5000 * MS)), AK_EDEADLK);
	ck_assert_int_eq(ak_mutex_free(m), 0);
}
END_TEST

static int inner_body(struct ak_co *co, void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		ak_co_yield(co);
	return AK_EPIPE;
}

static int outer_body(struct ak_co *co, void *arg)
{
	struct ak_co *inner;
	(void)arg;
	if (ak_co_new(inner_body, NULL, AK_CO_STACK_MIN, &inner) != 0)
		return AK_ENOMEM;
	int rc = ak_co_await(co, ak_co_future(inner));
	ak_co_free(inner);
	return rc == AK_EPIPE ? 0 : AK_EINVAL;
}

START_TEST(a_body_awaits_another_coroutine)
{
	ck_assert_int_eq(ak_co_block_on(outer_body, NULL, ak_deadline_in(5000 * MS)), 0);
}
END_TEST

START_TEST(bad_inputs_return_einval)
{
	struct ak_co *co;
	struct ak_yield_op y;

	memset(&y, 0, sizeof y);
	ak_yield_init(&y);
	ck_assert_int_eq(ak_co_new(NULL, NULL, 0, &co), AK_EINVAL);
	ck_assert_int_eq(ak_co_new(must_not_run, NULL, 0, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_co_free(NULL), AK_EINVAL);
	ck_assert_ptr_null(ak_co_future(NULL));
	ck_assert_int_eq(ak_co_spawn_executor(NULL, must_not_run, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_co_spawn_pool(NULL, must_not_run, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_co_new(must_not_run, NULL, 1, &co), 0);
	ck_assert_uint_eq(ak_co_stack_size(co), AK_CO_STACK_MIN);
	/* Outside its body. */
	ck_assert_int_eq(ak_co_await(co, &y.future), AK_EINVAL);
	ck_assert_int_eq((ak_co_await)(co, &y.future), AK_EINVAL);
	ck_assert_int_eq(ak_co_pin(co), AK_EINVAL);
	ck_assert_int_eq(ak_co_pin(NULL), AK_EINVAL);
	void **sw = NULL;
	ck_assert_int_eq(ak_co_await_step(co, &y.future, &sw), AK_EINVAL);
	ck_assert_ptr_null(sw);
	ck_assert_int_eq(ak_co_free(co), 0);
}
END_TEST

START_TEST(a_stack_that_cannot_be_mapped_fails_the_first_poll_with_enomem)
{
	struct tk_task *tt = tk_task_new();
	struct ak_co *co;
	int ran = 0;

	ck_assert_int_eq(ak_co_new(must_not_run, &ran, 0, &co), 0);
	ak__alloc_fail_after(1);
	ck_assert_int_eq(tk_poll(tt, ak_co_future(co)), AK_ENOMEM);
	ak__alloc_fail_after(0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(ak_co_free(co), 0);
}
END_TEST

/* ---- stacks ---------------------------------------------------------------------------- */

static int frame_body(struct ak_co *co, void *arg)
{
	(void)co;
	*(uintptr_t *)arg = (uintptr_t)__builtin_frame_address(0);
	return 0;
}

START_TEST(a_finished_coroutines_stack_serves_the_next)
{
	uintptr_t first = 0, second = 0;

	ak__alloc_cache_keep(1);
	ck_assert_int_eq(ak_co_block_on(frame_body, &first, AK_DEADLINE_NEVER), 0);
	size_t kept = ak__stack_cache_count();
	ck_assert_uint_ge(kept, 1);
	ck_assert_int_eq(ak_co_block_on(frame_body, &second, AK_DEADLINE_NEVER), 0);
	ck_assert_uint_eq(ak__stack_cache_count(), kept);
	ck_assert_uint_eq(first, second);
}
END_TEST

static volatile uintptr_t overflow_top;

/* Deep enough for any stack: stops only at a depth no stack reaches. */
static int recurse(int depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (depth > 1 << 30)
		return pad[0];
	return recurse(depth + 1) + pad[0];
}

static int overflow_body(struct ak_co *co, void *arg)
{
	(void)co, (void)arg;
	overflow_top = (uintptr_t)__builtin_frame_address(0);
	return recurse(0);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	/* Below the body's frame by about the stack's size: the guard. */
	int guard = a < overflow_top && overflow_top - a <= AK_CO_STACK_MIN + 8192;
	_exit(guard ? 42 : 43);
}

START_TEST(a_stack_overflow_faults_on_the_guard_page)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char alt[64 * 1024];
		stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaltstack(&ss, NULL);
		sigaction(SIGSEGV, &sa, NULL);
		struct ak_co *co;
		struct tk_task *tt = tk_task_new();
		if (ak_co_new(overflow_body, NULL, AK_CO_STACK_MIN, &co) != 0)
			_exit(44);
		tk_poll(tt, ak_co_future(co));
		_exit(45);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 42);
}
END_TEST

Suite *co_suite(void)
{
	Suite *s = suite_create("co");
	TCase *body = tk_tcase("body");
	TCase *exec = tk_tcase("executors");
	TCase *cancel = tk_tcase("cancel");
	TCase *ops = tk_tcase("ops");
	TCase *stacks = tk_tcase("stacks");
	TCase *pin = tk_tcase("pin");

	tcase_add_test(body, locals_survive_awaits_and_loops);
	tcase_add_test(body, an_early_return_is_the_task_result);
	tcase_add_test(body, a_positive_return_is_reported_as_einval);
	tcase_add_test(body, each_poll_polls_the_awaited_future_once_and_the_body_goes_on_when_it_is_ready);
	tcase_add_test(body, the_function_form_of_ak_co_await_waits_as_the_inline_one);
	tcase_add_test(exec, spawned_coroutines_pass_values_and_join_on_the_executor);
	tcase_add_test(exec, block_on_runs_a_coroutine_that_sleeps);
	tcase_add_test(exec, spawned_coroutines_pass_values_and_join_on_the_pool);
	tcase_add_test(exec, a_body_resumes_on_another_worker_of_the_pool);
	tcase_add_test(cancel, cancel_while_awaiting_lets_the_body_release_its_mutex);
	tcase_add_test(cancel, cancel_of_a_pool_coroutine_runs_its_cancel_phase_on_the_cancelling_thread);
	tcase_add_test(cancel, a_coroutine_never_started_is_freed_without_running);
	tcase_add_test(cancel, freeing_a_suspended_coroutine_cancels_it);
	tcase_add_test(ops, select_in_a_body_returns_the_branch_that_won);
	tcase_add_test(ops, kept_loser_of_a_select_in_a_body_is_awaited_on_its_own);
	tcase_add_test(ops, a_body_that_relocks_its_own_mutex_gets_edeadlk);
	tcase_add_test(ops, a_body_awaits_another_coroutine);
	tcase_add_test(ops, bad_inputs_return_einval);
	tcase_add_test(ops, a_stack_that_cannot_be_mapped_fails_the_first_poll_with_enomem);
	tcase_add_test(stacks, a_finished_coroutines_stack_serves_the_next);
	tcase_add_test(stacks, a_stack_overflow_faults_on_the_guard_page);
	suite_add_tcase(s, body);
	suite_add_tcase(s, exec);
	suite_add_tcase(s, cancel);
	suite_add_tcase(s, ops);
	tcase_add_test(pin, a_pinned_coroutine_woken_from_another_thread_waits_for_its_worker);
	tcase_add_test(pin, an_unpinned_coroutine_is_taken_by_the_free_worker);
	tcase_add_test(pin, a_pinned_coroutine_stays_on_its_worker_under_stealing_and_foreign_wakes);
	tcase_add_test(pin, a_pinned_coroutine_woken_from_another_workers_task_runs_at_home);
	tcase_add_test(pin, pinning_on_the_executor_or_under_block_on_changes_nothing);
	suite_add_tcase(s, stacks);
	suite_add_tcase(s, pin);
	return s;
}
