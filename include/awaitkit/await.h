/*
 * awaitkit: protothread-style await macros, so that a task's poll function
 * reads as straight-line C.  See ak_await(3).
 *
 *	static int job_poll(struct ak_future *f, struct ak_context *cx)
 *	{
 *		struct job *j = (struct job *)f;
 *
 *		AK_BEGIN(&j->aw, cx);
 *		ak_yield_init(&j->step);
 *		AK_AWAIT(&j->aw, &j->step.future, j->rc);
 *		if (j->rc != 0)
 *			AK_RETURN(&j->aw, j->rc);
 *		AK_CLEANUP(&j->aw);
 *		... release what the job holds: runs only on cancel ...
 *		AK_END(&j->aw);
 *	}
 *
 *	static void job_cancel(struct ak_future *f)
 *	{
 *		ak_await_cancel(&((struct job *)f)->aw, f);
 *	}
 *
 * The macros resume the poll function at the await it left through a
 * switch on the line number (the lc-switch of Dunkels' protothreads), so:
 * locals do not survive an await (keep state in the task struct), no
 * switch statement may enclose an await, and one await per source line.
 *
 *   call             thread
 *   the macros       the task's owner, inside the task's poll
 *   ak_await_cancel  the task's owner, inside the task's cancel
 */
#ifndef AK_AWAIT_H
#define AK_AWAIT_H

#include <awaitkit/error.h>
#include <awaitkit/future.h>
#include <awaitkit/waker.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values of ak_await.line besides 0 (not started) and a resume line. */
#define AK_AWAIT_DONE (-1)      /* finished: completed, failed or cancelled */
#define AK_AWAIT_CLEANUP (-2)   /* ak_await_cancel is running the cleanup */

/* Flags of ak_await.flags. */
#define AK_AWAIT_CANCELLED 0x1u /* ak_await_cancel was called */

/*
 * A task's await state, embedded in the task struct.  Zeroed storage is a
 * task that has not started.
 */
struct ak_await {
	int line;                   /* 0, a resume line, AK_AWAIT_DONE/CLEANUP */
	unsigned flags;             /* AK_AWAIT_* */
	struct ak_future *live;     /* the operation awaited, while pending */
	struct ak_context *cx;      /* the context of the poll in progress */
	int rc;                     /* the result of the last AK_YIELD */
	struct ak_yield_op yield;   /* the operation AK_YIELD awaits */
};

void ak_await_cancel(struct ak_await *aw, struct ak_future *task);

/*
 * The resume points need a fallthrough that both compilers accept without
 * -Wimplicit-fallthrough firing; a comment inside a macro does not silence
 * clang.
 */
#if defined(__cplusplus) && __cplusplus >= 201703L
#define AK__FALLTHROUGH [[fallthrough]]
#elif defined(__has_attribute)
#if __has_attribute(fallthrough)
#define AK__FALLTHROUGH __attribute__((fallthrough))
#endif
#endif
#ifndef AK__FALLTHROUGH
#define AK__FALLTHROUGH ((void)0)
#endif

/* Opens the task's body; the first statement of its poll function. */
#define AK_BEGIN(aw, ctx)                                                   \
	(aw)->cx = (ctx);                                                   \
	switch ((aw)->line) {                                               \
	case 0:

/*
 * Polls the operation whose future op points to.  While it is pending the
 * task returns AK_PENDING with the operation recorded as live; once it is
 * not, rc (an int lvalue in the task struct) holds its result and the task
 * goes on.  Inside the cleanup block it polls nothing: rc = AK_ECANCELED.
 */
#define AK_AWAIT(aw, op, rc)                                                \
	do {                                                                \
		(aw)->live = (op);                                          \
		(aw)->line = __LINE__;                                      \
		AK__FALLTHROUGH;                                            \
	case __LINE__:                                                      \
		if (((rc) = ((aw)->flags & AK_AWAIT_CANCELLED)              \
		                ? AK_ECANCELED                              \
		                : ak_future_poll((aw)->live, (aw)->cx)) ==  \
		    AK_PENDING)                                             \
			return AK_PENDING;                                  \
		(aw)->live = NULL;                                          \
	} while (0)

/* Gives the executor a turn: the task goes to the tail of its run queue. */
#define AK_YIELD(aw)                                                        \
	do {                                                                \
		ak_yield_init(&(aw)->yield);                                \
		AK_AWAIT((aw), &(aw)->yield.future, (aw)->rc);              \
	} while (0)

/* Finishes the task with rc (0 or a negative error); no cleanup runs. */
#define AK_RETURN(aw, rc)                                                   \
	do {                                                                \
		int ak__await_rc_ = (rc);                                   \
		(aw)->line = AK_AWAIT_DONE;                                 \
		(aw)->live = NULL;                                          \
		return ak__await_rc_;                                       \
	} while (0)

/*
 * Ends the body (reaching it finishes the task with 0) and opens the
 * cleanup block, which only ak_await_cancel enters.
 */
#define AK_CLEANUP(aw)                                                      \
	(aw)->line = AK_AWAIT_DONE;                                         \
	return 0;                                                           \
	case AK_AWAIT_CLEANUP:

/* Closes the body (or the cleanup block); the last statement. */
#define AK_END(aw)                                                          \
	(aw)->line = AK_AWAIT_DONE;                                         \
	return 0;                                                           \
	default:                                                            \
		break;                                                      \
	}                                                                   \
	return AK_EINVAL

#ifdef __cplusplus
}
#endif
#endif
