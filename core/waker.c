/* core/waker.c: the waker ABI's library side. */
#include <awaitkit/waker.h>

#include "core.h"

static struct ak_waker noop_clone(const void *data);
static void noop_fn(const void *data)
{
	(void)data;
}

/* Defined once with external linkage, so every noop waker compares equal. */
const struct ak_waker_vtable ak__noop_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = noop_clone,
	.wake = noop_fn,
	.wake_by_ref = noop_fn,
	.drop = noop_fn,
};

static struct ak_waker noop_clone(const void *data)
{
	struct ak_waker w = { data, &ak__noop_vtable };
	return w;
}

AK_EXPORT struct ak_waker ak_waker_noop(void)
{
	struct ak_waker w = { NULL, &ak__noop_vtable };
	return w;
}

AK_EXPORT int ak_waker_check(const struct ak_waker *waker)
{
	if (!waker || !waker->vtable)
		return AK_EINVAL;
	const struct ak_waker_vtable *vt = waker->vtable;
	if (vt->abi != AK_WAKER_ABI_VERSION || vt->size < AK_WAKER_VTABLE_V1_SIZE)
		return AK_EINVAL;
	if (!vt->clone || !vt->wake || !vt->wake_by_ref || !vt->drop)
		return AK_EINVAL;
	return 0;
}

AK_EXPORT int ak_waker_will_wake(const struct ak_waker *a, const struct ak_waker *b)
{
	return a && b && ak__waker_same(a, b);
}

AK_EXPORT int ak_waker_clone(const struct ak_waker *waker, struct ak_waker *out)
{
	if (!out || ak_waker_check(waker) != 0)
		return AK_EINVAL;
	*out = waker->vtable->clone(waker->data);
	if (out->vtable == NULL) {
		out->data = NULL;
		return AK_ENOMEM;
	}
	return 0;
}

AK_EXPORT void ak_waker_wake(struct ak_waker *waker)
{
	if (!waker || !waker->vtable)
		return;
	struct ak_waker w = *waker;
	waker->data = NULL;
	waker->vtable = NULL;
	w.vtable->wake(w.data);
}

AK_EXPORT void ak_waker_wake_by_ref(const struct ak_waker *waker)
{
	if (waker && waker->vtable)
		waker->vtable->wake_by_ref(waker->data);
}

AK_EXPORT void ak_waker_drop(struct ak_waker *waker)
{
	if (!waker || !waker->vtable)
		return;
	struct ak_waker w = *waker;
	waker->data = NULL;
	waker->vtable = NULL;
	w.vtable->drop(w.data);
}

int ak__waker_rekeep(struct ak_waker *kept, const struct ak_waker *w)
{
	if (ak__waker_same(kept, w))
		return 0;
	struct ak_waker nw;
	if (ak__waker_keep(w, &nw) != 0)
		return AK_ENOMEM;
	ak__waker_drop_kept(kept);
	*kept = nw;
	return 0;
}
