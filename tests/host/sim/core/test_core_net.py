"""Real loopback networking behind emulated sockets (`mktools.sim.core.net`)."""

import socket

import pytest

from harness import drive
from mktools.sim.core import net as netmod
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net, NetError


class Recorder:
    """Collects net callbacks with their (fake) times."""

    def __init__(self, loop):
        self.loop = loop
        self.calls = []
        self.data = bytearray()
        self.conns = []

    def _add(self, name, *args):
        self.calls.append((name, round(self.loop.now(), 3)) + args)

    def on_connect(self, c):
        self._add('connect')

    def on_error(self, c, why):
        self._add('error', why)

    def on_data(self, c, data):
        self.data += data

    def on_close(self, c, reset):
        self._add('close', reset)

    def on_accept(self, listener, c):
        self.conns.append(c)
        self._add('accept')

    def on_datagram(self, u, data, addr):
        self._add('datagram', data, addr)

    def names(self):
        return [call[0] for call in self.calls]


@pytest.fixture
def env():
    loop = Loop(fake=True)
    net = Net(loop, hosts={'broker.test': '127.0.0.1', 'evil.test': '10.0.0.1'})
    rec = Recorder(loop)
    yield loop, net, rec
    net.close_all()
    loop.close()


def run(loop, condition, timeout_s=5.0):
    assert drive(loop, loop.now() + timeout_s, condition), 'timed out'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_tcp_echo_round_trip_and_fin(env, tcp_echo_server):
    loop, net, rec = env
    c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, rec)
    run(loop, lambda: 'connect' in rec.names())
    assert c.local[0] == '127.0.0.1' and c.remote == tcp_echo_server.address
    assert c.send(b'hello') == 5
    run(loop, lambda: rec.data == b'hello')
    assert c.bytes_sent == 5 and c.bytes_received == 5
    c.close()
    run(loop, lambda: tcp_echo_server.connections() == 0)
    assert c.closed and net.open == set()


def test_name_map_and_dns_failures(env, tcp_echo_server):
    loop, net, rec = env
    assert net.resolve('broker.test') == '127.0.0.1'
    assert net.resolve('BROKER.test') == '127.0.0.1'
    assert net.resolve('localhost') == '127.0.0.1'
    with pytest.raises(NetError) as err:
        net.resolve('unknown.test')
    assert err.value.why == 'dns'
    net.dns_fail = True
    with pytest.raises(NetError):
        net.resolve('broker.test')
    net.tcp_connect('broker.test', tcp_echo_server.port, rec)
    run(loop, lambda: rec.calls)
    assert rec.calls == [('error', 0.0, 'dns')]


def test_non_loopback_is_refused_and_logged(env):
    loop, net, rec = env
    c = net.tcp_connect('10.1.2.3', 80, rec)
    net.tcp_connect('evil.test', 80, rec)
    run(loop, lambda: len(rec.calls) == 2)
    assert rec.names() == ['error', 'error']
    assert {call[2] for call in rec.calls} == {'unreachable'}
    assert c.sock is None                               # nothing was ever dialled
    assert [e['ip'] for e in net.events if e['event'] == 'blocked'] == ['10.1.2.3', '10.0.0.1']
    u = net.udp_open(0, rec)
    assert u.sendto(b'x', ('192.168.1.1', 53)) == 0
    assert net.events[-1]['event'] == 'blocked'


def test_connection_refused(env):
    loop, net, rec = env
    net.tcp_connect('127.0.0.1', free_port(), rec)
    run(loop, lambda: rec.calls)
    assert rec.calls[0][0::2] == ('error', 'refused')


def test_latency_delays_connect_and_data(tcp_echo_server):
    loop = Loop(fake=True)
    net = Net(loop, latency_s=0.5)
    rec = Recorder(loop)
    try:
        c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, rec)
        run(loop, lambda: rec.calls)
        assert rec.calls[0][:2] == ('connect', 0.5)
        start = loop.now()
        c.send(b'ping')
        run(loop, lambda: rec.data == b'ping')
        assert loop.now() - start >= 1.0                 # out and back, 0.5 s each way
    finally:
        net.close_all()
        loop.close()


def test_send_buffer_is_bounded(tcp_echo_server):
    loop = Loop(fake=True)
    net = Net(loop, latency_s=0.1)                      # data waits 0.1 s before the kernel
    try:
        c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, Recorder(loop))
        run(loop, lambda: c.connected)
        assert c.send(b'x' * (netmod.SEND_BUFFER + 100)) == netmod.SEND_BUFFER
        assert c.send(b'y') == 0
        assert c.buffered() == netmod.SEND_BUFFER
        run(loop, lambda: c.buffered() == 0)
        assert c.send(b'z') == 1
    finally:
        net.close_all()
        loop.close()


def test_pause_stops_delivery_until_resume(env, tcp_echo_server):
    loop, net, rec = env
    c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, rec)
    run(loop, lambda: c.connected)
    c.pause()
    c.send(b'abc')
    run(loop, lambda: len(tcp_echo_server.received) == 3)
    drive(loop, loop.now() + 0.2)
    assert rec.data == b''
    c.resume()
    run(loop, lambda: rec.data == b'abc')


@pytest.mark.parametrize('reset', [False, True])
def test_peer_close_and_reset(env, tcp_echo_server, reset):
    loop, net, rec = env
    c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, rec)
    run(loop, lambda: c.connected)
    run(loop, lambda: tcp_echo_server.connections() == 1)
    tcp_echo_server.drop_all(reset=reset)
    run(loop, lambda: 'close' in rec.names())
    assert rec.calls[-1][2] is reset
    assert c.closed


def test_abort_sends_rst(env):
    loop, net, rec = env
    with socket.create_server(('127.0.0.1', 0)) as server:
        c = net.tcp_connect('127.0.0.1', server.getsockname()[1], rec)
        run(loop, lambda: c.connected)
        peer, _ = server.accept()
        with peer:
            c.abort()
            peer.settimeout(2.0)
            with pytest.raises(ConnectionResetError):
                peer.recv(10)


def test_close_flushes_what_was_accepted(env, tcp_echo_server):
    loop, net, rec = env
    c = net.tcp_connect('127.0.0.1', tcp_echo_server.port, rec)
    run(loop, lambda: c.connected)
    c.send(b'last words')
    c.close()
    run(loop, lambda: tcp_echo_server.received == b'last words')
    run(loop, lambda: c.closed)


def test_listen_accepts_a_client(env):
    loop, net, rec = env
    listener = net.tcp_listen(0, rec)
    with socket.create_connection(('127.0.0.1', listener.port), timeout=2.0) as client:
        run(loop, lambda: rec.conns)
        client.sendall(b'up')
        run(loop, lambda: rec.data == b'up')
        rec.conns[0].send(b'down')
        assert client.recv(10) == b'down'
    run(loop, lambda: 'close' in rec.names())
    listener.close()


def test_listen_on_a_busy_port_fails(env):
    loop, net, rec = env
    busy = net.tcp_listen(0, rec)
    with pytest.raises(NetError) as err:
        net.tcp_listen(busy.port, rec)
    assert err.value.why == 'in use'


def test_udp_echo(env, udp_echo_server):
    loop, net, rec = env
    u = net.udp_open(0, rec)
    assert u.sendto(b'dgram', ('127.0.0.1', udp_echo_server.port)) == 5
    run(loop, lambda: rec.calls)
    assert rec.calls[0][2:] == (b'dgram', udp_echo_server.address)
    u.close()
    assert u not in net.open
