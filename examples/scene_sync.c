/*
 * examples/scene_sync.c: the Semaphore, Notify and Barrier scenes.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>

#include "demo.h"

/* ---- Semaphore: FIFO, head-of-line, cancel passes permits on ------------- */

struct acquirer {
	struct ak_future future;
	struct ak_semaphore_acquire_op op;
	struct ak_semaphore *sem;
	const char *name;
	uint64_t n;
	int started;
	int *order, *norder;
};

static int acquirer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct acquirer *a = (struct acquirer *)f;

	if (!a->started) {
		ak_semaphore_acquire_init(&a->op, a->sem, a->n);
		a->started = 1;
	}
	int rc = ak_future_poll(&a->op.future, cx);
	if (rc != 0)
		return rc;
	printf("    %s got %llu permit(s)\n", a->name, (unsigned long long)a->n);
	a->order[(*a->norder)++] = a->name[0];
	ak_semaphore_release(&a->op);
	return 0;
}

static void acquirer_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct acquirer *)f)->op.future);
}

static const struct ak_future_vtable acquirer_vtable = { acquirer_poll, acquirer_cancel };

void scene_semaphore_fifo(void)
{
	struct ak_executor *ex = NULL;
	struct ak_semaphore *sem = NULL;
	struct ak_semaphore_acquire_op mine, late;
	struct acquirer t[3];
	const char *names[3] = { "A(3)", "B(1)", "C(1)" };
	uint64_t wants[3] = { 3, 1, 1 };
	int order[3], norder = 0;

	printf("\n[semaphore] 2 permits, all held by main; A wants 3, then B and C want 1\n");
	ak_executor_new(&ex);
	ak_semaphore_new(&sem, 2);
	memset(&mine, 0, sizeof(mine));
	memset(&late, 0, sizeof(late));
	CHECK(ak_semaphore_try_acquire(&mine, sem, 2) == 0, "main holds both permits");
	for (int i = 0; i < 3; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i] = (struct acquirer){ .sem = sem, .name = names[i], .n = wants[i],
		                          .order = order, .norder = &norder };
		ak_future_init(&t[i].future, &acquirer_vtable);
		ak_executor_spawn(ex, &t[i].future, NULL);
	}
	ak_executor_run(ex);
	printf("    main releases its 2 and adds 1: A (head of the line) takes all 3\n");
	ak_semaphore_release(&mine);
	ak_semaphore_add_permits(sem, 1);
	CHECK(ak_semaphore_try_acquire(&late, sem, 1) == AK_EAGAIN,
	      "a try_acquire does not jump the queue while A waits");
	ak_executor_run(ex);
	CHECK(norder == 3 && order[0] == 'A' && order[1] == 'B' && order[2] == 'C',
	      "served in arrival order: A, B, C");
	CHECK(ak_semaphore_available_permits(sem) == 3, "all 3 permits are back");
	CHECK(ak_semaphore_add_permits(sem, AK_SEMAPHORE_MAX_PERMITS) == AK_EOVERFLOW,
	      "adding past the maximum: %s, nothing changed", ak_err_name(AK_EOVERFLOW));
	ak_semaphore_close(sem);
	CHECK(ak_semaphore_try_acquire(&late, sem, 1) == AK_EPIPE, "closed: acquires get %s",
	      ak_err_name(AK_EPIPE));
	ak_executor_free(ex);
	ak_semaphore_free(sem);
}

/* ---- Notify: a stored permit, notify_waiters reaching unpolled ops -------- */

void scene_notify(void)
{
	struct ak_notify *n = NULL;
	struct ak_notified_op a, b;

	printf("\n[notify] notify_one before anyone waits stores one permit\n");
	ak_notify_new(&n);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ak_notify_one(n);
	ak_notify_one(n);
	CHECK(ak_notified_blocking(&a, n, ak_deadline_in(1000000)) == 0,
	      "the first wait takes the permit at once");
	CHECK(ak_notified_blocking(&a, n, ak_deadline_in(1000000)) == AK_ETIMEDOUT,
	      "two notify_one stored only one: the second wait times out");
	printf("    an op initialised (not yet polled), then notify_waiters\n");
	ak_notified_init(&b, n);
	ak_notify_waiters(n);
	CHECK(ak_block_on(&b.future, ak_deadline_in(1000000)) == 0,
	      "the op initialised before notify_waiters completes");
	CHECK(ak_notified_blocking(&a, n, ak_deadline_in(1000000)) == AK_ETIMEDOUT,
	      "notify_waiters stored no permit");
	CHECK(ak_notify_free(n) == 0, "nobody waits: the notify frees");
}

/* ---- Barrier: three threads, three generations, one leader each ----------- */

struct party {
	pthread_t th;
	struct ak_barrier *b;
	int id;
	int leads;
};

static void *party_main(void *arg)
{
	struct party *p = arg;
	struct ak_barrier_wait_op op;
	int leader;

	memset(&op, 0, sizeof(op));
	for (int g = 0; g < 3; g++) {
		if (ak_barrier_wait_blocking(&op, p->b, &leader, AK_DEADLINE_NEVER) == 0 && leader)
			p->leads++;
	}
	return NULL;
}

void scene_barrier(void)
{
	struct ak_barrier *b = NULL;
	struct party p[3];
	int leads = 0;

	printf("\n[barrier] three threads meet three times at a barrier of 3\n");
	ak_barrier_new(&b, 3);
	for (int i = 0; i < 3; i++) {
		p[i] = (struct party){ .b = b, .id = i };
		pthread_create(&p[i].th, NULL, party_main, &p[i]);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(p[i].th, NULL);
		printf("    thread %d led %d generation(s)\n", i, p[i].leads);
		leads += p[i].leads;
	}
	CHECK(leads == 3, "exactly one leader per generation (%d leaders, 3 generations)", leads);
	CHECK(ak_barrier_free(b) == 0, "the barrier frees");
}
