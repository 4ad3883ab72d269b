/*
 * hooks_connect.c - connect() and getsockopt(SO_ERROR): outgoing
 * connections through a SOCKS4 CONNECT.
 *
 * The program's own socket is connected to the SOCKS server and carries
 * the exchange; after a granted reply it simply is the connection to the
 * destination and nothing passes through us again.
 *
 * A blocking connect() does the whole exchange before it returns. A
 * non-blocking one returns EINPROGRESS once the connection to the server
 * is under way (having sent the request already if that connection is up
 * at once); the reply is read when the program asks for the outcome, the
 * way every event loop and "connect with timeout" does: getsockopt
 * (SO_ERROR) or connect() again. The destination's connect time at the
 * proxy thus overlaps with whatever else the program is doing, and while
 * one socket waits for its reply the thread's other pending sockets send
 * their requests (see wait_reply).
 */
#include "handshake.h"
#include "log.h"
#include "primary.h"
#include "shim.h"
#include "socks4.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RULE_STRLEN (ROUTE_DEST_STRLEN + CONFIG_PATH_MAX + 32)

/* "127.0.0.0/8, built-in" or "0.0.0.0/0:25, /home/u/.socks4rc:5" */
static const char *rule_str(const struct route_rule *r, char *buf)
{
	char dest[ROUTE_DEST_STRLEN], origin[CONFIG_PATH_MAX + 16];

	snprintf(buf, RULE_STRLEN, "%s, %s", route_fmt_dest(r, dest),
		 config_rule_origin(&shim_cfg, r, origin, sizeof(origin)));
	return buf;
}

/* connect_again() result meaning "not handled: go on as for a new fd" */
#define CONNECT_PROCEED 1

static const char *server_str(char *buf)
{
	return addr_fmt(shim_cfg.server, buf);
}

/* Turns the outcome of an exchange into the errno the program sees
 * (positive, or 0 for a granted request). */
static int finish_connect(int fd, struct fdslot *s, int err, enum hs_stage stage)
{
	char what[16 + ADDR_STRLEN], p[ADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct v4 local = {0, 0};
	struct socks4_reply r;

	snprintf(what, sizeof(what), "CONNECT %s", addr_fmt(s->dst, p));
	err = hs_outcome(what, shim_cfg.server, s, err, stage,
			 shim_cfg.connect_timeout_ms, &r);
	if (err) {
		s->phase = PH_FAILED;
		return err;
	}
	s->phase = PH_CONNECTED;
	/* The draft calls these fields ignorable, but servers such as Dante
	 * fill them with their outward address: the best answer to
	 * getsockname() a program can get (see README). */
	s->name = r.addr ? (struct v4){r.addr, r.port} : (struct v4){0, 0};
	primary_note_proxy_ip(r.addr);
	/* With no address in the reply, a program's listener may be bound to
	 * our real one: remember it so that its BIND finds this connection. */
	if (!r.addr && real.getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_to_v4((struct sockaddr *)&ss, len, &local);
	primary_add_connect(s->dst, s->name, local);
	log_msg(LOG_INFO, "%s via %s: granted", what, server_str(p));
	return 0;
}

/* Options a program may have set that must survive a socket swap. */
static const struct {
	int level, name;
} carried[] = {
	{SOL_SOCKET, SO_REUSEADDR},   {SOL_SOCKET, SO_REUSEPORT},
	{SOL_SOCKET, SO_KEEPALIVE},   {SOL_SOCKET, SO_LINGER},
	{SOL_SOCKET, SO_RCVTIMEO},    {SOL_SOCKET, SO_SNDTIMEO},
	{SOL_SOCKET, SO_OOBINLINE},   {SOL_SOCKET, SO_PRIORITY},
	{IPPROTO_TCP, TCP_NODELAY},   {IPPROTO_TCP, TCP_KEEPIDLE},
	{IPPROTO_TCP, TCP_KEEPINTVL}, {IPPROTO_TCP, TCP_KEEPCNT},
	{IPPROTO_TCP, TCP_USER_TIMEOUT}, {IPPROTO_IP, IP_TOS},
};

/*
 * Puts a fresh, unconnected socket of the same kind behind fd, keeping
 * its options and flags: for a socket whose proxy connection is spent
 * (a failed CONNECT, or a BIND the program turned into a connect) and
 * that the program connects again.
 */
static int renew_socket(int fd, const struct fdslot *s)
{
	int proto = 0, fdflags, flflags, nfd;
	socklen_t len = sizeof(proto);
	char buf[32];

	if (real.getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 ||
	    (fdflags = fcntl(fd, F_GETFD)) < 0 || (flflags = fcntl(fd, F_GETFL)) < 0)
		return errno;
	nfd = socket(s->family, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (nfd < 0)
		return errno;
	for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++) {
		len = sizeof(buf);
		if (real.getsockopt(fd, carried[i].level, carried[i].name, buf, &len) == 0)
			setsockopt(nfd, carried[i].level, carried[i].name, buf, len);
	}
	if (s->family == AF_INET6) {
		len = sizeof(buf);
		if (real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, buf, &len) == 0)
			setsockopt(nfd, IPPROTO_IPV6, IPV6_V6ONLY, buf, len);
	}
	fcntl(nfd, F_SETFL, flflags);
	if (real.dup3(nfd, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int err = errno;
		real.close(nfd);
		return err;
	}
	real.close(nfd);
	/* A program that bound to a local address keeps its source address;
	 * the port it bound was 0, so any new one will do. */
	if (s->kind == FD_BIND && s->bound.ip && !primary_is_proxy_ip(s->bound.ip)) {
		struct sockaddr_storage ss;
		socklen_t sl = addr_from_v4(s->family, (struct v4){s->bound.ip, 0}, &ss);
		real.bind(fd, (struct sockaddr *)&ss, sl);
	}
	return 0;
}

/*
 * Non-blocking CONNECTs of this thread whose connection to the SOCKS
 * server is still under way. While one of them waits for its reply, the
 * others' requests go out as soon as their connections complete, so an
 * event loop with many connections in flight waits about one handshake,
 * not one per connection. Thread-local: an fd is moved on only by the
 * thread that started it, so no two threads ever drive one exchange.
 */
#define PENDING_MAX 64
static __thread int pending[PENDING_MAX];
static __thread int npending;

static void pending_add(int fd)
{
	for (int i = 0; i < npending; i++)
		if (pending[i] == fd)
			return;
	if (npending < PENDING_MAX)
		pending[npending++] = fd;
}

static void pending_remove(int fd)
{
	for (int i = 0; i < npending; i++)
		if (pending[i] == fd) {
			pending[i] = pending[--npending];
			return;
		}
}

static int advance(int fd, struct fdslot *s, bool wait, bool server_wait);

/* Sends the request of another pending socket whose connection to the
 * server completed; a failure waits in s->err for its SO_ERROR. */
static void progress_other(int fd)
{
	struct fdslot *s = fdstate_get(fd);
	int err;

	if (!s || s->kind != FD_CONNECT || s->phase != PH_CONNECTING) {
		pending_remove(fd);
		return;
	}
	if ((err = advance(fd, s, false, false)) > 0)
		s->err = err;
}

/* Waits for fd's reply, moving the other pending sockets on meanwhile. */
static int wait_reply(int fd, struct fdslot *s)
{
	struct pollfd p[1 + PENDING_MAX];

	for (;;) {
		int err = hs_read_reply(fd, s, 0, false);
		int64_t left = s->deadline - now_ms();
		int n, k = 1;

		if (err != -EAGAIN)
			return err;
		if (left <= 0)
			return -ETIMEDOUT;
		p[0] = (struct pollfd){.fd = fd, .events = POLLIN};
		for (int i = 0; i < npending; i++)
			if (pending[i] != fd)
				p[k++] = (struct pollfd){.fd = pending[i], .events = POLLOUT};
		n = poll(p, (nfds_t)k, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 1; n > 0 && i < k; i++)
			if (p[i].revents)
				progress_other(p[i].fd);
	}
}

/*
 * Moves a non-blocking CONNECT on: from reaching the server to sending the
 * request, and from the request to the reply. With wait false nothing
 * blocks (-EAGAIN: not there yet); with wait true only reaching the
 * server may still answer -EAGAIN, when server_wait is false too, since
 * the kernel's SO_ERROR is 0 while a connect is under way. Returns 0 once
 * connected, -EAGAIN, or a positive errno.
 */
static int advance(int fd, struct fdslot *s, bool wait, bool server_wait)
{
	enum hs_stage stage = HS_STAGE_SERVER;
	int err = 0;

	if (s->phase == PH_CONNECTING) {
		err = hs_server_connected(fd, wait && server_wait ? s->deadline : 0);
		if (err == -EINPROGRESS) {
			pending_add(fd);
			return -EAGAIN;
		}
		pending_remove(fd);
		if (!err) {
			stage = HS_STAGE_REQUEST;
			err = hs_send_request(fd, SOCKS4_CMD_CONNECT, s->dst,
					      shim_cfg.userid, s->deadline);
		}
		if (err)
			return finish_connect(fd, s, err, stage);
		s->phase = PH_WAIT_REPLY;
	}
	err = wait ? wait_reply(fd, s) : hs_read_reply(fd, s, 0, false);
	if (err == -EAGAIN)
		return -EAGAIN;
	return finish_connect(fd, s, err, HS_STAGE_REPLY);
}

/* connect() on a descriptor we already track. */
static int connect_again(int fd, struct fdslot *s)
{
	int err;

	switch (s->kind) {
	case FD_CONNECT:
		if (s->phase == PH_CONNECTED) {
			/* the kernel answers 0 to the first connect() after a
			 * non-blocking one completed, EISCONN after that */
			bool first = s->in_progress;
			s->in_progress = 0;
			return first ? 0 : shim_fail(EISCONN);
		}
		if (s->phase == PH_CONNECTING || s->phase == PH_WAIT_REPLY) {
			/* Once the socket polls writable the program takes the
			 * connect as done: from then on wait for the reply, as
			 * SO_ERROR does, rather than answer EALREADY, which the
			 * kernel never says after POLLOUT. Reaching the server is
			 * waited for only by a blocking socket. */
			bool blocking = !(fcntl(fd, F_GETFL) & O_NONBLOCK);
			err = advance(fd, s, true, blocking);
			if (err == -EAGAIN)
				return shim_fail(EALREADY);
			s->in_progress = 0;
			return err ? shim_fail(err) : 0;
		}
		if (s->err) { /* a failure found while it waited: say it, once */
			err = s->err;
			s->err = 0;
			return shim_fail(err);
		}
		break; /* failed before: retry on a fresh socket */
	case FD_ACCEPTED:
		return shim_fail(EISCONN);
	case FD_BIND:
		if (s->listening)
			return shim_fail(EISCONN); /* as for any listening socket */
		if (s->phase == PH_BOUND) { /* nothing sent yet: a plain socket */
			fdstate_drop(fd);
			return CONNECT_PROCEED;
		}
		/* pattern 1 turned connect: close the BIND, connect normally */
		log_msg(LOG_INFO, "fd %d: used for connect() after its BIND started; BIND closed", fd);
		break;
	}
	err = renew_socket(fd, s);
	fdstate_drop(fd);
	return err ? shim_fail(err) : CONNECT_PROCEED;
}

/* Errors that say the socket was not one to connect (already connected,
 * connecting, or of another family than its address): the kernel's own
 * answer to the program's connect(), with nothing to log. */
static bool not_ours(int err)
{
	return err == -EISCONN || err == -EALREADY || err == -EINVAL || err == -EAFNOSUPPORT;
}

/*
 * A non-blocking connect() answers EINPROGRESS as soon as the connection
 * to the SOCKS server is under way, so the program's own poll timeout
 * governs reaching the proxy and its event loop never stalls on it.
 */
static int connect_nonblocking(int fd, struct fdslot *s)
{
	char d[ADDR_STRLEN], p[ADDR_STRLEN];
	int err = hs_connect_server(fd, s->family, shim_cfg.server);

	if (not_ours(err)) {
		fdstate_drop(fd);
		return shim_fail(-err);
	}
	if (err && err != -EINPROGRESS)
		return shim_fail(finish_connect(fd, s, err, HS_STAGE_SERVER));
	s->phase = PH_CONNECTING;
	/* On loopback and most LANs the connection is already up: then the
	 * request goes out now, and the destination's connect time at the
	 * proxy overlaps with whatever the program does next. */
	if ((err = advance(fd, s, false, false)) > 0)
		return shim_fail(err);
	log_msg(LOG_DEBUG, "CONNECT %s via %s: %s", addr_fmt(s->dst, d), server_str(p),
		s->phase == PH_CONNECTING ? "reaching the server" : "request sent, reply pending");
	s->in_progress = 1;
	return shim_fail(EINPROGRESS);
}

static int proxy_connect(int fd, const struct sockaddr *addr, socklen_t len,
			 struct v4 dst)
{
	char d[ADDR_STRLEN];
	int domain = addr->sa_family, flags, err;
	enum hs_stage stage;
	struct fdslot *s;

	if (!shim_is_stream(fd))
		return real.connect(fd, addr, len);
	if (shim_cfg.error[0]) {
		log_msg(LOG_ERROR, "CONNECT %s: refused, not configured: %s",
			addr_fmt(dst, d), shim_cfg.error);
		return shim_fail(ECONNREFUSED);
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0)
		return -1;
	if (!(s = fdstate_new(fd, FD_CONNECT, domain)))
		return -1;
	s->dst = s->peer = dst;
	s->deadline = now_ms() + shim_cfg.connect_timeout_ms;
	if (flags & O_NONBLOCK)
		return connect_nonblocking(fd, s);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	err = hs_request(fd, domain, shim_cfg.server, SOCKS4_CMD_CONNECT, dst,
			 shim_cfg.userid, s->deadline, &stage);
	if (!err) {
		stage = HS_STAGE_REPLY;
		err = hs_read_reply(fd, s, s->deadline, false);
	}
	fcntl(fd, F_SETFL, flags);
	if (stage == HS_STAGE_SERVER && not_ours(err)) {
		fdstate_drop(fd); /* say what the kernel said */
		return shim_fail(-err);
	}
	err = finish_connect(fd, s, err, stage);
	return err ? shim_fail(err) : 0;
}

/* Native IPv6 cannot travel over SOCKS4. */
static int connect_ipv6(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct route_rule *hit;

	if (config_route_ipv6(&shim_cfg, addr, len, &hit) == ROUTE_DIRECT)
		return real.connect(fd, addr, len);
	log_msg(LOG_INFO, "CONNECT to an IPv6 address refused: SOCKS4 carries IPv4 only "
		"(ENETUNREACH; 'ipv6 direct' in socks4rc or SOCKS4_IPV6=direct lets IPv6 go direct)");
	return shim_fail(ENETUNREACH);
}

/* connect() to an IPv4 or IPv6 address: where it goes, and going there. */
/* connect() on a descriptor we already track: errno kept on success. */
static SLOW int connect_tracked(int fd, struct fdslot *s)
{
	int saved = errno, r = connect_again(fd, s);

	if (r == CONNECT_PROCEED)
		errno = saved;
	return r == CONNECT_PROCEED ? r : shim_done(saved, r);
}

static SLOW void log_direct(struct v4 dst, const struct route_rule *rule)
{
	char d[ADDR_STRLEN], why[RULE_STRLEN];

	log_msg(LOG_INFO, "CONNECT %s: direct (rule %s)", addr_fmt(dst, d), rule_str(rule, why));
}

static SLOW int deny(struct v4 dst, const struct route_rule *rule)
{
	char d[ADDR_STRLEN], why[RULE_STRLEN];

	log_msg(LOG_ERROR, "CONNECT %s: denied by rule %s (EACCES)", addr_fmt(dst, d),
		rule_str(rule, why));
	return shim_fail(EACCES);
}

/* The proxied path is the only one that does work of its own, so the
 * only one that must put errno back. */
static SLOW int connect_proxied(int fd, const struct sockaddr *addr, socklen_t len,
				struct v4 dst)
{
	int saved = errno;

	return shim_done(saved, proxy_connect(fd, addr, len, dst));
}

/* connect() to an IPv4 or IPv6 address: where it goes, and going there. */
static __attribute__((noinline)) int connect_ip(int fd, const struct sockaddr *addr,
						socklen_t len)
{
	const struct route_rule *rule;
	struct fdslot *s;
	struct v4 dst;
	int r;

	if (fdstate_slot(fd) && (s = fdstate_get(fd)) &&
	    (r = connect_tracked(fd, s)) != CONNECT_PROCEED)
		return r;
	if (!addr_to_v4(addr, len, &dst)) {
		if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
			return connect_ipv6(fd, addr, len);
		return real.connect(fd, addr, len); /* the kernel's EINVAL */
	}
	switch (route_lookup(&shim_cfg.routes, dst.ip, dst.port, &rule)) {
	case ROUTE_DIRECT:
		if (log_enabled(LOG_INFO))
			log_direct(dst, rule);
		return real.connect(fd, addr, len);
	case ROUTE_DENY:
		return deny(dst, rule);
	case ROUTE_PROXY:
		break;
	}
	return connect_proxied(fd, addr, len, dst);
}

/* Kept small: most programs' connect() calls (Unix sockets, and anything
 * before the settings exist) leave here at once. */
HOOK int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_real();
	if (!real.connect)
		return shim_fail(ENOSYS);
	if (addr && len >= sizeof(sa_family_t) &&
	    (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) && shim_ready())
		return connect_ip(fd, addr, len);
	return real.connect(fd, addr, len);
}

/* SO_ERROR or SO_ACCEPTCONN on a descriptor we track. */
static int getsockopt_slot(int fd, struct fdslot *s, int level, int name,
			      void *val, socklen_t *len)
{
	int err = 0;

	if (name == SO_ACCEPTCONN) {
		if (real.getsockopt(fd, level, name, val, len) < 0)
			return -1;
		if (s->kind == FD_BIND && s->listening && *len >= sizeof(int))
			*(int *)val = 1;
		return 0;
	}
	/* SO_ERROR after a non-blocking connect(): the moment the program
	 * asks for the outcome, which is the reply. While the connection to
	 * the server is still under way SO_ERROR is 0, as for any connect. */
	if (s->kind == FD_CONNECT &&
	    (s->phase == PH_CONNECTING || s->phase == PH_WAIT_REPLY))
		err = advance(fd, s, true, false);
	else if (s->kind == FD_CONNECT && s->phase == PH_FAILED && s->err)
		err = s->err; /* found while another socket waited */
	if (err > 0)
		s->err = 0;
	if (real.getsockopt(fd, level, name, val, len) < 0)
		return -1;
	if (err > 0 && *len >= sizeof(int))
		*(int *)val = err;
	return 0;
}

static SLOW int getsockopt_tracked(int fd, int level, int name, void *val,
				   socklen_t *len)
{
	struct fdslot *s = fdstate_get(fd);
	int saved = errno;

	if (!s)
		return real.getsockopt(fd, level, name, val, len);
	return shim_done(saved, getsockopt_slot(fd, s, level, name, val, len));
}

HOOK int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{

	shim_real();
	if (!real.getsockopt)
		return shim_fail(ENOSYS);
	if (level == SOL_SOCKET && (name == SO_ERROR || name == SO_ACCEPTCONN) &&
	    fdstate_slot(fd))
		return getsockopt_tracked(fd, level, name, val, len);
	return real.getsockopt(fd, level, name, val, len);
}

/*
 * TCP Fast Open: sendto()/sendmsg() with MSG_FASTOPEN connect as they
 * send, without a connect() call, and would go straight past us. They get
 * a proxied connect() first, then the data; a non-blocking socket gets
 * EINPROGRESS with nothing sent, as when no Fast Open cookie is at hand,
 * and sends again once connected. Every other call is one flag test.
 */
static ssize_t fastopen(int fd, const struct sockaddr *addr, socklen_t alen,
			const void *buf, size_t len, const struct msghdr *msg, int flags)
{
	int saved = errno;

	if (!addr || alen < sizeof(sa_family_t) || !shim_ready() ||
	    !shim_is_stream(fd))
		return -2; /* not ours: the caller passes it on */
	if (connect(fd, addr, alen) < 0 && errno != EISCONN)
		return -1;
	errno = saved;
	flags &= ~MSG_FASTOPEN;
	return msg ? real.sendmsg(fd, msg, flags) : real.sendto(fd, buf, len, flags, NULL, 0);
}

HOOK ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *addr, socklen_t alen)
{
	ssize_t r;

	shim_real();
	if (!real.sendto)
		return shim_fail(ENOSYS);
	if (!(flags & MSG_FASTOPEN) || (r = fastopen(fd, addr, alen, buf, len, NULL, flags)) == -2)
		return real.sendto(fd, buf, len, flags, addr, alen);
	return r;
}

HOOK ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr m;
	ssize_t r;

	shim_real();
	if (!real.sendmsg)
		return shim_fail(ENOSYS);
	if (!(flags & MSG_FASTOPEN) || !msg)
		return real.sendmsg(fd, msg, flags);
	m = *msg;
	m.msg_name = NULL; /* connected by then: the address is not repeated */
	m.msg_namelen = 0;
	r = fastopen(fd, msg->msg_name, msg->msg_namelen, NULL, 0, &m, flags);
	return r == -2 ? real.sendmsg(fd, msg, flags) : r;
}
