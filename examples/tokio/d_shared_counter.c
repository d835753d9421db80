/*
 * d_shared_counter.c: Arc<Mutex<u64>> (d_shared_counter.rs).  Eight tasks
 * on a pool of four workers each add 1000 to a counter under the mutex,
 * yielding while they hold it; no increment is lost.
 */
#include <stdio.h>
#include <awaitkit.h>

struct counter {
	struct ak_mutex *lock;      /* guards value */
	uint64_t value;
};

static int increment(struct ak_co *co, void *arg)
{
	struct counter *c = arg;

	for (int i = 0; i < 1000; i++) {
		struct ak_mutex_lock_op guard;
		int rc = ak_co_lock(co, &guard, c->lock);

		if (rc != 0)
			return rc;
		uint64_t v = c->value;
		ak_co_yield(co);    /* held across an await */
		c->value = v + 1;
		ak_mutex_unlock(&guard);
	}
	return 0;
}

static int main_co(struct ak_co *co, void *pool)
{
	static struct counter c;    /* static: outlives a failed main_co's tasks */
	struct ak_task *h[8];
	int rc = ak_mutex_new(&c.lock, 0);

	for (int i = 0; rc == 0 && i < 8; i++)
		rc = ak_co_spawn((struct ak_pool *)pool, increment, &c, &h[i]);
	for (int i = 0; rc == 0 && i < 8; i++)
		rc = ak_co_join(co, h[i]);
	printf("counter = %llu\n", (unsigned long long)c.value);
	ak_mutex_free(c.lock);
	return rc == 0 && c.value == 8000 ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(4, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
