/* test_names.c - the name <-> fake address table: bounds, reuse, threads, fork. */
#include "names.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NET_240 0xf0000000u /* 240.0.0.0 */

static int fake(const char *name, uint32_t *ip)
{
	return names_fake(name, strlen(name), ip);
}

static void fresh(unsigned prefix)
{
	names_reset_for_test();
	CHECK_EQ_INT(names_setup(NET_240, prefix), 0);
}

TEST(same_name_same_address)
{
	uint32_t a, b, c;
	char buf[NAMES_LEN + 1];

	fresh(20);
	CHECK_EQ_INT(fake("files.example", &a), 0);
	CHECK_EQ_INT(ntohl(a), NET_240 + 1);
	CHECK_EQ_INT(fake("FILES.Example", &b), 0);
	CHECK_EQ_INT(a, b);
	CHECK_EQ_INT(fake("files.example.", &b), 0); /* the root's dot */
	CHECK_EQ_INT(a, b);
	CHECK_EQ_INT(fake("other.example", &c), 0);
	CHECK(c != a);
	CHECK_EQ_INT(ntohl(c), NET_240 + 2);
	CHECK_EQ_INT(names_lookup(a, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "files.example"); /* as first given */
	CHECK_EQ_INT(names_lookup(c, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "other.example");
	CHECK_EQ_INT(names_count(), 2);
	/* the stored name, the same pointer each time, for a request to keep */
	CHECK_EQ_STR(names_get(a), "files.example");
	CHECK(names_get(a) == names_get(b));
	CHECK(names_get(htonl(NET_240 + 3)) == NULL);
}

TEST(addresses_outside_or_unused)
{
	uint32_t a;
	char buf[NAMES_LEN + 1];

	fresh(20);
	CHECK_EQ_INT(fake("a.example", &a), 0);
	CHECK_EQ_INT(names_lookup(htonl(NET_240), buf, sizeof(buf)), -ENOENT);
	CHECK_EQ_INT(names_lookup(htonl(NET_240 + 2), buf, sizeof(buf)), -ENOENT);
	CHECK_EQ_INT(names_lookup(htonl(0x0a000001), buf, sizeof(buf)), -ENOENT);
	CHECK(names_in_range(htonl(NET_240 + 4000)));
	CHECK(!names_in_range(htonl(NET_240 + 4096)));
	CHECK(!names_in_range(htonl(0xefffffffu)));
	CHECK_EQ_INT(names_lookup(a, buf, 5), -ENAMETOOLONG);
}

TEST(bad_names)
{
	char longname[NAMES_LEN + 2];
	uint32_t a;

	fresh(20);
	memset(longname, 'a', sizeof(longname));
	longname[NAMES_LEN + 1] = '\0';
	CHECK_EQ_INT(fake(longname, &a), -EINVAL); /* 256 bytes */
	longname[NAMES_LEN] = '\0';
	CHECK_EQ_INT(fake(longname, &a), 0); /* 255 */
	longname[NAMES_LEN] = '.';
	CHECK_EQ_INT(fake(longname, &a), 0); /* 255 and the root's dot */
	CHECK_EQ_INT(names_fake("a\0b.example", 11, &a), -EINVAL);
	CHECK_EQ_INT(fake("a\nb.example", &a), -EINVAL);
	CHECK_EQ_INT(fake("a\tb", &a), -EINVAL);
	CHECK_EQ_INT(fake("a\x7f", &a), -EINVAL);
	CHECK_EQ_INT(fake("caf\xc3\xa9.example", &a), -EINVAL);
	CHECK_EQ_INT(fake("", &a), -EINVAL);
	CHECK_EQ_INT(fake(".", &a), -EINVAL);
	CHECK_EQ_INT(fake("a b", &a), -EINVAL);
	CHECK_EQ_INT(names_count(), 1);
}

TEST(full_range_fails_and_reuses_nothing)
{
	char name[32], buf[NAMES_LEN + 1];
	uint32_t a, first;

	fresh(29); /* 8 addresses: 6 usable */
	CHECK_EQ_INT(names_capacity(), 6);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		CHECK_EQ_INT(fake(name, &a), 0);
		CHECK_EQ_INT(ntohl(a), NET_240 + 1 + (uint32_t)i);
	}
	CHECK_EQ_INT(fake("one-more.example", &a), -ENOSPC);
	CHECK_EQ_INT(fake("h0.example", &first), 0); /* known names still answer */
	CHECK_EQ_INT(ntohl(first), NET_240 + 1);
	CHECK_EQ_INT(names_lookup(htonl(NET_240 + 1), buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "h0.example");
	CHECK_EQ_INT(names_count(), 6);
}

TEST(setup_bounds)
{
	names_reset_for_test();
	CHECK_EQ_INT(names_setup(NET_240, 7), -EINVAL);
	CHECK_EQ_INT(names_setup(NET_240, 31), -EINVAL);
	uint32_t a;
	CHECK_EQ_INT(fake("x.example", &a), -ENXIO);
	CHECK_EQ_INT(names_setup(NET_240, 8), 0);
	CHECK_EQ_INT(names_capacity(), NAMES_MAX);
	CHECK_EQ_INT(fake("x.example", &a), 0);
	CHECK_EQ_INT(names_setup(NET_240, 8), 0);  /* the same: fine */
	CHECK_EQ_INT(names_setup(NET_240, 12), -EBUSY);
}

#define THREADS 8
#define PER_THREAD 300

static uint32_t seen[THREADS][PER_THREAD];

static void *worker(void *arg)
{
	long t = (long)arg;
	char name[32];

	/* Every thread asks for the same names, in different orders. */
	for (int k = 0; k < PER_THREAD; k++) {
		int i = (int)((k * 7 + t * 13) % PER_THREAD);
		snprintf(name, sizeof(name), "n%d.example", i);
		if (names_fake(name, strlen(name), &seen[t][i]) != 0)
			seen[t][i] = 0;
	}
	return NULL;
}

TEST(threads_agree_on_every_name)
{
	pthread_t th[THREADS];
	char buf[NAMES_LEN + 1], want[32];

	fresh(16);
	for (long t = 0; t < THREADS; t++)
		CHECK_EQ_INT(pthread_create(&th[t], NULL, worker, (void *)t), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	CHECK_EQ_INT(names_count(), PER_THREAD);
	for (int i = 0; i < PER_THREAD; i++) {
		CHECK(seen[0][i] != 0);
		for (int t = 1; t < THREADS; t++)
			CHECK_EQ_INT(seen[t][i], seen[0][i]);
		snprintf(want, sizeof(want), "n%d.example", i);
		CHECK_EQ_INT(names_lookup(seen[0][i], buf, sizeof(buf)), 0);
		CHECK_EQ_STR(buf, want);
	}
}

static void *holder(void *arg)
{
	struct timespec ts = {0, 200 * 1000 * 1000};

	(void)arg;
	names_lock_for_test();
	nanosleep(&ts, NULL);
	names_unlock_for_test();
	return NULL;
}

/* A child forked while another thread is inside the table must find
 * the lock free and the names kept; without the atfork handlers it would
 * hang (bounded by alarm here). */
TEST(fork_while_another_thread_holds_the_lock)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	uint32_t a, b;
	pthread_t th;
	int status = -1;
	pid_t pid;

	fresh(20);
	CHECK_EQ_INT(fake("before.example", &a), 0);
	CHECK_EQ_INT(pthread_create(&th, NULL, holder, NULL), 0);
	nanosleep(&ts, NULL); /* let it take the lock */
	pid = fork();
	if (pid == 0) {
		char buf[NAMES_LEN + 1];
		alarm(5);
		if (names_lookup(a, buf, sizeof(buf)) != 0 || strcmp(buf, "before.example"))
			_exit(2);
		if (names_fake("after.example", 13, &b) != 0 || ntohl(b) != NET_240 + 2)
			_exit(3);
		_exit(0);
	}
	CHECK(pid > 0);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	pthread_join(th, NULL);
	/* the parent's table did not change because of the child's */
	CHECK_EQ_INT(names_count(), 1);
}

int main(void)
{
	RUN(same_name_same_address);
	RUN(addresses_outside_or_unused);
	RUN(bad_names);
	RUN(full_range_fails_and_reuses_nothing);
	RUN(setup_bounds);
	RUN(threads_agree_on_every_name);
	RUN(fork_while_another_thread_holds_the_lock);
	return check_done();
}
