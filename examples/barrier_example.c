/*
 * examples/barrier_example.c: the barrier of ak_barrier(3): worker threads
 * run in lock-step phases, and the leader of each generation prepares the
 * next phase while the others wait at the second meeting.
 *
 * ak_barrier(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when every worker computed every phase once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <awaitkit.h>

#define WORKERS 4
#define PHASES 10

static struct ak_barrier *b;
static int phase;                /* written by a leader between meetings */
static atomic_int computed[PHASES];

static void compute(int p)
{
	atomic_fetch_add(&computed[p], 1);
}

static int next_phase(int p)
{
	return p + 1;
}

static void *worker(void *arg)
{
	(void)arg;
	struct ak_barrier_wait_op op = {0};
	int leader;

	while (phase < PHASES) {
		compute(phase);
		ak_barrier_wait_blocking(&op, b, &leader, AK_DEADLINE_NEVER);
		if (leader)
			phase = next_phase(phase);
		ak_barrier_wait_blocking(&op, b, NULL, AK_DEADLINE_NEVER);
	}
	return NULL;
}

int
main(void)
{
	pthread_t t[WORKERS];
	int i;

	if (ak_barrier_new(&b, WORKERS) != 0)
		return 1;
	for (i = 0; i < WORKERS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0)
			return 1;
	for (i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	ak_barrier_free(b);
	for (i = 0; i < PHASES; i++)
		if (atomic_load(&computed[i]) != WORKERS)
			return 1;
	return 0;
}
