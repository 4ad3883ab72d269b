#!/usr/bin/env bats
# config.bats - socks4rc: settings from the file taking effect, precedence
# (option > environment > file), every error with its file and line, the
# shim failing closed over a bad file, --dry-run, and make install.
#
# The echo server is on loopback, which goes direct unless a rule says
# otherwise, so the files that want the proxy say "proxy 127.0.0.0/8".
# Each test that counts socks4d's CONNECTs gives its own user id, which
# socks4d logs, so tests never count each other's connections.

load helpers/common
load helpers/servers

bats_require_minimum_version 1.5.0

setup_file() {
	start_socks4d socks4d
	start_socks4d stall -M stall
	start_echo echo
	start_echo echo6 ::1
	DEAD_PORT=$(s4_free_port) # nothing listens there
	export DEAD_PORT
	# An installation with its own build, so that the system socks4rc the
	# library has compiled in is the installed one.
	SYS_PREFIX=$BATS_FILE_TMPDIR/sysprefix
	export SYS_PREFIX
	make -s -j4 -C "$S4_ROOT" B="$BATS_FILE_TMPDIR/build" PREFIX="$SYS_PREFIX" \
		install >/dev/null
}

teardown_file() {
	s4_stop_all
}

setup() {
	unset SOCKS4WRAP_LIB
	HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	export HOME
	RC=$BATS_TEST_TMPDIR/rc
}

# rc LINE...: the test's settings file, $RC.
rc() { printf '%s\n' "$@" >"$RC"; }

# probe [SOCKS4WRAP OPTIONS...]: an echo round trip under socks4wrap -f $RC.
probe() {
	timeout 20 "$SOCKS4WRAP" -f "$RC" "$@" \
		"$S4_BUILD/s4probe" connect -s ping -e ping 127.0.0.1 "$ECHO_PORT"
}

# granted USER: how many CONNECTs to the echo server socks4d granted for
# user id USER (socks4d logs the line before it replies).
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$ECHO_PORT from [0-9.:]* user=$1: granted" \
		"$BATS_FILE_TMPDIR/socks4d.log"
}

# shim CMD...: CMD with the library preloaded directly, no socks4wrap to
# check the settings first, and $RC as the settings file.
shim() {
	LD_PRELOAD=${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$S4_BUILD/libsocks4wrap.so \
		SOCKS4_CONF=$RC timeout 20 "$@"
}

# setting TEXT ORIGIN: a line of --dry-run's settings, as it prints them.
setting() { printf '%-34s# %s' "$1" "$2"; }

# --- settings from the file take effect ------------------------------------

@test "a server named only in the file carries the connection through socks4d" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-file-server" "proxy 127.0.0.0/8"
	run --separate-stderr probe
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "read: ok 'ping'" ]
	[ "$(granted t-file-server)" -eq 1 ]
}

@test "the file's user id is the one socks4d sees" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user \"t file user\"" "proxy 127.0.0.0/8"
	USER=t-login-name run --separate-stderr probe
	[ "$status" -eq 0 ]
	[ "$(granted 't\\x20file\\x20user')" -eq 1 ] # socks4d escapes blanks
}

@test "a deny rule fails connect() with EACCES and the server sees nothing" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-deny" "deny 127.0.0.1:$ECHO_PORT" \
		"proxy 127.0.0.0/8"
	run --separate-stderr probe -v
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error EACCES (Permission denied)" ]
	[[ $stderr == *"CONNECT 127.0.0.1:$ECHO_PORT: denied"* ]]
	[ "$(granted t-deny)" -eq 0 ]
}

@test "a deny rule with a port range covers the ports in the range" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-deny-range" \
		"deny 127.0.0.0/8:$((ECHO_PORT - 1))-$((ECHO_PORT + 1))" "proxy 127.0.0.0/8"
	run --separate-stderr probe
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error EACCES (Permission denied)" ]
}

@test "a direct rule above a proxy rule goes direct, past socks4d" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-direct" \
		"direct 127.0.0.1:$ECHO_PORT" "proxy 127.0.0.0/8"
	run --separate-stderr probe -vv
	[ "$status" -eq 0 ]
	[[ $stderr == *"CONNECT 127.0.0.1:$ECHO_PORT: direct"* ]]
	[ "$(granted t-direct)" -eq 0 ]
}

@test "loopback goes direct by the built-in rule when the file has none for it" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-builtin"
	run --separate-stderr probe -vv
	[ "$status" -eq 0 ]
	[[ $stderr == *"CONNECT 127.0.0.1:$ECHO_PORT: direct"* ]]
	[ "$(granted t-builtin)" -eq 0 ]
}

@test "the file's timeout bounds the wait for a server that never replies" {
	rc "server 127.0.0.1:$STALL_PORT" "timeout 1" "proxy 127.0.0.0/8"
	SECONDS=0
	run --separate-stderr probe
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error ETIMEDOUT (Connection timed out)" ]
	[ "$SECONDS" -lt 5 ]
}

@test "bind off in the file keeps a listening socket local" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-bind-off" "bind off" "proxy 127.0.0.0/8"
	run --separate-stderr timeout 20 "$SOCKS4WRAP" -f "$RC" "$S4_PY" -c '
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
l = socket.socket()
l.bind(("0.0.0.0", 0))
l.listen(1)
print("listener", l.getsockname()[0])' "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "listener 0.0.0.0" ]
	[ "$(granted t-bind-off)" -eq 1 ] # the primary connection was proxied
	[ "$(grep -c "BIND .* user=t-bind-off" "$BATS_FILE_TMPDIR/socks4d.log")" -eq 0 ]
}

@test "ipv6 direct in the file lets an IPv6 connection go direct" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "ipv6 direct" "proxy 127.0.0.0/8"
	run --separate-stderr timeout 20 "$SOCKS4WRAP" -f "$RC" "$S4_PY" -c '
import socket, sys
s = socket.create_connection(("::1", int(sys.argv[1])))
s.sendall(b"six\n")
print(s.recv(16).decode().strip())' "$ECHO6_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = six ]
}

@test "without ipv6 direct the same IPv6 connection fails with ENETUNREACH" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "proxy 127.0.0.0/8"
	run --separate-stderr timeout 20 "$SOCKS4WRAP" -f "$RC" "$S4_PY" -c '
import errno, socket, sys
try:
    socket.create_connection(("::1", int(sys.argv[1])))
except OSError as e:
    print(errno.errorcode[e.errno])' "$ECHO6_PORT"
	[ "$status" -eq 0 ]
	[ "$output" = ENETUNREACH ]
}

@test "debug 1 in the file makes the shim say what it did" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "debug 1" "proxy 127.0.0.0/8"
	run --separate-stderr probe
	[ "$status" -eq 0 ]
	[[ $stderr =~ socks4wrap:\ \[[0-9]+\]\ CONNECT\ 127\.0\.0\.1:$ECHO_PORT\ via\ 127\.0\.0\.1:$SOCKS4D_PORT:\ granted ]]
}

# --- precedence: options > environment > file --------------------------------

@test "SOCKS4_SERVER overrides the file's server" {
	rc "server 127.0.0.1:$DEAD_PORT" "user t-env-server" "proxy 127.0.0.0/8"
	SOCKS4_SERVER=127.0.0.1:$SOCKS4D_PORT run --separate-stderr probe
	[ "$status" -eq 0 ]
	[ "$(granted t-env-server)" -eq 1 ]
}

@test "-s overrides SOCKS4_SERVER and the file's server" {
	rc "server 127.0.0.1:$DEAD_PORT" "user t-opt-server" "proxy 127.0.0.0/8"
	SOCKS4_SERVER=127.0.0.2:$DEAD_PORT run --separate-stderr probe -s "127.0.0.1:$SOCKS4D_PORT"
	[ "$status" -eq 0 ]
	[ "$(granted t-opt-server)" -eq 1 ]
}

@test "SOCKS4_USER overrides the file's user id" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-file-user" "proxy 127.0.0.0/8"
	SOCKS4_USER=t-env-user run --separate-stderr probe
	[ "$status" -eq 0 ]
	[ "$(granted t-env-user)" -eq 1 ]
	[ "$(granted t-file-user)" -eq 0 ]
}

@test "-u overrides SOCKS4_USER and the file's user id" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-file-user2" "proxy 127.0.0.0/8"
	SOCKS4_USER=t-env-user2 run --separate-stderr probe -u t-opt-user
	[ "$status" -eq 0 ]
	[ "$(granted t-opt-user)" -eq 1 ]
}

@test "SOCKS4_DIRECT's networks come before the file's deny rule" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "deny 127.0.0.0/8"
	SOCKS4_DIRECT=127.0.0.1:$ECHO_PORT run --separate-stderr probe
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "read: ok 'ping'" ]
}

@test "SOCKS4_TIMEOUT overrides the file's timeout" {
	rc "server 127.0.0.1:$STALL_PORT" "timeout 1" "proxy 127.0.0.0/8"
	SOCKS4_TIMEOUT=7 run "$SOCKS4WRAP" -f "$RC" -n 127.0.0.1:80
	[ "$status" -eq 0 ]
	has_line "$(setting "timeout 7" SOCKS4_TIMEOUT)"
}

@test "-q silences the shim even when the file says debug 2" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "user t-quiet" "debug 2" "proxy 127.0.0.0/8"
	run --separate-stderr probe -q
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(granted t-quiet)" -eq 1 ]
}

@test "-f is read instead of ~/.socks4rc" {
	printf 'server 127.0.0.1:1\n' >"$HOME/.socks4rc"
	rc "server 127.0.0.1:2"
	run "$SOCKS4WRAP" -f "$RC" -n 127.0.0.1:80
	[ "$status" -eq 0 ]
	has_line "# settings file: $RC"
	has_line "$(setting "server 127.0.0.1:2" "$RC:1")"
}

@test "~/.socks4rc is read when neither -f nor SOCKS4_CONF is given" {
	printf '# mine\nserver 127.0.0.1:1\n' >"$HOME/.socks4rc"
	run "$SOCKS4WRAP" -n 127.0.0.1:80
	[ "$status" -eq 0 ]
	has_line "# settings file: $HOME/.socks4rc"
	has_line "$(setting "server 127.0.0.1:1" "$HOME/.socks4rc:2")"
}

# --- errors: one message with file and line, then fail closed ----------------

# bad_rc MESSAGE: socks4wrap over $RC refuses to run the command (1) with
# exactly "socks4wrap: MESSAGE".
bad_rc() {
	run "$SOCKS4WRAP" -f "$RC" true
	[ "$status" -eq 1 ] || s4_fail "status $status: $output" || return 1
	[ "$output" = "socks4wrap: $1" ] || s4_fail "got: $output"
}

@test "an unknown setting is refused with its file and line" {
	rc "# line 1" "server 127.0.0.1:$SOCKS4D_PORT" "" "user alice" "timeout 5" "" "severe 1"
	bad_rc "$RC:7: unknown setting 'severe'"
}

@test "a bad network in a rule is refused with its file and line" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "direct 10.0.0/8"
	bad_rc "$RC:2: direct: '10.0.0/8' is not an IPv4 address or network (a.b.c.d or a.b.c.d/n)"
}

@test "a network with host bits set is refused with a suggestion" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "" "deny 10.1.2.3/8:25"
	bad_rc "$RC:3: deny: '10.1.2.3/8:25' has host bits set; did you mean 10.0.0.0/8:25?"
}

@test "a bad port in a rule is refused with its file and line" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "proxy 0.0.0.0/0:smtp"
	bad_rc "$RC:2: proxy: '0.0.0.0/0:smtp' has a port that is not a number 1-65535"
}

@test "a backwards port range is refused with its file and line" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "deny 0.0.0.0/0:25-21"
	bad_rc "$RC:2: deny: '0.0.0.0/0:25-21' has a port range that ends before it starts"
}

@test "a second server line is refused, naming the first" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "# backup" "server 127.0.0.1:1081"
	bad_rc "$RC:3: 'server' is set twice; line 1 set it already"
}

@test "a bad server is refused with its file and line" {
	rc "user alice" "server proxy.example"
	bad_rc "$RC:2: server: 'proxy.example' is not HOST:PORT"
}

@test "a file without a server line is refused when nothing else names one" {
	rc "user alice" "proxy 127.0.0.0/8"
	bad_rc "no SOCKS4 server configured: $RC has no 'server' line, and neither socks4wrap -s nor SOCKS4_SERVER gives one"
}

@test "a value out of range is refused with its file and line" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "bind-timeout 86401"
	bad_rc "$RC:2: bind-timeout: '86401' is not a whole number of seconds (1-86400)"
}

@test "a missing value is refused with the line's form" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "ipv6"
	bad_rc "$RC:2: 'ipv6' needs a value (ipv6 deny|direct)"
}

@test "an overlong line is refused with its file and line" {
	{
		echo "server 127.0.0.1:$SOCKS4D_PORT"
		printf 'user %02049d\n' 0
	} >"$RC"
	bad_rc "$RC:2: line is longer than 2048 bytes"
}

@test "a NUL byte is refused with its file and line" {
	printf 'server 127.0.0.1:%s\nuser a\0b\n' "$SOCKS4D_PORT" >"$RC"
	bad_rc "$RC:2: contains a NUL byte"
}

@test "a bad ~/.socks4rc stops socks4wrap even when -s names a server" {
	printf 'server 127.0.0.1:1080\nsevere\n' >"$HOME/.socks4rc"
	run "$SOCKS4WRAP" -s "127.0.0.1:$SOCKS4D_PORT" true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: $HOME/.socks4rc:2: unknown setting 'severe'" ]
}

@test "the shim alone over a bad file names file and line and refuses the connection" {
	rc "server 127.0.0.1:$SOCKS4D_PORT" "severe 1"
	run --separate-stderr shim "$S4_BUILD/s4probe" connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error ECONNREFUSED (Connection refused)" ]
	[[ $stderr == *"socks4wrap: ["*"] $RC:2: unknown setting 'severe'; connections that need the proxy will fail"* ]]
	[[ $stderr == *"CONNECT 127.0.0.1:$ECHO_PORT: refused, not configured: $RC:2: unknown setting 'severe'"* ]]
}

@test "the shim over a bad file still honours the rules above the bad line" {
	rc "direct 127.0.0.1:$ECHO_PORT" "severe 1"
	run --separate-stderr shim "$S4_BUILD/s4probe" connect -s ping -e ping 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "read: ok 'ping'" ]
}

@test "the shim alone refuses a missing SOCKS4_CONF rather than read another file" {
	printf 'server 127.0.0.1:%s\n' "$SOCKS4D_PORT" >"$HOME/.socks4rc"
	run --separate-stderr shim "$S4_BUILD/s4probe" connect 198.51.100.1 80
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error ECONNREFUSED (Connection refused)" ]
	[[ $stderr == *"settings file $RC (SOCKS4_CONF): No such file or directory"* ]]
}

# --- a settings file that is not a regular file: an error, never a hang ----------

# fifo PATH: a FIFO nobody writes to; opening it to read would block.
fifo() { rm -f "$1" && mkfifo "$1"; }

@test "-f naming a FIFO is refused (1) at once" {
	fifo "$RC"
	run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 -f "$RC" true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: -f '$RC': not a regular file (a FIFO)" ]
}

@test "a SOCKS4_CONF naming a FIFO is refused (1) at once" {
	fifo "$RC"
	SOCKS4_CONF=$RC run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: SOCKS4_CONF '$RC': not a regular file (a FIFO)" ]
}

@test "a ~/.socks4rc that is a FIFO is refused (1) at once" {
	fifo "$HOME/.socks4rc"
	run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: settings file $HOME/.socks4rc: not a regular file (a FIFO)" ]
}

@test "a ~/.socks4rc that is a directory or a socket is refused (1)" {
	mkdir "$HOME/.socks4rc"
	run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: settings file $HOME/.socks4rc: not a regular file (a directory)" ]
	rmdir "$HOME/.socks4rc"
	"$S4_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$HOME/.socks4rc"
	run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: settings file $HOME/.socks4rc: not a regular file (a socket)" ]
}

@test "a character device as SOCKS4_CONF is refused (1)" {
	SOCKS4_CONF=/dev/zero run timeout 10 "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: SOCKS4_CONF '/dev/zero': not a regular file (a character device)" ]
}

@test "/dev/null as the settings file reads none, as documented" {
	printf 'severe\n' >"$HOME/.socks4rc" # not read
	run --separate-stderr "$SOCKS4WRAP" -f /dev/null -s 127.0.0.1:1080 -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	has_line "# settings file: /dev/null"
	SOCKS4_CONF=/dev/null run --separate-stderr "$SOCKS4WRAP" -s 127.0.0.1:1080 true
	[ "$status" -eq 0 ]
}

@test "socks4wrap-query over a FIFO says so at once" {
	fifo "$RC"
	SOCKS4_CONF=$RC run timeout 10 "$S4_BUILD/socks4wrap-query" --check
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: settings file $RC (SOCKS4_CONF): not a regular file (a FIFO)" ]
}

@test "the shim alone over a SOCKS4_CONF FIFO fails closed at once, naming it" {
	fifo "$RC"
	run --separate-stderr shim "$S4_BUILD/s4probe" connect 198.51.100.1 80
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error ECONNREFUSED (Connection refused)" ]
	[[ $stderr == *"settings file $RC (SOCKS4_CONF): not a regular file (a FIFO); connections that need the proxy will fail"* ]]
}

@test "the shim alone over a ~/.socks4rc FIFO fails closed at once, naming it" {
	fifo "$HOME/.socks4rc"
	run --separate-stderr env LD_PRELOAD="${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$S4_BUILD/libsocks4wrap.so" \
		SOCKS4_SERVER=127.0.0.1:1080 timeout 20 "$S4_BUILD/s4probe" connect 198.51.100.1 80
	[ "$status" -eq 1 ]
	[ "$output" = "connect: error ECONNREFUSED (Connection refused)" ]
	[[ $stderr == *"settings file $HOME/.socks4rc: not a regular file (a FIFO); connections that need the proxy will fail"* ]]
}

# --- the library never calls its own hooks ----------------------------------------

# self_calls LIB NAME...: the call sites in LIB that reach one of the NAMEs
# through LIB's own PLT. Each NAME is a hook LIB exports, so such a call
# lands in the hook, not in the C library. (The lead's list to extend:
# every name of `nm -D --defined-only LIB`.)
self_calls() {
	local lib=$1 re
	shift
	re=$(printf '%s|' "$@")
	objdump -d --no-show-raw-insn "$lib" |
		grep -E "(call|jmp) +[0-9a-f]+ <(${re%|})@plt>"
}

@test "the library never calls its own close() hook" {
	require_cmd objdump binutils
	nm -D --defined-only "$S4_BUILD/libsocks4wrap.so" | grep -q ' T close$' # it is a hook
	run self_calls "$S4_BUILD/libsocks4wrap.so" close
	[ "$status" -eq 1 ] # grep found nothing
	[ -z "$output" ]
}

# --- --dry-run -------------------------------------------------------------------

@test "--dry-run prints every setting from the file with its line" {
	rc "server 127.0.0.1:1080" "user \"a b\"" "timeout 5" "bind-timeout 6" \
		"bind off" "ipv6 direct" "debug 1"
	run --separate-stderr "$SOCKS4WRAP" --dry-run=192.0.2.1:80 -f "$RC"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${lines[1]}" = "# settings file: $RC" ]
	[ "${lines[2]}" = "$(setting "server 127.0.0.1:1080" "$RC:1")" ]
	[ "${lines[3]}" = "$(setting 'user "a b"' "$RC:2")" ]
	[ "${lines[4]}" = "$(setting "timeout 5" "$RC:3")" ]
	[ "${lines[5]}" = "$(setting "bind-timeout 6" "$RC:4")" ]
	[ "${lines[6]}" = "$(setting "bind off" "$RC:5")" ]
	[ "${lines[7]}" = "$(setting "ipv6 direct" "$RC:6")" ]
	[ "${lines[8]}" = "$(setting "debug 1" "$RC:7")" ]
}

@test "--dry-run shows the defaults and where the user id came from" {
	rc "server 127.0.0.1:1080"
	USER=t-login run "$SOCKS4WRAP" -f "$RC" -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	has_line "$(setting "user t-login" USER)"
	has_line "$(setting "timeout 120" default)"
	has_line "$(setting "bind-timeout 120" default)"
	has_line "$(setting "bind on" default)"
	has_line "$(setting "ipv6 deny" default)"
	has_line "$(setting "debug 0" default)"
	has_line "# quiet: off; log: standard error"
}

@test "--dry-run lists the rules in the order they are tried" {
	rc "server 127.0.0.1:1080" "deny 0.0.0.0/0:25" "proxy 10.1.0.0/16:6000-6063"
	SOCKS4_DIRECT=192.168.0.0/16 run "$SOCKS4WRAP" -f "$RC" -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	local i
	for i in "${!lines[@]}"; do
		[ "${lines[i]}" != "# rules, the first that matches decides:" ] || break
	done
	[ "${lines[i + 1]}" = "$(setting "direct 192.168.0.0/16" SOCKS4_DIRECT)" ]
	[ "${lines[i + 2]}" = "$(setting "deny 0.0.0.0/0:25" "$RC:2")" ]
	[ "${lines[i + 3]}" = "$(setting "proxy 10.1.0.0/16:6000-6063" "$RC:3")" ]
	[ "${lines[i + 4]}" = "# no rule matches: proxy" ]
}

@test "--dry-run names the rule that denies a destination" {
	rc "server 127.0.0.1:1080" "direct 10.0.0.0/8" "deny 0.0.0.0/0:25"
	run "$SOCKS4WRAP" -f "$RC" -n 198.51.100.7:25
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "198.51.100.7:25 -> deny (rule 2: deny 0.0.0.0/0:25, $RC:3): connect() fails with EACCES" ]
}

@test "--dry-run says where an unmatched destination goes through the server" {
	rc "server 127.0.0.1:1080"
	run "$SOCKS4WRAP" -f "$RC" -n 198.51.100.7:80
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "198.51.100.7:80 -> proxy (no rule matches): CONNECT via 127.0.0.1:1080" ]
}

@test "--dry-run shows loopback going direct by the built-in rule" {
	rc "server 127.0.0.1:1080" "deny 10.0.0.0/8"
	run "$SOCKS4WRAP" -f "$RC" -n 127.0.0.1:631
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "127.0.0.1:631 -> direct (rule 2: direct 127.0.0.0/8, built-in): connects directly" ]
}

@test "--dry-run of an IPv6 address reports the ipv6 setting" {
	rc "server 127.0.0.1:1080"
	run "$SOCKS4WRAP" -f "$RC" -n '[2001:db8::1]:80'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "[2001:db8::1]:80 -> deny (IPv6, which SOCKS4 cannot carry; ipv6 deny, default): connect() fails with ENETUNREACH" ]
}

@test "--dry-run reflects -s and -u as the command would get them" {
	rc "server 127.0.0.1:1080" "user alice"
	run "$SOCKS4WRAP" -f "$RC" -s 127.0.0.1:1081 -u bob -n 198.51.100.7:80
	[ "$status" -eq 0 ]
	has_line "$(setting "server 127.0.0.1:1081" SOCKS4_SERVER)"
	has_line "$(setting "user bob" SOCKS4_USER)"
	[ "${lines[-1]}" = "198.51.100.7:80 -> proxy (no rule matches): CONNECT via 127.0.0.1:1081" ]
}

@test "--dry-run runs no command given after it" {
	rc "server 127.0.0.1:1080"
	run "$SOCKS4WRAP" -f "$RC" -n 198.51.100.7:80 touch "$BATS_TEST_TMPDIR/ran"
	[ "$status" -eq 0 ]
	[ ! -e "$BATS_TEST_TMPDIR/ran" ]
}

@test "--dry-run over a bad file prints the message and exits 1" {
	rc "server 127.0.0.1:1080" "bogus"
	run --separate-stderr "$SOCKS4WRAP" -f "$RC" -n 198.51.100.7:80
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "socks4wrap: $RC:2: unknown setting 'bogus'" ]
}

@test "--dry-run with a malformed HOST:PORT is a usage error (2)" {
	rc "server 127.0.0.1:1080"
	run "$SOCKS4WRAP" -f "$RC" -n 198.51.100.7
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: --dry-run '198.51.100.7' is not HOST:PORT (HOST a name, an IPv4 address or [an IPv6 address]; PORT 1-65535)" ]
}

@test "--dry-run's settings read back as a socks4rc give the same settings" {
	rc "server 127.0.0.1:1080" "user \"a b\"" "timeout 5" "bind off" "ipv6 direct"
	run "$SOCKS4WRAP" -f "$RC" -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	local first=$output
	printf '%s\n' "$first" | sed -n '3,9p' >"$BATS_TEST_TMPDIR/again"
	run "$SOCKS4WRAP" -f "$BATS_TEST_TMPDIR/again" -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	[ "$(sed -n '3,9s/ *#.*//p' <<<"$output")" = "$(sed -n '3,9s/ *#.*//p' <<<"$first")" ]
}

# --- the example and the man page ------------------------------------------------

@test "socks4rc.example names every setting and rule kind" {
	local k
	for k in server user timeout bind-timeout bind ipv6 debug direct proxy deny; do
		grep -q "^#$k " "$S4_ROOT/socks4rc.example" || s4_fail "no '#$k' line" || return 1
	done
}

@test "socks4rc.example as installed, all comments, leaves every default" {
	USER=t run "$SOCKS4WRAP" -s 127.0.0.1:1080 -f "$S4_ROOT/socks4rc.example" -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	[ "$(grep -c '# default$' <<<"$output")" -eq 7 ] # all but server and user
	[ "$(grep -c "# $S4_ROOT/socks4rc.example:" <<<"$output")" -eq 0 ]
}

@test "socks4rc.example with its settings uncommented is a valid socks4rc" {
	sed 's/^#\([a-z]\)/\1/' "$S4_ROOT/socks4rc.example" >"$RC"
	SOCKS4_CONF=$RC run "$S4_BUILD/socks4wrap-query" --check
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "socks4rc(5) renders without warnings" {
	require_cmd man man-db
	MANWIDTH=80 run --separate-stderr man --warnings -E UTF-8 -l "$S4_ROOT/man/socks4rc.5"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output == *"SOCKS4RC(5)"* ]]
}

# --- make install --------------------------------------------------------------------

# install_to DESTDIR [make arguments...]: make install of what make check
# built (-o: never rebuild it from here) with PREFIX=/usr.
install_to() {
	local dest=$1
	shift
	make -s -C "$S4_ROOT" -o build/libsocks4wrap.so -o build/socks4wrap-query -o build/socks4wrap-sup \
		DESTDIR="$dest" PREFIX=/usr "$@" install >/dev/null
}

uninstall_from() {
	make -s -C "$S4_ROOT" DESTDIR="$1" PREFIX=/usr uninstall >/dev/null
}

@test "make install puts each file in place under DESTDIR with its mode" {
	local d=$BATS_TEST_TMPDIR/pkg
	install_to "$d"
	run sh -c 'cd "$1" && find . -type f -printf "%m %p\n" | sort' sh "$d"
	[ "$status" -eq 0 ]
	[ "$output" = "644 ./etc/socks4rc
644 ./usr/lib/socks4wrap/libsocks4wrap.so
644 ./usr/share/man/man1/socks4wrap.1
644 ./usr/share/man/man5/socks4rc.5
755 ./usr/bin/socks4wrap
755 ./usr/lib/socks4wrap/socks4wrap-query
755 ./usr/lib/socks4wrap/socks4wrap-sup" ]
	cmp "$S4_ROOT/socks4rc.example" "$d/etc/socks4rc"
	# The paths built into the installed launcher are the installed ones.
	run "$d/usr/bin/socks4wrap" -s 127.0.0.1:1080 true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: library not found: no /usr/lib/socks4wrap/libsocks4wrap.so (reinstall socks4wrap, or set SOCKS4WRAP_LIB)" ]
	run "$d/usr/bin/socks4wrap" -s 127.0.0.1:1080 -n 192.0.2.1:80
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: socks4wrap-query not found: no /usr/lib/socks4wrap/socks4wrap-query (reinstall socks4wrap)" ]
}

@test "make install leaves an existing system socks4rc alone" {
	local d=$BATS_TEST_TMPDIR/pkg
	mkdir -p "$d/etc"
	echo "server 192.0.2.1:1080 # mine" >"$d/etc/socks4rc"
	install_to "$d"
	[ "$(cat "$d/etc/socks4rc")" = "server 192.0.2.1:1080 # mine" ]
}

@test "make uninstall removes everything install put there" {
	local d=$BATS_TEST_TMPDIR/pkg
	install_to "$d"
	uninstall_from "$d"
	run find "$d" -type f
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "make uninstall keeps a system socks4rc that was edited" {
	local d=$BATS_TEST_TMPDIR/pkg
	install_to "$d"
	echo "server 192.0.2.1:1080" >>"$d/etc/socks4rc"
	uninstall_from "$d"
	run find "$d" -type f
	[ "$output" = "$d/etc/socks4rc" ]
}

@test "the installed socks4wrap carries a connection through socks4d with the installed library" {
	local p=$BATS_TEST_TMPDIR/prefix
	make -s -C "$S4_ROOT" -o build/libsocks4wrap.so -o build/socks4wrap-query -o build/socks4wrap-sup \
		PREFIX="$p" install >/dev/null
	printf 'server 127.0.0.1:%s\nuser t-installed\nproxy 127.0.0.0/8\n' "$SOCKS4D_PORT" \
		>"$HOME/.socks4rc"
	run --separate-stderr timeout 20 "$p/bin/socks4wrap" sh -c \
		'echo "$LD_PRELOAD"; exec "$1" connect -s ping -e ping 127.0.0.1 "$2"' \
		sh "$S4_BUILD/s4probe" "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$p/lib/socks4wrap/libsocks4wrap.so" ]
	[ "${lines[2]}" = "read: ok 'ping'" ]
	[ "$(granted t-installed)" -eq 1 ]
}

@test "the installed socks4wrap -n runs the installed socks4wrap-query" {
	local p=$BATS_TEST_TMPDIR/prefix
	make -s -C "$S4_ROOT" -o build/libsocks4wrap.so -o build/socks4wrap-query -o build/socks4wrap-sup \
		PREFIX="$p" install >/dev/null
	# without the build tree's copy to fall back on
	mv "$p/lib/socks4wrap/socks4wrap-query" "$p/lib/socks4wrap/q"
	run "$p/bin/socks4wrap" -s 127.0.0.1:1080 -n 192.0.2.1:80
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: socks4wrap-query not found: no $p/lib/socks4wrap/socks4wrap-query (reinstall socks4wrap)" ]
	mv "$p/lib/socks4wrap/q" "$p/lib/socks4wrap/socks4wrap-query"
	run "$p/bin/socks4wrap" -s 127.0.0.1:1080 -n 192.0.2.1:80
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "192.0.2.1:80 -> proxy (no rule matches): CONNECT via 127.0.0.1:1080" ]
}

@test "a library built for a prefix reads that prefix's system socks4rc" {
	local p=$SYS_PREFIX
	printf 'server 127.0.0.1:%s\nuser t-system\nproxy 127.0.0.0/8\n' "$SOCKS4D_PORT" \
		>"$p/etc/socks4rc"
	run --separate-stderr timeout 20 "$p/bin/socks4wrap" \
		"$S4_BUILD/s4probe" connect -s ping -e ping 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	[ "$(granted t-system)" -eq 1 ]
	run "$p/bin/socks4wrap" -n 192.0.2.1:80
	has_line "# settings file: $p/etc/socks4rc"
}

@test "an empty ~/.socks4rc hides the system socks4rc" {
	local p=$SYS_PREFIX
	echo "server 127.0.0.1:1080" >"$p/etc/socks4rc"
	: >"$HOME/.socks4rc"
	run "$p/bin/socks4wrap" true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: no SOCKS4 server configured: $HOME/.socks4rc has no 'server' line, and neither socks4wrap -s nor SOCKS4_SERVER gives one" ]
}
