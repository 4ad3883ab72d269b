/*
 * hooks_bind.c - the BIND flow: bind(), listen(), accept() and accept4()
 * on listening sockets served by a SOCKS4 BIND, and what the other flows
 * ask of such a socket (connect on it, its name, SO_ACCEPTCONN).
 *
 * Which sockets: an IPv4 stream socket (AF_INET, or AF_INET6 bound to ::
 * or a v4-mapped address) that the program binds to port 0 on an
 * address outside the direct list and not on loopback, or never binds,
 * and that will listen. An explicit port stays local: that is a server,
 * not a call-back.
 *
 * When: at the first getsockname() or listen() on such a socket, whichever
 * comes first, because programs read the port to advertise before or
 * after listen(). The program's own socket is connected to the SOCKS
 * server and carries the BIND (handshake.c); the first reply's address is
 * what getsockname() reports from then on. The second reply makes the
 * socket readable, so poll/select/epoll wake exactly when accept() can
 * deliver.
 *
 * accept() then hands the program that very connection under a new
 * descriptor and puts a quiet listening socket behind the old number,
 * with the program's epoll registrations, so the listener never looks
 * readable again because of the data connection.
 */
#include "log.h"
#include "primary.h"
#include "shim.h"
#include "socks4.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static SLOW int bind_slow(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct policy_line why;
	struct sockaddr_storage ss;
	struct fdslot *s;
	struct v4 want;
	char b[ADDR_STRLEN];
	int saved = errno, err;

	if (!shim_ready())
		return real.bind(fd, addr, len);
	if (!policy_bind(&shim_cfg, &shim_primary, &(struct policy_sock){fd, fd, shim_is_stream},
			 addr, len, &want, &why)) {
		policy_say(&why);
		errno = saved;
		return real.bind(fd, addr, len);
	}
	if (real.bind(fd, addr, len) < 0) {
		/* The address we reported for the program's control connection
		 * (see getsockname) is the proxy's, not ours: bind anywhere, the
		 * BIND listens there for us. */
		if (errno != EADDRNOTAVAIL || !primary_is_proxy_ip(&shim_primary, want.ip))
			return -1;
		if (real.bind(fd, (struct sockaddr *)&ss,
			      addr_from_v4(addr->sa_family, (struct v4){0, 0}, &ss)) < 0)
			return -1;
	}
	fdstate_lock();
	if ((s = fdstate_new(fd, FD_BIND, addr->sa_family, &err)))
		s->bound = want;
	fdstate_unlock();
	if (s)
		log_msg(LOG_DEBUG, "bind fd %d to %s: BIND at its first getsockname() or listen()",
			fd, addr_fmt(want, b));
	errno = saved;
	return 0; /* bound; without a slot, local: the best we can do */
}

HOOK int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_real();
	if (!real.bind)
		return shim_ret(0, -ENOSYS);
	/* read as connect() reads its address (see there) */
	if (len < sizeof(sa_family_t) || len > sizeof(struct sockaddr_storage) ||
	    shim_low_pointer(addr))
		return real.bind(fd, addr, len);
	if (!shim_readable(addr, len))
		return real.bind(fd, NULL, len);
	if (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)
		return bind_slow(fd, addr, len);
	return real.bind(fd, addr, len);
}

/* Under the lock: a socket that listen() would bind implicitly, taken
 * for a BIND. */
static struct fdslot *adopt_unbound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct policy_line why;
	struct v4 name;
	struct fdslot *s;
	int err;

	if (real.getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !addr_to_v4((struct sockaddr *)&ss, len, &name))
		return NULL;
	if (!policy_listen_unbound(&shim_cfg, &shim_primary,
				   &(struct policy_sock){fd, fd, shim_is_stream}, name, &why)) {
		policy_say(&why);
		return NULL;
	}
	s = fdstate_new(fd, FD_BIND, ss.ss_family, &err);
	return s;
}

/*
 * Under the lock: the BIND exchange up to its first reply, for a socket
 * whose exchange has not started. listen() and getsockname() are never
 * interrupted by a signal, and neither is this wait; SOCKS4_TIMEOUT
 * bounds it. Returns 0 or -errno (the BIND is then spent).
 */
static int bind_start(int fd, struct fdslot *s)
{
	char what[HS_WHAT_MAX], a[ADDR_STRLEN], p[ADDR_STRLEN];
	struct primary_conn app, used = {{0, 0}, NULL, 0, 0};
	struct drive d;
	uint32_t gen = s->gen;
	int r;

	/* The application server (primary.c): the connection this thread
	 * last used is the one it last read or wrote, if that is still
	 * open, else the one it last made. */
	if (io_last_connect(&used.dst, &used.host))
		primary_use(&shim_primary, shim_tid(), &used);
	if ((r = policy_bind_server(&shim_primary, shim_tid(), s->bound, &app)) < 0) {
		s->spent = 1; /* unreachable: bind() checked */
		return r;
	}
	/* after a SOCKS4A CONNECT: a 4A BIND naming the same server */
	hs_init(&s->hs, SOCKS4_CMD_BIND, s->family, shim_cfg.server, app.dst, shim_cfg.userid,
		app.host);
	s->hs.timeout_ms = shim_cfg.connect_timeout_ms;
	hs_what(&s->hs, what, sizeof(what));
	drive_begin(&d, fd, s, now_ms() + shim_cfg.connect_timeout_ms, 0);
	if ((r = hs_drive(&d.hd)) == -EBADF)
		return r;
	if (r < 0 || s->gen != gen) {
		s->spent = 1;
		return -hs_log_failure(&s->hs, what);
	}
	/* draft section 4.2: DSTIP 0 means the server's own address */
	s->name = (struct v4){s->hs.r.addr ? s->hs.r.addr : shim_cfg.server.ip, s->hs.r.port};
	primary_note_proxy_ip(&shim_primary, s->name.ip);
	primary_set_bind_ip(&shim_primary, s->name.ip);
	log_msg(LOG_INFO, "%s via %s: first reply: proxy listens on %s%s", what,
		addr_fmt(shim_cfg.server, p), addr_fmt(s->name, a),
		s->hs.r.addr ? "" : " (0.0.0.0 in the reply: the server's address)");
	hs_expect_second(&s->hs);
	s->hs.timeout_ms = shim_cfg.bind_timeout_ms;
	return 0;
}

static SLOW int listen_slow(int fd, int backlog)
{
	int saved = errno, r = 0;
	struct fdslot *s;

	fdstate_lock();
	if (!(s = fdstate_get(fd)) && !(s = adopt_unbound(fd))) {
		fdstate_unlock();
		return real.listen(fd, backlog);
	}
	if (s->kind != FD_BIND) {
		fdstate_unlock();
		return real.listen(fd, backlog);
	}
	if (s->hs.state == HS_IDLE && !s->spent)
		r = bind_start(fd, s);
	if (r == -EBADF) {
		fdstate_unlock();
		return shim_ret(saved, r);
	}
	if (r == 0 && s->spent && !s->listening)
		r = s->hs.state == HS_FAILED ? -hs_errno(&s->hs) : -EINVAL;
	if (r == 0)
		s->listening = 1;
	fdstate_unlock();
	return shim_ret(saved, r);
}

HOOK int listen(int fd, int backlog)
{
	shim_real();
	if (!real.listen)
		return shim_ret(0, -ENOSYS);
	if (!shim_ready())
		return real.listen(fd, backlog);
	return listen_slow(fd, backlog);
}

int bind_release(int fd, struct fdslot *s)
{
	if (s->listening)
		return -EISCONN; /* as for any listening socket */
	if (s->hs.state != HS_IDLE) {
		/* pattern 1 turned connect: close the BIND, connect normally */
		log_msg(LOG_INFO, "fd %d: used for connect() after its BIND started; BIND closed", fd);
		shim_dissolve(fd);
	}
	fdstate_forget(s);
	fdstate_drop(fd);
	return 0;
}

int bind_sockname(int fd, struct fdslot *s, struct v4 *out)
{
	int r;

	if (s->kind == FD_BIND && s->hs.state == HS_IDLE && !s->spent &&
	    (r = bind_start(fd, s)) < 0)
		return r;
	if (s->kind == FD_BIND && s->spent && !s->name.ip)
		return s->hs.state == HS_FAILED ? -hs_errno(&s->hs) : -EINVAL;
	*out = s->name;
	return 0;
}

bool bind_accepting(const struct fdslot *s)
{
	return s->kind == FD_BIND && s->listening;
}

/*
 * A listening socket nobody can reach, to stand behind the listener's
 * number once its one connection is handed over: bound to loopback, and
 * with a socket filter that drops every packet, so no local program can
 * make it readable by connecting to it.
 */
static int quiet_listener(int family)
{
	static struct sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {1, drop_all};
	struct sockaddr_storage ss;
	struct v4 lo = {htonl(INADDR_LOOPBACK), 0};
	int q = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (q < 0)
		return -errno;
	if (setsockopt(q, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    real.bind(q, (struct sockaddr *)&ss, addr_from_v4(family, lo, &ss)) < 0 ||
	    real.listen(q, 1) < 0) {
		int err = -errno;
		real.close(q);
		return err;
	}
	return q;
}

/*
 * epoll registrations belong to the open socket and the number (the
 * kernel keys them by both, so they are never kept in the socket's
 * record): the ones the program made for its listener would follow the
 * connection that accept() hands over. The kernel lists every epoll
 * instance's targets in /proc/self/fdinfo, whenever they were
 * registered; take_epolls() takes the listener's off and lists them in
 * a growing array, put_epolls() puts them on what stands behind its
 * number afterwards.
 */
struct epoll_reg {
	int epfd;
	struct epoll_event ev;
};

struct epoll_regs {
	struct epoll_reg *at;
	size_t n, cap;
};

/* One more registration: false (logged) when there is no memory for it. */
static bool epolls_add(int fd, struct epoll_regs *r, int epfd, unsigned events,
		       unsigned long long data)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct epoll_reg *at = realloc(r->at, cap * sizeof(*at));

		if (!at) {
			log_msg(LOG_ERROR, "accept on fd %d: no memory to move its epoll "
				"registrations past the first %zu; the rest stay with the "
				"connection", fd, r->n);
			return false;
		}
		r->at = at;
		r->cap = cap;
	}
	r->at[r->n++] = (struct epoll_reg){epfd, {.events = events, .data.u64 = data}};
	return true;
}

/* One line of an epoll instance's fdinfo: the listener's registration
 * there is taken off and listed. False when listing failed (logged). */
static bool take_epoll_line(int fd, const struct fdslot *s, struct epoll_regs *r, int epfd,
			    const char *line)
{
	int tfd;
	unsigned events;
	unsigned long long data;
	unsigned long ino;
	const char *at;

	if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3 ||
	    tfd != fd || !(at = strstr(line, " ino:")) || sscanf(at, " ino:%lx", &ino) != 1 ||
	    ino != (unsigned long)s->ino)
		return true;
	if (!epolls_add(fd, r, epfd, events, data))
		return false;
	epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	return true;
}

/* An epoll instance's fdinfo, read line by line however long it is (an
 * instance may watch thousands of descriptors). */
static bool take_epolls_of(int fd, const struct fdslot *s, struct epoll_regs *r, int epfd)
{
	char path[64], buf[4096];
	size_t have = 0;
	ssize_t len;
	bool ok = true;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	while (ok && (len = real.read(f, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)len;
		buf[have] = 0;
		while (ok && (nl = strchr(line, '\n'))) {
			*nl = 0;
			ok = take_epoll_line(fd, s, r, epfd, line);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* no line is this long: not one of ours */
	}
	if (ok && have) {
		buf[have] = 0;
		ok = take_epoll_line(fd, s, r, epfd, buf);
	}
	real.close(f);
	return ok;
}

static void take_epolls(int fd, const struct fdslot *s, struct epoll_regs *r)
{
	char path[64], link[64];
	struct dirent *de;
	DIR *dir;

	if (!(dir = opendir("/proc/self/fd")))
		return;
	while ((de = readdir(dir))) {
		int epfd = atoi(de->d_name);
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || epfd == fd ||
		    epfd == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0 || (link[len] = 0, strcmp(link, "anon_inode:[eventpoll]") != 0))
			continue;
		if (!take_epolls_of(fd, s, r, epfd))
			break;
	}
	closedir(dir);
}

static void put_epolls(int fd, struct epoll_regs *r)
{
	for (size_t i = 0; i < r->n; i++)
		epoll_ctl(r->at[i].epfd, EPOLL_CTL_ADD, fd, &r->at[i].ev);
	free(r->at);
}

/* Puts the quiet socket q behind fd, keeping fd's flags and its epoll
 * registrations. Under the lock; consumes q. */
static void retire_listener(int fd, struct fdslot *s, int q)
{
	struct epoll_regs regs = {NULL, 0, 0};
	int fl = real.fcntl(fd, F_GETFL), fdfl = real.fcntl(fd, F_GETFD);

	if (fl >= 0)
		real.fcntl(q, F_SETFL, fl);
	take_epolls(fd, s, &regs);
	if (real.dup3(q, fd, (fdfl > 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) == fd)
		fdstate_rebind(fd, s);
	real.close(q);
	put_epolls(fd, &regs);
}

/*
 * Under the lock: delivers the BIND's one connection once its second
 * reply is in. The descriptors are taken before anything is given up:
 * with none to spare accept() fails with EMFILE, the reply stays read,
 * and the next accept() delivers.
 */
static int hand_over(int fd, struct fdslot *s, struct sockaddr *addr, socklen_t *len, int flags)
{
	char what[32 + ADDR_STRLEN], a[ADDR_STRLEN], p[ADDR_STRLEN];
	struct sockaddr_storage ss;
	struct fdslot *ns;
	struct v4 peer;
	int q, nfd, fl, err;

	if ((q = quiet_listener(s->family)) < 0)
		return q;
	nfd = real.fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (nfd < 0) {
		err = -errno;
		real.close(q);
		return err;
	}
	retire_listener(fd, s, q);
	if ((fl = real.fcntl(nfd, F_GETFL)) >= 0)
		real.fcntl(nfd, F_SETFL, (flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
	s->spent = 1;

	peer = (struct v4){s->hs.r.addr ? s->hs.r.addr : s->hs.dst.ip, s->hs.r.port};
	if ((ns = fdstate_new(nfd, FD_ACCEPTED, s->family, &err))) {
		ns->hs.dst = s->hs.dst;
		ns->name = s->name;
		ns->peer = peer;
	}
	if (addr)
		addr_copy_out(&ss, addr_from_v4(s->family, peer, &ss), addr, len);
	snprintf(what, sizeof(what), "BIND %s (second reply)", addr_fmt(s->hs.dst, a));
	log_msg(LOG_INFO, "%s via %s: granted: connection from %s", what,
		addr_fmt(shim_cfg.server, p), addr_fmt(peer, a));
	return nfd;
}

/* accept()/accept4() on a BIND listener, under the lock. */
static int bind_accept(int fd, struct fdslot *s, struct sockaddr *addr,
		       socklen_t *len, int flags)
{
	char what[32 + ADDR_STRLEN], a[ADDR_STRLEN];
	socklen_t cap;
	struct drive d;
	bool nonblock;
	int r;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (!s->listening)
		return -EINVAL;
	if (addr && (!len || shim_copy_in(&cap, len, sizeof(cap)) < 0))
		return -EFAULT;
	nonblock = shim_nonblocking(fd);
	if (s->spent) {
		if (nonblock)
			return -EAGAIN; /* and it never turns readable */
		log_msg(LOG_ERROR, "accept on fd %d: its BIND has already ended "
			"(SOCKS4 BIND delivers exactly one connection)", fd);
		return -EINVAL;
	}
	if (!nonblock && !s->deadline)
		s->deadline = now_ms() + shim_cfg.bind_timeout_ms;
	drive_begin(&d, fd, s, s->deadline, SO_RCVTIMEO);
	if (nonblock)
		d.hd.flags |= HS_DRIVE_NOWAIT;
	if ((r = hs_drive(&d.hd)) > 0)
		return -EAGAIN; /* non-blocking: nothing consumed that matters */
	if (r == -EBADF || r == -EINTR || r == -EAGAIN)
		return r;
	if (r < 0) {
		snprintf(what, sizeof(what), "BIND %s (second reply)", addr_fmt(s->hs.dst, a));
		r = hs_log_failure(&s->hs, what);
		s->spent = 1;
		/* the proxy gave up on the inbound connection, or refused it */
		return r == ETIMEDOUT ? -ETIMEDOUT : -ECONNABORTED;
	}
	return hand_over(fd, s, addr, len, flags);
}

/* accept()/accept4() on a descriptor with a slot (accept4 tells which). */
static SLOW int accept_tracked(int fd, struct sockaddr *addr, socklen_t *len,
			       int flags, bool four)
{
	int saved = errno, r;
	struct fdslot *s;

	fdstate_lock();
	if (!(s = fdstate_get(fd)) || s->kind != FD_BIND) {
		fdstate_unlock();
		return four ? real.accept4(fd, addr, len, flags) : real.accept(fd, addr, len);
	}
	r = bind_accept(fd, s, addr, len, flags);
	fdstate_unlock();
	return shim_ret(saved, r);
}

/* The first call, a missing function or a descriptor with a record:
 * everything but the common path, out of line (accept4 tells which). */
static SLOW int accept_slow(int fd, struct sockaddr *addr, socklen_t *len, int flags,
			    bool four)
{
	shim_real();
	if (four ? !real.accept4 : !real.accept)
		return shim_ret(0, -ENOSYS);
	if (fdstate_slot(fd))
		return accept_tracked(fd, addr, len, flags, four);
	return four ? real.accept4(fd, addr, len, flags) : real.accept(fd, addr, len);
}

/* Each a few tests and the C library's call in tail position, with no
 * stack frame, as the data calls are (hooks_io.c). */
HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.accept4 || fdstate_slot(fd) != NULL, 0))
		return accept_slow(fd, addr, len, flags, true);
	return real.accept4(fd, addr, len, flags);
}

HOOK int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (__builtin_expect(!shim_real_ready() || !real.accept || fdstate_slot(fd) != NULL, 0))
		return accept_slow(fd, addr, len, 0, false);
	return real.accept(fd, addr, len);
}
