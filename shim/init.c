/*
 * init.c - start-up of the shim inside a program: nothing happens at
 * load time; the first hooked call that needs it builds the settings.
 */
#include "log.h"
#include "shim.h"

#include <pthread.h>
#include <stdlib.h>

struct config shim_cfg;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static __thread bool in_init;
bool shim_real_done, shim_cfg_done;

static const char *env(const char *name)
{
	return getenv(name);
}

static void build_settings(void)
{
	struct config *c = &shim_cfg;

	in_init = true;
	if (config_build(c, env) == 0)
		config_resolve(c);
	log_setup(c->debug, c->quiet, c->log_path);
	if (c->error[0])
		log_msg(LOG_ERROR, "%s; connections that need the proxy will fail", c->error);
	in_init = false;
	__atomic_store_n(&shim_cfg_done, true, __ATOMIC_RELEASE);
}

static void find_real(void)
{
	real_init();
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
