# tests/helpers/netns.bash - a firewall in network namespaces.
#
# Load after common.bash (and servers.bash to start servers inside). The
# topology, with the TEST-NET documentation ranges:
#
#   client ns                  proxy ns                      server ns
#   192.0.2.2/24 --veth-- 192.0.2.1/24 | 198.51.100.1/24 --veth-- 198.51.100.2/24
#
# - the client has only its connected route, so anything on 198.51.100.0/24
#   fails at once with ENETUNREACH: the proxy is the only way out;
# - the proxy has ip_forward=0: it reaches both sides but routes nothing;
# - the server has only its connected route too. It needs no route back to
#   192.0.2.0/24: everything it sees comes from the proxy's 198.51.100.1
#   (the CONNECTs, and the connection it makes to a BIND port, which the
#   proxy announces on its 198.51.100.1 side). Without the route, a test
#   also proves the server never talks to the client directly.
# Each namespace has lo up.
#
#   netns_setup       create it all (setup_file); exports the names and
#                     addresses below. When not root or `ip netns` does not
#                     work it sets NETNS_SKIP to the reason and returns 0
#                     (bats 1.8 cannot skip from setup_file); in CI it fails.
#   netns_require     in setup(): skip the test when NETNS_SKIP is set
#   netns_teardown    (teardown_file) end the processes still inside the
#                     namespaces (by pid), delete the namespaces and veths
#                     this run made. Idempotent; safe after a partial setup.
#   in_client CMD...  in_proxy CMD...  in_server CMD...   ip netns exec
#   netns_start_socks4d NAME [socks4d options]
#                     build/socks4d in the proxy namespace on 192.0.2.1 at
#                     port 0, clients from 192.0.2.0/24, its BIND ports on
#                     198.51.100.1 (-e: the server's side); sets NAME_PORT
#
#   NETNS_CLIENT NETNS_PROXY NETNS_SERVER      namespace names (unique per run)
#   NETNS_CLIENT_ADDR=192.0.2.2   NETNS_PROXY_IN=192.0.2.1
#   NETNS_PROXY_OUT=198.51.100.1  NETNS_SERVER_ADDR=198.51.100.2
#
# Servers started inside a namespace (start_http -n "$NETNS_SERVER" ...)
# are s4_start processes: call s4_stop_all before netns_teardown.

NETNS_CLIENT_ADDR=192.0.2.2
NETNS_PROXY_IN=192.0.2.1
NETNS_PROXY_OUT=198.51.100.1
NETNS_SERVER_ADDR=198.51.100.2
export NETNS_CLIENT_ADDR NETNS_PROXY_IN NETNS_PROXY_OUT NETNS_SERVER_ADDR

# Where netns_setup records each thing it made, for netns_teardown.
netns_state_file() {
	echo "${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/netns.state"
}

# netns_unavailable REASON: skip outside CI, fail in CI.
netns_unavailable() {
	if [ -n "${CI:-}" ]; then
		s4_fail "network namespaces are needed in CI: $1"
		return 1
	fi
	NETNS_SKIP="network namespaces unavailable: $1"
	export NETNS_SKIP
	return 0
}

netns_require() {
	[ -z "${NETNS_SKIP:-}" ] || skip "$NETNS_SKIP"
}

# netns_run CMD...: run a setup step, its errors to stderr, fail loudly.
netns_run() {
	"$@" || s4_fail "netns_setup: '$*' failed"
}

netns_setup() {
	local state id err
	state=$(netns_state_file)
	NETNS_SKIP=
	export NETNS_SKIP
	[ "$(id -u)" = 0 ] || {
		netns_unavailable "not root"
		return
	}
	command -v ip >/dev/null 2>&1 || {
		netns_unavailable "no ip command (iproute2)"
		return
	}

	id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	NETNS_CLIENT=s4wrap-$$-$id-client
	NETNS_PROXY=s4wrap-$$-$id-proxy
	NETNS_SERVER=s4wrap-$$-$id-server
	export NETNS_CLIENT NETNS_PROXY NETNS_SERVER

	# The first add tells whether this machine lets us at all.
	if ! err=$(ip netns add "$NETNS_CLIENT" 2>&1); then
		netns_unavailable "ip netns add: $err"
		return
	fi
	echo "ns $NETNS_CLIENT" >>"$state"
	netns_run ip netns add "$NETNS_PROXY" || return 1
	echo "ns $NETNS_PROXY" >>"$state"
	netns_run ip netns add "$NETNS_SERVER" || return 1
	echo "ns $NETNS_SERVER" >>"$state"

	# Veth ends are made straight inside their namespaces; the names are
	# recorded first, so that a pair left in this namespace by a failed
	# step is deleted too. Names fit IFNAMSIZ (15).
	echo "link s4${id}c" >>"$state"
	netns_run ip link add "s4${id}c" netns "$NETNS_CLIENT" type veth \
		peer name "s4${id}pc" netns "$NETNS_PROXY" || return 1
	echo "link s4${id}s" >>"$state"
	netns_run ip link add "s4${id}s" netns "$NETNS_SERVER" type veth \
		peer name "s4${id}ps" netns "$NETNS_PROXY" || return 1

	netns_run in_client ip addr add "$NETNS_CLIENT_ADDR/24" dev "s4${id}c" || return 1
	netns_run in_proxy ip addr add "$NETNS_PROXY_IN/24" dev "s4${id}pc" || return 1
	netns_run in_proxy ip addr add "$NETNS_PROXY_OUT/24" dev "s4${id}ps" || return 1
	netns_run in_server ip addr add "$NETNS_SERVER_ADDR/24" dev "s4${id}s" || return 1
	netns_run in_client ip link set "s4${id}c" up || return 1
	netns_run in_proxy ip link set "s4${id}pc" up || return 1
	netns_run in_proxy ip link set "s4${id}ps" up || return 1
	netns_run in_server ip link set "s4${id}s" up || return 1
	netns_run in_client ip link set lo up || return 1
	netns_run in_proxy ip link set lo up || return 1
	netns_run in_server ip link set lo up || return 1
	# 0 is a new namespace's default; say it anyway, it is the point.
	netns_run in_proxy sh -c 'echo 0 >/proc/sys/net/ipv4/ip_forward' || return 1
}

netns_teardown() {
	local state kind name pid alive
	state=$(netns_state_file)
	[ -f "$state" ] || return 0
	# Processes still inside keep a namespace alive after `ip netns del`.
	while read -r kind name; do
		[ "$kind" = ns ] || continue
		for pid in $(ip netns pids "$name" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
		done
	done <"$state"
	for _ in $(seq 30); do
		alive=
		while read -r kind name; do
			[ "$kind" = ns ] && [ -n "$(ip netns pids "$name" 2>/dev/null)" ] && alive=1
		done <"$state"
		[ -n "$alive" ] || break
		sleep 0.1
	done
	while read -r kind name; do
		case $kind in
		ns)
			for pid in $(ip netns pids "$name" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
			ip netns del "$name" 2>/dev/null
			;;
		link) ip link del "$name" 2>/dev/null ;;
		esac
	done <"$state"
	rm -f "$state"
	return 0
}

in_client() { ip netns exec "$NETNS_CLIENT" "$@"; }
in_proxy() { ip netns exec "$NETNS_PROXY" "$@"; }
in_server() { ip netns exec "$NETNS_SERVER" "$@"; }

netns_start_socks4d() {
	local name=$1 var
	shift
	s4_start "$name" ip netns exec "$NETNS_PROXY" "$SOCKS4D" \
		-l "$NETNS_PROXY_IN:0" -e "$NETNS_PROXY_OUT" -a 192.0.2.0/24 \
		-p "$BATS_FILE_TMPDIR/$name.port" -v "$@"
	s4_wait_file "$BATS_FILE_TMPDIR/$name.port" || return 1
	var=$(echo "$name" | tr '[:lower:]-' '[:upper:]_')_PORT
	printf -v "$var" '%s' "$(cat "$BATS_FILE_TMPDIR/$name.port")"
	export "${var?}"
}
