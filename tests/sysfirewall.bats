#!/usr/bin/env bats
# sysfirewall.bats - the syscall mode on a firewalled host: the client
# namespace's only way out is a SOCKS server in the proxy namespace
# (tests/helpers/netns.bash), and the programs are ones the preload cannot
# reach: the static builds of s4probe (x86-64 and i386, static_builds),
# busybox-static and a Go program.
#
#   client 192.0.2.2 -- 192.0.2.1 proxy 198.51.100.1 -- 198.51.100.2 server

load helpers/common
load helpers/servers
load helpers/syscall
load helpers/netns


setup_file() {
	netns_setup || return 1
	[ -z "$NETNS_SKIP" ] || return 0
	printf 'behind the firewall\n' >"$BATS_FILE_TMPDIR/page.txt"
	start_http -n "$NETNS_SERVER" http "$BATS_FILE_TMPDIR" "$NETNS_SERVER_ADDR"
	start_echo -n "$NETNS_SERVER" echo "$NETNS_SERVER_ADDR"
	netns_start_socks4d socks4d
	start_sockd -n "$NETNS_PROXY" sockd "$NETNS_PROXY_IN" "$NETNS_PROXY_OUT" 192.0.2.0/24
}

teardown_file() {
	s4_stop_all
	netns_teardown
}

setup() {
	netns_require
	unset http_proxy HTTP_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
}

# wrapped PROXYPORT CMD...: CMD in the client namespace in syscall mode.
wrapped() {
	local port=$1
	shift
	in_client env SOCKS4_SERVER="$NETNS_PROXY_IN:$port" timeout 60 "$SUP" "$@"
}

@test "without the supervisor a static client cannot reach the server" {
	local t
	for t in $(static_builds); do
		run in_client timeout 10 "$S4_BUILD/s4probe$t" connect "$NETNS_SERVER_ADDR" "$ECHO_PORT"
		echo "# s4probe$t: $output"
		[ "$status" -eq 1 ]
		has_line "connect: error ENETUNREACH (Network is unreachable)"
	done
}

@test "a static client's echo round trip crosses socks4d" {
	local t before
	for t in $(static_builds); do
		before=$(grep -c "echo: connection from $NETNS_PROXY_OUT:" "$BATS_FILE_TMPDIR/echo.log" || true)
		run wrapped "$SOCKS4D_PORT" "$S4_BUILD/s4probe$t" connect "$NETNS_SERVER_ADDR" \
			"$ECHO_PORT" -s "fw\n" -e "fw\n"
		echo "# s4probe$t: $output"
		[ "$status" -eq 0 ]
		has_line "read: ok 'fw\\n'"
		s4_wait_more echo "echo: connection from $NETNS_PROXY_OUT:" "$before" 5
	done
}

@test "busybox-static wget fetches a page through Dante" {
	require_cmd busybox busybox-static
	run wrapped "$SOCKD_PORT" "$(command -v busybox)" wget -q -O - \
		"http://$NETNS_SERVER_ADDR:$HTTP_PORT/page.txt"
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "behind the firewall"
	grep -q "GET /page.txt from $NETNS_PROXY_OUT:" "$BATS_FILE_TMPDIR/http.log"
}

@test "a Go program's goroutines dial through socks4d" {
	go_build s4dial
	local out=$BATS_FILE_TMPDIR/s4dial
	run wrapped "$SOCKS4D_PORT" "$out" dial "$NETNS_SERVER_ADDR:$ECHO_PORT" 50
	echo "$output"
	[ "$status" -eq 0 ]
	has_line "dial: 50 of 50 echoed"
	has_line "remote: $NETNS_SERVER_ADDR:$ECHO_PORT"
}
