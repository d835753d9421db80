/* pingpong_mpsc: two tasks on one thread (the single-thread executor), two
 * channels of capacity 1; A sends i and awaits it back, B echoes.  One op =
 * one message (two per round trip), as in the Go and tokio peers.
 *
 * rendezvous_pingpong: the same on two channels of capacity 0 (the
 * rendezvous, Go's unbuffered channel): each send completes only once the
 * other side's receive takes the value.  Go's peer uses two unbuffered
 * chans; tokio has no rendezvous channel (bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "bench.h"

int bk_pingpong_mpsc(uint64_t size, struct bk_result *r);
int bk_rendezvous_pingpong(uint64_t size, struct bk_result *r);

struct side {
	struct ak_future future;
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	uint64_t rounds, i, ok;
	int64_t out, in;
	int state;           /* 0: start a send, 1: sending, 2: start a recv, 3: receiving */
	int echo;            /* B: receive first, echo */
	union {
		struct ak_mpsc_send_op send;
		struct ak_mpsc_recv_op recv;
	} op;
};

static int side_poll(struct ak_future *f, struct ak_context *cx)
{
	struct side *s = (struct side *)f;
	int rc;
	for (;;) {
		switch (s->state) {
		case 0:
			if (!s->echo && s->i == s->rounds) {
				ak_mpsc_tx_drop(s->tx);
				s->tx = NULL;
				return 0;
			}
			s->out = s->echo ? s->in : (int64_t)s->i;
			ak_mpsc_send_init(&s->op.send, s->tx, &s->out);
			s->state = 1;
			/* fall through */
		case 1:
			rc = ak_future_poll(&s->op.send.future, cx);
			if (rc)
				return rc;
			s->state = 2;
			if (s->echo) {
				s->ok++;
				s->state = 2;
			}
			/* fall through */
		case 2:
			ak_mpsc_recv_init(&s->op.recv, s->rx, &s->in);
			s->state = 3;
			/* fall through */
		default:
			rc = ak_future_poll(&s->op.recv.future, cx);
			if (rc == AK_EPIPE && s->echo) {
				ak_mpsc_tx_drop(s->tx);
				s->tx = NULL;
				return 0;
			}
			if (rc)
				return rc;
			if (!s->echo) {
				if (s->in == (int64_t)s->i)
					s->ok++;
				s->i++;
			}
			s->state = 0;
		}
	}
}

static void side_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable side_vtable = { side_poll, side_cancel };

static int pingpong(uint64_t size, struct bk_result *r, size_t cap, const char *name)
{
	struct ak_executor *ex;
	struct ak_mpsc_tx *tab, *tba;
	struct ak_mpsc_rx *rab, *rba;
	static struct side a, b;
	uint64_t rounds = size / 2;

	r->ops = 2 * rounds;
	if (ak_mpsc_new(cap, sizeof(int64_t), NULL, &tab, &rab) ||
	    ak_mpsc_new(cap, sizeof(int64_t), NULL, &tba, &rba) || ak_executor_new(&ex)) {
		fprintf(stderr, "%s: set-up failed\n", name);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ak_future_init(&a.future, &side_vtable);
	ak_future_init(&b.future, &side_vtable);
	a.tx = tab;
	a.rx = rba;
	a.rounds = rounds;
	b.tx = tba;
	b.rx = rab;
	b.echo = 1;
	b.state = 2;
	bk_start(r);
	ak_executor_spawn(ex, &b.future, NULL);
	ak_executor_spawn(ex, &a.future, NULL);
	int rc = ak_executor_run(ex);
	bk_stop(r);
	ak_executor_free(ex);
	ak_mpsc_rx_drop(rab);
	ak_mpsc_rx_drop(rba);
	if (rc < 0 || a.ok != rounds || b.ok != rounds) {
		fprintf(stderr, "%s: %llu of %llu round trips (echoed %llu), rc %d\n", name,
		        (unsigned long long)a.ok, (unsigned long long)rounds,
		        (unsigned long long)b.ok, rc);
		return -1;
	}
	return 0;
}

int bk_pingpong_mpsc(uint64_t size, struct bk_result *r)
{
	return pingpong(size, r, 1, "pingpong_mpsc");
}

int bk_rendezvous_pingpong(uint64_t size, struct bk_result *r)
{
	return pingpong(size, r, 0, "rendezvous_pingpong");
}
