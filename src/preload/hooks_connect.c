/*
 * hooks_connect.c - the connect flow: connect(), getsockopt(SO_ERROR),
 * and the Fast Open sends (sendto, sendmsg, sendmmsg with MSG_FASTOPEN)
 * that connect without calling connect().
 *
 * The program's own socket is connected to the SOCKS server and carries
 * the exchange (handshake.c); after a granted reply it simply is the
 * connection to the destination and nothing passes through us again.
 *
 *   hook -> the policy's decision (policy.c) -> slot + exchange (fdstate.c,
 *   handshake.c, driven by drive.c) -> back to the hook, errno set there
 *
 * A blocking connect() does the whole exchange before it returns, with
 * connect(2)'s own rules for signals and SO_SNDTIMEO (drive.c). A
 * non-blocking one returns EINPROGRESS once the connection to the server
 * is under way, having sent the request already if that connection is up
 * at once; the reply is read when the program asks for the outcome, the
 * way every event loop and "connect with timeout" does: getsockopt
 * (SO_ERROR) or connect() again. While one socket waits for its reply the
 * thread's other pending sockets send their requests (wait_reply).
 */
#include "log.h"
#include "primary.h"
#include "shim.h"
#include "socks4.h"

#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Non-blocking CONNECTs of this thread whose connection to the SOCKS
 * server is still under way: while one of them waits for its reply, the
 * others' requests go out as soon as their connections complete, so an
 * event loop with many connections in flight waits about one handshake.
 * The generation tells a slot made anew for a reused number.
 */
#define PENDING_MAX 64
static __thread struct pending {
	int fd;
	uint32_t gen;
} pending[PENDING_MAX];
static __thread int npending;

static void pending_set(int fd, uint32_t gen, bool on)
{
	for (int i = 0; i < npending; i++)
		if (pending[i].fd == fd) {
			if (on)
				pending[i].gen = gen;
			else
				pending[i] = pending[--npending];
			return;
		}
	if (on && npending < PENDING_MAX)
		pending[npending++] = (struct pending){fd, gen};
}

/* The exchange is another process's: started before a fork(), it is the
 * parent's to finish, and its reply is never read here. */
static bool foreign(const struct fdslot *s)
{
	return s->owner != fdstate_pid();
}

/* A granted CONNECT: what getsockname() will report, and what a later
 * BIND needs to know. */
static void granted(int fd, struct fdslot *s)
{
	const struct socks4_reply *r = &s->hs.r;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct v4 local = {0, 0};
	char d[ADDR_STRLEN], p[ADDR_STRLEN];
	struct policy_line why;

	/* The draft calls these fields ignorable, but servers such as Dante
	 * fill them with their outward address: the best answer to
	 * getsockname() a program can get, when it can be one (see README). */
	s->name = policy_reply_name(&shim_cfg, s->hs.dst, s->hs.host != NULL,
				    (struct v4){r->addr, r->port}, &why);
	policy_say(&why);
	primary_note_proxy_ip(&shim_primary, s->name.ip);
	/* With no address from the reply, a program's listener may be bound
	 * to our real one: remember it so that its BIND finds this connection. */
	if (!s->name.ip && real.getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_to_v4((struct sockaddr *)&ss, len, &local);
	primary_add_connect(&shim_primary, shim_tid(), s->hs.dst, s->hs.host, s->name, local);
	log_msg(LOG_INFO, "CONNECT %s via %s: granted", addr_fmt(s->hs.dst, d),
		addr_fmt(s->hs.server, p));
}

/* Errors of the first connect() to the server that say the socket was
 * not one to connect (connected already, connecting, a listener, the
 * wrong family): the kernel's own answer, with nothing to log. */
static bool not_ours(const struct hs *h)
{
	return h->state == HS_FAILED && h->failed_in == HS_START &&
	       (h->err == -EISCONN || h->err == -EALREADY || h->err == -EINVAL ||
		h->err == -EAFNOSUPPORT);
}

/*
 * One step of s's exchange, under the lock; at its end, what a granted
 * or failed CONNECT means. Returns 0 (granted), HS_WANT_READ or
 * HS_WANT_WRITE, or the -errno the program is to see.
 */
static int connect_step(int fd, struct fdslot *s)
{
	bool was_pending = hs_pending(&s->hs);
	int r = hs_step(&s->hs, &shim_io, fd);

	pending_set(fd, s->gen, r == HS_WANT_WRITE);
	if (r > 0 || !was_pending)
		return r < 0 ? -hs_errno(&s->hs) : r;
	if (r == 0)
		granted(fd, s);
	else if (!not_ours(&s->hs)) {
		hs_log_failure(&s->hs, NULL);
		if (s->hs.host) /* SOCKS4A: what a refusal may mean */
			shim_fake_failed(&s->hs);
	}
	return r == 0 ? 0 : -hs_errno(&s->hs);
}

/* The drive's step and failure for a CONNECT (hs_drive(), drive.c): a
 * step with connect_step()'s bookkeeping; a failure from outside (our
 * deadline) that says so. */
static int drive_step(struct hs_drive *hd)
{
	return connect_step(hd->fd, ((struct drive *)hd)->slot);
}

static void drive_abort(struct hs_drive *hd, int err)
{
	hs_fail(hd->h, err);
	hs_log_failure(hd->h, NULL);
}

static void drive_connect(struct drive *d, int fd, struct fdslot *s, int timeo_opt)
{
	drive_begin(d, fd, s, s->deadline, timeo_opt);
	d->hd.step = drive_step;
	d->hd.fail = drive_abort;
}

/* Sends the request of another pending socket whose connection to the
 * server completed; a failure waits in its slot for its SO_ERROR. */
static void progress_other(int fd, uint32_t gen)
{
	struct fdslot *s = fdstate_get(fd);

	if (!s || s->gen != gen || s->kind != FD_CONNECT || foreign(s) ||
	    s->hs.state != HS_REACH) {
		pending_set(fd, 0, false);
		return;
	}
	connect_step(fd, s);
}

/* wait_reply()'s drive: the thread's other pending sockets polled with
 * the one that waits, and moved on when their connection is up. */
struct reply_wait {
	struct drive d;
	struct pollfd p[1 + PENDING_MAX];
	struct pending others[PENDING_MAX];
};

static void reply_leave(struct hs_drive *hd)
{
	struct reply_wait *w = (struct reply_wait *)hd;
	int k = 0;

	for (int i = 0; i < npending; i++)
		if (pending[i].fd != hd->fd) {
			w->others[k] = pending[i];
			w->p[1 + k++] = (struct pollfd){.fd = pending[i].fd, .events = POLLOUT};
		}
	hd->n_others = k;
	drive_leave(hd);
}

static int reply_back(struct hs_drive *hd, int err)
{
	struct reply_wait *w = (struct reply_wait *)hd;

	if ((err = drive_back(hd, err)) == 0)
		for (int i = 0; i < hd->n_others; i++)
			if (w->p[1 + i].revents)
				progress_other(w->others[i].fd, w->others[i].gen);
	return err;
}

/*
 * Waits for the reply of a socket whose request is out, moving the other
 * pending sockets on meanwhile: what SO_ERROR, and a second connect() on
 * a writable socket, ask for. Nothing the program sees is waiting here,
 * so no signal ends it; SOCKS4_TIMEOUT does. Reaching the server is not
 * waited for (HS_WANT_WRITE comes back): SO_ERROR is 0 while a connect
 * is under way.
 */
static int wait_reply(int fd, struct fdslot *s)
{
	struct reply_wait w;

	drive_connect(&w.d, fd, s, 0);
	w.d.hd.flags |= HS_DRIVE_READ_ONLY;
	w.d.hd.p = w.p;
	w.d.hd.leave = reply_leave;
	w.d.hd.back = reply_back;
	return hs_drive(&w.d.hd);
}

/*
 * A blocking connect()'s wait, with connect(2)'s rules: EINTR for a
 * signal whose handler lacks SA_RESTART, EINPROGRESS when the socket's
 * SO_SNDTIMEO runs out; either way the exchange goes on, and the next
 * connect() takes it up (EALREADY on a non-blocking socket, the wait
 * again on a blocking one).
 */
static int connect_block(int fd, struct fdslot *s)
{
	struct drive d;
	int r;

	drive_connect(&d, fd, s, SO_SNDTIMEO);
	if ((r = hs_drive(&d.hd)) == -EINTR || r == -EAGAIN) {
		/* SO_SNDTIMEO's second expiry is EALREADY, as the kernel's */
		int again = s->in_progress;
		s->in_progress = 1;
		return r == -EINTR ? -EINTR : again ? -EALREADY : -EINPROGRESS;
	}
	return r;
}

/* The program learns of a finished exchange: once for a failure. */
static int told(struct fdslot *s, int r)
{
	if (r < 0 && r != -EINTR && r != -EINPROGRESS && r != -EALREADY && r != -EBADF) {
		s->reported = 1;
		s->in_progress = 0;
	}
	if (r == 0)
		s->in_progress = 0;
	return r;
}

/*
 * A data call, or fcntl() making the socket blocking, on a socket whose
 * CONNECT is still under way: the program takes the socket as connected,
 * so the exchange is finished first (see hooks_io.c). A non-blocking
 * socket gets one step and EAGAIN if that was not enough, as the kernel
 * says for a connect still under way; a blocking one waits, with the
 * call's rules for signals and its socket timeout (timeo_opt:
 * SO_RCVTIMEO or SO_SNDTIMEO; 0 for fcntl(), which nothing interrupts).
 * Returns 0 (go on with the call) or -errno (a failure, told once).
 */
int connect_settle(int fd, int timeo_opt)
{
	struct fdslot *s;
	struct drive d;
	int r = 0;

	fdstate_lock();
	if (!(s = fdstate_get(fd)) || s->kind != FD_CONNECT || foreign(s))
		goto out;
	if (s->hs.state == HS_FAILED && !s->reported) {
		r = told(s, -hs_errno(&s->hs));
		goto out;
	}
	if (!hs_pending(&s->hs))
		goto out;
	if (timeo_opt && shim_nonblocking(fd)) {
		if ((r = connect_step(fd, s)) > 0)
			r = -EAGAIN;
		else
			r = told(s, r);
		goto out;
	}
	drive_connect(&d, fd, s, timeo_opt);
	if ((r = hs_drive(&d.hd)) == -EBADF || r == -EINTR || r == -EAGAIN)
		goto out;
	r = told(s, r);
out:
	fdstate_unlock();
	return r;
}

/* connect() again on a socket whose CONNECT has not been told as failed. */
static int connect_again(int fd, struct fdslot *s)
{
	int r;

	if (s->hs.state == HS_GRANTED) {
		/* the kernel answers 0 to the first connect() after one that
		 * could not finish (EINPROGRESS, EINTR), EISCONN after that */
		bool first = s->in_progress;
		s->in_progress = 0;
		return first ? 0 : -EISCONN;
	}
	if (s->hs.state == HS_FAILED) /* found while another socket waited */
		return told(s, -hs_errno(&s->hs));
	if (foreign(s))
		return -EALREADY;
	if (!shim_nonblocking(fd))
		return told(s, connect_block(fd, s));
	/* Once the socket polls writable the program takes the connect as
	 * done: from then on wait for the reply, as SO_ERROR does, rather
	 * than answer EALREADY, which the kernel never says after POLLOUT. */
	r = wait_reply(fd, s);
	return r == HS_WANT_WRITE ? -EALREADY : told(s, r);
}

/* A CONNECT through the server the policy chose (v). */
static int connect_proxy(int fd, int family, const struct policy_connect *v)
{
	struct fdslot *s;
	int err, r;
	bool nonblocking;

	nonblocking = shim_nonblocking(fd);
	fdstate_lock();
	if (!(s = fdstate_new(fd, FD_CONNECT, family, &err))) {
		fdstate_unlock();
		return err;
	}
	hs_init(&s->hs, SOCKS4_CMD_CONNECT, family, v->server, v->dst, shim_cfg.userid, v->host);
	s->hs.timeout_ms = shim_cfg.connect_timeout_ms;
	s->deadline = now_ms() + shim_cfg.connect_timeout_ms;
	s->peer = v->dst;
	if (nonblocking) {
		/* On loopback and most LANs the connection is already up: then
		 * the request goes out now, and the destination's connect time
		 * at the proxy overlaps with whatever the program does next. */
		r = connect_step(fd, s);
		if (r >= 0) {
			/* EINPROGRESS even when the reply is in already: the kernel
			 * never completes a non-blocking TCP connect at once, and
			 * programs count on it */
			char d[ADDR_STRLEN], p[ADDR_STRLEN];
			log_msg(LOG_DEBUG, "CONNECT %s via %s: %s", addr_fmt(v->dst, d),
				addr_fmt(v->server, p),
				r == HS_WANT_WRITE ? "reaching the server"
				: r ? "request sent, reply pending" : "granted at once");
			s->in_progress = 1;
			r = -EINPROGRESS;
		}
	} else {
		r = connect_block(fd, s);
	}
	if (not_ours(&s->hs)) {
		fdstate_forget(s); /* the kernel's own answer, as without us */
		fdstate_drop(fd);
	} else if (r != -EBADF) {
		told(s, r);
	}
	fdstate_unlock();
	return r;
}

/* Out of line: its buffers would otherwise make every connect() build a
 * large stack frame. */
static SLOW void log_direct(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct policy_connect v;

	policy_connect(&shim_cfg, &(struct policy_sock){fd, fd, shim_is_stream}, addr, len, &v);
	policy_say(&v.log);
}

/* Every destination but the common direct one: what the policy says. */
static SLOW int connect_decided(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct policy_connect v;
	int saved = errno;

	policy_connect(&shim_cfg, &(struct policy_sock){fd, fd, shim_is_stream}, addr, len, &v);
	policy_say(&v.log);
	errno = saved;
	switch (v.way) {
	case POLICY_PROXY:
		return shim_ret(saved, connect_proxy(fd, addr->sa_family, &v));
	case POLICY_REFUSE:
		return shim_ret(saved, v.err);
	case POLICY_DIRECT:
		break;
	}
	return real.connect(fd, addr, len);
}

/*
 * Where a destination goes, and going there. The direct path is the
 * common one and stays a few instructions from the real call: the
 * policy's inline case.
 */
static inline __attribute__((always_inline)) int
connect_route(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct route_rule *rule;
	struct v4 dst;

	if (__builtin_expect(!addr_to_v4(addr, len, &dst) ||
			     !policy_connect_direct(&shim_cfg, shim_fake, dst, &rule), 0))
		return connect_decided(fd, addr, len);
	if (log_enabled(LOG_INFO))
		log_direct(fd, addr, len);
	return real.connect(fd, addr, len);
}

/* connect() on a descriptor we track. */
static SLOW int connect_tracked(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno, r;
	struct fdslot *s;

	fdstate_lock();
	if (!(s = fdstate_get(fd)))
		goto afresh;
	if (addr->sa_family == AF_UNSPEC) {
		/* dissolving the association: the socket is a plain one again */
		r = real.connect(fd, addr, len) == 0 ? 0 : -errno;
		if (r == 0) {
			fdstate_forget(s);
			fdstate_drop(fd);
		}
		fdstate_unlock();
		return shim_ret(saved, r);
	}
	switch (s->kind) {
	case FD_CONNECT:
		if (s->hs.state != HS_FAILED || !s->reported) {
			r = connect_again(fd, s);
			break;
		}
		/* failed before, and told: connecting it again starts afresh */
		r = shim_dissolve(fd);
		fdstate_forget(s);
		fdstate_drop(fd);
		if (r == 0)
			goto afresh;
		break;
	case FD_BIND:
		if ((r = bind_release(fd, s)) == 0)
			goto afresh;
		break;
	default:
		r = -EISCONN;
		break;
	}
	fdstate_unlock();
	return shim_ret(saved, r);
afresh:
	fdstate_unlock();
	errno = saved;
	return connect_route(fd, addr, len);
}

/* Before the settings exist on this thread (they are being built, and
 * resolving the server's name called back here) the call passes. */
static __attribute__((noinline)) int connect_inet(int fd, const struct sockaddr *addr,
						  socklen_t len)
{
	if (!shim_ready())
		return real.connect(fd, addr, len);
	if (fdstate_slot(fd))
		return connect_tracked(fd, addr, len);
	return connect_route(fd, addr, len);
}

/* An address known readable: ours if it is an inet one (or a
 * disconnect of a socket we track), else the kernel's. */
static inline __attribute__((always_inline)) int
connect_readable(int fd, const struct sockaddr *addr, socklen_t len)
{
	sa_family_t family = addr->sa_family;

	if (family == AF_INET || family == AF_INET6 || (family == AF_UNSPEC && fdstate_slot(fd)))
		return connect_inet(fd, addr, len);
	return real.connect(fd, addr, len);
}

/*
 * The address is read only where the kernel would read it (a length it
 * takes), after asking whether it can be: a bad pointer gets the
 * kernel's EFAULT, not our SIGSEGV.
 */
static SLOW int connect_slow(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_real();
	if (!real.connect)
		return shim_ret(0, -ENOSYS);
	if (len < sizeof(sa_family_t) || len > sizeof(struct sockaddr_storage) ||
	    shim_low_pointer(addr))
		return real.connect(fd, addr, len); /* the kernel refuses it */
	if (!shim_readable(addr, len))
		return real.connect(fd, NULL, len); /* EBADF or EFAULT, never a connection */
	return connect_readable(fd, addr, len);
}

/*
 * Kept small: most programs' connect() calls (Unix sockets, and inet ones
 * whose address is on the caller's stack) are judged here in a few
 * instructions; an address elsewhere, or the first call, takes the slow
 * twin.
 */
HOOK int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	/* real.connect is set last of the real functions (real.c) */
	if (__builtin_expect(!__atomic_load_n(&real.connect, __ATOMIC_ACQUIRE) ||
			     len - sizeof(sa_family_t) >
				     sizeof(struct sockaddr_storage) - sizeof(sa_family_t) ||
			     !shim_on_stack_page(addr, len), 0))
		return connect_slow(fd, addr, len);
	return connect_readable(fd, addr, len);
}

/* SO_ERROR or SO_ACCEPTCONN on a descriptor we track, under the lock. */
static int getsockopt_slot(int fd, struct fdslot *s, int name, void *val, socklen_t *len)
{
	int err = 0;

	if (s->kind == FD_CONNECT && name == SO_ERROR) {
		/* the moment the program asks for the outcome, which is the
		 * reply; while the connection to the server is still under way
		 * SO_ERROR is 0, as for any connect */
		if (hs_pending(&s->hs) && !foreign(s))
			wait_reply(fd, s);
		if (s->hs.state == HS_FAILED && !s->reported) {
			err = hs_errno(&s->hs);
			s->reported = 1;
		}
	}
	if (real.getsockopt(fd, SOL_SOCKET, name, val, len) < 0)
		return -errno;
	if (*len >= sizeof(int)) {
		if (err)
			*(int *)val = err;
		else if (name == SO_ACCEPTCONN && bind_accepting(s))
			*(int *)val = 1;
	}
	return 0;
}

static SLOW int getsockopt_tracked(int fd, int name, void *val, socklen_t *len)
{
	int saved = errno, r;
	struct fdslot *s;

	fdstate_lock();
	if ((s = fdstate_get(fd)))
		r = getsockopt_slot(fd, s, name, val, len);
	else
		r = real.getsockopt(fd, SOL_SOCKET, name, val, len) == 0 ? 0 : -errno;
	fdstate_unlock();
	return shim_ret(saved, r);
}

HOOK int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	shim_real();
	if (!real.getsockopt)
		return shim_ret(0, -ENOSYS);
	if (level == SOL_SOCKET && (name == SO_ERROR || name == SO_ACCEPTCONN) &&
	    fdstate_slot(fd))
		return getsockopt_tracked(fd, name, val, len);
	return real.getsockopt(fd, level, name, val, len);
}

/*
 * TCP Fast Open: sendto(), sendmsg() and sendmmsg() with MSG_FASTOPEN
 * connect as they send, without a connect() call, and would go straight
 * past us. They get a proxied connect first, then the data, without the
 * flag (a connected TCP socket ignores the address); a non-blocking
 * socket gets EINPROGRESS with nothing sent, as when no Fast Open cookie
 * is at hand, and sends again once connected. Every other send is one
 * flag test. Returns 0 when connected and the send may go on, -1 with
 * errno set when not, 1 when the call is not ours to take.
 */
static SLOW int fastopen_connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	struct sockaddr_storage ss;
	int saved = errno;

	if (!addr || alen < sizeof(sa_family_t))
		return 1;
	if (alen > sizeof(ss))
		alen = sizeof(ss);
	if (shim_copy_in(&ss, addr, alen) < 0) {
		errno = EFAULT;
		return -1;
	}
	if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) || !shim_ready() ||
	    !shim_is_stream(fd))
		return 1;
	if (connect_inet(fd, (struct sockaddr *)&ss, alen) < 0 && errno != EISCONN)
		return -1;
	errno = saved;
	return 0;
}

HOOK ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		    const struct sockaddr *addr, socklen_t alen)
{
	int r;

	shim_real();
	if (!real.sendto)
		return shim_ret(0, -ENOSYS);
	if (!(flags & MSG_FASTOPEN) || (r = fastopen_connect(fd, addr, alen)) > 0) {
		if (fdstate_slot(fd) && (r = connect_settle(fd, SO_SNDTIMEO)) < 0)
			return shim_ret(0, r);
		return real.sendto(fd, buf, len, flags, addr, alen);
	}
	return r < 0 ? -1 : real.sendto(fd, buf, len, flags & ~MSG_FASTOPEN, NULL, 0);
}

static SLOW int fastopen_msg(int fd, const struct msghdr *msg)
{
	struct msghdr m;

	if (shim_copy_in(&m, msg, sizeof(m)) < 0) {
		errno = EFAULT;
		return -1;
	}
	return fastopen_connect(fd, m.msg_name, m.msg_namelen);
}

HOOK ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	int r;

	shim_real();
	if (!real.sendmsg)
		return shim_ret(0, -ENOSYS);
	if (!(flags & MSG_FASTOPEN) || (r = fastopen_msg(fd, msg)) > 0) {
		if (fdstate_slot(fd) && (r = connect_settle(fd, SO_SNDTIMEO)) < 0)
			return shim_ret(0, r);
		return real.sendmsg(fd, msg, flags);
	}
	return r < 0 ? -1 : real.sendmsg(fd, msg, flags & ~MSG_FASTOPEN);
}

HOOK int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	int r;

	shim_real();
	if (!real.sendmmsg)
		return shim_ret(0, -ENOSYS);
	if (!(flags & MSG_FASTOPEN) || !n || (r = fastopen_msg(fd, &msgs[0].msg_hdr)) > 0)
		return real.sendmmsg(fd, msgs, n, flags);
	return r < 0 ? -1 : real.sendmmsg(fd, msgs, n, flags & ~MSG_FASTOPEN);
}
