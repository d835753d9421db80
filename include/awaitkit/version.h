/* awaitkit: library version.  See ak_version(3). */
#ifndef AK_VERSION_H
#define AK_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The library version; versioned separately from the waker ABI
 * (AK_WAKER_ABI_VERSION) and from the operation-storage ABI
 * (AK_OP_STORAGE_VERSION).  The SONAME is libawaitkit.so.0 for all 0.x.
 */
#define AK_VERSION_MAJOR 0
#define AK_VERSION_MINOR 1
#define AK_VERSION_PATCH 0
#define AK_VERSION_HEX \
	((AK_VERSION_MAJOR << 16) | (AK_VERSION_MINOR << 8) | AK_VERSION_PATCH)

unsigned int ak_version(void);
const char *ak_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
