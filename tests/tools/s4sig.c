/*
 * s4sig.c - what signals, socket timeouts and cancellation do to a
 * blocking connect() or accept(), as connect(2), accept(2), socket(7) and
 * signal(7) state it. A C program on purpose: Python retries EINTR by
 * itself (PEP 475) and would hide what the call returned.
 *
 *   s4sig storm HOST PORT intr|restart   SIGALRM every ms around a blocking
 *                                        connect(), with or without SA_RESTART
 *   s4sig sndtimeo HOST PORT MS [ERRNO]  SO_SNDTIMEO MS on a blocking connect():
 *                                        EINPROGRESS and the connection goes
 *                                        on, or the call fails with ERRNO
 *   s4sig rcvtimeo HOST PORT MS          SO_RCVTIMEO MS on a BIND accept():
 *                                        EAGAIN, then the BIND still delivers
 *   s4sig cancel HOST PORT               pthread_cancel() during a blocking connect()
 *   s4sig accept HOST PORT intr|restart  a BIND listener whose connection is slow
 *   s4sig longjmp HOST PORT              alarm + siglongjmp out of connect(), 3 tries
 *   s4sig count HOST PORT                counts SIGINTs: prints "ready", then at
 *                                        SIGTERM (or after 30 s) "sigint=N"
 *
 * HOST:PORT is a TCP echo server. Prints one "key=value" line per fact;
 * exits 0 when the calls kept their contract, 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in dst;
static volatile sig_atomic_t handled;
static sigjmp_buf jump;

static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

static void on_alarm_jump(int sig)
{
	(void)sig;
	siglongjmp(jump, 1);
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void catch_alarm(void (*fn)(int), int flags)
{
	struct sigaction sa = {.sa_handler = fn, .sa_flags = flags};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static void timer_ms(int every)
{
	struct itimerval it = {{0, every * 1000}, {0, every * 1000}};

	setitimer(ITIMER_REAL, &it, NULL);
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

/* One line through the echo server: the connection is to it, and the
 * SOCKS exchange left nothing behind (a request sent twice would reach
 * the echo server as data and come back first). */
static int echo_ok(int fd)
{
	const char msg[] = "still here\n";
	char buf[64];
	size_t got = 0;

	if (write(fd, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1)
		return 0;
	while (got < sizeof(msg) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return got == sizeof(msg) - 1 && !memcmp(buf, msg, got);
}

static int cmd_storm(int restart)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), eintr = 0, r, tries = 0;

	catch_alarm(on_signal, restart ? SA_RESTART : 0);
	timer_ms(1);
	/* a C program's retry loop: connect() again until it is done */
	while ((r = connect(fd, (void *)&dst, sizeof(dst))) < 0 && tries++ < 100000) {
		if (errno == EINTR)
			eintr++;
		else if (errno == EISCONN)
			break;
		else if (errno != EALREADY) {
			timer_ms(0);
			printf("connect=error %s\n", ename(errno));
			return 1;
		}
	}
	timer_ms(0);
	printf("eintr=%d\nhandled=%d\n", eintr, (int)handled);
	r = echo_ok(fd);
	printf("echo=%s\n", r ? "ok" : "bad");
	return !(r && handled > 0 && (restart ? eintr == 0 : eintr > 0));
}

static int cmd_sndtimeo(int ms, const char *fails)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), err = -1;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(err);
	long long t0 = ms_now(), took;
	int r;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = connect(fd, (void *)&dst, sizeof(dst));
	took = ms_now() - t0;
	printf("connect=%s\nwaited_ms=%lld\n", r == 0 ? "0" : ename(errno), took);
	if (fails)
		return !(r < 0 && !strcmp(ename(errno), fails) && took >= ms / 2);
	if (r == 0 || errno != EINPROGRESS || took < ms / 2)
		return 1;
	/* the connection goes on: poll and SO_ERROR tell its end */
	poll(&p, 1, 10000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	printf("so_error=%d\n", err);
	r = err == 0 && echo_ok(fd);
	printf("echo=%s\n", r ? "ok" : "bad");
	return !r;
}

static void *connect_thread(void *arg)
{
	int fd = *(int *)arg;

	connect(fd, (void *)&dst, sizeof(dst));
	return NULL;
}

static int cmd_cancel(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), fl;
	pthread_t t;
	void *res;

	pthread_create(&t, NULL, connect_thread, &fd);
	usleep(200 * 1000);
	pthread_cancel(t);
	pthread_join(t, &res);
	fl = fcntl(fd, F_GETFL);
	printf("cancelled=%s\nnonblock=%s\n", res == PTHREAD_CANCELED ? "yes" : "no",
	       fl & O_NONBLOCK ? "set" : "clear");
	return !(res == PTHREAD_CANCELED && !(fl & O_NONBLOCK));
}

static int cmd_accept(int restart)
{
	int ctl = socket(AF_INET, SOCK_STREAM, 0), lfd, c, err;
	struct sockaddr_in any = {.sin_family = AF_INET};
	long long t0;

	if (connect(ctl, (void *)&dst, sizeof(dst)) < 0) {
		printf("control=error %s\n", ename(errno));
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (void *)&any, sizeof(any)) < 0 || listen(lfd, 1) < 0) {
		printf("listen=error %s\n", ename(errno));
		return 1;
	}
	catch_alarm(on_signal, restart ? SA_RESTART : 0);
	timer_ms(50);
	t0 = ms_now();
	c = accept(lfd, NULL, NULL);
	err = errno;
	timer_ms(0);
	printf("accept=%s\nhandled=%d\nwaited_ms=%lld\n", c >= 0 ? "fd" : ename(err),
	       (int)handled, ms_now() - t0);
	/* nobody connects to the BIND: restarted, it ends with the BIND */
	return restart ? !(c < 0 && err != EINTR && handled > 1) : !(c < 0 && err == EINTR);
}

static int cmd_rcvtimeo(int ms)
{
	int ctl = socket(AF_INET, SOCK_STREAM, 0), lfd, peer, c, err;
	struct sockaddr_in any = {.sin_family = AF_INET}, adv;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000}, none = {0, 0};
	socklen_t len = sizeof(adv);
	long long t0;

	if (connect(ctl, (void *)&dst, sizeof(dst)) < 0) {
		printf("control=error %s\n", ename(errno));
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(lfd, (void *)&any, sizeof(any)) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (void *)&adv, &len) < 0) {
		printf("listen=error %s\n", ename(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = ms_now();
	c = accept(lfd, NULL, NULL);
	err = errno;
	printf("accept=%s\nwaited_ms=%lld\n", c >= 0 ? "fd" : ename(err), ms_now() - t0);
	if (c >= 0 || err != EAGAIN)
		return 1;
	/* the BIND is still there: a connection to where it listens arrives */
	peer = socket(AF_INET, SOCK_STREAM, 0);
	if (adv.sin_addr.s_addr == INADDR_ANY)
		adv.sin_addr = dst.sin_addr;
	if (connect(peer, (void *)&adv, sizeof(adv)) < 0) {
		printf("peer=error %s\n", ename(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	c = accept(lfd, NULL, NULL);
	printf("accept_again=%s\n", c >= 0 ? "fd" : ename(errno));
	return c < 0;
}

static int cmd_longjmp(void)
{
	volatile int tries = 0, connected = 0;

	catch_alarm(on_alarm_jump, 0);
	while (tries < 3) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), r;

		tries++;
		if (sigsetjmp(jump, 1)) {
			printf("try%d=timed out\n", tries);
			close(fd);
			continue;
		}
		alarm(1);
		r = connect(fd, (void *)&dst, sizeof(dst));
		alarm(0);
		printf("try%d=%s\n", tries, r == 0 ? "connected" : ename(errno));
		connected += r == 0;
		close(fd);
	}
	return connected != 0;
}

static volatile sig_atomic_t sigints, termed;

static void count_int(int sig)
{
	(void)sig;
	sigints++;
}

static void count_term(int sig)
{
	(void)sig;
	termed = 1;
}

/* How many SIGINTs arrive: a supervisor must pass each on once, never a
 * second time what the command got itself. */
static int cmd_count(void)
{
	struct sigaction sa = {.sa_handler = count_int, .sa_flags = SA_RESTART};
	struct sigaction st = {.sa_handler = count_term};
	sigset_t none;

	sigemptyset(&none);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &st, NULL);
	alarm(30);
	printf("ready\n");
	while (!termed)
		sigsuspend(&none);
	printf("sigint=%d\n", (int)sigints);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 4 || inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: s4sig storm|sndtimeo|rcvtimeo|cancel|accept|longjmp|count HOST PORT [ARG]\n");
		return 2;
	}
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)atoi(argv[3]));
	if (!strcmp(cmd, "storm") && argc > 4)
		return cmd_storm(!strcmp(argv[4], "restart"));
	if (!strcmp(cmd, "sndtimeo") && argc > 4)
		return cmd_sndtimeo(atoi(argv[4]), argc > 5 ? argv[5] : NULL);
	if (!strcmp(cmd, "rcvtimeo") && argc > 4)
		return cmd_rcvtimeo(atoi(argv[4]));
	if (!strcmp(cmd, "cancel"))
		return cmd_cancel();
	if (!strcmp(cmd, "accept") && argc > 4)
		return cmd_accept(!strcmp(argv[4], "restart"));
	if (!strcmp(cmd, "longjmp"))
		return cmd_longjmp();
	if (!strcmp(cmd, "count"))
		return cmd_count();
	fprintf(stderr, "s4sig: unknown command '%s'\n", cmd);
	return 2;
}
