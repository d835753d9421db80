/*
 * examples/scene_watch.c: the watch scene.  A configuration (a heap
 * string, with clone and drop hooks) lives in a watch channel.  A follower
 * task on the single-thread executor waits for changes and reads each new
 * version; a snapshot borrowed before the first publish stays valid and
 * unchanged across every publish (the sender never waits for it), and the
 * value it holds is dropped only when the snapshot is released.  When the
 * publisher drops its sender, the follower, having seen the last version,
 * ends with AK_EPIPE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

static int drops;

static int config_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	char *s = strdup(*(char *const *)src);
	if (!s)
		return AK_ENOMEM;
	memcpy(dst, &s, sizeof s);
	return 0;
}

static void config_drop(void *value, void *arg)
{
	(void)arg;
	char *s;
	memcpy(&s, value, sizeof s);
	printf("    (drop hook: freeing \"%s\")\n", s);
	free(s);
	drops++;
}

static const char *const configs[] = { "level=info", "level=debug", "level=trace" };
#define CONFIGS 3

struct publisher {
	struct ak_future future;
	struct ak_await aw;
	struct ak_watch_sender *tx;
	int i;
};

static int publisher_poll(struct ak_future *f, struct ak_context *cx)
{
	struct publisher *p = (struct publisher *)f;

	AK_BEGIN(&p->aw, cx);
	for (p->i = 0; p->i < CONFIGS; p->i++) {
		char *s = strdup(configs[p->i]);
		ak_watch_send(p->tx, &s);          /* s now belongs to the channel */
		printf("    publisher: sent \"%s\"\n", configs[p->i]);
		AK_YIELD(&p->aw);
	}
	ak_watch_sender_drop(p->tx);
	printf("    publisher: dropped its sender\n");
	AK_END(&p->aw);
}

static void publisher_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct publisher *)f)->aw, f);
}

static const struct ak_future_vtable publisher_vtable = { publisher_poll, publisher_cancel };

struct follower {
	struct ak_future future;
	struct ak_await aw;
	struct ak_watch_receiver *rx;
	struct ak_watch_changed_op op;
	int rc, seen, end_rc;
	uint64_t last_version;
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
			break;
		ak_watch_borrow_and_update(t->rx, &ref);
		printf("    follower: version %llu: \"%s\"\n", (unsigned long long)ref.version,
		       *(char *const *)ref.value);
		t->last_version = ref.version;
		t->seen++;
		ak_watch_ref_release(&ref);
	}
	t->end_rc = t->rc;
	printf("    follower: %s\n", ak_err_name(t->rc));
	AK_END(&t->aw);
}

static void follower_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct follower *)f)->aw, f);
}

static const struct ak_future_vtable follower_vtable = { follower_poll, follower_cancel };

void scene_watch_config(void)
{
	struct ak_executor *ex = NULL;
	struct ak_watch_hooks hooks = { config_clone, config_drop, NULL };
	struct ak_watch_ref snapshot;
	struct publisher p;
	struct follower t;
	char *init = strdup("level=warn");
	struct ak_debug_counts before, now;

	ak_debug_counters(&before);

	printf("\n[watch] a follower sees each new configuration; a snapshot outlives three sends\n");
	drops = 0;
	ak_executor_new(&ex);
	memset(&p, 0, sizeof p);
	memset(&t, 0, sizeof t);
	CHECK(init && ak_watch_new(sizeof init, &init, &hooks, &p.tx, &t.rx) == 0,
	      "a watch channel holding \"level=warn\"");
	ak_watch_borrow(t.rx, &snapshot);
	ak_future_init(&p.future, &publisher_vtable);
	ak_future_init(&t.future, &follower_vtable);
	ak_executor_spawn(ex, &t.future, NULL);
	ak_executor_spawn(ex, &p.future, NULL);
	int rc = ak_executor_run(ex);
	CHECK(rc >= 0 && t.seen == CONFIGS && t.last_version == CONFIGS && t.end_rc == AK_EPIPE,
	      "the follower saw versions 1..%d, then AK_EPIPE", CONFIGS);
	CHECK(strcmp(*(char *const *)snapshot.value, "level=warn") == 0 && snapshot.version == 0 &&
	      drops == CONFIGS - 1,
	      "the snapshot still reads \"level=warn\"; only the 2 replaced and unborrowed values were dropped");
	ak_watch_ref_release(&snapshot);
	CHECK(drops == CONFIGS, "releasing the snapshot dropped its value");
	ak_watch_receiver_drop(t.rx);
	CHECK(drops == CONFIGS + 1, "dropping the last handle dropped the current value");
	ak_executor_free(ex);
	/* The channel's last handle is gone: its slots were freed at once,
	 * without waiting for a helper thread. */
	ak_debug_counters(&now);
	CHECK(now.live_objects <= before.live_objects,
	      "the channel's slots were freed with its last handle");
}
