/*
 * route.h - where a destination goes: through the proxy, direct, or
 * nowhere. An ordered list of rules, the first match wins. Pure.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

enum route_action {
	ROUTE_PROXY,
	ROUTE_DIRECT,
	ROUTE_DENY,
};

/* Addresses, masks and ports in host byte order, so ranges compare. */
struct route_rule {
	uint32_t net;
	uint32_t mask;
	uint16_t port_lo; /* 0..65535 matches every port */
	uint16_t port_hi;
	enum route_action action;
	unsigned line; /* the settings-file line it was written on; 0: none */
	/* A name rule: 1 + its index in the table's names[]; 0 for an
	 * address rule. A name rule has port_lo 1 > port_hi 0, so that
	 * route_lookup() never matches it against an address. */
	unsigned name;
};

#define ROUTE_MAX 128
#define ROUTE_NAMES_MAX 64   /* name rules in a table */
#define ROUTE_NAME_LEN 255   /* bytes in a name pattern */

struct route_table {
	struct route_rule rules[ROUTE_MAX];
	size_t n;
	enum route_action fallback; /* when no rule matches */
	char names[ROUTE_NAMES_MAX][ROUTE_NAME_LEN + 1]; /* name rules' patterns */
	size_t nnames;
};

/* Appends a rule. 0, or -ENOSPC when the table is full. */
int route_add(struct route_table *t, const struct route_rule *r);

/* Inserts a rule before rules[at] (at <= n). 0, or -ENOSPC. */
int route_insert(struct route_table *t, size_t at, const struct route_rule *r);

/*
 * The action for ip:port (network byte order, as in a sockaddr). When
 * hit is not NULL it is set to the matching rule, or NULL for the
 * fallback. Inline: every connect() to an IP address asks.
 */
static inline enum route_action route_lookup(const struct route_table *t, uint32_t ip,
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

/*
 * Parses a destination of exactly len bytes into a rule with the given
 * action:
 *
 *	a.b.c.d[/n][:PORT[-PORT]]	n 0..32, ports 1..65535
 *
 * A bare address is /32; no port, or 1-65535, is every port. Host bits
 * set in the address are an error ("10.1.2.3/8" is refused rather than
 * guessed; r then holds the masked network, for a suggestion). Returns
 * 0, or -EINVAL with *why saying what is wrong, to follow the quoted
 * text: "'10.0.0.0/33' has a prefix length outside 0-32".
 */
int route_parse_dest(const char *s, size_t len, enum route_action action,
		     struct route_rule *r, const char **why);

/* route_parse_dest() without the port part: "a.b.c.d[/n]". 0 or -EINVAL. */
int route_parse_cidr(const char *s, size_t len, enum route_action action,
		     struct route_rule *r);

/*
 * Parses a comma-separated list of destinations as route_parse_dest()
 * reads them (blanks allowed around items) and appends a rule per item.
 * On error returns -EINVAL (or -ENOSPC) and sets *bad / *bad_len to the
 * offending item and *why as route_parse_dest() does.
 */
int route_parse_list(struct route_table *t, const char *list,
		     enum route_action action, const char **bad,
		     size_t *bad_len, const char **why);

/* "255.255.255.255/32:65535-65535" plus NUL */
#define ROUTE_DEST_STRLEN 32

/* A rule's destination as route_parse_dest() reads it, the shortest form
 * ("192.0.2.7", "10.0.0.0/8:22", "0.0.0.0/0:6000-6063"). */
const char *route_fmt_dest(const struct route_rule *r, char *buf);

const char *route_action_str(enum route_action a);

/* --- name rules (SOCKS4A) ------------------------------------------------
 *
 * A name rule's pattern is a host name ("files.example", matched without
 * regard to case) or "*." and a name ("*.corp.example": every name below
 * corp.example, not corp.example itself). Name rules take no port. They
 * sit in the same ordered list as the address rules.
 */

/* Whether text of len bytes is written as a name rule (it has a letter,
 * or starts "*."), rather than as an address rule. */
int route_is_name(const char *s, size_t len);

/*
 * Inserts a name rule for pattern s (len bytes) before rules[at].
 * 0, -EINVAL with *why ("is not a host name or *.NAME pattern", "takes
 * no port"), or -ENOSPC when the rules or the patterns are full.
 */
int route_insert_name(struct route_table *t, size_t at, const char *s, size_t len,
		      enum route_action action, unsigned line, const char **why);

/* The pattern of a name rule, or NULL for an address rule. */
const char *route_rule_name(const struct route_table *t, const struct route_rule *r);

/* Whether name (len bytes, a trailing '.' ignored) matches pattern. */
int route_name_match(const char *pattern, const char *name, size_t len);

/*
 * Where a name goes before its address is known: the first *name* rule
 * that matches, or with none *hit = NULL and t->fallback. Address rules
 * are passed over (the address is what is not known).
 */
enum route_action route_lookup_name(const struct route_table *t, const char *name,
				    const struct route_rule **hit);

/*
 * Where a connection to a name the proxy resolves goes: the first rule
 * that matches in the one ordered list, a name rule by the name, an
 * address rule by fake_ip:port (so only rules that cover the fake range,
 * such as "deny 0.0.0.0/0:25", apply), else *hit = NULL and t->fallback.
 */
enum route_action route_lookup_dest(const struct route_table *t, const char *name,
				    uint32_t fake_ip, uint16_t port,
				    const struct route_rule **hit);

#endif
