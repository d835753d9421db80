/*
 * examples/mutex_example.c: the mutex of ak_mutex(3): a task that holds
 * the lock across an await and releases it from its cleanup block when it
 * is dropped, and a task that locks twice and gets the self-deadlock report.
 *
 * ak_mutex(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when the lock ends free and the self-deadlock was reported.
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

struct job {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *m;
	struct ak_mutex_lock_op guard;
	struct ak_sleep_op nap;
	int rc;
};

static int job_poll(struct ak_future *f, struct ak_context *cx)
{
	struct job *j = (struct job *)f;

	AK_BEGIN(&j->aw, cx);
	ak_mutex_lock_init(&j->guard, j->m);
	AK_AWAIT(&j->aw, &j->guard.future, j->rc);
	if (j->rc != 0)
		AK_RETURN(&j->aw, j->rc);
	ak_sleep_until(&j->nap, ak_deadline_in(1000000));
	AK_AWAIT(&j->aw, &j->nap.future, j->rc);   /* still held */
	ak_mutex_unlock(&j->guard);
	AK_CLEANUP(&j->aw);
	ak_mutex_unlock(&j->guard);   /* AK_EINVAL if not held */
	AK_END(&j->aw);
}

static void job_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct job *)f)->aw, f);
}

static const struct ak_future_vtable job_vtable = {
	job_poll, job_cancel
};

static void job_init(struct job *j, struct ak_mutex *m)
{
	memset(j, 0, sizeof(*j));
	j->m = m;
	ak_future_init(&j->future, &job_vtable);
}

/* Run to the end, then dropped while it holds the lock. */
static int hold_across_an_await(struct ak_mutex *m)
{
	struct ak_executor *ex;
	struct ak_yield_op turn;
	struct job j;

	job_init(&j, m);
	if (ak_block_on(&j.future, ak_deadline_in(1000000000)) != 0 ||
	    ak_mutex_is_locked(m))
		return 1;
	if (ak_executor_new(&ex) != 0)
		return 1;
	job_init(&j, m);
	ak_executor_spawn(ex, &j.future, NULL);
	memset(&turn, 0, sizeof(turn)); /* operations start zeroed (idle) */
	ak_yield_init(&turn);           /* one turn: the job takes the lock */
	ak_executor_run_until(ex, &turn.future, AK_DEADLINE_NEVER);
	if (!ak_mutex_is_locked(m))
		return 1;
	ak_executor_free(ex);           /* cancels it: its cleanup unlocks */
	return ak_mutex_is_locked(m) ? 1 : 0;
}

struct twice {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *m;
	struct ak_mutex_lock_op guard, again;
	int rc;
};

static int twice_poll(struct ak_future *f, struct ak_context *cx)
{
	struct twice *j = (struct twice *)f;

	AK_BEGIN(&j->aw, cx);
	ak_mutex_lock_init(&j->guard, j->m);          /* app.c:41 */
	AK_AWAIT(&j->aw, &j->guard.future, j->rc);
	AK_YIELD(&j->aw);                             /* held across it */
	ak_mutex_lock_init(&j->again, j->m);          /* app.c:44 */
	AK_AWAIT(&j->aw, &j->again.future, j->rc);
	if (j->rc == AK_EDEADLK) {
		struct ak_lock_info who;
		ak_mutex_holder(j->m, cx->slot, &who);
		fprintf(stderr, "self-deadlock: task %llu already holds "
		    "the mutex since %s:%d, for %lld ms, across %llu "
		    "pending polls\n", (unsigned long long)who.task,
		    who.file, who.line, (long long)(who.held_ns / 1000000),
		    (unsigned long long)who.pending_polls);
	}
	ak_mutex_unlock(&j->guard);
	AK_RETURN(&j->aw, j->rc);
	AK_END(&j->aw);
}

static void twice_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct twice *)f)->aw, f);
}

static const struct ak_future_vtable twice_vtable = {
	twice_poll, twice_cancel
};

static int lock_twice(struct ak_mutex *m)
{
	struct twice j;

	memset(&j, 0, sizeof j);
	j.m = m;
	ak_future_init(&j.future, &twice_vtable);
	if (ak_block_on(&j.future, ak_deadline_in(1000000000)) != AK_EDEADLK)
		return 1;
	return ak_mutex_is_locked(m) ? 1 : 0;
}

int
main(void)
{
	struct ak_mutex *m;
	int fails;

	/* AK_LOCK_STATS: the holder query also says for how long. */
	if (ak_mutex_new(&m, AK_LOCK_STATS) != 0)
		return 1;
	fails = hold_across_an_await(m) + lock_twice(m);
	ak_mutex_free(m);
	return fails != 0;
}
