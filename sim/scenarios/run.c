/*
 * sim/scenarios/run.c: select, tasks, the single-thread executor and the
 * pool under every schedule.
 */
#include <string.h>

#include "scen.h"

/* ---- a task that waits for a oneshot ------------------------------------------------- */

struct recv_task {
	struct ak_future future;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op;
	int bound;
	int value;
};

static int recv_task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct recv_task *t = (struct recv_task *)(void *)f;
	if (!t->bound) {
		CHECK(ak_oneshot_recv_init(&t->op, t->rx, &t->value) == 0);
		t->bound = 1;
	}
	return ak_future_poll(&t->op.future, cx);
}

static void recv_task_cancel(struct ak_future *f)
{
	struct recv_task *t = (struct recv_task *)(void *)f;
	if (t->bound)
		ak_future_cancel(&t->op.future);
}

static const struct ak_future_vtable recv_task_vtable = { recv_task_poll, recv_task_cancel };

static void recv_task_init(struct recv_task *t, struct ak_oneshot_rx *rx)
{
	memset(t, 0, sizeof(*t));
	t->rx = rx;
	CHECK(ak_future_init(&t->future, &recv_task_vtable) == 0);
}

static struct ak_oneshot_tx *otx[2];
static struct ak_oneshot_rx *orx[2];

static void *send_first(void *arg)
{
	(void)arg;
	int v = 10;
	CHECK(ak_oneshot_send(otx[0], &v) == 0);
	return NULL;
}

static void *send_second(void *arg)
{
	(void)arg;
	int v = 20;
	CHECK(ak_oneshot_send(otx[1], &v) == 0);
	return NULL;
}

/* ---- select ---------------------------------------------------------------------------- */

/* Two receives in a select while both sends land: one branch wins with its
 * value; the loser is cancelled and loses nothing (its value is still
 * there). */
static void select_losers_vs_wake(void)
{
	struct ak_oneshot_recv_op op[2];
	struct ak_branch br[2];
	struct ak_select_op sel = { 0 };
	int v[2] = { 0, 0 };
	memset(op, 0, sizeof(op));
	for (int i = 0; i < 2; i++) {
		CHECK(ak_oneshot_new(sizeof(int), NULL, &otx[i], &orx[i]) == 0);
		CHECK(ak_oneshot_recv_init(&op[i], orx[i], &v[i]) == 0);
		br[i].future = &op[i].future;
		br[i].flags = 0;
	}
	pthread_t a = spawn(send_first, NULL);
	pthread_t b = spawn(send_second, NULL);
	CHECK(ak_select_blocking(&sel, br, 2, 0, AK_DEADLINE_NEVER) == 0);
	int win = ak_select_index(&sel), lose = 1 - win;
	CHECK(win == 0 || win == 1);
	CHECK(v[win] == (win + 1) * 10);
	CHECK(br[lose].status == AK_ECANCELED || br[lose].status == AK_PENDING);
	join(a);
	join(b);
	int left = 0;
	CHECK(ak_oneshot_recv_blocking(orx[lose], &left, AK_DEADLINE_NEVER) == 0);
	CHECK(left == (lose + 1) * 10);
	for (int i = 0; i < 2; i++)
		ak_oneshot_rx_drop(orx[i]);
}

/* The same with AK_SELECT_KEEP: the loser is kept pending and registered
 * while the sends land; the next select, over the same branches with the
 * winner's disabled, takes the loser's value through it. */
static void select_kept_loser_vs_wake(void)
{
	struct ak_oneshot_recv_op op[2];
	struct ak_branch br[2];
	struct ak_select_op sel = { 0 };
	int v[2] = { 0, 0 };
	memset(op, 0, sizeof(op));
	for (int i = 0; i < 2; i++) {
		CHECK(ak_oneshot_new(sizeof(int), NULL, &otx[i], &orx[i]) == 0);
		CHECK(ak_oneshot_recv_init(&op[i], orx[i], &v[i]) == 0);
		br[i].future = &op[i].future;
		br[i].flags = 0;
	}
	pthread_t a = spawn(send_first, NULL);
	pthread_t b = spawn(send_second, NULL);
	CHECK(ak_select_blocking(&sel, br, 2, AK_SELECT_KEEP, AK_DEADLINE_NEVER) == 0);
	int win = ak_select_index(&sel), lose = 1 - win;
	CHECK(win == 0 || win == 1);
	CHECK(v[win] == (win + 1) * 10);
	CHECK(br[lose].status == AK_PENDING);
	br[win].flags = AK_BRANCH_DISABLED;
	CHECK(ak_select_blocking(&sel, br, 2, AK_SELECT_KEEP, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_select_index(&sel) == lose);
	CHECK(br[lose].status == 0);
	CHECK(v[lose] == (lose + 1) * 10);
	join(a);
	join(b);
	for (int i = 0; i < 2; i++)
		ak_oneshot_rx_drop(orx[i]);
}

/* ---- tasks on the single-thread executor ------------------------------------------------- */

static struct ak_executor *ex;

static void *run_executor(void *arg)
{
	(void)arg;
	CHECK(ak_executor_run_all(ex, AK_DEADLINE_NEVER) == 0);
	return NULL;
}

/* A task parked on its executor's thread is woken from another thread
 * (the remote wake), maybe while it is being polled; it completes with
 * the value and the executor's run ends. */
static void task_remote_wake(void)
{
	struct recv_task t;
	struct ak_task *h;
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx[0], &orx[0]) == 0);
	recv_task_init(&t, orx[0]);
	CHECK(ak_executor_new(&ex) == 0);
	CHECK(ak_executor_spawn(ex, &t.future, &h) == 0);
	pthread_t e = spawn(run_executor, NULL);
	pthread_t s = spawn(send_first, NULL);
	CHECK(ak_task_join_blocking(h, AK_DEADLINE_NEVER) == 0);
	CHECK(t.value == 10);
	join(e);
	join(s);
	ak_task_release(h);
	CHECK(ak_executor_free(ex) == 0);
	ak_oneshot_rx_drop(orx[0]);
}

static struct ak_task *victim;

static void *cancel_victim(void *arg)
{
	(void)arg;
	int rc = ak_task_cancel(victim);
	CHECK(rc == 0 || rc == AK_EINVAL);
	return NULL;
}

/* A join waits while the task is cancelled from one thread and its value
 * sent from another: the join sees the task's one result, the value or
 * AK_ECANCELED, and nothing leaks either way. */
static void join_vs_cancel(void)
{
	struct recv_task t;
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx[0], &orx[0]) == 0);
	recv_task_init(&t, orx[0]);
	CHECK(ak_executor_new(&ex) == 0);
	CHECK(ak_executor_spawn(ex, &t.future, &victim) == 0);
	pthread_t e = spawn(run_executor, NULL);
	pthread_t c = spawn(cancel_victim, NULL);
	pthread_t s = spawn(send_first, NULL);
	int rc = ak_task_join_blocking(victim, AK_DEADLINE_NEVER);
	CHECK(rc == 0 || rc == AK_ECANCELED);
	CHECK(ak_task_result(victim) == rc);
	if (rc == 0)
		CHECK(t.value == 10);
	join(e);
	join(c);
	join(s);
	ak_task_release(victim);
	CHECK(ak_executor_free(ex) == 0);
	ak_oneshot_rx_drop(orx[0]);
}

/* ---- the pool ----------------------------------------------------------------------------- */

/* Two workers that park after a short spin; a task spawned from outside
 * (the injection queue) waits for a send from a third thread.  Every wake
 * reaches a worker: the join ends. */
static void pool_park_vs_wake(void)
{
	struct ak_pool_options o;
	struct ak_pool *pool;
	struct recv_task t;
	struct ak_task *h;
	ak_pool_options_init(&o);
	o.nworkers = 2;
	o.idle_spins = 2;
	CHECK(ak_oneshot_new(sizeof(int), NULL, &otx[0], &orx[0]) == 0);
	recv_task_init(&t, orx[0]);
	CHECK(ak_pool_new_with(&pool, &o) == 0);
	pthread_t s = spawn(send_first, NULL);
	CHECK(ak_pool_spawn(pool, &t.future, &h) == 0);
	CHECK(ak_task_join_blocking(h, AK_DEADLINE_NEVER) == 0);
	CHECK(t.value == 10);
	join(s);
	ak_task_release(h);
	CHECK(ak_pool_free(pool) == 0);
	ak_oneshot_rx_drop(orx[0]);
}

/* A pool task whose first poll clones its waker (the clone takes the run's
 * own reference, task_clone()) and wakes it by value (which drops that
 * reference: the task is running, its run queues it again), while a third
 * thread cancels and releases it: the run must take the requeue's
 * reference before it lets go of the task, or the cancel frees the record
 * under it (a reference taken on a count at zero; found natively by the
 * sem-core stress under TSan as a read of a recycled record). */
struct self_wake {
	struct ak_future future;
	int polls;
};

static int self_wake_poll(struct ak_future *f, struct ak_context *cx)
{
	struct self_wake *t = (struct self_wake *)(void *)f;
	if (t->polls++ > 0)
		return 0;
	struct ak_waker w;
	CHECK(ak_waker_clone(&cx->waker, &w) == 0);
	ak_waker_wake(&w);
	return AK_PENDING;
}

static void self_wake_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable self_wake_vtable = { self_wake_poll, self_wake_cancel };

static void *cancel_and_release_victim(void *arg)
{
	(void)arg;
	int rc = ak_task_cancel(victim);
	CHECK(rc == 0 || rc == AK_EINVAL);
	ak_task_release(victim);
	return NULL;
}

static void pool_cancel_vs_requeue(void)
{
	struct ak_pool_options o;
	struct ak_pool *pool;
	struct self_wake t = { .polls = 0 };
	ak_pool_options_init(&o);
	o.nworkers = 1;
	o.idle_spins = 2;
	CHECK(ak_future_init(&t.future, &self_wake_vtable) == 0);
	CHECK(ak_pool_new_with(&pool, &o) == 0);
	CHECK(ak_pool_spawn(pool, &t.future, &victim) == 0);
	pthread_t c = spawn(cancel_and_release_victim, NULL);
	join(c);
	CHECK(ak_pool_free(pool) == 0);
}

/* ---- the pool's watcher ----------------------------------------------------------------- */

/* A task that parks on its first poll, keeping its waker for the sitter
 * (and adding a permit to `parked`: the hand-over of the waker, which
 * sim-tsan sees), and finishes on its second, adding one to `finished`. */
struct waitee {
	struct ak_future future;
	struct ak_waker waker;
	int polls;
};

static struct waitee waitees[3];
static struct ak_task *waitee_tasks[3];
static struct ak_semaphore *parked, *finished;

static int waitee_poll(struct ak_future *f, struct ak_context *cx)
{
	struct waitee *t = (struct waitee *)(void *)f;
	if (t->polls++ > 0) {
		CHECK(ak_semaphore_add_permits(finished, 1) == 0);
		return 0;
	}
	CHECK(ak_waker_clone(&cx->waker, &t->waker) == 0);
	CHECK(ak_semaphore_add_permits(parked, 1) == 0);
	return AK_PENDING;
}

static const struct ak_future_vtable waitee_vtable = { waitee_poll, self_wake_cancel };

static void *await_one_finished(void *arg)
{
	struct ak_semaphore_acquire_op op = { 0 };
	(void)arg;
	CHECK(ak_semaphore_acquire_blocking(&op, finished, 1, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_semaphore_release(&op) == 0);
	return NULL;
}

/* Its one poll wakes the three waitees (the second pushes the first out
 * of the LIFO slot, the third the second: a queue of two, whose notify is
 * skipped while the watcher's flag is up) and does not return before one
 * of them finished, on the other worker. */
static int sitter_poll(struct ak_future *f, struct ak_context *cx)
{
	(void)f;
	(void)cx;
	pthread_t awaiter = spawn(await_one_finished, NULL);
	for (int i = 0; i < 3; i++)
		ak_waker_wake(&waitees[i].waker);
	join(awaiter);
	return 0;
}

static const struct ak_future_vtable sitter_vtable = { sitter_poll, self_wake_cancel };

/* The watcher's period (ak_pool(3)).  Virtual time stands still while a
 * thread runs: a wait of one period begun after the workers went idle
 * ends with the watcher's timeout. */
#define WATCH_PERIOD_NS 100000

/* The watcher (runtime/pool_worker.h) finds every worker idle and gives up
 * its watch as the task spawned at that moment wakes the other worker and
 * pushes tasks out of its LIFO slot onto a queue of two: the watcher must
 * see them (its look at the queues after clearing its flag) or the pusher
 * the cleared flag (and notify), or the pushed-out tasks wait behind a
 * poll that waits for them.  The join ends. */
static void pool_pushed_out_vs_watcher_leaving(void)
{
	struct ak_pool_options o;
	struct ak_pool *pool;
	struct ak_future sitter;
	struct ak_semaphore_acquire_op op = { 0 };
	memset(&sitter, 0, sizeof sitter);
	struct ak_task *h;
	ak_pool_options_init(&o);
	o.nworkers = 2;
	o.idle_spins = 2;
	CHECK(ak_semaphore_new(&parked, 0) == 0);
	CHECK(ak_semaphore_new(&finished, 0) == 0);
	CHECK(ak_pool_new_with(&pool, &o) == 0);
	for (int i = 0; i < 3; i++) {
		memset(&waitees[i], 0, sizeof waitees[i]);
		CHECK(ak_future_init(&waitees[i].future, &waitee_vtable) == 0);
		CHECK(ak_pool_spawn(pool, &waitees[i].future, &waitee_tasks[i]) == 0);
	}
	CHECK(ak_semaphore_acquire_blocking(&op, parked, 3, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_semaphore_release(&op) == 0);
	CHECK(ak_semaphore_acquire_blocking(&op, finished, 1,
	                                    ak_deadline_in(WATCH_PERIOD_NS)) == AK_ETIMEDOUT);
	CHECK(ak_future_init(&sitter, &sitter_vtable) == 0);
	CHECK(ak_pool_spawn(pool, &sitter, &h) == 0);
	CHECK(ak_task_join_blocking(h, AK_DEADLINE_NEVER) == 0);
	ak_task_release(h);
	for (int i = 0; i < 3; i++) {
		CHECK(ak_task_join_blocking(waitee_tasks[i], AK_DEADLINE_NEVER) == 0);
		ak_task_release(waitee_tasks[i]);
	}
	CHECK(ak_pool_free(pool) == 0);
	CHECK(ak_semaphore_free(finished) == 0);
	CHECK(ak_semaphore_free(parked) == 0);
}

const struct ak_sim_scenario sim_run_scenarios[] = {
	{ "select_losers_vs_wake", select_losers_vs_wake,
	  "a select over two receives as both sends land" },
	{ "select_kept_loser_vs_wake", select_kept_loser_vs_wake,
	  "a select keeping its loser as both sends land, then one over the loser" },
	{ "task_remote_wake", task_remote_wake,
	  "an executor's task woken from another thread" },
	{ "join_vs_cancel", join_vs_cancel,
	  "a task joined while one thread cancels it and another wakes it" },
	{ "pool_park_vs_wake", pool_park_vs_wake,
	  "two pool workers park as an outside spawn and a wake arrive" },
	{ "pool_cancel_vs_requeue", pool_cancel_vs_requeue,
	  "a pool task that wakes itself in its poll, cancelled and released by another thread" },
	{ "pool_pushed_out_vs_watcher_leaving", pool_pushed_out_vs_watcher_leaving,
	  "a poll pushes tasks out of the LIFO slot as the pool's watcher gives up its watch" },
	{ NULL, NULL, NULL },
};
