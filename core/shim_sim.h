/*
 * core/shim_sim.h: the shim in simulation mode (make sim; -DAK_SIM).
 *
 * Included by core/shim.h, and only when AK_SIM is defined: the normal
 * build never sees it.  Every operation of the shim becomes a scheduling
 * point of the deterministic scheduler (sim/, awaitkit-sim(7)), which runs
 * the program's threads one at a time and picks, at each point, which one
 * goes on:
 *
 *   atomics      a point before each access; a store, or a read-modify-write
 *                that wrote, also has one after it (so that another thread
 *                may run between a store and the plain code that follows)
 *   futex        ak__futex_wait blocks the thread in the scheduler until an
 *                ak__futex_wake of the same word (or its deadline, in
 *                virtual time); spurious returns are the scheduler's choice
 *   locks        struct ak__lock is a blocking lock of the scheduler's
 *   allocation   ak__alloc and ak__free are points (the debug counters
 *                give the per-execution leak check)
 *   threads      pthread_create/join/detach in the library's files start and
 *                join scheduler threads
 *   spins        ak__cpu_relax() and ak__yield() tell the scheduler the
 *                thread waits for another: it switches fairly
 *
 * The access itself is done by sim/ on the object's bytes (a load may
 * return an older value when the store buffers are on: sim/memory.c).
 * Each point carries its call site (file, line, function) so that a
 * deadlock report can say where every thread stands.
 *
 * sim/, core/shim.c and core/shim_futex.c define AK__SIM_RAW before
 * including core/shim.h: they get the declarations below and the plain
 * atomics, not the points.
 * The points of the named operations (ak__lock, ak__futex_wait, ak__alloc,
 * pthread_create...) are defined at the end of core/shim.h, after the
 * declarations they rename.
 */
#ifndef AK_CORE_SHIM_SIM_H
#define AK_CORE_SHIM_SIM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct ak__lock;

/* Where a point was reached. */
struct ak__sim_site {
	const char *file;
	const char *func;
	int line;
};

#define AK__SIM_SITE (&(const struct ak__sim_site){ __FILE__, __func__, __LINE__ })

/* What a point does (the report names them). */
enum ak__sim_op {
	AK__SIM_LOAD, AK__SIM_STORE, AK__SIM_RMW, AK__SIM_CAS, AK__SIM_LOCK,
	AK__SIM_UNLOCK, AK__SIM_FUTEX_WAIT, AK__SIM_FUTEX_WAKE, AK__SIM_ALLOC,
	AK__SIM_FREE, AK__SIM_SPIN, AK__SIM_YIELD, AK__SIM_SPAWN, AK__SIM_JOIN,
	AK__SIM_EXIT, AK__SIM_RCU, AK__SIM_USER, AK__SIM_FENCE, AK__SIM_FENCE_HEAVY,
	AK__SIM_OP_N
};

void ak__sim_load(const volatile void *p, void *out, size_t size, int mo,
                  const struct ak__sim_site *site);
void ak__sim_store(volatile void *p, const void *v, size_t size, int mo,
                   const struct ak__sim_site *site);
void ak__sim_rmw_begin(volatile void *p, size_t size, int mo, const struct ak__sim_site *site);
void ak__sim_rmw_end(volatile void *p, int wrote, const struct ak__sim_site *site);
void ak__sim_init(volatile void *p, size_t size);
void ak__sim_point(int op, const volatile void *p, const struct ak__sim_site *site);
void ak__sim_lock(struct ak__lock *l, const struct ak__sim_site *site);
void ak__sim_unlock(struct ak__lock *l, const struct ak__sim_site *site);
int ak__sim_futex_wait(const volatile void *addr, uint32_t expected, int64_t deadline,
                       const struct ak__sim_site *site);
void ak__sim_futex_wake(const volatile void *addr, int nwake, const struct ak__sim_site *site);
int64_t ak__sim_now(void);
int ak__sim_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg, const struct ak__sim_site *site);
int ak__sim_pthread_join(pthread_t t, void **ret, const struct ak__sim_site *site);
int ak__sim_pthread_detach(pthread_t t);
/* The wait queues a deadlock report prints (core/waitq.c). */
void ak__sim_waitq_note(const void *q, int nonempty);

#ifdef AK__SIM_POINTS

#define ak__init(p, v) __extension__ ({ \
	__typeof__(p) ak_p_ = (p); \
	ak__sim_init(ak_p_, sizeof(*ak_p_)); \
	atomic_init(ak_p_, (v)); })

#define ak__load(p, mo) __extension__ ({ \
	__typeof__(p) ak_p_ = (p); \
	__typeof__((void)0, *ak_p_) ak_v_; \
	ak__sim_load(ak_p_, &ak_v_, sizeof(ak_v_), (mo), AK__SIM_SITE); \
	ak_v_; })

#define ak__store(p, v, mo) __extension__ ({ \
	__typeof__(p) ak_p_ = (p); \
	__typeof__((void)0, *ak_p_) ak_v_ = (v); \
	ak__sim_store(ak_p_, &ak_v_, sizeof(ak_v_), (mo), AK__SIM_SITE); })

/* A read-modify-write: the operation itself is the C11 one, done while no
 * other thread runs; the points around it are the scheduler's. */
#define AK__SIM_RMW_(p, v, mo, fn) __extension__ ({ \
	__typeof__(p) ak_p_ = (p); \
	__typeof__((void)0, *ak_p_) ak_v_ = (v); \
	ak__sim_rmw_begin(ak_p_, sizeof(*ak_p_), (mo), AK__SIM_SITE); \
	__typeof__((void)0, *ak_p_) ak_r_ = fn(ak_p_, ak_v_, (mo)); \
	ak__sim_rmw_end(ak_p_, 1, AK__SIM_SITE); \
	ak_r_; })

#define ak__xchg(p, v, mo) AK__SIM_RMW_(p, v, mo, atomic_exchange_explicit)
#define ak__fetch_add(p, v, mo) AK__SIM_RMW_(p, v, mo, atomic_fetch_add_explicit)
#define ak__fetch_sub(p, v, mo) AK__SIM_RMW_(p, v, mo, atomic_fetch_sub_explicit)
#define ak__fetch_or(p, v, mo) AK__SIM_RMW_(p, v, mo, atomic_fetch_or_explicit)
#define ak__fetch_and(p, v, mo) AK__SIM_RMW_(p, v, mo, atomic_fetch_and_explicit)

/* A weak compare-exchange never fails spuriously here: the scheduler's
 * choices are the threads', not the hardware's. */
#define ak__cas(p, expected, desired, mo_ok, mo_fail) __extension__ ({ \
	__typeof__(p) ak_p_ = (p); \
	__typeof__((void)0, *ak_p_) ak_d_ = (desired); \
	ak__sim_rmw_begin(ak_p_, sizeof(*ak_p_), (mo_ok), AK__SIM_SITE); \
	_Bool ak_r_ = atomic_compare_exchange_strong_explicit(ak_p_, (expected), ak_d_, \
	                                                      (mo_ok), (mo_fail)); \
	ak__sim_rmw_end(ak_p_, ak_r_, AK__SIM_SITE); \
	ak_r_; })
#define ak__cas_weak ak__cas

#define ak__cpu_relax() ak__sim_point(AK__SIM_SPIN, NULL, AK__SIM_SITE)

/* The asymmetric fence pair: the light one orders nothing (a point only:
 * the thread's stores stay in its buffer), the heavy one drains every
 * thread's store buffer, as membarrier's barrier on every CPU does. */
#define ak__fence_light() ak__sim_point(AK__SIM_FENCE, NULL, AK__SIM_SITE)
#define ak__fence_heavy() ak__sim_point(AK__SIM_FENCE_HEAVY, NULL, AK__SIM_SITE)
#define ak__fence_heavy_ready() 1

#define ak__ref_get(refs) ((void)ak__fetch_add((refs), 1, AK__RELAXED))
#define ak__ref_put(refs) (ak__fetch_sub((refs), 1, AK__ACQ_REL) == 1)

#endif /* AK__SIM_POINTS */
#endif
