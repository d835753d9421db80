/*
 * tests/check_conform.c: the conformance kit (ak_conform(3)) fails each
 * deliberately broken executor of tests/conform_broken.c with a message
 * that names its breach, and passes the same records without the bug.
 * (The shipped executors and adapters are qualified by ak-conform in make
 * check's matrix stage.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <awaitkit/conform.h>

#include "conform_broken.h"
#include "testkit.h"

Suite *conform_suite(void);

/* The kit's report on x, and its number of failed checks. */
static char *report(const struct ak_conform_executor *x, const char *only,
                    int *failed)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	*failed = ak_conform_run(x, only, out);
	fclose(out);
	return text;
}

static void assert_fails_with(const struct ak_conform_executor *x,
                              const char *check, const char *message)
{
	int failed;
	char *text = report(x, check, &failed);
	ck_assert_msg(failed == 1, "%s: %d checks failed:\n%s", check, failed, text);
	ck_assert_msg(strstr(text, "FAILED") && strstr(text, message),
	              "no \"%s\" in:\n%s", message, text);
	free(text);
}

START_TEST(conform_fails_an_executor_that_polls_inline_from_wake)
{
	assert_fails_with(&broken_inline_wake, "wake_from_another_thread",
	                  "polled inline from wake");
}
END_TEST

START_TEST(conform_fails_an_executor_that_reuses_a_context_across_polls)
{
	assert_fails_with(&broken_reused_context, "context_made_per_poll",
	                  "reused across polls");
}
END_TEST

START_TEST(conform_fails_an_executor_that_polls_a_completed_task)
{
	assert_fails_with(&broken_poll_after_completion, "wake_after_completion",
	                  "polled after it completed");
}
END_TEST

/* Every check, so the failures above come from the bug, not the kit. */
START_TEST(conform_passes_the_same_executor_without_the_bug)
{
	int failed;
	char *text = report(&own_records_correct, NULL, &failed);
	ck_assert_msg(failed == 0, "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "own-records: 8 passed, 0 failed"));
	free(text);
}
END_TEST

/* The whole kit on each broken executor: it fails, never hangs. */
START_TEST(conform_runs_every_check_on_a_broken_executor)
{
	const struct ak_conform_executor *broken[] = {
		&broken_inline_wake, &broken_reused_context,
		&broken_poll_after_completion,
	};
	int failed;
	char *text = report(broken[_i], NULL, &failed);
	ck_assert_msg(failed > 0, "%s", text);
	free(text);
}
END_TEST

START_TEST(conform_refuses_a_missing_function_or_an_unknown_check)
{
	struct ak_conform_executor x = own_records_correct;
	ck_assert_int_eq(ak_conform_run(&x, "no_such_check", NULL), AK_EINVAL);
	x.spawn = NULL;
	ck_assert_int_eq(ak_conform_run(&x, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_conform_run(NULL, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_conform_check_count(), 8);
	ck_assert_str_eq(ak_conform_check_name(0), "spawned_task_completes");
	ck_assert_ptr_null(ak_conform_check_name(8));
}
END_TEST

Suite *conform_suite(void)
{
	Suite *s = suite_create("conform");
	TCase *tc = tk_tcase("conform");
	tcase_add_test(tc, conform_fails_an_executor_that_polls_inline_from_wake);
	tcase_add_test(tc, conform_fails_an_executor_that_reuses_a_context_across_polls);
	tcase_add_test(tc, conform_fails_an_executor_that_polls_a_completed_task);
	tcase_add_test(tc, conform_passes_the_same_executor_without_the_bug);
	tcase_add_loop_test(tc, conform_runs_every_check_on_a_broken_executor, 0, 3);
	tcase_add_test(tc, conform_refuses_a_missing_function_or_an_unknown_check);
	suite_add_tcase(s, tc);
	return s;
}
