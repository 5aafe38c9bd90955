"""The Wavecom driver against the emulated module (in-process, fake clock), both variants:
Multi-Tech (MT) and GenPro 2Xe (GP)."""
import ast
import io
import os
import random
import socket

import pytest

from modemkit.sched import Return
from modemkit.sock import UDP, NetError, Refused, Unsupported

from conftest import free_port
from rig import Rig, check_garbled, garbled_echo
from test_faults import echo_once, blocked_recv

MT, GP = 'multitech', 'genpro'
BOTH = pytest.mark.parametrize('variant', [MT, GP])


def wrig(variant, board=None, sim=None, **kw):
    return Rig('wavecom', board=dict(board or {}, variant=variant),
               sim=dict(sim or {}, variant=variant), **kw)


def ready(rig):
    yield rig.drv.wait_ready(60000)


def spiky(size, seed):
    """Random bytes with many ETX (0x03) and DLE (0x10), in runs of one to three."""
    rng = random.Random(seed)
    data = bytearray(rng.getrandbits(8) for _ in range(size))
    for _ in range(size // 25):
        i = rng.randrange(size - 3)
        for k in range(rng.randrange(1, 4)):
            data[i + k] = rng.choice((3, 16))
    return bytes(data)


@BOTH
def test_lifecycle_states_are_logged(variant):
    rig = wrig(variant)
    rig.run(ready(rig))
    assert rig.transitions() == [
        'modem: off -> power (start)', 'modem: power -> sync (no power control)',
        'modem: sync -> config (answering)', 'modem: config -> sim (stack configured)',
        'modem: sim -> register (sim ready)', 'modem: register -> attach (registered)',
        'modem: attach -> ready (ip %s)' % rig.drv.ip]
    assert rig.drv.ip == rig.sim.bearer_ip
    # the parameter registers the stack uses (MT App. A, GP §7.1)
    for name, value in (('GPRSMODE', 1), ('APNSERV', 'internet'), ('DLEMODE', 1)):
        assert rig.sim.param(name, 1 if name == 'DLEMODE' else None) == value
    # MT App. B: one second before each parameter write (the emulator notes any sooner one)
    assert not [e for e in rig.sim.events if e['event'] == 'write_too_soon']


@BOTH
def test_tcp_echo_100k_with_etx_and_dle(variant, tcp_echo_server):
    # at a real line rate: without one the emulated module would push the whole echo into the
    # fake UART at once (nothing holds a data-mode stream back, see the module docstring)
    rig = wrig(variant, board={'rx_size': 2048}, baud=115200)
    data = spiky(100 * 1024, 7)
    assert data.count(3) > 2000 and data.count(16) > 2000

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
        raise Return((bytes(got), s.dropped))

    got, dropped = rig.run(main())
    assert dropped == 0
    assert got == data
    assert bytes(tcp_echo_server.received) == data
    # the host's ETX ended the session: the module is back in command mode, socket 1 is free
    assert rig.sim.mode == 'command' and rig.sim.tcp[1] is None


def test_wire_bytes_of_a_session(tcp_echo_server):
    # C.3 (MT #OTCP, GP §7.4.7): ETX and DLE escaped both ways, a bare ETX closes (echoed),
    # then OK_Info_SocketClosed and OK
    rig = wrig(MT)
    rig.fe.wire.trace = trace = io.StringIO()

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(b'a\x03b\x10c')
        buf = bytearray(16)
        n = yield s.recv_into(buf, 5000)
        yield s.close()
        raise Return(bytes(buf[:n]))

    assert rig.run(main()) == b'a\x03b\x10c'
    up, down = wire_bytes(trace)
    assert up.endswith(b'AT#OTCP=1\ra\x10\x03b\x10\x10c\x03\r'), up[-40:]
    assert down.endswith(b'\r\nOK_Info_WaitingForData\r\na\x10\x03b\x10\x10c'
                         b'\x03\r\nOK_Info_SocketClosed\r\n\r\nOK\r\n'), down[-80:]


def wire_bytes(trace):
    """(host -> module, module -> host) bytes of a wire trace."""
    up, down = bytearray(), bytearray()
    for line in trace.getvalue().splitlines():
        _, arrow, data = line.split(' ', 2)
        (up if arrow == '>' else down).extend(ast.literal_eval(data))
    return bytes(up), bytes(down)


@BOTH
def test_second_socket_listen_and_services_refused_at_once(variant, tcp_echo_server):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        t0 = rig.clock.now
        refused = []
        for attempt in (rig.drv.open('echo.test', tcp_echo_server.port),
                        rig.drv.listen(free_port()),
                        rig.drv.ping('echo.test') if variant == MT else
                        rig.drv.ntp('time.test')):
            try:
                yield attempt
            except Unsupported as e:
                refused.append(str(e))
        waited = rig.clock.now - t0
        yield s.send(b'still fine')
        buf = bytearray(32)
        n = yield s.recv_into(buf, 5000)
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((refused, waited, bytes(buf[:n]), again))

    refused, waited, echoed, again = rig.run(main())
    assert len(refused) == 3 and waited == 0, (refused, waited)
    assert all('busy with <Socket 1 open' in e and 'data mode' in e for e in refused), refused
    assert echoed == b'still fine'
    assert again == b'ping after recovery'


@BOTH
def test_remote_close_is_end_of_stream(variant, tcp_echo_server):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(b'\x03bye\x10')
        buf = bytearray(16)
        n = yield s.recv_into(buf, 5000)
        rig.sim.peer_close(s.id)
        end = yield s.recv_into(buf, 5000)
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((bytes(buf[:n]), end, again))

    assert rig.run(main()) == (b'\x03bye\x10', 0, b'ping after recovery')
    assert 'at: unsolicited' not in ' '.join(rig.logs), rig.logs


@BOTH
@pytest.mark.parametrize('closer', ['peer', 'host'])
def test_next_open_waits_for_the_ok_that_ends_a_session(variant, closer, tcp_echo_server):
    # MT App. B: a session ends with ETX, 'Ok_Info_SocketClosed', then 'OK' ("the TCP process
    # is completely finished"). Here that OK comes 300 ms after the rest (turnaround_s), and a
    # socket opened at once must not take it for #OTCP's answer: its stream would then start
    # with '\r\nOK_Info_WaitingForData'.
    rig = wrig(variant, sim={'turnaround_s': 0.3})
    rig.fe.wire.trace = trace = io.StringIO()

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(b'one')
        buf = bytearray(64)
        n = yield s.recv_into(buf, 5000)
        first = bytes(buf[:n])
        if closer == 'peer':
            rig.sim.peer_close(s.id)
            n = yield s.recv_into(buf, 5000)
            assert n == 0
        yield s.close()
        t0 = rig.clock.now
        again = yield echo_once(rig, tcp_echo_server.port, b'two')
        raise Return((first, again, rig.clock.now - t0))

    first, again, took = rig.run(main())
    assert (first, again) == (b'one', b'two')
    assert took < 10000, took          # released by the OK, not by the hold's expiry
    assert not [m for m in rig.logs if m.startswith('at: ')], rig.logs
    # on the wire: the second AT#OTCP=1 leaves after the first session's closing OK came
    down = bytearray()
    before = []                        # what the module had sent when each AT#OTCP left
    for line in trace.getvalue().splitlines():
        _, arrow, data = line.split(' ', 2)
        data = ast.literal_eval(data)
        if arrow == '>':
            if b'AT#OTCP' in data:
                before.append(bytes(down))
        else:
            down.extend(data)
    assert len(before) == 2
    assert before[1].endswith(b'SocketClosed\r\n\r\nOK\r\n'), before[1][-60:]


@BOTH
def test_open_refused_is_typed(variant):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        try:
            yield rig.drv.open('127.0.0.1', free_port(), timeout_ms=20000)
        except Refused as e:
            raise Return(str(e))

    why = rig.run(main())
    assert why == '[Errno 111] AT#OTCP=1: #CME ERROR: 38016 open failed', why


def test_ring_overflow_is_counted_not_hidden(tcp_echo_server):
    # no command asks the module for data: what the ring cannot hold is lost, and counted
    rig = wrig(MT, board={'rx_size': 512})
    data = os.urandom(3000)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(data, 10000)
        yield rig.sched.sleep_ms(2000)            # nobody reads
        buf = bytearray(1024)
        n = yield s.recv_into(buf, 1000)
        yield s.close()
        raise Return((bytes(buf[:n]), s.dropped))

    got, dropped = rig.run(main())
    assert got == data[:512] and dropped == len(data) - 512, (len(got), dropped)


def test_udp_exchange_multitech(udp_echo_server):
    rig = wrig(MT)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('127.0.0.1', udp_echo_server.port, kind=UDP)
        replies = []
        buf = bytearray(256)
        for i in range(3):
            yield s.send(b'datagram \x03%d\x10' % i)
            n = yield s.recv_into(buf, 5000)
            replies.append(bytes(buf[:n]))
        yield s.close()
        raise Return(replies)

    assert rig.run(main()) == [b'datagram \x03%d\x10' % i for i in range(3)]


def test_udp_refused_on_genpro():
    rig = wrig(GP)

    def main():
        yield ready(rig)
        yield rig.drv.open('127.0.0.1', 9, kind=UDP)

    with pytest.raises(Unsupported, match='no udp'):
        rig.run(main())


@BOTH
def test_listener_accepts_loopback_client(variant):
    rig = wrig(variant)
    port = free_port()

    def main():
        yield ready(rig)
        lst = yield rig.drv.listen(port)
        client = socket.create_connection(('127.0.0.1', port), timeout=5)
        client.sendall(b'hello \x03module')
        conn = yield lst.accept(10000)
        buf = bytearray(64)
        n = yield conn.recv_into(buf, 10000)
        yield conn.send(b'hello \x10client')
        yield rig.sched.sleep_ms(300)       # #TCPTXDELAY: a partial frame waits 100 ms
        reply = client.recv(64)
        try:
            yield lst.accept(1000)
            second = 'accepted'
        except Unsupported as e:
            second = str(e)
        client.close()
        end = yield conn.recv_into(buf, 10000)       # the client closed: end of stream
        yield conn.close()
        yield lst.close()
        again = yield rig.drv.listen(port)             # one-shot: listen again
        yield again.close()
        raise Return((bytes(buf[:n]), reply, end, second))

    got, reply, end, second = rig.run(main())
    assert (got, reply, end) == (b'hello \x03module', b'hello \x10client', 0)
    assert 'one-shot' in second


@BOTH
def test_listener_stop_frees_the_module(variant, tcp_echo_server):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        lst = yield rig.drv.listen(free_port())
        try:
            yield rig.drv.open('echo.test', tcp_echo_server.port)
            during = 'opened'
        except Unsupported as e:
            during = str(e)
        yield lst.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((during, again))

    during, again = rig.run(main())
    assert 'busy with <Socket 1 open' in during, during
    assert again == b'ping after recovery'
    assert rig.sim.tcp[1] is None


def test_ping_multitech():
    rig = wrig(MT, sim={'ping_rtt_ms': [100, 120, None]})

    def main():
        yield ready(rig)
        stats = yield rig.drv.ping('echo.test', count=3, timeout_s=1)
        raise Return(stats)

    assert rig.run(main()) == (3, 2, 1, 100, 120, 110)


def test_ntp_genpro(sntp_server):
    rig = wrig(GP)

    def main():
        yield ready(rig)
        when = yield rig.drv.ntp('time.test', sntp_server.port)
        raise Return(when)

    when = rig.run(main())
    # GP §5.2.2: 'yy/mm/dd,hh:mm:ss', the served time (conftest.SERVED_QNTP) at UTC offset 0
    assert when == '26/03/14,15:09:26', when


@BOTH
def test_capabilities_say_what_works(variant, tcp_echo_server):
    rig = wrig(variant)
    caps = {MT: ('tcp', 'udp', 'listen', 'ping'), GP: ('tcp', 'listen', 'ntp')}[variant]
    assert rig.drv.CAPS == caps
    for cap in ('dns', 'udp' if variant == GP else 'ntp', 'ping' if variant == GP else 'fax'):
        with pytest.raises(Unsupported, match='Wavecom: no %s on this module' % cap):
            rig.drv.need(cap)
    other = rig.drv.ping if variant == GP else rig.drv.ntp
    with pytest.raises(Unsupported):
        next(other('x'))

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        try:
            yield s.sendto(b'x', ('127.0.0.1', 9))      # #OUDP/#OTCP: one peer, fixed at open
        except Unsupported as e:
            yield s.close()
            raise Return(str(e))

    assert 'no sendto' in rig.run(main())


# -- faults, both variants (test_faults.py runs the four on the rig's default, Multi-Tech) --
@BOTH
def test_fault_peer_reset(variant, tcp_echo_server):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 20000))
        yield rig.sched.sleep_ms(100)
        rig.sim.peer_reset(s.id)
        outcome = yield waiter.join()
        try:
            yield s.send(b'after reset', 5000)
            sent = 'sent'
        except NetError as e:
            sent = str(e)
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, sent, again))

    (kind, waited), sent, again = rig.run(main())
    # MT Chapter 5: ETX then '#CME ERROR: 37952' (the emulator's reading of a reset)
    assert kind in ('eof', 'Closed') and waited < 1000, (kind, waited)
    assert sent == '[Errno 104] socket 1: #CME ERROR: 37952 reset by peer', sent
    assert again == b'ping after recovery'


@BOTH
def test_fault_pdp_deactivation(variant, tcp_echo_server):
    rig = wrig(variant)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 60000))
        yield rig.sched.sleep_ms(100)
        rig.sim.pdp_deactivate(1)
        outcome = yield waiter.join()
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        # and in command mode: the unsolicited '#CME ERROR: 35841'
        rig.sim.pdp_deactivate(1)
        yield rig.sched.sleep_ms(100)
        again2 = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, again, again2))

    (kind, waited), again, again2 = rig.run(main())
    assert kind == 'NetDown' and waited < 1000, (kind, waited)
    assert again == again2 == b'ping after recovery'
    lost = [m for m in rig.transitions() if '-> attach (PDP context deactivated' in m]
    assert len(lost) == 2, rig.transitions()


def test_fault_reboot_genpro_is_seen_even_in_data_mode(tcp_echo_server):
    rig = wrig(GP)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 60000))
        yield rig.sched.sleep_ms(100)
        rig.sim.reboot()
        outcome = yield waiter.join()
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, again))

    (kind, waited), again = rig.run(main())
    assert kind == 'NetDown' and waited < 5000, (kind, waited)
    assert again == b'ping after recovery'
    assert any('-> sync (module restarted (+WIND: 13 in the data stream)' in m
               for m in rig.transitions()), rig.transitions()


def test_fault_reboot_multitech_shows_at_close(tcp_echo_server):
    # MT prints nothing when it starts: the session just goes silent. Its end shows when the
    # host closes (the ETX gets no answer): the lifecycle resyncs and the next open works.
    rig = wrig(MT)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 10000))
        yield rig.sched.sleep_ms(100)
        rig.sim.reboot()
        outcome = yield waiter.join()
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, again))

    (kind, waited), again = rig.run(main())
    assert kind == 'TimedOut', kind
    assert again == b'ping after recovery'
    assert any('-> sync (ETX: timeout)' in m for m in rig.transitions()), \
        rig.transitions()


def test_fault_reboot_multitech_idle_shows_at_next_open(tcp_echo_server):
    rig = wrig(MT)

    def main():
        yield ready(rig)
        rig.sim.reboot()
        yield rig.sched.sleep_ms(5000)
        try:
            yield rig.drv.open('echo.test', tcp_echo_server.port)
            first = 'opened'
        except NetError as e:
            first = type(e).__name__
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((first, again))

    assert rig.run(main()) == ('NetDown', b'ping after recovery')
    assert any('-> sync (AT#OTCP=1: #CME ERROR: 35867 no GPRS connection)' in m
               for m in rig.transitions()), \
        rig.transitions()


@BOTH
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_fault_garbled_bytes(variant, seed, tcp_echo_server):
    rig = wrig(variant)
    rig.fe.wire.random.seed(seed)
    data = random.Random(seed).randbytes(4000)

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        rig.fe.wire.garble_rate = 0.02
        t0 = rig.clock.now
        outcome, got = yield garbled_echo(rig, s, data)
        elapsed = rig.clock.now - t0
        rig.fe.wire.garble_rate = 0.0
        yield s.close()
        yield rig.drv.wait_ready(300000)
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, got, elapsed, again))

    outcome, got, elapsed, again = rig.run(main())
    check_garbled(outcome, got, data, rig.fe.wire.events, eof_on_etx=True)
    assert elapsed < 120000, elapsed
    assert again == b'ping after recovery', again


def test_fault_reboot_multitech_idle_found_by_polling(tcp_echo_server):
    # in command mode the lifecycle asks AT#VSTATE every poll_ms: a silent restart shows
    rig = wrig(MT, board={'poll_ms': 10000})

    def main():
        yield ready(rig)
        rig.sim.reboot()
        yield rig.sched.sleep_ms(15000)
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return(again)

    assert rig.run(main()) == b'ping after recovery'
    assert any('-> sync (AT#VSTATE: not connected)' in m for m in rig.transitions()), \
        rig.transitions()


def test_lifecycle_sends_nothing_into_a_session(tcp_echo_server):
    # the poll (AT#VSTATE) waits while the port is in data mode: it would be payload there
    rig = wrig(MT, board={'poll_ms': 5000})
    rig.fe.wire.trace = trace = io.StringIO()
    polls = []

    def main():
        yield ready(rig)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        polls.append(wire_bytes(trace)[0].count(b'AT#VSTATE'))
        yield rig.sched.sleep_ms(30000)
        yield s.send(b'only this')
        buf = bytearray(32)
        n = yield s.recv_into(buf, 5000)
        yield s.close()
        yield rig.sched.sleep_ms(6000)           # polling again once the session is over
        raise Return(bytes(buf[:n]))

    assert rig.run(main()) == b'only this'
    assert bytes(tcp_echo_server.received) == b'only this'
    assert wire_bytes(trace)[0].count(b'AT#VSTATE') == polls[0] + 1
