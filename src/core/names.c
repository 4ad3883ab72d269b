/*
 * names.c - the name <-> fake address table (see names.h).
 *
 * Entry i holds the name of address net + 1 + i. Lookups by name scan a
 * dense array of hashes, so a miss touches 4 bytes per name held; lookups
 * by address are an index. Nothing is ever removed.
 */
#include "names.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

struct entry {
	char name[NAMES_LEN + 1];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static uint32_t range_net, range_size; /* host order; size 0: not set up */
static size_t count, capacity;
static uint32_t hashes[NAMES_MAX];
static struct entry entries[NAMES_MAX];

/* fork(): hold the lock across it, so no other thread's half-done
 * insertion is copied and the child starts with the lock free. */
static void before_fork(void)
{
	pthread_mutex_lock(&lock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&lock);
}

static void register_atfork(void)
{
	pthread_atfork(before_fork, after_fork, after_fork);
}

/* The length without a trailing '.' ("example.com." is "example.com"). */
static size_t trim(const char *name, size_t len)
{
	return len > 1 && name[len - 1] == '.' ? len - 1 : len;
}

bool names_valid(const char *name, size_t len)
{
	len = trim(name, len);
	if (memchr(name, '\0', len))
		return false;
	return socks4_host_valid(name, len) && name[0] != '.';
}

/* FNV-1a over the lowercased name. */
static uint32_t hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 16777619u;
	}
	return h;
}

int names_setup(uint32_t net, unsigned prefix)
{
	uint32_t size;
	int err = 0;

	if (prefix < 8 || prefix > 30)
		return -EINVAL;
	size = 1u << (32 - prefix);
	net &= ~(size - 1);
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&lock);
	if (count && (net != range_net || size != range_size)) {
		err = -EBUSY;
	} else {
		range_net = net;
		range_size = size;
		capacity = size - 2 < NAMES_MAX ? size - 2 : NAMES_MAX;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

/* Under the lock: the index of name, or -1. */
static long find(const char *name, size_t len, uint32_t h)
{
	for (size_t i = 0; i < count; i++)
		if (hashes[i] == h && !strncasecmp(entries[i].name, name, len) &&
		    entries[i].name[len] == '\0')
			return (long)i;
	return -1;
}

int names_fake(const char *name, size_t len, uint32_t *ip)
{
	uint32_t h;
	long i;
	int err = 0;

	if (!names_valid(name, len))
		return -EINVAL;
	len = trim(name, len);
	h = hash(name, len);
	pthread_mutex_lock(&lock);
	if (!range_size) {
		err = -ENXIO;
	} else if ((i = find(name, len, h)) < 0) {
		if (count >= capacity) {
			err = -ENOSPC;
		} else {
			i = (long)count;
			memcpy(entries[i].name, name, len);
			entries[i].name[len] = '\0';
			hashes[i] = h;
			count++;
		}
	}
	if (!err)
		*ip = htonl(range_net + 1 + (uint32_t)i);
	pthread_mutex_unlock(&lock);
	return err;
}

bool names_in_range(uint32_t ip)
{
	uint32_t h = ntohl(ip);
	bool in;

	pthread_mutex_lock(&lock);
	in = range_size && h - range_net < range_size;
	pthread_mutex_unlock(&lock);
	return in;
}

int names_lookup(uint32_t ip, char *buf, size_t cap)
{
	uint32_t i = ntohl(ip) - 1;
	int err = -ENOENT;

	pthread_mutex_lock(&lock);
	if (range_size && i - range_net < count) {
		i -= range_net;
		if (strlen(entries[i].name) < cap) {
			strcpy(buf, entries[i].name);
			err = 0;
		} else {
			err = -ENAMETOOLONG;
		}
	}
	pthread_mutex_unlock(&lock);
	return err;
}

const char *names_get(uint32_t ip)
{
	uint32_t i = ntohl(ip) - 1;
	const char *name = NULL;

	pthread_mutex_lock(&lock);
	if (range_size && i - range_net < count)
		name = entries[i - range_net].name;
	pthread_mutex_unlock(&lock);
	return name;
}

size_t names_count(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = count;
	pthread_mutex_unlock(&lock);
	return n;
}

size_t names_capacity(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = capacity;
	pthread_mutex_unlock(&lock);
	return n;
}

void names_lock_for_test(void)
{
	pthread_mutex_lock(&lock);
}

void names_unlock_for_test(void)
{
	pthread_mutex_unlock(&lock);
}

void names_reset_for_test(void)
{
	pthread_mutex_lock(&lock);
	count = capacity = 0;
	range_net = range_size = 0;
	pthread_mutex_unlock(&lock);
}
