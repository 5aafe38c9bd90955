"""Each dialect driver on the real MicroPython unix port, under a hard heap cap, talking
through a pseudo-terminal to `modemkit sim` (a separate process), which bridges to loopback
servers: TCP echo of 100 KB, UDP, a listener, DNS, ping and NTP where the dialect has them."""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from mktools.dev import romrun

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
# the heap cap, the code in ROM as on a device (mktools.dev.romrun; README, "Memory")
HEAP = os.environ.get('MODEMKIT_NET_HEAP', '64K')
SIM_VARIANT = {'quectel': [], 'telit': ['--variant', 'he910'], 'wavecom': ['--variant', 'multitech']}


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


class Sim:
    def __init__(self, dialect, link):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
             '--host', 'echo.test=127.0.0.1', '--host', 'time.test=127.0.0.1']
            + SIM_VARIANT[dialect],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=romrun.child_env())
        line = self.proc.stdout.readline()
        if 'modemkit sim' not in line:
            raise RuntimeError('sim did not start: %r' % line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.mark.parametrize('dialect', ['quectel', 'telit', 'wavecom'])
def test_driver_on_micropython_through_pty(dialect, tmp_path, tcp_echo_server,
                                          udp_echo_server, sntp_server):
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    from conftest import free_port
    link = str(tmp_path / 'ttyMODEM')
    listen_port = free_port()
    sim = Sim(dialect, link)
    lines = []
    client_said = []
    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='netcheck',
                           rom=[os.path.join(ROOT, 'tests', 'mpy', 'netcheck.py')],
                           args=['/rom/lib', dialect, link, tcp_echo_server.port,
                                 udp_echo_server.port, listen_port, sntp_server.port]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 240
        for line in app.stdout:
            lines.append(line.rstrip())
            if line.startswith('listening '):
                threading.Thread(target=_client, args=(listen_port, client_said),
                                 daemon=True).start()
            if line.startswith('done') or time.monotonic() > deadline:
                break
        app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
        sim.stop()
    out = '\n'.join(lines)
    assert 'done' in lines, out
    assert not [l for l in lines if l.startswith('FAIL')], out
    assert 'ok echo 102400 bytes intact' in lines, out
    assert 'ok udp udp hello' in lines, out
    assert 'ok listen ping' in lines and client_said == [b'pong'], out


def _client(port, said):
    time.sleep(0.2)
    with socket.create_connection(('127.0.0.1', port), timeout=20) as c:
        c.sendall(b'ping')
        said.append(c.recv(64))
