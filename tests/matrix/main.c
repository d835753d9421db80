/*
 * tests/matrix/main.c: runs the scenarios of tests/matrix/scenarios.c on
 * each executor, one Check suite (fork mode) per executor, and prints a
 * table of each executor's passed and failed counts.
 *
 * Usage: matrix LABEL [COUNTS_FILE] [EXECUTOR...]   (default: all six)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "../../conform/drivers.h"
#include "../testkit.h"
#include "matrix.h"

const struct ak_conform_executor *mx_exec;

void mx_open(struct mx *m)
{
	m->x = mx_exec;
	ck_assert_int_eq(m->x->new_executor(m->x->arg, &m->ex), 0);
}

void mx_spawn(struct mx *m, struct ak_future *task)
{
	ck_assert_int_eq(m->x->spawn(m->ex, task), 0);
}

void mx_run(struct mx *m)
{
	int rc = m->x->run_until_idle(m->ex, ak_deadline_in(8LL * 1000 * 1000 * 1000));
	ck_assert_msg(rc == 0, "%s: run_until_idle: %s", m->x->name, ak_strerror(rc));
}

void mx_close(struct mx *m)
{
	m->x->free_executor(m->ex);
	m->ex = NULL;
}

struct mx_task_head {
	struct ak_future future;
	struct ak_await aw;
};

void mx_await_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct mx_task_head *)(void *)f)->aw, f);
}

int main(int argc, char **argv)
{
	const char *label = argc > 1 ? argv[1] : "matrix";
	const char *counts = argc > 2 ? argv[2] : NULL;
	const struct ak_conform_executor *list[8];
	int n = 0;
	for (int i = 3; i < argc && n < 7; i++) {
		list[n] = conform_driver(argv[i]);
		if (!list[n]) {
			fprintf(stderr, "matrix: no executor %s\n", argv[i]);
			return 2;
		}
		n++;
	}
	if (n == 0)
		for (; conform_drivers[n]; n++)
			list[n] = conform_drivers[n];
	int passed[8], failed[8], all_passed = 0, all_failed = 0;
	printf("== %s: the executor matrix ==\n", label);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "matrix-%s", list[i]->name);
		Suite *s = suite_create(name);
		TCase *tc = tk_tcase(list[i]->name);
		mx_add_scenarios(tc);
		suite_add_tcase(s, tc);
		mx_exec = list[i];
		SRunner *sr = srunner_create(s);
		srunner_set_fork_status(sr, CK_FORK);
		srunner_run_all(sr, CK_NORMAL);
		int run = srunner_ntests_run(sr);
		failed[i] = srunner_ntests_failed(sr);
		passed[i] = run - failed[i];
		srunner_free(sr);
		all_passed += passed[i];
		all_failed += failed[i];
	}
	printf("== %s: %-10s %6s %6s ==\n", label, "executor", "passed", "failed");
	for (int i = 0; i < n; i++)
		printf("   %-10s %6d %6d\n", list[i]->name, passed[i], failed[i]);
	printf("%s: %d passed, %d failed\n", label, all_passed, all_failed);
	if (counts) {
		FILE *f = fopen(counts, "w");
		if (f) {
			fprintf(f, "%d %d\n", all_passed, all_failed);
			fclose(f);
		}
	}
	return all_failed == 0 && all_passed > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
