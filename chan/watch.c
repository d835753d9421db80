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
#include <awaitkit/watch.h>

#include "../core/core.h"
#include "../core/notify.h"

struct block {
	struct block *next_retired;         /* limbo, a batch, the spares */
	struct watch *w;                    /* its channel: holds a mem_refs */
	ak__atomic(uint32_t) refs;          /* the channel's + one per borrow */
	uint64_t version;                   /* written before publication */
	void (*drop)(void *value, void *arg);
	void *arg;
	max_align_t value[];                /* elem_size bytes */
};

struct watch {
	ak__atomic(struct block *) current;
	ak__atomic(uint32_t) refs;          /* handles and parked closed() ops */
	ak__atomic(uint32_t) mem_refs;      /* 1 while refs > 0, + 1 per block */
	ak__atomic(uint32_t) senders;
	ak__atomic(uint32_t) receivers;
	ak__atomic(uint32_t) closed;        /* every sender has dropped */
	struct ak__lock send_lock;          /* serializes publishes */
	uint64_t version;                   /* send_lock: the last published */
	struct block *limbo;                /* send_lock: unreferenced, before a grace period */
	size_t limbo_n;                     /* send_lock */
	size_t retire_batch;                /* a grace period per this many */
	struct block *spare;                /* send_lock: past a grace period, reusable */
	size_t spare_n;                     /* send_lock */
	size_t spare_max;
	uint32_t dead;                      /* send_lock: refs reached 0, no reader left */
	struct ak__notify changed;          /* receivers wait here */
	struct ak__notify rx_gone;          /* closed() waits here */
	size_t elem_size;
	struct ak_watch_hooks hooks;
};

struct ak_watch_sender {
	struct watch *w;
};

/* The receiver's fields are its owner's alone (plain): refs counts the
 * handle until it is dropped and a parked changed() or wait_for(), so
 * dropping the handle under a parked operation is safe (DESIGN.md section
 * 2); the last reference frees the receiver and its channel reference. */
struct ak_watch_receiver {
	struct watch *w;
	uint64_t seen;                      /* the version last marked seen */
	uint32_t refs;                      /* the handle + a parked operation */
	uint32_t dropped;                   /* the handle is gone: ops fail */
};

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

static void block_put(struct block *b)
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
static struct block *acquire_current(struct watch *w)
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

static uint64_t current_version(struct watch *w)
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
	/* release: pairs with the acquire loads in acquire_current() and
	 * current_version(); the watch's happens-before edge. */
	return ak__xchg(&w->current, b, AK__RELEASE);
}

/* After a publish, outside the lock: wakes the receivers and drops the
 * channel's reference on the replaced block (block_retire() when it was
 * the last). */
static void published(struct watch *w, struct block *old)
{
	ak__notify_waiters(&w->changed);
	block_put(old);
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

static void watch_put(struct watch *w)
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
	block_put(ak__load(&w->current, AK__RELAXED));
	ak__notify_destroy(&w->changed);
	ak__notify_destroy(&w->rx_gone);
	mem_put(w);
}

static int senders_gone(struct watch *w)
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
		/* release: pairs with the acquire in senders_gone(). */
		ak__store(&w->closed, 1, AK__RELEASE);
		ak__notify_waiters(&w->changed);
	}
	watch_put(w);
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

static void fill_ref(struct ak_watch_ref *ref, struct block *b, int has_changed)
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
	fill_ref(ref, acquire_current(tx->w), 0);
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
	struct ak_watch_receiver *r = receiver_new(tx->w, current_version(tx->w));
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
static void receiver_put(struct ak_watch_receiver *rx)
{
	if (--rx->refs != 0)
		return;
	struct watch *w = rx->w;
	ak__free_sized(rx, sizeof(*rx));
	watch_put(w);
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
	receiver_put(rx);
	return 0;
}

AK_EXPORT int ak_watch_borrow(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	if (!rx || !ref)
		return AK_EINVAL;
	struct block *b = acquire_current(rx->w);
	fill_ref(ref, b, b->version != rx->seen);
	return 0;
}

AK_EXPORT int ak_watch_borrow_and_update(struct ak_watch_receiver *rx, struct ak_watch_ref *ref)
{
	if (!rx || !ref)
		return AK_EINVAL;
	struct block *b = acquire_current(rx->w);
	fill_ref(ref, b, b->version != rx->seen);
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
	block_put(b);
	return 0;
}

AK_EXPORT int ak_watch_has_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	if (senders_gone(rx->w))
		return AK_EPIPE;
	return current_version(rx->w) != rx->seen;
}

AK_EXPORT int ak_watch_mark_changed(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	/* Any other number: the next changed() resolves at once. */
	rx->seen = current_version(rx->w) - 1;
	return 0;
}

AK_EXPORT int ak_watch_mark_unchanged(struct ak_watch_receiver *rx)
{
	if (!rx)
		return AK_EINVAL;
	rx->seen = current_version(rx->w);
	return 0;
}

/* ---- waiting on the version -------------------------------------------------- */

/* The wait part shared by changed() and wait_for(). */
struct version_wait {
	struct ak__notified n;
	struct ak_watch_receiver *rx;
	uint32_t armed;             /* n initialised and not consumed */
	uint32_t holds_rx;          /* parked: a reference on rx */
};

/* Captures the notify generation: must come before looking at the version. */
static void vw_arm(struct version_wait *vw)
{
	if (!vw->armed) {
		ak__notified_init(&vw->n, &vw->rx->w->changed);
		vw->armed = 1;
	}
}

static void vw_disarm(struct version_wait *vw)
{
	if (vw->armed) {
		ak__notified_cancel(&vw->n);
		vw->armed = 0;
	}
}

/* 0: a publish (or the close) happened since vw_arm: look again.  A wait
 * that parks holds a reference on its receiver until vw_finish(). */
static int vw_wait(struct version_wait *vw, struct ak_context *cx)
{
	int rc = ak__notified_poll(&vw->n, cx);
	if (rc != AK_PENDING)
		vw->armed = 0;       /* consumed, or cancelled on error */
	else if (!vw->holds_rx) {
		vw->rx->refs++;
		vw->holds_rx = 1;
	}
	return rc;
}

/* The operation is done (completed, failed or cancelled): leaves the
 * notify core and gives the receiver back, maybe freeing it and the
 * channel; the last thing it does. */
static int vw_finish(struct version_wait *vw, int rc)
{
	vw_disarm(vw);
	if (vw->holds_rx) {
		vw->holds_rx = 0;
		receiver_put(vw->rx);
	}
	return rc;
}

struct changed_priv {
	struct version_wait vw;
};
_Static_assert(sizeof(struct changed_priv) <= sizeof(((struct ak_watch_changed_op *)0)->private_),
               "watch changed op storage too small");

static struct changed_priv *changed_priv(struct ak_future *f)
{
	return (struct changed_priv *)(void *)&((struct ak_watch_changed_op *)(void *)f)->private_;
}

static int changed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct changed_priv *p = changed_priv(f);
	struct ak_watch_receiver *rx = p->vw.rx;
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (rx->dropped)
			return vw_finish(&p->vw, AK_EPIPE);
		vw_arm(&p->vw);
		/* Closed first: then the version read after it is the last. */
		int closed = senders_gone(rx->w);
		uint64_t v = current_version(rx->w);
		if (v != rx->seen) {
			rx->seen = v;
			ak__coop_spend(cx);
			return vw_finish(&p->vw, 0);
		}
		if (closed)
			return vw_finish(&p->vw, AK_EPIPE);
		rc = vw_wait(&p->vw, cx);
		if (rc == AK_PENDING)
			return rc;
		if (rc)
			return vw_finish(&p->vw, rc);
	}
}

static void changed_cancel(struct ak_future *f)
{
	(void)vw_finish(&changed_priv(f)->vw, 0);
}

static const struct ak_future_vtable changed_vtable = { changed_poll, changed_cancel };

AK_EXPORT int ak_watch_changed_init(struct ak_watch_changed_op *op, struct ak_watch_receiver *rx)
{
	if (!op || !rx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &changed_vtable);
	if (rc)
		return rc;
	struct changed_priv *p = changed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->vw.rx = rx;
	return 0;
}

AK_EXPORT int ak_watch_changed_blocking(struct ak_watch_receiver *rx, int64_t deadline)
{
	struct ak_watch_changed_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_changed_init(&op, rx);
	return rc ? rc : ak_block_on(&op.future, deadline);
}

struct wait_for_priv {
	struct version_wait vw;
	int (*pred)(const void *value, void *arg);
	void *arg;
	struct ak_watch_ref *ref;
	uint64_t checked;           /* the last version pred rejected */
	uint32_t has_checked;
};
_Static_assert(sizeof(struct wait_for_priv) <= sizeof(((struct ak_watch_wait_for_op *)0)->private_),
               "watch wait_for op storage too small");

static struct wait_for_priv *wait_for_priv(struct ak_future *f)
{
	return (struct wait_for_priv *)(void *)&((struct ak_watch_wait_for_op *)(void *)f)->private_;
}

static int wait_for_poll(struct ak_future *f, struct ak_context *cx)
{
	struct wait_for_priv *p = wait_for_priv(f);
	struct ak_watch_receiver *rx = p->vw.rx;
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (rx->dropped)
			return vw_finish(&p->vw, AK_EPIPE);
		vw_arm(&p->vw);
		int closed = senders_gone(rx->w);
		struct block *b = acquire_current(rx->w);
		if (!p->has_checked || b->version != p->checked) {
			p->has_checked = 1;
			p->checked = b->version;
			if (p->pred(b->value, p->arg)) {
				fill_ref(p->ref, b, b->version != rx->seen);
				rx->seen = b->version;
				ak__coop_spend(cx);
				return vw_finish(&p->vw, 0);
			}
		}
		block_put(b);
		if (closed)
			return vw_finish(&p->vw, AK_EPIPE);
		rc = vw_wait(&p->vw, cx);
		if (rc == AK_PENDING)
			return rc;
		if (rc)
			return vw_finish(&p->vw, rc);
	}
}

static void wait_for_cancel(struct ak_future *f)
{
	(void)vw_finish(&wait_for_priv(f)->vw, 0);
}

static const struct ak_future_vtable wait_for_vtable = { wait_for_poll, wait_for_cancel };

AK_EXPORT int ak_watch_wait_for_init(struct ak_watch_wait_for_op *op, struct ak_watch_receiver *rx,
                                     int (*pred)(const void *value, void *arg), void *arg,
                                     struct ak_watch_ref *ref)
{
	if (!op || !rx || !pred || !ref)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &wait_for_vtable);
	if (rc)
		return rc;
	struct wait_for_priv *p = wait_for_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->vw.rx = rx;
	p->pred = pred;
	p->arg = arg;
	p->ref = ref;
	return 0;
}

AK_EXPORT int ak_watch_wait_for_blocking(struct ak_watch_receiver *rx,
                                         int (*pred)(const void *value, void *arg), void *arg,
                                         struct ak_watch_ref *ref, int64_t deadline)
{
	struct ak_watch_wait_for_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_wait_for_init(&op, rx, pred, arg, ref);
	return rc ? rc : ak_block_on(&op.future, deadline);
}

/* ---- the senders' closed() ---------------------------------------------------- */

struct closed_priv {
	struct ak__notified n;
	struct watch *w;
	uint32_t armed;
	uint32_t holds_ref;         /* parked: a reference on the channel */
};
_Static_assert(sizeof(struct closed_priv) <= sizeof(((struct ak_watch_closed_op *)0)->private_),
               "watch closed op storage too small");

static struct closed_priv *closed_priv(struct ak_future *f)
{
	return (struct closed_priv *)(void *)&((struct ak_watch_closed_op *)(void *)f)->private_;
}

static void closed_finish(struct closed_priv *p)
{
	if (p->armed) {
		ak__notified_cancel(&p->n);
		p->armed = 0;
	}
	if (p->holds_ref) {
		p->holds_ref = 0;
		watch_put(p->w);
	}
}

static int closed_poll(struct ak_future *f, struct ak_context *cx)
{
	struct closed_priv *p = closed_priv(f);
	int rc = ak__coop_check(cx);
	if (rc)
		return rc;
	for (;;) {
		if (!p->armed) {
			ak__notified_init(&p->n, &p->w->rx_gone);
			p->armed = 1;
		}
		/* acquire: pairs with the release decrement in
		 * ak_watch_receiver_drop(). */
		if (ak__load(&p->w->receivers, AK__ACQUIRE) == 0) {
			closed_finish(p);
			ak__coop_spend(cx);
			return 0;
		}
		rc = ak__notified_poll(&p->n, cx);
		if (rc == AK_PENDING) {
			if (!p->holds_ref) {
				ak__ref_get(&p->w->refs);
				p->holds_ref = 1;
			}
			return rc;
		}
		p->armed = 0;
		if (rc) {
			closed_finish(p);
			return rc;
		}
	}
}

static void closed_cancel(struct ak_future *f)
{
	closed_finish(closed_priv(f));
}

static const struct ak_future_vtable closed_vtable = { closed_poll, closed_cancel };

AK_EXPORT int ak_watch_closed_init(struct ak_watch_closed_op *op, struct ak_watch_sender *tx)
{
	if (!op || !tx)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &closed_vtable);
	if (rc)
		return rc;
	struct closed_priv *p = closed_priv(&op->future);
	memset(p, 0, sizeof(*p));
	p->w = tx->w;
	return 0;
}

AK_EXPORT int ak_watch_closed_blocking(struct ak_watch_sender *tx, int64_t deadline)
{
	struct ak_watch_closed_op op;
	memset(&op, 0, sizeof(op));
	int rc = ak_watch_closed_init(&op, tx);
	return rc ? rc : ak_block_on(&op.future, deadline);
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
