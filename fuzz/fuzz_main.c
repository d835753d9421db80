/*
 * fuzz_main.c: the libFuzzer entry, the simulated tasks and their
 * counting wakers, and the semaphore model the locks share.
 * See awaitkit-fuzz(7) for the input format and how to run it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

struct ftask ftasks[NTASK];
const char *fz_opname = "setup";
size_t fz_opindex;
unsigned fz_value;

static const struct ak_waker_vtable fz_vtable;

static struct ak_waker waker_of(struct ftask *t)
{
	return (struct ak_waker){ .data = t, .vtable = &fz_vtable };
}

static struct ak_waker cw_clone(const void *data)
{
	struct ftask *t = (struct ftask *)(uintptr_t)data;
	t->clones++;
	t->live++;
	return waker_of(t);
}

static void cw_release(struct ftask *t)
{
	if (t->live <= 0)
		t->underflows++;
	t->live--;
}

static void cw_wake(const void *data)
{
	struct ftask *t = (struct ftask *)(uintptr_t)data;
	t->wakes++;
	cw_release(t);
}

static void cw_wake_by_ref(const void *data)
{
	((struct ftask *)(uintptr_t)data)->wakes_by_ref++;
}

static void cw_drop(const void *data)
{
	struct ftask *t = (struct ftask *)(uintptr_t)data;
	t->drops++;
	cw_release(t);
}

static const struct ak_waker_vtable fz_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = cw_clone,
	.wake = cw_wake,
	.wake_by_ref = cw_wake_by_ref,
	.drop = cw_drop,
};

int fz_poll(int t, struct ak_future *f)
{
	struct ak_context cx;
	if (ak_context_init(&cx, waker_of(&ftasks[t]), &ftasks[t].slot) != 0)
		fz_fail("ak_context_init refused the counting waker");
	int rc = ak_future_poll(f, &cx);
	return ak_context_done(&cx, rc);
}

long fz_wakes(int t)
{
	return ftasks[t].wakes + ftasks[t].wakes_by_ref;
}

void fz_parked(struct fwait *w, int t)
{
	w->task = t;
	w->snap = fz_wakes(t);
}

void fz_expect_woken(const struct fwait *w, const char *what)
{
	if (w->task >= 0 && fz_wakes(w->task) == w->snap)
		fz_fail("%s: lost wakeup: task %d parked it and was not woken", what, w->task);
}

_Noreturn void fz_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fuzz: MISMATCH at operation %zu (%s): ", fz_opindex, fz_opname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- the fair semaphore model ------------------------------------------ */

static void msem_grant(struct msem *s, const char *what)
{
	while (s->nq > 0 && s->avail > 0) {
		struct mwaiter *h = s->q[0];
		uint64_t give = h->need - h->got;
		if (give > s->avail)
			give = s->avail;
		h->got += give;
		s->avail -= give;
		if (h->got < h->need)
			break;
		h->state = MW_GRANTED;
		memmove(s->q, s->q + 1, (size_t)(--s->nq) * sizeof(s->q[0]));
		fz_expect_woken(&h->w, what);
	}
}

int msem_try(struct msem *s, uint64_t n)
{
	if (s->closed)
		return AK_EPIPE;
	if (s->nq > 0 || s->avail < n)
		return AK_EAGAIN;
	s->avail -= n;
	return 0;
}

int msem_acquire(struct msem *s, struct mwaiter *w, uint64_t n, int t)
{
	w->need = n;
	w->got = 0;
	if (s->closed) {
		w->state = MW_IDLE;
		return AK_EPIPE;
	}
	if (s->nq == 0 && s->avail >= n) {
		s->avail -= n;
		w->state = MW_IDLE;
		return 0;
	}
	if (s->nq >= MS_MAXW)
		fz_fail("semaphore model: more than %d waiters", MS_MAXW);
	/* Nobody waits when permits are available: take what there is. */
	w->got = s->avail;
	s->avail = 0;
	w->state = MW_QUEUED;
	fz_parked(&w->w, t);
	s->q[s->nq++] = w;
	return AK_PENDING;
}

void msem_release(struct msem *s, uint64_t n, const char *what)
{
	s->avail += n;
	msem_grant(s, what);
}

void msem_cancel(struct msem *s, struct mwaiter *w, const char *what)
{
	uint64_t back = 0;
	if (w->state == MW_QUEUED) {
		for (int i = 0; i < s->nq; i++)
			if (s->q[i] == w) {
				memmove(s->q + i, s->q + i + 1,
				        (size_t)(s->nq - i - 1) * sizeof(s->q[0]));
				s->nq--;
				break;
			}
		back = w->got;
	} else if (w->state == MW_GRANTED) {
		back = w->need;
	} else if (w->state == MW_CLOSED) {
		back = w->got;
	}
	w->state = MW_IDLE;
	msem_release(s, back, what);
}

int msem_closed_poll(struct msem *s, struct mwaiter *w)
{
	msem_release(s, w->got, "semaphore: a closed waiter's permits go back");
	w->got = 0;
	w->state = MW_IDLE;
	return AK_EPIPE;
}

void msem_close(struct msem *s, const char *what)
{
	s->closed = 1;
	for (int i = 0; i < s->nq; i++) {
		struct mwaiter *w = s->q[i];
		w->state = MW_CLOSED;
		fz_expect_woken(&w->w, what);
	}
	s->nq = 0;
}

/* ---- the driver --------------------------------------------------------- */

static const struct fprim *const prims[] = {
	&fz_mpsc_bounded, &fz_mpsc_unbounded, &fz_oneshot, &fz_broadcast,
	&fz_watch, &fz_mutex, &fz_semaphore, &fz_notify,
};
#define NPRIM (sizeof(prims) / sizeof(prims[0]))
/* Operation code 31 of any primitive tears it down and sets it up anew. */
#define OP_RESET 31

static void check_all(void)
{
	for (size_t i = 0; i < NPRIM; i++)
		prims[i]->check();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ak_debug_counts before, after;
	static int trace = -1;
	if (trace < 0)
		trace = getenv("FUZZ_TRACE") != NULL;
	ak_debug_counters(&before);
	memset(ftasks, 0, sizeof(ftasks));
	fz_value = 1;
	fz_opindex = 0;
	fz_opname = "setup";
	/* The first NPRIM bytes configure the primitives (capacities...). */
	for (size_t i = 0; i < NPRIM; i++)
		prims[i]->setup(i < size ? data[i] : 0);
	size_t pos = size < NPRIM ? size : NPRIM;
	for (; pos + 1 < size; pos += 2) {
		unsigned a = data[pos], arg = data[pos + 1];
		const struct fprim *p = prims[a % NPRIM];
		unsigned op = a / NPRIM;
		fz_opindex++;
		if (trace)
			fprintf(stderr, "fuzz: %zu: %s op %u arg %u (0x%02x 0x%02x)\n",
			        fz_opindex, p->name, op, arg, a, arg);
		if (op == OP_RESET) {
			fz_opname = "reset";
			p->teardown();
			p->setup(arg);
		} else {
			p->apply(op, arg);
		}
		check_all();
	}
	fz_opname = "teardown";
	for (size_t i = 0; i < NPRIM; i++)
		prims[i]->teardown();
	for (int t = 0; t < NTASK; t++) {
		FZ_EQ("waker clones not given back", ftasks[t].live, 0);
		FZ_EQ("waker released more often than cloned", ftasks[t].underflows, 0);
	}
	ak_debug_counters(&after);
	FZ_EQ("ak_debug_counters: waker clones", after.waker_clones, before.waker_clones);
	FZ_EQ("ak_debug_counters: parked operations", after.parked_ops, before.parked_ops);
	FZ_EQ("ak_debug_counters: live objects", after.live_objects, before.live_objects);
	return 0;
}
