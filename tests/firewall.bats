#!/usr/bin/env bats
# firewall.bats - the user's host: firewalled, its only way out a SOCKS4
# server. Three network namespaces (tests/helpers/netns.bash):
#
#   client 192.0.2.2 -- 192.0.2.1 proxy 198.51.100.1 -- 198.51.100.2 server
#
# The client has no route to the server and the proxy routes nothing, so
# every byte between client and server crosses a SOCKS server: socks4d or
# Dante's danted in the proxy namespace. The FTP servers (pyftpdlib and
# vsftpd, both with their PORT anti-bounce checks on) run in the server
# namespace. Real FTP clients from Debian and language standard libraries
# download a file in active mode under socks4wrap; the checksum must match
# and the FTP server's log must show the client advertised the proxy's
# address (198.51.100.1), which only a BIND can have given it.

load helpers/common
load helpers/servers
load helpers/ftp
load helpers/netns
load helpers/names

setup_file() {
	local d=$BATS_FILE_TMPDIR
	netns_setup || return 1
	[ -z "$NETNS_SKIP" ] || return 0
	# names (issue 15), before anything starts in the namespaces: the
	# client's resolver knows only inside.example; the proxy resolves
	# files.example; ssh -D is a second 4A server (below)
	names_setup inside.example="$NETNS_SERVER_ADDR"
	mkdir -p "$d/pub"
	chmod 755 "$d/pub"
	ftp_blob "$d/pub/blob" 2000000
	start_pyftpd -n "$NETNS_SERVER" pyftpd "$d/pub" "$NETNS_SERVER_ADDR"
	start_vsftpd -n "$NETNS_SERVER" vsftpd "$d/pub" "$NETNS_SERVER_ADDR"
	netns_start_socks4d socks4d
	# zeros in CONNECT replies: getsockname() on the control connection
	# cannot report the proxy's outward address from the reply
	netns_start_socks4d zeros -Z
	# the destination in CONNECT replies, as Twisted's 4A server does
	netns_start_socks4d echoes -M echo-dst
	start_sockd -n "$NETNS_PROXY" sockd "$NETNS_PROXY_IN" "$NETNS_PROXY_OUT" 192.0.2.0/24
	echo "hello by name" >"$d/pub/hello.txt"
	start_http -n "$NETNS_SERVER" http "$d/pub" "$NETNS_SERVER_ADDR"
	start_sshd server-sshd "$NETNS_SERVER" "$NETNS_SERVER_ADDR"
	start_ssh_socks sshsocks
	netns_start_socks4d no4a -N
	start_git_daemon
}

# A git daemon in the server's namespace, serving one repository over
# git:// (git's own protocol: its own connect(), no libcurl).
start_git_daemon() {
	local d=$BATS_FILE_TMPDIR/git port
	mkdir -p "$d/work"
	git -C "$d/work" init -q -b main &&
		echo "through the firewall by git" >"$d/work/README" &&
		git -C "$d/work" add README &&
		git -C "$d/work" -c user.name=s4 -c user.email=s4@example.invalid commit -qm one &&
		git clone -q --bare "$d/work" "$d/repo.git" || return 1
	port=$(s4_free_port -n "$NETNS_SERVER" "$NETNS_SERVER_ADDR")
	s4_start gitd ip netns exec "$NETNS_SERVER" git daemon --reuseaddr --export-all \
		--base-path="$d" --listen="$NETNS_SERVER_ADDR" --port="$port" --verbose "$d"
	s4_wait_port -n "$NETNS_SERVER" "$NETNS_SERVER_ADDR" "$port" || return 1
	s4_set_port gitd "$port"
}

teardown_file() {
	s4_stop_all
	names_teardown
	netns_teardown
}

setup() {
	netns_require
	unset http_proxy HTTP_PROXY ftp_proxy FTP_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	cd "$BATS_TEST_TMPDIR" || return 1
}

# wrapped PROXYPORT CMD...: CMD in the client namespace under socks4wrap.
wrapped() {
	local port=$1
	shift
	in_client timeout 60 "$SOCKS4WRAP" -s "$NETNS_PROXY_IN:$port" "$@"
}

# Each fetch_CLIENT PROXYPORT FTPPORT downloads blob into ./got, in active
# mode with the client's timeouts on where it has them.
fetch_curl() {
	wrapped "$1" curl -sS --connect-timeout 10 --max-time 30 -P - \
		"ftp://$NETNS_SERVER_ADDR:$2/blob" -o got
}
fetch_tnftp() {
	wrapped "$1" tnftp -A -q 30 -o got "ftp://$NETNS_SERVER_ADDR:$2/blob" </dev/null
}
# lftp_get on|off PROXYPORT FTPPORT: lftp with passive mode on or off.
lftp_get() {
	wrapped "$2" lftp -c "set ftp:passive-mode $1; set net:timeout 10;
		set net:max-retries 1; set cmd:fail-exit yes;
		open -u anonymous,s4@ -p $3 $NETNS_SERVER_ADDR; get blob -o got" </dev/null
}
# ftplib_get True|False PROXYPORT FTPPORT: Python's ftplib, set_pasv(...).
ftplib_get() {
	wrapped "$2" "$S4_PY" -c "
import ftplib
f = ftplib.FTP()
f.connect('$NETNS_SERVER_ADDR', $3, timeout=10)
f.login()
f.set_pasv($1)
with open('got', 'wb') as out:
    f.retrbinary('RETR blob', out.write)
f.quit()"
}
fetch_lftp() { lftp_get off "$@"; }
fetch_python() { ftplib_get False "$@"; }
fetch_wget() {
	wrapped "$1" wget -q --no-passive-ftp --timeout=10 --tries=1 -O got \
		"ftp://$NETNS_SERVER_ADDR:$2/blob"
}
fetch_perl() {
	wrapped "$1" perl -MNet::FTP -e '
		my ($host, $port) = @ARGV;
		my $f = Net::FTP->new($host, Port => $port, Passive => 0, Timeout => 10)
			or die "connect: $@\n";
		$f->login("anonymous", "s4@") or die "login: ", $f->message;
		$f->binary;
		$f->get("blob", "got") or die "get: ", $f->message;
		$f->quit;' "$NETNS_SERVER_ADDR" "$2"
}
fetch_inetutils() {
	printf 'user anonymous s4@\nbinary\nget blob got\nquit\n' |
		wrapped "$1" inetutils-ftp -n -v "$NETNS_SERVER_ADDR" "$2"
}

lines() { wc -l <"$BATS_FILE_TMPDIR/$1.log"; }

# through CLIENT: fetch with CLIENT from both FTP servers through both
# SOCKS servers; every copy intact and every data connection a BIND.
through() {
	local client=$1 proxy ftpd before_ftpd before_proxy
	for proxy in socks4d sockd; do
		for ftpd in pyftpd vsftpd; do
			local pport fport
			pport=$(cat "$BATS_FILE_TMPDIR/$proxy.port")
			fport=$(cat "$BATS_FILE_TMPDIR/$ftpd.port")
			before_ftpd=$(lines "$ftpd")
			before_proxy=$(lines "$proxy")
			rm -f got
			run "fetch_$client" "$pport" "$fport"
			echo "# $client via $proxy from $ftpd: status $status"
			echo "$output"
			[ "$status" -eq 0 ]
			cmp got "$BATS_FILE_TMPDIR/pub/blob"
			# the FTP server was told the proxy's address
			tail -n +"$((before_ftpd + 1))" "$BATS_FILE_TMPDIR/$ftpd.log" |
				grep -E '(PORT 198,51,100,1,|EPRT \|1\|198\.51\.100\.1\|)'
			# and the proxy relayed a BIND for it
			if [ "$proxy" = socks4d ]; then
				tail -n +"$((before_proxy + 1))" "$BATS_FILE_TMPDIR/socks4d.log" |
					grep -E "BIND .*: inbound from $NETNS_SERVER_ADDR:[0-9]+: granted"
			else
				tail -n +"$((before_proxy + 1))" "$BATS_FILE_TMPDIR/sockd.log" |
					grep -E 'tcp/bindreply'
			fi
		done
	done
}

# Each passive_CLIENT PROXYPORT FTPPORT downloads blob into ./got in
# passive mode (PASV/EPSV); passive CLIENT FTPPORT does it through both
# proxies, every copy intact. One test per client, so that a client that
# cannot run with a sanitizer runtime preloaded skips alone.
passive_curl() {
	wrapped "$1" curl -sS --max-time 30 "ftp://$NETNS_SERVER_ADDR:$2/blob" -o got
}
passive_lftp() { lftp_get on "$@"; }
passive_python() { ftplib_get True "$@"; }
passive() {
	local client=$1 fport=$2 proxy pport
	for proxy in socks4d sockd; do
		pport=$(cat "$BATS_FILE_TMPDIR/$proxy.port")
		rm -f got
		run "passive_$client" "$pport" "$fport"
		echo "# $client via $proxy, passive: status $status"
		echo "$output"
		[ "$status" -eq 0 ]
		cmp got "$BATS_FILE_TMPDIR/pub/blob"
	done
}

# zeros CLIENT: CLIENT downloads through the socks4d that sends zeros in
# CONNECT replies, and still tells pyftpdlib the proxy's address. Python's
# ftplib, lftp and Net::FTP put getsockname() of the control connection in
# PORT; after the BIND it names the proxy's BIND address.
zeros() {
	local client=$1 before
	before=$(lines pyftpd)
	rm -f got
	run "fetch_$client" "$ZEROS_PORT" "$PYFTPD_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp got "$BATS_FILE_TMPDIR/pub/blob"
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/pyftpd.log" |
		grep -E '(PORT 198,51,100,1,|EPRT \|1\|198\.51\.100\.1\|)'
	grep -q "CONNECT .* granted" "$BATS_FILE_TMPDIR/zeros.log"
}

@test "the client cannot reach the server directly" {
	run in_client timeout 10 curl -sS --max-time 5 "ftp://$NETNS_SERVER_ADDR:$PYFTPD_PORT/blob" -o got
	[ "$status" -ne 0 ]
	run in_client "$S4_PY" -c "
import errno, socket, sys
s = socket.socket()
s.settimeout(5)
sys.exit(0 if s.connect_ex(('$NETNS_SERVER_ADDR', $PYFTPD_PORT)) == errno.ENETUNREACH else 1)"
	[ "$status" -eq 0 ]
}

@test "curl -P - (EPRT; binds the control address, reads the port before listen; polls before accept) downloads" {
	require_preloadable curl
	through curl
}

@test "tnftp -A (EPRT; port read before listen; non-blocking accept after a 60 s poll) downloads" {
	through tnftp
}

@test "lftp in active mode (an event loop; unbound listener; advertises the control address) downloads" {
	require_preloadable lftp
	through lftp
}

@test "Python ftplib, active, timeout 10 (timed connect; advertises the control address; poll + accept4) downloads" {
	through python
}

@test "wget --no-passive-ftp (port read before listen; select before accept) downloads" {
	require_preloadable wget
	through wget
}

@test "Perl Net::FTP, Passive => 0, Timeout => 10 (timed connect; advertises the control address; accept4) downloads" {
	through perl
}

@test "inetutils ftp (textbook BSD sequence, blocking accept) downloads in active mode" {
	through inetutils
}

@test "git clone git:// (git's own protocol) crosses the firewall through both proxies" {
	local proxy
	for proxy in socks4d sockd; do
		rm -rf clone
		run wrapped "$(cat "$BATS_FILE_TMPDIR/$proxy.port")" git clone -q \
			"git://$NETNS_SERVER_ADDR:$GITD_PORT/repo.git" clone
		echo "# via $proxy: status $status"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$(cat clone/README)" = "through the firewall by git" ]
	done
	# and without the shim it cannot
	run in_client timeout 20 git clone -q "git://$NETNS_SERVER_ADDR:$GITD_PORT/repo.git" direct
	[ "$status" -ne 0 ]
}

@test "passive mode works too: curl downloads with EPSV from vsftpd through both proxies" {
	require_preloadable curl
	passive curl "$VSFTPD_PORT"
}

@test "passive mode works too: lftp downloads with EPSV from pyftpdlib through both proxies" {
	require_preloadable lftp
	passive lftp "$PYFTPD_PORT"
}

@test "passive mode works too: Python ftplib downloads with PASV from both FTP servers through both proxies" {
	passive python "$VSFTPD_PORT"
	passive python "$PYFTPD_PORT"
}

@test "s4probe's socket patterns all get their call back through the firewall" {
	local p pport
	pport=$(cat "$BATS_FILE_TMPDIR/socks4d.port")
	for p in textbook name-first control-addr unbound timed-accept epoll epoll-et; do
		rm -f got
		run wrapped "$pport" "$S4_BUILD/s4probe" ftp "$NETNS_SERVER_ADDR" "$PYFTPD_PORT" blob -o got -p "$p"
		echo "$output"
		[ "$status" -eq 0 ]
		cmp got "$BATS_FILE_TMPDIR/pub/blob"
		[[ "$output" == *"listen: 198.51.100.1:"* ]]
	done
}

@test "with zeros in CONNECT replies, Python ftplib and Net::FTP, which advertise the control connection's address, still work" {
	zeros python
	zeros perl
}

@test "with zeros in CONNECT replies, lftp, which advertises the control connection's address, still works" {
	require_preloadable lftp
	zeros lftp
}

@test "with zeros in CONNECT replies, curl still works" {
	require_preloadable curl
	zeros curl
}

@test "getsockname() on the control connection: the proxy's outward address, or with zeros the real one" {
	run wrapped "$SOCKS4D_PORT" "$S4_BUILD/s4probe" connect "$NETNS_SERVER_ADDR" "$PYFTPD_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connect: ok peer=$NETNS_SERVER_ADDR:$PYFTPD_PORT name=198.51.100.1:"* ]]
	run wrapped "$ZEROS_PORT" "$S4_BUILD/s4probe" connect "$NETNS_SERVER_ADDR" "$PYFTPD_PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connect: ok peer=$NETNS_SERVER_ADDR:$PYFTPD_PORT name=192.0.2.2:"* ]]
}

@test "every s4probe pattern works through a server that sends zeros in CONNECT replies" {
	local p
	for p in textbook name-first control-addr unbound timed-accept epoll epoll-et; do
		rm -f got
		run wrapped "$ZEROS_PORT" "$S4_BUILD/s4probe" ftp "$NETNS_SERVER_ADDR" "$PYFTPD_PORT" blob -o got -p "$p" -E
		echo "$output"
		[ "$status" -eq 0 ]
		cmp got "$BATS_FILE_TMPDIR/pub/blob"
	done
}

# --- names the client cannot resolve (SOCKS 4A, issue 15) ----------------

# by_name PROXYPORT CMD...: CMD in the client namespace under socks4wrap
# with remote-dns on.
by_name() {
	SOCKS4_REMOTE_DNS=${NAMES_MODE:-on} wrapped "$@"
}

# py_get PROXYPORT HOST: Python fetches /hello.txt from HOST:HTTP_PORT
# under socks4wrap (remote-dns as by_name); prints the body, or the
# exception's class. Python runs under a sanitizer build; curl does not.
py_get() {
	by_name "$1" "$S4_PY" -c "
import socket, sys
try:
    s = socket.create_connection(('$2', $HTTP_PORT), timeout=10)
except OSError as e:
    print(type(e).__name__)
    sys.exit(1)
s.sendall(b'GET /hello.txt HTTP/1.0\\r\\n\\r\\n')
data = b''
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.split(b'\\r\\n\\r\\n', 1)[1].decode().strip())"
}

# each_4a_proxy FN: FN PROXYPORT LOG for socks4d and for ssh -D, the log
# being where the proxy names what it resolved.
each_4a_proxy() {
	local fn=$1
	"$fn" "$SOCKS4D_PORT" socks4d
	"$fn" "$SSHSOCKS_PORT" sshsocks-sshd
}

@test "the client namespace cannot resolve the server's name by itself" {
	run in_client getent ahostsv4 "$NAMES_SERVER_NAME"
	[ "$status" -ne 0 ]
	names_asked "$NAMES_SERVER_NAME"
}

curl_by_name() {
	: >"$NAMES_DNS_LOG"
	run by_name "$1" curl -sS --max-time 20 "http://$NAMES_SERVER_NAME:$HTTP_PORT/hello.txt"
	echo "# curl via $2: $output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello by name" ]
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "remote-dns on: curl fetches by name through socks4d and ssh -D, and local DNS is never asked" {
	require_preloadable curl
	each_4a_proxy curl_by_name
	# each server resolved the name itself
	grep -q "target $NAMES_SERVER_NAME port $HTTP_PORT" "$BATS_FILE_TMPDIR/sshsocks-sshd.log"
	grep "$NAMES_SERVER_NAME" "$BATS_FILE_TMPDIR/socks4d.log"
}

wget_by_name() {
	: >"$NAMES_DNS_LOG"
	rm -f got
	run by_name "$1" wget -q --timeout=10 --tries=1 -O got "http://$NAMES_SERVER_NAME:$HTTP_PORT/hello.txt"
	echo "# wget via $2: $output"
	[ "$status" -eq 0 ]
	[ "$(cat got)" = "hello by name" ]
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "remote-dns on: wget fetches by name through socks4d and ssh -D" {
	require_preloadable wget
	each_4a_proxy wget_by_name
}

python_by_name() {
	: >"$NAMES_DNS_LOG"
	run by_name "$1" "$S4_PY" -c "
import socket
s = socket.create_connection(('$NAMES_SERVER_NAME', $HTTP_PORT), timeout=10)
s.sendall(b'GET /hello.txt HTTP/1.0\\r\\n\\r\\n')
data = b''
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.split(b'\\r\\n\\r\\n', 1)[1].decode().strip())
print(s.getpeername()[0], socket.getnameinfo(s.getpeername(), 0)[0])"
	echo "# python via $2: $output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello by name" ]
	[ "${lines[1]}" = "240.0.0.1 $NAMES_SERVER_NAME" ]
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "remote-dns on: Python socket.create_connection by name through socks4d and ssh -D" {
	each_4a_proxy python_by_name
}

ssh_by_name() {
	: >"$NAMES_DNS_LOG"
	# shellcheck disable=SC2046 # one word per option
	run by_name "$1" ssh $(ssh_opts server-sshd) -p "$SERVER_SSHD_PORT" \
		"root@$NAMES_SERVER_NAME" 'echo "on $(hostname -I)"'
	echo "# ssh via $2: $output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tr -s ' ' | sed 's/ $//')" = "on $NETNS_SERVER_ADDR" ]
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "remote-dns on: ssh logs in by name through socks4d and ssh -D" {
	each_4a_proxy ssh_by_name
}

# ftp_by_name CLIENT PROXYPORT: an active-mode download from pyftpdlib by
# name; the data connection comes through a BIND that names the server.
ftp_by_name() {
	local before
	: >"$NAMES_DNS_LOG"
	before=$(lines pyftpd)
	rm -f got
	case $1 in
	curl) run by_name "$2" curl -sS --max-time 30 -P - "ftp://$NAMES_SERVER_NAME:$PYFTPD_PORT/blob" -o got ;;
	tnftp) run by_name "$2" tnftp -A -q 30 -o got "ftp://$NAMES_SERVER_NAME:$PYFTPD_PORT/blob" </dev/null ;;
	python) run by_name "$2" "$S4_PY" -c "
import ftplib
f = ftplib.FTP()
f.connect('$NAMES_SERVER_NAME', $PYFTPD_PORT, timeout=10)
f.login()
f.set_pasv(False)
with open('got', 'wb') as out:
    f.retrbinary('RETR blob', out.write)
f.quit()" ;;
	esac
	echo "# $1, active, by name: $output"
	[ "$status" -eq 0 ]
	cmp got "$BATS_FILE_TMPDIR/pub/blob"
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/pyftpd.log" |
		grep -E '(PORT 198,51,100,1,|EPRT \|1\|198\.51\.100\.1\|)'
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "remote-dns on: active-mode FTP by name through socks4d, Python ftplib (advertises the control address)" {
	local before
	before=$(lines socks4d)
	ftp_by_name python "$SOCKS4D_PORT"
	# the BIND named the application server: a 4A BIND
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/socks4d.log" | grep -E "BIND $NAMES_SERVER_NAME:"
}

@test "remote-dns on: active-mode FTP by name through socks4d, tnftp -A (reads the port before listen, binds the control address)" {
	local before
	before=$(lines socks4d)
	ftp_by_name tnftp "$SOCKS4D_PORT"
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/socks4d.log" | grep -E "BIND $NAMES_SERVER_NAME:"
}

@test "remote-dns on: active-mode FTP by name through socks4d, curl -P - (binds the control address)" {
	local before
	require_preloadable curl
	before=$(lines socks4d)
	ftp_by_name curl "$SOCKS4D_PORT"
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/socks4d.log" | grep -E "BIND $NAMES_SERVER_NAME:"
}

@test "remote-dns on: curl -P - by name through a 4A server that echoes the destination in its CONNECT reply" {
	# the reply names the FTP server's own address; reported as the
	# control connection's name, curl's EPRT would name the server itself
	require_preloadable curl
	ftp_by_name curl "$ECHOES_PORT"
	grep -E "CONNECT $NAMES_SERVER_NAME:$PYFTPD_PORT at .*granted" "$BATS_FILE_TMPDIR/echoes.log"
}

@test "ssh -D has no BIND: by name, passive FTP works and active mode fails with a clear line" {
	: >"$NAMES_DNS_LOG"
	rm -f got
	run by_name "$SSHSOCKS_PORT" "$S4_PY" -c "
import ftplib, sys
f = ftplib.FTP()
f.connect('$NAMES_SERVER_NAME', $PYFTPD_PORT, timeout=10)
f.login()
f.set_pasv(sys.argv[1] == 'passive')
with open('got', 'wb') as out:
    f.retrbinary('RETR blob', out.write)" passive
	echo "$output"
	[ "$status" -eq 0 ]
	cmp got "$BATS_FILE_TMPDIR/pub/blob"
	run by_name "$SSHSOCKS_PORT" "$S4_PY" -c "
import ftplib
f = ftplib.FTP()
f.connect('$NAMES_SERVER_NAME', $PYFTPD_PORT, timeout=10)
f.login()
f.set_pasv(False)
f.retrbinary('RETR blob', lambda b: None)"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"BIND $NAMES_SERVER_NAME:$PYFTPD_PORT via $NETNS_PROXY_IN:$SSHSOCKS_PORT: "* ]]
	names_never_asked "$NAMES_SERVER_NAME"
}

@test "local-first: a name the inside resolver knows goes by address, one it does not by 4A" {
	local before
	before=$(lines socks4d)
	: >"$NAMES_DNS_LOG"
	NAMES_MODE=local-first run py_get "$SOCKS4D_PORT" inside.example
	echo "$output"
	[ "$output" = "hello by name" ]
	NAMES_MODE=local-first run py_get "$SOCKS4D_PORT" "$NAMES_SERVER_NAME"
	echo "$output"
	[ "$output" = "hello by name" ]
	names_asked inside.example
	names_asked "$NAMES_SERVER_NAME"
	# inside.example reached the proxy as an address, never as a name;
	# files.example as a name
	tail -n +"$((before + 1))" "$BATS_FILE_TMPDIR/socks4d.log" >new.log
	cat new.log
	run -1 grep -q inside.example new.log
	grep -q "CONNECT $NETNS_SERVER_ADDR:$HTTP_PORT" new.log
	grep -q "$NAMES_SERVER_NAME" new.log
}

@test "a fake address no lookup gave out fails closed with EHOSTUNREACH" {
	run by_name "$SOCKS4D_PORT" "$S4_PY" -c "
import errno, socket
s = socket.socket()
print(s.connect_ex(('240.0.0.77', $HTTP_PORT)) == errno.EHOSTUNREACH)"
	echo "$output"
	has_line True
	[[ "$output" == *"CONNECT 240.0.0.77:$HTTP_PORT: a fake address no lookup of this process gave out (remote-dns on): EHOSTUNREACH"* ]]
	NAMES_MODE=off run py_get "$SOCKS4D_PORT" 240.0.0.1
	[ "$status" -ne 0 ]
	has_line OSError
	[[ "$output" == *"(remote-dns off): EHOSTUNREACH"* ]]
}

@test "a deny rule for a name fails its connect() with EACCES and names the rule" {
	printf 'deny %s\n' "$NAMES_SERVER_NAME" >rc
	SOCKS4_CONF=$PWD/rc run py_get "$SOCKS4D_PORT" "$NAMES_SERVER_NAME"
	echo "$output"
	[ "$status" -ne 0 ]
	has_line PermissionError
	[[ "$output" == *"CONNECT $NAMES_SERVER_NAME:$HTTP_PORT: denied by rule deny $NAMES_SERVER_NAME, $PWD/rc:1 (EACCES)"* ]]
}

@test "a socks4d that refuses 4A (-N): the connect() fails with ECONNREFUSED and says what may be wrong" {
	run by_name "$NO4A_PORT" "$S4_PY" -c "
import errno, socket
try:
    socket.create_connection(('$NAMES_SERVER_NAME', $HTTP_PORT), timeout=10)
except ConnectionRefusedError:
    print('refused')"
	echo "$output"
	has_line refused
	[[ "$output" == *"CONNECT $NAMES_SERVER_NAME:$HTTP_PORT via $NETNS_PROXY_IN:$NO4A_PORT: rejected (91, request rejected or failed)"* ]]
	[[ "$output" == *"could not resolve the name, or does not speak SOCKS4A"* ]]
}

@test "a name the proxy cannot resolve is refused (91) by socks4d" {
	run py_get "$SOCKS4D_PORT" nowhere.example
	echo "$output"
	[ "$status" -ne 0 ]
	has_line ConnectionRefusedError
	[[ "$output" == *"CONNECT nowhere.example:$HTTP_PORT via $NETNS_PROXY_IN:$SOCKS4D_PORT: rejected (91"* ]]
	names_never_asked nowhere.example
}

@test "Dante's sockd does not speak 4A: a name fails with ECONNREFUSED and a line that says why" {
	run py_get "$SOCKD_PORT" "$NAMES_SERVER_NAME"
	echo "$output"
	[ "$status" -ne 0 ]
	has_line ConnectionRefusedError
	[[ "$output" == *"CONNECT $NAMES_SERVER_NAME:$HTTP_PORT via $NETNS_PROXY_IN:$SOCKD_PORT: rejected (91, request rejected or failed)"* ]]
	[[ "$output" == *"could not resolve the name, or does not speak SOCKS4A"* ]]
}
