/*
 * config.h - the shim's settings: built once from a socks4rc file and the
 * environment, then read-only. Knows nothing of hooking, so unit tests
 * drive it with a buffer and a fake environment.
 *
 * Precedence, lowest first: the defaults, the file, the environment
 * (socks4wrap turns its options into environment variables, so options
 * win over both). Routing rules are one ordered list, the first match
 * wins:
 *
 *	SOCKS4_DIRECT's networks (direct)
 *	the file's rules, in the file's order
 *	direct 127.0.0.0/8 (built in; dropped when SOCKS4_DIRECT is set)
 *	anything else: proxy
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "addr.h"
#include "route.h"
#include "socks4.h"

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_HOST_MAX 256
#define CONFIG_PATH_MAX 4096
#define CONFIG_TIMEOUT_MAX_S 86400
#define CONFIG_DEBUG_MAX 2
#define CONFIG_FILE_MAX 65536 /* bytes in a settings file */
#define CONFIG_LINE_MAX 2048  /* bytes in one of its lines, newline excluded */

/* The settings a file line or a variable can set, each at most once per file. */
enum config_setting {
	CONFIG_SERVER,
	CONFIG_USER,
	CONFIG_TIMEOUT,
	CONFIG_BIND_TIMEOUT,
	CONFIG_BIND,
	CONFIG_IPV6,
	CONFIG_DEBUG,
	CONFIG_REMOTE_DNS,
	CONFIG_FAKE_RANGE,
	CONFIG_NSETTINGS
};

/* Who resolves the names a program looks up (SOCKS4A; see socks4rc(5)). */
enum config_remote_dns {
	CONFIG_DNS_OFF,         /* the program, as without us */
	CONFIG_DNS_ON,          /* the proxy, for every name not kept local */
	CONFIG_DNS_LOCAL_FIRST, /* the program; the proxy when that finds nothing */
};

/* The default fake range: 240.0.0.0/20, in 240/4, which is never routed. */
#define CONFIG_FAKE_NET 0xf0000000u
#define CONFIG_FAKE_PREFIX 20

/* Where a setting's value came from: an environment variable, else a
 * line of c->file, else (NULL, 0) the default. */
struct config_origin {
	const char *var;
	unsigned line;
};

struct config {
	char server_host[CONFIG_HOST_MAX]; /* as given; "" when unset */
	uint16_t server_port;              /* network byte order */
	struct v4 server;                  /* resolved, see config_resolve() */
	char userid[SOCKS4_USERID_MAX + 1];
	unsigned connect_timeout_ms;
	unsigned bind_timeout_ms;
	bool bind;                      /* BIND for listening sockets */
	enum route_action ipv6;         /* native IPv6: ROUTE_DENY or ROUTE_DIRECT */
	struct route_table routes;
	int debug;                      /* 0 errors, 1 decisions, 2 detail */
	bool quiet;                     /* not even errors */
	char log_path[CONFIG_PATH_MAX]; /* "" means stderr */
	enum config_remote_dns remote_dns;
	uint32_t fake_net;              /* host order */
	unsigned fake_prefix;

	char file[CONFIG_PATH_MAX];     /* the settings file read; "" none */
	struct config_origin origin[CONFIG_NSETTINGS];
	size_t env_rules;               /* routes.rules[0..env_rules): SOCKS4_DIRECT */
	bool builtin_direct;            /* the last rule is the built-in one */
	/*
	 * Non-empty when the settings cannot be used: the reason, said once
	 * at start-up and again by every call that would need the proxy,
	 * which then fails closed. A file's problems read
	 * "/home/u/.socks4rc:7: unknown setting 'severe'".
	 */
	char error[512];
};

typedef const char *(*config_getenv_fn)(const char *name);

/*
 * All of it, in order, as the shim does at start-up: the defaults, the
 * settings file (config_load_file), the environment, and a check that a
 * server is named somewhere. Does not resolve the server's name. Returns
 * 0, or -EINVAL with c->error set; the environment is applied even after
 * a bad file, so -q and --log still apply to the message.
 */
int config_build(struct config *c, config_getenv_fn get);

/* Defaults: no server, 120 s timeouts, BIND on, 127.0.0.0/8 direct. */
void config_defaults(struct config *c);

/*
 * Reads settings from a socks4rc text of len bytes, named filename in
 * messages; pure (no I/O, no allocation), for unit tests and fuzzing.
 * Stops at the first problem: returns -EINVAL with c->error set to
 * "FILENAME:LINE: what is wrong". The rules before the bad line stay
 * and the built-in 127.0.0.0/8 rule goes, so only rules known to be
 * meant apply; everything else needs the proxy and fails closed.
 */
int config_parse(struct config *c, const char *buf, size_t len,
		 const char *filename);

/*
 * Finds and reads the settings file: SOCKS4_CONF if set (it must exist),
 * else $HOME/.socks4rc, else config_system_file(); only the first found
 * is read, and none at all is fine. Only a regular file (or /dev/null)
 * is read: a FIFO,
 * device, directory or socket is an error naming the file, and opening
 * one never blocks. System calls only (never the shim's own hooks), into
 * a static buffer: call it from one thread at a time (the shim calls it
 * once). Returns 0, or -EINVAL with c->error set.
 */
int config_load_file(struct config *c, config_getenv_fn get);

/* "a FIFO", "a directory", "a regular file"...: st_mode's file type in
 * words, for messages. */
const char *config_file_type(unsigned mode);

/* A settings file config_load_file() reads: a regular file, or /dev/null
 * (SOCKS4_CONF=/dev/null reads none). */
struct stat;
bool config_file_usable(const struct stat *st);

/*
 * Applies the SOCKS4_* variables (and USER/LOGNAME for the user id when
 * neither SOCKS4_USER nor the file gave one) over what is there.
 * Returns 0, or -EINVAL with c->error saying which variable and why.
 */
int config_apply_env(struct config *c, config_getenv_fn get);

/*
 * Resolves server_host to c->server (a name through getaddrinfo, IPv4
 * only). Returns 0, or -EINVAL with c->error set. Not pure: keep it out
 * of unit tests that must not touch the network.
 */
typedef int (*config_gai_fn)(const char *node, const char *service,
			     const struct addrinfo *hints, struct addrinfo **res);
int config_resolve_with(struct config *c, config_gai_fn gai);

/* The same with the C library's getaddrinfo(), for programs. The
 * preloaded library passes the real one instead: there getaddrinfo() is
 * one of its own hooks, which it never calls. */
static inline int config_resolve(struct config *c)
{
	return config_resolve_with(c, getaddrinfo);
}

/* "$(SYSCONFDIR)/socks4rc", as built. */
const char *config_system_file(void);

/* The word a file uses for a setting: "bind-timeout". */
const char *config_setting_name(enum config_setting s);

/* Where a setting came from: "SOCKS4_USER", "/home/u/.socks4rc:3" or
 * "default". */
const char *config_origin_str(const struct config *c, enum config_setting s,
			      char *buf, size_t len);

/* Where one of c->routes' rules came from: "SOCKS4_DIRECT",
 * "/home/u/.socks4rc:5" or "built-in". */
const char *config_rule_origin(const struct config *c,
			       const struct route_rule *r, char *buf, size_t len);

/* A rule and where it came from, for log lines:
 * "127.0.0.0/8, built-in" or "0.0.0.0/0:25, /home/u/.socks4rc:5". */
#define CONFIG_RULE_STRLEN (ROUTE_DEST_STRLEN + CONFIG_PATH_MAX + 32)
const char *config_rule_str(const struct config *c, const struct route_rule *r,
			    char buf[CONFIG_RULE_STRLEN]);

/*
 * Where a native IPv6 destination goes, since SOCKS4 cannot carry it: the
 * ipv6 setting, except that ::1 goes where 127.0.0.1 goes (same port).
 * *hit is the rule that decided for ::1, else NULL. ROUTE_PROXY never
 * comes back: what cannot be proxied is denied.
 */
enum route_action config_route_ipv6(const struct config *c,
				    const struct sockaddr *sa, socklen_t len,
				    const struct route_rule **hit);

/* "off", "on" or "local-first". */
const char *config_remote_dns_str(enum config_remote_dns m);

/* How a name lookup is answered (hooks_names.c, and the dry run). */
enum config_name_way {
	CONFIG_NAME_LOCAL,  /* the C library resolves it: mode off, a name
			       the rules send direct, localhost, numeric */
	CONFIG_NAME_REMOTE, /* a fake address; the proxy resolves it */
	CONFIG_NAME_LOCAL_FIRST, /* the C library, then the proxy if it finds
				    nothing */
};

/*
 * How a lookup of name is answered, before /etc/hosts is consulted (the
 * caller does that): the remote-dns mode, "localhost" and names under
 * ".localhost" (always local), then the first name rule that matches
 * (*hit; NULL when none did): direct resolves locally, proxy and deny
 * get a fake address (deny is enforced at connect(), with EACCES).
 */
enum config_name_way config_name_way(const struct config *c, const char *name,
				     const struct route_rule **hit);

/* Whether one hosts(5) line of len bytes names name (any of its names,
 * without regard to case). Pure. */
bool config_hosts_line_has(const char *line, size_t len, const char *name);

/*
 * Whether the hosts(5) file at path names name: open(2) and read(2),
 * closed with closefn (the library passes the real close). A missing or
 * unreadable file names nothing.
 */
bool config_hosts_has(const char *path, const char *name, int (*closefn)(int));

#endif
