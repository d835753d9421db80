/*
 * bench/awaitkit/main.c: peer-awaitkit, the awaitkit side of the benchmark
 * (issue 4; protocol in bench/README.md).
 *
 *	peer-awaitkit <workload> [--size N] [--workers N]
 *
 * Runs the workload once untimed as a warm-up (a twentieth of the size;
 * none for idle_channels), then one timed run, and prints one line:
 *	RESULT workload=<name> impl=awaitkit ops=<n> ns_per_op=<f>
 *	       allocs_per_op=<f> [key=value ...]
 * Exit status: 0 on success, 2 on a usage error, 3 when the workload has
 * no awaitkit program yet (the driver shows "—"), 1 when a run failed.
 *
 * HOW WORKLOADS LAND: the library has no public channel, lock or notify
 * yet, so every entry of the table below has fn == NULL and exits 3.  The
 * issue that adds a primitive adds its workload in its own file,
 * bench/awaitkit/<workload>.c, defining
 *	int bk_<workload>(uint64_t size, struct bk_result *r);
 * (see bench.h), declares it in the block below and puts it in its table
 * entry.  Workloads use only the public API (<awaitkit.h>), never the
 * library's internal cores.  The Makefile builds every .c file in
 * bench/awaitkit/.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* Workload functions, one per file; declare each here as it lands. */
int bk_broadcast_fanout(uint64_t size, struct bk_result *r);
int bk_mutex_contended(uint64_t size, struct bk_result *r);
int bk_semaphore_contended(uint64_t size, struct bk_result *r);
int bk_notify_pingpong(uint64_t size, struct bk_result *r);
int bk_pingpong_oneshot(uint64_t size, struct bk_result *r);
int bk_pingpong_oneshot_co(uint64_t size, struct bk_result *r);
int bk_co_switch(uint64_t size, struct bk_result *r);
int bk_watch_readers(uint64_t size, struct bk_result *r);
int bk_spsc_bounded(uint64_t size, struct bk_result *r);
int bk_mpsc_bounded_4p(uint64_t size, struct bk_result *r);
int bk_spsc_unbounded(uint64_t size, struct bk_result *r);
int bk_pingpong_mpsc(uint64_t size, struct bk_result *r);
int bk_rendezvous_pingpong(uint64_t size, struct bk_result *r);
int bk_thread_blocking_spsc(uint64_t size, struct bk_result *r);
int bk_create_drop(uint64_t size, struct bk_result *r);
int bk_idle_channels(uint64_t size, struct bk_result *r);
int bk_select_2chan(uint64_t size, struct bk_result *r);

typedef int (*bk_workload_fn)(uint64_t size, struct bk_result *r);

/*
 * The workloads of the protocol, in its order.  size: the default op count
 * when no --size is given (bench/run.py always passes one: its table has
 * the same counts).
 */
static const struct {
	const char *name;
	bk_workload_fn fn;
	uint64_t size;
} workloads[] = {
	{ "spsc_bounded", bk_spsc_bounded, 12000000 },
	{ "mpsc_bounded_4p", bk_mpsc_bounded_4p, 20000000 },
	{ "spsc_unbounded", bk_spsc_unbounded, 20000000 },
	{ "pingpong_oneshot", bk_pingpong_oneshot, 8000000 },
	/* awaitkit only (issue 19): not in bench/run.py's protocol */
	{ "pingpong_oneshot_co", bk_pingpong_oneshot_co, 8000000 },
	{ "co_switch", bk_co_switch, 20000000 },
	{ "pingpong_mpsc", bk_pingpong_mpsc, 8000000 },
	{ "broadcast_fanout", bk_broadcast_fanout, 8000000 },
	{ "watch_readers", bk_watch_readers, 12000000 },
	{ "mutex_contended", bk_mutex_contended, 8000000 },
	{ "semaphore_contended", bk_semaphore_contended, 25000000 },
	{ "select_2chan", bk_select_2chan, 10000000 },
	{ "notify_pingpong", bk_notify_pingpong, 10000000 },
	{ "thread_blocking_spsc", bk_thread_blocking_spsc, 8000000 },
	{ "create_drop", bk_create_drop, 8000000 },
	{ "idle_channels", bk_idle_channels, 1000000 },
	{ "rendezvous_pingpong", bk_rendezvous_pingpong, 8000000 },
};

static int64_t allocations(void)
{
	struct ak_debug_counts c;
	if (ak_debug_counters(&c) != 0)
		return 0;
	return c.allocations;
}

int bk_workers = 2;

void bk_start(struct bk_result *r)
{
	r->allocs0 = allocations();
	r->t0 = ak_now();
}

void bk_stop(struct bk_result *r)
{
	r->elapsed = ak_now() - r->t0;
	r->allocs = allocations() - r->allocs0;
}

void bk_extra(struct bk_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->extra);
	va_list ap;
	if (len + 1 >= sizeof r->extra)
		return;
	r->extra[len++] = ' ';
	r->extra[len] = '\0';
	va_start(ap, fmt);
	vsnprintf(r->extra + len, sizeof r->extra - len, fmt, ap);
	va_end(ap);
}

int64_t bk_rss_bytes(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	int n = fscanf(f, "%ld %ld", &size, &resident);
	fclose(f);
	if (n != 2)
		return -1;
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

int64_t bk_mem_mark(void)
{
	malloc_trim(0);
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (!f)
		return -1;
	int ok = fputs("5", f) >= 0;
	if (fclose(f) != 0 || !ok)
		return -1;
	return bk_rss_bytes();
}

int64_t bk_mem_peak(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : (int64_t)kib * 1024;
}

static int usage(void)
{
	fprintf(stderr, "usage: peer-awaitkit <workload> [--size N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	size_t nw = sizeof workloads / sizeof workloads[0], i;
	uint64_t size;

	if (argc < 2)
		return usage();
	for (i = 0; i < nw; i++)
		if (strcmp(argv[1], workloads[i].name) == 0)
			break;
	if (i == nw) {
		fprintf(stderr, "peer-awaitkit: no workload '%s'\n", argv[1]);
		return 3;
	}
	size = workloads[i].size;
	for (int a = 2; a < argc; a++) {
		if (strcmp(argv[a], "--size") == 0 && a + 1 < argc) {
			char *end;
			size = strtoull(argv[++a], &end, 10);
			if (*end != '\0' || size == 0) {
				fprintf(stderr, "peer-awaitkit: bad --size\n");
				return 2;
			}
		} else if (strcmp(argv[a], "--workers") == 0 && a + 1 < argc) {
			char *end;
			long n = strtol(argv[++a], &end, 10);
			if (*end != '\0' || n < 1 || n > 1024) {
				fprintf(stderr, "peer-awaitkit: bad --workers\n");
				return 2;
			}
			bk_workers = (int)n;
		} else {
			return usage();
		}
	}
	if (!workloads[i].fn) {
		fprintf(stderr, "peer-awaitkit: %s: no awaitkit program yet "
		        "(its primitive has not landed)\n", workloads[i].name);
		return 3;
	}

	struct bk_result r;
	/*
	 * The warm-up every implementation runs (bench/README.md, "The
	 * warm-up"): the same function, untimed, in this process, with a
	 * twentieth of the size (at least 1000 ops, at most the size), just
	 * before the timed run; none for idle_channels, whose RSS figure
	 * memory freed by a warm-up would spoil.
	 */
	if (strcmp(workloads[i].name, "idle_channels") != 0) {
		uint64_t warm = size / 20 > 1000 ? size / 20 : 1000;
		memset(&r, 0, sizeof r);
		r.ops = warm < size ? warm : size;
		if (workloads[i].fn(r.ops, &r) != 0)
			return 1;
	}
	memset(&r, 0, sizeof r);
	r.ops = size;
	if (workloads[i].fn(size, &r) != 0)
		return 1;
	if (r.ops == 0) {
		fprintf(stderr, "peer-awaitkit: %s ran no operation\n",
		        workloads[i].name);
		return 1;
	}
	printf("RESULT workload=%s impl=awaitkit ops=%" PRIu64
	       " ns_per_op=%.3f allocs_per_op=%.4f%s\n",
	       workloads[i].name, r.ops, (double)r.elapsed / (double)r.ops,
	       (double)r.allocs / (double)r.ops, r.extra);
	return 0;
}
