/*
 * fdstate.c - per-descriptor state in a two-level table (see fdstate.h).
 */
#include "fdstate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CHUNK_BITS FDSTATE_CHUNK_BITS
#define CHUNK_SIZE FDSTATE_CHUNK_SIZE
#define CHUNKS FDSTATE_CHUNKS

struct fdslot *fdstate_chunks[CHUNKS];
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static struct fdslot *slot_at(int fd)
{
	struct fdslot *c;

	if (fd < 0 || (unsigned)fd >= CHUNKS * CHUNK_SIZE)
		return NULL;
	c = __atomic_load_n(&fdstate_chunks[(unsigned)fd >> CHUNK_BITS], __ATOMIC_ACQUIRE);
	return c ? &c[(unsigned)fd & (CHUNK_SIZE - 1)] : NULL;
}

static int same_socket(int fd, const struct fdslot *s)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == s->dev && st.st_ino == s->ino;
}

struct fdslot *fdstate_verify(int fd, struct fdslot *s)
{
	int saved = errno;

	if (!same_socket(fd, s)) {
		__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
		s = NULL;
	}
	errno = saved;
	return s;
}

struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family)
{
	struct fdslot *s = slot_at(fd), *c;
	struct stat st;

	if (fd < 0 || (unsigned)fd >= CHUNKS * CHUNK_SIZE) {
		errno = EBADF;
		return NULL;
	}
	if (!s) {
		pthread_mutex_lock(&grow_lock);
		c = fdstate_chunks[(unsigned)fd >> CHUNK_BITS];
		if (!c) {
			c = calloc(CHUNK_SIZE, sizeof(*c));
			__atomic_store_n(&fdstate_chunks[(unsigned)fd >> CHUNK_BITS], c, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&grow_lock);
		if (!c) {
			errno = ENOMEM;
			return NULL;
		}
		s = &c[(unsigned)fd & (CHUNK_SIZE - 1)];
	}
	if (fstat(fd, &st) < 0)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	__atomic_store_n(&s->kind, (uint8_t)kind, __ATOMIC_RELEASE);
	return s;
}

void fdstate_rebind(int fd, struct fdslot *s)
{
	struct stat st;

	if (fstat(fd, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
}

void fdstate_dup(int oldfd, int newfd)
{
	struct fdslot *from = fdstate_get(oldfd), *to;

	fdstate_drop(newfd);
	if (!from || !(to = fdstate_new(newfd, (enum fd_kind)from->kind, from->family)))
		return;
	*to = *from; /* same socket, so the same identity */
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
