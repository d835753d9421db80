/*
 * tests/install/uv_hello.c: built by scripts/check-install.sh against the
 * installed awaitkit-uv with `pkg-config --cflags --libs awaitkit-uv`
 * alone: one task on a libuv loop, woken from the loop's own timer.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <uv.h>
#include <awaitkit.h>
#include <awaitkit/uv.h>

struct nap {
	struct ak_future future;
	struct ak_uv_sleep_op sleep;
	struct ak_uv *uv;
	int started;
};

static int nap_poll(struct ak_future *f, struct ak_context *cx)
{
	struct nap *n = (struct nap *)f;

	if (!n->started) {
		ak_uv_sleep_init(&n->sleep, n->uv, ak_deadline_in(1000000));
		n->started = 1;
	}
	return ak_future_poll(&n->sleep.future, cx);
}

static void nap_cancel(struct ak_future *f)
{
	ak_future_cancel(&((struct nap *)f)->sleep.future);
}

static const struct ak_future_vtable nap_vtable = { nap_poll, nap_cancel };

int main(void)
{
	uv_loop_t loop;
	struct nap n = { 0 };
	struct ak_task *task;

	if (uv_loop_init(&loop) != 0 || ak_uv_new(&loop, &n.uv) != 0)
		return 1;
	ak_future_init(&n.future, &nap_vtable);
	if (ak_uv_spawn(n.uv, &n.future, &task) != 0)
		return 1;
	uv_run(&loop, UV_RUN_DEFAULT);
	int rc = ak_task_result(task);
	ak_task_release(task);
	ak_uv_close(n.uv);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (rc != 0 || uv_loop_close(&loop) != 0)
		return 1;
	printf("awaitkit-uv: a task slept on a uv timer\n");
	return 0;
}
