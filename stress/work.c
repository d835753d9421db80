/*
 * stress/work.c: the runner of ak-stress(1)'s primitive workloads
 * (work.h): the tasks, the cancel-injecting await, the executor, the
 * balance of the library's waker clones and parked operations, the
 * throughput.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <awaitkit/conform.h>

#include "../conform/drivers.h"
#include "work.h"

static struct wk run;

static void task_cancel(struct ak_future *f)
{
	struct wk_task *t = (struct wk_task *)(void *)f;
	ak_await_cancel(&t->aw, f);
}

struct wk_task *wk_task_add(struct wk *w, size_t size,
                            int (*poll)(struct ak_future *, struct ak_context *), int role,
                            int id)
{
	struct wk_task *t = calloc(1, size);
	struct ak_future_vtable *vt = calloc(1, sizeof(*vt));
	void *grown = realloc(w->tasks, (size_t)(w->ntasks + 1) * sizeof(*w->tasks));
	if (!t || !vt || !grown) {
		fprintf(stderr, "%s: out of memory\n", stress_name());
		exit(2);
	}
	w->tasks = grown;
	w->tasks[w->ntasks++] = t;
	vt->poll = poll;
	vt->cancel = task_cancel;
	ak_future_init(&t->future, vt);
	t->w = w;
	t->role = role;
	t->id = id;
	stress_rng_seed(&t->rng, stress_opts()->seed, (uint64_t)(w->ntasks + 1000));
	return t;
}

int wk_more(struct wk_task *t)
{
	uint64_t count = stress_opts()->count;
	return count ? t->i < count : !stress_stopped();
}

int wk_chance(struct wk_task *t, unsigned percent)
{
	return percent && stress_chance(&t->rng, percent);
}

void wk_finish(struct wk_task *t)
{
	atomic_store(&t->waiting, NULL);
	atomic_store(&t->finished, 1);
}

void wk_begin(struct wk_task *t, struct ak_future *op, int kind, const char *what)
{
	t->aw.live = op;
	t->kind = kind;
	t->polls = 0;
	atomic_store_explicit(&t->waiting, what, memory_order_relaxed);
	stress_op_begin(kind);
}

int wk_poll(struct wk_task *t)
{
	struct ak_future *op = t->aw.live;
	unsigned pct = (unsigned)t->w->cancel_pct;
	int rc;

	if (t->aw.flags & AK_AWAIT_CANCELLED)
		return AK_ECANCELED;
	if (t->polls > 0 && !t->cancelled_once && wk_chance(t, pct / 2)) {
		/* Woken (or polled again): what it was granted is not yet
		 * observed, and must go to the next waiter. */
		ak_future_cancel(op);
		rc = WK_CANCELLED;
	} else {
		rc = ak_future_poll(op, t->aw.cx);
		if (rc == AK_PENDING) {
			if (t->polls++ > 0 || t->cancelled_once || !wk_chance(t, pct))
				return AK_PENDING;
			ak_future_cancel(op);   /* parked: it loses its place */
			rc = WK_CANCELLED;
		}
	}
	t->aw.live = NULL;
	atomic_store_explicit(&t->waiting, NULL, memory_order_relaxed);
	if (rc == WK_CANCELLED) {
		t->cancelled_once = 1;
		stress_op_cancelled(t->kind);
	} else {
		t->cancelled_once = 0;
		atomic_fetch_add_explicit(&t->ops, 1, memory_order_relaxed);
		stress_op_done(t->kind);
	}
	return rc;
}

void wk_seen_take(struct wk_seen *s, uint64_t v, int producers)
{
	int id = (int)(v >> WK_SEQ_BITS);
	uint64_t seq = v & ((UINT64_C(1) << WK_SEQ_BITS) - 1);
	if (id >= producers) {
		stress_fail("a value no producer sent: %#" PRIx64, v);
		return;
	}
	if (seq != s->next[id] && s->out_of_order++ < 3)
		stress_fail("producer %d's value %" PRIu64 " arrived when %" PRIu64 " was next", id,
		            seq, s->next[id]);
	s->next[id] = seq + 1;
	stress_sum_add(&s->sum, v);
	s->count++;
}

void wk_check_seen(const char *what, struct wk_seen *seen, const struct stress_sum *sent,
                   const uint64_t *sent_count, int producers)
{
	struct stress_sum all = { 0, 0, 0 };
	int missing = 0;
	for (int i = 0; i < producers; i++) {
		stress_sum_merge(&all, &sent[i]);
		missing += seen->next[i] != sent_count[i];
	}
	stress_check(seen->count == all.count, "%s count: %" PRIu64 " sent, %" PRIu64 " received",
	             what, all.count, seen->count);
	stress_check(stress_sum_equal(&seen->sum, &all),
	             "%s sum: the checksum of what arrived equals what was sent", what);
	stress_check(seen->out_of_order == 0 && missing == 0,
	             "%s per-producer order: every producer's values arrived in order, "
	             "none twice, none missing (%" PRIu64 " out of order, %d producers short)",
	             what, seen->out_of_order, missing);
}

void wk_dump_tasks(FILE *out, struct wk *w)
{
	for (int i = 0; i < w->ntasks; i++) {
		struct wk_task *t = w->tasks[i];
		const char *what = atomic_load(&t->waiting);
		fprintf(out, "task %s %d: %" PRIuLEAST64 " operations, %s%s\n",
		        t->role == WK_PRODUCER ? "producer" : "consumer", t->id,
		        atomic_load(&t->ops), atomic_load(&t->finished) ? "finished" : "",
		        atomic_load(&t->finished) ? "" : what ? what : "running");
	}
}

static void dump(FILE *out, void *arg)
{
	struct wk *w = arg;
	fprintf(out, "%s on %s: %d producers, %d consumers, capacity %ld, cancel %d%%\n",
	        w->def->name, w->executor, w->producers, w->consumers, w->capacity,
	        w->cancel_pct);
	if (w->def->dump)
		w->def->dump(out, w);
	wk_dump_tasks(out, w);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The library's waker clones and parked operations back to what they were
 * (a worker may drop its reference just after its wake: up to 2 s). */
void ak__watch_quiesce(void);

static void check_balance(const struct ak_debug_counts *base)
{
	struct ak_debug_counts now;
	ak__watch_quiesce();    /* watch's blocks still on their way to free */
	for (int tries = 0; tries < 200; tries++) {
		ak_debug_counters(&now);
		if (now.waker_clones == base->waker_clones && now.parked_ops == base->parked_ops &&
		    now.live_objects == base->live_objects)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	stress_check(now.waker_clones == base->waker_clones,
	             "waker balance: every waker clone the library took was dropped or "
	             "woken (%" PRId64 " held, %" PRId64 " before)",
	             now.waker_clones, base->waker_clones);
	stress_check(now.parked_ops == base->parked_ops,
	             "waiters: no operation left parked (%" PRId64 ", %" PRId64 " before)",
	             now.parked_ops, base->parked_ops);
	stress_check(now.live_objects == base->live_objects,
	             "allocations: every object freed (%" PRId64 " live, %" PRId64 " before)",
	             now.live_objects, base->live_objects);
}

int wk_run(const struct wk_def *def)
{
	const struct stress_opts *o;
	struct ak_debug_counts base;
	struct wk *w = &run;

	stress_start(def->name, def->producers);
	o = stress_opts();
	w->def = def;
	w->producers = o->threads;
	w->consumers = o->consumers ? o->consumers : def->consumers;
	w->capacity = o->capacity >= 0 ? o->capacity : def->capacity;
	w->cancel_pct = o->cancel_pct >= 0 ? o->cancel_pct : def->cancel_pct;
	w->executor = o->executor ? o->executor : "pool";
	const struct ak_conform_executor *x = conform_driver(w->executor);
	if (!x) {
		fprintf(stderr, "%s: no executor %s\n", def->name, w->executor);
		return 2;
	}
	if (!o->quiet)
		printf("%s on %s: %d producers, %d consumers, capacity %ld, cancel %d%%\n",
		       def->name, w->executor, w->producers, w->consumers, w->capacity,
		       w->cancel_pct);
	fflush(stdout);
	ak_debug_counters(&base);
	stress_on_dump(dump, w);
	def->setup(w);

	void *ex = NULL;
	double t0 = now_s();
	int rc = x->new_executor(x->arg, &ex);
	for (int i = 0; rc == 0 && i < w->ntasks; i++)
		rc = x->spawn(ex, &w->tasks[i]->future);
	if (rc == 0)
		rc = x->run_until_idle(ex, AK_DEADLINE_NEVER);
	double secs = now_s() - t0;
	stress_run_over();
	if (ex)
		x->free_executor(ex);
	stress_check(rc == 0, "the executor ran every task to its end (%s)", ak_err_name(rc));

	uint64_t ops = 0;
	for (int i = 0; i < w->ntasks; i++)
		ops += atomic_load(&w->tasks[i]->ops);
	if (!o->quiet)
		printf("%s on %s: %" PRIu64 " operations in %.2f s, %.0f per second\n", def->name,
		       w->executor, ops, secs, secs > 0 ? (double)ops / secs : 0.0);
	def->check(w);
	def->teardown(w);
	check_balance(&base);
	for (int i = 0; i < w->ntasks; i++) {
		free((void *)w->tasks[i]->future.vtable);
		free(w->tasks[i]);
	}
	free(w->tasks);
	return stress_finish();
}
