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

# edge [ENV...]: s4edge against the echo server, THREADS x CONNS
# concurrent connections at the end (default 16 x 50).
edge() {
	run env "$@" timeout 120 "$S4_BUILD/s4edge" 127.0.0.1 "$ECHO_PORT" "${THREADS:-16}" "${CONNS:-50}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"not ok"* ]]
	[[ "$output" == *"1..28"* ]]
}

granted_count() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
}

@test "s4edge passes without the shim (the kernel's own answers)" {
	edge
}

@test "s4edge passes through socks4d: 32 threads x 200 connections, no fd leaked" {
	local before after
	before=$(granted_count || true)
	THREADS=32 CONNS=200 edge SOCKS4_DIRECT= "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT"
	after=$(granted_count)
	# 6400 from the threads alone, plus the single checks
	[ $((after - before)) -gt 6400 ]
}

@test "s4edge passes through Dante" {
	edge SOCKS4_DIRECT= "$SOCKS4WRAP" -s "127.0.0.1:$SOCKD_PORT"
	grep -q 'tcp/connect' "$BATS_FILE_TMPDIR/sockd.log"
}

@test "s4edge passes with its destination in the direct list" {
	edge "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT"
}

@test "the library exports the interposed calls and nothing else" {
	run sh -c "nm -D --defined-only '$S4_BUILD/libsocks4wrap.so' | awk '{print \$3}' | LC_ALL=C sort | tr '\n' ' '"
	[ "$status" -eq 0 ]
	[ "$output" = "__read_chk __recv_chk __recvfrom_chk accept accept4 bind close connect dlmopen dlopen dup dup2 dup3 execl execle execlp execv execve execveat execvp execvpe fcntl fcntl64 fexecve getaddrinfo gethostbyaddr gethostbyaddr_r gethostbyname gethostbyname2 gethostbyname2_r gethostbyname_r getnameinfo getpeername getsockname getsockopt listen posix_spawn posix_spawnp preadv2 preadv64v2 pwritev2 pwritev64v2 read readv recv recvfrom recvmmsg recvmsg send sendmmsg sendmsg sendto write writev " ]
}

@test "the library never calls its own hooks: no relocation names any of them" {
	local hooks relocs self
	hooks=$(nm -D --defined-only "$S4_BUILD/libsocks4wrap.so" | awk '{print $3}' | sort -u)
	# a call or an address taken inside the library would need one
	relocs=$(readelf -rW "$S4_BUILD/libsocks4wrap.so" | awk '$3 ~ /JUMP_SLOT|GLOB_DAT|64$/ {print $5}' |
		sed 's/@.*//' | sort -u)
	self=$(comm -12 <(echo "$hooks") <(echo "$relocs") | tr '\n' ' ')
	echo "relocations against our own hooks: $self"
	[ -z "$self" ]
}

@test "loading the library runs nothing: no constructor, no start-up work" {
	# gcc's crt adds an INIT_ARRAY entry (frame_dummy); there must be no
	# constructor of ours beyond it. (A sanitizer build adds one per object
	# file for its own bookkeeping: count only in a plain build.)
	if ! nm -u "$S4_BUILD/libsocks4wrap.so" | grep -q __asan_; then
		run sh -c "objdump -s -j .init_array '$S4_BUILD/libsocks4wrap.so' | grep -c '^ [0-9a-f]'"
		[ "$output" -le 1 ]
	fi
	# and a program that makes no socket call never reads the settings:
	# a broken setting would be reported, yet nothing is printed
	run env SOCKS4_TIMEOUT=bogus LD_PRELOAD="$S4_BUILD/libsocks4wrap.so" /bin/true
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "TCP Fast Open (sendto with MSG_FASTOPEN) goes through the proxy, not around it" {
	local before
	before=$(granted_count || true)
	run env SOCKS4_DIRECT= timeout 30 "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" "$S4_PY" -c "
import socket
s = socket.socket()
s.sendto(b'fast open\n', socket.MSG_FASTOPEN, ('127.0.0.1', $ECHO_PORT))
print(s.recv(64).decode().strip(), s.getpeername()[1] == $ECHO_PORT)
m = socket.socket()
m.sendmsg([b'fast msg\n'], [], socket.MSG_FASTOPEN, ('127.0.0.1', $ECHO_PORT))
print(m.recv(64).decode().strip())"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"fast open True"* ]]
	[[ "$output" == *"fast msg"* ]]
	[ "$(granted_count)" -eq $((before + 2)) ]
}
