/*
 * runtime/pool_inject.c: the pool's injection queue and its gate (see
 * pool_inject.h).
 */
#include "pool_inject.h"

#define GATE_CLOSED 1u
#define GATE_ONE 2u
/* Relaxed retries of a dequeue that would block, before yielding. */
#define DEQUEUE_SPINS 64

void ak__injq_init(struct ak__injq *q)
{
	__cds_wfcq_init(&q->head, &q->tail);
	ak__lock_init(&q->consumer);
	ak__init(&q->gate, 0u);
}

void ak__injq_destroy(struct ak__injq *q)
{
	ak__lock_destroy(&q->consumer);
}

int ak__injq_empty(struct ak__injq *q)
{
	return cds_wfcq_empty(&q->head, &q->tail);
}

static void backoff(unsigned attempt)
{
	if (attempt < DEQUEUE_SPINS)
		ak__cpu_relax();
	else
		ak__yield();
}

struct cds_wfcq_node *ak__injq_pop(struct ak__injq *q, int *more)
{
	struct cds_wfcq_node *node;
	int state = 0;

	*more = 0;
	if (ak__injq_empty(q))
		return NULL;
	for (unsigned attempt = 0;; attempt++) {
		ak__lock(&q->consumer);
		node = __cds_wfcq_dequeue_with_state_nonblocking(&q->head, &q->tail,
		                                                  &state);
		ak__unlock(&q->consumer);
		if (node != CDS_WFCQ_WOULDBLOCK)
			break;
		/* An enqueue is half done: its producer finishes in a few
		 * instructions unless it was preempted. */
		backoff(attempt);
	}
	if (!node)
		return NULL;
	/* Pairs with the AK__HB_RELEASE in ak__injq_push(). */
	AK__HB_ACQUIRE(node);
	*more = !(state & CDS_WFCQ_STATE_LAST);
	return node;
}

int ak__injq_push(struct ak__injq *q, struct cds_wfcq_node *node)
{
	cds_wfcq_node_init(node);
	/* Pairs with the AK__HB_ACQUIRE in ak__injq_pop(). */
	AK__HB_RELEASE(node);
	return !cds_wfcq_enqueue(&q->head, &q->tail, node);
}

int ak__injq_enter(struct ak__injq *q)
{
	/* acquire: keeps the enqueue below the check.  The release it may
	 * read from is ak__injq_close()'s, which publishes nothing we use. */
	uint32_t g = ak__fetch_add(&q->gate, GATE_ONE, AK__ACQUIRE);
	if (g & GATE_CLOSED) {
		ak__fetch_sub(&q->gate, GATE_ONE, AK__RELAXED);
		return 0;
	}
	return 1;
}

void ak__injq_leave(struct ak__injq *q)
{
	/* release: pairs with the acquire load in ak__injq_close(), so the
	 * enqueue is complete before the pool drains its queue. */
	ak__fetch_sub(&q->gate, GATE_ONE, AK__RELEASE);
}

void ak__injq_close(struct ak__injq *q)
{
	/* acq_rel: keeps the close between what free did before it (the
	 * workers' stop) and after it (the cancels, the drain); pairs with
	 * the acquire in ak__injq_enter() that reads it. */
	ak__fetch_or(&q->gate, GATE_CLOSED, AK__ACQ_REL);
	/* acquire: pairs with the release in ak__injq_leave(). */
	while (ak__load(&q->gate, AK__ACQUIRE) >= GATE_ONE)
		ak__yield();
}
