#!/usr/bin/env bats
# exec.bats - what a preloaded program executes later: a program the
# preload cannot serve (here a static one, built below with gcc -static)
# is run under socks4wrap-sup, or refused with EACCES and a log line; it
# never connects directly. Everything else runs exactly as before.
#
# The refusals run with a copy of the library in a directory holding no
# socks4wrap-sup (SOCKS4WRAP_LIB), whatever the build tree holds. The echo
# server records every peer, so "nothing connected" is checked at the
# other end, not taken from the program's word.

load helpers/common
load helpers/servers

setup_file() {
	local d=$BATS_FILE_TMPDIR cc=${CC:-cc}
	mkdir -p "$d/bin" "$d/lib" "$d/dyn"
	"$cc" -static -std=c11 -D_GNU_SOURCE -o "$d/bin/s4static" "$S4_ROOT/tests/tools/s4static.c"
	printf '#!%s\n' "$d/bin/s4static" >"$d/bin/static-script"
	# five scripts, the most the kernel follows: chain1 -> ... -> chain5 -> s4static
	local i next=$d/bin/s4static
	for ((i = 5; i >= 1; i--)); do
		printf '#!%s\n' "$next" >"$d/bin/chain$i"
		chmod 755 "$d/bin/chain$i"
		next=$d/bin/chain$i
	done
	printf '#!/bin/sh\necho "script ran: $*"\n' >"$d/bin/dyn-script"
	printf 'echo "no #! line, run by /bin/sh: $*"\n' >"$d/bin/plain-script"
	printf 'not executable\n' >"$d/bin/not-x"
	chmod 755 "$d/bin/s4static" "$d/bin/static-script" "$d/bin/dyn-script" "$d/bin/plain-script"
	cp "$S4_BUILD/libsocks4wrap.so" "$d/lib/"
	start_echo echo
	start_socks4d socks4d
}

teardown_file() {
	s4_stop_all
}

setup() {
	[ -e "$S4_BUILD/libsocks4wrap.so" ] ||
		s4_fail "build/libsocks4wrap.so is missing: run make" || return 1
	export S4_PORT=$ECHO_PORT
	BIN=$BATS_FILE_TMPDIR/bin
	NOSUP_LIB=$BATS_FILE_TMPDIR/lib/libsocks4wrap.so
	SUP=$BATS_FILE_TMPDIR/lib/socks4wrap-sup
}

# nosup CMD...: CMD under socks4wrap (through socks4d, nothing direct),
# with the library copy that has no supervisor beside it.
nosup() {
	SOCKS4WRAP_LIB=$NOSUP_LIB s4_wrap "$SOCKS4D_PORT" "$@"
}

# peers: how many connections the echo server has seen so far.
peers() {
	grep -c "connection from" "$BATS_FILE_TMPDIR/echo.log" || true
}

# refused WHAT [INTERP [KIND]]: the output has the shim's refusal line for
# WHAT: a static executable (or KIND), or a script whose interpreter INTERP
# is one.
refused() {
	local why=${3:-a static executable}
	[ -z "${2:-}" ] || why="a script whose interpreter $2 is $why"
	[[ "$output" == *"socks4wrap: ["*"] exec $1: $why, which the preload cannot serve, and $SUP is missing: refused (EACCES)"* ]] ||
		s4_fail "no refusal line for $1 in: $output"
}

# exec_refused CALL PROG WHAT [INTERP]: s4exec CALL PROG fails with
# EACCES, refused's line for WHAT [INTERP] is logged, and nothing reached
# the echo server.
exec_refused() {
	local before
	before=$(peers)
	run nosup "$S4_BUILD/s4exec" "$1" "$2" an-argument
	echo "$output"
	[ "$status" -eq 126 ]
	has_line "$1 $2: EACCES"
	refused "$3" "${4:-}" "${5:-}"
	[ "$(peers)" -eq "$before" ]
}

@test "the static program connects when nothing stands in its way (the checks below can see it)" {
	local before
	before=$(peers)
	run "$BIN/s4static"
	[ "$status" -eq 0 ]
	[ "$output" = "connect=0" ]
	s4_wait_log echo "connection from" 5
	[ "$(peers)" -gt "$before" ]
}

@test "execve of a static program without the supervisor: EACCES, a log line, no connection" {
	exec_refused execve "$BIN/s4static" "$BIN/s4static"
}

@test "execv of a static program is refused" {
	exec_refused execv "$BIN/s4static" "$BIN/s4static"
}

@test "execl and execle of a static program are refused" {
	exec_refused execl "$BIN/s4static" "$BIN/s4static"
	exec_refused execle "$BIN/s4static" "$BIN/s4static"
}

@test "execvp, execvpe and execlp of a static program found on PATH are refused" {
	PATH=$BIN:$PATH exec_refused execvp s4static "$BIN/s4static"
	PATH=$BIN:$PATH exec_refused execvpe s4static "$BIN/s4static"
	PATH=$BIN:$PATH exec_refused execlp s4static "$BIN/s4static"
}

@test "execveat and fexecve of a static program are refused" {
	exec_refused execveat "$BIN/s4static" "$BIN/s4static"
	exec_refused fexecve "$BIN/s4static" "$BIN/s4static"
}

@test "fexecve of an O_PATH descriptor, which cannot be read, is judged through /proc and refused" {
	exec_refused fexecve-opath "$BIN/s4static" "$BIN/s4static"
}

@test "posix_spawn and posix_spawnp of a static program are refused" {
	exec_refused posix_spawn "$BIN/s4static" "$BIN/s4static"
	PATH=$BIN:$PATH exec_refused posix_spawnp s4static "$BIN/s4static"
}

@test "a #! script whose interpreter is static is refused, naming the interpreter" {
	exec_refused execve "$BIN/static-script" "$BIN/static-script" "$BIN/s4static"
}

@test "a chain of five #! scripts ending in a static program is refused, naming the program" {
	run "$BIN/chain1"
	[ "$output" = "connect=0" ] # the kernel runs the chain
	exec_refused execve "$BIN/chain1" "$BIN/chain1" "$BIN/s4static"
	PATH=$BIN:$PATH exec_refused execvp chain1 "$BIN/chain1" "$BIN/s4static"
}

@test "execvp with PATH unset searches /bin:/usr/bin, as glibc's does" {
	run env -u PATH "$S4_BUILD/s4exec" execvp true
	local plain=$status
	run nosup env -u PATH "$S4_BUILD/s4exec" execvp true
	[ "$status" -eq "$plain" ]
	[ "$status" -eq 0 ]
}

@test "a static PIE is refused as a static executable" {
	"${CC:-cc}" -static-pie -o "$BATS_TEST_TMPDIR/pie" "$S4_ROOT/tests/tools/s4static.c"
	exec_refused execve "$BATS_TEST_TMPDIR/pie" "$BATS_TEST_TMPDIR/pie"
}

@test "a Go executable is refused even when it is dynamically linked (Go makes raw system calls)" {
	require_cmd go golang-go
	local go
	go=$(readlink -f "$(command -v go)")
	readelf -lW "$go" | grep -q INTERP || s4_fail "$go is not dynamically linked: pick another Go program"
	exec_refused execve "$go" "$go" "" "a Go executable"
}

@test "a 32-bit executable is refused from a 64-bit program" {
	# A complete i386 ELF (exit(0) by int 0x80): header, one PT_LOAD, code.
	"$S4_PY" -c '
import struct, sys
code = bytes([0x31, 0xdb, 0xb8, 1, 0, 0, 0, 0xcd, 0x80])
base, ehsize, phsize = 0x08048000, 52, 32
entry = base + ehsize + phsize
eh = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9) + struct.pack("<HHIIIIIHHHHHH",
    2, 3, 1, entry, ehsize, 0, 0, ehsize, phsize, 1, 0, 0, 0)
ph = struct.pack("<IIIIIIII", 1, 0, base, base, ehsize + phsize + len(code),
    ehsize + phsize + len(code), 5, 0x1000)
sys.stdout.buffer.write(eh + ph + code)' >"$BATS_TEST_TMPDIR/i386"
	chmod 755 "$BATS_TEST_TMPDIR/i386"
	exec_refused execve "$BATS_TEST_TMPDIR/i386" "$BATS_TEST_TMPDIR/i386" "" "a 32-bit executable"
}

@test "ld.so run as a program, with a program to load, still runs it preloaded" {
	local ldso
	ldso=$(readelf -lW /bin/true | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	through_proxy "$S4_BUILD/s4exec" execve "$ldso" "$S4_BUILD/s4probe" connect 127.0.0.1 "$ECHO_PORT" -s hi -e hi
}

@test "sh -c starting a static program: permission denied, the log line, no connection" {
	local before
	before=$(peers)
	run nosup sh -c "'$BIN/s4static'; echo \"status \$?\""
	echo "$output"
	has_line "status 126"
	refused "$BIN/s4static"
	[ "$(peers)" -eq "$before" ]
}

@test "sh running a #! script whose interpreter is static: refused" {
	local before
	before=$(peers)
	run nosup sh -c "'$BIN/static-script'"
	[ "$status" -eq 126 ]
	refused "$BIN/static-script" "$BIN/s4static"
	[ "$(peers)" -eq "$before" ]
}

@test "env starting a static program found on PATH: refused" {
	local before
	before=$(peers)
	PATH=$BIN:$PATH run nosup env s4static
	echo "$output"
	[ "$status" -eq 126 ]
	refused "$BIN/s4static"
	[ "$(peers)" -eq "$before" ]
}

@test "xargs starting a static program: refused" {
	local before
	before=$(peers)
	run nosup sh -c "echo one | xargs '$BIN/s4static'"
	echo "$output"
	[ "$status" -eq 126 ]
	refused "$BIN/s4static"
	[ "$(peers)" -eq "$before" ]
}

@test "make running a recipe that starts a static program: refused" {
	local before
	require_cmd make
	before=$(peers)
	printf 'all:\n\t%s\n' "$BIN/s4static" >"$BATS_TEST_TMPDIR/Makefile"
	run nosup make -s -C "$BATS_TEST_TMPDIR"
	echo "$output"
	[ "$status" -ne 0 ]
	refused "$BIN/s4static"
	[ "$(peers)" -eq "$before" ]
}

@test "the refusal line goes to --log FILE, and -q silences it; the exec fails the same" {
	run nosup --log "$BATS_TEST_TMPDIR/log" "$S4_BUILD/s4exec" execve "$BIN/s4static"
	[ "$status" -eq 126 ]
	run cat "$BATS_TEST_TMPDIR/log"
	refused "$BIN/s4static"
	run nosup -q "$S4_BUILD/s4exec" execve "$BIN/s4static"
	[ "$status" -eq 126 ]
	[ "$output" = "execve $BIN/s4static: EACCES" ]
}

@test "execvp goes on past a refused static program to the next PATH entry, as for any EACCES" {
	mkdir -p "$BATS_TEST_TMPDIR/later"
	cp "$BIN/dyn-script" "$BATS_TEST_TMPDIR/later/s4static"
	PATH=$BIN:$BATS_TEST_TMPDIR/later:$PATH run nosup "$S4_BUILD/s4exec" execvp s4static x
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "script ran: x"
	refused "$BIN/s4static"
}

# --- the common case does not change ------------------------------------

# granted: how many CONNECTs to the echo server socks4d has granted.
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log" || true
}

# wait_granted N: until socks4d has logged N grants (it logs after it
# replies, so the client can be done first); 5 seconds at most.
wait_granted() {
	local tries=100
	until [ "$(granted)" -ge "$1" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || s4_fail "socks4d granted $(granted) CONNECTs, not $1" || return 1
		sleep 0.05
	done
}

# through_proxy CMD...: CMD connects to the echo server through socks4d.
through_proxy() {
	local before
	before=$(granted)
	run nosup "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read: ok 'hi'"* ]]
	wait_granted $((before + 1))
}

@test "a dynamic program started by execve, execvp or posix_spawnp still runs preloaded and proxied" {
	local c
	for c in execve execv execl execle execveat fexecve posix_spawn; do
		through_proxy "$S4_BUILD/s4exec" "$c" "$S4_BUILD/s4probe" connect 127.0.0.1 "$ECHO_PORT" -s hi -e hi
	done
	for c in execvp execvpe execlp posix_spawnp; do
		PATH=$S4_BUILD:$PATH through_proxy "$S4_BUILD/s4exec" "$c" s4probe connect 127.0.0.1 "$ECHO_PORT" -s hi -e hi
	done
}

@test "posix_spawnp past missing PATH entries succeeds and leaves errno as it was" {
	PATH=$BATS_TEST_TMPDIR/none:/nonexistent:$S4_BUILD:$PATH through_proxy "$S4_BUILD/s4exec" posix_spawnp \
		s4probe connect 127.0.0.1 "$ECHO_PORT" -s hi -e hi
}

@test "sh, env and xargs starting a dynamic program: still preloaded and proxied" {
	through_proxy sh -c "'$S4_BUILD/s4probe' connect 127.0.0.1 $ECHO_PORT -s hi -e hi"
	PATH=$S4_BUILD:$PATH through_proxy env s4probe connect 127.0.0.1 "$ECHO_PORT" -s hi -e hi
	through_proxy sh -c "echo hi | xargs '$S4_BUILD/s4probe' connect 127.0.0.1 $ECHO_PORT -s hi -e"
}

@test "a #! script with a dynamic interpreter runs as before, and its arguments arrive" {
	run nosup "$S4_BUILD/s4exec" execve "$BIN/dyn-script" a b
	[ "$status" -eq 0 ]
	[ "$output" = "script ran: a b" ]
}

@test "execve keeps the kernel's errno: ENOENT, EACCES, ENOEXEC, E2BIG" {
	run nosup "$S4_BUILD/s4exec" execve "$BIN/no-such-program"
	[ "$output" = "execve $BIN/no-such-program: ENOENT" ]
	run nosup "$S4_BUILD/s4exec" execve "$BIN/not-x"
	[ "$output" = "execve $BIN/not-x: EACCES" ]
	run nosup "$S4_BUILD/s4exec" execve "$BIN/plain-script"
	[ "$output" = "execve $BIN/plain-script: ENOEXEC" ]
	S4EXEC_PAD=200000 run nosup "$S4_BUILD/s4exec" execve /bin/true
	[ "$output" = "execve /bin/true: E2BIG" ]
}

@test "execvp runs a file with no #! line through /bin/sh, as glibc's does" {
	PATH=$BIN:$PATH run nosup "$S4_BUILD/s4exec" execvp plain-script a b
	[ "$status" -eq 0 ]
	[ "$output" = "no #! line, run by /bin/sh: a b" ]
}

@test "execvp and posix_spawnp report ENOENT and EACCES as glibc does" {
	PATH=$BIN:/usr/bin:/bin run nosup "$S4_BUILD/s4exec" execvp no-such-program
	[ "$output" = "execvp no-such-program: ENOENT" ]
	PATH=$BIN:/usr/bin:/bin run nosup "$S4_BUILD/s4exec" execvp not-x
	[ "$output" = "execvp not-x: EACCES" ]
	PATH=$BIN:/usr/bin:/bin run nosup "$S4_BUILD/s4exec" posix_spawnp no-such-program
	[ "$output" = "posix_spawnp no-such-program: ENOENT" ]
	PATH=$BIN:/usr/bin:/bin run nosup "$S4_BUILD/s4exec" posix_spawnp not-x
	[ "$output" = "posix_spawnp not-x: EACCES" ]
}

# --- with the supervisor -----------------------------------------------------
#
# These run only where build/socks4wrap-sup exists (branch sup merged).

need_sup() {
	[ -x "$S4_BUILD/socks4wrap-sup" ] ||
		skip "build/socks4wrap-sup is not built (the supervisor's branch is not merged here)"
}

# supervised CMD...: CMD, under socks4wrap with the real supervisor beside
# the library, makes exactly one connection to the echo server, through
# socks4d, and prints connect=0 (s4static's word for it).
supervised() {
	local before peers_before
	before=$(granted)
	peers_before=$(peers)
	run s4_wrap "$SOCKS4D_PORT" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "connect=0"
	wait_granted $((before + 1))
	s4_wait_log echo "connection from" 5
	[ "$(peers)" -eq $((peers_before + 1)) ]
}

@test "with socks4wrap-sup beside the library, a static program's connect goes through socks4d" {
	need_sup
	supervised "$S4_BUILD/s4exec" execve "$BIN/s4static"
}

@test "with socks4wrap-sup, sh -c and posix_spawnp of a static program go through socks4d" {
	need_sup
	supervised sh -c "'$BIN/s4static'"
	PATH=$BIN:$PATH supervised "$S4_BUILD/s4exec" posix_spawnp s4static
}

@test "with socks4wrap-sup, a #! script whose interpreter is static goes through socks4d" {
	need_sup
	supervised "$S4_BUILD/s4exec" execve "$BIN/static-script"
}

@test "under socks4wrap-sup, a preloaded program's static child is not sent to a second supervisor" {
	need_sup
	require_cmd busybox busybox-static
	# s4exec (preloaded) -> busybox sh (static: supervised) -> s4exec
	# (dynamic, preloaded, under the filter) -> s4static: one supervisor,
	# whose filter covers the last exec too.
	supervised "$S4_BUILD/s4exec" execve "$(command -v busybox)" sh -c \
		"'$S4_BUILD/s4exec' execve '$BIN/s4static'"
}

@test "the supervisor an exec hook starts is not preloaded: it never sends its own connection through socks4d" {
	need_sup
	local port
	# a socks4d that refuses CONNECTs to itself, as a real server off
	# loopback would for a client it cannot reach that way
	port=$(s4_free_port)
	start_socks4d selfish -l "127.0.0.1:$port" -d "127.0.0.1:$port"
	run s4_wrap "$SELFISH_PORT" sh -c "'$BIN/s4static'"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "connect=0"
	s4_wait_log selfish "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" 5
	[ "$(s4_count selfish "CONNECT 127\.0\.0\.1:$SELFISH_PORT ")" -eq 0 ]
	# started by hand from a preloaded program, it sets the library aside too
	run s4_wrap "$SELFISH_PORT" env "$S4_BUILD/socks4wrap-sup" "$BIN/s4static"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "connect=0"
	[ "$(s4_count selfish "CONNECT 127\.0\.0\.1:$SELFISH_PORT ")" -eq 0 ]
	# and the static program's children would still be preloaded: the
	# command gets the LD_PRELOAD it had
	run s4_wrap "$SELFISH_PORT" sh -c "'$S4_BUILD/s4exec' execve '$(command -v busybox)' sh -c 'echo \"\$LD_PRELOAD\"'"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *libsocks4wrap.so* ]]
}

@test "an exec of a static program with an unreadable argv or envp fails with EFAULT, as the kernel's" {
	need_sup
	local call what calls=(execve execvpe execveat fexecve posix_spawn)
	# under SANITIZE=address ASan's own posix_spawn reads argv before we do
	[ -z "${S4_SAN_PRELOAD:-}" ] || calls=(execve execvpe execveat fexecve)
	for what in argv envp; do
		# the kernel's own answer, for a program the hooks leave alone
		S4EXEC_BAD=$what run s4_wrap "$SOCKS4D_PORT" "$S4_BUILD/s4exec" execve /bin/true
		[ "$output" = "execve /bin/true: EFAULT" ]
		for call in "${calls[@]}"; do
			S4EXEC_BAD=$what run s4_wrap "$SOCKS4D_PORT" "$S4_BUILD/s4exec" "$call" "$BIN/s4static"
			echo "$what $call: $status $output"
			[ "$status" -eq 126 ]
			[ "$output" = "$call $BIN/s4static: EFAULT" ]
		done
	done
}
