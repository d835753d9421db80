/*
 * select_2chan: one consumer task selects over 2 bounded(1024) mpsc
 * channels, each fed by its own producer task (n/2 values each), on a pool
 * of two workers; the precondition disables a channel once it is closed,
 * and the select's AK_ENOENT (all disabled) ends the loop, as the Rust
 * peer's `if open1` / `else => break` and the Go peer's nil channels do.
 * The select holds its loser (AK_SELECT_KEEP): each message re-makes the
 * receive that won and re-arms the select (ak_select_rearm), as a Rust
 * loop over `&mut` futures would replace only the completed one (tokio's
 * peer re-creates both recv() futures, which costs it nothing: they hold
 * a reference).
 * ops = messages received.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* A producer task: one send per value, as a tokio task awaits send().
 * (mpsc_tasks.h has the same one beside things this file does not use.) */
struct bk_feeder {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	uint64_t next, end;
	int64_t value;
	int active;
	int rc;
	struct ak_mpsc_send_op op;
};

static int bk_feeder_poll(struct ak_future *f, struct ak_context *cx)
{
	struct bk_feeder *p = (struct bk_feeder *)f;
	while (p->next < p->end) {
		if (!p->active) {
			p->value = (int64_t)p->next;
			ak_mpsc_send_init(&p->op, p->tx, &p->value);
			p->active = 1;
		}
		int rc = ak_future_poll(&p->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		p->active = 0;
		if (rc != 0) {
			p->rc = rc;
			break;
		}
		p->next++;
	}
	ak_mpsc_tx_drop(p->tx);   /* closes the channel: the consumer's AK_EPIPE */
	p->tx = NULL;
	return 0;
}

static void bk_feeder_cancel(struct ak_future *f)
{
	struct bk_feeder *p = (struct bk_feeder *)f;
	ak_future_cancel(&p->op.future);
	ak_mpsc_tx_drop(p->tx);
}

static const struct ak_future_vtable bk_feeder_vtable = { bk_feeder_poll, bk_feeder_cancel };

int bk_select_2chan(uint64_t size, struct bk_result *r);

struct bk_selector {
	struct ak_future future;
	struct ak_mpsc_rx *rx[2];
	int active;
	int made;
	int64_t v[2];
	uint64_t k[2];
	int64_t sum;
	struct ak_mpsc_recv_op recv[2];
	struct ak_branch b[2];
	struct ak_select_op sel;
};

/* A select with AK_SELECT_KEEP, as select! over `&mut` futures: a win
 * leaves the other receive pending (not cancelled), so each message
 * re-initialises the receive that won and nothing else. */
static int bk_selector_poll(struct ak_future *f, struct ak_context *cx)
{
	struct bk_selector *s = (struct bk_selector *)f;
	for (;;) {
		if (!s->active) {
			/* The first select is made, each one after is re-armed:
			 * the winner's branch taken again, the loser as it is. */
			int rc = s->made ? ak_select_rearm(&s->sel)
			                 : ak_select_init(&s->sel, s->b, 2, AK_SELECT_KEEP);
			if (rc != 0)
				return rc;
			s->made = 1;
			s->active = 1;
		}
		int rc = ak_future_poll(&s->sel.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		s->active = 0;
		if (rc == AK_ENOENT)
			return 0;           /* both closed: the `else => break` */
		if (rc != 0)
			return rc;
		int w = ak_select_index(&s->sel);
		if (s->b[w].status == AK_EPIPE) {
			s->b[w].flags = AK_BRANCH_DISABLED;   /* `if open` false */
		} else if (s->b[w].status != 0) {
			return s->b[w].status;
		} else {
			s->k[w]++;
			s->sum += s->v[w];
			ak_mpsc_recv_init(&s->recv[w], s->rx[w], &s->v[w]);
		}
	}
}

static void bk_selector_cancel(struct ak_future *f)
{
	struct bk_selector *s = (struct bk_selector *)f;
	if (s->active)
		ak_future_cancel(&s->sel.future);
	/* Between two selects the loser is held: let go, then cancelled. */
	ak_select_release(&s->sel);
	for (int i = 0; i < 2; i++)
		ak_future_cancel(&s->recv[i].future);
}

static const struct ak_future_vtable bk_selector_vtable = { bk_selector_poll, bk_selector_cancel };

int bk_select_2chan(uint64_t size, struct bk_result *r)
{
	struct ak_pool *pool;
	struct ak_mpsc_tx *tx[2];
	struct bk_feeder prod[2];
	static struct bk_selector sel;
	uint64_t n = size - size % 2, per = n / 2;
	int rc = 0, task_rc = 0;

	r->ops = n;
	memset(&sel, 0, sizeof sel);
	ak_future_init(&sel.future, &bk_selector_vtable);
	for (int i = 0; i < 2; i++) {
		rc |= ak_mpsc_new(1024, sizeof(int64_t), NULL, &tx[i], &sel.rx[i]);
		if (rc == 0)
			rc = ak_mpsc_recv_init(&sel.recv[i], sel.rx[i], &sel.v[i]);
		sel.b[i].future = &sel.recv[i].future;
	}
	if (rc || ak_pool_new(&pool, bk_workers) != 0) {
		fprintf(stderr, "select_2chan: set-up failed (%d)\n", rc);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		memset(&prod[i], 0, sizeof prod[i]);
		ak_future_init(&prod[i].future, &bk_feeder_vtable);
		prod[i].tx = tx[i];
		prod[i].next = per * (uint64_t)i;
		prod[i].end = per * (uint64_t)(i + 1);
	}
	struct ak_task *task = NULL;
	bk_start(r);
	ak_pool_spawn(pool, &sel.future, &task);
	for (int i = 0; i < 2; i++)
		ak_pool_spawn(pool, &prod[i].future, NULL);
	rc = ak_pool_wait_idle(pool, AK_DEADLINE_NEVER);
	bk_stop(r);
	if (task) {
		task_rc = ak_task_result(task);
		ak_task_release(task);
	}
	ak_pool_free(pool);
	for (int i = 0; i < 2; i++)
		ak_mpsc_rx_drop(sel.rx[i]);
	int64_t want = (int64_t)(n * (n - 1) / 2);
	if (rc != 0 || task_rc != 0 || sel.k[0] != per || sel.k[1] != per || sel.sum != want) {
		fprintf(stderr, "select_2chan: received %llu + %llu (sum %lld), want %llu each (sum %lld);"
		        " rc %d, consumer %d\n", (unsigned long long)sel.k[0],
		        (unsigned long long)sel.k[1], (long long)sel.sum, (unsigned long long)per,
		        (long long)want, rc, task_rc);
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (prod[i].rc) {
			fprintf(stderr, "select_2chan: producer %d: %d\n", i, prod[i].rc);
			return -1;
		}
	return 0;
}
