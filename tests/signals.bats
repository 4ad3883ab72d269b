#!/usr/bin/env bats
# signals.bats - what signals, socket timeouts, cancellation and longjmp
# do to a proxied blocking connect() or accept(): what connect(2),
# accept(2), socket(7) and signal(7) say, checked by a C client
# (tests/tools/s4sig.c) because Python retries EINTR by itself.

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
		"$SOCKS4WRAP" -s "127.0.0.1:$SLOW_PORT" "$S4_BUILD/s4sig" "$cmd" 127.0.0.1 "$ECHO_PORT" "$@"
	echo "$output"
}

# granted: how many CONNECTs to the echo server socks4d has granted.
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/slow.log" || true
}

@test "without SA_RESTART a signal ends a blocking proxied connect with EINTR, and the exchange goes on once" {
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

@test "SO_SNDTIMEO ends a blocking proxied connect with EINPROGRESS, and the connection completes" {
	sig sndtimeo 200
	[ "$status" -eq 0 ]
	has_line "connect=EINPROGRESS"
	has_line "so_error=0"
	has_line "echo=ok"
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
	sig accept intr
	[ "$status" -eq 0 ]
	has_line "accept=EINTR"
}

@test "accept() waiting for a BIND's connection is restarted under SA_RESTART until the BIND ends" {
	sig accept restart
	[ "$status" -eq 0 ]
	has_line "accept=ETIMEDOUT"
	[[ "$output" == *"no reply within 2 s"* ]]
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
		LD_PRELOAD="$S4_BUILD/libsocks4wrap.so" timeout 60 \
		"$S4_BUILD/s4sig" longjmp 127.0.0.1 "$NSECHO_PORT"
	echo "$output"
	# every try fails; none reaches the echo server, which is right there
	[ "$status" -eq 0 ]
	[[ "$output" != *"=connected"* ]]
	has_line "try3=ECONNREFUSED"
	[ "$(grep -c 'connection from' "$BATS_FILE_TMPDIR/nsecho.log" || true)" = "$before" ]
}
