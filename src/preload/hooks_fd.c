/*
 * hooks_fd.c - the names and the life of a descriptor: getsockname()
 * and getpeername() (what a proxied socket says of its ends), close(),
 * dup(), dup2(), dup3() and fcntl()'s F_DUPFD (a slot follows its
 * socket to a new number). On a descriptor we do not track each is one
 * table load, one branch and the C library's own function.
 *
 * The answers come from the flow that made the slot: a CONNECT's
 * reported addresses (set in hooks_connect.c), a BIND's (hooks_bind.c,
 * which also starts the BIND when getsockname() is the first call that
 * needs its address).
 */
#include "primary.h"
#include "shim.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

/*
 * Reports v through addr/len as getsockname(2)-style calls do, after
 * letting the real call check the caller's buffer and the descriptor,
 * exactly as the kernel would (EFAULT, EINVAL, EBADF, ENOTSOCK).
 */
static int report_addr(int fd, const struct fdslot *s, struct v4 v,
		       int (*realfn)(int, struct sockaddr *, socklen_t *),
		       struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t cap;

	if (!len || shim_copy_in(&cap, len, sizeof(cap)) < 0)
		return realfn(fd, addr, len) == 0 ? 0 : -errno; /* EFAULT, from the kernel */
	if (realfn(fd, addr, len) < 0)
		return -errno;
	*len = cap;
	addr_copy_out(&ss, addr_from_v4(s->family, v, &ss), addr, len);
	return 0;
}

/* What getsockname() says for a proxied CONNECT socket (see README):
 * the proxy's outward address from the reply, else the address of the
 * proxy's BIND listener with our real port, else the real name. */
static int connect_name(int fd, const struct fdslot *s, struct sockaddr *addr,
			socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct v4 local;
	uint32_t bind_ip;

	if (s->hs.state == HS_GRANTED && s->name.ip)
		return report_addr(fd, s, s->name, real.getsockname, addr, len);
	if (s->hs.state != HS_GRANTED || !(bind_ip = primary_bind_ip(&shim_primary)) ||
	    real.getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    !addr_to_v4((struct sockaddr *)&ss, sl, &local))
		return real.getsockname(fd, addr, len) == 0 ? 0 : -errno;
	return report_addr(fd, s, (struct v4){bind_ip, local.port}, real.getsockname, addr, len);
}

static int sockname_slot(int fd, struct fdslot *s, struct sockaddr *addr, socklen_t *len)
{
	struct v4 v;
	int r;

	switch (s->kind) {
	case FD_CONNECT:
		return connect_name(fd, s, addr, len);
	case FD_BIND:
		if ((r = bind_sockname(fd, s, &v)) < 0)
			return r;
		return report_addr(fd, s, v, real.getsockname, addr, len);
	case FD_ACCEPTED:
		return report_addr(fd, s, s->name, real.getsockname, addr, len);
	}
	return real.getsockname(fd, addr, len) == 0 ? 0 : -errno;
}

static int peername_slot(int fd, struct fdslot *s, struct sockaddr *addr, socklen_t *len)
{
	if (s->kind == FD_BIND || (s->kind == FD_CONNECT && s->hs.state != HS_GRANTED))
		return -ENOTCONN; /* a listener, or not connected yet */
	return report_addr(fd, s, s->peer, real.getpeername, addr, len);
}

/* getsockname() or getpeername() on a descriptor that has a slot. */
static SLOW int name_slow(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
	int saved = errno, r;
	struct fdslot *s;

	fdstate_lock();
	if (!(s = fdstate_get(fd)))
		r = (peer ? real.getpeername(fd, addr, len) : real.getsockname(fd, addr, len)) == 0
			? 0 : -errno;
	else
		r = peer ? peername_slot(fd, s, addr, len) : sockname_slot(fd, s, addr, len);
	fdstate_unlock();
	return shim_ret(saved, r);
}

HOOK int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_real();
	if (!real.getsockname)
		return shim_ret(0, -ENOSYS);
	if (fdstate_slot(fd))
		return name_slow(fd, addr, len, false);
	return real.getsockname(fd, addr, len);
}

HOOK int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_real();
	if (!real.getpeername)
		return shim_ret(0, -ENOSYS);
	if (fdstate_slot(fd))
		return name_slow(fd, addr, len, true);
	return real.getpeername(fd, addr, len);
}

/* Out of line, so that close() of a descriptor we do not track stays a
 * tail call with no stack frame. */
static SLOW int close_tracked(int fd)
{
	fdstate_close(fd);
	return real.close(fd);
}

HOOK int close(int fd)
{
	shim_real();
	if (!real.close)
		return shim_ret(0, -ENOSYS);
	if (fdstate_slot(fd))
		return close_tracked(fd);
	return real.close(fd);
}

/*
 * After a copy of fd to nfd: nfd refers to fd's record (or to none). A
 * reference that cannot be made (no memory, a number past the table;
 * logged) fails the call rather than leave a copy we know nothing of:
 * the new number is closed again. dup2() and dup3() reserve their
 * target's place first (dup_reserve), so theirs cannot fail here.
 */
static SLOW int dup_slow(int fd, int nfd)
{
	int saved = errno, r;

	fdstate_lock();
	r = fdstate_dup(fd, nfd);
	fdstate_unlock();
	if (r < 0) {
		real.close(nfd);
		return shim_ret(saved, r);
	}
	errno = saved;
	return nfd;
}

static inline int dup_done(int fd, int nfd)
{
	if (nfd >= 0 && nfd != fd && (fdstate_slot(fd) || fdstate_slot(nfd)))
		return dup_slow(fd, nfd);
	return nfd;
}

/* Before dup2()/dup3() of a descriptor we track: 0, or -errno (logged)
 * when fd2 could not be given a reference afterwards. */
static inline int dup_reserve(int fd, int fd2)
{
	return fdstate_slot(fd) ? fdstate_reserve(fd2) : 0;
}

HOOK int dup(int fd)
{
	shim_real();
	if (!real.dup)
		return shim_ret(0, -ENOSYS);
	return dup_done(fd, real.dup(fd));
}

HOOK int dup2(int fd, int fd2)
{
	int r;

	shim_real();
	if (!real.dup2)
		return shim_ret(0, -ENOSYS);
	if ((r = dup_reserve(fd, fd2)) < 0)
		return shim_ret(0, r);
	return dup_done(fd, real.dup2(fd, fd2));
}

HOOK int dup3(int fd, int fd2, int flags)
{
	int r;

	shim_real();
	if (!real.dup3)
		return shim_ret(0, -ENOSYS);
	if ((r = dup_reserve(fd, fd2)) < 0)
		return shim_ret(0, r);
	return dup_done(fd, real.dup3(fd, fd2, flags));
}

/*
 * fcntl() and the fcntl64() that newer programs call: only F_DUPFD and
 * F_DUPFD_CLOEXEC concern us (Python's socket.dup() uses the latter).
 * The third argument is passed on as the C library itself reads it: one
 * word, whatever the command.
 */
/* F_SETFL clearing O_NONBLOCK on a socket whose CONNECT is under way:
 * the program takes it as connected and will read it blocking, so the
 * exchange is finished first (an FTP client that reads its server's
 * greeting one byte at a time through stdio does exactly this). */
static SLOW void setfl_slow(int fd, long flags)
{
	struct fdslot *s = fdstate_slot(fd);
	int saved = errno;

	if (s && s->kind == FD_CONNECT && hs_pending(&s->hs) && !(flags & O_NONBLOCK) &&
	    shim_nonblocking(fd))
		connect_settle(fd, 0); /* a failure waits for SO_ERROR or a read */
	errno = saved;
}

static inline int fcntl_with(int (*realfn)(int, int, ...), int fd, int cmd, void *arg)
{
	if (!realfn)
		return shim_ret(0, -ENOSYS);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_done(fd, realfn(fd, cmd, arg));
	if (cmd == F_SETFL && fdstate_slot(fd))
		setfl_slow(fd, (long)arg);
	return realfn(fd, cmd, arg);
}

HOOK int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	shim_real();
	return fcntl_with(real.fcntl, fd, cmd, arg);
}

HOOK int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	shim_real();
	return fcntl_with(real.fcntl64, fd, cmd, arg);
}
