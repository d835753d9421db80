/*
 * core/shim_futex.c: the shim's half that talks to the kernel: the futex
 * wait and wake, the yield, the asymmetric fence pair (membarrier(2)) and
 * the internal lock's slow halves.  See core/shim.h; core/shim.c holds the
 * counters, the block cache, the allocator and the stacks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <awaitkit/error.h>

/* In the simulation build this file is the shim's own half, as
 * core/shim.c is: the futex's points are at its callers
 * (core/shim_sim.h). */
#define AK__SIM_RAW 1
#include "shim.h"

int ak__futex_wait(ak__atomic(uint32_t) *addr, uint32_t expected, int64_t deadline)
{
	struct timespec ts, *tsp = NULL;

	if (deadline != INT64_MAX) {
		if (deadline < 0)
			deadline = 0;
		ts.tv_sec = (time_t)(deadline / 1000000000);
		ts.tv_nsec = (long)(deadline % 1000000000);
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout.  The
	 * caller's errno is saved and restored: the library never changes it. */
	int saved = errno;
	long rc = syscall(SYS_futex, (void *)addr, FUTEX_WAIT_BITSET_PRIVATE,
	                  expected, tsp, NULL, FUTEX_BITSET_MATCH_ANY);
	int e = rc == -1 ? errno : 0;
	errno = saved;
	return e == ETIMEDOUT ? AK_ETIMEDOUT : 0;
}

void ak__futex_wake(ak__atomic(uint32_t) *addr, int nwake)
{
	int saved = errno;
	syscall(SYS_futex, (void *)addr, FUTEX_WAKE_PRIVATE, nwake, NULL, NULL, 0);
	errno = saved;
}

void ak__yield(void)
{
	int saved = errno;
	sched_yield();
	errno = saved;
}

/* The asymmetric fence pair (shim.h).  Registration is once per process;
 * the flag says it worked. */
static ak__atomic(int) membarrier_ok;
static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;

static int membarrier_register(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

static void membarrier_init(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) && membarrier_register())
		atomic_store_explicit(&membarrier_ok, 1, memory_order_relaxed);
}

int ak__fence_heavy_ready(void)
{
	int saved = errno;
	/* The once orders the flag's store before our load. */
	pthread_once(&membarrier_once, membarrier_init);
	errno = saved;
	return atomic_load_explicit(&membarrier_ok, memory_order_relaxed);
}

void ak__fence_heavy(void)
{
	int saved = errno;
	atomic_thread_fence(memory_order_seq_cst);
	/* Only called once ak__fence_heavy_ready() said 1 (in this process:
	 * a child of fork() registers again).  Nothing else is correct if it
	 * cannot run. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0 &&
	    (!membarrier_register() ||
	     syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0))
		abort();
	errno = saved;
}

/* Checks of a held lock before sleeping: the library's critical sections
 * are a few dozen instructions, a futex round trip several microseconds. */
#define LOCK_SPINS 100

/* Out of line, both: LTO would inline them into ak__lock() and
 * ak__unlock(), which then grow past inlining at their callers (a call, a
 * frame and three saved registers per unlock of the one-thread path). */
__attribute__((noinline)) void ak__lock_slow(struct ak__lock *l)
{
	for (int i = 0; i < LOCK_SPINS; i++) {
		uint32_t free_ = 0;
		if (ak__load(&l->word, AK__RELAXED) == 0 &&
		    ak__cas(&l->word, &free_, 1u, AK__ACQUIRE, AK__RELAXED))
			return;
		ak__cpu_relax();
	}
	/* Mark it contended; whoever held it wakes a sleeper at unlock.  We
	 * may own it with 2 although nobody sleeps: one spare wake, no harm.
	 * acquire: as in ak__lock(). */
	while (ak__xchg(&l->word, 2u, AK__ACQUIRE) != 0)
		ak__futex_wait(&l->word, 2u, INT64_MAX);
}

__attribute__((noinline)) void ak__unlock_slow(struct ak__lock *l)
{
	/* The decrement left 1 from 2: free it and wake one sleeper.
	 * release: as in ak__unlock(). */
	ak__store(&l->word, 0u, AK__RELEASE);
	ak__futex_wake(&l->word, 1);
}
