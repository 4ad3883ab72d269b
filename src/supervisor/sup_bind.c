/*
 * sup_bind.c - listening sockets served by a SOCKS4 BIND, in syscall mode.
 *
 * The library's contract (README, "Listening sockets"), kept with the
 * supervisor's means:
 *
 * - bind() to port 0 on an address outside the direct list marks the
 *   socket (by inode); the supervisor binds the copy itself. An explicit
 *   port is let through: that is a server, not a call-back.
 * - At the first getsockname() or listen() the copy is connected to the
 *   SOCKS server and carries the BIND request; the first reply's address
 *   is what getsockname() reports. listen() itself is not done: the
 *   socket is the BIND connection, and the second reply is what makes it
 *   readable, so poll/select/epoll wake when accept() can deliver.
 * - accept()/accept4() read the second reply, then hand the connection
 *   over: a quiet listening socket takes the listener's descriptor number
 *   (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD) and the connection comes back
 *   as the call's result (ADDFD with SEND, so the new descriptor and the
 *   return happen as one), with SOCK_CLOEXEC/SOCK_NONBLOCK honoured.
 * - The quiet listener is remembered as spent: a second accept() fails
 *   with EINVAL (blocking) or EAGAIN (non-blocking), never hangs.
 *
 * Which sockets become a BIND, and the application server a BIND names,
 * are the policy's (policy.c, primary.c), as in the library: threads
 * are told apart by the trapped call's tid, and the connection a thread
 * last used is the one it last connected (the supervisor sees no reads
 * or writes).
 */
#include "handshake.h"
#include "log.h"
#include "policy.h"
#include "sup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct primary sup_primary = PRIMARY_INIT;

/* --- sockets of a BIND: their records (sup_socks.c) -------------------- */

/*
 * A BIND's record is the core's struct fdslot, kept in the supervisor's
 * table of sockets, as the library keeps it: kind FD_BIND for the
 * listener (bound: nothing sent, hs.state HS_IDLE; waiting for the
 * second reply: the exchange past its first; spent: its one connection
 * handed over, or it failed, err saying why), FD_ACCEPTED for the
 * connection accept() delivered. get() and add() hand a record out busy
 * (an exchange or an accept runs on it), put() gives it back.
 */
enum bind_phase {
	B_BOUND,       /* bound to port 0, nothing sent */
	B_WAIT_SECOND, /* first reply in: the proxy listens for us */
	B_SPENT,       /* delivered its connection, or failed */
	B_ACCEPTED,    /* the connection accept() delivered */
	B_OTHER,       /* not a BIND's */
};

static enum bind_phase phase(const struct fdslot *e)
{
	if (e->kind == FD_ACCEPTED)
		return B_ACCEPTED;
	if (e->kind != FD_BIND)
		return B_OTHER;
	if (e->spent)
		return B_SPENT;
	return e->hs.state == HS_IDLE ? B_BOUND : B_WAIT_SECOND;
}

/* The BIND record of the socket behind fd, busy, or NULL. */
static struct fdslot *get(int fd)
{
	struct fdslot *e = sup_socks_get(fd);

	if (e && phase(e) == B_OTHER) {
		sup_socks_put(e);
		return NULL;
	}
	return e;
}

static void put(struct fdslot *e)
{
	sup_socks_put(e);
}

/* A new busy record for the BIND listener behind fd, or NULL with the
 * failure logged (the table has no room). */
static struct fdslot *add(int fd, int family)
{
	int err;

	return sup_socks_add(fd, FD_BIND, family, &err);
}

static void drop(struct fdslot *e)
{
	sup_socks_drop(e);
}

/* --- the calls -------------------------------------------------------- */

static bool inet_stream(int copy, int *domain)
{
	*domain = sup_sockopt_int(copy, SOL_SOCKET, SO_DOMAIN);
	return (*domain == AF_INET || *domain == AF_INET6) &&
	       sup_sockopt_int(copy, SOL_SOCKET, SO_TYPE) == SOCK_STREAM;
}

/* The copy of the call's socket (argument 0) when it is an inet stream
 * socket; otherwise the call is let through and -1 comes back. */
static int take_inet(struct sup_call *c, int *domain)
{
	int copy = sup_take(c, (int)c->args[0]);

	if (copy == -ENOENT)
		return -1;
	if (copy < 0 || !inet_stream(copy, domain)) {
		if (copy >= 0)
			close(copy);
		sup_pass(c); /* EBADF, ENOTSOCK, or not ours: the kernel's answer */
		return -1;
	}
	return copy;
}

void sup_on_bind(struct sup_call *c)
{
	struct sockaddr_storage ss;
	struct policy_line why;
	struct fdslot *e;
	socklen_t len;
	struct v4 want;
	char b[ADDR_STRLEN];
	int domain, copy = take_inet(c, &domain), err;

	if (copy < 0)
		return;
	err = sup_read_addr(c, c->args[1], c->args[2], &ss, &len);
	if (err || ss.ss_family != domain ||
	    !policy_bind(&sup_cfg, &sup_primary, &(struct policy_sock){(int)c->args[0], copy,
									 sup_is_stream},
			 (struct sockaddr *)&ss, len, &want, &why)) {
		if (!err && ss.ss_family == domain)
			policy_say(&why);
		close(copy);
		if (err != -ENOENT)
			sup_pass(c);
		return;
	}
	err = bind(copy, (struct sockaddr *)&ss, len) == 0 ? 0 : -errno;
	if (err == -EADDRNOTAVAIL && primary_is_proxy_ip(&sup_primary, want.ip)) {
		/* the address we reported for the control connection is the
		 * proxy's: bind anywhere, the BIND listens there for us */
		len = addr_from_v4(domain, (struct v4){0, 0}, &ss);
		err = bind(copy, (struct sockaddr *)&ss, len) == 0 ? 0 : -errno;
	}
	if (!err && (e = add(copy, domain))) {
		e->bound = want;
		put(e);
		log_msg(LOG_DEBUG, "bind fd %d to %s: BIND at its first getsockname() or listen()",
			(int)c->args[0], addr_fmt(want, b));
	}
	close(copy);
	sup_answer(c, err, 0);
}

/* The BIND request and its first reply, on the copy. 0 or -errno. */
static int bind_start(struct fdslot *e, int copy, int tid)
{
	char what[HS_WHAT_MAX], a[ADDR_STRLEN], p[ADDR_STRLEN];
	struct primary_conn app;
	struct socks4_reply r;
	int err;

	if (policy_bind_server(&sup_primary, tid, e->bound, &app) < 0) {
		e->spent = 1;
		return e->err = -EADDRNOTAVAIL;
	}
	/* after a SOCKS4A CONNECT: a 4A BIND naming the same server */
	err = sup_exchange(&e->hs, copy, e->family, SOCKS4_CMD_BIND, app.dst, app.host);
	hs_what(&e->hs, what, sizeof(what));
	r = e->hs.r;
	if (err) {
		e->spent = 1;
		return e->err = err;
	}
	/* draft section 4.2: DSTIP 0 means the server's own address */
	e->name = (struct v4){r.addr ? r.addr : sup_cfg.server.ip, r.port};
	primary_note_proxy_ip(&sup_primary, e->name.ip);
	log_msg(LOG_INFO, "%s via %s: first reply: proxy listens on %s%s", what,
		addr_fmt(sup_cfg.server, p), addr_fmt(e->name, a),
		r.addr ? "" : " (0.0.0.0 in the reply: the server's address)");
	return 0;
}

/* A socket listen() would bind implicitly: taken for a BIND. */
static struct fdslot *adopt_unbound(int copy, int domain, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct policy_line why;
	struct v4 name;

	if (getsockname(copy, (struct sockaddr *)&ss, &len) < 0 ||
	    !addr_to_v4((struct sockaddr *)&ss, len, &name))
		return NULL;
	if (!policy_listen_unbound(&sup_cfg, &sup_primary,
				   &(struct policy_sock){fd, copy, sup_is_stream}, name, &why)) {
		policy_say(&why);
		return NULL;
	}
	return add(copy, domain);
}

void sup_on_listen(struct sup_call *c)
{
	int domain, copy = take_inet(c, &domain), err = 0;
	struct fdslot *e;

	if (copy < 0)
		return;
	if (!(e = get(copy)) && !(e = adopt_unbound(copy, domain, (int)c->args[0]))) {
		close(copy);
		sup_pass(c);
		return;
	}
	if (phase(e) == B_ACCEPTED) {
		put(e);
		close(copy);
		sup_pass(c); /* a connected socket: the kernel's EINVAL */
		return;
	}
	if (phase(e) == B_BOUND)
		err = bind_start(e, copy, (int)c->n.pid);
	else if (phase(e) == B_SPENT && !e->listening)
		err = e->err ? e->err : -EINVAL;
	if (!err)
		e->listening = true;
	put(e);
	close(copy);
	sup_answer(c, err, 0);
}

bool sup_bind_name(struct sup_call *c, int copy, bool peer)
{
	struct fdslot *e = get(copy);
	int err = 0, family;
	struct v4 v;

	if (!e)
		return false;
	if (peer && phase(e) != B_ACCEPTED)
		err = -ENOTCONN; /* a listener */
	else if (phase(e) == B_BOUND)
		err = bind_start(e, copy, (int)c->n.pid);
	else if (phase(e) == B_SPENT && !e->name.ip)
		err = e->err ? e->err : -EINVAL;
	v = peer ? e->peer : e->name;
	family = e->family;
	put(e);
	if (!err)
		err = sup_report(c, family, v, c->args[1], c->args[2]);
	if (err != -ENOENT)
		sup_answer(c, err, 0);
	return true;
}

void sup_bind_forget(int copy)
{
	struct fdslot *e = get(copy);

	if (!e)
		return;
	if (phase(e) == B_WAIT_SECOND || (phase(e) == B_SPENT && e->name.ip)) {
		struct sockaddr un = {.sa_family = AF_UNSPEC};
		log_msg(LOG_INFO, "a socket used for connect() after its BIND started; BIND closed");
		connect(copy, &un, sizeof(un));
	}
	drop(e);
}

/* FD_CLOEXEC of the program's descriptor fd, from /proc. */
static bool caller_cloexec(const struct sup_call *c, int fd)
{
	char path[64], line[128];
	unsigned flags = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/fdinfo/%d", c->n.pid, fd);
	if (!(f = fopen(path, "re")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1)
			break;
	fclose(f);
	return flags & O_CLOEXEC;
}

/* In a child: the registration (copy, fd) in the epoll ep becomes
 * (q, fd). Only async-signal-safe calls between fork and _exit. */
static void move_epoll(int ep, int copy, int q, int fd, unsigned events,
		       unsigned long long data)
{
	struct epoll_event ev = {.events = events, .data.u64 = data};
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (dup2(copy, fd) == fd)
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		if (dup2(q, fd) == fd)
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
}

/*
 * epoll registrations belong to the open socket and the number it was
 * added under: the program's registration of its listener would follow
 * the connection handed over and wake it for the data connection's
 * bytes. Each epoll instance of the program watching the socket (its
 * /proc fdinfo names the inode) gets the registration moved to the quiet
 * listener q under the same number, events and data. The epoll key is
 * (file, number), so the move is done by a short-lived child whose copy
 * of our descriptor table can have the right file at that number.
 */
static void move_epolls(const struct sup_call *c, int copy, int fd, int q)
{
	char path[64], link[64], line[256];
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (fstat(copy, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%u/fd", c->n.pid);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		int epfd = atoi(de->d_name), tfd, ep;
		unsigned events;
		unsigned long long data, ino;
		ssize_t n;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%u/fd/%d", c->n.pid, epfd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0 || (link[n] = 0, strcmp(link, "anon_inode:[eventpoll]")))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/fdinfo/%d", c->n.pid, epfd);
		if (!(f = fopen(path, "re")))
			continue;
		ep = -1;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "tfd: %d events: %x data: %llx pos:%*d ino:%llx", &tfd,
				   &events, &data, &ino) != 4 ||
			    tfd != fd || ino != (unsigned long long)st.st_ino)
				continue;
			if (ep < 0 && (ep = (int)syscall(SYS_pidfd_getfd, c->pidfd, epfd, 0)) < 0)
				break;
			move_epoll(ep, copy, q, fd, events, data);
		}
		fclose(f);
		if (ep >= 0)
			close(ep);
	}
	closedir(d);
}

/* A listening socket nobody will connect to, with the listener's status
 * flags: what the program's listener becomes after the hand-over. */
static int quiet_listener(int family, int copy)
{
	struct sockaddr_storage ss;
	struct v4 lo = {htonl(INADDR_LOOPBACK), 0};
	int q = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), fl = fcntl(copy, F_GETFL);

	if (q < 0)
		return -errno;
	if (family == AF_INET6) { /* ::ffff:127.0.0.1 needs a dual-stack socket */
		int off = 0;
		setsockopt(q, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (bind(q, (struct sockaddr *)&ss, addr_from_v4(family, lo, &ss)) < 0 || listen(q, 1) < 0) {
		int err = errno;
		close(q);
		return -err;
	}
	if (fl >= 0)
		fcntl(q, F_SETFL, fl);
	return q;
}

/* Hands the connection over: 0 when the call has been answered by the
 * kernel with the new descriptor, else the -errno to answer with. */
static int hand_over(struct sup_call *c, struct fdslot *e, int copy, int flags)
{
	int fd = (int)c->args[0], q, fl, nfd;
	struct seccomp_notif_addfd swap = {.id = c->n.id, .flags = SECCOMP_ADDFD_FLAG_SETFD,
					   .newfd = (uint32_t)fd};
	struct seccomp_notif_addfd give = {.id = c->n.id, .flags = SECCOMP_ADDFD_FLAG_SEND,
					   .srcfd = (uint32_t)copy,
					   .newfd_flags = (flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0};
	struct fdslot *qe;

	if ((q = quiet_listener(e->family, copy)) < 0)
		return q;
	swap.srcfd = (uint32_t)q;
	swap.newfd_flags = caller_cloexec(c, fd) ? O_CLOEXEC : 0;
	if (ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &swap) < 0) {
		int err = -errno;
		close(q);
		return err;
	}
	move_epolls(c, copy, fd, q);
	/* the connection's open file is ours alone now: its flags are the
	 * accepted descriptor's */
	if ((fl = fcntl(copy, F_GETFL)) >= 0)
		fcntl(copy, F_SETFL, (flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
	if ((qe = add(q, e->family))) {
		qe->spent = 1;
		qe->listening = true;
		qe->name = e->name;
		put(qe);
	}
	close(q);
	e->kind = FD_ACCEPTED;
	sup_done(c); /* SEND answers the call */
	nfd = ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &give);
	if (nfd < 0) {
		/* not delivered (EMFILE, or the caller is gone): put the
		 * connection back behind the listener's number */
		int err = -errno;
		swap.srcfd = (uint32_t)copy;
		ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &swap);
		e->kind = FD_BIND;
		e->spent = 1;
		return err;
	}
	return 0;
}

static int accept_bind(struct sup_call *c, struct fdslot *e, int copy, int flags)
{
	char what[32 + ADDR_STRLEN], a[ADDR_STRLEN], p[ADDR_STRLEN];
	uint64_t uaddr = c->args[1], ulen = c->args[2];
	bool nonblock = fcntl(copy, F_GETFL) & O_NONBLOCK;
	struct socks4_reply r;
	int err;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (!e->listening)
		return -EINVAL;
	if (uaddr && !ulen)
		return -EFAULT;
	if (phase(e) == B_SPENT) {
		if (nonblock)
			return -EAGAIN; /* and it never turns readable */
		log_msg(LOG_ERROR, "accept on fd %d: its BIND has already ended "
			"(SOCKS4 BIND delivers exactly one connection)", (int)c->args[0]);
		return -EINVAL;
	}
	if (!nonblock && !e->deadline)
		e->deadline = sup_now_ms() + sup_cfg.bind_timeout_ms;
	snprintf(what, sizeof(what), "BIND %s (second reply)", addr_fmt(e->hs.dst, a));
	/* a blocking accept() waits until the BIND's deadline, or first until
	 * the socket's SO_RCVTIMEO, which ends the call with EAGAIN as the
	 * kernel's does and leaves the BIND waiting for the next accept() */
	err = nonblock ? sup_second(&e->hs, copy, 0, 0, what)
		       : sup_second(&e->hs, copy, e->deadline,
				    sup_sock_timeout_ms(copy, SO_RCVTIMEO), what);
	if (err == -EAGAIN)
		return -EAGAIN;
	r = e->hs.r;
	if (err) {
		e->spent = 1;
		return err == -ETIMEDOUT ? -ETIMEDOUT : -ECONNABORTED;
	}
	e->peer = (struct v4){r.addr ? r.addr : e->hs.dst.ip, r.port};
	if (uaddr && (err = sup_report(c, e->family, e->peer, uaddr, ulen))) {
		e->spent = 1; /* the kernel loses the connection too */
		return err;
	}
	log_msg(LOG_INFO, "%s via %s: granted: connection from %s", what,
		addr_fmt(sup_cfg.server, p), addr_fmt(e->peer, a));
	return hand_over(c, e, copy, flags);
}

void sup_on_accept(struct sup_call *c, bool four)
{
	int domain, copy = take_inet(c, &domain), err;
	struct fdslot *e;

	if (copy < 0)
		return;
	if (!(e = get(copy)) || phase(e) == B_ACCEPTED) {
		if (e)
			put(e);
		close(copy);
		sup_pass(c);
		return;
	}
	err = accept_bind(c, e, copy, four ? (int)c->args[3] : 0);
	put(e);
	close(copy);
	if (err && err != -ENOENT)
		sup_answer(c, err, 0);
}

void sup_on_acceptconn(struct sup_call *c)
{
	int copy, one = 1, err;
	uint64_t uval = c->args[3], ulen = c->args[4];
	struct fdslot *e;
	bool listening;
	int len;

	/* the filter tests level and option of a direct call; a socketcall's
	 * are in its block, so every one of its getsockopt() comes here */
	if ((int)c->args[1] != SOL_SOCKET || (int)c->args[2] != SO_ACCEPTCONN) {
		sup_pass(c);
		return;
	}
	if ((copy = sup_take(c, (int)c->args[0])) == -ENOENT)
		return;
	if (copy < 0 || !(e = get(copy))) {
		if (copy >= 0)
			close(copy);
		sup_pass(c);
		return;
	}
	listening = e->listening && phase(e) != B_ACCEPTED;
	put(e);
	close(copy);
	if (!listening) {
		sup_pass(c);
		return;
	}
	/* the kernel's rules for an int option: *len read, at most
	 * sizeof(int) bytes written, *len set to what was written */
	if ((err = sup_peek(c, ulen, &len, sizeof(len))) < 0) {
		if (err != -ENOENT)
			sup_answer(c, -EFAULT, 0);
		return;
	}
	if (len < 0) {
		sup_answer(c, -EINVAL, 0);
		return;
	}
	if (len > (int)sizeof(one))
		len = (int)sizeof(one);
	if ((err = sup_poke(c, uval, &one, (size_t)len)) < 0 ||
	    (err = sup_poke(c, ulen, &len, sizeof(len))) < 0) {
		if (err != -ENOENT)
			sup_answer(c, -EFAULT, 0);
		return;
	}
	sup_answer(c, 0, 0);
}
