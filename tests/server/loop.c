/*
 * loop.c - socks4d's event loop and start-up: main(), the listening
 * socket, signals through signalfd, one epoll set, the deadline heap, the
 * ready list. Lines go out through the core's log (log.h), time is the
 * core's clock (clock.h).
 *
 * Owns: srv. Data flows outward from here: epoll_wait's events mark an
 * endpoint readable or writable and hand its session to session.c
 * (session_run); expired deadlines go to session_timeout(); accept()
 * hands new clients to session_new(). Nothing here reads or writes a
 * client's bytes.
 */
#include "socks4d.h"

struct server srv;

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Deadlines: a min-heap of sessions, one deadline each (now_ms()).    */

static void heap_place(size_t i, struct session *s)
{
	srv.heap[i] = s;
	s->heap_idx = i;
}

static void heap_up(size_t i)
{
	struct session *s = srv.heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (srv.heap[parent]->deadline <= s->deadline)
			break;
		heap_place(i, srv.heap[parent]);
		i = parent;
	}
	heap_place(i, s);
}

static void heap_down(size_t i)
{
	struct session *s = srv.heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= srv.heap_len)
			break;
		if (c + 1 < srv.heap_len &&
		    srv.heap[c + 1]->deadline < srv.heap[c]->deadline)
			c++;
		if (s->deadline <= srv.heap[c]->deadline)
			break;
		heap_place(i, srv.heap[c]);
		i = c;
	}
	heap_place(i, s);
}

void deadline_clear(struct session *s)
{
	size_t i = s->heap_idx;
	struct session *last;

	if (i == HEAP_NONE)
		return;
	s->heap_idx = HEAP_NONE;
	last = srv.heap[--srv.heap_len];
	if (last == s)
		return;
	heap_place(i, last);
	heap_up(i);
	heap_down(last->heap_idx);
}

/* The heap holds a slot per client and per outsider: one deadline each. */
void deadline_set(struct session *s, int64_t when)
{
	deadline_clear(s);
	s->deadline = when;
	s->heap_idx = srv.heap_len++;
	srv.heap[s->heap_idx] = s;
	heap_up(s->heap_idx);
}

/* ------------------------------------------------------------------ */
/* Endpoints and the ready list                                       */

int ep_add(struct endpoint *ep, int fd, enum ep_role role,
		  struct session *s)
{
	struct epoll_event ev = { .data.ptr = ep };

	/* Sessions' sockets are edge-triggered and registered once, for
	 * everything, so no epoll_ctl(MOD) is ever needed. Listeners stay
	 * level-triggered: an accept we postpone must be reported again. */
	if (role == EP_CLIENT || role == EP_REMOTE)
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	else
		ev.events = EPOLLIN;
	ep->fd = fd;
	ep->role = role;
	ep->sess = s;
	if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		log_msg(LOG_ERROR, "epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		ep->fd = -1;
		close(fd);
		return err;
	}
	return 0;
}

void ep_close(struct endpoint *ep, bool reset)
{
	if (ep->fd < 0)
		return;
	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(ep->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(ep->fd); /* also leaves the epoll set: we never dup() */
	ep->fd = -1;
	ep->readable = ep->writable = ep->rdhup = ep->failed = false;
}

void ready_add(struct session *s)
{
	if (s->ready)
		return;
	s->ready = true;
	s->rprev = NULL;
	s->rnext = srv.ready;
	if (srv.ready)
		srv.ready->rprev = s;
	srv.ready = s;
}

void ready_remove(struct session *s)
{
	if (!s->ready)
		return;
	s->ready = false;
	if (s->rprev)
		s->rprev->rnext = s->rnext;
	else
		srv.ready = s->rnext;
	if (s->rnext)
		s->rnext->rprev = s->rprev;
	s->rprev = s->rnext = NULL;
}

/* ------------------------------------------------------------------ */
/* The loop: accept, signals, events, the ready list, timers           */

static void server_accept(void)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_in sin;
		bool allowed;
		socklen_t len = sizeof sin;
		int fd = accept4(srv.listener.fd, (struct sockaddr *)&sin, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && srv.spare_fd >= 0) {
				/* Give up the spare fd to take the client off the
				 * queue; a level-triggered listener would spin. */
				close(srv.spare_fd);
				len = sizeof sin;
				fd = accept4(srv.listener.fd, (struct sockaddr *)&sin,
					     &len, SOCK_CLOEXEC);
				if (fd >= 0)
					refuse(fd, &sin, "out of file descriptors");
				srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				return;
			}
			log_msg(LOG_ERROR, "accept: %s", strerror(errno));
			return;
		}
		allowed = client_allowed(&sin);
		if (!allowed && srv.noutsiders >= conf.max_clients) {
			refuse_outsider(fd, &sin);
			continue;
		}
		if (allowed && srv.nclients >= conf.max_clients) {
			char why[64];

			snprintf(why, sizeof why, "too many clients: %u", conf.max_clients);
			refuse(fd, &sin, why);
			continue;
		}
		session_new(fd, &sin, !allowed);
	}
}

static void signal_read(void)
{
	struct signalfd_siginfo si;

	if (read(srv.signals.fd, &si, sizeof si) == (ssize_t)sizeof si) {
		log_msg(LOG_INFO, "exiting on signal %u", si.ssi_signo);
		srv.stop = true;
		srv.stop_signal = (int)si.ssi_signo;
	}
}

static void on_event(struct endpoint *ep, uint32_t events)
{
	struct session *s = ep->sess;

	if (ep->role == EP_SERVER) {
		server_accept();
		return;
	}
	if (ep->role == EP_SIGNAL) {
		signal_read();
		return;
	}
	if (ep->role == EP_RESOLVER) {
		resolver_collect();
		return;
	}
	if (s->state == SESS_DEAD || ep->fd < 0)
		return; /* closed earlier in this batch */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		ep->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		ep->writable = true;
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		ep->rdhup = true;
	if (events & (EPOLLHUP | EPOLLERR))
		ep->failed = true;
	session_run(s);
}

static void run_ready(void)
{
	struct session *list = srv.ready;

	/* Sessions that ran out of budget get another turn; any that ask
	 * again go onto a new list, served after the next epoll_wait. */
	srv.ready = NULL;
	for (struct session *s = list; s; s = list) {
		list = s->rnext;
		if (list)
			list->rprev = NULL;
		s->ready = false;
		s->rnext = s->rprev = NULL;
		if (s->state != SESS_DEAD)
			session_run(s);
	}
}

static void run_timers(void)
{
	while (srv.heap_len && srv.heap[0]->deadline <= srv.now) {
		struct session *s = srv.heap[0];

		deadline_clear(s);
		session_timeout(s);
	}
}

static int next_timeout(void)
{
	int64_t wait;

	if (srv.ready)
		return 0;
	if (!srv.heap_len)
		return -1;
	wait = srv.heap[0]->deadline - now_ms();
	if (wait < 0)
		return 0;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static int event_loop(void)
{
	struct epoll_event events[EVENT_BATCH];

	while (!srv.stop) {
		int n = epoll_wait(srv.epfd, events, EVENT_BATCH, next_timeout());

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERROR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		srv.now = now_ms();
		for (int i = 0; i < n; i++)
			on_event(events[i].data.ptr, events[i].events);
		run_ready();
		run_timers();
		reap_dead();
	}
	return 0;
}

static void server_cleanup(void)
{
	while (srv.sessions)
		session_cut(srv.sessions, srv.stop_signal);
	reap_dead();
	resolver_stop();
	pipe_pool_drain();
	if (srv.listener.fd >= 0)
		close(srv.listener.fd);
	if (srv.signals.fd >= 0)
		close(srv.signals.fd);
	if (srv.spare_fd >= 0)
		close(srv.spare_fd);
	if (srv.epfd >= 0)
		close(srv.epfd);
	free(srv.heap);
	free(conf.mis.extra);
}

/* ------------------------------------------------------------------ */
/* Start-up                                                            */

static void raise_nofile(void)
{
	struct rlimit rl;

	/* Each relayed connection holds two sockets and up to two pipes. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Written whole and renamed into place, so a reader never sees half. */
static int write_port_file(const char *path, unsigned port)
{
	char tmp[PATH_MAX];
	FILE *f;
	int r = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", port) < 0)
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int server_start(void)
{
	struct sockaddr_in sin = conf.listen_addr;
	socklen_t len = sizeof sin;
	char where[ADDR_STRLEN];
	sigset_t mask;
	int one = 1, fd, r;

	srv.epfd = srv.listener.fd = srv.signals.fd = srv.spare_fd = -1;
	srv.resolver.fd = -1;
	srv.heap = calloc(2 * (size_t)conf.max_clients, sizeof *srv.heap);
	if (!srv.heap) {
		log_msg(LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.epfd < 0) {
		log_msg(LOG_ERROR, "epoll_create1: %s", strerror(errno));
		return -errno;
	}

	/* A shell starts background jobs with SIGINT ignored; an ignored
	 * signal never reaches signalfd, so take both back first. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP); /* no settings to reload: a stop like TERM */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv.signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.signals.role = EP_SIGNAL;
	if (srv.signals.fd < 0) {
		log_msg(LOG_ERROR, "signalfd: %s", strerror(errno));
		return -errno;
	}
	r = ep_add(&srv.signals, srv.signals.fd, EP_SIGNAL, NULL);
	if (r)
		return r;
	if (!conf.no_4a) {
		r = resolver_start();
		if (r)
			return r;
	}

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_msg(LOG_ERROR, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* Accepted sockets inherit it: -M bytewise must not be coalesced,
	 * and a relay should not add Nagle's delay to small writes. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		r = -errno;
		log_msg(LOG_ERROR, "cannot listen on %s: %s",
			  fmt_sin(where, &conf.listen_addr), strerror(errno));
		close(fd);
		return r;
	}
	r = ep_add(&srv.listener, fd, EP_SERVER, NULL);
	if (r)
		return r;
	srv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (conf.port_file) {
		r = write_port_file(conf.port_file, ntohs(sin.sin_port));
		if (r) {
			log_msg(LOG_ERROR, "cannot write the port to %s: %s", conf.port_file,
				  strerror(-r));
			return r;
		}
	}
	log_msg(LOG_INFO, "listening on %s", fmt_sin(where, &sin));
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	log_as_program("socks4d", LOG_ERROR);
	parse_args(argc, argv);
	log_as_program("socks4d", conf.verbose ? LOG_INFO : LOG_ERROR);
	raise_nofile();
	r = server_start();
	if (r == 0) {
		srv.now = now_ms();
		r = event_loop();
	}
	server_cleanup();
	return r ? 1 : 0;
}
