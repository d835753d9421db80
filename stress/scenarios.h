/*
 * stress/scenarios.h: ak-stress(1)'s programs, each a scenario of its own
 * threads, executors and checks (stress/stress_*.c), besides the primitive
 * workloads of work.h.  Each begins with stress_start() and returns
 * stress_finish()'s exit status.
 */
#ifndef STRESS_SCENARIOS_H
#define STRESS_SCENARIOS_H

int sc_mpsc_mixed(void);        /* stress_mpsc.c */
int sc_mpsc_repoll(void);       /* stress_mpsc_tasks.c */
int sc_oneshot_churn(void);     /* stress_oneshot.c */
int sc_broadcast_lag(void);     /* stress_broadcast.c */
int sc_watch_borrows(void);     /* stress_watch.c */
int sc_sem_core(void);          /* stress_sem.c */
int sc_semaphore_barrier(void); /* stress_semaphore.c */
int sc_locks_mixed(void);       /* stress_locks.c */

#endif
