/*
 * a_spawn_join.c: tokio::spawn and join! (a_spawn_join.rs).  Three tasks
 * on the pool sleep 200, 100 and 150 ms at once; the main coroutine joins
 * them, so the whole takes about 200 ms, not 450.
 */
#include <stdio.h>
#include <awaitkit.h>

struct fetch {
	const char *result;
	int delay_ms;
};

static int fetch(struct ak_co *co, void *arg)
{
	return ak_co_sleep_for(co, AK_MS(((struct fetch *)arg)->delay_ms));
}

static int main_co(struct ak_co *co, void *pool)
{
	struct fetch f[3] = { { "fetched user profile", 200 }, { "fetched order history", 100 },
			      { "fetched recommendations", 150 } };
	struct ak_task *h[3];
	int rc = 0;

	for (int i = 0; i < 3; i++)
		if (ak_co_spawn((struct ak_pool *)pool, fetch, &f[i], &h[i]) != 0)
			return AK_ENOMEM;
	/* Joined in order: the three run meanwhile, as under join!. */
	for (int i = 0; i < 3; i++)
		if ((rc = ak_co_join(co, h[i])) == 0)
			printf("%s\n", f[i].result);
	return rc;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
