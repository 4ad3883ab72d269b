/* test_route.c - CIDR parsing and first-match routing. */
#include "route.h"
#include "check.h"
#include "v4.h"

#include <arpa/inet.h>
#include <errno.h>

static enum route_action look(const struct route_table *t, const char *a, int port)
{
	return route_lookup(t, ip(a), htons((uint16_t)port), NULL);
}

TEST(cidr_forms)
{
	struct route_rule r;

	CHECK_EQ_INT(route_parse_cidr("10.0.0.0/8", 10, ROUTE_DIRECT, &r), 0);
	CHECK_EQ_INT(r.net, 0x0a000000);
	CHECK_EQ_INT(r.mask, 0xff000000);
	CHECK_EQ_INT(r.port_lo, 0);
	CHECK_EQ_INT(r.port_hi, 65535);
	CHECK_EQ_INT(route_parse_cidr("192.0.2.7", 9, ROUTE_DENY, &r), 0);
	CHECK_EQ_INT(r.mask, 0xffffffff);
	CHECK_EQ_INT(r.action, ROUTE_DENY);
	CHECK_EQ_INT(route_parse_cidr("0.0.0.0/0", 9, ROUTE_PROXY, &r), 0);
	CHECK_EQ_INT(r.mask, 0);
	CHECK_EQ_INT(route_parse_cidr("1.2.3.4/32", 10, ROUTE_PROXY, &r), 0);
}

TEST(cidr_errors)
{
	static const char *bad[] = {
		"", "10", "10.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/8x",
		"10.0.0.0/-1", "256.0.0.0/8", "10.1.2.3/8", "a.b.c.d", "10.0.0.0/123",
		" 10.0.0.0/8", "10.0.0.0//8",
	};
	struct route_rule r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = route_parse_cidr(bad[i], strlen(bad[i]), ROUTE_DIRECT, &r);
		if (rc != -EINVAL)
			printf("# accepted bad CIDR '%s'\n", bad[i]);
		CHECK_EQ_INT(rc, -EINVAL);
	}
}

TEST(first_match_wins)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	struct route_rule r;

	route_parse_cidr("10.1.0.0/16", 11, ROUTE_DENY, &r);
	route_add(&t, &r);
	route_parse_cidr("10.0.0.0/8", 10, ROUTE_DIRECT, &r);
	route_add(&t, &r);
	CHECK_EQ_INT(look(&t, "10.1.2.3", 80), ROUTE_DENY);
	CHECK_EQ_INT(look(&t, "10.2.2.3", 80), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "11.0.0.1", 80), ROUTE_PROXY);
}

TEST(port_ranges)
{
	struct route_table t = {.fallback = ROUTE_DIRECT};
	struct route_rule r;
	const struct route_rule *hit;

	route_parse_cidr("0.0.0.0/0", 9, ROUTE_PROXY, &r);
	r.port_lo = 20;
	r.port_hi = 21;
	route_add(&t, &r);
	CHECK_EQ_INT(look(&t, "198.51.100.1", 21), ROUTE_PROXY);
	CHECK_EQ_INT(look(&t, "198.51.100.1", 20), ROUTE_PROXY);
	CHECK_EQ_INT(look(&t, "198.51.100.1", 22), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "198.51.100.1", 19), ROUTE_DIRECT);
	route_lookup(&t, ip("1.1.1.1"), htons(21), &hit);
	CHECK(hit == &t.rules[0]);
	route_lookup(&t, ip("1.1.1.1"), htons(80), &hit);
	CHECK(hit == NULL);
}

/* dest S: parse S with route_parse_dest; the rule, or a zeroed one. */
static struct route_rule dest(const char *s, const char **why)
{
	struct route_rule r;
	const char *w = NULL;

	if (route_parse_dest(s, strlen(s), ROUTE_DENY, &r, &w) < 0)
		memset(&r, 0, sizeof(r));
	if (why)
		*why = w;
	return r;
}

TEST(dest_ports)
{
	struct route_rule r;

	r = dest("10.0.0.0/8:22", NULL);
	CHECK_EQ_INT(r.net, 0x0a000000);
	CHECK_EQ_INT(r.mask, 0xff000000);
	CHECK_EQ_INT(r.port_lo, 22);
	CHECK_EQ_INT(r.port_hi, 22);
	CHECK_EQ_INT(r.action, ROUTE_DENY);
	CHECK_EQ_INT(r.line, 0);
	r = dest("0.0.0.0/0:6000-6063", NULL);
	CHECK_EQ_INT(r.mask, 0);
	CHECK_EQ_INT(r.port_lo, 6000);
	CHECK_EQ_INT(r.port_hi, 6063);
	r = dest("192.0.2.7:1-1", NULL);
	CHECK_EQ_INT(r.mask, 0xffffffff);
	CHECK_EQ_INT(r.port_lo, 1);
	CHECK_EQ_INT(r.port_hi, 1);
	r = dest("192.0.2.7:65535", NULL);
	CHECK_EQ_INT(r.port_lo, 65535);
	r = dest("192.0.2.7", NULL);
	CHECK_EQ_INT(r.port_lo, 0);
	CHECK_EQ_INT(r.port_hi, 65535);
	/* 1-65535 is every port, so it also matches the port 0 of BIND checks */
	r = dest("192.0.2.0/24:1-65535", NULL);
	CHECK_EQ_INT(r.port_lo, 0);
	CHECK_EQ_INT(r.port_hi, 65535);
}

TEST(dest_errors_say_why)
{
	static const struct {
		const char *s, *why;
	} bad[] = {
		{"", "is not an IPv4 address"},
		{"example.com", "is not an IPv4 address"},
		{"10.0.0", "is not an IPv4 address"},
		{":80", "is not an IPv4 address"},
		{"10.0.0.0/", "prefix length outside 0-32"},
		{"10.0.0.0/33", "prefix length outside 0-32"},
		{"10.0.0.0/123", "prefix length outside 0-32"},
		{"10.0.0.0/x", "prefix length outside 0-32"},
		{"10.1.2.3/8", "host bits set"},
		{"10.0.0.0/8:", "port that is not a number 1-65535"},
		{"10.0.0.0/8:0", "port that is not a number 1-65535"},
		{"10.0.0.0/8:65536", "port that is not a number 1-65535"},
		{"10.0.0.0/8:http", "port that is not a number 1-65535"},
		{"10.0.0.0/8:80-", "port that is not a number 1-65535"},
		{"10.0.0.0/8:-80", "port that is not a number 1-65535"},
		{"10.0.0.0/8:1-2-3", "port that is not a number 1-65535"},
		{"10.0.0.0/8:80:81", "port that is not a number 1-65535"},
		{"10.0.0.0:80/8", "port that is not a number 1-65535"},
		{"10.0.0.0/8:90-80", "range that ends before it starts"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct route_rule r;
		const char *why = NULL;
		int rc = route_parse_dest(bad[i].s, strlen(bad[i].s), ROUTE_DENY, &r, &why);
		if (rc != -EINVAL || !why || !strstr(why, bad[i].why))
			printf("# '%s': %d, '%s'\n", bad[i].s, rc, why ? why : "(null)");
		CHECK_EQ_INT(rc, -EINVAL);
		CHECK(why && strstr(why, bad[i].why));
	}
}

TEST(host_bits_leave_the_masked_network_for_a_suggestion)
{
	char buf[ROUTE_DEST_STRLEN];
	struct route_rule r;
	const char *why;

	CHECK_EQ_INT(route_parse_dest("10.1.2.3/8:22", 13, ROUTE_DIRECT, &r, &why), -EINVAL);
	CHECK_EQ_STR(route_fmt_dest(&r, buf), "10.0.0.0/8:22");
}

TEST(dest_reads_exactly_len_bytes)
{
	struct route_rule r;
	const char *why;

	/* the text goes on past len: only "10.0.0.0/8:2" is read */
	CHECK_EQ_INT(route_parse_dest("10.0.0.0/8:22", 12, ROUTE_DIRECT, &r, &why), 0);
	CHECK_EQ_INT(r.port_lo, 2);
	CHECK_EQ_INT(route_parse_dest("0.0.0.0/24", 9, ROUTE_DIRECT, &r, &why), 0);
	CHECK_EQ_INT(r.mask, 0xc0000000);
}

TEST(cidr_refuses_ports)
{
	struct route_rule r;

	CHECK_EQ_INT(route_parse_cidr("10.0.0.0/8:22", 13, ROUTE_DIRECT, &r), -EINVAL);
}

TEST(formats_round_trip)
{
	static const char *const forms[] = {
		"192.0.2.7", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.0/8:22",
		"0.0.0.0/0:6000-6063", "192.0.2.7:1", "192.0.2.7:1-2",
	};
	char buf[ROUTE_DEST_STRLEN];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct route_rule r = dest(forms[i], NULL);
		CHECK_EQ_STR(route_fmt_dest(&r, buf), forms[i]);
	}
	struct route_rule r = dest("192.0.2.7/32:1-65535", NULL);
	CHECK_EQ_STR(route_fmt_dest(&r, buf), "192.0.2.7");
	r = dest("255.255.255.255/32:65534-65535", NULL);
	CHECK_EQ_STR(route_fmt_dest(&r, buf), "255.255.255.255:65534-65535");
}

TEST(lists)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	const char *bad = NULL, *why = NULL;
	size_t bad_len = 0;

	CHECK_EQ_INT(route_parse_list(&t, "127.0.0.0/8, 192.168.0.0/16 ,10.0.0.1,\t10.9.0.0/16:22",
				      ROUTE_DIRECT, &bad, &bad_len, &why), 0);
	CHECK_EQ_INT(t.n, 4);
	CHECK_EQ_INT(look(&t, "192.168.4.4", 1), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "10.0.0.1", 1), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "10.0.0.2", 1), ROUTE_PROXY);
	CHECK_EQ_INT(look(&t, "10.9.1.1", 22), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "10.9.1.1", 23), ROUTE_PROXY);

	t.n = 0;
	CHECK_EQ_INT(route_parse_list(&t, "", ROUTE_DIRECT, &bad, &bad_len, &why), 0);
	CHECK_EQ_INT(t.n, 0);
	CHECK_EQ_INT(route_parse_list(&t, "10.0.0.0/8,bogus,1.2.3.4", ROUTE_DIRECT,
				      &bad, &bad_len, &why), -EINVAL);
	CHECK_EQ_INT(bad_len, 5);
	CHECK(bad && !strncmp(bad, "bogus", 5));
	CHECK(why && strstr(why, "not an IPv4 address"));
	CHECK_EQ_INT(t.n, 1); /* the items before the bad one are in */
	CHECK_EQ_INT(route_parse_list(&t, "10.0.0.0/8,,1.2.3.4", ROUTE_DIRECT,
				      &bad, &bad_len, &why), -EINVAL);
	CHECK_EQ_STR(why, "is empty");
}

TEST(table_full)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	struct route_rule r = {.port_hi = 65535, .action = ROUTE_DIRECT};
	const char *bad, *why = NULL;
	size_t bad_len;

	for (int i = 0; i < ROUTE_MAX; i++)
		CHECK_EQ_INT(route_add(&t, &r), 0);
	CHECK_EQ_INT(route_add(&t, &r), -ENOSPC);
	CHECK_EQ_INT(route_insert(&t, 0, &r), -ENOSPC);
	CHECK_EQ_INT(route_parse_list(&t, "10.0.0.0/8", ROUTE_DIRECT, &bad, &bad_len, &why),
		     -ENOSPC);
	CHECK(why && strstr(why, "too many"));
}

TEST(insert_keeps_the_order)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	struct route_rule a = dest("10.0.0.0/8", NULL), b = dest("11.0.0.0/8", NULL),
			  c = dest("12.0.0.0/8", NULL);

	CHECK_EQ_INT(route_insert(&t, 0, &b), 0);
	CHECK_EQ_INT(route_insert(&t, 0, &a), 0);
	CHECK_EQ_INT(route_insert(&t, 2, &c), 0);
	CHECK_EQ_INT(route_insert(&t, 99, &c), 0); /* past the end: appended */
	CHECK_EQ_INT(t.n, 4);
	CHECK_EQ_INT(t.rules[0].net, 0x0a000000);
	CHECK_EQ_INT(t.rules[1].net, 0x0b000000);
	CHECK_EQ_INT(t.rules[2].net, 0x0c000000);
	CHECK_EQ_INT(t.rules[3].net, 0x0c000000);
}

TEST(name_patterns)
{
	CHECK(route_name_match("files.example", "FILES.example", 13));
	CHECK(route_name_match("files.example", "files.example.", 14));
	CHECK(!route_name_match("files.example", "files.example.org", 17));
	CHECK(!route_name_match("files.example", "xfiles.example", 14));
	CHECK(route_name_match("*.corp.example", "a.corp.example", 14));
	CHECK(route_name_match("*.corp.example", "a.b.Corp.Example.", 17));
	CHECK(!route_name_match("*.corp.example", "corp.example", 12));
	CHECK(!route_name_match("*.corp.example", "xcorp.example", 13));
	CHECK(route_is_name("files.example", 13));
	CHECK(route_is_name("*.x", 3));
	CHECK(!route_is_name("10.0.0.0/8", 10));
	CHECK(!route_is_name("0.0.0.0/0:25", 12));
	CHECK(!route_is_name("10.0.0.300", 10));
}

TEST(name_rules_never_match_addresses)
{
	struct route_table t = {.n = 0, .fallback = ROUTE_PROXY};
	const struct route_rule *hit;
	const char *why;

	CHECK_EQ_INT(route_insert_name(&t, 0, "*.example", 9, ROUTE_DENY, 3, &why), 0);
	CHECK_EQ_INT(look(&t, "0.0.0.0", 1), ROUTE_PROXY);
	CHECK_EQ_INT(look(&t, "255.255.255.255", 65535), ROUTE_PROXY);
	CHECK_EQ_INT(route_lookup_name(&t, "a.example", &hit), ROUTE_DENY);
	CHECK_EQ_INT(hit->line, 3);
	CHECK_EQ_STR(route_rule_name(&t, hit), "*.example");
	CHECK_EQ_INT(route_lookup_name(&t, "example", &hit), ROUTE_PROXY);
	CHECK(hit == NULL);
	CHECK_EQ_INT(route_insert_name(&t, 0, "a:1", 3, ROUTE_DENY, 4, &why), -EINVAL);
	CHECK(strstr(why, "take no port") != NULL);
	for (int i = 1; i < ROUTE_NAMES_MAX; i++)
		CHECK_EQ_INT(route_insert_name(&t, t.n, "b.example", 9, ROUTE_DIRECT, 5, &why), 0);
	CHECK_EQ_INT(route_insert_name(&t, t.n, "c.example", 9, ROUTE_DIRECT, 6, &why), -ENOSPC);
}

int main(void)
{
	RUN(cidr_forms);
	RUN(cidr_errors);
	RUN(first_match_wins);
	RUN(port_ranges);
	RUN(dest_ports);
	RUN(dest_errors_say_why);
	RUN(host_bits_leave_the_masked_network_for_a_suggestion);
	RUN(dest_reads_exactly_len_bytes);
	RUN(cidr_refuses_ports);
	RUN(formats_round_trip);
	RUN(lists);
	RUN(table_full);
	RUN(insert_keeps_the_order);
	RUN(name_patterns);
	RUN(name_rules_never_match_addresses);
	return check_done();
}
