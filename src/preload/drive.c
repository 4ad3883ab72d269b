/*
 * drive.c - how the hooks drive an exchange (handshake.c) inside the
 * program: the I/O table of real functions, and the library's data for
 * the core's one loop (hs_drive()): the slot lock let go around each
 * wait, the generation checked after it, the rules for signals.
 *
 * The wait keeps the contract of the call the program made. connect(2)
 * and accept(2) are restarted after a handler that has SA_RESTART and
 * fail with EINTR after one that has not (signal(7)), unless a timeout
 * is set on the socket (SO_SNDTIMEO for connect, SO_RCVTIMEO for
 * accept), which makes the kernel answer EINTR either way and ends the
 * wait at the timeout: EINPROGRESS for connect, EAGAIN for accept.
 * poll() cannot tell which signal interrupted it, so after an EINTR the
 * handlers of the signals this thread can take are read: the call is
 * restarted only if every one of them has SA_RESTART.
 */
#include "log.h"
#include "shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define DRIVE_LOOK_MS 250

/* connect() that never waits, whatever the socket's mode: the caller
 * holds the slot lock, so signals are held and the window in which a
 * blocking socket is O_NONBLOCK cannot be cut short. */
static int connect_nowait(void *ctx, int fd, const struct sockaddr *addr, socklen_t len)
{
	int fl = real.fcntl(fd, F_GETFL), r, err;

	(void)ctx;
	if (fl < 0 || (fl & O_NONBLOCK))
		return fl < 0 ? -1 : real.connect(fd, addr, len);
	real.fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	r = real.connect(fd, addr, len);
	err = errno;
	real.fcntl(fd, F_SETFL, fl);
	errno = err;
	return r;
}

/* send and recv are our hooks too: the exchange calls the real ones */
static ssize_t send_real(void *ctx, int fd, const void *buf, size_t len, int flags)
{
	(void)ctx;
	return real.send(fd, buf, len, flags);
}

static ssize_t recv_real(void *ctx, int fd, void *buf, size_t len, int flags)
{
	(void)ctx;
	return real.recv(fd, buf, len, flags);
}

const struct hs_io shim_io = {connect_nowait, send_real, recv_real, NULL};

bool shim_is_stream(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM;
}

int shim_dissolve(int fd)
{
	struct sockaddr sa = {.sa_family = AF_UNSPEC};

	return real.connect(fd, &sa, sizeof(sa)) == 0 ? 0 : -errno;
}

bool shim_nonblocking(int fd)
{
	int fl = real.fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

/* The socket's SO_SNDTIMEO or SO_RCVTIMEO in ms; 0 when none is set. */
static int64_t sock_timeout_ms(int fd, int opt)
{
	struct timeval tv = {0, 0};
	socklen_t len = sizeof(tv);

	if (real.getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0)
		return 0;
	return timeval_ms(&tv);
}

/* After a wait cut short by a signal: would the kernel restart the call? */
static int restartable(void)
{
	sigset_t mask;
	struct sigaction sa;

	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int sig = 1; sig < NSIG; sig++) {
		/* A fault's signal is the thread's own doing, never what
		 * interrupted a poll(): crash handlers (sanitizers, runtimes)
		 * often lack SA_RESTART and must not make every call EINTR. */
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGTRAP || sig == SIGSYS)
			continue;
		if (sigismember(&mask, sig) == 1 || sigaction(sig, NULL, &sa) < 0)
			continue;
		if ((sa.sa_flags & SA_SIGINFO || (sa.sa_handler != SIG_DFL &&
						  sa.sa_handler != SIG_IGN)) &&
		    !(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/* The call's own timeout, read at its first wait. */
static int64_t drive_sock_timeout(struct hs_drive *hd)
{
	struct drive *d = (struct drive *)hd;

	return sock_timeout_ms(hd->fd, d->timeo_opt);
}

void drive_leave(struct hs_drive *hd)
{
	(void)hd;
	fdstate_unlock();
}

int drive_back(struct hs_drive *hd, int err)
{
	struct drive *d = (struct drive *)hd;

	fdstate_lock();
	if (fdstate_get(hd->fd) != d->slot || d->slot->gen != d->gen)
		return -EBADF; /* closed, or made anew, while we waited */
	return err;
}

void drive_begin(struct drive *d, int fd, struct fdslot *s, int64_t deadline, int timeo_opt)
{
	hs_drive_init(&d->hd, &s->hs, &shim_io, fd, deadline);
	d->slot = s;
	d->gen = s->gen;
	d->timeo_opt = timeo_opt;
	/* Another thread may step the same exchange while this one waits and
	 * take the bytes its poll() waits for: it looks again now and then. */
	d->hd.slice_ms = DRIVE_LOOK_MS;
	d->hd.leave = drive_leave;
	d->hd.back = drive_back;
	if (timeo_opt) {
		d->hd.flags = HS_DRIVE_SIGNALS;
		d->hd.restart = restartable;
		d->hd.sock_timeout = drive_sock_timeout;
	}
}

/*
 * Readability is a property of whole pages, so one probe per page tells,
 * made at the page's start (a short object at a page's end is judged by
 * its own page alone). The probe is rt_sigprocmask() with a "how" no
 * kernel knows: the kernel copies the 8-byte set in first (EFAULT if it
 * cannot) and only then refuses the "how" with EINVAL, having changed
 * nothing. It costs a plain system call (about 70 ns here, against 320
 * for process_vm_readv()). Only EFAULT says no: a sandbox that refuses
 * the call some other way leaves the read to be tried, as it was before
 * there was a probe. Made raw, so that errno is never touched.
 */
static long probe(uintptr_t page)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = sizeof(uint64_t);
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"((long)SYS_rt_sigprocmask), "D"(-1L), "S"(page), "d"(0L), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = SYS_rt_sigprocmask;
	register long x0 __asm__("x0") = -1, x1 __asm__("x1") = (long)page;
	register long x2 __asm__("x2") = 0, x3 __asm__("x3") = sizeof(uint64_t);

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
#else
	int saved = errno;
	long r = syscall(SYS_rt_sigprocmask, -1, page, NULL, sizeof(uint64_t));

	r = r < 0 ? -errno : r;
	errno = saved;
	return r;
#endif
}

bool shim_readable_pages(const void *p, size_t n)
{
	uintptr_t at = (uintptr_t)p & -(uintptr_t)SHIM_PROBE_PAGE, last;

	if (!n)
		return true;
	if (__builtin_add_overflow((uintptr_t)p, n - 1, &last))
		return false;
	for (last &= -(uintptr_t)SHIM_PROBE_PAGE;; at += SHIM_PROBE_PAGE) {
		if (probe(at) == -EFAULT)
			return false;
		if (at == last)
			return true;
	}
}

int shim_copy_in(void *dst, const void *src, size_t n)
{
	struct iovec local = {dst, n}, remote = {(void *)src, n};
	ssize_t r;

	if (!n)
		return 0;
	r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (r == (ssize_t)n)
		return 0;
	if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* a sandbox that forbids it: fall back to reading */
		memcpy(dst, src, n);
		return 0;
	}
	return -EFAULT;
}
