/*
 * examples/scene_pipeline.c: the first scene of the demo, every primitive
 * in one small pipeline.  Read it top to bottom:
 *
 *   producers (2 tasks on the pool, pausing 1 ms every 25 items)
 *       --mpsc(8)--> dispatcher (pool task):
 *       the dispatcher takes a Semaphore permit per item (at most 3 jobs
 *       at once) and spawns a job task on the pool for it;
 *   job: reads the factor under the RwLock's read side, yields, updates
 *       the shared statistics under the Mutex, publishes the result on a
 *       broadcast and gives its permit back;
 *   sinks (2 broadcast subscribers) count and sum what they receive;
 *   monitor: selects (biased) between a config change (watch), the
 *       shutdown signal (oneshot) and a tick (ak_sleep_until, the
 *       deadline); a config change is applied under the RwLock's write
 *       side, so the jobs after it use the new factor;
 *   conductor: after 4 ms pushes a new config through the watch (about
 *       half the items get the new factor), waits on a Notify
 *       that the dispatcher fires once every job is done, then sends the
 *       shutdown on the oneshot.
 *
 * Everyone meets at a Barrier before starting.  The main thread runs the
 * conductor, the monitor and the sinks under one join (ak_join_blocking,
 * with a deadline), then checks that the counts agree exactly.
 */
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

#define PRODUCERS 2
#define PER_PRODUCER 200
#define ITEMS (PRODUCERS * PER_PRODUCER)
#define PERMITS 3               /* jobs in flight at most */
#define SINKS 2
#define PARTIES (PRODUCERS + 1 + SINKS + 2)  /* + dispatcher, monitor, conductor */
#define TICK_NS (2 * 1000000LL)      /* the monitor's tick */
#define PAUSE_EVERY 25                  /* producers pause 1 ms every 25 items */
#define CONFIG_AFTER_NS (4 * 1000000LL) /* the conductor pushes a config then */

struct config {
	int factor;
};

struct result {
	int id, value;
};

/* ---- what the tasks share --------------------------------------------------- */

struct pipeline {
	struct ak_pool *pool;
	struct ak_barrier *start;
	struct ak_mpsc_rx *items;
	struct ak_semaphore *slots;
	struct ak_broadcast_tx *results;
	struct ak_watch_sender *config_tx;
	struct ak_watch_receiver *config_rx;
	struct ak_oneshot_tx *shutdown_tx;
	struct ak_oneshot_rx *shutdown_rx;
	struct ak_notify *drained;

	struct ak_mutex *stats_lock;        /* guards stats */
	struct {
		int processed, in_flight, max_in_flight, new_factor;
		long sum, base_sum;     /* of the results; of the items (id + 1) */
	} stats;

	struct ak_rwlock *table_lock;       /* guards table */
	struct {
		int factor;
		uint64_t version;
	} table;

	int leaders;                        /* barrier leaders seen (1) */
};

static void barrier_leader_note(struct pipeline *pl, int is_leader)
{
	if (is_leader) {
		pl->leaders++;
		printf("    start: all %d parties at the barrier, go\n", PARTIES);
	}
}

/* One cancel serves every task here: each starts with future + ak_await. */
struct awaiting_task {
	struct ak_future future;
	struct ak_await aw;
};

static void task_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct awaiting_task *)f)->aw, f);
}

/* ---- producers: send PER_PRODUCER items each, then drop their sender ---------- */

struct producer {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct ak_mpsc_tx *tx;
	struct ak_barrier_wait_op wait;
	struct ak_mpsc_send_op send;
	struct ak_sleep_op pause;
	int id, i, item, is_leader, sent, rc;
};

static int producer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct producer *p = (struct producer *)f;

	AK_BEGIN(&p->aw, cx);
	ak_barrier_wait_init(&p->wait, p->pl->start, &p->is_leader);
	AK_AWAIT(&p->aw, &p->wait.future, p->rc);
	barrier_leader_note(p->pl, p->is_leader);
	for (p->i = 0; p->i < PER_PRODUCER; p->i++) {
		p->item = p->id * PER_PRODUCER + p->i;
		ak_mpsc_send_init(&p->send, p->tx, &p->item);
		AK_AWAIT(&p->aw, &p->send.future, p->rc);
		if (p->rc != 0)
			break;
		p->sent++;
		if (p->sent % PAUSE_EVERY == 0) {
			ak_sleep_until(&p->pause, ak_deadline_in(1000000));
			AK_AWAIT(&p->aw, &p->pause.future, p->rc);
		}
	}
	ak_mpsc_tx_drop(p->tx);            /* the last drop closes the channel */
	AK_END(&p->aw);
}

static const struct ak_future_vtable producer_vtable = { producer_poll, task_cancel };

/* ---- a job: one item, holding one permit ---------------------------------------- */

struct job {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct ak_semaphore_acquire_op permit;  /* acquired by the dispatcher */
	struct ak_rwlock_op read;
	struct ak_mutex_lock_op lock;
	struct result out;
	int factor, rc;
};

static int job_poll(struct ak_future *f, struct ak_context *cx)
{
	struct job *j = (struct job *)f;
	struct pipeline *pl = j->pl;

	AK_BEGIN(&j->aw, cx);
	ak_mutex_lock_init(&j->lock, pl->stats_lock);
	AK_AWAIT(&j->aw, &j->lock.future, j->rc);
	if (++pl->stats.in_flight > pl->stats.max_in_flight)
		pl->stats.max_in_flight = pl->stats.in_flight;
	ak_mutex_unlock(&j->lock);

	ak_rwlock_read_init(&j->read, pl->table_lock);
	AK_AWAIT(&j->aw, &j->read.future, j->rc);
	j->factor = pl->table.factor;
	ak_rwlock_unlock(&j->read);

	AK_YIELD(&j->aw);                   /* "work": let the others run */
	j->out.value = (j->out.id + 1) * j->factor;

	ak_mutex_lock_init(&j->lock, pl->stats_lock);
	AK_AWAIT(&j->aw, &j->lock.future, j->rc);
	pl->stats.in_flight--;
	pl->stats.processed++;
	pl->stats.sum += j->out.value;
	pl->stats.base_sum += j->out.id + 1;
	pl->stats.new_factor += j->factor != 1;
	ak_mutex_unlock(&j->lock);

	ak_broadcast_send(pl->results, &j->out, NULL);
	ak_semaphore_release(&j->permit);   /* last: the dispatcher counts on it */
	AK_END(&j->aw);
}

static const struct ak_future_vtable job_vtable = { job_poll, task_cancel };

/* ---- the dispatcher: receive, take a permit, spawn a job ------------------------ */

struct dispatcher {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct job *jobs;                   /* ITEMS of them */
	struct ak_barrier_wait_op wait;
	struct ak_mpsc_recv_op recv;
	struct ak_semaphore_acquire_op all;
	int item, dispatched, is_leader, rc;
};

static int dispatcher_poll(struct ak_future *f, struct ak_context *cx)
{
	struct dispatcher *d = (struct dispatcher *)f;
	struct pipeline *pl = d->pl;
	struct job *j;

	AK_BEGIN(&d->aw, cx);
	ak_barrier_wait_init(&d->wait, pl->start, &d->is_leader);
	AK_AWAIT(&d->aw, &d->wait.future, d->rc);
	barrier_leader_note(pl, d->is_leader);
	for (;;) {
		ak_mpsc_recv_init(&d->recv, pl->items, &d->item);
		AK_AWAIT(&d->aw, &d->recv.future, d->rc);
		if (d->rc != 0)
			break;              /* AK_EPIPE: every producer is done */
		if (d->dispatched >= ITEMS)
			break;              /* cannot happen; keeps jobs[] in bounds */
		j = &d->jobs[d->dispatched];
		j->pl = pl;
		j->out.id = d->item;
		ak_future_init(&j->future, &job_vtable);
		ak_semaphore_acquire_init(&j->permit, pl->slots, 1);
		AK_AWAIT(&d->aw, &d->jobs[d->dispatched].permit.future, d->rc);
		ak_pool_spawn(pl->pool, &d->jobs[d->dispatched].future, NULL);
		d->dispatched++;
	}
	/* Every permit back means every job has finished. */
	ak_semaphore_acquire_init(&d->all, pl->slots, PERMITS);
	AK_AWAIT(&d->aw, &d->all.future, d->rc);
	ak_semaphore_release(&d->all);
	ak_mpsc_rx_drop(pl->items);
	ak_broadcast_tx_drop(pl->results);  /* the subscribers see AK_EPIPE */
	printf("    dispatcher: %d items dispatched, all jobs done\n", d->dispatched);
	ak_notify_one(pl->drained);
	AK_END(&d->aw);
}

static const struct ak_future_vtable dispatcher_vtable = { dispatcher_poll, task_cancel };

/* ---- a sink: one broadcast subscriber ------------------------------------------- */

struct sink {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct ak_broadcast_rx *rx;
	struct ak_barrier_wait_op wait;
	struct ak_broadcast_recv_op recv;
	struct result got;
	uint64_t missed;
	unsigned char seen[ITEMS];
	int received, duplicates, is_leader, end, rc;
	long sum;
};

static int sink_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sink *s = (struct sink *)f;

	AK_BEGIN(&s->aw, cx);
	ak_barrier_wait_init(&s->wait, s->pl->start, &s->is_leader);
	AK_AWAIT(&s->aw, &s->wait.future, s->rc);
	barrier_leader_note(s->pl, s->is_leader);
	for (;;) {
		ak_broadcast_recv_init(&s->recv, s->rx, &s->got, &s->missed);
		AK_AWAIT(&s->aw, &s->recv.future, s->rc);
		if (s->rc != 0)
			break;              /* AK_EPIPE (closed), or AK_EOVERFLOW */
		s->received++;
		s->sum += s->got.value;
		if (s->got.id >= 0 && s->got.id < ITEMS && s->seen[s->got.id]++)
			s->duplicates++;
	}
	s->end = s->rc;
	ak_broadcast_rx_drop(s->rx);
	s->rx = NULL;
	AK_END(&s->aw);
}

static const struct ak_future_vtable sink_vtable = { sink_poll, task_cancel };

/* ---- the monitor: select { config changed, shutdown, tick } --------------------- */

struct monitor {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct ak_barrier_wait_op wait;
	struct ak_watch_changed_op changed;
	struct ak_oneshot_recv_op shutdown;
	struct ak_sleep_op tick;
	struct ak_branch branch[3];
	struct ak_select_op select;
	struct ak_rwlock_op write;
	struct config cfg;
	int64_t next_tick;
	int reason, ticks, applied, is_leader, rc;
};

static int monitor_poll(struct ak_future *f, struct ak_context *cx)
{
	struct monitor *m = (struct monitor *)f;
	struct pipeline *pl = m->pl;
	struct ak_watch_ref ref;

	AK_BEGIN(&m->aw, cx);
	ak_barrier_wait_init(&m->wait, pl->start, &m->is_leader);
	AK_AWAIT(&m->aw, &m->wait.future, m->rc);
	barrier_leader_note(pl, m->is_leader);
	m->next_tick = ak_now() + TICK_NS;
	for (;;) {
		/* Fresh branches each round: the select cancelled the losers. */
		ak_watch_changed_init(&m->changed, pl->config_rx);
		ak_oneshot_recv_init(&m->shutdown, pl->shutdown_rx, &m->reason);
		ak_sleep_until(&m->tick, m->next_tick);
		m->branch[0] = (struct ak_branch){ &m->changed.future, 0, 0 };
		m->branch[1] = (struct ak_branch){ &m->shutdown.future, 0, 0 };
		m->branch[2] = (struct ak_branch){ &m->tick.future, 0, 0 };
		/* Biased: a pending config change is applied before a
		 * shutdown that was sent after it (fair would pick either). */
		ak_select_init(&m->select, m->branch, 3, AK_SELECT_BIASED);
		AK_AWAIT(&m->aw, &m->select.future, m->rc);
		if (m->rc != 0)
			break;
		if (ak_select_index(&m->select) == 1)
			break;              /* shutdown (or the sender gone) */
		if (ak_select_index(&m->select) == 2) {
			m->ticks++;
			m->next_tick += TICK_NS;
			continue;
		}
		/* A new config: copy it out, apply it under the write lock. */
		ak_watch_borrow_and_update(pl->config_rx, &ref);
		memcpy(&m->cfg, ref.value, sizeof(m->cfg));
		ak_watch_ref_release(&ref);
		ak_rwlock_write_init(&m->write, pl->table_lock);
		AK_AWAIT(&m->aw, &m->write.future, m->rc);
		pl->table.factor = m->cfg.factor;
		pl->table.version++;
		ak_rwlock_unlock(&m->write);
		m->applied++;
		printf("    monitor: config changed, factor is now %d\n", m->cfg.factor);
	}
	printf("    monitor: shutdown (reason %d) after %d tick(s)\n", m->reason, m->ticks);
	AK_END(&m->aw);
}

static const struct ak_future_vtable monitor_vtable = { monitor_poll, task_cancel };

/* ---- the conductor: push a config, wait until drained, shut down ---------------- */

struct conductor {
	struct ak_future future;
	struct ak_await aw;
	struct pipeline *pl;
	struct ak_barrier_wait_op wait;
	struct ak_sleep_op pause;
	struct ak_notified_op drained;
	int is_leader, rc;
};

static int conductor_poll(struct ak_future *f, struct ak_context *cx)
{
	struct conductor *c = (struct conductor *)f;
	struct pipeline *pl = c->pl;

	AK_BEGIN(&c->aw, cx);
	ak_barrier_wait_init(&c->wait, pl->start, &c->is_leader);
	AK_AWAIT(&c->aw, &c->wait.future, c->rc);
	barrier_leader_note(pl, c->is_leader);
	ak_sleep_until(&c->pause, ak_deadline_in(CONFIG_AFTER_NS));
	AK_AWAIT(&c->aw, &c->pause.future, c->rc);
	printf("    conductor: pushing config factor 10 through the watch\n");
	ak_watch_send(pl->config_tx, &(struct config){ 10 });
	ak_notified_init(&c->drained, pl->drained);
	AK_AWAIT(&c->aw, &c->drained.future, c->rc);
	printf("    conductor: drained, sending shutdown on the oneshot\n");
	ak_oneshot_send(pl->shutdown_tx, &(int){ 42 });   /* consumes the sender */
	pl->shutdown_tx = NULL;
	AK_END(&c->aw);
}

static const struct ak_future_vtable conductor_vtable = { conductor_poll, task_cancel };

/* ---- the scene ------------------------------------------------------------------ */

void scene_pipeline(void)
{
	/* Operation storage must be zero before its first init. */
	static struct pipeline pl;
	static struct producer producers[PRODUCERS];
	static struct job jobs[ITEMS];
	static struct dispatcher disp;
	static struct sink sinks[SINKS];
	static struct monitor mon;
	static struct conductor cond;
	struct ak_join_op join;
	struct ak_branch branch[2 + SINKS];
	struct ak_mpsc_tx *items_tx;
	int produced = 0, rc;
	int64_t t0 = ak_now();

	memset(&pl, 0, sizeof(pl));
	memset(producers, 0, sizeof(producers));
	memset(jobs, 0, sizeof(jobs));
	memset(&disp, 0, sizeof(disp));
	memset(sinks, 0, sizeof(sinks));
	memset(&mon, 0, sizeof(mon));
	memset(&cond, 0, sizeof(cond));
	memset(&join, 0, sizeof(join));

	printf("\n[pipeline] %d producers -> mpsc -> %d jobs (at most %d at once) -> "
	       "broadcast -> %d sinks\n", PRODUCERS, ITEMS, PERMITS, SINKS);

	ak_pool_new(&pl.pool, 2);
	ak_barrier_new(&pl.start, PARTIES);
	ak_mpsc_new(8, sizeof(int), NULL, &items_tx, &pl.items);
	ak_semaphore_new(&pl.slots, PERMITS);
	ak_broadcast_new(&pl.results, &sinks[0].rx, ITEMS, sizeof(struct result), NULL);
	ak_watch_new(sizeof(struct config), &(struct config){ 1 }, NULL,
	             &pl.config_tx, &pl.config_rx);
	ak_oneshot_new(sizeof(int), NULL, &pl.shutdown_tx, &pl.shutdown_rx);
	ak_notify_new(&pl.drained);
	ak_mutex_new(&pl.stats_lock, 0);
	ak_rwlock_new(&pl.table_lock, AK_RWLOCK_MAX_READERS, 0);
	pl.table.factor = 1;

	/* Subscribe before anything is sent: each sink sees every result. */
	for (int i = 0; i < SINKS; i++) {
		sinks[i].pl = &pl;
		if (i > 0)
			ak_broadcast_subscribe(pl.results, &sinks[i].rx);
		ak_future_init(&sinks[i].future, &sink_vtable);
	}

	/* The producers and the dispatcher run on the pool ... */
	for (int i = 0; i < PRODUCERS; i++) {
		producers[i].pl = &pl;
		producers[i].id = i;
		ak_mpsc_tx_clone(items_tx, &producers[i].tx);
		ak_future_init(&producers[i].future, &producer_vtable);
		ak_pool_spawn(pl.pool, &producers[i].future, NULL);
	}
	ak_mpsc_tx_drop(items_tx);          /* the producers hold the senders now */
	disp.pl = &pl;
	disp.jobs = jobs;
	ak_future_init(&disp.future, &dispatcher_vtable);
	ak_pool_spawn(pl.pool, &disp.future, NULL);

	/* ... the conductor, the monitor and the sinks on this thread, joined. */
	cond.pl = &pl;
	ak_future_init(&cond.future, &conductor_vtable);
	mon.pl = &pl;
	ak_future_init(&mon.future, &monitor_vtable);
	branch[0] = (struct ak_branch){ &cond.future, 0, 0 };
	branch[1] = (struct ak_branch){ &mon.future, 0, 0 };
	for (int i = 0; i < SINKS; i++)
		branch[2 + i] = (struct ak_branch){ &sinks[i].future, 0, 0 };
	rc = ak_join_blocking(&join, branch, 2 + SINKS, 0, ak_deadline_in(4000000000LL));

	ak_pool_wait_idle(pl.pool, ak_deadline_in(2000000000LL));
	ak_pool_free(pl.pool);
	for (int i = 0; i < PRODUCERS; i++)
		produced += producers[i].sent;

	printf("    joined in %lld ms: produced %d, dispatched %d, processed %d "
	       "(%d with the new factor), at most %d in flight\n",
	       (long long)((ak_now() - t0) / 1000000), produced, disp.dispatched,
	       pl.stats.processed, pl.stats.new_factor, pl.stats.max_in_flight);
	for (int i = 0; i < SINKS; i++)
		printf("    sink %d: %d results, sum %ld, ended with %s\n", i,
		       sinks[i].received, sinks[i].sum, ak_err_name(sinks[i].end));

	CHECK(rc == 0, "the join completed before its deadline (%s)", ak_err_name(rc));
	CHECK(pl.leaders == 1, "the barrier released everyone with exactly one leader");
	CHECK(pl.stats.base_sum == (long)ITEMS * (ITEMS + 1) / 2,
	      "every item 1..%d was processed once (their sum is %ld)", ITEMS, pl.stats.base_sum);
	CHECK(produced == ITEMS && disp.dispatched == ITEMS && pl.stats.processed == ITEMS,
	      "produced = dispatched = processed = %d", ITEMS);
	for (int i = 0; i < SINKS; i++) {
		int distinct = 0;
		for (int k = 0; k < ITEMS; k++)
			distinct += sinks[i].seen[k] != 0;
		CHECK(sinks[i].received == ITEMS && distinct == ITEMS && sinks[i].duplicates == 0 &&
		      sinks[i].sum == pl.stats.sum && sinks[i].end == AK_EPIPE,
		      "sink %d got each of the %d results once, sum %ld as counted under the mutex",
		      i, ITEMS, pl.stats.sum);
	}
	CHECK(pl.stats.max_in_flight >= 1 && pl.stats.max_in_flight <= PERMITS &&
	      pl.stats.in_flight == 0,
	      "the semaphore kept at most %d jobs in flight (%d seen)", PERMITS,
	      pl.stats.max_in_flight);
	CHECK(ak_semaphore_available_permits(pl.slots) == PERMITS, "every permit came back");
	CHECK(mon.applied == 1 && pl.table.factor == 10 && pl.table.version == 1,
	      "the monitor applied the one config change under the write lock");
	CHECK(mon.reason == 42, "the monitor stopped on the oneshot's shutdown");

	ak_notify_free(pl.drained);
	ak_oneshot_rx_drop(pl.shutdown_rx);
	if (pl.shutdown_tx)
		ak_oneshot_tx_drop(pl.shutdown_tx);
	ak_watch_receiver_drop(pl.config_rx);
	ak_watch_sender_drop(pl.config_tx);
	ak_semaphore_free(pl.slots);
	ak_mutex_free(pl.stats_lock);
	ak_rwlock_free(pl.table_lock);
	ak_barrier_free(pl.start);
}
