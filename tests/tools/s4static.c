/*
 * s4static.c - the program the preload cannot reach: tests/exec.bats
 * builds it with gcc -static (and uses it as a `#!` interpreter too).
 *
 * Connects to 127.0.0.1:$S4_PORT, whatever its arguments are, and prints
 * "connect=0" or "connect=ERRNO-NAME". Exits 0 when it connected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	const char *port = getenv("S4_PORT");
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd;

	if (!port) {
		fprintf(stderr, "s4static: S4_PORT is not set\n");
		return 2;
	}
	sin.sin_port = htons((unsigned short)atoi(port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		printf("connect=%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("connect=0\n");
	close(fd);
	return 0;
}
