/*
 * route.c - ordered CIDR and port rules (see route.h).
 */
#include "route.h"
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int route_add(struct route_table *t, const struct route_rule *r)
{
	if (t->n >= ROUTE_MAX)
		return -ENOSPC;
	t->rules[t->n++] = *r;
	return 0;
}

int route_insert(struct route_table *t, size_t at, const struct route_rule *r)
{
	if (t->n >= ROUTE_MAX)
		return -ENOSPC;
	if (at > t->n)
		at = t->n;
	memmove(&t->rules[at + 1], &t->rules[at], (t->n - at) * sizeof(t->rules[0]));
	t->rules[at] = *r;
	t->n++;
	return 0;
}

static int bad_dest(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

/* "a-b" or "a" of exactly len bytes, ports 1..65535, in host order. */
static int parse_ports(const char *s, size_t len, uint16_t *lo, uint16_t *hi,
		       const char **why)
{
	const char *dash = memchr(s, '-', len);
	size_t l1 = dash ? (size_t)(dash - s) : len;
	uint16_t a, b;

	if (addr_parse_port(s, l1, &a) < 0 ||
	    (dash && addr_parse_port(dash + 1, len - l1 - 1, &b) < 0))
		return bad_dest(why, "has a port that is not a number 1-65535");
	*lo = ntohs(a);
	*hi = dash ? ntohs(b) : *lo;
	if (*lo > *hi)
		return bad_dest(why, "has a port range that ends before it starts");
	if (*lo == 1 && *hi == 65535)
		*lo = 0; /* every port, as with no port at all */
	return 0;
}

/* The n of "/n": one or two digits, 0..32. */
static int parse_bits(const char *s, size_t len, unsigned *bits)
{
	unsigned v = 0;

	if (len == 0 || len > 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 32)
		return -EINVAL;
	*bits = v;
	return 0;
}

int route_parse_dest(const char *s, size_t len, enum route_action action,
		     struct route_rule *r, const char **why)
{
	const char *colon = memchr(s, ':', len);
	size_t clen = colon ? (size_t)(colon - s) : len;
	const char *slash = memchr(s, '/', clen);
	size_t iplen = slash ? (size_t)(slash - s) : clen;
	unsigned bits = 32;
	uint32_t ip;

	memset(r, 0, sizeof(*r));
	r->port_hi = 65535;
	r->action = action;
	if (addr_parse_ip(s, iplen, &ip) < 0)
		return bad_dest(why, "is not an IPv4 address or network (a.b.c.d or a.b.c.d/n)");
	if (slash && parse_bits(slash + 1, clen - iplen - 1, &bits) < 0)
		return bad_dest(why, "has a prefix length outside 0-32");
	if (colon && parse_ports(colon + 1, len - clen - 1, &r->port_lo, &r->port_hi, why) < 0)
		return -EINVAL;
	r->mask = bits ? 0xffffffffu << (32 - bits) : 0;
	r->net = ntohl(ip) & r->mask;
	if (ntohl(ip) & ~r->mask)
		return bad_dest(why, "has host bits set");
	return 0;
}

int route_parse_cidr(const char *s, size_t len, enum route_action action,
		     struct route_rule *r)
{
	const char *why;

	if (memchr(s, ':', len))
		return -EINVAL;
	return route_parse_dest(s, len, action, r, &why);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int route_parse_list(struct route_table *t, const char *list,
		     enum route_action action, const char **bad,
		     size_t *bad_len, const char **why)
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
			err = bad_dest(why, "is empty"); /* "10.0.0.0/8,,x" */
		} else {
			err = route_parse_dest(a, (size_t)(b - a), action, &r, why);
			if (!err && (err = route_add(t, &r)) < 0)
				*why = "is one rule too many";
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

const char *route_fmt_dest(const struct route_rule *r, char *buf)
{
	uint32_t n = r->net;
	int bits = __builtin_popcount(r->mask);
	int len = snprintf(buf, ROUTE_DEST_STRLEN, "%u.%u.%u.%u", n >> 24,
			   (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);

	if (bits != 32)
		len += snprintf(buf + len, ROUTE_DEST_STRLEN - (size_t)len, "/%d", bits);
	if (r->port_lo == r->port_hi)
		snprintf(buf + len, ROUTE_DEST_STRLEN - (size_t)len, ":%u", r->port_lo);
	else if (r->port_lo > 1 || r->port_hi < 65535)
		snprintf(buf + len, ROUTE_DEST_STRLEN - (size_t)len, ":%u-%u",
			 r->port_lo, r->port_hi);
	return buf;
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

/* --- name rules ------------------------------------------------------------ */

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

int route_is_name(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '*' && s[1] == '.')
		return 1;
	for (size_t i = 0; i < len && s[i] != ':' && s[i] != '/'; i++)
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))
			return 1;
	return 0;
}

int route_insert_name(struct route_table *t, size_t at, const char *s, size_t len,
		      enum route_action action, unsigned line, const char **why)
{
	struct route_rule r = {.port_lo = 1, .port_hi = 0, .action = action, .line = line};
	size_t body = len >= 2 && s[0] == '*' && s[1] == '.' ? 2 : 0;
	int err;

	if (memchr(s, ':', len))
		return bad_dest(why, "is a name rule, and name rules take no port");
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len <= body || len > ROUTE_NAME_LEN || s[body] == '.')
		return bad_dest(why, "is not a host name or a *.NAME pattern");
	for (size_t i = body; i < len; i++)
		if (!name_char(s[i]))
			return bad_dest(why, "is not a host name or a *.NAME pattern");
	if (t->nnames >= ROUTE_NAMES_MAX)
		return bad_dest(why, "is one name rule too many"), -ENOSPC;
	r.name = (unsigned)t->nnames + 1;
	if ((err = route_insert(t, at, &r)) < 0)
		return err;
	memcpy(t->names[t->nnames], s, len);
	t->names[t->nnames][len] = '\0';
	t->nnames++;
	return 0;
}

const char *route_rule_name(const struct route_table *t, const struct route_rule *r)
{
	return r->name ? t->names[r->name - 1] : NULL;
}

int route_name_match(const char *pattern, const char *name, size_t len)
{
	size_t plen = strlen(pattern);

	if (len > 1 && name[len - 1] == '.')
		len--;
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.corp.example": a name ending in ".corp.example" */
		plen--;
		pattern++;
		return len > plen && !strncasecmp(name + len - plen, pattern, plen);
	}
	return len == plen && !strncasecmp(name, pattern, len);
}

static enum route_action lookup(const struct route_table *t, const char *name,
				bool by_address, uint32_t ip, uint16_t port,
				const struct route_rule **hit)
{
	size_t len = strlen(name);
	uint32_t h = ntohl(ip);
	uint16_t p = ntohs(port);

	for (size_t i = 0; i < t->n; i++) {
		const struct route_rule *r = &t->rules[i];
		bool match = r->name ? route_name_match(t->names[r->name - 1], name, len)
				     : by_address && (h & r->mask) == r->net &&
					       p >= r->port_lo && p <= r->port_hi;
		if (match) {
			if (hit)
				*hit = r;
			return r->action;
		}
	}
	if (hit)
		*hit = NULL;
	return t->fallback;
}

enum route_action route_lookup_name(const struct route_table *t, const char *name,
				    const struct route_rule **hit)
{
	return lookup(t, name, false, 0, 0, hit);
}

enum route_action route_lookup_dest(const struct route_table *t, const char *name,
				    uint32_t fake_ip, uint16_t port,
				    const struct route_rule **hit)
{
	return lookup(t, name, true, fake_ip, port, hit);
}
