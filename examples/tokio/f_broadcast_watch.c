/*
 * f_broadcast_watch.c: a broadcast to three subscribers, then a
 * configuration reloaded through a watch (f_broadcast_watch.rs).  Each
 * subscriber gets the three events in order; the follower sees the last
 * configuration (watch keeps only the newest value, so it may skip one).
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

struct config {
	unsigned level;
};

struct subscriber {
	struct ak_broadcast_rx *rx;
	int id, got;                /* got: events received in order */
};

struct follower {
	struct ak_watch_receiver *rx;
	struct config last;
};

static int subscribe(struct ak_co *co, void *arg)
{
	struct subscriber *s = arg;
	char msg[24], want[24];

	while (ak_co_broadcast_recv(co, s->rx, msg, NULL) == 0) {
		printf("subscriber %d got %s\n", s->id, msg);
		snprintf(want, sizeof want, "event %d", s->got);
		s->got += strcmp(msg, want) == 0;
	}
	ak_broadcast_rx_drop(s->rx);
	return 0;
}

static int follow(struct ak_co *co, void *arg)
{
	struct follower *f = arg;
	struct ak_watch_ref ref;

	while (ak_co_watch_changed(co, f->rx) == 0) {
		ak_watch_borrow_and_update(f->rx, &ref);
		f->last = *(const struct config *)ref.value;
		ak_watch_ref_release(&ref);
		printf("reloaded config: Config { level: %u }\n", f->last.level);
	}
	ak_watch_receiver_drop(f->rx);
	return 0;
}

static int main_co(struct ak_co *co, void *pool)
{
	static struct subscriber s[3];      /* static: outlive a failed main_co's tasks */
	static struct follower f;
	struct ak_broadcast_tx *tx;
	struct ak_watch_sender *cfg_tx;
	struct ak_task *h[3];
	char msg[24];
	int rc = ak_broadcast_new(&tx, NULL, 16, sizeof msg, NULL);

	for (int i = 0; rc == 0 && i < 3; i++) {
		s[i].id = i;
		rc = ak_broadcast_subscribe(tx, &s[i].rx);
		rc = rc != 0 ? rc : ak_co_spawn((struct ak_pool *)pool, subscribe, &s[i], &h[i]);
	}
	for (int i = 0; rc == 0 && i < 3; i++) {
		snprintf(msg, sizeof msg, "event %d", i);
		rc = ak_broadcast_send(tx, msg, NULL);
	}
	ak_broadcast_tx_drop(tx);
	for (int i = 0; rc == 0 && i < 3; i++)
		rc = ak_co_join(co, h[i]);
	if (rc != 0)
		return rc;

	rc = ak_watch_new(sizeof f.last, &(struct config){ 1 }, NULL, &cfg_tx, &f.rx);
	if (rc != 0 || (rc = ak_co_spawn((struct ak_pool *)pool, follow, &f, &h[0])) != 0)
		return rc;
	for (unsigned level = 2; rc == 0 && level <= 3; level++) {
		rc = ak_co_sleep_for(co, AK_MS(10));
		rc = rc != 0 ? rc : ak_watch_send(cfg_tx, &(struct config){ level });
	}
	ak_watch_sender_drop(cfg_tx);
	rc = rc != 0 ? rc : ak_co_join(co, h[0]);
	return rc == 0 && s[0].got == 3 && s[1].got == 3 && s[2].got == 3 && f.last.level == 3 ?
	       0 : AK_EINVAL;
}

int main(void)
{
	return ak_co_main_pool(0, main_co) != 0 || ak_debug_wait_zero(AK_SEC(2), NULL) != 0;
}
