/*
 * fdstate.c - one record per socket, the descriptor table that refers to
 * the records, and the lock (see fdstate.h).
 *
 *   number -> table chunk -> reference -> record (refs: numbers that
 *                                                 refer to it)
 *
 * A record whose last reference goes returns to a pool of unused ones;
 * records and chunks are never freed, so a pointer read as a hint stays
 * valid memory, and the generation tells a record made anew.
 */
#include "fdstate.h"
#include "log.h"

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
#define POOL_GROW 64 /* records allocated at a time */

struct fdslot **fdstate_chunks[CHUNKS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t pid_now;
static struct fdslot *pool; /* unused records, under the lock */
static uint32_t gen_last;   /* under the lock */

/* What the holder had before fdstate_lock(): only the holder reads them. */
static sigset_t held_mask;
static int held_cancel;

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

/* The reference for fd, its chunk allocated if need be (a chunk is
 * installed with a compare-and-swap, so no lock is needed); NULL with
 * *err -EMFILE or -ENOMEM, logged. */
static struct fdslot **ref_at(int fd, bool make, int *err)
{
	struct fdslot **c, **fresh = NULL;
	unsigned i = (unsigned)fd >> CHUNK_BITS;

	if (fd < 0 || (unsigned)fd >= CHUNKS * CHUNK_SIZE) {
		if (make && fd >= 0)
			log_msg(LOG_ERROR, "fd %d: past the %u descriptors socks4wrap can keep a "
				"record for; the call fails (EMFILE)", fd, CHUNKS * CHUNK_SIZE);
		*err = fd < 0 ? -EBADF : -EMFILE;
		return NULL;
	}
	c = __atomic_load_n(&fdstate_chunks[i], __ATOMIC_ACQUIRE);
	if (!c && make) {
		if (!(fresh = calloc(CHUNK_SIZE, sizeof(*fresh)))) {
			log_msg(LOG_ERROR, "fd %d: no memory for its record; the call fails "
				"(ENOMEM)", fd);
			*err = -ENOMEM;
			return NULL;
		}
		if (__atomic_compare_exchange_n(&fdstate_chunks[i], &c, fresh, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			c = fresh;
		else
			free(fresh); /* another thread's came first: c is it */
	}
	if (!c) {
		*err = 0;
		return NULL;
	}
	return &c[(unsigned)fd & (CHUNK_SIZE - 1)];
}

int fdstate_reserve(int fd)
{
	int err = 0;

	return ref_at(fd, true, &err) ? 0 : err;
}

/* Under the lock: one reference fewer to s, which returns to the pool
 * with the last. */
static void unref(struct fdslot *s)
{
	if (--s->refs)
		return;
	__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
	s->next_free = pool;
	pool = s;
}

/* Under the lock: fd refers to s (NULL: to nothing) from now on. */
static void set_ref(struct fdslot **ref, struct fdslot *s)
{
	struct fdslot *old = *ref;

	if (old == s)
		return;
	if (s)
		s->refs++;
	__atomic_store_n(ref, s, __ATOMIC_RELEASE);
	if (old)
		unref(old);
}

void fdstate_drop(int fd)
{
	int err;
	struct fdslot **ref = ref_at(fd, false, &err);

	if (ref && *ref)
		set_ref(ref, NULL);
}

void fdstate_close(int fd)
{
	fdstate_lock();
	fdstate_drop(fd);
	fdstate_unlock();
}

void fdstate_forget(struct fdslot *s)
{
	__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
	s->gen = ++gen_last ? gen_last : ++gen_last;
}

static bool same_socket(int fd, const struct fdslot *s)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       st.st_dev == s->dev && st.st_ino == s->ino;
}

struct fdslot *fdstate_get(int fd)
{
	int err, saved = errno;
	struct fdslot **ref = ref_at(fd, false, &err), *s = ref ? *ref : NULL;

	if (s && (s->kind == FD_NONE || !same_socket(fd, s))) {
		set_ref(ref, NULL);
		s = NULL;
	}
	errno = saved;
	return s;
}

/* Under the lock: an unused record, from the pool or newly allocated. */
static struct fdslot *record_alloc(int fd, int *err)
{
	struct fdslot *s = pool, *block;

	if (!s) {
		if (!(block = calloc(POOL_GROW, sizeof(*block)))) {
			log_msg(LOG_ERROR, "fd %d: no memory for its record; the call fails "
				"(ENOMEM)", fd);
			*err = -ENOMEM;
			return NULL;
		}
		for (int i = 0; i < POOL_GROW; i++)
			block[i].next_free = i + 1 < POOL_GROW ? &block[i + 1] : NULL;
		s = block;
	}
	pool = s->next_free;
	return s;
}

/* Under the lock: s made anew for the socket st, its references kept. */
static void record_init(struct fdslot *s, enum fd_kind kind, int family, const struct stat *st)
{
	uint32_t refs = s->refs;

	__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
	memset(s, 0, sizeof(*s));
	s->refs = refs;
	s->gen = ++gen_last ? gen_last : ++gen_last;
	s->owner = fdstate_pid();
	s->family = family;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	__atomic_store_n(&s->kind, (uint8_t)kind, __ATOMIC_RELEASE);
}

struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family, int *err)
{
	struct fdslot **ref = ref_at(fd, true, err), *s;
	struct stat st;

	if (!ref)
		return NULL;
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	s = *ref;
	if (!s || s->dev != st.st_dev || s->ino != st.st_ino) {
		if (!(s = record_alloc(fd, err)))
			return NULL;
		s->refs = 0;
		record_init(s, kind, family, &st);
		set_ref(ref, s);
		return s;
	}
	record_init(s, kind, family, &st); /* the same socket: every number sees it */
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

int fdstate_dup(int oldfd, int newfd)
{
	struct fdslot *from = oldfd == newfd ? NULL : fdstate_get(oldfd), **ref;
	int err = 0;

	if (oldfd == newfd)
		return 0;
	if (!from) {
		fdstate_drop(newfd);
		return 0;
	}
	if (!(ref = ref_at(newfd, true, &err)))
		return err;
	set_ref(ref, from);
	return 0;
}
