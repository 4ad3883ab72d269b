/*
 * fuzz_names.c - libFuzzer: the host-name validator (names_valid(), on
 * socks4_host_valid()) and the fake-address table behind it
 * (src/core/names.c), over arbitrary bytes. Every name a program asks
 * for passes through them before it can reach a SOCKS4A request, so:
 * the validator's answer is the rule names.h states, computed here
 * independently; a name it takes gets a fake address, the same one when
 * asked again in another case, and that address gives the name back; a
 * name it refuses gets none.
 */
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* names.h's rule: 1 to NAMES_LEN bytes of letters, digits, '-', '.',
 * '_', not starting with '.', one trailing '.' dropped first */
static int oracle(const uint8_t *p, size_t len)
{
	if (len > 1 && p[len - 1] == '.')
		len--;
	if (len == 0 || len > NAMES_LEN || p[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *name, got[NAMES_LEN + 1];
	uint32_t ip, again;
	size_t trimmed;
	int valid, rc;

	name = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
	if (!name)
		return 0;
	memcpy(name, data, len);
	valid = names_valid(name, len);
	if (valid != oracle(data, len))
		abort();

	if (names_count() >= names_capacity())
		names_reset_for_test(); /* a full table refuses every new name */
	if (names_capacity() == 0 && names_setup(0xf0000000u, 20) != 0)
		abort(); /* 240.0.0.0/20, the default fake-range */
	rc = names_fake(name, len, &ip);
	if (!valid) {
		if (rc != -EINVAL)
			abort();
		free(name);
		return 0;
	}
	if (rc != 0 || !names_in_range(ip))
		abort();
	trimmed = len > 1 && name[len - 1] == '.' ? len - 1 : len;
	if (names_lookup(ip, got, sizeof(got)) != 0 || strlen(got) != trimmed ||
	    strncasecmp(got, name, trimmed) != 0)
		abort();
	/* the same name in another case is the same name */
	for (size_t i = 0; i < len; i++)
		if (name[i] >= 'a' && name[i] <= 'z')
			name[i] = (char)(name[i] - 'a' + 'A');
	if (names_fake(name, len, &again) != 0 || again != ip)
		abort();
	free(name);
	return 0;
}
