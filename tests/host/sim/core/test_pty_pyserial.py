"""`modemkit sim --pty` driven by a plain pyserial script (no modemkit driver): activate a
context, open a TCP socket to a local echo server, send and read back 100 KB of random bytes,
close — in each dialect, with the commands of its manual."""
import os
import re
import subprocess
import sys
import time

import pytest
import serial

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
SIZE = 100 * 1024
DLE, ETX = 0x10, 0x03


@pytest.fixture
def sim(tmp_path, request):
    procs = []

    def start(dialect, *extra):
        link = str(tmp_path / 'tty')
        p = subprocess.Popen(
            [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
             '--host', 'echo.test=127.0.0.1'] + list(extra),
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'tools')))
        procs.append(p)
        assert 'modemkit sim' in p.stdout.readline()
        return Port(link)

    yield start
    for p in procs:
        p.terminate()
        p.wait(5)


class Port:
    """Just enough of a terminal program: write a command, read lines until a final code."""

    def __init__(self, link):
        self.s = serial.Serial(link, 115200, timeout=0.05)
        self.buf = b''

    def read_until(self, pattern, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while True:
            m = re.search(pattern, self.buf)
            if m:
                out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                return out
            if time.monotonic() > deadline:
                raise AssertionError('no %r in %r' % (pattern, self.buf[-300:]))
            self.buf += self.s.read(4096)

    def cmd(self, text, final=rb'\r\n(OK|ERROR|\+CME ERROR[^\r]*)\r\n', timeout_s=10):
        self.s.write(text.encode() + b'\r')
        out = self.read_until(final, timeout_s)
        assert b'ERROR' not in out, (text, out)
        return out

    def read_exact(self, n, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while len(self.buf) < n:
            assert time.monotonic() < deadline, 'read %d of %d bytes' % (len(self.buf), n)
            self.buf += self.s.read(4096)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def test_quectel(sim, tcp_echo_server):
    port = sim('quectel')
    data = os.urandom(SIZE)
    port.cmd('ATE0')
    port.cmd('AT+QICSGP=1,1,"internet","","",1')                    # QL §2.1.1
    port.cmd('AT+QIACT=1', timeout_s=20)                             # QL §2.1.2
    port.cmd('AT+QIOPEN=1,0,"TCP","echo.test",%d,0,0' % tcp_echo_server.port)
    port.read_until(rb'\+QIOPEN: 0,0\r\n')                           # QL §2.1.4
    got = b''
    for off in range(0, SIZE, 1460):                                  # QL §2.1.7
        chunk = data[off:off + 1460]
        port.s.write(b'AT+QISEND=0,%d\r' % len(chunk))
        port.read_until(rb'> ')
        port.s.write(chunk)
        port.read_until(rb'SEND OK\r\n')
    while len(got) < SIZE:                                            # QL §2.1.8
        port.s.write(b'AT+QIRD=0,1500\r')
        head = port.read_until(rb'\+QIRD: (\d+)\r\n')
        n = int(re.search(rb'\+QIRD: (\d+)', head).group(1))
        got += port.read_exact(n)
        port.read_until(rb'OK\r\n')
        if not n:
            time.sleep(0.05)
    port.cmd('AT+QICLOSE=0')
    assert got == data


def test_telit(sim, tcp_echo_server):
    port = sim('telit', '--variant', 'he910')
    data = os.urandom(SIZE)
    port.cmd('ATE0')
    port.cmd('AT+CGDCONT=1,"IP","internet"')                         # IP Easy §4.1
    port.cmd('AT#SGACT=1,1', timeout_s=20)                           # §4.2
    port.cmd('AT#SD=1,0,%d,"echo.test",0,0,1' % tcp_echo_server.port)  # §8.1, command mode
    for off in range(0, SIZE, 1500):                                  # §8.4
        chunk = data[off:off + 1500]
        port.s.write(b'AT#SSENDEXT=1,%d\r' % len(chunk))
        port.read_until(rb'> ')
        port.s.write(chunk)
        port.read_until(rb'OK\r\n')
    got = b''
    deadline = time.monotonic() + 30
    while len(got) < SIZE and time.monotonic() < deadline:            # §8.5
        port.s.write(b'AT#SRECV=1,1500\r')
        head = port.read_until(rb'(#SRECV: 1,(\d+)\r\n|ERROR\r\n)')
        m = re.search(rb'#SRECV: 1,(\d+)', head)
        if not m:
            time.sleep(0.05)
            continue
        got += port.read_exact(int(m.group(1)))
        port.read_until(rb'OK\r\n')
    port.cmd('AT#SH=1')                                              # §6.5
    assert got == data


def test_wavecom(sim, tcp_echo_server):
    port = sim('wavecom', '--variant', 'multitech')
    data = os.urandom(SIZE)
    port.cmd('ATE0')
    for text in ('AT+WOPEN=1', 'AT#GPRSMODE=1', 'AT#APNSERV="internet"', 'AT+CGATT=1',
                 'AT#TCPSERV=1,"127.0.0.1"', 'AT#TCPPORT=1,%d' % tcp_echo_server.port,
                 'AT#DLEMODE=1,1'):
        port.cmd(text, final=rb'(OK|ERROR|#CME ERROR[^\r]*)\r\n')
    port.cmd('AT#CONNECTIONSTART', final=rb'O[Kk]_Info_GPRSActivation\r\n', timeout_s=20)
    port.cmd('AT#OTCP=1', final=rb'O[Kk]_Info_WaitingForData\r\n')  # MT: data mode follows
    escaped = bytearray()
    for b in data:                                                    # digest C.3
        if b in (DLE, ETX):
            escaped.append(DLE)
        escaped.append(b)
    got = bytearray()
    pending = b''
    for off in range(0, len(escaped), 1024):
        port.s.write(escaped[off:off + 1024])
        pending += port.s.read(4096)
        got, pending = _undle(got, pending)
    deadline = time.monotonic() + 30
    while len(got) < SIZE and time.monotonic() < deadline:
        pending += port.s.read(4096)
        got, pending = _undle(got, pending)
    port.s.write(bytes([ETX]))                                        # a bare ETX closes
    port.buf = pending
    port.read_until(rb'O[Kk]_Info_SocketClosed', timeout_s=10)
    assert bytes(got) == data


def _undle(got, pending):
    """Decode DLE pairs; keep a trailing lone DLE for the next read."""
    i = 0
    while i < len(pending):
        b = pending[i]
        if b == DLE:
            if i + 1 == len(pending):
                break
            got.append(pending[i + 1])
            i += 2
        else:
            got.append(b)
            i += 1
    return got, pending[i:]
