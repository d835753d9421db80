/* idle_channels: n bounded channels of capacity 16 alive at once; bytes per
 * channel from the growth of RSS (the handle arrays are made and touched
 * before the first reading); ns_per_op is per creation.  Then one message
 * passes through each channel (sent and received, untimed) and the growth
 * is read again: bytes_per_channel_after_one, the channel once its ring is
 * made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int bk_idle_channels(uint64_t size, struct bk_result *r);

int bk_idle_channels(uint64_t size, struct bk_result *r)
{
	struct ak_mpsc_tx **tx = malloc(size * sizeof(*tx));
	struct ak_mpsc_rx **rx = malloc(size * sizeof(*rx));
	if (!tx || !rx) {
		fprintf(stderr, "idle_channels: out of memory\n");
		return -1;
	}
	memset(tx, 0, size * sizeof(*tx));
	memset(rx, 0, size * sizeof(*rx));
	int64_t before = bk_rss_bytes();
	bk_start(r);
	for (uint64_t i = 0; i < size; i++) {
		if (ak_mpsc_new(16, sizeof(int64_t), NULL, &tx[i], &rx[i])) {
			fprintf(stderr, "idle_channels: creation %llu failed\n", (unsigned long long)i);
			return -1;
		}
	}
	bk_stop(r);
	int64_t after = bk_rss_bytes();
	bk_extra(r, "bytes_per_channel=%.1f", (double)(after - before) / (double)size);
	for (uint64_t i = 0; i < size; i++) {
		int64_t v = (int64_t)i, out = -1;
		if (ak_mpsc_try_send(tx[i], &v) || ak_mpsc_try_recv(rx[i], &out) || out != v) {
			fprintf(stderr, "idle_channels: message %llu lost\n", (unsigned long long)i);
			return -1;
		}
	}
	int64_t used = bk_rss_bytes();
	bk_extra(r, "bytes_per_channel_after_one=%.1f", (double)(used - before) / (double)size);
	for (uint64_t i = 0; i < size; i++) {
		ak_mpsc_tx_drop(tx[i]);
		ak_mpsc_rx_drop(rx[i]);
	}
	free(tx);
	free(rx);
	return 0;
}
