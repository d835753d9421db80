/*
 * tests/tk_exec.c: the executor a test's tasks run on, picked by the run
 * (AK_TEST_EXECUTOR; testkit.h, "Tasks on the run's executor").  The six
 * executors are those of the conformance kit (conform/drivers.c: new,
 * spawn, run until idle, free); each body is spawned inside a wrapper
 * future that records the body's result, since block_on threads have no
 * task handle to ask.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../conform/drivers.h"
#include "testkit.h"

struct tk_exec_task {
	struct ak_future future;
	struct ak_future *body;
	atomic_int result;             /* AK_PENDING until the body ended */
};

struct tk_exec {
	struct ak_conform_executor x;  /* the driver, arg pointing at workers */
	void *ex;
	int workers;
	struct tk_exec_task **tasks;
	int n, cap;
};

static int wrap_poll(struct ak_future *f, struct ak_context *cx)
{
	struct tk_exec_task *t = (struct tk_exec_task *)(void *)f;
	int rc = ak_future_poll(t->body, cx);
	if (rc != AK_PENDING)
		atomic_store_explicit(&t->result, rc, memory_order_release);
	return rc;
}

static void wrap_cancel(struct ak_future *f)
{
	struct tk_exec_task *t = (struct tk_exec_task *)(void *)f;
	ak_future_cancel(t->body);
	int pending = AK_PENDING;
	atomic_compare_exchange_strong_explicit(&t->result, &pending, AK_ECANCELED,
	                                        memory_order_release,
	                                        memory_order_relaxed);
}

static const struct ak_future_vtable wrap_vtable = { wrap_poll, wrap_cancel };

const char *tk_exec_pick(const char *dflt)
{
	const char *name = getenv("AK_TEST_EXECUTOR");
	return name && *name ? name : dflt;
}

int tk_exec_known(const char *name)
{
	return conform_driver(name) != NULL;
}

struct tk_exec *tk_exec_new(const char *dflt, int workers)
{
	const char *name = tk_exec_pick(dflt);
	const struct ak_conform_executor *d = conform_driver(name);
	ck_assert_msg(d != NULL, "no executor named %s "
	              "(executor, pool, block_on, uv, event, epoll)", name);
	struct tk_exec *x = calloc(1, sizeof(*x));
	ck_assert_ptr_nonnull(x);
	x->x = *d;
	x->workers = workers > 0 ? workers : 2;
	if (d == &conform_pool)
		x->x.arg = &x->workers;
	int rc = x->x.new_executor(x->x.arg, &x->ex);
	ck_assert_msg(rc == 0, "%s: new: %s", name, ak_strerror(rc));
	return x;
}

const char *tk_exec_name(const struct tk_exec *x)
{
	return x->x.name;
}

int tk_exec_spawn(struct tk_exec *x, struct ak_future *body)
{
	if (x->n == x->cap) {
		int cap = x->cap ? 2 * x->cap : 16;
		void *p = realloc(x->tasks, (size_t)cap * sizeof(*x->tasks));
		ck_assert_ptr_nonnull(p);
		x->tasks = p;
		x->cap = cap;
	}
	/* One allocation each: a spawned wrapper must not move. */
	struct tk_exec_task *t = calloc(1, sizeof(*t));
	ck_assert_ptr_nonnull(t);
	t->body = body;
	atomic_init(&t->result, AK_PENDING);
	ck_assert_int_eq(ak_future_init(&t->future, &wrap_vtable), 0);
	int rc = x->x.spawn(x->ex, &t->future);
	ck_assert_msg(rc == 0, "%s: spawn: %s", x->x.name, ak_strerror(rc));
	x->tasks[x->n] = t;
	return x->n++;
}

int tk_exec_run(struct tk_exec *x, int64_t deadline)
{
	return x->x.run_until_idle(x->ex, deadline);
}

int tk_exec_result(const struct tk_exec *x, int i)
{
	ck_assert_int_lt(i, x->n);
	/* acquire: pairs with the release of the poll that recorded it. */
	return atomic_load_explicit(&x->tasks[i]->result, memory_order_acquire);
}

void tk_exec_free(struct tk_exec *x)
{
	x->x.free_executor(x->ex);
	for (int i = 0; i < x->n; i++)
		free(x->tasks[i]);
	free(x->tasks);
	free(x);
}

TCase *tk_tasks_tcase(void)
{
	return tk_tcase(TK_TASKS_CASE);
}
