/*
 * elfinfo.c - a program file's kind, from its first bytes (see elfinfo.h).
 *
 * The order of the questions follows the cost of the answers: the first
 * page says script or ELF, class, machine, PT_INTERP, and holds the notes
 * of every layout we have met (Go puts its build-id note just below the
 * first 4 KiB); only a dynamic program of our own class and machine with
 * no Go note costs two more reads, for the section names.
 */
#include "elfinfo.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define FIRST_READ 4096
#define SHSTRTAB_MAX 8192 /* section names read past this are not looked at */
#define GO_NOTE_NAME "Go"
#define GO_NOTE_BUILDID 4 /* cmd/link's ELF_NOTE_GOBUILDID_TAG */
#define GO_BUILDINFO ".go.buildinfo"

#if __SIZEOF_POINTER__ == 8
#define OWN_CLASS ELFCLASS64
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Phdr Phdr;
typedef Elf64_Shdr Shdr;
typedef Elf64_Nhdr Nhdr;
#else
#define OWN_CLASS ELFCLASS32
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Phdr Phdr;
typedef Elf32_Shdr Shdr;
typedef Elf32_Nhdr Nhdr;
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OWN_DATA ELFDATA2LSB
#else
#define OWN_DATA ELFDATA2MSB
#endif

#if defined(__x86_64__)
#define OWN_MACHINE EM_X86_64
#elif defined(__i386__)
#define OWN_MACHINE EM_386
#elif defined(__aarch64__)
#define OWN_MACHINE EM_AARCH64
#elif defined(__arm__)
#define OWN_MACHINE EM_ARM
#elif defined(__riscv)
#define OWN_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define OWN_MACHINE EM_PPC64
#elif defined(__powerpc__)
#define OWN_MACHINE EM_PPC
#elif defined(__s390x__) || defined(__s390__)
#define OWN_MACHINE EM_S390
#elif defined(__mips__)
#define OWN_MACHINE EM_MIPS
#else
#error "elfinfo.c: name this machine's EM_ constant"
#endif

unsigned elfinfo_own_class(void)
{
	return OWN_CLASS;
}

unsigned elfinfo_own_machine(void)
{
	return OWN_MACHINE;
}

const char *elfinfo_machine_name(unsigned machine)
{
	switch (machine) {
	case EM_X86_64:
		return "x86-64";
	case EM_386:
		return "i386";
	case EM_AARCH64:
		return "aarch64";
	case EM_ARM:
		return "arm";
	case EM_RISCV:
		return "riscv";
	case EM_PPC64:
		return "ppc64";
	case EM_PPC:
		return "ppc";
	case EM_S390:
		return "s390";
	case EM_MIPS:
		return "mips";
	}
	return NULL;
}

/* --- #! ------------------------------------------------------------------- */

static bool spacetab(char c)
{
	return c == ' ' || c == '\t';
}

/* The first of [p, last] that is not a blank, or NULL. */
static char *next_non_blank(char *p, const char *last)
{
	for (; p <= last; p++)
		if (!spacetab(*p))
			return p;
	return NULL;
}

/* The first of [p, last] that ends a name (a blank or NUL), or NULL. */
static char *next_terminator(char *p, const char *last)
{
	for (; p <= last; p++)
		if (spacetab(*p) || !*p)
			return p;
	return NULL;
}

int elfinfo_shebang(struct elfinfo *e, const char *buf, size_t len)
{
	/* The kernel's buffer: the first 256 bytes, zero-padded. */
	char *b = e->line, *last = e->line + ELFINFO_SHEBANG_MAX - 1;
	char *end, *name, *sep, *arg = NULL;

	memset(e->line, 0, sizeof(e->line));
	memcpy(b, buf, len < ELFINFO_SHEBANG_MAX ? len : ELFINFO_SHEBANG_MAX);
	if (b[0] != '#' || b[1] != '!')
		return -ENOEXEC;
	end = memchr(b, '\n', ELFINFO_SHEBANG_MAX);
	if (!end) {
		/* No newline in the buffer: the name must end inside it, or
		 * it was cut off. */
		if (!(end = next_non_blank(b + 2, last)) || !next_terminator(end, last))
			return -ENOEXEC;
		end = last;
	}
	while (end > b + 2 && spacetab(end[-1]))
		end--;
	name = next_non_blank(b + 2, end);
	if (!name || name == end)
		return -ENOEXEC;
	sep = next_terminator(name, end);
	if (sep && *sep)
		arg = next_non_blank(sep, end);
	*end = '\0';
	if (sep)
		*sep = '\0';
	if (!*name)
		return -ENOEXEC;
	e->kind = ELFINFO_SCRIPT;
	e->interp = name;
	e->arg = arg && *arg ? arg : NULL;
	return 0;
}

/* --- ELF ------------------------------------------------------------------ */

struct src {
	elfinfo_read_fn rd;
	void *ctx;
	const unsigned char *first; /* the first FIRST_READ bytes, or fewer */
	size_t first_len;
};

/* len bytes at off: from the first read when they are in it, else read.
 * 0, -EIO when the file is shorter, or the read's -errno. */
static int get(const struct src *s, void *buf, size_t len, uint64_t off)
{
	long n;

	if (off <= s->first_len && len <= s->first_len - off) {
		memcpy(buf, s->first + off, len);
		return 0;
	}
	n = s->rd(s->ctx, buf, len, off);
	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static bool zeros(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* A note segment holds a note of this name and type. */
static bool has_note(const unsigned char *p, size_t len, const char *name, uint32_t type)
{
	size_t off = 0, nlen = strlen(name) + 1;

	while (len - off >= sizeof(Nhdr)) {
		Nhdr n;
		size_t name_off = off + sizeof(Nhdr), desc_off;

		memcpy(&n, p + off, sizeof(n));
		if (n.n_namesz > len - name_off)
			return false;
		desc_off = name_off + align4(n.n_namesz);
		if (desc_off > len || n.n_descsz > len - desc_off)
			return false;
		/* Go writes its name padded: namesz 4 for "Go\0\0". */
		if (n.n_type == type && n.n_namesz >= nlen && n.n_namesz <= align4(nlen) &&
		    !memcmp(p + name_off, name, nlen) && zeros(p + name_off + nlen, n.n_namesz - nlen))
			return true;
		off = desc_off + align4(n.n_descsz);
	}
	return false;
}

/* The file has a section named .go.buildinfo. 0/1, or -errno. */
static int go_section(const struct src *s, const Ehdr *h)
{
	static const char want[] = GO_BUILDINFO;
	char names[SHSTRTAB_MAX + 1];
	size_t shnum = h->e_shnum, strndx = h->e_shstrndx, nlen;
	Shdr sh;
	int err;

	if (!h->e_shoff || h->e_shentsize != sizeof(Shdr))
		return 0;
	if (shnum == 0 || strndx == SHN_XINDEX) {
		/* Counts too big for the header live in section 0. */
		if ((err = get(s, &sh, sizeof(sh), h->e_shoff)) < 0)
			return err;
		if (shnum == 0)
			shnum = sh.sh_size;
		if (strndx == SHN_XINDEX)
			strndx = sh.sh_link;
	}
	if (strndx >= shnum)
		return 0;
	if ((err = get(s, &sh, sizeof(sh), h->e_shoff + strndx * sizeof(Shdr))) < 0)
		return err;
	nlen = sh.sh_size < SHSTRTAB_MAX ? sh.sh_size : SHSTRTAB_MAX;
	if (sh.sh_type != SHT_STRTAB || (err = get(s, names, nlen, sh.sh_offset)) < 0)
		return err < 0 ? err : 0;
	names[nlen] = '\0';
	/* Most programs end here: the name is not among the names at all. */
	if (!memmem(names, nlen, want, sizeof(want)))
		return 0;
	for (size_t i = 0; i < shnum; i++) {
		if ((err = get(s, &sh, sizeof(sh), h->e_shoff + i * sizeof(Shdr))) < 0)
			return err;
		if (sh.sh_name < nlen && !strcmp(names + sh.sh_name, want))
			return 1;
	}
	return 0;
}

static uint16_t u16(const unsigned char *p, unsigned data)
{
	return data == ELFDATA2LSB ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]);
}

static int probe_elf(struct elfinfo *e, const struct src *s)
{
	const unsigned char *id = s->first;
	unsigned char notes[1024];
	Ehdr h;
	int err;

	e->kind = ELFINFO_BAD;
	if (s->first_len < EI_NIDENT + 4 ||
	    (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64) ||
	    (id[EI_DATA] != ELFDATA2LSB && id[EI_DATA] != ELFDATA2MSB))
		return 0;
	e->elf_class = id[EI_CLASS];
	e->machine = u16(id + EI_NIDENT + 2, id[EI_DATA]); /* after e_type */
	if (id[EI_CLASS] != OWN_CLASS || id[EI_DATA] != OWN_DATA || e->machine != OWN_MACHINE) {
		e->kind = ELFINFO_FOREIGN;
		return 0;
	}
	if (s->first_len < sizeof(h))
		return 0;
	memcpy(&h, s->first, sizeof(h));
	if ((h.e_type != ET_EXEC && h.e_type != ET_DYN) || h.e_phentsize != sizeof(Phdr) ||
	    h.e_phnum == 0 || h.e_phnum >= PN_XNUM)
		return 0;

	bool go = false, us = false;
	for (size_t i = 0; i < h.e_phnum; i++) {
		Phdr ph;
		if ((err = get(s, &ph, sizeof(ph), h.e_phoff + i * sizeof(Phdr))) < 0)
			return err == -EIO ? 0 : err;
		if (ph.p_type == PT_INTERP)
			e->interp_seen = true;
		if (ph.p_type == PT_NOTE && ph.p_filesz <= sizeof(notes) &&
		    (err = get(s, notes, ph.p_filesz, ph.p_offset)) == 0) {
			go = go || has_note(notes, ph.p_filesz, GO_NOTE_NAME, GO_NOTE_BUILDID);
			us = us || has_note(notes, ph.p_filesz, ELFINFO_NOTE_NAME, ELFINFO_NOTE_TYPE);
		}
	}
	if (!go && !us && e->interp_seen) {
		if ((err = go_section(s, &h)) < 0 && err != -EIO)
			return err;
		go = err == 1;
	}
	e->kind = us ? ELFINFO_SOCKS4WRAP
		: go ? ELFINFO_GO
		: e->interp_seen ? ELFINFO_DYNAMIC : ELFINFO_STATIC;
	return 0;
}

int elfinfo_probe(struct elfinfo *e, elfinfo_read_fn rd, void *ctx)
{
	unsigned char first[FIRST_READ];
	struct src s = {rd, ctx, first, 0};
	long n = rd(ctx, first, sizeof(first), 0);

	memset(e, 0, sizeof(*e));
	if (n < 0)
		return (int)n;
	s.first_len = (size_t)n;
	if (s.first_len >= SELFMAG && !memcmp(first, ELFMAG, SELFMAG))
		return probe_elf(e, &s);
	if (elfinfo_shebang(e, (const char *)first, s.first_len) == 0)
		return 0;
	e->kind = ELFINFO_NOT_ELF;
	return 0;
}

static long fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	int fd = *(const int *)ctx;
	size_t got = 0;

	/* A malformed header's offset past any file (past off_t, where
	 * pread() says EINVAL) reads as the end of the file: the file is
	 * ELFINFO_BAD, not an error (found by tests/fuzz/fuzz_elfinfo.c). */
	if (off > (uint64_t)INT64_MAX - len)
		return 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (long)got;
}

int elfinfo_probe_fd(struct elfinfo *e, int fd)
{
	return elfinfo_probe(e, fd_read, &fd);
}
