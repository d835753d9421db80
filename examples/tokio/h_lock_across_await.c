/*
 * h_lock_across_await.c: a task that holds a lock across an await, then
 * locks it again (h_lock_across_await.rs).  In tokio the second lock
 * never completes, which the Rust program bounds with a timeout; awaitkit
 * knows the holder is this very task and fails it at once with AK_EDEADLK.
 */
#include <stdio.h>
#include <awaitkit.h>

static int main_co(struct ak_co *co, void *pool)
{
	struct ak_mutex *data;
	struct ak_mutex_lock_op guard, again = { 0 };

	(void)pool;
	if (ak_mutex_new(&data, 0) != 0)
		return AK_ENOMEM;
	int rc = ak_co_lock(co, &guard, data);
	rc = rc != 0 ? rc : ak_co_sleep_for(co, AK_MS(10));    /* guard held across the await */
	ak_mutex_lock_init(&again, data);
	int again_rc = ak_co_timeout(co, &again.future, AK_MS(500));
	printf("second lock: %s (%s)\n", ak_err_name(again_rc), ak_strerror(again_rc));
	ak_mutex_unlock(&guard);
	ak_mutex_free(data);
	return rc == 0 && again_rc == AK_EDEADLK ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
