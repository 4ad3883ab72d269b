/*
 * handshake.h - one SOCKS4 exchange on a socket, as a resumable state
 * machine that knows nothing of where it runs.
 *
 * The exchange takes a descriptor and a small table of I/O functions: the
 * preloaded library passes the C library's real functions, the syscall
 * supervisor plain libc on the copy of the program's socket it holds, a
 * unit test a socketpair. hs_step() never blocks and never touches the
 * socket's flags; it returns what it waits for, and the caller decides
 * how to wait (poll, an event loop of its own, or not at all). hs_drive()
 * is the one poll loop for callers that block, its cases as data.
 *
 *   CONNECT:  START -> REACH -> SEND -> REPLY -> GRANTED
 *   BIND:     START -> REACH -> SEND -> REPLY -> GRANTED (first reply)
 *             hs_expect_second(): SECOND -> DONE (second reply)
 *   any state -> FAILED (err remembers why, failed_in where)
 *
 * REACH is "connect() to the server issued, not yet known to be up":
 * send() reports both, EAGAIN while the connection is under way and the
 * connect's own error when it failed, which saves a poll() and a
 * getsockopt() on every exchange. Every transition goes through one
 * function that -vv traces as "[old] -> [new]".
 *
 * Functions return 0 or a negative errno; errno itself is left alone.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include "addr.h"
#include "clock.h"
#include "socks4.h"

#include <stdint.h>
#include <sys/types.h>

enum hs_state {
	HS_IDLE = 0, /* not started (hs_init not called, or a BIND not yet due) */
	HS_START,    /* ready: the next step connects to the server */
	HS_REACH,    /* connection to the server under way */
	HS_SEND,     /* connected; the request not yet all sent */
	HS_REPLY,    /* reading the (first) reply */
	HS_GRANTED,  /* first reply in and granted */
	HS_SECOND,   /* BIND: reading the second reply */
	HS_DONE,     /* BIND: second reply in and granted */
	HS_FAILED,
};

/* hs_step()'s answers other than 0 (done) and -errno (failed). */
#define HS_WANT_READ 1
#define HS_WANT_WRITE 2

/* Failures that are not an errno from a system call, kept in struct hs's
 * err beside the -errno ones (out of errno's range, so never confused
 * with one); hs_errno() maps them, and hs_step() returns the mapping. */
#define HS_ERR_EOF (-4096 - 1)       /* the server closed before 8 reply bytes */
#define HS_ERR_MALFORMED (-4096 - 2) /* 8 bytes that are not a SOCKS4 reply */
#define HS_ERR_REFUSED (-4096 - 3)   /* a reply code other than 90 */

/* The I/O an exchange uses: each function is handed ctx, the caller's
 * own state for this exchange (NULL when it keeps none), and reports a
 * failure as libc does, -1 with errno set. */
struct hs_io {
	int (*connect)(void *ctx, int fd, const struct sockaddr *addr, socklen_t len);
	ssize_t (*send)(void *ctx, int fd, const void *buf, size_t len, int flags);
	ssize_t (*recv)(void *ctx, int fd, void *buf, size_t len, int flags);
	void *ctx;
};

struct hs {
	uint8_t state;     /* enum hs_state */
	uint8_t failed_in; /* the state it failed in */
	uint8_t cmd;       /* SOCKS4_CMD_CONNECT or SOCKS4_CMD_BIND */
	uint8_t got;       /* bytes of reply[] read */
	uint16_t sent;     /* bytes of the request sent */
	int family;        /* the socket's, for the server's address */
	int err;           /* FAILED: -errno or an HS_ERR_* */
	struct v4 server;
	struct v4 dst;     /* CONNECT: destination; BIND: application server */
	const char *userid; /* lives as long as the exchange (settings) */
	const char *host;  /* SOCKS4A name (dst.ip then unused), or NULL */
	unsigned timeout_ms; /* for "no reply within N s"; 0: not said */
	uint8_t reply[SOCKS4_REPLY_LEN];
	struct socks4_reply r; /* the last reply, parsed */
};

void hs_init(struct hs *h, uint8_t cmd, int family, struct v4 server,
	     struct v4 dst, const char *userid, const char *host);

/*
 * One step, as far as it goes without waiting: 0 when the reply that was
 * due is in and granted (GRANTED or DONE), HS_WANT_READ or HS_WANT_WRITE
 * when it needs the socket ready for that, or -hs_errno() when it failed
 * (FAILED). Calling it in GRANTED, DONE or FAILED answers the same again.
 */
int hs_step(struct hs *h, const struct hs_io *io, int fd);

/* Fails the exchange from outside (a deadline, a dead descriptor). */
void hs_fail(struct hs *h, int err);

/* BIND, after the first reply: the next steps read the second one. */
void hs_expect_second(struct hs *h);

/*
 * The one loop that drives an exchange for a caller that blocks, in the
 * library and in the supervisor alike: step, and while a step wants the
 * socket ready, wait in poll() and step again. What differs between the
 * calls that drive it (connect, SO_ERROR, a data call, listen, accept,
 * the supervisor's exchanges) is data:
 *
 * - the deadlines: ours (deadline: past it the exchange fails with
 *   ETIMEDOUT), and the socket's own (SO_SNDTIMEO for connect,
 *   SO_RCVTIMEO for accept, given by sock_timeout(); past it the call
 *   ends with EAGAIN and the exchange goes on);
 * - signals: with HS_DRIVE_SIGNALS a signal ends the call with EINTR,
 *   as connect(2) and accept(2) do, unless restart() says the kernel
 *   would restart it (SA_RESTART) and no socket timeout is set (which
 *   makes the kernel answer EINTR either way); without it a signal never
 *   cuts the wait short;
 * - HS_DRIVE_NOWAIT: a non-blocking call, which returns the want;
 *   HS_DRIVE_READ_ONLY: a wait for the reply only (a step that wants to
 *   write returns HS_WANT_WRITE);
 * - the front end's part: its own step (NULL: hs_step), how it fails the
 *   exchange from outside (NULL: hs_fail), what it lets go of around the
 *   poll (leave) and takes again after it (back: -EBADF when the
 *   exchange is no longer the caller's: the descriptor closed or reused
 *   meanwhile), and other descriptors to poll with it (p, n_others).
 *
 * hs_drive() returns 0 (done), HS_WANT_READ or HS_WANT_WRITE (NOWAIT,
 * READ_ONLY), -EBADF, -EINTR or -EAGAIN (the call ends, the exchange
 * stays as it is), or the exchange's failure (it is then FAILED: a
 * step's, our deadline's ETIMEDOUT, or a poll() error).
 */
#define HS_DRIVE_SIGNALS 1u
#define HS_DRIVE_NOWAIT 2u
#define HS_DRIVE_READ_ONLY 4u

struct pollfd;

struct hs_drive {
	struct hs *h;
	const struct hs_io *io;
	int fd;
	unsigned flags;        /* HS_DRIVE_* */
	int64_t deadline;      /* ours, ms on CLOCK_MONOTONIC (now_ms) */
	int64_t started;       /* when the call began (hs_drive_init) */
	int64_t sock_deadline; /* started + the socket's timeout; 0 none; -1 not read yet */
	int slice_ms;          /* the longest single poll() */
	int64_t (*sock_timeout)(struct hs_drive *d); /* ms, 0 none; read at the first wait */
	int (*restart)(void);  /* after EINTR: 1 when the kernel would restart the call */
	int (*step)(struct hs_drive *d);
	void (*fail)(struct hs_drive *d, int err);
	void (*leave)(struct hs_drive *d);
	int (*back)(struct hs_drive *d, int err);
	struct pollfd *p;      /* p[0] the socket, p[1..n_others] the caller's; NULL: one of its own */
	int n_others;
	void *ctx;             /* the caller's */
};

/* d for h on fd with io, our deadline given, the rest at their defaults:
 * no socket timeout, no signals, hs_step, hs_fail, nothing to let go. */
void hs_drive_init(struct hs_drive *d, struct hs *h, const struct hs_io *io, int fd,
		   int64_t deadline);

int hs_drive(struct hs_drive *d);

/* hs_drive() with the defaults: until done, failed or the deadline (the
 * exchange then FAILED with ETIMEDOUT); a signal never cuts it short. */
int hs_run(struct hs *h, const struct hs_io *io, int fd, int64_t deadline);

/* True while a step may still be due: START through REPLY, or SECOND. */
static inline int hs_pending(const struct hs *h)
{
	return h->state != HS_IDLE && h->state != HS_GRANTED &&
	       h->state != HS_DONE && h->state != HS_FAILED;
}

/* The errno a program should see for a failed exchange (positive):
 * ECONNREFUSED for a refusal, ECONNRESET for a reply cut short, EPROTO for
 * a malformed one, else the transport's own. */
int hs_errno(const struct hs *h);

/* "CONNECT 192.0.2.1:21", or "BIND host:21" for a SOCKS4A request: the
 * words every line about the exchange begins with. */
#define HS_WHAT_MAX (SOCKS4_HOST_MAX + 32)
const char *hs_what(const struct hs *h, char *buf, size_t cap);

/*
 * Logs one line for a failed exchange, "WHAT via SERVER: what happened"
 * (a malformed reply with its bytes, a refusal with its code and the
 * draft's wording, the server unreachable, a reply cut short, a timeout),
 * and returns hs_errno(). what NULL: hs_what().
 */
int hs_log_failure(const struct hs *h, const char *what);

/* "REPLY" etc., for traces and tests. */
const char *hs_state_name(int state);

/* A socket timeout (SO_SNDTIMEO, SO_RCVTIMEO) in whole ms, rounded up:
 * 0 is none. */
struct timeval;
int64_t timeval_ms(const struct timeval *tv);

#endif
