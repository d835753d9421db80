/*
 * runtime/task.c: the task record (see task.h), its waker, and the public
 * task API of <awaitkit/task.h> (the join operation: task_join.c).
 */
#include "task.h"

/* The task this thread is polling now (a word of the thread's poll state,
 * core/core.h): a task cancelling itself from its own poll is refused
 * instead of deadlocking on its own RUNNING bit. */
#define tls_polling (ak__poll_tls.polling)

struct ak_task *ak__task_current(void)
{
	return tls_polling;
}

/* A byte per thread: its address names the thread a task is bound to. */
static _Thread_local char tls_home;

#ifdef AK__THREAD_SELF_TLS
uintptr_t ak__thread_self(void)
{
	return (uintptr_t)(void *)&tls_home;
}
#endif

/* The calling thread acts as t's owner (see "Owned tasks" in task.h). */
static inline int owner_here(const struct ak_task *t)
{
	return t->owner != NULL && ak__task_owner_is_here(t->owner);
}

/* The calling thread is t's owner and t's counts are still its own: not
 * finished (finish() sets L_DONE before it hands the counts over, and a
 * reference is dropped atomically in between: the bias keeps refs above
 * zero). */
static inline int owned_here(const struct ak_task *t)
{
	return owner_here(t) && !(t->lstate & AK__L_DONE);
}

void ak__task_init(struct ak_task *t, struct ak_future *f,
                   ak_task_schedule_fn schedule, void *arg,
                   const struct ak__task_hooks *hooks, uint32_t refs,
                   int scheduled, struct ak__task_owner *owner,
                   struct ak__task_queue *lq)
{
	t->schedule = schedule;
	t->arg = arg;
	t->hooks = hooks;
	t->fut = f;
	t->owner = owner;
	if (owner) {
		ak__init(&t->refs, AK__T_BIAS);
		ak__init(&t->state, 0u);
		t->lrefs = (int32_t)refs;
		t->lq = lq;
		t->lstate = scheduled ? AK__L_QUEUED : 0;
		return;
	}
	ak__init(&t->refs, refs);
	ak__init(&t->state, scheduled ? AK__T_SCHEDULED : 0u);
}

/* The record goes; then the executor's drop(arg), once: no schedule()
 * call can be made after it, since every caller of schedule() held one of
 * the references. */
static void destroy(struct ak_task *t)
{
	if (t->hooks) {
		t->hooks->destroy(t);
		return;
	}
	ak_task_drop_fn drop = t->drop;
	void *arg = t->arg;
	ak__free_sized(t, sizeof(*t));
	if (drop)
		drop(arg);
}

void ak__task_put(struct ak_task *t)
{
	if (owned_here(t))
		t->lrefs--;
	else if (ak__ref_put(&t->refs))
		destroy(t);
}

/* Drops two references with one read-modify-write (none on the owner). */
static void put2(struct ak_task *t)
{
	if (owned_here(t))
		t->lrefs -= 2;
	/* acq_rel: as in ak__ref_put(). */
	else if (ak__fetch_sub(&t->refs, 2, AK__ACQ_REL) == 2)
		destroy(t);
}

/* Drops the life reference, and the entry's too when entry is set. */
static void put_life(struct ak_task *t, int entry)
{
	if (entry)
		put2(t);
	else
		ak__task_put(t);
}

static void get_ref(struct ak_task *t)
{
	if (owned_here(t))
		t->lrefs++;
	else
		ak__ref_get(&t->refs);
}

/* The owner of a finished task hands its count over: from here on every
 * reference operation is atomic.  The caller still holds the life
 * reference, so the sum cannot reach zero here. */
static void settle(struct ak_task *t)
{
	uint32_t delta = (uint32_t)t->lrefs - AK__T_BIAS;
	t->lrefs = 0;
	/* acq_rel: the owner's plain writes happen before whichever thread
	 * drops the last reference and frees the record. */
	ak__fetch_add(&t->refs, delta, AK__ACQ_REL);
}

void ak__task_list_append(struct ak__task_list *l, struct ak_task *t)
{
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
}

void ak__task_list_remove(struct ak__task_list *l, struct ak_task *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
}

/* An owned task woken by its owner: plain operations only.  kept: the
 * caller gives its reference (a wake by value), which becomes the entry's
 * or is dropped; otherwise an entry takes a new one.  An idle task (lstate
 * 0: not queued, running or done) goes on the owner's queue. */
static inline void wake_owned(struct ak_task *t, int kept)
{
	uint8_t ls = t->lstate;
	if (ls == 0) {
		t->lstate = AK__L_QUEUED;
		t->lrefs += 1 - kept;
		ak__task_queue_push(t->lq, t);
		return;
	}
	if ((ls & (AK__L_QUEUED | AK__L_RUNNING | AK__L_DONE)) == AK__L_RUNNING)
		t->lstate = ls | AK__L_NOTIFIED;    /* queued when the poll ends */
	t->lrefs -= kept;
}

/* An owned task woken or cancelled from another thread: sets bits in the
 * remote word and, when R_QUEUED was clear, sends one entry to the owner. */
static void signal_remote(struct ak_task *t, uint32_t bits)
{
	/* Relaxed: a shortcut only; a wake racing with DONE is dropped by
	 * the owner's ak__task_adopt(). */
	if (ak__load(&t->state, AK__RELAXED) & AK__T_DONE)
		return;
	/* release: what this thread wrote before waking is visible to the
	 * owner's poll after its acquire in ak__task_adopt(), also when
	 * another thread's entry carries this wake (a release sequence).
	 * acquire: pairs with the release in ak__task_adopt(), so the
	 * executor is done with the previous entry before this one reuses
	 * its queue link. */
	uint32_t r = ak__fetch_or(&t->remote, bits, AK__ACQ_REL);
	if (r & AK__R_QUEUED)
		return;
	ak__ref_get(&t->refs);
	t->schedule(t, t->arg);
}

/* The state change of a wake of a task without an owner: 1 when the
 * caller must queue it (with an entry reference), 0 when it is queued,
 * notified or done already, or running (its poller queues it). */
static int wake_state(struct ak_task *t)
{
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	uint32_t next;
	do {
		if (s & (AK__T_SCHEDULED | AK__T_NOTIFIED | AK__T_DONE))
			return 0;
		next = s | ((s & AK__T_RUNNING) ? AK__T_NOTIFIED : AK__T_SCHEDULED);
		/* release: what the waker wrote before waking is visible to
		 * the poll that consumes the wake (the acquire in begin(), or
		 * in end_pending() when the task is running).
		 * acquire: pairs with the release in end_pending(), so the
		 * run queue's last use of the task (the pop that read it, the
		 * push that wrote it) happens before schedule() pushes it
		 * again from this thread.  Found by stress/stress_sem.c under
		 * TSan: a kicker thread waking a task whose latest poll it
		 * never synchronised with except through this word. */
	} while (!ak__cas_weak(&t->state, &s, next, AK__ACQ_REL, AK__RELAXED));
	return !(s & AK__T_RUNNING);    /* running: the poller queues it */
}

void ak__task_wake(struct ak_task *t)
{
	if (t->owner) {
		if (owned_here(t))
			wake_owned(t, 0);
		else
			signal_remote(t, AK__R_QUEUED);
		return;
	}
	if (wake_state(t)) {
		ak__ref_get(&t->refs);
		t->schedule(t, t->arg);
	}
}

int ak__task_adopt(struct ak_task *t)
{
	/* acquire: pairs with the release of every signal_remote() whose
	 * bits this takes.  release: the executor's last read of the entry
	 * (its queue link) happens before a signal_remote() that finds
	 * R_QUEUED clear and queues the task again, rewriting that link. */
	uint32_t r = ak__fetch_and(&t->remote, 0u, AK__ACQ_REL);
	if ((ak__load(&t->state, AK__RELAXED) & AK__T_DONE) ||
	    (t->lstate & AK__L_QUEUED)) {
		if (r & AK__R_CANCEL)
			t->lstate |= AK__L_CANCEL;
		ak__task_put(t);
		return 0;
	}
	if (r & AK__R_CANCEL)
		t->lstate |= AK__L_CANCEL;
	t->lstate |= AK__L_QUEUED;
	return 1;
}

/* ---- the waker: a reference to the record ------------------------------- */

/*
 * Two vtables, one per kind of task (task.h): an owned task's functions
 * know t->owner is set, a pool task's that it is not.  wake_by_ref and
 * drop are the same for both.
 */

static void task_wake_by_ref(const void *data)
{
	ak__task_wake((struct ak_task *)(uintptr_t)data);
}

static void task_drop(const void *data)
{
	ak__task_put((struct ak_task *)(uintptr_t)data);
}

/* A task without an owner.  Its wake by value: the waker's reference
 * becomes the entry's (one read-modify-write, the state's, instead of
 * three). */
static void task_wake(const void *data)
{
	struct ak_task *t = (struct ak_task *)(uintptr_t)data;

	if (wake_state(t))
		t->schedule(t, t->arg);
	else
		ak__task_put(t);
}

/* A clone made by a task's own poll (the waker a waiter keeps when the
 * task parks) takes the reference of the entry being run instead of a new
 * one: the life reference keeps the record alive until the poll ends, and
 * the poll, which would have dropped the entry's reference when it went
 * idle, keeps or drops one less (ak__task_run()).  Saves two
 * read-modify-writes of refs per park. */
static struct ak_waker task_clone(const void *data)
{
	struct ak_task *t = (struct ak_task *)(uintptr_t)data;
	if (tls_polling == t && !t->lent)
		t->lent = 1;
	else
		ak__ref_get(&t->refs);
	struct ak_waker w = { t, &ak__task_waker_vtable };
	return w;
}

const struct ak_waker_vtable ak__task_waker_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = task_clone,
	.wake = task_wake,
	.wake_by_ref = task_wake_by_ref,
	.drop = task_drop,
};

/* An owned task woken by value away from its owner, or once finished
 * (kept out of line: the owner's wake stays a leaf with no frame). */
static __attribute__((noinline)) void owned_wake_elsewhere(struct ak_task *t)
{
	signal_remote(t, AK__R_QUEUED);
	ak__task_put(t);
}

static void owned_wake(const void *data)
{
	struct ak_task *t = (struct ak_task *)(uintptr_t)data;

	/* The owner's wake of an idle task first: lstate 0 is neither done
	 * nor queued, so one test of it serves owned_here() and the wake. */
	if (ak__task_owner_is_here(t->owner)) {
		uint8_t ls = t->lstate;
		if (ls == 0) {
			/* the reference becomes the entry's */
			t->lstate = AK__L_QUEUED;
			ak__task_queue_push(t->lq, t);
			return;
		}
		if (!(ls & AK__L_DONE)) {
			wake_owned(t, 1);
			return;
		}
	}
	owned_wake_elsewhere(t);
}

/* An owned task's clone away from its owner, or once finished: counts
 * are atomic there (the owner's poll lends no entry reference: its
 * clone counts in lrefs). */
static __attribute__((noinline)) struct ak_waker owned_clone_elsewhere(struct ak_task *t)
{
	ak__ref_get(&t->refs);
	struct ak_waker w = { t, &ak__task_owned_waker_vtable };
	return w;
}

static struct ak_waker owned_clone(const void *data)
{
	struct ak_task *t = (struct ak_task *)(uintptr_t)data;
	if (!ak__task_owner_is_here(t->owner) || (t->lstate & AK__L_DONE))
		return owned_clone_elsewhere(t);
	t->lrefs++;
	struct ak_waker w = { data, &ak__task_owned_waker_vtable };
	return w;
}

const struct ak_waker_vtable ak__task_owned_waker_vtable = {
	.abi = AK_WAKER_ABI_VERSION,
	.size = sizeof(struct ak_waker_vtable),
	.clone = owned_clone,
	.wake = owned_wake,
	.wake_by_ref = task_wake_by_ref,
	.drop = task_drop,
};

/* ---- polling, finishing, cancelling -------------------------------------- */

/*
 * t ended with rc; the caller holds RUNNING.  Publishes DONE (keeping
 * SCHEDULED if an entry is still queued), wakes a registered joiner and
 * retires the task.  The caller drops the life reference afterwards.
 */
static void finish(struct ak_task *t, int rc)
{
	struct ak_future *body = t->fut;
	t->result = rc;
	t->fut = NULL;
	if (t->body_free)
		t->body_free(body);
	if (t->owner)
		t->lstate |= AK__L_DONE;
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	/* release: pairs with the acquire of every load that finds DONE
	 * (ak_task_result, the join, begin, abort), publishing the result
	 * and everything the polls wrote.  acquire: pairs with the release
	 * in join_poll() that set JOIN_WAKER, so join_waker is visible.
	 * Wakes racing with this fail their CAS, reload and find DONE. */
	while (!ak__cas_weak(&t->state, &s, AK__T_DONE | (s & AK__T_SCHEDULED),
	                     AK__ACQ_REL, AK__RELAXED))
		;
	if (s & AK__T_JOIN_WAKER) {
		/* Ours now: the joiner touches it again only if it clears
		 * JOIN_WAKER first, which DONE forbids. */
		struct ak_waker w = t->join_waker;
		ak__waker_wake_kept(&w);
	}
	if (t->hooks && t->hooks->retire)
		t->hooks->retire(t);
	if (t->owner)
		settle(t);
}

/* Cancels a task whose RUNNING bit the caller holds.  Wakes made by the
 * cancel itself find RUNNING and only mark NOTIFIED. */
static void cancel_claimed(struct ak_task *t, int rc)
{
	ak__future_cancel_owned(t->fut);
	finish(t, rc);
}

/* begin(): the entry carries a cancel requested away from the task's
 * thread (ak_task_bind); RUNNING is taken for it. */
#define BEGIN_CANCEL 3

/* Takes the entry for a poll: 0, BEGIN_CANCEL, AK__RUN_STALE when the task
 * finished or is being cancelled (the entry's reference was dropped), or
 * AK_EINVAL when there is no entry. */
static int begin(struct ak_task *t)
{
	/* acquire: pairs with the release in ak__task_wake() and with the
	 * release of the previous poll's end_pending(). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	for (;;) {
		if (!(s & AK__T_SCHEDULED))
			return AK_EINVAL;
		if (s & (AK__T_DONE | AK__T_RUNNING)) {
			/* Cancelled while queued, or a canceller holds it: the
			 * entry is stale.  Clearing SCHEDULED tells the
			 * canceller's finish() that no entry remains. */
			if (ak__cas_weak(&t->state, &s, s & ~(uint32_t)AK__T_SCHEDULED,
			                 AK__ACQUIRE, AK__ACQUIRE)) {
				ak__task_put(t);
				return AK__RUN_STALE;
			}
			continue;
		}
		uint32_t next = (s & ~(uint32_t)AK__T_SCHEDULED) | AK__T_RUNNING;
		if (ak__cas_weak(&t->state, &s, next, AK__ACQUIRE, AK__ACQUIRE))
			return (s & AK__T_CANCEL) ? BEGIN_CANCEL : 0;
	}
}

enum { END_IDLE, END_REQUEUE, END_CANCEL };

/* After a poll returned AK_PENDING.  *entry: the run holds the entry's
 * reference (0: lent to a clone, task_clone()).  A requeue needs one, and
 * takes it here while RUNNING is still ours: once RUNNING is cleared a
 * cancel may claim the task and drop the life reference, and a lent entry
 * may have been consumed by a wake during the poll, so nothing else would
 * keep the record (found by stress sem-core under TSan).  NOTIFIED, once
 * seen, stays until this CAS: a reference taken for it is used by the
 * requeue, or dropped by the cancel (*entry says so). */
static int end_pending(struct ak_task *t, int *entry)
{
	uint32_t s = ak__load(&t->state, AK__RELAXED);
	for (;;) {
		if (s & AK__T_CANCEL)
			return END_CANCEL;      /* keeps RUNNING for the cancel */
		uint32_t next = s & ~(uint32_t)(AK__T_RUNNING | AK__T_NOTIFIED);
		if (s & AK__T_NOTIFIED) {
			next |= AK__T_SCHEDULED;
			if (!*entry) {
				get_ref(t);
				*entry = 1;
			}
		}
		/* acq_rel: release publishes the poll's writes to the next
		 * poller's acquire in begin(); acquire pairs with the release in
		 * ak__task_wake() of a wake that came during the poll, and with
		 * the CAS in ak__task_abort() that set CANCEL. */
		if (ak__cas_weak(&t->state, &s, next, AK__ACQ_REL, AK__ACQUIRE))
			return (s & AK__T_NOTIFIED) ? END_REQUEUE : END_IDLE;
	}
}

/* ak__task_run() of an owned entry that is not a plain poll: none
 * (AK_EINVAL), a finished task's (stale), or one that carries an adopted
 * cancel. */
static int run_owned_other(struct ak_task *t)
{
	if (!(t->lstate & AK__L_QUEUED))
		return AK_EINVAL;
	t->lstate &= (uint8_t)~AK__L_QUEUED;
	if (t->lstate & AK__L_DONE) {
		ak__task_put(t);
		return AK__RUN_STALE;
	}
	t->lstate |= AK__L_RUNNING;
	cancel_claimed(t, AK_ECANCELED);
	put2(t);                /* the life reference and the entry's */
	return AK__RUN_DONE;
}

int ak__task_run_finished(struct ak_task *t, int rc)
{
	finish(t, rc);
	put2(t);                /* the life reference and the entry's */
	return AK__RUN_DONE;
}

int ak__task_run(struct ak_task *t)
{
	struct ak__task_runner r;
	if (t->owner) {
		if (t->lstate != AK__L_QUEUED)
			return run_owned_other(t);
		ak__task_runner_init_owned(&r);
		ak__task_runner_enter(&r);
		int rc = ak__task_run_owned(t, &r);
		ak__task_runner_leave(&r);
		return rc;
	}
	ak__task_runner_init(&r);
	return ak__task_run_unowned_full(t, &r);
}

/* After the poll of an unowned task (RUNNING is ours): rc and the entry's
 * reference (entry: not lent) settled, as ak__task_run() does. */
int ak__task_run_unowned_end(struct ak_task *t, int rc, int entry)
{
	if (rc != AK_PENDING) {
		finish(t, rc);
		put_life(t, entry);
		return AK__RUN_DONE;
	}
	switch (end_pending(t, &entry)) {
	case END_REQUEUE:
		t->schedule(t, t->arg); /* the entry's reference goes with it */
		return AK__RUN_PENDING;
	case END_CANCEL:
		cancel_claimed(t, AK_ECANCELED);
		put_life(t, entry);
		return AK__RUN_DONE;
	default:
		if (entry)
			ak__task_put(t);
		return AK__RUN_PENDING;
	}
}

int ak__task_run_unowned_full(struct ak_task *t, struct ak__task_runner *r)
{
	int rc = begin(t);
	if (rc == BEGIN_CANCEL) {
		/* A cancel made away from the task's thread: performed here,
		 * on it, instead of a poll. */
		cancel_claimed(t, AK_ECANCELED);
		put2(t);                /* the life reference and the entry's */
		return AK__RUN_DONE;
	}
	if (rc != 0)
		return rc;
	t->lent = 0;
	rc = ak__task_poll(t, r);
	/* Read while RUNNING is ours: the entry's reference, unless lent. */
	return ak__task_run_unowned_end(t, rc, !t->lent);
}

int ak__task_abort_owned(struct ak_task *t, int rc)
{
	struct ak__task_owner *o = t->owner;
	uintptr_t prev = ak__task_owner_enter(o);
	int ret = 0;
	if (t->lstate & AK__L_DONE)
		goto out;
	if (t->lstate & AK__L_RUNNING) {
		ret = AK_EBUSY;         /* from its own poll (or cancel) */
		goto out;
	}
	t->lstate |= AK__L_RUNNING;
	cancel_claimed(t, rc);
	/* Done: the counts went atomic (settle), so the life reference is
	 * dropped after leaving, and nothing of t or of its owner is read
	 * after the drop that may free t and, with it, the owner's last
	 * reference to its executor's shared part. */
	ak__task_owner_leave(o, prev);
	ak__task_put(t);                /* the life reference */
	return 0;
out:
	ak__task_owner_leave(o, prev);
	return ret;
}

/*
 * A cancel of a bound task made away from its thread, found neither
 * running nor finished (s): marks CANCEL and gives the task an entry, as
 * a wake would, so that the run of that entry, on the task's thread,
 * performs the cancel (begin() sees CANCEL).  A poll that starts first
 * sees CANCEL only when it ends (end_pending()), and cancels then unless
 * it completed the task.
 */
static int request_cancel(struct ak_task *t, uint32_t s)
{
	uint32_t next;
	do {
		if (s & AK__T_DONE)
			return 0;
		if (s & AK__T_RUNNING)
			next = s | AK__T_CANCEL;
		else if (s & AK__T_CANCEL)
			return 0;               /* requested already */
		else
			next = s | AK__T_CANCEL | AK__T_SCHEDULED;
		/* release: what this thread wrote before the cancel is seen
		 * by the body's cancel, after the acquire in begin() or
		 * end_pending().  acquire: as in ak__task_wake(), the run
		 * queue's last use of the task happens before the push. */
	} while (!ak__cas_weak(&t->state, &s, next, AK__ACQ_REL, AK__ACQUIRE));
	if (s & (AK__T_SCHEDULED | AK__T_RUNNING))
		return 0;               /* that entry, or that poll, carries it */
	ak__ref_get(&t->refs);          /* the entry's */
	t->schedule(t, t->arg);
	return 0;
}

int ak__task_abort(struct ak_task *t, int rc)
{
	if (t->owner) {
		if (owned_here(t) || (t->hooks->owner_here && t->hooks->owner_here(t)))
			return ak__task_abort_owned(t, rc);
		/* Another thread's: the owner performs it at its next run.
		 * acquire: a finished task is left alone. */
		if (!(ak__load(&t->state, AK__ACQUIRE) & AK__T_DONE))
			signal_remote(t, AK__R_QUEUED | AK__R_CANCEL);
		return 0;
	}
	/* A bound task is cancelled on its own thread only. */
	int away = t->home && t->home != &tls_home;
	/* acquire: pairs with the release in finish() (DONE) and in
	 * end_pending() (the last poll's writes, which the cancel reads). */
	uint32_t s = ak__load(&t->state, AK__ACQUIRE);
	for (;;) {
		if (s & AK__T_DONE)
			return 0;
		if (s & AK__T_RUNNING) {
			if (tls_polling == t)
				return AK_EBUSY;
			if (s & AK__T_CANCEL)
				return 0;
			/* release: pairs with the acquire in end_pending(). */
			if (ak__cas_weak(&t->state, &s, s | AK__T_CANCEL,
			                 AK__RELEASE, AK__ACQUIRE))
				return 0;
			continue;
		}
		if (away)
			return request_cancel(t, s);
		if (ak__cas_weak(&t->state, &s, s | AK__T_RUNNING, AK__ACQUIRE,
		                 AK__ACQUIRE))
			break;
	}
	/* Our own reference: the life reference may be the last one a
	 * released task has. */
	ak__ref_get(&t->refs);
	cancel_claimed(t, rc);
	put2(t);                /* the life reference and ours */
	return 0;
}

/* ---- the public task API ---------------------------------------------------- */

AK_EXPORT int ak_task_new(struct ak_future *body, ak_task_schedule_fn schedule,
                          void *arg, struct ak_task **out)
{
	return ak_task_new_with_drop(body, schedule, NULL, arg, out);
}

AK_EXPORT int ak_task_new_with_drop(struct ak_future *body,
                                    ak_task_schedule_fn schedule,
                                    ak_task_drop_fn drop, void *arg,
                                    struct ak_task **out)
{
	if (!body || !schedule || !out)
		return AK_EINVAL;
	if (body->state & AK_FUTURE_OWNED)
		return AK_EBUSY;
	if (ak__future_claim(body) != 0)
		return AK_EINVAL;
	struct ak_task *t = ak__alloc(sizeof(*t));
	if (!t) {
		body->state &= ~(uintptr_t)AK_FUTURE_OWNED;
		return AK_ENOMEM;
	}
	/* The handle's reference and the life reference. */
	ak__task_init(t, body, schedule, arg, NULL, 2, 0, NULL, NULL);
	t->drop = drop;
	*out = t;
	return 0;
}

AK_EXPORT int ak_task_bind(struct ak_task *task)
{
	if (!task || task->hooks)
		return AK_EINVAL;
	/* Relaxed: a check of the caller's order of calls, not a sync. */
	if (ak__load(&task->state, AK__RELAXED) != 0 || task->home)
		return AK_EBUSY;
	task->home = &tls_home;
	return 0;
}

AK_EXPORT int ak_task_schedule(struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	ak__task_wake(task);
	return 0;
}

AK_EXPORT int ak_task_run(struct ak_task *task)
{
	/* A task of the library's own executors has its entry in their
	 * queues: running it here would leave them a stale pointer. */
	if (!task || task->hooks)
		return AK_EINVAL;
	int rc = ak__task_run(task);
	return rc == AK__RUN_STALE ? 0 : rc;
}

AK_EXPORT int ak_task_cancel(struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	return ak__task_abort(task, AK_ECANCELED);
}

AK_EXPORT int ak_task_result(const struct ak_task *task)
{
	if (!task)
		return AK_EINVAL;
	struct ak_task *t = (struct ak_task *)(uintptr_t)task;
	/* acquire: pairs with the release in finish(). */
	if (!(ak__load(&t->state, AK__ACQUIRE) & AK__T_DONE))
		return AK_PENDING;
	return t->result;
}

AK_EXPORT void ak_task_release(struct ak_task *task)
{
	if (task)
		ak__task_put(task);
}
