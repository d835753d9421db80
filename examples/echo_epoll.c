/*
 * examples/echo_epoll.c: a TCP echo server on the epoll executor
 * (<awaitkit/epoll.h>, ak_epoll(3)), with its clients in the same program
 * and on the same executor.  127.0.0.1 only, an ephemeral port, CONNS
 * connections of FRAMES frames each; it stops by itself and exits 0 when
 * every echoed byte was right.
 *
 * Frames are FRAME bytes: a type ('D' data, 'P' ping), the frame's number
 * and a payload derived from it.  Per connection the server runs two
 * tasks that talk through an ak_mpsc(3) channel:
 *   - the reader reads frames; it sends data frames on the channel to the
 *     writer, and answers a ping itself with a pong ('Q');
 *   - the writer echoes the data frames it receives.
 * Both write to the one socket, each frame under the connection's
 * ak_mutex(3), held across the awaited writes, so that a frame written in
 * pieces (the socket full) is never interleaved with the other's.  At the
 * end of the input the reader drops its sender; the writer, seeing the
 * channel closed, shuts the socket's write side under the lock.
 * Each client is two tasks on the same executor: one writes its frames
 * and half-closes, the other reads everything back, checking every byte,
 * the order of the data frames and one pong per ping.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* accept4 */
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <awaitkit.h>
#include <awaitkit/epoll.h>

#define CONNS 4
#define FRAMES 300
#define FRAME 32
#define PING_EVERY 5

static struct ak_epoll *ep;

/* The payload of frame n: every byte checkable. */
static void frame_fill(unsigned char *f, char type, unsigned n)
{
	f[0] = (unsigned char)type;
	memcpy(f + 1, &n, sizeof n);
	for (int i = 1 + (int)sizeof n; i < FRAME; i++)
		f[i] = (unsigned char)(n * 31u + (unsigned)i);
}

/* ---- one frame written whole, under a lock ------------------------------------
 * A future: takes the lock, writes the frame, waiting for the socket to
 * be writable as often as it must, unlocks.  Cancelled while holding the
 * lock, its cleanup gives the lock back.
 */
struct locked_write {
	struct ak_future future;
	struct ak_await aw;
	struct ak_mutex_lock_op lock;
	struct ak_io_wait_op io;
	struct ak_mutex *m;
	int fd;
	int holding;
	size_t off;
	unsigned char frame[FRAME];
	int rc;
};

static int locked_write_poll(struct ak_future *f, struct ak_context *cx)
{
	struct locked_write *w = (struct locked_write *)f;

	AK_BEGIN(&w->aw, cx);
	ak_mutex_lock_init(&w->lock, w->m);
	AK_AWAIT(&w->aw, &w->lock.future, w->rc);
	if (w->rc != 0)
		AK_RETURN(&w->aw, w->rc);
	w->holding = 1;
	for (w->off = 0; w->off < FRAME;) {
		ssize_t n = write(w->fd, w->frame + w->off, FRAME - w->off);
		if (n > 0) {
			w->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN) {
			w->rc = -errno;
			break;
		}
		ak_io_wait_init(&w->io, ep, w->fd, EPOLLOUT);
		AK_AWAIT(&w->aw, &w->io.future, w->rc);
		if (w->rc != 0)
			break;
	}
	w->holding = 0;
	ak_mutex_unlock(&w->lock);
	AK_RETURN(&w->aw, w->rc);

	AK_CLEANUP(&w->aw);
	if (w->holding)
		ak_mutex_unlock(&w->lock);
	AK_END(&w->aw);
}

static void locked_write_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct locked_write *)f)->aw, f);
}

static const struct ak_future_vtable locked_write_vtable = {
	locked_write_poll, locked_write_cancel
};

static void locked_write_init(struct locked_write *w, struct ak_mutex *m, int fd,
                              const unsigned char *frame)
{
	memset(&w->aw, 0, sizeof w->aw);
	ak_future_init(&w->future, &locked_write_vtable);
	w->m = m;
	w->fd = fd;
	w->holding = 0;
	memcpy(w->frame, frame, FRAME);
}

/* ---- the server's two tasks per connection ----------------------------------- */

struct frame_msg {
	unsigned char bytes[FRAME];
};

struct conn {
	int fd;
	struct ak_mutex *wlock;         /* the socket's write side */
	struct ak_mpsc_tx *tx;          /* reader -> writer */
	struct ak_mpsc_rx *rx;
	struct server_reader {
		struct ak_future future;
		struct ak_await aw;
		struct ak_io_wait_op io;
		struct ak_mpsc_send_op send;
		struct locked_write pong;
		struct conn *c;
		size_t have;
		struct frame_msg in;
		int rc;
	} reader;
	struct server_writer {
		struct ak_future future;
		struct ak_await aw;
		struct ak_mpsc_recv_op recv;
		struct locked_write echo;
		struct ak_mutex_lock_op lock;
		struct conn *c;
		struct frame_msg out;
		int rc;
	} writer;
};

static int reader_poll(struct ak_future *f, struct ak_context *cx)
{
	struct server_reader *r = (struct server_reader *)f;
	struct conn *c = r->c;

	AK_BEGIN(&r->aw, cx);
	for (;;) {
		ssize_t n = read(c->fd, r->in.bytes + r->have, FRAME - r->have);
		if (n == 0)
			break;                          /* the client half-closed */
		if (n < 0) {
			if (errno != EAGAIN) {
				r->rc = -errno;
				break;
			}
			ak_io_wait_init(&r->io, ep, c->fd, EPOLLIN);
			AK_AWAIT(&r->aw, &r->io.future, r->rc);
			if (r->rc != 0)
				break;
			continue;
		}
		r->have += (size_t)n;
		if (r->have < FRAME)
			continue;
		r->have = 0;
		if (r->in.bytes[0] == 'P') {
			r->in.bytes[0] = 'Q';
			locked_write_init(&r->pong, c->wlock, c->fd, r->in.bytes);
			AK_AWAIT(&r->aw, &r->pong.future, r->rc);
		} else {
			ak_mpsc_send_init(&r->send, c->tx, &r->in);
			AK_AWAIT(&r->aw, &r->send.future, r->rc);
		}
		if (r->rc != 0)
			break;
	}
	ak_mpsc_tx_drop(c->tx);                 /* the writer sees AK_EPIPE */
	c->tx = NULL;
	AK_RETURN(&r->aw, r->rc);

	AK_CLEANUP(&r->aw);
	if (c->tx)
		ak_mpsc_tx_drop(c->tx);
	c->tx = NULL;
	AK_END(&r->aw);
}

static int writer_poll(struct ak_future *f, struct ak_context *cx)
{
	struct server_writer *w = (struct server_writer *)f;
	struct conn *c = w->c;

	AK_BEGIN(&w->aw, cx);
	for (;;) {
		ak_mpsc_recv_init(&w->recv, c->rx, &w->out);
		AK_AWAIT(&w->aw, &w->recv.future, w->rc);
		if (w->rc != 0)
			break;
		locked_write_init(&w->echo, c->wlock, c->fd, w->out.bytes);
		AK_AWAIT(&w->aw, &w->echo.future, w->rc);
		if (w->rc != 0)
			AK_RETURN(&w->aw, w->rc);
	}
	/* The channel closed: no frame is left to echo.  The lock waits for
	 * a pong the reader may still be writing. */
	ak_mutex_lock_init(&w->lock, c->wlock);
	AK_AWAIT(&w->aw, &w->lock.future, w->rc);
	if (w->rc == 0) {
		shutdown(c->fd, SHUT_WR);
		ak_mutex_unlock(&w->lock);
	}
	AK_END(&w->aw);
}

static void reader_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct server_reader *)f)->aw, f);
}

static void writer_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct server_writer *)f)->aw, f);
}

static const struct ak_future_vtable reader_vtable = { reader_poll, reader_cancel };
static const struct ak_future_vtable writer_vtable = { writer_poll, writer_cancel };

/* ---- the acceptor ------------------------------------------------------------- */

static struct conn conns[CONNS];

struct acceptor {
	struct ak_future future;
	struct ak_await aw;
	struct ak_io_wait_op io;
	int lfd;
	int accepted;
	int rc;
};

static int conn_start(struct conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	if (ak_mutex_new(&c->wlock, 0) != 0 ||
	    ak_mpsc_new(4, sizeof(struct frame_msg), NULL, &c->tx, &c->rx) != 0)
		return -1;
	c->reader.c = c;
	c->writer.c = c;
	ak_future_init(&c->reader.future, &reader_vtable);
	ak_future_init(&c->writer.future, &writer_vtable);
	if (ak_epoll_spawn(ep, &c->reader.future, NULL) != 0 ||
	    ak_epoll_spawn(ep, &c->writer.future, NULL) != 0)
		return -1;
	return 0;
}

static int acceptor_poll(struct ak_future *f, struct ak_context *cx)
{
	struct acceptor *a = (struct acceptor *)f;

	AK_BEGIN(&a->aw, cx);
	while (a->accepted < CONNS) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			if (conn_start(&conns[a->accepted++], fd) != 0)
				AK_RETURN(&a->aw, AK_ENOMEM);
			continue;
		}
		if (errno != EAGAIN)
			AK_RETURN(&a->aw, -errno);
		ak_io_wait_init(&a->io, ep, a->lfd, EPOLLIN);
		AK_AWAIT(&a->aw, &a->io.future, a->rc);
		if (a->rc != 0)
			AK_RETURN(&a->aw, a->rc);
	}
	AK_END(&a->aw);
}

static void acceptor_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct acceptor *)f)->aw, f);
}

static const struct ak_future_vtable acceptor_vtable = { acceptor_poll, acceptor_cancel };

/* ---- a client: a task that writes, a task that reads ------------------------
 * Two tasks, so that the client reads echoes while it still writes: a
 * client that wrote everything first would fill both sockets' buffers and
 * wait for a server waiting for it.  Their waits on the one socket (in,
 * out) share its registration.
 */
struct client {
	int fd;
	struct client_tx {
		struct ak_future future;
		struct ak_await aw;
		struct ak_io_wait_op io;
		struct client *c;
		unsigned sent;          /* frames written */
		size_t off;
		unsigned char out[FRAME];
		int rc;
	} tx;
	struct client_rx {
		struct ak_future future;
		struct ak_await aw;
		struct ak_io_wait_op io;
		struct client *c;
		size_t off;
		unsigned char in[FRAME];
		unsigned next_data;     /* the data frame expected next */
		unsigned pongs;
		unsigned bad;
		int rc;
	} rx;
};

/* Checks one echoed frame. */
static void client_check(struct client_rx *r)
{
	unsigned n;
	unsigned char want[FRAME];

	memcpy(&n, r->in + 1, sizeof n);
	if (r->in[0] == 'D') {
		if (n != r->next_data)
			r->bad++;
		do
			r->next_data++;
		while (r->next_data % PING_EVERY == PING_EVERY - 1);
	} else if (r->in[0] == 'Q') {
		r->pongs++;
	} else {
		r->bad++;
	}
	frame_fill(want, (char)r->in[0], n);
	if (memcmp(want, r->in, FRAME) != 0)
		r->bad++;
}

static int client_tx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct client_tx *t = (struct client_tx *)f;
	int fd = t->c->fd;

	AK_BEGIN(&t->aw, cx);
	for (t->sent = 0; t->sent < FRAMES; t->sent++) {
		frame_fill(t->out, t->sent % PING_EVERY == PING_EVERY - 1 ? 'P' : 'D', t->sent);
		for (t->off = 0; t->off < FRAME;) {
			ssize_t n = write(fd, t->out + t->off, FRAME - t->off);
			if (n > 0) {
				t->off += (size_t)n;
				continue;
			}
			/* ENOTCONN: the non-blocking connect is still on its way;
			 * it completes when the socket is writable. */
			if (n < 0 && errno != EAGAIN && errno != ENOTCONN)
				AK_RETURN(&t->aw, -errno);
			ak_io_wait_init(&t->io, ep, fd, EPOLLOUT);
			AK_AWAIT(&t->aw, &t->io.future, t->rc);
			if (t->rc != 0)
				AK_RETURN(&t->aw, t->rc);
		}
	}
	shutdown(fd, SHUT_WR);
	AK_END(&t->aw);
}

static int client_rx_poll(struct ak_future *f, struct ak_context *cx)
{
	struct client_rx *r = (struct client_rx *)f;
	int fd = r->c->fd;

	AK_BEGIN(&r->aw, cx);
	for (r->off = 0;;) {
		ssize_t n = read(fd, r->in + r->off, FRAME - r->off);
		if (n == 0)
			break;                  /* the server shut its side */
		if (n < 0) {
			if (errno != EAGAIN && errno != ENOTCONN)
				AK_RETURN(&r->aw, -errno);
			ak_io_wait_init(&r->io, ep, fd, EPOLLIN);
			AK_AWAIT(&r->aw, &r->io.future, r->rc);
			if (r->rc != 0)
				AK_RETURN(&r->aw, r->rc);
			continue;
		}
		r->off += (size_t)n;
		if (r->off == FRAME) {
			client_check(r);
			r->off = 0;
		}
	}
	AK_END(&r->aw);
}

static void client_tx_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct client_tx *)f)->aw, f);
}

static void client_rx_cancel(struct ak_future *f)
{
	ak_await_cancel(&((struct client_rx *)f)->aw, f);
}

static const struct ak_future_vtable client_tx_vtable = { client_tx_poll, client_tx_cancel };
static const struct ak_future_vtable client_rx_vtable = { client_rx_poll, client_rx_cancel };

static int listen_local(struct sockaddr_in *addr)
{
	socklen_t len = sizeof *addr;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof *addr);
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = 0;                     /* ephemeral */
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0 ||
	    listen(fd, CONNS) != 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) != 0)
		return -1;
	return fd;
}

int main(void)
{
	static struct client clients[CONNS];
	struct acceptor acc;
	struct sockaddr_in addr;
	int failed = 0;

	if (ak_epoll_new(&ep) != 0)
		return 1;
	memset(&acc, 0, sizeof acc);
	acc.lfd = listen_local(&addr);
	if (acc.lfd < 0)
		return 1;
	ak_future_init(&acc.future, &acceptor_vtable);
	ak_epoll_spawn(ep, &acc.future, NULL);
	for (int i = 0; i < CONNS; i++) {
		struct client *c = &clients[i];
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 &&
		                  errno != EINPROGRESS))
			return 1;
		c->tx.c = c->rx.c = c;
		ak_future_init(&c->tx.future, &client_tx_vtable);
		ak_future_init(&c->rx.future, &client_rx_vtable);
		ak_epoll_spawn(ep, &c->tx.future, NULL);
		ak_epoll_spawn(ep, &c->rx.future, NULL);
	}

	/* Every task ends by itself; the deadline only guards against a bug. */
	int rc = ak_epoll_run(ep, ak_deadline_in(20 * 1000000000LL));

	for (int i = 0; i < CONNS; i++) {
		struct client *c = &clients[i];
		struct client_rx *r = &c->rx;
		unsigned pings = FRAMES / PING_EVERY;
		/* Past the last data frame, the next one would be number FRAMES. */
		if (c->tx.rc != 0 || r->rc != 0 || r->bad != 0 || r->pongs != pings ||
		    r->next_data != FRAMES) {
			printf("client %d: rc %d/%d, %u bad, %u pongs of %u, next data %u\n",
			       i, c->tx.rc, r->rc, r->bad, r->pongs, pings, r->next_data);
			failed = 1;
		}
		close(c->fd);
		close(conns[i].fd);
		ak_mpsc_rx_drop(conns[i].rx);
		ak_mutex_free(conns[i].wlock);
	}
	close(acc.lfd);
	ak_epoll_free(ep);
	printf("echo_epoll: %d connections, %d frames of %d bytes each, run %s, %s\n",
	       CONNS, FRAMES, FRAME, rc == 0 ? "ended" : ak_err_name(rc),
	       failed ? "MISMATCH" : "every byte echoed");
	return rc == 0 && !failed ? 0 : 1;
}
