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
 * The handshake with the freeing side (the mpsc receiver): it publishes
 * (a seq_cst store) and then loads `waiting` (seq_cst, ak__gate_waiting);
 * a waiter sets `waiting` (seq_cst store, under the lock, in
 * ak__gate_park) and then take() loads what the freeing side published
 * (seq_cst).  Of the two loads one sees the other's store, so either the
 * waiter finds the room or the freeing side calls ak__gate_grant().
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
 *   ak__gate_waiting      never       any
 */
#ifndef AK_CORE_GATE_H
#define AK_CORE_GATE_H

#include <stdint.h>

#include "waitq.h"

struct ak__gate {
	struct ak__lock lock;          /* guards q */
	ak__atomic(uint32_t) waiting;  /* q is not empty (written under lock) */
	struct ak__waitq q;
};

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

static inline int ak__gate_waiting(struct ak__gate *g)
{
	/* seq_cst: the freeing side's half of the handshake above (after its
	 * seq_cst publication); pairs with the store in ak__gate_park(). */
	return ak__load(&g->waiting, AK__SEQ_CST) != 0;
}

#endif
