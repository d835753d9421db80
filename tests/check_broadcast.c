/*
 * The broadcast channel (<awaitkit/broadcast.h>): every receiver sees every
 * value in order, lag reported with the exact count, close and drain, hooks
 * exactly once, cancel-safe receive, fan-out on the pool.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *broadcast_suite(void);

#define MS 1000000LL

static struct ak_broadcast_tx *new_chan(size_t cap, struct ak_broadcast_rx **rx)
{
	struct ak_broadcast_tx *tx = NULL;
	ck_assert_int_eq(ak_broadcast_new(&tx, rx, cap, sizeof(uint64_t), NULL), 0);
	ck_assert_ptr_nonnull(tx);
	return tx;
}

static void send_range(struct ak_broadcast_tx *tx, uint64_t from, uint64_t to)
{
	for (uint64_t v = from; v < to; v++)
		ck_assert_int_eq(ak_broadcast_send(tx, &v, NULL), 0);
}

/* Zeroes op, binds it to rx (a value goes to *got) and parks it in task t. */
static void park_recv(struct ak_broadcast_recv_op *op, struct ak_broadcast_rx *rx, uint64_t *got,
                      struct tk_task *t)
{
	memset(op, 0, sizeof *op);
	ck_assert_int_eq(ak_broadcast_recv_init(op, rx, got, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op->future), AK_PENDING);
}

static void expect_values(struct ak_broadcast_rx *rx, uint64_t from, uint64_t to)
{
	for (uint64_t v = from; v < to; v++) {
		uint64_t got = ~(uint64_t)0;
		ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, NULL), 0);
		ck_assert_uint_eq(got, v);
	}
}

START_TEST(every_receiver_gets_every_value_in_order)
{
	struct ak_broadcast_rx *rx[3];
	struct ak_broadcast_tx *tx = new_chan(128, &rx[0]);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx[1]), 0);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx[2]), 0);
	size_t n = 0;
	uint64_t v = 7;
	ck_assert_int_eq(ak_broadcast_send(tx, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	send_range(tx, 100, 200);
	for (int i = 0; i < 3; i++) {
		expect_values(rx[i], 7, 8);
		expect_values(rx[i], 100, 200);
		uint64_t got;
		ck_assert_int_eq(ak_broadcast_try_recv(rx[i], &got, NULL), AK_EAGAIN);
		ck_assert_int_eq(ak_broadcast_rx_drop(rx[i]), 0);
	}
	ck_assert_int_eq(ak_broadcast_tx_drop(tx), 0);
}
END_TEST

START_TEST(capacity_is_rounded_up_to_a_power_of_two)
{
	struct ak_broadcast_tx *tx = new_chan(5, NULL);
	ck_assert_uint_eq(ak_broadcast_capacity(tx), 8);
	ak_broadcast_tx_drop(tx);
	tx = new_chan(1, NULL);
	ck_assert_uint_eq(ak_broadcast_capacity(tx), 1);
	ak_broadcast_tx_drop(tx);
	tx = new_chan(1024, NULL);
	ck_assert_uint_eq(ak_broadcast_capacity(tx), 1024);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(receiver_behind_by_exactly_capacity_misses_nothing)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	send_range(tx, 0, 4);
	ck_assert_uint_eq(ak_broadcast_rx_len(rx), 4);
	expect_values(rx, 0, 4);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(receiver_behind_by_capacity_plus_one_gets_overflow_one_then_oldest)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	send_range(tx, 0, 5);
	uint64_t got = 0, missed = 0;
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, &missed), AK_EOVERFLOW);
	ck_assert_uint_eq(missed, 1);
	expect_values(rx, 1, 5);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, &missed), AK_EAGAIN);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(lagging_twice_reports_each_lag_from_the_moved_cursor)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	uint64_t got = 0, missed = 0;
	send_range(tx, 0, 10);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, &missed), AK_EOVERFLOW);
	ck_assert_uint_eq(missed, 6);
	expect_values(rx, 6, 7);
	send_range(tx, 10, 20);           /* cursor 7, tail 20: oldest 16 */
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, &missed), AK_EOVERFLOW);
	ck_assert_uint_eq(missed, 9);
	expect_values(rx, 16, 20);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(recv_op_reports_overflow_with_missed_count)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(2, &rx);
	struct tk_task *t = tk_task_new();
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	uint64_t got = 0, missed = 0;
	send_range(tx, 0, 5);
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, &missed), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EOVERFLOW);
	ck_assert_uint_eq(missed, 3);
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, &missed), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(got, 3);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(subscribe_and_resubscribe_start_at_the_tail)
{
	struct ak_broadcast_rx *rx, *late, *re;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	send_range(tx, 0, 3);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &late), 0);
	ck_assert_int_eq(ak_broadcast_resubscribe(rx, &re), 0);
	ck_assert_uint_eq(ak_broadcast_receiver_count(tx), 3);
	ck_assert_uint_eq(ak_broadcast_rx_len(re), 0);
	send_range(tx, 3, 5);
	expect_values(rx, 0, 5);
	expect_values(late, 3, 5);
	expect_values(re, 3, 5);
	uint64_t got;
	ck_assert_int_eq(ak_broadcast_try_recv(re, &got, NULL), AK_EAGAIN);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_rx_drop(late);
	ak_broadcast_rx_drop(re);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(close_then_receivers_drain_then_epipe)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx), *tx2;
	ck_assert_int_eq(ak_broadcast_tx_clone(tx, &tx2), 0);
	send_range(tx, 0, 3);
	ak_broadcast_tx_drop(tx);
	ck_assert_int_eq(ak_broadcast_rx_is_closed(rx), 0);   /* tx2 lives */
	send_range(tx2, 3, 4);
	ak_broadcast_tx_drop(tx2);
	ck_assert_int_eq(ak_broadcast_rx_is_closed(rx), 1);
	expect_values(rx, 0, 4);
	uint64_t got;
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, NULL), AK_EPIPE);
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	struct tk_task *t = tk_task_new();
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ak_broadcast_rx_drop(rx);
}
END_TEST

START_TEST(last_sender_drop_wakes_a_parked_recv_with_epipe)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got;
	park_recv(&op, rx, &got, t);
	ak_broadcast_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ak_broadcast_rx_drop(rx);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(parked_recv_is_woken_by_send_and_takes_the_value)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	park_recv(&op, rx, &got, t);
	ck_assert_int_eq(tk_task_take_woken(t), 0);
	send_range(tx, 42, 43);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_uint_eq(got, 42);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(cancel_of_a_pending_recv_loses_nothing)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	park_recv(&op, rx, &got, t);
	send_range(tx, 1, 3);                 /* woken, not yet polled */
	ak_future_cancel(&op.future);
	ck_assert_uint_eq(got, 0);
	expect_values(rx, 1, 3);
	/* a cancelled op that never saw a send leaves nothing behind either */
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	send_range(tx, 3, 4);
	expect_values(rx, 3, 4);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(waker_reregistration_wakes_only_the_latest_task)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	uint64_t got = 0;
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, NULL), 0);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);  /* same task: no new clone */
	ck_assert_int_eq(atomic_load(&a->cw->clones), 1);
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);  /* moved */
	send_range(tx, 5, 6);
	ck_assert_int_eq(tk_task_take_woken(a), 0);
	ck_assert_int_eq(tk_poll_woken(b, &op.future), 0);
	ck_assert_uint_eq(got, 5);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(a->cw);
	tk_assert_balanced(b->cw);
}
END_TEST

START_TEST(send_with_no_receivers_is_epipe_and_keeps_nothing)
{
	struct ak_broadcast_tx *tx = new_chan(4, NULL);
	struct ak_broadcast_rx *rx;
	uint64_t v = 1;
	ck_assert_int_eq(ak_broadcast_send(tx, &v, NULL), AK_EPIPE);
	ck_assert_uint_eq(ak_broadcast_len(tx), 0);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx), 0);
	ck_assert_int_eq(ak_broadcast_send(tx, &v, NULL), 0);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ck_assert_uint_eq(ak_broadcast_receiver_count(tx), 0);
	ck_assert_int_eq(ak_broadcast_send(tx, &v, NULL), AK_EPIPE);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(len_counts_values_some_receiver_has_not_read)
{
	struct ak_broadcast_rx *a, *b;
	struct ak_broadcast_tx *tx = new_chan(8, &a);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &b), 0);
	ck_assert_int_eq(ak_broadcast_is_empty(tx), 1);
	send_range(tx, 0, 3);
	ck_assert_uint_eq(ak_broadcast_len(tx), 3);
	expect_values(a, 0, 3);
	ck_assert_uint_eq(ak_broadcast_len(tx), 3);
	expect_values(b, 0, 1);
	ck_assert_uint_eq(ak_broadcast_len(tx), 2);
	ck_assert_uint_eq(ak_broadcast_rx_len(b), 2);
	ak_broadcast_rx_drop(b);                 /* its unread values are released */
	ck_assert_int_eq(ak_broadcast_is_empty(tx), 1);
	ak_broadcast_rx_drop(a);
	ak_broadcast_tx_drop(tx);
}
END_TEST

/* ---- hooks ------------------------------------------------------------------ */

#define HOOK_MAX 64
struct hook_log {
	int clones[HOOK_MAX];
	int drops[HOOK_MAX];
	int fail_clone;
};

static int log_clone(void *dst, const void *src, void *arg)
{
	struct hook_log *l = arg;
	uint64_t v;
	memcpy(&v, src, sizeof v);
	if (l->fail_clone)
		return AK_ENOMEM;
	l->clones[v]++;
	memcpy(dst, &v, sizeof v);
	return 0;
}

static void log_drop(void *elem, void *arg)
{
	struct hook_log *l = arg;
	uint64_t v;
	memcpy(&v, elem, sizeof v);
	l->drops[v]++;
}

START_TEST(drop_hook_runs_once_for_each_overwritten_and_leftover_value)
{
	struct hook_log log;
	memset(&log, 0, sizeof log);
	struct ak_broadcast_hooks hooks = { log_clone, log_drop, &log };
	struct ak_broadcast_tx *tx = NULL;
	struct ak_broadcast_rx *rx, *rx2;
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 4, sizeof(uint64_t), &hooks), 0);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx2), 0);
	send_range(tx, 0, 10);                /* 0..5 overwritten */
	for (int v = 0; v < 10; v++)
		ck_assert_int_eq(log.drops[v], v < 6);
	uint64_t got, missed;
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, &missed), AK_EOVERFLOW);
	expect_values(rx, 6, 8);
	ck_assert_int_eq(log.clones[6], 1);
	ck_assert_int_eq(log.clones[7], 1);
	ck_assert_int_eq(log.clones[8], 0);
	ak_broadcast_tx_drop(tx);
	ak_broadcast_rx_drop(rx);
	for (int v = 0; v < 10; v++)
		ck_assert_int_eq(log.drops[v], v < 6);   /* rx2 still holds the channel */
	ak_broadcast_rx_drop(rx2);
	for (int v = 0; v < 10; v++)
		ck_assert_int_eq(log.drops[v], 1);
}
END_TEST

START_TEST(failed_clone_leaves_the_cursor_in_place)
{
	struct hook_log log;
	memset(&log, 0, sizeof log);
	struct ak_broadcast_hooks hooks = { log_clone, log_drop, &log };
	struct ak_broadcast_tx *tx = NULL;
	struct ak_broadcast_rx *rx;
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 4, sizeof(uint64_t), &hooks), 0);
	send_range(tx, 3, 4);
	uint64_t got;
	log.fail_clone = 1;
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &got, NULL), AK_ENOMEM);
	log.fail_clone = 0;
	expect_values(rx, 3, 4);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
	ck_assert_int_eq(log.drops[3], 1);
}
END_TEST

START_TEST(bad_inputs_are_einval_and_change_nothing)
{
	struct ak_broadcast_tx *tx = NULL;
	struct ak_broadcast_rx *rx = NULL;
	struct ak_broadcast_hooks drop_only = { NULL, log_drop, NULL };
	ck_assert_int_eq(ak_broadcast_new(NULL, NULL, 4, 8, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 0, 8, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, AK_BROADCAST_MAX_CAPACITY + 1, 8, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 1024, SIZE_MAX / 512, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 4, 8, &drop_only), AK_EINVAL);
	ck_assert_ptr_null(tx);
	ck_assert_ptr_null(rx);
	uint64_t v = 0;
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_broadcast_send(NULL, &v, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_tx_clone(NULL, &tx), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_tx_drop(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_subscribe(NULL, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_try_recv(NULL, &v, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_recv_blocking(NULL, &v, NULL, AK_DEADLINE_NEVER), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_resubscribe(NULL, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_rx_drop(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_recv_init(NULL, rx, &v, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_recv_init(&op, NULL, &v, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_broadcast_receiver_count(NULL), 0);
	ck_assert_int_eq(ak_broadcast_is_empty(NULL), AK_EINVAL);
	/* a real channel refuses NULL value pointers and stays as it was */
	tx = new_chan(4, &rx);
	ck_assert_int_eq(ak_broadcast_send(tx, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_broadcast_rx_len(rx), 0);
	ck_assert_uint_eq(ak_broadcast_receiver_count(tx), 1);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(a_second_recv_on_a_receiver_with_one_parked_is_ebusy)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op, op2;
	memset(&op2, 0, sizeof op2);
	struct tk_task *t = tk_task_new();
	uint64_t got;
	park_recv(&op, rx, &got, t);
	ck_assert_int_eq(ak_broadcast_recv_init(&op2, rx, &got, NULL), AK_EBUSY);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_broadcast_recv_init(&op2, rx, &got, NULL), 0);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

/* ---- lifetimes: a parked receive keeps its receiver (awaitkit(7)) -------- */

START_TEST(rx_drop_under_a_parked_recv_succeeds_and_the_recv_then_fails_with_epipe)
{
	struct ak_broadcast_rx *rx, *other;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got = 99;
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &other), 0);
	park_recv(&op, rx, &got, t);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ck_assert_uint_eq(ak_broadcast_receiver_count(tx), 1);
	send_range(tx, 5, 6);                   /* not counted for the dropped one */
	ck_assert_uint_eq(ak_broadcast_len(tx), 1);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ck_assert_uint_eq(got, 99);
	expect_values(other, 5, 6);
	ck_assert_uint_eq(ak_broadcast_len(tx), 0);
	ak_broadcast_rx_drop(other);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_recv_then_cancelling_frees_the_channel)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got;
	park_recv(&op, rx, &got, t);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ck_assert_int_eq(ak_broadcast_tx_drop(tx), 0);
	ck_assert_int_eq(tk_task_take_woken(t), 1);   /* the close */
	ak_future_cancel(&op.future);                /* the last reference */
	ak_future_cancel(&op.future);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(dropping_every_handle_under_a_granted_recv_then_polling_it_is_epipe)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	park_recv(&op, rx, &got, t);
	send_range(tx, 1, 2);                        /* grants the parked recv */
	ck_assert_int_eq(ak_broadcast_tx_drop(tx), 0);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);   /* frees the channel */
	ck_assert_uint_eq(got, 0);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(dropping_the_handles_after_a_recv_completed_leaves_nothing_held)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	park_recv(&op, rx, &got, t);
	send_range(tx, 3, 4);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(got, 3);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ck_assert_int_eq(ak_broadcast_tx_drop(tx), 0);  /* frees: the op holds nothing */
	ak_future_cancel(&op.future);                   /* done: a no-op */
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(elem_size_zero_carries_signals)
{
	struct ak_broadcast_tx *tx = NULL;
	struct ak_broadcast_rx *rx;
	ck_assert_int_eq(ak_broadcast_new(&tx, &rx, 2, 0, NULL), 0);
	ck_assert_int_eq(ak_broadcast_send(tx, NULL, NULL), 0);
	ck_assert_int_eq(ak_broadcast_send(tx, NULL, NULL), 0);
	ck_assert_int_eq(ak_broadcast_send(tx, NULL, NULL), 0);
	uint64_t missed = 0;
	ck_assert_int_eq(ak_broadcast_try_recv(rx, NULL, &missed), AK_EOVERFLOW);
	ck_assert_uint_eq(missed, 1);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, NULL, NULL), 0);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, NULL, NULL), 0);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, NULL, NULL), AK_EAGAIN);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(failed_waker_clone_is_enomem_and_leaves_nothing_parked)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	atomic_store(&t->cw->fail_clone, 1);
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, NULL), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_ENOMEM);
	atomic_store(&t->cw->fail_clone, 0);
	send_range(tx, 4, 5);
	expect_values(rx, 4, 5);
	ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

START_TEST(spent_budget_yields_without_taking_the_value)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	struct tk_task *t = tk_task_new();
	uint64_t got = 0;
	send_range(tx, 1, 2);
	ck_assert_int_eq(ak_broadcast_recv_init(&op, rx, &got, NULL), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(tk_task_take_woken(t), 1);
	ck_assert_uint_eq(ak_broadcast_rx_len(rx), 1);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(got, 1);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

/* ---- threads ---------------------------------------------------------------- */

START_TEST(blocking_recv_times_out_then_receives)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	uint64_t got = 0;
	ck_assert_int_eq(ak_broadcast_recv_blocking(rx, &got, NULL, ak_deadline_in(5 * MS)),
	                 AK_ETIMEDOUT);
	send_range(tx, 9, 10);
	ck_assert_int_eq(ak_broadcast_recv_blocking(rx, &got, NULL, ak_deadline_in(5000 * MS)), 0);
	ck_assert_uint_eq(got, 9);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx);
}
END_TEST

#define THREAD_VALUES 12000
struct lag_reader {
	pthread_t th;
	struct ak_broadcast_rx *rx;
	uint64_t received, missed, order_errors, last_rc;
};

static void *lag_reader_main(void *arg)
{
	struct lag_reader *r = arg;
	uint64_t expect = 0;
	for (;;) {
		uint64_t v, missed = 0;
		int rc = ak_broadcast_recv_blocking(r->rx, &v, &missed, ak_deadline_in(10000 * MS));
		if (rc == 0) {
			if (v != expect)
				r->order_errors++;
			expect = v + 1;
			r->received++;
		} else if (rc == AK_EOVERFLOW) {
			r->missed += missed;
			expect += missed;
		} else {
			r->last_rc = (uint64_t)(int64_t)rc;
			break;
		}
	}
	return NULL;
}

START_TEST(threads_overwriting_under_readers_account_every_value)
{
	struct lag_reader r[2];
	struct ak_broadcast_tx *tx = new_chan(8, NULL);
	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof r[i]);
		ck_assert_int_eq(ak_broadcast_subscribe(tx, &r[i].rx), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i].th, NULL, lag_reader_main, &r[i]);
	send_range(tx, 0, THREAD_VALUES);
	ak_broadcast_tx_drop(tx);
	for (int i = 0; i < 2; i++) {
		pthread_join(r[i].th, NULL);
		ck_assert_int_eq((int)(int64_t)r[i].last_rc, AK_EPIPE);
		ck_assert_uint_eq(r[i].order_errors, 0);
		ck_assert_uint_eq(r[i].received + r[i].missed, THREAD_VALUES);
		ak_broadcast_rx_drop(r[i].rx);
	}
}
END_TEST

/* ---- receivers dropped under a parked recv while another thread sends ------ */

#define DROP_ROUNDS 2000

static int drop_send(void *tx, uint64_t v)
{
	return ak_broadcast_send(tx, &v, NULL);
}

START_TEST(receivers_dropped_under_parked_recv_while_another_thread_sends)
{
	struct tk_sender d;
	struct ak_broadcast_tx *tx;
	struct ak_broadcast_rx *keep, *rx;
	struct tk_task *t = tk_task_new();
	int bad = 0;

	tx = new_chan(4, &keep);
	tk_sender_start(&d, drop_send, tx);
	for (int i = 0; tk_sender_more(&d, i, DROP_ROUNDS); i++) {
		struct ak_broadcast_recv_op op;
		uint64_t got;
		memset(&op, 0, sizeof op);
		if (ak_broadcast_subscribe(tx, &rx) != 0 ||
		    ak_broadcast_recv_init(&op, rx, &got, NULL) != 0) {
			bad++;
			break;
		}
		int rc = tk_poll(t, &op.future);
		ck_assert_int_eq(ak_broadcast_rx_drop(rx), 0);   /* while sends grant it */
		if (rc == AK_PENDING) {
			rc = tk_poll(t, &op.future);                  /* frees the receiver */
			if (rc != AK_EPIPE)
				bad++;
		} else if (rc != 0 && rc != AK_EOVERFLOW) {
			bad++;
		}
		(void)tk_task_take_woken(t);
	}
	ck_assert_int_gt(tk_sender_stop(&d), 0);
	ck_assert_int_eq(bad, 0);
	ak_broadcast_rx_drop(keep);
	ak_broadcast_tx_drop(tx);
	tk_assert_balanced(t->cw);
}
END_TEST

/* ---- fan-out on the pool -------------------------------------------------- */

#define FAN_RECEIVERS 8
#define FAN_VALUES 4000
#define FAN_CAP 64

struct fan_rx {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_recv_op op;
	uint64_t v, missed;
	int rc;
	uint64_t expect, received, lagged, order_errors;
	int final_rc;
	atomic_uint_least64_t count;      /* read by the sender to throttle */
};

static int fan_rx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct fan_rx *t = (struct fan_rx *)f;
	AK_BEGIN(&t->aw, cx);
	for (;;) {
		ak_broadcast_recv_init(&t->op, t->rx, &t->v, &t->missed);
		AK_AWAIT(&t->aw, &t->op.future, t->rc);
		if (t->rc == 0) {
			if (t->v != t->expect)
				t->order_errors++;
			t->expect = t->v + 1;
			t->received++;
			atomic_store_explicit(&t->count, t->received, memory_order_release);
		} else if (t->rc == AK_EOVERFLOW) {
			t->lagged += t->missed;
			t->expect += t->missed;
		} else {
			t->final_rc = t->rc;
			AK_RETURN(&t->aw, 0);
		}
	}
	AK_END(&t->aw);
}

static void fan_rx_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct fan_rx *)f)->aw, f);
}

static const struct ak_future_vtable fan_rx_vtable = { fan_rx_poll, fan_rx_cancel };

struct fan_tx {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_tx *tx;
	struct fan_rx *rx;
	uint64_t i;
	unsigned spins;
	int send_errors;
};

static uint64_t fan_slowest(struct fan_tx *t)
{
	uint64_t m = UINT64_MAX;
	for (int r = 0; r < FAN_RECEIVERS; r++) {
		uint64_t c = atomic_load_explicit(&t->rx[r].count, memory_order_acquire);
		if (c < m)
			m = c;
	}
	return m;
}

static int fan_tx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct fan_tx *t = (struct fan_tx *)f;
	AK_BEGIN(&t->aw, cx);
	for (t->i = 0; t->i < FAN_VALUES; t->i++) {
		/* never more than FAN_CAP - 1 ahead of the slowest: no lag at all */
		while (t->i - fan_slowest(t) >= FAN_CAP - 1) {
			/* The slowest may run on a worker whose core was taken:
			 * after a few executor yields, yield the thread too. */
			if ((++t->spins & 15) == 0)
				sched_yield();
			AK_YIELD(&t->aw);
		}
		if (ak_broadcast_send(t->tx, &t->i, NULL) != 0)
			t->send_errors++;
	}
	ak_broadcast_tx_drop(t->tx);
	AK_END(&t->aw);
}

static void fan_tx_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct fan_tx *)f)->aw, f);
}

static const struct ak_future_vtable fan_tx_vtable = { fan_tx_poll, fan_tx_cancel };

START_TEST(one_sender_task_eight_receiver_tasks_each_get_all_in_order)
{
	static struct fan_rx rx[FAN_RECEIVERS];
	static struct fan_tx tx;
	struct tk_exec *x = tk_exec_new("pool", 2);
	struct ak_broadcast_tx *ch = new_chan(FAN_CAP, NULL);

	memset(rx, 0, sizeof rx);
	memset(&tx, 0, sizeof tx);
	for (int i = 0; i < FAN_RECEIVERS; i++) {
		ck_assert_int_eq(ak_broadcast_subscribe(ch, &rx[i].rx), 0);
		ak_future_init(&rx[i].future, &fan_rx_vtable);
	}
	tx.tx = ch;
	tx.rx = rx;
	ak_future_init(&tx.future, &fan_tx_vtable);
	for (int i = 0; i < FAN_RECEIVERS; i++)
		tk_exec_spawn(x, &rx[i].future);
	tk_exec_spawn(x, &tx.future);
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(20000 * MS)), 0);
	for (int i = 0; i <= FAN_RECEIVERS; i++)
		ck_assert_int_eq(tk_exec_result(x, i), 0);
	tk_exec_free(x);
	ck_assert_int_eq(tx.send_errors, 0);
	for (int i = 0; i < FAN_RECEIVERS; i++) {
		ck_assert_int_eq(rx[i].final_rc, AK_EPIPE);
		ck_assert_uint_eq(rx[i].received, FAN_VALUES);
		ck_assert_uint_eq(rx[i].lagged, 0);
		ck_assert_uint_eq(rx[i].order_errors, 0);
		ck_assert_int_eq(ak_broadcast_rx_drop(rx[i].rx), 0);
	}
}
END_TEST

/* ---- the senders' closed() (tokio's sync_broadcast.rs) ---------------------- */

static void park_closed(struct ak_broadcast_closed_op *op, struct ak_broadcast_tx *tx,
                        struct tk_task *t)
{
	memset(op, 0, sizeof *op);
	ck_assert_int_eq(ak_broadcast_closed_init(op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op->future), AK_PENDING);
}

START_TEST(closed_completes_when_the_last_receiver_drops)
{
	struct ak_broadcast_rx *rx, *rx2;
	struct ak_broadcast_tx *tx = new_chan(1, &rx);
	struct ak_broadcast_closed_op op;
	struct tk_task *t = tk_task_new();

	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx2), 0);
	park_closed(&op, tx, t);
	ak_broadcast_rx_drop(rx);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_broadcast_rx_drop(rx2);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(closed_rearms_when_a_receiver_subscribes_before_its_poll)
{
	struct ak_broadcast_rx *rx, *rx2, *rx3, *rx4;
	struct ak_broadcast_tx *tx = new_chan(1, &rx);
	struct ak_broadcast_closed_op op, op2, op3;
	struct tk_task *t = tk_task_new(), *t2 = tk_task_new(), *t3 = tk_task_new();

	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx2), 0);
	park_closed(&op, tx, t);
	ak_broadcast_rx_drop(rx);
	ck_assert(!tk_task_take_woken(t));
	ak_broadcast_rx_drop(rx2);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx3), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);      /* re-armed */
	ak_broadcast_rx_drop(rx3);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	/* no receiver: a new closed() is ready at once */
	memset(&op2, 0, sizeof op2);
	ck_assert_int_eq(ak_broadcast_closed_init(&op2, tx), 0);
	ck_assert_int_eq(tk_poll(t2, &op2.future), 0);
	/* one subscribes: a new closed() waits for it to go */
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx4), 0);
	park_closed(&op3, tx, t3);
	ak_broadcast_rx_drop(rx4);
	ck_assert_int_eq(tk_poll_woken(t3, &op3.future), 0);
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(closed_on_a_channel_made_without_a_receiver_is_ready_until_a_subscribe)
{
	struct ak_broadcast_tx *tx = new_chan(1, NULL);
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_closed_op op, op2;
	struct tk_task *t = tk_task_new();

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_broadcast_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_broadcast_subscribe(tx, &rx), 0);
	park_closed(&op2, tx, t);
	ak_future_cancel(&op2.future);
	ak_future_cancel(&op2.future);                      /* idempotent */
	ak_broadcast_rx_drop(rx);
	ck_assert(!tk_task_take_woken(t));                  /* cancelled: not woken */
	ak_broadcast_tx_drop(tx);
}
END_TEST

START_TEST(a_parked_closed_op_outlives_every_handle)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx);
	struct ak_broadcast_closed_op op;
	struct tk_task *t = tk_task_new();

	park_closed(&op, tx, t);
	ak_broadcast_tx_drop(tx);
	ak_broadcast_rx_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);  /* frees the channel */
	ck_assert_uint_eq(ak_op_size(AK_OP_BROADCAST_CLOSED), sizeof(struct ak_broadcast_closed_op));
}
END_TEST

START_TEST(closed_with_a_spent_budget_yields_and_then_completes)
{
	struct ak_broadcast_tx *tx = new_chan(1, NULL);
	struct ak_broadcast_closed_op op;
	struct tk_task *t = tk_task_new();

	memset(&op, 0, sizeof op);
	ck_assert_int_eq(ak_broadcast_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ak_broadcast_tx_drop(tx);
}
END_TEST

/* ---- weak senders and counts (tokio's sync_broadcast_weak.rs) ---------------- */

START_TEST(weak_upgrade_gives_a_sender_while_one_lives)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(16, &rx), *tx2, *up;
	struct ak_broadcast_weak *weak, *weak2;
	uint64_t v = 20;

	ck_assert_int_eq(ak_broadcast_tx_clone(tx, &tx2), 0);
	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx2, &weak), 0);
	send_range(tx, 0, 10);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(weak, &up), 0);
	ck_assert_ptr_eq(up, tx);
	ck_assert_int_eq(ak_broadcast_send(up, &v, NULL), 0);
	ck_assert_int_eq(ak_broadcast_tx_downgrade(up, &weak2), 0);
	ak_broadcast_tx_drop(up);
	ak_broadcast_tx_drop(tx2);
	ak_broadcast_tx_drop(tx);
	expect_values(rx, 0, 10);
	expect_values(rx, 20, 21);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &v, NULL), AK_EPIPE);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(weak2, &up), AK_EPIPE);
	ak_broadcast_weak_drop(weak2);
	ak_broadcast_weak_drop(weak);
	ak_broadcast_rx_drop(rx);
}
END_TEST

START_TEST(weak_upgrade_fails_once_the_senders_alive_at_downgrade_are_gone)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(1, &rx), *tx2, *up = NULL;
	struct ak_broadcast_weak *weak, *weak2;

	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx, &weak), 0);
	ck_assert_int_eq(ak_broadcast_tx_clone(tx, &tx2), 0);
	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx2, &weak2), 0);
	ak_broadcast_tx_drop(tx2);
	ak_broadcast_tx_drop(tx);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(weak, &up), AK_EPIPE);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(weak2, &up), AK_EPIPE);
	ck_assert_ptr_null(up);
	ak_broadcast_weak_drop(weak);
	ak_broadcast_weak_drop(weak2);
	ak_broadcast_rx_drop(rx);
}
END_TEST

START_TEST(strong_and_weak_counts_follow_clones_downgrades_and_drops)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(1, &rx), *tx2;
	struct ak_broadcast_weak *weak, *weak2, *weak3;

	ck_assert_int_eq(ak_broadcast_tx_clone(tx, &tx2), 0);
	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx, &weak), 0);
	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx2, &weak2), 0);
	ck_assert_uint_eq(ak_broadcast_sender_strong_count(rx), 2);
	ck_assert_uint_eq(ak_broadcast_sender_weak_count(rx), 2);
	ck_assert_int_eq(ak_broadcast_weak_clone(weak, &weak3), 0);
	ck_assert_uint_eq(ak_broadcast_sender_weak_count(rx), 3);
	ak_broadcast_weak_drop(weak3);
	ak_broadcast_tx_drop(tx2);
	ak_broadcast_weak_drop(weak2);
	ck_assert_uint_eq(ak_broadcast_sender_strong_count(rx), 1);
	ck_assert_uint_eq(ak_broadcast_sender_weak_count(rx), 1);
	ak_broadcast_tx_drop(tx);
	/* only a weak sender left: closed, counts 0 and 1 */
	ck_assert_uint_eq(ak_broadcast_sender_strong_count(rx), 0);
	ck_assert_uint_eq(ak_broadcast_sender_weak_count(rx), 1);
	ck_assert_int_eq(ak_broadcast_rx_is_closed(rx), 1);
	ak_broadcast_weak_drop(weak);
	ck_assert_uint_eq(ak_broadcast_sender_weak_count(rx), 0);
	ak_broadcast_rx_drop(rx);
}
END_TEST

START_TEST(a_weak_sender_alone_keeps_the_memory_and_its_drop_frees_it)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(4, &rx), *up = NULL;
	struct ak_broadcast_weak *weak;

	ck_assert_int_eq(ak_broadcast_tx_downgrade(tx, &weak), 0);
	ak_broadcast_tx_drop(tx);
	ak_broadcast_rx_drop(rx);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(weak, &up), AK_EPIPE);
	ck_assert_int_eq(ak_broadcast_weak_drop(weak), 0);  /* the teardown checks it freed */
	ck_assert_int_eq(ak_broadcast_tx_downgrade(NULL, &weak), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_weak_upgrade(NULL, &up), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_weak_clone(NULL, &weak), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_weak_drop(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_broadcast_closed_init(NULL, NULL), AK_EINVAL);
}
END_TEST

/* ---- receiver queries --------------------------------------------------------- */

START_TEST(rx_is_empty_until_a_send_and_again_once_read)
{
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(2, &rx);
	uint64_t v;

	ck_assert_int_eq(ak_broadcast_rx_is_empty(rx), 1);
	send_range(tx, 1, 4);                              /* 1 is overwritten */
	ck_assert_int_eq(ak_broadcast_rx_is_empty(rx), 0);
	ck_assert_int_eq(ak_broadcast_try_recv(rx, &v, NULL), AK_EOVERFLOW);
	expect_values(rx, 2, 4);
	ck_assert_int_eq(ak_broadcast_rx_is_empty(rx), 1);
	ck_assert_int_eq(ak_broadcast_rx_is_empty(NULL), AK_EINVAL);
	ak_broadcast_tx_drop(tx);
	ak_broadcast_rx_drop(rx);
}
END_TEST

START_TEST(same_channel_tells_receivers_of_one_channel_from_another)
{
	struct ak_broadcast_rx *rx, *sub, *re, *other;
	struct ak_broadcast_tx *tx = new_chan(2, &rx), *tx2 = new_chan(2, &other);

	ck_assert_int_eq(ak_broadcast_subscribe(tx, &sub), 0);
	ck_assert_int_eq(ak_broadcast_resubscribe(rx, &re), 0);
	ck_assert_int_eq(ak_broadcast_same_channel(rx, sub), 1);
	ck_assert_int_eq(ak_broadcast_same_channel(sub, re), 1);
	ck_assert_int_eq(ak_broadcast_same_channel(rx, other), 0);
	ck_assert_int_eq(ak_broadcast_same_channel(rx, NULL), AK_EINVAL);
	ak_broadcast_rx_drop(re);
	ak_broadcast_rx_drop(sub);
	ak_broadcast_rx_drop(other);
	ak_broadcast_rx_drop(rx);
	ak_broadcast_tx_drop(tx2);
	ak_broadcast_tx_drop(tx);
}
END_TEST

/* ---- threads: upgrades racing the last drop; closed() racing receivers ------ */

#define UPGRADERS 2
#define UPGRADE_ROUNDS 20000

struct upgrader {
	pthread_t th;
	struct ak_broadcast_weak *weak;
	long ok, refused, late;              /* late: an upgrade after a refusal */
};

static void *upgrader_main(void *arg)
{
	struct upgrader *u = arg;
	uint64_t v = 1;

	for (int i = 0; i < UPGRADE_ROUNDS; i++) {
		struct ak_broadcast_tx *tx;
		int rc = ak_broadcast_weak_upgrade(u->weak, &tx);
		if (rc == 0) {
			if (u->refused)
				u->late++;
			ak_broadcast_send(tx, &v, NULL);
			ak_broadcast_tx_drop(tx);
			u->ok++;
		} else {
			u->refused++;
		}
		if ((i & 255) == 0)
			sched_yield();
	}
	return NULL;
}

START_TEST(upgrades_racing_the_last_drop_never_revive_a_closed_channel)
{
	struct upgrader u[UPGRADERS];
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_tx *tx = new_chan(8, &rx);
	uint64_t v;
	int rc;

	for (int i = 0; i < UPGRADERS; i++) {
		memset(&u[i], 0, sizeof u[i]);
		ck_assert_int_eq(ak_broadcast_tx_downgrade(tx, &u[i].weak), 0);
		ck_assert_int_eq(pthread_create(&u[i].th, NULL, upgrader_main, &u[i]), 0);
	}
	sched_yield();
	ak_broadcast_tx_drop(tx);
	for (int i = 0; i < UPGRADERS; i++) {
		pthread_join(u[i].th, NULL);
		ck_assert_int_eq(u[i].late, 0);
		ck_assert_int_eq(u[i].ok + u[i].refused, UPGRADE_ROUNDS);
		ak_broadcast_weak_drop(u[i].weak);
	}
	ck_assert_uint_eq(ak_broadcast_sender_strong_count(rx), 0);
	ck_assert_int_eq(ak_broadcast_rx_is_closed(rx), 1);
	while ((rc = ak_broadcast_try_recv(rx, &v, NULL)) == 0 || rc == AK_EOVERFLOW)
		;
	ck_assert_int_eq(rc, AK_EPIPE);
	ak_broadcast_rx_drop(rx);
}
END_TEST

#define CLOSED_ROUNDS 500

struct subscriber {
	pthread_t th;
	struct ak_broadcast_tx *tx;
	struct ak_broadcast_rx *first;
};

/* Drops the round's first receiver after subscribing and dropping another. */
static void *subscriber_main(void *arg)
{
	struct subscriber *s = arg;
	struct ak_broadcast_rx *r;

	if (ak_broadcast_subscribe(s->tx, &r) == 0)
		ak_broadcast_rx_drop(r);
	ak_broadcast_rx_drop(s->first);
	return NULL;
}

START_TEST(blocking_closed_wakes_when_another_thread_drops_the_last_receiver)
{
	struct ak_broadcast_tx *tx = new_chan(2, NULL);

	for (int i = 0; i < CLOSED_ROUNDS; i++) {
		struct subscriber s = { .tx = tx };
		struct ak_broadcast_closed_op op;

		ck_assert_int_eq(ak_broadcast_subscribe(tx, &s.first), 0);
		memset(&op, 0, sizeof op);
		ck_assert_int_eq(ak_broadcast_closed_init(&op, tx), 0);
		ck_assert_int_eq(pthread_create(&s.th, NULL, subscriber_main, &s), 0);
		ck_assert_int_eq(ak_block_on(&op.future, ak_deadline_in(10000 * MS)), 0);
		pthread_join(s.th, NULL);
		ck_assert_uint_eq(ak_broadcast_receiver_count(tx), 0);
	}
	ak_broadcast_tx_drop(tx);
}
END_TEST

Suite *broadcast_suite(void)
{
	Suite *s = suite_create("broadcast");
	TCase *tc = tk_tcase("broadcast");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, every_receiver_gets_every_value_in_order);
	tcase_add_test(tc, capacity_is_rounded_up_to_a_power_of_two);
	tcase_add_test(tc, receiver_behind_by_exactly_capacity_misses_nothing);
	tcase_add_test(tc, receiver_behind_by_capacity_plus_one_gets_overflow_one_then_oldest);
	tcase_add_test(tc, lagging_twice_reports_each_lag_from_the_moved_cursor);
	tcase_add_test(tc, recv_op_reports_overflow_with_missed_count);
	tcase_add_test(tc, subscribe_and_resubscribe_start_at_the_tail);
	tcase_add_test(tc, close_then_receivers_drain_then_epipe);
	tcase_add_test(tc, last_sender_drop_wakes_a_parked_recv_with_epipe);
	tcase_add_test(tc, parked_recv_is_woken_by_send_and_takes_the_value);
	tcase_add_test(tc, cancel_of_a_pending_recv_loses_nothing);
	tcase_add_test(tc, waker_reregistration_wakes_only_the_latest_task);
	tcase_add_test(tc, send_with_no_receivers_is_epipe_and_keeps_nothing);
	tcase_add_test(tc, len_counts_values_some_receiver_has_not_read);
	tcase_add_test(tc, drop_hook_runs_once_for_each_overwritten_and_leftover_value);
	tcase_add_test(tc, failed_clone_leaves_the_cursor_in_place);
	tcase_add_test(tc, bad_inputs_are_einval_and_change_nothing);
	tcase_add_test(tc, a_second_recv_on_a_receiver_with_one_parked_is_ebusy);
	tcase_add_test(tc, rx_drop_under_a_parked_recv_succeeds_and_the_recv_then_fails_with_epipe);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_recv_then_cancelling_frees_the_channel);
	tcase_add_test(tc, dropping_every_handle_under_a_granted_recv_then_polling_it_is_epipe);
	tcase_add_test(tc, dropping_the_handles_after_a_recv_completed_leaves_nothing_held);
	tcase_add_test(tc, elem_size_zero_carries_signals);
	tcase_add_test(tc, failed_waker_clone_is_enomem_and_leaves_nothing_parked);
	tcase_add_test(tc, spent_budget_yields_without_taking_the_value);
	tcase_add_test(tc, blocking_recv_times_out_then_receives);
	tcase_add_test(tc, threads_overwriting_under_readers_account_every_value);
	tcase_add_test(tc, receivers_dropped_under_parked_recv_while_another_thread_sends);
	tcase_add_test(tt, one_sender_task_eight_receiver_tasks_each_get_all_in_order);
	tcase_add_test(tc, closed_completes_when_the_last_receiver_drops);
	tcase_add_test(tc, closed_rearms_when_a_receiver_subscribes_before_its_poll);
	tcase_add_test(tc, closed_on_a_channel_made_without_a_receiver_is_ready_until_a_subscribe);
	tcase_add_test(tc, a_parked_closed_op_outlives_every_handle);
	tcase_add_test(tc, closed_with_a_spent_budget_yields_and_then_completes);
	tcase_add_test(tc, weak_upgrade_gives_a_sender_while_one_lives);
	tcase_add_test(tc, weak_upgrade_fails_once_the_senders_alive_at_downgrade_are_gone);
	tcase_add_test(tc, strong_and_weak_counts_follow_clones_downgrades_and_drops);
	tcase_add_test(tc, a_weak_sender_alone_keeps_the_memory_and_its_drop_frees_it);
	tcase_add_test(tc, rx_is_empty_until_a_send_and_again_once_read);
	tcase_add_test(tc, same_channel_tells_receivers_of_one_channel_from_another);
	tcase_add_test(tc, upgrades_racing_the_last_drop_never_revive_a_closed_channel);
	tcase_add_test(tc, blocking_closed_wakes_when_another_thread_drops_the_last_receiver);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
