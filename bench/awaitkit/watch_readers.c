/*
 * watch_readers: 1 writer task and 4 reader tasks on a pool of 2 workers
 * share an ak_watch channel of uint64_t (the tokio peer: tokio::sync::watch
 * on a multi_thread runtime of 2 workers).  The writer sends 1..size,
 * yielding every 64 sends; each reader borrows in a loop (borrow, read,
 * release), checks the values never go back, and every 64 borrows looks at
 * the stop flag and yields.  The timed section ends when the writer has
 * sent its last value.  ns per writer update; borrows_per_sec_per_reader
 * over the same time.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define READERS 4

static atomic_int stop;
static atomic_int failed;
/* The main thread sleeps until the writer is done (a polling main thread
 * would take CPU time from the two workers). */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int writer_done;              /* done_lock */
static int64_t writer_end;           /* done_lock */

static void signal_done(void)
{
	pthread_mutex_lock(&done_lock);
	writer_done = 1;
	writer_end = ak_now();
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

struct reader {
	struct ak_future future;
	struct ak_watch_receiver *rx;
	struct ak_await aw;
	uint64_t borrows, last;
	int monotonic;
};

static int reader_poll(struct ak_future *f, struct ak_context *cx)
{
	struct reader *t = (struct reader *)f;
	struct ak_watch_ref ref;

	AK_BEGIN(&t->aw, cx);
	for (;;) {
		/* A round of 64 borrows keeps its receiver and counts in
		 * locals, stored before the yield, as the Rust peer's async
		 * block keeps them in registers between its awaits (a store
		 * per borrow into the records, which share cache lines, made
		 * one reader's counts the line its neighbour reads). */
		struct ak_watch_receiver *rx = t->rx;
		uint64_t last = t->last;
		int monotonic = 1;
		for (int i = 0; i < 64; i++) {
			if (ak_watch_borrow(rx, &ref) != 0) {
				atomic_store(&failed, 1);
				AK_RETURN(&t->aw, AK_EINVAL);
			}
			uint64_t v;
			memcpy(&v, ref.value, sizeof v);
			ak_watch_ref_release(&ref);
			if (v < last)
				monotonic = 0;
			last = v;
		}
		t->last = last;
		t->monotonic &= monotonic;
		t->borrows += 64;
		/* acquire: pairs with the main thread's release store. */
		if (atomic_load_explicit(&stop, memory_order_acquire))
			break;
		AK_YIELD(&t->aw);
	}
	AK_CLEANUP(&t->aw);
	AK_END(&t->aw);
}

static void reader_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct reader *)f)->aw, f);
}

static const struct ak_future_vtable reader_vtable = { reader_poll, reader_cancel };

struct writer {
	struct ak_future future;
	struct ak_watch_sender *tx;
	struct ak_await aw;
	uint64_t i, n;
};

static int writer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct writer *t = (struct writer *)f;

	AK_BEGIN(&t->aw, cx);
	for (t->i = 1; t->i <= t->n; t->i++) {
		if (ak_watch_send(t->tx, &t->i) != 0) {
			atomic_store(&failed, 1);
			signal_done();
			AK_RETURN(&t->aw, AK_EPIPE);
		}
		if (t->i % 64 == 0)
			AK_YIELD(&t->aw);
	}
	signal_done();
	AK_CLEANUP(&t->aw);
	AK_END(&t->aw);
}

static void writer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct writer *)f)->aw, f);
}

static const struct ak_future_vtable writer_vtable = { writer_poll, writer_cancel };

int bk_watch_readers(uint64_t size, struct bk_result *r)
{
	static struct reader readers[READERS];
	static struct writer w;
	struct ak_pool *pool = NULL;
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL;
	uint64_t zero = 0;

	memset(readers, 0, sizeof readers);
	memset(&w, 0, sizeof w);
	atomic_store(&stop, 0);
	writer_done = 0;
	if (ak_pool_new(&pool, bk_workers) != 0 ||
	    ak_watch_new(sizeof(uint64_t), &zero, NULL, &tx, &rx) != 0) {
		fprintf(stderr, "watch_readers: set-up failed\n");
		return -1;
	}
	for (int i = 0; i < READERS; i++) {
		if (ak_watch_receiver_clone(rx, &readers[i].rx) != 0) {
			fprintf(stderr, "watch_readers: receiver_clone failed\n");
			return -1;
		}
		readers[i].monotonic = 1;
		ak_future_init(&readers[i].future, &reader_vtable);
	}
	w.tx = tx;
	w.n = size;
	ak_future_init(&w.future, &writer_vtable);

	bk_start(r);
	for (int i = 0; i < READERS; i++)
		ak_pool_spawn(pool, &readers[i].future, NULL);
	ak_pool_spawn(pool, &w.future, NULL);
	pthread_mutex_lock(&done_lock);
	while (!writer_done)
		pthread_cond_wait(&done_cond, &done_lock);
	int64_t end = writer_end;
	pthread_mutex_unlock(&done_lock);
	bk_stop(r);
	r->elapsed = end - r->t0;
	/* release: pairs with the readers' acquire loads. */
	atomic_store_explicit(&stop, 1, memory_order_release);
	if (ak_pool_wait_idle(pool, ak_deadline_in(10 * 1000000000LL)) != 0) {
		fprintf(stderr, "watch_readers: the tasks did not finish\n");
		return -1;
	}

	uint64_t borrows = 0;
	int monotonic = 1;
	for (int i = 0; i < READERS; i++) {
		borrows += readers[i].borrows;
		monotonic &= readers[i].monotonic;
	}
	struct ak_watch_ref ref;
	uint64_t last = 0;
	if (ak_watch_borrow(rx, &ref) == 0) {
		memcpy(&last, ref.value, sizeof last);
		ak_watch_ref_release(&ref);
	}
	for (int i = 0; i < READERS; i++)
		ak_watch_receiver_drop(readers[i].rx);
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	ak_pool_free(pool);
	if (atomic_load(&failed) || !monotonic || last != size) {
		fprintf(stderr, "watch_readers: failed (monotonic %d, last %llu of %llu)\n",
		        monotonic, (unsigned long long)last, (unsigned long long)size);
		return -1;
	}
	double secs = (double)r->elapsed / 1e9;
	bk_extra(r, "borrows_per_sec_per_reader=%.0f", (double)borrows / READERS / secs);
	return 0;
}
