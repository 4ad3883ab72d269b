/*
 * real.c - find the next definition of each hooked call (see real.h).
 */
#include "real.h"
#include "log.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <unistd.h>

struct real_fns real;

static void *next(const char *name, void *self)
{
	void *p = dlsym(RTLD_NEXT, name);

	/* Should we ever be found again (a second copy of the shim in
	 * LD_PRELOAD), calling it would recurse forever: refuse it. */
	if (p == self)
		p = NULL;
	if (!p)
		log_msg(LOG_ERROR, "the C library has no %s(); calls to it will fail with ENOSYS", name);
	return p;
}

#define FIND(fn) (real.fn = (__typeof__(real.fn))next(#fn, (void *)fn))

void real_init(void)
{
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
	FIND(fcntl);
	FIND(fcntl64);
	FIND(epoll_ctl);
	FIND(getaddrinfo);
	FIND(gethostbyname);
	FIND(gethostbyname2);
	FIND(gethostbyname_r);
	FIND(gethostbyname2_r);
	FIND(getnameinfo);
	FIND(gethostbyaddr);
	FIND(gethostbyaddr_r);
}
