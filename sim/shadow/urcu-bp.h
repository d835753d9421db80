/*
 * sim/shadow/urcu-bp.h: liburcu-bp's calls the library makes, in the sim
 * build (-Isim/shadow puts this file before the system's).  Read-side
 * sections and grace periods are the scheduler's (sim/rcu.c); the fork
 * hooks have nothing to do.
 */
#ifndef AK_SIM_SHADOW_URCU_BP_H
#define AK_SIM_SHADOW_URCU_BP_H

void ak__sim_rcu_read_lock(void);
void ak__sim_rcu_read_unlock(void);
void ak__sim_rcu_synchronize(void);

#define urcu_bp_read_lock() ak__sim_rcu_read_lock()
#define urcu_bp_read_unlock() ak__sim_rcu_read_unlock()
#define urcu_bp_synchronize_rcu() ak__sim_rcu_synchronize()

static inline void urcu_bp_before_fork(void) {}
static inline void urcu_bp_after_fork_parent(void) {}
static inline void urcu_bp_after_fork_child(void) {}
static inline void call_rcu_before_fork(void) {}
static inline void call_rcu_after_fork_parent(void) {}
static inline void call_rcu_after_fork_child(void) {}

#endif
