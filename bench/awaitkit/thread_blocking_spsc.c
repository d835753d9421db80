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

/* Each side works on locals and touches the shared record only before
 * and after its loop, as the Rust peer's closures do: the consumer's
 * running sum and count in *t would share a line with the n and tx that
 * the producer reads at every send. */
static void *tb_producer(void *arg)
{
	struct tb *t = arg;
	struct ak_mpsc_tx *tx = t->tx;
	uint64_t n = t->n;
	int rc = 0;
	pthread_barrier_wait(&t->go);
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		int64_t v = (int64_t)i;
		rc = ak_mpsc_send_blocking(tx, &v, AK_DEADLINE_NEVER);
	}
	t->rc = rc;
	ak_mpsc_tx_drop(tx);
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
	struct ak_mpsc_rx *rx = t.rx;
	int64_t sum = 0;
	uint64_t count = 0;
	bk_start(r);
	while (ak_mpsc_recv_blocking(rx, &v, AK_DEADLINE_NEVER) == 0) {
		sum += v;
		count++;
	}
	bk_stop(r);
	t.sum = sum;
	t.count = count;
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
