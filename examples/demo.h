/*
 * examples/demo.h: what the demo's scene files share.  A scene is a
 * function that prints what happens and checks its own results with CHECK;
 * each primitive's scenes live in examples/scene_<primitive>.c and are
 * listed in the table in examples/demo.c.
 */
#ifndef AK_EXAMPLES_DEMO_H
#define AK_EXAMPLES_DEMO_H

#include <stdio.h>

extern int demo_failures;

#define CHECK(cond, ...) do {                                              \
		if (cond) {                                                \
			printf("    ok    ");                              \
		} else {                                                   \
			printf("    FAIL  ");                              \
			demo_failures++;                                   \
		}                                                          \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
	} while (0)

/* The pipeline: every primitive at once (examples/scene_pipeline.c); runs first. */
void scene_pipeline(void);

/* Scenes of the primitives (one declaration per scene). */
void scene_semaphore_fifo(void);
void scene_notify(void);
void scene_barrier(void);
void scene_mutex_held_across_awaits(void);
void scene_mutex_self_deadlock(void);
void scene_rwlock_writer_preferred(void);
void scene_broadcast_lag_and_close(void);
void scene_oneshot_reply_from_a_thread(void);
void scene_oneshot_receiver_gives_up(void);
void scene_watch_config(void);
void scene_mpsc_tasks_and_threads_feed_one_receiver(void);
void scene_mpsc_values_never_at_risk(void);

#endif
