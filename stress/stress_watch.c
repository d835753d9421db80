/*
 * stress/stress_watch.c: the watch channel (chan/watch*.c) with one writer
 * and -t readers (default 4) on plain threads, on three channels at once:
 * one of 16-byte values with clone and drop hooks (a replaced value is
 * dropped at once or by its last borrow), one of the same values without
 * hooks, and one of 256-byte values without hooks (slots reused in
 * batches).
 *
 * The writer publishes, on a channel picked at random, values {n,
 * mix64(n), ...} where n is the version the value gets: mostly
 * ak_watch_send, sometimes send_replace (checking the old value it gets
 * back), send_modify (n + 1 from a clone of the current) and
 * send_if_modified (refusing a third of the time: nothing published).
 * A subscriber thread subscribes and drops extra receivers meanwhile,
 * sometimes handing a borrow made through one to a reader, which releases
 * it after the receiver is gone.
 *
 * Each reader, in a loop, on a channel picked at random: borrow or
 * borrow_and_update; changed() under ak_block_on with a short deadline;
 * wait_for() a version a little ahead; it keeps up to 4 borrows held
 * across iterations (while the writer goes on: more than a receiver's
 * pins), and sometimes hands a borrow to the next reader through a
 * mailbox, which releases it on its own thread.
 *
 * Checked, on every borrow: the value matches its version (n == version,
 * the checksum and the big value's filler intact: a reused or dropped slot
 * would show), a receiver's versions never go back, wait_for's value is
 * one its predicate accepts.  At the end: each channel's last version
 * equals the writer's count of its publishes, every value of the hooked
 * channel was dropped exactly once (the drop hook counts, and checks the
 * value), and ak_debug_counters() is back to its baseline.
 *
 * ak-stress(1) runs it as its scenario watch-borrows (-t and -p are one option).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <awaitkit.h>

#include "harness.h"
#include "scenarios.h"

void ak__watch_quiesce(void);

#define MAX_READERS 64
#define HELD_MAX 4
#define CHANNELS 3
#define HOOKED 0                        /* the channel with hooks */
#define BIG 2                           /* the channel of 256-byte values */
#define FILL 30

struct sv {
	uint64_t n;
	uint64_t check;
	uint64_t fill[FILL];                /* BIG only: n ^ i */
};

static const size_t value_size[CHANNELS] = {
	offsetof(struct sv, fill), offsetof(struct sv, fill), sizeof(struct sv)
};

static atomic_llong live_values;     /* the hooked channel's: created - dropped */
static atomic_llong drops;
static atomic_llong bad_drops;

static int sv_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, value_size[HOOKED]);
	atomic_fetch_add_explicit(&live_values, 1, memory_order_relaxed);
	return 0;
}

static void sv_drop(void *value, void *arg)
{
	(void)arg;
	struct sv v;
	memcpy(&v, value, value_size[HOOKED]);
	if (v.check != stress_mix64(v.n))
		atomic_fetch_add(&bad_drops, 1);
	memset(value, 0xa5, value_size[HOOKED]);     /* a later read of it shows */
	atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&live_values, 1, memory_order_relaxed);
}

static void sv_set(struct sv *v, uint64_t n)
{
	v->n = n;
	v->check = stress_mix64(n);
	for (int i = 0; i < FILL; i++)
		v->fill[i] = n ^ (uint64_t)i;
}

/* A value for channel c (counted live on the hooked one). */
static struct sv sv_make(int c, uint64_t n)
{
	struct sv v;
	sv_set(&v, n);
	if (c == HOOKED)
		atomic_fetch_add_explicit(&live_values, 1, memory_order_relaxed);
	return v;
}

struct chan {
	struct ak_watch_sender *tx;
	struct ak_watch_receiver *rxs[MAX_READERS];
	uint64_t published;                 /* the writer's count; read after join */
};

static struct chan chans[CHANNELS];
static int nreaders;
static atomic_uint_least64_t last_published;   /* for the dump */

/* A borrow of channel c handed from reader i to reader i+1, which releases
 * it. */
struct handed {
	struct ak_watch_ref ref;
	int c;
};
static struct handed *_Atomic mailbox[MAX_READERS];

static int check_ref(const struct ak_watch_ref *r, int c)
{
	struct sv v;
	memcpy(&v, r->value, value_size[c]);
	int ok = v.n == r->version && v.check == stress_mix64(v.n);
	for (int i = 0; ok && c == BIG && i < FILL; i++)
		ok = v.fill[i] == (v.n ^ (uint64_t)i);
	if (!ok)
		stress_fail("channel %d: value {%" PRIu64 ", %#" PRIx64 "} under version %" PRIu64,
		            c, v.n, v.check, r->version);
	return ok;
}

static void add_one(void *value, void *arg)
{
	struct sv v;
	size_t size = *(const size_t *)arg;
	memcpy(&v, value, size);
	sv_set(&v, v.n + 1);
	memcpy(value, &v, size);
}

struct sometimes {
	struct stress_rng *rng;
	size_t size;
};

static int add_one_sometimes(void *value, void *arg)
{
	struct sometimes *s = arg;
	if (stress_chance(s->rng, 33))
		return 0;
	add_one(value, &s->size);
	return 1;
}

static void writer(struct stress_thread *t)
{
	uint64_t n[CHANNELS] = { 0 };
	while (stress_continue(t)) {
		int c = (int)stress_below(&t->rng, CHANNELS);
		struct ak_watch_sender *tx = chans[c].tx;
		unsigned pick = (unsigned)stress_below(&t->rng, 100);
		int rc;
		if (pick < 70) {
			struct sv v = sv_make(c, n[c] + 1);
			rc = ak_watch_send(tx, &v);
			if (rc == 0)
				n[c]++;
			else
				stress_fail("send: %d", rc);
		} else if (pick < 80) {
			struct sv v = sv_make(c, n[c] + 1), old;
			rc = ak_watch_send_replace(tx, &v, &old);
			if (rc != 0) {
				stress_fail("send_replace: %d", rc);
			} else {
				if (old.n != n[c] || old.check != stress_mix64(n[c]))
					stress_fail("send_replace gave {%" PRIu64 "} for %" PRIu64,
					            old.n, n[c]);
				if (c == HOOKED)
					sv_drop(&old, NULL);   /* the caller's clone */
				n[c]++;
			}
		} else if (pick < 90) {
			size_t size = value_size[c];
			rc = ak_watch_send_modify(tx, add_one, &size);
			if (rc == 0)
				n[c]++;
			else
				stress_fail("send_modify: %d", rc);
		} else {
			int modified = -1;
			struct sometimes s = { &t->rng, value_size[c] };
			rc = ak_watch_send_if_modified(tx, add_one_sometimes, &s, &modified);
			if (rc != 0 || modified < 0)
				stress_fail("send_if_modified: %d", rc);
			else
				n[c] += (uint64_t)modified;
		}
		atomic_store_explicit(&last_published, n[c], memory_order_relaxed);
	}
	for (int c = 0; c < CHANNELS; c++)
		chans[c].published = n[c];
}

static int ahead_of(const void *value, void *arg)
{
	const struct sv *v = value;
	return v->n >= *(const uint64_t *)arg;
}

/* Releases a handed borrow, checking it first. */
static void release_handed(struct handed *h)
{
	check_ref(&h->ref, h->c);
	ak_watch_ref_release(&h->ref);
	free(h);
}

static void reader(struct stress_thread *t)
{
	int me = t->index - 1;              /* the writer is thread 0 */
	struct ak_watch_ref held[HELD_MAX], r;
	int held_c[HELD_MAX];
	int nheld = 0;
	uint64_t last[CHANNELS] = { 0 };

	while (stress_continue(t)) {
		int c = (int)stress_below(&t->rng, CHANNELS);
		struct ak_watch_receiver *rx = chans[c].rxs[me];
		unsigned pick = (unsigned)stress_below(&t->rng, 100);
		int rc = 0;
		if (pick < 50) {
			rc = pick < 25 ? ak_watch_borrow(rx, &r) : ak_watch_borrow_and_update(rx, &r);
		} else if (pick < 75) {
			rc = ak_watch_changed_blocking(rx, ak_deadline_in(200000));
			if (rc == AK_ETIMEDOUT || rc == AK_EPIPE)
				rc = 0;
			else if (rc != 0)
				stress_fail("changed: %d", rc);
			rc = ak_watch_borrow(rx, &r);
		} else if (pick < 85) {
			uint64_t want = last[c] + 1 + stress_below(&t->rng, 4);
			rc = ak_watch_wait_for_blocking(rx, ahead_of, &want, &r,
			                                ak_deadline_in(200000));
			if (rc == 0 && r.version < want)
				stress_fail("wait_for gave %" PRIu64 " < %" PRIu64, r.version, want);
			if (rc == AK_ETIMEDOUT || rc == AK_EPIPE)
				rc = ak_watch_borrow(rx, &r);
			else if (rc != 0)
				stress_fail("wait_for: %d", rc);
		} else {
			/* Release a borrow handed over by the previous reader. */
			struct handed *in = atomic_exchange(&mailbox[me], NULL);
			if (in)
				release_handed(in);
			rc = ak_watch_borrow(rx, &r);
		}
		if (rc != 0) {
			stress_fail("borrow: %d", rc);
			break;
		}
		check_ref(&r, c);
		if (r.version < last[c])
			stress_fail("version went back from %" PRIu64 " to %" PRIu64, last[c], r.version);
		last[c] = r.version;

		unsigned keep = (unsigned)stress_below(&t->rng, 100);
		if (keep < 10 && nheld < HELD_MAX) {
			held_c[nheld] = c;
			held[nheld++] = r;                  /* across later sends */
		} else if (keep < 15) {
			struct handed *out = malloc(sizeof(*out));
			if (!out) {
				ak_watch_ref_release(&r);
			} else {
				out->ref = r;
				out->c = c;
				struct handed *prev = atomic_exchange(&mailbox[(me + 1) % nreaders], out);
				if (prev)                      /* not taken yet: ours now */
					release_handed(prev);
			}
		} else {
			ak_watch_ref_release(&r);
		}
		if (nheld && stress_chance(&t->rng, 5)) {
			int i = (int)stress_below(&t->rng, (uint64_t)nheld);
			check_ref(&held[i], held_c[i]);
			ak_watch_ref_release(&held[i]);
			held_c[i] = held_c[--nheld];
			held[i] = held[nheld];
		}
	}
	while (nheld) {
		nheld--;
		check_ref(&held[nheld], held_c[nheld]);
		ak_watch_ref_release(&held[nheld]);
	}
}

static void subscriber(struct stress_thread *t)
{
	while (stress_continue(t)) {
		int c = (int)stress_below(&t->rng, CHANNELS);
		struct ak_watch_sender *tx = chans[c].tx;
		struct ak_watch_receiver *extra;
		if (ak_watch_subscribe(tx, &extra) != 0) {
			stress_fail("subscribe");
			break;
		}
		if (ak_watch_has_changed(extra) < 0)
			stress_fail("has_changed on a fresh receiver");
		struct handed *out = stress_chance(&t->rng, 25) ? malloc(sizeof(*out)) : NULL;
		if (out && ak_watch_borrow(extra, &out->ref) == 0) {
			/* Held past the receiver's drop, released by a reader. */
			out->c = c;
			struct handed *prev = atomic_exchange(
				&mailbox[stress_below(&t->rng, (uint64_t)nreaders)], out);
			if (prev)
				release_handed(prev);
		} else {
			free(out);
		}
		ak_watch_receiver_drop(extra);
		if (ak_watch_receiver_count(tx) < (size_t)nreaders)
			stress_fail("receiver_count below the readers");
	}
}

static void dump(FILE *out, void *arg)
{
	(void)arg;
	fprintf(out, "watch-borrows: last published %" PRIu64 ", live values %lld, drops %lld\n",
	        (uint64_t)atomic_load(&last_published), (long long)atomic_load(&live_values),
	        (long long)atomic_load(&drops));
}

int sc_watch_borrows(void)
{
	stress_start("watch-borrows", 4);
	const struct stress_opts *o = stress_opts();
	nreaders = o->threads < 1 ? 1 : o->threads > MAX_READERS ? MAX_READERS : o->threads;
	printf("watch-borrows: 1 writer, %d readers, 1 subscriber, %d channels\n", nreaders,
	       CHANNELS);
	fflush(stdout);

	struct ak_watch_hooks hooks = { sv_clone, sv_drop, NULL };
	for (int c = 0; c < CHANNELS; c++) {
		struct sv init = sv_make(c, 0);
		struct chan *ch = &chans[c];
		stress_check(ak_watch_new(value_size[c], &init, c == HOOKED ? &hooks : NULL,
		                          &ch->tx, &ch->rxs[0]) == 0, "watch %d created", c);
		for (int i = 1; i < nreaders; i++)
			stress_check(ak_watch_receiver_clone(ch->rxs[0], &ch->rxs[i]) == 0,
			             "channel %d: receiver %d", c, i);
	}
	stress_on_dump(dump, NULL);

	stress_spawn("writer", writer, NULL);
	for (int i = 0; i < nreaders; i++) {
		char name[24];
		snprintf(name, sizeof name, "reader-%d", i % 100);
		stress_spawn(name, reader, NULL);
	}
	stress_spawn("subscriber", subscriber, NULL);
	stress_join();

	for (int i = 0; i < nreaders; i++) {
		struct handed *in = atomic_exchange(&mailbox[i], NULL);
		if (in)
			release_handed(in);
	}
	uint64_t total = 0;
	for (int c = 0; c < CHANNELS; c++) {
		struct chan *ch = &chans[c];
		struct ak_watch_ref r;
		stress_check(ak_watch_borrow(ch->rxs[0], &r) == 0 && r.version == ch->published &&
		             check_ref(&r, c),
		             "channel %d: the last version is the writer's count (%" PRIu64 ")", c,
		             ch->published);
		ak_watch_ref_release(&r);
		total += ch->published;
		for (int i = 0; i < nreaders; i++)
			ak_watch_receiver_drop(ch->rxs[i]);
		ak_watch_sender_drop(ch->tx);
	}
	printf("watch-borrows: %" PRIu64 " publishes\n", total);

	ak__watch_quiesce();
	stress_check(atomic_load(&live_values) == 0,
	             "every value dropped exactly once (%lld live, %lld drops)",
	             (long long)atomic_load(&live_values), (long long)atomic_load(&drops));
	stress_check(atomic_load(&bad_drops) == 0, "every dropped value intact (%lld not)",
	             (long long)atomic_load(&bad_drops));
	return stress_finish();
}
