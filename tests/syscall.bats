#!/usr/bin/env bats
# syscall.bats - the syscall mode (build/socks4wrap-sup): programs the
# preload cannot reach (static builds of the test programs, busybox-static,
# a Go program) get the library's contracts through a seccomp supervisor.
# The contracts both modes keep (connect, the errno table, signals, BIND)
# are the contract files, run in each mode (tests/run-tests, "# modes:");
# this file has what only the syscall mode has: the filter, the i386
# calls, the process tree, the supervisor's faults, Go, busybox, load.
#
# Every test runs socks4wrap-sup directly with the SOCKS4_* variables set,
# as the launcher does. All on loopback with SOCKS4_DIRECT='' (nothing
# direct) unless a test is about the rules; "nothing went direct" is
# checked by counting the echo server's connections against the SOCKS
# server's grants.
#
# Tests of a static program run it twice: the x86-64 build (-static) and
# the i386 one (-static32, see static_builds), whose glibc makes every
# socket call through socketcall(2). The i386 tests drive socketcall and
# the direct i386 calls with int 0x80.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/servers
load helpers/syscall


setup_file() {
	start_echo echo
	start_http http "$BATS_FILE_TMPDIR"
	printf 'syscall mode page\n' >"$BATS_FILE_TMPDIR/page.txt"
	start_socks4d socks4d
	start_socks4d strict -a 10.255.255.0/24
	start_socks4d stall -M stall
	start_socks4d slow -M delay=3000
	start_sockd sockd
	# the load tests' own server, with room for 1000 clients at once and
	# those of the test before still closing
	start_socks4d big -m 4096
}

teardown_file() {
	s4_stop_all
}

setup() {
	[ -x "$SUP" ] && [ -x "$S4_BUILD/s4probe-static" ] ||
		s4_fail "build/socks4wrap-sup or the static test programs are missing: run make" ||
		return 1
	unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
}

# sup PORT CMD...: CMD in syscall mode, SOCKS server 127.0.0.1:PORT,
# nothing direct, bounded in time.
sup() {
	local port=$1
	shift
	SOCKS4_SERVER="127.0.0.1:$port" SOCKS4_DIRECT="${DIRECT-}" \
		timeout "${S4_SUP_TIMEOUT:-60}" "$SUP" "$@"
}


echo_count() { grep -c 'connection from' "$BATS_FILE_TMPDIR/echo.log" || true; }
grants() { grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/$1.log" || true; }

@test "the supervisor's log lines name the program's process, from any of its threads" {
	SOCKS4_DEBUG=1 run --separate-stderr sup "$SOCKS4D_PORT" sh -c '
		echo "pid=$$ supervisor=$PPID"
		exec "$1" 127.0.0.1 "$2" 4 3' sh "$S4_BUILD/s4edge-static" "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[[ $output =~ pid=([0-9]+)\ supervisor=([0-9]+) ]]
	local pid=${BASH_REMATCH[1]} sup=${BASH_REMATCH[2]}
	echo "program $pid, supervisor $sup; $stderr" | grep -v "direct"
	# the contract tests' connections and 4 threads x 3 of them; one
	# test forks, and its child logs its own number (threads' numbers,
	# were they logged, would be four more)
	[ "$(grep -c "^socks4wrap: \[$pid\] CONNECT 127\.0\.0\.1:$ECHO_PORT via .*: granted" <<<"$stderr")" -ge 12 ]
	[ "$(grep "CONNECT .*: granted" <<<"$stderr" | grep -v "^socks4wrap: \[$pid\]" |
		sed 's/^socks4wrap: \[\([0-9]*\)\].*/\1/' | sort -u | wc -l)" -le 1 ]
	! grep "^socks4wrap: \[$sup\] CONNECT" <<<"$stderr"
}

@test "s4edge's socket contracts hold for a static build through socks4d" {
	local before t
	for t in $(static_builds); do
		before=$(grants socks4d)
		run_build "$SOCKS4D_PORT" s4edge "$t" 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		[[ "$output" != *"not ok"* ]]
		# its 8 x 25 concurrent connections, at least, went through socks4d
		[ "$(grants socks4d)" -ge $((before + 200)) ]
	done
}

@test "s4edge's socket contracts hold for a static build through Dante" {
	local t
	for t in $(static_builds); do
		run_build "$SOCKD_PORT" s4edge "$t" 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		[[ "$output" != *"not ok"* ]]
	done
}

@test "getpeername on a proxied socket keeps the kernel's length and pointer rules" {
	local t
	for t in $(static_builds); do
		run_build "$SOCKS4D_PORT" s4sys "$t" names 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		has_line "names: short peer r=0 len=16 port=$ECHO_PORT addr=127.0.0.0"
		has_line "names: NULL length EFAULT"
		has_line "names: bad buffer EFAULT"
		has_line "names: negative length EINVAL"
		has_line "names: peer r=0 len=16 127.0.0.1:$ECHO_PORT"
	done
}

@test "a Fast Open sendto, sendmsg or sendmmsg on a fresh socket is proxied, then its data sent" {
	local before t how
	for t in $(static_builds); do
		for how in fastopen fastopen-msg fastopen-mmsg; do
			before=$(grants socks4d)
			run sup "$SOCKS4D_PORT" "$S4_BUILD/s4sys$t" "$how" 127.0.0.1 "$ECHO_PORT"
			echo "# s4sys$t $how: $output"
			[ "$status" -eq 0 ]
			has_line "fastopen: sent 5, echoed 'fast'"
			[ "$(grants socks4d)" -eq $((before + 1)) ]
		done
	done
}

@test "a Fast Open sendmsg's control message reaches the kernel in its own layout" {
	# a 32-bit control message header is 12 bytes, a 64-bit one 16: the
	# supervisor sends on its copy, so it must rewrite them, or the
	# kernel refuses the message with EINVAL
	local before t
	for t in $(static_builds); do
		before=$(grants socks4d)
		run_build "$SOCKS4D_PORT" s4sys "$t" fastopen-cmsg 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		has_line "fastopen: sent 5, echoed 'fast'"
		[ "$(grants socks4d)" -eq $((before + 1)) ]
	done
}

# --- failures, and never direct -------------------------------------------

@test "a failed socket connects again afresh, through the proxy" {
	# Python is dynamic, so only the supervisor decides here: the first
	# connect is refused (strict), the second reuses the same socket
	run env SOCKS4_SERVER="127.0.0.1:$STRICT_PORT" SOCKS4_DIRECT='' timeout 30 "$SUP" \
		"$S4_PY" -c '
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    print("first:", e.errno == 111)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError as e:
    print("second:", e.errno == 111)
' "$ECHO_PORT"
	echo "$output"
	has_line "first: True"
	has_line "second: True"
	[ "$(grep -c "rejected (91" <<<"$output")" -eq 2 ]
}

@test "a deny rule gives EACCES with the library's log line" {
	local before t
	before=$(echo_count)
	printf 'deny 127.0.0.1/32:%s\n' "$ECHO_PORT" >"$BATS_TEST_TMPDIR/rc"
	for t in $(static_builds); do
		run env SOCKS4_CONF="$BATS_TEST_TMPDIR/rc" SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' \
			timeout 30 "$SUP" "$S4_BUILD/s4probe$t" connect 127.0.0.1 "$ECHO_PORT"
		echo "# s4probe$t: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"connect: error EACCES "* ]]
		[[ "$output" == *"CONNECT 127.0.0.1:$ECHO_PORT: denied by rule 127.0.0.1:$ECHO_PORT, $BATS_TEST_TMPDIR/rc:1 (EACCES)"* ]]
	done
	[ "$(echo_count)" = "$before" ]
}

@test "broken settings fail every proxied connect closed with a log line" {
	local t
	for t in $(static_builds); do
		run env SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_TIMEOUT=soon SOCKS4_DIRECT='' \
			timeout 30 "$SUP" "$S4_BUILD/s4probe$t" connect 127.0.0.1 "$ECHO_PORT"
		echo "# s4probe$t: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"connect: error ECONNREFUSED "* ]]
		[[ "$output" == *"CONNECT 127.0.0.1:$ECHO_PORT: refused, not configured: SOCKS4_TIMEOUT"* ]]
	done
}

@test "Unix sockets and UDP are left to the kernel" {
	run sup "$SOCKS4D_PORT" "$S4_PY" -c '
import socket, os, sys
p = sys.argv[1] + "/u.sock"
l = socket.socket(socket.AF_UNIX); l.bind(p); l.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect(p)
print("unix ok", c.getpeername() == p)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", 9))
print("udp peer", u.getpeername())
' "$BATS_TEST_TMPDIR"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "unix ok True"
	has_line "udp peer ('127.0.0.1', 9)"
}

# --- what the filter refuses ---------------------------------------------

@test "io_uring_setup fails with ENOSYS so programs fall back" {
	local t
	for t in $(static_builds); do
		run_build "$SOCKS4D_PORT" s4sys "$t" uring
		[ "$status" -eq 0 ]
		has_line "uring: ENOSYS"
	done
}

@test "x32 calls fail with ENOSYS" {
	run sup "$SOCKS4D_PORT" "$S4_BUILD/s4sys-static" x32
	[ "$status" -eq 0 ]
	has_line "x32: ENOSYS"
}

@test "a program that installs its own seccomp listener gets EBUSY" {
	run sup "$SOCKS4D_PORT" "$S4_BUILD/s4sys-static" nest
	[ "$status" -eq 0 ]
	has_line "nest: EBUSY"
}

@test "a non-dumpable program under an unprivileged supervisor fails with EPERM and a line" {
	require_cmd setpriv util-linux
	[ "$(id -u)" -eq 0 ] || skip "needs root to drop to nobody"
	local d=$BATS_TEST_TMPDIR/nd
	mkdir -p "$d"
	chmod 755 "$BATS_TEST_TMPDIR" "$d"
	run env HOME="$d" SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' timeout 30 \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$SUP" "$S4_PY" -c '
import ctypes, socket, sys
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("connected")
except OSError as e:
    print("errno", e.errno)
' "$ECHO_PORT"
	echo "$output"
	has_line "errno 1"
	[[ "$output" == *"cannot see its socket calls (Operation not permitted: PR_SET_DUMPABLE 0"* ]]
}

# --- the process tree ------------------------------------------------------

@test "the command's exit status and signal death come back" {
	run sup "$SOCKS4D_PORT" sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run sup "$SOCKS4D_PORT" sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]
	run -127 sup "$SOCKS4D_PORT" /nonexistent/command
	[ "$status" -eq 127 ]
	[[ "$output" == *"/nonexistent/command: No such file or directory"* ]]
}

@test "children, exec'd programs and orphaned grandchildren are all proxied" {
	local before
	before=$(grants socks4d)
	# sh forks and execs; the backgrounded subshell outlives sh, is
	# reparented to the supervisor, and the supervisor waits for it
	run sup "$SOCKS4D_PORT" sh -c '
		"$1" connect 127.0.0.1 "$2" >"$3/child.out"
		( sleep 0.5; exec "$1" connect 127.0.0.1 "$2" >"$3/orphan.out" ) &
		exit 3' sh "$S4_BUILD/s4probe-static" "$ECHO_PORT" "$BATS_TEST_TMPDIR"
	[ "$status" -eq 3 ]
	grep -q "connect: ok peer=127.0.0.1:$ECHO_PORT" "$BATS_TEST_TMPDIR/child.out"
	grep -q "connect: ok peer=127.0.0.1:$ECHO_PORT" "$BATS_TEST_TMPDIR/orphan.out"
	[ "$(grants socks4d)" -eq $((before + 2)) ]
}

@test "SIGTERM to the supervisor goes to the command" {
	"$SUP" sh -c 'trap "echo got TERM; exit 5" TERM; while :; do sleep 0.1; done' \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! status=0
	sleep 0.5
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" || status=$?
	[ "$status" -eq 5 ]
}

# count_sigints WHO HOW T: s4sig$T count under the supervisor, started by
# setsid, then one SIGINT (HOW: "group" to the process group the caller
# started, "sup" to the supervisor), then SIGTERM to the supervisor; the
# command's report on stdout. WHO: "leader", the supervisor leads the
# group (setsid socks4wrap-sup); "member", a shell leads it and the
# supervisor is one of its members (with SIGINT at its default, which sh
# would have ignored in a background command).
count_sigints() {
	local out=$BATS_TEST_TMPDIR/count.out pidf=$BATS_TEST_TMPDIR/count.pid pg pid
	rm -f "$out" "$pidf"
	if [ "$1" = leader ]; then
		SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" setsid "$SUP" "$S4_BUILD/s4sig$3" count 127.0.0.1 1 \
			>"$out" 2>&1 3>&- &
		pg=$!
		echo "$pg" >"$pidf"
	else
		SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" setsid sh -c \
			'trap : INT; env --default-signal=INT "$1" "$2" count 127.0.0.1 1 & echo $! >"$3"; wait; wait' \
			sh "$SUP" "$S4_BUILD/s4sig$3" "$pidf" >"$out" 2>&1 3>&- &
		pg=$!
	fi
	s4_wait_file "$pidf" 5 || return 1
	pid=$(cat "$pidf")
	for _ in $(seq 100); do grep -q '^ready' "$out" && break; sleep 0.05; done
	[ "$(ps -o pgid= -p "$pg" | tr -d ' ')" = "$pg" ] || s4_fail "$pg does not lead its group" || return 1
	if [ "$2" = group ]; then
		kill -INT -- "-$pg"
	else
		kill -INT "$pid"
	fi
	sleep 0.5 # time for a second one, if it were passed on
	kill -TERM "$pid"
	for _ in $(seq 100); do grep -q '^sigint=' "$out" && break; sleep 0.05; done
	cat "$out"
}

@test "one SIGINT to the process group of a supervisor started by setsid reaches the command once" {
	local t
	for t in $(static_builds); do
		run count_sigints leader group "$t"
		echo "# s4sig$t: $output"
		has_line "sigint=1"
	done
}

@test "one SIGINT to a supervisor started by setsid reaches the command once" {
	local t
	for t in $(static_builds); do
		run count_sigints leader sup "$t"
		echo "# s4sig$t: $output"
		has_line "sigint=1"
	done
}

@test "one SIGINT to the process group of a shell running the supervisor reaches the command once" {
	local t
	for t in $(static_builds); do
		run count_sigints member group "$t"
		echo "# s4sig$t: $output"
		has_line "sigint=1"
	done
}

@test "one SIGINT to a supervisor a shell runs reaches the command once" {
	local t
	for t in $(static_builds); do
		run count_sigints member sup "$t"
		echo "# s4sig$t: $output"
		has_line "sigint=1"
	done
}

@test "a kernel refusing the filter gives exit 1 and one line, never a direct run" {
	# an already-filtered supervisor cannot add a second listener
	run sup "$SOCKS4D_PORT" "$SUP" "$S4_BUILD/s4probe-static" connect 127.0.0.1 "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"syscall mode needs seccomp(SECCOMP_SET_MODE_FILTER"*"Device or resource busy"* ]]
	[[ "$output" != *"connect: ok"* ]]
}

# --- i386: socketcall(2) and the direct calls --------------------------------

# The 64-bit s4sys makes these calls with int 0x80 too: the kernel takes
# them as i386 calls (32-bit pointers, compat layouts) from any process.

@test "the 32-bit test programs are built" {
	require_m32
	local f
	for f in s4probe s4edge s4sys s4sig; do
		readelf -h "$S4_BUILD/$f-static32" | grep -Eq 'Class: +ELF32'
		readelf -h "$S4_BUILD/$f-static32" | grep -Eq 'Machine: +Intel 80386'
		run -0 readelf -l "$S4_BUILD/$f-static32"
		[[ "$output" != *INTERP* ]]
	done
}

@test "a direct i386 connect (int 0x80, nr 362) goes through socks4d" {
	local before t
	for t in $(static_builds); do
		before=$(grants socks4d)
		run_build "$SOCKS4D_PORT" s4sys "$t" i386 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		has_line "i386: connect ok peer=127.0.0.1:$ECHO_PORT"
		has_line "i386: echoed"
		[ "$(grants socks4d)" -eq $((before + 1)) ]
	done
}

@test "a socketcall(2) connect goes through socks4d, and a plain socketcall send is the kernel's" {
	local before t
	for t in $(static_builds); do
		before=$(grants socks4d)
		run_build "$SOCKS4D_PORT" s4sys "$t" socketcall 127.0.0.1 "$ECHO_PORT"
		[ "$status" -eq 0 ]
		has_line "socketcall: connect ok peer=127.0.0.1:$ECHO_PORT"
		has_line "socketcall: sendto echoed 'sc'"
		[ "$(grants socks4d)" -eq $((before + 1)) ]
	done
}

@test "with the SOCKS server down, i386 and socketcall connects fail and nothing goes direct" {
	local before closed t how
	closed=$(s4_free_port)
	before=$(echo_count)
	for t in $(static_builds); do
		for how in i386 socketcall; do
			run sup "$closed" "$S4_BUILD/s4sys$t" "$how" 127.0.0.1 "$ECHO_PORT"
			echo "# s4sys$t $how: $output"
			[ "$status" -eq 1 ]
			has_line "$how: connect ECONNREFUSED"
			[[ "$output" == *"via 127.0.0.1:$closed: SOCKS server unreachable"* ]]
		done
	done
	[ "$(echo_count)" = "$before" ]
	# without the supervisor the same calls reach the echo server, so
	# the count above could have moved
	run "$S4_BUILD/s4sys-static" socketcall 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	s4_wait_more echo 'connection from' "$before" 5
}

@test "a socketcall connect of a Unix socket finds a relative path in the program's directory" {
	# handing the call back would have the kernel read the argument
	# block again, so the supervisor connects its copy, as the program
	# would (its directory); the listener's peer credentials then name
	# the supervisor, which is how the test sees who connected
	local t d
	for t in $(static_builds); do
		d=$BATS_TEST_TMPDIR/u$t
		mkdir -p "$d"
		run_build "$SOCKS4D_PORT" s4sys "$t" socketcall-unix "$d"
		[ "$status" -eq 0 ]
		has_line "socketcall-unix: connect ok, byte 'u', peer is another process"
	done
}

@test "a socketcall connect whose argument block another thread rewrites never goes direct" {
	# the block names a Unix socket or a TCP one, switched back and forth
	# by a second thread: each connect is refused (an inet address on the
	# Unix socket) or proxied, whichever the supervisor read; one handed
	# back to the kernel could find the TCP socket there and go direct
	local t grants0 echo0 connected refused
	for t in $(static_builds); do
		grants0=$(grants socks4d)
		echo0=$(echo_count)
		run_build "$SOCKS4D_PORT" s4sys "$t" socketcall-race 127.0.0.1 "$ECHO_PORT" 200
		[ "$status" -eq 0 ]
		[[ "$output" =~ race:\ 200\ connects,\ ([0-9]+)\ connected,\ ([0-9]+)\ refused,\ 0\ other ]]
		connected=${BASH_REMATCH[1]} refused=${BASH_REMATCH[2]}
		# the racer raced: both kinds happened
		[ "$connected" -gt 0 ]
		[ "$refused" -gt 0 ]
		# every connection the program made went through socks4d ...
		[ "$(grants socks4d)" -eq $((grants0 + connected)) ]
		# ... and the echo server saw those and no other
		s4_wait_more echo 'connection from' $((echo0 + connected - 1)) 10
		sleep 0.3
		[ "$(echo_count)" -eq $((echo0 + connected)) ]
	done
}

# --- supervisor faults ---------------------------------------------------

# sup_pid: the supervisor started by bg_sup
bg_sup() {
	local port=$1
	shift
	SOCKS4_SERVER="127.0.0.1:$port" SOCKS4_DIRECT='' SOCKS4_TIMEOUT=30 \
		"$SUP" "$@" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	SUP_PID=$!
}

@test "killing the supervisor mid-handshake fails the connect, nothing goes direct" {
	local before status t0 stalls t
	for t in $(static_builds); do
		status=0 t0=$SECONDS
		before=$(echo_count)
		stalls=$(grep -c "misbehaving (stall)" "$BATS_FILE_TMPDIR/stall.log" || true)
		bg_sup "$STALL_PORT" sh -c '"$1" connect 127.0.0.1 "$2"; echo "first exit $?"
			"$1" connect 127.0.0.1 "$2"; echo "second exit $?"' sh \
			"$S4_BUILD/s4probe$t" "$ECHO_PORT"
		# the exchange is under way once socks4d has this request
		for _ in $(seq 100); do
			[ "$(grep -c "misbehaving (stall)" "$BATS_FILE_TMPDIR/stall.log")" -gt "$stalls" ] && break
			sleep 0.1
		done
		kill -KILL "$SUP_PID"
		wait "$SUP_PID" || status=$?
		[ "$status" -eq 137 ]
		for _ in $(seq 100); do grep -q "second exit" "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
		echo "# s4probe$t:"
		cat "$BATS_TEST_TMPDIR/out"
		grep -q "connect: error ENOSYS" "$BATS_TEST_TMPDIR/out"
		grep -q "first exit 1" "$BATS_TEST_TMPDIR/out"
		grep -q "second exit 1" "$BATS_TEST_TMPDIR/out"
		[ "$(grep -c "connect: error ENOSYS" "$BATS_TEST_TMPDIR/out")" -eq 2 ]
		[ "$(echo_count)" = "$before" ]
		[ $((SECONDS - t0)) -lt 20 ]
	done
}

# --- real programs -------------------------------------------------------

@test "busybox-static wget fetches a page through socks4d" {
	require_cmd busybox busybox-static
	local bb
	bb=$(command -v busybox)
	! readelf -l "$bb" | grep -q 'program interpreter' || s4_fail "$bb is not static"
	run sup "$SOCKS4D_PORT" "$bb" wget -q -O - "http://127.0.0.1:$HTTP_PORT/page.txt"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "syscall mode page"
	grep -q "CONNECT 127\.0\.0\.1:$HTTP_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
}

@test "busybox-static nc's round trip goes through Dante" {
	require_cmd busybox busybox-static
	run sup "$SOCKD_PORT" sh -c 'printf "nc line\n" | "$1" nc -w 5 127.0.0.1 "$2"' sh \
		"$(command -v busybox)" "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "nc line"
}

@test "a Go program's 200 goroutines dial through socks4d and echo" {
	go_build s4dial
	local before
	before=$(grants socks4d)
	run sup "$SOCKS4D_PORT" "$BATS_FILE_TMPDIR/s4dial" dial "127.0.0.1:$ECHO_PORT" 200
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "dial: 200 of 200 echoed"
	has_line "remote: 127.0.0.1:$ECHO_PORT"
	[ "$(grants socks4d)" -eq $((before + 200)) ]
}

@test "a Go program's dials survive a signal storm through a slow proxy" {
	# Go preempts its threads with SIGURG; the test also sends SIGURG
	# from outside while every reply is 3 s late. No exchange may be lost
	# or made twice: 20 dials, 20 grants.
	go_build s4dial
	local before pid status=0
	before=$(grep -c "from .*: granted" "$BATS_FILE_TMPDIR/slow.log" || true)
	SOCKS4_SERVER="127.0.0.1:$SLOW_PORT" SOCKS4_DIRECT='' \
		"$SUP" "$BATS_FILE_TMPDIR/s4dial" dial "127.0.0.1:$ECHO_PORT" 20 \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	for _ in $(seq 40); do
		# shellcheck disable=SC2046 # one pid a word
		kill -URG $(cat "/proc/$pid/task/$pid/children" 2>/dev/null) 2>/dev/null || true
		sleep 0.1
	done
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	grep -q "dial: 20 of 20 echoed" "$BATS_TEST_TMPDIR/out"
	[ "$(grep -c "from .*: granted" "$BATS_FILE_TMPDIR/slow.log")" -eq $((before + 20)) ]
}

@test "through the launcher: socks4wrap runs a Go program in syscall mode, and -v says so" {
	go_build s4dial
	local before
	before=$(grants socks4d)
	run -0 env SOCKS4_DIRECT='' timeout 60 "$SOCKS4WRAP" -v -s "127.0.0.1:$SOCKS4D_PORT" \
		"$BATS_FILE_TMPDIR/s4dial" dial "127.0.0.1:$ECHO_PORT" 20
	echo "$output"
	[[ "$output" == *"syscall mode: $BATS_FILE_TMPDIR/s4dial is a Go program"* ]]
	has_line "dial: 20 of 20 echoed"
	[ "$(grants socks4d)" -eq $((before + 20)) ]
}

@test "through the launcher: a dynamically linked 32-bit program is proxied in syscall mode" {
	require_m32
	local before prog=$BATS_TEST_TMPDIR/s4probe32
	"${CC:-cc}" -std=c11 -D_GNU_SOURCE -m32 -O2 -o "$prog" "$S4_ROOT/tests/tools/s4probe.c"
	readelf -l "$prog" | grep -q INTERP # really dynamic: ld.so would refuse our library
	before=$(grants socks4d)
	run -0 env SOCKS4_DIRECT='' timeout 60 "$SOCKS4WRAP" -v -s "127.0.0.1:$SOCKS4D_PORT" \
		"$prog" connect 127.0.0.1 "$ECHO_PORT" -s "hi\n" -e "hi\n"
	echo "$output"
	[[ "$output" == *"syscall mode: $prog is a 32-bit i386 program, which the 64-bit "* ]]
	has_line "read: ok 'hi\\n'"
	[ "$(grants socks4d)" -eq $((before + 1)) ]
}

# --- load ---------------------------------------------------------------------

# fds PID: how many descriptors PID has open
fds() { ls "/proc/$1/fd" | wc -l; }

@test "32 threads x 200 connections, no descriptor leaked in the program or the supervisor" {
	S4_SUP_TIMEOUT=300 run sup "$BIG_PORT" sh -c '
		before=$(ls /proc/$PPID/fd | wc -l)
		"$1" 127.0.0.1 "$2" 32 200 || exit 1
		after=$(ls /proc/$PPID/fd | wc -l)
		echo "supervisor fds: $before $after"
		ls -l /proc/$PPID/fd' sh "$S4_BUILD/s4edge-static" "$ECHO_PORT"
	echo "$output" | grep -v '^ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok "*"threads_connect_concurrently_without_leaking"* ]]
	[[ "$output" != *"not ok"* ]]
	# a leak would be one per connection; a descriptor the supervisor
	# was still closing when the first count ran is not one
	[[ "$output" =~ supervisor\ fds:\ ([0-9]+)\ ([0-9]+) ]]
	[ "${BASH_REMATCH[2]}" -le "${BASH_REMATCH[1]}" ]
}

@test "1000 connections open at once in one process, nothing leaked" {
	S4_SUP_TIMEOUT=300 run sup "$BIG_PORT" sh -c '
		before=$(ls /proc/$PPID/fd | wc -l)
		"$1" hold 127.0.0.1 "$2" 1000 || exit 1
		after=$(ls /proc/$PPID/fd | wc -l)
		echo "supervisor fds: $before $after"
		ls -l /proc/$PPID/fd' sh "$S4_BUILD/s4sys-static" "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "hold: 1000 of 1000 connections echoed, 0 descriptors left over"
	# a leak would be one per connection; a descriptor the supervisor
	# was still closing when the first count ran is not one
	[[ "$output" =~ supervisor\ fds:\ ([0-9]+)\ ([0-9]+) ]]
	[ "${BASH_REMATCH[2]}" -le "${BASH_REMATCH[1]}" ]
}

# nofile N CMD...: CMD with RLIMIT_NOFILE N, soft and hard (`ulimit -n N`)
# (ulimit -Sn N with -S), and nothing open but 0, 1 and 2, so that CMD
# has N - 3 descriptors to use whatever bats holds open.
nofile() {
	local opt=-n fd
	if [ "$1" = -S ]; then
		opt=-Sn
		shift
	fi
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-"
		done
		ulimit "$opt" "$1" && shift && "$@"
	)
}

@test "at a hard descriptor limit of 16, 12 connections at once all succeed: calls wait for descriptors, never fail with EMFILE" {
	local t
	for t in $(static_builds); do
		run nofile 16 sup "$SOCKS4D_PORT" "$S4_BUILD/s4sys$t" hold 127.0.0.1 "$ECHO_PORT" 12
		echo "# s4sys$t: $output"
		[ "$status" -eq 0 ]
		has_line "hold: 12 of 12 connections echoed, 0 descriptors left over"
	done
}

@test "at a soft descriptor limit of 16, the supervisor takes the hard limit and the command keeps 16" {
	local hard
	hard=$(ulimit -Hn)
	run nofile -S 16 sup "$SOCKS4D_PORT" sh -c 'ulimit -Sn; ulimit -Hn; grep "^Max open files" /proc/$PPID/limits'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 16 ]
	[ "${lines[1]}" = "$hard" ]
	[[ "${lines[2]}" =~ ^Max\ open\ files\ +$hard\ +$hard\  ]]
	run nofile -S 16 sup "$SOCKS4D_PORT" "$S4_BUILD/s4sys-static" hold 127.0.0.1 "$ECHO_PORT" 12
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "hold: 12 of 12 connections echoed, 0 descriptors left over"
}
