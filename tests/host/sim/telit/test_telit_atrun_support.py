"""Shared helpers for the TCPATRUN / SMSATRUN tests (no tests here): a Telit harness with an
active context, and a real TCP peer on 127.0.0.1 that the fake-clock harness drives."""

import socket

import pytest

from harness import Harness
from mktools.sim.telit.modem import TelitModem

PEER_MAX = 1 << 20


def make_harness(config=None, activate=True):
    """HE910, verbose errors, echo off on the serial port, cid 1 defined (and active)."""
    h = Harness(TelitModem, config={'variant': 'he910', 'activation_s': 0.1, **(config or {})})
    assert h.cmd('ATE0') == ['OK']
    assert h.cmd('AT+CMEE=2') == ['OK']
    assert h.cmd('AT+CGDCONT=1,"IP","Access_Point_Name"') == ['OK']
    if activate:
        assert h.cmd('AT#SGACT=1,1') == ['#SGACT: 10.0.0.2', 'OK']
    return h


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Peer:
    """A real TCP endpoint on 127.0.0.1 (the PC of T-RUN Fig. 5), read through the harness."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.setblocking(False)
        self.rx = bytearray()
        self.mark = 0
        self.eof = False

    @classmethod
    def connect(cls, port, source='127.0.0.1'):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.settimeout(2.0)
        sock.connect(('127.0.0.1', port))
        return cls(sock)

    def send(self, data):
        self.sock.sendall(data.encode('latin-1') if isinstance(data, str) else data)

    def _pump(self):
        while not self.eof:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionResetError:
                self.eof = True
                return
            if not data:
                self.eof = True
                return
            if len(self.rx) + len(data) > PEER_MAX:
                raise AssertionError('peer receive buffer overflow')
            self.rx += data

    def expect(self, h, text, timeout_s=10.0):
        """Wait until `text` arrived; returns everything new up to and including it."""
        text = text.encode('latin-1') if isinstance(text, str) else text

        def seen():
            self._pump()
            return self.rx.find(text, self.mark) >= 0

        h.wait_for(seen, timeout_s)
        end = self.rx.find(text, self.mark) + len(text)
        got, self.mark = bytes(self.rx[self.mark:end]), end
        return got

    def read(self, h, seconds):
        """Advance `seconds` and return what arrived meanwhile."""
        h.advance(seconds)
        self._pump()
        got, self.mark = bytes(self.rx[self.mark:]), len(self.rx)
        return got

    def closed(self, h, timeout_s=5.0):
        """Wait for the module to close the connection."""
        def gone():
            self._pump()
            return self.eof
        h.wait_for(gone, timeout_s)
        return True

    def close(self):
        self.sock.close()


@pytest.fixture
def peers():
    """Collects the Peers a test opens and closes them afterwards."""
    opened = []
    yield opened
    for peer in opened:
        peer.close()


@pytest.fixture
def host_listener():
    """The 'Host' of T-RUN §3.3 (client mode): a listening socket on 127.0.0.1."""
    server = socket.create_server(('127.0.0.1', 0))
    server.setblocking(False)
    yield server
    server.close()


def accept(h, server, timeout_s=5.0):
    """Accept the module's connection on `server` as a Peer."""
    got = []

    def accepted():
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return False
        got.append(conn)
        return True

    h.wait_for(accepted, timeout_s)
    return Peer(got[0])
