/*
 * query.c - socks4wrap-query: the shim's settings and routing decisions,
 * worked out by the code the shim itself runs (config.c, route.c,
 * addr.c), for socks4wrap.
 *
 *   socks4wrap-query --check
 *	Builds the settings as the shim would, without resolving the
 *	server's name: exits 0 silently, or prints the problem and exits 1.
 *	(socks4wrap itself links config.c and checks in-process; this is
 *	for scripts and tests.)
 *
 *   socks4wrap-query HOST:PORT [MODE]
 *	socks4wrap --dry-run: prints the settings, written as a socks4rc
 *	with where each came from, then the route a connect() to HOST:PORT
 *	takes and the rule that decided it. HOST is an IPv4 address, [an
 *	IPv6 address] or a name, resolved as the program would. MODE is
 *	socks4wrap's line saying how a command given with -n would be run,
 *	printed as a comment after the settings file's. Exits 0, 1 when the
 *	settings cannot be used, 2 for a bad HOST:PORT.
 *
 * Installed in LIBDIR next to libsocks4wrap.so; not meant to be run by
 * hand, so its messages speak as socks4wrap.
 */
#include "config.h"
#include "policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOCKS4WRAP_VERSION
#define SOCKS4WRAP_VERSION "?"
#endif

#define EXIT_SETTINGS 1
#define EXIT_USAGE 2

/* Comments start in this column, so the settings read as a table. */
#define COMMENT_COL 34

static const char *env(const char *name)
{
	return getenv(name);
}

static int settings_error(const struct config *c)
{
	fprintf(stderr, "socks4wrap: %s\n", c->error);
	return EXIT_SETTINGS;
}

/* One setting as a socks4rc line, and where its value came from. */
static void line(const char *text, const char *origin)
{
	int n = printf("%s", text);

	printf("%*s# %s\n", n < COMMENT_COL ? COMMENT_COL - n : 1, "", origin);
}

static void setting(const struct config *c, enum config_setting s,
		    const char *value, const char *extra)
{
	char text[CONFIG_LINE_MAX], origin[CONFIG_PATH_MAX + 64];
	size_t n;

	snprintf(text, sizeof(text), "%s %s", config_setting_name(s), value);
	config_origin_str(c, s, origin, sizeof(origin));
	n = strlen(origin);
	if (extra)
		snprintf(origin + n, sizeof(origin) - n, "; %s", extra);
	line(text, origin);
}

/* A user id as a socks4rc value: quoted when it would not read back as
 * one word. */
static const char *userid_value(const char *u, char *buf, size_t len)
{
	if (!*u || strpbrk(u, " \t") || u[0] == '#' || u[0] == '"')
		snprintf(buf, len, "\"%s\"", u);
	else
		snprintf(buf, len, "%s", u);
	return buf;
}

/* A rule's destination: a network, or a name rule's pattern. */
static const char *rule_dest(const struct config *c, const struct route_rule *r,
			     char buf[ROUTE_DEST_STRLEN])
{
	const char *name = route_rule_name(&c->routes, r);

	return name ? name : route_fmt_dest(r, buf);
}

static void print_settings(const struct config *c, const char *mode)
{
	char v[SOCKS4_USERID_MAX + 64], ip[ADDR_STRLEN], extra[64 + ADDR_STRLEN];
	char dest[ROUTE_DEST_STRLEN], text[64], origin[CONFIG_PATH_MAX + 16];
	const char *home = getenv("HOME");

	printf("# socks4wrap %s --dry-run: what the shim would use\n", SOCKS4WRAP_VERSION);
	if (c->file[0])
		printf("# settings file: %s\n", c->file);
	else if (home && *home)
		printf("# settings file: none (no %s/.socks4rc, no %s)\n", home,
		       config_system_file());
	else
		printf("# settings file: none (HOME unset, no %s)\n", config_system_file());
	if (mode)
		printf("# %s\n", mode);

	snprintf(v, sizeof(v), "%s:%u", c->server_host, ntohs(c->server_port));
	addr_fmt(c->server, ip);
	snprintf(extra, sizeof(extra), "resolved to %s", ip);
	setting(c, CONFIG_SERVER, v, strcmp(v, ip) ? extra : NULL);
	setting(c, CONFIG_USER, userid_value(c->userid, v, sizeof(v)), NULL);
	snprintf(v, sizeof(v), "%u", c->connect_timeout_ms / 1000);
	setting(c, CONFIG_TIMEOUT, v, NULL);
	snprintf(v, sizeof(v), "%u", c->bind_timeout_ms / 1000);
	setting(c, CONFIG_BIND_TIMEOUT, v, NULL);
	setting(c, CONFIG_BIND, c->bind ? "on" : "off", NULL);
	setting(c, CONFIG_IPV6, route_action_str(c->ipv6), NULL);
	snprintf(v, sizeof(v), "%d", c->debug);
	setting(c, CONFIG_DEBUG, v, NULL);
	setting(c, CONFIG_REMOTE_DNS, config_remote_dns_str(c->remote_dns), NULL);
	snprintf(v, sizeof(v), "%u.%u.%u.%u/%u", c->fake_net >> 24, (c->fake_net >> 16) & 0xff,
		 (c->fake_net >> 8) & 0xff, c->fake_net & 0xff, c->fake_prefix);
	setting(c, CONFIG_FAKE_RANGE, v, NULL);
	printf("# quiet: %s; log: %s\n", c->quiet ? "on" : "off",
	       c->log_path[0] ? c->log_path : "standard error");

	printf("# rules, the first that matches decides:\n");
	for (size_t i = 0; i < c->routes.n; i++) {
		const struct route_rule *r = &c->routes.rules[i];
		snprintf(text, sizeof(text), "%s %s", route_action_str(r->action),
			 rule_dest(c, r, dest));
		line(text, config_rule_origin(c, r, origin, sizeof(origin)));
	}
	printf("# no rule matches: %s\n", route_action_str(c->routes.fallback));
}

/* "(rule 2: deny 0.0.0.0/0:25, ~/.socks4rc:5)" or "(no rule matches)" */
static void print_rule(const struct config *c, const struct route_rule *r)
{
	char dest[ROUTE_DEST_STRLEN], origin[CONFIG_PATH_MAX + 16];

	if (!r) {
		printf("no rule matches");
		return;
	}
	printf("rule %zu: %s %s, %s", (size_t)(r - c->routes.rules) + 1,
	       route_action_str(r->action), rule_dest(c, r, dest),
	       config_rule_origin(c, r, origin, sizeof(origin)));
}

static void print_outcome(const struct config *c, enum route_action a, bool v6)
{
	char p[ADDR_STRLEN];

	switch (a) {
	case ROUTE_DIRECT:
		printf(": connects directly\n");
		break;
	case ROUTE_DENY:
		printf(": connect() fails with %s\n", v6 ? "ENETUNREACH" : "EACCES");
		break;
	case ROUTE_PROXY:
		printf(": CONNECT via %s\n", addr_fmt(c->server, p));
		break;
	}
}

/* The decision connect() makes for one address (hooks_connect.c). */
static void route_one(const struct config *c, const struct sockaddr *sa,
		      socklen_t len, const char *label)
{
	char host[INET6_ADDRSTRLEN], origin[CONFIG_PATH_MAX + 16];
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	const struct route_rule *hit;
	enum route_action a;
	struct v4 dst;

	if (addr_to_v4(sa, len, &dst)) {
		a = route_lookup(&c->routes, dst.ip, dst.port, &hit);
		printf("%s -> %s (", label, route_action_str(a));
		print_rule(c, hit);
		printf(")");
		print_outcome(c, a, false);
		return;
	}
	/* Native IPv6 cannot travel over SOCKS4: the ipv6 setting decides,
	 * and ::1 goes where 127.0.0.1 goes. */
	inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
	config_origin_str(c, CONFIG_IPV6, origin, sizeof(origin));
	if (c->ipv6 == ROUTE_DIRECT) {
		printf("%s -> direct (IPv6; ipv6 direct, %s)", label, origin);
		print_outcome(c, ROUTE_DIRECT, true);
		return;
	}
	if (addr_is_v6_loopback(sa, len)) {
		a = config_route_ipv6(c, sa, len, &hit);
		if (a == ROUTE_DIRECT) {
			printf("%s -> direct (::1 goes where 127.0.0.1 goes: ", label);
			print_rule(c, hit);
			printf(")");
			print_outcome(c, ROUTE_DIRECT, true);
			return;
		}
	}
	printf("%s -> deny (IPv6, which SOCKS4 cannot carry; ipv6 deny, %s)", label, origin);
	print_outcome(c, ROUTE_DENY, true);
}

/* HOST:PORT or [HOST]:PORT into its parts; 0 or -1. */
static int split_dest(const char *arg, char *host, size_t hostlen, char *port,
		      size_t portlen)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close || close[1] != ':')
			return -1;
		h = arg + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - arg);
		if (memchr(arg, ':', hl))
			return -1; /* an IPv6 address wants brackets */
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/*
 * What the shim does with a name (the policy's answer, policy.c), port
 * in network order: true when the name is left to the proxy (or refused)
 * and that is printed; false when it is resolved here, after saying why,
 * and the caller routes its addresses.
 */
static bool name_decision(const struct config *c, const char *host, uint16_t port,
			  const char *arg, bool syscall_mode)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	const struct route_rule *hit;
	enum policy_name_why why;
	struct addrinfo *res;
	enum policy_name_way w = policy_name(c, host, close, &why, &hit);
	char p[ADDR_STRLEN];
	int rc;

	switch (why) {
	case POLICY_WHY_NUMERIC:
		return false;
	case POLICY_WHY_OFF:
		if (c->routes.nnames)
			printf("%s: resolved here (remote-dns off; the name rules apply only "
			       "when it is on or local-first)\n", host);
		return false;
	case POLICY_WHY_INVALID:
		printf("%s: not a host name a lookup is made for: the lookup fails "
		       "with EAI_NONAME\n", host);
		return true;
	case POLICY_WHY_HOSTS:
		printf("%s: resolved here (/etc/hosts names it)\n", host);
		return false;
	case POLICY_WHY_LOCALHOST:
	case POLICY_WHY_RULE:
	case POLICY_WHY_MODE:
		break;
	}
	if (w == POLICY_NAME_LOCAL) {
		printf("%s: resolved here (", host);
		if (hit)
			print_rule(c, hit);
		else
			printf("localhost");
		printf(")\n");
		return false;
	}
	if (syscall_mode) { /* the supervisor's start line, word for word */
		printf("%s: %s\n", host, policy_names_syscall_note(c));
		return false;
	}
	if (w == POLICY_NAME_LOCAL_FIRST) {
		rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc == 0) {
			printf("%s: resolved here (remote-dns local-first, and local DNS knows it)\n",
			       host);
			freeaddrinfo(res);
			return false;
		}
		if (rc != EAI_NONAME && rc != EAI_AGAIN && rc != EAI_FAIL && rc != EAI_NODATA) {
			printf("%s: local DNS: %s\n", host, gai_strerror(rc));
			return true;
		}
		printf("%s: local DNS: %s; left to the proxy (remote-dns local-first)\n", host,
		       gai_strerror(rc));
	} else {
		printf("%s: left to the proxy, never asked of local DNS (", host);
		if (hit)
			print_rule(c, hit);
		else
			printf("remote-dns on");
		printf(")\n");
	}
	/* To the address rules the name looks like a fake address. */
	enum route_action a = route_lookup_dest(&c->routes, host, htonl(c->fake_net + 1),
						port, &hit);
	printf("%s -> %s (", arg, route_action_str(a));
	print_rule(c, hit);
	printf(")");
	switch (a) {
	case ROUTE_PROXY:
		printf(": SOCKS4A CONNECT %s:%u via %s\n", host, ntohs(port), addr_fmt(c->server, p));
		break;
	case ROUTE_DENY:
		printf(": connect() fails with EACCES\n");
		break;
	case ROUTE_DIRECT:
		printf(": connect() fails with EHOSTUNREACH (a name the proxy resolves cannot "
		       "go direct; a 'direct %s' rule has it resolved here)\n", host);
		break;
	}
	return true;
}

static int dry_run(const char *arg, const char *mode)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	char host[CONFIG_HOST_MAX], port[8], label[CONFIG_HOST_MAX + 64];
	char addr[INET6_ADDRSTRLEN];
	struct addrinfo *res, *ai;
	static struct config c;
	uint16_t pn;
	int rc;

	if (split_dest(arg, host, sizeof(host), port, sizeof(port)) < 0 ||
	    addr_parse_port(port, strlen(port), &pn) < 0) {
		fprintf(stderr, "socks4wrap: --dry-run '%s' is not HOST:PORT "
			"(HOST a name, an IPv4 address or [an IPv6 address]; PORT 1-65535)\n", arg);
		return EXIT_USAGE;
	}
	if (config_build(&c, env) < 0 || config_resolve(&c) < 0)
		return settings_error(&c);
	print_settings(&c, mode);
	printf("\n");
	if (name_decision(&c, host, pn, arg, mode && !strncmp(mode, "syscall mode", 12)))
		return 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		printf("%s: cannot resolve: %s\n", arg, gai_strerror(rc));
		return 0; /* the settings are fine; the program would fail the same way */
	}
	for (ai = res; ai; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET6
					? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
					: (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		inet_ntop(ai->ai_family, a, addr, sizeof(addr));
		if (ai->ai_family == AF_INET6)
			snprintf(label, sizeof(label), "[%s]:%u", addr, ntohs(pn));
		else
			snprintf(label, sizeof(label), "%s:%u", addr, ntohs(pn));
		if (strcmp(host, addr) && ai == res)
			printf("%s resolves to:\n", host);
		route_one(&c, ai->ai_addr, ai->ai_addrlen, label);
	}
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	static struct config c;

	if (argc == 2 && !strcmp(argv[1], "--check"))
		return config_build(&c, env) < 0 ? settings_error(&c) : 0;
	if ((argc == 2 || argc == 3) && argv[1][0] != '-')
		return dry_run(argv[1], argc == 3 ? argv[2] : NULL);
	fprintf(stderr, "usage: socks4wrap-query --check | HOST:PORT [MODE]  (see socks4wrap --dry-run)\n");
	return EXIT_USAGE;
}
