/* test_socks4.c - the SOCKS4 codec: requests and replies, field by field. */
#include "../../shim/socks4.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* A request with a user id of n 'u's, NUL-terminated unless open. */
static size_t long_request(uint8_t *buf, size_t n, int open)
{
	buf[0] = SOCKS4_VERSION;
	buf[1] = SOCKS4_CMD_CONNECT;
	buf[2] = 0;
	buf[3] = 80;
	memcpy(buf + 4, "\x7f\x00\x00\x01", 4);
	memset(buf + SOCKS4_REQUEST_FIXED_LEN, 'u', n);
	if (open)
		return SOCKS4_REQUEST_FIXED_LEN + n;
	buf[SOCKS4_REQUEST_FIXED_LEN + n] = '\0';
	return SOCKS4_REQUEST_FIXED_LEN + n + 1;
}

/* --- socks4_build_request ------------------------------------------- */

TEST(build_request_connect_fields)
{
	static const uint8_t want[] = { 4, 1, 0x1f, 0x90, 192, 0, 2, 7,
					'b', 'o', 'b', 0 };
	uint8_t buf[64];

	memset(buf, 0xee, sizeof buf);
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					  ip("192.0.2.7"), htons(8080), "bob"),
		     sizeof want);
	CHECK(memcmp(buf, want, sizeof want) == 0);
	CHECK_EQ_INT(buf[sizeof want], 0xee); /* nothing written past it */
}

TEST(build_request_bind_fields)
{
	static const uint8_t want[] = { 4, 2, 0x00, 0x15, 10, 1, 2, 3, 'x', 0 };
	uint8_t buf[64];

	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_BIND,
					  ip("10.1.2.3"), htons(21), "x"),
		     sizeof want);
	CHECK(memcmp(buf, want, sizeof want) == 0);
}

TEST(build_request_port_and_addr_byte_order)
{
	uint8_t buf[64];

	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					  htonl(0x01020304), htons(0xabcd), ""),
		     9);
	CHECK_EQ_INT(buf[2], 0xab);
	CHECK_EQ_INT(buf[3], 0xcd);
	CHECK_EQ_INT(buf[4], 1);
	CHECK_EQ_INT(buf[5], 2);
	CHECK_EQ_INT(buf[6], 3);
	CHECK_EQ_INT(buf[7], 4);
}

TEST(build_request_empty_and_null_userid)
{
	uint8_t buf[16];

	memset(buf, 0xee, sizeof buf);
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					  ip("127.0.0.1"), htons(1), ""),
		     SOCKS4_REQUEST_FIXED_LEN + 1);
	CHECK_EQ_INT(buf[SOCKS4_REQUEST_FIXED_LEN], 0);
	memset(buf, 0xee, sizeof buf);
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					  ip("127.0.0.1"), htons(1), NULL),
		     SOCKS4_REQUEST_FIXED_LEN + 1);
	CHECK_EQ_INT(buf[SOCKS4_REQUEST_FIXED_LEN], 0);
}

TEST(build_request_unknown_command)
{
	uint8_t buf[64];

	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, 0, 0, 0, "u"), -EINVAL);
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, 3, 0, 0, "u"), -EINVAL);
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, 255, 0, 0, "u"), -EINVAL);
}

TEST(build_request_userid_limit)
{
	static uint8_t buf[SOCKS4_REQUEST_MAX + 16];
	static char uid[SOCKS4_USERID_MAX + 2];

	memset(uid, 'u', SOCKS4_USERID_MAX);
	uid[SOCKS4_USERID_MAX] = '\0';
	CHECK_EQ_INT(socks4_build_request(buf, SOCKS4_REQUEST_MAX,
					  SOCKS4_CMD_CONNECT, 0, 0, uid),
		     SOCKS4_REQUEST_MAX);
	CHECK_EQ_INT(buf[SOCKS4_REQUEST_MAX - 1], 0);
	uid[SOCKS4_USERID_MAX] = 'u';
	uid[SOCKS4_USERID_MAX + 1] = '\0';
	CHECK_EQ_INT(socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					  0, 0, uid),
		     -EMSGSIZE);
}

TEST(build_request_short_buffer)
{
	uint8_t buf[12];

	CHECK_EQ_INT(socks4_build_request(buf, 11, SOCKS4_CMD_CONNECT, 0, 0, "bob"),
		     -EMSGSIZE);
	CHECK_EQ_INT(socks4_build_request(buf, 12, SOCKS4_CMD_CONNECT, 0, 0, "bob"),
		     12);
	CHECK_EQ_INT(socks4_build_request(buf, 0, SOCKS4_CMD_CONNECT, 0, 0, ""),
		     -EMSGSIZE);
	CHECK_EQ_INT(socks4_build_request(buf, SOCKS4_REQUEST_FIXED_LEN,
					  SOCKS4_CMD_CONNECT, 0, 0, ""),
		     -EMSGSIZE);
}

/* --- socks4_parse_request ------------------------------------------- */

TEST(parse_request_round_trip)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request(buf, sizeof buf, SOCKS4_CMD_BIND,
				     ip("198.51.100.7"), htons(20), "alice");

	CHECK_EQ_INT(n, 14);
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SOCKS4_USERID_MAX, &req), n);
	CHECK_EQ_INT(req.command, SOCKS4_CMD_BIND);
	CHECK_EQ_INT(req.port, htons(20));
	CHECK_EQ_INT(req.addr, ip("198.51.100.7"));
	CHECK_EQ_STR(req.userid, "alice");
	CHECK_EQ_INT(req.userid_len, 5);
	CHECK(req.userid == (const char *)buf + SOCKS4_REQUEST_FIXED_LEN);
}

TEST(parse_request_empty_userid)
{
	static const uint8_t buf[] = { 4, 1, 0, 80, 127, 0, 0, 1, 0 };
	struct socks4_request req;

	CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf, SOCKS4_USERID_MAX, &req),
		     sizeof buf);
	CHECK_EQ_INT(req.command, SOCKS4_CMD_CONNECT);
	CHECK_EQ_INT(req.port, htons(80));
	CHECK_EQ_INT(req.addr, ip("127.0.0.1"));
	CHECK_EQ_STR(req.userid, "");
	CHECK_EQ_INT(req.userid_len, 0);
}

/* The server's framing: whatever prefix arrives, only the last byte of
 * the request turns NEED_MORE into its length. */
TEST(parse_request_one_byte_at_a_time)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
				     ip("10.9.8.7"), htons(443), "carol");

	CHECK(n > 0);
	for (int len = 0; len < n; len++)
		CHECK_EQ_INT(socks4_parse_request(buf, (size_t)len,
						  SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SOCKS4_USERID_MAX, &req), n);
	CHECK_EQ_STR(req.userid, "carol");
	CHECK_EQ_INT(req.port, htons(443));
}

TEST(parse_request_trailing_bytes_are_not_the_request)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
				     ip("127.0.0.1"), htons(7), "bob");

	memcpy(buf + n, "GET / HTTP/1.0\r\n", 16);
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n + 16, SOCKS4_USERID_MAX,
					  &req),
		     n);
	CHECK_EQ_STR(req.userid, "bob");
	/* a NUL in the trailing bytes must not extend the user id */
	buf[n + 3] = '\0';
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n + 16, SOCKS4_USERID_MAX,
					  &req),
		     n);
	CHECK_EQ_INT(req.userid_len, 3);
}

TEST(parse_request_malformed_at_first_byte)
{
	static const uint8_t versions[] = { 0, 3, 5, 0x80, 0xff };
	struct socks4_request req;

	for (size_t i = 0; i < sizeof versions; i++) {
		uint8_t buf[9] = { versions[i], 1, 0, 80, 127, 0, 0, 1, 0 };

		CHECK_EQ_INT(socks4_parse_request(buf, 1, SOCKS4_USERID_MAX, &req),
			     SOCKS4_MALFORMED);
		CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf,
						  SOCKS4_USERID_MAX, &req),
			     SOCKS4_MALFORMED);
	}
}

TEST(parse_request_malformed_at_second_byte)
{
	static const uint8_t commands[] = { 0, 3, 4, 90, 0xff };
	struct socks4_request req;

	for (size_t i = 0; i < sizeof commands; i++) {
		uint8_t buf[9] = { 4, commands[i], 0, 80, 127, 0, 0, 1, 0 };

		CHECK_EQ_INT(socks4_parse_request(buf, 1, SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
		CHECK_EQ_INT(socks4_parse_request(buf, 2, SOCKS4_USERID_MAX, &req),
			     SOCKS4_MALFORMED);
		CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf,
						  SOCKS4_USERID_MAX, &req),
			     SOCKS4_MALFORMED);
	}
}

TEST(parse_request_valid_commands_need_more_after_two_bytes)
{
	static const uint8_t connect[2] = { 4, 1 }, bind[2] = { 4, 2 };
	struct socks4_request req;

	CHECK_EQ_INT(socks4_parse_request(connect, 2, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(bind, 2, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(connect, 0, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
}

TEST(parse_request_userid_at_the_limit)
{
	static uint8_t buf[SOCKS4_REQUEST_MAX + 8];
	struct socks4_request req;
	size_t n = long_request(buf, SOCKS4_USERID_MAX, 0);

	CHECK_EQ_INT(n, SOCKS4_REQUEST_MAX);
	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req), n);
	CHECK_EQ_INT(req.userid_len, SOCKS4_USERID_MAX);
	/* the limit itself, still waiting for the NUL */
	CHECK_EQ_INT(socks4_parse_request(buf, n - 1, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
}

TEST(parse_request_userid_one_past_the_limit)
{
	static uint8_t buf[SOCKS4_REQUEST_MAX + 8];
	struct socks4_request req;
	size_t n = long_request(buf, SOCKS4_USERID_MAX + 1, 1);

	/* byte by byte: undecided through 1024 bytes of user id, too long at
	 * the 1025th, whether or not a NUL would have followed */
	for (size_t len = 0; len < n; len++)
		CHECK_EQ_INT(socks4_parse_request(buf, len, SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req),
		     SOCKS4_USERID_TOO_LONG);
	buf[n] = '\0';
	CHECK_EQ_INT(socks4_parse_request(buf, n + 1, SOCKS4_USERID_MAX, &req),
		     SOCKS4_USERID_TOO_LONG);
}

TEST(parse_request_small_limits)
{
	static const uint8_t bob[] = { 4, 1, 0, 80, 127, 0, 0, 1, 'b', 'o', 'b', 0 };
	static const uint8_t bobx[] = { 4, 1, 0, 80, 127, 0, 0, 1, 'b', 'o', 'b', 'x' };
	static const uint8_t none[] = { 4, 1, 0, 80, 127, 0, 0, 1, 0 };
	struct socks4_request req;

	CHECK_EQ_INT(socks4_parse_request(bob, sizeof bob, 3, &req), sizeof bob);
	CHECK_EQ_INT(socks4_parse_request(bob, sizeof bob, 2, &req),
		     SOCKS4_USERID_TOO_LONG);
	CHECK_EQ_INT(socks4_parse_request(bobx, 11, 3, &req), SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(bobx, sizeof bobx, 3, &req),
		     SOCKS4_USERID_TOO_LONG);
	CHECK_EQ_INT(socks4_parse_request(none, sizeof none, 0, &req), sizeof none);
	CHECK_EQ_INT(socks4_parse_request(bob, 9, 0, &req), SOCKS4_USERID_TOO_LONG);
}

/* "No limit" from a caller must not wrap userid_max + 1 to 0. */
TEST(parse_request_huge_limit)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
				     ip("127.0.0.1"), htons(80), "dave");

	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SIZE_MAX, &req), n);
	CHECK_EQ_STR(req.userid, "dave");
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n - 1, SIZE_MAX, &req),
		     SOCKS4_NEED_MORE);
}

/* --- socks4_build_reply / socks4_parse_reply ------------------------ */

TEST(build_reply_fields)
{
	static const uint8_t want[SOCKS4_REPLY_LEN] = { 0, 90, 0x9c, 0x41,
							 127, 0, 0, 1 };
	uint8_t buf[SOCKS4_REPLY_LEN];

	socks4_build_reply(buf, SOCKS4_REPLY_GRANTED, ip("127.0.0.1"), htons(40001));
	CHECK(memcmp(buf, want, sizeof want) == 0);
}

TEST(build_reply_every_code)
{
	static const uint8_t codes[] = { SOCKS4_REPLY_GRANTED, SOCKS4_REPLY_REJECTED,
					 SOCKS4_REPLY_NO_IDENTD,
					 SOCKS4_REPLY_IDENT_MISMATCH };
	uint8_t buf[SOCKS4_REPLY_LEN];

	for (size_t i = 0; i < sizeof codes; i++) {
		socks4_build_reply(buf, codes[i], 0, 0);
		CHECK_EQ_INT(buf[0], SOCKS4_REPLY_VERSION);
		CHECK_EQ_INT(buf[1], codes[i]);
		CHECK_EQ_INT(buf[2] | buf[3] | buf[4] | buf[5] | buf[6] | buf[7], 0);
	}
}

TEST(parse_reply_every_defined_code)
{
	struct socks4_reply rep;

	for (int code = 90; code <= 93; code++) {
		uint8_t buf[SOCKS4_REPLY_LEN];

		socks4_build_reply(buf, (uint8_t)code, ip("203.0.113.9"), htons(2121));
		memset(&rep, 0, sizeof rep);
		CHECK_EQ_INT(socks4_parse_reply(buf, &rep), 0);
		CHECK_EQ_INT(rep.code, code);
		CHECK_EQ_INT(rep.port, htons(2121));
		CHECK_EQ_INT(rep.addr, ip("203.0.113.9"));
	}
}

TEST(parse_reply_undefined_codes)
{
	static const uint8_t codes[] = { 0, 1, 89, 94, 255 };
	struct socks4_reply rep;

	for (size_t i = 0; i < sizeof codes; i++) {
		uint8_t buf[SOCKS4_REPLY_LEN] = { 0, codes[i], 0, 80, 127, 0, 0, 1 };

		CHECK_EQ_INT(socks4_parse_reply(buf, &rep), -EPROTO);
	}
}

TEST(parse_reply_wrong_version)
{
	static const uint8_t versions[] = { 1, 4, 5, 0x80, 255 };
	struct socks4_reply rep;

	for (size_t i = 0; i < sizeof versions; i++) {
		uint8_t buf[SOCKS4_REPLY_LEN] = { versions[i], 90, 0, 80, 127, 0, 0, 1 };

		CHECK_EQ_INT(socks4_parse_reply(buf, &rep), -EPROTO);
	}
}

TEST(parse_reply_zero_address)
{
	/* BIND's first reply may carry 0.0.0.0 (draft 4.2); it is valid */
	static const uint8_t buf[SOCKS4_REPLY_LEN] = { 0, 90, 0x04, 0x38, 0, 0, 0, 0 };
	struct socks4_reply rep;

	CHECK_EQ_INT(socks4_parse_reply(buf, &rep), 0);
	CHECK_EQ_INT(rep.addr, 0);
	CHECK_EQ_INT(rep.port, htons(1080));
}

/* --- socks4_reply_errno / socks4_reply_str -------------------------- */

TEST(reply_errno_every_code)
{
	CHECK_EQ_INT(socks4_reply_errno(SOCKS4_REPLY_GRANTED), 0);
	CHECK_EQ_INT(socks4_reply_errno(SOCKS4_REPLY_REJECTED), ECONNREFUSED);
	CHECK_EQ_INT(socks4_reply_errno(SOCKS4_REPLY_NO_IDENTD), ECONNREFUSED);
	CHECK_EQ_INT(socks4_reply_errno(SOCKS4_REPLY_IDENT_MISMATCH), ECONNREFUSED);
	CHECK_EQ_INT(socks4_reply_errno(0), EPROTO);
	CHECK_EQ_INT(socks4_reply_errno(89), EPROTO);
	CHECK_EQ_INT(socks4_reply_errno(94), EPROTO);
	CHECK_EQ_INT(socks4_reply_errno(255), EPROTO);
}

TEST(reply_str_every_code)
{
	CHECK_EQ_STR(socks4_reply_str(SOCKS4_REPLY_GRANTED), "request granted");
	CHECK_EQ_STR(socks4_reply_str(SOCKS4_REPLY_REJECTED),
		     "request rejected or failed");
	CHECK_EQ_STR(socks4_reply_str(SOCKS4_REPLY_NO_IDENTD),
		     "request rejected: the server cannot reach identd on this host");
	CHECK_EQ_STR(socks4_reply_str(SOCKS4_REPLY_IDENT_MISMATCH),
		     "request rejected: identd reports a different user id");
	CHECK_EQ_STR(socks4_reply_str(0), "not a SOCKS4 reply code");
	CHECK_EQ_STR(socks4_reply_str(89), "not a SOCKS4 reply code");
	CHECK_EQ_STR(socks4_reply_str(94), "not a SOCKS4 reply code");
	CHECK_EQ_STR(socks4_reply_str(255), "not a SOCKS4 reply code");
}

int main(void)
{
	RUN(build_request_connect_fields);
	RUN(build_request_bind_fields);
	RUN(build_request_port_and_addr_byte_order);
	RUN(build_request_empty_and_null_userid);
	RUN(build_request_unknown_command);
	RUN(build_request_userid_limit);
	RUN(build_request_short_buffer);
	RUN(parse_request_round_trip);
	RUN(parse_request_empty_userid);
	RUN(parse_request_one_byte_at_a_time);
	RUN(parse_request_trailing_bytes_are_not_the_request);
	RUN(parse_request_malformed_at_first_byte);
	RUN(parse_request_malformed_at_second_byte);
	RUN(parse_request_valid_commands_need_more_after_two_bytes);
	RUN(parse_request_userid_at_the_limit);
	RUN(parse_request_userid_one_past_the_limit);
	RUN(parse_request_small_limits);
	RUN(parse_request_huge_limit);
	RUN(build_reply_fields);
	RUN(build_reply_every_code);
	RUN(parse_reply_every_defined_code);
	RUN(parse_reply_undefined_codes);
	RUN(parse_reply_wrong_version);
	RUN(parse_reply_zero_address);
	RUN(reply_errno_every_code);
	RUN(reply_str_every_code);
	return check_done();
}
