/*
 * primary.c - what a program has learned from its proxied connections
 * (see primary.h): which application server a BIND names, and the
 * proxy's addresses.
 */
#include "primary.h"

void primary_add_connect(struct primary *p, int tid, struct v4 dst, const char *host,
			 struct v4 name, struct v4 real_local)
{
	struct primary_conn c = {dst, host, name.ip, real_local.ip};

	pthread_mutex_lock(&p->lock);
	p->conns[p->nconns % PRIMARY_RING] = c;
	p->nconns++;
	pthread_mutex_unlock(&p->lock);
	primary_use(p, tid, &c);
}

/* Under the lock: tid's slot, or NULL. */
static struct primary_use *use_of(struct primary *p, int tid)
{
	for (unsigned i = 0; tid && i < PRIMARY_THREADS && i < p->nused; i++)
		if (p->used[i].tid == tid)
			return &p->used[i];
	return NULL;
}

void primary_use(struct primary *p, int tid, const struct primary_conn *used)
{
	struct primary_use *u;

	pthread_mutex_lock(&p->lock);
	if (!(u = use_of(p, tid)) && used)
		u = &p->used[p->nused++ % PRIMARY_THREADS]; /* the oldest thread's, when full */
	if (u)
		*u = used ? (struct primary_use){tid, *used} : (struct primary_use){.tid = 0};
	pthread_mutex_unlock(&p->lock);
}

/* Under the lock. */
static bool known_proxy_ip(const struct primary *p, uint32_t ip)
{
	for (unsigned i = 0; i < PRIMARY_RING && i < p->nproxy; i++)
		if (p->proxy_ips[i] == ip)
			return true;
	return false;
}

bool primary_find(struct primary *p, int tid, uint32_t bound_ip, struct primary_conn *out)
{
	const struct primary_use *u;
	bool found = false;
	unsigned n;

	pthread_mutex_lock(&p->lock);
	n = p->nconns < PRIMARY_RING ? p->nconns : PRIMARY_RING;
	if ((!bound_ip || known_proxy_ip(p, bound_ip)) && (u = use_of(p, tid))) {
		*out = u->conn;
		found = true;
	}
	for (unsigned i = 0; !found && bound_ip && i < n; i++) {
		const struct primary_conn *c = &p->conns[(p->nconns - 1 - i) % PRIMARY_RING];
		if (c->name_ip == bound_ip || c->local_ip == bound_ip) {
			*out = *c;
			found = true;
		}
	}
	if (!found && p->nconns) {
		*out = p->conns[(p->nconns - 1) % PRIMARY_RING];
		found = true;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

void primary_note_proxy_ip(struct primary *p, uint32_t ip)
{
	if (!ip)
		return;
	pthread_mutex_lock(&p->lock);
	if (!known_proxy_ip(p, ip))
		p->proxy_ips[p->nproxy++ % PRIMARY_RING] = ip;
	pthread_mutex_unlock(&p->lock);
}

bool primary_is_proxy_ip(struct primary *p, uint32_t ip)
{
	bool found;

	pthread_mutex_lock(&p->lock);
	found = known_proxy_ip(p, ip);
	pthread_mutex_unlock(&p->lock);
	return found;
}

bool primary_is_ours(struct primary *p, uint32_t ip)
{
	bool found;

	pthread_mutex_lock(&p->lock);
	found = known_proxy_ip(p, ip);
	for (unsigned i = 0; !found && i < PRIMARY_RING && i < p->nconns; i++)
		found = p->conns[i].name_ip == ip || p->conns[i].local_ip == ip;
	pthread_mutex_unlock(&p->lock);
	return found;
}

/* fork() with another thread inside one of the functions above must not
 * leave the child a held lock. */
void primary_fork_prepare(struct primary *p)
{
	pthread_mutex_lock(&p->lock);
}

void primary_fork_release(struct primary *p)
{
	pthread_mutex_unlock(&p->lock);
}

uint32_t primary_bind_ip(const struct primary *p)
{
	return __atomic_load_n(&p->bind_ip, __ATOMIC_RELAXED);
}

void primary_set_bind_ip(struct primary *p, uint32_t ip)
{
	__atomic_store_n(&p->bind_ip, ip, __ATOMIC_RELAXED);
}
