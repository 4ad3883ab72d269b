# tests/helpers/common.bash - what every bats file loads.
#
# Background processes: s4_start NAME CMD... runs CMD with fd 3 closed,
# output in $BATS_FILE_TMPDIR/NAME.log, pid in NAME.pid. s4_stop NAME ends
# it by that pid only; s4_stop_all ends every process this file started.
# Servers are started on port 0 and report their port through a file.

# `run -N` and `run !` (every file may use them)
bats_require_minimum_version 1.5.0

S4_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
S4_BUILD=$S4_ROOT/build
SOCKS4WRAP=$S4_BUILD/socks4wrap
SOCKS4D=$S4_BUILD/socks4d
S4_PY=/usr/bin/python3 # Debian's python3: it has the python3-* test modules
export S4_ROOT S4_BUILD SOCKS4WRAP SOCKS4D S4_PY

# The shim's settings must come from each test, never from the caller.
unset SOCKS4_SERVER SOCKS4_USER SOCKS4_TIMEOUT SOCKS4_BIND_TIMEOUT \
	SOCKS4_DIRECT SOCKS4_DEBUG SOCKS4_BIND SOCKS4_CONF SOCKS4_LOG \
	SOCKS4_QUIET SOCKS4_IPV6 LD_PRELOAD SOCKS4WRAP_MODE

# Nor from the caller's ~/.socks4rc: each file gets an empty home.
HOME=$BATS_FILE_TMPDIR/home
mkdir -p "$HOME"
export HOME

# --- the mode ------------------------------------------------------------
#
# A contract file (one with a "# modes: preload syscall" line: connect,
# bind, corners, signals, eventloop, hostile, names) tests what both front
# ends promise. tests/run-tests runs it once per mode that line names, with
# S4_MODE set and "[MODE] " before each test's name:
#   preload  the launcher preloads the library (SOCKS4WRAP_MODE=preload),
#            and the test programs are the dynamically linked build/NAME
#   syscall  the launcher runs every command under the supervisor
#            (SOCKS4WRAP_MODE=syscall), and the test programs are the
#            static builds build/NAME-static, which no preload reaches
#   syscall32  the same with the i386 builds build/NAME-static32, whose
#            glibc makes every socket call through socketcall(2) (make
#            builds them when gcc -m32 works; run-tests skips the mode
#            without them)
# Unset (a file run by hand, every other file), it is preload and the
# launcher chooses as it does for a user.
#
#   s4_tool NAME     the test program NAME (tests/tools) for the mode
#   s4_shim CMD...   CMD under the library (LD_PRELOAD) or the supervisor
#                    itself, without the launcher, its settings all from
#                    SOCKS4_* in the environment; "${S4_SHIM[@]}" CMD is
#                    the same as words, for another program to run
#   skip_in_mode MODE REASON
#                    skip this test in MODE, saying why: a contract that
#                    mode does not keep (syscall: syscall32 too). README.md
#                    ("What differs between the modes") lists every one.
S4_MODE=${S4_MODE:-}
case $S4_MODE in
'') ;;
preload | syscall | syscall32)
	SOCKS4WRAP_MODE=${S4_MODE%32}
	export SOCKS4WRAP_MODE
	;;
*)
	echo "S4_MODE=$S4_MODE: not preload, syscall or syscall32" >&2
	exit 1
	;;
esac
export S4_MODE

s4_tool() {
	case $S4_MODE in
	syscall) echo "$S4_BUILD/$1-static" ;;
	syscall32) echo "$S4_BUILD/$1-static32" ;;
	*) echo "$S4_BUILD/$1" ;;
	esac
}

if [ "${S4_MODE%32}" = syscall ]; then
	S4_SHIM=("$S4_BUILD/socks4wrap-sup")
else
	S4_SHIM=(env "LD_PRELOAD=$S4_BUILD/libsocks4wrap.so")
fi

s4_shim() { "${S4_SHIM[@]}" "$@"; }

skip_in_mode() {
	case ${S4_MODE:-preload} in
	"$1" | "$1"32) skip "not in $1 mode: $2" ;;
	esac
}

s4_log() { echo "# $*" >&3; }

s4_fail() {
	echo "$*" >&2
	return 1
}

# s4_start NAME CMD [ARGS...]
s4_start() {
	local name=$1
	shift
	"$@" >"$BATS_FILE_TMPDIR/$name.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$name.pid"
	echo "$name" >>"$BATS_FILE_TMPDIR/started"
}

s4_pid() { cat "$BATS_FILE_TMPDIR/$1.pid"; }

# s4_wait_file FILE [SECONDS]: wait until FILE exists and is not empty.
s4_wait_file() {
	local file=$1 tries=$((${2:-10} * 20))
	while [ ! -s "$file" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || s4_fail "timed out waiting for $file" || return 1
		sleep 0.05
	done
}

# s4_wait_log NAME PATTERN [SECONDS]: wait for an extended regex in NAME.log.
# s4_count NAME PATTERN: lines of NAME.log matching the extended regex.
s4_count() {
	grep -Ec -- "$2" "$BATS_FILE_TMPDIR/$1.log" 2>/dev/null || true
}

# s4_wait_more NAME PATTERN BEFORE [SECONDS]: wait for a line matching
# PATTERN beyond the BEFORE that s4_count gave earlier, so that a line an
# earlier test wrote never satisfies the wait.
s4_wait_more() {
	local tries=$((${4:-10} * 20))
	until [ "$(s4_count "$1" "$2")" -gt "$3" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || s4_fail "timed out waiting for a new '$2' in $1.log (had $3)" || return 1
		sleep 0.05
	done
}

s4_wait_log() {
	local log=$BATS_FILE_TMPDIR/$1.log tries=$((${3:-10} * 20))
	until grep -Eq -- "$2" "$log" 2>/dev/null; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || s4_fail "timed out waiting for '$2' in $log" || return 1
		sleep 0.05
	done
}

s4_stop() {
	local pidfile=$BATS_FILE_TMPDIR/$1.pid pid
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	rm -f "$pidfile"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

s4_stop_all() {
	local name
	[ -f "$BATS_FILE_TMPDIR/started" ] || return 0
	while read -r name; do
		s4_stop "$name"
	done <"$BATS_FILE_TMPDIR/started"
	rm -f "$BATS_FILE_TMPDIR/started"
}

# s4_wrap PORT CMD...: CMD under socks4wrap with the SOCKS server at
# 127.0.0.1:PORT, nothing direct (so loopback goes through the proxy),
# bounded in time (S4_WRAP_TIMEOUT seconds, default 60).
s4_wrap() {
	local port=$1
	shift
	SOCKS4_DIRECT='' timeout "${S4_WRAP_TIMEOUT:-60}" "$SOCKS4WRAP" -s "127.0.0.1:$port" "$@"
}

# start_socks4d NAME [socks4d options...]: sets NAME_PORT (e.g. SOCKS4D_PORT
# for NAME=socks4d) to the port it listens on, 127.0.0.1 unless -l says.
start_socks4d() {
	local name=$1 var
	shift
	s4_start "$name" "$SOCKS4D" -l 127.0.0.1:0 -p "$BATS_FILE_TMPDIR/$name.port" -v "$@"
	s4_wait_file "$BATS_FILE_TMPDIR/$name.port" || return 1
	var=$(echo "$name" | tr '[:lower:]-' '[:upper:]_')_PORT
	printf -v "$var" '%s' "$(cat "$BATS_FILE_TMPDIR/$name.port")"
	export "${var?}"
}

# has_line LINE: after `run`, the output has exactly this line.
# shellcheck disable=SC2154 # lines and output are set by bats' run
has_line() {
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && return 0
	done
	s4_fail "expected the line '$1' in:"$'\n'"$output"
}

# require_cmd CMD [PACKAGE]: skip, naming the missing tool, outside CI;
# in CI (where .ci/run installed everything) a missing tool is a failure.
require_cmd() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ -n "${CI:-}" ]; then
		s4_fail "$1 is missing (Debian package ${2:-$1}) and CI must have it"
		return 1
	fi
	skip "$1 is not installed (apt-get install ${2:-$1})"
}
