"""The Quectel driver against the emulated module (in-process, fake clock)."""
import os

import pytest

from modemkit.sched import Return
from modemkit.sock import UDP, NetDown, TimedOut, Unsupported, Refused, Closed

from conftest import SERVED_QNTP
from rig import Rig


def ready(rig):
    yield rig.drv.wait_ready(60000)


def test_lifecycle_states_are_logged():
    rig = Rig('quectel')
    rig.run(ready(rig))
    assert rig.transitions() == [
        'modem: off -> power (start)', 'modem: power -> sync (no power control)',
        'modem: sync -> config (answering)', 'modem: config -> sim (context 1 configured)',
        'modem: sim -> register (sim ready)', 'modem: register -> attach (registered)',
        'modem: attach -> ready (ip %s)' % rig.drv.ip]


def test_tcp_echo_100k(tcp_echo_server):
    rig = Rig('quectel')
    data = os.urandom(100 * 1024)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        sender = rig.sched.spawn(s.send(data, 30000))
        got = bytearray()
        buf = bytearray(700)
        while len(got) < len(data):
            n = yield s.recv_into(buf, 30000)
            assert n, 'unexpected end of stream'
            got.extend(buf[:n])
        yield sender.join()
        yield s.close()
        raise Return(bytes(got))

    assert rig.run(main()) == data


def test_back_pressure_holds_data_in_module(tcp_echo_server):
    rig = Rig('quectel', board={'rx_size': 512})
    data = os.urandom(8000)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(data, 30000)
        yield rig.sched.sleep_ms(2000)        # nobody reads: the socket fills, then stops
        buffered = s.available()
        sim_held = rig.sim.sockets[s.id].unread()
        got = bytearray()
        buf = bytearray(256)
        while len(got) < len(data):
            n = yield s.recv_into(buf, 10000)
            got.extend(buf[:n])
        raise Return((buffered, sim_held, bytes(got), s.dropped))

    buffered, sim_held, got, dropped = rig.run(main())
    assert buffered == 512 and sim_held == len(data) - 512, (buffered, sim_held)
    assert got == data and dropped == 0


def test_udp_exchange(udp_echo_server):
    rig = Rig('quectel')

    def main():
        yield ready(rig)
        s = yield rig.drv.open('127.0.0.1', udp_echo_server.port, kind=UDP)
        replies = []
        buf = bytearray(256)
        for i in range(3):
            msg = b'datagram %d' % i
            yield s.send(msg)
            n = yield s.recv_into(buf, 5000)
            replies.append(bytes(buf[:n]))
        yield s.close()
        raise Return(replies)

    assert rig.run(main()) == [b'datagram 0', b'datagram 1', b'datagram 2']


def test_listener_accepts_loopback_client():
    import socket
    rig = Rig('quectel')
    port = _free_port()

    def main():
        yield ready(rig)
        lst = yield rig.drv.listen(port)
        client = socket.create_connection(('127.0.0.1', port), timeout=5)
        client.sendall(b'hello module')
        conn = yield lst.accept(10000)
        buf = bytearray(64)
        n = yield conn.recv_into(buf, 10000)
        yield conn.send(b'hello client')
        reply = client.recv(64)
        client.close()
        yield conn.close()
        yield lst.close()
        raise Return((bytes(buf[:n]), reply, conn.addr[0]))

    assert rig.run(main()) == (b'hello module', b'hello client', '127.0.0.1')


def test_dns_ping_ntp(sntp_server):
    rig = Rig('quectel')

    def main():
        yield ready(rig)
        ip = yield rig.drv.resolve('echo.test')
        stats = yield rig.drv.ping('echo.test', count=3)
        when = yield rig.drv.ntp('time.test', sntp_server.port)
        raise Return((ip, stats, when))

    ip, stats, when = rig.run(main())
    assert ip == '127.0.0.1'
    assert stats[:3] == (3, 3, 0)
    assert when == SERVED_QNTP, when                 # the server's time, QL §2.1.12's format
    assert sntp_server.requests == 1


def test_open_refused_is_typed():
    rig = Rig('quectel')

    def main():
        yield ready(rig)
        try:
            yield rig.drv.open('127.0.0.1', _free_port(), timeout_ms=20000)
        except Refused as e:
            raise Return(e.errno)

    assert rig.run(main()) == 111


def test_capabilities_fail_at_once():
    rig = Rig('quectel')
    with pytest.raises(Unsupported):
        rig.drv.need('fax')


def _free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_sockets_left_by_an_earlier_run_are_closed(tcp_echo_server):
    # the MCU restarts, the module keeps connectID 0 open: a new driver must still open it
    from modemkit.quectel import Quectel
    rig = Rig('quectel')

    def first():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        raise Return(s.id)

    assert rig.run(first()) == 0
    rig.sched = type(rig.sched)(rig.clock)       # a new program; the old one is gone
    rig.drv = Quectel(rig.sched, rig.uart, {'apn': 'internet'}, log=rig.logs.append)
    rig.drv.start()

    def second():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(b'again', 5000)
        buf = bytearray(16)
        n = yield s.recv_into(buf, 5000)
        raise Return((s.id, bytes(buf[:n])))

    assert rig.run(second()) == (0, b'again')
