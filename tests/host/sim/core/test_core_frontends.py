"""Frontends: a pty with a symlink, a raw TCP port, and modemkit's in-process FakeUart."""

import os
import socket
import time

import pytest
import serial

from mktools.sim.core.frontends import PtyFrontend, TcpFrontend, in_process
from mktools.sim.core.loop import Loop
from mktools.sim.core.modem import Modem
from mktools.sim.core.net import Net
from mktools.sim.core.wire import Wire
from modemkit.fakeuart import FakeClock, FakeUart
from test_core_harness import DialModem


def real_modem():
    loop = Loop()
    wire = Wire(loop)
    modem = Modem(loop, Net(loop), {})
    modem.attach(wire)
    return loop, wire, modem


def pump(loop, read, want, timeout_s=3.0):
    """Run the real-clock loop until `read()` has returned `want` in total (bounded)."""
    got = b''
    deadline = time.monotonic() + timeout_s
    while want not in got and time.monotonic() < deadline:
        loop.run_once(0.01)
        got += read()
    return got


def test_pty_with_symlink(tmp_path):
    loop, wire, _ = real_modem()
    link = str(tmp_path / 'ttyMODEM')
    front = PtyFrontend(loop, wire, link=link)
    try:
        assert os.path.realpath(link) == front.path
        with serial.Serial(link, 115200, timeout=0) as port:
            port.write(b'AT\r')
            assert pump(loop, port.read_all, b'OK\r\n') == b'AT\r\r\nOK\r\n'
            port.write(b'ATE0\r')
            assert pump(loop, port.read_all, b'OK\r\n') == b'ATE0\r\r\nOK\r\n'
        # the pty survives the DTE closing and reopening it
        with serial.Serial(link, 115200, timeout=0) as port:
            port.write(b'AT\r')
            assert pump(loop, port.read_all, b'OK\r\n') == b'\r\nOK\r\n'
    finally:
        front.close()
        loop.close()
    assert not os.path.lexists(link)


def test_pty_refuses_to_replace_a_regular_file(tmp_path):
    loop, wire, _ = real_modem()
    path = tmp_path / 'notalink'
    path.write_text('keep me')
    with pytest.raises(FileExistsError):
        PtyFrontend(loop, wire, link=str(path))
    assert path.read_text() == 'keep me'


def test_tcp_frontend_one_client_at_a_time():
    loop, wire, _ = real_modem()
    front = TcpFrontend(loop, wire)
    try:
        with socket.create_connection(('127.0.0.1', front.port), timeout=2.0) as dte:
            dte.setblocking(False)

            def read():
                try:
                    return dte.recv(4096)
                except BlockingIOError:
                    return b''
            pump(loop, lambda: b'', b'never', timeout_s=0.05)   # let the accept happen
            dte.sendall(b'AT\r')
            assert pump(loop, read, b'OK\r\n') == b'AT\r\r\nOK\r\n'
            with socket.create_connection(('127.0.0.1', front.port), timeout=2.0) as second:
                pump(loop, lambda: b'', b'never', timeout_s=0.05)
                second.settimeout(2.0)
                assert second.recv(10) == b''                    # refused: closed at once
    finally:
        front.close()
        loop.close()


def test_tcp_frontend_listens_on_loopback_only():
    loop, wire, _ = real_modem()
    with pytest.raises(ValueError):
        TcpFrontend(loop, wire, host='0.0.0.0')


def read_uart(uart, clock, ms):
    """What the host reads within `ms` fake milliseconds, 3 bytes at a time."""
    out = bytearray()
    buf = bytearray(16)
    end = clock.now + ms
    while clock.now < end:
        if uart.wait_readable(end - clock.now):
            out += buf[:uart.readinto(buf)]
    while uart.any():
        out += buf[:uart.readinto(buf)]
    return bytes(out)


def test_in_process_behind_fake_uart():
    clock = FakeClock()
    uart = FakeUart(clock, chunk=3)
    front = in_process(Modem, uart, config={'turnaround_s': 0.05})
    uart.write(b'AT\r')
    assert read_uart(uart, clock, 40) == b'AT\r'
    assert read_uart(uart, clock, 20) == b'\r\nOK\r\n'
    assert clock.now == 60 and front.loop.now() == pytest.approx(0.06, abs=1e-6)


def test_in_process_paced_by_baud_rate():
    clock = FakeClock(start=1000)
    uart = FakeUart(clock, chunk=3)
    front = in_process(Modem, uart, config={'baud': 9600})
    uart.write(b'ATE0\r')
    # 5 bytes up (5.2 ms), then the echo's last byte and six bytes of OK down
    assert read_uart(uart, clock, 20) == b'ATE0\r\r\nOK\r\n'
    assert front.wire.count_down == 11 and front.wire.count_up == 5


def test_in_process_reaches_a_loopback_server(tcp_echo_server):
    clock = FakeClock()
    uart = FakeUart(clock, chunk=3, size=4096)
    front = in_process(DialModem, uart)
    line = f'ATE0;+OPEN="127.0.0.1",{tcp_echo_server.port}\r'.encode()
    uart.write(line)
    assert read_uart(uart, clock, 500) == line + b'\r\nCONNECT\r\n'
    uart.write(b'echo me')
    assert read_uart(uart, clock, 500) == b'echo me'
    front.net.close_all()
