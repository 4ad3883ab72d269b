/*
 * s4bench.c - the clients and servers `make bench` (scripts/bench) times.
 *
 *   s4bench echo  [-l ADDR] [-p FILE]           echo server (one thread, epoll)
 *   s4bench sink  [-l ADDR] [-p FILE]           bulk sink, one transfer at a time
 *   s4bench conn  [-n N] [-s SOCKS] ADDR:PORT   N x (connect, 32 bytes each way, close)
 *   s4bench bulk  [-b BYTES] [-s SOCKS] ADDR:PORT   one long transfer to a sink
 *   s4bench hold  [-n N] [-s SOCKS] [-p FILE] ADDR:PORT
 *                                               N connections to an echo server,
 *                                               held open until SIGTERM
 *   s4bench bind  [-n N] -s SOCKS               N BIND round trips
 *   s4bench calls unix|tcp|getsockname|rw [-n N]   calls a shim should not proxy
 *   s4bench port  [ADDR]                        print a port free now on ADDR
 *
 * -s SOCKS (ADDR:PORT) makes the client speak SOCKS4 itself: the "raw
 * client" that a shim's figures are compared with. Without it the client
 * calls connect() on the destination, which a preloaded shim proxies.
 * -p FILE gets the server's port (or, for hold, "ready") once it is set.
 * Servers listen on 127.0.0.1 unless -l says otherwise and run until
 * SIGTERM. Every client prints one line of key=value pairs and exits 1 on
 * the first failure, saying what failed.
 *
 * The sink's protocol: the client sends an 8-byte big-endian length, then
 * that many bytes; the sink answers with the same 8 bytes once it has read
 * them all, so the client's clock stops when the last byte has arrived.
 *
 * The raw client links the shim's SOCKS4 codec, so it builds and parses
 * exactly what the shim does.
 */
#include "socks4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQ_LEN 32		   /* conn: the request, echoed back */
#define BULK_CHUNK (256 * 1024)	   /* bulk: bytes per write() */
#define SINK_BUF (1024 * 1024)
#define ECHO_BUF 16384
#define EVENT_BATCH 64
#define WARMUP_MIN 10		   /* conn and bind: untimed cycles first */
#define DEFAULT_N 2000
#define DEFAULT_BULK (1024ull * 1024 * 1024)

static const char *prog_mode = "s4bench";

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fprintf(stderr, "s4bench %s: ", prog_mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void parse_addr(const char *s, struct sockaddr_in *sin, bool need_port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	size_t hlen = colon ? (size_t)(colon - s) : strlen(s);
	char *end;
	long port = 0;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (hlen >= sizeof(host))
		die("bad address '%s'", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("bad address '%s'", s);
	if (colon) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno || *end || port < 0 || port > 65535)
			die("bad port in '%s'", s);
	} else if (need_port) {
		die("'%s' has no :PORT", s);
	}
	sin->sin_port = htons((uint16_t)port);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write:");
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			die("read: %s", n ? strerror(errno) : "connection closed early");
		p += n;
		len -= (size_t)n;
	}
}

/* Written whole and renamed into place, so a reader never sees half. */
static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		die("cannot write %s:", path);
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */

static struct sockaddr_in socks_addr;
static bool use_socks;
static const char *socks_user;

static int tcp_connect(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket:");
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0)
		die("connect:");
	return fd;
}

/* Reads one 8-byte reply and checks it granted the request. */
static struct socks4_reply socks_reply(int fd, const char *what)
{
	uint8_t buf[SOCKS4_REPLY_LEN];
	struct socks4_reply r;

	read_all(fd, buf, sizeof(buf));
	errno = 0;
	if (socks4_parse_reply(buf, &r) < 0)
		die("%s: malformed reply", what);
	if (r.code != SOCKS4_REPLY_GRANTED)
		die("%s: %s (%d)", what, socks4_reply_str(r.code), r.code);
	return r;
}

/* Sends a request on a socket connected to the SOCKS server; the request
 * goes out in one write, as the shim sends it. */
static void socks_request(int fd, uint8_t command, const struct sockaddr_in *dst)
{
	uint8_t req[SOCKS4_REQUEST_MAX];
	int len = socks4_build_request(req, sizeof(req), command, dst->sin_addr.s_addr,
				       dst->sin_port, socks_user);

	if (len < 0)
		die("cannot build a request");
	write_all(fd, req, (size_t)len);
}

/* A connection to dst: direct (or through a preloaded shim), or through
 * the SOCKS server with our own CONNECT. */
static int open_to(const struct sockaddr_in *dst)
{
	int fd;

	if (!use_socks)
		return tcp_connect(dst);
	fd = tcp_connect(&socks_addr);
	socks_request(fd, SOCKS4_CMD_CONNECT, dst);
	socks_reply(fd, "CONNECT");
	return fd;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* rate=R median_us=M p99_us=P over n timed cycles of elapsed ns. */
static void report_cycles(int64_t *lat, int n, int64_t elapsed, const char *unit)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("n=%d rate=%.1f median_us=%.1f p99_us=%.1f unit=%s\n", n,
	       n / (elapsed / 1e9), lat[n / 2] / 1e3, lat[(int64_t)n * 99 / 100] / 1e3,
	       unit);
}

/*
 * One request and its echo. A closing request ('c' first) is HTTP/1.0's
 * shape: the server answers and closes first, so the TIME_WAIT states of
 * thousands of cycles collect on the servers' own ports and never use up
 * the ephemeral ports that the proxies bind for their outgoing sockets.
 */
static void one_exchange(int fd, bool closing)
{
	char req[REQ_LEN], rep[REQ_LEN];

	memset(req, 'q', sizeof(req));
	req[0] = closing ? 'c' : 'k';
	write_all(fd, req, sizeof(req));
	read_all(fd, rep, sizeof(rep));
	if (memcmp(req, rep, sizeof(req)) != 0)
		die("echo mismatch");
	if (closing && read(fd, rep, 1) != 0)
		die("the echo server did not close");
}

static int run_conn(int n, const struct sockaddr_in *dst)
{
	int warm = n / 20 > WARMUP_MIN ? n / 20 : WARMUP_MIN;
	int64_t *lat = calloc((size_t)n, sizeof(*lat)), start = 0;

	if (!lat)
		die("out of memory");
	for (int i = -warm; i < n; i++) {
		int64_t t0 = now_ns();
		int fd;

		if (i == 0)
			start = t0;
		fd = open_to(dst);
		one_exchange(fd, true);
		close(fd);
		if (i >= 0)
			lat[i] = now_ns() - t0;
	}
	report_cycles(lat, n, now_ns() - start, "conn");
	free(lat);
	return 0;
}

static int run_bulk(unsigned long long bytes, const struct sockaddr_in *dst)
{
	uint8_t *buf = malloc(BULK_CHUNK), hdr[8], ack[8];
	unsigned long long left = bytes;
	int64_t t0, t;
	int fd;

	if (!buf)
		die("out of memory");
	memset(buf, 'b', BULK_CHUNK);
	for (int i = 0; i < 8; i++)
		hdr[i] = (uint8_t)(bytes >> (56 - 8 * i));
	fd = open_to(dst);
	t0 = now_ns();
	write_all(fd, hdr, sizeof(hdr));
	while (left) {
		size_t len = left < BULK_CHUNK ? (size_t)left : BULK_CHUNK;

		write_all(fd, buf, len);
		left -= len;
	}
	read_all(fd, ack, sizeof(ack));
	t = now_ns() - t0;
	if (memcmp(hdr, ack, sizeof(hdr)) != 0)
		die("the sink's count does not match");
	close(fd);
	printf("bytes=%llu seconds=%.3f mb_per_s=%.1f\n", bytes, t / 1e9,
	       bytes / (t / 1e9) / 1e6);
	free(buf);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* Holds n relayed connections open, one echo done on each, until SIGTERM:
 * what a server keeps per idle connection is then measurable from outside. */
static int run_hold(int n, const struct sockaddr_in *dst, const char *ready)
{
	int *fds = calloc((size_t)n, sizeof(*fds));

	if (!fds)
		die("out of memory");
	raise_nofile();
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	for (int i = 0; i < n; i++) {
		fds[i] = open_to(dst);
		one_exchange(fds[i], false);
	}
	printf("held=%d\n", n);
	fflush(stdout);
	if (ready)
		write_file(ready, "ready\n");
	while (!stop)
		pause();
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

/*
 * One BIND round trip, the FTP active-mode shape: the request, the first
 * reply naming where the server listens, the application server's
 * connection to that address, the second reply, a byte each way.
 */
static void bind_once(void)
{
	struct sockaddr_in app = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	socklen_t len = sizeof(app);
	struct socks4_reply r;
	char c = 'x';
	int ctl, inbound;

	/* The application server's socket is bound first, so the request
	 * can name the exact address its connection will come from. */
	app.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	inbound = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (inbound < 0 || bind(inbound, (struct sockaddr *)&app, sizeof(app)) < 0 ||
	    getsockname(inbound, (struct sockaddr *)&app, &len) < 0)
		die("application socket:");
	ctl = tcp_connect(&socks_addr);
	socks_request(ctl, SOCKS4_CMD_BIND, &app);
	r = socks_reply(ctl, "BIND first reply");
	to.sin_addr.s_addr = r.addr ? r.addr : socks_addr.sin_addr.s_addr;
	to.sin_port = r.port;
	if (connect(inbound, (struct sockaddr *)&to, sizeof(to)) < 0)
		die("connect to the BIND address:");
	socks_reply(ctl, "BIND second reply");
	write_all(ctl, &c, 1);
	read_all(inbound, &c, 1);
	write_all(inbound, &c, 1);
	read_all(ctl, &c, 1);
	close(inbound);
	close(ctl);
}

static int run_bind(int n)
{
	int warm = n / 20 > WARMUP_MIN ? n / 20 : WARMUP_MIN;
	int64_t *lat = calloc((size_t)n, sizeof(*lat)), start = 0;

	if (!lat)
		die("out of memory");
	for (int i = -warm; i < n; i++) {
		int64_t t0 = now_ns();

		if (i == 0)
			start = t0;
		bind_once();
		if (i >= 0)
			lat[i] = now_ns() - t0;
	}
	report_cycles(lat, n, now_ns() - start, "bind");
	free(lat);
	return 0;
}

/*
 * The calls a shim sees but should leave alone, n times each: run under
 * callgrind or strace with and without a shim, at two values of n, the
 * difference per call is the shim's cost on that path.
 *
 *   unix         socket, connect, accept, close, close (AF_UNIX stream)
 *   tcp          the same to 127.0.0.1 (loopback, which goes direct)
 *   getsockname  on one connected loopback TCP socket
 *   rw           write, read, send and recv of one byte on a socketpair
 */
static int loopback_listener(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)sin, &len) < 0)
		die("loopback listener:");
	return fd;
}

static void connect_cycle(int lfd, const struct sockaddr *to, socklen_t len)
{
	int fd = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

	if (fd < 0 || connect(fd, to, len) < 0)
		die("connect:");
	if ((a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		die("accept:");
	close(a);
	close(fd);
}

static int run_calls(const char *what, int n)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	socklen_t len;
	int lfd, fd;

	if (!strcmp(what, "unix")) {
		/* abstract: nothing on disk to clean up */
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				  (size_t)snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1,
						   "s4bench-%ld", (long)getpid()));
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&un, len) < 0 || listen(lfd, 16) < 0)
			die("unix listener:");
		for (int i = 0; i < n; i++)
			connect_cycle(lfd, (struct sockaddr *)&un, len);
	} else if (!strcmp(what, "tcp")) {
		lfd = loopback_listener(&sin);
		for (int i = 0; i < n; i++)
			connect_cycle(lfd, (struct sockaddr *)&sin, sizeof(sin));
	} else if (!strcmp(what, "getsockname")) {
		lfd = loopback_listener(&sin);
		fd = tcp_connect(&sin);
		for (int i = 0; i < n; i++) {
			len = sizeof(ss);
			if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
				die("getsockname:");
		}
		close(fd);
	} else if (!strcmp(what, "rw")) {
		/* a byte each way on a connected pair: the data calls a shim
		 * that hooks them adds its check to */
		int sp[2];
		char b = 'x';
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
			die("socketpair:");
		lfd = sp[1];
		for (int i = 0; i < n; i++)
			if (write(sp[0], &b, 1) != 1 || read(sp[1], &b, 1) != 1 ||
			    send(sp[1], &b, 1, 0) != 1 || recv(sp[0], &b, 1, 0) != 1)
				die("rw:");
		close(sp[0]);
	} else {
		die("calls: unix, tcp, getsockname or rw, not '%s'", what);
	}
	close(lfd);
	printf("calls=%d what=%s\n", n, what);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Servers                                                             */

static int listen_on(const char *addr, const char *port_file)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char text[16];
	int one = 1, fd;

	parse_addr(addr ? addr : "127.0.0.1:0", &sin, false);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket:");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		die("cannot listen on %s:", addr ? addr : "127.0.0.1:0");
	snprintf(text, sizeof(text), "%u\n", ntohs(sin.sin_port));
	if (port_file) {
		write_file(port_file, text);
	} else {
		fputs(text, stdout);
		fflush(stdout);
	}
	return fd;
}

/* Echoes whatever comes, on any number of connections, and closes after a
 * closing request (see one_exchange); a short write to a client that does
 * not read is that client's loss (it is dropped). */
static int run_echo(const char *addr, const char *port_file)
{
	struct epoll_event ev[EVENT_BATCH];
	static char buf[ECHO_BUF];
	int lfd = listen_on(addr, port_file), ep = epoll_create1(EPOLL_CLOEXEC);

	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd,
				&(struct epoll_event){.events = EPOLLIN, .data.fd = lfd}) < 0)
		die("epoll:");
	for (;;) {
		int n = epoll_wait(ep, ev, EVENT_BATCH, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait:");
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			ssize_t got;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c >= 0 &&
				    epoll_ctl(ep, EPOLL_CTL_ADD, c,
					      &(struct epoll_event){.events = EPOLLIN, .data.fd = c}) < 0)
					close(c);
				continue;
			}
			got = recv(fd, buf, sizeof(buf), 0);
			if (got < 0 && errno == EAGAIN)
				continue;
			if (got <= 0 || send(fd, buf, (size_t)got, MSG_NOSIGNAL) != got ||
			    buf[0] == 'c')
				close(fd); /* also leaves the epoll set */
		}
	}
}

static int run_sink(const char *addr, const char *port_file)
{
	uint8_t *buf = malloc(SINK_BUF), hdr[8];
	int lfd = listen_on(addr, port_file);

	if (!buf)
		die("out of memory");
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		unsigned long long want = 0;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ssize_t n = 0;

		if (fd < 0)
			continue;
		for (size_t got = 0; got < sizeof(hdr); got += (size_t)n)
			if ((n = read(fd, hdr + got, sizeof(hdr) - got)) <= 0)
				break;
		for (int i = 0; n > 0 && i < 8; i++)
			want = want << 8 | hdr[i];
		while (n > 0 && want) {
			n = read(fd, buf, want < SINK_BUF ? (size_t)want : SINK_BUF);
			if (n > 0)
				want -= (unsigned long long)n;
		}
		if (n > 0 && write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr))
			while (read(fd, buf, SINK_BUF) > 0) /* until the client closes */
				;
		close(fd);
	}
}

static int run_port(const char *addr)
{
	int fd = listen_on(addr, NULL);

	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: s4bench echo|sink [-l ADDR] [-p FILE]\n"
	      "       s4bench conn [-n N] [-s SOCKS] ADDR:PORT\n"
	      "       s4bench bulk [-b BYTES] [-s SOCKS] ADDR:PORT\n"
	      "       s4bench hold [-n N] [-s SOCKS] [-p FILE] ADDR:PORT\n"
	      "       s4bench bind [-n N] -s SOCKS\n"
	      "       s4bench calls unix|tcp|getsockname|rw [-n N]\n"
	      "       s4bench port [ADDR]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *listen_addr = NULL, *file = NULL, *mode;
	unsigned long long bytes = DEFAULT_BULK;
	struct sockaddr_in dst;
	int n = DEFAULT_N, c;

	if (argc < 2)
		usage();
	mode = prog_mode = argv[1];
	argc--;
	argv++;
	while ((c = getopt(argc, argv, "l:p:n:s:b:")) != -1) {
		switch (c) {
		case 'l': listen_addr = optarg; break;
		case 'p': file = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'b': bytes = strtoull(optarg, NULL, 10); break;
		case 's':
			parse_addr(optarg, &socks_addr, true);
			use_socks = true;
			break;
		default: usage();
		}
	}
	if (n < 1 || bytes < 1)
		usage();
	socks_user = getenv("USER") ? getenv("USER") : "";
	if (!strcmp(mode, "echo"))
		return run_echo(listen_addr, file);
	if (!strcmp(mode, "sink"))
		return run_sink(listen_addr, file);
	if (!strcmp(mode, "port"))
		return run_port(optind < argc ? argv[optind] : NULL);
	if (!strcmp(mode, "bind")) {
		if (!use_socks)
			usage();
		return run_bind(n);
	}
	if (!strcmp(mode, "calls")) {
		if (optind >= argc)
			usage();
		return run_calls(argv[optind], n);
	}
	if (optind >= argc)
		usage();
	parse_addr(argv[optind], &dst, true);
	if (!strcmp(mode, "conn"))
		return run_conn(n, &dst);
	if (!strcmp(mode, "bulk"))
		return run_bulk(bytes, &dst);
	if (!strcmp(mode, "hold"))
		return run_hold(n, &dst, file);
	usage();
}
