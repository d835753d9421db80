/*
 * The rendezvous channel, ak_mpsc_new() of capacity 0 (chan/mpsc_rdv.c,
 * ak_mpsc(3), "Capacity 0"): a send completes only by handing its value
 * over to a receive that waits for it; cancel-safe both ways (a cancelled
 * send gave nothing, a cancelled receive took nothing); try_send only into
 * a waiting receive; FIFO senders; close; permits; recv_many; the blocking
 * forms on threads and producers on the pool.  Go's unbuffered-channel
 * cases from runtime/chan_test.go (TestChan: a
 * receive from an empty channel blocks, a non-blocking receive and send do
 * not, a send blocks until received, FIFO, 4 senders of 1000 values, len
 * and cap) are ported where they have a meaning here.  A tcase of the mpsc
 * suite.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "testkit.h"

TCase *mpsc_rendezvous_tcase(void);

#define MS 1000000LL

static void new_rdv(struct ak_mpsc_tx **tx, struct ak_mpsc_rx **rx)
{
	ck_assert_int_eq(ak_mpsc_new(0, sizeof(int), NULL, tx, rx), 0);
}

/* A send of *v polled once on t: left parked. */
static void send_parked(struct ak_mpsc_send_op *op, struct ak_mpsc_tx *tx, const int *v,
                        struct tk_task *t)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_mpsc_send_init(op, tx, v), 0);
	ck_assert_int_eq(tk_poll(t, &op->future), AK_PENDING);
}

/* A receive into *out polled once on t: left waiting. */
static void recv_waiting(struct ak_mpsc_recv_op *op, struct ak_mpsc_rx *rx, int *out,
                         struct tk_task *t)
{
	memset(op, 0, sizeof(*op));
	ck_assert_int_eq(ak_mpsc_recv_init(op, rx, out), 0);
	ck_assert_int_eq(tk_poll(t, &op->future), AK_PENDING);
}

/* ---- creation and queries (Go: len and cap of an unbuffered channel) ------------ */

START_TEST(capacity_zero_makes_a_rendezvous_whose_len_and_capacities_are_zero)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;

	new_rdv(&tx, &rx);
	ck_assert_uint_eq(ak_mpsc_capacity(tx), 0);
	ck_assert_uint_eq(ak_mpsc_max_capacity(tx), 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 1);
	ck_assert_int_eq(ak_mpsc_rx_is_closed(rx), 0);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- the hand-off ------------------------------------------------------------------ */

START_TEST(send_waits_until_a_receive_takes_the_value)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 7, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert(!tk_task_take_woken(ts));
	/* The receive asks the parked sender, which hands over in its poll. */
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 7);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(send_to_a_waiting_receive_completes_at_its_first_poll)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send = {0};
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 11, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_send_init(&send, tx, &v), 0);
	ck_assert_int_eq(tk_poll(ts, &send.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 11);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(receive_from_a_channel_without_senders_waiting_waits)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int got = -1;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(tk_poll(tr, &recv.future), AK_PENDING);
	ck_assert(!tk_task_take_woken(tr));
	ck_assert_int_eq(got, -1);
	ak_future_cancel(&recv.future);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(zero_sized_values_rendezvous_as_signals)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv = {0};
	struct tk_task *tr = tk_task_new();

	ck_assert_int_eq(ak_mpsc_new(0, 0, NULL, &tx, &rx), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&recv, rx, NULL), 0);
	ck_assert_int_eq(tk_poll(tr, &recv.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(ak_mpsc_try_send(tx, NULL), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- try_send and try_recv --------------------------------------------------------- */

START_TEST(try_send_without_a_waiting_receive_fails_and_keeps_the_value)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 3, got;

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EAGAIN);
	ck_assert_int_eq(v, 3);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(try_send_hands_over_to_a_waiting_receive)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 5, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	/* One value per waiting receive. */
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EAGAIN);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 5);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(try_send_never_jumps_a_parked_sender)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int first = 1, second = 2, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &first, ts);
	recv_waiting(&recv, rx, &got, tr);     /* asks the parked sender */
	ck_assert_int_eq(ak_mpsc_try_send(tx, &second), AK_EAGAIN);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 1);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(try_recv_asks_a_parked_sender_and_takes_its_value_once_handed_over)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct tk_task *ts = tk_task_new();
	int v = 9, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EAGAIN);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), 0);
	ck_assert_int_eq(got, 9);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EAGAIN);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- cancel-safety ------------------------------------------------------------------- */

START_TEST(send_cancelled_after_a_receive_asked_it_gives_nothing)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 4, later = 6, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert(tk_task_take_woken(ts));     /* asked, not yet polled */
	ak_future_cancel(&send.future);
	/* Nothing of it reached the channel; the receive still waits. */
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(tk_poll(tr, &recv.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &later), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 6);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(asked_send_cancelled_passes_the_ask_to_the_next_parked_sender)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op s1, s2;
	struct ak_mpsc_recv_op recv;
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new(), *tr = tk_task_new();
	int a = 1, b = 2, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&s1, tx, &a, t1);
	send_parked(&s2, tx, &b, t2);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert(!tk_task_take_woken(t2));
	ak_future_cancel(&s1.future);
	ck_assert_int_eq(tk_poll_woken(t2, &s2.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 2);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(receive_cancelled_before_the_asked_sender_answers_takes_nothing_and_it_stays_parked)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 8, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	recv_waiting(&recv, rx, &got, tr);
	ak_future_cancel(&recv.future);
	/* The ask was taken back: its poll (it was woken) parks again. */
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), AK_PENDING);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(got, 0);
	/* A new receive asks it again, and its new waker is woken. */
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 8);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(receive_cancelled_after_the_hand_over_leaves_the_value_for_the_next_receive)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 12, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	ak_future_cancel(&recv.future);
	ck_assert_int_eq(got, 0);
	ck_assert_uint_eq(ak_mpsc_len(rx), 1);
	ck_assert_int_eq(ak_mpsc_rx_is_empty(rx), 0);
	/* Nobody waits: the next sender does not get in. */
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), 0);
	ck_assert_int_eq(got, 12);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(select_of_two_receives_lets_one_parked_sender_through)
{
	struct ak_mpsc_tx *tx1, *tx2;
	struct ak_mpsc_rx *rx1, *rx2;
	struct ak_mpsc_send_op s1, s2;
	struct ak_mpsc_recv_op r1 = {0}, r2 = {0};
	struct ak_select_op sel = {0};
	struct ak_branch b[2];
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new(), *tr = tk_task_new();
	int a = 1, c = 2, got1 = 0, got2 = 0;

	new_rdv(&tx1, &rx1);
	new_rdv(&tx2, &rx2);
	send_parked(&s1, tx1, &a, t1);
	send_parked(&s2, tx2, &c, t2);
	ck_assert_int_eq(ak_mpsc_recv_init(&r1, rx1, &got1), 0);
	ck_assert_int_eq(ak_mpsc_recv_init(&r2, rx2, &got2), 0);
	memset(b, 0, sizeof(b));
	b[0].future = &r1.future;
	b[1].future = &r2.future;
	ck_assert_int_eq(ak_select_init(&sel, b, 2, AK_SELECT_BIASED), 0);
	ck_assert_int_eq(tk_poll(tr, &sel.future), AK_PENDING);   /* both senders asked */
	ck_assert_int_eq(tk_poll_woken(t1, &s1.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &sel.future), 0);
	ck_assert_int_eq(ak_select_index(&sel), 0);
	ck_assert_int_eq(got1, 1);
	/* The losing receive was cancelled: its sender still holds its value. */
	ck_assert_int_eq(tk_poll_woken(t2, &s2.future), AK_PENDING);
	ck_assert_uint_eq(ak_mpsc_len(rx2), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx2, &got2), AK_EAGAIN);
	ck_assert_int_eq(tk_poll_woken(t2, &s2.future), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx2, &got2), 0);
	ck_assert_int_eq(got2, 2);
	ak_mpsc_tx_drop(tx1);
	ak_mpsc_tx_drop(tx2);
	ak_mpsc_rx_drop(rx1);
	ak_mpsc_rx_drop(rx2);
}
END_TEST

START_TEST(send_timeout_without_a_receive_times_out_and_the_value_stays_with_the_caller)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 2, got;

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_send_blocking(tx, &v, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	ck_assert_uint_eq(ak_mpsc_len(rx), 0);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_recv_blocking(rx, &got, ak_deadline_in(20 * MS)), AK_ETIMEDOUT);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- order ---------------------------------------------------------------------------- */

START_TEST(parked_senders_hand_over_in_the_order_they_parked)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op s[3];
	struct ak_mpsc_recv_op recv;
	struct tk_task *t[3], *tr = tk_task_new();
	int v[3] = { 10, 20, 30 }, got;

	new_rdv(&tx, &rx);
	for (int i = 0; i < 3; i++) {
		t[i] = tk_task_new();
		send_parked(&s[i], tx, &v[i], t[i]);
	}
	for (int i = 0; i < 3; i++) {
		got = 0;
		recv_waiting(&recv, rx, &got, tr);
		for (int j = i + 1; j < 3; j++)
			ck_assert(!tk_task_take_woken(t[j]));
		ck_assert_int_eq(tk_poll_woken(t[i], &s[i].future), 0);
		ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
		ck_assert_int_eq(got, v[i]);
	}
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- close ------------------------------------------------------------------------------ */

START_TEST(rx_close_fails_the_parked_senders_with_epipe_and_their_values_stay_theirs)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op s1, s2;
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new();
	int a = 1, b = 2, got;

	new_rdv(&tx, &rx);
	send_parked(&s1, tx, &a, t1);
	send_parked(&s2, tx, &b, t2);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(t1, &s1.future), AK_EPIPE);
	ck_assert_int_eq(tk_poll_woken(t2, &s2.future), AK_EPIPE);
	ck_assert_int_eq(a, 1);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &a), AK_EPIPE);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(sender_asked_before_close_but_polled_after_fails_with_epipe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 3, got = 0;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), AK_EPIPE);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), AK_EPIPE);
	ck_assert_int_eq(got, 0);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(last_sender_drop_ends_a_waiting_receive)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(value_handed_over_before_the_last_sender_drop_is_received_then_epipe)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 21, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 21);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EPIPE);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(dropping_every_handle_under_a_parked_send_fails_it_safely)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct tk_task *ts = tk_task_new();
	int v = 1;

	new_rdv(&tx, &rx);
	send_parked(&send, tx, &v, ts);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), AK_EPIPE);
}
END_TEST

static atomic_int drops;

static void count_drop(void *elem, void *arg)
{
	(void)elem;
	(void)arg;
	atomic_fetch_add(&drops, 1);
}

START_TEST(value_left_in_the_cell_is_dropped_with_the_receiver)
{
	struct ak_mpsc_hooks hooks = { count_drop, NULL, NULL };
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 1, got = 0;

	atomic_store(&drops, 0);
	ck_assert_int_eq(ak_mpsc_new(0, sizeof(int), &hooks, &tx, &rx), 0);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), 0);
	ak_future_cancel(&recv.future);
	ak_mpsc_rx_drop(rx);
	ck_assert_int_eq(atomic_load(&drops), 1);
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(atomic_load(&drops), 1);
}
END_TEST

/* ---- reserve and permits ------------------------------------------------------------------- */

START_TEST(reserve_completes_when_a_receive_asks_and_its_permit_sends_at_once)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 13, got = 0;

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_reserve_init(&permit, tx), 0);
	ck_assert_int_eq(tk_poll(ts, &permit.future), AK_PENDING);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(tk_poll_woken(ts, &permit.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&permit), 1);
	ck_assert_uint_eq(ak_mpsc_sender_strong_count(rx), 2);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&permit), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 13);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(try_reserve_succeeds_only_while_a_receive_waits)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0}, other = {0};
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 14, got = 0;

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), AK_EAGAIN);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	/* The permit holds the hand-off: nobody else gets in. */
	ck_assert_int_eq(ak_mpsc_try_reserve(&other, tx), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_try_send(tx, &v), AK_EAGAIN);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 14);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(reserve_of_more_than_one_is_einval_and_of_zero_completes_at_once)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op op = {0};
	struct tk_task *ts = tk_task_new();

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_mpsc_reserve_many_init(&op, tx, 2), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_try_reserve_many(&op, tx, 2), AK_EINVAL);
	ck_assert_int_eq(ak_mpsc_reserve_many_init(&op, tx, 0), 0);
	ck_assert_int_eq(tk_poll(ts, &op.future), 0);
	ck_assert_uint_eq(ak_mpsc_permit_count(&op), 0);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(dropped_permit_passes_the_hand_off_to_the_next_parked_sender)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	struct tk_task *ts = tk_task_new(), *tr = tk_task_new();
	int v = 15, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	send_parked(&send, tx, &v, ts);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_int_eq(tk_poll_woken(ts, &send.future), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 15);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(permit_held_at_close_still_sends_and_the_receive_waits_for_it)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int v = 16, got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_send(&permit, &v), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), 0);
	ck_assert_int_eq(got, 16);
	ck_assert_int_eq(ak_mpsc_try_recv(rx, &got), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

START_TEST(permit_dropped_after_close_ends_the_waiting_receive)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_reserve_op permit = {0};
	struct ak_mpsc_recv_op recv;
	struct tk_task *tr = tk_task_new();
	int got = 0;

	new_rdv(&tx, &rx);
	recv_waiting(&recv, rx, &got, tr);
	ck_assert_int_eq(ak_mpsc_try_reserve(&permit, tx), 0);
	ck_assert_int_eq(ak_mpsc_rx_close(rx), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), AK_PENDING);
	ck_assert_int_eq(ak_mpsc_permit_drop(&permit), 0);
	ck_assert_int_eq(tk_poll_woken(tr, &recv.future), AK_EPIPE);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- recv_many ------------------------------------------------------------------------------- */

START_TEST(recv_many_takes_one_value_per_hand_over)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op s1, s2;
	struct ak_mpsc_recv_many_op many = {0};
	struct tk_task *t1 = tk_task_new(), *t2 = tk_task_new(), *tr = tk_task_new();
	int a = 1, b = 2, buf[4] = { 0 };
	size_t n = 99;

	new_rdv(&tx, &rx);
	send_parked(&s1, tx, &a, t1);
	send_parked(&s2, tx, &b, t2);
	ck_assert_int_eq(ak_mpsc_recv_many_init(&many, rx, buf, 4, &n), 0);
	ck_assert_int_eq(tk_poll(tr, &many.future), AK_PENDING);
	ck_assert_int_eq(tk_poll_woken(t1, &s1.future), 0);
	ck_assert(!tk_task_take_woken(t2));
	ck_assert_int_eq(tk_poll_woken(tr, &many.future), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(buf[0], 1);
	ak_future_cancel(&s2.future);
	ak_mpsc_tx_drop(tx);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* ---- threads ----------------------------------------------------------------------------------- */

/* Go's TestChan: "Send 1000 integers in 4 goroutines, ensure that we
 * receive what we send", with one receiver (an mpsc has one). */
#define NPROD 4
#define PER_PROD 1000

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

/* Receives until closed: count, sum, and each producer's order. */
static void consume_all(struct ak_mpsc_rx *rx, long *count, long long *sum, int *order_ok)
{
	int last[NPROD], v, rc;
	for (int i = 0; i < NPROD; i++)
		last[i] = -1;
	*count = 0;
	*sum = 0;
	*order_ok = 1;
	while ((rc = ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(5000 * MS))) == 0) {
		int id = v / PER_PROD, seq = v % PER_PROD;
		if (id < 0 || id >= NPROD || seq != last[id] + 1)
			*order_ok = 0;
		else
			last[id] = seq;
		(*count)++;
		*sum += v;
	}
	ck_assert_int_eq(rc, AK_EPIPE);
}

static const long long expected_sum = (long long)NPROD * PER_PROD * (NPROD * PER_PROD - 1) / 2;

START_TEST(blocked_threads_hand_over_every_value_in_order)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct thread_prod prods[NPROD];
	long count;
	long long sum;
	int order_ok;

	new_rdv(&tx, &rx);
	for (int i = 0; i < NPROD; i++) {
		memset(&prods[i], 0, sizeof(prods[i]));
		prods[i].id = i;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &prods[i].tx), 0);
		pthread_create(&prods[i].th, NULL, thread_producer, &prods[i]);
	}
	ak_mpsc_tx_drop(tx);
	consume_all(rx, &count, &sum, &order_ok);
	for (int i = 0; i < NPROD; i++) {
		pthread_join(prods[i].th, NULL);
		ck_assert_int_eq(prods[i].failures, 0);
	}
	ck_assert_int_eq(count, NPROD * PER_PROD);
	ck_assert(sum == expected_sum);
	ck_assert(order_ok);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A task sending PER_PROD values by send operations on the pool. */
struct producer {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	int id, next, sending, value;
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

START_TEST(tasks_on_the_pool_hand_over_every_value_in_order)
{
	struct ak_pool *pool;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	static struct producer prods[NPROD];
	long count;
	long long sum;
	int order_ok;

	new_rdv(&tx, &rx);
	ck_assert_int_eq(ak_pool_new(&pool, 2), 0);
	for (int i = 0; i < NPROD; i++) {
		memset(&prods[i], 0, sizeof(prods[i]));
		ck_assert_int_eq(ak_future_init(&prods[i].future, &producer_vtable), 0);
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &prods[i].tx), 0);
		prods[i].id = i;
		ck_assert_int_eq(ak_pool_spawn(pool, &prods[i].future, NULL), 0);
	}
	ak_mpsc_tx_drop(tx);
	consume_all(rx, &count, &sum, &order_ok);
	ck_assert_int_eq(ak_pool_wait_idle(pool, ak_deadline_in(5000 * MS)), 0);
	ck_assert_int_eq(ak_pool_free(pool), 0);
	ck_assert_int_eq(count, NPROD * PER_PROD);
	ck_assert(sum == expected_sum);
	ck_assert(order_ok);
	ak_mpsc_rx_drop(rx);
}
END_TEST

/* A sender thread polls a send once and cancels it, again and again,
 * while the receiver asks for it: every value is received or kept by
 * its sender, never both, never lost. */
struct canceller {
	pthread_t th;
	struct ak_mpsc_tx *tx;
	long delivered;   /* the sends that completed */
	int failures;
};

#define ROUNDS 2000

static void *cancelling_sender(void *arg)
{
	struct canceller *c = arg;
	struct ak_context cx;
	for (int i = 0; i < ROUNDS; i++) {
		struct ak_mpsc_send_op op;
		int v = i;
		memset(&op, 0, sizeof(op));
		ak_mpsc_send_init(&op, c->tx, &v);
		for (int k = 0; k < 2; k++) {
			ak_context_init(&cx, ak_waker_noop(), NULL);
			int rc = ak_future_poll(&op.future, &cx);
			ak_context_done(&cx, rc);
			if (rc == 0) {
				c->delivered++;
				break;
			}
			if (rc != AK_PENDING) {
				c->failures++;
				break;
			}
			if (k == 1)
				ak_future_cancel(&op.future);
			else
				sched_yield();
		}
	}
	ak_mpsc_tx_drop(c->tx);
	return NULL;
}

START_TEST(sends_cancelled_while_a_receive_asks_them_are_delivered_exactly_when_they_completed)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct canceller c;
	long received = 0;
	int last = -1, in_order = 1, v, rc;

	new_rdv(&tx, &rx);
	memset(&c, 0, sizeof(c));
	c.tx = tx;
	pthread_create(&c.th, NULL, cancelling_sender, &c);
	while ((rc = ak_mpsc_recv_blocking(rx, &v, ak_deadline_in(5000 * MS))) == 0) {
		if (v <= last)
			in_order = 0;
		last = v;
		received++;
	}
	pthread_join(c.th, NULL);
	ck_assert_int_eq(rc, AK_EPIPE);
	ck_assert_int_eq(c.failures, 0);
	ck_assert_int_eq(received, c.delivered);
	ck_assert(in_order);
	ak_mpsc_rx_drop(rx);
}
END_TEST

TCase *mpsc_rendezvous_tcase(void)
{
	TCase *tc = tk_tcase("mpsc_rendezvous");
	tcase_add_test(tc, capacity_zero_makes_a_rendezvous_whose_len_and_capacities_are_zero);
	tcase_add_test(tc, send_waits_until_a_receive_takes_the_value);
	tcase_add_test(tc, send_to_a_waiting_receive_completes_at_its_first_poll);
	tcase_add_test(tc, receive_from_a_channel_without_senders_waiting_waits);
	tcase_add_test(tc, zero_sized_values_rendezvous_as_signals);
	tcase_add_test(tc, try_send_without_a_waiting_receive_fails_and_keeps_the_value);
	tcase_add_test(tc, try_send_hands_over_to_a_waiting_receive);
	tcase_add_test(tc, try_send_never_jumps_a_parked_sender);
	tcase_add_test(tc, try_recv_asks_a_parked_sender_and_takes_its_value_once_handed_over);
	tcase_add_test(tc, send_cancelled_after_a_receive_asked_it_gives_nothing);
	tcase_add_test(tc, asked_send_cancelled_passes_the_ask_to_the_next_parked_sender);
	tcase_add_test(tc, receive_cancelled_before_the_asked_sender_answers_takes_nothing_and_it_stays_parked);
	tcase_add_test(tc, receive_cancelled_after_the_hand_over_leaves_the_value_for_the_next_receive);
	tcase_add_test(tc, select_of_two_receives_lets_one_parked_sender_through);
	tcase_add_test(tc, send_timeout_without_a_receive_times_out_and_the_value_stays_with_the_caller);
	tcase_add_test(tc, parked_senders_hand_over_in_the_order_they_parked);
	tcase_add_test(tc, rx_close_fails_the_parked_senders_with_epipe_and_their_values_stay_theirs);
	tcase_add_test(tc, sender_asked_before_close_but_polled_after_fails_with_epipe);
	tcase_add_test(tc, last_sender_drop_ends_a_waiting_receive);
	tcase_add_test(tc, value_handed_over_before_the_last_sender_drop_is_received_then_epipe);
	tcase_add_test(tc, dropping_every_handle_under_a_parked_send_fails_it_safely);
	tcase_add_test(tc, value_left_in_the_cell_is_dropped_with_the_receiver);
	tcase_add_test(tc, reserve_completes_when_a_receive_asks_and_its_permit_sends_at_once);
	tcase_add_test(tc, try_reserve_succeeds_only_while_a_receive_waits);
	tcase_add_test(tc, reserve_of_more_than_one_is_einval_and_of_zero_completes_at_once);
	tcase_add_test(tc, dropped_permit_passes_the_hand_off_to_the_next_parked_sender);
	tcase_add_test(tc, permit_held_at_close_still_sends_and_the_receive_waits_for_it);
	tcase_add_test(tc, permit_dropped_after_close_ends_the_waiting_receive);
	tcase_add_test(tc, recv_many_takes_one_value_per_hand_over);
	tcase_add_test(tc, blocked_threads_hand_over_every_value_in_order);
	tcase_add_test(tc, tasks_on_the_pool_hand_over_every_value_in_order);
	tcase_add_test(tc, sends_cancelled_while_a_receive_asks_them_are_delivered_exactly_when_they_completed);
	return tc;
}
