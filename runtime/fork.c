/*
 * runtime/fork.c: the fork hooks.  The program registers them with
 * pthread_atfork(); the library never does (a library should not impose
 * atfork handlers: they run in every fork of the process, also the
 * fork+exec of a program that never uses awaitkit in the child, and the
 * order among the program's handlers is the program's to choose).
 *
 * Covered: the timer (its lock, its thread, the sleeps pending at the fork)
 * and liburcu.  The library links liburcu-bp for watch's values (urcu-bp
 * read side and grace periods): its registry and grace-period locks must be
 * quiesced around a fork like the timer.  The library never calls call_rcu
 * (it aborts on ENOMEM; chan/watch.c waits for grace periods itself), but a
 * program linking the same liburcu-bp may: its worker threads are paused
 * too, which costs nothing when none was started.
 * liburcu-cds (wfcqueue) keeps no process-wide state and needs nothing.
 *
 * Order: prepare takes liburcu's state before the timer lock; parent and
 * child release in the reverse order.  call_rcu's worker is paused before
 * urcu_bp_before_fork takes the grace-period lock, because the worker may be
 * waiting for a grace period itself.
 */
#include <errno.h>
#include <urcu-bp.h>

#include <awaitkit/fork.h>

#include "../core/core.h"
#include "timer.h"
#include "blocking.h"

AK_EXPORT void ak_atfork_prepare(void)
{
	int saved = errno;

	call_rcu_before_fork();
	urcu_bp_before_fork();
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
	urcu_bp_after_fork_parent();
	call_rcu_after_fork_parent();
	errno = saved;
}

AK_EXPORT void ak_atfork_child(void)
{
	int saved = errno;

	ak__counts_after_fork_child();
	ak__blocking_after_fork_child();
	ak__timer_after_fork_child();
	urcu_bp_after_fork_child();
	call_rcu_after_fork_child();
	errno = saved;
}
