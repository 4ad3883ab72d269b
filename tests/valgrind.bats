#!/usr/bin/env bats
# valgrind.bats - build/socks4d under valgrind (memcheck) on loopback: a
# CONNECT relaying a megabyte both ways, a BIND with its call back, a
# client outside -a, a malformed request and a BIND whose call comes from
# the wrong host, then SIGTERM. valgrind must report no memory error and
# no definite leak: its exit status is not 99 and its log says
# "ERROR SUMMARY: 0 errors".

load helpers/common
load helpers/servers
load helpers/ftp

S4C=$BATS_TEST_DIRNAME/helpers/s4client.py
export PYTHONDONTWRITEBYTECODE=1

setup_file() {
	start_echo echo
	start_callback cb
}

teardown_file() {
	s4_stop_all
}

setup() {
	require_cmd valgrind
	# an ASan build (make check SANITIZE=address) cannot run under
	# valgrind: both want to own the process's memory
	if nm -u "$SOCKS4D" 2>/dev/null | grep -q '__asan_'; then
		skip "build/socks4d is built with AddressSanitizer, which valgrind cannot run"
	fi
}

# ECHO_1M: through the shim, send 1 MiB to the echo server while reading
# it back; prints how much came back and whether it was the same.
ECHO_1M='
import socket, sys, threading
blob = bytes(range(256)) * 4096
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
def send():
    s.sendall(blob)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
t.join()
print("echoed %d bytes: %s" % (len(got), "same" if got == blob else "different"))
'

# OUTSIDER: a CONNECT from 127.0.0.2, which socks4d's -a 127.0.0.1/32
# does not allow; prints the reply code.
OUTSIDER='
import socket, struct, sys
s = socket.socket()
s.settimeout(10)
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(struct.pack("!BBH4s", 4, 1, int(sys.argv[2]), socket.inet_aton("127.0.0.1")) + b"bob\0")
rep = b""
while len(rep) < 8:
    b = s.recv(8 - len(rep))
    if not b:
        break
    rep += b
print("reply", rep[1] if len(rep) == 8 else "short")
'

@test "socks4d under valgrind relays CONNECT and BIND, refuses bad clients, and exits on SIGTERM with no memory errors or leaks" {
	local d=$BATS_FILE_TMPDIR port pid vg_status=0

	# timeout bounds the server's life (and so the wait below); it passes
	# SIGTERM on to valgrind, and valgrind's exit status back
	s4_start socks4d timeout -k 10 300 valgrind --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--log-file="$d/valgrind.log" \
		"$SOCKS4D" -l 127.0.0.1:0 -a 127.0.0.1/32 -b 5 -p "$d/socks4d.port" -v
	s4_wait_file "$d/socks4d.port" 60
	port=$(cat "$d/socks4d.port")

	# CONNECT: a megabyte to the echo server and back, through the shim
	run s4_wrap "$port" "$S4_PY" -c "$ECHO_1M" "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "echoed 1048576 bytes: same" ]

	# BIND: the application server calls back, data both ways
	run s4_wrap "$port" "$S4_BUILD/s4probe" bind 127.0.0.1 "$CB_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"data: ok both ways"* ]]

	# a BIND whose call comes from the wrong host is refused
	run s4_wrap "$port" "$S4_BUILD/s4probe" bind 127.0.0.1 "$CB_PORT" -S 127.0.0.2
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ECONNABORTED"* ]]

	# a client outside -a gets 91
	run "$S4_PY" -c "$OUTSIDER" "$port" "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "reply 91" ]

	# a malformed request (version 5) gets 91
	run "$S4_PY" "$S4C" connect "$port" x:0 --raw 050100507f000001626f6200 --timeout 10
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]

	# every one of them reached this socks4d
	s4_wait_log socks4d "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" 10
	s4_wait_log socks4d "BIND 127\.0\.0\.1:$CB_PORT from .*: inbound from 127\.0\.0\.1:[0-9]+: granted" 10
	s4_wait_log socks4d "inbound from 127\.0\.0\.2:[0-9]+: rejected \(source mismatch\)" 10
	s4_wait_log socks4d "rejected \(client not allowed\)" 10
	s4_wait_log socks4d "rejected \(malformed request\)" 10

	# SIGTERM, then valgrind's verdict; the wait is bounded by timeout
	pid=$(s4_pid socks4d)
	rm -f "$d/socks4d.pid" # ours to reap: s4_stop_all must not signal it
	kill -TERM "$pid"
	wait "$pid" || vg_status=$?
	echo "# valgrind exited with status $vg_status; its log:"
	cat "$d/valgrind.log"
	[ "$vg_status" -ne 99 ]
	[ "$vg_status" -eq 0 ]
	grep -q "exiting on signal 15" "$d/socks4d.log"
	grep -q "ERROR SUMMARY: 0 errors" "$d/valgrind.log"
}
