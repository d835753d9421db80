/*
 * g_spawn_blocking.c: spawn_blocking while a ticker keeps running, on one
 * thread (g_spawn_blocking.rs, current_thread).  The blocking call takes
 * 500 ms (the Rust program's 300 ms, lengthened so that its first 50 ms
 * tick has a tenfold margin): the ticker ticks meanwhile.
 */
#include <stdio.h>
#include <time.h>
#include <awaitkit.h>

static int heavy_computation(void *result)
{
	nanosleep(&(struct timespec){ 0, 500000000 }, NULL);    /* a blocking call */
	*(int *)result = 42;
	return 0;
}

static int ticker(struct ak_co *co, void *arg)
{
	int *ticks = arg;   /* main_co's: the executor runs both on one thread */
	int rc = 0;

	for (; rc == 0 && *ticks < 5; ++*ticks)
		if ((rc = ak_co_sleep_for(co, AK_MS(50))) == 0)
			printf("tick %d\n", *ticks);
	return rc;
}

static int main_co(struct ak_co *co, void *ex)
{
	struct ak_task *t;
	int result = 0, ticks = 0;

	if (ak_co_spawn((struct ak_executor *)ex, ticker, &ticks, &t) != 0)
		return AK_ENOMEM;
	int rc = ak_co_blocking(co, heavy_computation, &result), ticked = ticks;
	printf("blocking call returned %d after %d ticks\n", result, ticked);
	rc = rc != 0 ? rc : ak_co_join(co, t);
	return rc == 0 && result == 42 && ticked >= 1 ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_executor(main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
