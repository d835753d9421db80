/*
 * The epoll executor (<awaitkit/epoll.h>, ak_epoll(3)) on a real epoll
 * set: spawning and running, wakes from other threads (coalesced, during
 * a poll, racing with the close), timerfd sleeps, fd readiness on pipes
 * and socketpairs, nesting in an outer epoll set through ak_epoll_fd, the
 * cancel of unfinished tasks at free, and AK_EDEADLK for blocking calls
 * made on the loop thread.  The fixture checks at teardown that every
 * waker clone and every allocation (the adapter's included) came back.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <awaitkit/epoll.h>

#include "loops.h"
#include "testkit.h"

static struct ak_epoll *ep_new(void)
{
	struct ak_epoll *ep = NULL;
	ck_assert_int_eq(ak_epoll_new(&ep), 0);
	ck_assert_ptr_nonnull(ep);
	return ep;
}

static int fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1;
}

/* ---- a task that sleeps on the executor, then logs its id ---------------- */

struct sleeper {
	struct ak_future future;
	struct ak_await aw;
	struct ak_epoll_sleep_op sleep;
	struct ak_epoll *ep;
	int64_t deadline;
	int id;
	struct tk_log *log;
	int rc;
};

static int sleeper_poll(struct ak_future *f, struct ak_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	AK_BEGIN(&s->aw, cx);
	ak_epoll_sleep_init(&s->sleep, s->ep, s->deadline);
	AK_AWAIT(&s->aw, &s->sleep.future, s->rc);
	tk_log_add(s->log, s->id);
	AK_END(&s->aw);
}

static void sleeper_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct sleeper *)f)->aw, f);
}

static const struct ak_future_vtable sleeper_vtable = { sleeper_poll, sleeper_cancel };

static void sleeper_init(struct sleeper *s, struct ak_epoll *ep, int64_t deadline,
                         int id, struct tk_log *log)
{
	memset(s, 0, sizeof *s);
	ak_future_init(&s->future, &sleeper_vtable);
	s->ep = ep;
	s->deadline = deadline;
	s->id = id;
	s->log = log;
	s->rc = TK_NOT_CALLED;
}

/* ---- a task that waits for readiness of fd, then reads one byte ---------- */

struct reader {
	struct ak_future future;
	struct ak_await aw;
	struct ak_io_wait_op wait;
	struct ak_epoll *ep;
	int fd;
	uint32_t events;
	uint32_t revents;
	char byte;
	int rc;
};

static int reader_poll(struct ak_future *f, struct ak_context *cx)
{
	struct reader *r = (struct reader *)f;

	AK_BEGIN(&r->aw, cx);
	ak_io_wait_init(&r->wait, r->ep, r->fd, r->events);
	AK_AWAIT(&r->aw, &r->wait.future, r->rc);
	r->revents = ak_io_wait_revents(&r->wait);
	if (r->rc == 0 && (r->events & EPOLLIN))
		ck_assert_int_eq(read(r->fd, &r->byte, 1), 1);
	AK_END(&r->aw);
}

static void reader_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct reader *)f)->aw, f);
}

static const struct ak_future_vtable reader_vtable = { reader_poll, reader_cancel };

static void reader_init(struct reader *r, struct ak_epoll *ep, int fd, uint32_t events)
{
	memset(r, 0, sizeof *r);
	ak_future_init(&r->future, &reader_vtable);
	r->ep = ep;
	r->fd = fd;
	r->events = events;
	r->rc = TK_NOT_CALLED;
}

/* ---- spawning and running --------------------------------------------------- */

START_TEST(spawned_task_runs_and_its_handle_sees_the_result)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, AK_EPIPE);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_uint_eq(ak_epoll_task_count(ep), 1);
	ck_assert_int_eq(ak_task_result(t), AK_PENDING);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_task_result(t), AK_EPIPE);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert_uint_eq(ak_epoll_task_count(ep), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(join_of_a_task_from_another_task_of_the_executor)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future f;
	struct ak_task *t = NULL;
	struct ak_task_join_op join;

	memset(&join, 0, sizeof join);
	tk_after_init(&f, 3);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_int_eq(ak_task_join_init(&join, t), 0);
	struct ak_task *j = NULL;
	ck_assert_int_eq(ak_epoll_spawn(ep, &join.future, &j), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_task_result(j), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 4);
	ak_task_release(t);
	ak_task_release(j);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(task_woken_during_its_poll_is_polled_again)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future f;

	tk_after_init(&f, 5);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(atomic_load(&f.polls), 6);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(yielding_tasks_take_turns_in_spawn_order)
{
	struct ak_epoll *ep = ep_new();
	struct tk_log log = { 0 };
	struct tk_count_future f[3];

	for (int i = 0; i < 3; i++) {
		tk_count_init(&f[i], 2, 1, 0);
		f[i].id = i;
		f[i].log = &log;
		ck_assert_int_eq(ak_epoll_spawn(ep, &f[i].future, NULL), 0);
	}
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(tk_log_len(&log), 9);
	for (int i = 0; i < 9; i++)
		ck_assert_int_eq(log.ids[i], i % 3);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(run_with_a_past_deadline_runs_what_is_ready_and_returns)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	tk_flag_set(&f);
	ck_assert_int_eq(ak_epoll_run(ep, 0), 0);
	ck_assert_int_eq(ak_task_result(t), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(invalid_arguments_return_einval)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future f;
	struct ak_io_wait_op io;
	struct ak_epoll_sleep_op sl;

	memset(&io, 0, sizeof io);
	memset(&sl, 0, sizeof sl);
	ck_assert_int_eq(ak_epoll_new(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_spawn(NULL, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_spawn(ep, NULL, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_run(NULL, 0), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_fd(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_free(NULL), AK_EINVAL);
	ck_assert_int_eq(ak_io_wait_init(&io, ep, -1, EPOLLIN), AK_EINVAL);
	ck_assert_int_eq(ak_io_wait_init(&io, ep, 0, 0), AK_EINVAL);
	ck_assert_int_eq(ak_io_wait_init(&io, ep, 0, EPOLLET), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_sleep_init(&sl, NULL, 0), AK_EINVAL);
	/* A spawned future cannot be spawned again. */
	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* An io wait or sleep polled outside the executor's loop is refused. */
START_TEST(operations_polled_off_the_loop_return_einval)
{
	struct ak_epoll *ep = ep_new();
	struct tk_task *tt = tk_task_new();
	struct ak_io_wait_op io;
	struct ak_epoll_sleep_op sl;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	memset(&io, 0, sizeof io);
	memset(&sl, 0, sizeof sl);
	ck_assert_int_eq(ak_io_wait_init(&io, ep, p[0], EPOLLIN), 0);
	ck_assert_int_eq(tk_poll(tt, &io.future), AK_EINVAL);
	ck_assert_int_eq(ak_epoll_sleep_init(&sl, ep, ak_deadline_in(1000000)), 0);
	ck_assert_int_eq(tk_poll(tt, &sl.future), AK_EINVAL);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* ---- wakes from other threads ------------------------------------------------- */

struct summer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mpsc_recv_op recv;
	struct ak_mpsc_rx *rx;
	long value;
	long sum;
	long count;
	int polls;
	int rc;
};

static int summer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct summer *s = (struct summer *)f;

	s->polls++;
	AK_BEGIN(&s->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&s->recv, s->rx, &s->value);
		AK_AWAIT(&s->aw, &s->recv.future, s->rc);
		if (s->rc != 0)
			break;
		s->sum += s->value;
		s->count++;
	}
	AK_END(&s->aw);
}

static void summer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct summer *)f)->aw, f);
}

static const struct ak_future_vtable summer_vtable = { summer_poll, summer_cancel };

#define FEEDERS 4
#define FEED 2000

struct feeder {
	pthread_t thread;
	struct ak_mpsc_tx *tx;
	int id;
};

static void *feed(void *arg)
{
	struct feeder *fd = arg;
	for (long i = 1; i <= FEED; i++) {
		long v = i * FEEDERS + fd->id;
		if (ak_mpsc_send_blocking(fd->tx, &v, AK_DEADLINE_NEVER) != 0)
			break;
		if (i % 64 == 0)
			sched_yield();
	}
	ak_mpsc_tx_drop(fd->tx);
	return NULL;
}

START_TEST(task_receives_everything_threads_send_while_the_loop_sleeps)
{
	struct ak_epoll *ep = ep_new();
	struct ak_mpsc_tx *tx;
	struct summer s;
	struct feeder fd[FEEDERS];

	memset(&s, 0, sizeof s);
	ak_future_init(&s.future, &summer_vtable);
	ck_assert_int_eq(ak_mpsc_unbounded_new(sizeof(long), NULL, &tx, &s.rx), 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &s.future, NULL), 0);
	for (int i = 0; i < FEEDERS; i++) {
		fd[i].id = i;
		ck_assert_int_eq(ak_mpsc_tx_clone(tx, &fd[i].tx), 0);
		ck_assert_int_eq(pthread_create(&fd[i].thread, NULL, feed, &fd[i]), 0);
	}
	ak_mpsc_tx_drop(tx);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	for (int i = 0; i < FEEDERS; i++)
		pthread_join(fd[i].thread, NULL);
	long want = 0;
	for (long i = 1; i <= FEED; i++)
		for (int k = 0; k < FEEDERS; k++)
			want += i * FEEDERS + k;
	ck_assert_int_eq(s.rc, AK_EPIPE);
	ck_assert_int_eq(s.count, (long)FEEDERS * FEED);
	ck_assert_int_eq(s.sum, want);
	ak_mpsc_rx_drop(s.rx);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

#define WAKERS 4
#define WAKES 500

struct waker_thread {
	pthread_t thread;
	struct ak_waker w;
	atomic_int *stop;
};

static void *wake_many(void *arg)
{
	struct waker_thread *wt = arg;
	for (int i = 0; i < WAKES; i++)
		ak_waker_wake_by_ref(&wt->w);
	ak_waker_drop(&wt->w);
	return NULL;
}

/* Thousands of wakes of one idle task, from four threads, before the loop
 * runs: one entry, one eventfd signal, one poll. */
START_TEST(wakes_from_many_threads_coalesce_into_one_poll)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct waker_thread wt[WAKERS];

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&f.polls), 1);
	ck_assert(!fd_readable(ak_epoll_fd(ep)));
	for (int i = 0; i < WAKERS; i++) {
		pthread_mutex_lock(&f.lock);
		ck_assert_int_eq(ak_waker_clone(&f.stored, &wt[i].w), 0);
		pthread_mutex_unlock(&f.lock);
	}
	for (int i = 0; i < WAKERS; i++)
		ck_assert_int_eq(pthread_create(&wt[i].thread, NULL, wake_many, &wt[i]), 0);
	for (int i = 0; i < WAKERS; i++)
		pthread_join(wt[i].thread, NULL);
	ck_assert(fd_readable(ak_epoll_fd(ep)));
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	ck_assert(!fd_readable(ak_epoll_fd(ep)));
	tk_flag_set(&f);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(wake_from_another_thread_wakes_the_sleeping_loop)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct tk_setter s;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	tk_setter_start_when_parked(&s, &f);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	tk_setter_join(&s);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* A wake from another thread that lands while the task is being polled
 * queues it again after the poll (ak_waker(3)). */
struct mid_poll {
	struct ak_future future;
	struct ak_waker clone;
	pthread_t thread;
	atomic_int phase;
	int polls;
};

static void *mid_poll_partner(void *arg)
{
	struct mid_poll *m = arg;
	while (atomic_load(&m->phase) != 1)
		sched_yield();
	ak_waker_wake(&m->clone);
	atomic_store(&m->phase, 2);
	return NULL;
}

static int mid_poll_poll(struct ak_future *f, struct ak_context *cx)
{
	struct mid_poll *m = (struct mid_poll *)f;
	if (++m->polls > 1)
		return 0;
	ck_assert_int_eq(ak_waker_clone(&cx->waker, &m->clone), 0);
	atomic_store(&m->phase, 1);
	while (atomic_load(&m->phase) != 2)
		sched_yield();
	return AK_PENDING;
}

static void mid_poll_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable mid_poll_vtable = { mid_poll_poll, mid_poll_cancel };

START_TEST(wake_from_another_thread_during_the_poll_polls_again)
{
	struct ak_epoll *ep = ep_new();
	struct mid_poll m;

	memset(&m, 0, sizeof m);
	ak_future_init(&m.future, &mid_poll_vtable);
	ck_assert_int_eq(pthread_create(&m.thread, NULL, mid_poll_partner, &m), 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &m.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	pthread_join(m.thread, NULL);
	ck_assert_int_eq(m.polls, 2);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(cancel_on_the_owner_outside_a_run_is_carried_out_at_once)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct ak_task *t = NULL;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	/* On the owner's thread, which is not running the loop now: the
	 * task is bound to it, so the cancel runs here at once. */
	ck_assert_int_eq(ak_task_cancel(t), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_uint_eq(ak_epoll_task_count(ep), 0);
	ak_task_release(t);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* ---- closing -------------------------------------------------------------------- */

START_TEST(free_cancels_unfinished_tasks)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct sleeper s;
	struct tk_log log = { 0 };
	struct ak_task *t = NULL, *u = NULL;

	tk_flag_init(&f, 0);
	sleeper_init(&s, ep, AK_DEADLINE_NEVER, 1, &log);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &s.future, &u), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(ak_task_result(u), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.cancels), 1);
	ck_assert_int_eq(tk_log_len(&log), 0);
	ak_task_release(t);
	ak_task_release(u);
}
END_TEST

START_TEST(free_cancels_a_task_that_was_never_run)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future f;
	struct ak_task *t = NULL;

	tk_ready_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, &t), 0);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ck_assert_int_eq(atomic_load(&f.polls), 0);
	ak_task_release(t);
}
END_TEST

/* A waker kept past the free: its wake finds the gate closed. */
START_TEST(wake_after_free_is_a_no_op_and_frees_the_record)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct ak_waker kept;

	tk_flag_init(&f, 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	pthread_mutex_lock(&f.lock);
	ck_assert_int_eq(ak_waker_clone(&f.stored, &kept), 0);
	pthread_mutex_unlock(&f.lock);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
	ak_waker_wake_by_ref(&kept);
	ak_waker_wake(&kept);           /* the last reference: the record goes */
	ck_assert_int_eq(atomic_load(&f.polls), 1);
}
END_TEST

struct hammer {
	pthread_t thread;
	struct ak_waker w;
	atomic_int *stop;
	atomic_int started;
};

static void *hammer_wakes(void *arg)
{
	struct hammer *h = arg;
	atomic_store(&h->started, 1);
	for (int i = 0; !atomic_load(h->stop); i++) {
		ak_waker_wake_by_ref(&h->w);
		if (i % 16 == 0)
			sched_yield();
	}
	ak_waker_drop(&h->w);
	return NULL;
}

/* Threads keep waking a task while the loop runs and then closes: no
 * wake reaches freed memory or a closed eventfd, every record goes. */
START_TEST(free_while_other_threads_keep_waking_is_safe)
{
	for (int round = 0; round < 20; round++) {
		struct ak_epoll *ep = ep_new();
		struct tk_flag_future f[2];
		struct hammer h[2];
		atomic_int stop = 0;

		for (int i = 0; i < 2; i++) {
			tk_flag_init(&f[i], 0);
			ck_assert_int_eq(ak_epoll_spawn(ep, &f[i].future, NULL), 0);
		}
		ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
		for (int i = 0; i < 2; i++) {
			pthread_mutex_lock(&f[i].lock);
			ck_assert_int_eq(ak_waker_clone(&f[i].stored, &h[i].w), 0);
			pthread_mutex_unlock(&f[i].lock);
			h[i].stop = &stop;
			atomic_store(&h[i].started, 0);
			ck_assert_int_eq(pthread_create(&h[i].thread, NULL, hammer_wakes, &h[i]), 0);
		}
		while (!atomic_load(&h[0].started) || !atomic_load(&h[1].started))
			sched_yield();
		ck_assert_int_eq(ak_epoll_run(ep, ak_deadline_in(1000000)), AK_ETIMEDOUT);
		ck_assert_int_eq(ak_epoll_free(ep), 0);
		for (int i = 0; i < 50; i++)
			sched_yield();          /* wakes after the close, too */
		atomic_store(&stop, 1);
		for (int i = 0; i < 2; i++)
			pthread_join(h[i].thread, NULL);
	}
}
END_TEST

/* The same with the tasks cancelled from the other threads as the loop
 * closes: their notes race with the gate. */
struct canceller {
	pthread_t thread;
	struct ak_task *task;
};

static void *cancel_task(void *arg)
{
	struct canceller *c = arg;
	ak_task_cancel(c->task);
	ak_task_release(c->task);
	return NULL;
}

START_TEST(free_racing_cancels_from_other_threads_is_safe)
{
	for (int round = 0; round < 50; round++) {
		struct ak_epoll *ep = ep_new();
		struct tk_flag_future f[2];
		struct canceller c[2];

		for (int i = 0; i < 2; i++) {
			tk_flag_init(&f[i], 0);
			ck_assert_int_eq(ak_epoll_spawn(ep, &f[i].future, &c[i].task), 0);
		}
		ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(pthread_create(&c[i].thread, NULL, cancel_task, &c[i]), 0);
		if (round % 2)
			sched_yield();
		ck_assert_int_eq(ak_epoll_free(ep), 0);
		for (int i = 0; i < 2; i++) {
			pthread_join(c[i].thread, NULL);
			ck_assert_int_eq(atomic_load(&f[i].cancels), 1);
		}
	}
}
END_TEST

/* ---- timers ----------------------------------------------------------------------- */

/*
 * The order is only defined among sleeps that parked: one whose deadline
 * passed before its first poll completes in that poll, in poll order.  On
 * a loaded machine 10 ms can pass before the first poll (it did, under
 * TSan during make check), so the deadlines start after a lead, and a run
 * whose first polls came too late is done again with a longer lead.
 */
START_TEST(sleeps_complete_in_deadline_order)
{
	struct ak_epoll *ep = ep_new();
	struct tk_log log;
	struct sleeper s[4];
	/* ids 0..3 sleep 30, 10, 20 and 10 ms: 1 and 3 tie, in spawn order */
	int64_t ms[4] = { 30, 10, 20, 10 };
	int64_t lead = 10 * 1000000;

	for (;;) {
		int64_t base = ak_now() + lead;
		memset(&log, 0, sizeof log);
		for (int i = 0; i < 4; i++) {
			sleeper_init(&s[i], ep, base + ms[i] * 1000000, i, &log);
			ck_assert_int_eq(ak_epoll_spawn(ep, &s[i].future, NULL), 0);
		}
		/* The first polls: every sleep parks unless it was too late
		 * (all four too late: the run finished them all, and is 0). */
		int rc = ak_epoll_run(ep, 0);
		ck_assert(rc == AK_ETIMEDOUT || rc == 0);
		if (rc == AK_ETIMEDOUT && tk_log_len(&log) == 0 && ak_now() < base)
			break;
		ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
		ck_assert_int_lt(lead, 10000 * 1000000LL);
		lead *= 10;
	}
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(tk_log_len(&log), 4);
	ck_assert_int_eq(log.ids[0], 1);
	ck_assert_int_eq(log.ids[1], 3);
	ck_assert_int_eq(log.ids[2], 2);
	ck_assert_int_eq(log.ids[3], 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(s[i].rc, 0);
		ck_assert_int_ge(ak_now(), s[i].deadline);
	}
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(sleep_with_a_past_deadline_completes_at_once)
{
	struct ak_epoll *ep = ep_new();
	struct tk_log log = { 0 };
	struct sleeper s;

	sleeper_init(&s, ep, 0, 7, &log);
	ck_assert_int_eq(ak_epoll_spawn(ep, &s.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), 0);
	ck_assert_int_eq(tk_log_len(&log), 1);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* A select of a long sleep and a short one: the short wins, the long is
 * cancelled, leaves the heap, and never wakes anybody. */
struct race {
	struct ak_future future;
	struct ak_await aw;
	struct ak_epoll_sleep_op a, b;
	struct ak_branch br[2];
	struct ak_select_op sel;
	struct ak_epoll *ep;
	int rc;
	int index;
};

static int race_poll(struct ak_future *f, struct ak_context *cx)
{
	struct race *r = (struct race *)f;

	AK_BEGIN(&r->aw, cx);
	ak_epoll_sleep_init(&r->a, r->ep, ak_deadline_in(10 * 1000000000LL));
	ak_epoll_sleep_init(&r->b, r->ep, ak_deadline_in(5 * 1000000));
	r->br[0].future = &r->a.future;
	r->br[1].future = &r->b.future;
	ak_select_init(&r->sel, r->br, 2, 0);
	AK_AWAIT(&r->aw, &r->sel.future, r->rc);
	r->index = ak_select_index(&r->sel);
	AK_END(&r->aw);
}

static void race_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct race *)f)->aw, f);
}

static const struct ak_future_vtable race_vtable = { race_poll, race_cancel };

START_TEST(cancelled_sleep_leaves_the_timer_heap)
{
	struct ak_epoll *ep = ep_new();
	struct race r;

	memset(&r, 0, sizeof r);
	ak_future_init(&r.future, &race_vtable);
	r.ep = ep;
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	/* Returns once the task finished: the 10 s sleep holds nothing. */
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_int_eq(r.index, 1);
	ck_assert_int_eq(r.br[0].status, AK_ECANCELED);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* ---- fd readiness ----------------------------------------------------------------- */

struct writer_thread {
	pthread_t thread;
	int fd;
	int rc;
};

static void *write_one(void *arg)
{
	struct writer_thread *w = arg;
	w->rc = (int)write(w->fd, "x", 1);
	return NULL;
}

START_TEST(io_wait_on_a_pipe_completes_when_another_thread_writes)
{
	struct ak_epoll *ep = ep_new();
	struct reader r;
	struct writer_thread w;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	reader_init(&r, ep, p[0], EPOLLIN);
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);   /* parked */
	w.fd = p[1];
	ck_assert_int_eq(pthread_create(&w.thread, NULL, write_one, &w), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	pthread_join(w.thread, NULL);
	ck_assert_int_eq(w.rc, 1);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.revents & EPOLLIN);
	ck_assert_int_eq(r.byte, 'x');
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* A reader and a writer task on one socket share its registration. */
START_TEST(io_waits_for_in_and_out_on_one_socket_both_complete)
{
	struct ak_epoll *ep = ep_new();
	struct reader in, out;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	reader_init(&in, ep, sv[0], EPOLLIN);
	reader_init(&out, ep, sv[0], EPOLLOUT);
	ck_assert_int_eq(ak_epoll_spawn(ep, &in.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(in.rc, AK_PENDING);            /* parked */
	ck_assert_int_eq(ak_epoll_spawn(ep, &out.future, NULL), 0);
	/* One turn parks and arms it, the next sees the socket writable. */
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(out.rc, 0);
	ck_assert(out.revents & EPOLLOUT);
	ck_assert_int_eq(in.rc, AK_PENDING);            /* still parked */
	ck_assert_int_eq(write(sv[1], "y", 1), 1);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(in.rc, 0);
	ck_assert_int_eq(in.byte, 'y');
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(io_wait_sees_the_peer_hang_up)
{
	struct ak_epoll *ep = ep_new();
	struct reader r;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	reader_init(&r, ep, sv[0], EPOLLRDHUP);
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	close(sv[1]);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(r.rc, 0);
	ck_assert(r.revents & (EPOLLRDHUP | EPOLLHUP));
	close(sv[0]);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(io_wait_on_a_regular_file_fails_with_eperm)
{
	struct ak_epoll *ep = ep_new();
	struct reader r;
	FILE *tmp = tmpfile();

	ck_assert_ptr_nonnull(tmp);
	reader_init(&r, ep, fileno(tmp), EPOLLIN);
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(r.rc, -EPERM);
	fclose(tmp);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* select(io wait on an empty pipe, short sleep): the sleep wins, the
 * parked wait is cancelled and holds nothing; a later wait on the same
 * descriptor works. */
struct io_race {
	struct ak_future future;
	struct ak_await aw;
	struct ak_io_wait_op io;
	struct ak_epoll_sleep_op sl;
	struct ak_branch br[2];
	struct ak_select_op sel;
	struct ak_epoll *ep;
	int fd;
	int rc, index, rc2;
};

static int io_race_poll(struct ak_future *f, struct ak_context *cx)
{
	struct io_race *r = (struct io_race *)f;

	AK_BEGIN(&r->aw, cx);
	ak_io_wait_init(&r->io, r->ep, r->fd, EPOLLIN);
	ak_epoll_sleep_init(&r->sl, r->ep, ak_deadline_in(5 * 1000000));
	r->br[0].future = &r->io.future;
	r->br[1].future = &r->sl.future;
	ak_select_init(&r->sel, r->br, 2, AK_SELECT_BIASED);
	AK_AWAIT(&r->aw, &r->sel.future, r->rc);
	r->index = ak_select_index(&r->sel);
	ak_io_wait_init(&r->io, r->ep, r->fd, EPOLLIN);
	AK_AWAIT(&r->aw, &r->io.future, r->rc2);
	AK_END(&r->aw);
}

static void io_race_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct io_race *)f)->aw, f);
}

static const struct ak_future_vtable io_race_vtable = { io_race_poll, io_race_cancel };

START_TEST(cancelled_io_wait_holds_nothing_and_the_fd_can_be_waited_again)
{
	struct ak_epoll *ep = ep_new();
	struct io_race r;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	memset(&r, 0, sizeof r);
	ak_future_init(&r.future, &io_race_vtable);
	r.ep = ep;
	r.fd = p[0];
	r.rc2 = TK_NOT_CALLED;
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	/* Until the sleep won (the second wait then parks). */
	while (r.index != 1)
		ck_assert_int_eq(ak_epoll_run(ep, ak_deadline_in(1000000)), AK_ETIMEDOUT);
	ck_assert_int_eq(r.index, 1);
	ck_assert_int_eq(r.br[0].status, AK_ECANCELED);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(r.rc2, 0);
	ck_assert(ak_io_wait_revents(&r.io) & EPOLLIN);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

START_TEST(free_with_a_parked_io_wait_cancels_it)
{
	struct ak_epoll *ep = ep_new();
	struct reader r;
	struct ak_task *t = NULL;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	reader_init(&r, ep, p[0], EPOLLIN);
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, &t), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
	ck_assert_int_eq(ak_task_result(t), AK_ECANCELED);
	ak_task_release(t);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- nesting ------------------------------------------------------------------------ */

/* An outer epoll set watches ak_epoll_fd(): readable when a task was
 * woken from another thread, or a sleep is due; the outer loop then runs
 * the executor without blocking. */
START_TEST(executor_nests_in_an_outer_epoll_set)
{
	struct ak_epoll *ep = ep_new();
	struct tk_flag_future f;
	struct tk_setter st;
	struct sleeper s;
	struct tk_log log = { 0 };
	int outer = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ak_epoll_fd(ep) };

	ck_assert_int_ge(outer, 0);
	ck_assert_int_eq(epoll_ctl(outer, EPOLL_CTL_ADD, ak_epoll_fd(ep), &ev), 0);
	tk_flag_init(&f, 0);
	sleeper_init(&s, ep, ak_deadline_in(20 * 1000000), 1, &log);
	ck_assert_int_eq(ak_epoll_spawn(ep, &f.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_spawn(ep, &s.future, NULL), 0);
	tk_setter_start_when_parked(&st, &f);
	int turns = 0, rc = AK_ETIMEDOUT;
	while (rc == AK_ETIMEDOUT) {
		struct epoll_event got;
		int n = epoll_wait(outer, &got, 1, -1);
		ck_assert_int_eq(n, 1);
		rc = ak_epoll_run(ep, 0);
		turns++;
	}
	tk_setter_join(&st);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(tk_log_len(&log), 1);
	ck_assert_int_eq(atomic_load(&f.polls), 2);
	ck_assert_int_ge(turns, 2);
	close(outer);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* ---- blocking calls on the loop thread ---------------------------------------------- */

START_TEST(blocking_calls_inside_a_task_return_edeadlk)
{
	struct ak_epoll *ep = ep_new();
	struct tk_count_future inner;
	struct tk_blocker_future b;

	tk_ready_init(&inner, 0);
	tk_blocker_init(&b, &inner.future, NULL, NULL);
	ck_assert_int_eq(ak_epoll_spawn(ep, &b.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(b.rc_block_on, AK_EDEADLK);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* A task that tries to run or free its own executor. */
struct reentrant {
	struct ak_future future;
	struct ak_epoll *ep;
	int rc_run, rc_free;
};

static int reentrant_poll(struct ak_future *f, struct ak_context *cx)
{
	struct reentrant *r = (struct reentrant *)f;
	(void)cx;
	r->rc_run = ak_epoll_run(r->ep, AK_DEADLINE_NEVER);
	r->rc_free = ak_epoll_free(r->ep);
	return 0;
}

static void reentrant_cancel(struct ak_future *f)
{
	(void)f;
}

static const struct ak_future_vtable reentrant_vtable = { reentrant_poll, reentrant_cancel };

START_TEST(run_or_free_from_inside_a_task_is_refused)
{
	struct ak_epoll *ep = ep_new();
	struct reentrant r = { .ep = ep };

	ak_future_init(&r.future, &reentrant_vtable);
	ck_assert_int_eq(ak_epoll_spawn(ep, &r.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, AK_DEADLINE_NEVER), 0);
	ck_assert_int_eq(r.rc_run, AK_EDEADLK);
	ck_assert_int_eq(r.rc_free, AK_EBUSY);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
}
END_TEST

/* A task whose cancel makes a blocking call: during ak_epoll_free the
 * thread is marked as a loop (ak_loop_enter), outside any poll. */
struct blocking_cancel {
	struct ak_future future;
	struct tk_count_future inner;
	int rc;
};

static int blocking_cancel_poll(struct ak_future *f, struct ak_context *cx)
{
	(void)f;
	(void)cx;
	return AK_PENDING;      /* nobody will wake it */
}

static void blocking_cancel_cancel(struct ak_future *f)
{
	struct blocking_cancel *b = (struct blocking_cancel *)f;
	tk_ready_init(&b->inner, 0);
	b->rc = ak_block_on(&b->inner.future, AK_DEADLINE_NEVER);
}

static const struct ak_future_vtable blocking_cancel_vtable = {
	blocking_cancel_poll, blocking_cancel_cancel
};

START_TEST(blocking_call_from_a_cancel_during_free_returns_edeadlk)
{
	struct ak_epoll *ep = ep_new();
	struct blocking_cancel b;

	memset(&b, 0, sizeof b);
	ak_future_init(&b.future, &blocking_cancel_vtable);
	b.rc = TK_NOT_CALLED;
	ck_assert_int_eq(ak_epoll_spawn(ep, &b.future, NULL), 0);
	ck_assert_int_eq(ak_epoll_run(ep, 0), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_epoll_free(ep), 0);
	ck_assert_int_eq(b.rc, AK_EDEADLK);
	/* The mark is gone with the call. */
	tk_ready_init(&b.inner, 0);
	ck_assert_int_eq(ak_block_on(&b.inner.future, AK_DEADLINE_NEVER), 0);
}
END_TEST

/* ---- cancels from other threads (tests/loops_cancel.c) ---------------------------- */

static void lp_ep_open(struct lp *l)
{
	l->ad = ep_new();
}

static int lp_ep_spawn(struct lp *l, struct ak_future *f, struct ak_task **h)
{
	return ak_epoll_spawn(l->ad, f, h);
}

static size_t lp_ep_count(struct lp *l)
{
	return ak_epoll_task_count(l->ad);
}

static void lp_ep_run(struct lp *l)
{
	ck_assert_int_eq(ak_epoll_run(l->ad, AK_DEADLINE_NEVER), 0);
}

/* One turn: what is ready runs, then it returns. */
static void lp_ep_run_once(struct lp *l)
{
	int rc = ak_epoll_run(l->ad, 0);
	ck_assert(rc == 0 || rc == AK_ETIMEDOUT);
}

static int lp_ep_close(struct lp *l)
{
	return ak_epoll_free(l->ad);
}

static void lp_ep_finish(struct lp *l)
{
	(void)l;                /* ak_epoll_free freed it all */
}

static int lp_ep_sleep(void *op, struct lp *l, int64_t deadline)
{
	return ak_epoll_sleep_init(op, l->ad, deadline);
}

static const struct lp_ops lp_epoll_ops = {
	.open = lp_ep_open, .spawn = lp_ep_spawn, .count = lp_ep_count,
	.run = lp_ep_run, .run_once = lp_ep_run_once, .close = lp_ep_close,
	.finish = lp_ep_finish, .sleep_size = sizeof(struct ak_epoll_sleep_op),
	.sleep_init = lp_ep_sleep,
};

START_TEST(cancel_from_another_thread_while_parked_is_carried_out_by_the_loop)
{
	lp_cancel_from_another_thread_while_parked(&lp_epoll_ops);
}
END_TEST
START_TEST(cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends)
{
	lp_cancel_from_another_thread_during_the_poll(&lp_epoll_ops);
}
END_TEST
START_TEST(cancel_during_a_poll_that_completes_leaves_the_result)
{
	lp_cancel_during_a_poll_that_completes(&lp_epoll_ops);
}
END_TEST
START_TEST(cancel_from_another_thread_after_completion_changes_nothing)
{
	lp_cancel_from_another_thread_after_completion(&lp_epoll_ops);
}
END_TEST
START_TEST(cancel_from_another_thread_while_the_loop_runs_its_timers)
{
	lp_cancel_from_another_thread_while_the_loop_runs(&lp_epoll_ops);
}
END_TEST
START_TEST(cancel_from_other_threads_racing_the_close_cancels_each_once)
{
	lp_cancel_from_other_threads_racing_the_close(&lp_epoll_ops);
}
END_TEST

Suite *epoll_suite(void)
{
	Suite *s = suite_create("epoll");
	TCase *tc;

	tc = tk_tcase("run");
	tcase_add_test(tc, spawned_task_runs_and_its_handle_sees_the_result);
	tcase_add_test(tc, join_of_a_task_from_another_task_of_the_executor);
	tcase_add_test(tc, task_woken_during_its_poll_is_polled_again);
	tcase_add_test(tc, yielding_tasks_take_turns_in_spawn_order);
	tcase_add_test(tc, run_with_a_past_deadline_runs_what_is_ready_and_returns);
	tcase_add_test(tc, invalid_arguments_return_einval);
	tcase_add_test(tc, operations_polled_off_the_loop_return_einval);
	suite_add_tcase(s, tc);

	tc = tk_tcase("wakes");
	tcase_add_test(tc, task_receives_everything_threads_send_while_the_loop_sleeps);
	tcase_add_test(tc, wakes_from_many_threads_coalesce_into_one_poll);
	tcase_add_test(tc, wake_from_another_thread_wakes_the_sleeping_loop);
	tcase_add_test(tc, wake_from_another_thread_during_the_poll_polls_again);
	tcase_add_test(tc, cancel_on_the_owner_outside_a_run_is_carried_out_at_once);
	suite_add_tcase(s, tc);

	tc = tk_tcase("cancels");
	tcase_add_test(tc, cancel_from_another_thread_while_parked_is_carried_out_by_the_loop);
	tcase_add_test(tc, cancel_from_another_thread_during_the_poll_is_carried_out_when_it_ends);
	tcase_add_test(tc, cancel_during_a_poll_that_completes_leaves_the_result);
	tcase_add_test(tc, cancel_from_another_thread_after_completion_changes_nothing);
	tcase_add_test(tc, cancel_from_another_thread_while_the_loop_runs_its_timers);
	tcase_add_test(tc, cancel_from_other_threads_racing_the_close_cancels_each_once);
	suite_add_tcase(s, tc);

	tc = tk_tcase("close");
	tcase_add_test(tc, free_cancels_unfinished_tasks);
	tcase_add_test(tc, free_cancels_a_task_that_was_never_run);
	tcase_add_test(tc, wake_after_free_is_a_no_op_and_frees_the_record);
	tcase_add_test(tc, free_while_other_threads_keep_waking_is_safe);
	tcase_add_test(tc, free_racing_cancels_from_other_threads_is_safe);
	suite_add_tcase(s, tc);

	tc = tk_tcase("timers");
	tcase_add_test(tc, sleeps_complete_in_deadline_order);
	tcase_add_test(tc, sleep_with_a_past_deadline_completes_at_once);
	tcase_add_test(tc, cancelled_sleep_leaves_the_timer_heap);
	suite_add_tcase(s, tc);

	tc = tk_tcase("io");
	tcase_add_test(tc, io_wait_on_a_pipe_completes_when_another_thread_writes);
	tcase_add_test(tc, io_waits_for_in_and_out_on_one_socket_both_complete);
	tcase_add_test(tc, io_wait_sees_the_peer_hang_up);
	tcase_add_test(tc, io_wait_on_a_regular_file_fails_with_eperm);
	tcase_add_test(tc, cancelled_io_wait_holds_nothing_and_the_fd_can_be_waited_again);
	tcase_add_test(tc, free_with_a_parked_io_wait_cancels_it);
	suite_add_tcase(s, tc);

	tc = tk_tcase("nesting");
	tcase_add_test(tc, executor_nests_in_an_outer_epoll_set);
	suite_add_tcase(s, tc);

	tc = tk_tcase("deadlock");
	tcase_add_test(tc, blocking_calls_inside_a_task_return_edeadlk);
	tcase_add_test(tc, run_or_free_from_inside_a_task_is_refused);
	tcase_add_test(tc, blocking_call_from_a_cancel_during_free_returns_edeadlk);
	suite_add_tcase(s, tc);
	return s;
}
