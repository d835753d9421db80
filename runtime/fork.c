/*
 * runtime/fork.c: the fork hooks.  The program registers them with
 * pthread_atfork(); the library never does (a library should not impose
 * atfork handlers: they run in every fork of the process, also the
 * fork+exec of a program that never uses awaitkit in the child, and the
 * order among the program's handlers is the program's to choose).
 *
 * Covered: the timer (its lock, its thread, the sleeps pending at the
 * fork), the blocking pool and the debug counters.  liburcu's wfcqueue
 * (the pool's injection queue) keeps no process-wide state and needs
 * nothing; the library uses no other part of liburcu (watch keeps its
 * values without RCU since issue 17).
 *
 * Order: parent and child release in the reverse order of prepare.
 */
#include <errno.h>

#include <awaitkit/fork.h>

#include "../core/core.h"
#include "timer.h"
#include "blocking.h"

AK_EXPORT void ak_atfork_prepare(void)
{
	int saved = errno;

	ak__timer_before_fork();
	ak__blocking_before_fork();
	ak__counts_before_fork();      /* last: any thread may count */
	errno = saved;
}

AK_EXPORT void ak_atfork_parent(void)
{
	int saved = errno;

	ak__counts_after_fork_parent();
	ak__blocking_after_fork_parent();
	ak__timer_after_fork_parent();
	errno = saved;
}

AK_EXPORT void ak_atfork_child(void)
{
	int saved = errno;

	ak__counts_after_fork_child();
	ak__blocking_after_fork_child();
	ak__timer_after_fork_child();
	errno = saved;
}
