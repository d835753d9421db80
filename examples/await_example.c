/*
 * examples/await_example.c: tasks written with the await macros
 * (<awaitkit/await.h>, ak_await(3)) on the single-thread executor.
 *
 * A worker takes a token from a pool, yields, waits for a gate to open,
 * gives the token back and finishes.  One gate is opened by another task;
 * the other never opens, so its worker is still waiting when the executor
 * is freed: freeing cancels it, which cancels the gate wait it is parked
 * on and then runs its cleanup block, which gives its token back.
 * Exit status 0 when the pool ends full.
 */
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

/* ---- a gate, and an operation that waits for it ----------------------------
 * Only tasks of one single-thread executor touch a gate here, so it needs
 * no lock.  It keeps one waker clone, replaced only when it would not wake
 * the same task.
 */
struct gate {
	int open;
	struct ak_waker waiter;
};

struct gate_wait {
	struct ak_future future;
	struct gate *gate;
};

static void gate_open(struct gate *g)
{
	g->open = 1;
	if (g->waiter.vtable)
		ak_waker_wake(&g->waiter);      /* consumes the clone */
	g->waiter.vtable = NULL;
}

static int gate_wait_poll(struct ak_future *f, struct ak_context *cx)
{
	struct gate *g = ((struct gate_wait *)f)->gate;
	struct ak_waker fresh;

	if (g->open)
		return 0;
	if (!ak_waker_will_wake(&g->waiter, &cx->waker)) {
		if (ak_waker_clone(&cx->waker, &fresh) != 0)
			return AK_ENOMEM;
		if (g->waiter.vtable)
			ak_waker_drop(&g->waiter);
		g->waiter = fresh;
	}
	return AK_PENDING;
}

static void gate_wait_cancel(struct ak_future *f)
{
	struct gate *g = ((struct gate_wait *)f)->gate;

	if (g->waiter.vtable)
		ak_waker_drop(&g->waiter);
	g->waiter.vtable = NULL;
}

static const struct ak_future_vtable gate_wait_vtable = {
	gate_wait_poll, gate_wait_cancel
};

/* ---- the worker task --------------------------------------------------------
 * Everything that must survive an await lives in the struct: the await
 * state, the operations it awaits, what it holds.
 */
struct worker {
	struct ak_future future;        /* first: the task is an ak_future */
	struct ak_await aw;
	struct gate_wait wait;
	struct gate *gate;
	int *pool;
	int holding;
	int rc;
	const char *name;
};

static int worker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct worker *w = (struct worker *)f;

	AK_BEGIN(&w->aw, cx);
	if (*w->pool == 0)
		AK_RETURN(&w->aw, AK_EAGAIN);
	(*w->pool)--;
	w->holding = 1;
	printf("  %s: took a token, yielding\n", w->name);
	AK_YIELD(&w->aw);

	w->wait.gate = w->gate;
	ak_future_init(&w->wait.future, &gate_wait_vtable);
	AK_AWAIT(&w->aw, &w->wait.future, w->rc);
	if (w->rc != 0)
		printf("  %s: gate wait failed: %s\n", w->name, ak_strerror(w->rc));
	(*w->pool)++;
	w->holding = 0;
	printf("  %s: through the gate, token returned\n", w->name);
	AK_RETURN(&w->aw, w->rc);

	AK_CLEANUP(&w->aw);
	/* Only on cancel; the gate wait was cancelled already. */
	if (w->holding) {
		(*w->pool)++;
		w->holding = 0;
		printf("  %s: cancelled, cleanup returned its token\n", w->name);
	}
	AK_END(&w->aw);
}

static void worker_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct worker *)f)->aw, f);
}

static const struct ak_future_vtable worker_vtable = { worker_poll, worker_cancel };

static void worker_init(struct worker *w, const char *name, int *pool, struct gate *g)
{
	memset(w, 0, sizeof(*w));        /* a zeroed ak_await: not started */
	w->name = name;
	w->pool = pool;
	w->gate = g;
	ak_future_init(&w->future, &worker_vtable);
}

/* ---- the opener: yields twice, then opens a gate ------------------------- */

struct opener {
	struct ak_future future;
	struct ak_await aw;
	struct gate *gate;
};

static int opener_poll(struct ak_future *f, struct ak_context *cx)
{
	struct opener *o = (struct opener *)f;

	AK_BEGIN(&o->aw, cx);
	AK_YIELD(&o->aw);
	AK_YIELD(&o->aw);
	printf("  opener: opening the gate\n");
	gate_open(o->gate);
	AK_END(&o->aw);
}

static void opener_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct opener *)f)->aw, f);
}

static const struct ak_future_vtable opener_vtable = { opener_poll, opener_cancel };

int main(void)
{
	struct ak_executor *ex;
	struct gate opened, never;
	struct worker a, b;
	struct opener o;
	struct ak_task *ta, *tb;
	int pool = 2;

	memset(&opened, 0, sizeof(opened));
	memset(&never, 0, sizeof(never));
	worker_init(&a, "worker a", &pool, &opened);
	worker_init(&b, "worker b", &pool, &never);
	memset(&o, 0, sizeof(o));
	o.gate = &opened;
	ak_future_init(&o.future, &opener_vtable);

	printf("await_example: two workers, one token each, one gate that opens\n");
	if (ak_executor_new(&ex) != 0)
		return 1;
	ak_executor_spawn(ex, &a.future, &ta);
	ak_executor_spawn(ex, &b.future, &tb);
	ak_executor_spawn(ex, &o.future, NULL);
	ak_executor_run(ex);
	printf("  after run: worker a %s, worker b %s, pool %d\n",
	       ak_task_result(ta) == 0 ? "done" : "waiting",
	       ak_task_result(tb) == 0 ? "done" : "waiting", pool);

	ak_executor_free(ex);           /* cancels worker b */
	printf("  after free: worker b %s, pool %d\n",
	       ak_err_name(ak_task_result(tb)), pool);
	ak_task_release(ta);
	ak_task_release(tb);
	if (pool != 2 || never.waiter.vtable != NULL) {
		printf("await_example: FAIL (pool %d)\n", pool);
		return 1;
	}
	printf("await_example: every token back in the pool\n");
	return 0;
}
