/*
 * core/gate.h: the waiting side of a primitive whose units (capacity,
 * permits) a lockless fast path hands out.  Internal; the bounded mpsc's
 * ring (chan/mpsc_ring.c) stands on it.
 *
 * The primitive keeps its units in its own atomic word (the source) and
 * serves whoever finds room there with one RMW, taking no lock.  Only
 * when an operation must wait does the gate come in: a FIFO of waiters
 * (core/waitq.h) under a 4-byte lock, and a flag, `waiting`, that is set
 * while the queue is not empty and that the side freeing units reads with
 * one load (it lives away from the source's word, so that the freeing side
 * does not pull a line the fast path writes).
 *
 * The source's rules, which the gate calls under its lock:
 *   mark(src)      set the word's WAITERS bit with a seq_cst RMW (fast
 *                  paths that see it go to the queue: no barging);
 *                  nonzero if the source is closed
 *   take(src, n)   move up to n free units out of the fast path's reach
 *                  (the primitive's reserved count) and return how many;
 *                  reads what the freeing side publishes with seq_cst loads
 *   give(src, n)   put back n units taken by take() (a cancelled grant)
 *   idle(src)      clear WAITERS: nobody waits any more
 *
 * The handshake with the freeing side (the mpsc receiver, one thread at a
 * time): it publishes (ak__gate_publish: a store) and then loads
 * `waiting`; a waiter sets `waiting` (seq_cst store, under the lock, in
 * ak__gate_park) and then take() loads what the freeing side published
 * (seq_cst).  Of the two loads one sees the other's store, so either the
 * waiter finds the room or the freeing side calls ak__gate_grant_freed().
 * The freeing side's store is seq_cst (a locked instruction, on a line the
 * waiters' side reads) in the heavy mode; in the light mode it is a release
 * store and a compiler barrier, and a waiter, after its store of
 * `waiting`, runs ak__fence_heavy() (membarrier(2), core/shim.h) before
 * take().  Only the freeing side switches, by a seq_cst store of `light`,
 * which a waiter loads (seq_cst) between its store and the heavy fence:
 *
 *   to light: W(light = 1) sc, then light publications P: W(word), R(waiting).
 *     A waiter's R(light) that reads 0 comes before W(light = 1) in the
 *     single order of seq_cst operations, and its W(waiting) before that:
 *     every later R(waiting) of the freeing side sees the waiter.  One
 *     that reads 1 runs the heavy fence: the asymmetric pair covers P.
 *   to heavy: W(light = 0), under the lock (ak__gate_grant_freed), where
 *     the waiters load light: one that reads 0 comes after the switch, and
 *     the lock orders the light publications before it; later
 *     publications are seq_cst stores: the Dekker pair above.
 *
 * The mode follows how often waiters come: light once AK__GATE_CALM
 * units were freed with nobody new waiting (and membarrier(2) works),
 * heavy again when a new wait comes within AK__GATE_CALM units of the one
 * before (each wait in the light mode costs a membarrier(2): an
 * interrupt on every CPU of the process, some microseconds).
 *
 * A grant is a count of units moved to the waiter's node; it is
 * provisional until the owner's poll takes it (ak__waiter_take), and a
 * cancel passes it on to the next waiters.  A close fails every waiter: it
 * is woken with fewer units than it asked for (what it was given so far,
 * which its poll hands back to the source).
 *
 *   call                  lock        thread
 *   ak__gate_park         takes it    the operation's owner
 *   ak__gate_cancel       takes it    the operation's owner
 *   ak__gate_grant        takes it    any (units were freed)
 *   ak__gate_close        takes it    any (the source is closed)
 *   ak__gate_publish_look never       the freeing side
 *   ak__gate_published    never       the freeing side (look said 1)
 *   ak__gate_publish      never       the freeing side (both)
 *   ak__gate_grant_freed  takes it    the freeing side (publish said 1)
 */
#ifndef AK_CORE_GATE_H
#define AK_CORE_GATE_H

#include <stdint.h>

#include "waitq.h"

struct ak__gate {
	struct ak__lock lock;          /* guards q and parks */
	ak__atomic(uint32_t) waiting;  /* q is not empty (written under lock) */
	ak__atomic(uint32_t) light;    /* the handshake's mode (the freeing side writes it) */
	uint64_t calm_from;            /* the freeing side's: its count at the last new wait */
	uint32_t parks;                /* first waits so far (under lock) */
	uint32_t parks_seen;           /* parks at the freeing side's last grant (under lock) */
	struct ak__waitq q;
};

/* Units freed in a row with nobody waiting before the light mode (see
 * above); the simulation switches at once, so that its schedules cross
 * every switch. */
#ifdef AK_SIM
#define AK__GATE_CALM 1u
#else
#define AK__GATE_CALM 4096u
#endif

struct ak__gate_source {
	int (*mark)(void *src);
	uint64_t (*take)(void *src, uint64_t n);
	void (*give)(void *src, uint64_t n);
	void (*idle)(void *src);
};

/* A wait for n units, inside an operation. */
struct ak__gate_wait {
	struct ak__waiter w;
	uint64_t n;
};

void ak__gate_init(struct ak__gate *g);
/* AK_EBUSY while operations wait on it. */
int ak__gate_destroy(struct ak__gate *g);

void ak__gate_wait_init(struct ak__gate_wait *a, uint64_t n);

/*
 * The slow path of a poll whose fast path found no room.  st is the
 * owner's one look at its node (ak__waiter_state(), taken before the fast
 * path): IDLE (a first wait) or QUEUED (polled again).  Clones the waker
 * before the lock, queues the node (or swaps its waker), lets the queue
 * take what is free now, and drops the spare clone after unlocking.
 * 0: granted (take it with ak__waiter_take); AK_PENDING; AK_EPIPE (the
 * source is closed, nothing queued); AK_ENOMEM (nothing held).
 */
int ak__gate_park(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                  struct ak__gate_wait *a, struct ak_context *cx, uint32_t st);
/* Takes the node out of the queue and passes what it was granted on (to
 * the next waiters, or back to the source); a no-op if it never parked. */
void ak__gate_cancel(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                     struct ak__gate_wait *a);
/* Units were freed: hands them to the waiters in FIFO order. */
void ak__gate_grant(struct ak__gate *g, const struct ak__gate_source *s, void *src);
/* Fails every waiter (after the source was closed); idempotent. */
void ak__gate_close(struct ak__gate *g, const struct ak__gate_source *s, void *src);

/* Units were freed and publish said someone waits: as ak__gate_grant(),
 * and the mode follows the waits (v: what publish stored). */
void ak__gate_grant_freed(struct ak__gate *g, const struct ak__gate_source *s, void *src,
                          uint64_t v);

/*
 * The freeing side's half of the handshake above, in two parts so that a
 * fast path stays a leaf: ak__gate_publish_look() stores v into *word (a
 * word it alone writes, which take() loads; v grows by the units freed,
 * the count the mode is decided on) and looks at `waiting`: 0, nothing
 * more to do; otherwise call ak__gate_published() (out of line), which
 * looks again and says whether anyone waits (then call
 * ak__gate_grant_freed()), or switches to the light mode when the calm
 * ran long enough.  The second look is seq_cst and after the store too: a
 * queue emptied in between needed no units of ours.
 */
static inline int ak__gate_publish_look(struct ak__gate *g, ak__atomic(uint64_t) *word,
                                        uint64_t v)
{
	/* relaxed: only this side writes it. */
	uint32_t light = ak__load(&g->light, AK__RELAXED);
	if (light) {
		/* release: pairs with take()'s load (what was freed comes
		 * first); the waiter's heavy fence does the rest. */
		ak__store(word, v, AK__RELEASE);
		ak__fence_light();
	} else {
		/* seq_cst: pairs with the store in ak__gate_park(). */
		ak__store(word, v, AK__SEQ_CST);
	}
	/* seq_cst: after the publication (above). */
	return ak__load(&g->waiting, AK__SEQ_CST) != 0 ||
	       (!light && v - g->calm_from >= AK__GATE_CALM);
}

int ak__gate_published(struct ak__gate *g, uint64_t v);

/* Both parts: nonzero when someone waits (call ak__gate_grant_freed()). */
static inline int ak__gate_publish(struct ak__gate *g, ak__atomic(uint64_t) *word, uint64_t v)
{
	return ak__gate_publish_look(g, word, v) && ak__gate_published(g, v);
}

#endif
