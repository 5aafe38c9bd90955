"""Bad input at the `modemkit` command line ends as one line on stderr naming the input, exit
status 2, never a traceback (`--debug` shows it); the demo, interrupted twice in a row, still
prints its summary and leaves no process and no temporary folder."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mktools import ROOT
from mktools.dev import romrun
from mktools.device.deploy import check_version
from mktools.device.wscript import DeployError


def modemkit(*argv, timeout=120, env=None):
    r = subprocess.run([sys.executable, '-m', 'mktools.cli', *argv], capture_output=True,
                       text=True, cwd=ROOT, env=env or romrun.child_env(), timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def one_line(code, err, command):
    assert 'Traceback' not in err, err
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f'modemkit {command}: ')
    return lines[0]


def refused_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]       # closed again: nothing listens there


def test_sim_unknown_variant():
    code, _, err = modemkit('sim', '--dialect', 'telit', '--variant', 'le910x', '--pty', '/tmp/x')
    line = one_line(code, err, 'sim')
    assert 'le910x' in line and 'le910c1' in line


def test_sim_pty_link_in_a_missing_folder():
    code, _, err = modemkit('sim', '--dialect', 'quectel', '--pty', '/nonexistent/dir/tty')
    assert '--pty /nonexistent/dir/tty' in one_line(code, err, 'sim')


def test_debug_shows_the_traceback():
    code, _, err = modemkit('--debug', 'sim', '--dialect', 'quectel', '--pty',
                            '/nonexistent/dir/tty')
    assert code != 0 and 'Traceback' in err


def test_help_states_the_exit_statuses():
    code, out, _ = modemkit('--help')
    text = ' '.join(out.split())
    assert code == 0 and '1 the command ran and failed' in text and '2 bad input' in text


def test_sms_digest_decode_of_non_hex():
    code, _, err = modemkit('sms-digest', 'decode', 'ZZZZ',
                            env=dict(romrun.child_env(),
                                     MODEMKIT_SMSATRUN_PASSWORD='1234567890123456'))
    assert 'not hexadecimal' in one_line(code, err, 'sms-digest')


@pytest.mark.parametrize('args, says', [
    (['--board', '/nonexistent/board.json'], '/nonexistent/board.json: cannot read it'),
    (['--board', 'INVALID'], 'not valid JSON'),
    (['--board', 'QUECTL'], 'dialect: "quectl" is not one of quectel, telit, wavecom'),
    (['--broker', 'nohost.invalid:1883'], 'cannot reach the MQTT broker nohost.invalid:1883'),
    (['--broker', 'REFUSED'], 'Connection refused'),
])
def test_demo_bad_inputs(args, says, tmp_path):
    (tmp_path / 'invalid.json').write_text('{"dialect": ')
    (tmp_path / 'quectl.json').write_text(
        (Path(ROOT) / 'boardcfg' / 'desktop-quectel.json').read_text()
        .replace('"quectel"', '"quectl"'))
    subst = {'INVALID': str(tmp_path / 'invalid.json'), 'QUECTL': str(tmp_path / 'quectl.json'),
             'REFUSED': f'127.0.0.1:{refused_port()}'}
    code, out, err = modemkit('demo', *[subst.get(a, a) for a in args],
                              env=dict(romrun.child_env(), TMPDIR=str(tmp_path)))
    assert says in one_line(code, err, 'demo')
    assert 'lost' not in out
    assert not list(tmp_path.glob('modemkit-demo-*'))


def test_demo_help_and_make_pass_options():
    code, out, _ = modemkit('demo', '--help')
    assert code == 0 and 'make demo ARGS="--count 10' in ' '.join(out.split())
    r = subprocess.run(['make', '-n', 'demo', 'ARGS=--count 10 --period 500'], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r'-m mktools\.cli demo --count 10 --period 500$', r.stdout, re.M), r.stdout


def test_deploy_when_mpremote_cannot_enter_the_raw_repl(tmp_path):
    # an emulated modem answers AT commands, not a MicroPython REPL
    link = str(tmp_path / 'tty')
    sim = subprocess.Popen([sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'quectel',
                            '--pty', link], cwd=ROOT, env=romrun.child_env(),
                           stdout=subprocess.PIPE, text=True)
    try:
        assert 'modemkit sim' in sim.stdout.readline()
        code, _, err = modemkit('deploy', 'telemetry', '--board',
                                str(Path(ROOT) / 'boardcfg' / 'desktop-quectel.json'),
                                '--port', link, '--timeout', '60')
    finally:
        sim.terminate()
        sim.wait(10)
    line = one_line(code, err, 'deploy')
    assert 'could not enter raw repl' in line and link in line, line


def test_deploy_refuses_micropython_older_than_the_bundles_need():
    with pytest.raises(DeployError, match=r'MicroPython 1\.22\.2; .*needs MicroPython >= 1\.23'):
        check_version('MKSLOT=\nMKMPY=6\nMKVER=1.22.2\n', '/dev/ttyACM0')
    check_version('MKSLOT=a\nMKMPY=6\nMKVER=1.23.0\n', '/dev/ttyACM0')
    code = subprocess.run([str(Path(sys.executable).parent / 'micropython'), '-c',
                           'import sys; print(sys.implementation.version[:2] >= (1, 23))'],
                          capture_output=True, text=True, timeout=30)
    assert code.stdout.strip() == 'True'      # the unix port the tests deploy to qualifies


def _descendants_alive(marker):
    alive = []
    for pid in os.listdir('/proc'):
        try:
            cmd = Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode()
        except OSError:
            continue
        if marker in cmd:
            alive.append(cmd)
    return alive


def test_demo_interrupted_twice_leaves_nothing_behind(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.cli', 'demo', '--count', '1000', '--period', '200'],
        cwd=ROOT, env=dict(romrun.child_env(), TMPDIR=str(tmp_path)), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x.rstrip()) for x in proc.stdout],
                              daemon=True)       # every line, with a deadline that holds in silence
    reader.start()
    seen = []
    try:
        deadline = time.monotonic() + 60
        while not any('seq' in ln for ln in seen) and time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        assert any('seq' in ln for ln in seen), seen
        # Ctrl-C at a terminal: SIGINT to the whole process group, twice in a row
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    while not lines.empty():
        seen.append(lines.get())
    out = '\n'.join(seen)
    assert 'Traceback' not in out, out
    assert re.search(r'^received \d+ samples, \d+ lost, \d+ duplicates \(interrupted\)$', out,
                     re.M), out
    assert proc.returncode == 130
    assert not list(tmp_path.glob('modemkit-demo-*'))
    time.sleep(0.5)
    assert _descendants_alive(str(tmp_path)) == []
