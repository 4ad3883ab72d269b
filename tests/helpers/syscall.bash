# tests/helpers/syscall.bash - what the syscall-mode tests share.
#
#   go_build NAME   builds tests/tools/NAME.go statically (CGO off) into
#                   $BATS_FILE_TMPDIR/NAME, once per file; skips naming
#                   golang-go when go is missing (a failure in CI)
#   static_builds   the suffixes of the static test programs a contract
#                   test runs: -static (x86-64), then -static32 (i386,
#                   which make builds when gcc -m32 works) if it is there
#   require_m32     skips, saying gcc-multilib is missing, when the
#                   -static32 programs are not built (a failure in CI)
#   run_build PORT TOOL T ARGS...
#                   bats's run of build/TOOL$T ARGS (T a suffix from
#                   static_builds) under the file's sup, through the SOCKS
#                   server at PORT, its output shown under the build's name

SUP=$S4_BUILD/socks4wrap-sup
export SUP

go_build() {
	require_cmd go golang-go
	local out=$BATS_FILE_TMPDIR/$1
	[ -x "$out" ] && return 0
	HOME=$BATS_FILE_TMPDIR GOCACHE=$BATS_FILE_TMPDIR/gocache GOPATH=$BATS_FILE_TMPDIR/gopath \
		GO111MODULE=off CGO_ENABLED=0 GOFLAGS='' \
		timeout 300 go build -o "$out" "$S4_ROOT/tests/tools/$1.go"
}

static_builds() {
	echo -static
	[ ! -x "$S4_BUILD/s4probe-static32" ] || echo -static32
}

require_m32() {
	[ -x "$S4_BUILD/s4probe-static32" ] && return 0
	if [ -n "${CI:-}" ]; then
		s4_fail "build/s4probe-static32 is missing (gcc-multilib) and CI must have it"
		return 1
	fi
	skip "gcc-multilib missing: no build/*-static32 without gcc -m32 (installed since the build? run make again)"
}

run_build() {
	local port=$1 tool=$2 t=$3
	shift 3
	run sup "$port" "$S4_BUILD/$tool$t" "$@"
	echo "# $tool$t: $output"
}
