/* awaitkit: result codes.  See ak_strerror(3) and awaitkit(7). */
#ifndef AK_ERROR_H
#define AK_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every call returns an int: 0 done, AK_PENDING (positive) not yet, with the
 * waker registered, and a negative errno value for errors.  The global errno
 * is never touched.
 */
#define AK_PENDING 1

#define AK_EINVAL (-EINVAL)         /* detectable misuse; nothing changed */
#define AK_EAGAIN (-EAGAIN)         /* a try-operation would have to wait */
#define AK_EPIPE (-EPIPE)           /* the peer closed */
#define AK_ETIMEDOUT (-ETIMEDOUT)   /* the deadline passed */
#define AK_EOVERFLOW (-EOVERFLOW)   /* a count would pass its maximum; a lagged receiver */
#define AK_EDEADLK (-EDEADLK)       /* self-deadlock, or blocking inside a poll */
#define AK_EBUSY (-EBUSY)           /* destroying a held or awaited object */
#define AK_ENOENT (-ENOENT)         /* a select whose branches are all disabled */
#define AK_ENOMEM (-ENOMEM)         /* an allocation or a waker clone failed */
#define AK_ECANCELED (-ECANCELED)   /* the operation was cancelled */
#define AK_EEXIST (-EEXIST)         /* a once cell already holds a value */

const char *ak_strerror(int err);
const char *ak_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
