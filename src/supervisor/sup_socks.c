/*
 * sup_socks.c - the sockets the supervisor serves: one record each, the
 * core's struct fdslot (fdstate.h), the same record the library keeps,
 * found by identity.
 *
 * The supervisor holds no descriptor of the program's between calls, so
 * a record is found by the socket's inode (with its device), and checked
 * against the socket's SO_COOKIE, which the kernel never gives twice: an
 * inode reused by a new socket finds nothing stale, and the stale record
 * goes. The table is a hash of chains that grows with it, so two sockets
 * never share a place and a live record is never overwritten.
 *
 * When records are freed: at once when the program's call says so
 * (a reconnect, sup_socks_drop()); when their inode turns out reused
 * (above); and for sockets the program simply closed (close() is not
 * trapped), by a sweep each time the table has doubled since the last
 * one: a record whose inode no readable process holds any more is let go
 * of. Memory is the only bound, and SUP_SOCKS_MAX records is the line
 * drawn under it: past it a call that needs a new record fails with
 * ENOMEM and a log line, nothing is dropped to make room.
 *
 * Ownership: a record is used by one worker at a time: sup_socks_get()
 * and sup_socks_add() hand it out busy (a worker that wants a busy one
 * waits), sup_socks_put() gives it back. Nobody waits while holding one
 * record for another, so no two workers ever wait for each other.
 */
#include "log.h"
#include "sup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define SWEEP_FIRST 1024 /* records before the first sweep */

struct sup_sock {
	struct fdslot rec; /* first: a record's address is its entry's */
	uint64_t cookie;   /* 0: the kernel gave none */
	bool busy;
	struct sup_sock *next;
};

static struct sup_sock **buckets;
static size_t nbuckets, count, sweep_at = SWEEP_FIRST;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;

/* The identity of the socket behind fd: its inode, and its cookie read
 * only when a record of that inode is there to tell apart (the common
 * answer, "none", costs one fstat). */
struct ident {
	int fd;
	struct stat st;
	bool have_cookie;
	uint64_t cookie; /* 0: the kernel gave none */
};

static bool identity(int fd, struct ident *id)
{
	id->fd = fd;
	id->have_cookie = false;
	return fstat(fd, &id->st) == 0;
}

static uint64_t cookie_of(struct ident *id)
{
	socklen_t len = sizeof(id->cookie);

	if (!id->have_cookie &&
	    getsockopt(id->fd, SOL_SOCKET, SO_COOKIE, &id->cookie, &len) < 0)
		id->cookie = 0;
	id->have_cookie = true;
	return id->cookie;
}

static size_t bucket_of(ino_t ino, size_t n)
{
	return (size_t)((uint64_t)ino * 0x9e3779b97f4a7c15ull >> 32) & (n - 1);
}

/* Under the lock: unlinks and frees e. */
static void unlink_free(struct sup_sock *e)
{
	struct sup_sock **p = &buckets[bucket_of(e->rec.ino, nbuckets)];

	while (*p && *p != e)
		p = &(*p)->next;
	if (*p)
		*p = e->next;
	count--;
	free(e);
}

/* Under the lock: the entry of the socket id, or NULL; one of its inode
 * with another cookie is a socket gone, and goes. */
static struct sup_sock *find(struct ident *id)
{
	struct sup_sock *e, *next;
	uint64_t cookie;

	if (!nbuckets)
		return NULL;
	for (e = buckets[bucket_of(id->st.st_ino, nbuckets)]; e; e = next) {
		next = e->next;
		if (e->rec.ino != id->st.st_ino || e->rec.dev != id->st.st_dev)
			continue;
		cookie = cookie_of(id);
		if (e->cookie == cookie || !cookie || !e->cookie)
			return e;
		if (!e->busy) /* busy: its socket is alive, its inode not reused */
			unlink_free(e);
	}
	return NULL;
}

/* Under the lock: room for one more in the bucket array (doubling). */
static bool grow(void)
{
	size_t n = nbuckets ? 2 * nbuckets : 1024;
	struct sup_sock **b;

	if (nbuckets && count < 2 * nbuckets)
		return true;
	if (!(b = calloc(n, sizeof(*b))))
		return nbuckets != 0; /* the chains just get longer */
	for (size_t i = 0; i < nbuckets; i++)
		for (struct sup_sock *e = buckets[i], *next; e; e = next) {
			size_t k = bucket_of(e->rec.ino, n);
			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	free(buckets);
	buckets = b;
	nbuckets = n;
	return true;
}

/* Socket inodes some readable process still holds, sorted. */
static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return x < y ? -1 : x > y;
}

static ino_t *live_inodes(size_t *n)
{
	char path[600], link[64];
	size_t cap = 1024;
	ino_t *v = malloc(cap * sizeof(*v));
	DIR *procs = opendir("/proc"), *fds;
	struct dirent *p, *f;

	*n = 0;
	if (!v || !procs) {
		free(v);
		if (procs)
			closedir(procs);
		return NULL;
	}
	while ((p = readdir(procs))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		if (!(fds = opendir(path)))
			continue;
		while ((f = readdir(fds))) {
			unsigned long long ino;
			ssize_t len;

			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0 || (link[len] = 0, sscanf(link, "socket:[%llu]", &ino) != 1))
				continue;
			if (*n == cap) {
				ino_t *w = realloc(v, 2 * cap * sizeof(*v));
				if (!w) {
					closedir(fds);
					closedir(procs);
					free(v);
					return NULL;
				}
				v = w;
				cap *= 2;
			}
			v[(*n)++] = (ino_t)ino;
		}
		closedir(fds);
	}
	closedir(procs);
	qsort(v, *n, sizeof(*v), cmp_ino);
	return v;
}

/* Under the lock: lets go of the records of sockets no process holds. */
static void sweep(void)
{
	size_t n, before = count;
	ino_t *live = live_inodes(&n);

	if (!live)
		return; /* nothing known for sure: keep them all */
	for (size_t i = 0; i < nbuckets; i++)
		for (struct sup_sock *e = buckets[i], *next; e; e = next) {
			next = e->next;
			if (!e->busy && !bsearch(&e->rec.ino, live, n, sizeof(*live), cmp_ino))
				unlink_free(e);
		}
	free(live);
	log_msg(LOG_DEBUG, "syscall mode: %zu socket records, %zu of closed sockets let go of",
		before, before - count);
}

struct fdslot *sup_socks_get(int fd)
{
	struct sup_sock *e;
	struct ident id;

	if (!identity(fd, &id))
		return NULL;
	pthread_mutex_lock(&lock);
	while ((e = find(&id)) && e->busy)
		pthread_cond_wait(&idle, &lock);
	if (e)
		e->busy = true;
	pthread_mutex_unlock(&lock);
	return e ? &e->rec : NULL;
}

bool sup_socks_peek(int fd, struct fdslot *out)
{
	struct fdslot *s = sup_socks_get(fd);

	if (s) {
		*out = *s;
		sup_socks_put(s);
	}
	return s != NULL;
}

struct fdslot *sup_socks_add(int fd, enum fd_kind kind, int family, int *err)
{
	struct sup_sock *e;
	struct ident id;

	if (!identity(fd, &id)) {
		*err = -errno;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	while ((e = find(&id)) && e->busy)
		pthread_cond_wait(&idle, &lock);
	if (!e) {
		if (count >= sweep_at) {
			sweep();
			sweep_at = count * 2 > SWEEP_FIRST ? count * 2 : SWEEP_FIRST;
		}
		if (count >= SUP_SOCKS_MAX || !grow() || !(e = calloc(1, sizeof(*e)))) {
			pthread_mutex_unlock(&lock);
			log_msg(LOG_ERROR, "syscall mode: no room to remember one more socket "
				"(%zu remembered, at most %u): the call fails (ENOMEM)",
				count, SUP_SOCKS_MAX);
			*err = -ENOMEM;
			return NULL;
		}
		e->next = buckets[bucket_of(id.st.st_ino, nbuckets)];
		buckets[bucket_of(id.st.st_ino, nbuckets)] = e;
		count++;
	}
	memset(&e->rec, 0, sizeof(e->rec));
	e->rec.kind = (uint8_t)kind;
	e->rec.family = family;
	e->rec.dev = id.st.st_dev;
	e->rec.ino = id.st.st_ino;
	e->rec.refs = 1;
	e->cookie = cookie_of(&id);
	e->busy = true;
	pthread_mutex_unlock(&lock);
	return &e->rec;
}

void sup_socks_put(struct fdslot *s)
{
	struct sup_sock *e = (struct sup_sock *)s;

	pthread_mutex_lock(&lock);
	e->busy = false;
	pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
}

void sup_socks_drop(struct fdslot *s)
{
	pthread_mutex_lock(&lock);
	unlink_free((struct sup_sock *)s);
	pthread_cond_broadcast(&idle);
	pthread_mutex_unlock(&lock);
}

size_t sup_socks_count(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = count;
	pthread_mutex_unlock(&lock);
	return n;
}
