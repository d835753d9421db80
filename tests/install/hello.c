/*
 * An outside program for make check-install: built against an installed
 * awaitkit with `pkg-config --cflags --libs awaitkit` alone (never the
 * source tree), then run.  It uses a few public calls and checks them:
 * the version string, one value through an mpsc channel under
 * ak_block_on, and ak_strerror on the closed channel's AK_EPIPE.
 * Usage: hello EXPECTED_VERSION.  Exits 0 and prints one line when all held.
 */
#include <stdio.h>
#include <string.h>
#include <awaitkit.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "hello: %s: %d (%s)\n", what, rc, ak_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	struct ak_mpsc_tx *tx;
	struct ak_mpsc_rx *rx;
	struct ak_mpsc_send_op send;
	struct ak_mpsc_recv_op recv;
	int in = 42, out = 0, rc;
	const char *version = ak_version_string();

	if (argc > 1 && strcmp(version, argv[1]) != 0) {
		fprintf(stderr, "hello: version %s, expected %s\n", version, argv[1]);
		return 1;
	}
	if ((rc = ak_mpsc_new(4, sizeof(int), NULL, &tx, &rx)) != 0)
		return fail("ak_mpsc_new", rc);
	if ((rc = ak_mpsc_send_init(&send, tx, &in)) != 0)
		return fail("ak_mpsc_send_init", rc);
	if ((rc = ak_block_on(&send.future, ak_deadline_in(1000000000))) != 0)
		return fail("send", rc);
	if ((rc = ak_mpsc_recv_init(&recv, rx, &out)) != 0)
		return fail("ak_mpsc_recv_init", rc);
	if ((rc = ak_block_on(&recv.future, ak_deadline_in(1000000000))) != 0)
		return fail("recv", rc);
	if (out != in) {
		fprintf(stderr, "hello: received %d, sent %d\n", out, in);
		return 1;
	}
	ak_mpsc_tx_drop(tx);
	/* The last sender is gone: the next receive reports AK_EPIPE. */
	if ((rc = ak_mpsc_recv_init(&recv, rx, &out)) != 0)
		return fail("ak_mpsc_recv_init", rc);
	rc = ak_block_on(&recv.future, ak_deadline_in(1000000000));
	if (rc != AK_EPIPE)
		return fail("recv after the last sender, expected AK_EPIPE", rc);
	ak_mpsc_rx_drop(rx);
	printf("hello: awaitkit %s, received %d, then \"%s\"\n", version, out,
	       ak_strerror(rc));
	return 0;
}
