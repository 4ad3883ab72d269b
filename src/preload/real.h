/*
 * real.h - the C library's own versions of the calls the shim takes over.
 *
 * Looked up once with dlsym(RTLD_NEXT); a missing one stays NULL and the
 * hook that needs it fails with ENOSYS (see REAL_CALL).
 */
#ifndef REAL_H
#define REAL_H

#include <netdb.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

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
	ssize_t (*read)(int fd, void *buf, size_t len);
	ssize_t (*readv)(int fd, const struct iovec *iov, int n);
	ssize_t (*recv)(int fd, void *buf, size_t len, int flags);
	ssize_t (*recvfrom)(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			    socklen_t *alen);
	ssize_t (*recvmsg)(int fd, struct msghdr *msg, int flags);
	int (*recvmmsg)(int fd, struct mmsghdr *msgs, unsigned int n, int flags,
			struct timespec *timeout);
	ssize_t (*preadv2)(int fd, const struct iovec *iov, int n, off_t off, int flags);
	ssize_t (*preadv64v2)(int fd, const struct iovec *iov, int n, off64_t off, int flags);
	ssize_t (*pwritev2)(int fd, const struct iovec *iov, int n, off_t off, int flags);
	ssize_t (*pwritev64v2)(int fd, const struct iovec *iov, int n, off64_t off, int flags);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	ssize_t (*writev)(int fd, const struct iovec *iov, int n);
	ssize_t (*send)(int fd, const void *buf, size_t len, int flags);
	/* _FORTIFY_SOURCE's checked reads, which call the C library's read
	 * inside it, past our read() */
	ssize_t (*__read_chk)(int fd, void *buf, size_t len, size_t buflen);
	ssize_t (*__recv_chk)(int fd, void *buf, size_t len, size_t buflen, int flags);
	ssize_t (*__recvfrom_chk)(int fd, void *buf, size_t len, size_t buflen, int flags,
				  struct sockaddr *addr, socklen_t *alen);
	int (*fcntl)(int fd, int cmd, ...);
	int (*fcntl64)(int fd, int cmd, ...);
	void *(*dlopen)(const char *file, int mode);
	void *(*dlmopen)(long lmid, const char *file, int mode);
	int (*execve)(const char *path, char *const argv[], char *const envp[]);
	int (*posix_spawn)(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
	/* name lookups (hooks_names.c) */
	int (*getaddrinfo)(const char *node, const char *service,
			   const struct addrinfo *hints, struct addrinfo **res);
	struct hostent *(*gethostbyname)(const char *name);
	struct hostent *(*gethostbyname2)(const char *name, int af);
	int (*gethostbyname_r)(const char *name, struct hostent *ret, char *buf,
			       size_t buflen, struct hostent **result, int *h_errnop);
	int (*gethostbyname2_r)(const char *name, int af, struct hostent *ret, char *buf,
				size_t buflen, struct hostent **result, int *h_errnop);
	int (*getnameinfo)(const struct sockaddr *sa, socklen_t salen, char *host,
			   socklen_t hostlen, char *serv, socklen_t servlen, int flags);
	struct hostent *(*gethostbyaddr)(const void *addr, socklen_t len, int type);
	int (*gethostbyaddr_r)(const void *addr, socklen_t len, int type, struct hostent *ret,
			       char *buf, size_t buflen, struct hostent **result, int *h_errnop);
};

extern struct real_fns real;

/* Fills `real` (once; thread-safe). */
void real_init(void);

#endif
