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

from conftest import SERVED_QNTP, first_line, read_lines
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
        line = first_line(self.proc)
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
    app = None

    def on_line(line):
        if line.startswith('listening '):
            threading.Thread(target=_client, args=(listen_port, client_said),
                             daemon=True).start()

    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='netcheck',
                           rom=[os.path.join(ROOT, 'tests', 'mpy', 'netcheck.py')],
                           args=['/rom/lib', dialect, link, tcp_echo_server.port,
                                 udp_echo_server.port, listen_port, sntp_server.port]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 240, 'done', on_line)
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        sim.stop()
    out = '\n'.join(lines)
    print(out)
    # every check's exact answer, in order (the heap line aside): a service the dialect's
    # manual has must answer, and only one it lacks may print 'skip'
    checks = [l for l in lines if l.split(' ')[0] in ('ok', 'FAIL', 'skip')]
    assert checks == EXPECTED[dialect], out
    assert lines[-1] == 'done', out
    assert client_said == [b'pong'], out
    assert sntp_server.requests == (1 if 'ok ntp ' + SERVED_QNTP in checks else 0)


# What netcheck prints per dialect. The echo.test name resolves to 127.0.0.1 (the sim's --host);
# ping's '2/2 replies' is the emulator answering every echo request on loopback; the NTP answer
# is the fixture's served time. Quectel has all three services (QL §2.1.12-§2.1.14). IP Easy
# (T-IPE) gives no DNS query command (names go straight to #SD and #PING, §6.2) and no NTP
# command (only a #PROTOCOLCFG service slot, §9.2); the Multi-Tech stack (MT) resolves names
# only inside its own commands ("Using the DNS Service") and has no SNTP (that is GenPro's
# #EGNTP, another variant).
COMMON = ['ok echo 102400 bytes intact', 'ok udp udp hello', 'ok listen ping']
EXPECTED = {
    'quectel': COMMON + ['ok dns 127.0.0.1', 'ok ping 2/2 replies', 'ok ntp ' + SERVED_QNTP],
    'telit': COMMON + ['skip dns (no dns on this module)', 'ok ping 2/2 replies',
                       'skip ntp (no ntp on this module)'],
    'wavecom': COMMON + ['skip dns (no dns on this module)', 'ok ping 2/2 replies',
                         'skip ntp (no ntp on this module)'],
}


def _client(port, said):
    time.sleep(0.2)
    with socket.create_connection(('127.0.0.1', port), timeout=20) as c:
        c.sendall(b'ping')
        said.append(c.recv(64))


def test_a_silent_process_meets_the_deadline():
    # the wait above must end on time even when the device side prints nothing at all
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],
                            stdout=subprocess.PIPE, text=True)
    t = time.monotonic()
    try:
        lines = read_lines(proc, 1.0, 'done')
    finally:
        proc.kill()
        proc.wait(5)
    assert time.monotonic() - t < 5
    assert lines == ['(no output for the rest of 1 s: killed)']
