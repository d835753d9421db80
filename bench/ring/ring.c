/*
 * bench/ring/ring.c: the reference row for spsc_bounded.
 *
 * A plain single-producer single-consumer lock-free ring of 1024 slots
 * between two threads: the physical limit any spsc channel is measured
 * against.  The head (consumer) and tail (producer) indices live on their
 * own cache lines; each side keeps a cached copy of the other's index and
 * rereads the shared one only when the cached copy says full (producer) or
 * empty (consumer).  A side that finds no room or nothing to read spins
 * with a pause a few times, then yields, so that it degrades gracefully
 * when the two threads share one CPU.
 *
 * Bench code, not library code: plain C11 atomics and malloc are fine here.
 *
 *   ring <workload> [--size N]
 *
 * Only spsc_bounded is implemented; any other workload exits with status 3.
 * Prints one line:
 *   RESULT workload=spsc_bounded impl=ring ops=N ns_per_op=F allocs_per_op=0
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP 1024u /* a power of two */
#define LINE 64
#define SPINS 64
#define DEFAULT_OPS 100000000ull

struct ring {
	/* consumer's line: the index it publishes, and its copy of tail */
	_Alignas(LINE) _Atomic uint64_t head;
	uint64_t tail_cache;
	/* producer's line: the index it publishes, and its copy of head */
	_Alignas(LINE) _Atomic uint64_t tail;
	uint64_t head_cache;
	_Alignas(LINE) uint64_t slot[CAP];
};

static struct ring *R;
static uint64_t n_ops;
static uint64_t consumed_sum;

static inline void relax(unsigned *spins)
{
	if (++*spins < SPINS) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	} else {
		*spins = 0;
		sched_yield();
	}
}

static void *consumer(void *arg)
{
	(void)arg;
	uint64_t head = 0, sum = 0;
	unsigned spins = 0;
	while (head < n_ops) {
		if (head == R->tail_cache) {
			/* pairs with the producer's release store of tail */
			R->tail_cache = atomic_load_explicit(&R->tail,
			                                     memory_order_acquire);
			if (head == R->tail_cache) {
				relax(&spins);
				continue;
			}
		}
		sum += R->slot[head & (CAP - 1)];
		head++;
		/* frees the slot: pairs with the producer's acquire load */
		atomic_store_explicit(&R->head, head, memory_order_release);
	}
	consumed_sum = sum;
	return NULL;
}

static void producer(void)
{
	uint64_t tail = 0;
	unsigned spins = 0;
	while (tail < n_ops) {
		if (tail - R->head_cache == CAP) {
			/* pairs with the consumer's release store of head */
			R->head_cache = atomic_load_explicit(&R->head,
			                                     memory_order_acquire);
			if (tail - R->head_cache == CAP) {
				relax(&spins);
				continue;
			}
		}
		R->slot[tail & (CAP - 1)] = tail;
		tail++;
		/* publishes the slot: pairs with the consumer's acquire load */
		atomic_store_explicit(&R->tail, tail, memory_order_release);
	}
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int run(uint64_t ops, int64_t *elapsed)
{
	pthread_t t;
	R = aligned_alloc(LINE, sizeof *R);
	if (!R)
		return -1;
	memset(R, 0, sizeof *R);
	n_ops = ops;
	int64_t t0 = now_ns();
	if (pthread_create(&t, NULL, consumer, NULL) != 0)
		return -1;
	producer();
	pthread_join(t, NULL);
	*elapsed = now_ns() - t0;
	free(R);
	/* the consumer must have seen 0 + 1 + ... + ops-1 */
	return consumed_sum == ops * (ops - 1) / 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint64_t ops = DEFAULT_OPS;
	if (argc < 2) {
		fprintf(stderr, "usage: ring <workload> [--size N]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			ops = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "ring: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (strcmp(argv[1], "spsc_bounded") != 0) {
		fprintf(stderr, "ring: only spsc_bounded is implemented\n");
		return 3;
	}
	if (ops == 0) {
		fprintf(stderr, "ring: --size must be positive\n");
		return 2;
	}
	int64_t elapsed;
	/*
	 * The warm-up every implementation runs (bench/README.md, "The
	 * warm-up"): a twentieth of the size, at least 1000, at most the size.
	 */
	uint64_t warm = ops / 20 > 1000 ? ops / 20 : 1000;
	if (warm > ops)
		warm = ops;
	if (run(warm, &elapsed) != 0 || run(ops, &elapsed) != 0) {
		fprintf(stderr, "ring: lost or corrupted messages\n");
		return 1;
	}
	printf("RESULT workload=spsc_bounded impl=ring ops=%" PRIu64
	       " ns_per_op=%.3f allocs_per_op=0\n",
	       ops, (double)elapsed / (double)ops);
	return 0;
}
