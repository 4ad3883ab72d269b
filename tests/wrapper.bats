#!/usr/bin/env bats
# wrapper.bats - socks4wrap (build/socks4wrap, src/launcher/launch.c): options into
# the environment, the library into LD_PRELOAD, the mode each program is
# served in, and every refusal with its exit status.
#
# Most tests run `env` as the command and read its output: under the real
# shim env makes no connection, so no server is needed. Addresses are
# literal IPv4 so nothing waits for DNS. stderr is kept apart where the
# shim or ld.so may write to it.

load helpers/common

bats_require_minimum_version 1.5.0

# What make check builds; the wrapper finds it next to itself.
LIB=$S4_BUILD/libsocks4wrap.so
SERVER=127.0.0.1:1080

setup() {
	# The lookup under test is the wrapper's own, not the caller's.
	unset SOCKS4WRAP_LIB
	HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	export HOME
}

# lacks_var NAME: the captured env output does not set NAME.
lacks_var() {
	local l
	for l in "${lines[@]}"; do
		case $l in "$1="*) s4_fail "$1 should be unset, got '$l'" || return 1 ;; esac
	done
}

# preload LIST: the LD_PRELOAD to expect; a sanitizer run (tests/run-tests
# with SANITIZE) puts its runtimes first.
preload() { echo "LD_PRELOAD=${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$1"; }

# wrap_env [OPTIONS...]: the wrapper with a server, running env.
wrap_env() {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" "$@" env
}

# --- help and version --------------------------------------------------------

@test "-h prints the usage on stdout and exits 0" {
	run --separate-stderr "$SOCKS4WRAP" -h
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Usage: socks4wrap [OPTION]... [--] COMMAND [ARG]..." ]
	[[ $output == *"-s, --server=HOST:PORT"* ]]
	[ -z "$stderr" ]
}

@test "--help prints the same usage as -h" {
	run "$SOCKS4WRAP" -h
	local short=$output
	run "$SOCKS4WRAP" --help
	[ "$status" -eq 0 ]
	[ "$output" = "$short" ]
}

@test "-h is honoured even before a command" {
	run "$SOCKS4WRAP" -h env
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == Usage:* ]]
}

@test "--version in the source tree prints the Makefile's version" {
	local version
	version=$(make -s -C "$S4_ROOT" version)
	run "$SOCKS4WRAP" --version
	[ "$status" -eq 0 ]
	[ "$output" = "socks4wrap $version" ]
}

# --- usage errors: 2 ---------------------------------------------------------

@test "no command without a terminal is a usage error (2) with a usage hint" {
	SHELL=/bin/sh run "$SOCKS4WRAP" -s "$SERVER" </dev/null
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == "socks4wrap: no command given; usage: socks4wrap "*"COMMAND"* ]]
}

@test "options ending in -- with nothing after are still no command (2)" {
	run "$SOCKS4WRAP" -s "$SERVER" -- </dev/null
	[ "$status" -eq 2 ]
	[[ $output == "socks4wrap: no command given"* ]]
}

@test "an unknown short option is a usage error (2)" {
	run "$SOCKS4WRAP" -x -s "$SERVER" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: unknown option '-x' (see socks4wrap --help)" ]
}

@test "an unknown long option is a usage error (2)" {
	run "$SOCKS4WRAP" --proxy="$SERVER" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: unknown option '--proxy=$SERVER' (see socks4wrap --help)" ]
}

@test "-n missing its argument is a usage error (2)" {
	run "$SOCKS4WRAP" -s "$SERVER" -n
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: option -n needs an argument (see socks4wrap --help)" ]
}

@test "an option missing its argument is a usage error (2)" {
	run "$SOCKS4WRAP" -s
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: option -s needs an argument (see socks4wrap --help)" ]
}

@test "--log with an empty file name is a usage error (2)" {
	run "$SOCKS4WRAP" -s "$SERVER" --log= env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: option --log needs a file name (see socks4wrap --help)" ]
}

# malformed VALUE REASON: -s VALUE is refused with exit 2 and REASON.
malformed() {
	run "$SOCKS4WRAP" -s "$1" env
	[ "$status" -eq 2 ] || s4_fail "status $status for -s '$1': $output" || return 1
	[ "$output" = "socks4wrap: -s '$1' is not HOST:PORT: $2" ] ||
		s4_fail "for -s '$1': $output"
}

@test "a server with an empty host is refused (2)" {
	malformed :1080 'empty host'
}

@test "a server without a port is refused (2)" {
	malformed 127.0.0.1 'no :PORT'
}

@test "a server with nothing after the colon is refused (2)" {
	malformed 127.0.0.1: 'no port after the colon'
}

@test "a server port outside 1-65535 is refused (2)" {
	malformed 127.0.0.1:0 'port is not a decimal number 1-65535'
	malformed 127.0.0.1:65536 'port is not a decimal number 1-65535'
}

@test "a server port of more than five digits is refused (2), as the shim does" {
	malformed 127.0.0.1:001080 'port is not a decimal number 1-65535'
}

@test "a server port that is not decimal is refused (2)" {
	malformed 127.0.0.1:0x438 'port is not a decimal number 1-65535'
	malformed 127.0.0.1:-1 'port is not a decimal number 1-65535'
}

@test "a server with whitespace is refused (2)" {
	malformed '127.0.0.1 :1080' 'contains whitespace'
	malformed "$(printf '127.0.0.1:1080\t')" 'contains whitespace'
}

@test "a server host with a colon is refused (2), as the shim would" {
	malformed '[::1]:1080' "host contains ':'"
}

@test "a server port with leading zeros is accepted, as the shim does" {
	run --separate-stderr "$SOCKS4WRAP" -s 127.0.0.1:01080 env
	[ "$status" -eq 0 ]
	has_line SOCKS4_SERVER=127.0.0.1:01080
}

@test "a malformed SOCKS4_SERVER from the environment is refused (2)" {
	SOCKS4_SERVER=127.0.0.1 run "$SOCKS4WRAP" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: SOCKS4_SERVER '127.0.0.1' is not HOST:PORT: no :PORT" ]
}

@test "a user id longer than 1024 bytes is refused (2)" {
	local user
	user=$(printf 'u%.0s' {1..1025})
	run "$SOCKS4WRAP" -s "$SERVER" -u "$user" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: -u: user id is longer than 1024 bytes" ]
}

@test "a user id is measured in bytes, not characters" {
	local user
	user=$(printf '\303\251%.0s' {1..513}) # 513 two-byte characters
	run "$SOCKS4WRAP" -s "$SERVER" -u "$user" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: -u: user id is longer than 1024 bytes" ]
}

@test "a user id of exactly 1024 bytes is accepted" {
	local user
	user=$(printf 'u%.0s' {1..1024})
	wrap_env -u "$user"
	[ "$status" -eq 0 ]
	has_line "SOCKS4_USER=$user"
}

# --- setup errors: 1 ---------------------------------------------------------

@test "no server configured is refused (1) saying how to set one" {
	run "$SOCKS4WRAP" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: no SOCKS4 server configured: use socks4wrap -s HOST:PORT, set SOCKS4_SERVER, or write ~/.socks4rc (see socks4rc(5))" ]
}

@test "a ~/.socks4rc with an error is refused (1) naming its line" {
	printf 'server %s\nbogus\n' "$SERVER" >"$HOME/.socks4rc"
	run "$SOCKS4WRAP" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: $HOME/.socks4rc:2: unknown setting 'bogus'" ]
}

@test "a readable ~/.socks4rc counts as a configured server" {
	echo "server $SERVER" >"$HOME/.socks4rc"
	run --separate-stderr "$SOCKS4WRAP" env
	[ "$status" -eq 0 ]
	lacks_var SOCKS4_SERVER
}

@test "a readable -f file counts as a configured server" {
	echo "server $SERVER" >"$BATS_TEST_TMPDIR/rc"
	run --separate-stderr "$SOCKS4WRAP" -f "$BATS_TEST_TMPDIR/rc" env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_CONF=$BATS_TEST_TMPDIR/rc"
}

@test "-f naming a missing file is refused (1)" {
	run "$SOCKS4WRAP" -s "$SERVER" -f "$BATS_TEST_TMPDIR/nope" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: -f '$BATS_TEST_TMPDIR/nope': no such file" ]
}

@test "-f naming a directory is refused (1)" {
	run "$SOCKS4WRAP" -s "$SERVER" -f "$BATS_TEST_TMPDIR" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: -f '$BATS_TEST_TMPDIR': is a directory" ]
}

@test "-f naming an unreadable file is refused (1)" {
	# Root reads every file, so as root the wrapper runs as nobody.
	local dir as=()
	if [ "$(id -u)" -eq 0 ]; then
		require_cmd setpriv util-linux
		as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	fi
	dir=$(mktemp -d /tmp/s4-wrapper.XXXXXX)
	chmod 755 "$dir"
	cp "$SOCKS4WRAP" "$dir/socks4wrap"
	echo "server $SERVER" >"$dir/rc"
	chmod 000 "$dir/rc"
	run "${as[@]}" "$dir/socks4wrap" -s "$SERVER" -f "$dir/rc" env
	rm -rf "$dir"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: -f '$dir/rc': not readable" ]
}

@test "a SOCKS4_CONF naming a missing file is refused (1)" {
	SOCKS4_CONF=$BATS_TEST_TMPDIR/nope run "$SOCKS4WRAP" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: SOCKS4_CONF '$BATS_TEST_TMPDIR/nope': no such file" ]
}

@test "a missing SOCKS4WRAP_LIB is refused (1) naming it" {
	SOCKS4WRAP_LIB=$BATS_TEST_TMPDIR/nope.so run "$SOCKS4WRAP" -s "$SERVER" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: SOCKS4WRAP_LIB '$BATS_TEST_TMPDIR/nope.so': no such readable file" ]
}

@test "a wrapper with no build tree beside it is refused (1) naming where it looked" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cp "$SOCKS4WRAP" "$BATS_TEST_TMPDIR/bin/socks4wrap"
	run "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: library not found: no $BATS_TEST_TMPDIR/bin/libsocks4wrap.so (run make, or set SOCKS4WRAP_LIB)" ]
}

@test "a setuid command is refused (1) with the reason" {
	cp /bin/true "$BATS_TEST_TMPDIR/suid-true"
	chmod u+s "$BATS_TEST_TMPDIR/suid-true"
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/suid-true"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/suid-true: it is set-user-ID, so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

@test "a setgid command found on PATH is refused (1) with the reason" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cp /bin/true "$BATS_TEST_TMPDIR/bin/sgid-true"
	chmod g+s "$BATS_TEST_TMPDIR/bin/sgid-true"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run "$SOCKS4WRAP" -s "$SERVER" sgid-true
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/bin/sgid-true: it is set-group-ID, so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

# --- the command: 127 and 126 ------------------------------------------------

@test "a command not on PATH is refused (127)" {
	run -127 "$SOCKS4WRAP" -s "$SERVER" s4-no-such-command
	[ "$status" -eq 127 ]
	[ "$output" = "socks4wrap: s4-no-such-command: command not found" ]
}

@test "a command path that does not exist is refused (127)" {
	run -127 "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/nope"
	[ "$status" -eq 127 ]
	[ "$output" = "socks4wrap: $BATS_TEST_TMPDIR/nope: no such file" ]
}

@test "a command on PATH that is not executable is refused (126)" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	echo 'echo hi' >"$BATS_TEST_TMPDIR/bin/s4-plain"
	chmod 644 "$BATS_TEST_TMPDIR/bin/s4-plain"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run "$SOCKS4WRAP" -s "$SERVER" s4-plain
	[ "$status" -eq 126 ]
	[ "$output" = "socks4wrap: s4-plain: found $BATS_TEST_TMPDIR/bin/s4-plain but it is not an executable file" ]
}

@test "a command path that is not executable is refused (126)" {
	echo 'echo hi' >"$BATS_TEST_TMPDIR/s4-plain"
	chmod 644 "$BATS_TEST_TMPDIR/s4-plain"
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/s4-plain"
	[ "$status" -eq 126 ]
	[ "$output" = "socks4wrap: $BATS_TEST_TMPDIR/s4-plain: permission denied (not executable)" ]
}

@test "a directory as the command is refused (126)" {
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR"
	[ "$status" -eq 126 ]
	[ "$output" = "socks4wrap: $BATS_TEST_TMPDIR: is a directory" ]
}

@test "a non-executable file earlier on PATH does not hide an executable one" {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	echo 'echo a' >"$BATS_TEST_TMPDIR/a/s4-cmd"
	printf '#!/bin/sh\necho b\n' >"$BATS_TEST_TMPDIR/b/s4-cmd"
	chmod 755 "$BATS_TEST_TMPDIR/b/s4-cmd"
	PATH=$BATS_TEST_TMPDIR/a:$BATS_TEST_TMPDIR/b:$PATH \
		run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" s4-cmd
	[ "$status" -eq 0 ]
	[ "$output" = b ]
}

@test "with PATH unset the command is found on /bin:/usr/bin, as execvp finds it" {
	run --separate-stderr env -u PATH "$SOCKS4WRAP" -v -s "$SERVER" ls /
	[ "$status" -eq 0 ]
	has_line usr
	[[ $stderr == "socks4wrap: preload mode: /bin/ls is dynamically linked"* ||
		$stderr == "socks4wrap: preload mode: /usr/bin/ls is dynamically linked"* ]]
}

@test "an empty PATH element is the current directory" {
	mkdir -p "$BATS_TEST_TMPDIR/here"
	printf '#!/bin/sh\necho here ran\n' >"$BATS_TEST_TMPDIR/here/s4-here"
	chmod 755 "$BATS_TEST_TMPDIR/here/s4-here"
	cd "$BATS_TEST_TMPDIR/here"
	run --separate-stderr env PATH=/nonexistent: "$SOCKS4WRAP" -s "$SERVER" s4-here
	[ "$status" -eq 0 ]
	[ "$output" = "here ran" ]
}

@test "the command's exit status is passed through" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" sh -c 'exit 42'
	[ "$status" -eq 42 ]
}

# --- options into the environment --------------------------------------------

@test "-s sets SOCKS4_SERVER" {
	wrap_env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_SERVER=$SERVER"
}

@test "--server= sets SOCKS4_SERVER" {
	run --separate-stderr "$SOCKS4WRAP" --server=127.0.0.2:1081 env
	[ "$status" -eq 0 ]
	has_line SOCKS4_SERVER=127.0.0.2:1081
}

@test "-s overrides SOCKS4_SERVER from the environment" {
	SOCKS4_SERVER=127.0.0.9:9 run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_SERVER=$SERVER"
}

@test "-u and --user= set SOCKS4_USER" {
	wrap_env -u alice
	[ "$status" -eq 0 ]
	has_line SOCKS4_USER=alice
	wrap_env --user=bob
	[ "$status" -eq 0 ]
	has_line SOCKS4_USER=bob
}

@test "-u overrides SOCKS4_USER from the environment" {
	SOCKS4_USER=env-user wrap_env -u alice
	[ "$status" -eq 0 ]
	has_line SOCKS4_USER=alice
}

@test "settings without an option pass through from the environment" {
	SOCKS4_USER=env-user SOCKS4_DEBUG=1 SOCKS4_DIRECT=10.0.0.0/8 wrap_env
	[ "$status" -eq 0 ]
	has_line SOCKS4_USER=env-user
	has_line SOCKS4_DEBUG=1
	has_line SOCKS4_DIRECT=10.0.0.0/8
}

@test "-f and --config= set SOCKS4_CONF to an absolute path" {
	echo "server $SERVER" >"$BATS_TEST_TMPDIR/rc"
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr "$SOCKS4WRAP" -f rc env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_CONF=$BATS_TEST_TMPDIR/rc"
	run --separate-stderr "$SOCKS4WRAP" --config=rc env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_CONF=$BATS_TEST_TMPDIR/rc"
}

@test "-v sets SOCKS4_DEBUG=1" {
	wrap_env -v
	[ "$status" -eq 0 ]
	has_line SOCKS4_DEBUG=1
}

@test "-vv sets SOCKS4_DEBUG=2" {
	wrap_env -vv
	[ "$status" -eq 0 ]
	has_line SOCKS4_DEBUG=2
}

@test "--verbose counts like -v, and more than two stays at 2" {
	wrap_env --verbose -v -vv
	[ "$status" -eq 0 ]
	has_line SOCKS4_DEBUG=2
}

@test "-q sets SOCKS4_QUIET=1 and drops SOCKS4_DEBUG from the environment" {
	SOCKS4_DEBUG=2 wrap_env -q
	[ "$status" -eq 0 ]
	has_line SOCKS4_QUIET=1
	lacks_var SOCKS4_DEBUG
}

@test "-v after -q wins and drops SOCKS4_QUIET" {
	SOCKS4_QUIET=1 wrap_env --quiet -v
	[ "$status" -eq 0 ]
	has_line SOCKS4_DEBUG=1
	lacks_var SOCKS4_QUIET
}

@test "--log sets SOCKS4_LOG to an absolute path" {
	cd "$BATS_TEST_TMPDIR"
	wrap_env --log s4.log
	[ "$status" -eq 0 ]
	has_line "SOCKS4_LOG=$BATS_TEST_TMPDIR/s4.log"
	wrap_env --log="$BATS_TEST_TMPDIR/other.log"
	[ "$status" -eq 0 ]
	has_line "SOCKS4_LOG=$BATS_TEST_TMPDIR/other.log"
}

@test "short options combine, an argument included" {
	run --separate-stderr "$SOCKS4WRAP" -vqvs"$SERVER" env
	[ "$status" -eq 0 ]
	has_line "SOCKS4_SERVER=$SERVER"
	has_line SOCKS4_DEBUG=1
}

@test "options after the command belong to the command" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" \
		sh -c 'echo "$*"; echo "debug=${SOCKS4_DEBUG-unset}"' sh -v -q --log x
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "-v -q --log x" ]
	[ "${lines[1]}" = debug=unset ]
}

@test "-- ends the options, so a command may start with a dash" {
	run -127 "$SOCKS4WRAP" -s "$SERVER" -- -v env
	[ "$status" -eq 127 ]
	[ "$output" = "socks4wrap: -v: command not found" ]
}

@test "-- before an ordinary command is dropped" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -- sh -c 'echo "$0 $*"' x --
	[ "$status" -eq 0 ]
	[ "$output" = "x --" ]
}

@test "-n runs nothing and prints where HOST:PORT would go" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -n 192.0.2.1:80 env
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "192.0.2.1:80 -> proxy (no rule matches): CONNECT via $SERVER" ]
	lacks_var LD_PRELOAD
}

@test "-n combines with other short options, and --dry-run= is the same" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -vn192.0.2.1:80
	[ "$status" -eq 0 ]
	local short=$output
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -v --dry-run=192.0.2.1:80
	[ "$status" -eq 0 ]
	[ "$output" = "$short" ]
	has_line "debug 1                           # SOCKS4_DEBUG"
}

# --- the mode: preload or syscall --------------------------------------------------

# c_prog NAME [CC FLAGS...]: a C program printing "NAME ran", built once per
# file into $BATS_FILE_TMPDIR/NAME.
c_prog() {
	local name=$1 out=$BATS_FILE_TMPDIR/$1
	shift
	[ -x "$out" ] && return 0
	printf '#include <stdio.h>\nint main(void) { puts("%s ran"); return 0; }\n' "$name" \
		>"$BATS_FILE_TMPDIR/$name.c"
	cc "$@" -o "$out" "$BATS_FILE_TMPDIR/$name.c"
}

# go_prog NAME CGO: a Go program printing "NAME ran", built once per file;
# CGO=1 links it dynamically (the net package's resolver through libc).
go_prog() {
	local out=$BATS_FILE_TMPDIR/$1
	[ -x "$out" ] && return 0
	mkdir -p "$BATS_FILE_TMPDIR/go-$1"
	printf 'package main\nimport ("fmt"; "net")\nfunc main() { _ = net.IPv4len; _, _ = net.LookupHost("localhost"); fmt.Println("%s ran") }\n' \
		"$1" >"$BATS_FILE_TMPDIR/go-$1/main.go"
	(cd "$BATS_FILE_TMPDIR/go-$1" && GOCACHE=$BATS_FILE_TMPDIR/gocache GOPATH=$BATS_FILE_TMPDIR/gopath \
		CGO_ENABLED=$2 GO111MODULE=off go build -o "$out" main.go)
}

# elf32 FILE: an ELF header and one program header of a 32-bit i386
# dynamic program: enough for socks4wrap to judge it (it is never run).
elf32() {
	"$S4_PY" - "$1" <<-'PY'
		import struct, sys
		eh = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
		eh += struct.pack("<HHIIIIIHHHHHH", 3, 3, 1, 0, 52, 0, 0, 52, 32, 1, 0, 0, 0)
		ph = struct.pack("<IIIIIIII", 3, 84, 0, 0, 20, 20, 4, 1)  # PT_INTERP
		open(sys.argv[1], "wb").write(eh + ph + b"/lib/ld-linux.so.2\0")
	PY
	chmod 755 "$1"
}

# launcher_in DIR: a copy of the build tree's launcher, library and query
# program in DIR, with a stand-in socks4wrap-sup there that says how it
# was run (the real one is another program's business), unless NOSUP=1.
launcher_in() {
	mkdir -p "$1"
	cp "$SOCKS4WRAP" "$S4_BUILD/libsocks4wrap.so" "$S4_BUILD/socks4wrap-query" "$1/"
	[ -n "${NOSUP-}" ] && return 0
	cat >"$1/socks4wrap-sup" <<-'EOF'
		#!/bin/sh
		echo "sup: $*"
		echo "server: ${SOCKS4_SERVER-unset}"
		echo "preload: ${LD_PRELOAD-unset}"
	EOF
	chmod 755 "$1/socks4wrap-sup"
}

@test "a dynamic program runs in preload mode, and -v says why" {
	wrap_env -v
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB")"
	[[ $stderr == *"socks4wrap: preload mode: $(command -v env) is dynamically linked ("*")"* ]]
}

@test "a static program without socks4wrap-sup is refused (1), never run direct" {
	c_prog s4-static -static
	NOSUP=1 launcher_in "$BATS_TEST_TMPDIR/bin"
	run "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" "$BATS_FILE_TMPDIR/s4-static"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: cannot use the syscall mode for $BATS_FILE_TMPDIR/s4-static: no $BATS_TEST_TMPDIR/bin/socks4wrap-sup (run make)" ]
}

@test "a static program runs under socks4wrap-sup with the settings exported" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	LD_PRELOAD=/nonexistent/a.so run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v \
		-s "$SERVER" "$BATS_FILE_TMPDIR/s4-static" one "two words"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $BATS_FILE_TMPDIR/s4-static one two words" ]
	[ "${lines[1]}" = "server: $SERVER" ]
	[ "${lines[2]}" = "preload: /nonexistent/a.so" ] # not the library: the supervisor serves the tree
	# (ld.so in the sup stand-in, and in a sanitizer build's launcher, says
	# more about the missing /nonexistent/a.so)
	grep -qxF "socks4wrap: syscall mode: $BATS_FILE_TMPDIR/s4-static is statically linked ($(
		"$S4_PY" -c 'import platform; print({"x86_64": "x86-64"}.get(platform.machine(), platform.machine()))'))" \
		<<<"$stderr"
}

@test "the syscall mode takes our library out of an inherited LD_PRELOAD" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	LD_PRELOAD="/nonexistent/a.so $BATS_TEST_TMPDIR/bin/libsocks4wrap.so" \
		run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" "$BATS_FILE_TMPDIR/s4-static"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "preload: /nonexistent/a.so" ]
	LD_PRELOAD="$BATS_TEST_TMPDIR/bin/libsocks4wrap.so" \
		run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" "$BATS_FILE_TMPDIR/s4-static"
	[ "${lines[2]}" = "preload: unset" ]
}

@test "a static-pie program takes the syscall mode" {
	c_prog s4-static-pie -static-pie
	launcher_in "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" "$BATS_FILE_TMPDIR/s4-static-pie"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $BATS_FILE_TMPDIR/s4-static-pie" ]
}

@test "a Go program takes the syscall mode, static or dynamically linked" {
	require_cmd go golang-go
	go_prog s4-go 0
	go_prog s4-go-cgo 1
	readelf -lW "$BATS_FILE_TMPDIR/s4-go-cgo" | grep -q INTERP # really dynamic
	launcher_in "$BATS_TEST_TMPDIR/bin"
	local g
	for g in s4-go s4-go-cgo; do
		run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" "$BATS_FILE_TMPDIR/$g"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "sup: $BATS_FILE_TMPDIR/$g" ]
		[ "$stderr" = "socks4wrap: syscall mode: $BATS_FILE_TMPDIR/$g is a Go program, whose runtime makes its own system calls" ]
	done
}

@test "a 32-bit program takes the syscall mode" {
	elf32 "$BATS_TEST_TMPDIR/s4-32"
	launcher_in "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" "$BATS_TEST_TMPDIR/s4-32"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $BATS_TEST_TMPDIR/s4-32" ]
	[[ $stderr == "socks4wrap: syscall mode: $BATS_TEST_TMPDIR/s4-32 is a 32-bit i386 program, which the 64-bit "*" library cannot be loaded into" ]]
}

@test "a script is judged by its interpreter" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	printf '#!%s\n' "$BATS_FILE_TMPDIR/s4-static" >"$BATS_TEST_TMPDIR/s.sh"
	printf '#!/bin/sh\necho sh ran\n' >"$BATS_TEST_TMPDIR/d.sh"
	chmod 755 "$BATS_TEST_TMPDIR/s.sh" "$BATS_TEST_TMPDIR/d.sh"
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" "$BATS_TEST_TMPDIR/s.sh"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $BATS_TEST_TMPDIR/s.sh" ]
	[[ $stderr == "socks4wrap: syscall mode: $BATS_TEST_TMPDIR/s.sh is a script for $BATS_FILE_TMPDIR/s4-static, which is statically linked"* ]]
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" "$BATS_TEST_TMPDIR/d.sh"
	[ "$status" -eq 0 ]
	[ "$output" = "sh ran" ]
	[[ $stderr == "socks4wrap: preload mode: $BATS_TEST_TMPDIR/d.sh is a script for /bin/sh, which is dynamically linked"* ]]
}

@test "#!/usr/bin/env NAME is judged by NAME, found on PATH" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	printf '#!/usr/bin/env s4-static\n' >"$BATS_TEST_TMPDIR/e.sh"
	printf '#!/usr/bin/env -S s4-static -x\n' >"$BATS_TEST_TMPDIR/e2.sh"
	chmod 755 "$BATS_TEST_TMPDIR/e.sh" "$BATS_TEST_TMPDIR/e2.sh"
	local e
	for e in e.sh e2.sh; do
		PATH=$BATS_FILE_TMPDIR:$PATH run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v \
			-s "$SERVER" "$BATS_TEST_TMPDIR/$e"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "sup: $BATS_TEST_TMPDIR/$e" ]
		[[ $stderr == "socks4wrap: syscall mode: $BATS_TEST_TMPDIR/$e is a script for $BATS_FILE_TMPDIR/s4-static, which is statically linked"* ]]
	done
}

# chain N LAST: N scripts in $BATS_TEST_TMPDIR, s1 -> s2 -> ... -> sN -> LAST.
chain() {
	local i next=$2
	for ((i = $1; i >= 1; i--)); do
		printf '#!%s\n' "$next" >"$BATS_TEST_TMPDIR/s$i"
		chmod 755 "$BATS_TEST_TMPDIR/s$i"
		next=$BATS_TEST_TMPDIR/s$i
	done
}

@test "a chain of five #! scripts ending in a static program takes the syscall mode" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	chain 5 "$BATS_FILE_TMPDIR/s4-static"
	"$BATS_TEST_TMPDIR/s1" | grep -q "s4-static ran" # the kernel runs it
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" "$BATS_TEST_TMPDIR/s1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $BATS_TEST_TMPDIR/s1" ]
	[[ $stderr == "socks4wrap: syscall mode: $BATS_TEST_TMPDIR/s1 is a script for $BATS_FILE_TMPDIR/s4-static, which is statically linked"* ]]
}

@test "a chain of six #! scripts, which the kernel refuses (ELOOP), is refused (126)" {
	c_prog s4-static -static
	chain 6 "$BATS_FILE_TMPDIR/s4-static"
	run "$BATS_TEST_TMPDIR/s1"
	[ "$status" -ne 0 ] # the kernel's answer
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/s1"
	[ "$status" -eq 126 ]
	[ "$output" = "socks4wrap: $BATS_TEST_TMPDIR/s1: more than 5 levels of #! interpreters" ]
}

@test "a script whose interpreter is missing is refused (127)" {
	printf '#!/nonexistent/sh\n' >"$BATS_TEST_TMPDIR/m.sh"
	chmod 755 "$BATS_TEST_TMPDIR/m.sh"
	run -127 "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/m.sh"
	[ "$output" = "socks4wrap: $BATS_TEST_TMPDIR/m.sh: its interpreter /nonexistent/sh: no such file" ]
}

@test "a file with no #! line runs under /bin/sh, in preload mode" {
	printf 'echo "plain ran: $LD_PRELOAD"\n' >"$BATS_TEST_TMPDIR/plain"
	chmod 755 "$BATS_TEST_TMPDIR/plain"
	run --separate-stderr "$SOCKS4WRAP" -v -s "$SERVER" "$BATS_TEST_TMPDIR/plain"
	[ "$status" -eq 0 ]
	[ "$output" = "plain ran: ${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$LIB" ]
	[[ $stderr == "socks4wrap: preload mode: $BATS_TEST_TMPDIR/plain is a script for /bin/sh, which is dynamically linked"* ]]
}

@test "--mode=syscall and SOCKS4WRAP_MODE=syscall force the syscall mode" {
	launcher_in "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v --mode=syscall -s "$SERVER" env
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "sup: $(command -v env)" ]
	[[ $stderr == "socks4wrap: syscall mode (--mode=syscall): $(command -v env) is dynamically linked"* ]]
	SOCKS4WRAP_MODE=syscall run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -v -s "$SERVER" env
	[ "${lines[0]}" = "sup: $(command -v env)" ]
	[[ $stderr == "socks4wrap: syscall mode (SOCKS4WRAP_MODE=syscall): "* ]]
}

@test "-m preload overrides SOCKS4WRAP_MODE and runs a static program with a warning" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	SOCKS4WRAP_MODE=syscall run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -mpreload \
		-s "$SERVER" "$BATS_FILE_TMPDIR/s4-static"
	[ "$status" -eq 0 ]
	[ "$output" = "s4-static ran" ]
	[[ $stderr == "socks4wrap: warning: $BATS_FILE_TMPDIR/s4-static is statically linked"*": the preload cannot reach it, so its connections will not go through the SOCKS server" ]]
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -q -m preload -s "$SERVER" "$BATS_FILE_TMPDIR/s4-static"
	[ -z "$stderr" ]
}

@test "-m auto, the default, can be said" {
	wrap_env -m auto -v
	[ "$status" -eq 0 ]
	[[ $stderr == *"socks4wrap: preload mode: "* ]]
}

@test "a bad mode is a usage error (2)" {
	run "$SOCKS4WRAP" -s "$SERVER" --mode=fast env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: -m 'fast' is not auto, preload or syscall" ]
	SOCKS4WRAP_MODE=ptrace run "$SOCKS4WRAP" -s "$SERVER" env
	[ "$status" -eq 2 ]
	[ "$output" = "socks4wrap: SOCKS4WRAP_MODE 'ptrace' is not auto, preload or syscall" ]
}

@test "-n with a command prints the mode it would run in, and runs nothing" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" -n 192.0.2.1:80 -- \
		"$BATS_FILE_TMPDIR/s4-static"
	[ "$status" -eq 0 ]
	[[ ${lines[2]} == "# syscall mode: $BATS_FILE_TMPDIR/s4-static is statically linked"* ]]
	[ "${lines[-1]}" = "192.0.2.1:80 -> proxy (no rule matches): CONNECT via $SERVER" ]
	# not run (the program prints "s4-static ran"; "fake-range" is a setting)
	[[ $output != *"s4-static ran"* && $output != *"sup:"* ]]
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -n 192.0.2.1:80 env
	[[ ${lines[2]} == "# preload mode: $(command -v env) is dynamically linked"* ]]
}

@test "-n with a command it would refuse fails as the run would" {
	run -127 "$SOCKS4WRAP" -s "$SERVER" -n 192.0.2.1:80 s4-no-such-command
	[ "$output" = "socks4wrap: s4-no-such-command: command not found" ]
}

@test "a socks4wrap run under socks4wrap is run as it is, in preload mode" {
	run --separate-stderr "$SOCKS4WRAP" -v -s "$SERVER" "$SOCKS4WRAP" -s "$SERVER" true
	[ "$status" -eq 0 ]
	[[ $stderr == *"socks4wrap: preload mode: $SOCKS4WRAP is socks4wrap, which chooses the mode for its own command"* ]]
}

# --- what drops the preload: refused ---------------------------------------------

@test "a script whose interpreter is setuid is refused (1) with the reason" {
	cp /bin/sh "$BATS_TEST_TMPDIR/suid-sh"
	chmod u+s "$BATS_TEST_TMPDIR/suid-sh"
	printf '#!%s\necho ran\n' "$BATS_TEST_TMPDIR/suid-sh" >"$BATS_TEST_TMPDIR/s.sh"
	chmod 755 "$BATS_TEST_TMPDIR/s.sh"
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/s.sh"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/s.sh: its interpreter $BATS_TEST_TMPDIR/suid-sh is set-user-ID, so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

@test "a script whose interpreter is setgid, found through env, is refused (1)" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cp /bin/sh "$BATS_TEST_TMPDIR/bin/sgid-sh"
	chmod g+s "$BATS_TEST_TMPDIR/bin/sgid-sh"
	printf '#!/usr/bin/env sgid-sh\necho ran\n' >"$BATS_TEST_TMPDIR/s.sh"
	chmod 755 "$BATS_TEST_TMPDIR/s.sh"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/s.sh"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/s.sh: its interpreter $BATS_TEST_TMPDIR/bin/sgid-sh is set-group-ID, so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

@test "a command with file capabilities is refused (1) with the reason" {
	require_cmd setcap libcap2-bin
	cp /bin/true "$BATS_TEST_TMPDIR/cap-true"
	setcap cap_net_raw+ep "$BATS_TEST_TMPDIR/cap-true"
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/cap-true"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/cap-true: it has file capabilities (security.capability), so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

@test "a script whose interpreter has file capabilities is refused (1)" {
	require_cmd setcap libcap2-bin
	cp /bin/sh "$BATS_TEST_TMPDIR/cap-sh"
	setcap cap_net_bind_service+ep "$BATS_TEST_TMPDIR/cap-sh"
	printf '#!%s\necho ran\n' "$BATS_TEST_TMPDIR/cap-sh" >"$BATS_TEST_TMPDIR/s.sh"
	chmod 755 "$BATS_TEST_TMPDIR/s.sh"
	run "$SOCKS4WRAP" -s "$SERVER" "$BATS_TEST_TMPDIR/s.sh"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/s.sh: its interpreter $BATS_TEST_TMPDIR/cap-sh has file capabilities (security.capability), so the loader would ignore LD_PRELOAD and it would connect directly" ]
}

@test "the syscall mode refuses a setuid program too, saying why" {
	c_prog s4-static -static
	launcher_in "$BATS_TEST_TMPDIR/bin"
	cp "$BATS_FILE_TMPDIR/s4-static" "$BATS_TEST_TMPDIR/suid-static"
	chmod u+s "$BATS_TEST_TMPDIR/suid-static"
	run "$BATS_TEST_TMPDIR/bin/socks4wrap" -s "$SERVER" "$BATS_TEST_TMPDIR/suid-static"
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: refusing $BATS_TEST_TMPDIR/suid-static: it is set-user-ID, which the syscall mode cannot honour: under no_new_privs it would run without that privilege" ]
}

# --- no command: an interactive shell ------------------------------------------

# on_tty CMD...: CMD with a terminal as stdin (script(1) runs it in a pty
# through /bin/sh); its output, CR LF made LF.
on_tty() {
	local cmd=
	printf -v cmd '%q ' "$@"
	SHELL=/bin/sh script -qec "$cmd" /dev/null </dev/null | tr -d '\r'
	return "${PIPESTATUS[0]}"
}

# A stand-in for the user's shell: says how it was started.
fake_shell() {
	printf '#!/bin/sh\necho "shell: $# arguments, $LD_PRELOAD"\n' >"$BATS_TEST_TMPDIR/fakesh"
	chmod 755 "$BATS_TEST_TMPDIR/fakesh"
}

@test "no command on a terminal starts \$SHELL with the library preloaded" {
	require_cmd script bsdutils
	fake_shell
	run on_tty env SHELL="$BATS_TEST_TMPDIR/fakesh" "$SOCKS4WRAP" -s "$SERVER"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "socks4wrap: starting $BATS_TEST_TMPDIR/fakesh: its connections, and those of the programs it runs, go through the SOCKS4 server; exit the shell to leave" ]
	[ "${lines[1]}" = "shell: 0 arguments, ${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$LIB" ]
}

@test "-q starts the shell without the line saying so" {
	require_cmd script bsdutils
	fake_shell
	run on_tty env SHELL="$BATS_TEST_TMPDIR/fakesh" "$SOCKS4WRAP" -q -s "$SERVER"
	[ "$status" -eq 0 ]
	[ "$output" = "shell: 0 arguments, ${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}$LIB" ]
}

@test "no command on a terminal without SHELL is a usage error (2)" {
	require_cmd script bsdutils
	run on_tty env -u SHELL "$SOCKS4WRAP" -s "$SERVER"
	[ "$status" -eq 2 ]
	[[ $output == "socks4wrap: no command given"* ]]
}

# --- LD_PRELOAD --------------------------------------------------------------

@test "the build tree's library is preloaded by absolute path" {
	wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB")"
}

@test "existing LD_PRELOAD entries are kept after the library" {
	LD_PRELOAD=/nonexistent/a.so:/nonexistent/b.so wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB:/nonexistent/a.so:/nonexistent/b.so")"
}

@test "a space-separated LD_PRELOAD is read as ld.so reads it" {
	LD_PRELOAD=' /nonexistent/a.so  /nonexistent/b.so::' wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB:/nonexistent/a.so:/nonexistent/b.so")"
}

@test "a library already in LD_PRELOAD is not added again and keeps its place" {
	LD_PRELOAD="/nonexistent/a.so $LIB" wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "/nonexistent/a.so:$LIB")"
}

@test "a nested socks4wrap does not preload the library twice" {
	run --separate-stderr "$SOCKS4WRAP" -s "$SERVER" -u outer \
		"$SOCKS4WRAP" -s 127.0.0.2:1081 env
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB")"
	has_line SOCKS4_SERVER=127.0.0.2:1081
	has_line SOCKS4_USER=outer
}

@test "SOCKS4WRAP_LIB overrides the library lookup" {
	cp "$S4_BUILD/libsocks4wrap.so" "$BATS_TEST_TMPDIR/other.so"
	SOCKS4WRAP_LIB=$BATS_TEST_TMPDIR/other.so wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "$BATS_TEST_TMPDIR/other.so")"
}

@test "a relative SOCKS4WRAP_LIB is preloaded by absolute path" {
	cp "$S4_BUILD/libsocks4wrap.so" "$BATS_TEST_TMPDIR/other.so"
	cd "$BATS_TEST_TMPDIR"
	SOCKS4WRAP_LIB=other.so wrap_env
	[ "$status" -eq 0 ]
	has_line "$(preload "$BATS_TEST_TMPDIR/other.so")"
}

@test "S4_SAN_PRELOAD runtimes go before the library" {
	local san=${S4_SAN_PRELOAD:+$S4_SAN_PRELOAD:}/nonexistent/san.so
	LD_PRELOAD=/nonexistent/a.so S4_SAN_PRELOAD=$san wrap_env
	[ "$status" -eq 0 ]
	has_line "LD_PRELOAD=$san:$LIB:/nonexistent/a.so"
}

# --- the launcher itself -----------------------------------------------------

@test "the normal path runs no program but the command (empty PATH)" {
	run --separate-stderr env PATH=/nonexistent "$SOCKS4WRAP" -s "$SERVER" /usr/bin/env
	[ "$status" -eq 0 ]
	has_line "$(preload "$LIB")"
}

@test "make install fills in the library directory, sysconfdir and version" {
	require_cmd make
	local root=$BATS_TEST_TMPDIR/inst
	# -o: install what make check built; never rebuild it from here (the
	# library it built reads the default prefix's socks4rc: see config.bats
	# for an installation that reads its own).
	make -s -C "$S4_ROOT" -o build/libsocks4wrap.so -o build/socks4wrap-query \
		install PREFIX="$root" >/dev/null
	run --separate-stderr "$root/bin/socks4wrap" -s "$SERVER" env
	[ "$status" -eq 0 ]
	has_line "$(preload "$root/lib/socks4wrap/libsocks4wrap.so")"
	# The system socks4rc the launcher checks is the prefix's.
	echo bogus >"$root/etc/socks4rc"
	run "$root/bin/socks4wrap" -s "$SERVER" env
	[ "$status" -eq 1 ]
	[ "$output" = "socks4wrap: $root/etc/socks4rc:1: unknown setting 'bogus'" ]
	run "$root/bin/socks4wrap" --version
	[ "$output" = "socks4wrap $(make -s -C "$S4_ROOT" version)" ]
}

@test "the shell scripts that remain are shellcheck clean" {
	require_cmd shellcheck
	run shellcheck "$S4_ROOT/scripts/demo" "$S4_ROOT/scripts/bench" \
		"$S4_ROOT/tests/run-tests" "$S4_ROOT/tests/fuzz/run"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the man page renders without warnings" {
	require_cmd man man-db
	MANWIDTH=80 run --separate-stderr man --warnings -E UTF-8 -l "$S4_ROOT/man/socks4wrap.1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output == *"SOCKS4WRAP(1)"* ]]
}

@test "-R and --remote-dns set SOCKS4_REMOTE_DNS, and a bad mode is a usage error" {
	run "$SOCKS4WRAP" -s 127.0.0.1:1080 -R on sh -c 'echo "$SOCKS4_REMOTE_DNS"'
	[ "$status" -eq 0 ]
	[ "$output" = on ]
	run "$SOCKS4WRAP" -s 127.0.0.1:1080 --remote-dns=local-first sh -c 'echo "$SOCKS4_REMOTE_DNS"'
	[ "$status" -eq 0 ]
	[ "$output" = local-first ]
	run "$SOCKS4WRAP" -s 127.0.0.1:1080 -R sometimes true
	[ "$status" -eq 2 ]
	[[ "$output" == *"-R 'sometimes' is not off, on or local-first"* ]]
}
