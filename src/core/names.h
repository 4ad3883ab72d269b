/*
 * names.h - the fake addresses that stand for names the SOCKS server is
 * to resolve (SOCKS4A): name <-> address for the life of the process.
 *
 * A pure module: a fixed table, no I/O, no hooking. Names are compared
 * without regard to case and kept as first given; a trailing '.' is
 * dropped. The table never forgets a name and never gives one address to
 * two names, so an address a program still holds always means what it
 * meant. When every address is taken, names_fake() fails with -ENOSPC
 * and the caller says so (EAI_AGAIN to the program).
 *
 * Thread-safe (one mutex, held only to copy a few hundred bytes) and
 * fork-safe: pthread_atfork handlers take the lock across fork(), so a
 * child never inherits it held, and the child keeps every name.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socks4.h"

/* Names at most: bounds the table's (lazily touched) memory, 1 MiB. */
#define NAMES_MAX 4096
#define NAMES_LEN SOCKS4_HOST_MAX /* bytes in a name, NUL excluded */

/*
 * The range to hand out, in host byte order: net/prefix, the first and
 * last address of which are never used. At most NAMES_MAX addresses are
 * used, from the start. Once a name is held the range stays: a call with
 * another range then fails with -EBUSY. 0, or -EINVAL for a prefix
 * outside 8-30.
 */
int names_setup(uint32_t net, unsigned prefix);

/*
 * Whether name (len bytes) is one a SOCKS4A request may carry: 1 to
 * NAMES_LEN bytes of letters, digits, '-', '.', '_' (a trailing '.'
 * allowed and dropped). Names with NUL or control bytes never are.
 */
bool names_valid(const char *name, size_t len);

/*
 * The fake address for name, network byte order: the one it already has,
 * else the next free one. 0, -EINVAL for a name names_valid() refuses,
 * -ENOSPC when the range is full, -ENXIO before names_setup().
 */
int names_fake(const char *name, size_t len, uint32_t *ip);

/* Whether ip (network order) is inside the range, taken or not. */
bool names_in_range(uint32_t ip);

/*
 * The name behind fake address ip (network order), copied into buf
 * (NAMES_LEN + 1 bytes). 0, or -ENOENT when no name has it.
 */
int names_lookup(uint32_t ip, char *buf, size_t cap);

/*
 * The name behind fake address ip, as stored: it stays valid and
 * unchanged for the life of the process (nothing is ever removed or
 * rewritten), so a request can point at it. NULL when no name has ip.
 */
const char *names_get(uint32_t ip);

/* How many names are held, and how many fit. */
size_t names_count(void);
size_t names_capacity(void);

/* For tests: hold or release the table's lock, as a thread inside a
 * lookup would; forget every name and the range. */
void names_lock_for_test(void);
void names_unlock_for_test(void);
void names_reset_for_test(void);

#endif
