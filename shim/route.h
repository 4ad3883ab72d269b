/*
 * route.h - where a destination goes: through the proxy, direct, or
 * nowhere. An ordered list of rules, the first match wins. Pure.
 */
#ifndef ROUTE_H
#define ROUTE_H

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
};

#define ROUTE_MAX 128

struct route_table {
	struct route_rule rules[ROUTE_MAX];
	size_t n;
	enum route_action fallback; /* when no rule matches */
};

/* Appends a rule. 0, or -ENOSPC when the table is full. */
int route_add(struct route_table *t, const struct route_rule *r);

/*
 * The action for ip:port (network byte order, as in a sockaddr). When
 * hit is not NULL it is set to the matching rule, or NULL for the
 * fallback.
 */
enum route_action route_lookup(const struct route_table *t, uint32_t ip,
			       uint16_t port, const struct route_rule **hit);

/*
 * Parses "a.b.c.d" or "a.b.c.d/n" (n 0..32) of exactly len bytes into a
 * rule's net and mask, every port, the given action. Host bits set in
 * the address are an error: "10.1.2.3/8" is refused rather than guessed.
 * 0 or -EINVAL.
 */
int route_parse_cidr(const char *s, size_t len, enum route_action action,
		     struct route_rule *r);

/*
 * Parses a comma-separated list of CIDRs (spaces allowed around items)
 * and appends a rule per item. On error returns -EINVAL (or -ENOSPC) and
 * sets *bad / *bad_len to the offending item.
 */
int route_parse_list(struct route_table *t, const char *list,
		     enum route_action action, const char **bad,
		     size_t *bad_len);

const char *route_action_str(enum route_action a);

#endif
