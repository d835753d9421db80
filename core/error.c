/* core/error.c: result names and messages, the library version. */
#include <awaitkit/error.h>
#include <awaitkit/version.h>

#include <errno.h>
#include <string.h>

#include "shim.h"

#define STR_(x) #x
#define STR(x) STR_(x)

struct err_entry {
	int code;
	const char *name;
	const char *message;
};

static const struct err_entry errors[] = {
	{ 0, "OK", "success" },
	{ AK_PENDING, "AK_PENDING", "operation pending" },
	{ AK_EINVAL, "AK_EINVAL", "invalid argument" },
	{ AK_EAGAIN, "AK_EAGAIN", "operation would wait" },
	{ AK_EPIPE, "AK_EPIPE", "peer closed" },
	{ AK_ETIMEDOUT, "AK_ETIMEDOUT", "deadline passed" },
	{ AK_EOVERFLOW, "AK_EOVERFLOW", "value too large or receiver lagged" },
	{ AK_EDEADLK, "AK_EDEADLK", "deadlock avoided" },
	{ AK_EBUSY, "AK_EBUSY", "resource busy" },
	{ AK_ENOENT, "AK_ENOENT", "no enabled branch" },
	{ AK_ENOMEM, "AK_ENOMEM", "out of memory" },
	{ AK_ECANCELED, "AK_ECANCELED", "operation cancelled" },
	{ AK_EEXIST, "AK_EEXIST", "value already set" },
};

static const struct err_entry *lookup(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == err)
			return &errors[i];
	return NULL;
}

/*
 * A plain negative errno value that is not one of ours (-ECONNREFUSED from
 * a user's own future, say) gets the system's text and name.  Linux errno
 * values are below 4096 (MAX_ERRNO); the bound also keeps -INT_MIN out.
 */
static int plain_errno(int err)
{
	return err < 0 && err > -4096 ? -err : 0;
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
/*
 * glibc's own tables: constant strings that live as long as the process,
 * untranslated (ak_strerror is English whatever the locale), thread-safe.
 * They do not set errno, but nothing promises so: save and restore it, as
 * our callers are promised errno is never touched.
 */
static const char *system_text(int e)
{
	int saved = errno;
	const char *s = strerrordesc_np(e);
	errno = saved;
	return s;
}

static const char *system_name(int e)
{
	int saved = errno;
	const char *s = strerrorname_np(e);
	errno = saved;
	return s;
}
#else
/*
 * Without glibc's tables: strerror_r into a per-thread buffer, so the text
 * stays valid until this thread's next ak_strerror() of a plain errno.  No
 * portable call gives the symbolic name.
 */
static const char *system_text(int e)
{
	static _Thread_local char buf[128];
	int saved = errno;
	const char *s = NULL;
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
	s = strerror_r(e, buf, sizeof(buf));
#else
	if (strerror_r(e, buf, sizeof(buf)) == 0)
		s = buf;
#endif
	errno = saved;
	return s && *s ? s : NULL;
}

static const char *system_name(int e)
{
	(void)e;
	return NULL;
}
#endif

AK_EXPORT const char *ak_strerror(int err)
{
	const struct err_entry *e = lookup(err);
	const char *s = NULL;

	if (e)
		return e->message;
	if (plain_errno(err))
		s = system_text(plain_errno(err));
	return s ? s : "unknown error";
}

AK_EXPORT const char *ak_err_name(int err)
{
	const struct err_entry *e = lookup(err);
	const char *s = NULL;

	if (e)
		return e->name;
	if (plain_errno(err))
		s = system_name(plain_errno(err));
	return s ? s : "UNKNOWN";
}

AK_EXPORT unsigned int ak_version(void)
{
	return AK_VERSION_HEX;
}

AK_EXPORT const char *ak_version_string(void)
{
	return STR(AK_VERSION_MAJOR) "." STR(AK_VERSION_MINOR) "." STR(AK_VERSION_PATCH);
}
