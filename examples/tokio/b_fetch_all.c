/*
 * b_fetch_all.c: try_join! inside tokio::time::timeout (b_fetch_all.rs).
 * Three fetches run as tasks on the pool; fetch_all() joins them under a
 * deadline and stops at the first failure.  Run three times: all succeed,
 * one service refuses, and a deadline far shorter than the fetches.
 */
#include <stdio.h>
#include <awaitkit.h>

struct fetch {
	const char *name;
	int delay_ms, error;    /* error: what the service answers, 0 for OK */
	char result[24];
};

static int fake_fetch(struct ak_co *co, void *arg)
{
	struct fetch *f = arg;
	int rc = ak_co_sleep_for(co, AK_MS(f->delay_ms));

	snprintf(f->result, sizeof f->result, "%s: OK", f->name);
	return rc != 0 ? rc : f->error;
}

/* 0 with every result written, or the first error: a fetch's, or
 * AK_ETIMEDOUT.  As in tokio, the fetches left running are detached, not
 * cancelled (that would be ak_task_cancel, JoinHandle::abort). */
static int fetch_all(struct ak_co *co, struct ak_pool *pool, struct fetch *f, int64_t timeout)
{
	struct ak_task *h[3];
	struct ak_task_join_op join[3];
	struct ak_branch b[3];

	for (int i = 0; i < 3; i++) {
		if (ak_co_spawn(pool, fake_fetch, &f[i], &h[i]) != 0)
			return AK_ENOMEM;
		b[i] = ak_co_join_branch(&join[i], h[i]);
	}
	int rc = ak_co_try_join_timeout(co, b, 3, timeout, NULL);
	for (int i = 0; i < 3; i++)
		ak_task_release(h[i]);
	return rc;
}

static int main_co(struct ak_co *co, void *pool)
{
	/* static: a detached fetch may outlive fetch_all() */
	static struct fetch ok[3] = { { "svc-a", 100, 0, "" }, { "svc-b", 200, 0, "" },
				      { "svc-c", 150, 0, "" } };
	static struct fetch down[3] = { { "svc-a", 100, 0, "" }, { "svc-b", 20, AK_EPIPE, "" },
					{ "svc-c", 150, 0, "" } };
	int rc = fetch_all(co, pool, ok, AK_SEC(5));

	for (int i = 0; rc == 0 && i < 3; i++)
		printf("%s\n", ok[i].result);
	int refused = fetch_all(co, pool, down, AK_SEC(5)), late = fetch_all(co, pool, ok, AK_MS(10));
	printf("one refused: %s; 10 ms deadline: %s\n", ak_err_name(refused), ak_err_name(late));
	return rc == 0 && refused == AK_EPIPE && late == AK_ETIMEDOUT ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
