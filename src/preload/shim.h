/*
 * shim.h - what the hook files share: start-up, the settings, the way an
 * exchange is driven inside the program, and the few operations that
 * one flow offers another. Nothing here is exported from the library;
 * only the hooks themselves are.
 *
 * Every hook has one shape: a short exported function that finds the
 * real function, asks the cheapest question that tells whether the call
 * is ours (a flag, a family, a slot), and otherwise tail-calls the C
 * library; the work is in one slow path per flow, kept out of line so
 * that the common path builds no stack frame.
 */
#ifndef SHIM_H
#define SHIM_H

#include "config.h"
#include "fdstate.h"
#include "handshake.h"
#include "policy.h"
#include "primary.h"
#include "real.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define HOOK __attribute__((visibility("default")))
#define SLOW __attribute__((noinline, cold))

extern struct config shim_cfg;

/* What the process learned from its proxied connections (init.c), and
 * the calling thread's id, by which it tells threads apart. */
extern struct primary shim_primary;
int shim_tid(void);

extern bool shim_real_done, shim_cfg_done;
void shim_real_slow(void);
bool shim_ready_slow(void);

/* Whether the real functions are known yet, for hooks that send the
 * first call to their slow path instead of calling shim_real() inline. */
static inline bool shim_real_ready(void)
{
	return __builtin_expect(__atomic_load_n(&shim_real_done, __ATOMIC_ACQUIRE), 1);
}

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

/*
 * The one conversion at the exported edge: r is 0 (or a descriptor) or
 * a negative errno. A failure sets errno and returns -1; success puts
 * errno back to what the program had, whatever our own calls did to it.
 */
static inline int shim_ret(int saved_errno, int r)
{
	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved_errno;
	return r;
}

/* --- drive.c: exchanges inside the program ------------------------------ */

/* The real functions as an exchange's I/O: connect() never waits. */
extern const struct hs_io shim_io;

/* A stream socket: what SOCKS4 can carry. */
bool shim_is_stream(int fd);

/*
 * Makes a spent socket (a failure told, a BIND given up) unconnected
 * again without replacing it, so its options, flags and epoll
 * registrations all stay: connect(AF_UNSPEC) dissolves the association.
 */
int shim_dissolve(int fd);

/* The socket is O_NONBLOCK. */
bool shim_nonblocking(int fd);

/*
 * One blocking call's drive of its exchange: the core's loop (hs_drive(),
 * handshake.h) with the library's data: the real functions, the slot
 * lock let go around each poll() and the record's generation checked
 * after it, connect(2)'s and accept(2)'s rules for signals (see drive.c).
 */
struct drive {
	struct hs_drive hd; /* first: the loop's callbacks get &hd */
	struct fdslot *slot;
	uint32_t gen;
	int timeo_opt;
};

/*
 * Under the slot lock: d ready to drive s's exchange on fd until
 * deadline. timeo_opt: SO_SNDTIMEO (connect), SO_RCVTIMEO (accept), the
 * call's own timeout, whose end ends the call (-EAGAIN), and which makes
 * a signal end it too (-EINTR, unless every handler has SA_RESTART);
 * or 0 for a wait the program cannot see (SO_ERROR's, listen's), which
 * nothing interrupts. The caller may then set d->hd's step, fail, flags.
 */
void drive_begin(struct drive *d, int fd, struct fdslot *s, int64_t deadline, int timeo_opt);

/* The slot lock let go before a poll(), taken again after it: -EBADF
 * when the descriptor was closed or reused meanwhile (the record is no
 * longer ours to touch), else err. For callers that add to them. */
void drive_leave(struct hs_drive *hd);
int drive_back(struct hs_drive *hd, int err);

/* --- what one flow offers another --------------------------------------- */

/* hooks_io.c, under the slot lock: the destination (and SOCKS4A name, or
 * NULL) of the proxied connection this thread last read or wrote, if it
 * is still open. */
bool io_last_connect(struct v4 *dst, const char **host);

/* hooks_connect.c: finishes a CONNECT still under way before a data call
 * or fcntl(F_SETFL) goes ahead: 0 or -errno (see there). Takes the lock. */
int connect_settle(int fd, int timeo_opt);

/*
 * hooks_bind.c, under the slot lock, for the calls other flows own:
 * bind_release() for connect() on a BIND socket (0: the BIND is closed
 * and the slot dropped, the socket is a plain one again; -EISCONN for a
 * listening one); bind_sockname() for getsockname() (starts the BIND
 * when it is due; 0 with *out the address to report, or -errno);
 * bind_accepting() for getsockopt(SO_ACCEPTCONN).
 */
int bind_release(int fd, struct fdslot *s);
int bind_sockname(int fd, struct fdslot *s, struct v4 *out);
bool bind_accepting(const struct fdslot *s);

/* drive.c: copies n bytes of the program's memory at src, or -EFAULT
 * where the kernel would say EFAULT; for slow paths only. */
int shim_copy_in(void *dst, const void *src, size_t n);

/* drive.c: whether n bytes at p can be read without a fault, asked of
 * the kernel, one system call per page (see there); errno untouched. */
bool shim_readable_pages(const void *p, size_t n);

#define SHIM_PROBE_PAGE 4096 /* the smallest page size: never skips one */

/*
 * Whether n bytes at p lie in the page this thread's stack pointer is in,
 * which is readable since we run on it: a caller's local sockaddr, the
 * usual case for C programs and for Python's socket module, needs no
 * probe. Wherever else they lie (the heap, getaddrinfo()'s results),
 * shim_readable_pages() asks.
 */
static inline bool shim_on_stack_page(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, sp;

#if defined(__x86_64__)
	__asm__("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
	__asm__("mov %0, sp" : "=r"(sp));
#else
	sp = (uintptr_t)__builtin_frame_address(0);
#endif
	return n && ((a ^ sp) | ((a + n - 1) ^ sp)) < SHIM_PROBE_PAGE;
}

/* Whether a sockaddr the hooks must read (its family before they know
 * the call is theirs) can be read without a fault. */
static inline bool shim_readable(const void *p, size_t n)
{
	return shim_on_stack_page(p, n) || shim_readable_pages(p, n);
}

/* A pointer in the first page is never valid memory: the test that
 * costs nothing, made before shim_readable(). */
static inline bool shim_low_pointer(const void *p)
{
	return (unsigned long)p < 4096;
}

/* --- hooks_names.c: names the proxy resolves (remote-dns) ---------------- */

/* The fake range (remote-dns; see hooks_names.c), until the settings
 * exist a range no address is in: every IPv4 connect() asks, before the
 * rules, since a name's rules are not the address's. */
extern struct policy_fake shim_fake; /* init.c */

static inline bool shim_is_fake(uint32_t ip)
{
	return policy_is_fake(shim_fake, ip);
}

/* After a SOCKS4A exchange failed and was logged: one more line saying
 * what a refusal of a name may mean. */
void shim_fake_failed(const struct hs *h);

#endif
