/*
 * s4dlopen.c - a host whose network code lives in a plugin it dlopen()s
 * with RTLD_DEEPBIND, as scripting-language runtimes load their socket
 * extensions (tests/deepbind.bats builds it, and the plugin).
 *
 *   s4dlopen [-L] [-P] PLUGIN ARGS...
 *	dlopen(PLUGIN, RTLD_NOW | RTLD_DEEPBIND), then the plugin's
 *	s4probe_main(ARGS...) (tests/tools/s4probe.c built with -shared
 *	-Dmain=s4probe_main); exits with its status. PLUGIN without a slash
 *	is found the way dlopen finds names: this program's RUNPATH, with
 *	$ORIGIN, among others.
 *	-L calls the C library's own dlopen, found with dlsym() on libc's
 *	handle, not the one the program would bind to: the way around any
 *	interposed dlopen, to show what DEEPBIND does without the shim.
 *	-P leaves RTLD_DEEPBIND out.
 * Exit 0 when the plugin's run succeeded, 1 when it failed, 2 when the
 * plugin could not be loaded (dlerror() printed).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef void *dlopen_fn(const char *file, int mode);

int main(int argc, char **argv)
{
	int (*entry)(int, char **);
	dlopen_fn *open_fn = dlopen;
	int mode = RTLD_NOW | RTLD_DEEPBIND, i = 1;
	void *h;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-L")) {
			void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

			if (!libc || !(open_fn = (dlopen_fn *)dlsym(libc, "dlopen"))) {
				fprintf(stderr, "s4dlopen: libc's own dlopen: %s\n", dlerror());
				return 2;
			}
		} else if (!strcmp(argv[i], "-P")) {
			mode &= ~RTLD_DEEPBIND;
		} else {
			fprintf(stderr, "s4dlopen: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: s4dlopen [-L] [-P] PLUGIN ARGS...\n");
		return 2;
	}
	if (!(h = open_fn(argv[i], mode))) {
		fprintf(stderr, "s4dlopen: %s\n", dlerror());
		return 2;
	}
	if (!(entry = (int (*)(int, char **))dlsym(h, "s4probe_main"))) {
		fprintf(stderr, "s4dlopen: %s\n", dlerror());
		return 2;
	}
	fflush(stdout);
	return entry(argc - i, argv + i) == 0 ? 0 : 1;
}
