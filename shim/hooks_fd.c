/*
 * hooks_fd.c - the calls that name a socket's ends (getsockname,
 * getpeername) and the ones that end or copy a descriptor (close, dup,
 * dup2, dup3, fcntl's F_DUPFD). On a descriptor we do not track each is
 * one table load, one branch and the C library's own function.
 */
#include "primary.h"
#include "shim.h"

#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

static int sock_int(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return real.getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0 ? -1 : v;
}

bool shim_is_stream(int fd)
{
	return sock_int(fd, SO_TYPE) == SOCK_STREAM;
}

/*
 * Reports v through addr/len as getsockname(2)-style calls do, after
 * letting the real call check the caller's buffer (EFAULT, EINVAL) and
 * the descriptor, exactly as the kernel would.
 */
static int report_addr(int fd, const struct fdslot *s, struct v4 v,
		       int (*realfn)(int, struct sockaddr *, socklen_t *),
		       struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t cap;

	if (!len)
		return realfn(fd, addr, len); /* EFAULT, from the kernel */
	cap = *len;
	if (realfn(fd, addr, len) < 0)
		return -1;
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

	if (s->phase == PH_CONNECTED && s->name.ip)
		return report_addr(fd, s, s->name, real.getsockname, addr, len);
	if (s->phase != PH_CONNECTED || !(bind_ip = primary_bind_ip()) ||
	    real.getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    !addr_to_v4((struct sockaddr *)&ss, sl, &local))
		return real.getsockname(fd, addr, len);
	return report_addr(fd, s, (struct v4){bind_ip, local.port},
			   real.getsockname, addr, len);
}

static int getsockname_tracked(int fd, struct fdslot *s, struct sockaddr *addr,
			       socklen_t *len)
{
	int err;

	switch (s->kind) {
	case FD_CONNECT:
		return connect_name(fd, s, addr, len);
	case FD_BIND:
		if (s->phase == PH_BOUND && (err = bind_start(fd, s)))
			return shim_fail(err);
		if (s->phase == PH_SPENT && !s->name.ip)
			return shim_fail(s->err ? s->err : EINVAL);
		/* fall through */
	case FD_ACCEPTED:
		return report_addr(fd, s, s->name, real.getsockname, addr, len);
	}
	return real.getsockname(fd, addr, len);
}

static int getpeername_tracked(int fd, struct fdslot *s, struct sockaddr *addr,
			       socklen_t *len)
{
	if (s->kind == FD_BIND || (s->kind == FD_CONNECT && s->phase != PH_CONNECTED))
		return shim_fail(ENOTCONN); /* a listener, or not connected yet */
	return report_addr(fd, s, s->peer, real.getpeername, addr, len);
}

/* getsockname() or getpeername() on a descriptor that has a slot. */
static SLOW int name_slow(int fd, struct sockaddr *addr, socklen_t *len, bool peer)
{
	struct fdslot *s = fdstate_get(fd);
	int saved = errno;

	if (!s)
		return peer ? real.getpeername(fd, addr, len) : real.getsockname(fd, addr, len);
	return shim_done(saved, peer ? getpeername_tracked(fd, s, addr, len)
				     : getsockname_tracked(fd, s, addr, len));
}

HOOK int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_real();
	if (!real.getsockname)
		return shim_fail(ENOSYS);
	if (fdstate_slot(fd))
		return name_slow(fd, addr, len, false);
	return real.getsockname(fd, addr, len);
}

HOOK int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_real();
	if (!real.getpeername)
		return shim_fail(ENOSYS);
	if (fdstate_slot(fd))
		return name_slow(fd, addr, len, true);
	return real.getpeername(fd, addr, len);
}

HOOK int close(int fd)
{
	shim_real();
	if (!real.close)
		return shim_fail(ENOSYS);
	fdstate_drop(fd);
	return real.close(fd);
}

HOOK int dup(int fd)
{
	int nfd;

	shim_real();
	if (!real.dup)
		return shim_fail(ENOSYS);
	nfd = real.dup(fd);
	if (nfd >= 0 && fdstate_get(fd))
		fdstate_dup(fd, nfd);
	return nfd;
}

static int dup_into(int fd, int fd2, int r)
{
	if (r >= 0 && fd != fd2) {
		if (fdstate_get(fd))
			fdstate_dup(fd, fd2);
		else
			fdstate_drop(fd2);
	}
	return r;
}

HOOK int dup2(int fd, int fd2)
{
	shim_real();
	if (!real.dup2)
		return shim_fail(ENOSYS);
	return dup_into(fd, fd2, real.dup2(fd, fd2));
}

HOOK int dup3(int fd, int fd2, int flags)
{
	shim_real();
	if (!real.dup3)
		return shim_fail(ENOSYS);
	return dup_into(fd, fd2, real.dup3(fd, fd2, flags));
}

/*
 * fcntl() and the fcntl64() that newer programs call: only F_DUPFD and
 * F_DUPFD_CLOEXEC concern us (Python's socket.dup() uses the latter).
 * The third argument is passed on as the C library itself reads it: one
 * word, whatever the command.
 */
static int fcntl_with(int (*realfn)(int, int, ...), int fd, int cmd, void *arg)
{
	int r;

	if (!realfn)
		return shim_fail(ENOSYS);
	r = realfn(fd, cmd, arg);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0 && fdstate_get(fd))
		fdstate_dup(fd, r);
	return r;
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
