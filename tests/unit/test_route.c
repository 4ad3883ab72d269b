/* test_route.c - CIDR parsing and first-match routing. */
#include "../../shim/route.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>

static uint32_t ip(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

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

TEST(lists)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	const char *bad = NULL;
	size_t bad_len = 0;

	CHECK_EQ_INT(route_parse_list(&t, "127.0.0.0/8, 192.168.0.0/16 ,10.0.0.1",
				      ROUTE_DIRECT, &bad, &bad_len), 0);
	CHECK_EQ_INT(t.n, 3);
	CHECK_EQ_INT(look(&t, "192.168.4.4", 1), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "10.0.0.1", 1), ROUTE_DIRECT);
	CHECK_EQ_INT(look(&t, "10.0.0.2", 1), ROUTE_PROXY);

	t.n = 0;
	CHECK_EQ_INT(route_parse_list(&t, "", ROUTE_DIRECT, &bad, &bad_len), 0);
	CHECK_EQ_INT(t.n, 0);
	CHECK_EQ_INT(route_parse_list(&t, "10.0.0.0/8,bogus,1.2.3.4", ROUTE_DIRECT,
				      &bad, &bad_len), -EINVAL);
	CHECK_EQ_INT(bad_len, 5);
	CHECK(bad && !strncmp(bad, "bogus", 5));
	CHECK_EQ_INT(route_parse_list(&t, "10.0.0.0/8,,1.2.3.4", ROUTE_DIRECT,
				      &bad, &bad_len), -EINVAL);
}

TEST(table_full)
{
	struct route_table t = {.fallback = ROUTE_PROXY};
	struct route_rule r = {0, 0, 0, 65535, ROUTE_DIRECT};

	for (int i = 0; i < ROUTE_MAX; i++)
		CHECK_EQ_INT(route_add(&t, &r), 0);
	CHECK_EQ_INT(route_add(&t, &r), -ENOSPC);
}

int main(void)
{
	RUN(cidr_forms);
	RUN(cidr_errors);
	RUN(first_match_wins);
	RUN(port_ranges);
	RUN(lists);
	RUN(table_full);
	return check_done();
}
