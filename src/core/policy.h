/*
 * policy.h - where a call goes: the one place that decides, for both
 * front ends (the library's hooks and the supervisor's workers).
 *
 * Plain code that knows nothing of hooking or seccomp: it takes the
 * settings and a call's arguments and returns a decision and the words
 * of its log line; the front end carries the decision out and writes the
 * line (log_msg(v.level, "%s", v.line)), so both say the same thing.
 *
 *   connect()                -> direct, proxy (which server, which
 *                               SOCKS4A name), or refused with an errno
 *   bind() / listen()        -> a SOCKS BIND, or a local socket
 *   a BIND's request         -> the application server it names
 *   a name lookup            -> left to the proxy (SOCKS4A), or local
 *
 * The one question about the socket itself (is it a stream socket?) is
 * asked through a function the front end gives, and only when the
 * answer matters, so a direct connect costs no extra system call.
 */
#ifndef POLICY_H
#define POLICY_H

#include "config.h"
#include "primary.h"
#include "route.h"
#include "socks4.h"

#include <stdbool.h>
#include <sys/socket.h>

enum policy_way {
	POLICY_DIRECT, /* the kernel's own call, as without us */
	POLICY_PROXY,  /* through the SOCKS server */
	POLICY_REFUSE, /* fails with err, and the line says why */
};

#define POLICY_NO_LINE (-1)
#define POLICY_LINE_MAX (CONFIG_RULE_STRLEN + 2 * SOCKS4_HOST_MAX + 256)

/* A log line: level a log_level, or POLICY_NO_LINE. */
struct policy_line {
	int level;
	char text[POLICY_LINE_MAX];
};

/* Writes the line, when there is one: the way both front ends log a
 * decision. errno untouched. */
void policy_say(const struct policy_line *l);

/*
 * The caller's socket: its number in the program (fd, for log lines),
 * the descriptor the front end can ask about (sock: the same number in
 * the library, the supervisor's copy), and how to ask whether it is a
 * stream socket, the only kind SOCKS4 carries.
 */
struct policy_sock {
	int fd;
	int sock;
	bool (*is_stream)(int sock);
};

struct policy_connect {
	enum policy_way way;
	int err;          /* POLICY_REFUSE: a negative errno */
	struct v4 dst;    /* the IPv4 (or v4-mapped) destination; 0 for IPv6 */
	struct v4 server; /* POLICY_PROXY: the SOCKS server */
	const char *host; /* POLICY_PROXY: the name for SOCKS4A, else NULL */
	struct policy_line log;
};

/*
 * connect(fd, addr, len), addr readable for len bytes. In order: an
 * address that is not IPv4 is the kernel's, unless it is IPv6, which
 * SOCKS4 cannot carry (ENETUNREACH unless 'ipv6 direct'); a fake address
 * (remote-dns) goes as SOCKS4A with its name, or is refused (no lookup
 * gave it out, or a rule denies it or sends it direct); then the rules:
 * direct, deny (EACCES), or the proxy, except that 0.0.0.0 is this host
 * and stays here, and a socket that is not a stream goes direct. With
 * settings that cannot be used, what needs the proxy is refused
 * (ECONNREFUSED).
 */
void policy_connect(const struct config *c, const struct policy_sock *k,
		    const struct sockaddr *addr, socklen_t len, struct policy_connect *v);

/* The fake range in network order (see names.c), so that the test every
 * IPv4 connect() makes is an AND and a compare. */
struct policy_fake {
	uint32_t net_n, mask_n;
};

static inline struct policy_fake policy_fake_range(const struct config *c)
{
	uint32_t mask = c->fake_prefix ? ~0u << (32 - c->fake_prefix) : 0;

	return (struct policy_fake){htonl(c->fake_net & mask), htonl(mask)};
}

static inline bool policy_is_fake(struct policy_fake f, uint32_t ip)
{
	return (ip & f.mask_n) == f.net_n;
}

/*
 * policy_connect()'s common case, inline for the library's hot path: true
 * when the IPv4 destination dst goes direct by the rules (*rule the rule,
 * for the log line policy_connect() would write) and is not a fake
 * address. False: ask policy_connect().
 */
static inline bool policy_connect_direct(const struct config *c, struct policy_fake f,
					 struct v4 dst, const struct route_rule **rule)
{
	return !policy_is_fake(f, dst.ip) &&
	       route_lookup(&c->routes, dst.ip, dst.port, rule) == ROUTE_DIRECT;
}

/*
 * What getsockname() reports on a connection a CONNECT made through the
 * proxy, from the granted reply's DSTIP and DSTPORT (reply): the proxy's
 * outward address, when the reply can name one, else {0, 0}: the
 * socket's own address, our end toward the proxy. The draft says a
 * client ignores these fields; Dante fills them with its outward address
 * (what an FTP client's PORT should name), but some 4A servers (Twisted's
 * SOCKSv4) echo the destination, and a program told that would name the
 * server its own address. Not an outward address: 0.0.0.0/8, multicast
 * and 240.0.0.0/4 (which holds the default fake range), the settings'
 * fake range, and the destination dst itself, or, when the server
 * resolved a name (named), any address with the destination's port (the
 * address it found is not known here). log, when set, says why a reply's
 * address is passed over.
 */
struct v4 policy_reply_name(const struct config *c, struct v4 dst, bool named, struct v4 reply,
			    struct policy_line *log);

/*
 * bind(fd, addr, len) on an inet socket: true when the
 * socket is to be served by a SOCKS BIND (*want the address asked for),
 * false when it stays a local socket (log, when set, says why). A BIND
 * is for a stream socket bound to port 0 on an address outside the
 * direct list and not on loopback (unless a proxied connection showed
 * the program that address), with BIND on, usable settings and a
 * proxied connection already made, whose server the BIND can name. An
 * explicit port is a server, not a call-back: it stays local.
 */
bool policy_bind(const struct config *c, struct primary *p, const struct policy_sock *k,
		 const struct sockaddr *addr, socklen_t len, struct v4 *want,
		 struct policy_line *log);

/*
 * listen() on a socket that was never bound (name: its address now, as
 * getsockname() says; 0.0.0.0:0 when unbound): true when it is taken for
 * a BIND, as bind() to 0.0.0.0:0 would be.
 */
bool policy_listen_unbound(const struct config *c, struct primary *p,
			   const struct policy_sock *k, struct v4 name, struct policy_line *log);

/*
 * The application server a BIND on a socket of thread tid bound to bound
 * names (primary_find()'s rule), with its SOCKS4A name when the CONNECT
 * was one: 0, or -EADDRNOTAVAIL when no proxied connection is known.
 */
int policy_bind_server(struct primary *p, int tid, struct v4 bound, struct primary_conn *app);

enum policy_name_way {
	POLICY_NAME_LOCAL,       /* the C library resolves it */
	POLICY_NAME_REMOTE,      /* a fake address: the proxy resolves it */
	POLICY_NAME_LOCAL_FIRST, /* the C library; a fake address if it finds nothing */
	POLICY_NAME_BAD,         /* no resolver is to be asked for it */
};

/* Why a name goes the way it goes (the dry run says it). */
enum policy_name_why {
	POLICY_WHY_OFF,       /* remote-dns off */
	POLICY_WHY_NUMERIC,   /* an address written out */
	POLICY_WHY_INVALID,   /* not a host name */
	POLICY_WHY_RULE,      /* a name rule (*hit) */
	POLICY_WHY_LOCALHOST, /* localhost and names under .localhost */
	POLICY_WHY_HOSTS,     /* /etc/hosts names it */
	POLICY_WHY_MODE,      /* remote-dns on or local-first, no rule */
};

/*
 * How a lookup of name is answered: remote-dns off, numeric strings,
 * "localhost", names the rules send direct and names in /etc/hosts
 * (unless a rule named the name) are local; names no SOCKS4A request may
 * carry are bad; the rest as remote-dns and the name rules say.
 * closefn closes what reading /etc/hosts opened (the library passes the
 * real close). why and hit, when not NULL, get the reason and the name
 * rule that decided (NULL when none did).
 */
enum policy_name_way policy_name(const struct config *c, const char *name,
				 int (*closefn)(int), enum policy_name_why *why,
				 const struct route_rule **hit);

/*
 * The syscall mode cannot give names to the proxy yet: with remote-dns
 * on (or local-first), the one line that says names will be resolved
 * here; NULL when remote-dns is off.
 */
const char *policy_names_syscall_note(const struct config *c);

#endif
