"""The install paths, each as a user takes it: `pip install .` puts modemkit beside mktools
(schema included) in a fresh virtual environment, imported from outside the checkout; `mip`
on the MicroPython unix port installs the core, a dialect and a service, and a TCP echo through
the emulated module runs from what it installed.  Two ways for mip, both served on 127.0.0.1:
the package files' URLs (`mip install http://.../lib/quectel.json`, sources), and a package
index in micropython-lib's layout (mktools.dev.mipindex; `mip install --index http://...
modemkit-quectel modemkit-mqtt`, .mpy files compiled for the unix port, the core pulled in as
their dependency)."""

import ast
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path

import pytest

from mktools import ROOT
from mktools.dev import mipindex, romrun

ROOT = Path(ROOT)
LIB = ROOT / 'lib' / 'modemkit'
PACKAGES = {'package.json': 'lib/modemkit/', 'lib/quectel.json': 'modemkit/',
            'lib/telit.json': 'modemkit/', 'lib/wavecom.json': 'modemkit/',
            'lib/mqtt.json': 'modemkit/', 'lib/ftp.json': 'modemkit/',
            'lib/http.json': 'modemkit/', 'lib/mail.json': 'modemkit/',
            'lib/ota.json': 'modemkit/', 'lib/sms.json': 'modemkit/'}
# Not for MicroPython: the CPython and Telit platform layers (and the ticks arithmetic only they
# use), and the tests' fake UART.
NOT_ON_MICROPYTHON = {'port_cpy.py', 'port_telit.py', 'ticks.py', 'fakeuart.py'}


def tool(name):
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def test_pip_install_puts_modemkit_beside_mktools(tmp_path):
    src = tmp_path / 'src'
    for name in ('pyproject.toml', 'README.md'):
        shutil.copy(ROOT / name, src / name if src.exists() else _mkdir(src) / name)
    for top in ('tools', 'lib'):
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns('__pycache__'))
    wheels = tmp_path / 'wheels'
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                        '--no-index', '-q', '-w', str(wheels), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    env_dir = tmp_path / 'venv'
    venv.create(env_dir, with_pip=True)
    py = env_dir / 'bin' / 'python'
    wheel = next(wheels.glob('modemkit-*.whl'))
    r = subprocess.run([str(py), '-m', 'pip', 'install', '--no-deps', '--no-index', '-q',
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    check = ('import modemkit, mktools, modemkit.board, modemkit.quectel\n'
             'from mktools.device import boardcfg\n'
             'print(modemkit.VERSION, modemkit.__file__, mktools.__file__)\n'
             'print(sorted(boardcfg.schema()["properties"]["dialect"]["enum"]))\n')
    r = subprocess.run([str(py), '-c', check], capture_output=True, text=True, cwd=tmp_path,
                       env={'PATH': os.environ['PATH']}, timeout=60)
    assert r.returncode == 0, r.stderr
    version, mod_file, tools_file = r.stdout.splitlines()[0].split()
    assert mod_file.startswith(str(env_dir)) and tools_file.startswith(str(env_dir))
    assert r.stdout.splitlines()[1] == "['quectel', 'telit', 'wavecom']"
    assert (env_dir / 'bin' / 'modemkit').exists()
    # the types for IDEs come along (PEP 561)
    site = Path(mod_file).parent
    assert (site / 'py.typed').exists() and (site / 'sched.pyi').exists()


def _mkdir(path):
    path.mkdir(parents=True)
    return path


def package(path):
    return json.loads((ROOT / path).read_text())


def test_mip_packages_list_exactly_the_micropython_files():
    import modemkit
    listed = []
    for path, prefix in PACKAGES.items():
        pkg = package(path)
        assert pkg['version'] == modemkit.VERSION, path
        for dest, url in pkg['urls']:
            assert dest.startswith('modemkit/') and url == prefix + dest[len('modemkit/'):], \
                (path, dest, url)
            assert (ROOT / path).parent.joinpath(url).is_file(), (path, url)
            listed.append(dest[len('modemkit/'):])
    assert len(listed) == len(set(listed)), 'a file in two packages'
    on_target = {p.name for p in LIB.glob('*.py')} - NOT_ON_MICROPYTHON
    assert set(listed) == on_target
    assert sorted(mipindex.package_files()) == sorted(PACKAGES)      # all in the index


def _imports(path):
    """The modemkit modules a file imports (port.py's other platforms left out)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('modemkit'):
            if node.module == 'modemkit':
                out.update(a.name for a in node.names if (LIB / (a.name + '.py')).exists())
            else:
                out.add(node.module.split('.')[1])
    if path.name == 'port.py':
        out -= {'port_cpy', 'port_telit'}
    return out - {path.stem}


def test_each_mip_package_needs_only_the_core_and_itself():
    core = {d.split('/')[1][:-3] for d, _ in package('package.json')['urls']}
    for path in PACKAGES:
        mine = {d.split('/')[1][:-3] for d, _ in package(path)['urls']}
        for name in mine:
            missing = _imports(LIB / (name + '.py')) - core - mine - {'__init__'}
            # a service's dialect backends (ftp_telit...) need their dialect's package too
            assert missing <= {'at'} | core, (path, name, missing)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f'http://127.0.0.1:{server.server_address[1]}'


INSTALLED = ('package.json', 'lib/quectel.json', 'lib/mqtt.json')


@pytest.mark.parametrize('way', ['index', 'url'])
def test_mip_installs_core_quectel_and_mqtt_and_a_tcp_echo_runs(
        way, tmp_path, tcp_echo_server, udp_echo_server, sntp_server):
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    target = tmp_path / 'lib'
    wanted = sorted(d.split('/')[1] for p in INSTALLED for d, _ in package(p)['urls'])
    if way == 'index':
        r = subprocess.run([mp, '-c', 'import sys; print(sys.implementation._mpy & 0xff)'],
                           capture_output=True, text=True, timeout=30)
        built = mipindex.build(tmp_path / 'index', int(r.stdout))
        assert built['modemkit-quectel'] == ['modemkit/quectel.mpy', 'modemkit/quectel_svc.mpy',
                                                'modemkit/quectel_up.mpy']
        server, url = serve(tmp_path / 'index')
        commands = [['--index', url, 'modemkit-quectel', 'modemkit-mqtt']]
        wanted = sorted(name.replace('.py', '.mpy') for name in wanted)
    else:
        server, url = serve(ROOT)
        commands = [[f'{url}/{path}'] for path in INSTALLED]
    try:
        for args in commands:
            r = subprocess.run([mp, '-m', 'mip', 'install', '--target', str(target), *args],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert r.returncode == 0 and 'Done' in r.stdout, r.stdout + r.stderr
    finally:
        server.shutdown()
        server.server_close()
    got = sorted(p.name for p in (target / 'modemkit').iterdir())
    assert got == wanted
    for name in got:
        built = tmp_path / 'index' / 'build' / 'modemkit' / name
        assert (target / 'modemkit' / name).read_bytes() == \
            (built if way == 'index' else LIB / name).read_bytes()
    # the driver check of tests/mpy, with nothing but what mip installed on the path
    link = str(tmp_path / 'ttyMODEM')
    sim = subprocess.Popen([sys.executable, '-m', 'mktools.sim.cli', '--dialect', 'quectel',
                            '--pty', link, '--host', 'echo.test=127.0.0.1',
                            '--host', 'time.test=127.0.0.1'], cwd=ROOT,
                           env=romrun.child_env(), stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        assert 'modemkit sim' in sim.stdout.readline()
        app = subprocess.Popen(
            [mp, '-X', 'heapsize=256K', str(ROOT / 'tests' / 'mpy' / 'netcheck.py'), str(target),
             'quectel', link, str(tcp_echo_server.port), str(udp_echo_server.port), '0',
             str(sntp_server.port)],
            env=dict(os.environ, MICROPYPATH=str(target)), cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 180
        for line in app.stdout:
            lines.append(line.rstrip())
            if line.startswith(('ok echo', 'FAIL', 'done')) or time.monotonic() > deadline:
                break
    finally:
        if app.poll() is None:
            app.kill()
        app.wait(10)
        sim.terminate()
        sim.wait(10)
    assert 'ok echo 102400 bytes intact' in lines, '\n'.join(lines)
    r = subprocess.run([mp, '-c', 'import modemkit.mqtt, modemkit.board; print("mqtt ok")'],
                       env=dict(os.environ, MICROPYPATH=str(target)), capture_output=True,
                       text=True, timeout=30, cwd=tmp_path)
    assert r.stdout.strip() == 'mqtt ok', r.stdout + r.stderr
