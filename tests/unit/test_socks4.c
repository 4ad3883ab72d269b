/* test_socks4.c - the SOCKS4 codec: requests and replies, field by field. */
#include "socks4.h"
#include "check.h"
#include "v4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>

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

/*
 * Every prefix of buf shorter than n is undecided; n bytes get verdict,
 * and so do n bytes and a NUL after them (n + 1 must fit buf).
 */
static void check_decided_at(uint8_t *buf, size_t n, int verdict)
{
	struct socks4_request req;

	for (size_t len = 0; len < n; len++)
		CHECK_EQ_INT(socks4_parse_request(buf, len, SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req), verdict);
	buf[n] = '\0';
	CHECK_EQ_INT(socks4_parse_request(buf, n + 1, SOCKS4_USERID_MAX, &req),
		     verdict);
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
	size_t n = long_request(buf, SOCKS4_USERID_MAX + 1, 1);

	/* byte by byte: undecided through 1024 bytes of user id, too long at
	 * the 1025th, whether or not a NUL would have followed */
	check_decided_at(buf, n, SOCKS4_USERID_TOO_LONG);
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

/* --- SOCKS 4A: socks4_build_request_4a and the parser's 4A path ----- */

/* A 4A CONNECT to port 80 with user id "u" and a name of n 'h's, its
 * NUL left off when open. DSTIP 0.0.0.x. */
static size_t long_request_4a(uint8_t *buf, uint8_t x, size_t n, int open)
{
	static const uint8_t head[] = { 4, 1, 0, 80, 0, 0, 0, 0, 'u', 0 };

	memcpy(buf, head, sizeof head);
	buf[7] = x;
	memset(buf + sizeof head, 'h', n);
	if (open)
		return sizeof head + n;
	buf[sizeof head + n] = '\0';
	return sizeof head + n + 1;
}

TEST(build_request_4a_fields)
{
	static const uint8_t want[] = { 4, 1, 0x00, 0x50, 0, 0, 0, 1, 'b', 'o',
					'b', 0, 'f', 'i', 'l', 'e', 's', '.',
					'e', 'x', 'a', 'm', 'p', 'l', 'e', 0 };
	uint8_t buf[64];

	memset(buf, 0xee, sizeof buf);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(80), "bob", "files.example"),
		     sizeof want);
	CHECK(memcmp(buf, want, sizeof want) == 0);
	CHECK_EQ_INT(buf[sizeof want], 0xee);
}

TEST(build_request_4a_bind_and_null_userid)
{
	static const uint8_t want[] = { 4, 2, 0x00, 0x15, 0, 0, 0, 1, 0,
					'f', 't', 'p', '-', '1', '_', 'x', '.', 0 };
	uint8_t buf[64];

	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_BIND,
					     htons(21), NULL, "ftp-1_x."),
		     sizeof want);
	CHECK(memcmp(buf, want, sizeof want) == 0);
}

TEST(build_request_4a_unknown_command)
{
	uint8_t buf[64];

	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, 0, 0, "u", "h"),
		     -EINVAL);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, 3, 0, "u", "h"),
		     -EINVAL);
}

TEST(build_request_4a_name_bounds)
{
	static uint8_t buf[SOCKS4_REQUEST_4A_MAX + 16];
	static char name[SOCKS4_HOST_MAX + 2];

	memset(name, 'h', SOCKS4_HOST_MAX);
	name[SOCKS4_HOST_MAX] = '\0';
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), "", name),
		     SOCKS4_REQUEST_FIXED_LEN + 1 + SOCKS4_HOST_MAX + 1);
	name[SOCKS4_HOST_MAX] = 'h';
	name[SOCKS4_HOST_MAX + 1] = '\0';
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), "", name),
		     -EINVAL);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), "", ""),
		     -EINVAL);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), "", NULL),
		     -EINVAL);
}

TEST(build_request_4a_bad_bytes)
{
	static const char *bad[] = { "a b", "a\tb", "a\nb", "a\x01", "\x7f",
				     "caf\xc3\xa9", "a/b", "a:b", "a@b", "a%b" };
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf,
						     SOCKS4_CMD_CONNECT, htons(1),
						     "u", bad[i]),
			     -EINVAL);
}

TEST(build_request_4a_longest)
{
	static uint8_t buf[SOCKS4_REQUEST_4A_MAX];
	static char uid[SOCKS4_USERID_MAX + 1], name[SOCKS4_HOST_MAX + 1];

	memset(uid, 'u', SOCKS4_USERID_MAX);
	memset(name, 'h', SOCKS4_HOST_MAX);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), uid, name),
		     SOCKS4_REQUEST_4A_MAX);
	CHECK_EQ_INT(buf[SOCKS4_REQUEST_4A_MAX - 1], 0);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf - 1,
					     SOCKS4_CMD_CONNECT, htons(1), uid,
					     name),
		     -ENOSPC);
}

TEST(build_request_4a_userid_too_long)
{
	static uint8_t buf[SOCKS4_REQUEST_4A_MAX + 16];
	static char uid[SOCKS4_USERID_MAX + 2];

	memset(uid, 'u', SOCKS4_USERID_MAX + 1);
	CHECK_EQ_INT(socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					     htons(1), uid, "h"),
		     -EMSGSIZE);
}

TEST(build_request_4a_short_buffer)
{
	uint8_t buf[16];

	/* 8 + "u\0" + "host\0" = 15 */
	CHECK_EQ_INT(socks4_build_request_4a(buf, 14, SOCKS4_CMD_CONNECT, 0, "u",
					     "host"),
		     -ENOSPC);
	CHECK_EQ_INT(socks4_build_request_4a(buf, 15, SOCKS4_CMD_CONNECT, 0, "u",
					     "host"),
		     15);
	CHECK_EQ_INT(socks4_build_request_4a(buf, 0, SOCKS4_CMD_CONNECT, 0, "u",
					     "host"),
		     -ENOSPC);
}

TEST(host_valid_rules)
{
	CHECK(socks4_host_valid("files.example", 13));
	CHECK(socks4_host_valid("A-z_0.9", 7));
	CHECK(!socks4_host_valid("", 0));
	CHECK(!socks4_host_valid("a b", 3));
	CHECK(!socks4_host_valid("ab\0c", 4)); /* a NUL inside the length */
	for (int c = 0; c < 256; c++) {
		int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			   c == '_';

		CHECK_EQ_INT(socks4_host_char((uint8_t)c), want);
	}
}

TEST(parse_request_plain_has_no_host)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request(buf, sizeof buf, SOCKS4_CMD_CONNECT,
				     ip("127.0.0.1"), htons(80), "bob");

	req.host = "stale";
	req.host_len = 5;
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SOCKS4_USERID_MAX, &req), n);
	CHECK(req.host == NULL);
	CHECK_EQ_INT(req.host_len, 0);
}

TEST(parse_request_4a_round_trip)
{
	static const uint8_t commands[] = { SOCKS4_CMD_CONNECT, SOCKS4_CMD_BIND };
	uint8_t buf[64];
	struct socks4_request req;

	for (size_t i = 0; i < sizeof commands; i++) {
		int n = socks4_build_request_4a(buf, sizeof buf, commands[i],
						htons(2121), "alice",
						"files.example");

		CHECK_EQ_INT(n, 8 + 6 + 14);
		CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SOCKS4_USERID_MAX,
						  &req),
			     n);
		CHECK_EQ_INT(req.command, commands[i]);
		CHECK_EQ_INT(req.port, htons(2121));
		CHECK_EQ_INT(req.addr, ip("0.0.0.1"));
		CHECK_EQ_STR(req.userid, "alice");
		CHECK_EQ_INT(req.userid_len, 5);
		CHECK(req.host == (const char *)buf + 14);
		CHECK_EQ_STR(req.host, "files.example");
		CHECK_EQ_INT(req.host_len, 13);
	}
}

/* Only the name's NUL completes a 4A request; the user id's does not. */
TEST(parse_request_4a_one_byte_at_a_time)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					htons(443), "carol", "a.example");

	CHECK(n > 0);
	for (int len = 0; len < n; len++)
		CHECK_EQ_INT(socks4_parse_request(buf, (size_t)len,
						  SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SOCKS4_USERID_MAX, &req), n);
	CHECK_EQ_STR(req.host, "a.example");
}

/* 0.0.0.x for every x from 1 to 255 is 4A; 0.0.0.0 and 0.0.1.1 are not. */
TEST(parse_request_4a_which_dstip)
{
	static uint8_t buf[64];
	struct socks4_request req;
	size_t n;

	for (int x = 1; x < 256; x++) {
		n = long_request_4a(buf, (uint8_t)x, 3, 0);
		CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req),
			     n);
		CHECK_EQ_INT(req.host_len, 3);
		CHECK_EQ_INT(socks4_parse_request(buf, 10, SOCKS4_USERID_MAX, &req),
			     SOCKS4_NEED_MORE);
	}
	n = long_request_4a(buf, 0, 3, 0);
	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req), 10);
	CHECK(req.host == NULL);
	n = long_request_4a(buf, 1, 3, 0);
	buf[6] = 1;
	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req), 10);
	CHECK(req.host == NULL);
	CHECK_EQ_INT(req.addr, ip("0.0.1.1"));
}

TEST(parse_request_4a_name_at_the_limit)
{
	static uint8_t buf[SOCKS4_REQUEST_4A_MAX + 8];
	struct socks4_request req;
	size_t n = long_request_4a(buf, 7, SOCKS4_HOST_MAX, 0);

	CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req), n);
	CHECK_EQ_INT(req.host_len, SOCKS4_HOST_MAX);
	CHECK_EQ_INT(req.addr, ip("0.0.0.7"));
	CHECK_EQ_INT(socks4_parse_request(buf, n - 1, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
}

TEST(parse_request_4a_name_one_past_the_limit)
{
	static uint8_t buf[SOCKS4_REQUEST_4A_MAX + 8];
	size_t n = long_request_4a(buf, 1, SOCKS4_HOST_MAX + 1, 1);

	check_decided_at(buf, n, SOCKS4_HOST_TOO_LONG);
}

/* A byte no name holds is refused when it comes, not at the NUL. */
TEST(parse_request_4a_bad_bytes)
{
	static const uint8_t bad[] = { 1, '\t', '\n', ' ', '/', ':', '@', 0x7f,
				       0x80, 0xc3, 0xff };
	static uint8_t buf[64];
	struct socks4_request req;

	for (size_t i = 0; i < sizeof bad; i++) {
		size_t n = long_request_4a(buf, 1, 6, 0);

		buf[13] = bad[i]; /* the fourth byte of the name */
		for (size_t len = 0; len < 14; len++)
			CHECK_EQ_INT(socks4_parse_request(buf, len,
							  SOCKS4_USERID_MAX, &req),
				     SOCKS4_NEED_MORE);
		CHECK_EQ_INT(socks4_parse_request(buf, 14, SOCKS4_USERID_MAX, &req),
			     SOCKS4_HOST_INVALID);
		CHECK_EQ_INT(socks4_parse_request(buf, n, SOCKS4_USERID_MAX, &req),
			     SOCKS4_HOST_INVALID);
	}
}

TEST(parse_request_4a_empty_name)
{
	static const uint8_t buf[] = { 4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 0,
				       'h', 0 };
	struct socks4_request req;

	CHECK_EQ_INT(socks4_parse_request(buf, 10, SOCKS4_USERID_MAX, &req),
		     SOCKS4_NEED_MORE);
	CHECK_EQ_INT(socks4_parse_request(buf, 11, SOCKS4_USERID_MAX, &req),
		     SOCKS4_HOST_INVALID);
	CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf, SOCKS4_USERID_MAX, &req),
		     SOCKS4_HOST_INVALID);
}

/* The user id's limit is judged first, as in a plain request. */
TEST(parse_request_4a_userid_too_long)
{
	static const uint8_t buf[] = { 4, 1, 0, 80, 0, 0, 0, 1, 'b', 'o', 'b', 0,
				       'h', 0 };
	struct socks4_request req;

	CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf, 2, &req),
		     SOCKS4_USERID_TOO_LONG);
	CHECK_EQ_INT(socks4_parse_request(buf, sizeof buf, 3, &req), sizeof buf);
}

TEST(parse_request_4a_trailing_bytes)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					htons(7), "", "h.example");

	memcpy(buf + n, "GET /\0 HTTP", 11);
	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n + 11, SOCKS4_USERID_MAX,
					  &req),
		     n);
	CHECK_EQ_STR(req.host, "h.example");
}

TEST(parse_request_4a_huge_limit)
{
	uint8_t buf[64];
	struct socks4_request req;
	int n = socks4_build_request_4a(buf, sizeof buf, SOCKS4_CMD_CONNECT,
					htons(80), "dave", "d.example");

	CHECK_EQ_INT(socks4_parse_request(buf, (size_t)n, SIZE_MAX, &req), n);
	CHECK_EQ_STR(req.host, "d.example");
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
	RUN(build_request_4a_fields);
	RUN(build_request_4a_bind_and_null_userid);
	RUN(build_request_4a_unknown_command);
	RUN(build_request_4a_name_bounds);
	RUN(build_request_4a_bad_bytes);
	RUN(build_request_4a_longest);
	RUN(build_request_4a_userid_too_long);
	RUN(build_request_4a_short_buffer);
	RUN(host_valid_rules);
	RUN(parse_request_plain_has_no_host);
	RUN(parse_request_4a_round_trip);
	RUN(parse_request_4a_one_byte_at_a_time);
	RUN(parse_request_4a_which_dstip);
	RUN(parse_request_4a_name_at_the_limit);
	RUN(parse_request_4a_name_one_past_the_limit);
	RUN(parse_request_4a_bad_bytes);
	RUN(parse_request_4a_empty_name);
	RUN(parse_request_4a_userid_too_long);
	RUN(parse_request_4a_trailing_bytes);
	RUN(parse_request_4a_huge_limit);
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
