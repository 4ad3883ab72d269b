/*
 * socks4.h - the SOCKS version 4 wire format, and nothing else.
 *
 * Pure functions over byte buffers: no I/O, no allocation, no globals.
 * The shim, the bundled server and the fuzzers all share this code.
 * Reference: draft-vance-socks-v4-09, sections 3 (CONNECT) and 4 (BIND).
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

/* Addresses and ports are kept in network byte order, as on the wire. */
struct socks4_request {
	uint8_t command;
	uint16_t port;
	uint32_t addr;
	const char *userid; /* points into the parsed buffer, NUL-terminated */
	size_t userid_len;
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
};

/*
 * Writes a request into buf. Returns the number of bytes written, or
 * -EMSGSIZE when userid is longer than SOCKS4_USERID_MAX or buf is short,
 * -EINVAL for an unknown command.
 */
int socks4_build_request(uint8_t *buf, size_t cap, uint8_t command,
			 uint32_t addr, uint16_t port, const char *userid);

/*
 * Parses a request from the first len bytes of buf. Returns the request's
 * length in bytes when it is complete (bytes after it are not the
 * request's), SOCKS4_NEED_MORE, SOCKS4_MALFORMED (wrong version or
 * command), or SOCKS4_USERID_TOO_LONG once more than userid_max bytes of
 * USERID have arrived without a NUL. On success req->userid points into
 * buf. A userid_max above INT_MAX - 9 (SIZE_MAX for "no limit") counts as
 * INT_MAX - 9, so the length always fits the result.
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
