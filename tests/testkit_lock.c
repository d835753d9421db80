/* testkit: the mutual exclusion workloads.  See testkit.h. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

static int mutex_bind(union tk_guard *g, void *lock)
{
	return ak_mutex_lock_init(&g->mutex, lock);
}

static int mutex_blocking(union tk_guard *g, void *lock)
{
	return ak_mutex_lock_blocking(&g->mutex, lock, AK_DEADLINE_NEVER);
}

static int mutex_release(union tk_guard *g)
{
	return ak_mutex_unlock(&g->mutex);
}

struct tk_lock tk_lock_mutex(struct ak_mutex *m)
{
	return (struct tk_lock){ m, mutex_bind, mutex_blocking, mutex_release };
}

static int sem_bind(union tk_guard *g, void *lock)
{
	return ak_semaphore_acquire_init(&g->sem, lock, 1);
}

static int sem_blocking(union tk_guard *g, void *lock)
{
	return ak_semaphore_acquire_blocking(&g->sem, lock, 1, AK_DEADLINE_NEVER);
}

static int sem_release(union tk_guard *g)
{
	return ak_semaphore_release(&g->sem);
}

struct tk_lock tk_lock_semaphore(struct ak_semaphore *s)
{
	return (struct tk_lock){ s, sem_bind, sem_blocking, sem_release };
}

/* ---- on blocked threads ------------------------------------------------------ */

struct blocked {
	pthread_t th;
	const struct tk_lock *l;
	int iters;
	long *counter;
	int failures;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;
	union tk_guard g;

	memset(&g, 0, sizeof g);
	for (int i = 0; i < b->iters; i++) {
		if (b->l->blocking(&g, b->l->lock) != 0) {
			b->failures++;
			continue;
		}
		long v = *b->counter;
		if (i % 64 == 0)
			sched_yield();
		*b->counter = v + 1;
		if (b->l->release(&g) != 0)
			b->failures++;
	}
	return NULL;
}

long tk_exclusion_on_threads(const struct tk_lock *l, int threads, int iters)
{
	struct blocked *b = calloc((size_t)threads, sizeof *b);
	long counter = 0;
	int failures = 0;

	ck_assert_ptr_nonnull(b);
	for (int i = 0; i < threads; i++) {
		b[i] = (struct blocked){ .l = l, .iters = iters, .counter = &counter };
		ck_assert_int_eq(pthread_create(&b[i].th, NULL, blocked_main, &b[i]), 0);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(b[i].th, NULL);
		failures += b[i].failures;
	}
	free(b);
	return failures ? -1 : counter;
}

/* ---- tasks on a pool --------------------------------------------------------- */

struct counter_task {
	struct ak_future future;
	struct ak_await aw;
	const struct tk_lock *l;
	int iters;
	long *counter;
	union tk_guard g;
	long saved;
	int i, rc, errors;
};

static int counter_poll(struct ak_future *f, struct ak_context *cx)
{
	struct counter_task *c = (struct counter_task *)f;

	AK_BEGIN(&c->aw, cx);
	for (c->i = 0; c->i < c->iters; c->i++) {
		if ((c->rc = c->l->bind(&c->g, c->l->lock)) != 0)
			AK_RETURN(&c->aw, c->rc);
		AK_AWAIT(&c->aw, &c->g.future, c->rc);
		if (c->rc != 0)
			AK_RETURN(&c->aw, c->rc);
		c->saved = *c->counter;
		if (c->i % 4 == 0)
			AK_YIELD(&c->aw);       /* held across an await */
		*c->counter = c->saved + 1;
		if (c->l->release(&c->g) != 0)
			c->errors++;
	}
	AK_CLEANUP(&c->aw);
	c->l->release(&c->g);
	AK_END(&c->aw);
}

static void counter_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct counter_task *)f)->aw, f);
}

static const struct ak_future_vtable counter_vtable = { counter_poll, counter_cancel };

long tk_exclusion_on_pool(const struct tk_lock *l, int tasks, int iters)
{
	struct counter_task *c = calloc((size_t)tasks, sizeof *c);
	/* The run's executor (AK_TEST_EXECUTOR; by default a pool of 4). */
	struct tk_exec *x = tk_exec_new("pool", 4);
	long counter = 0;
	int failures = 0;

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < tasks; i++) {
		c[i].l = l;
		c[i].iters = iters;
		c[i].counter = &counter;
		ck_assert_int_eq(ak_future_init(&c[i].future, &counter_vtable), 0);
		tk_exec_spawn(x, &c[i].future);
	}
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(20000000000LL)), 0);
	for (int i = 0; i < tasks; i++)
		failures += tk_exec_result(x, i) != 0 || c[i].errors != 0;
	tk_exec_free(x);
	free(c);
	return failures ? -1 : counter;
}
