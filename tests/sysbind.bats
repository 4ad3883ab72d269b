#!/usr/bin/env bats
# sysbind.bats - listening sockets served by SOCKS4 BIND in syscall mode
# (build/socks4wrap-sup): the static builds of s4probe, x86-64 and i386
# (static_builds; the i386 one makes its calls through socketcall(2)),
# run every listening pattern of bind.bats, and a Go program (whose
# net.Listen is a dual-stack AF_INET6 socket) takes the same path. The
# application server is tests/helpers/callback.py, or pyftpdlib for the
# FTP runs.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/servers
load helpers/syscall
load helpers/ftp

PATTERNS="textbook name-first control-addr unbound timed-accept epoll epoll-et"

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/ftp"
	ftp_blob "$d/up.bin" 300001
	start_callback cb
	start_pyftpd ftpd "$d/ftp"
	start_echo echo
	start_socks4d socks4d
	start_socks4d zero -z
	start_socks4d second91 -M second=91
	start_socks4d stall -b 60
	start_sockd sockd
	S4_SOCKD_NO_BIND=1 start_sockd nobind
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

advertised() { sed -n 's/^listen: //p' <<<"$output" | tail -n 1; }

# bind_ok BUILD PORT [s4probe bind options]: the raw sequence of
# s4probe$BUILD succeeds.
bind_ok() {
	local build=$1 port=$2
	shift 2
	run sup "$port" "$S4_BUILD/s4probe$build" bind 127.0.0.1 "$CB_PORT" "$@"
	echo "# s4probe$build $*: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"data: ok both ways"* ]]
	[[ "$output" == *"fds: ok"* ]]
}

socks4d_bound() {
	grep -q "BIND .*: listening on $2\$" "$BATS_FILE_TMPDIR/$1.log" &&
		grep -q "BIND .*: inbound from 127.0.0.1:[0-9]*: granted" "$BATS_FILE_TMPDIR/$1.log"
}

@test "every listening pattern gets a BIND through socks4d, data both ways" {
	local p t
	for t in $(static_builds); do
		for p in $PATTERNS; do
			bind_ok "$t" "$SOCKS4D_PORT" -p "$p"
			socks4d_bound socks4d "$(advertised)"
		done
	done
}

@test "a listener bound to 127.0.0.9:0 stays local: its own name, no BIND" {
	local before t
	for t in $(static_builds); do
		before=$(grep -c "BIND " "$BATS_FILE_TMPDIR/socks4d.log" || true)
		run sup "$SOCKS4D_PORT" "$S4_BUILD/s4probe$t" listen-local 127.0.0.1 "$ECHO_PORT" 127.0.0.9
		echo "# s4probe$t: $output"
		[ "$status" -eq 0 ]
		[[ "$(advertised)" == 127.0.0.9:* ]]
		[ "$(advertised)" != 127.0.0.9:0 ]
		[ "$(grep -c "BIND " "$BATS_FILE_TMPDIR/socks4d.log" || true)" -eq "$before" ]
	done
}

@test "a BIND names the server of its thread's connection, not another thread's newer one" {
	local t
	for t in $(static_builds); do
		run env SOCKS4_DEBUG=1 SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' \
			timeout 60 "$SUP" "$S4_BUILD/s4probe$t" bind 127.0.0.1 "$CB_PORT" \
			-O "127.0.0.1:$ECHO_PORT"
		echo "# s4probe$t: $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"data: ok both ways"* ]]
		[[ "$output" == *"BIND 127.0.0.1:$CB_PORT via 127.0.0.1:$SOCKS4D_PORT: first reply"* ]]
		[[ "$output" != *"BIND 127.0.0.1:$ECHO_PORT"* ]]
	done
}

@test "every listening pattern works with accept4 through Dante" {
	local p t
	for t in $(static_builds); do
		for p in $PATTERNS; do
			bind_ok "$t" "$SOCKD_PORT" -p "$p" -4
			grep -q "tcp/bindreply .*127\.0\.0\.1\.$(advertised | sed 's/.*://')" \
				"$BATS_FILE_TMPDIR/sockd.log"
		done
	done
}

@test "a 0.0.0.0 first reply is replaced by the SOCKS server's address" {
	local t
	for t in $(static_builds); do
		bind_ok "$t" "$ZERO_PORT"
		[ "$(advertised | sed 's/:.*//')" = 127.0.0.1 ]
		grep -q "BIND .*: listening on $(advertised)\$" "$BATS_FILE_TMPDIR/zero.log"
	done
}

@test "getpeername on the accepted socket names the application server" {
	local t port
	for t in $(static_builds); do
		bind_ok "$t" "$SOCKS4D_PORT"
		port=$(grep -o 'called .* from 127.0.0.1:[0-9]*' "$BATS_FILE_TMPDIR/cb.log" | tail -n 1)
		port=${port##*:}
		[[ "$output" == *"accept: ok peer=127.0.0.1:$port name=$(advertised)"* ]]
	done
}

@test "a second accept on the same listener fails at once instead of hanging" {
	local t
	for t in $(static_builds); do
		bind_ok "$t" "$SOCKS4D_PORT" -2
		[[ "$output" == *"accept2: EINVAL"* ]]
		bind_ok "$t" "$SOCKS4D_PORT" -2 -p timed-accept
		[[ "$output" == *"accept2: EAGAIN"* ]]
	done
}

@test "a second reply of 91 makes accept fail with ECONNABORTED" {
	local t
	for t in $(static_builds); do
		run_build "$SECOND91_PORT" s4probe "$t" bind 127.0.0.1 "$CB_PORT"
		[ "$status" -eq 1 ]
		[[ "$output" == *"accept: error ECONNABORTED"* ]]
	done
}

@test "a BIND the server refuses makes listen fail with ECONNREFUSED" {
	local t
	for t in $(static_builds); do
		run_build "$NOBIND_PORT" s4probe "$t" bind 127.0.0.1 "$CB_PORT"
		[ "$status" -eq 1 ]
		[[ "$output" == *"connect: ok"* ]]
		[[ "$output" == *"listen: error ECONNREFUSED"* ]]
		[[ "$output" == *"BIND 127.0.0.1:$CB_PORT via 127.0.0.1:$NOBIND_PORT: rejected (91, request rejected or failed)"* ]]
	done
}

@test "our own bound on the second reply makes a blocking accept fail with ETIMEDOUT" {
	local t
	for t in $(static_builds); do
		run env SOCKS4_BIND_TIMEOUT=1 SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' \
			timeout 30 "$SUP" "$S4_BUILD/s4probe$t" bind 127.0.0.1 "$CB_PORT" -W
		echo "# s4probe$t: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"accept: error ETIMEDOUT"* ]]
		[[ "$output" == *"no reply within 1 s"* ]]
	done
}

@test "closing a listener before accept ends its BIND at the proxy" {
	local t
	for t in $(static_builds); do
		run_build "$SOCKS4D_PORT" s4probe "$t" bind 127.0.0.1 "$CB_PORT" -W -C
		[ "$status" -eq 0 ]
		[[ "$output" == *"closed: ok"* ]]
	done
}

@test "a socket whose BIND started can still be used for connect()" {
	local t
	for t in $(static_builds); do
		run env SOCKS4_DEBUG=1 SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' timeout 30 \
			"$SUP" "$S4_BUILD/s4probe$t" name-then-connect 127.0.0.1 "$ECHO_PORT"
		echo "# s4probe$t: $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"used for connect() after its BIND started; BIND closed"* ]]
		[[ "$output" == *"read: ok 'ping'"* ]]
	done
}

@test "a BIND listener says SO_ACCEPTCONN 1, as a listening socket does" {
	run sup "$SOCKS4D_PORT" "$S4_PY" -c '
import socket, sys
ctl = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen(1)
print("listen", l.getsockname()[0])
print("acceptconn", l.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
print("connected", ctl.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
' "$CB_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "listen 127.0.0.1"
	has_line "acceptconn 1"
	has_line "connected 0"
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

@test "with SOCKS4_BIND=off the listener stays local" {
	local before t
	before=$(grep -c "BIND .*: listening on" "$BATS_FILE_TMPDIR/socks4d.log" || true)
	for t in $(static_builds); do
		run env SOCKS4_BIND=off SOCKS4_SERVER="127.0.0.1:$SOCKS4D_PORT" SOCKS4_DIRECT='' timeout 30 \
			"$SUP" "$S4_BUILD/s4probe$t" bind 127.0.0.1 "$CB_PORT"
		echo "# s4probe$t: $output"
		[[ "$output" == *"listen: 0.0.0.0:"* ]]
	done
	[ "$(grep -c "BIND .*: listening on" "$BATS_FILE_TMPDIR/socks4d.log" || true)" = "$before" ]
}

@test "active-mode FTP upload and download, every pattern, PORT and EPRT" {
	local p name t
	for t in $(static_builds); do
		for p in $PATTERNS; do
			for opt in "" "-E -4"; do
				name=up-$p-$RANDOM.bin
				# shellcheck disable=SC2086 # the options are words
				run sup "$SOCKS4D_PORT" "$S4_BUILD/s4probe$t" ftp 127.0.0.1 "$FTPD_PORT" "$name" \
					-u "$BATS_FILE_TMPDIR/up.bin" -o "$BATS_TEST_TMPDIR/got" -p "$p" $opt
				echo "# s4probe$t: $output"
				[ "$status" -eq 0 ]
				cmp "$BATS_FILE_TMPDIR/up.bin" "$BATS_FILE_TMPDIR/ftp/$name"
				cmp "$BATS_FILE_TMPDIR/up.bin" "$BATS_TEST_TMPDIR/got"
			done
		done
	done
	grep -q "client says PORT 127,0,0,1," "$BATS_FILE_TMPDIR/ftpd.log"
	grep -q "client says EPRT |1|127.0.0.1|" "$BATS_FILE_TMPDIR/ftpd.log"
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
