/*
 * examples/scene_mutex.c: the Mutex and RwLock scenes.  Tasks on the
 * single-thread executor hold a mutex across awaits and get it in FIFO
 * order; a task that locks twice is told AK_EDEADLK, with who holds the
 * lock, where, and for how long; a queued writer keeps later readers out
 * until it has written and downgraded.
 */
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

#define MS 1000000LL

/* ---- three tasks that hold the mutex across two yields each ------------ */

struct worker {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *m;
	struct ak_mutex_lock_op guard;
	char name;
	char *log;
	int rc;
};

static int worker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct worker *w = (struct worker *)f;

	AK_BEGIN(&w->aw, cx);
	ak_mutex_lock_init(&w->guard, w->m);
	AK_AWAIT(&w->aw, &w->guard.future, w->rc);
	if (w->rc != 0)
		AK_RETURN(&w->aw, w->rc);
	strncat(w->log, &w->name, 1);
	AK_YIELD(&w->aw);                 /* still holding it */
	AK_YIELD(&w->aw);
	strncat(w->log, &w->name, 1);
	ak_mutex_unlock(&w->guard);
	AK_CLEANUP(&w->aw);
	ak_mutex_unlock(&w->guard);
	AK_END(&w->aw);
}

static void worker_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct worker *)f)->aw, f);
}

static const struct ak_future_vtable worker_vtable = { worker_poll, worker_cancel };

void scene_mutex_held_across_awaits(void)
{
	struct ak_executor *ex = NULL;
	struct ak_mutex *m = NULL;
	struct worker w[3];
	char log[16] = "";

	printf("\n[mutex] three tasks hold one mutex across two yields each\n");
	ak_executor_new(&ex);
	ak_mutex_new(&m, 0);
	memset(w, 0, sizeof w);
	for (int i = 0; i < 3; i++) {
		w[i].m = m;
		w[i].name = (char)('A' + i);
		w[i].log = log;
		ak_future_init(&w[i].future, &worker_vtable);
		ak_executor_spawn(ex, &w[i].future, NULL);
	}
	int rc = ak_executor_run(ex);
	printf("    critical sections: %s\n", log);
	CHECK(rc >= 0 && strcmp(log, "AABBCC") == 0,
	      "each task's section ran whole, in FIFO order, across its yields");
	CHECK(ak_mutex_free(m) == 0, "the mutex is free at the end");
	ak_executor_free(ex);
}

/* ---- a task that locks twice --------------------------------------------- */

struct twice {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *m;
	struct ak_mutex_lock_op first, second;
	struct ak_lock_info who;
	int rc, info_rc;
};

static int twice_poll(struct ak_future *f, struct ak_context *cx)
{
	struct twice *t = (struct twice *)f;

	AK_BEGIN(&t->aw, cx);
	ak_mutex_lock_init(&t->first, t->m);
	AK_AWAIT(&t->aw, &t->first.future, t->rc);
	AK_YIELD(&t->aw);
	ak_mutex_lock_init(&t->second, t->m);
	AK_AWAIT(&t->aw, &t->second.future, t->rc);
	t->info_rc = ak_mutex_holder(t->m, cx->slot, &t->who);
	ak_mutex_unlock(&t->first);
	AK_CLEANUP(&t->aw);
	ak_mutex_unlock(&t->first);
	AK_END(&t->aw);
}

static void twice_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct twice *)f)->aw, f);
}

static const struct ak_future_vtable twice_vtable = { twice_poll, twice_cancel };

void scene_mutex_self_deadlock(void)
{
	struct ak_executor *ex = NULL;
	struct ak_mutex *m = NULL;
	struct twice t;

	printf("\n[mutex] a task awaits a mutex it already holds\n");
	ak_executor_new(&ex);
	ak_mutex_new(&m, AK_LOCK_STATS);   /* hold statistics: time, pending polls */
	memset(&t, 0, sizeof t);
	t.m = m;
	ak_future_init(&t.future, &twice_vtable);
	int rc = ak_executor_run_until(ex, &t.future, ak_deadline_in(1000 * MS));
	printf("    second lock: %s\n", ak_err_name(t.rc));
	if (t.info_rc == 0)
		printf("    held by task %llu since %s:%d, for %lld ms, across %llu pending polls\n",
		       (unsigned long long)t.who.task, t.who.file, t.who.line,
		       (long long)(t.who.held_ns / 1000000),
		       (unsigned long long)t.who.pending_polls);
	CHECK(rc == 0 && t.rc == AK_EDEADLK, "reported at once, not hung");
	CHECK(t.info_rc == 0 && t.who.pending_polls == 1,
	      "the holder record counts the one pending poll (the yield) it was held across");
	CHECK(ak_mutex_free(m) == 0, "the mutex is free at the end");
	ak_executor_free(ex);
}

/* ---- a RwLock: a queued writer keeps later readers out ------------------- */

void scene_rwlock_writer_preferred(void)
{
	struct ak_rwlock *rw = NULL;
	struct ak_rwlock_op r1, w, r2, t;

	printf("\n[rwlock] a queued writer keeps later readers out, then downgrades\n");
	memset(&r1, 0, sizeof r1);
	memset(&w, 0, sizeof w);
	memset(&r2, 0, sizeof r2);
	memset(&t, 0, sizeof t);
	ak_rwlock_new(&rw, AK_RWLOCK_MAX_READERS, 0);
	CHECK(ak_rwlock_try_read(&r1, rw, NULL) == 0, "reader 1 reads");
	ak_rwlock_write_init(&w, rw);
	struct ak_context cx;
	ak_context_init(&cx, ak_waker_noop(), NULL);
	int wrc = ak_context_done(&cx, ak_future_poll(&w.future, &cx));
	CHECK(wrc == AK_PENDING, "the writer queues behind reader 1");
	CHECK(ak_rwlock_try_read(&r2, rw, NULL) == AK_EAGAIN,
	      "reader 2 cannot pass the queued writer");
	ak_rwlock_unlock(&r1);
	ak_context_init(&cx, ak_waker_noop(), NULL);
	wrc = ak_context_done(&cx, ak_future_poll(&w.future, &cx));
	CHECK(wrc == 0, "reader 1 leaves: the writer writes");
	CHECK(ak_rwlock_downgrade(&w) == 0 && ak_rwlock_try_read(&r2, rw, NULL) == 0,
	      "after downgrade reader 2 reads beside the former writer");
	CHECK(ak_rwlock_try_write(&t, rw, NULL) == AK_EAGAIN, "no writer while they read");
	ak_rwlock_unlock(&w);
	ak_rwlock_unlock(&r2);
	CHECK(ak_rwlock_free(rw) == 0, "the lock is free at the end");
}
