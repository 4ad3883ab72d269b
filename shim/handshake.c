/*
 * handshake.c - drive one SOCKS4 exchange over a socket (see handshake.h).
 */
#include "handshake.h"
#include "log.h"
#include "real.h"
#include "socks4.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* Waits until fd is ready for events or the deadline passes. -ETIMEDOUT,
 * -EINTR when interruptible and a signal arrived, else 0. */
static int hs_wait(int fd, short events, int64_t deadline, bool interruptible)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0; /* ready, or an error/hang-up the next call reports */
		if (n < 0 && errno == EINTR && interruptible)
			return -EINTR;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int hs_connect_server(int fd, int family, struct v4 server)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_from_v4(family, server, &ss);

	return real.connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : -errno;
}

int hs_server_connected(int fd, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t elen = sizeof(int);
	int err;

	if (!deadline) {
		if (poll(&p, 1, 0) == 0)
			return -EINPROGRESS;
	} else if ((err = hs_wait(fd, POLLOUT, deadline, false)) < 0) {
		return err;
	}
	if (real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
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
			if ((err = hs_wait(fd, POLLOUT, deadline, false)) < 0)
				return err;
		} else {
			return -errno;
		}
	}
	return 0;
}

int hs_send_request(int fd, uint8_t cmd, struct v4 dst, const char *userid,
		    int64_t deadline)
{
	uint8_t req[SOCKS4_REQUEST_MAX];
	int len = socks4_build_request(req, sizeof(req), cmd, dst.ip, dst.port, userid);

	return len < 0 ? len : send_all(fd, req, (size_t)len, deadline);
}

int hs_request(int fd, int family, struct v4 server, uint8_t cmd,
	       struct v4 dst, const char *userid, int64_t deadline,
	       enum hs_stage *stage)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	*stage = HS_STAGE_SERVER;
	err = hs_connect_server(fd, family, server);
	if (err < 0 && err != -EINPROGRESS)
		return err;
	/* No separate wait for the connection: send() waits for it (EAGAIN,
	 * then POLLOUT) and reports its failure, and on a LAN it is up by
	 * now, which saves a poll() and a getsockopt() per connection. */
	err = hs_send_request(fd, cmd, dst, userid, deadline);
	if (err == 0 || real.getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		*stage = HS_STAGE_REQUEST; /* it was connected: the send failed */
	return err;
}

int hs_read_reply(int fd, struct fdslot *s, int64_t deadline, bool interruptible)
{
	while (s->got < SOCKS4_REPLY_LEN) {
		ssize_t n = recv(fd, s->reply + s->got, SOCKS4_REPLY_LEN - s->got,
				 MSG_DONTWAIT);
		int err;

		if (n > 0) {
			s->got += (uint8_t)n;
		} else if (n == 0) {
			return HS_EOF;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (!deadline)
				return -EAGAIN;
			if ((err = hs_wait(fd, POLLIN, deadline, interruptible)) < 0)
				return err;
		} else {
			return -errno;
		}
	}
	return 0;
}

int hs_outcome(const char *what, struct v4 server, const struct fdslot *s,
	       int err, enum hs_stage stage, unsigned timeout_ms,
	       struct socks4_reply *r)
{
	char p[ADDR_STRLEN];
	const uint8_t *b = s->reply;

	addr_fmt(server, p);
	if (err == 0 && socks4_parse_reply(s->reply, r) < 0) {
		log_msg(LOG_ERROR, "%s via %s: malformed reply "
			"(%02x %02x %02x %02x %02x %02x %02x %02x)",
			what, p, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
		return EPROTO;
	}
	if (err == 0 && r->code != SOCKS4_REPLY_GRANTED) {
		log_msg(LOG_ERROR, "%s via %s: rejected (%u, %s)", what, p,
			r->code, socks4_reply_str(r->code));
		return socks4_reply_errno(r->code);
	}
	if (err == 0)
		return 0;
	if (stage == HS_STAGE_SERVER && err == -ETIMEDOUT)
		log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: no answer within %u s",
			what, p, timeout_ms / 1000);
	else if (stage == HS_STAGE_SERVER)
		log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: %s",
			what, p, strerror(-err));
	else if (err == HS_EOF)
		log_msg(LOG_ERROR, "%s via %s: server closed the connection after "
			"%u of 8 reply bytes", what, p, s->got);
	else if (err == -ETIMEDOUT)
		log_msg(LOG_ERROR, "%s via %s: no reply within %u s", what, p,
			timeout_ms / 1000);
	else
		log_msg(LOG_ERROR, "%s via %s: %s: %s", what, p,
			stage == HS_STAGE_REQUEST ? "sending the request failed"
						  : "reading the reply failed",
			strerror(-err));
	return err == HS_EOF ? ECONNRESET : -err;
}
