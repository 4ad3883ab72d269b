/*
 * s4sys.c - the calls the syscall mode must refuse or serve beyond what
 * s4probe and s4edge do; built statically (build/s4sys-static) and run
 * under socks4wrap-sup. Each subcommand prints one line "WHAT: ..." and
 * exits 0 when the call behaved as the mode promises.
 *
 *   s4sys uring            io_uring_setup() fails with ENOSYS
 *   s4sys x32              an x32 call fails with ENOSYS
 *   s4sys nest             installing a second seccomp listener: EBUSY
 *   s4sys hold HOST PORT N N threads connect at once to an echo server,
 *                          hold all N connections open, echo on each,
 *                          close; fails if a descriptor is left over
 *   s4sys fastopen HOST PORT  sendto(MSG_FASTOPEN) on a fresh socket,
 *                          then the echo comes back
 *   s4sys fastopen-msg HOST PORT  the same with sendmsg() and two iovecs
 *   s4sys fastopen-mmsg HOST PORT  the same with sendmmsg(), one message
 *   s4sys fastopen-cmsg HOST PORT  sendmsg() with a control message
 *                          (SO_TIMESTAMPING), which must reach the kernel
 *                          in its own layout
 *   s4sys names HOST PORT  getsockname()/getpeername() on a connected
 *                          socket with a short buffer, a NULL length and
 *                          a bad buffer, printed as the kernel's rules say
 *   s4sys acceptconn HOST PORT  a proxied connection to HOST:PORT, then a
 *                          listener bound to port 0: SO_ACCEPTCONN and
 *                          SO_DOMAIN of the listener
 *   s4sys collide HOST PORT  a proxied connection A, then sockets opened
 *                          and closed until one's inode equals A's in its
 *                          low 16 bits (where a direct-mapped table by
 *                          inode collides); that one is proxied too, and
 *                          A's getsockname() must be what it was
 *
 * i386 calls made with int 0x80 (x86 only; from the 64-bit build too,
 * with every pointer in static storage, below 4 GiB):
 *
 *   s4sys i386 HOST PORT   socket, connect, getpeername as the direct
 *                          i386 calls (Linux 4.3), then an echo
 *   s4sys socketcall HOST PORT  the same through socketcall(2), then a
 *                          plain socketcall sendto() (no MSG_FASTOPEN)
 *                          and its echo
 *   s4sys socketcall-unix DIR  a listener at DIR/u.sock, and a
 *                          socketcall connect to the relative "u.sock"
 *                          from DIR; says whether the peer credentials
 *                          name this process
 *   s4sys socketcall-race HOST PORT N  N socketcall connects whose
 *                          argument block names a Unix socket or a TCP
 *                          one, a second thread switching between the two
 *                          all the while; counts the outcomes
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
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

enum fastopen_call { FO_SENDTO, FO_SENDMSG, FO_SENDMMSG, FO_CMSG };

static int fastopen(enum fastopen_call how)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct iovec iov[2] = {{"fa", 2}, {"st\n", 3}};
	struct msghdr m = {.msg_name = &dst, .msg_namelen = sizeof(dst), .msg_iov = iov,
			   .msg_iovlen = 2};
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl = {{0}};
	struct mmsghdr mm;
	struct cmsghdr *cm;
	uint32_t none = 0; /* SO_TIMESTAMPING: record nothing */
	char buf[64];
	ssize_t n;

	switch (how) {
	case FO_SENDTO:
		n = sendto(fd, "fast\n", 5, MSG_FASTOPEN, (void *)&dst, sizeof(dst));
		break;
	case FO_CMSG:
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SO_TIMESTAMPING;
		cm->cmsg_len = CMSG_LEN(sizeof(none));
		memcpy(CMSG_DATA(cm), &none, sizeof(none));
		/* fall through */
	case FO_SENDMSG:
		n = sendmsg(fd, &m, MSG_FASTOPEN);
		break;
	case FO_SENDMMSG:
	default:
		mm = (struct mmsghdr){.msg_hdr = m};
		n = sendmmsg(fd, &mm, 1, MSG_FASTOPEN);
		if (n != 1) {
			printf("fastopen: sendmmsg %s\n", n < 0 ? strerrorname_np(errno) : "not 1");
			return 1;
		}
		n = mm.msg_len;
		break;
	}
	if (n != 5) {
		printf("fastopen: send %s\n", n < 0 ? strerrorname_np(errno) : "short");
		return 1;
	}
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	printf("fastopen: sent 5, echoed '%.*s'\n", (int)strcspn(buf, "\n"), buf);
	return strcmp(buf, "fast\n") != 0;
}

static int acceptconn(void)
{
	int ctl = socket(AF_INET, SOCK_STREAM, 0), l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET};
	int conn = -1, domain = -1;
	socklen_t len;

	if (connect(ctl, (void *)&dst, sizeof(dst)) < 0 || bind(l, (void *)&any, sizeof(any)) < 0 ||
	    listen(l, 1) < 0) {
		printf("acceptconn: setting up: %s\n", strerrorname_np(errno));
		return 1;
	}
	len = sizeof(conn);
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &conn, &len);
	len = sizeof(domain);
	getsockopt(l, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	printf("acceptconn: %d domain: %d\n", conn, domain);
	close(l);
	close(ctl);
	return !(conn == 1 && domain == AF_INET);
}

static void name_of(int fd, char *out, size_t cap)
{
	struct sockaddr_in sin = {0};
	socklen_t len = sizeof(sin);
	char a[INET_ADDRSTRLEN];

	if (getsockname(fd, (void *)&sin, &len) < 0)
		snprintf(out, cap, "(%s)", strerrorname_np(errno));
	else
		snprintf(out, cap, "%s:%u", inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a)),
			 ntohs(sin.sin_port));
}

#define COLLIDE_TRIES 4000000

static int collide(void)
{
	int a = socket(AF_INET, SOCK_STREAM, 0), b = -1, tries = 0;
	char before[64], after[64], nb[64];
	struct stat sa, st;

	if (connect(a, (void *)&dst, sizeof(dst)) < 0 || fstat(a, &sa) < 0) {
		printf("collide: connect %s\n", strerrorname_np(errno));
		return 1;
	}
	name_of(a, before, sizeof(before));
	while (b < 0 && tries++ < COLLIDE_TRIES) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0 || fstat(s, &st) < 0) {
			printf("collide: socket %s\n", strerrorname_np(errno));
			return 1;
		}
		if (st.st_ino != sa.st_ino && ((st.st_ino ^ sa.st_ino) & 0xffff) == 0)
			b = s;
		else
			close(s);
	}
	if (b < 0) {
		printf("collide: no inode like A's in %d sockets\n", COLLIDE_TRIES);
		return 1;
	}
	if (connect(b, (void *)&dst, sizeof(dst)) < 0) {
		printf("collide: connect B %s\n", strerrorname_np(errno));
		return 1;
	}
	name_of(a, after, sizeof(after));
	name_of(b, nb, sizeof(nb));
	printf("collide: inodes %lu and %lu after %d sockets; A's name %s, then %s; B's %s\n",
	       (unsigned long)sa.st_ino, (unsigned long)st.st_ino, tries, before, after, nb);
	printf("collide: %s\n", strcmp(before, after) ? "A's name changed" : "A's name kept");
	close(a);
	close(b);
	return strcmp(before, after) != 0;
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

#if defined(__i386__) || defined(__x86_64__)
/* --- i386 calls, through int 0x80 ------------------------------------------ */

/* arch/x86/entry/syscalls/syscall_32.tbl */
#define I386_SOCKETCALL 102
#define I386_SOCKET 359
#define I386_CONNECT 362
#define I386_GETPEERNAME 368

#if defined(__x86_64__)
#define INT80_CLOBBERS "memory", "r8", "r9", "r10", "r11"
#else
#define INT80_CLOBBERS "memory"
#endif

static long int80(long nr, long b, long c, long d)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(b), "c"(c), "d"(d) : INT80_CLOBBERS);
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* A pointer as an i386 call takes it; every one passed is to static
 * storage, which a non-PIE static 64-bit program keeps below 4 GiB. */
static uint32_t low(const volatile void *p)
{
	if ((uintptr_t)p > 0xffffffffu) {
		printf("i386: %p is not below 4 GiB (a PIE build?)\n", (const void *)p);
		exit(1);
	}
	return (uint32_t)(uintptr_t)p;
}

static uint32_t block[6];
static struct sockaddr_in low_dst, low_name;
static uint32_t low_len;

static long socketcall(int call)
{
	return int80(I386_SOCKETCALL, call, (long)low(block), 0);
}

static void set_block(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	block[0] = a;
	block[1] = b;
	block[2] = c;
	block[3] = d;
	block[4] = block[5] = 0;
}

static const char *low_name_str(char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &low_name.sin_addr, a, sizeof(a)),
		 ntohs(low_name.sin_port));
	return buf;
}

/* socket, connect and getpeername as direct i386 calls. */
static int i386_direct(void)
{
	char peer[64];
	long fd = int80(I386_SOCKET, AF_INET, SOCK_STREAM, 0);

	low_dst = dst;
	if (fd < 0 || int80(I386_CONNECT, fd, (long)low(&low_dst), sizeof(low_dst)) < 0) {
		printf("i386: connect %s\n", strerrorname_np(errno));
		return 1;
	}
	low_len = sizeof(low_name);
	if (int80(I386_GETPEERNAME, fd, (long)low(&low_name), (long)low(&low_len)) < 0) {
		printf("i386: getpeername %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("i386: connect ok peer=%s\n", low_name_str(peer, sizeof(peer)));
	if (!echo((int)fd, "i386\n")) {
		printf("i386: no echo\n");
		return 1;
	}
	printf("i386: echoed\n");
	return 0;
}

/* The same through socketcall(2), and an ordinary socketcall sendto. */
static int i386_socketcall(void)
{
	static char msg[] = "sc\n";
	char peer[64], buf[16];
	long fd, n;

	low_dst = dst;
	set_block(AF_INET, SOCK_STREAM, 0, 0);
	fd = socketcall(SYS_SOCKET);
	set_block((uint32_t)fd, low(&low_dst), sizeof(low_dst), 0);
	if (fd < 0 || socketcall(SYS_CONNECT) < 0) {
		printf("socketcall: connect %s\n", strerrorname_np(errno));
		return 1;
	}
	low_len = sizeof(low_name);
	set_block((uint32_t)fd, low(&low_name), low(&low_len), 0);
	if (socketcall(SYS_GETPEERNAME) < 0) {
		printf("socketcall: getpeername %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("socketcall: connect ok peer=%s\n", low_name_str(peer, sizeof(peer)));
	set_block((uint32_t)fd, low(msg), 3, 0); /* flags 0, no address */
	if (socketcall(SYS_SENDTO) != 3 || (n = recv((int)fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		printf("socketcall: sendto %s\n", strerrorname_np(errno));
		return 1;
	}
	buf[n] = 0;
	printf("socketcall: sendto echoed '%.*s'\n", (int)strcspn(buf, "\n"), buf);
	return strcmp(buf, msg) != 0;
}

/* A socketcall connect to a relative Unix socket path. */
static int i386_socketcall_unix(const char *dir)
{
	static struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "u.sock"};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0), a;
	char byte = 0;
	long r;

	if (chdir(dir) < 0 || bind(l, (void *)&un, sizeof(un)) < 0 || listen(l, 1) < 0) {
		printf("socketcall-unix: listening: %s\n", strerrorname_np(errno));
		return 1;
	}
	set_block((uint32_t)c, low(&un), sizeof(un), 0);
	if ((r = socketcall(SYS_CONNECT)) < 0) {
		printf("socketcall-unix: connect %s\n", strerrorname_np(errno));
		return 1;
	}
	a = accept(l, NULL, NULL);
	if (a < 0 || getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    write(c, "u", 1) != 1 || read(a, &byte, 1) != 1) {
		printf("socketcall-unix: after connect: %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("socketcall-unix: connect ok, byte '%c', peer %s\n", byte,
	       cred.pid == getpid() ? "is this process" : "is another process");
	return byte != 'u';
}

/* The descriptor numbers the racer switches the block between. */
#define RACE_UNIX 100
#define RACE_TCP 101

static volatile uint32_t race_block[3];
static atomic_bool race_stop;

static void *racer(void *unused)
{
	(void)unused;
	for (unsigned i = 0; !atomic_load_explicit(&race_stop, memory_order_relaxed); i++)
		race_block[0] = i & 1 ? RACE_TCP : RACE_UNIX;
	return NULL;
}

/*
 * Each round opens a Unix and a TCP socket under fixed numbers and makes
 * a socketcall connect to HOST:PORT whose block names one or the other,
 * whichever the racer wrote last. A supervisor that reads the block,
 * finds the Unix socket and hands the call back lets the kernel read the
 * block again, and find the TCP socket: a direct connection.
 */
static int i386_race(int n)
{
	int connected = 0, refused = 0, other = 0, first = 0;
	pthread_t t;

	low_dst = dst;
	race_block[0] = RACE_UNIX;
	race_block[1] = low(&low_dst);
	race_block[2] = sizeof(low_dst);
	pthread_create(&t, NULL, racer, NULL);
	for (int i = 0; i < n; i++) {
		int u = socket(AF_UNIX, SOCK_STREAM, 0), s = socket(AF_INET, SOCK_STREAM, 0);
		long r;

		if (dup2(u, RACE_UNIX) < 0 || dup2(s, RACE_TCP) < 0) {
			printf("race: dup2 %s\n", strerrorname_np(errno));
			return 1;
		}
		close(u);
		close(s);
		r = int80(I386_SOCKETCALL, SYS_CONNECT, (long)low(race_block), 0);
		if (r == 0)
			connected++;
		else if (errno == EINVAL) /* an inet address on the Unix socket */
			refused++;
		else if (!other++)
			first = errno;
		close(RACE_UNIX);
		close(RACE_TCP);
	}
	atomic_store(&race_stop, true);
	pthread_join(t, NULL);
	printf("race: %d connects, %d connected, %d refused, %d other%s%s\n", n, connected,
	       refused, other, other ? ", first " : "", other ? strerrorname_np(first) : "");
	return other != 0;
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
#endif
#if defined(__i386__) || defined(__x86_64__)
	if (argc == 4 && !strcmp(argv[1], "i386"))
		return i386_direct();
	if (argc == 4 && !strcmp(argv[1], "socketcall"))
		return i386_socketcall();
	if (argc == 3 && !strcmp(argv[1], "socketcall-unix"))
		return i386_socketcall_unix(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "socketcall-race"))
		return i386_race(atoi(argv[4]));
#endif
	if (argc == 2 && !strcmp(argv[1], "nest"))
		return nest();
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "fastopen"))
		return fastopen(FO_SENDTO);
	if (argc == 4 && !strcmp(argv[1], "fastopen-msg"))
		return fastopen(FO_SENDMSG);
	if (argc == 4 && !strcmp(argv[1], "fastopen-mmsg"))
		return fastopen(FO_SENDMMSG);
	if (argc == 4 && !strcmp(argv[1], "fastopen-cmsg"))
		return fastopen(FO_CMSG);
	if (argc == 4 && !strcmp(argv[1], "names"))
		return names();
	if (argc == 4 && !strcmp(argv[1], "acceptconn"))
		return acceptconn();
	if (argc == 4 && !strcmp(argv[1], "collide"))
		return collide();
	fprintf(stderr, "usage: s4sys uring|x32|nest | hold HOST PORT N | "
		"fastopen[-msg|-mmsg|-cmsg] HOST PORT | names HOST PORT | acceptconn HOST PORT | "
		"collide HOST PORT | "
		"i386|socketcall HOST PORT | socketcall-unix DIR | socketcall-race HOST PORT N\n");
	return 2;
}
