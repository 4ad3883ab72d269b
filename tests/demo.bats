#!/usr/bin/env bats
# demo.bats - `make demo` works on a machine where the tests run: the HTTP
# fetch through socks4d, and the active-mode FTP download whose data
# connection is a SOCKS4 BIND, with both of the BIND's replies shown.

load helpers/common
load helpers/servers

setup() {
	# the demo's curl must reach its servers through socks4d, not a proxy
	# of the caller's
	unset http_proxy HTTP_PROXY ftp_proxy FTP_PROXY all_proxy ALL_PROXY \
		no_proxy NO_PROXY
	# make demo as a user types it: not as a sub-make of `make check`
	unset MAKEFLAGS MFLAGS MAKELEVEL
}

# demo: make demo as a user types it, bounded; prints its output for a
# failing test. The demo stops its servers itself; fd 3 is closed so none
# could hold bats open.
demo() {
	run timeout 60 make -s -C "$S4_ROOT" demo 3>&-
	echo "$output"
}

@test "make demo fetches a page with curl through socks4d's CONNECT" {
	require_preloadable curl
	demo
	[ "$status" -eq 0 ]
	[[ "$output" == *"If you can read this, curl reached it through SOCKS4."* ]]
	[[ "$output" =~ socks4d:\ CONNECT\ 127\.0\.0\.1:[0-9]+\ from\ [0-9.:]+\ user=[^:]*:\ granted ]]
	[[ "$output" == *"demo: every section worked."* ]]
}

@test "make demo downloads a file by active-mode FTP and shows both replies of its BIND" {
	require_preloadable curl
	demo
	[ "$status" -eq 0 ]
	# the shim's two BIND replies...
	[[ "$output" =~ BIND\ 127\.0\.0\.1:[0-9]+\ via\ 127\.0\.0\.1:[0-9]+:\ first\ reply:\ proxy\ listens\ on\ 127\.0\.0\.1:[0-9]+ ]]
	[[ "$output" =~ BIND\ 127\.0\.0\.1:[0-9]+\ \(second\ reply\)\ via\ 127\.0\.0\.1:[0-9]+:\ granted:\ connection\ from\ 127\.0\.0\.1:[0-9]+ ]]
	# ...socks4d's side of them, and the address the FTP server was told
	[[ "$output" =~ socks4d:\ BIND\ .*:\ listening\ on\ 127\.0\.0\.1:[0-9]+ ]]
	[[ "$output" =~ socks4d:\ BIND\ .*:\ inbound\ from\ 127\.0\.0\.1:[0-9]+:\ granted ]]
	[[ "$output" =~ client\ says\ EPRT\ \|1\|127\.0\.0\.1\|[0-9]+\| ]]
	[[ "$output" == *"verdict: checksums match"* ]]
}
