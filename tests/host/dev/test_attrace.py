"""`modemkit trace` renders a session recorded by `modemkit sim --trace/--log` (a Quectel
emulator on a loopback TCP port, driven over a socket against a real TCP echo server): one line
per exchange with its duration, the error marked, the URC on its own line, the data phases as byte
counts and never their contents; `--follow` shows a live session as it grows."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from mktools import ROOT
from mktools.dev import attrace, romrun

SECRET_UP = b'up-secret-0123456789'
SECRET_DOWN = b'down-secret-abcdefghij'


def start_sim(tmp_path, *extra):
    trace, log = tmp_path / 'at.trace', tmp_path / 'sim.log'
    proc = subprocess.Popen([sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'quectel',
                             '--tcp', '127.0.0.1:0', '--trace', str(trace), '--log', str(log),
                             '--activation-ms', '50', *extra],
                            cwd=ROOT, env=romrun.child_env(), stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r'127\.0\.0\.1:(\d+)', line)
    assert m, line
    return proc, int(m.group(1)), trace, log


class Dte:
    """The DTE side over the emulator's TCP port: write a command, read until a final line."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=10)
        self.buf = b''

    def read_until(self, *marks, timeout_s=10):
        end = time.monotonic() + timeout_s
        while not any(m in self.buf for m in marks):
            assert time.monotonic() < end, self.buf[-200:]
            self.buf += self.s.recv(4096)
        i = min(self.buf.find(m) + len(m) for m in marks if m in self.buf)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def cmd(self, text, *marks):
        self.s.sendall(text.encode() + b'\r')
        return self.read_until(*(marks or (b'OK\r\n', b'ERROR\r\n')))


def session(dte, echo_port):
    """A few commands: plain, an error, a socket with a data phase each way and its URC."""
    assert b'OK' in dte.cmd('AT')
    assert b'+CPIN: READY' in dte.cmd('AT+CPIN?')
    assert b'ERROR' in dte.cmd('AT+NOSUCHCOMMAND')
    assert b'OK' in dte.cmd('AT+QICSGP=1,1,"UNINET","","",1')
    assert b'OK' in dte.cmd('AT+QIACT=1')
    dte.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{echo_port},0,0', b'OK\r\n')
    dte.read_until(b'+QIOPEN: 0,0\r\n')
    dte.cmd(f'AT+QISEND=0,{len(SECRET_UP)}', b'> ')
    dte.s.sendall(SECRET_UP)
    dte.read_until(b'SEND OK\r\n')
    dte.read_until(b'+QIURC: "recv",0\r\n')        # the echo came back (buffer access mode)
    got = dte.cmd('AT+QIRD=0,1500')
    assert SECRET_UP in got
    assert b'OK' in dte.cmd('AT+QICLOSE=0')


@pytest.fixture
def recorded(tmp_path, tcp_echo_server):
    proc, port, trace, log = start_sim(tmp_path)
    try:
        dte = Dte(port)
        session(dte, tcp_echo_server.port)
        dte.s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    return trace, log


def render(*argv):
    r = subprocess.run([sys.executable, '-m', 'mktools.cli', 'trace', '--width', '200', *argv],
                       capture_output=True, text=True, cwd=ROOT, env=romrun.child_env(),
                       timeout=60)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    return r.stdout.splitlines()


def exchange(lines, command):
    found = [ln for ln in lines if re.match(r'^[ !]\s*\d+\.\d{3}\s+\d+\.\d ms  ' + re.escape(
        command) + r'(\s|$)', ln)]
    assert len(found) == 1, (command, lines)
    return found[0]


def test_a_recorded_session_renders_as_exchanges(recorded):
    trace, _ = recorded
    lines = render(str(trace))
    assert exchange(lines, 'AT').endswith('  OK') and exchange(lines, 'AT').startswith(' ')
    assert '+CPIN: READY' in exchange(lines, 'AT+CPIN?')
    bad = exchange(lines, 'AT+NOSUCHCOMMAND')
    assert bad.startswith('!') and bad.endswith('ERROR')
    assert not [ln for ln in lines if ln.startswith('!') and 'NOSUCHCOMMAND' not in ln], lines
    send = exchange(lines, f'AT+QISEND=0,{len(SECRET_UP)}')
    assert f'[{len(SECRET_UP)} B sent]' in send and send.endswith('SEND OK')
    read = exchange(lines, 'AT+QIRD=0,1500')
    assert f'+QIRD: {len(SECRET_UP)}' in read and f'[{len(SECRET_UP)} B received]' in read
    urcs = [ln for ln in lines if 'URC' in ln]
    assert any('+QIOPEN: 0,0' in ln for ln in urcs) and any('"recv",0' in ln for ln in urcs)
    # durations: every exchange has one, in time order
    times = [float(re.match(r'^[ !]\s*(\d+\.\d+)', ln).group(1)) for ln in lines
             if re.match(r'^[ !]\s*\d+\.\d+\s+\d+\.\d ms', ln)]
    assert len(times) == 9 and times == sorted(times)
    assert not any('SECRET' in ln.upper() or 'secret' in ln for ln in lines)
    assert lines[-1].startswith('9 exchanges, 1 errors, 2 URCs, '
                                f'{len(SECRET_UP)} B data sent, {len(SECRET_UP)} B data '
                                'received, slowest ')


def test_the_event_log_merges_on_the_same_clock(recorded):
    trace, log = recorded
    lines = render(str(trace), str(log))
    notes = [ln for ln in lines if ' note ' in ln]
    assert any('DTE client connected' in ln for ln in notes), lines
    # the context came up during AT+QIACT=1: its event follows that exchange's line, and
    # everything with a time is in the order of the trace's clock
    names = [ln.split('note')[1].strip() if ' note ' in ln else ln for ln in lines]
    act = names.index(exchange(lines, 'AT+QIACT=1'))
    assert "'event': 'pdp_active'" in names[act + 1], lines
    times = [float(m.group(1)) for ln in lines if (m := re.match(r'^[ !]\s*(\d+\.\d+)', ln))]
    assert times == sorted(times)


def test_data_without_a_header_and_a_missing_final_are_counted_and_marked(tmp_path):
    trace = tmp_path / 'device.log'
    trace.write_text('\n'.join([
        "10.000000 > b'AT+QISEND=0,5\\r'",
        "10.001000 < b'AT+QISEND=0,5\\r\\r\\n> '",
        "10.002000 > b'hello'",
        "10.010000 < b'\\r\\nSEND OK\\r\\n'",
        "10.020000 > b'ATD*99#\\r'",
        "10.030000 < b'\\r\\nCONNECT\\r\\n'",
        "10.040000 > b'0123456789'",
        "10.050000 < b'abcdefghijklmnopqrstuvwxyz'",
        "11.000000 > b'+++'",
        "12.000000 < b'\\r\\nOK\\r\\n'",
        "at: AT+CSQ timed out after 300 ms",
        "13.000000 > b'AT+CSQ\\r'",
        '']))
    lines = render(str(trace))
    send = exchange(lines, 'AT+QISEND=0,5')
    assert '[5 B sent]' in send and '10.0 ms' in send and 'hello' not in send
    online = exchange(lines, 'ATD*99#')
    assert '[10 B sent]' in online and '[26 B received]' in online and online.endswith('OK')
    assert [ln for ln in lines if ln.startswith('!') and 'timed out' in ln]
    last = [ln for ln in lines if 'AT+CSQ' in ln and 'note' not in ln]
    assert last and last[0].startswith('!') and 'no final result code' in last[0]


def test_unreadable_file_is_one_line_and_status_2(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'mktools.cli', 'trace', str(tmp_path / 'none')],
                       capture_output=True, text=True, cwd=ROOT, env=romrun.child_env(),
                       timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and 'Traceback' not in r.stderr
    assert str(tmp_path / 'none') in r.stderr


def test_follow_shows_a_live_session(tmp_path, tcp_echo_server):
    proc, port, trace, _ = start_sim(tmp_path)
    viewer = None
    try:
        viewer = subprocess.Popen([sys.executable, '-m', 'mktools.cli', 'trace', '--follow',
                                   '--width', '200', str(trace)], cwd=ROOT,
                                  env=romrun.child_env(), stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
        dte = Dte(port)
        assert b'ERROR' in dte.cmd('AT+NOSUCHCOMMAND')
        lines = []
        end = time.monotonic() + 20
        while not any('NOSUCHCOMMAND' in ln for ln in lines) and time.monotonic() < end:
            lines.append(viewer.stdout.readline().rstrip('\n'))
        assert exchange(lines, 'AT+NOSUCHCOMMAND').startswith('!'), lines
        dte.s.close()
        os.killpg(viewer.pid, signal.SIGINT)
        rest, _ = viewer.communicate(timeout=20)
        assert rest.strip().startswith('1 exchanges, 1 errors'), (lines, rest)
        assert viewer.returncode == 0
    finally:
        if viewer and viewer.poll() is None:
            os.killpg(viewer.pid, signal.SIGKILL)
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_decoder_keeps_bounded_state_on_endless_unterminated_output():
    items = []
    d = attrace.Decoder(items.append)
    for i in range(200):
        d.from_dce(float(i), b'x' * 100)
    assert len(d.down) <= attrace.LINE_MAX + 100
    assert sum(x.size for x in items) >= 200 * 100 - attrace.LINE_MAX - 100


def test_a_recorded_demo_renders_every_send_with_its_announced_length(tmp_path):
    # the MQTT packets the demo sends hold bytes like Ctrl-Z (0x1a): in a fixed-length send
    # they are data, not the end of it
    trace = tmp_path / 'demo.trace'
    r = subprocess.run([sys.executable, '-m', 'mktools.cli', 'demo', '--count', '3', '--period',
                        '300', '--quiet', '--trace', str(trace)], capture_output=True, text=True,
                       cwd=ROOT, env=dict(romrun.child_env(), TMPDIR=str(tmp_path)), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = render(str(trace))
    sends = [ln for ln in lines if 'AT+QISEND=' in ln]
    assert len(sends) >= 4, lines
    for ln in sends:
        n = re.search(r'AT\+QISEND=\d+,(\d+)', ln).group(1)
        assert ln.endswith(f'AT+QISEND=0,{n}  >  [{n} B sent]  SEND OK'), ln
    assert not [ln for ln in lines if 'modemkit/' in ln or ln.startswith('!')], lines
    assert re.match(r'^\d+ exchanges, 0 errors, \d+ URCs, \d+ B data sent', lines[-1])


def test_a_modem_eof_pattern_ends_the_data_and_its_ok_closes_the_exchange(tmp_path):
    # Wavecom/Sierra +KTCPRCV: CONNECT, the data, --EOF--Pattern--, then OK in command mode
    trace = tmp_path / 'wavecom.trace'
    trace.write_text('\n'.join([
        "1.000000 > b'AT+KTCPRCV=1,12\\r'",
        "1.010000 < b'\\r\\nCONNECT\\r\\n'",
        "1.020000 < b'hello world!--EOF--Pattern--'",
        "1.030000 < b'\\r\\nOK\\r\\n'",
        "1.040000 < b'\\r\\n+KTCP_DATA: 1,0\\r\\n'",
        '']))
    lines = render(str(trace))
    x = exchange(lines, 'AT+KTCPRCV=1,12')
    assert x.startswith(' ') and '[12 B received]' in x and x.endswith('OK') and '30.0 ms' in x
    assert any('URC' in ln and '+KTCP_DATA: 1,0' in ln for ln in lines)
    assert lines[-1].startswith('1 exchanges, 0 errors, 1 URCs')
