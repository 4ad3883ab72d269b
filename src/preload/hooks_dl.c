/*
 * hooks_dl.c - dlopen() and dlmopen(): plugins loaded with RTLD_DEEPBIND
 * get the hooks too.
 *
 * RTLD_DEEPBIND puts a library's own dependencies ahead of the global
 * scope when its symbols are bound, so a plugin's connect() binds to libc
 * and never reaches us. The hooks drop the flag and hand the call to the
 * C library. The trade-off (README, "Plugins loaded with RTLD_DEEPBIND"):
 * the plugin then resolves every name the way a plain dlopen() does, the
 * host's definitions first.
 *
 * glibc finds a name without a slash through the RUNPATH (and $ORIGIN) of
 * the object that called dlopen(), which it identifies by the return
 * address. A C hook calling on would make that object us; so on x86_64 the
 * hooks are a few instructions that end in a jump, not a call, and leave
 * the program's return address where glibc looks for it. Elsewhere a C
 * fallback calls on, and the caller glibc sees is the shim (build with
 * -DSOCKS4WRAP_DL_CALL -fno-optimize-sibling-calls to have that on x86_64
 * and watch the RUNPATH tests of tests/deepbind.bats fail).
 */
#include "log.h"
#include "shim.h"

#include <dlfcn.h>
#include <stddef.h>

/* The functions the jumping hooks call before they jump. Not static: the
 * assembly below names them; hidden, like everything but the hooks. */
void *dl_prepare_dlopen(const char *file, int mode);
void *dl_prepare_dlmopen(Lmid_t lmid, const char *file, int mode);
void *dl_missing(void);

static void note_deepbind(const char *call, const char *file)
{
	/* Only the flag's users pay for the settings (the log level). */
	if (shim_ready() && log_enabled(LOG_INFO))
		log_msg(LOG_INFO, "%s %s: RTLD_DEEPBIND dropped, so that its socket calls reach socks4wrap",
			call, file ? file : "(the program)");
}

/* The real dlopen to jump to, or NULL (then dl_missing). */
void *dl_prepare_dlopen(const char *file, int mode)
{
	shim_real();
	if (!real.dlopen)
		return NULL;
	if (mode & RTLD_DEEPBIND)
		note_deepbind("dlopen", file);
	return (void *)real.dlopen;
}

void *dl_prepare_dlmopen(Lmid_t lmid, const char *file, int mode)
{
	shim_real();
	if (!real.dlmopen)
		return NULL;
	if (mode & RTLD_DEEPBIND)
		note_deepbind("dlmopen", file);
	/* A new namespace has its own copy of libc and no copy of us: say so
	 * rather than let its connections go direct in silence. */
	if (lmid == LM_ID_NEWLM)
		log_msg(LOG_ERROR, "dlmopen %s into a new namespace: its connections do not pass through socks4wrap",
			file ? file : "(null)");
	return (void *)real.dlmopen;
}

/* No dlopen in the C library (cannot happen with glibc): fail the way
 * dlopen fails, with NULL. */
void *dl_missing(void)
{
	return NULL;
}

#if defined(__x86_64__) && !defined(SOCKS4WRAP_DL_CALL)

/*
 * dlopen(file, mode): file in %rdi, mode in %esi. The two are saved around
 * the call to dl_prepare_dlopen (which keeps the stack 16-byte aligned:
 * 8 for the return address, 16 pushed, 8 more), the flag is cleared and
 * the hook jumps, so glibc's __builtin_return_address(0) is the program's.
 * dlmopen(lmid, file, mode): the same, mode in %edx.
 */
__asm__(".text\n"
	".globl dlopen\n"
	".type dlopen, @function\n"
	"dlopen:\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	subq $8, %rsp\n"
	"	call dl_prepare_dlopen\n"
	"	addq $8, %rsp\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	andl $~" "8" ", %esi\n" /* RTLD_DEEPBIND */
	"	testq %rax, %rax\n"
	"	jz dl_missing\n"
	"	jmp *%rax\n"
	".size dlopen, .-dlopen\n"
	"\n"
	".globl dlmopen\n"
	".type dlmopen, @function\n"
	"dlmopen:\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	pushq %rdx\n"
	"	call dl_prepare_dlmopen\n"
	"	popq %rdx\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	andl $~" "8" ", %edx\n"
	"	testq %rax, %rax\n"
	"	jz dl_missing\n"
	"	jmp *%rax\n"
	".size dlmopen, .-dlmopen\n");

_Static_assert(RTLD_DEEPBIND == 8, "the assembly above clears bit 3");

#else

HOOK void *dlopen(const char *file, int mode)
{
	void *next = dl_prepare_dlopen(file, mode);

	if (!next)
		return dl_missing();
	return ((void *(*)(const char *, int))next)(file, mode & ~RTLD_DEEPBIND);
}

HOOK void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
	void *next = dl_prepare_dlmopen(lmid, file, mode);

	if (!next)
		return dl_missing();
	return ((void *(*)(Lmid_t, const char *, int))next)(lmid, file, mode & ~RTLD_DEEPBIND);
}

#endif
