/*
 * sim/rcu.c: RCU for the simulation (sim/shadow/urcu-bp.h).
 *
 * liburcu's read-side sections and grace periods synchronize through its
 * own atomics and membarrier, which the scheduler cannot see: a grace
 * period waiting for a reader the scheduler has parked would hang the
 * process.  In the sim build watch's calls come here instead.  A read-side
 * section is a per-thread nesting count and a point; a grace period blocks
 * its thread in the scheduler until every thread that was inside a section
 * when it began has left that section (each outermost unlock advances the
 * thread's generation).  A grace period asked for inside a section is a
 * failure: it would wait for itself.
 */
#include <execinfo.h>

#include "internal.h"

static const struct ak__sim_site rcu_site = { "(rcu)", "urcu_bp", 0 };

void ak__sim_rcu_read_lock(void);
void ak__sim_rcu_read_unlock(void);
void ak__sim_rcu_synchronize(void);

void ak__sim_rcu_read_lock(void)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	ak__sim_point(AK__SIM_RCU, NULL, &rcu_site);
	me->rcu_nest++;
}

void ak__sim_rcu_read_unlock(void)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	if (--me->rcu_nest == 0)
		me->rcu_gen++;
	ak__sim_point(AK__SIM_RCU, NULL, &rcu_site);
}

int rcu_grace_done(const struct sim_thread *t)
{
	for (int i = 0; i < S.nthreads; i++) {
		const struct sim_thread *r = &S.t[i];
		if (t->rcu_snap[i] && r->state != T_EXITED && r->rcu_gen < t->rcu_snap[i])
			return 0;
	}
	return 1;
}

void ak__sim_rcu_synchronize(void)
{
	struct sim_thread *me = ak__sim_me;
	if (!me)
		return;
	ak__sim_point(AK__SIM_RCU, NULL, &rcu_site);
	if (me->rcu_nest)
		sim_fail("a grace period inside a read-side section of the same thread");
	sb_drain_all(me);
	int wait = 0;
	for (int i = 0; i < S.nthreads; i++) {
		const struct sim_thread *r = &S.t[i];
		me->rcu_snap[i] = r != me && r->state != T_EXITED && r->rcu_nest ? r->rcu_gen + 1 : 0;
		wait |= me->rcu_snap[i] != 0;
	}
	if (!wait)
		return;
	/* The scheduler makes it runnable again once rcu_grace_done(). */
	me->nbt = backtrace(me->bt, SIM_BT);
	me->state = T_BLOCKED;
	me->why = B_RCU;
	ak__sim_point(AK__SIM_RCU, NULL, &rcu_site);
	me->why = B_NONE;
}
