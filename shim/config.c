/*
 * config.c - settings from the environment into one struct (see config.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS (120 * 1000)
#define DEFAULT_DIRECT "127.0.0.0/8"

static int fail(struct config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct config *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->error[0]) { /* the first problem is the one worth saying */
		va_start(ap, fmt);
		vsnprintf(c->error, sizeof(c->error), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void config_defaults(struct config *c)
{
	const char *bad;
	size_t bad_len;

	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->bind_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->bind = true;
	c->ipv6 = ROUTE_DENY;
	c->routes.fallback = ROUTE_PROXY;
	route_parse_list(&c->routes, DEFAULT_DIRECT, ROUTE_DIRECT, &bad, &bad_len);
}

/* "host:port": the host is kept as text, resolved by config_resolve(). */
static int parse_server(struct config *c, const char *what, const char *v)
{
	const char *colon = strrchr(v, ':');
	size_t hlen;

	if (!colon || colon == v)
		return fail(c, "%s: '%s' is not HOST:PORT", what, v);
	hlen = (size_t)(colon - v);
	if (hlen >= sizeof(c->server_host))
		return fail(c, "%s: host name too long", what);
	if (strpbrk(v, " \t") || memchr(v, ':', hlen))
		return fail(c, "%s: '%s' is not HOST:PORT", what, v);
	if (addr_parse_port(colon + 1, strlen(colon + 1), &c->server_port) < 0)
		return fail(c, "%s: '%s' has no valid port (1-65535)", what, v);
	memcpy(c->server_host, v, hlen);
	c->server_host[hlen] = '\0';
	return 0;
}

static int parse_seconds(struct config *c, const char *what, const char *v,
			 unsigned *ms)
{
	unsigned long s = 0;
	size_t n = strlen(v);

	if (n == 0 || n > 5 || strspn(v, "0123456789") != n)
		goto bad;
	for (size_t i = 0; i < n; i++)
		s = s * 10 + (unsigned long)(v[i] - '0');
	if (s < 1 || s > CONFIG_TIMEOUT_MAX_S)
		goto bad;
	*ms = (unsigned)s * 1000;
	return 0;
bad:
	return fail(c, "%s: '%s' is not a whole number of seconds (1-%d)",
		    what, v, CONFIG_TIMEOUT_MAX_S);
}

static int parse_bool(struct config *c, const char *what, const char *v,
		      bool *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]))
			return *out = true, 0;
		if (!strcmp(v, no[i]))
			return *out = false, 0;
	}
	return fail(c, "%s: '%s' is not on or off", what, v);
}

static int parse_userid(struct config *c, const char *what, const char *v)
{
	size_t n = strlen(v);

	if (n > SOCKS4_USERID_MAX)
		return fail(c, "%s: user id is %zu bytes long; at most %d fit a SOCKS4 request",
			    what, n, SOCKS4_USERID_MAX);
	memcpy(c->userid, v, n + 1);
	return 0;
}

int config_apply_env(struct config *c, config_getenv_fn get)
{
	const char *v;
	int err = 0;

	if ((v = get("SOCKS4_SERVER")) && *v)
		err |= parse_server(c, "SOCKS4_SERVER", v);

	if ((v = get("SOCKS4_USER")) || (v = get("USER")) || (v = get("LOGNAME")))
		err |= parse_userid(c, "user id", v);

	if ((v = get("SOCKS4_TIMEOUT")) && *v)
		err |= parse_seconds(c, "SOCKS4_TIMEOUT", v, &c->connect_timeout_ms);
	if ((v = get("SOCKS4_BIND_TIMEOUT")) && *v)
		err |= parse_seconds(c, "SOCKS4_BIND_TIMEOUT", v, &c->bind_timeout_ms);
	if ((v = get("SOCKS4_BIND")) && *v)
		err |= parse_bool(c, "SOCKS4_BIND", v, &c->bind);

	if ((v = get("SOCKS4_DIRECT"))) {
		const char *bad;
		size_t bad_len;

		/* The variable replaces the default list; empty means none. */
		c->routes.n = 0;
		if (route_parse_list(&c->routes, v, ROUTE_DIRECT, &bad, &bad_len) < 0)
			err |= fail(c, "SOCKS4_DIRECT: '%.*s' is not an IPv4 address or CIDR",
				    (int)bad_len, bad);
	}

	if ((v = get("SOCKS4_IPV6")) && *v) {
		if (!strcmp(v, "deny"))
			c->ipv6 = ROUTE_DENY;
		else if (!strcmp(v, "direct"))
			c->ipv6 = ROUTE_DIRECT;
		else
			err |= fail(c, "SOCKS4_IPV6: '%s' is not deny or direct", v);
	}

	if ((v = get("SOCKS4_DEBUG")) && *v) {
		if (strlen(v) == 1 && v[0] >= '0' && v[0] <= '9')
			c->debug = v[0] - '0';
		else
			err |= fail(c, "SOCKS4_DEBUG: '%s' is not a level 0-2", v);
	}
	if ((v = get("SOCKS4_QUIET")) && *v)
		err |= parse_bool(c, "SOCKS4_QUIET", v, &c->quiet);
	if ((v = get("SOCKS4_LOG")) && *v) {
		if (strlen(v) >= sizeof(c->log_path))
			err |= fail(c, "SOCKS4_LOG: path too long");
		else
			strcpy(c->log_path, v);
	}
	return err ? -EINVAL : 0;
}

int config_resolve(struct config *c)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	int rc;

	if (!c->server_host[0])
		return fail(c, "no SOCKS server configured (set SOCKS4_SERVER=host:port or use socks4wrap -s)");
	c->server.port = c->server_port;
	if (addr_parse_ip(c->server_host, strlen(c->server_host), &c->server.ip) == 0)
		return 0;
	rc = getaddrinfo(c->server_host, NULL, &hints, &res);
	if (rc != 0)
		return fail(c, "SOCKS server '%s': %s", c->server_host, gai_strerror(rc));
	c->server.ip = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return 0;
}
