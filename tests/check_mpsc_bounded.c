/*
 * The bounded mpsc's capacity (chan/mpsc_ring.c, ak_mpsc(3)): when a slot
 * counts as free, who gets it, and what a close does to the waiting;
 * tokio's hard cases from tokio/tests/sync_mpsc.rs (reserve_disarm,
 * start_send_past_cap, send_recv_buffer_limited,
 * recv_close_gets_none_reserved, permit_available_not_acquired_close,
 * try_recv_bounded), and a capacity that is not a power of two.  A tcase of
 * the mpsc suite.
 */
#include <check.h>
#include <string.h>

#include "testkit.h"

TCase *mpsc_bounded_tcase(void);

static void new_bounded(size_t cap, struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	ck_assert_int_eq(ak_mpsc_new(cap, sizeof(int), NULL, tx, rx), 0);
}

static int recv_now(struct ak_mpsc_rx *rx)
{
	int v = -1;
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), 0);
	return v;
}

static void permit_now(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_mpsc_try_reserve(op, tx), 0);
}

/* A reserve of n polled once on its own task: left pending. */
static void reserve_pending(struct ak_mpsc_reserve_op *op, struct ak_mpsc_tx *tx, size_t n,
                            struct tk_task *t)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_mpsc_reserve_many_init(op, tx, n), 0);
	ck_assert_int_eq(tk_poll(t, &op->future), AK_PENDING);
}

START_TEST(a_permit_send_frees_no_slot_until_received_and_waiters_are_served_in_order)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p1, p2, r3, r4, r5;
	struct tk_task *t3 = tk_task_new(), *t4 = tk_task_new(), *t5 = tk_task_new();

	new_bounded(2, &tx, &rx);
	permit_now(&p1, tx);
	permit_now(&p2, tx);
	reserve_pending(&r3, tx, 1, t3);
	reserve_pending(&r4, tx, 1, t4);
	ck_assert_int_eq(ak_mpsc_permit_send(&p1, &(int){ 1 }), 0);
	ck_assert(!tk_task_take_woken(t3));   /* the value holds the slot */
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert(tk_task_take_woken(t3));
	ck_assert(!tk_task_take_woken(t4));
	ck_assert_int_eq(ak_mpsc_permit_drop(&p2), 0);
	ck_assert(tk_task_take_woken(t4));
	/* Both slots are granted: a newcomer waits. */
	reserve_pending(&r5, tx, 1, t5);
	ck_assert_int_eq(tk_poll(t3, &r3.future), 0);
	ck_assert_int_eq(tk_poll(t4, &r4.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&r3), 0);
	ck_assert_int_eq(tk_poll_woken(t5, &r5.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&r4), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&r5), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* Every element size goes through the ring whole, and only its bytes:
 * sent by a send's poll, by try_send, and by a permit, to a receive that
 * finds it and to one that was parked (the common sizes take the leaf
 * paths, the others their out-of-line copies). */
START_TEST(values_of_any_size_pass_the_ring_whole)
{
	static const size_t sizes[] = { 1, 4, 8, 12, 16, 24, 100 };
	struct tk_task *t = tk_task_new(), *s = tk_task_new();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int how = 0; how < 3; how++) {
			size_t n = sizes[i];
			unsigned char in[128], out[128];
			struct ak_mpsc_tx *tx;
			struct ak_mpsc_rx *rx;
			struct ak_mpsc_recv_op rop;
			struct ak_mpsc_send_op sop;
			struct ak_mpsc_reserve_op pop;

			for (size_t j = 0; j < sizeof(in); j++)
				in[j] = (unsigned char)(j * 5 + n + how);
			memset(out, 0xee, sizeof(out));
			memset(&rop, 0, sizeof(rop));
			memset(&sop, 0, sizeof(sop));
			ck_assert_int_eq(ak_mpsc_new(2, n, NULL, &tx, &rx), 0);
			ck_assert_int_eq(ak_mpsc_recv_init(&rop, rx, out), 0);
			int parked = how != 1;
			if (parked)
				ck_assert_int_eq(tk_poll(t, &rop.future), AK_PENDING);
			if (how == 0) {
				ck_assert_int_eq(ak_mpsc_send_init(&sop, tx, in), 0);
				ck_assert_int_eq(tk_poll(s, &sop.future), 0);
			} else if (how == 1) {
				ck_assert_int_eq(ak_mpsc_try_send(tx, in), 0);
			} else {
				permit_now(&pop, tx);
				ck_assert_int_eq(ak_mpsc_permit_send(&pop, in), 0);
			}
			ck_assert_int_eq(parked, tk_task_take_woken(t));
			ck_assert_int_eq(tk_poll(t, &rop.future), 0);
			ck_assert_mem_eq(out, in, n);
			for (size_t j = n; j < sizeof(out); j++)
				ck_assert_uint_eq(out[j], 0xee);
			ak_mpsc_tx_drop(tx);
			ak_mpsc_rx_drop(rx);
		}
	}
}
END_TEST

/* A parked receive that takes a value after its receiver was dropped (a
 * permit's send, its unit held from before the drop) lets go of the
 * channel as it completes: it was the last to hold it. */
START_TEST(a_receive_completed_after_its_receiver_was_dropped_frees_the_channel)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op;
	struct ak_mpsc_reserve_op permit;
	struct tk_task *t = tk_task_new();
	int v = -1;

	new_bounded(2, &tx, &rx);
	memset(&op, 0, sizeof(op));
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	permit_now(&permit, tx);
	ak_mpsc_rx_drop(rx);
	int sent = ak_mpsc_permit_send(&permit, &(int){ 5 });
	ak_mpsc_tx_drop(tx);
	int rc = tk_poll(t, &op.future);
	ck_assert_msg(rc == AK_EPIPE || (rc == 0 && sent == 0 && v == 5), "rc %d sent %d v %d", rc,
	              sent, v);
}
END_TEST

START_TEST(a_slot_granted_to_a_waiter_is_not_taken_by_try_send)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p1, p2;
	struct tk_task *t = tk_task_new();

	new_bounded(1, &tx, &rx);
	permit_now(&p1, tx);
	ck_assert_int_eq(ak_mpsc_permit_send(&p1, &(int){ 1 }), 0);
	reserve_pending(&p2, tx, 1, t);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 1337 }), AK_EAGAIN);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
	ck_assert_int_eq(tk_poll(t, &p2.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&p2, &(int){ 2 }), 0);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A receive polled on a task that finds the value at once (its leaf path,
 * chan/mpsc.c ring_recv_poll) still serves the sender parked on the full
 * channel: the slot it freed is granted and the send completes. */
START_TEST(a_polled_receive_that_finds_a_value_hands_its_slot_to_a_parked_send)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op s;
	struct ak_mpsc_recv_op r;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = -1, two = 2;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 1 }), 0);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(ak_mpsc_send_init(&s, tx, &two), 0);
	ck_assert_int_eq(tk_poll(ts, &s.future), AK_PENDING);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(ak_mpsc_recv_init(&r, rx, &v), 0);
	ck_assert_int_eq(tk_poll(tr, &r.future), 0);
	ck_assert_int_eq(v, 1);
	ck_assert(tk_task_take_woken(ts));
	ck_assert_int_eq(tk_poll(ts, &s.future), 0);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(a_cancelled_waiter_is_skipped_and_the_next_one_gets_the_slot)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op r1, r2;
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 7 }), 0);
	reserve_pending(&r1, tx, 1, t1);
	reserve_pending(&r2, tx, 1, t2);
	ak_future_cancel(&r1.future);
	ck_assert_int_eq(recv_now(rx), 7);
	ck_assert(tk_task_take_woken(t2));
	ck_assert(!tk_task_take_woken(t1));
	ck_assert_int_eq(tk_poll(t2, &r2.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&r2), 0);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &(int){ 0 }), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(close_fails_a_waiting_reserve_while_a_held_permit_still_delivers)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p1, p2;
	struct ak_mpsc_recv_op recv = {0};
	struct tk_task *t2 = tk_task_new(), *tr = tk_task_new();
	int v = 0;

	new_bounded(1, &tx, &rx);
	permit_now(&p1, tx);
	reserve_pending(&p2, tx, 1, t2);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(t2, &p2.future), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_recv_init(&recv, rx, &v), 0);
	ck_assert_int_eq(tk_poll(tr, &recv.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_send(&p1, &(int){ 123 }), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(v, 123);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(a_permit_dropped_after_close_lets_the_receiver_finish)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p1, p2;
	struct tk_task *t2 = tk_task_new();
	int v;

	new_bounded(1, &tx, &rx);
	permit_now(&p1, tx);
	reserve_pending(&p2, tx, 1, t2);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EAGAIN);   /* a permit is out */
	ck_assert_int_eq(ak_mpsc_permit_drop(&p1), 0);
	ck_assert(tk_task_take_woken(t2));
	ak_future_cancel(&p2.future);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* Capacity 5 lives in a ring of 8 slots: the capacity, not the ring,
 * says when the channel is full, lap after lap. */
START_TEST(try_send_fills_exactly_a_capacity_that_is_not_a_power_of_two)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v, next = 0, expect = 0;

	new_bounded(5, &tx, &rx);
	for (int lap = 0; lap < 7; lap++) {
		int queued = (int)ak_mpsc_len(rx);
		while (queued < 5) {
			ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ next }), 0);
			next++;
			queued++;
		}
		ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
		ck_assert_int_eq(ak_mpsc_try_send(tx, &next), AK_EAGAIN);
		/* Take a different number each lap, so the indices walk the ring. */
		for (int k = 0; k <= lap % 5; k++)
			ck_assert_int_eq(recv_now(rx), expect++);
		ck_assert_uint_eq(ak_mpsc_capacity(tx), (size_t)(lap % 5) + 1);
	}
	while (expect < next)
		ck_assert_int_eq(recv_now(rx), expect++);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(reserved_slots_count_against_a_capacity_that_is_not_a_power_of_two)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p, q;

	new_bounded(5, &tx, &rx);
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&p, tx, 2), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_mpsc_try_send(tx, &i), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 3 }), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_try_reserve(&q, tx), AK_EAGAIN);
	ck_assert_int_eq(recv_now(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&q, tx, 2), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&q, tx, 1), 0);
	/* Values go in send order, whatever the order of the reserves. */
	ck_assert_int_eq(ak_mpsc_permit_send(&q, &(int){ 10 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&p, &(int){ 11 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&p), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ck_assert_int_eq(recv_now(rx), 10);
	ck_assert_int_eq(recv_now(rx), 11);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 5);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A capacity that is the ring's size, where a send's first try looks at
 * its own slot alone: the unit a permit holds is still not the send's. */
START_TEST(a_held_permit_keeps_its_slot_from_sends_on_a_power_of_two_capacity)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op p;

	new_bounded(4, &tx, &rx);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(ak_mpsc_try_reserve(&p, tx), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_mpsc_try_send(tx, &i), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 3 }), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_permit_send(&p, &(int){ 10 }), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(recv_now(rx), i);
	ck_assert_int_eq(recv_now(rx), 10);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(reserve_many_collects_its_slots_one_receive_at_a_time_ahead_of_try_send)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op r;
	struct tk_task *t = tk_task_new();

	new_bounded(3, &tx, &rx);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ak_mpsc_try_send(tx, &i), 0);
	reserve_pending(&r, tx, 2, t);
	ck_assert_int_eq(recv_now(rx), 0);
	ck_assert(!tk_task_take_woken(t));     /* one of two */
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 9 }), AK_EAGAIN);
	ck_assert_int_eq(tk_poll(t, &r.future), AK_PENDING);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(tk_poll_woken(t, &r.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&r), 2);
	ck_assert_int_eq(ak_mpsc_permit_drop(&r), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 2);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(a_partial_grant_cancelled_passes_on_to_the_next_waiter)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op big, one;
	struct tk_task *tb = tk_task_new(), *t1 = tk_task_new();

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 0 }), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 1 }), 0);
	reserve_pending(&big, tx, 2, tb);
	reserve_pending(&one, tx, 1, t1);
	ck_assert_int_eq(recv_now(rx), 0);      /* big holds one of two */
	ck_assert(!tk_task_take_woken(t1));
	ak_future_cancel(&big.future);
	ck_assert_int_eq(tk_poll_woken(t1, &one.future), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&one), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

TCase *mpsc_bounded_tcase(void)
{
	TCase *tc = tk_tcase("mpsc_bounded");
	tcase_add_test(tc, a_permit_send_frees_no_slot_until_received_and_waiters_are_served_in_order);
	tcase_add_test(tc, a_slot_granted_to_a_waiter_is_not_taken_by_try_send);
	tcase_add_test(tc, values_of_any_size_pass_the_ring_whole);
	tcase_add_test(tc, a_receive_completed_after_its_receiver_was_dropped_frees_the_channel);
	tcase_add_test(tc, a_polled_receive_that_finds_a_value_hands_its_slot_to_a_parked_send);
	tcase_add_test(tc, a_cancelled_waiter_is_skipped_and_the_next_one_gets_the_slot);
	tcase_add_test(tc, close_fails_a_waiting_reserve_while_a_held_permit_still_delivers);
	tcase_add_test(tc, a_permit_dropped_after_close_lets_the_receiver_finish);
	tcase_add_test(tc, try_send_fills_exactly_a_capacity_that_is_not_a_power_of_two);
	tcase_add_test(tc, reserved_slots_count_against_a_capacity_that_is_not_a_power_of_two);
	tcase_add_test(tc, a_held_permit_keeps_its_slot_from_sends_on_a_power_of_two_capacity);
	tcase_add_test(tc, reserve_many_collects_its_slots_one_receive_at_a_time_ahead_of_try_send);
	tcase_add_test(tc, a_partial_grant_cancelled_passes_on_to_the_next_waiter);
	return tc;
}
