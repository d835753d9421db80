/*
 * chan/watch.c: the watch channel.  See ak_watch(3) and DESIGN.md sections
 * 8 and 13.
 *
 * The current value lives in an immutable, reference-counted block.  The
 * channel holds one reference on the current block; every borrow holds one
 * more.  A send builds a new block outside any lock, then, under the
 * senders' lock, numbers it and swaps it in (a release exchange), then
 * drops the channel's reference on the old block: whoever drops the last
 * reference runs the value's drop hook on its own thread and puts the
 * block in the channel's limbo, to be reused or freed after a grace period.
 *
 * Why RCU (liburcu's urcu-bp flavor: the library runs on threads it does not
 * own, which qsbr and memb would have to register), and only there: a
 * reader loads the current pointer and then increments the block's count,
 * and between the two the block may lose its last reference.  The read-side
 * critical section brackets exactly that load and the increment
 * (increment-if-nonzero, retried from the load when it finds zero: a block
 * at zero is never current again), so the memory stays valid for the
 * increment; a block is reused or freed only after a grace period, when
 * every such section that could have seen it has ended.  A
 * user's borrow is a plain reference, outside RCU: it may be held across
 * awaits and released on another thread, and senders never wait for it.
 *
 * Memory, and why no call_rcu (DESIGN.md section 13; issue 11): liburcu's
 * call_rcu allocates its per-process data and starts its worker thread on
 * first use and aborts the process (urcu_die) when either fails, on paths
 * that cannot report anything (a drop, a borrow's release), and again in a
 * forked child's hook.  Calling it early does not help: its creation
 * aborts wherever it runs.  So the library never calls it, and nothing
 * here allocates behind the caller's back.  A block whose last reference
 * is gone joins its channel's limbo (under the senders' lock); whoever
 * brings the limbo to retire_batch blocks takes them, waits for a grace
 * period itself (urcu_bp_synchronize_rcu: no allocation; it waits only for
 * read-side sections, which never block) and gives them back as spare
 * blocks for later sends (up to SPARE_BYTES; the rest is freed).  So a
 * steady stream of sends mostly allocates nothing and pays one grace
 * period per retire_batch blocks.  Once the channel's last handle and
 * parked operation are gone (refs reaches 0), no read-side section on it
 * is running or can start: each ran under one of those references, before
 * its release, which the last decrement acquired.  From then on (dead) its
 * blocks are freed at once, with no grace period: the limbo, the spares,
 * and a borrowed block when its borrow is released (a borrow may outlive
 * the channel).  Every block holds a reference on the channel's memory
 * (mem_refs), which the channel's handles hold one more of.
 *
 * ThreadSanitizer cannot see liburcu 0.13 (inline asm, membarrier grace
 * periods).  The pointer itself is a C11 atomic (TSan sees the release
 * exchange and the acquire loads); AK__HB_* annotations add what it cannot
 * see: every read-side section releases the file's rcu_hb word when it
 * ends, and whoever ends a grace period acquires it before it reuses or
 * frees a block.  No suppression.
 *
 * Waiting: receivers wait on the notify core `changed` (notify_waiters
 * after every publish and when the last sender drops); the senders' closed()
 * waits on `rx_gone`.  An operation captures the notify generation before it
 * looks at the version, so a publish it misses completes its wait.
 *
 *   call                              lock                 thread
 *   send, send_replace, send_modify   senders' lock        any sender
 *   borrow*, has_changed, mark_*      none (RCU section)   the receiver's
 *   changed / wait_for poll           notify core's        the receiver's
 *   ak_watch_ref_release              none                 any
 */
#include <errno.h>
#include <string.h>
#include <urcu-bp.h>

#include <awaitkit/block_on.h>

#include "watch_chan.h"

/* The largest element: a block must stay far from overflowing size_t. */
#define MAX_ELEM (SIZE_MAX / 2)

/* Unreferenced blocks wait for a grace period in batches of at least
 * RETIRE_MIN and at most RETIRE_MAX, as many as the spare list holds: a
 * grace period costs two membarrier system calls, a walk of liburcu's reader
 * registry and, while readers are busy, spinning for them on the sender's
 * thread.  Measured (make bench watch_readers, 8-byte values): one per 64
 * blocks took the update from 0.87 to 1.71 us, twice call_rcu's time. */
#define RETIRE_MIN 64
#define RETIRE_MAX 1024

/* Blocks back from a grace period are reused for new values (no
 * allocation per send in steady state); a channel keeps at most this many
 * bytes of them, and at least SPARE_MIN blocks. */
#define SPARE_BYTES (256 * 1024)
#define SPARE_MIN 4

struct watch;
static void mem_put(struct watch *w);

/* TSan's view of the grace period: released at the end of every read-side
 * section, acquired after urcu_bp_synchronize_rcu() by grace_period(). */
static char rcu_hb;

/* ---- blocks ---------------------------------------------------------------- */

/* What block_new allocates for one of w's blocks (ak__free_sized). */
static size_t block_bytes(const struct watch *w)
{
	return offsetof(struct block, value) + w->elem_size;
}

static void block_free(struct block *b)
{
	struct watch *w = b->w;
	ak__free_sized(b, block_bytes(w));
	mem_put(w);
}

static void free_chain(struct block *b)
{
	struct block *next;
	for (; b; b = next) {
		next = b->next_retired;
		block_free(b);
	}
}

/* Waits until every read-side section begun before the call has ended.
 * Never inside one, the library's or the program's own (it would wait for
 * itself: ak_watch(3) says so), nor under a lock. */
static void grace_period(void)
{
	int saved = errno;
	urcu_bp_synchronize_rcu();
	errno = saved;
	/* Pairs with the release in every read_end() before the grace
	 * period: what those sections read happens before the reuse. */
	AK__HB_ACQUIRE(&rcu_hb);
}

/* A batch taken from w's limbo: after a grace period, the spares of a live
 * channel, or freed.  The batch's mem_refs keep w's memory. */
static void reclaim(struct watch *w, struct block *batch)
{
	struct block *next;

	grace_period();
	ak__lock(&w->send_lock);
	for (; batch && !w->dead && w->spare_n < w->spare_max; batch = next) {
		next = batch->next_retired;
		batch->next_retired = w->spare;
		w->spare = batch;
		w->spare_n++;
	}
	ak__unlock(&w->send_lock);
	free_chain(batch);
}

/* A block lost its last reference (its drop hook has run): to the limbo of
 * a live channel, or freed at once when the channel is dead (no reader
 * left to see it). */
static void block_retire(struct block *b)
{
	struct watch *w = b->w;
	struct block *batch = NULL;

	ak__lock(&w->send_lock);
	if (w->dead) {
		ak__unlock(&w->send_lock);
		block_free(b);
		return;
	}
	b->next_retired = w->limbo;
	w->limbo = b;
	if (++w->limbo_n == w->retire_batch) {
		batch = w->limbo;
		w->limbo = NULL;
		w->limbo_n = 0;
	}
	ak__unlock(&w->send_lock);
	if (batch)
		reclaim(w, batch);
}

void ak__watch_block_put(struct block *b)
{
	if (!ak__ref_put(&b->refs))
		return;
	if (b->drop)
		b->drop(b->value, b->arg);
	block_retire(b);
}

/* A new block of w's; w's mem_refs must be initialised. */
static struct block *block_new(struct watch *w)
{
	struct block *b = ak__alloc(block_bytes(w));
	if (!b)
		return NULL;
	ak__init(&b->refs, 1);
	b->w = w;
	ak__ref_get(&w->mem_refs);
	b->drop = w->hooks.drop;
	b->arg = w->hooks.arg;
	return b;
}

/* send_lock: a block for a new value, a spare one when there is. */
static struct block *block_get(struct watch *w)
{
	struct block *b = w->spare;
	if (!b)
		return block_new(w);
	w->spare = b->next_retired;
	w->spare_n--;
	/* Past a grace period: no reader can look at it any more. */
	ak__init(&b->refs, 1);
	return b;
}

/* send_lock: gives back a block block_get() gave and nobody saw. */
static void block_unget(struct watch *w, struct block *b)
{
	b->next_retired = w->spare;
	w->spare = b;
	w->spare_n++;
}

static int clone_value(const struct watch *w, void *dst, const void *src)
{
	if (w->hooks.clone)
		return w->hooks.clone(dst, src, w->hooks.arg);
	if (w->elem_size)
		memcpy(dst, src, w->elem_size);
	return 0;
}

static void read_begin(void)
{
	int saved = errno;      /* the first lock of a thread registers it */
	urcu_bp_read_lock();
	errno = saved;
}

static void read_end(void)
{
	AK__HB_RELEASE(&rcu_hb);
	urcu_bp_read_unlock();
}

/* A new reference on the current block. */
struct block *ak__watch_acquire_current(struct watch *w)
{
	for (;;) {
		read_begin();
		/* acquire: pairs with the release exchange in publish_locked():
		 * the block's value and version are visible. */
		struct block *b = ak__load(&w->current, AK__ACQUIRE);
		uint32_t r = ak__load(&b->refs, AK__RELAXED);
		while (r != 0 && !ak__cas_weak(&b->refs, &r, r + 1, AK__RELAXED, AK__RELAXED))
			;
		read_end();
		if (r != 0)
			return b;
		/* It lost its last reference: it is no longer current. */
		ak__cpu_relax();
	}
}

uint64_t ak__watch_current_version(struct watch *w)
{
	read_begin();
	/* acquire: pairs with the release exchange in publish_locked(). */
	uint64_t v = ak__load(&w->current, AK__ACQUIRE)->version;
	read_end();
	return v;
}

/* With send_lock held: numbers b, makes it current, returns the old one
 * (whose channel reference the caller now holds). */
static struct block *publish_locked(struct watch *w, struct block *b)
{
	b->version = ++w->version;
	/* release: pairs with the acquire loads in ak__watch_acquire_current() and
	 * ak__watch_current_version(); the watch's happens-before edge. */
	return ak__xchg(&w->current, b, AK__RELEASE);
}

/* After a publish, outside the lock: wakes the receivers and drops the
 * channel's reference on the replaced block (block_retire() when it was
 * the last). */
static void published(struct watch *w, struct block *old)
{
	ak__notify_waiters(&w->changed);
	ak__watch_block_put(old);
}

/* ---- the channel ----------------------------------------------------------- */

/* The channel's memory: freed when no handle and no block is left (maybe
 * on the thread that releases a borrow: no user code runs here). */
static void mem_put(struct watch *w)
{
	if (!ak__ref_put(&w->mem_refs))
		return;
	ak__lock_destroy(&w->send_lock);
	ak__free_sized(w, sizeof(*w));
}

void ak__watch_put(struct watch *w)
{
	if (!ak__ref_put(&w->refs))
		return;
	/* No reader is left (see the top of the file): no grace period for
	 * any of its blocks from now on. */
	ak__lock(&w->send_lock);
	w->dead = 1;
	struct block *limbo = w->limbo, *spare = w->spare;
	w->limbo = NULL;
	w->limbo_n = 0;
	w->spare = NULL;
	w->spare_n = 0;
	ak__unlock(&w->send_lock);
	free_chain(limbo);
	free_chain(spare);
	ak__watch_block_put(ak__load(&w->current, AK__RELAXED));
	ak__notify_destroy(&w->changed);
	ak__notify_destroy(&w->rx_gone);
	mem_put(w);
}

int ak__watch_senders_gone(struct watch *w)
{
	/* acquire: pairs with the release in ak_watch_sender_drop(); every
	 * publish of every sender is visible after it. */
	return ak__load(&w->closed, AK__ACQUIRE) != 0;
}

AK_EXPORT int ak_watch_new(size_t elem_size, const void *init, const struct ak_watch_hooks *hooks,
                           struct ak_watch_sender **tx, struct ak_watch_receiver **rx)
{
	if (!tx || elem_size > MAX_ELEM || (elem_size && !init) ||
	    (hooks && hooks->drop && !hooks->clone))
		return AK_EINVAL;
	struct watch *w = ak__alloc(sizeof(*w));
	struct ak_watch_sender *s = ak__alloc(sizeof(*s));
	/* No receiver asked for: tokio's Sender::new, closed until a
	 * subscribe. */
	struct ak_watch_receiver *r = rx ? ak__alloc(sizeof(*r)) : NULL;
	struct block *b = NULL;
	if (w) {
		w->elem_size = elem_size;
		w->spare_max = SPARE_BYTES / (offsetof(struct block, value) + elem_size);
		if (w->spare_max < SPARE_MIN)
			w->spare_max = SPARE_MIN;
		w->retire_batch = w->spare_max < RETIRE_MIN ? RETIRE_MIN
		                : w->spare_max > RETIRE_MAX ? RETIRE_MAX : w->spare_max;
		if (hooks)
			w->hooks = *hooks;
		ak__init(&w->mem_refs, 1);
		b = block_new(w);
	}
	if (!w || !s || (rx && !r) || !b) {
		if (b)
			ak__free_sized(b, block_bytes(w));  /* never published: no grace period */
		ak__free_sized(r, sizeof(*r));
		ak__free_sized(s, sizeof(*s));
		ak__free_sized(w, sizeof(*w));
		return AK_ENOMEM;
	}
	if (elem_size)
		memcpy(b->value, init, elem_size);
	b->version = 0;
	ak__init(&w->current, b);
	ak__init(&w->refs, rx ? 2 : 1);
	ak__init(&w->senders, 1);
	ak__init(&w->receivers, rx ? 1 : 0);
	ak__init(&w->closed, 0);
	ak__lock_init(&w->send_lock);
	w->version = 0;
	ak__notify_init(&w->changed);
	ak__notify_init(&w->rx_gone);
	s->w = w;
	*tx = s;
	if (rx) {
		r->w = w;
		r->seen = 0;
		r->refs = 1;
		r->dropped = 0;
		*rx = r;
	}
	return 0;
}

/* ---- sender ------------------------------------------------------------------ */

AK_EXPORT int ak_watch_sender_clone(struct ak_watch_sender *tx, struct ak_watch_sender **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct ak_watch_sender *s = ak__alloc(sizeof(*s));
	if (!s)
		return AK_ENOMEM;
	s->w = tx->w;
	ak__ref_get(&tx->w->refs);
	ak__fetch_add(&tx->w->senders, 1, AK__RELAXED);
	*out = s;
	return 0;
}

AK_EXPORT int ak_watch_sender_drop(struct ak_watch_sender *tx)
{
	if (!tx)
		return AK_EINVAL;
	struct watch *w = tx->w;
	ak__free_sized(tx, sizeof(*tx));
	/* acq_rel: the last sender sees every other sender's publishes. */
	if (ak__fetch_sub(&w->senders, 1, AK__ACQ_REL) == 1) {
		/* release: pairs with the acquire in ak__watch_senders_gone(). */
		ak__store(&w->closed, 1, AK__RELEASE);
		ak__notify_waiters(&w->changed);
	}
	ak__watch_put(w);
	return 0;
}

/* Publishes a copy of value's bytes (the value moves into the channel). */
static int publish_bytes(struct watch *w, const void *value, void *old)
{
	ak__lock(&w->send_lock);
	struct block *b = block_get(w);
	if (!b) {
		ak__unlock(&w->send_lock);
		return AK_ENOMEM;
	}
	if (w->elem_size)
		memcpy(b->value, value, w->elem_size);
	/* Only publishers change current, under this lock. */
	struct block *prev = ak__load(&w->current, AK__RELAXED);
	if (old) {
		/* Cloned before anything changes, so a failure changes nothing. */
		int rc = clone_value(w, old, prev->value);
		if (rc) {
			block_unget(w, b);
			ak__unlock(&w->send_lock);
			return rc;
		}
	}
	publish_locked(w, b);
	ak__unlock(&w->send_lock);
	published(w, prev);
	return 0;
}

AK_EXPORT int ak_watch_send(struct ak_watch_sender *tx, const void *value)
{
	if (!tx || (!value && tx->w->elem_size))
		return AK_EINVAL;
	if (ak__load(&tx->w->receivers, AK__RELAXED) == 0)
		return AK_EPIPE;
	return publish_bytes(tx->w, value, NULL);
}

AK_EXPORT int ak_watch_send_replace(struct ak_watch_sender *tx, const void *value, void *old)
{
	if (!tx || (!value && tx->w->elem_size))
		return AK_EINVAL;
	return publish_bytes(tx->w, value, old);
}

/* Clone the current value, let the caller change the clone, publish it
 * (or drop it when nothing was modified). */
static int modify_and_publish(struct watch *w, void (*modify)(void *, void *),
                              int (*modify_if)(void *, void *), void *arg, int *modified)
{
	ak__lock(&w->send_lock);
	struct block *b = block_get(w);
	if (!b) {
		ak__unlock(&w->send_lock);
		return AK_ENOMEM;
	}
	/* Only publishers change current, under this lock. */
	struct block *prev = ak__load(&w->current, AK__RELAXED);
	int rc = clone_value(w, b->value, prev->value);
	if (rc) {
		block_unget(w, b);
		ak__unlock(&w->send_lock);
		return rc;
	}
	int changed = 1;
	if (modify)
		modify(b->value, arg);
	else
		changed = modify_if(b->value, arg) != 0;
	if (changed)
		publish_locked(w, b);
	ak__unlock(&w->send_lock);
	if (modified)
		*modified = changed;
	if (changed) {
		published(w, prev);
	} else {
		if (b->drop)
			b->drop(b->value, b->arg);
		block_free(b);  /* never published: no grace period */
	}
	return 0;
}

AK_EXPORT int ak_watch_send_modify(struct ak_watch_sender *tx,
                                   void (*modify)(void *value, void *arg), void *arg)
{
	if (!tx || !modify)
		return AK_EINVAL;
	return modify_and_publish(tx->w, modify, NULL, arg, NULL);
}

AK_EXPORT int ak_watch_send_if_modified(struct ak_watch_sender *tx,
                                        int (*modify)(void *value, void *arg), void *arg,
                                        int *modified)
{
	if (!tx || !modify)
		return AK_EINVAL;
	return modify_and_publish(tx->w, NULL, modify, arg, modified);
}

void ak__watch_fill_ref(struct ak_watch_ref *ref, struct block *b, int has_changed)
{
	ref->value = b->value;
	ref->version = b->version;
	ref->has_changed = has_changed;
	ref->block_ = b;
}

AK_EXPORT int ak_watch_sender_borrow(struct ak_watch_sender *tx, struct ak_watch_ref *ref)
{
	if (!tx || !ref)
		return AK_EINVAL;
	ak__watch_fill_ref(ref, ak__watch_acquire_current(tx->w), 0);
	return 0;
}

static struct ak_watch_receiver *receiver_new(struct watch *w, uint64_t seen)
{
	struct ak_watch_receiver *r = ak__alloc(sizeof(*r));
	if (!r)
		return NULL;
	r->w = w;
	r->seen = seen;
	r->refs = 1;
	r->dropped = 0;
	ak__ref_get(&w->refs);
	ak__fetch_add(&w->receivers, 1, AK__RELAXED);
	return r;
}

AK_EXPORT int ak_watch_subscribe(struct ak_watch_sender *tx, struct ak_watch_receiver **out)
{
	if (!tx || !out)
		return AK_EINVAL;
	struct ak_watch_receiver *r = receiver_new(tx->w, ak__watch_current_version(tx->w));
	if (!r)
		return AK_ENOMEM;
	*out = r;
	return 0;
}

AK_EXPORT size_t ak_watch_receiver_count(const struct ak_watch_sender *tx)
{
	if (!tx)
		return 0;
	return ak__load(&tx->w->receivers, AK__RELAXED);
}

AK_EXPORT size_t ak_watch_sender_count(const struct ak_watch_sender *tx)
{
	if (!tx)
		return 0;
	return ak__load(&tx->w->senders, AK__RELAXED);
}

/* tokio's Sender::is_closed: no receiver is left (a subscribe reopens). */
AK_EXPORT int ak_watch_sender_is_closed(const struct ak_watch_sender *tx)
{
	if (!tx)
		return AK_EINVAL;
	/* acquire: pairs with the release decrement in ak_watch_receiver_drop(),
	 * as closed_poll's look does. */
	return ak__load(&tx->w->receivers, AK__ACQUIRE) == 0;
}

AK_EXPORT int ak_watch_same_channel(const struct ak_watch_receiver *a,
                                    const struct ak_watch_receiver *b)
{
	if (!a || !b)
		return AK_EINVAL;
	return a->w == b->w;
}

/* ---- receiver ---------------------------------------------------------------- */

AK_EXPORT int ak_watch_receiver_clone(struct ak_watch_receiver *rx, struct ak_watch_receiver **out)
{
	if (!rx || !out)
		return AK_EINVAL;
	struct ak_watch_receiver *r = receiver_new(rx->w, rx->seen);
	if (!r)
		return AK_ENOMEM;
	*out = r;
	return 0;
}

/* The last reference on a receiver frees it and its channel reference. */
void ak__watch_receiver_put(struct ak_watch_receiver *rx)
{
	if (--rx->refs != 0)
		return;
	struct watch *w = rx->w;
	ak__free_sized(rx, sizeof(*rx));
	ak__watch_put(w);
}

AK_EXPORT int ak_watch_receiver_drop(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	struct watch *w = rx->w;
	/* A parked changed() or wait_for() keeps the receiver's memory; it
	 * fails with AK_EPIPE at its next poll. */
	rx->dropped = 1;
	/* release: pairs with the acquire in closed_poll(). */
	if (ak__fetch_sub(&w->receivers, 1, AK__ACQ_REL) == 1)
		ak__notify_waiters(&w->rx_gone);
	ak__watch_receiver_put(rx);
	return 0;
}

AK_EXPORT int ak_watch_borrow(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	if (!rx || !ref)
		return AK_EINVAL;
	struct block *b = ak__watch_acquire_current(rx->w);
	ak__watch_fill_ref(ref, b, b->version != rx->seen);
	return 0;
}

AK_EXPORT int ak_watch_borrow_and_update(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	if (!rx || !ref)
		return AK_EINVAL;
	struct block *b = ak__watch_acquire_current(rx->w);
	ak__watch_fill_ref(ref, b, b->version != rx->seen);
	rx->seen = b->version;
	return 0;
}

AK_EXPORT int ak_watch_ref_release(struct ak_watch_ref *ref)
{
	if (!ref || !ref->block_)
		return AK_EINVAL;
	struct block *b = ref->block_;
	ref->block_ = NULL;
	ref->value = NULL;
	ak__watch_block_put(b);
	return 0;
}

AK_EXPORT int ak_watch_has_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	if (ak__watch_senders_gone(rx->w))
		return AK_EPIPE;
	return ak__watch_current_version(rx->w) != rx->seen;
}

AK_EXPORT int ak_watch_mark_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	/* Any other number: the next changed() resolves at once. */
	rx->seen = ak__watch_current_version(rx->w) - 1;
	return 0;
}

AK_EXPORT int ak_watch_mark_unchanged(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	rx->seen = ak__watch_current_version(rx->w);
	return 0;
}

/* ---- for tests and stress programs ------------------------------------------- */

void ak__watch_quiesce(void);

/* Every block is freed or kept as a spare synchronously (no call_rcu):
 * nothing is left in flight once the calls that dropped the references
 * have returned.  Kept for the tests and stress programs, which call it
 * before they read the allocation counters. */
void ak__watch_quiesce(void)
{
}
