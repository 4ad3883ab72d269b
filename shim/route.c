/*
 * route.c - ordered CIDR and port rules (see route.h).
 */
#include "route.h"
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int route_add(struct route_table *t, const struct route_rule *r)
{
	if (t->n >= ROUTE_MAX)
		return -ENOSPC;
	t->rules[t->n++] = *r;
	return 0;
}

enum route_action route_lookup(const struct route_table *t, uint32_t ip,
			       uint16_t port, const struct route_rule **hit)
{
	uint32_t h = ntohl(ip);
	uint16_t p = ntohs(port);

	for (size_t i = 0; i < t->n; i++) {
		const struct route_rule *r = &t->rules[i];
		if ((h & r->mask) == r->net && p >= r->port_lo && p <= r->port_hi) {
			if (hit)
				*hit = r;
			return r->action;
		}
	}
	if (hit)
		*hit = NULL;
	return t->fallback;
}

int route_parse_cidr(const char *s, size_t len, enum route_action action,
		     struct route_rule *r)
{
	const char *slash = memchr(s, '/', len);
	size_t iplen = slash ? (size_t)(slash - s) : len;
	unsigned bits = 32;
	uint32_t ip;

	if (addr_parse_ip(s, iplen, &ip) < 0)
		return -EINVAL;
	if (slash) {
		size_t blen = len - iplen - 1;
		if (blen == 0 || blen > 2)
			return -EINVAL;
		bits = 0;
		for (size_t i = 0; i < blen; i++) {
			char c = slash[1 + i];
			if (c < '0' || c > '9')
				return -EINVAL;
			bits = bits * 10 + (unsigned)(c - '0');
		}
		if (bits > 32)
			return -EINVAL;
	}
	r->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	r->net = ntohl(ip);
	if (r->net & ~r->mask)
		return -EINVAL;
	r->port_lo = 0;
	r->port_hi = 65535;
	r->action = action;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int route_parse_list(struct route_table *t, const char *list,
		     enum route_action action, const char **bad,
		     size_t *bad_len)
{
	const char *p = list;

	while (*p) {
		const char *end = p + strcspn(p, ",");
		const char *a = p, *b = end;
		struct route_rule r;
		int err;

		while (a < b && is_space(*a))
			a++;
		while (b > a && is_space(b[-1]))
			b--;
		if (a == b) {
			err = -EINVAL; /* an empty item: "10.0.0.0/8,,x" */
		} else {
			err = route_parse_cidr(a, (size_t)(b - a), action, &r);
			if (!err)
				err = route_add(t, &r);
		}
		if (err) {
			*bad = a;
			*bad_len = (size_t)(b - a);
			return err;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

const char *route_action_str(enum route_action a)
{
	switch (a) {
	case ROUTE_PROXY:
		return "proxy";
	case ROUTE_DIRECT:
		return "direct";
	case ROUTE_DENY:
		return "deny";
	}
	return "?";
}
