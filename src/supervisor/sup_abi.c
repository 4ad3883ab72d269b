/*
 * sup_abi.c - the ways a trapped call reaches the supervisor, and what
 * each way implies.
 *
 * Three calling conventions carry the same socket calls:
 *
 *   native        x86-64 (or aarch64) system calls: arguments in registers
 *   i386 direct   a 32-bit program's (or int 0x80's) socket calls since
 *                 Linux 4.3: registers, truncated to 32 bits by the kernel
 *   socketcall    i386 nr 102: args[0] is the call (linux/net.h SYS_*),
 *                 args[1] points to the call's arguments, an array of u32
 *                 in the program's memory. glibc (2.36 included) and musl
 *                 on i386 make every socket call this way.
 *
 * sup_decode() turns each into one enum sup_op and six arguments as the
 * kernel takes them, so the handlers are written once. The filter
 * (sup_filter.c) is built from the same tables.
 *
 * 32-bit structures: sockaddr and socklen_t are the same as 64-bit ones;
 * msghdr, iovec, mmsghdr and the control messages' headers are not, and
 * sup_msg_read() reads them in the caller's layout.
 *
 * What socketcall changes: a CONTINUE makes the kernel read the argument
 * block again, after our checks, and another thread of the program can
 * have rewritten it in between: fd, address and flags alike. Handing back
 * a getsockname(), getpeername(), bind(), listen(), accept() or
 * getsockopt() is harmless whatever the block then says: none of them
 * can open a connection. A connect() or a Fast Open send could, so those
 * are never handed back once they are known to be such:
 * sup_connect_local() connects a non-inet socket itself. A send without
 * MSG_FASTOPEN is handed back (sup_notify.c, on_fastopen()); that is the
 * one gap, described in README's "What can still get past".
 */
#include "log.h"
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/net.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* --- the tables -------------------------------------------------------- */

const struct sup_nr sup_native_nrs[] = {
	{SYS_connect, SUP_CONNECT, 0},
	{SYS_getsockname, SUP_GETSOCKNAME, 0},
	{SYS_getpeername, SUP_GETPEERNAME, 0},
	{SYS_bind, SUP_BIND, 0},
	{SYS_listen, SUP_LISTEN, 0},
	{SYS_accept, SUP_ACCEPT, 0},
	{SYS_accept4, SUP_ACCEPT4, 0},
	{SYS_getsockopt, SUP_GETSOCKOPT, 0},
	{SYS_sendto, SUP_SENDTO, 0},
	{SYS_sendmsg, SUP_SENDMSG, 0},
	{SYS_sendmmsg, SUP_SENDMMSG, 0},
};
const unsigned sup_native_count = sizeof(sup_native_nrs) / sizeof(sup_native_nrs[0]);

#if defined(__x86_64__)
/* arch/x86/entry/syscalls/syscall_32.tbl; there is no direct accept. */
const struct sup_nr sup_i386_nrs[] = {
	{362, SUP_CONNECT, 0},
	{367, SUP_GETSOCKNAME, 0},
	{368, SUP_GETPEERNAME, 0},
	{361, SUP_BIND, 0},
	{363, SUP_LISTEN, 0},
	{364, SUP_ACCEPT4, 0},
	{365, SUP_GETSOCKOPT, 0},
	{369, SUP_SENDTO, 0},
	{370, SUP_SENDMSG, 0},
	{345, SUP_SENDMMSG, 0},
};
const unsigned sup_i386_count = sizeof(sup_i386_nrs) / sizeof(sup_i386_nrs[0]);

/* The argument counts are net/compat.c's nas[] table. */
const struct sup_nr sup_socketcall_nrs[] = {
	{SYS_CONNECT, SUP_CONNECT, 3},
	{SYS_GETSOCKNAME, SUP_GETSOCKNAME, 3},
	{SYS_GETPEERNAME, SUP_GETPEERNAME, 3},
	{SYS_BIND, SUP_BIND, 3},
	{SYS_LISTEN, SUP_LISTEN, 2},
	{SYS_ACCEPT, SUP_ACCEPT, 3},
	{SYS_ACCEPT4, SUP_ACCEPT4, 4},
	{SYS_GETSOCKOPT, SUP_GETSOCKOPT, 5},
	{SYS_SENDTO, SUP_SENDTO, 6},
	{SYS_SENDMSG, SUP_SENDMSG, 3},
	{SYS_SENDMMSG, SUP_SENDMMSG, 4},
};
const unsigned sup_socketcall_count = sizeof(sup_socketcall_nrs) / sizeof(sup_socketcall_nrs[0]);
#endif

bool sup_op_is_bind(enum sup_op op)
{
	return op == SUP_BIND || op == SUP_LISTEN || op == SUP_ACCEPT || op == SUP_ACCEPT4 ||
	       op == SUP_GETSOCKOPT;
}

static const struct sup_nr *find(const struct sup_nr *t, unsigned n, uint64_t nr)
{
	for (unsigned i = 0; i < n; i++)
		if (t[i].nr == nr)
			return &t[i];
	return NULL;
}

/* --- decoding ------------------------------------------------------------ */

#if defined(__x86_64__)
/* socketcall(call, args): the block read once; its words become the
 * call's arguments. */
static void decode_socketcall(struct sup_call *c)
{
	const struct sup_nr *e = find(sup_socketcall_nrs, sup_socketcall_count, c->args[0]);
	uint32_t block[6] = {0};
	int err;

	if (!e) {
		sup_answer(c, -ENOSYS, 0); /* the filter traps only the table's */
		return;
	}
	err = sup_peek(c, c->args[1], block, e->nargs * sizeof(block[0]));
	if (err) {
		if (err != -ENOENT)
			sup_answer(c, -EFAULT, 0); /* the kernel's copy_from_user() */
		return;
	}
	c->op = e->op;
	c->block = true;
	for (int i = 0; i < 6; i++)
		c->args[i] = block[i];
}
#endif

void sup_decode(struct sup_call *c)
{
	const struct seccomp_data *d = &c->n.data;
	const struct sup_nr *e = NULL;

	c->op = SUP_NONE;
	c->compat = c->block = false;
	if (d->arch == SUP_ARCH) {
		memcpy(c->args, d->args, sizeof(c->args));
		e = find(sup_native_nrs, sup_native_count, (uint32_t)d->nr);
	}
#if defined(__x86_64__)
	else if (d->arch == AUDIT_ARCH_I386) {
		c->compat = true;
		for (int i = 0; i < 6; i++)
			c->args[i] = (uint32_t)d->args[i];
		if (d->nr == SUP_I386_SOCKETCALL) {
			decode_socketcall(c);
			return;
		}
		e = find(sup_i386_nrs, sup_i386_count, (uint32_t)d->nr);
	}
#endif
	if (e)
		c->op = e->op;
	else
		sup_answer(c, -ENOSYS, 0);
}

/* --- message headers --------------------------------------------------- */

/* The i386 layouts (include/net/compat.h). */
struct compat_msghdr {
	uint32_t name, namelen, iov, iovlen, control, controllen, flags;
};
struct compat_iovec {
	uint32_t base, len;
};
struct compat_cmsghdr {
	uint32_t len;
	int32_t level, type;
};

#define COMPAT_CMSG_ALIGN(n) (((n) + 3u) & ~(size_t)3u)
#define CONTROL_MAX 65536 /* what a Fast Open send may carry */

/*
 * The control messages of a compat msghdr in the native layout, as
 * net/compat.c's cmsghdr_from_user_compat_to_kern() rewrites them: each
 * 12-byte header and 4-byte-aligned data becomes a native header and
 * data aligned to 8. A header that does not fit, or no header at all, is
 * EINVAL.
 */
static int cmsg_from_compat(const unsigned char *in, size_t inlen, void **outp, size_t *outlen)
{
	struct compat_cmsghdr h;
	unsigned char *out;
	size_t off, need = 0, o = 0;

	for (off = 0; off < inlen; off += COMPAT_CMSG_ALIGN(h.len)) {
		if (inlen - off < sizeof(h))
			return -EINVAL;
		memcpy(&h, in + off, sizeof(h));
		if (h.len < sizeof(h) || h.len > inlen - off)
			return -EINVAL;
		need += CMSG_SPACE(h.len - sizeof(h));
	}
	if (!need)
		return -EINVAL;
	if (!(out = calloc(1, need)))
		return -ENOMEM;
	for (off = 0; off < inlen; off += COMPAT_CMSG_ALIGN(h.len)) {
		struct cmsghdr k;
		size_t data;

		memcpy(&h, in + off, sizeof(h));
		data = h.len - sizeof(h);
		k.cmsg_len = CMSG_LEN(data);
		k.cmsg_level = h.level;
		k.cmsg_type = h.type;
		memcpy(out + o, &k, sizeof(k));
		memcpy(out + o + CMSG_LEN(0), in + off + sizeof(h), data);
		o += CMSG_SPACE(data);
	}
	*outp = out;
	*outlen = need;
	return 0;
}

int sup_msg_read(struct sup_call *c, uint64_t uaddr, struct sup_msg *m)
{
	uint64_t iov, control;
	int64_t namelen;
	unsigned char *raw;
	int err;

	m->control = NULL;
	m->controllen = 0;
	if (c->compat) {
		struct compat_msghdr h;
		if ((err = sup_peek(c, uaddr, &h, sizeof(h))))
			return err;
		m->name = h.name;
		namelen = (int32_t)h.namelen;
		iov = h.iov;
		m->iovlen = h.iovlen;
		control = h.control;
		m->controllen = h.controllen;
	} else {
		struct msghdr h;
		if ((err = sup_peek(c, uaddr, &h, sizeof(h))))
			return err;
		m->name = (uintptr_t)h.msg_name;
		namelen = (int32_t)h.msg_namelen; /* an int in the kernel's user_msghdr */
		iov = (uintptr_t)h.msg_iov;
		m->iovlen = h.msg_iovlen;
		control = (uintptr_t)h.msg_control;
		m->controllen = h.msg_controllen;
	}
	/* net/socket.c __copy_msghdr(): no pointer means no name, and the
	 * reverse; a negative length is refused, a long one cut */
	if (!m->name)
		namelen = 0;
	if (namelen < 0)
		return -EINVAL;
	if (namelen > (int64_t)sizeof(struct sockaddr_storage))
		namelen = sizeof(struct sockaddr_storage);
	if (!namelen)
		m->name = 0;
	m->namelen = (socklen_t)namelen;
	if (m->iovlen > UIO_MAXIOV)
		return -EMSGSIZE;
	if (c->compat) {
		struct compat_iovec v[UIO_MAXIOV];
		if ((err = sup_peek(c, iov, v, m->iovlen * sizeof(v[0]))))
			return err;
		for (size_t i = 0; i < m->iovlen; i++)
			m->iov[i] = (struct iovec){(void *)(uintptr_t)v[i].base, v[i].len};
	} else if ((err = sup_peek(c, iov, m->iov, m->iovlen * sizeof(m->iov[0])))) {
		return err;
	}
	if (!m->controllen)
		return 0;
	if (m->controllen > CONTROL_MAX)
		return -ENOBUFS;
	if (!(raw = malloc(m->controllen)))
		return -ENOMEM;
	if ((err = sup_peek(c, control, raw, m->controllen))) {
		free(raw);
		return err;
	}
	if (!c->compat) {
		m->control = raw;
		return 0;
	}
	err = cmsg_from_compat(raw, m->controllen, &m->control, &m->controllen);
	free(raw);
	return err;
}

uint64_t sup_mmsg_len_at(const struct sup_call *c, uint64_t uaddr)
{
	return uaddr + (c->compat ? sizeof(struct compat_msghdr) : sizeof(struct msghdr));
}

/* --- connect() of a non-inet socket, through socketcall -------------------- */

/* The lines of /proc/TID/status that decide what a path lookup may
 * reach, concatenated into buf; false when unreadable. */
static bool cred_lines(const char *path, char *buf, size_t len)
{
	static const char *const keys[] = {"Uid:", "Gid:", "Groups:", "CapEff:"};
	char line[512];
	size_t used = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	buf[0] = 0;
	while (fgets(line, sizeof(line), f))
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strncmp(line, keys[k], strlen(keys[k])) && used + strlen(line) < len) {
				memcpy(buf + used, line, strlen(line) + 1);
				used += strlen(line);
			}
	fclose(f);
	return true;
}

/* The program's root and mount namespace are ours, and so are its
 * credentials: a path then resolves for us as it would for it. */
static bool same_view(pid_t tid)
{
	char path[64], theirs[2048], ours[2048], tns[64], ons[64];
	struct stat tr, orr;
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)tid);
	if (stat(path, &tr) < 0 || stat("/", &orr) < 0 || tr.st_dev != orr.st_dev ||
	    tr.st_ino != orr.st_ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)tid);
	a = readlink(path, tns, sizeof(tns));
	b = readlink("/proc/thread-self/ns/mnt", ons, sizeof(ons));
	if (a <= 0 || a != b || memcmp(tns, ons, (size_t)a))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	return cred_lines(path, theirs, sizeof(theirs)) &&
	       cred_lines("/proc/thread-self/status", ours, sizeof(ours)) && !strcmp(theirs, ours);
}

/* This worker's working directory becomes the program's (a worker has
 * its own since its first call here: unshare(CLONE_FS)). 0 or -errno. */
static int enter_cwd(struct sup_call *c)
{
	static __thread bool own_fs;
	char path[64];
	int fd, err = 0;

	if (!own_fs) {
		if (unshare(CLONE_FS) < 0)
			return -errno;
		own_fs = true;
	}
	snprintf(path, sizeof(path), "/proc/%u/cwd", c->n.pid);
	if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sup_still_valid(c) < 0 ? -ENOENT : -EACCES;
	if (fchdir(fd) < 0)
		err = -errno;
	close(fd);
	return err ? err : sup_still_valid(c);
}

int sup_connect_local(struct sup_call *c, int copy, int domain,
		      const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
	bool path = domain == AF_UNIX && ss->ss_family == AF_UNIX &&
		    len > offsetof(struct sockaddr_un, sun_path) && un->sun_path[0];
	int err = 0;

	if (path && !same_view((pid_t)c->n.pid)) {
		log_msg(LOG_ERROR, "connect to %.*s through socketcall(2): the program's root, "
			"mount namespace or credentials are not the supervisor's, so it cannot "
			"connect as the program would; refused (EACCES)",
			(int)(len - offsetof(struct sockaddr_un, sun_path)), un->sun_path);
		return -EACCES;
	}
	if (path && un->sun_path[0] != '/' && (err = enter_cwd(c)))
		return err;
	if (connect(copy, (const struct sockaddr *)ss, len) < 0)
		err = -errno;
	if (path && un->sun_path[0] != '/' && chdir("/") < 0)
		log_msg(LOG_ERROR, "syscall mode: chdir(\"/\") in a worker: %m");
	return err;
}
