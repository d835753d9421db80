/*
 * tests/runner.c: runs every Check suite in fork mode (each test in its own
 * process, so a crash or a TSan report fails one test, and timeouts work),
 * prints Check's summary and "N passed, N failed", and writes the two
 * numbers to a file for make check's total.
 *
 * Usage: runner [--test NAME[,NAME...]] LABEL [COUNTS_FILE]
 *        runner --executors NAME[,NAME...] LABEL [COUNTS_FILE]
 *
 * --executors: the executor matrix.  The tests that run their futures as
 * tasks (the "as_tasks" tcase of the suites in task_suites[], written against
 * the testkit's tk_exec) run once per executor named (executor, pool,
 * block_on, uv, event, epoll; AK_TEST_EXECUTOR is set for each), and a
 * table gives each executor's passed and failed counts; the two numbers
 * written to COUNTS_FILE are the totals.
 *
 * One suite alone: CK_RUN_SUITE=notify; one tcase: CK_RUN_CASE=...; one
 * test by name: --test NAME or AK_TEST=NAME, AK_TEST_REPEAT=N to run it N
 * times (tests/testkit.h).  make unit|tsan|asan SUITE=... TEST=...
 * REPEAT=... set these.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

Suite *errors_suite(void);
Suite *waker_suite(void);
Suite *future_suite(void);
Suite *waitq_suite(void);
Suite *sem_suite(void);
Suite *notify_suite(void);
Suite *block_on_suite(void);
Suite *executor_suite(void);
Suite *executor_threads_suite(void);
Suite *task_suite(void);
Suite *pool_suite(void);
Suite *allocator_suite(void);
Suite *pool_idle_suite(void);
Suite *pool_options_suite(void);
Suite *timer_suite(void);
Suite *timeout_suite(void);
Suite *await_suite(void);
Suite *mpsc_suite(void);
Suite *broadcast_suite(void);
Suite *semaphore_suite(void);
Suite *notify_public_suite(void);
Suite *barrier_suite(void);
Suite *mutex_suite(void);
Suite *mutex_barging_suite(void);
Suite *select_suite(void);
Suite *oneshot_suite(void);
Suite *rwlock_suite(void);
Suite *watch_suite(void);
Suite *blocking_suite(void);
Suite *alloc_suite(void);
Suite *co_suite(void);
Suite *uv_suite(void);
Suite *event_suite(void);
Suite *epoll_suite(void);
Suite *once_cell_suite(void);
Suite *conform_suite(void);
Suite *cross_suite(void);
Suite *lockdep_suite(void);
Suite *cancel_sweep_suite(void);
Suite *scenarios_suite(void);

/* The suites with an "as_tasks" tcase (tk_tasks_tcase()): channels, sync and
 * select, whose task tests the executor matrix runs on every executor. */
static Suite *(*const task_suites[])(void) = {
	mpsc_suite, broadcast_suite, semaphore_suite, mutex_suite,
	mutex_barging_suite, rwlock_suite, select_suite, lockdep_suite,
	scenarios_suite,
};
#define NTASK_SUITES (sizeof(task_suites) / sizeof(task_suites[0]))
#define MAX_EXECUTORS 8

static void write_counts(const char *counts, int passed, int failed)
{
	if (!counts)
		return;
	FILE *f = fopen(counts, "w");
	if (f) {
		fprintf(f, "%d %d\n", passed, failed);
		fclose(f);
	}
}

/* Runs the task tests once on executor name; prints each failure. */
static void run_on(const char *name, int *passed, int *failed)
{
	setenv("AK_TEST_EXECUTOR", name, 1);    /* read by the forked tests */
	SRunner *sr = srunner_create(NULL);
	for (size_t i = 0; i < NTASK_SUITES; i++)
		srunner_add_suite(sr, task_suites[i]());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run(sr, NULL, TK_TASKS_CASE, CK_SILENT);
	int run = srunner_ntests_run(sr);
	*failed = srunner_ntests_failed(sr);
	*passed = run - *failed;
	TestResult **tr = srunner_failures(sr);
	for (int i = 0; tr && i < *failed; i++)
		printf("   %s: %s:%d: %s\n", name, tr_lfile(tr[i]), tr_lno(tr[i]),
		       tr_msg(tr[i]));
	free(tr);
	srunner_free(sr);
	fflush(stdout);
}

static int run_matrix(const char *list, const char *label, const char *counts)
{
	char buf[256], *names[MAX_EXECUTORS], *save = NULL;
	int n = 0, passed[MAX_EXECUTORS], failed[MAX_EXECUTORS];
	int all_passed = 0, all_failed = 0;

	snprintf(buf, sizeof buf, "%s", list);
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (!tk_exec_known(p) || n == MAX_EXECUTORS) {
			fprintf(stderr, "%s: no executor %s (executor, pool, block_on, "
			        "uv, event, epoll)\n", label, p);
			return EXIT_FAILURE;
		}
		names[n++] = p;
	}
	const char *filter = tk_test_filter();
	printf("== %s: the task tests of channels, sync and select on each executor%s%s ==\n",
	       label, filter ? ": " : "", filter ? filter : "");
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		run_on(names[i], &passed[i], &failed[i]);
		all_passed += passed[i];
		all_failed += failed[i];
	}
	printf("   %-10s %6s %6s\n", "executor", "passed", "failed");
	for (int i = 0; i < n; i++)
		printf("   %-10s %6d %6d\n", names[i], passed[i], failed[i]);
	printf("%s: %d passed, %d failed\n", label, all_passed, all_failed);
	write_counts(counts, all_passed, all_failed);
	return all_failed == 0 && all_passed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "--executors") == 0)
		return run_matrix(argv[2], argc > 3 ? argv[3] : "matrix",
		                  argc > 4 ? argv[4] : NULL);
	if (argc > 2 && strcmp(argv[1], "--test") == 0) {
		/* Before the suites are built: the filter acts as they add. */
		setenv("AK_TEST", argv[2], 1);
		argv += 2;
		argc -= 2;
	}
	const char *label = argc > 1 ? argv[1] : "unit";
	const char *counts = argc > 2 ? argv[2] : NULL;

	SRunner *sr = srunner_create(errors_suite());
	srunner_add_suite(sr, waker_suite());
	srunner_add_suite(sr, future_suite());
	srunner_add_suite(sr, waitq_suite());
	srunner_add_suite(sr, sem_suite());
	srunner_add_suite(sr, notify_suite());
	srunner_add_suite(sr, block_on_suite());
	srunner_add_suite(sr, executor_suite());
	srunner_add_suite(sr, executor_threads_suite());
	srunner_add_suite(sr, task_suite());
	srunner_add_suite(sr, pool_suite());
	srunner_add_suite(sr, allocator_suite());
	srunner_add_suite(sr, pool_idle_suite());
	srunner_add_suite(sr, pool_options_suite());
	srunner_add_suite(sr, timer_suite());
	srunner_add_suite(sr, timeout_suite());
	srunner_add_suite(sr, await_suite());
	srunner_add_suite(sr, mpsc_suite());
	srunner_add_suite(sr, broadcast_suite());
	srunner_add_suite(sr, semaphore_suite());
	srunner_add_suite(sr, notify_public_suite());
	srunner_add_suite(sr, barrier_suite());
	srunner_add_suite(sr, mutex_suite());
	srunner_add_suite(sr, uv_suite());
	srunner_add_suite(sr, event_suite());
	srunner_add_suite(sr, mutex_barging_suite());
	srunner_add_suite(sr, select_suite());
	srunner_add_suite(sr, oneshot_suite());
	srunner_add_suite(sr, rwlock_suite());
	srunner_add_suite(sr, watch_suite());
	srunner_add_suite(sr, blocking_suite());
	srunner_add_suite(sr, once_cell_suite());
	srunner_add_suite(sr, lockdep_suite());
	srunner_add_suite(sr, alloc_suite());
	srunner_add_suite(sr, co_suite());
	srunner_add_suite(sr, epoll_suite());
	srunner_add_suite(sr, conform_suite());
	srunner_add_suite(sr, cross_suite());
	srunner_add_suite(sr, cancel_sweep_suite());
	srunner_add_suite(sr, scenarios_suite());
	srunner_set_fork_status(sr, CK_FORK);

	const char *filter = tk_test_filter();
	if (filter && tk_test_filter_matches() == 0)
		printf("%s: no test named %s\n", label, filter);
	printf("== %s tests%s%s ==\n", label, filter ? ": " : "",
	       filter ? filter : "");
	fflush(stdout);
	/* One test by name: say that it passed, too. */
	srunner_run_all(sr, filter ? CK_VERBOSE : CK_NORMAL);
	int run = srunner_ntests_run(sr);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);

	printf("%s: %d passed, %d failed\n", label, run - failed, failed);
	write_counts(counts, run - failed, failed);
	return failed == 0 && run > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
