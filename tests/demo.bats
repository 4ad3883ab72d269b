#!/usr/bin/env bats
# demo.bats - `make demo` works on a machine where the tests run: the HTTP
# fetch through socks4d, and the active-mode FTP download whose data
# connection is a SOCKS4 BIND, with both of the BIND's replies shown.
#
# The demo runs once, in setup_file; each test judges one part of that
# run's output.

load helpers/common
load helpers/servers

# setup_file: make demo as a user types it, bounded. The demo's curl must
# reach its servers through socks4d, not a proxy of the caller's, and make
# must not run as a sub-make of `make check`. The demo stops its servers
# itself; fd 3 is closed so none could hold bats open. bats 1.8 cannot
# skip from setup_file, so require_preloadable's verdict (kept per file)
# is taken here in a subshell whose skip just says no, and setup skips
# each test on it.
setup_file() {
	local status=0
	# shellcheck disable=SC2317 # skip is called by require_preloadable
	(skip() { exit 1; } && require_preloadable curl) || return 0
	(
		unset http_proxy HTTP_PROXY ftp_proxy FTP_PROXY all_proxy ALL_PROXY \
			no_proxy NO_PROXY MAKEFLAGS MFLAGS MAKELEVEL
		timeout 60 make -s -C "$S4_ROOT" demo
	) >"$BATS_FILE_TMPDIR/demo.out" 2>&1 3>&- || status=$?
	echo "$status" >"$BATS_FILE_TMPDIR/demo.status"
}

# setup: the run's $status and $output, as `run` would have left them;
# printed, so a failing test shows the whole demo.
setup() {
	require_preloadable curl
	status=$(cat "$BATS_FILE_TMPDIR/demo.status")
	output=$(cat "$BATS_FILE_TMPDIR/demo.out")
	echo "$output"
}

@test "make demo succeeds and says every section worked" {
	[ "$status" -eq 0 ]
	[[ "$output" == *"demo: every section worked."* ]]
}

@test "make demo fetches a page with curl through socks4d's CONNECT" {
	[[ "$output" == *"If you can read this, curl reached it through SOCKS4."* ]]
	[[ "$output" =~ socks4d:\ CONNECT\ 127\.0\.0\.1:[0-9]+\ from\ [0-9.:]+\ user=[^:]*:\ granted ]]
}

@test "make demo downloads a file by active-mode FTP and shows both replies of its BIND" {
	# the shim's two BIND replies...
	[[ "$output" =~ BIND\ 127\.0\.0\.1:[0-9]+\ via\ 127\.0\.0\.1:[0-9]+:\ first\ reply:\ proxy\ listens\ on\ 127\.0\.0\.1:[0-9]+ ]]
	[[ "$output" =~ BIND\ 127\.0\.0\.1:[0-9]+\ \(second\ reply\)\ via\ 127\.0\.0\.1:[0-9]+:\ granted:\ connection\ from\ 127\.0\.0\.1:[0-9]+ ]]
	# ...socks4d's side of them, and the address the FTP server was told
	[[ "$output" =~ socks4d:\ BIND\ .*:\ listening\ on\ 127\.0\.0\.1:[0-9]+ ]]
	[[ "$output" =~ socks4d:\ BIND\ .*:\ inbound\ from\ 127\.0\.0\.1:[0-9]+:\ granted ]]
	[[ "$output" =~ client\ says\ EPRT\ \|1\|127\.0\.0\.1\|[0-9]+\| ]]
	[[ "$output" == *"verdict: checksums match"* ]]
}
