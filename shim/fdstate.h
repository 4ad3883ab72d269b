/*
 * fdstate.h - what the shim knows about a file descriptor.
 *
 * Most descriptors have no state, and asking costs two loads and a
 * branch. A slot remembers the socket's identity (device and inode), so
 * a descriptor number that was closed behind our back (fclose,
 * close_range, dup2 over it, a raw syscall) and reused carries nothing
 * stale: fdstate_get() drops a slot whose socket is gone.
 *
 * Slots live in chunks that are allocated on first use and never freed,
 * so a pointer to a slot stays valid memory even if another thread
 * resets it.
 */
#ifndef FDSTATE_H
#define FDSTATE_H

#include "addr.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fd_kind {
	FD_NONE = 0,
	FD_CONNECT,  /* a proxied outgoing connection */
	FD_BIND,     /* a listening socket served by a SOCKS BIND */
	FD_ACCEPTED, /* the connection a BIND delivered */
};

enum fd_phase {
	/* FD_CONNECT (non-blocking ones pass through the first two) */
	PH_CONNECTING, /* TCP connect to the SOCKS server under way */
	PH_WAIT_REPLY, /* request sent, reply not yet read */
	PH_CONNECTED,
	PH_FAILED, /* err holds the reason until SO_ERROR reports it */
	/* FD_BIND */
	PH_BOUND,       /* bound to port 0, no exchange yet */
	PH_WAIT_SECOND, /* first reply read: proxy listening for us */
	PH_SPENT,       /* its one connection delivered, or the BIND failed */
	/* FD_ACCEPTED */
	PH_ESTABLISHED,
};

#define FD_EPOLL_MAX 4

struct fdslot {
	uint8_t kind;  /* enum fd_kind */
	uint8_t phase; /* enum fd_phase */
	uint8_t got;   /* bytes of reply[] read so far */
	uint8_t listening; /* BIND: the program called listen() */
	uint8_t in_progress; /* CONNECT: EINPROGRESS said, no connect() since */
	uint8_t reply[8];
	int family;       /* the socket's, for addresses handed back */
	int err;          /* a failure not yet reported to the program */
	dev_t dev;        /* identity of the socket behind the number */
	ino_t ino;
	struct v4 dst;    /* CONNECT: destination; BIND: application server */
	struct v4 name;   /* what getsockname() reports; ip 0: the real name */
	struct v4 peer;   /* what getpeername() reports */
	struct v4 bound;  /* BIND: the address the program bound to */
	int64_t deadline; /* ms on CLOCK_MONOTONIC; 0: not started */
	/* BIND: the program's epoll registrations of this listener, moved to
	 * the quiet socket that replaces it after accept() (hooks_bind.c) */
	struct fd_epoll {
		int epfd;
		uint32_t events;
		uint64_t data;
	} epolls[FD_EPOLL_MAX];
};

#define FDSTATE_CHUNK_BITS 10
#define FDSTATE_CHUNK_SIZE (1u << FDSTATE_CHUNK_BITS)
#define FDSTATE_CHUNKS 1024 /* descriptors up to 2^20 */

/* The table: chunks of slots, allocated when a descriptor in their range
 * first needs one. Read here, inline, so that the common answer "nothing
 * known" costs two loads and a branch on every hooked call. */
extern struct fdslot *fdstate_chunks[FDSTATE_CHUNKS];

static inline struct fdslot *fdstate_slot(int fd)
{
	struct fdslot *c;

	if ((unsigned)fd >= FDSTATE_CHUNKS * FDSTATE_CHUNK_SIZE)
		return NULL; /* negative numbers too */
	c = __atomic_load_n(&fdstate_chunks[(unsigned)fd >> FDSTATE_CHUNK_BITS], __ATOMIC_ACQUIRE);
	if (!c)
		return NULL;
	c += (unsigned)fd & (FDSTATE_CHUNK_SIZE - 1);
	return __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) == FD_NONE ? NULL : c;
}

/* s if fd still names the socket s was made for; else drops s, NULL. */
__attribute__((noinline)) struct fdslot *fdstate_verify(int fd, struct fdslot *s);

/* The slot for fd, or NULL when there is none or its socket is gone. */
static inline struct fdslot *fdstate_get(int fd)
{
	struct fdslot *s = fdstate_slot(fd);

	return s ? fdstate_verify(fd, s) : NULL;
}

/*
 * A fresh slot for fd, bound to the socket it refers to now. NULL with
 * errno set (EBADF, ENOMEM) when that is impossible.
 */
struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family);

/* Re-reads the identity of fd after the socket behind it was swapped. */
void fdstate_rebind(int fd, struct fdslot *s);

/* Forgets fd. Cheap when there is nothing to forget. */
static inline void fdstate_drop(int fd)
{
	struct fdslot *s = fdstate_slot(fd);

	if (s)
		__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
}

/* A copy of old's slot for newfd (dup of a socket we track). */
void fdstate_dup(int oldfd, int newfd);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_ms(void);

#endif
