"""`modemkit sim` as a process: a pty link that a serial client can use, clean shutdown."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from mktools.cli import build_parser
from mktools.sim.cli import make_config

ROOT = Path(__file__).resolve().parents[4]


def start(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / 'tools'), str(ROOT / 'lib')]))
    return subprocess.Popen([sys.executable, '-m', 'mktools.sim.cli', *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_line(proc, timeout_s=10.0):
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, 'the emulator printed nothing'
    return proc.stdout.readline().strip()


def read_until(port, want, timeout_s=5.0):
    got = b''
    deadline = time.monotonic() + timeout_s
    while want not in got and time.monotonic() < deadline:
        got += port.read(64)
    return got


@pytest.fixture
def emulator(tmp_path):
    procs = []

    def run(*args):
        proc = start(*args)
        procs.append(proc)
        return proc
    yield run
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()


def test_pty_serves_at_and_stops_on_sigterm(emulator, tmp_path):
    link = tmp_path / 'ttyMODEM'
    trace = tmp_path / 'trace.txt'
    proc = emulator('--dialect', 'base', '--pty', str(link), '--baud', '115200',
                    '--trace', str(trace))
    line = first_line(proc)
    assert line.startswith(f'modemkit sim: base on {link} (pty /dev/')
    with serial.Serial(str(link), 115200, timeout=0.1) as port:
        port.write(b'AT\r')
        assert read_until(port, b'OK\r\n') == b'AT\r\r\nOK\r\n'
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert not link.exists()
    assert "> b'AT\\r'" in trace.read_text()


def test_tcp_port_zero_and_sigint(emulator):
    proc = emulator('--dialect', 'base', '--tcp', '127.0.0.1:0')
    line = first_line(proc)
    assert line.startswith('modemkit sim: base on 127.0.0.1:') and line.endswith('(tcp)')
    proc.send_signal(signal.SIGINT)
    assert proc.wait(5) == 0


@pytest.mark.parametrize('bad', [['--tcp', '0.0.0.0:5000'], ['--host', 'x=10.0.0.1'],
                                 ['--drop-rate', '2'], ['--sms', 'hello'],
                                 ['--sms', 'boss=ping']])
def test_options_refuse_anything_but_loopback_and_valid_rates(bad):
    with pytest.raises(SystemExit):
        build_parser().parse_args(['sim', '--dialect', 'base', '--pty', '/tmp/x', *bad])


def test_options_become_config():
    args = build_parser().parse_args([
        'sim', '--dialect', 'telit', '--variant', 'le910c1', '--pty', '/tmp/x', '--turnaround-ms', '20',
        '--activation-ms', '1500', '--host', 'broker.test=127.0.0.1', '--baud', '9600'])
    assert make_config(args) == {
        'hosts': {'broker.test': '127.0.0.1'}, 'variant': 'le910c1', 'turnaround_s': 0.02,
        'activation_s': 1.5, 'baud': 9600}


def test_one_parser_lists_every_command():
    out = subprocess.run([sys.executable, '-m', 'mktools.cli', '--help'], capture_output=True,
                         text=True, check=True).stdout
    listed = [line.split()[0] for line in out.splitlines() if line[:4] == '    ' and line[4] != ' ']
    assert listed == ['sim', 'bundle', 'deploy', 'upgrade', 'sms-digest', 'board', 'demo',
                      'trace'], out
    sub = subprocess.run([sys.executable, '-m', 'mktools.cli', 'sim', '--help'],
                         capture_output=True, text=True, check=True).stdout
    assert sub.startswith('usage: modemkit sim ') and '--dialect' in sub


def test_unknown_command_is_refused_in_one_line():
    bad = subprocess.run([sys.executable, '-m', 'mktools.cli', 'simulate'], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and 'invalid choice' in bad.stderr and 'Traceback' not in bad.stderr


def test_sms_options():
    args = build_parser().parse_args([
        'sim', '--dialect', 'quectel', '--pty', '/tmp/x', '--sms-echo', '+15550000',
        '--sms', '+393468686711=ping =x', '--sms-at', '2.5', '--sms-log', '/tmp/sent.jsonl'])
    assert make_config(args) == {'hosts': {}, 'sms_echo': '+15550000',
                                 'sms_log': '/tmp/sent.jsonl'}
    assert args.sms == [('+393468686711', 'ping =x')] and args.sms_at == 2.5
