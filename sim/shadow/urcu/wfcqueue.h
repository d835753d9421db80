/*
 * sim/shadow/urcu/wfcqueue.h: liburcu's wait-free concurrent queue, the
 * part the pool uses (runtime/pool.c), in the sim build.
 *
 * The same algorithm as liburcu 0.13's urcu/static/wfcqueue.h, written with
 * the shim's atomics, so that its steps are scheduling points too: an
 * enqueue is an exchange of the tail, then a store of the old tail's next;
 * a dequeuer that finds the next pointer not yet stored is the "would
 * block" case the pool retries.  Dequeuers must exclude each other (the
 * pool's consumer lock), as liburcu's __cds_wfcq_* calls require.
 */
#ifndef AK_SIM_SHADOW_URCU_WFCQUEUE_H
#define AK_SIM_SHADOW_URCU_WFCQUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "../../../core/shim.h"

struct cds_wfcq_node {
	ak__atomic(struct cds_wfcq_node *) next;
};

struct __cds_wfcq_head {
	struct cds_wfcq_node node;
};

struct cds_wfcq_tail {
	ak__atomic(struct cds_wfcq_node *) p;
};

#define CDS_WFCQ_WOULDBLOCK ((struct cds_wfcq_node *)-1UL)
enum { CDS_WFCQ_STATE_LAST = 1 };

static inline void cds_wfcq_node_init(struct cds_wfcq_node *node)
{
	ak__init(&node->next, NULL);
}

static inline void __cds_wfcq_init(struct __cds_wfcq_head *head, struct cds_wfcq_tail *tail)
{
	ak__init(&head->node.next, NULL);
	ak__init(&tail->p, &head->node);
}

static inline bool cds_wfcq_empty(struct __cds_wfcq_head *head, struct cds_wfcq_tail *tail)
{
	return ak__load(&head->node.next, AK__RELAXED) == NULL &&
	       ak__load(&tail->p, AK__RELAXED) == &head->node;
}

/* false if the queue was empty before. */
static inline bool cds_wfcq_enqueue(struct __cds_wfcq_head *head, struct cds_wfcq_tail *tail,
                                    struct cds_wfcq_node *node)
{
	/* liburcu's uatomic_xchg is a full barrier: what the node holds is
	 * published before it is. */
	struct cds_wfcq_node *old = ak__xchg(&tail->p, node, AK__SEQ_CST);
	ak__store(&old->next, node, AK__RELEASE);
	return old != &head->node;
}

static inline struct cds_wfcq_node *
__cds_wfcq_dequeue_with_state_nonblocking(struct __cds_wfcq_head *head,
                                          struct cds_wfcq_tail *tail, int *state)
{
	struct cds_wfcq_node *node, *next;

	if (state)
		*state = 0;
	if (cds_wfcq_empty(head, tail))
		return NULL;
	/* acquire: pairs with the release store of the enqueue. */
	node = ak__load(&head->node.next, AK__ACQUIRE);
	if (!node)
		return CDS_WFCQ_WOULDBLOCK;
	next = ak__load(&node->next, AK__ACQUIRE);
	if (!next) {
		/* node is probably the last: move the tail back to the head. */
		ak__store(&head->node.next, NULL, AK__RELAXED);
		struct cds_wfcq_node *expected = node;
		if (ak__cas(&tail->p, &expected, &head->node, AK__SEQ_CST, AK__SEQ_CST)) {
			if (state)
				*state |= CDS_WFCQ_STATE_LAST;
			return node;
		}
		next = ak__load(&node->next, AK__ACQUIRE);
		if (!next) {
			ak__store(&head->node.next, node, AK__RELAXED);
			return CDS_WFCQ_WOULDBLOCK;
		}
	}
	ak__store(&head->node.next, next, AK__RELAXED);
	return node;
}

#endif
