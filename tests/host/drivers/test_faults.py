"""Faults injected by the emulator end the affected operation with a typed error within its
timeout; the lifecycle recovers and the next connection works. One test per fault and dialect."""
import os

import pytest

from modemkit.sched import Return
from modemkit.sock import NetError, NetDown, Closed, TimedOut

from rig import Rig

DIALECTS = ['quectel', 'telit']


def echo_once(rig, port, payload=b'ping after recovery'):
    s = yield rig.drv.open('echo.test', port, timeout_ms=30000)
    yield s.send(payload, 10000)
    got = bytearray()
    buf = bytearray(256)
    while len(got) < len(payload):
        n = yield s.recv_into(buf, 10000)
        got.extend(buf[:n])
    yield s.close()
    raise Return(bytes(got))


def blocked_recv(rig, s, timeout_ms):
    """recv_into on a socket with nothing coming: returns ('eof'|'data', n) or the error type."""
    buf = bytearray(64)
    t0 = rig.clock.now
    try:
        n = yield s.recv_into(buf, timeout_ms)
        raise Return(('eof' if n == 0 else 'data', rig.clock.now - t0))
    except NetError as e:
        raise Return((type(e).__name__, rig.clock.now - t0))


@pytest.mark.parametrize('dialect', DIALECTS)
def test_peer_reset(dialect, tcp_echo_server):
    rig = Rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 20000))
        yield rig.sched.sleep_ms(100)
        rig.sim.peer_reset(s.id)
        outcome = yield waiter.join()
        try:
            yield s.send(b'after reset', 5000)
            sent = 'sent'
        except NetError as e:
            sent = type(e).__name__
        yield s.close()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, sent, again))

    (kind, waited), sent, again = rig.run(main())
    # Quectel reports a reset like a close (+QIURC: "closed"): end of stream, then sends fail
    assert kind in ('eof', 'Closed') and waited < 20000, (kind, waited)
    assert sent == 'Closed'
    assert again == b'ping after recovery'


@pytest.mark.parametrize('dialect', DIALECTS)
def test_pdp_deactivation(dialect, tcp_echo_server):
    rig = Rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 60000))
        yield rig.sched.sleep_ms(100)
        rig.sim.pdp_deactivate(1)
        outcome = yield waiter.join()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, again))

    (kind, waited), again = rig.run(main())
    assert kind == 'NetDown' and waited < 5000, (kind, waited)
    assert again == b'ping after recovery'
    assert any('-> attach (PDP context deactivated' in m for m in rig.transitions()), \
        rig.transitions()


@pytest.mark.parametrize('dialect', DIALECTS)
def test_module_reboot(dialect, tcp_echo_server):
    rig = Rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        waiter = rig.sched.spawn(blocked_recv(rig, s, 60000))
        yield rig.sched.sleep_ms(100)
        rig.sim.reboot()
        outcome = yield waiter.join()
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, again))

    (kind, waited), again = rig.run(main())
    assert kind == 'NetDown' and waited < 30000, (kind, waited)
    assert again == b'ping after recovery'
    assert any('-> sync (module restarted' in m for m in rig.transitions()), rig.transitions()


@pytest.mark.parametrize('dialect', DIALECTS)
def test_garbled_bytes(dialect, tcp_echo_server):
    rig = Rig(dialect)
    data = os.urandom(4000)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        rig.fe.wire.garble_rate = 0.02
        outcome = 'ok'
        t0 = rig.clock.now
        try:
            yield s.send(data, 20000)
            buf = bytearray(512)
            got = 0
            while got < len(data):
                n = yield s.recv_into(buf, 20000)
                if not n:
                    break
                got += n
        except NetError as e:
            outcome = type(e).__name__
        elapsed = rig.clock.now - t0
        rig.fe.wire.garble_rate = 0.0
        try:
            yield s.close()
        except NetError:
            pass
        yield rig.drv.wait_ready(300000)
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, elapsed, again))

    outcome, elapsed, again = rig.run(main())
    assert outcome in ('ok', 'TimedOut', 'Closed', 'NetError', 'NetDown'), outcome
    assert elapsed < 120000, elapsed
    assert again == b'ping after recovery'
    assert any(e['event'] == 'garble' for e in rig.fe.wire.events)
