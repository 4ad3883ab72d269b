/*
 * real.h - the C library's own versions of the calls the shim takes over.
 *
 * Looked up once with dlsym(RTLD_NEXT); a missing one stays NULL and the
 * hook that needs it fails with ENOSYS (see REAL_CALL).
 */
#ifndef REAL_H
#define REAL_H

#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>

struct real_fns {
	int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
	int (*bind)(int fd, const struct sockaddr *addr, socklen_t len);
	int (*listen)(int fd, int backlog);
	int (*accept)(int fd, struct sockaddr *addr, socklen_t *len);
	int (*accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags);
	int (*getsockname)(int fd, struct sockaddr *addr, socklen_t *len);
	int (*getpeername)(int fd, struct sockaddr *addr, socklen_t *len);
	int (*getsockopt)(int fd, int level, int name, void *val, socklen_t *len);
	int (*close)(int fd);
	int (*dup)(int fd);
	int (*dup2)(int fd, int fd2);
	int (*dup3)(int fd, int fd2, int flags);
	ssize_t (*sendto)(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t alen);
	ssize_t (*sendmsg)(int fd, const struct msghdr *msg, int flags);
	int (*sendmmsg)(int fd, struct mmsghdr *msgs, unsigned int n, int flags);
	int (*fcntl)(int fd, int cmd, ...);
	int (*fcntl64)(int fd, int cmd, ...);
	void *(*dlopen)(const char *file, int mode);
	void *(*dlmopen)(long lmid, const char *file, int mode);
	int (*execve)(const char *path, char *const argv[], char *const envp[]);
	int (*posix_spawn)(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
};

extern struct real_fns real;

/* Fills `real` (once; thread-safe). */
void real_init(void);

#endif
