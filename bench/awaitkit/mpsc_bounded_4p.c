/* mpsc_bounded_4p: 4 producer tasks, 1 consumer task, capacity 1024, a
 * pool of two workers. */
#include "mpsc_tasks.h"

int bk_mpsc_bounded_4p(uint64_t size, struct bk_result *r);

int bk_mpsc_bounded_4p(uint64_t size, struct bk_result *r)
{
	return bk_mpsc_run("mpsc_bounded_4p", 1024, 4, size, r);
}
