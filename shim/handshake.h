/*
 * handshake.h - the I/O of one SOCKS4 exchange on a socket.
 *
 * Connect the socket to the SOCKS server, send the request in one piece,
 * read exactly the 8 bytes of a reply (never more: what follows belongs
 * to the program). Every wait is bounded by a deadline on
 * CLOCK_MONOTONIC; a signal never cuts a wait short. Functions return 0
 * or a negative errno and leave errno alone.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include "addr.h"
#include "fdstate.h"

#include <stdbool.h>
#include <stdint.h>

/* Where an exchange failed, for the log line. */
enum hs_stage {
	HS_STAGE_SERVER,  /* reaching the SOCKS server */
	HS_STAGE_REQUEST, /* sending the request */
	HS_STAGE_REPLY,   /* reading a reply */
};

/* A reply that ended early: reported to the program as ECONNRESET. */
#define HS_EOF (-ENODATA)

/* Starts connecting the non-blocking socket fd to server: 0 when done at
 * once, -EINPROGRESS, or the error. */
int hs_connect_server(int fd, int family, struct v4 server);

/* After -EINPROGRESS: 0 once connected, the connect's error, or with
 * deadline 0 -EINPROGRESS while it is still under way. */
int hs_server_connected(int fd, int64_t deadline);

/* Sends the request for cmd, dst and userid in one piece. */
int hs_send_request(int fd, uint8_t cmd, struct v4 dst, const char *userid,
		    int64_t deadline);

/*
 * The three steps above in a row, waiting up to deadline. The socket must
 * be non-blocking. Sets *stage to the step that failed.
 */
int hs_request(int fd, int family, struct v4 server, uint8_t cmd,
	       struct v4 dst, const char *userid, int64_t deadline,
	       enum hs_stage *stage);

/*
 * Reads the rest of a reply into s->reply / s->got. deadline 0 reads
 * only what has arrived: -EAGAIN when that is not yet all of it. Returns
 * 0 once all 8 bytes are in, HS_EOF when the server closed first,
 * -ETIMEDOUT, -EINTR (only when interruptible), or the socket's error.
 */
int hs_read_reply(int fd, struct fdslot *s, int64_t deadline, bool interruptible);

struct socks4_reply;

/*
 * Judges a finished exchange: a transport failure (err < 0, at stage), a
 * malformed reply, or the reply's code. Logs what went wrong as
 * "WHAT via SERVER: ..." and returns the errno for the program (positive),
 * or 0 with *r filled for a granted request. A refusal is ECONNREFUSED.
 */
int hs_outcome(const char *what, struct v4 server, const struct fdslot *s,
	       int err, enum hs_stage stage, unsigned timeout_ms,
	       struct socks4_reply *r);

#endif
