/* test_config.c - settings from a fake environment. */
#include "../../shim/config.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

/* The fake environment: NAME=VALUE strings, NULL-terminated. */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
	size_t n = strlen(name);

	for (const char *const *e = fake_env; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static int apply(struct config *c, const char *const *env)
{
	fake_env = env;
	config_defaults(c);
	return config_apply_env(c, fake_get);
}

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

TEST(defaults)
{
	static const char *const env[] = {NULL};
	struct config c;

	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_STR(c.server_host, "");
	CHECK_EQ_INT(c.connect_timeout_ms, 120000);
	CHECK_EQ_INT(c.bind_timeout_ms, 120000);
	CHECK(c.bind);
	CHECK_EQ_INT(c.ipv6, ROUTE_DENY);
	CHECK_EQ_INT(route_lookup(&c.routes, ip("127.0.0.1"), 0, NULL), ROUTE_DIRECT);
	CHECK_EQ_INT(route_lookup(&c.routes, ip("127.255.0.9"), 0, NULL), ROUTE_DIRECT);
	CHECK_EQ_INT(route_lookup(&c.routes, ip("128.0.0.1"), 0, NULL), ROUTE_PROXY);
	CHECK_EQ_STR(c.userid, "");
	CHECK_EQ_STR(c.error, "");
	/* no server is an error only when resolving, i.e. when it is needed */
	CHECK_EQ_INT(config_resolve(&c), -EINVAL);
	CHECK(strstr(c.error, "no SOCKS server configured") != NULL);
}

TEST(everything_set)
{
	static const char *const env[] = {
		"SOCKS4_SERVER=192.0.2.1:1080", "SOCKS4_USER=alice", "USER=bob",
		"SOCKS4_TIMEOUT=5", "SOCKS4_BIND_TIMEOUT=7", "SOCKS4_BIND=off",
		"SOCKS4_DIRECT=10.0.0.0/8", "SOCKS4_IPV6=direct", "SOCKS4_DEBUG=2",
		"SOCKS4_QUIET=1", "SOCKS4_LOG=/tmp/x.log", NULL};
	struct config c;

	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_STR(c.server_host, "192.0.2.1");
	CHECK_EQ_INT(c.server_port, htons(1080));
	CHECK_EQ_INT(config_resolve(&c), 0);
	CHECK_EQ_INT(c.server.ip, ip("192.0.2.1"));
	CHECK_EQ_STR(c.userid, "alice");
	CHECK_EQ_INT(c.connect_timeout_ms, 5000);
	CHECK_EQ_INT(c.bind_timeout_ms, 7000);
	CHECK(!c.bind);
	CHECK_EQ_INT(c.ipv6, ROUTE_DIRECT);
	CHECK_EQ_INT(c.debug, 2);
	CHECK(c.quiet);
	CHECK_EQ_STR(c.log_path, "/tmp/x.log");
	/* SOCKS4_DIRECT replaces the default list */
	CHECK_EQ_INT(route_lookup(&c.routes, ip("127.0.0.1"), 0, NULL), ROUTE_PROXY);
	CHECK_EQ_INT(route_lookup(&c.routes, ip("10.9.9.9"), 0, NULL), ROUTE_DIRECT);
}

TEST(user_fallbacks)
{
	static const char *const env1[] = {"USER=bob", "LOGNAME=carol", NULL};
	static const char *const env2[] = {"LOGNAME=carol", NULL};
	static const char *const env3[] = {"SOCKS4_USER=", "USER=bob", NULL};
	struct config c;

	apply(&c, env1);
	CHECK_EQ_STR(c.userid, "bob");
	apply(&c, env2);
	CHECK_EQ_STR(c.userid, "carol");
	apply(&c, env3); /* set but empty: an explicit empty user id */
	CHECK_EQ_STR(c.userid, "");
}

TEST(empty_direct_means_nothing_direct)
{
	static const char *const env[] = {"SOCKS4_DIRECT=", NULL};
	struct config c;

	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_INT(c.routes.n, 0);
	CHECK_EQ_INT(route_lookup(&c.routes, ip("127.0.0.1"), 0, NULL), ROUTE_PROXY);
}

static void expect_error(const char *var, const char *needle)
{
	const char *env[] = {var, NULL};
	struct config c;

	CHECK_EQ_INT(apply(&c, env), -EINVAL);
	if (!strstr(c.error, needle))
		printf("# %s: error '%s' lacks '%s'\n", var, c.error, needle);
	CHECK(strstr(c.error, needle) != NULL);
}

TEST(bad_values)
{
	expect_error("SOCKS4_SERVER=localhost", "SOCKS4_SERVER");
	expect_error("SOCKS4_SERVER=:1080", "not HOST:PORT");
	expect_error("SOCKS4_SERVER=host:0", "valid port");
	expect_error("SOCKS4_SERVER=host:65536", "valid port");
	expect_error("SOCKS4_SERVER=host:80x", "valid port");
	expect_error("SOCKS4_SERVER=ho st:80", "not HOST:PORT");
	expect_error("SOCKS4_SERVER=::1:80", "not HOST:PORT");
	expect_error("SOCKS4_TIMEOUT=0", "SOCKS4_TIMEOUT");
	expect_error("SOCKS4_TIMEOUT=abc", "whole number of seconds");
	expect_error("SOCKS4_TIMEOUT=86401", "SOCKS4_TIMEOUT");
	expect_error("SOCKS4_BIND_TIMEOUT=-1", "SOCKS4_BIND_TIMEOUT");
	expect_error("SOCKS4_BIND=maybe", "on or off");
	expect_error("SOCKS4_DIRECT=10.0.0.0/8,nope", "'nope'");
	expect_error("SOCKS4_IPV6=proxy", "deny or direct");
	expect_error("SOCKS4_DEBUG=high", "SOCKS4_DEBUG");
}

TEST(huge_user_id_is_refused)
{
	char *big = malloc(SOCKS4_USERID_MAX + 32);
	const char *env[] = {big, NULL};
	struct config c;
	size_t prefix = strlen("SOCKS4_USER=");

	memcpy(big, "SOCKS4_USER=", prefix);
	memset(big + prefix, 'u', SOCKS4_USERID_MAX + 1);
	big[prefix + SOCKS4_USERID_MAX + 1] = '\0';
	CHECK_EQ_INT(apply(&c, env), -EINVAL);
	CHECK(strstr(c.error, "1025 bytes") != NULL);
	big[prefix + SOCKS4_USERID_MAX] = '\0'; /* exactly the limit is fine */
	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_INT(strlen(c.userid), SOCKS4_USERID_MAX);
	free(big);
}

TEST(server_name_resolves)
{
	static const char *const env[] = {"SOCKS4_SERVER=localhost:1080", NULL};
	struct config c;

	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_INT(config_resolve(&c), 0);
	CHECK_EQ_INT(c.server.ip, ip("127.0.0.1"));
	CHECK_EQ_INT(c.server.port, htons(1080));
}

int main(void)
{
	RUN(defaults);
	RUN(everything_set);
	RUN(user_fallbacks);
	RUN(empty_direct_means_nothing_direct);
	RUN(bad_values);
	RUN(huge_user_id_is_refused);
	RUN(server_name_resolves);
	return check_done();
}
