/*
 * test_fdstate.c - the descriptor table: slots tied to the socket's
 * identity, generations, copies, and the lock across fork().
 */
#include "fdstate.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int sock(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

TEST(new_get_drop)
{
	int fd = sock(), err = 0;
	struct fdslot *s;

	CHECK(!fdstate_slot(fd));
	fdstate_lock();
	s = fdstate_new(fd, FD_CONNECT, AF_INET, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(s->kind, FD_CONNECT);
	CHECK_EQ_INT(s->owner, getpid());
	CHECK(fdstate_get(fd) == s);
	fdstate_unlock();
	CHECK(fdstate_slot(fd) == s);
	fdstate_drop(fd);
	CHECK(!fdstate_slot(fd));
	close(fd);
}

TEST(reused_number_carries_nothing)
{
	int fd = sock(), err, again;
	struct fdslot *s;

	fdstate_lock();
	s = fdstate_new(fd, FD_BIND, AF_INET, &err);
	fdstate_unlock();
	/* closed behind the table's back, the number taken by a new socket */
	close(fd);
	again = sock();
	CHECK_EQ_INT(again, fd);
	fdstate_lock();
	CHECK(fdstate_get(fd) == NULL);
	fdstate_unlock();
	CHECK(!fdstate_slot(fd));
	(void)s;
	close(again);
}

TEST(generation_changes)
{
	int fd = sock(), err;
	struct fdslot *s;
	uint32_t g;

	fdstate_lock();
	s = fdstate_new(fd, FD_CONNECT, AF_INET, &err);
	g = s->gen;
	CHECK(fdstate_new(fd, FD_CONNECT, AF_INET, &err) == s);
	CHECK(s->gen != g);
	fdstate_unlock();
	fdstate_drop(fd);
	close(fd);
}

TEST(dup_follows)
{
	int fd = sock(), err, copy = dup(fd), other = sock();
	struct fdslot *s, *c;

	fdstate_lock();
	s = fdstate_new(fd, FD_CONNECT, AF_INET, &err);
	s->peer.port = 4242;
	fdstate_dup(fd, copy);
	c = fdstate_get(copy);
	CHECK(c != NULL && c != s);
	CHECK_EQ_INT(c ? c->peer.port : 0, 4242);
	/* a copy from an untracked descriptor drops the target's slot */
	fdstate_dup(other, copy);
	CHECK(fdstate_get(copy) == NULL);
	fdstate_unlock();
	fdstate_drop(fd);
	close(fd);
	close(copy);
	close(other);
}

TEST(bad_numbers)
{
	int err = 0;

	fdstate_lock();
	CHECK(fdstate_new(-1, FD_CONNECT, AF_INET, &err) == NULL);
	CHECK_EQ_INT(err, -EBADF);
	CHECK(fdstate_new(1 << 21, FD_CONNECT, AF_INET, &err) == NULL);
	CHECK_EQ_INT(err, -EBADF);
	fdstate_unlock();
	CHECK(!fdstate_slot(-5));
}

/* The lock holds signals: a handler cannot run while it is held. */
static volatile sig_atomic_t ran;
static void on_usr1(int s)
{
	(void)s;
	ran = 1;
}

TEST(lock_holds_signals)
{
	signal(SIGUSR1, on_usr1);
	fdstate_lock();
	raise(SIGUSR1);
	CHECK_EQ_INT(ran, 0);
	fdstate_unlock();
	CHECK_EQ_INT(ran, 1);
	signal(SIGUSR1, SIG_DFL);
}

/* fork() while another thread holds the lock: with the handlers the
 * child finds it free; the child's pid is the slots' new owner. */
static void *hold(void *arg)
{
	for (int i = 0; i < 20000 && !*(volatile int *)arg; i++) {
		fdstate_lock();
		fdstate_unlock();
	}
	return NULL;
}

TEST(fork_leaves_the_lock_free)
{
	pthread_t t;
	int stop = 0, hung = 0;

	pthread_atfork(fdstate_fork_prepare, fdstate_fork_parent, fdstate_fork_child);
	pthread_create(&t, NULL, hold, &stop);
	for (int i = 0; i < 50; i++) {
		int status;
		pid_t pid = fork();
		if (pid == 0) {
			alarm(5);
			fdstate_lock();
			fdstate_unlock();
			_exit(fdstate_pid() == getpid() ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		hung += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	stop = 1;
	pthread_join(t, NULL);
	CHECK_EQ_INT(hung, 0);
}

int main(void)
{
	RUN(new_get_drop);
	RUN(reused_number_carries_nothing);
	RUN(generation_changes);
	RUN(dup_follows);
	RUN(bad_numbers);
	RUN(lock_holds_signals);
	RUN(fork_leaves_the_lock_free);
	return check_done();
}
