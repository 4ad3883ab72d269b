/*
 * fuzz_idn.c - libFuzzer: names to their "xn--" form (src/core/idn.c),
 * over arbitrary bytes, as getaddrinfo() with AI_IDN hands them over:
 * every answer is an error or ASCII of the length returned, within the
 * buffer, with no label over 63 bytes; a name of ASCII alone comes back
 * as it went in; and Punycode of arbitrary code points stays in bounds.
 */
#include "idn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void check_ascii(const char *out, int r, size_t cap)
{
	size_t label = 0;

	if ((size_t)r >= cap || strlen(out) != (size_t)r)
		abort();
	for (int i = 0; i < r; i++) {
		if ((unsigned char)out[i] >= 0x80)
			abort();
		label = out[i] == '.' ? 0 : label + 1;
		if (label > 63)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char out[300];
	uint32_t cp[64];
	size_t cap = len ? 1 + data[0] % sizeof(out) : sizeof(out);
	size_t n = len / 4 < 64 ? len / 4 : 64;
	int r;

	r = idn_to_ascii((const char *)data, len, out, cap);
	if (r >= 0) {
		check_ascii(out, r, cap);
		if (!idn_has_nonascii((const char *)data, len) &&
		    ((size_t)r != len || memcmp(out, data, len)))
			abort();
	} else if (r != -EILSEQ && r != -EINVAL && r != -ENAMETOOLONG) {
		abort();
	}
	memcpy(cp, data, n * 4);
	r = idn_punycode_encode(cp, n, out, cap);
	if (r >= 0 && ((size_t)r >= cap || out[r] != '\0'))
		abort();
	return 0;
}
