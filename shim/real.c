/*
 * real.c - find the next definition of each hooked call (see real.h).
 */
#include "real.h"
#include "log.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <spawn.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

struct real_fns real;

/* Our own base address: a symbol found there is one of our hooks. */
static const void *self_base(void)
{
	Dl_info me;

	return dladdr((void *)self_base, &me) ? me.dli_fbase : NULL;
}

static void *next(const char *name, const void *self)
{
	void *p = dlsym(RTLD_NEXT, name);
	Dl_info at;

	/* Should we ever be found again (a second copy of the shim in
	 * LD_PRELOAD), calling it would recurse forever: refuse it. Asked of
	 * the loader, so that nothing here refers to our own hooks. */
	if (p && self && dladdr(p, &at) && at.dli_fbase == self)
		p = NULL;
	if (!p)
		log_msg(LOG_ERROR, "the C library has no %s(); calls to it will fail with ENOSYS", name);
	return p;
}

#define FIND(fn) (real.fn = (__typeof__(real.fn))next(#fn, self))

void real_init(void)
{
	const void *self = self_base();

	FIND(connect);
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
	FIND(write);
	FIND(writev);
	FIND(send);
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
}
