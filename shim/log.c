/*
 * log.c - line logging for code that runs inside other programs.
 *
 * A line is formatted on the stack and written with a single write(2),
 * so lines from threads and processes sharing the file do not interleave.
 * errno is saved and restored: logging never changes what the program
 * sees.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
int log_level_now = LOG_ERROR;
int log_quiet_now;

void log_setup(int level, int quiet, const char *path)
{
	log_level_now = level;
	log_quiet_now = quiet;
	if (path && *path) {
		/* O_CLOEXEC: the program's children open their own. */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			log_fd = fd;
		else
			log_msg(LOG_ERROR, "cannot open log file %s: %m; logging to stderr", path);
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	int saved = errno;
	int n, m;
	va_list ap;

	if (!log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "socks4wrap: [%d] ", (int)getpid());
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
	if (write(log_fd, line, (size_t)n) < 0) {
		/* nowhere left to complain to */
	}
	errno = saved;
}
