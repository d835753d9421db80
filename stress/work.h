/*
 * stress/work.h: ak-stress(1)'s primitive workloads.  Each runs its
 * producers and consumers as tasks on one of the shipped executors
 * (conform/drivers.c: executor, pool, block_on, uv, event, epoll), with a
 * share of their operations cancelled: after a first poll that parked
 * (losing the operation's place) or after a wake, before the poll that
 * would observe a grant (which must pass on).  A cancelled operation is
 * retried (a send keeps its value); each is cancelled at most once.
 *
 * A workload is a struct wk_def: its defaults, and setup (make the
 * primitive and the tasks, register the kinds of operation), check (the
 * invariants, as stress_check calls), dump (its queues and tasks, for the
 * watchdog) and teardown.  wk_run does the rest: the executor, the run,
 * the library's waker and parked-operation balance, the throughput, the
 * closing line.
 */
#ifndef STRESS_WORK_H
#define STRESS_WORK_H

#include <stdatomic.h>
#include <stdio.h>
#include <awaitkit.h>

#include "harness.h"

/* A poll result of WK_AWAIT: the operation was cancelled (retry it). */
#define WK_CANCELLED 0x4000

enum { WK_PRODUCER, WK_CONSUMER };

/* The head of every task of a workload. */
struct wk_task {
	struct ak_future future;
	struct ak_await aw;
	struct wk *w;
	int role, id;
	int kind;                       /* of the operation awaited */
	int polls;                      /* of that operation */
	int cancelled_once;             /* that operation was cancelled once */
	int rc;                         /* WK_AWAIT's result */
	uint64_t i;                     /* the task's loop counter */
	struct stress_rng rng;
	_Atomic(const char *) waiting;  /* what it awaits, for the dump */
	atomic_uint_least64_t ops;      /* operations it completed */
	atomic_int finished;
};

struct wk;

struct wk_def {
	const char *name;
	const char *what;               /* one line for ak-stress -l */
	int producers, consumers;       /* defaults for -p, -c */
	long capacity;                  /* default for -k */
	int cancel_pct;                 /* default for -x */
	void (*setup)(struct wk *w);
	void (*check)(struct wk *w);
	void (*dump)(FILE *out, struct wk *w);
	void (*teardown)(struct wk *w);
};

struct wk {
	const struct wk_def *def;
	int producers, consumers;
	long capacity;
	int cancel_pct;
	const char *executor;
	struct wk_task **tasks;
	int ntasks;
	void *st;                       /* the workload's state */
};

/* Runs the workload on the executor of -e (the pool by default). */
int wk_run(const struct wk_def *def);

/* A task of size bytes (its struct starts with struct wk_task), zeroed,
 * with its poll function; wk_run spawns it. */
struct wk_task *wk_task_add(struct wk *w, size_t size,
                            int (*poll)(struct ak_future *, struct ak_context *),
                            int role, int id);

/* 1 while the task should go on: by -n count, or until the time is up. */
int wk_more(struct wk_task *t);
int wk_chance(struct wk_task *t, unsigned percent);

/* Marks the task finished (the last statement before AK_RETURN). */
void wk_finish(struct wk_task *t);

void wk_begin(struct wk_task *t, struct ak_future *op, int kind, const char *what);
int wk_poll(struct wk_task *t);

/* Awaits op like AK_AWAIT, counting it under kind, and cancelling it at
 * the -x rate; t->rc gets 0, an error, or WK_CANCELLED. */
#define WK_AWAIT(t, op, kind_, what)                                        \
	do {                                                                \
		wk_begin((t), (op), (kind_), (what));                       \
		(t)->aw.line = __LINE__;                                    \
		AK__FALLTHROUGH;                                            \
	case __LINE__:                                                      \
		if (((t)->rc = wk_poll((t))) == AK_PENDING)                 \
			return AK_PENDING;                                  \
	} while (0)

/* What a consumer saw from every producer (values producer << 40 | seq). */
#define WK_MAX_TASKS 1100
#define WK_SEQ_BITS 40
#define WK_VALUE(id, seq) (((uint64_t)(id) << WK_SEQ_BITS) | (seq))
struct wk_seen {
	uint64_t next[WK_MAX_TASKS];    /* per producer: the sequence expected next */
	struct stress_sum sum;
	uint64_t count, out_of_order;
};
/* Takes v, which must be its producer's next (a lag of broadcast's
 * excepted: lagged says so). */
void wk_seen_take(struct wk_seen *s, uint64_t v, int producers);
/* The count, checksum and per-producer order checks. */
void wk_check_seen(const char *what, struct wk_seen *seen, const struct stress_sum *sent,
                   const uint64_t *sent_count, int producers);

/* The dump's line for every task. */
void wk_dump_tasks(FILE *out, struct wk *w);

/* The workloads (work_chan.c, work_sync.c). */
extern const struct wk_def wk_mpsc, wk_oneshot, wk_broadcast, wk_watch;
extern const struct wk_def wk_semaphore, wk_mutex, wk_rwlock, wk_notify, wk_barrier;

#endif
