/*
 * log.c - the one writer of log lines (see log.h), for code that runs
 * inside other programs and for our own.
 *
 * A line is put together on the stack and written with a single
 * write(2), so lines from threads and processes sharing the file do not
 * interleave. errno is saved and restored: logging never changes what
 * the program sees. Every line, printf-formatted or built piece by piece,
 * goes out through line_write(): one prefix, one choice of descriptor.
 *
 * The descriptor is checked against the identity (device and inode) it
 * had when logging was set up: a daemon that closes every descriptor and
 * reuses the number must not find our lines in its own file. A log file
 * is then opened again by name; standard error, once it is something
 * else, gets nothing more.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Inside the preloaded library close() is our own hook: never call it. */
#define close_raw(fd) ((void)syscall(SYS_close, (fd)))

static int log_fd = STDERR_FILENO;
static dev_t log_dev;
static ino_t log_ino;
static int log_checked; /* identity recorded: check it */
static char log_path[4096];
static int log_ready;            /* set up: the environment is not asked */
static const char *log_name = "socks4wrap";
static bool log_program;         /* log_as_program(): no pid, long lines */
int log_level_now = LOG_ERROR;
int log_quiet_now;

/* Opens path for appending without ever blocking (a FIFO would wait for
 * a reader inside the program's first connect()): a regular file or a
 * character device (a terminal, /dev/null) only. -errno, or the fd. */
static int open_log(const char *path, struct stat *st)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	int err;

	if (fd < 0) /* ENXIO: a FIFO with no reader, which O_NONBLOCK refuses */
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, st) < 0 || (!S_ISREG(st->st_mode) && !S_ISCHR(st->st_mode))) {
		err = S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
		close_raw(fd);
		return err;
	}
	/* a terminal is written in blocking mode; syscall(): fcntl is our hook */
	(void)syscall(SYS_fcntl, fd, F_SETFL, O_APPEND);
	return fd;
}

void log_setup(int level, int quiet, const char *path)
{
	struct stat st;
	int fd;

	log_level_now = quiet ? -1 : level;
	log_quiet_now = quiet;
	__atomic_store_n(&log_ready, 1, __ATOMIC_RELEASE);
	if (path && *path && strlen(path) < sizeof(log_path)) {
		if ((fd = open_log(path, &st)) >= 0) {
			memcpy(log_path, path, strlen(path) + 1);
			log_fd = fd;
		} else {
			errno = -fd;
			log_msg(LOG_ERROR, "cannot log to %s: %s; logging to stderr", path,
				fd == -EINVAL ? "not a regular file or a terminal" : strerror(-fd));
		}
	}
	if (log_fd != STDERR_FILENO || !log_checked)
		log_note_target();
}

void log_as_program(const char *name, int level)
{
	if (log_fd != STDERR_FILENO)
		close_raw(log_fd); /* a file log_setup() opened: ours */
	log_fd = STDERR_FILENO;
	log_checked = 0;
	log_path[0] = '\0';
	log_name = name;
	log_program = true;
	log_level_now = level;
	log_quiet_now = 0;
	__atomic_store_n(&log_ready, 1, __ATOMIC_RELEASE);
}

void log_note_target(void)
{
	struct stat st;

	if (log_program)
		return; /* standard error, whatever it is */
	if (fstat(log_fd, &st) == 0) {
		log_dev = st.st_dev;
		log_ino = st.st_ino;
		log_checked = 1;
	}
}

/* The descriptor to write to now, or -1 when there is none. */
static int log_target(void)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE), nfd;
	struct stat st;

	if (!log_checked || (fstat(fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino))
		return fd;
	if (!log_path[0] || (nfd = open_log(log_path, &st)) < 0)
		return -1;
	/* not ours to close: the old number is the program's now */
	if (!__atomic_compare_exchange_n(&log_fd, &fd, nfd, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		close_raw(nfd);
		return fd;
	}
	log_dev = st.st_dev;
	log_ino = st.st_ino;
	return nfd;
}

/* A setting given in the environment is "on" unless it says otherwise. */
static bool env_on(const char *v)
{
	return v && *v && strcmp(v, "0") && strcmp(v, "off") && strcmp(v, "no") &&
	       strcmp(v, "false");
}

bool log_wanted(enum log_level level)
{
	const char *d;

	if (__atomic_load_n(&log_ready, __ATOMIC_ACQUIRE))
		return log_enabled(level);
	if (env_on(getenv("SOCKS4_QUIET")))
		return false;
	if (level == LOG_ERROR)
		return true;
	d = getenv("SOCKS4_DEBUG");
	return d && d[0] >= '0' + (int)level && d[0] <= '9';
}

/* Writes line[0..len), which ends in a newline, where lines go now. */
static void line_write(const char *line, size_t len)
{
	const char *path;
	struct stat st;
	int fd;

	if (__atomic_load_n(&log_ready, __ATOMIC_ACQUIRE)) {
		fd = log_target();
	} else {
		/* not set up: SOCKS4_LOG, opened for this line, or stderr */
		path = getenv("SOCKS4_LOG");
		if (!path || !*path || (fd = open_log(path, &st)) < 0)
			fd = STDERR_FILENO;
	}
	/* syscall(): inside the preloaded library write() is our own hook */
	if (fd >= 0 && syscall(SYS_write, fd, line, len) < 0) {
		/* nowhere left to complain to */
	}
	if (!__atomic_load_n(&log_ready, __ATOMIC_ACQUIRE) && fd != STDERR_FILENO)
		close_raw(fd);
}

static _Thread_local int speak_tid;
static _Thread_local int (*speak_tgid)(int);

void log_speak_for(int tid, int (*tgid_of)(int tid))
{
	speak_tid = tid;
	speak_tgid = tgid_of;
}

/* v in decimal, at the end of d; returns where it starts. */
static char *fmt_num(char d[24], long v)
{
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
	int i = 23;

	d[i] = '\0';
	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) > 0 && i > 1);
	if (v < 0)
		d[--i] = '-';
	return d + i;
}

/* "NAME: [pid] " (or "NAME: " for a program of our own) into buf, which
 * holds at least 64 bytes; returns its length. No printf: the exec hooks
 * call it. */
static size_t prefix(char *buf, size_t size)
{
	size_t n = 0;
	int pid;
	char d[24];

	for (const char *s = log_name; *s && n < size - 32; s++)
		buf[n++] = *s;
	buf[n++] = ':';
	buf[n++] = ' ';
	if (log_program)
		return n;
	pid = (int)getpid();
	if (speak_tid) {
		pid = speak_tgid ? speak_tgid(speak_tid) : -1;
		pid = pid > 0 ? pid : speak_tid; /* gone: its thread's number */
	}
	buf[n++] = '[';
	for (const char *s = fmt_num(d, pid); *s; s++)
		buf[n++] = *s;
	buf[n++] = ']';
	buf[n++] = ' ';
	return n;
}

/* One printf-formatted line in line[size]. */
static void vline(char *line, size_t size, const char *fmt, va_list ap)
{
	int saved = errno, m;
	size_t n = prefix(line, size);

	errno = saved; /* for %m */
	m = vsnprintf(line + n, size - n - 1, fmt, ap);
	if (m > 0)
		n += (size_t)m;
	if (n > size - 2)
		n = size - 2;
	line[n++] = '\n';
	line_write(line, n);
	errno = saved;
}

/* Apart, so that the library's lines do not pay for the long buffer on
 * the stacks of the programs they run in. */
static __attribute__((noinline)) void vline_short(const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	vline(line, sizeof(line), fmt, ap);
}

static __attribute__((noinline)) void vline_long(const char *fmt, va_list ap)
{
	char line[LOG_PROGRAM_LINE_MAX];

	vline(line, sizeof(line), fmt, ap);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (!log_wanted(level))
		return;
	if (log_program)
		vline_long(fmt, ap);
	else
		vline_short(fmt, ap);
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_begin(struct log_line *l)
{
	l->len = prefix(l->buf, sizeof(l->buf));
}

void log_add(struct log_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

void log_add_num(struct log_line *l, long v)
{
	char d[24];

	log_add(l, fmt_num(d, v));
}

void log_end(struct log_line *l)
{
	int saved = errno;

	l->buf[l->len++] = '\n';
	line_write(l->buf, l->len);
	errno = saved;
}
