/*
 * conform/conform.c: the executor conformance kit (ak_conform(3)).
 *
 * Each check spawns probe tasks on a fresh executor, runs it until idle,
 * and watches, from inside the probes' polls, what the waker ABI contract
 * (DESIGN.md section 1, ak_waker(3), ak_task(3)) says an executor does:
 *
 *   - every poll gets a context made by ak_context_init for that poll
 *     (valid flag, a fresh AK_BUDGET_DEFAULT budget, an empty branch path,
 *     a checked waker, the task's own slot, the same slot every poll);
 *   - every earlier poll's context was closed with ak_context_done (the
 *     slot counts the task's AK_PENDING polls: the count must match);
 *   - a poll never runs inside wake (a thread-local flag the kit sets
 *     around its own wake calls), inside another probe's poll, nor on two
 *     threads at once, nor after the probe returned 0;
 *   - every wake is followed by a poll (else run_until_idle times out).
 *
 * Violations are recorded, never asserted: a check fails with the first
 * message it recorded and the number of the others.  The kit itself keeps
 * the contract's other side: it never calls a waker under one of its own
 * locks, and its probes outlive the executor, so a late poll of a broken
 * executor lands in live memory and is reported.
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <awaitkit.h>
#include <awaitkit/conform.h>

/* A static library, built with the project's -fvisibility=hidden. */
#define AK_EXPORT_CONFORM __attribute__((visibility("default")))

/* How long one check may run before its tasks count as never woken. */
#define KIT_DEADLINE_NS (10LL * 1000 * 1000 * 1000)

struct kit {
	pthread_mutex_t lock;
	int violations;
	char first[320];
	atomic_int stop;            /* helpers give up: the check timed out */
};

static void violate(struct kit *k, const char *fmt, ...)
{
	char msg[sizeof(k->first)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&k->lock);
	if (k->violations++ == 0)
		memcpy(k->first, msg, sizeof(msg));
	pthread_mutex_unlock(&k->lock);
}

/* ---- the kit's own wakes, marked so that an inline poll shows ---------- */

static _Thread_local int in_wake;      /* inside a wake the kit made */
static _Thread_local int probe_depth;  /* inside a probe's poll */

static void kwake_by_ref(const struct ak_waker *w)
{
	in_wake++;
	ak_waker_wake_by_ref(w);
	in_wake--;
}

static void kwake(struct ak_waker *w)
{
	in_wake++;
	ak_waker_wake(w);
	in_wake--;
	*w = (struct ak_waker){ NULL, NULL };
}

static void kdrop(struct ak_waker *w)
{
	if (w->vtable)
		ak_waker_drop(w);
	*w = (struct ak_waker){ NULL, NULL };
}

/* Waiting for another thread without spinning a core away. */
static void backoff(unsigned *n)
{
	if ((*n)++ < 64) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 50 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* ---- probes -------------------------------------------------------------- */

struct probe;
typedef int (*step_fn)(struct probe *p, struct ak_context *cx);

#define KEPT 2

struct probe {
	struct ak_future future;
	struct kit *k;
	step_fn step;
	void *shared;               /* the check's own state */
	int id;
	int n;                      /* the step's counter (one poll at a time) */
	int pending;                /* AK_PENDING returned */
	struct ak_task_slot *slot;  /* of the first poll */
	uint64_t slot_base;         /* its pending count then */
	struct ak_waker kept[KEPT];
	atomic_int armed;
	atomic_int in_poll;
	atomic_int polls;
	atomic_int done;            /* returned 0 (or an error) */
	atomic_int cancels;
};

/* The context a poll got: everything ak_context_init makes afresh. */
static int check_context(struct probe *p, struct ak_context *cx, int poll)
{
	struct kit *k = p->k;
	if (!cx) {
		violate(k, "task %d was polled with a NULL context", p->id);
		return -1;
	}
	if (!(cx->flags & AK_CONTEXT_VALID) || cx->size != sizeof(*cx)) {
		violate(k, "task %d, poll %d: the context was not made by "
		        "ak_context_init for this poll (flags %#x)", p->id, poll,
		        (unsigned)cx->flags);
		return -1;
	}
	if (ak_waker_check(&cx->waker) != 0)
		violate(k, "task %d, poll %d: the context's waker is not a "
		        "valid waker (ak_waker_check)", p->id, poll);
	if (cx->budget != AK_BUDGET_DEFAULT)
		violate(k, "task %d, poll %d: the budget was %d at the start of "
		        "the poll, not a fresh AK_BUDGET_DEFAULT (%d): a context "
		        "reused across polls", p->id, poll, (int)cx->budget,
		        AK_BUDGET_DEFAULT);
	if (cx->path.len != 0 || cx->path.overflow != 0)
		violate(k, "task %d, poll %d: the branch path was not empty at "
		        "the start of the poll: a context reused across polls",
		        p->id, poll);
	if (!cx->slot) {
		violate(k, "task %d: polled without a task slot (the executor "
		        "keeps a zeroed struct ak_task_slot per task)", p->id);
		return 0;
	}
	if (poll == 1) {
		p->slot = cx->slot;
		p->slot_base = ak_task_slot_pending_polls(cx->slot);
	} else if (cx->slot != p->slot) {
		violate(k, "task %d, poll %d: the task slot changed between "
		        "polls", p->id, poll);
	} else {
		uint64_t counted = ak_task_slot_pending_polls(cx->slot) - p->slot_base;
		if (counted != (uint64_t)p->pending)
			violate(k, "task %d, poll %d: an earlier poll's context was "
			        "not closed with ak_context_done (the slot counts "
			        "%llu AK_PENDING polls, the task returned %d)", p->id,
			        poll, (unsigned long long)counted, p->pending);
	}
	return 0;
}

static int probe_poll(struct ak_future *f, struct ak_context *cx)
{
	struct probe *p = (struct probe *)(void *)f;
	struct kit *k = p->k;

	/* acquire: pairs with the release store of done below */
	if (atomic_load_explicit(&p->done, memory_order_acquire)) {
		violate(k, "task %d was polled after it completed (it had "
		        "returned its result): a finished task is never polled",
		        p->id);
		return AK_EINVAL;
	}
	if (atomic_fetch_add(&p->in_poll, 1) != 0) {
		violate(k, "task %d was polled on two threads at once", p->id);
		atomic_fetch_sub(&p->in_poll, 1);
		return AK_PENDING;
	}
	if (in_wake)
		violate(k, "task %d was polled inline from wake, on the waking "
		        "thread: wake only schedules the task, never polls it",
		        p->id);
	else if (probe_depth)
		violate(k, "task %d was polled inside another task's poll",
		        p->id);
	int poll = atomic_load(&p->polls) + 1;
	int rc = AK_EINVAL;
	if (check_context(p, cx, poll) == 0) {
		/* One unit of budget, so that a reused context shows. */
		(void)ak_coop_poll(cx);
		probe_depth++;
		rc = p->step(p, cx);
		probe_depth--;
	}
	if (rc == AK_PENDING)
		p->pending++;
	atomic_fetch_add(&p->polls, 1);
	if (rc != AK_PENDING)
		atomic_store_explicit(&p->done, 1, memory_order_release);
	atomic_fetch_sub(&p->in_poll, 1);
	return rc;
}

static void probe_cancel(struct ak_future *f)
{
	struct probe *p = (struct probe *)(void *)f;
	atomic_fetch_add(&p->cancels, 1);
}

static const struct ak_future_vtable probe_vtable = { probe_poll, probe_cancel };

static void probe_init(struct probe *p, struct kit *k, int id, step_fn step,
                       void *shared)
{
	memset(p, 0, sizeof(*p));
	p->k = k;
	p->id = id;
	p->step = step;
	p->shared = shared;
	ak_future_init(&p->future, &probe_vtable);
}

/* ---- one check's run ------------------------------------------------------ */

struct session {
	const struct ak_conform_executor *x;
	struct kit *k;
	void *ex;
	struct probe *probes;
	int nprobes;
	const char *lost;           /* what a timeout means in this check */
};

static int session_open(struct session *s)
{
	int rc = s->x->new_executor(s->x->arg, &s->ex);
	if (rc != 0) {
		violate(s->k, "new_executor failed: %s", ak_strerror(rc));
		return -1;
	}
	for (int i = 0; i < s->nprobes; i++) {
		rc = s->x->spawn(s->ex, &s->probes[i].future);
		if (rc != 0) {
			violate(s->k, "spawn failed: %s", ak_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* Runs until idle; 0 when every probe finished. */
static int session_run(struct session *s)
{
	int rc = s->x->run_until_idle(s->ex, ak_deadline_in(KIT_DEADLINE_NS));
	int open = 0;
	for (int i = 0; i < s->nprobes; i++)
		open += !atomic_load(&s->probes[i].done);
	if (rc == AK_ETIMEDOUT) {
		violate(s->k, "run_until_idle timed out with %d of %d tasks "
		        "unfinished: %s", open, s->nprobes, s->lost);
		atomic_store(&s->k->stop, 1);
		return -1;
	}
	if (rc != 0) {
		violate(s->k, "run_until_idle failed: %s", ak_strerror(rc));
		atomic_store(&s->k->stop, 1);
		return -1;
	}
	if (open) {
		violate(s->k, "run_until_idle returned 0 with %d tasks unfinished",
		        open);
		return -1;
	}
	return 0;
}

static void session_close(struct session *s)
{
	if (s->ex)
		s->x->free_executor(s->ex);
	s->ex = NULL;
	for (int i = 0; i < s->nprobes; i++)
		for (int j = 0; j < KEPT; j++)
			kdrop(&s->probes[i].kept[j]);
}

static void expect_polls(struct session *s, int want)
{
	for (int i = 0; i < s->nprobes; i++) {
		int got = atomic_load(&s->probes[i].polls);
		if (got != want && atomic_load(&s->probes[i].done))
			violate(s->k, "task %d was polled %d times, not %d", i,
			        got, want);
	}
}

/* ---- the checks ------------------------------------------------------------ */

#define NPROBES 8

static int step_ready(struct probe *p, struct ak_context *cx)
{
	(void)p;
	(void)cx;
	return 0;
}

static void check_spawned_task_completes(struct kit *k,
                                         const struct ak_conform_executor *x)
{
	struct probe pr[NPROBES];
	struct session s = { x, k, NULL, pr, NPROBES,
	                     "a spawned task was never polled" };
	for (int i = 0; i < NPROBES; i++)
		probe_init(&pr[i], k, i, step_ready, NULL);
	if (session_open(&s) == 0 && session_run(&s) == 0)
		expect_polls(&s, 1);
	session_close(&s);
}

/* Wakes itself during each poll (by reference, or a clone consumed), six
 * times: each wake must bring one more poll. */
#define SELF_WAKES 6

static int step_self_wake(struct probe *p, struct ak_context *cx)
{
	if (p->n == SELF_WAKES)
		return 0;
	if (p->n++ % 2 == 0) {
		kwake_by_ref(&cx->waker);
	} else {
		struct ak_waker c;
		if (ak_waker_clone(&cx->waker, &c) != 0)
			return AK_ENOMEM;
		kwake(&c);
	}
	return AK_PENDING;
}

static void check_woken_during_poll_is_polled_again(struct kit *k,
                                         const struct ak_conform_executor *x)
{
	struct probe pr[NPROBES];
	struct session s = { x, k, NULL, pr, NPROBES,
	                     "a task woken during its own poll was not polled "
	                     "again" };
	for (int i = 0; i < NPROBES; i++)
		probe_init(&pr[i], k, i, step_self_wake, NULL);
	if (session_open(&s) == 0 && session_run(&s) == 0)
		expect_polls(&s, SELF_WAKES + 1);
	session_close(&s);
}

/* Parks with a clone handed to another thread, which wakes it (consuming
 * the clone) once per round. */
#define ROUNDS 200

struct relay {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ak_waker w;
	int have;
	int woken;                  /* rounds the helper has woken */
	struct kit *k;
};

static int step_relay(struct probe *p, struct ak_context *cx)
{
	struct relay *r = p->shared;
	struct ak_waker c;
	if (ak_waker_clone(&cx->waker, &c) != 0)
		return AK_ENOMEM;
	pthread_mutex_lock(&r->m);
	int finished = r->woken == ROUNDS;
	if (!finished && !r->have) {
		r->w = c;
		r->have = 1;
		c = (struct ak_waker){ NULL, NULL };
		pthread_cond_signal(&r->c);
	}
	pthread_mutex_unlock(&r->m);
	kdrop(&c);      /* not needed: outside the lock */
	return finished ? 0 : AK_PENDING;
}

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	for (int round = 0; round < ROUNDS; round++) {
		struct ak_waker w;
		pthread_mutex_lock(&r->m);
		while (!r->have && !atomic_load(&r->k->stop)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->c, &r->m, &ts);
		}
		if (!r->have) {
			pthread_mutex_unlock(&r->m);
			break;
		}
		w = r->w;
		r->w = (struct ak_waker){ NULL, NULL };
		r->have = 0;
		r->woken = round + 1;
		pthread_mutex_unlock(&r->m);
		kwake(&w);
	}
	return NULL;
}

static void check_wake_from_another_thread(struct kit *k,
                                           const struct ak_conform_executor *x)
{
	struct probe pr[1];
	struct relay r = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	                   { NULL, NULL }, 0, 0, k };
	struct session s = { x, k, NULL, pr, 1,
	                     "a wake from another thread was lost" };
	pthread_t th;
	probe_init(&pr[0], k, 0, step_relay, &r);
	if (session_open(&s) == 0) {
		pthread_create(&th, NULL, relay_thread, &r);
		session_run(&s);
		atomic_store(&k->stop, 1);
		pthread_join(th, NULL);
	}
	session_close(&s);
	kdrop(&r.w);
	pthread_mutex_destroy(&r.m);
	pthread_cond_destroy(&r.c);
}

/* Several threads wake one task by reference, thousands of times; then
 * each says it finished and wakes once more: the poll that follows must
 * see it (a wake happens-before the poll it causes). */
#define WAKERS 4
#define REPEATS 2000

struct storm {
	struct ak_waker w[WAKERS];
	atomic_int ready;
	atomic_int finished;
	struct kit *k;
	int index;
};

static int step_storm(struct probe *p, struct ak_context *cx)
{
	struct storm *st = p->shared;
	if (p->n++ == 0) {
		for (int i = 0; i < WAKERS; i++)
			if (ak_waker_clone(&cx->waker, &st->w[i]) != 0)
				return AK_ENOMEM;
		atomic_store(&st->ready, 1);    /* seq_cst: publishes w[] */
		return AK_PENDING;
	}
	return atomic_load(&st->finished) == WAKERS ? 0 : AK_PENDING;
}

struct storm_arg {
	struct storm *st;
	int i;
};

static void *storm_thread(void *arg)
{
	struct storm_arg *a = arg;
	struct storm *st = a->st;
	unsigned b = 0;
	while (!atomic_load(&st->ready)) {
		if (atomic_load(&st->k->stop))
			return NULL;
		backoff(&b);
	}
	for (int j = 0; j < REPEATS; j++) {
		kwake_by_ref(&st->w[a->i]);
		if (j % 64 == 63)
			sched_yield();
	}
	atomic_fetch_add(&st->finished, 1);
	kwake_by_ref(&st->w[a->i]);
	kwake(&st->w[a->i]);
	return NULL;
}

static void check_repeated_wakes(struct kit *k, const struct ak_conform_executor *x)
{
	struct probe pr[1];
	struct storm st;
	struct storm_arg args[WAKERS];
	pthread_t th[WAKERS];
	struct session s = { x, k, NULL, pr, 1,
	                     "the wake that followed the last state change "
	                     "brought no poll" };
	memset(&st, 0, sizeof(st));
	st.k = k;
	probe_init(&pr[0], k, 0, step_storm, &st);
	if (session_open(&s) == 0) {
		for (int i = 0; i < WAKERS; i++) {
			args[i] = (struct storm_arg){ &st, i };
			pthread_create(&th[i], NULL, storm_thread, &args[i]);
		}
		session_run(&s);
		atomic_store(&k->stop, 1);
		for (int i = 0; i < WAKERS; i++)
			pthread_join(th[i], NULL);
	}
	session_close(&s);
	for (int i = 0; i < WAKERS; i++)
		kdrop(&st.w[i]);
}

/* Keeps two clones, wakes itself during the poll that completes it; the
 * kit then wakes the clones after the run and after the executor's free:
 * none of that may poll it. */
static int step_keep_and_finish(struct probe *p, struct ak_context *cx)
{
	if (p->n++ == 0) {
		for (int j = 0; j < KEPT; j++)
			if (ak_waker_clone(&cx->waker, &p->kept[j]) != 0)
				return AK_ENOMEM;
		kwake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	kwake_by_ref(&p->kept[0]);
	kwake_by_ref(&cx->waker);
	return 0;
}

static void check_wake_after_completion(struct kit *k,
                                        const struct ak_conform_executor *x)
{
	struct probe pr[NPROBES];
	struct session s = { x, k, NULL, pr, NPROBES,
	                     "a task that woke itself was not polled again" };
	for (int i = 0; i < NPROBES; i++)
		probe_init(&pr[i], k, i, step_keep_and_finish, NULL);
	if (session_open(&s) == 0 && session_run(&s) == 0) {
		for (int i = 0; i < NPROBES; i++)
			for (int j = 0; j < 3; j++)
				kwake_by_ref(&pr[i].kept[0]);
		/* The executor runs again: it has nothing to poll. */
		int rc = x->run_until_idle(s.ex, ak_deadline_in(KIT_DEADLINE_NS));
		if (rc != 0)
			violate(k, "run_until_idle with only finished tasks "
			        "failed: %s", ak_strerror(rc));
		for (int i = 0; i < NPROBES; i++)
			kwake(&pr[i].kept[0]);
		x->free_executor(s.ex);
		s.ex = NULL;
		/* After the free: the task record outlives every clone. */
		for (int i = 0; i < NPROBES; i++) {
			kwake_by_ref(&pr[i].kept[1]);
			kwake(&pr[i].kept[1]);
		}
		expect_polls(&s, 2);
	}
	session_close(&s);
}

/* Other threads keep waking each task by reference while it completes and
 * the executor lets go of it, then drop their clones: the last reference
 * may go on either side. */
#define RELEASE_TASKS 32
#define RELEASE_THREADS 4

struct release_arg {
	struct probe *pr;
	int first;
};

static int step_armed(struct probe *p, struct ak_context *cx)
{
	if (p->n++ == 0) {
		if (ak_waker_clone(&cx->waker, &p->kept[0]) != 0)
			return AK_ENOMEM;
		atomic_store(&p->armed, 1);     /* seq_cst: publishes kept[0] */
		return AK_PENDING;
	}
	return 0;
}

static void *release_thread(void *arg)
{
	struct release_arg *a = arg;
	for (int i = a->first; i < RELEASE_TASKS; i += RELEASE_THREADS) {
		struct probe *p = &a->pr[i];
		unsigned b = 0;
		while (!atomic_load(&p->armed)) {
			if (atomic_load(&p->k->stop))
				return NULL;
			backoff(&b);
		}
		while (!atomic_load(&p->done) && !atomic_load(&p->k->stop))
			kwake_by_ref(&p->kept[0]);
		for (int j = 0; j < 16; j++)
			kwake_by_ref(&p->kept[0]);
		kdrop(&p->kept[0]);
	}
	return NULL;
}

static void check_wake_concurrent_with_release(struct kit *k,
                                         const struct ak_conform_executor *x)
{
	struct probe pr[RELEASE_TASKS];
	struct release_arg args[RELEASE_THREADS];
	pthread_t th[RELEASE_THREADS];
	struct session s = { x, k, NULL, pr, RELEASE_TASKS,
	                     "a wake from another thread was lost" };
	for (int i = 0; i < RELEASE_TASKS; i++)
		probe_init(&pr[i], k, i, step_armed, NULL);
	if (session_open(&s) == 0) {
		for (int i = 0; i < RELEASE_THREADS; i++) {
			args[i] = (struct release_arg){ pr, i };
			pthread_create(&th[i], NULL, release_thread, &args[i]);
		}
		if (session_run(&s) == 0)
			expect_polls(&s, 2);
		/* The helpers drop their clones while the executor may still
		 * be letting go of the finished tasks. */
		for (int i = 0; i < RELEASE_THREADS; i++)
			pthread_join(th[i], NULL);
	}
	session_close(&s);
}

/* Spends the whole budget three times: ak_coop_poll wakes the task and
 * says AK_PENDING; the task must be polled again, with a fresh budget. */
#define EXHAUSTIONS 3

static int step_budget(struct probe *p, struct ak_context *cx)
{
	if (p->n == EXHAUSTIONS)
		return 0;
	int spent = 0;
	while (ak_coop_poll(cx) == 0)
		if (++spent > AK_BUDGET_DEFAULT) {
			violate(p->k, "task %d: ak_coop_poll never ran out of "
			        "budget", p->id);
			return AK_EINVAL;
		}
	p->n++;
	return AK_PENDING;
}

static void check_budget_honoured(struct kit *k, const struct ak_conform_executor *x)
{
	struct probe pr[2];
	struct session s = { x, k, NULL, pr, 2,
	                     "a task that spent its budget (ak_coop_poll woke "
	                     "it and returned AK_PENDING) was not polled again" };
	for (int i = 0; i < 2; i++)
		probe_init(&pr[i], k, i, step_budget, NULL);
	if (session_open(&s) == 0 && session_run(&s) == 0)
		expect_polls(&s, EXHAUSTIONS + 1);
	session_close(&s);
}

/* Spoils its context before each AK_PENDING (no budget left, a branch
 * path three levels deep), as a combinator in the middle of its work
 * would: the next poll must get a fresh one. */
#define SPOILS 5

static int step_spoil(struct probe *p, struct ak_context *cx)
{
	if (p->n++ == SPOILS)
		return 0;
	kwake_by_ref(&cx->waker);
	cx->budget = 0;
	cx->path.len = 3;
	return AK_PENDING;
}

static void check_context_made_per_poll(struct kit *k,
                                        const struct ak_conform_executor *x)
{
	struct probe pr[4];
	struct session s = { x, k, NULL, pr, 4,
	                     "a task that woke itself was not polled again" };
	for (int i = 0; i < 4; i++)
		probe_init(&pr[i], k, i, step_spoil, NULL);
	if (session_open(&s) == 0 && session_run(&s) == 0)
		expect_polls(&s, SPOILS + 1);
	session_close(&s);
}

/* ---- the table ----------------------------------------------------------- */

struct check {
	const char *name;
	void (*run)(struct kit *k, const struct ak_conform_executor *x);
};

static const struct check checks[] = {
	{ "spawned_task_completes", check_spawned_task_completes },
	{ "woken_during_poll_is_polled_again", check_woken_during_poll_is_polled_again },
	{ "context_made_per_poll", check_context_made_per_poll },
	{ "budget_honoured", check_budget_honoured },
	{ "wake_from_another_thread", check_wake_from_another_thread },
	{ "repeated_wakes", check_repeated_wakes },
	{ "wake_after_completion", check_wake_after_completion },
	{ "wake_concurrent_with_release", check_wake_concurrent_with_release },
};
#define NCHECKS ((int)(sizeof(checks) / sizeof(checks[0])))

AK_EXPORT_CONFORM int ak_conform_check_count(void)
{
	return NCHECKS;
}

AK_EXPORT_CONFORM const char *ak_conform_check_name(int i)
{
	return i >= 0 && i < NCHECKS ? checks[i].name : NULL;
}

AK_EXPORT_CONFORM int ak_conform_run(const struct ak_conform_executor *x,
                                     const char *only, FILE *out)
{
	if (!x || !x->new_executor || !x->spawn || !x->run_until_idle ||
	    !x->free_executor)
		return AK_EINVAL;
	int found = 0;
	for (int i = 0; i < NCHECKS; i++)
		found += !only || strcmp(only, checks[i].name) == 0;
	if (found == 0)
		return AK_EINVAL;
	const char *name = x->name ? x->name : "executor";
	int failed = 0, passed = 0;
	for (int i = 0; i < NCHECKS; i++) {
		if (only && strcmp(only, checks[i].name) != 0)
			continue;
		struct kit k;
		memset(&k, 0, sizeof(k));
		pthread_mutex_init(&k.lock, NULL);
		checks[i].run(&k, x);
		pthread_mutex_destroy(&k.lock);
		if (k.violations == 0) {
			passed++;
			if (out)
				fprintf(out, "ak-conform: %s: %s: ok\n", name,
				        checks[i].name);
		} else {
			failed++;
			if (out)
				fprintf(out, "ak-conform: %s: %s: FAILED: %s "
				        "(%d violation%s)\n", name, checks[i].name,
				        k.first, k.violations,
				        k.violations > 1 ? "s" : "");
		}
	}
	if (out) {
		fprintf(out, "ak-conform: %s: %d passed, %d failed\n", name,
		        passed, failed);
		fflush(out);
	}
	return failed;
}
