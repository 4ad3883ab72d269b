/*
 * fuzz_config.c - libFuzzer: the socks4rc parser over arbitrary bytes.
 * It must accept or refuse with a message naming "fuzz:LINE", never
 * crash, read past the buffer, or leave the settings inconsistent.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct config c;
	char *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees overreads */
	int rc;

	if (!copy)
		return 0;
	memcpy(copy, data, len);
	config_defaults(&c);
	rc = config_parse(&c, copy, len, "fuzz");
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc != 0 && strncmp(c.error, "fuzz:", 5))
		abort();
	if (rc == 0 && c.error[0])
		abort();
	if (c.routes.n > ROUTE_MAX || memchr(c.error, '\0', sizeof(c.error)) == NULL)
		abort();
	free(copy);
	return 0;
}
