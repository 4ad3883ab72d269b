#!/usr/bin/env bats
# connect.bats - unmodified programs' connect() made through a SOCKS4 server.
#
# Everything runs on loopback, so every run sets SOCKS4_DIRECT= (empty:
# nothing goes direct) unless the test is about SOCKS4_DIRECT itself.
# Each request uses its own path (?t=NAME) so the HTTP server's log tells
# which test's request arrived, and how (the proxy's side or directly).
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers

PAGE="socks4wrap connect test page
second line, with no trailing surprises"

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/www"
	printf '%s\n' "$PAGE" >"$BATS_FILE_TMPDIR/www/hello.txt"
	start_http http "$BATS_FILE_TMPDIR/www"
	start_echo echo
	start_socks4d socks4d
	# Allows only 10.255.255.0/24, so every request from 127.0.0.1 is rejected.
	start_socks4d strict -a 10.255.255.0/24
	# Zeros for the address and port in every reply
	start_socks4d zeros -Z
	# The destination in every CONNECT reply, as Twisted's SOCKSv4 does
	start_socks4d echoes -M echo-dst
	start_sockd sockd
}

teardown_file() {
	s4_stop_all
}

setup() {
	[ -e "$S4_BUILD/libsocks4wrap.so" ] ||
		s4_fail "build/libsocks4wrap.so is missing: run make" || return 1
	# curl must not find a proxy of its own in the environment.
	unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY \
		no_proxy NO_PROXY
}

# via PROXY-PORT CMD...: CMD under the wrapper, SOCKS server 127.0.0.1:PORT,
# nothing direct, bounded in time.
via() {
	local port=$1
	shift
	SOCKS4_DIRECT='' timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$port" "$@"
}

url() { echo "http://127.0.0.1:$HTTP_PORT/hello.txt?t=$1"; }

# log_lines NAME: how many lines NAME.log has now.
log_lines() { wc -l <"$BATS_FILE_TMPDIR/$1.log"; }

# proxied_count PORT: how many CONNECTs to 127.0.0.1:PORT socks4d granted.
proxied_count() {
	grep -c "CONNECT 127\.0\.0\.1:$1 from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log" || true
}

# echo_client: a python3 socket client for the echo server; prints what
# came back. Extra code (e.g. s.settimeout(5)) comes in $1.
ECHO_CLIENT='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
exec(sys.argv[1])
s.connect(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"round trip through socks4d\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
'

@test "curl fetches a page through socks4d, which logs the CONNECT" {
	require_preloadable curl
	local pat="CONNECT 127\.0\.0\.1:$HTTP_PORT from 127\.0\.0\.1:[0-9]+.*: granted" before
	before=$(s4_count socks4d "$pat")
	run via "$SOCKS4D_PORT" curl -sS "$(url socks4d)"
	[ "$status" -eq 0 ]
	[ "$output" = "$PAGE" ]
	s4_wait_more socks4d "$pat" "$before" 5
}

@test "curl fetches a page through Dante, which logs the connection" {
	require_preloadable curl
	local before
	before=$(s4_count sockd "tcp/connect \[: .* 127\.0\.0\.1\.$HTTP_PORT\$")
	run via "$SOCKD_PORT" curl -sS "$(url dante)"
	[ "$status" -eq 0 ]
	[ "$output" = "$PAGE" ]
	# danted: "pass(N): tcp/connect [: CLIENT PROXY -> PROXY-OUT 127.0.0.1.PORT"
	s4_wait_more sockd "tcp/connect \[: .* 127\.0\.0\.1\.$HTTP_PORT\$" "$before" 5
	grep -q "GET /hello.txt?t=dante from 127.0.0.1:" "$BATS_FILE_TMPDIR/http.log"
}

@test "netcat's echo round trip goes through socks4d" {
	require_preloadable nc
	local pat="CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" before
	before=$(s4_count socks4d "$pat")
	run via "$SOCKS4D_PORT" nc -N 127.0.0.1 "$ECHO_PORT" <<<"netcat was here"
	[ "$status" -eq 0 ]
	[ "$output" = "netcat was here" ]
	s4_wait_more socks4d "$pat" "$before" 5
}

@test "a python3 socket client's echo round trip goes through socks4d" {
	local pat="CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" before
	before=$(s4_count socks4d "$pat")
	run via "$SOCKS4D_PORT" "$S4_PY" -c "$ECHO_CLIENT" "pass" "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "round trip through socks4d" ]
	s4_wait_more socks4d "$pat" "$before" 5
}

@test "python3 with a socket timeout (a non-blocking connect inside) goes through socks4d" {
	local before
	before=$(proxied_count "$ECHO_PORT")
	run via "$SOCKS4D_PORT" "$S4_PY" -c "$ECHO_CLIENT" "s.settimeout(5)" "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "round trip through socks4d" ]
	[ "$(proxied_count "$ECHO_PORT")" -gt "$before" ]
}

@test "SOCKS4_DEBUG=1 prints the decision line with the destination and the server" {
	require_preloadable curl
	SOCKS4_DEBUG=1 run via "$SOCKS4D_PORT" curl -sS "$(url debug)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CONNECT 127.0.0.1:$HTTP_PORT via 127.0.0.1:$SOCKS4D_PORT: granted"* ]]
	[[ "$output" == *"$PAGE"* ]]
}

@test "with the SOCKS server down curl fails, the shim says so, and nothing goes direct" {
	local closed
	require_preloadable curl
	closed=$(s4_free_port)
	run via "$closed" curl -sS "$(url down)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"via 127.0.0.1:$closed: SOCKS server unreachable"* ]]
	run grep -F "GET /hello.txt?t=down" "$BATS_FILE_TMPDIR/http.log"
	[ "$status" -ne 0 ]
}

@test "a request the SOCKS server rejects fails, and the shim reports code 91" {
	require_preloadable curl
	run via "$STRICT_PORT" curl -sS "$(url rejected)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"CONNECT 127.0.0.1:$HTTP_PORT via 127.0.0.1:$STRICT_PORT: rejected (91"* ]]
	run grep -F "GET /hello.txt?t=rejected" "$BATS_FILE_TMPDIR/http.log"
	[ "$status" -ne 0 ]
}

@test "a destination in SOCKS4_DIRECT goes direct, past the SOCKS server" {
	local before
	require_preloadable curl
	before=$(log_lines socks4d)
	SOCKS4_DIRECT=127.0.0.0/8 SOCKS4_DEBUG=2 run timeout 30 "$SOCKS4WRAP" \
		-s "127.0.0.1:$SOCKS4D_PORT" curl -sS -o "$BATS_TEST_TMPDIR/page" "$(url direct)"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CONNECT 127.0.0.1:$HTTP_PORT: direct"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/page")" = "$PAGE" ]
	grep -q "GET /hello.txt?t=direct from 127.0.0.1:" "$BATS_FILE_TMPDIR/http.log"
	run tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/socks4d.log"
	[ "$status" -eq 0 ]
	[[ "$output" != *"CONNECT"* ]]
}

@test "getpeername on a proxied socket reports the destination, not the proxy" {
	local before
	before=$(proxied_count "$HTTP_PORT")
	run via "$SOCKS4D_PORT" "$S4_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
print("%s:%d" % s.getpeername())' "$HTTP_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "127.0.0.1:$HTTP_PORT" ]
	[ "$(proxied_count "$HTTP_PORT")" -gt "$before" ]
}

@test "an IPv6 destination is refused with ENETUNREACH and a log line" {
	SOCKS4_DEBUG=1 run via "$SOCKS4D_PORT" "$S4_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
try:
    s.connect(("::1", int(sys.argv[1])))
    print("connected")
except OSError as e:
    print("errno", e.errno)' "$HTTP_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"errno 101"* ]]
	[[ "$output" == *"IPv6"* ]]
}

# --- a test program of ours (s4probe): dynamically linked under the
# preload, static under the supervisor --------------------------------------

# grants NAME: the CONNECTs to the echo server socks4d NAME has granted.
grants() {
	s4_count "$1" "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted"
}

@test "s4probe's connect goes through socks4d and echoes" {
	local before
	before=$(grants socks4d)
	run via "$SOCKS4D_PORT" "$(s4_tool s4probe)" connect 127.0.0.1 "$ECHO_PORT" -s "hi\n" -e "hi\n"
	[ "$status" -eq 0 ]
	has_line "read: ok 'hi\\n'"
	[[ "$output" == *"connect: ok peer=127.0.0.1:$ECHO_PORT "* ]]
	[ "$(grants socks4d)" -eq $((before + 1)) ]
}

@test "s4probe's non-blocking connect, with poll and SO_ERROR, completes through socks4d" {
	local before
	before=$(grants socks4d)
	run via "$SOCKS4D_PORT" "$(s4_tool s4probe)" connect -n -t 5000 127.0.0.1 "$ECHO_PORT" -s "nb\n" -e "nb\n"
	[ "$status" -eq 0 ]
	has_line "read: ok 'nb\\n'"
	[ "$(grants socks4d)" -eq $((before + 1)) ]
}

@test "s4probe: getpeername names the destination and getsockname Dante's outward address" {
	# Dante fills the reply with its outward address and port: that is
	# what getsockname must report, not our real end toward the proxy
	local name
	run via "$SOCKD_PORT" "$(s4_tool s4probe)" connect 127.0.0.1 "$ECHO_PORT" -s "d\n" -e "d\n"
	[ "$status" -eq 0 ]
	has_line "read: ok 'd\\n'"
	[[ "$output" == *"peer=127.0.0.1:$ECHO_PORT "* ]]
	name=${output##*name=}
	name=${name%%$'\n'*}
	# danted: "tcp/connect [: CLIENT PROXY -> PROXY-OUT DEST", and the
	# name is PROXY-OUT, Dante's end toward the echo server
	s4_wait_log sockd "-> ${name%:*}\.${name##*:} 127\.0\.0\.1\.$ECHO_PORT\$" 5
}

@test "s4probe: with zeros in the reply getsockname reports the real local name" {
	run via "$ZEROS_PORT" "$(s4_tool s4probe)" connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"peer=127.0.0.1:$ECHO_PORT name=127.0.0.1:"* ]]
}

@test "s4probe: a reply that echoes the destination is not getsockname's answer: the real local name is" {
	local from
	run via "$ECHOES_PORT" "$(s4_tool s4probe)" connect 127.0.0.1 "$ECHO_PORT" -s "t\n" -e "t\n"
	[ "$status" -eq 0 ]
	has_line "read: ok 't\n'"
	[[ "$output" == *"peer=127.0.0.1:$ECHO_PORT name=127.0.0.1:"* ]]
	from=${output##*name=}
	from=${from%%$'\n'*}
	[ "$from" != "127.0.0.1:$ECHO_PORT" ]
	# the name is our end toward the proxy: the client address socks4d saw
	s4_wait_log echoes "CONNECT 127\.0\.0\.1:$ECHO_PORT from ${from//./\\.}[: ].*granted" 5
}

@test "connect() to a fake address no lookup gave out fails with EHOSTUNREACH, never proxied" {
	run s4_wrap "$SOCKS4D_PORT" "$(s4_tool s4probe)" connect 240.0.0.77 21
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"connect: error EHOSTUNREACH "* ]]
	[[ "$output" == *"CONNECT 240.0.0.77:21: a fake address no lookup of this process gave out (remote-dns off): EHOSTUNREACH"* ]]
	run -1 grep -q "240\.0\.0\.77" "$BATS_FILE_TMPDIR/socks4d.log"
}
