/*
 * policy.c - where a call goes (see policy.h): connect(), bind() and
 * listen(), the server a BIND names, and names. The log lines of every
 * decision are written here, once, for both front ends.
 */
#include "policy.h"
#include "log.h"
#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(struct policy_line *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct policy_line *l, int level, const char *fmt, ...)
{
	va_list ap;

	if (!l)
		return;
	l->level = level;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
}

static void quiet(struct policy_line *l)
{
	if (l) {
		l->level = POLICY_NO_LINE;
		l->text[0] = '\0';
	}
}

void policy_say(const struct policy_line *l)
{
	if (l->level != POLICY_NO_LINE)
		log_msg((enum log_level)l->level, "%s", l->text);
}

static void decide(struct policy_connect *v, enum policy_way way, int err)
{
	v->way = way;
	v->err = err;
}

/* A fake address: SOCKS4A with its name, or why not. */
static void connect_fake(const struct config *c, struct policy_connect *v)
{
	char a[ADDR_STRLEN], why[CONFIG_RULE_STRLEN];
	const struct route_rule *hit;
	const char *name = names_get(v->dst.ip);
	unsigned port = ntohs(v->dst.port);

	if (!name) {
		say(&v->log, LOG_ERROR, "CONNECT %s: a fake address no lookup of this process "
		    "gave out (remote-dns %s): EHOSTUNREACH", addr_fmt(v->dst, a),
		    config_remote_dns_str(c->remote_dns));
		decide(v, POLICY_REFUSE, -EHOSTUNREACH);
		return;
	}
	switch (route_lookup_dest(&c->routes, name, v->dst.ip, v->dst.port, &hit)) {
	case ROUTE_PROXY:
		v->host = name;
		decide(v, POLICY_PROXY, 0);
		return;
	case ROUTE_DENY: {
		const char *rn = route_rule_name(&c->routes, hit);
		char origin[CONFIG_PATH_MAX + 16];

		snprintf(why, sizeof(why), "%s %s, %s", route_action_str(hit->action),
			 rn ? rn : route_fmt_dest(hit, a),
			 config_rule_origin(c, hit, origin, sizeof(origin)));
		say(&v->log, LOG_ERROR, "CONNECT %s:%u: denied by rule %s (EACCES)", name, port, why);
		decide(v, POLICY_REFUSE, -EACCES);
		return;
	}
	case ROUTE_DIRECT:
		break;
	}
	say(&v->log, LOG_ERROR, "CONNECT %s:%u: a rule sends it direct, but the name was left to "
	    "the proxy; a 'direct %s' rule has it resolved here (EHOSTUNREACH)", name, port, name);
	decide(v, POLICY_REFUSE, -EHOSTUNREACH);
}

void policy_connect(const struct config *c, const struct policy_sock *k,
		    const struct sockaddr *addr, socklen_t len, struct policy_connect *v)
{
	char d[ADDR_STRLEN], why[CONFIG_RULE_STRLEN];
	const struct route_rule *rule;
	enum route_action way;

	/* field by field: the line's buffer is large, and rarely written */
	v->way = POLICY_DIRECT;
	v->err = 0;
	v->server = (struct v4){0, 0};
	v->host = NULL;
	quiet(&v->log);
	if (!addr_to_v4(addr, len, &v->dst)) {
		v->dst = (struct v4){0, 0};
		if (addr->sa_family != AF_INET6 || len < SIN6_LEN_RFC2133 ||
		    config_route_ipv6(c, addr, len, &rule) == ROUTE_DIRECT)
			return; /* direct IPv6, or the kernel's EINVAL */
		say(&v->log, LOG_INFO, "CONNECT to an IPv6 address refused: SOCKS4 carries IPv4 "
		    "only (ENETUNREACH; 'ipv6 direct' in socks4rc or SOCKS4_IPV6=direct lets IPv6 "
		    "go direct)");
		decide(v, POLICY_REFUSE, -ENETUNREACH);
		return;
	}
	if (policy_is_fake(policy_fake_range(c), v->dst.ip)) {
		if (!k->is_stream(k->sock))
			return; /* UDP and the like: the kernel's business */
		connect_fake(c, v);
	} else {
		way = route_lookup(&c->routes, v->dst.ip, v->dst.port, &rule);
		if (way == ROUTE_DIRECT) {
			if (rule)
				say(&v->log, LOG_INFO, "CONNECT %s: direct (rule %s)",
				    addr_fmt(v->dst, d), config_rule_str(c, rule, why));
			else
				say(&v->log, LOG_INFO, "CONNECT %s: direct (no rule)",
				    addr_fmt(v->dst, d));
			return;
		}
		/* 0.0.0.0 (and ::) is this host to the kernel, whatever the
		 * rules say: it stays here */
		if (v->dst.ip == 0) {
			say(&v->log, LOG_INFO, "CONNECT %s: direct (0.0.0.0 is this host)",
			    addr_fmt(v->dst, d));
			return;
		}
		if (way == ROUTE_DENY) {
			say(&v->log, LOG_ERROR, "CONNECT %s: denied by rule %s (EACCES)",
			    addr_fmt(v->dst, d), config_rule_str(c, rule, why));
			decide(v, POLICY_REFUSE, -EACCES);
			return;
		}
		if (!k->is_stream(k->sock))
			return;
		decide(v, POLICY_PROXY, 0);
	}
	if (v->way != POLICY_PROXY)
		return;
	if (c->error[0]) {
		say(&v->log, LOG_ERROR, "CONNECT %s: refused, not configured: %s",
		    addr_fmt(v->dst, d), c->error);
		v->host = NULL;
		decide(v, POLICY_REFUSE, -ECONNREFUSED);
		return;
	}
	v->server = c->server;
}

struct v4 policy_reply_name(const struct config *c, struct v4 dst, bool named, struct v4 reply,
			    struct policy_line *log)
{
	char r[ADDR_STRLEN];
	uint32_t h = ntohl(reply.ip);
	const char *why;

	quiet(log);
	if (!reply.ip && !reply.port)
		return reply; /* nothing named: nothing to say */
	if (policy_is_fake(policy_fake_range(c), reply.ip))
		why = "a fake address, for a name";
	else if ((h >> 24) == 0)
		why = "0.0.0.0/8 is no host's address";
	else if ((h >> 28) >= 0xe)
		why = "multicast and 240.0.0.0/4 are no host's address";
	else if (named ? reply.port == dst.port : reply.ip == dst.ip && reply.port == dst.port)
		why = "the server gave back the destination";
	else
		return reply;
	say(log, LOG_INFO, "CONNECT reply names %s, not the proxy's outward address (%s): "
	    "getsockname() reports the socket's own address", addr_fmt(reply, r), why);
	return (struct v4){0, 0};
}

/* Whether a listener at local is one to serve by a BIND, as far as the
 * settings say. */
static bool bind_wanted(const struct config *c, struct primary *p, struct v4 local)
{
	uint32_t h = ntohl(local.ip);

	/* A socket bound to loopback is explicitly local, unless the address
	 * is one a proxied connection showed the program (pattern 2b, with a
	 * proxy on this host). */
	if ((h >> 24) == 127 && !primary_is_ours(p, local.ip))
		return false;
	return c->bind && !c->error[0] &&
	       (local.ip == 0 || route_lookup(&c->routes, local.ip, 0, NULL) != ROUTE_DIRECT);
}

/* A BIND names an application server: without a proxied connection
 * there is none. */
static bool have_server(struct primary *p)
{
	struct primary_conn app;

	return primary_find(p, 0, 0, &app);
}

bool policy_bind(const struct config *c, struct primary *p, const struct policy_sock *k,
		 const struct sockaddr *addr, socklen_t len, struct v4 *want,
		 struct policy_line *log)
{
	char b[ADDR_STRLEN];

	quiet(log);
	if (!addr_to_v4(addr, len, want) || want->port != 0 || !bind_wanted(c, p, *want) ||
	    !k->is_stream(k->sock))
		return false;
	if (!have_server(p)) {
		say(log, LOG_INFO, "bind fd %d to %s: stays local: no proxied connection yet, so "
		    "no application server to name in a BIND", k->fd, addr_fmt(*want, b));
		return false;
	}
	return true;
}

bool policy_listen_unbound(const struct config *c, struct primary *p,
			   const struct policy_sock *k, struct v4 name, struct policy_line *log)
{
	quiet(log);
	if (!c->bind || c->error[0] || name.port != 0 || name.ip != 0 || !k->is_stream(k->sock))
		return false;
	if (!have_server(p)) {
		say(log, LOG_INFO, "listen on unbound fd %d: stays local: no proxied connection "
		    "yet, so no application server to name in a BIND", k->fd);
		return false;
	}
	return true;
}

int policy_bind_server(struct primary *p, int tid, struct v4 bound, struct primary_conn *app)
{
	return primary_find(p, tid, bound.ip, app) ? 0 : -EADDRNOTAVAIL;
}

/* Every form the C library reads as an address: 10.1, 0x7f.1,
 * fe80::1%eth0. */
static bool is_numeric(const char *name)
{
	char buf[INET6_ADDRSTRLEN + 64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strcspn(name, "%");

	if (inet_aton(name, &a4))
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1;
}

enum policy_name_way policy_name(const struct config *c, const char *name,
				 int (*closefn)(int), enum policy_name_why *why,
				 const struct route_rule **hit)
{
	enum policy_name_why because_buf;
	const struct route_rule *rule_buf;
	enum policy_name_why *because = why ? why : &because_buf;
	const struct route_rule **rule = hit ? hit : &rule_buf;
	enum policy_name_way w;

	*rule = NULL;
	if (c->remote_dns == CONFIG_DNS_OFF) {
		*because = POLICY_WHY_OFF;
		return POLICY_NAME_LOCAL;
	}
	if (is_numeric(name)) {
		*because = POLICY_WHY_NUMERIC;
		return POLICY_NAME_LOCAL;
	}
	if (!names_valid(name, strlen(name))) {
		*because = POLICY_WHY_INVALID;
		return POLICY_NAME_BAD;
	}
	switch (config_name_way(c, name, rule)) {
	case CONFIG_NAME_LOCAL:
		*because = *rule ? POLICY_WHY_RULE : POLICY_WHY_LOCALHOST;
		return POLICY_NAME_LOCAL;
	case CONFIG_NAME_REMOTE:
		w = POLICY_NAME_REMOTE;
		break;
	case CONFIG_NAME_LOCAL_FIRST:
	default:
		w = POLICY_NAME_LOCAL_FIRST;
		break;
	}
	*because = *rule ? POLICY_WHY_RULE : POLICY_WHY_MODE;
	/* /etc/hosts is the host's own word, unless a rule named the name:
	 * read here rather than by the C library, which would go on to DNS
	 * for a name it lacks. */
	if (!*rule && config_hosts_has("/etc/hosts", name, closefn)) {
		*because = POLICY_WHY_HOSTS;
		return POLICY_NAME_LOCAL;
	}
	return w;
}

const char *policy_names_syscall_note(const struct config *c)
{
	if (c->remote_dns == CONFIG_DNS_OFF)
		return NULL;
	return c->remote_dns == CONFIG_DNS_ON
		       ? "syscall mode: names are resolved here, by local DNS, although "
			 "remote-dns is on (the syscall mode cannot leave them to the proxy yet)"
		       : "syscall mode: names are resolved here, by local DNS, although "
			 "remote-dns is local-first (the syscall mode cannot leave them to the "
			 "proxy yet)";
}
