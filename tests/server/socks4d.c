/*
 * socks4d.c - the bundled SOCKS4 test server (draft-vance-socks-v4-09).
 *
 * Owns: the command line, one single-threaded epoll loop, a session per
 * client (request -> CONNECT or BIND -> relay), deadlines on a min-heap,
 * relaying with splice(2), the -v event log, and the misbehaviour (-M)
 * the shim's robustness tests switch on per run. Every request and reply
 * goes through the shared codec in shim/socks4.c; nothing here frames by
 * recv() boundaries.
 */
#include "../../shim/socks4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:1080"
#define DEFAULT_ALLOW "127.0.0.0/8"
#define DEFAULT_CONNECT_MS (120 * 1000) /* draft section 5, appendix B.2 */
#define DEFAULT_BIND_MS (120 * 1000)
#define DEFAULT_REQUEST_MS (10 * 1000)
#define DEFAULT_MAX_CLIENTS 1024
#define SECONDS_MAX 1000000.0

#define LINGER_MS 2000	   /* how long a refused client may take to leave */
#define BYTEWISE_GAP_MS 20 /* -M bytewise: pause between reply bytes */
#define LISTEN_BACKLOG 4096
#define BIND_BACKLOG 1	   /* BIND accepts exactly one inbound connection */
#define ACCEPT_BATCH 64	   /* accepts per wakeup, so clients get a turn */
#define EVENT_BATCH 256
#define FLOW_BUF_SIZE (16 * 1024) /* fallback when splice is not possible */
#define FLOW_ROUNDS 16	   /* splice rounds per wakeup before others get a turn */
#define PIPE_POOL_MAX 256  /* empty pipes kept for the next burst */
#define PIPE_DEFAULT_CAP 65536
#define PIPE_BULK_CAP (4 * 1024 * 1024) /* a pipe that fills up grows to this, */
#define PIPE_BULK_FALLBACK (1024 * 1024) /* or to pipe-max-size's default */
#define MAX_CIDRS 64
#define EXTRA_MAX 4096
#define ADDR_STR_MAX (INET_ADDRSTRLEN + sizeof ":65535")
#define LOG_LINE_MAX 8192
#define LABEL_MAX (LOG_LINE_MAX / 2 + 256)

/* ------------------------------------------------------------------ */
/* Settings                                                            */

struct cidr {
	uint32_t net, mask; /* host byte order */
};

/* -M: what the server does wrong on purpose. -1 means "behave". */
struct misbehaviour {
	int reply;   /* code instead of 90 in first replies */
	int version; /* VN byte in every reply */
	int second;  /* code instead of 90 in BIND second replies */
	long delay_ms;
	bool bytewise, stall, short_reply, reset;
	bool close_after_first, close_before_first;
	uint8_t *extra;
	size_t extra_len;
};

struct config {
	struct sockaddr_in listen_addr;
	struct cidr allow[MAX_CIDRS];
	size_t n_allow;
	long connect_ms, bind_ms, request_ms;
	bool have_bind_addr;
	struct in_addr bind_addr;
	bool bind_reply_zero;	 /* -z */
	bool connect_reply_zero; /* -Z */
	unsigned max_clients;
	const char *port_file;
	bool verbose;
	struct misbehaviour mis;
};

static struct config conf;

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

enum sess_state {
	SESS_REQUEST,	  /* reading the request */
	SESS_CONNECTING,  /* non-blocking connect() to DSTIP:DSTPORT */
	SESS_REPLY_DELAY, /* -M delay: holding the first reply */
	SESS_REPLYING,	  /* writing a reply, maybe a byte at a time */
	SESS_BIND_WAIT,	  /* first BIND reply sent, awaiting the inbound host */
	SESS_RELAY,	  /* relaying both ways */
	SESS_STALL,	  /* -M stall: never replying, waiting for the client to go */
	SESS_LINGER,	  /* final reply sent; draining until the client leaves */
	SESS_DEAD,	  /* closed; freed at the end of this loop turn */
};

/* Where a session goes once its reply is written. */
enum reply_next {
	NEXT_RELAY,
	NEXT_BIND_WAIT,
	NEXT_LINGER,
	NEXT_CLOSE,
};

enum ep_role {
	EP_SERVER,
	EP_SIGNAL,
	EP_CLIENT,
	EP_REMOTE, /* the destination of a CONNECT, or BIND's inbound host */
	EP_BIND,   /* BIND's listening socket */
};

struct session;

/*
 * One registered fd. Readiness is remembered because the sockets are
 * edge-triggered: a flag is set by an event and cleared only by EAGAIN.
 */
struct endpoint {
	int fd;
	enum ep_role role;
	bool readable, writable;
	bool rdhup;  /* the peer has shut down its side, or worse */
	bool failed; /* EPOLLERR or EPOLLHUP: SO_ERROR says why */
	struct session *sess;
};

struct relay_pipe {
	int r, w; /* -1 when none */
	size_t cap;
};

/*
 * One relay direction: src -> (pipe or buffer) -> dst. The pipe or
 * buffer is borrowed for a burst and handed back once it is empty and
 * src has nothing more, so idle connections hold neither.
 */
struct flow {
	struct endpoint *src, *dst;
	struct relay_pipe pipe;
	uint8_t *buf;
	size_t off, pending; /* bytes held in the pipe or in buf[off..] */
	unsigned long long bytes;
	bool eof, shut;
	const struct flow *other; /* the opposite direction */
	bool cannot_grow; /* F_SETPIPE_SZ refused once: do not ask again */
};

struct session {
	enum sess_state state;
	enum reply_next next;
	struct endpoint client, remote, bind;
	struct flow up, down; /* up: client -> remote */
	struct sockaddr_in client_addr;

	uint8_t command; /* from the request, addresses in network order */
	uint32_t dst_addr;
	uint16_t dst_port;
	uint8_t req[SOCKS4_REQUEST_4A_MAX];
	size_t req_len, req_size; /* bytes read; the request's own length */

	uint8_t out[SOCKS4_REPLY_LEN];
	size_t out_len, out_off;
	bool out_extra; /* -M extra follows out[] */
	int64_t pace_until;

	int64_t deadline;
	size_t heap_idx;
	bool ready;
	struct session *prev, *next_s;	   /* all live sessions */
	struct session *rprev, *rnext;	   /* the ready list */
	struct session *dead_next;
};

#define HEAP_NONE SIZE_MAX

struct server {
	int epfd;
	struct endpoint listener, signals;
	int spare_fd; /* given up to accept-and-close when out of fds */
	int64_t now;
	bool stop;
	unsigned nclients;
	struct session *sessions, *ready, *dead;
	struct session **heap;
	size_t heap_len;
	struct relay_pipe pool[PIPE_POOL_MAX];
	size_t pool_len;
};

static struct server srv;

/* ------------------------------------------------------------------ */
/* Logging: one write(2) per line, so lines from a busy loop stay whole. */

static void log_line(const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	int n = snprintf(line, sizeof line, "socks4d: ");
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	size_t len;

	if (m < 0)
		m = 0;
	len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere left to complain */
	}
	errno = saved;
}

__attribute__((format(printf, 1, 2))) static void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static void log_event(const char *fmt, ...)
{
	va_list ap;

	if (!conf.verbose)
		return;
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

static const char *fmt_addr(char buf[ADDR_STR_MAX], uint32_t addr_be,
			    uint16_t port_be)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr in = { .s_addr = addr_be };

	inet_ntop(AF_INET, &in, ip, sizeof ip);
	snprintf(buf, ADDR_STR_MAX, "%s:%u", ip, (unsigned)ntohs(port_be));
	return buf;
}

static const char *fmt_sin(char buf[ADDR_STR_MAX], const struct sockaddr_in *sin)
{
	return fmt_addr(buf, sin->sin_addr.s_addr, sin->sin_port);
}

/* A USERID is any bytes; keep the log line one parseable line. */
static void fmt_userid(char *out, size_t cap, const char *uid, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)uid[i];

		if (c > ' ' && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static const char *command_name(uint8_t command)
{
	return command == SOCKS4_CMD_BIND ? "BIND" : "CONNECT";
}

/* "CONNECT 127.0.0.1:8080 from 127.0.0.1:5555[ user=bob]" */
static void sess_label(const struct session *s, bool with_user, char *buf,
		       size_t cap)
{
	char dst[ADDR_STR_MAX], src[ADDR_STR_MAX];
	int n = snprintf(buf, cap, "%s %s from %s", command_name(s->command),
			 fmt_addr(dst, s->dst_addr, s->dst_port),
			 fmt_sin(src, &s->client_addr));

	if (with_user && n > 0 && (size_t)n < cap) {
		const char *uid = (const char *)s->req + SOCKS4_REQUEST_FIXED_LEN;
		char user[SOCKS4_USERID_MAX * 4 + 1];

		fmt_userid(user, sizeof user, uid, strlen(uid));
		snprintf(buf + n, cap - (size_t)n, " user=%s", user);
	}
}

__attribute__((format(printf, 3, 4))) static void
log_sess(const struct session *s, bool with_user, const char *fmt, ...)
{
	char label[LABEL_MAX], msg[512];
	va_list ap;

	if (!conf.verbose)
		return;
	sess_label(s, with_user, label, sizeof label);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_event("%s: %s", label, msg);
}

/* ------------------------------------------------------------------ */
/* Time and deadlines: a min-heap of sessions, one deadline each.      */

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void deadline_clear(struct session *s)
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

/* The heap holds max_clients slots: a session has at most one deadline. */
static void deadline_set(struct session *s, int64_t when)
{
	deadline_clear(s);
	s->deadline = when;
	s->heap_idx = srv.heap_len++;
	srv.heap[s->heap_idx] = s;
	heap_up(s->heap_idx);
}

/* ------------------------------------------------------------------ */
/* Endpoints, lists, and closing.                                      */

static int ep_add(struct endpoint *ep, int fd, enum ep_role role,
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

		log_error("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		ep->fd = -1;
		close(fd);
		return err;
	}
	return 0;
}

static void ep_close(struct endpoint *ep, bool reset)
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

static void ready_add(struct session *s)
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

static void ready_remove(struct session *s)
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

static void pipe_release(struct relay_pipe *p, bool empty)
{
	if (p->r < 0)
		return;
	if (empty && srv.pool_len < PIPE_POOL_MAX) {
		srv.pool[srv.pool_len++] = *p;
	} else {
		close(p->r);
		close(p->w);
	}
	p->r = p->w = -1;
}

/* Hands the pipe or buffer back; only an empty pipe goes to the pool. */
static void flow_release(struct flow *f)
{
	pipe_release(&f->pipe, f->pending == 0);
	free(f->buf);
	f->buf = NULL;
}

/* Closes everything the session holds; reset makes the peers see RST. */
static void session_close(struct session *s, bool reset)
{
	if (s->state == SESS_DEAD)
		return;
	ep_close(&s->client, reset);
	ep_close(&s->remote, reset);
	ep_close(&s->bind, false);
	flow_release(&s->up);
	flow_release(&s->down);
	deadline_clear(s);
	ready_remove(s);
	if (s->prev)
		s->prev->next_s = s->next_s;
	else
		srv.sessions = s->next_s;
	if (s->next_s)
		s->next_s->prev = s->prev;
	srv.nclients--;
	s->state = SESS_DEAD;
	/* Events already fetched may still point into s: free it later. */
	s->dead_next = srv.dead;
	srv.dead = s;
}

static void reap_dead(void)
{
	while (srv.dead) {
		struct session *s = srv.dead;

		srv.dead = s->dead_next;
		free(s);
	}
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

static bool client_allowed(const struct sockaddr_in *sin)
{
	uint32_t a = ntohl(sin->sin_addr.s_addr);

	for (size_t i = 0; i < conf.n_allow; i++)
		if ((a & conf.allow[i].mask) == conf.allow[i].net)
			return true;
	return false;
}

/*
 * Queues a reply and chooses what follows it. "first" is the CONNECT
 * reply or BIND's first reply: the one -M reply/delay/short/extra touch.
 */
static void reply_begin(struct session *s, uint8_t code, uint32_t addr,
			uint16_t port, enum reply_next next, bool first)
{
	socks4_build_reply(s->out, code, addr, port);
	if (conf.mis.version >= 0)
		s->out[0] = (uint8_t)conf.mis.version;
	s->out_len = SOCKS4_REPLY_LEN;
	s->out_off = 0;
	s->out_extra = false;
	s->pace_until = 0;
	s->next = next;
	if (first && conf.mis.short_reply) {
		s->out_len = SOCKS4_REPLY_LEN / 2;
		s->next = NEXT_CLOSE;
	}
	if (first && code == SOCKS4_REPLY_GRANTED &&
	    s->command == SOCKS4_CMD_CONNECT && conf.mis.extra_len)
		s->out_extra = true;
	if (first && conf.mis.delay_ms > 0) {
		s->state = SESS_REPLY_DELAY;
		deadline_set(s, srv.now + conf.mis.delay_ms);
	} else {
		s->state = SESS_REPLYING;
	}
}

static void reject(struct session *s, bool first)
{
	reply_begin(s, SOCKS4_REPLY_REJECTED, 0, 0, NEXT_LINGER, first);
}

static void linger_start(struct session *s)
{
	/* A FIN, not a RST, so the client reads the reply before EOF; we
	 * keep reading so unread bytes of its do not turn close() into RST. */
	shutdown(s->client.fd, SHUT_WR);
	s->state = SESS_LINGER;
	deadline_set(s, srv.now + LINGER_MS);
}

static void relay_start(struct session *s);

static void reply_done(struct session *s)
{
	deadline_clear(s);
	switch (s->next) {
	case NEXT_RELAY:
		relay_start(s);
		break;
	case NEXT_BIND_WAIT:
		/* Only now: an inbound host arriving before the first reply is
		 * out would otherwise wake a level-triggered listener in vain. */
		if (ep_add(&s->bind, s->bind.fd, EP_BIND, s) < 0) {
			session_close(s, false);
			break;
		}
		s->state = SESS_BIND_WAIT;
		deadline_set(s, srv.now + conf.bind_ms);
		break;
	case NEXT_LINGER:
		ep_close(&s->remote, false);
		ep_close(&s->bind, false);
		linger_start(s);
		break;
	case NEXT_CLOSE:
		session_close(s, false);
		break;
	}
}

static void reply_step(struct session *s)
{
	size_t total = s->out_len + (s->out_extra ? conf.mis.extra_len : 0);

	while (s->out_off < total) {
		struct iovec iov[2];
		int iovcnt = 0;
		ssize_t n;

		if (s->pace_until > srv.now) {
			deadline_set(s, s->pace_until);
			return;
		}
		if (!s->client.writable)
			return;
		if (s->out_off < s->out_len) {
			iov[iovcnt].iov_base = s->out + s->out_off;
			iov[iovcnt++].iov_len = s->out_len - s->out_off;
		}
		if (s->out_extra) {
			size_t skip = s->out_off > s->out_len ? s->out_off - s->out_len : 0;

			iov[iovcnt].iov_base = conf.mis.extra + skip;
			iov[iovcnt++].iov_len = conf.mis.extra_len - skip;
		}
		if (conf.mis.bytewise) {
			iovcnt = 1;
			iov[0].iov_len = 1;
		}
		/* One call for reply and -M extra: the client must be able to
		 * get both from one recv(), as from a server that answers fast. */
		n = writev(s->client.fd, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->client.writable = false;
				return;
			}
			log_sess(s, false, "closed (reply not sent: %s)", strerror(errno));
			session_close(s, true);
			return;
		}
		s->out_off += (size_t)n;
		if (conf.mis.bytewise && s->out_off < total)
			s->pace_until = srv.now + BYTEWISE_GAP_MS;
	}
	reply_done(s);
}

/* ------------------------------------------------------------------ */
/* CONNECT (draft section 3)                                           */

static void connect_start(struct session *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = s->dst_port,
				   .sin_addr.s_addr = s->dst_addr };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		log_sess(s, true, "rejected (socket: %s)", strerror(errno));
		reject(s, true);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0 &&
	    errno != EINPROGRESS) {
		log_sess(s, true, "rejected (%s)", strerror(errno));
		close(fd);
		reject(s, true);
		return;
	}
	if (ep_add(&s->remote, fd, EP_REMOTE, s) < 0) {
		log_sess(s, true, "rejected (cannot watch the connection)");
		reject(s, true);
		return;
	}
	s->state = SESS_CONNECTING;
	deadline_set(s, srv.now + conf.connect_ms);
}

static void connect_step(struct session *s)
{
	struct sockaddr_in local;
	socklen_t len = sizeof local;
	int err = 0, code;
	socklen_t elen = sizeof err;

	/* EPOLLOUT (or ERR/HUP) is how a non-blocking connect() finishes;
	 * EPOLLOUT alone means connected, so SO_ERROR only on failure. */
	if (!s->remote.writable)
		return;
	if (s->remote.failed &&
	    getsockopt(s->remote.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (s->remote.failed && !err)
		err = ECONNREFUSED; /* HUP without an error: refused all the same */
	if (!err && getsockname(s->remote.fd, (struct sockaddr *)&local, &len) < 0)
		err = errno;
	deadline_clear(s);
	if (err) {
		log_sess(s, true, "rejected (%s)", strerror(err));
		ep_close(&s->remote, false);
		reject(s, true);
		return;
	}
	if (conf.connect_reply_zero) {
		local.sin_addr.s_addr = 0;
		local.sin_port = 0;
	}
	code = conf.mis.reply >= 0 ? conf.mis.reply : SOCKS4_REPLY_GRANTED;
	if (code == SOCKS4_REPLY_GRANTED) {
		log_sess(s, true, "granted");
		reply_begin(s, SOCKS4_REPLY_GRANTED, local.sin_addr.s_addr,
			    local.sin_port, NEXT_RELAY, true);
	} else {
		log_sess(s, true, "rejected (-M reply=%d)", code);
		ep_close(&s->remote, false);
		reply_begin(s, (uint8_t)code, local.sin_addr.s_addr,
			    local.sin_port, NEXT_LINGER, true);
	}
}

/* ------------------------------------------------------------------ */
/* BIND (draft section 4)                                              */

static void bind_start(struct session *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	char where[ADDR_STR_MAX];
	enum reply_next next = NEXT_BIND_WAIT;
	int code, fd, one = 1;

	if (conf.have_bind_addr) {
		sin.sin_addr = conf.bind_addr;
	} else if (getsockname(s->client.fd, (struct sockaddr *)&sin, &len) < 0) {
		log_sess(s, true, "rejected (getsockname: %s)", strerror(errno));
		reject(s, true);
		return;
	}
	sin.sin_port = 0;
	len = sizeof sin;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) /* inherited by the inbound connection */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(fd, BIND_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		log_sess(s, true, "rejected (cannot listen: %s)", strerror(errno));
		if (fd >= 0)
			close(fd);
		reject(s, true);
		return;
	}
	/* Registered with epoll only once the first reply is out. */
	s->bind.fd = fd;
	log_sess(s, true, "listening on %s", fmt_sin(where, &sin));
	if (conf.bind_reply_zero)
		sin.sin_addr.s_addr = 0;
	code = conf.mis.reply >= 0 ? conf.mis.reply : SOCKS4_REPLY_GRANTED;
	if (code != SOCKS4_REPLY_GRANTED)
		next = NEXT_LINGER;
	else if (conf.mis.close_after_first)
		next = NEXT_CLOSE;
	if (code != SOCKS4_REPLY_GRANTED)
		log_sess(s, true, "rejected (-M reply=%d)", code);
	else if (conf.mis.close_after_first)
		log_sess(s, true, "misbehaving (close-after-first)");
	reply_begin(s, (uint8_t)code, sin.sin_addr.s_addr, sin.sin_port, next,
		    true);
}

static void bind_step(struct session *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char from[ADDR_STR_MAX];
	int fd, code;

	/* Appendix B.2: a listener nobody will use must not hold its port. */
	if (s->client.rdhup) {
		log_sess(s, false, "closed (client left while waiting)");
		session_close(s, false);
		return;
	}
	if (!s->bind.readable)
		return;
	fd = accept4(s->bind.fd, (struct sockaddr *)&sin, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) {
			s->bind.readable = false;
			return;
		}
		log_sess(s, false, "rejected (accept: %s)", strerror(errno));
		deadline_clear(s);
		ep_close(&s->bind, false);
		reject(s, false);
		return;
	}
	deadline_clear(s);
	ep_close(&s->bind, false); /* exactly one inbound connection */
	fmt_sin(from, &sin);
	if (sin.sin_addr.s_addr != s->dst_addr) {
		log_sess(s, false, "inbound from %s: rejected (source mismatch)", from);
		close(fd);
		reject(s, false);
		return;
	}
	if (ep_add(&s->remote, fd, EP_REMOTE, s) < 0) {
		log_sess(s, false, "inbound from %s: rejected (cannot watch it)", from);
		reject(s, false);
		return;
	}
	code = conf.mis.second >= 0 ? conf.mis.second : SOCKS4_REPLY_GRANTED;
	if (code == SOCKS4_REPLY_GRANTED) {
		log_sess(s, false, "inbound from %s: granted", from);
		reply_begin(s, SOCKS4_REPLY_GRANTED, sin.sin_addr.s_addr,
			    sin.sin_port, NEXT_RELAY, false);
	} else {
		log_sess(s, false, "inbound from %s: rejected (-M second=%d)", from,
			 code);
		ep_close(&s->remote, false);
		reply_begin(s, (uint8_t)code, sin.sin_addr.s_addr, sin.sin_port,
			    NEXT_LINGER, false);
	}
}

/* ------------------------------------------------------------------ */
/* Relay                                                               */

static int pipe_get(struct relay_pipe *out)
{
	int p[2], cap;

	if (srv.pool_len) {
		*out = srv.pool[--srv.pool_len];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Not always the default: past the per-user pipe quota the kernel
	 * hands out smaller pipes. */
	cap = fcntl(p[0], F_GETPIPE_SZ);
	out->r = p[0];
	out->w = p[1];
	out->cap = cap > 0 ? (size_t)cap : PIPE_DEFAULT_CAP;
	return 0;
}

/*
 * A pipe that fills is carrying bulk data: fewer, larger splices. 4 MiB
 * rather than 1 moved a 2 GB transfer on loopback from about 0.8x to
 * about 0.95x of a direct connection's rate (make bench): half the
 * splices and wakeups per byte. Beyond /proc/sys/fs/pipe-max-size (1 MiB
 * by default) only a privileged server may go; others get the 1 MiB.
 */
static void pipe_grow(struct flow *f)
{
	int cap;

	if (f->cannot_grow || f->pipe.cap >= PIPE_BULK_FALLBACK)
		return;
	cap = fcntl(f->pipe.w, F_SETPIPE_SZ, PIPE_BULK_CAP);
	if (cap < 0)
		cap = fcntl(f->pipe.w, F_SETPIPE_SZ, PIPE_BULK_FALLBACK);
	if (cap > 0)
		f->pipe.cap = (size_t)cap;
	else
		f->cannot_grow = true;
}

static void flow_init(struct flow *f, struct endpoint *src,
		      struct endpoint *dst, const struct flow *other)
{
	f->src = src;
	f->dst = dst;
	f->other = other;
}

/* A pipe for splice(2); a small buffer when no pipe can be had. */
static int flow_attach(struct flow *f)
{
	if (f->pipe.r >= 0 || f->buf)
		return 0;
	if (pipe_get(&f->pipe) == 0)
		return 0;
	f->buf = malloc(FLOW_BUF_SIZE);
	return f->buf ? 0 : -ENOMEM;
}

/* Falls back to the buffer when splice refuses these fds. */
static int flow_unsplice(struct flow *f)
{
	if (f->buf || f->pending)
		return -EINVAL;
	pipe_release(&f->pipe, false);
	f->buf = malloc(FLOW_BUF_SIZE);
	return f->buf ? 0 : -ENOMEM;
}

/* Bytes the client sent behind its request go first, ahead of the rest. */
static int flow_preload(struct flow *f, const uint8_t *data, size_t len)
{
	int r = flow_attach(f);

	if (r)
		return r;
	if (f->buf) {
		memcpy(f->buf, data, len);
	} else {
		/* A fresh, empty pipe takes at least a page without blocking. */
		ssize_t n = write(f->pipe.w, data, len);

		if (n < 0)
			return -errno;
		if ((size_t)n != len)
			return -EIO;
	}
	f->pending = len;
	return 0;
}

static size_t flow_room(const struct flow *f)
{
	if (f->buf)
		return FLOW_BUF_SIZE - f->off - f->pending;
	if (f->pipe.r < 0)
		return PIPE_DEFAULT_CAP; /* only asks for one to be attached */
	return f->pending < f->pipe.cap ? f->pipe.cap - f->pending : 0;
}

/* One round of moving bytes: >0 progress, 0 blocked, -errno on error. */
static int flow_step(struct flow *f)
{
	int moved = 0;
	ssize_t n;

	if (f->pending && f->dst->writable) {
		if (f->buf)
			n = send(f->dst->fd, f->buf + f->off, f->pending, MSG_NOSIGNAL);
		else
			n = splice(f->pipe.r, NULL, f->dst->fd, NULL, f->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->pending -= (size_t)n;
			f->bytes += (unsigned long long)n;
			f->off = f->pending ? f->off + (size_t)n : 0;
			moved = 1;
		} else if (n < 0 && errno == EAGAIN) {
			f->dst->writable = false;
		} else if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
	if (!f->eof && f->src->readable && flow_room(f)) {
		int r = flow_attach(f);

		if (r)
			return r;
		if (f->buf)
			n = recv(f->src->fd, f->buf + f->off + f->pending,
				 flow_room(f), 0);
		else
			n = splice(f->src->fd, NULL, f->pipe.w, NULL, flow_room(f),
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->pending += (size_t)n;
			if (!f->buf && f->pending >= f->pipe.cap)
				pipe_grow(f);
			moved = 1;
		} else if (n == 0) {
			f->eof = true;
			moved = 1;
		} else if (errno == EAGAIN) {
			/* From splice, EAGAIN may mean a full pipe, not an empty
			 * socket; only an empty pipe makes it unambiguous. */
			if (f->buf || !f->pending)
				f->src->readable = false;
		} else if (errno == EINVAL && !f->buf) {
			r = flow_unsplice(f);
			if (r)
				return r;
			moved = 1;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	if (f->eof && !f->pending && !f->shut) {
		/* Half-close: pass the EOF on, keep the other way open. When
		 * the other way is over too, the close() that follows sends
		 * the FIN: both sockets have been read to EOF. */
		if (!f->other->shut && shutdown(f->dst->fd, SHUT_WR) < 0 &&
		    errno != ENOTCONN)
			return -errno;
		f->shut = true;
		moved = 1;
	}
	return moved;
}

/* Returns 1 when the round budget ran out with work left, 0, or -errno. */
static int flow_pump(struct flow *f)
{
	for (int i = 0; i < FLOW_ROUNDS; i++) {
		int r = flow_step(f);

		if (r < 0)
			return r;
		if (r == 0) {
			/* Blocked with nothing held: src is drained (or done),
			 * so the pipe or buffer can serve someone else. */
			if (!f->pending)
				flow_release(f);
			return 0;
		}
	}
	return 1;
}

static void relay_step(struct session *s)
{
	int up = flow_pump(&s->up);
	int down = up < 0 ? 0 : flow_pump(&s->down);
	int err = up < 0 ? up : down < 0 ? down : 0;

	if (err) {
		log_sess(s, false, "closed (%s; %llu bytes up, %llu bytes down)",
			 strerror(-err), s->up.bytes, s->down.bytes);
		session_close(s, true); /* pass the reset on to both sides */
		return;
	}
	if (s->up.shut && s->down.shut) {
		log_sess(s, false, "closed (%llu bytes up, %llu bytes down)",
			 s->up.bytes, s->down.bytes);
		session_close(s, false);
		return;
	}
	if (up > 0 || down > 0)
		ready_add(s);
}

static void relay_start(struct session *s)
{
	size_t extra = s->req_len - s->req_size;

	s->state = SESS_RELAY;
	flow_init(&s->up, &s->client, &s->remote, &s->down);
	flow_init(&s->down, &s->remote, &s->client, &s->up);
	if (extra) {
		int r = flow_preload(&s->up, s->req + s->req_size, extra);

		if (r) {
			log_sess(s, false, "closed (%s)", strerror(-r));
			session_close(s, true);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static void request_done(struct session *s, const struct socks4_request *req,
			 size_t size)
{
	s->req_size = size;
	s->command = req->command;
	s->dst_addr = req->addr;
	s->dst_port = req->port;
	deadline_clear(s);

	if (req->host) {
		log_sess(s, true, "rejected (SOCKS4A name %.*s: not served)",
			 (int)req->host_len, req->host);
		reject(s, true);
		return;
	}
	if (!client_allowed(&s->client_addr)) {
		log_sess(s, true, "rejected (client not allowed)");
		reject(s, true);
		return;
	}
	if (conf.mis.reset) {
		log_sess(s, true, "misbehaving (reset)");
		session_close(s, true);
		return;
	}
	if (conf.mis.stall) {
		log_sess(s, true, "misbehaving (stall)");
		s->state = SESS_STALL;
		return;
	}
	if (req->command == SOCKS4_CMD_BIND && conf.mis.close_before_first) {
		log_sess(s, true, "misbehaving (close-before-first)");
		session_close(s, false);
		return;
	}
	if (req->command == SOCKS4_CMD_CONNECT)
		connect_start(s);
	else
		bind_start(s);
}

static void request_fail(struct session *s, const char *why)
{
	char from[ADDR_STR_MAX];

	log_event("client %s: rejected (%s)", fmt_sin(from, &s->client_addr), why);
	deadline_clear(s);
	reject(s, true);
}

static void request_step(struct session *s)
{
	char from[ADDR_STR_MAX];

	while (s->client.readable) {
		struct socks4_request req;
		ssize_t n;
		int r;

		if (s->req_len == sizeof s->req) {
			/* Cannot happen: a full buffer is complete or too long. */
			request_fail(s, "request too long");
			return;
		}
		n = recv(s->client.fd, s->req + s->req_len,
			 sizeof s->req - s->req_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				s->client.readable = false;
				return;
			}
			log_event("client %s: closed (%s)",
				  fmt_sin(from, &s->client_addr), strerror(errno));
			session_close(s, false);
			return;
		}
		if (n == 0) {
			log_event("client %s: closed (before a complete request)",
				  fmt_sin(from, &s->client_addr));
			session_close(s, false);
			return;
		}
		s->req_len += (size_t)n;
		r = socks4_parse_request(s->req, s->req_len, SOCKS4_USERID_MAX, &req);
		if (r == SOCKS4_NEED_MORE)
			continue;
		if (r == SOCKS4_MALFORMED) {
			request_fail(s, "malformed request");
			return;
		}
		if (r == SOCKS4_USERID_TOO_LONG) {
			char why[64];

			snprintf(why, sizeof why, "user id longer than %d bytes",
				 SOCKS4_USERID_MAX);
			request_fail(s, why);
			return;
		}
		if (r == SOCKS4_HOST_TOO_LONG) {
			char why[64];

			snprintf(why, sizeof why, "SOCKS4A name longer than %d bytes",
				 SOCKS4_HOST_MAX);
			request_fail(s, why);
			return;
		}
		if (r == SOCKS4_HOST_INVALID) {
			request_fail(s, "SOCKS4A name empty or with a byte no name holds");
			return;
		}
		request_done(s, &req, (size_t)r);
		return;
	}
}

/* -M stall and the linger after a final reply: read, discard, await EOF. */
static void drain_step(struct session *s)
{
	static uint8_t sink[4096];

	while (s->client.readable) {
		ssize_t n = recv(s->client.fd, sink, sizeof sink, 0);

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->client.readable = false;
			return;
		}
		if (s->state == SESS_STALL)
			log_sess(s, false, "closed (client left)");
		session_close(s, false);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static void session_run(struct session *s)
{
	enum sess_state before;

	do {
		before = s->state;
		switch (s->state) {
		case SESS_REQUEST:
			request_step(s);
			break;
		case SESS_CONNECTING:
			connect_step(s);
			break;
		case SESS_REPLY_DELAY:
			break; /* only its deadline moves it on */
		case SESS_REPLYING:
			reply_step(s);
			break;
		case SESS_BIND_WAIT:
			bind_step(s);
			break;
		case SESS_RELAY:
			relay_step(s);
			break;
		case SESS_STALL:
		case SESS_LINGER:
			drain_step(s);
			break;
		case SESS_DEAD:
			return;
		}
	} while (s->state != before && s->state != SESS_DEAD);
}

static void session_timeout(struct session *s)
{
	char from[ADDR_STR_MAX];

	switch (s->state) {
	case SESS_REQUEST:
		log_event("client %s: dropped (no complete request within %ld ms)",
			  fmt_sin(from, &s->client_addr), conf.request_ms);
		session_close(s, false);
		return;
	case SESS_CONNECTING:
		log_sess(s, true, "rejected (timeout)");
		ep_close(&s->remote, false);
		reject(s, true);
		break;
	case SESS_REPLY_DELAY:
		s->state = SESS_REPLYING;
		break;
	case SESS_BIND_WAIT:
		log_sess(s, false, "rejected (timeout)");
		ep_close(&s->bind, false);
		reject(s, false);
		break;
	case SESS_LINGER:
		session_close(s, false);
		return;
	default:
		break; /* REPLYING: a -M bytewise pause is over */
	}
	session_run(s);
}

static void refuse(int fd, const struct sockaddr_in *sin, const char *why)
{
	char from[ADDR_STR_MAX];
	uint8_t sink[SOCKS4_REQUEST_MAX];

	/* Reading what already came keeps close() a FIN rather than a RST. */
	if (recv(fd, sink, sizeof sink, MSG_DONTWAIT) < 0) {
		/* nothing there yet: fine */
	}
	close(fd);
	log_event("client %s: refused (%s)", fmt_sin(from, sin), why);
}

static void session_new(int fd, const struct sockaddr_in *sin)
{
	struct session *s = calloc(1, sizeof *s);

	if (!s) {
		refuse(fd, sin, "out of memory");
		return;
	}
	s->client.fd = s->remote.fd = s->bind.fd = -1;
	s->up.pipe.r = s->up.pipe.w = s->down.pipe.r = s->down.pipe.w = -1;
	s->heap_idx = HEAP_NONE;
	s->client_addr = *sin;
	s->state = SESS_REQUEST;
	if (ep_add(&s->client, fd, EP_CLIENT, s) < 0) {
		free(s);
		return;
	}
	s->bind.role = EP_BIND;
	s->bind.sess = s;
	s->next_s = srv.sessions;
	if (srv.sessions)
		srv.sessions->prev = s;
	srv.sessions = s;
	srv.nclients++;
	deadline_set(s, srv.now + conf.request_ms);
	/* Most clients send the request with the handshake's last ACK:
	 * try it now rather than after another epoll_wait. */
	s->client.readable = true;
	session_run(s);
}

static void server_accept(void)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_in sin;
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
			log_error("accept: %s", strerror(errno));
			return;
		}
		if (srv.nclients >= conf.max_clients) {
			char why[64];

			snprintf(why, sizeof why, "too many clients: %u", conf.max_clients);
			refuse(fd, &sin, why);
			continue;
		}
		session_new(fd, &sin);
	}
}

static void signal_read(void)
{
	struct signalfd_siginfo si;

	if (read(srv.signals.fd, &si, sizeof si) == (ssize_t)sizeof si) {
		log_event("exiting on signal %u", si.ssi_signo);
		srv.stop = true;
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
	wait = srv.heap[0]->deadline - clock_ms();
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
			log_error("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		srv.now = clock_ms();
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
		session_close(srv.sessions, false);
	reap_dead();
	for (size_t i = 0; i < srv.pool_len; i++) {
		close(srv.pool[i].r);
		close(srv.pool[i].w);
	}
	srv.pool_len = 0;
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

static void usage(FILE *out)
{
	fputs(
"usage: socks4d [-l ADDR:PORT] [-a CIDR]... [-t SECONDS] [-b SECONDS]\n"
"               [-r SECONDS] [-e ADDR] [-z] [-Z] [-m N] [-p FILE]\n"
"               [-M SPEC]... [-v] [-h]\n"
"\n"
"A SOCKS4 server for tests: CONNECT and BIND as in draft-vance-socks-v4-09.\n"
"\n"
"  -l ADDR:PORT  listen there (default " DEFAULT_LISTEN "; port 0 picks one)\n"
"  -a CIDR       allow clients from CIDR (repeatable; default " DEFAULT_ALLOW ")\n"
"  -t SECONDS    CONNECT: give up on the destination after this (default 120)\n"
"  -b SECONDS    BIND: wait this long for the inbound connection (default 120)\n"
"  -r SECONDS    drop a client whose request is incomplete by then (default 10)\n"
"  -e ADDR       BIND: listen on ADDR (default: the address the client reached)\n"
"  -z            BIND: put 0.0.0.0 in the first reply's DSTIP\n"
"  -Z            CONNECT: put 0.0.0.0:0 in the reply\n"
"  -m N          serve at most N clients at once (default 1024)\n"
"  -p FILE       write the port to FILE once listening\n"
"  -v            log one line per event to stderr\n"
"  -h            show this help\n"
"  -M SPEC       misbehave on purpose, for the shim's tests (repeatable):\n"
"      reply=N             code N instead of 90 in each first (or CONNECT)\n"
"                          reply, then close unless N is 90\n"
"      version=N           VN byte N in every reply\n"
"      bytewise            write replies a byte at a time, 20 ms apart\n"
"      delay=MS            wait MS milliseconds before the first reply\n"
"      stall               read the request, never reply, keep the connection\n"
"      short               send only 4 bytes of the first reply, then close\n"
"      reset               read the request, then close with a TCP reset\n"
"      extra=TEXT          CONNECT: send TEXT in the same write as a granted\n"
"                          reply (\\n \\r \\t \\\\ \\xHH understood)\n"
"      close-before-first  BIND: close without any reply\n"
"      close-after-first   BIND: close right after the first reply\n"
"      second=N            BIND: code N instead of 90 in the second reply,\n"
"                          then close both unless N is 90\n",
	      out);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > SECONDS_MAX)
		return -EINVAL;
	v *= 1000.0;
	*ms = (long)v;
	if (*ms < v) /* round up: -r 0.0001 must not mean "no time at all" */
		(*ms)++;
	return 0;
}

static int parse_ipv4(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

static int parse_hostport(const char *s, struct sockaddr_in *sin)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof host)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	if (parse_ipv4(host, &sin->sin_addr) < 0 ||
	    parse_long(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

static int parse_cidr(const char *s, struct cidr *c)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr in;
	long bits = 32;

	if (hlen >= sizeof host)
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_ipv4(host, &in) < 0)
		return -EINVAL;
	if (slash && parse_long(slash + 1, 0, 32, &bits) < 0)
		return -EINVAL;
	c->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	c->net = ntohl(in.s_addr) & c->mask;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* -M extra=TEXT: a shell cannot easily pass CR LF, so we unescape. */
static int parse_extra(const char *s, struct misbehaviour *m)
{
	size_t len = strlen(s), o = 0;
	uint8_t *buf;

	if (len == 0 || len > EXTRA_MAX)
		return -EINVAL;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			buf[o++] = (uint8_t)s[i];
			continue;
		}
		switch (s[++i]) {
		case 'n': buf[o++] = '\n'; break;
		case 'r': buf[o++] = '\r'; break;
		case 't': buf[o++] = '\t'; break;
		case '\\': buf[o++] = '\\'; break;
		case 'x':
			if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0) {
				free(buf);
				return -EINVAL;
			}
			buf[o++] = (uint8_t)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
			break;
		default:
			free(buf);
			return -EINVAL;
		}
	}
	free(m->extra);
	m->extra = buf;
	m->extra_len = o;
	return 0;
}

static int parse_misbehaviour(const char *spec, struct misbehaviour *m)
{
	const char *eq = strchr(spec, '=');
	size_t klen = eq ? (size_t)(eq - spec) : strlen(spec);
	const char *val = eq ? eq + 1 : NULL;
	long v;

#define KEY_IS(k) (klen == sizeof(k) - 1 && memcmp(spec, k, klen) == 0)
	if (!val) {
		if (KEY_IS("bytewise"))
			m->bytewise = true;
		else if (KEY_IS("stall"))
			m->stall = true;
		else if (KEY_IS("short"))
			m->short_reply = true;
		else if (KEY_IS("reset"))
			m->reset = true;
		else if (KEY_IS("close-after-first"))
			m->close_after_first = true;
		else if (KEY_IS("close-before-first"))
			m->close_before_first = true;
		else
			return -EINVAL;
		return 0;
	}
	if (KEY_IS("extra"))
		return parse_extra(val, m);
	if (KEY_IS("delay")) {
		if (parse_long(val, 0, 3600 * 1000, &v) < 0)
			return -EINVAL;
		m->delay_ms = v;
		return 0;
	}
	if (parse_long(val, 0, 255, &v) < 0)
		return -EINVAL;
	if (KEY_IS("reply"))
		m->reply = (int)v;
	else if (KEY_IS("version"))
		m->version = (int)v;
	else if (KEY_IS("second"))
		m->second = (int)v;
	else
		return -EINVAL;
	return 0;
#undef KEY_IS
}

static void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "socks4d: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	free(conf.mis.extra);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	char opt[3] = "-?";
	int c;
	long v;

	conf.connect_ms = DEFAULT_CONNECT_MS;
	conf.bind_ms = DEFAULT_BIND_MS;
	conf.request_ms = DEFAULT_REQUEST_MS;
	conf.max_clients = DEFAULT_MAX_CLIENTS;
	conf.mis.reply = conf.mis.version = conf.mis.second = -1;
	parse_hostport(DEFAULT_LISTEN, &conf.listen_addr);

	while ((c = getopt(argc, argv, ":l:a:t:b:r:e:zZm:p:M:vh")) != -1) {
		switch (c) {
		case 'l':
			if (parse_hostport(optarg, &conf.listen_addr) < 0)
				bad_usage("-l wants ADDR:PORT, not '%s'", optarg);
			break;
		case 'a':
			if (conf.n_allow == MAX_CIDRS)
				bad_usage("too many -a (the limit is %s)", "64");
			if (parse_cidr(optarg, &conf.allow[conf.n_allow]) < 0)
				bad_usage("-a wants ADDR/BITS, not '%s'", optarg);
			conf.n_allow++;
			break;
		case 't':
			if (parse_seconds(optarg, &conf.connect_ms) < 0)
				bad_usage("-t wants seconds, not '%s'", optarg);
			break;
		case 'b':
			if (parse_seconds(optarg, &conf.bind_ms) < 0)
				bad_usage("-b wants seconds, not '%s'", optarg);
			break;
		case 'r':
			if (parse_seconds(optarg, &conf.request_ms) < 0)
				bad_usage("-r wants seconds, not '%s'", optarg);
			break;
		case 'e':
			if (parse_ipv4(optarg, &conf.bind_addr) < 0)
				bad_usage("-e wants an IPv4 address, not '%s'", optarg);
			conf.have_bind_addr = true;
			break;
		case 'z':
			conf.bind_reply_zero = true;
			break;
		case 'Z':
			conf.connect_reply_zero = true;
			break;
		case 'm':
			if (parse_long(optarg, 1, 1000000, &v) < 0)
				bad_usage("-m wants a positive number, not '%s'", optarg);
			conf.max_clients = (unsigned)v;
			break;
		case 'p':
			conf.port_file = optarg;
			break;
		case 'M':
			if (parse_misbehaviour(optarg, &conf.mis) < 0)
				bad_usage("unknown or bad -M '%s'", optarg);
			break;
		case 'v':
			conf.verbose = true;
			break;
		case 'h':
			usage(stdout);
			free(conf.mis.extra);
			exit(0);
		case ':':
			opt[1] = (char)optopt;
			bad_usage("option %s needs a value", opt);
			break;
		default:
			opt[1] = (char)optopt;
			bad_usage("unknown option '%s'", opt);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!conf.n_allow) {
		parse_cidr(DEFAULT_ALLOW, &conf.allow[0]);
		conf.n_allow = 1;
	}
}

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
	char where[ADDR_STR_MAX];
	sigset_t mask;
	int one = 1, fd, r;

	srv.epfd = srv.listener.fd = srv.signals.fd = srv.spare_fd = -1;
	srv.heap = calloc(conf.max_clients, sizeof *srv.heap);
	if (!srv.heap) {
		log_error("out of memory");
		return -ENOMEM;
	}
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.epfd < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		return -errno;
	}

	/* A shell starts background jobs with SIGINT ignored; an ignored
	 * signal never reaches signalfd, so take both back first. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv.signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.signals.role = EP_SIGNAL;
	if (srv.signals.fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -errno;
	}
	r = ep_add(&srv.signals, srv.signals.fd, EP_SIGNAL, NULL);
	if (r)
		return r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("socket: %s", strerror(errno));
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
		log_error("cannot listen on %s: %s",
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
			log_error("cannot write the port to %s: %s", conf.port_file,
				  strerror(-r));
			return r;
		}
	}
	log_event("listening on %s", fmt_sin(where, &sin));
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	parse_args(argc, argv);
	raise_nofile();
	r = server_start();
	if (r == 0) {
		srv.now = clock_ms();
		r = event_loop();
	}
	server_cleanup();
	return r ? 1 : 0;
}
