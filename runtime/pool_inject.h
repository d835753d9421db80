/*
 * runtime/pool_inject.h: the pool's injection queue (runtime/pool.c), the
 * queue of tasks queued from threads that are not its workers, with the
 * gate that keeps late wakes out of a freed pool.
 *
 * The queue is liburcu's wfcqueue.  Why it, here: its enqueue is
 * wait-free (one exchange, no lock, from any thread: wakers run on threads
 * the pool does not own, possibly inside a primitive's hot path), and it
 * reports whether the queue was empty, which is exactly when a parked
 * worker must be woken; a busy queue costs producers no wake-up traffic.
 * Dequeues are mutually excluded by the queue's own consumer lock
 * (liburcu's synchronization table requires it) and are always
 * non-blocking: the blocking dequeue may sleep 10 ms waiting for a
 * half-done enqueue, which would stall a worker, so on CDS_WFCQ_WOULDBLOCK
 * we spin, then yield.  Debian's liburcu 0.13 is invisible to
 * ThreadSanitizer (its atomics are inline asm): every enqueue is annotated
 * with AK__HB_RELEASE on the node and every dequeue with AK__HB_ACQUIRE,
 * which tells TSan that the enqueue happens-before the dequeue that
 * returns the node.  We link the shared liburcu-cds and never define
 * _LGPL_SOURCE, so its internals stay uninstrumented.
 *
 * The gate counts the enqueues in flight from threads that are not
 * workers; closing it waits for them and refuses the later ones, so that
 * the pool's free can drain the queue and go.
 *
 * Synchronization contract:
 *
 *   call                          thread
 *   ak__injq_init, _destroy       one thread, no other call running
 *   ak__injq_push                 a worker, or any thread inside the gate
 *   ak__injq_pop, _empty          any (pops exclude one another)
 *   ak__injq_enter, _leave        any thread that is not a worker
 *   ak__injq_close                once, the pool's free
 */
#ifndef AK_RUNTIME_POOL_INJECT_H
#define AK_RUNTIME_POOL_INJECT_H

#include <urcu/wfcqueue.h>

#include "../core/core.h"

#define AK__CACHELINE 64

struct ak__injq {
	/* Consumers' side. */
	struct __cds_wfcq_head head;
	struct ak__lock consumer;       /* exclusion among dequeuers */
	char pad0_[AK__CACHELINE];
	/* Producers' side. */
	struct cds_wfcq_tail tail;
	char pad1_[AK__CACHELINE];
	ak__atomic(uint32_t) gate;      /* foreign enqueues * GATE_ONE | CLOSED */
};

void ak__injq_init(struct ak__injq *q);
void ak__injq_destroy(struct ak__injq *q);

int ak__injq_empty(struct ak__injq *q);
/* Pushes node (initialised here); 1 if the queue was empty. */
int ak__injq_push(struct ak__injq *q, struct cds_wfcq_node *node);
/* The head node or NULL; *more says whether others follow it. */
struct cds_wfcq_node *ak__injq_pop(struct ak__injq *q, int *more);

/* Admits an enqueue from a thread that is not one of the pool's workers:
 * 0 when the pool has been freed (the gate is closed). */
int ak__injq_enter(struct ak__injq *q);
void ak__injq_leave(struct ak__injq *q);
/* Waits for the foreign enqueues in flight; later ones are refused. */
void ak__injq_close(struct ak__injq *q);

#endif
