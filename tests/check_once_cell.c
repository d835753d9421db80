/*
 * OnceCell (<awaitkit/once_cell.h>) and SetOnce (<awaitkit/set_once.h>):
 * tokio's tests/sync_once_cell.rs and sync_set_once.rs in C, and the hard
 * cases beside them — one initializer runs while the others wait, a failed
 * or cancelled initializer lets the next waiter run its own, a permit
 * granted to a waiter that is cancelled before its poll passes on, the
 * initializers that never ran are finished, the drop hook runs once, and
 * threads racing on one cell see one value.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "testkit.h"

Suite *once_cell_suite(void);

static struct ak_once_cell *new_cell(void)
{
	struct ak_once_cell *c = NULL;
	ck_assert_int_eq(ak_once_cell_new(&c, sizeof(int), NULL, NULL), 0);
	return c;
}

static int value_of(const void *p)
{
	int v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* An initializer that may be bound to a get_or_init: its value, and the
 * future that says when (and whether) it was produced. */
struct initializer {
	int value;
	struct tk_flag_future gate;     /* completes with its result when set */
	struct ak_once_cell_op op;
	const void *got;
};

static void bind(struct initializer *in, struct ak_once_cell *c, int value, int result)
{
	memset(in, 0, sizeof(*in));
	in->value = value;
	tk_flag_init(&in->gate, result);
	ck_assert_int_eq(ak_once_cell_get_or_init_init(&in->op, c, &in->gate.future,
	                                               &in->value, &in->got), 0);
}

/* ---- OnceCell: tokio's sync_once_cell.rs ------------------------------- */

START_TEST(get_or_init_runs_the_first_initializer_and_the_second_caller_waits_for_it)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	bind(&a, c, 5, 0);
	bind(&b, c, 10, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);   /* initialising */
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);   /* waiting */
	ck_assert_int_eq(ak_once_cell_initialized(c), 0);
	tk_flag_set(&a.gate);
	ck_assert_int_eq(tk_poll_woken(ta, &a.op.future), 0);
	ck_assert_int_eq(tk_poll_woken(tb, &b.op.future), 0);
	ck_assert_int_eq(value_of(a.got), 5);
	ck_assert_ptr_eq(a.got, b.got);
	ck_assert_int_eq(atomic_load(&b.gate.polls), 0);        /* never ran */
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(a_failed_initializer_lets_the_waiting_caller_run_its_own)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	bind(&a, c, 5, -ECONNREFUSED);
	bind(&b, c, 10, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);
	tk_flag_set(&a.gate);
	ck_assert_int_eq(tk_poll_woken(ta, &a.op.future), -ECONNREFUSED);
	ck_assert_int_eq(ak_once_cell_initialized(c), 0);
	/* The permit went to b: its poll runs its initializer. */
	ck_assert_int_eq(tk_poll_woken(tb, &b.op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&b.gate.polls), 1);
	tk_flag_set(&b.gate);
	ck_assert_int_eq(tk_poll_woken(tb, &b.op.future), 0);
	ck_assert_int_eq(value_of(b.got), 10);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(a_cancelled_initializer_is_cancelled_and_the_waiting_caller_runs_its_own)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	bind(&a, c, 5, 0);
	bind(&b, c, 10, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);
	ak_future_cancel(&a.op.future);
	ck_assert_int_eq(atomic_load(&a.gate.cancels), 1);
	ck_assert_int_eq(tk_poll_woken(tb, &b.op.future), AK_PENDING);
	tk_flag_set(&b.gate);
	ck_assert_int_eq(tk_poll_woken(tb, &b.op.future), 0);
	ck_assert_int_eq(value_of(b.got), 10);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(a_waiter_cancelled_after_the_permit_reached_it_passes_it_on)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b, d;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new(), *td = tk_task_new();

	bind(&a, c, 5, -ECONNREFUSED);
	bind(&b, c, 10, 0);
	bind(&d, c, 20, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(td, &d.op.future), AK_PENDING);
	tk_flag_set(&a.gate);
	ck_assert_int_eq(tk_poll_woken(ta, &a.op.future), -ECONNREFUSED);
	ck_assert(tk_task_take_woken(tb));
	ak_future_cancel(&b.op.future);        /* granted, never polled */
	ck_assert_int_eq(atomic_load(&b.gate.polls), 0);
	ck_assert_int_eq(tk_poll_woken(td, &d.op.future), AK_PENDING);
	tk_flag_set(&d.gate);
	ck_assert_int_eq(tk_poll_woken(td, &d.op.future), 0);
	ck_assert_int_eq(value_of(d.got), 20);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(set_and_get)
{
	struct ak_once_cell *c = new_cell();
	int v = 5;
	const void *got = NULL;

	ck_assert_int_eq(ak_once_cell_set(c, &v), 0);
	ck_assert_int_eq(ak_once_cell_get(c, &got), 0);
	ck_assert_int_eq(value_of(got), 5);
	ck_assert_int_eq(ak_once_cell_initialized(c), 1);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(get_of_an_empty_cell_is_eagain)
{
	struct ak_once_cell *c = new_cell();
	const void *got = &got;

	ck_assert_int_eq(ak_once_cell_get(c, &got), AK_EAGAIN);
	ck_assert_ptr_eq(got, &got);
	ck_assert_int_eq(ak_once_cell_initialized(c), 0);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(set_twice_is_eexist_and_keeps_the_first_value)
{
	struct ak_once_cell *c = new_cell();
	int five = 5, six = 6;
	const void *got;

	ck_assert_int_eq(ak_once_cell_set(c, &five), 0);
	ck_assert_int_eq(ak_once_cell_set(c, &six), AK_EEXIST);
	ck_assert_int_eq(ak_once_cell_get(c, &got), 0);
	ck_assert_int_eq(value_of(got), 5);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(set_while_initializing_is_ebusy_and_the_initializer_wins)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a;
	struct tk_task *t = tk_task_new();
	int ten = 10;

	bind(&a, c, 5, 0);
	ck_assert_int_eq(tk_poll(t, &a.op.future), AK_PENDING);
	ck_assert_int_eq(ak_once_cell_set(c, &ten), AK_EBUSY);
	tk_flag_set(&a.gate);
	ck_assert_int_eq(tk_poll_woken(t, &a.op.future), 0);
	ck_assert_int_eq(value_of(a.got), 5);
	ck_assert_int_eq(ak_once_cell_set(c, &ten), AK_EEXIST);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

/* ---- OnceCell: beside tokio's ----------------------------------------- */

START_TEST(get_or_init_on_a_set_cell_completes_at_once_and_cancels_its_initializer)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a;
	struct tk_task *t = tk_task_new();
	int five = 5;

	ck_assert_int_eq(ak_once_cell_set(c, &five), 0);
	bind(&a, c, 10, 0);
	ck_assert_int_eq(tk_poll(t, &a.op.future), 0);
	ck_assert_int_eq(value_of(a.got), 5);
	ck_assert_int_eq(atomic_load(&a.gate.polls), 0);
	ck_assert_int_eq(atomic_load(&a.gate.cancels), 1);
	ck_assert_int_eq(ak_future_state(&a.gate.future), AK_FUTURE_DONE);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(a_set_while_the_permit_is_handed_to_a_waiter_is_ebusy)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();
	int seven = 7;

	bind(&a, c, 5, -ECONNREFUSED);
	bind(&b, c, 10, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);
	tk_flag_set(&a.gate);
	ck_assert_int_eq(tk_poll_woken(ta, &a.op.future), -ECONNREFUSED);
	/* The permit is b's now: a set is refused until b gives it up. */
	ck_assert_int_eq(ak_once_cell_set(c, &seven), AK_EBUSY);
	ak_future_cancel(&b.op.future);
	ck_assert_int_eq(ak_once_cell_set(c, &seven), 0);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(a_null_initializer_stores_the_given_value)
{
	struct ak_once_cell *c = new_cell();
	struct ak_once_cell_op op;
	int v = 42;
	const void *got = NULL;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_once_cell_get_or_init_blocking(&op, c, NULL, &v, &got,
	                                                   AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(value_of(got), 42);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

struct drops {
	int count;
	int last;
};

static void count_drop(void *value, void *arg)
{
	struct drops *d = arg;
	d->count++;
	d->last = value_of(value);
}

START_TEST(the_drop_hook_runs_once_at_free_and_only_for_a_set_cell)
{
	struct drops d = { 0, 0 };
	struct ak_once_cell *c;
	int v = 9;

	ck_assert_int_eq(ak_once_cell_new(&c, sizeof(int), count_drop, &d), 0);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
	ck_assert_int_eq(d.count, 0);
	ck_assert_int_eq(ak_once_cell_new(&c, sizeof(int), count_drop, &d), 0);
	ck_assert_int_eq(ak_once_cell_set(c, &v), 0);
	ck_assert_int_eq(d.count, 0);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
	ck_assert_int_eq(d.count, 1);
	ck_assert_int_eq(d.last, 9);
}
END_TEST

START_TEST(free_while_initializing_or_waiting_is_ebusy)
{
	struct ak_once_cell *c = new_cell();
	struct initializer a, b;
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	bind(&a, c, 5, 0);
	bind(&b, c, 10, 0);
	ck_assert_int_eq(tk_poll(ta, &a.op.future), AK_PENDING);
	ck_assert_int_eq(ak_once_cell_free(c), AK_EBUSY);
	ck_assert_int_eq(tk_poll(tb, &b.op.future), AK_PENDING);
	ak_future_cancel(&a.op.future);
	ck_assert_int_eq(ak_once_cell_free(c), AK_EBUSY);
	ak_future_cancel(&b.op.future);
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

START_TEST(once_cell_bad_inputs_are_einval)
{
	struct ak_once_cell *c = new_cell();
	struct ak_once_cell_op op;
	struct tk_count_future owned;
	const void *got;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_once_cell_new(NULL, 4, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_get(c, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_get(NULL, &got), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_set(c, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_initialized(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_once_cell_get_or_init_init(&op, c, NULL, NULL, &got), AK_EINVAL);
	/* An initializer owned by another operation is refused. */
	tk_ready_init(&owned, 0);
	int v = 1;
	ck_assert_int_eq(ak_once_cell_get_or_init_init(&op, c, &owned.future, &v, &got), 0);
	struct ak_once_cell_op op2;
	memset(&op2, 0, sizeof(op2));
	ck_assert_int_eq(ak_once_cell_get_or_init_init(&op2, c, &owned.future, &v, &got), AK_EINVAL);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_once_cell_initialized(c), 0);
	ck_assert_int_ge(ak_op_size(AK_OP_ONCE_CELL_GET_OR_INIT), sizeof(struct ak_once_cell_op));
	ck_assert_int_eq(ak_once_cell_free(c), 0);
}
END_TEST

/* Threads race get_or_init; the first FAILS initializers fail.  Each
 * initializer yields once before it decides, so attempts overlap. */
#define RACERS 6
#define FAILS 2

struct race {
	struct ak_once_cell *cell;
	atomic_int attempts;
};

struct attempt {
	struct ak_future future;
	struct race *race;
	int value;
	int yielded;
};

static int attempt_poll(struct ak_future *f, struct ak_context *cx)
{
	struct attempt *a = (struct attempt *)f;
	if (!a->yielded) {
		a->yielded = 1;
		ak_waker_wake_by_ref(&cx->waker);
		return AK_PENDING;
	}
	int n = atomic_fetch_add(&a->race->attempts, 1);
	if (n < FAILS)
		return -ECONNREFUSED;
	a->value = 100 + n;
	return 0;
}

static void attempt_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable attempt_vtable = { attempt_poll, attempt_cancel };

struct racer {
	pthread_t th;
	struct race *race;
	int value;
	int failures;
	int rc;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	for (;;) {
		struct attempt a;
		struct ak_once_cell_op op;
		const void *got = NULL;
		memset(&a, 0, sizeof(a));
		memset(&op, 0, sizeof(op));
		a.race = r->race;
		ak_future_init(&a.future, &attempt_vtable);
		r->rc = ak_once_cell_get_or_init_blocking(&op, r->race->cell, &a.future, &a.value,
		                                          &got, AK_DEADLINE_NEVER);
		if (r->rc == -ECONNREFUSED) {
			r->failures++;
			continue;
		}
		if (r->rc == 0)
			r->value = value_of(got);
		return NULL;
	}
}

START_TEST(threads_racing_get_or_init_run_one_successful_initializer_and_see_its_value)
{
	struct race race = { new_cell(), 0 };
	struct racer r[RACERS];

	for (int i = 0; i < RACERS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].race = &race;
		ck_assert_int_eq(pthread_create(&r[i].th, NULL, racer_main, &r[i]), 0);
	}
	int failures = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(r[i].th, NULL);
		ck_assert_int_eq(r[i].rc, 0);
		ck_assert_int_eq(r[i].value, 100 + FAILS);
		failures += r[i].failures;
	}
	ck_assert_int_eq(failures, FAILS);
	ck_assert_int_eq(atomic_load(&race.attempts), FAILS + 1);
	ck_assert_int_eq(ak_once_cell_free(race.cell), 0);
}
END_TEST

/* ---- SetOnce: tokio's sync_set_once.rs -------------------------------- */

static struct ak_set_once *new_set_once(void)
{
	struct ak_set_once *so = NULL;
	ck_assert_int_eq(ak_set_once_new(&so, sizeof(int), NULL, NULL), 0);
	return so;
}

static void bind_wait(struct ak_set_once_wait_op *op, struct ak_set_once *so, const void **got)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_set_once_wait_init(op, so, got), 0);
}

START_TEST(set_once_drop_hook_runs_once_at_free)
{
	struct drops d = { 0, 0 };
	struct ak_set_once *so;
	int v = 3;

	ck_assert_int_eq(ak_set_once_new(&so, sizeof(int), count_drop, &d), 0);
	ck_assert_int_eq(ak_set_once_set(so, &v), 0);
	ck_assert_int_eq(d.count, 0);
	ck_assert_int_eq(ak_set_once_free(so), 0);
	ck_assert_int_eq(d.count, 1);
	ck_assert_int_eq(d.last, 3);
	ck_assert_int_eq(ak_set_once_new(&so, sizeof(int), count_drop, &d), 0);
	ck_assert_int_eq(ak_set_once_free(so), 0);
	ck_assert_int_eq(d.count, 1);
}
END_TEST

START_TEST(set_once_set_twice_is_eexist_and_get_of_unset_is_eagain)
{
	struct ak_set_once *so = new_set_once();
	int five = 5, six = 6;
	const void *got;

	ck_assert_int_eq(ak_set_once_get(so, &got), AK_EAGAIN);
	ck_assert_int_eq(ak_set_once_initialized(so), 0);
	ck_assert_int_eq(ak_set_once_set(so, &five), 0);
	ck_assert_int_eq(ak_set_once_set(so, &six), AK_EEXIST);
	ck_assert_int_eq(ak_set_once_get(so, &got), 0);
	ck_assert_int_eq(value_of(got), 5);
	ck_assert_int_eq(ak_set_once_initialized(so), 1);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

START_TEST(set_once_wait_completes_when_set)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op;
	struct tk_task *t = tk_task_new();
	const void *got = NULL;
	int v = 5;

	bind_wait(&op, so, &got);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_set_once_set(so, &v), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(value_of(got), 5);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

START_TEST(set_once_wait_bound_before_the_set_and_polled_after_completes)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op before, after;
	struct tk_task *t = tk_task_new();
	const void *g1 = NULL, *g2 = NULL;
	int v = 8;

	bind_wait(&before, so, &g1);
	ck_assert_int_eq(ak_set_once_set(so, &v), 0);
	bind_wait(&after, so, &g2);
	ck_assert_int_eq(tk_poll(t, &before.future), 0);
	ck_assert_int_eq(tk_poll(t, &after.future), 0);
	ck_assert_ptr_eq(g1, g2);
	ck_assert_int_eq(value_of(g1), 8);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

#define MANY_WAITERS 40 /* more than one wake batch */

START_TEST(set_once_set_completes_every_waiter)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op[MANY_WAITERS];
	struct tk_task *t[MANY_WAITERS];
	const void *got[MANY_WAITERS];
	int v = 1;

	for (int i = 0; i < MANY_WAITERS; i++) {
		t[i] = tk_task_new();
		bind_wait(&op[i], so, &got[i]);
		ck_assert_int_eq(tk_poll(t[i], &op[i].future), AK_PENDING);
	}
	ck_assert_int_eq(ak_set_once_free(so), AK_EBUSY);
	ck_assert_int_eq(ak_set_once_set(so, &v), 0);
	for (int i = 0; i < MANY_WAITERS; i++) {
		ck_assert_int_eq(tk_poll_woken(t[i], &op[i].future), 0);
		ck_assert_int_eq(value_of(got[i]), 1);
	}
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

START_TEST(set_once_a_cancelled_wait_lets_the_set_once_be_freed)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op;
	struct tk_task *t = tk_task_new();

	bind_wait(&op, so, NULL);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_set_once_free(so), AK_EBUSY);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

struct setter {
	pthread_t th;
	struct ak_set_once *so;
	int value;
	int rc;
	int seen;      /* get after the set, win or lose */
};

static void *setter_main(void *arg)
{
	struct setter *s = arg;
	const void *got;
	s->rc = ak_set_once_set(s->so, &s->value);
	s->seen = ak_set_once_get(s->so, &got) == 0 ? value_of(got) : -1;
	return NULL;
}

START_TEST(set_once_two_threads_set_and_exactly_one_wins)
{
	for (int round = 0; round < 200; round++) {
		struct ak_set_once *so = new_set_once();
		struct setter a = { .so = so, .value = 4 }, b = { .so = so, .value = 3 };
		ck_assert_int_eq(pthread_create(&a.th, NULL, setter_main, &a), 0);
		ck_assert_int_eq(pthread_create(&b.th, NULL, setter_main, &b), 0);
		pthread_join(a.th, NULL);
		pthread_join(b.th, NULL);
		ck_assert((a.rc == 0) != (b.rc == 0));
		ck_assert_int_eq(a.rc == 0 ? b.rc : a.rc, AK_EEXIST);
		/* The loser sees the winner's value once its set returned. */
		int won = a.rc == 0 ? 4 : 3;
		ck_assert_int_eq(a.seen, won);
		ck_assert_int_eq(b.seen, won);
		ck_assert_int_eq(ak_set_once_free(so), 0);
	}
}
END_TEST

START_TEST(set_once_a_blocked_thread_waits_for_a_set_from_another)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op;
	struct setter s = { .so = so, .value = 4 };
	const void *got = NULL;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(pthread_create(&s.th, NULL, setter_main, &s), 0);
	ck_assert_int_eq(ak_set_once_wait_blocking(&op, so, &got, AK_DEADLINE_NEVER), 0);
	pthread_join(s.th, NULL);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_int_eq(value_of(got), 4);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

START_TEST(set_once_blocking_wait_times_out_when_nobody_sets)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_set_once_wait_blocking(&op, so, NULL, ak_deadline_in(5000000)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

START_TEST(set_once_bad_inputs_are_einval)
{
	struct ak_set_once *so = new_set_once();
	struct ak_set_once_wait_op op;
	const void *got;

	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_set_once_new(NULL, 4, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_set(so, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_set(NULL, &got), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_get(so, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_initialized(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_wait_init(NULL, so, &got), AK_EINVAL);
	ck_assert_int_eq(ak_set_once_wait_init(&op, NULL, &got), AK_EINVAL);
	ck_assert_int_ge(ak_op_size(AK_OP_SET_ONCE_WAIT), sizeof(struct ak_set_once_wait_op));
	ck_assert_int_eq(ak_set_once_free(so), 0);
}
END_TEST

Suite *once_cell_suite(void)
{
	Suite *s = suite_create("once_cell");
	TCase *tc = tk_tcase("once_cell");
	tcase_add_test(tc, get_or_init_runs_the_first_initializer_and_the_second_caller_waits_for_it);
	tcase_add_test(tc, a_failed_initializer_lets_the_waiting_caller_run_its_own);
	tcase_add_test(tc, a_cancelled_initializer_is_cancelled_and_the_waiting_caller_runs_its_own);
	tcase_add_test(tc, a_waiter_cancelled_after_the_permit_reached_it_passes_it_on);
	tcase_add_test(tc, set_and_get);
	tcase_add_test(tc, get_of_an_empty_cell_is_eagain);
	tcase_add_test(tc, set_twice_is_eexist_and_keeps_the_first_value);
	tcase_add_test(tc, set_while_initializing_is_ebusy_and_the_initializer_wins);
	tcase_add_test(tc, get_or_init_on_a_set_cell_completes_at_once_and_cancels_its_initializer);
	tcase_add_test(tc, a_set_while_the_permit_is_handed_to_a_waiter_is_ebusy);
	tcase_add_test(tc, a_null_initializer_stores_the_given_value);
	tcase_add_test(tc, the_drop_hook_runs_once_at_free_and_only_for_a_set_cell);
	tcase_add_test(tc, free_while_initializing_or_waiting_is_ebusy);
	tcase_add_test(tc, once_cell_bad_inputs_are_einval);
	tcase_add_test(tc, threads_racing_get_or_init_run_one_successful_initializer_and_see_its_value);
	suite_add_tcase(s, tc);

	TCase *ts = tk_tcase("set_once");
	tcase_add_test(ts, set_once_drop_hook_runs_once_at_free);
	tcase_add_test(ts, set_once_set_twice_is_eexist_and_get_of_unset_is_eagain);
	tcase_add_test(ts, set_once_wait_completes_when_set);
	tcase_add_test(ts, set_once_wait_bound_before_the_set_and_polled_after_completes);
	tcase_add_test(ts, set_once_set_completes_every_waiter);
	tcase_add_test(ts, set_once_a_cancelled_wait_lets_the_set_once_be_freed);
	tcase_add_test(ts, set_once_two_threads_set_and_exactly_one_wins);
	tcase_add_test(ts, set_once_a_blocked_thread_waits_for_a_set_from_another);
	tcase_add_test(ts, set_once_blocking_wait_times_out_when_nobody_sets);
	tcase_add_test(ts, set_once_bad_inputs_are_einval);
	suite_add_tcase(s, ts);
	return s;
}
