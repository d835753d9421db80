/* core/error.c: result names and messages, the library version. */
#include <awaitkit/error.h>
#include <awaitkit/version.h>

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
};

static const struct err_entry *lookup(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == err)
			return &errors[i];
	return NULL;
}

AK_EXPORT const char *ak_strerror(int err)
{
	const struct err_entry *e = lookup(err);
	return e ? e->message : "unknown error";
}

AK_EXPORT const char *ak_err_name(int err)
{
	const struct err_entry *e = lookup(err);
	return e ? e->name : "UNKNOWN";
}

AK_EXPORT unsigned int ak_version(void)
{
	return AK_VERSION_HEX;
}

AK_EXPORT const char *ak_version_string(void)
{
	return STR(AK_VERSION_MAJOR) "." STR(AK_VERSION_MINOR) "." STR(AK_VERSION_PATCH);
}
