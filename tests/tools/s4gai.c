/*
 * s4gai.c - getaddrinfo() and connect() by name timed per call, for make
 * bench (issue 15).
 *
 *   s4gai NAME COUNT [new]
 *	Calls getaddrinfo(NAME, "80", {AF_INET, SOCK_STREAM}) COUNT times,
 *	or with "new" COUNT different names (iN.NAME).
 *   s4gai -c NAME COUNT
 *	Listens on 127.0.0.1 (a thread accepts and closes), looks NAME up
 *	once with that port, then connects COUNT blocking sockets to the
 *	answer, one at a time, each closed once the listener has taken it.
 *	Under the library with remote-dns on and a SOCKS server, NAME
 *	127.0.0.1 times a plain CONNECT and a name the proxy resolves to
 *	127.0.0.1 a SOCKS4A one (SOCKS4_BIND=off keeps the listener local).
 *
 * Prints "calls=COUNT per_call_us=X failures=N" on one line.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int listener;

static void *acceptor(void *arg)
{
	int c;

	(void)arg;
	while ((c = accept(listener, NULL, NULL)) >= 0)
		close(c);
	return NULL;
}

static int connects(const char *name, long count)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	long failures = 0;
	char port[8];
	pthread_t th;
	double t0;

	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(listener, 128) < 0 ||
	    getsockname(listener, (struct sockaddr *)&sin, &len) < 0) {
		perror("s4gai: listener");
		return 1;
	}
	pthread_create(&th, NULL, acceptor, NULL);
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	if (getaddrinfo(name, port, &hints, &res) != 0) {
		fprintf(stderr, "s4gai: cannot resolve %s\n", name);
		return 1;
	}
	t0 = now_us();
	for (long i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char b;
		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0)
			failures++;
		else
			(void)!read(fd, &b, 1); /* EOF: the listener took it */
		if (fd >= 0)
			close(fd);
	}
	printf("calls=%ld per_call_us=%.3f failures=%ld\n", count, (now_us() - t0) / (double)count,
	       failures);
	freeaddrinfo(res);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	char name[300];
	long count, failures = 0;
	double t0;
	int fresh;

	if (argc == 4 && !strcmp(argv[1], "-c") && (count = atol(argv[3])) > 0)
		return connects(argv[2], count);
	if (argc < 3 || (count = atol(argv[2])) <= 0 || strlen(argv[1]) > 200) {
		fprintf(stderr, "usage: s4gai NAME COUNT [new] | s4gai -c NAME COUNT\n");
		return 2;
	}
	fresh = argc > 3 && !strcmp(argv[3], "new");
	t0 = now_us();
	for (long i = 0; i < count; i++) {
		struct addrinfo *res;
		if (fresh)
			snprintf(name, sizeof(name), "i%ld.%s", i, argv[1]);
		else
			snprintf(name, sizeof(name), "%s", argv[1]);
		if (getaddrinfo(name, "80", &hints, &res) == 0)
			freeaddrinfo(res);
		else
			failures++;
	}
	printf("calls=%ld per_call_us=%.3f failures=%ld\n", count, (now_us() - t0) / (double)count,
	       failures);
	return failures ? 1 : 0;
}
