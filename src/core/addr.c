/*
 * addr.c - conversions between sockaddrs, IPv4 endpoints and text.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool addr_to_v4_in6(const struct sockaddr *sa, socklen_t len, struct v4 *out)
{
	if (len >= SIN6_LEN_RFC2133 && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			memcpy(&out->ip, &in6->sin6_addr.s6_addr[12], 4);
		else if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			out->ip = 0;
		else
			return false;
		out->port = in6->sin6_port;
		return true;
	}
	return false;
}

socklen_t addr_from_v4(int family, struct v4 v, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = v.port;
		in6->sin6_addr.s6_addr[10] = 0xff;
		in6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&in6->sin6_addr.s6_addr[12], &v.ip, 4);
		return sizeof(*in6);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_port = v.port;
	in->sin_addr.s_addr = v.ip;
	return sizeof(*in);
}

void addr_copy_out(const struct sockaddr_storage *ss, socklen_t sslen,
		   struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return;
	memcpy(addr, ss, *len < sslen ? *len : sslen);
	*len = sslen;
}

bool addr_is_v6_loopback(const struct sockaddr *sa, socklen_t len)
{
	return len >= SIN6_LEN_RFC2133 && sa->sa_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

const char *addr_fmt(struct v4 v, char *buf)
{
	const uint8_t *b = (const uint8_t *)&v.ip;
	snprintf(buf, ADDR_STRLEN, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
		 ntohs(v.port));
	return buf;
}

int addr_parse_ip(const char *s, size_t len, uint32_t *ip)
{
	char tmp[16];
	struct in_addr in;

	/* inet_pton() takes exactly four decimal parts, no shorthand. */
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, &in) != 1)
		return -EINVAL;
	*ip = in.s_addr;
	return 0;
}

int addr_parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = htons((uint16_t)v);
	return 0;
}
