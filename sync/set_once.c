/*
 * sync/set_once.c: SetOnce, a value set once that tasks wait for.  The
 * waiting is the notify core's (core/notify.h): a wait captures the
 * notify_waiters generation when bound, set publishes the value and then
 * calls notify_waiters, so a wait bound before the set completes through
 * the generation and one bound after it sees the value at once.
 */
#include <string.h>

#include <awaitkit/block_on.h>
#include <awaitkit/error.h>
#include <awaitkit/set_once.h>

#include "../core/core.h"
#include "../core/notify.h"

/* ak_op_size(): the kinds this file binds. */
AK__OP_KIND(AK_OP_SET_ONCE_WAIT, struct ak_set_once_wait_op);

/*
 * set_lock serializes the setters, as tokio's mutex does: a set that
 * loses waits for the winner's copy, so after its AK_EEXIST a get sees the
 * value.  ready goes 0 -> 1 once, with a release store after the copy.
 * pending counts the waits parked and not finished (the free refuses).
 */
struct ak_set_once {
	struct ak__notify notify;
	struct ak__lock set_lock;
	ak__atomic(uint32_t) ready;
	ak__atomic(uint32_t) pending;
	size_t elem_size;
	ak_once_drop_fn drop;
	void *drop_arg;
	_Alignas(max_align_t) unsigned char value[];
};

/* The operation's private storage; o comes first (core/notify.h). */
struct wait_priv {
	struct ak__notified o;
	struct ak_set_once *so;
	const void **value;
	uintptr_t parked;              /* counted in pending */
};
_Static_assert(sizeof(struct wait_priv) <= sizeof(((struct ak_set_once_wait_op *)0)->private_),
               "set-once wait op storage too small");

static struct wait_priv *priv_of(struct ak_future *f)
{
	return (struct wait_priv *)(void *)&((struct ak_set_once_wait_op *)(void *)f)->private_;
}

static size_t so_size(size_t elem_size)
{
	return sizeof(struct ak_set_once) + elem_size;
}

static int is_ready(const struct ak_set_once *so)
{
	/* acquire: pairs with the release store in ak_set_once_set(). */
	return ak__load(&((struct ak_set_once *)so)->ready, AK__ACQUIRE) != 0;
}

AK_EXPORT int ak_set_once_new(struct ak_set_once **out, size_t elem_size,
                              ak_once_drop_fn drop, void *drop_arg)
{
	if (!out || elem_size > SIZE_MAX / 2)
		return AK_EINVAL;
	struct ak_set_once *so = ak__alloc(so_size(elem_size));
	if (!so)
		return AK_ENOMEM;
	ak__notify_init(&so->notify);
	ak__lock_init(&so->set_lock);
	ak__init(&so->ready, 0);
	ak__init(&so->pending, 0);
	so->elem_size = elem_size;
	so->drop = drop;
	so->drop_arg = drop_arg;
	*out = so;
	return 0;
}

AK_EXPORT int ak_set_once_free(struct ak_set_once *so)
{
	if (!so)
		return AK_EINVAL;
	/* Relaxed: the page allows nothing on the set-once concurrently. */
	if (ak__load(&so->pending, AK__RELAXED) != 0)
		return AK_EBUSY;
	int rc = ak__notify_destroy(&so->notify);
	if (rc)
		return rc;
	ak__lock_destroy(&so->set_lock);
	if (is_ready(so) && so->drop)
		so->drop(so->value, so->drop_arg);
	ak__free_sized(so, so_size(so->elem_size));
	return 0;
}

AK_EXPORT int ak_set_once_set(struct ak_set_once *so, const void *value)
{
	if (!so || (!value && so->elem_size))
		return AK_EINVAL;
	if (is_ready(so))
		return AK_EEXIST;
	ak__lock(&so->set_lock);
	int taken = ak__load(&so->ready, AK__RELAXED) != 0;
	if (!taken) {
		if (so->elem_size)
			memcpy(so->value, value, so->elem_size);
		ak__store(&so->ready, 1, AK__RELEASE);
	}
	ak__unlock(&so->set_lock);
	if (taken)
		return AK_EEXIST;
	/* After ready: a wait that sees the generation move sees the value. */
	ak__notify_waiters(&so->notify);
	return 0;
}

AK_EXPORT int ak_set_once_get(const struct ak_set_once *so, const void **value)
{
	if (!so || !value)
		return AK_EINVAL;
	if (!is_ready(so))
		return AK_EAGAIN;
	*value = so->value;
	return 0;
}

AK_EXPORT int ak_set_once_initialized(const struct ak_set_once *so)
{
	if (!so)
		return AK_EINVAL;
	return is_ready(so);
}

static void unpark(struct wait_priv *p)
{
	if (p->parked) {
		p->parked = 0;
		ak__fetch_sub(&p->so->pending, 1, AK__RELAXED);
	}
}

static int done(struct wait_priv *p)
{
	unpark(p);
	if (p->value)
		*p->value = p->so->value;
	return 0;
}

static int wait_poll(struct ak_future *f, struct ak_context *cx)
{
	struct wait_priv *p = priv_of(f);
	/* Not budgeted, as tokio's wait().  A notified operation that is
	 * never polled again holds nothing, so the look at ready may come
	 * first: the generation was captured when the op was bound. */
	if (is_ready(p->so)) {
		ak__notified_cancel(&p->o);
		return done(p);
	}
	int rc = ak__notified_poll(&p->o, cx);
	if (rc == AK_PENDING) {
		if (!p->parked) {
			p->parked = 1;
			ak__fetch_add(&p->so->pending, 1, AK__RELAXED);
		}
		return rc;
	}
	if (rc < 0) {
		unpark(p);
		return rc;
	}
	/* Only set's notify_waiters completes the wait, after its release
	 * store of ready; the generation's acquire makes it visible. */
	return done(p);
}

static void wait_cancel(struct ak_future *f)
{
	struct wait_priv *p = priv_of(f);
	ak__notified_cancel(&p->o);
	unpark(p);
}

static const struct ak_future_vtable wait_vtable = { wait_poll, wait_cancel };

AK_EXPORT int ak_set_once_wait_init(struct ak_set_once_wait_op *op, struct ak_set_once *so,
                                    const void **value)
{
	if (!op || !so)
		return AK_EINVAL;
	int rc = ak_future_init(&op->future, &wait_vtable);
	if (rc)
		return rc;
	struct wait_priv *p = priv_of(&op->future);
	ak__notified_init(&p->o, &so->notify);
	p->so = so;
	p->value = value;
	p->parked = 0;
	return 0;
}

AK_EXPORT int ak_set_once_wait_blocking(struct ak_set_once_wait_op *op, struct ak_set_once *so,
                                        const void **value, int64_t deadline)
{
	int rc = ak_set_once_wait_init(op, so, value);
	if (rc)
		return rc;
	return ak_block_on(&op->future, deadline);
}
