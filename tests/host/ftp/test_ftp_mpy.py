"""The FTP helpers on the real MicroPython unix port, under a hard heap cap, through a pty to
`modemkit sim` (a separate process) and on to pyftpdlib: per backend, a 5 MiB file up and back
byte-identical, an upload and a download cut by the server and resumed from their offsets,
wrong credentials and a missing file as their typed errors."""
import os
import random
import shutil
import subprocess
import sys

import pytest

from mktools.dev import romrun

from conftest import first_line, read_lines
from ftpserver import ftp_server     # noqa: F401  (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# The heap cap the FTP check runs under, its code in ROM as on a device (mktools.dev.romrun; README,
# "Memory"). MODEMKIT_FTP_HEAP tries another.
HEAP = os.environ.get('MODEMKIT_FTP_HEAP', '64K')
BIG = 5 * 1024 * 1024
CUT = 300000
# Wavecom's data modes have RTS/CTS flow control (MT App. B), which the emulator keeps with the
# pty: what the app has not read yet holds the FTP server back, and the app's writes wait while
# the server is behind. Neither the line nor the uploads need pacing.
SIM_ARGS = {'quectel': [], 'telit': ['--variant', 'he910'],
            'wavecom': ['--variant', 'multitech']}
BACKENDS = [('quectel', 'py'), ('telit', 'telit'), ('wavecom', 'wavecom')]
# socket rings and transfer buffer (bytes): pure-Python FTP holds two sockets, so smaller ones
SIZE = {'quectel': 384, 'telit': 512, 'wavecom': 512}


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def start_sim(dialect, link):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
         '--host', 'ftp.test=127.0.0.1'] + SIM_ARGS[dialect],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    line = first_line(proc)
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


@pytest.mark.parametrize('dialect,backend', BACKENDS,
                         ids=['quectel-py', 'telit-telit', 'wavecom-wavecom'])
def test_ftp_on_micropython_through_pty(dialect, backend, ftp_server, tmp_path):
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    from modemkit import ftp
    __import__(ftp.BACKENDS[backend])       # a backend that fails to import fails the test
    rnd = random.Random(7)
    big = rnd.randbytes(BIG)
    cut = rnd.randbytes(CUT)
    (tmp_path / 'big.src').write_bytes(big)
    (tmp_path / 'cut.src').write_bytes(cut)
    ftp_server.cut_after(CUT // 3, 'STOR cut.bin')
    ftp_server.write('cutd.bin', cut)
    ftp_server.cut_after(CUT // 2, 'RETR cutd.bin')
    link = str(tmp_path / 'ttyMODEM')
    sim = start_sim(dialect, link)
    lines = []
    app = None
    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='ftpcheck_mpy', rom=[os.path.join(HERE, 'ftpcheck_mpy.py')],
                           args=['/rom/lib', dialect, backend, link, ftp_server.port, tmp_path,
                                 SIZE[dialect]]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # the deadline holds even if the device side goes silent
        lines = read_lines(app, 300, 'done')
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        stop(sim)
    out = '\n'.join(lines)
    print(out)
    assert 'done' in lines, out
    assert not [l for l in lines if l.startswith('FAIL')], out
    assert (tmp_path / 'big.dst').read_bytes() == big
    assert ftp_server.read('big.bin') == big
    assert ftp_server.read('cut.bin') == cut and (tmp_path / 'cut.dst').read_bytes() == cut
    assert ftp_server.cuts == 2
    assert [l for l in lines if l.startswith('ok errors')] == ['ok errors LoginRefused NoSuchFile']
