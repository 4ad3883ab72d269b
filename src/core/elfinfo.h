/*
 * elfinfo.h - what kind of program a file is, as far as socks4wrap must
 * know to choose how to serve it: a dynamically linked ELF program of the
 * library's own class and machine (LD_PRELOAD reaches it), a static one,
 * a Go one (its runtime makes raw system calls even when it is linked
 * dynamically), one of another class or machine (ld.so would ignore the
 * library), a #! script (the kernel runs its interpreter), or none of
 * these.
 *
 * Pure: every byte comes through a read function the caller supplies, so
 * the unit tests hand it crafted headers in memory; elfinfo_probe_fd() is
 * that function for a file. It reads only what it needs: the first page
 * (the ELF header, the program headers and, nearly always, the notes),
 * and the section names only when the answer would otherwise be "dynamic
 * ELF" and only a .go.buildinfo section could change it.
 */
#ifndef ELFINFO_H
#define ELFINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The note the socks4wrap launcher carries, so that a socks4wrap run
 * under another is known for what it is (it chooses for its own command),
 * not taken for the static program it also is. */
#define ELFINFO_NOTE_NAME "socks4wrap"
#define ELFINFO_NOTE_TYPE 1

/* What the kernel reads of a file to find "#!" and the interpreter
 * (BINPRM_BUF_SIZE since Linux 5.1). */
#define ELFINFO_SHEBANG_MAX 256

enum elfinfo_kind {
	ELFINFO_DYNAMIC, /* PT_INTERP, the library's class and machine */
	ELFINFO_STATIC,  /* no PT_INTERP: static, or static-pie */
	ELFINFO_GO,      /* a Go build-id note or a .go.buildinfo section */
	ELFINFO_SOCKS4WRAP, /* socks4wrap itself: ELFINFO_NOTE_NAME's note */
	ELFINFO_FOREIGN, /* another ELF class, byte order or machine */
	ELFINFO_SCRIPT,  /* "#!": see struct elfinfo's interp and arg */
	ELFINFO_NOT_ELF, /* none of these: execve() says ENOEXEC */
	ELFINFO_BAD,     /* ELF magic, but cut short or not an executable */
};

struct elfinfo {
	enum elfinfo_kind kind;
	/* ELF: EI_CLASS (1 for 32-bit, 2 for 64-bit) and e_machine, in the
	 * file's byte order; 0 otherwise. */
	unsigned elf_class;
	unsigned machine;
	bool interp_seen; /* a PT_INTERP (GO and FOREIGN may have one too) */
	/* ELFINFO_SCRIPT: the interpreter and its one optional argument, as
	 * the kernel splits the first line; arg is NULL without one. */
	char line[ELFINFO_SHEBANG_MAX + 1];
	const char *interp;
	const char *arg;
};

/* Copies up to len bytes at offset off into buf: the count (short at the
 * end of the file), or -errno. */
typedef long (*elfinfo_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/*
 * Fills *e from the file behind rd. Returns 0 (the kind says the rest), or
 * the read function's -errno. A file the kernel would reject as malformed
 * is ELFINFO_BAD, never an error.
 */
int elfinfo_probe(struct elfinfo *e, elfinfo_read_fn rd, void *ctx);

/* elfinfo_probe() on an open descriptor, with pread(2). */
int elfinfo_probe_fd(struct elfinfo *e, int fd);

/*
 * The kernel's reading of a "#!" line (fs/binfmt_script.c) from the first
 * len bytes of a file: 0 with e->interp and e->arg set (kind SCRIPT), or
 * -ENOEXEC when the kernel would not take it as a script: no "#!", no
 * interpreter, or an interpreter name cut off by the 256-byte limit.
 */
int elfinfo_shebang(struct elfinfo *e, const char *buf, size_t len);

/* The class and machine this code (and so the library) was built for. */
unsigned elfinfo_own_class(void);
unsigned elfinfo_own_machine(void);

/* "x86-64", "i386", "aarch64"...; NULL for a machine it does not name. */
const char *elfinfo_machine_name(unsigned machine);

#endif
