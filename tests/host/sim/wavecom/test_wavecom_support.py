"""Helpers and loopback servers shared by the Wavecom emulator tests (no tests in here).

`ftp_server` runs pyftpdlib on 127.0.0.1 (ephemeral port, temporary root, one user);
`sntp_server` answers SNTP client requests with a fixed transmit time.
"""

import socket
import struct
import threading

import pytest

from harness import Harness
from mktools.sim.wavecom.modem import WavecomModem

DLE, ETX = b'\x10', b'\x03'
FTP_USER, FTP_PASSWORD = 'modem', 'secret'


def modem(variant='multitech', **config):
    """A harness around a Wavecom modem of `variant` (fake clock)."""
    return Harness(WavecomModem, config={'variant': variant, 'activation_s': 0.5, **config})


def connect(h, apn='internet'):
    """`#APNSERV` then `#CONNECTIONSTART`; returns the IP line."""
    assert h.cmd(f'AT#APNSERV="{apn}"') == ['OK']
    lines = h.cmd('AT#CONNECTIONSTART')
    assert lines[1] == h.modem.info('GprsActivation')
    return lines[0]


def read_until(h, marker, timeout_s=10.0):
    """Advance until `marker` appears in the unread output; return that output, consumed."""
    h.wait_for(lambda: marker in h.rx[h.mark:], timeout_s)
    return h.read()


class FtpServer:
    """pyftpdlib on 127.0.0.1 in a thread, its root a temporary directory."""

    def __init__(self, root):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
        self.root = root
        (root / 'sub').mkdir()
        authorizer = DummyAuthorizer()
        authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm='elradfmw')
        authorizer.add_user('ftlogin', 'ftppassword', str(root), perm='elradfmw')   # MT App. A
        handler = type('Handler', (FTPHandler,), {'authorizer': authorizer,
                                                  'auth_failed_timeout': 0})
        self.server = FTPServer(('127.0.0.1', 0), handler)
        self.port = self.server.address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={'timeout': 0.05, 'handle_exit': False},
            daemon=True)
        self.thread.start()

    def close(self):
        self.server.close_all()
        self.thread.join(5.0)


@pytest.fixture
def ftp_server(tmp_path):
    import logging
    logging.getLogger('pyftpdlib').setLevel(logging.WARNING)
    server = FtpServer(tmp_path)
    yield server
    server.close()


class SntpServer:
    """Answers every 48-byte SNTP request with mode 4 and `transmit` (NTP seconds)."""

    def __init__(self, transmit):
        self.transmit = transmit
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.silent = False
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            self.requests.append(data[:48])
            if self.silent:
                continue
            reply = bytes([0x1C]) + bytes(39) + struct.pack('!II', self.transmit, 0)
            self.sock.sendto(reply, addr)

    def close(self):
        self._stop = True
        self.thread.join(5.0)
        self.sock.close()


# 2007-06-01 03:24:36 UTC (GP §7.5.3 prints 12:54:36 with the +9:30 offset)
SNTP_TIME = 1180668276 + 2208988800


@pytest.fixture
def sntp_server():
    server = SntpServer(SNTP_TIME)
    yield server
    server.close()
