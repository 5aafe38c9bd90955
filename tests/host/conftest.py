"""Shared fixtures for host tests: loopback echo servers on ephemeral ports.

The servers run in one background thread each, bind 127.0.0.1 only, keep bounded state and are
stopped by the fixture.  `tcp_echo_server.drop_all(reset=...)` closes (FIN) or resets (RST) the
server side of every connection, for peer-close tests.
"""

import os
import selectors
import socket
import struct
import sys
import threading

import pytest

RECORD_MAX = 1 << 20
OUT_MAX = 1 << 16                   # echo bytes held per connection before reading stops


class TcpEchoServer:
    """Echoes every byte back on each connection; records what it received (bounded)."""

    def __init__(self):
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.address = ('127.0.0.1', self.port)
        self.received = bytearray()
        self.accepted = 0
        self.echo = True
        self._conns = set()
        self._out = {}                      # conn -> echo bytes not yet sent
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._requests = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            for key, events in self._selector.select(1.0):
                sock = key.fileobj
                if sock is self.listener:
                    self._accept()
                elif sock is self._wake_r:
                    sock.recv(64)
                    self._do_requests()
                else:
                    if events & selectors.EVENT_WRITE:
                        self._flush(sock)
                    if events & selectors.EVENT_READ and sock in self._conns:
                        self._serve(sock)
        for conn in list(self._conns):
            self._drop(conn, reset=False)

    def _accept(self):
        try:
            conn, _ = self.listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        self._conns.add(conn)
        self._out[conn] = bytearray()
        self.accepted += 1
        self._selector.register(conn, selectors.EVENT_READ)

    def _serve(self, conn):
        try:
            data = conn.recv(65536)
        except OSError:
            data = b''
        if not data:
            self._drop(conn, reset=False)
            return
        with self._lock:
            self.received += data[:RECORD_MAX - len(self.received)]
        if self.echo:
            self._out[conn] += data
            self._flush(conn)

    def _flush(self, conn):
        """Send what the peer will take; while echo data waits, stop reading (back-pressure)."""
        out = self._out[conn]
        try:
            sent = conn.send(out) if out else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn, reset=False)
            return
        del out[:sent]
        want = selectors.EVENT_WRITE if out else 0
        if len(out) < OUT_MAX:
            want |= selectors.EVENT_READ
        self._selector.modify(conn, want or selectors.EVENT_WRITE)

    def _drop(self, conn, reset):
        if conn not in self._conns:
            return
        self._selector.unregister(conn)
        self._conns.discard(conn)
        self._out.pop(conn, None)
        if reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        conn.close()

    def _do_requests(self):
        with self._lock:
            requests, self._requests = self._requests, []
        for reset in requests:
            for conn in list(self._conns):
                self._drop(conn, reset)

    def drop_all(self, reset=False):
        """Close (FIN) or reset (RST) the server side of every open connection."""
        with self._lock:
            self._requests.append(reset)
        self._wake_w.send(b'x')

    def connections(self):
        return len(self._conns)

    def close(self):
        self._stop = True
        self._wake_w.send(b'x')
        self._thread.join(5.0)
        self._selector.close()
        for sock in (self.listener, self._wake_r, self._wake_w):
            sock.close()


class UdpEchoServer:
    """Sends every datagram back to its sender; counts them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = ('127.0.0.1', self.port)
        self.datagrams = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.datagrams += 1
            self.sock.sendto(data, addr)

    def close(self):
        self._stop = True
        self._thread.join(5.0)
        self.sock.close()


@pytest.fixture
def tcp_echo_server():
    server = TcpEchoServer()
    yield server
    server.close()


@pytest.fixture
def udp_echo_server():
    server = UdpEchoServer()
    yield server
    server.close()


# The time the test SNTP server serves (Unix seconds, UTC): 2026-03-14 15:09:26, a known answer
# every dialect's NTP result is compared with (QNTP 'YYYY/MM/DD,hh:mm:ss+zz', GP 'yy/mm/dd,...').
SERVED_TIME = 1773500966
SERVED_QNTP = '2026/03/14,15:09:26+00'


class SntpServer:
    """A minimal SNTP server (RFC 4330 server mode) on 127.0.0.1, answering with a fixed transmit
    time (`time_s`, SERVED_TIME unless set; None: this host's clock); counts the requests it
    answered."""

    NTP_EPOCH_OFFSET = 2208988800

    def __init__(self, time_s=SERVED_TIME):
        self.time_s = time_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import time
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(data) < 48:
                continue
            now = (time.time() if self.time_s is None else self.time_s) + self.NTP_EPOCH_OFFSET
            secs, frac = int(now), int((now % 1) * (1 << 32))
            reply = struct.pack('!BBbb11I', 0x24, 2, 6, -20, 0, 0, 0, secs, frac,
                                *struct.unpack('!II', data[40:48]), secs, frac, secs, frac)
            self.requests += 1         # before the reply: a client that has it sees the count
            self.sock.sendto(reply, addr)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def sntp_server():
    server = SntpServer()
    yield server
    server.close()


def read_lines(proc, timeout_s, until=None, on_line=None):
    """The lines `proc` prints (stdout, text mode), stripped, until one starts with `until`,
    the output ends, or `timeout_s` passes: the deadline holds even when the process prints
    nothing at all (a reader thread hands the lines over). On the deadline the process is killed
    and the lines so far are returned."""
    import queue
    import time
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.rstrip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    got = []
    end = time.monotonic() + timeout_s
    while True:
        try:
            line = lines.get(timeout=max(0.0, end - time.monotonic()))
        except queue.Empty:
            proc.kill()
            got.append('(no output for the rest of %d s: killed)' % timeout_s)
            return got
        if line is None:
            return got
        got.append(line)
        if on_line is not None:
            on_line(line)
        if until is not None and line.startswith(until):
            return got


def first_line(proc, timeout_s=30):
    """The first line `proc` prints, within `timeout_s` (else the process is killed and '' is
    returned); what it prints afterwards is read and dropped, so a chatty process never blocks
    on a full pipe."""
    import queue
    first = queue.Queue()

    def pump():
        it = iter(proc.stdout)
        first.put(next(it, ''))
        for _ in it:
            pass

    threading.Thread(target=pump, daemon=True).start()
    try:
        return first.get(timeout=timeout_s)
    except queue.Empty:
        proc.kill()
        return ''


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Mosquitto:
    """A real mosquitto broker on 127.0.0.1 (mktools.dev.demo.Broker), logging to its folder."""

    def __init__(self, tmpdir):
        from mktools.dev.demo import Broker, MissingBroker
        self.log_path = os.path.join(str(tmpdir), 'mosquitto.log')
        try:
            self._broker = Broker(str(tmpdir), extra='log_dest file %s\nlog_type all'
                                  % self.log_path)
        except MissingBroker as e:
            pytest.skip(str(e))
        self.port = self._broker.port

    def stop(self):
        self._broker.stop()


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(tmp_path)
    yield broker
    broker.stop()


class Subscriber:
    """An independent paho-mqtt subscriber collecting (topic, payload) pairs."""

    def __init__(self, port, topic):
        import paho.mqtt.client as mqtt
        self.messages = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id='test-subscriber')
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.client.connect('127.0.0.1', port)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError('subscriber did not subscribe')

    def wait_for(self, count, timeout_s=20):
        import time
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


# -- the fuzzing properties (tests/host/fuzz/fuzzing.py) ----------------------------------------

def pytest_collection_modifyitems(config, items):
    fuzzing = sys.modules.get('fuzzing')
    if fuzzing is not None:
        fuzzing.share(items)


def pytest_terminal_summary(terminalreporter):
    fuzzing = sys.modules.get('fuzzing')
    if fuzzing is not None:
        fuzzing.summary(terminalreporter)
