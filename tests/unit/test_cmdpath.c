/*
 * test_cmdpath.c - the command lookup (src/core/cmdpath.c) as plain
 * code, on files in a temporary directory: PATH as execvp(3) searches it,
 * `#!` lines as execve(2) follows them.
 */
#include "check.h"
#include "cmdpath.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_cmdpath.XXXXXX";

/* dir/name, in one of a few rotating buffers. */
static const char *at(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

static void put(const char *name, const void *data, size_t len, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(name);
		exit(2);
	}
	close(fd);
	chmod(at(name), mode);
}

static void put_text(const char *name, const char *text, mode_t mode)
{
	put(name, text, strlen(text), mode);
}

/* A static executable as elfinfo sees one: an ELF header of our own
 * class and machine with a PT_LOAD and no PT_INTERP. */
static void put_static(const char *name)
{
#if __SIZEOF_POINTER__ == 8
	Elf64_Ehdr h = {0};
	Elf64_Phdr ph = {0};
	unsigned char cls = ELFCLASS64;
#else
	Elf32_Ehdr h = {0};
	Elf32_Phdr ph = {0};
	unsigned char cls = ELFCLASS32;
#endif
	unsigned char buf[sizeof(h) + sizeof(ph)];

	memcpy(h.e_ident, ELFMAG, SELFMAG);
	h.e_ident[EI_CLASS] = cls;
	h.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	h.e_ident[EI_VERSION] = EV_CURRENT;
	h.e_type = ET_EXEC;
	h.e_machine = (uint16_t)elfinfo_own_machine();
	h.e_version = EV_CURRENT;
	h.e_phoff = sizeof(h);
	h.e_ehsize = sizeof(h);
	h.e_phentsize = sizeof(ph);
	h.e_phnum = 1;
	ph.p_type = PT_LOAD;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &ph, sizeof(ph));
	put(name, buf, sizeof(buf), 0755);
}

static void mkdir_in(const char *name)
{
	mkdir(at(name), 0755);
}

/* --- the search ------------------------------------------------------------ */

/* A try function that records every candidate, answering with stat. */
struct tried {
	char cand[8][CMDPATH_MAX];
	int n;
	char found[CMDPATH_MAX];
	int stop_with; /* non-zero: answer this to every candidate */
};

static int try_record(void *ctx, const char *cand)
{
	struct tried *t = ctx;
	int err;

	if (t->n < 8)
		snprintf(t->cand[t->n], CMDPATH_MAX, "%s", cand);
	t->n++;
	err = t->stop_with ? t->stop_with : cmdpath_check(cand, NULL);
	if (!err)
		snprintf(t->found, CMDPATH_MAX, "%s", cand);
	return err;
}

TEST(an_unset_path_is_the_default_search_path)
{
	struct tried t = {.stop_with = -ENOENT};

	CHECK_EQ_INT(cmdpath_search("s4-no-such", NULL, try_record, &t), -ENOENT);
	CHECK_EQ_INT(t.n, 2);
	CHECK_EQ_STR(t.cand[0], "/bin/s4-no-such");
	CHECK_EQ_STR(t.cand[1], "/usr/bin/s4-no-such");
	memset(&t, 0, sizeof(t));
	CHECK_EQ_INT(cmdpath_search("sh", NULL, try_record, &t), 0);
	CHECK_EQ_STR(t.found, "/bin/sh");
}

TEST(an_empty_element_is_the_current_directory)
{
	struct tried t = {.stop_with = -ENOENT};

	CHECK_EQ_INT(cmdpath_search("f", ":/a::/b:", try_record, &t), -ENOENT);
	CHECK_EQ_INT(t.n, 5);
	CHECK_EQ_STR(t.cand[0], "./f");
	CHECK_EQ_STR(t.cand[1], "/a/f");
	CHECK_EQ_STR(t.cand[2], "./f");
	CHECK_EQ_STR(t.cand[3], "/b/f");
	CHECK_EQ_STR(t.cand[4], "./f");
	memset(&t, 0, sizeof(t));
	t.stop_with = -ENOENT;
	CHECK_EQ_INT(cmdpath_search("f", "", try_record, &t), -ENOENT);
	CHECK_EQ_INT(t.n, 1);
	CHECK_EQ_STR(t.cand[0], "./f");
}

TEST(a_name_with_a_slash_or_none_is_not_searched)
{
	struct tried t = {.stop_with = -ENOENT};

	CHECK_EQ_INT(cmdpath_search("a/f", "/x:/y", try_record, &t), -ENOENT);
	CHECK_EQ_INT(t.n, 1);
	CHECK_EQ_STR(t.cand[0], "a/f");
	CHECK_EQ_INT(cmdpath_search("", "/x", try_record, &t), -ENOENT);
	CHECK_EQ_INT(t.n, 1);
}

TEST(eacces_is_remembered_while_the_search_goes_on)
{
	char path[3 * PATH_MAX];
	struct tried t = {0};

	mkdir_in("p1");
	mkdir_in("p2");
	mkdir_in("p3");
	put_text("p1/cmd", "#!/bin/sh\n", 0644); /* not executable */
	put_text("p3/cmd", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof(path), "%s:%s:%s", at("p1"), at("p2"), at("p3"));
	CHECK_EQ_INT(cmdpath_search("cmd", path, try_record, &t), 0);
	CHECK_EQ_INT(t.n, 3);
	CHECK_EQ_STR(t.found, at("p3/cmd"));
	/* without the later one, EACCES, though the last answer was ENOENT */
	memset(&t, 0, sizeof(t));
	snprintf(path, sizeof(path), "%s:%s", at("p1"), at("p2"));
	CHECK_EQ_INT(cmdpath_search("cmd", path, try_record, &t), -EACCES);
	CHECK_EQ_INT(t.n, 2);
}

TEST(a_directory_named_like_the_command_is_passed_over)
{
	char path[2 * PATH_MAX];
	struct tried t = {0};

	mkdir_in("d1");
	mkdir_in("d1/cmd");
	mkdir_in("d2");
	put_text("d2/cmd", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof(path), "%s:%s", at("d1"), at("d2"));
	CHECK_EQ_INT(cmdpath_search("cmd", path, try_record, &t), 0);
	CHECK_EQ_STR(t.found, at("d2/cmd"));
	memset(&t, 0, sizeof(t));
	CHECK_EQ_INT(cmdpath_search("cmd", at("d1"), try_record, &t), -EACCES);
	CHECK_EQ_INT(cmdpath_check(at("d1/cmd"), NULL), -EACCES);
}

TEST(another_error_stops_the_search)
{
	struct tried t = {.stop_with = -ETXTBSY};

	CHECK_EQ_INT(cmdpath_search("f", "/a:/b", try_record, &t), -ETXTBSY);
	CHECK_EQ_INT(t.n, 1);
}

TEST(a_name_longer_than_name_max_is_enametoolong)
{
	char name[NAME_MAX + 2];
	struct tried t = {0};

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK_EQ_INT(cmdpath_search(name, "/a", try_record, &t), -ENAMETOOLONG);
	CHECK_EQ_INT(t.n, 0);
}

TEST(check_leaves_errno_alone)
{
	errno = 1234;
	CHECK_EQ_INT(cmdpath_check(at("no-such"), NULL), -ENOENT);
	CHECK_EQ_INT(errno, 1234);
}

/* --- #! --------------------------------------------------------------------- */

struct probed {
	int levels; /* probe calls */
	int fail_at; /* level whose probe fails with -EIO, or -1 */
};

static int probe_file(void *ctx, const char *file, int level, struct elfinfo *info)
{
	struct probed *p = ctx;
	int fd, err;

	p->levels++;
	if (level == p->fail_at)
		return -EIO;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	err = elfinfo_probe_fd(info, fd);
	close(fd);
	return err;
}

/* chainN-1 -> chainN-2 -> ... -> chainN-n -> static: n scripts. */
static const char *chain(int n)
{
	char name[64], line[PATH_MAX + 3], next[64];

	snprintf(next, sizeof(next), "static");
	put_static("static");
	for (int i = n; i >= 1; i--) {
		snprintf(line, sizeof(line), "#!%s\n", at(next));
		snprintf(name, sizeof(name), "chain%d-%d", n, i);
		put_text(name, line, 0755);
		snprintf(next, sizeof(next), "%s", name);
	}
	return at(next);
}

TEST(chains_of_one_to_five_scripts_reach_the_program)
{
	for (int n = 1; n <= CMDPATH_SCRIPTS_MAX; n++) {
		struct cmdpath_walk w;
		struct probed p = {0, -1};
		const char *path = chain(n);

		CHECK_EQ_INT(cmdpath_follow(&w, path, probe_file, &p), 0);
		CHECK_EQ_INT(w.scripts, n);
		CHECK_EQ_INT(p.levels, n + 1);
		CHECK_EQ_INT(w.info.kind, ELFINFO_STATIC);
		CHECK_EQ_STR(cmdpath_final(&w, path), at("static"));
	}
	CHECK_EQ_INT(CMDPATH_SCRIPTS_MAX, 5); /* the kernel's, in fs/exec.c */
}

TEST(a_chain_of_six_scripts_is_eloop)
{
	struct cmdpath_walk w;
	struct probed p = {0, -1};

	CHECK_EQ_INT(cmdpath_follow(&w, chain(6), probe_file, &p), -ELOOP);
	CHECK_EQ_INT(w.scripts, 5);
	CHECK_EQ_INT(w.info.kind, ELFINFO_SCRIPT);
}

TEST(a_program_is_its_own_final_file)
{
	struct cmdpath_walk w;
	struct probed p = {0, -1};

	put_static("static");
	CHECK_EQ_INT(cmdpath_follow(&w, at("static"), probe_file, &p), 0);
	CHECK_EQ_INT(w.scripts, 0);
	CHECK_EQ_STR(cmdpath_final(&w, at("static")), at("static"));
}

TEST(a_shebang_argument_is_kept_and_not_followed)
{
	struct cmdpath_walk w;
	struct probed p = {0, -1};
	char line[PATH_MAX + 32];

	put_static("static");
	snprintf(line, sizeof(line), "#!  %s  -x  y \n", at("static"));
	put_text("arg.sh", line, 0755);
	CHECK_EQ_INT(cmdpath_follow(&w, at("arg.sh"), probe_file, &p), 0);
	CHECK_EQ_INT(w.scripts, 1);
	CHECK_EQ_STR(w.interp, at("static"));
	CHECK_EQ_STR(w.arg, "-x  y");
	CHECK_EQ_INT(w.info.kind, ELFINFO_STATIC);
	put_text("noarg.sh", "#!/bin/sh\n", 0755);
	CHECK_EQ_INT(cmdpath_follow(&w, at("noarg.sh"), probe_file, &p), 0);
	CHECK_EQ_STR(w.arg, "");
}

TEST(a_missing_interpreter_ends_the_walk_with_its_error)
{
	struct cmdpath_walk w;
	struct probed p = {0, -1};
	char line[PATH_MAX + 8];

	snprintf(line, sizeof(line), "#!%s\n", at("missing-sh"));
	put_text("m.sh", line, 0755);
	snprintf(line, sizeof(line), "#!%s\n", at("m.sh"));
	put_text("mm.sh", line, 0755);
	CHECK_EQ_INT(cmdpath_follow(&w, at("m.sh"), probe_file, &p), -ENOENT);
	CHECK_EQ_INT(w.scripts, 1);
	CHECK_EQ_STR(cmdpath_final(&w, at("m.sh")), at("missing-sh"));
	/* one level further down: the same, named at its level */
	CHECK_EQ_INT(cmdpath_follow(&w, at("mm.sh"), probe_file, &p), -ENOENT);
	CHECK_EQ_INT(w.scripts, 2);
	CHECK_EQ_STR(w.interp, at("missing-sh"));
	/* the probe's own error, whatever it is, ends it too */
	p.fail_at = 0;
	CHECK_EQ_INT(cmdpath_follow(&w, at("m.sh"), probe_file, &p), -EIO);
	CHECK_EQ_INT(w.scripts, 0);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	RUN(an_unset_path_is_the_default_search_path);
	RUN(an_empty_element_is_the_current_directory);
	RUN(a_name_with_a_slash_or_none_is_not_searched);
	RUN(eacces_is_remembered_while_the_search_goes_on);
	RUN(a_directory_named_like_the_command_is_passed_over);
	RUN(another_error_stops_the_search);
	RUN(a_name_longer_than_name_max_is_enametoolong);
	RUN(check_leaves_errno_alone);
	RUN(chains_of_one_to_five_scripts_reach_the_program);
	RUN(a_chain_of_six_scripts_is_eloop);
	RUN(a_program_is_its_own_final_file);
	RUN(a_shebang_argument_is_kept_and_not_followed);
	RUN(a_missing_interpreter_ends_the_walk_with_its_error);
	{
		char cmd[sizeof(dir) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return check_done();
}
