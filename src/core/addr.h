/*
 * addr.h - IPv4 endpoints and the sockaddr forms programs hand us.
 *
 * The shim thinks in IPv4 endpoints (SOCKS4 carries nothing else) and
 * converts at the edges: a program's AF_INET or v4-mapped AF_INET6
 * sockaddr in, the same family back out.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* An IPv4 endpoint, both fields in network byte order as on the wire. */
struct v4 {
	uint32_t ip;
	uint16_t port;
};

/* "255.255.255.255:65535" plus NUL */
#define ADDR_STRLEN 22

/* The shortest sockaddr_in6 the kernel takes: RFC 2133's, without
 * sin6_scope_id. Every address is judged by the kernel's length rules,
 * or a 24-byte one would slip past us. */
#ifndef SIN6_LEN_RFC2133
#define SIN6_LEN_RFC2133 24
#endif

/*
 * Reads an AF_INET sockaddr, or an AF_INET6 one holding a v4-mapped
 * address (::ffff:a.b.c.d) or the unspecified address (::, read as
 * 0.0.0.0). Returns false for anything else, or when len is too short.
 */
bool addr_to_v4_in6(const struct sockaddr *sa, socklen_t len, struct v4 *out);

static inline bool addr_to_v4(const struct sockaddr *sa, socklen_t len, struct v4 *out)
{
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->ip = in->sin_addr.s_addr;
		out->port = in->sin_port;
		return true;
	}
	return addr_to_v4_in6(sa, len, out);
}

/* Writes v as a sockaddr of the given family (AF_INET6: v4-mapped). */
socklen_t addr_from_v4(int family, struct v4 v, struct sockaddr_storage *ss);

/*
 * Copies an address out the way the kernel does for getsockname(2) and
 * accept(2): at most *len bytes, then *len = the full length.
 */
void addr_copy_out(const struct sockaddr_storage *ss, socklen_t sslen,
		   struct sockaddr *addr, socklen_t *len);

/* True for the IPv6 loopback address ::1. */
bool addr_is_v6_loopback(const struct sockaddr *sa, socklen_t len);

/* "a.b.c.d:port" into buf, which must hold ADDR_STRLEN bytes. */
const char *addr_fmt(struct v4 v, char *buf);

/* Parses dotted-quad IPv4 text of exactly len bytes. 0 or -EINVAL. */
int addr_parse_ip(const char *s, size_t len, uint32_t *ip);

/* Parses a decimal port 1..65535 of exactly len bytes. 0 or -EINVAL. */
int addr_parse_port(const char *s, size_t len, uint16_t *port);

#endif
