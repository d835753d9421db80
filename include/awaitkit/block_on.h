/*
 * awaitkit: driving a future from a plain thread, and deadlines.
 * See ak_block_on(3).
 */
#ifndef AK_BLOCK_ON_H
#define AK_BLOCK_ON_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deadlines are absolute nanoseconds on CLOCK_MONOTONIC. */
#define AK_DEADLINE_NEVER INT64_MAX

int64_t ak_now(void);
int64_t ak_deadline_in(int64_t ns);
int ak_block_on(struct ak_future *f, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
