#!/usr/bin/env bats
# hostile.bats - SOCKS servers that misbehave (socks4d -M): every case
# ends in the documented errno and one log line, within the timeout, with
# no crash and no hang, for blocking and for non-blocking connects.
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers

setup_file() {
	start_echo echo
	start_socks4d short -M short
	start_socks4d version -M version=5
	start_socks4d bytewise -M bytewise
	start_socks4d extra -M 'extra=early bytes\n'
	start_socks4d stall -M stall
	start_socks4d reset -M reset
	start_socks4d ident -M reply=92
	start_socks4d mismatch -M reply=93
	start_socks4d rejected -M reply=91
}

teardown_file() {
	s4_stop_all
}

# probe NAME [s4probe connect options]: connect through socks4d NAME to
# the echo server, blocking and then non-blocking (-n); both runs must end
# the same way, which the caller checks in $output (both runs' output).
probe() {
	local name=$1 port out status1
	shift
	port=$(cat "$BATS_FILE_TMPDIR/$name.port")
	run env SOCKS4_DIRECT= SOCKS4_TIMEOUT="${TIMEOUT:-10}" timeout 30 "$SOCKS4WRAP" \
		-s "127.0.0.1:$port" "$(s4_tool s4probe)" connect "$@" 127.0.0.1 "$ECHO_PORT"
	out=$output
	status1=$status
	run env SOCKS4_DIRECT= SOCKS4_TIMEOUT="${TIMEOUT:-10}" timeout 30 "$SOCKS4WRAP" \
		-s "127.0.0.1:$port" "$(s4_tool s4probe)" connect -n -t 20000 "$@" 127.0.0.1 "$ECHO_PORT"
	output="$out
$output"
	echo "$output"
	[ "$status1" -eq "$status" ] # the same verdict both ways
}

# twice TEXT: TEXT appears (at least) twice in $output
twice() {
	[ "$(grep -cF -- "$1" <<<"$output")" -ge 2 ]
}

@test "a reply cut short after 4 bytes gives ECONNRESET" {
	probe short
	[ "$status" -eq 1 ]
	twice "connect: error ECONNRESET"
	twice "server closed the connection after 4 of 8 reply bytes"
}

@test "a reply with the wrong version gives EPROTO and shows the bytes" {
	probe version
	[ "$status" -eq 1 ]
	twice "connect: error EPROTO"
	twice "malformed reply (05 5a"
}

@test "a reply sent one byte at a time is read whole" {
	probe bytewise -s "ping\n" -e "ping\n"
	[ "$status" -eq 0 ]
	twice "read: ok"
}

@test "application bytes in the reply's segment reach the program intact" {
	probe extra -e "early bytes
"
	[ "$status" -eq 0 ]
	twice "read: ok 'early bytes"
}

@test "a server that never replies gives ETIMEDOUT after SOCKS4_TIMEOUT" {
	local t0=$SECONDS
	TIMEOUT=1 probe stall
	[ "$status" -eq 1 ]
	twice "connect: error ETIMEDOUT"
	twice "no reply within 1 s"
	[ $((SECONDS - t0)) -lt 15 ]
}

@test "a reset in the middle of the handshake gives ECONNRESET" {
	probe reset
	[ "$status" -eq 1 ]
	twice "connect: error ECONNRESET"
}

@test "reply 92 gives ECONNREFUSED and a line about identd" {
	probe ident
	[ "$status" -eq 1 ]
	twice "connect: error ECONNREFUSED"
	twice "rejected (92, request rejected: the server cannot reach identd on this host)"
}

@test "reply 93 gives ECONNREFUSED and a line about the user id" {
	probe mismatch
	[ "$status" -eq 1 ]
	twice "connect: error ECONNREFUSED"
	twice "rejected (93, request rejected: identd reports a different user id)"
}

@test "reply 91 gives ECONNREFUSED" {
	probe rejected
	[ "$status" -eq 1 ]
	twice "connect: error ECONNREFUSED"
	twice "rejected (91, request rejected or failed)"
}

@test "a server that is not there gives ECONNREFUSED and never goes direct" {
	local port before
	port=$(s4_free_port)
	before=$(grep -c 'connection from' "$BATS_FILE_TMPDIR/echo.log" || true)
	run env SOCKS4_DIRECT= "$SOCKS4WRAP" -s "127.0.0.1:$port" \
		"$(s4_tool s4probe)" connect -n 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"connect: error ECONNREFUSED"* ]]
	[[ "$output" == *"SOCKS server unreachable: Connection refused"* ]]
	[ "$(grep -c 'connection from' "$BATS_FILE_TMPDIR/echo.log" || true)" = "$before" ]
}
