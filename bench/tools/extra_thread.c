/*
 * bench/tools/extra_thread.c: a preload that makes a process
 * multi-threaded before main() runs.
 *
 *	cc -O2 -shared -fPIC -o extra_thread.so bench/tools/extra_thread.c -pthread
 *	LD_PRELOAD=./extra_thread.so bench/out/bin/peer-awaitkit pingpong_mpsc
 *
 * Its constructor starts one thread that sleeps in pause(2) for good, so
 * glibc's __libc_single_threaded is false from the start: the library's
 * one-thread rule (core/shim.h: plain stores for its locks and its
 * primitives' words while the process has one thread) is off, as in any
 * program that has started a thread.  bench/README.md, "Single-thread
 * workloads and the process's thread count", gives the figures.
 */
#include <pthread.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

__attribute__((constructor)) static void start_sleeper(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, sleeper, NULL) == 0)
		pthread_detach(t);
}
