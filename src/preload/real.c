/*
 * real.c - find the next definition of each hooked call (see real.h).
 */
#include "real.h"
#include "log.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <netdb.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

struct real_fns real;

/* Where this library lies in memory: its loaded segments' span. */
struct span {
	uintptr_t lo, hi;
};

static int span_of_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t me = (uintptr_t)span_of_self, lo = UINTPTR_MAX, hi = 0;
	struct span *s = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		lo = a < lo ? a : lo;
		hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
	}
	if (me < lo || me >= hi)
		return 0;
	*s = (struct span){lo, hi};
	return 1;
}

static void *next(const char *name, const struct span *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	/* Should we ever be found again (a second copy of the shim in
	 * LD_PRELOAD), calling it would recurse forever: refuse it. Judged
	 * by where it lies, so that nothing here refers to our own hooks
	 * (and not by dladdr(), which searches a whole symbol table for
	 * each: a millisecond for all of them). */
	if (p && (uintptr_t)p >= self->lo && (uintptr_t)p < self->hi)
		p = NULL;
	if (!p)
		log_msg(LOG_ERROR, "the C library has no %s(); calls to it will fail with ENOSYS", name);
	return p;
}

#define FIND(fn) (real.fn = (__typeof__(real.fn))next(#fn, &self))

void real_init(void)
{
	struct span self = {0, 0};
	__typeof__(real.connect) connect_fn;

	dl_iterate_phdr(span_of_self, &self);

	connect_fn = (__typeof__(real.connect))next("connect", &self);
	FIND(bind);
	FIND(listen);
	FIND(accept);
	FIND(accept4);
	FIND(getsockname);
	FIND(getpeername);
	FIND(getsockopt);
	FIND(close);
	FIND(dup);
	FIND(dup2);
	FIND(dup3);
	FIND(sendto);
	FIND(sendmsg);
	FIND(sendmmsg);
	FIND(read);
	FIND(readv);
	FIND(recv);
	FIND(recvfrom);
	FIND(recvmsg);
	FIND(recvmmsg);
	FIND(preadv2);
	FIND(preadv64v2);
	FIND(pwritev2);
	FIND(pwritev64v2);
	FIND(write);
	FIND(writev);
	FIND(send);
	FIND(__read_chk);
	FIND(__recv_chk);
	FIND(__recvfrom_chk);
	FIND(fcntl);
	FIND(fcntl64);
	FIND(dlopen);
	FIND(dlmopen);
	FIND(execve);
	FIND(posix_spawn);
	FIND(getaddrinfo);
	FIND(gethostbyname);
	FIND(gethostbyname2);
	FIND(gethostbyname_r);
	FIND(gethostbyname2_r);
	FIND(getnameinfo);
	FIND(gethostbyaddr);
	FIND(gethostbyaddr_r);
	/* Last, and published: the connect() hook takes real.connect set to
	 * mean that all of them are (one test on its fast path, not two). */
	__atomic_store_n(&real.connect, connect_fn, __ATOMIC_RELEASE);
}
