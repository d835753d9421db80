/*
 * tests/cancel_sweep.h: the cancellation sweep's table (issue 16).
 *
 * Every operation of every primitive is polled, then cancelled, at each of
 * its await points, alone and with a thread generating traffic on the same
 * primitive; at quiescence the row checks the primitive's exact state
 * (permits, queue lengths and contents, per-producer order, nobody left
 * waiting) and the driver (check_cancel_sweep.c) checks the library's
 * counters and every waker's clone/drop balance.  A row is one struct
 * cs_case: adding an operation is adding a row to one of the tables
 * (cancel_sweep_chan.c, cancel_sweep_sync.c, cancel_sweep_comb.c).
 *
 * The await points:
 *   CS_FIRST_POLL  the victim's first poll parked it; cancelled at once.
 *   CS_QUEUED      a witness parked ahead of the victim; the victim is
 *                  cancelled from the middle of the queue, then the
 *                  witness must still get through.
 *   CS_GRANTED     the victim parked, a witness behind it; grant() made the
 *                  victim ready (woken, a grant not yet observed); it is
 *                  cancelled before its next poll.  With CS_PASSES_ON the
 *                  witness must be woken by that cancel alone.
 *   CS_REPOLLED    as CS_GRANTED, then the victim is polled once more
 *                  (a join with one branch done, a partial grant) and, if
 *                  still pending, cancelled.
 */
#ifndef AK_TESTS_CANCEL_SWEEP_H
#define AK_TESTS_CANCEL_SWEEP_H

#include <stdio.h>
#include "testkit.h"

enum cs_point { CS_FIRST_POLL, CS_QUEUED, CS_GRANTED, CS_REPOLLED, CS_NPOINTS };
#define CS_ALL_POINTS 0xfu
#define CS_POINT(p) (1u << (p))

/* Row flags. */
#define CS_NO_WITNESS  0x01u  /* one consumer only: nothing waits beside it */
#define CS_PASSES_ON   0x02u  /* a grant cancelled unobserved goes to the witness */
#define CS_NEVER_PARKS 0x04u  /* completes at its first poll */
#define CS_GRANT_PARTIAL 0x08u /* grant() leaves the victim parked (a part) */
#define CS_NONDET      0x10u  /* timing decides (a short timer): no exact
                                 assertions on the order of events */
#define CS_GRANT_SILENT 0x20u /* the victim is granted but holds no waker to
                                 wake (an enabled, never polled notified) */

/* Every operation a row may need, victim or witness. */
union cs_op {
	struct ak_future future;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_reserve_op reserve;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_recv_many_op recv_many;
	struct ak_mpsc_closed_op mpsc_closed;
	struct ak_oneshot_recv_op oneshot_recv;
	struct ak_oneshot_closed_op oneshot_closed;
	struct ak_watch_changed_op changed;
	struct ak_watch_wait_for_op wait_for;
	struct ak_watch_closed_op watch_closed;
	struct ak_broadcast_recv_op bc_recv;
	struct ak_broadcast_closed_op bc_closed;
	struct ak_semaphore_acquire_op acquire;
	struct ak_mutex_lock_op lock;
	struct ak_rwlock_op rw;
	struct ak_notified_op notified;
	struct ak_barrier_wait_op barrier;
	struct ak_once_cell_op once;
	struct ak_set_once_wait_op set_once;
	struct ak_select_op select;
	struct ak_join_op join;
	struct ak_try_join_op try_join;
	struct ak_timeout_op timeout;
	struct ak_sleep_op sleep;
	struct ak_task_join_op task_join;
};

#define CS_AUX 12   /* spare tasks a row may poll its own operations in */

struct cs_case;

/* One round's state; st is the row's own (size bytes, zeroed). */
struct cs_env {
	const struct cs_case *c;
	void *st;
	int traffic;                   /* a traffic thread runs this round */
	atomic_int stop;               /* tells the traffic thread to return */
	atomic_long steps;             /* traffic steps done */
	atomic_int bad;                /* the traffic thread saw a wrong result */
	char bad_what[128];
	struct tk_task **aux;          /* CS_AUX tasks */
};

struct cs_case {
	const char *name;
	unsigned flags;
	unsigned points;               /* CS_ALL_POINTS, or a mask of CS_POINT() */
	long arg;                      /* the row's parameter (a capacity, ...) */
	size_t size;                   /* of the row's state */
	/* The primitive, in a state where the operation must wait. */
	void (*setup)(struct cs_env *e);
	/* Optional: just before the round's first operation, with the traffic
	 * running (a receiver's row drains what the traffic sent). */
	void (*prepare)(struct cs_env *e);
	/* Binds op: who is 0 for the victim, 1 for the witness. */
	void (*init)(struct cs_env *e, union cs_op *op, int who);
	/* Optional: the first step in place of a poll (notified_enable). */
	int (*first)(struct cs_env *e, union cs_op *op, struct tk_task *t, int who);
	/* Makes the oldest waiter ready (or, CS_GRANT_PARTIAL, part of it). */
	void (*grant)(struct cs_env *e);
	/* Lets waiters through; called again and again until the witness is. */
	void (*unblock)(struct cs_env *e);
	/* op finished with rc (0 or an error): takes what it holds. */
	void (*settle)(struct cs_env *e, union cs_op *op, int who, int rc);
	/* Optional: op was cancelled: gives back what completed parts hold. */
	void (*cancelled)(struct cs_env *e, union cs_op *op, int who);
	/* One step of traffic, from another thread; never waits for ever. */
	void (*traffic)(struct cs_env *e, unsigned *rng);
	/* At quiescence (traffic joined): the exact state. */
	void (*check)(struct cs_env *e);
	/* Frees everything; asserts nothing still waits. */
	void (*teardown)(struct cs_env *e);
};

extern const struct cs_case cs_chan_cases[];
extern const size_t cs_chan_count;
extern const struct cs_case cs_sync_cases[];
extern const size_t cs_sync_count;
extern const struct cs_case cs_comb_cases[];
extern const size_t cs_comb_count;

/* Where the driver is: row, point, traffic, round (failure messages). */
extern char cs_where[160];
#define CS_ASSERT(cond, ...) \
	do { \
		if (!(cond)) { \
			char cs_m_[256]; \
			snprintf(cs_m_, sizeof cs_m_, __VA_ARGS__); \
			ck_abort_msg("%s: %s (%s)", cs_where, cs_m_, #cond); \
		} \
	} while (0)
#define CS_RC(want, call) \
	do { \
		int cs_rc_ = (call); \
		CS_ASSERT(cs_rc_ == (want), "%s returned %d (%s)", #call, cs_rc_, \
		          ak_err_name(cs_rc_)); \
	} while (0)

/* From the traffic thread: records the first wrong result. */
void cs_traffic_bad(struct cs_env *e, const char *what, int rc);

/* Deadlines and randomness for the traffic thread. */
int64_t cs_soon(unsigned *rng);
unsigned cs_rand(unsigned *rng);

/* Polls op in aux task t until it completes, waking it as unblock allows. */
int cs_drive(struct cs_env *e, struct tk_task *t, union cs_op *op, int rc,
             void (*unblock)(struct cs_env *e));

/* Shared by rows: no-op callbacks. */
void cs_nothing(struct cs_env *e);
void cs_settle_nothing(struct cs_env *e, union cs_op *op, int who, int rc);

#endif
