/* spsc_unbounded: 1 producer task, 1 consumer task, an unbounded channel,
 * a pool of two workers. */
#include "mpsc_tasks.h"

int bk_spsc_unbounded(uint64_t size, struct bk_result *r);

int bk_spsc_unbounded(uint64_t size, struct bk_result *r)
{
	return bk_mpsc_run("spsc_unbounded", 0, 1, size, r);
}
