/*
 * c_race.c: select! as a race, first to complete wins (c_race.rs).  In
 * each round a task sends 42 on a channel after a delay while the main
 * coroutine selects between the channel and a 100 ms timer.  The delays
 * are 5 and 1000 ms (the Rust program's 50 and 200 ms are too close to
 * the timer for a check that must hold on a loaded machine).
 */
#include <stdio.h>
#include <awaitkit.h>

struct round {
	struct ak_mpsc_tx *tx;
	int producer_delay_ms, got, won;
};

static int produce(struct ak_co *co, void *arg)
{
	struct round *r = arg;
	int rc = ak_co_sleep_for(co, AK_MS(r->producer_delay_ms));

	/* The receiver may be gone (the timer won): AK_EPIPE, ignored. */
	rc = rc != 0 ? rc : ak_co_send(co, r->tx, &(int){ 42 });
	ak_mpsc_tx_drop(r->tx);
	return rc;
}

static int main_co(struct ak_co *co, void *pool)
{
	/* static: a producer that lost the race outlives its round */
	static struct round r[2] = { { NULL, 5, 0, -1 }, { NULL, 1000, 0, -1 } };

	for (int i = 0; i < 2; i++) {
		struct ak_mpsc_rx *rx;
		struct ak_mpsc_recv_op recv;
		struct ak_sleep_op timer;

		if (ak_mpsc_new(1, sizeof(int), NULL, &r[i].tx, &rx) != 0 ||
		    ak_co_spawn((struct ak_pool *)pool, produce, &r[i], NULL) != 0)
			return AK_ENOMEM;
		struct ak_branch b[2] = { ak_co_recv_branch(&recv, rx, &r[i].got),
					  ak_co_sleep_branch(&timer, AK_MS(100)) };
		r[i].won = ak_co_select(co, b, 2, 0);
		printf(r[i].won == 0 ? "channel won: %d\n" : "timeout won\n", r[i].got);
		ak_mpsc_rx_drop(rx);
	}
	return r[0].won == 0 && r[1].won == 1 ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
