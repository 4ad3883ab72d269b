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

#include <arpa/inet.h>
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

/* Whether ip (network order) is in the fake range (remote-dns; see
 * hooks_names.c): a few instructions, asked by every connect() that
 * the address rules send to the proxy. */
static inline bool shim_is_fake(uint32_t ip)
{
	return ((uint64_t)(ntohl(ip) ^ shim_cfg.fake_net) >> (32 - shim_cfg.fake_prefix)) == 0;
}

/*
 * The name behind ip: 1 when ip is not in the fake range; 0 with *host
 * the name a lookup gave ip (it stays valid for the life of the process,
 * so an exchange may keep the pointer); -ENOENT for a fake address no
 * lookup of this process gave out (remote-dns off, or another process's).
 */
int shim_fake_name(uint32_t ip, const char **host);

/*
 * connect() to dst, which shim_is_fake(): 0 with *host the name, when it
 * goes through the proxy as SOCKS4A; else the errno the program gets,
 * logged: EHOSTUNREACH for a fake address no lookup gave out, or one a
 * rule sends direct; EACCES for a deny rule.
 */
int shim_fake_route(struct v4 dst, const char **host);

#endif
