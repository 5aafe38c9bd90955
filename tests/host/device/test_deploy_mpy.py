"""`modemkit deploy` to the MicroPython unix port through mpremote, reached through a pty (two
ptys joined by socat) or a socket:// URL; the telemetry app then runs from the slot it was
written to and publishes through the emulated Quectel module to a real broker."""

import json
import re
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import serial

from conftest import Subscriber
from deploy_rig import ROOT, env_with_tools
from mktools.device import deploy

HEAP = '256K'


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


@pytest.fixture
def quectel_sim(tmp_path):
    link = str(tmp_path / 'ttyQuectel')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'quectel', '--pty', link,
         '--host', 'broker.test=127.0.0.1'],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env_with_tools())
    assert 'modemkit sim' in proc.stdout.readline()
    yield link
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def board_file(tmp_path, modem_tty, broker_port, device):
    board = json.loads((ROOT / 'boardcfg' / 'desktop-quectel.json').read_text())
    board['serial']['port'] = modem_tty
    board['mqtt'].update(port=broker_port, device=device)
    board['telemetry'].update(period_ms=300)
    board['telemetry'].pop('ntp', None)
    path = tmp_path / 'board.json'
    path.write_text(json.dumps(board))
    return path


def micropython(cwd, tty):
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
    try:
        return subprocess.Popen([mp, '-X', f'heapsize={HEAP}'], cwd=cwd, stdin=fd, stdout=fd,
                                stderr=fd)
    finally:
        os.close(fd)


def stop(*procs):
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


class SocketConsole:
    """The unix port's REPL on a pty, served on a loopback TCP port (one client at a time), so
    that mpremote reaches it as socket://127.0.0.1:PORT.  Output while no client is connected
    is kept (bounded) for the test to read."""

    def __init__(self, cwd):
        self.master, slave = os.openpty()
        import tty
        tty.setraw(slave)
        self.proc = micropython(cwd, os.ttyname(slave))
        os.close(slave)
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.output = bytearray()
        self.client = None
        self.running = True
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        import select
        while self.running:
            fds = [self.master, self.listener] + ([self.client] if self.client else [])
            ready = select.select(fds, [], [], 0.2)[0]
            if self.listener in ready:
                conn, _ = self.listener.accept()
                # small REPL exchanges: no Nagle delay on the bridge's side
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.client:
                    self.client.close()
                self.client = conn
            if self.master in ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                if self.client:
                    try:
                        self.client.sendall(data)
                    except OSError:
                        self.client = None
                else:
                    self.output = (self.output + data)[-65536:]
            if self.client and self.client in ready:
                data = self.client.recv(4096)
                if hasattr(socket, 'TCP_QUICKACK'):
                    # ack at once: pyserial's socket:// client leaves Nagle on, and a delayed
                    # ack would hold each small REPL write back by tens of milliseconds
                    self.client.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                if data:
                    os.write(self.master, data)
                else:
                    self.client.close()
                    self.client = None

    def close(self):
        self.running = False
        self.thread.join(2)
        stop(self.proc)
        self.listener.close()
        os.close(self.master)


def published(broker_port, device, count, timeout_s=30):
    sub = Subscriber(broker_port, f'modemkit/{device}/#')
    try:
        msgs = sub.wait_for(count, timeout_s)
    finally:
        sub.stop()
    return [json.loads(p) for t, p in msgs if t.endswith('/telemetry')]


def test_deploy_through_a_pty_then_the_app_runs_and_publishes(quectel_sim, mosquitto, tmp_path,
                                                              capsys):
    socat = shutil.which('socat')
    if not socat:
        pytest.skip('socat is not installed (make sysdeps installs it)')
    dev = tmp_path / 'device'
    dev.mkdir()
    a, b = str(tmp_path / 'ttyA'), str(tmp_path / 'ttyB')
    link = subprocess.Popen([socat, f'pty,raw,echo=0,link={a}', f'pty,raw,echo=0,link={b}'])
    mp = None
    try:
        for _ in range(50):
            if os.path.exists(a) and os.path.exists(b):
                break
            time.sleep(0.05)
        mp = micropython(str(dev), a)
        board = board_file(tmp_path, quectel_sim, mosquitto.port, 'mpy-pty')
        code = deploy.main(['telemetry', '--board', str(board), '--port', b, '--start',
                            'exec'])
        err = capsys.readouterr().err
        assert code == 0, err
        assert re.search(r'verified \d+ files by SHA-256', err)
        assert "SLOT = 'a'" in (dev / 'main.py').read_text()
        assert (dev / 'a' / 'modemkit' / 'at.mpy').exists()
        # drain the console while the app runs, or it blocks on a full pty
        console = serial.Serial(b, 115200, timeout=0.1)
        seen = bytearray()
        stop_reading = threading.Event()

        def drain():
            while not stop_reading.is_set():
                seen.extend(console.read(4096))

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            samples = published(mosquitto.port, 'mpy-pty', 4)
        finally:
            stop_reading.set()
            reader.join(2)
            console.close()
        assert len(samples) >= 3, seen[-500:]
        assert b'modemkit.mqtt: up' in seen
    finally:
        stop(mp, link)


def test_deploy_through_a_socket_url_into_the_other_slot(quectel_sim, mosquitto, tmp_path,
                                                         capsys):
    dev = tmp_path / 'device'
    dev.mkdir()
    console = SocketConsole(str(dev))
    try:
        board = board_file(tmp_path, quectel_sim, mosquitto.port, 'mpy-socket')
        url = f'socket://127.0.0.1:{console.port}'
        # a first app in slot a, not started; the deploy under test goes to slot b
        assert deploy.main(['telemetry', '--board', str(board), '--port', url, '--start',
                            'none', '--version', '1.0']) == 0
        assert deploy.main(['telemetry', '--board', str(board), '--port', url, '--start',
                            'exec', '--version', '2.0']) == 0
        err = capsys.readouterr().err
        assert 'slot b (enabled now: a)' in err
        main_py = (dev / 'main.py').read_text()
        assert "SLOT = 'b'" in main_py and "VERSION = '2.0'" in main_py
        assert (dev / 'a' / 'appmain.mpy').exists() and (dev / 'b' / 'appmain.mpy').exists()
        samples = published(mosquitto.port, 'mpy-socket', 4)
        assert len(samples) >= 3, bytes(console.output[-500:])
    finally:
        console.close()


def test_unreachable_device_is_reported(tmp_path, capsys):
    board = board_file(tmp_path, '/dev/null', 1883, 'x')
    code = deploy.main(['telemetry', '--board', str(board), '--port',
                        str(tmp_path / 'no-such-tty'), '--timeout', '20'])
    assert code == 2
    assert 'FAILED: reading main.py' in capsys.readouterr().err
