/*
 * examples/task_example.c: a complete executor over the task API
 * (<awaitkit/task.h>, ak_task(3)) in about 20 lines, running a channel
 * ping-pong between two tasks.
 *
 * The executor is a plain array used as a ring: schedule() pushes, the loop
 * pops and calls ak_task_run().  A task has at most one entry in a run
 * queue at a time (the library calls schedule() again only after
 * ak_task_run() consumed the entry), so a ring with one slot per task never
 * overflows.  Everything runs on one thread, so nothing needs a lock.
 * Exit status 0 when both players finished and the ball went past ROUNDS.
 */
#include <stdio.h>
#include <stdlib.h>

#include <awaitkit.h>

#define ROUNDS 10

/* ---- a player: receive the ball, send it back one higher ------------------ */

struct player {
	struct ak_future future;        /* first: the body is an ak_future */
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_tx *tx;
	int ball, rc;
	const char *name;
};

static int player_poll(struct ak_future *f, struct ak_context *cx)
{
	struct player *p = (struct player *)f;

	AK_BEGIN(&p->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&p->recv, p->rx, &p->ball);
		AK_AWAIT(&p->aw, &p->recv.future, p->rc);
		if (p->rc != 0)
			AK_RETURN(&p->aw, p->rc);
		printf("%s got %d\n", p->name, p->ball);
		p->ball++;
		ak_mpsc_send_init(&p->send, p->tx, &p->ball);
		AK_AWAIT(&p->aw, &p->send.future, p->rc);
		if (p->rc != 0 || p->ball > ROUNDS)
			AK_RETURN(&p->aw, p->rc);
	}
	AK_CLEANUP(&p->aw);
	AK_END(&p->aw);
}

static void player_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct player *)f)->aw, f);
}

static const struct ak_future_vtable player_vtable = {
	player_poll, player_cancel
};

/* ---- the executor ----------------------------------------------------------- */

#define NTASKS 2

static struct ak_task *queue[NTASKS];   /* one entry per task at most */
static size_t head, tail;

static void schedule(struct ak_task *task, void *arg)
{
	(void)arg;
	queue[tail++ % NTASKS] = task;  /* only pushes: never polls */
}

/* Runs bodies[] as tasks until the queue is empty; their handles go to
 * tasks[], to be released by the caller. */
static int run_tasks(struct ak_future *bodies[], struct ak_task *tasks[])
{
	for (int i = 0; i < NTASKS; i++) {
		int rc = ak_task_new(bodies[i], schedule, NULL, &tasks[i]);
		if (rc != 0)
			return rc;
		ak_task_schedule(tasks[i]);
	}
	while (head != tail)
		ak_task_run(queue[head++ % NTASKS]);
	return 0;
}

int main(void)
{
	struct ak_mpsc_tx *tx_a, *tx_b;
	struct ak_mpsc_rx *rx_a, *rx_b;
	struct player ping = { .name = "ping" }, pong = { .name = "pong" };
	struct ak_future *bodies[NTASKS] = { &ping.future, &pong.future };
	struct ak_task *tasks[NTASKS];
	int serve = 1, ok = 1;

	if (ak_mpsc_new(1, sizeof(int), NULL, &tx_a, &rx_a) != 0 ||
	    ak_mpsc_new(1, sizeof(int), NULL, &tx_b, &rx_b) != 0)
		return 1;
	ping.rx = rx_a;
	ping.tx = tx_b;
	pong.rx = rx_b;
	pong.tx = tx_a;
	ak_future_init(&ping.future, &player_vtable);
	ak_future_init(&pong.future, &player_vtable);
	ak_mpsc_try_send(tx_a, &serve);

	if (run_tasks(bodies, tasks) != 0)
		return 1;
	for (int i = 0; i < NTASKS; i++) {
		ok &= ak_task_result(tasks[i]) == 0;
		ak_task_release(tasks[i]);
	}
	ok &= ping.ball > ROUNDS && pong.ball > ROUNDS;
	ak_mpsc_tx_drop(tx_a);
	ak_mpsc_tx_drop(tx_b);
	ak_mpsc_rx_drop(rx_a);
	ak_mpsc_rx_drop(rx_b);
	printf("%s\n", ok ? "both finished" : "FAILED");
	return ok ? 0 : 1;
}
