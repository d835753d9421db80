/*
 * runtime/thread.h: starting the library's own detached threads (the timer
 * thread, the blocking pool's threads).  Internal.
 */
#ifndef AK_RUNTIME_THREAD_H
#define AK_RUNTIME_THREAD_H

/*
 * Starts fn(NULL) on a new detached thread named name, with every signal
 * blocked (process-directed signals go to the program's own threads), and
 * leaves errno as it was.  The caller must hold a lock that fn takes before
 * it can exit, so that the thread still exists when it is named.  before()
 * runs just before pthread_create and undo() if it failed (the callers'
 * "a thread is starting" marks, which their fork hooks wait on); either
 * may be NULL.  0, or AK_ENOMEM when no thread could be started.
 */
int ak__thread_start(void *(*fn)(void *), const char *name,
                     void (*before)(void), void (*undo)(void));

/* The CPUs online, from 1 to max; leaves errno as it was. */
int ak__online_cpus(int max);

#endif
