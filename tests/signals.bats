#!/usr/bin/env bats
# signals.bats - what signals, socket timeouts, cancellation and longjmp
# do to a proxied blocking connect() or accept(): what connect(2),
# accept(2), socket(7) and signal(7) say, checked by a C client
# (tests/tools/s4sig.c) because Python retries EINTR by itself.
#
# The modes keep these contracts differently, each as connect(2) allows:
# the library answers EINTR (or EINPROGRESS at SO_SNDTIMEO) and goes on
# with the exchange in the background; the supervisor, once it has taken
# a call, is never interrupted (WAIT_KILLABLE_RECV), so the call ends at
# its result or its bound and the handler runs after it. A test of one
# side's answer is skipped in the other mode (README.md, "What differs
# between the modes").
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers

setup_file() {
	start_echo echo
	start_socks4d slow -M delay=500 -t 5
}

teardown_file() {
	s4_stop_all
	if [ -n "${SIG_NS:-}" ]; then
		ip netns del "$SIG_NS" 2>/dev/null || true
		rm -rf "/etc/netns/$SIG_NS"
	fi
}

# sig CMD [ARG]: s4sig CMD against the echo server, through the slow
# socks4d (its first reply takes 500 ms).
sig() {
	local cmd=$1
	shift
	run env SOCKS4_DIRECT= SOCKS4_BIND_TIMEOUT=2 timeout 30 \
		"$SOCKS4WRAP" -s "127.0.0.1:$SLOW_PORT" "$(s4_tool s4sig)" "$cmd" 127.0.0.1 "$ECHO_PORT" "$@"
	echo "$output"
}

# granted: how many CONNECTs to the echo server socks4d has granted.
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/slow.log" || true
}

# The reasons the tests of one mode's answer give in the other.
IN_BACKGROUND="the library answers EINTR and goes on with the exchange in the background"
NEVER_CUT="a call the supervisor has taken is never interrupted: it ends at its result or its bound"

@test "without SA_RESTART a signal ends a blocking proxied connect with EINTR, and the exchange goes on once" {
	skip_in_mode syscall "$NEVER_CUT"
	local before
	before=$(granted)
	sig storm intr
	[ "$status" -eq 0 ]
	[[ "$output" =~ eintr=[1-9] ]]
	has_line "echo=ok"
	# one request: a second would have reached the echo server as data
	[ "$(granted)" -eq $((before + 1)) ]
}

@test "with SA_RESTART a blocking proxied connect is restarted: the handler runs, connect never says EINTR" {
	sig storm restart
	[ "$status" -eq 0 ]
	has_line "eintr=0"
	[[ "$output" =~ handled=[1-9] ]]
	has_line "echo=ok"
}

@test "without SA_RESTART a signal storm leaves a blocking proxied connect one exchange, and the handler runs" {
	local before
	before=$(granted)
	sig storm intr
	# Both modes: the library says EINTR and goes on behind (the test
	# before); under the supervisor, a signal that lands before it takes
	# the call ends it with EINTR with nothing done (s4sig then calls
	# again), and one that lands later waits for the exchange. Either
	# way: one exchange, and the handler ran.
	[[ "$output" =~ handled=[1-9] ]]
	has_line "echo=ok"
	[ "$(granted)" -eq $((before + 1)) ]
}

@test "SO_SNDTIMEO ends a blocking proxied connect with EINPROGRESS, and the connection completes" {
	skip_in_mode syscall "$NEVER_CUT; at SO_SNDTIMEO it fails with ETIMEDOUT, as nothing could finish the exchange behind the program"
	sig sndtimeo 200
	[ "$status" -eq 0 ]
	has_line "connect=EINPROGRESS"
	has_line "so_error=0"
	has_line "echo=ok"
}

@test "SO_SNDTIMEO ends a blocking proxied connect at the socket's timeout with ETIMEDOUT and a line" {
	skip_in_mode preload "$IN_BACKGROUND: EINPROGRESS at SO_SNDTIMEO (the test before)"
	sig sndtimeo 200 ETIMEDOUT
	[ "$status" -eq 0 ]
	has_line "connect=ETIMEDOUT"
	[[ $output == *"not done within the socket's send timeout (SO_SNDTIMEO, 200 ms): ETIMEDOUT"* ]]
}

@test "SO_RCVTIMEO ends a blocking BIND accept with EAGAIN, and the BIND still delivers" {
	sig rcvtimeo 300
	[ "$status" -eq 0 ]
	has_line "accept=EAGAIN"
	has_line "accept_again=fd"
}

@test "a thread cancelled in a proxied connect leaves the socket's flags as the program set them" {
	# cancellation unwinds the thread through frames whose stack ASan has
	# poisoned, and ASan then reports the unwinder's own writes
	if nm -u "$S4_BUILD/libsocks4wrap.so" 2>/dev/null | grep -q '__asan_'; then
		skip "the library is built with AddressSanitizer, which reports pthread_cancel()'s unwinding through its frames"
	fi
	sig cancel
	[ "$status" -eq 0 ]
	has_line "cancelled=yes"
	has_line "nonblock=clear"
}

@test "accept() waiting for a BIND's connection: EINTR without SA_RESTART" {
	skip_in_mode syscall "$NEVER_CUT"
	sig accept intr
	[ "$status" -eq 0 ]
	has_line "accept=EINTR"
}

@test "accept() waiting for a BIND's connection is restarted under SA_RESTART until the BIND ends" {
	skip_in_mode syscall "$NEVER_CUT (the handler runs once, after it)"
	sig accept restart
	[ "$status" -eq 0 ]
	has_line "accept=ETIMEDOUT"
	[[ "$output" == *"no reply within 2 s"* ]]
}

@test "a blocking BIND accept with signals pending ends at its bound, the handler after it" {
	skip_in_mode preload "$IN_BACKGROUND: accept() says EINTR (the tests before)"
	sig accept intr
	has_line "accept=ETIMEDOUT"
	has_line "handled=1"
}

# A namespace whose resolver never answers: the shim's first call, which
# resolves the server's name, then takes the resolver's whole timeout.
silent_resolver_ns() {
	[ "$(id -u)" = 0 ] || skip "needs root for ip netns"
	SIG_NS=s4sig-$$
	export SIG_NS
	ip netns add "$SIG_NS"
	ip -n "$SIG_NS" link set lo up
	mkdir -p "/etc/netns/$SIG_NS"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"/etc/netns/$SIG_NS/resolv.conf"
	s4_start dns ip netns exec "$SIG_NS" "$S4_PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("silent", flush=True)
while True:
    s.recvfrom(512)  # and never answer'
	s4_wait_log dns silent
	start_echo -n "$SIG_NS" nsecho
}

@test "a handler that longjmps out of the first call while the server's name resolves never leaves the shim passing calls through" {
	silent_resolver_ns
	local before
	before=$(grep -c 'connection from' "$BATS_FILE_TMPDIR/nsecho.log" || true)
	# the library itself: the wrapper would refuse a name it cannot resolve
	run ip netns exec "$SIG_NS" env SOCKS4_DIRECT= SOCKS4_SERVER=proxy.invalid.example:1081 \
		"${S4_SHIM[@]}" timeout 60 "$(s4_tool s4sig)" longjmp 127.0.0.1 "$NSECHO_PORT"
	echo "$output"
	# every try fails; none reaches the echo server, which is right there
	[ "$status" -eq 0 ]
	[[ "$output" != *"=connected"* ]]
	has_line "try3=ECONNREFUSED"
	[ "$(grep -c 'connection from' "$BATS_FILE_TMPDIR/nsecho.log" || true)" = "$before" ]
}
