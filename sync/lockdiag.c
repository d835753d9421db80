/* sync/lockdiag.c: holder records of Mutex and RwLock.  See lockdiag.h. */
#include <string.h>
#include <time.h>

#include "lockdiag.h"

/*
 * Hold times come from CLOCK_MONOTONIC_COARSE: a lock reads the clock at
 * every acquisition, and the coarse clock costs a third of the precise one
 * (29 ns against 75 ns on the development VM) for a resolution of one
 * kernel tick (1-4 ms), which is the scale at which a hold time says
 * anything.  Both ends of a hold time are read from it.
 */
int64_t ak__lock_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);   /* cannot fail: errno untouched */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ak__holders_init(struct ak__holders *hs)
{
	ak__lock_init(&hs->lock);
	hs->head = NULL;
	hs->n = 0;
}

void ak__holders_destroy(struct ak__holders *hs)
{
	ak__lock_destroy(&hs->lock);
}

void ak__holder_record(struct ak__holder *h, struct ak_context *cx,
                       const char *file, int line, int mode, int64_t since)
{
	h->prev = h->next = NULL;
	h->task = ak__requester_id(cx);
	if (cx)
		h->path = cx->path;
	else
		memset(&h->path, 0, sizeof(h->path));
	h->file = file;
	h->line = line;
	h->mode = mode;
	h->since = since;
	/* The slot is read here, inside the holder's own poll, and never again. */
	h->polls_at = cx && cx->slot ? ak_task_slot_pending_polls(cx->slot) : 0;
}

void ak__holders_add(struct ak__holders *hs, struct ak__holder *h)
{
	ak__lock(&hs->lock);
	h->prev = NULL;
	h->next = hs->head;
	if (hs->head)
		hs->head->prev = h;
	hs->head = h;
	hs->n++;
	ak__unlock(&hs->lock);
}

void ak__holders_remove(struct ak__holders *hs, struct ak__holder *h)
{
	ak__lock(&hs->lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		hs->head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	hs->n--;
	ak__unlock(&hs->lock);
}

void ak__holders_set_mode(struct ak__holders *hs, struct ak__holder *h, int mode)
{
	ak__lock(&hs->lock);
	h->mode = mode;
	ak__unlock(&hs->lock);
}

int ak__path_is_prefix(const struct ak_branch_path *holder,
                       const struct ak_branch_path *req)
{
	if (holder->overflow || holder->len > AK_PATH_MAX)
		return 0;
	if (holder->len > req->len)
		return 0;
	/* An overflowed requester still has its first AK_PATH_MAX levels. */
	for (uint16_t i = 0; i < holder->len; i++)
		if (holder->index[i] != req->index[i])
			return 0;
	return 1;
}

int ak__holders_find_self(struct ak__holders *hs, uint64_t task,
                          const struct ak_branch_path *path, unsigned mode_mask)
{
	if (task == 0)
		return 0;
	int found = 0;
	ak__lock(&hs->lock);
	for (struct ak__holder *h = hs->head; h && !found; h = h->next)
		found = h->task == task && (mode_mask & (1u << h->mode)) &&
		        ak__path_is_prefix(&h->path, path);
	ak__unlock(&hs->lock);
	return found;
}

size_t ak__holders_info(struct ak__holders *hs, struct ak_task_slot *slot,
                        struct ak_lock_info *out, size_t cap)
{
	size_t i = 0;

	/* The slot is read under our lock: it is the caller's to vouch for. */
	ak__lock(&hs->lock);
	for (struct ak__holder *h = hs->head; h; h = h->next, i++)
		if (i < cap)
			ak__holder_info(h, slot, &out[i]);
	ak__unlock(&hs->lock);
	return i;
}

/* ---- the single holder's record, read without a lock -------------------- */

#define PRESENT AK__OWNER_PRESENT

void ak__owner_init(struct ak__owner *o)
{
	ak__init(&o->seq, 0);
	for (int i = 0; i < AK__OWNER_WORDS; i++)
		ak__init(&o->w[i], 0);
}

int ak__owner_read(struct ak__owner *o, struct ak__holder *h)
{
	uint64_t w[AK__OWNER_WORDS];
	for (unsigned spins = 0;; spins++) {
		/* acquire: pairs with the final release store in owner_write(). */
		uint64_t s1 = ak__load(&o->seq, AK__ACQUIRE);
		if (!(s1 & 1)) {
			/* acquire: pairs with the release stores of the words;
			 * keeps the second read of seq after them. */
			for (int i = 0; i < AK__OWNER_WORDS; i++)
				w[i] = ak__load(&o->w[i], AK__ACQUIRE);
			if (ak__load(&o->seq, AK__RELAXED) == s1)
				break;
		}
		if (spins < 64)
			ak__cpu_relax();
		else
			ak__yield();        /* the writer was preempted mid-record */
	}
	if (!(w[6] & PRESENT))
		return 0;
	h->prev = h->next = NULL;
	h->task = w[0];
	memcpy(&h->path, &w[1], sizeof(h->path));
	if (h->path.len <= 2)           /* the deeper words were not written */
		memset((char *)&h->path + 8, 0, sizeof(h->path) - 8);
	h->file = (const char *)(uintptr_t)w[5];
	h->line = (int32_t)(uint32_t)w[6];
	h->mode = (int32_t)(uint8_t)(w[6] >> 32);
	h->since = (w[6] & AK__OWNER_STATS) ? (int64_t)w[7] : AK__NO_SINCE;
	h->polls_at = w[8];
	return 1;
}

void ak__holder_info(const struct ak__holder *h, struct ak_task_slot *slot,
                     struct ak_lock_info *o)
{
	uint64_t slot_id = slot ? ak_task_slot_id(slot) : 0;
	o->task = h->task;
	o->path = h->path;
	o->file = h->file;
	o->line = h->line;
	o->mode = h->mode;
	if (h->since == AK__NO_SINCE) {
		o->held_ns = AK_LOCK_HELD_UNKNOWN;
		o->pending_polls = AK_LOCK_POLLS_UNKNOWN;
		return;
	}
	o->held_ns = ak__lock_clock() - h->since;
	o->pending_polls = (h->task != 0 && h->task == slot_id)
	                           ? ak_task_slot_pending_polls(slot) - h->polls_at
	                           : AK_LOCK_POLLS_UNKNOWN;
}
