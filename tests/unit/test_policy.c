/*
 * test_policy.c - where a call goes, decided as plain code: every row of
 * issue 20's table, and the refusals, with the log lines both front ends
 * write. No hooks and no supervisor are linked: the socket's one question
 * (is it a stream?) is answered by the test.
 */
#include "policy.h"
#include "handshake.h"
#include "log.h"
#include "names.h"
#include "check.h"
#include "v4.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define RC "/home/u/.socks4rc"

static bool stream_yes(int sock)
{
	(void)sock;
	return true;
}

static bool stream_no(int sock)
{
	(void)sock;
	return false;
}

static const struct policy_sock tcp = {7, 7, stream_yes}, udp = {7, 7, stream_no};

static const struct v4 none = {0, 0};

static socklen_t sin4(struct sockaddr_storage *ss, const char *a, int port)
{
	return addr_from_v4(AF_INET, ep(a, port), ss);
}

/* Settings from a socks4rc text, with the server 192.0.2.1:1080. */
static void settings(struct config *c, const char *text)
{
	config_defaults(c);
	if (config_parse(c, text, strlen(text), RC) < 0)
		printf("# %s\n", c->error);
	c->server = ep("192.0.2.1", 1080);
	snprintf(c->server_host, sizeof(c->server_host), "192.0.2.1");
}

static void connect_to(const struct config *c, const struct policy_sock *k, const char *a,
		       int port, struct policy_connect *v)
{
	struct sockaddr_storage ss;
	socklen_t len = sin4(&ss, a, port);

	policy_connect(c, k, (struct sockaddr *)&ss, len, v);
}

static bool has(const char *text, const char *part)
{
	if (strstr(text, part))
		return true;
	printf("# '%s' does not say '%s'\n", text, part);
	return false;
}

/* --- connect() ----------------------------------------------------------- */

TEST(connect_proxy_and_direct)
{
	static struct config c;
	struct policy_connect v;
	const struct route_rule *rule;

	settings(&c, "direct 10.0.0.0/8\n");
	connect_to(&c, &tcp, "198.51.100.7", 21, &v);
	CHECK_EQ_INT(v.way, POLICY_PROXY);
	CHECK_EQ_INT(v.server.ip, ip("192.0.2.1"));
	CHECK(v.host == NULL);
	CHECK_EQ_INT(v.log.level, POLICY_NO_LINE);
	CHECK(!policy_connect_direct(&c, policy_fake_range(&c), ep("198.51.100.7", 21), &rule));

	connect_to(&c, &tcp, "10.1.2.3", 22, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	CHECK_EQ_INT(v.log.level, LOG_INFO);
	CHECK(has(v.log.text, "CONNECT 10.1.2.3:22: direct (rule 10.0.0.0/8, " RC ":1)"));
	/* the inline case says the same */
	CHECK(policy_connect_direct(&c, policy_fake_range(&c), ep("10.1.2.3", 22), &rule));

	/* loopback: the built-in rule */
	connect_to(&c, &tcp, "127.0.0.1", 80, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	CHECK(has(v.log.text, "built-in"));
}

/* Row 1: 0.0.0.0 is this host to the kernel: direct, and the line says
 * why, whatever the rules say. */
TEST(connect_this_host_stays_here)
{
	static struct config c;
	struct policy_connect v;
	const struct route_rule *rule;

	settings(&c, "deny 0.0.0.0/0:25\n");
	connect_to(&c, &tcp, "0.0.0.0", 8080, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	CHECK_EQ_INT(v.log.level, LOG_INFO);
	CHECK(has(v.log.text, "CONNECT 0.0.0.0:8080: direct (0.0.0.0 is this host)"));
	CHECK(!policy_connect_direct(&c, policy_fake_range(&c), ep("0.0.0.0", 8080), &rule));
	connect_to(&c, &tcp, "0.0.0.0", 25, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
}

TEST(connect_deny_names_the_rule)
{
	static struct config c;
	struct policy_connect v;

	settings(&c, "deny 0.0.0.0/0:25\n");
	connect_to(&c, &tcp, "198.51.100.7", 25, &v);
	CHECK_EQ_INT(v.way, POLICY_REFUSE);
	CHECK_EQ_INT(v.err, -EACCES);
	CHECK_EQ_INT(v.log.level, LOG_ERROR);
	CHECK(has(v.log.text, "CONNECT 198.51.100.7:25: denied by rule 0.0.0.0/0:25, " RC
			      ":1 (EACCES)"));
	/* denied whatever the socket: UDP too */
	connect_to(&c, &udp, "198.51.100.7", 25, &v);
	CHECK_EQ_INT(v.err, -EACCES);
}

TEST(connect_udp_goes_direct)
{
	static struct config c;
	struct policy_connect v;

	settings(&c, "");
	connect_to(&c, &udp, "198.51.100.7", 53, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	CHECK_EQ_INT(v.log.level, POLICY_NO_LINE);
}

TEST(connect_unconfigured_is_refused)
{
	static struct config c;
	struct policy_connect v;

	settings(&c, "");
	snprintf(c.error, sizeof(c.error), "no SOCKS server");
	connect_to(&c, &tcp, "198.51.100.7", 21, &v);
	CHECK_EQ_INT(v.way, POLICY_REFUSE);
	CHECK_EQ_INT(v.err, -ECONNREFUSED);
	CHECK(has(v.log.text, "CONNECT 198.51.100.7:21: refused, not configured: no SOCKS server"));
	/* what goes direct still does */
	connect_to(&c, &tcp, "127.0.0.1", 21, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
}

TEST(connect_ipv6)
{
	static struct config c;
	struct policy_connect v;
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};

	settings(&c, "");
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	policy_connect(&c, &tcp, (struct sockaddr *)&s6, sizeof(s6), &v);
	CHECK_EQ_INT(v.way, POLICY_REFUSE);
	CHECK_EQ_INT(v.err, -ENETUNREACH);
	CHECK(has(v.log.text, "IPv6"));
	/* a length the kernel refuses: its own EINVAL */
	policy_connect(&c, &tcp, (struct sockaddr *)&s6, SIN6_LEN_RFC2133 - 1, &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	settings(&c, "ipv6 direct\n");
	policy_connect(&c, &tcp, (struct sockaddr *)&s6, sizeof(s6), &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	CHECK_EQ_INT(v.log.level, POLICY_NO_LINE);
}

/* A fake address: SOCKS4A with its name, or refused. */
TEST(connect_fake_addresses)
{
	static struct config c;
	struct policy_connect v;
	struct sockaddr_storage ss;
	char a[INET_ADDRSTRLEN];
	uint32_t fake, unknown;

	settings(&c, "remote-dns on\ndeny smtp.example\ndirect *.corp.example\n");
	names_reset_for_test();
	CHECK_EQ_INT(names_setup(c.fake_net, c.fake_prefix), 0);
	CHECK_EQ_INT(names_fake("ftp.example", 11, &fake), 0);
	unknown = htonl(ntohl(fake) + 100);

	policy_connect(&c, &tcp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){fake, htons(21)}, &ss), &v);
	CHECK_EQ_INT(v.way, POLICY_PROXY);
	CHECK_EQ_STR(v.host, "ftp.example");
	CHECK_EQ_INT(v.dst.ip, fake);

	policy_connect(&c, &tcp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){unknown, htons(21)}, &ss), &v);
	CHECK_EQ_INT(v.way, POLICY_REFUSE);
	CHECK_EQ_INT(v.err, -EHOSTUNREACH);
	inet_ntop(AF_INET, &unknown, a, sizeof(a));
	CHECK(has(v.log.text, a));
	CHECK(has(v.log.text, "no lookup of this process gave out"));

	CHECK_EQ_INT(names_fake("smtp.example", 12, &fake), 0);
	policy_connect(&c, &tcp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){fake, htons(25)}, &ss), &v);
	CHECK_EQ_INT(v.err, -EACCES);
	CHECK(has(v.log.text, "CONNECT smtp.example:25: denied by rule deny smtp.example"));

	CHECK_EQ_INT(names_fake("db.corp.example", 15, &fake), 0);
	policy_connect(&c, &tcp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){fake, htons(5432)}, &ss), &v);
	CHECK_EQ_INT(v.err, -EHOSTUNREACH);
	CHECK(has(v.log.text, "a rule sends it direct"));
	/* UDP to a fake address: the kernel's business */
	policy_connect(&c, &udp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){fake, htons(53)}, &ss), &v);
	CHECK_EQ_INT(v.way, POLICY_DIRECT);
	names_reset_for_test();
}

/* --- bind() and listen() -------------------------------------------------- */

static bool bind_to(const struct config *c, struct primary *p, const char *a, int port,
		    struct policy_line *why)
{
	struct sockaddr_storage ss;
	struct v4 want;
	socklen_t len = sin4(&ss, a, port);

	return policy_bind(c, p, &tcp, (struct sockaddr *)&ss, len, &want, why);
}

/* Row 2: a listener on loopback is a local server, not a call-back. */
TEST(bind_loopback_stays_local)
{
	static struct config c;
	static struct primary p = PRIMARY_INIT;
	struct policy_line why;

	/* loopback through the proxy (as with SOCKS4_DIRECT set): only the
	 * loopback rule of bind() keeps it here */
	settings(&c, "proxy 127.0.0.0/8\n");
	primary_add_connect(&p, 1, ep("198.51.100.7", 21), NULL, none, ep("10.9.9.9", 0));
	CHECK(!bind_to(&c, &p, "127.0.0.9", 0, &why));
	CHECK_EQ_INT(why.level, POLICY_NO_LINE);
	CHECK(!bind_to(&c, &p, "127.0.0.1", 0, &why));
	CHECK(bind_to(&c, &p, "0.0.0.0", 0, &why));
	CHECK(bind_to(&c, &p, "10.9.9.9", 0, &why));
	/* unless the proxy showed the program that loopback address (a
	 * proxy on this host) */
	primary_note_proxy_ip(&p, ip("127.0.0.9"));
	CHECK(bind_to(&c, &p, "127.0.0.9", 0, &why));
}

TEST(bind_rules)
{
	static struct config c;
	static struct primary p = PRIMARY_INIT;
	struct policy_line why;
	struct sockaddr_storage ss;
	struct v4 want;

	settings(&c, "direct 10.0.0.0/8\n");
	/* no proxied connection yet: no server to name, and the line says so */
	CHECK(!bind_to(&c, &p, "0.0.0.0", 0, &why));
	CHECK_EQ_INT(why.level, LOG_INFO);
	CHECK(has(why.text, "bind fd 7 to 0.0.0.0:0: stays local: no proxied connection yet"));
	primary_add_connect(&p, 1, ep("198.51.100.7", 21), NULL, none, none);
	CHECK(bind_to(&c, &p, "0.0.0.0", 0, &why));
	CHECK(!bind_to(&c, &p, "0.0.0.0", 2121, &why)); /* a port: a server */
	CHECK(!bind_to(&c, &p, "10.1.1.1", 0, &why));   /* direct: local */
	CHECK(bind_to(&c, &p, "192.0.2.77", 0, &why));
	CHECK(!policy_bind(&c, &p, &udp, (struct sockaddr *)&ss, sin4(&ss, "0.0.0.0", 0), &want,
			   &why));
	c.bind = false;
	CHECK(!bind_to(&c, &p, "0.0.0.0", 0, &why));
	c.bind = true;
	snprintf(c.error, sizeof(c.error), "no SOCKS server");
	CHECK(!bind_to(&c, &p, "0.0.0.0", 0, &why));
}

TEST(listen_unbound)
{
	static struct config c;
	static struct primary p = PRIMARY_INIT;
	struct policy_line why;

	settings(&c, "");
	CHECK(!policy_listen_unbound(&c, &p, &tcp, none, &why));
	CHECK(has(why.text, "listen on unbound fd 7: stays local"));
	primary_add_connect(&p, 1, ep("198.51.100.7", 21), NULL, none, none);
	CHECK(policy_listen_unbound(&c, &p, &tcp, none, &why));
	CHECK(!policy_listen_unbound(&c, &p, &tcp, ep("0.0.0.0", 40000), &why));
	CHECK(!policy_listen_unbound(&c, &p, &udp, none, &why));
}

/* Row 4: a BIND after a SOCKS4A CONNECT names the host, 4A. */
TEST(bind_after_4a_connect_names_the_host)
{
	static struct config c;
	static struct primary p = PRIMARY_INIT;
	struct policy_connect v;
	struct primary_conn app;
	struct sockaddr_storage ss;
	char what[HS_WHAT_MAX];
	struct hs h;
	uint32_t fake;

	settings(&c, "remote-dns on\n");
	names_reset_for_test();
	names_setup(c.fake_net, c.fake_prefix);
	names_fake("ftp.example", 11, &fake);
	policy_connect(&c, &tcp, (struct sockaddr *)&ss,
		       addr_from_v4(AF_INET, (struct v4){fake, htons(21)}, &ss), &v);
	CHECK_EQ_INT(v.way, POLICY_PROXY);
	/* granted: the front end records it, with its name */
	primary_add_connect(&p, 42, v.dst, v.host, ep("203.0.113.5", 4000), none);
	CHECK_EQ_INT(policy_bind_server(&p, 42, none, &app), 0);
	CHECK_EQ_STR(app.host, "ftp.example");
	hs_init(&h, SOCKS4_CMD_BIND, AF_INET, c.server, app.dst, "", app.host);
	CHECK_EQ_STR(hs_what(&h, what, sizeof(what)), "BIND ftp.example:21");
	/* another thread, bound to the reported address: the same */
	CHECK_EQ_INT(policy_bind_server(&p, 43, ep("203.0.113.5", 0), &app), 0);
	CHECK_EQ_STR(app.host, "ftp.example");
	hs_init(&h, SOCKS4_CMD_BIND, AF_INET, c.server, ep("198.51.100.7", 21), "", NULL);
	CHECK_EQ_STR(hs_what(&h, what, sizeof(what)), "BIND 198.51.100.7:21");
	names_reset_for_test();
}

/* Row 5: the connection this thread last used, then the newest. */
TEST(bind_server_by_thread_then_newest)
{
	static struct primary p = PRIMARY_INIT;
	struct primary_conn app;

	CHECK_EQ_INT(policy_bind_server(&p, 1, none, &app), -EADDRNOTAVAIL);
	primary_add_connect(&p, 100, ep("198.51.100.1", 21), NULL, none, none);
	primary_add_connect(&p, 200, ep("198.51.100.2", 21), NULL, none, none);
	CHECK_EQ_INT(policy_bind_server(&p, 100, none, &app), 0);
	CHECK_EQ_INT(app.dst.ip, ip("198.51.100.1"));
	CHECK_EQ_INT(policy_bind_server(&p, 200, none, &app), 0);
	CHECK_EQ_INT(app.dst.ip, ip("198.51.100.2"));
	CHECK_EQ_INT(policy_bind_server(&p, 300, none, &app), 0);
	CHECK_EQ_INT(app.dst.ip, ip("198.51.100.2"));
}

/* --- names ----------------------------------------------------------------- */

/* A CONNECT reply's address is getsockname()'s answer only when it can
 * be the proxy's outward address (issue 22, item 5). */
TEST(reply_name)
{
	struct config c;
	struct policy_line l;
	struct v4 dst = ep("198.51.100.7", 21), v;

	settings(&c, "remote-dns on\nfake-range 0.99.0.0/16\n");
	/* Dante: its outward address and port */
	v = policy_reply_name(&c, dst, false, ep("203.0.113.5", 40001), &l);
	CHECK_EQ_INT(v.ip, ep("203.0.113.5", 0).ip);
	CHECK_EQ_INT(v.port, htons(40001));
	CHECK_EQ_INT(l.level, POLICY_NO_LINE);
	/* a proxy on the destination's host: same address, another port */
	v = policy_reply_name(&c, dst, false, ep("198.51.100.7", 40001), NULL);
	CHECK_EQ_INT(v.port, htons(40001));
	/* zeros: nothing named, nothing said */
	v = policy_reply_name(&c, dst, false, none, &l);
	CHECK(v.ip == 0 && v.port == 0);
	CHECK_EQ_INT(l.level, POLICY_NO_LINE);
	/* Twisted: the destination echoed */
	v = policy_reply_name(&c, dst, false, dst, &l);
	CHECK(v.ip == 0 && v.port == 0);
	CHECK(has(l.text, "CONNECT reply names 198.51.100.7:21, not the proxy's outward "
		  "address (the server gave back the destination)"));
	/* 4A: the address the server resolved, with the destination's port */
	v = policy_reply_name(&c, ep("240.0.0.1", 21), true, dst, &l);
	CHECK(v.ip == 0 && v.port == 0);
	v = policy_reply_name(&c, ep("0.0.0.1", 21), true, ep("203.0.113.5", 40001), &l);
	CHECK_EQ_INT(v.port, htons(40001));
	/* no host's address: 0/8 (4A's marker echoed), multicast, 240/4 */
	v = policy_reply_name(&c, dst, false, ep("0.0.0.1", 21), &l);
	CHECK(v.ip == 0 && v.port == 0);
	CHECK(has(l.text, "0.0.0.0/8"));
	v = policy_reply_name(&c, dst, false, ep("224.0.0.9", 4000), &l);
	CHECK(v.ip == 0 && v.port == 0);
	v = policy_reply_name(&c, dst, false, ep("240.0.0.1", 4000), &l);
	CHECK(v.ip == 0 && v.port == 0);
	CHECK(has(l.text, "240.0.0.0/4"));
	/* the settings' own fake range */
	v = policy_reply_name(&c, dst, false, ep("0.99.0.1", 4000), &l);
	CHECK(v.ip == 0 && v.port == 0);
	CHECK(has(l.text, "a fake address, for a name"));
}

/* Row 3: with remote-dns on, a name is the proxy's; the syscall mode,
 * which cannot do that yet, says so in one line. */
TEST(names)
{
	static struct config c;
	enum policy_name_why why;
	const struct route_rule *hit;

	settings(&c, "remote-dns on\ndirect *.corp.example\n");
	CHECK_EQ_INT(policy_name(&c, "ftp.example", close, NULL, NULL), POLICY_NAME_REMOTE);
	CHECK_EQ_INT(policy_name(&c, "db.corp.example", close, NULL, NULL), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(policy_name(&c, "localhost", close, NULL, NULL), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(policy_name(&c, "192.0.2.7", close, NULL, NULL), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(policy_name(&c, "fe80::1%eth0", close, NULL, NULL), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(policy_name(&c, "bad name", close, NULL, NULL), POLICY_NAME_BAD);
	CHECK(policy_names_syscall_note(&c) != NULL);
	CHECK(has(policy_names_syscall_note(&c), "resolved here"));
	/* why, for the dry run */
	CHECK_EQ_INT(policy_name(&c, "ftp.example", close, &why, &hit), POLICY_NAME_REMOTE);
	CHECK_EQ_INT(why, POLICY_WHY_MODE);
	CHECK(hit == NULL);
	CHECK_EQ_INT(policy_name(&c, "db.corp.example", close, &why, &hit), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(why, POLICY_WHY_RULE);
	CHECK(hit != NULL);
	policy_name(&c, "localhost", close, &why, &hit);
	CHECK_EQ_INT(why, POLICY_WHY_LOCALHOST);
	policy_name(&c, "10.1", close, &why, &hit);
	CHECK_EQ_INT(why, POLICY_WHY_NUMERIC);
	policy_name(&c, ".example", close, &why, &hit);
	CHECK_EQ_INT(why, POLICY_WHY_INVALID);
	settings(&c, "remote-dns local-first\n");
	CHECK_EQ_INT(policy_name(&c, "ftp.example", close, NULL, NULL), POLICY_NAME_LOCAL_FIRST);
	CHECK(policy_names_syscall_note(&c) != NULL);
	settings(&c, "");
	CHECK_EQ_INT(policy_name(&c, "ftp.example", close, &why, NULL), POLICY_NAME_LOCAL);
	CHECK_EQ_INT(why, POLICY_WHY_OFF);
	CHECK(policy_names_syscall_note(&c) == NULL);
}

int main(void)
{
	RUN(connect_proxy_and_direct);
	RUN(connect_this_host_stays_here);
	RUN(connect_deny_names_the_rule);
	RUN(connect_udp_goes_direct);
	RUN(connect_unconfigured_is_refused);
	RUN(connect_ipv6);
	RUN(connect_fake_addresses);
	RUN(bind_loopback_stays_local);
	RUN(bind_rules);
	RUN(listen_unbound);
	RUN(bind_after_4a_connect_names_the_host);
	RUN(bind_server_by_thread_then_newest);
	RUN(names);
	RUN(reply_name);
	return check_done();
}
