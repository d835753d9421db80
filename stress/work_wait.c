/*
 * stress/work_wait.c: ak-stress(1)'s notify and barrier workloads (work.h).
 *
 *   notify     -c waiters wait (notified) -n times each, or until the time
 *              is up; -p notifiers call notify_one, yielding, until every
 *              waiter is done.  Checked: never more notifications consumed
 *              than given (each completion is checked against the count of
 *              notify_one calls made before it); a lost wakeup stops the
 *              notified kind, which the watchdog catches; the notify frees.
 *   barrier    -p parties wait twice per generation; the leader of the
 *              first wait decides whether the run stops, which every party
 *              reads after the second.  Checked: exactly one leader per
 *              wait of each generation, every party through every one.
 *              Its waits are never cancelled: a wait cancelled after its
 *              release counts as arrived (ak_barrier(3)), so its arrivals
 *              cannot be counted from outside.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

static int k_notified, k_notify, k_wait;

/* ---- notify ---------------------------------------------------------------- */

struct notify_st {
	struct ak_notify *n;
	atomic_uint_least64_t issued, consumed, excess;
	atomic_int waiters_left;
};

struct notify_task {
	struct wk_task t;
	struct ak_notified_op op;
};

static int notifier_poll(struct ak_future *f, struct ak_context *cx)
{
	struct notify_task *p = (struct notify_task *)(void *)f;
	struct notify_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (atomic_load(&s->waiters_left) > 0) {
		stress_op_begin(k_notify);
		atomic_fetch_add(&s->issued, 1);
		if (ak_notify_one(s->n) != 0)
			stress_fail("notify: notify_one failed");
		stress_op_done(k_notify);
		atomic_fetch_add_explicit(&p->t.ops, 1, memory_order_relaxed);
		AK_YIELD(&p->t.aw);
	}
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	AK_END(&p->t.aw);
}

static int waiter_poll(struct ak_future *f, struct ak_context *cx)
{
	struct notify_task *p = (struct notify_task *)(void *)f;
	struct notify_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		ak_notified_init(&p->op, s->n);
		WK_AWAIT(&p->t, &p->op.future, k_notified, "notified");
		if (p->t.rc == WK_CANCELLED)
			continue;
		if (p->t.rc != 0) {
			stress_fail("notify: notified returned %s", ak_err_name(p->t.rc));
			break;
		}
		/* Read after the consume: issued only grows. */
		if (atomic_fetch_add(&s->consumed, 1) + 1 > atomic_load(&s->issued))
			atomic_fetch_add(&s->excess, 1);
		p->t.i++;
	}
	atomic_fetch_sub(&s->waiters_left, 1);
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	AK_END(&p->t.aw);
}

static void notify_setup(struct wk *w)
{
	struct notify_st *s = calloc(1, sizeof(*s));
	w->st = s;
	if (w->consumers < 1)
		w->consumers = 1;
	k_notified = stress_kind("notified");
	k_notify = stress_kind("notify_one");
	if (ak_notify_new(&s->n) != 0) {
		fprintf(stderr, "notify: cannot make it\n");
		exit(2);
	}
	atomic_store(&s->waiters_left, w->consumers);
	for (int i = 0; i < w->consumers; i++)
		wk_task_add(w, sizeof(struct notify_task), waiter_poll, WK_CONSUMER, i);
	for (int i = 0; i < w->producers; i++)
		wk_task_add(w, sizeof(struct notify_task), notifier_poll, WK_PRODUCER, i);
}

static void notify_check(struct wk *w)
{
	struct notify_st *s = w->st;
	(void)w;
	stress_check(atomic_load(&s->excess) == 0,
	             "notify: never more notifications consumed than given (%" PRIuLEAST64
	             " consumed, %" PRIuLEAST64 " given)", atomic_load(&s->consumed),
	             atomic_load(&s->issued));
}

static void notify_dump(FILE *out, struct wk *w)
{
	struct notify_st *s = w->st;
	fprintf(out, "notify: %" PRIuLEAST64 " given, %" PRIuLEAST64 " consumed, %d waiters "
	        "left\n", atomic_load(&s->issued), atomic_load(&s->consumed),
	        atomic_load(&s->waiters_left));
}

static void notify_teardown(struct wk *w)
{
	struct notify_st *s = w->st;
	stress_check(ak_notify_free(s->n) == 0, "waiters: the notify frees, nobody waits");
	free(s);
}

const struct wk_def wk_notify = {
	"notify", "-c waiters wait for notify_one calls from -p notifiers",
	1, 3, 0, 20, notify_setup, notify_check, notify_dump, notify_teardown,
};

/* ---- barrier --------------------------------------------------------------- */

struct barrier_st {
	struct ak_barrier *b;
	int stop;                       /* plain: set by a leader, ordered by the barrier */
	atomic_uint_least64_t leaders[2], generations;
};

struct barrier_task {
	struct wk_task t;
	struct ak_barrier_wait_op op;
	int leader, half;
	uint64_t passed;
};

static int barrier_poll(struct ak_future *f, struct ak_context *cx)
{
	struct barrier_task *p = (struct barrier_task *)(void *)f;
	struct barrier_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	for (;;) {
		for (p->half = 0; p->half < 2; p->half++) {
			p->leader = 0;
			ak_barrier_wait_init(&p->op, s->b, &p->leader);
			WK_AWAIT(&p->t, &p->op.future, k_wait, "barrier wait");
			if (p->t.rc != 0) {
				stress_fail("barrier: wait returned %s", ak_err_name(p->t.rc));
				break;
			}
			p->passed++;
			if (p->leader) {
				atomic_fetch_add(&s->leaders[p->half], 1);
				/* Between the two waits nobody reads stop. */
				if (p->half == 0) {
					uint64_t g = atomic_fetch_add(&s->generations, 1) + 1;
					uint64_t n = stress_opts()->count;
					s->stop = n ? g >= n : stress_stopped();
				}
			}
		}
		if (p->t.rc != 0 || s->stop)
			break;
	}
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	AK_END(&p->t.aw);
}

static void barrier_setup(struct wk *w)
{
	struct barrier_st *s = calloc(1, sizeof(*s));
	w->st = s;
	w->cancel_pct = 0;
	w->consumers = 0;
	k_wait = stress_kind("wait");
	if (ak_barrier_new(&s->b, (size_t)w->producers) != 0) {
		fprintf(stderr, "barrier: cannot make it\n");
		exit(2);
	}
	for (int i = 0; i < w->producers; i++)
		wk_task_add(w, sizeof(struct barrier_task), barrier_poll, WK_PRODUCER, i);
}

static void barrier_check(struct wk *w)
{
	struct barrier_st *s = w->st;
	uint64_t g = atomic_load(&s->generations), short_ = 0;
	for (int i = 0; i < w->ntasks; i++)
		short_ += ((struct barrier_task *)(void *)w->tasks[i])->passed != 2 * g;
	stress_check(atomic_load(&s->leaders[0]) == g && atomic_load(&s->leaders[1]) == g,
	             "barrier leaders: one per wait of each of the %" PRIu64 " generations "
	             "(%" PRIuLEAST64 ", %" PRIuLEAST64 ")", g, atomic_load(&s->leaders[0]),
	             atomic_load(&s->leaders[1]));
	stress_check(short_ == 0, "barrier: every party through every generation "
	             "(%" PRIu64 " short)", short_);
}

static void barrier_dump(FILE *out, struct wk *w)
{
	struct barrier_st *s = w->st;
	fprintf(out, "barrier of %d: %" PRIuLEAST64 " generations\n", w->producers,
	        atomic_load(&s->generations));
}

static void barrier_teardown(struct wk *w)
{
	struct barrier_st *s = w->st;
	stress_check(ak_barrier_free(s->b) == 0, "waiters: the barrier frees, nobody waits");
	free(s);
}

const struct wk_def wk_barrier = {
	"barrier", "-p parties meet twice per generation (never cancelled)",
	3, 0, 0, 0, barrier_setup, barrier_check, barrier_dump, barrier_teardown,
};
