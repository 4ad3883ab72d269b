/*
 * sup_exchange.c - the supervisor's SOCKS4 exchanges, driven by the
 * library's engine (handshake.c) on the copy of the program's socket.
 *
 * The copy shares the program's open file description, so its O_NONBLOCK
 * is the program's and is never touched: the engine sends and receives
 * with MSG_DONTWAIT and the core's loop (hs_drive()) waits in poll(),
 * which no signal interrupts (workers block them all). Only the connect() to
 * the server differs from plain libc: on a blocking socket it would wait
 * as long as the kernel's SYN retries, so a send timeout bounds it to the
 * exchange's deadline for the call and is put back after it.
 */
#include "handshake.h"
#include "log.h"
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>

int64_t sup_now_ms(void)
{
	return now_ms();
}

/* What sup_exchange() read of the socket, for connect_bounded(): the
 * exchange's I/O context. */
struct ex {
	int64_t deadline;
	bool blocking;
	struct timeval sndtimeo; /* the program's own, put back after */
};

static int connect_bounded(void *ctx, int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct ex *ex = ctx;
	int64_t left = ex ? ex->deadline - now_ms() : 0;
	struct timeval tv = {left / 1000, (left % 1000) * 1000};
	int r, err;

	if (!ex || !ex->blocking || left <= 0)
		return connect(fd, sa, len);
	/* our deadline: for a CONNECT never later than the socket's own send
	 * timeout (see sup_exchange()); the listen() or getsockname() that
	 * starts a BIND has no timeout of its own */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = connect(fd, sa, len);
	err = errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ex->sndtimeo, sizeof(ex->sndtimeo));
	/* a send timeout ends a blocking connect with EINPROGRESS: the
	 * engine then waits for it and reports the deadline */
	if (r < 0 && err == EAGAIN)
		err = EINPROGRESS;
	errno = err;
	return r;
}

static ssize_t send_plain(void *ctx, int fd, const void *buf, size_t len, int flags)
{
	(void)ctx;
	return send(fd, buf, len, flags);
}

static ssize_t recv_plain(void *ctx, int fd, void *buf, size_t len, int flags)
{
	(void)ctx;
	return recv(fd, buf, len, flags);
}

/* Without a context (the second reply of a BIND) connect is never due. */
static const struct hs_io sup_io = {connect_bounded, send_plain, recv_plain, NULL};

int64_t sup_sock_timeout_ms(int fd, int opt)
{
	struct timeval tv = {0, 0};
	socklen_t len = sizeof(tv);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_NONBLOCK) || getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0)
		return 0;
	return timeval_ms(&tv);
}

int sup_exchange(struct hs *h, int fd, int family, uint8_t cmd, struct v4 dst,
		 const char *host)
{
	int64_t now = now_ms(), deadline = now + sup_cfg.connect_timeout_ms, sock = 0;
	struct ex ex;
	struct hs_io io = sup_io;
	socklen_t tlen = sizeof(ex.sndtimeo);
	int fl = fcntl(fd, F_GETFL), err;
	char p[ADDR_STRLEN], w[HS_WHAT_MAX];

	ex.blocking = fl >= 0 && !(fl & O_NONBLOCK) &&
		      getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ex.sndtimeo, &tlen) == 0;
	/* A blocking connect() on a socket with a send timeout shorter than
	 * ours ends there. The kernel would say EINPROGRESS and go on, as the
	 * library does (the exchange continues behind the program); here
	 * nothing could finish it once the call is answered, so it fails. */
	if (ex.blocking && cmd == SOCKS4_CMD_CONNECT) {
		sock = timeval_ms(&ex.sndtimeo);
		if (sock >= sup_cfg.connect_timeout_ms)
			sock = 0;
	}
	if (sock)
		deadline = now + sock;
	hs_init(h, cmd, family, sup_cfg.server, dst, sup_cfg.userid, host);
	h->timeout_ms = sup_cfg.connect_timeout_ms;
	ex.deadline = deadline;
	io.ctx = &ex;
	err = hs_run(h, &io, fd, deadline);
	if (err == -ETIMEDOUT && sock) {
		log_msg(LOG_ERROR, "%s via %s: not done within the socket's send timeout "
			"(SO_SNDTIMEO, %lld ms): ETIMEDOUT", hs_what(h, w, sizeof(w)),
			addr_fmt(sup_cfg.server, p), (long long)sock);
		return -ETIMEDOUT;
	}
	return err ? -hs_log_failure(h, NULL) : 0;
}

int sup_second(struct hs *h, int fd, int64_t deadline, int64_t sock_ms, const char *what)
{
	struct hs_drive d;
	int r;

	if (h->state == HS_GRANTED)
		hs_expect_second(h);
	h->timeout_ms = sup_cfg.bind_timeout_ms;
	hs_drive_init(&d, h, &sup_io, fd, deadline);
	d.sock_deadline = sock_ms ? d.started + sock_ms : 0;
	if (!deadline)
		d.flags |= HS_DRIVE_NOWAIT;
	if ((r = hs_drive(&d)) > 0 || r == -EAGAIN)
		return -EAGAIN;
	return r ? -hs_log_failure(h, what) : 0;
}
