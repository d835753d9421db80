/* sim/scenarios/sync.c: semaphore, Notify, Mutex, RwLock, Barrier, OnceCell, SetOnce. */
#include <stdint.h>
#include <string.h>

#include "scen.h"

/* ---- semaphore --------------------------------------------------------------- */

static struct ak_semaphore *sem;

/* Acquires (uintptr_t)arg permits (1 for NULL) and gives them back. */
static void *acquire_n(void *arg)
{
	uint64_t n = arg ? (uintptr_t)arg : 1;
	struct ak_semaphore_acquire_op op = { 0 };
	int rc = ak_semaphore_acquire_blocking(&op, sem, n, AK_DEADLINE_NEVER);
	CHECK(rc == 0 || rc == AK_EPIPE);
	if (rc == 0)
		CHECK(ak_semaphore_release(&op) == 0);
	return NULL;
}

static void *close_sem(void *arg)
{
	(void)arg;
	CHECK(ak_semaphore_close(sem) == 0);
	return NULL;
}

/* Two acquirers of one permit each and a third thread race on a semaphore
 * of the given permits; afterwards it holds them all again. */
static void sem_two_acquirers_and(uint64_t permits, void *(*third)(void *), void *arg)
{
	CHECK(ak_semaphore_new(&sem, permits) == 0);
	pthread_t a = spawn(acquire_n, NULL);
	pthread_t b = spawn(acquire_n, NULL);
	pthread_t c = spawn(third, arg);
	join(a);
	join(b);
	join(c);
	CHECK(ak_semaphore_available_permits(sem) == permits);
	CHECK(ak_semaphore_free(sem) == 0);
}

/* A permit given back races with the close: every waiter wakes, with the
 * permit or AK_EPIPE (the close must wake what it collected). */
static void sem_permit_return_vs_close(void)
{
	sem_two_acquirers_and(1, close_sem, NULL);
}

static void *add_one(void *arg)
{
	(void)arg;
	CHECK(ak_semaphore_add_permits(sem, 1) == 0);
	return NULL;
}

static void *acquire_then_cancel(void *arg)
{
	(void)arg;
	struct ak_semaphore_acquire_op op = { 0 };
	CHECK(ak_semaphore_acquire_init(&op, sem, 1) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0 && ak_semaphore_release(&op) == 0);
	return NULL;
}

/* A cancel races with the grant of the permit it waited for: granted or
 * not, the permit ends up back in the semaphore. */
static void sem_cancel_vs_grant(void)
{
	CHECK(ak_semaphore_new(&sem, 0) == 0);
	pthread_t a = spawn(acquire_then_cancel, NULL);
	pthread_t b = spawn(add_one, NULL);
	join(a);
	join(b);
	CHECK(ak_semaphore_available_permits(sem) == 1);
	CHECK(ak_semaphore_free(sem) == 0);
}

/* Two releases add to the word while an acquire of both permits parks:
 * a release that finds WAITERS moves what the word holds to the queue,
 * the park takes what was added before it, and no permit is lost or
 * given twice. */
static void sem_returns_vs_park(void)
{
	sem_two_acquirers_and(2, acquire_n, (void *)(uintptr_t)2);
}

/* ---- Notify ------------------------------------------------------------------------ */

static struct ak_notify *notify;

static void *wait_notified(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_blocking(&op, notify, AK_DEADLINE_NEVER) == 0);
	return NULL;
}

static void *notify_one(void *arg)
{
	(void)arg;
	CHECK(ak_notify_one(notify) == 0);
	return NULL;
}

/* notify_one before or after the wait registers: the waiter always wakes
 * (a permit is stored when nobody waits). */
static void notify_one_vs_wait(void)
{
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_notified, NULL);
	pthread_t b = spawn(notify_one, NULL);
	join(a);
	join(b);
	CHECK(ak_notify_free(notify) == 0);
}

static void *wait_or_cancel(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_init(&op, notify) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING) {
		ak_future_cancel(&op.future);
	} else {
		/* It took the notification: the other waiter gets another. */
		CHECK(rc == 0);
		CHECK(ak_notify_one(notify) == 0);
	}
	return NULL;
}

/* A notification granted to a waiter that cancels is passed on to the
 * other waiter (or stored): the second waiter always wakes. */
static void notify_one_vs_cancel(void)
{
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_or_cancel, NULL);
	pthread_t b = spawn(wait_notified, NULL);
	pthread_t c = spawn(notify_one, NULL);
	join(a);
	join(b);
	join(c);
	CHECK(ak_notify_free(notify) == 0);
}

static void *notify_waiters_then_one(void *arg)
{
	(void)arg;
	CHECK(ak_notify_waiters(notify) == 0);
	CHECK(ak_notify_one(notify) == 0);
	return NULL;
}

/* notify_waiters is atomic: a waiter registered before it completes by
 * it, so the notify_one after it is stored or goes to a later waiter, and
 * the other thread's wait always ends. */
static void notify_waiters_vs_notify_one(void)
{
	struct ak_notified_op early = { 0 };
	CHECK(ak_notify_new(&notify) == 0);
	CHECK(ak_notified_init(&early, notify) == 0);
	CHECK(poll_once(&early.future) == AK_PENDING);
	pthread_t a = spawn(wait_notified, NULL);
	pthread_t b = spawn(notify_waiters_then_one, NULL);
	join(b);
	CHECK(poll_once(&early.future) == 0);
	join(a);
	CHECK(ak_notify_free(notify) == 0);
}

static const struct ak_waker_vtable other_vtable;

/* A waker of its own (the noop's twin): a poll with it after one with the
 * noop registers it anew.  It counts its live clones (other_live): one
 * dropped or woken twice, or never, shows at the scenario's end. */
static long other_live;

static struct ak_waker other_clone(const void *data)
{
	other_live++;
	return (struct ak_waker){ data, &other_vtable };
}

static void other_release(const void *data)
{
	(void)data;
	other_live--;
}

static void other_wake_by_ref(const void *data)
{
	(void)data;
}

static const struct ak_waker_vtable other_vtable = {
	AK_WAKER_ABI_VERSION, sizeof(struct ak_waker_vtable),
	other_clone, other_release, other_wake_by_ref, other_release,
};
static int other_data;

static int poll_other(struct ak_future *f)
{
	struct ak_context cx;
	CHECK(ak_context_init(&cx, (struct ak_waker){ &other_data, &other_vtable }, NULL) == 0);
	return ak_context_done(&cx, ak_future_poll(f, &cx));
}

static int consumed;

/* Waits in the slot, polls again with another waker (the cell's waker
 * taken back and a new one registered), then cancels if still waiting. */
static void *wait_rewaker_or_cancel(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_init(&op, notify) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		rc = poll_other(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0);
	consumed = rc == 0;
	return NULL;
}

/* The slot's lock-free race: its operation registers another waker while
 * notify_one takes the waker and fills the slot, and then completes or
 * cancels.  The notification is consumed, or passed on and stored: a
 * fresh operation finds it exactly when the first did not. */
static void notify_slot_rewaker_vs_notify_one(void)
{
	struct ak_notified_op fresh = { 0 };
	other_live = 0;
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_rewaker_or_cancel, NULL);
	pthread_t b = spawn(notify_one, NULL);
	join(a);
	join(b);
	CHECK(ak_notified_init(&fresh, notify) == 0);
	int rc = poll_once(&fresh.future);
	CHECK((rc == 0) == !consumed);
	if (rc == AK_PENDING)
		ak_future_cancel(&fresh.future);
	CHECK(ak_notify_free(notify) == 0);
	CHECK(other_live == 0);
}

/* As wait_or_cancel, with the counted waker. */
static void *wait_other_or_cancel(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_init(&op, notify) == 0);
	int rc = poll_other(&op.future);
	if (rc == AK_PENDING) {
		ak_future_cancel(&op.future);
	} else {
		CHECK(rc == 0);
		CHECK(ak_notify_one(notify) == 0);
	}
	return NULL;
}

/* The slot changes hands: a waiter notified between its claim and its
 * registration leaves (its clone dropped, read before the slot is free)
 * as a blocked thread claims the slot and writes its own waker there;
 * the notification ends up with the blocked thread either way. */
static void notify_slot_handover(void)
{
	other_live = 0;
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_other_or_cancel, NULL);
	pthread_t b = spawn(wait_notified, NULL);
	pthread_t c = spawn(notify_one, NULL);
	join(a);
	join(b);
	join(c);
	CHECK(ak_notify_free(notify) == 0);
	CHECK(other_live == 0);
}

/* Waits in the slot with the counted waker, then cancels. */
static void *wait_other_then_cancel(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_init(&op, notify) == 0);
	if (poll_other(&op.future) == AK_PENDING)
		ak_future_cancel(&op.future);
	return NULL;
}

static void *notify_waiters_only(void *arg)
{
	(void)arg;
	CHECK(ak_notify_waiters(notify) == 0);
	return NULL;
}

/* notify_waiters takes the slot's waker in the CAS that moves the
 * generation; the slot's operation leaves meanwhile (dropping its clone),
 * so that CAS fails and the next finds the slot free: the copy of the
 * waker the failed one read is not woken. */
static void notify_waiters_vs_slot_cancel(void)
{
	other_live = 0;
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_other_then_cancel, NULL);
	pthread_t b = spawn(notify_waiters_only, NULL);
	join(a);
	join(b);
	CHECK(ak_notify_free(notify) == 0);
	CHECK(other_live == 0);
}

static void *wait_then_notify(void *arg)
{
	(void)arg;
	struct ak_notified_op op = { 0 };
	CHECK(ak_notified_blocking(&op, notify, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_notify_one(notify) == 0);
	return NULL;
}

/* tokio's loom notify_multi: two waiters race for the slot (the loser
 * queues behind it, or takes a permit), each passes the notification on
 * when woken; the last one is stored for the main thread's wait. */
static void notify_slot_claim_race(void)
{
	struct ak_notified_op op = { 0 };
	CHECK(ak_notify_new(&notify) == 0);
	pthread_t a = spawn(wait_then_notify, NULL);
	pthread_t b = spawn(wait_then_notify, NULL);
	CHECK(ak_notify_one(notify) == 0);
	join(a);
	join(b);
	CHECK(ak_notified_blocking(&op, notify, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_notify_free(notify) == 0);
}

/* ---- Mutex -------------------------------------------------------------------------- */

static struct ak_mutex *mutex;
static int in_section;

static void *lock_count_unlock(void *arg)
{
	(void)arg;
	struct ak_mutex_lock_op op = { 0 };
	CHECK(ak_mutex_lock_blocking(&op, mutex, AK_DEADLINE_NEVER) == 0);
	CHECK(++in_section == 1);
	ak_sim_yield();
	in_section--;
	CHECK(ak_mutex_unlock(&op) == 0);
	return NULL;
}

static struct ak_mutex_lock_op held;

static void *unlock_held(void *arg)
{
	(void)arg;
	CHECK(ak_mutex_unlock(&held) == 0);
	return NULL;
}

/* Two waiters queue in order while the lock is held; the unlock, racing
 * with a third locker, hands the lock to the first (FIFO), then to the
 * second; the third gets it last or before them, never between. */
static void mutex_unlock_grants_in_order(void)
{
	struct ak_mutex_lock_op b = { 0 }, c = { 0 };
	memset(&held, 0, sizeof(held));
	in_section = 0;
	CHECK(ak_mutex_new(&mutex, AK_LOCK_NODIAG) == 0);
	CHECK(ak_mutex_lock_blocking(&held, mutex, AK_DEADLINE_NEVER) == 0);
	CHECK(ak_mutex_lock_init(&b, mutex) == 0);
	CHECK(ak_mutex_lock_init(&c, mutex) == 0);
	CHECK(poll_once(&b.future) == AK_PENDING);
	CHECK(poll_once(&c.future) == AK_PENDING);
	pthread_t t = spawn(unlock_held, NULL);
	pthread_t d = spawn(lock_count_unlock, NULL);
	join(t);
	CHECK(poll_once(&b.future) == 0);
	CHECK(poll_once(&c.future) == AK_PENDING);
	CHECK(ak_mutex_unlock(&b) == 0);
	CHECK(poll_once(&c.future) == 0);
	CHECK(ak_mutex_unlock(&c) == 0);
	join(d);
	CHECK(ak_mutex_free(mutex) == 0);
}

static void *lock_then_cancel(void *arg)
{
	(void)arg;
	struct ak_mutex_lock_op op = { 0 };
	CHECK(ak_mutex_lock_init(&op, mutex) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING)
		ak_future_cancel(&op.future);
	else
		CHECK(rc == 0 && ak_mutex_unlock(&op) == 0);
	return NULL;
}

/* A lock cancelled while the unlock grants it passes the lock on: the
 * blocked locker always gets it. */
static void mutex_cancel_vs_grant(void)
{
	memset(&held, 0, sizeof(held));
	in_section = 0;
	CHECK(ak_mutex_new(&mutex, AK_LOCK_NODIAG) == 0);
	CHECK(ak_mutex_lock_blocking(&held, mutex, AK_DEADLINE_NEVER) == 0);
	pthread_t a = spawn(lock_then_cancel, NULL);
	pthread_t b = spawn(lock_count_unlock, NULL);
	pthread_t c = spawn(unlock_held, NULL);
	join(a);
	join(b);
	join(c);
	CHECK(!ak_mutex_is_locked(mutex));
	CHECK(ak_mutex_free(mutex) == 0);
}

/* ---- RwLock ------------------------------------------------------------------------ */

static struct ak_rwlock *rwlock;
static int readers, writers;

static void *read_section(void *arg)
{
	(void)arg;
	struct ak_rwlock_op op = { 0 };
	CHECK(ak_rwlock_read_blocking(&op, rwlock, AK_DEADLINE_NEVER) == 0);
	readers++;
	CHECK(writers == 0);
	ak_sim_yield();
	readers--;
	CHECK(ak_rwlock_unlock(&op) == 0);
	return NULL;
}

static void *write_section(void *arg)
{
	(void)arg;
	struct ak_rwlock_op op = { 0 };
	CHECK(ak_rwlock_write_blocking(&op, rwlock, AK_DEADLINE_NEVER) == 0);
	CHECK(++writers == 1 && readers == 0);
	ak_sim_yield();
	writers--;
	CHECK(ak_rwlock_unlock(&op) == 0);
	return NULL;
}

static void *write_then_cancel(void *arg)
{
	(void)arg;
	struct ak_rwlock_op op = { 0 };
	CHECK(ak_rwlock_write_init(&op, rwlock) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING) {
		ak_future_cancel(&op.future);
	} else {
		CHECK(rc == 0 && ++writers == 1 && readers == 0);
		writers--;
		CHECK(ak_rwlock_unlock(&op) == 0);
	}
	return NULL;
}

/* A reader, a writer and a writer that cancels: exclusion holds, and
 * the cancelled write never strands the reader queued behind it. */
static void rwlock_cancel_vs_grant(void)
{
	readers = writers = 0;
	CHECK(ak_rwlock_new(&rwlock, 4, AK_LOCK_NODIAG) == 0);
	pthread_t a = spawn(read_section, NULL);
	pthread_t b = spawn(write_then_cancel, NULL);
	pthread_t c = spawn(write_section, NULL);
	join(a);
	join(b);
	join(c);
	CHECK(ak_rwlock_free(rwlock) == 0);
}

/* ---- Barrier ------------------------------------------------------------------------ */

static struct ak_barrier *barrier;
static int leaders;

static void *wait_twice(void *arg)
{
	(void)arg;
	for (int gen = 0; gen < 2; gen++) {
		struct ak_barrier_wait_op op = { 0 };
		int leader = 0;
		CHECK(ak_barrier_wait_blocking(&op, barrier, &leader, AK_DEADLINE_NEVER) == 0);
		leaders += leader;
	}
	return NULL;
}

/* Three parties, two generations: everyone is released each time, with
 * exactly one leader per generation. */
static void barrier_generations(void)
{
	leaders = 0;
	CHECK(ak_barrier_new(&barrier, 3) == 0);
	pthread_t a = spawn(wait_twice, NULL);
	pthread_t b = spawn(wait_twice, NULL);
	wait_twice(NULL);
	join(a);
	join(b);
	CHECK(leaders == 2);
	CHECK(ak_barrier_free(barrier) == 0);
}

static void *read_then_cancel(void *arg)
{
	(void)arg;
	struct ak_rwlock_op op = { 0 };
	CHECK(ak_rwlock_read_init(&op, rwlock) == 0);
	int rc = poll_once(&op.future);
	if (rc == AK_PENDING) {
		ak_future_cancel(&op.future);
	} else {
		CHECK(rc == 0 && writers == 0);
		CHECK(ak_rwlock_unlock(&op) == 0);
	}
	return NULL;
}

static struct ak_rwlock_op wheld;

static void *write_unlock(void *arg)
{
	(void)arg;
	writers--;
	CHECK(ak_rwlock_unlock(&wheld) == 0);
	return NULL;
}

/* A read cancelled as the writer's unlock grants it; another reader and a
 * writer queued behind it still get the lock. */
static void rwlock_read_cancel_vs_grant(void)
{
	readers = writers = 0;
	memset(&wheld, 0, sizeof(wheld));
	CHECK(ak_rwlock_new(&rwlock, 4, AK_LOCK_NODIAG) == 0);
	CHECK(ak_rwlock_write_blocking(&wheld, rwlock, AK_DEADLINE_NEVER) == 0);
	writers = 1;
	pthread_t a = spawn(read_then_cancel, NULL);
	pthread_t b = spawn(read_section, NULL);
	pthread_t c = spawn(write_unlock, NULL);
	join(a);
	join(c);
	write_section(NULL);
	join(b);
	CHECK(ak_rwlock_free(rwlock) == 0);
}

/* ---- OnceCell, SetOnce ---------------------------------------------------------------- */

static struct ak_once_cell *cell;

static void *get_or_init(void *arg)
{
	int mine = (int)(intptr_t)arg;
	struct ak_once_cell_op op = { 0 };
	const void *value = NULL;
	CHECK(ak_once_cell_get_or_init_blocking(&op, cell, NULL, &mine, &value,
	                                        AK_DEADLINE_NEVER) == 0);
	const void *again = NULL;
	CHECK(ak_once_cell_get(cell, &again) == 0 && again == value);
	return (void *)(intptr_t)*(const int *)value;
}

/* Two initializers race: one value wins and both see it, at one address. */
static void once_cell_init_race(void)
{
	void *r1, *r2;
	CHECK(ak_once_cell_new(&cell, sizeof(int), NULL, NULL) == 0);
	pthread_t a = spawn(get_or_init, (void *)(intptr_t)1);
	r2 = get_or_init((void *)(intptr_t)2);
	CHECK(ak_sim_thread_join(a, &r1) == 0);
	CHECK(r1 == r2);
	CHECK(ak_once_cell_free(cell) == 0);
}

static struct ak_set_once *set_once;

static void *set_seven(void *arg)
{
	(void)arg;
	int v = 7;
	CHECK(ak_set_once_set(set_once, &v) == 0);
	return NULL;
}

/* A wait registers as the value is set: it always sees the value. */
static void set_once_set_vs_wait(void)
{
	struct ak_set_once_wait_op op = { 0 };
	const void *value = NULL;
	CHECK(ak_set_once_new(&set_once, sizeof(int), NULL, NULL) == 0);
	pthread_t a = spawn(set_seven, NULL);
	CHECK(ak_set_once_wait_blocking(&op, set_once, &value, AK_DEADLINE_NEVER) == 0);
	CHECK(*(const int *)value == 7);
	join(a);
	CHECK(ak_set_once_free(set_once) == 0);
}

const struct ak_sim_scenario sim_sync_scenarios[] = {
	{ "sem_permit_return_vs_close", sem_permit_return_vs_close,
	  "two acquirers, one holds the permit and gives it back, a close" },
	{ "sem_cancel_vs_grant", sem_cancel_vs_grant,
	  "an acquire cancelled while add_permits grants it" },
	{ "sem_returns_vs_park", sem_returns_vs_park,
	  "two releases add to the word while an acquire of both parks" },
	{ "notify_one_vs_wait", notify_one_vs_wait,
	  "notify_one before, during or after a wait registers" },
	{ "notify_one_vs_cancel", notify_one_vs_cancel,
	  "notify_one granted to a waiter that cancels; another waits" },
	{ "notify_waiters_vs_notify_one", notify_waiters_vs_notify_one,
	  "notify_waiters then notify_one while a second waiter registers" },
	{ "notify_slot_rewaker_vs_notify_one", notify_slot_rewaker_vs_notify_one,
	  "the slot's waiter registers another waker as notify_one fills it" },
	{ "notify_slot_handover", notify_slot_handover,
	  "a waiter notified before it registered leaves as another claims" },
	{ "notify_waiters_vs_slot_cancel", notify_waiters_vs_slot_cancel,
	  "notify_waiters takes the slot's waker as its waiter cancels" },
	{ "notify_slot_claim_race", notify_slot_claim_race,
	  "two waiters race for the slot, each passing the notification on" },
	{ "mutex_unlock_grants_in_order", mutex_unlock_grants_in_order,
	  "an unlock grants the first of two queued waiters; a third races" },
	{ "mutex_cancel_vs_grant", mutex_cancel_vs_grant,
	  "a lock cancelled while the unlock grants it; another locker waits" },
	{ "rwlock_cancel_vs_grant", rwlock_cancel_vs_grant,
	  "a reader, a writer, a writer that cancels" },
	{ "rwlock_read_cancel_vs_grant", rwlock_read_cancel_vs_grant,
	  "a read cancelled as the writer's unlock grants it" },
	{ "barrier_generations", barrier_generations,
	  "three parties meet twice" },
	{ "once_cell_init_race", once_cell_init_race,
	  "two get_or_init race to initialise" },
	{ "set_once_set_vs_wait", set_once_set_vs_wait,
	  "a SetOnce wait registers as the value is set" },
	{ NULL, NULL, NULL },
};
