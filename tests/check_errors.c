/* Result codes, their names and messages, and the library version. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>
#include <check.h>
#include "testkit.h"

struct code {
	int value;
	const char *name;
};

#define CODE(c) { c, #c }
static const struct code error_codes[] = {
	CODE(AK_EINVAL), CODE(AK_EAGAIN), CODE(AK_EPIPE), CODE(AK_ETIMEDOUT),
	CODE(AK_EOVERFLOW), CODE(AK_EDEADLK), CODE(AK_EBUSY), CODE(AK_ENOENT),
	CODE(AK_ENOMEM), CODE(AK_ECANCELED), CODE(AK_EEXIST),
};
#define N_ERRORS ((int)(sizeof error_codes / sizeof error_codes[0]))

static const int unknown_codes[] = { -4242, 4242, 2, INT_MIN, INT_MAX };
#define N_UNKNOWN ((int)(sizeof unknown_codes / sizeof unknown_codes[0]))

START_TEST(error_codes_are_negative_and_distinct)
{
	int i, j;

	ck_assert_int_gt(AK_PENDING, 0);
	for (i = 0; i < N_ERRORS; i++) {
		ck_assert_int_lt(error_codes[i].value, 0);
		for (j = i + 1; j < N_ERRORS; j++)
			ck_assert_int_ne(error_codes[i].value, error_codes[j].value);
	}
}
END_TEST

START_TEST(err_name_of_each_error_is_its_macro_name)
{
	ck_assert_str_eq(ak_err_name(error_codes[_i].value),
	                 error_codes[_i].name);
}
END_TEST

START_TEST(err_name_of_pending_is_ak_pending)
{
	ck_assert_str_eq(ak_err_name(AK_PENDING), "AK_PENDING");
}
END_TEST

START_TEST(err_name_of_zero_is_ok)
{
	ck_assert_str_eq(ak_err_name(0), "OK");
}
END_TEST

START_TEST(err_name_of_unknown_value_is_unknown)
{
	ck_assert_str_eq(ak_err_name(unknown_codes[_i]), "UNKNOWN");
}
END_TEST

START_TEST(err_names_are_distinct)
{
	const char *names[N_ERRORS + 3];
	int n = 0, i, j;

	for (i = 0; i < N_ERRORS; i++)
		names[n++] = ak_err_name(error_codes[i].value);
	names[n++] = ak_err_name(0);
	names[n++] = ak_err_name(AK_PENDING);
	names[n++] = ak_err_name(-4242);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(names[i]);
		for (j = i + 1; j < n; j++)
			ck_assert_str_ne(names[i], names[j]);
	}
}
END_TEST

START_TEST(strerror_of_each_error_is_a_message)
{
	const char *s = ak_strerror(error_codes[_i].value);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_gt(strlen(s), 0);
	ck_assert_str_ne(s, ak_strerror(-4242));
}
END_TEST

START_TEST(strerror_messages_are_distinct)
{
	int i, j;

	for (i = 0; i < N_ERRORS; i++)
		for (j = i + 1; j < N_ERRORS; j++)
			ck_assert_str_ne(ak_strerror(error_codes[i].value),
			                 ak_strerror(error_codes[j].value));
}
END_TEST

START_TEST(strerror_of_zero_is_success)
{
	ck_assert_str_eq(ak_strerror(0), "success");
}
END_TEST

START_TEST(strerror_of_pending_is_operation_pending)
{
	ck_assert_str_eq(ak_strerror(AK_PENDING), "operation pending");
}
END_TEST

START_TEST(strerror_of_unknown_value_is_never_null)
{
	const char *s = ak_strerror(unknown_codes[_i]);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_gt(strlen(s), 0);
}
END_TEST

START_TEST(strerror_of_unknown_negative_value_says_unknown_error)
{
	ck_assert_ptr_nonnull(strstr(ak_strerror(-4242), "nknown error"));
	ck_assert_ptr_nonnull(strstr(ak_strerror(INT_MIN), "nknown error"));
}
END_TEST

START_TEST(strerror_and_err_name_leave_errno_alone)
{
	int i;

	errno = 1234;
	for (i = 0; i < N_ERRORS; i++) {
		(void)ak_strerror(error_codes[i].value);
		(void)ak_err_name(error_codes[i].value);
	}
	(void)ak_strerror(-4242);
	(void)ak_err_name(-4242);
	ck_assert_int_eq(errno, 1234);
}
END_TEST

/* Plain errno values that are not AK_E* codes, as a user's future returns. */
struct plain {
	int value;
	const char *name;
};

#define PLAIN(e) { e, #e }
static const struct plain plain_errnos[] = {
	PLAIN(ECONNREFUSED), PLAIN(EACCES), PLAIN(EINTR), PLAIN(EIO),
	PLAIN(ENOSPC), PLAIN(ECONNRESET),
};
#define N_PLAIN ((int)(sizeof plain_errnos / sizeof plain_errnos[0]))

START_TEST(strerror_of_a_plain_negative_errno_is_the_system_text)
{
	const struct plain *p = &plain_errnos[_i];

	/* The runner never calls setlocale: strerror() is the C locale's text. */
	ck_assert_str_eq(ak_strerror(-p->value), strerror(p->value));
}
END_TEST

START_TEST(strerror_of_econnrefused_is_connection_refused)
{
	ck_assert_str_eq(ak_strerror(-ECONNREFUSED), "Connection refused");
}
END_TEST

START_TEST(err_name_of_a_plain_negative_errno_is_its_symbolic_name)
{
	const struct plain *p = &plain_errnos[_i];

	ck_assert_str_eq(ak_err_name(-p->value), p->name);
}
END_TEST

START_TEST(positive_errno_values_stay_unknown)
{
	ck_assert_str_eq(ak_strerror(ECONNREFUSED), "unknown error");
	ck_assert_str_eq(ak_err_name(ECONNREFUSED), "UNKNOWN");
}
END_TEST

START_TEST(negative_values_past_every_errno_stay_unknown)
{
	ck_assert_str_eq(ak_strerror(-4095), "unknown error");
	ck_assert_str_eq(ak_err_name(-4095), "UNKNOWN");
	ck_assert_str_eq(ak_strerror(-4096), "unknown error");
	ck_assert_str_eq(ak_err_name(INT_MIN), "UNKNOWN");
}
END_TEST

START_TEST(system_text_stays_valid_after_later_calls)
{
	const char *refused = ak_strerror(-ECONNREFUSED);
	const char *name = ak_err_name(-ECONNREFUSED);
	int i;

	for (i = 0; i < N_PLAIN; i++) {
		(void)ak_strerror(-plain_errnos[i].value);
		(void)ak_err_name(-plain_errnos[i].value);
	}
	ck_assert_str_eq(refused, "Connection refused");
	ck_assert_str_eq(name, "ECONNREFUSED");
}
END_TEST

START_TEST(plain_errno_text_and_name_leave_errno_alone)
{
	int i;

	for (i = 0; i < N_PLAIN; i++) {
		errno = 1234;
		(void)ak_strerror(-plain_errnos[i].value);
		(void)ak_err_name(-plain_errnos[i].value);
		ck_assert_int_eq(errno, 1234);
	}
	errno = 1234;
	(void)ak_strerror(-4095);
	(void)ak_err_name(-4095);
	ck_assert_int_eq(errno, 1234);
}
END_TEST

/* Each thread asks for every plain errno's text and name, and counts
 * answers that are not the expected ones. */
static void *ask_plain_errnos(void *arg)
{
	long *wrong = arg;
	int round, i;

	for (round = 0; round < 200; round++)
		for (i = 0; i < N_PLAIN; i++) {
			const struct plain *p = &plain_errnos[(i + round) % N_PLAIN];

			if (strcmp(ak_err_name(-p->value), p->name) != 0)
				(*wrong)++;
			if (strcmp(ak_strerror(-p->value),
			           ak_strerror(-p->value)) != 0)
				(*wrong)++;
		}
	return NULL;
}

START_TEST(plain_errno_text_is_thread_safe)
{
	pthread_t t[4];
	long wrong[4] = { 0 };
	const char *refused = ak_strerror(-ECONNREFUSED);
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, ask_plain_errnos,
		                                &wrong[i]), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(wrong[i], 0);
	}
	ck_assert_str_eq(refused, "Connection refused");
}
END_TEST

START_TEST(version_is_the_compiled_version)
{
	ck_assert_uint_eq(ak_version(), AK_VERSION_HEX);
	ck_assert_uint_eq(AK_VERSION_HEX, (AK_VERSION_MAJOR << 16) |
	                  (AK_VERSION_MINOR << 8) | AK_VERSION_PATCH);
}
END_TEST

START_TEST(version_string_matches_the_macros)
{
	char expected[32];

	snprintf(expected, sizeof expected, "%d.%d.%d", AK_VERSION_MAJOR,
	         AK_VERSION_MINOR, AK_VERSION_PATCH);
	ck_assert_ptr_nonnull(ak_version_string());
	ck_assert_str_eq(ak_version_string(), expected);
}
END_TEST

Suite *errors_suite(void)
{
	Suite *s = suite_create("errors");
	TCase *tc;

	tc = tk_tcase("names");
	tcase_add_test(tc, error_codes_are_negative_and_distinct);
	tcase_add_loop_test(tc, err_name_of_each_error_is_its_macro_name, 0,
	                    N_ERRORS);
	tcase_add_test(tc, err_name_of_pending_is_ak_pending);
	tcase_add_test(tc, err_name_of_zero_is_ok);
	tcase_add_loop_test(tc, err_name_of_unknown_value_is_unknown, 0,
	                    N_UNKNOWN);
	tcase_add_test(tc, err_names_are_distinct);
	suite_add_tcase(s, tc);

	tc = tk_tcase("strerror");
	tcase_add_loop_test(tc, strerror_of_each_error_is_a_message, 0,
	                    N_ERRORS);
	tcase_add_test(tc, strerror_messages_are_distinct);
	tcase_add_test(tc, strerror_of_zero_is_success);
	tcase_add_test(tc, strerror_of_pending_is_operation_pending);
	tcase_add_loop_test(tc, strerror_of_unknown_value_is_never_null, 0,
	                    N_UNKNOWN);
	tcase_add_test(tc, strerror_of_unknown_negative_value_says_unknown_error);
	tcase_add_test(tc, strerror_and_err_name_leave_errno_alone);
	suite_add_tcase(s, tc);

	tc = tk_tcase("system_errno");
	tcase_add_loop_test(tc, strerror_of_a_plain_negative_errno_is_the_system_text,
	                    0, N_PLAIN);
	tcase_add_test(tc, strerror_of_econnrefused_is_connection_refused);
	tcase_add_loop_test(tc, err_name_of_a_plain_negative_errno_is_its_symbolic_name,
	                    0, N_PLAIN);
	tcase_add_test(tc, positive_errno_values_stay_unknown);
	tcase_add_test(tc, negative_values_past_every_errno_stay_unknown);
	tcase_add_test(tc, system_text_stays_valid_after_later_calls);
	tcase_add_test(tc, plain_errno_text_and_name_leave_errno_alone);
	tcase_add_test(tc, plain_errno_text_is_thread_safe);
	suite_add_tcase(s, tc);

	tc = tk_tcase("version");
	tcase_add_test(tc, version_is_the_compiled_version);
	tcase_add_test(tc, version_string_matches_the_macros);
	suite_add_tcase(s, tc);

	return s;
}
