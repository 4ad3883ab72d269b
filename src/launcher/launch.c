/*
 * launch.c - socks4wrap, the command: options into the SOCKS4_*
 * environment the shim reads, the settings checked by the shim's own code
 * (config.c, linked in), the command found as execvp(3) and the kernel
 * find it (cmdpath.c) and read (elfinfo.c) to choose how it is served,
 * then one execve():
 *
 *	preload mode	the command itself, libsocks4wrap.so prepended to
 *			LD_PRELOAD once;
 *	syscall mode	socks4wrap-sup COMMAND ARGS..., the supervisor beside
 *			the library, for programs the preload cannot reach
 *			(static, Go, another ELF class or machine).
 *
 * The mistakes the shim could only report later, or never (a setuid
 * program silently goes direct), are caught here with one line and the
 * usual exit status: 2 usage, 1 setup, 126/127 the command, as in sh.
 * Usage errors come first, then the setup, then the command.
 *
 * It runs before every wrapped program, so it is built static (against
 * musl where there is one: glibc's static start-up alone costs half of
 * /bin/true) and does little: no stdio, no allocation while the command
 * line and environment fit the static buffers below, and on the common
 * path about fifteen system calls (readlink, two settings-file opens that
 * find nothing, a stat per PATH entry, open and pread of the command).
 *
 * The library, socks4wrap-query (the dry run's printer) and socks4wrap-sup
 * are found beside this executable in the build tree, or in LIBDIR when
 * it was built for installation (-DSOCKS4WRAP_LIBDIR).
 */
#include "cmdpath.h"
#include "config.h"
#include "elfinfo.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SOCKS4WRAP_VERSION
#define SOCKS4WRAP_VERSION "?"
#endif

#define EXIT_SETUP 1
#define EXIT_USAGE 2
#define EXIT_CANNOT_RUN 126
#define EXIT_NOT_FOUND 127

#define SERVER_HOST_MAX 255 /* as config.c takes it */
#define STATIC_ENV 512      /* environment entries before malloc */
#define EDITS_MAX 8

extern char **environ;

/* Says "socks4wrap" to another socks4wrap reading this file (elfinfo.h). */
__attribute__((used, section(".note.socks4wrap"), aligned(4))) static const struct {
	uint32_t namesz, descsz, type;
	char name[12];
} socks4wrap_note = {sizeof(ELFINFO_NOTE_NAME), 0, ELFINFO_NOTE_TYPE, ELFINFO_NOTE_NAME};

/* --- messages ------------------------------------------------------------- */

/* Messages are the core's log lines (log_as_program: "socks4wrap: ...",
 * always to standard error); a refusal ends with its exit status. */
static void die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	_exit(status);
}

static void put(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(EXIT_SETUP);
		s += w;
		n -= (size_t)w;
	}
}

static const char usage[] =
	"Usage: socks4wrap [OPTION]... [--] COMMAND [ARG]...\n"
	"       socks4wrap [OPTION]...              (an interactive shell)\n"
	"       socks4wrap [OPTION]... -n HOST:PORT [[--] COMMAND [ARG]...]\n"
	"Run COMMAND with its IPv4 TCP connections made through a SOCKS4 server.\n"
	"\n"
	"  -s, --server=HOST:PORT  the SOCKS4 server (SOCKS4_SERVER)\n"
	"  -u, --user=USER         user id sent to the server (SOCKS4_USER)\n"
	"  -f, --config=FILE       read settings from FILE (SOCKS4_CONF), not\n"
	"                          ~/.socks4rc or the system socks4rc\n"
	"  -n, --dry-run=HOST:PORT print the settings and where a connection to\n"
	"                          HOST:PORT would go, and with COMMAND the mode\n"
	"                          it would run in; run nothing\n"
	"  -R, --remote-dns=MODE   off, on or local-first: names resolved by the\n"
	"                          SOCKS server (SOCKS 4A) (SOCKS4_REMOTE_DNS)\n"
	"  -m, --mode=MODE         auto (the default), preload or syscall: how\n"
	"                          COMMAND is reached (SOCKS4WRAP_MODE)\n"
	"  -v, --verbose           debug messages; -vv for more (SOCKS4_DEBUG)\n"
	"  -q, --quiet             print nothing, not even errors (SOCKS4_QUIET)\n"
	"      --log=FILE          append messages to FILE, not stderr (SOCKS4_LOG)\n"
	"  -h, --help              print this help and exit\n"
	"      --version           print the version and exit\n"
	"\n"
	"Options override the environment, which overrides the settings file.\n"
	"Options end at COMMAND: later arguments belong to it. Without COMMAND,\n"
	"on a terminal, socks4wrap starts $SHELL. See socks4wrap(1), socks4rc(5).\n";

/* --- memory: static first ------------------------------------------------- */

static char arena[16384];
static size_t arena_used;

static void *take(size_t n)
{
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (n <= sizeof(arena) - arena_used) {
		p = arena + arena_used;
		arena_used += n;
		return p;
	}
	if (!(p = malloc(n)))
		die(EXIT_SETUP, "out of memory");
	return p;
}

/* a, b and c joined, in memory of their own. */
static char *join(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *p = take(la + lb + lc + 1);

	memcpy(p, a, la);
	memcpy(p + la, b, lb);
	memcpy(p + la + lb, c, lc + 1);
	return p;
}

/* --- the environment the command gets ------------------------------------- */

/*
 * Variables set or removed, applied when the command's environment is
 * built, and seen by env() before that, so the settings check reads what
 * the command will.
 */
static struct edit {
	const char *name;
	size_t len;
	char *entry; /* "NAME=value", or NULL to remove NAME */
	bool placed;
} edits[EDITS_MAX];
static size_t nedits;

static struct edit *find_edit(const char *name, size_t len)
{
	for (size_t i = 0; i < nedits; i++)
		if (edits[i].len == len && !memcmp(edits[i].name, name, len))
			return &edits[i];
	return NULL;
}

static void env_edit(const char *name, const char *value)
{
	size_t len = strlen(name);
	struct edit *e = find_edit(name, len);

	if (!e) {
		e = &edits[nedits++]; /* callers stay within EDITS_MAX */
		e->name = name;
		e->len = len;
	}
	e->entry = value ? join(name, "=", value) : NULL;
}

static const char *env(const char *name)
{
	const struct edit *e = find_edit(name, strlen(name));

	if (e)
		return e->entry ? e->entry + e->len + 1 : NULL;
	return getenv(name);
}

/* A variable that is set and not empty, or NULL. */
static const char *env_nonempty(const char *name)
{
	const char *v = env(name);

	return v && *v ? v : NULL;
}

static char **build_env(void)
{
	static char *fixed[STATIC_ENV];
	size_t n = 0, k = 0;
	char **out;

	for (char **e = environ; *e; e++)
		n++;
	out = n + EDITS_MAX + 1 <= STATIC_ENV ? fixed : take((n + EDITS_MAX + 1) * sizeof(*out));
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		struct edit *ed = eq ? find_edit(*e, (size_t)(eq - *e)) : NULL;

		if (!ed)
			out[k++] = *e;
		else if (ed->entry && !ed->placed) {
			out[k++] = ed->entry; /* where it was */
			ed->placed = true;
		}
	}
	for (size_t i = 0; i < nedits; i++)
		if (edits[i].entry && !edits[i].placed)
			out[k++] = edits[i].entry;
	out[k] = NULL;
	return out;
}

/* --- the command line ----------------------------------------------------- */

enum talk { TALK_DEFAULT, TALK_VERBOSE, TALK_QUIET };
enum mode { MODE_AUTO, MODE_PRELOAD, MODE_SYSCALL };

struct opts {
	const char *server, *user, *conf, *log, *dry, *mode, *rdns;
	enum talk talk;
	int debug;
};

/* The options that take a value; the letter is 0 for long-only ones. */
static const struct valued {
	char letter;
	const char *name;
	bool file; /* the value is a file name: it must not be empty */
} valued[] = {
	{'s', "--server", false}, {'u', "--user", false}, {'f', "--config", true},
	{'n', "--dry-run", false}, {'m', "--mode", false}, {0, "--log", true},
	{'R', "--remote-dns", false},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void set_valued(struct opts *o, const struct valued *v, const char *shown,
		       const char *value)
{
	if (v->file && !*value)
		die(EXIT_USAGE, "option %s needs a file name (see socks4wrap --help)", shown);
	switch (v->name[2]) {
	case 's':
		o->server = value;
		break;
	case 'u':
		o->user = value;
		break;
	case 'c':
		o->conf = value;
		break;
	case 'd':
		o->dry = value;
		break;
	case 'm':
		o->mode = value;
		break;
	case 'l':
		o->log = value;
		break;
	case 'r':
		o->rdns = value;
		break;
	}
}

/* -v, -q, -h and --version; false for anything else. */
static bool flag(struct opts *o, const char *a)
{
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		o->talk = TALK_VERBOSE;
		o->debug++;
	} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		o->talk = TALK_QUIET;
		o->debug = 0;
	} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		put(STDOUT_FILENO, usage);
		_exit(0);
	} else if (!strcmp(a, "--version")) {
		put(STDOUT_FILENO, "socks4wrap " SOCKS4WRAP_VERSION "\n");
		_exit(0);
	} else {
		return false;
	}
	return true;
}

/*
 * The options, left to right, up to the command: returns the index of the
 * command in argv (argc when there is none). Later -v and -q override
 * earlier ones, so an alias 'socks4wrap -q' can still be run with -v.
 */
static int parse_options(struct opts *o, int argc, char **argv)
{
	int i = 1;

	while (i < argc) {
		char *a = argv[i];

		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "--"))
			return i + 1;
	again:
		if (flag(o, a)) {
			i++;
			continue;
		}
		for (size_t k = 0; k < COUNT(valued); k++) {
			const struct valued *v = &valued[k];
			size_t nl = strlen(v->name);
			bool exact = (v->letter && a[1] == v->letter && !a[2]) || !strcmp(a, v->name);

			if (exact) {
				if (i + 1 >= argc)
					die(EXIT_USAGE, "option %s needs an argument (see socks4wrap --help)", a);
				set_valued(o, v, a, argv[i + 1]);
				i += 2;
				goto next;
			}
			if (!strncmp(a, v->name, nl) && a[nl] == '=') {
				set_valued(o, v, v->name, a + nl + 1);
				i++;
				goto next;
			}
		}
		/* A cluster: -vv, -vq, -s127.0.0.1:1080. */
		if (a[1] != '-' && a[2] && strchr("sufnmvqh", a[1])) {
			for (size_t k = 0; k < COUNT(valued); k++) {
				if (valued[k].letter == a[1]) {
					char shown[3] = {'-', a[1], '\0'};
					set_valued(o, &valued[k], shown, a + 2);
					i++;
					goto next;
				}
			}
			/* A flag: take it, and read what follows it as an option
			 * of its own ("-vq" is -v, then "-q"). */
			char one[3] = {'-', a[1], '\0'};
			flag(o, one);
			a++;
			a[0] = '-';
			if (!strcmp(a, "--"))
				return i + 1;
			goto again;
		}
		die(EXIT_USAGE, "unknown option '%s' (see socks4wrap --help)", a);
	next:;
	}
	return i;
}

/* --- values checked before anything runs ---------------------------------- */

/* HOST:PORT by the shim's own rules (config.c): HOST has no ':' and fits
 * 255 bytes; PORT is 1-5 decimal digits, 1-65535. */
static void check_server(const char *v, const char *source)
{
	const char *colon = strrchr(v, ':'), *why = NULL;

	if (strpbrk(v, " \t\n\v\f\r"))
		why = "contains whitespace";
	else if (!colon)
		why = "no :PORT";
	else if (colon == v)
		why = "empty host";
	else if (memchr(v, ':', (size_t)(colon - v)))
		why = "host contains ':'";
	else if (colon - v > SERVER_HOST_MAX)
		why = "host longer than 255 bytes";
	else if (!colon[1])
		why = "no port after the colon";
	else {
		size_t n = strlen(colon + 1);
		long port = n <= 5 && strspn(colon + 1, "0123456789") == n ? atol(colon + 1) : 0;
		if (port < 1 || port > 65535)
			why = "port is not a decimal number 1-65535";
	}
	if (why)
		die(EXIT_USAGE, "%s '%s' is not HOST:PORT: %s", source, v, why);
}

static void check_user(const char *v, const char *source)
{
	if (strlen(v) > SOCKS4_USERID_MAX)
		die(EXIT_USAGE, "%s: user id is longer than %d bytes", source, SOCKS4_USERID_MAX);
}

static enum mode check_mode(const char *v, const char *source)
{
	if (!strcmp(v, "auto"))
		return MODE_AUTO;
	if (!strcmp(v, "preload"))
		return MODE_PRELOAD;
	if (!strcmp(v, "syscall"))
		return MODE_SYSCALL;
	die(EXIT_USAGE, "%s '%s' is not auto, preload or syscall", source, v);
}

static void check_rdns(const char *v, const char *source)
{
	if (strcmp(v, "off") && strcmp(v, "on") && strcmp(v, "local-first"))
		die(EXIT_USAGE, "%s '%s' is not off, on or local-first", source, v);
}

/* What the shim would report later about a settings file, said now, by
 * stat() alone: a FIFO named here must not block us either. */
static void check_conf(const char *path, const char *source)
{
	struct stat st;

	if (stat(path, &st) < 0)
		die(EXIT_SETUP, "%s '%s': no such file", source, path);
	if (S_ISDIR(st.st_mode))
		die(EXIT_SETUP, "%s '%s': is a directory", source, path);
	if (!config_file_usable(&st))
		die(EXIT_SETUP, "%s '%s': not a regular file (%s)", source, path,
		    config_file_type(st.st_mode));
	if (access(path, R_OK) < 0)
		die(EXIT_SETUP, "%s '%s': not readable", source, path);
}

/* The working directory as the shell knows it: $PWD when it is this
 * directory (it keeps the symbolic links the user went through). */
static const char *cwd(void)
{
	static char buf[PATH_MAX];
	const char *pwd = getenv("PWD");
	struct stat a, b;

	if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return pwd;
	if (!getcwd(buf, sizeof(buf)))
		die(EXIT_SETUP, "cannot tell the current directory: %s", strerror(errno));
	return buf;
}

/* Paths go into the environment absolute: the command, and anything it
 * starts, may run in another directory. */
static const char *absolute(const char *path)
{
	return path[0] == '/' ? path : join(cwd(), "/", path);
}

/* --- where our files are -------------------------------------------------- */

#ifdef SOCKS4WRAP_LIBDIR
#define FIX "reinstall socks4wrap"
static const char *helper_dir(void)
{
	return SOCKS4WRAP_LIBDIR;
}
#else
#define FIX "run make"
/* The build tree: the directory this executable is in. */
static const char *helper_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(dir) - 1)
		die(EXIT_SETUP, "cannot find the directory socks4wrap is in: readlink /proc/self/exe: %s",
		    n < 0 ? strerror(errno) : "too long");
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	slash[slash == dir ? 1 : 0] = '\0';
	return dir;
}
#endif

static const char *helper(const char *name)
{
	return join(helper_dir(), "/", name);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* As execve would take it (core/cmdpath.c), as the exec hooks check the
 * supervisor too. */
static bool is_program(const char *path)
{
	return cmdpath_check(path, NULL) == 0;
}

static const char *find_library(void)
{
	const char *lib = env_nonempty("SOCKS4WRAP_LIB");

	if (lib) {
		if (!is_file(lib) || access(lib, R_OK) < 0)
			die(EXIT_SETUP, "SOCKS4WRAP_LIB '%s': no such readable file", lib);
	} else {
		lib = helper("libsocks4wrap.so");
		if (!is_file(lib))
			die(EXIT_SETUP, "library not found: no %s (" FIX ", or set SOCKS4WRAP_LIB)", lib);
	}
	lib = absolute(lib);
	if (strpbrk(lib, ": "))
		die(EXIT_SETUP, "library path '%s' contains ':' or a space, which LD_PRELOAD cannot carry",
		    lib);
	return lib;
}

static const char *find_query(void)
{
	const char *q = helper("socks4wrap-query");

	if (!is_program(q))
		die(EXIT_SETUP, "socks4wrap-query not found: no %s (" FIX ")", q);
	return q;
}

/* --- the command ---------------------------------------------------------- */

/*
 * A candidate as execve would take it (core/cmdpath.c): the one found,
 * with its stat(), and the first that is there but cannot be executed,
 * for the message.
 */
struct search {
	struct stat st;
	const char *found, *seen;
};

static int search_try(void *ctx, const char *cand)
{
	struct search *s = ctx;
	int err = cmdpath_check(cand, &s->st);

	if (!err)
		s->found = join(cand, "", "");
	else if (err == -EACCES && !s->seen)
		s->seen = join(cand, "", "");
	return err;
}

/* The command's path, with its stat() in *st: as execvp(3) finds it. */
static const char *find_command(const char *name, struct stat *st)
{
	struct search s = {.found = NULL, .seen = NULL};
	int err;

	if (!*name)
		die(EXIT_NOT_FOUND, "'': command not found");
	if (strchr(name, '/')) {
		if (stat(name, st) < 0)
			die(EXIT_NOT_FOUND, "%s: no such file", name);
		if (S_ISDIR(st->st_mode))
			die(EXIT_CANNOT_RUN, "%s: is a directory", name);
		if (access(name, X_OK) < 0)
			die(EXIT_CANNOT_RUN, "%s: permission denied (not executable)", name);
		return name;
	}
	if (!(err = cmdpath_search(name, getenv("PATH"), search_try, &s))) {
		*st = s.st;
		return s.found;
	}
	if (s.seen)
		die(EXIT_CANNOT_RUN, "%s: found %s but it is not an executable file", name, s.seen);
	if (err == -ENOENT || err == -ENOTDIR)
		die(EXIT_NOT_FOUND, "%s: command not found", name);
	die(EXIT_CANNOT_RUN, "%s: %s", name, strerror(-err));
}

/*
 * What the kernel ends up running for the command: its #! interpreters
 * followed as the kernel follows them (core/cmdpath.c), /usr/bin/env
 * NAME taken as NAME on PATH, and /bin/sh for a file that is neither ELF
 * nor script, as execvp() and sh do. The first file on the way that drops
 * LD_PRELOAD (set-user-ID, set-group-ID, file capabilities) is
 * remembered for the refusal.
 */
struct target {
	const char *path;  /* the command found */
	const char *final; /* the program the kernel runs in the end */
	struct elfinfo info;
	int open_err;      /* final could not be read: its errno */
	const char *priv;  /* what drops the preload, or NULL */
	const char *priv_file;
};

/* env's argument as a program name: "NAME" or "-S NAME ...". */
static const char *env_program(const char *arg, char *buf, size_t len)
{
	size_t n;

	if (!arg)
		return NULL;
	if (!strncmp(arg, "-S", 2)) {
		arg += 2;
		arg += strspn(arg, " \t");
	}
	n = strcspn(arg, " \t");
	if (n == 0 || n >= len || arg[0] == '-' || memchr(arg, '=', n))
		return NULL;
	memcpy(buf, arg, n);
	buf[n] = '\0';
	return buf;
}

static void note_privilege(struct target *t, const char *file, const struct stat *st)
{
	if (t->priv)
		return;
	if (st->st_mode & S_ISUID)
		t->priv = "is set-user-ID";
	else if (st->st_mode & S_ISGID)
		t->priv = "is set-group-ID";
	else if (getxattr(file, "security.capability", NULL, 0) >= 0)
		t->priv = "has file capabilities (security.capability)";
	if (t->priv)
		t->priv_file = file;
}

struct walk {
	struct target *t;
	const struct stat *st; /* the first file's stat(), known already */
};

/* One file of a #! chain (cmdpath_follow's probe): an interpreter the
 * kernel would not run is refused here, as the shell would report it. */
static int walk_probe(void *ctx, const char *file, int level, struct elfinfo *info)
{
	struct walk *w = ctx;
	struct target *t = w->t;
	struct stat st;
	int fd, err;

	if (level == 0) {
		st = *w->st;
	} else {
		if ((err = cmdpath_check(file, &st)) == -EACCES)
			die(EXIT_CANNOT_RUN, "%s: its interpreter %s: permission denied (not executable)",
			    t->path, file);
		if (err < 0)
			die(EXIT_NOT_FOUND, "%s: its interpreter %s: no such file", t->path, file);
		file = join(file, "", ""); /* it lives in the walk's buffer */
	}
	note_privilege(t, file, &st);
	t->final = file;
	/* Closed below, before any exec: no O_CLOEXEC, which musl's open()
	 * would follow with an fcntl(). */
	if ((fd = open(file, O_RDONLY | O_NOCTTY)) < 0)
		return -(t->open_err = errno);
	err = elfinfo_probe_fd(info, fd);
	close(fd);
	if (err < 0)
		t->open_err = -err;
	return err;
}

static void follow(struct target *t, const char *path, const struct stat *path_st)
{
	struct cmdpath_walk cw;
	struct walk w = {t, path_st};
	struct search s;
	struct stat sh_st;
	const char *file = path, *base, *prog;
	char name[256];

	t->path = path;
	for (int hops = 0; hops <= CMDPATH_SCRIPTS_MAX; hops++) {
		int err = cmdpath_follow(&cw, file, walk_probe, &w);

		if (err == -ELOOP)
			die(EXIT_CANNOT_RUN, "%s: more than %d levels of #! interpreters", path,
			    CMDPATH_SCRIPTS_MAX);
		t->info = cw.info;
		t->info.interp = t->info.arg = NULL; /* they point into cw */
		if (err < 0)
			return; /* t->open_err says why */
		base = strrchr(cw.interp, '/');
		if (cw.info.kind == ELFINFO_DYNAMIC && cw.scripts &&
		    !strcmp(base ? base + 1 : cw.interp, "env") &&
		    (prog = env_program(cw.arg[0] ? cw.arg : NULL, name, sizeof(name)))) {
			/* /usr/bin/env itself: what it runs (execvp) is what counts. */
			s.found = s.seen = NULL;
			if (cmdpath_search(prog, getenv("PATH"), search_try, &s) < 0)
				die(EXIT_NOT_FOUND, "%s: its interpreter %s runs %s: command not found",
				    path, t->final, prog);
			file = s.found;
			w.st = &s.st;
			continue;
		}
		if (cw.info.kind == ELFINFO_NOT_ELF) {
			/* ENOEXEC: execvp runs it with the shell */
			if (stat(CMDPATH_SHELL, &sh_st) < 0)
				return;
			file = CMDPATH_SHELL;
			w.st = &sh_st;
			continue;
		}
		return;
	}
}

/* --- the mode ------------------------------------------------------------- */

static bool preload_reaches(const struct target *t)
{
	return !t->open_err && (t->info.kind == ELFINFO_DYNAMIC || t->info.kind == ELFINFO_BAD ||
				t->info.kind == ELFINFO_SOCKS4WRAP);
}

/* What the final program is, after "is" or "which is". */
static const char *describe(const struct target *t, char *buf, size_t len)
{
	const char *own = elfinfo_machine_name(elfinfo_own_machine());
	const char *m = elfinfo_machine_name(t->info.machine);
	char mbuf[32];
	int bits = t->info.elf_class == 1 ? 32 : 64;
	int own_bits = elfinfo_own_class() == 1 ? 32 : 64;

	if (!m) {
		snprintf(mbuf, sizeof(mbuf), "machine %u", t->info.machine);
		m = mbuf;
	}
	if (t->open_err) {
		snprintf(buf, len, "not readable (%s), so how it is linked is not known",
			 strerror(t->open_err));
		return buf;
	}
	switch (t->info.kind) {
	case ELFINFO_DYNAMIC:
		snprintf(buf, len, "dynamically linked (%s)", m);
		break;
	case ELFINFO_STATIC:
		snprintf(buf, len, "statically linked (%s)", m);
		break;
	case ELFINFO_GO:
		snprintf(buf, len, "a Go program, whose runtime makes its own system calls");
		break;
	case ELFINFO_FOREIGN:
		snprintf(buf, len, "a %d-bit %s program, which the %d-bit %s library cannot be loaded into",
			 bits, m, own_bits, own);
		break;
	case ELFINFO_SOCKS4WRAP:
		snprintf(buf, len, "socks4wrap, which chooses the mode for its own command");
		break;
	case ELFINFO_BAD:
		snprintf(buf, len, "not a valid ELF program");
		break;
	default:
		snprintf(buf, len, "neither an ELF program nor a script");
		break;
	}
	return buf;
}

/* "preload mode: /usr/bin/env is dynamically linked (x86-64)" */
static const char *mode_line(const struct target *t, enum mode m, const char *forced_by)
{
	char what[256], forced[64] = "";
	char *line = take(PATH_MAX * 2 + 512);

	describe(t, what, sizeof(what));
	if (forced_by)
		snprintf(forced, sizeof(forced), " (%s)", forced_by);
	if (t->final == t->path)
		snprintf(line, PATH_MAX * 2 + 512, "%s mode%s: %s is %s",
			 m == MODE_PRELOAD ? "preload" : "syscall", forced, t->path, what);
	else
		snprintf(line, PATH_MAX * 2 + 512, "%s mode%s: %s is a script for %s, which is %s",
			 m == MODE_PRELOAD ? "preload" : "syscall", forced, t->path, t->final, what);
	return line;
}

/* ld.so runs set-user-ID, set-group-ID and capability-raising programs in
 * secure mode and drops LD_PRELOAD; no_new_privs, which the syscall mode
 * needs, keeps them from gaining the privilege. Either way: refuse. */
static void refuse_privileged(const struct target *t, enum mode m)
{
	const char *how = m == MODE_PRELOAD
				  ? "so the loader would ignore LD_PRELOAD and it would connect directly"
				  : "which the syscall mode cannot honour: under no_new_privs it would run "
				    "without that privilege";

	if (!t->priv)
		return;
	if (t->priv_file == t->path)
		die(EXIT_SETUP, "refusing %s: it %s, %s", t->path, t->priv, how);
	die(EXIT_SETUP, "refusing %s: its interpreter %s %s, %s", t->path, t->priv_file, t->priv,
	    how);
}

/* --- LD_PRELOAD ----------------------------------------------------------- */

/* " a.so  b.so::" -> "a.so:b.so": ld.so splits at ':' and ' ' and skips
 * empty entries. */
static char *preload_list(const char *v)
{
	char *out = take(strlen(v) + 1), *o = out;

	while (*v) {
		size_t n = strcspn(v, ": ");
		if (n) {
			if (o != out)
				*o++ = ':';
			memcpy(o, v, n);
			o += n;
		}
		v += n;
		v += strspn(v, ": ");
	}
	*o = '\0';
	return out;
}

/* NAME is one of the ':'-separated entries of list. */
static bool listed(const char *list, const char *name, size_t n)
{
	while (*list) {
		size_t k = strcspn(list, ":");
		if (k == n && !memcmp(list, name, n))
			return true;
		list += k;
		list += strspn(list, ":");
	}
	return false;
}

/*
 * The library first, once. What is already listed keeps its place (a
 * nested socks4wrap changes nothing). S4_SAN_PRELOAD, set by
 * tests/run-tests for sanitizer builds, names runtimes that must come
 * before the shim.
 */
static const char *preload_value(const char *lib)
{
	const char *old = getenv("LD_PRELOAD"), *san = getenv("S4_SAN_PRELOAD");
	char *list, *pre, *p;

	if (!(old && *old) && !(san && *san))
		return lib;
	list = preload_list(old ? old : "");
	pre = take(strlen(san ? san : "") + strlen(lib) + strlen(list) + 3);
	p = pre;
	*p = '\0';
	for (const char *s = san ? san : "";; s += strspn(s, ":")) {
		const char *entry = s;
		size_t n = strcspn(s, ":");

		if (!*s) {
			entry = lib;
			n = strlen(lib);
		}
		if (n && !listed(list, entry, n) && !listed(pre, entry, n)) {
			if (p != pre)
				*p++ = ':';
			memcpy(p, entry, n);
			p += n;
			*p = '\0';
		}
		if (entry == lib)
			break;
		s += n;
	}
	if (p != pre && *list)
		*p++ = ':';
	strcpy(p, list);
	return pre;
}

/* The syscall mode serves the whole process tree: the library inherited
 * from an outer socks4wrap would serve dynamic children a second time. */
static void preload_without(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *list, *out, *o;

	if (!old)
		return;
	list = preload_list(old);
	if (!listed(list, lib, strlen(lib)))
		return;
	out = o = take(strlen(list) + 1);
	for (const char *s = list; *s; s += strspn(s, ":")) {
		size_t n = strcspn(s, ":");
		if (!(n == strlen(lib) && !memcmp(s, lib, n))) {
			if (o != out)
				*o++ = ':';
			memcpy(o, s, n);
			o += n;
		}
		s += n;
	}
	*o = '\0';
	env_edit("LD_PRELOAD", *out ? out : NULL);
}

/* --- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static struct config cfg;
	struct opts o = {0};
	struct target t = {0};
	const char *mode_src = NULL, *lib, *sup = NULL, *line, *v;
	char *shellv[3] = {NULL, NULL, NULL};
	char **cmd;
	enum mode mode = MODE_AUTO;
	int ci, ncmd;
	bool shell = false;

	log_as_program("socks4wrap", LOG_INFO); /* what to say is decided here */
	ci = parse_options(&o, argc, argv);
	cmd = argv + ci;
	ncmd = argc - ci;

	/* No command: an interactive shell, as torsocks --shell starts,
	 * when there is one to start and a terminal to run it on;
	 * otherwise a usage error, so that a script that lost its command
	 * does not hang on a shell. */
	if (ncmd == 0 && !o.dry) {
		const char *sh = getenv("SHELL");
		if (!sh || !*sh || !isatty(STDIN_FILENO))
			die(EXIT_USAGE, "no command given; usage: socks4wrap [OPTION]... [--] COMMAND "
					"[ARG]... (see socks4wrap --help)");
		shellv[1] = (char *)sh;
		cmd = shellv + 1;
		ncmd = 1;
		shell = true;
	}

	/* Usage errors (2). */
	if (o.server) {
		check_server(o.server, "-s");
		env_edit("SOCKS4_SERVER", o.server);
	} else if ((v = env_nonempty("SOCKS4_SERVER"))) {
		check_server(v, "SOCKS4_SERVER");
	}
	if (o.user) {
		check_user(o.user, "-u");
		env_edit("SOCKS4_USER", o.user);
	} else if ((v = env_nonempty("SOCKS4_USER"))) {
		check_user(v, "SOCKS4_USER");
	}
	if (o.rdns) {
		check_rdns(o.rdns, "-R");
		env_edit("SOCKS4_REMOTE_DNS", o.rdns);
	}
	if (o.mode)
		mode = check_mode(o.mode, "-m");
	else if ((v = env_nonempty("SOCKS4WRAP_MODE")))
		mode = check_mode(v, "SOCKS4WRAP_MODE");
	if (mode != MODE_AUTO)
		mode_src = mode == MODE_PRELOAD ? (o.mode ? "--mode=preload" : "SOCKS4WRAP_MODE=preload")
						: (o.mode ? "--mode=syscall" : "SOCKS4WRAP_MODE=syscall");

	/* The setup (1). */
	if (o.conf) {
		check_conf(o.conf, "-f");
		env_edit("SOCKS4_CONF", absolute(o.conf));
	} else if ((v = env_nonempty("SOCKS4_CONF"))) {
		check_conf(v, "SOCKS4_CONF");
	}
	if (o.log)
		env_edit("SOCKS4_LOG", absolute(o.log));
	if (o.talk == TALK_VERBOSE) {
		static const char *const level[] = {"0", "1", "2"};
		env_edit("SOCKS4_DEBUG", level[o.debug > 2 ? 2 : o.debug]);
		env_edit("SOCKS4_QUIET", NULL);
	} else if (o.talk == TALK_QUIET) {
		env_edit("SOCKS4_QUIET", "1");
		env_edit("SOCKS4_DEBUG", NULL);
	}

	/* --dry-run alone: the settings and the route, from the shim's own
	 * code, which resolves names; nothing runs. */
	if (o.dry && ncmd == 0) {
		char *qv[] = {(char *)find_query(), (char *)o.dry, NULL};
		execve(qv[0], qv, build_env());
		die(EXIT_SETUP, "%s: %s", qv[0], strerror(errno));
	}

	lib = find_library();
	/* The shim would refuse every proxied connection over a bad
	 * settings file or no server at all: find out now. */
	if (config_build(&cfg, env) < 0)
		die(EXIT_SETUP, "%s", cfg.error);

	/* The command (126, 127), what it is, and how to reach it. */
	struct stat cmd_st;
	const char *cmd_path = find_command(cmd[0], &cmd_st);
	follow(&t, cmd_path, &cmd_st);
	if (mode == MODE_AUTO)
		mode = preload_reaches(&t) ? MODE_PRELOAD : MODE_SYSCALL;
	refuse_privileged(&t, mode);
	line = mode_line(&t, mode, mode_src);
	if (mode == MODE_SYSCALL) {
		sup = helper("socks4wrap-sup");
		if (!is_program(sup))
			die(EXIT_SETUP, "cannot use the syscall mode for %s: no %s (" FIX ")", t.path, sup);
	}

	if (o.dry) {
		char *qv[] = {(char *)find_query(), (char *)o.dry, (char *)line, NULL};
		execve(qv[0], qv, build_env());
		die(EXIT_SETUP, "%s: %s", qv[0], strerror(errno));
	}

	if (mode == MODE_PRELOAD)
		env_edit("LD_PRELOAD", preload_value(lib));
	else
		preload_without(lib);

	if (o.talk == TALK_VERBOSE)
		log_msg(LOG_INFO, "%s", line);
	if (mode == MODE_PRELOAD && !preload_reaches(&t) && o.talk != TALK_QUIET)
		log_msg(LOG_INFO,
			"warning: %s: the preload cannot reach it, so its connections will not go "
			"through the SOCKS server",
			strchr(line, ':') + 2);
	if (shell && o.talk != TALK_QUIET)
		log_msg(LOG_INFO,
			"starting %s: its connections, and those of the programs it runs, go through "
			"the SOCKS4 server; exit the shell to leave",
			cmd[0]);

	char **envp = build_env();
	if (mode == MODE_SYSCALL) {
		/* socks4wrap-sup PATH ARGS...: argv[0]'s slot is free, and
		 * before the command there is always one more. */
		cmd[-1] = (char *)sup;
		cmd[0] = (char *)t.path;
		execve(sup, cmd - 1, envp);
		die(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s: %s", sup, strerror(errno));
	}
	execve(t.path, cmd, envp);
	if (errno == ENOEXEC) {
		/* No #! line: a shell script, as execvp() and sh take it. */
		cmd[-1] = (char *)CMDPATH_SHELL;
		cmd[0] = (char *)t.path;
		execve(CMDPATH_SHELL, cmd - 1, envp);
	}
	die(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s: %s", cmd[0], strerror(errno));
}
