/*
 * stress/stress_semaphore.c: the public Semaphore and Barrier under load,
 * through the public API only.
 *
 * Semaphore: one semaphore of K permits (K from the seed, 1..8).
 *   - -t plain threads (default 4) acquire n (1..K) permits in a loop:
 *     mostly ak_semaphore_acquire_blocking with no deadline, a fifth of the
 *     time with a deadline of 0..50 us (a timeout cancels the acquire, and
 *     anything granted meanwhile goes on), a tenth as a try_acquire;
 *   - a pool of two workers runs rounds of 16 tasks driven by a thread of
 *     its own; each task makes 64 acquisitions, and a third of its
 *     acquires are cancelled by the task after their first AK_PENDING (the
 *     task wakes itself and retries), as a select or a timeout would.
 *   Checked: never more than K permits held (on every grant); every
 *   acquisition released exactly once; at the end all K permits are back,
 *   the semaphore frees cleanly (nobody waits), and the library's counters
 *   are back to their baseline.
 *
 * Barrier: three threads meet at a barrier of 3, twice per generation; the
 * leader of the first meeting bumps a plain int phase (and decides whether
 * to stop) while the others wait at the second.  Checked: each thread sees
 * the phase of its generation (the barrier orders the plain int), exactly
 * one leader per generation.
 *
 * ak-stress(1) runs it as its scenario semaphore-barrier (-t and -p are one option).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

#define POOL_WORKERS 2
#define ROUND_TASKS 16
#define TASK_ACQS 64
#define BARRIER_PARTIES 3

static struct ak_semaphore *sem;
static uint64_t K;
static atomic_llong held, max_held;
static atomic_ullong acquisitions, releases, timeouts, try_refused, gave_up, rounds;

static void note_grant(uint64_t n)
{
	long long now = atomic_fetch_add(&held, (long long)n) + (long long)n;
	long long m = atomic_load_explicit(&max_held, memory_order_relaxed);
	while (now > m && !atomic_compare_exchange_weak(&max_held, &m, now))
		;
	if (now > (long long)K)
		stress_fail("%lld permits held, more than K = %" PRIu64, now, K);
	atomic_fetch_add_explicit(&acquisitions, 1, memory_order_relaxed);
}

static void give_back(struct ak_semaphore_acquire_op *op, uint64_t n)
{
	atomic_fetch_sub(&held, (long long)n);
	int rc = ak_semaphore_release(op);
	if (rc != 0)
		stress_fail("release of %" PRIu64 " returned %s", n, ak_err_name(rc));
	atomic_fetch_add_explicit(&releases, 1, memory_order_relaxed);
}

/* ---- plain threads ---------------------------------------------------------- */

static void thread_worker(struct stress_thread *t)
{
	struct ak_semaphore_acquire_op op;

	memset(&op, 0, sizeof(op));
	while (stress_continue(t)) {
		uint64_t n = 1 + stress_below(&t->rng, K);
		int rc;
		if (stress_chance(&t->rng, 10)) {
			rc = ak_semaphore_try_acquire(&op, sem, n);
			if (rc == AK_EAGAIN) {
				atomic_fetch_add_explicit(&try_refused, 1, memory_order_relaxed);
				continue;
			}
		} else if (stress_chance(&t->rng, 20)) {
			int64_t d = ak_deadline_in((int64_t)stress_below(&t->rng, 50000));
			rc = ak_semaphore_acquire_blocking(&op, sem, n, d);
			if (rc == AK_ETIMEDOUT) {
				atomic_fetch_add_explicit(&timeouts, 1, memory_order_relaxed);
				continue;
			}
		} else {
			rc = ak_semaphore_acquire_blocking(&op, sem, n, AK_DEADLINE_NEVER);
		}
		if (rc != 0) {
			stress_fail("acquire of %" PRIu64 " returned %s", n, ak_err_name(rc));
			continue;
		}
		note_grant(n);
		give_back(&op, n);
	}
}

/* ---- pool tasks --------------------------------------------------------------- */

struct ptask {
	struct ak_future future;
	struct ak_semaphore_acquire_op acq;
	struct stress_rng rng;
	int left;
	int acquiring;
	uint64_t n;
};

static int ptask_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ptask *p = (struct ptask *)f;

	while (p->left > 0) {
		if (!p->acquiring) {
			p->n = 1 + stress_below(&p->rng, K);
			int rc = ak_semaphore_acquire_init(&p->acq, sem, p->n);
			if (rc != 0) {
				stress_fail("acquire_init returned %s", ak_err_name(rc));
				return rc;
			}
			p->acquiring = 1;
		}
		int rc = ak_future_poll(&p->acq.future, cx);
		if (rc == AK_PENDING) {
			if (stress_chance(&p->rng, 33)) {
				/* Give up this acquire: only the place is lost. */
				ak_future_cancel(&p->acq.future);
				p->acquiring = 0;
				atomic_fetch_add_explicit(&gave_up, 1, memory_order_relaxed);
				ak_waker_wake_by_ref(&cx->waker);
			}
			return AK_PENDING;
		}
		p->acquiring = 0;
		if (rc != 0) {
			stress_fail("task acquire of %" PRIu64 " returned %s", p->n, ak_err_name(rc));
			return rc;
		}
		note_grant(p->n);
		give_back(&p->acq, p->n);
		p->left--;
	}
	return 0;
}

static void ptask_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct ptask *)f)->acq.future);
}

static const struct ak_future_vtable ptask_vtable = { ptask_poll, ptask_cancel };

static void pool_worker(struct stress_thread *t)
{
	struct ak_pool *pool = NULL;
	struct ptask *tasks = calloc(ROUND_TASKS, sizeof(*tasks));
	struct ak_task *h[ROUND_TASKS];

	if (!tasks || ak_pool_new(&pool, POOL_WORKERS) != 0) {
		stress_fail("cannot start the pool");
		free(tasks);
		return;
	}
	while (stress_continue(t)) {
		for (int i = 0; i < ROUND_TASKS; i++) {
			memset(&tasks[i], 0, sizeof(tasks[i]));
			stress_rng_seed(&tasks[i].rng, stress_rand(&t->rng), (uint64_t)i);
			tasks[i].left = TASK_ACQS;
			ak_future_init(&tasks[i].future, &ptask_vtable);
			if (ak_pool_spawn(pool, &tasks[i].future, &h[i]) != 0)
				stress_fail("pool spawn failed");
		}
		while (ak_pool_wait_idle(pool, ak_deadline_in(100000000)) == AK_ETIMEDOUT)
			stress_progress(t);
		for (int i = 0; i < ROUND_TASKS; i++) {
			int rc = ak_task_result(h[i]);
			if (rc != 0)
				stress_fail("pool task finished with %s", ak_err_name(rc));
			ak_task_release(h[i]);
		}
		atomic_fetch_add_explicit(&rounds, 1, memory_order_relaxed);
	}
	if (ak_pool_free(pool) != 0)
		stress_fail("pool free failed");
	free(tasks);
}

/* ---- barrier generations ---------------------------------------------------- */

static struct ak_barrier *barrier;
static int phase;                  /* plain: ordered by the barrier */
static int bstop;                  /* plain: set by a leader between meetings */
static atomic_ullong leaders;

static void barrier_worker(struct stress_thread *t)
{
	struct ak_barrier_wait_op op;
	int leader;

	memset(&op, 0, sizeof(op));
	for (int g = 0;; g++) {
		int go_on = stress_continue(t);
		if (phase != g)
			stress_fail("%s sees phase %d in generation %d", t->name, phase, g);
		int rc = ak_barrier_wait_blocking(&op, barrier, &leader, AK_DEADLINE_NEVER);
		if (rc != 0) {
			stress_fail("barrier wait returned %s", ak_err_name(rc));
			return;
		}
		if (leader) {
			atomic_fetch_add_explicit(&leaders, 1, memory_order_relaxed);
			phase++;
			bstop = !go_on;
		}
		rc = ak_barrier_wait_blocking(&op, barrier, &leader, AK_DEADLINE_NEVER);
		if (rc != 0) {
			stress_fail("barrier wait returned %s", ak_err_name(rc));
			return;
		}
		if (bstop)
			return;
	}
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "semaphore-barrier: held %lld, %llu acquisitions, %llu releases\n",
	        atomic_load(&held), (unsigned long long)atomic_load(&acquisitions),
	        (unsigned long long)atomic_load(&releases));
}

int sc_semaphore_barrier(void)
{
	stress_start("semaphore-barrier", 4);
	const struct stress_opts *o = stress_opts();
	struct stress_rng *r = stress_main_rng();
	K = 1 + stress_below(r, 8);
	printf("semaphore-barrier: K = %" PRIu64 " permits, %d threads blocking, a pool of %d "
	       "workers, a barrier of %d threads\n", K, o->threads, POOL_WORKERS, BARRIER_PARTIES);
	fflush(stdout);

	stress_check(ak_semaphore_new(&sem, K) == 0, "semaphore of %" PRIu64 " permits", K);
	stress_check(ak_barrier_new(&barrier, BARRIER_PARTIES) == 0, "barrier of %d",
	             BARRIER_PARTIES);
	stress_on_dump(dump, NULL);
	for (int i = 0; i < o->threads; i++) {
		char name[24];
		snprintf(name, sizeof(name), "blocking-%d", i);
		stress_spawn(name, thread_worker, NULL);
	}
	stress_spawn("pool-driver", pool_worker, NULL);
	for (int i = 0; i < BARRIER_PARTIES; i++) {
		char name[24];
		snprintf(name, sizeof(name), "barrier-%d", i);
		stress_spawn(name, barrier_worker, NULL);
	}
	stress_join();

	unsigned long long acq = atomic_load(&acquisitions);
	printf("semaphore-barrier: %llu acquisitions (%llu timed out, %llu try refused, "
	       "%llu given up by tasks), %llu pool rounds, %d barrier generations\n",
	       acq, (unsigned long long)atomic_load(&timeouts),
	       (unsigned long long)atomic_load(&try_refused),
	       (unsigned long long)atomic_load(&gave_up),
	       (unsigned long long)atomic_load(&rounds), phase);
	stress_check(acq > 0, "acquisitions made (%llu)", acq);
	stress_check(atomic_load(&max_held) <= (long long)K,
	             "never more than K permits held (max %lld of %" PRIu64 ")",
	             atomic_load(&max_held), K);
	stress_check(acq == atomic_load(&releases), "every acquisition released once");
	stress_check(atomic_load(&held) == 0, "nothing held at the end");
	stress_check(ak_semaphore_available_permits(sem) == K,
	             "all K permits back (%" PRIu64 " of %" PRIu64 ")",
	             ak_semaphore_available_permits(sem), K);
	stress_check(ak_semaphore_free(sem) == 0, "the semaphore frees cleanly (nobody waits)");
	stress_check(atomic_load(&leaders) == (unsigned long long)phase && phase > 0,
	             "one leader per barrier generation (%llu leaders, %d generations)",
	             (unsigned long long)atomic_load(&leaders), phase);
	stress_check(ak_barrier_free(barrier) == 0, "the barrier frees cleanly");
	return stress_finish();
}
