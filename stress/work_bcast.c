/*
 * stress/work_bcast.c: ak-stress(1)'s broadcast and watch workloads
 * (work.h).
 *
 *   broadcast  producers send (value = producer << 40 | sequence) without
 *              waiting, yielding every few sends; consumers, receivers
 *              subscribed from the start, receive until AK_EPIPE, lagging
 *              behind a ring of capacity -k.  Checked, per consumer: what
 *              it received plus what it was told it missed equals what was
 *              sent, and every producer's values came in order.
 *   watch      producers publish the same values; consumers wait with
 *              changed() and borrow_and_update until AK_EPIPE.  Checked:
 *              a consumer never sees a producer's value older than one it
 *              saw, versions never go back, and the last version is the
 *              count of publishes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

#define SEQ_MASK ((UINT64_C(1) << WK_SEQ_BITS) - 1)
#define NONE UINT64_MAX

static int k_send, k_recv;

/* ---- broadcast ------------------------------------------------------------- */

struct bc_st {
	struct ak_broadcast_rx *rx[WK_MAX_TASKS];
	uint64_t sent_count[WK_MAX_TASKS];
};

struct bc_producer {
	struct wk_task t;
	struct ak_broadcast_tx *tx;
	uint64_t v;
};

struct bc_consumer {
	struct wk_task t;
	struct ak_broadcast_recv_op recv;
	uint64_t v, missed, got, total_missed, out_of_order;
	uint64_t last[WK_MAX_TASKS];    /* per producer, the last sequence + 1 */
};

static int bc_producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct bc_producer *p = (struct bc_producer *)(void *)f;
	struct bc_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		p->v = WK_VALUE(p->t.id, p->t.i);
		stress_op_begin(k_send);
		int rc = ak_broadcast_send(p->tx, &p->v, NULL);
		if (rc != 0) {
			stress_fail("broadcast: send returned %s", ak_err_name(rc));
			break;
		}
		stress_op_done(k_send);
		atomic_fetch_add_explicit(&p->t.ops, 1, memory_order_relaxed);
		s->sent_count[p->t.id]++;
		if (++p->t.i % 8 == 0)
			AK_YIELD(&p->t.aw);
	}
	ak_broadcast_tx_drop(p->tx);
	p->tx = NULL;
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (p->tx)
		ak_broadcast_tx_drop(p->tx);
	AK_END(&p->t.aw);
}

static int bc_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct bc_consumer *c = (struct bc_consumer *)(void *)f;
	struct bc_st *s = c->t.w->st;
	AK_BEGIN(&c->t.aw, cx);
	for (;;) {
		ak_broadcast_recv_init(&c->recv, s->rx[c->t.id], &c->v, &c->missed);
		WK_AWAIT(&c->t, &c->recv.future, k_recv, "broadcast recv");
		if (c->t.rc == 0) {
			int id = (int)(c->v >> WK_SEQ_BITS);
			uint64_t seq = c->v & SEQ_MASK;
			if (id >= c->t.w->producers || seq < c->last[id]) {
				if (c->out_of_order++ < 3)
					stress_fail("broadcast: consumer %d got %#" PRIx64 " after "
					            "sequence %" PRIu64, c->t.id, c->v, c->last[id]);
			} else {
				c->last[id] = seq + 1;
			}
			c->got++;
		} else if (c->t.rc == AK_EOVERFLOW) {
			c->total_missed += c->missed;
		} else if (c->t.rc == AK_EPIPE) {
			break;
		} else if (c->t.rc != WK_CANCELLED) {
			stress_fail("broadcast: recv returned %s", ak_err_name(c->t.rc));
			break;
		}
	}
	wk_finish(&c->t);
	AK_RETURN(&c->t.aw, 0);
	AK_CLEANUP(&c->t.aw);
	AK_END(&c->t.aw);
}

static void bc_setup(struct wk *w)
{
	struct bc_st *s = calloc(1, sizeof(*s));
	struct ak_broadcast_tx *tx;
	w->st = s;
	if (w->capacity < 1)
		w->capacity = 1;
	k_send = stress_kind("send");
	k_recv = stress_kind("recv");
	if (ak_broadcast_new(&tx, &s->rx[0], (size_t)w->capacity, sizeof(uint64_t), NULL) != 0) {
		fprintf(stderr, "broadcast: cannot make the channel\n");
		exit(2);
	}
	for (int i = 0; i < w->consumers; i++) {
		if (i)
			ak_broadcast_subscribe(tx, &s->rx[i]);
		wk_task_add(w, sizeof(struct bc_consumer), bc_consumer_poll, WK_CONSUMER, i);
	}
	for (int i = 0; i < w->producers; i++) {
		struct bc_producer *p = (struct bc_producer *)(void *)wk_task_add(
			w, sizeof(*p), bc_producer_poll, WK_PRODUCER, i);
		ak_broadcast_tx_clone(tx, &p->tx);
	}
	ak_broadcast_tx_drop(tx);
}

static void bc_check(struct wk *w)
{
	struct bc_st *s = w->st;
	uint64_t sent = 0, bad = 0, disorder = 0, got = 0, missed = 0;
	for (int i = 0; i < w->producers; i++)
		sent += s->sent_count[i];
	for (int i = 0; i < w->ntasks; i++) {
		if (w->tasks[i]->role != WK_CONSUMER)
			continue;
		struct bc_consumer *c = (struct bc_consumer *)(void *)w->tasks[i];
		bad += c->got + c->total_missed != sent;
		disorder += c->out_of_order;
		got += c->got;
		missed += c->total_missed;
	}
	stress_check(bad == 0, "broadcast count: every consumer received or was told it missed "
	             "each of the %" PRIu64 " values sent (%" PRIu64 " received, %" PRIu64
	             " missed in all; %" PRIu64 " consumers off)", sent, got, missed, bad);
	stress_check(disorder == 0, "broadcast per-producer order: no consumer got a producer's "
	             "value before an earlier one (%" PRIu64 ")", disorder);
}

static void bc_dump(FILE *out, struct wk *w)
{
	struct bc_st *s = w->st;
	for (int i = 0; i < w->consumers; i++)
		fprintf(out, "broadcast receiver %d: %" PRIu64 " unread\n", i,
		        ak_broadcast_rx_len(s->rx[i]));
}

static void bc_teardown(struct wk *w)
{
	struct bc_st *s = w->st;
	for (int i = 0; i < w->consumers; i++)
		ak_broadcast_rx_drop(s->rx[i]);
	free(s);
}

const struct wk_def wk_broadcast = {
	"broadcast", "producers send, every consumer receives, lagging at capacity -k",
	2, 3, 16, 10, bc_setup, bc_check, bc_dump, bc_teardown,
};

/* ---- watch ----------------------------------------------------------------- */

struct watch_st {
	struct ak_watch_receiver *rx[WK_MAX_TASKS];
	uint64_t sent_count[WK_MAX_TASKS];
};

struct watch_producer {
	struct wk_task t;
	struct ak_watch_sender *tx;
	uint64_t v;
};

struct watch_consumer {
	struct wk_task t;
	struct ak_watch_changed_op changed;
	uint64_t version, last_version, backwards;
	uint64_t last[WK_MAX_TASKS];
};

static int watch_producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct watch_producer *p = (struct watch_producer *)(void *)f;
	struct watch_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		p->v = WK_VALUE(p->t.id, p->t.i);
		stress_op_begin(k_send);
		int rc = ak_watch_send(p->tx, &p->v);
		if (rc != 0) {
			stress_fail("watch: send returned %s", ak_err_name(rc));
			break;
		}
		stress_op_done(k_send);
		atomic_fetch_add_explicit(&p->t.ops, 1, memory_order_relaxed);
		s->sent_count[p->t.id]++;
		if (++p->t.i % 4 == 0)
			AK_YIELD(&p->t.aw);
	}
	ak_watch_sender_drop(p->tx);
	p->tx = NULL;
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (p->tx)
		ak_watch_sender_drop(p->tx);
	AK_END(&p->t.aw);
}

/* The current value, marked seen: never older than what was seen. */
static void watch_look(struct watch_consumer *c, struct ak_watch_receiver *rx, int update)
{
	struct ak_watch_ref ref;
	int rc = update ? ak_watch_borrow_and_update(rx, &ref) : ak_watch_borrow(rx, &ref);
	if (rc != 0) {
		stress_fail("watch: borrow returned %s", ak_err_name(rc));
		return;
	}
	uint64_t v = *(const uint64_t *)ref.value;
	c->version = ref.version;
	ak_watch_ref_release(&ref);
	if (c->version < c->last_version)
		c->backwards++;
	c->last_version = c->version;
	if (v == NONE)
		return;
	int id = (int)(v >> WK_SEQ_BITS);
	if (id >= c->t.w->producers || (v & SEQ_MASK) + 1 < c->last[id]) {
		if (c->backwards++ < 3)
			stress_fail("watch: consumer %d saw %#" PRIx64 " after sequence %" PRIu64,
			            c->t.id, v, c->last[id]);
		return;
	}
	c->last[id] = (v & SEQ_MASK) + 1;
}

static int watch_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct watch_consumer *c = (struct watch_consumer *)(void *)f;
	struct watch_st *s = c->t.w->st;
	AK_BEGIN(&c->t.aw, cx);
	for (;;) {
		ak_watch_changed_init(&c->changed, s->rx[c->t.id]);
		WK_AWAIT(&c->t, &c->changed.future, k_recv, "watch changed");
		if (c->t.rc == 0)
			watch_look(c, s->rx[c->t.id], 1);
		else if (c->t.rc == AK_EPIPE)
			break;
		else if (c->t.rc != WK_CANCELLED) {
			stress_fail("watch: changed returned %s", ak_err_name(c->t.rc));
			break;
		}
	}
	watch_look(c, s->rx[c->t.id], 0);       /* the last version */
	wk_finish(&c->t);
	AK_RETURN(&c->t.aw, 0);
	AK_CLEANUP(&c->t.aw);
	AK_END(&c->t.aw);
}

static void watch_setup(struct wk *w)
{
	struct watch_st *s = calloc(1, sizeof(*s));
	struct ak_watch_sender *tx;
	uint64_t none = NONE;
	w->st = s;
	k_send = stress_kind("send");
	k_recv = stress_kind("changed");
	if (ak_watch_new(sizeof(uint64_t), &none, NULL, &tx, &s->rx[0]) != 0) {
		fprintf(stderr, "watch: cannot make the channel\n");
		exit(2);
	}
	for (int i = 0; i < w->consumers; i++) {
		if (i)
			ak_watch_subscribe(tx, &s->rx[i]);
		wk_task_add(w, sizeof(struct watch_consumer), watch_consumer_poll, WK_CONSUMER, i);
	}
	for (int i = 0; i < w->producers; i++) {
		struct watch_producer *p = (struct watch_producer *)(void *)wk_task_add(
			w, sizeof(*p), watch_producer_poll, WK_PRODUCER, i);
		ak_watch_sender_clone(tx, &p->tx);
	}
	ak_watch_sender_drop(tx);
}

static void watch_check(struct wk *w)
{
	struct watch_st *s = w->st;
	uint64_t sent = 0, backwards = 0, off = 0;
	for (int i = 0; i < w->producers; i++)
		sent += s->sent_count[i];
	for (int i = 0; i < w->ntasks; i++) {
		if (w->tasks[i]->role != WK_CONSUMER)
			continue;
		struct watch_consumer *c = (struct watch_consumer *)(void *)w->tasks[i];
		backwards += c->backwards;
		off += c->version != sent;
	}
	stress_check(backwards == 0, "watch order: no consumer saw a version or a producer's "
	             "value older than one it had seen (%" PRIu64 ")", backwards);
	stress_check(off == 0, "watch count: every consumer's last version is the %" PRIu64
	             " publishes (%" PRIu64 " consumers off)", sent, off);
}

static void watch_dump(FILE *out, struct wk *w)
{
	struct watch_st *s = w->st;
	uint64_t sent = 0;
	for (int i = 0; i < w->producers; i++)
		sent += s->sent_count[i];
	fprintf(out, "watch: about %" PRIu64 " publishes\n", sent);
}

static void watch_teardown(struct wk *w)
{
	struct watch_st *s = w->st;
	for (int i = 0; i < w->consumers; i++)
		ak_watch_receiver_drop(s->rx[i]);
	free(s);
}

const struct wk_def wk_watch = {
	"watch", "producers publish, consumers wait for changes and borrow",
	2, 3, 0, 10, watch_setup, watch_check, watch_dump, watch_teardown,
};
