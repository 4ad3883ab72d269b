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
	local portfile=$BATS_FILE_TMPDIR/$name.port
	shift $(($# < 3 ? $# : 3))
	rm -f "$portfile"
	s4_start_ns "$name" "$ns" "$S4_PY" -u "$S4_ROOT/tests/helpers/ftpd.py" \
		-p "$portfile" -d "$dir" -b "$addr" "$@"
	if ! s4_wait_file "$portfile"; then
		cat "$BATS_FILE_TMPDIR/$name.log" >&2
		return 1
	fi
	s4_set_port "$name" "$(cat "$portfile")"
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
	local name=$1 addr=${2:-127.0.0.1}
	local portfile=$BATS_FILE_TMPDIR/$name.port
	rm -f "$portfile"
	s4_start_ns "$name" "$ns" "$S4_PY" -u "$S4_ROOT/tests/helpers/callback.py" \
		-p "$portfile" -b "$addr"
	if ! s4_wait_file "$portfile"; then
		cat "$BATS_FILE_TMPDIR/$name.log" >&2
		return 1
	fi
	s4_set_port "$name" "$(cat "$portfile")"
}
