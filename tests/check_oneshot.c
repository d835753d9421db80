/*
 * The oneshot channel (<awaitkit/oneshot.h>): send before and after the
 * receiver parks, the receiver or the sender going first, try_recv, close,
 * the sender's closed(), cancel safety, waker swaps and re-entry, the drop
 * hook, bad input, the consuming recv (tokio's rx.await), the blocking
 * form, and 10,000 channels across threads.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "shim.h"
#include "testkit.h"

Suite *oneshot_suite(void);

struct hook_count {
	atomic_int calls;
	_Atomic uint64_t last;
};

/* May run on either side's thread: whichever drops the channel last. */
static void count_drop(void *elem, void *arg)
{
	struct hook_count *h = arg;
	uint64_t v;
	memcpy(&v, elem, sizeof(v));
	atomic_store(&h->last, v);
	atomic_fetch_add(&h->calls, 1);
}

static void new_u64(struct ak_oneshot_tx **tx, struct ak_oneshot_rx **rx, struct hook_count *h)
{
	struct ak_oneshot_hooks hooks = { count_drop, h };
	ck_assert_int_eq(ak_oneshot_new(sizeof(uint64_t), h ? &hooks : NULL, tx, rx), 0);
}

/* Binds a recv of rx (into *out) and polls it once in task t. */
static int poll_new_recv(struct ak_oneshot_recv_op *op, struct ak_oneshot_rx *rx, uint64_t *out,
                         struct tk_task *t)
{
	ck_assert_int_eq(ak_oneshot_recv_init(op, rx, out), 0);
	return tk_poll(t, &op->future);
}

/* Binds a closed() of tx and polls it once in task t. */
static int poll_new_closed(struct ak_oneshot_closed_op *op, struct ak_oneshot_tx *tx,
                           struct tk_task *t)
{
	ck_assert_int_eq(ak_oneshot_closed_init(op, tx), 0);
	return tk_poll(t, &op->future);
}

START_TEST(send_before_the_receiver_parks_completes_at_the_first_poll)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 42, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), 0);
	ck_assert_uint_eq(out, 42);
	ck_assert_int_eq(t->cw->clones, 0);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(send_after_the_receiver_parks_wakes_it)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 7, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_uint_eq(out, 0);              /* nothing written before the poll */
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(out, 7);
	ak_oneshot_rx_drop(rx);
}
END_TEST

/* ak_debug_counters(3): a lone waiter kept without a queue (a oneshot's
 * receiver, the sender's closed()) counts its waker clone, not its park. */
START_TEST(a_parked_recv_or_closed_counts_its_clone_not_its_park)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct ak_oneshot_closed_op cop = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 5, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(poll_new_closed(&cop, tx, t), AK_PENDING);
	ck_assert_int_eq(tk_counters().waker_clones, before.waker_clones + 2);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ak_future_cancel(&cop.future);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_uint_eq(out, 5);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(tk_counters().waker_clones, before.waker_clones);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
}
END_TEST

static void *send_nine(void *tx)
{
	uint64_t v = 9;
	return (void *)(intptr_t)ak_oneshot_send(tx, &v);
}

/* While the process has one thread the state word is written with plain
 * stores instead of RMWs (core/shim.h, ak__alone()): a receiver that
 * registered then is woken by a sender on a thread started afterwards. */
START_TEST(recv_parked_while_alone_is_woken_by_a_thread_started_after)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(tk_thread_run(send_nine, tx), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_uint_eq(out, 9);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(receiver_drop_before_send_fails_and_leaves_the_value)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct hook_count h = { 0 };
	uint64_t v = 99;

	new_u64(&tx, &rx, &h);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(tx), 1);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), AK_EPIPE);
	ck_assert_uint_eq(v, 99);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(sender_drop_without_send_wakes_the_receiver_with_epipe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 5;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ak_oneshot_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ck_assert_uint_eq(out, 5);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EPIPE);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(try_recv_is_eagain_then_the_value_then_epipe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	uint64_t v = 3, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EAGAIN);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_uint_eq(out, 3);
	out = 0;
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EPIPE);
	ck_assert_uint_eq(out, 0);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(try_recv_after_sender_drop_is_epipe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	ak_oneshot_tx_drop(tx);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EPIPE);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(close_then_send_fails_and_recv_is_epipe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct hook_count h = { 0 };
	uint64_t v = 1, out = 0;

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(tx), 0);
	ck_assert_int_eq(ak_oneshot_rx_close(rx), 0);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(tx), 1);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), AK_EPIPE);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EPIPE);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(a_value_sent_before_close_is_still_received)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 11, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_rx_close(rx), 0);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), 0);
	ck_assert_uint_eq(out, 11);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(closed_resolves_when_the_receiver_is_dropped)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&op, tx, t), AK_PENDING);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ak_oneshot_tx_drop(tx);
}
END_TEST

START_TEST(closed_resolves_when_the_receiver_closes)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_closed_op op = { 0 }, again = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&op, tx, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(poll_new_closed(&again, tx, t), 0);   /* already closed */
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(cancel_of_a_pending_recv_loses_nothing)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 }, later = { 0 };
	struct tk_task *t = tk_task_new(), *t2 = tk_task_new();
	uint64_t v = 123, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);   /* its clone dropped */
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(poll_new_recv(&later, rx, &out, t2), 0);
	ck_assert_uint_eq(out, 123);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(cancel_after_the_send_woke_it_leaves_the_value)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 77, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ak_future_cancel(&op.future);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_uint_eq(out, 77);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(reregistration_with_a_different_waker_swaps_the_clone)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	uint64_t v = 5, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, a), AK_PENDING);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&a->cw->clones), 1);   /* same waker: no clone */
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);     /* old one dropped */
	ck_assert_int_eq(atomic_load(&b->cw->live), 1);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert(!tk_task_take_woken(a));
	ck_assert_int_eq(tk_poll_woken(b, &op.future), 0);
	ck_assert_uint_eq(out, 5);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(closed_reregistration_with_a_different_waker_swaps_the_clone)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_closed_op op = { 0 };
	struct tk_task *a = tk_task_new(), *b = tk_task_new();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&op, tx, a), AK_PENDING);
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);
	ck_assert_int_eq(atomic_load(&b->cw->live), 1);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&b->cw->live), 0);
	ak_oneshot_rx_drop(rx);
	ck_assert(!tk_task_take_woken(b));
	ak_oneshot_tx_drop(tx);
}
END_TEST

/* The wake hook runs inside ak_oneshot_send, on the channel being sent on. */
struct reenter {
	struct ak_oneshot_rx *rx;
	uint64_t got;
	int rc;
};

static void reenter_hook(struct tk_counting_waker *cw)
{
	struct reenter *r = cw->hook_arg;
	r->rc = ak_oneshot_try_recv(r->rx, &r->got);
}

START_TEST(a_waker_whose_wake_reenters_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	struct reenter r = { NULL, 0, 1 };
	uint64_t v = 31, out = 0;

	new_u64(&tx, &rx, NULL);
	r.rx = rx;
	t->cw->hook = reenter_hook;
	t->cw->hook_arg = &r;
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.got, 31);
	/* The value went to try_recv: the operation finds the channel done. */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	t->cw->hook = NULL;
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(drop_hook_runs_once_for_an_unreceived_value)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct hook_count h = { 0 };
	uint64_t v = 0xabc;

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&h.calls), 1);
	ck_assert_uint_eq(atomic_load(&h.last), 0xabc);
}
END_TEST

START_TEST(drop_hook_is_not_run_for_a_received_value)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct hook_count h = { 0 };
	uint64_t v = 1, out = 0;

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

/* A channel's block is not zeroed (the cache hands back the last one
 * freed): one made without hooks has none, whatever the block held. */
START_TEST(a_channel_without_hooks_runs_no_hook_of_an_earlier_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct hook_count h = { 0 };
	uint64_t v = 7;

	new_u64(&tx, &rx, &h);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ak_oneshot_rx_drop(rx);         /* the value unreceived: dropped */
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(dropping_the_receiver_under_a_parked_recv_is_safe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct hook_count h = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 9, out = 0;

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), AK_EPIPE);
	/* Both handles are gone; the operation keeps the channel alive. */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(cancelling_a_recv_after_both_handles_went_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
	ak_future_cancel(&op.future);           /* the fixture checks it is freed */
	ck_assert(tk_task_take_woken(t));
}
END_TEST

START_TEST(dropping_the_sender_under_a_parked_closed_is_safe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 2, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&op, tx, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);     /* consumes tx */
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_uint_eq(out, 2);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);        /* frees the channel */
}
END_TEST

START_TEST(cancelling_a_closed_after_both_handles_went_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_closed_op op = { 0 };
	struct tk_task *t = tk_task_new();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&op, tx, t), AK_PENDING);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);                 /* wakes the closed op */
	ck_assert(tk_task_take_woken(t));
	ak_future_cancel(&op.future);           /* the last reference */
	ak_future_cancel(&op.future);
}
END_TEST

START_TEST(dropping_the_handles_after_a_recv_completed_leaves_nothing_held)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 4, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(out, 4);
	ak_oneshot_rx_drop(rx);                 /* frees: the op holds nothing */
	ak_future_cancel(&op.future);           /* done: a no-op */
}
END_TEST

START_TEST(bad_input_is_einval_and_changes_nothing)
{
	struct ak_oneshot_tx *tx = NULL;
	struct ak_oneshot_rx *rx = NULL;
	struct ak_oneshot_recv_op op = { 0 };
	struct ak_oneshot_closed_op cop = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1, out = 0;

	ck_assert_int_eq(ak_oneshot_new(8, NULL, NULL, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_new(8, NULL, &tx, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_new(SIZE_MAX, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_new(SIZE_MAX / 2, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_ptr_null(tx);
	ck_assert_ptr_null(rx);
	ck_assert_int_eq(ak_oneshot_send(NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_try_recv(NULL, &out), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_recv_blocking(NULL, &out, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_rx_close(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_recv_init(NULL, NULL, &out), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_closed_init(&cop, NULL), AK_EINVAL);
	ak_oneshot_tx_drop(NULL);
	ak_oneshot_rx_drop(NULL);

	new_u64(&tx, &rx, NULL);
	/* NULL value / out with elem_size > 0 */
	ck_assert_int_eq(ak_oneshot_send(tx, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, NULL), AK_EINVAL);
	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_oneshot_recv_init(&op, rx, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_future_state(&op.future), AK_FUTURE_ZEROED);
	/* never initialised */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EINVAL);
	/* completed */
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EINVAL);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(zero_sized_values_are_signals)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_oneshot_new(0, NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_oneshot_recv_init(&op, rx, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ak_oneshot_rx_drop(rx);
}
END_TEST

/* Every size goes whole, and only its bytes, both ways: sent before the
 * first poll, and sent to a parked receive (the common sizes take the
 * receive's and the send's leaf paths, the others their out-of-line
 * copies). */
START_TEST(values_of_any_size_are_received_whole_either_way)
{
	static const size_t sizes[] = { 1, 4, 8, 12, 16, 24, 100 };
	struct tk_task *t = tk_task_new();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int parked = 0; parked < 2; parked++) {
			size_t n = sizes[i];
			unsigned char in[128], out[128];
			struct ak_oneshot_tx *tx;
			struct ak_oneshot_rx *rx;
			struct ak_oneshot_recv_op op = { 0 };

			for (size_t j = 0; j < sizeof(in); j++)
				in[j] = (unsigned char)(j * 7 + n + 1);
			memset(out, 0xee, sizeof(out));
			ck_assert_int_eq(ak_oneshot_new(n, NULL, &tx, &rx), 0);
			ck_assert_int_eq(ak_oneshot_recv_init(&op, rx, out), 0);
			if (parked)
				ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
			ck_assert_int_eq(ak_oneshot_send(tx, in), 0);
			ck_assert_int_eq(parked, tk_task_take_woken(t));
			ck_assert_int_eq(tk_poll(t, &op.future), 0);
			ck_assert_mem_eq(out, in, n);
			for (size_t j = n; j < sizeof(out); j++)
				ck_assert_uint_eq(out[j], 0xee);
			ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 1);
			ck_assert_int_eq(ak_oneshot_rx_is_empty(rx), 1);
			ak_oneshot_rx_drop(rx);
		}
	}
}
END_TEST

START_TEST(a_spent_budget_parks_without_touching_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 4, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_recv_init(&op, rx, &out), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(t));
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 1), 0);
	ck_assert_uint_eq(out, 4);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(clone_failure_is_enomem_and_registers_nothing)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 6, out = 0;

	new_u64(&tx, &rx, NULL);
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_ENOMEM);
	atomic_store(&t->cw->fail_clone, 0);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_uint_eq(out, 6);
	ak_oneshot_rx_drop(rx);
}
END_TEST

/* The first poll parks before it clones: a clone that fails lets go of
 * the park (no parked operation counted, the channel freed with its
 * handles). */
START_TEST(clone_failure_leaves_nothing_parked)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_ENOMEM);
	atomic_store(&t->cw->fail_clone, 0);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ak_oneshot_tx_drop(tx);
	ak_oneshot_rx_drop(rx);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(allocation_failure_is_enomem)
{
	struct ak_oneshot_tx *tx = NULL;
	struct ak_oneshot_rx *rx = NULL;

	ak__alloc_fail_after(1);
	ck_assert_int_eq(ak_oneshot_new(8, NULL, &tx, &rx), AK_ENOMEM);
	ak__alloc_fail_after(0);
	ck_assert_ptr_null(tx);
	ck_assert_ptr_null(rx);
}
END_TEST

/* ---- the consuming recv (tokio's rx.await) ----------------------------------- */

/* Binds a recv that takes rx over (into *out) and polls it once in t. */
static int poll_new_consume(struct ak_oneshot_recv_op *op, struct ak_oneshot_rx *rx,
                            uint64_t *out, struct tk_task *t)
{
	ck_assert_int_eq(ak_oneshot_recv_consume_init(op, rx, out), 0);
	return tk_poll(t, &op->future);
}

START_TEST(a_consuming_recv_of_a_value_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct hook_count h = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 42, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), 0);
	ck_assert_uint_eq(out, 42);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(a_parked_consuming_recv_woken_by_the_send_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 7, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(out, 7);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(a_consuming_recv_of_a_large_value_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	char v[100], out[100];
	struct ak_debug_counts before = tk_counters();

	memset(v, 0x5a, sizeof(v));
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(ak_oneshot_new(sizeof(v), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_oneshot_send(tx, v), 0);
	ck_assert_int_eq(ak_oneshot_recv_consume_init(&op, rx, out), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_mem_eq(out, v, sizeof(v));
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(a_consuming_recv_after_the_sender_dropped_is_epipe_and_frees_the_channel)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 5;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_PENDING);
	ak_oneshot_tx_drop(tx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_uint_eq(out, 5);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(cancelling_a_pending_consuming_recv_drops_the_receiver_and_its_waker)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->live), 1);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ak_oneshot_tx_drop(tx);    /* the last handle: frees */
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(after_a_consuming_recv_is_cancelled_the_send_fails)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct hook_count h = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 3, out = 0;

	new_u64(&tx, &rx, &h);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(tx), 1);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&h.calls), 0);
}
END_TEST

START_TEST(cancelling_a_consuming_recv_never_polled_drops_the_receiver)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_recv_consume_init(&op, rx, &out), 0);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_oneshot_tx_is_closed(tx), 1);
	ak_oneshot_tx_drop(tx);
}
END_TEST

START_TEST(a_consuming_recv_wakes_the_senders_pending_closed)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct ak_oneshot_closed_op cop = { 0 };
	struct tk_task *t = tk_task_new(), *ts = tk_task_new();
	uint64_t v = 11, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_closed(&cop, tx, ts), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), 0);
	ck_assert_uint_eq(out, 11);
	ck_assert(tk_task_take_woken(ts));
	ck_assert_int_eq(tk_poll(ts, &cop.future), 0);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(a_consuming_recv_after_the_value_was_received_is_epipe)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 8, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	out = 0;
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_EPIPE);
	ck_assert_uint_eq(out, 0);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(a_consuming_recv_whose_clone_fails_is_enomem_and_frees)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 1, out = 0;
	struct ak_debug_counts before = tk_counters();

	new_u64(&tx, &rx, NULL);
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(poll_new_consume(&op, rx, &out, t), AK_ENOMEM);
	atomic_store(&t->cw->fail_clone, 0);
	ck_assert_int_eq(tk_counters().parked_ops, before.parked_ops);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), AK_EPIPE);
	ck_assert_int_eq(tk_counters().live_objects, before.live_objects);
}
END_TEST

START_TEST(op_sizes_are_reported)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_ONESHOT_RECV), sizeof(struct ak_oneshot_recv_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_ONESHOT_CLOSED), sizeof(struct ak_oneshot_closed_op));
}
END_TEST

/* ---- blocking ---------------------------------------------------------------- */

struct delayed_send {
	pthread_t thread;
	struct ak_oneshot_tx *tx;
	uint64_t value;
	int rc;
};

static void *delayed_send_main(void *arg)
{
	struct delayed_send *d = arg;
	tk_sleep_ns(20 * 1000 * 1000);
	d->rc = ak_oneshot_send(d->tx, &d->value);
	return NULL;
}

START_TEST(recv_blocking_gets_a_value_sent_from_another_thread)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct delayed_send d;
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	d.tx = tx;
	d.value = 888;
	d.rc = 1;
	ck_assert_int_eq(pthread_create(&d.thread, NULL, delayed_send_main, &d), 0);
	int rc = ak_oneshot_recv_blocking(rx, &out, ak_deadline_in(5LL * 1000 * 1000 * 1000));
	pthread_join(d.thread, NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(d.rc, 0);
	ck_assert_uint_eq(out, 888);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(recv_blocking_times_out_and_loses_nothing)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	uint64_t v = 10, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_recv_blocking(rx, &out, ak_deadline_in(10 * 1000 * 1000)),
	                 AK_ETIMEDOUT);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_recv_blocking(rx, &out, AK_DEADLINE_NEVER), 0);
	ck_assert_uint_eq(out, 10);
	ak_oneshot_rx_drop(rx);
}
END_TEST

/* A future whose poll calls ak_oneshot_recv_blocking. */
struct blocking_inside {
	struct ak_future future;
	struct ak_oneshot_rx *rx;
	int rc;
};

static int blocking_inside_poll(struct ak_future *f, struct ak_context *cx)
{
	struct blocking_inside *b = (struct blocking_inside *)f;
	uint64_t out;
	(void)cx;
	b->rc = ak_oneshot_recv_blocking(b->rx, &out, AK_DEADLINE_NEVER);
	return 0;
}

static void blocking_inside_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable blocking_inside_vtable = {
	blocking_inside_poll, blocking_inside_cancel
};

START_TEST(recv_blocking_inside_a_poll_is_edeadlk)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct blocking_inside b;
	struct tk_task *t = tk_task_new();
	uint64_t v = 8, out = 0;

	new_u64(&tx, &rx, NULL);
	memset(&b, 0, sizeof(b));
	ak_future_init(&b.future, &blocking_inside_vtable);
	b.rx = rx;
	ck_assert_int_eq(tk_poll(t, &b.future), 0);
	ck_assert_int_eq(b.rc, AK_EDEADLK);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);    /* nothing consumed */
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_uint_eq(out, 8);
	ak_oneshot_rx_drop(rx);
}
END_TEST

/* ---- across threads --------------------------------------------------------- */

#define XCHANNELS 10000

struct xthread {
	struct ak_oneshot_tx **tx;
	atomic_int ready;        /* channels created so far (release) */
	int failures;
};

/* Waits for the main thread to have created channel i: a short spin, then
 * yields, so that the wait makes progress when a core is taken away. */
static void wait_ready(atomic_int *ready, int i)
{
	unsigned spins = 0;
	/* acquire: pairs with the release store after creating channel i */
	while (atomic_load_explicit(ready, memory_order_acquire) <= i) {
		if (++spins < 64)
			ak__cpu_relax();
		else
			sched_yield();
	}
}

static void *xsender_main(void *arg)
{
	struct xthread *x = arg;
	for (int i = 0; i < XCHANNELS; i++) {
		wait_ready(&x->ready, i);
		uint64_t v = (uint64_t)i * 2654435761u + 1;
		if (i % 5 == 4)
			ak_oneshot_tx_drop(x->tx[i]);
		else if (ak_oneshot_send(x->tx[i], &v) != 0)
			x->failures++;
	}
	return NULL;
}

START_TEST(ten_thousand_channels_across_threads_deliver_every_value)
{
	static struct ak_oneshot_tx *txs[XCHANNELS];
	static struct ak_oneshot_rx *rxs[XCHANNELS];
	struct xthread x = { txs, 0, 0 };
	pthread_t th;
	int bad = 0, epipe = 0;

	ck_assert_int_eq(pthread_create(&th, NULL, xsender_main, &x), 0);
	for (int i = 0; i < XCHANNELS; i++) {
		if (ak_oneshot_new(sizeof(uint64_t), NULL, &txs[i], &rxs[i]) != 0) {
			bad++;
			break;
		}
		atomic_store_explicit(&x.ready, i + 1, memory_order_release);
		uint64_t out = 0;
		int rc = ak_oneshot_recv_blocking(rxs[i], &out, ak_deadline_in(10LL * 1000 * 1000 * 1000));
		if (i % 5 == 4) {
			if (rc == AK_EPIPE)
				epipe++;
			else
				bad++;
		} else if (rc != 0 || out != (uint64_t)i * 2654435761u + 1) {
			bad++;
		}
		ak_oneshot_rx_drop(rxs[i]);
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(x.failures, 0);
	ck_assert_int_eq(epipe, XCHANNELS / 5);
}
END_TEST

/* The receiver drops while the sender sends, across threads: exactly one
 * of "received" and "hook ran" or "send failed" holds for every channel. */
struct xrace {
	struct ak_oneshot_tx **tx;
	atomic_int ready;
	int sent;
};

static void *xrace_main(void *arg)
{
	struct xrace *x = arg;
	for (int i = 0; i < XCHANNELS; i++) {
		wait_ready(&x->ready, i);
		uint64_t v = (uint64_t)i;
		if (ak_oneshot_send(x->tx[i], &v) == 0)
			x->sent++;
	}
	return NULL;
}

START_TEST(receiver_drop_racing_send_conserves_values)
{
	static struct ak_oneshot_tx *txs[XCHANNELS];
	static struct ak_oneshot_rx *rxs[XCHANNELS];
	struct xrace x = { txs, 0, 0 };
	struct hook_count h = { 0 };
	struct ak_oneshot_hooks hooks = { count_drop, &h };
	pthread_t th;
	int received = 0, bad = 0;

	ck_assert_int_eq(pthread_create(&th, NULL, xrace_main, &x), 0);
	for (int i = 0; i < XCHANNELS; i++) {
		if (ak_oneshot_new(sizeof(uint64_t), &hooks, &txs[i], &rxs[i]) != 0) {
			bad++;
			atomic_store_explicit(&x.ready, XCHANNELS, memory_order_release);
			break;
		}
		atomic_store_explicit(&x.ready, i + 1, memory_order_release);
		uint64_t out = 0;
		if (i & 1) {
			if (ak_oneshot_try_recv(rxs[i], &out) == 0)
				received++;
		}
		ak_oneshot_rx_drop(rxs[i]);
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(x.sent, received + atomic_load(&h.calls));
}
END_TEST

START_TEST(rx_is_empty_until_a_value_is_sent_and_again_once_it_is_received)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	uint64_t v = 7, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(ak_oneshot_rx_is_empty(rx), 1);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_rx_is_empty(rx), 0);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), 0);
	ck_assert_int_eq(ak_oneshot_rx_is_empty(rx), 1);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(rx_is_terminated_once_a_receive_returned_the_value)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op op = { 0 };
	struct tk_task *t = tk_task_new();
	uint64_t v = 7, out = 0;

	new_u64(&tx, &rx, NULL);
	ck_assert_int_eq(poll_new_recv(&op, rx, &out, t), AK_PENDING);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 0);
	ck_assert_int_eq(ak_oneshot_send(tx, &v), 0);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 0);  /* not yet received */
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 1);
	ak_oneshot_rx_drop(rx);
}
END_TEST

START_TEST(rx_is_terminated_once_a_receive_returned_epipe_and_empty_before)
{
	struct ak_oneshot_tx *tx;
	struct ak_oneshot_rx *rx;
	uint64_t out = 0;

	new_u64(&tx, &rx, NULL);
	ak_oneshot_tx_drop(tx);
	ck_assert_int_eq(ak_oneshot_rx_is_empty(rx), 1);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 0);
	ck_assert_int_eq(ak_oneshot_try_recv(rx, &out), AK_EPIPE);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(rx), 1);
	ck_assert_int_eq(ak_oneshot_rx_is_terminated(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_oneshot_rx_is_empty(NULL), AK_EINVAL);
	ak_oneshot_rx_drop(rx);
}
END_TEST

Suite *oneshot_suite(void)
{
	Suite *s = suite_create("oneshot");
	TCase *tc = tk_tcase("oneshot");

	tcase_add_test(tc, send_before_the_receiver_parks_completes_at_the_first_poll);
	tcase_add_test(tc, send_after_the_receiver_parks_wakes_it);
	tcase_add_test(tc, a_parked_recv_or_closed_counts_its_clone_not_its_park);
	tcase_add_test(tc, values_of_any_size_are_received_whole_either_way);
	tcase_add_test(tc, recv_parked_while_alone_is_woken_by_a_thread_started_after);
	tcase_add_test(tc, receiver_drop_before_send_fails_and_leaves_the_value);
	tcase_add_test(tc, sender_drop_without_send_wakes_the_receiver_with_epipe);
	tcase_add_test(tc, try_recv_is_eagain_then_the_value_then_epipe);
	tcase_add_test(tc, try_recv_after_sender_drop_is_epipe);
	tcase_add_test(tc, close_then_send_fails_and_recv_is_epipe);
	tcase_add_test(tc, a_value_sent_before_close_is_still_received);
	tcase_add_test(tc, closed_resolves_when_the_receiver_is_dropped);
	tcase_add_test(tc, closed_resolves_when_the_receiver_closes);
	tcase_add_test(tc, cancel_of_a_pending_recv_loses_nothing);
	tcase_add_test(tc, cancel_after_the_send_woke_it_leaves_the_value);
	tcase_add_test(tc, reregistration_with_a_different_waker_swaps_the_clone);
	tcase_add_test(tc, closed_reregistration_with_a_different_waker_swaps_the_clone);
	tcase_add_test(tc, a_waker_whose_wake_reenters_the_channel);
	tcase_add_test(tc, drop_hook_runs_once_for_an_unreceived_value);
	tcase_add_test(tc, drop_hook_is_not_run_for_a_received_value);
	tcase_add_test(tc, a_channel_without_hooks_runs_no_hook_of_an_earlier_channel);
	tcase_add_test(tc, dropping_the_receiver_under_a_parked_recv_is_safe);
	tcase_add_test(tc, cancelling_a_recv_after_both_handles_went_frees_the_channel);
	tcase_add_test(tc, dropping_the_sender_under_a_parked_closed_is_safe);
	tcase_add_test(tc, cancelling_a_closed_after_both_handles_went_frees_the_channel);
	tcase_add_test(tc, dropping_the_handles_after_a_recv_completed_leaves_nothing_held);
	tcase_add_test(tc, bad_input_is_einval_and_changes_nothing);
	tcase_add_test(tc, zero_sized_values_are_signals);
	tcase_add_test(tc, a_spent_budget_parks_without_touching_the_channel);
	tcase_add_test(tc, clone_failure_is_enomem_and_registers_nothing);
	tcase_add_test(tc, clone_failure_leaves_nothing_parked);
	tcase_add_test(tc, allocation_failure_is_enomem);
	tcase_add_test(tc, a_consuming_recv_of_a_value_frees_the_channel);
	tcase_add_test(tc, a_parked_consuming_recv_woken_by_the_send_frees_the_channel);
	tcase_add_test(tc, a_consuming_recv_of_a_large_value_frees_the_channel);
	tcase_add_test(tc, a_consuming_recv_after_the_sender_dropped_is_epipe_and_frees_the_channel);
	tcase_add_test(tc, cancelling_a_pending_consuming_recv_drops_the_receiver_and_its_waker);
	tcase_add_test(tc, after_a_consuming_recv_is_cancelled_the_send_fails);
	tcase_add_test(tc, cancelling_a_consuming_recv_never_polled_drops_the_receiver);
	tcase_add_test(tc, a_consuming_recv_wakes_the_senders_pending_closed);
	tcase_add_test(tc, a_consuming_recv_after_the_value_was_received_is_epipe);
	tcase_add_test(tc, a_consuming_recv_whose_clone_fails_is_enomem_and_frees);
	tcase_add_test(tc, op_sizes_are_reported);
	tcase_add_test(tc, recv_blocking_gets_a_value_sent_from_another_thread);
	tcase_add_test(tc, recv_blocking_times_out_and_loses_nothing);
	tcase_add_test(tc, recv_blocking_inside_a_poll_is_edeadlk);
	tcase_add_test(tc, ten_thousand_channels_across_threads_deliver_every_value);
	tcase_add_test(tc, receiver_drop_racing_send_conserves_values);
	tcase_add_test(tc, rx_is_empty_until_a_value_is_sent_and_again_once_it_is_received);
	tcase_add_test(tc, rx_is_terminated_once_a_receive_returned_the_value);
	tcase_add_test(tc, rx_is_terminated_once_a_receive_returned_epipe_and_empty_before);
	suite_add_tcase(s, tc);
	return s;
}
