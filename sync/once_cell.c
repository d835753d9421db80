/*
 * sync/once_cell.c: OnceCell, as tokio builds it: a semaphore of one
 * permit (core/sem.h) is the right to initialise.  The operation that
 * takes it runs its initializer; success publishes the value and closes
 * the semaphore, which completes every waiter (a closed semaphore is the
 * "done" latch: their acquire fails with AK_EPIPE and they read the
 * value); failure or cancel releases the permit, which the semaphore
 * hands to the oldest waiter, whose poll then runs its own initializer.
 * The queueing, the FIFO hand-over and the wake-ups are the core's; this
 * file adds the value, the initializer and the handle.
 */
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/error.h>
#include <awaitkit/once_cell.h>

#include "../core/core.h"
#include "../core/sem.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_ONCE_CELL_GET_OR_INIT, struct ak_once_cell_op);

/*
 * ready goes 0 -> 1 once, with a release store, after the value is
 * written and before the semaphore closes: whoever reads 1 (acquire) sees
 * the value.  busy counts the operations the free must wait for: parked
 * on the semaphore, or holding the permit and running an initializer.
 */
struct ak_once_cell {
	struct ak__sem sem;            /* one permit: the right to initialise */
	ak__atomic(uint32_t) ready;
	ak__atomic(uint32_t) busy;
	size_t elem_size;
	ak_once_drop_fn drop;
	void *drop_arg;
	_Alignas(max_align_t) unsigned char value[];
};

enum { WAIT = 0, RUN = 1 };

/* The operation's private storage. */
struct init_priv {
	struct ak__sem_acquire a;      /* the permit, n = 1 */
	struct ak_once_cell *cell;
	struct ak_future *init;        /* claimed (owned) until the op finishes */
	const void *init_value;        /* what the initializer wrote */
	const void **value;
	uintptr_t phase;               /* WAIT, or RUN: holds the permit */
	uintptr_t counted;             /* counted in cell->busy */
};
_Static_assert(sizeof(struct init_priv) <= sizeof(((struct ak_once_cell_op *)0)->private_),
               "once cell op storage too small");

static struct init_priv *priv_of(struct ak_future *f)
{
	return (struct init_priv *)(void *)&((struct ak_once_cell_op *)(void *)f)->private_;
}

static size_t cell_size(size_t elem_size)
{
	return sizeof(struct ak_once_cell) + elem_size;
}

static int is_ready(const struct ak_once_cell *c)
{
	/* acquire: pairs with the release store in publish(). */
	return ak__load(&((struct ak_once_cell *)c)->ready, AK__ACQUIRE) != 0;
}

/* With the permit held: the value, then ready, then the latch. */
static void publish(struct ak_once_cell *c, const void *src)
{
	if (c->elem_size)
		memcpy(c->value, src, c->elem_size);
	ak__store(&c->ready, 1, AK__RELEASE);
	/* Every waiter's acquire fails with AK_EPIPE and reads the value;
	 * the permit is never given back. */
	ak__sem_close(&c->sem);
}

AK_EXPORT int ak_once_cell_new(struct ak_once_cell **out, size_t elem_size,
                               ak_once_drop_fn drop, void *drop_arg)
{
	if (!out || elem_size > SIZE_MAX / 2)
		return AK_EINVAL;
	struct ak_once_cell *c = ak__alloc(cell_size(elem_size));
	if (!c)
		return AK_ENOMEM;
	ak__sem_init(&c->sem, 1);
	ak__init(&c->ready, 0);
	ak__init(&c->busy, 0);
	c->elem_size = elem_size;
	c->drop = drop;
	c->drop_arg = drop_arg;
	*out = c;
	return 0;
}

AK_EXPORT int ak_once_cell_free(struct ak_once_cell *cell)
{
	if (!cell)
		return AK_EINVAL;
	/* Relaxed: the page allows nothing on the cell concurrently. */
	if (ak__load(&cell->busy, AK__RELAXED) != 0)
		return AK_EBUSY;
	int rc = ak__sem_destroy(&cell->sem);
	if (rc)
		return rc;
	if (is_ready(cell) && cell->drop)
		cell->drop(cell->value, cell->drop_arg);
	ak__free_sized(cell, cell_size(cell->elem_size));
	return 0;
}

AK_EXPORT int ak_once_cell_get(const struct ak_once_cell *cell, const void **value)
{
	if (!cell || !value)
		return AK_EINVAL;
	if (!is_ready(cell))
		return AK_EAGAIN;
	*value = cell->value;
	return 0;
}

AK_EXPORT int ak_once_cell_initialized(const struct ak_once_cell *cell)
{
	if (!cell)
		return AK_EINVAL;
	return is_ready(cell);
}

AK_EXPORT int ak_once_cell_set(struct ak_once_cell *cell, const void *value)
{
	if (!cell || (!value && cell->elem_size))
		return AK_EINVAL;
	if (is_ready(cell))
		return AK_EEXIST;
	int rc = ak__sem_try_acquire(&cell->sem, 1);
	if (rc == AK_EPIPE)
		return AK_EEXIST;
	if (rc == AK_EAGAIN)
		/* The permit is held: by an initializer, or by a set that has
		 * just published (and is closing the latch). */
		return is_ready(cell) ? AK_EEXIST : AK_EBUSY;
	publish(cell, value);
	return 0;
}

static void count(struct init_priv *p)
{
	if (!p->counted) {
		p->counted = 1;
		ak__fetch_add(&p->cell->busy, 1, AK__RELAXED);
	}
}

/* The operation is over: the initializer is finished (cancelled if it
 * never ran), and the free no longer waits for it. */
static void finish(struct init_priv *p)
{
	if (p->init) {
		ak__future_cancel_owned(p->init);
		p->init = NULL;
	}
	if (p->counted) {
		p->counted = 0;
		ak__fetch_sub(&p->cell->busy, 1, AK__RELAXED);
	}
}

static int finish_ready(struct init_priv *p)
{
	finish(p);
	if (p->value)
		*p->value = p->cell->value;
	return 0;
}

static int get_or_init_poll(struct ak_future *f, struct ak_context *cx)
{
	struct init_priv *p = priv_of(f);
	struct ak_once_cell *c = p->cell;

	if (p->phase == WAIT) {
		/* Not budgeted once the value is there, as tokio's. */
		if (is_ready(c))
			return finish_ready(p);
		int rc = ak__sem_acquire_poll(&p->a, cx);
		if (rc == AK_PENDING) {
			count(p);
			return rc;
		}
		if (rc == AK_EPIPE)
			return finish_ready(p);   /* closed: the value is there */
		if (rc < 0) {
			finish(p);
			return rc;
		}
		/* The permit: nobody published (publishing closes first). */
		p->phase = RUN;
		count(p);
	}
	int rc = p->init ? ak__future_poll_owned(p->init, cx) : 0;
	if (rc == AK_PENDING)
		return rc;
	if (rc < 0) {
		/* This attempt failed: the next waiter runs its own. */
		ak__sem_release(&c->sem, 1);
		finish(p);
		return rc;
	}
	publish(c, p->init_value);
	return finish_ready(p);
}

static void get_or_init_cancel(struct ak_future *f)
{
	struct init_priv *p = priv_of(f);
	if (p->phase == WAIT) {
		/* A permit granted and not yet taken goes to the next waiter. */
		ak__sem_acquire_cancel(&p->a);
	} else {
		/* Cancelled while initialising: abandon the attempt. */
		ak__future_cancel_owned(p->init);
		p->init = NULL;
		ak__sem_release(&p->cell->sem, 1);
	}
	finish(p);
}

static const struct ak_future_vtable get_or_init_vtable = { get_or_init_poll, get_or_init_cancel };

AK_EXPORT int ak_once_cell_get_or_init_init(struct ak_once_cell_op *op, struct ak_once_cell *cell,
                                            struct ak_future *init, const void *init_value,
                                            const void **value)
{
	if (!op || !cell || (!init_value && cell->elem_size))
		return AK_EINVAL;
	if (ak__future_phase(&op->future) == AK_FUTURE_PENDING)
		return AK_EBUSY;
	if (init && ak__future_claim(init) != 0)
		return AK_EINVAL;       /* not pollable, or owned elsewhere */
	int rc = ak_future_init(&op->future, &get_or_init_vtable);
	if (rc) {
		if (init)
			init->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return rc;
	}
	struct init_priv *p = priv_of(&op->future);
	memset(p, 0, sizeof(*p));
	ak__sem_acquire_init(&p->a, &cell->sem, 1);
	p->cell = cell;
	p->init = init;
	p->init_value = init_value;
	p->value = value;
	p->phase = WAIT;
	return 0;
}

AK_EXPORT int ak_once_cell_get_or_init_blocking(struct ak_once_cell_op *op, struct ak_once_cell *cell,
                                                struct ak_future *init, const void *init_value,
                                                const void **value, int64_t deadline)
{
	int rc = ak_once_cell_get_or_init_init(op, cell, init, init_value, value);
	if (rc)
		return rc;
	rc = ak_block_on(&op->future, deadline);
	/* Refused (AK_EDEADLK, AK_ENOMEM) before any poll: let init go. */
	ak_future_cancel(&op->future);
	return rc;
}
