/*
 * hooks_exec.c - the exec family and posix_spawn: a program the preload
 * cannot serve is run under the syscall-mode supervisor, or not at all.
 *
 * A preloaded shell, make, xargs or env that starts a static executable, a
 * Go executable, an ELF of another class or machine, or a `#!` script whose
 * interpreter is one of these would otherwise start it unproxied: ld.so
 * never loads us into it. Each hook has core/elfinfo.c read the target's
 * first page (and, for a dynamic program, its section names: one open,
 * three preads, one close) and, for such a target, executes
 * LIBDIR/socks4wrap-sup TARGET ARGS... instead, with the same environment
 * except that LD_PRELOAD travels as SOCKS4WRAP_SUP_PRELOAD: the supervisor
 * must not run with us loaded (our hooks would send its own connection to
 * the SOCKS server through that server), and gives the variable back to
 * the command. Without the supervisor the exec fails with EACCES and one
 * line naming the program and the reason (README, "Programs started
 * later").
 *
 * Everything else, the common case, goes to the kernel unchanged, with the
 * caller's argv and envp: we never take LD_PRELOAD away from a program.
 *
 * execve() is async-signal-safe and may run in a vfork() child, so this
 * file allocates nothing with malloc, takes no lock and uses no stdio:
 * buffers are on the stack, a rewritten argv is an mmap() (the caller's
 * arrays read with a probe first, so that a bad pointer is the kernel's
 * EFAULT rather than a fault of ours), log lines are
 * put together piece by piece (log.h's log_line), and the kernel is asked
 * directly (syscall()) until the `real` table has been filled by some
 * other hook. glibc's execv, execvp, execvpe, execl, execle, execlp and
 * fexecve reach the kernel without passing through the PLT, and so does
 * posix_spawn's child: each has its own hook here. The PATH search of the
 * p variants (glibc's, step for step) and the `#!` walk (the kernel's)
 * are core/cmdpath.c's, which the launcher uses too.
 */
#include "cmdpath.h"
#include "elfinfo.h"
#include "log.h"
#include "shim.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* --- what a target is ---------------------------------------------------- */

/* What ld.so's test below reads: the ELF header and program headers. */
#define XC_HEAD 1024
#define XC_MORE 512

enum xc_kind {
	XC_PLAIN,     /* served by the preload, a script, or not ours to judge */
	XC_SUPERVISE, /* the preload cannot serve it */
};

struct xc {
	enum xc_kind kind;
	const char *why; /* XC_SUPERVISE: "a static executable" */
};

static ssize_t xc_pread(int fd, off_t off, void *buf, size_t len)
{
	ssize_t r;

	do
		r = pread(fd, buf, len, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/*
 * elfinfo calls a program with no PT_INTERP static. ld.so is one of those
 * too, yet run as a program it loads the program it is given and honours
 * LD_PRELOAD: a shared object (ET_DYN, a DT_SONAME) that is not a static
 * PIE (DF_1_PIE in DT_FLAGS_1). Anything unclear is static, so that doubt
 * sends a program to the supervisor rather than around it. Costs reads
 * only for static targets, which are on their way to the supervisor.
 */
static bool xc_shared_object(int fd)
{
	unsigned char b[XC_HEAD];
	ssize_t n = xc_pread(fd, 0, b, sizeof(b));
	bool soname = false;
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	size_t i;

	if (n < (ssize_t)sizeof(eh))
		return false;
	memcpy(&eh, b, sizeof(eh));
	if (eh.e_type != ET_DYN || eh.e_phentsize != sizeof(ph) || eh.e_phoff > (size_t)n ||
	    (size_t)eh.e_phnum * sizeof(ph) > (size_t)n - eh.e_phoff)
		return false;
	for (i = 0; i < eh.e_phnum; i++) {
		memcpy(&ph, b + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_DYNAMIC)
			break;
	}
	if (i == eh.e_phnum)
		return false;
	for (size_t done = 0; done < ph.p_filesz && done < 16 * XC_MORE;) {
		unsigned char more[XC_MORE];
		size_t want = ph.p_filesz - done < sizeof(more) ? ph.p_filesz - done : sizeof(more);
		ssize_t got = xc_pread(fd, (off_t)(ph.p_offset + done), more, want);

		if (got < (ssize_t)sizeof(ElfW(Dyn)))
			return false;
		for (size_t j = 0; j + sizeof(ElfW(Dyn)) <= (size_t)got; j += sizeof(ElfW(Dyn))) {
			ElfW(Dyn) d;

			memcpy(&d, more + j, sizeof(d));
			if (d.d_tag == DT_NULL)
				return soname;
			if (d.d_tag == DT_SONAME)
				soname = true;
			if (d.d_tag == DT_FLAGS_1 && (d.d_un.d_val & DF_1_PIE))
				return false;
		}
		done += (size_t)got - (size_t)got % sizeof(ElfW(Dyn));
	}
	return false;
}

/* Judges one file into *e (core/elfinfo.c does the reading) and *x.
 * Returns 0, or the read's -errno (x says XC_PLAIN: the kernel will say
 * why). A script is XC_PLAIN: cmdpath_follow() goes on to its
 * interpreter. */
static int judge_fd(int fd, struct elfinfo *e, struct xc *x)
{
	int err;

	x->kind = XC_PLAIN;
	x->why = "";
	if ((err = elfinfo_probe_fd(e, fd)) < 0)
		return err;
	switch (e->kind) {
	case ELFINFO_DYNAMIC:
	case ELFINFO_SOCKS4WRAP: /* a nested socks4wrap chooses for itself */
	case ELFINFO_NOT_ELF:
	case ELFINFO_BAD:
	case ELFINFO_SCRIPT:
		return 0;
	case ELFINFO_STATIC:
		if (xc_shared_object(fd))
			return 0;
		x->why = "a static executable";
		break;
	case ELFINFO_GO:
		x->why = "a Go executable"; /* raw system calls, even when dynamic */
		break;
	case ELFINFO_FOREIGN:
		if (e->elf_class != elfinfo_own_class())
			x->why = e->elf_class == ELFCLASS32 ? "a 32-bit executable" : "a 64-bit executable";
		else
			x->why = "an executable for another machine or byte order";
		break;
	}
	x->kind = XC_SUPERVISE;
	return 0;
}

/* --- the kernel, asked without the PLT ------------------------------------ */

/* Our own descriptors are not the program's: close is not ours to hook. */
static void close_fd(int fd)
{
	syscall(SYS_close, fd);
}

/* execve(2) itself: through the next library's execve once `real` is
 * filled (another preload after us sees the call), else the system call,
 * which is all glibc's execve is. Returns -errno. */
static int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	if (__atomic_load_n(&shim_real_done, __ATOMIC_ACQUIRE) && real.execve)
		real.execve(path, argv, envp);
	else
		syscall(SYS_execve, path, argv, envp);
	return -errno;
}

static int sys_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			int flags)
{
	syscall(SYS_execveat, dirfd, path, argv, envp, flags);
	return -errno;
}

/* --- descriptors by number ------------------------------------------------ */

/* v in decimal, at the end of d; returns where it starts. */
static char *fmt_num(char d[24], long v)
{
	int i = 23;

	d[i] = '\0';
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0 && i > 0);
	return d + i;
}

/* "/proc/self/fd/N" in buf: a file by its descriptor, for what cannot
 * read it (an O_PATH descriptor) or needs its name (the supervisor). */
#define PROC_FD_MAX 40

static const char *proc_fd(int fd, char buf[PROC_FD_MAX])
{
	char d[24];
	const char *n = fmt_num(d, fd);

	memcpy(buf, "/proc/self/fd/", 14);
	memcpy(buf + 14, n, strlen(n) + 1);
	return buf;
}

/* --- the supervisor ------------------------------------------------------- */

#define SUP_NAME "socks4wrap-sup"

/* Our own ELF header: where ld.so mapped us. */
extern const ElfW(Ehdr) __ehdr_start;

/*
 * LIBDIR/socks4wrap-sup, LIBDIR being where ld.so found this library: the
 * name of the link map whose load address is our own ELF header. Walking
 * the list is a few loads, and safe where dladdr (which locks) is not.
 * Returns false when the name is not known.
 */
static bool sup_path(char out[PATH_MAX])
{
	const char *name = NULL, *slash;
	size_t dir;

	for (const struct link_map *m = _r_debug.r_map; m; m = m->l_next) {
		if ((const void *)m->l_addr == (const void *)&__ehdr_start) {
			name = m->l_name;
			break;
		}
	}
	if (!name || !(slash = strrchr(name, '/')))
		return false;
	dir = (size_t)(slash - name) + 1;
	if (dir + sizeof(SUP_NAME) > PATH_MAX)
		return false;
	memcpy(out, name, dir);
	memcpy(out + dir, SUP_NAME, sizeof(SUP_NAME));
	return true;
}

/*
 * The caller's argv and envp, read where the kernel would have read them:
 * a pointer that faults must be the exec's EFAULT, not our SIGSEGV. One
 * probe (drive.c) for each page the array or string enters, and none for
 * the calls the kernel gets unchanged: only a rewritten call reads them.
 */
static bool page_entered(uintptr_t at, size_t len, bool first)
{
	return first || (at + len - 1) / SHIM_PROBE_PAGE != (at - 1) / SHIM_PROBE_PAGE;
}

/* The entries of a NULL-terminated array before its NULL, or -EFAULT. */
static ssize_t vec_len(char *const v[])
{
	size_t n;

	if (!v)
		return 0;
	for (n = 0;; n++) {
		if (page_entered((uintptr_t)(v + n), sizeof(char *), !n) &&
		    !shim_readable_pages(v + n, sizeof(char *)))
			return -EFAULT;
		if (!v[n])
			return (ssize_t)n;
	}
}

/* strlen(s), or -EFAULT. */
static ssize_t str_len(const char *s)
{
	size_t n;

	for (n = 0;; n++) {
		if (page_entered((uintptr_t)(s + n), 1, !n) && !shim_readable_pages(s + n, 1))
			return -EFAULT;
		if (!s[n])
			return (ssize_t)n;
	}
}

/* An array of `pre` entries, then argv[skip...], then `post` entries, and
 * `extra` bytes after it; mmap()ed, as nothing else in an exec is allowed
 * to allocate. Returns the array, or NULL with -errno in *err (ENOMEM,
 * EFAULT for an argv that cannot be read); its size goes to *size for
 * argv_free. */
static char **argv_build_more(char *const *pre, size_t npre, char *const argv[], size_t skip,
			      size_t npost, size_t extra, size_t *size, int *err)
{
	ssize_t len = vec_len(argv);
	size_t n;
	char **v;

	if (len < 0) {
		*err = (int)len;
		return NULL;
	}
	n = (size_t)len;
	skip = skip < n ? skip : n;
	*size = (npre + n - skip + npost + 1) * sizeof(char *) + extra;
	v = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED) {
		*err = -ENOMEM;
		return NULL;
	}
	if (npre)
		memcpy(v, pre, npre * sizeof(char *));
	if (n > skip)
		memcpy(v + npre, argv + skip, (n - skip) * sizeof(char *));
	v[npre + n - skip] = NULL;
	return v;
}

/* An argv of `pre` entries, then argv[skip...]. Returns NULL (*err says
 * why: ENOMEM, or EFAULT for an argv that cannot be read) or the array,
 * whose size goes to *size for argv_free. */
static char **argv_build(char *const *pre, size_t npre, char *const argv[], size_t skip,
			 size_t *size, int *err)
{
	return argv_build_more(pre, npre, argv, skip, 0, 0, size, err);
}

static void argv_free(char **v, size_t size)
{
	munmap(v, size);
}

/*
 * The supervisor's environment: envp without LD_PRELOAD, whose value
 * (when there is one) goes in SOCKS4WRAP_SUP_PRELOAD for the supervisor
 * to give back to the command (src/supervisor/sup.c), then `mark`. An
 * inherited SOCKS4WRAP_SUP_PRELOAD is dropped: only this call's
 * LD_PRELOAD may come back. Returns NULL (*err: ENOMEM, EFAULT) or the
 * array, its size into *size.
 */
#define SUP_PRELOAD_NAME "SOCKS4WRAP_SUP_PRELOAD"
#define LD_PRELOAD_EQ "LD_PRELOAD="

static bool env_is(const char *entry, size_t len, const char *name_eq)
{
	size_t n = strlen(name_eq);

	return len >= n && !memcmp(entry, name_eq, n);
}

static char **env_build(char *const envp[], const char *mark, size_t *size, int *err)
{
	const char *preload = NULL;
	size_t n = 0, plen = 0;
	ssize_t count = vec_len(envp), len;
	char **v, *saved;

	if (count < 0) {
		*err = (int)count;
		return NULL;
	}
	for (ssize_t i = 0; i < count; i++) {
		if ((len = str_len(envp[i])) < 0) {
			*err = (int)len;
			return NULL;
		}
		if (!preload && env_is(envp[i], (size_t)len, LD_PRELOAD_EQ) &&
		    (size_t)len > strlen(LD_PRELOAD_EQ)) {
			preload = envp[i] + strlen(LD_PRELOAD_EQ);
			plen = (size_t)len - strlen(LD_PRELOAD_EQ);
		}
	}
	v = argv_build_more(NULL, 0, NULL, 0, (size_t)count + 2,
			    sizeof(SUP_PRELOAD_NAME "=") + plen, size, err);
	if (!v)
		return NULL;
	saved = (char *)(v + count + 3);
	for (ssize_t i = 0; i < count; i++) {
		len = (ssize_t)strlen(envp[i]);
		if (env_is(envp[i], (size_t)len, SUP_PRELOAD_NAME "=") ||
		    (preload && env_is(envp[i], (size_t)len, LD_PRELOAD_EQ)))
			continue;
		v[n++] = envp[i];
	}
	v[n++] = (char *)mark;
	if (preload) {
		memcpy(saved, SUP_PRELOAD_NAME "=", sizeof(SUP_PRELOAD_NAME));
		memcpy(saved + sizeof(SUP_PRELOAD_NAME), preload, plen);
		saved[sizeof(SUP_PRELOAD_NAME) + plen] = '\0';
		v[n++] = saved;
	}
	v[n] = NULL;
	return v;
}

/* "./prog" for "prog": the supervisor must run this file, not one it
 * would find on PATH. */
static const char *sup_target(const char *path, char buf[PATH_MAX])
{
	size_t n = strlen(path);

	if (strchr(path, '/') || n + 3 > PATH_MAX)
		return path;
	memcpy(buf, "./", 2);
	memcpy(buf + 2, path, n + 1);
	return buf;
}

static void sup_refused(const char *target, const char *why, const char *interp,
			const char *sup, const char *reason)
{
	struct log_line l;

	if (!log_wanted(LOG_ERROR))
		return;
	log_begin(&l);
	log_add(&l, "exec ");
	log_add(&l, target);
	log_add(&l, ": ");
	if (interp) {
		log_add(&l, "a script whose interpreter ");
		log_add(&l, interp);
		log_add(&l, " is ");
	}
	log_add(&l, why);
	log_add(&l, ", which the preload cannot serve, and ");
	log_add(&l, sup ? sup : SUP_NAME);
	log_add(&l, reason);
	log_add(&l, ": refused (EACCES)");
	log_end(&l);
}

static void sup_note(const char *target, const char *why, const char *sup)
{
	struct log_line l;

	if (!log_wanted(LOG_INFO))
		return;
	log_begin(&l);
	log_add(&l, "exec ");
	log_add(&l, target);
	log_add(&l, ": ");
	log_add(&l, why);
	log_add(&l, ": through ");
	log_add(&l, sup);
	log_end(&l);
}

/* --- judging a target ------------------------------------------------------ */

/* What an exec should do: why != NULL means the supervisor; interp names
 * the interpreter that made it so when the target is a script. */
struct verdict {
	const char *why;
	char interp[ELFINFO_SHEBANG_MAX];
};

#define JUDGE_OPEN (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* What judge() reads: the first file by fd (>= 0) or by dirfd/path,
 * each interpreter by its path; x is the verdict on the last. */
struct judging {
	int fd, dirfd, oflags;
	struct xc x;
};

/* cmdpath_follow's probe. Only a file that cannot be opened ends the
 * walk with an error; one that cannot be read is XC_PLAIN. */
static int judge_probe(void *ctx, const char *file, int level, struct elfinfo *e)
{
	struct judging *j = ctx;
	int fd;

	if (level == 0 && j->fd >= 0) {
		/* fexecve and AT_EMPTY_PATH take O_PATH descriptors too, which
		 * cannot be read: read the file through /proc instead. */
		if (judge_fd(j->fd, e, &j->x) == -EBADF) {
			char link[PROC_FD_MAX];

			if ((fd = open(proc_fd(j->fd, link), JUDGE_OPEN)) >= 0) {
				judge_fd(fd, e, &j->x);
				close_fd(fd);
			}
		}
		return 0;
	}
	if ((fd = openat(level ? AT_FDCWD : j->dirfd, file, JUDGE_OPEN | (level ? 0 : j->oflags))) < 0)
		return -errno;
	judge_fd(fd, e, &j->x);
	close_fd(fd);
	return 0;
}

/*
 * Judges what executing fd (>= 0), or dirfd/path, would run, following
 * `#!` lines as the kernel does (core/cmdpath.c). Returns 0, or -errno
 * when the target cannot be opened: the caller then leaves it to the
 * kernel, except that ENOENT and ENOTDIR are what the exec itself would
 * say. An interpreter that cannot be opened, or a chain the kernel will
 * refuse (ELOOP), is left to the kernel too.
 */
static int judge(int fd, int dirfd, const char *path, int oflags, struct verdict *v)
{
	struct judging j = {fd, dirfd, oflags, {XC_PLAIN, ""}};
	struct cmdpath_walk w;
	int err = cmdpath_follow(&w, fd >= 0 ? "" : path, judge_probe, &j);

	v->why = NULL;
	v->interp[0] = '\0';
	if (err < 0)
		return w.scripts ? 0 : err;
	if (j.x.kind == XC_SUPERVISE) {
		v->why = j.x.why;
		if (w.scripts)
			memcpy(v->interp, w.interp, sizeof(v->interp));
	}
	return 0;
}

/* A path the supervisor can open for what fd refers to, in buf. */
static const char *fd_path(int fd, char buf[PATH_MAX])
{
	char link[PROC_FD_MAX];
	ssize_t n;

	n = readlink(proc_fd(fd, link), buf, PATH_MAX - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/*
 * The mark the supervisor's tree carries. A dynamic program in that tree
 * still has LD_PRELOAD, so our hooks run in it (and in the supervisor
 * itself, whose child executes the command); sending its static children
 * to a second supervisor would fail, as a seccomp listener cannot nest,
 * and is not needed: the supervisor's filter already covers every
 * descendant. The mark alone could be inherited by a process outside the
 * tree, so it counts only in a process under a seccomp filter.
 */
#define SUP_MARK_NAME "SOCKS4WRAP_SUPERVISED"
#define SUP_MARK SUP_MARK_NAME "=1"

static bool already_supervised(void)
{
	return getenv(SUP_MARK_NAME) && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
}

/* The supervisor's command line and environment, mmap()ed. */
struct sup_cmd {
	char path[PATH_MAX];   /* LIBDIR/socks4wrap-sup */
	char target[PATH_MAX]; /* "./prog" for "prog" */
	char **argv, **envp;   /* SUP TARGET ARGV[1]...; envp + SUP_MARK */
	size_t argv_size, envp_size;
};

static void sup_release(struct sup_cmd *c)
{
	if (c->argv)
		argv_free(c->argv, c->argv_size);
	if (c->envp)
		argv_free(c->envp, c->envp_size);
}

/*
 * Prepares the supervisor's command for target. Returns 0 or -errno. A
 * missing or unusable supervisor is EACCES (not ENOEXEC, which would make
 * execvp and every shell run the file as a shell script), with one line
 * naming the program and why; a caller's argv or envp that cannot be read
 * is EFAULT, as the kernel would say. The environment is the caller's,
 * LD_PRELOAD set aside for the command (env_build), the mark added.
 */
static int sup_prepare(const char *target, char *const argv[], char *const envp[],
		       const struct verdict *v, struct sup_cmd *c)
{
	const char *interp = v->interp[0] ? v->interp : NULL;
	char *pre[2];
	int err = 0;

	c->argv = c->envp = NULL;
	if (!target) {
		sup_refused("(a descriptor)", v->why, interp, NULL, " cannot be told its path");
		return -EACCES;
	}
	if (!sup_path(c->path)) {
		sup_refused(target, v->why, interp, NULL, " cannot be found (where is this library?)");
		return -EACCES;
	}
	if ((err = cmdpath_check(c->path, NULL)) < 0) {
		sup_refused(target, v->why, interp, c->path, err == -ENOENT ? " is missing" : " cannot be run");
		return -EACCES;
	}
	pre[0] = c->path;
	pre[1] = (char *)sup_target(target, c->target);
	if (!(c->argv = argv_build(pre, 2, argv, 1, &c->argv_size, &err)) ||
	    !(c->envp = env_build(envp, SUP_MARK, &c->envp_size, &err))) {
		sup_release(c);
		return err;
	}
	sup_note(target, interp ? "a script whose interpreter the preload cannot serve" : v->why, c->path);
	return 0;
}

/* Executes the supervisor on target; returns -errno as an exec does. */
static int supervise(const char *target, char *const argv[], char *const envp[],
		     const struct verdict *v)
{
	struct sup_cmd c;
	int err = sup_prepare(target, argv, envp, v, &c);

	if (err)
		return err;
	err = sys_execve(c.path, c.argv, c.envp);
	sup_release(&c);
	return err;
}

/* A target to run under the supervisor: its name for the supervisor,
 * then supervise(). Out of line, so that the buffers here are not on the
 * stack of every exec. */
static __attribute__((noinline)) int exec_supervised(int dirfd, const char *path, bool self,
						       char *const argv[], char *const envp[],
						       const struct verdict *v)
{
	char nbuf[PATH_MAX];
	const char *target = path;
	int fd;

	if (self) {
		target = fd_path(dirfd, nbuf);
	} else if (path[0] != '/' && dirfd != AT_FDCWD) {
		if ((fd = openat(dirfd, path, O_PATH | O_CLOEXEC)) < 0)
			return -errno;
		target = fd_path(fd, nbuf);
		close_fd(fd);
	}
	return supervise(target, argv, envp, v);
}

static int exec_at(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	bool self = (flags & AT_EMPTY_PATH) && path && !*path;
	struct verdict v;
	int err;

	if (!path)
		return -EFAULT;
	err = judge(self ? dirfd : -1, dirfd, path,
		    (flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0, &v);
	if (err == -ENOENT || err == -ENOTDIR)
		return err;
	if (!err && v.why && !already_supervised())
		return exec_supervised(dirfd, path, self, argv, envp, &v);
	if (dirfd == AT_FDCWD && !flags)
		return sys_execve(path, argv, envp);
	return sys_execveat(dirfd, path, argv, envp, flags);
}

/* glibc's fallback for a file the kernel calls ENOEXEC: /bin/sh FILE
 * ARGS... (argv[0] dropped). */
static int exec_script(const char *file, char *const argv[], char *const envp[])
{
	char *pre[2] = {(char *)CMDPATH_SHELL, (char *)file};
	size_t size;
	int err = 0;
	char **nv = argv_build(pre, 2, argv, 1, &size, &err);

	if (!nv)
		return err;
	err = exec_at(AT_FDCWD, pre[0], nv, envp, 0);
	argv_free(nv, size);
	return err;
}

struct exec_args {
	char *const *argv, *const *envp;
	bool script; /* run an ENOEXEC file with /bin/sh, as execvp does */
};

static int exec_try(void *ctx, const char *cand)
{
	const struct exec_args *a = ctx;
	int err = exec_at(AT_FDCWD, cand, a->argv, a->envp, 0);

	if (err == -ENOEXEC && a->script)
		err = exec_script(cand, a->argv, a->envp);
	return err;
}

/* execvpe(file, argv, envp) as glibc does it: the caller's PATH, not
 * envp's (core/cmdpath.c). Returns -errno. */
static int exec_search(const char *file, char *const argv[], char *const envp[])
{
	struct exec_args a = {argv, envp, true};

	if (!file)
		return -EFAULT;
	return cmdpath_search(file, getenv("PATH"), exec_try, &a);
}

/* --- the hooks ----------------------------------------------------------- */

static int exec_fail(int err)
{
	errno = -err;
	return -1;
}

HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	return exec_fail(exec_at(AT_FDCWD, path, argv, envp, 0));
}

HOOK int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	return exec_fail(exec_at(dirfd, path, argv, envp, flags));
}

HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	if (fd < 0)
		return exec_fail(-EINVAL); /* as glibc's */
	return exec_fail(exec_at(fd, "", argv, envp, AT_EMPTY_PATH));
}

HOOK int execv(const char *path, char *const argv[])
{
	return exec_fail(exec_at(AT_FDCWD, path, argv, environ, 0));
}

HOOK int execvp(const char *file, char *const argv[])
{
	return exec_fail(exec_search(file, argv, environ));
}

HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return exec_fail(exec_search(file, argv, envp));
}

/* execl, execle, execlp: the list into an array on the stack, as glibc
 * does (its argv, too, lives on the stack). n counts arg and what follows
 * up to the NULL; fill copies them and leaves ap after the NULL. */
static size_t list_count(const char *arg, va_list *ap)
{
	size_t n = 0;

	if (arg)
		for (n = 1; va_arg(*ap, char *); n++)
			;
	return n;
}

static void list_fill(char **argv, const char *arg, size_t n, va_list *ap)
{
	argv[0] = (char *)arg;
	for (size_t i = 1; i < n; i++)
		argv[i] = va_arg(*ap, char *);
	if (n)
		(void)va_arg(*ap, char *); /* the NULL */
	argv[n] = NULL;
}

HOOK int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = list_count(arg, &ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg);
	list_fill(argv, arg, n, &ap);
	va_end(ap);
	return exec_fail(exec_at(AT_FDCWD, path, argv, environ, 0));
}

HOOK int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = list_count(arg, &ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg);
	list_fill(argv, arg, n, &ap);
	va_end(ap);
	return exec_fail(exec_search(file, argv, environ));
}

HOOK int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = list_count(arg, &ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg);
	list_fill(argv, arg, n, &ap);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return exec_fail(exec_at(AT_FDCWD, path, argv, envp, 0));
}

/* --- posix_spawn ------------------------------------------------------------ */

/*
 * glibc's posix_spawn executes in a clone()d child with its own internal
 * execve, out of our reach: the target is judged here, in the parent, and
 * a target that needs the supervisor is spawned as the supervisor. (A
 * relative path is judged from the parent's directory, before the file
 * actions run.) Errors come back as the return value, as posix_spawn's do.
 */
struct spawn_args {
	pid_t *pid;
	const posix_spawn_file_actions_t *fa;
	const posix_spawnattr_t *attr;
	char *const *argv, *const *envp;
};

/* Spawns path, judged first. Returns 0 or -errno. */
static int spawn_one(void *ctx, const char *path)
{
	const struct spawn_args *a = ctx;
	struct verdict v;
	struct sup_cmd c;
	int err;

	err = judge(-1, AT_FDCWD, path, 0, &v);
	if (err == -ENOENT || err == -ENOTDIR)
		return err;
	if (err || !v.why || already_supervised())
		return -real.posix_spawn(a->pid, path, a->fa, a->attr, a->argv, a->envp);
	if ((err = sup_prepare(path, a->argv, a->envp, &v, &c)))
		return err;
	err = -real.posix_spawn(a->pid, c.path, a->fa, a->attr, c.argv, c.envp);
	sup_release(&c);
	return err;
}

HOOK int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct spawn_args a = {pid, fa, attr, argv, envp};
	int saved = errno, r;

	shim_real();
	if (!real.posix_spawn)
		return ENOSYS;
	r = -spawn_one(&a, path);
	errno = saved; /* the answer is the return value; errno is not ours to move */
	return r;
}

/* posix_spawnp: glibc's search (execvpe's, without the /bin/sh fallback)
 * done here, each candidate spawned in turn, so that each is judged
 * before it runs. */
HOOK int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct spawn_args a = {pid, fa, attr, argv, envp};
	int saved = errno, r;

	shim_real();
	if (!real.posix_spawn)
		return ENOSYS;
	r = -cmdpath_search(file, getenv("PATH"), spawn_one, &a);
	errno = saved;
	return r;
}
