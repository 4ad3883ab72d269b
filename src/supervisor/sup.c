/*
 * sup.c - socks4wrap-sup, the syscall-mode supervisor.
 *
 *   socks4wrap-sup COMMAND [ARGS...]
 *
 * Runs COMMAND with its IPv4 TCP connections sent through the SOCKS
 * server however it was linked (static, Go, anything that makes its own
 * system calls), reading the same SOCKS4_* variables and socks4rc as the
 * library. Returns COMMAND's exit status (a command killed by a signal
 * kills the supervisor with the same signal), 127 when COMMAND is not
 * found, 126 when it cannot be run, 1 when the kernel lacks what the
 * mode needs.
 *
 * The arrangement: the supervisor is the command's parent and a child
 * subreaper. Being the parent gives it the exit status and the signals
 * to forward; being every filtered process's ancestor (orphans are
 * reparented to it, not to init) is what pidfd_getfd() and
 * process_vm_readv() need under Yama's ptrace_scope 1, and reaping them
 * is what lets the kernel release the filter, so the listener reports
 * POLLHUP once the last process of the tree is gone: the supervisor
 * serves until then.
 *
 * The supervisor itself never runs with anything preloaded: the library
 * would hook its own connections (to the SOCKS server, through that
 * server) and sit in a process that reads the whole tree's memory. The
 * exec hooks hand LD_PRELOAD over as SOCKS4WRAP_SUP_PRELOAD; started any
 * other way with LD_PRELOAD set, the supervisor sets it aside the same
 * way and executes itself again. The command gets it back unchanged.
 */
#include "log.h"
#include "policy.h"
#include "sup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct config sup_cfg;

#define SUP_PRELOAD "SOCKS4WRAP_SUP_PRELOAD"

/* Started with something preloaded: LD_PRELOAD into SUP_PRELOAD, and the
 * supervisor again without it. Raw, so that a preloaded execve hook is not
 * asked. Returns only when that failed. */
static void unpreload(char **argv)
{
	const char *pre = getenv("LD_PRELOAD");

	if (!pre || !*pre)
		return;
	if (setenv(SUP_PRELOAD, pre, 1) < 0 || unsetenv("LD_PRELOAD") < 0)
		return;
	syscall(SYS_execve, "/proc/self/exe", argv, environ);
	fprintf(stderr, "socks4wrap: syscall mode: cannot leave LD_PRELOAD to the command: %s\n",
		strerror(errno));
	setenv("LD_PRELOAD", getenv(SUP_PRELOAD), 1);
	unsetenv(SUP_PRELOAD);
}

/* In the child: the command's LD_PRELOAD back, as it was given. */
static void repreload(void)
{
	const char *pre = getenv(SUP_PRELOAD);

	if (pre) {
		setenv("LD_PRELOAD", pre, 1);
		unsetenv(SUP_PRELOAD);
	}
}

static const char *env(const char *name)
{
	return getenv(name);
}

/* The signals passed on to the command: the ones a supervisor that is
 * told to stop should pass on rather than die of. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static void sigset_ours(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(s, forwarded[i]);
}

/* The child's report over the socket pair: the listener with 0, or an
 * errno and the feature that was refused. */
struct report {
	int err;
	char what[200];
};

static int send_report(int sock, int fd, int err, const char *what)
{
	struct report r = {.err = err};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&r, sizeof(r)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	snprintf(r.what, sizeof(r.what), "%s", what ? what : "");
	if (fd >= 0) {
		struct cmsghdr *cm;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(r) ? 0 : -errno;
}

/* Receives the report: the listener (>= 0), or -1 with r filled. */
static int recv_report(int sock, struct report *r)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {r, sizeof(*r)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*r)) {
		r->err = n < 0 ? errno : EPIPE;
		snprintf(r->what, sizeof(r->what), "starting the command");
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return r->err ? -1 : fd;
}

/*
 * Signals. The supervisor passes on what was sent to it alone; what was
 * sent to a process group the command is in reached the command already,
 * and passing it on would deliver it twice (one Ctrl-C counted as two).
 * siginfo cannot tell `kill -INT PID` from `kill -INT -PGID`, so the two
 * are kept in different process groups wherever nothing depends on their
 * sharing one, which is wherever there is no controlling terminal (no job
 * control, no Ctrl-C; scripts, CI, services, setsid):
 *
 *   the supervisor leads its group (setsid, a service manager): the
 *     command gets a group of its own, and what the supervisor passes on
 *     goes to that whole group, as a group signal would have; the command
 *     dies with the supervisor (PR_SET_PDEATHSIG), as a SIGKILL to the
 *     group would have killed both;
 *   it does not (a script's child, timeout's): it leaves the command in
 *     the group and takes one of its own.
 *
 * Under a controlling terminal both stay in the job's group, for job
 * control; the terminal's signals (SI_KERNEL) reached the command and are
 * not passed on, and a user's `kill -INT -PGID` reaches it twice.
 */
enum groups {
	GROUP_SHARED,	  /* a terminal's job: the command in ours */
	GROUP_COMMAND_OWN, /* we lead ours: the command takes its own */
	GROUP_SUP_OWN,	  /* the command stays in the caller's, we take our own */
};

static enum groups groups_choose(void)
{
	int tty = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

	if (tty >= 0) {
		close(tty);
		return GROUP_SHARED;
	}
	return getpgrp() == getpid() ? GROUP_COMMAND_OWN : GROUP_SUP_OWN;
}

/* In the child: the filter, the listener to the parent, then the
 * command. Never returns. */
static void run_child(int sock, char **argv, const sigset_t *oldmask,
		      const struct rlimit *nofile, enum groups groups, pid_t sup)
{
	const char *what = "prctl(PR_SET_NO_NEW_PRIVS)";
	char go;
	int fd;

	if (groups == GROUP_COMMAND_OWN) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != sup) /* it died before we asked */
			_exit(1);
	}
	signal(SIGPIPE, SIG_DFL); /* the command gets the default, not ours */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fd = -errno;
	else
		fd = sup_filter_install(sup_cfg.bind && !sup_cfg.error[0], &what);
	if (fd < 0) {
		send_report(sock, -1, -fd, what);
		_exit(1);
	}
	if (send_report(sock, fd, 0, NULL) < 0)
		_exit(1);
	close(fd); /* the command must not hold its own listener */
	/* wait until the supervisor serves, so the command's first call
	 * finds it (and a supervisor that failed leaves nothing running) */
	if (read(sock, &go, 1) != 1)
		_exit(1);
	close(sock);
	setrlimit(RLIMIT_NOFILE, nofile);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	repreload();
	execvp(argv[0], argv);
	fprintf(stderr, "socks4wrap: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Dies the way the command died, so the caller's shell sees the same. */
static void die_like(int sig)
{
	struct rlimit no_core = {0, 0};
	sigset_t s;

	setrlimit(RLIMIT_CORE, &no_core); /* the command dumped its own */
	signal(sig, SIG_DFL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	exit(128 + sig);
}

/* Reaps every child that ended; the command's status into *status. */
static void reap(pid_t child, int *status, int *done)
{
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == child) {
			*status = st;
			*done = 1;
		}
}

/* A signal someone sent us goes to the command (to its group when it has
 * its own); one from the terminal (SI_KERNEL) reached the command's
 * process group already. */
static void forward(const struct signalfd_siginfo *si, pid_t child, enum groups groups)
{
	if (si->ssi_signo == SIGCHLD || si->ssi_code == SI_KERNEL ||
	    (pid_t)si->ssi_pid == child)
		return;
	kill(groups == GROUP_COMMAND_OWN ? -child : child, (int)si->ssi_signo);
}

static int serve(int listener, int sfd, pid_t child, enum groups groups)
{
	int status = 0, done = 0, hup = 0;

	while (!done || !hup) {
		struct pollfd p[2] = {{.fd = listener, .events = 0},
				      {.fd = sfd, .events = POLLIN}};
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & (POLLHUP | POLLERR))
			hup = 1; /* no filtered process is left */
		if (p[1].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				forward(&si, child, groups);
			reap(child, &status, &done);
		}
		if (hup)
			reap(child, &status, &done);
		if (hup && !done) {
			/* every filtered process is gone and reaped but ours
			 * was not seen: take it now, blocking */
			if (waitpid(child, &status, 0) == child || errno == ECHILD)
				done = 1;
		}
	}
	if (WIFSIGNALED(status))
		die_like(WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	sigset_t ours, old;
	struct rlimit nofile, more;
	struct report r;
	int sv[2], sfd, listener, devnull;
	bool go;
	enum groups groups;
	pid_t child, self;

	if (argc < 2) {
		fprintf(stderr, "usage: socks4wrap-sup COMMAND [ARGS...]\n");
		return 2;
	}
	unpreload(argv);
	config_build(&sup_cfg, env);
	if (!sup_cfg.error[0])
		config_resolve(&sup_cfg);
	log_setup(sup_cfg.debug, sup_cfg.quiet, sup_cfg.log_path);
	if (sup_cfg.error[0])
		log_msg(LOG_ERROR, "%s; connections that need the proxy will fail",
			sup_cfg.error);
	if (policy_names_syscall_note(&sup_cfg))
		log_msg(LOG_ERROR, "%s", policy_names_syscall_note(&sup_cfg));

	/* Serving a call holds two descriptors (the caller's pidfd and the
	 * socket's copy): the supervisor takes the hard limit, the command
	 * keeps the limits it was given. */
	getrlimit(RLIMIT_NOFILE, &nofile);
	more = nofile;
	more.rlim_cur = more.rlim_max;
	setrlimit(RLIMIT_NOFILE, &more);

	signal(SIGPIPE, SIG_IGN);
	sigset_ours(&ours);
	if (sigprocmask(SIG_BLOCK, &ours, &old) < 0 ||
	    (sfd = signalfd(-1, &ours, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "socks4wrap: syscall mode: %s\n", strerror(errno));
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	groups = groups_choose();
	self = getpid();
	child = fork();
	if (child < 0) {
		fprintf(stderr, "socks4wrap: syscall mode: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		close(sv[0]);
		close(sfd);
		run_child(sv[1], argv + 1, &old, &nofile, groups, self);
	}
	/* both sides set the groups, so that neither order of the two
	 * processes leaves a signal passed on to the wrong one */
	if (groups == GROUP_COMMAND_OWN)
		setpgid(child, child);
	else if (groups == GROUP_SUP_OWN)
		setpgid(0, 0);
	close(sv[1]);
	listener = recv_report(sv[0], &r);
	if (listener < 0 || sup_notify_start(listener) < 0) {
		if (listener < 0)
			fprintf(stderr, "socks4wrap: syscall mode needs %s: %s\n", r.what,
				strerror(r.err));
		waitpid(child, NULL, 0);
		return 1;
	}
	/* The command has the terminal and the pipes; we keep stderr for
	 * the log only, so a reader of the command's output sees its end
	 * when the command's tree ends. Done before the command starts, so
	 * that it finds the supervisor's descriptors as they will stay. */
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	go = write(sv[0], "g", 1) == 1;
	close(sv[0]);
	if (!go) {
		waitpid(child, NULL, 0);
		return 1;
	}
	return serve(listener, sfd, child, groups);
}
