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
int sup_filter_install(const char **what);

/*
 * Starts the workers that serve the listener; they run until the process
 * exits. 0 or -errno.
 */
int sup_notify_start(int listener);

/*
 * One CONNECT exchange on the socket fd (a copy of the program's), of
 * family AF_INET or AF_INET6: reaches the SOCKS server, sends the
 * request, reads the 8-byte reply. The socket's file status flags are
 * never changed: a non-blocking socket is waited on with poll(). Returns
 * 0 with *r filled for a granted request, else the errno the program
 * should see (positive), having logged "WHAT via SERVER: ..." once.
 */
int sup_exchange(int fd, int family, uint8_t cmd, struct v4 dst,
		 const char *what, struct socks4_reply *r);

#endif
