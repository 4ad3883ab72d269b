/*
 * test_fdstate.c - the socket records and the descriptor table: a record
 * tied to the socket's identity, shared by every number of the socket
 * (dup chains of any length), generations, and the lock across fork().
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
	fdstate_close(fd);
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
	g = s->gen;
	fdstate_forget(s);
	CHECK(s->gen != g);
	CHECK(fdstate_get(fd) == NULL);
	fdstate_unlock();
	CHECK(!fdstate_slot(fd));
	close(fd);
}

TEST(dup_shares_the_record)
{
	int fd = sock(), err, copy = dup(fd), other = sock();
	struct fdslot *s;

	fdstate_lock();
	s = fdstate_new(fd, FD_CONNECT, AF_INET, &err);
	s->peer.port = 4242;
	CHECK_EQ_INT(fdstate_dup(fd, copy), 0);
	CHECK(fdstate_get(copy) == s);
	CHECK_EQ_INT(s->refs, 2);
	/* a change made through one number is the other's: nothing copied */
	fdstate_get(copy)->peer.port = 21;
	CHECK_EQ_INT(fdstate_get(fd)->peer.port, 21);
	/* a copy from an untracked descriptor drops the target's reference */
	CHECK_EQ_INT(fdstate_dup(other, copy), 0);
	CHECK(fdstate_get(copy) == NULL);
	CHECK(fdstate_get(fd) == s);
	CHECK_EQ_INT(s->refs, 1);
	fdstate_drop(fd);
	fdstate_unlock();
	close(fd);
	close(copy);
	close(other);
}

/* Far past the three "twins" the per-number slots kept in step: every
 * number of a long dup chain refers to the one record, and the record
 * lives until the last of them is closed. */
#define CHAIN 40

TEST(long_dup_chain)
{
	int fds[CHAIN], err;
	struct fdslot *s;
	uint32_t gen;

	fds[0] = sock();
	fdstate_lock();
	s = fdstate_new(fds[0], FD_CONNECT, AF_INET, &err);
	gen = s->gen;
	for (int i = 1; i < CHAIN; i++) {
		fds[i] = dup(fds[i - 1]); /* each a copy of the last copy */
		CHECK_EQ_INT(fdstate_dup(fds[i - 1], fds[i]), 0);
	}
	CHECK_EQ_INT(s->refs, CHAIN);
	s->hs.state = HS_REPLY; /* an exchange moved on through the first */
	for (int i = 0; i < CHAIN; i++) {
		struct fdslot *r = fdstate_get(fds[i]);
		CHECK(r == s);
		CHECK_EQ_INT(r ? r->hs.state : -1, HS_REPLY);
		CHECK_EQ_INT(r ? r->gen : 0, gen);
	}
	/* closing all but the last leaves the record whole */
	for (int i = 0; i < CHAIN - 1; i++) {
		fdstate_drop(fds[i]);
		close(fds[i]);
	}
	CHECK(fdstate_get(fds[CHAIN - 1]) == s);
	CHECK_EQ_INT(s->refs, 1);
	CHECK_EQ_INT(s->hs.state, HS_REPLY);
	fdstate_drop(fds[CHAIN - 1]);
	CHECK_EQ_INT(s->kind, FD_NONE); /* back in the pool */
	fdstate_unlock();
	close(fds[CHAIN - 1]);
}

/* One number of a chain reused for another socket behind our back:
 * that number carries nothing, the others keep the record. */
TEST(reused_number_of_a_chain)
{
	int fd = sock(), a = dup(fd), b = dup(fd), err, again;
	struct fdslot *s;

	fdstate_lock();
	s = fdstate_new(fd, FD_BIND, AF_INET, &err);
	fdstate_dup(fd, a);
	fdstate_dup(fd, b);
	fdstate_unlock();
	close(a); /* behind the table's back */
	again = sock();
	CHECK_EQ_INT(again, a);
	fdstate_lock();
	CHECK(fdstate_get(again) == NULL);
	CHECK(fdstate_get(fd) == s);
	CHECK(fdstate_get(b) == s);
	CHECK_EQ_INT(s->refs, 2);
	/* a record made for the reused number is its own */
	CHECK(fdstate_new(again, FD_CONNECT, AF_INET, &err) != s);
	CHECK_EQ_INT(s->kind, FD_BIND);
	/* made anew through one number of the socket, for all of them */
	CHECK(fdstate_new(b, FD_CONNECT, AF_INET, &err) == s);
	CHECK(fdstate_get(fd) == s && s->kind == FD_CONNECT);
	/* made plain through one number: no number finds it any more */
	fdstate_forget(s);
	CHECK(fdstate_get(fd) == NULL);
	CHECK(fdstate_get(b) == NULL);
	CHECK(fdstate_get(again) != NULL);
	fdstate_drop(again);
	fdstate_unlock();
	close(fd);
	close(b);
	close(again);
}

/* dup2() over a number of the same socket, then the original closed: a
 * waiter that noted (record, generation) goes on, as the socket is the
 * same; a record made anew, or another socket, makes it stop. */
TEST(waiter_sees_the_same_record)
{
	int fd = sock(), err, n2 = 200;
	struct fdslot *s;
	uint32_t gen;

	fdstate_lock();
	s = fdstate_new(fd, FD_CONNECT, AF_INET, &err);
	gen = s->gen;
	fdstate_unlock();
	CHECK_EQ_INT(fdstate_reserve(n2), 0);
	CHECK_EQ_INT(dup2(fd, n2), n2);
	fdstate_lock();
	CHECK_EQ_INT(fdstate_dup(fd, n2), 0);
	fdstate_drop(fd);
	close(fd);
	CHECK(fdstate_get(n2) == s && s->gen == gen);
	fdstate_drop(n2);
	fdstate_unlock();
	close(n2);
}

/* Many sockets at once: the pool grows past any fixed size. */
TEST(many_records)
{
	enum { N = 300 };
	int fds[N], err, made = 0;

	fdstate_lock();
	for (int i = 0; i < N; i++) {
		fds[i] = sock();
		made += fds[i] >= 0 && fdstate_new(fds[i], FD_CONNECT, AF_INET, &err) != NULL;
	}
	CHECK_EQ_INT(made, N);
	for (int i = 0; i < N; i++) {
		struct fdslot *s = fdstate_get(fds[i]);
		CHECK(s != NULL);
		for (int j = i + 1; j < N && j < i + 3; j++)
			CHECK(fdstate_get(fds[j]) != s);
		fdstate_drop(fds[i]);
		close(fds[i]);
	}
	fdstate_unlock();
}

TEST(bad_numbers)
{
	int err = 0;

	fdstate_lock();
	CHECK(fdstate_new(-1, FD_CONNECT, AF_INET, &err) == NULL);
	CHECK_EQ_INT(err, -EBADF);
	/* past the table: a clear EMFILE, never a silent miss */
	CHECK(fdstate_new(FDSTATE_CHUNKS * FDSTATE_CHUNK_SIZE, FD_CONNECT, AF_INET, &err) == NULL);
	CHECK_EQ_INT(err, -EMFILE);
	fdstate_unlock();
	CHECK_EQ_INT(fdstate_reserve(FDSTATE_CHUNKS * FDSTATE_CHUNK_SIZE), -EMFILE);
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
	RUN(dup_shares_the_record);
	RUN(long_dup_chain);
	RUN(reused_number_of_a_chain);
	RUN(waiter_sees_the_same_record);
	RUN(many_records);
	RUN(bad_numbers);
	RUN(lock_holds_signals);
	RUN(fork_leaves_the_lock_free);
	return check_done();
}
