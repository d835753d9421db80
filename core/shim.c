/* core/shim.c: futex, internal locks, allocation and the debug counters. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <awaitkit/debug.h>
#include <awaitkit/error.h>

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

void ak__lock_init(struct ak__lock *l)
{
	pthread_mutex_init(&l->mutex, NULL);
}

void ak__lock_destroy(struct ak__lock *l)
{
	pthread_mutex_destroy(&l->mutex);
}

void ak__lock(struct ak__lock *l)
{
	pthread_mutex_lock(&l->mutex);
}

void ak__unlock(struct ak__lock *l)
{
	pthread_mutex_unlock(&l->mutex);
}

static ak__atomic(int64_t) n_clones;
static ak__atomic(int64_t) n_parked;
static ak__atomic(int64_t) n_live;
static ak__atomic(int64_t) n_allocs;
static ak__atomic(long) fail_countdown;

void ak__alloc_fail_after(long n)
{
	ak__store(&fail_countdown, n, AK__RELAXED);
}

static int should_fail(void)
{
	long n = ak__load(&fail_countdown, AK__RELAXED);

	while (n > 0) {
		if (ak__cas_weak(&fail_countdown, &n, n - 1, AK__RELAXED, AK__RELAXED))
			return n == 1;
	}
	return 0;
}

void *ak__alloc(size_t size)
{
	if (should_fail())
		return NULL;
	void *p = calloc(1, size ? size : 1);
	if (p) {
		ak__fetch_add(&n_live, 1, AK__RELAXED);
		ak__fetch_add(&n_allocs, 1, AK__RELAXED);
	}
	return p;
}

void ak__free(void *p)
{
	if (!p)
		return;
	ak__fetch_sub(&n_live, 1, AK__RELAXED);
	free(p);
}

void ak__count_clones(int delta)
{
	ak__fetch_add(&n_clones, delta, AK__RELAXED);
}

void ak__count_parked(int delta)
{
	ak__fetch_add(&n_parked, delta, AK__RELAXED);
}

AK_EXPORT int ak_debug_counters(struct ak_debug_counts *out)
{
	if (!out)
		return AK_EINVAL;
	out->waker_clones = ak__load(&n_clones, AK__RELAXED);
	out->parked_ops = ak__load(&n_parked, AK__RELAXED);
	out->live_objects = ak__load(&n_live, AK__RELAXED);
	out->allocations = ak__load(&n_allocs, AK__RELAXED);
	return 0;
}
