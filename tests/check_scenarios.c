/*
 * tests/check_scenarios.c: channel, sync and select scenarios whose
 * futures all run as tasks, written once against the testkit's tk_exec
 * and run on every executor by the executor matrix (runner --executors).
 * Each checks exact results (count, sum, order, the most holders at once),
 * never a time; the testkit's fixture checks that no waker clone or
 * allocation is left.
 */
#include <stdatomic.h>
#include <string.h>
#include <check.h>

#include "testkit.h"

Suite *scenarios_suite(void);

#define MS 1000000LL

/* The cancel of a task written with the await macros, whose struct starts
 * with its future and then its struct ak_await. */
struct task_head {
	struct ak_future future;
	struct ak_await aw;
};

static void await_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct task_head *)(void *)f)->aw, f);
}

/* Until every spawned task finished (fails the test at 8 s). */
static void run_all(struct tk_exec *x)
{
	int rc = tk_exec_run(x, ak_deadline_in(8000 * MS));
	ck_assert_msg(rc == 0, "%s: run: %s", tk_exec_name(x), ak_strerror(rc));
}

#define TASK_VTABLE(type)                                                   \
	static int type##_poll(struct ak_future *f, struct ak_context *cx);  \
	static const struct ak_future_vtable type##_vt = { type##_poll,      \
	                                                   await_cancel }

/* ---- mpsc: producers to one consumer, bounded ------------------------ */

#define PRODUCERS 3
#define PER_PRODUCER 300

struct producer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_tx *tx;
	long v;
	int i, id, rc;
};
TASK_VTABLE(producer);

static int producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct producer *p = (struct producer *)(void *)f;
	AK_BEGIN(&p->aw, cx);
	for (p->i = 1; p->i <= PER_PRODUCER; p->i++) {
		p->v = ((long)p->id << 20) | p->i;
		ak_mpsc_send_init(&p->send, p->tx, &p->v);
		AK_AWAIT(&p->aw, &p->send.future, p->rc);
		if (p->rc != 0)
			break;
	}
	ak_mpsc_tx_drop(p->tx);
	p->tx = NULL;
	AK_RETURN(&p->aw, p->rc);
	AK_CLEANUP(&p->aw);
	if (p->tx)
		ak_mpsc_tx_drop(p->tx);
	AK_END(&p->aw);
}

struct consumer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_rx *rx;
	long v, count, sum;
	int last[PRODUCERS], out_of_order, rc;
};
TASK_VTABLE(consumer);

static int consumer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct consumer *c = (struct consumer *)(void *)f;
	AK_BEGIN(&c->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&c->recv, c->rx, &c->v);
		AK_AWAIT(&c->aw, &c->recv.future, c->rc);
		if (c->rc != 0)
			break;
		int id = (int)(c->v >> 20), seq = (int)(c->v & 0xfffff);
		c->out_of_order += seq != c->last[id] + 1;
		c->last[id] = seq;
		c->count++;
		c->sum += seq;
	}
	AK_RETURN(&c->aw, c->rc == AK_EPIPE ? 0 : c->rc);
	AK_CLEANUP(&c->aw);
	AK_END(&c->aw);
}

START_TEST(mpsc_values_from_every_producer_arrive_once_in_order)
{
	struct tk_exec *x;
	struct producer p[PRODUCERS];
	struct consumer c;
	struct ak_mpsc_tx *tx;

	x = tk_exec_new("pool", 2);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(ak_mpsc_new(4, sizeof(long), NULL, &tx, &c.rx), 0);
	ak_future_init(&c.future, &consumer_vt);
	tk_exec_spawn(x, &c.future);
	for (int i = 0; i < PRODUCERS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].id = i;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &p[i].tx), 0);
		ak_future_init(&p[i].future, &producer_vt);
		tk_exec_spawn(x, &p[i].future);
	}
	ak_mpsc_tx_drop(tx);
	run_all(x);
	ck_assert_int_eq(c.count, PRODUCERS * PER_PRODUCER);
	ck_assert_int_eq(c.sum, (long)PRODUCERS * PER_PRODUCER * (PER_PRODUCER + 1) / 2);
	ck_assert_int_eq(c.out_of_order, 0);
	for (int i = 0; i < PRODUCERS; i++)
		ck_assert_int_eq(p[i].rc, 0);
	ak_mpsc_rx_drop(c.rx);
	tk_exec_free(x);
}
END_TEST

/* ---- oneshot: request and reply between two tasks --------------------- */

#define ROUNDS 100

struct request {
	long n;
	struct ak_oneshot_tx *reply;
};

struct client {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_tx *tx;
	struct ak_oneshot_rx *rx;
	struct ak_oneshot_recv_op recv;
	struct request req;
	long answer, sum;
	int i, rc;
};
TASK_VTABLE(client);

static int client_poll(struct ak_future *f, struct ak_context *cx)
{
	struct client *c = (struct client *)(void *)f;
	AK_BEGIN(&c->aw, cx);
	for (c->i = 1; c->i <= ROUNDS; c->i++) {
		c->rc = ak_oneshot_new(sizeof(long), NULL, &c->req.reply, &c->rx);
		if (c->rc)
			break;
		c->req.n = c->i;
		c->rc = ak_mpsc_try_send(c->tx, &c->req);       /* unbounded */
		if (c->rc) {
			ak_oneshot_tx_drop(c->req.reply);
			break;
		}
		ak_oneshot_recv_init(&c->recv, c->rx, &c->answer);
		AK_AWAIT(&c->aw, &c->recv.future, c->rc);
		ak_oneshot_rx_drop(c->rx);
		c->rx = NULL;
		if (c->rc)
			break;
		c->sum += c->answer;
	}
	ak_mpsc_tx_drop(c->tx);
	c->tx = NULL;
	AK_RETURN(&c->aw, c->rc);
	AK_CLEANUP(&c->aw);
	if (c->rx)
		ak_oneshot_rx_drop(c->rx);
	if (c->tx)
		ak_mpsc_tx_drop(c->tx);
	AK_END(&c->aw);
}

struct server {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct request req;
	int served, rc;
};
TASK_VTABLE(server);

static int server_poll(struct ak_future *f, struct ak_context *cx)
{
	struct server *s = (struct server *)(void *)f;
	AK_BEGIN(&s->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&s->recv, s->rx, &s->req);
		AK_AWAIT(&s->aw, &s->recv.future, s->rc);
		if (s->rc)
			break;
		long twice = 2 * s->req.n;
		if (ak_oneshot_send(s->req.reply, &twice) == 0)
			s->served++;
	}
	AK_RETURN(&s->aw, s->rc == AK_EPIPE ? 0 : s->rc);
	AK_CLEANUP(&s->aw);
	AK_END(&s->aw);
}

START_TEST(oneshot_replies_answer_every_request_between_tasks)
{
	struct tk_exec *x;
	struct client c;
	struct server s;

	x = tk_exec_new("pool", 2);
	memset(&c, 0, sizeof(c));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(struct request), NULL, &c.tx, &s.rx), 0);
	ak_future_init(&c.future, &client_vt);
	ak_future_init(&s.future, &server_vt);
	tk_exec_spawn(x, &s.future);
	tk_exec_spawn(x, &c.future);
	run_all(x);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(s.served, ROUNDS);
	ck_assert_int_eq(c.sum, (long)ROUNDS * (ROUNDS + 1));
	ak_mpsc_rx_drop(s.rx);
	tk_exec_free(x);
}
END_TEST

/* ---- broadcast: every receiver sees every value ------------------------ */

#define RECEIVERS 3
#define VALUES 64

struct caster {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_tx *tx;
	long v;
	int rc;
};
TASK_VTABLE(caster);

static int caster_poll(struct ak_future *f, struct ak_context *cx)
{
	struct caster *b = (struct caster *)(void *)f;
	AK_BEGIN(&b->aw, cx);
	for (b->v = 1; b->v <= VALUES; b->v++) {
		b->rc = ak_broadcast_send(b->tx, &b->v, NULL);
		if (b->rc)
			break;
		AK_YIELD(&b->aw);
	}
	ak_broadcast_tx_drop(b->tx);
	b->tx = NULL;
	AK_RETURN(&b->aw, b->rc);
	AK_CLEANUP(&b->aw);
	if (b->tx)
		ak_broadcast_tx_drop(b->tx);
	AK_END(&b->aw);
}

struct listener {
	struct ak_future future;
	struct ak_await aw;
	struct ak_broadcast_rx *rx;
	struct ak_broadcast_recv_op recv;
	long v, sum, count;
	uint64_t missed;
	int rc;
};
TASK_VTABLE(listener);

static int listener_poll(struct ak_future *f, struct ak_context *cx)
{
	struct listener *l = (struct listener *)(void *)f;
	AK_BEGIN(&l->aw, cx);
	for (;;) {
		ak_broadcast_recv_init(&l->recv, l->rx, &l->v, &l->missed);
		AK_AWAIT(&l->aw, &l->recv.future, l->rc);
		if (l->rc)
			break;
		l->sum += l->v;
		l->count++;
	}
	AK_RETURN(&l->aw, l->rc == AK_EPIPE ? 0 : l->rc);
	AK_CLEANUP(&l->aw);
	AK_END(&l->aw);
}

START_TEST(broadcast_every_receiver_task_sees_every_value)
{
	struct tk_exec *x;
	struct caster b;
	struct listener l[RECEIVERS];

	x = tk_exec_new("pool", 2);
	memset(&b, 0, sizeof(b));
	memset(l, 0, sizeof(l));
	ck_assert_int_eq(ak_broadcast_new(&b.tx, &l[0].rx, VALUES, sizeof(long), NULL), 0);
	for (int i = 1; i < RECEIVERS; i++)
		ck_assert_int_eq(ak_broadcast_subscribe(b.tx, &l[i].rx), 0);
	for (int i = 0; i < RECEIVERS; i++) {
		ak_future_init(&l[i].future, &listener_vt);
		tk_exec_spawn(x, &l[i].future);
	}
	ak_future_init(&b.future, &caster_vt);
	tk_exec_spawn(x, &b.future);
	run_all(x);
	ck_assert_int_eq(b.rc, 0);
	for (int i = 0; i < RECEIVERS; i++) {
		ck_assert_int_eq(l[i].rc, AK_EPIPE);       /* closed, after all */
		ck_assert_int_eq(l[i].count, VALUES);
		ck_assert_int_eq(l[i].sum, (long)VALUES * (VALUES + 1) / 2);
		ak_broadcast_rx_drop(l[i].rx);
	}
	tk_exec_free(x);
}
END_TEST

/* ---- Mutex held across an await, Semaphore limiting holders ------------ */

#define LOCKERS 4
#define LOCKS 50

struct locker {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex *mutex;
	struct ak_mutex_lock_op lock;
	struct ak_semaphore *sem;
	struct ak_semaphore_acquire_op acq;
	long *counter;              /* plain: the lock orders it */
	atomic_int *holders;
	atomic_int *most;
	long seen;
	int i, rc;
};
TASK_VTABLE(locker);

static void note_holder(struct locker *k)
{
	int now = atomic_fetch_add(k->holders, 1) + 1;
	int most = atomic_load(k->most);
	while (now > most && !atomic_compare_exchange_weak(k->most, &most, now))
		;
}

static int locker_poll(struct ak_future *f, struct ak_context *cx)
{
	struct locker *k = (struct locker *)(void *)f;
	AK_BEGIN(&k->aw, cx);
	for (k->i = 0; k->i < LOCKS; k->i++) {
		if (k->mutex) {
			ak_mutex_lock_init(&k->lock, k->mutex);
			AK_AWAIT(&k->aw, &k->lock.future, k->rc);
		} else {
			ak_semaphore_acquire_init(&k->acq, k->sem, 1);
			AK_AWAIT(&k->aw, &k->acq.future, k->rc);
		}
		if (k->rc)
			break;
		note_holder(k);
		k->seen = *k->counter;
		AK_YIELD(&k->aw);               /* held across an await */
		*k->counter = k->seen + 1;
		atomic_fetch_sub(k->holders, 1);
		if (k->mutex)
			ak_mutex_unlock(&k->lock);
		else
			ak_semaphore_release(&k->acq);
	}
	AK_RETURN(&k->aw, k->rc);
	AK_CLEANUP(&k->aw);
	AK_END(&k->aw);
}

START_TEST(mutex_guard_held_across_an_await_keeps_the_count_exact)
{
	struct tk_exec *x;
	struct locker k[LOCKERS];
	struct ak_mutex *mutex;
	long counter = 0;
	atomic_int holders = 0, most = 0;

	x = tk_exec_new("pool", 2);
	ck_assert_int_eq(ak_mutex_new(&mutex, 0), 0);
	for (int i = 0; i < LOCKERS; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].mutex = mutex;
		k[i].counter = &counter;
		k[i].holders = &holders;
		k[i].most = &most;
		ak_future_init(&k[i].future, &locker_vt);
		tk_exec_spawn(x, &k[i].future);
	}
	run_all(x);
	for (int i = 0; i < LOCKERS; i++)
		ck_assert_int_eq(k[i].rc, 0);
	ck_assert_int_eq(counter, LOCKERS * LOCKS);
	ck_assert_int_eq(atomic_load(&most), 1);
	ck_assert_int_eq(ak_mutex_free(mutex), 0);
	tk_exec_free(x);
}
END_TEST

#define SEM_TASKS 6
#define PERMITS 2

START_TEST(semaphore_never_has_more_holders_than_permits)
{
	struct tk_exec *x;
	struct locker k[SEM_TASKS];
	struct ak_semaphore *sem;
	atomic_int holders = 0, most = 0;

	x = tk_exec_new("pool", 2);
	ck_assert_int_eq(ak_semaphore_new(&sem, PERMITS), 0);
	for (int i = 0; i < SEM_TASKS; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		k[i].sem = sem;
		k[i].counter = &k[i].seen;      /* its own: two may hold */
		k[i].holders = &holders;
		k[i].most = &most;
		ak_future_init(&k[i].future, &locker_vt);
		tk_exec_spawn(x, &k[i].future);
	}
	run_all(x);
	for (int i = 0; i < SEM_TASKS; i++)
		ck_assert_int_eq(k[i].rc, 0);
	ck_assert_int_le(atomic_load(&most), PERMITS);
	ck_assert_int_ge(atomic_load(&most), 1);
	ck_assert_int_eq(ak_semaphore_free(sem), 0);
	tk_exec_free(x);
}
END_TEST

/* ---- Barrier: one leader per generation -------------------------------- */

#define PARTIES 4
#define GENERATIONS 10

struct party {
	struct ak_future future;
	struct ak_await aw;
	struct ak_barrier *barrier;
	struct ak_barrier_wait_op wait;
	int is_leader, leads, i, rc;
};
TASK_VTABLE(party);

static int party_poll(struct ak_future *f, struct ak_context *cx)
{
	struct party *p = (struct party *)(void *)f;
	AK_BEGIN(&p->aw, cx);
	for (p->i = 0; p->i < GENERATIONS; p->i++) {
		ak_barrier_wait_init(&p->wait, p->barrier, &p->is_leader);
		AK_AWAIT(&p->aw, &p->wait.future, p->rc);
		if (p->rc)
			break;
		p->leads += p->is_leader;
	}
	AK_RETURN(&p->aw, p->rc);
	AK_CLEANUP(&p->aw);
	AK_END(&p->aw);
}

START_TEST(barrier_releases_every_generation_with_one_leader)
{
	struct tk_exec *x;
	struct party p[PARTIES];
	struct ak_barrier *barrier;
	int leads = 0;

	x = tk_exec_new("pool", 2);
	ck_assert_int_eq(ak_barrier_new(&barrier, PARTIES), 0);
	for (int i = 0; i < PARTIES; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].barrier = barrier;
		ak_future_init(&p[i].future, &party_vt);
		tk_exec_spawn(x, &p[i].future);
	}
	run_all(x);
	for (int i = 0; i < PARTIES; i++) {
		ck_assert_int_eq(p[i].rc, 0);
		leads += p[i].leads;
	}
	ck_assert_int_eq(leads, GENERATIONS);
	ck_assert_int_eq(ak_barrier_free(barrier), 0);
	tk_exec_free(x);
}
END_TEST

/* ---- select: two channels into one task; a timeout ---------------------- */

struct chooser {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx[2];
	struct ak_mpsc_recv_op recv[2];
	struct ak_branch br[2];
	struct ak_select_op sel;
	long v[2], count[2], sum;
	int closed[2], rc;
};
TASK_VTABLE(chooser);

static int chooser_poll(struct ak_future *f, struct ak_context *cx)
{
	struct chooser *c = (struct chooser *)(void *)f;
	AK_BEGIN(&c->aw, cx);
	while (!c->closed[0] || !c->closed[1]) {
		for (int i = 0; i < 2; i++) {
			ak_mpsc_recv_init(&c->recv[i], c->rx[i], &c->v[i]);
			c->br[i] = (struct ak_branch){ &c->recv[i].future, 0,
			                               c->closed[i] ? AK_BRANCH_DISABLED : 0u };
		}
		ak_select_init(&c->sel, c->br, 2, 0);
		AK_AWAIT(&c->aw, &c->sel.future, c->rc);
		int i = ak_select_index(&c->sel);
		if (i < 0 || i > 1)
			AK_RETURN(&c->aw, c->rc ? c->rc : AK_EINVAL);
		if (c->br[i].status == AK_EPIPE) {
			c->closed[i] = 1;
		} else if (c->br[i].status == 0) {
			c->count[i]++;
			c->sum += c->v[i];
		} else {
			AK_RETURN(&c->aw, c->br[i].status);
		}
	}
	AK_RETURN(&c->aw, 0);
	AK_CLEANUP(&c->aw);
	AK_END(&c->aw);
}

START_TEST(select_takes_every_value_from_two_channels_until_both_close)
{
	struct tk_exec *x;
	struct chooser c;
	struct producer p[2];

	x = tk_exec_new("pool", 2);
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		ck_assert_int_eq(ak_mpsc_new(2, sizeof(long), NULL, &p[i].tx, &c.rx[i]), 0);
		ak_future_init(&p[i].future, &producer_vt);
		tk_exec_spawn(x, &p[i].future);
	}
	ak_future_init(&c.future, &chooser_vt);
	tk_exec_spawn(x, &c.future);
	run_all(x);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(c.count[0], PER_PRODUCER);
	ck_assert_int_eq(c.count[1], PER_PRODUCER);
	/* id 0 in both: the values are the sequence numbers */
	ck_assert_int_eq(c.sum, (long)PER_PRODUCER * (PER_PRODUCER + 1));
	for (int i = 0; i < 2; i++)
		ak_mpsc_rx_drop(c.rx[i]);
	tk_exec_free(x);
}
END_TEST

struct waiter {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_recv_op recv;
	struct ak_sleep_op sleep;
	struct ak_branch br[2];
	struct ak_select_op sel;
	long v;
	int index, rc;
};
TASK_VTABLE(waiter);

static int waiter_poll(struct ak_future *f, struct ak_context *cx)
{
	struct waiter *w = (struct waiter *)(void *)f;
	AK_BEGIN(&w->aw, cx);
	ak_mpsc_recv_init(&w->recv, w->rx, &w->v);
	ak_sleep_for(&w->sleep, 2 * 1000 * 1000);
	w->br[0] = (struct ak_branch){ &w->recv.future, 0, 0 };
	w->br[1] = (struct ak_branch){ &w->sleep.future, 0, 0 };
	ak_select_init(&w->sel, w->br, 2, 0);
	AK_AWAIT(&w->aw, &w->sel.future, w->rc);
	w->index = ak_select_index(&w->sel);
	AK_RETURN(&w->aw, w->rc);
	AK_CLEANUP(&w->aw);
	AK_END(&w->aw);
}

START_TEST(select_with_a_timeout_takes_the_timer_when_nothing_is_sent)
{
	struct tk_exec *x;
	struct waiter w[2];
	struct ak_mpsc_tx *tx[2];

	x = tk_exec_new("pool", 2);
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		ck_assert_int_eq(ak_mpsc_new(1, sizeof(long), NULL, &tx[i], &w[i].rx), 0);
		ak_future_init(&w[i].future, &waiter_vt);
		tk_exec_spawn(x, &w[i].future);
	}
	run_all(x);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(w[i].rc, 0);
		ck_assert_int_eq(w[i].index, 1);
		ck_assert_int_eq(ak_mpsc_try_send(tx[i], &(long){ 7 }), 0);  /* still open */
		ak_mpsc_tx_drop(tx[i]);
		ak_mpsc_rx_drop(w[i].rx);
	}
	tk_exec_free(x);
}
END_TEST

/* ---- join: three replies, each from its own task ------------------------- */

struct teller {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_tx *tx;
	long v;
	int rc;
};
TASK_VTABLE(teller);

static int teller_poll(struct ak_future *f, struct ak_context *cx)
{
	struct teller *t = (struct teller *)(void *)f;
	AK_BEGIN(&t->aw, cx);
	AK_YIELD(&t->aw);
	AK_YIELD(&t->aw);
	t->rc = ak_oneshot_send(t->tx, &t->v);
	t->tx = NULL;
	AK_RETURN(&t->aw, t->rc);
	AK_CLEANUP(&t->aw);
	if (t->tx)
		ak_oneshot_tx_drop(t->tx);
	AK_END(&t->aw);
}

struct joiner {
	struct ak_future future;
	struct ak_await aw;
	struct ak_oneshot_rx *rx[3];
	struct ak_oneshot_recv_op recv[3];
	struct ak_branch br[3];
	struct ak_join_op join;
	long v[3];
	int rc;
};
TASK_VTABLE(joiner);

static int joiner_poll(struct ak_future *f, struct ak_context *cx)
{
	struct joiner *j = (struct joiner *)(void *)f;
	AK_BEGIN(&j->aw, cx);
	for (int i = 0; i < 3; i++) {
		ak_oneshot_recv_init(&j->recv[i], j->rx[i], &j->v[i]);
		j->br[i] = (struct ak_branch){ &j->recv[i].future, 0, 0 };
	}
	ak_join_init(&j->join, j->br, 3, 0);
	AK_AWAIT(&j->aw, &j->join.future, j->rc);
	AK_RETURN(&j->aw, j->rc);
	AK_CLEANUP(&j->aw);
	AK_END(&j->aw);
}

START_TEST(join_completes_when_every_task_has_replied)
{
	struct tk_exec *x;
	struct teller t[3];
	struct joiner j;

	x = tk_exec_new("pool", 2);
	memset(&j, 0, sizeof(j));
	for (int i = 0; i < 3; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].v = 10 * (i + 1);
		ck_assert_int_eq(ak_oneshot_new(sizeof(long), NULL, &t[i].tx, &j.rx[i]), 0);
		ak_future_init(&t[i].future, &teller_vt);
	}
	/* The pool may start a task as it is spawned: everything first. */
	ak_future_init(&j.future, &joiner_vt);
	tk_exec_spawn(x, &j.future);
	for (int i = 0; i < 3; i++)
		tk_exec_spawn(x, &t[i].future);
	run_all(x);
	ck_assert_int_eq(j.rc, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(t[i].rc, 0);
		ck_assert_int_eq(j.br[i].status, 0);
		ck_assert_int_eq(j.v[i], 10 * (i + 1));
		ak_oneshot_rx_drop(j.rx[i]);
	}
	tk_exec_free(x);
}
END_TEST

Suite *scenarios_suite(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tk_tasks_tcase();

	tcase_add_test(tc, mpsc_values_from_every_producer_arrive_once_in_order);
	tcase_add_test(tc, oneshot_replies_answer_every_request_between_tasks);
	tcase_add_test(tc, broadcast_every_receiver_task_sees_every_value);
	tcase_add_test(tc, mutex_guard_held_across_an_await_keeps_the_count_exact);
	tcase_add_test(tc, semaphore_never_has_more_holders_than_permits);
	tcase_add_test(tc, barrier_releases_every_generation_with_one_leader);
	tcase_add_test(tc, select_takes_every_value_from_two_channels_until_both_close);
	tcase_add_test(tc, select_with_a_timeout_takes_the_timer_when_nothing_is_sent);
	tcase_add_test(tc, join_completes_when_every_task_has_replied);
	suite_add_tcase(s, tc);
	return s;
}
