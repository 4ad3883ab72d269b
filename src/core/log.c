/*
 * log.c - line logging for code that runs inside other programs.
 *
 * A line is formatted on the stack and written with a single write(2),
 * so lines from threads and processes sharing the file do not interleave.
 * errno is saved and restored: logging never changes what the program
 * sees.
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
#include <stdarg.h>
#include <stdio.h>
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

void log_note_target(void)
{
	struct stat st;

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

static _Thread_local int speak_tid;
static _Thread_local int (*speak_tgid)(int);

void log_speak_for(int tid, int (*tgid_of)(int tid))
{
	speak_tid = tid;
	speak_tgid = tgid_of;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	int saved = errno;
	int n, m, fd, pid;
	va_list ap;

	if (!log_enabled(level))
		return;
	pid = (int)getpid();
	if (speak_tid) {
		pid = speak_tgid ? speak_tgid(speak_tid) : -1;
		pid = pid > 0 ? pid : speak_tid; /* gone: its thread's number */
	}
	n = snprintf(line, sizeof(line), "socks4wrap: [%d] ", pid);
	va_start(ap, fmt);
	errno = saved; /* for %m */
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* syscall(): inside the preloaded library write() is our own hook */
	if ((fd = log_target()) >= 0 && syscall(SYS_write, fd, line, (size_t)n) < 0) {
		/* nowhere left to complain to */
	}
	errno = saved;
}
