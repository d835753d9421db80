/* sim/scenarios/sync.c: the semaphore and Notify under every schedule. */
#include "scen.h"

/* ---- semaphore --------------------------------------------------------------- */

static struct ak_semaphore *sem;

static void *acquire_one(void *arg)
{
	(void)arg;
	struct ak_semaphore_acquire_op op = { 0 };
	int rc = ak_semaphore_acquire_blocking(&op, sem, 1, AK_DEADLINE_NEVER);
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

/* A permit given back races with the close: every waiter wakes, with the
 * permit or AK_EPIPE (the close must wake what it collected). */
static void sem_permit_return_vs_close(void)
{
	CHECK(ak_semaphore_new(&sem, 1) == 0);
	pthread_t a = spawn(acquire_one, NULL);
	pthread_t b = spawn(acquire_one, NULL);
	pthread_t c = spawn(close_sem, NULL);
	join(a);
	join(b);
	join(c);
	CHECK(ak_semaphore_free(sem) == 0);
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

const struct ak_sim_scenario sim_sync_scenarios[] = {
	{ "sem_permit_return_vs_close", sem_permit_return_vs_close,
	  "two acquirers, one holds the permit and gives it back, a close" },
	{ "sem_cancel_vs_grant", sem_cancel_vs_grant,
	  "an acquire cancelled while add_permits grants it" },
	{ "notify_one_vs_wait", notify_one_vs_wait,
	  "notify_one before, during or after a wait registers" },
	{ "notify_one_vs_cancel", notify_one_vs_cancel,
	  "notify_one granted to a waiter that cancels; another waits" },
	{ NULL, NULL, NULL },
};
