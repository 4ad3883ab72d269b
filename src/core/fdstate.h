/*
 * fdstate.h - what the shim knows about a socket, and the one lock under
 * which it changes.
 *
 * One record per socket, that is per open file description: what the
 * kernel keeps once however many descriptors refer to it (its
 * connection, its O_NONBLOCK, the SOCKS exchange it carries). The
 * descriptor table maps a number to a reference to the record, so dup(),
 * dup2(), dup3() and F_DUPFD make a second number refer to the same
 * record, and whatever a call through one number does is what the others
 * find: nothing is copied. What the kernel keeps per number (FD_CLOEXEC,
 * and epoll registrations, keyed by number and description) is never
 * kept here; the BIND hand-over reads the registrations from /proc when
 * it needs them (hooks_bind.c).
 *
 * Most descriptors have no record, and asking costs two loads and a
 * branch, with no lock and nothing allocated. A record remembers the
 * socket's identity (device and inode), so a number that was closed
 * behind our back (fclose, close_range, dup2 over it, a raw syscall) and
 * reused carries nothing stale: fdstate_get() lets go of a reference
 * whose socket is not the record's.
 *
 * Ownership: a record's contents, its exchange included, are read and
 * changed only under fdstate_lock(), which is held for a step and never
 * across a wait. A thread that waits notes the record's generation,
 * lets go, waits, takes the lock again and goes on only if the number
 * still refers to the record with the same generation (else it was
 * closed or reused meanwhile). So two threads never drive one exchange
 * at once, and the lock is free when fork() runs its handlers (init.c).
 *
 * No silent caps: the table and the records grow as needed and are
 * never given back to the allocator (a pointer read without the lock,
 * as a hint, is always valid memory; a reused record has a new
 * generation). When memory runs out, or a number is past what the table
 * can hold, the call that needed a record fails with ENOMEM or EMFILE
 * and a log line.
 */
#ifndef FDSTATE_H
#define FDSTATE_H

#include "addr.h"
#include "handshake.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fd_kind {
	FD_NONE = 0, /* nothing known (a record let go of, or made plain again) */
	FD_CONNECT,  /* a proxied outgoing connection; hs is its exchange */
	FD_BIND,     /* a listening socket served by a SOCKS BIND */
	FD_ACCEPTED, /* the connection a BIND delivered */
};

/* The record of one socket (open file description). */
struct fdslot {
	uint8_t kind;        /* enum fd_kind */
	uint8_t in_progress; /* CONNECT: EINPROGRESS or EINTR said, no connect() since */
	uint8_t reported;    /* CONNECT: the failure has been told to the program */
	uint8_t listening;   /* BIND: the program called listen() */
	uint8_t spent;       /* BIND: its one connection handed over, or it failed */
	uint32_t gen;        /* new whenever the record is made anew; never 0 */
	uint32_t refs;       /* descriptor numbers that refer to it */
	pid_t owner;         /* the process that started the exchange */
	int family;          /* the socket's, for addresses handed back */
	int err;             /* BIND: why it was spent (-errno), 0 if it was not */
	dev_t dev;           /* identity of the socket */
	ino_t ino;
	struct v4 name;      /* what getsockname() reports; ip 0: the real name */
	struct v4 peer;      /* what getpeername() reports */
	struct v4 bound;     /* BIND: the address the program bound to */
	int64_t deadline;    /* ms on CLOCK_MONOTONIC for the exchange's current wait */
	struct hs hs;        /* CONNECT, BIND: the exchange */
	struct fdslot *next_free; /* in the pool of unused records */
};

#define FDSTATE_CHUNK_BITS 10
#define FDSTATE_CHUNK_SIZE (1u << FDSTATE_CHUNK_BITS)
#define FDSTATE_CHUNKS 2048 /* numbers up to 2^21, twice the kernel's default nr_open */

/* The descriptor table: chunks of references, allocated when a number
 * in their range first needs one. Read here, inline, so that the common
 * answer "nothing known" costs two loads and a branch on every hooked
 * call. */
extern struct fdslot **fdstate_chunks[FDSTATE_CHUNKS];

/* The record fd refers to, if any, unchecked and unlocked: only a hint
 * that the slow path is worth taking. */
static inline struct fdslot *fdstate_slot(int fd)
{
	struct fdslot **c;

	if ((unsigned)fd >= FDSTATE_CHUNKS * FDSTATE_CHUNK_SIZE)
		return NULL; /* negative numbers too */
	c = __atomic_load_n(&fdstate_chunks[(unsigned)fd >> FDSTATE_CHUNK_BITS], __ATOMIC_ACQUIRE);
	if (!c)
		return NULL;
	return __atomic_load_n(&c[(unsigned)fd & (FDSTATE_CHUNK_SIZE - 1)], __ATOMIC_ACQUIRE);
}

/*
 * The lock over every record's contents and the table. Taking it also
 * blocks signals and defers cancellation on this thread until
 * fdstate_unlock(): a handler that longjmps, or a cancellation, can then
 * never leave it held or a step half done.
 */
void fdstate_lock(void);
void fdstate_unlock(void);

/* Under the lock: the record fd refers to, or NULL when there is none,
 * it was made plain, or its socket is not fd's (the reference is then
 * let go of). */
struct fdslot *fdstate_get(int fd);

/*
 * Under the lock: a fresh record for the socket fd refers to now, made
 * anew in place when fd already refers to a record of that socket (so
 * every number of the socket sees it). NULL with *err set (-EBADF,
 * -ENOMEM, -EMFILE; the last two logged) when that is impossible.
 */
struct fdslot *fdstate_new(int fd, enum fd_kind kind, int family, int *err);

/* Under the lock: re-reads the identity of fd after its socket was
 * swapped; other numbers of the old socket then let go of the record. */
void fdstate_rebind(int fd, struct fdslot *s);

/* Under the lock: fd no longer refers to its record (closed, or now
 * another socket). Cheap when there is nothing to forget. */
void fdstate_drop(int fd);

/* Under the lock: the socket is a plain one again (disconnected, its
 * BIND closed, not ours after all), for every number that refers to it. */
void fdstate_forget(struct fdslot *s);

/* close(fd): fdstate_drop() with the lock taken, when fd has a record. */
void fdstate_close(int fd);

/* Under the lock: newfd is a copy of oldfd (dup and friends) and refers
 * to oldfd's record from now on, or to nothing when oldfd has none. 0,
 * or -ENOMEM / -EMFILE (logged) when newfd cannot be given a reference. */
int fdstate_dup(int oldfd, int newfd);

/* Makes sure fd's part of the table exists, so that a later
 * fdstate_dup() to fd cannot fail (dup2, dup3): 0, -ENOMEM or -EMFILE,
 * logged. No lock needed. */
int fdstate_reserve(int fd);

/* This process's id as the records know it (kept by the fork handlers). */
pid_t fdstate_pid(void);

/* fork() handlers: the lock is free in the child, and exchanges that
 * were under way there stay the parent's to finish. */
void fdstate_fork_prepare(void);
void fdstate_fork_parent(void);
void fdstate_fork_child(void);

#endif
