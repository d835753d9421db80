/* thread_blocking_spsc: a producer and a consumer on plain OS threads,
 * blocking send/recv (ak_block_on underneath), capacity 1024. */
#include <pthread.h>
#include <stdio.h>

#include "bench.h"

int bk_thread_blocking_spsc(uint64_t size, struct bk_result *r);

struct tb {
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	uint64_t n;
	int64_t sum;
	uint64_t count;
	int rc;
	pthread_barrier_t go;
};

static void *tb_producer(void *arg)
{
	struct tb *t = arg;
	pthread_barrier_wait(&t->go);
	for (uint64_t i = 0; i < t->n; i++) {
		int64_t v = (int64_t)i;
		int rc = ak_mpsc_send_blocking(t->tx, &v, AK_DEADLINE_NEVER);
		if (rc) {
			t->rc = rc;
			break;
		}
	}
	ak_mpsc_tx_drop(t->tx);
	return NULL;
}

int bk_thread_blocking_spsc(uint64_t size, struct bk_result *r)
{
	struct tb t = { 0 };
	pthread_t th;
	int64_t v;

	t.n = size;
	if (ak_mpsc_new(1024, sizeof(int64_t), NULL, &t.tx, &t.rx)) {
		fprintf(stderr, "thread_blocking_spsc: set-up failed\n");
		return -1;
	}
	pthread_barrier_init(&t.go, NULL, 2);
	pthread_create(&th, NULL, tb_producer, &t);
	pthread_barrier_wait(&t.go);
	bk_start(r);
	while (ak_mpsc_recv_blocking(t.rx, &v, AK_DEADLINE_NEVER) == 0) {
		t.sum += v;
		t.count++;
	}
	bk_stop(r);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&t.go);
	ak_mpsc_rx_drop(t.rx);
	int64_t want = (int64_t)(size * (size - 1) / 2);
	if (t.rc || t.count != size || t.sum != want) {
		fprintf(stderr, "thread_blocking_spsc: received %llu (sum %lld), rc %d\n",
		        (unsigned long long)t.count, (long long)t.sum, t.rc);
		return -1;
	}
	return 0;
}
