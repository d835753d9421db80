/*
 * sim/scenarios/main.c: the scenario program of make sim (awaitkit-sim(7)).
 *   build/sim/scenarios [-l] [NAME...]
 */
#include <stdlib.h>

#include "scen.h"

static const struct ak_sim_scenario *const lists[] = {
	sim_sync_scenarios,
	sim_chan_scenarios,
	sim_bw_scenarios,
	sim_run_scenarios,
};

int main(int argc, char **argv)
{
	static struct ak_sim_scenario all[256];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (const struct ak_sim_scenario *s = lists[i]; s->name && n < 256; s++)
			all[n++] = *s;
	return ak_sim_main(argc, argv, all, n);
}
