/*
 * runtime/pool_queue.c: a worker's bounded local run queue (see
 * pool_queue.h).  Indices are 32-bit and wrap; every distance is computed
 * with unsigned subtraction.
 */
#include "pool_queue.h"

static uint64_t pack(uint32_t steal, uint32_t real)
{
	return (uint64_t)steal << 32 | real;
}

static uint32_t steal_of(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static uint32_t real_of(uint64_t h)
{
	return (uint32_t)h;
}

void ak__runq_init(struct ak__runq *q)
{
	ak__init(&q->head, (uint64_t)0);
	ak__init(&q->tail, 0u);
}

/* The owner's view of its tail: only it writes the word. */
static uint32_t own_tail(struct ak__runq *q)
{
	return ak__load(&q->tail, AK__RELAXED);
}

int ak__runq_push(struct ak__runq *q, struct ak_task *t)
{
	uint32_t tail = own_tail(q);
	/* acquire: pairs with the release of a stealer's last CAS in
	 * ak__runq_steal(): its copies of the slots below `steal` are done
	 * before we write one of them again. */
	uint64_t h = ak__load(&q->head, AK__ACQUIRE);
	if (tail - steal_of(h) >= AK__RUNQ_CAP)
		return 0;
	q->buf[tail & AK__RUNQ_MASK] = t;
	/* release: pairs with the acquire load of the tail in
	 * ak__runq_steal(): the entry is written before a stealer reads it. */
	ak__store(&q->tail, tail + 1, AK__RELEASE);
	return 1;
}

struct ak_task *ak__runq_pop(struct ak__runq *q)
{
	/* acquire: as in ak__runq_push(). */
	uint64_t h = ak__load(&q->head, AK__ACQUIRE);
	uint32_t tail = own_tail(q);
	for (;;) {
		uint32_t steal = steal_of(h), real = real_of(h);
		if (real == tail)
			return NULL;
		/* While a steal is in progress its `steal` index stays put:
		 * the stealer moves it when its copy is done. */
		uint64_t next = steal == real ? pack(real + 1, real + 1)
		                              : pack(steal, real + 1);
		/* acq_rel: the claim orders with the stealers' CASes on the
		 * same word (each entry is claimed once); acquire on failure
		 * for the same reason as the load above. */
		if (ak__cas_weak(&q->head, &h, next, AK__ACQ_REL, AK__ACQUIRE))
			return q->buf[real & AK__RUNQ_MASK];
	}
}

int ak__runq_empty(struct ak__runq *q)
{
	/* Relaxed: no entry is read on the strength of it.  A stale head
	 * (a stealer's claim not seen yet) only says "not empty". */
	return real_of(ak__load(&q->head, AK__RELAXED)) == own_tail(q);
}

unsigned ak__runq_take_half(struct ak__runq *q, struct ak_task **out, int *busy)
{
	const uint32_t n = AK__RUNQ_CAP / 2;
	uint32_t tail = own_tail(q);
	/* acquire: as in ak__runq_push(). */
	uint64_t h = ak__load(&q->head, AK__ACQUIRE);

	*busy = 0;
	if (steal_of(h) != real_of(h)) {
		*busy = 1;
		return 0;
	}
	uint32_t real = real_of(h);
	if (tail - real < AK__RUNQ_CAP)
		return 0;
	/* acq_rel: as in ak__runq_pop().  A failure means a stealer moved
	 * the head: the queue has room now, or soon. */
	if (!ak__cas(&q->head, &h, pack(real + n, real + n), AK__ACQ_REL,
	             AK__RELAXED))
		return 0;
	for (uint32_t i = 0; i < n; i++)
		out[i] = q->buf[(real + i) & AK__RUNQ_MASK];
	return n;
}

/* Claims half of src for a steal: the first index claimed and the count,
 * 0 when there is nothing to take. */
static uint32_t claim_half(struct ak__runq *src, uint32_t *first)
{
	/* acquire: pairs with the release of the owner's and of other
	 * stealers' CASes on the head. */
	uint64_t h = ak__load(&src->head, AK__ACQUIRE);
	for (;;) {
		uint32_t steal = steal_of(h), real = real_of(h);
		if (steal != real)
			return 0;       /* another stealer is at work */
		/* acquire: pairs with the release store in ak__runq_push(),
		 * so the entries below the tail are written. */
		uint32_t tail = ak__load(&src->tail, AK__ACQUIRE);
		uint32_t n = tail - real;
		n -= n / 2;
		if (n == 0 || n > AK__RUNQ_CAP / 2)
			return 0;       /* empty, or a stale tail mid-wrap */
		/* acq_rel: as in ak__runq_pop().  `steal` stays at real: the
		 * owner leaves the claimed slots alone until we move it. */
		if (ak__cas_weak(&src->head, &h, pack(steal, real + n),
		                 AK__ACQ_REL, AK__ACQUIRE)) {
			*first = real;
			return n;
		}
	}
}

/* The copy is done: moves src's `steal` up to its `real`. */
static void release_claim(struct ak__runq *src, uint64_t h)
{
	for (;;) {
		uint32_t real = real_of(h);
		/* release: pairs with the acquire loads of the head in
		 * ak__runq_push() and take_half(): our reads of the slots
		 * happen before the owner writes them again.  The owner's pops
		 * may have moved `real` meanwhile; only we move `steal`. */
		if (ak__cas_weak(&src->head, &h, pack(real, real), AK__ACQ_REL,
		                 AK__RELAXED))
			return;
	}
}

struct ak_task *ak__runq_steal(struct ak__runq *src, struct ak__runq *dst)
{
	uint32_t dst_tail = own_tail(dst);
	/* acquire: as in ak__runq_push(), for dst. */
	uint64_t dh = ak__load(&dst->head, AK__ACQUIRE);
	if (dst_tail - steal_of(dh) > AK__RUNQ_CAP / 2)
		return NULL;
	uint32_t first, n = claim_half(src, &first);
	if (n == 0)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		dst->buf[(dst_tail + i) & AK__RUNQ_MASK] =
			src->buf[(first + i) & AK__RUNQ_MASK];
	/* Relaxed: the value is only a starting guess for the CAS. */
	release_claim(src, ak__load(&src->head, AK__RELAXED));
	n--;
	struct ak_task *ret = dst->buf[(dst_tail + n) & AK__RUNQ_MASK];
	if (n > 0)
		/* release: as in ak__runq_push(), for the copied entries. */
		ak__store(&dst->tail, dst_tail + n, AK__RELEASE);
	return ret;
}

uint32_t ak__runq_len(struct ak__runq *q)
{
	/* Relaxed: a snapshot for a heuristic (is there work to steal?);
	 * whoever acts on it claims entries with the CASes above. */
	uint64_t h = ak__load(&q->head, AK__RELAXED);
	uint32_t tail = ak__load(&q->tail, AK__RELAXED);
	uint32_t n = tail - real_of(h);
	return n > AK__RUNQ_CAP ? 0 : n;
}

uint32_t ak__runq_tail(struct ak__runq *q)
{
	/* Relaxed: a snapshot, as in ak__runq_len(). */
	return ak__load(&q->tail, AK__RELAXED);
}

int ak__runq_holds_before(struct ak__runq *q, uint32_t mark)
{
	/* Relaxed: as in ak__runq_len(). */
	uint32_t real = real_of(ak__load(&q->head, AK__RELAXED));
	return (int32_t)(mark - real) > 0;
}

/* ---- the pinned queue ------------------------------------------------------------ */

void ak__pinq_init(struct ak__pinq *q)
{
	ak__lock_init(&q->lock);
	q->head = q->tail = NULL;
	ak__init(&q->len, 0u);
}

void ak__pinq_destroy(struct ak__pinq *q)
{
	ak__lock_destroy(&q->lock);
}

void ak__pinq_push(struct ak__pinq *q, struct ak__pinq_link *l)
{
	l->next = NULL;
	ak__lock(&q->lock);
	if (q->tail)
		q->tail->next = l;
	else
		q->head = l;
	q->tail = l;
	/* Relaxed: a count for peeks; the lock orders the links. */
	ak__store(&q->len, ak__load(&q->len, AK__RELAXED) + 1, AK__RELAXED);
	ak__unlock(&q->lock);
}

struct ak__pinq_link *ak__pinq_pop(struct ak__pinq *q)
{
	/* Relaxed: a peek.  A push it misses is found later: its pusher
	 * kicks the owner (pool_idle.h), whose lock orders it. */
	if (ak__load(&q->len, AK__RELAXED) == 0)
		return NULL;
	ak__lock(&q->lock);
	struct ak__pinq_link *l = q->head;
	if (l) {
		q->head = l->next;
		if (!q->head)
			q->tail = NULL;
		ak__store(&q->len, ak__load(&q->len, AK__RELAXED) - 1, AK__RELAXED);
	}
	ak__unlock(&q->lock);
	return l;
}

uint32_t ak__pinq_len(struct ak__pinq *q)
{
	/* Relaxed: a snapshot, ordered with nothing. */
	return ak__load(&q->len, AK__RELAXED);
}
