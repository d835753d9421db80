/*
 * runtime/co.c: coroutine tasks (include/awaitkit/co.h, ak_co(3)): a
 * future whose poll runs a C function on a stack of its own.
 *
 * The record is the future.  Its phases:
 *
 *   NEW        made, never polled: no stack yet (a cancel or a free costs
 *              nothing and runs nothing)
 *   RUNNING    a poll (or the cancel) has switched in: the body runs
 *   SUSPENDED  the body waits in ak_co_await() on `awaiting`; the poll
 *              that switched in has returned AK_PENDING
 *   DONE       the body returned (result set) or never ran; the stack is
 *              back in the shim's cache
 *
 * A poll switches in (resume), the body runs until ak_co_await() finds its
 * future pending and switches out (suspend), or until it returns (the last
 * switch, which never comes back).  The sanitizers are told of every
 * switch first (core/shim.h, "fibers"), then the stack pointer moves
 * (ak__co_switch() of co.h, or ucontext).  A suspended body's next poll
 * polls the awaited future first, from here: a wake that finds it still
 * pending costs no switch, and one that finds it done switches in with its
 * result (await_rc).
 *
 * The inline switch.  Where co.h switches inline (x86-64, this file built
 * without a sanitizer and without ucontext: CO_INLINE), the body's
 * ak_co_await() is co.h's loop over ak_co_await_step(): the step polls and
 * returns AK_PENDING to the body, which switches out itself, so no return
 * crosses a switch (co.h says why that matters).  Elsewhere the step
 * suspends here, with the sanitizers' hooks, and never answers AK_PENDING.
 *
 * Threads.  A suspended body may be resumed by another thread (a pool's
 * worker, a canceller): every function whose frame spans a switch
 * (ak_co_await, ak_co_await_step, suspend, ak__co_main) touches no
 * thread-local storage, so no thread-local address computed before a
 * switch is used after it.  The polls of a future are serialized by
 * whoever drives it, which orders the record's plain fields between
 * threads.
 *
 * Cancel.  A SUSPENDED coroutine's cancel cancels the future it awaits,
 * then resumes the body once on the canceller's thread, in a context of
 * its own (the noop waker, no task slot, blocking calls refused): there
 * the pending ak_co_await and every later one return AK_ECANCELED at once,
 * so the body releases what it holds and returns.
 */
#include <stdint.h>

#include <awaitkit/co.h>

#include "task.h"

#if !defined(__x86_64__) || defined(AK_CO_UCONTEXT)
#define CO_UCONTEXT 1
#include <ucontext.h>
#elif !defined(AK__TSAN) && !defined(AK__ASAN)
#define CO_INLINE 1
#endif

enum { CO_NEW, CO_RUNNING, CO_SUSPENDED, CO_DONE };

struct ak_co {
	struct ak_future future;        /* first: the record is the future */
	ak_co_fn fn;
	void *arg;
	size_t stack_size;              /* usable bytes asked */
	char *stack;                    /* lowest usable byte; NULL: none */
	size_t stack_bytes;             /* as mapped */
	struct ak_context *cx;          /* the poll in progress */
	struct ak_future *awaiting;     /* SUSPENDED: what the body waits on */
	int await_rc;                   /* awaiting's result, polled from here */
	int phase;
	int cancelled;                  /* the body runs its cancel phase */
	int spawned;                    /* its task frees it (ak_co_spawn) */
	int result;
	/* The sanitizers' view: this coroutine's fiber and its poller's
	 * (TSan), the stack it was resumed from and its fake stack (ASan). */
	void *fiber, *caller_fiber;
	const void *caller_bottom;
	size_t caller_size;
	void *fake_stack;
#ifdef CO_UCONTEXT
	ucontext_t uc, caller_uc;
#else
	void *sp, *caller_sp;           /* saved stack pointers; co.h's sw */
#endif
};

void ak__co_main(struct ak_co *co) __attribute__((noreturn, used));

static struct ak_co *co_of(struct ak_future *f)
{
	return (struct ak_co *)(void *)f;
}

/* ---- switching ---------------------------------------------------------------- */

#ifdef CO_UCONTEXT
static void uc_entry(unsigned lo, unsigned hi)
{
	ak__co_main((struct ak_co *)(((uintptr_t)hi << 32) | lo));
}

static void frame_init(struct ak_co *co)
{
	uintptr_t p = (uintptr_t)co;
	getcontext(&co->uc);
	co->uc.uc_stack.ss_sp = co->stack;
	co->uc.uc_stack.ss_size = co->stack_bytes;
	co->uc.uc_link = NULL;
	makecontext(&co->uc, (void (*)(void))uc_entry, 2, (unsigned)p,
	            (unsigned)(p >> 32));
}

static inline __attribute__((always_inline)) void raw_in(struct ak_co *co)
{
	swapcontext(&co->caller_uc, &co->uc);
}

static inline __attribute__((always_inline)) void raw_out(struct ak_co *co)
{
	swapcontext(&co->uc, &co->caller_uc);
}
#else
void ak__co_boot(void);

/* The frame a fresh stack starts with, for ak__co_switch() (co.h) to pop:
 * the resume address, ak__co_boot (runtime/co_switch_x86_64.S), then the
 * coroutine, which boot reads; the stack is 16-byte aligned after the
 * pop, for boot's call. */
static void frame_init(struct ak_co *co)
{
	uintptr_t top = ((uintptr_t)co->stack + co->stack_bytes) & ~(uintptr_t)15;
	void **sp = (void **)(top - 24);
	sp[0] = (void *)(uintptr_t)ak__co_boot;
	sp[1] = co;
	sp[2] = NULL;
	co->sp = sp;
}

static inline __attribute__((always_inline)) void raw_in(struct ak_co *co)
{
	ak__co_switch(&co->caller_sp, co->sp);
}

static inline __attribute__((always_inline)) void raw_out(struct ak_co *co)
{
	ak__co_switch(&co->sp, co->caller_sp);
}
#endif

/* The poller's side: runs the body until it suspends or returns. */
static void resume(struct ak_co *co)
{
	void *fake = NULL;
	co->phase = CO_RUNNING;
	co->caller_fiber = ak__fiber_current();
	ak__stack_switch_start(&fake, co->stack, co->stack_bytes);
	ak__fiber_switch(co->fiber);
	raw_in(co);
	ak__stack_switch_finish(fake, NULL, NULL);
}

/* The body's side, on its own stack: back to the poller until resumed.
 * No thread-local storage here: the resumer may be another thread. */
static void suspend(struct ak_co *co)
{
	co->phase = CO_SUSPENDED;
	ak__stack_switch_start(&co->fake_stack, co->caller_bottom, co->caller_size);
	ak__fiber_switch(co->caller_fiber);
	raw_out(co);
	ak__stack_switch_finish(co->fake_stack, &co->caller_bottom, &co->caller_size);
}

void ak__co_main(struct ak_co *co)
{
	ak__stack_switch_finish(NULL, &co->caller_bottom, &co->caller_size);
	int rc = co->fn(co, co->arg);
	co->result = rc > 0 ? AK_EINVAL : rc;
	co->phase = CO_DONE;
	/* The last switch: NULL tells ASan this stack's frames are gone. */
	ak__stack_switch_start(NULL, co->caller_bottom, co->caller_size);
	ak__fiber_switch(co->caller_fiber);
	raw_out(co);
	__builtin_unreachable();
}

/* ---- the future ------------------------------------------------------------------ */

static int start(struct ak_co *co)
{
	co->stack = ak__stack_get(co->stack_size, &co->stack_bytes);
	if (!co->stack)
		return AK_ENOMEM;
	co->fiber = ak__fiber_create();
	if (!co->fiber) {
		ak__stack_put(co->stack, co->stack_bytes);
		co->stack = NULL;
		return AK_ENOMEM;
	}
	frame_init(co);
	return 0;
}

/* After the body returned: its stack back to this thread's cache. */
static void retire(struct ak_co *co)
{
	ak__fiber_destroy(co->fiber);
	co->fiber = NULL;
	ak__stack_put(co->stack, co->stack_bytes);
	co->stack = NULL;
}

static int co_poll(struct ak_future *f, struct ak_context *cx)
{
	struct ak_co *co = co_of(f);

	if (co->phase == CO_NEW) {
		int rc = start(co);
		if (rc != 0) {
			co->phase = CO_DONE;
			return co->result = rc;
		}
	} else if (co->awaiting) {
		/* Suspended: only a result is worth a switch. */
		int rc = ak_future_poll(co->awaiting, cx);
		if (rc == AK_PENDING)
			return AK_PENDING;
		co->await_rc = rc;
	}
	co->cx = cx;
	resume(co);
	co->cx = NULL;
	if (co->phase != CO_DONE)
		return AK_PENDING;
	retire(co);
	return co->result;
}

static void co_cancel(struct ak_future *f)
{
	struct ak_co *co = co_of(f);
	struct ak_context cx;

	if (co->phase == CO_NEW) {
		co->phase = CO_DONE;
		co->result = AK_ECANCELED;
		return;
	}
	if (co->phase != CO_SUSPENDED)
		return;         /* done, or a cancel from inside its own body */
	co->cancelled = 1;
	/* First what it waits on: whatever that was granted meanwhile goes
	 * to the next waiter before the body releases what it holds. */
	ak_future_cancel(co->awaiting);
	ak__context_enter(&cx, ak_waker_noop(), NULL);
	co->cx = &cx;
	resume(co);
	co->cx = NULL;
	ak__context_leave(&cx, 0);
	/* ak_co_await() never suspends a cancelled body: it has returned. */
	retire(co);
}

static const struct ak_future_vtable co_vtable = { co_poll, co_cancel };

/* Not inlined into ak_co_await(), whose frame spans switches: whatever
 * thread-local state a poll reads is looked up afresh, on this thread. */
__attribute__((noinline)) static int poll_on(struct ak_future *f,
                                             struct ak_context *cx)
{
	return ak_future_poll(f, cx);
}

static int on_own_stack(const struct ak_co *co)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t lo = (uintptr_t)co->stack;
	return co->phase == CO_RUNNING && here >= lo && here < lo + co->stack_bytes;
}

/* The first half of an await: the result, or AK_PENDING with the body to
 * suspend on f. */
static int await_begin(struct ak_co *co, struct ak_future *f)
{
	if (co->cancelled) {
		ak_future_cancel(f);
		return AK_ECANCELED;
	}
	int rc = poll_on(f, co->cx);
	if (rc == AK_PENDING)
		co->awaiting = f;
	return rc;
}

/* The second, once resumed: co_poll() polled the future to its result,
 * or co_cancel() cancelled it. */
static int await_end(struct ak_co *co)
{
	co->awaiting = NULL;
	return co->cancelled ? AK_ECANCELED : co->await_rc;
}

AK_EXPORT int ak_co_await_step(struct ak_co *co, struct ak_future *f, void ***sw)
{
	if (!co || !f || !sw || !on_own_stack(co))
		return AK_EINVAL;
	if (co->awaiting)
		return await_end(co);   /* back from the body's own switch */
	int rc = await_begin(co, f);
	if (rc != AK_PENDING)
		return rc;
#ifdef CO_INLINE
	co->phase = CO_SUSPENDED;
	*sw = &co->sp;
	return AK_PENDING;
#else
	suspend(co);
	return await_end(co);
#endif
}

/* Parenthesized: co.h may make ak_co_await() a macro over the step. */
AK_EXPORT int(ak_co_await)(struct ak_co *co, struct ak_future *f)
{
	if (!co || !f || !on_own_stack(co))
		return AK_EINVAL;
	int rc = await_begin(co, f);
	if (rc != AK_PENDING)
		return rc;
	suspend(co);
	return await_end(co);
}

AK_EXPORT int ak_co_cancelled(const struct ak_co *co)
{
	return co ? co->cancelled : AK_EINVAL;
}

AK_EXPORT int ak_co_pin(struct ak_co *co)
{
	if (!co || !on_own_stack(co))
		return AK_EINVAL;
	if (co->cancelled)
		return 0;       /* the cancel phase is no poll: nothing to pin */
	/* A task of a pool is pinned.  Any other poll runs on one thread
	 * already (the single-thread executor, the adapters' loops,
	 * block_on), or on an executor of the user's, which decides itself
	 * where its tasks run. */
	struct ak_task *t = ak__task_current();
	if (t)
		ak__pool_pin(t);
	return 0;
}

/* ---- making, freeing, spawning ------------------------------------------------- */

AK_EXPORT int ak_co_new(ak_co_fn fn, void *arg, size_t stack_size,
                        struct ak_co **out)
{
	if (!fn || !out)
		return AK_EINVAL;
	if (stack_size == 0)
		stack_size = AK_CO_STACK_DEFAULT;
	else if (stack_size < AK_CO_STACK_MIN)
		stack_size = AK_CO_STACK_MIN;
	else if (stack_size > SIZE_MAX / 4)
		return AK_EINVAL;
	struct ak_co *co = ak__alloc(sizeof(*co));
	if (!co)
		return AK_ENOMEM;
	co->fn = fn;
	co->arg = arg;
	co->stack_size = stack_size;
	co->phase = CO_NEW;
	ak_future_init(&co->future, &co_vtable);
	*out = co;
	return 0;
}

AK_EXPORT struct ak_future *ak_co_future(struct ak_co *co)
{
	return co ? &co->future : NULL;
}

AK_EXPORT size_t ak_co_stack_size(const struct ak_co *co)
{
	return co ? co->stack_size : 0;
}

static void destroy(struct ak_co *co)
{
	ak__free_sized(co, sizeof(*co));
}

AK_EXPORT int ak_co_free(struct ak_co *co)
{
	if (!co || co->spawned)
		return AK_EINVAL;
	int phase = ak_future_state(&co->future) & (int)AK_FUTURE_PHASE_MASK;
	if (co->phase == CO_RUNNING ||
	    ((co->future.state & AK_FUTURE_OWNED) && phase != AK_FUTURE_DONE))
		return AK_EBUSY;
	/* Dropping a suspended coroutine cancels it (its cancel phase runs
	 * here); one never polled just goes. */
	if (co->phase == CO_SUSPENDED)
		ak_future_cancel(&co->future);
	destroy(co);
	return 0;
}

static void body_free(struct ak_future *f)
{
	destroy(co_of(f));
}

static int spawned_new(ak_co_fn fn, void *arg, struct ak_co **out)
{
	int rc = ak_co_new(fn, arg, 0, out);
	if (rc == 0)
		(*out)->spawned = 1;
	return rc;
}

AK_EXPORT int ak_co_spawn_executor(struct ak_executor *ex, ak_co_fn fn, void *arg,
                                   struct ak_task **task)
{
	struct ak_co *co;
	if (!ex)
		return AK_EINVAL;
	int rc = spawned_new(fn, arg, &co);
	if (rc == 0 && (rc = ak__executor_spawn(ex, &co->future, task, body_free)) != 0)
		destroy(co);
	return rc;
}

AK_EXPORT int ak_co_spawn_pool(struct ak_pool *pool, ak_co_fn fn, void *arg,
                               struct ak_task **task)
{
	struct ak_co *co;
	if (!pool)
		return AK_EINVAL;
	int rc = spawned_new(fn, arg, &co);
	if (rc == 0 && (rc = ak__pool_spawn(pool, &co->future, task, body_free)) != 0)
		destroy(co);
	return rc;
}

AK_EXPORT int ak_co_block_on(ak_co_fn fn, void *arg, int64_t deadline)
{
	struct ak_co *co;
	int rc = ak_co_new(fn, arg, 0, &co);
	if (rc != 0)
		return rc;
	rc = ak_block_on(&co->future, deadline);
	ak_co_free(co);
	return rc;
}
