/*
 * stress/stress_sem.c: the batch semaphore core (core/sem.h) under the
 * executors, with cancellation injected.
 *
 * One semaphore of K permits (K from the seed, 1..8).  Every operation
 * acquires n of them (1..K), holds them across 0..2 yields, and releases
 * them.  They run:
 *
 *   - on -t plain threads (default 4) under ak_block_on: some with a short
 *     deadline (block_on cancels the operation when it passes, possibly
 *     while it holds its permits: the cleanup returns them), some as a
 *     try_acquire;
 *   - as tasks on two single-thread executors, each driven by its own
 *     thread in rounds: spawn 1..32 tasks, ak_executor_run_until() on a
 *     future that completes when the round's tasks have all finished,
 *     sometimes with a short deadline after which the unfinished tasks
 *     are cancelled with ak_task_cancel();
 *   - as tasks on a pool of two workers, driven in rounds the same way by
 *     a thread of its own: spawn 1..32 tasks, ak_pool_wait_idle(), with a
 *     short deadline a quarter of the time, after which the unfinished
 *     tasks are cancelled from the driving thread while workers may be
 *     polling them.
 *
 * About a third of the operations cancel their own acquire after one or two
 * pending polls, as a select or a timeout would (sometimes waking
 * themselves first, so the cancel comes while they are still queued,
 * sometimes only when woken, so it comes after a grant that must be passed
 * on).  The grants made by threads to tasks and by tasks to threads are
 * wakes across executors.
 *
 * Some operations (15%) are "kicks" instead: they post a clone of their
 * waker to a mailbox, wake themselves, and on the next poll only look at
 * their own flag; a kicker thread takes the clone, sets the flag and wakes
 * it.  So a foreign thread wakes a task whose latest poll it never
 * synchronised with except through the waker itself: the executor's own
 * state word must order the run queue (no lock of the primitive does it
 * for them, as the semaphore's lock does for acquires).
 *
 * Checked: never more than K permits held (on every grant); every operation
 * finished exactly once, and its result (block_on's, the task's) agrees
 * with how it finished; after every round the executor or pool has no task
 * left; every grant released exactly once (count and checksum); at the end
 * all K permits are back, nobody waits, the semaphore destroys cleanly, and
 * ak_debug_counters() is back to its baseline (waker clones, parked
 * operations, live objects).  The harness's watchdog dumps every driver's
 * unfinished operations (stage, polls, waiter state) if one stalls.
 *
 * ak-stress(1) runs it as its scenario sem-core (-t and -p are one option).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <awaitkit.h>
#include <awaitkit/pool.h>

#include "harness.h"
#include "scenarios.h"
#include "sem.h"

#define EXECUTORS 2
#define POOL_WORKERS 2
#define DRIVERS_EXTRA (EXECUTORS + 1)   /* the executors' threads, the pool's */
#define ROUND_MAX 32

enum outcome {
	OUT_NONE,
	OUT_DONE,        /* acquired, held, released: poll returned 0 */
	OUT_GAVE_UP,     /* cancelled its own acquire: poll returned AK_ECANCELED */
	OUT_CANCELLED,   /* cancelled from outside (deadline, ak_task_cancel) */
	OUT_KINDS
};

static const char *const outcome_name[OUT_KINDS] = { "none", "done", "gave-up", "cancelled" };

/* Per driving thread; merged after the join. */
struct stats {
	uint64_t started;
	uint64_t finished[OUT_KINDS];
	uint64_t cancelled_holding;        /* cancelled while holding: cleanup released */
	uint64_t try_ok, try_again;
	uint64_t permits_in, permits_out;
	struct stress_sum grants, releases;
	uint64_t timeouts, task_cancels, rounds;
	uint64_t kicks;                    /* kick ops among started */
};

/* What the dump shows of each driving thread: its current ops (the
 * watchdog reads these, and the ops' dbg_* fields, with atomic loads only). */
struct op;
struct cursor {
	_Atomic(struct op *) ops;
	atomic_int nops;
};

struct round {
	int left;                       /* ops of the round not yet finished */
	struct ak_waker done_waker;     /* the completion future's waker */
};

struct op {
	struct ak_future future;
	int kind;                       /* KIND_* */
	struct ak__sem_acquire acq;
	struct ak_yield_op yield;
	int stage;                      /* ST_* */
	int yielding;
	uint64_t n;
	uint64_t id;
	int give_up_after;              /* pending polls before giving up; 0: never */
	int self_wake;                  /* wake itself while it plans to give up */
	int hold_yields;
	int pending_polls;
	atomic_int outcome;
	atomic_int dbg_stage;           /* stage, for the dump */
	atomic_int dbg_polls;           /* polls so far, for the dump */
	struct stats *st;
	struct round *round;
	/* kicks */
	int published;
	atomic_int kicked;              /* release: the kicker; acquire: the poll */
	struct ak_waker kick_waker;     /* mailbox_lock, while queued */
	struct op *kick_next;           /* mailbox_lock */
	int kick_queued;                /* mailbox_lock */
};

enum { ST_ACQUIRE, ST_HOLD, ST_FINISHED };
enum { KIND_SEM, KIND_KICK };

static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static struct op *mailbox_head, *mailbox_tail;
static atomic_int drivers_running;
static atomic_ullong kicks_delivered;

static struct ak__sem sem;
static uint64_t K;
static atomic_llong held;
static atomic_llong max_held;
static struct cursor cursors[1024 + DRIVERS_EXTRA];
static struct stats *all_stats[1024 + DRIVERS_EXTRA];
static int nstats;

/* ---- the operation ------------------------------------------------------- */

static void note_held(uint64_t n, uint64_t id, struct stats *st)
{
	long long now = atomic_fetch_add(&held, (long long)n) + (long long)n;
	long long m = atomic_load_explicit(&max_held, memory_order_relaxed);
	while (now > m && !atomic_compare_exchange_weak(&max_held, &m, now))
		;
	if (now > (long long)K)
		stress_fail("%lld permits held, more than K = %" PRIu64 " (op %" PRIx64 ")",
		            now, K, id);
	st->permits_in += n;
	stress_sum_add(&st->grants, id);
}

static void give_back(uint64_t n, uint64_t id, struct stats *st)
{
	atomic_fetch_sub(&held, (long long)n);
	/* Both releases: the one that loads first, and the add. */
	int rc = 0;
	if (id & 1)
		ak__sem_return(&sem, n);
	else
		rc = ak__sem_release(&sem, n);
	if (rc != 0)
		stress_fail("release of %" PRIu64 " returned %s (op %" PRIx64 ")",
		            n, ak_err_name(rc), id);
	st->permits_out += n;
	stress_sum_add(&st->releases, id);
}

static void finish(struct op *op, int outcome)
{
	int expected = OUT_NONE;
	if (!atomic_compare_exchange_strong(&op->outcome, &expected, outcome)) {
		stress_fail("op %" PRIx64 " finished twice: %s, then %s", op->id,
		            outcome_name[expected], outcome_name[outcome]);
		return;
	}
	op->stage = ST_FINISHED;
	op->st->finished[outcome]++;
	atomic_store_explicit(&op->dbg_stage, ST_FINISHED, memory_order_relaxed);
	if (op->round && --op->round->left == 0)
		ak_waker_wake_by_ref(&op->round->done_waker);
}

/* ---- kicks: woken by a foreign thread ------------------------------------ */

static int kick_poll(struct op *op, struct ak_context *cx)
{
	if (!op->published) {
		struct ak_waker w;
		if (ak_waker_clone(&cx->waker, &w) != 0) {
			stress_fail("cannot clone a waker (op %" PRIx64 ")", op->id);
			finish(op, OUT_DONE);
			return AK_ENOMEM;
		}
		pthread_mutex_lock(&mailbox_lock);
		op->kick_waker = w;
		op->kick_next = NULL;
		op->kick_queued = 1;
		if (mailbox_tail)
			mailbox_tail->kick_next = op;
		else
			mailbox_head = op;
		mailbox_tail = op;
		pthread_mutex_unlock(&mailbox_lock);
		op->published = 1;
		/* The next poll comes from this wake and touches nothing the
		 * kicker touches but the flag. */
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	/* acquire: pairs with the kicker's release store. */
	if (atomic_load_explicit(&op->kicked, memory_order_acquire)) {
		finish(op, OUT_DONE);
		return 0;
	}
	return AK_PENDING;
}

static void kick_cancel(struct op *op)
{
	struct ak_waker w = { NULL, NULL };

	pthread_mutex_lock(&mailbox_lock);
	if (op->kick_queued) {
		struct op **pp = &mailbox_head, *prev = NULL;
		while (*pp != op) {
			prev = *pp;
			pp = &(*pp)->kick_next;
		}
		*pp = op->kick_next;
		if (mailbox_tail == op)
			mailbox_tail = prev;
		op->kick_queued = 0;
		w = op->kick_waker;
	}
	pthread_mutex_unlock(&mailbox_lock);
	ak_waker_drop(&w);
	finish(op, OUT_CANCELLED);
}

static void kicker_worker(struct stress_thread *t)
{
	(void)t;
	for (;;) {
		struct ak_waker w = { NULL, NULL };
		pthread_mutex_lock(&mailbox_lock);
		struct op *op = mailbox_head;
		if (op) {
			mailbox_head = op->kick_next;
			if (!mailbox_head)
				mailbox_tail = NULL;
			op->kick_queued = 0;
			w = op->kick_waker;
			/* release: pairs with the acquire in kick_poll(). */
			atomic_store_explicit(&op->kicked, 1, memory_order_release);
		}
		pthread_mutex_unlock(&mailbox_lock);
		stress_progress(t);
		if (op) {
			ak_waker_wake(&w);      /* op may be gone: only the clone is used */
			atomic_fetch_add_explicit(&kicks_delivered, 1, memory_order_relaxed);
			continue;
		}
		if (atomic_load(&drivers_running) == 0)
			break;
		struct timespec ts = { 0, 20 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- the semaphore operation --------------------------------------------- */

static int op_poll(struct ak_future *f, struct ak_context *cx)
{
	struct op *op = (struct op *)f;
	int rc;

	atomic_fetch_add_explicit(&op->dbg_polls, 1, memory_order_relaxed);
	if (op->kind == KIND_KICK)
		return kick_poll(op, cx);
	if (op->stage == ST_ACQUIRE) {
		if (op->give_up_after && op->pending_polls >= op->give_up_after) {
			/* What a select or a timeout does to a losing branch;
			 * a grant made meanwhile must be passed on. */
			ak__sem_acquire_cancel(&op->acq);
			finish(op, OUT_GAVE_UP);
			return AK_ECANCELED;
		}
		rc = ak__sem_acquire_poll(&op->acq, cx);
		if (rc == AK_PENDING) {
			op->pending_polls++;
			if (op->give_up_after && op->self_wake)
				ak_waker_wake_by_ref(&cx->waker);
			return AK_PENDING;
		}
		if (rc != 0) {
			stress_fail("acquire of %" PRIu64 " returned %s (op %" PRIx64 ")",
			            op->n, ak_err_name(rc), op->id);
			finish(op, OUT_DONE);
			return rc;
		}
		note_held(op->n, op->id, op->st);
		op->stage = ST_HOLD;
		atomic_store_explicit(&op->dbg_stage, ST_HOLD, memory_order_relaxed);
	}
	/* Hold the permits across awaits. */
	while (op->hold_yields > 0) {
		if (!op->yielding) {
			ak_yield_init(&op->yield);
			op->yielding = 1;
		}
		rc = ak_future_poll(&op->yield.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		op->yielding = 0;
		op->hold_yields--;
	}
	give_back(op->n, op->id, op->st);
	finish(op, OUT_DONE);
	return 0;
}

/* Rust's drop: the cleanup block of a task that holds permits. */
static void op_cancel(struct ak_future *f)
{
	struct op *op = (struct op *)f;

	if (op->kind == KIND_KICK) {
		kick_cancel(op);
		return;
	}
	switch (op->stage) {
	case ST_ACQUIRE:
		ak__sem_acquire_cancel(&op->acq);
		finish(op, OUT_CANCELLED);
		break;
	case ST_HOLD:
		if (op->yielding)
			ak_future_cancel(&op->yield.future);
		give_back(op->n, op->id, op->st);
		op->st->cancelled_holding++;
		finish(op, OUT_CANCELLED);
		break;
	default:
		stress_fail("op %" PRIx64 " cancelled after it finished", op->id);
	}
}

static const struct ak_future_vtable op_vtable = { op_poll, op_cancel };

static uint64_t pick_n(struct stress_rng *r)
{
	return stress_chance(r, 50) ? 1 : 1 + stress_below(r, K);
}

static void op_init(struct op *op, struct stress_thread *t, struct stats *st,
                    struct round *round)
{
	struct stress_rng *r = &t->rng;

	memset(op, 0, sizeof(*op));
	op->n = pick_n(r);
	op->id = ((uint64_t)t->index << 48) | st->started;
	if (stress_chance(r, 15)) {
		op->kind = KIND_KICK;
		st->kicks++;
	} else if (stress_chance(r, 35)) {
		op->give_up_after = 1 + (int)stress_below(r, 2);
		op->self_wake = stress_chance(r, 50);
	}
	op->hold_yields = (int)stress_below(r, 3);
	op->st = st;
	op->round = round;
	atomic_init(&op->outcome, OUT_NONE);
	atomic_init(&op->kicked, 0);
	if (ak__sem_acquire_init(&op->acq, &sem, op->n) != 0)
		stress_fail("acquire_init(%" PRIu64 ") failed", op->n);
	ak_future_init(&op->future, &op_vtable);
	st->started++;
	atomic_init(&op->dbg_stage, ST_ACQUIRE);
	atomic_init(&op->dbg_polls, 0);
}

/* ---- plain threads under ak_block_on --------------------------------------- */

static void thread_worker_body(struct stress_thread *t);

static void thread_worker(struct stress_thread *t)
{
	thread_worker_body(t);
	atomic_fetch_sub(&drivers_running, 1);
}

static void thread_worker_body(struct stress_thread *t)
{
	struct stats *st = t->arg;
	struct cursor *cur = &cursors[t->index];
	struct op op;

	while (stress_continue(t)) {
		if (stress_chance(&t->rng, 15)) {
			uint64_t n = pick_n(&t->rng);
			uint64_t id = ((uint64_t)t->index << 48) | (1ull << 47) | st->try_ok;
			int rc = ak__sem_try_acquire(&sem, n);
			if (rc == 0) {
				st->try_ok++;
				note_held(n, id, st);
				give_back(n, id, st);
			} else if (rc == AK_EAGAIN) {
				st->try_again++;
			} else {
				stress_fail("try_acquire(%" PRIu64 ") returned %s", n, ak_err_name(rc));
			}
			continue;
		}
		op_init(&op, t, st, NULL);
		atomic_store(&cur->ops, &op);
		atomic_store(&cur->nops, 1);
		int64_t deadline = AK_DEADLINE_NEVER;
		if (stress_chance(&t->rng, 20))
			deadline = ak_deadline_in((int64_t)stress_below(&t->rng, 200 * 1000));
		int rc = ak_block_on(&op.future, deadline);
		int out = atomic_load(&op.outcome);
		int agree = (rc == 0 && out == OUT_DONE) ||
		            (rc == AK_ECANCELED && out == OUT_GAVE_UP) ||
		            (rc == AK_ETIMEDOUT && out == OUT_CANCELLED);
		if (rc == AK_ETIMEDOUT)
			st->timeouts++;
		if (!agree)
			stress_fail("ak_block_on returned %s but op %" PRIx64 " finished as %s",
			            ak_err_name(rc), op.id, outcome_name[out]);
		atomic_store(&cur->nops, 0);
	}
}

/* ---- tasks on single-thread executors, driven in rounds ------------------ */

struct done_future {
	struct ak_future future;
	struct round *round;
};

static int done_poll(struct ak_future *f, struct ak_context *cx)
{
	struct round *r = ((struct done_future *)f)->round;

	if (r->left == 0) {
		ak_waker_drop(&r->done_waker);
		return 0;
	}
	if (!ak_waker_will_wake(&r->done_waker, &cx->waker)) {
		ak_waker_drop(&r->done_waker);
		if (ak_waker_clone(&cx->waker, &r->done_waker) != 0)
			stress_fail("cannot clone the executor's waker");
	}
	return AK_PENDING;
}

static void done_cancel(struct ak_future *f)
{
	ak_waker_drop(&((struct done_future *)f)->round->done_waker);
}

static const struct ak_future_vtable done_vtable = { done_poll, done_cancel };

static void executor_worker_body(struct stress_thread *t);

static void executor_worker(struct stress_thread *t)
{
	executor_worker_body(t);
	atomic_fetch_sub(&drivers_running, 1);
}

static void executor_worker_body(struct stress_thread *t)
{
	struct stats *st = t->arg;
	struct cursor *cur = &cursors[t->index];
	struct ak_executor *ex;
	struct op *ops = calloc(ROUND_MAX, sizeof(*ops));
	struct ak_task *handles[ROUND_MAX];
	struct round round;
	struct done_future done;

	memset(&round, 0, sizeof(round));
	memset(&done, 0, sizeof(done));
	if (!ops || ak_executor_new(&ex) != 0) {
		stress_fail("cannot create an executor");
		free(ops);
		return;
	}
	while (stress_continue(t)) {
		int m = 1 + (int)stress_below(&t->rng, ROUND_MAX);
		round.left = m;
		for (int i = 0; i < m; i++) {
			op_init(&ops[i], t, st, &round);
			if (ak_executor_spawn(ex, &ops[i].future, &handles[i]) != 0) {
				stress_fail("spawn failed");
				return;
			}
		}
		atomic_store(&cur->ops, ops);
		atomic_store(&cur->nops, m);
		done.round = &round;
		ak_future_init(&done.future, &done_vtable);
		int64_t deadline = AK_DEADLINE_NEVER;
		if (stress_chance(&t->rng, 25))
			deadline = ak_deadline_in((int64_t)stress_below(&t->rng, 300 * 1000));
		int rc = ak_executor_run_until(ex, &done.future, deadline);
		if (rc == AK_ETIMEDOUT) {
			st->timeouts++;
			for (int i = 0; i < m; i++) {
				if (ak_task_result(handles[i]) == AK_PENDING)
					st->task_cancels++;
				int c = ak_task_cancel(handles[i]);
				if (c != 0)
					stress_fail("ak_task_cancel returned %s", ak_err_name(c));
			}
		} else if (rc != 0) {
			stress_fail("run_until returned %s", ak_err_name(rc));
		}
		for (int i = 0; i < m; i++) {
			int res = ak_task_result(handles[i]);
			int out = atomic_load(&ops[i].outcome);
			int agree = (res == 0 && out == OUT_DONE) ||
			            (res == AK_ECANCELED && (out == OUT_GAVE_UP || out == OUT_CANCELLED));
			if (!agree)
				stress_fail("task result %s but op %" PRIx64 " finished as %s",
				            ak_err_name(res), ops[i].id, outcome_name[out]);
			ak_task_release(handles[i]);
		}
		if (round.left != 0)
			stress_fail("a round ended with %d ops unfinished", round.left);
		if (ak_executor_task_count(ex) != 0)
			stress_fail("the executor still has %zu tasks", ak_executor_task_count(ex));
		atomic_store(&cur->nops, 0);
		st->rounds++;
	}
	int rc = ak_executor_free(ex);
	if (rc != 0)
		stress_fail("ak_executor_free returned %s", ak_err_name(rc));
	free(ops);
}

static void stats_merge(struct stats *into, const struct stats *st)
{
	into->started += st->started;
	for (int k = 0; k < OUT_KINDS; k++)
		into->finished[k] += st->finished[k];
	into->cancelled_holding += st->cancelled_holding;
	into->try_ok += st->try_ok;
	into->try_again += st->try_again;
	into->permits_in += st->permits_in;
	into->permits_out += st->permits_out;
	into->timeouts += st->timeouts;
	into->task_cancels += st->task_cancels;
	into->rounds += st->rounds;
	into->kicks += st->kicks;
	stress_sum_merge(&into->grants, &st->grants);
	stress_sum_merge(&into->releases, &st->releases);
}

/* ---- tasks on the pool, driven in rounds ----------------------------------- */

static void pool_worker_body(struct stress_thread *t);

static void pool_worker(struct stress_thread *t)
{
	pool_worker_body(t);
	atomic_fetch_sub(&drivers_running, 1);
}

static void pool_worker_body(struct stress_thread *t)
{
	struct stats *st = t->arg;
	struct cursor *cur = &cursors[t->index];
	struct ak_pool *pool;
	struct ak_task *handles[ROUND_MAX];
	/* Pool tasks are polled on the workers: each op keeps its own tallies,
	 * merged here once the round is over. */
	struct op *ops = calloc(ROUND_MAX, sizeof(*ops));
	struct stats *op_stats = calloc(ROUND_MAX, sizeof(*op_stats));

	if (!ops || !op_stats || ak_pool_new(&pool, POOL_WORKERS) != 0) {
		stress_fail("cannot create a pool");
		free(ops);
		free(op_stats);
		return;
	}
	while (stress_continue(t)) {
		int m = 1 + (int)stress_below(&t->rng, ROUND_MAX);
		for (int i = 0; i < m; i++) {
			op_init(&ops[i], t, st, NULL);
			memset(&op_stats[i], 0, sizeof(op_stats[i]));
			ops[i].st = &op_stats[i];
			if (ak_pool_spawn(pool, &ops[i].future, &handles[i]) != 0) {
				stress_fail("pool spawn failed");
				return;
			}
		}
		atomic_store(&cur->ops, ops);
		atomic_store(&cur->nops, m);
		int64_t deadline = AK_DEADLINE_NEVER;
		if (stress_chance(&t->rng, 25))
			deadline = ak_deadline_in((int64_t)stress_below(&t->rng, 300 * 1000));
		int rc = ak_pool_wait_idle(pool, deadline);
		if (rc == AK_ETIMEDOUT) {
			st->timeouts++;
			for (int i = 0; i < m; i++) {
				if (ak_task_result(handles[i]) == AK_PENDING)
					st->task_cancels++;
				int c = ak_task_cancel(handles[i]);
				if (c != 0)
					stress_fail("ak_task_cancel (pool) returned %s", ak_err_name(c));
			}
			/* A task a worker was polling finishes when its poll ends. */
			rc = ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
		}
		if (rc != 0)
			stress_fail("ak_pool_wait_idle returned %s", ak_err_name(rc));
		for (int i = 0; i < m; i++) {
			int res = ak_task_result(handles[i]);
			int out = atomic_load(&ops[i].outcome);
			int agree = (res == 0 && out == OUT_DONE) ||
			            (res == AK_ECANCELED && (out == OUT_GAVE_UP || out == OUT_CANCELLED));
			if (!agree)
				stress_fail("pool task result %s but op %" PRIx64 " finished as %s",
				            ak_err_name(res), ops[i].id, outcome_name[out]);
			ak_task_release(handles[i]);
			stats_merge(st, &op_stats[i]);
		}
		if (ak_pool_task_count(pool) != 0)
			stress_fail("the pool still has %zu tasks", ak_pool_task_count(pool));
		atomic_store(&cur->nops, 0);
		st->rounds++;
	}
	int rc = ak_pool_free(pool);
	if (rc != 0)
		stress_fail("ak_pool_free returned %s", ak_err_name(rc));
	free(ops);
	free(op_stats);
}

/* ---- the dump ---------------------------------------------------------------- */

static void dump(FILE *out, void *arg)
{
	static const char *const stage_name[] = { "acquire", "hold", "finished" };
	static const char *const waiter_name[] = { "idle", "queued", "granted" };
	(void)arg;

	fprintf(out, "semaphore: K %" PRIu64 ", available %" PRIu64 ", held %lld, max held %lld\n",
	        K, ak__sem_available(&sem), atomic_load(&held), atomic_load(&max_held));
	fprintf(out, "kicks delivered %llu\n", (unsigned long long)atomic_load(&kicks_delivered));
	for (int i = 0; i < nstats; i++) {
		struct op *ops = atomic_load(&cursors[i].ops);
		int n = atomic_load(&cursors[i].nops);
		int unfinished = 0;
		for (int k = 0; ops && k < n; k++)
			unfinished += atomic_load(&ops[k].outcome) == OUT_NONE;
		fprintf(out, "driver %d: %d ops in hand, %d unfinished\n", i, n, unfinished);
		for (int k = 0; ops && k < n; k++) {
			struct op *op = &ops[k];
			if (atomic_load(&op->outcome) != OUT_NONE)
				continue;
			int st = atomic_load(&op->dbg_stage);
			uint32_t ws = ak__load(&op->acq.w.state, AK__RELAXED);
			if (op->kind == KIND_KICK)
				fprintf(out, "  op %d: kick, %d polls, kicked %d\n", k,
				        atomic_load(&op->dbg_polls), atomic_load(&op->kicked));
			else
				fprintf(out, "  op %d: %s %" PRIu64 ", %d polls, waiter %s\n", k,
				        st >= 0 && st <= ST_FINISHED ? stage_name[st] : "?", op->n,
				        atomic_load(&op->dbg_polls), ws <= 2 ? waiter_name[ws] : "?");
		}
	}
}

/* ---- main -------------------------------------------------------------------- */

int sc_sem_core(void)
{
	stress_start("sem-core", 4);
	const struct stress_opts *o = stress_opts();
	struct stress_rng *r = stress_main_rng();
	K = 1 + stress_below(r, 8);
	printf("sem-core: K = %" PRIu64 " permits, %d threads under ak_block_on, "
	       "%d single-thread executors, a pool of %d workers\n", K, o->threads,
	       EXECUTORS, POOL_WORKERS);
	fflush(stdout);

	stress_check(ak__sem_init(&sem, K) == 0, "semaphore of %" PRIu64 " permits", K);
	stress_on_dump(dump, NULL);

	atomic_store(&drivers_running, o->threads + DRIVERS_EXTRA);
	for (int i = 0; i < o->threads + DRIVERS_EXTRA; i++) {
		struct stats *st = calloc(1, sizeof(*st));
		if (!st)
			return 2;
		all_stats[nstats++] = st;
		char name[24];
		if (i < o->threads) {
			snprintf(name, sizeof(name), "block_on-%d", i);
			stress_spawn(name, thread_worker, st);
		} else if (i < o->threads + EXECUTORS) {
			snprintf(name, sizeof(name), "executor-%d", i - o->threads);
			stress_spawn(name, executor_worker, st);
		} else {
			stress_spawn("pool-driver", pool_worker, st);
		}
	}
	stress_spawn("kicker", kicker_worker, NULL);
	stress_join();

	struct stats total;
	memset(&total, 0, sizeof(total));
	for (int i = 0; i < nstats; i++) {
		stats_merge(&total, all_stats[i]);
		free(all_stats[i]);
	}
	printf("sem-core: %" PRIu64 " ops: %" PRIu64 " done, %" PRIu64 " gave up, %" PRIu64
	       " cancelled (%" PRIu64 " holding permits); %" PRIu64 " deadlines passed, %" PRIu64
	       " tasks cancelled, %" PRIu64 " rounds; try_acquire %" PRIu64 " ok, %" PRIu64
	       " refused; %" PRIu64 " kicks, %llu delivered\n",
	       total.started, total.finished[OUT_DONE], total.finished[OUT_GAVE_UP],
	       total.finished[OUT_CANCELLED], total.cancelled_holding, total.timeouts,
	       total.task_cancels, total.rounds, total.try_ok, total.try_again,
	       total.kicks, (unsigned long long)atomic_load(&kicks_delivered));

	uint64_t finished = 0;
	for (int k = OUT_DONE; k < OUT_KINDS; k++)
		finished += total.finished[k];
	stress_check(finished == total.started && total.finished[OUT_NONE] == 0,
	             "every op finished exactly once (%" PRIu64 " started, %" PRIu64 " finished)",
	             total.started, finished);
	stress_check(total.finished[OUT_DONE] > 0, "ops completed (%" PRIu64 ")",
	             total.finished[OUT_DONE]);
	stress_check(atomic_load(&max_held) <= (long long)K,
	             "never more than K permits held (max %lld of %" PRIu64 ")",
	             atomic_load(&max_held), K);
	stress_check(total.permits_in == total.permits_out &&
	             stress_sum_equal(&total.grants, &total.releases),
	             "every grant released exactly once (%" PRIu64 " permits in, %" PRIu64 " out)",
	             total.permits_in, total.permits_out);
	stress_check(atomic_load(&held) == 0, "nothing held at the end (%lld)", atomic_load(&held));
	stress_check(ak__sem_available(&sem) == K, "all K permits back (%" PRIu64 " of %" PRIu64 ")",
	             ak__sem_available(&sem), K);
	stress_check(ak__sem_waiting(&sem) == 0, "nobody waits at the end (%zu)",
	             ak__sem_waiting(&sem));
	stress_check(ak__sem_destroy(&sem) == 0, "the semaphore destroys cleanly");
	return stress_finish();
}
