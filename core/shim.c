/* core/shim.c: futex, internal locks, allocation and the debug counters. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
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

/*
 * The debug counters, kept per thread and summed when read: no shared
 * atomic read-modify-write per clone, park or allocation (DESIGN.md
 * section 8).  Each thread's block is its own thread-local storage, linked
 * into a list on the thread's first count; only its owner writes it (a
 * relaxed load and store, no lock prefix), readers load it relaxed.  At
 * thread exit (a key destructor) its counts move into `retired` and it
 * leaves the list, so the sums stay exact for the tests' leak checks after
 * their threads are joined.  The fork hooks keep the list valid in a child
 * (ak__counts_*_fork): the other threads' blocks may be reused there.
 */
enum { C_CLONES, C_PARKED, C_LIVE, C_ALLOCS, C_N };

struct counts {
	ak__atomic(int64_t) v[C_N];
	struct counts *prev, *next;   /* counts_lock */
	int linked;                   /* owner; under counts_lock to change */
};

static _Thread_local struct counts my_counts;
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counts *counts_head;          /* counts_lock */
static int64_t counts_retired[C_N];         /* counts_lock */
static pthread_key_t counts_key;
static pthread_once_t counts_once = PTHREAD_ONCE_INIT;
static int counts_key_ok;

static void counts_unlink(struct counts *c)
{
	for (int i = 0; i < C_N; i++)
		counts_retired[i] += ak__load(&c->v[i], AK__RELAXED);
	if (c->prev)
		c->prev->next = c->next;
	else
		counts_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	for (int i = 0; i < C_N; i++)
		ak__store(&c->v[i], 0, AK__RELAXED);
	c->linked = 0;
}

/* The thread exits: its counts go to the retired totals. */
static void counts_exit(void *arg)
{
	struct counts *c = arg;
	pthread_mutex_lock(&counts_lock);
	if (c->linked)
		counts_unlink(c);
	pthread_mutex_unlock(&counts_lock);
}

static void counts_key_init(void)
{
	counts_key_ok = pthread_key_create(&counts_key, counts_exit) == 0;
}

static void counts_link(struct counts *c)
{
	int saved = errno;
	pthread_once(&counts_once, counts_key_init);
	pthread_mutex_lock(&counts_lock);
	c->prev = NULL;
	c->next = counts_head;
	if (counts_head)
		counts_head->prev = c;
	counts_head = c;
	c->linked = 1;
	pthread_mutex_unlock(&counts_lock);
	/* The first key of the process: no allocation.  Without a key the
	 * counts stay linked after the thread's exit (still summed, never
	 * lost; only its memory could be reused, which a key prevents). */
	if (counts_key_ok)
		pthread_setspecific(counts_key, c);
	errno = saved;
}

static inline void count(int i, int64_t delta)
{
	struct counts *c = &my_counts;
	if (!c->linked)
		counts_link(c);
	/* Only this thread writes c->v: a plain add, relaxed for readers. */
	ak__store(&c->v[i], ak__load(&c->v[i], AK__RELAXED) + delta, AK__RELAXED);
}

void ak__counts_before_fork(void)
{
	pthread_mutex_lock(&counts_lock);
}

void ak__counts_after_fork_parent(void)
{
	pthread_mutex_unlock(&counts_lock);
}

/* Only this thread exists in the child: the others' blocks lie in memory
 * the child may reuse for new threads, so their counts move to retired. */
void ak__counts_after_fork_child(void)
{
	struct counts *c = counts_head, *next;
	for (; c; c = next) {
		next = c->next;
		if (c != &my_counts)
			counts_unlink(c);
	}
	pthread_mutex_unlock(&counts_lock);
}

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
		count(C_LIVE, 1);
		count(C_ALLOCS, 1);
	}
	return p;
}

void ak__free(void *p)
{
	if (!p)
		return;
	count(C_LIVE, -1);
	free(p);
}

void ak__count_clones(int delta)
{
	count(C_CLONES, delta);
}

void ak__count_parked(int delta)
{
	count(C_PARKED, delta);
}

AK_EXPORT int ak_debug_counters(struct ak_debug_counts *out)
{
	if (!out)
		return AK_EINVAL;
	int64_t sum[C_N];
	pthread_mutex_lock(&counts_lock);
	for (int i = 0; i < C_N; i++) {
		sum[i] = counts_retired[i];
		for (struct counts *c = counts_head; c; c = c->next)
			sum[i] += ak__load(&c->v[i], AK__RELAXED);
	}
	pthread_mutex_unlock(&counts_lock);
	out->waker_clones = sum[C_CLONES];
	out->parked_ops = sum[C_PARKED];
	out->live_objects = sum[C_LIVE];
	out->allocations = sum[C_ALLOCS];
	return 0;
}
