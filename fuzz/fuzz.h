/*
 * fuzz: the model-based fuzzer's shared parts (awaitkit-fuzz(7)).
 *
 * The input is read as a program of two-byte operations on the channels
 * and locks of awaitkit, made from a few simulated tasks; each operation
 * is applied to the library (public API only) and to a sequential
 * reference model written here from the man pages and tokio's documented
 * semantics, and every observable result is compared.  A disagreement
 * prints the operation and aborts, which libFuzzer reports as a crash.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <awaitkit.h>

#define NTASK 3

/* A simulated task: a counting waker and a slot. */
struct ftask {
	long clones, drops, wakes, wakes_by_ref, live, underflows;
	struct ak_task_slot slot;
};
extern struct ftask ftasks[NTASK];

/* One poll of f from task t, with a fresh context. */
int fz_poll(int t, struct ak_future *f);
/* The task's count of wakes (consuming and by reference). */
long fz_wakes(int t);

/*
 * What the model remembers of a parked operation so that it can say
 * whether its task was woken: the task of its last poll and that task's
 * wake count then.  task < 0: no waker registered (never polled).
 */
struct fwait {
	int task;
	long snap;
};
void fz_parked(struct fwait *w, int t);
/* The model says the operation became ready: its task must have been woken. */
void fz_expect_woken(const struct fwait *w, const char *what);

/* The operation being run, for messages. */
extern const char *fz_opname;
extern size_t fz_opindex;
extern unsigned fz_value;   /* the next value to send (unique per run) */

/* Report a disagreement and abort. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define FZ_EQ(what, lib, model) do { \
	long long l_ = (long long)(lib), m_ = (long long)(model); \
	if (l_ != m_) \
		fz_fail("%s: library %lld, model %lld", (what), l_, m_); \
} while (0)

/* Each primitive: set up, apply one operation (op selects, arg is the
 * operand byte), check its queries, tear everything down. */
struct fprim {
	const char *name;
	void (*setup)(unsigned arg);
	void (*apply)(unsigned op, unsigned arg);
	void (*check)(void);
	void (*teardown)(void);
};
extern const struct fprim fz_mpsc_bounded, fz_mpsc_unbounded, fz_oneshot,
	fz_broadcast, fz_watch, fz_mutex, fz_semaphore, fz_notify;

/* The rendezvous (fuzz_rdv.c): fz_mpsc_bounded set up with a byte of
 * FZ_RDV_SETUP or more runs it instead of a bounded channel. */
#define FZ_RDV_SETUP 0xf0u
void fz_rdv_setup(unsigned arg);
void fz_rdv_apply(unsigned op, unsigned arg);
void fz_rdv_check(void);
void fz_rdv_teardown(void);

/*
 * The model of a fair (FIFO) batch semaphore: the bounded mpsc's slots,
 * the Mutex, the Semaphore.  Permits are never available while someone
 * waits; the head waiter collects released permits until it has all it
 * asked for (head-of-line).
 */
#define MS_MAXW 8
enum { MW_IDLE, MW_QUEUED, MW_GRANTED, MW_CLOSED };
struct mwaiter {
	int state;
	uint64_t need, got;
	struct fwait w;
};
struct msem {
	uint64_t avail;
	int closed;
	int nq;
	struct mwaiter *q[MS_MAXW];
};
/* First poll: 0 done, AK_PENDING queued, AK_EPIPE closed. */
int msem_acquire(struct msem *s, struct mwaiter *w, uint64_t n, int t);
int msem_try(struct msem *s, uint64_t n);
void msem_release(struct msem *s, uint64_t n, const char *what);
/* Cancel of a queued or granted waiter. */
void msem_cancel(struct msem *s, struct mwaiter *w, const char *what);
/*
 * Every queued waiter is woken to fail with AK_EPIPE; granted ones keep
 * theirs.  The permits a closed waiter had collected go back at its next
 * poll (msem_closed_poll) or cancel, as tokio's Acquire gives them back
 * when it is dropped.
 */
void msem_close(struct msem *s, const char *what);
int msem_closed_poll(struct msem *s, struct mwaiter *w);

#endif
