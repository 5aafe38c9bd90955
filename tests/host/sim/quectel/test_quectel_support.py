"""Shared helpers for the Quectel emulator tests (no tests here): a harness with context 1
active, plain loopback server sockets the test drives itself, and binary-safe command I/O.

The peer sockets are ordinary blocking sockets on 127.0.0.1: the kernel completes a connection
from its backlog before accept(), so a test can let the modem connect, then accept and talk to
it between harness steps without any thread."""

import re
import socket

import pytest

from harness import Harness
from mktools.sim.quectel.modem import QuectelModem

APN_COMMAND = 'AT+QICSGP=1,1,"UNINET","","",1'
SOCKET_TIMEOUT_S = 2.0
QIRD_HEADER = re.compile(rb'\r\n\+QIRD: (\d+)(,"[\d.]+",\d+)?\r\n')


def make_harness(config=None, **kw):
    """A Quectel harness (fake clock) with context 1 configured and active."""
    h = Harness(QuectelModem, config={'activation_s': 0.5, **(config or {})}, **kw)
    assert h.cmd(APN_COMMAND) == ['OK']
    assert h.cmd('AT+QIACT=1') == ['OK']
    return h


@pytest.fixture
def qh():
    with make_harness() as h:
        yield h


class TcpPeer:
    """A listening socket on 127.0.0.1 whose accepted connections the test drives."""

    def __init__(self):
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(SOCKET_TIMEOUT_S)
        self.port = self.listener.getsockname()[1]
        self.conns = []

    def accept(self):
        conn, _ = self.listener.accept()
        conn.settimeout(SOCKET_TIMEOUT_S)
        self.conns.append(conn)
        return conn

    def close(self):
        for sock in self.conns + [self.listener]:
            sock.close()


@pytest.fixture
def peer():
    server = TcpPeer()
    yield server
    server.close()


@pytest.fixture
def udp_peer():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    sock.settimeout(SOCKET_TIMEOUT_S)
    yield sock
    sock.close()


def recv_exactly(conn, size):
    """`size` bytes from a blocking socket (bounded by its timeout)."""
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def raw_cmd(h, line, timeout_s=10.0):
    """Send `line` and return the raw bytes after its echo, up to its final result code (plus
    any URC flushed right after it)."""
    h.mark = len(h.rx)
    done = h.modem.results
    h.write(line + '\r')
    h.wait_for(lambda: h.modem.results > done and not h.wire.in_flight(), timeout_s)
    out = h.read()
    echo = (line + '\r').encode('latin-1')
    assert out.startswith(echo), out[:80]
    return out[len(echo):]


def qird(h, cid, length=1500):
    """AT+QIRD=<cid>,<length> -> the data bytes (binary safe); b'' for `+QIRD: 0`."""
    out = raw_cmd(h, f'AT+QIRD={cid},{length}')
    match = QIRD_HEADER.match(out)
    assert match, out[:80]
    size = int(match.group(1))
    data = out[match.end():match.end() + size]
    rest = out[match.end() + size:]
    assert rest.startswith(b'\r\n\r\nOK\r\n' if size else b'\r\nOK\r\n'), rest[:40]
    return data


def lines_until(h, text, first=(), timeout_s=5.0):
    """The lines `first` (e.g. a cmd() result) plus what follows, up to and including `text`."""
    lines = list(first)
    if text not in lines:
        h.expect_urc(text, timeout_s)
        lines.append(text)
    return lines


def open_tcp(h, port, cid=0, mode=0, host='127.0.0.1'):
    """AT+QIOPEN a TCP client in buffer/push mode and wait for `+QIOPEN: <cid>,0`."""
    lines = h.cmd(f'AT+QIOPEN=1,{cid},"TCP","{host}",{port},0,{mode}')
    assert lines[0] == 'OK'
    assert lines_until(h, f'+QIOPEN: {cid},0', lines[1:]) == [f'+QIOPEN: {cid},0']


def send_fixed(h, cid, data):
    """AT+QISEND=<cid>,<len> with `data`; returns the text after the prompt."""
    assert h.cmd(f'AT+QISEND={cid},{len(data)}') == ['>']
    h.write(data)
    return h.read()
