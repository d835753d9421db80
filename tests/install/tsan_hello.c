/*
 * An outside program for make check-install, built with clang-16
 * -fsanitize=thread against an installed awaitkit-tsan.pc alone (never the
 * source tree), then run: four coroutine tasks on a pool of two workers add
 * to a plain counter under an ak_mutex and send what they counted to the
 * main coroutine over a channel, each through a sender of its own.  The data is handed from thread to thread
 * only through the library, so ThreadSanitizer sees every hand-over only
 * when the library is instrumented too: against libawaitkit-tsan.a the run
 * is clean.  Exits 0 and prints one line when all held.
 */
#include <stdio.h>
#include <awaitkit.h>

struct shared {
	struct ak_mutex *lock;      /* guards counter */
	long counter;
};

struct adder {
	struct shared *s;
	struct ak_mpsc_tx *tx;      /* the task's own, dropped as it ends */
};

static int add(struct ak_co *co, void *arg)
{
	struct adder *a = arg;
	struct shared *s = a->s;
	long mine = 0;
	int rc = 0;

	for (int i = 0; i < 100; i++) {
		struct ak_mutex_lock_op guard;
		if ((rc = ak_co_lock(co, &guard, s->lock)) != 0)
			break;
		s->counter++;
		mine++;
		ak_co_yield(co);
		ak_mutex_unlock(&guard);
	}
	if (rc == 0)
		rc = ak_co_send(co, a->tx, &mine);
	ak_mpsc_tx_drop(a->tx);
	return rc;
}

static int main_co(struct ak_co *co, void *pool)
{
	static struct shared s;
	static struct adder a[4];
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	long got, total = 0;
	int rc = ak_mutex_new(&s.lock, 0);

	if (rc != 0 || (rc = ak_mpsc_new(4, sizeof got, NULL, &tx, &rx)) != 0)
		return rc;
	for (int i = 0; rc == 0 && i < 4; i++) {
		a[i].s = &s;
		if ((rc = ak_mpsc_tx_clone(tx, &a[i].tx)) == 0)
			rc = ak_co_spawn((struct ak_pool *)pool, add, &a[i], NULL);
	}
	ak_mpsc_tx_drop(tx);        /* the channel closes when the last task ends */
	while (rc == 0 && ak_co_recv(co, rx, &got) == 0)
		total += got;
	ak_mpsc_rx_drop(rx);
	ak_mutex_free(s.lock);
	printf("tsan_hello: counter %ld, tasks counted %ld\n", s.counter, total);
	return rc == 0 && s.counter == 400 && total == 400 ? 0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(2, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
