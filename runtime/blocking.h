/*
 * runtime/blocking.h: the blocking pool's fork hooks, called by
 * runtime/fork.c (see ak_blocking(3), FORK).
 */
#ifndef AK_RUNTIME_BLOCKING_H
#define AK_RUNTIME_BLOCKING_H

void ak__blocking_before_fork(void);
void ak__blocking_after_fork_parent(void);
void ak__blocking_after_fork_child(void);

#endif
