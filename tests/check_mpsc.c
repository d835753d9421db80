/*
 * The mpsc channel (chan/mpsc.c, ak_mpsc(3)): FIFO, waiting for capacity,
 * try-forms, permits, recv_many, close and drain, handle lifetimes, the
 * commit rule under cancel, drop hooks, waker discipline, and producers on
 * the pool and on blocked threads.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "testkit.h"

Suite *mpsc_suite(void);
TCase *mpsc_bounded_tcase(void);   /* tests/check_mpsc_bounded.c */
TCase *mpsc_rendezvous_tcase(void); /* tests/check_mpsc_rendezvous.c */

#define MS 1000000LL

static void new_bounded(size_t cap, struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	ck_assert_int_eq(ak_mpsc_new(cap, sizeof(int), NULL, tx, rx), 0);
}

static void new_unbounded(struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), NULL, tx, rx), 0);
}

static int send_now(struct ak_mpsc_tx *tx, int v)
{
	return ak_mpsc_try_send(tx, &v);
}

static int recv_now(struct ak_mpsc_rx *rx)
{
	int v = -1;
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), 0);
	return v;
}

/* ---- FIFO ------------------------------------------------------------------ */

static void check_fifo(struct ak_mpsc_tx *a, struct ak_mpsc_rx *rx, int n)
{
	struct ak_mpsc_tx *b;
	ck_assert_int_eq(ak_mpsc_tx_clone(a, &b), 0);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(send_now(a, i), 0);
		ck_assert_int_eq(send_now(b, 100000 + i), 0);
	}
	int next_a = 0, next_b = 100000;
	for (int i = 0; i < 2 * n; i++) {
		int v = recv_now(rx);
		if (v < 100000)
			ck_assert_int_eq(v, next_a++);
		else
			ck_assert_int_eq(v, next_b++);
	}
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &next_a), AK_EAGAIN);
	ak_mpsc_tx_drop(b);
}

START_TEST(values_arrive_in_send_order_per_sender_bounded)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	new_bounded(256, &tx, &rx);
	check_fifo(tx, rx, 100);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(values_arrive_in_send_order_per_sender_unbounded)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	new_unbounded(&tx, &rx);
	check_fifo(tx, rx, 300);   /* several blocks */
	check_fifo(tx, rx, 300);   /* recycled ones */
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- waiting for capacity --------------------------------------------------- */

START_TEST(send_waits_when_full_and_resumes_when_a_slot_frees)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 3;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(send_now(tx, 2), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_uint_eq(ak_mpsc_len(rx), 2);
	ck_assert(!tk_task_take_woken(t));
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(recv_now(rx), 2);
	ck_assert_int_eq(recv_now(rx), 3);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(try_send_reports_full_then_closed_and_keeps_the_value)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 7;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	v = 8;
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EPIPE);
	ck_assert_int_eq(v, 8);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(recv_now(rx), 7);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(unbounded_send_never_waits_until_closed)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 5;

	new_unbounded(&tx, &rx);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(send_now(tx, i), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1001);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), SIZE_MAX);
	ak_mpsc_rx_close(rx);
	ck_assert_int_eq(send_now(tx, 1), AK_EPIPE);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(recv_now(rx), i);
	ck_assert_int_eq(recv_now(rx), 5);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- permits ------------------------------------------------------------------ */

START_TEST(dropped_permit_returns_its_slot_and_wakes_a_waiting_sender)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	struct ak_mpsc_send_op op = {0};
	struct tk_task *tp = tk_task_new(), *ts = tk_task_new();
	int v = 9;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_reserve_init(&permit, tx), 0);
	ck_assert_int_eq(tk_poll(tp, &permit.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&permit), 1);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(ts, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert(tk_task_take_woken(ts));
	ck_assert_int_eq(tk_poll(ts, &op.future), 0);
	ck_assert_int_eq(recv_now(rx), 9);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(permit_sends_without_waiting_even_after_close)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	int v = 4;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	/* Closed, empty, but a permit is out: not finished yet. */
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EAGAIN);
	v = 11;
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), AK_EINVAL);
	ck_assert_int_eq(recv_now(rx), 11);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(reserve_many_holds_n_slots_and_returns_the_unused)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0}, zero = {0}, big = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_reserve_many_init(&permit, tx, 3), 0);
	ck_assert_int_eq(tk_poll(t, &permit.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&permit), 3);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &(int){ 1 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &(int){ 2 }), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&permit), 1);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 2);
	/* n beyond the capacity can never be met; n == 0 is met at once. */
	ck_assert_int_eq(ak_mpsc_reserve_many_init(&big, tx, 5), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 3 }), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &(int){ 4 }), 0);
	ck_assert_int_eq(ak_mpsc_reserve_many_init(&zero, tx, 0), 0);
	ck_assert_int_eq(tk_poll(t, &zero.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&zero), 0);
	for (int i = 1; i <= 4; i++)
		ck_assert_int_eq(recv_now(rx), i);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- recv_many --------------------------------------------------------------- */

START_TEST(recv_many_takes_up_to_its_limit_and_zero_returns_at_once)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_many_op op = {0};
	struct tk_task *t = tk_task_new();
	int buf[10];
	size_t n = 99;

	new_bounded(8, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 0, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);     /* empty, yet done */
	ck_assert_uint_eq(n, 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(send_now(tx, i), 0);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 3, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[2], 2);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 10, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(buf[1], 4);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 10, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(send_now(tx, 42), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(buf[0], 42);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- close ------------------------------------------------------------------------- */

START_TEST(close_refuses_sends_and_drains_what_is_queued)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct ak_mpsc_recv_op rop = {0};
	struct tk_task *t = tk_task_new(), *tr = tk_task_new();
	int v = 0;

	new_bounded(3, &tx, &rx);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(send_now(tx, i), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_tx_is_closed(tx), 1);
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ak_mpsc_recv_init(&rop, rx, &v), 0);
		ck_assert_int_eq(tk_poll(tr, &rop.future), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(ak_mpsc_recv_init(&rop, rx, &v), 0);
	ck_assert_int_eq(tk_poll(tr, &rop.future), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* cap 0: unbounded.  Nothing was sent: a bounded channel has no ring. */
static void check_last_sender_drop_wakes(size_t cap)
{
	struct ak_mpsc_tx *tx, *tx2;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	if (cap)
		new_bounded(cap, &tx, &rx);
	else
		new_unbounded(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_tx_clone(tx, &tx2), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_mpsc_tx_drop(tx);
	ck_assert(!tk_task_take_woken(t));
	ak_mpsc_tx_drop(tx2);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 1);
	ak_mpsc_rx_drop(rx);
}

START_TEST(last_sender_drop_wakes_the_receiver_with_epipe)
{
	check_last_sender_drop_wakes(0);
}
END_TEST

START_TEST(last_sender_drop_wakes_the_receiver_of_a_never_used_bounded_channel_with_epipe)
{
	check_last_sender_drop_wakes(4);
}
END_TEST

START_TEST(closed_op_completes_when_the_receiver_closes)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_closed_op op = {0}, late = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_tx_is_closed(tx), 0);
	ak_mpsc_rx_drop(rx);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(ak_mpsc_closed_init(&late, tx), 0);
	ck_assert_int_eq(tk_poll(t, &late.future), 0);
	ak_mpsc_tx_drop(tx);
}
END_TEST

/* ---- handles ------------------------------------------------------------------------- */

START_TEST(weak_upgrade_fails_after_the_last_strong_drop)
{
	struct ak_mpsc_tx *tx, *up;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_weak *weak, *weak2;

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_tx_downgrade(tx, &weak), 0);
	ck_assert_int_eq(ak_mpsc_weak_clone(weak, &weak2), 0);
	ck_assert_int_eq(ak_mpsc_weak_upgrade(weak, &up), 0);
	ck_assert_int_eq(ak_mpsc_same_channel(up, tx), 1);
	ak_mpsc_tx_drop(up);
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 0);
	ak_mpsc_tx_drop(tx);
	/* Only weak handles are left: closed. */
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 1);
	ck_assert_int_eq(ak_mpsc_weak_upgrade(weak2, &up), AK_EPIPE);
	ak_mpsc_weak_drop(weak);
	ak_mpsc_rx_drop(rx);
	ak_mpsc_weak_drop(weak2);
}
END_TEST

START_TEST(same_channel_tells_channels_apart)
{
	struct ak_mpsc_tx *a, *b, *a2;
	struct ak_mpsc_rx *ra, *rb;

	new_bounded(1, &a, &ra);
	new_unbounded(&b, &rb);
	ck_assert_int_eq(ak_mpsc_tx_clone(a, &a2), 0);
	ck_assert_int_eq(ak_mpsc_same_channel(a, a2), 1);
	ck_assert_int_eq(ak_mpsc_same_channel(a, b), 0);
	ck_assert_uint_eq(ak_mpsc_max_capacity(a), 1);
	ck_assert_uint_eq(ak_mpsc_max_capacity(b), SIZE_MAX);
	ak_mpsc_tx_drop(a);
	ak_mpsc_tx_drop(a2);
	ak_mpsc_tx_drop(b);
	ak_mpsc_rx_drop(ra);
	ak_mpsc_rx_drop(rb);
}
END_TEST

/* ---- cancel ---------------------------------------------------------------------------- */

START_TEST(cancel_of_a_pending_recv_loses_no_message)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = -1;

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(send_now(tx, 5), 0);
	ck_assert(tk_task_take_woken(t));
	ak_future_cancel(&op.future);
	ck_assert_int_eq(v, -1);                 /* nothing handed over */
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(recv_now(rx), 5);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(cancel_of_a_pending_send_leaves_the_value_with_the_caller)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 77;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &v), AK_EAGAIN);
	ck_assert_int_eq(v, 77);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(cancelled_granted_reserve_passes_its_slot_to_the_next_waiter)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op a = {0}, b = {0};
	struct tk_task *ta = tk_task_new(), *tb = tk_task_new();

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&a, tx), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&b, tx), 0);
	ck_assert_int_eq(tk_poll(ta, &a.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(tb, &b.future), AK_PENDING);
	ck_assert_int_eq(recv_now(rx), 1);      /* the slot goes to a */
	ck_assert(tk_task_take_woken(ta));
	ck_assert(!tk_task_take_woken(tb));
	ak_future_cancel(&a.future);
	ck_assert(tk_task_take_woken(tb));
	ck_assert_int_eq(tk_poll(tb, &b.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&b, &(int){ 2 }), 0);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- slots that come back to a closed channel ------------------------------------------------ *
 * A receive on a closed, empty channel waits while a permit or a grant is
 * out, and reports AK_EPIPE once every slot is back.  Each way a slot can
 * come back must wake a parked receive, or it sleeps forever.  These replay
 * each sequence by hand, one poll at a time.
 */

/* What each test of this section starts from: a channel, a task that
 * sends (ts) and one that receives (tr), and the receive it parks. */
struct closing {
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op rop;
	struct tk_task *ts, *tr;
	int v;
};

static void closing_new(struct closing *c, size_t cap)
{
	memset(c, 0, sizeof *c);
	new_bounded(cap, &c->tx, &c->rx);
	c->ts = tk_task_new();
	c->tr = tk_task_new();
}

static void closing_drop(struct closing *c)
{
	ak_mpsc_tx_drop(c->tx);
	ak_mpsc_rx_drop(c->rx);
}

/* The receive bound and parked on the empty channel by task tr. */
static void park_recv(struct closing *c)
{
	ck_assert_int_eq(ak_mpsc_recv_init(&c->rop, c->rx, &c->v), 0);
	ck_assert_int_eq(tk_poll(c->tr, &c->rop.future), AK_PENDING);
}

/* Closes the channel (a permit or a grant is out) and parks the receive,
 * which must wait for that slot to come back. */
static void close_and_park_recv(struct closing *c)
{
	ck_assert_int_eq(ak_mpsc_rx_close(c->rx), 0);
	park_recv(c);
}

/* Issue 11, item 1, replayed exactly. */
START_TEST(cancelled_reserve_granted_before_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op permit = {0}, res = {0};

	closing_new(&c, 1);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, c.tx), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&res, c.tx), 0);
	ck_assert_int_eq(tk_poll(c.ts, &res.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);     /* the slot goes to res */
	ck_assert(tk_task_take_woken(c.ts));
	close_and_park_recv(&c);
	ak_future_cancel(&res.future);                          /* never polled again */
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	ck_assert_uint_eq(ak_mpsc_capacity(c.tx), 1);
	closing_drop(&c);
}
END_TEST

/* Issue 11, item 2 up to the point where reserve_many gives its slot back:
 * capacity 2, one permit out, reserve_many(2) parked holding the other slot,
 * closed, recv parked, the permit dropped (recv re-polls and parks again). */
static void park_reserve_many_half_granted_then_close(struct closing *c,
                                                      struct ak_mpsc_reserve_op *many)
{
	struct ak_mpsc_reserve_op permit = {0};

	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, c->tx), 0);
	ck_assert_int_eq(ak_mpsc_reserve_many_init(many, c->tx, 2), 0);
	ck_assert_int_eq(tk_poll(c->ts, &many->future), AK_PENDING);
	ck_assert_uint_eq(ak_mpsc_capacity(c->tx), 0);          /* it holds 1 of its 2 */
	ck_assert_int_eq(ak_mpsc_rx_close(c->rx), 0);
	ck_assert(tk_task_take_woken(c->ts));
	park_recv(c);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	if (tk_task_take_woken(c->tr))                           /* spurious: parks again */
		ck_assert_int_eq(tk_poll(c->tr, &c->rop.future), AK_PENDING);
}

START_TEST(reserve_many_failing_after_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op many = {0};

	closing_new(&c, 2);
	park_reserve_many_half_granted_then_close(&c, &many);
	ck_assert_int_eq(tk_poll(c.ts, &many.future), AK_EPIPE);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	ck_assert_uint_eq(ak_mpsc_capacity(c.tx), 2);
	closing_drop(&c);
}
END_TEST

START_TEST(reserve_many_cancelled_after_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op many = {0};

	closing_new(&c, 2);
	park_reserve_many_half_granted_then_close(&c, &many);
	ak_future_cancel(&many.future);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	ck_assert_uint_eq(ak_mpsc_capacity(c.tx), 2);
	closing_drop(&c);
}
END_TEST

START_TEST(permit_dropped_after_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op permit = {0};

	closing_new(&c, 1);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, c.tx), 0);
	close_and_park_recv(&c);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

START_TEST(reserve_many_permit_partly_used_then_dropped_after_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op permit = {0};

	closing_new(&c, 3);
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&permit, c.tx, 3), 0);
	close_and_park_recv(&c);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &(int){ 5 }), 0);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), 0);
	ck_assert_int_eq(c.v, 5);
	park_recv(&c);                                           /* 2 slots still out */
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

START_TEST(permit_send_after_close_wakes_the_parked_recv_which_then_sees_the_end)
{
	struct closing c;
	struct ak_mpsc_reserve_op permit = {0};

	closing_new(&c, 1);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, c.tx), 0);
	close_and_park_recv(&c);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &(int){ 8 }), 0);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), 0);
	ck_assert_int_eq(c.v, 8);
	ck_assert_int_eq(ak_mpsc_recv_init(&c.rop, c.rx, &c.v), 0);
	ck_assert_int_eq(tk_poll(c.tr, &c.rop.future), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

/* A send granted a slot (the receiver took a value) and then closed on. */
static void park_send_granted_then_close(struct closing *c, struct ak_mpsc_send_op *op,
                                         const int *value)
{
	ck_assert_int_eq(send_now(c->tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_send_init(op, c->tx, value), 0);
	ck_assert_int_eq(tk_poll(c->ts, &op->future), AK_PENDING);
	ck_assert_int_eq(recv_now(c->rx), 1);                    /* the slot goes to op */
	ck_assert(tk_task_take_woken(c->ts));
	ck_assert_int_eq(ak_mpsc_rx_close(c->rx), 0);
}

START_TEST(cancelled_send_granted_before_close_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_send_op op = {0};
	int value = 2;

	closing_new(&c, 1);
	park_send_granted_then_close(&c, &op, &value);
	park_recv(&c);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

START_TEST(send_granted_before_close_but_polled_after_fails_and_keeps_the_value)
{
	struct closing c;
	struct ak_mpsc_send_op op = {0};
	int value = 2;

	closing_new(&c, 1);
	park_send_granted_then_close(&c, &op, &value);
	park_recv(&c);
	ck_assert_int_eq(tk_poll(c.ts, &op.future), AK_EPIPE);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	ck_assert_uint_eq(ak_mpsc_len(c.rx), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(c.tx), 1);
	closing_drop(&c);
}
END_TEST

/* A reserve granted a slot (the receiver took a value) and then closed on. */
static void park_reserve_granted_then_close(struct closing *c, struct ak_mpsc_reserve_op *res)
{
	ck_assert_int_eq(send_now(c->tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(res, c->tx), 0);
	ck_assert_int_eq(tk_poll(c->ts, &res->future), AK_PENDING);
	ck_assert_int_eq(recv_now(c->rx), 1);                    /* the slot goes to res */
	ck_assert(tk_task_take_woken(c->ts));
	ck_assert_int_eq(ak_mpsc_rx_close(c->rx), 0);
}

/* Issue 11, item 3. */
START_TEST(reserve_granted_before_close_but_polled_after_fails_and_gives_the_slot_back)
{
	struct closing c;
	struct ak_mpsc_reserve_op res = {0};

	closing_new(&c, 1);
	park_reserve_granted_then_close(&c, &res);
	ck_assert_int_eq(tk_poll(c.ts, &res.future), AK_EPIPE);
	ck_assert_uint_eq(ak_mpsc_permit_count(&res), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&res, &(int){ 3 }), AK_EINVAL);
	ck_assert_uint_eq(ak_mpsc_capacity(c.tx), 1);
	/* Closed and empty with nothing out: the end, at once. */
	ck_assert_int_eq(ak_mpsc_try_recv(c.rx, &c.v), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

START_TEST(reserve_granted_before_close_but_polled_after_wakes_the_parked_recv)
{
	struct closing c;
	struct ak_mpsc_reserve_op res = {0};

	closing_new(&c, 1);
	park_reserve_granted_then_close(&c, &res);
	park_recv(&c);
	ck_assert_int_eq(tk_poll(c.ts, &res.future), AK_EPIPE);
	ck_assert_int_eq(tk_poll_woken(c.tr, &c.rop.future), AK_EPIPE);
	closing_drop(&c);
}
END_TEST

START_TEST(cancelled_reserve_after_close_wakes_a_parked_recv_many)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op res = {0};
	struct ak_mpsc_recv_many_op rop = {0};
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int buf[4];
	size_t n = 99;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&res, tx), 0);
	ck_assert_int_eq(tk_poll(ts, &res.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&rop, rx, buf, 4, &n), 0);
	ck_assert_int_eq(tk_poll(tr, &rop.future), 0);           /* takes 1: the slot goes to res */
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&rop, rx, buf, 4, &n), 0);
	ck_assert_int_eq(tk_poll(tr, &rop.future), AK_PENDING);
	ak_future_cancel(&res.future);
	ck_assert_int_eq(tk_poll_woken(tr, &rop.future), AK_EPIPE);
	ck_assert_uint_eq(n, 0);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- drop hooks -------------------------------------------------------------------------- */

struct dropped {
	int n;
	long sum;
};

static void count_drop(void *elem, void *arg)
{
	struct dropped *d = arg;
	d->n++;
	d->sum += *(int *)elem;
}

/* A channel of cap (0: unbounded) whose hook counts into d, with 1..40
 * sent and 1 and 2 received. */
static void hooked_with_38_queued(size_t cap, struct ak_mpsc_hooks *hooks, struct ak_mpsc_tx **tx,
                                  struct ak_mpsc_rx **rx)
{
	if (cap)
		ck_assert_int_eq(ak_mpsc_new(cap, sizeof(int), hooks, tx, rx), 0);
	else
		ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), hooks, tx, rx), 0);
	for (int i = 1; i <= 40; i++)
		ck_assert_int_eq(send_now(*tx, i), 0);
	ck_assert_int_eq(recv_now(*rx), 1);
	ck_assert_int_eq(recv_now(*rx), 2);
}

static void check_drop_hooks(size_t cap)
{
	struct dropped d = { 0, 0 };
	struct ak_mpsc_hooks hooks = { count_drop, NULL, &d };
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};

	hooked_with_38_queued(cap, &hooks, &tx, &rx);
	if (cap)
		ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	ak_mpsc_rx_drop(rx);          /* drops the 38 queued now */
	ck_assert_int_eq(d.n, 38);
	ck_assert_int_eq(d.sum, 820 - 3);
	if (cap) {
		/* A permit sends after the receiver went: dropped with the channel. */
		ck_assert_int_eq(ak_mpsc_permit_send(&permit, &(int){ 1000 }), 0);
		ck_assert_int_eq(d.n, 38);
	}
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(d.n, cap ? 39 : 38);
	ck_assert_int_eq(d.sum, cap ? 1817 : 817);
}

START_TEST(drop_hook_runs_once_per_undelivered_value_bounded)
{
	check_drop_hooks(64);
}
END_TEST

START_TEST(drop_hook_runs_once_per_undelivered_value_unbounded)
{
	check_drop_hooks(0);
}
END_TEST

/* The receiver goes last, after every sender: what is still queued goes
 * to the hook with the channel, once per value. */
static void check_drop_hooks_receiver_last(size_t cap)
{
	struct dropped d = { 0, 0 };
	struct ak_mpsc_hooks hooks = { count_drop, NULL, &d };
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	hooked_with_38_queued(cap, &hooks, &tx, &rx);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(d.n, 0);
	ck_assert_int_eq(recv_now(rx), 3);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(d.n, 37);
	ck_assert_int_eq(d.sum, 820 - 6);
}

START_TEST(drop_hook_runs_once_per_value_left_when_the_receiver_goes_last_bounded)
{
	check_drop_hooks_receiver_last(64);
}
END_TEST

START_TEST(drop_hook_runs_once_per_value_left_when_the_receiver_goes_last_unbounded)
{
	check_drop_hooks_receiver_last(0);
}
END_TEST

/* ---- wakers -------------------------------------------------------------------------------- */

START_TEST(recv_repolled_with_another_waker_wakes_only_the_new_one)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);   /* a's clone dropped */
	ck_assert_int_eq(send_now(tx, 6), 0);
	ck_assert(!tk_task_take_woken(a));
	ck_assert_int_eq(tk_poll_woken(b, &op.future), 0);
	ck_assert_int_eq(v, 6);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

static void *send_seven(void *tx)
{
	int v = 7;
	return (void *)(intptr_t)ak_mpsc_try_send(tx, &v);
}

/* While the process has one thread, the channel's words are written with
 * plain stores instead of RMWs (core/shim.h, ak__alone()): a receiver that
 * registered then is seen by a thread started afterwards, and the send
 * the receiver then sees made its claim with a real RMW. */
START_TEST(recv_parked_while_alone_is_woken_by_a_thread_started_after)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 0;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_thread_run(send_seven, tx), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(send_now(tx, 8), 0);      /* the ring's word, after the thread */
	ck_assert_int_eq(recv_now(rx), 8);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* Issue 11, item 5: a waker already stored is not cloned again. */
START_TEST(recv_repolled_with_the_same_waker_clones_it_once)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 1);
	ck_assert_int_eq(send_now(tx, 6), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_int_eq(v, 6);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* The stored clone was consumed by a wake: the next park needs a new one. */
/* A select re-made every round: the losing receive is cancelled and a new
 * one polled by the same task finds its waker still stored (no clone). */
START_TEST(recv_cancelled_then_remade_by_the_same_task_clones_no_waker)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
		ak_future_cancel(&op.future);
	}
	ck_assert_int_eq(atomic_load(&t->cw->clones), 1);
	ck_assert_int_eq(atomic_load(&t->cw->live), 1);        /* kept by the receiver */
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);        /* the drop gave it back */
	ak_mpsc_tx_drop(tx);
}
END_TEST

/* The kept waker of a finished receive: a later send wakes that task once
 * (spuriously), another task's receive replaces it. */
START_TEST(recv_waker_kept_after_completion_is_woken_once_or_replaced)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	int v;

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert(tk_task_take_woken(a));                      /* spurious, once */
	ck_assert_int_eq(send_now(tx, 2), 0);
	ck_assert(!tk_task_take_woken(a));
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ak_future_cancel(&op.future);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);  /* replaces a's */
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);
	ck_assert_int_eq(send_now(tx, 3), 0);
	ck_assert(!tk_task_take_woken(a));
	ck_assert_int_eq(tk_poll_woken(b, &op.future), 0);
	ck_assert_int_eq(v, 3);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(recv_repolled_after_a_wake_registers_its_waker_again)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_many_op op = {0};
	struct tk_task *t = tk_task_new();
	int buf[2];
	size_t n;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 2, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_tx_is_closed(tx), 0);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(recv_now(rx), 1);                       /* behind its back */
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	/* one thread (the native runner): the clone is kept across the wake
	 * (woken by reference) and the repoll re-arms it; with threads (TSan's
	 * runtime) the wake took it and the repoll made another */
	ck_assert_int_eq(atomic_load(&t->cw->clones), ak__one_thread() ? 1 : 2);
	ck_assert_int_eq(send_now(tx, 2), 0);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(buf[0], 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* While the process has one thread, the receiver's slot keeps its clone
 * across a wake (woken by reference) and a park by the same waker re-arms
 * it: one clone for many wakes, dropped by ak_mpsc_rx_drop(). */
START_TEST(recv_parked_alone_keeps_one_clone_across_wakes_until_the_receiver_drops)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct tk_task *t = tk_task_new();
	int v;

	int alone = ak__one_thread();   /* 0 under TSan: a clone a wake */
	new_bounded(2, &tx, &rx);
	for (int i = 0; i < 3; i++) {
		struct ak_mpsc_recv_op op = {0};
		ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
		ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
		ck_assert_int_eq(send_now(tx, i), 0);
		ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
		ck_assert_int_eq(v, i);
	}
	ck_assert_int_eq(atomic_load(&t->cw->clones), alone ? 1 : 3);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), alone ? 3 : 0);
	ck_assert_int_eq(atomic_load(&t->cw->live), alone ? 1 : 0);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);   /* before the sender goes */
	ak_mpsc_tx_drop(tx);
}
END_TEST

START_TEST(recv_woken_alone_then_parked_by_another_waker_drops_the_kept_clone)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(a, &op.future), AK_PENDING);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert(tk_task_take_woken(a));
	ck_assert_int_eq(recv_now(rx), 1);                       /* behind its back */
	ck_assert_int_eq(tk_poll(b, &op.future), AK_PENDING);
	ck_assert_int_eq(atomic_load(&a->cw->live), 0);
	ck_assert_int_eq(send_now(tx, 2), 0);
	ck_assert(!tk_task_take_woken(a));
	ck_assert_int_eq(tk_poll_woken(b, &op.future), 0);
	ck_assert_int_eq(v, 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(recv_rearmed_alone_is_woken_by_the_last_sender_drop)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert(tk_task_take_woken(t));
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);    /* re-armed */
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A wake by reference made alone may start a thread that drops the
 * receiver before the wake returns: the clone it borrows stays alive
 * (dropped with the channel). */
static struct ak_mpsc_rx *byref_rx;
static atomic_long byref_live_after_drop;

static void *drop_byref_rx(void *arg)
{
	(void)arg;
	ak_mpsc_rx_drop(byref_rx);
	return NULL;
}

static void drop_rx_in_a_thread(struct tk_counting_waker *cw)
{
	pthread_t th;
	cw->hook = NULL;
	ck_assert_int_eq(pthread_create(&th, NULL, drop_byref_rx, NULL), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	atomic_store(&byref_live_after_drop, atomic_load(&cw->live));
}

START_TEST(recv_woken_alone_by_a_wake_that_drops_the_receiver_in_a_thread_keeps_its_clone)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	int alone = ak__one_thread();   /* 0 under TSan: woken by value */
	new_bounded(2, &tx, &byref_rx);
	atomic_store(&byref_live_after_drop, -1);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, byref_rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	t->cw->hook = drop_rx_in_a_thread;
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(atomic_load(&t->cw->wakes_by_ref), alone ? 1 : 0);
	ck_assert_int_eq(atomic_load(&byref_live_after_drop), 1);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);   /* the channel goes */
	ck_assert_int_eq(atomic_load(&t->cw->live), 0);
}
END_TEST

static struct ak_mpsc_tx *reenter_tx;
static atomic_int reenter_rc;

static void send_from_wake(struct tk_counting_waker *cw)
{
	(void)cw;
	atomic_store(&reenter_rc, ak_mpsc_try_send(reenter_tx, &(int){ 2 }));
}

START_TEST(a_wake_that_sends_on_the_same_channel_does_not_deadlock)
{
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(4, &reenter_tx, &rx);
	atomic_store(&reenter_rc, 99);
	t->cw->hook = send_from_wake;
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(send_now(reenter_tx, 1), 0);   /* wakes: the hook sends */
	ck_assert_int_eq(atomic_load(&reenter_rc), 0);
	t->cw->hook = NULL;
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(reenter_tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- lifetimes under parked operations ------------------------------------------------------- */

START_TEST(dropping_every_handle_under_a_parked_recv_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_unbounded(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_mpsc_rx_drop(rx);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_send_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 3;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_mpsc_tx_drop(tx);
	ck_assert(tk_task_take_woken(t));        /* the senders closed it */
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_reserve_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op res = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&res, tx), 0);
	ck_assert_int_eq(tk_poll(t, &res.future), AK_PENDING);
	ak_mpsc_tx_drop(tx);
	ck_assert(tk_task_take_woken(t));        /* the senders closed it */
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(tk_poll(t, &res.future), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_permit_drop(&res), AK_EINVAL);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_closed_op_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_closed_op op = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_mpsc_tx_drop(tx);
	ck_assert(!tk_task_take_woken(t));
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_bounded_recv_many_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_many_op op = {0};
	struct tk_task *t = tk_task_new();
	int buf[2];
	size_t n = 99;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&op, rx, buf, 2, &n), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ak_mpsc_rx_drop(rx);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), AK_EPIPE);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(dropping_every_handle_under_a_granted_send_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int value = 3;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &value), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_PENDING);
	ck_assert_int_eq(recv_now(rx), 1);       /* the slot goes to op */
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
}
END_TEST

START_TEST(dropping_every_handle_under_a_recv_out_of_budget_is_safe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);   /* pending too */
	ck_assert(tk_task_take_woken(t));
	ak_mpsc_rx_drop(rx);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EPIPE);
}
END_TEST

/* ---- threads ------------------------------------------------------------------------------------ */

#define NPROD 4
#define PER_PROD 2000

struct producer {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	int id;
	int next;
	int sending;
	int value;
	struct ak_mpsc_send_op op;
};

static int producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct producer *p = (struct producer *)f;
	while (p->next < PER_PROD) {
		if (!p->sending) {
			p->value = p->id * PER_PROD + p->next;
			ak_mpsc_send_init(&p->op, p->tx, &p->value);
			p->sending = 1;
		}
		int rc = ak_future_poll(&p->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		if (rc != 0)
			return rc;
		p->sending = 0;
		p->next++;
	}
	ak_mpsc_tx_drop(p->tx);
	return 0;
}

static void producer_cancel(struct ak_future *f)
{
	struct producer *p = (struct producer *)f;
	ak_future_cancel(&p->op.future);
	ak_mpsc_tx_drop(p->tx);
}

static const struct ak_future_vtable producer_vtable = { producer_poll, producer_cancel };

/* What a consumer of every producer's values saw. */
struct consumed {
	pthread_t th;
	struct ak_mpsc_rx *rx;
	long count;
	long long sum;
	int order_ok;
	int rc;                 /* the receive that ended it: AK_EPIPE */
};

/* Receives until closed; records per-producer order, count and sum.
 * Asserts nothing: it also runs on a thread of the test's. */
static void consume_all(struct consumed *c)
{
	int last[NPROD];
	int v, rc;
	for (int i = 0; i < NPROD; i++)
		last[i] = -1;
	c->count = 0;
	c->sum = 0;
	c->order_ok = 1;
	while ((rc = ak_mpsc_recv_blocking(c->rx, &v, ak_deadline_in(5000 * MS))) == 0) {
		int id = v / PER_PROD, seq = v % PER_PROD;
		if (id < 0 || id >= NPROD || seq != last[id] + 1)
			c->order_ok = 0;
		else
			last[id] = seq;
		c->count++;
		c->sum += v;
	}
	c->rc = rc;
}

static void *consumer_main(void *arg)
{
	consume_all(arg);
	return NULL;
}

static const long long expected_sum =
	(long long)NPROD * PER_PROD * (NPROD * PER_PROD - 1) / 2;

static void assert_consumed_all(const struct consumed *c)
{
	ck_assert_int_eq(c->rc, AK_EPIPE);
	ck_assert_int_eq(c->count, NPROD * PER_PROD);
	ck_assert(c->sum == expected_sum);
	ck_assert(c->order_ok);
}

START_TEST(producer_tasks_deliver_every_value_in_order_to_a_thread)
{
	struct ak_mpsc_tx *tx;
	static struct producer prods[NPROD];
	struct consumed c;
	struct tk_exec *x = tk_exec_new("pool", 2);

	memset(&c, 0, sizeof c);
	new_bounded(16, &tx, &c.rx);
	for (int i = 0; i < NPROD; i++) {
		memset(&prods[i], 0, sizeof(prods[i]));
		ck_assert_int_eq(ak_future_init(&prods[i].future, &producer_vtable), 0);
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &prods[i].tx), 0);
		prods[i].id = i;
		tk_exec_spawn(x, &prods[i].future);
	}
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(pthread_create(&c.th, NULL, consumer_main, &c), 0);
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(5000 * MS)), 0);
	pthread_join(c.th, NULL);
	for (int i = 0; i < NPROD; i++)
		ck_assert_int_eq(tk_exec_result(x, i), 0);
	tk_exec_free(x);
	assert_consumed_all(&c);
	ak_mpsc_rx_drop(c.rx);
}
END_TEST

struct thread_prod {
	pthread_t th;
	struct ak_mpsc_tx *tx;
	int id;
	int failures;
};

static void *thread_producer(void *arg)
{
	struct thread_prod *p = arg;
	for (int i = 0; i < PER_PROD; i++) {
		int v = p->id * PER_PROD + i;
		if (ak_mpsc_send_blocking(p->tx, &v, ak_deadline_in(5000 * MS)) != 0)
			p->failures++;
	}
	ak_mpsc_tx_drop(p->tx);
	return NULL;
}

static void run_thread_producers(struct ak_mpsc_tx *tx, struct ak_mpsc_rx *rx)
{
	struct thread_prod prods[NPROD];
	struct consumed c;

	for (int i = 0; i < NPROD; i++) {
		memset(&prods[i], 0, sizeof(prods[i]));
		prods[i].id = i;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &prods[i].tx), 0);
		pthread_create(&prods[i].th, NULL, thread_producer, &prods[i]);
	}
	ak_mpsc_tx_drop(tx);
	memset(&c, 0, sizeof c);
	c.rx = rx;
	consume_all(&c);
	for (int i = 0; i < NPROD; i++) {
		pthread_join(prods[i].th, NULL);
		ck_assert_int_eq(prods[i].failures, 0);
	}
	assert_consumed_all(&c);
	ak_mpsc_rx_drop(rx);
}

START_TEST(producers_on_blocked_threads_deliver_every_value_bounded)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	new_bounded(2, &tx, &rx);
	run_thread_producers(tx, rx);
}
END_TEST

START_TEST(producers_on_blocked_threads_deliver_every_value_unbounded)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	new_unbounded(&tx, &rx);
	run_thread_producers(tx, rx);
}
END_TEST

START_TEST(blocking_send_times_out_and_keeps_the_value)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 2;

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_send_blocking(tx, &v, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A blocking call on a thread of the test's: its result once joined. */
struct blocked_call {
	pthread_t th;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v;
	int rc;
};

static void *blocked_send_main(void *arg)
{
	struct blocked_call *b = arg;
	b->rc = ak_mpsc_send_blocking(b->tx, &b->v, ak_deadline_in(5000 * MS));
	return NULL;
}

static void *blocked_recv_main(void *arg)
{
	struct blocked_call *b = arg;
	b->rc = ak_mpsc_recv_blocking(b->rx, &b->v, ak_deadline_in(5000 * MS));
	return NULL;
}

/* The blocking forms wait a bounded while (spins, then yields) before
 * they park: a partner that comes after that wait finds the call parked
 * (a sender in the gate's queue, a receiver's waker registered) and its
 * send, receive or close wakes it. */
static int parked_ops_now(void)
{
	return tk_counters().parked_ops;
}

static int waker_clones_now(void)
{
	return tk_counters().waker_clones;
}

START_TEST(blocking_send_past_its_wait_parks_and_a_receive_wakes_it)
{
	struct blocked_call b = { .v = 2 };
	new_bounded(1, &b.tx, &b.rx);
	ck_assert_int_eq(send_now(b.tx, 1), 0);
	ck_assert_int_eq(pthread_create(&b.th, NULL, blocked_send_main, &b), 0);
	TK_WAIT_UNTIL(parked_ops_now() == 1);
	ck_assert_int_eq(recv_now(b.rx), 1);
	pthread_join(b.th, NULL);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(recv_now(b.rx), 2);
	ak_mpsc_tx_drop(b.tx);
	ak_mpsc_rx_drop(b.rx);
}
END_TEST

START_TEST(blocking_recv_past_its_wait_parks_and_a_send_wakes_it)
{
	struct blocked_call b = { .v = 0 };
	new_bounded(4, &b.tx, &b.rx);
	ck_assert_int_eq(pthread_create(&b.th, NULL, blocked_recv_main, &b), 0);
	TK_WAIT_UNTIL(waker_clones_now() == 1);
	ck_assert_int_eq(send_now(b.tx, 7), 0);
	pthread_join(b.th, NULL);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(b.v, 7);
	ak_mpsc_tx_drop(b.tx);
	ak_mpsc_rx_drop(b.rx);
}
END_TEST

START_TEST(blocking_calls_parked_past_their_wait_are_failed_by_the_close)
{
	struct blocked_call s = { .v = 2 }, r = { .v = 0 };
	struct ak_mpsc_tx *rtx;
	new_bounded(1, &s.tx, &s.rx);
	new_bounded(1, &rtx, &r.rx);
	ck_assert_int_eq(send_now(s.tx, 1), 0);
	ck_assert_int_eq(pthread_create(&s.th, NULL, blocked_send_main, &s), 0);
	ck_assert_int_eq(pthread_create(&r.th, NULL, blocked_recv_main, &r), 0);
	/* the parked send holds a clone too */
	TK_WAIT_UNTIL(parked_ops_now() == 1 && waker_clones_now() == 2);
	ak_mpsc_rx_drop(s.rx);          /* closes: the parked send fails */
	ak_mpsc_tx_drop(rtx);           /* the last sender: the parked receive ends */
	pthread_join(s.th, NULL);
	pthread_join(r.th, NULL);
	ck_assert_int_eq(s.rc, AK_EPIPE);
	ck_assert_int_eq(s.v, 2);
	ck_assert_int_eq(r.rc, AK_EPIPE);
	ak_mpsc_tx_drop(s.tx);
	ak_mpsc_rx_drop(r.rx);
}
END_TEST

/* A future whose poll makes a blocking channel call. */
struct blocking_in_poll {
	struct ak_future future;
	struct ak_mpsc_rx *rx;
	int rc;
};

static int blocking_in_poll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct blocking_in_poll *b = (struct blocking_in_poll *)f;
	int v;
	(void)cx;
	b->rc = ak_mpsc_recv_blocking(b->rx, &v, AK_DEADLINE_NEVER);
	return 0;
}

static void blocking_in_poll_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable blocking_in_poll_vtable = { blocking_in_poll_poll,
	                                                         blocking_in_poll_cancel };

START_TEST(blocking_recv_inside_a_poll_reports_edeadlk)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct blocking_in_poll b;
	struct tk_task *t = tk_task_new();

	new_bounded(1, &tx, &rx);
	memset(&b, 0, sizeof(b));
	b.rx = rx;
	ck_assert_int_eq(ak_future_init(&b.future, &blocking_in_poll_vtable), 0);
	ck_assert_int_eq(tk_poll(t, &b.future), 0);
	ck_assert_int_eq(b.rc, AK_EDEADLK);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- releasing what is not held (ak_mpsc(3): AK_EINVAL, nothing changed) ------------------------ */

START_TEST(permit_drop_of_a_dropped_used_or_never_reserved_permit_returns_einval)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op dropped = {0}, used = {0}, zeroed = {0}, empty = {0}, failed = {0};

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_reserve(&dropped, tx), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&dropped), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&dropped), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&used, tx, 2), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&used, &(int){ 1 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&used, &(int){ 2 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&used), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_permit_drop(&zeroed), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_permit_drop(NULL), AK_EINVAL);
	/* A reserve of 0 slots holds nothing: it is used up from the start. */
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&empty, tx, 0), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&empty), AK_EINVAL);
	/* Nothing was given back twice. */
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 2);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_reserve(&failed, tx), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_permit_drop(&failed), AK_EINVAL);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &(int){ 0 }), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(permit_drop_of_a_pending_reserve_returns_einval_and_leaves_it_waiting)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op res = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(1, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_reserve_init(&res, tx), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&res), AK_EINVAL);  /* bound, not polled */
	ck_assert_int_eq(tk_poll(t, &res.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_drop(&res), AK_EINVAL);  /* parked */
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(tk_poll_woken(t, &res.future), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&res), 0);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(permit_send_through_a_dropped_used_or_never_reserved_permit_returns_einval)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op dropped = {0}, used = {0}, zeroed = {0};

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_reserve(&dropped, tx), 0);
	ck_assert_int_eq(ak_mpsc_permit_drop(&dropped), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&dropped, &(int){ 1 }), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_try_reserve(&used, tx), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&used, &(int){ 2 }), 0);
	ck_assert_int_eq(ak_mpsc_permit_send(&used, &(int){ 3 }), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_permit_send(&zeroed, &(int){ 4 }), AK_EINVAL);
	ck_assert_uint_eq(ak_mpsc_permit_count(&dropped), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&used), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&zeroed), 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(handle_drops_ignore_null)
{
	ak_mpsc_tx_drop(NULL);
	ak_mpsc_rx_drop(NULL);
	ak_mpsc_weak_drop(NULL);
	ck_assert_int_eq(ak_mpsc_weak_clone(NULL, &(struct ak_mpsc_weak *){ NULL }), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_rx_close(NULL), AK_EINVAL);
}
END_TEST

START_TEST(rx_close_twice_is_harmless)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &(int){ 0 }), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------------------ */

START_TEST(bad_inputs_return_einval_and_change_nothing)
{
	struct ak_mpsc_tx *tx = NULL, *out;
	struct ak_mpsc_rx *rx = NULL;
	struct ak_mpsc_recv_op op = {0}, zeroed = {0};
	struct ak_mpsc_send_op sop = {0};
	struct ak_mpsc_weak *weak;
	struct tk_task *t = tk_task_new();
	int v = 1;

	/* Capacity 0 is the rendezvous (tests/check_mpsc_rendezvous.c): its
	 * bad inputs are those of any capacity. */
	ck_assert_int_eq(ak_mpsc_new(0, 4, NULL, &tx, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_new(0, ((size_t)1 << 40) + 1, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_new(SIZE_MAX / 2, SIZE_MAX / 2, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_new((size_t)1 << 39, (size_t)1 << 39, NULL, &tx, &rx), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_new(4, 4, NULL, NULL, &rx), AK_EINVAL);
	ck_assert(tx == NULL && rx == NULL);
	ck_assert_int_eq(ak_mpsc_try_send(NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_try_recv(NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_send_init(&sop, NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_tx_clone(NULL, &out), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_tx_downgrade(NULL, &weak), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_weak_upgrade(NULL, &out), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_rx_close(NULL), AK_EINVAL);
	ak_mpsc_tx_drop(NULL);
	ak_mpsc_rx_drop(NULL);

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), AK_EINVAL);
	memset(&zeroed, 0, sizeof(zeroed));
	ck_assert_int_eq(tk_poll(t, &zeroed.future), AK_EINVAL);
	ck_assert_int_eq(send_now(tx, 4), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), 0);
	ck_assert_int_eq(send_now(tx, 5), 0);
	ck_assert_int_eq(tk_poll(t, &op.future), AK_EINVAL);   /* completed */
	ck_assert_int_eq(v, 4);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(ak_mpsc_permit_send(NULL, &v), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_reserve_init(NULL, tx), AK_EINVAL);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);

	new_unbounded(&tx, &rx);
	struct ak_mpsc_reserve_op rop = {0};
	ck_assert_int_eq(ak_mpsc_reserve_init(&rop, tx), AK_EINVAL);   /* no capacity */
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(op_sizes_are_reported)
{
	ck_assert_uint_eq(ak_op_size(AK_OP_MPSC_SEND), sizeof(struct ak_mpsc_send_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_MPSC_RESERVE), sizeof(struct ak_mpsc_reserve_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_MPSC_RECV), sizeof(struct ak_mpsc_recv_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_MPSC_RECV_MANY), sizeof(struct ak_mpsc_recv_many_op));
	ck_assert_uint_eq(ak_op_size(AK_OP_MPSC_CLOSED), sizeof(struct ak_mpsc_closed_op));
}
END_TEST

START_TEST(zero_sized_elements_are_signals)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	ck_assert_int_eq(ak_mpsc_new(2, 0, NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, NULL), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, NULL), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, NULL), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, NULL), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(recv_spends_budget_and_yields_when_it_is_spent)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op op = {0};
	struct tk_task *t = tk_task_new();
	int v;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&op, rx, &v), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(t));
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 1), 0);
	ck_assert_int_eq(v, 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* closed() spends budget as every operation does (core/until.c, shared
 * with watch's and broadcast's): with the budget spent it yields even on a
 * closed channel, and the next poll completes. */
START_TEST(closed_with_a_spent_budget_yields_and_then_completes)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_closed_op op = {0};
	struct tk_task *t = tk_task_new();

	new_bounded(2, &tx, &rx);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(ak_mpsc_closed_init(&op, tx), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert_int_eq(tk_poll_woken(t, &op.future), 0);
	ak_mpsc_tx_drop(tx);
}
END_TEST

/* ak_mpsc(3): "Send, reserve and receive spend one unit of the cooperative
 * budget when they complete".  The unbounded send never waits, and once
 * spent no budget: a task looping on it never gave its executor back. */
START_TEST(unbounded_send_spends_budget_and_yields_when_it_is_spent)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct tk_task *t = tk_task_new();
	int v = 7;

	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(int), NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 0), AK_PENDING);
	ck_assert(tk_task_take_woken(t));
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(tk_poll_budget(t, &op.future, 1), 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ak_mpsc(3): a bounded send spends one unit of the budget when it sends,
 * the channel's first send too (the ring made then), and none when it
 * finds no room and waits. */
static int32_t bounded_send_budget_left(struct tk_task *t, struct ak_mpsc_tx *tx, int v, int *rc)
{
	struct ak_mpsc_send_op op = {0};
	struct ak_context cx;

	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(ak_context_init(&cx, tk_counting_waker(t->cw), &t->slot), 0);
	cx.budget = 5;
	*rc = ak_context_done(&cx, ak_future_poll(&op.future, &cx));
	if (*rc == AK_PENDING)
		ak_future_cancel(&op.future);
	return cx.budget;
}

START_TEST(bounded_send_spends_one_unit_of_budget_when_it_sends)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct tk_task *t = tk_task_new();
	int rc;

	new_bounded(2, &tx, &rx);
	ck_assert_int_eq(bounded_send_budget_left(t, tx, 1, &rc), 4);   /* the first: the ring made */
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(bounded_send_budget_left(t, tx, 2, &rc), 4);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(bounded_send_budget_left(t, tx, 3, &rc), 5);   /* full: it waits */
	ck_assert_int_eq(rc, AK_PENDING);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A send operation that finds room on its first poll (the inline try,
 * ak__ring_put()) wakes the receiver parked on the empty ring. */
START_TEST(bounded_send_op_with_room_wakes_the_parked_receiver)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	struct ak_mpsc_recv_op rop = {0};
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 7, out = -1;

	new_bounded(4, &tx, &rx);
	ck_assert_int_eq(send_now(tx, 1), 0);   /* the ring made */
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(ak_mpsc_recv_init(&rop, rx, &out), 0);
	ck_assert_int_eq(tk_poll(tr, &rop.future), AK_PENDING);
	ck_assert(!tk_task_take_woken(tr));
	ck_assert_int_eq(ak_mpsc_send_init(&op, tx, &v), 0);
	ck_assert_int_eq(tk_poll(ts, &op.future), 0);
	ck_assert(tk_task_take_woken(tr));
	ck_assert_int_eq(tk_poll(tr, &rop.future), 0);
	ck_assert_int_eq(out, 7);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- memory ------------------------------------------------------------------------------------------ */

START_TEST(bounded_channel_allocates_nothing_per_message_after_the_first)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_debug_counts before, after;

	new_bounded(8, &tx, &rx);
	ck_assert_int_eq(send_now(tx, -1), 0);    /* makes the ring */
	ck_assert_int_eq(recv_now(rx), -1);
	ak_debug_counters(&before);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(send_now(tx, i), 0);
		ck_assert_int_eq(recv_now(rx), i);
	}
	ak_debug_counters(&after);
	ck_assert_int_eq(after.allocations, before.allocations);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* Bursts of four blocks' values, each sent then received, allocate
 * nothing once the first bursts made the blocks: the receiver keeps up to
 * four blocks it finished for the senders' next ones (a task's budget of
 * sends fills four). */
START_TEST(unbounded_bursts_of_four_blocks_reuse_the_blocks)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_debug_counts before, after;
	int v = 0, want = 0;

	new_unbounded(&tx, &rx);
	for (int burst = 0; burst < 12; burst++) {
		if (burst == 2)
			ak_debug_counters(&before);
		for (int i = 0; i < 128; i++)
			ck_assert_int_eq(send_now(tx, v++), 0);
		for (int i = 0; i < 128; i++)
			ck_assert_int_eq(recv_now(rx), want++);
	}
	ak_debug_counters(&after);
	ck_assert_int_eq(after.allocations, before.allocations);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(unbounded_channel_returns_memory_after_a_burst)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_debug_counts before, peak, after;

	new_unbounded(&tx, &rx);
	ak_debug_counters(&before);
	for (int i = 0; i < 3200; i++)       /* 100 blocks of 32 */
		ck_assert_int_eq(send_now(tx, i), 0);
	ak_debug_counters(&peak);
	ck_assert_int_ge(peak.live_objects - before.live_objects, 99);
	for (int i = 0; i < 3200; i++)
		ck_assert_int_eq(recv_now(rx), i);
	ak_debug_counters(&after);
	/* The block in use and four spares at most are kept (the first
	 * block went); the rest went back. */
	ck_assert_int_le(after.live_objects - before.live_objects, 4);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A send that cannot link the next block (AK_ENOMEM) has claimed
 * nothing: the block is linked before the claim (chan/mpsc_list.c), so
 * the value is not counted (len, and the close still finishes the
 * channel), no slot is left unwritten for the receiver to wait on, and
 * the receiver still returns the blocks it finishes. */
START_TEST(unbounded_send_failing_for_memory_counts_nothing_and_blocks_still_go_back)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_debug_counts before, after;
	int v = 32, out;

	new_unbounded(&tx, &rx);
	ak_debug_counters(&before);
	for (int i = 0; i < 32; i++)         /* the first block, full */
		ck_assert_int_eq(send_now(tx, i), 0);
	ak__alloc_fail_after(1);             /* the next block's allocation fails */
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_ENOMEM);
	ak__alloc_fail_after(0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 32);
	for (int i = 32; i < 3200; i++)
		ck_assert_int_eq(send_now(tx, i), 0);
	for (int i = 0; i < 3200; i++)
		ck_assert_int_eq(recv_now(rx), i);
	ak_debug_counters(&after);
	/* As after any burst: the block in use and four spares at most. */
	ck_assert_int_le(after.live_objects - before.live_objects, 4);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &out), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* An allocator that counts the bytes it has out (issue 14: the unbounded
 * channel's peak memory against its queued values' bytes). */
static _Atomic size_t bytes_out;

static void *bytes_alloc(size_t size, void *arg)
{
	(void)arg;
	max_align_t *p = malloc(sizeof(max_align_t) + size);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof size);
	atomic_fetch_add(&bytes_out, size);
	return p + 1;
}

static void bytes_free(void *q, void *arg)
{
	(void)arg;
	max_align_t *p = (max_align_t *)q - 1;
	size_t size;
	memcpy(&size, p, sizeof size);
	atomic_fetch_sub(&bytes_out, size);
	free(p);
}

START_TEST(unbounded_channel_holds_queued_values_in_at_most_twice_their_bytes)
{
	static const struct ak_allocator counting = { bytes_alloc, bytes_free, NULL };
	static const size_t sizes[] = { 2, 4, 8, 12, 16, 40 };
	enum { N = 32000 };
	static unsigned char value[64], out[64];

	ck_assert_int_eq(ak_set_allocator(&counting), 0);
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		struct ak_mpsc_tx *tx;
		struct ak_mpsc_rx *rx;
		size_t e = sizes[k];

		ck_assert_int_eq(ak_mpsc_unbounded_new(e, NULL, &tx, &rx), 0);
		size_t empty = atomic_load(&bytes_out);
		for (int i = 0; i < N; i++) {
			for (size_t j = 0; j < e; j++)
				value[j] = (unsigned char)(i + (int)j);
			ck_assert_int_eq(ak_mpsc_try_send(tx, value), 0);
		}
		size_t held = atomic_load(&bytes_out) - empty;
		ck_assert_uint_le(held, 2 * (size_t)N * e);
		for (int i = 0; i < N; i++) {
			ck_assert_int_eq(ak_mpsc_try_recv(rx, out), 0);
			for (size_t j = 0; j < e; j++)
				value[j] = (unsigned char)(i + (int)j);
			ck_assert_int_eq(memcmp(out, value, e), 0);
		}
		ak_mpsc_tx_drop(tx);
		ak_mpsc_rx_drop(rx);
		ck_assert_uint_eq(atomic_load(&bytes_out), 0);
	}
	ck_assert_int_eq(ak_set_allocator(NULL), 0);
}
END_TEST

/* ak_mpsc(3): an idle bounded channel is one block of at most 160 bytes,
 * whatever its capacity and element size. */
START_TEST(idle_bounded_channel_takes_at_most_160_bytes)
{
	static const struct ak_allocator counting = { bytes_alloc, bytes_free, NULL };
	static const size_t caps[] = { 1, 16, 1024, AK_MPSC_MAX_CAPACITY };
	static const size_t sizes[] = { 0, 8, 64, 4096 };

	ck_assert_int_eq(ak_set_allocator(&counting), 0);
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			struct ak_mpsc_tx *tx;
			struct ak_mpsc_rx *rx;
			ck_assert_int_eq(ak_mpsc_new(caps[i], sizes[k], NULL, &tx, &rx), 0);
			ck_assert_uint_le(atomic_load(&bytes_out), 160);
			ak_mpsc_tx_drop(tx);
			ak_mpsc_rx_drop(rx);
			ck_assert_uint_eq(atomic_load(&bytes_out), 0);
		}
	}
	ck_assert_int_eq(ak_set_allocator(NULL), 0);
}
END_TEST

/* ak_mpsc(3): the first send allocates the ring: at most 128 bytes and,
 * per slot (the capacity rounded up to a power of two, at least 2), 8
 * bytes and the element's rounded up to a multiple of 8. */
START_TEST(bounded_channel_ring_comes_with_the_first_send_in_its_documented_bytes)
{
	static const struct ak_allocator counting = { bytes_alloc, bytes_free, NULL };
	static const size_t caps[] = { 1, 3, 16, 100 }, slots[] = { 2, 4, 16, 128 };
	static const size_t sizes[] = { 0, 1, 8, 12 };
	static unsigned char value[16];

	ck_assert_int_eq(ak_set_allocator(&counting), 0);
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			struct ak_mpsc_tx *tx;
			struct ak_mpsc_rx *rx;
			ck_assert_int_eq(ak_mpsc_new(caps[i], sizes[k], NULL, &tx, &rx), 0);
			size_t idle = atomic_load(&bytes_out);
			ck_assert_int_eq(ak_mpsc_try_send(tx, value), 0);
			size_t ring = atomic_load(&bytes_out) - idle;
			ck_assert_uint_gt(ring, 0);
			ck_assert_uint_le(ring, 128 + slots[i] * (8 + (sizes[k] + 7) / 8 * 8));
			ck_assert_int_eq(ak_mpsc_try_send(tx, value), caps[i] > 1 ? 0 : AK_EAGAIN);
			ck_assert_uint_eq(atomic_load(&bytes_out) - idle, ring);
			ak_mpsc_tx_drop(tx);
			ak_mpsc_rx_drop(rx);
			ck_assert_uint_eq(atomic_load(&bytes_out), 0);
		}
	}
	ck_assert_int_eq(ak_set_allocator(NULL), 0);
}
END_TEST

START_TEST(bounded_channel_ring_comes_with_the_first_reserve_too)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_debug_counts before, after;
	struct ak_mpsc_reserve_op permit;

	new_bounded(2, &tx, &rx);
	ak_debug_counters(&before);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	ak_debug_counters(&after);
	ck_assert_int_eq(after.allocations, before.allocations + 1);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 1);
	int v = 7;
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), 0);
	ck_assert_int_eq(recv_now(rx), 7);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- receiver queries (tokio's Receiver::is_empty, sender_*_count) --------------- */

static void check_rx_is_empty(struct ak_mpsc_tx *tx, struct ak_mpsc_rx *rx)
{
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 1);
	ck_assert_int_eq(send_now(tx, 1), 0);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 0);
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 1);
	ck_assert_int_eq(send_now(tx, 2), 0);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 0);   /* closed, not drained */
	ck_assert_int_eq(recv_now(rx), 2);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 1);
	ak_mpsc_rx_drop(rx);
}

START_TEST(rx_is_empty_until_a_send_and_again_once_received)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	new_bounded(4, &tx, &rx);
	check_rx_is_empty(tx, rx);
	new_unbounded(&tx, &rx);
	check_rx_is_empty(tx, rx);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(NULL), AK_EINVAL);
}
END_TEST

START_TEST(sender_counts_follow_clones_downgrades_permits_and_drops)
{
	struct ak_mpsc_tx *tx, *tx2, *up;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_weak *weak, *weak2;
	struct ak_mpsc_reserve_op permit = {0};

	new_bounded(4, &tx, &rx);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 1);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(rx), 0);
	ck_assert_int_eq(ak_mpsc_tx_clone(tx, &tx2), 0);
	ck_assert_int_eq(ak_mpsc_tx_downgrade(tx, &weak), 0);
	ck_assert_int_eq(ak_mpsc_weak_clone(weak, &weak2), 0);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 2);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(rx), 2);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx2), 0);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 3);   /* a permit is one */
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_int_eq(ak_mpsc_weak_upgrade(weak2, &up), 0);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 3);
	ak_mpsc_tx_drop(up);
	ak_mpsc_tx_drop(tx2);
	ak_mpsc_weak_drop(weak2);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 1);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(rx), 1);
	ak_mpsc_tx_drop(tx);
	/* only a weak sender left: closed, counts 0 and 1 */
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 0);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(rx), 1);
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 1);
	ck_assert_int_eq(ak_mpsc_weak_upgrade(weak, &up), AK_EPIPE);
	ak_mpsc_weak_drop(weak);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(rx), 0);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(NULL), 0);
	ck_assert_uint_eq(ak_mpsc_sender_weak_count(NULL), 0);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- tokio's send_timeout: ak_timeout(3) around a send --------------------------- */

/* Blocks on timeout(send(value)) with the given deadline. */
static int send_timeout(struct ak_mpsc_tx *tx, const int *value, int64_t deadline)
{
	struct ak_mpsc_send_op send = {0};
	struct ak_timeout_op timeout = {0};

	ck_assert_int_eq(ak_mpsc_send_init(&send, tx, value), 0);
	ck_assert_int_eq(ak_timeout_init(&timeout, &send.future, deadline), 0);
	return ak_block_on(&timeout.future, AK_DEADLINE_NEVER);
}

START_TEST(send_timeout_on_a_full_channel_times_out_and_the_value_stays_with_the_caller)
{
	struct dropped d = { 0, 0 };
	struct ak_mpsc_hooks hooks = { count_drop, NULL, &d };
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int first = 1, second = 2;

	ck_assert_int_eq(ak_mpsc_new(1, sizeof(int), &hooks, &tx, &rx), 0);
	ck_assert_int_eq(send_timeout(tx, &first, ak_deadline_in(20 * MS)), 0);
	ck_assert_int_eq(send_timeout(tx, &second, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	ck_assert_int_eq(second, 2);                        /* the caller's still */
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);              /* nothing of it queued */
	ck_assert_int_eq(d.n, 0);                           /* nor dropped */
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);         /* its slot went back */
	ck_assert_int_eq(recv_now(rx), 1);
	ck_assert_int_eq(send_timeout(tx, &second, ak_deadline_in(20 * MS)), 0);
	ck_assert_int_eq(recv_now(rx), 2);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(send_timeout(tx, &second, ak_deadline_in(20 * MS)), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(d.n, 0);
}
END_TEST

START_TEST(send_timeout_whose_deadline_passed_still_sends_into_a_free_slot)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 7;

	new_bounded(1, &tx, &rx);
	/* the send completes in the poll that finds the deadline passed: it wins */
	ck_assert_int_eq(send_timeout(tx, &v, ak_now() - MS), 0);
	ck_assert_int_eq(recv_now(rx), 7);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

Suite *mpsc_suite(void)
{
	Suite *s = suite_create("mpsc");
	TCase *tc = tk_tcase("mpsc");
	TCase *tt = tk_tasks_tcase();
	tcase_add_test(tc, values_arrive_in_send_order_per_sender_bounded);
	tcase_add_test(tc, values_arrive_in_send_order_per_sender_unbounded);
	tcase_add_test(tc, send_waits_when_full_and_resumes_when_a_slot_frees);
	tcase_add_test(tc, try_send_reports_full_then_closed_and_keeps_the_value);
	tcase_add_test(tc, unbounded_send_never_waits_until_closed);
	tcase_add_test(tc, dropped_permit_returns_its_slot_and_wakes_a_waiting_sender);
	tcase_add_test(tc, permit_sends_without_waiting_even_after_close);
	tcase_add_test(tc, reserve_many_holds_n_slots_and_returns_the_unused);
	tcase_add_test(tc, recv_many_takes_up_to_its_limit_and_zero_returns_at_once);
	tcase_add_test(tc, close_refuses_sends_and_drains_what_is_queued);
	tcase_add_test(tc, last_sender_drop_wakes_the_receiver_with_epipe);
	tcase_add_test(tc, last_sender_drop_wakes_the_receiver_of_a_never_used_bounded_channel_with_epipe);
	tcase_add_test(tc, closed_op_completes_when_the_receiver_closes);
	tcase_add_test(tc, weak_upgrade_fails_after_the_last_strong_drop);
	tcase_add_test(tc, same_channel_tells_channels_apart);
	tcase_add_test(tc, cancel_of_a_pending_recv_loses_no_message);
	tcase_add_test(tc, cancel_of_a_pending_send_leaves_the_value_with_the_caller);
	tcase_add_test(tc, cancelled_granted_reserve_passes_its_slot_to_the_next_waiter);
	tcase_add_test(tc, drop_hook_runs_once_per_undelivered_value_bounded);
	tcase_add_test(tc, drop_hook_runs_once_per_undelivered_value_unbounded);
	tcase_add_test(tc, drop_hook_runs_once_per_value_left_when_the_receiver_goes_last_bounded);
	tcase_add_test(tc, drop_hook_runs_once_per_value_left_when_the_receiver_goes_last_unbounded);
	tcase_add_test(tc, recv_repolled_with_another_waker_wakes_only_the_new_one);
	tcase_add_test(tc, recv_parked_while_alone_is_woken_by_a_thread_started_after);
	tcase_add_test(tc, a_wake_that_sends_on_the_same_channel_does_not_deadlock);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_recv_is_safe);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_send_is_safe);
	tcase_add_test(tt, producer_tasks_deliver_every_value_in_order_to_a_thread);
	tcase_add_test(tc, producers_on_blocked_threads_deliver_every_value_bounded);
	tcase_add_test(tc, producers_on_blocked_threads_deliver_every_value_unbounded);
	tcase_add_test(tc, blocking_send_times_out_and_keeps_the_value);
	tcase_add_test(tc, blocking_recv_inside_a_poll_reports_edeadlk);
	tcase_add_test(tc, blocking_send_past_its_wait_parks_and_a_receive_wakes_it);
	tcase_add_test(tc, blocking_recv_past_its_wait_parks_and_a_send_wakes_it);
	tcase_add_test(tc, blocking_calls_parked_past_their_wait_are_failed_by_the_close);
	tcase_add_test(tc, bad_inputs_return_einval_and_change_nothing);
	tcase_add_test(tc, op_sizes_are_reported);
	tcase_add_test(tc, zero_sized_elements_are_signals);
	tcase_add_test(tc, recv_spends_budget_and_yields_when_it_is_spent);
	tcase_add_test(tc, closed_with_a_spent_budget_yields_and_then_completes);
	tcase_add_test(tc, unbounded_send_spends_budget_and_yields_when_it_is_spent);
	tcase_add_test(tc, bounded_send_spends_one_unit_of_budget_when_it_sends);
	tcase_add_test(tc, bounded_send_op_with_room_wakes_the_parked_receiver);
	tcase_add_test(tc, bounded_channel_allocates_nothing_per_message_after_the_first);
	tcase_add_test(tc, idle_bounded_channel_takes_at_most_160_bytes);
	tcase_add_test(tc, bounded_channel_ring_comes_with_the_first_send_in_its_documented_bytes);
	tcase_add_test(tc, bounded_channel_ring_comes_with_the_first_reserve_too);
	tcase_add_test(tc, unbounded_bursts_of_four_blocks_reuse_the_blocks);
	tcase_add_test(tc, unbounded_channel_returns_memory_after_a_burst);
	tcase_add_test(tc, unbounded_send_failing_for_memory_counts_nothing_and_blocks_still_go_back);
	tcase_add_test(tc, unbounded_channel_holds_queued_values_in_at_most_twice_their_bytes);
	tcase_add_test(tc, cancelled_reserve_granted_before_close_wakes_the_parked_recv);
	tcase_add_test(tc, reserve_many_failing_after_close_wakes_the_parked_recv);
	tcase_add_test(tc, reserve_many_cancelled_after_close_wakes_the_parked_recv);
	tcase_add_test(tc, permit_dropped_after_close_wakes_the_parked_recv);
	tcase_add_test(tc, reserve_many_permit_partly_used_then_dropped_after_close_wakes_the_parked_recv);
	tcase_add_test(tc, permit_send_after_close_wakes_the_parked_recv_which_then_sees_the_end);
	tcase_add_test(tc, cancelled_send_granted_before_close_wakes_the_parked_recv);
	tcase_add_test(tc, send_granted_before_close_but_polled_after_fails_and_keeps_the_value);
	tcase_add_test(tc, reserve_granted_before_close_but_polled_after_fails_and_gives_the_slot_back);
	tcase_add_test(tc, reserve_granted_before_close_but_polled_after_wakes_the_parked_recv);
	tcase_add_test(tc, cancelled_reserve_after_close_wakes_a_parked_recv_many);
	tcase_add_test(tc, recv_repolled_with_the_same_waker_clones_it_once);
	tcase_add_test(tc, recv_repolled_after_a_wake_registers_its_waker_again);
	tcase_add_test(tc, recv_parked_alone_keeps_one_clone_across_wakes_until_the_receiver_drops);
	tcase_add_test(tc, recv_woken_alone_then_parked_by_another_waker_drops_the_kept_clone);
	tcase_add_test(tc, recv_rearmed_alone_is_woken_by_the_last_sender_drop);
	tcase_add_test(tc, recv_woken_alone_by_a_wake_that_drops_the_receiver_in_a_thread_keeps_its_clone);
	tcase_add_test(tc, recv_cancelled_then_remade_by_the_same_task_clones_no_waker);
	tcase_add_test(tc, recv_waker_kept_after_completion_is_woken_once_or_replaced);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_reserve_is_safe);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_closed_op_is_safe);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_bounded_recv_many_is_safe);
	tcase_add_test(tc, dropping_every_handle_under_a_granted_send_is_safe);
	tcase_add_test(tc, dropping_every_handle_under_a_recv_out_of_budget_is_safe);
	tcase_add_test(tc, permit_drop_of_a_dropped_used_or_never_reserved_permit_returns_einval);
	tcase_add_test(tc, permit_drop_of_a_pending_reserve_returns_einval_and_leaves_it_waiting);
	tcase_add_test(tc, permit_send_through_a_dropped_used_or_never_reserved_permit_returns_einval);
	tcase_add_test(tc, handle_drops_ignore_null);
	tcase_add_test(tc, rx_close_twice_is_harmless);
	tcase_add_test(tc, rx_is_empty_until_a_send_and_again_once_received);
	tcase_add_test(tc, sender_counts_follow_clones_downgrades_permits_and_drops);
	tcase_add_test(tc, send_timeout_on_a_full_channel_times_out_and_the_value_stays_with_the_caller);
	tcase_add_test(tc, send_timeout_whose_deadline_passed_still_sends_into_a_free_slot);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	suite_add_tcase(s, mpsc_bounded_tcase());
	suite_add_tcase(s, mpsc_rendezvous_tcase());
	return s;
}
