/*
 * cmdpath.h - which program a command runs, found as the C library and
 * the kernel find it: a name without '/' along PATH as execvp(3)
 * searches it (glibc's rules), then `#!` lines followed as execve(2)
 * follows them (fs/binfmt_script.c, fs/exec.c).
 *
 * Shared by the launcher, which must know the program before it chooses
 * a front end, and the library's exec hooks, which judge every program a
 * preloaded process starts. Plain code: every file is tried or read
 * through a function the caller supplies, so the unit tests drive it on
 * a temporary directory. Nothing here allocates, locks or exits, and
 * errno is left as it was: the exec hooks run it inside someone else's
 * process, possibly in a vfork() child.
 */
#ifndef CMDPATH_H
#define CMDPATH_H

#include "elfinfo.h"

#include <limits.h>
#include <sys/stat.h>

/* glibc's search path when PATH is unset: confstr(_CS_PATH). */
#define CMDPATH_DEFAULT_PATH "/bin:/usr/bin"

/* What execvp(3) runs a file with when the kernel says ENOEXEC (neither
 * ELF nor `#!`): CMDPATH_SHELL FILE ARGS... */
#define CMDPATH_SHELL "/bin/sh"

/*
 * `#!` lines execve(2) follows: the command and four interpreters may be
 * scripts, the fifth interpreter must be a program; one script more is
 * ELOOP (exec_binprm's depth > 5 in fs/exec.c).
 */
#define CMDPATH_SCRIPTS_MAX 5

/* The longest candidate the search builds, NUL included. */
#define CMDPATH_MAX (PATH_MAX + NAME_MAX + 2)

/*
 * Tries one candidate: 0 when it is the one (the search stops), else
 * -errno, which decides as execve's errno decides for execvp.
 */
typedef int (*cmdpath_try_fn)(void *ctx, const char *cand);

/*
 * execvp's lookup of file, try() standing for execve(): a name with a
 * '/' is tried as it is; otherwise each element of path (the caller's
 * PATH; CMDPATH_DEFAULT_PATH when NULL; an empty element is the current
 * directory, tried as "./file") in turn. The search goes on after the
 * errors that mean "not here" (ENOENT, ENOTDIR, EACCES, ESTALE, ENODEV,
 * ETIMEDOUT) and stops at any other. Returns 0, or -errno: that other
 * error; else -EACCES when a candidate gave it; else the last error.
 * -ENOENT for "", -ENAMETOOLONG for a name longer than NAME_MAX.
 */
int cmdpath_search(const char *file, const char *path, cmdpath_try_fn try, void *ctx);

/*
 * The kernel's first question about a file it is asked to execute,
 * answered by stat(2) and access(2): 0 for a regular file we may
 * execute, -EACCES for a directory, a device, a FIFO or a file we may not
 * execute, stat's -errno for a file that is not there. *st, when st is
 * not NULL, gets the stat().
 */
int cmdpath_check(const char *file, struct stat *st);

/*
 * Reads one file of a chain into *info (elfinfo_probe_fd() on whatever
 * the caller opens): level 0 is the command, level n its n-th
 * interpreter. Returns 0 or -errno, which ends the walk.
 */
typedef int (*cmdpath_probe_fn)(void *ctx, const char *file, int level, struct elfinfo *info);

/* The walk's state and, when it ends, its result. */
struct cmdpath_walk {
	int scripts;                      /* `#!` lines followed */
	char interp[ELFINFO_SHEBANG_MAX]; /* the last script's interpreter */
	char arg[ELFINFO_SHEBANG_MAX];    /* ... and its argument, "" without */
	struct elfinfo info;              /* what the file reached is */
};

/*
 * What execve(path) ends up running: probe() reads path, then each `#!`
 * interpreter in turn, until a file that is not a script. Returns 0 with
 * w->info describing that file (cmdpath_final() names it); -ELOOP when
 * the chain is longer than the kernel follows; or probe's -errno, the
 * file that failed being cmdpath_final()'s.
 */
int cmdpath_follow(struct cmdpath_walk *w, const char *path, cmdpath_probe_fn probe, void *ctx);

/* The file the walk reached: path itself, or the last interpreter. */
static inline const char *cmdpath_final(const struct cmdpath_walk *w, const char *path)
{
	return w->scripts ? w->interp : path;
}

#endif
