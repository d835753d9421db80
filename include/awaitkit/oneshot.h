/*
 * awaitkit: the oneshot channel, one value from one sender to one
 * receiver.  See ak_oneshot(3).
 *
 * One allocation per channel holds the value and one atomic state word;
 * no lock.  The sender's send never waits; the receiver waits with a recv
 * operation (cancel safe), checks with try_recv, or blocks a plain thread
 * with recv_blocking.  The sender may wait for the receiver to go with a
 * closed operation.
 *
 *   call                          thread
 *   ak_oneshot_new                any
 *   send, tx_drop, tx_is_closed,     the sender's owner
 *   closed_init / poll / cancel
 *   try_recv, recv_blocking,      the receiver's owner
 *   rx_close, rx_drop,
 *   rx_is_terminated, rx_is_empty,
 *   recv_init, recv_consume_init,
 *   recv's poll / cancel
 *
 * The two sides run on any threads, concurrently with each other.
 */
#ifndef AK_ONESHOT_H
#define AK_ONESHOT_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_oneshot_tx;
struct ak_oneshot_rx;

/* Element hooks, optional.  drop is called once for a value sent but
 * never received, when the channel is freed. */
struct ak_oneshot_hooks {
	void (*drop)(void *elem, void *arg);
	void *arg;
};

/* Operation kinds (ak_op_size). */
#define AK_OP_ONESHOT_RECV 30
#define AK_OP_ONESHOT_CLOSED 31

/* Completes with the value copied into out (0), or AK_EPIPE. */
struct ak_oneshot_recv_op {
	struct ak_future future;
	AK_OP_PRIVATE(4) private_;
};

/* Completes (0) once the receiver is dropped or closed. */
struct ak_oneshot_closed_op {
	struct ak_future future;
	AK_OP_PRIVATE(4) private_;
};

int ak_oneshot_new(size_t elem_size, const struct ak_oneshot_hooks *hooks,
                   struct ak_oneshot_tx **tx, struct ak_oneshot_rx **rx);

/* The sender.  send consumes tx whatever it returns (but AK_EINVAL). */
int ak_oneshot_send(struct ak_oneshot_tx *tx, const void *value);
void ak_oneshot_tx_drop(struct ak_oneshot_tx *tx);
int ak_oneshot_tx_is_closed(const struct ak_oneshot_tx *tx);
int ak_oneshot_closed_init(struct ak_oneshot_closed_op *op,
                           struct ak_oneshot_tx *tx);

/* The receiver. */
int ak_oneshot_recv_init(struct ak_oneshot_recv_op *op,
                         struct ak_oneshot_rx *rx, void *out);
/* tokio's rx.await: the recv takes rx over, and drops it when it
 * completes (whatever it returns) or is cancelled; rx must not be used
 * again once this returned 0. */
int ak_oneshot_recv_consume_init(struct ak_oneshot_recv_op *op,
                                 struct ak_oneshot_rx *rx, void *out);
int ak_oneshot_try_recv(struct ak_oneshot_rx *rx, void *out);
int ak_oneshot_recv_blocking(struct ak_oneshot_rx *rx, void *out,
                             int64_t deadline);
int ak_oneshot_rx_close(struct ak_oneshot_rx *rx);
void ak_oneshot_rx_drop(struct ak_oneshot_rx *rx);
int ak_oneshot_rx_is_terminated(const struct ak_oneshot_rx *rx);
int ak_oneshot_rx_is_empty(const struct ak_oneshot_rx *rx);

#ifdef __cplusplus
}
#endif
#endif
