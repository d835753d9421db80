/*
 * The cancellation sweep (issue 16): every row of tests/cancel_sweep.h's
 * tables at every await point, first alone (every step's result and every
 * wake asserted), then CS_TRAFFIC_ROUNDS times with a thread generating
 * traffic on the same primitive and random pauses between the steps
 * (only the results' classes and the state at quiescence asserted).
 * After each round: the row's exact state, then, with everything freed,
 * no waker clone held and no operation parked by the library, and every
 * counting waker's clones all dropped or consumed.
 *
 * One Check test per row (a loop test over the concatenated tables), so a
 * failure names its row; AK_TEST=operation_cancelled_at_every_await_point
 * with CK_RUN_CASE=<row> selects.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "cancel_sweep.h"

Suite *cancel_sweep_suite(void);

#define CS_TRAFFIC_ROUNDS 24
#define CS_WAIT_NS 5000000000LL        /* a wake that never comes: lost */

char cs_where[160];

static const char *const point_names[CS_NPOINTS] = {
	"first-poll", "queued", "granted", "repolled",
};

unsigned cs_rand(unsigned *rng)
{
	unsigned x = *rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *rng = x;
}

int64_t cs_soon(unsigned *rng)
{
	return ak_deadline_in(20000 + (int64_t)(cs_rand(rng) % 200000));
}

void cs_nothing(struct cs_env *e)
{
	(void)e;
}

void cs_settle_nothing(struct cs_env *e, union cs_op *op, int who, int rc)
{
	(void)e;
	(void)op;
	(void)who;
	(void)rc;
}

void cs_traffic_bad(struct cs_env *e, const char *what, int rc)
{
	if (atomic_exchange(&e->bad, 1) == 0)
		snprintf(e->bad_what, sizeof e->bad_what, "%s returned %d (%s)", what, rc,
		         ak_err_name(rc));
}

/*
 * A random pause between two steps of the round: none, a few spins, a
 * yield, or (with traffic) until the traffic thread has finished a step,
 * so that its operations land between the round's at the points that
 * matter (a waiter queued between the victim and the witness, a send
 * between a poll and a cancel), not only when the cores allow.
 */
static void jitter(struct cs_env *e, unsigned *rng)
{
	unsigned r = cs_rand(rng) % 8;

	if (r == 0) {
		sched_yield();
	} else if (r < 3 && e->traffic) {
		long at = atomic_load(&e->steps);
		int64_t end = ak_deadline_in(2000000);
		struct tk_backoff b = TK_BACKOFF_INIT;
		while (atomic_load(&e->steps) == at && ak_now() < end)
			tk_backoff(&b);
	} else {
		for (unsigned i = 0; i < r * 16; i++)
			atomic_signal_fence(memory_order_seq_cst);
	}
}

/* Waits for t's wake; 1 if it came before deadline. */
static int wait_woken(struct tk_task *t, int64_t deadline)
{
	struct tk_backoff b = TK_BACKOFF_INIT;

	while (!tk_task_take_woken(t)) {
		if (ak_now() >= deadline)
			return 0;
		tk_backoff(&b);
	}
	return 1;
}

int cs_drive(struct cs_env *e, struct tk_task *t, union cs_op *op, int rc,
             void (*unblock)(struct cs_env *e))
{
	int64_t end = ak_deadline_in(CS_WAIT_NS);

	while (rc == AK_PENDING) {
		/* Unblock only when not woken already (a witness a cancel
		 * passed a grant to needs nothing more); traffic may take what
		 * unblock freed: unblock again now and then, but poll only
		 * when woken, so that a lost wake shows. */
		if (!tk_task_take_woken(t)) {
			if (unblock)
				unblock(e);
			if (!wait_woken(t, ak_deadline_in(1000000))) {
				CS_ASSERT(ak_now() < end, "a parked operation was never woken");
				continue;
			}
		}
		rc = tk_poll(t, &op->future);
	}
	return rc;
}

struct traffic_arg {
	struct cs_env *e;
	unsigned seed;
};

static void *traffic_main(void *p)
{
	struct traffic_arg *a = p;
	unsigned rng = a->seed;

	while (!atomic_load_explicit(&a->e->stop, memory_order_acquire)) {
		a->e->c->traffic(a->e, &rng);
		atomic_fetch_add_explicit(&a->e->steps, 1, memory_order_release);
		if (cs_rand(&rng) % 4 == 0)
			sched_yield();
	}
	return NULL;
}

/* The counters back to the baseline (a timer or worker thread may drop its
 * reference just after its wake), every counting waker balanced.  Up to
 * 10 s: one TSan run on a loaded machine failed here after 2 s with one
 * timer clone held and did not fail again in 6 runs; the timer thread
 * holds its batch's clones between collecting and waking them.  A clone
 * really lost stays lost: only a failing run waits longer. */
static void quiescent(const struct ak_debug_counts *base, struct tk_task **tasks, int n)
{
	struct ak_debug_counts now;
	for (int tries = 0;; tries++) {
		ck_assert_int_eq(ak_debug_counters(&now), 0);
		if ((now.waker_clones == base->waker_clones && now.parked_ops == base->parked_ops) ||
		    tries == 10000)
			break;
		tk_sleep_ns(1000000);
	}
	CS_ASSERT(now.parked_ops == base->parked_ops, "%lld operations left parked",
	          (long long)(now.parked_ops - base->parked_ops));
	CS_ASSERT(now.waker_clones == base->waker_clones, "%lld waker clones left held",
	          (long long)(now.waker_clones - base->waker_clones));
	for (int i = 0; i < n; i++) {
		struct tk_counting_waker *cw = tasks[i]->cw;
		long clones = atomic_load(&cw->clones);
		long gone = atomic_load(&cw->drops) + atomic_load(&cw->wakes);
		CS_ASSERT(clones == gone && atomic_load(&cw->live) == 0 &&
		          atomic_load(&cw->underflows) == 0,
		          "task %d's waker: %ld clones, %ld dropped or woken, %ld underflows", i,
		          clones, gone, (long)atomic_load(&cw->underflows));
		tk_task_take_woken(tasks[i]);
	}
}

static void round_run(const struct cs_case *c, int point, int traffic, unsigned seed,
                      struct tk_task **tasks)
{
	struct tk_task *tv = tasks[0], *tw = tasks[1];
	struct ak_debug_counts base;
	struct cs_env e;
	union cs_op v, w;
	unsigned rng = seed | 1;
	int det = !traffic && !(c->flags & CS_NONDET);
	int witness = !(c->flags & (CS_NO_WITNESS | CS_NEVER_PARKS));
	int rcv, rcw = AK_PENDING, have_w = 0;
	pthread_t th;
	struct traffic_arg ta;

	snprintf(cs_where, sizeof cs_where, "%s at %s, %s, seed %u", c->name,
	         point_names[point], traffic ? "with traffic" : "alone", seed);
	ck_assert_int_eq(ak_debug_counters(&base), 0);
	memset(&e, 0, sizeof e);
	memset(&v, 0, sizeof v);
	memset(&w, 0, sizeof w);
	e.c = c;
	e.traffic = traffic;
	e.aux = tasks + 2;
	e.st = calloc(1, c->size ? c->size : 1);
	ck_assert_ptr_nonnull(e.st);
	c->setup(&e);
	if (traffic) {
		ta.e = &e;
		ta.seed = seed * 2654435761u + 1;
		ck_assert_int_eq(pthread_create(&th, NULL, traffic_main, &ta), 0);
		TK_WAIT_UNTIL(atomic_load(&e.steps) > 0);
	}

	if (c->prepare)
		c->prepare(&e);
	/* The witness ahead of the victim. */
	if (witness && point == CS_QUEUED) {
		c->init(&e, &w, 1);
		rcw = c->first ? c->first(&e, &w, tw, 1) : tk_poll(tw, &w.future);
		have_w = 1;
		if (det)
			CS_ASSERT(rcw == AK_PENDING, "the witness did not wait: %d", rcw);
		jitter(&e, &rng);
	}
	c->init(&e, &v, 0);
	rcv = c->first ? c->first(&e, &v, tv, 0) : tk_poll(tv, &v.future);
	if (det)
		CS_ASSERT(rcv == ((c->flags & CS_NEVER_PARKS) ? 0 : AK_PENDING),
		          "the first poll returned %d (%s)", rcv, ak_err_name(rcv));
	jitter(&e, &rng);
	/* The witness behind it. */
	if (witness && point >= CS_GRANTED) {
		c->init(&e, &w, 1);
		rcw = c->first ? c->first(&e, &w, tw, 1) : tk_poll(tw, &w.future);
		have_w = 1;
		if (det)
			CS_ASSERT(rcw == AK_PENDING, "the witness did not wait: %d", rcw);
		jitter(&e, &rng);
	}
	if (point >= CS_GRANTED && rcv == AK_PENDING) {
		c->grant(&e);
		if (det && !(c->flags & (CS_GRANT_PARTIAL | CS_GRANT_SILENT)))
			CS_ASSERT(wait_woken(tv, ak_deadline_in(CS_WAIT_NS)),
			          "the grant did not wake the victim");
		jitter(&e, &rng);
		if (point == CS_REPOLLED)
			rcv = tk_poll(tv, &v.future);
	}
	if (rcv == AK_PENDING) {
		ak_future_cancel(&v.future);
		CS_ASSERT(ak_future_state(&v.future) == AK_FUTURE_DONE,
		          "a cancelled operation is in phase %d", ak_future_state(&v.future));
		if (c->cancelled)
			c->cancelled(&e, &v, 0);
		if (det && point == CS_GRANTED && have_w && rcw == AK_PENDING &&
		    (c->flags & CS_PASSES_ON) && !(c->flags & CS_GRANT_PARTIAL))
			CS_ASSERT(atomic_load(&tw->cw->woken),
			          "the cancelled grant did not pass to the witness");
	} else {
		c->settle(&e, &v, 0, rcv);
	}
	/* Cancelling a finished operation does nothing. */
	ak_future_cancel(&v.future);
	jitter(&e, &rng);
	if (have_w) {
		rcw = cs_drive(&e, tw, &w, rcw, c->unblock);
		c->settle(&e, &w, 1, rcw);
	}

	if (traffic) {
		atomic_store_explicit(&e.stop, 1, memory_order_release);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
	}
	CS_ASSERT(!atomic_load(&e.bad), "%s", e.bad_what);
	c->check(&e);
	c->teardown(&e);
	free(e.st);
	quiescent(&base, tasks, 2 + CS_AUX);
}

static const struct cs_case *case_at(int i)
{
	if ((size_t)i < cs_chan_count)
		return &cs_chan_cases[i];
	i -= (int)cs_chan_count;
	if ((size_t)i < cs_sync_count)
		return &cs_sync_cases[i];
	i -= (int)cs_sync_count;
	return (size_t)i < cs_comb_count ? &cs_comb_cases[i] : NULL;
}

START_TEST(operation_cancelled_at_every_await_point)
{
	const struct cs_case *c = case_at(_i);
	struct tk_task *tasks[2 + CS_AUX];

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 2 + CS_AUX; i++)
		tasks[i] = tk_task_new();
	for (int p = 0; p < CS_NPOINTS; p++) {
		if (!(c->points & CS_POINT(p)))
			continue;
		round_run(c, p, 0, (unsigned)(_i * 131 + p), tasks);
		for (int r = 0; r < CS_TRAFFIC_ROUNDS; r++)
			round_run(c, p, 1, (unsigned)(_i * 100003 + p * 1009 + r + 1), tasks);
	}
}
END_TEST

Suite *cancel_sweep_suite(void)
{
	Suite *s = suite_create("cancel_sweep");
	TCase *tc = tk_tcase("every_operation");

	/* Every row runs CS_NPOINTS * (CS_TRAFFIC_ROUNDS + 1) rounds. */
	tcase_set_timeout(tc, 4 * TK_TIMEOUT);
	tcase_add_loop_test(tc, operation_cancelled_at_every_await_point, 0,
	                    (int)(cs_chan_count + cs_sync_count + cs_comb_count));
	suite_add_tcase(s, tc);
	return s;
}
