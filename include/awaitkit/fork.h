/*
 * awaitkit: fork hooks.  See ak_atfork_prepare(3).
 *
 * Without them, the child of a multi-threaded process that has used the
 * library may only exec.  The library does not register them itself:
 *
 *   pthread_atfork(ak_atfork_prepare, ak_atfork_parent, ak_atfork_child);
 */
#ifndef AK_FORK_H
#define AK_FORK_H

#ifdef __cplusplus
extern "C" {
#endif

void ak_atfork_prepare(void);
void ak_atfork_parent(void);
void ak_atfork_child(void);

#ifdef __cplusplus
}
#endif
#endif
