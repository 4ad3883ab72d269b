#!/usr/bin/env bats
# deepbind.bats - a program whose network code lives in a plugin it
# dlopen()s with RTLD_DEEPBIND is socksified like any other.
#
# The plugin is tests/tools/s4probe.c built here with -shared (its main
# renamed s4probe_main), the host tests/tools/s4dlopen.c, built here with
# the RUNPATH each test needs. s4dlopen -L opens the plugin with the C
# library's own dlopen, around the shim's hook: what happens without it.

load helpers/common
load helpers/servers
load helpers/ftp

setup_file() {
	local d=$BATS_FILE_TMPDIR cc=${CC:-cc}
	mkdir -p "$d/ftp" "$d/plugins" "$d/app"
	ftp_blob "$d/ftp/blob" 300001
	# The plugin in a directory of its own, found by the host's RUNPATH;
	# a copy beside a host whose RUNPATH is $ORIGIN.
	"$cc" -std=c11 -D_GNU_SOURCE -shared -fPIC -Dmain=s4probe_main \
		-o "$d/plugins/libs4probe.so" "$S4_ROOT/tests/tools/s4probe.c"
	cp "$d/plugins/libs4probe.so" "$d/app/"
	"$cc" -std=c11 -D_GNU_SOURCE -o "$d/host-runpath" \
		-Wl,--enable-new-dtags,-rpath,"$d/plugins" "$S4_ROOT/tests/tools/s4dlopen.c"
	"$cc" -std=c11 -D_GNU_SOURCE -o "$d/host-plain" "$S4_ROOT/tests/tools/s4dlopen.c"
	"$cc" -std=c11 -D_GNU_SOURCE -o "$d/app/host-origin" \
		-Wl,--enable-new-dtags,-rpath,'$ORIGIN' "$S4_ROOT/tests/tools/s4dlopen.c"
	start_echo echo
	start_pyftpd ftpd "$d/ftp"
	start_socks4d socks4d
}

teardown_file() {
	s4_stop_all
}

setup() {
	[ -e "$S4_BUILD/libsocks4wrap.so" ] ||
		s4_fail "build/libsocks4wrap.so is missing: run make" || return 1
}

# no_asan_dlopen: AddressSanitizer's runtime, preloaded ahead of the shim
# in a sanitizer build, aborts any dlopen() with RTLD_DEEPBIND itself, and
# its own dlopen() calls on to ours, which hides the program's RUNPATH: a
# test that dlopen()s under the preload cannot run with it.
no_asan_dlopen() {
	case ${S4_SAN_PRELOAD:-} in
	*asan*) skip "ASan's runtime refuses RTLD_DEEPBIND and its dlopen hides the caller's RUNPATH" ;;
	esac
}

HOST_RP() { echo "$BATS_FILE_TMPDIR/host-runpath"; }

# granted PORT: how many CONNECTs to 127.0.0.1:PORT socks4d granted.
granted() {
	grep -c "CONNECT 127\.0\.0\.1:$1 from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log" || true
}

@test "the library's dlopen and dlmopen are jumps, not calls (the caller's RUNPATH stays)" {
	run sh -c "objdump -d --no-show-raw-insn '$S4_BUILD/libsocks4wrap.so' |
		awk '/<dlopen>:/,/^\$/' | grep -E '^ +[0-9a-f]+:' | tail -n 1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"jmp "*"*%rax"* ]]
}

@test "a DEEPBIND plugin's connect() goes through socks4d" {
	no_asan_dlopen
	local before
	before=$(granted "$ECHO_PORT")
	run s4_wrap "$SOCKS4D_PORT" -v "$(HOST_RP)" libs4probe.so connect 127.0.0.1 "$ECHO_PORT" -s hello -e hello
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read: ok 'hello'"* ]]
	[[ "$output" == *"dlopen libs4probe.so: RTLD_DEEPBIND dropped"* ]]
	[ "$(granted "$ECHO_PORT")" -eq $((before + 1)) ]
}

@test "without the hook, the same DEEPBIND plugin connects directly (what the hook prevents)" {
	no_asan_dlopen
	local before
	before=$(granted "$ECHO_PORT")
	run s4_wrap "$SOCKS4D_PORT" "$(HOST_RP)" -L libs4probe.so connect 127.0.0.1 "$ECHO_PORT" -s hello -e hello
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read: ok 'hello'"* ]]
	[ "$(granted "$ECHO_PORT")" -eq "$before" ]
}

@test "a DEEPBIND plugin runs the textbook active-mode FTP sequence through socks4d's BIND" {
	no_asan_dlopen
	run s4_wrap "$SOCKS4D_PORT" "$(HOST_RP)" libs4probe.so ftp 127.0.0.1 "$FTPD_PORT" blob \
		-o "$BATS_TEST_TMPDIR/got" -p textbook
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$BATS_FILE_TMPDIR/ftp/blob" "$BATS_TEST_TMPDIR/got"
	grep -q "CONNECT 127\.0\.0\.1:$FTPD_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
	grep -q "BIND .*: inbound from 127.0.0.1:[0-9]*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
	# pyftpdlib was told the proxy's address, not a local one of ours
	grep -q "client says PORT 127,0,0,1," "$BATS_FILE_TMPDIR/ftpd.log"
}

@test "a plugin name without a slash is still found by the host's RUNPATH under the preload" {
	no_asan_dlopen
	run s4_wrap "$SOCKS4D_PORT" "$(HOST_RP)" libs4probe.so connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
	run s4_wrap "$SOCKS4D_PORT" "$(HOST_RP)" -P libs4probe.so connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
}

@test "a plugin beside the host is still found by RUNPATH \$ORIGIN under the preload" {
	no_asan_dlopen
	run s4_wrap "$SOCKS4D_PORT" "$BATS_FILE_TMPDIR/app/host-origin" libs4probe.so connect 127.0.0.1 "$ECHO_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	run s4_wrap "$SOCKS4D_PORT" "$BATS_FILE_TMPDIR/app/host-origin" -P libs4probe.so connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 0 ]
}

@test "a host with no RUNPATH does not find the plugin by that name (the lookups above are RUNPATH's)" {
	run s4_wrap "$SOCKS4D_PORT" "$BATS_FILE_TMPDIR/host-plain" -P libs4probe.so connect 127.0.0.1 "$ECHO_PORT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"libs4probe.so: cannot open shared object file"* ]]
}
