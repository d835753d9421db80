/*
 * sim/sched.c: the deterministic scheduler's threads, baton and points.
 *
 * Each simulated thread is a real thread that runs only while it holds the
 * baton (sim/internal.h).  A point (core/shim_sim.h) records where the
 * thread stands, lets the strategy pick the next thread, and hands the
 * baton over if it picked another; the operation itself is done after the
 * point (a store and a read-modify-write that wrote also pass a point after
 * it).  A thread blocks by leaving the runnable set and handing over: a
 * lock's unlock, a futex wake, a thread's exit or a grace period's end
 * puts it back.  When nothing can run, a timed futex wait expires (virtual
 * time jumps to its deadline), or it is a deadlock.
 *
 * A thread that is not simulated (the driver, or any thread outside an
 * execution) does every operation at once, with real atomics and futexes.
 */
#include <errno.h>
#include <execinfo.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <awaitkit/error.h>

#include "internal.h"

struct sim S;
_Thread_local struct sim_thread *ak__sim_me;

/*
 * make sim-tsan: the library is built with ThreadSanitizer, this file
 * without.  The baton, the scheduler's records and the loads and stores
 * done here are invisible to it (raw futexes, uninstrumented code), so
 * the happens-before it sees is the program's own: what the orders
 * written on the library's atomics give (told here, as its annotations
 * do), the read-modify-writes (instrumented where the library's macros
 * expand), the locks, thread start and join.  A plain access published by
 * a store that should be a release is then a race it reports.
 */
#ifdef AK_SIM_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define HB_ACQUIRE(p, mo) \
	do { \
		if ((mo) != memory_order_relaxed && (mo) != memory_order_release) \
			__tsan_acquire((void *)(uintptr_t)(p)); \
	} while (0)
#define HB_RELEASE(p, mo) \
	do { \
		if ((mo) != memory_order_relaxed && (mo) != memory_order_acquire && \
		    (mo) != memory_order_consume) \
			__tsan_release((void *)(uintptr_t)(p)); \
	} while (0)
#else
#define HB_ACQUIRE(p, mo) ((void)(p), (void)(mo))
#define HB_RELEASE(p, mo) ((void)(p), (void)(mo))
#endif

static const char *const op_names[AK__SIM_OP_N] = {
	"load", "store", "read-modify-write", "compare-exchange", "lock", "unlock",
	"futex wait", "futex wake", "alloc", "free", "spin", "yield", "thread start",
	"join", "exit", "rcu", "user point", "light fence", "heavy fence",
};

const char *sim_op_name(int op)
{
	return op >= 0 && op < AK__SIM_OP_N ? op_names[op] : "?";
}

const char *sim_state_name(const struct sim_thread *t)
{
	static const char *const why[] = { "blocked", "blocked on a lock",
	                                   "blocked in a futex wait", "blocked in a join",
	                                   "blocked in a grace period" };
	switch (t->state) {
	case T_RUNNABLE: return "runnable";
	case T_EXITED: return "exited";
	case T_BLOCKED: return why[t->why];
	default: return "free";
	}
}

static long futex(uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

/* ---- the baton ---------------------------------------------------------------- */

static void baton_wait(struct sim_thread *me)
{
	while (__atomic_load_n(&me->turn, __ATOMIC_ACQUIRE) == 0)
		futex(&me->turn, FUTEX_WAIT_PRIVATE, 0);
}

static void baton_give(struct sim_thread *to)
{
	if (S.cur != to->id)
		to->run = 0;
	S.cur = to->id;
	__atomic_store_n(&to->turn, 1, __ATOMIC_RELEASE);
	futex(&to->turn, FUTEX_WAKE_PRIVATE, 1);
}

/* Our own turn ends first: a handback that comes at once is not lost. */
static void switch_to(struct sim_thread *me, struct sim_thread *to)
{
	if (to == me)
		return;
	__atomic_store_n(&me->turn, 0, __ATOMIC_RELAXED);
	baton_give(to);
	baton_wait(me);
}

/* Points in a row that wrote nothing, past which PCT stops counting. */
#define PCT_QUIET 4

/* ---- who can run ---------------------------------------------------------------- */

int sim_runnable(const struct sim_thread *t)
{
	return t->state == T_RUNNABLE;
}

static uint32_t runnable_mask(void)
{
	uint32_t m = 0;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t->state == T_BLOCKED && t->why == B_RCU && rcu_grace_done(t))
			t->state = T_RUNNABLE;
		if (t->state == T_RUNNABLE)
			m |= 1u << i;
	}
	return m;
}

/* Virtual time jumps to `to`: every timed futex wait due by then expires. */
static void advance_to(int64_t to)
{
	if (to > S.now)
		S.now = to;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t->state == T_BLOCKED && t->why == B_FUTEX && t->deadline <= S.now) {
			t->woken = 0;
			t->state = T_RUNNABLE;
		}
	}
}

static uint32_t timed_waiters(void)
{
	uint32_t m = 0;
	for (int i = 0; i < S.nthreads; i++)
		if (S.t[i].state == T_BLOCKED && S.t[i].why == B_FUTEX &&
		    S.t[i].deadline != INT64_MAX)
			m |= 1u << i;
	return m;
}

/* Nothing can run: the earliest timed futex wait expires.  0 if none. */
static int expire_one(void)
{
	struct sim_thread *first = NULL;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t->state == T_BLOCKED && t->why == B_FUTEX && t->deadline != INT64_MAX &&
		    (!first || t->deadline < first->deadline))
			first = t;
	}
	if (!first)
		return 0;
	advance_to(first->deadline);
	return 1;
}

static uint32_t futex_waiters(void)
{
	uint32_t m = 0;
	for (int i = 0; i < S.nthreads; i++)
		if (S.t[i].state == T_BLOCKED && S.t[i].why == B_FUTEX)
			m |= 1u << i;
	return m;
}

/*
 * The decision at a point of me (runnable, blocked or exiting): drains of
 * the store buffers, a spurious wake, then who runs.  Returns once me holds
 * the baton again (at once if it was picked), or, for an exiting me, as
 * soon as another holds it.
 */
static void schedule(struct sim_thread *me)
{
	if (++S.step > S.max_steps)
		sim_fail("no end after %llu points: a livelock? (AK_SIM_MAX_STEPS raises the limit)",
		         (unsigned long long)S.max_steps);
	int t, e;
	if (strategy_drain(&t, &e))
		sb_drain_entry(&S.t[t], e);
	uint32_t mask = runnable_mask();
	if (strategy_spurious(futex_waiters(), &t)) {
		S.t[t].woken = 1;
		S.t[t].state = T_RUNNABLE;
		mask |= 1u << t;
	}
	if (strategy_timeout(timed_waiters(), &t)) {
		advance_to(S.t[t].deadline);
		mask = runnable_mask();
	}
	while (!mask) {
		if (!expire_one())
			sim_report_deadlock();
		mask = runnable_mask();
	}
	/* A thread that ran fair_k points in a row while another could run,
	 * or called ak__yield(), may be waiting for another (a spin, or a
	 * loop that writes, such as a poll that wakes itself): switch away,
	 * as a time slice ends.  ak__cpu_relax() is a plain point, so a
	 * bounded spin shorter than that may run to its end, as it does when
	 * the thread it waits for is preempted. */
	if (me->state == T_RUNNABLE && me->run < S.fair_k)
		me->run++;
	int spun = me->state == T_RUNNABLE && me->run >= S.fair_k;
	/* PCT counts the steps where something may happen: a spin's length
	 * would spread its change points over points where nothing does. */
	if (me->quiet < PCT_QUIET)
		S.pct_step++;
	int free_switch = me->state != T_RUNNABLE || spun;
	if (spun && (mask & ~(1u << me->id))) {
		mask &= ~(1u << me->id);
		strategy_spun(me);
	}
	if (spun)
		me->quiet = me->run = 0;
	int next = strategy_pick(mask, me->id, free_switch);
	if (me->state == T_EXITED) {
		baton_give(&S.t[next]);
		return;
	}
	switch_to(me, &S.t[next]);
}

static void note(struct sim_thread *me, int op, const volatile void *p,
                 const struct ak__sim_site *site)
{
	me->op = op;
	me->addr = p;
	me->site = *site;
}

static void block(struct sim_thread *me, int why, const volatile void *on)
{
	me->nbt = backtrace(me->bt, SIM_BT);
	me->state = T_BLOCKED;
	me->why = why;
	me->on = on;
	schedule(me);
	me->why = B_NONE;
	me->on = NULL;
}

/* ---- points ---------------------------------------------------------------------- */

void ak__sim_point(int op, const volatile void *p, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me) {
		if (op == AK__SIM_YIELD)
			sched_yield();
		return;
	}
	note(me, op, p, site);
	switch (op) {
	case AK__SIM_YIELD:
		/* "another thread must make progress first": a fair switch */
		me->run = S.fair_k;
		me->quiet++;
		break;
	case AK__SIM_FENCE_HEAVY:
		/* membarrier(2): a full barrier on every thread */
		for (int i = 0; i < S.nthreads; i++)
			sb_drain_all(&S.t[i]);
		me->quiet = 0;
		break;
	case AK__SIM_ALLOC:
	case AK__SIM_FREE:
		/* malloc's own locks order everything before them */
		sb_drain_all(me);
		me->quiet = 0;
		break;
	default:
		me->quiet++;
		break;
	}
	schedule(me);
}

void ak__sim_load(const volatile void *p, void *out, size_t size, int mo,
                  const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me) {
		sb_copy(out, p, size);
		HB_ACQUIRE(p, mo);
		return;
	}
	note(me, AK__SIM_LOAD, p, site);
	me->quiet++;
	schedule(me);
	sb_load_view(p, out, size);
	HB_ACQUIRE(p, mo);
}

void ak__sim_store(volatile void *p, const void *v, size_t size, int mo,
                   const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me) {
		HB_RELEASE(p, mo);
		sb_write(p, v, size);
		return;
	}
	note(me, AK__SIM_STORE, p, site);
	schedule(me);
	sb_before_store(p, size, mo);
	HB_RELEASE(p, mo);
	sb_write(p, v, size);
	me->quiet = 0;
	schedule(me);           /* the point after: before the plain code that follows */
}

void ak__sim_rmw_begin(volatile void *p, size_t size, int mo, const struct ak__sim_site *site)
{
	(void)size, (void)mo;
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	note(me, AK__SIM_RMW, p, site);
	schedule(me);
	sb_before_rmw(p);
}

void ak__sim_rmw_end(volatile void *p, int wrote, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	if (!wrote) {
		me->quiet++;
		return;
	}
	note(me, AK__SIM_RMW, p, site);
	me->quiet = 0;
	schedule(me);
}

void ak__sim_init(volatile void *p, size_t size)
{
	if (ak__sim_me)
		sb_forget(p, size);
}

/* ---- locks ------------------------------------------------------------------------ */

/* The lock word holds its owner's id + 1 (NOT_SIMULATED for a thread
 * outside the simulation); 0 is free. */
#define NOT_SIMULATED 0xffffu

static uint32_t *lock_word(struct ak__lock *l)
{
	return (uint32_t *)(void *)&l->word;
}

void ak__sim_lock(struct ak__lock *l, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	uint32_t *w = lock_word(l);
	if (!me) {
		uint32_t free_ = 0;
		while (!__atomic_compare_exchange_n(w, &free_, NOT_SIMULATED, 0, __ATOMIC_ACQUIRE,
		                                    __ATOMIC_RELAXED)) {
			free_ = 0;
			sched_yield();
		}
		HB_ACQUIRE(l, memory_order_acquire);
		return;
	}
	note(me, AK__SIM_LOCK, l, site);
	schedule(me);
	while (*w != 0) {
		if (*w == (uint32_t)me->id + 1)
			sim_fail("lock %p taken again by the thread that holds it (%s:%d)", (void *)l,
			         site->file, site->line);
		block(me, B_LOCK, l);
	}
	*w = (uint32_t)me->id + 1;
	sb_drain_all(me);
	HB_ACQUIRE(l, memory_order_acquire);
	me->quiet = 0;
}

void ak__sim_unlock(struct ak__lock *l, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	uint32_t *w = lock_word(l);
	HB_RELEASE(l, memory_order_release);
	if (!me) {
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
		return;
	}
	note(me, AK__SIM_UNLOCK, l, site);
	if (*w != (uint32_t)me->id + 1)
		sim_fail("unlock of lock %p, which this thread does not hold (%s:%d)", (void *)l,
		         site->file, site->line);
	sb_drain_all(me);
	*w = 0;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t->state == T_BLOCKED && t->why == B_LOCK && t->on == l)
			t->state = T_RUNNABLE;
	}
	me->quiet = 0;
	schedule(me);
}

/* ---- futex -------------------------------------------------------------------------- */

int ak__sim_futex_wait(const volatile void *addr, uint32_t expected, int64_t deadline,
                       const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me) {
		/* Outside an execution nothing else runs: the value differs. */
		return 0;
	}
	note(me, AK__SIM_FUTEX_WAIT, addr, site);
	schedule(me);
	sb_drain_all(me);
	uint32_t v;
	sb_load_view(addr, &v, sizeof(v));
	if (v != expected) {
		me->quiet++;
		return 0;
	}
	if (deadline != INT64_MAX && deadline <= S.now)
		return AK_ETIMEDOUT;
	me->deadline = deadline;
	me->since = ++S.arrivals;
	me->woken = 0;
	block(me, B_FUTEX, addr);
	me->quiet = 0;
	return me->woken ? 0 : AK_ETIMEDOUT;
}

void ak__sim_futex_wake(const volatile void *addr, int nwake, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	note(me, AK__SIM_FUTEX_WAKE, addr, site);
	schedule(me);
	sb_drain_all(me);
	/* The oldest waiters first, as the kernel does for equal priorities. */
	for (; nwake > 0; nwake--) {
		struct sim_thread *first = NULL;
		for (int i = 0; i < S.nthreads; i++) {
			struct sim_thread *t = &S.t[i];
			if (t->state == T_BLOCKED && t->why == B_FUTEX && t->on == addr &&
			    (!first || t->since < first->since))
				first = t;
		}
		if (!first)
			break;
		first->woken = 1;
		first->state = T_RUNNABLE;
	}
	me->quiet = 0;
}

int64_t ak__sim_now(void)
{
	return S.now;
}

/* ---- threads ------------------------------------------------------------------------ */

static void thread_exit(struct sim_thread *me)
{
	/* A point before the exit's drain: what the thread did last may stay
	 * unseen for a while (a store buffering test needs it). */
	me->op = AK__SIM_EXIT;
	me->addr = NULL;
	schedule(me);
	sb_drain_all(me);
	me->state = T_EXITED;
	S.live--;
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (t->state == T_BLOCKED && t->why == B_JOIN && t->on == me)
			t->state = T_RUNNABLE;
	}
	if (S.live == 0) {
		ak__sim_me = NULL;
		__atomic_store_n(&S.done, 1, __ATOMIC_RELEASE);
		futex(&S.done, FUTEX_WAKE_PRIVATE, 1);
		return;
	}
	schedule(me);
	ak__sim_me = NULL;
}

static void *trampoline(void *arg)
{
	struct sim_thread *me = arg;
	ak__sim_me = me;
	baton_wait(me);
	me->ret = me->fn(me->arg);
	thread_exit(me);
	return NULL;
}

static struct sim_thread *thread_new(void *(*fn)(void *), void *arg)
{
	if (S.nthreads == SIM_MAX_THREADS)
		sim_fail("more than %d threads in one execution", SIM_MAX_THREADS);
	struct sim_thread *t = &S.t[S.nthreads];
	memset(t, 0, sizeof(*t));
	t->id = S.nthreads++;
	t->state = T_RUNNABLE;
	t->fn = fn;
	t->arg = arg;
	t->deadline = INT64_MAX;
	t->op = AK__SIM_SPAWN;
	t->site.file = "(not started)";
	t->site.func = "";
	strategy_thread_new(t);
	S.live++;
	int rc = pthread_create(&t->real, NULL, trampoline, t);
	if (rc != 0)
		sim_fail("pthread_create: %s", strerror(rc));
	return t;
}

int ak__sim_pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return pthread_create(out, attr, fn, arg);
	note(me, AK__SIM_SPAWN, NULL, site);
	schedule(me);
	sb_drain_all(me);
	int detach = PTHREAD_CREATE_JOINABLE;
	if (attr)
		pthread_attr_getdetachstate(attr, &detach);
	struct sim_thread *t = thread_new(fn, arg);
	t->detached = detach == PTHREAD_CREATE_DETACHED;
	*out = t->real;
	me->quiet = 0;
	schedule(me);
	return 0;
}

static struct sim_thread *find(pthread_t real)
{
	for (int i = 0; i < S.nthreads; i++)
		if (S.t[i].state != T_FREE && pthread_equal(S.t[i].real, real))
			return &S.t[i];
	return NULL;
}

int ak__sim_pthread_join(pthread_t real, void **ret, const struct ak__sim_site *site)
{
	struct sim_thread *me = ak__sim_me;
	struct sim_thread *t = me ? find(real) : NULL;
	if (!t)
		return pthread_join(real, ret);
	if (t->joined || t->detached)
		return EINVAL;
	note(me, AK__SIM_JOIN, t, site);
	schedule(me);
	while (t->state != T_EXITED)
		block(me, B_JOIN, t);
	sb_drain_all(me);
	t->joined = 1;
	if (ret)
		*ret = t->ret;
	/* It only runs its thread-local destructors now, outside the simulation. */
	pthread_join(t->real, NULL);
	me->quiet = 0;
	return 0;
}

int ak__sim_pthread_detach(pthread_t real)
{
	struct sim_thread *t = ak__sim_me ? find(real) : NULL;
	if (!t)
		return pthread_detach(real);
	t->detached = 1;
	return 0;
}

/* ---- executions (the driver) ------------------------------------------------------------ */

void sim_exec_begin(void)
{
	S.nthreads = 0;
	S.live = 0;
	S.step = 0;
	S.pct_step = 0;
	S.now = 1000000000;
	S.arrivals = 0;
	S.done = 0;
	trace_reset();
	strategy_exec_begin();
}

int sim_exec_start(void *(*fn)(void *), void *arg)
{
	struct sim_thread *t = thread_new(fn, arg);
	baton_give(t);
	return 0;
}

/* Until every thread has exited; then the real threads are reaped. */
void sim_exec_wait(void)
{
	while (__atomic_load_n(&S.done, __ATOMIC_ACQUIRE) == 0)
		futex(&S.done, FUTEX_WAIT_PRIVATE, 0);
	for (int i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = &S.t[i];
		if (!t->joined)
			pthread_join(t->real, NULL);
		t->state = T_FREE;
	}
	trace_finish();
}
