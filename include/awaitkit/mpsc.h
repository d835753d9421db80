/*
 * awaitkit: the mpsc channel, many senders to one receiver, bounded,
 * unbounded, or of capacity 0 (a rendezvous: a send completes only when a
 * receive takes its value, Go's unbuffered channel).  See ak_mpsc(3).
 *
 * One allocation per channel (the unbounded one adds blocks of 32 slots,
 * recycled).  Elements are elem_size bytes copied in by send and out by
 * recv.  Handles are reference counted: senders are cloned and dropped, a
 * weak sender does not keep the channel open, the receiver is unique.  The
 * channel closes when the last sender goes or the receiver closes or goes;
 * the receiver still gets what was queued, then AK_EPIPE.
 *
 *   call                                   thread
 *   ak_mpsc_new / ak_mpsc_unbounded_new    any
 *   sender calls, send/reserve/closed ops  any thread that owns a sender
 *   receiver calls, recv / recv_many ops   the receiver's owner, one at a time
 *   queries (len, capacity, is_closed)     any
 *
 * An operation is owned by one thread at a time and must not move from its
 * first AK_PENDING until it completes or is cancelled.  The handle an
 * operation was bound to must stay valid while the operation is being
 * polled; a parked operation holds its own reference on the channel.
 */
#ifndef AK_MPSC_H
#define AK_MPSC_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_mpsc_tx;
struct ak_mpsc_rx;
struct ak_mpsc_weak;

/* Element hooks, optional.  drop is called once for every value the channel
 * discards (queued when the receiver goes or the channel is freed).  clone
 * is accepted for symmetry with the other channels and never called: mpsc
 * moves values, it never copies them twice. */
struct ak_mpsc_hooks {
	void (*drop)(void *elem, void *arg);
	int (*clone)(void *dst, const void *src, void *arg);
	void *arg;
};

/* Operation kinds (ak_op_size). */
#define AK_OP_MPSC_SEND 10
#define AK_OP_MPSC_RESERVE 11
#define AK_OP_MPSC_RECV 12
#define AK_OP_MPSC_RECV_MANY 13
#define AK_OP_MPSC_CLOSED 14

/* Sends one value; copies it only in the poll that completes. */
struct ak_mpsc_send_op {
	struct ak_future future;
	AK_OP_PRIVATE(20) private_;
};

/* Reserves slots (bounded; a rendezvous: 1, the hand-off); the completed
 * operation is the permit. */
struct ak_mpsc_reserve_op {
	struct ak_future future;
	AK_OP_PRIVATE(20) private_;
};

/* Receives one value into out. */
struct ak_mpsc_recv_op {
	struct ak_future future;
	AK_OP_PRIVATE(6) private_;
};

/* Receives up to limit values into buf; *count says how many. */
struct ak_mpsc_recv_many_op {
	struct ak_future future;
	AK_OP_PRIVATE(8) private_;
};

/* Completes once the receiver has closed or gone. */
struct ak_mpsc_closed_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

/* The largest capacity of a bounded channel (0 makes a rendezvous). */
#define AK_MPSC_MAX_CAPACITY ((size_t)1 << 40)

int ak_mpsc_new(size_t capacity, size_t elem_size, const struct ak_mpsc_hooks *hooks,
                struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx);
int ak_mpsc_unbounded_new(size_t elem_size, const struct ak_mpsc_hooks *hooks,
                          struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx);

/* Handles. */
int ak_mpsc_tx_clone(struct ak_mpsc_tx *tx, struct ak_mpsc_tx **out);
void ak_mpsc_tx_drop(struct ak_mpsc_tx *tx);
int ak_mpsc_tx_downgrade(struct ak_mpsc_tx *tx, struct ak_mpsc_weak **out);
int ak_mpsc_weak_upgrade(struct ak_mpsc_weak *weak, struct ak_mpsc_tx **out);
int ak_mpsc_weak_clone(struct ak_mpsc_weak *weak, struct ak_mpsc_weak **out);
void ak_mpsc_weak_drop(struct ak_mpsc_weak *weak);
void ak_mpsc_rx_drop(struct ak_mpsc_rx *rx);
int ak_mpsc_rx_close(struct ak_mpsc_rx *rx);

/* Queries. */
int ak_mpsc_same_channel(const struct ak_mpsc_tx *a, const struct ak_mpsc_tx *b);
int ak_mpsc_tx_is_closed(const struct ak_mpsc_tx *tx);
int ak_mpsc_rx_is_closed(const struct ak_mpsc_rx *rx);
size_t ak_mpsc_len(const struct ak_mpsc_rx *rx);
int ak_mpsc_rx_is_empty(const struct ak_mpsc_rx *rx);
size_t ak_mpsc_sender_strong_count(const struct ak_mpsc_rx *rx);
size_t ak_mpsc_sender_weak_count(const struct ak_mpsc_rx *rx);
size_t ak_mpsc_capacity(const struct ak_mpsc_tx *tx);
size_t ak_mpsc_max_capacity(const struct ak_mpsc_tx *tx);

/* Sending. */
int ak_mpsc_send_init(struct ak_mpsc_send_op *op, struct ak_mpsc_tx *tx, const void *value);
int ak_mpsc_try_send(struct ak_mpsc_tx *tx, const void *value);
int ak_mpsc_send_blocking(struct ak_mpsc_tx *tx, const void *value, int64_t deadline);
int ak_mpsc_reserve_init(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx);
int ak_mpsc_reserve_many_init(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n);
int ak_mpsc_try_reserve(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx);
int ak_mpsc_try_reserve_many(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n);
int ak_mpsc_reserve_blocking(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n,
                             int64_t deadline);
int ak_mpsc_permit_send(struct ak_mpsc_reserve_op *permit, const void *value);
size_t ak_mpsc_permit_count(const struct ak_mpsc_reserve_op *permit);
int ak_mpsc_permit_drop(struct ak_mpsc_reserve_op *permit);
int ak_mpsc_closed_init(struct ak_mpsc_closed_op *op, struct ak_mpsc_tx *tx);

/* Receiving. */
int ak_mpsc_recv_init(struct ak_mpsc_recv_op *op, struct ak_mpsc_rx *rx, void *out);
int ak_mpsc_recv_many_init(struct ak_mpsc_recv_many_op *op, struct ak_mpsc_rx *rx, void *buf,
                           size_t limit, size_t *count);
int ak_mpsc_try_recv(struct ak_mpsc_rx *rx, void *out);
int ak_mpsc_recv_blocking(struct ak_mpsc_rx *rx, void *out, int64_t deadline);
int ak_mpsc_recv_many_blocking(struct ak_mpsc_rx *rx, void *buf, size_t limit, size_t *count,
                               int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
