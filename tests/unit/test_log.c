/*
 * test_log.c - the one log writer (src/core/log.c): the prefix, where
 * lines go before and after log_setup(), the piecewise line of the exec
 * hooks, a program's own lines, and errno left alone.
 */
#include "check.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/test_log.XXXXXX";
static char file[sizeof(dir) + 16];

/* What the log file holds now, emptied for the next test. */
static const char *drain(void)
{
	static char buf[16384];
	int fd = open(file, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	if (truncate(file, 0) < 0)
		buf[0] = '\0';
	return buf;
}

static char pidpfx[64];

TEST(before_setup_the_environment_decides)
{
	char want[256];

	setenv("SOCKS4_LOG", file, 1);
	unsetenv("SOCKS4_DEBUG");
	unsetenv("SOCKS4_QUIET");
	log_msg(LOG_ERROR, "one %d", 1);
	log_msg(LOG_INFO, "not this");
	snprintf(want, sizeof(want), "%sone 1\n", pidpfx);
	CHECK_EQ_STR(drain(), want);
	setenv("SOCKS4_DEBUG", "1", 1);
	log_msg(LOG_INFO, "info");
	log_msg(LOG_DEBUG, "not this");
	snprintf(want, sizeof(want), "%sinfo\n", pidpfx);
	CHECK_EQ_STR(drain(), want);
	setenv("SOCKS4_QUIET", "1", 1);
	log_msg(LOG_ERROR, "quiet");
	CHECK_EQ_STR(drain(), "");
	setenv("SOCKS4_QUIET", "off", 1);
	CHECK(log_wanted(LOG_ERROR));
	unsetenv("SOCKS4_QUIET");
	unsetenv("SOCKS4_DEBUG");
}

TEST(a_line_built_in_pieces_reads_as_a_formatted_one)
{
	struct log_line l;
	char want[256];

	log_begin(&l);
	log_add(&l, "exec ");
	log_add_num(&l, -42);
	log_add(&l, " ");
	log_add_num(&l, 0);
	log_end(&l);
	log_msg(LOG_ERROR, "exec %d %d", -42, 0);
	snprintf(want, sizeof(want), "%sexec -42 0\n%sexec -42 0\n", pidpfx, pidpfx);
	CHECK_EQ_STR(drain(), want);
}

TEST(a_long_piecewise_line_is_cut_not_overrun)
{
	struct log_line l;
	char big[3000];
	const char *got;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_begin(&l);
	log_add(&l, big);
	log_end(&l);
	got = drain();
	CHECK_EQ_INT(strlen(got), LOG_LINE_MAX);
	CHECK(got[LOG_LINE_MAX - 1] == '\n');
}

TEST(errno_is_left_alone)
{
	struct log_line l;

	errno = EDOM;
	log_msg(LOG_ERROR, "x %s", "y");
	CHECK_EQ_INT(errno, EDOM);
	log_begin(&l);
	log_add(&l, "z");
	log_end(&l);
	CHECK_EQ_INT(errno, EDOM);
	setenv("SOCKS4_LOG", "/nonexistent/dir/log", 1); /* opening it fails */
	{
		int saved = dup(2), null = open("/dev/null", O_WRONLY);

		dup2(null, 2); /* the line goes to stderr: not into the TAP */
		log_msg(LOG_ERROR, "to stderr");
		CHECK_EQ_INT(errno, EDOM);
		dup2(saved, 2);
		close(saved);
		close(null);
	}
	setenv("SOCKS4_LOG", file, 1);
	drain();
}

TEST(after_setup_the_settings_decide)
{
	char want[256];

	setenv("SOCKS4_DEBUG", "2", 1); /* no longer read */
	log_setup(LOG_ERROR, 0, file);
	log_msg(LOG_INFO, "not this");
	log_msg(LOG_ERROR, "set up");
	CHECK(!log_wanted(LOG_INFO));
	snprintf(want, sizeof(want), "%sset up\n", pidpfx);
	CHECK_EQ_STR(drain(), want);
	unsetenv("SOCKS4_DEBUG");
}

TEST(a_program_of_our_own_writes_name_colon_to_stderr)
{
	char stderr_file[sizeof(dir) + 16], big[6000], buf[8192];
	int saved = dup(2), fd;
	ssize_t n;

	snprintf(stderr_file, sizeof(stderr_file), "%s/stderr", dir);
	fd = open(stderr_file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	setenv("SOCKS4_QUIET", "1", 1); /* not ours to obey */
	log_as_program("prog", LOG_INFO);
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_msg(LOG_INFO, "said %s", "this");
	log_msg(LOG_DEBUG, "not this");
	log_msg(LOG_ERROR, "%s", big); /* longer than a library line */
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(!strncmp(buf, "prog: said this\nprog: yyy", 25));
	CHECK_EQ_INT(n, 16 + 6 + sizeof(big) - 1 + 1);
	unsetenv("SOCKS4_QUIET");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(file, sizeof(file), "%s/log", dir);
	snprintf(pidpfx, sizeof(pidpfx), "socks4wrap: [%d] ", (int)getpid());
	RUN(before_setup_the_environment_decides);
	RUN(a_line_built_in_pieces_reads_as_a_formatted_one);
	RUN(a_long_piecewise_line_is_cut_not_overrun);
	RUN(errno_is_left_alone);
	RUN(after_setup_the_settings_decide);
	RUN(a_program_of_our_own_writes_name_colon_to_stderr); /* last: it stays */
	{
		char cmd[sizeof(dir) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return check_done();
}
