#!/usr/bin/env bats
# corners.bats - the corners of the socket contracts (tests/tools/
# s4corner.c): address lengths and addresses judged as the kernel judges
# them, bad pointers, a socket connected again, descriptors running out
# in a BIND hand-over, the quiet listener, threads and fork. Where a
# connection could go either way, the servers' logs say which way it went.
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers

setup_file() {
	start_echo echo
	start_socks4d socks4d
	start_socks4d slow -M delay=300
	s4_start_py cb "" "$S4_ROOT/tests/helpers/callback.py"
	s4_start_py banner "" "$S4_ROOT/tests/helpers/banner.py"
}

teardown_file() {
	s4_stop_all
}

# corner CHECK PROXY-PORT [ARG]: s4corner CHECK against the echo server
# (CB=1: against callback.py) through socks4d at PROXY-PORT.
corner() {
	local check=$1 port=$2 target=$ECHO_PORT
	shift 2
	[ -z "${CB:-}" ] || target=$CB_PORT
	run s4_wrap "$port" "$(s4_tool s4corner)" "$check" 127.0.0.1 "$target" "$@"
	echo "$output"
}

# granted NAME: CONNECTs socks4d NAME granted to the echo server so far.
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/$1.log" || true
}

@test "a 24-byte sockaddr_in6 to a v4-mapped address goes through the proxy" {
	local before
	before=$(granted socks4d)
	corner in6short "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "echo=ok"
	[ "$(granted socks4d)" -eq $((before + 1)) ]
}

@test "::1 gets the same answer through a 24-byte sockaddr_in6 as through a full one" {
	corner in6lo "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "connect24=ENETUNREACH"
}

@test "sendmmsg with MSG_FASTOPEN connects through the proxy, not around it" {
	local before
	before=$(granted socks4d)
	corner mmsg "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "echo=ok"
	[ "$(granted socks4d)" -eq $((before + 1)) ]
}

@test "connect() to 0.0.0.0 stays on this host and never reaches the proxy" {
	local before
	before=$(grep -c "CONNECT 0\.0\.0\.0" "$BATS_FILE_TMPDIR/socks4d.log" || true)
	corner zero "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "echo=ok"
	[ "$(grep -c "CONNECT 0\.0\.0\.0" "$BATS_FILE_TMPDIR/socks4d.log" || true)" = "$before" ]
}

@test "a listener bound to a loopback address with port 0 stays local even with nothing direct" {
	corner bindlo "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "listening=127.0.0.2"
}

@test "connect(AF_UNSPEC) dissolves a proxied connection and connect() then connects again" {
	corner unspec "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "unspec=0"
	has_line "getpeername=ENOTCONN"
	has_line "again=0"
	has_line "echo=ok"
}

@test "a non-blocking socket connected again after a refusal keeps its epoll registration" {
	corner retry "$SLOW_PORT" 1
	[ "$status" -eq 0 ]
	has_line "mod=0"
	has_line "woken=yes"
	has_line "echo=ok"
}

@test "a non-blocking connect the proxy refuses reports ECONNREFUSED through SO_ERROR" {
	skip_in_mode syscall "connect() itself says ECONNREFUSED (the exchange is done before it returns); SO_ERROR then has the kernel's ECONNRESET"
	corner retry "$SLOW_PORT" 1
	[ "$status" -eq 0 ]
	has_line "first=EINPROGRESS"
	has_line "first_so_error=ECONNREFUSED"
}

@test "a socket copied while its SOCKS reply is pending: finished through one copy, used through the other" {
	local before
	before=$(granted slow)
	corner dupmid "$SLOW_PORT"
	[ "$status" -eq 0 ]
	[ "$(grep -c "echo=ok" <<<"$output")" -eq 4 ]
	# one exchange per socket, whichever copy drove it
	[ "$(granted slow)" -eq $((before + 2)) ]
}

@test "bad pointers give EFAULT, as without the shim, never a crash" {
	# ASan's own interceptors in the test program read these pointers
	# before the kernel (or the shim) sees them, shim or not
	if nm -u "$(s4_tool s4corner)" 2>/dev/null | grep -q '__asan_'; then
		skip "build/s4corner is built with AddressSanitizer, whose interceptors fault on the bad pointers themselves"
	fi
	corner efault "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	for call in connect bind getsockname getpeername sendmsg sendto \
		connect-unmapped bind-unmapped connect-protnone bind-protnone \
		connect-straddle bind-straddle; do
		has_line "$call=EFAULT"
	done
	# the same page boundaries used rightly still work
	has_line "connect-edge=0"
	has_line "echo=ok"
	[[ $output == *"connect-unix-edge="*" kernel="* ]]
}

@test "two threads asking SO_ERROR and a third connecting again send one request" {
	local before
	before=$(granted slow)
	corner race "$SLOW_PORT"
	[ "$status" -eq 0 ]
	has_line "echo=ok"
	[ "$(granted slow)" -eq $((before + 1)) ]
}

@test "fork() while other threads are inside the shim leaves every child able to connect" {
	corner forklock "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "children_hung=0"
	has_line "children_failed=0"
}

@test "errno is left alone by dup, dup2, dup3, fcntl(F_DUPFD) and the name calls on a proxied socket" {
	corner errno "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" != *"=changed"* ]]
}

@test "accept() with one descriptor left fails with EMFILE and delivers once there is room" {
	skip_in_mode syscall "the hand-over needs no descriptor but the connection's: accept() succeeds, as the kernel's would"
	CB=1 corner emfile "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "tight=EMFILE"
	has_line "room=fd"
	has_line "data=GOT pong"
}

@test "after the hand-over the listener's number is a listener no local connection wakes" {
	skip_in_mode syscall "the listener the supervisor leaves behind the number accepts a local connection to its real port"
	CB=1 corner quiet "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	has_line "quiet_port=found"
	has_line "listener=quiet"
}

@test "once the program has put another file behind standard error, the shim's lines stay out of it" {
	local closed
	closed=$(s4_free_port)
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$closed" \
		"$(s4_tool s4corner)" logfd 127.0.0.1 "$ECHO_PORT" "$BATS_TEST_TMPDIR/daemon.out"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "reused=yes"
	has_line "file=clean"
}

@test "a FIFO given as the log file is refused at once instead of blocking the program's first connect" {
	mkfifo "$BATS_TEST_TMPDIR/log.fifo"
	SOCKS4_DIRECT='' SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_LOG="$BATS_TEST_TMPDIR/log.fifo" \
		run s4_shim timeout 10 "$(s4_tool s4corner)" zero 127.0.0.1 "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cannot log to $BATS_TEST_TMPDIR/log.fifo: not a regular file or a terminal; logging to stderr"* ]]
}

@test "a program that polls for POLLIN and reads before SO_ERROR reads the server's greeting, not the SOCKS reply" {
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$BANNER_PORT" poll
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "line=hello from the server"
}

@test "a fortified program's checked reads (__read_chk, __recv_chk, __recvfrom_chk) before SO_ERROR get the greeting" {
	local how
	for how in read_chk recv_chk recvfrom_chk; do
		run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$BANNER_PORT" "$how"
		echo "$how: $output"
		[ "$status" -eq 0 ]
		has_line "line=hello from the server"
	done
}

@test "recvmmsg() and preadv2() at the file position (-1) before SO_ERROR get the greeting, not the SOCKS reply" {
	local how
	for how in recvmmsg preadv2 preadv64v2; do
		run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$BANNER_PORT" "$how"
		echo "$how: $output"
		[ "$status" -eq 0 ]
		has_line "line=hello from the server"
	done
}

@test "pwritev2() at the file position (-1) before SO_ERROR gets EAGAIN until the exchange is done, and its bytes arrive intact" {
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$ECHO_PORT" pwritev2
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "write=11"
	has_line "line=early bird"
}

@test "a program that makes the socket blocking, waits for writability and reads byte by byte gets the greeting" {
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$BANNER_PORT" blocking
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "line=hello from the server"
}

@test "a program that writes before SO_ERROR gets EAGAIN until the exchange is done, and its bytes arrive intact" {
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4corner)" early 127.0.0.1 "$ECHO_PORT" write
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "write=11"
	has_line "line=early bird"
}
