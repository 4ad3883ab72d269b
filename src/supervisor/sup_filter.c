/*
 * sup_filter.c - the seccomp program of the syscall mode.
 *
 * The calls it traps are sup_abi.c's tables: connect(), getsockname()
 * and getpeername() go to the supervisor (bind(), listen(), accept(),
 * accept4() and getsockopt(SO_ACCEPTCONN) too unless BIND is off), and
 * so do sendto()/sendmsg()/sendmmsg() when their flags carry
 * MSG_FASTOPEN (tested here, so ordinary sends never leave the kernel).
 * io_uring fails with ENOSYS, so programs fall back to plain calls the
 * filter sees. Everything else is allowed at the cost of this program's
 * few comparisons.
 *
 * On x86-64 the i386 calls are served the same way: the direct socket
 * calls (Linux 4.3 and later) with the same tests, and socketcall(2) for
 * the same calls, chosen by its call number (a register); its other
 * arguments are in the program's memory, out of the filter's reach, so
 * every socketcall sendto/sendmsg/sendmmsg and getsockopt is trapped and
 * the supervisor looks at their flags and option. socketcall's socket,
 * send, recv and the rest never leave the kernel. x32 calls fail with
 * ENOSYS (the kernel's own answer where x32 is off).
 */
#include "sup.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SUP_X32_BIT 0x40000000u
/* arch/x86/entry/syscalls/syscall_32.tbl */
static const unsigned i386_uring_calls[] = {425, 426, 427};
#endif

enum label { L_NOTIFY, L_ALLOW, L_ENOSYS, L_COMPAT, L_SOCKETCALL, L_SENDTO, L_SENDMSG,
	     L_GETSOCKOPT, L_NLABELS };

#define PROG_MAX 96

/* A jump still to resolve: its instruction, the labels for jt and jf
 * (-1: the next instruction). */
struct fix {
	unsigned at;
	int jt, jf;
};

struct prog {
	struct sock_filter insn[PROG_MAX];
	unsigned n;
	struct fix fix[PROG_MAX];
	unsigned nfix;
	int at[L_NLABELS];
};

static void emit(struct prog *p, struct sock_filter f)
{
	if (p->n < PROG_MAX)
		p->insn[p->n++] = f;
}

static void label(struct prog *p, enum label l)
{
	p->at[l] = (int)p->n;
}

/* if (A op k) goto jt else goto jf; a label of -1 is the next instruction */
static void jump(struct prog *p, uint16_t op, uint32_t k, int jt, int jf)
{
	if (p->nfix < PROG_MAX)
		p->fix[p->nfix++] = (struct fix){p->n, jt, jf};
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0));
}

static void load(struct prog *p, uint32_t off)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off));
}

static void ret(struct prog *p, uint32_t v)
{
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, v));
}

/* The low 32 bits of argument i (little-endian). */
#define ARG_LO(i) ((uint32_t)offsetof(struct seccomp_data, args[i]))

static int resolve(struct prog *p)
{
	if (p->n >= PROG_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < p->nfix; i++) {
		unsigned at = p->fix[i].at;
		int t = p->fix[i].jt < 0 ? (int)at + 1 : p->at[p->fix[i].jt];
		int f = p->fix[i].jf < 0 ? (int)at + 1 : p->at[p->fix[i].jf];

		if (t <= (int)at || f <= (int)at || t - (int)at - 1 > 255 || f - (int)at - 1 > 255)
			return -EINVAL;
		p->insn[at].jt = (uint8_t)(t - (int)at - 1);
		p->insn[at].jf = (uint8_t)(f - (int)at - 1);
	}
	return 0;
}

/* Where a trapped call whose arguments are registers goes: the sends
 * and getsockopt() through their argument tests, the rest straight to
 * the supervisor. */
static int target(enum sup_op op)
{
	switch (op) {
	case SUP_SENDTO:
	case SUP_SENDMMSG: /* flags are argument 3 of both */
		return L_SENDTO;
	case SUP_SENDMSG:
		return L_SENDMSG;
	case SUP_GETSOCKOPT:
		return L_GETSOCKOPT;
	default:
		return L_NOTIFY;
	}
}

/* One comparison per call of table t (the BIND ones only with bind);
 * with registers false every match goes straight to the supervisor. */
static void trap(struct prog *p, const struct sup_nr *t, unsigned n, bool bind, bool registers)
{
	for (unsigned i = 0; i < n; i++)
		if (bind || !sup_op_is_bind(t[i].op))
			jump(p, BPF_JEQ, t[i].nr, registers ? target(t[i].op) : L_NOTIFY, -1);
}

static int build(struct prog *p, bool bind)
{
	static const unsigned uring[] = {SYS_io_uring_setup, SYS_io_uring_enter,
					 SYS_io_uring_register};

	for (int l = 0; l < L_NLABELS; l++)
		p->at[l] = -1;
	load(p, offsetof(struct seccomp_data, arch));
#if defined(__x86_64__)
	jump(p, BPF_JEQ, SUP_ARCH, -1, L_COMPAT);
#else
	jump(p, BPF_JEQ, SUP_ARCH, -1, L_ENOSYS);
#endif
	load(p, offsetof(struct seccomp_data, nr));
#ifdef SUP_X32_BIT
	jump(p, BPF_JSET, SUP_X32_BIT, L_ENOSYS, -1);
#endif
	trap(p, sup_native_nrs, sup_native_count, bind, true);
	for (size_t i = 0; i < sizeof(uring) / sizeof(uring[0]); i++)
		jump(p, BPF_JEQ, uring[i], L_ENOSYS, -1);
	ret(p, SECCOMP_RET_ALLOW);

#if defined(__x86_64__)
	label(p, L_COMPAT);
	jump(p, BPF_JEQ, AUDIT_ARCH_I386, -1, L_ENOSYS);
	load(p, offsetof(struct seccomp_data, nr));
	trap(p, sup_i386_nrs, sup_i386_count, bind, true);
	jump(p, BPF_JEQ, SUP_I386_SOCKETCALL, L_SOCKETCALL, -1);
	for (size_t i = 0; i < sizeof(i386_uring_calls) / sizeof(i386_uring_calls[0]); i++)
		jump(p, BPF_JEQ, i386_uring_calls[i], L_ENOSYS, -1);
	ret(p, SECCOMP_RET_ALLOW);
	/* socketcall(call, args): only the call number is a register */
	label(p, L_SOCKETCALL);
	load(p, ARG_LO(0));
	trap(p, sup_socketcall_nrs, sup_socketcall_count, bind, false);
	ret(p, SECCOMP_RET_ALLOW);
#endif

	/* the argument tests, the same for every ABI: the registers' low
	 * 32 bits, which are what the kernel takes */
	label(p, L_SENDTO);
	load(p, ARG_LO(3));
	jump(p, BPF_JSET, MSG_FASTOPEN, L_NOTIFY, L_ALLOW);
	label(p, L_SENDMSG);
	load(p, ARG_LO(2));
	jump(p, BPF_JSET, MSG_FASTOPEN, L_NOTIFY, L_ALLOW);
	/* getsockopt(SOL_SOCKET, SO_ACCEPTCONN) only: a BIND listener never
	 * calls listen() in the kernel, so the answer must come from us */
	label(p, L_GETSOCKOPT);
	load(p, ARG_LO(1));
	jump(p, BPF_JEQ, SOL_SOCKET, -1, L_ALLOW);
	load(p, ARG_LO(2));
	jump(p, BPF_JEQ, SO_ACCEPTCONN, L_NOTIFY, L_ALLOW);

	label(p, L_NOTIFY);
	ret(p, SECCOMP_RET_USER_NOTIF);
	label(p, L_ENOSYS);
	ret(p, SECCOMP_RET_ERRNO | ENOSYS);
	label(p, L_ALLOW);
	ret(p, SECCOMP_RET_ALLOW);
	return resolve(p); /* BPF jumps only forward: resolve() checks */
}

int sup_filter_install(bool bind, const char **what)
{
	struct prog p = {0};
	struct sock_fprog fp;
	int fd, err = build(&p, bind);

	*what = "the filter program";
	if (err)
		return err;
	fp.len = (unsigned short)p.n;
	fp.filter = p.insn;
	/* WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has taken a
	 * call, signals other than fatal ones wait for its answer, so an
	 * exchange under way is never cut off and started again. */
	*what = "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER | WAIT_KILLABLE_RECV) "
		"(Linux 5.19)";
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER |
				  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			  &fp);
	return fd < 0 ? -errno : fd;
}
