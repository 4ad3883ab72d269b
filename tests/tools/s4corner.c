/*
 * s4corner.c - the corners of the socket contracts that a shim gets
 * wrong: odd address lengths and addresses, bad pointers, a socket
 * connected again after a failure or after AF_UNSPEC, Fast Open through
 * sendmmsg, descriptors running out in a BIND hand-over, the quiet
 * listener left behind, two threads on one exchange, fork while another
 * thread is inside the shim, errno on success.
 *
 *   s4corner CHECK HOST PORT [ARG]
 *
 * HOST:PORT is an echo server (for the BIND checks, tests/helpers/
 * callback.py). Prints "key=value" facts, one a line; exits 0 when the
 * check held, 1 when not. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

static const char *res(int r)
{
	return r < 0 ? ename(errno) : "0";
}

static int echo_ok(int fd, const char *msg)
{
	char buf[128];
	size_t len = strlen(msg), got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		printf("send=%s\n", ename(errno));
		return 0;
	}
	while (got < len && poll(&p, 1, 5000) == 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return got == len && !memcmp(buf, msg, len);
}

static int fact_echo(int fd, const char *msg)
{
	int ok = echo_ok(fd, msg);

	printf("echo=%s\n", ok ? "ok" : "bad");
	return ok;
}

/* connect() to ::ffff:HOST through a 24-byte sockaddr_in6 (RFC 2133's
 * size, which the kernel takes) and through a full one: the same either
 * way. */
static int check_in6short(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = dst.sin_port};
	int fd = socket(AF_INET6, SOCK_STREAM, 0), r;

	a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a.sin6_addr.s6_addr[12], &dst.sin_addr, 4);
	r = connect(fd, (void *)&a, 24);
	printf("connect24=%s\n", res(r));
	return r == 0 && fact_echo(fd, "short sockaddr_in6\n");
}

/* ::1 through 24 and 28 bytes: the same answer. */
static int check_in6lo(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = dst.sin_port,
				 .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int f1 = socket(AF_INET6, SOCK_STREAM, 0), f2 = socket(AF_INET6, SOCK_STREAM, 0);
	int r1 = connect(f1, (void *)&a, 24), e1 = errno;
	int r2 = connect(f2, (void *)&a, sizeof(a)), e2 = errno;

	printf("connect24=%s\nconnect28=%s\n", r1 < 0 ? ename(e1) : "0", r2 < 0 ? ename(e2) : "0");
	return (r1 < 0) == (r2 < 0) && (r1 == 0 || e1 == e2);
}

/* TCP Fast Open through sendmmsg(): connects as it sends. */
static int check_mmsg(void)
{
	char msg[] = "sent by sendmmsg\n";
	struct iovec iov = {msg, sizeof(msg) - 1};
	struct mmsghdr m = {.msg_hdr = {.msg_name = &dst, .msg_namelen = sizeof(dst),
					.msg_iov = &iov, .msg_iovlen = 1}};
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;
	char buf[64];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	r = sendmmsg(fd, &m, 1, MSG_FASTOPEN);
	printf("sendmmsg=%s\n", r < 0 ? ename(errno) : r == 1 ? "1" : "?");
	if (r != 1 || poll(&p, 1, 5000) != 1)
		return 0;
	n = recv(fd, buf, sizeof(buf), 0);
	printf("echo=%s\n", n == (ssize_t)sizeof(msg) - 1 && !memcmp(buf, msg, (size_t)n) ? "ok" : "bad");
	return n == (ssize_t)sizeof(msg) - 1;
}

/* 0.0.0.0 is this host. */
static int check_zero(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = dst.sin_port};
	int fd = socket(AF_INET, SOCK_STREAM, 0), r = connect(fd, (void *)&a, sizeof(a));

	printf("connect=%s\n", res(r));
	return r == 0 && fact_echo(fd, "this host\n");
}

/* A proxied connection, then a listener bound to 127.0.0.2 port 0: it
 * stays local (getsockname says 127.0.0.2). */
static int check_bindlo(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	int ctl = socket(AF_INET, SOCK_STREAM, 0), lfd = socket(AF_INET, SOCK_STREAM, 0);
	char ip[INET_ADDRSTRLEN];

	if (connect(ctl, (void *)&dst, sizeof(dst)) < 0)
		return printf("control=%s\n", ename(errno)), 0;
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	if (bind(lfd, (void *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (void *)&got, &len) < 0)
		return printf("listen=%s\n", ename(errno)), 0;
	inet_ntop(AF_INET, &got.sin_addr, ip, sizeof(ip));
	printf("listening=%s\n", ip);
	return !strcmp(ip, "127.0.0.2") && got.sin_port != 0;
}

/* connect(), connect(AF_UNSPEC) to dissolve it, connect() again. */
static int check_unspec(void)
{
	struct sockaddr un = {.sa_family = AF_UNSPEC};
	int fd = socket(AF_INET, SOCK_STREAM, 0), r1, r2, r3;
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	r1 = connect(fd, (void *)&dst, sizeof(dst));
	r2 = connect(fd, &un, sizeof(un));
	printf("connect=%s\nunspec=%s\n", res(r1), res(r2));
	r3 = getpeername(fd, (void *)&peer, &len);
	printf("getpeername=%s\n", res(r3));
	r3 = connect(fd, (void *)&dst, sizeof(dst));
	printf("again=%s\n", res(r3));
	return r1 == 0 && r2 == 0 && r3 == 0 && fact_echo(fd, "reconnected\n");
}

/* A non-blocking connect that fails (ARG: a refused port), then the same
 * descriptor connected again: its epoll registration still wakes. */
static int check_retry(int bad_port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0);
	struct sockaddr_in bad = dst;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 42}, got;
	int err = 0, n, r;
	socklen_t len = sizeof(err);

	bad.sin_port = htons((uint16_t)bad_port);
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	r = connect(fd, (void *)&bad, sizeof(bad));
	printf("first=%s\n", res(r));
	n = epoll_wait(ep, &got, 1, 5000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("first_so_error=%s\n", err ? ename(err) : "0");
	r = connect(fd, (void *)&dst, sizeof(dst));
	printf("second=%s\n", res(r));
	ev.events = EPOLLOUT | EPOLLET;
	printf("mod=%s\n", res(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev)));
	n = epoll_wait(ep, &got, 1, 5000);
	printf("woken=%s\n", n == 1 && got.data.u64 == 42 ? "yes" : "no");
	err = -1;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("so_error=%d\n", err);
	fcntl(fd, F_SETFL, 0);
	return n == 1 && err == 0 && fact_echo(fd, "retried\n");
}

/*
 * A non-blocking connect whose descriptor is copied (dup(), or
 * F_DUPFD_CLOEXEC as Python's socket.dup() does) before the SOCKS reply
 * is in: the exchange is finished through one copy and the socket then
 * used through the other, both ways round. The kernel has one socket
 * behind both numbers, so each sees the connection made and the other's
 * data; neither may read the reply a second time from the stream.
 */
static int check_dupmid(void)
{
	int ok = 1;

	for (int way = 0; way < 2; way++) {
		int a = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), b, err = -1, r;
		struct pollfd p;
		socklen_t len = sizeof(err);
		char msg[32];

		r = connect(a, (void *)&dst, sizeof(dst));
		b = way ? fcntl(a, F_DUPFD_CLOEXEC, 0) : dup(a);
		/* finish it through b, use it through a; then the other way */
		p = (struct pollfd){.fd = way ? a : b, .events = POLLOUT};
		poll(&p, 1, 5000);
		getsockopt(way ? a : b, SOL_SOCKET, SO_ERROR, &err, &len);
		printf("dup%d: connect=%s so_error=%d\n", way, res(r), err);
		snprintf(msg, sizeof(msg), "through the other %d\n", way);
		fcntl(way ? b : a, F_SETFL, 0);
		ok &= err == 0 && fact_echo(way ? b : a, msg);
		snprintf(msg, sizeof(msg), "and back %d\n", way);
		ok &= fact_echo(way ? a : b, msg);
		close(a);
		close(b);
	}
	return ok;
}

/* Pointers the kernel rejects with EFAULT, on a socket the shim tracks. */
#define EXPECT_EFAULT(name, call) \
	do { \
		r = (call); \
		printf("%s=%s\n", name, res(r)); \
		ok &= r < 0 && errno == EFAULT; \
	} while (0)

/*
 * Pointers past the first page: into a page that is gone, into a
 * PROT_NONE one, and an AF_INET address whose family is readable but
 * whose rest runs into a PROT_NONE page. Each gives EFAULT. Beside them,
 * the same page boundary used rightly: a whole sockaddr_in that ends
 * where the readable page ends is proxied, and a 3-byte AF_UNIX address
 * there gets what the kernel says (asked by a raw system call, which
 * the shim cannot see).
 */
static int check_wild(int l)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gone = m + 2 * pg, *none = m + pg, *edge;
	struct sockaddr_un *un;
	int ok = 1, r, kernel, fd, u;

	if (m == MAP_FAILED || munmap(gone, pg) || mprotect(none, pg, PROT_NONE))
		return printf("mmap=%s\n", ename(errno)), 0;
	EXPECT_EFAULT("connect-unmapped", connect(l, (void *)gone, 16));
	EXPECT_EFAULT("bind-unmapped", bind(l, (void *)gone, 16));
	EXPECT_EFAULT("connect-protnone", connect(l, (void *)none, 16));
	EXPECT_EFAULT("bind-protnone", bind(l, (void *)none, 16));
	edge = none - 2;
	memcpy(edge, &(sa_family_t){AF_INET}, 2);
	EXPECT_EFAULT("connect-straddle", connect(l, (void *)edge, 16));
	EXPECT_EFAULT("bind-straddle", bind(l, (void *)edge, 16));

	edge = none - sizeof(dst);
	memcpy(edge, &dst, sizeof(dst));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	r = connect(fd, (void *)edge, sizeof(dst));
	printf("connect-edge=%s\n", res(r));
	ok &= r == 0 && fact_echo(fd, "edge");
	close(fd);

	un = (struct sockaddr_un *)(none - 3);
	un->sun_family = AF_UNIX;
	un->sun_path[0] = 'x';
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	kernel = syscall(SYS_connect, u, un, 3) < 0 ? errno : 0;
	r = connect(u, (void *)un, 3);
	printf("connect-unix-edge=%s kernel=%s\n", res(r), ename(kernel));
	ok &= (r < 0 ? errno : 0) == kernel && kernel != EFAULT;
	close(u);
	munmap(m, 2 * pg);
	return ok;
}

static int check_efault(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), l = socket(AF_INET, SOCK_STREAM, 0), ok = 1;
	struct sockaddr_in a;
	int r;

	if (connect(fd, (void *)&dst, sizeof(dst)) < 0)
		return printf("control=%s\n", ename(errno)), 0;
	EXPECT_EFAULT("connect", connect(l, (void *)8, 16));
	EXPECT_EFAULT("bind", bind(l, (void *)8, 16));
	ok &= check_wild(l);
	EXPECT_EFAULT("getsockname", getsockname(fd, (void *)&a, (socklen_t *)8));
	EXPECT_EFAULT("getpeername", getpeername(fd, (void *)&a, (socklen_t *)8));
	EXPECT_EFAULT("sendmsg", (int)sendmsg(l, (void *)8, MSG_FASTOPEN));
	EXPECT_EFAULT("sendto", (int)sendto(l, "x", 1, MSG_FASTOPEN, (void *)8, 16));
	return ok;
}

static int line_from(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (got + 1 < cap && poll(&p, 1, 10000) == 1) {
		ssize_t n = recv(fd, buf + got, 1, 0);
		if (n <= 0)
			break;
		if (buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = 0;
	return (int)got;
}

/* A BIND through the proxy to callback.py at HOST:PORT: control
 * connection, listener, CALL. Returns the listener; *ctl the control. */
static int bind_call(int *ctl, struct sockaddr_in *adv)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	socklen_t len = sizeof(*adv);
	char cmd[128], ip[INET_ADDRSTRLEN];
	int lfd;

	*ctl = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*ctl, (void *)&dst, sizeof(dst)) < 0)
		return printf("control=%s\n", ename(errno)), -1;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (void *)&any, sizeof(any)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (void *)adv, &len) < 0)
		return printf("listen=%s\n", ename(errno)), -1;
	inet_ntop(AF_INET, &adv->sin_addr, ip, sizeof(ip));
	snprintf(cmd, sizeof(cmd), "CALL %s %u\n", ip, ntohs(adv->sin_port));
	send(*ctl, cmd, strlen(cmd), MSG_NOSIGNAL);
	return lfd;
}

/* The data connection's exchange with callback.py, then EOF seen by it. */
static int data_ok(int ctl, int dfd)
{
	char line[128];

	line_from(dfd, line, sizeof(line));
	if (strcmp(line, "hello from the application server"))
		return printf("data=%s\n", line), 0;
	send(dfd, "pong\n", 5, MSG_NOSIGNAL);
	line_from(ctl, line, sizeof(line));
	printf("data=%s\n", line);
	return !strcmp(line, "GOT pong");
}

/* accept() with one descriptor left: EMFILE, nothing lost; then with
 * room again it delivers. */
static int check_emfile(void)
{
	struct sockaddr_in adv;
	struct rlimit rl;
	int ctl, lfd = bind_call(&ctl, &adv), spare[4096], n = 0, c, ok;

	if (lfd < 0)
		return 0;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 256;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (n < 4096 && (spare[n] = dup(0)) >= 0)
		n++;
	close(spare[--n]); /* exactly one left */
	usleep(300 * 1000);  /* the call back is in */
	c = accept(lfd, NULL, NULL);
	printf("tight=%s\n", c >= 0 ? "fd" : ename(errno));
	ok = c < 0 && (errno == EMFILE || errno == ENFILE);
	while (n > 0)
		close(spare[--n]);
	c = accept(lfd, NULL, NULL);
	printf("room=%s\n", c >= 0 ? "fd" : ename(errno));
	return ok && c >= 0 && data_ok(ctl, c);
}

/* The real local port of socket fd, from the kernel's table (the shim
 * reports the proxy's address for a BIND listener). 0 when not found. */
static int real_port(int fd)
{
	struct stat st;
	char line[512];
	FILE *f = fopen("/proc/net/tcp", "r");
	unsigned port = 0;

	if (!f || fstat(fd, &st) < 0)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned lport;
		unsigned long ino;
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*d %*d %lu",
			   &lport, &ino) == 2 && ino == (unsigned long)st.st_ino)
			port = lport;
	}
	fclose(f);
	return (int)port;
}

/* After the hand-over, the listener's number holds a listener nobody can
 * reach: a local connect to it never completes and it never turns
 * readable. */
static int check_quiet(void)
{
	struct sockaddr_in adv, q = {.sin_family = AF_INET};
	struct pollfd p;
	int ctl, lfd = bind_call(&ctl, &adv), c, probe, r, ready, port;

	if (lfd < 0 || (c = accept(lfd, NULL, NULL)) < 0)
		return printf("accept=%s\n", ename(errno)), 0;
	if (!data_ok(ctl, c))
		return 0;
	port = real_port(lfd);
	printf("quiet_port=%s\n", port ? "found" : "none");
	q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	q.sin_port = htons((uint16_t)port);
	probe = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(probe, (void *)&q, sizeof(q));
	p = (struct pollfd){.fd = probe, .events = POLLOUT};
	ready = poll(&p, 1, 1000);
	printf("probe=%s\n", port && (r == 0 || (ready == 1 && !(p.revents & (POLLERR | POLLHUP))))
				     ? "connected" : "never");
	p = (struct pollfd){.fd = lfd, .events = POLLIN};
	ready = poll(&p, 1, 300);
	printf("listener=%s\n", ready == 0 ? "quiet" : "readable");
	return port && ready == 0;
}

/* Two threads asking SO_ERROR of one non-blocking exchange, a third
 * connecting it again: one request goes out, the connection works. */
static int race_fd;
static void *race_thread(void *arg)
{
	int err;
	socklen_t len = sizeof(err);

	for (int i = 0; i < 2000; i++) {
		if (arg)
			connect(race_fd, (void *)&dst, sizeof(dst));
		else
			getsockopt(race_fd, SOL_SOCKET, SO_ERROR, &err, &len);
	}
	return NULL;
}

static int check_race(void)
{
	pthread_t t[3];
	int r;

	race_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(race_fd, (void *)&dst, sizeof(dst));
	printf("connect=%s\n", res(r));
	pthread_create(&t[0], NULL, race_thread, NULL);
	pthread_create(&t[1], NULL, race_thread, NULL);
	pthread_create(&t[2], NULL, race_thread, (void *)1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	fcntl(race_fd, F_SETFL, 0);
	return fact_echo(race_fd, "one request only\n");
}

/* fork() while other threads are inside the shim: every child can still
 * make a proxied connection, none hangs. */
static volatile int stop;
static void *busy(void *arg)
{
	(void)arg;
	while (!stop) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		connect(fd, (void *)&dst, sizeof(dst));
		close(fd);
		usleep(1000); /* enough to keep the shim busy, not the servers */
	}
	return NULL;
}

static int check_forklock(void)
{
	pthread_t t[2];
	int hung = 0, bad = 0;

	pthread_create(&t[0], NULL, busy, NULL);
	pthread_create(&t[1], NULL, busy, NULL);
	for (int i = 0; i < 40; i++) {
		pid_t pid = fork();
		int status = 0, waited = 0;

		if (pid == 0) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			alarm(10);
			_exit(connect(fd, (void *)&dst, sizeof(dst)) == 0 && echo_ok(fd, "child\n") ? 0 : 3);
		}
		while (waitpid(pid, &status, WNOHANG) == 0 && waited++ < 1000)
			usleep(10 * 1000);
		if (waited > 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			hung++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			bad++;
		}
	}
	stop = 1;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	printf("children_hung=%d\nchildren_failed=%d\n", hung, bad);
	return !hung && !bad;
}

/* errno is what the program had after every call that succeeds on a
 * tracked socket. */
static int check_errno(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 1, n;
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (connect(fd, (void *)&dst, sizeof(dst)) < 0)
		return printf("control=%s\n", ename(errno)), 0;
#define KEEPS(name, call) \
	do { \
		errno = EILSEQ; \
		n = (call); \
		printf("%s=%s\n", name, n >= 0 && errno == EILSEQ ? "kept" : "changed"); \
		ok &= n >= 0 && errno == EILSEQ; \
	} while (0)
	KEEPS("dup", dup(fd));
	KEEPS("dup2", dup2(fd, 100));
	KEEPS("dup3", dup3(fd, 101, O_CLOEXEC));
	KEEPS("fcntl_dupfd", fcntl(fd, F_DUPFD_CLOEXEC, 0));
	KEEPS("getsockname", getsockname(fd, (void *)&a, &len));
	KEEPS("getpeername", getpeername(fd, (void *)&a, &len));
	KEEPS("connect_again", connect(fd, (void *)&dst, sizeof(dst)) < 0 && errno == EISCONN ? (errno = EILSEQ, 0) : -1);
	return ok;
}

/* Reading before asking for the connect's outcome (issue 13 item 11):
 * HOST:PORT speaks first, one line. "poll": a non-blocking connect, poll
 * for POLLIN, read, never SO_ERROR. "blocking": a non-blocking connect,
 * fcntl() back to blocking, select() for writability, then one byte at
 * a time. "write" ("pwritev2": the same through pwritev2 at offset -1):
 * a non-blocking connect and a write at once, retried on EAGAIN
 * (HOST:PORT an echo server). "read_chk", "recv_chk", "recvfrom_chk",
 * "recvmmsg", "preadv2", "preadv64v2" (offset -1): the socket stays non-blocking, poll
 * for POLLIN, then that call reads a byte at a time. What is read must
 * be the server's, never the SOCKS reply. */
/* _FORTIFY_SOURCE's checked reads, called as a fortified build calls
 * them when it reads into a buffer of known size. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);

static ssize_t read_as(const char *how, int fd, char *buf, size_t cap)
{
	if (!strcmp(how, "read_chk"))
		return __read_chk(fd, buf, 1, cap);
	if (!strcmp(how, "recv_chk"))
		return __recv_chk(fd, buf, 1, cap, 0);
	if (!strcmp(how, "recvfrom_chk"))
		return __recvfrom_chk(fd, buf, 1, cap, 0, NULL, NULL);
	if (!strcmp(how, "recvmmsg")) {
		struct iovec iov = {buf, 1};
		struct mmsghdr m = {.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
		int r = recvmmsg(fd, &m, 1, 0, NULL);

		return r == 1 ? (ssize_t)m.msg_len : r;
	}
	if (!strcmp(how, "preadv2")) {
		struct iovec iov = {buf, 1};

		return preadv2(fd, &iov, 1, -1, 0); /* -1: at the file position, as readv */
	}
	if (!strcmp(how, "preadv64v2")) { /* what _FILE_OFFSET_BITS=64 calls */
		struct iovec iov = {buf, 1};

		return preadv64v2(fd, &iov, 1, -1, 0);
	}
	return read(fd, buf, 1);
}

/* The reads that check_early() drives on a non-blocking socket. */
static int read_early(const char *how)
{
	return strstr(how, "_chk") || !strcmp(how, "recvmmsg") || !strncmp(how, "preadv", 6);
}

static int check_early(const char *how)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), r, tries = 0;
	char line[128];
	size_t got = 0;
	ssize_t n;

	r = connect(fd, (void *)&dst, sizeof(dst));
	printf("connect=%s\n", res(r));
	if (!strcmp(how, "write") || !strcmp(how, "pwritev2")) {
		struct iovec iov = {"early bird\n", 11};

		while ((n = how[0] == 'w' ? write(fd, "early bird\n", 11) : pwritev2(fd, &iov, 1, -1, 0)) < 0 &&
		       errno == EAGAIN && tries++ < 1000)
			usleep(10 * 1000);
		printf("write=%s\n", n == 11 ? "11" : ename(errno));
		fcntl(fd, F_SETFL, 0);
	} else if (!strcmp(how, "poll")) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 5000);
		fcntl(fd, F_SETFL, 0); /* then reads as a blocking socket would */
	} else if (read_early(how)) {
		/* stays non-blocking: the checked read is the first data call */
		struct pollfd p = {.fd = fd, .events = POLLIN};

		while (got + 1 < sizeof(line) && tries++ < 1000 && poll(&p, 1, 5000) == 1) {
			n = read_as(how, fd, line + got, sizeof(line) - got);
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n != 1 || line[got] == '\n')
				break;
			got++;
		}
		line[got] = 0;
		printf("line=%s\n", line);
		return !strncmp(line, "hello", 5);
	} else {
		fd_set w;
		struct timeval tv = {5, 0};
		fcntl(fd, F_SETFL, 0);
		FD_ZERO(&w);
		FD_SET(fd, &w);
		select(fd + 1, NULL, &w, NULL, &tv);
	}
	while (got + 1 < sizeof(line) && (n = read(fd, line + got, 1)) == 1 && line[got] != '\n')
		got++;
	line[got] = 0;
	printf("line=%s\n", line);
	return strstr(how, "write") ? !strcmp(line, "early bird") : !strncmp(line, "hello", 5);
}

/* A daemon closes standard error and its next open() takes number 2:
 * the shim's lines must not land in that file. ARG: the file. */
static int check_logfd(const char *path)
{
	char buf[4096];
	int fd, n;

	close(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	printf("reused=%s\n", fd == 2 ? "yes" : "no");
	/* a refused CONNECT: a line the shim always writes */
	n = socket(AF_INET, SOCK_STREAM, 0);
	connect(n, (void *)&dst, sizeof(dst));
	lseek(fd, 0, SEEK_SET);
	n = (int)read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("file=%s\n", strstr(buf, "socks4wrap:") ? "has our line" : "clean");
	return fd == 2 && !strstr(buf, "socks4wrap:");
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 4 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: s4corner CHECK HOST PORT [ARG]\n");
		return 2;
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	alarm(60);
	if (!strcmp(c, "in6short")) return !check_in6short();
	if (!strcmp(c, "in6lo")) return !check_in6lo();
	if (!strcmp(c, "mmsg")) return !check_mmsg();
	if (!strcmp(c, "zero")) return !check_zero();
	if (!strcmp(c, "bindlo")) return !check_bindlo();
	if (!strcmp(c, "unspec")) return !check_unspec();
	if (!strcmp(c, "retry") && argc > 4) return !check_retry(atoi(argv[4]));
	if (!strcmp(c, "dupmid")) return !check_dupmid();
	if (!strcmp(c, "efault")) return !check_efault();
	if (!strcmp(c, "emfile")) return !check_emfile();
	if (!strcmp(c, "quiet")) return !check_quiet();
	if (!strcmp(c, "race")) return !check_race();
	if (!strcmp(c, "forklock")) return !check_forklock();
	if (!strcmp(c, "errno")) return !check_errno();
	if (!strcmp(c, "logfd") && argc > 4) return !check_logfd(argv[4]);
	if (!strcmp(c, "early") && argc > 4) return !check_early(argv[4]);
	fprintf(stderr, "s4corner: unknown check '%s'\n", c);
	return 2;
}
