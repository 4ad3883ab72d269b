/*
 * hooks_io.c - the data calls (read, readv, recv, recvfrom, recvmsg,
 * recvmmsg, preadv2 and pwritev2 at offset -1, write, writev, send, and
 * _FORTIFY_SOURCE's __read_chk, __recv_chk and __recvfrom_chk) on a
 * socket whose CONNECT is still under way.
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
 * over, a few more: the slot's state, read without the lock as a hint
 * that connect_settle() checks under it, and the note of which proxied
 * connection this thread used last (io_last_connect()).
 */
#include "shim.h"

#include <sys/uio.h>
#include <unistd.h>

/* The call may go ahead: 0, or -1 with errno set (the exchange failed,
 * or is not done on a non-blocking socket: EAGAIN, as for any connect
 * still under way). */
static int settle(int fd, int timeo_opt)
{
	int saved = errno, r = connect_settle(fd, timeo_opt);

	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved;
	return 0;
}

/*
 * The proxied connection this thread last did I/O on: the application
 * server a BIND it opens next most likely belongs to (an FTP client reads
 * its control connection's reply, then opens the data listener), which
 * tells two control connections to the same proxy apart.
 */
static __thread int last_fd = -1;
static __thread uint32_t last_gen;

bool io_last_connect(struct v4 *dst, const char **host)
{
	struct fdslot *s = last_fd >= 0 ? fdstate_get(last_fd) : NULL;

	if (!s || s->gen != last_gen || s->kind != FD_CONNECT || s->hs.state != HS_GRANTED)
		return false;
	*dst = s->hs.dst;
	*host = s->hs.host;
	return true;
}

/*
 * A data call on a descriptor that has a slot, or before the real
 * functions are known: 0 to go on with the call, -1 with errno set. A
 * CONNECT whose exchange may still be pending (the state read without
 * the lock, as a hint that connect_settle() checks under it) is finished
 * first; one whose exchange is over is remembered (see above).
 */
static SLOW int io_slow(int fd, void *fn, int timeo_opt)
{
	struct fdslot *s = fdstate_slot(fd);

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	if (!s || s->kind != FD_CONNECT)
		return 0;
	if (hs_pending(&s->hs))
		return settle(fd, timeo_opt);
	last_fd = fd;
	last_gen = s->gen;
	return 0;
}

/*
 * Each hook: three tests (the real functions found, this one there, no
 * slot for the descriptor) and the C library's call in tail position, so
 * the common path builds no stack frame; anything else, the first call
 * included, takes the hook's slow twin, which checks and then calls.
 */
static SLOW ssize_t read_slow(int fd, void *buf, size_t len)
{
	shim_real();
	return io_slow(fd, (void *)real.read, SO_RCVTIMEO) < 0 ? -1 : real.read(fd, buf, len);
}

HOOK ssize_t read(int fd, void *buf, size_t len)
{
	if (__builtin_expect(!shim_real_ready() || !real.read || fdstate_slot(fd) != NULL, 0))
		return read_slow(fd, buf, len);
	return real.read(fd, buf, len);
}

static SLOW ssize_t readv_slow(int fd, const struct iovec *iov, int n)
{
	shim_real();
	return io_slow(fd, (void *)real.readv, SO_RCVTIMEO) < 0 ? -1 : real.readv(fd, iov, n);
}

HOOK ssize_t readv(int fd, const struct iovec *iov, int n)
{
	if (__builtin_expect(!shim_real_ready() || !real.readv || fdstate_slot(fd) != NULL, 0))
		return readv_slow(fd, iov, n);
	return real.readv(fd, iov, n);
}

static SLOW ssize_t recv_slow(int fd, void *buf, size_t len, int flags)
{
	shim_real();
	return io_slow(fd, (void *)real.recv, SO_RCVTIMEO) < 0 ? -1 : real.recv(fd, buf, len, flags);
}

HOOK ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.recv || fdstate_slot(fd) != NULL, 0))
		return recv_slow(fd, buf, len, flags);
	return real.recv(fd, buf, len, flags);
}

static SLOW ssize_t recvfrom_slow(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
		      socklen_t *alen)
{
	shim_real();
	return io_slow(fd, (void *)real.recvfrom, SO_RCVTIMEO) < 0 ? -1 : real.recvfrom(fd, buf, len, flags, addr, alen);
}

HOOK ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
		      socklen_t *alen)
{
	if (__builtin_expect(!shim_real_ready() || !real.recvfrom || fdstate_slot(fd) != NULL, 0))
		return recvfrom_slow(fd, buf, len, flags, addr, alen);
	return real.recvfrom(fd, buf, len, flags, addr, alen);
}

static SLOW ssize_t recvmsg_slow(int fd, struct msghdr *msg, int flags)
{
	shim_real();
	return io_slow(fd, (void *)real.recvmsg, SO_RCVTIMEO) < 0 ? -1 : real.recvmsg(fd, msg, flags);
}

HOOK ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.recvmsg || fdstate_slot(fd) != NULL, 0))
		return recvmsg_slow(fd, msg, flags);
	return real.recvmsg(fd, msg, flags);
}

static SLOW int recvmmsg_slow(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
			      struct timespec *timeout)
{
	shim_real();
	return io_slow(fd, (void *)real.recvmmsg, SO_RCVTIMEO) < 0
		       ? -1 : real.recvmmsg(fd, msgs, n, flags, timeout);
}

HOOK int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
		  struct timespec *timeout)
{
	if (__builtin_expect(!shim_real_ready() || !real.recvmmsg || fdstate_slot(fd) != NULL, 0))
		return recvmmsg_slow(fd, msgs, n, flags, timeout);
	return real.recvmmsg(fd, msgs, n, flags, timeout);
}

/*
 * preadv2() and pwritev2() at offset -1 read and write at the file
 * position, which on a socket is readv() and writev() with flags; at any
 * other offset a socket says ESPIPE, which needs no exchange finished
 * first. glibc has each under two names (the second for programs built
 * with _FILE_OFFSET_BITS=64, as Debian builds many): both are hooked.
 */
static SLOW ssize_t preadv2_slow(int fd, const struct iovec *iov, int n, off_t off, int flags,
				 bool wide)
{
	ssize_t (*fn)(int, const struct iovec *, int, off_t, int);

	shim_real();
	fn = wide ? real.preadv64v2 : real.preadv2;
	if (off != -1 && fn)
		return fn(fd, iov, n, off, flags);
	return io_slow(fd, (void *)fn, SO_RCVTIMEO) < 0 ? -1 : fn(fd, iov, n, off, flags);
}

HOOK ssize_t preadv2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.preadv2 || fdstate_slot(fd) != NULL, 0))
		return preadv2_slow(fd, iov, n, off, flags, false);
	return real.preadv2(fd, iov, n, off, flags);
}

HOOK ssize_t preadv64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.preadv64v2 || fdstate_slot(fd) != NULL, 0))
		return preadv2_slow(fd, iov, n, off, flags, true);
	return real.preadv64v2(fd, iov, n, off, flags);
}

static SLOW ssize_t pwritev2_slow(int fd, const struct iovec *iov, int n, off_t off, int flags,
				 bool wide)
{
	ssize_t (*fn)(int, const struct iovec *, int, off_t, int);

	shim_real();
	fn = wide ? real.pwritev64v2 : real.pwritev2;
	if (off != -1 && fn)
		return fn(fd, iov, n, off, flags);
	return io_slow(fd, (void *)fn, SO_SNDTIMEO) < 0 ? -1 : fn(fd, iov, n, off, flags);
}

HOOK ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.pwritev2 || fdstate_slot(fd) != NULL, 0))
		return pwritev2_slow(fd, iov, n, off, flags, false);
	return real.pwritev2(fd, iov, n, off, flags);
}

HOOK ssize_t pwritev64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.pwritev64v2 || fdstate_slot(fd) != NULL, 0))
		return pwritev2_slow(fd, iov, n, off, flags, true);
	return real.pwritev64v2(fd, iov, n, off, flags);
}

static SLOW ssize_t write_slow(int fd, const void *buf, size_t len)
{
	shim_real();
	return io_slow(fd, (void *)real.write, SO_SNDTIMEO) < 0 ? -1 : real.write(fd, buf, len);
}

HOOK ssize_t write(int fd, const void *buf, size_t len)
{
	if (__builtin_expect(!shim_real_ready() || !real.write || fdstate_slot(fd) != NULL, 0))
		return write_slow(fd, buf, len);
	return real.write(fd, buf, len);
}

static SLOW ssize_t writev_slow(int fd, const struct iovec *iov, int n)
{
	shim_real();
	return io_slow(fd, (void *)real.writev, SO_SNDTIMEO) < 0 ? -1 : real.writev(fd, iov, n);
}

HOOK ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (__builtin_expect(!shim_real_ready() || !real.writev || fdstate_slot(fd) != NULL, 0))
		return writev_slow(fd, iov, n);
	return real.writev(fd, iov, n);
}

static SLOW ssize_t send_slow(int fd, const void *buf, size_t len, int flags)
{
	shim_real();
	return io_slow(fd, (void *)real.send, SO_SNDTIMEO) < 0 ? -1 : real.send(fd, buf, len, flags);
}

HOOK ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.send || fdstate_slot(fd) != NULL, 0))
		return send_slow(fd, buf, len, flags);
	return real.send(fd, buf, len, flags);
}

/*
 * A program built with _FORTIFY_SOURCE (Debian builds everything so)
 * reads into a buffer of known size through these: the C library's
 * versions check the size and call its own read inside, which no hook
 * sees. The real ones still make the check (and stop the program when
 * it fails, as without us).
 */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);

static SLOW ssize_t read_chk_slow(int fd, void *buf, size_t len, size_t buflen)
{
	shim_real();
	return io_slow(fd, (void *)real.__read_chk, SO_RCVTIMEO) < 0
		       ? -1 : real.__read_chk(fd, buf, len, buflen);
}

HOOK ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (__builtin_expect(!shim_real_ready() || !real.__read_chk || fdstate_slot(fd) != NULL, 0))
		return read_chk_slow(fd, buf, len, buflen);
	return real.__read_chk(fd, buf, len, buflen);
}

static SLOW ssize_t recv_chk_slow(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	shim_real();
	return io_slow(fd, (void *)real.__recv_chk, SO_RCVTIMEO) < 0
		       ? -1 : real.__recv_chk(fd, buf, len, buflen, flags);
}

HOOK ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (__builtin_expect(!shim_real_ready() || !real.__recv_chk || fdstate_slot(fd) != NULL, 0))
		return recv_chk_slow(fd, buf, len, buflen, flags);
	return real.__recv_chk(fd, buf, len, buflen, flags);
}

static SLOW ssize_t recvfrom_chk_slow(int fd, void *buf, size_t len, size_t buflen, int flags,
				      struct sockaddr *addr, socklen_t *alen)
{
	shim_real();
	return io_slow(fd, (void *)real.__recvfrom_chk, SO_RCVTIMEO) < 0
		       ? -1 : real.__recvfrom_chk(fd, buf, len, buflen, flags, addr, alen);
}

HOOK ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
			    struct sockaddr *addr, socklen_t *alen)
{
	if (__builtin_expect(!shim_real_ready() || !real.__recvfrom_chk ||
			     fdstate_slot(fd) != NULL, 0))
		return recvfrom_chk_slow(fd, buf, len, buflen, flags, addr, alen);
	return real.__recvfrom_chk(fd, buf, len, buflen, flags, addr, alen);
}
