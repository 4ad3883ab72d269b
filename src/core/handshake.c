/*
 * handshake.c - the SOCKS4 exchange as a state machine (see handshake.h).
 *
 * Data flows one way: hs_step() asks the I/O table to connect, send or
 * receive, judges what came back with the codec (socks4.c), and moves
 * the state on through hs_set(), the one place a transition happens.
 */
#include "handshake.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

static const char *const state_names[] = {
	[HS_IDLE] = "IDLE",     [HS_START] = "START",   [HS_REACH] = "REACH",
	[HS_SEND] = "SEND",     [HS_REPLY] = "REPLY",   [HS_GRANTED] = "GRANTED",
	[HS_SECOND] = "SECOND", [HS_DONE] = "DONE",     [HS_FAILED] = "FAILED",
};

const char *hs_state_name(int state)
{
	if (state < 0 || (size_t)state >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[state];
}

/* "CONNECT 198.51.100.7:21" or "BIND files.example:21" */
const char *hs_what(const struct hs *h, char *buf, size_t cap)
{
	char d[ADDR_STRLEN];

	if (h->host)
		snprintf(buf, cap, "%s %s:%u", h->cmd == SOCKS4_CMD_BIND ? "BIND" : "CONNECT",
			 h->host, ntohs(h->dst.port));
	else
		snprintf(buf, cap, "%s %s", h->cmd == SOCKS4_CMD_BIND ? "BIND" : "CONNECT",
			 addr_fmt(h->dst, d));
	return buf;
}

static void hs_set(struct hs *h, enum hs_state to)
{
	if (log_enabled(LOG_DEBUG)) {
		char what[SOCKS4_HOST_MAX + 32];
		log_msg(LOG_DEBUG, "%s: [%s] -> [%s]", hs_what(h, what, sizeof(what)),
			hs_state_name(h->state), hs_state_name(to));
	}
	h->state = (uint8_t)to;
}

void hs_fail(struct hs *h, int err)
{
	if (h->state == HS_FAILED)
		return;
	h->failed_in = h->state;
	h->err = err;
	hs_set(h, HS_FAILED);
}

void hs_init(struct hs *h, uint8_t cmd, int family, struct v4 server,
	     struct v4 dst, const char *userid, const char *host)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->family = family;
	h->server = server;
	h->dst = dst;
	h->userid = userid;
	h->host = host;
	h->state = HS_START;
}

void hs_expect_second(struct hs *h)
{
	h->got = 0;
	hs_set(h, HS_SECOND);
}

/* The request, built again at each send: it is small, and the exchange
 * then holds no buffer of its own. */
static int build(const struct hs *h, uint8_t *buf, size_t cap)
{
	if (h->host)
		return socks4_build_request_4a(buf, cap, h->cmd, h->dst.port, h->userid, h->host);
	return socks4_build_request(buf, cap, h->cmd, h->dst.ip, h->dst.port, h->userid);
}

/* Sends what is left of the request. 0 when all of it is out. */
static int send_rest(struct hs *h, const struct hs_io *io, int fd)
{
	uint8_t req[SOCKS4_REQUEST_4A_MAX];
	int len = build(h, req, sizeof(req));

	if (len < 0)
		return len;
	while (h->sent < len) {
		ssize_t n = io->send(io->ctx, fd, req + h->sent, (size_t)len - h->sent,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			h->sent += (uint16_t)n;
			if (h->state == HS_REACH)
				hs_set(h, HS_SEND); /* a byte went out: it is connected */
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return HS_WANT_WRITE;
		} else {
			return n < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* Reads what is left of a reply, never a byte more: what follows is the
 * program's. 0 once all 8 bytes are in. */
static int recv_rest(struct hs *h, const struct hs_io *io, int fd)
{
	while (h->got < SOCKS4_REPLY_LEN) {
		ssize_t n = io->recv(io->ctx, fd, h->reply + h->got, SOCKS4_REPLY_LEN - h->got,
				     MSG_DONTWAIT);
		if (n > 0)
			h->got += (uint8_t)n;
		else if (n == 0)
			return HS_ERR_EOF;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return HS_WANT_READ;
		else
			return -errno;
	}
	return 0;
}

/* Judges a whole reply: 0 for granted, else the failure. */
static int judge(struct hs *h)
{
	if (socks4_parse_reply(h->reply, &h->r) < 0)
		return HS_ERR_MALFORMED;
	return h->r.code == SOCKS4_REPLY_GRANTED ? 0 : HS_ERR_REFUSED;
}

int hs_step(struct hs *h, const struct hs_io *io, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	switch ((enum hs_state)h->state) {
	case HS_IDLE:
		return -EINVAL;
	case HS_START:
		len = addr_from_v4(h->family, h->server, &ss);
		if (io->connect(io->ctx, fd, (struct sockaddr *)&ss, len) == 0) {
			hs_set(h, HS_SEND);
		} else if (errno == EINPROGRESS || errno == EINTR) {
			/* EINTR: the connection goes on in the background */
			hs_set(h, HS_REACH);
		} else {
			hs_fail(h, -errno);
			return -hs_errno(h);
		}
		/* fall through */
	case HS_REACH:
	case HS_SEND:
		if ((r = send_rest(h, io, fd)) != 0) {
			if (r < 0)
				hs_fail(h, r);
			return r < 0 ? -hs_errno(h) : r;
		}
		hs_set(h, HS_REPLY);
		/* The reply cannot be in yet (the server has a request to
		 * read, a connection to make): asking now would cost a
		 * system call that answers EAGAIN. */
		return HS_WANT_READ;
	case HS_REPLY:
	case HS_SECOND:
		if ((r = recv_rest(h, io, fd)) == 0)
			r = judge(h);
		if (r < 0)
			hs_fail(h, r);
		if (r != 0)
			return r < 0 ? -hs_errno(h) : r;
		hs_set(h, h->state == HS_SECOND ? HS_DONE : HS_GRANTED);
		return 0;
	case HS_GRANTED:
	case HS_DONE:
		return 0;
	case HS_FAILED:
		return -hs_errno(h);
	}
	return -EINVAL;
}

void hs_drive_init(struct hs_drive *d, struct hs *h, const struct hs_io *io, int fd,
		   int64_t deadline)
{
	memset(d, 0, sizeof(*d));
	d->h = h;
	d->io = io;
	d->fd = fd;
	d->deadline = deadline;
	d->started = now_ms();
	d->sock_deadline = -1; /* read at the first wait: most calls never wait */
	d->slice_ms = 60000;
}

/* One wait for want: 0 to step again, or what ends the drive. */
static int drive_wait(struct hs_drive *d, int want)
{
	struct pollfd one[1], *p = d->p ? d->p : one;
	int64_t now = now_ms(), end = d->deadline, t;
	int n, err = 0;

	if (d->sock_deadline < 0) {
		t = d->sock_timeout ? d->sock_timeout(d) : 0;
		d->sock_deadline = t ? d->started + t : 0;
	}
	if (d->sock_deadline && d->sock_deadline < end)
		end = d->sock_deadline;
	if (end <= now)
		return end == d->deadline ? -ETIMEDOUT : -EAGAIN;
	p[0] = (struct pollfd){.fd = d->fd, .events = want == HS_WANT_READ ? POLLIN : POLLOUT};
	if (d->leave)
		d->leave(d);
	n = poll(p, (nfds_t)(1 + (d->p ? d->n_others : 0)),
		 end - now > d->slice_ms ? d->slice_ms : (int)(end - now));
	if (n < 0 && errno != EINTR)
		err = -errno;
	else if (n < 0 && (d->flags & HS_DRIVE_SIGNALS) &&
		 (d->sock_deadline || !d->restart || !d->restart()))
		err = -EINTR;
	return d->back ? d->back(d, err) : err;
}

int hs_drive(struct hs_drive *d)
{
	for (;;) {
		int r = d->step ? d->step(d) : hs_step(d->h, d->io, d->fd), w;

		if (r <= 0 || (d->flags & HS_DRIVE_NOWAIT) ||
		    (r == HS_WANT_WRITE && (d->flags & HS_DRIVE_READ_ONLY)))
			return r;
		if ((w = drive_wait(d, r)) == 0)
			continue;
		if (w == -EBADF || w == -EINTR || w == -EAGAIN)
			return w;
		/* our deadline, or poll() failed: the exchange fails, and the
		 * next step answers with that */
		if (d->fail)
			d->fail(d, w);
		else
			hs_fail(d->h, w);
	}
}

int hs_run(struct hs *h, const struct hs_io *io, int fd, int64_t deadline)
{
	struct hs_drive d;

	hs_drive_init(&d, h, io, fd, deadline);
	return hs_drive(&d);
}

int hs_errno(const struct hs *h)
{
	switch (h->err) {
	case 0:
		return 0;
	case HS_ERR_EOF:
		return ECONNRESET;
	case HS_ERR_MALFORMED:
		return EPROTO;
	case HS_ERR_REFUSED:
		return socks4_reply_errno(h->r.code);
	}
	return -h->err;
}

int hs_log_failure(const struct hs *h, const char *what)
{
	char p[ADDR_STRLEN], w[HS_WHAT_MAX];
	const uint8_t *b = h->reply;
	bool reaching = h->failed_in == HS_START || h->failed_in == HS_REACH;
	unsigned secs = h->timeout_ms / 1000;

	if (!what)
		what = hs_what(h, w, sizeof(w));
	addr_fmt(h->server, p);
	switch (h->err) {
	case HS_ERR_MALFORMED:
		log_msg(LOG_ERROR, "%s via %s: malformed reply "
			"(%02x %02x %02x %02x %02x %02x %02x %02x)",
			what, p, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
		break;
	case HS_ERR_REFUSED:
		log_msg(LOG_ERROR, "%s via %s: rejected (%u, %s)", what, p,
			h->r.code, socks4_reply_str(h->r.code));
		break;
	case HS_ERR_EOF:
		log_msg(LOG_ERROR, "%s via %s: server closed the connection after "
			"%u of 8 reply bytes", what, p, h->got);
		break;
	case -ETIMEDOUT:
		if (reaching)
			log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: no answer "
				"within %u s", what, p, secs);
		else
			log_msg(LOG_ERROR, "%s via %s: no reply within %u s", what, p, secs);
		break;
	default:
		if (reaching)
			log_msg(LOG_ERROR, "%s via %s: SOCKS server unreachable: %s",
				what, p, strerror(-h->err));
		else
			log_msg(LOG_ERROR, "%s via %s: %s: %s", what, p,
				h->failed_in == HS_SEND ? "sending the request failed"
							: "reading the reply failed",
				strerror(-h->err));
		break;
	}
	return hs_errno(h);
}

int64_t timeval_ms(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
}
