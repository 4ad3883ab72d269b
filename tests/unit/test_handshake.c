/*
 * test_handshake.c - the exchange engine driven on a socketpair: this
 * test plays the SOCKS server on the other end, byte by byte where it
 * matters, and checks every state, answer and failure.
 */
#include "handshake.h"
#include "log.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The server end is already connected: connect() succeeds at once, or
 * fails as told. */
static int connect_result;
static int fake_connect(void *ctx, int fd, const struct sockaddr *a, socklen_t l)
{
	(void)ctx, (void)fd, (void)a, (void)l;
	if (connect_result) {
		errno = connect_result;
		return -1;
	}
	return 0;
}

static ssize_t plain_send(void *ctx, int fd, const void *buf, size_t len, int flags)
{
	(void)ctx;
	return send(fd, buf, len, flags);
}

static ssize_t plain_recv(void *ctx, int fd, void *buf, size_t len, int flags)
{
	(void)ctx;
	return recv(fd, buf, len, flags);
}

static const struct hs_io io = {fake_connect, plain_send, plain_recv, NULL};

static struct v4 v4(const char *ip, int port)
{
	struct v4 v;

	inet_pton(AF_INET, ip, &v.ip);
	v.port = htons((uint16_t)port);
	return v;
}

/* A client end (cl) and the server end (sv) of a fresh pair. */
static void pair(int *cl, int *sv)
{
	int sp[2];

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	*cl = sp[0];
	*sv = sp[1];
	connect_result = 0;
}

static void start(struct hs *h, uint8_t cmd, const char *host)
{
	hs_init(h, cmd, AF_INET, v4("192.0.2.1", 1080), v4("198.51.100.7", 21), "alice", host);
}

static void reply(int sv, uint8_t code, const char *ip, int port)
{
	uint8_t r[8];
	struct v4 a = v4(ip, port);

	socks4_build_reply(r, code, a.ip, a.port);
	CHECK_EQ_INT(write(sv, r, 8), 8);
}

TEST(connect_granted_in_pieces)
{
	struct hs h;
	uint8_t req[64], want[64], r[8];
	int cl, sv, n, wl;
	struct v4 a = v4("203.0.113.9", 4242);

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	CHECK_EQ_INT(h.state, HS_START);
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	CHECK_EQ_INT(h.state, HS_REPLY);
	n = (int)read(sv, req, sizeof(req));
	wl = socks4_build_request(want, sizeof(want), SOCKS4_CMD_CONNECT, h.dst.ip, h.dst.port, "alice");
	CHECK_EQ_INT(n, wl);
	CHECK(!memcmp(req, want, (size_t)wl));
	socks4_build_reply(r, SOCKS4_REPLY_GRANTED, a.ip, a.port);
	/* one byte, then the rest and a byte of the program's own data */
	CHECK_EQ_INT(write(sv, r, 1), 1);
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	CHECK_EQ_INT(h.got, 1);
	CHECK_EQ_INT(write(sv, r + 1, 7), 7);
	CHECK_EQ_INT(write(sv, "X", 1), 1);
	CHECK_EQ_INT(hs_step(&h, &io, cl), 0);
	CHECK_EQ_INT(h.state, HS_GRANTED);
	CHECK_EQ_INT(h.r.addr, a.ip);
	CHECK_EQ_INT(h.r.port, a.port);
	CHECK(!hs_pending(&h));
	/* never a byte more than the reply: the X is the program's */
	CHECK_EQ_INT(read(cl, req, sizeof(req)), 1);
	CHECK_EQ_INT(req[0], 'X');
	/* done is done: stepping again sends and reads nothing */
	CHECK_EQ_INT(hs_step(&h, &io, cl), 0);
	close(cl);
	close(sv);
}

TEST(refused_malformed_eof)
{
	struct hs h;
	uint8_t junk[8] = {5, 90, 0, 0, 0, 0, 0, 0}, b[64];
	int cl, sv;

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	hs_step(&h, &io, cl);
	read(sv, b, sizeof(b));
	reply(sv, SOCKS4_REPLY_REJECTED, "0.0.0.0", 0);
	CHECK_EQ_INT(hs_step(&h, &io, cl), -ECONNREFUSED);
	CHECK_EQ_INT(h.state, HS_FAILED);
	CHECK_EQ_INT(h.failed_in, HS_REPLY);
	CHECK_EQ_INT(hs_errno(&h), ECONNREFUSED);
	/* a failed exchange answers the same again */
	CHECK_EQ_INT(hs_step(&h, &io, cl), -ECONNREFUSED);
	close(cl);
	close(sv);

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	hs_step(&h, &io, cl);
	read(sv, b, sizeof(b));
	write(sv, junk, 8);
	CHECK_EQ_INT(hs_step(&h, &io, cl), -EPROTO);
	CHECK_EQ_INT(h.err, HS_ERR_MALFORMED);
	close(cl);
	close(sv);

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	hs_step(&h, &io, cl);
	read(sv, b, sizeof(b));
	write(sv, junk, 3);
	close(sv);
	CHECK_EQ_INT(hs_step(&h, &io, cl), -ECONNRESET);
	CHECK_EQ_INT(h.err, HS_ERR_EOF);
	CHECK_EQ_INT(h.got, 3);
	close(cl);
}

TEST(server_unreachable)
{
	struct hs h;
	int cl, sv;

	pair(&cl, &sv);
	connect_result = ECONNREFUSED;
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	/* an errno of the transport is not confused with a refusal code */
	CHECK_EQ_INT(hs_step(&h, &io, cl), -ECONNREFUSED);
	CHECK_EQ_INT(h.failed_in, HS_START);
	CHECK_EQ_INT(h.err, -ECONNREFUSED);
	close(cl);
	close(sv);
}

TEST(bind_both_replies)
{
	struct hs h;
	uint8_t b[64];
	int cl, sv;

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_BIND, NULL);
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	CHECK_EQ_INT(read(sv, b, sizeof(b)) > 8, 1);
	CHECK_EQ_INT(b[1], SOCKS4_CMD_BIND);
	reply(sv, SOCKS4_REPLY_GRANTED, "0.0.0.0", 40311);
	CHECK_EQ_INT(hs_step(&h, &io, cl), 0);
	CHECK_EQ_INT(h.state, HS_GRANTED);
	CHECK_EQ_INT(ntohs(h.r.port), 40311);
	hs_expect_second(&h);
	CHECK_EQ_INT(h.state, HS_SECOND);
	CHECK(hs_pending(&h));
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	reply(sv, SOCKS4_REPLY_GRANTED, "198.51.100.7", 20);
	CHECK_EQ_INT(hs_step(&h, &io, cl), 0);
	CHECK_EQ_INT(h.state, HS_DONE);
	CHECK_EQ_INT(ntohs(h.r.port), 20);
	close(cl);
	close(sv);
}

TEST(socks4a_request)
{
	struct hs h;
	uint8_t b[128], want[128];
	int cl, sv, n, wl;

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, "files.example");
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	n = (int)read(sv, b, sizeof(b));
	wl = socks4_build_request_4a(want, sizeof(want), SOCKS4_CMD_CONNECT, h.dst.port, "alice",
				     "files.example");
	CHECK_EQ_INT(n, wl);
	CHECK(!memcmp(b, want, (size_t)wl));
	close(cl);
	close(sv);
}

TEST(deadline_and_run)
{
	struct hs h;
	uint8_t b[64];
	int cl, sv;
	int64_t t0;

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	t0 = now_ms();
	CHECK_EQ_INT(hs_run(&h, &io, cl, now_ms() + 100), -ETIMEDOUT);
	CHECK(now_ms() - t0 >= 90);
	CHECK_EQ_INT(h.state, HS_FAILED);
	CHECK_EQ_INT(h.failed_in, HS_REPLY);
	close(cl);
	close(sv);

	pair(&cl, &sv);
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	hs_step(&h, &io, cl);
	read(sv, b, sizeof(b));
	reply(sv, SOCKS4_REPLY_GRANTED, "0.0.0.0", 0);
	CHECK_EQ_INT(hs_run(&h, &io, cl, now_ms() + 1000), 0);
	close(cl);
	close(sv);
}

/* --- hs_drive(): the one loop, its cases as data ----------------------- */

static int failed_with, backs;

static void note_fail(struct hs_drive *d, int err)
{
	failed_with = err;
	hs_fail(d->h, err);
}

static int gone(struct hs_drive *d, int err)
{
	(void)d, (void)err;
	backs++;
	return -EBADF;
}

static int want_write(struct hs_drive *d)
{
	(void)d;
	return HS_WANT_WRITE;
}

static int yes(void)
{
	return 1;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A request out and no reply: the drive waits for HS_WANT_READ. */
static void waiting(struct hs *h, struct hs_drive *d, int *cl, int *sv, int64_t deadline)
{
	pair(cl, sv);
	start(h, SOCKS4_CMD_CONNECT, NULL);
	hs_drive_init(d, h, &io, *cl, deadline);
}

TEST(drive_deadlines)
{
	struct hs h;
	struct hs_drive d;
	int cl, sv;

	/* ours: the exchange fails with ETIMEDOUT, through fail() */
	waiting(&h, &d, &cl, &sv, now_ms() + 80);
	d.fail = note_fail;
	failed_with = 0;
	CHECK_EQ_INT(hs_drive(&d), -ETIMEDOUT);
	CHECK_EQ_INT(failed_with, -ETIMEDOUT);
	CHECK_EQ_INT(h.state, HS_FAILED);
	close(cl);
	close(sv);

	/* the socket's own, first: the call ends with EAGAIN, the exchange
	 * waits on */
	waiting(&h, &d, &cl, &sv, now_ms() + 5000);
	d.sock_deadline = d.started + 80;
	CHECK_EQ_INT(hs_drive(&d), -EAGAIN);
	CHECK_EQ_INT(h.state, HS_REPLY);
	CHECK(now_ms() - d.started < 4000);
	close(cl);
	close(sv);

	/* the socket's own, later than ours: ours decides */
	waiting(&h, &d, &cl, &sv, now_ms() + 80);
	d.sock_deadline = d.started + 80;
	CHECK_EQ_INT(hs_drive(&d), -ETIMEDOUT);
	close(cl);
	close(sv);
}

TEST(drive_stops_where_told)
{
	struct hs h;
	struct hs_drive d;
	uint8_t b[64];
	int cl, sv;

	waiting(&h, &d, &cl, &sv, now_ms() + 5000);
	d.flags = HS_DRIVE_NOWAIT;
	CHECK_EQ_INT(hs_drive(&d), HS_WANT_READ);
	CHECK_EQ_INT(h.state, HS_REPLY);
	/* the reply in: done */
	read(sv, b, sizeof(b));
	reply(sv, SOCKS4_REPLY_GRANTED, "0.0.0.0", 0);
	d.flags = 0;
	CHECK_EQ_INT(hs_drive(&d), 0);
	close(cl);
	close(sv);

	waiting(&h, &d, &cl, &sv, now_ms() + 5000);
	d.step = want_write;
	d.flags = HS_DRIVE_READ_ONLY;
	CHECK_EQ_INT(hs_drive(&d), HS_WANT_WRITE);
	close(cl);
	close(sv);

	/* what the front end lets go of and takes back: gone, the call ends
	 * and the exchange is not touched */
	waiting(&h, &d, &cl, &sv, now_ms() + 5000);
	d.back = gone;
	d.slice_ms = 10;
	backs = 0;
	CHECK_EQ_INT(hs_drive(&d), -EBADF);
	CHECK_EQ_INT(backs, 1);
	CHECK_EQ_INT(h.state, HS_REPLY);
	close(cl);
	close(sv);
}

/* A signal cuts the wait short only with HS_DRIVE_SIGNALS, and then not
 * when the kernel would restart the call, unless a socket timeout is
 * set. */
TEST(drive_signals)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	struct itimerval it = {{0, 0}, {0, 50000}};
	struct hs h;
	struct hs_drive d;
	int cl, sv;

	sigaction(SIGALRM, &sa, NULL);

	waiting(&h, &d, &cl, &sv, now_ms() + 300);
	d.flags = HS_DRIVE_SIGNALS;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ_INT(hs_drive(&d), -EINTR);
	CHECK_EQ_INT(h.state, HS_REPLY);
	close(cl);
	close(sv);

	waiting(&h, &d, &cl, &sv, now_ms() + 300);
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ_INT(hs_drive(&d), -ETIMEDOUT); /* not the program's wait */
	close(cl);
	close(sv);

	waiting(&h, &d, &cl, &sv, now_ms() + 300);
	d.flags = HS_DRIVE_SIGNALS;
	d.restart = yes;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ_INT(hs_drive(&d), -ETIMEDOUT); /* SA_RESTART: restarted */
	close(cl);
	close(sv);

	waiting(&h, &d, &cl, &sv, now_ms() + 300);
	d.flags = HS_DRIVE_SIGNALS;
	d.restart = yes;
	d.sock_deadline = d.started + 250;
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK_EQ_INT(hs_drive(&d), -EINTR); /* a socket timeout: EINTR anyway */
	close(cl);
	close(sv);
	signal(SIGALRM, SIG_DFL);
}

TEST(request_waits_for_room)
{
	struct hs h;
	uint8_t fill[4096], b[64];
	int cl, sv, size = 4096;

	pair(&cl, &sv);
	setsockopt(cl, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	while (write(cl, fill, sizeof(fill)) > 0)
		;
	start(&h, SOCKS4_CMD_CONNECT, NULL);
	/* nothing goes out while the socket is full: the request waits */
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_WRITE);
	CHECK_EQ_INT(h.sent, 0);
	while (read(sv, fill, sizeof(fill)) == (ssize_t)sizeof(fill))
		;
	CHECK_EQ_INT(hs_step(&h, &io, cl), HS_WANT_READ);
	(void)b;
	close(cl);
	close(sv);
}

TEST(state_names)
{
	CHECK_EQ_STR(hs_state_name(HS_REACH), "REACH");
	CHECK_EQ_STR(hs_state_name(HS_FAILED), "FAILED");
	CHECK_EQ_STR(hs_state_name(99), "?");
}

int main(void)
{
	log_setup(0, 1, NULL); /* quiet: the failures are expected */
	RUN(connect_granted_in_pieces);
	RUN(refused_malformed_eof);
	RUN(server_unreachable);
	RUN(bind_both_replies);
	RUN(socks4a_request);
	RUN(deadline_and_run);
	RUN(drive_deadlines);
	RUN(drive_stops_where_told);
	RUN(drive_signals);
	RUN(request_waits_for_room);
	RUN(state_names);
	return check_done();
}
