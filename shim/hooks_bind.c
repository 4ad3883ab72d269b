/*
 * hooks_bind.c - bind(), listen(), accept() and accept4(): listening
 * sockets served by a SOCKS4 BIND.
 *
 * Which sockets: an IPv4 stream socket (AF_INET, or AF_INET6 bound to ::
 * or a v4-mapped address) that the program binds to port 0 on an
 * address outside the direct list, or never binds, and that will listen.
 * An explicit port stays local: that is a server, not a call-back.
 *
 * When: at the first getsockname() or listen() on such a socket, whichever
 * comes first, because programs read the port to advertise before or
 * after listen(). The program's own socket is connected to the SOCKS
 * server and carries the BIND; the first reply's address is what
 * getsockname() reports from then on. The second reply makes the socket
 * readable, so poll/select/epoll wake exactly when accept() can deliver.
 *
 * accept() then hands the program that very connection under a new
 * descriptor and puts a quiet listening socket behind the old number, so
 * the listener never looks readable again because of the data connection.
 */
#include "handshake.h"
#include "log.h"
#include "primary.h"
#include "shim.h"
#include "socks4.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

static bool bind_wanted(struct v4 local)
{
	return shim_cfg.bind && !shim_cfg.error[0] &&
	       (local.ip == 0 ||
		route_lookup(&shim_cfg.routes, local.ip, 0, NULL) != ROUTE_DIRECT);
}

static int bind_impl(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct fdslot *s;
	struct v4 want, app;
	char b[ADDR_STRLEN];

	shim_real();
	if (!real.bind)
		return shim_fail(ENOSYS);
	if (!addr || !addr_to_v4(addr, len, &want) || want.port != 0 ||
	    !shim_ready() || !bind_wanted(want) || !shim_is_stream(fd))
		return real.bind(fd, addr, len);
	if (!primary_find(want.ip, &app)) {
		log_msg(LOG_INFO, "bind fd %d to %s: stays local: no proxied connection "
			"yet, so no application server to name in a BIND", fd, addr_fmt(want, b));
		return real.bind(fd, addr, len);
	}
	if (real.bind(fd, addr, len) < 0) {
		/* The address we reported for the program's control connection
		 * (see getsockname) is the proxy's, not ours: bind anywhere, the
		 * BIND listens there for us. */
		struct sockaddr_storage ss;
		socklen_t sl;

		if (errno != EADDRNOTAVAIL || !primary_is_proxy_ip(want.ip))
			return -1;
		sl = addr_from_v4(addr->sa_family, (struct v4){0, 0}, &ss);
		if (real.bind(fd, (struct sockaddr *)&ss, sl) < 0)
			return -1;
	}
	if (!(s = fdstate_new(fd, FD_BIND, addr->sa_family)))
		return 0; /* bound, and local: the best we can do */
	s->phase = PH_BOUND;
	s->bound = want;
	log_msg(LOG_DEBUG, "bind fd %d to %s: BIND at its first getsockname() or listen()",
		fd, addr_fmt(want, b));
	return 0;
}

/* A socket that listen() would bind implicitly: take it for a BIND. */
static struct fdslot *adopt_unbound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct v4 name, app;
	struct fdslot *s;

	if (!shim_ready() || !shim_cfg.bind ||
	    real.getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !addr_to_v4((struct sockaddr *)&ss, len, &name) || name.port != 0 ||
	    name.ip != 0 || !shim_is_stream(fd))
		return NULL;
	if (!primary_find(0, &app)) {
		log_msg(LOG_INFO, "listen on unbound fd %d: stays local: no proxied "
			"connection yet, so no application server to name in a BIND", fd);
		return NULL;
	}
	if (!(s = fdstate_new(fd, FD_BIND, ss.ss_family)))
		return NULL;
	s->phase = PH_BOUND;
	return s;
}

int bind_start(int fd, struct fdslot *s)
{
	char what[16 + ADDR_STRLEN], a[ADDR_STRLEN], p[ADDR_STRLEN];
	struct socks4_reply r;
	enum hs_stage stage;
	int64_t deadline;
	int flags, err;

	if (!primary_find(s->bound.ip, &s->dst)) {
		s->phase = PH_SPENT; /* unreachable: bind() checked */
		return s->err = EADDRNOTAVAIL;
	}
	snprintf(what, sizeof(what), "BIND %s", addr_fmt(s->dst, a));
	if ((flags = fcntl(fd, F_GETFL)) < 0)
		return errno;
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	deadline = now_ms() + shim_cfg.connect_timeout_ms;
	err = hs_request(fd, s->family, shim_cfg.server, SOCKS4_CMD_BIND, s->dst,
			 shim_cfg.userid, deadline, &stage);
	if (!err) {
		stage = HS_STAGE_REPLY;
		err = hs_read_reply(fd, s, deadline, false);
	}
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags);
	err = hs_outcome(what, shim_cfg.server, s, err, stage,
			 shim_cfg.connect_timeout_ms, &r);
	if (err) {
		s->phase = PH_SPENT;
		return s->err = err;
	}
	/* draft section 4.2: DSTIP 0 means the server's own address */
	s->name = (struct v4){r.addr ? r.addr : shim_cfg.server.ip, r.port};
	s->got = 0;
	s->phase = PH_WAIT_SECOND;
	primary_note_proxy_ip(s->name.ip);
	primary_set_bind_ip(s->name.ip);
	log_msg(LOG_INFO, "%s via %s: first reply: proxy listens on %s%s", what,
		addr_fmt(shim_cfg.server, p), addr_fmt(s->name, a),
		r.addr ? "" : " (0.0.0.0 in the reply: the server's address)");
	return 0;
}

static int listen_impl(int fd, int backlog)
{
	struct fdslot *s;
	int err;

	shim_real();
	if (!real.listen)
		return shim_fail(ENOSYS);
	if (!(s = fdstate_get(fd)) && !(s = adopt_unbound(fd)))
		return real.listen(fd, backlog);
	if (s->kind != FD_BIND)
		return real.listen(fd, backlog);
	if (s->phase == PH_BOUND && (err = bind_start(fd, s)))
		return shim_fail(err);
	if (s->phase == PH_SPENT && !s->listening)
		return shim_fail(s->err ? s->err : EINVAL);
	s->listening = 1;
	return 0;
}

/*
 * Puts a listening socket that nobody will connect to behind fd, keeping
 * its descriptor and status flags: what the program's listener is once
 * its one BIND connection has been handed over.
 */
static void retire_listener(int fd, struct fdslot *s)
{
	struct sockaddr_storage ss;
	struct v4 lo = {htonl(INADDR_LOOPBACK), 0};
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	int q = socket(s->family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (q < 0)
		return; /* then the listener stays the connection's twin */
	if (real.bind(q, (struct sockaddr *)&ss, addr_from_v4(s->family, lo, &ss)) == 0)
		real.listen(q, 1);
	if (fl >= 0)
		fcntl(q, F_SETFL, fl);
	for (int i = 0; i < FD_EPOLL_MAX; i++)
		if (s->epolls[i].epfd)
			real.epoll_ctl(s->epolls[i].epfd - 1, EPOLL_CTL_DEL, fd, NULL);
	if (real.dup3(q, fd, (fdfl > 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) == fd)
		fdstate_rebind(fd, s);
	real.close(q);
	for (int i = 0; i < FD_EPOLL_MAX; i++) {
		struct fd_epoll *e = &s->epolls[i];
		struct epoll_event ev = {.events = e->events, .data.u64 = e->data};
		if (e->epfd)
			real.epoll_ctl(e->epfd - 1, EPOLL_CTL_ADD, fd, &ev);
		e->epfd = 0;
	}
}

static int bind_accept(int fd, struct fdslot *s, struct sockaddr *addr,
		       socklen_t *len, int flags)
{
	char what[32 + ADDR_STRLEN], a[ADDR_STRLEN], p[ADDR_STRLEN];
	struct sockaddr_storage ss;
	struct socks4_reply r;
	struct fdslot *ns;
	struct v4 peer;
	bool nonblock;
	int err, nfd, fl;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return shim_fail(EINVAL);
	if (!s->listening)
		return shim_fail(EINVAL);
	if (addr && !len)
		return shim_fail(EFAULT);
	nonblock = fcntl(fd, F_GETFL) & O_NONBLOCK;
	if (s->phase == PH_SPENT) {
		if (nonblock)
			return shim_fail(EAGAIN); /* and it never turns readable */
		log_msg(LOG_ERROR, "accept on fd %d: its BIND has already ended "
			"(SOCKS4 BIND delivers exactly one connection)", fd);
		return shim_fail(EINVAL);
	}

	if (!nonblock && !s->deadline)
		s->deadline = now_ms() + shim_cfg.bind_timeout_ms;
	err = hs_read_reply(fd, s, nonblock ? 0 : s->deadline, true);
	if (err == -EAGAIN || err == -EINTR)
		return shim_fail(-err); /* nothing consumed that matters: try again */
	snprintf(what, sizeof(what), "BIND %s (second reply)", addr_fmt(s->dst, a));
	err = hs_outcome(what, shim_cfg.server, s, err, HS_STAGE_REPLY,
			 shim_cfg.bind_timeout_ms, &r);
	if (err) {
		s->phase = PH_SPENT;
		/* the proxy gave up on the inbound connection, or refused it */
		return shim_fail(err == ETIMEDOUT ? ETIMEDOUT : ECONNABORTED);
	}

	nfd = fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (nfd < 0)
		return -1; /* EMFILE: the reply stays read; the next accept delivers */
	retire_listener(fd, s);
	if ((fl = fcntl(nfd, F_GETFL)) >= 0)
		fcntl(nfd, F_SETFL, (flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
	s->phase = PH_SPENT;

	peer = (struct v4){r.addr ? r.addr : s->dst.ip, r.port};
	if ((ns = fdstate_new(nfd, FD_ACCEPTED, s->family))) {
		ns->phase = PH_ESTABLISHED;
		ns->dst = s->dst;
		ns->name = s->name;
		ns->peer = peer;
	}
	if (addr)
		addr_copy_out(&ss, addr_from_v4(s->family, peer, &ss), addr, len);
	log_msg(LOG_INFO, "%s via %s: granted: connection from %s", what,
		addr_fmt(shim_cfg.server, p), addr_fmt(peer, a));
	return nfd;
}



/*
 * epoll registrations are tied to the open socket, not to the number: the
 * one the program made for its listener would follow the connection that
 * accept() hands over. Remember them, and move them in retire_listener().
 */
static void note_epoll(struct fdslot *s, int epfd, int op, const struct epoll_event *ev)
{
	struct fd_epoll *free_one = NULL;

	for (int i = 0; i < FD_EPOLL_MAX; i++) {
		struct fd_epoll *e = &s->epolls[i];
		if (e->epfd == epfd + 1) { /* stored +1 so that 0 means unused */
			if (op == EPOLL_CTL_DEL)
				e->epfd = 0;
			else
				*e = (struct fd_epoll){epfd + 1, ev->events, ev->data.u64};
			return;
		}
		if (!e->epfd && !free_one)
			free_one = e;
	}
	if (op == EPOLL_CTL_ADD && free_one)
		*free_one = (struct fd_epoll){epfd + 1, ev->events, ev->data.u64};
}

HOOK int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fdslot *s;
	int r;

	shim_real();
	if (!real.epoll_ctl)
		return shim_fail(ENOSYS);
	r = real.epoll_ctl(epfd, op, fd, ev);
	if (r == 0 && (s = fdstate_get(fd)) && s->kind == FD_BIND && s->phase != PH_SPENT &&
	    (op == EPOLL_CTL_DEL || ev))
		note_epoll(s, epfd, op, ev);
	return r;
}

HOOK int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno;

	return shim_done(saved, bind_impl(fd, addr, len));
}

HOOK int listen(int fd, int backlog)
{
	int saved = errno;

	return shim_done(saved, listen_impl(fd, backlog));
}

/* accept() and accept4() on anything but a BIND listener: a table load,
 * a branch and the C library's own call. */
/* accept()/accept4() on a descriptor with a slot (accept4 tells which). */
static SLOW int accept_tracked(int fd, struct sockaddr *addr, socklen_t *len,
			       int flags, bool four)
{
	struct fdslot *s = fdstate_get(fd);
	int saved = errno;

	if (!s || s->kind != FD_BIND)
		return four ? real.accept4(fd, addr, len, flags) : real.accept(fd, addr, len);
	return shim_done(saved, bind_accept(fd, s, addr, len, flags));
}

HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	shim_real();
	if (!real.accept4)
		return shim_fail(ENOSYS);
	if (fdstate_slot(fd))
		return accept_tracked(fd, addr, len, flags, true);
	return real.accept4(fd, addr, len, flags);
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_real();
	if (!real.accept)
		return shim_fail(ENOSYS);
	if (fdstate_slot(fd))
		return accept_tracked(fd, addr, len, 0, false);
	return real.accept(fd, addr, len);
}
