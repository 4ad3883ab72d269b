/*
 * socks4.h - the SOCKS version 4 wire format, and nothing else.
 *
 * Pure functions over byte buffers: no I/O, no allocation, no globals.
 * The shim, the bundled server and the fuzzers all share this code.
 * Reference: draft-vance-socks-v4-09, sections 3 (CONNECT) and 4 (BIND);
 * SOCKS 4A ("SOCKS 4A: A Simple Extension to SOCKS 4 Protocol", Ying-Da
 * Lee) for requests that carry a host name for the server to resolve.
 */
#ifndef SOCKS4_H
#define SOCKS4_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS4_VERSION 4       /* VN of a request */
#define SOCKS4_REPLY_VERSION 0 /* VN of a reply */

#define SOCKS4_CMD_CONNECT 1
#define SOCKS4_CMD_BIND 2

#define SOCKS4_REPLY_GRANTED 90
#define SOCKS4_REPLY_REJECTED 91
#define SOCKS4_REPLY_NO_IDENTD 92
#define SOCKS4_REPLY_IDENT_MISMATCH 93

#define SOCKS4_REPLY_LEN 8
#define SOCKS4_REQUEST_FIXED_LEN 8 /* VN CD DSTPORT DSTIP, before USERID */

/*
 * The longest USERID either side accepts, without its NUL. The spec sets
 * no limit; 1024 is what the bundled server enforces, and the shim refuses
 * to send more rather than be cut off.
 */
#define SOCKS4_USERID_MAX 1024
#define SOCKS4_REQUEST_MAX (SOCKS4_REQUEST_FIXED_LEN + SOCKS4_USERID_MAX + 1)

/*
 * SOCKS 4A: DSTIP 0.0.0.x with x non-zero says "no address, resolve the
 * name that follows the USERID". The longest name either side accepts,
 * without its NUL: 255, DNS's limit on a name (RFC 1035 section 2.3.4).
 */
#define SOCKS4_HOST_MAX 255
#define SOCKS4_REQUEST_4A_MAX (SOCKS4_REQUEST_MAX + SOCKS4_HOST_MAX + 1)

/* Addresses and ports are kept in network byte order, as on the wire. */
struct socks4_request {
	uint8_t command;
	uint16_t port;
	uint32_t addr;
	const char *userid; /* points into the parsed buffer, NUL-terminated */
	size_t userid_len;
	const char *host; /* 4A: the name, in the buffer, NUL-terminated; */
	size_t host_len;  /* NULL and 0 for a plain SOCKS4 request */
};

struct socks4_reply {
	uint8_t code;
	uint16_t port;
	uint32_t addr;
};

/* socks4_parse_request() outcomes; "complete" is the positive byte count. */
enum {
	SOCKS4_NEED_MORE = 0,
	SOCKS4_MALFORMED = -1,
	SOCKS4_USERID_TOO_LONG = -2,
	SOCKS4_HOST_TOO_LONG = -3, /* 4A: no NUL within SOCKS4_HOST_MAX bytes */
	SOCKS4_HOST_INVALID = -4,  /* 4A: empty name, or a byte no name holds */
};

/*
 * Writes a request into buf. Returns the number of bytes written, or
 * -EMSGSIZE when userid is longer than SOCKS4_USERID_MAX or buf is short,
 * -EINVAL for an unknown command.
 */
int socks4_build_request(uint8_t *buf, size_t cap, uint8_t command,
			 uint32_t addr, uint16_t port, const char *userid);

/*
 * Writes a SOCKS 4A request for host (DSTIP 0.0.0.1) into buf. Returns the
 * number of bytes written, -EINVAL for an unknown command or a host that
 * socks4_host_valid() refuses, -EMSGSIZE when userid is longer than
 * SOCKS4_USERID_MAX, -ENOSPC when buf is short.
 */
int socks4_build_request_4a(uint8_t *buf, size_t cap, uint8_t command,
			    uint16_t port, const char *userid, const char *host);

/*
 * Whether byte c may appear in a host name sent in a 4A request: letters,
 * digits, '-', '.' and '_' (RFC 1123's names, with the underscore that
 * real zones carry). Anything else (controls, space, '/', 8-bit bytes)
 * is not a name a resolver should be asked for.
 */
int socks4_host_char(uint8_t c);

/*
 * Whether the first len bytes of name form a host name a 4A request may
 * carry: 1 to SOCKS4_HOST_MAX bytes, each one socks4_host_char() accepts.
 */
int socks4_host_valid(const char *name, size_t len);

/*
 * Parses a request from the first len bytes of buf. Returns the request's
 * length in bytes when it is complete (bytes after it are not the
 * request's), SOCKS4_NEED_MORE, SOCKS4_MALFORMED (wrong version or
 * command), or SOCKS4_USERID_TOO_LONG once more than userid_max bytes of
 * USERID have arrived without a NUL. On success req->userid points into
 * buf. A userid_max above INT_MAX - 9 - SOCKS4_HOST_MAX - 1 (SIZE_MAX for
 * "no limit") counts as that, so the length always fits the result.
 *
 * DSTIP 0.0.0.x with x non-zero is a 4A request: after the USERID's NUL
 * the parser wants the host name and its NUL, judging each byte as it
 * comes: SOCKS4_HOST_INVALID at a byte socks4_host_char() refuses or at
 * an empty name, SOCKS4_HOST_TOO_LONG once SOCKS4_HOST_MAX + 1 bytes have
 * come without a NUL. On success req->host points into buf; req->addr
 * keeps the 0.0.0.x as sent. For any other DSTIP req->host is NULL.
 * So a verdict, once given for a prefix, holds for every longer one.
 */
int socks4_parse_request(const uint8_t *buf, size_t len, size_t userid_max,
			 struct socks4_request *req);

/* Writes the 8-byte reply. */
void socks4_build_reply(uint8_t buf[SOCKS4_REPLY_LEN], uint8_t code,
			uint32_t addr, uint16_t port);

/*
 * Parses an 8-byte reply. Returns 0, or -EPROTO when VN is not 0 or CD is
 * not one of the four codes the spec defines.
 */
int socks4_parse_reply(const uint8_t buf[SOCKS4_REPLY_LEN],
		       struct socks4_reply *reply);

/* The errno a refused request becomes at the program's connect(). */
int socks4_reply_errno(uint8_t code);

/* The spec's wording for a reply code ("request granted", ...). */
const char *socks4_reply_str(uint8_t code);

#endif
