/*
 * fdstate.h - what the shim knows about a file descriptor, and the one
 * lock under which it changes.
 *
 * Most descriptors have no state, and asking costs two loads and a
 * branch, with no lock. A slot remembers the socket's identity (device
 * and inode), so a descriptor number that was closed behind our back
 * (fclose, close_range, dup2 over it, a raw syscall) and reused carries
 * nothing stale: fdstate_get() drops a slot whose socket is gone.
 *
 * Ownership: a slot's contents, its exchange included, are read and
 * changed only under fdstate_lock(), which is held for a step and never
 * across a wait. A thread that waits notes the slot's generation, lets
 * go, waits, takes the lock again and goes on only if the generation is
 * the same (else the descriptor was closed or reused meanwhile). So two
 * threads never drive one exchange at once, and the lock is free when
 * fork() runs its handlers (see init.c).
 *
 * Slots live in chunks that are allocated on first use and never freed,
 * so a pointer to a slot stays valid memory even after a reset.
 */
#ifndef FDSTATE_H
#define FDSTATE_H

#include "addr.h"
#include "handshake.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fd_kind {
	FD_NONE = 0,
	FD_CONNECT,  /* a proxied outgoing connection; hs is its exchange */
	FD_BIND,     /* a listening socket served by a SOCKS BIND */
	FD_ACCEPTED, /* the connection a BIND delivered */
};

#define FD_EPOLL_MAX 4
#define FD_TWINS_MAX 3

struct fdslot {
	uint8_t kind;        /* enum fd_kind */
	uint8_t in_progress; /* CONNECT: EINPROGRESS or EINTR said, no connect() since */
	uint8_t reported;    /* CONNECT: the failure has been told to the program */
	uint8_t listening;   /* BIND: the program called listen() */
	uint8_t spent;       /* BIND: its one connection handed over, or it failed */
	uint32_t gen;        /* changes whenever the slot is made anew */
	pid_t owner;         /* the process that started the exchange */
	int family;          /* the socket's, for addresses handed back */
	dev_t dev;           /* identity of the socket behind the number */
	ino_t ino;
	struct v4 name;      /* what getsockname() reports; ip 0: the real name */
	struct v4 peer;      /* what getpeername() reports */
	struct v4 bound;     /* BIND: the address the program bound to */
	int64_t deadline;    /* ms on CLOCK_MONOTONIC for the exchange's current wait */
	struct hs hs;        /* CONNECT, BIND: the exchange */
	/* BIND: the program's epoll registrations of this listener, moved to
	 * the quiet socket that replaces it after accept() (hooks_bind.c) */
	struct fd_epoll {
		int epfd; /* +1, so that 0 means unused */
		uint32_t events;
		uint64_t data;
	} epolls[FD_EPOLL_MAX];
	/* Other descriptors of the same socket (dup() and friends), +1 so
	 * that 0 means none. One socket has one exchange, so whatever a
	 * call does to this slot is copied to theirs when the lock is let
	 * go; a twin that is closed or now another socket is passed over. */
	int twins[FD_TWINS_MAX];
};

#define FDSTATE_CHUNK_BITS 10
#define FDSTATE_CHUNK_SIZE (1u << FDSTATE_CHUNK_BITS)
#define FDSTATE_CHUNKS 1024 /* descriptors up to 2^20 */

/* The table: chunks of slots, allocated when a descriptor in their range
 * first needs one. Read here, inline, so that the common answer "nothing
 * known" costs two loads and a branch on every hooked call. */
extern struct fdslot *fdstate_chunks[FDSTATE_CHUNKS];

/* The slot for fd if it has one, unchecked and unlocked: only a hint
 * that the slow path is worth taking. */
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

/*
 * The lock over every slot's contents. Taking it also blocks signals and
 * defers cancellation on this thread until fdstate_unlock(): a handler
 * that longjmps, or a cancellation, can then never leave it held or a
 * step half done.
 */
void fdstate_lock(void);
void fdstate_unlock(void);

/* Under the lock: the slot for fd, or NULL when there is none or its
 * socket is gone (the slot is then dropped). */
struct fdslot *fdstate_get(int fd);

/*
 * Under the lock: a fresh slot for fd, bound to the socket it refers to
 * now. NULL with *err set (-EBADF, -ENOMEM) when that is impossible.
 */
struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family, int *err);

/* Under the lock: re-reads the identity of fd after its socket was swapped. */
void fdstate_rebind(int fd, struct fdslot *s);

/* Forgets fd. Cheap when there is nothing to forget; no lock needed. */
static inline void fdstate_drop(int fd)
{
	struct fdslot *s = fdstate_slot(fd);

	if (s)
		__atomic_store_n(&s->kind, FD_NONE, __ATOMIC_RELEASE);
}

/* Under the lock: newfd is a copy of oldfd (dup and friends), and the
 * two slots are twins from now on. */
void fdstate_dup(int oldfd, int newfd);

/* This process's id as the slots know it (kept by the fork handlers). */
pid_t fdstate_pid(void);

/* fork() handlers: the lock is free in the child, and exchanges that
 * were under way there stay the parent's to finish. */
void fdstate_fork_prepare(void);
void fdstate_fork_parent(void);
void fdstate_fork_child(void);

#endif
