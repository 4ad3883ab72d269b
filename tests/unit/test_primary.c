/*
 * test_primary.c - what the process remembers of its proxied
 * connections: which one a BIND names, the proxy's addresses, and the
 * same answers from many threads at once.
 */
#include "primary.h"
#include "check.h"

#include <arpa/inet.h>
#include <pthread.h>

static uint32_t ip(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static struct v4 ep(const char *s, int port)
{
	return (struct v4){ip(s), htons((uint16_t)port)};
}

TEST(find_by_address_else_newest)
{
	struct v4 d;

	CHECK(!primary_find(0, &d));
	primary_add_connect(ep("198.51.100.7", 21), ep("203.0.113.1", 5000), ep("0.0.0.0", 0));
	primary_add_connect(ep("198.51.100.8", 21), (struct v4){0, 0}, ep("192.0.2.2", 0));
	CHECK(primary_find(0, &d));
	CHECK_EQ_INT(d.ip, ip("198.51.100.8")); /* the newest */
	CHECK(primary_find(ip("203.0.113.1"), &d));
	CHECK_EQ_INT(d.ip, ip("198.51.100.7")); /* the one reported at that address */
	CHECK(primary_find(ip("192.0.2.2"), &d));
	CHECK_EQ_INT(d.ip, ip("198.51.100.8")); /* the one really there */
	CHECK(primary_is_ours(ip("203.0.113.1")));
	CHECK(primary_is_ours(ip("192.0.2.2")));
	CHECK(!primary_is_ours(ip("192.0.2.99")));
}

TEST(ring_forgets_the_oldest)
{
	struct v4 d;

	primary_add_connect(ep("198.51.100.50", 21), ep("203.0.113.50", 1), ep("0.0.0.0", 0));
	for (int i = 0; i < 20; i++)
		primary_add_connect(ep("198.51.100.60", 21), (struct v4){0, 0}, ep("0.0.0.0", 0));
	CHECK(primary_find(ip("203.0.113.50"), &d));
	CHECK_EQ_INT(d.ip, ip("198.51.100.60")); /* fell out: the newest instead */
}

TEST(proxy_ips)
{
	CHECK(!primary_is_proxy_ip(ip("203.0.113.77")));
	primary_note_proxy_ip(ip("203.0.113.77"));
	primary_note_proxy_ip(0); /* never an address */
	CHECK(primary_is_proxy_ip(ip("203.0.113.77")));
	CHECK(!primary_is_proxy_ip(0));
	primary_set_bind_ip(ip("203.0.113.78"));
	CHECK_EQ_INT(primary_bind_ip(), ip("203.0.113.78"));
}

/* Many threads noting the same few addresses: each is kept once, so 16
 * slots never fill with copies and push the others out. */
static void *note(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5000; i++)
		primary_note_proxy_ip(htonl(0xcb007100u + (uint32_t)(i % 4)));
	return NULL;
}

TEST(note_once_under_threads)
{
	pthread_t t[8];

	primary_note_proxy_ip(ip("198.51.100.200"));
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, note, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	/* still there: the four addresses took four slots, not sixteen */
	CHECK(primary_is_proxy_ip(ip("198.51.100.200")));
	for (uint32_t k = 0; k < 4; k++)
		CHECK(primary_is_proxy_ip(htonl(0xcb007100u + k)));
}

int main(void)
{
	RUN(find_by_address_else_newest);
	RUN(ring_forgets_the_oldest);
	RUN(proxy_ips);
	RUN(note_once_under_threads);
	return check_done();
}
