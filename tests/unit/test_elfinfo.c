/* test_elfinfo.c - a program's kind from crafted headers in memory, from
 * #! lines as the kernel splits them, and from real programs built here. */
#include "elfinfo.h"
#include "check.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#if __SIZEOF_POINTER__ == 8
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Phdr Phdr;
typedef Elf64_Shdr Shdr;
typedef Elf64_Nhdr Nhdr;
#else
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Phdr Phdr;
typedef Elf32_Shdr Shdr;
typedef Elf32_Nhdr Nhdr;
#endif

/* --- a file in memory, and a reader that counts --------------------------- */

struct mem {
	unsigned char buf[16384];
	size_t len;
	int reads;
	int fail; /* a -errno to return instead */
};

static long mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mem *m = ctx;

	m->reads++;
	if (m->fail)
		return m->fail;
	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	memcpy(buf, m->buf + off, len);
	return (long)len;
}

static struct mem *mem_new(void)
{
	struct mem *m = calloc(1, sizeof(*m));
	Ehdr *h = (Ehdr *)m->buf;

	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = (unsigned char)elfinfo_own_class();
	h->e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_DYN;
	h->e_machine = (uint16_t)elfinfo_own_machine();
	h->e_version = EV_CURRENT;
	h->e_phoff = sizeof(Ehdr);
	h->e_phentsize = sizeof(Phdr);
	h->e_ehsize = sizeof(Ehdr);
	m->len = 8192;
	return m;
}

static Phdr *add_phdr(struct mem *m, uint32_t type, size_t off, size_t size)
{
	Ehdr *h = (Ehdr *)m->buf;
	Phdr *p = (Phdr *)(m->buf + h->e_phoff) + h->e_phnum++;

	p->p_type = type;
	p->p_offset = off;
	p->p_filesz = size;
	return p;
}

/* A note at off: returns its size. */
static size_t put_note(struct mem *m, size_t off, const char *name, uint32_t type,
		       size_t desclen)
{
	Nhdr n = {.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = (uint32_t)desclen,
		  .n_type = type};
	size_t nsz = (n.n_namesz + 3) & ~3u, dsz = (desclen + 3) & ~(size_t)3;

	memcpy(m->buf + off, &n, sizeof(n));
	memcpy(m->buf + off + sizeof(n), name, n.n_namesz);
	memset(m->buf + off + sizeof(n) + nsz, 'x', desclen);
	return sizeof(n) + nsz + dsz;
}

/* Section headers at 12288, names at 12000: a null section, the names,
 * and one section called name. */
static void put_sections(struct mem *m, const char *name)
{
	Ehdr *h = (Ehdr *)m->buf;
	Shdr *sh = (Shdr *)(m->buf + 12288);
	char names[64] = "\0.shstrtab\0";
	size_t nlen = 11;

	strcpy(names + nlen, name);
	nlen += strlen(name) + 1;
	memcpy(m->buf + 12000, names, nlen);
	memset(sh, 0, 3 * sizeof(*sh));
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_STRTAB;
	sh[1].sh_offset = 12000;
	sh[1].sh_size = nlen;
	sh[2].sh_name = 11;
	sh[2].sh_type = SHT_PROGBITS;
	h->e_shoff = 12288;
	h->e_shentsize = sizeof(Shdr);
	h->e_shnum = 3;
	h->e_shstrndx = 1;
	m->len = 12288 + 3 * sizeof(Shdr);
}

static struct elfinfo probe(struct mem *m)
{
	struct elfinfo e;

	CHECK_EQ_INT(elfinfo_probe(&e, mem_read, m), 0);
	return e;
}

/* --- ELF ------------------------------------------------------------------ */

TEST(own_class_and_machine_are_this_programs)
{
	unsigned char id[EI_NIDENT + 4];
	int fd = open("/proc/self/exe", O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ_INT(pread(fd, id, sizeof(id), 0), sizeof(id));
	CHECK_EQ_INT(id[EI_CLASS], elfinfo_own_class());
	CHECK_EQ_INT(id[EI_NIDENT + 2] | id[EI_NIDENT + 3] << 8, elfinfo_own_machine());
	close(fd);
}

TEST(pt_interp_is_dynamic)
{
	struct mem *m = mem_new();

	add_phdr(m, PT_LOAD, 0, 4096);
	add_phdr(m, PT_INTERP, 1024, 28);
	put_sections(m, ".text");
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_DYNAMIC);
	CHECK(e.interp_seen);
	CHECK_EQ_INT(e.machine, elfinfo_own_machine());
	/* The first page, then the names' header and the names: no more. */
	CHECK_EQ_INT(m->reads, 3);
	free(m);
}

TEST(no_pt_interp_is_static_and_costs_one_read)
{
	struct mem *m = mem_new();

	add_phdr(m, PT_LOAD, 0, 4096);
	add_phdr(m, PT_DYNAMIC, 2048, 64); /* static-pie has one */
	put_sections(m, ".go.buildinfo");  /* not read: static is static */
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_STATIC);
	CHECK(!e.interp_seen);
	CHECK_EQ_INT(m->reads, 1);
	free(m);
}

TEST(et_exec_without_interp_is_static)
{
	struct mem *m = mem_new();

	((Ehdr *)m->buf)->e_type = ET_EXEC;
	add_phdr(m, PT_LOAD, 0, 4096);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_STATIC);
	free(m);
}

TEST(go_build_id_note_is_go_even_when_dynamic)
{
	struct mem *m = mem_new();
	size_t n;

	add_phdr(m, PT_INTERP, 1024, 28);
	n = put_note(m, 3000, "GNU", NT_GNU_BUILD_ID, 20);
	n += put_note(m, 3000 + n, "Go", 4, 83);
	add_phdr(m, PT_NOTE, 3000, n);
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_GO);
	CHECK(e.interp_seen);
	CHECK_EQ_INT(m->reads, 1); /* the note is in the first page */
	free(m);
}

TEST(the_socks4wrap_note_names_the_launcher)
{
	struct mem *m = mem_new();
	size_t n = put_note(m, 3000, ELFINFO_NOTE_NAME, ELFINFO_NOTE_TYPE, 0);

	add_phdr(m, PT_NOTE, 3000, n);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_SOCKS4WRAP); /* static, but not "static" */
	free(m);
}

TEST(go_note_as_cmd_link_writes_it)
{
	struct mem *m = mem_new();
	/* namesz 4: "Go\0\0"; descsz 8; type 4 (ELF_NOTE_GOBUILDID_TAG) */
	static const unsigned char note[] = {4, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0, 'G', 'o', 0, 0,
					     'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};

	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
		return;
	memcpy(m->buf + 0xf9c, note, sizeof(note));
	add_phdr(m, PT_NOTE, 0xf9c, sizeof(note));
	CHECK_EQ_INT(probe(m).kind, ELFINFO_GO);
	m->buf[0xf9c + 15] = 'x'; /* padding that is not padding */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_STATIC);
	free(m);
}

TEST(go_note_beyond_the_first_page_is_read)
{
	struct mem *m = mem_new();
	size_t n = put_note(m, 6000, "Go", 4, 40);

	add_phdr(m, PT_NOTE, 6000, n);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_GO);
	CHECK_EQ_INT(m->reads, 2);
	free(m);
}

TEST(other_notes_are_not_go)
{
	struct mem *m = mem_new();
	size_t n = put_note(m, 3000, "Go", 1, 8);  /* Go, but not the build id */

	n += put_note(m, 3000 + n, "Gox", 4, 8); /* the build id type, another name */
	add_phdr(m, PT_INTERP, 1024, 28);
	add_phdr(m, PT_NOTE, 3000, n);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_DYNAMIC);
	free(m);
}

TEST(malformed_notes_are_not_read_past_their_segment)
{
	struct mem *m = mem_new();
	Nhdr n = {.n_namesz = 0xffffff00u, .n_descsz = 4, .n_type = 4};

	memcpy(m->buf + 3000, &n, sizeof(n));
	add_phdr(m, PT_NOTE, 3000, sizeof(n) + 4);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_STATIC);
	free(m);
}

TEST(go_buildinfo_section_is_go)
{
	struct mem *m = mem_new();

	add_phdr(m, PT_INTERP, 1024, 28);
	put_sections(m, ".go.buildinfo");
	CHECK_EQ_INT(probe(m).kind, ELFINFO_GO);
	free(m);
}

TEST(a_name_only_in_the_string_table_is_not_a_section)
{
	struct mem *m = mem_new();
	Shdr *sh;

	add_phdr(m, PT_INTERP, 1024, 28);
	put_sections(m, ".go.buildinfo");
	sh = (Shdr *)(m->buf + 12288);
	sh[2].sh_name = 1; /* section 2 is ".shstrtab" now */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_DYNAMIC);
	free(m);
}

TEST(bad_section_headers_leave_it_dynamic)
{
	struct mem *m = mem_new();
	Ehdr *h = (Ehdr *)m->buf;

	add_phdr(m, PT_INTERP, 1024, 28);
	put_sections(m, ".go.buildinfo");
	h->e_shstrndx = 7; /* past e_shnum */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_DYNAMIC);
	h->e_shstrndx = 1;
	h->e_shoff = 1u << 30; /* past the end */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_DYNAMIC);
	free(m);
}

TEST(another_class_is_foreign)
{
	struct mem *m = mem_new();

	m->buf[EI_CLASS] = elfinfo_own_class() == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
	m->buf[18] = EM_386; /* e_machine, little-endian */
	m->buf[19] = 0;
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_FOREIGN);
	CHECK_EQ_INT(e.elf_class, m->buf[EI_CLASS]);
	CHECK_EQ_INT(e.machine, EM_386);
	CHECK_EQ_STR(elfinfo_machine_name(e.machine), "i386");
	free(m);
}

TEST(another_machine_is_foreign)
{
	struct mem *m = mem_new();
	unsigned other = elfinfo_own_machine() == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;

	((Ehdr *)m->buf)->e_machine = (uint16_t)other;
	add_phdr(m, PT_INTERP, 1024, 28);
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_FOREIGN);
	CHECK_EQ_INT(e.machine, other);
	CHECK_EQ_INT(m->reads, 1);
	free(m);
}

TEST(big_endian_machine_is_read_in_its_byte_order)
{
	struct mem *m = mem_new();

	m->buf[EI_DATA] = ELFDATA2MSB == m->buf[EI_DATA] ? ELFDATA2LSB : ELFDATA2MSB;
	m->buf[18] = m->buf[EI_DATA] == ELFDATA2MSB ? 0 : EM_S390;
	m->buf[19] = m->buf[EI_DATA] == ELFDATA2MSB ? EM_S390 : 0;
	struct elfinfo e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_FOREIGN);
	CHECK_EQ_INT(e.machine, EM_S390);
	free(m);
}

TEST(broken_elf_is_bad_not_an_error)
{
	struct mem *m = mem_new();

	m->len = 10; /* the magic and a little */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_BAD);
	m->len = 8192;
	m->buf[EI_CLASS] = 7;
	CHECK_EQ_INT(probe(m).kind, ELFINFO_BAD);
	m->buf[EI_CLASS] = (unsigned char)elfinfo_own_class();
	((Ehdr *)m->buf)->e_type = ET_REL;
	add_phdr(m, PT_LOAD, 0, 1);
	CHECK_EQ_INT(probe(m).kind, ELFINFO_BAD);
	((Ehdr *)m->buf)->e_type = ET_DYN;
	((Ehdr *)m->buf)->e_phnum = 0;
	CHECK_EQ_INT(probe(m).kind, ELFINFO_BAD);
	((Ehdr *)m->buf)->e_phnum = 1;
	((Ehdr *)m->buf)->e_phoff = 1u << 30; /* program headers past the end */
	CHECK_EQ_INT(probe(m).kind, ELFINFO_BAD);
	free(m);
}

TEST(read_errors_come_back)
{
	struct mem *m = mem_new();
	struct elfinfo e;

	m->fail = -EIO;
	CHECK_EQ_INT(elfinfo_probe(&e, mem_read, m), -EIO);
	free(m);
}

/* --- #! ------------------------------------------------------------------- */

static struct elfinfo script(const char *text, int want)
{
	struct elfinfo e;

	memset(&e, 0, sizeof(e));
	CHECK_EQ_INT(elfinfo_shebang(&e, text, strlen(text)), want);
	return e;
}

TEST(shebang_interpreter_alone)
{
	struct elfinfo e = script("#!/bin/sh\necho hi\n", 0);

	CHECK_EQ_INT(e.kind, ELFINFO_SCRIPT);
	CHECK_EQ_STR(e.interp, "/bin/sh");
	CHECK(e.arg == NULL);
	e = script("#!/bin/sh", 0); /* no newline at all */
	CHECK_EQ_STR(e.interp, "/bin/sh");
	e = script("#!/bin/sh \t\n", 0);
	CHECK_EQ_STR(e.interp, "/bin/sh");
	CHECK(e.arg == NULL);
}

TEST(shebang_one_argument_with_its_blanks)
{
	struct elfinfo e = script("#! \t/usr/bin/env  python3 -u \n", 0);

	CHECK_EQ_STR(e.interp, "/usr/bin/env");
	CHECK_EQ_STR(e.arg, "python3 -u"); /* one argument, as the kernel passes it */
	e = script("#!/bin/sh\t-e\n", 0);
	CHECK_EQ_STR(e.arg, "-e");
}

TEST(shebang_carriage_return_is_part_of_the_name)
{
	struct elfinfo e = script("#!/bin/sh\r\n", 0);

	CHECK_EQ_STR(e.interp, "/bin/sh\r"); /* why DOS scripts fail to run */
}

TEST(shebang_nul_ends_the_name)
{
	struct elfinfo e;
	static const char text[] = "#!/bin/sh\0 -x\n";

	CHECK_EQ_INT(elfinfo_shebang(&e, text, sizeof(text) - 1), 0);
	CHECK_EQ_STR(e.interp, "/bin/sh");
	CHECK(e.arg == NULL);
}

TEST(shebang_refusals_as_the_kernel_does)
{
	char long_name[400] = "#!/";

	script("", -ENOEXEC);
	script("#", -ENOEXEC);
	script("# !/bin/sh\n", -ENOEXEC);
	script("#!\n", -ENOEXEC);
	script("#!   \t \n", -ENOEXEC);
	/* An interpreter name cut off by the 256-byte buffer. */
	memset(long_name + 3, 'a', 300);
	script(long_name, -ENOEXEC);
	/* A long argument is cut, not refused, once the name has ended. */
	memcpy(long_name, "#!/bin/sh ", 10);
	struct elfinfo e = script(long_name, 0);
	CHECK_EQ_STR(e.interp, "/bin/sh");
	CHECK_EQ_INT(strlen(e.arg), ELFINFO_SHEBANG_MAX - 11);
}

TEST(scripts_and_other_files_through_probe)
{
	struct mem *m = calloc(1, sizeof(*m));
	struct elfinfo e;

	memcpy(m->buf, "#!/bin/sh -e\n", 13);
	m->len = 13;
	e = probe(m);
	CHECK_EQ_INT(e.kind, ELFINFO_SCRIPT);
	CHECK_EQ_STR(e.interp, "/bin/sh");
	CHECK_EQ_STR(e.arg, "-e");
	memcpy(m->buf, "echo hi\n", 8);
	m->len = 8;
	CHECK_EQ_INT(probe(m).kind, ELFINFO_NOT_ELF);
	m->len = 0;
	CHECK_EQ_INT(probe(m).kind, ELFINFO_NOT_ELF);
	free(m);
}

/* --- real programs -------------------------------------------------------- */

static struct elfinfo probe_file(const char *path)
{
	struct elfinfo e = {.kind = ELFINFO_BAD};
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_INT(elfinfo_probe_fd(&e, fd), 0);
		close(fd);
	}
	return e;
}

/* cc FLAGS: a small C program built with them into a temporary file, or
 * NULL (with a failed check) when cc cannot. */
static const char *build_c(const char *flags, char *out, size_t len)
{
	char dir[] = "/tmp/test_elfinfo.XXXXXX", cmd[1024];
	FILE *f;

	if (!mkdtemp(dir))
		return NULL;
	snprintf(cmd, sizeof(cmd), "%s/main.c", dir);
	f = fopen(cmd, "w");
	if (!f)
		return NULL;
	fputs("int main(void) { return 0; }\n", f);
	fclose(f);
	snprintf(out, len, "%s/prog", dir);
	snprintf(cmd, sizeof(cmd), "${CC:-cc} %s -o %s %s/main.c >/dev/null 2>&1", flags, out, dir);
	if (system(cmd) != 0) {
		printf("# could not build with '%s'\n", cmd);
		return NULL;
	}
	return out;
}

static void remove_built(const char *prog)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "rm -rf \"$(dirname '%s')\"", prog);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", prog);
}

TEST(this_test_program_is_dynamic)
{
	CHECK_EQ_INT(probe_file("/proc/self/exe").kind, ELFINFO_DYNAMIC);
}

TEST(a_static_build_is_static)
{
	char out[256];
	const char *p = build_c("-static", out, sizeof(out));

	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(probe_file(p).kind, ELFINFO_STATIC);
		remove_built(p);
	}
}

TEST(a_static_pie_build_is_static)
{
	char out[256];
	const char *p = build_c("-static-pie", out, sizeof(out));

	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(probe_file(p).kind, ELFINFO_STATIC);
		remove_built(p);
	}
}

TEST(a_pie_and_a_non_pie_build_are_dynamic)
{
	char out[256];
	const char *p = build_c("-pie -fPIE", out, sizeof(out));

	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(probe_file(p).kind, ELFINFO_DYNAMIC);
		remove_built(p);
	}
	p = build_c("-no-pie -fno-PIE", out, sizeof(out));
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ_INT(probe_file(p).kind, ELFINFO_DYNAMIC);
		remove_built(p);
	}
}

TEST(the_shell_is_dynamic)
{
	CHECK_EQ_INT(probe_file("/bin/sh").kind, ELFINFO_DYNAMIC);
}

int main(void)
{
	RUN(own_class_and_machine_are_this_programs);
	RUN(pt_interp_is_dynamic);
	RUN(no_pt_interp_is_static_and_costs_one_read);
	RUN(et_exec_without_interp_is_static);
	RUN(go_build_id_note_is_go_even_when_dynamic);
	RUN(the_socks4wrap_note_names_the_launcher);
	RUN(go_note_as_cmd_link_writes_it);
	RUN(go_note_beyond_the_first_page_is_read);
	RUN(other_notes_are_not_go);
	RUN(malformed_notes_are_not_read_past_their_segment);
	RUN(go_buildinfo_section_is_go);
	RUN(a_name_only_in_the_string_table_is_not_a_section);
	RUN(bad_section_headers_leave_it_dynamic);
	RUN(another_class_is_foreign);
	RUN(another_machine_is_foreign);
	RUN(big_endian_machine_is_read_in_its_byte_order);
	RUN(broken_elf_is_bad_not_an_error);
	RUN(read_errors_come_back);
	RUN(shebang_interpreter_alone);
	RUN(shebang_one_argument_with_its_blanks);
	RUN(shebang_carriage_return_is_part_of_the_name);
	RUN(shebang_nul_ends_the_name);
	RUN(shebang_refusals_as_the_kernel_does);
	RUN(scripts_and_other_files_through_probe);
	RUN(this_test_program_is_dynamic);
	RUN(a_static_build_is_static);
	RUN(a_static_pie_build_is_static);
	RUN(a_pie_and_a_non_pie_build_are_dynamic);
	RUN(the_shell_is_dynamic);
	return check_done();
}
