/*
 * socks4d.h - what the files of the bundled SOCKS4 server share.
 *
 * socks4d is one process, one thread (a resolver pool aside), one epoll
 * loop. Data flows in one direction through its files:
 *
 *	options.c, misbehave.c   argv -> struct config (conf), read-only after
 *	loop.c                   epoll, signals, deadlines -> events on endpoints
 *	session.c                events -> a session's request, CONNECT or BIND,
 *	                         reply (codec: shim/socks4.c)
 *	resolve.c                a 4A name -> worker threads -> its addresses,
 *	                         back to session.c through an eventfd
 *	relay.c                  a granted session's bytes, client <-> remote
 *
 * Addresses are formatted by shim/addr.c and matched against -a by
 * shim/route.c; nothing here keeps its own copy of either.
 */
#ifndef SOCKS4D_H
#define SOCKS4D_H

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "route.h"
#include "socks4.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
#define RELAY_SOCKBUF (512 * 1024) /* SO_RCVBUF/SO_SNDBUF; the kernel doubles it */
#define CUT_FLUSH_MS 10000 /* a reset relay's held bytes get this long to go */
#define CUT_POLL_MS 10	   /* how often the send queue is looked at meanwhile */
#define RESOLVE_THREADS 4   /* names resolved at once; more wait their turn */
#define RESOLVE_ADDRS_MAX 8 /* of a name's addresses, the first -d allows */
#define MAX_CIDRS 64 /* -a options; route.h holds up to ROUTE_MAX */
#define EXTRA_MAX 4096
#define LABEL_MAX (LOG_PROGRAM_LINE_MAX / 2 + 256)

/* ------------------------------------------------------------------ */
/* Settings                                                            */

/* -M: what the server does wrong on purpose. -1 means "behave". */
struct misbehaviour {
	int reply;   /* code instead of 90 in first replies */
	int version; /* VN byte in every reply */
	int second;  /* code instead of 90 in BIND second replies */
	long delay_ms;
	bool bytewise, stall, short_reply, reset;
	bool close_after_first, close_before_first;
	bool echo_dst; /* CONNECT: the destination in the reply (Twisted) */
	uint8_t *extra;
	size_t extra_len;
};

struct config {
	struct sockaddr_in listen_addr;
	struct route_table allow; /* -a: ROUTE_PROXY serves, fallback denies */
	long connect_ms, bind_ms, request_ms;
	bool have_bind_addr;
	struct in_addr bind_addr;
	bool bind_reply_zero;	 /* -z */
	bool connect_reply_zero; /* -Z */
	unsigned max_clients;
	const char *port_file;
	bool verbose;
	bool mis_from_user;	 /* -U: a USERID "m:SPEC,..." adds -M specs */
	bool no_4a;		 /* -N: refuse SOCKS 4A requests */
	struct route_table deny; /* -d: destinations refused (ROUTE_DENY) */
	struct misbehaviour mis;
};

/* ------------------------------------------------------------------ */
/* Sessions                                                            */

enum sess_state {
	SESS_REQUEST,	  /* reading the request */
	SESS_RESOLVING,	  /* 4A: the name is with resolve.c */
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
	EP_RESOLVER, /* resolve.c's eventfd: answers are waiting */
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
	int err;   /* reading src failed (a reset): flush, then reset dst */
	int werr;  /* writing dst failed: what is held cannot be delivered */
	bool stop; /* cut, and dst is the side that failed: read no more */
	const struct flow *other; /* the opposite direction */
	bool cannot_grow; /* F_SETPIPE_SZ refused once: do not ask again */
};

struct session {
	enum sess_state state;
	enum reply_next next;
	struct endpoint client, remote, bind;
	struct flow up, down; /* up: client -> remote */
	struct sockaddr_in client_addr;
	int64_t cut_until; /* a cut relay's last chance to deliver; 0: none */

	uint8_t command; /* from the request, addresses in network order */
	uint32_t dst_addr;
	uint16_t dst_port;
	const char *host; /* 4A: the name, inside req[]; NULL for SOCKS4 */
	size_t host_len;
	bool resolved;		  /* 4A: dst_addr is the name's address now */
	struct resolve_job *job;  /* 4A: the name is being resolved */
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
	bool outsider; /* outside -a: answered 91 at accept(), holds no slot */
	struct misbehaviour *mis; /* -U: this client's own; NULL: conf.mis */
};

#define HEAP_NONE SIZE_MAX

struct server {
	int epfd;
	struct endpoint listener, signals, resolver;
	int spare_fd; /* given up to accept-and-close when out of fds */
	int64_t now;
	bool stop;
	unsigned nclients;   /* allowed clients, at most conf.max_clients */
	unsigned noutsiders; /* refused ones being answered, as many again */
	int stop_signal;     /* the signal that set stop */
	struct session *sessions, *ready, *dead;
	struct session **heap;
	size_t heap_len;
	struct relay_pipe pool[PIPE_POOL_MAX];
	size_t pool_len;
};

extern struct config conf; /* options.c */
extern struct server srv;  /* loop.c */

/* options.c: argv into conf; exits 2 with the usage text on bad input. */
void parse_args(int argc, char **argv);

/* options.c: a decimal number in [min, max]. 0 or -EINVAL. */
int parse_long(const char *s, long min, long max, long *out);

/* misbehave.c: one -M SPEC into m. 0 or -EINVAL / -ENOMEM. */
int parse_misbehaviour(const char *spec, struct misbehaviour *m);

/* misbehave.c: what -M changes, asked where it applies (see there). */
int mis_first_code(const struct session *s);
int mis_second_code(const struct session *s);
int mis_from_userid(struct session *s, const char *uid, size_t len);
void mis_free(struct session *s);
bool mis_after_request(struct session *s);
void mis_shape_reply(struct session *s, uint8_t code, bool first);

/* loop.c: deadlines, epoll. The log and the clock are the core's
 * (log.h: "socks4d: ..." lines, events at LOG_INFO under -v; clock.h). */
void deadline_clear(struct session *s);
void deadline_set(struct session *s, int64_t when);
int ep_add(struct endpoint *ep, int fd, enum ep_role role, struct session *s);
void ep_close(struct endpoint *ep, bool reset);
void ready_add(struct session *s);
void ready_remove(struct session *s);

/* session.c: a client from accept() to close. */
bool client_allowed(const struct sockaddr_in *sin);
void refuse(int fd, const struct sockaddr_in *sin, const char *why);
void refuse_outsider(int fd, const struct sockaddr_in *sin);
void session_new(int fd, const struct sockaddr_in *sin, bool outsider);
void session_cut(struct session *s, int signo);
void session_run(struct session *s);
void session_timeout(struct session *s);
void session_close(struct session *s, bool reset);
void reap_dead(void);
__attribute__((format(printf, 3, 4))) void
log_sess(const struct session *s, bool with_user, const char *fmt, ...);

/* resolve.c: 4A names through getaddrinfo() in worker threads. */
struct resolve_job;
int resolver_start(void);
int resolver_submit(struct session *s);
void resolver_cancel(struct session *s);
void resolver_collect(void);
void resolver_stop(void);

/* session.c: a name's answer (why: NULL, or what went wrong). */
void session_resolved(struct session *s, const char *why, const uint32_t *addrs,
		      size_t n_addrs);

/* relay.c: moving a granted session's bytes. */
void relay_start(struct session *s);
void relay_step(struct session *s);
void flow_release(struct flow *f);
void pipe_pool_drain(void);

/* The misbehaviour that applies to s: its own (-U) or the server's. */
static inline const struct misbehaviour *sess_mis(const struct session *s)
{
	return s->mis ? s->mis : &conf.mis;
}

/* "a.b.c.d:port" of a sockaddr_in, through shim/addr.c. */
static inline const char *fmt_sin(char buf[ADDR_STRLEN],
				  const struct sockaddr_in *sin)
{
	return addr_fmt((struct v4){ sin->sin_addr.s_addr, sin->sin_port }, buf);
}

#endif
