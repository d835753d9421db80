/*
 * examples/watch_example.c: the watch channel of ak_watch(3): a task that
 * follows a configuration, and the same on plain threads.
 *
 * ak_watch(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when the follower applied the latest value.
 */
#include <stdint.h>
#include <string.h>
#include <awaitkit.h>

static uint64_t applied;

static void apply(const void *value)
{
	memcpy(&applied, value, sizeof(applied));
}

struct follower {
	struct ak_future future;
	struct ak_await aw;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op;
	int rc;
};

static int follower_poll(struct ak_future *f, struct ak_context *cx)
{
	struct follower *t = (struct follower *)f;
	struct ak_watch_ref ref;

	AK_BEGIN(&t->aw, cx);
	for (;;) {
		ak_watch_changed_init(&t->op, t->rx);
		AK_AWAIT(&t->aw, &t->op.future, t->rc);
		if (t->rc != 0)
			AK_RETURN(&t->aw, 0);            /* AK_EPIPE: closed */
		ak_watch_borrow_and_update(t->rx, &ref);
		apply(ref.value);
		ak_watch_ref_release(&ref);
	}
	AK_END(&t->aw);
}

static void follower_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct follower *)f)->aw, f);
}

static const struct ak_future_vtable follower_vtable = {
	follower_poll, follower_cancel
};

static int follow(void)
{
	struct ak_watch_sender *tx;
	struct follower t;
	uint64_t v = 0;
	int rc;

	memset(&t, 0, sizeof t);
	if (ak_watch_new(sizeof v, &v, NULL, &tx, &t.rx) != 0)
		return 1;
	ak_future_init(&t.future, &follower_vtable);
	for (v = 1; v <= 3; v++)
		ak_watch_send(tx, &v);
	ak_watch_sender_drop(tx);
	rc = ak_block_on(&t.future, ak_deadline_in(1000000000));
	ak_watch_receiver_drop(t.rx);
	return rc == 0 && applied == 3 ? 0 : 1;
}

static int plain_threads(void)
{
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rx;
	struct ak_watch_ref ref;
	uint64_t v = 0;

	ak_watch_new(sizeof v, &v, NULL, &tx, &rx);
	v = 42;
	ak_watch_send(tx, &v);
	ak_watch_changed_blocking(rx, ak_deadline_in(1000000000));
	ak_watch_borrow(rx, &ref);      /* *(uint64_t *)ref.value == 42 */
	apply(ref.value);
	ak_watch_ref_release(&ref);
	ak_watch_sender_drop(tx);
	ak_watch_receiver_drop(rx);
	return applied == 42 ? 0 : 1;
}

int
main(void)
{
	return follow() != 0 || plain_threads() != 0;
}
