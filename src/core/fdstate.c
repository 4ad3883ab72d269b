/*
 * fdstate.c - per-descriptor state in a two-level table, and its lock
 * (see fdstate.h).
 */
#include "fdstate.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_BITS FDSTATE_CHUNK_BITS
#define CHUNK_SIZE FDSTATE_CHUNK_SIZE
#define CHUNKS FDSTATE_CHUNKS

struct fdslot *fdstate_chunks[CHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t pid_now;

/* What the holder had before fdstate_lock(): only the holder reads them. */
static sigset_t held_mask;
static int held_cancel;

/* Slots with twins that the holder looked at: copied to their twins at
 * fdstate_unlock(). A call looks at one or two. */
#define TOUCHED_MAX 4
static struct fdslot *touched[TOUCHED_MAX];
static int n_touched;

static void twins_update(void);

void fdstate_lock(void)
{
	sigset_t all, old;
	int cancel;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_mutex_lock(&lock);
	held_mask = old;
	held_cancel = cancel;
}

void fdstate_unlock(void)
{
	sigset_t old = held_mask;
	int cancel = held_cancel;

	if (n_touched)
		twins_update();
	pthread_mutex_unlock(&lock);
	pthread_setcancelstate(cancel, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

pid_t fdstate_pid(void)
{
	pid_t p = __atomic_load_n(&pid_now, __ATOMIC_RELAXED);

	if (!p) {
		p = getpid();
		__atomic_store_n(&pid_now, p, __ATOMIC_RELAXED);
	}
	return p;
}

void fdstate_fork_prepare(void)
{
	fdstate_lock();
}

void fdstate_fork_parent(void)
{
	fdstate_unlock();
}

void fdstate_fork_child(void)
{
	__atomic_store_n(&pid_now, getpid(), __ATOMIC_RELAXED);
	fdstate_unlock();
}

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

struct fdslot *fdstate_get(int fd)
{
	struct fdslot *s = fdstate_slot(fd);
	int saved = errno;

	if (s && !same_socket(fd, s)) {
		__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
		s = NULL;
	}
	if (s && s->twins[0]) {
		int i = 0;

		while (i < n_touched && touched[i] != s)
			i++;
		if (i == n_touched && n_touched < TOUCHED_MAX)
			touched[n_touched++] = s;
	}
	errno = saved;
	return s;
}

/* A twin's slot, if it is still a slot of from's socket. */
static struct fdslot *twin_of(const struct fdslot *from, int twin)
{
	struct fdslot *t = twin ? slot_at(twin - 1) : NULL;

	if (!t || t == from || t->kind == FD_NONE || t->dev != from->dev || t->ino != from->ino)
		return NULL;
	return t;
}

/* Copies what a touched slot knows of its socket into its twins' slots;
 * each keeps its generation (a waiter on it goes on, and finds the
 * exchange where the other left it), its epoll registrations (those are
 * per descriptor) and its twins. */
static void twins_update(void)
{
	for (int i = 0; i < n_touched; i++) {
		const struct fdslot *from = touched[i];

		if (from->kind == FD_NONE)
			continue;
		for (int k = 0; k < FD_TWINS_MAX; k++) {
			struct fdslot *t = twin_of(from, from->twins[k]), keep;

			if (!t)
				continue;
			keep = *t;
			*t = *from;
			t->gen = keep.gen;
			memcpy(t->epolls, keep.epolls, sizeof(t->epolls));
			memcpy(t->twins, keep.twins, sizeof(t->twins));
		}
	}
	n_touched = 0;
}

struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family, int *err)
{
	struct fdslot *s = slot_at(fd), *c;
	struct stat st;
	uint32_t gen;

	if (fd < 0 || (unsigned)fd >= CHUNKS * CHUNK_SIZE) {
		*err = -EBADF;
		return NULL;
	}
	if (!s) {
		/* the lock is held: no other thread can be growing the table */
		c = calloc(CHUNK_SIZE, sizeof(*c));
		if (!c) {
			*err = -ENOMEM;
			return NULL;
		}
		__atomic_store_n(&fdstate_chunks[(unsigned)fd >> CHUNK_BITS], c, __ATOMIC_RELEASE);
		s = &c[(unsigned)fd & (CHUNK_SIZE - 1)];
	}
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	gen = s->gen + 1;
	__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
	memset(s, 0, sizeof(*s));
	s->gen = gen;
	s->owner = fdstate_pid();
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
	uint32_t gen;
	int err;

	fdstate_drop(newfd);
	if (!from || oldfd == newfd ||
	    !(to = fdstate_new(newfd, (enum fd_kind)from->kind, from->family, &err)))
		return;
	gen = to->gen;
	*to = *from; /* same socket, so the same identity */
	to->gen = gen;
	/* the program's epoll registrations are the original's */
	memset(to->epolls, 0, sizeof(to->epolls));

	/* the twins: oldfd, its twins still alive, and newfd, each knowing
	 * the others (a group past FD_TWINS_MAX + 1 leaves the rest out) */
	int group[FD_TWINS_MAX + 1], n = 0;

	group[n++] = oldfd + 1;
	for (int k = 0; k < FD_TWINS_MAX; k++)
		if (twin_of(from, from->twins[k]) && from->twins[k] != newfd + 1 &&
		    n < FD_TWINS_MAX)
			group[n++] = from->twins[k];
	group[n++] = newfd + 1;
	for (int i = 0; i < n; i++) {
		struct fdslot *m = slot_at(group[i] - 1);
		int j = 0;

		if (!m)
			continue;
		memset(m->twins, 0, sizeof(m->twins));
		for (int k = 0; k < n; k++)
			if (k != i)
				m->twins[j++] = group[k];
	}
}
