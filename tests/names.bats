#!/usr/bin/env bats
# names.bats - name lookups under remote-dns (SOCKS4A, issue 15).
#
# One network namespace whose only resolver is tests/helpers/dnsd.py on
# 127.0.0.1:53: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf and
# hosts over /etc's, so every program in the namespace asks dnsd, and dnsd
# writes down every question. A name the proxy is to resolve must never
# appear in that list; each such test also shows the same lookup with
# remote-dns off reaching dnsd, so it can fail. dnsd knows known.example
# (192.0.2.50) and nothing else; hosts names hosts-only.example.
#
# No connection is made here: connect() to a fake address is in
# firewall.bats, through socks4d and ssh -D. In syscall mode the same
# lookups run under the supervisor: what it does not do yet is skipped,
# saying so.
#
# modes: preload syscall

load helpers/common

LOOKUP=$BATS_TEST_DIRNAME/helpers/lookup.py

# The syscall mode has no remote names yet (README.md, "Names the host
# cannot resolve"): the program's own resolver asks local DNS.
NO_FAKE="no remote names yet: the program's own resolver asks local DNS, and no name gets a fake address"

setup_file() {
	NAMES_SKIP=
	export NAMES_SKIP
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		[ -z "${CI:-}" ] || s4_fail "names.bats needs root and ip netns in CI" || return 1
		NAMES_SKIP="needs root and ip netns (iproute2)"
		return 0
	fi
	NAMES_NS=s4names-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	export NAMES_NS
	echo "$NAMES_NS" >"$BATS_FILE_TMPDIR/ns"
	ip netns add "$NAMES_NS" || return 1
	ip netns exec "$NAMES_NS" ip link set lo up || return 1
	mkdir -p "/etc/netns/$NAMES_NS"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' \
		>"/etc/netns/$NAMES_NS/resolv.conf"
	printf '127.0.0.1 localhost\n192.0.2.77 hosts-only.example hosts-alias\n192.0.2.78 xn--bcher-kva.example\n' \
		>"/etc/netns/$NAMES_NS/hosts"
	DNS_LOG=$BATS_FILE_TMPDIR/dns.queries
	export DNS_LOG
	s4_start dnsd ip netns exec "$NAMES_NS" "$S4_PY" "$BATS_TEST_DIRNAME/helpers/dnsd.py" \
		127.0.0.1 53 "$DNS_LOG" known.example=192.0.2.50
	s4_wait_log dnsd ready
}

teardown_file() {
	s4_stop_all
	if [ -s "$BATS_FILE_TMPDIR/ns" ]; then
		ns=$(cat "$BATS_FILE_TMPDIR/ns")
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/${ns:?}"
	fi
}

setup() {
	[ -z "$NAMES_SKIP" ] || skip "$NAMES_SKIP"
	: >"$DNS_LOG"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# shimmed MODE CMD...: CMD in the namespace under the library or the
# supervisor (S4_SHIM) with remote-dns MODE; the server is never reached
# by a lookup.
shimmed() {
	local mode=$1
	shift
	ip netns exec "$NAMES_NS" env SOCKS4_SERVER=127.0.0.1:1 SOCKS4_REMOTE_DNS="$mode" \
		"${S4_SHIM[@]}" timeout 30 "$@"
}

# lookup MODE ARGS...: the lookup program under the shim, its log lines
# before its answers. The syscall mode's one start line (names are
# resolved locally there: syscall.bats checks it) is left out, so that
# the answers compare in every mode.
lookup() {
	local mode=$1 status=0
	shift
	shimmed "$mode" "$S4_PY" "$LOOKUP" "$@" >"$BATS_TEST_TMPDIR/lookup.out" \
		2>"$BATS_TEST_TMPDIR/lookup.err" || status=$?
	grep -v 'syscall mode: names are resolved here, by local DNS' "$BATS_TEST_TMPDIR/lookup.err" >&2
	cat "$BATS_TEST_TMPDIR/lookup.out"
	return "$status"
}

# asked NAME: dnsd was asked about NAME (any type).
asked() { grep -q " $1\$" "$DNS_LOG"; }
# never_asked NAME: it was not.
never_asked() {
	if asked "$1"; then
		s4_fail "local DNS was asked about $1:"$'\n'"$(cat "$DNS_LOG")"
		return 1
	fi
}

@test "with remote-dns off a lookup reaches the namespace's DNS listener" {
	run lookup off gai files.example 80 inet stream
	[ "$status" -eq 0 ]
	[ "$output" = "error EAI_NONAME" ]
	asked files.example
	run lookup off gai known.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.50 80" ]
}

@test "with remote-dns on getaddrinfo answers a fake address and asks local DNS nothing" {
	skip_in_mode syscall "$NO_FAKE"
	run lookup on gai files.example 21 inet stream
	[ "$status" -eq 0 ]
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 21" ]
	run lookup on gai files.example 21
	has_line "AF_INET SOCK_STREAM 6 240.0.0.1 21"
	has_line "AF_INET SOCK_DGRAM 17 240.0.0.1 21"
	run lookup on gai known.example 80 unspec stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	never_asked files.example
	never_asked known.example
	[ ! -s "$DNS_LOG" ]
}

@test "getaddrinfo's flags, families and services behave as the man page says for a fake address" {
	skip_in_mode syscall "$NO_FAKE"
	run lookup on gai Files.Example ftp inet stream canonname
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 21 Files.Example" ]
	run lookup on gai files.example. http unspec stream addrconfig,passive
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	run lookup on gai files.example 53 inet dgram
	[ "$output" = "AF_INET SOCK_DGRAM 17 240.0.0.1 53" ]
	run lookup on gai files.example 53 inet 0 0 udp
	[ "$output" = "AF_INET SOCK_DGRAM 17 240.0.0.1 53" ]
	run lookup on gai files.example - inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 0" ]
	run lookup on gai files.example no-such-service inet stream
	[ "$output" = "error EAI_SERVICE" ]
	run lookup on gai files.example http inet stream numericserv
	[ "$output" = "error EAI_NONAME" ]
	# numeric only: no lookup at all
	run lookup on gai files.example 80 inet stream numerichost
	[ "$output" = "error EAI_NONAME" ]
	# IPv6 alone cannot be had through SOCKS4A; v4-mapped can
	run lookup on gai files.example 80 inet6 stream
	[ "$output" = "error EAI_ADDRFAMILY" ]
	run lookup on gai files.example 80 inet6 stream v4mapped
	[ "$output" = "AF_INET6 SOCK_STREAM 6 ::ffff:240.0.0.1 80" ]
	run lookup on gai files.example 80 inet6 stream v4mapped,all,canonname
	[ "$output" = "AF_INET6 SOCK_STREAM 6 ::ffff:240.0.0.1 80 files.example" ]
	# a NULL node is the C library's: the wildcard or loopback address
	run lookup on gai - 8080 inet stream passive
	[ "$output" = "AF_INET SOCK_STREAM 6 0.0.0.0 8080" ]
	run lookup on gai - 8080 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 127.0.0.1 8080" ]
	[ ! -s "$DNS_LOG" ]
}

@test "numeric strings, localhost, /etc/hosts names and direct rules are resolved locally" {
	run lookup on gai 192.0.2.9 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.9 80" ]
	run lookup on gai 0x7f.1 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 127.0.0.1 80" ]
	run lookup on gai ::1 80 inet6 stream
	[ "$output" = "AF_INET6 SOCK_STREAM 6 ::1 80" ]
	run lookup on gai localhost 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 127.0.0.1 80" ]
	run lookup on gai HOSTS-ONLY.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.77 80" ]
	run lookup on gai hosts-alias 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.77 80" ]
	never_asked hosts-only.example
	printf 'server 127.0.0.1:1\nremote-dns on\ndirect *.example\nproxy files.example\n' >rc
	SOCKS4_CONF=$PWD/rc run lookup on gai known.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.50 80" ]
	asked known.example
	# the first match wins: files.example is under *.example, so direct too
	SOCKS4_CONF=$PWD/rc run lookup on gai files.example 80 inet stream
	[ "$output" = "error EAI_NONAME" ]
	asked files.example
}

@test "a proxy rule above a broader direct rule sends that name to the proxy" {
	skip_in_mode syscall "$NO_FAKE"
	printf 'server 127.0.0.1:1\nremote-dns on\nproxy files.example\ndirect *.example\n' >rc
	SOCKS4_CONF=$PWD/rc run lookup on gai files.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	SOCKS4_CONF=$PWD/rc run lookup on gai other.example 80 inet stream
	[ "$output" = "error EAI_NONAME" ]
	never_asked files.example
	asked other.example
}

@test "a proxy rule naming a name in /etc/hosts leaves it to the proxy" {
	skip_in_mode syscall "$NO_FAKE"
	printf 'server 127.0.0.1:1\nremote-dns on\nproxy hosts-only.example\n' >rc
	SOCKS4_CONF=$PWD/rc run lookup on gai hosts-only.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	SOCKS4_CONF=$PWD/rc run lookup on gai hosts-alias 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.77 80" ]
	[ ! -s "$DNS_LOG" ]
}

@test "gethostbyname, gethostbyname_r and gethostbyname2 give the same fake address" {
	skip_in_mode syscall "$NO_FAKE"
	run lookup on ghbn files.example
	[ "$output" = "files.example - 240.0.0.1" ]
	run shimmed on perl -e '
		my @h = gethostbyname("files.example") or die "no\n";
		my @a = gethostbyname("other.example") or die "no\n";
		print join(" ", $h[0], join(".", unpack("C4", $h[4])),
			   join(".", unpack("C4", $a[4]))), "\n";'
	[ "$status" -eq 0 ]
	[ "$output" = "files.example 240.0.0.1 240.0.0.2" ]
	# getent hosts: gethostbyname2(AF_INET6), then AF_INET
	run shimmed on getent hosts files.example
	[ "$status" -eq 0 ]
	[ "$output" = "240.0.0.1       files.example" ]
	run shimmed on getent ahostsv4 files.example
	[ "${lines[0]}" = "240.0.0.1       STREAM files.example" ]
	[ ! -s "$DNS_LOG" ]
}

@test "gethostbyname2_r: the fake address for AF_INET, nothing for AF_INET6, ERANGE for a short buffer" {
	skip_in_mode syscall "$NO_FAKE"
	run shimmed on "$S4_PY" -c '
import ctypes, socket
libc = ctypes.CDLL(None)
class hostent(ctypes.Structure):
    _fields_ = [("h_name", ctypes.c_char_p), ("h_aliases", ctypes.POINTER(ctypes.c_char_p)),
                ("h_addrtype", ctypes.c_int), ("h_length", ctypes.c_int),
                ("h_addr_list", ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte * 4)))]
def ask(af, size):
    he, res, err = hostent(), ctypes.POINTER(hostent)(), ctypes.c_int()
    buf = ctypes.create_string_buffer(size)
    rc = libc.gethostbyname2_r(b"files.example", af, ctypes.byref(he), buf, size,
                               ctypes.byref(res), ctypes.byref(err))
    if rc or not res:
        return "rc=%d herr=%d" % (rc, err.value)
    return "%s %s %s" % (he.h_name.decode(), socket.inet_ntoa(bytes(he.h_addr_list[0].contents)),
                         he.h_aliases[0])
print(ask(socket.AF_INET, 1024))
print(ask(socket.AF_INET6, 1024))
print(ask(socket.AF_INET, 8))
'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "files.example 240.0.0.1 None" ]
	[ "${lines[1]}" = "rc=0 herr=4" ] # as glibc for no answer: 0, NO_DATA
	[ "${lines[2]}" = "rc=34 herr=-1" ] # ERANGE, NETDB_INTERNAL
	[ ! -s "$DNS_LOG" ]
}

@test "a fake address gives its name back: getnameinfo and gethostbyaddr" {
	skip_in_mode syscall "$NO_FAKE"
	run shimmed on "$S4_PY" -c '
import socket
a = socket.getaddrinfo(b"files.example", 21, socket.AF_INET, socket.SOCK_STREAM)[0][4]
print(*socket.getnameinfo(a, 0))
print(*socket.getnameinfo(a, socket.NI_NAMEREQD | socket.NI_NUMERICSERV))
print(*socket.getnameinfo(a, socket.NI_NUMERICHOST))
print(socket.gethostbyaddr(a[0])[0])
print(*socket.getnameinfo(("::ffff:" + a[0], 21, 0, 0), 0))
try:
    socket.getnameinfo(("240.0.0.9", 80), socket.NI_NAMEREQD)
except socket.gaierror as e:
    print("unused:", e.errno == socket.EAI_NONAME)
print(*socket.getnameinfo(("240.0.0.9", 80), 0))
'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "files.example ftp" ]
	[ "${lines[1]}" = "files.example 21" ]
	[ "${lines[2]}" = "240.0.0.1 ftp" ]
	[ "${lines[3]}" = "files.example" ]
	[ "${lines[4]}" = "files.example ftp" ]
	[ "${lines[5]}" = "unused: True" ]
	[ "${lines[6]}" = "240.0.0.9 http" ]
	# no PTR question for a fake address, used or not
	[ ! -s "$DNS_LOG" ]
}

@test "names keep their addresses in a forked child" {
	skip_in_mode syscall "$NO_FAKE"
	run lookup on fork files.example
	[ "$status" -eq 0 ]
	[ "$output" = "child: files.example" ]
}

@test "local-first: a name local DNS knows goes by its address, one it does not gets a fake" {
	skip_in_mode syscall "$NO_FAKE"
	run lookup local-first gai known.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.50 80" ]
	run lookup local-first gai files.example 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	# each was asked of local DNS, which is what local-first costs
	asked known.example
	asked files.example
	run lookup local-first ghbn files.example
	[ "$output" = "files.example - 240.0.0.1" ]
	run lookup local-first ghbn known.example
	[ "$output" = "known.example - 192.0.2.50" ]
}

@test "overlong names and names with control bytes fail with EAI_NONAME, a log line, and no query" {
	skip_in_mode syscall "$NO_FAKE"
	long=$(printf 'a%.0s' $(seq 256))
	run lookup on gai "$long" 80 inet stream
	[ "${lines[-1]}" = "error EAI_NONAME" ]
	[[ "$output" == *"256 bytes long, more than the 255 a name can have; not looked up"* ]]
	ok=$(printf 'b%.0s' $(seq 255))
	run lookup on gai "$ok" 80 inet stream
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80" ]
	run lookup on gai 'bad\001name.example' 80 inet stream
	[ "${lines[-1]}" = "error EAI_NONAME" ]
	[[ "$output" == *"name 'bad\\x01name.example': not a host name"* ]]
	run lookup on gai 'two words.example' 80 inet stream
	[ "${lines[-1]}" = "error EAI_NONAME" ]
	run lookup on ghbn 'bad\033name'
	[[ "${lines[-1]}" == "error "* ]]
	[ ! -s "$DNS_LOG" ]
}

@test "getaddrinfo with AI_IDN looks up a UTF-8 name by its xn-- form, in /etc/hosts or by the proxy" {
	skip_in_mode syscall "$NO_FAKE"
	export LC_ALL=C.UTF-8
	# bücher.example: /etc/hosts has xn--bcher-kva.example
	run lookup on gai 'b\303\274cher.example' 80 inet stream idn
	[ "$output" = "AF_INET SOCK_STREAM 6 192.0.2.78 80" ]
	# without AI_IDN it is no host name, as before
	run lookup on gai 'b\303\274cher.example' 80 inet stream
	[ "${lines[-1]}" = "error EAI_NONAME" ]
	# münchen.example: the proxy's, under its xn-- form (AI_CANONIDN: as written)
	run lookup on gai 'm\303\274nchen.example' 80 inet stream idn,canonname
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80 xn--mnchen-3ya.example" ]
	run lookup on gai 'm\303\274nchen.example' 80 inet stream idn,canonname,canonidn
	[ "$output" = "AF_INET SOCK_STREAM 6 240.0.0.1 80 m"$'\303\274'"nchen.example" ]
	# bytes that are not UTF-8: the C library's EAI_IDN_ENCODE
	run lookup on gai 'm\374nchen.example' 80 inet stream idn
	[ "${lines[-1]}" = "error EAI_IDN_ENCODE" ]
	[ ! -s "$DNS_LOG" ]
}

@test "a name looked up with AI_IDN goes to the proxy in its xn-- form in the SOCKS4A CONNECT" {
	skip_in_mode syscall "$NO_FAKE"
	s4_start idnsocks ip netns exec "$NAMES_NS" "$SOCKS4D" -l 127.0.0.1:0 \
		-p "$BATS_FILE_TMPDIR/idnsocks.port" -v -N
	s4_wait_file "$BATS_FILE_TMPDIR/idnsocks.port"
	port=$(cat "$BATS_FILE_TMPDIR/idnsocks.port")
	run ip netns exec "$NAMES_NS" env LC_ALL=C.UTF-8 SOCKS4_SERVER="127.0.0.1:$port" \
		SOCKS4_REMOTE_DNS=on "${S4_SHIM[@]}" timeout 30 "$S4_PY" -c '
import socket
ai = socket.getaddrinfo(b"m\xc3\xbcnchen.example", 80, socket.AF_INET, socket.SOCK_STREAM, 0, 0x0040)
s = socket.socket()
try:
    s.connect(ai[0][4])
    print("connected")
except OSError as e:
    print("refused", e.errno)
'
	[ "${lines[-1]}" = "refused 111" ]
	s4_wait_log idnsocks "CONNECT xn--mnchen-3ya\.example:80 from .*SOCKS4A is off"
	[ ! -s "$DNS_LOG" ]
}

@test "a full fake range fails the next new name with EAI_AGAIN and says why" {
	skip_in_mode syscall "$NO_FAKE"
	run shimmed on env SOCKS4_FAKE_RANGE=240.1.0.0/30 "$S4_PY" -c '
import socket
for n in (b"a.example", b"b.example", b"c.example", b"a.example"):
    try:
        print(socket.getaddrinfo(n, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except socket.gaierror as e:
        print("error", e.errno == socket.EAI_AGAIN)
'
	has_line "240.1.0.1"
	has_line "240.1.0.2"
	has_line "error True"
	[ "${lines[-1]}" = "240.1.0.1" ]
	[[ "$output" == *"name c.example: every fake address is taken (2 names, fake-range too small); lookup fails with EAI_AGAIN"* ]]
	[ ! -s "$DNS_LOG" ]
}

@test "socks4wrap -n NAME:PORT shows what happens to a name" {
	printf 'server 127.0.0.1:1080\nremote-dns on\ndeny 0.0.0.0/0:25\ndirect *.corp.example\ndeny evil.example\n' >rc
	SOCKS4_CONF=$PWD/rc run "$S4_BUILD/socks4wrap-query" files.example:21
	[ "$status" -eq 0 ]
	has_line "remote-dns on                     # $PWD/rc:2"
	has_line "fake-range 240.0.0.0/20           # default"
	has_line "direct *.corp.example             # $PWD/rc:4"
	has_line "files.example: left to the proxy, never asked of local DNS (remote-dns on)"
	has_line "files.example:21 -> proxy (no rule matches): SOCKS4A CONNECT files.example:21 via 127.0.0.1:1080"
	SOCKS4_CONF=$PWD/rc run "$S4_BUILD/socks4wrap-query" files.example:25
	has_line "files.example:25 -> deny (rule 1: deny 0.0.0.0/0:25, $PWD/rc:3): connect() fails with EACCES"
	SOCKS4_CONF=$PWD/rc run "$S4_BUILD/socks4wrap-query" Evil.Example:80
	has_line "Evil.Example:80 -> deny (rule 3: deny evil.example, $PWD/rc:5): connect() fails with EACCES"
	SOCKS4_CONF=$PWD/rc run "$S4_BUILD/socks4wrap-query" www.corp.example:80
	has_line "www.corp.example: resolved here (rule 2: direct *.corp.example, $PWD/rc:4)"
	SOCKS4_CONF=$PWD/rc SOCKS4_REMOTE_DNS=off run "$S4_BUILD/socks4wrap-query" files.example:21
	has_line "files.example: resolved here (remote-dns off; the name rules apply only when it is on or local-first)"
}

@test "bad remote-dns and fake-range values stop the settings with a clear message" {
	SOCKS4_SERVER=127.0.0.1:1080 SOCKS4_REMOTE_DNS=maybe run "$S4_BUILD/socks4wrap-query" --check
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: SOCKS4_REMOTE_DNS: 'maybe' is not off, on or local-first" ]
	SOCKS4_SERVER=127.0.0.1:1080 SOCKS4_FAKE_RANGE=10.0.0.0/8 run "$S4_BUILD/socks4wrap-query" --check
	[ "$status" -eq 1 ]
	[[ "$output" == *"not inside 240.0.0.0/4 or 0.0.0.0/8 (above 0.0.0.255): a fake address must never be routable" ]]
}
