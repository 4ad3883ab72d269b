/*
 * primary.h - what the process has learned from its proxied connections,
 * for the BIND decisions that come after them.
 *
 * SOCKS4 BIND names the application server the inbound connection will
 * come from: the destination of the program's primary connection (the
 * FTP control connection). And a program often takes the address it
 * advertises from that primary connection, or binds its listening socket
 * to it, so the proxy-side addresses we have reported must be recognised
 * when they come back.
 */
#ifndef PRIMARY_H
#define PRIMARY_H

#include "addr.h"

#include <stdbool.h>

/* Records a proxied CONNECT: its destination and the local address
 * getsockname() reports for it (ip 0 when the real one). */
void primary_add_connect(struct v4 dst, struct v4 name, struct v4 real_local);

/*
 * The application server for a BIND on a socket bound to bound_ip: the
 * recorded connection whose reported or real local address is bound_ip,
 * else the most recent one. False when there is none.
 */
bool primary_find(uint32_t bound_ip, struct v4 *dst);

/* Remembers an address the proxy showed us (a BIND or CONNECT reply). */
void primary_note_proxy_ip(uint32_t ip);

/* True for an address the proxy showed us. */
bool primary_is_proxy_ip(uint32_t ip);

/* True for an address a proxied connection showed the program: one the
 * proxy reported, or the real local address of a proxied connection. */
bool primary_is_ours(uint32_t ip);

/* The address of the latest BIND's first reply, or 0. */
uint32_t primary_bind_ip(void);
void primary_set_bind_ip(uint32_t ip);

/* fork() handlers (init.c): held across fork, released on both sides. */
void primary_fork_prepare(void);
void primary_fork_release(void);

#endif
