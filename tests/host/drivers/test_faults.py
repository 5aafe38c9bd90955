"""Faults injected by the emulator end the affected operation with a typed error within its
timeout; the lifecycle recovers and the next connection works. One test per fault and dialect
(garbled bytes: three seeds; an echo that completes holds every byte in place, and a stream cut
short fails: rig.check_garbled)."""
import random

import pytest

from modemkit.sched import Return
from modemkit.sock import NetError, NetDown, Closed, TimedOut

from rig import Rig, check_garbled, garbled_echo

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
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_garbled_bytes(dialect, seed, tcp_echo_server):
    rig = Rig(dialect)
    rig.fe.wire.random.seed(seed)
    data = random.Random(seed).randbytes(4000)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        rig.fe.wire.garble_rate = 0.02
        t0 = rig.clock.now
        outcome, got = yield garbled_echo(rig, s, data)
        elapsed = rig.clock.now - t0
        rig.fe.wire.garble_rate = 0.0
        try:
            yield s.close()
        except NetError:
            pass
        yield rig.drv.wait_ready(300000)
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((outcome, got, elapsed, again))

    outcome, got, elapsed, again = rig.run(main())
    check_garbled(outcome, got, data, rig.fe.wire.events)
    assert elapsed < 120000, elapsed
    assert again == b'ping after recovery'
