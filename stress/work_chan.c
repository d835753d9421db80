/*
 * stress/work_chan.c: ak-stress(1)'s mpsc and oneshot workloads (work.h).
 *
 *   mpsc       producers send (value = producer << 40 | sequence) through
 *              send operations, on a bounded channel a fifth through
 *              reserve and the permit; one consumer receives by recv or
 *              recv_many until AK_EPIPE.  -k 0: unbounded.  Checked: count
 *              and checksum of what arrived against what was sent, every
 *              producer's values in order, none twice, none missing.
 *   oneshot    producers make channels, hand each receiver to a consumer
 *              over an mpsc of capacity -k, and send (or drop the sender,
 *              a tenth), before or after the hand-over; consumers receive
 *              each.  Checked: count and checksum of the values sent and
 *              received, each receiver its own value, one AK_EPIPE per
 *              sender dropped unsent.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "work.h"

static int k_send, k_recv;

/* ---- mpsc ----------------------------------------------------------------- */

struct mpsc_st {
	struct ak_mpsc_rx *rx;
	struct stress_sum sent[WK_MAX_TASKS];
	uint64_t sent_count[WK_MAX_TASKS];
	struct wk_seen seen;
};

struct mpsc_producer {
	struct wk_task t;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_reserve_op reserve;
	uint64_t v;
};

struct mpsc_consumer {
	struct wk_task t;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_recv_many_op many;
	uint64_t v, buf[8];
	size_t n;
};

static int mpsc_producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mpsc_producer *p = (struct mpsc_producer *)(void *)f;
	struct mpsc_st *s = p->t.w->st;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		p->v = WK_VALUE(p->t.id, p->t.i);
		if (p->t.w->capacity && wk_chance(&p->t, 20)) {
			ak_mpsc_reserve_init(&p->reserve, p->tx);
			WK_AWAIT(&p->t, &p->reserve.future, k_send, "mpsc reserve");
			if (p->t.rc == 0 && ak_mpsc_permit_send(&p->reserve, &p->v) != 0)
				stress_fail("mpsc: permit_send of a live permit failed");
		} else {
			ak_mpsc_send_init(&p->send, p->tx, &p->v);
			WK_AWAIT(&p->t, &p->send.future, k_send, "mpsc send");
		}
		if (p->t.rc == WK_CANCELLED)
			continue;       /* the value is still ours: again */
		if (p->t.rc != 0) {
			stress_fail("mpsc: producer %d: send returned %s", p->t.id,
			            ak_err_name(p->t.rc));
			break;
		}
		stress_sum_add(&s->sent[p->t.id], p->v);
		s->sent_count[p->t.id]++;
		p->t.i++;
	}
	ak_mpsc_tx_drop(p->tx);
	p->tx = NULL;
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	if (p->tx)
		ak_mpsc_tx_drop(p->tx);
	AK_END(&p->t.aw);
}

static int mpsc_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mpsc_consumer *c = (struct mpsc_consumer *)(void *)f;
	struct mpsc_st *s = c->t.w->st;
	AK_BEGIN(&c->t.aw, cx);
	for (;;) {
		if (wk_chance(&c->t, 25)) {
			ak_mpsc_recv_many_init(&c->many, s->rx, c->buf, 8, &c->n);
			WK_AWAIT(&c->t, &c->many.future, k_recv, "mpsc recv_many");
			for (size_t i = 0; c->t.rc == 0 && i < c->n; i++)
				wk_seen_take(&s->seen, c->buf[i], c->t.w->producers);
		} else {
			ak_mpsc_recv_init(&c->recv, s->rx, &c->v);
			WK_AWAIT(&c->t, &c->recv.future, k_recv, "mpsc recv");
			if (c->t.rc == 0)
				wk_seen_take(&s->seen, c->v, c->t.w->producers);
		}
		if (c->t.rc == AK_EPIPE)
			break;
		if (c->t.rc != 0 && c->t.rc != WK_CANCELLED) {
			stress_fail("mpsc: recv returned %s", ak_err_name(c->t.rc));
			break;
		}
	}
	wk_finish(&c->t);
	AK_RETURN(&c->t.aw, 0);
	AK_CLEANUP(&c->t.aw);
	AK_END(&c->t.aw);
}

static void mpsc_setup(struct wk *w)
{
	struct mpsc_st *s = calloc(1, sizeof(*s));
	struct ak_mpsc_tx *tx;
	w->st = s;
	w->consumers = 1;       /* one receiver */
	k_send = stress_kind("send");
	k_recv = stress_kind("recv");
	int rc = w->capacity ? ak_mpsc_new((size_t)w->capacity, sizeof(uint64_t), NULL, &tx, &s->rx)
	                     : ak_mpsc_unbounded_new(sizeof(uint64_t), NULL, &tx, &s->rx);
	if (rc) {
		fprintf(stderr, "mpsc: %s\n", ak_err_name(rc));
		exit(2);
	}
	wk_task_add(w, sizeof(struct mpsc_consumer), mpsc_consumer_poll, WK_CONSUMER, 0);
	for (int i = 0; i < w->producers; i++) {
		struct mpsc_producer *p = (struct mpsc_producer *)(void *)wk_task_add(
			w, sizeof(*p), mpsc_producer_poll, WK_PRODUCER, i);
		ak_mpsc_tx_clone(tx, &p->tx);
	}
	ak_mpsc_tx_drop(tx);
}

static void mpsc_check(struct wk *w)
{
	struct mpsc_st *s = w->st;
	wk_check_seen("mpsc", &s->seen, s->sent, s->sent_count, w->producers);
	stress_check(ak_mpsc_len(s->rx) == 0 && ak_mpsc_sender_strong_count(s->rx) == 0,
	             "mpsc queue: empty, no sender left (%zu queued)", ak_mpsc_len(s->rx));
}

static void mpsc_dump(FILE *out, struct wk *w)
{
	struct mpsc_st *s = w->st;
	fprintf(out, "mpsc: %zu queued, %zu senders, %" PRIu64 " received\n", ak_mpsc_len(s->rx),
	        ak_mpsc_sender_strong_count(s->rx), s->seen.count);
}

static void mpsc_teardown(struct wk *w)
{
	struct mpsc_st *s = w->st;
	ak_mpsc_rx_drop(s->rx);
	free(s);
}

const struct wk_def wk_mpsc = {
	"mpsc", "producers to one consumer: send, reserve, recv, recv_many (-k 0: unbounded)",
	3, 1, 16, 10, mpsc_setup, mpsc_check, mpsc_dump, mpsc_teardown,
};

/* ---- oneshot -------------------------------------------------------------- */

struct handed {
	struct ak_oneshot_rx *rx;
	uint64_t value;
};

struct oneshot_st {
	struct ak_mpsc_rx *hand_rx[WK_MAX_TASKS];
	atomic_uint_least64_t sent, dropped, received, closed, wrong;
	struct stress_sum sent_sum, recv_sum;   /* under sum_lock */
	pthread_mutex_t sum_lock;
};

struct oneshot_producer {
	struct wk_task t;
	struct ak_mpsc_tx *hand_tx[WK_MAX_TASKS];
	struct ak_mpsc_send_op send;
	struct ak_oneshot_tx *tx;
	struct handed h;
	int to, early;
};

struct oneshot_consumer {
	struct wk_task t;
	struct ak_mpsc_recv_op take;
	struct ak_oneshot_recv_op recv;
	struct handed h;
	uint64_t v;
};

static int k_hand, k_take;

static void oneshot_give(struct oneshot_producer *p)
{
	struct oneshot_st *s = p->t.w->st;
	if (wk_chance(&p->t, 10)) {
		ak_oneshot_tx_drop(p->tx);
		atomic_fetch_add(&s->dropped, 1);
	} else {
		int rc = ak_oneshot_send(p->tx, &p->h.value);
		if (rc != 0) {
			stress_fail("oneshot: send returned %s", ak_err_name(rc));
		} else {
			atomic_fetch_add(&s->sent, 1);
			pthread_mutex_lock(&s->sum_lock);
			stress_sum_add(&s->sent_sum, p->h.value);
			pthread_mutex_unlock(&s->sum_lock);
		}
		stress_op_begin(k_send);
		stress_op_done(k_send);
	}
	p->tx = NULL;
}

static int oneshot_producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct oneshot_producer *p = (struct oneshot_producer *)(void *)f;
	struct wk *w = p->t.w;
	AK_BEGIN(&p->t.aw, cx);
	while (wk_more(&p->t)) {
		if (ak_oneshot_new(sizeof(uint64_t), NULL, &p->tx, &p->h.rx) != 0) {
			stress_fail("oneshot: new failed");
			break;
		}
		p->h.value = stress_mix64(WK_VALUE(p->t.id, p->t.i));
		p->to = (int)(p->t.i % (uint64_t)w->consumers);
		p->early = wk_chance(&p->t, 50);
		if (p->early)
			oneshot_give(p);
		do {
			ak_mpsc_send_init(&p->send, p->hand_tx[p->to], &p->h);
			WK_AWAIT(&p->t, &p->send.future, k_hand, "hand a receiver over");
		} while (p->t.rc == WK_CANCELLED);
		if (p->t.rc != 0) {
			stress_fail("oneshot: hand-over returned %s", ak_err_name(p->t.rc));
			break;
		}
		if (!p->early)
			oneshot_give(p);
		p->t.i++;
	}
	for (int i = 0; i < w->consumers; i++)
		ak_mpsc_tx_drop(p->hand_tx[i]);
	wk_finish(&p->t);
	AK_RETURN(&p->t.aw, 0);
	AK_CLEANUP(&p->t.aw);
	AK_END(&p->t.aw);
}

static int oneshot_consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct oneshot_consumer *c = (struct oneshot_consumer *)(void *)f;
	struct oneshot_st *s = c->t.w->st;
	AK_BEGIN(&c->t.aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&c->take, s->hand_rx[c->t.id], &c->h);
		WK_AWAIT(&c->t, &c->take.future, k_take, "take a receiver");
		if (c->t.rc == WK_CANCELLED)
			continue;
		if (c->t.rc != 0)
			break;  /* AK_EPIPE: every producer is done */
		do {
			ak_oneshot_recv_init(&c->recv, c->h.rx, &c->v);
			WK_AWAIT(&c->t, &c->recv.future, k_recv, "oneshot recv");
		} while (c->t.rc == WK_CANCELLED);
		if (c->t.rc == 0) {
			atomic_fetch_add(&s->received, 1);
			if (c->v != c->h.value)
				atomic_fetch_add(&s->wrong, 1);
			pthread_mutex_lock(&s->sum_lock);
			stress_sum_add(&s->recv_sum, c->v);
			pthread_mutex_unlock(&s->sum_lock);
		} else if (c->t.rc == AK_EPIPE) {
			atomic_fetch_add(&s->closed, 1);
		} else {
			stress_fail("oneshot: recv returned %s", ak_err_name(c->t.rc));
		}
		ak_oneshot_rx_drop(c->h.rx);
	}
	if (c->t.rc != AK_EPIPE)
		stress_fail("oneshot: taking a receiver returned %s", ak_err_name(c->t.rc));
	wk_finish(&c->t);
	AK_RETURN(&c->t.aw, 0);
	AK_CLEANUP(&c->t.aw);
	AK_END(&c->t.aw);
}

static void oneshot_setup(struct wk *w)
{
	struct oneshot_st *s = calloc(1, sizeof(*s));
	struct ak_mpsc_tx *tx[WK_MAX_TASKS];
	w->st = s;
	pthread_mutex_init(&s->sum_lock, NULL);
	if (w->capacity == 0)
		w->capacity = 1;
	k_hand = stress_kind("hand-over");
	k_take = stress_kind("take");
	k_send = stress_kind("send");
	k_recv = stress_kind("recv");
	for (int i = 0; i < w->consumers; i++) {
		ak_mpsc_new((size_t)w->capacity, sizeof(struct handed), NULL, &tx[i], &s->hand_rx[i]);
		wk_task_add(w, sizeof(struct oneshot_consumer), oneshot_consumer_poll, WK_CONSUMER, i);
	}
	for (int i = 0; i < w->producers; i++) {
		struct oneshot_producer *p = (struct oneshot_producer *)(void *)wk_task_add(
			w, sizeof(*p), oneshot_producer_poll, WK_PRODUCER, i);
		for (int j = 0; j < w->consumers; j++)
			ak_mpsc_tx_clone(tx[j], &p->hand_tx[j]);
	}
	for (int i = 0; i < w->consumers; i++)
		ak_mpsc_tx_drop(tx[i]);
}

static void oneshot_check(struct wk *w)
{
	struct oneshot_st *s = w->st;
	uint64_t sent = atomic_load(&s->sent), got = atomic_load(&s->received);
	uint64_t dropped = atomic_load(&s->dropped), closed = atomic_load(&s->closed);
	(void)w;
	stress_check(got == sent && stress_sum_equal(&s->recv_sum, &s->sent_sum),
	             "oneshot count and sum: %" PRIu64 " sent, %" PRIu64 " received", sent, got);
	stress_check(closed == dropped, "oneshot closes: %" PRIu64 " senders dropped unsent, "
	             "%" PRIu64 " receives saw AK_EPIPE", dropped, closed);
	stress_check(atomic_load(&s->wrong) == 0, "oneshot values: each receiver got its own");
}

static void oneshot_dump(FILE *out, struct wk *w)
{
	struct oneshot_st *s = w->st;
	fprintf(out, "oneshot: %" PRIuLEAST64 " sent, %" PRIuLEAST64 " received, %" PRIuLEAST64
	        " dropped, %" PRIuLEAST64 " closed\n", atomic_load(&s->sent),
	        atomic_load(&s->received), atomic_load(&s->dropped), atomic_load(&s->closed));
	for (int i = 0; i < w->consumers; i++)
		fprintf(out, "hand-over to consumer %d: %zu queued\n", i, ak_mpsc_len(s->hand_rx[i]));
}

static void oneshot_teardown(struct wk *w)
{
	struct oneshot_st *s = w->st;
	for (int i = 0; i < w->consumers; i++)
		ak_mpsc_rx_drop(s->hand_rx[i]);
	free(s);
}

const struct wk_def wk_oneshot = {
	"oneshot", "channels made by producers, received by consumers (hand-over capacity -k)",
	2, 2, 4, 10, oneshot_setup, oneshot_check, oneshot_dump, oneshot_teardown,
};

