# tests/helpers/ftp.bash - FTP servers for the BIND tests.
#
# Load after common.bash and servers.bash.
#
#   start_pyftpd [-n NETNS] NAME DIR [ADDR [--foreign]]
#       pyftpdlib serving DIR (anonymous, writable) on ADDR (default
#       127.0.0.1) at a free port; sets NAME_PORT. NAME.log has a line per
#       command, e.g. "ftpd: 127.0.0.1:40012-[anonymous] client says PORT 127,0,0,1,157,2"
#   ftp_blob FILE SIZE   a file of SIZE random bytes (once per file)

start_pyftpd() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	local name=$1 dir=$2 addr=${3:-127.0.0.1}
	shift $(($# < 3 ? $# : 3))
	s4_start_py "$name" "$ns" "$S4_ROOT/tests/helpers/ftpd.py" -d "$dir" -b "$addr" "$@"
}

ftp_blob() {
	[ -s "$1" ] || head -c "$2" /dev/urandom >"$1"
}

#   start_callback [-n NETNS] NAME [ADDR]
#       tests/helpers/callback.py: an application server that connects back
#       to the address its client sends ("CALL IP PORT [SRC]"); sets NAME_PORT.
start_callback() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	s4_start_py "$1" "$ns" "$S4_ROOT/tests/helpers/callback.py" -b "${2:-127.0.0.1}"
}

#   start_vsftpd [-n NETNS] NAME DIR [ADDR]
#       vsftpd serving DIR read-only to anonymous users on ADDR (default
#       127.0.0.1) at a free port, in the foreground; sets NAME_PORT.
#       NAME.log is vsftpd's protocol log: 'FTP command: Client "A", "PORT ..."'.
#       Its PORT check (port_promiscuous=NO) stays on: a PORT address
#       must be the control connection's source, as on a real server.
start_vsftpd() {
	local ns=
	if [ "${1:-}" = -n ]; then
		ns=$2
		shift 2
	fi
	local name=$1 dir=$2 addr=${3:-127.0.0.1}
	local d=$BATS_FILE_TMPDIR port
	local conf=$d/$name.conf

	port=$(s4_free_port -n "$ns" "$addr") || return 1
	mkdir -p "$d/$name.empty"
	chmod 555 "$d/$name.empty"
	cat >"$conf" <<-CONF
		listen=YES
		listen_ipv6=NO
		listen_address=$addr
		listen_port=$port
		background=NO
		anonymous_enable=YES
		local_enable=NO
		write_enable=NO
		anon_root=$dir
		no_anon_password=YES
		ftp_username=ftp
		nopriv_user=nobody
		pasv_enable=YES
		port_enable=YES
		connect_from_port_20=NO
		seccomp_sandbox=NO
		secure_chroot_dir=$d/$name.empty
		xferlog_enable=YES
		log_ftp_protocol=YES
		vsftpd_log_file=$d/$name.log
	CONF
	# vsftpd writes NAME.log itself; its stdout and stderr go to NAME.out
	# (as start_sockd does; sh execs vsftpd, which keeps the pid)
	# shellcheck disable=SC2016 # $1 is sh's, not ours
	s4_start_ns "$name" "$ns" sh -c 'out=$1; shift; exec "$@" >"$out" 2>&1' \
		sh "$d/$name.out" vsftpd "$conf"
	if ! s4_wait_port -n "$ns" "$addr" "$port" 10; then
		cat "$d/$name.out" "$d/$name.log" >&2 2>/dev/null
		return 1
	fi
	echo "$port" >"$d/$name.port"
	s4_set_port "$name" "$port"
}
