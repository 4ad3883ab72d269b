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

/*
 * SOCKS 4A request: a CONNECT or BIND whose DSTIP is 0.0.0.x, x non-zero,
 * and whose USERID is followed by the host name the server is to resolve:
 *
 *	+----+----+----+----+----+----+----+----+----+....+----+----+....+----+
 *	| VN | CD | DSTPORT |  0 |  0 |  0 |  x | USERID    |NULL| HOST      |NULL|
 *	+----+----+----+----+----+----+----+----+----+....+----+----+....+----+
 *	   1    1      2              4             variable    1   variable    1
 *
 * (SOCKS 4A, "A Simple Extension to SOCKS 4 Protocol": a client that
 * cannot resolve the destination sends 0.0.0.x; the server resolves HOST
 * and answers as for section 3.1, or 91 when it cannot.)
 */
#define SOCKS4A_DSTIP_BUILT 1 /* the x we send: 0.0.0.1 */

static int is_4a_dstip(const uint8_t *dstip)
{
	return dstip[0] == 0 && dstip[1] == 0 && dstip[2] == 0 && dstip[3] != 0;
}

int socks4_host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int socks4_host_valid(const char *name, size_t len)
{
	if (len == 0 || len > SOCKS4_HOST_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!socks4_host_char((uint8_t)name[i]))
			return 0;
	return 1;
}

int socks4_build_request_4a(uint8_t *buf, size_t cap, uint8_t command,
			    uint16_t port, const char *userid, const char *host)
{
	size_t ulen = userid ? strlen(userid) : 0;
	size_t hlen = host ? strnlen(host, SOCKS4_HOST_MAX + 1) : 0;
	size_t total;

	if (command != SOCKS4_CMD_CONNECT && command != SOCKS4_CMD_BIND)
		return -EINVAL;
	if (!host || !socks4_host_valid(host, hlen))
		return -EINVAL;
	if (ulen > SOCKS4_USERID_MAX)
		return -EMSGSIZE;
	total = SOCKS4_REQUEST_FIXED_LEN + ulen + 1 + hlen + 1;
	if (total > cap)
		return -ENOSPC;

	buf[0] = SOCKS4_VERSION;
	buf[1] = command;
	put16(buf + 2, port);
	buf[4] = buf[5] = buf[6] = 0;
	buf[7] = SOCKS4A_DSTIP_BUILT;
	if (ulen)
		memcpy(buf + SOCKS4_REQUEST_FIXED_LEN, userid, ulen);
	buf[SOCKS4_REQUEST_FIXED_LEN + ulen] = '\0';
	memcpy(buf + SOCKS4_REQUEST_FIXED_LEN + ulen + 1, host, hlen);
	buf[total - 1] = '\0';
	return (int)total;
}

/*
 * The 4A name from the len bytes at p: its length when its NUL is here,
 * else NEED_MORE or the verdict on the first byte that settles it.
 */
static int parse_host(const uint8_t *p, size_t len, size_t *host_len)
{
	size_t scan = len < SOCKS4_HOST_MAX + 1 ? len : SOCKS4_HOST_MAX + 1;

	for (size_t i = 0; i < scan; i++) {
		if (p[i] == '\0') {
			if (i == 0)
				return SOCKS4_HOST_INVALID;
			*host_len = i;
			return 1;
		}
		if (!socks4_host_char(p[i]))
			return SOCKS4_HOST_INVALID;
	}
	return scan > SOCKS4_HOST_MAX ? SOCKS4_HOST_TOO_LONG : SOCKS4_NEED_MORE;
}

int socks4_parse_request(const uint8_t *buf, size_t len, size_t userid_max,
			 struct socks4_request *req)
{
	const uint8_t *nul;
	size_t avail, ulen, used, hlen = 0;
	const char *host = NULL;

	/* A caller's "no limit" (SIZE_MAX) must neither wrap userid_max + 1
	 * to 0 nor allow a length the int result cannot carry, 4A name
	 * included. */
	if (userid_max > (size_t)INT_MAX - SOCKS4_REQUEST_FIXED_LEN - 1 -
				 SOCKS4_HOST_MAX - 1)
		userid_max = (size_t)INT_MAX - SOCKS4_REQUEST_FIXED_LEN - 1 -
			     SOCKS4_HOST_MAX - 1;

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
	ulen = (size_t)(nul - (buf + SOCKS4_REQUEST_FIXED_LEN));
	used = SOCKS4_REQUEST_FIXED_LEN + ulen + 1;

	if (is_4a_dstip(buf + 4)) {
		int r = parse_host(buf + used, len - used, &hlen);

		if (r <= 0)
			return r;
		host = (const char *)buf + used;
		used += hlen + 1;
	}

	req->command = buf[1];
	req->port = get16(buf + 2);
	req->addr = get32(buf + 4);
	req->userid = (const char *)buf + SOCKS4_REQUEST_FIXED_LEN;
	req->userid_len = ulen;
	req->host = host;
	req->host_len = hlen;
	return (int)used;
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
