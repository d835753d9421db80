/*
 * semaphore_contended: 16 tasks on a pool of 2 workers share the 4 permits
 * of an ak_semaphore; each acquires size/16 times, bumps a shared counter
 * and releases (the tokio peer: tokio::sync::Semaphore on a multi_thread
 * runtime of 2 workers).  ns per acquisition.
 *
 * Memory laid out as the tokio peer's is: each task is a cell of its own
 * (tokio aligns its task cells to 128 bytes on x86-64) holding its own
 * pointer to the semaphore (the peer's Arc clone), and the counter has a
 * line of its own (the peer's Arc<AtomicU64>).  Static arrays packed tight
 * would put two tasks running on two workers on one line.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define TASKS 16
#define PERMITS 4

static _Alignas(128) atomic_uint_fast64_t counter;
static _Alignas(128) atomic_int failed;

struct task {
	_Alignas(128) struct ak_future future;
	struct ak_semaphore_acquire_op op;
	struct ak_semaphore *sem;
	uint64_t left;
	int acquiring;
};

static int task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct task *t = (struct task *)f;

	while (t->left > 0) {
		if (!t->acquiring) {
			ak_semaphore_acquire_init(&t->op, t->sem, 1);
			t->acquiring = 1;
		}
		int rc = ak_future_poll(&t->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		t->acquiring = 0;
		if (rc != 0) {
			atomic_store(&failed, rc);
			return rc;
		}
		atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
		ak_semaphore_release(&t->op);
		t->left--;
	}
	return 0;
}

static void task_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct task *)f)->op.future);
}

static const struct ak_future_vtable task_vtable = { task_poll, task_cancel };

int bk_semaphore_contended(uint64_t size, struct bk_result *r)
{
	static struct task tasks[TASKS];
	struct ak_pool *pool = NULL;
	struct ak_semaphore *sem = NULL;
	uint64_t per = size / TASKS;

	r->ops = per * TASKS;
	atomic_store(&counter, 0);          /* main.c's warm-up ran before */
	if (ak_pool_new(&pool, bk_workers) != 0 || ak_semaphore_new(&sem, PERMITS) != 0) {
		fprintf(stderr, "semaphore_contended: set-up failed\n");
		return -1;
	}
	bk_start(r);
	for (int i = 0; i < TASKS; i++) {
		memset(&tasks[i], 0, sizeof(tasks[i]));
		tasks[i].left = per;
		tasks[i].sem = sem;
		ak_future_init(&tasks[i].future, &task_vtable);
		ak_pool_spawn(pool, &tasks[i].future, NULL);
	}
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	bk_stop(r);
	int ok = atomic_load(&failed) == 0 && atomic_load(&counter) == r->ops &&
	         ak_semaphore_available_permits(sem) == PERMITS;
	ak_pool_free(pool);
	ak_semaphore_free(sem);
	if (!ok) {
		fprintf(stderr, "semaphore_contended: counter %llu, want %llu\n",
		        (unsigned long long)atomic_load(&counter), (unsigned long long)r->ops);
		return -1;
	}
	return 0;
}
