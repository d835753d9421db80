/*
 * examples/mpsc_example.c: the mpsc channel of ak_mpsc(3), sent to from
 * block_on, received from a plain thread, and a send reserved first.
 *
 * ak_mpsc(3) quotes it verbatim in its EXAMPLES; scripts/man-examples.sh
 * (make check-examples) checks that it still does, then builds and runs it.
 * Exit status 0 when every value arrived.
 */
#include <stdio.h>
#include <awaitkit.h>

static int send_then_drain(void)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op op = {0};
	int v = 42, got, rc;

	ak_mpsc_new(64, sizeof(int), NULL, &tx, &rx);
	ak_mpsc_send_init(&op, tx, &v);
	rc = ak_block_on(&op.future, AK_DEADLINE_NEVER);     /* 0 */
	ak_mpsc_tx_drop(tx);
	while (ak_mpsc_recv_blocking(rx, &got, AK_DEADLINE_NEVER) == 0)
		printf("%d\n", got);                          /* then AK_EPIPE */
	ak_mpsc_rx_drop(rx);
	return rc == 0 ? 0 : 1;
}

static int reserve_then_send(void)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	int v = 7, got = 0;

	if (ak_mpsc_new(1, sizeof(int), NULL, &tx, &rx) != 0)
		return 1;
	struct ak_mpsc_reserve_op permit = {0};

	ak_mpsc_reserve_init(&permit, tx);
	if (ak_block_on(&permit.future, AK_DEADLINE_NEVER) == 0)  /* or await it */
		ak_mpsc_permit_send(&permit, &v);   /* cannot wait, cannot fail */
	ak_mpsc_tx_drop(tx);
	if (ak_mpsc_try_recv(rx, &got) != 0 || got != 7)
		return 1;
	ak_mpsc_rx_drop(rx);
	return 0;
}

int
main(void)
{
	return send_then_drain() != 0 || reserve_then_send() != 0;
}
