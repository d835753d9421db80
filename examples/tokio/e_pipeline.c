/*
 * e_pipeline.c: a two-stage pipeline over bounded channels
 * (e_pipeline.rs).  The producer sends 1..20, a stage squares them, the
 * main coroutine sums them slowly; with capacities of 4, the producer
 * cannot finish before the consumer has taken at least 10 values (4 in
 * each channel, one in the stage's hands, one in the consumer's).
 */
#include <stdio.h>
#include <awaitkit.h>

struct pipeline {
	struct ak_mpsc_tx *tx, *tx2;
	struct ak_mpsc_rx *rx, *rx2;
	_Atomic int taken;          /* values the consumer has summed */
};

static int produce(struct ak_co *co, void *arg)
{
	struct pipeline *p = arg;
	int rc = 0;

	for (unsigned long long i = 1; rc == 0 && i <= 20; i++)
		rc = ak_co_send(co, p->tx, &i);     /* waits while the channel is full */
	int taken = p->taken;

	printf("producer done after the consumer took %d\n", taken);
	ak_mpsc_tx_drop(p->tx);
	return rc == 0 && taken < 10 ? AK_EINVAL : rc;     /* no backpressure */
}

static int square(struct ak_co *co, void *arg)
{
	struct pipeline *p = arg;
	unsigned long long i;
	int rc = 0;

	while (rc == 0 && ak_co_recv(co, p->rx, &i) == 0)
		rc = ak_co_send(co, p->tx2, &(unsigned long long){ i * i });
	ak_mpsc_rx_drop(p->rx);
	ak_mpsc_tx_drop(p->tx2);
	return rc;
}

static int main_co(struct ak_co *co, void *pool)
{
	static struct pipeline p;   /* static: outlives a failed main_co's tasks */
	struct ak_task *producer, *stage;
	unsigned long long v, sum = 0;
	int64_t start = ak_now();

	if (ak_mpsc_new(4, sizeof v, NULL, &p.tx, &p.rx) != 0 ||
	    ak_mpsc_new(4, sizeof v, NULL, &p.tx2, &p.rx2) != 0 ||
	    ak_co_spawn((struct ak_pool *)pool, produce, &p, &producer) != 0 ||
	    ak_co_spawn((struct ak_pool *)pool, square, &p, &stage) != 0)
		return AK_ENOMEM;
	while (ak_co_recv(co, p.rx2, &v) == 0) {
		ak_co_sleep_for(co, AK_MS(10));     /* slow consumer */
		sum += v;
		p.taken++;
	}
	ak_mpsc_rx_drop(p.rx2);
	int rc = ak_co_join(co, producer), stage_rc = ak_co_join(co, stage);
	printf("sum = %llu after %lld ms\n", sum, (long long)((ak_now() - start) / AK_MS(1)));
	return rc == 0 && stage_rc == 0 && sum == 2870 ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
