/*
 * s4loop.c - an event loop with many connections in flight, to show what
 * proxying costs the loop's other work.
 *
 *   s4loop HOST PORT N [-e]
 *
 * One thread, one epoll set (-e: edge-triggered), a 5 ms timerfd standing
 * for the loop's other work, and N non-blocking connections to HOST:PORT
 * (an echo server), each completed the event-loop way: EPOLLOUT, then
 * SO_ERROR, then a line sent and its echo read. Prints
 *
 *   loop: N connected in T ms, longest stall S ms, H ms per handshake
 *
 * where a stall is the longest gap between two timer wake-ups, and
 * exits 1 if any connection failed.
 */
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 1024
#define TIMER_TAG UINT64_MAX

struct conn {
	int fd;
	bool connected, done;
	int64_t started;
	char buf[32];  /* what was sent */
	char back[64]; /* what came back: the same bytes, nothing before them */
	size_t got;
};

int main(int argc, char **argv)
{
	static struct conn c[MAXCONN];
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct itimerspec tick = {{0, 5000000}, {0, 5000000}};
	uint32_t et = argc > 4 && !strcmp(argv[4], "-e") ? EPOLLET : 0;
	int n, ep, tfd, left, failed = 0;
	int64_t t0, last_tick, stall = 0, handshakes = 0;

	if (argc < 4 || (n = atoi(argv[3])) < 1 || n > MAXCONN ||
	    inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: s4loop HOST PORT N [-e]\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	timerfd_settime(tfd, 0, &tick, NULL);
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd,
		  &(struct epoll_event){.events = EPOLLIN, .data.u64 = TIMER_TAG});

	t0 = last_tick = now_ms();
	for (int i = 0; i < n; i++) {
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		c[i].started = now_ms();
		if (connect(c[i].fd, (void *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
			printf("conn %d: connect error %s\n", i, strerror(errno));
			failed++;
			c[i].done = true;
			continue;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd,
			  &(struct epoll_event){.events = EPOLLOUT | EPOLLIN | et, .data.u64 = (uint64_t)i});
	}
	left = n - failed;
	while (left > 0 && now_ms() - t0 < 60000) {
		struct epoll_event ev[64];
		int k = epoll_wait(ep, ev, 64, 1000);

		for (int j = 0; j < k; j++) {
			struct conn *x;
			int i, err = 0;
			socklen_t el = sizeof(err);

			if (ev[j].data.u64 == TIMER_TAG) {
				uint64_t ticks;
				int64_t t = now_ms();
				if (read(tfd, &ticks, sizeof(ticks)) < 0) {
					/* EAGAIN: woken by an earlier edge */
				}
				if (t - last_tick > stall)
					stall = t - last_tick;
				last_tick = t;
				continue;
			}
			i = (int)ev[j].data.u64;
			x = &c[i];
			if (x->done)
				continue;
			if (!x->connected) {
				if (!(ev[j].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					printf("conn %d: SO_ERROR %s\n", i, strerror(err));
					failed++;
					left--;
					x->done = true;
					continue;
				}
				x->connected = true;
				handshakes += now_ms() - x->started;
				snprintf(x->buf, sizeof(x->buf), "conn %d\n", i);
				if (write(x->fd, x->buf, strlen(x->buf)) < 0)
					printf("conn %d: write error %s\n", i, strerror(errno));
				epoll_ctl(ep, EPOLL_CTL_MOD, x->fd,
					  &(struct epoll_event){.events = EPOLLIN | et, .data.u64 = (uint64_t)i});
				x->got = 0;
			}
			for (;;) {
				ssize_t r = read(x->fd, x->back + x->got, sizeof(x->back) - 1 - x->got);
				if (r <= 0)
					break;
				x->got += (size_t)r;
			}
			/* judged by content: a SOCKS reply leaked to the program
			 * would have the right length at the wrong place */
			if (x->got >= strlen(x->buf)) {
				x->back[x->got] = 0;
				if (strcmp(x->back, x->buf)) {
					printf("conn %d: got back %zu bytes that are not what was sent\n",
					       i, x->got);
					failed++;
				}
				x->done = true;
				left--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (!c[i].done)
			failed++;
		close(c[i].fd);
	}
	printf("loop: %d connected in %lld ms, longest stall %lld ms, %lld ms per handshake\n",
	       n - failed, (long long)(now_ms() - t0), (long long)stall,
	       (long long)(handshakes / (n - failed > 0 ? n - failed : 1)));
	return failed ? 1 : 0;
}
