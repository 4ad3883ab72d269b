/*
 * socks4.c - build and parse SOCKS4 requests and replies (see socks4.h).
 */
#include "socks4.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v_be)
{
	memcpy(p, &v_be, 2);
}

static void put32(uint8_t *p, uint32_t v_be)
{
	memcpy(p, &v_be, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/*
 * Request (draft section 3.1 and 4.1):
 *
 *	+----+----+----+----+----+----+----+----+----+----+....+----+
 *	| VN | CD | DSTPORT |      DSTIP        | USERID       |NULL|
 *	+----+----+----+----+----+----+----+----+----+----+....+----+
 *	   1    1      2              4           variable       1
 */
int socks4_build_request(uint8_t *buf, size_t cap, uint8_t command,
			 uint32_t addr, uint16_t port, const char *userid)
{
	size_t ulen = userid ? strlen(userid) : 0;
	size_t total = SOCKS4_REQUEST_FIXED_LEN + ulen + 1;

	if (command != SOCKS4_CMD_CONNECT && command != SOCKS4_CMD_BIND)
		return -EINVAL;
	if (ulen > SOCKS4_USERID_MAX || total > cap)
		return -EMSGSIZE;

	buf[0] = SOCKS4_VERSION;
	buf[1] = command;
	put16(buf + 2, port);
	put32(buf + 4, addr);
	if (ulen)
		memcpy(buf + SOCKS4_REQUEST_FIXED_LEN, userid, ulen);
	buf[SOCKS4_REQUEST_FIXED_LEN + ulen] = '\0';
	return (int)total;
}

int socks4_parse_request(const uint8_t *buf, size_t len, size_t userid_max,
			 struct socks4_request *req)
{
	const uint8_t *nul;
	size_t avail;

	/* A caller's "no limit" (SIZE_MAX) must neither wrap userid_max + 1
	 * to 0 nor allow a length the int result cannot carry. */
	if (userid_max > (size_t)INT_MAX - SOCKS4_REQUEST_FIXED_LEN - 1)
		userid_max = (size_t)INT_MAX - SOCKS4_REQUEST_FIXED_LEN - 1;

	/* Judge each field as soon as it is here: a wrong version is
	 * malformed after one byte, not after eight. */
	if (len >= 1 && buf[0] != SOCKS4_VERSION)
		return SOCKS4_MALFORMED;
	if (len >= 2 && buf[1] != SOCKS4_CMD_CONNECT &&
	    buf[1] != SOCKS4_CMD_BIND)
		return SOCKS4_MALFORMED;
	if (len <= SOCKS4_REQUEST_FIXED_LEN)
		return SOCKS4_NEED_MORE;

	avail = len - SOCKS4_REQUEST_FIXED_LEN;
	if (avail > userid_max + 1)
		avail = userid_max + 1;
	nul = memchr(buf + SOCKS4_REQUEST_FIXED_LEN, '\0', avail);
	if (!nul)
		return avail > userid_max ? SOCKS4_USERID_TOO_LONG
					  : SOCKS4_NEED_MORE;

	req->command = buf[1];
	req->port = get16(buf + 2);
	req->addr = get32(buf + 4);
	req->userid = (const char *)buf + SOCKS4_REQUEST_FIXED_LEN;
	req->userid_len = (size_t)(nul - (buf + SOCKS4_REQUEST_FIXED_LEN));
	return (int)(SOCKS4_REQUEST_FIXED_LEN + req->userid_len + 1);
}

/*
 * Reply (draft section 3.3, 4.2 and 4.3):
 *
 *	+----+----+----+----+----+----+----+----+
 *	| VN | CD | DSTPORT |      DSTIP        |
 *	+----+----+----+----+----+----+----+----+
 *	   1    1      2              4
 */
void socks4_build_reply(uint8_t buf[SOCKS4_REPLY_LEN], uint8_t code,
			uint32_t addr, uint16_t port)
{
	buf[0] = SOCKS4_REPLY_VERSION;
	buf[1] = code;
	put16(buf + 2, port);
	put32(buf + 4, addr);
}

int socks4_parse_reply(const uint8_t buf[SOCKS4_REPLY_LEN],
		       struct socks4_reply *reply)
{
	if (buf[0] != SOCKS4_REPLY_VERSION)
		return -EPROTO;
	if (buf[1] < SOCKS4_REPLY_GRANTED || buf[1] > SOCKS4_REPLY_IDENT_MISMATCH)
		return -EPROTO;
	reply->code = buf[1];
	reply->port = get16(buf + 2);
	reply->addr = get32(buf + 4);
	return 0;
}

int socks4_reply_errno(uint8_t code)
{
	switch (code) {
	case SOCKS4_REPLY_GRANTED:
		return 0;
	case SOCKS4_REPLY_REJECTED:
	case SOCKS4_REPLY_NO_IDENTD:
	case SOCKS4_REPLY_IDENT_MISMATCH:
		return ECONNREFUSED;
	default:
		return EPROTO;
	}
}

const char *socks4_reply_str(uint8_t code)
{
	switch (code) {
	case SOCKS4_REPLY_GRANTED:
		return "request granted";
	case SOCKS4_REPLY_REJECTED:
		return "request rejected or failed";
	case SOCKS4_REPLY_NO_IDENTD:
		return "request rejected: the server cannot reach identd on this host";
	case SOCKS4_REPLY_IDENT_MISMATCH:
		return "request rejected: identd reports a different user id";
	default:
		return "not a SOCKS4 reply code";
	}
}
