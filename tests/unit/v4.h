/*
 * v4.h - IPv4 addresses written as text, for the unit tests: ip("a.b.c.d")
 * in network byte order, ep("a.b.c.d", port) as a struct v4 (addr.h).
 */
#ifndef TEST_V4_H
#define TEST_V4_H

#include "addr.h"

#include <arpa/inet.h>
#include <stdint.h>

static inline uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static inline struct v4 ep(const char *s, int port)
{
	return (struct v4){ip(s), htons((uint16_t)port)};
}

#endif
