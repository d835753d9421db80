/*
 * examples/semaphore_example.c: the semaphore of ak_semaphore(3): at most
 * four tasks inside, and a plain thread that waits at most 10 ms.
 *
 * ak_semaphore(3) quotes it verbatim in its EXAMPLES;
 * scripts/man-examples.sh (make check-examples) checks that it still does,
 * then builds and runs it.  Exit status 0 when every task finished and
 * every permit came back.
 */
#include <string.h>
#include <awaitkit.h>

static struct ak_semaphore *sem;

struct job {
	struct ak_future future;
	struct ak_await aw;
	struct ak_semaphore_acquire_op permit;
	int holding, rc;
};

static int job_poll(struct ak_future *f, struct ak_context *cx)
{
	struct job *j = (struct job *)f;

	AK_BEGIN(&j->aw, cx);
	ak_semaphore_acquire_init(&j->permit, sem, 1);
	AK_AWAIT(&j->aw, &j->permit.future, j->rc);
	if (j->rc != 0)
		AK_RETURN(&j->aw, j->rc);       /* AK_EPIPE: closed */
	j->holding = 1;
	/* ... work, awaiting other operations ... */
	j->holding = 0;
	ak_semaphore_release(&j->permit);
	AK_CLEANUP(&j->aw);
	if (j->holding)
		ak_semaphore_release(&j->permit);
	AK_END(&j->aw);
}

static void job_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct job *)f)->aw, f);
}

static const struct ak_future_vtable job_vtable = {
	job_poll, job_cancel
};

static int eight_jobs(void)
{
	struct ak_executor *ex;
	struct job j[8];
	int i;

	if (ak_executor_new(&ex) != 0)
		return 1;
	for (i = 0; i < 8; i++) {
		memset(&j[i], 0, sizeof j[i]);
		ak_future_init(&j[i].future, &job_vtable);
		ak_executor_spawn(ex, &j[i].future, NULL);
	}
	ak_executor_run(ex);
	ak_executor_free(ex);
	return ak_semaphore_available_permits(sem) == 4 ? 0 : 1;
}

static int took;

static void work(void)
{
	took = ak_semaphore_available_permits(sem) == 2;
}

static int plain_thread(void)
{
	struct ak_semaphore_acquire_op op = {0};

	if (ak_semaphore_acquire_blocking(&op, sem, 2,
	    ak_deadline_in(10 * 1000000)) == 0) {
		work();                 /* two permits held */
		ak_semaphore_release(&op);
	}
	return took && ak_semaphore_available_permits(sem) == 4 ? 0 : 1;
}

int
main(void)
{
	int fails;

	if (ak_semaphore_new(&sem, 4) != 0)
		return 1;
	fails = eight_jobs() + plain_thread();
	ak_semaphore_free(sem);
	return fails != 0;
}
