/* test_config.c - settings from a socks4rc text, a fake environment, and
 * both in the shim's order. */
#include "config.h"
#include "check.h"
#include "v4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define RC "/home/u/.socks4rc"

/* The defaults, then TEXT as the file RC. */
static int parse(struct config *c, const char *text)
{
	config_defaults(c);
	return config_parse(c, text, strlen(text), RC);
}

/* The defaults, TEXT as RC, then ENV: what the shim does minus the I/O. */
static int parse_env(struct config *c, const char *text, const char *const *env)
{
	int err = parse(c, text);

	fake_env = env;
	return config_apply_env(c, fake_get) < 0 ? -EINVAL : err;
}

static enum route_action look(const struct config *c, const char *a, int port)
{
	return route_lookup(&c->routes, ip(a), htons((uint16_t)port), NULL);
}

/* The origin of the rule ADDR:PORT hits, "" for none. */
static const char *hit_origin(const struct config *c, const char *a, int port)
{
	static char buf[256];
	const struct route_rule *r;

	route_lookup(&c->routes, ip(a), htons((uint16_t)port), &r);
	return r ? config_rule_origin(c, r, buf, sizeof(buf)) : "";
}

static const char *origin(const struct config *c, enum config_setting s)
{
	static char buf[256];
	return config_origin_str(c, s, buf, sizeof(buf));
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
	CHECK(strstr(c.error, "no SOCKS4 server configured") != NULL);
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
	expect_error("SOCKS4_DEBUG=3", "'3' is not a level 0-2");
	expect_error("SOCKS4_QUIET=loud", "SOCKS4_QUIET: 'loud' is not on or off");
	expect_error("SOCKS4_DIRECT=10.1.2.3/8", "SOCKS4_DIRECT: '10.1.2.3/8' has host bits set");
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
	CHECK(strstr(c.error, "SOCKS4_USER: user id is 1025 bytes") != NULL);
	big[prefix + SOCKS4_USERID_MAX] = '\0'; /* exactly the limit is fine */
	CHECK_EQ_INT(apply(&c, env), 0);
	CHECK_EQ_INT(strlen(c.userid), SOCKS4_USERID_MAX);
	free(big);
}

/* The server's name is resolved as the system resolves it: a build root
 * without /etc/hosts (a package build) has no "localhost", and then the
 * settings must say so rather than guess. */
TEST(server_name_resolves)
{
	static const char *const env[] = {"SOCKS4_SERVER=localhost:1080", NULL};
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
	struct config c;

	CHECK_EQ_INT(apply(&c, env), 0);
	if (getaddrinfo("localhost", NULL, &hints, &ai) != 0) {
		CHECK(config_resolve(&c) < 0);
		CHECK(strstr(c.error, "localhost") != NULL);
		return;
	}
	CHECK_EQ_INT(config_resolve(&c), 0);
	CHECK_EQ_INT(c.server.ip, ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr);
	CHECK_EQ_INT(c.server.port, htons(1080));
	freeaddrinfo(ai);
}

/* --- the file ------------------------------------------------------- */

TEST(every_setting_from_a_file)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "# a socks4rc\n"
			       "server proxy.example:1080\n"
			       "user alice\n"
			       "timeout 5\n"
			       "bind-timeout 7\n"
			       "\n"
			       "bind off\n"
			       "ipv6 direct\n"
			       "debug 2\n"),
		     0);
	CHECK_EQ_STR(c.error, "");
	CHECK_EQ_STR(c.file, RC);
	CHECK_EQ_STR(c.server_host, "proxy.example");
	CHECK_EQ_INT(c.server_port, htons(1080));
	CHECK_EQ_STR(c.userid, "alice");
	CHECK_EQ_INT(c.connect_timeout_ms, 5000);
	CHECK_EQ_INT(c.bind_timeout_ms, 7000);
	CHECK(!c.bind);
	CHECK_EQ_INT(c.ipv6, ROUTE_DIRECT);
	CHECK_EQ_INT(c.debug, 2);
	CHECK_EQ_STR(origin(&c, CONFIG_SERVER), RC ":2");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), RC ":3");
	CHECK_EQ_STR(origin(&c, CONFIG_TIMEOUT), RC ":4");
	CHECK_EQ_STR(origin(&c, CONFIG_BIND_TIMEOUT), RC ":5");
	CHECK_EQ_STR(origin(&c, CONFIG_BIND), RC ":7");
	CHECK_EQ_STR(origin(&c, CONFIG_IPV6), RC ":8");
	CHECK_EQ_STR(origin(&c, CONFIG_DEBUG), RC ":9");
}

TEST(defaults_say_default)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, ""), 0);
	for (int s = 0; s < CONFIG_NSETTINGS; s++)
		CHECK_EQ_STR(origin(&c, (enum config_setting)s), "default");
	CHECK_EQ_STR(config_setting_name(CONFIG_BIND_TIMEOUT), "bind-timeout");
	CHECK_EQ_INT(c.routes.n, 1);
	CHECK_EQ_STR(hit_origin(&c, "127.0.0.1", 80), "built-in");
}

TEST(the_values_a_file_takes)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "bind on\nipv6 deny\ndebug 0\ntimeout 86400\nbind-timeout 1\n"), 0);
	CHECK(c.bind);
	CHECK_EQ_INT(c.ipv6, ROUTE_DENY);
	CHECK_EQ_INT(c.debug, 0);
	CHECK_EQ_INT(c.connect_timeout_ms, 86400u * 1000);
	CHECK_EQ_INT(c.bind_timeout_ms, 1000);
	CHECK_EQ_INT(parse(&c, "bind yes\n"), 0); /* as SOCKS4_BIND takes them */
	CHECK(c.bind);
	CHECK_EQ_INT(parse(&c, "server 192.0.2.1:1\n"), 0);
	CHECK_EQ_INT(c.server_port, htons(1));
}

TEST(comments_blanks_and_quotes)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "   # indented comment\n"
			       "\t\n"
			       "server 192.0.2.1:1080   # the office proxy\n"
			       "  user\t \"J. Random User\"#no blank needed before a comment? no:\n"),
		     -EINVAL);
	CHECK_EQ_STR(c.error, RC ":4: text follows a closing quote without a blank");

	CHECK_EQ_INT(parse(&c, "server 192.0.2.1:1080   # the office proxy\n"
			       "  user\t \"J. Random User\"  # quoted: blanks kept\n"),
		     0);
	CHECK_EQ_STR(c.server_host, "192.0.2.1");
	CHECK_EQ_STR(c.userid, "J. Random User");
	CHECK_EQ_INT(parse(&c, "user a#b\n"), 0); /* '#' inside a word is the word's */
	CHECK_EQ_STR(c.userid, "a#b");
	CHECK_EQ_INT(parse(&c, "user \"#x\"\n"), 0);
	CHECK_EQ_STR(c.userid, "#x");
	CHECK_EQ_INT(parse(&c, "user \"\"\n"), 0); /* an explicit empty user id */
	CHECK_EQ_STR(c.userid, "");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), RC ":1");
}

TEST(crlf_lines_and_no_final_newline)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "server 192.0.2.1:1080\r\ntimeout 9\r\n\r\ndeny 10.0.0.0/8"), 0);
	CHECK_EQ_STR(c.server_host, "192.0.2.1");
	CHECK_EQ_INT(c.connect_timeout_ms, 9000);
	CHECK_EQ_INT(look(&c, "10.1.1.1", 80), ROUTE_DENY);
	CHECK_EQ_STR(hit_origin(&c, "10.1.1.1", 80), RC ":4");
}

TEST(parse_reads_exactly_len_bytes)
{
	static const char text[] = "timeout 12\ntimeout 99\n";
	struct config c;

	config_defaults(&c);
	CHECK_EQ_INT(config_parse(&c, text, 10, RC), 0); /* "timeout 12", no NUL */
	CHECK_EQ_INT(c.connect_timeout_ms, 12000);
	config_defaults(&c);
	CHECK_EQ_INT(config_parse(&c, text, 9, RC), 0); /* "timeout 1" */
	CHECK_EQ_INT(c.connect_timeout_ms, 1000);
}

TEST(every_rule_kind)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "direct 192.168.0.0/16\n"
			       "proxy 10.1.0.0/16\n"
			       "deny 10.0.0.0/8\n"),
		     0);
	CHECK_EQ_INT(c.routes.n, 4);
	CHECK_EQ_INT(look(&c, "192.168.3.4", 80), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "10.1.2.3", 80), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "10.2.2.3", 80), ROUTE_DENY);
	CHECK_EQ_INT(look(&c, "198.51.100.1", 80), ROUTE_PROXY); /* no rule: proxy */
	CHECK_EQ_STR(hit_origin(&c, "192.168.3.4", 80), RC ":1");
	CHECK_EQ_STR(hit_origin(&c, "10.1.2.3", 80), RC ":2");
	CHECK_EQ_STR(hit_origin(&c, "10.2.2.3", 80), RC ":3");
	CHECK_EQ_STR(hit_origin(&c, "198.51.100.1", 80), "");
}

TEST(port_ranges_in_rules)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "deny 0.0.0.0/0:25\n"
			       "direct 10.0.0.0/8:6000-6063\n"
			       "proxy 10.0.0.0/8\n"
			       "direct 0.0.0.0/0:1-1023\n"),
		     0);
	CHECK_EQ_INT(look(&c, "198.51.100.1", 25), ROUTE_DENY);
	CHECK_EQ_INT(look(&c, "198.51.100.1", 26), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "198.51.100.1", 1023), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "198.51.100.1", 1024), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 6000), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 6063), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 6064), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 5999), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 25), ROUTE_DENY);
}

TEST(first_match_wins_and_the_builtin_rule_comes_last)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "deny 10.1.0.0/16\n"
			       "direct 10.0.0.0/8\n"
			       "deny 10.0.0.0/8\n"
			       "proxy 127.0.0.0/8:5432\n"),
		     0);
	CHECK_EQ_INT(look(&c, "10.1.0.1", 80), ROUTE_DENY);
	CHECK_EQ_INT(look(&c, "10.2.0.1", 80), ROUTE_DIRECT); /* not line 3 */
	CHECK_EQ_INT(look(&c, "127.0.0.1", 5432), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "127.0.0.1", 5433), ROUTE_DIRECT);
	CHECK_EQ_STR(hit_origin(&c, "127.0.0.1", 5433), "built-in");
	CHECK_EQ_INT(c.routes.rules[c.routes.n - 1].net, 0x7f000000);

	/* a file proxies all of loopback by saying so */
	CHECK_EQ_INT(parse(&c, "proxy 127.0.0.0/8\n"), 0);
	CHECK_EQ_INT(look(&c, "127.0.0.1", 80), ROUTE_PROXY);
}

/* --- the environment over the file ---------------------------------------- */

static const char FULL_RC[] = "server 192.0.2.1:1080\n"
			      "user alice\n"
			      "timeout 5\n"
			      "bind-timeout 7\n"
			      "bind off\n"
			      "ipv6 direct\n"
			      "debug 1\n"
			      "deny 10.0.0.0/8\n";

TEST(the_environment_overrides_the_file)
{
	static const char *const env[] = {
		"SOCKS4_SERVER=192.0.2.9:1081", "SOCKS4_USER=carol", "SOCKS4_TIMEOUT=50",
		"SOCKS4_BIND_TIMEOUT=70", "SOCKS4_BIND=on", "SOCKS4_IPV6=deny",
		"SOCKS4_DEBUG=2", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, FULL_RC, env), 0);
	CHECK_EQ_STR(c.server_host, "192.0.2.9");
	CHECK_EQ_INT(c.server_port, htons(1081));
	CHECK_EQ_STR(c.userid, "carol");
	CHECK_EQ_INT(c.connect_timeout_ms, 50000);
	CHECK_EQ_INT(c.bind_timeout_ms, 70000);
	CHECK(c.bind);
	CHECK_EQ_INT(c.ipv6, ROUTE_DENY);
	CHECK_EQ_INT(c.debug, 2);
	CHECK_EQ_STR(origin(&c, CONFIG_SERVER), "SOCKS4_SERVER");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), "SOCKS4_USER");
	CHECK_EQ_STR(origin(&c, CONFIG_TIMEOUT), "SOCKS4_TIMEOUT");
	CHECK_EQ_STR(origin(&c, CONFIG_BIND_TIMEOUT), "SOCKS4_BIND_TIMEOUT");
	CHECK_EQ_STR(origin(&c, CONFIG_BIND), "SOCKS4_BIND");
	CHECK_EQ_STR(origin(&c, CONFIG_IPV6), "SOCKS4_IPV6");
	CHECK_EQ_STR(origin(&c, CONFIG_DEBUG), "SOCKS4_DEBUG");
	/* the file's rules still apply */
	CHECK_EQ_INT(look(&c, "10.0.0.1", 80), ROUTE_DENY);
}

TEST(the_file_keeps_what_the_environment_leaves)
{
	static const char *const env[] = {"SOCKS4_TIMEOUT=50", "SOCKS4_SERVER=", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, FULL_RC, env), 0);
	CHECK_EQ_STR(c.server_host, "192.0.2.1"); /* set but empty: unset */
	CHECK_EQ_STR(origin(&c, CONFIG_SERVER), RC ":1");
	CHECK_EQ_INT(c.connect_timeout_ms, 50000);
	CHECK_EQ_INT(c.bind_timeout_ms, 7000);
}

TEST(the_file_user_beats_the_login_name)
{
	static const char *const login[] = {"USER=bob", "LOGNAME=bob", NULL};
	static const char *const explicit[] = {"SOCKS4_USER=", "USER=bob", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, "user alice\n", login), 0);
	CHECK_EQ_STR(c.userid, "alice");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), RC ":1");
	CHECK_EQ_INT(parse_env(&c, "user alice\n", explicit), 0);
	CHECK_EQ_STR(c.userid, "");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), "SOCKS4_USER");
	CHECK_EQ_INT(parse_env(&c, "", login), 0);
	CHECK_EQ_STR(c.userid, "bob");
	CHECK_EQ_STR(origin(&c, CONFIG_USER), "USER");
}

TEST(socks4_direct_goes_first_and_replaces_the_builtin_rule)
{
	static const char *const env[] = {"SOCKS4_DIRECT=10.1.0.0/16, 192.0.2.0/24:22", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, "deny 10.0.0.0/8\nproxy 192.0.2.0/24\n", env), 0);
	CHECK_EQ_INT(c.env_rules, 2);
	CHECK_EQ_INT(c.routes.n, 4);
	CHECK_EQ_INT(look(&c, "10.1.0.1", 80), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "10.2.0.1", 80), ROUTE_DENY);
	CHECK_EQ_INT(look(&c, "192.0.2.1", 22), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "192.0.2.1", 23), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "127.0.0.1", 80), ROUTE_PROXY);
	CHECK_EQ_STR(hit_origin(&c, "10.1.0.1", 80), "SOCKS4_DIRECT");
	CHECK_EQ_STR(hit_origin(&c, "192.0.2.1", 22), "SOCKS4_DIRECT");
	CHECK_EQ_STR(hit_origin(&c, "10.2.0.1", 80), RC ":1");
	CHECK_EQ_STR(hit_origin(&c, "192.0.2.1", 23), RC ":2");
}

TEST(an_empty_socks4_direct_leaves_only_the_file_rules)
{
	static const char *const env[] = {"SOCKS4_DIRECT=", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, "direct 10.0.0.0/8\n", env), 0);
	CHECK_EQ_INT(c.routes.n, 1);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 80), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "127.0.0.1", 80), ROUTE_PROXY);
}

/* --- errors in the file ------------------------------------------------------ */

/* TEXT must fail with exactly MESSAGE as c.error. */
static void file_error(const char *text, const char *message)
{
	struct config c;
	int rc = parse(&c, text);

	if (rc != -EINVAL || strcmp(c.error, message))
		printf("# for %s\n#   got  '%s'\n#   want '%s'\n", text, c.error, message);
	CHECK_EQ_INT(rc, -EINVAL);
	CHECK_EQ_STR(c.error, message);
}

/* Three good lines first, so the bad one is line 4. */
#define OK3 "# settings\nserver 192.0.2.1:1080\n\n"

TEST(every_file_error_names_file_and_line)
{
	file_error(OK3 "severe 1\n", RC ":4: unknown setting 'severe'");
	file_error(OK3 "Server 192.0.2.1:1080\n", RC ":4: unknown setting 'Server'");
	file_error(OK3 "server = 192.0.2.1:1080\n",
		   RC ":4: 'server' takes one value, but '192.0.2.1:1080' follows it "
		      "(server HOST:PORT)");
	file_error(OK3 "timeout\n", RC ":4: 'timeout' needs a value (timeout SECONDS)");
	file_error(OK3 "deny   # what?\n",
		   RC ":4: 'deny' needs a value (deny NETWORK[:PORT[-PORT]])");
	file_error(OK3 "direct 10.0.0.0/8 192.168.0.0/16\n",
		   RC ":4: 'direct' takes one value, but '192.168.0.0/16' follows it "
		      "(direct NETWORK[:PORT[-PORT]])");
	file_error(OK3 "server 192.0.2.2:1080\n",
		   RC ":4: 'server' is set twice; line 2 set it already");
	file_error("timeout 5\n" OK3 "timeout 6\n",
		   RC ":5: 'timeout' is set twice; line 1 set it already");
	file_error(OK3 "user a\nuser a\n", RC ":5: 'user' is set twice; line 4 set it already");
	file_error("server proxy.example\n", RC ":1: server: 'proxy.example' is not HOST:PORT");
	file_error("server proxy.example:0\n",
		   RC ":1: server: 'proxy.example:0' has no valid port (1-65535)");
	file_error("server proxy.example:65536\n",
		   RC ":1: server: 'proxy.example:65536' has no valid port (1-65535)");
	file_error(OK3 "timeout 0\n",
		   RC ":4: timeout: '0' is not a whole number of seconds (1-86400)");
	file_error(OK3 "timeout 86401\n",
		   RC ":4: timeout: '86401' is not a whole number of seconds (1-86400)");
	file_error(OK3 "bind-timeout 2m\n",
		   RC ":4: bind-timeout: '2m' is not a whole number of seconds (1-86400)");
	file_error(OK3 "bind maybe\n", RC ":4: bind: 'maybe' is not on or off");
	file_error(OK3 "ipv6 proxy\n", RC ":4: ipv6: 'proxy' is not deny or direct");
	file_error(OK3 "debug 3\n", RC ":4: debug: '3' is not a level 0-2");
	file_error(OK3 "debug -1\n", RC ":4: debug: '-1' is not a level 0-2");
}

TEST(every_rule_error_names_file_and_line)
{
	file_error(OK3 "direct 10.0.0.300\n",
		   RC ":4: direct: '10.0.0.300' is not an IPv4 address or network "
		      "(a.b.c.d or a.b.c.d/n)");
	file_error(OK3 "proxy 10.0.0.0/33\n",
		   RC ":4: proxy: '10.0.0.0/33' has a prefix length outside 0-32");
	file_error(OK3 "deny 10.1.2.3/8\n",
		   RC ":4: deny: '10.1.2.3/8' has host bits set; did you mean 10.0.0.0/8?");
	file_error(OK3 "deny 10.1.2.3/8:25\n",
		   RC ":4: deny: '10.1.2.3/8:25' has host bits set; did you mean 10.0.0.0/8:25?");
	file_error(OK3 "deny 0.0.0.0/0:smtp\n",
		   RC ":4: deny: '0.0.0.0/0:smtp' has a port that is not a number 1-65535");
	file_error(OK3 "deny 0.0.0.0/0:0\n",
		   RC ":4: deny: '0.0.0.0/0:0' has a port that is not a number 1-65535");
	file_error(OK3 "deny 0.0.0.0/0:70000\n",
		   RC ":4: deny: '0.0.0.0/0:70000' has a port that is not a number 1-65535");
	file_error(OK3 "direct 0.0.0.0/0:25-21\n",
		   RC ":4: direct: '0.0.0.0/0:25-21' has a port range that ends before it starts");
}

TEST(bad_bytes_and_quotes_are_errors)
{
	static const char nul[] = OK3 "user a\0b\n";
	char *longline = malloc(CONFIG_LINE_MAX + 64);
	struct config c;

	config_defaults(&c);
	CHECK_EQ_INT(config_parse(&c, nul, sizeof(nul) - 1, RC), -EINVAL);
	CHECK_EQ_STR(c.error, RC ":4: contains a NUL byte");
	file_error(OK3 "user a\033[31mb\n", RC ":4: contains a control character (0x1b)");
	file_error(OK3 "user a\rb\n", RC ":4: contains a control character (0x0d)");
	file_error(OK3 "user \"a b\n", RC ":4: a quote is not closed");
	file_error(OK3 "user \"a\"b\n", RC ":4: text follows a closing quote without a blank");

	/* CONFIG_LINE_MAX bytes is a line; one more is not */
	memset(longline, ' ', CONFIG_LINE_MAX + 1);
	memcpy(longline, "user x", 6);
	longline[CONFIG_LINE_MAX] = '\n';
	longline[CONFIG_LINE_MAX + 1] = '\0';
	CHECK_EQ_INT(parse(&c, longline), 0);
	longline[CONFIG_LINE_MAX] = ' ';
	longline[CONFIG_LINE_MAX + 1] = '\0';
	file_error(longline, RC ":1: line is longer than 2048 bytes");
	free(longline);
}

TEST(too_many_rules_is_an_error)
{
	char *text = malloc(ROUTE_MAX * 32);
	struct config c;
	size_t n = 0;

	/* the built-in rule takes one place of ROUTE_MAX */
	for (int i = 0; i < ROUTE_MAX; i++)
		n += (size_t)sprintf(text + n, "deny 10.0.%d.0/24\n", i);
	CHECK_EQ_INT(parse(&c, text), -EINVAL);
	CHECK_EQ_STR(c.error, RC ":128: one rule too many: 128 in all is the limit");
	free(text);
}

TEST(a_bad_line_keeps_the_rules_before_it_and_drops_the_builtin)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "direct 10.0.0.0/8\n"
			       "timeout 9\n"
			       "nonsense\n"
			       "direct 192.168.0.0/16\n"
			       "timeout 8\n"),
		     -EINVAL);
	CHECK_EQ_STR(c.error, RC ":3: unknown setting 'nonsense'");
	CHECK_EQ_INT(c.routes.n, 1);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 80), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&c, "192.168.0.1", 80), ROUTE_PROXY); /* and fails closed */
	CHECK_EQ_INT(look(&c, "127.0.0.1", 80), ROUTE_PROXY);
	CHECK_EQ_INT(c.connect_timeout_ms, 9000);
}

TEST(the_first_error_is_kept_over_the_environments)
{
	static const char *const env[] = {"SOCKS4_TIMEOUT=zero", "SOCKS4_QUIET=1", NULL};
	struct config c;

	CHECK_EQ_INT(parse_env(&c, "bogus\n", env), -EINVAL);
	CHECK_EQ_STR(c.error, RC ":1: unknown setting 'bogus'");
	CHECK(c.quiet); /* -q still silences the message */
}

/* --- finding and reading the file --------------------------------------------- */

static char tmpdir[] = "/tmp/test_config.XXXXXX";

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, text, len), (long long)len);
	close(fd);
}

static int build(struct config *c, const char *const *env)
{
	fake_env = env;
	return config_build(c, fake_get);
}

TEST(build_reads_socks4_conf_then_applies_the_environment)
{
	char path[256], var[300];
	const char *env[] = {var, "SOCKS4_TIMEOUT=3", NULL};
	struct config c;

	snprintf(path, sizeof(path), "%s/conf", tmpdir);
	snprintf(var, sizeof(var), "SOCKS4_CONF=%s", path);
	write_file(path, FULL_RC, strlen(FULL_RC));
	CHECK_EQ_INT(build(&c, env), 0);
	CHECK_EQ_STR(c.file, path);
	CHECK_EQ_STR(c.server_host, "192.0.2.1");
	CHECK_EQ_INT(c.connect_timeout_ms, 3000);
	CHECK_EQ_INT(c.bind_timeout_ms, 7000);
	unlink(path);
}

TEST(a_missing_socks4_conf_is_an_error)
{
	char var[300], want[400];
	const char *env[] = {var, "SOCKS4_SERVER=192.0.2.1:1080", NULL};
	struct config c;

	snprintf(var, sizeof(var), "SOCKS4_CONF=%s/nope", tmpdir);
	snprintf(want, sizeof(want), "settings file %s/nope (SOCKS4_CONF): No such file or directory",
		 tmpdir);
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK_EQ_STR(c.error, want);
	CHECK_EQ_INT(c.routes.n, 1); /* the file failed before any rule */
}

TEST(a_directory_is_an_error)
{
	char var[300], want[400];
	const char *env[] = {var, NULL};
	struct config c;

	snprintf(var, sizeof(var), "SOCKS4_CONF=%s", tmpdir);
	snprintf(want, sizeof(want), "settings file %s (SOCKS4_CONF): not a regular file (a directory)",
		 tmpdir);
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK_EQ_STR(c.error, want);
}

/* Opening a FIFO to read blocks until a writer comes: it must not. */
TEST(a_fifo_is_an_error_at_once)
{
	char path[256], var[300], home[300], want[400];
	const char *env[] = {var, NULL}, *env2[] = {home, "SOCKS4_SERVER=192.0.2.1:1080", NULL};
	struct config c;

	snprintf(path, sizeof(path), "%s/.socks4rc", tmpdir);
	CHECK_EQ_INT(mkfifo(path, 0600), 0);
	alarm(10); /* a regression ends the test program instead of hanging it */
	snprintf(var, sizeof(var), "SOCKS4_CONF=%s", path);
	snprintf(want, sizeof(want), "settings file %s (SOCKS4_CONF): not a regular file (a FIFO)", path);
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK_EQ_STR(c.error, want);
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	snprintf(want, sizeof(want), "settings file %s: not a regular file (a FIFO)", path);
	CHECK_EQ_INT(build(&c, env2), -EINVAL);
	CHECK_EQ_STR(c.error, want);
	alarm(0);
	unlink(path);
}

TEST(dev_null_reads_as_no_settings)
{
	const char *env[] = {"SOCKS4_CONF=/dev/null", "SOCKS4_SERVER=192.0.2.1:1080", NULL};
	struct config c;

	CHECK_EQ_INT(build(&c, env), 0);
	CHECK_EQ_STR(c.file, "/dev/null");
}

TEST(home_socks4rc_is_read_and_may_be_missing)
{
	char path[256], home[300], want[400];
	const char *env[] = {home, "SOCKS4_SERVER=192.0.2.1:1080", NULL};
	struct config c;

	snprintf(path, sizeof(path), "%s/.socks4rc", tmpdir);
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	write_file(path, "deny 10.0.0.0/8\n", 16);
	CHECK_EQ_INT(build(&c, env), 0);
	CHECK_EQ_STR(c.file, path);
	CHECK_EQ_INT(look(&c, "10.0.0.1", 80), ROUTE_DENY);

	/* with no server anywhere the message names the file */
	env[1] = NULL;
	snprintf(want, sizeof(want), "no SOCKS4 server configured: %s has no 'server' line, "
		 "and neither socks4wrap -s nor SOCKS4_SERVER gives one", path);
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK_EQ_STR(c.error, want);
	unlink(path);

	/* missing: on to the system file, which is not there either here */
	env[1] = "SOCKS4_SERVER=192.0.2.1:1080";
	if (access(config_system_file(), F_OK) == 0) {
		printf("# %s exists: skipping the no-file case\n", config_system_file());
		return;
	}
	CHECK_EQ_INT(build(&c, env), 0);
	CHECK_EQ_STR(c.file, "");
	env[1] = NULL;
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK_EQ_STR(c.error, "no SOCKS4 server configured: use socks4wrap -s HOST:PORT, "
			      "set SOCKS4_SERVER, or write ~/.socks4rc (see socks4rc(5))");
}

TEST(file_size_limit)
{
	char path[256], var[300];
	const char *env[] = {var, "SOCKS4_SERVER=192.0.2.1:1080", NULL};
	char *big = malloc(CONFIG_FILE_MAX + 1);
	struct config c;

	/* comment lines up to exactly the limit */
	memset(big, '#', CONFIG_FILE_MAX + 1);
	for (size_t i = 1000; i < CONFIG_FILE_MAX + 1; i += 1000)
		big[i] = '\n';
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	snprintf(var, sizeof(var), "SOCKS4_CONF=%s", path);
	write_file(path, big, CONFIG_FILE_MAX);
	CHECK_EQ_INT(build(&c, env), 0);
	write_file(path, big, CONFIG_FILE_MAX + 1);
	CHECK_EQ_INT(build(&c, env), -EINVAL);
	CHECK(strstr(c.error, "/big: longer than 65536 bytes") != NULL);
	unlink(path);
	free(big);
}

TEST(remote_dns_and_fake_range)
{
	const char *env[] = {"SOCKS4_REMOTE_DNS=local-first", "SOCKS4_FAKE_RANGE=0.128.0.0/16", NULL};
	struct config c;

	CHECK_EQ_INT(parse(&c, "server 192.0.2.1:1080\n"), 0);
	CHECK_EQ_INT(c.remote_dns, CONFIG_DNS_OFF);
	CHECK_EQ_INT(c.fake_net, 0xf0000000u);
	CHECK_EQ_INT(c.fake_prefix, 20);
	CHECK_EQ_INT(parse(&c, "remote-dns on\nfake-range 240.16.0.0/12\n"), 0);
	CHECK_EQ_INT(c.remote_dns, CONFIG_DNS_ON);
	CHECK_EQ_INT(c.fake_net, 0xf0100000u);
	CHECK_EQ_INT(c.fake_prefix, 12);
	CHECK_EQ_STR(origin(&c, CONFIG_REMOTE_DNS), RC ":1");
	CHECK_EQ_INT(parse_env(&c, "remote-dns on\n", env), 0);
	CHECK_EQ_INT(c.remote_dns, CONFIG_DNS_LOCAL_FIRST);
	CHECK_EQ_INT(c.fake_net, 0x00800000u);
	CHECK_EQ_STR(origin(&c, CONFIG_FAKE_RANGE), "SOCKS4_FAKE_RANGE");
	CHECK_EQ_STR(config_remote_dns_str(CONFIG_DNS_LOCAL_FIRST), "local-first");
	expect_error("SOCKS4_REMOTE_DNS=yes", "'yes' is not off, on or local-first");
	expect_error("SOCKS4_FAKE_RANGE=10.0.0.0/8", "never be routable");
	expect_error("SOCKS4_FAKE_RANGE=192.0.2.0/24", "never be routable");
	expect_error("SOCKS4_FAKE_RANGE=0.0.0.0/16", "never be routable");
	expect_error("SOCKS4_FAKE_RANGE=240.0.0.0/31", "/8 to /30");
	expect_error("SOCKS4_FAKE_RANGE=240.0.0.0/4", "/8 to /30");
	expect_error("SOCKS4_FAKE_RANGE=240.0.0.0", "not a network");
	expect_error("SOCKS4_FAKE_RANGE=240.0.0.1/20", "not a network");
	expect_error("SOCKS4_FAKE_RANGE=240.0.0.0/20:80", "not a network");
}

static enum config_name_way way(const struct config *c, const char *name)
{
	const struct route_rule *hit;

	return config_name_way(c, name, &hit);
}

TEST(name_rules_in_the_one_list)
{
	const struct route_rule *hit;
	struct config c;

	CHECK_EQ_INT(parse(&c, "remote-dns on\n"
			       "deny 0.0.0.0/0:25\n"
			       "direct *.corp.example\n"
			       "deny Evil.Example.\n"
			       "proxy intranet.corp.example\n"
			       "direct 192.168.0.0/16\n"), 0);
	CHECK_EQ_INT(c.routes.n, 6); /* and the built-in 127.0.0.0/8 */
	CHECK_EQ_STR(route_rule_name(&c.routes, &c.routes.rules[1]), "*.corp.example");
	CHECK_EQ_STR(route_rule_name(&c.routes, &c.routes.rules[2]), "Evil.Example");
	CHECK(route_rule_name(&c.routes, &c.routes.rules[0]) == NULL);
	/* name rules never match an address */
	CHECK_EQ_INT(look(&c, "240.0.0.1", 80), ROUTE_PROXY);
	CHECK_EQ_INT(look(&c, "192.168.1.1", 80), ROUTE_DIRECT);
	/* the lookup: name rules only, first match; intranet is below the
	 * broader direct, so it is direct */
	CHECK_EQ_INT(way(&c, "a.corp.example"), CONFIG_NAME_LOCAL);
	CHECK_EQ_INT(way(&c, "INTRANET.corp.example"), CONFIG_NAME_LOCAL);
	CHECK_EQ_INT(way(&c, "corp.example"), CONFIG_NAME_REMOTE);
	CHECK_EQ_INT(way(&c, "evil.example"), CONFIG_NAME_REMOTE);
	CHECK_EQ_INT(way(&c, "files.example"), CONFIG_NAME_REMOTE);
	CHECK_EQ_INT(way(&c, "localhost"), CONFIG_NAME_LOCAL);
	CHECK_EQ_INT(way(&c, "db.LOCALHOST."), CONFIG_NAME_LOCAL);
	/* the connect: both kinds in order, the fake address for address rules */
	CHECK_EQ_INT(route_lookup_dest(&c.routes, "evil.example.", ip("240.0.0.3"), htons(80), &hit),
		     ROUTE_DENY);
	CHECK_EQ_INT(hit->line, 4);
	CHECK_EQ_INT(route_lookup_dest(&c.routes, "files.example", ip("240.0.0.3"), htons(25), &hit),
		     ROUTE_DENY);
	CHECK_EQ_INT(hit->line, 2);
	CHECK_EQ_INT(route_lookup_dest(&c.routes, "files.example", ip("240.0.0.3"), htons(21), &hit),
		     ROUTE_PROXY);
	CHECK(hit == NULL);
	/* off: every name is the program's own business */
	CHECK_EQ_INT(parse(&c, "direct *.corp.example\n"), 0);
	CHECK_EQ_INT(way(&c, "files.example"), CONFIG_NAME_LOCAL);
	CHECK_EQ_INT(parse(&c, "remote-dns local-first\n"), 0);
	CHECK_EQ_INT(way(&c, "files.example"), CONFIG_NAME_LOCAL_FIRST);
}

TEST(bad_name_rules)
{
	struct config c;

	CHECK_EQ_INT(parse(&c, "direct files.example:21\n"), -EINVAL);
	CHECK(strstr(c.error, RC ":1: direct: 'files.example:21' is a name rule, and name rules take no port"));
	CHECK_EQ_INT(parse(&c, "deny *.\n"), -EINVAL);
	CHECK(strstr(c.error, "not a host name or a *.NAME pattern"));
	CHECK_EQ_INT(parse(&c, "deny a/b.example\n"), -EINVAL);
	CHECK_EQ_INT(parse(&c, "deny *.a*b\n"), -EINVAL);
	CHECK_EQ_INT(parse(&c, "deny .example\n"), -EINVAL);
}

TEST(hosts_lines)
{
	CHECK(config_hosts_line_has("192.0.2.9 files.example files", 29, "FILES.example"));
	CHECK(config_hosts_line_has("192.0.2.9\tfiles.example\tfiles", 29, "files"));
	CHECK(config_hosts_line_has("192.0.2.9 files.example", 23, "files.example."));
	CHECK(!config_hosts_line_has("192.0.2.9 files.example", 23, "192.0.2.9"));
	CHECK(!config_hosts_line_has("192.0.2.9 files.example", 23, "files.exampl"));
	CHECK(!config_hosts_line_has("# 192.0.2.9 files.example", 25, "files.example"));
	CHECK(!config_hosts_line_has("192.0.2.9 a #files.example", 26, "files.example"));
	CHECK(config_hosts_line_has("192.0.2.9 a b.example\r", 22, "b.example"));
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(defaults);
	RUN(everything_set);
	RUN(user_fallbacks);
	RUN(empty_direct_means_nothing_direct);
	RUN(bad_values);
	RUN(huge_user_id_is_refused);
	RUN(server_name_resolves);
	RUN(every_setting_from_a_file);
	RUN(defaults_say_default);
	RUN(the_values_a_file_takes);
	RUN(comments_blanks_and_quotes);
	RUN(crlf_lines_and_no_final_newline);
	RUN(parse_reads_exactly_len_bytes);
	RUN(every_rule_kind);
	RUN(port_ranges_in_rules);
	RUN(first_match_wins_and_the_builtin_rule_comes_last);
	RUN(the_environment_overrides_the_file);
	RUN(the_file_keeps_what_the_environment_leaves);
	RUN(the_file_user_beats_the_login_name);
	RUN(socks4_direct_goes_first_and_replaces_the_builtin_rule);
	RUN(an_empty_socks4_direct_leaves_only_the_file_rules);
	RUN(every_file_error_names_file_and_line);
	RUN(every_rule_error_names_file_and_line);
	RUN(bad_bytes_and_quotes_are_errors);
	RUN(too_many_rules_is_an_error);
	RUN(a_bad_line_keeps_the_rules_before_it_and_drops_the_builtin);
	RUN(the_first_error_is_kept_over_the_environments);
	RUN(build_reads_socks4_conf_then_applies_the_environment);
	RUN(a_missing_socks4_conf_is_an_error);
	RUN(a_directory_is_an_error);
	RUN(a_fifo_is_an_error_at_once);
	RUN(dev_null_reads_as_no_settings);
	RUN(home_socks4rc_is_read_and_may_be_missing);
	RUN(file_size_limit);
	RUN(remote_dns_and_fake_range);
	RUN(name_rules_in_the_one_list);
	RUN(bad_name_rules);
	RUN(hosts_lines);
	rmdir(tmpdir);
	return check_done();
}
