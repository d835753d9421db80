/*
 * awaitkit: the broadcast channel.  See ak_broadcast(3).
 *
 * A bounded ring of fixed-size elements, many senders, many receivers:
 * every receiver sees every value sent after it subscribed, in order.  The
 * capacity is rounded up to a power of two.  Send never waits: when the
 * ring is full it overwrites the oldest value, and a receiver that falls
 * more than the capacity behind gets AK_EOVERFLOW with the number of values
 * it missed, then goes on from the oldest value still held.
 *
 * A sender handle is the channel itself, reference counted: clone and drop
 * it with ak_broadcast_tx_clone / ak_broadcast_tx_drop; the channel closes
 * when the last sender is dropped.  A receiver is its own small object with
 * its own cursor (ak_broadcast_subscribe, ak_broadcast_resubscribe,
 * ak_broadcast_rx_drop).
 *
 *   call                               lock taken                thread
 *   send                               channel lock              any
 *   tx_clone, tx_downgrade, weak_*     never                     any
 *   tx_drop                            channel lock, the last    any
 *   subscribe                          channel lock              any
 *   receiver_count, capacity, len,     never                     any
 *   is_empty
 *   closed poll, cancel                channel lock (a look)     the op's owner
 *   try_recv, recv poll (value ready)  never (pins one slot)     the rx's owner
 *   recv poll (must wait), cancel      channel lock              the rx's owner
 *   resubscribe, rx_drop               channel lock              the rx's owner
 *   rx_len, rx_is_closed, rx_is_empty, never                     the rx's owner
 *   same_channel, sender_*_count
 *
 * One receiver is used by one thread at a time (as tokio's &mut Receiver);
 * different receivers and senders may be used from any threads at once.
 */
#ifndef AK_BROADCAST_H
#define AK_BROADCAST_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_broadcast_tx;
struct ak_broadcast_rx;
struct ak_broadcast_weak;

/* The largest capacity accepted (after rounding up to a power of two). */
#define AK_BROADCAST_MAX_CAPACITY ((size_t)1 << 30)

/*
 * Element hooks, optional.  clone copies the value at src (in the ring) to
 * dst (the receiver's buffer); 0, or a negative error that the receive
 * returns, leaving its cursor where it was.  drop runs exactly once for
 * every value the channel discards: overwritten, or still held when the
 * channel is freed.  A drop hook needs a clone hook.  Hooks must not call
 * into the same channel.
 */
struct ak_broadcast_hooks {
	int (*clone)(void *dst, const void *src, void *arg);
	void (*drop)(void *elem, void *arg);
	void *arg;
};

int ak_broadcast_new(struct ak_broadcast_tx **tx, struct ak_broadcast_rx **rx,
                     size_t capacity, size_t elem_size,
                     const struct ak_broadcast_hooks *hooks);

int ak_broadcast_send(struct ak_broadcast_tx *tx, const void *value, size_t *receivers);
int ak_broadcast_tx_clone(struct ak_broadcast_tx *tx, struct ak_broadcast_tx **out);
int ak_broadcast_tx_drop(struct ak_broadcast_tx *tx);
int ak_broadcast_subscribe(struct ak_broadcast_tx *tx, struct ak_broadcast_rx **out);
size_t ak_broadcast_receiver_count(const struct ak_broadcast_tx *tx);
size_t ak_broadcast_capacity(const struct ak_broadcast_tx *tx);
size_t ak_broadcast_len(const struct ak_broadcast_tx *tx);
int ak_broadcast_is_empty(const struct ak_broadcast_tx *tx);

/* Weak senders: they keep the channel's memory, not the channel open; an
 * upgrade fails with AK_EPIPE once the last sender is gone. */
int ak_broadcast_tx_downgrade(struct ak_broadcast_tx *tx, struct ak_broadcast_weak **out);
int ak_broadcast_weak_upgrade(struct ak_broadcast_weak *weak, struct ak_broadcast_tx **out);
int ak_broadcast_weak_clone(struct ak_broadcast_weak *weak, struct ak_broadcast_weak **out);
int ak_broadcast_weak_drop(struct ak_broadcast_weak *weak);

int ak_broadcast_try_recv(struct ak_broadcast_rx *rx, void *out, uint64_t *missed);
int ak_broadcast_recv_blocking(struct ak_broadcast_rx *rx, void *out, uint64_t *missed,
                               int64_t deadline);
int ak_broadcast_resubscribe(struct ak_broadcast_rx *rx, struct ak_broadcast_rx **out);
int ak_broadcast_rx_drop(struct ak_broadcast_rx *rx);
uint64_t ak_broadcast_rx_len(const struct ak_broadcast_rx *rx);
int ak_broadcast_rx_is_closed(const struct ak_broadcast_rx *rx);
int ak_broadcast_rx_is_empty(const struct ak_broadcast_rx *rx);
int ak_broadcast_same_channel(const struct ak_broadcast_rx *a, const struct ak_broadcast_rx *b);
size_t ak_broadcast_sender_strong_count(const struct ak_broadcast_rx *rx);
size_t ak_broadcast_sender_weak_count(const struct ak_broadcast_rx *rx);

/* Operation kinds for ak_op_size(). */
#define AK_OP_BROADCAST_RECV 40
#define AK_OP_BROADCAST_CLOSED 41

/* A receive: 0 with the next value in *out, AK_EOVERFLOW with the count of
 * missed values in *missed (the cursor moved to the oldest value held),
 * AK_EPIPE once closed and drained.  Cancel-safe. */
struct ak_broadcast_recv_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_broadcast_recv_init(struct ak_broadcast_recv_op *op, struct ak_broadcast_rx *rx,
                           void *out, uint64_t *missed);

/* The senders' closed(): completes when no receiver is left; a subscribe
 * before its poll sees it re-arms it.  Cancel-safe. */
struct ak_broadcast_closed_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_broadcast_closed_init(struct ak_broadcast_closed_op *op, struct ak_broadcast_tx *tx);

#ifdef __cplusplus
}
#endif
#endif
