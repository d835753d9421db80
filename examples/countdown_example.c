/*
 * examples/countdown_example.c: the countdown future of ak_future(3),
 * driven from a plain thread (ak_block_on(3)), on the single-thread
 * executor (ak_executor(3)) and on the thread pool (ak_pool(3)).
 *
 * Those pages quote it verbatim in their EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that they still do, then builds and runs it.
 * Exit status 0 when every countdown finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <awaitkit.h>

struct countdown {
	struct ak_future future;  /* first: this is an ak_future */
	struct ak_yield_op yield;
	int left;
	int yielding;
};

static int countdown_poll(struct ak_future *f, struct ak_context *cx)
{
	struct countdown *c = (struct countdown *)f;
	int rc;

	if ((rc = ak_coop_poll(cx)) != 0)
		return rc;            /* budget spent: already rescheduled */
	while (c->left > 0) {
		if (!c->yielding) {
			ak_yield_init(&c->yield);
			c->yielding = 1;
		}
		if ((rc = ak_future_poll(&c->yield.future, cx)) != 0)
			return rc;    /* AK_PENDING, or an error */
		c->yielding = 0;
		c->left--;
	}
	return 0;
}

static void countdown_cancel(struct ak_future *f)
{
	struct countdown *c = (struct countdown *)f;

	ak_future_cancel(&c->yield.future);  /* no-op unless pending */
}

const struct ak_future_vtable countdown_vtable = {
	countdown_poll, countdown_cancel
};

int countdown_init(struct countdown *c, int n)
{
	memset(c, 0, sizeof(*c));
	c->left = n;
	return ak_future_init(&c->future, &countdown_vtable);
}

/* ak_future(3) and ak_block_on(3): from a plain thread. */
static int on_a_thread(void)
{
	struct countdown c;
	int rc;

	countdown_init(&c, 3);
	rc = ak_block_on(&c.future, ak_deadline_in(1000000000));
	if (rc != 0)
		fprintf(stderr, "countdown: %s\n", ak_strerror(rc));
	return rc == 0 && c.left == 0 ? 0 : 1;
}

/* ak_executor(3): two tasks, then a third driven with a deadline. */
static int on_the_executor(void)
{
	struct ak_executor *ex;
	struct ak_task *t;
	struct countdown a, b, c;
	int polls, rc;

	if (ak_executor_new(&ex) != 0)
		abort();
	countdown_init(&a, 3);
	countdown_init(&b, 5);
	ak_executor_spawn(ex, &a.future, &t);
	ak_executor_spawn(ex, &b.future, NULL);      /* detached */

	polls = ak_executor_run(ex);   /* a and b take turns */
	printf("%d polls, a: %s\n", polls, ak_err_name(ak_task_result(t)));
	ak_task_release(t);

	countdown_init(&c, 10);
	rc = ak_executor_run_until(ex, &c.future, ak_deadline_in(1000000000));
	printf("c: %s\n", ak_strerror(rc));

	ak_executor_free(ex);
	return polls > 0 && rc == 0 && a.left == 0 && b.left == 0 &&
	    c.left == 0 ? 0 : 1;
}

/* ak_pool(3): a thousand tasks on one worker per CPU. */
static int on_the_pool(void)
{
	struct ak_pool *pool;
	struct ak_task *first;
	static struct countdown c[1000];
	int i, rc;

	if (ak_pool_new(&pool, 0) != 0)
		abort();
	for (i = 0; i < 1000; i++) {
		countdown_init(&c[i], 5);
		ak_pool_spawn(pool, &c[i].future, i == 0 ? &first : NULL);
	}
	rc = ak_pool_wait_idle(pool, ak_deadline_in(5000000000));
	printf("idle: %s, first: %s\n", ak_strerror(rc),
	    ak_err_name(ak_task_result(first)));
	ak_task_release(first);
	ak_pool_free(pool);    /* cancels whatever had not finished */
	for (i = 0; i < 1000; i++)
		if (c[i].left != 0)
			return 1;
	return rc;
}

int
main(void)
{
	if (on_a_thread() != 0 || on_the_executor() != 0 || on_the_pool() != 0)
		return 1;
	return 0;
}
