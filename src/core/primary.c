/*
 * primary.c - a small process-wide memory of proxied connections and of
 * the proxy's addresses (see primary.h). Bounded rings under one lock;
 * touched only by proxied calls, never by calls we pass through.
 */
#include "primary.h"

#include <pthread.h>

#define RING 16

struct conn {
	struct v4 dst;
	uint32_t name_ip;
	uint32_t local_ip;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns[RING];
static unsigned nconns; /* total ever added; the newest is conns[(n-1)%RING] */
static uint32_t proxy_ips[RING];
static unsigned nproxy;
static uint32_t bind_ip;

void primary_add_connect(struct v4 dst, struct v4 name, struct v4 real_local)
{
	pthread_mutex_lock(&lock);
	conns[nconns % RING] = (struct conn){dst, name.ip, real_local.ip};
	nconns++;
	pthread_mutex_unlock(&lock);
}

bool primary_find(uint32_t bound_ip, struct v4 *dst)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	if (nconns) {
		unsigned n = nconns < RING ? nconns : RING;

		*dst = conns[(nconns - 1) % RING].dst;
		found = true;
		for (unsigned i = 0; bound_ip && i < n; i++) {
			const struct conn *c = &conns[(nconns - 1 - i) % RING];
			if (c->name_ip == bound_ip || c->local_ip == bound_ip) {
				*dst = c->dst;
				break;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

/* Under the lock. */
static bool known_proxy_ip(uint32_t ip)
{
	for (unsigned i = 0; i < RING && i < nproxy; i++)
		if (proxy_ips[i] == ip)
			return true;
	return false;
}

void primary_note_proxy_ip(uint32_t ip)
{
	if (!ip)
		return;
	pthread_mutex_lock(&lock);
	if (!known_proxy_ip(ip))
		proxy_ips[nproxy++ % RING] = ip;
	pthread_mutex_unlock(&lock);
}

bool primary_is_proxy_ip(uint32_t ip)
{
	bool found;

	pthread_mutex_lock(&lock);
	found = known_proxy_ip(ip);
	pthread_mutex_unlock(&lock);
	return found;
}

bool primary_is_ours(uint32_t ip)
{
	bool found = false;

	pthread_mutex_lock(&lock);
	found = known_proxy_ip(ip);
	for (unsigned i = 0; !found && i < RING && i < nconns; i++)
		found = conns[i].name_ip == ip || conns[i].local_ip == ip;
	pthread_mutex_unlock(&lock);
	return found;
}

/* fork() with another thread inside one of the functions above must not
 * leave the child a held lock: see init.c. */
void primary_fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

void primary_fork_release(void)
{
	pthread_mutex_unlock(&lock);
}

uint32_t primary_bind_ip(void)
{
	return __atomic_load_n(&bind_ip, __ATOMIC_RELAXED);
}

void primary_set_bind_ip(uint32_t ip)
{
	__atomic_store_n(&bind_ip, ip, __ATOMIC_RELAXED);
}
