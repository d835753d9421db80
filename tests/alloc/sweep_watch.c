/*
 * tests/alloc/sweep_watch.c: every watch operation under the
 * allocation-failure sweep, in both of its modes (issue 11 item 6:
 * liburcu's call_rcu, which watch used then, aborted the process when its
 * first allocation failed, reached from ak_watch_sender_drop when a value
 * was retired).
 */
#include <stdint.h>
#include <string.h>

#include "sweep.h"

static int v_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, sizeof(uint64_t));
	sw_live_values++;
	return 0;
}

static void v_drop(void *value, void *arg)
{
	(void)value;
	(void)arg;
	sw_live_values--;
}

static void add_one(void *value, void *arg)
{
	(void)arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	n++;
	memcpy(value, &n, sizeof n);
}

static int add_if_even(void *value, void *arg)
{
	(void)arg;
	uint64_t n;
	memcpy(&n, value, sizeof n);
	if (n % 2)
		return 0;
	add_one(value, NULL);
	return 1;
}

static int is_big(const void *value, void *arg)
{
	uint64_t n;
	memcpy(&n, value, sizeof n);
	return n >= *(const uint64_t *)arg;
}

static void release(struct ak_watch_ref *ref)
{
	if (ref->block_)
		ak_watch_ref_release(ref);
}

/* A value the channel takes over: counted live until its drop hook. */
static uint64_t make(uint64_t n)
{
	sw_live_values++;
	return n;
}

/* Every call of the API once, with drop/clone hooks. */
static void watch_every_call(void)
{
	struct ak_watch_hooks hooks = { v_clone, v_drop, NULL };
	struct ak_watch_sender *tx = NULL, *tx2 = NULL;
	struct ak_watch_receiver *rx = NULL, *rx2 = NULL, *rx3 = NULL;
	struct ak_watch_ref a = { 0 }, b = { 0 }, c = { 0 };
	uint64_t v = make(1), old = 0, big = 5;
	int modified = 0;

	if (ak_watch_new(sizeof v, &v, &hooks, &tx, &rx) != 0) {
		sw_live_values--;       /* not taken: still ours */
		return;
	}
	SW_TRY(ak_watch_sender_clone(tx, &tx2));
	SW_TRY(ak_watch_subscribe(tx, &rx2));
	SW_TRY(ak_watch_receiver_clone(rx, &rx3));
	SW_EXPECT(0, ak_watch_has_changed(rx));
	v = make(2);
	if (ak_watch_send(tx, &v) != 0) {
		sw_live_values--;
		goto out;
	}
	SW_EXPECT(1, ak_watch_has_changed(rx));
	SW_TRY(ak_watch_borrow_and_update(rx, &a));     /* held across sends */
	v = make(3);
	if (ak_watch_send_replace(tx2, &v, &old) != 0) {
		sw_live_values--;
		goto out;
	}
	sw_live_values--;       /* old is ours: a copy made by clone */
	SW_TRY(ak_watch_send_modify(tx, add_one, NULL));
	SW_TRY(ak_watch_send_if_modified(tx, add_if_even, NULL, &modified));
	SW_TRY(ak_watch_send_if_modified(tx, add_if_even, NULL, &modified));
	SW_TRY(ak_watch_sender_borrow(tx, &b));
	SW_TRY(ak_watch_borrow(rx2, &c));
	release(&c);
	SW_TRY(ak_watch_changed_blocking(rx, INT64_MAX));
	SW_TRY(ak_watch_mark_changed(rx2));
	SW_TRY(ak_watch_changed_blocking(rx2, INT64_MAX));
	SW_TRY(ak_watch_mark_unchanged(rx3));
	SW_TRY(ak_watch_wait_for_blocking(rx3, is_big, &big, &c, INT64_MAX));
	release(&a);            /* its block was replaced: retired alone */
	ak_watch_receiver_drop(rx2);
	rx2 = NULL;
	ak_watch_receiver_drop(rx3);
	rx3 = NULL;
	ak_watch_receiver_drop(rx);
	rx = NULL;
	SW_TRY(ak_watch_closed_blocking(tx, INT64_MAX));
	ak_watch_sender_drop(tx2);
	tx2 = NULL;
out:
	release(&a);
	release(&b);
	release(&c);
	if (rx)
		ak_watch_receiver_drop(rx);
	if (rx2)
		ak_watch_receiver_drop(rx2);
	if (rx3)
		ak_watch_receiver_drop(rx3);
	if (tx2)
		ak_watch_sender_drop(tx2);
	ak_watch_sender_drop(tx);
}

/* A clone hook alone: values in slots (ak_watch(3): the slot mode). */
static int plain_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, sizeof(uint64_t));
	return 0;
}

/* More sends than a batch of slots (or copies), borrows outliving sends
 * (one beyond the receiver's two pins or buffers), the slots coming back,
 * and the channel dropped with slots waiting to be scanned. */
static void many_sends(const struct ak_watch_hooks *hooks)
{
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL;
	struct ak_watch_ref held[3] = { { 0 }, { 0 }, { 0 } };
	uint64_t v = 0;

	if (ak_watch_new(sizeof v, &v, hooks, &tx, &rx) != 0)
		return;
	for (v = 1; v <= 150; v++) {
		if (v % 50 == 0)
			SW_TRY(ak_watch_borrow(rx, &held[v / 50 - 1]));
		SW_TRY(ak_watch_send(tx, &v));
	}
	release(&held[0]);
	ak_watch_sender_drop(tx);       /* the receiver still borrows */
	tx = NULL;
	SW_TRY(ak_watch_changed_blocking(rx, INT64_MAX));     /* the last value */
	SW_EXPECT(AK_EPIPE, ak_watch_changed_blocking(rx, INT64_MAX));
out:
	for (int i = 0; i < 3; i++)
		release(&held[i]);
	if (tx)
		ak_watch_sender_drop(tx);
	ak_watch_receiver_drop(rx);
}

static void watch_many_sends(void)
{
	many_sends(NULL);
}

static void watch_many_sends_slots(void)
{
	struct ak_watch_hooks hooks = { plain_clone, NULL, NULL };
	many_sends(&hooks);
}

/* Borrows that outlive the whole channel: one of a replaced value, one of
 * the value current when the channel went. */
static void watch_borrow_outlives_channel(void)
{
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL;
	struct ak_watch_ref old = { 0 }, cur = { 0 };
	uint64_t v = 7;

	if (ak_watch_new(sizeof v, &v, NULL, &tx, &rx) != 0)
		return;
	SW_TRY(ak_watch_borrow(rx, &old));
	SW_TRY(ak_watch_send(tx, &v));
	SW_TRY(ak_watch_sender_borrow(tx, &cur));
out:
	ak_watch_receiver_drop(rx);
	ak_watch_sender_drop(tx);
	release(&old);
	release(&cur);
}

/* changed() and closed() parked on an executor, woken by a task's send. */
struct sender_task {
	struct ak_future future;
	struct ak_watch_sender *tx;
	int rc;
};

/* Sends once, then drops its sender (closing the channel): the parked
 * changed() completes either way, with 0 or with AK_EPIPE. */
static int sender_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sender_task *t = (struct sender_task *)f;
	uint64_t v = 42;
	(void)cx;
	t->rc = ak_watch_send(t->tx, &v);
	ak_watch_sender_drop(t->tx);
	t->tx = NULL;
	return 0;
}

static void sender_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable sender_vtable = { sender_poll, sender_cancel };

static void watch_parked_on_executor(void)
{
	struct ak_watch_receiver *rx = NULL;
	struct ak_executor *ex = NULL;
	struct ak_watch_changed_op changed = { 0 };
	struct sender_task st = { 0 };
	struct ak_task *h1 = NULL, *h2 = NULL;
	uint64_t v = 0;

	if (ak_watch_new(sizeof v, &v, NULL, &st.tx, &rx) != 0)
		return;
	SW_TRY(ak_executor_new(&ex));
	SW_TRY(ak_watch_changed_init(&changed, rx));
	SW_TRY(ak_future_init(&st.future, &sender_vtable));
	SW_TRY(ak_executor_spawn(ex, &changed.future, &h1));
	if (ak_executor_spawn(ex, &st.future, &h2) != 0) {
		/* The changed task alone: closing the channel completes it. */
		ak_watch_sender_drop(st.tx);
		st.tx = NULL;
	}
	int polls = ak_executor_run(ex);     /* how many polls, or an error */
	if (polls < 0)
		SW_TRY(polls);
	if (st.rc == 0 && h2)
		SW_EXPECT(0, ak_task_result(h1));
	else
		SW_EXPECT(AK_EPIPE, ak_task_result(h1));
out:
	if (h1)
		ak_task_release(h1);
	if (h2)
		ak_task_release(h2);
	if (ex)
		ak_executor_free(ex);
	ak_watch_receiver_drop(rx);
	if (st.tx)
		ak_watch_sender_drop(st.tx);
}

/* Handles dropped under parked changed(), wait_for() and closed(). */
static void watch_drop_under_parked_ops(void)
{
	struct ak_watch_sender *tx = NULL;
	struct ak_watch_receiver *rx = NULL, *rx2 = NULL;
	struct ak_executor *ex = NULL;
	struct ak_watch_changed_op changed = { 0 };
	struct ak_watch_wait_for_op wait_for = { 0 };
	struct ak_watch_closed_op closed = { 0 };
	struct ak_watch_ref ref = { 0 };
	struct ak_task *h[3] = { NULL, NULL, NULL };
	uint64_t v = 0, big = 100;
	int polls;

	if (ak_watch_new(sizeof v, &v, NULL, &tx, &rx) != 0)
		return;
	SW_TRY(ak_watch_subscribe(tx, &rx2));
	SW_TRY(ak_executor_new(&ex));
	SW_TRY(ak_watch_changed_init(&changed, rx));
	SW_TRY(ak_watch_wait_for_init(&wait_for, rx2, is_big, &big, &ref));
	SW_TRY(ak_watch_closed_init(&closed, tx));
	SW_TRY(ak_executor_spawn(ex, &changed.future, &h[0]));
	SW_TRY(ak_executor_spawn(ex, &wait_for.future, &h[1]));
	SW_TRY(ak_executor_spawn(ex, &closed.future, &h[2]));
	polls = ak_executor_run(ex);
	if (polls < 0)
		SW_TRY(polls);
	ak_watch_receiver_drop(rx);
	rx = NULL;
	ak_watch_receiver_drop(rx2);
	rx2 = NULL;
	SW_EXPECT(AK_EPIPE, ak_watch_send(tx, &v));
	ak_watch_sender_drop(tx);
	tx = NULL;
	polls = ak_executor_run(ex);
	if (polls < 0)
		SW_TRY(polls);
	SW_EXPECT(0, ak_task_result(h[2]));
out:
	for (int i = 0; i < 3; i++)
		if (h[i])
			ak_task_release(h[i]);
	if (ex)
		ak_executor_free(ex);       /* cancels what is still parked */
	release(&ref);
	if (rx)
		ak_watch_receiver_drop(rx);
	if (rx2)
		ak_watch_receiver_drop(rx2);
	if (tx)
		ak_watch_sender_drop(tx);
}

const struct sw_scenario sw_watch_scenarios[] = {
	{ "watch_every_call", watch_every_call },
	{ "watch_many_sends", watch_many_sends },
	{ "watch_many_sends_slots", watch_many_sends_slots },
	{ "watch_borrow_outlives_channel", watch_borrow_outlives_channel },
	{ "watch_parked_on_executor", watch_parked_on_executor },
	{ "watch_drop_under_parked_ops", watch_drop_under_parked_ops },
	{ NULL, NULL },
};
