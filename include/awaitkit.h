/* awaitkit: async channels and locks that any executor can drive. */
#ifndef AWAITKIT_H
#define AWAITKIT_H

#include <awaitkit/version.h>
#include <awaitkit/error.h>
#include <awaitkit/waker.h>
#include <awaitkit/future.h>
#include <awaitkit/block_on.h>
#include <awaitkit/executor.h>
#include <awaitkit/timer.h>
#include <awaitkit/fork.h>
#include <awaitkit/pool.h>
#include <awaitkit/await.h>
#include <awaitkit/debug.h>

#endif
