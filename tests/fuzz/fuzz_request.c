/*
 * fuzz_request.c - libFuzzer: the server's incremental request parser.
 * Fed every prefix of the input, it must never claim more bytes than it
 * was given, never change its mind once complete or malformed, and a
 * complete request must rebuild byte for byte: a plain one through
 * socks4_build_request(), a 4A one through socks4_build_request_4a()
 * (which always sends DSTIP 0.0.0.1, so the x of 0.0.0.x is set back).
 */
#include "socks4.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct socks4_request req;
	uint8_t again[SOCKS4_REQUEST_4A_MAX];
	size_t limit;
	int final = SOCKS4_NEED_MORE;

	if (len < 1)
		return 0;
	/* the first byte picks the user id limit, the rest is the stream */
	limit = data[0] % 3 == 0 ? SOCKS4_USERID_MAX : data[0] % 40;
	data++;
	len--;
	for (size_t n = 0; n <= len; n++) {
		int rc = socks4_parse_request(data, n, limit, &req);

		if (rc > 0 && (size_t)rc > n)
			abort();
		if (final != SOCKS4_NEED_MORE && rc != final)
			abort(); /* decided once, decided for good */
		final = rc;
	}
	if (final > 0) {
		char uid[SOCKS4_USERID_MAX + 1], host[SOCKS4_HOST_MAX + 1];
		int built;

		socks4_parse_request(data, len, limit, &req);
		if (req.userid_len > limit || req.userid_len > SOCKS4_USERID_MAX)
			abort();
		memcpy(uid, req.userid, req.userid_len);
		uid[req.userid_len] = '\0';
		if (req.host) {
			if (req.host_len == 0 || req.host_len > SOCKS4_HOST_MAX ||
			    !socks4_host_valid(req.host, req.host_len))
				abort();
			memcpy(host, req.host, req.host_len);
			host[req.host_len] = '\0';
			built = socks4_build_request_4a(again, sizeof(again),
							req.command, req.port, uid,
							host);
			if (built > 7)
				again[7] = data[7];
		} else {
			if (req.host_len != 0)
				abort();
			built = socks4_build_request(again, sizeof(again), req.command,
						     req.addr, req.port, uid);
		}
		if (built != final || memcmp(again, data, (size_t)built))
			abort();
	}
	return 0;
}
