#!/usr/bin/env bats
# socks4d.bats - the bundled SOCKS4 server, spoken to by a raw client
# (tests/helpers/s4client.py): CONNECT, BIND, SOCKS 4A, limits, timeouts,
# relays cut short, -M.

load helpers/common

# S4_SOCKS4D=PATH runs these tests against another build of the server (an
# ASan build, a valgrind wrapper) without touching build/socks4d.
SOCKS4D=${S4_SOCKS4D:-$SOCKS4D}
export PYTHONDONTWRITEBYTECODE=1
S4C=$BATS_TEST_DIRNAME/helpers/s4client.py

s4c() { "$S4_PY" "$S4C" "$@"; }

setup_file() {
	s4_start echo "$S4_PY" "$S4C" echo "$BATS_FILE_TMPDIR/echo.port"
	s4_wait_file "$BATS_FILE_TMPDIR/echo.port"
	ECHO_PORT=$(cat "$BATS_FILE_TMPDIR/echo.port")
	export ECHO_PORT
	start_socks4d socks4d -t 5 -U
	ns4a_setup
}

teardown_file() {
	s4_stop_all
	ns4a_teardown
}

teardown() {
	local name
	for name in "${PER_TEST[@]}"; do
		s4_stop "$name"
	done
}

# per_test [socks4d options]: a server for this test only, named $SRV
# (its log is $SRV.log), listening on $PORT.
per_test() {
	local var
	SRV=t$BATS_TEST_NUMBER
	PER_TEST+=("$SRV")
	start_socks4d "$SRV" "$@"
	var=${SRV^^}_PORT
	PORT=${!var}
}

# has_match REGEX: some line of $output matches REGEX whole (common.bash's
# has_line wants the line exactly, and is used where that is enough).
has_match() {
	local l
	for l in "${lines[@]}"; do
		[[ $l =~ ^$1$ ]] && return 0
	done
	s4_fail "no line matches '$1' in:"$'\n'"$output"
}

# lacks_match REGEX: no line of $output matches REGEX whole.
lacks_match() {
	local l
	for l in "${lines[@]}"; do
		[[ $l =~ ^$1$ ]] && s4_fail "line '$l' matches '$1'" && return 1
	done
	return 0
}

# A port nothing listens on: bound for a moment, then released.
closed_port() {
	"$S4_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ECHO_DST() { echo "127.0.0.1:$ECHO_PORT"; }

# --- CONNECT ---------------------------------------------------------------

@test "CONNECT is granted and an echo round trip goes through" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --send 'hello' --want 5
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[ "${lines[1]}" = "data hello" ]
	s4_wait_log socks4d "CONNECT 127\.0\.0\.1:$ECHO_PORT from 127\.0\.0\.1:[0-9]+ user=bob: granted" 5
}

@test "the CONNECT reply carries the outward socket's local address" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --send 'x' --want 1
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ (127\.0\.0\.1:[0-9]+)$ ]]
	local outward=${BASH_REMATCH[1]}
	# the echo server logs each connection's peer: that is socks4d's socket
	s4_wait_log echo "^peer ${outward//./\\.}$" 5
}

@test "-Z puts 0.0.0.0:0 in the CONNECT reply and still relays" {
	per_test -Z
	run s4c connect "$PORT" "$(ECHO_DST)" --send 'zero' --want 4
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 90 0.0.0.0:0" ]
	[ "${lines[1]}" = "data zero" ]
}

@test "CONNECT to a closed port gets 91 and the connection closes" {
	local port
	port=$(closed_port)
	run s4c connect "$SOCKS4D_PORT" "127.0.0.1:$port"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
	s4_wait_log socks4d "CONNECT 127\.0\.0\.1:$port from .* user=bob: rejected \(Connection refused\)" 5
}

@test "a CONNECT that does not complete within -t 1 gets 91 and is closed" {
	per_test -t 1
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$PORT" <<'EOF'
import socket, sys, time
from s4client import *
# A listener that never accepts, its queue full: later SYNs go unanswered.
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
held = []
for _ in range(3):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(l.getsockname())
    held.append(c)
time.sleep(0.2)
s = open_proxy(sys.argv[1])
t0 = time.monotonic()
s.sendall(build_request(CMD_CONNECT, "127.0.0.1:%d" % l.getsockname()[1]))
report_reply(s)
print("waited %d s" % round(time.monotonic() - t0))
finish(s)
EOF
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "waited 1 s" ]
	[ "${lines[2]}" = "eof" ]
	s4_wait_log "$SRV" "CONNECT 127\.0\.0\.1:[0-9]+ from .* user=bob: rejected \(timeout\)" 5
}

@test "a client outside the -a list gets 91 and is closed" {
	per_test -a 10.0.0.0/8 -a 192.0.2.1
	run s4c connect "$PORT" "$(ECHO_DST)"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
	s4_wait_log "$SRV" "client 127\.0\.0\.1:[0-9]+: rejected \(client not allowed\)" 5
}

# Issue 13 item 14: the -a check comes at accept(), so clients from outside
# the list never take one of the -m slots, however long they stay.
@test "clients outside the -a list get 91 at once and never take a -m slot" {
	per_test -m 2 -r 10 -a 127.0.0.1/32
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$PORT" "$(ECHO_DST)" <<'EOF'
import socket, sys
from s4client import *
proxy, dst = sys.argv[1], sys.argv[2]
outsiders = []
for i in range(4):
    o = socket.socket()
    o.settimeout(TIMEOUT)
    o.bind(("127.0.0.2", 0))
    o.connect(("127.0.0.1", int(proxy)))
    outsiders.append(o)  # silent: not a byte of a request
for i, o in enumerate(outsiders):
    rep, _, end = read_exact(o, 8)
    print("outsider", i, fmt_reply(rep) if not end else end)
held = []
for i in range(2):
    s = open_proxy(proxy)
    s.sendall(build_request(CMD_CONNECT, dst) + b"in %d" % i)
    rep, _, end = read_exact(s, 8)
    print("insider", i, fmt_reply(rep) if not end else end)
    held.append(s)
for i, s in enumerate(held):
    data, end = read_to_end(s, 4)
    print("insider", i, esc(data))
EOF
	[ "$status" -eq 0 ]
	for i in 0 1 2 3; do
		has_line "outsider $i reply 0 91 0.0.0.0:0"
	done
	[[ ${lines[4]} == "insider 0 reply 0 90 "* ]]
	[[ ${lines[5]} == "insider 1 reply 0 90 "* ]]
	has_line "insider 0 in 0"
	has_line "insider 1 in 1"
	s4_wait_log "$SRV" "client 127\.0\.0\.2:[0-9]+: rejected \(client not allowed\)" 5
	run grep -c "too many clients" "$BATS_FILE_TMPDIR/$SRV.log"
	[ "$output" = 0 ]
}

@test "a USERID of 1024 bytes is accepted" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user-len 1024 --send 'ok' --want 2
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 .*'
	has_line 'data ok'
}

@test "a USERID of 1025 bytes gets 91 and is closed" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user-len 1025
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
	s4_wait_log socks4d "rejected \(user id longer than 1024 bytes\)" 5
}

@test "a request with version 5 gets 91 and is closed" {
	run s4c connect "$SOCKS4D_PORT" x:0 --raw 050100507f000001626f6200
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
	s4_wait_log socks4d "rejected \(malformed request\)" 5
}

@test "a request with an unknown command gets 91 and is closed" {
	run s4c connect "$SOCKS4D_PORT" x:0 --raw 040300507f000001626f6200
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
}

@test "a request split over many one-byte writes works" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --split --send 'split' --want 5
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	has_line 'data split'
}

@test "bytes sent in the same write as the request are relayed first" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --with 'early,' --send 'late' --want 10
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 .*'
	has_line 'data early,late'
}

@test "after the client's half-close the destination's remaining reply still arrives" {
	# the echo server answers EOF with "bye\n" and closes
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --send 'half' --shut
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 .*'
	[ "${lines[1]}" = 'data halfbye\n' ]
	[ "${lines[2]}" = "eof" ]
	s4_wait_log socks4d "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: closed \(4 bytes up, 8 bytes down\)" 5
}

@test "an incomplete request is dropped after -r 1" {
	per_test -r 1
	SECONDS=0
	run s4c connect "$PORT" x:0 --raw 0401 --timeout 4
	[ "$status" -eq 0 ]
	[ "$output" = "eof" ]
	[ "$SECONDS" -lt 4 ]
	s4_wait_log "$SRV" "client 127\.0\.0\.1:[0-9]+: dropped \(no complete request within 1000 ms\)" 5
}

@test "a client that resets mid-request leaves the server serving others" {
	run "$S4_PY" -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x04\x01\x00")
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --send 'after' --want 5
	[ "$status" -eq 0 ]
	has_line 'data after'
}

# --- BIND ------------------------------------------------------------------

@test "BIND sends both replies and relays both ways" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --to-inbound 'ping' --to-client 'pong'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ 127\.0\.0\.1:([0-9]+)$ ]]
	local bport=${BASH_REMATCH[1]}
	[ "$bport" -ne 0 ]
	[[ ${lines[1]} =~ ^inbound-local\ (127\.0\.0\.1:[0-9]+)$ ]]
	# the second reply names the host that connected
	[ "${lines[2]}" = "reply 0 90 ${BASH_REMATCH[1]}" ]
	[ "${lines[3]}" = "inbound-data ping" ]
	[ "${lines[4]}" = "data pong" ]
	[ "${lines[5]}" = "eof" ]
	[ "${lines[6]}" = "inbound-eof" ]
	s4_wait_log socks4d "BIND 127\.0\.0\.1:21 from 127\.0\.0\.1:[0-9]+ user=bob: listening on 127\.0\.0\.1:$bport" 5
	s4_wait_log socks4d "BIND 127\.0\.0\.1:21 from 127\.0\.0\.1:[0-9]+: inbound from 127\.0\.0\.1:[0-9]+: granted" 5
}

@test "BIND relays bytes sent with the request once the inbound host arrives" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --with 'early,' --to-inbound 'ping'
	[ "$status" -eq 0 ]
	has_line 'inbound-data early,ping'
}

@test "-z puts 0.0.0.0 in the first BIND reply, with the real port" {
	per_test -z
	run s4c bind "$PORT" 127.0.0.1:21 --to-client 'pong'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ 0\.0\.0\.0:([0-9]+)$ ]]
	local bport=${BASH_REMATCH[1]}
	[ "$bport" -ne 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	has_line 'data pong'
	s4_wait_log "$SRV" "listening on 127\.0\.0\.1:$bport" 5
}

@test "-e sets the address BIND listens on" {
	per_test -e 127.0.0.2
	run s4c bind "$PORT" 127.0.0.1:21 --leave
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ 127\.0\.0\.2:[1-9][0-9]*$ ]]
}

@test "BIND from a mismatched source gets 91 and both sides are closed" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --from 127.0.0.2
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	has_match 'inbound-local 127\.0\.0\.2:[0-9]+'
	[ "${lines[2]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[3]}" = "eof" ]
	[[ ${lines[4]} =~ ^inbound-(eof|reset)$ ]]
	s4_wait_log socks4d "inbound from 127\.0\.0\.2:[0-9]+: rejected \(source mismatch\)" 5
}

@test "BIND with no inbound connection gets 91 after -b 1" {
	per_test -b 1
	SECONDS=0
	run s4c bind "$PORT" 127.0.0.1:21 --no-inbound --timeout 4
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[ "${lines[1]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[2]}" = "eof" ]
	[ "$SECONDS" -lt 4 ]
	s4_wait_log "$SRV" "BIND 127\.0\.0\.1:21 from 127\.0\.0\.1:[0-9]+: rejected \(timeout\)" 5
}

@test "a client leaving during the BIND wait frees the listening port" {
	per_test
	run s4c bind "$PORT" 127.0.0.1:21 --leave
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ (127\.0\.0\.1:[0-9]+)$ ]]
	local where=${BASH_REMATCH[1]}
	s4_wait_log "$SRV" "closed \(client left while waiting\)" 5
	run s4c probe "$where"
	[ "$output" = "refused" ]
}

# --- relays cut short --------------------------------------------------------

# Issue 13 item 15: what socks4d has acknowledged to the client reaches the
# destination even when the client then resets: all of it, then the reset.
@test "a client's reset after its last byte was acknowledged loses none of it" {
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$SOCKS4D_PORT" <<'EOF'
import sys
from s4client import *
s, c, rep = proxied_pair(sys.argv[1])
print(fmt_reply(rep))
s.sendall(b"x" * 1000000)
print("outq", wait_acknowledged(s))  # socks4d has taken every byte
reset_close(s)
data, end = read_to_end(c)
print("destination got", len(data), "then", end)
EOF
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "reply 0 90 "* ]]
	[ "${lines[1]}" = "outq 0" ]
	[ "${lines[2]}" = "destination got 1000000 then reset" ]
}

# The same from the other side, with the client still sending when the
# destination has reset: its bytes fail to go out, and what the
# destination sent before its reset still reaches the client, all of it,
# also what socks4d has acknowledged but not yet read: 2.5 MB fill the
# client's side (about 2.1 MB) and part of socks4d's receive buffer.
@test "a destination's reset loses none of what it sent, while the client still sends" {
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$SOCKS4D_PORT" <<'EOF'
import sys, time
from s4client import *
s, c, rep = proxied_pair(sys.argv[1])
print(fmt_reply(rep))
c.sendall(b"y" * 2500000)
print("outq", wait_acknowledged(c))  # socks4d has taken every byte
reset_close(c)
time.sleep(0.2)
s.sendall(b"ping")  # socks4d's write of it to the destination fails
time.sleep(0.2)
data, end = read_to_end(s)
print("client got", len(data), "then", end)
EOF
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "reply 0 90 "* ]]
	[ "${lines[1]}" = "outq 0" ]
	[ "${lines[2]}" = "client got 2500000 then reset" ]
}

# stop_relayed SIGNAL: a relay through its own socks4d, one byte each way,
# then SIGNAL to the server; prints what each end saw, sets STOP_RC to the
# server's exit status.
stop_relayed() {
	per_test
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$PORT" "$(s4_pid "$SRV")" "$1" <<'EOF'
import os, signal, sys
from s4client import *
pid, sig = int(sys.argv[2]), getattr(signal, sys.argv[3])
s, c, rep = proxied_pair(sys.argv[1])
print(fmt_reply(rep))
s.sendall(b"u")
c.sendall(b"d")
print("relayed", esc(read_exact(c, 1)[0]), esc(read_exact(s, 1)[0]))
os.kill(pid, sig)
print("client", read_to_end(s)[1])
print("destination", read_to_end(c)[1])
EOF
	STOP_RC=0
	wait "$(s4_pid "$SRV")" || STOP_RC=$?
}

# Issue 13 item 16: a relay cut by SIGTERM must not read as a clean end.
@test "SIGTERM resets relays in progress at both ends and logs what was cut" {
	stop_relayed SIGTERM
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "relayed u d" ]
	[ "${lines[2]}" = "client reset" ]
	[ "${lines[3]}" = "destination reset" ]
	[ "$STOP_RC" -eq 0 ]
	s4_wait_log "$SRV" "CONNECT 127\.0\.0\.1:[0-9]+ from 127\.0\.0\.1:[0-9]+: reset \(cut by signal 15; 1 bytes up, 1 bytes down\)" 5
}

@test "SIGHUP ends socks4d as SIGTERM does: relays reset, exit 0" {
	stop_relayed SIGHUP
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "client reset" ]
	[ "${lines[3]}" = "destination reset" ]
	[ "$STOP_RC" -eq 0 ]
	s4_wait_log "$SRV" "reset \(cut by signal 1; 1 bytes up, 1 bytes down\)" 5
}

# Issue 13 item 17: a receiver that stops reading must not make socks4d hold
# megabytes for it. What the sender gets rid of before it stalls, direct
# and through socks4d, differs by what socks4d holds (its two socket
# buffers and a pipe) and the second hop's own buffers.
@test "a stalled receiver costs a bounded amount of buffering in socks4d" {
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$SOCKS4D_PORT" <<'EOF'
import select, socket, sys
from s4client import *
proxy = sys.argv[1]
def fill(s):
    """Bytes s takes before a peer that never reads stops it for 1 s."""
    s.setblocking(False)
    chunk, sent = b"x" * 65536, 0
    while True:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            if not select.select([], [s], [], 1.0)[1]:
                return sent
def stalled(via_proxy):
    dest = socket.socket()
    dest.bind(("127.0.0.1", 0))
    dest.listen(1)
    to = "127.0.0.1:%d" % dest.getsockname()[1]
    if via_proxy:
        s = open_proxy(proxy)
        s.sendall(build_request(CMD_CONNECT, to))
        read_exact(s, 8)
    else:
        s = socket.create_connection(parse_hostport(to))
    c, _ = dest.accept()
    n = fill(s)
    s.close(); c.close(); dest.close()
    return n
direct, proxied = stalled(False), stalled(True)
print("direct", direct, "proxied", proxied)
print("extra MiB", (proxied - direct) // (1 << 20))
EOF
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} =~ ^extra\ MiB\ (-?[0-9]+)$ ]] || s4_fail "$output" || return 1
	[ "${BASH_REMATCH[1]}" -lt 4 ] || s4_fail "$output"
}

# --- SOCKS 4A ------------------------------------------------------------------
#
# Names are resolved in a network namespace of this file's own (only lo),
# whose /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf are ours: `ip
# netns exec` mounts /etc/netns/NAME/* over /etc. hosts names echo.s4test;
# DNS is slowdns.py on 127.0.0.1:53 (slow.* after 2 s, the rest NXDOMAIN).

# ns4a_setup (setup_file): the namespace, its files, DNS and an echo server
# inside. Without root or `ip netns` it records why in NS4A_SKIP; in CI it
# fails instead.
ns4a_setup() {
	local ns err
	NS4A_SKIP=
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
		NS4A_SKIP="SOCKS 4A tests need root and ip (iproute2)"
	else
		ns=s4d-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
		if ! err=$(ip netns add "$ns" 2>&1); then
			NS4A_SKIP="ip netns add: $err"
		fi
	fi
	if [ -n "$NS4A_SKIP" ]; then
		[ -z "${CI:-}" ] || s4_fail "$NS4A_SKIP" || return 1
		export NS4A_SKIP
		return 0
	fi
	NS4A=$ns
	export NS4A
	echo "$ns" >"$BATS_FILE_TMPDIR/ns4a"
	mkdir -p "/etc/netns/$ns"
	printf '127.0.0.1 localhost\n127.0.0.1 echo.s4test\n' >"/etc/netns/$ns/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
	printf 'hosts: files dns\n' >"/etc/netns/$ns/nsswitch.conf"
	in4a ip link set lo up || return 1
	s4_start dns4a ip netns exec "$ns" "$S4_PY" "$BATS_TEST_DIRNAME/helpers/slowdns.py" \
		127.0.0.1 53 2
	s4_wait_log dns4a '^listening$' 10 || return 1
	s4_start echo4a ip netns exec "$ns" "$S4_PY" "$S4C" echo "$BATS_FILE_TMPDIR/echo4a.port"
	s4_wait_file "$BATS_FILE_TMPDIR/echo4a.port" || return 1
	ECHO4A_PORT=$(cat "$BATS_FILE_TMPDIR/echo4a.port")
	export ECHO4A_PORT
}

# ns4a_teardown (teardown_file, after s4_stop_all): the namespace and files.
ns4a_teardown() {
	local ns
	[ -f "$BATS_FILE_TMPDIR/ns4a" ] || return 0
	ns=$(cat "$BATS_FILE_TMPDIR/ns4a")
	ip netns del "$ns" 2>/dev/null
	rm -rf "/etc/netns/$ns"
	rm -f "$BATS_FILE_TMPDIR/ns4a"
}

ns4a_require() {
	[ -z "${NS4A_SKIP:-}" ] || skip "$NS4A_SKIP"
}

in4a() { ip netns exec "$NS4A" "$@"; }

# per_test4a [socks4d options]: per_test, with socks4d inside the namespace.
per_test4a() {
	SRV=t$BATS_TEST_NUMBER
	PER_TEST+=("$SRV")
	s4_start "$SRV" ip netns exec "$NS4A" "$SOCKS4D" -l 127.0.0.1:0 \
		-p "$BATS_FILE_TMPDIR/$SRV.port" -v "$@"
	s4_wait_file "$BATS_FILE_TMPDIR/$SRV.port" || return 1
	PORT=$(cat "$BATS_FILE_TMPDIR/$SRV.port")
}

@test "a SOCKS4A CONNECT by name is resolved, relayed, and logged with name and address" {
	ns4a_require
	per_test4a
	run in4a "$S4_PY" "$S4C" connect "$PORT" "echo.s4test:$ECHO4A_PORT" --send 'by name' --want 7
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	has_line 'data by name'
	s4_wait_log "$SRV" "CONNECT echo\.s4test:$ECHO4A_PORT at 127\.0\.0\.1 from 127\.0\.0\.1:[0-9]+ user=bob: granted" 5
	# /etc/hosts answered: the name never reached DNS
	run grep -c "query echo.s4test" "$BATS_FILE_TMPDIR/dns4a.log"
	[ "$output" = 0 ]
}

@test "a SOCKS4A name that does not resolve gets 91" {
	ns4a_require
	per_test4a
	run in4a "$S4_PY" "$S4C" connect "$PORT" "nx.s4test:$ECHO4A_PORT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	[ "${lines[1]}" = "eof" ]
	s4_wait_log "$SRV" "CONNECT nx\.s4test:$ECHO4A_PORT from .* user=bob: rejected \(name does not resolve: .*\)" 5
	grep -q "query nx.s4test 1" "$BATS_FILE_TMPDIR/dns4a.log"
}

# A name of n 'h's in a 4A CONNECT to port 80, as hex for --raw.
name_request_hex() {
	printf '04010050000000016200'
	printf "%${1}s" '' | tr ' ' 'h' | od -An -v -tx1 | tr -d ' \n'
	printf '00'
}

@test "a SOCKS4A name longer than 255 bytes gets 91 before its end arrives" {
	local hex
	hex=$(name_request_hex 256)
	# no NUL after the 256th byte: the limit, not the end, decides
	run s4c connect "$SOCKS4D_PORT" x:0 --raw "${hex%00}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log socks4d "client 127\.0\.0\.1:[0-9]+: rejected \(SOCKS4A name longer than 255 bytes\)" 5
}

@test "a SOCKS4A name with a byte no host name holds gets 91" {
	run s4c connect "$SOCKS4D_PORT" x:0 --raw 04010050000000016200626164206e616d6500
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log socks4d "client 127\.0\.0\.1:[0-9]+: rejected \(SOCKS4A name empty or with a byte no name holds\)" 5
}

@test "-N refuses SOCKS4A requests with 91 and says so" {
	per_test -N
	run s4c connect "$PORT" "localhost:$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log "$SRV" "CONNECT localhost:$ECHO_PORT from .* user=bob: rejected \(SOCKS4A is off: -N\)" 5
	# plain SOCKS4 still works
	run s4c connect "$PORT" "$(ECHO_DST)" --send 'ok' --want 2
	has_line 'data ok'
}

@test "a slow SOCKS4A lookup holds up no other client" {
	ns4a_require
	per_test4a
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run in4a "$S4_PY" - "$PORT" "$ECHO4A_PORT" <<'EOF'
import select, sys
from s4client import *
proxy, port = sys.argv[1], sys.argv[2]
slow = open_proxy(proxy)
slow.sendall(build_request(CMD_CONNECT, "slow.s4test:" + port))
plain = open_proxy(proxy)  # DNS answers slow.s4test 2 s from now
plain.sendall(build_request(CMD_CONNECT, "127.0.0.1:" + port) + b"meanwhile")
print("plain", fmt_reply(read_exact(plain, 8)[0]), esc(read_exact(plain, 9)[0]))
ready = select.select([slow], [], [], 0)[0]
print("slow", "answered already" if ready else "still resolving")
slow.settimeout(10)
print("slow", fmt_reply(read_exact(slow, 8)[0]))
EOF
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^plain\ reply\ 0\ 90\ .*\ meanwhile$ ]]
	[ "${lines[1]}" = "slow still resolving" ]
	[[ ${lines[2]} == "slow reply 0 90 "* ]]
	s4_wait_log "$SRV" "CONNECT slow\.s4test:$ECHO4A_PORT at 127\.0\.0\.1 from .*: granted" 5
}

@test "-d is applied to the address a SOCKS4A name resolves to" {
	ns4a_require
	per_test4a -d "127.0.0.1:$ECHO4A_PORT"
	run in4a "$S4_PY" "$S4C" connect "$PORT" "echo.s4test:$ECHO4A_PORT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log "$SRV" "CONNECT echo\.s4test:$ECHO4A_PORT at 127\.0\.0\.1 from .*: rejected \(destination refused by -d 127\.0\.0\.1:$ECHO4A_PORT\)" 5
	# and to a plain request for the same address
	run in4a "$S4_PY" "$S4C" connect "$PORT" "127.0.0.1:$ECHO4A_PORT"
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log "$SRV" "CONNECT 127\.0\.0\.1:$ECHO4A_PORT from .*: rejected \(destination refused by -d 127\.0\.0\.1:$ECHO4A_PORT\)" 5
}

# --- limits and life cycle ---------------------------------------------------

@test "-m 2 refuses a third client while the first two keep working" {
	per_test -m 2
	PYTHONPATH=$BATS_TEST_DIRNAME/helpers run "$S4_PY" - "$PORT" "$(ECHO_DST)" <<'EOF'
import sys
from s4client import *
proxy, dst = sys.argv[1], sys.argv[2]
held = []
for i in range(2):
    s = open_proxy(proxy)
    s.sendall(build_request(CMD_CONNECT, dst))
    rep, _, end = read_exact(s, 8)
    print(fmt_reply(rep) if not end else end)
    held.append(s)
t = open_proxy(proxy)
t.sendall(build_request(CMD_CONNECT, dst))
rep, _, end = read_exact(t, 8)
print("third", rep.hex() or "-", end)
for i, s in enumerate(held):
    s.sendall(b"still %d" % i)
    data, end = read_to_end(s, 7)
    print("client", i, esc(data))
EOF
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "reply 0 90 "* ]]
	[[ ${lines[1]} == "reply 0 90 "* ]]
	[[ ${lines[2]} =~ ^third\ -\ (eof|reset)$ ]]
	[ "${lines[3]}" = "client 0 still 0" ]
	[ "${lines[4]}" = "client 1 still 1" ]
	s4_wait_log "$SRV" "client 127\.0\.0\.1:[0-9]+: refused \(too many clients: 2\)" 5
}

@test "SIGTERM makes socks4d exit 0" {
	per_test
	local pid
	pid=$(s4_pid "$SRV")
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "SIGINT makes socks4d exit 0" {
	per_test
	local pid
	pid=$(s4_pid "$SRV")
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
}

@test "bad options exit 2 with the usage text" {
	local args
	for args in "-x" "-l" "-l 127.0.0.1" "-l 300.0.0.1:80" "-l 127.0.0.1:65536" \
		"-a 10.0.0.0/33" "-a 10.1.2.3/8" "-a 10.0.0.0/8:80" "-a nonsense" "-t 0" "-b -1" "-r soon" "-e ::1" \
		"-m 0" "-M nonsense" "-M reply=256" "-M delay=x" "-M extra=" \
		"-M extra=\\xZZ" "stray"; do
		# shellcheck disable=SC2086 # one word per option
		run "$SOCKS4D" $args
		[ "$status" -eq 2 ] || s4_fail "'$args' exited $status" || return 1
		[[ $output == *"usage: socks4d"* ]] || s4_fail "'$args': no usage" || return 1
	done
}

@test "a port already in use or an unwritable -p FILE exits 1 with one line" {
	per_test
	run "$SOCKS4D" -l "127.0.0.1:$PORT"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4d: cannot listen on 127.0.0.1:$PORT: Address already in use" ]
	run "$SOCKS4D" -l 127.0.0.1:0 -p "$BATS_TEST_TMPDIR/no/such/dir/port"
	[ "$status" -eq 1 ]
	[[ $output =~ ^socks4d:\ cannot\ write\ the\ port\ to\ .*:\ No\ such\ file\ or\ directory$ ]]
}

@test "-h prints the usage text, -M switches included, and exits 0" {
	run "$SOCKS4D" -h
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: socks4d"* ]]
	local m
	for m in reply= version= bytewise delay= stall short reset extra= \
		close-before-first close-after-first second= echo-dst; do
		[[ $output == *"$m"* ]] || s4_fail "-M $m is not documented" || return 1
	done
}

# --- -M misbehaviour ---------------------------------------------------------
# The first test gives -M on the command line; the rest ask the file's
# server (-U) for their misbehaviour in the user id, m:SPEC, so one server
# serves them all.

@test "-M reply=92 sends 92 instead of 90 and closes" {
	per_test -M reply=92
	run s4c connect "$PORT" "$(ECHO_DST)"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 92\  ]]
	[ "${lines[1]}" = "eof" ]
}

@test "-M reply=92 (per client) applies to the first BIND reply too" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --user 'm:reply=92'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 92\  ]]
	[ "${lines[1]}" = "eof" ]
}

@test "-M version=4 (per client) puts VN 4 in the reply" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:version=4' --send 'v' --want 1
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 4\ 90\ 127\.0\.0\.1:[0-9]+$ ]]
}

@test "-M bytewise (per client) writes the reply one byte at a time, 20 ms apart" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:bytewise' --timing --send 'b' --want 1
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[[ ${lines[1]} =~ ^reply-ms\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ge 120 ]
	[[ ${lines[2]} =~ ^reply-chunks\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ge 4 ]
	has_line 'data b'
}

@test "-M delay=400 (per client) holds the first reply for 400 ms" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:delay=400' --timing --send 'd' --want 1
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[[ ${lines[1]} =~ ^reply-ms\ ([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ge 390 ]
	has_line 'data d'
}

@test "-M stall (per client) reads the request, never replies, and holds the connection" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:stall' --timeout 0.7
	[ "$status" -eq 0 ]
	[ "$output" = "timeout" ]
	s4_wait_log socks4d "user=m:stall: misbehaving \(stall\)" 5
	s4_wait_log socks4d "closed \(client left\)" 5
}

@test "-M short (per client) sends only 4 reply bytes and closes" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:short'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^short\ 005a[0-9a-f]{4}$ ]]
	[ "${lines[1]}" = "eof" ]
}

@test "-M reset (per client) closes with a TCP reset after the request" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:reset'
	[ "$status" -eq 0 ]
	[ "$output" = "reset" ]
	s4_wait_log socks4d "misbehaving \(reset\)" 5
}

@test "-M extra=TEXT (per client) reaches the client right after the reply, before relayed bytes" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:extra=220 hi\r\n' --send 'echo' --shut
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[ "${lines[1]}" = 'data 220 hi\r\nechobye\n' ]
	[ "${lines[2]}" = "eof" ]
}

@test "-M echo-dst (per client) puts the destination in the CONNECT reply and still relays" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:echo-dst' --send 'e' --want 1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 90 $(ECHO_DST)" ]
	[ "${lines[1]}" = "data e" ]
}

@test "-M close-before-first (per client) closes a BIND without any reply" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --user 'm:close-before-first'
	[ "$status" -eq 0 ]
	[ "$output" = "eof" ]
}

@test "-M close-after-first (per client) closes a BIND right after the first reply" {
	# no inbound connection: whether one would still get in is a race
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --user 'm:close-after-first' --no-inbound
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^reply\ 0\ 90\ 127\.0\.0\.1:[0-9]+$ ]]
	[ "${lines[1]}" = "eof" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "-M second=93 (per client) sends 93 as the second BIND reply and closes both sides" {
	run s4c bind "$SOCKS4D_PORT" 127.0.0.1:21 --user 'm:second=93'
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	[[ ${lines[1]} =~ ^inbound-local\ (127\.0\.0\.1:[0-9]+)$ ]]
	[ "${lines[2]}" = "reply 0 93 ${BASH_REMATCH[1]}" ]
	[ "${lines[3]}" = "eof" ]
	[[ ${lines[4]} =~ ^inbound-(eof|reset)$ ]]
}

@test "-U: a bad -M spec in the user id gets 91" {
	run s4c connect "$SOCKS4D_PORT" "$(ECHO_DST)" --user 'm:reply=92,nonsense'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "reply 0 91 0.0.0.0:0" ]
	s4_wait_log socks4d "user=m:reply=92,nonsense: rejected \(-U: a bad -M spec in the user id\)" 5
}

@test "-U: several specs in one user id, on top of the server's -M" {
	per_test -U -M version=4
	run s4c connect "$PORT" "$(ECHO_DST)" --user 'm:reply=92,short'
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^short\ 045c[0-9a-f]{4}$ ]]
	[ "${lines[1]}" = "eof" ]
}

@test "without -U a user id m:SPEC is only a user id" {
	per_test
	run s4c connect "$PORT" "$(ECHO_DST)" --user 'm:reply=92' --send 'x' --want 1
	[ "$status" -eq 0 ]
	has_match 'reply 0 90 127\.0\.0\.1:[0-9]+'
	has_line 'data x'
}
