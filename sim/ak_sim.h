/*
 * sim/ak_sim.h: running a program's own code under awaitkit's deterministic
 * scheduler (awaitkit-sim(7)).
 *
 * Link $(BUILD)/sim/libawaitkit-sim.a (the library built with -DAK_SIM)
 * instead of libawaitkit, put each test in a scenario, start its threads
 * with ak_sim_thread_create, and hand the list to ak_sim_main.  Each
 * scenario's body runs many times, each time under another schedule; the
 * library's every atomic access, futex wait and wake, internal lock and
 * allocation is a point where the scheduler may switch threads.  A
 * deadlock, a failed AK_SIM_ASSERT, a crash or a leaked allocation or
 * waker clone stops the program with every thread's position and the
 * seed and choice string that replay the execution exactly.
 *
 * Only the library's operations (and ak_sim_yield) are points: a program's
 * own atomics are not seen, and a thread must not block in anything the
 * scheduler does not know (a pthread mutex held across a point, a read of
 * a pipe): use the library's blocking forms or ak_block_on.
 */
#ifndef AK_SIM_AK_SIM_H
#define AK_SIM_AK_SIM_H

#include <pthread.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_sim_scenario {
	const char *name;       /* how the command line names it */
	void (*body)(void);     /* one execution, on simulated thread 0 */
	const char *about;      /* one line: what races with what */
};

/*
 * Runs the scenarios the command line names (all without names; -l lists
 * them) under the strategies and settings of the environment
 * (awaitkit-sim(7): AK_SIM_SCHEDULES, AK_SIM_SCHED, AK_SIM_SEED,
 * AK_SIM_TRACE...).  Returns 0 when every execution passed; a failure
 * exits the process with status 1 after its report.
 */
int ak_sim_main(int argc, char **argv, const struct ak_sim_scenario *list, size_t n);

/* A simulated thread, from inside an execution; joined with
 * ak_sim_thread_join before the body returns (or the execution waits for
 * it to exit).  pthread_create's results. */
#define ak_sim_thread_create(thread, fn, arg) \
	ak_sim_thread_create_at((thread), (fn), (arg), __FILE__, __LINE__, __func__)
#define ak_sim_thread_join(thread, ret) \
	ak_sim_thread_join_at((thread), (ret), __FILE__, __LINE__, __func__)
int ak_sim_thread_create_at(pthread_t *thread, void *(*fn)(void *), void *arg,
                            const char *file, int line, const char *func);
int ak_sim_thread_join_at(pthread_t thread, void **ret, const char *file, int line,
                          const char *func);

/* A point in the program's own code: the scheduler may switch here. */
#define ak_sim_yield() ak_sim_point_at(__FILE__, __LINE__, __func__)
void ak_sim_point_at(const char *file, int line, const char *func);

/* Fails the execution: its report, then exit status 1. */
#define AK_SIM_ASSERT(cond) \
	((cond) ? (void)0 : ak_sim_fail_at(__FILE__, __LINE__, "%s", "assertion failed: " #cond))
void ak_sim_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
