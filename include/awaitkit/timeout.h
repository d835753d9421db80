/*
 * awaitkit: a deadline on any operation (tokio::time::timeout).  See
 * ak_timeout_init(3).
 *
 * A timeout is an operation over another future, the inner one: it
 * completes with the inner future's own result, or, once the deadline has
 * passed with the inner future still pending, cancels it and completes
 * with AK_ETIMEDOUT.  Each poll polls the inner future first and only then
 * looks at the deadline, so an inner future that completes in the poll in
 * which the deadline passes wins: a send that committed never reports
 * AK_ETIMEDOUT.  It is built on the sleep operation (ak_sleep_until(3)),
 * so it works on any executor; it claims the inner future for as long as
 * it runs, and allocates nothing.
 *
 *   call                 thread
 *   ak_timeout_init      the op's owner, while the op is not pending
 *   poll, cancel         the op's owner, one at a time
 *   ak_timeout_elapsed   the op's owner
 */
#ifndef AK_TIMEOUT_H
#define AK_TIMEOUT_H

#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operation kind for ak_op_size(): kinds 125-129 (task join: 120-124). */
#define AK_OP_TIMEOUT 125

struct ak_timeout_op {
	struct ak_future future;
	AK_OP_PRIVATE(18) private_;
};

int ak_timeout_init(struct ak_timeout_op *op, struct ak_future *inner,
                    int64_t deadline);
int ak_timeout_elapsed(const struct ak_timeout_op *op);

#ifdef __cplusplus
}
#endif
#endif
