/*
 * primary.h - what a program has learned from its proxied connections,
 * for the BIND decisions that come after them.
 *
 * SOCKS4 BIND names the application server the inbound connection will
 * come from: the destination of the program's primary connection (the
 * FTP control connection). And a program often takes the address it
 * advertises from that primary connection, or binds its listening socket
 * to it, so the proxy-side addresses we have reported must be recognised
 * when they come back.
 *
 * An object, one per program served: the library keeps one for its
 * process, the supervisor one for the tree it serves. Threads are told
 * apart by a number the front end gives (the library: its thread's id;
 * the supervisor: the trapped call's tid). Bounded rings under one lock;
 * touched only by proxied calls, never by calls passed through.
 */
#ifndef PRIMARY_H
#define PRIMARY_H

#include "addr.h"

#include <pthread.h>
#include <stdbool.h>

#define PRIMARY_RING 16    /* connections and proxy addresses remembered */
#define PRIMARY_THREADS 64 /* threads whose last connection is remembered */

/* One proxied CONNECT, as a BIND after it needs it. */
struct primary_conn {
	struct v4 dst;
	const char *host;  /* SOCKS4A: the name (valid for the life of the
			      process), else NULL */
	uint32_t name_ip;  /* the local address getsockname() reports; 0: the real one */
	uint32_t local_ip; /* the real local address, when name_ip is 0 */
};

struct primary {
	pthread_mutex_t lock;
	struct primary_conn conns[PRIMARY_RING];
	unsigned nconns; /* total ever added; the newest is conns[(n-1)%RING] */
	uint32_t proxy_ips[PRIMARY_RING];
	unsigned nproxy;
	uint32_t bind_ip;
	struct primary_use {
		int tid; /* 0: free */
		struct primary_conn conn;
	} used[PRIMARY_THREADS];
	unsigned nused; /* total ever recorded: the next slot to reuse */
};

#define PRIMARY_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

/* Records a proxied CONNECT made by thread tid: its destination, its
 * SOCKS4A name (or NULL), the local address getsockname() reports for it
 * (ip 0 when the real one) and the real one. It is also the connection
 * tid last used, until primary_use() says otherwise. */
void primary_add_connect(struct primary *p, int tid, struct v4 dst, const char *host,
			 struct v4 name, struct v4 real_local);

/* Thread tid last used the proxied connection to dst (with its SOCKS4A
 * name host, or NULL); with used NULL, none that is still open. */
void primary_use(struct primary *p, int tid, const struct primary_conn *used);

/*
 * The connection whose destination a BIND names, for a socket of thread
 * tid bound to bound_ip: with a listener bound to no address in
 * particular (0), or to a proxy-side one every proxied connection
 * reports, the connection tid last used; else the one whose reported or
 * real local address is bound_ip; else the newest. False when there is
 * none (see README, "two application servers").
 */
bool primary_find(struct primary *p, int tid, uint32_t bound_ip, struct primary_conn *out);

/* Remembers an address the proxy showed us (a BIND or CONNECT reply). */
void primary_note_proxy_ip(struct primary *p, uint32_t ip);

/* True for an address the proxy showed us. */
bool primary_is_proxy_ip(struct primary *p, uint32_t ip);

/* True for an address a proxied connection showed the program: one the
 * proxy reported, or the real local address of a proxied connection. */
bool primary_is_ours(struct primary *p, uint32_t ip);

/* The address of the latest BIND's first reply, or 0. */
uint32_t primary_bind_ip(const struct primary *p);
void primary_set_bind_ip(struct primary *p, uint32_t ip);

/* fork() handlers (the library's init.c): held across fork, released on
 * both sides. */
void primary_fork_prepare(struct primary *p);
void primary_fork_release(struct primary *p);

#endif
