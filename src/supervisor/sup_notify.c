/*
 * sup_notify.c - serving the calls the filter traps.
 *
 * A pool of workers, each blocked in SECCOMP_IOCTL_NOTIF_RECV; a worker
 * that takes a call serves it to the end (a SOCKS exchange included) and
 * starts another worker first when none would be left waiting, so one
 * slow proxy never holds up the program's other threads. Calls are served
 * as many at once as the supervisor's descriptor limit leaves room for
 * (fds_take): past that a call waits for a descriptor, since EMFILE is
 * not an answer connect(2) or getsockname(2) ever gives.
 *
 * A call comes decoded (sup_abi.c: native, i386, or socketcall with its
 * argument block already read): c->op and c->args, whatever the ABI.
 *
 * Serving a call: the program's memory is read once (process_vm_readv)
 * and then the notification is checked to be still alive, which proves
 * the thread that made it is the one read; its socket is copied with
 * pidfd_getfd() (the same open file description) and the call is done
 * on the copy with the address read, so nothing the program changes
 * afterwards can redirect it. Only a call on a socket that is not
 * AF_INET/AF_INET6 is given back to the kernel (CONTINUE): there an
 * inet address is refused by the kernel itself.
 *
 * Proxied sockets are remembered in the supervisor's table of socket
 * records (sup_socks.c, found by inode and SO_COOKIE) with the names
 * getsockname() and getpeername() must report.
 */
#include "handshake.h"
#include "log.h"
#include "policy.h"
#include "sup.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SIN6_LEN_RFC2133
#define SIN6_LEN_RFC2133 24 /* the shortest sockaddr_in6 the kernel takes */
#endif

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd for one thread */
#endif
#include <fcntl.h>

int sup_listener = -1;

/* --- answering ------------------------------------------------------- */

void sup_done(struct sup_call *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
}

/* r < 0: fail with -r; else succeed with val. The one place the
 * supervisor's -errno becomes the program's errno. */
void sup_answer(struct sup_call *c, int r, int64_t val)
{
	struct seccomp_notif_resp resp = {.id = c->n.id};

	sup_done(c);
	if (r < 0)
		resp.error = r; /* the kernel takes it negative, as we keep it */
	else
		resp.val = val;
	/* ENOENT: the thread was killed meanwhile; nobody to tell */
	ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Lets the kernel do the call itself, reading its arguments again: for
 * a socketcall(2) the whole argument block, so only calls that are
 * harmless whatever the block then says come here (sup_abi.c). */
void sup_pass(struct sup_call *c)
{
	struct seccomp_notif_resp r = {.id = c->n.id,
				       .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};

	sup_done(c);
	ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

/* 0 while the call is still waiting for us, else -ENOENT. */
int sup_still_valid(const struct sup_call *c)
{
	uint64_t id = c->n.id;

	return ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 ? 0 : -ENOENT;
}

/* --- the program's memory and descriptors ------------------------------ */

static int tgid_of(int tid)
{
	char path[64], line[128];
	FILE *f;
	int tgid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* A pidfd for the calling thread: its own (Linux 6.9), else its
 * process's, opened before the call is checked valid so that it cannot
 * name a process that reused the number. */
static int open_caller(struct sup_call *c)
{
	pid_t tid = (pid_t)c->n.pid;
	int fd;

	if (c->pidfd >= 0)
		return 0;
	fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (fd < 0 && errno == EINVAL) {
		int tgid = tgid_of(tid);
		fd = tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
	}
	if (fd < 0)
		return -errno;
	c->pidfd = fd;
	return 0;
}

/* Reads len bytes at the program's address uaddr: 0, -EFAULT, or
 * -ENOENT when the call is gone. */
int sup_peek(struct sup_call *c, uint64_t uaddr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)uaddr, len};
	int err;

	if ((err = open_caller(c)) < 0)
		return err;
	if (len && process_vm_readv((pid_t)c->n.pid, &l, 1, &r, 1, 0) != (ssize_t)len)
		return errno == ESRCH ? -ENOENT : -EFAULT;
	return sup_still_valid(c);
}

int sup_poke(struct sup_call *c, uint64_t uaddr, const void *buf, size_t len)
{
	struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)uaddr, len};
	int err;

	if ((err = sup_still_valid(c)) < 0)
		return err;
	if (len && process_vm_writev((pid_t)c->n.pid, &l, 1, &r, 1, 0) != (ssize_t)len)
		return errno == ESRCH ? -ENOENT : -EFAULT;
	return 0;
}

/* Our copy of the program's descriptor fd: >= 0, or -errno (EBADF as
 * the kernel would say it). */
int sup_take(struct sup_call *c, int fd)
{
	int copy, err;

	if ((err = open_caller(c)) < 0 || (err = sup_still_valid(c)) < 0)
		return err;
	copy = (int)syscall(SYS_pidfd_getfd, c->pidfd, fd, 0);
	if (copy >= 0)
		return copy;
	err = errno;
	if (err == ESRCH)
		return -ENOENT;
	if (err == EPERM)
		/* ptrace access refused: a process that made itself
		 * non-dumpable, or Yama's ptrace_scope above 1 */
		log_msg(LOG_ERROR, "process %u: cannot see its socket calls (%s: "
			"PR_SET_DUMPABLE 0, or kernel.yama.ptrace_scope above 1); "
			"the call fails", c->n.pid, strerror(err));
	return -err;
}

int sup_sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

bool sup_is_stream(int copy)
{
	return sup_sockopt_int(copy, SOL_SOCKET, SO_TYPE) == SOCK_STREAM;
}

static bool is_inet(int domain)
{
	return domain == AF_INET || domain == AF_INET6;
}

/* --- proxied sockets: their records (sup_socks.c) ---------------------- */

/* Remembers the names of the proxied socket behind copy, or with family
 * 0 forgets them (a connect not through us): 0, or -ENOMEM (logged) when
 * the table has no room. */
static int name_set(int copy, int family, struct v4 name, struct v4 peer)
{
	struct fdslot *s;
	int err;

	if (!family) {
		if ((s = sup_socks_get(copy)) && s->kind == FD_CONNECT)
			sup_socks_drop(s);
		else if (s)
			sup_socks_put(s);
		return 0;
	}
	if (!(s = sup_socks_add(copy, FD_CONNECT, family, &err)))
		return err;
	s->name = name;
	s->peer = peer;
	sup_socks_put(s);
	return 0;
}

static bool name_get(int copy, struct fdslot *out)
{
	return sup_socks_peek(copy, out) && out->kind == FD_CONNECT;
}

/* --- connect() -------------------------------------------------------- */

/* The kernel's connect() on our copy, with the address we read. */
static int connect_copy(int copy, const struct sockaddr_storage *ss, socklen_t len)
{
	/* workers block every signal, so a blocking connect is never cut
	 * short (a second connect() would answer EALREADY) */
	return connect(copy, (const struct sockaddr *)ss, len) < 0 ? -errno : 0;
}

/* What the kernel would say to a connect() on a stream socket that is
 * not fresh (-EALREADY, -EISCONN): 0 for a fresh (closed) one. */
static int stream_busy(int copy)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	struct sockaddr_storage ss;

	if (getsockopt(copy, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) {
		if (ti.tcpi_state == TCP_CLOSE)
			return 0;
		return ti.tcpi_state == TCP_SYN_SENT ? -EALREADY : -EISCONN;
	}
	len = sizeof(ss);
	return getpeername(copy, (struct sockaddr *)&ss, &len) == 0 ? -EISCONN : 0;
}

/* A CONNECT through the server the policy chose (v), for thread tid. */
static int connect_proxied(int copy, int domain, const struct policy_connect *v, int tid)
{
	char d[ADDR_STRLEN], p[ADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct v4 name, local = {0, 0};
	struct policy_line why;
	struct socks4_reply r;
	struct hs h;
	int err;

	if ((err = stream_busy(copy)))
		return err;
	err = sup_exchange(&h, copy, domain, SOCKS4_CMD_CONNECT, v->dst, v->host);
	r = h.r;
	if (err) {
		/* Back to a fresh socket, so that connecting it again starts
		 * afresh as it does under the library. */
		struct sockaddr un = {.sa_family = AF_UNSPEC};
		connect(copy, &un, sizeof(un));
		return err;
	}
	/* the reply's address as getsockname()'s answer, when it can be the
	 * proxy's outward address (see README) */
	name = policy_reply_name(&sup_cfg, v->dst, v->host != NULL, (struct v4){r.addr, r.port},
				 &why);
	policy_say(&why);
	if ((err = name_set(copy, domain, name, v->dst))) {
		struct sockaddr un = {.sa_family = AF_UNSPEC};
		connect(copy, &un, sizeof(un));
		return err;
	}
	primary_note_proxy_ip(&sup_primary, name.ip);
	/* with no address from the reply a program's listener may be bound
	 * to our real one: remember it, so that its BIND finds this connection */
	if (!name.ip && getsockname(copy, (struct sockaddr *)&ss, &sl) == 0)
		addr_to_v4((struct sockaddr *)&ss, sl, &local);
	primary_add_connect(&sup_primary, tid, v->dst, v->host, name, local);
	log_msg(LOG_INFO, "CONNECT %s via %s: granted", addr_fmt(v->dst, d),
		addr_fmt(v->server, p));
	return 0;
}

/*
 * connect(fd, ss, len) for an inet socket of the program, done on its
 * copy: the policy decides between the proxy, a connect of our own to
 * the address read, and a refusal. Returns 0 or the -errno for the
 * program (-EINPROGRESS from a direct non-blocking connect, as the
 * kernel says it).
 */
static int connect_inet(struct sup_call *c, int copy, int domain,
			const struct sockaddr_storage *ss, socklen_t len)
{
	struct policy_sock k = {(int)c->args[0], copy, sup_is_stream};
	struct policy_connect v;

	/* AF_UNSPEC (a disconnect), a family or a length the socket does not
	 * take: the kernel's own answer, which connects nothing */
	if (ss->ss_family != domain ||
	    len < (domain == AF_INET ? sizeof(struct sockaddr_in) : SIN6_LEN_RFC2133)) {
		name_set(copy, 0, (struct v4){0, 0}, (struct v4){0, 0});
		return connect_copy(copy, ss, len);
	}
	policy_connect(&sup_cfg, &k, (const struct sockaddr *)ss, len, &v);
	policy_say(&v.log);
	switch (v.way) {
	case POLICY_PROXY:
		return connect_proxied(copy, domain, &v, (int)c->n.pid);
	case POLICY_REFUSE:
		return v.err;
	case POLICY_DIRECT:
		break;
	}
	name_set(copy, 0, v.dst, v.dst);
	return connect_copy(copy, ss, len);
}

/* Reads the sockaddr of a call: 0, or the -errno the kernel gives. */
int sup_read_addr(struct sup_call *c, uint64_t uaddr, uint64_t ulen,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if ((int)ulen < 0 || (int)ulen > (int)sizeof(*ss))
		return -EINVAL;
	*len = (socklen_t)ulen;
	return sup_peek(c, uaddr, ss, *len);
}

static void on_connect(struct sup_call *c)
{
	int fd = (int)c->args[0], copy, domain, err;
	struct sockaddr_storage ss;
	socklen_t len;

	if ((copy = sup_take(c, fd)) < 0) {
		if (copy != -ENOENT)
			sup_answer(c, copy, 0);
		return;
	}
	domain = sup_sockopt_int(copy, SOL_SOCKET, SO_DOMAIN);
	/* a socketcall's descriptor is in its block, which a CONTINUE would
	 * read again: its non-inet connects are done here too */
	if (domain < 0 || (!is_inet(domain) && !c->block)) {
		close(copy);
		if (domain < 0)
			sup_answer(c, domain, 0); /* ENOTSOCK */
		else
			sup_pass(c);
		return;
	}
	err = sup_read_addr(c, c->args[1], c->args[2], &ss, &len);
	if (err == -ENOENT) {
		close(copy);
		return;
	}
	if (!err && !is_inet(domain)) {
		err = sup_connect_local(c, copy, domain, &ss, len);
	} else if (!err) {
		sup_bind_forget(copy);
		err = connect_inet(c, copy, domain, &ss, len);
	}
	close(copy);
	sup_answer(c, err, 0); /* to a call gone meanwhile: nobody to tell */
}

/* --- getsockname(), getpeername() ---------------------------------------- */

/* Writes v into the program's (addr, *lenp) with the kernel's rules:
 * at most *lenp bytes, then *lenp = the full length. */
int sup_report(struct sup_call *c, int family, struct v4 v, uint64_t uaddr, uint64_t ulenp)
{
	struct sockaddr_storage ss;
	socklen_t full = addr_from_v4(family, v, &ss);
	int len, err;

	if ((err = sup_peek(c, ulenp, &len, sizeof(len))) < 0)
		return err;
	if (len > (int)full)
		len = (int)full;
	if (len < 0)
		return -EINVAL;
	if ((err = sup_poke(c, uaddr, &ss, (size_t)len)) < 0 ||
	    (err = sup_poke(c, ulenp, &full, sizeof(full))) < 0)
		return err;
	return 0;
}

static void on_name(struct sup_call *c, bool peer)
{
	int copy = sup_take(c, (int)c->args[0]);
	struct fdslot e;
	bool ours;

	if (copy < 0) {
		if (copy != -ENOENT)
			sup_answer(c, copy, 0);
		return;
	}
	if (sup_bind_name(c, copy, peer)) {
		close(copy);
		return;
	}
	ours = name_get(copy, &e) && (peer || e.name.ip);
	/* still connected to the proxy? a reconnect through us forgets it,
	 * but a shutdown() or a peer's close leaves it, as the library does */
	close(copy);
	if (!ours) {
		sup_pass(c);
		return;
	}
	sup_answer(c, sup_report(c, e.family, peer ? e.peer : e.name, c->args[1], c->args[2]),
		   0);
}

/* --- TCP Fast Open sends ---------------------------------------------- */

#define FASTOPEN_MAX (1u << 20) /* bytes the first send carries at most */

/*
 * sendto()/sendmsg()/sendmmsg() with MSG_FASTOPEN connect as they send.
 * They get a connect as connect() would, then their data is sent on the
 * copy without the flag: a Fast Open send on a socket already connected
 * fails in the kernel, so the call cannot be given back. sendmmsg()
 * sends its first message only and returns 1, which it may.
 *
 * One without an address connects nothing. It is given back when the
 * address is a register (sendto's); otherwise a CONTINUE would read the
 * msghdr (or socketcall's block) again and could find one there, so it
 * is sent on the copy with its flags as they are, and the kernel gives
 * its own answer (EISCONN, or EINVAL for want of an address).
 *
 * A socketcall send without MSG_FASTOPEN (the filter cannot see its
 * flags) is given back: that is the one CONTINUE of a socketcall that
 * could still connect, if another thread rewrote the block in between
 * (README, "What can still get past").
 */
static void on_fastopen(struct sup_call *c)
{
	const uint64_t *a = c->args;
	int flags = (int)(c->op == SUP_SENDMSG ? a[2] : a[3]), copy, domain, err = 0, keep = 0;
	struct iovec rio[UIO_MAXIOV], lio;
	struct sup_msg m = {.iov = rio};
	struct sockaddr_storage ss;
	socklen_t len;
	size_t total = 0;
	char *buf = NULL;
	ssize_t sent = -1;

	if (!(flags & MSG_FASTOPEN)) {
		sup_pass(c);
		return;
	}
	if ((copy = sup_take(c, (int)a[0])) < 0) {
		if (copy != -ENOENT)
			sup_answer(c, copy, 0);
		return;
	}
	domain = sup_sockopt_int(copy, SOL_SOCKET, SO_DOMAIN);
	if (!is_inet(domain) || sup_sockopt_int(copy, SOL_SOCKET, SO_TYPE) != SOCK_STREAM) {
		close(copy);
		if (domain < 0) {
			sup_answer(c, domain, 0); /* ENOTSOCK */
		} else if (!c->block) {
			sup_pass(c);
		} else {
			log_msg(LOG_ERROR, "a Fast Open send through socketcall(2) on a socket that "
				"is not TCP: refused (EOPNOTSUPP), since handing it back would "
				"have the kernel read its arguments again");
			sup_answer(c, -EOPNOTSUPP, 0);
		}
		return;
	}
	if (c->op == SUP_SENDMMSG && a[2] == 0) {
		close(copy);
		sup_answer(c, 0, 0); /* no message: the kernel's 0 */
		return;
	}
	if (c->op == SUP_SENDTO) {
		m.name = a[4];
		m.namelen = (socklen_t)a[5];
		rio[0] = (struct iovec){(void *)(uintptr_t)a[1], (size_t)a[2]};
		m.iovlen = 1;
	} else {
		/* sendmmsg's first struct mmsghdr begins with its msghdr */
		err = sup_msg_read(c, a[1], &m);
	}
	if (!err && !m.name) {
		if (c->op == SUP_SENDTO && !c->block) {
			close(copy); /* no address, and none can appear: the kernel's */
			sup_pass(c);
			return;
		}
		keep = MSG_FASTOPEN;
	}
	if (!err && m.name)
		err = sup_read_addr(c, m.name, m.namelen, &ss, &len);
	if (!err && m.name) {
		err = connect_inet(c, copy, domain, &ss, len);
		err = err == -EISCONN ? 0 : err;
	}
	for (size_t i = 0; !err && i < m.iovlen; i++)
		total += rio[i].iov_len < FASTOPEN_MAX ? rio[i].iov_len : FASTOPEN_MAX;
	if (total > FASTOPEN_MAX)
		total = FASTOPEN_MAX;
	if (!err && total && !(buf = malloc(total)))
		err = -ENOMEM;
	if (!err && total) {
		lio = (struct iovec){buf, total};
		sent = process_vm_readv((pid_t)c->n.pid, &lio, 1, rio, m.iovlen, 0);
		if (sent <= 0)
			err = -EFAULT;
		else
			total = (size_t)sent;
	}
	if (!err && (err = sup_still_valid(c)) == 0) {
		struct msghdr out = {.msg_iov = &lio, .msg_iovlen = total ? 1 : 0,
				     .msg_control = m.control, .msg_controllen = m.controllen};
		lio = (struct iovec){buf, total};
		sent = sendmsg(copy, &out, (flags & ~MSG_FASTOPEN) | keep | MSG_NOSIGNAL);
		err = sent < 0 ? -errno : 0;
	}
	if (!err && c->op == SUP_SENDMMSG) {
		unsigned ml = (unsigned)sent;
		err = sup_poke(c, sup_mmsg_len_at(c, a[1]), &ml, sizeof(ml));
		sent = 1;
	}
	free(buf);
	free(m.control);
	close(copy);
	if (err != -ENOENT)
		sup_answer(c, err, err ? 0 : sent);
}

/* --- the descriptors the calls hold ---------------------------------- */

/*
 * Serving one call holds at most FDS_PER_CALL descriptors at once (the
 * caller's pidfd, the socket's copy, /proc/PID/status read by fopen(),
 * and for a BIND the quiet listener and a copy of an epoll instance).
 * The supervisor runs at its hard RLIMIT_NOFILE (sup.c), which is room
 * for thousands of calls; a tiny hard limit (`ulimit -n 16`) is room for
 * a few, and then the next call waits here for one to end.
 */
#define FDS_PER_CALL 6
#define FDS_SPARE 4 /* the log, a worker's fopen() of its own */

static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fds_freed = PTHREAD_COND_INITIALIZER;
static long fds_room = 1; /* calls that may hold descriptors now */

/* How many calls fit beside the descriptors open now: at least one. */
static long fds_budget(void)
{
	struct rlimit rl;
	long open = 0, room;
	DIR *d;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)LONG_MAX / 2)
		return LONG_MAX;
	if ((d = opendir("/proc/self/fd"))) {
		while (readdir(d))
			open++;
		closedir(d); /* counted ".", ".." and its own: three too many, spare */
	} else {
		open = 16;
	}
	room = ((long)rl.rlim_cur - open - FDS_SPARE) / FDS_PER_CALL;
	return room > 0 ? room : 1;
}

static void fds_take(void)
{
	pthread_mutex_lock(&fds_lock);
	while (fds_room == 0)
		pthread_cond_wait(&fds_freed, &fds_lock);
	fds_room--;
	pthread_mutex_unlock(&fds_lock);
}

static void fds_give(void)
{
	pthread_mutex_lock(&fds_lock);
	fds_room++;
	pthread_cond_signal(&fds_freed);
	pthread_mutex_unlock(&fds_lock);
}

/* --- the workers ------------------------------------------------------ */

#define WORKERS_MAX 4096
#define WORKER_STACK (256 * 1024)

static atomic_int idle, workers;

static void serve(struct sup_call *c)
{
	c->pidfd = -1;
	log_speak_for((int)c->n.pid, tgid_of); /* its lines name the program */
	sup_decode(c);
	switch (c->op) {
	case SUP_CONNECT:
		on_connect(c);
		break;
	case SUP_GETSOCKNAME:
		on_name(c, false);
		break;
	case SUP_GETPEERNAME:
		on_name(c, true);
		break;
	case SUP_BIND:
		sup_on_bind(c);
		break;
	case SUP_LISTEN:
		sup_on_listen(c);
		break;
	case SUP_ACCEPT:
		sup_on_accept(c, false);
		break;
	case SUP_ACCEPT4:
		sup_on_accept(c, true);
		break;
	case SUP_GETSOCKOPT:
		sup_on_acceptconn(c);
		break;
	case SUP_SENDTO:
	case SUP_SENDMSG:
	case SUP_SENDMMSG:
		on_fastopen(c);
		break;
	case SUP_NONE: /* sup_decode() answered it, or it is gone */
		break;
	}
	sup_done(c);
	log_speak_for(0, NULL);
}

static int spawn(void);

static void *worker(void *unused)
{
	(void)unused;
	for (;;) {
		struct sup_call c;
		int r, left;

		memset(&c, 0, sizeof(c)); /* the kernel wants it zeroed */
		atomic_fetch_add(&idle, 1);
		r = ioctl(sup_listener, SECCOMP_IOCTL_NOTIF_RECV, &c.n);
		left = atomic_fetch_sub(&idle, 1) - 1;
		if (r < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			log_msg(LOG_ERROR, "syscall mode: receiving a call failed: %m");
			atomic_fetch_sub(&workers, 1);
			return NULL;
		}
		if (left == 0 && atomic_load(&workers) < WORKERS_MAX)
			spawn();
		fds_take();
		serve(&c);
		fds_give();
	}
}

static int spawn(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	sigset_t all, old;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* a worker inherits this mask: no signal ever interrupts its calls
	 * (the main thread takes the ones it forwards from a signalfd) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_fetch_add(&workers, 1);
	err = pthread_create(&t, &attr, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		atomic_fetch_sub(&workers, 1);
		log_msg(LOG_ERROR, "syscall mode: cannot start a worker: %s", strerror(err));
	}
	return -err;
}

/* Not in every libc's headers yet (Linux 6.6). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int sup_notify_start(int fd)
{
	sup_listener = fd;
	fds_room = fds_budget();
	/* The trapping thread hands its CPU to the worker that takes the
	 * call, and the worker hands it back with the answer, rather than
	 * each waking the other on another CPU: a trapped call that is let
	 * through costs half as much (make bench, section 7). An older
	 * kernel says EINVAL and the wake-ups stay as they were. */
	(void)ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	return spawn();
}
