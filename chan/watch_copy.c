/*
 * chan/watch_copy.c: the watch channel's copy mode, for values of up to
 * COPY_BYTES (24) without hooks: a counter, a flag, a small struct, which
 * are most watch values.  chan/watch_slot.c has the slot mode of the
 * others; ak_watch(3) says which is which.
 *
 * The value lives on the channel's first cache line, twice: a seqcount
 * latch (Linux's latch_tree; a double-buffered seqlock).  Its sequence is
 * 2v while version v is whole in copy[v & 1], and 2v + 1 while a send
 * writes version v + 1 into the other copy.  A borrow reads the sequence,
 * copies copy[v & 1] into a buffer of its receiver's and reads it again.
 * Only the send of v + 2 rewrites that copy, and it makes the sequence
 * 2v + 3 first: a borrow that finds it still below 2v + 3 copied a whole
 * value (else two sends landed during its copy of three words, and it
 * copies again).
 *
 * The odd sequence is also the senders' lock: a send takes the latch with
 * one CAS (2v to 2v + 1), writes the copy and publishes it with the
 * exchange that releases the latch (to 2v + 2): two atomic
 * read-modify-writes.  A sender that finds the latch taken spins a
 * little, then sets LATCH_CONTENDED and sleeps on the futex word
 * send_wake, which the release that sees the bit increments and wakes.
 * send_modify's callback runs with the latch held, as under a lock;
 * readers are not held up, since they read the other copy.
 *
 * So a borrow reads one line that senders write, writes only its own
 * receiver's lines, takes no lock and makes no atomic read-modify-write; a
 * send never waits for a borrow nor a borrow for a send.  A release clears
 * the buffer's pin word with a plain store (release), and touches nothing
 * after it.  So it cannot free a receiver that left its channel while the
 * borrow was held: such a receiver waits on a process-wide stack, and the
 * first sweep (a channel made or destroyed, a receiver leaving, tests'
 * quiesce) that finds its buffers released frees it.  A receiver has a
 * buffer per pin; a borrow beyond them, and a sender's borrow, copy into an
 * allocation of their own (a spill), freed by the release.
 *
 * Every word of the copies is an atomic: a copy read while a send rewrites
 * it is no data race (C11, ThreadSanitizer).  Orderings:
 *
 *   send                                 borrow
 *   seq 2v -> 2v + 1 (CAS)  acquire      v = seq / 2             acquire
 *   copy[(v+1) & 1][i] = x  release      x = copy[v & 1][i]      acquire
 *   seq = 2v + 2 (exchange) seq_cst      seq < 2v + 3 ?          relaxed
 *
 * A word of the copy written by the send of v + 2 is a release store made
 * after that send's CAS to 2v + 3: a borrow that read it (acquire) reads
 * a sequence >= 2v + 3 after it, and copies again.  The exchange is
 * seq_cst for the waiting count (chan/watch_slot.c, Waiting).
 *
 *   call                              lock            thread
 *   ak__watch_latch_acquire, _release the latch       a sender
 *   ak__watch_latch_current           the latch       its holder
 *   ak__watch_copy_borrow, _word      none            the receiver's owner
 *   ak__watch_spill_borrow            none            any
 *   ak__watch_latch_version           none            any
 */
#include <string.h>

#include "watch_chan.h"

_Static_assert(COPY_STRIDE >= COPY_BYTES && COPY_STRIDE % _Alignof(max_align_t) == 0,
               "a receiver's copy buffers hold any value, aligned");
_Static_assert(WATCH_LINE + WATCH_PINS * COPY_STRIDE <= 2 * WATCH_LINE,
               "a receiver with copy buffers is two lines");

/* A borrow's copy of its own, when its receiver's buffers are taken or a
 * sender borrows. */
struct spill {
	union {
		max_align_t align_;
		uint64_t words[COPY_WORDS];
	} value;
};

/* size bytes from src into words (the common sizes without a call). */
static void bytes_to_words(uint64_t *words, const void *src, size_t size)
{
	if (size == sizeof(uint64_t))
		memcpy(words, src, sizeof(uint64_t));
	else if (size == sizeof(uint32_t))
		memcpy(words, src, sizeof(uint32_t));
	else if (size)
		memcpy(words, src, size);
}

static size_t words_of(const struct watch *w)
{
	return (w->elem_size + 7) / 8;
}

/* The latch word: seq << 1 | LATCH_CONTENDED, seq 2v while version v is
 * whole in copy[v & 1], 2v + 1 while a sender holds the latch (it writes
 * version v + 1 into the other copy, if anything). */
#define LATCH_CONTENDED ((uint64_t)1)
#define LATCH_SEQ_ONE ((uint64_t)2)

_Static_assert(COPY_WORDS == 3, "latch_read() copies three words");

/* Copies the current value's words into dst (8-byte aligned, room for
 * COPY_WORDS), returns its version; any thread, no lock.  It copies n
 * words, a constant: 1 for a value of up to 8 bytes, else all COPY_WORDS
 * whatever the value's size (those past it are copied and never read):
 * unrolled, 13 instructions less per borrow than a loop over words_of().
 * Inlined, so that a borrow into a buffer is a leaf (no frame; 13
 * instructions less again, watch_readers). */
static inline __attribute__((always_inline)) uint64_t latch_read(struct watch *w, uint64_t *dst,
                                                                 int n)
{
	for (;;) {
		/* acquire: pairs with the release stores of a publish: the
		 * copy of version v, and every write before its send. */
		uint64_t v = ak__load(&w->latch, AK__ACQUIRE) >> 2;
		ak__atomic(uint64_t) *c = w->copy[v & 1];
		/* acquire: a word the send of v + 2 wrote shows its latch
		 * store to the check below (see the top of the file). */
		dst[0] = ak__load(&c[0], AK__ACQUIRE);
		if (n > 1) {
			dst[1] = ak__load(&c[1], AK__ACQUIRE);
			dst[2] = ak__load(&c[2], AK__ACQUIRE);
		}
		if ((ak__load(&w->latch, AK__RELAXED) >> 1) < 2 * v + 3)
			return v;
	}
}

/* The initial value, version 0, before the channel is shared. */
void ak__watch_latch_init(struct watch *w, const void *init)
{
	uint64_t words[COPY_WORDS] = { 0 };
	if (init)                           /* slot mode: NULL, unused */
		bytes_to_words(words, init, w->elem_size);
	ak__init(&w->latch, (uint64_t)0);
	ak__init(&w->send_wake, 0u);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < COPY_WORDS; i++)
			ak__init(&w->copy[c][i], c == 0 ? words[i] : 0);
}

uint64_t ak__watch_latch_version(struct watch *w)
{
	/* seq_cst: the waiter's load of the pair with a publish's last
	 * store (chan/watch_wait.c counts itself first); an acquire. */
	return ak__load(&w->latch, AK__SEQ_CST) >> 2;
}

/* The latch held by another sender: sleep until its release, marking the
 * latch contended first (a sender that took it after sleeping keeps the
 * mark: others may sleep still). */
static void latch_acquire_slow(struct watch *w)
{
	int spins = 0;
	for (;;) {
		uint64_t s = ak__load(&w->latch, AK__RELAXED);
		if (!(s & LATCH_SEQ_ONE)) {
			/* acquire: pairs with the releasing exchange. */
			if (ak__cas(&w->latch, &s, (s + LATCH_SEQ_ONE) | LATCH_CONTENDED,
			            AK__ACQUIRE, AK__RELAXED))
				return;
			continue;
		}
		if (spins++ < 64) {
			ak__cpu_relax();
			continue;
		}
		/* acquire: pairs with the release increment in
		 * ak__watch_latch_release(); read before the mark, so a
		 * release after the mark changes it. */
		uint32_t gen = ak__load(&w->send_wake, AK__ACQUIRE);
		if (!(s & LATCH_CONTENDED) &&
		    !ak__cas(&w->latch, &s, s | LATCH_CONTENDED, AK__RELAXED, AK__RELAXED))
			continue;
		(void)ak__futex_wait(&w->send_wake, gen, INT64_MAX);
	}
}

/* Takes the latch (the senders' lock of the copy mode): seq goes odd.
 * Readers go on reading the current copy meanwhile. */
void ak__watch_latch_acquire(struct watch *w)
{
	uint64_t s = ak__load(&w->latch, AK__RELAXED);
	/* acquire: pairs with the releasing exchange of the last holder.
	 * Its store of the odd seq comes before the copy's word stores of
	 * ak__watch_latch_release(), by their release. */
	if ((s & (LATCH_SEQ_ONE | LATCH_CONTENDED)) ||
	    !ak__cas(&w->latch, &s, s + LATCH_SEQ_ONE, AK__ACQUIRE, AK__RELAXED))
		latch_acquire_slow(w);
}

/* Latch held: the current value's bytes, into dst (elem_size bytes). */
void ak__watch_latch_current(struct watch *w, void *dst)
{
	uint64_t words[COPY_WORDS];
	/* relaxed: the holder's own word, and copies written by holders. */
	ak__atomic(uint64_t) *c = w->copy[(ak__load(&w->latch, AK__RELAXED) >> 2) & 1];
	for (size_t i = 0; i < words_of(w); i++)
		words[i] = ak__load(&c[i], AK__RELAXED);
	if (w->elem_size)
		memcpy(dst, words, w->elem_size);
}

/* Latch held: publishes the elem_size bytes at src as the next version
 * (if publish), and releases the latch. */
void ak__watch_latch_release(struct watch *w, const void *src, int publish)
{
	uint64_t s = ak__load(&w->latch, AK__RELAXED), seq = s >> 1;  /* 2v + 1 */
	if (publish) {
		ak__atomic(uint64_t) *c = w->copy[((seq >> 1) + 1) & 1];
		if (w->elem_size == sizeof(uint64_t)) {
			/* The common value, straight into its word. */
			uint64_t x;
			memcpy(&x, src, sizeof x);
			ak__store(&c[0], x, AK__RELEASE);
		} else {
			uint64_t words[COPY_WORDS] = { 0 };
			size_t n = words_of(w);
			bytes_to_words(words, src, w->elem_size);
			for (size_t i = 0; i < n; i++)
				ak__store(&c[i], words[i], AK__RELEASE);
		}
		seq++;
	} else {
		seq--;
	}
	/* seq_cst: a release of the copy (pairs with the acquire loads of
	 * latch_read()) and of the latch (the next holder's acquire), and
	 * the publish of the waiting pair (ak__watch_published() loads the
	 * count after it). */
	uint64_t old = ak__xchg(&w->latch, seq << 1, AK__SEQ_CST);
	if (old & LATCH_CONTENDED) {
		/* release: pairs with the acquire load in
		 * latch_acquire_slow(). */
		ak__fetch_add(&w->send_wake, 1u, AK__RELEASE);
		ak__futex_wake(&w->send_wake, 1);
	}
}

static uint64_t *buffer(struct ak_watch_receiver *rx, int i)
{
	return (uint64_t *)(void *)((unsigned char *)rx + WATCH_LINE + (size_t)i * COPY_STRIDE);
}

void ak__watch_copy_release(uintptr_t token)
{
	ak__atomic(uintptr_t) *pin = (ak__atomic(uintptr_t) *)(token & ~TOKEN_TAGS);
	/* release: the borrower's reads of the buffer happen before its
	 * reuse (pairs with the acquire load in ak__watch_copy_borrow()) or
	 * its receiver's free (all_released()).  The last access to the
	 * receiver: it may be freed as soon as this store is seen. */
	ak__store(pin, (uintptr_t)0, AK__RELEASE);
}

/* ---- receivers that left with borrows held ----------------------------- */

/* A stack of them, process-wide (their channels may be gone): each is
 * freed by the first sweep that finds its buffers released. */
static ak__atomic(struct ak_watch_receiver *) zombies;

static int all_released(struct ak_watch_receiver *rx)
{
	for (int i = 0; i < WATCH_PINS; i++)
		/* acquire: pairs with the release in ak__watch_copy_release(). */
		if (ak__load(&rx->pins[i], AK__ACQUIRE) != 0)
			return 0;
	return 1;
}

static void zombie_push(struct ak_watch_receiver *rx)
{
	struct ak_watch_receiver *head = ak__load(&zombies, AK__RELAXED);
	do
		rx->next = head;
	/* release: pairs with the acquire exchange in the sweep. */
	while (!ak__cas_weak(&zombies, &head, rx, AK__RELEASE, AK__RELAXED));
}

/* A receiver of the copy mode left its channel: freed now, or by a sweep
 * once the borrows made through it are released (their releases are
 * plain stores, which cannot free it). */
void ak__watch_copy_leave(struct ak_watch_receiver *rx)
{
	if (all_released(rx))
		ak__watch_receiver_free(rx);
	else
		zombie_push(rx);
}

/* Frees the receivers whose borrows are all released; called when a
 * channel is made or destroyed and when a receiver leaves. */
void ak__watch_zombies_sweep(void)
{
	if (ak__load(&zombies, AK__RELAXED) == NULL)
		return;
	/* acquire: pairs with the release in zombie_push(). */
	struct ak_watch_receiver *rx = ak__xchg(&zombies, NULL, AK__ACQUIRE), *next;
	for (; rx; rx = next) {
		next = rx->next;
		if (all_released(rx))
			ak__watch_receiver_free(rx);
		else
			zombie_push(rx);
	}
}

/* ---- borrows -------------------------------------------------------------- */

/* Out of line: the borrow into a buffer needs no frame. */
static __attribute__((noinline)) int spill_borrow_cold(struct watch *w, struct borrowed *b)
{
	return ak__watch_spill_borrow(w, b);
}

/* Borrows n words (a constant) into rx's buffer i (free), i a constant:
 * its address is one add. */
static inline __attribute__((always_inline)) int borrow_into(struct ak_watch_receiver *rx,
                                                             struct borrowed *b, int i, int n)
{
	uint64_t *buf = buffer(rx, i);
	b->version = latch_read(rx->w, buf, n);
	/* relaxed: a releaser learns of the borrow from its owner, after
	 * this. */
	ak__store(&rx->pins[i], PIN_COPY, AK__RELAXED);
	b->value = buf;
	b->token = (uintptr_t)&rx->pins[i] | TOKEN_COPY;
	return 0;
}

/* A copy of the current value (n words, a constant) for rx's owner, in a
 * free buffer of rx's or a spill. */
static inline __attribute__((always_inline)) int copy_borrow(struct ak_watch_receiver *rx,
                                                             struct borrowed *b, int n)
{
	_Static_assert(WATCH_PINS == 2, "a borrow tries two buffers");
	/* acquire: pairs with the release store in ak__watch_copy_release():
	 * the last borrower's reads of the buffer came before this copy. */
	if (ak__load(&rx->pins[0], AK__ACQUIRE) == 0)
		return borrow_into(rx, b, 0, n);
	/* acquire: as above. */
	if (ak__load(&rx->pins[1], AK__ACQUIRE) == 0)
		return borrow_into(rx, b, 1, n);
	return spill_borrow_cold(rx->w, b);
}

int ak__watch_copy_borrow(struct ak_watch_receiver *rx, struct borrowed *b)
{
	return copy_borrow(rx, b, COPY_WORDS);
}

/* The common value (8 bytes or less): one word copied. */
int ak__watch_copy_borrow_word(struct ak_watch_receiver *rx, struct borrowed *b)
{
	return copy_borrow(rx, b, 1);
}

int ak__watch_spill_borrow(struct watch *w, struct borrowed *b)
{
	struct spill *sp = ak__alloc(sizeof(*sp));
	if (!sp)
		return AK_ENOMEM;
	b->version = latch_read(w, sp->value.words, COPY_WORDS);
	b->value = sp->value.words;
	b->token = (uintptr_t)sp | TOKEN_SPILL;
	return 0;
}

void ak__watch_spill_release(uintptr_t token)
{
	ak__free_sized((void *)(token & ~TOKEN_TAGS), sizeof(struct spill));
}
