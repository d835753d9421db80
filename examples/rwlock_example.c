/*
 * examples/rwlock_example.c: the reader-writer lock of ak_rwlock(3): a
 * reader that re-reads while a writer is queued gets a report instead of
 * a deadlock, and a writer downgrades to a reader after its update.
 *
 * ak_rwlock(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when the re-read was refused with AK_EDEADLK, the writer
 * got the lock after it, and the downgrade published the update.
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

struct reader {
	struct ak_future future;
	struct ak_await aw;
	struct ak_rwlock *rw;
	struct ak_rwlock_op r1, r2;
	int rc;
};

static int reader_poll(struct ak_future *f, struct ak_context *cx)
{
	struct reader *t = (struct reader *)f;

	AK_BEGIN(&t->aw, cx);
	ak_rwlock_read_init(&t->r1, t->rw);
	AK_AWAIT(&t->aw, &t->r1.future, t->rc);
	AK_YIELD(&t->aw);       /* meanwhile another task's write queues */
	ak_rwlock_read_init(&t->r2, t->rw);
	AK_AWAIT(&t->aw, &t->r2.future, t->rc);
	if (t->rc == AK_EDEADLK) {
		struct ak_lock_info h[8];
		int n = ak_rwlock_holders(t->rw, cx->slot, h, 8);
		for (int i = 0; i < n && i < 8; i++)
			fprintf(stderr, "held by task %llu (%s) at %s:%d\n",
			    (unsigned long long)h[i].task,
			    h[i].mode == AK_LOCK_WRITE ? "write" : "read",
			    h[i].file, h[i].line);
	}
	ak_rwlock_unlock(&t->r1);
	AK_RETURN(&t->aw, t->rc);
	AK_END(&t->aw);
}

struct writer {
	struct ak_future future;
	struct ak_await aw;
	struct ak_rwlock *rw;
	struct ak_rwlock_op w;
	int rc;
};

static int writer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct writer *t = (struct writer *)f;

	AK_BEGIN(&t->aw, cx);
	ak_rwlock_write_init(&t->w, t->rw);
	AK_AWAIT(&t->aw, &t->w.future, t->rc);
	if (t->rc == 0)
		ak_rwlock_unlock(&t->w);
	AK_RETURN(&t->aw, t->rc);
	AK_END(&t->aw);
}

static void reader_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct reader *)f)->aw, f);
}

static void writer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct writer *)f)->aw, f);
}

static const struct ak_future_vtable reader_vtable = {
	reader_poll, reader_cancel
};

static const struct ak_future_vtable writer_vtable = {
	writer_poll, writer_cancel
};

static int reread_under_a_queued_writer(struct ak_rwlock *rw)
{
	struct ak_executor *ex;
	struct ak_task *rt, *wt;
	struct reader r;
	struct writer w;
	int ok;

	memset(&r, 0, sizeof r);
	memset(&w, 0, sizeof w);
	r.rw = w.rw = rw;
	ak_future_init(&r.future, &reader_vtable);
	ak_future_init(&w.future, &writer_vtable);
	if (ak_executor_new(&ex) != 0)
		return 1;
	ak_executor_spawn(ex, &r.future, &rt);
	ak_executor_spawn(ex, &w.future, &wt);
	ak_executor_run(ex);
	ok = ak_task_result(rt) == AK_EDEADLK && ak_task_result(wt) == 0;
	ak_task_release(rt);
	ak_task_release(wt);
	ak_executor_free(ex);
	return ok ? 0 : 1;
}

static int state, published;

static void update(int *s)
{
	(*s)++;
}

static void publish(const int *s)
{
	published = *s;
}

static int downgrade(struct ak_rwlock *rw)
{
	struct ak_rwlock_op g = {0};

	ak_rwlock_write_blocking(&g, rw, AK_DEADLINE_NEVER);
	update(&state);
	ak_rwlock_downgrade(&g);    /* queued readers wake now */
	publish(&state);
	ak_rwlock_unlock(&g);
	return published == 1 ? 0 : 1;
}

int
main(void)
{
	struct ak_rwlock *rw;
	int fails;

	if (ak_rwlock_new(&rw, 8, 0) != 0)
		return 1;
	fails = reread_under_a_queued_writer(rw) + downgrade(rw);
	ak_rwlock_free(rw);
	return fails != 0;
}
