# tests/helpers/syscall.bash - what the syscall-mode tests share.
#
#   go_build NAME   builds tests/tools/NAME.go statically (CGO off) into
#                   $BATS_FILE_TMPDIR/NAME, once per file; skips naming
#                   golang-go when go is missing (a failure in CI)

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
