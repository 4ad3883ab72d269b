/*
 * hooks_io.c - the data calls (read, readv, recv, recvfrom, recvmsg,
 * write, writev, send) on a socket whose CONNECT is still under way.
 *
 * A program may read or write before it asks for the outcome of its
 * non-blocking connect(): it polls for POLLIN and reads (server-speaks-
 * first protocols: FTP, SMTP, SSH banners), or writes at once. Without
 * the shim the kernel would make such a call wait for the connection, or
 * answer EAGAIN; here the SOCKS reply would come back as the program's
 * data, or its bytes would go ahead of the request. So the first data
 * call on such a socket finishes the exchange first (connect_settle(), in
 * the connect flow), then does what was asked.
 *
 * On every other descriptor each hook is one table load, one branch and
 * the C library's own function; on a proxied socket whose exchange is
 * over, one more load and branch (the slot's state, read without the
 * lock as a hint that connect_settle() checks under it).
 */
#include "shim.h"

#include <sys/uio.h>
#include <unistd.h>

/* The call may go ahead: 0, or -1 with errno set (the exchange failed,
 * or is not done on a non-blocking socket: EAGAIN, as for any connect
 * still under way). */
static SLOW int settle(int fd, int timeo_opt)
{
	int saved = errno, r = connect_settle(fd, timeo_opt);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved;
	return 0;
}

/* The hint: a CONNECT slot whose exchange may still be pending. */
static inline bool pending(int fd)
{
	struct fdslot *s = fdstate_slot(fd);

	return __builtin_expect(s != NULL, 0) && s->kind == FD_CONNECT &&
	       hs_pending(&s->hs);
}

#define SETTLE(fd, opt, fn)                                                  \
	do {                                                                 \
		shim_real();                                                 \
		if (!real.fn)                                                \
			return shim_ret(0, -ENOSYS);                         \
		if (pending(fd) && settle(fd, opt) < 0)                     \
			return -1;                                           \
	} while (0)

HOOK ssize_t read(int fd, void *buf, size_t len)
{
	SETTLE(fd, SO_RCVTIMEO, read);
	return real.read(fd, buf, len);
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int n)
{
	SETTLE(fd, SO_RCVTIMEO, readv);
	return real.readv(fd, iov, n);
}

HOOK ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	SETTLE(fd, SO_RCVTIMEO, recv);
	return real.recv(fd, buf, len, flags);
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
		      socklen_t *alen)
{
	SETTLE(fd, SO_RCVTIMEO, recvfrom);
	return real.recvfrom(fd, buf, len, flags, addr, alen);
}

HOOK ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	SETTLE(fd, SO_RCVTIMEO, recvmsg);
	return real.recvmsg(fd, msg, flags);
}

HOOK ssize_t write(int fd, const void *buf, size_t len)
{
	SETTLE(fd, SO_SNDTIMEO, write);
	return real.write(fd, buf, len);
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int n)
{
	SETTLE(fd, SO_SNDTIMEO, writev);
	return real.writev(fd, iov, n);
}

HOOK ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	SETTLE(fd, SO_SNDTIMEO, send);
	return real.send(fd, buf, len, flags);
}
