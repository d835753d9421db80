/*
 * mutex_contended: 16 tasks on a pool of 2 workers share one ak_mutex;
 * each locks size/16 times, increments a plain counter and unlocks (the
 * tokio peer: tokio::sync::Mutex on a multi_thread runtime of 2 workers;
 * Go: sync.Mutex, which barges, with GOMAXPROCS=2).  ns per lock.
 *
 * BK_MUTEX_NODIAG=1 in the environment creates the mutex with
 * AK_LOCK_NODIAG (no holder records, no self-deadlock detection), to
 * measure what the diagnostics cost; the line says diag=on or diag=off.
 * BK_MUTEX_BARGING=1 creates it with AK_MUTEX_BARGING (Go's semantics:
 * compare with peer-go); the line says mode=fifo or mode=barging.
 * waits_per_lock: the share of lock operations that waited (returned
 * AK_PENDING at least once; a FIFO convoy makes it near 1).
 *
 * Memory as the tokio peer lays it out (see semaphore_contended.c): a
 * 128-byte-aligned cell per task holding its own mutex pointer (the Arc
 * clone); the counter on a line of its own (tokio's sits in the mutex's
 * own allocation).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define TASKS 16

static _Alignas(128) uint64_t counter;  /* under the mutex */
static _Alignas(128) atomic_int failed;

struct task {
	_Alignas(128) struct ak_future future;
	struct ak_mutex_lock_op op;
	struct ak_mutex *mutex;
	uint64_t left;
	uint64_t waits;         /* lock polls that returned AK_PENDING */
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
			t->waits++;
			return AK_PENDING;
		}
		t->locking = 0;
		if (rc != 0) {
			atomic_store(&failed, rc);
			return rc;
		}
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

int bk_mutex_contended(uint64_t size, struct bk_result *r)
{
	static struct task tasks[TASKS];
	struct ak_pool *pool = NULL;
	struct ak_mutex *mutex = NULL;
	uint64_t per = size / TASKS;
	const char *nd = getenv("BK_MUTEX_NODIAG");
	const char *bg = getenv("BK_MUTEX_BARGING");
	unsigned flags = nd && *nd == '1' ? AK_LOCK_NODIAG : 0;
	if (bg && *bg == '1')
		flags |= AK_MUTEX_BARGING;

	r->ops = per * TASKS;
	counter = 0;
	if (ak_pool_new(&pool, bk_workers) != 0 || ak_mutex_new(&mutex, flags) != 0) {
		fprintf(stderr, "mutex_contended: set-up failed\n");
		return -1;
	}
	bk_start(r);
	for (int i = 0; i < TASKS; i++) {
		memset(&tasks[i], 0, sizeof(tasks[i]));
		tasks[i].left = per;
		tasks[i].mutex = mutex;
		ak_future_init(&tasks[i].future, &task_vtable);
		ak_pool_spawn(pool, &tasks[i].future, NULL);
	}
	ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	bk_stop(r);
	int ok = atomic_load(&failed) == 0 && counter == r->ops && !ak_mutex_is_locked(mutex);
	ak_pool_free(pool);
	ak_mutex_free(mutex);
	uint64_t waits = 0;
	for (int i = 0; i < TASKS; i++)
		waits += tasks[i].waits;
	bk_extra(r, "diag=%s mode=%s waits_per_lock=%.2f", (flags & AK_LOCK_NODIAG) ? "off" : "on",
	         (flags & AK_MUTEX_BARGING) ? "barging" : "fifo",
	         r->ops ? (double)waits / (double)r->ops : 0.0);
	if (!ok) {
		fprintf(stderr, "mutex_contended: counter %llu, want %llu\n",
		        (unsigned long long)counter, (unsigned long long)r->ops);
		return -1;
	}
	return 0;
}
