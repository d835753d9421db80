/*
 * runtime/task.h: the task record behind <awaitkit/task.h>, which the
 * library's executors (the single-thread executor, the pool) share with
 * every executor a user writes.
 *
 * A task is a claimed (owned) ak_future plus a reference-counted record.
 * The record outlives every waker clone; its state word decides who polls,
 * who queues and who cancels:
 *
 *   SCHEDULED  one run-queue entry exists (it holds a reference); also
 *              kept with DONE while that entry is still queued
 *   RUNNING    a thread is polling the task, or cancelling it
 *   NOTIFIED   woken while RUNNING: queued when the poll ends
 *   DONE       finished; the future is never touched again
 *   CANCEL     a cancel arrived from another thread during a poll; or,
 *              with SCHEDULED, a cancel of a bound task (ak_task_bind)
 *              made away from its thread: the run of that entry performs
 *              it instead of a poll
 *   JOIN_CLAIMED  a join operation owns the join slot
 *   JOIN_WAKER    join_waker holds its clone; the finisher takes it
 *
 * So idle = 0, scheduled = SCHEDULED, running = RUNNING, woken while
 * running = RUNNING|NOTIFIED, complete/cancelled = DONE (result says which).
 *
 * Entries: the wake that finds the task idle sets SCHEDULED, takes a
 * reference and calls schedule(); a wake during a poll only sets NOTIFIED,
 * and the poller, when its poll returns AK_PENDING, turns NOTIFIED into
 * SCHEDULED and calls schedule() itself, passing on the entry's reference.
 * So a task has at most one entry, and is never polled by two threads at
 * once.  Per poll the owner makes the same atomic read-modify-writes as
 * before this layer was public: one CAS to start, one to end (and at
 * completion one CAS and one reference drop for two references).
 *
 * Owned tasks.  A task made with an owner (the single-thread executor's
 * tasks) is polled, queued, cancelled and finished only by its owner
 * thread: the thread that entered that owner (ak__task_owner_enter), or one
 * the hooks' owner_here() vouches for.  The owner keeps the task's run
 * state in plain fields (lstate) and counts the references it takes and
 * drops in a plain counter (lrefs); the atomic refs word holds a bias
 * (AK__T_BIAS) for all of them, so a remote drop can never free the record
 * while the owner still counts.  References are fungible: one taken on one
 * side may be dropped on the other, since only the sum lrefs + refs - bias
 * means anything.  When the task finishes (on the owner) the owner hands
 * its count over (settle: refs += lrefs - bias) and from then on every
 * operation is atomic.  Other threads never touch the plain fields: a wake
 * sets R_QUEUED in the remote word and, if it was clear, queues the task on
 * the executor's remote queue with a reference; a cancel sets R_CANCEL the
 * same way, and the owner performs it.  The owner adopts each remote entry
 * (ak__task_adopt) before running it.  So on the owner's path a poll, a
 * wake, a waker clone and a drop make no atomic read-modify-write at all;
 * the state word is written once, when DONE is published.  Nor do they
 * call through schedule(): a wake on the owner, and the requeue after a
 * poll that was woken, push the task on the owner's run queue (lq) in
 * place.  finish() sets L_DONE before it publishes DONE, so the owner
 * reads one plain byte (lstate) to decide a wake or a run.
 *
 * Synchronization contract: see include/awaitkit/task.h.  Internally:
 *
 *   call                            thread
 *   ak__task_run                    the thread that popped the entry
 *   ak__task_abort                  any (the executor says which)
 *   hooks->retire                   the thread that finished the task,
 *                                   holding no library lock
 *   hooks->destroy                  whoever dropped the last reference
 */
#ifndef AK_RUNTIME_TASK_H
#define AK_RUNTIME_TASK_H

#include <awaitkit/task.h>

#include "../core/core.h"

enum {
	AK__T_SCHEDULED = 1,
	AK__T_RUNNING = 2,
	AK__T_NOTIFIED = 4,
	AK__T_DONE = 8,
	AK__T_CANCEL = 16,
	AK__T_JOIN_CLAIMED = 32,
	AK__T_JOIN_WAKER = 64,
};

/* Owned tasks: the owner's plain run state (lstate)... */
enum {
	AK__L_QUEUED = 1,       /* a local entry exists (holds a reference) */
	AK__L_RUNNING = 2,      /* the owner polls or cancels it */
	AK__L_NOTIFIED = 4,     /* woken on the owner during its poll */
	AK__L_CANCEL = 8,       /* a remote cancel was adopted */
	AK__L_DONE = 16,        /* finished (DONE is published after it) */
};

/* ...and the remote word other threads set. */
enum {
	AK__R_QUEUED = 1,       /* a remote entry is on its way to the owner */
	AK__R_CANCEL = 2,       /* cancel it when adopted */
};

/* The owner's share of refs while it counts in lrefs. */
#define AK__T_BIAS (1u << 30)

/* The owner's run queue of its owned tasks: a FIFO linked through lnext,
 * owner only.  A wake or a requeue made on the owner pushes here itself,
 * with no call through schedule(). */
struct ak__task_queue {
	struct ak_task *head, *tail;
};

/* What the library's own executors add to a task.  Public tasks have none. */
struct ak__task_hooks {
	/* t has just finished (DONE is set): forget it as unfinished.  May be
	 * NULL.  The task's life reference is dropped after this returns. */
	void (*retire)(struct ak_task *t);
	/* The last reference went: free the record. */
	void (*destroy)(struct ak_task *t);
	/* Owned tasks: true when the calling thread may act as t's owner
	 * although it did not enter the owner (between an executor's runs,
	 * on the thread that runs it). */
	int (*owner_here)(struct ak_task *t);
};

/*
 * An owner (the single-thread executor's shared part embeds one): which
 * thread acts as it now, 0 when none.  Only that thread writes the word
 * (ak__task_owner_enter/leave); any thread reads it, and finds its own
 * name there only while it acts as the owner itself, so a relaxed load
 * answers "am I the owner" exactly.  The name is the thread pointer where
 * the compiler reads it in one instruction (no thread-local look-up, none
 * through __tls_get_addr in the shared library): unique among live
 * threads, and a thread leaves every owner it entered before it exits.
 */
struct ak__task_owner {
	ak__atomic(uintptr_t) thread;
};

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__))
static inline uintptr_t ak__thread_self(void)
{
	return (uintptr_t)__builtin_thread_pointer();
}
#else
uintptr_t ak__thread_self(void);        /* a thread-local byte's address */
#define AK__THREAD_SELF_TLS 1
#endif

struct ak_task {
	ak__atomic(uint32_t) refs;
	ak__atomic(uint32_t) state;    /* AK__T_* */
	ak_task_schedule_fn schedule;
	void *arg;
	ak_task_drop_fn drop;          /* public tasks: drop(arg) at the free */
	const struct ak__task_hooks *hooks;   /* NULL: made by ak_task_new */
	struct ak__task_owner *owner;  /* NULL: every operation atomic */
	/* NULL, or the thread a public task is bound to (ak_task_bind): a
	 * cancel made on any other thread is carried out by the next run. */
	const void *home;
	ak__atomic(uint32_t) remote;   /* owned: AK__R_*, any thread sets */
	int32_t lrefs;                 /* owned: the owner's count */
	uint8_t lstate;                /* owned: AK__L_*, owner only */
	/* Not owned: the entry's reference went to a waker cloned by the
	 * poll itself (task.c, task_clone()); the poller only. */
	uint8_t lent;
	struct ak__task_queue *lq;     /* owned: the owner's run queue */
	struct ak_task *lnext;         /* owned: lq's link, owner only */
	struct ak_future *fut;         /* NULL once DONE */
	/* NULL, or frees the body once the task is done with it (a coroutine
	 * spawned by ak_co_spawn); set before the task is first queued. */
	void (*body_free)(struct ak_future *body);
	int result;                    /* written before DONE is published */
	struct ak_waker join_waker;    /* see JOIN_WAKER */
	struct ak_task_slot slot;      /* zeroed at spawn */
	struct ak_task *prev, *next;   /* the executor's unfinished list */
};

/* tail means something only while head is set: a pop that empties the
 * queue leaves it (one store less per pop), and a push looks at head. */
static inline void ak__task_queue_push(struct ak__task_queue *q, struct ak_task *t)
{
	t->lnext = NULL;
	if (q->head)
		q->tail->lnext = t;
	else
		q->head = t;
	q->tail = t;
}

static inline struct ak_task *ak__task_queue_pop(struct ak__task_queue *q)
{
	struct ak_task *t = q->head;
	if (t)
		q->head = t->lnext;
	return t;
}

/* An executor's list of unfinished tasks; the executor serializes it. */
struct ak__task_list {
	struct ak_task *head, *tail;
};

void ak__task_list_append(struct ak__task_list *l, struct ak_task *t);
void ak__task_list_remove(struct ak__task_list *l, struct ak_task *t);

/*
 * Fills t (zeroed by the allocator) with refs references, one of which is
 * the life reference dropped when the task finishes.  scheduled: the
 * caller queues it itself at once (one of refs is that entry's).  owner:
 * NULL, or the owner that alone polls it (see "Owned tasks");
 * lq, with an owner: the owner's run queue, where wakes made on the owner
 * push the task (schedule() takes the others).
 */
void ak__task_init(struct ak_task *t, struct ak_future *f,
                   ak_task_schedule_fn schedule, void *arg,
                   const struct ak__task_hooks *hooks, uint32_t refs,
                   int scheduled, struct ak__task_owner *owner,
                   struct ak__task_queue *lq);

/* The calling thread acts as owner o until it leaves; enter returns what
 * leave restores (0, or this thread when it acted as o already: entries
 * nest as calls do). */
static inline uintptr_t ak__task_owner_enter(struct ak__task_owner *o)
{
	/* Relaxed: only this thread can have written its own name there. */
	uintptr_t prev = ak__load(&o->thread, AK__RELAXED);
	ak__store(&o->thread, ak__thread_self(), AK__RELAXED);
	return prev;
}

static inline void ak__task_owner_leave(struct ak__task_owner *o, uintptr_t prev)
{
	ak__store(&o->thread, prev, AK__RELAXED);
}

/* True when the calling thread acts as o. */
static inline int ak__task_owner_is_here(struct ak__task_owner *o)
{
	/* Relaxed: equal only to a name this thread stored itself. */
	return ak__load(&o->thread, AK__RELAXED) == ak__thread_self();
}

/*
 * The owner takes a remote entry of an owned task (one that schedule()
 * queued from another thread): 1 when it is now a local entry to run, 0
 * when it was dropped (the task finished, or a local entry exists).
 */
int ak__task_adopt(struct ak_task *t);

/* Cancels an owned task as its owner (an executor's own shutdown). */
int ak__task_abort_owned(struct ak_task *t, int rc);
void ak__task_put(struct ak_task *t);

/* A wake: queues an idle task, marks a running one. */
void ak__task_wake(struct ak_task *t);

/* What ak__task_run did with the entry. */
enum {
	AK__RUN_PENDING = 0,   /* polled; not finished */
	AK__RUN_DONE = 1,      /* this call finished the task */
	AK__RUN_STALE = 2,     /* the task had finished: entry dropped, no poll */
};

/*
 * Consumes one entry: polls the task once and settles the entry's
 * reference (queued again, dropped).  AK_EINVAL, changing nothing, if the
 * task has no entry.
 */
int ak__task_run(struct ak_task *t);

/* The waker of a task without an owner (a pool's), and that of an owned
 * task (an executor's): each vtable knows which kind its task is, so a
 * clone or a wake tests no owner pointer for NULL, and the pool's test no
 * owner at all.  A task's wakers all carry its kind's vtable. */
extern const struct ak_waker_vtable ak__task_waker_vtable;
extern const struct ak_waker_vtable ak__task_owned_waker_vtable;

/* What a loop that polls tasks keeps across its polls: the thread's poll
 * state (its address found once; ak__poll_tls.polling is the task being
 * polled, ak__task_current(), for tasks that have no owner), the task
 * polled around the loop (restored after each poll), and one context,
 * refilled per poll. */
struct ak__task_runner {
	struct ak__poll_tls *tls;
	void *outer;
	struct ak_context cx;
};

static inline void ak__task_runner_init_vt(struct ak__task_runner *r,
                                           const struct ak_waker_vtable *vt)
{
	r->tls = ak__poll_tls_here();
	r->outer = r->tls->polling;
	ak__context_prepare(&r->cx, vt, r->tls);
}

/* A runner for tasks without an owner (a pool's worker). */
static inline void ak__task_runner_init(struct ak__task_runner *r)
{
	ak__task_runner_init_vt(r, &ak__task_waker_vtable);
}

/* A runner for an owner's tasks (ak__task_run_owned()). */
static inline void ak__task_runner_init_owned(struct ak__task_runner *r)
{
	ak__task_runner_init_vt(r, &ak__task_owned_waker_vtable);
}

/* An owner's run loop stays at its polls' depth from its first poll to
 * its last (enter), and goes back to the loop's own depth (leave) around
 * whatever else it runs (a finish, a cancel) and at its end: a poll
 * leaves the depth as it found it, so none is written per poll. */
static inline void ak__task_runner_enter(struct ak__task_runner *r)
{
	r->tls->depth = r->cx.depth_ + 1;
}

static inline void ak__task_runner_leave(struct ak__task_runner *r)
{
	r->tls->depth = r->cx.depth_;
}

/* The words of the loop's context that a poll may change, for t. */
static inline __attribute__((always_inline)) void
ak__task_runner_refill(struct ak__task_runner *r, struct ak_task *t)
{
	r->cx.waker.data = t;
	r->cx.slot = &t->slot;
	r->cx.path = (struct ak_branch_path){ 0 };
	r->cx.budget = AK_BUDGET_DEFAULT;
}

/* Polls t once with the library's context; the caller holds its run.
 * The context stays valid between the loop's polls (a loop's context is
 * never seen outside a poll), so no word is written to close it: the
 * depth goes back, and an AK_PENDING poll is counted in t's slot. */
static inline __attribute__((always_inline)) int
ak__task_poll(struct ak_task *t, struct ak__task_runner *r)
{
	struct ak__poll_tls *tls = r->tls;
	tls->polling = t;
	ak__context_refill(&r->cx, t, &t->slot, tls);
	int rc = ak__future_poll_claimed(t->fut, &r->cx);
	tls->depth = r->cx.depth_;
	if (rc == AK_PENDING)
		((struct ak__slot_view *)(void *)&t->slot)->pending_polls++;
	tls->polling = r->outer;
	return rc;
}

/*
 * ak__task_run() of a task without an owner, with a runner that a run
 * loop keeps across its polls (a pool's worker: ak__task_runner_init()
 * once, on the loop's thread, at the loop's depth), so that a run
 * prepares no context and finds no thread-local address.
 * ak__task_run_unowned() is its plain case inline in the loop: an entry
 * found SCHEDULED alone starts with one CAS, and a poll that returns
 * AK_PENDING with no wake or cancel during it ends with one (task.c's
 * begin() and end_pending(), same orders); anything else goes to
 * ak__task_run_unowned_full() (before the poll: nothing is changed) or
 * ak__task_run_unowned_end() (after it: RUNNING is still the caller's).
 */
int ak__task_run_unowned_full(struct ak_task *t, struct ak__task_runner *r);
int ak__task_run_unowned_end(struct ak_task *t, int rc, int entry);

static inline __attribute__((always_inline)) int
ak__task_run_unowned(struct ak_task *t, struct ak__task_runner *r)
{
	/* acquire: as in begin(). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	if ((s & (AK__T_SCHEDULED | AK__T_RUNNING | AK__T_DONE | AK__T_CANCEL)) !=
	            AK__T_SCHEDULED ||
	    !ak__cas_weak(&t->state, &s, (s & ~(uint32_t)AK__T_SCHEDULED) | AK__T_RUNNING,
	                  AK__ACQUIRE, AK__ACQUIRE))
		return ak__task_run_unowned_full(t, r);
	t->lent = 0;
	int rc = ak__task_poll(t, r);
	/* Read while RUNNING is ours: the entry's reference, unless lent. */
	int entry = !t->lent;
	if (rc == AK_PENDING) {
		s = ak__load(&t->state, AK__RELAXED);
		/* acq_rel: as in end_pending(); a failed CAS (a wake or a
		 * cancel came) goes the full way. */
		if (!(s & (AK__T_NOTIFIED | AK__T_CANCEL)) &&
		    ak__cas_weak(&t->state, &s, s & ~(uint32_t)AK__T_RUNNING,
		                 AK__ACQ_REL, AK__ACQUIRE)) {
			if (entry)
				ak__task_put(t);
			return AK__RUN_PENDING;
		}
	}
	return ak__task_run_unowned_end(t, rc, entry);
}

/* An owned task's poll, run by ak__task_run_owned(), ended with rc (not
 * AK_PENDING): finishes t and drops the entry's and the life reference. */
int ak__task_run_finished(struct ak_task *t, int rc);

/*
 * ak__task_run() of an owned task on its owner (the caller entered the
 * owner, and r: ak__task_runner_enter), inline in the owner's run
 * loop: an entry with nothing but a poll to do (lstate QUEUED alone) polls
 * with no call but the body's and no atomic operation; any other goes to
 * ak__task_run().  A body polled before and left pending (state
 * OWNED|PENDING) is polled after one compare, and its state is written
 * only when the poll ends it (AK_FUTURE_DONE).  The poll writes neither the thread's depth (the loop
 * is at it) nor its polling word: an owned task's own poll is known by
 * its L_RUNNING (a cancel of itself answers AK_EBUSY from there), and
 * ak__task_current() names only tasks without an owner (a pool's).  An
 * unfinished task's counts are the owner's (local), so the entry's
 * reference is dropped with a plain decrement, or goes with the requeue of
 * a task woken during its poll.
 */
static inline __attribute__((always_inline)) int
ak__task_run_owned(struct ak_task *t, struct ak__task_runner *r)
{
	if (t->lstate != AK__L_QUEUED) {
		ak__task_runner_leave(r);
		int rc = ak__task_run(t);
		ak__task_runner_enter(r);
		return rc;
	}
	t->lstate = AK__L_RUNNING;
	ak__task_runner_refill(r, t);
	struct ak_future *f = t->fut;
	int rc;
	if (f->state == (AK_FUTURE_OWNED | AK_FUTURE_PENDING)) {
		/* Polled before and left pending (its vtable checked at the
		 * claim, ak_future_init refuses a pending future): one compare,
		 * and the state written only when the poll ends it. */
		rc = f->vtable->poll(f, &r->cx);
		if (rc != AK_PENDING)
			f->state = AK_FUTURE_DONE;
	} else {
		rc = ak__future_poll_claimed(f, &r->cx);
	}
	if (rc == AK_PENDING) {
		((struct ak__slot_view *)(void *)&t->slot)->pending_polls++;
		if (t->lstate == AK__L_RUNNING) {
			t->lstate = 0;          /* idle: not woken during its poll */
			t->lrefs--;
			return AK__RUN_PENDING;
		}
	}
	uint8_t ls = (uint8_t)(t->lstate & ~AK__L_RUNNING);
	t->lstate = ls;
	if (rc != AK_PENDING) {
		ak__task_runner_leave(r);
		rc = ak__task_run_finished(t, rc);
		ak__task_runner_enter(r);
		return rc;
	}
	if (ls & AK__L_NOTIFIED) {
		t->lstate = (uint8_t)((ls & ~AK__L_NOTIFIED) | AK__L_QUEUED);
		ak__task_queue_push(t->lq, t);
		return AK__RUN_PENDING;
	}
	t->lrefs--;
	return AK__RUN_PENDING;
}

/*
 * Cancels t unless it finished: its future's cancel runs on this thread
 * and rc becomes its result.  A task that another thread is polling is
 * marked, and that thread cancels it when the poll ends (unless the poll
 * finished it).  0, or AK_EBUSY when called from the task's own poll.
 */
int ak__task_abort(struct ak_task *t, int rc);

/*
 * ak_executor_spawn() and ak_pool_spawn() whose task frees its body with
 * body_free (on the thread that finishes it, before DONE is published, so
 * a joiner finds it freed) instead of leaving it to the caller.
 */
struct ak_executor;
struct ak_pool;
int ak__executor_spawn(struct ak_executor *ex, struct ak_future *body,
                       struct ak_task **handle,
                       void (*body_free)(struct ak_future *body));
int ak__pool_spawn(struct ak_pool *pool, struct ak_future *body,
                   struct ak_task **handle,
                   void (*body_free)(struct ak_future *body));

/* Pins t to this worker if t is the task this worker of a pool is
 * polling (ak_co_pin(3)); otherwise does nothing. */
void ak__pool_pin(struct ak_task *t);

/* The task the calling thread is polling, or NULL. */
struct ak_task *ak__task_current(void);

#endif
