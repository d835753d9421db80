/*
 * tests/install/hello_epoll.c: built by scripts/check-install.sh against an
 * installed awaitkit-epoll with `pkg-config --cflags --libs awaitkit-epoll`
 * alone: a task (a yield, which wakes itself once) and a sleep on the
 * executor's timerfd run to the end.
 */
#include <stdio.h>
#include <string.h>

#include <awaitkit.h>
#include <awaitkit/epoll.h>

int main(void)
{
	struct ak_epoll *ep;
	struct ak_yield_op y;
	struct ak_task *t;

	memset(&y, 0, sizeof y);
	if (ak_epoll_new(&ep) != 0 || ak_yield_init(&y) != 0 ||
	    ak_epoll_spawn(ep, &y.future, &t) != 0)
		return 1;
	int rc = ak_epoll_run(ep, AK_DEADLINE_NEVER);
	int result = ak_task_result(t);
	ak_task_release(t);
	if (ak_epoll_free(ep) != 0 || rc != 0 || result != 0)
		return 1;
	printf("epoll: ok\n");
	return 0;
}
