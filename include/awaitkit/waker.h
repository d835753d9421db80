/*
 * awaitkit: the waker ABI, the contract between the library and executors.
 * Frozen once released; see ak_waker(3) for the rules both sides keep.
 */
#ifndef AK_WAKER_H
#define AK_WAKER_H

#include <stdint.h>
#include <awaitkit/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The major version of this ABI.  A vtable names the major it was written
 * for; the library refuses (AK_EINVAL) a vtable of another major, or one
 * whose size is smaller than version 1's.  Slots are only ever appended.
 */
#define AK_WAKER_ABI_VERSION 1u

struct ak_waker;

/*
 * Written by an executor, defined once with external linkage (a static const
 * in a header gives one copy per translation unit and breaks will_wake).
 * Every function may be called from any thread, concurrently.
 */
struct ak_waker_vtable {
	uint32_t abi;        /* AK_WAKER_ABI_VERSION */
	uint32_t size;       /* sizeof(struct ak_waker_vtable) as compiled */
	/* A new reference to the same task; {NULL, NULL} when out of memory. */
	struct ak_waker (*clone)(const void *data);
	/* Schedule the task and consume this reference.  Never polls inline. */
	void (*wake)(const void *data);
	/* Schedule the task, keeping this reference. */
	void (*wake_by_ref)(const void *data);
	/* Release this reference. */
	void (*drop)(const void *data);
};

/* The size of a version 1 vtable: the least the library accepts. */
#define AK_WAKER_VTABLE_V1_SIZE (2 * sizeof(uint32_t) + 4 * sizeof(void (*)(void)))

/* Two words, passed by value. */
struct ak_waker {
	const void *data;
	const struct ak_waker_vtable *vtable;
};

/*
 * The per-task slot: opaque storage an executor embeds in its task record,
 * zeroes at spawn and keeps as long as the task.  The library keeps the
 * task's identity and its count of AK_PENDING polls there.
 */
struct ak_task_slot {
	uint64_t opaque_[8];
};

/*
 * A branch path: which branch of which combinator, from the task's root,
 * is being polled.  Combinators push and pop levels in place on the
 * caller's context.  Past AK_PATH_MAX levels the path is marked overflowed.
 */
#define AK_PATH_MAX 14
struct ak_branch_path {
	uint16_t len;
	uint16_t overflow;
	uint16_t index[AK_PATH_MAX];
};

/* The default cooperative budget, and the value that disables budgeting. */
#define AK_BUDGET_DEFAULT 128
#define AK_BUDGET_UNCONSTRAINED (-1)

/* Flags of ak_context. */
#define AK_CONTEXT_VALID 0x1u   /* set by a successful ak_context_init */

/*
 * Built by the executor on its stack for each poll with ak_context_init()
 * and closed with ak_context_done().  Never reused across polls.
 */
struct ak_context {
	uint32_t size;                 /* sizeof(struct ak_context) of the library */
	uint32_t flags;                /* AK_CONTEXT_* */
	struct ak_waker waker;         /* borrowed for the duration of the poll */
	struct ak_task_slot *slot;     /* the task's slot, or NULL */
	struct ak_branch_path path;    /* set in place by combinators */
	int32_t budget;                /* units left; AK_BUDGET_UNCONSTRAINED */
	int32_t depth_;                /* private: the poll depth to restore */
	uintptr_t reserved[4];         /* zero; for later versions */
};

int ak_context_init(struct ak_context *cx, struct ak_waker waker,
                    struct ak_task_slot *slot);
int ak_context_done(struct ak_context *cx, int poll_result);

uint64_t ak_task_slot_id(struct ak_task_slot *slot);
uint64_t ak_task_slot_pending_polls(const struct ak_task_slot *slot);

struct ak_waker ak_waker_noop(void);
int ak_waker_check(const struct ak_waker *waker);
int ak_waker_will_wake(const struct ak_waker *a, const struct ak_waker *b);
int ak_waker_clone(const struct ak_waker *waker, struct ak_waker *out);
void ak_waker_wake(struct ak_waker *waker);
void ak_waker_wake_by_ref(const struct ak_waker *waker);
void ak_waker_drop(struct ak_waker *waker);

#ifdef __cplusplus
}
#endif
#endif
