/*
 * cmdpath.c - the command's program, found as execvp(3) and execve(2)
 * find it (see cmdpath.h).
 */
#include "cmdpath.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int cmdpath_search(const char *file, const char *path, cmdpath_try_fn try, void *ctx)
{
	char buf[CMDPATH_MAX];
	const char *p, *end;
	size_t flen;
	bool eacces = false;
	int err = -ENOENT;

	if (!*file)
		return -ENOENT;
	if (strchr(file, '/'))
		return try(ctx, file);
	if ((flen = strlen(file)) > NAME_MAX)
		return -ENAMETOOLONG;
	if (!path)
		path = CMDPATH_DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		size_t dlen;

		end = strchrnul(p, ':');
		dlen = (size_t)(end - p);
		if (dlen < PATH_MAX) { /* glibc skips longer elements */
			if (dlen)
				memcpy(buf, p, dlen);
			else
				buf[dlen++] = '.';
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			switch ((err = try(ctx, buf))) {
			case 0:
				return 0;
			case -EACCES:
				eacces = true;
				/* fall through */
			case -ENOENT:
			case -ENOTDIR:
			case -ESTALE:
			case -ENODEV:
			case -ETIMEDOUT:
				break; /* not here: the next element */
			default:
				return err; /* found, but it cannot run */
			}
		}
		if (!*end)
			break;
	}
	return eacces ? -EACCES : err;
}

int cmdpath_check(const char *file, struct stat *st)
{
	struct stat own;
	int saved = errno, err = 0;

	if (!st)
		st = &own;
	if (stat(file, st) < 0)
		err = -errno;
	else if (!S_ISREG(st->st_mode) || access(file, X_OK) < 0)
		err = -EACCES; /* what execve says of both */
	errno = saved;
	return err;
}

/* s into a buffer of ELFINFO_SHEBANG_MAX, which holds any part of a
 * `#!` line. */
static void copy_field(char *dst, const char *s)
{
	size_t n = s ? strnlen(s, ELFINFO_SHEBANG_MAX - 1) : 0;

	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
}

int cmdpath_follow(struct cmdpath_walk *w, const char *path, cmdpath_probe_fn probe, void *ctx)
{
	int err;

	w->scripts = 0;
	w->interp[0] = w->arg[0] = '\0';
	if ((err = probe(ctx, path, 0, &w->info)) < 0)
		return err;
	while (w->info.kind == ELFINFO_SCRIPT) {
		if (w->scripts == CMDPATH_SCRIPTS_MAX)
			return -ELOOP;
		/* info.interp lives in info, which the next probe refills */
		copy_field(w->interp, w->info.interp);
		copy_field(w->arg, w->info.arg);
		w->scripts++;
		if ((err = probe(ctx, w->interp, w->scripts, &w->info)) < 0)
			return err;
	}
	return 0;
}
