# tests/helpers/servers.bash - the servers the integration tests talk to.
#
# Load after common.bash. Each start_* runs its server through s4_start, so
# s4_stop NAME and s4_stop_all end it by pid; its output is NAME.log in
# $BATS_FILE_TMPDIR. Each waits (bounded) until the server is ready, then
# sets and exports NAME_PORT (NAME upper-cased, '-' -> '_') as
# start_socks4d does.
#
#   start_http  [-n NETNS] NAME DIR [ADDR]   HTTP/1.0 server for DIR; NAME.log
#                                            has "httpd: GET /PATH from A:P: 200"
#   start_echo  [-n NETNS] NAME [ADDR]       TCP echo server; NAME.log has
#                                            "echo: connection from A:P: N bytes"
#   start_sockd [-n NETNS] NAME [INTERNAL [EXTERNAL [CLIENT-NET...]]]
#                                            Dante, SOCKS4 CONNECT and BIND
#   s4_free_port [-n NETNS] [ADDR]           print a port free on ADDR now
#   s4_wait_port [-n NETNS] ADDR PORT [SECS] wait until ADDR:PORT accepts
#
# ADDR defaults to 127.0.0.1 (IPv6 literals work for httpd.py). -n NETNS
# runs the server, and the checks on it, inside that network namespace
# (netns.bash makes them); ip netns exec execs, so the pid is the server's.

S4_HTTPD=$S4_ROOT/tests/helpers/httpd.py

# s4_set_port NAME PORT: export NAME_PORT=PORT.
s4_set_port() {
	local var
	var=$(echo "$1" | tr '[:lower:]-' '[:upper:]_')_PORT
	printf -v "$var" '%s' "$2"
	export "${var?}"
}

# s4_in_ns NETNS CMD...: CMD inside NETNS, or right here when NETNS is "".
s4_in_ns() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$@"
	else
		"$@"
	fi
}

s4_free_port() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	s4_in_ns "$ns" "$S4_PY" -c '
import socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.bind((addr, 0))
print(s.getsockname()[1])
s.close()' "${1:-127.0.0.1}"
}

s4_wait_port() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	s4_in_ns "$ns" "$S4_PY" -c '
import socket, sys, time
addr, port, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while True:
    try:
        socket.create_connection((addr, port), timeout=1).close()
        sys.exit(0)
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for %s:%d to accept: %s" % (addr, port, e))
        time.sleep(0.05)' "$1" "$2" "${3:-10}"
}

# s4_start_ns NAME NETNS CMD...: s4_start, inside NETNS when it is not "".
s4_start_ns() {
	local name=$1 ns=$2
	shift 2
	if [ -n "$ns" ]; then
		s4_start "$name" ip netns exec "$ns" "$@"
	else
		s4_start "$name" "$@"
	fi
}

# s4_start_py NAME NETNS SCRIPT ARGS...: one of our Python servers (they
# take -p PORTFILE), started and waited for; sets NAME_PORT.
s4_start_py() {
	local name=$1 ns=$2 script=$3
	shift 3
	local portfile=$BATS_FILE_TMPDIR/$name.port
	rm -f "$portfile"
	s4_start_ns "$name" "$ns" "$S4_PY" -u "$script" -p "$portfile" "$@"
	if ! s4_wait_file "$portfile"; then
		cat "$BATS_FILE_TMPDIR/$name.log" >&2
		return 1
	fi
	s4_set_port "$name" "$(cat "$portfile")"
}

# s4_start_httpd NAME NETNS HTTPD-ARGS...: httpd.py in either mode.
s4_start_httpd() {
	local name=$1 ns=$2
	shift 2
	s4_start_py "$name" "$ns" "$S4_HTTPD" "$@"
}

start_http() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	local name=$1 dir=$2 addr=${3:-127.0.0.1}
	[ -d "$dir" ] || s4_fail "start_http: no directory $dir" || return 1
	s4_start_httpd "$name" "$ns" -b "$addr" "$dir"
}

start_echo() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	s4_start_httpd "$1" "$ns" --echo -b "${2:-127.0.0.1}"
}

# start_sockd [-n NETNS] NAME [INTERNAL [EXTERNAL [CLIENT-NET...]]]
#
# Dante's danted as a SOCKS version 4 server with no authentication:
# CONNECT and BIND from CLIENT-NETs (default 127.0.0.0/8) to anywhere, and
# the BIND's incoming connection (bindreply) from anywhere. It listens on
# INTERNAL (default 127.0.0.1) at a port picked free, and connects out
# from EXTERNAL (default: INTERNAL). With "log: connect disconnect error"
# NAME.log gets a line per request, e.g.
#   danted[42]: info: pass(2): tcp/connect [: 127.0.0.1.40406 127.0.0.1.1080 -> ...
# which is enough for the tests; S4_SOCKD_DEBUG=1 adds Dante's (verbose)
# debug output. danted stays in the foreground (no -D) with one mother
# process (-N 1), so s4_stop ends it by pid; its children notice the mother
# is gone and exit within a second or two.
start_sockd() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	local name=$1 internal=${2:-127.0.0.1}
	local external=${3:-$internal}
	shift $(($# < 3 ? $# : 3))
	local clients=("$@")
	[ ${#clients[@]} -gt 0 ] || clients=(127.0.0.0/8)
	local dir=$BATS_FILE_TMPDIR
	local conf=$dir/$name.conf log=$dir/$name.log
	local danted=${S4_DANTED:-/usr/sbin/danted}
	local port client commands="connect bind"

	# S4_SOCKD_NO_BIND=1: no BIND rule, so Dante refuses BINDs (91)
	[ -z "${S4_SOCKD_NO_BIND:-}" ] || commands=connect

	[ -x "$danted" ] || s4_fail "start_sockd: $danted is missing (dante-server)" || return 1
	port=$(s4_free_port -n "$ns" "$internal") || return 1

	{
		echo "# generated by start_sockd for $BATS_TEST_FILENAME"
		echo "logoutput: $log"
		echo "debug: ${S4_SOCKD_DEBUG:-0}"
		echo "internal: $internal port = $port"
		echo "external: $external"
		echo "clientmethod: none"
		echo "socksmethod: none"
		echo "user.privileged: root"
		echo "user.unprivileged: nobody"
		for client in "${clients[@]}"; do
			printf 'client pass {\n\tfrom: %s to: 0.0.0.0/0\n' "$client"
			printf '\tlog: connect disconnect error\n}\n'
		done
		for client in "${clients[@]}"; do
			printf 'socks pass {\n\tfrom: %s to: 0.0.0.0/0\n' "$client"
			printf '\tcommand: %s\n\tprotocol: tcp\n' "$commands"
			printf '\tproxyprotocol: socks_v4\n'
			printf '\tlog: connect disconnect error\n}\n'
		done
		printf 'socks pass {\n\tfrom: 0.0.0.0/0 to: 0.0.0.0/0\n'
		printf '\tcommand: bindreply\n\tprotocol: tcp\n'
		printf '\tproxyprotocol: socks_v4\n'
		printf '\tlog: connect disconnect error\n}\n'
	} >"$conf"

	if ! s4_in_ns "$ns" "$danted" -V -f "$conf" >"$dir/$name.check" 2>&1; then
		cat "$dir/$name.check" >&2
		s4_fail "start_sockd: danted rejected $conf"
		return 1
	fi
	# danted itself writes NAME.log (logoutput above); its stdout and
	# stderr go to NAME.out, so that nothing else writes to NAME.log once
	# it runs. sh execs danted, which keeps s4_start's pid.
	rm -f "$dir/$name.port"
	# shellcheck disable=SC2016 # $1 is sh's, not ours
	s4_start_ns "$name" "$ns" sh -c 'out=$1; shift; exec "$@" >"$out" 2>&1' \
		sh "$dir/$name.out" "$danted" -f "$conf" -N 1 -p "$dir/$name.danted-pid"
	if ! s4_wait_port -n "$ns" "$internal" "$port" 10; then
		cat "$dir/$name.out" "$log" >&2 2>/dev/null
		return 1
	fi
	echo "$port" >"$dir/$name.port"
	s4_set_port "$name" "$port"
}

# require_preloadable CMD: under `make check SANITIZE=...` (S4_SAN_PRELOAD
# set by tests/run-tests), skip the test when CMD hangs with the sanitizer
# runtime preloaded, with or without the shim. Debian 12's curl and wget
# do: p11-kit's constructor (via GnuTLS) calls newlocale() and the next
# setlocale() waits forever on glibc's locale lock once libasan is
# preloaded. Without S4_SAN_PRELOAD this does nothing, nor in syscall mode
# (S4_MODE), where nothing is preloaded. The answer is kept per file in
# $BATS_FILE_TMPDIR.
require_preloadable() {
	local cmd=$1 mark status=0
	[ -n "${S4_SAN_PRELOAD:-}" ] || return 0
	[ "${S4_MODE%32}" != syscall ] || return 0
	mark=$BATS_FILE_TMPDIR/preloadable.$(basename "$cmd")
	if [ ! -f "$mark" ]; then
		# --version or -h: only whether it gets that far matters.
		timeout 10 env LD_PRELOAD="$S4_SAN_PRELOAD" "$cmd" --version \
			</dev/null >/dev/null 2>&1 || status=$?
		echo "$status" >"$mark"
	fi
	[ "$(cat "$mark")" != 124 ] ||
		skip "$cmd hangs with the sanitizer runtime preloaded, shim or not (p11-kit)"
}
