#!/usr/bin/env bats
# syssocks.bats - the supervisor's table of socket records
# (src/supervisor/sup_socks.c): found by inode and SO_COOKIE, it never
# overwrites the record of a live socket, whatever its inode.

load helpers/common
load helpers/servers
load helpers/syscall

setup_file() {
	start_echo echo
	start_socks4d socks4d
	# room for 1100 clients at once, and those of the round before closing
	start_socks4d big -m 4096
}

teardown_file() {
	s4_stop_all
}

setup() {
	[ -x "$SUP" ] && [ -x "$S4_BUILD/s4sys-static" ] ||
		s4_fail "build/socks4wrap-sup or the static test programs are missing: run make" ||
		return 1
}

# sup PORT CMD...: CMD in syscall mode through 127.0.0.1:PORT, nothing
# direct, bounded in time.
sup() {
	local port=$1
	shift
	SOCKS4_SERVER="127.0.0.1:$port" SOCKS4_DIRECT='' timeout 120 "$SUP" "$@"
}

@test "two proxied sockets whose inodes agree in their low 16 bits each keep their names" {
	# a table indexed by the inode's low bits gave both one place, and the
	# second connection's names overwrote the first's
	run_build "$SOCKS4D_PORT" s4sys -static collide 127.0.0.1 "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"collide: A's name kept"* ]]
}

@test "records of closed sockets are let go of, those of open ones kept" {
	# 1100 connections open at once: the table passes 1024 with every
	# socket alive (the sweep lets go of none); a second round of 1100
	# after the first closed passes 2048, and the sweep lets go of them
	SOCKS4_DEBUG=2 S4_SUP_TIMEOUT=300 run sup "$BIG_PORT" sh -c '
		set -e; "$1" hold 127.0.0.1 "$2" 1100; "$1" hold 127.0.0.1 "$2" 1100' \
		sh "$S4_BUILD/s4sys-static" "$ECHO_PORT"
	grep -v 'CONNECT .*\] -> \[' <<<"$output" | head -n 20
	[ "$status" -eq 0 ]
	[ "$(grep -c 'hold: 1100 of 1100 connections echoed, 0 descriptors left over' <<<"$output")" -eq 2 ]
	[[ "$output" =~ "socket records, 0 of closed sockets let go of" ]]
	[[ "$output" =~ socket\ records,\ (1[0-9][0-9][0-9])\ of\ closed\ sockets\ let\ go\ of ]]
}
