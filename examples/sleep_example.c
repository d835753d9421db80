/*
 * examples/sleep_example.c: the sleep of ak_sleep_until(3): a plain thread
 * sleeps, and a user's own future wakes itself at deadlines.
 *
 * ak_sleep_until(3) quotes it verbatim in its EXAMPLES;
 * scripts/man-examples.sh (make check-examples) checks that it still does,
 * then builds and runs it.  Exit status 0 when both slept as long as asked.
 */
#include <string.h>
#include <awaitkit.h>

static int plain_thread(void)
{
	int64_t start = ak_now();

	struct ak_sleep_op nap;
	int rc;

	ak_sleep_until(&nap, ak_deadline_in(100 * 1000000));
	rc = ak_block_on(&nap.future, AK_DEADLINE_NEVER);   /* 0 */
	return rc == 0 && ak_now() - start >= 100 * 1000000 ? 0 : 1;
}

struct tick {
	struct ak_future future;
	struct ak_sleep_op sleep;
	int count;
};

static int tick_poll(struct ak_future *f, struct ak_context *cx)
{
	struct tick *t = (struct tick *)f;

	for (;;) {
		int rc = ak_future_poll(&t->sleep.future, cx);
		if (rc != 0)
			return rc;          /* AK_PENDING, or an error */
		if (++t->count == 3)
			return 0;
		ak_sleep_until(&t->sleep, ak_deadline_in(10 * 1000000));
	}
}

static void tick_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct tick *)f)->sleep.future);
}

static const struct ak_future_vtable tick_vtable = {
	tick_poll, tick_cancel
};

static int ticks(void)
{
	int64_t start = ak_now();
	struct tick t;
	int rc;

	memset(&t, 0, sizeof t);
	ak_future_init(&t.future, &tick_vtable);
	ak_sleep_until(&t.sleep, ak_deadline_in(10 * 1000000));
	rc = ak_block_on(&t.future, ak_deadline_in(1000000000));
	return rc == 0 && t.count == 3 && ak_now() - start >= 30 * 1000000 ? 0 : 1;
}

int
main(void)
{
	return plain_thread() != 0 || ticks() != 0;
}
