/*
 * The cancellation sweep's synchronisation rows (tests/cancel_sweep.h):
 * semaphore acquire (one permit, and many with a partial grant), mutex
 * lock (fair and barging), rwlock read and write (and a read queued
 * behind a waiting writer), notify notified and notified_enable, barrier
 * wait, once cell get_or_init, set-once wait.  At quiescence every permit
 * is back, the lock is free, nothing waits (each free returns 0, which it
 * refuses while anything is queued), and a barrier's next generation
 * needs exactly its parties.
 */
#include <stdlib.h>
#include <string.h>

#include "cancel_sweep.h"

/* ---- semaphore ------------------------------------------------------------- */

struct sem_st {
	struct ak_semaphore *sem;
	struct ak_semaphore_acquire_op held, part;
	int holding;
};

#define SEM(e) ((struct sem_st *)(e)->st)

/* arg permits, all held by the sweep. */
static void sem_setup(struct cs_env *e)
{
	struct sem_st *s = SEM(e);
	ck_assert_int_eq(ak_semaphore_new(&s->sem, (uint64_t)e->c->arg), 0);
	CS_RC(0, ak_semaphore_try_acquire(&s->held, s->sem, (uint64_t)e->c->arg));
	s->holding = 1;
}

static void sem_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_semaphore_acquire_init(&op->acquire, SEM(e)->sem, (uint64_t)e->c->arg));
}

static void sem_unblock(struct cs_env *e)
{
	struct sem_st *s = SEM(e);
	if (s->holding)
		CS_RC(0, ak_semaphore_release(&s->held));
	s->holding = 0;
}

/* With one permit, all of it; with more, all but one: a partial grant. */
static void sem_grant(struct cs_env *e)
{
	struct sem_st *s = SEM(e);
	if (e->c->arg == 1) {
		sem_unblock(e);
		return;
	}
	memset(&s->part, 0, sizeof s->part);
	CS_RC(0, ak_semaphore_split(&s->held, (uint64_t)e->c->arg - 1, &s->part));
	CS_RC(0, ak_semaphore_release(&s->part));
}

static void sem_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)who;
	CS_ASSERT(rc == 0, "acquire returned %d", rc);
	CS_RC(0, ak_semaphore_release(&op->acquire));
}

static void sem_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_semaphore_acquire_op op;
	uint64_t n = 1 + cs_rand(rng) % (uint64_t)e->c->arg;
	memset(&op, 0, sizeof op);
	int rc = ak_semaphore_acquire_blocking(&op, SEM(e)->sem, n, cs_soon(rng));
	if (rc == 0)
		rc = ak_semaphore_release(&op);
	else if (rc == AK_ETIMEDOUT)
		rc = 0;
	if (rc)
		cs_traffic_bad(e, "acquire/release", rc);
}

static void sem_check(struct cs_env *e)
{
	struct sem_st *s = SEM(e);
	struct ak_semaphore_acquire_op all;
	sem_unblock(e);
	CS_ASSERT(ak_semaphore_available_permits(s->sem) == (uint64_t)e->c->arg,
	          "%llu permits of %ld", (unsigned long long)ak_semaphore_available_permits(s->sem),
	          e->c->arg);
	memset(&all, 0, sizeof all);
	CS_RC(0, ak_semaphore_try_acquire(&all, s->sem, (uint64_t)e->c->arg));
	CS_RC(0, ak_semaphore_release(&all));
}

static void sem_teardown(struct cs_env *e)
{
	CS_RC(0, ak_semaphore_free(SEM(e)->sem));
}

/* ---- mutex ----------------------------------------------------------------- */

struct mutex_st {
	struct ak_mutex *m;
	struct ak_mutex_lock_op held;
	int holding;
};

#define MUTEX(e) ((struct mutex_st *)(e)->st)

static void mutex_setup(struct cs_env *e)
{
	struct mutex_st *s = MUTEX(e);
	ck_assert_int_eq(ak_mutex_new(&s->m, (unsigned)e->c->arg), 0);
	CS_RC(0, ak_mutex_try_lock(&s->held, s->m, NULL));
	s->holding = 1;
}

static void mutex_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_mutex_lock_init(&op->lock, MUTEX(e)->m));
}

static void mutex_unblock(struct cs_env *e)
{
	struct mutex_st *s = MUTEX(e);
	if (s->holding)
		CS_RC(0, ak_mutex_unlock(&s->held));
	s->holding = 0;
}

static void mutex_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)who;
	CS_ASSERT(rc == 0, "lock returned %d", rc);
	CS_RC(0, ak_mutex_unlock(&op->lock));
}

static void mutex_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_mutex_lock_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_mutex_lock_blocking(&op, MUTEX(e)->m, cs_soon(rng));
	if (rc == 0)
		rc = ak_mutex_unlock(&op);
	else if (rc == AK_ETIMEDOUT)
		rc = 0;
	if (rc)
		cs_traffic_bad(e, "lock/unlock", rc);
}

static void mutex_check(struct cs_env *e)
{
	struct mutex_st *s = MUTEX(e);
	struct ak_mutex_lock_op op;
	mutex_unblock(e);
	CS_ASSERT(ak_mutex_is_locked(s->m) == 0, "the mutex is still locked");
	memset(&op, 0, sizeof op);
	CS_RC(0, ak_mutex_try_lock(&op, s->m, NULL));
	CS_RC(0, ak_mutex_unlock(&op));
}

static void mutex_teardown(struct cs_env *e)
{
	CS_RC(0, ak_mutex_free(MUTEX(e)->m));
}

/* ---- rwlock ---------------------------------------------------------------- */

/* arg: 0 readers wait on a writer, 1 writers on a reader, 2 a reader
 * queued behind a waiting writer (the witness). */
struct rw_st {
	struct ak_rwlock *rw;
	struct ak_rwlock_op held;
	int holding;
};

#define RW(e) ((struct rw_st *)(e)->st)

static void rw_setup(struct cs_env *e)
{
	struct rw_st *s = RW(e);
	ck_assert_int_eq(ak_rwlock_new(&s->rw, 4, 0), 0);
	if (e->c->arg == 0)
		CS_RC(0, ak_rwlock_try_write(&s->held, s->rw, NULL));
	else
		CS_RC(0, ak_rwlock_try_read(&s->held, s->rw, NULL));
	s->holding = 1;
}

static void rw_init(struct cs_env *e, union cs_op *op, int who)
{
	int write = e->c->arg == 1 || (e->c->arg == 2 && who == 1);
	if (write)
		CS_RC(0, ak_rwlock_write_init(&op->rw, RW(e)->rw));
	else
		CS_RC(0, ak_rwlock_read_init(&op->rw, RW(e)->rw));
}

static void rw_unblock(struct cs_env *e)
{
	struct rw_st *s = RW(e);
	if (s->holding)
		CS_RC(0, ak_rwlock_unlock(&s->held));
	s->holding = 0;
}

static void rw_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)who;
	CS_ASSERT(rc == 0, "rwlock returned %d", rc);
	CS_RC(0, ak_rwlock_unlock(&op->rw));
}

static void rw_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_rwlock_op op;
	memset(&op, 0, sizeof op);
	int rc = cs_rand(rng) % 2 ? ak_rwlock_read_blocking(&op, RW(e)->rw, cs_soon(rng))
	                          : ak_rwlock_write_blocking(&op, RW(e)->rw, cs_soon(rng));
	if (rc == 0)
		rc = ak_rwlock_unlock(&op);
	else if (rc == AK_ETIMEDOUT)
		rc = 0;
	if (rc)
		cs_traffic_bad(e, "rwlock/unlock", rc);
}

static void rw_check(struct cs_env *e)
{
	struct ak_rwlock_op op;
	rw_unblock(e);
	memset(&op, 0, sizeof op);
	CS_RC(0, ak_rwlock_try_write(&op, RW(e)->rw, NULL));
	CS_RC(0, ak_rwlock_unlock(&op));
}

static void rw_teardown(struct cs_env *e)
{
	CS_RC(0, ak_rwlock_free(RW(e)->rw));
}

/* ---- notify ---------------------------------------------------------------- */

struct notify_st {
	struct ak_notify *n;
};

#define NOTIFY(e) ((struct notify_st *)(e)->st)

static void notify_setup(struct cs_env *e)
{
	ck_assert_int_eq(ak_notify_new(&NOTIFY(e)->n), 0);
}

static void notify_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_notified_init(&op->notified, NOTIFY(e)->n));
}

/* The enable row's victim is enabled, never polled, until repolled. */
static int notify_enable_first(struct cs_env *e, union cs_op *op, struct tk_task *t, int who)
{
	(void)e;
	if (who == 1)
		return tk_poll(t, &op->future);
	int rc = ak_notified_enable(&op->notified);
	CS_ASSERT(rc == 0 || rc == 1, "enable returned %d", rc);
	return rc == 1 ? tk_poll(t, &op->future) : AK_PENDING;
}

static void notify_one(struct cs_env *e)
{
	CS_RC(0, ak_notify_one(NOTIFY(e)->n));
}

static void notify_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0, "notified returned %d", rc);
}

static void notify_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_notified_op op;
	memset(&op, 0, sizeof op);
	if (cs_rand(rng) % 3 == 0) {
		int rc = ak_notify_one(NOTIFY(e)->n);
		if (rc)
			cs_traffic_bad(e, "notify_one", rc);
		return;
	}
	int rc = ak_notified_blocking(&op, NOTIFY(e)->n, cs_soon(rng));
	if (rc != 0 && rc != AK_ETIMEDOUT)
		cs_traffic_bad(e, "notified", rc);
}

/* At most one permit is stored; alone, none (every notification sent was
 * consumed, a cancelled one passed on). */
static void notify_check(struct cs_env *e)
{
	struct ak_notified_op op;
	struct tk_task *t = e->aux[0];
	memset(&op, 0, sizeof op);
	CS_RC(0, ak_notified_init(&op, NOTIFY(e)->n));
	int rc = tk_poll(t, &op.future);
	CS_ASSERT(rc == AK_PENDING || (e->traffic && rc == 0), "a permit was left: %d", rc);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	CS_RC(0, ak_notified_init(&op, NOTIFY(e)->n));
	CS_RC(AK_PENDING, tk_poll(t, &op.future));
	ak_future_cancel(&op.future);
}

static void notify_teardown(struct cs_env *e)
{
	CS_RC(0, ak_notify_free(NOTIFY(e)->n));
}

/* ---- barrier --------------------------------------------------------------- */

#define BAR_HELPERS 9           /* aux[0..8]; aux[9..11] check the next generation */

struct barrier_st {
	struct ak_barrier *b;
	struct ak_barrier_wait_op h[BAR_HELPERS];
	int hrc[BAR_HELPERS];
	int nh;
	int leader[2];
};

#define BARRIER(e) ((struct barrier_st *)(e)->st)

static void barrier_setup(struct cs_env *e)
{
	ck_assert_int_eq(ak_barrier_new(&BARRIER(e)->b, (size_t)e->c->arg), 0);
}

static void barrier_init(struct cs_env *e, union cs_op *op, int who)
{
	CS_RC(0, ak_barrier_wait_init(&op->barrier, BARRIER(e)->b, &BARRIER(e)->leader[who]));
}

/* One more party arrives (a helper, in its own task). */
static void barrier_arrive(struct cs_env *e)
{
	struct barrier_st *s = BARRIER(e);
	if (s->nh == BAR_HELPERS)
		return;
	int i = s->nh++;
	CS_RC(0, ak_barrier_wait_init(&s->h[i], s->b, NULL));
	s->hrc[i] = tk_poll(e->aux[i], &s->h[i].future);
	CS_ASSERT(s->hrc[i] == 0 || s->hrc[i] == AK_PENDING, "a helper's wait: %d", s->hrc[i]);
}

static void barrier_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0, "wait returned %d", rc);
}

static void barrier_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_barrier_wait_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_barrier_wait_blocking(&op, BARRIER(e)->b, NULL, cs_soon(rng));
	if (rc != 0 && rc != AK_ETIMEDOUT)
		cs_traffic_bad(e, "barrier wait", rc);
}

/* The helpers all released (adding parties as needed), then a fresh
 * generation: n - 1 arrivals wait, the n-th releases them, one leader. */
static void barrier_check(struct cs_env *e)
{
	struct barrier_st *s = BARRIER(e);
	int64_t end = ak_deadline_in(5000000000LL);
	for (;;) {
		int pending = 0, progressed = 0;
		for (int i = 0; i < s->nh; i++) {
			if (s->hrc[i] != AK_PENDING)
				continue;
			if (tk_task_take_woken(e->aux[i])) {
				s->hrc[i] = tk_poll(e->aux[i], &s->h[i].future);
				progressed = 1;
			}
			pending += s->hrc[i] == AK_PENDING;
		}
		if (!pending)
			break;
		CS_ASSERT(ak_now() < end, "%d helpers never released", pending);
		if (!progressed) {
			CS_ASSERT(s->nh < BAR_HELPERS, "%d helpers wait, no party left", pending);
			tk_sleep_ns(200000);
			barrier_arrive(e);
		}
	}
	struct ak_barrier_wait_op g[3];
	int leader[3] = { -1, -1, -1 }, n = (int)e->c->arg;
	for (int i = 0; i < n; i++) {
		struct tk_task *t = e->aux[BAR_HELPERS + i];
		tk_task_take_woken(t);
		memset(&g[i], 0, sizeof g[i]);
		CS_RC(0, ak_barrier_wait_init(&g[i], s->b, &leader[i]));
		CS_RC(i < n - 1 ? AK_PENDING : 0, tk_poll(t, &g[i].future));
	}
	for (int i = 0; i < n - 1; i++)
		CS_RC(0, tk_poll_woken(e->aux[BAR_HELPERS + i], &g[i].future));
	CS_ASSERT(leader[0] + leader[1] + leader[2] == 1, "leaders %d %d %d", leader[0],
	          leader[1], leader[2]);
}

static void barrier_teardown(struct cs_env *e)
{
	CS_RC(0, ak_barrier_free(BARRIER(e)->b));
}

/* ---- once cell ------------------------------------------------------------- */

/* A blocker holds the right to initialise (its initializer never
 * finishes); the grant cancels it, which passes the right on. */
struct once_st {
	struct ak_once_cell *cell;
	struct ak_once_cell_op blocker;
	struct tk_flag_future binit;
	long bval, val[2], tval;
	const void *out[2];
	int blocking;
	int done;               /* someone's get_or_init completed */
	atomic_int t_done;
};

#define ONCE(e) ((struct once_st *)(e)->st)

static void once_setup(struct cs_env *e)
{
	struct once_st *s = ONCE(e);
	ck_assert_int_eq(ak_once_cell_new(&s->cell, sizeof(long), NULL, NULL), 0);
	tk_flag_init(&s->binit, 0);
	s->bval = 9;
	s->val[0] = 1;
	s->val[1] = 2;
	s->tval = 3;
	CS_RC(0, ak_once_cell_get_or_init_init(&s->blocker, s->cell, &s->binit.future, &s->bval,
	                                       NULL));
	CS_RC(AK_PENDING, tk_poll(e->aux[0], &s->blocker.future));
	s->blocking = 1;
}

static void once_init(struct cs_env *e, union cs_op *op, int who)
{
	struct once_st *s = ONCE(e);
	CS_RC(0, ak_once_cell_get_or_init_init(&op->once, s->cell, NULL, &s->val[who],
	                                       &s->out[who]));
}

static void once_unblock(struct cs_env *e)
{
	struct once_st *s = ONCE(e);
	if (!s->blocking)
		return;
	ak_future_cancel(&s->blocker.future);
	CS_ASSERT(atomic_load(&s->binit.cancels) == 1, "the initializer was not cancelled");
	s->blocking = 0;
}

static void once_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct once_st *s = ONCE(e);
	(void)op;
	CS_ASSERT(rc == 0, "get_or_init returned %d", rc);
	long v = *(const long *)s->out[who];
	CS_ASSERT(v >= 1 && v <= 3, "the cell holds %ld", v);
	s->done = 1;
}

static void once_traffic(struct cs_env *e, unsigned *rng)
{
	struct once_st *s = ONCE(e);
	struct ak_once_cell_op op;
	const void *out = NULL;
	memset(&op, 0, sizeof op);
	int rc = ak_once_cell_get_or_init_blocking(&op, s->cell, NULL, &s->tval, &out,
	                                           cs_soon(rng));
	if (rc == 0)
		atomic_store(&s->t_done, 1);
	else if (rc != AK_ETIMEDOUT)
		cs_traffic_bad(e, "get_or_init", rc);
}

static void once_check(struct cs_env *e)
{
	struct once_st *s = ONCE(e);
	int done = s->done || atomic_load(&s->t_done);
	CS_ASSERT(ak_once_cell_initialized(s->cell) == done, "initialized %d, completed %d",
	          ak_once_cell_initialized(s->cell), done);
	once_unblock(e);
	CS_ASSERT(ak_once_cell_initialized(s->cell) == done, "a cancelled initializer set it");
}

static void once_teardown(struct cs_env *e)
{
	CS_RC(0, ak_once_cell_free(ONCE(e)->cell));
}

/* ---- set-once -------------------------------------------------------------- */

struct set_once_st {
	struct ak_set_once *so;
	const void *out[2];
	atomic_int set;
};

#define SO(e) ((struct set_once_st *)(e)->st)

static void so_setup(struct cs_env *e)
{
	ck_assert_int_eq(ak_set_once_new(&SO(e)->so, sizeof(long), NULL, NULL), 0);
}

static void so_init(struct cs_env *e, union cs_op *op, int who)
{
	CS_RC(0, ak_set_once_wait_init(&op->set_once, SO(e)->so, &SO(e)->out[who]));
}

static void so_set(struct cs_env *e, long v)
{
	int rc = ak_set_once_set(SO(e)->so, &v);
	if (rc == 0)
		atomic_store(&SO(e)->set, 1);
	else if (rc != AK_EEXIST)
		cs_traffic_bad(e, "set", rc);
}

static void so_grant(struct cs_env *e)
{
	so_set(e, 7);
}

static void so_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)op;
	CS_ASSERT(rc == 0, "wait returned %d", rc);
	long v = *(const long *)SO(e)->out[who];
	CS_ASSERT(v == 7 || v == 8, "waited for %ld", v);
}

static void so_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_set_once_wait_op op;
	memset(&op, 0, sizeof op);
	if (cs_rand(rng) % 16 == 0) {
		so_set(e, 8);
		return;
	}
	int rc = ak_set_once_wait_blocking(&op, SO(e)->so, NULL, cs_soon(rng));
	if (rc != 0 && rc != AK_ETIMEDOUT)
		cs_traffic_bad(e, "set-once wait", rc);
}

static void so_check(struct cs_env *e)
{
	CS_ASSERT(ak_set_once_initialized(SO(e)->so) == atomic_load(&SO(e)->set), "initialized");
}

static void so_teardown(struct cs_env *e)
{
	CS_RC(0, ak_set_once_free(SO(e)->so));
}

/* ---- the table ------------------------------------------------------------- */

#define ROW(nm, fl, pts, a, type, pre, grant_, unblock_) \
	{ .name = nm, .flags = fl, .points = pts, .arg = a, .size = sizeof(struct type), \
	  .setup = pre##_setup, .init = pre##_init, .grant = grant_, .unblock = unblock_, \
	  .settle = pre##_settle, .traffic = pre##_traffic, .check = pre##_check, \
	  .teardown = pre##_teardown }

const struct cs_case cs_sync_cases[] = {
	ROW("semaphore_acquire", CS_PASSES_ON, CS_ALL_POINTS, 1, sem_st, sem, sem_grant,
	    sem_unblock),
	ROW("semaphore_acquire_many", CS_PASSES_ON | CS_GRANT_PARTIAL, CS_ALL_POINTS, 3, sem_st,
	    sem, sem_grant, sem_unblock),
	ROW("mutex_lock", CS_PASSES_ON, CS_ALL_POINTS, 0, mutex_st, mutex, mutex_unblock,
	    mutex_unblock),
	ROW("mutex_lock_barging", CS_PASSES_ON, CS_ALL_POINTS, AK_MUTEX_BARGING, mutex_st, mutex,
	    mutex_unblock, mutex_unblock),
	ROW("rwlock_read", CS_PASSES_ON, CS_ALL_POINTS, 0, rw_st, rw, rw_unblock, rw_unblock),
	ROW("rwlock_write", CS_PASSES_ON, CS_ALL_POINTS, 1, rw_st, rw, rw_unblock, rw_unblock),
	ROW("rwlock_read_behind_writer", CS_PASSES_ON, CS_POINT(CS_QUEUED), 2, rw_st, rw,
	    rw_unblock, rw_unblock),
	ROW("notify_notified", CS_PASSES_ON, CS_ALL_POINTS, 0, notify_st, notify, notify_one,
	    notify_one),
	{ .name = "notify_notified_enable", .flags = CS_PASSES_ON | CS_GRANT_SILENT,
	  .points = CS_ALL_POINTS, .size = sizeof(struct notify_st), .setup = notify_setup,
	  .init = notify_init, .first = notify_enable_first, .grant = notify_one,
	  .unblock = notify_one, .settle = notify_settle, .traffic = notify_traffic,
	  .check = notify_check, .teardown = notify_teardown },
	ROW("barrier_wait", 0, CS_ALL_POINTS, 3, barrier_st, barrier, barrier_arrive,
	    barrier_arrive),
	ROW("once_cell_get_or_init", CS_PASSES_ON, CS_ALL_POINTS, 0, once_st, once, once_unblock,
	    once_unblock),
	ROW("set_once_wait", 0, CS_ALL_POINTS, 0, set_once_st, so, so_grant, so_grant),
};

const size_t cs_sync_count = sizeof cs_sync_cases / sizeof cs_sync_cases[0];
