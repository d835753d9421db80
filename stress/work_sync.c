/*
 * stress/work_sync.c: ak-stress(1)'s lock workloads (work.h).  Every task
 * (-p of them; -c adds more) loops on its primitive:
 *
 *   semaphore  acquire 1..K permits (K = -k), hold them, maybe across a
 *              yield, release.  Checked: never more than K held at once,
 *              all K back at the end, the semaphore frees (nobody waits).
 *   mutex      lock, enter (never two inside), bump a plain counter, maybe
 *              yield, unlock; -k 1 makes it barging.  Checked: the counter
 *              equals the completed sections (no lost update), unlocked
 *              and freed at the end.
 *   rwlock     a quarter write (a pair of plain counters, both bumped),
 *              the rest read (the pair equal, at most -k readers, never a
 *              writer beside).  Checked: the pair equals the writes, the
 *              lock is free and frees.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

static int k_a, k_b;

/* ---- semaphore ------------------------------------------------------------- */

struct sem_st {
	struct ak_semaphore *sem;
	atomic_llong held, max_held;
};

struct sem_task {
	struct wk_task t;
	struct ak_semaphore_acquire_op acq;
	uint64_t n;
};

static void note_max(atomic_llong *max, long long v)
{
	long long m = atomic_load(max);
	while (v > m && !atomic_compare_exchange_weak(max, &m, v))
		;
}

static int sem_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sem_task *p = (struct sem_task *)(void *)f;
	struct sem_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		p->n = 1 + stress_below(&p->t.rng, (uint64_t)p->t.w->capacity);
		ak_semaphore_acquire_init(&p->acq, s->sem, p->n);
		WK_AWAIT(&p->t, &p->acq.future, k_a, "acquire");
		if (p->t.rc == WK_CANCELLED)
			continue;
		if (p->t.rc != 0) {
			stress_fail("semaphore: acquire returned %s", ak_err_name(p->t.rc));
			break;
		}
		long long now = atomic_fetch_add(&s->held, (long long)p->n) + (long long)p->n;
		note_max(&s->max_held, now);
		if (now > p->t.w->capacity)
			stress_fail("semaphore: %lld permits held of %ld", now, p->t.w->capacity);
		if (wk_chance(&p->t, 50))
			AK_YIELD(&p->t.aw);
		atomic_fetch_sub(&s->held, (long long)p->n);
		if (ak_semaphore_release(&p->acq) != 0)
			stress_fail("semaphore: release of a completed acquire failed");
		p->t.i++;
	}
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (ak_semaphore_permits(&p->acq)) {
		atomic_fetch_sub(&s->held, (long long)p->n);
		ak_semaphore_release(&p->acq);
	}
	AK_END(&p->t.aw);
}

static void add_tasks(struct wk *w, size_t size, int (*poll)(struct ak_future *,
                                                             struct ak_context *))
{
	for (int i = 0; i < w->producers + w->consumers; i++)
		wk_task_add(w, size, poll, i < w->producers ? WK_PRODUCER : WK_CONSUMER, i);
}

static void sem_setup(struct wk *w)
{
	struct sem_st *s = calloc(1, sizeof(*s));
	w->st = s;
	if (w->capacity < 1)
		w->capacity = 1;
	k_a = stress_kind("acquire");
	if (ak_semaphore_new(&s->sem, (uint64_t)w->capacity) != 0) {
		fprintf(stderr, "semaphore: cannot make it\n");
		exit(2);
	}
	add_tasks(w, sizeof(struct sem_task), sem_poll);
}

static void sem_check(struct wk *w)
{
	struct sem_st *s = w->st;
	stress_check(atomic_load(&s->max_held) <= w->capacity,
	             "permits: never more than %ld held at once (%lld at most)", w->capacity,
	             atomic_load(&s->max_held));
	stress_check(ak_semaphore_available_permits(s->sem) == (uint64_t)w->capacity,
	             "permits: all %ld back at the end (%" PRIu64 ")", w->capacity,
	             ak_semaphore_available_permits(s->sem));
}

static void sem_dump(FILE *out, struct wk *w)
{
	struct sem_st *s = w->st;
	fprintf(out, "semaphore: %" PRIu64 " permits available of %ld, %lld held by tasks\n",
	        ak_semaphore_available_permits(s->sem), w->capacity, atomic_load(&s->held));
}

static void sem_teardown(struct wk *w)
{
	struct sem_st *s = w->st;
	stress_check(ak_semaphore_free(s->sem) == 0, "waiters: the semaphore frees, nobody waits");
	free(s);
}

const struct wk_def wk_semaphore = {
	"semaphore", "tasks acquire 1..K permits (K = -k), hold them, release",
	4, 0, 3, 20, sem_setup, sem_check, sem_dump, sem_teardown,
};

/* ---- mutex ----------------------------------------------------------------- */

struct mutex_st {
	struct ak_mutex *m;
	atomic_int inside;
	uint64_t counter;               /* plain: written under the lock */
	atomic_uint_least64_t sections;
};

struct mutex_task {
	struct wk_task t;
	struct ak_mutex_lock_op lock;
	int held;
};

static int mutex_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mutex_task *p = (struct mutex_task *)(void *)f;
	struct mutex_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		ak_mutex_lock_init(&p->lock, s->m);
		WK_AWAIT(&p->t, &p->lock.future, k_a, "lock");
		if (p->t.rc == WK_CANCELLED)
			continue;
		if (p->t.rc != 0) {
			stress_fail("mutex: lock returned %s", ak_err_name(p->t.rc));
			break;
		}
		p->held = 1;
		if (atomic_fetch_add(&s->inside, 1) != 0)
			stress_fail("mutex: two holders at once");
		s->counter++;
		if (wk_chance(&p->t, 30))
			AK_YIELD(&p->t.aw);
		atomic_fetch_sub(&s->inside, 1);
		atomic_fetch_add(&s->sections, 1);
		p->held = 0;
		if (ak_mutex_unlock(&p->lock) != 0)
			stress_fail("mutex: unlock of a held lock failed");
		p->t.i++;
	}
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (p->held) {
		atomic_fetch_sub(&s->inside, 1);
		ak_mutex_unlock(&p->lock);
	}
	AK_END(&p->t.aw);
}

static void mutex_setup(struct wk *w)
{
	struct mutex_st *s = calloc(1, sizeof(*s));
	w->st = s;
	k_a = stress_kind("lock");
	if (ak_mutex_new(&s->m, w->capacity == 1 ? AK_MUTEX_BARGING : 0) != 0) {
		fprintf(stderr, "mutex: cannot make it\n");
		exit(2);
	}
	add_tasks(w, sizeof(struct mutex_task), mutex_poll);
}

static void mutex_check(struct wk *w)
{
	struct mutex_st *s = w->st;
	stress_check(s->counter == atomic_load(&s->sections),
	             "mutex exclusion: the counter bumped under the lock equals the %" PRIuLEAST64
	             " sections (%" PRIu64 ")", atomic_load(&s->sections), s->counter);
	stress_check(!ak_mutex_is_locked(s->m), "mutex: unlocked at the end");
}

static void mutex_dump(FILE *out, struct wk *w)
{
	struct mutex_st *s = w->st;
	fprintf(out, "mutex: %s, %d inside\n", ak_mutex_is_locked(s->m) ? "locked" : "unlocked",
	        atomic_load(&s->inside));
}

static void mutex_teardown(struct wk *w)
{
	struct mutex_st *s = w->st;
	stress_check(ak_mutex_free(s->m) == 0, "waiters: the mutex frees, nobody waits");
	free(s);
}

const struct wk_def wk_mutex = {
	"mutex", "tasks lock, bump a counter, unlock (-k 1: a barging mutex)",
	4, 0, 0, 20, mutex_setup, mutex_check, mutex_dump, mutex_teardown,
};

/* ---- rwlock ---------------------------------------------------------------- */

struct rw_st {
	struct ak_rwlock *rw;
	atomic_int readers, writers;
	uint64_t a, b;                  /* plain: written under a write lock */
	atomic_uint_least64_t writes;
};

struct rw_task {
	struct wk_task t;
	struct ak_rwlock_op op;
	int write, held;
};

static void rw_leave(struct rw_task *p, struct rw_st *s)
{
	atomic_fetch_sub(p->write ? &s->writers : &s->readers, 1);
	p->held = 0;
}

static int rw_poll(struct ak_future *f, struct ak_context *cx)
{
	struct rw_task *p = (struct rw_task *)(void *)f;
	struct rw_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		p->write = wk_chance(&p->t, 25);
		if (p->write) {
			ak_rwlock_write_init(&p->op, s->rw);
			WK_AWAIT(&p->t, &p->op.future, k_b, "write");
		} else {
			ak_rwlock_read_init(&p->op, s->rw);
			WK_AWAIT(&p->t, &p->op.future, k_a, "read");
		}
		if (p->t.rc == WK_CANCELLED)
			continue;
		if (p->t.rc != 0) {
			stress_fail("rwlock: returned %s", ak_err_name(p->t.rc));
			break;
		}
		p->held = 1;
		if (p->write) {
			if (atomic_fetch_add(&s->writers, 1) != 0 || atomic_load(&s->readers) != 0)
				stress_fail("rwlock: a writer beside another holder");
			s->a++;
			s->b++;
			atomic_fetch_add(&s->writes, 1);
		} else {
			int r = atomic_fetch_add(&s->readers, 1) + 1;
			if (atomic_load(&s->writers) != 0 || r > p->t.w->capacity)
				stress_fail("rwlock: a reader beside a writer, or %d readers", r);
			if (s->a != s->b)
				stress_fail("rwlock: a read saw a torn write");
		}
		if (wk_chance(&p->t, 30))
			AK_YIELD(&p->t.aw);
		rw_leave(p, s);
		if (ak_rwlock_unlock(&p->op) != 0)
			stress_fail("rwlock: unlock of a held lock failed");
		p->t.i++;
	}
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (p->held) {
		rw_leave(p, s);
		ak_rwlock_unlock(&p->op);
	}
	AK_END(&p->t.aw);
}

static void rw_setup(struct wk *w)
{
	struct rw_st *s = calloc(1, sizeof(*s));
	w->st = s;
	if (w->capacity < 1)
		w->capacity = 1;
	k_a = stress_kind("read");
	k_b = stress_kind("write");
	if (ak_rwlock_new(&s->rw, (uint32_t)w->capacity, 0) != 0) {
		fprintf(stderr, "rwlock: cannot make it\n");
		exit(2);
	}
	add_tasks(w, sizeof(struct rw_task), rw_poll);
}

static void rw_check(struct wk *w)
{
	struct rw_st *s = w->st;
	struct ak_rwlock_op op;
	memset(&op, 0, sizeof op);
	stress_check(s->a == atomic_load(&s->writes) && s->a == s->b,
	             "rwlock exclusion: the pair bumped under write locks equals the %" PRIuLEAST64
	             " writes (%" PRIu64 ", %" PRIu64 ")", atomic_load(&s->writes), s->a, s->b);
	int rc = ak_rwlock_try_write(&op, s->rw, NULL);
	stress_check(rc == 0, "rwlock: free at the end (try_write: %s)", ak_err_name(rc));
	if (rc == 0)
		ak_rwlock_unlock(&op);
}

static void rw_dump(FILE *out, struct wk *w)
{
	struct rw_st *s = w->st;
	fprintf(out, "rwlock: %d readers, %d writers inside\n", atomic_load(&s->readers),
	        atomic_load(&s->writers));
}

static void rw_teardown(struct wk *w)
{
	struct rw_st *s = w->st;
	stress_check(ak_rwlock_free(s->rw) == 0, "waiters: the rwlock frees, nobody waits");
	free(s);
}

const struct wk_def wk_rwlock = {
	"rwlock", "tasks read (at most -k readers) or write (a quarter)",
	4, 0, 4, 20, rw_setup, rw_check, rw_dump, rw_teardown,
};

