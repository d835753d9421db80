/*
 * tests/alloc/sweep.h: what the allocation-failure sweep's scenarios share.
 *
 * A scenario is a short real program over the public API.  It runs in a
 * forked child with the n-th allocation failing (failmalloc.h); every call
 * must return what it returns without the failure, or AK_ENOMEM, after
 * which the scenario drops what it holds and returns.  The driver
 * (sweep.c) then checks that nothing aborted, hung or leaked.
 */
#ifndef AK_TESTS_SWEEP_H
#define AK_TESTS_SWEEP_H

#include <awaitkit.h>

/* Records a wrong result (the first one wins); returns 1. */
int sw_wrong(int line, const char *what, int rc);

/* Values created by a scenario's hooks minus those dropped: 0 at the end. */
extern long sw_live_values;

/* rc must be `want` or AK_ENOMEM: on AK_ENOMEM jump to out, on anything
 * else record it and jump to out. */
#define SW_EXPECT(want, call)                                               \
	do {                                                                \
		int sw_rc_ = (call);                                        \
		if (sw_rc_ == (want))                                       \
			break;                                              \
		if (sw_rc_ != AK_ENOMEM)                                    \
			sw_wrong(__LINE__, #call, sw_rc_);                  \
		goto out;                                                   \
	} while (0)
#define SW_TRY(call) SW_EXPECT(0, call)

struct sw_scenario {
	const char *name;
	void (*run)(void);
};

/* The scenarios, NULL-terminated (sweep_watch.c, sweep_prims.c). */
extern const struct sw_scenario sw_watch_scenarios[];
extern const struct sw_scenario sw_prim_scenarios[];

#endif
