#!/usr/bin/env bats
# eventloop.bats - CONNECT and BIND under event loops: epoll level and
# edge triggered (s4loop), Python's asyncio and Node.js, with many
# connections in flight in one thread.
#
# modes: preload syscall syscall32

load helpers/common
load helpers/servers
load helpers/ftp

setup_file() {
	start_echo echo
	start_callback cb
	start_socks4d socks4d
	# 300 ms between a request and its reply, as for a distant destination
	start_socks4d slow -M delay=300
	start_sockd sockd
}

teardown_file() {
	s4_stop_all
}

# The supervisor answers a non-blocking connect() once its exchange is
# done, so one thread's connects to a slow proxy take turns.
ONE_AT_A_TIME="a non-blocking connect returns once its exchange is done: one thread's handshakes take turns"

# loop_ms: the "connected in T ms" figure of s4loop's output.
loop_ms() {
	sed -n 's/^loop: [0-9]* connected in \([0-9]*\) ms.*/\1/p' <<<"$output"
}

# granted NAME: CONNECTs to the echo server socks4d NAME has granted.
granted() {
	s4_count "$1" "CONNECT 127\.0\.0\.1:$ECHO_PORT from .*: granted"
}

@test "20 connections in flight in one epoll loop wait about one handshake, not twenty" {
	skip_in_mode syscall "$ONE_AT_A_TIME"
	local before
	before=$(granted slow)
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4loop)" 127.0.0.1 "$ECHO_PORT" 20
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loop: 20 connected"* ]]
	# one after another would take 20 x 300 ms = 6 s; side by side about 0.3 s
	[ "$(loop_ms)" -lt 3000 ]
	[ "$(granted slow)" -eq $((before + 20)) ]
}

@test "the same with an edge-triggered epoll loop" {
	skip_in_mode syscall "$ONE_AT_A_TIME"
	local before
	before=$(granted slow)
	run s4_wrap "$SLOW_PORT" "$(s4_tool s4loop)" 127.0.0.1 "$ECHO_PORT" 20 -e
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loop: 20 connected"* ]]
	[ "$(loop_ms)" -lt 3000 ]
	[ "$(granted slow)" -eq $((before + 20)) ]
}

@test "200 connections in flight in one loop through socks4d and through Dante" {
	local before dante
	before=$(granted socks4d)
	dante=$(s4_count sockd "tcp/connect \\[: .* 127\\.0\\.0\\.1\\.$ECHO_PORT\$")
	run s4_wrap "$SOCKS4D_PORT" "$(s4_tool s4loop)" 127.0.0.1 "$ECHO_PORT" 200
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loop: 200 connected"* ]]
	[ "$(granted socks4d)" -eq $((before + 200)) ]
	run s4_wrap "$SOCKD_PORT" "$(s4_tool s4loop)" 127.0.0.1 "$ECHO_PORT" 200 -e
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loop: 200 connected"* ]]
	s4_wait_more sockd "tcp/connect \\[: .* 127\\.0\\.0\\.1\\.$ECHO_PORT\$" $((dante + 199)) 5
}

@test "Python asyncio open_connection round trips 50 connections at once" {
	run s4_wrap "$SOCKS4D_PORT" "$S4_PY" -c "
import asyncio
async def one(i):
    r, w = await asyncio.wait_for(asyncio.open_connection('127.0.0.1', $ECHO_PORT), 10)
    w.write(b'asyncio %d\n' % i)
    await w.drain()
    line = await asyncio.wait_for(r.readline(), 10)
    w.close()
    await w.wait_closed()
    return line == b'asyncio %d\n' % i
async def main():
    ok = await asyncio.gather(*(one(i) for i in range(50)))
    print('asyncio ok', sum(ok))
asyncio.run(main())"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"asyncio ok 50"* ]]
	[ "$(grep -c "CONNECT 127.0.0.1:$ECHO_PORT from .*: granted" "$BATS_FILE_TMPDIR/socks4d.log")" -ge 50 ]
}

@test "Python asyncio reports a refused CONNECT as ConnectionRefusedError" {
	start_socks4d refuse -M reply=91
	run s4_wrap "$REFUSE_PORT" "$S4_PY" -c "
import asyncio
async def main():
    try:
        await asyncio.wait_for(asyncio.open_connection('127.0.0.1', $ECHO_PORT), 10)
    except ConnectionRefusedError as e:
        print('refused', e.errno)
asyncio.run(main())"
	[ "$status" -eq 0 ]
	[[ "$output" == *"refused 111"* ]]
}

@test "Python asyncio accepts the call back of a BIND on a listener it awaits" {
	run s4_wrap "$SOCKS4D_PORT" "$S4_PY" -c "
import asyncio, socket
async def main():
    loop = asyncio.get_running_loop()
    r, w = await asyncio.open_connection('127.0.0.1', $CB_PORT)
    l = socket.socket()
    l.bind(('', 0))
    l.listen(1)
    l.setblocking(False)
    host, port = l.getsockname()
    w.write(b'CALL %s %d\n' % (host.encode(), port))
    conn, peer = await asyncio.wait_for(loop.sock_accept(l), 10)
    l.close()
    conn.setblocking(True)
    print('greeting', conn.makefile('rb').readline().strip().decode())
    conn.sendall(b'pong\n')
    print('server', (await r.readline()).strip().decode())
asyncio.run(main())"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"greeting hello from the application server"* ]]
	[[ "$output" == *"server GOT pong"* ]]
	grep -q "BIND .*: inbound from 127.0.0.1:[0-9]*: granted" "$BATS_FILE_TMPDIR/socks4d.log"
}

@test "a BIND listener in 20 epoll sets is quiet in every one of them after its accept" {
	# epoll keys a registration by descriptor and open socket: each set's
	# must move to the quiet listener left behind, however many there are
	run s4_wrap "$SOCKS4D_PORT" "$S4_PY" -c "
import select, socket
c = socket.create_connection(('127.0.0.1', $CB_PORT))
l = socket.socket()
l.bind(('', 0))
l.listen(1)
eps = [select.epoll() for _ in range(20)]
for e in eps:
    e.register(l.fileno(), select.EPOLLIN)
host, port = l.getsockname()
c.sendall(b'CALL %s %d\n' % (host.encode(), port))
print('first wakes', len(eps[0].poll(10)))
conn, peer = l.accept()
select.select([conn], [], [], 10)
print('woken after accept', [i for i, e in enumerate(eps) if e.poll(0.1)])
print('greeting', conn.makefile('rb').readline().strip().decode())
conn.sendall(b'pong\n')
print('server', c.makefile('rb').readline().strip().decode())"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first wakes 1"* ]]
	[[ "$output" == *"woken after accept []"* ]]
	[[ "$output" == *"greeting hello from the application server"* ]]
	[[ "$output" == *"server GOT pong"* ]]
}

@test "a CONNECT finished through the 7th copy of a dup chain is finished for the first" {
	# one socket, one record, whichever of its numbers moves the exchange
	run s4_wrap "$SOCKS4D_PORT" "$S4_PY" -c "
import os, select, socket
s = socket.socket()
s.setblocking(False)
try:
    s.connect(('127.0.0.1', $ECHO_PORT))
except BlockingIOError:
    pass
fds = [s.fileno()]
for _ in range(7):
    fds.append(os.dup(fds[-1]))
select.select([], [fds[-1]], [], 10)
last = socket.socket(fileno=os.dup(fds[-1]))
print('so_error', last.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
os.write(fds[1], b'ping\n')
select.select([fds[1]], [], [], 10)
print('echo', os.read(fds[1], 64).decode().strip())"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"so_error 0"* ]]
	[[ "$output" == *"echo ping"* ]]
}

@test "Node.js net.connect round trips 50 connections at once" {
	require_cmd node nodejs
	run s4_wrap "$SOCKS4D_PORT" node -e "
const net = require('net');
let ok = 0, left = 50;
for (let i = 0; i < 50; i++) {
  const s = net.connect($ECHO_PORT, '127.0.0.1', () => s.write('node ' + i + '\n'));
  let got = '';
  s.setTimeout(10000, () => { console.log('timeout', i); process.exit(1); });
  s.on('data', d => { got += d; if (got === 'node ' + i + '\n') { ok++; s.end(); } });
  s.on('close', () => { if (--left === 0) console.log('node ok', ok); });
  s.on('error', e => { console.log('error', i, e.code); });
}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"node ok 50"* ]]
}

@test "Node.js sees a refused CONNECT as ECONNREFUSED" {
	require_cmd node nodejs
	start_socks4d refuse2 -M reply=91
	run s4_wrap "$REFUSE2_PORT" node -e "
const s = require('net').connect($ECHO_PORT, '127.0.0.1');
s.on('error', e => console.log('error', e.code));
s.on('connect', () => console.log('connected?!'));"
	[ "$status" -eq 0 ]
	[[ "$output" == *"error ECONNREFUSED"* ]]
}

@test "1,000 connections held open at once through socks4d all relay their data" {
	run s4_wrap "$SOCKS4D_PORT" "$(s4_tool s4loop)" 127.0.0.1 "$ECHO_PORT" 1000
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"loop: 1000 connected"* ]]
	# socks4d refused nobody and is still serving
	run -1 grep -q "refused (too many clients" "$BATS_FILE_TMPDIR/socks4d.log"
	kill -0 "$(s4_pid socks4d)"
}
