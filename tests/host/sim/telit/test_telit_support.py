"""Shared helpers for the Telit emulator tests (no tests here): harness factories, a replayer for
the seed's golden transcripts, binary-safe socket I/O, a second serial port on the same loop, and
real local peers (pyftpdlib FTP server, mosquitto broker, a one-shot HTTP server).

All servers bind 127.0.0.1 on ephemeral ports and are stopped by their fixtures."""

import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from harness import Harness, split_lines
from mktools.sim.telit.modem import TelitModem
from mktools.sim.core.wire import Wire

GUARD_S = 0.2                   # ATS12 guard time the tests run with (the default is 1 s)
COMMENT = re.compile(r'\s*←.*$')
ANY = '<any>'
SRECV_HEADER = re.compile(rb'\r\n#SRECV: (?:"[\d.]+",\d+,)?(\d+),(\d+)(?:,(\d+))?\r\n')


def make_harness(variant='he910', config=None, define=(1,), activate=(), **kw):
    """A Telit harness (fake clock, verbose errors) with cids `define` defined and `activate`
    activated through #SGACT."""
    config = dict(config or {})
    hosts = {'address': '127.0.0.1', **config.pop('hosts', {})}
    h = Harness(TelitModem, config={'variant': variant, 'activation_s': 0.5, 'hosts': hosts,
                                    'guard_s': GUARD_S, **config}, **kw)
    assert h.cmd('AT+CMEE=2') == ['OK']
    for cid in sorted(set(define) | set(activate)):
        assert h.cmd(f'AT+CGDCONT={cid},"IP","Access_Point_Name"') == ['OK']
    for cid in activate:
        reply = h.cmd(f'AT#SGACT={cid},1')
        assert reply[-1] == 'OK', reply
    return h


@pytest.fixture
def th():
    """HE910 with cid 1 defined and active."""
    with make_harness(activate=(1,)) as h:
        yield h


# -- raw I/O --------------------------------------------------------------------------------

def raw_cmd(h, line, timeout_s=10.0):
    """Send `line` and return every byte up to and including its final result (binary-safe)."""
    h.mark = len(h.rx)
    done = h.modem.results
    h.write(line + '\r')
    h.wait_for(lambda: h.modem.results > done and not h.wire.in_flight(), timeout_s)
    return h.read()


def send_ext(h, conn_id, data):
    """#SSENDEXT one chunk of binary data; asserts the prompt and the OK, and leaves what
    follows the OK (URCs) unread."""
    assert h.cmd(f'AT#SSENDEXT={conn_id},{len(data)}')[-1] == '>'
    h.write(data)
    h.wait_for(lambda: h.rx.find(b'\r\nOK\r\n', h.mark) >= 0)
    h.mark = h.rx.find(b'\r\nOK\r\n', h.mark) + 6


def srecv(h, conn_id, size):
    """#SRECV; returns the data bytes (empty when the socket had none).  Output after the
    final OK (URCs) is left unread."""
    start = len(h.rx)
    out = raw_cmd(h, f'AT#SRECV={conn_id},{size}')
    match = SRECV_HEADER.search(out)
    assert match, out
    count = int(match.group(2) if match.group(3) is None else match.group(3))
    end = match.end() + count
    assert out[end:end + 6] == b'\r\nOK\r\n', out
    h.mark = start + end + 6
    return out[match.end():end]


def escape(h, port=None):
    """The guarded `+++` (the port's ATS12 guard time before and after)."""
    port = port or h
    guard = port.modem.guard_s + 0.05
    h.advance(guard)
    port.write(b'+++')
    h.advance(guard)


# -- a second serial port on the same loop --------------------------------------------------

class Port:
    """Another DTE on the harness's loop: a second module, or another AT instance
    (`TelitModem.spawn_instance`).  Offers the harness's `rx`/`write`/`cmd`."""

    def __init__(self, h, modem):
        self.h = h
        self.modem = modem
        self.rx = bytearray()
        self.mark = 0
        self.wire = Wire(h.loop)
        modem.attach(self.wire)
        self.wire.dte = self

    def deliver(self, data):
        self.rx += data

    def write(self, data):
        self.wire.from_dte(data.encode('latin-1') if isinstance(data, str) else data)
        self.h.advance(0)

    def cmd(self, line, timeout_s=10.0):
        self.mark = len(self.rx)
        done = self.modem.results
        self.write(line + '\r')
        self.h.wait_for(lambda: self.modem.results > done or self.modem.mode == 'prompt',
                        timeout_s)
        out, self.mark = bytes(self.rx[self.mark:]), len(self.rx)
        echo = (line + '\r').encode('latin-1')
        return split_lines(out[len(echo):] if out.startswith(echo) else out)

    def lines(self, timeout_s=0.0):
        self.h.advance(timeout_s)
        out, self.mark = bytes(self.rx[self.mark:]), len(self.rx)
        return split_lines(out)


# -- golden transcripts ---------------------------------------------------------------------

def _matches(got, expected):
    if len(got) != len(expected):
        return False
    for line, pattern in zip(got, expected):
        if ANY in pattern:
            regex = '.*?'.join(re.escape(part) for part in pattern.split(ANY))
            if not re.fullmatch(regex, line):
                return False
        elif line != pattern:
            return False
    return True


def replay(h, transcript, dte=None, actions=None, timeout_s=15.0, **values):
    """Play a seed transcript line by line and compare every output line.

    `AT...` lines are typed; `> text` expects the prompt then types `text` (`<Ctrl-Z>` = 0x1A);
    `+++` is the guarded escape; `<type:text>` types online data; `<advance:s>` lets `s` fake
    seconds pass; `<name>` runs `actions[name]()`; `<line:text>` and any other line is an
    expected output line (`<any>` matches any text).  `← comments` (the seed's own) are
    dropped, `{name}` is filled from `values`.  Echo is turned off first, as the transcripts
    show each command once."""
    port = dte or h
    actions = actions or {}
    assert port.cmd('ATE0')[-1] == 'OK'
    start = len(port.rx)
    expected = []

    def received():
        return split_lines(bytes(port.rx[start:]))

    def settle():
        try:
            h.wait_for(lambda: _matches(received(), expected), timeout_s)
        except AssertionError:
            pass
        assert _matches(received(), expected), (received(), expected)

    for raw in transcript.strip().splitlines():
        line = COMMENT.sub('', raw).strip().format(**values)
        if not line:
            continue
        if line.upper().startswith('AT'):
            settle()
            port.write(line + '\r')
        elif line.startswith('>'):
            expected.append('>')
            settle()
            port.write(line[1:].strip().replace('<Ctrl-Z>', '\x1a'))
        elif line == '+++':
            settle()
            escape(h, port)
        elif line.startswith('<type:'):
            settle()
            port.write(line[6:-1])
        elif line.startswith('<line:'):
            expected.append(line[6:-1])
        elif line.startswith('<advance:'):
            settle()
            h.advance(float(line[9:-1]))
        elif line.startswith('<') and line.endswith('>') and line[1:-1] in actions:
            settle()
            actions[line[1:-1]]()
        else:
            expected.append(line)
    settle()
    h.advance(0.2)                  # nothing unexpected trails the last line
    assert _matches(received(), expected), (received(), expected)


# -- peers ----------------------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class FtpServer:
    """pyftpdlib on 127.0.0.1 in a thread; user 'username'/'password', root `self.root`."""

    def __init__(self, root):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer

        authorizer = DummyAuthorizer()
        authorizer.add_user('username', 'password', str(root), perm='elradfmwMT')

        class Handler(FTPHandler):
            banner = 'emulator test FTP server'
            auth_failed_timeout = 0

            def ftp_PWD(self, line):
                # GT-21 shows the reply as '257 "/"' (pyftpdlib adds a sentence)
                self.respond(f'257 "{self.fs.cwd}"')

        Handler.authorizer = authorizer
        self.root = root
        self.server = FTPServer(('127.0.0.1', 0), Handler)
        self.server.max_cons = 16
        self.port = self.server.socket.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            self.server.serve_forever(timeout=0.05, blocking=False)
        self.server.close_all()

    def path(self, name):
        return os.path.join(self.root, name)

    def close(self):
        self._stop = True
        self._thread.join(5.0)


@pytest.fixture
def ftp_server(tmp_path):
    server = FtpServer(tmp_path)
    yield server
    server.close()


class Mosquitto:
    """A private mosquitto instance on 127.0.0.1 and an ephemeral port."""

    def __init__(self, workdir):
        self.port = free_port()
        conf = workdir / 'mosquitto.conf'
        conf.write_text(f'listener {self.port} 127.0.0.1\nallow_anonymous true\n'
                        'persistence false\n')
        self.proc = subprocess.Popen([shutil.which('mosquitto'), '-c', str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError('mosquitto did not start')

    def publish(self, topic, payload, retain=False):
        """Publish with paho (an independent client), blocking until sent."""
        from paho.mqtt import publish
        publish.single(topic, payload, hostname='127.0.0.1', port=self.port, retain=retain)

    def close(self):
        self.proc.terminate()
        self.proc.wait(5.0)


@pytest.fixture
def broker(tmp_path):
    if shutil.which('mosquitto') is None:
        pytest.skip('mosquitto is not installed (apt-get install mosquitto)')
    server = Mosquitto(tmp_path)
    yield server
    server.close()


class OneShotHttp:
    """Answers one HTTP request with a fixed response, then closes (GT-16's server)."""

    RESPONSE = (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n'
                b'Connection: close\r\n\r\n<html></html>\r\n')

    def __init__(self):
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.settimeout(5.0)
        self.port = self.listener.getsockname()[1]
        self.request = b''
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5.0)
            while b'\r\n\r\n' not in self.request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                self.request += chunk
            conn.sendall(self.RESPONSE)

    def close(self):
        self.listener.close()
        self._thread.join(5.0)


@pytest.fixture
def http_server():
    server = OneShotHttp()
    yield server
    server.close()
