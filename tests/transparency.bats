#!/usr/bin/env bats
# transparency.bats - the socket calls keep their man-page contracts under
# the shim: s4edge checks them one by one (errnos, truncation, repeated and
# non-blocking connects, fd reuse, dup, fork, threads) and must pass the
# same way plain, through socks4d and through Dante.

load helpers/common
load helpers/servers

setup_file() {
	start_echo echo
	start_socks4d socks4d
	start_sockd sockd
}

teardown_file() {
	s4_stop_all
}

# edge [ENV...]: s4edge against the echo server, 16 threads x 50 connections.
edge() {
	run env "$@" timeout 60 "$S4_BUILD/s4edge" 127.0.0.1 "$ECHO_PORT" 16 50
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"not ok"* ]]
	[[ "$output" == *"1..26"* ]]
}

granted_count() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
}

@test "s4edge passes without the shim (the kernel's own answers)" {
	edge
}

@test "s4edge passes through socks4d, every TCP connection proxied" {
	local before after
	before=$(granted_count || true)
	edge SOCKS4_DIRECT= "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT"
	after=$(granted_count)
	# 800 from the threads alone, plus the single checks
	[ $((after - before)) -gt 800 ]
}

@test "s4edge passes through Dante" {
	edge SOCKS4_DIRECT= "$SOCKS4WRAP" -s "127.0.0.1:$SOCKD_PORT"
	grep -q 'tcp/connect' "$BATS_FILE_TMPDIR/sockd.log"
}

@test "s4edge passes with its destination in the direct list" {
	edge "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT"
}
