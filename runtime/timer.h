/*
 * runtime/timer.h: the timer's side of the fork hooks.  Internal; the public
 * ak_atfork_*() in runtime/fork.c call these.
 *
 *   call                          thread
 *   ak__timer_before_fork         the forking thread; returns with the
 *                                 timer lock held and no wake in flight
 *   ak__timer_after_fork_parent   the same thread in the parent
 *   ak__timer_after_fork_child    the only thread of the child
 */
#ifndef AK_CORE_TIMER_H
#define AK_CORE_TIMER_H

void ak__timer_before_fork(void);
void ak__timer_after_fork_parent(void);
void ak__timer_after_fork_child(void);

#endif
