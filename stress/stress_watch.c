/*
 * stress/stress_watch.c: the watch channel (chan/watch.c) with one writer
 * and -t readers (default 4) on plain threads.
 *
 * The writer publishes values {n, mix64(n)} where n is the version the
 * value gets: mostly ak_watch_send, sometimes send_replace (checking the
 * old value it gets back), send_modify (n + 1 from a clone of the current)
 * and send_if_modified (refusing a third of the time: nothing published).
 * A subscriber thread subscribes and drops extra receivers meanwhile.
 *
 * Each reader, in a loop: borrow or borrow_and_update; changed() under
 * ak_block_on with a short deadline; wait_for() a version a little ahead;
 * it keeps up to 4 borrows held across iterations (while the writer goes
 * on), and sometimes hands a borrow to the next reader through a mailbox,
 * which releases it on its own thread.
 *
 * Checked, on every borrow: the value matches its version (n == version,
 * the checksum intact: a freed or overwritten block would show), a
 * receiver's versions never go back, wait_for's value is one its
 * predicate accepts.  At the end: the last version
 * equals the writer's count of publishes, every value created was dropped
 * exactly once (the drop hook counts, and checks the value), and after
 * the call_rcu frees are done ak_debug_counters() is back to its baseline.
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

struct sv {
	uint64_t n;
	uint64_t check;
};

static atomic_llong live_values;     /* created (sent in, cloned) - dropped */
static atomic_llong drops;
static atomic_llong bad_drops;

static int sv_clone(void *dst, const void *src, void *arg)
{
	(void)arg;
	memcpy(dst, src, sizeof(struct sv));
	atomic_fetch_add_explicit(&live_values, 1, memory_order_relaxed);
	return 0;
}

static void sv_drop(void *value, void *arg)
{
	(void)arg;
	struct sv v;
	memcpy(&v, value, sizeof v);
	if (v.check != stress_mix64(v.n))
		atomic_fetch_add(&bad_drops, 1);
	memset(value, 0xa5, sizeof v);       /* a later read of it shows */
	atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&live_values, 1, memory_order_relaxed);
}

static struct sv sv_make(uint64_t n)
{
	struct sv v = { n, stress_mix64(n) };
	atomic_fetch_add_explicit(&live_values, 1, memory_order_relaxed);
	return v;
}

static struct ak_watch_sender *tx;
static struct ak_watch_receiver *rxs[MAX_READERS];
static int nreaders;
static atomic_int writer_done;
static uint64_t published;            /* the writer's count; read after join */
static atomic_uint_least64_t last_published;   /* for the dump */

/* A borrow handed from reader i to reader i+1, which releases it. */
static struct ak_watch_ref *_Atomic mailbox[MAX_READERS];

static int check_ref(const struct ak_watch_ref *r)
{
	struct sv v;
	memcpy(&v, r->value, sizeof v);
	if (v.n != r->version || v.check != stress_mix64(v.n)) {
		stress_fail("value {%" PRIu64 ", %#" PRIx64 "} under version %" PRIu64,
		            v.n, v.check, r->version);
		return 0;
	}
	return 1;
}

static void add_one(void *value, void *arg)
{
	(void)arg;
	struct sv *v = value;
	v->n++;
	v->check = stress_mix64(v->n);
}

static int add_one_sometimes(void *value, void *arg)
{
	struct stress_rng *r = arg;
	if (stress_chance(r, 33))
		return 0;
	add_one(value, NULL);
	return 1;
}

static void writer(struct stress_thread *t)
{
	uint64_t n = 0;
	while (stress_continue(t)) {
		unsigned pick = (unsigned)stress_below(&t->rng, 100);
		int rc;
		if (pick < 70) {
			struct sv v = sv_make(n + 1);
			rc = ak_watch_send(tx, &v);
			if (rc == 0)
				n++;
			else
				stress_fail("send: %d", rc);
		} else if (pick < 80) {
			struct sv v = sv_make(n + 1), old;
			rc = ak_watch_send_replace(tx, &v, &old);
			if (rc != 0) {
				stress_fail("send_replace: %d", rc);
			} else {
				if (old.n != n || old.check != stress_mix64(n))
					stress_fail("send_replace gave {%" PRIu64 "} for %" PRIu64, old.n, n);
				sv_drop(&old, NULL);           /* the caller's clone */
				n++;
			}
		} else if (pick < 90) {
			rc = ak_watch_send_modify(tx, add_one, NULL);
			if (rc == 0)
				n++;
			else
				stress_fail("send_modify: %d", rc);
		} else {
			int modified = -1;
			rc = ak_watch_send_if_modified(tx, add_one_sometimes, &t->rng, &modified);
			if (rc != 0 || modified < 0)
				stress_fail("send_if_modified: %d", rc);
			else
				n += (uint64_t)modified;
		}
		atomic_store_explicit(&last_published, n, memory_order_relaxed);
	}
	published = n;
	atomic_store_explicit(&writer_done, 1, memory_order_release);
}

static int ahead_of(const void *value, void *arg)
{
	const struct sv *v = value;
	return v->n >= *(const uint64_t *)arg;
}

static void reader(struct stress_thread *t)
{
	int me = t->index - 1;              /* the writer is thread 0 */
	struct ak_watch_receiver *rx = rxs[me];
	struct ak_watch_ref held[HELD_MAX], r;
	int nheld = 0;
	uint64_t last = 0;

	while (stress_continue(t)) {
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
			uint64_t want = last + 1 + stress_below(&t->rng, 4);
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
			struct ak_watch_ref *in = atomic_exchange(&mailbox[me], NULL);
			if (in) {
				check_ref(in);
				ak_watch_ref_release(in);
				free(in);
			}
			rc = ak_watch_borrow(rx, &r);
		}
		if (rc != 0) {
			stress_fail("borrow: %d", rc);
			break;
		}
		check_ref(&r);
		if (r.version < last)
			stress_fail("version went back from %" PRIu64 " to %" PRIu64, last, r.version);
		last = r.version;

		unsigned keep = (unsigned)stress_below(&t->rng, 100);
		if (keep < 10 && nheld < HELD_MAX) {
			held[nheld++] = r;                  /* across later sends */
		} else if (keep < 15) {
			struct ak_watch_ref *out = malloc(sizeof(*out));
			if (!out) {
				ak_watch_ref_release(&r);
			} else {
				*out = r;
				struct ak_watch_ref *prev =
					atomic_exchange(&mailbox[(me + 1) % nreaders], out);
				if (prev) {                    /* not taken yet: ours now */
					check_ref(prev);
					ak_watch_ref_release(prev);
					free(prev);
				}
			}
		} else {
			ak_watch_ref_release(&r);
		}
		if (nheld && stress_chance(&t->rng, 5)) {
			int i = (int)stress_below(&t->rng, (uint64_t)nheld);
			check_ref(&held[i]);
			ak_watch_ref_release(&held[i]);
			held[i] = held[--nheld];
		}
	}
	while (nheld) {
		check_ref(&held[--nheld]);
		ak_watch_ref_release(&held[nheld]);
	}
}

static void subscriber(struct stress_thread *t)
{
	while (stress_continue(t)) {
		struct ak_watch_receiver *extra;
		if (ak_watch_subscribe(tx, &extra) != 0) {
			stress_fail("subscribe");
			break;
		}
		if (ak_watch_has_changed(extra) < 0)
			stress_fail("has_changed on a fresh receiver");
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
	printf("watch-borrows: 1 writer, %d readers, 1 subscriber\n", nreaders);
	fflush(stdout);

	struct ak_watch_hooks hooks = { sv_clone, sv_drop, NULL };
	struct sv init = sv_make(0);
	struct ak_watch_receiver *first;
	stress_check(ak_watch_new(sizeof init, &init, &hooks, &tx, &first) == 0, "watch created");
	rxs[0] = first;
	for (int i = 1; i < nreaders; i++)
		stress_check(ak_watch_receiver_clone(first, &rxs[i]) == 0, "receiver %d", i);
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
		struct ak_watch_ref *in = atomic_exchange(&mailbox[i], NULL);
		if (in) {
			check_ref(in);
			ak_watch_ref_release(in);
			free(in);
		}
	}
	struct ak_watch_ref r;
	stress_check(ak_watch_borrow(first, &r) == 0 && r.version == published && check_ref(&r),
	             "the last version is the writer's count (%" PRIu64 ")", published);
	ak_watch_ref_release(&r);
	printf("watch-borrows: %" PRIu64 " publishes\n", published);

	for (int i = 0; i < nreaders; i++)
		ak_watch_receiver_drop(rxs[i]);
	ak_watch_sender_drop(tx);
	ak__watch_quiesce();
	stress_check(atomic_load(&live_values) == 0,
	             "every value dropped exactly once (%lld live, %lld drops)",
	             (long long)atomic_load(&live_values), (long long)atomic_load(&drops));
	stress_check(atomic_load(&bad_drops) == 0, "every dropped value intact (%lld not)",
	             (long long)atomic_load(&bad_drops));
	return stress_finish();
}
