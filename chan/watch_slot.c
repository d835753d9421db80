/*
 * chan/watch_slot.c: the watch channel's slot mode (values with hooks or
 * of more than COPY_BYTES; chan/watch_copy.c has the copy mode of the
 * others), what both modes share (pins, receivers, the channel's memory),
 * and how the senders reuse slots.  See ak_watch(3) and DESIGN.md
 * section 8.
 *
 * Each value lives in a slot of its own cache line; `current` points at
 * the current one.  A send writes the new value into a free slot under the
 * senders' lock and publishes it with one store of `current`; the slot it
 * replaces is retired.  Nothing is allocated once the channel has as many
 * slots as it needs: retired slots become free again.
 *
 * A borrow writes nothing any other reader or the sender writes: it pins
 * the slot with a hazard pointer (Michael, 2004) on its receiver's own
 * line, one word per borrow a receiver holds (WATCH_PINS of them):
 *
 *   reader (ak__watch_pin)           sender (publish, then scan)
 *   pin = s            seq_cst       current = new       seq_cst
 *   current == s ?     seq_cst       load every pin      seq_cst
 *
 * In the single total order of these accesses either the reader's check
 * sees the new slot (and it pins that one instead, never having read the
 * old one), or the scan sees its pin.  So a slot no pin held when a scan
 * read them all, after it was retired, is read by no one: it is free.
 * The reader reads the slot only after the check succeeded; a slot that was
 * freed, refilled and published again between its load and its check is
 * simply the current one by then.  Readers never wait for the sender, and
 * the sender never waits for a reader: a slot still pinned is left to its
 * borrowers, who may keep it across awaits and release it on any thread.
 *
 * Scans are batched: every `batch` publishes (retired slots are immutable
 * until then), at most BATCH_BYTES of slots between two.  A scan reads
 * one line per receiver (DESIGN.md section 8: a line taken from the other
 * core costs hundreds of ns, so one scan per batch, not per send).  A
 * retired slot some pin still holds becomes counted: the scan adds one
 * reference per such pin (PIN_ORPHAN on the pin tells its release to drop
 * it), then drops the channel's own reference, and whoever drops the last
 * reference gives the slot back on the `returned` stack.  Counted
 * references are also what a sender's borrow, a receiver's borrow beyond
 * its pins and the pins of a receiver that left the channel hold.
 *
 * A channel with a drop hook scans at every publish instead: a replaced
 * value is dropped at once when nobody borrows it, else by the release of
 * its last borrow, on that thread (ak_watch(3)), as it was before.
 *
 * Waiting: `waiting` counts the changed() and wait_for() operations that
 * are about to park or parked; a publish wakes them through the notify core
 * `changed` only when it is not 0 (watch_wait.c has the other half).
 *
 * Every slot holds a reference on the channel's memory (mem_refs).  Once
 * the last handle is gone the channel is dead: `returned` becomes
 * RETURNED_DEAD and a slot whose last borrow goes after that is freed by
 * its releaser.
 *
 *   call                              lock            thread
 *   ak__watch_slot_get, _publish      senders'        a sender
 *   ak__watch_pin, _borrow, _peek     none            the receiver's owner
 *   ak__watch_unpin, _slot_put        none            any
 *   ak__watch_receiver_new, _leave    senders'        any / the owner's
 */
#include <string.h>

#include "watch_chan.h"

/* Between two scans the retired slots hold at most this many bytes, and
 * at most BATCH_MAX slots. */
#define BATCH_BYTES (16 * 1024)
#define BATCH_MAX 64

/* The scan's set of retired slots: open addressing, half full at most. */
#define SET_N (2 * BATCH_MAX)

#define RETURNED_DEAD ((struct slot *)1)

_Static_assert(sizeof(struct ak_watch_receiver) <= WATCH_LINE,
               "a receiver's pins must lie on its own line");
_Static_assert(offsetof(struct watch, copy) + sizeof(((struct watch *)0)->copy) <= WATCH_LINE,
               "what a borrow reads is one line");

/* ---- line-aligned memory --------------------------------------------------- */

/* size bytes on their own cache lines; the offset from what ak__alloc gave
 * is kept in the byte before. */
static void *line_alloc(size_t size)
{
	unsigned char *raw = ak__alloc(size + WATCH_LINE);
	if (!raw)
		return NULL;
	unsigned char *p = (unsigned char *)(((uintptr_t)raw + WATCH_LINE) &
	                                     ~(uintptr_t)(WATCH_LINE - 1));
	p[-1] = (unsigned char)(p - raw);
	return p;
}

static void line_free(void *p, size_t size)
{
	unsigned char *q = p;
	ak__free_sized(q - q[-1], size + WATCH_LINE);
}

struct watch *ak__watch_alloc(void)
{
	return line_alloc(sizeof(struct watch));
}

/* The channel's memory: freed when no handle and no slot is left (maybe
 * on the thread that releases a borrow: no user code runs here). */
static void mem_put(struct watch *w)
{
	if (!ak__ref_put(&w->mem_refs))
		return;
	ak__lock_destroy(&w->send_lock);
	line_free(w, sizeof(*w));
}

/* ---- slots ------------------------------------------------------------------- */

static size_t slot_bytes(const struct watch *w)
{
	return offsetof(struct slot, value) + w->elem_size;
}

/* A new slot, holding a reference on w's memory. */
static struct slot *slot_new(struct watch *w)
{
	struct slot *s = line_alloc(slot_bytes(w));
	if (!s)
		return NULL;
	s->w = w;
	ak__init(&s->refs, 0u);
	ak__ref_get(&w->mem_refs);
	return s;
}

static void slot_free(struct slot *s)
{
	struct watch *w = s->w;
	line_free(s, slot_bytes(w));
	mem_put(w);
}

static void free_chain(struct slot *s)
{
	struct slot *next;
	for (; s; s = next) {
		next = s->next;
		slot_free(s);
	}
}

static void drop_value(struct slot *s)
{
	const struct watch *w = s->w;
	if (w->hooks.drop)
		w->hooks.drop(s->value, w->hooks.arg);
}

/* A slot nobody references, its value dropped: back to the senders, or
 * freed when the channel is dead. */
static void slot_return(struct slot *s)
{
	struct watch *w = s->w;
	struct slot *head = ak__load(&w->returned, AK__RELAXED);
	for (;;) {
		if (head == RETURNED_DEAD) {
			slot_free(s);
			return;
		}
		s->next = head;
		/* release: pairs with the acquire exchanges in take_returned()
		 * and ak__watch_destroy(): the drop and every borrower's reads
		 * happen before the slot is reused or freed. */
		if (ak__cas_weak(&w->returned, &head, s, AK__RELEASE, AK__RELAXED))
			return;
	}
}

/* Drops a counted reference; the last one (the slot is retired) drops the
 * value on the calling thread and gives the slot back. */
void ak__watch_slot_put(struct slot *s)
{
	if (!ak__ref_put(&s->refs))
		return;
	drop_value(s);
	slot_return(s);
}

/* A slot filled but never published (send_if_modified refused it). */
void ak__watch_slot_discard(struct slot *s)
{
	drop_value(s);
	slot_return(s);
}

static void push_free(struct watch *w, struct slot *s)
{
	s->next = w->free;
	w->free = s;
	w->free_n++;
}

/* send_lock: the slots given back since the last call join the free list
 * (beyond twice a batch, they are freed: a burst of long borrows is
 * over). */
static void take_returned(struct watch *w)
{
	if (ak__load(&w->returned, AK__RELAXED) == NULL)
		return;
	/* acquire: pairs with the release in slot_return(). */
	struct slot *s = ak__xchg(&w->returned, NULL, AK__ACQUIRE), *next;
	for (; s; s = next) {
		next = s->next;
		if (w->free_n >= 2 * w->batch)
			slot_free(s);
		else
			push_free(w, s);
	}
}

/* ---- scans ------------------------------------------------------------------- */

struct retired_set {
	uint32_t n;
	struct slot *one;                   /* n == 1: the set */
	struct slot *slot[SET_N];           /* n > 1 */
};

static size_t set_hash(uintptr_t v)
{
	return (v / WATCH_LINE) % SET_N;
}

static void set_fill(struct retired_set *set, struct slot *list, uint32_t n)
{
	set->n = n;
	set->one = list;
	if (n <= 1)
		return;
	memset(set->slot, 0, sizeof(set->slot));
	for (; list; list = list->next) {
		size_t i = set_hash((uintptr_t)list);
		while (set->slot[i])
			i = (i + 1) % SET_N;
		set->slot[i] = list;
	}
}

/* Whether v is a retired slot's address: a pin's word is compared, never
 * followed (it may be a stale try of a reader's, at any slot). */
static struct slot *set_find(const struct retired_set *set, uintptr_t v)
{
	if (set->n <= 1)
		return (uintptr_t)set->one == v ? set->one : NULL;
	for (size_t i = set_hash(v); set->slot[i]; i = (i + 1) % SET_N)
		if ((uintptr_t)set->slot[i] == v)
			return set->slot[i];
	return NULL;
}

/* A pin on a retired slot becomes a counted reference. */
static void orphan(const struct retired_set *set, ak__atomic(uintptr_t) *pin)
{
	/* seq_cst: the scan's load of the pair at the top of the file; the
	 * publish that retired the slot came before it. */
	uintptr_t v = ak__load(pin, AK__SEQ_CST);
	if (v == 0 || (v & PIN_FLAGS))
		return;
	struct slot *s = set_find(set, v);
	if (!s)
		return;
	/* The reference before the flag: a release that sees the flag puts
	 * it at once.  The channel's own reference keeps refs above 0. */
	ak__ref_get(&s->refs);
	/* acq_rel: pairs with the pin's exchanges in ak__watch_unpin() and
	 * ak__watch_pin(), which read the flag; acquire on failure: the pin
	 * was released, and the borrower's reads happen before the reuse. */
	if (ak__cas(pin, &v, v | PIN_ORPHAN, AK__ACQ_REL, AK__ACQUIRE))
		s->orphans++;
	else
		ak__fetch_sub(&s->refs, 1u, AK__RELAXED);
}

/* send_lock: settles every retired slot (see the top of the file) and
 * returns those nobody references any more, their values still in them. */
static struct slot *scan(struct watch *w)
{
	struct retired_set set;
	struct slot *s, *next, *idle = NULL;

	set_fill(&set, w->retired, w->retired_n);
	for (struct ak_watch_receiver *rx = w->rxs; rx; rx = rx->next)
		for (int i = 0; i <= WATCH_PINS; i++)
			orphan(&set, &rx->pins[i]);
	for (s = w->retired; s; s = next) {
		next = s->next;
		/* Unpinned, and no counted borrow (none can start: a sender's
		 * takes this lock, a receiver's holds a pin while it counts):
		 * the channel's reference is the last.  acquire: pairs with the
		 * release decrement of the counted borrows that were. */
		if ((s->orphans == 0 && ak__load(&s->refs, AK__ACQUIRE) == 1) ||
		    ak__ref_put(&s->refs)) {
			s->next = idle;
			idle = s;
		}
		s->orphans = 0;
	}
	w->retired = NULL;
	w->retired_n = 0;
	return idle;
}

/* send_lock: idle slots of a channel without drop hook are free at once. */
static void scan_to_free(struct watch *w)
{
	struct slot *s = scan(w), *next;
	for (; s; s = next) {
		next = s->next;
		push_free(w, s);
	}
}

/* ---- publishing -------------------------------------------------------------- */

/* send_lock: a slot for a new value, or NULL (out of memory). */
struct slot *ak__watch_slot_get(struct watch *w)
{
	if (!w->free) {
		take_returned(w);
		if (!w->free && w->retired_n >= w->batch)
			scan_to_free(w);
		if (!w->free) {
			struct slot *s = slot_new(w);
			if (s)
				return s;
			if (w->retired_n)
				scan_to_free(w);
			if (!w->free)
				return NULL;
		}
	}
	struct slot *s = w->free;
	w->free = s->next;
	w->free_n--;
	return s;
}

/* send_lock: gives back a slot ak__watch_slot_get() gave, its bytes not a
 * value (nothing to drop). */
void ak__watch_slot_unget(struct watch *w, struct slot *s)
{
	push_free(w, s);
}

/* send_lock: makes s (its value written) current.  Returns the replaced
 * slots whose values must be dropped: ak__watch_published()'s, after the
 * lock. */
struct slot *ak__watch_publish(struct watch *w, struct slot *s)
{
	/* Only publishers change current, under this lock. */
	struct slot *prev = ak__load(&w->current, AK__RELAXED);
	s->version = ++w->version;
	ak__store(&s->refs, 1u, AK__RELAXED);
	/* seq_cst: a release of the value and version (pairs with the acquire
	 * load in ak__watch_pin()); and the publish of the pair at the top of
	 * the file, before the scans that look at prev, and before the load
	 * of `waiting` in ak__watch_published(). */
	ak__store(&w->current, s, AK__SEQ_CST);
	prev->next = w->retired;
	w->retired = prev;
	w->retired_n++;
	if (w->eager)
		return scan(w);
	if (w->retired_n >= BATCH_MAX)     /* returned slots kept the list full */
		scan_to_free(w);
	return NULL;
}

/* After a publish, outside the lock: wakes the receivers that wait, drops
 * the values nobody borrows and gives their slots back. */
void ak__watch_published(struct watch *w, struct slot *idle)
{
	/* seq_cst: after the publish; pairs with the increment in
	 * watch_wait.c: an operation counted after this load looks at
	 * current after the publish. */
	if (ak__load(&w->waiting, AK__SEQ_CST) != 0)
		ak__notify_waiters(&w->changed);
	struct slot *next;
	for (; idle; idle = next) {
		next = idle->next;
		ak__watch_slot_discard(idle);
	}
}

/* ---- pins and borrows -------------------------------------------------------- */

/* Pins the current slot with pin (0, or this thread's last try), returns
 * it: its value and version may be read until the pin is cleared. */
struct slot *ak__watch_pin(struct watch *w, ak__atomic(uintptr_t) *pin)
{
	struct slot *s = ak__load(&w->current, AK__RELAXED);
	for (;;) {
		/* seq_cst: the reader's store of the pair at the top of the
		 * file, before the check below. */
		uintptr_t old = ak__xchg(pin, (uintptr_t)s, AK__SEQ_CST);
		if (old & PIN_ORPHAN)           /* a scan counted the last try */
			ak__watch_slot_put((struct slot *)(old & ~PIN_FLAGS));
		/* seq_cst, so an acquire: pairs with the store in
		 * ak__watch_publish(): the slot's value and version are visible. */
		struct slot *now = ak__load(&w->current, AK__SEQ_CST);
		if (now == s)
			return s;
		s = now;
	}
}

/* The pin's receiver drops one of what it holds; the last frees it. */
void ak__watch_receiver_free(struct ak_watch_receiver *rx)
{
	line_free(rx, (size_t)rx->lines * WATCH_LINE);
}

static void receiver_mem_put(struct ak_watch_receiver *rx, uint32_t n)
{
	if (ak__fetch_sub(&rx->held, n, AK__ACQ_REL) == n)
		ak__watch_receiver_free(rx);
}

void ak__watch_unpin(ak__atomic(uintptr_t) *pin)
{
	/* release: the borrower's reads happen before the slot's reuse
	 * (pairs with the scan's load); acquire: pairs with the flags'
	 * CAS, whose references this may put. */
	uintptr_t old = ak__xchg(pin, 0, AK__ACQ_REL);
	if (!(old & PIN_FLAGS))
		return;
	ak__watch_slot_put((struct slot *)(old & ~PIN_FLAGS));
	if (old & PIN_DETACHED)
		receiver_mem_put((struct ak_watch_receiver *)((uintptr_t)pin &
		                                              ~(uintptr_t)(WATCH_LINE - 1)), 1);
}

/* A borrow of the current slot for rx's owner: through one of rx's pins,
 * else a counted reference. */
static void slot_borrow(struct ak_watch_receiver *rx, struct borrowed *b)
{
	struct slot *s;
	for (int i = 0; i < WATCH_PINS; i++) {
		/* relaxed: only this thread makes a pin non-zero; a release
		 * made elsewhere and not seen yet costs a counted borrow. */
		if (ak__load(&rx->pins[i], AK__RELAXED) == 0) {
			s = ak__watch_pin(rx->w, &rx->pins[i]);
			b->token = (uintptr_t)&rx->pins[i];
			goto out;
		}
	}
	ak__atomic(uintptr_t) *t = &rx->pins[WATCH_PINS];
	s = ak__watch_pin(rx->w, t);
	/* The pin keeps s from being settled while the count goes up; the
	 * unpin's release shows the count to the scan that sees it gone. */
	ak__ref_get(&s->refs);
	ak__watch_unpin(t);
	b->token = (uintptr_t)s | TOKEN_COUNTED;
out:
	b->value = s->value;
	b->version = s->version;
}

/* A borrow of the current value for rx's owner: 0, or AK_ENOMEM (copy
 * mode, beyond rx's buffers). */
int ak__watch_borrow(struct ak_watch_receiver *rx, struct borrowed *b)
{
	/* The copy mode's receivers say how many words a borrow copies:
	 * the mode without a load of the channel's, and the common value
	 * (8 bytes or less) one word. */
	if (rx->copy_words == 1)
		return ak__watch_copy_borrow_word(rx, b);
	if (rx->copy_words)
		return ak__watch_copy_borrow(rx, b);
	slot_borrow(rx, b);
	return 0;
}

/* A borrow for a sender: a counted reference, or a spill. */
int ak__watch_sender_borrow(struct watch *w, struct borrowed *b)
{
	if (w->copy_mode)
		return ak__watch_spill_borrow(w, b);
	ak__lock(&w->send_lock);
	/* Current under the lock: it keeps the channel's reference. */
	struct slot *s = ak__load(&w->current, AK__RELAXED);
	ak__ref_get(&s->refs);
	ak__unlock(&w->send_lock);
	b->value = s->value;
	b->version = s->version;
	b->token = (uintptr_t)s | TOKEN_COUNTED;
	return 0;
}

void ak__watch_release(uintptr_t token)
{
	/* The copy mode's, most borrows, first: one test. */
	if ((token & TOKEN_TAGS) == TOKEN_COPY) {
		ak__watch_copy_release(token);
		return;
	}
	switch (token & TOKEN_TAGS) {
	case TOKEN_COUNTED:
		ak__watch_slot_put((struct slot *)(token & ~TOKEN_TAGS));
		break;
	case TOKEN_SPILL:
		ak__watch_spill_release(token);
		break;
	default:
		ak__watch_unpin((ak__atomic(uintptr_t) *)token);
	}
}

/* The current version, for rx's owner. */
uint64_t ak__watch_peek_version(struct ak_watch_receiver *rx)
{
	if (rx->w->copy_mode)
		return ak__watch_latch_version(rx->w);
	ak__atomic(uintptr_t) *t = &rx->pins[WATCH_PINS];
	uint64_t v = ak__watch_pin(rx->w, t)->version;
	ak__watch_unpin(t);
	return v;
}

void ak__watch_fill_ref(struct ak_watch_ref *ref, const struct borrowed *b, int has_changed)
{
	ref->value = b->value;
	ref->version = b->version;
	ref->has_changed = has_changed;
	ref->block_ = (void *)b->token;
}

/* ---- receivers --------------------------------------------------------------- */

/* A receiver in w's list, having seen *seen (NULL: the current version). */
struct ak_watch_receiver *ak__watch_receiver_new(struct watch *w, const uint64_t *seen)
{
	uint8_t lines = w->copy_mode ? 2 : 1;      /* the copy buffers */
	struct ak_watch_receiver *r = line_alloc((size_t)lines * WATCH_LINE);
	if (!r)
		return NULL;
	for (int i = 0; i <= WATCH_PINS; i++)
		ak__init(&r->pins[i], (uintptr_t)0);
	ak__init(&r->held, 1u);
	r->lines = lines;
	r->copy_words = !w->copy_mode ? 0 : w->elem_size <= sizeof(uint64_t) ? 1 : COPY_WORDS;
	r->w = w;
	r->refs = 1;
	r->dropped = 0;
	ak__lock(&w->send_lock);
	r->seen = seen ? *seen : w->copy_mode ? ak__watch_latch_version(w) : w->version;
	r->next = w->rxs;
	w->rxs = r;
	ak__unlock(&w->send_lock);
	return r;
}

/* send_lock (no scan runs): a pin still borrowed becomes a counted
 * reference that its release puts, with PIN_DETACHED; 1 if it was. */
static uint32_t detach_pin(ak__atomic(uintptr_t) *pin)
{
	/* acquire: pairs with the orphaning CAS (its count is the pin's). */
	uintptr_t v = ak__load(pin, AK__ACQUIRE);
	while (v != 0) {
		struct slot *s = (struct slot *)(v & ~PIN_FLAGS);
		int count = !(v & PIN_ORPHAN);
		/* Current or retired and not yet scanned: the channel's
		 * reference keeps refs above 0. */
		if (count)
			ak__ref_get(&s->refs);
		/* acq_rel: pairs with the exchange in ak__watch_unpin(). */
		if (ak__cas(pin, &v, v | PIN_DETACHED, AK__ACQ_REL, AK__ACQUIRE))
			return 1;
		if (count)                      /* released meanwhile: v is 0 */
			ak__fetch_sub(&s->refs, 1u, AK__RELAXED);
	}
	return 0;
}

/* The receiver's last reference went: it leaves the channel's list; its
 * memory stays while borrows made through its pins are held. */
void ak__watch_receiver_leave(struct ak_watch_receiver *rx)
{
	struct watch *w = rx->w;
	uint32_t borrowed = 0;
	int copy_mode = w->copy_mode;

	/* First: a release that sees PIN_DETACHED may come at once. */
	if (!copy_mode)
		ak__fetch_add(&rx->held, WATCH_PINS, AK__RELAXED);
	ak__lock(&w->send_lock);
	struct ak_watch_receiver **p = &w->rxs;
	while (*p != rx)
		p = &(*p)->next;
	*p = rx->next;
	for (int i = 0; !copy_mode && i < WATCH_PINS; i++)
		borrowed += detach_pin(&rx->pins[i]);
	ak__unlock(&w->send_lock);
	if (copy_mode)
		ak__watch_copy_leave(rx);
	else
		receiver_mem_put(rx, WATCH_PINS + 1 - borrowed);
	ak__watch_zombies_sweep();
}

/* ---- the channel ------------------------------------------------------------- */

/* w (from ak__watch_alloc) with one slot holding a copy of init; refs,
 * senders and receivers are the caller's to set. */
int ak__watch_init(struct watch *w, size_t elem_size, const void *init,
                   const struct ak_watch_hooks *hooks)
{
	w->elem_size = elem_size;
	if (hooks)
		w->hooks = *hooks;
	w->eager = w->hooks.drop != NULL;
	w->copy_mode = !w->hooks.clone && !w->hooks.drop && elem_size <= COPY_BYTES;
	size_t lines = (slot_bytes(w) + WATCH_LINE - 1) / WATCH_LINE;
	size_t batch = BATCH_BYTES / WATCH_LINE / lines;
	w->batch = batch < 1 ? 1 : batch > BATCH_MAX ? BATCH_MAX : (uint32_t)batch;
	ak__init(&w->mem_refs, 1u);
	ak__init(&w->current, (struct slot *)NULL);
	ak__watch_latch_init(w, w->copy_mode ? init : NULL);
	if (!w->copy_mode) {
		struct slot *s = slot_new(w);
		if (!s)
			return AK_ENOMEM;
		if (elem_size)
			memcpy(s->value, init, elem_size);
		s->version = 0;
		ak__store(&s->refs, 1u, AK__RELAXED);
		ak__store(&w->current, s, AK__RELAXED);
	}
	ak__init(&w->returned, (struct slot *)NULL);
	ak__init(&w->waiting, 0u);
	ak__init(&w->closed, 0u);
	ak__lock_init(&w->send_lock);
	w->version = 0;
	ak__notify_init(&w->changed);
	ak__notify_init(&w->rx_gone);
	return 0;
}

/* A channel ak_watch_new() could not finish (ak__watch_init() may have
 * failed): its value stays the caller's. */
void ak__watch_abandon(struct watch *w)
{
	struct slot *s = ak__load(&w->current, AK__RELAXED);
	if (s)
		slot_free(s);
	mem_put(w);
}

/* The last handle and parked operation went: no receiver is in the list,
 * no publish or scan can come.  The value still current and the retired
 * ones lose the channel's reference; slots given back later are freed by
 * their givers. */
void ak__watch_destroy(struct watch *w)
{
	ak__watch_zombies_sweep();
	/* acquire: pairs with the release in slot_return(). */
	free_chain(ak__xchg(&w->returned, RETURNED_DEAD, AK__ACQUIRE));
	free_chain(w->free);
	w->free = NULL;
	struct slot *s = w->retired, *next;
	w->retired = NULL;
	for (; s; s = next) {
		next = s->next;
		ak__watch_slot_put(s);
	}
	s = ak__load(&w->current, AK__RELAXED);
	if (s)                              /* none in copy mode */
		ak__watch_slot_put(s);
	ak__notify_destroy(&w->changed);
	ak__notify_destroy(&w->rx_gone);
	mem_put(w);
}
