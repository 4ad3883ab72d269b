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
#include "socks4.h"

#include <stdbool.h>
#include <stdint.h>

/* The settings, built once before the command starts; read-only after. */
extern struct config sup_cfg;

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

struct sup_call {
	struct seccomp_notif n;
	int pidfd; /* the calling thread, -1 until opened */
};

extern int sup_listener;

/* The call's result: err > 0 fails it with that errno, else it returns
 * val. sup_pass() lets the kernel do the call itself (CONTINUE). Both
 * close the caller's pidfd first (sup_done() alone does that), so that
 * once the program's call returns the supervisor holds nothing of it. */
void sup_answer(struct sup_call *c, int err, int64_t val);
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

/* A call's sockaddr argument read once: 0 or the kernel's errno
 * (positive), ENOENT when the call is gone. */
int sup_read_addr(struct sup_call *c, uint64_t uaddr, uint64_t ulen,
		  struct sockaddr_storage *ss, socklen_t *len);

/* Writes v as family into the program's (addr, *lenp) as getsockname(2)
 * does. 0 or a positive errno. */
int sup_report(struct sup_call *c, int family, struct v4 v, uint64_t uaddr,
	       uint64_t ulenp);

/* --- BIND (sup_bind.c) --- */

/* A proxied CONNECT's destination, reported name (0: none) and real
 * local address, for the BINDs that follow it. */
void sup_bind_note_connect(struct v4 dst, struct v4 name, struct v4 local);

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
 * or AF_INET6, bounded by the connect timeout (for a CONNECT on a
 * blocking socket, by its SO_SNDTIMEO when that is shorter: ETIMEDOUT).
 * The socket's flags are never changed. Returns 0 with h->r the granted reply, else the errno
 * the program should see (positive), having logged "WHAT via SERVER:
 * ..." once.
 */
int sup_exchange(struct hs *h, int fd, int family, uint8_t cmd, struct v4 dst,
		 const char *what);

/* A blocking socket's SO_SNDTIMEO or SO_RCVTIMEO in ms; 0 when none is
 * set or the socket is non-blocking. */
int64_t sup_sock_timeout_ms(int fd, int opt);

/*
 * BIND's second reply on h: with deadline 0 only what has arrived
 * (EAGAIN when not all of it), else waiting until the deadline. 0 when
 * granted (h->r), else the errno, the failure logged as WHAT.
 */
int sup_second(struct hs *h, int fd, int64_t deadline, const char *what);

/* The filter (sup_filter.c): with bind true, bind/listen/accept are
 * trapped too. */

#endif
