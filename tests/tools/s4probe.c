/*
 * s4probe.c - a small client that exercises, under socks4wrap, the socket
 * sequences real programs use, and says exactly what it saw.
 *
 *   s4probe connect HOST PORT [-n] [-t MS] [-s TEXT] [-e TEXT]
 *	Connects (with -n: non-blocking, poll for POLLOUT for up to MS,
 *	then SO_ERROR, the "connect with timeout" idiom), optionally sends
 *	TEXT and expects TEXT' back, prints the peer and local names.
 *
 *   s4probe ftp HOST PORT PATH -o OUT [-u UP] [-p PATTERN] [-E] [-4]
 *		  [-n] [-t MS]
 *	A minimal active-mode FTP client: logs in anonymously, with -u
 *	stores UP as PATH, then retrieves PATH into OUT, each data
 *	connection opened with the listening-socket PATTERN:
 *	  textbook      socket, bind(INADDR_ANY:0), listen, getsockname
 *	  name-first    bind, getsockname, then listen (port read early)
 *	  control-addr  bind to getsockname() of the control connection,
 *	                listen, then advertise the control connection's
 *	                getsockname() read again (Perl's Net::FTP)
 *	  unbound       no bind at all: listen() picks the address
 *	  timed-accept  non-blocking listener, poll() with a timeout
 *	  epoll         non-blocking listener in a level-triggered epoll
 *	  epoll-et      the same, edge-triggered, accept until EAGAIN
 *	-E sends EPRT instead of PORT; -4 uses accept4(SOCK_CLOEXEC |
 *	SOCK_NONBLOCK); -n / -t as for connect, for the control connection.
 *	Fails if any descriptor is left open at the end.
 *
 *   s4probe bind HOST PORT [-p PATTERN] [-4] [-t MS] [-S SRC] [-W]
 *	The raw BIND sequence with an application server that calls back
 *	(tests/helpers/callback.py at HOST:PORT): connect to it, open a
 *	listener with PATTERN, send it "CALL ADDR PORT [SRC]" (-S: the call
 *	comes from source address SRC; -W: send "WAIT", no call comes),
 *	accept, then data both ways: its greeting in, "pong" out, and its
 *	"GOT pong" on the primary connection. -2 tries a second accept on
 *	the listener (it must fail, not hang); -C closes the listener
 *	without accepting.
 *
 *	-O HOST2:PORT2: after the primary connection another thread
 *	connects to HOST2:PORT2 (the newest connection, not this thread's)
 *	and holds it until the end.
 *
 *   s4probe listen-local HOST PORT ADDR
 *	Connects to HOST:PORT (so that a BIND would have an application
 *	server), then bind(ADDR:0), listen(), getsockname(): prints the
 *	listener's name as "listen: ADDR:PORT".
 *
 *   s4probe name-then-connect HOST PORT
 *	Connects to HOST:PORT (an echo server), then on a second socket
 *	bind(0), getsockname() (which starts a BIND), and connect() that
 *	socket to HOST:PORT instead: the BIND must be dropped without a
 *	trace and the connection must echo.
 *
 * Output lines are "WHAT: ..." so tests can grep them; exit 0 on success.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int timeout_ms = 10000;
static bool nonblocking;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static const char *name_of(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s:%u", host, port);
	return buf;
}

static const char *sock_name(int fd, bool peer, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if ((peer ? getpeername(fd, (void *)&ss, &sl) : getsockname(fd, (void *)&ss, &sl)) < 0) {
		snprintf(buf, len, "error %s", strerrorname_np(errno));
		return buf;
	}
	return name_of(&ss, buf, len);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

static struct sockaddr_in resolve(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	struct sockaddr_in in;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("resolve: error %s:%s", host, port);
	memcpy(&in, res->ai_addr, sizeof(in));
	freeaddrinfo(res);
	return in;
}

/* connect(), blocking or the non-blocking poll + SO_ERROR idiom. */
static int dial(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
	char a[64], b[64];

	if (fd < 0)
		die("socket: error %s", strerrorname_np(errno));
	if (connect(fd, (const void *)to, sizeof(*to)) < 0) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int err = errno, n;
		socklen_t el = sizeof(err);

		if (!nonblocking || err != EINPROGRESS)
			die("connect: error %s (%s)", strerrorname_np(err), strerror(err));
		n = poll(&p, 1, timeout_ms);
		if (n < 0)
			die("connect: poll error %s", strerrorname_np(errno));
		if (n == 0)
			die("connect: error timed out after %d ms", timeout_ms);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			die("connect: getsockopt error %s", strerrorname_np(errno));
		if (err)
			die("connect: error %s (%s)", strerrorname_np(err), strerror(err));
	}
	/* A non-blocking connect may also succeed at once (the syscall
	 * mode's does): either way the rest of the run blocks. */
	if (nonblocking)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	printf("connect: ok peer=%s name=%s\n", sock_name(fd, true, a, sizeof(a)),
	       sock_name(fd, false, b, sizeof(b)));
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: error %s", strerrorname_np(errno));
		p += n;
		len -= (size_t)n;
	}
}

static int cmd_connect(int argc, char **argv)
{
	const char *send_text = NULL, *expect = NULL;
	struct sockaddr_in to;
	int fd, c;

	while ((c = getopt(argc, argv, "nt:s:e:")) != -1) {
		switch (c) {
		case 'n': nonblocking = true; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 's': send_text = optarg; break;
		case 'e': expect = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 2)
		die("usage: s4probe connect HOST PORT [-n] [-t MS] [-s TEXT] [-e TEXT]");
	to = resolve(argv[optind], argv[optind + 1]);
	fd = dial(&to);
	if (send_text)
		write_all(fd, send_text, strlen(send_text));
	if (expect) {
		char buf[4096];
		size_t got = 0, want = strlen(expect);
		while (got < want && got < sizeof(buf)) {
			ssize_t n = read(fd, buf + got, sizeof(buf) - got);
			if (n <= 0)
				die("read: error after %zu bytes", got);
			got += (size_t)n;
		}
		if (got != want || memcmp(buf, expect, want))
			die("read: error got '%.*s'", (int)got, buf);
		printf("read: ok '%s'\n", expect);
	}
	close(fd);
	return 0;
}

/* --- FTP ---------------------------------------------------------------- */

struct ftp {
	int ctl;
	int ep; /* epoll patterns: the set the listener stays in */
	FILE *in;
	const char *pattern;
	bool eprt, use_accept4;
};

/* Reads one (possibly multi-line) reply; returns its code. */
static int ftp_reply(struct ftp *f)
{
	char line[1024];
	int code;

	if (!fgets(line, sizeof(line), f->in))
		die("ftp: error control connection closed");
	code = atoi(line);
	if (line[3] == '-') {
		char end[5];
		snprintf(end, sizeof(end), "%d ", code);
		while (fgets(line, sizeof(line), f->in) && strncmp(line, end, 4))
			;
	}
	return code;
}

static int ftp_cmd(struct ftp *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int ftp_cmd(struct ftp *f, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	memcpy(buf + n, "\r\n", 2);
	write_all(f->ctl, buf, (size_t)n + 2);
	return ftp_reply(f);
}

static void expect_code(int got, int want_class, const char *what)
{
	if (got / 100 != want_class)
		die("ftp: error %s answered %d", what, got);
}

static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		die("accept: poll error %s", strerrorname_np(errno));
	return n;
}

/* Opens the data listener the way PATTERN says; returns it, with the
 * address to advertise in *adv. */
static int data_listener(struct ftp *f, struct sockaddr_in *adv)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *p = f->pattern;
	bool nb = !strcmp(p, "timed-accept") || !strncmp(p, "epoll", 5);
	int fd = socket(AF_INET, SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket: error %s", strerrorname_np(errno));
	if (!strcmp(p, "control-addr")) {
		if (getsockname(f->ctl, (void *)&any, &(socklen_t){sizeof(any)}) < 0)
			die("getsockname(control): error %s", strerrorname_np(errno));
		any.sin_port = 0;
	}
	if (strcmp(p, "unbound") && bind(fd, (void *)&any, sizeof(any)) < 0)
		die("bind: error %s", strerrorname_np(errno));
	if (!strcmp(p, "name-first") && getsockname(fd, (void *)&ss, &sl) < 0)
		die("getsockname: error %s", strerrorname_np(errno));
	if (listen(fd, 1) < 0)
		die("listen: error %s (%s)", strerrorname_np(errno), strerror(errno));
	sl = sizeof(ss);
	if (getsockname(fd, (void *)&ss, &sl) < 0)
		die("getsockname: error %s", strerrorname_np(errno));
	memcpy(adv, &ss, sizeof(*adv));
	if (!strcmp(p, "control-addr")) { /* the host from the control connection */
		struct sockaddr_in ctl;
		if (getsockname(f->ctl, (void *)&ctl, &(socklen_t){sizeof(ctl)}) < 0)
			die("getsockname(control): error %s", strerrorname_np(errno));
		adv->sin_addr = ctl.sin_addr;
	}
	return fd;
}

static int do_accept(struct ftp *f, int lfd)
{
	int flags = f->use_accept4 ? SOCK_CLOEXEC | SOCK_NONBLOCK : 0;
	const char *p = f->pattern;
	int fd = -1;

	if (!strcmp(p, "timed-accept")) {
		if (wait_readable(lfd) == 0)
			die("accept: error no connection within %d ms", timeout_ms);
	} else if (!strncmp(p, "epoll", 5)) {
		int ep = f->ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN | (strcmp(p, "epoll-et") ? 0 : EPOLLET)};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
			die("epoll_ctl: error %s", strerrorname_np(errno));
		for (int rounds = 0; fd < 0 && rounds < 100; rounds++) {
			struct epoll_event got;
			int n = epoll_wait(ep, &got, 1, timeout_ms);
			if (n == 0)
				die("accept: error no event within %d ms", timeout_ms);
			if (n < 0 && errno != EINTR)
				die("accept: epoll_wait error %s", strerrorname_np(errno));
			/* edge-triggered: drain until EAGAIN, as such loops do */
			for (;;) {
				int c = f->use_accept4 ? accept4(lfd, NULL, NULL, flags) : accept(lfd, NULL, NULL);
				if (c < 0 && errno == EAGAIN)
					break;
				if (c < 0)
					die("accept: error %s (%s)", strerrorname_np(errno), strerror(errno));
				if (fd >= 0)
					die("accept: error a second connection on one BIND");
				fd = c;
			}
		}
		if (fd < 0)
			die("accept: error no connection");
		goto got;
	}
	fd = f->use_accept4 ? accept4(lfd, NULL, NULL, flags) : accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: error %s (%s)", strerrorname_np(errno), strerror(errno));
got:
	if (f->use_accept4) {
		if (!(fcntl(fd, F_GETFL) & O_NONBLOCK) || !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			die("accept: error accept4 flags not applied");
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	} else if (fcntl(fd, F_GETFL) & O_NONBLOCK) {
		die("accept: error accepted socket is non-blocking without SOCK_NONBLOCK");
	}
	{
		char a[64], b[64];
		printf("accept: ok peer=%s name=%s\n", sock_name(fd, true, a, sizeof(a)),
		       sock_name(fd, false, b, sizeof(b)));
	}
	return fd;
}

/* One transfer over an active-mode data connection. */
static void transfer(struct ftp *f, const char *verb, const char *path, int file, bool upload)
{
	struct sockaddr_in adv;
	char host[INET_ADDRSTRLEN], buf[65536];
	int lfd = data_listener(f, &adv), dfd, code;
	unsigned port = ntohs(adv.sin_port);
	size_t total = 0;

	inet_ntop(AF_INET, &adv.sin_addr, host, sizeof(host));
	printf("listen: %s:%u\n", host, port);
	if (f->eprt) {
		code = ftp_cmd(f, "EPRT |1|%s|%u|", host, port);
	} else {
		unsigned char *a = (unsigned char *)&adv.sin_addr;
		code = ftp_cmd(f, "PORT %u,%u,%u,%u,%u,%u", a[0], a[1], a[2], a[3],
			       port >> 8, port & 255);
	}
	expect_code(code, 2, f->eprt ? "EPRT" : "PORT");
	expect_code(ftp_cmd(f, "%s %s", verb, path), 1, verb);
	dfd = do_accept(f, lfd);
	if (f->ep >= 0) {
		/* The listener stays registered, as in event loops that keep it:
		 * it must not wake for the accepted connection's bytes. */
		struct epoll_event got;
		if (epoll_wait(f->ep, &got, 1, 100) > 0)
			die("epoll: error listener readable after its one connection was accepted");
		close(f->ep);
		f->ep = -1;
	}
	close(lfd);
	for (;;) {
		ssize_t n = read(upload ? file : dfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read error %s", verb, strerrorname_np(errno));
		if (n == 0)
			break;
		write_all(upload ? dfd : file, buf, (size_t)n);
		total += (size_t)n;
	}
	close(dfd);
	expect_code(ftp_reply(f), 2, verb);
	printf("%s: ok %zu bytes\n", verb, total);
}

static int cmd_ftp(int argc, char **argv)
{
	struct ftp f = {.pattern = "textbook", .ep = -1};
	const char *out = NULL, *up = NULL;
	struct sockaddr_in to;
	int c, before, after, file;

	while ((c = getopt(argc, argv, "o:u:p:E4nt:")) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'u': up = optarg; break;
		case 'p': f.pattern = optarg; break;
		case 'E': f.eprt = true; break;
		case '4': f.use_accept4 = true; break;
		case 'n': nonblocking = true; break;
		case 't': timeout_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 3 || !out)
		die("usage: s4probe ftp HOST PORT PATH -o OUT [-u UP] [-p PATTERN] [-E] [-4] [-n] [-t MS]");
	to = resolve(argv[optind], argv[optind + 1]);
	before = count_fds();
	f.ctl = dial(&to);
	if (!(f.in = fdopen(dup(f.ctl), "r")))
		die("fdopen: error");
	expect_code(ftp_reply(&f), 2, "greeting");
	c = ftp_cmd(&f, "USER anonymous");
	if (c / 100 == 3)
		c = ftp_cmd(&f, "PASS s4probe@");
	expect_code(c, 2, "login");
	expect_code(ftp_cmd(&f, "TYPE I"), 2, "TYPE");
	if (up) {
		if ((file = open(up, O_RDONLY | O_CLOEXEC)) < 0)
			die("open %s: error %s", up, strerror(errno));
		transfer(&f, "STOR", argv[optind + 2], file, true);
		close(file);
	}
	if ((file = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		die("open %s: error %s", out, strerror(errno));
	transfer(&f, "RETR", argv[optind + 2], file, false);
	close(file);
	ftp_cmd(&f, "QUIT");
	fclose(f.in);
	close(f.ctl);
	after = count_fds();
	printf("fds: before=%d after=%d\n", before, after);
	if (before != after)
		die("fds: error %d descriptors leaked", after - before);
	return 0;
}

/* One line from fd, bounded, without buffering past it. */
static const char *read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	return buf;
}

/* -O: another thread's connection, made after the primary one. */
static struct sockaddr_in other_to;
static int other_fd = -1;

static void *other_dial(void *unused)
{
	(void)unused;
	other_fd = dial(&other_to);
	return NULL;
}

static int cmd_bind(int argc, char **argv)
{
	struct ftp f = {.pattern = "textbook", .ep = -1};
	const char *src = NULL;
	bool wait_only = false;
	struct sockaddr_in to, adv;
	char host[INET_ADDRSTRLEN], line[256], cmd[128];
	int c, before, lfd, dfd;

	bool twice = false, close_early = false;
	char *other = NULL;
	pthread_t t;

	while ((c = getopt(argc, argv, "p:4t:S:W2CO:")) != -1) {
		switch (c) {
		case 'O': other = optarg; break;
		case '2': twice = true; break;
		case 'C': close_early = true; break;
		case 'p': f.pattern = optarg; break;
		case '4': f.use_accept4 = true; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'S': src = optarg; break;
		case 'W': wait_only = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 2)
		die("usage: s4probe bind HOST PORT [-p PATTERN] [-4] [-t MS] [-S SRC] [-W] [-2] [-C] "
		    "[-O HOST2:PORT2]");
	to = resolve(argv[optind], argv[optind + 1]);
	before = count_fds();
	f.ctl = dial(&to);
	if (other) {
		char *colon = strrchr(other, ':');
		if (!colon)
			die("usage: -O HOST2:PORT2");
		*colon = '\0';
		other_to = resolve(other, colon + 1);
		if (pthread_create(&t, NULL, other_dial, NULL) || pthread_join(t, NULL))
			die("thread: error");
	}
	lfd = data_listener(&f, &adv);
	inet_ntop(AF_INET, &adv.sin_addr, host, sizeof(host));
	printf("listen: %s:%u\n", host, ntohs(adv.sin_port));
	if (wait_only)
		snprintf(cmd, sizeof(cmd), "WAIT\n");
	else
		snprintf(cmd, sizeof(cmd), "CALL %s %u%s%s\n", host, ntohs(adv.sin_port),
			 src ? " " : "", src ? src : "");
	write_all(f.ctl, cmd, strlen(cmd));
	if (close_early) { /* give up before accept: nothing may linger */
		close(lfd);
		close(f.ctl);
		if (count_fds() != before)
			die("fds: error %d descriptors leaked", count_fds() - before);
		printf("closed: ok\n");
		return 0;
	}
	dfd = do_accept(&f, lfd);
	if (f.ep >= 0)
		close(f.ep);
	if (twice) { /* SOCKS4 BIND delivers one connection: no hang */
		int again = accept(lfd, NULL, NULL);
		if (again >= 0)
			die("accept2: error a second connection");
		printf("accept2: %s\n", strerrorname_np(errno));
	}
	close(lfd);
	if (strcmp(read_line(dfd, line, sizeof(line)), "hello from the application server"))
		die("data: error got '%s' from the application server", line);
	write_all(dfd, "pong\n", 5);
	if (strcmp(read_line(f.ctl, line, sizeof(line)), "GOT pong"))
		die("data: error the application server said '%s'", line);
	printf("data: ok both ways\n");
	close(dfd);
	close(f.ctl);
	if (other_fd >= 0)
		close(other_fd);
	if (count_fds() != before)
		die("fds: error %d descriptors leaked", count_fds() - before);
	printf("fds: ok\n");
	return 0;
}

static int cmd_listen_local(int argc, char **argv)
{
	struct sockaddr_in to, at = {.sin_family = AF_INET};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[64];
	int primary, fd;

	if (argc != 4 || inet_pton(AF_INET, argv[3], &at.sin_addr) != 1)
		die("usage: s4probe listen-local HOST PORT ADDR");
	to = resolve(argv[1], argv[2]);
	primary = dial(&to);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket: error %s", strerrorname_np(errno));
	if (bind(fd, (void *)&at, sizeof(at)) < 0)
		die("bind: error %s", strerrorname_np(errno));
	if (listen(fd, 1) < 0)
		die("listen: error %s", strerrorname_np(errno));
	if (getsockname(fd, (void *)&ss, &sl) < 0)
		die("getsockname: error %s", strerrorname_np(errno));
	printf("listen: %s\n", name_of(&ss, a, sizeof(a)));
	close(fd);
	close(primary);
	return 0;
}

static int cmd_name_then_connect(int argc, char **argv)
{
	struct sockaddr_in any = {.sin_family = AF_INET}, to;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[64], b[64];
	int before, primary, fd;

	if (argc != 3)
		die("usage: s4probe name-then-connect HOST PORT");
	to = resolve(argv[1], argv[2]);
	before = count_fds();
	primary = dial(&to); /* so that a BIND has an application server */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fd, (void *)&any, sizeof(any)) < 0)
		die("bind: error %s", strerrorname_np(errno));
	if (getsockname(fd, (void *)&ss, &sl) < 0)
		die("getsockname: error %s", strerrorname_np(errno));
	printf("name: %s\n", name_of(&ss, a, sizeof(a)));
	if (connect(fd, (void *)&to, sizeof(to)) < 0)
		die("connect: error %s (%s)", strerrorname_np(errno), strerror(errno));
	printf("connect: ok peer=%s name=%s\n", sock_name(fd, true, a, sizeof(a)),
	       sock_name(fd, false, b, sizeof(b)));
	write_all(fd, "ping\n", 5);
	if (read(fd, a, 5) != 5 || memcmp(a, "ping\n", 5))
		die("read: error no echo");
	printf("read: ok 'ping'\n");
	close(fd);
	close(primary);
	if (count_fds() != before)
		die("fds: error %d descriptors leaked", count_fds() - before);
	printf("fds: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "connect"))
		return cmd_connect(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "ftp"))
		return cmd_ftp(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "bind"))
		return cmd_bind(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "name-then-connect"))
		return cmd_name_then_connect(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "listen-local"))
		return cmd_listen_local(argc - 1, argv + 1);
	fprintf(stderr, "usage: s4probe connect|ftp|bind|name-then-connect|listen-local ...\n");
	return 2;
}
