/*
 * The async RwLock (include/awaitkit/rwlock.h): FIFO grants, a waiting
 * writer blocking later readers, downgrade letting queued readers in,
 * cancel passing grants on, the maximum of readers, the self-deadlock
 * reports (write over a read, read over the write, read again while a
 * writer waits) and their absence for siblings and slotless executors,
 * the holder list, and exclusion under threads.
 */
#pragma GCC diagnostic error "-Wimplicit-fallthrough"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "testkit.h"

Suite *rwlock_suite(void);

#define MS 1000000LL

static struct ak_rwlock *new_rw(uint32_t max, unsigned flags)
{
	struct ak_rwlock *rw = NULL;
	ck_assert_int_eq(ak_rwlock_new(&rw, max, flags), 0);
	return rw;
}

/* Zeroed ops: fresh storage must not look parked. */
#define OPS(...) struct ak_rwlock_op __VA_ARGS__

static void zero(struct ak_rwlock_op *op)
{
	memset(op, 0, sizeof *op);
}

static void read_init(struct ak_rwlock_op *op, struct ak_rwlock *rw)
{
	zero(op);
	ck_assert_int_eq(ak_rwlock_read_init(op, rw), 0);
}

static void write_init(struct ak_rwlock_op *op, struct ak_rwlock *rw)
{
	zero(op);
	ck_assert_int_eq(ak_rwlock_write_init(op, rw), 0);
}

START_TEST(grants_follow_fifo_order_of_readers_and_writers)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(w1, r1, w2, r2);
	struct tk_task *a = tk_task_new(), *b = tk_task_new(), *c = tk_task_new(),
	               *d = tk_task_new();

	write_init(&w1, rw);
	ck_assert_int_eq(tk_poll(a, &w1.future), 0);
	read_init(&r1, rw);
	write_init(&w2, rw);
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll(b, &r1.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(c, &w2.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(d, &r2.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&w1), 0);
	ck_assert(tk_task_take_woken(b));
	ck_assert(!tk_task_take_woken(c));
	ck_assert(!tk_task_take_woken(d));   /* behind the waiting writer */
	ck_assert_int_eq(tk_poll(b, &r1.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert(tk_task_take_woken(c));
	ck_assert(!tk_task_take_woken(d));
	ck_assert_int_eq(tk_poll(c, &w2.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w2), 0);
	ck_assert(tk_task_take_woken(d));
	ck_assert_int_eq(tk_poll(d, &r2.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(waiting_writer_blocks_later_readers)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r1, w, r2, t);
	struct tk_task *a = tk_task_new(), *b = tk_task_new(), *c = tk_task_new();

	zero(&t);
	read_init(&r1, rw);
	ck_assert_int_eq(tk_poll(a, &r1.future), 0);
	ck_assert_int_eq(ak_rwlock_try_read(&t, rw, NULL), 0);   /* readers share */
	ck_assert_int_eq(ak_rwlock_unlock(&t), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(b, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_try_read(&t, rw, NULL), AK_EAGAIN);
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll(c, &r2.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert(tk_task_take_woken(b));
	ck_assert(!tk_task_take_woken(c));
	ck_assert_int_eq(tk_poll(b, &w.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert(tk_task_take_woken(c));
	ck_assert_int_eq(tk_poll(c, &r2.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(downgrade_lets_queued_readers_in_and_no_writer)
{
	struct ak_rwlock *rw = new_rw(8, 0);
	OPS(w, r1, r2, t);
	struct tk_task *a = tk_task_new(), *b = tk_task_new(), *c = tk_task_new();

	zero(&t);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(a, &w.future), 0);
	read_init(&r1, rw);
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll(b, &r1.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(c, &r2.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_downgrade(&w), 0);
	ck_assert(tk_task_take_woken(b));
	ck_assert(tk_task_take_woken(c));
	ck_assert_int_eq(tk_poll(b, &r1.future), 0);
	ck_assert_int_eq(tk_poll(c, &r2.future), 0);
	ck_assert_int_eq(ak_rwlock_try_write(&t, rw, NULL), AK_EAGAIN);
	ck_assert_int_eq(ak_rwlock_downgrade(&w), AK_EINVAL);   /* a read guard now */
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_try_write(&t, rw, NULL), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&t), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(cancelled_waiting_writer_lets_later_readers_in)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(r1, w, r2);
	struct tk_task *a = tk_task_new(), *b = tk_task_new(), *c = tk_task_new();

	read_init(&r1, rw);
	ck_assert_int_eq(tk_poll(a, &r1.future), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(b, &w.future), AK_PENDING);   /* absorbs 3 */
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll(c, &r2.future), AK_PENDING);
	ak_future_cancel(&w.future);
	ck_assert(tk_task_take_woken(c));
	ck_assert_int_eq(tk_poll(c, &r2.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(cancelled_granted_write_passes_it_on)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(w1, w2, w3);
	struct tk_task *a = tk_task_new(), *b = tk_task_new(), *c = tk_task_new();

	write_init(&w1, rw);
	ck_assert_int_eq(tk_poll(a, &w1.future), 0);
	write_init(&w2, rw);
	write_init(&w3, rw);
	ck_assert_int_eq(tk_poll(b, &w2.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(c, &w3.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&w1), 0);
	ck_assert(tk_task_take_woken(b));
	ak_future_cancel(&w2.future);       /* granted, never observed */
	ck_assert(tk_task_take_woken(c));
	ck_assert_int_eq(tk_poll(c, &w3.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w2), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_unlock(&w3), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(max_readers_bounds_shared_holders)
{
	struct ak_rwlock *rw = NULL;
	OPS(r1, r2, r3, t);
	struct tk_task *a = tk_task_new();

	ck_assert_int_eq(ak_rwlock_new(&rw, 0, 0), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_new(&rw, AK_RWLOCK_MAX_READERS + 1, 0), AK_EINVAL);
	ck_assert_ptr_null(rw);
	rw = new_rw(2, 0);
	zero(&r1);
	zero(&r2);
	zero(&t);
	ck_assert_int_eq(ak_rwlock_try_read(&r1, rw, NULL), 0);
	ck_assert_int_eq(ak_rwlock_try_read(&r2, rw, NULL), 0);
	ck_assert_int_eq(ak_rwlock_try_read(&t, rw, NULL), AK_EAGAIN);
	read_init(&r3, rw);
	ck_assert_int_eq(tk_poll(a, &r3.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert(tk_task_take_woken(a));
	ck_assert_int_eq(tk_poll(a, &r3.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r3), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(write_requested_while_holding_a_read_is_edeadlk)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r, w);
	struct tk_task *t = tk_task_new();

	read_init(&r, rw);
	ck_assert_int_eq(tk_poll(t, &r.future), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(t, &w.future), AK_EDEADLK);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(read_or_write_requested_while_holding_the_write_is_edeadlk)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(w, r, w2);
	struct tk_task *t = tk_task_new();

	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(t, &w.future), 0);
	read_init(&r, rw);
	ck_assert_int_eq(tk_poll(t, &r.future), AK_EDEADLK);
	write_init(&w2, rw);
	ck_assert_int_eq(tk_poll(t, &w2.future), AK_EDEADLK);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(read_again_while_a_writer_waits_is_edeadlk)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r, again, w, ok);
	struct tk_task *t = tk_task_new(), *writer = tk_task_new();

	read_init(&r, rw);
	ck_assert_int_eq(tk_poll(t, &r.future), 0);
	/* No writer waiting: a second read is just shared. */
	read_init(&ok, rw);
	ck_assert_int_eq(tk_poll(t, &ok.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&ok), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(writer, &w.future), AK_PENDING);
	read_init(&again, rw);
	ck_assert_int_eq(tk_poll(t, &again.future), AK_EDEADLK);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(tk_poll(writer, &w.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(sibling_branches_are_not_reported)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r, w, r2);
	struct tk_task *t = tk_task_new(), *writer = tk_task_new();
	const uint16_t left[] = { 0 }, right[] = { 1 };

	read_init(&r, rw);
	ck_assert_int_eq(tk_poll_path(t, &r.future, 1, left), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll_path(t, &w.future, 1, right), AK_PENDING);
	ak_future_cancel(&w.future);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(writer, &w.future), AK_PENDING);
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll_path(t, &r2.future, 1, right), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(tk_poll(writer, &w.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(tk_poll_path(t, &r2.future, 1, right), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(executor_without_task_slot_gets_no_detection)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r, w);
	struct tk_task *t = tk_task_new();

	read_init(&r, rw);
	ck_assert_int_eq(tk_poll_noslot(t, &r.future), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll_noslot(t, &w.future), AK_PENDING);
	ak_future_cancel(&w.future);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(holder_list_has_every_read_guard)
{
	struct ak_rwlock *rw = new_rw(AK_RWLOCK_MAX_READERS, 0);
	OPS(r1, r2);
	struct ak_lock_info info[4];
	struct tk_task *a = tk_task_new(), *b = tk_task_new();
	struct tk_count_future work;

	ck_assert_int_eq(ak_rwlock_holders(rw, NULL, info, 4), 0);
	read_init(&r1, rw);
	read_init(&r2, rw);
	ck_assert_int_eq(tk_poll(a, &r1.future), 0);
	ck_assert_int_eq(tk_poll(b, &r2.future), 0);
	tk_count_init(&work, 2, 0, 0);
	ck_assert_int_eq(tk_poll(a, &work.future), AK_PENDING);
	ck_assert_int_eq(tk_poll(a, &work.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_holders(rw, &a->slot, info, 4), 2);
	int ia = info[0].task == ak_task_slot_id(&a->slot) ? 0 : 1;
	ck_assert_uint_eq(info[ia].task, ak_task_slot_id(&a->slot));
	ck_assert_uint_eq(info[1 - ia].task, ak_task_slot_id(&b->slot));
	ck_assert_int_eq(info[0].mode, AK_LOCK_READ);
	ck_assert_uint_eq(info[ia].pending_polls, 2);
	ck_assert_uint_eq(info[1 - ia].pending_polls, AK_LOCK_POLLS_UNKNOWN);
	ck_assert_str_eq(info[0].file, __FILE__);
	ck_assert_int_eq(ak_rwlock_holders(rw, NULL, info, 1), 2);   /* count > cap */
	ck_assert_int_eq(ak_rwlock_unlock(&r1), 0);
	ck_assert_int_eq(ak_rwlock_holders(rw, NULL, info, 4), 1);
	ck_assert_int_eq(ak_rwlock_unlock(&r2), 0);
	ck_assert_int_eq(tk_poll(a, &work.future), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(destroying_a_held_rwlock_is_ebusy_and_bad_inputs_einval)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(r, z);
	struct ak_lock_info info;

	zero(&r);
	zero(&z);
	ck_assert_int_eq(ak_rwlock_new(NULL, 4, 0), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_new(&rw, 4, 0x100), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_read_init(NULL, rw), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_write_init(&z, NULL), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_unlock(&z), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_downgrade(&z), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_holders(NULL, NULL, &info, 1), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_holders(rw, NULL, NULL, 1), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_free(NULL), AK_EINVAL);
	ck_assert_uint_eq(ak_op_size(AK_OP_RWLOCK), sizeof(struct ak_rwlock_op));
	ck_assert_int_eq(ak_rwlock_try_read(&r, rw, NULL), 0);
	ck_assert_int_eq(ak_rwlock_downgrade(&r), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_write_init(&r, rw), AK_EBUSY);   /* still a guard */
	ck_assert_int_eq(ak_rwlock_free(rw), AK_EBUSY);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(unlocking_or_downgrading_what_is_not_held_is_einval_and_changes_nothing)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(r, w, g);
	struct tk_task *tw = tk_task_new(), *tg = tk_task_new();

	zero(&r);
	ck_assert_int_eq(ak_rwlock_try_read(&r, rw, NULL), 0);
	write_init(&w, rw);
	ck_assert_int_eq(ak_rwlock_unlock(&w), AK_EINVAL);      /* never polled */
	ck_assert_int_eq(tk_poll(tw, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&w), AK_EINVAL);      /* parked */
	ck_assert_int_eq(ak_rwlock_downgrade(&w), AK_EINVAL);   /* parked */
	ck_assert_int_eq(ak_rwlock_downgrade(&r), AK_EINVAL);   /* a read guard */
	/* Nothing moved: the read stands, the writer waits unwoken. */
	ck_assert(!tk_task_take_woken(tw));
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r), AK_EINVAL);      /* twice */
	ck_assert(tk_task_take_woken(tw));
	ck_assert_int_eq(tk_poll(tw, &w.future), 0);
	read_init(&g, rw);
	ck_assert_int_eq(tk_poll(tg, &g.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_downgrade(&w), 0);
	ck_assert_int_eq(ak_rwlock_downgrade(&w), AK_EINVAL);   /* twice: a read now */
	ck_assert(tk_task_take_woken(tg));
	ck_assert_int_eq(tk_poll(tg, &g.future), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), AK_EINVAL);
	ck_assert_int_eq(ak_rwlock_free(rw), AK_EBUSY);         /* g still reads */
	ck_assert_int_eq(ak_rwlock_unlock(&g), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(free_while_a_lock_is_parked_or_granted_unpolled_is_ebusy)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(r, w);
	struct tk_task *tw = tk_task_new();

	zero(&r);
	ck_assert_int_eq(ak_rwlock_try_read(&r, rw, NULL), 0);
	write_init(&w, rw);
	ck_assert_int_eq(tk_poll(tw, &w.future), AK_PENDING);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert(tk_task_take_woken(tw));
	/* Granted, out of the queue, not yet polled: the free refuses. */
	ck_assert_int_eq(ak_rwlock_free(rw), AK_EBUSY);
	ak_future_cancel(&w.future);                    /* reaches the lock */
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

START_TEST(blocking_write_times_out_while_a_read_is_held)
{
	struct ak_rwlock *rw = new_rw(4, 0);
	OPS(r, w);

	zero(&r);
	zero(&w);
	ck_assert_int_eq(ak_rwlock_try_read(&r, rw, NULL), 0);
	ck_assert_int_eq(ak_rwlock_write_blocking(&w, rw, ak_deadline_in(10 * MS)), AK_ETIMEDOUT);
	ck_assert_int_eq(ak_rwlock_read_blocking(&w, rw, ak_deadline_in(1000 * MS)), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&w), 0);
	ck_assert_int_eq(ak_rwlock_unlock(&r), 0);
	ck_assert_int_eq(ak_rwlock_free(rw), 0);
}
END_TEST

/* ---- exclusion under threads: writers keep a == b, readers check it --- */

#define THREADS 4
#define ITERS 2500

struct shared {
	struct ak_rwlock *rw;
	int a, b;
};

struct rw_thread {
	pthread_t th;
	struct shared *s;
	int writer;
	int failures, torn;
};

static void *rw_main(void *arg)
{
	struct rw_thread *t = arg;
	struct ak_rwlock_op op;

	memset(&op, 0, sizeof op);
	for (int i = 0; i < ITERS; i++) {
		int w = t->writer && i % 2 == 0;
		int rc = w ? ak_rwlock_write_blocking(&op, t->s->rw, AK_DEADLINE_NEVER)
		           : ak_rwlock_read_blocking(&op, t->s->rw, AK_DEADLINE_NEVER);
		if (rc != 0) {
			t->failures++;
			continue;
		}
		if (w) {
			t->s->a++;
			if (i % 64 == 0)
				sched_yield();
			t->s->b++;
		} else if (t->s->a != t->s->b) {
			t->torn++;
		}
		if (ak_rwlock_unlock(&op) != 0)
			t->failures++;
	}
	return NULL;
}

START_TEST(writers_exclude_everyone_on_blocked_threads)
{
	struct shared s = { new_rw(AK_RWLOCK_MAX_READERS, 0), 0, 0 };
	struct rw_thread t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		t[i].s = &s;
		t[i].writer = i < 2;
		t[i].failures = t[i].torn = 0;
		ck_assert_int_eq(pthread_create(&t[i].th, NULL, rw_main, &t[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i].th, NULL);
		ck_assert_int_eq(t[i].failures, 0);
		ck_assert_int_eq(t[i].torn, 0);
	}
	ck_assert_int_eq(s.a, 2 * ITERS / 2);
	ck_assert_int_eq(s.b, s.a);
	ck_assert_int_eq(ak_rwlock_free(s.rw), 0);
}
END_TEST

struct rw_task {
	struct ak_future future;
	struct ak_await aw;
	struct shared *s;
	struct ak_rwlock_op op;
	int writer, i, rc, torn;
};

static int rw_task_poll(struct ak_future *f, struct ak_context *cx)
{
	struct rw_task *t = (struct rw_task *)f;

	AK_BEGIN(&t->aw, cx);
	for (t->i = 0; t->i < 1000; t->i++) {
		if (t->writer)
			ak_rwlock_write_init(&t->op, t->s->rw);
		else
			ak_rwlock_read_init(&t->op, t->s->rw);
		AK_AWAIT(&t->aw, &t->op.future, t->rc);
		if (t->rc != 0)
			AK_RETURN(&t->aw, t->rc);
		if (t->writer)
			t->s->a++;
		else if (t->s->a != t->s->b)
			t->torn++;
		if (t->i % 4 == 0)
			AK_YIELD(&t->aw);
		if (t->writer)
			t->s->b++;
		else if (t->s->a != t->s->b)
			t->torn++;
		ak_rwlock_unlock(&t->op);
	}
	AK_CLEANUP(&t->aw);
	ak_rwlock_unlock(&t->op);
	AK_END(&t->aw);
}

static void rw_task_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct rw_task *)f)->aw, f);
}

static const struct ak_future_vtable rw_task_vtable = { rw_task_poll, rw_task_cancel };

START_TEST(writers_exclude_every_task)
{
	struct shared s = { new_rw(3, 0), 0, 0 };
	struct rw_task *tasks = calloc(8, sizeof *tasks);
	struct tk_exec *x = tk_exec_new("pool", 4);

	for (int i = 0; i < 8; i++) {
		tasks[i].s = &s;
		tasks[i].writer = i % 4 == 0;
		ck_assert_int_eq(ak_future_init(&tasks[i].future, &rw_task_vtable), 0);
		tk_exec_spawn(x, &tasks[i].future);
	}
	ck_assert_int_eq(tk_exec_run(x, ak_deadline_in(20000 * MS)), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(tk_exec_result(x, i), 0);
		ck_assert_int_eq(tasks[i].torn, 0);
	}
	tk_exec_free(x);
	ck_assert_int_eq(s.a, 2000);
	ck_assert_int_eq(s.b, 2000);
	ck_assert_int_eq(ak_rwlock_free(s.rw), 0);
	free(tasks);
}
END_TEST

Suite *rwlock_suite(void)
{
	Suite *s = suite_create("rwlock");
	TCase *tc = tk_tcase("rwlock");
	TCase *tt = tk_tasks_tcase();

	tcase_add_test(tc, grants_follow_fifo_order_of_readers_and_writers);
	tcase_add_test(tc, waiting_writer_blocks_later_readers);
	tcase_add_test(tc, downgrade_lets_queued_readers_in_and_no_writer);
	tcase_add_test(tc, cancelled_waiting_writer_lets_later_readers_in);
	tcase_add_test(tc, cancelled_granted_write_passes_it_on);
	tcase_add_test(tc, max_readers_bounds_shared_holders);
	tcase_add_test(tc, write_requested_while_holding_a_read_is_edeadlk);
	tcase_add_test(tc, read_or_write_requested_while_holding_the_write_is_edeadlk);
	tcase_add_test(tc, read_again_while_a_writer_waits_is_edeadlk);
	tcase_add_test(tc, sibling_branches_are_not_reported);
	tcase_add_test(tc, executor_without_task_slot_gets_no_detection);
	tcase_add_test(tc, holder_list_has_every_read_guard);
	tcase_add_test(tc, destroying_a_held_rwlock_is_ebusy_and_bad_inputs_einval);
	tcase_add_test(tc, unlocking_or_downgrading_what_is_not_held_is_einval_and_changes_nothing);
	tcase_add_test(tc, free_while_a_lock_is_parked_or_granted_unpolled_is_ebusy);
	tcase_add_test(tc, blocking_write_times_out_while_a_read_is_held);
	tcase_add_test(tc, writers_exclude_everyone_on_blocked_threads);
	tcase_add_test(tt, writers_exclude_every_task);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tt);
	return s;
}
