/*
 * awaitkit: coroutine tasks, a task body that reads like an async
 * function.  See ak_co(3).
 *
 * A coroutine is a future whose poll runs a plain C function on a stack of
 * its own.  Inside it, ak_co_await() polls any future with the poll's
 * context; while that future is pending the coroutine switches back, its
 * poll returns AK_PENDING, and the next poll switches in and polls again.
 * Locals, loops and early returns work as in any function; the function's
 * return value is the coroutine's result.  It runs on every executor
 * (ak_executor, ak_pool, ak_block_on, a user's own), and may resume on
 * another thread than the one it left, unless it pins itself (ak_co_pin).
 *
 * Synchronization contract:
 *
 *   call                     thread
 *   ak_co_new                any
 *   ak_co_future             any
 *   ak_co_free               any, once, when the coroutine is not being
 *                            polled or cancelled (AK_EBUSY while a task
 *                            or combinator owns it unfinished)
 *   ak_co_spawn,             any thread ak_executor_spawn or
 *   ak_co_spawn_executor,    ak_pool_spawn accepts
 *   ak_co_spawn_pool
 *   ak_co_block_on           a thread outside any poll
 *   ak_co_await,             inside the coroutine's own body, with the
 *   ak_co_await_step and     co it was given
 *   every ak_co_<op> wrapper
 *   ak_co_cancelled,         inside the body
 *   ak_co_pin
 *   ak_co_stack_size         any
 *
 * Ordering: what a thread did before a poll of the coroutine happens-before
 * the body's code that this poll runs (the executor orders its polls); the
 * body's return happens-before a join that sees the task finished.
 */
#ifndef AK_CO_H
#define AK_CO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <awaitkit/block_on.h>
#include <awaitkit/blocking.h>
#include <awaitkit/broadcast.h>
#include <awaitkit/executor.h>
#include <awaitkit/future.h>
#include <awaitkit/mpsc.h>
#include <awaitkit/mutex.h>
#include <awaitkit/oneshot.h>
#include <awaitkit/pool.h>
#include <awaitkit/select.h>
#include <awaitkit/task.h>
#include <awaitkit/timeout.h>
#include <awaitkit/timer.h>
#include <awaitkit/watch.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ak_co;

/* The body: its return value (0 or a negative error) is the result; a
 * positive value is reported as AK_EINVAL. */
typedef int (*ak_co_fn)(struct ak_co *co, void *arg);

/* Stack sizes: 0 asks for the default; smaller requests are raised to the
 * minimum.  One guard page below each stack is not counted. */
#define AK_CO_STACK_DEFAULT (256 * 1024)
#define AK_CO_STACK_MIN (16 * 1024)

int ak_co_new(ak_co_fn fn, void *arg, size_t stack_size, struct ak_co **out);
struct ak_future *ak_co_future(struct ak_co *co);
int ak_co_free(struct ak_co *co);
size_t ak_co_stack_size(const struct ak_co *co);

int ak_co_await(struct ak_co *co, struct ak_future *f);
int ak_co_cancelled(const struct ak_co *co);
/* Keeps the rest of the body on the thread running it now: on a pool, the
 * task it runs in is polled on this worker only; elsewhere nothing to do.
 * 0, or AK_EINVAL outside the body. */
int ak_co_pin(struct ak_co *co);
/* ak_co_await() a step at a time, for its inline form below: the result,
 * or AK_PENDING when the body is to switch out itself through *sw (then
 * step again once it is back). */
int ak_co_await_step(struct ak_co *co, struct ak_future *f, void ***sw);

int ak_co_spawn_executor(struct ak_executor *ex, ak_co_fn fn, void *arg,
                         struct ak_task **task);
int ak_co_spawn_pool(struct ak_pool *pool, ak_co_fn fn, void *arg,
                     struct ak_task **task);
int ak_co_block_on(ak_co_fn fn, void *arg, int64_t deadline);

/* ---- the inline switch -------------------------------------------------------
 * A return whose call was made on the other stack is mispredicted by the
 * processor's return-address predictor: with the switch in a function of
 * the library, each poll of a coroutine paid four such returns, and a
 * coroutine task took twice the time of the same task written as a state
 * machine (issue 19).  So on x86-64 with GCC or clang the switch is inline
 * asm, and a body's ak_co_await() switches out in the body itself, once
 * ak_co_await_step() has returned: no return crosses a switch, and the two
 * indirect jumps that do are learned by the branch-target predictor.  The
 * library answers AK_PENDING from the step only when it was built to
 * switch this way (not with a sanitizer, not with CO_SWITCH=ucontext);
 * otherwise the step waits inside the library.  A translation unit built
 * with a sanitizer, or with AK_CO_NO_INLINE_SWITCH defined, calls the
 * function ak_co_await() instead.
 *
 * The switch: steps over the red zone, pushes rbp and its resume address,
 * stores the stack pointer in *save (sw[0]), loads `to` (sw[1]), pops the
 * other side's resume address and jumps to it.  Every other register is
 * clobbered: the compiler keeps nothing in one across the switch, and the
 * other side may use them all.  The floating-point control words are the
 * thread's (ak_co(3)).  Part of the ABI between this header and the
 * library, as is a fresh stack's first frame (runtime/co.c).
 */
#if defined(__x86_64__) && defined(__LP64__) && defined(__GNUC__)
#if defined(__AVX512F__)
#define AK__CO_CLOBBER_AVX512 , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",  \
	"xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",        \
	"xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5",     \
	"k6", "k7"
#else
#define AK__CO_CLOBBER_AVX512
#endif
static inline __attribute__((always_inline)) void ak__co_switch(void **save, void *to)
{
	__asm__ volatile(
		"leaq -128(%%rsp), %%rsp\n\t"
		"pushq %%rbp\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"movq %%rsp, (%%rdi)\n\t"
		"movq %%rsi, %%rsp\n\t"
		"popq %%rax\n\t"
		"jmpq *%%rax\n"
		"1:\n\t"
		"popq %%rbp\n\t"
		"leaq 128(%%rsp), %%rsp"
		: "+D"(save), "+S"(to)
		:
		: "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12",
		  "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
		  "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		  "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)",
		  "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "fpsr", "memory",
		  "cc" AK__CO_CLOBBER_AVX512);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AK__CO_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define AK__CO_SANITIZED 1
#endif
#endif

#if !defined(AK__CO_SANITIZED) && !defined(AK_CO_NO_INLINE_SWITCH)
static inline __attribute__((always_inline)) int
ak__co_await_inline(struct ak_co *co, struct ak_future *f)
{
	void **sw = 0;
	int rc;

	while ((rc = ak_co_await_step(co, f, &sw)) == AK_PENDING)
		ak__co_switch(&sw[0], sw[1]);
	return rc;
}
#define ak_co_await(co, f) ak__co_await_inline((co), (f))
#endif
#endif

/* ---- awaiting the common operations --------------------------------------
 * Each binds an operation on the body's stack (a local: it survives the
 * wait), awaits it and returns its result.  The storage is zeroed first:
 * ak_future_init() refuses what looks parked.
 */

static inline int ak_co_yield(struct ak_co *co)
{
	struct ak_yield_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_yield_init(&op);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_sleep_until(struct ak_co *co, int64_t deadline)
{
	struct ak_sleep_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_sleep_until(&op, deadline);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_sleep_for(struct ak_co *co, int64_t duration_ns)
{
	return ak_co_sleep_until(co, ak_deadline_in(duration_ns));
}

/* Durations in nanoseconds, the unit of every duration and deadline:
 * Duration::from_millis(n) and Duration::from_secs(n). */
#define AK_MS(n) ((int64_t)(n) * 1000000)
#define AK_SEC(n) ((int64_t)(n) * 1000000000)

/* f with a deadline: its result, or AK_ETIMEDOUT (f cancelled). */
static inline int ak_co_timeout(struct ak_co *co, struct ak_future *f,
                                int64_t duration_ns)
{
	struct ak_timeout_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_timeout_init(&op, f, ak_deadline_in(duration_ns));
	return rc ? rc : ak_co_await(co, &op.future);
}

/* The task's result.  Consumes the handle, as awaiting a JoinHandle does:
 * task is released whatever the outcome (an unfinished one runs on). */
static inline int ak_co_join(struct ak_co *co, struct ak_task *task)
{
	struct ak_task_join_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_task_join_init(&op, task);
	if (rc == 0)
		rc = ak_co_await(co, &op.future);
	ak_task_release(task);
	return rc;
}

/* A JoinHandle as a future: a branch of select, join or try_join that
 * joins task, with op (the caller's storage) bound to it.  A failed bind
 * leaves op zeroed, which the combinator refuses with AK_EINVAL. */
static inline struct ak_branch ak_co_join_branch(struct ak_task_join_op *op,
                                                 struct ak_task *task)
{
	struct ak_branch b = { &op->future, 0, 0 };

	memset(op, 0, sizeof *op);
	if (ak_task_join_init(op, task) != 0)
		memset(op, 0, sizeof *op);
	return b;
}

/* A branch of select, join or try_join that receives from rx into out
 * (tokio's rx.recv()), op bound to it as ak_co_join_branch() binds. */
static inline struct ak_branch ak_co_recv_branch(struct ak_mpsc_recv_op *op,
                                                 struct ak_mpsc_rx *rx, void *out)
{
	struct ak_branch b = { &op->future, 0, 0 };

	memset(op, 0, sizeof *op);
	if (ak_mpsc_recv_init(op, rx, out) != 0)
		memset(op, 0, sizeof *op);
	return b;
}

/* A branch that completes duration_ns from now (tokio's sleep(d)). */
static inline struct ak_branch ak_co_sleep_branch(struct ak_sleep_op *op,
                                                  int64_t duration_ns)
{
	struct ak_branch b = { &op->future, 0, 0 };

	memset(op, 0, sizeof *op);
	if (ak_sleep_for(op, duration_ns) != 0)
		memset(op, 0, sizeof *op);
	return b;
}

/* spawn_blocking(fn).await: fn's result. */
static inline int ak_co_blocking(struct ak_co *co, ak_blocking_fn fn, void *arg)
{
	struct ak_task *task;
	int rc = ak_blocking_spawn(fn, arg, &task);
	return rc ? rc : ak_co_join(co, task);
}

static inline int ak_co_send(struct ak_co *co, struct ak_mpsc_tx *tx,
                             const void *value)
{
	struct ak_mpsc_send_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_mpsc_send_init(&op, tx, value);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_recv(struct ak_co *co, struct ak_mpsc_rx *rx, void *out)
{
	struct ak_mpsc_recv_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_mpsc_recv_init(&op, rx, out);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_oneshot_recv(struct ak_co *co, struct ak_oneshot_rx *rx,
                                     void *out)
{
	struct ak_oneshot_recv_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_oneshot_recv_init(&op, rx, out);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_broadcast_recv(struct ak_co *co,
                                       struct ak_broadcast_rx *rx, void *out,
                                       uint64_t *missed)
{
	struct ak_broadcast_recv_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_broadcast_recv_init(&op, rx, out, missed);
	return rc ? rc : ak_co_await(co, &op.future);
}

static inline int ak_co_watch_changed(struct ak_co *co,
                                      struct ak_watch_receiver *rx)
{
	struct ak_watch_changed_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_watch_changed_init(&op, rx);
	return rc ? rc : ak_co_await(co, &op.future);
}

/* The lock: op is the guard (ak_mutex_unlock(op)); the macro records the
 * caller's line as the acquisition site. */
static inline int ak_co_lock_at(struct ak_co *co, struct ak_mutex_lock_op *op,
                                struct ak_mutex *m, const char *file, int line)
{
	memset(op, 0, sizeof *op);
	int rc = ak_mutex_lock_init_at(op, m, file, line);
	return rc ? rc : ak_co_await(co, &op->future);
}
#define ak_co_lock(co, op, m) ak_co_lock_at((co), (op), (m), __FILE__, __LINE__)

/* select!: the index of the branch that won, or a negative error.  With
 * AK_SELECT_KEEP the losers come back to the caller pending (the op, a
 * local, lets them go). */
static inline int ak_co_select(struct ak_co *co, struct ak_branch *branches,
                               size_t n, unsigned flags)
{
	struct ak_select_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_select_init(&op, branches, n, flags);
	if (rc == 0)
		rc = ak_co_await(co, &op.future);
	if (rc < 0)
		return rc;
	rc = ak_select_index(&op);
	ak_select_release(&op);
	return rc;
}

/* join!: 0 once every branch has completed (see each branch's status). */
static inline int ak_co_join_all(struct ak_co *co, struct ak_branch *branches,
                                 size_t n)
{
	struct ak_join_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_join_init(&op, branches, n, 0);
	return rc ? rc : ak_co_await(co, &op.future);
}

/* try_join!: 0, or the first failure (*failed, if not NULL: its index, or
 * -1 when no branch failed). */
static inline int ak_co_try_join(struct ak_co *co, struct ak_branch *branches,
                                 size_t n, int *failed)
{
	struct ak_try_join_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_try_join_init(&op, branches, n, 0);
	if (rc == 0)
		rc = ak_co_await(co, &op.future);
	if (failed)
		*failed = rc < 0 && ak_try_join_index(&op) >= 0 ? ak_try_join_index(&op) : -1;
	return rc;
}

/* timeout(d, try_join!(...)): 0, the first failure, or AK_ETIMEDOUT once
 * timeout_ns have passed (the branches left running cancelled). */
static inline int ak_co_try_join_timeout(struct ak_co *co, struct ak_branch *branches,
                                         size_t n, int64_t timeout_ns, int *failed)
{
	struct ak_try_join_op op;
	memset(&op, 0, sizeof op);
	int rc = ak_try_join_init(&op, branches, n, 0);
	if (rc == 0)
		rc = ak_co_timeout(co, &op.future, timeout_ns);
	if (failed)
		*failed = rc < 0 && ak_try_join_index(&op) >= 0 ? ak_try_join_index(&op) : -1;
	return rc;
}

/* ---- the program's main coroutine ---------------------------------------
 * #[tokio::main]: fn runs on the calling thread as the program's main
 * coroutine, with a runtime made for it as arg, freed (its unfinished tasks
 * cancelled) once fn has returned.  The result is fn's, or the first error
 * of making or freeing the runtime.
 */

/* The multi-thread flavour: arg is a new pool of nworkers (0: one per
 * CPU), and fn is driven by ak_co_block_on(). */
static inline int ak_co_main_pool(int nworkers, ak_co_fn fn)
{
	struct ak_pool *pool;
	int rc = ak_pool_new(&pool, nworkers);

	if (rc != 0)
		return rc;
	rc = ak_co_block_on(fn, pool, AK_DEADLINE_NEVER);
	int free_rc = ak_pool_free(pool);
	return rc != 0 ? rc : free_rc;
}

/* The current_thread flavour: arg is a new executor, and fn is its main
 * task, run with every task spawned on it by ak_executor_run_until(). */
static inline int ak_co_main_executor(ak_co_fn fn)
{
	struct ak_executor *ex;
	struct ak_co *co;
	int rc = ak_executor_new(&ex);

	if (rc != 0)
		return rc;
	rc = ak_co_new(fn, ex, 0, &co);
	if (rc == 0) {
		rc = ak_executor_run_until(ex, ak_co_future(co), AK_DEADLINE_NEVER);
		ak_co_free(co);
	}
	int free_rc = ak_executor_free(ex);
	return rc != 0 ? rc : free_rc;
}

#ifdef __cplusplus
}
static inline int ak_co_spawn(struct ak_executor *ex, ak_co_fn fn, void *arg,
                              struct ak_task **task)
{
	return ak_co_spawn_executor(ex, fn, arg, task);
}
static inline int ak_co_spawn(struct ak_pool *pool, ak_co_fn fn, void *arg,
                              struct ak_task **task)
{
	return ak_co_spawn_pool(pool, fn, arg, task);
}
#else
/* Spawns fn as a coroutine on an executor or a pool (by the type of
 * where); *task (if task is not NULL) is its handle. */
#define ak_co_spawn(where, fn, arg, task)                                   \
	_Generic((where),                                                   \
	         struct ak_executor *: ak_co_spawn_executor,                \
	         struct ak_pool *: ak_co_spawn_pool)((where), (fn), (arg), (task))
#endif

#endif
