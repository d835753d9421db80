/*
 * tests/conform_broken.h: executors that break the waker ABI contract on
 * purpose, and one that keeps it, for the conformance kit's own tests
 * (tests/check_conform.c).  Test fixtures only.
 */
#ifndef TESTS_CONFORM_BROKEN_H
#define TESTS_CONFORM_BROKEN_H

#include <awaitkit/conform.h>

/* On the task API: its schedule function runs the task inline. */
extern const struct ak_conform_executor broken_inline_wake;
/* Its own task records (the waker ABI alone): keeps one context per task
 * and refreshes only its waker before each poll. */
extern const struct ak_conform_executor broken_reused_context;
/* Its own task records: a wake after completion queues and polls it. */
extern const struct ak_conform_executor broken_poll_after_completion;
/* The same records without a bug: the kit passes it. */
extern const struct ak_conform_executor own_records_correct;

#endif
