/*
 * stress/stress_locks.c: two Mutexes, one FIFO and one barging
 * (AK_MUTEX_BARGING), and one RwLock (max readers from the seed, 1..8 or
 * the maximum) under plain threads and a pool, with deadlines and task
 * cancellation injected; each mutex section picks one of the two.
 *
 *   - -t threads (default 4) under ak_block_on: blocking lock / read /
 *     write, a fifth of them with a deadline short enough to pass while
 *     queued; try_lock / try_read / try_write; writes that downgrade;
 *   - a pool of two workers, driven in rounds by a thread of its own:
 *     1..16 tasks (the await macros) each take the locks a few times,
 *     holding them across 0..2 yields; a quarter of the rounds get a short
 *     deadline after which the unfinished tasks are cancelled, and their
 *     cleanup blocks release what they hold.
 *
 * Checked on every entry: never two holders of a mutex; never two writers, never
 * a writer beside a reader, never more than max readers, and the two
 * halves of the write-protected pair equal under a read.  At the end: the
 * plain counters written under the locks equal the number of completed
 * critical sections (no lost update), nothing is held, both locks free
 * cleanly, and ak_debug_counters() is back to its baseline.
 *
 * ak-stress(1) runs it as its scenario locks-mixed (-t and -p are one option).
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

#define POOL_WORKERS 2
#define ROUND_MAX 16

static struct ak_mutex *M[2];      /* FIFO, barging */
static struct ak_rwlock *RW;
static uint32_t max_readers;

/* Who is inside, checked on every entry. */
static atomic_int in_mutex[2], writers_in, readers_in;
/* Written only under the locks: plain on purpose (TSan checks them). */
static uint64_t mutex_counter[2];
static uint64_t pair_a, pair_b;

struct stats {
	uint64_t mutex_sections[2], write_sections, read_sections;
	uint64_t timeouts, try_refused, downgrades, cancelled, rounds;
};

static struct stats *all_stats[1100];
static int nstats;
static atomic_ullong acquisitions;

static void mutex_enter(int which)
{
	if (atomic_fetch_add(&in_mutex[which], 1) != 0)
		stress_fail("two holders of the %s mutex", which ? "barging" : "FIFO");
	atomic_fetch_add_explicit(&acquisitions, 1, memory_order_relaxed);
}

static void mutex_leave(int which, struct stats *st, int completed)
{
	if (completed) {
		mutex_counter[which]++;
		st->mutex_sections[which]++;
	}
	atomic_fetch_sub(&in_mutex[which], 1);
}

static void write_enter(void)
{
	if (atomic_fetch_add(&writers_in, 1) != 0)
		stress_fail("two writers inside the rwlock");
	if (atomic_load(&readers_in) != 0)
		stress_fail("a writer beside %d readers", atomic_load(&readers_in));
	atomic_fetch_add_explicit(&acquisitions, 1, memory_order_relaxed);
}

static void write_leave(struct stats *st, int completed)
{
	if (completed) {
		pair_a++;
		pair_b++;
		st->write_sections++;
	}
	atomic_fetch_sub(&writers_in, 1);
}

static void read_enter(void)
{
	int r = atomic_fetch_add(&readers_in, 1) + 1;
	if ((uint32_t)r > max_readers)
		stress_fail("%d readers, max %" PRIu32, r, max_readers);
	if (atomic_load(&writers_in) != 0)
		stress_fail("a reader beside a writer");
	if (pair_a != pair_b)
		stress_fail("torn pair under a read: %" PRIu64 " != %" PRIu64, pair_a, pair_b);
	atomic_fetch_add_explicit(&acquisitions, 1, memory_order_relaxed);
}

static void read_leave(struct stats *st)
{
	st->read_sections++;
	atomic_fetch_sub(&readers_in, 1);
}

/* ---- threads ---------------------------------------------------------------- */

static int64_t maybe_deadline(struct stress_thread *t)
{
	return stress_chance(&t->rng, 20) ? ak_deadline_in((int64_t)stress_below(&t->rng, 50000))
	                                  : AK_DEADLINE_NEVER;
}

static void thread_worker(struct stress_thread *t)
{
	struct stats *st = t->arg;
	struct ak_mutex_lock_op mop;
	struct ak_rwlock_op rop;

	memset(&mop, 0, sizeof mop);
	memset(&rop, 0, sizeof rop);
	while (stress_continue(t)) {
		unsigned pick = (unsigned)stress_below(&t->rng, 100);
		int rc;
		if (pick < 45) {
			int which = (int)stress_below(&t->rng, 2);
			rc = pick < 38 ? ak_mutex_lock_blocking(&mop, M[which], maybe_deadline(t))
			               : ak_mutex_try_lock(&mop, M[which], NULL);
			if (rc == AK_ETIMEDOUT) {
				st->timeouts++;
				continue;
			}
			if (rc == AK_EAGAIN) {
				st->try_refused++;
				continue;
			}
			if (rc != 0) {
				stress_fail("mutex lock: %s", ak_err_name(rc));
				continue;
			}
			mutex_enter(which);
			if (stress_chance(&t->rng, 2))
				sched_yield();
			mutex_leave(which, st, 1);
			rc = ak_mutex_unlock(&mop);
		} else if (pick < 80) {
			rc = pick < 75 ? ak_rwlock_read_blocking(&rop, RW, maybe_deadline(t))
			               : ak_rwlock_try_read(&rop, RW, NULL);
			if (rc == AK_ETIMEDOUT || rc == AK_EAGAIN) {
				st->timeouts += rc == AK_ETIMEDOUT;
				st->try_refused += rc == AK_EAGAIN;
				continue;
			}
			if (rc != 0) {
				stress_fail("read lock: %s", ak_err_name(rc));
				continue;
			}
			read_enter();
			read_leave(st);
			rc = ak_rwlock_unlock(&rop);
		} else {
			rc = pick < 96 ? ak_rwlock_write_blocking(&rop, RW, maybe_deadline(t))
			               : ak_rwlock_try_write(&rop, RW, NULL);
			if (rc == AK_ETIMEDOUT || rc == AK_EAGAIN) {
				st->timeouts += rc == AK_ETIMEDOUT;
				st->try_refused += rc == AK_EAGAIN;
				continue;
			}
			if (rc != 0) {
				stress_fail("write lock: %s", ak_err_name(rc));
				continue;
			}
			write_enter();
			write_leave(st, 1);
			if (stress_chance(&t->rng, 30)) {
				/* Become a reader without letting a writer in. */
				atomic_fetch_add(&readers_in, 1);
				if (ak_rwlock_downgrade(&rop) != 0)
					stress_fail("downgrade refused");
				st->downgrades++;
				atomic_fetch_sub(&readers_in, 1);
				read_enter();
				read_leave(st);
			}
			rc = ak_rwlock_unlock(&rop);
		}
		if (rc != 0)
			stress_fail("unlock: %s", ak_err_name(rc));
	}
}

/* ---- pool tasks --------------------------------------------------------------- */

enum { HOLD_NONE, HOLD_MUTEX, HOLD_READ, HOLD_WRITE };

struct task {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex_lock_op mop;
	struct ak_rwlock_op rop;
	struct stress_rng rng;
	struct stats st;
	int iters, i, yields, y, kind, holding, which, rc;
};

static int task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct task *t = (struct task *)f;

	AK_BEGIN(&t->aw, cx);
	for (t->i = 0; t->i < t->iters; t->i++) {
		t->kind = 1 + (int)stress_below(&t->rng, 3);
		t->yields = (int)stress_below(&t->rng, 3);
		if (t->kind == HOLD_MUTEX) {
			t->which = (int)stress_below(&t->rng, 2);
			ak_mutex_lock_init(&t->mop, M[t->which]);
			AK_AWAIT(&t->aw, &t->mop.future, t->rc);
		} else {
			if (t->kind == HOLD_READ)
				ak_rwlock_read_init(&t->rop, RW);
			else
				ak_rwlock_write_init(&t->rop, RW);
			AK_AWAIT(&t->aw, &t->rop.future, t->rc);
		}
		if (t->rc != 0) {
			stress_fail("task lock: %s", ak_err_name(t->rc));
			AK_RETURN(&t->aw, t->rc);
		}
		t->holding = t->kind;
		if (t->kind == HOLD_MUTEX)
			mutex_enter(t->which);
		else if (t->kind == HOLD_READ)
			read_enter();
		else
			write_enter();
		for (t->y = 0; t->y < t->yields; t->y++)
			AK_YIELD(&t->aw);          /* held across awaits */
		t->holding = HOLD_NONE;
		if (t->kind == HOLD_MUTEX) {
			mutex_leave(t->which, &t->st, 1);
			ak_mutex_unlock(&t->mop);
		} else if (t->kind == HOLD_READ) {
			read_leave(&t->st);
			ak_rwlock_unlock(&t->rop);
		} else {
			write_leave(&t->st, 1);
			ak_rwlock_unlock(&t->rop);
		}
	}
	AK_CLEANUP(&t->aw);
	/* Dropped: release what is held; its section did not complete. */
	if (t->holding == HOLD_MUTEX) {
		mutex_leave(t->which, &t->st, 0);
		ak_mutex_unlock(&t->mop);
	} else if (t->holding == HOLD_READ) {
		atomic_fetch_sub(&readers_in, 1);
		ak_rwlock_unlock(&t->rop);
	} else if (t->holding == HOLD_WRITE) {
		write_leave(&t->st, 0);
		ak_rwlock_unlock(&t->rop);
	}
	t->holding = HOLD_NONE;
	t->st.cancelled++;
	AK_END(&t->aw);
}

static void task_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct task *)f)->aw, f);
}

static const struct ak_future_vtable task_vtable = { task_poll, task_cancel };

static void stats_merge(struct stats *into, const struct stats *s)
{
	into->mutex_sections[0] += s->mutex_sections[0];
	into->mutex_sections[1] += s->mutex_sections[1];
	into->write_sections += s->write_sections;
	into->read_sections += s->read_sections;
	into->timeouts += s->timeouts;
	into->try_refused += s->try_refused;
	into->downgrades += s->downgrades;
	into->cancelled += s->cancelled;
	into->rounds += s->rounds;
}

static void pool_worker(struct stress_thread *t)
{
	struct stats *st = t->arg;
	struct ak_pool *pool = NULL;
	struct task *tasks = calloc(ROUND_MAX, sizeof *tasks);
	struct ak_task *h[ROUND_MAX];

	if (!tasks || ak_pool_new(&pool, POOL_WORKERS) != 0) {
		stress_fail("cannot start the pool");
		free(tasks);
		return;
	}
	while (stress_continue(t)) {
		int n = 1 + (int)stress_below(&t->rng, ROUND_MAX);
		for (int i = 0; i < n; i++) {
			memset(&tasks[i], 0, sizeof tasks[i]);
			stress_rng_seed(&tasks[i].rng, stress_rand(&t->rng), (uint64_t)i);
			tasks[i].iters = 1 + (int)stress_below(&t->rng, 8);
			ak_future_init(&tasks[i].future, &task_vtable);
			if (ak_pool_spawn(pool, &tasks[i].future, &h[i]) != 0)
				stress_fail("spawn refused");
		}
		int64_t dl = stress_chance(&t->rng, 25)
		                     ? ak_deadline_in((int64_t)stress_below(&t->rng, 200000))
		                     : ak_deadline_in(20000000000LL);
		if (ak_pool_wait_idle(pool, dl) == AK_ETIMEDOUT)
			for (int i = 0; i < n; i++)
				ak_task_cancel(h[i]);
		if (ak_pool_wait_idle(pool, ak_deadline_in(20000000000LL)) != 0)
			stress_fail("pool round did not finish");
		for (int i = 0; i < n; i++) {
			int rc = ak_task_result(h[i]);
			if (rc != 0 && rc != AK_ECANCELED)
				stress_fail("task result %s", ak_err_name(rc));
			stats_merge(st, &tasks[i].st);
			ak_task_release(h[i]);
		}
		st->rounds++;
		stress_progress(t);
	}
	if (ak_pool_free(pool) != 0)
		stress_fail("pool free refused");
	free(tasks);
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "locks: in_mutex %d/%d, writers_in %d, readers_in %d, acquisitions %llu\n",
	        atomic_load(&in_mutex[0]), atomic_load(&in_mutex[1]), atomic_load(&writers_in), atomic_load(&readers_in),
	        (unsigned long long)atomic_load(&acquisitions));
}

int sc_locks_mixed(void)
{
	stress_start("locks-mixed", 4);
	const struct stress_opts *o = stress_opts();
	struct stress_rng *r = stress_main_rng();
	max_readers = stress_chance(r, 50) ? 1 + (uint32_t)stress_below(r, 8)
	                                    : AK_RWLOCK_MAX_READERS;
	printf("locks-mixed: max readers %" PRIu32 ", %d threads under ak_block_on, "
	       "a pool of %d workers\n", max_readers, o->threads, POOL_WORKERS);
	fflush(stdout);

	stress_check(ak_mutex_new(&M[0], 0) == 0, "FIFO mutex created");
	stress_check(ak_mutex_new(&M[1], AK_MUTEX_BARGING) == 0, "barging mutex created");
	stress_check(ak_rwlock_new(&RW, max_readers, 0) == 0, "rwlock created");
	stress_on_dump(dump, NULL);

	for (int i = 0; i <= o->threads && i < 1024; i++) {
		struct stats *st = calloc(1, sizeof *st);
		if (!st)
			return 2;
		all_stats[nstats++] = st;
		char name[24];
		if (i < o->threads) {
			snprintf(name, sizeof name, "block_on-%d", i);
			stress_spawn(name, thread_worker, st);
		} else {
			stress_spawn("pool-driver", pool_worker, st);
		}
	}
	stress_join();

	struct stats total;
	memset(&total, 0, sizeof total);
	for (int i = 0; i < nstats; i++) {
		stats_merge(&total, all_stats[i]);
		free(all_stats[i]);
	}
	printf("locks-mixed: %llu acquisitions: %" PRIu64 " FIFO mutex, %" PRIu64
	       " barging mutex, %" PRIu64 " write, %" PRIu64 " read sections; %" PRIu64
	       " downgrades, %" PRIu64 " deadlines passed, %" PRIu64 " try refused, %" PRIu64
	       " tasks dropped, %" PRIu64 " pool rounds\n",
	       (unsigned long long)atomic_load(&acquisitions), total.mutex_sections[0],
	       total.mutex_sections[1], total.write_sections, total.read_sections,
	       total.downgrades, total.timeouts, total.try_refused, total.cancelled, total.rounds);

	stress_check(total.mutex_sections[0] > 0 && total.mutex_sections[1] > 0 &&
	             total.write_sections > 0 && total.read_sections > 0,
	             "every kind of section ran");
	for (int i = 0; i < 2; i++)
		stress_check(mutex_counter[i] == total.mutex_sections[i],
		             "no lost update under the %s mutex (%" PRIu64 " = %" PRIu64 ")",
		             i ? "barging" : "FIFO", mutex_counter[i], total.mutex_sections[i]);
	stress_check(pair_a == total.write_sections && pair_b == pair_a,
	             "no lost update under the write lock (%" PRIu64 ", %" PRIu64 " = %" PRIu64 ")",
	             pair_a, pair_b, total.write_sections);
	stress_check(atomic_load(&in_mutex[0]) == 0 && atomic_load(&in_mutex[1]) == 0 &&
	             atomic_load(&writers_in) == 0 && atomic_load(&readers_in) == 0,
	             "nothing held at the end");
	stress_check(ak_mutex_free(M[0]) == 0, "the FIFO mutex frees cleanly");
	stress_check(ak_mutex_free(M[1]) == 0, "the barging mutex frees cleanly");
	stress_check(ak_rwlock_free(RW) == 0, "the rwlock frees cleanly");
	return stress_finish();
}
