/*
 * test_primary.c - what a program remembers of its proxied connections:
 * which one a BIND names (by thread, by address, the newest), the
 * proxy's addresses, and the same answers from many threads at once.
 */
#include "primary.h"
#include "check.h"
#include "v4.h"

#include <arpa/inet.h>
#include <pthread.h>

static const struct v4 none = {0, 0};

TEST(find_by_address_else_newest)
{
	static struct primary p = PRIMARY_INIT;
	struct primary_conn c;

	CHECK(!primary_find(&p, 1, 0, &c));
	primary_add_connect(&p, 1, ep("198.51.100.7", 21), NULL, ep("203.0.113.1", 5000), none);
	primary_add_connect(&p, 1, ep("198.51.100.8", 21), NULL, none, ep("192.0.2.2", 0));
	CHECK(primary_find(&p, 2, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.8")); /* the newest */
	CHECK(primary_find(&p, 2, ip("203.0.113.1"), &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.7")); /* the one reported at that address */
	CHECK(primary_find(&p, 2, ip("192.0.2.2"), &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.8")); /* the one really there */
	CHECK(primary_is_ours(&p, ip("203.0.113.1")));
	CHECK(primary_is_ours(&p, ip("192.0.2.2")));
	CHECK(!primary_is_ours(&p, ip("192.0.2.99")));
}

/* A listener bound to no address in particular names the connection
 * its thread last used, not the newest; another thread's is its own. */
TEST(find_by_thread)
{
	static struct primary p = PRIMARY_INIT;
	struct primary_conn c, used = {ep("198.51.100.20", 21), "ftp.example", 0, 0};

	primary_add_connect(&p, 10, ep("198.51.100.10", 21), NULL, none, none);
	primary_add_connect(&p, 11, ep("198.51.100.11", 21), NULL, none, none);
	CHECK(primary_find(&p, 10, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.10"));
	CHECK(primary_find(&p, 11, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.11"));
	CHECK(primary_find(&p, 12, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.11")); /* no connection of its own: the newest */
	/* what the thread used last, with its SOCKS4A name */
	primary_use(&p, 10, &used);
	CHECK(primary_find(&p, 10, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.20"));
	CHECK_EQ_STR(c.host, "ftp.example");
	/* none still open: the newest */
	primary_use(&p, 10, NULL);
	CHECK(primary_find(&p, 10, 0, &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.11"));
}

TEST(ring_forgets_the_oldest)
{
	static struct primary p = PRIMARY_INIT;
	struct primary_conn c;

	primary_add_connect(&p, 1, ep("198.51.100.50", 21), NULL, ep("203.0.113.50", 1), none);
	for (int i = 0; i < 20; i++)
		primary_add_connect(&p, 1, ep("198.51.100.60", 21), NULL, none, none);
	CHECK(primary_find(&p, 2, ip("203.0.113.50"), &c));
	CHECK_EQ_INT(c.dst.ip, ip("198.51.100.60")); /* fell out: the newest instead */
}

TEST(proxy_ips)
{
	static struct primary p = PRIMARY_INIT;

	CHECK(!primary_is_proxy_ip(&p, ip("203.0.113.77")));
	primary_note_proxy_ip(&p, ip("203.0.113.77"));
	primary_note_proxy_ip(&p, 0); /* never an address */
	CHECK(primary_is_proxy_ip(&p, ip("203.0.113.77")));
	CHECK(!primary_is_proxy_ip(&p, 0));
	primary_set_bind_ip(&p, ip("203.0.113.78"));
	CHECK_EQ_INT(primary_bind_ip(&p), ip("203.0.113.78"));
}

/* Many threads noting the same few addresses: each is kept once, so 16
 * slots never fill with copies and push the others out. */
static struct primary shared = PRIMARY_INIT;

static void *note(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5000; i++)
		primary_note_proxy_ip(&shared, htonl(0xcb007100u + (uint32_t)(i % 4)));
	return NULL;
}

TEST(note_once_under_threads)
{
	pthread_t t[8];

	primary_note_proxy_ip(&shared, ip("198.51.100.200"));
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, note, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	/* still there: the four addresses took four slots, not sixteen */
	CHECK(primary_is_proxy_ip(&shared, ip("198.51.100.200")));
	for (uint32_t k = 0; k < 4; k++)
		CHECK(primary_is_proxy_ip(&shared, htonl(0xcb007100u + k)));
}

int main(void)
{
	RUN(find_by_address_else_newest);
	RUN(find_by_thread);
	RUN(ring_forgets_the_oldest);
	RUN(proxy_ips);
	RUN(note_once_under_threads);
	return check_done();
}
