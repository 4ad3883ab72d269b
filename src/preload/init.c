/*
 * init.c - start-up of the shim inside a program: nothing happens at
 * load time; the first hooked call that needs it finds the real
 * functions, then the first that needs the settings builds them.
 */
#include "log.h"
#include "primary.h"
#include "shim.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

struct config shim_cfg;
struct primary shim_primary = PRIMARY_INIT;
/* Until the settings exist, a range that no address is in. */
struct policy_fake shim_fake = {1, 0};

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static __thread bool in_init;
bool shim_real_done, shim_cfg_done;

static const char *env(const char *name)
{
	return getenv(name);
}

/*
 * Resolving the server's name may call back into our hooks on this
 * thread (the resolver's own sockets): those calls pass straight through
 * while in_init is set. Signals are held and cancellation deferred for
 * the while, so that a handler which longjmps out (wget's connect
 * timeout does) can never leave in_init set, and the once half done.
 */
static void build_settings(void)
{
	struct config *c = &shim_cfg;
	sigset_t all, old;
	int cancel;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	in_init = true;
	if (config_build(c, env) == 0)
		config_resolve_with(c, real.getaddrinfo);
	shim_fake = policy_fake_range(c);
	log_setup(c->debug, c->quiet, c->log_path);
	log_msg(LOG_INFO, "socks4wrap %s", SOCKS4WRAP_VERSION);
	if (c->error[0])
		log_msg(LOG_ERROR, "%s; connections that need the proxy will fail", c->error);
	in_init = false;
	__atomic_store_n(&shim_cfg_done, true, __ATOMIC_RELEASE);
	pthread_setcancelstate(cancel, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* fork(): the locks in a fixed order (a step holds the slot lock and
 * then takes primary's), released on both sides. */
static void fork_prepare(void)
{
	fdstate_fork_prepare();
	primary_fork_prepare(&shim_primary);
}

static void fork_parent(void)
{
	primary_fork_release(&shim_primary);
	fdstate_fork_parent();
}

static void fork_child(void)
{
	primary_fork_release(&shim_primary);
	fdstate_fork_child();
}

static void find_real(void)
{
	log_note_target();
	real_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	__atomic_store_n(&shim_real_done, true, __ATOMIC_RELEASE);
}

void shim_real_slow(void)
{
	pthread_once(&real_once, find_real);
}

bool shim_ready_slow(void)
{
	shim_real();
	if (in_init)
		return false;
	pthread_once(&cfg_once, build_settings);
	return true;
}

int shim_tid(void)
{
	return (int)syscall(SYS_gettid);
}
