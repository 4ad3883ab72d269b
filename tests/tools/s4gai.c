/*
 * s4gai.c - getaddrinfo() timed per call, for make bench (issue 15).
 *
 *   s4gai NAME COUNT [new]
 *
 * Calls getaddrinfo(NAME, "80", {AF_INET, SOCK_STREAM}) COUNT times, or
 * with "new" COUNT different names (iN.NAME), and prints
 * "calls=COUNT per_call_us=X failures=N" on one line. Run it with the
 * library preloaded to time remote-dns on or off.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	char name[300];
	long count, failures = 0;
	double t0;
	int fresh;

	if (argc < 3 || (count = atol(argv[2])) <= 0 || strlen(argv[1]) > 200) {
		fprintf(stderr, "usage: s4gai NAME COUNT [new]\n");
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
