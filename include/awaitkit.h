/* awaitkit: async channels and locks that any executor can drive. */
#ifndef AWAITKIT_H
#define AWAITKIT_H

#include <awaitkit/version.h>
#include <awaitkit/error.h>
#include <awaitkit/waker.h>
#include <awaitkit/future.h>
#include <awaitkit/block_on.h>
#include <awaitkit/task.h>
#include <awaitkit/executor.h>
#include <awaitkit/timer.h>
#include <awaitkit/timeout.h>
#include <awaitkit/blocking.h>
#include <awaitkit/fork.h>
#include <awaitkit/pool.h>
#include <awaitkit/await.h>
#include <awaitkit/debug.h>
#include <awaitkit/alloc.h>
#include <awaitkit/mpsc.h>
#include <awaitkit/oneshot.h>
#include <awaitkit/watch.h>
#include <awaitkit/semaphore.h>
#include <awaitkit/notify.h>
#include <awaitkit/barrier.h>
#include <awaitkit/lock_info.h>
#include <awaitkit/mutex.h>
#include <awaitkit/rwlock.h>
#include <awaitkit/lockdep.h>
#include <awaitkit/once_cell.h>
#include <awaitkit/set_once.h>
#include <awaitkit/broadcast.h>
#include <awaitkit/select.h>
#include <awaitkit/co.h>

#endif
