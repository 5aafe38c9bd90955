"""Hardware flow control of the emulated Wavecom data modes, through a real pty on the real clock.

MT App. B "Opening a TCP Socket": "This link is bi-directional and the flow is controlled through
the hardware flow control mechanism"; "Configuring Flow Control over the Serial Port" (AT+IFC,
RTS/CTS).  A DTE that stops reading holds RTS off: the module stops reading the network (the TCP
window closes on the server) instead of dropping output, and delivers everything once the DTE
reads again.  A module that cannot send to the network holds CTS off: the DTE's writes wait in
the pty instead of being lost.  Transfers are larger than the frontend's last-resort bound
(`OUT_MAX`), and the emulator's buffers must stay far below it.
"""

import os
import random
import socket
import threading
import time

import pytest

from mktools.sim.core import frontends, wire as wire_mod
from mktools.sim.core.frontends import PtyFrontend
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net
from mktools.sim.wavecom.modem import WavecomModem
from mktools.sim.wavecom.dle import dle_encode
from mktools.sim.core.wire import Wire
from test_wavecom_support import FTP_PASSWORD, FTP_USER, ftp_server

__all__ = ['ftp_server']
pytestmark = pytest.mark.filterwarnings('ignore:The asyn:DeprecationWarning')

DLE, ETX = 0x10, 0x03
SIZE = 3 * 1024 * 1024
STALL_S = 1.5
# what the emulator may hold for the DTE: the high-water mark plus what was already read from
# the network when it paused (a few socket reads, DLE-escaped at worst twice their size)
PENDING_BOUND = wire_mod.DTE_HIGH + 128 * 1024

assert SIZE > frontends.OUT_MAX and PENDING_BOUND < frontends.OUT_MAX


class Peer:
    """A loopback TCP server for one connection, in a thread: `send` writes `data` (through a
    small send buffer, so that its progress shows the back-pressure) then closes; `sink` reads
    to EOF, once `start_reading` is set."""

    def __init__(self, mode, data=b''):
        self.mode = mode
        self.data = data
        self.sent = 0
        self.received = bytearray()
        self.done = threading.Event()
        self.start_reading = threading.Event()
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.listener.settimeout(10)
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(30)
            if self.mode == 'send':
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
                view = memoryview(self.data)
                while self.sent < len(view):
                    self.sent += conn.send(view[self.sent:self.sent + 16384])
            else:
                self.start_reading.wait(30)
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    self.received += chunk
        self.done.set()

    def close(self):
        self.start_reading.set()
        self.listener.close()
        self.thread.join(5)


class Rig:
    """A Multi-Tech modem on a real-clock loop behind a pty; this object is the DTE on the
    pty's other end (raw, non-blocking)."""

    def __init__(self):
        self.loop = Loop()
        self.net = Net(self.loop)
        self.wire = Wire(self.loop)
        self.modem = WavecomModem(self.loop, self.net, {'variant': 'multitech',
                                                        'activation_s': 0.05})
        self.modem.attach(self.wire)
        self.front = PtyFrontend(self.loop, self.wire)
        self.fd = os.open(self.front.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.rx = bytearray()
        self.peak = 0               # the most bytes the emulator held for the DTE

    def close(self):
        os.close(self.fd)
        self.front.close()
        self.net.close_all()
        self.loop.close()

    def run(self, seconds, read=True, until=None):
        """Run the emulator for up to `seconds` (until `until()` holds), reading the pty or not."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.loop.run_once(0.002)
            self.peak = max(self.peak, self.wire.dte_pending())
            while read:
                try:
                    chunk = os.read(self.fd, 65536)
                except BlockingIOError:
                    break
                self.rx += chunk
            if until is not None and until():
                return True
        return False

    def cmd(self, text, final):
        self.rx.clear()
        os.write(self.fd, text.encode() + b'\r')
        assert self.run(10, until=lambda: final in self.rx), (text, bytes(self.rx))

    def connect(self):
        self.cmd('ATE0', b'OK\r\n')
        self.cmd('AT#APNSERV="internet"', b'OK\r\n')
        self.cmd('AT#CONNECTIONSTART', b'OK_Info_GPRSActivation\r\n')


def undle(stream):
    """The payload before the first bare ETX (digest C.3), and whether that ETX came."""
    out = bytearray()
    i = 0
    while i < len(stream):
        b = stream[i]
        if b == ETX:
            return bytes(out), True
        if b == DLE:
            i += 1
            if i == len(stream):
                break
            b = stream[i]
        out.append(b)
        i += 1
    return bytes(out), False


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.close()


def stall_then_read(rig, banner, source_paused, end):
    """The DTE reads nothing for STALL_S while the module's source sends SIZE bytes, then reads
    everything; returns the payload received."""
    rig.rx.clear()
    rig.run(STALL_S, read=False)
    # RTS off: the module holds what it has and no longer reads the network
    assert not rig.wire.rts
    assert source_paused()
    assert rig.front._out.dropped == 0
    assert rig.run(20, until=lambda: end in rig.rx), bytes(rig.rx[-200:])
    assert rig.rx.startswith(banner)
    payload, ended = undle(rig.rx[len(banner):])
    assert ended
    assert rig.front._out.dropped == 0 and rig.front._out.peak <= PENDING_BOUND
    assert rig.peak <= PENDING_BOUND
    assert not [e for e in rig.wire.events if e['event'] == 'overflow']
    return payload


def test_tcp_session_to_a_dte_that_stops_reading(rig):
    data = random.Random(11).randbytes(SIZE)
    peer = Peer('send', data)
    try:
        rig.connect()
        rig.cmd(f'AT#TCPSERV=1,"127.0.0.1";#TCPPORT=1,{peer.port}', b'OK\r\n')
        os.write(rig.fd, b'AT#OTCP=1\r')
        assert rig.run(5, read=False, until=lambda: rig.modem.port_owner is not None)
        session = rig.modem.port_owner
        # the server is held back: it could not hand the kernel more than a fraction of it
        rig.run(STALL_S, read=False)
        assert not peer.done.is_set() and peer.sent < SIZE // 2, peer.sent
        payload = stall_then_read(
            rig, b'\r\nOK_Info_WaitingForData\r\n', lambda: session.conn.paused,
            b'OK_Info_SocketClosed\r\n\r\nOK\r\n')
        assert peer.done.is_set() and peer.sent == SIZE
        assert payload == data
    finally:
        peer.close()


def test_ftpget_to_a_dte_that_stops_reading(rig, ftp_server):
    data = random.Random(12).randbytes(SIZE)
    (ftp_server.root / 'big.bin').write_bytes(data)
    rig.connect()
    rig.cmd(f'AT#FTPSERV="127.0.0.1";#FTPPORT={ftp_server.port};#FTPUN="{FTP_USER}";'
            f'#FTPPW="{FTP_PASSWORD}";#FTPMODE=1;#FTPTYPE=I;#FTPGETPATH=".";'
            '#FTPGETFILENAME="big.bin"', b'OK\r\n')
    os.write(rig.fd, b'AT#FTPGET\r')
    assert rig.run(5, read=False, until=lambda: rig.modem.port_owner is not None)
    session = rig.modem.port_owner
    payload = stall_then_read(rig, b'\r\nOK_Info_DataBegin\r\n',
                              lambda: session.data.paused, b'\x03\r\nOK\r\n')
    assert payload == data


def test_tcp_session_from_a_dte_faster_than_the_network(rig):
    # the network stops taking data (the stall fault): the module's buffer fills, CTS goes off
    # and the DTE's writes wait in the pty; nothing is refused, and all of it arrives in order
    data = random.Random(13).randbytes(SIZE)
    escaped = dle_encode(data)
    peer = Peer('sink')
    peer.start_reading.set()
    try:
        rig.connect()
        rig.cmd(f'AT#TCPSERV=1,"127.0.0.1";#TCPPORT=1,{peer.port}', b'OK\r\n')
        rig.cmd('AT#OTCP=1', b'OK_Info_WaitingForData\r\n')
        sent = 0
        blocked_at = None
        deadline = time.monotonic() + 20
        while sent < len(escaped) and time.monotonic() < deadline:
            if sent >= SIZE // 4 and blocked_at is None and not rig.modem.port_owner.stalled:
                rig.modem.stall(1)
            try:
                sent += os.write(rig.fd, escaped[sent:sent + 65536])
            except BlockingIOError:
                rig.run(0.01)
                if blocked_at is None and not rig.wire.cts:
                    # CTS off: the module reads no more; the pty fills and the writes wait
                    blocked_at = sent
                    rig.run(STALL_S)
                    assert not rig.wire.cts
                    with pytest.raises(BlockingIOError):
                        os.write(rig.fd, escaped[sent:sent + 65536])
                    rig.modem.stall(1, on=False)
            rig.run(0.002)
        assert blocked_at is not None and blocked_at < SIZE // 2, blocked_at
        assert sent == len(escaped)
        os.write(rig.fd, bytes([ETX]))
        assert rig.run(20, until=lambda: b'OK_Info_SocketClosed\r\n\r\nOK\r\n' in rig.rx)
        assert peer.done.wait(10)
        assert bytes(peer.received) == data
        assert rig.wire.cts
        assert not [e for e in rig.modem.events if e['event'] == 'tx_overflow']
    finally:
        peer.close()
