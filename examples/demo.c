/*
 * examples/demo.c: awaitkit, one scene per primitive, each checking its own
 * result.  The foundation's scenes live here (tasks on the single-thread
 * executor, threads under ak_block_on, deadlines, the cooperative budget,
 * the guard against blocking inside a poll); each primitive adds its own
 * scenes in examples/scene_<primitive>.c and one line in the table at the
 * end.  Exit status 0 when every check held.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <awaitkit.h>

#include "demo.h"

/* ---- a user's own future: a latch -----------------------------------------
 * Completes once opened.  It keeps one waker clone, replaced only when the
 * task polling it changes, and opening it wakes that clone.  Written only
 * against the public ABI, as any user future would be.
 */
struct latch {
	struct ak_future future;
	pthread_mutex_t lock;
	int open;
	struct ak_waker waker;
};

static int latch_poll(struct ak_future *f, struct ak_context *cx)
{
	struct latch *l = (struct latch *)f;
	struct ak_waker fresh = { NULL, NULL }, old = { NULL, NULL };
	int rc = AK_PENDING;

	pthread_mutex_lock(&l->lock);
	if (l->open) {
		rc = 0;
	} else if (!ak_waker_will_wake(&l->waker, &cx->waker)) {
		pthread_mutex_unlock(&l->lock);
		/* Clone outside our lock, as the library does. */
		if (ak_waker_clone(&cx->waker, &fresh) != 0)
			return AK_ENOMEM;
		pthread_mutex_lock(&l->lock);
		if (l->open) {
			rc = 0;
		} else {
			old = l->waker;
			l->waker = fresh;
			fresh.vtable = NULL;
		}
	}
	pthread_mutex_unlock(&l->lock);
	ak_waker_drop(&fresh);
	ak_waker_drop(&old);
	return rc;
}

static void latch_cancel(struct ak_future *f)
{
	struct latch *l = (struct latch *)f;
	struct ak_waker w;

	pthread_mutex_lock(&l->lock);
	w = l->waker;
	l->waker.vtable = NULL;
	pthread_mutex_unlock(&l->lock);
	ak_waker_drop(&w);
}

static const struct ak_future_vtable latch_vtable = { latch_poll, latch_cancel };

static void latch_init(struct latch *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	ak_future_init(&l->future, &latch_vtable);
}

static void latch_open(struct latch *l)
{
	struct ak_waker w;

	pthread_mutex_lock(&l->lock);
	l->open = 1;
	w = l->waker;
	l->waker.vtable = NULL;
	pthread_mutex_unlock(&l->lock);
	ak_waker_wake(&w);          /* after unlocking */
}

static void latch_destroy(struct latch *l)
{
	ak_waker_drop(&l->waker);
	pthread_mutex_destroy(&l->lock);
}

/* ---- a task that yields between steps -------------------------------------- */

struct stepper {
	struct ak_future future;
	const char *name;
	int steps, done;
	struct ak_yield_op yield;
	int yielding;
	char *trace;                /* appends its initial at every step */
};

static int stepper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct stepper *s = (struct stepper *)f;

	for (;;) {
		if (s->yielding) {
			int rc = ak_future_poll(&s->yield.future, cx);
			if (rc == AK_PENDING)
				return AK_PENDING;
			s->yielding = 0;
		}
		if (s->done == s->steps)
			return 0;
		s->done++;
		strncat(s->trace, s->name, 1);
		ak_yield_init(&s->yield);
		s->yielding = 1;
	}
}

static void stepper_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct stepper *)f)->yield.future);
}

static const struct ak_future_vtable stepper_vtable = { stepper_poll, stepper_cancel };

static void stepper_init(struct stepper *s, const char *name, int steps, char *trace)
{
	memset(s, 0, sizeof(*s));
	ak_future_init(&s->future, &stepper_vtable);
	s->name = name;
	s->steps = steps;
	s->trace = trace;
}

static void scene_executor_round_robin(void)
{
	struct ak_executor *ex;
	struct stepper a, b, c;
	char trace[32] = "";

	printf("\n[1] three tasks on the single-thread executor, yielding each step\n");
	ak_executor_new(&ex);
	stepper_init(&a, "a", 3, trace);
	stepper_init(&b, "b", 3, trace);
	stepper_init(&c, "c", 3, trace);
	ak_executor_spawn(ex, &a.future, NULL);
	ak_executor_spawn(ex, &b.future, NULL);
	ak_executor_spawn(ex, &c.future, NULL);
	int polls = ak_executor_run(ex);
	printf("    steps in the order they ran: %s (%d polls)\n", trace, polls);
	CHECK(strcmp(trace, "abcabcabc") == 0, "a yield puts the task at the tail: round robin");
	CHECK(ak_executor_task_count(ex) == 0, "every task finished");
	ak_executor_free(ex);
}

/* ---- threads and tasks meet through a latch -------------------------------- */

struct opener {
	struct latch *latch;
	long delay_ms;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	struct timespec ts = { 0, o->delay_ms * 1000000L };
	nanosleep(&ts, NULL);
	latch_open(o->latch);
	return NULL;
}

static void scene_block_on_woken_by_thread(void)
{
	struct latch l;
	struct opener o = { &l, 20 };
	pthread_t th;

	printf("\n[2] a plain thread blocks on a latch another thread opens\n");
	latch_init(&l);
	pthread_create(&th, NULL, opener_main, &o);
	int64_t t0 = ak_now();
	int rc = ak_block_on(&l.future, AK_DEADLINE_NEVER);
	int64_t waited = (ak_now() - t0) / 1000000;
	pthread_join(th, NULL);
	printf("    ak_block_on returned %s after %lld ms\n", ak_err_name(rc), (long long)waited);
	CHECK(rc == 0, "the thread was woken by the other thread's wake");
	latch_destroy(&l);
}

static void scene_block_on_deadline(void)
{
	struct latch l;

	printf("\n[3] a deadline: block on a latch nobody opens, for 30 ms\n");
	latch_init(&l);
	int rc = ak_block_on(&l.future, ak_deadline_in(30 * 1000000LL));
	printf("    ak_block_on returned %s\n", ak_err_name(rc));
	CHECK(rc == AK_ETIMEDOUT, "the deadline passed");
	CHECK(l.waker.vtable == NULL, "the future was cancelled: it gave its waker back");
	latch_destroy(&l);
}

static void scene_executor_woken_by_thread(void)
{
	struct ak_executor *ex;
	struct latch l;
	struct stepper s;
	struct opener o = { &l, 20 };
	char trace[32] = "";
	pthread_t th;

	printf("\n[4] the executor parks until a thread opens the latch it waits on\n");
	ak_executor_new(&ex);
	latch_init(&l);
	stepper_init(&s, "s", 2, trace);
	ak_executor_spawn(ex, &s.future, NULL);
	pthread_create(&th, NULL, opener_main, &o);
	int rc = ak_executor_run_until(ex, &l.future, AK_DEADLINE_NEVER);
	pthread_join(th, NULL);
	printf("    run_until returned %s; the spawned task ran meanwhile: %s\n",
	       ak_err_name(rc), trace);
	CHECK(rc == 0, "a wake from another thread unparked the executor");
	CHECK(strcmp(trace, "ss") == 0, "the spawned task ran while the latch was closed");
	latch_destroy(&l);
	ak_executor_free(ex);
}

/* ---- the budget --------------------------------------------------------------- */

struct spinner {
	struct ak_future future;
	const char *name;
	int left;
	char *trace;
};

static int spinner_poll(struct ak_future *f, struct ak_context *cx)
{
	struct spinner *s = (struct spinner *)f;

	while (s->left > 0) {
		int rc = ak_coop_poll(cx);
		if (rc != 0)
			return rc;          /* budget spent: we were rescheduled */
		s->left--;
	}
	strcat(s->trace, s->name);
	return 0;
}

static void spinner_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable spinner_vtable = { spinner_poll, spinner_cancel };

static void scene_budget(void)
{
	struct ak_executor *ex;
	struct spinner busy;
	struct stepper quick;
	char trace[32] = "";

	printf("\n[5] the cooperative budget: a busy task yields to a quick one\n");
	ak_executor_new(&ex);
	memset(&busy, 0, sizeof(busy));
	ak_future_init(&busy.future, &spinner_vtable);
	busy.name = "B";
	busy.left = 3 * AK_BUDGET_DEFAULT;
	busy.trace = trace;
	stepper_init(&quick, "q", 1, trace);
	ak_executor_spawn(ex, &busy.future, NULL);
	ak_executor_spawn(ex, &quick.future, NULL);
	ak_executor_run(ex);
	printf("    finished in the order: %s\n", trace);
	CHECK(strcmp(trace, "qB") == 0, "the quick task finished before the busy one");
	ak_executor_free(ex);
}

/* ---- a blocking call inside a poll ------------------------------------------- */

struct nested {
	struct ak_future future;
	int inner_rc;
};

static int nested_poll(struct ak_future *f, struct ak_context *cx)
{
	struct nested *n = (struct nested *)f;
	struct latch never;

	(void)cx;
	latch_init(&never);
	n->inner_rc = ak_block_on(&never.future, AK_DEADLINE_NEVER);
	latch_destroy(&never);
	return 0;
}

static const struct ak_future_vtable nested_vtable = { nested_poll, spinner_cancel };

static void scene_no_blocking_inside_poll(void)
{
	struct ak_executor *ex;
	struct nested n;

	printf("\n[6] a task that calls ak_block_on inside its poll\n");
	ak_executor_new(&ex);
	memset(&n, 0, sizeof(n));
	ak_future_init(&n.future, &nested_vtable);
	ak_executor_spawn(ex, &n.future, NULL);
	ak_executor_run(ex);
	printf("    the inner ak_block_on returned %s\n", ak_err_name(n.inner_rc));
	CHECK(n.inner_rc == AK_EDEADLK, "refused instead of stalling the executor thread");
	ak_executor_free(ex);
}

/* ---- dropping the executor cancels what is left ------------------------------- */

static void scene_free_cancels(void)
{
	struct ak_executor *ex;
	struct latch l;
	struct ak_task *task;

	printf("\n[7] freeing the executor cancels an unfinished task\n");
	ak_executor_new(&ex);
	latch_init(&l);
	ak_executor_spawn(ex, &l.future, &task);
	ak_executor_run(ex);
	ak_executor_free(ex);
	printf("    the task's result: %s\n", ak_err_name(ak_task_result(task)));
	CHECK(ak_task_result(task) == AK_ECANCELED, "the unfinished task was cancelled");
	CHECK(l.waker.vtable == NULL, "its future gave its waker back");
	ak_task_release(task);
	latch_destroy(&l);
}

int demo_failures;

/* The scenes, in the order they run: one line per scene. */
static void (*const scenes[])(void) = {
	scene_pipeline,             /* every primitive in one pipeline: read this first */
	scene_executor_round_robin,
	scene_block_on_woken_by_thread,
	scene_block_on_deadline,
	scene_executor_woken_by_thread,
	scene_budget,
	scene_no_blocking_inside_poll,
	scene_free_cancels,
	/* primitives' scenes (examples/scene_*.c) go below */
	scene_oneshot_reply_from_a_thread,
	scene_oneshot_receiver_gives_up,
	scene_semaphore_fifo,
	scene_notify,
	scene_barrier,
	scene_mutex_held_across_awaits,
	scene_mutex_self_deadlock,
	scene_rwlock_writer_preferred,
	scene_broadcast_lag_and_close,
	scene_watch_config,
	scene_mpsc_tasks_and_threads_feed_one_receiver,
	scene_mpsc_values_never_at_risk,
};

int main(void)
{
	struct ak_debug_counts c;

	printf("awaitkit %s demo (waker ABI %u)\n", ak_version_string(), AK_WAKER_ABI_VERSION);
	for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++)
		scenes[i]();

	ak_debug_counters(&c);
	printf("\n[end] library counters: %lld waker clones held, %lld parked operations, "
	       "%lld live allocations\n", (long long)c.waker_clones, (long long)c.parked_ops,
	       (long long)c.live_objects);
	CHECK(c.waker_clones == 0 && c.parked_ops == 0 && c.live_objects == 0,
	      "nothing leaked");
	printf("\ndemo: %s (%d failed checks)\n", demo_failures ? "FAILED" : "all checks held",
	       demo_failures);
	return demo_failures ? 1 : 0;
}
