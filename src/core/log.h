/*
 * log.h - the one writer of log lines, for the library, the supervisor,
 * the launcher and socks4d: one write(2) per line, errno preserved,
 * nothing when the level says so.
 *
 * In the library and the supervisor a line reads "socks4wrap: [pid] ...";
 * in a program of our own (log_as_program()) "NAME: ...".
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0, /* always, unless quiet: a call failed because of us */
	LOG_INFO = 1,  /* SOCKS4_DEBUG=1: one line per decision */
	LOG_DEBUG = 2, /* SOCKS4_DEBUG=2: each protocol step */
};

/* The longest line, newline included: inside other programs, whose
 * stacks are theirs; in a program of our own. */
#define LOG_LINE_MAX 1024
#define LOG_PROGRAM_LINE_MAX 8192

/*
 * Where lines go and which are kept. Before it is called, lines obey the
 * environment as socks4wrap passes -q, -v and --log on: SOCKS4_QUIET,
 * SOCKS4_DEBUG (a digit) and SOCKS4_LOG (opened for each line); errors
 * only and standard error when they are unset.
 */
void log_setup(int level, int quiet, const char *path);

/*
 * For a program of our own (the launcher, socks4d) rather than the
 * library: lines read "NAME: ...", without a pid, up to
 * LOG_PROGRAM_LINE_MAX bytes, and go to standard error whatever it is,
 * whatever the environment says; level as log_setup()'s. May be called
 * again to change the level.
 */
void log_as_program(const char *name, int level);

/* Remembers what the log descriptor is now (standard error until
 * log_setup() names a file): lines go nowhere once it is something else.
 * The shim calls it at its first hooked call, before the program's own
 * close() or dup2() of that call has happened. */
void log_note_target(void);

/* Read inline: asking costs nothing when the answer is no. */
extern int log_level_now, log_quiet_now;

/* log_level_now is -1 when quiet: one load and one compare. (Before
 * log_setup(), see log_wanted().) */
static inline int log_enabled(enum log_level level)
{
	return (int)level <= log_level_now;
}

/* Whether a line of this level is written now, the environment's word
 * included before log_setup(). */
bool log_wanted(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * A line put together piece by piece, for code that must not format
 * with printf or take a lock (an exec hook, perhaps in a vfork() child):
 *
 *	if (log_wanted(LOG_ERROR)) {
 *		struct log_line l;
 *		log_begin(&l);                  the prefix
 *		log_add(&l, "exec "); log_add_num(&l, n); ...
 *		log_end(&l);                    one write(2)
 *	}
 */
struct log_line {
	char buf[LOG_LINE_MAX];
	size_t len;
};
void log_begin(struct log_line *l);
void log_add(struct log_line *l, const char *s);
void log_add_num(struct log_line *l, long v);
void log_end(struct log_line *l);

/*
 * For the supervisor, which logs for the programs it serves: until the
 * next call, the lines this thread writes name the process of thread
 * tid, found by tgid_of() when a line is written (most calls log
 * nothing); tid 0 names our own process again.
 */
void log_speak_for(int tid, int (*tgid_of)(int tid));

#endif
