"""The Telit IP Easy driver against the emulated module (in-process, fake clock)."""
import io
import os
import socket

import pytest

from modemkit.modem import READY
from modemkit.sched import Return
from modemkit.sock import UDP, NetDown, Refused, Unsupported

from rig import Rig


def ready(rig):
    yield rig.drv.wait_ready(60000)


def _free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize('variant,platform', [('he910', 12), ('le910c1', 25), ('me910c1', 30)])
def test_lifecycle_states_are_logged(variant, platform):
    rig = Rig('telit', sim={'variant': variant})
    rig.run(ready(rig))
    assert rig.transitions() == [
        'modem: off -> power (start)', 'modem: power -> sync (no power control)',
        'modem: sync -> config (answering)',
        'modem: config -> sim (platform %d, context 1)' % platform,
        'modem: sim -> register (sim ready)', 'modem: register -> attach (registered)',
        'modem: attach -> ready (ip %s)' % rig.drv.ip]
    sim = rig.sim
    # 2G/3G: every socket bound to the cid before #SGACT (§4.2.5); SRING in Data amount mode
    assert all(sim.nvm['scfg'][i][0] == 1 and sim.nvm['scfg'][i][2] == 0 for i in range(1, 7))
    assert all(sim.nvm['scfgext'][i][0] == 1 for i in range(1, 7))
    assert sim.interface_ip(1) == rig.drv.ip


@pytest.mark.parametrize('variant,command', [
    ('he910', b'AT#SGACTAUTH=1'),                           # §4.2.4 (user, password on #SGACT)
    ('le910c1', b'AT#PDPAUTH=1,1,"user","secret"'),         # §5.9.1
    ('me910c1', b'AT+CGAUTH=1,1,"user","secret"')])         # §5.9.2
def test_authentication_follows_the_platform(variant, command):
    # Only what the driver sends is checked: the emulator has none of the three commands yet.
    rig = Rig('telit', board={'user': 'user', 'password': 'secret'}, sim={'variant': variant})
    trace = io.StringIO()
    rig.fe.wire.trace = trace

    def main():
        yield rig.sched.sleep_ms(3000)

    rig.run(main())
    assert '> %r' % command in trace.getvalue()


def test_platform_from_board_config_skips_cgmr():
    rig = Rig('telit', board={'platform': 12})
    trace = io.StringIO()
    rig.fe.wire.trace = trace
    rig.run(ready(rig))
    assert rig.drv.plat == 12
    assert 'AT+CGMR' not in trace.getvalue() and 'AT#SGACT=1,1' in trace.getvalue()


@pytest.mark.parametrize('variant', ['he910', 'le910c1', 'me910c1'])
def test_tcp_echo_100k(variant, tcp_echo_server):
    rig = Rig('telit', sim={'variant': variant})
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
    rig = Rig('telit', board={'rx_size': 512})
    data = os.urandom(8000)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(data, 30000)
        yield rig.sched.sleep_ms(2000)        # nobody reads: the socket fills, then stops
        buffered = s.available()
        sim_held = rig.sim.socket(s.id).rx_len
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
    rig = Rig('telit')

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


def test_udp_service_answers_its_first_sender():
    rig = Rig('telit')
    port = _free_port(socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(('127.0.0.1', 0))
    client.settimeout(5)
    me = client.getsockname()

    def main():
        yield ready(rig)
        s = yield rig.drv.udp_service(port)
        client.sendto(b'hello service', ('127.0.0.1', port))
        buf = bytearray(64)
        n = yield s.recv_into(buf, 10000)
        yield s.sendto(b'hello sender', s.addr)
        try:
            yield s.sendto(b'elsewhere', ('127.0.0.1', 9))
            other = 'sent'
        except Unsupported:
            other = 'Unsupported'
        yield s.close()
        raise Return((bytes(buf[:n]), s.addr, other))

    try:
        got, addr, other = rig.run(main())
        reply = client.recv(64)
    finally:
        client.close()
    assert got == b'hello service' and addr == me
    assert reply == b'hello sender' and other == 'Unsupported'


def test_listener_accepts_loopback_client_then_listens_again():
    rig = Rig('telit')
    port = _free_port()

    def session(lst, text):
        client = socket.create_connection(('127.0.0.1', port), timeout=5)
        client.sendall(text)
        conn = yield lst.accept(10000)
        buf = bytearray(64)
        n = yield conn.recv_into(buf, 10000)
        yield conn.send(b'hello client')
        reply = client.recv(64)
        client.close()
        end = yield conn.recv_into(buf, 20000)        # NO CARRIER, #SS: the client is gone
        yield conn.close()
        raise Return((bytes(buf[:n]), reply, conn.addr[0], end))

    def main():
        yield ready(rig)
        lst = yield rig.drv.listen(port)
        first = yield session(lst, b'hello module')
        second = yield session(lst, b'hello again')     # the connId listens again (§7)
        yield lst.close()
        raise Return((first, second, rig.sim.socket(lst.id).ss_state()))

    first, second, after = rig.run(main())
    assert first == (b'hello module', b'hello client', '127.0.0.1', 0)
    assert second == (b'hello again', b'hello client', '127.0.0.1', 0)
    assert after == 0


def test_context_loss_fails_the_connection_and_its_listener():
    rig = Rig('telit')
    port = _free_port()

    def main():
        yield ready(rig)
        lst = yield rig.drv.listen(port)
        client = socket.create_connection(('127.0.0.1', port), timeout=5)
        conn = yield lst.accept(10000)
        rig.sim.pdp_deactivate(1)
        outcome = []
        for op in (conn.recv_into(bytearray(8), 20000), lst.accept(20000)):
            try:
                yield op
            except NetDown:
                outcome.append('NetDown')
        client.close()
        raise Return(outcome)

    assert rig.run(main()) == ['NetDown', 'NetDown']


def test_peer_close_gives_end_of_stream_after_the_data(tcp_echo_server):
    rig = Rig('telit')

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(b'last words')
        yield rig.sched.sleep_ms(500)
        tcp_echo_server.drop_all()
        got = bytearray()
        buf = bytearray(64)
        while True:
            n = yield s.recv_into(buf, 20000)
            if not n:
                break
            got.extend(buf[:n])
        yield s.close()
        raise Return(bytes(got))

    assert rig.run(main()) == b'last words'


def test_context_loss_without_sockets_is_found_by_polling():
    # no URC reports it (§4.2.2 leaves the #SGACTCFG URC format to the AT reference): #SGACT?
    rig = Rig('telit')

    def main():
        yield ready(rig)
        t0 = rig.clock.now
        rig.sim.pdp_deactivate(1)
        while rig.drv.state == READY:
            yield rig.sched.sleep_ms(100)
        took = rig.clock.now - t0
        yield rig.drv.wait_ready(30000)
        raise Return(took)

    took = rig.run(main())
    assert took <= rig.drv.POLL_MS + 2000, took
    assert rig.transitions()[-2:] == ['modem: ready -> attach (PDP context deactivated)',
                                      'modem: attach -> ready (ip %s)' % rig.drv.ip]


def test_registration_loss_keeps_a_context_that_stayed_up():
    rig = Rig('telit')

    def main():
        yield ready(rig)
        first = rig.drv.ip
        rig.sim.set_registration(0)
        yield rig.sched.sleep_ms(3000)
        lost = rig.drv.state
        rig.sim.set_registration(1)
        yield rig.drv.wait_ready(30000)
        raise Return((first, lost))

    first, lost = rig.run(main())
    assert lost == 5 and rig.drv.ip == first       # register; #CGPADDR gave the same address
    assert rig.transitions()[-3:] == [
        'modem: ready -> register (registration lost)', 'modem: register -> attach (registered)',
        'modem: attach -> ready (ip %s)' % first]


def test_ping():
    rig = Rig('telit')

    def main():
        yield ready(rig)
        stats = yield rig.drv.ping('echo.test', count=3)
        raise Return(stats)

    stats = rig.run(main())
    assert stats[:3] == (3, 3, 0) and stats[3] <= stats[5] <= stats[4]


def test_open_refused_is_typed():
    rig = Rig('telit')

    def main():
        yield ready(rig)
        try:
            yield rig.drv.open('127.0.0.1', _free_port(), timeout_ms=20000)
        except Refused as e:
            raise Return(e.errno)

    assert rig.run(main()) == 111


def test_capabilities_fail_at_once():
    rig = Rig('telit')
    assert rig.drv.CAPS == ('tcp', 'udp', 'listen', 'ping')
    with pytest.raises(Unsupported):
        rig.drv.resolve('echo.test')      # names go straight to #SD / #PING (§6.2)
    for cap in ('dns', 'ntp', 'fax'):
        with pytest.raises(Unsupported):
            rig.drv.need(cap)
