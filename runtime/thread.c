/*
 * runtime/thread.c: see thread.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <awaitkit/error.h>

#include "thread.h"

int ak__thread_start(void *(*fn)(void *), const char *name,
                     void (*before)(void), void (*undo)(void))
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int saved = errno;

	int rc = pthread_attr_init(&attr);
	if (rc == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (before)
			before();
		rc = pthread_create(&tid, &attr, fn, NULL);
		if (rc != 0 && undo)
			undo();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	}
	if (rc == 0)
		pthread_setname_np(tid, name);  /* it waits for the caller's lock */
	errno = saved;
	return rc == 0 ? 0 : AK_ENOMEM;
}

int ak__online_cpus(int max)
{
	int saved = errno;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	errno = saved;
	if (n < 1)
		return 1;
	return n > max ? max : (int)n;
}
