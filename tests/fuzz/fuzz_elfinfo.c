/*
 * fuzz_elfinfo.c - libFuzzer: the program reader (src/core/elfinfo.c)
 * over arbitrary bytes, as a file. The launcher and the exec hooks run it
 * on every file a wrapped program executes, so it must answer for any
 * file: never crash or read outside what it was given, and leave a result
 * whose fields agree with its kind. The bytes go into a memfd and are read
 * back through elfinfo_probe_fd() (pread, short reads at the end of the
 * file); the "#!" reader also gets them straight from memory.
 */
#include "elfinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* the strings of a SCRIPT result lie inside e->line, NUL-terminated */
static void check_script(const struct elfinfo *e)
{
	const char *lo = e->line, *hi = e->line + sizeof(e->line);

	if (!e->interp || e->interp < lo || e->interp >= hi || !*e->interp)
		abort();
	if (!memchr(e->interp, '\0', (size_t)(hi - e->interp)))
		abort();
	if (e->arg && (e->arg < lo || e->arg >= hi || !*e->arg ||
		       !memchr(e->arg, '\0', (size_t)(hi - e->arg))))
		abort();
}

static void check(const struct elfinfo *e)
{
	switch (e->kind) {
	case ELFINFO_SCRIPT:
		check_script(e);
		break;
	case ELFINFO_DYNAMIC:
		/* the library's own class and machine, with an interpreter */
		if (!e->interp_seen || e->elf_class != elfinfo_own_class() ||
		    e->machine != elfinfo_own_machine())
			abort();
		break;
	case ELFINFO_STATIC:
		if (e->interp_seen)
			abort();
		break;
	case ELFINFO_GO:
	case ELFINFO_SOCKS4WRAP:
	case ELFINFO_FOREIGN:
	case ELFINFO_NOT_ELF:
	case ELFINFO_BAD:
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int fd = -1;
	struct elfinfo e;
	char *copy;
	int rc;

	if (fd < 0 && (fd = memfd_create("fuzz_elfinfo", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, len, 0) != (ssize_t)len)
		abort();
	memset(&e, 0xa5, sizeof(e)); /* nothing may be read before it is set */
	rc = elfinfo_probe_fd(&e, fd);
	if (rc != 0)
		abort(); /* a readable file always gets an answer */
	check(&e);

	/* exactly len bytes, so ASan sees a read past them */
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, len);
	memset(&e, 0xa5, sizeof(e));
	rc = elfinfo_shebang(&e, copy, len);
	if (rc == 0)
		check_script(&e);
	else if (rc != -ENOEXEC)
		abort();
	free(copy);
	return 0;
}
