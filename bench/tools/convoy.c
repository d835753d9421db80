/*
 * bench/tools/convoy.c: mutex_contended's FIFO convoy made deterministic,
 * the program behind bench/README.md's per-hand-off figures.
 *
 *	cc -std=c11 -O2 -g -D_GNU_SOURCE -pthread -flto=auto -Iinclude \
 *		-o convoy bench/tools/convoy.c build/libawaitkit.a -pthread -lurcu-common
 *	./convoy LOCKS [WORKERS]        (NODIAG=1: AK_LOCK_NODIAG)
 *
 * The main thread holds one ak_mutex until 16 tasks on a pool of WORKERS
 * (default 1) have all parked on it, then unlocks: from there every lock
 * is a hand-off to a parked task (waits/lock 1.000).  Prints ns per lock.
 * Per hand-off under callgrind: the difference of two runs, LOCKS and
 * 2 * LOCKS, divided by LOCKS (start-up and set-up cancel out).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <awaitkit.h>

#define TASKS 16

static uint64_t counter;        /* under the mutex */
static atomic_int parked;

struct task {
	_Alignas(128) struct ak_future future;
	struct ak_mutex_lock_op op;
	struct ak_mutex *mutex;
	uint64_t left, waits;
	int locking;
};

static int task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct task *t = (struct task *)f;
	while (t->left > 0) {
		if (!t->locking) {
			ak_mutex_lock_init(&t->op, t->mutex);
			t->locking = 1;
		}
		int rc = ak_future_poll(&t->op.future, cx);
		if (rc == AK_PENDING) {
			if (t->waits++ == 0)
				atomic_fetch_add(&parked, 1);
			return AK_PENDING;
		}
		t->locking = 0;
		if (rc != 0)
			abort();
		counter++;
		ak_mutex_unlock(&t->op);
		t->left--;
	}
	return 0;
}

static void task_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct task *)f)->op.future);
}

static const struct ak_future_vtable task_vtable = { task_poll, task_cancel };

int main(int argc, char **argv)
{
	static struct task tasks[TASKS];
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 160000;
	int workers = argc > 2 ? atoi(argv[2]) : 1;
	unsigned flags = getenv("NODIAG") ? AK_LOCK_NODIAG : 0;
	struct ak_pool *pool;
	struct ak_mutex *m;
	struct ak_mutex_lock_op hold;
	struct timespec a, b;

	if (ak_pool_new(&pool, workers) != 0 || ak_mutex_new(&m, flags) != 0 ||
	    ak_mutex_lock_blocking(&hold, m, AK_DEADLINE_NEVER) != 0)
		abort();
	for (int i = 0; i < TASKS; i++) {
		tasks[i].left = n / TASKS;
		tasks[i].mutex = m;
		ak_future_init(&tasks[i].future, &task_vtable);
		ak_pool_spawn(pool, &tasks[i].future, NULL);
	}
	while (atomic_load(&parked) < TASKS)
		usleep(1000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ak_mutex_unlock(&hold);
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint64_t waits = 0;
	for (int i = 0; i < TASKS; i++)
		waits += tasks[i].waits;
	printf("locks %llu waits/lock %.3f ns/lock %.1f\n", (unsigned long long)counter,
	       (double)waits / (double)counter,
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
	               (double)counter);
	ak_pool_free(pool);
	ak_mutex_free(m);
	return counter != n / TASKS * TASKS;
}
