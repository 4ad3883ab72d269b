/*
 * config.h - the shim's settings: built once from the environment (and,
 * later, a socks4rc file), then read-only. Knows nothing of hooking, so
 * unit tests drive it with a fake environment.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "addr.h"
#include "route.h"
#include "socks4.h"

#include <stdbool.h>

#define CONFIG_HOST_MAX 256
#define CONFIG_PATH_MAX 4096
#define CONFIG_TIMEOUT_MAX_S 86400

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
	/*
	 * Non-empty when the settings cannot be used: the reason, said once
	 * at start-up and again by every call that would need the proxy,
	 * which then fails closed.
	 */
	char error[512];
};

typedef const char *(*config_getenv_fn)(const char *name);

/* Defaults: no server, 120 s timeouts, BIND on, 127.0.0.0/8 direct. */
void config_defaults(struct config *c);

/*
 * Applies the SOCKS4_* variables (and USER/LOGNAME for the user id).
 * Returns 0, or -EINVAL with c->error saying which variable and why.
 */
int config_apply_env(struct config *c, config_getenv_fn get);

/*
 * Resolves server_host to c->server (a name through getaddrinfo, IPv4
 * only). Returns 0, or -EINVAL with c->error set. Not pure: keep it out
 * of unit tests that must not touch the network.
 */
int config_resolve(struct config *c);

#endif
