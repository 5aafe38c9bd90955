"""modemkit.mail on the real MicroPython unix port, heap capped at 64 KiB with the code in ROM,
through a pty to `modemkit sim` (a separate process) and on to aiosmtpd: a 10 KB body streamed
from a file reaches the server whole (pure client over Quectel's sockets, Telit's own client),
and a refused recipient is a typed error."""
import email
import os
import subprocess
import sys

import pytest

from mktools.dev import romrun

from mailserver import smtp_server             # noqa: F401  (fixture)
from test_mail_inprocess import body_10k, text_of

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'http'))
from test_http_mpy import SIM_ARGS, stop, tool   # noqa: E402
from conftest import read_lines

HEAP = os.environ.get('MODEMKIT_MAIL_HEAP', '64K')


def start_sim(dialect, link):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
         '--host', 'mail.test=127.0.0.1'] + SIM_ARGS[dialect],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    line = proc.stdout.readline()
    if 'modemkit sim' not in line:
        proc.kill()
        raise RuntimeError('sim did not start: %r' % line)
    return proc


@pytest.mark.parametrize('dialect,backend', [('quectel', 'py'), ('telit', 'telit')],
                         ids=['quectel-py', 'telit-native'])
def test_mail_on_micropython_through_pty(dialect, backend, smtp_server, tmp_path):
    if not tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    from modemkit import mail
    __import__(mail.BACKENDS[backend])
    body = body_10k()
    (tmp_path / 'body.txt').write_bytes(body)
    link = str(tmp_path / 'ttyMODEM')
    sim = start_sim(dialect, link)
    lines = []
    app = None
    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='mailcheck_mpy',
                           rom=[os.path.join(HERE, 'mailcheck_mpy.py')],
                           args=['/rom/lib', dialect, backend, link, smtp_server.port,
                                 tmp_path / 'body.txt']),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 200, 'done')     # a deadline that holds in silence
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        stop(sim)
    out = '\n'.join(lines)
    print(out)
    assert 'done' in lines, out
    assert 'ok send %d' % len(body) in lines, out
    (frm, rcpts, data), = smtp_server.wait(1)
    assert rcpts == ['ops@example.test']
    assert email.message_from_bytes(data)['Subject'] == 'daily log'
    assert text_of(data).replace(b'\r\n', b'\n') == body
    assert 'ok refused Rejected' in lines, out
