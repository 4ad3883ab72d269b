#!/usr/bin/env bats
# process.bats - the shim across fork and exec: children and grandchildren
# inherit it, and what it opens for itself never leaks into them.

load helpers/common
load helpers/servers

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	echo "page for children" >"$BATS_FILE_TMPDIR/www/p.txt"
	start_http http "$BATS_FILE_TMPDIR/www"
	start_echo echo
	start_socks4d socks4d
}

teardown_file() {
	s4_stop_all
}

granted() {
	grep -c "CONNECT 127.0.0.1:$1 from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log" || true
}

@test "children and grandchildren of the wrapped command are proxied too" {
	require_preloadable curl
	local http0 echo0
	http0=$(granted "$HTTP_PORT")
	echo0=$(granted "$ECHO_PORT")
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" sh -c "
		curl -sS --max-time 10 http://127.0.0.1:$HTTP_PORT/p.txt
		sh -c 'printf \"from a grandchild\\n\" | nc -N -w 5 127.0.0.1 $ECHO_PORT'"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"page for children"* ]]
	[[ "$output" == *"from a grandchild"* ]]
	[ "$(granted "$HTTP_PORT")" -eq $((http0 + 1)) ]
	[ "$(granted "$ECHO_PORT")" -eq $((echo0 + 1)) ]
}

@test "the shim's log file is not inherited across exec" {
	local log=$BATS_TEST_TMPDIR/shim.log
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -v --log "$log" \
		-s "127.0.0.1:$SOCKS4D_PORT" "$S4_PY" -c "
import os, socket
s = socket.create_connection(('127.0.0.1', $ECHO_PORT))  # the log is open now
os.execv('/bin/ls', ['ls', '-l', '/proc/self/fd/'])"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "CONNECT 127.0.0.1:$ECHO_PORT via 127.0.0.1:$SOCKS4D_PORT: granted" "$log"
	[[ "$output" != *"shim.log"* ]]
}

@test "a child forked after connect() keeps using the proxied connection" {
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" "$S4_PY" -c "
import os, socket
s = socket.create_connection(('127.0.0.1', $ECHO_PORT))
pid = os.fork()
if pid == 0:
    s.sendall(b'from the child\n')
    print('child', s.recv(64).decode().strip(), s.getpeername()[1] == $ECHO_PORT)
    os._exit(0)
os.waitpid(pid, 0)
print('parent', s.getpeername()[1] == $ECHO_PORT)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"child from the child True"* ]]
	[[ "$output" == *"parent True"* ]]
}

@test "an exec'd program starts with the shim and fresh state" {
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" "$S4_PY" -c "
import os, socket
s = socket.create_connection(('127.0.0.1', $ECHO_PORT))
os.execv('$S4_BUILD/s4probe', ['s4probe', 'connect', '127.0.0.1', '$ECHO_PORT', '-s', 'x\n', '-e', 'x\n'])"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connect: ok peer=127.0.0.1:$ECHO_PORT"* ]]
}
