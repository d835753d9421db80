/*
 * sim/selftest/litmus.c: the scheduler's own test (make sim-check): the
 * classic litmus tests, written with the shim's atomics in the sim build,
 * must reach exactly the outcomes the memory model allows.  With the store
 * buffers (AK_SIM_WEAK=1): store buffering and a message passed with a
 * relaxed flag show their weak outcome; seq_cst stores, a release/acquire
 * flag and coherence never do.  Sequentially consistent (AK_SIM_WEAK=0):
 * no weak outcome at all.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../../core/shim.h"
#include "ak_sim.h"

static ak__atomic(uint32_t) x, y;
static uint32_t r1, r2;

enum { SB_RELAXED, SB_SEQ_CST, MP_RELAXED, MP_RELEASE, CORR, NTESTS };
static const char *const names[NTESTS] = {
	"store buffering, relaxed", "store buffering, seq_cst",
	"message passing, relaxed flag", "message passing, release/acquire flag",
	"coherence of two reads",
};
static long weak_seen[NTESTS];
static int test;

static void *sb_a(void *arg)
{
	(void)arg;
	ak__store(&x, 1u, test == SB_SEQ_CST ? AK__SEQ_CST : AK__RELAXED);
	r1 = ak__load(&y, AK__RELAXED);
	return NULL;
}

static void *sb_b(void *arg)
{
	(void)arg;
	ak__store(&y, 1u, test == SB_SEQ_CST ? AK__SEQ_CST : AK__RELAXED);
	r2 = ak__load(&x, AK__RELAXED);
	return NULL;
}

static void *mp_a(void *arg)
{
	(void)arg;
	ak__store(&x, 1u, AK__RELAXED);                 /* the data */
	ak__store(&y, 1u, test == MP_RELEASE ? AK__RELEASE : AK__RELAXED);
	return NULL;
}

static void *mp_b(void *arg)
{
	(void)arg;
	r1 = ak__load(&y, test == MP_RELEASE ? AK__ACQUIRE : AK__RELAXED);
	r2 = ak__load(&x, AK__RELAXED);
	return NULL;
}

static void *corr_a(void *arg)
{
	(void)arg;
	ak__store(&x, 1u, AK__RELAXED);
	ak__store(&x, 2u, AK__RELAXED);
	return NULL;
}

static void *corr_b(void *arg)
{
	(void)arg;
	r1 = ak__load(&x, AK__RELAXED);
	r2 = ak__load(&x, AK__RELAXED);
	return NULL;
}

static void run(void *(*a)(void *), void *(*b)(void *))
{
	pthread_t ta, tb;
	ak__init(&x, 0u);
	ak__init(&y, 0u);
	r1 = r2 = 0;
	AK_SIM_ASSERT(ak_sim_thread_create(&ta, a, NULL) == 0);
	AK_SIM_ASSERT(ak_sim_thread_create(&tb, b, NULL) == 0);
	AK_SIM_ASSERT(ak_sim_thread_join(ta, NULL) == 0);
	AK_SIM_ASSERT(ak_sim_thread_join(tb, NULL) == 0);
}

static void sb(void)
{
	run(sb_a, sb_b);
	weak_seen[test] += r1 == 0 && r2 == 0;
}

static void mp(void)
{
	run(mp_a, mp_b);
	weak_seen[test] += r1 == 1 && r2 == 0;
}

static void corr(void)
{
	run(corr_a, corr_b);
	weak_seen[test] += r1 > r2;
}

static void sb_relaxed(void) { test = SB_RELAXED; sb(); }
static void sb_seq_cst(void) { test = SB_SEQ_CST; sb(); }
static void mp_relaxed(void) { test = MP_RELAXED; mp(); }
static void mp_release(void) { test = MP_RELEASE; mp(); }
static void corr_test(void) { test = CORR; corr(); }

static const struct ak_sim_scenario list[] = {
	{ "litmus_sb_relaxed", sb_relaxed, "" },
	{ "litmus_sb_seq_cst", sb_seq_cst, "" },
	{ "litmus_mp_relaxed", mp_relaxed, "" },
	{ "litmus_mp_release", mp_release, "" },
	{ "litmus_corr", corr_test, "" },
};

int main(int argc, char **argv)
{
	int bad = 0;
	for (int weak = 1; weak >= 0; weak--) {
		for (int i = 0; i < NTESTS; i++)
			weak_seen[i] = 0;
		setenv("AK_SIM_WEAK", weak ? "1" : "0", 1);
		setenv("AK_SIM_SCHED", "random,pct", 1);
		setenv("AK_SIM_SCHEDULES", "2000", 1);
		unsetenv("AK_SIM_COUNTS");
		if (ak_sim_main(argc, argv, list, NTESTS) != 0)
			return 1;
		for (int i = 0; i < NTESTS; i++) {
			int allowed = weak && (i == SB_RELAXED || i == MP_RELAXED);
			int ok = allowed ? weak_seen[i] > 0 : weak_seen[i] == 0;
			printf("litmus: %s, %s: the weak outcome in %ld of 4000 schedules (%s): %s\n",
			       names[i], weak ? "store buffers" : "sequentially consistent",
			       weak_seen[i], allowed ? "allowed, must be reached" : "forbidden",
			       ok ? "ok" : "WRONG");
			bad += !ok;
		}
	}
	return bad != 0;
}
