/*
 * notify_pingpong: two tasks on the single-thread executor wake each other
 * through two ak_notify (notify_one stores a permit when nobody waits, so
 * no wake-up is lost).  ops = hops, two per round trip (the tokio peer:
 * two tokio::sync::Notify on a current_thread runtime).
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

static struct ak_notify *to_a, *to_b;

struct side {
	struct ak_future future;
	struct ak_notified_op op;
	struct ak_notify *wait_on, *notify;
	uint64_t left;
	int waiting;
	int first_notifies;     /* a: notify first, then wait; b: the reverse */
};

static int side_poll(struct ak_future *f, struct ak_context *cx)
{
	struct side *s = (struct side *)f;

	while (s->left > 0) {
		if (!s->waiting) {
			if (s->first_notifies)
				ak_notify_one(s->notify);
			ak_notified_init(&s->op, s->wait_on);
			s->waiting = 1;
		}
		int rc = ak_future_poll(&s->op.future, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		if (rc != 0)
			return rc;
		s->waiting = 0;
		if (!s->first_notifies)
			ak_notify_one(s->notify);
		s->left--;
	}
	return 0;
}

static void side_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct side *)f)->op.future);
}

static const struct ak_future_vtable side_vtable = { side_poll, side_cancel };

int bk_notify_pingpong(uint64_t size, struct bk_result *r)
{
	static struct side a, b;
	struct ak_executor *ex = NULL;
	struct ak_task *ha = NULL, *hb = NULL;
	uint64_t rounds = size / 2;

	r->ops = 2 * rounds;
	if (ak_executor_new(&ex) != 0 || ak_notify_new(&to_a) != 0 || ak_notify_new(&to_b) != 0) {
		fprintf(stderr, "notify_pingpong: set-up failed\n");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b = (struct side){ .wait_on = to_b, .notify = to_a, .left = rounds };
	a = (struct side){ .wait_on = to_a, .notify = to_b, .left = rounds, .first_notifies = 1 };
	ak_future_init(&b.future, &side_vtable);
	ak_future_init(&a.future, &side_vtable);
	bk_start(r);
	ak_executor_spawn(ex, &b.future, &hb);
	ak_executor_spawn(ex, &a.future, &ha);
	ak_executor_run(ex);
	bk_stop(r);
	int ok = ak_task_result(ha) == 0 && ak_task_result(hb) == 0;
	ak_task_release(ha);
	ak_task_release(hb);
	ak_executor_free(ex);
	ak_notify_free(to_a);
	ak_notify_free(to_b);
	if (!ok) {
		fprintf(stderr, "notify_pingpong: a task did not finish\n");
		return -1;
	}
	return 0;
}
