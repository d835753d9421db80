/*
 * examples/timeout_example.c: tokio's fetch_all (b_fetch_all.rs) in C:
 * three fetches under try_join inside a 5 s timeout, then the same three
 * under a 50 ms timeout that fires first.
 *
 *	let (a, b, c) = timeout(deadline, async {
 *	    tokio::try_join!(fetch("svc-a", 100), fetch("svc-b", 200),
 *	                     fetch("svc-c", 150))
 *	}).await??;
 *
 * ak_timeout(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs
 * it.  Exit status 0 when the first run fetched all three and the second
 * timed out with nothing fetched.
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

/* async fn fake_fetch(name, delay): sleeps, then says "name: OK". */
struct fetch {
	struct ak_future future;
	struct ak_sleep_op sleep;
	const char *name;
	int64_t delay_ns;
	int started;
	char result[32];
};

static int fetch_poll(struct ak_future *f, struct ak_context *cx)
{
	struct fetch *x = (struct fetch *)f;
	int rc;

	if (!x->started) {
		ak_sleep_for(&x->sleep, x->delay_ns);
		x->started = 1;
	}
	if ((rc = ak_future_poll(&x->sleep.future, cx)) != 0)
		return rc;              /* AK_PENDING, or an error */
	snprintf(x->result, sizeof x->result, "%s: OK", x->name);
	return 0;
}

static void fetch_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct fetch *)f)->sleep.future);
}

static const struct ak_future_vtable fetch_vtable = { fetch_poll, fetch_cancel };

static void fetch_init(struct fetch *x, const char *name, int64_t delay_ms)
{
	memset(x, 0, sizeof *x);
	ak_future_init(&x->future, &fetch_vtable);
	x->name = name;
	x->delay_ns = delay_ms * 1000000;
}

static void fetch_three(struct fetch f[3])
{
	fetch_init(&f[0], "svc-a", 100);
	fetch_init(&f[1], "svc-b", 200);
	fetch_init(&f[2], "svc-c", 150);
}

/* timeout(deadline, try_join!(f[0], f[1], f[2])).await */
static int fetch_all(struct fetch f[3], int64_t timeout_ms)
{
	struct ak_branch b[3] = {
		{ .future = &f[0].future },
		{ .future = &f[1].future },
		{ .future = &f[2].future },
	};
	struct ak_try_join_op join;
	struct ak_timeout_op timeout;

	memset(&join, 0, sizeof join);
	memset(&timeout, 0, sizeof timeout);
	ak_try_join_init(&join, b, 3, 0);
	ak_timeout_init(&timeout, &join.future,
	                ak_deadline_in(timeout_ms * 1000000));
	/* 0: every fetch completed; AK_ETIMEDOUT: the deadline came first
	 * and every fetch still pending was cancelled; otherwise the error
	 * of the fetch that failed. */
	return ak_block_on(&timeout.future, AK_DEADLINE_NEVER);
}

int main(void)
{
	struct fetch f[3];
	int rc, ok = 1;

	fetch_three(f);
	rc = fetch_all(f, 5000);
	printf("fetch_all within 5 s: %s\n", ak_strerror(rc));
	for (int i = 0; i < 3; i++) {
		printf("  %s\n", f[i].result);
		ok &= rc == 0 && strstr(f[i].result, ": OK") != NULL;
	}

	fetch_three(f);
	rc = fetch_all(f, 50);
	printf("fetch_all within 50 ms: %s\n", ak_strerror(rc));
	ok &= rc == AK_ETIMEDOUT;
	for (int i = 0; i < 3; i++)
		ok &= f[i].result[0] == '\0';
	return ok ? 0 : 1;
}
