/* spawn_blocking: the pool of blocking threads, its FIFO, cancel, idle exit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"
#include "shim.h"

#define MS 1000000LL

/* ---- jobs ------------------------------------------------------------------ */

/* A job that says it started, waits for its gate, and returns result. */
struct gated {
	atomic_int *gate;
	atomic_int started;
	atomic_int finished;
	int id;
	struct tk_log *log;
	int result;
	int wrote;                  /* written by the job: visible after a join */
};

static int gated_fn(void *arg)
{
	struct gated *g = arg;

	tk_log_add(g->log, g->id);
	atomic_store(&g->started, 1);
	if (g->gate)
		TK_WAIT_UNTIL(atomic_load(g->gate));
	g->wrote = 100 + g->id;
	atomic_store(&g->finished, 1);
	return g->result;
}

static void gated_init(struct gated *g, atomic_int *gate, int id,
                       struct tk_log *log, int result)
{
	memset(g, 0, sizeof(*g));
	g->gate = gate;
	g->id = id;
	g->log = log;
	g->result = result;
}

/* Jobs that count how many of them run at once. */
static atomic_int running_now, running_max, seen_threads_max;

static int counted_fn(void *arg)
{
	int n = atomic_fetch_add(&running_now, 1) + 1;
	int m = atomic_load(&running_max);
	while (n > m && !atomic_compare_exchange_weak(&running_max, &m, n))
		;
	int threads = (int)ak_blocking_thread_count();
	m = atomic_load(&seen_threads_max);
	while (threads > m && !atomic_compare_exchange_weak(&seen_threads_max, &m, threads))
		;
	tk_sleep_ns(2 * MS);
	atomic_fetch_sub(&running_now, 1);
	atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}

static struct ak_task *spawn(ak_blocking_fn fn, void *arg)
{
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_blocking_spawn(fn, arg, &t), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Joins t from this thread (5 s at most) and releases it. */
static int join(struct ak_task *t)
{
	int rc = ak_task_join_blocking(t, ak_deadline_in(5000 * MS));
	ak_task_release(t);
	return rc;
}

/* Waits (up to 5 s, sleeping) until *v is set; 1 if it was. */
static int await_flag(atomic_int *v)
{
	int64_t end = ak_deadline_in(5000 * MS);

	while (!atomic_load(v)) {
		if (ak_now() > end)
			return 0;
		tk_sleep_ns(100000);
	}
	return 1;
}

/* Waits (up to 5 s, sleeping) until the pool has n threads; 1 if it had. */
static int await_threads(unsigned n)
{
	int64_t end = ak_deadline_in(5000 * MS);

	while (ak_blocking_thread_count() != n) {
		if (ak_now() > end)
			return 0;
		tk_sleep_ns(MS);
	}
	return 1;
}

/* ---- running ------------------------------------------------------------------ */

START_TEST(job_result_becomes_the_tasks_and_its_writes_are_visible_to_the_joiner)
{
	struct gated g;

	gated_init(&g, NULL, 7, NULL, AK_EPIPE);
	struct ak_task *t = spawn(gated_fn, &g);
	ck_assert_int_eq(join(t), AK_EPIPE);
	ck_assert_int_eq(g.wrote, 107);
}
END_TEST

START_TEST(positive_return_is_reported_as_einval)
{
	struct gated g;

	gated_init(&g, NULL, 0, NULL, 5);
	ck_assert_int_eq(join(spawn(gated_fn, &g)), AK_EINVAL);
	ck_assert_int_eq(atomic_load(&g.finished), 1);
}
END_TEST

START_TEST(detached_job_runs)
{
	struct gated g;

	gated_init(&g, NULL, 0, NULL, 0);
	ck_assert_int_eq(ak_blocking_spawn(gated_fn, &g, NULL), 0);
	ck_assert(await_flag(&g.finished));
}
END_TEST

/* A job that sleeps with ak_block_on and receives from a channel. */
struct blocker {
	struct ak_mpsc_rx *rx;
	int rc_sleep, rc_recv, got;
};

static int blocker_fn(void *arg)
{
	struct blocker *b = arg;
	struct ak_sleep_op sleep;

	/* Zeroed: an op's storage is idle only when zero; stack garbage that
	 * reads as a pending op makes ak_sleep_until refuse (AK_EBUSY). */
	memset(&sleep, 0, sizeof sleep);
	b->rc_sleep = ak_sleep_until(&sleep, ak_deadline_in(MS));
	if (b->rc_sleep == 0)
		b->rc_sleep = ak_block_on(&sleep.future, ak_deadline_in(5000 * MS));
	b->rc_recv = ak_mpsc_recv_blocking(b->rx, &b->got, ak_deadline_in(5000 * MS));
	return 0;
}

START_TEST(job_may_call_the_librarys_blocking_forms)
{
	struct ak_mpsc_tx *tx;
	struct blocker b = { 0 };
	int v = 42;

	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), NULL, &tx, &b.rx), 0);
	struct ak_task *t = spawn(blocker_fn, &b);
	ck_assert_int_eq(ak_mpsc_send_blocking(tx, &v, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(join(t), 0);
	ck_assert_int_eq(b.rc_sleep, 0);
	ck_assert_int_eq(b.rc_recv, 0);
	ck_assert_int_eq(b.got, 42);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(b.rx);
}
END_TEST

START_TEST(bad_arguments_return_einval)
{
	struct ak_task *t = NULL;

	ck_assert_int_eq(ak_blocking_spawn(NULL, NULL, &t), AK_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(ak_blocking_config(AK_BLOCKING_THREADS_LIMIT + 1, 0), AK_EINVAL);
	ck_assert_int_eq(ak_blocking_config(0, -1), AK_EINVAL);
	ck_assert_int_eq(ak_blocking_config(0, 0), 0);
}
END_TEST

/* ---- the maximum and the FIFO -------------------------------------------------- */

START_TEST(jobs_beyond_the_maximum_wait_and_run_in_fifo_order)
{
	enum { N = 6 };
	atomic_int gate_a = 0, gate_b = 0;
	struct gated a, b, q[N];
	struct ak_task *ta, *tb, *tq[N];
	struct tk_log log = { 0 };

	ck_assert_int_eq(ak_blocking_config(2, 0), 0);
	gated_init(&a, &gate_a, -1, NULL, 0);
	gated_init(&b, &gate_b, -2, NULL, 0);
	ta = spawn(gated_fn, &a);
	tb = spawn(gated_fn, &b);
	ck_assert(await_flag(&a.started) && await_flag(&b.started));
	for (int i = 0; i < N; i++) {
		gated_init(&q[i], NULL, i, &log, 0);
		tq[i] = spawn(gated_fn, &q[i]);
	}
	/* Both threads are taken and the maximum is reached: all wait. */
	ck_assert_uint_eq(ak_blocking_thread_count(), 2);
	ck_assert_int_eq(tk_log_len(&log), 0);
	/* One thread comes free and takes them one by one, in order. */
	atomic_store(&gate_a, 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(join(tq[i]), 0);
	ck_assert_int_eq(tk_log_len(&log), N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(log.ids[i], i);
	ck_assert_int_eq(atomic_load(&b.finished), 0);
	ck_assert_uint_eq(ak_blocking_thread_count(), 2);
	atomic_store(&gate_b, 1);
	ck_assert_int_eq(join(ta), 0);
	ck_assert_int_eq(join(tb), 0);
}
END_TEST

START_TEST(more_jobs_than_threads_never_exceed_the_maximum)
{
	enum { N = 24, MAX = 3 };
	struct ak_task *t[N];
	atomic_int done = 0;

	ck_assert_int_eq(ak_blocking_config(MAX, 0), 0);
	for (int i = 0; i < N; i++)
		t[i] = spawn(counted_fn, &done);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(join(t[i]), 0);
	int ran = atomic_load(&done);
	int peak = atomic_load(&running_max);
	int peak_threads = atomic_load(&seen_threads_max);
	ck_assert_int_eq(ran, N);
	ck_assert_int_le(peak, MAX);
	ck_assert_int_ge(peak, 1);
	ck_assert_int_le(peak_threads, MAX);
	ck_assert_uint_le(ak_blocking_thread_count(), MAX);
}
END_TEST

START_TEST(raising_the_maximum_starts_threads_for_waiting_jobs)
{
	atomic_int gate = 0;
	struct gated a, b;

	ck_assert_int_eq(ak_blocking_config(1, 0), 0);
	gated_init(&a, &gate, 0, NULL, 0);
	gated_init(&b, &gate, 1, NULL, 0);
	struct ak_task *ta = spawn(gated_fn, &a);
	struct ak_task *tb = spawn(gated_fn, &b);
	ck_assert(await_flag(&a.started));
	ck_assert_int_eq(atomic_load(&b.started), 0);
	/* b waits behind a, which holds the only thread until the gate. */
	ck_assert_int_eq(ak_blocking_config(2, 0), 0);
	ck_assert(await_flag(&b.started));
	ck_assert_uint_eq(ak_blocking_thread_count(), 2);
	atomic_store(&gate, 1);
	ck_assert_int_eq(join(ta), 0);
	ck_assert_int_eq(join(tb), 0);
}
END_TEST

START_TEST(lowering_the_maximum_retires_threads_as_they_finish)
{
	enum { N = 3 };
	atomic_int gate = 0;
	struct gated g[N], after;
	struct ak_task *t[N];

	ck_assert_int_eq(ak_blocking_config(N, 0), 0);
	for (int i = 0; i < N; i++) {
		gated_init(&g[i], &gate, i, NULL, 0);
		t[i] = spawn(gated_fn, &g[i]);
	}
	for (int i = 0; i < N; i++)
		ck_assert(await_flag(&g[i].started));
	ck_assert_int_eq(ak_blocking_config(1, 0), 0);
	/* Running jobs are not disturbed; their threads leave after them. */
	ck_assert_uint_eq(ak_blocking_thread_count(), N);
	atomic_store(&gate, 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(join(t[i]), 0);
	ck_assert(await_threads(1));
	gated_init(&after, NULL, 9, NULL, 0);
	ck_assert_int_eq(join(spawn(gated_fn, &after)), 0);
	ck_assert_uint_eq(ak_blocking_thread_count(), 1);
}
END_TEST

/* A job that spawns another job and joins it. */
struct spawner {
	struct gated inner;
	int rc_spawn, rc_join;
};

static int spawner_fn(void *arg)
{
	struct spawner *sp = arg;
	struct ak_task *t = NULL;

	sp->rc_spawn = ak_blocking_spawn(gated_fn, &sp->inner, &t);
	if (sp->rc_spawn == 0) {
		sp->rc_join = ak_task_join_blocking(t, ak_deadline_in(5000 * MS));
		ak_task_release(t);
	}
	return 0;
}

START_TEST(job_can_spawn_and_join_another_job)
{
	struct spawner sp;

	memset(&sp, 0, sizeof(sp));
	gated_init(&sp.inner, NULL, 3, NULL, AK_EAGAIN);
	ck_assert_int_eq(join(spawn(spawner_fn, &sp)), 0);
	ck_assert_int_eq(sp.rc_spawn, 0);
	ck_assert_int_eq(sp.rc_join, AK_EAGAIN);
	ck_assert_int_eq(sp.inner.wrote, 103);
}
END_TEST

/* ---- cancel -------------------------------------------------------------------- */

START_TEST(cancel_before_start_means_it_never_runs_and_join_is_ecanceled)
{
	atomic_int gate = 0;
	struct gated g, victim, after;

	ck_assert_int_eq(ak_blocking_config(1, 0), 0);
	gated_init(&g, &gate, 0, NULL, 0);
	gated_init(&victim, NULL, 1, NULL, 0);
	gated_init(&after, NULL, 2, NULL, 0);
	struct ak_task *tg = spawn(gated_fn, &g);
	ck_assert(await_flag(&g.started));
	struct ak_task *tv = spawn(gated_fn, &victim);
	struct ak_task *ta = spawn(gated_fn, &after);
	ck_assert_int_eq(ak_task_cancel(tv), 0);
	ck_assert_int_eq(ak_task_result(tv), AK_ECANCELED);
	atomic_store(&gate, 1);
	ck_assert_int_eq(join(tg), 0);
	/* The job queued behind it has run: the cancelled one was passed. */
	ck_assert_int_eq(join(ta), 0);
	ck_assert_int_eq(atomic_load(&victim.started), 0);
	ck_assert_int_eq(join(tv), AK_ECANCELED);
}
END_TEST

START_TEST(cancel_while_running_lets_it_finish_and_discards_its_result)
{
	atomic_int gate = 0;
	struct gated g;

	gated_init(&g, &gate, 0, NULL, AK_EPIPE);
	struct ak_task *t = spawn(gated_fn, &g);
	ck_assert(await_flag(&g.started));
	ck_assert_int_eq(ak_task_cancel(t), 0);
	/* Not interrupted: the task finishes only when the function has. */
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	atomic_store(&gate, 1);
	ck_assert_int_eq(join(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&g.finished), 1);
	ck_assert_int_eq(g.wrote, 100);
}
END_TEST

/* A job that cancels its own task once told which it is. */
struct self_cancel {
	atomic_int ready;
	struct ak_task *self;
	int rc;
};

static int self_cancel_fn(void *arg)
{
	struct self_cancel *sc = arg;

	TK_WAIT_UNTIL(atomic_load(&sc->ready));
	sc->rc = ak_task_cancel(sc->self);
	return 0;
}

START_TEST(job_cancelling_its_own_task_gets_ebusy_and_finishes)
{
	struct self_cancel sc;

	memset(&sc, 0, sizeof(sc));
	sc.self = spawn(self_cancel_fn, &sc);
	atomic_store(&sc.ready, 1);
	ck_assert_int_eq(join(sc.self), 0);
	ck_assert_int_eq(sc.rc, AK_EBUSY);
}
END_TEST

START_TEST(cancel_after_it_finished_keeps_its_result)
{
	struct gated g;

	gated_init(&g, NULL, 0, NULL, AK_EPIPE);
	struct ak_task *t = spawn(gated_fn, &g);
	ck_assert_int_eq(ak_task_join_blocking(t, ak_deadline_in(5000 * MS)), AK_EPIPE);
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(join(t), AK_EPIPE);
}
END_TEST

/* ---- joining -------------------------------------------------------------------- */

/* A task body that joins a blocking job (spawning it first if spawn_arg
 * is set: ak_blocking_spawn never blocks, so a poll may call it). */
struct joiner {
	struct ak_future future;
	struct ak_task_join_op join;
	struct ak_task *target;
	struct gated *spawn_arg;
	int started;
	int rc;
};

static int joiner_poll(struct ak_future *f, struct ak_context *cx)
{
	struct joiner *j = (struct joiner *)f;

	if (!j->started) {
		if (j->spawn_arg) {
			int rc = ak_blocking_spawn(gated_fn, j->spawn_arg, &j->target);
			if (rc != 0)
				return rc;
		}
		int rc = ak_task_join_init(&j->join, j->target);
		if (rc != 0)
			return rc;
		j->started = 1;
	}
	int rc = ak_future_poll(&j->join.future, cx);
	if (rc == AK_PENDING)
		return rc;
	j->rc = rc;
	return 0;
}

static void joiner_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct joiner *)f)->join.future);
}

static const struct ak_future_vtable joiner_vtable = { joiner_poll, joiner_cancel };

/* Runs a joiner on a pool; spawns the job first unless in_poll. */
static void join_on_pool(int in_poll)
{
	atomic_int gate = 0;
	struct gated g;
	struct joiner j;
	struct ak_pool *pool;
	struct ak_task *tj;

	gated_init(&g, &gate, 0, NULL, AK_EPIPE);
	memset(&j, 0, sizeof(j));
	if (in_poll)
		j.spawn_arg = &g;
	else
		j.target = spawn(gated_fn, &g);
	ak_future_init(&j.future, &joiner_vtable);
	ck_assert_int_eq(ak_pool_new(&pool, 1), 0);
	ck_assert_int_eq(ak_pool_spawn(pool, &j.future, &tj), 0);
	/* The joining task parks; the job's end wakes it. */
	ck_assert(await_flag(&g.started));
	atomic_store(&gate, 1);
	ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_task_result(tj), 0);
	ck_assert_int_eq(j.rc, AK_EPIPE);
	ck_assert_int_eq(g.wrote, 100);
	ak_task_release(tj);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	ak_task_release(j.target);
}

START_TEST(join_from_a_task_of_an_executor)
{
	join_on_pool(0);
}
END_TEST

START_TEST(spawn_and_join_from_inside_a_poll)
{
	join_on_pool(1);
}
END_TEST

struct thread_join {
	struct ak_task *t;
	int rc;
};

static void *thread_join_main(void *arg)
{
	struct thread_join *tj = arg;

	tj->rc = ak_task_join_blocking(tj->t, ak_deadline_in(5000 * MS));
	return NULL;
}

START_TEST(join_from_a_plain_thread)
{
	atomic_int gate = 0;
	struct gated g;
	struct thread_join tj;
	pthread_t th;

	gated_init(&g, &gate, 0, NULL, AK_EPIPE);
	tj.t = spawn(gated_fn, &g);
	tj.rc = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, thread_join_main, &tj), 0);
	ck_assert(await_flag(&g.started));
	atomic_store(&gate, 1);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(tj.rc, AK_EPIPE);
	ck_assert_int_eq(g.wrote, 100);
	ak_task_release(tj.t);
}
END_TEST

/* ---- idle threads ------------------------------------------------------------------ */

START_TEST(idle_threads_exit_after_the_idle_time)
{
	enum { N = 3 };
	atomic_int gate = 0;
	struct gated g[N];
	struct ak_task *t[N];

	ck_assert_int_eq(ak_blocking_config(N, 20 * MS), 0);
	for (int i = 0; i < N; i++) {
		gated_init(&g[i], &gate, i, NULL, 0);
		t[i] = spawn(gated_fn, &g[i]);
	}
	for (int i = 0; i < N; i++)
		ck_assert(await_flag(&g[i].started));
	/* The pool grew on demand to one thread per job. */
	ck_assert_uint_eq(ak_blocking_thread_count(), N);
	atomic_store(&gate, 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(join(t[i]), 0);
	/* Idle, the threads leave one by one; a later job starts one again. */
	ck_assert(await_threads(0));
	struct gated again;
	gated_init(&again, NULL, 9, NULL, 0);
	ck_assert_int_eq(join(spawn(gated_fn, &again)), 0);
	ck_assert(await_threads(0));
}
END_TEST

START_TEST(shortening_the_idle_time_reaches_threads_already_idle)
{
	struct gated g;

	gated_init(&g, NULL, 0, NULL, 0);
	ck_assert_int_eq(join(spawn(gated_fn, &g)), 0);
	ck_assert_uint_eq(ak_blocking_thread_count(), 1);
	/* Idle with the default 10 s: a shorter time applies at once. */
	ck_assert_int_eq(ak_blocking_config(0, 10 * MS), 0);
	ck_assert(await_threads(0));
}
END_TEST

/* ---- memory ------------------------------------------------------------------------- */

START_TEST(spawn_without_memory_returns_enomem_and_runs_nothing)
{
	struct gated g;
	struct ak_task *t = NULL;

	gated_init(&g, NULL, 0, NULL, 0);
	for (long n = 1; n <= 2; n++) {
		ak__alloc_fail_after(n);
		int rc = ak_blocking_spawn(gated_fn, &g, &t);
		ak__alloc_fail_after(0);
		ck_assert_int_eq(rc, AK_ENOMEM);
		ck_assert_ptr_null(t);
	}
	ck_assert_int_eq(atomic_load(&g.started), 0);
	ck_assert_int_eq(join(spawn(gated_fn, &g)), 0);
}
END_TEST

/* ---- fork ------------------------------------------------------------------------- */

START_TEST(child_of_a_fork_starts_with_no_blocking_threads)
{
	struct gated g;

	ck_assert_int_eq(pthread_atfork(ak_atfork_prepare, ak_atfork_parent,
	                                ak_atfork_child), 0);
	gated_init(&g, NULL, 0, NULL, 0);
	ck_assert_int_eq(join(spawn(gated_fn, &g)), 0);
	ck_assert_uint_eq(ak_blocking_thread_count(), 1);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok = ak_blocking_thread_count() == 0;
		struct gated c;
		struct ak_task *t = NULL;
		gated_init(&c, NULL, 0, NULL, AK_EPIPE);
		ok = ok && ak_blocking_spawn(gated_fn, &c, &t) == 0;
		ok = ok && ak_task_join_blocking(t, ak_deadline_in(5000 * MS)) == AK_EPIPE;
		ak_task_release(t);
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(ak_blocking_thread_count(), 1);
}
END_TEST

Suite *blocking_suite(void)
{
	Suite *s = suite_create("blocking");
	TCase *run = tk_tcase("run");
	TCase *limit = tk_tcase("limit");
	TCase *cancel = tk_tcase("cancel");
	TCase *join_tc = tk_tcase("join");
	TCase *idle = tk_tcase("idle");
	TCase *misc = tk_tcase("misc");

	tcase_add_test(run, job_result_becomes_the_tasks_and_its_writes_are_visible_to_the_joiner);
	tcase_add_test(run, positive_return_is_reported_as_einval);
	tcase_add_test(run, detached_job_runs);
	tcase_add_test(run, job_may_call_the_librarys_blocking_forms);
	tcase_add_test(run, job_can_spawn_and_join_another_job);
	tcase_add_test(limit, jobs_beyond_the_maximum_wait_and_run_in_fifo_order);
	tcase_add_test(limit, more_jobs_than_threads_never_exceed_the_maximum);
	tcase_add_test(limit, raising_the_maximum_starts_threads_for_waiting_jobs);
	tcase_add_test(limit, lowering_the_maximum_retires_threads_as_they_finish);
	tcase_add_test(cancel, cancel_before_start_means_it_never_runs_and_join_is_ecanceled);
	tcase_add_test(cancel, cancel_while_running_lets_it_finish_and_discards_its_result);
	tcase_add_test(cancel, cancel_after_it_finished_keeps_its_result);
	tcase_add_test(cancel, job_cancelling_its_own_task_gets_ebusy_and_finishes);
	tcase_add_test(join_tc, join_from_a_task_of_an_executor);
	tcase_add_test(join_tc, join_from_a_plain_thread);
	tcase_add_test(join_tc, spawn_and_join_from_inside_a_poll);
	tcase_add_test(idle, idle_threads_exit_after_the_idle_time);
	tcase_add_test(idle, shortening_the_idle_time_reaches_threads_already_idle);
	tcase_add_test(misc, bad_arguments_return_einval);
	tcase_add_test(misc, spawn_without_memory_returns_enomem_and_runs_nothing);
	tcase_add_test(misc, child_of_a_fork_starts_with_no_blocking_threads);
	suite_add_tcase(s, run);
	suite_add_tcase(s, limit);
	suite_add_tcase(s, cancel);
	suite_add_tcase(s, join_tc);
	suite_add_tcase(s, idle);
	suite_add_tcase(s, misc);
	return s;
}
