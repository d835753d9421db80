/* create_drop: create and drop a bounded mpsc channel of 16 and a oneshot;
 * ns per pair. */
#include <stdio.h>

#include "bench.h"

int bk_create_drop(uint64_t size, struct bk_result *r);

int bk_create_drop(uint64_t size, struct bk_result *r)
{
	bk_start(r);
	for (uint64_t i = 0; i < size; i++) {
		struct ak_mpsc_tx *tx;
		struct ak_mpsc_rx *rx;
		struct ak_oneshot_tx *otx;
		struct ak_oneshot_rx *orx;
		if (ak_mpsc_new(16, sizeof(int64_t), NULL, &tx, &rx) ||
		    ak_oneshot_new(sizeof(int64_t), NULL, &otx, &orx)) {
			fprintf(stderr, "create_drop: creation failed\n");
			return -1;
		}
		ak_mpsc_tx_drop(tx);
		ak_mpsc_rx_drop(rx);
		ak_oneshot_tx_drop(otx);
		ak_oneshot_rx_drop(orx);
	}
	bk_stop(r);
	return 0;
}
