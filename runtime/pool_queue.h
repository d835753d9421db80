/*
 * runtime/pool_queue.h: a worker's bounded local run queue (the pool's,
 * runtime/pool.c), after the design of tokio's queue::Local / queue::Steal;
 * and its queue of pinned tasks (at the end).
 *
 * A ring of AK__RUNQ_CAP task pointers with one producer, the worker that
 * owns it, and any number of stealers.  The owner pushes at the tail and
 * pops at the head; a stealer moves half of the queue into its own queue.
 * The head word packs two indices: `real`, the next entry to hand out, and
 * `steal`, the first entry a stealer is still copying (equal to real when
 * no steal is in progress).  The owner reuses a slot only once `steal` has
 * passed it, so a stealer copies its claimed entries without racing with a
 * push.  One steal at a time per queue: a second stealer finds steal !=
 * real and goes elsewhere.
 *
 * Synchronization contract:
 *
 *   call                       thread
 *   ak__runq_init              before any other, one thread
 *   ak__runq_push,             the owner only
 *   ak__runq_pop, _empty,
 *   ak__runq_take_half
 *   ak__runq_steal             any worker, into the queue it owns (dst)
 *   ak__runq_len, _tail,       any thread (a snapshot)
 *   _holds_before
 */
#ifndef AK_RUNTIME_POOL_QUEUE_H
#define AK_RUNTIME_POOL_QUEUE_H

#include "task.h"

#define AK__RUNQ_CAP 256u
#define AK__RUNQ_MASK (AK__RUNQ_CAP - 1)

struct ak__runq {
	ak__atomic(uint64_t) head;      /* steal << 32 | real */
	ak__atomic(uint32_t) tail;      /* written by the owner only */
	struct ak_task *buf[AK__RUNQ_CAP];
};

void ak__runq_init(struct ak__runq *q);

/* 1 when t was queued at the tail, 0 when the queue is full. */
int ak__runq_push(struct ak__runq *q, struct ak_task *t);

/* The head entry, or NULL when the queue is empty. */
struct ak_task *ak__runq_pop(struct ak__runq *q);

/* 1 when nothing is queued: exact for the owner, the only one that adds
 * (a stealer only takes, so a queue seen empty stays so until a push). */
int ak__runq_empty(struct ak__runq *q);

/*
 * A full queue: takes its first AK__RUNQ_CAP / 2 entries into out and
 * returns their count, or 0 when the queue is no longer full (retry the
 * push) or a steal is in progress (*busy set: the stealer frees room in a
 * moment; the caller sends its task elsewhere).
 */
unsigned ak__runq_take_half(struct ak__runq *q, struct ak_task **out, int *busy);

/*
 * Moves half of src's entries (rounded up) into dst, which the caller
 * owns, and returns one of them to run (not left in dst), or NULL when src
 * is empty, being stolen from, or dst is more than half full.
 */
struct ak_task *ak__runq_steal(struct ak__runq *src, struct ak__runq *dst);

uint32_t ak__runq_len(struct ak__runq *q);
/* The tail index now; ak__runq_holds_before(): whether an entry queued
 * before that reading is still queued (the head has not passed it). */
uint32_t ak__runq_tail(struct ak__runq *q);
int ak__runq_holds_before(struct ak__runq *q, uint32_t mark);

/*
 * A worker's pinned queue: the tasks pinned to it (ak_co_pin(3)), which
 * only it runs.  Any thread pushes (the wake of a pinned task comes from
 * anywhere), only the owner pops.  A FIFO of links embedded in the task
 * records, under a lock; `len` lets the owner peek without it.
 *
 *   call                       thread
 *   ak__pinq_init, _destroy    one thread, no other call running
 *   ak__pinq_push              any
 *   ak__pinq_pop               the owner (the pool's free, once the owner
 *                              is joined)
 *   ak__pinq_len               any thread (a snapshot)
 */
struct ak__pinq_link {
	struct ak__pinq_link *next;
};

struct ak__pinq {
	struct ak__lock lock;
	struct ak__pinq_link *head, *tail;     /* under lock */
	ak__atomic(uint32_t) len;               /* written under lock */
};

void ak__pinq_init(struct ak__pinq *q);
void ak__pinq_destroy(struct ak__pinq *q);
void ak__pinq_push(struct ak__pinq *q, struct ak__pinq_link *l);
/* The head link, or NULL when the queue is empty. */
struct ak__pinq_link *ak__pinq_pop(struct ak__pinq *q);
uint32_t ak__pinq_len(struct ak__pinq *q);

#endif
