/*
 * s4sys.c - the calls the syscall mode must refuse or serve beyond what
 * s4probe and s4edge do; built statically (build/s4sys-static) and run
 * under socks4wrap-sup. Each subcommand prints one line "WHAT: ..." and
 * exits 0 when the call behaved as the mode promises.
 *
 *   s4sys uring            io_uring_setup() fails with ENOSYS
 *   s4sys x32              an x32 call fails with ENOSYS
 *   s4sys i386             an i386 socketcall(SOCKET) fails (EACCES)
 *   s4sys nest             installing a second seccomp listener: EBUSY
 *   s4sys hold HOST PORT N N threads connect at once to an echo server,
 *                          hold all N connections open, echo on each,
 *                          close; fails if a descriptor is left over
 *   s4sys fastopen HOST PORT  sendto(MSG_FASTOPEN) on a fresh socket,
 *                          then the echo comes back
 *   s4sys fastopen-msg HOST PORT  the same with sendmsg() and two iovecs
 *   s4sys names HOST PORT  getsockname()/getpeername() on a connected
 *                          socket with a short buffer, a NULL length and
 *                          a bad buffer, printed as the kernel's rules say
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static struct sockaddr_in dst;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int report(const char *what, long r, int want)
{
	int err = r < 0 ? errno : 0;

	printf("%s: %s\n", what, r < 0 ? strerrorname_np(err) : "succeeded");
	return r < 0 && err == want ? 0 : 1;
}

static int echo(int fd, const char *msg)
{
	char buf[128];
	size_t len = strlen(msg), got = 0;

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return memcmp(buf, msg, len) == 0;
}

static pthread_barrier_t all_connected, all_echoed;
static int hold_bad;
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

static void *holder(void *arg)
{
	char msg[32];
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	const char *what = "socket";
	int err = 0;

	ok = fd >= 0 && (what = "connect", connect(fd, (void *)&dst, sizeof(dst)) == 0);
	err = ok ? 0 : errno;
	pthread_barrier_wait(&all_connected); /* all N open at this point */
	snprintf(msg, sizeof(msg), "holder %ld\n", (long)(intptr_t)arg);
	if (ok && !(ok = echo(fd, msg))) {
		what = "echo";
		err = errno;
	}
	pthread_barrier_wait(&all_echoed);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		pthread_mutex_lock(&bad_lock);
		if (!hold_bad++) /* say the first failure */
			printf("hold: %s failed: %s\n", what, strerrorname_np(err));
		pthread_mutex_unlock(&bad_lock);
	}
	return NULL;
}

static int hold(int n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t a;
	int before = count_fds(), started = 0;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_barrier_init(&all_connected, NULL, (unsigned)n);
	pthread_barrier_init(&all_echoed, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], &a, holder, (void *)(intptr_t)i) == 0)
			started++;
	if (started != n) {
		printf("hold: started only %d of %d threads\n", started, n);
		return 1;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("hold: %d of %d connections echoed, %d descriptors left over\n",
	       n - hold_bad, n, count_fds() - before);
	return hold_bad || count_fds() != before;
}

static int fastopen(bool msg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct iovec iov[2] = {{"fa", 2}, {"st\n", 3}};
	struct msghdr m = {.msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = iov,
			   .msg_iovlen = 2};
	char buf[64];
	ssize_t n;

	if (msg)
		n = sendmsg(fd, &m, MSG_FASTOPEN);
	else
		n = sendto(fd, "fast\n", 5, MSG_FASTOPEN, (void *)&dst, sizeof(dst));
	if (n != 5) {
		printf("fastopen: sendto %s\n", n < 0 ? strerrorname_np(errno) : "short");
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	printf("fastopen: sent 5, echoed '%.*s'\n", (int)strcspn(buf, "\n"), buf);
	return strcmp(buf, "fast\n") != 0;
}

static int names(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin;
	socklen_t len;
	char a[INET_ADDRSTRLEN];
	int r;

	if (connect(fd, (void *)&dst, sizeof(dst)) < 0) {
		printf("names: connect %s\n", strerrorname_np(errno));
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	len = 6; /* family and port only */
	r = getpeername(fd, (void *)&sin, &len);
	printf("names: short peer r=%d len=%u port=%u addr=%s\n", r, (unsigned)len,
	       ntohs(sin.sin_port), inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a)));
	r = getpeername(fd, (void *)&sin, NULL);
	printf("names: NULL length %s\n", r < 0 ? strerrorname_np(errno) : "succeeded");
	len = sizeof(sin);
	r = getpeername(fd, (void *)8, &len);
	printf("names: bad buffer %s\n", r < 0 ? strerrorname_np(errno) : "succeeded");
	len = (socklen_t)-1;
	r = getpeername(fd, (void *)&sin, &len);
	printf("names: negative length %s\n", r < 0 ? strerrorname_np(errno) : "succeeded");
	len = sizeof(sin);
	r = getpeername(fd, (void *)&sin, &len);
	printf("names: peer r=%d len=%u %s:%u\n", r, (unsigned)len,
	       inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a)), ntohs(sin.sin_port));
	close(fd);
	return 0;
}

static int nest(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog p = {1, &allow};

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return report("nest", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				      SECCOMP_FILTER_FLAG_NEW_LISTENER, &p), EBUSY);
}

#if defined(__x86_64__)
/* socketcall(SYS_SOCKET, {AF_INET, SOCK_STREAM, 0}) through int 0x80;
 * the argument block must sit below 4 GiB, as a 32-bit pointer. */
static long i386_socket(void)
{
	static unsigned args[3] = {AF_INET, SOCK_STREAM, 0};
	long r;

	if ((uintptr_t)args > 0xffffffffu) {
		errno = EFAULT;
		return -1;
	}
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(102L), "b"(1L), "c"((long)(uintptr_t)args)
			 : "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
#endif

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 4) {
		dst.sin_family = AF_INET;
		dst.sin_port = htons((uint16_t)atoi(argv[3]));
		if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
			return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "uring"))
		return report("uring", syscall(SYS_io_uring_setup, 8, calloc(1, 120)), ENOSYS);
#if defined(__x86_64__)
	if (argc == 2 && !strcmp(argv[1], "x32"))
		return report("x32", syscall(0x40000000 | SYS_getpid), ENOSYS);
	if (argc == 2 && !strcmp(argv[1], "i386"))
		return report("i386", i386_socket(), EACCES);
#endif
	if (argc == 2 && !strcmp(argv[1], "nest"))
		return nest();
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "fastopen"))
		return fastopen(false);
	if (argc == 4 && !strcmp(argv[1], "fastopen-msg"))
		return fastopen(true);
	if (argc == 4 && !strcmp(argv[1], "names"))
		return names();
	fprintf(stderr, "usage: s4sys uring|x32|i386|nest | hold HOST PORT N | "
		"fastopen[-msg] HOST PORT | names HOST PORT\n");
	return 2;
}
