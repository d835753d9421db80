/*
 * sim/scenarios/scen.h: what the scenarios share (awaitkit-sim(7)).
 *
 * A scenario is one small race between two or three threads on one
 * primitive; its body runs once per schedule.  It checks what every
 * interleaving must give (results, counts, permits back where they were),
 * and the driver checks after it that nothing leaked.  A lost wakeup shows
 * as a deadlock: the thread that should have been woken stays blocked.
 */
#ifndef AK_SIM_SCEN_H
#define AK_SIM_SCEN_H

#include <awaitkit.h>

#include "ak_sim.h"

#define CHECK(cond) AK_SIM_ASSERT(cond)

static inline pthread_t spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	CHECK(ak_sim_thread_create(&t, fn, arg) == 0);
	return t;
}

static inline void join(pthread_t t)
{
	CHECK(ak_sim_thread_join(t, NULL) == 0);
}

/* One poll of f with the no-op waker: an operation parks and is later
 * completed or cancelled by its owner, racing with the other threads. */
static inline int poll_once(struct ak_future *f)
{
	struct ak_context cx;
	CHECK(ak_context_init(&cx, ak_waker_noop(), NULL) == 0);
	return ak_context_done(&cx, ak_future_poll(f, &cx));
}

/* Each file's list ends with a { NULL } entry. */
extern const struct ak_sim_scenario sim_sync_scenarios[];
extern const struct ak_sim_scenario sim_chan_scenarios[];
extern const struct ak_sim_scenario sim_bw_scenarios[];
extern const struct ak_sim_scenario sim_run_scenarios[];

#endif
