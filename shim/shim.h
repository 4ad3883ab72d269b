/*
 * shim.h - what the hook files share: start-up, the settings, and the
 * few operations more than one hook needs. Nothing here is exported
 * from the library; only the hooks themselves are.
 */
#ifndef SHIM_H
#define SHIM_H

#include "config.h"
#include "fdstate.h"
#include "real.h"

#include <errno.h>
#include <stdbool.h>

#define HOOK __attribute__((visibility("default")))

/*
 * For the work behind a hook's first test. Kept out of line, so that the
 * hook itself stays a few instructions that tail-call the C library on
 * the common path, with no stack frame to build.
 */
#define SLOW __attribute__((noinline, cold))

extern struct config shim_cfg;

extern bool shim_real_done, shim_cfg_done;
void shim_real_slow(void);
bool shim_ready_slow(void);

/* The real functions, found once: after that, one load and a branch. */
static inline void shim_real(void)
{
	if (__builtin_expect(!__atomic_load_n(&shim_real_done, __ATOMIC_ACQUIRE), 0))
		shim_real_slow();
}

/*
 * Makes `real` usable and the settings known, once. False while the
 * settings are still being built on this thread (resolving the server's
 * name may call back into our hooks): such calls pass straight through.
 */
static inline bool shim_ready(void)
{
	if (__builtin_expect(__atomic_load_n(&shim_cfg_done, __ATOMIC_ACQUIRE), 1))
		return true;
	return shim_ready_slow();
}

/* A hook's result: on success errno is put back to what the program had,
 * whatever our own calls did to it on the way. */
static inline int shim_done(int saved_errno, int r)
{
	if (r >= 0)
		errno = saved_errno;
	return r;
}

/* errno = err, return -1: the one way hooks report failure. */
static inline int shim_fail(int err)
{
	errno = err;
	return -1;
}

/*
 * Starts the BIND exchange for a socket in PH_BOUND: request out, first
 * reply in, proxy-side address recorded. Returns 0 or a positive errno
 * (the slot is then PH_SPENT with the reason logged).
 */
int bind_start(int fd, struct fdslot *s);

/* A stream socket: what SOCKS4 can carry. Anything else (not a socket,
 * UDP) is left to the kernel; so is an address of the wrong family for
 * the socket, which fails the same way when we connect it to the server. */
bool shim_is_stream(int fd);

/*
 * For connect(): whether ip (network order) is in the fake range
 * (hooks_names.c): 1 when it is not; 0 with its name in name (cap
 * bytes) when a lookup handed it out; -ENOENT when it is fake but no
 * name has it (remote-dns off, or another process's address): such a
 * connect() fails closed.
 */
int shim_fake_name(uint32_t ip, char *name, size_t cap);

#endif
