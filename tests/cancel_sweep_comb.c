/*
 * The cancellation sweep's combinator, timer and task rows
 * (tests/cancel_sweep.h): a select of an acquire and a notified, a join
 * and a try_join of two acquires (cancelled with one branch done: that
 * branch keeps its permit), a timeout around an acquire (a far deadline,
 * and a near one that races the grant), sleeps, and a task's join.  The
 * witness is a plain acquire queued behind the victim's branch, which a
 * cancelled grant must reach.
 */
#include <stdlib.h>
#include <string.h>

#include "cancel_sweep.h"

/* ---- select, join, try_join, timeout ---------------------------------------- */

enum { COMB_SELECT, COMB_JOIN, COMB_TRY_JOIN, COMB_TIMEOUT, COMB_TIMEOUT_NEAR };

struct comb_st {
	struct ak_semaphore *sem[2];
	struct ak_semaphore_acquire_op held[2];
	int holding[2];
	struct ak_notify *n;
	struct ak_semaphore_acquire_op acq[2];      /* the victim's branches */
	struct ak_notified_op notified;
	struct ak_branch br[2];
};

#define COMB(e) ((struct comb_st *)(e)->st)

static void comb_setup(struct cs_env *e)
{
	struct comb_st *s = COMB(e);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(ak_semaphore_new(&s->sem[i], 1), 0);
		CS_RC(0, ak_semaphore_try_acquire(&s->held[i], s->sem[i], 1));
		s->holding[i] = 1;
	}
	ck_assert_int_eq(ak_notify_new(&s->n), 0);
}

static void comb_init(struct cs_env *e, union cs_op *op, int who)
{
	struct comb_st *s = COMB(e);
	if (who == 1) {         /* the witness: behind the victim's first branch */
		CS_RC(0, ak_semaphore_acquire_init(&op->acquire, s->sem[0], 1));
		return;
	}
	memset(s->acq, 0, sizeof s->acq);
	memset(&s->notified, 0, sizeof s->notified);
	memset(s->br, 0, sizeof s->br);
	CS_RC(0, ak_semaphore_acquire_init(&s->acq[0], s->sem[0], 1));
	s->br[0].future = &s->acq[0].future;
	if (e->c->arg == COMB_JOIN || e->c->arg == COMB_TRY_JOIN) {
		CS_RC(0, ak_semaphore_acquire_init(&s->acq[1], s->sem[1], 1));
		s->br[1].future = &s->acq[1].future;
	}
	switch (e->c->arg) {
	case COMB_SELECT:
		CS_RC(0, ak_notified_init(&s->notified, s->n));
		s->br[1].future = &s->notified.future;
		CS_RC(0, ak_select_init(&op->select, s->br, 2, 0));
		break;
	case COMB_JOIN:
		CS_RC(0, ak_join_init(&op->join, s->br, 2, 0));
		break;
	case COMB_TRY_JOIN:
		CS_RC(0, ak_try_join_init(&op->try_join, s->br, 2, 0));
		break;
	default:
		CS_RC(0, ak_timeout_init(&op->timeout, &s->acq[0].future,
		                         ak_deadline_in(e->c->arg == COMB_TIMEOUT ? 3600000000000LL
		                                                                  : 100000)));
		break;
	}
}

static void comb_release(struct cs_env *e, int i)
{
	struct comb_st *s = COMB(e);
	if (s->holding[i])
		CS_RC(0, ak_semaphore_release(&s->held[i]));
	s->holding[i] = 0;
}

static void comb_grant(struct cs_env *e)
{
	comb_release(e, 0);
}

static void comb_unblock(struct cs_env *e)
{
	comb_release(e, 0);
	comb_release(e, 1);
}

/* What the victim's completed branches hold goes back. */
static void comb_give_back(struct cs_env *e)
{
	struct comb_st *s = COMB(e);
	for (int i = 0; i < 2; i++)
		if (ak_semaphore_permits(&s->acq[i]))
			CS_RC(0, ak_semaphore_release(&s->acq[i]));
}

static void comb_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	struct comb_st *s = COMB(e);
	if (who == 1) {
		CS_ASSERT(rc == 0, "the witness's acquire returned %d", rc);
		CS_RC(0, ak_semaphore_release(&op->acquire));
		return;
	}
	switch (e->c->arg) {
	case COMB_SELECT: {
		CS_ASSERT(rc == 0, "select returned %d", rc);
		int won = ak_select_index(&op->select);
		CS_ASSERT(s->br[won].status == 0 && s->br[!won].status == AK_ECANCELED,
		          "select statuses %d %d", s->br[0].status, s->br[1].status);
		break;
	}
	case COMB_JOIN:
	case COMB_TRY_JOIN:
		CS_ASSERT(rc == 0 && s->br[0].status == 0 && s->br[1].status == 0,
		          "join returned %d, statuses %d %d", rc, s->br[0].status, s->br[1].status);
		break;
	default:
		CS_ASSERT(rc == 0 || (e->c->arg == COMB_TIMEOUT_NEAR && rc == AK_ETIMEDOUT),
		          "timeout returned %d", rc);
		CS_ASSERT(rc != 0 || ak_semaphore_permits(&s->acq[0]) == 1, "no permit");
		break;
	}
	comb_give_back(e);
}

/* Cancelled: a pending branch gave its grant on; a completed one keeps it. */
static void comb_cancelled(struct cs_env *e, union cs_op *op, int who)
{
	struct comb_st *s = COMB(e);
	(void)op;
	(void)who;
	if (e->c->arg == COMB_JOIN || e->c->arg == COMB_TRY_JOIN)
		for (int i = 0; i < 2; i++)
			CS_ASSERT((s->br[i].status == 0) == (ak_semaphore_permits(&s->acq[i]) == 1),
			          "branch %d: status %d, %llu permits", i, s->br[i].status,
			          (unsigned long long)ak_semaphore_permits(&s->acq[i]));
	comb_give_back(e);
}

static void comb_traffic(struct cs_env *e, unsigned *rng)
{
	struct comb_st *s = COMB(e);
	struct ak_semaphore_acquire_op op;
	unsigned r = cs_rand(rng);
	if (r % 4 == 0) {
		int rc = ak_notify_one(s->n);
		if (rc)
			cs_traffic_bad(e, "notify_one", rc);
		return;
	}
	memset(&op, 0, sizeof op);
	int rc = ak_semaphore_acquire_blocking(&op, s->sem[r / 4 % 2], 1, cs_soon(rng));
	if (rc == 0)
		rc = ak_semaphore_release(&op);
	else if (rc == AK_ETIMEDOUT)
		rc = 0;
	if (rc)
		cs_traffic_bad(e, "acquire/release", rc);
}

static void comb_check(struct cs_env *e)
{
	struct comb_st *s = COMB(e);
	comb_unblock(e);
	for (int i = 0; i < 2; i++)
		CS_ASSERT(ak_semaphore_available_permits(s->sem[i]) == 1,
		          "semaphore %d: %llu permits", i,
		          (unsigned long long)ak_semaphore_available_permits(s->sem[i]));
}

static void comb_teardown(struct cs_env *e)
{
	struct comb_st *s = COMB(e);
	CS_RC(0, ak_semaphore_free(s->sem[0]));
	CS_RC(0, ak_semaphore_free(s->sem[1]));
	CS_RC(0, ak_notify_free(s->n));
}

#define COMB_ROW(nm, fl, kind) \
	{ .name = nm, .flags = fl, .points = CS_ALL_POINTS, .arg = kind, \
	  .size = sizeof(struct comb_st), .setup = comb_setup, .init = comb_init, \
	  .grant = comb_grant, .unblock = comb_unblock, .settle = comb_settle, \
	  .cancelled = comb_cancelled, .traffic = comb_traffic, .check = comb_check, \
	  .teardown = comb_teardown }

/* ---- sleep ------------------------------------------------------------------ */

static void sleep_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_sleep_for(&op->sleep, e->c->arg));
}

/* The near sleep's timer fires meanwhile, or nearly. */
static void sleep_grant(struct cs_env *e)
{
	(void)e;
	tk_sleep_ns(150000);
}

static void sleep_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0, "sleep returned %d", rc);
}

static void sleep_traffic(struct cs_env *e, unsigned *rng)
{
	struct ak_sleep_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_sleep_for(&op, (int64_t)(cs_rand(rng) % 200000));
	if (rc == 0)
		rc = ak_block_on(&op.future, cs_soon(rng));
	if (rc != 0 && rc != AK_ETIMEDOUT)
		cs_traffic_bad(e, "sleep", rc);
}

#define SLEEP_ROW(nm, fl, pts, ns) \
	{ .name = nm, .flags = CS_NO_WITNESS | (fl), .points = pts, .arg = ns, .size = 0, \
	  .setup = cs_nothing, .init = sleep_init, .grant = sleep_grant, \
	  .unblock = cs_nothing, .settle = sleep_settle, .traffic = sleep_traffic, \
	  .check = cs_nothing, .teardown = cs_nothing }

/* ---- task join -------------------------------------------------------------- */

struct task_st {
	struct ak_pool *pool;
	struct tk_flag_future body;
	struct ak_task *task;
};

#define TASK(e) ((struct task_st *)(e)->st)

static void task_setup(struct cs_env *e)
{
	struct task_st *s = TASK(e);
	ck_assert_int_eq(ak_pool_new(&s->pool, 1), 0);
	tk_flag_init(&s->body, 0);
	ck_assert_int_eq(ak_pool_spawn(s->pool, &s->body.future, &s->task), 0);
}

static void task_init(struct cs_env *e, union cs_op *op, int who)
{
	(void)who;
	CS_RC(0, ak_task_join_init(&op->task_join, TASK(e)->task));
}

/* The task finishes (on the pool's worker). */
static void task_grant(struct cs_env *e)
{
	tk_flag_set(&TASK(e)->body);
}

static void task_settle(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)op;
	(void)who;
	CS_ASSERT(rc == 0, "join returned %d", rc);
}

static void task_traffic(struct cs_env *e, unsigned *rng)
{
	if (cs_rand(rng) % 16 == 0)
		tk_flag_set(&TASK(e)->body);
	sched_yield();
}

/* A cancelled join gave the join slot back: a new one joins. */
static void task_check(struct cs_env *e)
{
	struct task_st *s = TASK(e);
	tk_flag_set(&s->body);
	CS_RC(0, ak_task_join_blocking(s->task, ak_deadline_in(5000000000LL)));
	CS_RC(0, ak_task_result(s->task));
}

static void task_teardown(struct cs_env *e)
{
	struct task_st *s = TASK(e);
	ak_task_release(s->task);
	CS_RC(0, ak_pool_free(s->pool));
}

/* ---- the table ------------------------------------------------------------- */

#define ONE_WAITER (CS_POINT(CS_FIRST_POLL) | CS_POINT(CS_GRANTED) | CS_POINT(CS_REPOLLED))

const struct cs_case cs_comb_cases[] = {
	COMB_ROW("select_branches", CS_PASSES_ON, COMB_SELECT),
	COMB_ROW("join_branches", CS_PASSES_ON, COMB_JOIN),
	COMB_ROW("try_join_branches", CS_PASSES_ON, COMB_TRY_JOIN),
	COMB_ROW("timeout", CS_PASSES_ON, COMB_TIMEOUT),
	COMB_ROW("timeout_near", CS_PASSES_ON | CS_NONDET, COMB_TIMEOUT_NEAR),
	SLEEP_ROW("sleep", 0, CS_POINT(CS_FIRST_POLL), 3600000000000LL),
	SLEEP_ROW("sleep_near", CS_NONDET, ONE_WAITER, 100000),
	{ .name = "task_join", .flags = CS_NO_WITNESS, .points = ONE_WAITER,
	  .size = sizeof(struct task_st), .setup = task_setup, .init = task_init,
	  .grant = task_grant, .unblock = cs_nothing, .settle = task_settle,
	  .traffic = task_traffic, .check = task_check, .teardown = task_teardown },
};

const size_t cs_comb_count = sizeof cs_comb_cases / sizeof cs_comb_cases[0];
