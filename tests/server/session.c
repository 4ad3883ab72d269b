/*
 * session.c - one client of socks4d, from accept() to close: its request
 * (framed by src/core/socks4.c's parser, never by recv() boundaries), the
 * access check, CONNECT (draft section 3) or BIND (section 4), the
 * replies, and the linger after a refusal.
 *
 * Data flows in from loop.c (session_run on readiness, session_timeout on
 * a deadline) and out to relay.c once a reply has granted the relay.
 * Where a -M misbehaviour could apply it asks misbehave.c (mis_*); only
 * the paced writing of a reply reads the session's misbehaviour itself.
 */
#include "socks4d.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *command_name(uint8_t command)
{
	return command == SOCKS4_CMD_BIND ? "BIND" : "CONNECT";
}

/* A USERID is any bytes; keep the log line one parseable line. */
static void fmt_userid(char *out, size_t cap, const char *uid, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)uid[i];

		if (c > ' ' && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/* "CONNECT 127.0.0.1:8080 from 127.0.0.1:5555[ user=bob]" */
static void sess_label(const struct session *s, bool with_user, char *buf,
		       size_t cap)
{
	char dst[ADDR_STRLEN], src[ADDR_STRLEN];
	int n;

	/* 4A: "CONNECT files.example:21 at 192.0.2.7 from ...", the name
	 * as asked for and, once resolved, the address used. */
	if (s->host) {
		char at[ADDR_STRLEN + 4] = "";

		if (s->resolved) {
			addr_fmt((struct v4){ s->dst_addr, s->dst_port }, dst);
			*strrchr(dst, ':') = '\0';
			snprintf(at, sizeof at, " at %s", dst);
		}
		n = snprintf(buf, cap, "%s %.*s:%u%s from %s", command_name(s->command),
			     (int)s->host_len, s->host, (unsigned)ntohs(s->dst_port),
			     at, fmt_sin(src, &s->client_addr));
	} else {
		n = snprintf(buf, cap, "%s %s from %s", command_name(s->command),
			     addr_fmt((struct v4){ s->dst_addr, s->dst_port }, dst),
			     fmt_sin(src, &s->client_addr));
	}

	if (with_user && n > 0 && (size_t)n < cap) {
		const char *uid = (const char *)s->req + SOCKS4_REQUEST_FIXED_LEN;
		char user[SOCKS4_USERID_MAX * 4 + 1];

		fmt_userid(user, sizeof user, uid, strlen(uid));
		snprintf(buf + n, cap - (size_t)n, " user=%s", user);
	}
}

__attribute__((format(printf, 3, 4))) void
log_sess(const struct session *s, bool with_user, const char *fmt, ...)
{
	char label[LABEL_MAX], msg[512];
	va_list ap;

	if (!conf.verbose)
		return;
	sess_label(s, with_user, label, sizeof label);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_msg(LOG_INFO, "%s: %s", label, msg);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

bool client_allowed(const struct sockaddr_in *sin)
{
	return route_lookup(&conf.allow, sin->sin_addr.s_addr, sin->sin_port,
			    NULL) == ROUTE_PROXY;
}

/*
 * Queues a reply and chooses what follows it. "first" is the CONNECT
 * reply or BIND's first reply: the one -M reply/delay/short/extra touch.
 */
static void reply_begin(struct session *s, uint8_t code, uint32_t addr,
			uint16_t port, enum reply_next next, bool first)
{
	socks4_build_reply(s->out, code, addr, port);
	s->out_len = SOCKS4_REPLY_LEN;
	s->out_off = 0;
	s->out_extra = false;
	s->pace_until = 0;
	s->next = next;
	s->state = SESS_REPLYING;
	mis_shape_reply(s, code, first);
}

static void reject(struct session *s, bool first)
{
	reply_begin(s, SOCKS4_REPLY_REJECTED, 0, 0, NEXT_LINGER, first);
}

static void linger_start(struct session *s)
{
	/* A FIN, not a RST, so the client reads the reply before EOF; we
	 * keep reading so unread bytes of its do not turn close() into RST. */
	shutdown(s->client.fd, SHUT_WR);
	s->state = SESS_LINGER;
	deadline_set(s, srv.now + LINGER_MS);
}

void relay_start(struct session *s);

static void reply_done(struct session *s)
{
	deadline_clear(s);
	switch (s->next) {
	case NEXT_RELAY:
		relay_start(s);
		break;
	case NEXT_BIND_WAIT:
		/* Only now: an inbound host arriving before the first reply is
		 * out would otherwise wake a level-triggered listener in vain. */
		if (ep_add(&s->bind, s->bind.fd, EP_BIND, s) < 0) {
			session_close(s, false);
			break;
		}
		s->state = SESS_BIND_WAIT;
		deadline_set(s, srv.now + conf.bind_ms);
		break;
	case NEXT_LINGER:
		ep_close(&s->remote, false);
		ep_close(&s->bind, false);
		linger_start(s);
		break;
	case NEXT_CLOSE:
		session_close(s, false);
		break;
	}
}

static void reply_step(struct session *s)
{
	size_t total = s->out_len + (s->out_extra ? sess_mis(s)->extra_len : 0);

	while (s->out_off < total) {
		struct iovec iov[2];
		int iovcnt = 0;
		ssize_t n;

		if (s->pace_until > srv.now) {
			deadline_set(s, s->pace_until);
			return;
		}
		if (!s->client.writable)
			return;
		if (s->out_off < s->out_len) {
			iov[iovcnt].iov_base = s->out + s->out_off;
			iov[iovcnt++].iov_len = s->out_len - s->out_off;
		}
		if (s->out_extra) {
			size_t skip = s->out_off > s->out_len ? s->out_off - s->out_len : 0;

			iov[iovcnt].iov_base = sess_mis(s)->extra + skip;
			iov[iovcnt++].iov_len = sess_mis(s)->extra_len - skip;
		}
		if (sess_mis(s)->bytewise) {
			iovcnt = 1;
			iov[0].iov_len = 1;
		}
		/* One call for reply and -M extra: the client must be able to
		 * get both from one recv(), as from a server that answers fast. */
		n = writev(s->client.fd, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->client.writable = false;
				return;
			}
			log_sess(s, false, "closed (reply not sent: %s)", strerror(errno));
			session_close(s, true);
			return;
		}
		s->out_off += (size_t)n;
		if (sess_mis(s)->bytewise && s->out_off < total)
			s->pace_until = srv.now + BYTEWISE_GAP_MS;
	}
	reply_done(s);
}

/* ------------------------------------------------------------------ */
/* CONNECT (draft section 3)                                           */

static void connect_start(struct session *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = s->dst_port,
				   .sin_addr.s_addr = s->dst_addr };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_sess(s, true, "rejected (socket: %s)", strerror(errno));
		reject(s, true);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 &&
	    errno != EINPROGRESS) {
		log_sess(s, true, "rejected (%s)", strerror(errno));
		close(fd);
		reject(s, true);
		return;
	}
	if (ep_add(&s->remote, fd, EP_REMOTE, s) < 0) {
		log_sess(s, true, "rejected (cannot watch the connection)");
		reject(s, true);
		return;
	}
	s->state = SESS_CONNECTING;
	deadline_set(s, srv.now + conf.connect_ms);
}

static void connect_step(struct session *s)
{
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	int err = 0, code;
	socklen_t elen = sizeof err;

	/* EPOLLOUT (or ERR/HUP) is how a non-blocking connect() finishes;
	 * EPOLLOUT alone means connected, so SO_ERROR only on failure. */
	if (!s->remote.writable)
		return;
	if (s->remote.failed &&
	    getsockopt(s->remote.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (s->remote.failed && !err)
		err = ECONNREFUSED; /* HUP without an error: refused all the same */
	if (!err && getsockname(s->remote.fd, (struct sockaddr *)&local, &len) < 0)
		err = errno;
	deadline_clear(s);
	if (err) {
		log_sess(s, true, "rejected (%s)", strerror(err));
		ep_close(&s->remote, false);
		reject(s, true);
		return;
	}
	if (conf.connect_reply_zero) {
		local.sin_addr.s_addr = 0;
		local.sin_port = 0;
	}
	if (sess_mis(s)->echo_dst) {
		local.sin_addr.s_addr = s->dst_addr;
		local.sin_port = s->dst_port;
	}
	code = mis_first_code(s);
	if (code == SOCKS4_REPLY_GRANTED) {
		log_sess(s, true, "granted");
		reply_begin(s, SOCKS4_REPLY_GRANTED, local.sin_addr.s_addr,
			    local.sin_port, NEXT_RELAY, true);
	} else {
		log_sess(s, true, "rejected (-M reply=%d)", code);
		ep_close(&s->remote, false);
		reply_begin(s, (uint8_t)code, local.sin_addr.s_addr,
			    local.sin_port, NEXT_LINGER, true);
	}
}

/* ------------------------------------------------------------------ */
/* BIND (draft section 4)                                              */

static void bind_start(struct session *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	char where[ADDR_STRLEN];
	enum reply_next next = NEXT_BIND_WAIT;
	int code, fd, one = 1;

	if (conf.have_bind_addr) {
		sin.sin_addr = conf.bind_addr;
	} else if (getsockname(s->client.fd, (struct sockaddr *)&sin, &len) < 0) {
		log_sess(s, true, "rejected (getsockname: %s)", strerror(errno));
		reject(s, true);
		return;
	}
	sin.sin_port = 0;
	len = sizeof sin;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) /* inherited by the inbound connection */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(fd, BIND_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		log_sess(s, true, "rejected (cannot listen: %s)", strerror(errno));
		if (fd >= 0)
			close(fd);
		reject(s, true);
		return;
	}
	/* Registered with epoll only once the first reply is out. */
	s->bind.fd = fd;
	log_sess(s, true, "listening on %s", fmt_sin(where, &sin));
	if (conf.bind_reply_zero)
		sin.sin_addr.s_addr = 0;
	code = mis_first_code(s);
	if (code != SOCKS4_REPLY_GRANTED)
		next = NEXT_LINGER;
	else if (sess_mis(s)->close_after_first)
		next = NEXT_CLOSE;
	if (code != SOCKS4_REPLY_GRANTED)
		log_sess(s, true, "rejected (-M reply=%d)", code);
	else if (sess_mis(s)->close_after_first)
		log_sess(s, true, "misbehaving (close-after-first)");
	reply_begin(s, (uint8_t)code, sin.sin_addr.s_addr, sin.sin_port, next,
		    true);
}

static void bind_step(struct session *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char from[ADDR_STRLEN];
	int fd, code;

	/* Appendix B.2: a listener nobody will use must not hold its port. */
	if (s->client.rdhup) {
		log_sess(s, false, "closed (client left while waiting)");
		session_close(s, false);
		return;
	}
	if (!s->bind.readable)
		return;
	fd = accept4(s->bind.fd, (struct sockaddr *)&sin, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
			s->bind.readable = false;
			return;
		}
		log_sess(s, false, "rejected (accept: %s)", strerror(errno));
		deadline_clear(s);
		ep_close(&s->bind, false);
		reject(s, false);
		return;
	}
	deadline_clear(s);
	ep_close(&s->bind, false); /* exactly one inbound connection */
	fmt_sin(from, &sin);
	if (sin.sin_addr.s_addr != s->dst_addr) {
		log_sess(s, false, "inbound from %s: rejected (source mismatch)", from);
		close(fd);
		reject(s, false);
		return;
	}
	if (ep_add(&s->remote, fd, EP_REMOTE, s) < 0) {
		log_sess(s, false, "inbound from %s: rejected (cannot watch it)", from);
		reject(s, false);
		return;
	}
	code = mis_second_code(s);
	if (code == SOCKS4_REPLY_GRANTED) {
		log_sess(s, false, "inbound from %s: granted", from);
		reply_begin(s, SOCKS4_REPLY_GRANTED, sin.sin_addr.s_addr,
			    sin.sin_port, NEXT_RELAY, false);
	} else {
		log_sess(s, false, "inbound from %s: rejected (-M second=%d)", from,
			 code);
		ep_close(&s->remote, false);
		reply_begin(s, (uint8_t)code, sin.sin_addr.s_addr, sin.sin_port,
			    NEXT_LINGER, false);
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* A complete request with an address (resolved, for 4A): -d, then go. */
static void request_go(struct session *s)
{
	const struct route_rule *hit;

	if (route_lookup(&conf.deny, s->dst_addr, s->dst_port, &hit) == ROUTE_DENY) {
		char rule[ROUTE_DEST_STRLEN];

		log_sess(s, true, "rejected (destination refused by -d %s)",
			 route_fmt_dest(hit, rule));
		reject(s, true);
		return;
	}
	if (s->command == SOCKS4_CMD_CONNECT)
		connect_start(s);
	else
		bind_start(s);
}

static void request_done(struct session *s, const struct socks4_request *req,
			 size_t size)
{
	s->req_size = size;
	s->command = req->command;
	s->dst_addr = req->addr;
	s->dst_port = req->port;
	s->host = req->host;
	s->host_len = req->host_len;
	deadline_clear(s);

	if (mis_from_userid(s, req->userid, req->userid_len) < 0) {
		log_sess(s, true, "rejected (-U: a bad -M spec in the user id)");
		reject(s, true);
		return;
	}
	if (s->host && conf.no_4a) {
		log_sess(s, true, "rejected (SOCKS4A is off: -N)");
		reject(s, true);
		return;
	}
	if (mis_after_request(s))
		return;
	if (s->host) {
		int r = resolver_submit(s);

		if (r) {
			log_sess(s, true, "rejected (cannot resolve: %s)", strerror(-r));
			reject(s, true);
			return;
		}
		/* -t bounds the whole CONNECT, the name's lookup included */
		s->state = SESS_RESOLVING;
		deadline_set(s, srv.now + conf.connect_ms);
		return;
	}
	request_go(s);
}

/* The name's addresses are in: the first one -d allows is used. */
void session_resolved(struct session *s, const char *why, const uint32_t *addrs,
		      size_t n_addrs)
{
	deadline_clear(s);
	if (why) {
		log_sess(s, true, "rejected (name does not resolve: %s)", why);
		reject(s, true);
		session_run(s);
		return;
	}
	for (size_t i = 0; i < n_addrs; i++) {
		s->dst_addr = addrs[i];
		if (route_lookup(&conf.deny, s->dst_addr, s->dst_port, NULL) !=
		    ROUTE_DENY)
			break;
	}
	s->resolved = true;
	request_go(s);
	session_run(s);
}

static void request_fail(struct session *s, const char *why)
{
	char from[ADDR_STRLEN];

	log_msg(LOG_INFO, "client %s: rejected (%s)", fmt_sin(from, &s->client_addr), why);
	deadline_clear(s);
	reject(s, true);
}

/* socks4_parse_request()'s verdict on a bad request, for the log. */
static const char *request_refusal(int verdict, char *buf, size_t cap)
{
	switch (verdict) {
	case SOCKS4_USERID_TOO_LONG:
		snprintf(buf, cap, "user id longer than %d bytes", SOCKS4_USERID_MAX);
		return buf;
	case SOCKS4_HOST_TOO_LONG:
		snprintf(buf, cap, "SOCKS4A name longer than %d bytes", SOCKS4_HOST_MAX);
		return buf;
	case SOCKS4_HOST_INVALID:
		return "SOCKS4A name empty or with a byte no name holds";
	default:
		return "malformed request";
	}
}

static void request_step(struct session *s)
{
	char from[ADDR_STRLEN];

	while (s->client.readable) {
		struct socks4_request req;
		ssize_t n;
		int r;

		if (s->req_len == sizeof s->req) {
			/* Cannot happen: a full buffer is complete or too long. */
			request_fail(s, "request too long");
			return;
		}
		n = recv(s->client.fd, s->req + s->req_len,
			 sizeof s->req - s->req_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->client.readable = false;
				return;
			}
			log_msg(LOG_INFO, "client %s: closed (%s)",
				  fmt_sin(from, &s->client_addr), strerror(errno));
			session_close(s, false);
			return;
		}
		if (n == 0) {
			log_msg(LOG_INFO, "client %s: closed (before a complete request)",
				  fmt_sin(from, &s->client_addr));
			session_close(s, false);
			return;
		}
		s->req_len += (size_t)n;
		r = socks4_parse_request(s->req, s->req_len, SOCKS4_USERID_MAX, &req);
		if (r == SOCKS4_NEED_MORE)
			continue;
		if (r < 0) {
			char why[64];

			request_fail(s, request_refusal(r, why, sizeof why));
			return;
		}
		request_done(s, &req, (size_t)r);
		return;
	}
}

/* -M stall and the linger after a final reply: read, discard, await EOF. */
static void drain_step(struct session *s)
{
	static uint8_t sink[4096];

	while (s->client.readable) {
		ssize_t n = recv(s->client.fd, sink, sizeof sink, 0);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->client.readable = false;
			return;
		}
		if (s->state == SESS_STALL)
			log_sess(s, false, "closed (client left)");
		session_close(s, false);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Driving a session: readiness and deadlines in, state changes out  */

void session_run(struct session *s)
{
	enum sess_state before;

	do {
		before = s->state;
		switch (s->state) {
		case SESS_REQUEST:
			request_step(s);
			break;
		case SESS_RESOLVING:
			break; /* resolve.c's answer or the deadline moves it on */
		case SESS_CONNECTING:
			connect_step(s);
			break;
		case SESS_REPLY_DELAY:
			break; /* only its deadline moves it on */
		case SESS_REPLYING:
			reply_step(s);
			break;
		case SESS_BIND_WAIT:
			bind_step(s);
			break;
		case SESS_RELAY:
			relay_step(s);
			break;
		case SESS_STALL:
		case SESS_LINGER:
			drain_step(s);
			break;
		case SESS_DEAD:
			return;
		}
	} while (s->state != before && s->state != SESS_DEAD);
}

void session_timeout(struct session *s)
{
	char from[ADDR_STRLEN];

	switch (s->state) {
	case SESS_REQUEST:
		log_msg(LOG_INFO, "client %s: dropped (no complete request within %ld ms)",
			  fmt_sin(from, &s->client_addr), conf.request_ms);
		session_close(s, false);
		return;
	case SESS_RESOLVING:
		log_sess(s, true, "rejected (timeout resolving the name)");
		resolver_cancel(s);
		reject(s, true);
		break;
	case SESS_CONNECTING:
		log_sess(s, true, "rejected (timeout)");
		ep_close(&s->remote, false);
		reject(s, true);
		break;
	case SESS_REPLY_DELAY:
		s->state = SESS_REPLYING;
		break;
	case SESS_BIND_WAIT:
		log_sess(s, false, "rejected (timeout)");
		ep_close(&s->bind, false);
		reject(s, false);
		break;
	case SESS_LINGER:
		session_close(s, false);
		return;
	default:
		break; /* REPLYING: a -M bytewise pause is over */
	}
	session_run(s);
}

void refuse(int fd, const struct sockaddr_in *sin, const char *why)
{
	char from[ADDR_STRLEN];
	uint8_t sink[SOCKS4_REQUEST_MAX];

	/* Reading what already came keeps close() a FIN rather than a RST. */
	if (recv(fd, sink, sizeof sink, MSG_DONTWAIT) < 0) {
		/* nothing there yet: fine */
	}
	close(fd);
	log_msg(LOG_INFO, "client %s: refused (%s)", fmt_sin(from, sin), why);
}

/*
 * More outsiders than -m at once: 91 and close, with no session. The 8
 * bytes fit a fresh socket's send buffer; a request arriving after the
 * close may turn it into a reset, which is the price of holding nothing.
 */
void refuse_outsider(int fd, const struct sockaddr_in *sin)
{
	uint8_t rep[SOCKS4_REPLY_LEN];

	socks4_build_reply(rep, SOCKS4_REPLY_REJECTED, 0, 0);
	if (send(fd, rep, sizeof rep, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* it is being refused either way */
	}
	refuse(fd, sin, "client not allowed");
}

/*
 * A client from accept(). One outside the -a list is answered 91 at once,
 * before it has sent a byte (issue 13 item 14): it never waits for a
 * request in one of the -m slots the allowed clients need.
 */
void session_new(int fd, const struct sockaddr_in *sin, bool outsider)
{
	struct session *s = calloc(1, sizeof *s);

	if (!s) {
		refuse(fd, sin, "out of memory");
		return;
	}
	s->client.fd = s->remote.fd = s->bind.fd = -1;
	s->up.pipe.r = s->up.pipe.w = s->down.pipe.r = s->down.pipe.w = -1;
	s->heap_idx = HEAP_NONE;
	s->client_addr = *sin;
	s->state = SESS_REQUEST;
	if (ep_add(&s->client, fd, EP_CLIENT, s) < 0) {
		free(s);
		return;
	}
	s->bind.role = EP_BIND;
	s->bind.sess = s;
	s->next_s = srv.sessions;
	if (srv.sessions)
		srv.sessions->prev = s;
	srv.sessions = s;
	if (outsider) {
		char from[ADDR_STRLEN];

		s->outsider = true;
		srv.noutsiders++;
		log_msg(LOG_INFO, "client %s: rejected (client not allowed)",
			  fmt_sin(from, sin));
		reject(s, true);
		session_run(s);
		return;
	}
	srv.nclients++;
	deadline_set(s, srv.now + conf.request_ms);
	/* Most clients send the request with the handshake's last ACK:
	 * try it now rather than after another epoll_wait. */
	s->client.readable = true;
	session_run(s);
}

/* ------------------------------------------------------------------ */
/* Closing                                                             */

/* Closes everything the session holds; reset makes the peers see RST. */
void session_close(struct session *s, bool reset)
{
	if (s->state == SESS_DEAD)
		return;
	resolver_cancel(s);
	ep_close(&s->client, reset);
	ep_close(&s->remote, reset);
	ep_close(&s->bind, false);
	flow_release(&s->up);
	flow_release(&s->down);
	deadline_clear(s);
	ready_remove(s);
	if (s->prev)
		s->prev->next_s = s->next_s;
	else
		srv.sessions = s->next_s;
	if (s->next_s)
		s->next_s->prev = s->prev;
	if (s->outsider)
		srv.noutsiders--;
	else
		srv.nclients--;
	s->state = SESS_DEAD;
	/* Events already fetched may still point into s: free it later. */
	s->dead_next = srv.dead;
	srv.dead = s;
}

void reap_dead(void)
{
	while (srv.dead) {
		struct session *s = srv.dead;

		srv.dead = s->dead_next;
		mis_free(s);
		free(s);
	}
}

/*
 * The server is stopping on signo: a relay, or an exchange that would
 * have become one, ends with a reset at both ends, so neither mistakes
 * the cut for a clean end (issue 13 item 16). A refusal already sent
 * (LINGER) keeps its FIN.
 */
void session_cut(struct session *s, int signo)
{
	char from[ADDR_STRLEN];

	switch (s->state) {
	case SESS_DEAD:
		return;
	case SESS_LINGER:
		session_close(s, false);
		return;
	case SESS_RELAY:
		log_sess(s, false, "reset (cut by signal %d; %llu bytes up, %llu bytes down)",
			 signo, s->up.bytes, s->down.bytes);
		break;
	case SESS_REQUEST:
		log_msg(LOG_INFO, "client %s: reset (cut by signal %d before a complete request)",
			  fmt_sin(from, &s->client_addr), signo);
		break;
	default:
		log_sess(s, false, "reset (cut by signal %d before the relay)", signo);
		break;
	}
	session_close(s, true);
}
