/*
 * s4exec.c - runs a program through one chosen member of the exec family,
 * or posix_spawn, so that tests/exec.bats can try each hook.
 *
 *   s4exec CALL PROG [ARG...]
 *	CALL is execve, execv, execvp, execvpe, execl, execle, execlp
 *	(at most 8 ARGs), execveat (PROG's directory as dirfd, the base name
 *	as path), fexecve (PROG opened O_RDONLY | O_CLOEXEC), fexecve-opath
 *	(opened O_PATH | O_CLOEXEC, which cannot be read), posix_spawn or
 *	posix_spawnp. argv[0] is PROG, the environment this one's.
 *	S4EXEC_PAD=N in the environment appends one argument of N bytes
 *	(past the kernel's 128 KiB per argument: E2BIG).
 *	An exec that returns prints "CALL PROG: ERRNO-NAME" and exits 126.
 *	A spawn waits for the child and exits with its status, or prints
 *	"CALL PROG: ERRNO-NAME" and exits 126 when posix_spawn fails (3 when
 *	it succeeded but changed errno).
 *	S4EXEC_BAD=argv or S4EXEC_BAD=envp passes a pointer to an unreadable
 *	page instead of that array (execve, execvpe, execveat, fexecve,
 *	posix_spawn, posix_spawnp): the kernel's answer is EFAULT.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int failed(const char *call, const char *prog, int err)
{
	printf("%s %s: %s\n", call, prog, strerrorname_np(err));
	return 126;
}

/* execle's environment must follow the list's own NULL. */
static void execle_n(const char *prog, char **v, char **env)
{
	int n = 0;

	while (n < 9 && v[n])
		n++;
	switch (n) {
	case 0:
	case 1: execle(prog, v[0], (char *)NULL, env); break;
	case 2: execle(prog, v[0], v[1], (char *)NULL, env); break;
	case 3: execle(prog, v[0], v[1], v[2], (char *)NULL, env); break;
	case 4: execle(prog, v[0], v[1], v[2], v[3], (char *)NULL, env); break;
	case 5: execle(prog, v[0], v[1], v[2], v[3], v[4], (char *)NULL, env); break;
	case 6: execle(prog, v[0], v[1], v[2], v[3], v[4], v[5], (char *)NULL, env); break;
	case 7: execle(prog, v[0], v[1], v[2], v[3], v[4], v[5], v[6], (char *)NULL, env); break;
	case 8: execle(prog, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], (char *)NULL, env); break;
	default: execle(prog, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], (char *)NULL, env);
	}
}

int main(int argc, char **argv)
{
	const char *call, *prog, *pad = getenv("S4EXEC_PAD"), *bad = getenv("S4EXEC_BAD");
	char *v[10] = {0};
	char **args, **env = environ;

	if (argc < 3) {
		fprintf(stderr, "usage: s4exec CALL PROG [ARG...]\n");
		return 2;
	}
	call = argv[1];
	prog = argv[2];
	args = argv + 2;
	if (pad) {
		size_t n = (size_t)atol(pad);
		char *big = malloc(n + 1);

		args = calloc((size_t)argc, sizeof(char *));
		if (!big || !args)
			return failed("malloc", prog, ENOMEM);
		memset(big, 'x', n);
		big[n] = '\0';
		memcpy(args, argv + 2, (size_t)(argc - 2) * sizeof(char *));
		args[argc - 2] = big;
	}
	for (int i = 0; i < 9 && args[i]; i++)
		v[i] = args[i];
	if (bad) {
		char **none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (none == MAP_FAILED)
			return failed("mmap", prog, errno);
		if (!strcmp(bad, "argv"))
			args = none;
		else
			env = none;
	}
	fflush(stdout);

	if (!strcmp(call, "posix_spawn") || !strcmp(call, "posix_spawnp")) {
		int (*spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			     const posix_spawnattr_t *, char *const[], char *const[]) =
			call[11] == 'p' ? posix_spawnp : posix_spawn;
		int st, err;
		pid_t pid;

		errno = EDOM; /* a successful spawn must leave errno alone */
		if ((err = spawn(&pid, prog, NULL, NULL, args, env)))
			return failed(call, prog, err);
		if (errno != EDOM) {
			printf("%s %s: succeeded but changed errno to %s\n", call, prog,
			       strerrorname_np(errno));
			return 3;
		}
		if (waitpid(pid, &st, 0) < 0)
			return failed(call, prog, errno);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	if (!strcmp(call, "execve"))
		execve(prog, args, env);
	else if (!strcmp(call, "execv"))
		execv(prog, args);
	else if (!strcmp(call, "execvp"))
		execvp(prog, args);
	else if (!strcmp(call, "execvpe"))
		execvpe(prog, args, env);
	else if (!strcmp(call, "execl"))
		execl(prog, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], (char *)NULL);
	else if (!strcmp(call, "execlp"))
		execlp(prog, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], (char *)NULL);
	else if (!strcmp(call, "execle"))
		execle_n(prog, v, environ);
	else if (!strcmp(call, "execveat")) {
		char dir[4096], base[4096];
		int dfd;

		snprintf(dir, sizeof(dir), "%s", prog);
		snprintf(base, sizeof(base), "%s", prog);
		if ((dfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return failed("open", dir, errno);
		execveat(dfd, basename(base), args, env, 0);
	} else if (!strcmp(call, "fexecve") || !strcmp(call, "fexecve-opath")) {
		int fd = open(prog, (call[7] ? O_PATH : O_RDONLY) | O_CLOEXEC);

		if (fd < 0)
			return failed("open", prog, errno);
		fexecve(fd, args, env);
	} else {
		fprintf(stderr, "s4exec: unknown call %s\n", call);
		return 2;
	}
	return failed(call, prog, errno);
}
