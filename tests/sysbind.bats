#!/usr/bin/env bats
# sysbind.bats - what only the syscall mode's BIND has: its answer to
# getsockopt() on a BIND listener (trapped through socketcall too), the
# supervisor killed while a BIND accept() waits, and a Go program (whose
# net.Listen is a dual-stack AF_INET6 socket). The BIND contracts both
# modes keep are bind.bats, run in each mode (tests/run-tests), the i386
# builds included.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/servers
load helpers/syscall
load helpers/ftp

setup_file() {
	start_callback cb
	start_socks4d socks4d
	start_socks4d stall -b 60
}

teardown_file() {
	s4_stop_all
}

# sup PORT CMD...: CMD in syscall mode through 127.0.0.1:PORT, nothing direct.
sup() {
	local port=$1
	shift
	SOCKS4_SERVER="127.0.0.1:$port" SOCKS4_DIRECT='' timeout 60 "$SUP" "$@"
}

socks4d_bound() {
	grep -q "BIND .*: listening on $2\$" "$BATS_FILE_TMPDIR/$1.log" &&
		grep -q "BIND .*: inbound from 127.0.0.1:[0-9]*: granted" "$BATS_FILE_TMPDIR/$1.log"
}

@test "a BIND listener's other socket options are the kernel's" {
	# the filter tests the option of a direct getsockopt(); a socketcall
	# one (every i386 glibc call) is trapped whatever it asks, and the
	# supervisor answers only SO_ACCEPTCONN
	local t
	for t in $(static_builds); do
		run_build "$SOCKS4D_PORT" s4sys "$t" acceptconn 127.0.0.1 "$CB_PORT"
		[ "$status" -eq 0 ]
		has_line "acceptconn: 1 domain: 2"
	done
}

@test "killing the supervisor during accept fails it, and nothing goes direct" {
	local status binds pid t
	for t in $(static_builds); do
		status=0
		binds=$(grep -c "BIND .*: listening on" "$BATS_FILE_TMPDIR/stall.log" || true)
		SOCKS4_SERVER="127.0.0.1:$STALL_PORT" SOCKS4_DIRECT='' "$SUP" \
			"$S4_BUILD/s4probe$t" bind 127.0.0.1 "$CB_PORT" -W \
			>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
		pid=$!
		for _ in $(seq 100); do
			[ "$(grep -c "BIND .*: listening on" "$BATS_FILE_TMPDIR/stall.log")" -gt "$binds" ] && break
			sleep 0.1
		done
		sleep 0.5 # in accept() by now: nothing else is left to do
		kill -KILL "$pid"
		wait "$pid" || status=$?
		[ "$status" -eq 137 ]
		for _ in $(seq 100); do grep -q "accept: " "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
		echo "# s4probe$t:"
		cat "$BATS_TEST_TMPDIR/out"
		grep -q "accept: error ENOSYS" "$BATS_TEST_TMPDIR/out"
	done
}

@test "a Go program's 10 goroutines each Listen on :0 and Accept through the BIND" {
	go_build s4dial
	local out=$BATS_FILE_TMPDIR/s4dial
	run sup "$SOCKS4D_PORT" "$out" listen "127.0.0.1:$CB_PORT" 10
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "listen: 10 of 10 called back"
	socks4d_bound socks4d "$(sed -n 's/^advertised: //p' <<<"$output")"
}
