#!/usr/bin/env bats
# bind.bats - listening sockets served by SOCKS4 BIND, on loopback.
#
# s4probe opens its listener with each socket pattern real clients use
# (see tests/tools/s4probe.c) and the application server (callback.py, or
# a real FTP server) connects back to the address it advertised. Every
# test checks the data both ways, that no descriptor leaked, and that the
# connection really came through the proxy's BIND.
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers
load helpers/ftp

PATTERNS="textbook name-first control-addr unbound timed-accept epoll epoll-et"

setup_file() {
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/ftp"
	ftp_blob "$d/ftp/blob" 1048576
	ftp_blob "$d/up.bin" 300001
	start_callback cb
	start_pyftpd ftpd "$d/ftp"
	start_socks4d socks4d
	start_socks4d zero -z
	start_socks4d slow -b 1
	start_socks4d closer -M close-before-first
	start_socks4d second91 -M second=91
	start_sockd sockd
	S4_SOCKD_NO_BIND=1 start_sockd nobind
}

teardown_file() {
	s4_stop_all
}

# advertised: the address s4probe advertised, from its "listen:" line.
advertised() {
	sed -n 's/^listen: //p' <<<"$output" | tail -n 1
}

# bind_ok PORT [s4probe bind options]: the raw sequence succeeds.
bind_ok() {
	local port=$1
	shift
	run s4_wrap "$port" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"data: ok both ways"* ]]
	[[ "$output" == *"fds: ok"* ]]
}

# socks4d_bound NAME ADDR: socks4d NAME listened for a BIND on ADDR and
# granted the call back.
socks4d_bound() {
	grep -q "BIND .*: listening on $2\$" "$BATS_FILE_TMPDIR/$1.log" &&
		grep -q "BIND .*: inbound from 127.0.0.1:[0-9]*: granted" "$BATS_FILE_TMPDIR/$1.log"
}

# each_pattern PORT CHECK [options]: bind_ok and CHECK for every pattern.
each_pattern() {
	local port=$1 check=$2 p
	shift 2
	for p in $PATTERNS; do
		bind_ok "$port" -p "$p" "$@"
		"$check" "$(advertised)"
	done
}

check_socks4d() { socks4d_bound socks4d "$1"; }
check_zero() {
	# the reply said 0.0.0.0: the client substitutes the server's address
	[ "${1%:*}" = 127.0.0.1 ]
	grep -q "BIND .*: listening on $1\$" "$BATS_FILE_TMPDIR/zero.log"
}
check_sockd() {
	# Dante logs the bindreply with the port it listened on
	grep -q "tcp/bindreply .*127\.0\.0\.1\.${1##*:}" "$BATS_FILE_TMPDIR/sockd.log"
}

@test "a BIND names the server of its thread's connection, not another thread's newer one" {
	run s4_wrap "$SOCKS4D_PORT" -v "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" \
		-O "127.0.0.1:$FTPD_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"data: ok both ways"* ]]
	[[ "$output" == *"BIND 127.0.0.1:$CB_PORT via 127.0.0.1:$SOCKS4D_PORT: first reply"* ]]
	[[ "$output" != *"BIND 127.0.0.1:$FTPD_PORT"* ]]
}

@test "every listening pattern gets a BIND through socks4d, data both ways" {
	each_pattern "$SOCKS4D_PORT" check_socks4d
}

@test "every listening pattern works with accept4 through socks4d" {
	each_pattern "$SOCKS4D_PORT" check_socks4d -4
}

@test "a 0.0.0.0 first reply is replaced by the SOCKS server's address" {
	each_pattern "$ZERO_PORT" check_zero
}

@test "every listening pattern gets a BIND through Dante" {
	each_pattern "$SOCKD_PORT" check_sockd
}

@test "every listening pattern gets a BIND through Dante, with accept4" {
	each_pattern "$SOCKD_PORT" check_sockd -4
}

@test "getpeername on the accepted socket names the application server" {
	bind_ok "$SOCKS4D_PORT"
	# callback.py connects from 127.0.0.1 and says from which port
	local port
	port=$(grep -o 'called .* from 127.0.0.1:[0-9]*' "$BATS_FILE_TMPDIR/cb.log" | tail -n 1)
	port=${port##*:}
	[[ "$output" == *"accept: ok peer=127.0.0.1:$port name=$(advertised)"* ]]
}

@test "a call back from the wrong host is refused: accept fails with ECONNABORTED" {
	run s4_wrap "$SOCKS4D_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -S 127.0.0.2
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ECONNABORTED"* ]]
	[[ "$output" == *"rejected (91, request rejected or failed)"* ]]
	grep -q "inbound from 127.0.0.2:[0-9]*: rejected (source mismatch)" "$BATS_FILE_TMPDIR/socks4d.log"
}

@test "a BIND the server times out makes accept fail with ECONNABORTED" {
	local t0=$SECONDS
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -W
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ECONNABORTED"* ]]
	[ $((SECONDS - t0)) -lt 10 ]
}

@test "a BIND the server times out wakes a poller, then accept fails" {
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -W -p timed-accept -t 5000
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ECONNABORTED"* ]]
}

@test "our own bound on the second reply makes a blocking accept fail with ETIMEDOUT" {
	run env SOCKS4_BIND_TIMEOUT=1 SOCKS4_DIRECT='' timeout 30 "$SOCKS4WRAP" \
		-s "127.0.0.1:$SOCKS4D_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -W
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ETIMEDOUT"* ]]
	[[ "$output" == *"no reply within 1 s"* ]]
}

@test "a second reply of 91 makes accept fail with ECONNABORTED" {
	run s4_wrap "$SECOND91_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"accept: error ECONNABORTED"* ]]
}

@test "a BIND the server refuses makes listen fail with ECONNREFUSED, with its CONNECT still fine" {
	run s4_wrap "$NOBIND_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"connect: ok"* ]]
	[[ "$output" == *"listen: error ECONNREFUSED"* ]]
	[[ "$output" == *"BIND 127.0.0.1:$CB_PORT via 127.0.0.1:$NOBIND_PORT: rejected (91, request rejected or failed)"* ]]
	run s4_wrap "$NOBIND_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -p name-first
	[ "$status" -eq 1 ]
	[[ "$output" == *"getsockname: error ECONNREFUSED"* ]]
}

@test "a server that closes before the first reply makes listen fail with ECONNRESET" {
	run s4_wrap "$CLOSER_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"listen: error ECONNRESET"* ]]
	[[ "$output" == *"server closed the connection after 0 of 8 reply bytes"* ]]
}

@test "the port read before listen fails the same way when the BIND fails" {
	run s4_wrap "$CLOSER_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -p name-first
	[ "$status" -eq 1 ]
	[[ "$output" == *"getsockname: error ECONNRESET"* ]]
}

@test "a second accept on the same listener fails at once instead of hanging" {
	bind_ok "$SOCKS4D_PORT" -2
	[[ "$output" == *"accept2: EINVAL"* ]]
	bind_ok "$SOCKS4D_PORT" -2 -p timed-accept
	[[ "$output" == *"accept2: EAGAIN"* ]]
}

@test "closing a listener before accept ends its BIND at the proxy" {
	local before
	before=$(s4_count socks4d "BIND .* closed")
	run s4_wrap "$SOCKS4D_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT" -W -C
	[ "$status" -eq 0 ]
	[[ "$output" == *"closed: ok"* ]]
	local addr
	addr=$(advertised)
	# the proxy saw the client leave and freed the port at once
	s4_wait_more socks4d "BIND .* closed" "$before" 5
	run "$S4_PY" -c "import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(s.connect_ex(('127.0.0.1', ${addr##*:})) == 0)"
	[ "$status" -eq 0 ]
}

@test "a BIND listener says SO_ACCEPTCONN 1, as a listening socket does" {
	run s4_wrap "$SOCKS4D_PORT" "$S4_PY" -c '
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

@test "with SOCKS4_BIND=off the listener stays local" {
	local before
	before=$(grep -c ' BIND ' "$BATS_FILE_TMPDIR/socks4d.log" || true)
	run env SOCKS4_BIND=off SOCKS4_DIRECT='' timeout 30 "$SOCKS4WRAP" \
		-s "127.0.0.1:$SOCKS4D_PORT" "$(s4_tool s4probe)" bind 127.0.0.1 "$CB_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"listen: 0.0.0.0:"* ]]
	[ "$(grep -c ' BIND ' "$BATS_FILE_TMPDIR/socks4d.log" || true)" = "$before" ]
}

@test "a listener opened before any proxied connection stays local, and -v says why" {
	run s4_wrap "$SOCKS4D_PORT" -v "$S4_PY" -c '
import socket
l = socket.create_server(("", 0))
print("name", l.getsockname())'
	[ "$status" -eq 0 ]
	[[ "$output" == *"stays local: no proxied connection yet"* ]]
	[[ "$output" == *"name ('0.0.0.0', "* ]]
}

@test "a wrapped server on an explicit port is reachable locally and never BINDs" {
	local before port
	before=$(grep -c ' BIND ' "$BATS_FILE_TMPDIR/socks4d.log" || true)
	port=$(s4_free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "local page" >"$BATS_TEST_TMPDIR/www/p.txt"
	s4_start wrapped-http env SOCKS4_DIRECT='' "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" \
		"$S4_PY" -m http.server "$port" --bind 0.0.0.0 --directory "$BATS_TEST_TMPDIR/www"
	s4_wait_port 127.0.0.1 "$port" 10
	run curl -sS --max-time 10 "http://127.0.0.1:$port/p.txt"
	s4_stop wrapped-http
	[ "$status" -eq 0 ]
	[ "$output" = "local page" ]
	[ "$(grep -c ' BIND ' "$BATS_FILE_TMPDIR/socks4d.log" || true)" = "$before" ]
}

@test "a socket whose BIND started can still be used for connect()" {
	start_echo echo
	run s4_wrap "$SOCKS4D_PORT" -v "$(s4_tool s4probe)" name-then-connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"used for connect() after its BIND started; BIND closed"* ]]
	[[ "$output" == *"read: ok 'ping'"* ]]
	[[ "$output" == *"fds: ok"* ]]
}

# ftp_ok PORT PATTERN [options]: s4probe's active-mode FTP client uploads
# and downloads through the SOCKS server at PORT; both files intact.
ftp_ok() {
	local port=$1 pattern=$2 name=up-$2-$RANDOM.bin
	shift 2
	run s4_wrap "$port" "$(s4_tool s4probe)" ftp 127.0.0.1 "$FTPD_PORT" "$name" \
		-u "$BATS_FILE_TMPDIR/up.bin" -o "$BATS_TEST_TMPDIR/got" -p "$pattern" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$BATS_FILE_TMPDIR/up.bin" "$BATS_FILE_TMPDIR/ftp/$name"
	cmp "$BATS_FILE_TMPDIR/up.bin" "$BATS_TEST_TMPDIR/got"
}

@test "active-mode FTP upload and download with PORT, every pattern, through socks4d" {
	local p
	for p in $PATTERNS; do
		ftp_ok "$SOCKS4D_PORT" "$p"
	done
	# pyftpdlib was told the proxy's addresses
	grep -q "client says PORT 127,0,0,1," "$BATS_FILE_TMPDIR/ftpd.log"
}

@test "active-mode FTP with EPRT and accept4, every pattern, through Dante" {
	local p
	for p in $PATTERNS; do
		ftp_ok "$SOCKD_PORT" "$p" -E -4
	done
	grep -q "client says EPRT |1|127.0.0.1|" "$BATS_FILE_TMPDIR/ftpd.log"
}

@test "active-mode FTP with a timed control connect, through socks4d" {
	ftp_ok "$SOCKS4D_PORT" timed-accept -n -t 5000
}

# Two FTP sessions at once, to two servers (127.0.0.2 and 127.0.0.3),
# through Dante, which checks that a BIND's connection comes from the
# application server its request named: each session's data listener
# must name its own server. Python's ftplib, active mode, A then B then A.
TWO_SERVERS='
import ftplib, sys
a = ftplib.FTP(); a.connect("127.0.0.2", int(sys.argv[1]), timeout=20); a.login()
b = ftplib.FTP(); b.connect("127.0.0.3", int(sys.argv[2]), timeout=20); b.login()
for f in (a, b):
    f.set_pasv(False)
for name, f in (("a", a), ("b", b), ("a", a)):
    got = bytearray()
    f.retrbinary("RETR blob", got.extend)
    print("%s: %d bytes" % (name, len(got)))
a.quit(); b.quit()
'

@test "two FTP sessions to two servers at once: each BIND names its own server, through Dante's source check" {
	skip_in_mode syscall "the supervisor does not see reads and writes: A, B, then A again names B"
	if [ -z "${FTPA_PORT:-}" ]; then
		start_pyftpd ftpa "$BATS_FILE_TMPDIR/ftp" 127.0.0.2
		start_pyftpd ftpb "$BATS_FILE_TMPDIR/ftp" 127.0.0.3
	fi
	run s4_wrap "$SOCKD_PORT" "$S4_PY" -c "$TWO_SERVERS" "$FTPA_PORT" "$FTPB_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "a: 1048576 bytes"
	has_line "b: 1048576 bytes"
	[ "$(grep -c '^a: 1048576 bytes$' <<<"$output")" -eq 2 ]
}
