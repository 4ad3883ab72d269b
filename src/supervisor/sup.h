/*
 * sup.h - what the files of socks4wrap-sup, the syscall-mode supervisor,
 * share.
 *
 * The supervisor starts the command in a child that installs a seccomp
 * filter (sup_filter.c) before it executes the command. The filter hands
 * the few socket calls that decide where a connection goes to the
 * supervisor through a notification descriptor; workers (sup_notify.c)
 * take each trapped call, copy the program's socket with pidfd_getfd()
 * and do the call themselves on that copy, the SOCKS exchange included
 * (sup_exchange.c), then answer with the call's result. sup.c owns the
 * process: the child, its exit status, signals.
 */
#ifndef SUP_H
#define SUP_H

#include "addr.h"
#include "config.h"
#include "fdstate.h"
#include "primary.h"
#include "socks4.h"

#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* The native calling convention the filter serves; on x86-64 the i386
 * one too (sup_abi.c). */
#if defined(__x86_64__)
#define SUP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SUP_ARCH AUDIT_ARCH_AARCH64
#else
#error "socks4wrap-sup: the filter knows x86-64 and aarch64 only"
#endif

/* The settings, built once before the command starts; read-only after. */
extern struct config sup_cfg;

/* What the served tree learned from its proxied connections, threads
 * told apart by the trapped call's tid (sup_bind.c). */
extern struct primary sup_primary;

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t sup_now_ms(void);

/*
 * In the child, after PR_SET_NO_NEW_PRIVS: installs the filter with a new
 * listener. Returns the listener's descriptor, or -errno with *what set
 * to the kernel feature that was refused.
 */
int sup_filter_install(bool bind, const char **what);

/*
 * Starts the workers that serve the listener; they run until the process
 * exits. 0 or -errno.
 */
int sup_notify_start(int listener);

/* --- serving a trapped call (sup_notify.c) --- */

#include <linux/seccomp.h>
#include <stdbool.h>

/* What a trapped call asks for, whichever way it came (sup_abi.c). */
enum sup_op {
	SUP_NONE,
	SUP_CONNECT,
	SUP_GETSOCKNAME,
	SUP_GETPEERNAME,
	SUP_BIND,
	SUP_LISTEN,
	SUP_ACCEPT,
	SUP_ACCEPT4,
	SUP_GETSOCKOPT,
	SUP_SENDTO,
	SUP_SENDMSG,
	SUP_SENDMMSG,
};

struct sup_call {
	struct seccomp_notif n;
	int pidfd; /* the calling thread, -1 until opened */
	/* the call decoded (sup_decode()): what it asks, and its arguments as
	 * the kernel takes them (an i386 call's truncated to 32 bits) */
	enum sup_op op;
	uint64_t args[6];
	bool compat; /* i386: 32-bit pointers, the compat msghdr and cmsg layouts */
	bool block;  /* socketcall(2): args came from the program's memory,
		      * which a CONTINUE has the kernel read again */
};

extern int sup_listener;

/*
 * The one edge where the supervisor's errors become the program's: r is
 * 0 or a negative errno, as every function here returns, and a negative
 * r fails the call with -r, 0 has it return val. sup_pass() lets the
 * kernel do the call itself (CONTINUE). Both close the caller's pidfd
 * first (sup_done() alone does that), so that once the program's call
 * returns the supervisor holds nothing of it.
 */
void sup_answer(struct sup_call *c, int r, int64_t val);
void sup_pass(struct sup_call *c);
void sup_done(struct sup_call *c);

/* 0 while the call still waits for us, else -ENOENT. */
int sup_still_valid(const struct sup_call *c);

/* The program's memory, read or written with the call checked valid:
 * 0, -EFAULT, or -ENOENT when the call is gone. */
int sup_peek(struct sup_call *c, uint64_t uaddr, void *buf, size_t len);
int sup_poke(struct sup_call *c, uint64_t uaddr, const void *buf, size_t len);

/* Our copy of the program's descriptor fd (same open file description),
 * or -errno. */
int sup_take(struct sup_call *c, int fd);

/* An int socket option, or -errno. */
int sup_sockopt_int(int fd, int level, int name);

/* Whether our copy of a socket is a stream socket (the policy asks). */
bool sup_is_stream(int copy);

/* A call's sockaddr argument read once: 0 or the kernel's -errno,
 * -ENOENT when the call is gone. */
int sup_read_addr(struct sup_call *c, uint64_t uaddr, uint64_t ulen,
		  struct sockaddr_storage *ss, socklen_t *len);

/* Writes v as family into the program's (addr, *lenp) as getsockname(2)
 * does. 0 or -errno (-ENOENT: the call is gone). */
int sup_report(struct sup_call *c, int family, struct v4 v, uint64_t uaddr,
	       uint64_t ulenp);

/* --- the ways a call arrives (sup_abi.c) --- */

/* One trapped operation by its number in one calling convention: the
 * filter is built from these tables and sup_decode() reads them, so the
 * two cannot disagree. */
struct sup_nr {
	uint32_t nr;
	enum sup_op op;
	uint8_t nargs; /* socketcall: the argument block's length in words */
};

extern const struct sup_nr sup_native_nrs[];
extern const unsigned sup_native_count;
#if defined(__x86_64__)
#define SUP_I386_SOCKETCALL 102 /* arch/x86/entry/syscalls/syscall_32.tbl */
extern const struct sup_nr sup_i386_nrs[], sup_socketcall_nrs[];
extern const unsigned sup_i386_count, sup_socketcall_count;
#endif

/* True for the operations that run only while BIND is on. */
bool sup_op_is_bind(enum sup_op op);

/* Fills c->op and c->args from the notification, reading a socketcall's
 * argument block once. c->op is SUP_NONE when the call cannot be served
 * (it has been answered, or is gone). */
void sup_decode(struct sup_call *c);

/* A message header (sendmsg's, or the first of a sendmmsg) read in the
 * caller's layout: name, namelen and iovlen as the kernel takes them,
 * iov[] the caller's iovecs with the native layout, control a malloc'd
 * copy of the control messages in the native layout (NULL when none). */
struct sup_msg {
	uint64_t name;
	socklen_t namelen;
	size_t iovlen;
	struct iovec *iov; /* the caller's array, UIO_MAXIOV entries */
	void *control;
	size_t controllen;
};

/* 0 or the -errno the kernel would give (-ENOENT: the call is gone). */
int sup_msg_read(struct sup_call *c, uint64_t uaddr, struct sup_msg *m);

/* Where sendmmsg's msg_len of the first message lives, for uaddr. */
uint64_t sup_mmsg_len_at(const struct sup_call *c, uint64_t uaddr);

/*
 * connect() of a socket that is not AF_INET/AF_INET6, asked through
 * socketcall(2): handing it back would have the kernel read the argument
 * block again (and maybe another descriptor from it), so the supervisor
 * connects its copy itself, resolving a path as the program would. 0 or
 * -errno.
 */
int sup_connect_local(struct sup_call *c, int copy, int domain,
		      const struct sockaddr_storage *ss, socklen_t len);

/* --- the sockets it serves (sup_socks.c) --- */

/* The line drawn under the table: past it a new record fails, logged. */
#define SUP_SOCKS_MAX (1u << 20)

/*
 * One record per socket of the program that the supervisor knows
 * something of (a proxied CONNECT's names, a BIND's state), found by the
 * identity of fd (a copy of the program's descriptor): inode, checked
 * against SO_COOKIE. get() and add() hand the record out busy, for this
 * worker alone (waiting while another has it); put() gives it back,
 * drop() (on a busy record) forgets the socket.
 */
struct fdslot *sup_socks_get(int fd);
void sup_socks_put(struct fdslot *s);
void sup_socks_drop(struct fdslot *s);

/* A record made anew for the socket behind fd (kind, family, identity;
 * all else zero), busy; NULL with *err -errno (-ENOMEM past the line,
 * logged). */
struct fdslot *sup_socks_add(int fd, enum fd_kind kind, int family, int *err);

/* A copy of the record of the socket behind fd: false when none. */
bool sup_socks_peek(int fd, struct fdslot *out);

/* How many records the table holds (tests, debug lines). */
size_t sup_socks_count(void);

/* --- BIND (sup_bind.c) --- */

/* bind(), listen(), accept()/accept4() (four: with flags). */
void sup_on_bind(struct sup_call *c);
void sup_on_listen(struct sup_call *c);
void sup_on_accept(struct sup_call *c, bool four);

/* getsockopt(SOL_SOCKET, SO_ACCEPTCONN): 1 for a BIND listener. */
void sup_on_acceptconn(struct sup_call *c);

/*
 * For getsockname()/getpeername() on a socket of a BIND (its listener,
 * or the connection accept() delivered): true when handled (answered).
 */
bool sup_bind_name(struct sup_call *c, int copy, bool peer);

/* A connect() on a socket whose BIND started: the BIND is closed and the
 * socket made fresh, as the library does. */
void sup_bind_forget(int copy);

/* --- the exchange (sup_exchange.c) --- */

struct hs;

/*
 * One exchange (cmd SOCKS4_CMD_CONNECT or SOCKS4_CMD_BIND) up to its
 * first reply, on fd (a copy of the program's socket) of family AF_INET
 * or AF_INET6, naming host (SOCKS4A) or, with host NULL, dst's address,
 * bounded by the connect timeout (for a CONNECT on a blocking socket, by
 * its SO_SNDTIMEO when that is shorter: ETIMEDOUT). The socket's flags
 * are never changed. Returns 0 with h->r the granted reply, else the
 * -errno the program should see, having logged "WHAT via SERVER: ..."
 * once (WHAT: hs_what()).
 */
int sup_exchange(struct hs *h, int fd, int family, uint8_t cmd, struct v4 dst,
		 const char *host);

/* A blocking socket's SO_SNDTIMEO or SO_RCVTIMEO in ms; 0 when none is
 * set or the socket is non-blocking. */
int64_t sup_sock_timeout_ms(int fd, int opt);

/*
 * BIND's second reply on h: with deadline 0 only what has arrived
 * (-EAGAIN when not all of it), else waiting until the deadline, or
 * until sock_ms (a blocking accept's SO_RCVTIMEO; 0 none) if that comes
 * first, which ends the call with -EAGAIN and leaves the BIND waiting.
 * 0 when granted (h->r), else -errno, the failure logged as WHAT.
 */
int sup_second(struct hs *h, int fd, int64_t deadline, int64_t sock_ms, const char *what);

/* The filter (sup_filter.c): with bind true, bind/listen/accept are
 * trapped too. */

#endif
