/*
 * awaitkit: the watch channel, one current value with a version that many
 * receivers read.  See ak_watch(3).
 *
 *   call                                   thread
 *   ak_watch_new                           any
 *   sender functions (send*, subscribe,    any; senders may be used from
 *     receiver_count, sender_count,        several threads at once
 *     sender_is_closed, sender_clone/drop,
 *     closed_init)
 *   receiver functions (borrow*, changed,  one thread at a time per
 *     has_changed, mark_*, wait_for,       receiver (clone it to share)
 *     receiver_clone/drop)
 *   ak_watch_ref_release                   any thread, once per borrow
 *
 * A borrow (struct ak_watch_ref) gives a value that stays as it is until
 * the borrow is released (a copy in the receiver's buffer for values of up
 * to 24 bytes without hooks, else the slot holding it): it may be held
 * across awaits and released on another thread, and it never makes a
 * sender wait.
 */
#ifndef AK_WATCH_H
#define AK_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit/future.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_watch_sender;
struct ak_watch_receiver;

/* Operation kinds, for ak_op_size(). */
#define AK_OP_WATCH_CHANGED 50     /* struct ak_watch_changed_op */
#define AK_OP_WATCH_WAIT_FOR 51    /* struct ak_watch_wait_for_op */
#define AK_OP_WATCH_CLOSED 52      /* struct ak_watch_closed_op */

/*
 * Element hooks, both optional; a drop hook needs a clone hook.  clone
 * copies the value at src into dst (elem_size bytes, uninitialised) and
 * returns 0 or a negative error (AK_ENOMEM); drop releases what a value
 * owns.  Without a clone hook values are copied with memcpy.
 */
struct ak_watch_hooks {
	int (*clone)(void *dst, const void *src, void *arg);
	void (*drop)(void *value, void *arg);
	void *arg;
};

/* A borrow of the current value. */
struct ak_watch_ref {
	const void *value;      /* elem_size bytes, immutable while held */
	uint64_t version;       /* 0 for the initial value, +1 per publish */
	int has_changed;        /* the receiver had not seen it (borrow_and_update) */
	void *block_;           /* private */
};

int ak_watch_new(size_t elem_size, const void *init, const struct ak_watch_hooks *hooks,
                 struct ak_watch_sender **tx, struct ak_watch_receiver **rx);

/* ---- sender ------------------------------------------------------------- */

int ak_watch_sender_clone(struct ak_watch_sender *tx, struct ak_watch_sender **out);
int ak_watch_sender_drop(struct ak_watch_sender *tx);
int ak_watch_send(struct ak_watch_sender *tx, const void *value);
int ak_watch_send_replace(struct ak_watch_sender *tx, const void *value, void *old);
int ak_watch_send_modify(struct ak_watch_sender *tx,
                         void (*modify)(void *value, void *arg), void *arg);
int ak_watch_send_if_modified(struct ak_watch_sender *tx,
                              int (*modify)(void *value, void *arg), void *arg,
                              int *modified);
int ak_watch_sender_borrow(struct ak_watch_sender *tx, struct ak_watch_ref *ref);
int ak_watch_subscribe(struct ak_watch_sender *tx, struct ak_watch_receiver **out);
size_t ak_watch_receiver_count(const struct ak_watch_sender *tx);
size_t ak_watch_sender_count(const struct ak_watch_sender *tx);
int ak_watch_sender_is_closed(const struct ak_watch_sender *tx);
int ak_watch_same_channel(const struct ak_watch_receiver *a, const struct ak_watch_receiver *b);

/* Resolves when no receiver is left. */
struct ak_watch_closed_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_watch_closed_init(struct ak_watch_closed_op *op, struct ak_watch_sender *tx);
int ak_watch_closed_blocking(struct ak_watch_sender *tx, int64_t deadline);

/* ---- receiver ----------------------------------------------------------- */

int ak_watch_receiver_clone(struct ak_watch_receiver *rx, struct ak_watch_receiver **out);
int ak_watch_receiver_drop(struct ak_watch_receiver *rx);
int ak_watch_borrow(struct ak_watch_receiver *rx, struct ak_watch_ref *ref);
int ak_watch_borrow_and_update(struct ak_watch_receiver *rx, struct ak_watch_ref *ref);
int ak_watch_ref_release(struct ak_watch_ref *ref);
int ak_watch_has_changed(struct ak_watch_receiver *rx);
int ak_watch_mark_changed(struct ak_watch_receiver *rx);
int ak_watch_mark_unchanged(struct ak_watch_receiver *rx);

/* Resolves when the version differs from the one the receiver last saw. */
struct ak_watch_changed_op {
	struct ak_future future;
	AK_OP_PRIVATE(16) private_;
};

int ak_watch_changed_init(struct ak_watch_changed_op *op, struct ak_watch_receiver *rx);
int ak_watch_changed_blocking(struct ak_watch_receiver *rx, int64_t deadline);

/* Resolves with a borrow of the first value pred accepts. */
struct ak_watch_wait_for_op {
	struct ak_future future;
	AK_OP_PRIVATE(20) private_;
};

int ak_watch_wait_for_init(struct ak_watch_wait_for_op *op, struct ak_watch_receiver *rx,
                           int (*pred)(const void *value, void *arg), void *arg,
                           struct ak_watch_ref *ref);
int ak_watch_wait_for_blocking(struct ak_watch_receiver *rx,
                               int (*pred)(const void *value, void *arg), void *arg,
                               struct ak_watch_ref *ref, int64_t deadline);

#ifdef __cplusplus
}
#endif
#endif
