"""modemkit's type stubs (lib/modemkit/*.pyi, for IDEs and mypy): mypy's stubtest checks them
against the code, and a program using the public API is checked by mypy through them, so a
wrong argument is caught where it is written."""

import os
import subprocess
import sys
import textwrap

from mktools import ROOT

LIB = os.path.join(ROOT, 'lib')
PUBLIC = ['sched', 'port', 'sock', 'board', 'usock', 'mqtt', 'ftp', 'at', 'modem', 'quectel',
          'telit', 'wavecom']
ALLOWLIST = os.path.join(os.path.dirname(__file__), 'stubtest-allowlist.txt')


def test_every_public_module_has_stubs():
    for name in PUBLIC:
        assert os.path.exists(os.path.join(LIB, 'modemkit', name + '.pyi')), name
    assert os.path.exists(os.path.join(LIB, 'modemkit', 'py.typed'))


def test_stubs_match_the_code():
    r = subprocess.run([sys.executable, '-m', 'mypy.stubtest', '--allowlist', ALLOWLIST]
                       + ['modemkit.' + n for n in PUBLIC],
                       cwd=LIB, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=LIB))
    assert r.returncode == 0, r.stdout + r.stderr


USER_PROGRAM = '''
    from modemkit import board, sock
    from modemkit.mqtt import MQTT
    from modemkit.sched import Scheduler


    def app(modem, client):
        yield modem.wait_ready(60000)
        s = yield modem.open('example.com', 80)
        yield s.send(b'GET / HTTP/1.0\\r\\n\\r\\n')
        buf = bytearray(256)
        n = yield s.recv_into(buf, 5000)
        yield client.publish(b'modemkit/dev/n', b'%d' % n, qos=1)
        yield s.close()


    def main(path: str) -> None:
        cfg = board.load(path)
        s = Scheduler()
        modem = board.modem(s, cfg)
        modem.start()
        client = MQTT(modem, cfg['mqtt']['host'], keepalive=60, window=2)
        client.start()
        s.run(app(modem, client))
    '''


def mypy(tmp_path, text):
    path = tmp_path / 'user.py'
    path.write_text(textwrap.dedent(text))
    r = subprocess.run([sys.executable, '-m', 'mypy', '--no-incremental', '--cache-dir',
                        os.devnull, '--check-untyped-defs', '--no-error-summary', str(path)],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, MYPYPATH=LIB))
    return r.returncode, r.stdout


def test_a_program_using_the_api_type_checks(tmp_path):
    code, out = mypy(tmp_path, USER_PROGRAM)
    assert code == 0, out


def test_a_wrong_argument_is_caught(tmp_path):
    wrong = USER_PROGRAM.replace("keepalive=60", "keepalive='60'").replace(
        "s.run(app(modem, client))", "s.run(app(modem, client))\n        s.spawn(42)")
    code, out = mypy(tmp_path, wrong)
    assert code == 1
    assert '"keepalive" to "MQTT" has incompatible type "str"' in out, out
    assert '"spawn" of "Scheduler" has incompatible type "int"' in out, out
