/* spsc_bounded: 1 producer task, 1 consumer task, capacity 1024, a pool of
 * two workers (tokio: multi_thread, 2 workers; Go: GOMAXPROCS=2). */
#include "mpsc_tasks.h"

int bk_spsc_bounded(uint64_t size, struct bk_result *r);

int bk_spsc_bounded(uint64_t size, struct bk_result *r)
{
	return bk_mpsc_run("spsc_bounded", 1024, 1, size, r);
}
