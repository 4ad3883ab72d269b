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
static bool cfg_ready;

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
	__atomic_store_n(&cfg_ready, true, __ATOMIC_RELEASE);
}

void shim_real(void)
{
	pthread_once(&real_once, real_init);
}

bool shim_ready(void)
{
	shim_real();
	if (__atomic_load_n(&cfg_ready, __ATOMIC_ACQUIRE))
		return true;
	if (in_init)
		return false;
	pthread_once(&cfg_once, build_settings);
	return true;
}
