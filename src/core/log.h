/*
 * log.h - the shim's voice: one write(2) per line, "socks4wrap: [pid] ",
 * errno preserved, nothing when the level says so.
 */
#ifndef LOG_H
#define LOG_H

enum log_level {
	LOG_ERROR = 0, /* always, unless quiet: a call failed because of us */
	LOG_INFO = 1,  /* SOCKS4_DEBUG=1: one line per decision */
	LOG_DEBUG = 2, /* SOCKS4_DEBUG=2: each protocol step */
};

/* Where lines go and which are kept; before this, only errors, to fd 2. */
void log_setup(int level, int quiet, const char *path);

/* Remembers what the log descriptor is now (standard error until
 * log_setup() names a file): lines go nowhere once it is something else.
 * The shim calls it at its first hooked call, before the program's own
 * close() or dup2() of that call has happened. */
void log_note_target(void);

/* Read inline: asking costs nothing when the answer is no. */
extern int log_level_now, log_quiet_now;

/* log_level_now is -1 when quiet: one load and one compare. */
static inline int log_enabled(enum log_level level)
{
	return (int)level <= log_level_now;
}

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * For the supervisor, which logs for the programs it serves: until the
 * next call, the lines this thread writes name the process of thread
 * tid, found by tgid_of() when a line is written (most calls log
 * nothing); tid 0 names our own process again.
 */
void log_speak_for(int tid, int (*tgid_of)(int tid));

#endif
