"""Data modes (modemkit.datamode) against the emulated modules: Quectel transparent access mode
(QL 1.2) and Telit online mode (T-IPE 6.2-6.4). The line is paced at 921600 baud and the
driver's writes wait for it (flow=True), as at a pty or a UART."""
import os
import socket
import threading
import time

import pytest

from modemkit.at import Cmd, OK
from modemkit.sched import Return
from modemkit.sock import NetDown, NetError

from rig import Rig

DIALECTS = ['quectel', 'telit']
BAUD = 921600


class Peer:
    """A TCP server for one client on 127.0.0.1: records what it receives, sends on request."""

    def __init__(self):
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.conn = None
        self._accepted = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        self.listener.settimeout(60)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.settimeout(60)
        self.conn = conn
        self._accepted.set()
        while len(self.received) < (1 << 20):
            try:
                data = conn.recv(65536)
            except OSError:
                break
            if not data:
                break
            self.received += data

    def send(self, data):
        assert self._accepted.wait(5), 'no client'
        self.conn.sendall(data)

    def close(self):
        self.listener.close()
        if self.conn is not None:
            self.conn.close()
        self._thread.join(5)


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


def data_rig(dialect, **kw):
    return Rig(dialect, baud=BAUD, flow=True, board={'rx_size': 4096}, **kw)


def plain_at(rig):
    """AT answered: (status, fake ms it took)."""
    t0 = rig.clock.now
    r = yield rig.drv.chan.send(Cmd('AT', 1000))
    raise Return((r.status, rig.clock.now - t0))


def read_exactly(s, size, timeout_ms=30000):
    got = bytearray()
    buf = bytearray(1024)
    while len(got) < size:
        n = yield s.recv_into(buf, timeout_ms)
        if not n:
            break
        got.extend(buf[:n])
    raise Return(bytes(got))


def reopen(rig, port):
    """What an application does after a fault: open again once the modem is ready."""
    for _ in range(5):
        yield rig.drv.wait_ready(60000)
        try:
            s = yield rig.drv.open('echo.test', port, data=True)
            break
        except NetError:
            yield rig.sched.sleep_ms(2000)
    yield s.send(b'back', 5000)
    echo = yield read_exactly(s, 4)
    yield s.close()
    raise Return(echo)


@pytest.mark.parametrize('dialect', DIALECTS)
def test_one_mib_each_way_then_escape_and_at(dialect, tcp_echo_server):
    rig = data_rig(dialect)
    data = os.urandom(1 << 20)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        t0 = rig.clock.now
        sender = rig.sched.spawn(s.send(data, 60000))
        got = yield read_exactly(s, len(data))
        yield sender.join()
        took = rig.clock.now - t0
        yield rig.drv.escape(s)
        at = yield plain_at(rig)
        yield s.close()
        after = yield plain_at(rig)
        raise Return((got, took, at, after, s.dropped))

    wall = time.monotonic()
    got, took, at, after, dropped = rig.run(main())
    assert got == data and dropped == 0
    # 1 MiB at 921600 baud is 11.4 s of line time each way, both ways at once
    assert took < 1.15 * 10 * len(data) * 1000 / BAUD, took
    assert at == (OK, 0) or (at[0] == OK and at[1] < 50), at
    assert after[0] == OK
    assert tcp_echo_server.received == data
    assert time.monotonic() - wall < 300


@pytest.mark.parametrize('dialect', DIALECTS)
def test_escape_then_data_held_by_the_module_then_resume(dialect, peer):
    rig = data_rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('127.0.0.1', peer.port, data=True)
        yield s.send(b'first', 5000)
        peer.send(b'down1')
        first = yield read_exactly(s, 5)
        yield rig.drv.escape(s)
        mode_after_escape = rig.sim.mode
        at = yield plain_at(rig)
        # a suspended connection's data comes through the command-mode path (QIRD, #SRECV)
        peer.send(b'while suspended')
        held = yield read_exactly(s, 15)
        # send() goes back to data mode by itself (AT+QISWTMD=<id>,2, #SO)
        yield s.send(b'second', 5000)
        mode_after_send = rig.sim.mode
        peer.send(b'down2')
        second = yield read_exactly(s, 5)
        yield s.close()
        yield rig.sched.sleep_ms(200)
        raise Return((first, mode_after_escape, at, held, mode_after_send, second))

    first, mode, at, held, mode2, second = rig.run(main())
    assert first == b'down1' and held == b'while suspended' and second == b'down2'
    assert mode == 'command' and at[0] == OK and mode2 == 'online'
    # no '+++' reaches the peer (Telit: #SKIPESC=1, T-IPE 6.6.3; Quectel never sends it)
    assert bytes(peer.received) == b'firstsecond'


@pytest.mark.parametrize('dialect', DIALECTS)
def test_peer_close_in_data_mode(dialect, tcp_echo_server):
    rig = data_rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield s.send(b'last words', 5000)
        words = yield read_exactly(s, 10)
        tcp_echo_server.drop_all(reset=False)
        rest = yield read_exactly(s, 1)          # end of stream after NO CARRIER
        at = yield plain_at(rig)
        try:
            yield s.send(b'too late', 5000)
            sent = 'sent'
        except NetError as e:
            sent = type(e).__name__
        yield s.close()
        again = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield again.send(b'again', 5000)
        echo = yield read_exactly(again, 5)
        yield again.close()
        raise Return((words, rest, at, sent, echo))

    words, rest, at, sent, echo = rig.run(main())
    assert words == b'last words' and rest == b''
    assert at[0] == OK and at[1] < 50, at
    assert sent == 'Closed'
    assert echo == b'again'


@pytest.mark.parametrize('dialect', DIALECTS)
def test_other_socket_and_commands_wait_for_the_data_mode(dialect, peer, tcp_echo_server):
    rig = data_rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        other = yield rig.drv.open('127.0.0.1', peer.port)          # buffer mode
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield s.send(b'x' * 3000, 5000)
        # a command asked for while the data mode runs waits for it, untouched
        asker = rig.sched.spawn(plain_at(rig))
        peer.send(b'for the other socket')
        echo = yield read_exactly(s, 3000)
        yield rig.sched.sleep_ms(500)
        waited = not asker.done()
        early = other.available()
        yield rig.drv.escape(s)
        at = yield asker.join()
        got = yield read_exactly(other, 20)
        yield s.close()
        yield other.close()
        raise Return((echo, waited, early, at, got))

    echo, waited, early, at, got = rig.run(main())
    assert echo == b'x' * 3000
    assert waited and early == 0 and at[0] == OK
    assert got == b'for the other socket'


def test_quectel_module_restart_in_data_mode(tcp_echo_server):
    rig = data_rig('quectel')

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield s.send(b'ping', 5000)
        yield read_exactly(s, 4)
        rig.sim.reboot()
        try:
            yield read_exactly(s, 1, 60000)
            outcome = 'no error'
        except NetError as e:
            outcome = type(e).__name__
        yield s.close()
        echo = yield reopen(rig, tcp_echo_server.port)
        raise Return((outcome, echo))

    outcome, echo = rig.run(main())
    assert outcome == 'NetDown'
    assert echo == b'back'
    assert any('-> sync (module restarted (RDY' in m for m in rig.transitions()), rig.transitions()


@pytest.mark.parametrize('dialect', DIALECTS)
def test_pdp_loss_in_data_mode(dialect, tcp_echo_server):
    rig = data_rig(dialect)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield s.send(b'ping', 5000)
        yield read_exactly(s, 4)
        rig.sim.pdp_deactivate(1)
        try:
            rest = yield read_exactly(s, 1, 60000)
            outcome = 'eof' if rest == b'' else 'data'
        except NetError as e:
            outcome = type(e).__name__
        yield s.close()
        echo = yield reopen(rig, tcp_echo_server.port)
        raise Return((outcome, echo))

    outcome, echo = rig.run(main())
    # NO CARRIER ends the stream; the context's loss then fails the socket (Quectel's
    # "pdpdeact" URC, Telit's #SGACT? poll after the NO CARRIER)
    assert outcome in ('eof', 'NetDown'), outcome
    assert echo == b'back'
    assert any('-> attach (PDP context deactivated' in m for m in rig.transitions()), \
        rig.transitions()


def test_a_board_without_transmit_rings_sends_from_the_callers_buffer(tcp_echo_server):
    rig = Rig('quectel', baud=BAUD, flow=True, board={'rx_size': 4096, 'tx_size': 0})
    data = os.urandom(50000)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        sender = rig.sched.spawn(s.send(data, 30000))
        got = yield read_exactly(s, len(data))
        yield sender.join()
        yield s.close()
        raise Return((s.tx, got))

    tx, got = rig.run(main())
    assert tx is None and got == data


@pytest.mark.parametrize('dialect', DIALECTS)
def test_the_guard_time_counts_from_the_line_with_the_boards_baud(dialect, peer):
    # flow=False: every write is taken at once and waits on the line, as in a pty's 64 KiB:
    # 64 KiB at 921600 baud cross in 0.7 s after the last write returned. Without the board's
    # baud the escape would come too early and reach the peer as payload.
    rig = Rig(dialect, baud=BAUD, board={'rx_size': 4096, 'serial': {'baud': BAUD}})
    data = os.urandom(64 * 1024)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('127.0.0.1', peer.port, data=True)
        yield s.send(data, 30000)
        yield rig.drv.escape(s)
        at = yield plain_at(rig)
        yield s.close()
        yield rig.sched.sleep_ms(200)
        raise Return(at)

    at = rig.run(main())
    assert at[0] == OK
    assert bytes(peer.received) == data          # no '+++' after the payload


def test_telit_module_restart_in_data_mode(tcp_echo_server):
    # The guide documents no start-up URC: the stream just goes quiet. The application's
    # receive times out; its close escapes, gets no OK twice, and the lifecycle resyncs.
    rig = data_rig('telit')

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, data=True)
        yield s.send(b'ping', 5000)
        yield read_exactly(s, 4)
        rig.sim.reboot()
        try:
            yield read_exactly(s, 1, 10000)
            outcome = 'no error'
        except NetError as e:
            outcome = type(e).__name__
        yield s.close()
        echo = yield reopen(rig, tcp_echo_server.port)
        raise Return((outcome, echo))

    outcome, echo = rig.run(main())
    assert outcome == 'TimedOut'
    assert echo == b'back'
    assert any('-> sync (no answer to the escape' in m for m in rig.transitions()), \
        rig.transitions()
