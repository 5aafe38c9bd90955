"""modemkit.http on the real MicroPython unix port, heap capped at 64 KiB with the code in ROM,
through a pty to `modemkit sim` (a separate process) and on to http.server: a 1 MiB GET into a
file and a 256 KiB POST from a file byte for byte, a chunked and a redirected response, a
stalled server ending in TimedOut and a malformed status line in ProtocolError."""
import os
import random
import shutil
import subprocess
import sys

import pytest

from mktools.dev import romrun

from httpserver import http_server, payload     # noqa: F401  (fixture)
from conftest import read_lines

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
HEAP = os.environ.get('MODEMKIT_HTTP_HEAP', '64K')
SIM_ARGS = {'quectel': [], 'telit': ['--variant', 'he910'],
            'wavecom': ['--variant', 'multitech']}
BACKENDS = [('quectel', 'py'), ('telit', 'py'), ('telit', 'telit')]
SIZE = 512
UP = 256 * 1024


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def start_sim(dialect, link):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
         '--host', 'web.test=127.0.0.1'] + SIM_ARGS[dialect],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    line = proc.stdout.readline()
    if 'modemkit sim' not in line:
        proc.kill()
        raise RuntimeError('sim did not start: %r' % line)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=['quectel-py', 'telit-py',
                                                          'telit-telit'])
def test_http_on_micropython_through_pty(dialect, backend, http_server, tmp_path):
    if not tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    from modemkit import http
    __import__(http.BACKENDS[backend])
    up = random.Random(3).randbytes(UP)
    (tmp_path / 'up.src').write_bytes(up)
    link = str(tmp_path / 'ttyMODEM')
    sim = start_sim(dialect, link)
    lines = []
    app = None
    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='httpcheck_mpy',
                           rom=[os.path.join(HERE, 'httpcheck_mpy.py')],
                           args=['/rom/lib', dialect, backend, link, http_server.port, tmp_path,
                                 SIZE]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 300, 'done')     # a deadline that holds in silence
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        stop(sim)
    out = '\n'.join(lines)
    print(out)
    assert 'done' in lines, out
    assert not [l for l in lines if l.startswith('FAIL')], out
    assert 'ok get 200 1048576 1048576' in lines, out
    assert (tmp_path / 'get.dst').read_bytes() == payload(1 << 20)
    assert 'ok post 200 %d' % UP in lines, out
    assert (tmp_path / 'up.dst').read_bytes() == up
    assert 'ok chunked 200 30000' in lines, out
    assert ('ok redirect 200 100' if backend == 'py' else 'ok redirect Unsupported') in lines, out
    assert (tmp_path / 'chunked.dst').read_bytes() == payload(30000)
    assert 'ok errors TimedOut ProtocolError' in lines, out
