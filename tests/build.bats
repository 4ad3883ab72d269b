#!/usr/bin/env bats
# build.bats - `make` builds the product and nothing else, and the
# optional compilers (gcc -m32, musl-gcc) are used only when they build
# the sources that need them (issue 27). Each test asks make for its plan
# (make -n) in an empty build directory, so nothing is compiled.

load helpers/common

# plan ARGS...: the commands `make -n ARGS` would run in a fresh B.
plan() {
	make -C "$S4_ROOT" -n B="$BATS_TEST_TMPDIR/b" SANITIZE= "$@" 2>&1
}

# fake_m32 DIR: a compiler that builds a program with no #include for
# -m32 but not the socket headers, as gcc does once gcc-multilib has
# made way for a cross compiler ("asm/socket.h: No such file").
fake_m32() {
	mkdir -p "$1"
	cat >"$1/cc" <<'SH'
#!/bin/sh
case " $* " in
*" -m32 "*)
	for a; do
		case $a in
		*.c) grep -q '#include <sys/socket.h>' "$a" && {
			echo "$a: fatal error: asm/socket.h: No such file or directory" >&2
			exit 1
		} ;;
		esac
	done ;;
esac
exec cc "$@"
SH
	chmod +x "$1/cc"
}

@test "make builds the library, the supervisor, the launcher, the dry run and the man pages, and no test program" {
	run plan
	[ "$status" -eq 0 ] || s4_fail "$output"
	for out in libsocks4wrap.so socks4wrap-sup socks4wrap socks4wrap-query \
		man/socks4wrap.1 man/socks4rc.5; do
		grep -q -- "$BATS_TEST_TMPDIR/b/$out\b" <<<"$output" ||
			s4_fail "make does not build $out" || return 1
	done
	run grep -E 'tests/(tools|server|unit)|/socks4d\b|/test_|/s4[a-z]+' <<<"$output"
	[ "$status" -eq 1 ] || s4_fail "make builds test programs: $output"
}

@test "make check-unit builds the unit tests and needs none of the integration tests' tools" {
	run plan check-unit
	[ "$status" -eq 0 ] || s4_fail "$output"
	grep -q 'test_socks4' <<<"$output"
	grep -q "TESTS='.*test_config" <<<"$output"
	run grep -E 'socks4d|s4probe' <<<"$output"
	[ "$status" -eq 1 ] || s4_fail "check-unit builds integration tools: $output"
}

@test "the 32-bit test programs are left out when gcc -m32 cannot build a socket program" {
	fake_m32 "$BATS_TEST_TMPDIR/cc"
	run plan M32_CC="$BATS_TEST_TMPDIR/cc/cc" test-progs
	[ "$status" -eq 0 ] || s4_fail "$output"
	run grep -e '-static32' <<<"$output"
	[ "$status" -eq 1 ] || s4_fail "static32 programs planned with a compiler that cannot build them: $output"
	# ... and with one that can, they are built (the probe is not
	# simply always "no")
	if ! printf 'int main(void){return 0;}' | cc -m32 -static -x c -o /dev/null - 2>/dev/null; then
		[ -z "${CI:-}" ] || s4_fail "CI must have gcc-multilib (tests/deps)" || return 1
		skip "gcc-multilib missing: no working cc -m32 to compare with"
	fi
	run plan test-progs
	grep -q -e '-static32' <<<"$output" || s4_fail "no static32 programs planned: $output"
}

@test "the launcher is built with musl-gcc only when musl-gcc builds its sources" {
	require_cmd musl-gcc musl-tools
	mkdir -p "$BATS_TEST_TMPDIR/bad"
	printf '#!/bin/sh\necho "fatal error: elf.h: No such file or directory" >&2\nexit 1\n' \
		>"$BATS_TEST_TMPDIR/bad/musl-gcc"
	chmod +x "$BATS_TEST_TMPDIR/bad/musl-gcc"
	run plan MUSL_CC="$BATS_TEST_TMPDIR/bad/musl-gcc"
	[ "$status" -eq 0 ] || s4_fail "$output"
	run grep -F "$BATS_TEST_TMPDIR/bad/musl-gcc" <<<"$output"
	[ "$status" -eq 1 ] || s4_fail "a broken musl-gcc builds the launcher: $output"
	run plan
	grep -q "musl-gcc.*-o $BATS_TEST_TMPDIR/b/socks4wrap " <<<"$output" ||
		s4_fail "musl-gcc does not build the launcher: $output"
}
