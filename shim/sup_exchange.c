/*
 * sup_exchange.c - the supervisor's SOCKS4 exchange on a copy of the
 * program's socket.
 *
 * A small blocking driver kept behind one function, sup_exchange(), so
 * that it can give way to the library's resumable engine (handshake.h)
 * when that serves plain descriptors. The copy shares the program's open
 * file description, so its O_NONBLOCK is the program's and is never
 * touched: send and receive use MSG_DONTWAIT and wait in poll(), and
 * a blocking socket's connect() is bounded by a send timeout set for the
 * call and put back after it.
 */
#include "log.h"
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

int64_t sup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where an exchange failed, for the log line. */
enum stage { ST_SERVER, ST_REQUEST, ST_REPLY };

#define ST_EOF (-ENODATA) /* the server closed before the whole reply */

static int wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - sup_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* A blocking socket's connect() bounded by the deadline: SO_SNDTIMEO
 * governs it, so it is set for the call and restored after. */
static int connect_blocking(int fd, const struct sockaddr *sa, socklen_t len,
			    int64_t deadline)
{
	struct timeval old, tv;
	socklen_t olen = sizeof(old);
	int64_t left = deadline - sup_now_ms();
	int r, err;

	if (left <= 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &old, &olen) < 0)
		return -errno;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	if (old.tv_sec || old.tv_usec)
		if (old.tv_sec < tv.tv_sec || (old.tv_sec == tv.tv_sec && old.tv_usec < tv.tv_usec))
			tv = old;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	do
		r = connect(fd, sa, len);
	while (r < 0 && errno == EINTR && sup_now_ms() < deadline);
	err = r < 0 ? errno : 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &old, sizeof(old));
	/* a send timeout ends a connect with EINPROGRESS */
	return err == EINPROGRESS || err == EAGAIN ? -ETIMEDOUT : -err;
}

static int reach_server(int fd, int family, int64_t deadline)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_from_v4(family, sup_cfg.server, &ss);
	socklen_t elen = sizeof(int);
	int flags = fcntl(fd, F_GETFL), err;

	if (flags < 0)
		return -errno;
	if (!(flags & O_NONBLOCK))
		return connect_blocking(fd, (struct sockaddr *)&ss, len, deadline);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	if ((err = wait_for(fd, POLLOUT, deadline)) < 0)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return -err;
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int err;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((err = wait_for(fd, POLLOUT, deadline)) < 0)
				return err;
		} else {
			return -errno;
		}
	}
	return 0;
}

/* Exactly the 8 reply bytes, never more: what follows is the program's. */
int sup_read_reply(int fd, uint8_t *reply, unsigned *got, int64_t deadline)
{
	while (*got < SOCKS4_REPLY_LEN) {
		ssize_t n = recv(fd, reply + *got, SOCKS4_REPLY_LEN - *got, MSG_DONTWAIT);
		int err;

		if (n > 0)
			*got += (unsigned)n;
		else if (n == 0)
			return ST_EOF;
		else if (errno == EAGAIN || errno == EINTR) {
			if (!deadline)
				return -EAGAIN;
			if ((err = wait_for(fd, POLLIN, deadline)) < 0)
				return err;
		} else
			return -errno;
	}
	return 0;
}

/* The log line and the program's errno for a failed exchange, in the
 * library's words (see hs_outcome in handshake.c). */
static int outcome(const char *what, int err, enum stage st, const uint8_t *b,
		   unsigned got, unsigned timeout_ms, struct socks4_reply *r)
{
	unsigned tmo = timeout_ms / 1000;
	char p[ADDR_STRLEN];

	addr_fmt(sup_cfg.server, p);
	if (err == 0 && socks4_parse_reply(b, r) < 0) {
		log_msg(LOG_ERROR, "%s via %s: malformed reply "
			"(%02x %02x %02x %02x %02x %02x %02x %02x)",
			what, p, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
		return EPROTO;
	}
	if (err == 0 && r->code != SOCKS4_REPLY_GRANTED) {
		log_msg(LOG_ERROR, "%s via %s: rejected (%u, %s)", what, p, r->code,
			socks4_reply_str(r->code));
		return socks4_reply_errno(r->code);
	}
	if (err == 0)
		return 0;
	if (st == ST_SERVER && err == -ETIMEDOUT)
		log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: no answer within %u s",
			what, p, tmo);
	else if (st == ST_SERVER)
		log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: %s", what, p,
			strerror(-err));
	else if (err == ST_EOF)
		log_msg(LOG_ERROR, "%s via %s: server closed the connection after "
			"%u of 8 reply bytes", what, p, got);
	else if (err == -ETIMEDOUT)
		log_msg(LOG_ERROR, "%s via %s: no reply within %u s", what, p, tmo);
	else
		log_msg(LOG_ERROR, "%s via %s: %s: %s", what, p,
			st == ST_REQUEST ? "sending the request failed"
					 : "reading the reply failed",
			strerror(-err));
	return err == ST_EOF ? ECONNRESET : -err;
}

int sup_exchange(int fd, int family, uint8_t cmd, struct v4 dst,
		 const char *what, struct socks4_reply *r)
{
	int64_t deadline = sup_now_ms() + sup_cfg.connect_timeout_ms;
	uint8_t req[SOCKS4_REQUEST_MAX], reply[SOCKS4_REPLY_LEN] = {0};
	unsigned got = 0;
	enum stage st = ST_SERVER;
	int len, err;

	err = reach_server(fd, family, deadline);
	if (!err) {
		st = ST_REQUEST;
		len = socks4_build_request(req, sizeof(req), cmd, dst.ip, dst.port,
					   sup_cfg.userid);
		err = len < 0 ? len : send_all(fd, req, (size_t)len, deadline);
	}
	if (!err) {
		st = ST_REPLY;
		err = sup_read_reply(fd, reply, &got, deadline);
	}
	return outcome(what, err, st, reply, got, sup_cfg.connect_timeout_ms, r);
}

int sup_reply_outcome(const char *what, int err, const uint8_t *reply, unsigned got,
		      unsigned timeout_ms, struct socks4_reply *r)
{
	return outcome(what, err, ST_REPLY, reply, got, timeout_ms, r);
}
