/*
 * testkit: what the unit tests share.
 *
 *  - a checked fixture (tk_tcase) that snapshots ak_debug_counters() before
 *    each test and checks after it that the library holds no more waker
 *    clones, parked operations or allocations than before, and that every
 *    counting waker handed out by tk_cw_new() got each clone back (dropped
 *    or consumed by a wake);
 *  - a counting waker, with vtable variants for the ABI tests;
 *  - a manual executor (tk_task, tk_poll): one poll, one fresh context;
 *  - a few user futures: ready-after-N, parked-until-flag, busy, keeper,
 *    and one that makes blocking calls inside its poll.
 *
 * Tests never assert from a thread they start: threads record, the test
 * joins them and asserts.
 */
#ifndef TESTKIT_H
#define TESTKIT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <check.h>
#include <awaitkit.h>

Suite *waker_suite(void);
Suite *future_suite(void);
Suite *block_on_suite(void);
Suite *executor_suite(void);
Suite *errors_suite(void);

/* Seconds per test; the runner scales it under TSan (CK_TIMEOUT_MULTIPLIER). */
#define TK_TIMEOUT 10

/* A tcase with the checked leak fixture and the timeout. */
TCase *tk_tcase(const char *name);
void tk_setup(void);
void tk_teardown(void);

struct ak_debug_counts tk_counters(void);

/* ---- Counting waker ---------------------------------------------------- */

struct tk_counting_waker;
typedef void (*tk_wake_hook)(struct tk_counting_waker *cw);

struct tk_counting_waker {
	const struct ak_waker_vtable *vtable; /* the variant its wakers carry */
	atomic_long clones;        /* successful clones */
	atomic_long clone_failures; /* clones refused (fail_clone set) */
	atomic_long drops;
	atomic_long wakes;         /* consuming wakes */
	atomic_long wakes_by_ref;
	atomic_long live;          /* clones not yet dropped or consumed */
	atomic_long underflows;    /* a drop or wake of a reference never cloned */
	atomic_int fail_clone;     /* when set, clone returns {NULL, NULL} */
	atomic_int woken;          /* set by every wake; see tk_task_take_woken */
	tk_wake_hook hook;         /* called after each wake / wake_by_ref */
	void *hook_arg;
};

/* The vtables, defined once with external linkage. */
extern const struct ak_waker_vtable tk_counting_vtable;
/* abi = AK_WAKER_ABI_VERSION + 1 */
extern const struct ak_waker_vtable tk_counting_vtable_other_major;
/* size one slot short of version 1 */
extern const struct ak_waker_vtable tk_counting_vtable_small;
/* right major and size, but wake_by_ref is NULL */
extern const struct ak_waker_vtable tk_counting_vtable_null_slot;
/* same major, one more slot appended, size says so */
struct tk_waker_vtable_v2 {
	struct ak_waker_vtable v1;
	void (*extra)(const void *data);
};
extern const struct tk_waker_vtable_v2 tk_counting_vtable_large;

/*
 * A zeroed counting waker from a per-test pool: the teardown checks it is
 * balanced.  The waker returned by tk_counting_waker() is the test's own
 * borrowed reference: only its clones are counted, and the library must
 * never drop or consume it (that shows up as an underflow).
 */
struct tk_counting_waker *tk_cw_new(void);
struct tk_counting_waker *tk_cw_new_with(const struct ak_waker_vtable *vt);
struct ak_waker tk_counting_waker(struct tk_counting_waker *cw);
/* Every clone dropped or consumed by a wake, nothing dropped twice. */
void tk_assert_balanced(struct tk_counting_waker *cw);

/*
 * A hook that re-enters the library from inside wake / wake_by_ref: reads
 * the debug counters, compares noop wakers, clones and drops a noop waker,
 * and cancels cancel_target if set.  Counts calls and failures.
 */
struct tk_reentry {
	struct ak_future *cancel_target;
	atomic_int calls;
	atomic_int failures;
};
void tk_cw_set_reentry(struct tk_counting_waker *cw, struct tk_reentry *r);

/* ---- Manual executor --------------------------------------------------- */

struct tk_task {
	struct tk_counting_waker *cw;
	struct ak_task_slot slot;   /* zeroed at creation */
};

struct tk_task *tk_task_new(void);
/* One poll with a fresh context on the task's waker and slot. */
int tk_poll(struct tk_task *t, struct ak_future *f);
/* The same with the context's budget set to budget before the poll. */
int tk_poll_budget(struct tk_task *t, struct ak_future *f, int32_t budget);
/* One poll by task t on the branch path given (len levels: what a
 * combinator sets), and one with a context that has no task slot (no
 * identity: no self-deadlock detection). */
int tk_poll_path(struct tk_task *t, struct ak_future *f, int len, const uint16_t *idx);
int tk_poll_noslot(struct tk_task *t, struct ak_future *f);
/* 1 if the task was woken since the last call, and clears the flag. */
int tk_task_take_woken(struct tk_task *t);
/* Asserts that the task was woken (clearing the flag), then polls f once:
 * what an executor does with a woken task. */
int tk_poll_woken(struct tk_task *t, struct ak_future *f);

/* ---- A log of polls, to check orders ----------------------------------- */

#define TK_LOG_MAX 64
struct tk_log {
	atomic_int n;
	int ids[TK_LOG_MAX];
};
void tk_log_add(struct tk_log *log, int id);
int tk_log_len(struct tk_log *log);

/* ---- User futures ------------------------------------------------------ */

#define TK_RECORD_MAX 16

/*
 * Counts polls and cancels; returns AK_PENDING `pending` times (waking its
 * task by reference first when wake_self is set), then `result`.
 * Records, per poll, the slot and budget of the context it was given.
 */
struct tk_count_future {
	struct ak_future future;
	int result;
	int pending;
	int wake_self;
	int id;
	struct tk_log *log;
	atomic_int polls;
	atomic_int cancels;
	struct ak_task_slot *slot;            /* cx->slot of the last poll */
	int32_t budgets[TK_RECORD_MAX];       /* cx->budget on entry, per poll */
};
extern const struct ak_future_vtable tk_count_vtable;
void tk_count_init(struct tk_count_future *f, int pending, int wake_self,
                   int result);
/* Returns result at its first poll. */
void tk_ready_init(struct tk_count_future *f, int result);
/* Wakes itself and returns AK_PENDING n times, then 0. */
void tk_after_init(struct tk_count_future *f, int n);

/*
 * Parks keeping a clone of the waker (re-cloned only when the waker
 * changes task), and returns `result` once the flag is set.  tk_flag_set()
 * sets the flag and then wakes the stored clone; it may run on any thread.
 * Counts the clones it took and the ones it gave back (dropped, or consumed
 * by tk_flag_set's wake).
 */
struct tk_flag_future {
	struct ak_future future;
	pthread_mutex_t lock;
	int flag;                   /* under lock */
	struct ak_waker stored;     /* under lock */
	int result;
	atomic_int polls;
	atomic_int cancels;
	atomic_int clones;
	atomic_int released;
};
extern const struct ak_future_vtable tk_flag_vtable;
void tk_flag_init(struct tk_flag_future *f, int result);
void tk_flag_set(struct tk_flag_future *f);
/* wake_by_ref on the stored clone, if any; 1 if there was one. */
int tk_flag_wake_by_ref(struct tk_flag_future *f);
/* 1 if it holds a waker clone now. */
int tk_flag_holds_waker(struct tk_flag_future *f);

/* A thread that sleeps delay_ns, then tk_flag_set(f). */
struct tk_setter {
	pthread_t thread;
	struct tk_flag_future *f;
	int64_t delay_ns;
	int when_parked;            /* tk_setter_start_when_parked */
};
void tk_setter_start(struct tk_setter *s, struct tk_flag_future *f,
                     int64_t delay_ns);
/*
 * A thread that waits until f has parked (holds a waker clone), then
 * tk_flag_set(f): a test of "woken from another thread" that does not
 * bet on a delay being long enough for the first poll (up to 5 s; then
 * it sets the flag anyway, and the test's own checks say what went wrong).
 */
void tk_setter_start_when_parked(struct tk_setter *s, struct tk_flag_future *f);
void tk_setter_join(struct tk_setter *s);

/*
 * A thread that calls send(ctx, v) with v = 1, 2, ... until stopped,
 * counting the calls that returned 0 and yielding every 64 calls: the
 * "another thread sends meanwhile" of a race test.  A test loops at least
 * its rounds and on until tk_sender_sends() > 0 (yielding), so that a
 * loaded machine that did not run the thread during the rounds still
 * exercises the race; tk_sender_stop() joins it and returns the count.
 */
struct tk_sender {
	pthread_t thread;
	int (*send)(void *ctx, uint64_t v);
	void *ctx;
	atomic_int stop;
	atomic_long sends;
};
void tk_sender_start(struct tk_sender *s, int (*send)(void *ctx, uint64_t v),
                     void *ctx);
long tk_sender_sends(struct tk_sender *s);
/* 1 while round i (from 0) should run: i < rounds, or nothing sent yet. */
int tk_sender_more(struct tk_sender *s, int i, int rounds);
long tk_sender_stop(struct tk_sender *s);

/*
 * Loops calling ak_coop_poll until it has made `needed` successful calls;
 * returns AK_PENDING (counting a yield) each time ak_coop_poll does.
 */
struct tk_busy_future {
	struct ak_future future;
	int needed;
	int done;
	int id;
	struct tk_log *log;
	atomic_int polls;
	atomic_int yields;
	atomic_int cancels;
};
extern const struct ak_future_vtable tk_busy_vtable;
void tk_busy_init(struct tk_busy_future *f, int needed);

/*
 * Clones its waker into `kept` at its first poll and returns `result`
 * at once, keeping the clone: the test wakes or drops it later.
 */
struct tk_keeper_future {
	struct ak_future future;
	struct ak_waker kept;
	int result;
	atomic_int polls;
};
extern const struct ak_future_vtable tk_keeper_vtable;
void tk_keeper_init(struct tk_keeper_future *f, int result);

/*
 * Makes blocking calls inside its poll and records what they returned:
 * ak_block_on(inner) if inner is set; with ex set, ak_executor_run(ex),
 * ak_executor_run_until(ex, inner or a ready future) and
 * ak_executor_free(ex); with self set, ak_task_cancel(self).  Returns 0.
 * A result is TK_NOT_CALLED when its call was not made.
 */
#define TK_NOT_CALLED 0x7eadbeef
struct tk_blocker_future {
	struct ak_future future;
	struct ak_future *inner;
	struct ak_executor *ex;
	struct ak_task *self;
	int rc_block_on;
	int rc_run;
	int rc_run_until;
	int rc_free;
	int rc_cancel_self;
	atomic_int polls;
};
extern const struct ak_future_vtable tk_blocker_vtable;
void tk_blocker_init(struct tk_blocker_future *f, struct ak_future *inner,
                     struct ak_executor *ex, struct ak_task *self);

void tk_sleep_ns(int64_t ns);

/* Runs fn(arg) on a thread of its own, started now, and joins it: what fn
 * returned, as an int (fn returns (void *)(intptr_t)rc). */
int tk_thread_run(void *(*fn)(void *), void *arg);

/* ---- Waiting for another thread ----------------------------------------- */

/*
 * A test that waits for another thread must make progress when a core is
 * taken away (TSan beside two busy loops runs the machine ~4x slower): a
 * waiter that spins without yielding can hold the very core its partner
 * needs.  tk_backoff() is one step of such a wait: a few spins with a CPU
 * relax, then sched_yield(), and once it has yielded for a while, short
 * sleeps (a yield alone may be handed straight back under CFS).
 *
 *	struct tk_backoff b = TK_BACKOFF_INIT;
 *	while (!atomic_load(&flag))
 *		tk_backoff(&b);
 *
 * TK_WAIT_UNTIL(cond) is that loop; tk_spin_until() the same with a
 * predicate and a timeout, for waits that may legitimately never end.
 */
struct tk_backoff {
	unsigned steps;
};
#define TK_BACKOFF_INIT { 0 }
void tk_backoff(struct tk_backoff *b);
#define TK_WAIT_UNTIL(cond) \
	do { \
		struct tk_backoff tk_b_ = TK_BACKOFF_INIT; \
		while (!(cond)) \
			tk_backoff(&tk_b_); \
	} while (0)
/* Waits until pred(arg) returns nonzero (1) or timeout_ns passes (0). */
int tk_spin_until(int (*pred)(void *), void *arg, int64_t timeout_ns);

/*
 * A round number handed between two threads, for tests that race two
 * threads round after round.  The waiter spins a little (such a race needs
 * both threads running at once), then parks on a futex, so the test goes
 * on when a core is taken away (TSan, busy loops beside it): a busy-wait
 * there costs a whole time slice per hand-off.  Start turn at 0.
 *
 *	tk_baton_pass(&b, i);                    (the partner's round i)
 *	tk_baton_wait(&b, -i);                   (until it says served)
 *	...
 *	tk_baton_pass(&b, TK_BATON_STOP);        (the partner returns)
 */
#define TK_BATON_STOP INT_MAX
struct tk_baton {
	atomic_int turn;
	atomic_int sleepers;
};
void tk_baton_pass(struct tk_baton *b, int turn);
/* Waits until the turn is want, or TK_BATON_STOP; returns it. */
int tk_baton_wait(struct tk_baton *b, int want);

/* ---- Mutual exclusion workloads ---------------------------------------- */

/*
 * A lock as the exclusion workloads see it: an acquire operation bound to
 * it (once complete, the guard), the same taken on a blocked thread, and
 * the guard's release.  tk_lock_mutex() and tk_lock_semaphore() (one
 * permit per acquire) fill one.
 */
union tk_guard {
	struct ak_future future;
	struct ak_mutex_lock_op mutex;
	struct ak_semaphore_acquire_op sem;
};
struct tk_lock {
	void *lock;
	int (*bind)(union tk_guard *g, void *lock);
	int (*blocking)(union tk_guard *g, void *lock);
	int (*release)(union tk_guard *g);
};
struct tk_lock tk_lock_mutex(struct ak_mutex *m);
struct tk_lock tk_lock_semaphore(struct ak_semaphore *s);

/*
 * `threads` blocked threads (or `tasks` tasks on the run's executor,
 * tk_exec's, by default a pool of 4 workers, each holding the lock across
 * an await every fourth time) take the lock
 * `iters` times each around a racy increment of a counter.  Returns the
 * counter, threads * iters when the lock excluded, or -1 when an acquire,
 * a release or a task failed.
 */
long tk_exclusion_on_threads(const struct tk_lock *l, int threads, int iters);
long tk_exclusion_on_pool(const struct tk_lock *l, int tasks, int iters);  /* on tk_exec */

/* ---- A partner's move racing re-polls ------------------------------------ */

/*
 * Round after round, a partner thread's move races this thread's re-polls
 * of a queued operation (the twin regressions of the semaphore and notify
 * cores).  Each round: arm(arg) binds the operation, whose first poll
 * must park (AK_PENDING); the partner runs act(arg) while this thread
 * re-polls it (up to 256 times, then it waits for the move), then the
 * operation must complete (0), and holds(arg) must say the round left
 * things right.  Stops after `rounds` rounds, 3 s (beside busy loops the
 * two threads rarely run at once: a bound on the effort, never a
 * verdict), or a round that went wrong.  Returns 1 when one did, 0
 * otherwise; *errors counts the polls that did not return what they must.
 */
struct tk_race {
	void *arg;
	void (*arm)(void *arg);
	int (*poll)(void *arg);       /* one poll with a noop waker */
	void (*act)(void *arg);       /* on the partner thread */
	int (*holds)(void *arg);
};
int tk_race_repolls(const struct tk_race *r, int rounds, int *errors);
/* ---- Tasks on the run's executor ---------------------------------------- */

/*
 * A test whose futures run as tasks is written once against tk_exec and
 * runs on whichever executor the run names: AK_TEST_EXECUTOR=executor,
 * pool, block_on, uv, event or epoll (conform/drivers.c: the single-thread
 * executor, the pool, one ak_block_on thread per task, a libuv loop, a
 * libevent base, the epoll executor); unset, on the test's own default.
 * Such tests go in their suite's tk_tasks_tcase(), the tcase that the
 * runner's executor matrix (runner --executors, make check's matrix
 * stage) runs once per executor.
 *
 * The test's thread is the executor's: it spawns every task, then
 * tk_exec_run() runs the loop there (the pool's workers run them on their
 * own; the block_on threads start there) until every task finished.  Work
 * the test does beside its tasks, a blocking receive say, goes on a thread
 * of its own.
 *
 *	struct tk_exec *x = tk_exec_new("pool", 4);
 *	for (i = 0; i < N; i++)
 *		tk_exec_spawn(x, &tasks[i].future);
 *	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(...)), 0);
 *	ck_assert_int_eq(tk_exec_result(x, i), 0);
 *	tk_exec_free(x);
 */
#define TK_TASKS_CASE "as_tasks"
struct tk_exec;
/* The executor the run names, or dflt; 1 if name is one of the six. */
const char *tk_exec_pick(const char *dflt);
int tk_exec_known(const char *name);
/* workers: the pool's (0: 2); the other executors have their own. */
struct tk_exec *tk_exec_new(const char *dflt, int workers);
const char *tk_exec_name(const struct tk_exec *x);
/* Spawns body (initialised, never polled) before tk_exec_run; its index. */
int tk_exec_spawn(struct tk_exec *x, struct ak_future *body);
/* Until every task finished: 0, or AK_ETIMEDOUT at deadline. */
int tk_exec_run(struct tk_exec *x, int64_t deadline);
/* Task i's result: its body's, AK_ECANCELED, or AK_PENDING if unfinished. */
int tk_exec_result(const struct tk_exec *x, int i);
/* Frees the executor (unfinished tasks are cancelled) and the records. */
void tk_exec_free(struct tk_exec *x);
/* tk_tcase(TK_TASKS_CASE). */
TCase *tk_tasks_tcase(void);

/* ---- Running one test by name ------------------------------------------- */

/*
 * AK_TEST=name[,name...] in the environment: the runner adds only the
 * named tests (every suite still runs, with the others left out);
 * AK_TEST_REPEAT=N runs each of them N times, each in its own process.
 * It works by routing Check's tcase_add_test (and its variants, which all
 * expand to _tcase_add_test) through tk_tcase_add_test, so test files need
 * nothing but this header.  tk_test_filter() is the name list, or NULL.
 */
void tk_tcase_add_test(TCase *tc, const TTest *ttest, int signal,
                       int allowed_exit_value, int start, int end);
const char *tk_test_filter(void);
int tk_test_filter_matches(void);
#define _tcase_add_test tk_tcase_add_test

#endif
