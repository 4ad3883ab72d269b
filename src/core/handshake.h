/*
 * handshake.h - one SOCKS4 exchange on a socket, as a resumable state
 * machine that knows nothing of where it runs.
 *
 * The exchange takes a descriptor and a small table of I/O functions: the
 * preloaded library passes the C library's real functions, the syscall
 * supervisor plain libc on the copy of the program's socket it holds, a
 * unit test a socketpair. hs_step() never blocks and never touches the
 * socket's flags; it returns what it waits for, and the caller decides
 * how to wait (poll, an event loop of its own, or not at all). hs_run()
 * is the short poll loop for callers that block.
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

/* Drives hs_step() with poll() until done, failed, or deadline (ms on
 * CLOCK_MONOTONIC; see now_ms): 0 or the failure, -ETIMEDOUT included
 * (the exchange is then FAILED). A signal does not cut the wait short. */
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

/*
 * Logs one line for a failed exchange, "WHAT via SERVER: what happened"
 * (a malformed reply with its bytes, a refusal with its code and the
 * draft's wording, the server unreachable, a reply cut short, a timeout),
 * and returns hs_errno().
 */
int hs_log_failure(const struct hs *h, const char *what);

/* "REPLY" etc., for traces and tests. */
const char *hs_state_name(int state);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_ms(void);

/* A socket timeout (SO_SNDTIMEO, SO_RCVTIMEO) in whole ms, rounded up:
 * 0 is none. */
struct timeval;
int64_t timeval_ms(const struct timeval *tv);

#endif
