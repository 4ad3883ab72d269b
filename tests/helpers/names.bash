# tests/helpers/names.bash - name resolution in the network-namespace
# firewall (netns.bash), and OpenSSH's dynamic forwarding as a SOCKS 4A
# server. Load after common.bash, servers.bash and netns.bash.
#
#   names_setup NAME=IPV4...
#       after netns_setup: the client namespace's only resolver becomes
#       dnsd.py on 127.0.0.1:53 inside it (/etc/netns/CLIENT/resolv.conf),
#       knowing the NAME=IPV4 pairs given and nothing else, writing every
#       question to $NAMES_DNS_LOG; the proxy namespace resolves
#       files.example to the server (/etc/netns/PROXY/hosts). ip netns
#       exec bind-mounts those files over /etc's.
#   names_teardown        remove /etc/netns/CLIENT and PROXY (idempotent)
#   names_never_asked NAME   fail, showing the log, if local DNS saw NAME
#   names_asked NAME         fail unless it did
#   start_sshd NAME NETNS ADDR     an sshd (see below); ssh_opts NAME
#   start_ssh_socks NAME
#       sshd in the proxy namespace on 127.0.0.1 (a fresh host key, root
#       logging in with a fresh key, all under $BATS_FILE_TMPDIR) and
#       `ssh -N -D 192.0.2.1:PORT` to it: a SOCKS4/4A/5 server on the
#       proxy's inside address whose names sshd resolves in the proxy
#       namespace. Sets NAME_PORT; NAME-sshd.log holds sshd's log (-e),
#       NAME.log ssh's (-v).

NAMES_SERVER_NAME=files.example
export NAMES_SERVER_NAME

names_setup() {
	local d=$BATS_FILE_TMPDIR
	NAMES_DNS_LOG=$d/dns.queries
	export NAMES_DNS_LOG
	echo "$NETNS_CLIENT $NETNS_PROXY" >"$d/names.netns"
	mkdir -p "/etc/netns/$NETNS_CLIENT" "/etc/netns/$NETNS_PROXY"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' \
		>"/etc/netns/$NETNS_CLIENT/resolv.conf"
	printf '127.0.0.1 localhost\n' >"/etc/netns/$NETNS_CLIENT/hosts"
	# the proxy resolves from its hosts file only: no DNS at all
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
		>"/etc/netns/$NETNS_PROXY/resolv.conf"
	printf '127.0.0.1 localhost\n%s %s\n' "$NETNS_SERVER_ADDR" "$NAMES_SERVER_NAME" \
		>"/etc/netns/$NETNS_PROXY/hosts"
	s4_start dnsd ip netns exec "$NETNS_CLIENT" "$S4_PY" \
		"$S4_ROOT/tests/helpers/dnsd.py" 127.0.0.1 53 "$NAMES_DNS_LOG" "$@"
	s4_wait_log dnsd ready
}

names_teardown() {
	local f=$BATS_FILE_TMPDIR/names.netns ns namespaces
	[ -f "$f" ] || return 0
	read -r -a namespaces <"$f"
	for ns in "${namespaces[@]}"; do
		[ -n "$ns" ] && rm -rf "/etc/netns/${ns:?}"
	done
	rm -f "$f"
	return 0
}

names_asked() {
	grep -q " $1\$" "$NAMES_DNS_LOG" ||
		s4_fail "local DNS was never asked about $1:"$'\n'"$(cat "$NAMES_DNS_LOG")"
}

names_never_asked() {
	if grep -q " $1\$" "$NAMES_DNS_LOG"; then
		s4_fail "local DNS was asked about $1:"$'\n'"$(cat "$NAMES_DNS_LOG")"
		return 1
	fi
}

# start_sshd NAME NETNS ADDR: sshd on ADDR at a free port inside NETNS,
# root logging in with $BATS_FILE_TMPDIR/NAME/user_key; sets NAME_PORT.
start_sshd() {
	local name=$1 ns=$2 addr=$3 d=$BATS_FILE_TMPDIR/$1 port
	mkdir -p "$d" /run/sshd
	chmod 700 "$d"
	rm -f "$d/host_key" "$d/user_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key" || return 1
	cp "$d/user_key.pub" "$d/authorized_keys"
	port=$(s4_free_port -n "$ns" "$addr")
	cat >"$d/sshd_config" <<-EOF
		ListenAddress $addr:$port
		HostKey $d/host_key
		PidFile $d/sshd.pid
		AuthorizedKeysFile $d/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		AllowTcpForwarding yes
		UseDNS no
		LogLevel ${SSHD_LOGLEVEL:-VERBOSE}
	EOF
	s4_start "$name" ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$d/sshd_config"
	s4_wait_port -n "$ns" "$addr" "$port" || return 1
	s4_set_port "$name" "$port"
}

# ssh_opts NAME: the options that log in to start_sshd NAME's server.
ssh_opts() {
	echo "-i $BATS_FILE_TMPDIR/$1/user_key -o BatchMode=yes -o StrictHostKeyChecking=no" \
		"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
}

start_ssh_socks() {
	local name=$1 port sshport
	# DEBUG1: sshd names each forwarding target ("target NAME port N")
	SSHD_LOGLEVEL=DEBUG1 start_sshd "$name-sshd" "$NETNS_PROXY" 127.0.0.1 || return 1
	sshport=$(echo "$name-sshd" | tr '[:lower:]-' '[:upper:]_')_PORT
	sshport=${!sshport}
	port=$(s4_free_port -n "$NETNS_PROXY" "$NETNS_PROXY_IN")
	# shellcheck disable=SC2046 # one word per option
	s4_start "$name" ip netns exec "$NETNS_PROXY" ssh -v -N -D "$NETNS_PROXY_IN:$port" \
		$(ssh_opts "$name-sshd") -o ExitOnForwardFailure=yes -p "$sshport" root@127.0.0.1
	s4_wait_port -n "$NETNS_PROXY" "$NETNS_PROXY_IN" "$port" 20 || {
		cat "$BATS_FILE_TMPDIR/$name.log" "$BATS_FILE_TMPDIR/$name-sshd.log" >&2
		return 1
	}
	s4_set_port "$name" "$port"
	echo "$port" >"$BATS_FILE_TMPDIR/$name.port"
}
