/*
 * fuzz_reply.c - libFuzzer: the reply parser and the words and errnos it
 * leads to. Any 8 bytes must parse or be refused with -EPROTO, nothing
 * else; a parsed reply must rebuild to the same bytes.
 */
#include "socks4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct socks4_reply r;
	uint8_t again[SOCKS4_REPLY_LEN];
	int rc;

	if (len < SOCKS4_REPLY_LEN)
		return 0;
	rc = socks4_parse_reply(data, &r);
	if (rc != 0 && rc != -EPROTO)
		abort();
	if (rc == 0) {
		socks4_build_reply(again, r.code, r.addr, r.port);
		if (memcmp(again, data, SOCKS4_REPLY_LEN))
			abort();
		if ((socks4_reply_errno(r.code) == 0) != (r.code == SOCKS4_REPLY_GRANTED))
			abort();
	}
	if (!socks4_reply_str(data[1]) || !*socks4_reply_str(data[1]))
		abort();
	return 0;
}
